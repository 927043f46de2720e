"""Which of several equal values ``topk`` returns, and in which order with ``sorted=False``:
PyTorch's CPU kernel puts each row's (value, index) pairs in a list and runs the C++ standard
library on it (GNU libstdc++'s algorithms in the Linux wheels): ``partial_sort`` of the first k
when ``k * 64 <= n``, else ``nth_element`` at k - 1 and, for ``sorted=True``, ``sort`` of the
first k - 1. Its comparison sees values only (NaN above every number for the largest, below
none for the smallest), so equal values keep whatever places those algorithms leave them in.
Rows where that can matter (a tie among the chosen values or at the boundary, or the
unsorted order of the selection path) rerun the same steps here, in Python, on each element's
rank among the row's distinct values; the others keep the sort's answer. Checked against
PyTorch 2.13 on 2,000 random tied rows (sizes 1-300, every k, both ``largest`` and ``sorted``)
plus 2-D, NaN and signed-zero cases: tests/parity/test_s28_BR17_fixes.py (s28 BR17).
"""

from __future__ import annotations

import numpy as np

__all__: list = []  # (internal: api/sorting.py's topk)

# Elements of the rows to rerun past which the Python steps are skipped (the sort's answer
# kept, as kthvalue's quickselect.py): ~0.1 s of interpreted steps.
_LIMIT = 1 << 16
_THRESHOLD = 16  # (libstdc++'s introsort hands runs of up to 16 to insertion sort)
_ONE_COMPARISON = 8192  # (k x elements up to which pytorch_order's tie check is one compare)


# Each element is a pair (key, index); ``a[i][0] < a[j][0]`` is the comparison (keys are
# ranks, negated for the largest: the first k after the steps are the chosen ones).


def _insertion_sort(a: list, first: int, last: int) -> None:
    for i in range(first + 1, last):
        value = a[i]
        if value[0] < a[first][0]:
            a[first + 1:i + 1] = a[first:i]
            a[first] = value
        else:
            j = i
            while value[0] < a[j - 1][0]:
                a[j] = a[j - 1]
                j -= 1
            a[j] = value


def _median_to_first(a: list, first: int, x: int, y: int, z: int) -> None:
    kx, ky, kz = a[x][0], a[y][0], a[z][0]
    if kx < ky:
        pick = y if ky < kz else (z if kx < kz else x)
    else:
        pick = x if kx < kz else (z if ky < kz else y)
    a[first], a[pick] = a[pick], a[first]


def _partition_pivot(a: list, first: int, last: int) -> int:
    """Median of three moved to ``first``, then the unguarded partition of the rest."""
    _median_to_first(a, first, first + 1, first + (last - first) // 2, last - 1)
    pivot = a[first][0]
    lo, hi = first + 1, last
    while True:
        while a[lo][0] < pivot:
            lo += 1
        hi -= 1
        while pivot < a[hi][0]:
            hi -= 1
        if not lo < hi:
            return lo
        a[lo], a[hi] = a[hi], a[lo]
        lo += 1


def _sift(a: list, first: int, hole: int, length: int, value) -> None:
    """Move the hole down to a leaf along the larger children, then push ``value`` up."""
    top = child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if a[first + child][0] < a[first + child - 1][0]:
            child -= 1
        a[first + hole] = a[first + child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        a[first + hole] = a[first + child - 1]
        hole = child - 1
    parent = (hole - 1) // 2
    while hole > top and a[first + parent][0] < value[0]:
        a[first + hole] = a[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    a[first + hole] = value


def _heap_select(a: list, first: int, middle: int, last: int) -> None:
    length = middle - first
    if length > 1:  # (make a max-heap of the first part)
        for parent in range((length - 2) // 2, -1, -1):
            _sift(a, first, parent, length, a[first + parent])
    for i in range(middle, last):
        if a[i][0] < a[first][0]:
            value, a[i] = a[i], a[first]
            _sift(a, first, 0, length, value)


def _partial_sort(a: list, first: int, middle: int, last: int) -> None:
    _heap_select(a, first, middle, last)
    while middle - first > 1:  # (sort the heap)
        middle -= 1
        value, a[middle] = a[middle], a[first]
        _sift(a, first, 0, middle - first, value)


def _nth_element(a: list, first: int, nth: int, last: int) -> None:
    if first == last or nth == last:
        return
    depth = 2 * ((last - first).bit_length() - 1)
    while last - first > 3:
        if depth == 0:
            _heap_select(a, first, nth + 1, last)
            a[first], a[nth] = a[nth], a[first]
            return
        depth -= 1
        cut = _partition_pivot(a, first, last)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(a, first, last)


def _introsort(a: list, first: int, last: int, depth: int) -> None:
    while last - first > _THRESHOLD:
        if depth == 0:
            _partial_sort(a, first, last, last)
            return
        depth -= 1
        cut = _partition_pivot(a, first, last)
        _introsort(a, cut, last, depth)
        last = cut


def _sort(a: list, first: int, last: int) -> None:
    if first == last:
        return
    _introsort(a, first, last, 2 * ((last - first).bit_length() - 1))
    if last - first > _THRESHOLD:
        _insertion_sort(a, first, first + _THRESHOLD)
        for i in range(first + _THRESHOLD, last):  # (unguarded: a smaller key is before)
            value, j = a[i], i
            while value[0] < a[j - 1][0]:
                a[j] = a[j - 1]
                j -= 1
            a[j] = value
    else:
        _insertion_sort(a, first, last)


def _row(keys: list, k: int, sorted_: bool) -> list:
    """The indices PyTorch's kernel leaves in the first ``k`` places of a row of ``keys``."""
    n = len(keys)
    a = list(zip(keys, range(n)))
    if k * 64 <= n:
        _partial_sort(a, 0, k, n)
    else:
        _nth_element(a, 0, k - 1, n)
        if sorted_:
            _sort(a, 0, k - 1)
    return [i for _, i in a[:k]]


def _ranks(row: np.ndarray, largest: bool) -> list:
    """Each element's rank among the row's distinct values (equal values, 0.0 and -0.0, NaNs:
    one rank; NaN the highest), negated for the largest."""
    _, inverse = np.unique(row, return_inverse=True)  # (NaNs sort last, as one value)
    return (-inverse if largest else inverse).tolist()


def pytorch_order(data: np.ndarray, dim: int, k: int, largest: bool, sorted_: bool,
                  indices: np.ndarray, picked: np.ndarray) -> np.ndarray:
    """``indices`` (the sort's first ``k`` along ``dim``, in order; ``picked`` their values)
    with each row where PyTorch's choice or order can differ replaced by PyTorch's: a new
    array, or ``indices`` itself where no row changes."""
    n = data.shape[dim]
    if k == 0 or n < 2 or data.size == 0 or type(data) is not np.ndarray:  # (a meta tensor)
        return indices
    if data.dtype.kind not in "fiu":  # (float16 / bfloat16: exact in float32)
        data, picked = data.astype(np.float32), picked.astype(np.float32)
    unsorted = not sorted_ and k * 64 > n and k > 1  # (nth_element's own order: every row)
    if not unsorted and k * data.size <= _ONE_COMPARISON:
        # Small inputs: each chosen value against its whole row in one comparison: every one
        # equal to itself only (a NaN, equal to none, counts as tied) is no tie at all, and
        # then the check below would pass too. topk on [8, 64] k 5 13.9 -> 12.2 us, [5, 5]
        # k 3 9.2 -> 7.5 (CPU time, one thread, min of 9 rounds, HEAD alternated in one
        # process; s28 SP45).
        if dim == data.ndim - 1:
            each = picked[..., None] == data[..., None, :]
        else:
            each = picked[(slice(None),) * (dim + 1) + (None,)] \
                == data[(slice(None),) * dim + (None,)]
        if np.count_nonzero(each) == picked.size:
            return indices
    elif not unsorted:
        # Any tie at all, in 2 comparisons: no other element equal to a row's k-th value (a
        # NaN one counts as tied), and the chosen ones strictly in order (a NaN among them
        # counts as tied). Rows without one keep the sort's answer (topk on [8, 64] k 5
        # 8.6 -> 12.5 us; thread time, min of 7 x 300 calls, one process, s28 BR17).
        rows = data.size // n
        last = picked[(slice(None),) * dim + (slice(k - 1, k),)]
        tie = np.count_nonzero(data == last) != rows
        if not tie and k > 1:
            head = picked[(slice(None),) * dim + (slice(None, -1),)]
            tail = picked[(slice(None),) * dim + (slice(1, None),)]
            tie = np.count_nonzero(head > tail if largest else head < tail) != rows * (k - 1)
        if not tie:
            return indices
    rows = np.moveaxis(data, dim, -1).reshape(-1, n)
    chosen = np.moveaxis(indices, dim, -1).reshape(-1, k)
    if unsorted:
        redo = np.arange(rows.shape[0])
    else:
        picked = np.take_along_axis(rows, chosen, -1)
        boundary = picked[:, -1:]
        if data.dtype.kind == "f":
            same = (rows == boundary) | (np.isnan(rows) & np.isnan(boundary))
            inner = (picked[:, 1:] == picked[:, :-1]) | (np.isnan(picked[:, 1:])
                                                         & np.isnan(picked[:, :-1]))
        else:
            same = rows == boundary
            inner = picked[:, 1:] == picked[:, :-1]
        # a tie among the chosen (their order) or at the boundary (which ones are chosen)
        redo = np.flatnonzero(inner.any(-1) | (np.count_nonzero(same, -1) > 1))
    if redo.size == 0 or redo.size * n > _LIMIT:
        return indices
    chosen = chosen.copy()
    for r in redo:
        chosen[r] = _row(_ranks(rows[r], largest), k, sorted_)
    shape = np.moveaxis(indices, dim, -1).shape
    return np.ascontiguousarray(np.moveaxis(chosen.reshape(shape), -1, dim))
