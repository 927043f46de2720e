"""The plain sweep's shortcuts (autograd.py): leaves finished after the graph, the next node
visited without the stack, keepdim gradients summed with a column of ones. Each must give the
gradients the watched sweep gives (it checks every gradient and keeps the old order), bit for
bit, and keep hooks, errors and repeated backwards as they were."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import autograd


def _model(leaves, ids):
    """A model-shaped chain: a gather, matmuls, broadcast bias and scale, a keepdim mean, a
    softmax, a residual, reshape/transpose; the leaves are used several times."""
    E, W, b, s = leaves
    h = E[ids]
    for _ in range(3):
        z = (h @ W + b).tanh()
        z = (z - z.mean(dim=1, keepdim=True)) * s
        h = h + dg.nn.functional.softmax(z, dim=1) * z
        h = h.reshape(4, 2, 2).transpose(1, 2).reshape(4, 4)
    return -dg.nn.functional.log_softmax(h, dim=1)[:, 0].mean()


def _leaves(dtype=np.float32):
    rng = np.random.default_rng(7)
    shapes = [(6, 4), (4, 4), (4,), (4,)]
    return [dg.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
            for shape in shapes]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_plain_sweep_equals_watched_sweep_bit_for_bit(dtype):
    leaves = _leaves(dtype)
    ids = dg.tensor([0, 3, 3, 5])
    _model(leaves, ids).backward()
    plain = [leaf.grad.numpy().copy() for leaf in leaves]
    watched = dg.grad(_model(leaves, ids), leaves)  # (capture: the watched sweep)
    for got, want in zip(plain, watched):
        assert got.dtype == want.numpy().dtype
        np.testing.assert_array_equal(got, want.numpy())


def test_repeated_steps_accumulate_and_restart():
    leaves = _leaves()
    ids = dg.tensor([1, 2, 2, 0])
    _model(leaves, ids).backward()
    once = [leaf.grad.numpy().copy() for leaf in leaves]
    _model(leaves, ids).backward()  # accumulates into the same .grad
    for leaf, first in zip(leaves, once):
        np.testing.assert_allclose(leaf.grad.numpy(), 2 * first, rtol=1e-6)
    for leaf in leaves:
        leaf.grad = None
    _model(leaves, ids).backward()  # the deferred leaves' counts start again
    for leaf, first in zip(leaves, once):
        np.testing.assert_array_equal(leaf.grad.numpy(), first)


def test_leaf_used_many_times_gets_the_sum_once_through_its_hook():
    x = dg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    y = x * 2.0
    for _ in range(5):
        y = y + x * x
    y.sum().backward()
    want = 2.0 + 5 * 2.0 * np.array([1.0, 2.0, 3.0], np.float32)
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], want)
    np.testing.assert_allclose(x.grad.numpy(), want)


def test_leaf_hook_replacing_the_gradient_and_post_accumulate_hook():
    x = dg.tensor([1.0, -1.0], requires_grad=True)
    x.register_hook(lambda g: g * 10.0)
    after = []
    x.register_post_accumulate_grad_hook(lambda t: after.append(t.grad.numpy().copy()))
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [30.0, 30.0])
    assert len(after) == 1
    np.testing.assert_allclose(after[0], [30.0, 30.0])


def test_backward_of_a_leaf_itself():
    x = dg.tensor(2.0, requires_grad=True)
    x.backward()
    assert float(x.grad) == 1.0
    x.backward(dg.tensor(3.0))
    assert float(x.grad) == 4.0


def test_a_leaf_hook_error_leaves_no_pending_state():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    w = dg.tensor([3.0, 4.0], requires_grad=True)

    def fail(g):
        raise ValueError("hook failed")

    handle = x.register_hook(fail)
    with pytest.raises(ValueError, match="hook failed"):
        (x * w).sum().backward()
    handle.remove()
    x.grad = w.grad = None
    (x * w).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])
    np.testing.assert_allclose(w.grad.numpy(), [1.0, 2.0])


def test_second_backward_through_a_freed_graph_still_raises():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    loss = (x.tanh() * x).sum()
    loss.backward()
    with pytest.raises(dg.GraphError, match="second time"):
        loss.backward()


def test_branching_graph_visits_every_node_once():
    # A node that finds two new inputs visits one and keeps the other on the stack.
    x = dg.tensor([0.5, 1.5], requires_grad=True)
    a, b = x.exp(), x.sin()
    c = a * b
    d = (a + c) * (b - c)
    d.sum().backward()
    xv = np.array([0.5, 1.5])
    av, bv = np.exp(xv), np.sin(xv)
    cv = av * bv
    da, db = av, np.cos(xv)
    dc = da * bv + av * db
    want = (da + dc) * (bv - cv) + (av + cv) * (db - dc)
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(8, 8), (3, 5), (1, 7), (5, 1), (64, 3)])
def test_keepdim_reduction_with_a_column_of_ones(shape, dtype):
    g = np.random.default_rng(3).standard_normal(shape).astype(dtype)
    target = (shape[0], 1)
    got = autograd._reduce_to(autograd.ARRAY, g, target, "sub")
    assert got.shape == target and got.dtype == dtype
    # The same values as the vector of ones' product (the path before), bit for bit.
    np.testing.assert_array_equal(got, g.dot(np.ones(shape[1], dtype)).reshape(target))
    np.testing.assert_allclose(got, g.sum(axis=1, keepdims=True), rtol=1e-5)


def test_keepdim_broadcast_gradient_in_a_graph():
    x = dg.tensor(np.arange(12.0, dtype=np.float32).reshape(3, 4), requires_grad=True)
    m = dg.tensor([[1.0], [2.0], [3.0]], requires_grad=True)
    ((x - m) * x).sum().backward()
    np.testing.assert_allclose(m.grad.numpy(), -x.detach().numpy().sum(axis=1, keepdims=True))
