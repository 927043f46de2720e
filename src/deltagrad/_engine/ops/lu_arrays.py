"""LU factors by Gaussian elimination with partial pivoting in NumPy, vectorized over the batch
(``lu_factor_arrays``: the path without SciPy's LAPACK), and the row order / permutation
matrices of LAPACK's 1-based pivots. Moved out of ops/linalg_solve.py (session 27, FS1) to keep
it under the 800-line limit; linalg_solve imports them back (its ``__all__`` is unchanged).
"""

from __future__ import annotations

import numpy as np


def lu_factor_arrays(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(LU, pivots, info)`` of each matrix in ``a`` by Gaussian elimination with partial
    pivoting (LAPACK's choice: the first entry of largest magnitude in the column).

    ``pivots`` are int32 and 1-based; ``info`` (int32, per matrix) is the first ``j`` (1-based)
    with ``U[j-1, j-1] == 0``, else 0. Elimination continues past a zero pivot, as LAPACK's.
    """
    (m, n), batch = a.shape[-2:], a.shape[:-2]
    k = min(m, n)
    lu = np.array(a, copy=True, order="C")
    flat = lu.reshape((-1, m, n))
    count = flat.shape[0]
    pivots = np.zeros((count, k), dtype=np.int32)
    info = np.zeros(count, dtype=np.int32)
    rows = np.arange(count)
    for j in range(k):
        p = j + np.argmax(np.abs(flat[:, j:, j]), axis=-1)
        pivots[:, j] = p + 1
        row = flat[rows, j].copy()
        flat[rows, j] = flat[rows, p]
        flat[rows, p] = row
        pivot = flat[:, j, j]
        zero = pivot == 0
        info[(info == 0) & zero] = j + 1
        # NOTE: a zero pivot leaves its column (all zeros below it) unscaled, as LAPACK does.
        flat[:, j + 1:, j] /= np.where(zero, 1, pivot)[:, None]
        flat[:, j + 1:, j + 1:] -= flat[:, j + 1:, j:j + 1] * flat[:, j:j + 1, j + 1:]
    return lu, pivots.reshape(batch + (k,)), info.reshape(batch)


def row_order(pivots: np.ndarray, m: int) -> np.ndarray:
    """``order`` with row i of ``Pᵀ A`` row ``order[i]`` of ``A``, from LAPACK's 1-based
    pivots (``[*, k]`` -> int64 ``[*, m]``): the swaps applied in turn."""
    if pivots.ndim == 1:  # (one matrix: Python's list swaps, no array calls)
        order = list(range(m))
        for j, p in enumerate(pivots.astype(np.int64).tolist()):
            order[j], order[p - 1] = order[p - 1], order[j]
        return np.array(order)
    batch, k = pivots.shape[:-1], pivots.shape[-1]
    flat = pivots.reshape(-1, k).astype(np.int64) - 1
    count = flat.shape[0]
    order = np.tile(np.arange(m), (count, 1))
    rows = np.arange(count)
    for j in range(k):
        p = flat[:, j]
        swapped = order[rows, j].copy()
        order[rows, j] = order[rows, p]
        order[rows, p] = swapped
    return order.reshape(batch + (m,))


def permutation_matrices(pivots: np.ndarray, m: int, dtype) -> np.ndarray:
    """The ``P`` with ``A = P L U`` from LAPACK's 1-based pivots (``[*, k]`` -> ``[*, m, m]``)."""
    order = row_order(pivots, m).reshape(-1, m)
    count = order.shape[0]
    # Row i of Pᵀ A is row order[i] of A, so P[order[i], i] = 1.
    permutation = np.zeros((count, m, m), dtype=dtype)
    permutation[np.arange(count)[:, None], order, np.arange(m)[None, :]] = 1
    return permutation.reshape(pivots.shape[:-1] + (m, m))
