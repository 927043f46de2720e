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


def overlap_alias(target: np.ndarray, name: str) -> np.ndarray:
    """A writable array over ``target``'s memory, for a write whose result does not depend on
    the order its elements are written in (``fill_`` / ``zero_``: every element takes the same
    value), where ``target`` is read-only as deltagrad's mark of shared elements (expand,
    as_strided with a 0 stride): PyTorch fills those. ``RuntimeError`` (``refused_write``'s)
    where the memory is truly read-only or not reachable. (s28 SL18)"""
    why = refused_write(target)
    owner = target
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    if why is OVERLAP and owner.flags.writeable and owner.flags.c_contiguous:
        offset = target.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
        try:
            return np.ndarray(target.shape, target.dtype, owner, offset, target.strides)
        except (ValueError, TypeError):  # (outside the owner's buffer: refused below)
            pass
    raise RuntimeError(f"{name}: {why}")


_PARTIAL = ("unsupported operation: some elements of the input tensor and the written-to "
            "tensor refer to a single memory location. Please clone() the tensor before "
            "performing the operation.")


def check_partial_overlap(target: np.ndarray, source: np.ndarray, name: str) -> None:
    """PyTorch's ``assert_no_partial_overlap`` before a write of ``source`` into ``target``:
    both dense (no gaps, no shared elements: otherwise PyTorch does not tell and writes) over
    byte ranges that intersect without being the same elements in the same layout
    (``v[:5].copy_(v[1:])``, ``x.copy_(x.mT)``): RuntimeError, where deltagrad read the
    source first and wrote what a copy would have (s28 SL18). The same memory in the same
    layout (``x.copy_(x)``) passes, as in PyTorch."""
    if not target.size or not source.size or not np.may_share_memory(target, source):
        return
    if not (_dense(target) and _dense(source)):
        return
    a = target.__array_interface__["data"][0]
    b = source.__array_interface__["data"][0]
    a_end, b_end = a + target.nbytes, b + source.nbytes
    if a == b and a_end == b_end:
        if [k // target.itemsize for k in target.strides] == \
                [k // source.itemsize for k in source.strides]:
            return
    elif not (a < b_end and b < a_end):
        return
    raise RuntimeError(f"{name}: {_PARTIAL}")


def _dense(array: np.ndarray) -> bool:
    """PyTorch's ``is_non_overlapping_and_dense``: the dims of size > 1, ordered by stride,
    step through the memory with no gap and no repeat."""
    expected = array.itemsize
    for size, stride in sorted((pair for pair in zip(array.shape, array.strides)
                                if pair[0] != 1), key=lambda pair: pair[1]):
        if stride != expected:
            return False
        expected *= size
    return True


def _dims_read(item) -> int:
    """How many of the tensor's dims an index item reads (None / a bool: none)."""
    if item is None or item is Ellipsis or type(item) is bool:
        return 0
    if isinstance(item, Tensor | np.ndarray) and item.dtype.kind == "b":
        return item.ndim  # (a mask reads as many dims as it has; a 0-d one none)
    return 1


# forward_ad's test for a dual tensor made from a primal that does not require grad, or a view
# of one (a leaf that requires grad in deltagrad, whose tangents ride on the graph; in PyTorch a
# view of the primal outside any graph, written in place as any tensor): the function that gives
# the write's tangent and stores it in place, or None for any other tensor (set by
# autograd.forward_ad while a dual level is active: None otherwise, one test in _inplace).
DUAL_LEAF: list = [None]


def dual_written(self: Tensor) -> bool:
    """Whether a write into ``self`` is one of those (a method's path that writes the array
    directly under no_grad takes ``_inplace``'s instead, which keeps the tangent; callers test
    ``DUAL_LEAF[0] is not None`` first)."""
    return self._rg and DUAL_LEAF[0](self) is not None


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
    if _through_a_view(items, shape) and (  # (PyTorch's wording: x[0] = 1 on a weight)
            DUAL_LEAF[0] is None or DUAL_LEAF[0](self) is None):  # (a dual: written, s30 BR22)
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


def written_apart(name: str, out, result: Tensor, *sources) -> Tensor:
    """``write_out(name, out, result, exact=True)`` for the gather-like functions
    (index_select, take, masked_select): an ``out`` that shares memory with one of
    ``sources`` (tensors or arrays read) raises PyTorch's ``assert_no_overlap`` error first.
    (s31 PR26: SSD-style NMS loops pass ``out=`` buffers to index_select.)"""
    if out is None:
        return result
    if isinstance(out, Tensor) and any(
            np.may_share_memory(out._data, getattr(source, "_data", source))
            for source in sources):
        raise RuntimeError(_PARTIAL)
    from ._pointwise import write_out
    return write_out(name, out, result, exact=True)
