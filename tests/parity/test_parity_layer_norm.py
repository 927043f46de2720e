"""layer_norm (one primitive op) against PyTorch: values, dtypes and gradients, both paths."""

import numpy as np
import pytest

pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(18)


def _x(*shape, dtype=np.float64, loc=0.0):
    return (RNG.standard_normal(shape) * 2.0 + loc).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape,norm", [
    ((5,), (5,)),                # 1-d: one row
    ((4, 6), (6,)),
    ((3, 4, 8), (8,)),           # 3-d input (W4's [batch, block, embedding])
    ((2, 3, 4, 5), (4, 5)),      # two normalized dims
    ((2, 3, 4), (2, 3, 4)),      # every dim normalized
])
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_layer_norm_matches_torch(dtype, x_shape, norm, affine):
    weight = Arg(_x(*norm, dtype=dtype)) if affine in ("both", "weight") else None
    bias = Arg(_x(*norm, dtype=dtype)) if affine in ("both", "bias") else None
    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == np.float32 else {}
    check(lambda m, x, w, b: m.nn.functional.layer_norm(x, norm, w, b, 1e-5),
          Arg(_x(*x_shape, dtype=dtype, loc=3.0)), weight, bias, **tol)


def test_layer_norm_eps_and_constant_rows():
    # A constant row: var 0, so the output is bias and the input's gradient finite (rstd of eps).
    x = np.ones((3, 4))
    x[1] = RNG.standard_normal(4)
    check(lambda m, x, w, b: m.nn.functional.layer_norm(x, (4,), w, b, eps=0.5),
          Arg(x), Arg(_x(4)), Arg(_x(4)))


def test_layer_norm_non_contiguous_and_empty():
    check(lambda m, x: m.nn.functional.layer_norm(x.transpose(0, 1), (3,)), Arg(_x(3, 5)))
    check(lambda m, x: m.nn.functional.layer_norm(x, (4,)), Arg(np.zeros((0, 4))))


def test_layer_norm_only_some_inputs_need_grad():
    check(lambda m, x, w, b: m.nn.functional.layer_norm(x, (4,), w, b),
          Arg(_x(3, 4), requires_grad=False), Arg(_x(4)), Arg(_x(4), requires_grad=False))
    check(lambda m, x, w, b: m.nn.functional.layer_norm(x, (4,), w, b),
          Arg(_x(3, 4)), Arg(_x(4), requires_grad=False), Arg(_x(4)))


@pytest.mark.parametrize("call", [
    lambda m, x, w: m.nn.functional.layer_norm(x, (5,)),          # trailing shape wrong
    lambda m, x, w: m.nn.functional.layer_norm(x, (2, 3, 4, 4)),  # more dims than the input
    lambda m, x, w: m.nn.functional.layer_norm(x, (4,), w[:3]),   # weight shape wrong
])
def test_layer_norm_errors(call):
    check(call, Arg(_x(3, 4)), Arg(_x(4)))


def test_layer_norm_module_and_double_backward():
    torch = pytest.importorskip("torch")
    x = _x(2, 3, 4)
    layer = dg.nn.LayerNorm((3, 4), dtype=dg.float64)
    torch_layer = torch.nn.LayerNorm((3, 4)).double()
    with torch.no_grad():
        torch_layer.weight.copy_(torch.from_numpy(_x(3, 4)))
        torch_layer.bias.copy_(torch.from_numpy(_x(3, 4)))
    layer.weight.data.copy_(dg.from_numpy(torch_layer.weight.detach().numpy().copy()))
    layer.bias.data.copy_(dg.from_numpy(torch_layer.bias.detach().numpy().copy()))
    dx, tx = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    results = []
    for lib, module, inp in ((dg, layer, dx), (torch, torch_layer, tx)):
        y = module(inp)
        (gx,) = lib.autograd.grad((y * y * y).sum(), inp, create_graph=True)
        (ggx,) = lib.autograd.grad((gx * gx).sum(), inp)
        results.append((y.detach().numpy(), gx.detach().numpy(), ggx.detach().numpy()))
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)


def test_layer_norm_float16_forward_is_close():
    torch = pytest.importorskip("torch")
    x = _x(4, 8, dtype=np.float16)
    got = dg.nn.functional.layer_norm(dg.from_numpy(x), (8,)).numpy()
    want = torch.nn.functional.layer_norm(torch.from_numpy(x), (8,)).numpy()
    assert got.dtype == np.float16
    np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float32), atol=2e-3)


def test_layer_norm_float16_gradients_are_close():
    # float16 takes the general rule (the row path is for float32 / float64).
    torch = pytest.importorskip("torch")
    x, w, g = _x(4, 8, dtype=np.float16), _x(8, dtype=np.float16), _x(4, 8, dtype=np.float16)
    grads = []
    for lib, make in ((dg, dg.from_numpy), (torch, torch.from_numpy)):
        xt, wt = make(x.copy()).requires_grad_(), make(w.copy()).requires_grad_()
        lib.nn.functional.layer_norm(xt, (8,), wt).backward(make(g.copy()))
        grads.append([xt.grad.numpy().astype(np.float32), wt.grad.numpy().astype(np.float32)])
    for got, want in zip(*grads):
        np.testing.assert_allclose(got, want, rtol=2e-2, atol=2e-2)
