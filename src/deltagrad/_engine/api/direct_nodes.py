"""Results of ops whose caller has computed the forward itself (a cheaper NumPy call than the
op's own forward, the same values), recorded as the op's node without ``apply``'s generic
path: the argument checks are the caller's, the node and its rule are the op's."""

from __future__ import annotations

import numpy as np

from ..autograd import _GradMode
from ..node_names import rename_node
from ..tensor import Tensor, _result, apply

# NumPy kinds whose arrays every path of ``apply`` takes as they are (bfloat16, kind "V",
# goes through ``apply``'s own conversion).
_PLAIN_KINDS = frozenset("fiucb")


def taken(op, x: Tensor, positions: np.ndarray, dim: int, attrs: dict, name: str) -> Tensor:
    """``x``'s slices at ``positions`` (1-d integers in range) along ``dim``, as ``op`` (the
    getitem primitive, ``attrs`` its index) would give them, named ``name``.

    ``ndarray.take`` makes the C-ordered result in one call where the advanced index makes a
    strided one and then copies it along a later dim: index_select on [5, 5] along 1 0.66-0.70 of
    its time under grad and no_grad, [10, 4] along 0 0.71-0.84, [256, 512] along 1 0.27-0.34
    (the tree without it alternated with it in one process, thread time, medians of 21
    rounds, a loaded machine; s23 SP10)."""
    data = x._data
    if type(data) is not np.ndarray or data.dtype.kind not in _PLAIN_KINDS:
        return rename_node(apply(op, x, **attrs), name)
    return rename_node(_result(data.take(positions, axis=dim), op, (x,), attrs,
                               x._rg and _GradMode.enabled), name)

