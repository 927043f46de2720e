"""Scans along a dim: cumsum, cumprod, cummax, cummin, logcumsumexp, and diff."""

from __future__ import annotations

import numpy as np

from ..autograd import is_grad_enabled
from ..node_names import rename_node
from ..ops import OPS
from ..promotion import refuse_complex
from ..tensor import Tensor, _leaf, apply, tensor_method
from ._common import (
    int_arg,
    numpy_names,
    out_dtype,
    return_type,
    tensor_arg,
    wrap_dim,
    write_out,
)
from ._pointwise import input_tensor
from .indexing import gather
from .linalg import write_cast
from .shape import cat

__all__ = ["cummax", "cummin", "cumprod", "cumsum", "diff", "logcumsumexp"]

_CUMSUM, _CUMPROD = OPS["cumsum"], OPS["cumprod"]

CummaxResult = return_type("cummax", "values indices")
CumminResult = return_type("cummin", "values indices")


def _scan(name: str, input: Tensor, dim, **attrs) -> Tensor:
    dim = wrap_dim(dim, input.ndim)
    if input.ndim == 0:  # a 0-d tensor scans as one element
        # (a copy, not a view: the scan's backward reads its input, and an in-place scan of a
        # 0-d tensor in the graph then changed that view: a false "modified by an inplace op")
        return apply(OPS[name], input.reshape(1).clone(), dim=0, **attrs).reshape(())
    return apply(OPS[name], input, dim=dim, **attrs)


def _no_bool_dtype(name: str, dtype) -> None:
    if dtype is not None and np.dtype(dtype) == np.bool_:  # (no boolean scan kernel)
        raise NotImplementedError(f"\"{name}_out_cpu\" not implemented for 'Bool'")


def _with_dtype(input: Tensor, dtype) -> Tensor:
    if dtype is None or np.dtype(dtype) == np.dtype(input.dtype):
        return input
    # (as reductions' dtype=; bfloat16's NumPy kind is "V", a floating dtype all the same)
    if input.requires_grad and np.dtype(dtype).kind not in "fc" and \
            not getattr(dtype, "is_floating_point", False):
        raise RuntimeError(f"dtype={dtype}: autograd does not support an integral result for an "
                           "input that requires grad")
    return input.to(dtype)


@tensor_method
@numpy_names
def cumsum(input, dim, *, dtype=None, out=None) -> Tensor:
    """Running sums along ``dim``: ``out[i] = input[0] + ... + input[i]``.

    Args:
        input: a tensor; integers and booleans give int64.
        dim: the dim to scan.
        dtype: cast the input to this dtype first.
        out: a tensor to write the result into.

    >>> import deltagrad as dg
    >>> dg.tensor([1, 2, 3]).cumsum(0)
    tensor([1, 3, 6])
    """
    if type(input) is Tensor and dtype is None and out is None and input._data.ndim:
        return apply(_CUMSUM, input, dim=wrap_dim(dim, input._data.ndim))  # the common call
    input = input_tensor(input, 'cumsum')
    wrap_dim(dim, input.ndim)  # (an IndexError before the dtype's, as PyTorch)
    dtype = out_dtype(out, dtype, "cumsum")  # (out='s dtype is the scan's)
    _no_bool_dtype("cumsum", dtype)
    input = _with_dtype(input, dtype)
    return write_out(out, _with_dtype(_scan("cumsum", input, dim), dtype))


@tensor_method
@numpy_names
def cumprod(input, dim, *, dtype=None, out=None) -> Tensor:
    """Running products along ``dim``; the gradient is exact where inputs are zero.
    Arguments as ``cumsum``."""
    if type(input) is Tensor and dtype is None and out is None and input._data.ndim:
        return apply(_CUMPROD, input, dim=wrap_dim(dim, input._data.ndim))  # the common call
    input = input_tensor(input, 'cumprod')
    wrap_dim(dim, input.ndim)  # (an IndexError before the dtype's, as PyTorch)
    dtype = out_dtype(out, dtype, "cumprod")  # (out='s dtype is the scan's)
    _no_bool_dtype("cumprod", dtype)
    input = _with_dtype(input, dtype)
    return write_out(out, _with_dtype(_scan("cumprod", input, dim), dtype))


@tensor_method
@numpy_names
def logcumsumexp(input, dim, *, out=None) -> Tensor:
    """``log(cumsum(exp(input), dim))``, computed stably (floating input only).

    Args:
        input: a floating tensor.
        dim: the dim to scan.
        out: a tensor to write the result into.
    """
    input = input_tensor(input, 'logcumsumexp')
    wrap_dim(dim, input.ndim)
    if not (input.is_floating_point() or input.is_complex()):  # (bfloat16's kind is "V")
        raise NotImplementedError(f"logcumsumexp: not implemented for {input.dtype} input")
    return write_out(out, _scan("logcumsumexp", input, dim))


def _running_extreme(input, dim, accumulate, result_type):
    input = input_tensor(input, result_type.__name__)
    dim = int_arg(dim, "dim", result_type.__name__)
    if input._data.size == 0 and input.ndim:  # (PyTorch returns empties, dim unchecked)
        return result_type(input.clone(), _leaf(np.zeros(input.shape, dtype=np.int64)))
    dim = wrap_dim(dim, input.ndim)
    if input.ndim == 0:
        if input._data.dtype.kind == "c" and input.requires_grad and is_grad_enabled():
            raise RuntimeError(f"{result_type.__name__[:6].lower()} does not support automatic "
                               "differentiation for outputs with complex dtype.")
        return result_type(input[()], _leaf(np.zeros((), dtype=np.int64)))
    data = input._data
    values = accumulate(data, axis=dim)
    # NOTE: a later element equal to the running extreme takes over its index (PyTorch's >= /
    # <= rule), and a NaN, once met, is the extreme; each later NaN takes over too.
    taken = (data == values) | np.isnan(data) if data.dtype.kind in "fc" else data == values
    positions = np.arange(data.shape[dim]).reshape((-1,) + (1,) * (data.ndim - dim - 1))
    indices = np.maximum.accumulate(np.where(taken, positions, 0), axis=dim).astype(
        np.int64, order="C")  # (C order: PyTorch's result is contiguous)
    name = "CummaxBackward0" if result_type is CummaxResult else "CumminBackward0"
    return result_type(rename_node(gather(input, dim, indices), name), _leaf(indices))


@tensor_method
@numpy_names
def cummax(input, dim) -> tuple:
    """Running maxima along ``dim`` and their indices, a ``(values, indices)`` named tuple; the
    gradient goes to each running maximum's index (the last of equal values)."""
    if getattr(input, "ndim", 1):  # (a 0-d complex input is PyTorch's copy, index 0: SL22)
        refuse_complex(input, '"cummax_cpu" not implemented for \'ComplexFloat\'')
    return _running_extreme(input, dim, np.maximum.accumulate, CummaxResult)


@tensor_method
@numpy_names
def cummin(input, dim) -> tuple:
    """Running minima along ``dim``; as ``cummax``."""
    if getattr(input, "ndim", 1):  # (a 0-d complex input is PyTorch's copy, index 0: SL22)
        refuse_complex(input, '"cummin_cpu" not implemented for \'ComplexFloat\'')
    return _running_extreme(input, dim, np.minimum.accumulate, CumminResult)


@tensor_method
@numpy_names
def diff(input, n: int = 1, dim: int = -1, prepend=None, append=None, *, out=None) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (``input[i+1] - input[i]``; ``!=`` for
    booleans), after joining ``prepend`` and ``append`` to the input along ``dim``.

    Args:
        input: a tensor with at least 1 dim.
        n: how many times to difference (each shortens ``dim`` by one).
        dim: the dim.
        prepend, append: tensors with the input's number of dims (sizes match except along
            ``dim``), or None.
        out: a tensor to write the result into (cast into the same or a higher dtype
            category).
    """
    if out is not None:
            return write_cast("diff", out, diff(input, n, dim, prepend, append))
    input = input_tensor(input, 'diff')
    n, dim = int_arg(n, "n", "diff"), int_arg(dim, "dim", "diff")  # (a bool is a TypeError)
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    dim = wrap_dim(dim, input.ndim)
    parts = []
    for extra in (prepend, input, append):
        if extra is None:
            continue
        extra = tensor_arg(extra, "prepend" if extra is prepend else "append", "diff")
        if extra.ndim != input.ndim:
            raise RuntimeError("diff expects prepend or append to be the same dimension as input")
        parts.append(extra)
    x = cat(parts, dim) if len(parts) > 1 else input
    if n == 0:  # (PyTorch checks prepend / append, then returns a copy of the input alone)
        return input.clone()
    for _ in range(n):
        size = x.shape[dim]
        if size == 0:
            break
        head = x.narrow(dim, 0, size - 1)
        tail = x.narrow(dim, 1, size - 1)
        x = _leaf(tail._data != head._data) if x._data.dtype == np.bool_ else tail - head
    return x
