"""Products of a 2-d sparse pattern with dense matrices: ``sparse_mm`` (S @ D) and its twin
``sparse_sampled`` (the rows' dot products read at the pattern's entries, S's gradient).

A ``Pattern`` is the positions of a 2-d sparse matrix's entries (rows, columns, entries in any
order, repeats allowed) with what the products need computed once: the entries' row-major
order and row pointers (CSR), and the transposed pattern. It is built once per sparse tensor
(api/sparse_coo.py keeps it with the tensor's storage) and passed to the ops as an attribute.

The two ops are each other's gradients, so both differentiate any number of times:

- ``sparse_mm(values [nnz], dense [k, n]) -> [m, n]``, ``out[r] = sum_e values[e] *
  dense[cols[e]]`` over the entries e of row r. Its VJP: ``dense`` gets ``S^T @ g``
  (``sparse_mm`` on the transposed pattern), ``values`` gets ``sparse_sampled(g, dense)``.
- ``sparse_sampled(a [m, n], b [k, n]) -> [nnz]``, ``out[e] = a[rows[e]] . b[cols[e]]``. Its
  VJP: ``a`` gets ``sparse_mm(g, b)``, ``b`` gets ``sparse_mm(g, a)`` on the transposed pattern.

Two paths for ``sparse_mm``, switched by ``USE_SCIPY`` (on; SciPy imported lazily on first use,
so ``import deltagrad`` needs only NumPy; tests run both): SciPy's CSR product (one compiled
loop over the entries) for float32 and float64; otherwise NumPy: the rows of ``dense`` gathered,
scaled, and added into the result row by row (``add_rows_at``). NumPy's ``add.reduceat`` over
the row segments was measured slower than the scatter on the Cora-sized case (13,264 entries,
64 columns, float32, one thread: 5.3 ms against 1.0 ms for the scatter; SciPy's product 0.18 ms).
"""

from __future__ import annotations

import sys

import numpy as np

from ..sparse import add_rows_at
from .registry import Sample, register

__all__ = ["USE_SCIPY", "Pattern"]

USE_SCIPY = True  # scipy.sparse's CSR product when importable (tests switch it off)
_LOADED: list = []  # scipy.sparse once imported (the import statement costs ~2 us a call)
_SCIPY_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# Below this many gathered elements (nnz x columns) the NumPy path is faster: building the
# CSR matrix costs SciPy ~12 us (float32, one thread: nnz 4 x 1 column 15 us against 2.9;
# 250 x 16 14 against 15; 1967 x 32 25 against 131; 13253 x 64 0.29 ms against 4.7).
_SCIPY_MIN = 4096


def _scipy_sparse():
    """``scipy.sparse`` when ``USE_SCIPY`` and importable, else None."""
    if not USE_SCIPY:
        return None
    if _LOADED and sys.modules.get("scipy") is not None:
        return _LOADED[0]
    try:
        from scipy import sparse  # optional accelerator; deltagrad needs only NumPy
    except ImportError:
        return None
    _LOADED[:] = [sparse]
    return sparse


class Pattern:
    """The positions of a 2-d sparse matrix's entries, with their CSR order.

    Args:
        rows, cols: int64 [nnz], the entries' positions (any order, repeats allowed).
        shape: (m, k), the matrix's shape.

    The CSR parts (``order``, ``indptr``, ``csr_cols``) are made on first use: only SciPy's
    product reads them, and the small products that stay in NumPy never do (a pattern and its
    transpose are made for each new sparse tensor: op_overhead.py's sparse_mm, a new
    tensor a call: 14 NumPy calls fewer a step, 0.68 -> 0.55 x PyTorch, one thread).
    """

    __slots__ = ("rows", "cols", "shape", "_csr", "_transposed")

    def __init__(self, rows: np.ndarray, cols: np.ndarray, shape):
        self.rows = rows
        self.cols = cols
        self.shape = (int(shape[0]), int(shape[1]))
        self._csr = None
        self._transposed = None

    def _csr_parts(self) -> tuple:
        """(order, indptr, csr_cols), made once."""
        if self._csr is None:
            rows, cols = self.rows, self.cols
            m = self.shape[0]
            # The CSR order: the entries by row (stable, so repeats keep their order); None
            # when they already are (a coalesced tensor's), so the values need no gather.
            if rows.size > 1 and (rows[1:] < rows[:-1]).any():
                order = rows.argsort(kind="stable")
                cols = cols[order]
            else:
                order = None
            indptr = np.zeros(m + 1, dtype=np.int64)
            np.cumsum(np.bincount(rows, minlength=m), out=indptr[1:])
            # SciPy's products index with int32 when everything fits (it would convert each
            # call).
            index_dtype = np.int32 if max(rows.size, *self.shape) < 2**31 - 1 else np.int64
            self._csr = (order, indptr.astype(index_dtype), cols.astype(index_dtype))
        return self._csr

    @property
    def order(self):
        """The stable order that sorts the entries by row (None when they are)."""
        return self._csr_parts()[0]

    @property
    def indptr(self) -> np.ndarray:
        """CSR row pointers [m + 1]."""
        return self._csr_parts()[1]

    @property
    def csr_cols(self) -> np.ndarray:
        """The entries' columns in CSR order."""
        return self._csr_parts()[2]

    @property
    def nnz(self) -> int:
        return int(self.rows.size)

    @property
    def T(self) -> Pattern:  # noqa: N802 - the usual name of a transpose
        """The transposed pattern (the same entries, in the same order; made once)."""
        if self._transposed is None:
            transposed = Pattern(self.cols, self.rows, self.shape[::-1])
            transposed._transposed = self
            self._transposed = transposed
        return self._transposed

    def __repr__(self) -> str:
        return f"Pattern(shape={self.shape}, nnz={self.nnz})"


# ---------------------------------------------------------------------------- sparse_mm


def _sparse_mm(values, dense, *, pattern):
    m, k = pattern.shape
    if dense.ndim != 2 or dense.shape[0] != k or values.shape != (pattern.nnz,):
        raise ValueError(f"sparse_mm: a {m}x{k} pattern of {pattern.nnz} entries cannot take "
                         f"values {values.shape} and a dense {dense.shape}")
    dtype = np.result_type(values, dense)
    large = pattern.nnz * dense.shape[1] >= _SCIPY_MIN
    sparse = _scipy_sparse() if large and dtype in _SCIPY_DTYPES else None
    if sparse is not None:
        order, indptr, csr_cols = pattern._csr_parts()
        ordered = values if order is None else values[order]
        matrix = sparse.csr_matrix((ordered.astype(dtype, copy=False), csr_cols, indptr),
                                   shape=(m, k), copy=False)
        return np.ascontiguousarray(matrix @ dense.astype(dtype, copy=False), dtype=dtype)
    out = np.zeros((m, dense.shape[1]), dtype=dtype)
    if pattern.nnz:
        gathered = dense[pattern.cols] * values[:, None]
        add_rows_at(out, pattern.rows, gathered.astype(dtype, copy=False))
    return out


def _sparse_mm_vjp(F, g, out, values, dense, *, pattern, needs):
    gvalues = F.op("sparse_sampled", g, dense, pattern=pattern) if needs[0] else None
    gdense = F.op("sparse_mm", values, g, pattern=pattern.T) if needs[1] else None
    return gvalues, gdense


def _random_pattern(rng, m, k, nnz, repeats=False, shuffle=True):
    rows, cols = rng.integers(0, m, nnz), rng.integers(0, k, nnz)
    if not repeats:
        linear = np.unique(rows * k + cols)
        rows, cols = linear // k, linear % k
    if shuffle:
        order = rng.permutation(rows.size)
        rows, cols = rows[order], cols[order]
    return Pattern(rows.astype(np.int64), cols.astype(np.int64), (m, k))


def _sparse_mm_samples(rng):
    samples = []
    for m, k, n, nnz, repeats, shuffle, note in (
            (4, 5, 3, 7, False, False, "csr order"), (4, 5, 3, 9, True, True, "repeats"),
            (3, 4, 1, 5, False, True, "one column")):  # (nnz 0: tests/test_s7_sparse_more.py)
        pattern = _random_pattern(rng, m, k, nnz, repeats, shuffle)
        samples.append(Sample((rng.standard_normal(pattern.nnz), rng.standard_normal((k, n))),
                              {"pattern": pattern}, note=note))
    return samples


register("sparse_mm", forward=_sparse_mm, vjp=_sparse_mm_vjp, samples=_sparse_mm_samples,
         wants_needs=True)


# ---------------------------------------------------------------------------- pattern_matmul


def _pattern_matmul(a, b, *, pattern):
    """``a @ b`` for a dense ``a`` [m, k] whose nonzeros all sit on ``pattern`` (coalesced):
    ``to_sparse``'s input times a dense matrix, as ``sparse_mm`` of its entries there (no
    dense m x k x n product). A nonzero off the pattern (a gradcheck's step) takes the dense
    product, so the value is always ``a @ b``. Against session 23's zero link (the sparse
    product plus ``(a - a.detach()) @ b``): [1000, 1000] at 1% times [1000, 64] float32, one
    thread, forward 4.78 -> 3.34 ms, forward + backward 10.4 -> 7.2 ms; [64, 64] at 10% times
    [64, 16] 0.094 -> 0.097 / 0.224 -> 0.222 ms (alternated, thread time, medians; s24 BR6)."""
    values = a[pattern.rows, pattern.cols]
    if np.count_nonzero(a) != np.count_nonzero(values):
        return np.matmul(a, b)
    return _sparse_mm(values, b, pattern=pattern)


def _pattern_matmul_vjp(F, g, out, a, b, *, pattern, needs):
    # ``a`` takes the whole dense g @ b^T (PyTorch's mm gradient of a sparse operand, which
    # its ToSparseBackward0 passes on densified), ``b`` a^T @ g on the transposed pattern.
    ga = F.matmul(g, F.swapaxes(b, -1, -2)) if needs[0] else None
    gb = F.op("pattern_matmul", F.swapaxes(a, -1, -2), g, pattern=pattern.T) if needs[1] else None
    return ga, gb


def _pattern_matmul_samples(rng):
    samples = []
    for m, k, n, nnz in ((4, 5, 3, 7), (3, 4, 1, 5)):
        pattern = _random_pattern(rng, m, k, nnz, shuffle=False)  # (row-major: coalesced)
        a = np.zeros((m, k))
        a[pattern.rows, pattern.cols] = rng.standard_normal(pattern.nnz)
        samples.append(Sample((a, rng.standard_normal((k, n))), {"pattern": pattern}))
    return samples


register("pattern_matmul", forward=_pattern_matmul, vjp=_pattern_matmul_vjp,
         samples=_pattern_matmul_samples, wants_needs=True)


# ---------------------------------------------------------------------------- sparse_sampled


def _sparse_sampled(a, b, *, pattern):
    m, k = pattern.shape
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != m or b.shape[0] != k or a.shape[1] != b.shape[1]:
        raise ValueError(f"sparse_sampled: a {m}x{k} pattern cannot take {a.shape} and "
                         f"{b.shape}")
    # (einsum's sum of products: 0.24 ms on 13,264 x 64 float32, against 0.46 for the product
    # and a sum over its rows)
    return np.einsum("ij,ij->i", a[pattern.rows], b[pattern.cols])


def _sparse_sampled_vjp(F, g, out, a, b, *, pattern, needs):
    ga = F.op("sparse_mm", g, b, pattern=pattern) if needs[0] else None
    gb = F.op("sparse_mm", g, a, pattern=pattern.T) if needs[1] else None
    return ga, gb


def _sparse_sampled_samples(rng):
    samples = []
    for m, k, n, nnz, repeats, note in ((4, 5, 3, 7, False, ""), (3, 4, 2, 8, True, "repeats")):
        pattern = _random_pattern(rng, m, k, nnz, repeats)
        samples.append(Sample((rng.standard_normal((m, n)), rng.standard_normal((k, n))),
                              {"pattern": pattern}, note=note))
    return samples


register("sparse_sampled", forward=_sparse_sampled, vjp=_sparse_sampled_vjp,
         samples=_sparse_sampled_samples, wants_needs=True)
