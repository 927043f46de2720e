"""Evenly spaced values: ``linspace`` and ``logspace`` (``api.creation`` re-exports them and
makes them give meta tensors when asked for the meta device)."""

from __future__ import annotations

import numpy as np

from ..dtypes import _Default
from ..tensor import Tensor, _leaf
from ._common import int_arg
from .factories import _numpy_dtype, _options, _requiring_grad, factory_out

__all__ = ["linspace", "logspace"]


def linspace(start, end, steps: int, *, out=None, dtype=None, layout=None, device=None,
             requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """``steps`` values from ``start`` to ``end`` inclusive, evenly spaced."""
    _options("linspace", device, layout)
    if out is not None:
        return factory_out("linspace", out, dtype, requires_grad, lambda d: linspace(
            start, end, steps, dtype=d))
    steps = int_arg(steps, "steps", "linspace")  # (a float or bool: PyTorch's TypeError)
    if steps < 0:
        raise RuntimeError(f"linspace: number of steps must be non-negative, got {steps}")
    dtype = _numpy_dtype(dtype, _Default.float)
    if isinstance(start, Tensor):
        start = start.item()
    if isinstance(end, Tensor):
        end = end.item()
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
        wide = np.float64
    if steps == 1:
        values = np.asarray([first])  # PyTorch: just start
    elif dtype.kind == "c":
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
    result = _leaf(values.astype(dtype))
    return _requiring_grad(result) if requires_grad else result


def logspace(start, end, steps: int, base: float = 10.0, *, out=None, dtype=None,
             layout=None, device=None, requires_grad: bool = False,
             pin_memory: bool = False) -> Tensor:
    """``base ** linspace(start, end, steps)``: ``steps`` values evenly spaced on a log scale.

    Integer dtypes get the powers truncated toward zero, as in PyTorch.

    >>> logspace(0, 3, 4, dtype=int64)
    tensor([   1,   10,  100, 1000])
    """
    _options("logspace", device, layout)
    if out is not None:
        return factory_out("logspace", out, dtype, requires_grad, lambda d: logspace(
            start, end, steps, base, dtype=d))
    steps = int_arg(steps, "steps", "logspace")
    if steps < 0:
        raise RuntimeError(f"logspace: number of steps must be non-negative, got {steps}")
    dtype = _numpy_dtype(dtype, _Default.float)
    if isinstance(start, Tensor):
        start = start.item()
    if isinstance(end, Tensor):
        end = end.item()
    if dtype.kind in "iub":
        # PyTorch's integer logspace truncates start and end to integers first, then steps
        # from both ends in double: logspace(0.5, 2.7, 4) is 1, 4, 21, 100 (not 3, 17, 92, 501)
        first, last = float(int(start)), float(int(end))
        step = (last - first) / (steps - 1) if steps > 1 else 0.0
        index = np.arange(steps, dtype=np.float64)
        exponents = np.where(index < max(steps // 2, 1), first + index * step,
                             last - (steps - 1 - index) * step)
        result = _leaf(np.power(np.float64(base), exponents).astype(dtype))
        return _requiring_grad(result) if requires_grad else result
    wide = np.longdouble if dtype.kind in "fc" and dtype.itemsize >= 8 else np.float64
    if dtype.kind == "c":
        exponents = np.linspace(wide(start), wide(end), steps, dtype=wide)
    else:
        exponents = _numpy_linspace(wide(start), wide(end), steps)
    result = _leaf(np.power(wide(base), exponents).astype(dtype))
    return _requiring_grad(result) if requires_grad else result


def _numpy_linspace(first, last, steps: int) -> np.ndarray:
    """np.linspace(first, last, steps) for two real scalars of one floating type, step for
    step as NumPy 2 computes it (the same values), without its argument handling (10 float32
    steps of logspace: 7.6 -> 4.4 us a call)."""
    delta = last - first
    values = np.arange(steps, dtype=type(first))
    if steps > 1:
        step = delta / (steps - 1)
        if step == 0:  # (NumPy's path for denormal steps)
            values /= steps - 1
            values *= delta
        else:
            values *= step
    else:
        values = values * delta
    values += first
    if steps > 1:
        values[-1] = last
    return values
