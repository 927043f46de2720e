"""Variance and standard deviation (var, std, var_mean, std_mean): PyTorch's argument parser
over the registered var / std ops (float64 moments of float32 inputs: ops/reductions.py)."""

from __future__ import annotations

import functools
import math

import numpy as np

from ..errors import warn_at_caller
from ..node_names import name_node
from ..ops import OPS
from ..tensor import Tensor, apply, tensor_method
from ._common import NOT_GIVEN, numpy_aliases, numpy_names, reduction_dims
from ._pointwise import input_tensor
from .reductions import (
    _dim_type,
    _keepdim_arg,
    _require_float,
    _tensor_dim,
    mean,
    write_same_kind,
)

__all__ = ["std", "std_mean", "var", "var_mean"]


def _moment(op, name, input, dim, unbiased, keepdim, correction, label=None):
    input = input_tensor(input, name)
    if unbiased is NOT_GIVEN:
        unbiased = None
    elif unbiased is None:  # (an explicit None matches no overload of PyTorch's; s28 BR17)
        raise TypeError(f"{label or name}() received an invalid combination of arguments: "
                        "'unbiased' must be bool, not NoneType")
    if isinstance(dim, bool):  # var(x, False): the unbiased flag in dim's place
        if unbiased is not None:  # (var(x, True, True): no such overload, PyTorch's TypeError)
            raise TypeError(f"{name}() received an invalid combination of arguments: a bool "
                            f"dim (the unbiased flag) and unbiased={unbiased!r}")
        dim, unbiased = None, dim
    dim = _tensor_dim(dim)
    _dim_type(dim, name)
    _keepdim_arg(keepdim, name)
    if unbiased is not None and type(unbiased) is not bool:
        raise TypeError(f"{name}() received an invalid combination of arguments: 'unbiased' "
                        f"must be bool, not {type(unbiased).__name__}")
    if input._data.dtype.kind not in "fc":  # (the message made only when it is raised)
        _require_float(input, f"{name}: std and var only support floating point and complex "
                       "dtypes")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    elif unbiased is not None:
        raise RuntimeError(f"{name}: cannot give both unbiased and correction")
    dims = reduction_dims(dim, input._data.ndim)
    if input._data.dtype.kind == "c":
        # The mean squared distance |x - mean|^2, a real result (PyTorch's): the real and
        # imaginary parts' variances add. (NumPy's var of a complex array is its real one too,
        # but the registered op kept the complex dtype and squared without conjugating.)
        parts = [apply(_MOMENTS["var"], p, dim=dims, correction=correction, keepdim=keepdim)
                 for p in (input.real, input.imag)]
        for _ in parts:  # (PyTorch's complex var is two real ones: it warns twice)
            _check_dof(label or name, input, parts[0], correction)
        total = parts[0] + parts[1]
        return total.sqrt() if op == "std" else total
    result = apply(_MOMENTS[op], input, dim=dims, correction=correction, keepdim=keepdim)
    count = result._data.size  # (inline, no max(): +0.1 us on var's 10.5 us of [3, 4], A/B)
    if input._data.size <= (correction * count if count else correction):
        _check_dof(label or name, input, result, correction)
    return result


def _check_dof(name, input, result, correction):
    """PyTorch's UserWarning where the degrees of freedom, input numel / output numel (at least
    1) less the correction, are <= 0 (the result is inf / nan there)."""
    if not isinstance(input._data, np.ndarray):  # (a meta tensor: PyTorch's CPU kernel warns)
        return
    size, count = input._data.size, result._data.size
    if size <= correction * max(count, 1):  # (size / count - correction <= 0, no division)
        warn_at_caller(f"{name}(): degrees of freedom is <= 0. Correction should be strictly "
                       "less than the reduction factor (input numel divided by output numel).")


_MOMENTS = {"var": OPS["var"], "std": OPS["std"]}


def _bool_dim_positional_only(function):
    """PyTorch's ``var(x, True)`` is the unbiased flag, but ``var(x, dim=True)`` matches no
    overload (a TypeError): only a wrapper sees whether a bool came by keyword."""

    @functools.wraps(function)
    def checking(*args, **kwargs):
        if type(kwargs.get("dim")) is bool:
            raise TypeError(f"{function.__name__}() received an invalid combination of "
                            f"arguments: 'dim' must be an int or a sequence of ints, not bool")
        return function(*args, **kwargs)

    return checking


@tensor_method
@_bool_dim_positional_only
def var(input, dim=None, unbiased: bool = NOT_GIVEN, keepdim: bool = False, *,
        correction: float | None = None, out=None, axis=NOT_GIVEN, keepdims=NOT_GIVEN):
    """Variance over ``dim``, dividing by ``N - correction`` (Bessel's correction, 1, by default).

    Args:
        input: a floating tensor.
        dim: an int, a tuple or list, or None for all dims.
        unbiased: the older flag: True is ``correction=1``, False ``correction=0``.
        keepdim: keep reduced dims with size 1.
        correction: the number subtracted from the element count.
        out: a tensor to write the result into.

    Returns:
        The variances (nan where ``N - correction <= 0``).
    """
    if axis is not NOT_GIVEN or keepdims is not NOT_GIVEN:
        dim, keepdim = numpy_aliases("var", dim, keepdim, axis, keepdims)
    return write_same_kind("var", out, _moment("var", "var", input, dim, unbiased, keepdim,
                                               correction))


@tensor_method
@_bool_dim_positional_only
def std(input, dim=None, unbiased: bool = NOT_GIVEN, keepdim: bool = False, *,
        correction: float | None = None, out=None, axis=NOT_GIVEN, keepdims=NOT_GIVEN):
    """Standard deviation, the square root of ``var`` (same arguments); its gradient is 0
    where it is 0, as in PyTorch."""
    if axis is not NOT_GIVEN or keepdims is not NOT_GIVEN:
        dim, keepdim = numpy_aliases("std", dim, keepdim, axis, keepdims)
    return write_same_kind("std", out, _moment("std", "std", input, dim, unbiased, keepdim,
                                               correction))


@numpy_names
@_bool_dim_positional_only
def var_mean(input, dim=None, unbiased: bool = NOT_GIVEN, keepdim: bool = False, *,
             correction: float | None = None) -> tuple:
    """``(var(...), mean(...))`` over the same dims (arguments as ``var``)."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    dim = _tensor_dim(dim)
    return _one_node((_moment("var", "var", input, dim, unbiased, keepdim, correction,
                                "var_mean"), _welford_mean(input, mean(input, dim, keepdim), dim)),
                     "VarMeanBackward0", input)


@numpy_names
@_bool_dim_positional_only
def std_mean(input, dim=None, unbiased: bool = NOT_GIVEN, keepdim: bool = False, *,
             correction: float | None = None) -> tuple:
    """``(std(...), mean(...))`` over the same dims (arguments as ``var``)."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    dim = _tensor_dim(dim)
    return _one_node((_moment("std", "std", input, dim, unbiased, keepdim, correction,
                                "std_mean"), _welford_mean(input, mean(input, dim, keepdim), dim)),
                     "StdMeanBackward0", input)


def _one_node(results: tuple, name: str, input) -> tuple:
    """``results`` named as PyTorch's one node of both (``VarMeanBackward0``), over the input."""
    return tuple(name_node(r, name, (input,)) if type(r) is Tensor else r for r in results)


# PyTorch's CPU var_mean / std_mean take the mean from the variance's Welford pass in float64
# (mean += (x - mean) / n, element by element in memory order, one thread for fewer than
# 32768 elements per output), rounded once; a float32 mean of float32 sums differs by an ulp
# from it in ~3 of 4 random results, the exact float64 mean in ~1 of 9 (400 random shapes and
# dims, s22 BR3).
# The emulated pass is a loop over the reduced length: past 1,024 elements (and always past
# PyTorch's GRAIN_SIZE, 32,768, where its pass may be split over threads) the exact float64 mean
# stands for it (the loop's worst case ~3 ms here; up to 32,768 it was ~100 ms: a cliff for an
# ulp).
_WELFORD_MAX = 1024
_EPS64 = float(np.finfo(np.float64).eps)


def _welford_mean(input, result, dim):
    """``result`` (``mean(input, dim, keepdim)``) with PyTorch's var_mean values for float32:
    the exact float64 mean rounded once, and where the Welford pass could round otherwise
    (within its error bound of a float32 rounding midpoint) that pass itself, for those
    outputs alone (a Python loop over the reduced length)."""
    x = getattr(input, "_data", None)
    if (type(result) is not Tensor or type(input) is not Tensor or type(x) is not np.ndarray
            or x.dtype not in (np.float32, np.float64) or not x.size
            or type(result._data) is not np.ndarray
            or (x.dtype == np.float64 and not np.isinf(x).any())):
        return result
    dims = reduction_dims(dim, x.ndim)
    dims = tuple(range(x.ndim)) if dims is None else (dims,) if type(dims) is int else dims
    # The reduced dims last, in memory order (outermost stride first), flattened: [outputs, n].
    order = sorted(dims, key=lambda d: -abs(x.strides[d]))
    kept = [d for d in range(x.ndim) if d not in dims]
    outputs = math.prod(x.shape[d] for d in kept)
    rows = np.transpose(x, kept + order).astype(np.float64).reshape(outputs, -1)
    n = rows.shape[1]
    if x.dtype == np.float64:
        # An inf in a float64 row: Welford's running mean is that inf only where it is the
        # row's last element and the rest finite (inf - inf is nan after it); the mean of
        # [inf, 1.0] was inf for PyTorch's nan (RS1). Other rows keep ``result``.
        values = result._data.reshape(-1).copy()
        bad = np.isinf(rows).any(1)
        last = rows[bad, -1]
        rest = np.isfinite(rows[bad, :-1]).all(1)
        values[bad] = np.where(np.isinf(last) & rest, last, np.nan)
        result._data = values.reshape(result._data.shape)
        return result
    with np.errstate(over="ignore", invalid="ignore"):
        exact = np.add.reduce(rows, 1) / n
        values = exact.astype(np.float32)
        # (Welford's rounding errors, each scaled by k / n by the later steps, and the
        # pairwise sum's: under (n / 2 + log2 n + 2) eps max|x|)
        bound = (n + 8) * _EPS64 * np.abs(rows).max(1)
        unsure = np.nonzero((exact - bound).astype(np.float32)
                            != (exact + bound).astype(np.float32))[0]
        if unsure.size and n <= _WELFORD_MAX:
            values[unsure] = _welford(rows[unsure]).astype(np.float32)
    result._data = values.reshape(result._data.shape)  # (a fresh output, seen by no one yet;
    # mean's rule reads no value)
    return result


def _welford(rows: np.ndarray) -> np.ndarray:
    """The float64 Welford means of the rows of ``rows`` ([k, n]), in PyTorch's order."""
    if len(rows) > 8:  # (one NumPy step per element across the rows)
        running = np.zeros(len(rows))
        for i in range(rows.shape[1]):
            running += (rows[:, i] - running) / (i + 1)
        return running
    means = []
    for row in rows.tolist():  # (Python floats are IEEE doubles: ~0.1 us an element)
        running = 0.0
        for i, value in enumerate(row, 1):
            running += (value - running) / i
        means.append(running)
    return np.array(means)
