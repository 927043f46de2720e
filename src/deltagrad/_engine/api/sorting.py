"""Sorting and selection: sort, argsort, topk, kthvalue, median, mode, quantile, unique,
searchsorted, bucketize, histc, bincount.

Values are selected from the input with ``gather`` at the computed indices, so gradients flow
to the selected elements, as in PyTorch.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..forward_errors import scalar_word
from ..node_names import name_node, rename_node
from ..ops import OPS
from ..promotion import refuse_complex
from ..tensor import Tensor, _leaf, apply, tensor_method
from ._common import (
    NOT_GIVEN,
    bool_arg,
    int_arg,
    numpy_names,
    return_type,
    tensor_arg,
    wrap_dim,
    write_out,
)
from ._pointwise import input_tensor, not_a_tensor
from .indexing import gather
from .linalg import write_cast
from .pointwise import where
from .pointwise_math import lerp
from .quickselect import tied_indices
from .recorded_steps import bincount_sums, unique_values
from .shape import stack
from .sort_orders import first_of_order as _first_of_order
from .sort_orders import gathered as _gathered
from .sort_orders import order as _order
from .sort_orders import stable_keyword_only
from .sort_ties import unstable_order, unstable_values  # (stable=False: s28 DX1)
from .topk_order import pytorch_order
from .unique_kernels import unique_dim, unique_flat

__all__ = ["argsort", "bincount", "bucketize", "histc", "kthvalue", "median", "mode", "msort",
           "nanmedian", "nanquantile", "quantile", "searchsorted", "sort", "topk", "unique",
           "unique_consecutive"]

SortResult = return_type("sort", "values indices")
TopkResult = return_type("topk", "values indices")
KthvalueResult = return_type("kthvalue", "values indices")
MedianResult = return_type("median", "values indices")
NanmedianResult = return_type("nanmedian", "values indices")
ModeResult = return_type("mode", "values indices")

_INT64 = np.int64


def _take(input: Tensor, dim: int, indices: np.ndarray) -> Tensor:
    return gather(input, dim, indices) if input.ndim else input[()]


def _as_scan(input: Tensor, dim) -> tuple:
    """(input viewed with at least one dim, the wrapped dim, whether it was 0-d)."""
    dim = wrap_dim(dim, input.ndim)
    return (input.reshape(1), 0, True) if input.ndim == 0 else (input, dim, False)


@tensor_method
@numpy_names
@stable_keyword_only
def sort(input, dim: int = -1, descending: bool = False, *, stable: bool | None = False,
         out=None) -> tuple:
    """Sort along ``dim``: a ``(values, indices)`` named tuple.

    Equal values keep their order with ``stable=True``; otherwise they come in PyTorch's CPU
    order (std::sort's, sort_ties.py). NaN sorts as the largest value.

    Args:
        input: a tensor.
        dim: the dim to sort along.
        descending: largest first.
        stable: keep equal values in their order.
        out: a ``(values, indices)`` pair to write the result into.

    >>> import deltagrad as dg
    >>> dg.sort(dg.tensor([3, 1, 2])).indices
    tensor([1, 2, 0])
    """
    refuse_complex(input, ' Sort does not support complex dtypes on CPU', RuntimeError)
    input = input_tensor(input, 'sort')
    if descending is None:  # (PyTorch's parser: TypeError; stable=None is fine; s28 BR17)
        raise TypeError("sort(): argument 'descending' must be bool, not NoneType")
    x, dim, scalar = _as_scan(input, dim)
    indices, ranked = _order(x._data, dim, descending), None
    if not stable:  # (the tie check reads the values to gather: s28 SP45)
        indices, ranked = unstable_values(x._data, dim, descending, indices)
    values = _gathered(x, dim, indices, None if scalar else "SortBackward0", ranked)
    if scalar:
        values, indices = values.reshape(()), indices.reshape(())
        rename_node(values, "SortBackward0")  # (one node: PyTorch's name)
    return write_out(out, SortResult(values, _leaf(indices)))


@tensor_method
@numpy_names
@stable_keyword_only
def argsort(input, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim`` (``sort(...).indices``)."""
    # The indices alone: sort's gather of the values (a graph node where input requires grad)
    # was two thirds of the call; OpInfo's samples fwd 2.29 -> 0.99 x PyTorch's time
    # (opinfo_overhead.py --rounds 11, two runs each of the code before and after,
    # alternated; s16 SP).
    refuse_complex(input, ' Sort does not support complex dtypes on CPU', RuntimeError)
    input = input_tensor(input, 'sort')
    if descending is None or stable is None:  # (PyTorch's parser: TypeError; s28 BR17)
        raise TypeError("argsort(): arguments 'descending' and 'stable' must be bool, not "
                        "NoneType")
    x, dim, scalar = _as_scan(input, dim)
    indices = _order(x._data, dim, descending)
    indices = indices if stable else unstable_order(x._data, dim, descending, indices)
    return _leaf(indices.reshape(()) if scalar else indices)


@tensor_method
def msort(input, *, out=None) -> Tensor:
    """``sort(input, dim=0).values``."""
    return write_cast("msort", out, sort(input, 0).values, "exact")


@tensor_method
@numpy_names
def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *,  # noqa: A002
         out=None) -> tuple:
    """The ``k`` largest (or smallest) elements along ``dim``: ``(values, indices)``.

    Among equal values, and in the order of ``sorted=False``, the indices are PyTorch's CPU
    kernel's (its selection algorithm rerun on such rows: topk_order.py; past 65,536 elements
    of such rows the sort's, earlier indices first and sorted, are kept).

    Args:
        input: a tensor.
        k: how many, ``0 <= k <= input.size(dim)``.
        dim: the dim.
        largest: the largest (else the smallest).
        sorted: sorted by value (else in PyTorch's selection order).
        out: a ``(values, indices)`` pair to write the result into.
    """
    refuse_complex(input, ' topk does not support complex dtypes on CPU', RuntimeError)
    input = input_tensor(input, 'topk')
    if largest is None or sorted is None:  # (PyTorch's parser: TypeError; s28 BR17)
        raise TypeError("topk(): arguments 'largest' and 'sorted' must be bool, not NoneType")
    k = int_arg(k, "k", "topk", True, symbolic=True)
    if input._data.dtype.kind == "b":
        raise RuntimeError("topk does not support bool dtypes on CPU")
    x, dim, scalar = _as_scan(input, dim)
    if not 0 <= k <= x._data.shape[dim]:
        raise RuntimeError(f"selected index k out of range (topk: k={k}, dim {dim} of size "
                           f"{x.shape[dim]})")  # (PyTorch's words first)
    if scalar:
        k = 1  # (PyTorch: a 0-d input's topk is the element itself, for k = 0 too)
    indices = _first_of_order(x._data, dim, k, largest)
    values = _gathered(x, dim, indices, None if scalar else "TopkBackward0")
    if not scalar:  # (PyTorch's choice among ties and unsorted order: topk_order.py; s28 BR17)
        chosen = pytorch_order(x._data, dim, k, largest, sorted, indices, values._data)
        if chosen is not indices:
            indices, values = chosen, _gathered(x, dim, chosen, "TopkBackward0")
    if scalar:
        values, indices = values.reshape(()), indices.reshape(())
        rename_node(values, "TopkBackward0")  # (one node: PyTorch's name)
    return write_out(out, TopkResult(values, _leaf(indices)))


def _select(input, position, dim, keepdim, result_type, name, ties=None):
    """The element at sorted ``position`` (an array broadcast over the other dims) along dim;
    ``ties(data, dim, indices)`` picks among equal values (kthvalue: PyTorch's quickselect)."""
    bool_arg(keepdim, "keepdim", name)  # (keepdim=1 is PyTorch's TypeError)
    x, dim, scalar = _as_scan(input, dim)
    if x.shape[dim] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {dim} to have non-zero size.")
    order = _order(x._data, dim, False)
    # (C order: PyTorch's median / kthvalue / mode results are contiguous)
    indices = np.take_along_axis(order, position, axis=dim).astype(_INT64, order="C")
    if ties is not None:
        indices = ties(x._data, dim, indices)
    values = gather(x, dim, indices)
    if not keepdim or scalar:
        values, indices = values.squeeze(dim), np.squeeze(indices, axis=dim)
    if scalar:
        values, indices = values.reshape(()), indices.reshape(())
    if values._op is not None:  # (PyTorch's one node: print(x.median(1)) shows it)
        name_node(values, _SELECT_NODES[name])
    return result_type(values, _leaf(indices))


def _keep_shape(x: Tensor, dim: int) -> tuple:
    shape = list(x.shape) or [1]
    shape[dim] = 1
    return tuple(shape)


@tensor_method
@numpy_names
def kthvalue(input, k: int, dim: int = -1, keepdim: bool = False, *, out=None) -> tuple:
    """The ``k``-th smallest element along ``dim`` (1-based): ``(values, indices)``.

    Among equal values the index is PyTorch's (its quickselect's, see quickselect.py).
    """
    if getattr(input, "ndim", 1) or getattr(input, "requires_grad", False):  # (0-d: k=1 value)
        refuse_complex(input, '"kthvalue_cpu" not implemented for \'ComplexFloat\'')
    input, k = input_tensor(input, 'kthvalue'), int_arg(k, "k", "kthvalue", symbolic=True)
    dim_ = wrap_dim(dim, input.ndim)
    size = input.shape[dim_] if input.ndim else 1
    if not size:  # (PyTorch's order: the dim, then this, then the dtype)
        raise IndexError(f"kthvalue(): Expected reduction dim {dim_} to have non-zero size.")
    if input._data.dtype == np.bool_:
        raise NotImplementedError("\"kthvalue_cpu\" not implemented for 'Bool'")
    if not 1 <= k <= size:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {dim_} "
                           f"(k={k})")  # (PyTorch's words first)
    position = np.full(_keep_shape(input, dim_), k - 1)
    if out is not None and any(isinstance(o, Tensor) and np.shares_memory(o._data, input._data)
                               for o in out):
        raise RuntimeError("unsupported operation: some elements of the input tensor and the "
                           "written-to tensor refer to a single memory location. Please clone() "
                           "the tensor before performing the operation.")
    return write_out(out, _select(input, position, dim, keepdim, KthvalueResult, "kthvalue",
                                  lambda data, d, chosen: tied_indices(data, d, chosen, k - 1)))


def _nan_count(x: Tensor, dim: int) -> np.ndarray:
    data = x._data
    if data.dtype.kind not in "fc" and data.dtype.name != "bfloat16":  # (bfloat16 reads "V")
        return np.zeros(_keep_shape(x, dim), dtype=_INT64)
    return np.sum(np.isnan(data.reshape(data.shape or (1,))), axis=dim, keepdims=True)


def _refuse_bool(input: Tensor, name: str) -> None:
    if input._data.dtype == np.bool_:
        raise NotImplementedError(f"{name}: not implemented for bool input")


def _global_median(input: Tensor, ignore_nan: bool) -> Tensor:
    data = input._data.reshape(-1)
    if data.size == 0:
        if input._rg:  # NaN, still attached to the graph as PyTorch's result is
            return input.sum() * np.nan
        if data.dtype.kind in "iu":
            # NOTE: PyTorch's integer median of nothing keeps the dtype: its NaN cast on x86
            # (the lowest value for 32 and 64 bits, 0 for narrower types), never a float NaN.
            value = np.iinfo(data.dtype).min if data.dtype.itemsize >= 4 else 0
            return _leaf(np.array(value, dtype=data.dtype))
        if data.dtype == np.bool_:  # PyTorch's NaN cast to bool (its bool kernel is not run)
            return _leaf(np.array(True))
        return _leaf(np.array(np.nan, dtype=data.dtype))
    nan = np.isnan(data) if data.dtype.kind in "fc" else np.zeros(data.shape, dtype=bool)
    count = data.size - int(nan.sum()) if ignore_nan else data.size
    if nan.any() and (not ignore_nan or count == 0):
        chosen = nan  # the median of values with a NaN is NaN
    else:
        value = np.sort(data[~nan])[(count - 1) // 2]
        chosen = data == value
    if input.dtype.kind != "f" or not input._rg:  # (_rg: a forward-AD dual's too; s31 BR26)
        return _leaf(np.asarray(data[np.argmax(chosen)]))
    # NOTE: the gradient is shared evenly by every element equal to the median, as PyTorch's.
    # (over the chosen elements only: a -inf filler tied with a -inf median, halving its share)
    return apply(OPS["amax"], input.reshape(-1)[_leaf(np.flatnonzero(chosen))], share_nan=True)


@tensor_method
@numpy_names
def median(input, dim=NOT_GIVEN, keepdim: bool = NOT_GIVEN, *, out=None):
    """The lower median: ``median(input)`` of all elements (NaN if any is NaN; tied elements
    share the gradient), or ``median(input, dim)``, a ``(values, indices)`` named tuple.

    Args:
        input: a tensor.
        dim: the dim; left out for all elements.
        keepdim: keep the reduced dim with size 1.
        out: where to write the result.
    """
    return _median("median", input, dim, keepdim, out, ignore_nan=False)


@tensor_method
@numpy_names
def nanmedian(input, dim=NOT_GIVEN, keepdim: bool = NOT_GIVEN, *, out=None):
    """``median`` ignoring NaNs (NaN only where every value is NaN); arguments as ``median``."""
    return _median("nanmedian", input, dim, keepdim, out, ignore_nan=True)


def _median(name: str, input, dim, keepdim, out, *, ignore_nan: bool):
    """``median`` / ``nanmedian`` (``name``): PyTorch's argument errors, then the median of all
    elements (``dim`` not given) or along ``dim``."""
    refuse_complex(input, f'"{name}_cpu" not implemented for \'ComplexFloat\'')
    input = input_tensor(input, name)
    if dim is None:  # (given: PyTorch's TypeError, not all elements; s26 BR14)
        raise TypeError(f"{name}(): argument 'dim' (position 2) must be int, not NoneType")
    if dim is NOT_GIVEN:
        if keepdim is not NOT_GIVEN:  # (nor keepdim, even False: PyTorch's TypeError, s27 BR15)
            raise TypeError(f"{name}() missing 1 required positional argument: \"dim\" "
                            "(keepdim needs a dim)")
        if out is not None:  # (PyTorch's median(input) of all elements has no out=)
            raise TypeError(f"{name}(): out= needs a dim (PyTorch's {name}(input) takes none)")
        if input._data.size:  # (an empty bool input is PyTorch's True)
            _refuse_bool(input, name)
        return rename_node(_global_median(input, ignore_nan), f"{name.capitalize()}Backward0")
    keepdim = False if keepdim is NOT_GIVEN else keepdim
    dim_ = wrap_dim(dim, input.ndim)
    if input.ndim and input.shape[dim_] == 0:  # (before the dtype check, as PyTorch)
        raise IndexError(f"{name}(): Expected reduction dim {dim_} to have non-zero size.")
    _refuse_bool(input, name)
    n = input.shape[dim_] if input.ndim else 1
    nans = _nan_count(input, dim_)
    if ignore_nan:
        count = n - nans
        position = np.where(count > 0, (count - 1) // 2, 0)
        return write_out(out, _select(input, position, dim, keepdim, NanmedianResult, name))
    # With a NaN the median is NaN, at the first NaN's index (NaNs sort last, stably).
    position = np.where(nans > 0, n - nans, (n - 1) // 2)
    return write_out(out, _select(input, position, dim, keepdim, MedianResult, name))


@tensor_method
@numpy_names
def mode(input, dim: int = -1, keepdim: bool = False, *, out=None) -> tuple:
    """The most frequent value along ``dim`` (the smallest among equally frequent ones) and the
    index of its last occurrence: ``(values, indices)``; the gradient goes to that index."""
    refuse_complex(input, '"mode_cpu" not implemented for \'ComplexFloat\'')
    bool_arg(keepdim, "keepdim", "mode")
    input = input_tensor(input, 'mode')
    x, dim, scalar = _as_scan(input, dim)
    n = x.shape[dim]
    if n == 0:
        raise IndexError(f"mode(): Expected reduction dim {dim} to have non-zero size.")
    order = _order(x._data, dim, False)
    ordered = np.take_along_axis(x._data, order, axis=dim)
    positions = np.arange(n).reshape((-1,) + (1,) * (x.ndim - dim - 1))
    # The run of equal sorted values each position is in: where it started, and so how many
    # equal values end at this position. A run's last position counts the whole run.
    starts = np.ones(ordered.shape, dtype=bool)
    inner = (slice(None),) * dim
    starts[inner + (slice(1, None),)] = (ordered[inner + (slice(1, None),)]
                                         != ordered[inner + (slice(0, -1),)])
    run_start = np.maximum.accumulate(np.where(starts, positions, 0), axis=dim)
    counts = positions - run_start + 1
    best = np.argmax(counts == np.max(counts, axis=dim, keepdims=True), axis=dim, keepdims=True)
    # Stable order puts the last occurrence of a value at the end of its run.
    indices = np.take_along_axis(order, best, axis=dim).astype(_INT64)
    values = gather(x, dim, indices)
    if not keepdim or scalar:
        values, indices = values.squeeze(dim), np.squeeze(indices, axis=dim)
    if scalar:
        values, indices = values.reshape(()), indices.reshape(())
    if values._op is not None:
        name_node(values, "ModeBackward0")  # (PyTorch's one node)
    return write_out(out, ModeResult(values, _leaf(indices)))


# PyTorch's node of each _select caller's values
_SELECT_NODES = {"kthvalue": "KthvalueBackward0", "median": "MedianBackward1",
                 "nanmedian": "NanmedianBackward1"}


# --------------------------------------------------------------------------------------------
# Quantiles.

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan, name):
    bool_arg(keepdim, "keepdim", name)
    input = input_tensor(input, name)
    if isinstance(q, Tensor) and isinstance(dim, Tensor) or isinstance(dim, float):
        # (PyTorch's parser: no overload takes these, a TypeError before the dtype checks)
        raise TypeError(f"{name}() received an invalid combination of arguments: q "
                        f"{type(q).__name__}, dim {type(dim).__name__}")
    if input._data.dtype not in (np.float32, np.float64):  # (float16 too, as PyTorch)
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest, but got {interpolation}")
    if isinstance(q, Tensor):
        if q.ndim > 1:
            raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
        if np.dtype(q.dtype) != np.dtype(input.dtype):
            raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
        qs, q_shape = q._data.reshape(-1).tolist(), q.shape
    elif isinstance(q, numbers.Real):
        qs, q_shape = [float(q)], ()
    else:
        qs = [float(v) for v in q]
        q_shape = (len(qs),)
    for value in qs:
        if not 0 <= value <= 1:
            raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {value}")
    if input._data.size == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    if dim is None:
        x, dim_ = input.reshape(-1), 0
    else:
        dim_ = wrap_dim(dim, input.ndim)
        x = input.reshape(1) if input.ndim == 0 else input
    ordered = sort(x, dim_).values
    n = x.shape[dim_]
    nans = _nan_count(x, dim_)
    count = n - nans if ignore_nan else np.where(nans > 0, 0, n)
    results = []
    # The linear weight's gradient reaches a q that requires grad, as PyTorch's does
    q_grad = isinstance(q, Tensor) and q._rg and interpolation == "linear"
    for k, value in enumerate(qs):
        # Rank among the sorted values. A slice with a NaN (quantile) takes the last position
        # and an all-NaN one (nanquantile) the first: both hold a NaN, as PyTorch picks them.
        # (in the input's dtype, as PyTorch's q tensor times n - 1: float32's 0.1 * 5 is 0.5,
        # which "nearest" rounds to even, where float64's 0.50000000745 went up)
        rank = input._data.dtype.type(value) * np.asarray(np.maximum(count, 1) - 1).astype(
            input._data.dtype)
        if interpolation == "lower":
            rank = np.floor(rank)
        elif interpolation == "higher":
            rank = np.ceil(rank)
        elif interpolation == "nearest":
            rank = np.round(rank)
        rank = np.where(count > 0, rank, 0 if ignore_nan else n - 1)
        low = np.floor(rank).astype(_INT64)
        high = np.ceil(rank).astype(_INT64)
        weight = 0.5 if interpolation == "midpoint" else rank - low
        low_v, high_v = gather(ordered, dim_, low), gather(ordered, dim_, high)
        weight = _leaf(np.asarray(np.where(high > low, weight, 0.0), dtype=input._data.dtype))
        if q_grad:  # (the same values, now a function of q: q (count - 1) - low)
            dtype = input._data.dtype
            scaled = q.reshape(-1)[k] * _leaf(np.asarray(np.maximum(count, 1) - 1, dtype=dtype))
            weight = where(_leaf(np.asarray(high > low)), scaled - _leaf(low.astype(dtype)),
                           weight)
        # PyTorch's lerp itself (from the nearer end: NaN for inf - inf; float32's fused
        # multiply-add: 1 in 20 results an ulp off when written out as low + w * step)
        results.append(lerp(low_v, high_v, weight))
    out = stack(results, 0) if q_shape else results[0]
    first = 1 if q_shape else 0
    if dim is None:
        out = out.squeeze(first)
        if keepdim:
            out = out.reshape(tuple(q_shape) + (1,) * input.ndim)
    elif not keepdim or input.ndim == 0:
        out = out.squeeze(first + dim_)
    return out


@tensor_method
@numpy_names
def quantile(input, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear",
             out=None) -> Tensor:
    """The ``q``-th quantiles along ``dim`` (of all elements if None); NaN where a NaN is
    among the values.

    Args:
        input: a float tensor.
        q: a number in [0, 1], or a 1-D tensor of them (its dim comes first in the result).
        dim: the dim, or None for all elements.
        keepdim: keep the reduced dim(s) with size 1.
        interpolation: between the two nearest values: ``linear``, ``lower``, ``higher``,
            ``midpoint`` or ``nearest``.
        out: a tensor to write the result into.
    """
    return write_out(out, _quantile(input, q, dim, keepdim, interpolation, False, "quantile"))


@tensor_method
@numpy_names
def nanquantile(input, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear",
                out=None) -> Tensor:
    """``quantile`` ignoring NaNs (NaN only where every value is NaN)."""
    return write_out(out, _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile"))


# --------------------------------------------------------------------------------------------
# unique.


def _flag(value, argument: str, where: str) -> bool:
    """A bool flag of unique / unique_consecutive: PyTorch's Python wrappers test ``if flag``
    first (a tensor of several elements: RuntimeError), then its parser wants a bool."""
    if isinstance(value, Tensor) and value.numel() != 1:
        raise RuntimeError(f"Boolean value of Tensor with "
                           f"{'no values' if value.numel() == 0 else 'more than one value'} is "
                           f"ambiguous ({where}'s {argument})")
    return bool_arg(value, argument, where)


def _unique(input, return_inverse, return_counts, dim, consecutive, parts=False):
    input = input_tensor(input, "unique_consecutive" if consecutive else "unique")
    data = input._data
    if dim is None:
        values, inverse, counts = unique_flat(data, return_inverse, return_counts, consecutive)
    else:
        if data.ndim == 0 and not isinstance(dim, bool) and isinstance(dim, numbers.Integral):
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        dim = wrap_dim(dim, data.ndim)
        values, inverse, counts = unique_dim(data, dim, consecutive)
    result = [unique_values(np.ascontiguousarray(values), input, dim, consecutive)]
    result.append(_leaf(inverse.astype(_INT64)) if return_inverse else None)
    result.append(_leaf(counts.astype(_INT64)) if return_counts else None)
    if parts:  # (values, inverse or None, counts or None)
        return tuple(result)
    result = [part for part in result if part is not None]
    return result[0] if len(result) == 1 else tuple(result)


@tensor_method
def unique(input, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, dim=None):
    """The distinct elements (or slices along ``dim``), in ascending order.

    Not differentiable: its values require grad as input does, a backward raises (PyTorch).

    Args:
        input: a tensor.
        sorted: accepted for PyTorch's signature (the result is always sorted, as PyTorch's
            CPU unique is).
        return_inverse: also return, for each input element (slice), its index in the result.
        return_counts: also return how often each distinct element (slice) occurs.
        dim: the dim whose slices are compared, or None to flatten.

    Returns:
        The values, or a tuple ``(values[, inverse][, counts])``.
    """
    # (PyTorch's wrapper tests `if return_inverse or return_counts` first; `sorted` goes
    # straight to the parser)
    refuse_complex(input, '"unique" not implemented for \'ComplexFloat\'')
    _flag(return_inverse, "return_inverse", "unique")
    _flag(return_counts, "return_counts", "unique")
    bool_arg(sorted, "sorted", "unique")
    return _unique(input, return_inverse, return_counts, dim, consecutive=False)


@tensor_method(name="unique_consecutive")
def _unique_consecutive_method(input, return_inverse: bool = False, return_counts: bool = False,
                               dim=None):
    """Like ``unique`` but only collapsing runs of equal consecutive elements (slices)."""
    _flag(return_inverse, "return_inverse", "unique_consecutive")
    _flag(return_counts, "return_counts", "unique_consecutive")
    return _unique(input, return_inverse, return_counts, dim, consecutive=True)


def unique_consecutive(input, *args, **kwargs):
    """Like ``unique`` but only collapsing runs of equal consecutive elements (slices):
    ``unique_consecutive(input, return_inverse=False, return_counts=False, dim=None)``.

    NOTE: PyTorch's ``torch.unique_consecutive`` (not the Tensor method) picks the shape of
    its result from its positional flags swapped: a positional ``return_inverse`` decides
    whether counts are returned and a positional ``return_counts`` whether the inverse is,
    while the values are computed from the flags as given; a part returned but not asked for
    is an empty int64 tensor. So ``unique_consecutive(x, True)`` is ``(values, empty)``.
    Reproduced here, as a program ported from PyTorch sees it.
    """
    names = ("return_inverse", "return_counts", "dim")
    if len(args) > len(names):
        raise TypeError(f"unique_consecutive() takes from 1 to 4 positional arguments but "
                        f"{len(args) + 1} were given")
    flags = dict(zip(names, args))
    for name, value in kwargs.items():
        if name not in names:
            raise TypeError(f"unique_consecutive() got an unexpected keyword argument "
                            f"'{name}'")
        if name in flags:
            raise TypeError(f"unique_consecutive() got multiple values for argument '{name}'")
        flags[name] = value
    return_inverse = flags.get("return_inverse", False)
    return_counts = flags.get("return_counts", False)
    _flag(return_inverse, "return_inverse", "unique_consecutive")
    _flag(return_counts, "return_counts", "unique_consecutive")
    # The flags that shape the result, each read from the other's position when positional.
    shape_inverse = kwargs.get("return_inverse", args[1] if len(args) > 1 else False)
    shape_counts = kwargs.get("return_counts", args[0] if args else False)
    want_inverse = bool(shape_inverse) and bool(return_inverse)
    want_counts = bool(shape_counts) and bool(return_counts)
    values, inverse, counts = _unique(input, want_inverse, want_counts, flags.get("dim"),
                                      consecutive=True, parts=True)
    parts = [values]
    if shape_inverse:
        parts.append(inverse if want_inverse else _leaf(np.zeros(0, dtype=_INT64)))
    if shape_counts:
        parts.append(counts if want_counts else _leaf(np.zeros(0, dtype=_INT64)))
    return parts[0] if len(parts) == 1 else tuple(parts)


# --------------------------------------------------------------------------------------------
# Searching sorted sequences and counting.


def _bisect_with_nan(boundaries: np.ndarray, values: np.ndarray, side: str) -> np.ndarray:
    """PyTorch's binary search where the sorted sequence holds NaN (torch.sort puts it last).

    Its loop steps right whenever ``not (boundary >= value)`` (``>`` for side="right"), so a
    NaN boundary counts as smaller than every value: [1, 2, nan] places 5 at 3 where NumPy's
    searchsorted (NaN largest) says 2. Vectorised over all values, log2(n) steps."""
    n = boundaries.shape[-1]
    if values.size == 0 or n == 0:
        return np.zeros(values.shape, dtype=_INT64)
    rows = boundaries.reshape(-1, n)
    queries = values.reshape(rows.shape[0], -1)
    start = np.zeros(queries.shape, dtype=_INT64)
    end = np.full(queries.shape, n, dtype=_INT64)
    with np.errstate(invalid="ignore"):
        while True:
            active = start < end
            if not active.any():
                break
            mid = start + (end - start) // 2
            at_mid = np.take_along_axis(rows, np.minimum(mid, n - 1), axis=1)
            right = ~(at_mid > queries) if side == "right" else ~(at_mid >= queries)
            start = np.where(active & right, mid + 1, start)
            end = np.where(active & ~right, mid, end)
    return start.reshape(values.shape)


def _search(boundaries: np.ndarray, values: np.ndarray, side: str) -> np.ndarray:
    # A sorted sequence holds its NaNs last: its last column says (rows, not elements, read).
    if boundaries.ndim == 1:  # (no np.isnan / np.searchsorted dispatch: bucketize 4.9 -> 2.5 us)
        if boundaries.dtype.kind == "f" and boundaries.shape[0] and math.isnan(boundaries[-1]):
            return _bisect_with_nan(boundaries, values, side)
        return boundaries.searchsorted(values, side=side)
    if boundaries.dtype.kind == "f" and boundaries.ndim and boundaries.shape[-1] and (
            np.isnan(boundaries[..., -1]).any()):
        return _bisect_with_nan(boundaries, values, side)
    if boundaries.ndim == 0:
        return np.searchsorted(boundaries, values, side=side)
    if values.size == 0 or boundaries.shape[-1] == 0:  # (no rows, or empty ones: each value
        return np.zeros(values.shape, dtype=_INT64)  # goes first; reshape cannot say the length)
    rows = boundaries.reshape(-1, boundaries.shape[-1])
    queries = values.reshape(rows.shape[0], -1)
    out = np.empty(queries.shape, dtype=_INT64)
    for i in range(rows.shape[0]):  # one vectorised search per row
        out[i] = np.searchsorted(rows[i], queries[i], side=side)
    return out.reshape(values.shape)


def searchsorted(sorted_sequence, input, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, sorter=None, out=None) -> Tensor:
    """Indices where ``input``'s values would be inserted in ``sorted_sequence`` (along its
    last dim) to keep it sorted.

    Args:
        sorted_sequence: 1-D, or N-D with ``input``'s leading dims (one sequence per row).
        input: a tensor or a number.
        out_int32: int32 indices instead of int64.
        right: the index after equal elements (else before them); ``side='right'`` says the
            same.
        side: ``'left'`` or ``'right'``.
        sorter: indices that sort an unsorted ``sorted_sequence`` along its last dim.
        out: a tensor to write the result into.
    """
    if not isinstance(sorted_sequence, Tensor):
        raise not_a_tensor("searchsorted", "sorted_sequence", 1, sorted_sequence)
    if type(out_int32) is not bool or type(right) is not bool:  # (None, 1, np.True_: PyTorch's
        bool_arg(out_int32, "out_int32", "searchsorted")  # TypeError, were truth values; s28 BR17)
        bool_arg(right, "right", "searchsorted")
    if not isinstance(input, (Tensor, numbers.Number)):  # (a number: PyTorch's Scalar form)
        raise not_a_tensor("searchsorted", "input", 2, input)
    sequence = sorted_sequence._data
    scalar = not isinstance(input, Tensor)
    values = np.asarray(input._data if not scalar else input)
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if side == "left" and right:
            raise RuntimeError("torch.searchsorted(): side and right can't be set to "
                               "opposites, got side of left while right was True")
        right = side == "right"
    if sequence.ndim == 0 or (sequence.ndim > 1 and (
            values.ndim != sequence.ndim or values.shape[:-1] != sequence.shape[:-1])):
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or "
                           f"the first N-1 dimensions of boundaries tensor and input value "
                           f"tensor must match, but we got boundaries tensor "
                           f"{list(sequence.shape)} and input value tensor "
                           f"{list(values.shape)}")
    if sequence.dtype.kind == "b" and values.dtype.kind == "b" and values.size:  # (bool)
        raise NotImplementedError("\"searchsorted_out_cpu\" not implemented for 'Bool'")
    if "c" in (sequence.dtype.kind, values.dtype.kind):  # (NumPy's lexicographic order)
        wide = np.complex128 in (sequence.dtype, values.dtype if not scalar else None)
        raise NotImplementedError(f"\"searchsorted_out_cpu\" not implemented for "
                                  f"'{'ComplexDouble' if wide else 'ComplexFloat'}'")
    if sorter is not None:
        sorter = tensor_arg(sorter, "sorter", "searchsorted")._data
        sequence = np.take_along_axis(sequence, sorter, axis=-1)
    result = _search(sequence, values, "right" if right else "left")
    result = np.asarray(result, dtype=np.int32 if out_int32 else _INT64)
    return write_out(out, _leaf(result))


def bucketize(input, boundaries, *, out_int32: bool = False, right: bool = False,
              out=None) -> Tensor:
    """The bucket of each value among 1-D ``boundaries``: ``boundaries[i-1] < x <=
    boundaries[i]`` (with ``right``: ``boundaries[i-1] <= x < boundaries[i]``)."""
    if not isinstance(boundaries, Tensor):
        raise TypeError(f"bucketize(): argument 'boundaries' must be Tensor, not "
                        f"{type(boundaries).__name__}")
    if type(out_int32) is not bool or type(right) is not bool:  # (None, 1, np.True_: PyTorch's
        bool_arg(out_int32, "out_int32", "bucketize")  # TypeError, were truth values; s28 BR17)
        bool_arg(right, "right", "bucketize")
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right, out=out)


@tensor_method
def histc(input, bins: int = 100, min: float = 0, max: float = 0, *,  # noqa: A002
          out=None) -> Tensor:
    """Histogram of ``bins`` equal-width bins over ``[min, max]`` (the data's range when both
    are 0); values outside are ignored, ``max`` falls in the last bin. No gradient.

    Args:
        input: a floating tensor.
        bins: the number of bins.
        min, max: the range.
        out: a tensor to write the result into.

    Returns:
        The counts, in the input's dtype.
    """
    input, bins = input_tensor(input, 'histc'), int_arg(bins, "bins", "histc")
    for name, value in (("min", min), ("max", max)):
        if isinstance(value, Tensor) and value.ndim:  # (a number or a 0-d tensor)
            raise TypeError(f"histc(): argument '{name}' must be Number, not Tensor")
    data = input._data
    if data.dtype.kind != "f":
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for "
                                  f"'{scalar_word(input.dtype)}' (histc)")
    if bins <= 0:
        raise RuntimeError(f"torch.histc(): bins must be > 0, but got {bins}")
    low, high = float(min), float(max)
    if low == high and data.size:
        low, high = float(np.min(data)), float(np.max(data))
    if low == high:
        low, high = low - 1, high + 1
    if low > high:
        raise RuntimeError("torch.histc: max must be larger than min")
    if not (math.isfinite(low) and math.isfinite(high)):
        raise RuntimeError(f"torch.histc: range of [{low}, {high}] is not finite")
    # PyTorch finds the bin as (x - min) * bins / (max - min) in the input's dtype, each step
    # rounded to it (a float16 position can land one bin over from the exact one).
    dtype = data.dtype.type
    low_, high_ = dtype(low), dtype(high)
    inside = data[(data >= low_) & (data <= high_)]
    if 0 < float(high_) - float(low_) < _SAFE_SPAN.get(dtype, 0) / bins:  # (not float16)
        # (no step can overflow, the span is not 0: no errstate, no isfinite; 16.5 -> 12.4 us)
        position = (inside - low_) * dtype(bins) / (high_ - low_)
    else:
        position = _histc_position(inside, low_, high_, low, high, bins, dtype)
    index = np.minimum(position.astype(_INT64), bins - 1)
    counts = np.bincount(index, minlength=bins)[:bins]
    return write_out(out, _leaf(counts.astype(data.dtype)))


_SAFE_SPAN = {np.float32: 1e38, np.float64: 1e307}  # (a margin below each dtype's max)


def _histc_position(inside, low_, high_, low, high, bins, dtype):
    with np.errstate(over="ignore", invalid="ignore"):
        position = (inside - low_) * dtype(bins) / (high_ - low_)
    if not np.isfinite(position).all():  # (float16 overflow: PyTorch's cast of inf is
        position = (inside.astype(np.float32) - low) * bins / (high - low)  # undefined)
    return position


@tensor_method
def bincount(input, weights=None, minlength: int = 0) -> Tensor:
    """How often each value ``0, 1, ...`` occurs in a 1-D non-negative integer tensor (summing
    ``weights`` instead, if given). Not differentiable (a backward raises, as PyTorch's).

    Returns:
        int64 counts, or sums in the weights' float dtype (float64 for integer weights); length
        ``max(input.max() + 1, minlength)``.
    """
    input = input_tensor(input, 'bincount')
    if weights is not None:  # (PyTorch's parser, before the dtype checks)
        tensor_arg(weights, "weights", "bincount")
    minlength = int_arg(minlength, "minlength", "bincount", symbolic=True)
    data = input._data
    if data.dtype.kind not in "iu":  # (bool too, as PyTorch)
        name = scalar_word(input.dtype)  # (PyTorch's 'Float', 'Bool')
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for '{name}'")
    if data.ndim != 1 or (data.size and data.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is None:
        return _leaf(np.bincount(data, minlength=minlength).astype(_INT64))
    w = tensor_arg(weights, "weights", "bincount")._data
    if w.ndim != 1 or w.shape[0] != data.shape[0]:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    # (float64 for other weights; PyTorch's empty input gives int64 whatever the weights)
    dtype = w.dtype if w.dtype in (np.float32, np.float64) else np.float64
    if not data.size:
        dtype = _INT64
    return bincount_sums(np.bincount(data, weights=w, minlength=minlength), dtype, weights)

