"""``x[index]`` as PyTorch reads it, turned into NumPy indices.

PyTorch and NumPy differ in one place: NumPy counts an integer beside an index array as one
more advanced index (so ``x[1, :, idx]`` moves the indexed dimension to the front), while
PyTorch first selects with the integers and then indexes the rest (``x[1][:, idx]``). Such an
index is split in two NumPy indices applied in turn: the integers (a basic index, a view), then
the rest. Everything else is the same in both libraries once boolean masks are turned into
integer arrays (``nonzero``), as PyTorch does.
"""

from __future__ import annotations

import numbers
import re

import numpy as np

from .meta import MetaArray, meta_index

__all__ = ["check_masks", "normalize"]

_EMPTY = np.zeros(0, dtype=np.int64)
# PyTorch indexes with int64 and int32 tensors only (int8, int16 and the wide unsigned dtypes
# raise; uint8 is a mask).
_INDEX_DTYPES = (np.dtype(np.int64), np.dtype(np.int32))
# PyTorch's deprecation warning for a uint8 mask, given at the user's line: set by
# tensor_ops.py (errors.py, which finds that line, sits above this module in the engine)
warn_uint8_mask = None


def _as_index_array(item) -> np.ndarray:
    if isinstance(item, (list, tuple)) and len(item) == 0:
        return _EMPTY  # x[[]] selects nothing (NumPy would read [] as float)
    return np.asarray(item)


def _sequence_as_tuple(index: list) -> bool:
    """PyTorch's legacy rule (NumPy's before 1.23): a list of fewer than 32 items holding a
    sequence, a tensor, a slice, ``None`` or ``...`` is read as a tuple of indices, one per dim;
    a list of integers stays one index array."""
    if len(index) >= 32:
        return False
    for item in index:
        if (item is None or item is Ellipsis or isinstance(item, (list, tuple, slice, range))
                or isinstance(getattr(item, "_data", None), np.ndarray)
                or isinstance(item, np.ndarray)):
            return True
    return False


def normalize(index, shape: tuple | None = None) -> tuple:
    """``(first, rest)``: NumPy indices giving PyTorch's ``x[index]`` as ``x[first][rest]``.

    ``rest`` is None unless integers sit beside index arrays. Tensors (anything with an ndarray
    ``_data``) are unwrapped, lists and nested tuples become index arrays, boolean masks become
    their ``nonzero`` arrays and 0-d integer tensors become integers. Given the indexed tensor's
    ``shape``, a mask must match the dims it covers (IndexError, as in PyTorch: NumPy would
    quietly index with its ``nonzero`` arrays).
    """
    kind = type(index)
    if kind is int:  # the common cases, without the general walk
        return (index, Ellipsis), None
    if kind is slice:
        if index.step is not None:
            _check_step(index.step)
        return (index,), None
    lone = index if kind is not tuple else index[0] if len(index) == 1 else None
    if lone is not None and type(lone) is not slice and type(
            data := getattr(lone, "_data", None)) is np.ndarray and (
            data.dtype.kind == "b" and data.ndim):
        # A lone boolean mask (x[x > 0], x[(mask,)]): the walk's result, its nonzero arrays,
        # once the mask's shape is checked against the dims it covers as check_masks does
        # (x[(mask,)] on [4, 5] fwd + bwd 0.77 of its time, paired, thread time, s29 SP46)
        if shape is not None:
            for j, size in enumerate(data.shape):
                if j < len(shape) and size != shape[j]:
                    check_masks([], [(0, data.shape)], shape)  # (its IndexError)
        return data.nonzero(), None
    if kind is tuple:
        items = index
    elif kind is list and _sequence_as_tuple(index):
        items = tuple(index)  # x[[[0, 1], [2, 3]]] is x[[0, 1], [2, 3]], as PyTorch reads it
    else:
        items = (index,)
    out = []
    masks = []
    arrays = integers = False
    ellipses = 0
    for item in items:
        kind = type(item)
        if kind is int or kind is slice or item is None or item is Ellipsis:
            integers = integers or kind is int
            ellipses += item is Ellipsis
            if kind is slice and item.step is not None:
                _check_step(item.step)
            out.append(item)
            continue
        data = getattr(item, "_data", None)
        if isinstance(data, np.ndarray):
            item = data
        elif type(data) is MetaArray:  # a meta index: its shape serves (meta.py)
            out.append(meta_index(data))
            arrays = True
            continue
        elif isinstance(item, (list, tuple)):
            item = _as_index_array(item)
        elif isinstance(item, range):  # a sequence of ints, as PyTorch reads x[range(n), y]
            item = np.arange(item.start, item.stop, item.step, dtype=np.int64)
        if (data is None and type(item) is np.ndarray and item.dtype.kind in "fiu"
                and item.dtype not in _INDEX_DTYPES and item.dtype != np.uint8):
            # PyTorch makes a list or ndarray index (not a tensor) int64, floats truncated:
            # x[np.array([1.9, -1.5])] is x[[1, -1]]; int8 / uint16 arrays index too
            item = item.astype(np.int64)
        if isinstance(item, (bool, np.bool_)):
            out.append(item)  # x[True] adds a dimension, as in NumPy
            arrays = True  # (an index too: NumPy would move it with the integers, see below)
        elif isinstance(item, numbers.Integral):
            out.append(int(item))
            integers = True
        elif isinstance(item, np.ndarray):
            if item.dtype.kind == "b" or item.dtype == np.uint8:  # uint8: PyTorch's old masks
                if item.dtype == np.uint8 and warn_uint8_mask is not None:
                    warn_uint8_mask()  # (PyTorch's deprecation, every time)
                if item.ndim == 0:
                    out.append(bool(item))
                    arrays = True
                    continue
                masks.append((len(out), item.shape))
                out.extend(np.nonzero(item))
                arrays = True
            elif item.dtype.kind not in "iu":
                raise IndexError(
                    f"tensors used as indices must be long, int, byte or bool tensors, got "
                    f"{item.dtype}"
                )
            elif item.ndim == 0:
                out.append(int(item))  # a 0-d index of any integer dtype is a plain integer
                integers = True
            elif item.dtype not in _INDEX_DTYPES:
                raise IndexError(
                    f"tensors used as indices must be long, int, byte or bool tensors, got "
                    f"{item.dtype}"
                )
            else:
                out.append(item)
                arrays = True
        elif isinstance(item, (str, bytes)):  # (PyTorch's tensor constructor refuses it first)
            raise TypeError(f"new(): invalid data type '{type(item).__name__}'")
        elif hasattr(type(item), "__index__"):  # (an int to PyTorch, as to Python's sequences)
            out.append(item.__index__())
            integers = True
        else:
            raise IndexError(f"unsupported index {item!r} of type {type(item).__name__}")
    if ellipses > 1 and shape is not None:
        out, masks = _one_ellipsis(out, masks, len(shape))
    if masks and shape is not None:
        check_masks(out, masks, shape)
    if arrays and shape is not None and len(out) > 1:
        for item in out:  # (a loop, not any(): 0.15 against 1 us on a loaded machine)
            if item is Ellipsis:
                out = _without_empty_ellipsis(out, shape)
                break
    if integers and not any(item is Ellipsis for item in out):
        # NumPy returns a scalar copy where every dim gets an integer; a trailing Ellipsis
        # keeps it a 0-d view (x[1] shares memory, as in PyTorch).
        out.append(Ellipsis)
    if not (arrays and integers):
        return tuple(out), None
    first, rest = [], []
    for item in out:
        if type(item) is int:
            first.append(item)
        elif item is None or isinstance(item, (bool, np.bool_)):
            rest.append(item)  # a new axis (a bool's too) is added by the second step, in place
        else:
            if item is not Ellipsis:
                first.append(slice(None))  # slices and arrays keep their dimension for now
            else:
                first.append(Ellipsis)
            rest.append(item)
    return tuple(first), tuple(rest)


def _one_ellipsis(out: list, masks: list, ndim: int) -> tuple[list, list]:
    """An index with several Ellipses as PyTorch reads it (NumPy refuses it): each one skips
    the dims no other item takes (``x[..., 0, ...]`` of a 3-d x is ``x[:, :, 0]``), so the
    second and later ones skip past the end; the full slices left at the end go (an item
    after them is then too many, PyTorch's IndexError too). ``masks``' positions follow."""
    taken = sum(item is not None and item is not Ellipsis
                and not isinstance(item, (bool, np.bool_)) for item in out)
    skipped = [slice(None)] * max(ndim - taken, 0)
    expanded, moved = [], {}
    for i, item in enumerate(out):
        moved[i] = len(expanded)
        if item is Ellipsis:
            expanded.extend(skipped)
        else:
            expanded.append(item)
    while expanded and type(expanded[-1]) is slice and expanded[-1] == slice(None):
        expanded.pop()
    return expanded, [(moved[start], mask_shape) for start, mask_shape in masks]


def _without_empty_ellipsis(out: list, shape: tuple) -> list:
    """``out`` without its Ellipsis where that stands for no dimension: it then parts no
    index arrays in PyTorch (`x[:, i, ..., j]` of a 3-d x keeps i and j's dimension in
    place), where NumPy's would move it to the front."""
    taken = sum(item is not None and item is not Ellipsis
                and not isinstance(item, (bool, np.bool_)) for item in out)
    return [item for item in out if item is not Ellipsis] if taken >= len(shape) else out


def _check_step(step) -> None:
    """PyTorch's views cannot step backwards: ``x[::-1]`` raises (NumPy would reverse)."""
    try:
        step = step.__index__()
    except (AttributeError, TypeError):
        return  # (not an integer: NumPy's own TypeError follows)
    if step < 0:
        raise ValueError("step must be greater than zero")


def check_masks(out: list, masks: list, shape: tuple) -> None:
    """IndexError where a mask's shape differs from the dims of ``shape`` it covers."""
    # Dims each NumPy index item consumes: a new axis (None, a bool) none, the Ellipsis the rest.
    used = [0 if item is None or isinstance(item, (bool, np.bool_)) else 1 for item in out]
    ellipsis = next((i for i, item in enumerate(out) if item is Ellipsis), None)
    if ellipsis is not None:
        used[ellipsis] = max(len(shape) - (sum(used) - 1), 0)
    for start, mask_shape in masks:
        offset = sum(used[:start])
        for j, size in enumerate(mask_shape):
            if offset + j < len(shape) and size != shape[offset + j]:
                raise IndexError(
                    f"The shape of the mask {list(mask_shape)} at index {j} does not match the "
                    f"shape of the indexed tensor {list(shape)} at index {offset + j}"
                )


_NUMPY_BOUNDS = re.compile(r"getitem: index (-?\d+) is out of bounds for axis (\d+) with size "
                           r"(\d+) \(input shapes")
_NUMPY_TOO_MANY = re.compile(r"getitem: too many indices for array: array is (\d+)-dimensional")


def bounds_error(error: IndexError, index) -> IndexError:
    """PyTorch's words for an index out of range, ``index 3 is out of bounds for dimension 0
    with size 3`` (answers quote them), in place of the getitem op's NumPy-worded error.
    PyTorch names the item's position in the index, NumPy the array's axis: the same where no
    None or mask sits in the index; elsewhere ``error`` is returned as it is."""
    match = _NUMPY_BOUNDS.match(str(error))
    if match is None:
        many = _NUMPY_TOO_MANY.match(str(error))
        return IndexError(f"too many indices for tensor of dimension {many[1]}") if many \
            else error
    for item in index if type(index) is tuple else (index,):
        data = getattr(item, "_data", item)
        if item is None or type(item) is bool or getattr(data, "dtype", None) in (
                np.bool_, np.uint8):
            return error
    return IndexError(f"index {match[1]} is out of bounds for dimension {match[2]} with size "
                      f"{match[3]}")
