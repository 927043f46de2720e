"""The argument checks and small helpers of the indexing functions (``api.indexing``): index
arrays checked as PyTorch's kernels check them (``_int_index``, ``_check_bounds``, their
extremes), the dtype check of a source, a number made a fill tensor, and the reshapes of 0-d
inputs. Moved out of ``api.indexing`` (session 27, FS1) to keep it under the 800-line limit;
``api.indexing`` imports them back.
"""

from __future__ import annotations

import numpy as np

from ..autograd import ShapeError
from ..ops.indexing import _along_axis
from ..promotion import fitted
from ..tensor import Tensor, _leaf, _lift
from ._pointwise import scalars_in_range
from .shape import _reshape as reshape  # (the method's form: sizes one by one or a tuple)


def _t(x) -> Tensor:
    return x if type(x) is Tensor else _lift(x, None)


def _int_index(index, name: str, *, empty_float: bool = False) -> np.ndarray:
    """An index argument as an integer ndarray (PyTorch takes int64 and int32). An empty
    float one is taken from a list (NumPy makes `[]` float) and, with ``empty_float``, from
    a tensor (PyTorch's gather / scatter take `torch.tensor([])`; its index_* functions,
    take and put refuse it)."""
    array = index._data if isinstance(index, Tensor) else np.asarray(index)
    if array.dtype.kind not in "iu" or array.dtype.kind == "b":
        if array.size == 0 and array.dtype.kind == "f" and (
                empty_float or not isinstance(index, Tensor)):
            return array.astype(np.int64)
        # (PyTorch's words first, as test suites match them)
        said = {"scatter": "scatter(): Expected dtype int32/int64 for index",
                "gather": "gather(): Expected dtype int32/int64 for index",
                "index_select": "index_select(): Expected dtype int32 or int64 for index"}.get(
                    name, f"{name}(): Expected dtype int64 for index")
        message = f"{said} (got {array.dtype})"
        if name == "index_fill":
            raise IndexError(message)  # (PyTorch's class for index_fill alone)
        raise ShapeError(message)
    return array


def _smallest(index: np.ndarray):
    """The least element of a non-empty integer array: up to 32 elements through a list
    (0.27 against 1.0 us for np.minimum.reduce on [3, 2], a reduction's fixed cost), larger
    arrays reduced. With _extremes, fwd + bwd against the reductions (paired, thread time):
    gather on [3, 4] 0.85 of its time (0.60 -> 0.53 x PyTorch), scatter_add 0.86,
    scatter_reduce 0.90, index_put 0.79."""
    if index.size <= 32:
        return min(index.ravel().tolist())
    return np.minimum.reduce(index, None)


def _extremes(index: np.ndarray) -> tuple:
    """The least and the greatest element of a non-empty integer array (as ``_smallest``)."""
    if index.size <= 32:
        values = index.ravel().tolist()
        return min(values), max(values)
    return np.minimum.reduce(index, None), np.maximum.reduce(index, None)


def _same_dtype(name: str, a: Tensor, b: Tensor) -> None:
    if a._data.dtype != b._data.dtype:
        from .complex import scalar_name  # (the rare path; complex imports indexing)

        first, second = scalar_name(a._data.dtype), scalar_name(b._data.dtype)
        said = {"index_add": f"index_add_(): self ({first}) and source ({second}) must have "
                             f"the same scalar type",
                "index_copy": f"index_copy_(): self and source expected to have the same "
                              f"dtype, but got (self) {first} and (source) {second}"}.get(
                    name, "scatter(): Expected self.dtype to be equal to src.dtype"
                    if name.startswith("scatter") else
                    f"{name}(): expected self and source to have the same dtype")
        raise ShapeError(f"{said} ({name}: got {a.dtype} and {b.dtype})")


_UNSIGNED = {np.dtype(np.int64): np.dtype(np.uint64), np.dtype(np.int32): np.dtype(np.uint32)}


def _check_bounds(index: np.ndarray, size: int, dim: int, name: str) -> None:
    """gather / scatter indices must lie in [0, size) (no wrap-around, as in PyTorch)."""
    if not index.size:
        return
    unsigned = _UNSIGNED.get(index.dtype)
    if unsigned is not None:
        # One reduction instead of two: read as unsigned, a negative index is above any size.
        if np.maximum.reduce(index.view(unsigned), axis=None) < size:
            return
    if index.min() < 0 or index.max() >= size:
        bad = index.min() if index.min() < 0 else index.max()
        raise ShapeError(f"{name}(): index {bad} is out of bounds for dimension {dim} with "
                         f"size {size}")


def _along(index: np.ndarray, dim: int) -> tuple:
    """The full NumPy index that reads ``x[i0, .., index[i], .., ik]`` at each index position
    (one arange per other dim: np.indices builds the same in Python, 3 us slower)."""
    return _along_axis(index, dim)


def _as_nd(x: Tensor) -> Tensor:
    return reshape(x, (1,)) if x.ndim == 0 else x
def _number_as(value, dtype, shape: tuple = ()) -> Tensor:
    """A number as a ``dtype`` tensor of ``shape`` (filled), checked and fitted as fill_'s
    (uint8 takes -4 as 252; -256 raises RuntimeError): scatter's, index_fill's."""
    scalars_in_range(value)
    return _leaf(np.full(shape, fitted(value, dtype), dtype=dtype))


def _past_the_end(name: str, along: tuple, dim: int, size: int) -> None:
    """After NumPy's IndexError in a scatter's op (its index was checked for negative values
    only, see _scatter_parts): PyTorch's error for the index past the end. The callers catch
    it around their own apply (a wrapper repacking apply's arguments cost 0.5 us a call)."""
    _check_bounds(along[dim], size, dim, name)


def _reshaped_like(out: Tensor, input: Tensor) -> Tensor:
    return reshape(out, ()) if input.ndim == 0 else out


def masked_fill_form(input: Tensor, indices, values: Tensor, accumulate) -> tuple:
    """``(indices, values)`` for index_put where PyTorch writes with ``masked_fill_`` (one
    bool / uint8 mask, a one-element value, no accumulate): a uint8 mask refused, a 0-d mask
    spread over the whole tensor, the value (of any dtype) checked and cast as a number into
    ``input``'s dtype. Unchanged otherwise. (s29 BR19: a uint8 mask wrote where PyTorch
    raises, silently; a value of another dtype or a 0-d mask were refused.)"""
    if (accumulate or values._data.size != 1 or not isinstance(indices, (tuple, list))
            or len(indices) != 1 or not isinstance(indices[0], Tensor)
            or indices[0]._data.dtype.kind not in "bu" or indices[0]._data.dtype.itemsize != 1
            or input._data.ndim == 0):
        return indices, values
    mask = indices[0]._data
    same = values._data.dtype == input._data.dtype
    if same and mask.ndim and mask.dtype == np.bool_:
        return indices, values  # (the common case: index_put's own path, its mask checks)
    shape = input._data.shape
    if mask.ndim > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    for j, size in enumerate(mask.shape):
        if size != shape[j]:
            raise IndexError(f"The shape of the mask {list(mask.shape)} at index {j} does not "
                             f"match the shape of the indexed tensor {list(shape)} at index {j}")
    if mask.dtype == np.uint8:
        raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with dtype "
                           "unsigned char")
    if mask.ndim == 0:
        indices = (_leaf(np.broadcast_to(mask, shape[:1])),)
    if not same:
        fitted(values._data.item(), input._data.dtype)  # (a number that does not fit raises)
        values = values.to(input.dtype)
    return indices, values


def basic_items(index) -> tuple:
    """``index`` with each index tensor (list, mask) replaced by full slices over its dims: the
    basic part PyTorch applies before an index_put_ (``api.inplace``'s item assignment)."""
    out = []
    for item in index if type(index) is tuple else (index,):
        if type(item) is bool:
            out.append(None)  # (a Python bool adds a dim, as None)
        elif item is None or item is Ellipsis or isinstance(item, (int, np.integer, slice)):
            out.append(item)
        elif isinstance(item, Tensor) and item._data.ndim == 0 and item._data.dtype.kind in "iu":
            out.append(int(item._data))
        else:
            mask = item._data if isinstance(item, Tensor) else np.asarray(item)
            out.extend([slice(None)] * (mask.ndim if mask.dtype == np.bool_ else 1))
    return tuple(out)
