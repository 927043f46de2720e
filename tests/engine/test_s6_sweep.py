"""Session 6 sweep paths (issue 18): what the plain sweep does without a call.

- Broadcast gradients whose sum back is one product with ones (a bias, a keepdim mean) are
  summed by the sweep through ``autograd._dots`` directly: the same bits as ``_reduce_to`` (the
  watched sweep and capture_step replays use that), and PyTorch's values.
- Leaves, finished after the graph: several consumers, a leaf that is also a root, hooks,
  post-accumulate hooks, retain_graph and a freed graph, against PyTorch.
- Rules of three inputs get their arrays and ``needs`` without comprehensions: layer_norm,
  where, lerp and clamp with tensor bounds, some inputs not requiring grad.
- Ops newly declared exact in ops/registry.py (linear, diagonal, unfold): PyTorch's gradients,
  and a hook that changes the dtype still has the gradient fitted.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops import ARRAY

torch = pytest.importorskip("torch")
autograd = importlib.import_module("deltagrad._engine.autograd")


def _pair(array, requires_grad=True):
    a = dg.from_numpy(array.copy()).requires_grad_(requires_grad)
    b = torch.from_numpy(array.copy()).requires_grad_(requires_grad)
    return a, b


def _same(got, want, dtype):
    tol = {np.float32: 1e-5, np.float64: 1e-12}[dtype]
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=tol, atol=tol)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]


def _broadcast_graph(m, h, bias, scale, shift):
    z = (h * 2 + bias).tanh()
    z = (z - z.mean(dim=1, keepdim=True)) * scale + shift
    return (z * z).sum()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows, width", [(8, 8), (5, 3), (1, 4)])
def test_broadcast_gradients_match_torch_and_the_watched_sweep_bit_for_bit(dtype, rows, width):
    rng = np.random.default_rng(rows * 10 + width)
    arrays = [rng.standard_normal(shape).astype(dtype)
              for shape in ((rows, width), (width,), (1, width), (rows, 1))]
    pairs = [_pair(a) for a in arrays]
    ours = [p[0] for p in pairs]
    theirs = [p[1] for p in pairs]
    _broadcast_graph(dg, *ours).backward()
    _broadcast_graph(torch, *theirs).backward()
    for got, want in zip(ours, theirs):
        assert got.grad.shape == want.grad.shape
        _same(got.grad, want.grad, dtype)
    # grad() takes the watched sweep, which sums through _reduce_to: the same bits.
    watched = dg.autograd.grad(_broadcast_graph(dg, *ours), ours)
    for got, leaf in zip(watched, ours):
        assert got.detach().numpy().tobytes() == leaf.grad.detach().numpy().tobytes()


def test_the_direct_products_are_reduce_tos_own():
    rng = np.random.default_rng(3)
    for g_shape, shape in (((8, 8), (8,)), ((8, 8), (8, 1)), ((6, 4), (4,)), ((6, 4), (6, 1))):
        g = rng.standard_normal(g_shape).astype(np.float32)
        want = autograd._reduce_to(ARRAY, g, shape, "test")
        dot = autograd._dots[(g.shape, shape, g.dtype)]
        got = dot(g)
        assert got.shape == shape and got.tobytes() == want.tobytes()
        np.testing.assert_allclose(got, np.add.reduce(g, axis=tuple(
            i for i, n in enumerate(shape) if n == 1 and g_shape[i] != 1) or (0,),
            keepdims=len(shape) == 2).reshape(shape), rtol=1e-5, atol=1e-6)
    # A reshape after the product, or no BLAS dtype: no direct product, _reduce_to's way.
    g = rng.standard_normal((8, 8)).astype(np.float16)
    autograd._reduce_to(ARRAY, g, (8,), "test")
    assert (g.shape, (8,), g.dtype) not in autograd._dots
    g = rng.standard_normal((8, 8)).astype(np.float32)
    autograd._reduce_to(ARRAY, g, (1, 8), "test")
    assert (g.shape, (1, 8), g.dtype) not in autograd._dots


def test_float16_broadcast_gradients_still_match_torch():
    rng = np.random.default_rng(5)
    h, b = rng.standard_normal((4, 3)), rng.standard_normal(3)
    (h1, h2), (b1, b2) = _pair(h.astype(np.float16)), _pair(b.astype(np.float16))
    (h1 * b1 + b1).sum().backward()
    (h2 * b2 + b2).sum().backward()
    np.testing.assert_allclose(b1.grad.detach().numpy().astype(np.float64),
                               b2.grad.detach().numpy().astype(np.float64), rtol=2e-3, atol=2e-3)
    assert b1.grad.dtype == dg.float16


def _leaf_graph(m, a, b):
    # a reaches the loss four ways (directly, twice through products, through an exp chain)
    return (a * b).sum() + (a * a).sum() + a.exp().tanh().sum() + a.sum() * 0.5


def test_leaves_with_several_consumers_accumulate_as_torch():
    rng = np.random.default_rng(7)
    (a1, a2), (b1, b2) = _pair(rng.standard_normal((3, 4))), _pair(rng.standard_normal(4))
    seen = []
    a1.register_hook(lambda g: seen.append(g.detach().numpy().copy()))
    after = []
    a1.register_post_accumulate_grad_hook(lambda t: after.append(t.grad.detach().numpy().copy()))
    _leaf_graph(dg, a1, b1).backward(retain_graph=True)
    _leaf_graph(torch, a2, b2).backward(retain_graph=True)
    for got, want in ((a1, a2), (b1, b2)):
        _same(got.grad, want.grad, np.float64)
    assert len(seen) == 1 and len(after) == 1  # the hook sees the whole gradient, once
    np.testing.assert_allclose(seen[0], a2.grad.numpy(), rtol=1e-12)
    # retain_graph: a second backward through the same graph accumulates
    loss1 = _leaf_graph(dg, a1, b1)
    loss2 = _leaf_graph(torch, a2, b2)
    loss1.backward(retain_graph=True)
    loss2.backward(retain_graph=True)
    loss1.backward()
    loss2.backward()
    _same(a1.grad, a2.grad, np.float64)
    _same(b1.grad, b2.grad, np.float64)
    with pytest.raises(RuntimeError, match="second time"):
        loss1.backward()


def test_a_leaf_that_is_also_a_root_and_an_input():
    rng = np.random.default_rng(9)
    a1, a2 = _pair(rng.standard_normal(()))
    for m, a in ((dg, a1), (torch, a2)):
        y = a * 3.0
        m.autograd.backward([a, y])
    _same(a1.grad, a2.grad, np.float64)


def test_a_leaf_not_requiring_grad_and_integer_inputs_are_skipped():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((4, 3))
    idx = np.array([[0], [2], [1], [0]])
    (x1, x2), (c1, c2) = _pair(x), _pair(x, requires_grad=False)
    for m, a, c in ((dg, x1, c1), (torch, x2, c2)):
        (a * c).gather(1, m.from_numpy(idx)).sum().backward()
    _same(x1.grad, x2.grad, np.float64)
    assert c1.grad is None


@pytest.mark.parametrize("needs", [(True, True, True), (True, False, True), (False, True, False),
                                   (False, False, True)])
def test_layer_norm_three_inputs_give_torchs_gradients(needs):
    rng = np.random.default_rng(13)
    arrays = [rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(4)]
    pairs = [_pair(a, n) for a, n in zip(arrays, needs)]
    for m, k in ((dg, 0), (torch, 1)):
        x, w, b = (p[k] for p in pairs)
        m.nn.functional.layer_norm(x, (4,), w, b).pow(2).sum().backward()
    for (ours, theirs), n in zip(pairs, needs):
        if n:
            _same(ours.grad, theirs.grad, np.float64)
        else:
            assert ours.grad is None


@pytest.mark.parametrize("which", ["where", "lerp", "clamp"])
def test_other_three_input_ops_give_torchs_gradients(which):
    rng = np.random.default_rng(17)
    x, y, w = (rng.standard_normal((3, 4)).astype(np.float32) for _ in range(3))
    (x1, x2), (y1, y2) = _pair(x), _pair(y, which != "where")
    (w1, w2) = _pair(w, which == "lerp")
    cond = x > 0
    for m, a, b, c in ((dg, x1, y1, w1), (torch, x2, y2, w2)):
        if which == "where":
            out = m.where(m.from_numpy(cond), a, b)
        elif which == "lerp":
            out = m.lerp(a, b, c)
        else:
            out = m.clamp(a, b, b + 1.0)
        (out * out).sum().backward()
    for ours, theirs in ((x1, x2), (y1, y2), (w1, w2)):
        if theirs.grad is None:
            assert ours.grad is None
        else:
            _same(ours.grad, theirs.grad, np.float32)


@pytest.mark.parametrize("x_shape", [(4,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias_grad", [True, False])
def test_linear_declared_exact_gives_torchs_gradients(x_shape, dtype, bias_grad):
    rng = np.random.default_rng(sum(x_shape))
    (x1, x2), (w1, w2) = _pair(rng.standard_normal(x_shape).astype(dtype)), _pair(
        rng.standard_normal((5, 4)).astype(dtype))
    b1, b2 = _pair(rng.standard_normal(5).astype(dtype), bias_grad)
    for m, x, w, b in ((dg, x1, w1, b1), (torch, x2, w2, b2)):
        out = m.nn.functional.linear(x, w, b)
        (out * out).sum().backward()
    assert x1.grad.shape == x2.grad.shape
    for ours, theirs in ((x1, x2), (w1, w2), (b1, b2)):
        if theirs.grad is None:
            assert ours.grad is None
        else:
            _same(ours.grad, theirs.grad, dtype)


def test_a_hook_that_changes_the_dtype_of_a_linear_gradient_is_refused():
    # PyTorch's RuntimeError: "hook '<lambda>' has changed the type of value"
    rng = np.random.default_rng(21)
    x = dg.from_numpy(rng.standard_normal((3, 4)).astype(np.float32)).requires_grad_(True)
    w = dg.from_numpy(rng.standard_normal((5, 4)).astype(np.float32)).requires_grad_(True)
    out = dg.nn.functional.linear(x, w)
    out.register_hook(lambda g: g.double())
    with pytest.raises(RuntimeError, match="changed the type of value"):
        out.sum().backward()


@pytest.mark.parametrize("which", ["diagonal", "unfold"])
def test_view_ops_declared_exact_give_torchs_gradients(which):
    rng = np.random.default_rng(23)
    x1, x2 = _pair(rng.standard_normal((3, 5)).astype(np.float32))
    for x in (x1, x2):
        out = x.diagonal(1) if which == "diagonal" else x.unfold(1, 2, 1)
        (out * out).sum().backward()
    _same(x1.grad, x2.grad, np.float32)
