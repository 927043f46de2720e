"""Regressions for what session 16's soak run and special-value sweep found (SK): gradients at
inf / nan that came out as nan or 0 where PyTorch gives a number (clamp, smooth_l1 / huber, var
with N <= correction, cumprod of one element), the norm of one element at 3e38 / 1e-40, the
2-norm's gradient rounded in PyTorch's order, and no gradient from a 0-norm."""

from __future__ import annotations

import math

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

INF, NAN = math.inf, math.nan


def _np(t):
    if t is None:
        return None
    return t.detach().to(dg.float64 if isinstance(t, dg.Tensor) else torch.float64).numpy()


def _both(fn, values, dtype="float32", grad_out=None):
    """fn(m, *tensors) in PyTorch and deltagrad: (value, grads) of each, as float64 arrays."""
    results = []
    for m in (torch, dg):
        xs = [m.tensor(v, dtype=getattr(m, dtype), requires_grad=True) for v in values]
        out = fn(m, *xs)
        g = m.ones_like(out) if grad_out is None else m.tensor(grad_out,
                                                              dtype=getattr(m, dtype))
        grads = m.autograd.grad(out, xs, g, allow_unused=True)
        results.append((_np(out), [_np(t) for t in grads]))
    return results


def _same(results, exact=False):
    (tv, tg), (dv, dgr) = results
    check = np.testing.assert_array_equal if exact else (
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=0))
    check(dv, tv)
    for got, want in zip(dgr, tg):
        assert (got is None) == (want is None)
        if want is not None:
            check(got, want)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_clamp_gradient_outside_the_bounds_is_zero_even_when_infinite(dtype):
    # (was g * mask: inf * 0 = nan; PyTorch selects)
    _same(_both(lambda m, x: x.clamp(0, 1), [[-2.0, 0.5, 3.0, NAN]], dtype,
                [INF, INF, -INF, 1.0]), exact=True)
    _same(_both(lambda m, x: x.clamp(min=0), [[-2.0, 0.5]], dtype, [NAN, 2.0]), exact=True)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_with_logits_gradient_at_an_infinite_logit(dtype):
    def fn(m, x, y):
        return m.nn.functional.binary_cross_entropy_with_logits(x, y.clamp(0, 1),
                                                                reduction="none")
    _same(_both(fn, [[INF, INF, -INF], [INF, -2.5, 3e38]], dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["smooth_l1_loss", "huber_loss"])
def test_smooth_l1_and_huber_gradients_at_infinite_and_nan_differences(name, dtype):
    # inf outside the quadratic part: the sign (was 0 * inf = nan); nan: nan, as PyTorch's
    # d / beta (was 0)
    x = [0.0, 0.0, INF, 0.0, 1.0, 0.2, -3e38]
    y = [INF, -INF, INF, NAN, 0.5, 5.0, 0.0]
    for reduction in ("none", "mean"):
        def fn(m, a, b, reduction=reduction):
            return getattr(m.nn.functional, name)(a, b, reduction=reduction)
        _same(_both(fn, [x, y], dtype))
    _same(_both(lambda m, a, b: m.nn.functional.smooth_l1_loss(a, b, beta=0.5),
                [x, y], dtype))


@pytest.mark.parametrize("values, correction", [
    ([INF], 1), ([NAN], 1), ([-INF], 1), ([1.0], 1), ([INF, 1.0], 2), ([NAN, 1.0], 2),
    ([INF, -INF], 2), ([1.0, 2.0], 2), ([1.0, 1.0], 2), ([3.0, INF], 3)])
def test_var_gradient_where_n_is_at_most_the_correction(values, correction):
    # PyTorch's rule: g * where(x == mean, nan, inf) (an infinite x was inf here, a NaN x nan)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (PyTorch's degrees-of-freedom warning)
        _same(_both(lambda m, x: m.var(x, correction=correction), [values], "float64"),
              exact=True)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("value", [INF, -INF, NAN, 2.5, 0.0])
def test_cumprod_gradient_of_one_element_is_g(value, dtype):
    _same(_both(lambda m, x: m.cumprod(x, 0), [[value]], dtype), exact=True)
    _same(_both(lambda m, x: m.cumprod(x, 1), [[[value], [1.5]]], dtype), exact=True)


@pytest.mark.parametrize("ord", [2, 3, 1, 0.5, INF, -INF, -1])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_norm_of_one_element_is_its_absolute_value(ord, dtype):
    # (x * x overflowed at 3e38 and underflowed at 1e-40; PyTorch skips the reduction)
    for values, dim in (([3e38], None), ([-3e38], -1), ([[1e-40], [-3e38]], 1),
                        ([[1e-40]], (0, 1))):
        def fn(m, x, dim=dim):
            return m.linalg.vector_norm(x, ord, dim=dim)
        (tv, tg), (dv, dgr) = _both(fn, [values], dtype)
        np.testing.assert_array_equal(dv, tv)
        if ord == 2 and dtype == "float32":
            np.testing.assert_array_equal(dgr[0], tg[0])
    _same(_both(lambda m, x, y: m.dist(x, y), [[3e38], [0.0]], dtype), exact=True)


def test_norm_gradient_rounds_in_pytorch_order():
    # g * (x / norm), bit for bit (x * (g / norm) differed in the last bit on most samples)
    rng = np.random.default_rng(16)
    for dim in (None, 1, 0):
        x = rng.standard_normal((6, 5)).astype(np.float32).tolist()
        shape = {None: (), 1: (6,), 0: (5,)}[dim]
        g = rng.standard_normal(shape).astype(np.float32).tolist()
        _same(_both(lambda m, t, dim=dim: m.linalg.vector_norm(t, dim=dim), [x], "float32",
                    g), exact=True)


def test_norm_of_order_zero_leaves_no_gradient():
    for m in (torch, dg):
        x = m.tensor([[1e-40, 2.0]], requires_grad=True)
        (m.linalg.vector_norm(x, 0, dim=1).sum() + x.sum()).backward()
        assert x.grad.tolist() == [[1.0, 1.0]]
        assert m.autograd.grad(m.linalg.vector_norm(x, 0).sum(), x,
                               allow_unused=True) == (None,)


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8"])
def test_gcd_with_the_dtype_minimum_follows_pytorch_wrapping(dtype):
    # |min| wraps to min in PyTorch's loop: gcd(-128, 6) is -2 in int8 (NumPy's gcd gives 2)
    info = np.iinfo(dtype)
    values = ([info.min, info.min + 1, -64, -6, -1] if info.min else []) + [0, 1, 6, 96,
                                                                           info.max]
    a = [v for v in values for _ in values]
    b = [w for _ in values for w in values]
    want = torch.gcd(torch.tensor(a, dtype=getattr(torch, dtype)),
                     torch.tensor(b, dtype=getattr(torch, dtype))).tolist()
    got = dg.gcd(dg.tensor(a, dtype=getattr(dg, dtype)), dg.tensor(b, dtype=getattr(dg, dtype)))
    assert got.tolist() == want and got.dtype == getattr(dg, dtype)
    # broadcast and in place
    x = dg.tensor([[info.min], [6]], dtype=getattr(dg, dtype))
    y = dg.tensor([6, info.min, 4], dtype=getattr(dg, dtype))
    tx = torch.tensor([[info.min], [6]], dtype=getattr(torch, dtype))
    ty = torch.tensor([6, info.min, 4], dtype=getattr(torch, dtype))
    assert dg.gcd(x, y).tolist() == torch.gcd(tx, ty).tolist()
    assert x.gcd_(y[:1]).tolist() == tx.gcd_(ty[:1]).tolist()


def test_stack_backward_runs_after_an_input_changes_in_place():
    # stack's rule reads no input (PyTorch's saves nothing); its len(xs) counted as a read,
    # so deltagrad refused this backward (soak: the in-place sweep, stack and cartesian_prod)
    grads = []
    for m in (torch, dg):
        x = m.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=m.float64, requires_grad=True)
        a = x * 1
        y = m.stack([a, a * 2], -1)
        a.add_(1)
        p = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
        q = p * 1
        z = m.cartesian_prod(q, p * 3)
        q.mul_(2)
        (y.sum() + (z * z).sum()).backward()
        grads.append((x.grad.tolist(), p.grad.tolist()))
    assert grads[1] == grads[0]
