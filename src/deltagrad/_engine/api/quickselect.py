"""Which of several equal values ``kthvalue`` returns the index of: PyTorch's CPU kernel runs a
quickselect (median-of-three pivot, Hoare partition, NaN above every number) over each row's
(value, index) pairs, and the index it leaves at position k is its answer. The selection
itself is deterministic; the sorted order of api/sorting.py gives the same value but, among
ties, the stable sort's first index. Rows whose k-th value is tied rerun PyTorch's steps here
(in Python: a row of n elements costs O(n) interpreted steps); the others keep the sort's.
"""

from __future__ import annotations

import numpy as np

__all__: list = []  # (internal: api/sorting.py's kthvalue)

# Elements of tied rows past which the Python selection is skipped (the sort's index kept):
# ~0.1 s of interpreted steps.
_LIMIT = 1 << 16


def _above(x, y) -> bool:
    """PyTorch's comparison: NaN above every number, else ``>``."""
    return (x != x and y == y) or x > y


def _select(values: list, k: int) -> int:
    """The original index PyTorch's quick_select_template leaves at position ``k``."""
    arr, idx = values, list(range(len(values)))

    def swap(i, j):
        arr[i], arr[j] = arr[j], arr[i]
        idx[i], idx[j] = idx[j], idx[i]

    low, high = 0, len(arr) - 1
    while high > low:
        if high == low + 1:
            if _above(arr[low], arr[high]):
                swap(low, high)
            break
        swap(low + (high - low) // 2, low + 1)  # (median of three: arr[low] the pivot)
        if _above(arr[low + 1], arr[high]):
            swap(low + 1, high)
        if _above(arr[low], arr[high]):
            swap(low, high)
        if _above(arr[low + 1], arr[low]):
            swap(low + 1, low)
        i, j, pivot = low + 1, high, arr[low]
        while True:
            i += 1
            while _above(pivot, arr[i]):
                i += 1
            j -= 1
            while _above(arr[j], pivot):
                j -= 1
            if j < i:
                break
            swap(i, j)
        swap(low, j)
        if j <= k:
            low = i
        if j >= k:
            high = j - 1
    return idx[k]


def tied_indices(data: np.ndarray, dim: int, indices: np.ndarray, k: int) -> np.ndarray:
    """``indices`` (int64, ``data``'s shape with size 1 at ``dim``: the sort's choice of the
    ``k``-th smallest, 0-based) with each row whose k-th value is tied given PyTorch's index."""
    n = data.shape[dim]
    if n < 2 or data.size == 0:  # (no rows: kthvalue of a (0, 3) tensor along dim 1)
        return indices
    if data.dtype.kind not in "fiu":  # (bfloat16, kind "V": exact in float32)
        data = data.astype(np.float32)
    picked = np.take_along_axis(data, indices, dim)
    same = data == picked
    if data.dtype.kind == "f" and np.isnan(picked).any():
        same |= np.isnan(data) & np.isnan(picked)
    counts = np.count_nonzero(same, axis=dim).reshape(-1)
    if counts.max() < 2:  # (no ties: the only index; 4 NumPy calls a row-set)
        return indices
    tied = np.flatnonzero(counts > 1)
    if tied.size * n > _LIMIT:
        return indices
    rows = np.moveaxis(data, dim, -1).reshape(-1, n)
    chosen = np.moveaxis(indices, dim, -1).reshape(-1).copy()
    for r in tied:
        chosen[r] = _select(rows[r].tolist(), k)
    shape = np.moveaxis(indices, dim, -1).shape
    return np.ascontiguousarray(np.moveaxis(chosen.reshape(shape), -1, dim))
