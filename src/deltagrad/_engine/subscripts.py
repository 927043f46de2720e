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

import numpy as np

__all__ = ["normalize"]

_EMPTY = np.zeros(0, dtype=np.int64)


def _as_index_array(item) -> np.ndarray:
    if isinstance(item, (list, tuple)) and len(item) == 0:
        return _EMPTY  # x[[]] selects nothing (NumPy would read [] as float)
    return np.asarray(item)


def normalize(index) -> tuple:
    """``(first, rest)``: NumPy indices giving PyTorch's ``x[index]`` as ``x[first][rest]``.

    ``rest`` is None unless integers sit beside index arrays. Tensors (anything with an ndarray
    ``_data``) are unwrapped, lists and nested tuples become index arrays, boolean masks become
    their ``nonzero`` arrays and 0-d integer tensors become integers.
    """
    kind = type(index)
    if kind is int:  # the common cases, without the general walk
        return (index, Ellipsis), None
    if kind is slice:
        return (index,), None
    items = index if kind is tuple else (index,)
    out = []
    arrays = integers = False
    for item in items:
        kind = type(item)
        if kind is int or kind is slice or item is None or item is Ellipsis:
            integers = integers or kind is int
            out.append(item)
            continue
        data = getattr(item, "_data", None)
        if isinstance(data, np.ndarray):
            item = data
        elif isinstance(item, (list, tuple)):
            item = _as_index_array(item)
        if isinstance(item, (bool, np.bool_)):
            out.append(item)  # x[True] adds a dimension, as in NumPy
        elif isinstance(item, numbers.Integral):
            out.append(int(item))
            integers = True
        elif isinstance(item, np.ndarray):
            if item.dtype.kind == "b" or item.dtype == np.uint8:  # uint8: PyTorch's old masks
                if item.ndim == 0:
                    out.append(bool(item))
                    continue
                out.extend(np.nonzero(item))
                arrays = True
            elif item.dtype.kind not in "iu":
                raise IndexError(
                    f"tensors used as indices must be long, int, byte or bool tensors, got "
                    f"{item.dtype}"
                )
            elif item.ndim == 0:
                out.append(int(item))
                integers = True
            else:
                out.append(item)
                arrays = True
        else:
            raise IndexError(f"unsupported index {item!r} of type {type(item).__name__}")
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
        elif item is None:
            rest.append(item)  # a new axis is added by the second step, in place
        else:
            if item is not Ellipsis:
                first.append(slice(None))  # slices and arrays keep their dimension for now
            else:
                first.append(Ellipsis)
            rest.append(item)
    return tuple(first), tuple(rest)
