"""Elementwise functions of two (or three) tensors that compare or step between them: fmax /
fmin (nan-ignoring maximum), heaviside, the tensor-bounded clamps, lerp and nextafter.

Split from ``elementwise_math.py`` (its size); the same dtype rules: inputs are promoted as
PyTorch's ``result_type``, and where PyTorch defines no derivative the rule returns zeros.
"""

from __future__ import annotations

import numpy as np

from ..promotion import common, result_type
from .elementwise_math import _NEG_INF, _zeros, check_kind, distinct_pairs, pair, register_quiet
from .half import HALF
from .registry import Sample, _away_from, register

__all__: list[str] = []



def _fmax_like(ufunc, pick_x):
    def forward(x, y):
        return ufunc(*pair(x, y))

    def vjp(F, g, out, x, y):
        # NOTE: ties go to x entirely (PyTorch's fmax / fmin; maximum splits them); where y is
        # nan the result is x.
        xd, yd = F.data(x), F.data(y)
        wins = ((xd >= yd) if pick_x else (xd <= yd)) | np.isnan(yd)
        return g * F.const(wins), g * F.const(~wins)

    return forward, vjp


_FMAX = _fmax_like(np.fmax, True)
_FMIN = _fmax_like(np.fmin, False)
register("fmax", forward=_FMAX[0], vjp=_FMAX[1], samples=distinct_pairs)
register("fmin", forward=_FMIN[0], vjp=_FMIN[1], samples=distinct_pairs)


def _heaviside_forward(x, values):
    if x.dtype.kind == "c" or values.dtype.kind == "c":  # (NumPy: TypeError, no loop)
        raise RuntimeError("heaviside is not yet implemented for complex tensors.")
    if x.dtype is not values.dtype and x.dtype != values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    if x.dtype.kind == "f":
        # NOTE: a nan input gives 0, as PyTorch's (x == 0 ? values : x > 0), where
        # np.heaviside's nan would pass through: nan becomes -inf first (fmax skips nan; -0.0
        # stays), 0.3 us on [8, 8]; a 0-d input is tested as NumPy scalars (0.1 us).
        # (floats keep their dtype: no astype, 0.6 us at 0-d)
        if not x.ndim and not values.ndim:  # (a 0-d input with values: the general path)
            out = np.heaviside(x, values)
            return x.dtype.type(0) if out != out and x != x else out
        return np.heaviside(np.fmax(x, _NEG_INF(x)[0]), values)
    if x.dtype.kind == "b":
        return x | values  # x where x is True, else the value given for 0
    if x.dtype.kind == "V":  # (ml_dtypes' bfloat16: as floats above, nan to 0, in float32)
        wide = np.fmax(x.astype(np.float32), np.float32(-np.inf))
        return np.heaviside(wide, values.astype(np.float32)).astype(x.dtype)
    return np.heaviside(x, values).astype(x.dtype, copy=False)


register("heaviside", forward=_heaviside_forward, vjp=_zeros,
         samples=lambda rng: [Sample((_away_from(rng, (5,)), rng.uniform(0, 1, (5,))))])


def _clamp_min_forward(x, low):
    return np.maximum(*pair(x, low))


def _clamp_min_vjp(F, g, out, x, low):
    # NOTE: at x == min the gradient goes to x (the bound passes it only where it clamps).
    keep = F.data(x) >= F.data(low)
    return g * F.const(keep), g * F.const(~keep)


def _clamp_max_forward(x, high):
    return np.minimum(*pair(x, high))


def _clamp_max_vjp(F, g, out, x, high):
    keep = F.data(x) <= F.data(high)
    return g * F.const(keep), g * F.const(~keep)


register("clamp_min", forward=_clamp_min_forward, vjp=_clamp_min_vjp, samples=distinct_pairs)
register("clamp_max", forward=_clamp_max_forward, vjp=_clamp_max_vjp, samples=distinct_pairs)


def _clamp_tensor_forward(x, low, high):
    if not x.dtype is low.dtype is high.dtype:
        # PyTorch's one promotion over all three (pairing the input with each bound in turn
        # let a 0-d operand decide): the dimensioned dtypes, the 0-d ones, then both.
        def joined(arrays):  # (one rank: plain promotion)
            dtype = arrays[0].dtype
            for a in arrays[1:]:
                dtype = result_type(np.empty(1, dtype), np.empty(1, a.dtype))
            return dtype

        dims = [a for a in (x, low, high) if a.ndim]
        zero = [a for a in (x, low, high) if not a.ndim]
        if dims and zero:
            dtype = result_type(np.empty(1, joined(dims)), np.empty((), joined(zero)))
        else:
            dtype = joined(dims or zero)
        x, low, high = (a.astype(dtype, copy=False) for a in (x, low, high))
    return np.minimum(np.maximum(x, low), high)


def _clamp_tensor_vjp(F, g, out, x, low, high):
    # min(max(x, low), high). NOTE: PyTorch's rule where min > max: the result is max and only
    # max gets the gradient; where min == max and x is outside, no input gets it.
    xd, ld, hd = F.data(x), F.data(low), F.data(high)
    gx = (xd >= ld) & (xd <= hd)
    glow = (xd < ld) & (ld < hd)
    ghigh = (xd > hd) | (hd < ld)
    return g * F.const(gx), g * F.const(glow), g * F.const(ghigh)


def _clamp_tensor_samples(rng):
    out = []
    for shape, low_shape in (((5,), (5,)), ((3, 4), (4,)), ((3, 4), ())):
        x = rng.uniform(-2, 2, shape)
        low = rng.uniform(-1.5, 0.0, low_shape)
        high = rng.uniform(0.0, 1.5, low_shape)
        if np.min(np.abs(x - low)) > 0.05 and np.min(np.abs(x - high)) > 0.05:
            out.append(Sample((x, low, high)))
    x = np.array([-1.0, 0.3, 2.0])  # min > max: the result is max
    out.append(Sample((x, np.array([1.0, 1.0, 1.0]), np.array([0.5, 0.5, 0.5])), note="min>max"))
    return out


register_quiet("clamp_tensor", forward=_clamp_tensor_forward, vjp=_clamp_tensor_vjp,
         samples=_clamp_tensor_samples)


# --------------------------------------------------------------------------------------------
# lerp(start, end, weight) = start + weight (end - start).


def _lerp_forward(start, end, weight):
    check_kind("lerp_kernel_scalar", start, "fc")
    if start.dtype == HALF:  # computed in float32 and rounded once, as PyTorch's kernel
        widened = [a.astype(np.float32) if a.dtype == HALF else a for a in (end, weight)]
        return _lerp_forward(start.astype(np.float32), *widened).astype(HALF)
    diff = end - start
    if start.dtype == np.float32 and weight.dtype == np.float32:
        # PyTorch's CPU kernel is a fused multiply-add, rounded once: the float32 product is
        # exact in float64, so the sum rounds there and then to float32 (1,247 of 5,000 random
        # lerps were an ulp off when rounded twice; float64 input stays two roundings)
        diff, start, end = diff.astype(np.float64), start.astype(np.float64), end.astype(
            np.float64)
        return _lerp_near(start, end, weight, diff).astype(np.float32)
    return _lerp_near(start, end, weight, diff)


def _lerp_near(start, end, weight, diff):
    # NOTE: from the nearer end, as PyTorch, so that weight 1 gives exactly ``end``:
    # start + w diff where |w| < 1/2, else end - diff (1 - w), written as end + (w - 1) diff
    # (the same roundings: w - 1 is -(1 - w) exactly).
    if weight.ndim == 0:  # one weight (a number): one side for all, 3 NumPy calls
        return start + weight * diff if abs(weight) < 0.5 else end + (weight - 1.0) * diff
    near_start = np.abs(weight) < 0.5
    return (np.where(near_start, start, end)
            + np.where(near_start, weight, weight - 1.0) * diff)


def _lerp_vjp(F, g, out, start, end, weight):
    return g * (1.0 - weight), g * weight, g * (end - start)


def _lerp_samples(rng):
    out = []
    for shape, weight_shape in (((4,), ()), ((3, 4), (3, 4)), ((3, 4), (4,)), ((), ())):
        out.append(Sample((rng.standard_normal(shape), rng.standard_normal(shape),
                           rng.uniform(-0.5, 1.5, weight_shape))))
    return out


register_quiet("lerp", forward=_lerp_forward, vjp=_lerp_vjp, samples=_lerp_samples)


# --------------------------------------------------------------------------------------------
# nextafter: the next representable value after x towards y. PyTorch 2.13 passes the gradient
# straight through to x (the step is locally constant: slope 1) where x != y, 0 where the two
# are equal (the result is then y itself), and gives y zeros.


def _nextafter_forward(x, y):
    x, y = common(x, y)
    out = np.nextafter(x, y)
    if x.dtype == HALF:  # (NumPy's float16 loop gives x where x == y: C's, PyTorch's, give y)
        out = np.where(x == y, y, out)
    return out


def _nextafter_vjp(F, g, out, x, y):
    return g * F.const(F.data(x) != F.data(y)), F.zeros_like(g)


register("nextafter", forward=_nextafter_forward, vjp=_nextafter_vjp, samples=distinct_pairs)
