"""Evenly spaced values: ``linspace`` and ``logspace`` (``api.creation`` re-exports them and
makes them give meta tensors when asked for the meta device)."""

from __future__ import annotations

import math

import numpy as np

from ..dtypes import _Default, load_bfloat16, number_complex
from ..ops.elementwise_math import ERR_STATE, IGNORE_ALL
from ..tensor import Tensor, _leaf
from ._common import int_arg
from .factories import _numpy_dtype, _options, _requiring_grad, factory_out

__all__ = ["linspace", "logspace"]


def _arguments(name: str, start, end, steps, dtype) -> tuple:
    """linspace's / logspace's bounds as numbers, ``steps`` as an int (a float or bool: PyTorch's
    TypeError) that is not negative, and the NumPy dtype (the default float's if None)."""
    steps = int_arg(steps, "steps", name)
    if steps < 0:
        raise RuntimeError(f"{name}: number of steps must be non-negative, got {steps}")
    start = start.item() if isinstance(start, Tensor) else start
    end = end.item() if isinstance(end, Tensor) else end
    if isinstance(start, (complex, np.complexfloating)) or isinstance(
            end, (complex, np.complexfloating)):
        # PyTorch infers the default float's complex dtype from a complex bound (whatever a
        # complex tensor bound's own dtype), and refuses a real dtype given for it.
        inferred = number_complex(_Default.float)  # (float16's complex32: NotImplementedError)
        if dtype is None:
            return start, end, steps, inferred
        if _numpy_dtype(dtype, inferred).kind != "c":
            raise RuntimeError(f"torch.{name}(): inferred dtype {inferred.name} can't be "
                               f"safely cast to passed dtype {dtype}")
    return start, end, steps, _numpy_dtype(dtype, _Default.float)


def linspace(start, end, steps: int, *, out=None, dtype=None, layout=None, device=None,
             requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """``steps`` values from ``start`` to ``end`` inclusive, evenly spaced."""
    _options("linspace", device, layout)
    if out is not None:
        return factory_out("linspace", out, dtype, requires_grad, lambda d: linspace(
            start, end, steps, dtype=d))
    start, end, steps, dtype = _arguments("linspace", start, end, steps, dtype)
    if steps == 1:  # (PyTorch fills with start: checked, but not for float16 / bfloat16)
        start = _bound(start, dtype, "linspace", fill=True)
        with np.errstate(all="ignore"):
            result = _leaf(np.asarray([start]).astype(dtype))
        return result if requires_grad is False else _requiring_grad(result, requires_grad)
    if steps > 1:
        start, end = _bound(start, dtype, "linspace"), _bound(end, dtype, "linspace")
    if dtype.kind == "V" and dtype == load_bfloat16():
        result = _leaf(_bfloat16_linspace(start, end, steps))
        return result if requires_grad is False else _requiring_grad(result, requires_grad)
    # PyTorch's formula (not NumPy's): the bounds in the result's dtype (integers truncate),
    # the step in that dtype (float64 for integer results); the first half counts up from
    # start, the second half down from end, each value start + step * i as one fused
    # multiply-add, rounded once (here: computed in a wider float, then rounded).
    if dtype.kind in "fc":
        first, last = dtype.type(start), dtype.type(end)
        step = (last - first) / dtype.type(max(steps - 1, 1))
        wide = np.longdouble if dtype.itemsize >= 8 else np.float64
        if dtype.itemsize == 2:  # PyTorch's half kernel rounds after each multiply and add
            wide = np.float16
    else:
        first, last = (np.float64(np.asarray(v).astype(dtype)) for v in (start, end))
        step = (last - first) / max(steps - 1, 1)
        wide = np.longdouble  # (rounded to float64 below: the fused value, then truncated)
    if dtype.kind == "c":  # (steps == 1 returned above)
        wide = np.clongdouble  # (a complex type: the bounds keep their imaginary parts)
        index = np.arange(steps, dtype=wide)
        values = np.where(index < steps // 2, wide(first) + wide(step) * index,
                          wide(last) - wide(step) * (wide(steps - 1) - index))
    else:
        # The same operations, in place on the two halves, not both formulas on every index
        # and np.where: 10 float32 steps, 8.3 -> 6.6 us a call.
        values = np.arange(steps, dtype=wide)
        half = steps // 2
        low, high = values[:half], values[half:]
        low *= wide(step)
        low += wide(first)
        np.subtract(wide(steps - 1), high, out=high)
        high *= wide(step)
        np.subtract(wide(last), high, out=high)
        if dtype.kind not in "fc":  # (linspace(-3, 1, 7) has 1 - 3 * (2 / 3) = -0.99.., not -1)
            values = values.astype(np.float64)
    result = _leaf(values.astype(dtype))
    return result if requires_grad is False else _requiring_grad(result, requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, *, out=None, dtype=None,
             layout=None, device=None, requires_grad: bool = False,
             pin_memory: bool = False) -> Tensor:
    """``base ** linspace(start, end, steps)``: ``steps`` values evenly spaced on a log scale.

    Integer dtypes get the powers truncated toward zero, as in PyTorch.

    >>> from deltagrad import int64
    >>> logspace(0, 3, 4, dtype=int64)
    tensor([   1,   10,  100, 1000])
    """
    _options("logspace", device, layout)
    if out is not None:
        return factory_out("logspace", out, dtype, requires_grad, lambda d: logspace(
            start, end, steps, base, dtype=d))
    start, end, steps, dtype = _arguments("logspace", start, end, steps, dtype)
    if steps == 1:  # PyTorch: base ** start, start not converted to the dtype first
        start = complex(start) if dtype.kind == "c" else float(start)
        with np.errstate(all="ignore"):
            values = _complex_pow(float(base), start) if dtype.kind == "c" else \
                _c_pow(float(base), start)
            values = _bound(values, dtype, "logspace", fill=True)  # (fill_'s check)
            result = _leaf(np.asarray([values]).astype(
                np.float32 if dtype.itemsize == 2 and dtype.kind in "fV" else dtype).astype(dtype))
        return result if requires_grad is False else _requiring_grad(result, requires_grad)
    if steps > 1:
        start, end = _bound(start, dtype, "logspace"), _bound(end, dtype, "logspace")
    # PyTorch's formula: the bounds in the result's dtype (integers truncate, uint8 wraps), the
    # exponents stepped from both ends (start + step * i below steps // 2, end - step *
    # (steps - 1 - i) from there); for real dtypes the step and the exponents in double (the
    # bounds' difference taken in the dtype), base ** exponent in double then rounded once;
    # for complex ones everything in the dtype. (No one-pass np.linspace: its exponents are
    # not PyTorch's, and float32 values came out an ulp off.)
    half = steps // 2
    if dtype.kind == "c":
        first, last = dtype.type(start), dtype.type(end)
        step = (last - first) / dtype.type(steps - 1)
        index = np.arange(steps, dtype=dtype)
        exponents = np.where(index.real < half, first + step * index,
                             last - step * (dtype.type(steps - 1) - index))
        with np.errstate(all="ignore"):
            # (C's cpow, exp(y log x): NumPy's power multiplies out integer exponents)
            result = _leaf(np.exp(exponents * np.log(dtype.type(base))).astype(dtype))
        return result if requires_grad is False else _requiring_grad(result, requires_grad)
    if dtype.kind in "iub":
        first, last = float(start), float(end)
        step = float(np.asarray(end - start).astype(_DIFFERENCE.get(dtype.itemsize, dtype)))
    else:  # (the bounds and their difference rounded to the dtype: float16 and bfloat16
        # scalars compute in float32 and round, as PyTorch's Half and BFloat16)
        first, last = dtype.type(start), dtype.type(end)
        step = float(dtype.type(np.float32(last) - np.float32(first)) if dtype.itemsize == 2
                     else last - first)
        first, last = float(first), float(last)
    step /= steps - 1
    if steps <= 64:  # (Python floats are C doubles: 10 steps 6.7 -> 2.7 us against NumPy's)
        exponents = np.array([first + step * i if i < half else last - step * (steps - 1 - i)
                              for i in range(steps)])
    else:
        exponents = np.arange(steps, dtype=np.float64)  # (in place: the low half counts up,
        low, high = exponents[:half], exponents[half:]  # the high half down)
        low *= step
        low += first
        np.subtract(float(steps - 1), high, out=high)
        high *= step
        np.subtract(last, high, out=high)
    token = ERR_STATE.set(IGNORE_ALL)  # (nan for a negative base, inf: PyTorch's, silent;
    try:  # not np.errstate: 2.8 us a call)
        if (dtype.kind in "iub" or dtype.kind == "f" and dtype.itemsize == 8) and \
                steps <= _SCALAR_POW_STEPS:
            # C's pow (Python's math.pow) as PyTorch's scalar loop: NumPy's vectorized float64
            # power is not correctly rounded (197 of 300 random float64 logspaces had an ulp
            # off, 15 of 300 int64 ones).
            powered = np.fromiter((_c_pow(base, e) for e in exponents.tolist()), np.float64,
                                  steps)
        else:
            powered = np.power(np.float64(base), exponents)
        if dtype.itemsize == 2 and dtype.kind in "fV":  # (from double through float)
            powered = powered.astype(np.float32)
        result = _leaf(powered.astype(dtype))
    finally:
        ERR_STATE.reset(token)
    return result if requires_grad is False else _requiring_grad(result, requires_grad)


# float64 logspace up to this many steps takes C's pow one value at a time (bit for bit
# PyTorch's); longer ones NumPy's power (an ulp off at times, ~100 ns a value faster).
_SCALAR_POW_STEPS = 1 << 16

# The integer type PyTorch's C++ takes the difference of two integer bounds in (int for
# the small types: no overflow; int32 / int64 wrap).
_DIFFERENCE = {1: np.int64, 2: np.int64, 4: np.int32, 8: np.int64}


def _c_pow(base: float, exponent: float) -> float:
    """C's pow(base, exponent): Python's math.pow, with C's nan and inf where it raises."""
    try:
        return math.pow(base, exponent)
    except ValueError:  # (a negative base, a fractional exponent)
        return math.nan
    except OverflowError:
        return math.copysign(math.inf, base) if base < 0 and exponent % 2 == 1 else math.inf


_FLOAT32_MAX = 3.4028234663852886e38
_LIMITS: dict = {}  # dtype -> its (lowest, largest) value (np.finfo / np.iinfo: ~1 us a call)


def _complex_pow(base: float, exponent: complex) -> complex:
    """C++'s std::pow(double, complex<double>): polar(base ** re, im * log(base)) for a
    positive base, cpow (exp(y log x)) otherwise."""
    if base > 0:
        magnitude, angle = _c_pow(base, exponent.real), exponent.imag * math.log(base)
        return complex(magnitude * math.cos(angle), magnitude * math.sin(angle))
    with np.errstate(all="ignore"):
        return complex(np.exp(exponent * np.log(np.complex128(base))))


def _bound(value, dtype: np.dtype, where: str, fill: bool = False):
    if dtype.kind == "b" and not fill:  # (PyTorch's kernels: no bool, beyond a fill)
        raise NotImplementedError(f'"{where}_cpu" not implemented for \'Bool\'')
    return _checked(value, dtype, where, fill)


def _checked(value, dtype: np.dtype, where: str, fill: bool):
    """``value`` (a bound) in ``dtype`` as PyTorch's checked Scalar conversion: a
    RuntimeError where it overflows the dtype (a float outside its range, nan or inf for an
    integer dtype; an int outside it, except negative ints down to -max for an unsigned one,
    which wrap); integer dtypes give a Python int (truncated, wrapped), others the value.
    ``fill``: fill_'s check, which lets any value into float16 and bfloat16."""
    if (type(value) is float or type(value) is int) and dtype.kind == "f" and \
            dtype.itemsize >= 4 and (
            dtype.itemsize == 8 or -_FLOAT32_MAX <= value <= _FLOAT32_MAX):
        return value  # (the common case, first: 10 float32 steps, 8.1 -> 6.6 us a call)
    if dtype.kind == "c" and dtype.itemsize == 8 and any(
            math.isfinite(part) and abs(part) > _FLOAT32_MAX
            for part in (complex(value).real, complex(value).imag)):
        raise RuntimeError(f"{where}: value {value} cannot be converted to type {dtype} "
                           f"without overflow")
    if dtype.kind in "cb" or isinstance(value, (complex, np.complexfloating)) or (
            fill and dtype.kind in "fV" and dtype.itemsize == 2):
        return value
    limits = _LIMITS.get(dtype)
    if limits is None:
        if dtype.kind == "V":  # (bfloat16)
            limits = (-3.3895313892515355e38, 3.3895313892515355e38)
        else:
            info = np.finfo(dtype) if dtype.kind == "f" else np.iinfo(dtype)
            limits = (info.min.item() if dtype.kind == "f" else int(info.min),
                      info.max.item() if dtype.kind == "f" else int(info.max))
        limits = _LIMITS[dtype] = limits
    low, high = limits
    if isinstance(value, (bool, np.bool_)):
        value = int(value)
    if isinstance(value, (int, np.integer)):
        value = int(value)
        over = value > high or (value < -high if dtype.kind == "u" else value < low)
    else:
        value = float(value)
        if math.isnan(value) or math.isinf(value):
            over = dtype.kind in "iu"
        else:
            over = value < float(low) or value > float(high)  # (compared in double)
    if over:
        raise RuntimeError(f"{where}: value {value} cannot be converted to type {dtype} "
                           f"without overflow")
    if dtype.kind in "iu":
        return int(np.asarray(int(value)).astype(dtype))  # (truncated, then wrapped)
    # float16 takes a double through float (two roundings, as c10's Half from a double)
    return np.float32(value) if dtype.kind == "f" and dtype.itemsize == 2 else value


def _bfloat16_linspace(start, end, steps: int) -> np.ndarray:
    """linspace in bfloat16 as PyTorch's kernel: every product and sum computed in float32
    and rounded to bfloat16 (its BFloat16 operators), the index rounded to bfloat16 too."""
    bf16, f32 = load_bfloat16(), np.float32

    def rounded(values):
        return np.asarray(values, f32).astype(bf16).astype(f32)

    first, last = rounded(float(start)), rounded(float(end))
    if steps == 1:
        return np.asarray([first]).astype(bf16)
    step = rounded(rounded(last - first) / rounded(steps - 1))
    values = np.arange(steps, dtype=f32)
    half = steps // 2
    low, high = values[:half], values[half:]
    low[:] = rounded(first + rounded(step * rounded(low)))
    high[:] = rounded(last - rounded(step * rounded(f32(steps - 1) - high)))
    return values.astype(bf16)
