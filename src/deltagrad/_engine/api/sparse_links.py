"""What ties a sparse COO tensor's gradient to more than its stored values (moved out of
api/sparse_coo.py): ``to_sparse``'s dense input (``CooStorage.source``), which PyTorch's
ToSparseBackward0 gives a dense gradient whole, kept through the maps linear in the entries;
and a Function's gradient off a sparse leaf's positions."""

from __future__ import annotations

import numpy as np

from ..modes import is_grad_enabled
from ..tensor import _leaf


def dense_link(sparse, leaf: bool = False):
    """Zeros of the sparse tensor's shape whose gradient goes whole into ``to_sparse``'s dense
    input (PyTorch's ToSparseBackward0 densifies a dense gradient; the values would mask it),
    or None: no such input, grad off, or a value that is not finite (0 would be nan). With
    ``leaf``, a sparse leaf's anchor too (``dense + S`` gives it a dense gradient whole)."""
    source = sparse._data.source
    if source is None and leaf:
        return leaf_anchor(sparse._data)
    if source is None or not is_grad_enabled() or not np.isfinite(source._data).all():
        return None
    return source - source.detach()


def leaf_anchor(storage):
    """Zeros of the shape that require grad, kept by a sparse leaf that requires grad (None
    for any other or with grad off): their gradient is the leaf's dense ``.grad``
    (``SparseCooTensor.grad`` adds them), as PyTorch's leaf takes a dense gradient whole
    (``S.sum()``, ``dense + S``, ``S @ dense``; its values alone gave it a masked one)."""
    values = storage.values
    if values._op is not None or not values._rg or not is_grad_enabled():
        return None
    if storage.anchor is None:
        storage.anchor = _leaf(np.zeros(storage.shape, storage.dtype)).requires_grad_(True)
    return storage.anchor


def linear_source(out, storage, make):
    """``out``, a map of ``storage``'s entries that is linear in them (x * c, -x, a + b),
    holding ``make(storage.source)`` as its source: to_sparse's dense input still takes the
    dense gradient whole through it (PyTorch's: ``(x.to_sparse() * 2).sum()`` gives x 2
    everywhere; the values alone gave 0 off the pattern, silently)."""
    if storage.source is not None and out._data.values._rg:
        out._data.source = make(storage.source)
    return out


def keep_off_pattern(storage, dense) -> None:
    """A Function's sparse gradient ``dense`` (densified) for a sparse leaf: its entries off
    the leaf's positions kept for ``.grad`` (PyTorch's leaf takes that gradient as it is)."""
    values = storage.values
    if values._op is not None or not values._rg:
        return  # (a non-leaf's gradient flows on through its values only)
    rest = np.array(dense._data, dtype=values._data.dtype)
    rest[tuple(storage.index)] = 0
    if rest.any():
        storage.extra = rest if storage.extra is None else storage.extra + rest
