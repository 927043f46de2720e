"""The backward sweep's common-case form and what it trusts (issue 18).

- Every op that promises its gradients' shapes and dtypes (``Op.exact``, the table in
  ops/registry.py) keeps the promise on all of its samples, in float16, float32 and float64:
  the sweep skips its checks for them.
- The two forms of the sweep (``_sweep`` for ``backward()``, ``_sweep_watched`` for a tracer,
  ``grad()``, anomaly mode) give the same gradients bit for bit.
- What the unchecked paths must still get right: hooks that change a gradient's dtype,
  broadcasting and promotion in elementwise ops, a lent seed (``backward(gradient)``) that no
  ``.grad`` may alias, retain_grad kept across a removed hook.
- ``_reduce_to``'s products with a vector of ones agree with NumPy's sums.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops import ARRAY, OPS
from deltagrad._engine.ops.registry import _DECLARED, CHECKED, ELEMENTWISE, EXACT

autograd = importlib.import_module("deltagrad._engine.autograd")


def test_every_declared_op_is_registered_with_its_promise():
    for name, promise in _DECLARED.items():
        assert name in OPS, f"{name} is declared in registry._DECLARED but not registered"
        assert OPS[name].exact == promise
    assert all(op.exact in (CHECKED, EXACT, ELEMENTWISE) for op in OPS.values())


def _float_positions(sample):
    return [i for i, a in enumerate(sample.args) if np.asarray(a).dtype.kind == "f"]


def _promise_cases():
    cases = []
    for name in sorted(_DECLARED):
        op = OPS[name]
        for k, sample in enumerate(op.samples(np.random.default_rng(1234))):
            cases.append(pytest.param(op, sample, id=f"{name}-{k}"))
    return cases


@pytest.mark.parametrize("op, sample", _promise_cases())
def test_declared_ops_return_gradients_of_their_inputs_shapes_and_dtypes(op, sample):
    args = [np.asarray(a) for a in sample.args]
    floats = differentiated = _float_positions(sample)
    if op.exact == ELEMENTWISE:
        # The promise holds when the inputs share one shape and dtype: give them that.
        shape = np.broadcast_shapes(*(a.shape for a in args))
        args = [np.array(np.broadcast_to(a, shape)) for a in args]
        floats = list(range(len(args)))
    checked = 0
    for dtype in (np.float16, np.float32, np.float64):
        xs = [a.astype(dtype) if i in floats else a for i, a in enumerate(args)]
        with np.errstate(all="ignore"):
            try:
                out = np.asarray(op.forward(*xs, **sample.kwargs))
            except (TypeError, ValueError):  # (float16 where NumPy's linalg has none)
                continue
            kwargs = dict(sample.kwargs)
            if op.wants_needs:
                kwargs["needs"] = tuple(i in differentiated for i in range(len(xs)))
            upstreams = [np.random.default_rng(0).standard_normal(out.shape).astype(out.dtype)]
            if out.ndim == 0:  # a 0-d gradient arrives as an array (seed) or a NumPy scalar
                upstreams = [np.asarray(upstreams[0]), upstreams[0][()]]
            for g in upstreams:
                try:
                    grads = op.vjp(ARRAY, g, out, *xs, **kwargs)
                except (TypeError, NotImplementedError):  # (no float16 rule: nothing reaches
                    assert dtype == np.float16, op.name  # the sweep to trust; i1 / i1e's
                    continue  # backward refuses Half as PyTorch's)
                assert len(grads) == len(xs)
                for i in differentiated:
                    if grads[i] is None:
                        continue
                    assert np.shape(grads[i]) == xs[i].shape, (op.name, dtype, i)
                    assert grads[i].dtype == xs[i].dtype, (op.name, dtype, i)
                    checked += 1
    if op.name == "vector_norm" and sample.kwargs.get("ord") == 0:
        # PyTorch's order-0 norm has no gradient (x.grad stays None): nothing to promise.
        assert checked == 0, "vector_norm(ord=0) gave a gradient"
        return
    assert checked, f"{op.name}: no sample tested its promise"


def _w2_model_like(seed=0):
    rng = np.random.default_rng(seed)
    leaves = [dg.from_numpy(rng.standard_normal(s).astype(np.float32)).requires_grad_(True)
              for s in ((16, 8), (8, 8), (8,), (8,), (8,))]
    ids = dg.from_numpy(rng.integers(0, 16, 8))
    targets = dg.from_numpy(rng.integers(0, 8, (8, 1)))

    def loss():
        E, W, b, s, t = leaves
        h = E[ids]
        for _ in range(3):
            z = (h @ W + b).tanh()
            z = (z - z.mean(dim=1, keepdim=True)) * s + t
            h = h + dg.nn.functional.softmax(z, dim=1) * z
            h = h.reshape(8, 2, 4).transpose(1, 2).reshape(8, 8) * 0.5
        h = h + h.double().float() - (h * 2.0)
        return -dg.nn.functional.log_softmax(h, dim=1).gather(1, targets).mean()

    return leaves, loss


class _Watcher:
    """A tracer that only counts: it sends backward through the watched form of the sweep."""

    def __init__(self):
        self.nodes = 0

    def record(self, node, g, grads, create_graph):
        self.nodes += 1


def test_the_two_forms_of_the_sweep_give_the_same_gradients_bit_for_bit():
    leaves, loss = _w2_model_like()
    loss().backward()
    fast = [leaf.grad.detach().numpy().copy() for leaf in leaves]
    for leaf in leaves:
        leaf.grad = None
    watcher = _Watcher()
    previous, autograd.tracer = autograd.tracer, watcher
    try:
        loss().backward()
    finally:
        autograd.tracer = previous
    assert watcher.nodes > 50
    for a, leaf in zip(fast, leaves):
        assert a.dtype == leaf.dtype and a.tobytes() == leaf.grad.detach().numpy().tobytes()


def test_a_replay_of_the_step_matches_the_fast_sweep_bit_for_bit():
    leaves, loss = _w2_model_like(seed=1)
    step = dg.capture_step(loss)
    step()  # captures
    for leaf in leaves:
        leaf.grad = None
    replayed = step().detach().numpy().tobytes()
    replay_grads = [leaf.grad.detach().numpy().tobytes() for leaf in leaves]
    for leaf in leaves:
        leaf.grad = None
    eager = loss()
    eager.backward()
    assert eager.detach().numpy().tobytes() == replayed
    assert [leaf.grad.detach().numpy().tobytes() for leaf in leaves] == replay_grads


def test_a_hook_that_changes_the_dtype_is_refused():
    # PyTorch's RuntimeError: "hook '<lambda>' has changed the type of value"
    x = dg.tensor([0.5, 1.0, 2.0], requires_grad=True)
    y = x.exp()  # an exact op: its edge is not checked unless a hook ran
    y.register_hook(lambda g: g.double() * 2)
    with pytest.raises(RuntimeError, match="changed the type of value"):
        (y * y).sum().backward()


def test_broadcast_and_promoted_elementwise_gradients_are_fitted():
    a = dg.tensor(np.arange(3.0).reshape(3, 1), dtype=dg.float32, requires_grad=True)
    b = dg.tensor(np.arange(4.0).reshape(1, 4), dtype=dg.float64, requires_grad=True)
    c = dg.tensor(np.ones((3, 4)), dtype=dg.float32, requires_grad=True)
    ((a * b) + c - (c * a)).sum().backward()
    assert a.grad.shape == (3, 1) and a.grad.dtype == dg.float32
    assert b.grad.shape == (1, 4) and b.grad.dtype == dg.float64
    np.testing.assert_allclose(a.grad.detach().numpy(), np.full((3, 1), 6.0 - 4.0))
    np.testing.assert_allclose(b.grad.detach().numpy(), np.full((1, 4), 3.0))
    np.testing.assert_allclose(c.grad.detach().numpy(), 1.0 - np.arange(3.0)[:, None] + 0 * b
                               .detach().numpy())


def test_a_lent_seed_is_never_aliased_by_a_grad():
    x = dg.ones(2, 3, requires_grad=True)
    z = dg.ones(2, 3, requires_grad=True)
    gradient = dg.full((2, 3), 3.0)
    keep = gradient.detach().numpy().copy()
    (x + z).backward(gradient)  # add sends the seed itself to both leaves
    x.grad.add_(1.0)
    z.grad.mul_(5.0)
    np.testing.assert_array_equal(gradient.numpy(), keep)
    np.testing.assert_array_equal(x.grad.numpy(), keep + 1)
    np.testing.assert_array_equal(z.grad.numpy(), keep * 5)
    x.grad = None
    x.backward(gradient)  # a leaf as the root
    x.grad.zero_()
    np.testing.assert_array_equal(gradient.numpy(), keep)


def test_a_retained_gradient_never_aliases_a_lent_seed():
    x = dg.ones(4, requires_grad=True)
    a = x * 2.0
    a.retain_grad()
    y = a + x
    gradient = dg.arange(4.0)
    y.backward(gradient)
    a.grad.mul_(0.0)
    np.testing.assert_array_equal(gradient.numpy(), np.arange(4.0))
    np.testing.assert_array_equal(x.grad.numpy(), 3 * np.arange(4.0))


def test_retain_grad_survives_the_removal_of_a_hook():
    x = dg.ones(3, requires_grad=True)
    y = x * 3.0
    y.retain_grad()
    handle = y.register_hook(lambda g: g * 2)
    handle.remove()
    y.sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), np.ones(3))
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 3.0))


@pytest.mark.parametrize("g_shape, shape", [
    ((8, 8), (8,)), ((8, 8), (8, 1)), ((8, 8), (1, 8)), ((4, 8, 8), (8,)), ((4, 8, 8), (8, 1)),
    ((8, 8), ()), ((3, 4, 5), (3, 1, 5)), ((2, 3, 4), (2, 1, 1)), ((0, 8), (8,)), ((8, 0), (8, 1)),
    ((5, 1, 3), (1, 1)), ((200, 100), (100,)),
])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_reduce_to_agrees_with_numpys_sum(g_shape, shape, dtype):
    rng = np.random.default_rng(3)
    lead = len(g_shape) - len(shape)
    axes = tuple(i for i in range(len(g_shape))
                 if i < lead or (shape[i - lead] == 1 and g_shape[i] != 1))
    for g in (rng.standard_normal(g_shape).astype(dtype),
              rng.standard_normal(g_shape[::-1]).astype(dtype).T):  # contiguous, transposed
        want = np.add.reduce(g.astype(np.float64), axis=axes).reshape(shape)
        got = autograd._reduce_to(ARRAY, g, shape, "test")
        assert got.shape == shape and got.dtype == dtype
        tolerance = 2e-2 if dtype == np.float16 else 1e-5
        np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance * 10)


def test_reduce_to_still_refuses_shapes_that_do_not_broadcast():
    with pytest.raises(dg.ShapeError, match="mul"):
        autograd._reduce_to(ARRAY, np.ones((3, 4), np.float32), (2, 4), "mul")
