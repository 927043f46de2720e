"""Session 23 SP9's shorter paths through nll_loss and huber_loss: the same bits as the
arithmetic they replace (written out here as it was), and PyTorch's values and gradients.

- nll_loss with ignored entries and no class weights: the coefficients are the mask times -1
  (over the count for "mean") in one product, where they were the mask cast, negated and
  divided by its float64 sum; the bounds of up to 16 targets are checked through lists.
- nll_loss's rule tests a finite gradient by its total (math.isfinite) instead of
  np.isfinite(g).all(); an overflowed total takes the masked path, with the same result.
- huber_loss takes its one-node path before the dtype checks; its rule leaves the outside
  factor unmasked (np.where picks the inside entries from the other branch).
"""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops import losses
from deltagrad._engine.ops.registry import ARRAY

torch = pytest.importorskip("torch")

SPECIAL = [0.0, -0.0, np.nan, np.inf, -np.inf, 1e-45, 3e38, -3e38, 0.7, -0.7, 2.0, -2.0]


def _bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.uint64 if a.dtype == np.float64 else np.uint32)


def _same_bits(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(_bits(got), _bits(want))


# ------------------------------------------------------------------------------ nll_loss


def _former_coef(t, ignore_index, reduction, dtype):
    """The coefficients as _nll_parts computed them before (no class weights)."""
    valid = t != ignore_index
    w_t = valid.astype(dtype)
    coef = -w_t
    if reduction == "mean":
        coef = coef / np.add.reduce(w_t, None, np.float64).astype(dtype)
    return coef


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(4, 3), (7, 5), (3, 4, 2), (40, 6)])
def test_nll_parts_ignored_same_bits(dtype, reduction, shape):
    rng = np.random.default_rng([len(shape), shape[0], reduction == "mean"])
    t = rng.integers(0, shape[1], size=shape[:1] + shape[2:])
    for ignore_index in (-1, 1):
        t.flat[::3] = ignore_index
        flat, coef, valid = losses._nll_parts(shape, np.dtype(dtype), t, None, ignore_index,
                                              reduction)
        _same_bits(coef, _former_coef(t, ignore_index, reduction, dtype))
        np.testing.assert_array_equal(valid, t != ignore_index)
        # the flat positions read each entry's target (0 where ignored)
        x = np.arange(np.prod(shape)).reshape(shape)
        safe = np.where(valid, t, 0)
        np.testing.assert_array_equal(x.take(flat),
                                      np.take_along_axis(x, np.expand_dims(safe, 1), 1)[:, 0])


def _nll_pair(lib, x, t, g, **kw):
    xt = lib.tensor(x, requires_grad=True)
    out = lib.nn.functional.nll_loss(xt, lib.tensor(t), **kw)
    out.backward(lib.tensor(g))
    return out.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ignore_index", [-1, 2, -100])
@pytest.mark.parametrize("n", [4, 16, 17, 64])
def test_nll_loss_ignored_matches_torch(reduction, ignore_index, n):
    rng = np.random.default_rng([n, ignore_index + 200])
    x = rng.standard_normal((n, 5)).astype(np.float32)
    t = rng.integers(0, 5, size=n)
    t[::3] = ignore_index if ignore_index != -100 else t[::3]
    g = rng.standard_normal(n if reduction == "none" else ()).astype(np.float32)
    got = _nll_pair(dg, x, t, g, ignore_index=ignore_index, reduction=reduction)
    want = _nll_pair(torch, x, t, g, ignore_index=ignore_index, reduction=reduction)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=0)  # (sum order: an ulp)


@pytest.mark.parametrize("n", [5, 30])
def test_nll_loss_target_errors_both_paths(n):
    # (up to 16 targets are checked through lists, more with NumPy: the same errors)
    x = dg.zeros(n, 3, requires_grad=True)
    for bad in (3, -2):
        t = np.zeros(n, np.int64)
        t[1] = bad
        t[0] = -1
        with pytest.raises(IndexError):
            dg.nn.functional.nll_loss(x, dg.tensor(t), ignore_index=-1)
        with pytest.raises(IndexError):
            torch.nn.functional.nll_loss(torch.zeros(n, 3), torch.tensor(t), ignore_index=-1)
    # every entry ignored: a mean of nothing is nan in both, gradient zeros
    t = np.full(n, -1)
    got = _nll_pair(dg, np.zeros((n, 3), np.float32), t, np.float32(1), ignore_index=-1)
    want = _nll_pair(torch, np.zeros((n, 3), np.float32), t, np.float32(1), ignore_index=-1)
    assert np.isnan(got[0]) and np.isnan(want[0])
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("g", [
    [np.inf, 1.0, np.nan, 2.0, -np.inf, 0.5],  # not finite: ignored entries take 0
    [3e38, 3e38, 1.0, 3e38, 3e38, 1.0],  # finite, its total overflows: the masked path
    [0.25, -1.0, 2.0, 0.5, 1.5, -3.0],
])
def test_nll_rule_nonfinite_gradient(g):
    x = np.random.default_rng(3).standard_normal((6, 4)).astype(np.float32)
    t = np.array([1, -1, 3, -1, 0, 2])
    g = np.array(g, np.float32)
    got = _nll_pair(dg, x, t, g, ignore_index=-1, reduction="none")
    want = _nll_pair(torch, x, t, g, ignore_index=-1, reduction="none")
    _same_bits(got[1], want[1])
    assert not np.signbit(got[1][t == -1]).any()
    # the rule on arrays, against the masked product written out
    _, coef, valid = losses._nll_parts(x.shape, x.dtype, t, None, -1, "none")
    gx = losses._nll_vjp(ARRAY, g, None, x, t, ignore_index=-1, reduction="none")[0]
    picked = np.where(valid, g * coef, np.float32(0)) + 0
    want_gx = np.zeros_like(x)
    np.put_along_axis(want_gx, np.where(valid, t, 0)[:, None], picked[:, None], 1)
    _same_bits(gx, want_gx)


# ------------------------------------------------------------------------------ huber_loss


def _former_huber_vjp(g, d, delta, smooth):
    size = np.abs(d)
    inside = ~(size >= delta)
    near = np.where(inside, d, 0)
    half = 0.5 / delta if smooth else 0.5
    outside = np.where(inside, 0, np.sign(d) if smooth else np.sign(d) * delta)
    outside = outside.astype(d.dtype, copy=False)
    inner = g * half * near
    inner += inner
    return np.where(inside, inner, g * outside)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("smooth", [False, True])
@pytest.mark.parametrize("special", [False, True])
def test_huber_rule_same_bits(dtype, smooth, special):
    rng = np.random.default_rng([special, smooth])
    with np.errstate(over="ignore"):
        d = (np.array(SPECIAL).astype(dtype) if special
             else (rng.standard_normal((5, 6)) * 2).astype(dtype))
    g = rng.standard_normal(d.shape).astype(dtype)
    with np.errstate(all="ignore"):
        for delta in (0.7, 1.0, 2.0):
            (gx,) = losses._huber_vjp(ARRAY, g, None, d, delta=delta, smooth=smooth)
            _same_bits(gx, _former_huber_vjp(g, d, delta, smooth))
    # 0-d
    (gx,) = losses._huber_vjp(ARRAY, g.reshape(-1)[:1].reshape(()), None,
                              d.reshape(-1)[-1:].reshape(()), delta=1.0, smooth=smooth)
    assert np.shape(gx) == ()


def _huber_pair(lib, x, y, g, **kw):
    xt, yt = lib.tensor(x, requires_grad=True), lib.tensor(y)
    if y.dtype.kind == "f":
        yt.requires_grad_(True)
    out = lib.nn.functional.huber_loss(xt, yt, **kw)
    out.backward(lib.tensor(g))
    return (out.detach().numpy(), xt.grad.numpy(),
            yt.grad.numpy() if y.dtype.kind == "f" else None, str(out.dtype))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtypes", [(np.float32, np.float32), (np.float64, np.float64),
                                    (np.float32, np.int64), (np.float32, np.float64)])
def test_huber_loss_paths_match_torch(reduction, dtypes):
    rng = np.random.default_rng([len(reduction), dtypes[1] is np.int64])
    x = (rng.standard_normal((3, 4)) * 2).astype(dtypes[0])
    y = (rng.standard_normal((3, 4)) * (1 if dtypes[1] is not np.int64 else 2)).astype(dtypes[1])
    g = rng.standard_normal(() if reduction != "none" else (3, 4)).astype(dtypes[0])
    got = _huber_pair(dg, x, y, g, reduction=reduction, delta=0.8)
    if dtypes[0] != dtypes[1]:  # (PyTorch's backward refuses mixed dtypes: values only)
        want = torch.nn.functional.huber_loss(torch.tensor(x), torch.tensor(y),
                                              reduction=reduction, delta=0.8)
        assert got[3] == str(want.dtype).replace("torch", "deltagrad")
        np.testing.assert_allclose(got[0], want.numpy(), rtol=1e-6, atol=1e-7)
        return
    want = _huber_pair(torch, x, y, g, reduction=reduction, delta=0.8)
    assert got[3].split(".")[-1] == want[3].split(".")[-1]
    for a, b in zip(got[:3], want[:3]):
        if b is None:
            assert a is None
        else:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    # the node is PyTorch's, whichever path made it
    xt = dg.tensor(x, requires_grad=True)
    assert type(dg.nn.functional.huber_loss(xt, dg.tensor(y), reduction=reduction)
                .grad_fn).__name__ in ("HuberLossBackward0", "MeanBackward0", "SumBackward0")


def test_huber_loss_errors_and_broadcast():
    x = dg.zeros(3, 4, requires_grad=True)
    with pytest.raises(RuntimeError):
        dg.nn.functional.huber_loss(x, dg.zeros(3, 4), delta=0.0)
    with pytest.raises(NotImplementedError):
        dg.nn.functional.huber_loss(dg.zeros(3, dtype=dg.int64), dg.zeros(3, dtype=dg.int64))
    with pytest.warns(UserWarning, match="target size"):
        out = dg.nn.functional.huber_loss(x, dg.ones(4), reduction="none")
    assert tuple(out.shape) == (3, 4)
    np.testing.assert_array_equal(out.detach().numpy(), np.full((3, 4), 0.5, np.float32))


@pytest.mark.parametrize("loss", ["smooth_l1_loss", "mse_loss"])
@pytest.mark.parametrize("dtypes", [(np.float32, np.float32), (np.float64, np.float64),
                                    (np.float16, np.float16), (np.float32, np.float64),
                                    (np.int64, np.float32)])
def test_promoted_pairs_match_torch(loss, dtypes):
    # (_promoted returns one floating dtype's pair as it is, without result_type)
    rng = np.random.default_rng(len(loss))
    x = (rng.standard_normal((3, 4)) * 2).astype(dtypes[0])
    y = rng.standard_normal((3, 4)).astype(dtypes[1])
    got = getattr(dg.nn.functional, loss)(dg.tensor(x), dg.tensor(y), reduction="none")
    want = getattr(torch.nn.functional, loss)(torch.tensor(x), torch.tensor(y), reduction="none")
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    tol = 1e-3 if np.float16 in dtypes else 1e-6
    np.testing.assert_allclose(got.numpy().astype(np.float64), want.numpy().astype(np.float64),
                               rtol=tol, atol=tol)
    with pytest.raises(NotImplementedError):
        getattr(dg.nn.functional, loss)(dg.tensor(x.astype(np.int64)),
                                        dg.tensor(y.astype(np.int64)))
