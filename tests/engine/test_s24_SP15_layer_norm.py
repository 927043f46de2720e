"""layer_norm's large-row path (session 24 SP15): the per-row and per-column broadcasts done as
flat ufunc calls (``_by_rows`` / ``_by_cols``) give the same bits as the broadcast forms of the
rules before them (written out here), and the op still matches PyTorch."""

import numpy as np
import pytest

import deltagrad
from deltagrad._engine.ops import normalization as N


def _head_forward(x, weight, bias, n, eps):
    # Session 23's large-row forward: the same ufuncs on broadcast columns / rows.
    rows = x.reshape(-1, n)
    xc = rows - rows[:, :1]
    means = xc @ np.ones(n, xc.dtype)
    means /= n
    xc -= means[:, None]
    rstd = np.einsum("ij,ij->i", xc, xc)
    rstd *= 1.0 / n
    rstd += eps
    np.sqrt(rstd, out=rstd)
    np.divide(1.0, rstd, out=rstd)
    xc *= rstd[:, None]
    out = np.multiply(xc, weight.reshape(-1)) if weight is not None else xc.copy()
    out = out.reshape(x.shape)
    if bias is not None:
        out += bias
    return out, xc, rstd


def _head_gx(g, xhat, rstd, weight, n):
    g2 = g.reshape(-1, n)
    w = weight.reshape(-1)
    gxhat = np.multiply(g2, w)
    p = np.multiply(g2, xhat) @ w
    m = gxhat @ np.ones(n, g.dtype)
    p *= 1.0 / n
    m *= 1.0 / n
    xhat = xhat * p[:, None]
    xhat += m[:, None]
    gx = gxhat - xhat
    gx *= rstd[:, None]
    return gx.reshape(g.shape)


def _inputs(shape, dtype, kind, rng):
    x = rng.standard_normal(shape).astype(dtype)
    flat = x.reshape(-1, shape[-1])
    if kind == "special":
        flat[0, 0], flat[1, -1], flat[2, 0] = np.nan, np.inf, -np.inf
        flat[-1] = -0.0
    elif kind == "constant":
        flat[::2] = 1000.0
        flat[1::2] = 0.1
    return x


# [32, 32, 64]: W4's rows (blocks of 256 rows); [40, 33]: blocks of 8; [3, 700]: no block
# (gcd 1); [1100, 1]: one value a row.
@pytest.mark.parametrize("shape", [(32, 32, 64), (40, 33), (3, 700), (1100, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["normal", "special", "constant"])
def test_large_rows_same_bits_as_the_broadcast_rules(shape, dtype, kind):
    rng = np.random.default_rng([shape[-1], len(kind)])
    x = _inputs(shape, dtype, kind, rng)
    n = shape[-1]
    weight = rng.standard_normal(n).astype(dtype)
    weight[0] = -0.0
    bias = rng.standard_normal(n).astype(dtype)
    assert x.size > N._SMALL
    with np.errstate(all="ignore"):
        for w, b in ((weight, bias), (weight, None), (None, bias), (None, None)):
            affine = tuple(a for a in (w, b) if a is not None)
            out = N._layer_norm_forward(x, *affine, ndim=1, eps=1e-5, has_weight=w is not None)
            want, xhat, rstd = _head_forward(x, w, b, n, 1e-5)
            assert out.dtype == want.dtype and out.tobytes() == want.tobytes()
            nograd = N.forward_without_grad(x, *affine, ndim=1, eps=1e-5,
                                            has_weight=w is not None)
            assert nograd.tobytes() == want.tobytes()
        # The VJP on a contiguous and on a transposed (non-contiguous) gradient.
        g = rng.standard_normal(shape).astype(dtype)
        for grad in (g, np.ascontiguousarray(g.T).T):
            out = N._layer_norm_forward(x, weight, bias, ndim=1, eps=1e-5, has_weight=True)
            gx, gw, gb = N._layer_norm_vjp(N.ARRAY, grad, out, x, weight, bias, ndim=1,
                                           eps=1e-5, has_weight=True, needs=(True,) * 3)
            assert gx.tobytes() == _head_gx(grad, xhat, rstd, weight, n).tobytes()
            ones = np.ones(x.size // n, dtype)
            assert gw.tobytes() == (ones @ np.multiply(grad.reshape(-1, n), xhat)).tobytes()
            assert gb.tobytes() == (ones @ grad.reshape(-1, n)).tobytes()


def test_a_wider_affine_dtype_keeps_numpy_promotion():
    # A float64 weight / bias on float32 rows: the tiled block keeps the affine's dtype, so the
    # ufunc promotes as the broadcast form did (no float32 rounding of the weight first).
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 48)).astype(np.float32)
    weight, bias = rng.standard_normal(48) * 1.1, rng.standard_normal(48) * 0.3
    out = N._layer_norm_forward(x, weight, bias, ndim=1, eps=1e-5, has_weight=True)
    want = _head_forward(x, weight, bias, 48, 1e-5)[0]
    assert out.dtype == want.dtype == np.float64 and out.tobytes() == want.tobytes()


def test_w4_rows_match_pytorch_with_second_derivatives():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x = rng.standard_normal((32, 32, 64))
    w, b, gy = rng.standard_normal(64), rng.standard_normal(64), rng.standard_normal(x.shape)
    results = []
    for lib in (deltagrad, torch):
        ins = [lib.tensor(a, requires_grad=True) for a in (x, w, b)]
        y = lib.nn.functional.layer_norm(ins[0], (64,), ins[1], ins[2], 1e-5)
        grads = lib.autograd.grad(y, ins, lib.tensor(gy), create_graph=True)
        second = lib.autograd.grad(sum((g * g).sum() for g in grads), ins[:2])
        results.append([t.detach().numpy() for t in (y, *grads, *second)])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-8)
