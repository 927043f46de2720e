"""Checks before an in-place write where PyTorch's order or message differs from what
deltagrad's write path would give (kept apart: api/inplace.py is at its line limit)."""

from __future__ import annotations

import numbers

import numpy as np

from ..tensor import Tensor
from .strided import _distinct_uncached

OVERLAP = ("unsupported operation: more than one element of the written-to tensor refers to a "
           "single memory location. Please clone() the tensor before performing the operation.")

_READ_ONLY = (
    "the tensor's memory is a NumPy array that is not writable (from_numpy / as_tensor of an "
    "array whose flags.writeable is False). PyTorch warns at creation and writes into it anyway "
    "(undefined behaviour); deltagrad refuses: copy the array, or make it writable "
    "(array.setflags(write=True)), before converting it")


def refused_write(target: np.ndarray) -> str:
    """Why a write into ``target`` (not writeable) is refused. deltagrad's read-only arrays
    mark memory that elements share (expand, broadcast_to, an as_strided view it cannot vouch
    for): PyTorch's overlap error. One whose elements are distinct is a NumPy array made
    read-only by its owner (the array that holds the memory is read-only too): a clear
    message naming it, not the overlap error that misled. A read-only view over writable
    memory is deltagrad's mark of sharing even where its own elements are distinct (a row of
    an expanded tensor, ``x.expand(2, 3)[0]``: a difference of its own, PyTorch writes)."""
    array = target
    while True:
        if not _distinct_uncached(array.shape, tuple(abs(step) for step in array.strides)):
            return OVERLAP
        if not isinstance(array.base, np.ndarray):  # (the owner, or over bytes / mmap)
            return OVERLAP if array.flags.writeable else _READ_ONLY
        array = array.base


def _dims_read(item) -> int:
    """How many of the tensor's dims an index item reads (None / a bool: none)."""
    if item is None or item is Ellipsis or type(item) is bool:
        return 0
    if isinstance(item, Tensor | np.ndarray) and item.dtype.kind == "b":
        return item.ndim  # (a mask reads as many dims as it has; a 0-d one none)
    return 1


def check_leaf_index(self: Tensor, index) -> None:
    """PyTorch's IndexError for an int out of range in a write to a leaf that requires grad:
    its basic indexing (the view written) raises before the leaf's in-place check does
    (``x[-3] = 1.0`` on a leaf of 2 rows). The dimension it names is the item's position in
    the index; an advanced index out of range is still the leaf's error there."""
    if not self._rg or self._op is not None:
        return
    shape = self._data.shape
    items = index if type(index) is tuple else (index,)
    dim = 0  # the tensor's dim the next item reads
    for position, item in enumerate(items):
        if item is Ellipsis:
            dim += len(shape) - sum(_dims_read(other) for other in items)
            continue
        if (isinstance(item, numbers.Integral) and type(item) is not bool
                and not isinstance(item, Tensor) and dim < len(shape)
                and not -shape[dim] <= item < shape[dim]):
            raise IndexError(f"index {item} is out of bounds for dimension {position} with "
                             f"size {shape[dim]}")
        dim += _dims_read(item)
    if _through_a_view(items, shape):  # (PyTorch's wording there: x[0] = 1 on a weight)
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")


def _through_a_view(items: tuple, shape: tuple) -> bool:
    """Whether PyTorch's write ``x[items] = v`` goes through a view of ``x`` (its basic
    indexing first: an int or a 0-d integer tensor selects, None or a bool unsqueezes, a slice
    narrows; a whole-dim slice and Ellipsis are skipped, advanced indices index the rest)."""
    dim = 0
    for item in items:
        if item is Ellipsis:
            dim += len(shape) - sum(_dims_read(other) for other in items)
            continue
        if item is None or type(item) is bool:
            return True
        if isinstance(item, Tensor):
            if item.ndim == 0 and item.dtype != bool and not item.is_floating_point():
                return True
        elif isinstance(item, numbers.Integral):
            return True
        elif isinstance(item, slice) and dim < len(shape):
            if item.indices(shape[dim]) != (0, shape[dim], 1):
                return True
        dim += _dims_read(item)
    return False
