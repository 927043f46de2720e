"""float16 reductions, scans and softmax against PyTorch's CPU results.

PyTorch accumulates float16 sums, scans, moments and normalizations in float32 and rounds once
(log_softmax and logsumexp round some steps to float16 on the way); NumPy's float16 loops round
after every step, which gave errors of several percent (cumsum, log_softmax near 0, var of large
values overflowing to inf). Values and gradients must agree within one float16 ulp.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402


def _ulps(a, b) -> int:
    """The largest distance in float16 ulps between ``a`` and ``b`` (NaN against NaN is 0)."""
    a = np.asarray(a, np.float16).ravel()
    b = np.asarray(b, np.float16).ravel()
    if a.size == 0:
        return 0
    ia = a.view(np.int16).astype(np.int64)
    ib = b.view(np.int16).astype(np.int64)
    ia = np.where(ia < 0, -32768 - ia, ia)  # (a monotone integer order: -0 and +0 are 0)
    ib = np.where(ib < 0, -32768 - ib, ib)
    d = np.abs(ia - ib)
    d[np.isnan(a) & np.isnan(b)] = 0
    d[np.isnan(a) != np.isnan(b)] = 1 << 20
    return int(d.max())


def _scaled(a, b) -> float:
    """The largest difference in ulps of the largest magnitude of ``b`` (for gradients with
    cancellation, whose near-0 entries are far apart in ulps after any rounding)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / np.spacing(np.float16(np.max(np.abs(b)))))


def _run(fn, array, seed=0):
    """(value, gradient) of ``fn`` in each library, with the same float16 cotangent."""
    tx = torch.from_numpy(array.copy()).requires_grad_(True)
    t_out = fn(torch, tx)
    dx = dg.tensor(array.copy(), dtype=np.float16, requires_grad=True)
    d_out = fn(dg, dx)
    assert d_out.dtype == dg.float16 and tuple(d_out.shape) == tuple(t_out.shape)
    c = np.random.default_rng(seed).standard_normal(tuple(t_out.shape)).astype(np.float16)
    (t_grad,) = torch.autograd.grad(t_out, tx, torch.from_numpy(c))
    (d_grad,) = dg.grad(d_out, dx, dg.tensor(c, dtype=np.float16))
    return (d_out.detach().numpy(), t_out.detach().numpy(),
            d_grad.detach().numpy(), t_grad.numpy())


_RNG = np.random.default_rng(16)
_NORMAL = _RNG.standard_normal((64, 65)).astype(np.float16)
_WIDE = (_RNG.standard_normal((64, 65)) * 8).astype(np.float16)
_POSITIVE = _RNG.uniform(0.5, 1.5, (64, 65)).astype(np.float16)
_BIG = (_RNG.uniform(30000, 60000, (3, 4)) * _RNG.choice([-1, 1], (3, 4))).astype(np.float16)
_TINY = (_RNG.standard_normal((4, 6)) * 1e-6).astype(np.float16)
_SMALL = _RNG.standard_normal((3, 4)).astype(np.float16)
_VECTOR = _RNG.standard_normal((5,)).astype(np.float16)
_SCALAR = np.array(0.75, np.float16)

CASES = [
    ("sum dim 0", lambda m, x: m.sum(x, 0), _POSITIVE),
    ("sum dims", lambda m, x: m.sum(x, (0, 1)), _POSITIVE),
    ("sum 0-d", lambda m, x: m.sum(x), _SCALAR),
    ("cumsum", lambda m, x: m.cumsum(x, dim=1), _NORMAL),
    ("cumsum positive", lambda m, x: m.cumsum(x, dim=1), _POSITIVE),
    ("cumsum dim 0", lambda m, x: m.cumsum(x, dim=0), _WIDE),
    ("cumsum [5]", lambda m, x: m.cumsum(x, dim=0), _VECTOR),
    ("cumsum 0-d", lambda m, x: m.cumsum(x, dim=0), _SCALAR),
    ("cumprod", lambda m, x: m.cumprod(x, dim=1), _POSITIVE),
    ("cumprod [3, 4]", lambda m, x: m.cumprod(x, dim=1), _SMALL),
    ("var", lambda m, x: m.var(x), _WIDE),
    ("var dim", lambda m, x: m.var(x, 1), _POSITIVE),
    ("var large", lambda m, x: m.var(x, 1), _BIG),
    ("var [3, 4]", lambda m, x: m.var(x, 0, correction=0), _SMALL),
    ("std", lambda m, x: m.std(x), _WIDE),
    ("std dim", lambda m, x: m.std(x, 1), _POSITIVE),
    ("std large", lambda m, x: m.std(x, 0), _BIG),
    ("std tiny", lambda m, x: m.std(x, 1), _TINY),
    ("logsumexp", lambda m, x: m.logsumexp(x, 1), _NORMAL),
    ("logsumexp dim 0", lambda m, x: m.logsumexp(x, 0), _POSITIVE),
    ("softmax", lambda m, x: m.softmax(x, -1), _WIDE),
    ("softmax [5]", lambda m, x: m.softmax(x, 0), _VECTOR),
    ("log_softmax", lambda m, x: m.log_softmax(x, -1), _NORMAL),
    ("log_softmax wide", lambda m, x: m.log_softmax(x, -1), _WIDE),
    ("log_softmax positive", lambda m, x: m.log_softmax(x, 1), _POSITIVE),
    ("log_softmax [3, 4]", lambda m, x: m.log_softmax(x, 1), _SMALL),
    ("log_softmax dim 0", lambda m, x: m.log_softmax(x, 0), _WIDE),
    ("mean", lambda m, x: m.mean(x, 0), _POSITIVE),
    ("vector_norm", lambda m, x: m.linalg.vector_norm(x), _WIDE),
    ("vector_norm dim", lambda m, x: m.linalg.vector_norm(x, dim=1), _POSITIVE),
    ("vector_norm tiny", lambda m, x: m.linalg.vector_norm(x, dim=1), _TINY),
    ("vector_norm 3", lambda m, x: m.linalg.vector_norm(x, 3, dim=1), _WIDE),
    ("vector_norm inf", lambda m, x: m.linalg.vector_norm(x, math.inf), _NORMAL),
]


@pytest.mark.parametrize("fn, array", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_float16_within_one_ulp_of_pytorch(fn, array):
    value, expected, grad, expected_grad = _run(fn, array)
    assert _ulps(value, expected) <= 1
    assert _ulps(grad, expected_grad) <= 1


# Gradients with cancellation (softmax along dim 0: p * (g - <g, p>)): within one ulp of the
# largest gradient.
CANCELLING = [
    ("softmax dim 0", lambda m, x: m.softmax(x, 0), _NORMAL),
    ("softmax dim 0 positive", lambda m, x: m.softmax(x, 0), _POSITIVE),
    ("softmax [3, 4] dim 0", lambda m, x: m.softmax(x, 0), _SMALL),
]


@pytest.mark.parametrize("fn, array", [c[1:] for c in CANCELLING],
                         ids=[c[0] for c in CANCELLING])
def test_float16_cancelling_gradients_near_pytorch(fn, array):
    value, expected, grad, expected_grad = _run(fn, array)
    assert _ulps(value, expected) <= 1
    assert _scaled(grad, expected_grad) <= 1.0


def test_float16_log_probabilities_near_zero_keep_pytorch_values():
    # The largest logit's log-probability: NumPy's float16 steps gave -0.0 / 4 % errors here.
    x = np.array([[6.0, 1.0, -2.0, 0.5], [0.0, -9.0, 9.0, 8.5]], np.float16)
    got = dg.log_softmax(dg.tensor(x, dtype=np.float16), 1).numpy()
    assert np.array_equal(got, torch.log_softmax(torch.from_numpy(x), 1).numpy())


def test_float32_and_float64_untouched_by_the_float16_branches():
    # The float16 branches must not change the other dtypes: the result is float32 / float64
    # and equal to the NumPy computation in that dtype.
    for dtype in (np.float32, np.float64):
        x = _NORMAL.astype(dtype)
        got = dg.cumsum(dg.tensor(x, dtype=dtype), dim=1).numpy()
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, np.add.accumulate(x, 1))
