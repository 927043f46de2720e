"""Views in checkpoints: a tensor is saved as its storage (the array that owns its memory) plus
its shape, strides and offset in elements, as PyTorch's torch.save does, so that

* tensors saved together over one storage (``{"a": x, "b": x[2:]}``, a weight and its
  transpose, a flat buffer and its slices) load back sharing memory: a write to one shows in
  the other, and the storage is written once;
* a view loads with its own strides and storage offset (a transposed weight stays transposed,
  ``x[:, ::2]`` keeps its step), not as a contiguous copy.

A tensor whose array is its whole storage, row-major, is written as before (a plain safetensors
tensor under its own name: other safetensors readers see it as it is).
"""

from __future__ import annotations

import copy

import numpy as np

from .._engine.tensor import Tensor

__all__ = ["build_view", "restore", "storable", "storage_of"]


def storage_of(data) -> tuple[np.ndarray, list] | None:
    """``(root, view)`` for an array that is part of another array's memory (``root``, a
    row-major array that owns it), ``view`` being ``[shape, strides, offset, writeable]`` in
    elements of ``root``'s flat memory; None for an array that cannot be described so (not an
    ndarray, empty, another dtype than its storage, negative strides, a storage that is not
    row-major): those are saved on their own, as a copy."""
    if type(data) is not np.ndarray or data.size == 0:
        return None
    root = data
    while type(root.base) is np.ndarray:  # (NumPy points a view at the owner already)
        root = root.base
    if root.dtype != data.dtype or not root.flags.c_contiguous:
        return None
    item = data.itemsize
    start = data.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    if start < 0 or start % item or any(s < 0 or s % item for s in data.strides):
        return None
    strides = [s // item for s in data.strides]
    offset = start // item
    last = offset + sum((n - 1) * s for n, s in zip(data.shape, strides))
    if last >= root.size:  # (memory NumPy reached through a wrapper: not this storage)
        return None
    return root, [list(data.shape), strides, offset, bool(data.flags.writeable)]


def build_view(base: np.ndarray, view, fail) -> np.ndarray:
    """The array ``view`` (``storage_of``'s description) over the loaded storage ``base``;
    ``fail(what)`` makes the error for a description that does not fit it."""
    if not (isinstance(view, list) and len(view) == 4):
        raise fail(f"malformed view {view!r}")
    shape, strides, offset, writeable = view
    numbers = [*shape, *strides, offset]
    if not (isinstance(shape, list) and isinstance(strides, list) and len(shape) == len(strides)
            and all(type(n) is int and n >= 0 for n in numbers)):
        raise fail(f"malformed view {view!r}")
    flat = base.reshape(-1)  # (a loaded storage is row-major: no copy)
    size = 1
    for n in shape:
        size *= n
    if size and offset + sum((n - 1) * s for n, s in zip(shape, strides)) >= flat.size:
        raise fail(f"a view {view!r} reaches past its storage of {flat.size} elements")
    item = flat.itemsize
    out = np.ndarray(tuple(shape), flat.dtype, buffer=flat, offset=offset * item,
                     strides=tuple(s * item for s in strides))
    if not writeable:  # (an expanded tensor's array is read-only here, as when it was saved)
        out.flags.writeable = False
    return out


# safetensors has no complex128 (C64 only): such an array is stored as its float64 (real, imag)
# pairs, a trailing dim of 2, and its recorded layout (dtype "<c16") turns it back on load.
_COMPLEX128 = np.dtype(np.complex128).str


def storable(array: np.ndarray) -> np.ndarray:
    """``array`` as safetensors can store it (row-major already)."""
    if array.dtype == np.complex128:
        return array[..., None].view(np.float64)  # (a 0-d array too: shape (2,))
    return array


def restore(array: np.ndarray, layout) -> np.ndarray:
    """The array ``storable`` stored, given its recorded ``[dtype.str, shape]``."""
    if isinstance(layout, list) and layout and layout[0] == _COMPLEX128 and \
            array.dtype == np.float64 and list(array.shape) == [*layout[1], 2]:
        return array.view(np.complex128).reshape(layout[1])
    return array


# ----------------------------------------------------------------------------------------------
# pickle / copy of a Tensor. NumPy pickles a view as a contiguous copy of its values, so through
# pickle.dumps a transposed or sliced tensor came back contiguous and a Parameter as a plain
# tensor; PyTorch's pickle keeps each tensor's strides, offset and class, each tensor with a
# storage of its own (views pickled together do not share: torch.save does that), while its
# deepcopy keeps the sharing.


class _Layout:
    """A tensor's array in its pickled state: its storage and its view of it."""

    __slots__ = ("root", "view")

    def __init__(self, root: np.ndarray, view: list):
        self.root, self.view = root, view

    def __reduce__(self):
        # root.view(): a new object over the same memory, so pickle's memo (by identity) does
        # not share one storage between tensors, as PyTorch's pickle does not.
        return _unpickle_layout, (self.root.view(), self.view)

    def __deepcopy__(self, memo):
        # (the storage through the memo: tensors deep-copied together keep sharing, as PyTorch)
        return _unpickle_layout(copy.deepcopy(self.root, memo), self.view)


def _unpickle_layout(root: np.ndarray, view: list) -> np.ndarray:
    return build_view(np.ascontiguousarray(root), view, ValueError)


def _unpickle_parameter(reduced: tuple):
    """A Parameter from its plain tensor's reduce tuple (pickle's BUILD step, then the mark)."""
    from .. import serialization

    out = reduced[0](*reduced[1])
    state = reduced[2] if len(reduced) > 2 else None
    if state is not None:
        attrs, slots = state if type(state) is tuple else (state, None)
        if attrs:
            out.__dict__.update(attrs)
        for name, value in (slots or {}).items():
            setattr(out, name, value)
    return serialization.mark_parameter(out)


def reduce_tensor(self, protocol: int = 2):
    """``Tensor.__reduce_ex__``: the default reduce, with the array as a ``_Layout`` (strides
    and offset kept) and a Parameter rebuilt as one."""
    from .. import serialization

    reduced = object.__reduce_ex__(self, protocol)
    state = reduced[2] if len(reduced) > 2 else None
    if type(state) is tuple and len(state) == 2 and type(state[1]) is dict:
        found = storage_of(state[1].get("_data"))
        if found is not None:
            slots = dict(state[1])
            slots["_data"] = _Layout(*found)
            reduced = (reduced[0], reduced[1], (state[0], slots), *reduced[3:])
    if serialization.mark_parameter is not None and serialization.is_parameter(self) and \
            type(self).__reduce_ex__ is reduce_tensor:
        return _unpickle_parameter, (reduced,)
    return reduced


def copy_tensor(self):
    """``Tensor.__copy__``: copy.copy shares the array itself (a shallow copy, as PyTorch's,
    whose copy sees the original's writes), not ``reduce_tensor``'s pickled layout."""
    from .. import serialization

    if type(self).__reduce_ex__ is not reduce_tensor:  # (a user's subclass: its own reduce)
        return copy._reconstruct(self, None, *self.__reduce_ex__(4))
    out = copy._reconstruct(self, None, *object.__reduce_ex__(self, 4))
    if serialization.mark_parameter is not None and serialization.is_parameter(self):
        serialization.mark_parameter(out)
    return out


# (set here, beside save's layouts, not in the engine: the engine's tensor.py is at its size
# limit, and a Parameter is known only through serialization's hooks, set by nn)
Tensor.__reduce_ex__ = reduce_tensor
Tensor.__copy__ = copy_tensor
