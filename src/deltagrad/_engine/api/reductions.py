"""Reductions over dims (sum, mean, var, max, ...) and softmax / log_softmax along a dim."""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from ..ops import OPS
from ..tensor import Tensor, _dims, _leaf, _lift, apply, tensor_method
from .indexing import gather
from .pointwise import maximum, minimum

__all__ = ["all", "amax", "amin", "any", "argmax", "argmin", "log_softmax", "logsumexp", "max",
           "mean", "min", "norm", "softmax", "std", "sum", "var"]

MaxResult = namedtuple("MaxResult", ["values", "indices"])


def _t(x) -> Tensor:
    return x if type(x) is Tensor else _lift(x, None)


@tensor_method
def sum(input, dim=None, keepdim: bool = False, dtype=None):  # noqa: A001 - PyTorch's name
    input = _t(input)
    out = apply(OPS["sum"], input, dim=_dims(dim, input.ndim), keepdim=keepdim)
    return out if dtype is None else out.type(dtype)


@tensor_method
def mean(input, dim=None, keepdim: bool = False):
    input = _t(input)
    return apply(OPS["mean"], input, dim=_dims(dim, input.ndim), keepdim=keepdim)


@tensor_method
def var(input, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: int | None = None):
    """Variance with Bessel's correction by default (``correction=1``), as in PyTorch."""
    input = _t(input)
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    dims = _dims(dim, input.ndim)
    n = input._data.size if dims is None else math.prod(input.shape[d] for d in dims)
    centred = input - input.mean(dims, keepdim=True)
    denominator = n - correction if n > correction else 0  # (max here is the reduction)
    return (centred * centred).sum(dims, keepdim=keepdim) / denominator


@tensor_method
def std(input, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: int | None = None):
    return var(input, dim, unbiased, keepdim, correction=correction).sqrt()


@tensor_method
def amax(input, dim=(), keepdim: bool = False):
    input = _t(input)
    return apply(OPS["amax"], input, dim=_dims(dim, input.ndim), keepdim=keepdim)


@tensor_method
def amin(input, dim=(), keepdim: bool = False):
    input = _t(input)
    return apply(OPS["amin"], input, dim=_dims(dim, input.ndim), keepdim=keepdim)


def _arg_extreme(function, data, dim, keepdim):
    if dim is None:
        return np.asarray(function(data))
    return function(data, axis=dim, keepdims=keepdim)


def _extreme_along(x, dim, keepdim, arg_function):
    dim = dim % (x.ndim or 1)
    indices = arg_function(x._data, axis=dim, keepdims=True)
    values = gather(x, dim, indices)
    if not keepdim:
        values = values.squeeze(dim)
        indices = np.squeeze(indices, axis=dim)
    return MaxResult(values, _leaf(indices))


@tensor_method
def max(input, dim=None, keepdim: bool = False):  # noqa: A001 - PyTorch's name
    """``max()``: the largest value (ties share the gradient). ``max(dim)``: a
    ``(values, indices)`` pair; the gradient goes to the returned (first) index."""
    input = _t(input)
    if isinstance(dim, Tensor):
        return maximum(input, dim)
    if dim is None:
        return amax(input)
    return _extreme_along(input, dim, keepdim, np.argmax)


@tensor_method
def min(input, dim=None, keepdim: bool = False):  # noqa: A001 - PyTorch's name
    """As ``max``, for the smallest value."""
    input = _t(input)
    if isinstance(dim, Tensor):
        return minimum(input, dim)
    if dim is None:
        return amin(input)
    return _extreme_along(input, dim, keepdim, np.argmin)


@tensor_method
def argmax(input, dim=None, keepdim: bool = False):
    return _leaf(_arg_extreme(np.argmax, _t(input)._data, dim, keepdim))


@tensor_method
def argmin(input, dim=None, keepdim: bool = False):
    return _leaf(_arg_extreme(np.argmin, _t(input)._data, dim, keepdim))


@tensor_method
def logsumexp(input, dim, keepdim: bool = False):
    input = _t(input)
    return apply(OPS["logsumexp"], input, dim=_dims(dim, input.ndim), keepdim=keepdim)


@tensor_method
def any(input, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    return _leaf(np.any(_t(input)._data, axis=dim, keepdims=keepdim))


@tensor_method
def all(input, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    return _leaf(np.all(_t(input)._data, axis=dim, keepdims=keepdim))


@tensor_method
def norm(input, p=2):
    """The vector p-norm over all elements (p = 1, 2 or inf)."""
    if p == 2:
        return (input * input).sum().sqrt()
    if p == 1:
        return input.abs().sum()
    if p == float("inf"):
        return input.abs().amax()
    return (input.abs() ** p).sum() ** (1.0 / p)


@tensor_method
def softmax(input, dim):
    return apply(OPS["softmax"], _t(input), dim=dim)


@tensor_method
def log_softmax(input, dim):
    return apply(OPS["log_softmax"], _t(input), dim=dim)
