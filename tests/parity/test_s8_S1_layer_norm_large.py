"""layer_norm's large-input path (over 1024 elements: the forward keeps the normalized rows for
its VJP) against PyTorch: values, gradients, shapes, and the kept rows' privacy."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(818)


def _x(*shape, dtype=np.float64, loc=0.0):
    return (RNG.standard_normal(shape) * 2.0 + loc).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape,norm", [
    ((8, 16, 64), (64,)),        # W4's rows (smaller batch)
    ((40, 30), (30,)),           # 1200 elements: just over the small path
    ((6, 10, 4, 5), (4, 5)),     # two normalized dims
])
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_large_layer_norm_matches_torch(dtype, x_shape, norm, affine):
    weight = Arg(_x(*norm, dtype=dtype)) if affine in ("both", "weight") else None
    bias = Arg(_x(*norm, dtype=dtype)) if affine in ("both", "bias") else None
    tol = {"rtol": 1e-4, "atol": 2e-5} if dtype == np.float32 else {}
    check(lambda m, x, w, b: m.nn.functional.layer_norm(x, norm, w, b, 1e-5),
          Arg(_x(*x_shape, dtype=dtype, loc=3.0)), weight, bias, **tol)


def test_large_layer_norm_constant_rows_give_bias():
    # (The gradient of a constant row is rstd = 1 / sqrt(eps) times a rounding error, so it
    # is compared in float64 with a large eps; float32 checks the output's exact zeros.)
    x = np.full((64, 32), 1000.0)
    x[::3] = _x(22, 32)
    check(lambda m, x, w, b: m.nn.functional.layer_norm(x, (32,), w, b, eps=0.5),
          Arg(x), Arg(_x(32)), Arg(_x(32)))
    out = dg.nn.functional.layer_norm(dg.from_numpy(x.astype(np.float32)), (32,))
    assert (out.numpy()[1] == 0).all()


def test_large_layer_norm_some_inputs_need_grad_and_non_contiguous():
    check(lambda m, x, w, b: m.nn.functional.layer_norm(x, (48,), w, b),
          Arg(_x(30, 48), requires_grad=False), Arg(_x(48)), Arg(_x(48), requires_grad=False))
    check(lambda m, x, w, b: m.nn.functional.layer_norm(x.transpose(0, 1), (40,), w, b),
          Arg(_x(40, 50)), Arg(_x(40)), Arg(_x(40)))


def _pair(shape, norm):
    x, w, b = _x(*shape), _x(*norm), _x(*norm)
    tensors = []
    for m in (dg, torch):
        tensors.append([m.tensor(a, requires_grad=True) for a in (x, w, b)])
    return tensors


def test_large_layer_norm_output_changed_in_place_keeps_gradients():
    # The rows kept for the VJP are private: writing into the output must not change them.
    (dx, dw, db), (tx, tw, tb) = _pair((20, 64), (64,))
    g = _x(20, 64)
    for m, (x, w, b) in ((dg, (dx, dw, db)), (torch, (tx, tw, tb))):
        y = m.nn.functional.layer_norm(x, (64,), w, b)
        z = y * 1.0  # (PyTorch's layer_norm backward needs its own output untouched)
        z.mul_(3.0)
        (z * m.tensor(g)).sum().backward()
    for a, b in ((dx, tx), (dw, tw), (db, tb)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_large_layer_norm_retained_graph_twice_and_shared_gradient():
    # A second backward through a retained graph takes the VJP's recompute path; the incoming
    # gradient (shared with another consumer) must not be written into.
    (dx, dw, db), (tx, tw, tb) = _pair((16, 128), (128,))
    for m, (x, w, b) in ((dg, (dx, dw, db)), (torch, (tx, tw, tb))):
        y = m.nn.functional.layer_norm(x, (128,), w, b)
        h = x * 2.0
        loss = (y * h).sum() + h.sum()
        loss.backward(retain_graph=True)
        loss.backward()
    for a, b in ((dx, tx), (dw, tw), (db, tb)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-9)


def test_large_layer_norm_no_grad_then_grad():
    # An output made under no_grad keeps its rows too; a later graph's forward is its own.
    x = dg.tensor(_x(32, 64), requires_grad=True)
    with dg.no_grad():
        first = dg.nn.functional.layer_norm(x, (64,))
    y = dg.nn.functional.layer_norm(x, (64,))
    (y * y).sum().backward()
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    ty = torch.nn.functional.layer_norm(tx, (64,))
    (ty * ty).sum().backward()
    np.testing.assert_allclose(first.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-9)


def test_layer_norm_without_graph_keeps_nothing():
    from deltagrad._engine.ops import normalization

    x = dg.tensor(_x(32, 64))
    before = len(normalization._KEPT)
    kept = [dg.nn.functional.layer_norm(x, (64,)) for _ in range(3)]  # no input requires grad
    with dg.no_grad():
        kept.append(dg.nn.functional.layer_norm(x.requires_grad_(), (64,)))
    assert len(normalization._KEPT) == before
    y = dg.nn.functional.layer_norm(x, (64,))  # a graph: its VJP's rows are kept
    assert len(normalization._KEPT) == before + 1
    for out in kept:  # the same bits with or without a graph
        assert np.array_equal(out.numpy(), y.detach().numpy())
    y.sum().backward()
    assert len(normalization._KEPT) == before
