"""Session 27 SP41: small-shape LayerNorm / softmax kernels and contiguous()'s copy path.

The kernels' changes are speed only: columns repeated to the rows' shape before the ufunc, and
math.isfinite for softmax's shift. Their bits are checked against the broadcast forms they
replaced (written out here as references), on float32 / float64 with -0.0, inf, nan and
-inf rows. contiguous() of a non-contiguous tensor that records nothing is now a fresh copy
made directly; it is checked against PyTorch (values, strides, _base, grad_fn, inference
marks, versions).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops import normalization as N
from deltagrad._engine.ops import reductions as R


def _special(rng, x):
    rows = x.reshape(-1, x.shape[-1])
    kind = int(rng.integers(0, 6))
    r = int(rng.integers(0, rows.shape[0]))
    c = int(rng.integers(0, rows.shape[1]))
    if kind == 0:
        rows[r] = -0.0
    elif kind == 1:
        rows[r, c] = np.inf
    elif kind == 2:
        rows[r, c] = np.nan
    elif kind == 3:
        rows[r] = 3.0
    elif kind == 4:
        rows[r] = -np.inf
    return x


def _old_small_forward(x, n, eps, weight, bias):
    # HEAD's (session 26's) n > _DENSE_N forms: the [rows, 1] columns broadcast by the ufunc.
    rows = x.reshape(-1, n)
    column = np.full((n, 1), 1.0 / n, x.dtype)
    xc = rows - rows[..., :1]
    xc -= xc.dot(column)
    var = np.multiply(xc, xc).dot(column)
    var += eps
    rstd = np.reciprocal(np.sqrt(var, out=var), out=var)
    xc *= rstd
    xhat = xc.reshape(x.shape)
    out = np.multiply(xhat, weight) if weight is not None else xhat.copy()
    if bias is not None:
        out += bias
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layer_norm_small_rows_bits(dtype):
    rng = np.random.default_rng(41)
    for _ in range(150):
        n = int(rng.integers(33, 129))
        lead = tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(0, 3))))
        if math.prod(lead) * n > 1024:
            continue
        x = _special(rng, (rng.standard_normal(lead + (n,)) * rng.choice([1e-3, 1, 1e3]))
                     .astype(dtype))
        w = rng.standard_normal(n).astype(dtype) if rng.random() < 0.7 else None
        b = rng.standard_normal(n).astype(dtype) if rng.random() < 0.7 else None
        affine = [a for a in (w, b) if a is not None]
        with np.errstate(all="ignore"):  # (the same ufuncs on the same values)
            got = N._layer_norm_forward(x, *affine, ndim=1, eps=1e-5, has_weight=w is not None)
            want = _old_small_forward(x, n, 1e-5, w, b)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes()


def test_layer_norm_module_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 8, 64)).astype(np.float32)
    x[0, 3] = 5.0  # (a constant row: exactly 0, as PyTorch)
    x[1, 2, 0] = -0.0
    w = rng.standard_normal(64).astype(np.float32)
    b = rng.standard_normal(64).astype(np.float32)
    outs = []
    for lib in (dg, torch):
        ln = lib.nn.LayerNorm(64)
        with lib.no_grad():
            ln.weight.copy_(lib.from_numpy(w))
            ln.bias.copy_(lib.from_numpy(b))
        xt = lib.from_numpy(x.copy()).requires_grad_()
        out = ln(xt)
        out.backward(lib.from_numpy(np.cos(x)))
        with lib.no_grad():
            same = ln(xt)
        outs.append((out.detach().numpy(), same.numpy(), xt.grad.numpy(), ln.weight.grad.numpy(),
                     ln.bias.grad.numpy()))
    for got, want in zip(*outs):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert outs[0][0].tobytes() == outs[0][1].tobytes()  # (no_grad's path: the same bits)
    assert (outs[0][0][0, 3] == b).all()  # (xhat exactly 0: the bias)


def _old_softmax_last(x):
    # HEAD's _softmax_last / _shifted_rows (np.isfinite; the sums broadcast as a column).
    top = np.maximum.reduce(x, None)
    if not np.isfinite(top):
        return None
    with np.errstate(all="ignore"):
        e = np.exp(np.subtract(x, top))
    small = np.count_nonzero(e < np.finfo(x.dtype).tiny)
    if small and small != np.count_nonzero(x == -np.inf):
        return None
    rows = e.reshape(-1, x.shape[-1])
    total = rows.dot(np.ones((x.shape[-1], 1), x.dtype))
    if not np.minimum.reduce(total, None) >= R._ROW_SUM_FLOOR[x.dtype]:
        return None
    rows /= total
    return e


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_last_bits(dtype):
    rng = np.random.default_rng(7)
    for trial in range(200):
        t = int(rng.integers(1, 40))
        k = int(rng.integers(1, 5))
        shape = (1, k, t, t) if trial % 3 else (k * t, t)
        x = (rng.standard_normal(shape) * rng.choice([1, 10, 40])).astype(dtype)
        if trial % 2:
            upper = np.triu_indices(t, 1)
            x.reshape(k, t, t)[:, upper[0], upper[1]] = -np.inf
        if t > 1 and x.size > t:
            x = _special(rng, x)
        got, want = R._softmax_last(x), _old_softmax_last(x)
        assert (got is None) == (want is None)
        if got is not None:
            assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize("fill", ["nan", "inf", "-inf", "masked"])
def test_softmax_masked_against_torch(fill):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    x = (rng.standard_normal((1, 4, 12, 12)) * 3).astype(np.float32)
    upper = np.triu_indices(12, 1)
    x[..., upper[0], upper[1]] = -np.inf
    if fill != "masked":
        x[0, 1, 5, 2] = float(fill)
    got = dg.softmax(dg.from_numpy(x.copy()), -1).numpy()
    want = torch.softmax(torch.from_numpy(x.copy()), -1).numpy()
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-7, equal_nan=True)


_DTYPES = ["bool", "int64", "float16", "float32", "float64", "bfloat16", "complex64"]


def _make(lib, dtype):
    base = lib.arange(48).reshape(2, 3, 8) % 5 - 2
    return base.to(getattr(lib, dtype)).transpose(1, 2)


@pytest.mark.parametrize("mode", ["no_grad", "no_grad_rg", "inference_mode", "grad_off_input",
                                  "grad"])
@pytest.mark.parametrize("dtype", _DTYPES)
def test_contiguous_copy_against_torch(dtype, mode):
    torch = pytest.importorskip("torch")
    facts = []
    for lib in (dg, torch):
        x = _make(lib, dtype)
        if mode in ("grad", "no_grad_rg") and dtype not in ("bool", "int64"):
            x.requires_grad_()
        elif mode in ("grad", "no_grad_rg"):
            pytest.skip("integer tensors do not require grad")
        ctx = {"no_grad": lib.no_grad, "no_grad_rg": lib.no_grad,
               "inference_mode": lib.inference_mode}.get(mode)
        if ctx is None:
            y = x.contiguous()
        else:
            with ctx():
                y = x.contiguous()
        fn = y.grad_fn
        v0 = x._version
        assert y.data_ptr() != x.data_ptr()
        facts.append((y.to(lib.float64).tolist() if dtype != "complex64" else
                      y.real.tolist(), str(y.dtype).split(".")[1], y.stride(),
                      y.is_contiguous(), y._base is None, type(fn).__name__ if fn else None,
                      y.requires_grad, y.is_inference(), v0))
        if not y.requires_grad and not y.is_inference():
            y.add_(1) if dtype != "bool" else y.logical_not_()
            facts.append((x._version, y._version))  # (a copy: x's version unchanged)
    n = len(facts) // 2
    assert facts[:n] == facts[n:]


def test_contiguous_direct_path_skips_capture_and_anomaly():
    # capture_step's notes and anomaly mode keep the recorded path (one place to look).
    x = dg.arange(12.0).reshape(3, 4).t()
    with dg.autograd.detect_anomaly(check_nan=True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = x.contiguous()
    assert y.is_contiguous() and y.tolist() == x.tolist()
    with dg.no_grad():
        z = x.contiguous()
    assert z._base is None and z.tolist() == x.tolist()


def test_contiguous_backward_unchanged():
    torch = pytest.importorskip("torch")
    grads = []
    for lib in (dg, torch):
        q = lib.arange(24.0).reshape(1, 2, 3, 4).requires_grad_()
        y = q.transpose(1, 2).contiguous().view(1, 3, 8)
        (y * lib.arange(24.0).reshape(1, 3, 8)).sum().backward()
        grads.append((q.grad.tolist(), type(y.grad_fn).__name__))
    assert grads[0] == grads[1]


@pytest.mark.parametrize("case", ["expanded", "strided_1d", "column"])
def test_contiguous_expanded_and_1d_against_torch(case):
    torch = pytest.importorskip("torch")
    facts = []
    for lib in (dg, torch):
        base = lib.arange(12.0).reshape(3, 4)
        if case == "expanded":
            x = base[:, :1].expand(3, 5)
        elif case == "strided_1d":
            x = base.reshape(-1)[::3]
        else:
            x = base[:, 1]
        with lib.no_grad():
            y = x.contiguous()
        y.add_(1)  # (writable, and not shared with the base)
        facts.append((y.tolist(), y.stride(), y._base is None, base.tolist(), base._version))
    assert facts[0] == facts[1]
