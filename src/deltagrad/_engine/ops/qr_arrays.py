"""QR's forward over arrays: LAPACK's geqrf and orgqr per matrix (SciPy's wrappers, through a
plan worked out once per shape) or NumPy's batched qr, the results packed as [Q, R]. Moved out
of ops/decompositions.py (session 31, SL5S) to keep it under the 800-line limit;
decompositions imports them back (the rules stay there).
"""

from __future__ import annotations

import numpy as np

from . import linalg_solve
from .linalg_solve import lapack, pack, packed_each, triangle_mask

QR_MODES = ("reduced", "complete", "r")


def qr_shapes(m: int, n: int, mode: str) -> list:
    """The shapes of ``[Q, R]`` (of ``[R]`` for mode ``'r'``)."""
    k = min(m, n)
    if mode == "r":
        return [(k, n)]
    rows = m if mode == "complete" else k
    return [(m, rows), (rows, n)]


def qr_arrays(a: np.ndarray, mode: str) -> tuple:
    """``(Q, R)`` of each matrix (``(R,)`` for mode ``'r'``): LAPACK's geqrf and orgqr, as
    PyTorch's (and NumPy's) on the CPU."""
    geqrf = lapack("geqrf", a) if a.ndim == 2 and a.size else None
    if geqrf is None:
        result = np.linalg.qr(a, mode=mode)
        return (result,) if mode == "r" else tuple(result)
    (m, n), k = a.shape, min(a.shape)
    rows = m if mode == "complete" else k
    factors, tau, _, _ = geqrf(a)
    r = np.where(triangle_mask(max(m, n), True, False, bool)[:rows, :n], factors[:rows], 0)
    if mode == "r":
        return (r,)
    if m < n:
        reflectors = factors[:, :m]
    elif mode == "complete" and m > n:
        reflectors = np.empty((m, m), dtype=factors.dtype, order="F")
        reflectors[:, :n] = factors
    else:
        reflectors = factors
    return lapack("orgqr", a)(reflectors, tau, overwrite_a=1)[0], r


_QR_PLANS: dict = {}


def _qr_plan(m: int, n: int, dtype, mode: str):
    """``(geqrf, orgqr, R's mask, R's rows, packed [rows, width])`` for ``m x n`` matrices,
    worked out once per shape (the Python around two LAPACK calls costs what they do); None
    where SciPy is off or missing."""
    key = (m, n, dtype, mode, linalg_solve.USE_SCIPY)
    plan = _QR_PLANS.get(key, False)
    if plan is False:
        geqrf, orgqr = lapack("geqrf", dtype), lapack("orgqr", dtype)
        rows = m if mode == "complete" else min(m, n)  # R's
        shape = (rows, n) if mode == "r" else (m + rows, max(rows, n))
        mask = triangle_mask(max(m, n), True, False, bool)[:rows, :n]
        plan = _QR_PLANS[key] = None if geqrf is None else (geqrf, orgqr, mask, rows, shape)
    return plan


def _qr_into(out, a, index, batched, plan, mode):
    """One matrix's Q and R into its zeroed slice of the packed result (R alone for 'r')."""
    geqrf, orgqr, mask, rows, _ = plan
    m, n = a.shape
    factors, tau, _, _ = geqrf(a)
    # R: its triangle copied into the zeros (0.55 us, where np.where and a copy cost 1.2;
    # multiplying by the mask would turn a nan below the diagonal into R's)
    np.copyto(out[-rows:, :n], factors[:rows], where=mask)
    if mode == "r":
        return
    if m < n:
        factors = factors[:, :m]
    elif rows > n:  # complete, tall: Q's other columns from the reflectors too
        reflectors = np.empty((m, m), dtype=factors.dtype, order="F")
        reflectors[:, :n] = factors
        factors = reflectors
    out[:m, :rows] = orgqr(factors, tau, overwrite_a=1)[0]


def qr_forward(a: np.ndarray, *, mode: str) -> np.ndarray:
    """linalg_qr's forward: ``[Q, R]`` packed (``R`` for mode 'r'), with ``a``'s diagonal
    zeros read as PyTorch's LAPACK reads them (``positive_diagonal``)."""
    if np.count_nonzero(a) == a.size:  # (the usual case, no zero: 0.17 us; qr of 4 x 3 6.8
        return _qr_packed(a, mode)  # -> 7.0 us, thread time, alternated with HEAD)
    a, negative = positive_diagonal(a)
    packed = _qr_packed(a, mode)
    if negative is not None:  # R's diagonal: the last rows (R's), from the first column
        rows = a.shape[-2] if mode == "complete" else negative.shape[-1]
        negative_zeros_back(packed[..., packed.shape[-2] - rows:, :], negative)
    return packed


def positive_diagonal(a: np.ndarray) -> tuple:
    """``(a, None)``, or for ``a`` with -0.0 on its diagonal a copy with +0.0 there and the
    mask of those elements. A Householder step of QR (LAPACK's dlarfg) gives R's diagonal
    element the sign opposite to the diagonal element it reflects; NumPy's LAPACK reads -0.0
    as negative (Fortran's SIGN), PyTorch's (MKL) as positive, so a column of Q and a row of
    R came out negated (linalg.qr, geqrf; SL5's soak, s31). ``negative_zeros_back`` then
    restores the -0.0 of an element nothing was reflected into."""
    if np.count_nonzero(a) == a.size:  # (no zero: 0.17 us, the diagonal's view 0.29)
        return a, None
    diagonal = a.diagonal(0, -2, -1)
    negative = (diagonal == 0) & np.signbit(diagonal.real)
    if not negative.any():
        return a, None
    steps = np.arange(diagonal.shape[-1])
    positive = a.copy()
    positive[..., steps, steps] = np.where(negative, 0, diagonal)
    return positive, negative


def negative_zeros_back(r: np.ndarray, negative: np.ndarray) -> None:
    """In place: -0.0 on ``r``'s diagonal where ``negative`` (``positive_diagonal``'s mask)
    and the factor left it 0 (no column below it to reflect: R's element is the input's)."""
    steps = np.arange(negative.shape[-1])
    kept = r[..., steps, steps]
    r[..., steps, steps] = np.where(negative & (kept == 0), -0.0, kept)


def _qr_packed(a, mode):
    plan = _qr_plan(*a.shape[-2:], a.dtype, mode) if a.size else None
    if plan is not None:
        if a.ndim == 2:  # (one matrix: 5.3 -> 3.7 us on 4 x 3, with the plan and no loop)
            packed = np.zeros(plan[-1], dtype=a.dtype)
            _qr_into(packed, a, 0, False, plan, mode)
            return packed
        # (a loop of LAPACK calls is cheaper than NumPy's batched qr up to about 8 matrices)
        packed = packed_each(_qr_into, a, *plan[-1], True, most=8, extra=(plan, mode))
        if packed is not None:
            return packed
    return pack(*qr_arrays(a, mode), batch=a.shape[:-2])
