"""Inverses, determinants, linear and triangular solves and the LU factorization of (batches
of) matrices, and the LAPACK layer every linear-algebra op shares (``lapack``, the triangle
masks, ``pack`` / ``unpack`` for ops with several results).

Each forward works on the last two axes (batch axes broadcast, and the engine sums broadcast
gradients back). A singular matrix raises ``LinAlgError`` (a RuntimeError, as PyTorch's
``torch.linalg.LinAlgError``), with PyTorch's message, not NumPy's ValueError.

Two paths, switched by ``USE_SCIPY`` (on; SciPy imported lazily on first use, so ``import
deltagrad`` needs only NumPy; tests run both):

- SciPy: its thin LAPACK and BLAS wrappers (``scipy.linalg.lapack.dgesv``, ``blas.dtrsm``, ...,
  found by ``lapack``), one call per matrix, in the input's precision (float32 stays float32,
  as PyTorch's). They skip NumPy's argument checks and wrapping: on a 3 x 3 float32 matrix
  ``gesv`` costs 0.75 against ``np.linalg.solve``'s 4.3 us, ``potrf`` 0.5 against
  ``np.linalg.cholesky``'s 3.4, ``syevd`` 1.4 against ``np.linalg.eigh``'s 5.0 (timeit, this
  machine). One matrix shared by a batch of right-hand sides is one call (the columns side by
  side); a batch of up to ``LOOP_MAX`` matrices a loop of calls (more for QR and LU, whose
  NumPy paths cost more).
- NumPy: ``np.linalg``'s batched functions (they compute float32 in float64, then round), for
  larger batches (one call over the batch costs less than a loop there) and without SciPy.
  LU has no NumPy routine: ``lu_factor_arrays`` eliminates, vectorized over the batch.

Triangular solves use BLAS's ``trsm``, which, as PyTorch's, does not check the diagonal: a zero
on it gives inf or nan, not an error (the NumPy path substitutes row by row where
``np.linalg.solve`` finds the matrix singular).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .lu_arrays import (  # (moved out: session 27, FS1)
    lu_factor_arrays,
    permutation_matrices,
    row_order,
)
from .registry import ARRAY, Sample, register

__all__ = ["USE_SCIPY", "LinAlgError", "LOOP_MAX", "batch_element", "constant", "lapack",
           "layout", "lu_factor_arrays", "pack", "packed_each", "permutation_matrices",
           "solve_triangular_arrays", "triangle_mask", "unpack"]

USE_SCIPY = True  # SciPy's LAPACK / BLAS wrappers when importable (tests switch it off)


class LinAlgError(RuntimeError):
    """A linear-algebra routine failed on its input (a singular matrix), as
    ``torch.linalg.LinAlgError``."""


_ROUTINES: dict = {}
_PREFIX = {np.dtype(np.float32): "s", np.dtype(np.float64): "d"}


def lapack(name: str, dtype) -> Callable | None:
    """SciPy's wrapper of the LAPACK or BLAS routine ``name`` (``'gesv'``, ``'trsm'``, ...) for
    ``dtype`` (or for an array's dtype), or None: a dtype other than float32 and float64,
    ``USE_SCIPY`` off, no SciPy, or an array that is not an ndarray (a meta tensor's: handing
    one to SciPy's f2py wrappers corrupts reference counts and later kills the process).
    """
    if not USE_SCIPY:
        return None
    if not isinstance(dtype, np.dtype):
        if type(dtype) is not np.ndarray:
            return None  # (NumPy's path, which refuses a meta array cleanly)
        dtype = dtype.dtype
    key = (name, dtype)
    routine = _ROUTINES.get(key, False)
    if routine is False:
        routine = _ROUTINES[key] = _find(name, dtype)
    return routine


def _find(name: str, dtype) -> Callable | None:
    prefix = _PREFIX.get(np.dtype(dtype))
    if prefix is None:
        return None
    try:
        from scipy.linalg import blas  # optional accelerator; deltagrad needs only NumPy
        from scipy.linalg import lapack as wrappers
    except ImportError:
        return None
    return getattr(wrappers, prefix + name, None) or getattr(blas, prefix + name)


def as_columns(b: np.ndarray) -> np.ndarray:
    """A batch of ``[n, k]`` matrices as one ``[n, batch * k]`` matrix (for one shared left
    factor: one LAPACK call)."""
    n, k = b.shape[-2:]
    return b.reshape(-1, n, k).swapaxes(0, 1).reshape(n, -1)


def from_columns(x: np.ndarray, shape: tuple) -> np.ndarray:
    """``as_columns`` undone: ``[n, batch * k]`` back to ``shape``."""
    n, k = shape[-2:]
    return x.reshape(n, -1, k).swapaxes(0, 1).reshape(shape)


def batch_element(index: int, batched: bool) -> str:
    """PyTorch's prefix of an error about one matrix of a batch."""
    return f"(Batch element {index}): " if batched else ""


_LAYOUTS: dict = {}


def layout(shapes) -> tuple[int, int, list, bool]:
    """``(rows, width, indices, padded)`` of results of ``shapes`` (matrix dims) packed as row
    blocks: each result's basic index into the packed array, and whether any block is
    narrower than the array (cached: a call per pack and unpack)."""
    key = tuple(shapes)
    found = _LAYOUTS.get(key)
    if found is None:
        found = _LAYOUTS[key] = _layout(key)
    return found


def _layout(shapes: tuple) -> tuple[int, int, list, bool]:
    width = max([shape[-1] for shape in shapes] + [0])
    rows, indices = 0, []
    for shape in shapes:
        columns = slice(None) if shape[-1] == width else slice(0, shape[-1])
        if len(shape) == 1:
            indices.append((Ellipsis, rows, columns))
            rows += 1
        else:
            indices.append((Ellipsis, slice(rows, rows + shape[0]), columns))
            rows += shape[0]
    return rows, width, indices, any(shape[-1] != width for shape in shapes)


def pack(*arrays, batch: tuple) -> np.ndarray:
    """The arrays (each ``batch + matrix dims``) as row blocks of one ``batch + [rows,
    width]`` array (see ``layout``)."""
    skip = len(batch)
    rows, width, indices, padded = layout([x.shape[skip:] for x in arrays])
    packed = (np.zeros if padded else np.empty)(batch + (rows, width), dtype=arrays[0].dtype)
    for x, index in zip(arrays, indices):
        packed[index] = x
    return packed


def unpack(F, packed, shapes: list) -> list:
    """The results ``pack`` joined (one basic index each: views for arrays)."""
    return [F.getitem(packed, index) for index in layout(shapes)[2]]


# Up to this many matrices a batch is a loop of LAPACK calls, one per matrix; beyond it NumPy's
# batched functions (one call) cost less. Two 3 x 3 (alternated, thread CPU time, this machine):
# eigh 4.7 against 6.7 us, cholesky 2.4 against 3.5, solve 2.9 against 4.7, svd 8.0 against
# 11.2, qr 3.7 against 12.5; four: even (qr still 7.0 against 13.6); eight: NumPy's 1.2 to
# 1.7 x less.
LOOP_MAX = 3


def packed_each(into, a: np.ndarray, rows: int, width: int, padded: bool,
                most: int = LOOP_MAX, extra: tuple = ()) -> np.ndarray | None:
    """A new ``batch + [rows, width]`` array (zeros where ``padded``, else uninitialized) with
    ``into(out, matrix, index, batched, *extra)`` run for each matrix of ``a`` and its ``[rows,
    width]`` slice; None for a batch of more than ``most`` matrices (or none), which then
    takes NumPy's batched path."""
    batch = a.shape[:-2]
    count = math.prod(batch)
    if count > most or count == 0:
        return None
    packed = (np.zeros if padded else np.empty)(batch + (rows, width), dtype=a.dtype)
    if not batch:
        into(packed, a, 0, False, *extra)
        return packed
    flat, flat_a = packed, a
    if len(batch) > 1:  # (one batch dim: no reshapes)
        flat, flat_a = packed.reshape((count, rows, width)), a.reshape((count,) + a.shape[-2:])
    for index, (out, matrix) in enumerate(zip(flat, flat_a)):
        into(out, matrix, index, True, *extra)
    return packed


_CONSTANTS: dict = {}


def constant(name: str, n: int, dtype) -> np.ndarray:
    """A cached, read-only ``[n, n]`` matrix: ``'eye'``, ``'off'`` (1 off the diagonal) or
    ``'half_lower'`` (1 below the diagonal, 1/2 on it)."""
    key = (name, n, dtype)
    value = _CONSTANTS.get(key)
    if value is None:
        eye = np.eye(n, dtype=dtype)
        if name == "eye":
            value = eye
        elif name == "off":
            value = 1.0 - eye
        else:
            value = np.tril(np.ones((n, n), dtype=dtype)) - 0.5 * eye
        value.flags.writeable = False
        _CONSTANTS[key] = value
    return value


def _mt(F, x):
    return F.swapaxes(x, -1, -2)


def _solve_upper(F, r, b):
    """``R⁻¹ B`` for upper-triangular ``R`` (a triangular solve, differentiable again)."""
    return F.op("linalg_solve_triangular", r, b, upper=True, unitriangular=False)


def _numpy(function, name: str, what: str):
    """``function`` (an ``np.linalg`` one) raising ``LinAlgError`` instead of NumPy's error."""
    def call(*arrays):
        try:
            return function(*arrays)
        except np.linalg.LinAlgError:
            raise LinAlgError(f"{name}: {what} because the input matrix is singular.") from None

    return call


def _well_conditioned(rng, *shape):
    """Random square matrices near the identity (their inverses and logs stay tame)."""
    n = shape[-1]
    return rng.standard_normal(shape) * 0.3 + np.eye(n) * 2.0


# --------------------------------------------------------------------------------------------
# Inverse: d(A⁻¹) = -A⁻¹ dA A⁻¹, so Ā = -A⁻ᵀ Ḡ A⁻ᵀ.

_numpy_inv = _numpy(np.linalg.inv, "linalg.inv", "the inversion could not be completed")


def _by_columns(x: np.ndarray) -> np.ndarray:
    """``x`` with each matrix column-major, the layout LAPACK's results have in PyTorch (for
    NumPy's complex results, SL22 s29: same values)."""
    return np.ascontiguousarray(x.swapaxes(-1, -2)).swapaxes(-1, -2)


def _inv_forward(a):
    gesv = lapack("gesv", a) if a.size else None
    if gesv is None:
        return _by_columns(_numpy_inv(a)) if a.dtype.kind == "c" else _numpy_inv(a)
    # A X = I by gesv, as PyTorch's: getri's inverse differs in the signs of zeros (-0.0 off
    # the diagonal of a diagonal matrix). (1.3 us on 3 x 3; getrf + getri 1.1)
    eye = constant("eye", a.shape[-1], a.dtype)
    if a.ndim == 2:
        return _inv_one(a, eye, gesv, 0, False)

    def into(out, matrix, index, batched):  # (each inverse's transpose: a row-major copy)
        out[...] = _inv_one(matrix, eye, gesv, index, batched).T

    # (each matrix column-major, as PyTorch's batched inverse: the transposes, transposed)
    packed = packed_each(into, a, a.shape[-2], a.shape[-1], False)
    return packed.swapaxes(-1, -2) if packed is not None else _by_columns(_numpy_inv(a))


def _inv_one(a, eye, gesv, index, batched):
    _, _, inverse, info = gesv(a, eye)
    if info > 0:
        raise LinAlgError(f"linalg.inv: {batch_element(index, batched)}The diagonal element "
                          f"{info} is zero, the inversion could not be completed because the "
                          "input matrix is singular.")
    return inverse


def _inv_vjp(F, g, out, a):
    out_t = F.swapaxes(out, -1, -2)
    return (-F.matmul(F.matmul(out_t, g), out_t),)


def _inv_samples(rng):
    return [Sample((_well_conditioned(rng, 3, 3),)), Sample((_well_conditioned(rng, 2, 3, 3),)),
            Sample((_well_conditioned(rng, 1, 1),))]


register("linalg_inv", forward=_inv_forward, vjp=_inv_vjp, samples=_inv_samples)


# --------------------------------------------------------------------------------------------
# Determinant: d det = det · tr(A⁻¹ dA), so Ā = ḡ det A⁻ᵀ (the transposed adjugate).


def _adjugate_t(a: np.ndarray) -> np.ndarray:
    """The transposed adjugate of each matrix, through its SVD (defined for singular ones)."""
    u, s, vt = np.linalg.svd(a)
    n = s.shape[-1]
    others = np.stack([np.prod(np.delete(s, i, axis=-1), axis=-1) for i in range(n)], axis=-1)
    sign = np.linalg.det(u) * np.linalg.det(vt)
    # adj(A) = det(U) det(Vᵀ) V diag(∏_{j≠i} s_j) Uᵀ; its transpose:
    return sign[..., None, None] * np.matmul(u * others[..., None, :], vt)


def _det_vjp(F, g, out, a):
    scale = F.reshape(g * out, g.shape + (1, 1))
    if F.data(out).all():
        # NOTE: det · A⁻¹ must come from one factorization where A is near singular (its tiny
        # pivot cancels): np.linalg.inv runs in det's precision (float64 for float32), where
        # LAPACK's float32 inverse would not match the forward's det (float32 rank-2 sample:
        # gradient off by 5 x).
        inverse = np.linalg.inv(a) if F is ARRAY else F.op("linalg_inv", a)
        return (scale * F.swapaxes(inverse, -1, -2),)
    # NOTE: a singular matrix has no inverse but a gradient all the same: g · adj(A)ᵀ, from
    # the SVD. It is a constant to a second derivative (exact first derivatives only there).
    adj_t = F.const(_adjugate_t(F.data(a)))
    return (F.reshape(g, g.shape + (1, 1)) * adj_t,)


def _det_samples(rng):
    singular = rng.standard_normal((3, 2)) @ rng.standard_normal((2, 3))
    return [Sample((_well_conditioned(rng, 3, 3),)), Sample((_well_conditioned(rng, 2, 2, 2),)),
            Sample((singular,), note="rank 2: gradient from the adjugate",
                   second_order=False)]


register("linalg_det", forward=np.linalg.det, vjp=_det_vjp, samples=_det_samples)


# --------------------------------------------------------------------------------------------
# slogdet: sign(det A) and log |det A|, packed along a last axis of 2 (as PyTorch's, one op with
# two results; the api layer takes each out with a getitem, so the sign is in the graph, with
# no gradient). d log|det| = tr(A⁻¹ dA), so Ā = ḡ A⁻ᵀ. (The op keeps the name of the result
# that carries the gradient.)


def _logabsdet_forward(a):
    sign, logabsdet = np.linalg.slogdet(a)
    # (one slogdet for both: the api called it twice, and recorded the sign through 3 ops)
    packed = np.empty(np.shape(sign) + (2,), dtype=a.dtype)
    packed[..., 0] = sign
    packed[..., 1] = logabsdet
    return packed


def _logabsdet_vjp(F, g, out, a):
    g = F.getitem(g, (Ellipsis, 1))
    return (F.reshape(g, g.shape + (1, 1)) * F.swapaxes(F.op("linalg_inv", a), -1, -2),)


def _logabsdet_samples(rng):
    return [Sample((_well_conditioned(rng, 3, 3),)), Sample((-_well_conditioned(rng, 2, 3, 3),))]


register("linalg_logabsdet", forward=_logabsdet_forward, vjp=_logabsdet_vjp,
         samples=_logabsdet_samples)


# --------------------------------------------------------------------------------------------
# Solve A X = B (B a batch of matrices; the api layer turns vectors into one-column matrices):
# B̄ = A⁻ᵀ Ḡ (another solve) and Ā = -B̄ Xᵀ.

_numpy_solve = _numpy(np.linalg.solve, "torch.linalg.solve", "The solver failed")


def _solve_forward(a, b):
    gesv = lapack("gesv", a)
    if gesv is None or b.dtype != a.dtype or a.size == 0 or b.size == 0:
        x = _numpy_solve(a, b)
        return _by_columns(x) if x.ndim >= 2 else x
    if a.ndim == 2:  # (a batch of right-hand sides side by side: one call)
        _, _, x, info = gesv(a, b if b.ndim == 2 else as_columns(b))
        if info > 0:
            raise _singular_solve(0, b.ndim > 2)
        return x if b.ndim == 2 else from_columns(x, b.shape)
    count = math.prod(a.shape[:-2])
    if count > LOOP_MAX or (b.ndim > 2 and b.shape[:-2] != a.shape[:-2]):
        return _by_columns(_numpy_solve(a, b))
    # (each matrix column-major, as PyTorch's batched solve: a [count, k, n] array written
    # through its transposed view, SL22 s29)
    n, k = b.shape[-2:]
    out = np.empty((count, k, n), dtype=a.dtype)
    flat_out, flat_a = out.swapaxes(1, 2), a.reshape((-1,) + a.shape[-2:])
    flat_b = (b,) * count if b.ndim == 2 else b.reshape((-1,) + b.shape[-2:])
    for i in range(count):
        _, _, x, info = gesv(flat_a[i], flat_b[i])
        if info > 0:
            raise _singular_solve(i, True)
        flat_out[i] = x
    return out.reshape(a.shape[:-2] + (k, n)).swapaxes(-1, -2)


def _singular_solve(index: int, batched: bool) -> LinAlgError:
    return LinAlgError(f"torch.linalg.solve: {batch_element(index, batched)}The solver failed "
                       "because the input matrix is singular.")


def _solve_vjp(F, g, out, a, b, needs):
    grad_b = F.op("linalg_solve", F.swapaxes(a, -1, -2), g)
    grad_a = -F.matmul(grad_b, F.swapaxes(out, -1, -2)) if needs[0] else None
    return grad_a, (grad_b if needs[1] else None)


def _solve_samples(rng):
    return [Sample((_well_conditioned(rng, 3, 3), rng.standard_normal((3, 2)))),
            Sample((_well_conditioned(rng, 2, 3, 3), rng.standard_normal((3, 1)))),
            Sample((_well_conditioned(rng, 3, 3), rng.standard_normal((2, 3, 4))))]


register("linalg_solve", forward=_solve_forward, vjp=_solve_vjp, wants_needs=True,
         samples=_solve_samples)


# --------------------------------------------------------------------------------------------
# Triangular solve T X = B, where T is A's upper (or lower) triangle, with ones on the diagonal
# when unitriangular: only those entries of A are read, so only they get a gradient.

_MASKS: dict = {}


def triangle_mask(n: int, upper: bool, unitriangular: bool, dtype, scale: float = 1.0):
    """``scale`` on the entries a triangular solve reads (the upper or lower triangle, without
    the diagonal when unitriangular), 0 elsewhere: a cached, read-only ``[n, n]`` array."""
    key = (n, upper, unitriangular, dtype, scale)
    mask = _MASKS.get(key)
    if mask is None:
        ones = np.ones((n, n), dtype=dtype)
        mask = np.triu(ones, int(unitriangular)) if upper else np.tril(ones, -int(unitriangular))
        if scale != 1.0:
            mask *= scale
        mask.flags.writeable = False
        _MASKS[key] = mask
    return mask


# Up to this many matrices a triangular solve loops over trsm calls, one each: NumPy's
# batched path must mask the triangle first (2 x 3 x 3 against 3 x 1: 2.4 against 7.5 us).
_TRIANGULAR_LOOP_MAX = 4


def solve_triangular_arrays(a: np.ndarray, b: np.ndarray, *, upper: bool,
                            unitriangular: bool = False, transpose: bool = False,
                            left: bool = True, triangular: bool = False) -> np.ndarray:
    """``T⁻¹ B`` (``T⁻ᵀ B`` when ``transpose``; ``B T⁻¹`` or ``B T⁻ᵀ`` when not ``left``) for
    ``T`` the upper or lower triangle of each ``a`` (unit diagonal when ``unitriangular``),
    batch dims broadcast. Entries outside the triangle are never read. ``triangular``: ``a``
    is ``T`` already (zeros outside the triangle, its diagonal included), which spares the
    NumPy path the masking."""
    trsm = lapack("trsm", a)
    if trsm is not None and b.dtype == a.dtype and a.size and b.size:
        # (positional options: side, lower, trans_a, diag)
        side, lower, trans, diag = int(not left), int(not upper), int(transpose), int(unitriangular)
        if a.ndim == 2:
            if b.ndim == 2:
                return trsm(1.0, a, b, side, lower, trans, diag)
            if not left:  # X T = B row by row: the rows of every B stacked
                rows = b.reshape(-1, b.shape[-1])
                return trsm(1.0, a, rows, side, lower, trans, diag).reshape(b.shape)
            return from_columns(trsm(1.0, a, as_columns(b), side, lower, trans, diag), b.shape)
        if (a.ndim == 3 and a.shape[0] <= _TRIANGULAR_LOOP_MAX
                and (b.ndim == 2 or b.shape[:-2] == a.shape[:-2])):  # a few: a call each
            count = a.shape[0]  # (each matrix column-major, as trsm's: PyTorch's strides)
            out = np.empty((count,) + b.shape[:-3:-1], dtype=b.dtype).swapaxes(1, 2)
            if b.ndim == 2:
                for i in range(count):
                    out[i] = trsm(1.0, a[i], b, side, lower, trans, diag)
            else:
                for i in range(count):
                    out[i] = trsm(1.0, a[i], b[i], side, lower, trans, diag)
            return out
    if not triangular:
        a = np.where(triangle_mask(a.shape[-1], upper, unitriangular, bool), a, 0)
        if unitriangular:
            a = a + np.eye(a.shape[-1], dtype=a.dtype)
    return _numpy_triangular(a, b, upper, transpose, left)


def _numpy_triangular(t, b, upper, transpose, left):
    if transpose:
        t, upper = np.swapaxes(t, -1, -2), not upper
    if not left:  # X T = B  <=>  Tᵀ Xᵀ = Bᵀ
        t, upper, b = np.swapaxes(t, -1, -2), not upper, np.swapaxes(b, -1, -2)
    try:
        x = np.linalg.solve(t, b)
    except np.linalg.LinAlgError:
        x = _substitute(t, b, upper)
    return np.swapaxes(x, -1, -2) if not left else x


def _substitute(t, b, upper):
    """Back (forward) substitution, row by row: a zero on the diagonal gives inf or nan, as
    BLAS's trsm (and PyTorch's solve), where ``np.linalg.solve`` raises."""
    n = t.shape[-1]
    batch = np.broadcast_shapes(t.shape[:-2], b.shape[:-2])
    x = np.array(np.broadcast_to(b, batch + b.shape[-2:]), dtype=np.result_type(t, b))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for i in (range(n - 1, -1, -1) if upper else range(n)):
            rest = slice(i + 1, n) if upper else slice(0, i)
            done = np.matmul(t[..., i:i + 1, rest], x[..., rest, :])[..., 0, :]
            x[..., i, :] = (x[..., i, :] - done) / t[..., i, i, None]
    return x


def _solve_triangular_forward(a, b, *, upper, unitriangular):
    x = solve_triangular_arrays(a, b, upper=upper, unitriangular=unitriangular)
    # (each matrix column-major, as PyTorch's: trsm's own and the loop's are already)
    size, n, k = x.itemsize, x.shape[-2], x.shape[-1]
    if x.strides[-2:] == (size, n * size) and (x.ndim == 2 or x.strides[-3] == n * k * size):
        return x
    return _by_columns(x)


def _solve_triangular_vjp(F, g, out, a, b, needs, *, upper, unitriangular):
    # B̄ = T⁻ᵀ Ḡ (the solve with Aᵀ's other triangle) and Ā = -B̄ Xᵀ on T's entries.
    mask = triangle_mask(a.shape[-1], upper, unitriangular, F.data(g).dtype, -1.0)
    if F is ARRAY:
        grad_b = solve_triangular_arrays(a, g, upper=upper, unitriangular=unitriangular,
                                         transpose=True)
        grad_a = None
        if needs[0]:
            grad_a = np.matmul(grad_b, out.swapaxes(-1, -2))
            grad_a *= mask
        return grad_a, (grad_b if needs[1] else None)
    grad_b = F.op("linalg_solve_triangular", F.swapaxes(a, -1, -2), g, upper=not upper,
                  unitriangular=unitriangular)
    grad_a = F.matmul(grad_b, F.swapaxes(out, -1, -2)) * F.const(mask) if needs[0] else None
    return grad_a, (grad_b if needs[1] else None)


def _solve_triangular_samples(rng):
    a = _well_conditioned(rng, 3, 3)
    return [Sample((a, rng.standard_normal((3, 2))), {"upper": True, "unitriangular": False}),
            Sample((a, rng.standard_normal((3, 2))), {"upper": False, "unitriangular": False}),
            Sample((_well_conditioned(rng, 2, 3, 3), rng.standard_normal((3, 1))),
                   {"upper": False, "unitriangular": True})]


register("linalg_solve_triangular", forward=_solve_triangular_forward,
         vjp=_solve_triangular_vjp, wants_needs=True, samples=_solve_triangular_samples)


# --------------------------------------------------------------------------------------------
# LU with partial pivoting, as LAPACK's getrf stores it: A = P L U, L unit lower
# triangular (trapezoidal when m > n) in the strict lower part of one matrix, U in its upper
# part; pivots (1-based: row j was swapped with row pivots[j]). Packed as [LU, pivots], the
# pivots as floats (exact), locally constant so without gradient.
#
# Square: with X = L⁻¹ Pᵀ dA U⁻¹, L⁻¹ dL is X's strict lower part and dU U⁻¹ its upper part, so
# Ā = P L⁻ᵀ (tril(Lᵀ L̄, -1) + triu(Ū Uᵀ)) U⁻ᵀ. Tall (m > n): the rows below, L₂ = A₂ U⁻¹, add
# Ā₂ = L̄₂ U⁻ᵀ and -L₂ᵀ L̄₂ U⁻ᵀ to Ū. Wide (m < n): the columns right, U₂ = L⁻¹ A₂, add
# Ā₂ = L⁻ᵀ Ū₂ and -L⁻ᵀ Ū₂ U₂ᵀ to L̄.


def _permute_rows(pivots: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``P X`` for the ``P`` of ``pivots``, by moving rows: row i of X to row order[i]."""
    laswp = lapack("laswp", x) if x.size else None
    count = math.prod(x.shape[:-2])
    if laswp is not None and count <= 8 * pivots.shape[-1]:
        # The row swaps applied last to first, one LAPACK call per matrix (two 4 x 4: 4.3
        # against 17.6 us for the vectorized swaps below).
        swaps = pivots.astype(np.int32) - 1
        if x.ndim == 2:
            return laswp(x, swaps, inc=-1)
        out = np.empty(x.shape, dtype=x.dtype)
        flat_out = out.reshape((count,) + x.shape[-2:])
        flat_x = x.reshape(flat_out.shape)
        flat_swaps = swaps.reshape(count, -1)
        for i in range(count):
            flat_out[i] = laswp(flat_x[i], flat_swaps[i], inc=-1)
        return out
    m = x.shape[-2]
    order = row_order(pivots, m)
    out = np.empty(x.shape, dtype=x.dtype)
    if order.ndim == 1:
        out[..., order, :] = x
    else:
        batch = np.arange(math.prod(order.shape[:-1]))[:, None]
        out.reshape((-1,) + x.shape[-2:])[batch, order.reshape(-1, m)] = (
            x.reshape((-1,) + x.shape[-2:]))
    return out


def _lu_into(out, a, index, batched, getrf):
    """One matrix's LU factors and (1-based, as floats) pivots into its slice of the packed
    result (pivots zero-padded when wide)."""
    lu, pivots, _ = getrf(a)
    m = a.shape[0]
    out[:m] = lu
    np.add(pivots, 1, out=out[m, :pivots.shape[0]])  # (SciPy's are 0-based)


def _lu_factor_forward(a):
    getrf = lapack("getrf", a) if a.size else None
    if getrf is not None:
        (m, n), k = a.shape[-2:], min(a.shape[-2:])
        if a.ndim == 2:  # (one matrix: no loop, no closure)
            packed = (np.zeros if k < n else np.empty)((m + 1, n), dtype=a.dtype)
            _lu_into(packed, a, 0, False, getrf)
            return packed
        # LAPACK per matrix for up to 8 k matrices, else the elimination: 4 x 4, 2 matrices
        # 9 against 122 us, 16: 93 against 156, 64: 309 against 180 (alternated, this machine).
        packed = packed_each(_lu_into, a, m + 1, n, k < n, most=8 * k, extra=(getrf,))
        if packed is not None:
            return packed
    if not a.size:  # (no elimination to run; its reshapes cannot take 0 x n)
        return pack(a.copy(), np.zeros(a.shape[:-2] + (min(a.shape[-2:]),), a.dtype),
                    batch=a.shape[:-2])
    lu, pivots, _ = lu_factor_arrays(a)
    return pack(lu, pivots.astype(a.dtype), batch=a.shape[:-2])


def _lu_square_vjp(F, lu, g_lu):
    if F is ARRAY:
        return _lu_square_arrays(lu, g_lu)
    n, dtype = lu.shape[-1], F.data(lu).dtype
    strict = F.const(triangle_mask(n, False, True, dtype))
    upper = F.const(triangle_mask(n, True, False, dtype))
    lower = lu * strict + F.const(constant("eye", n, dtype))
    inner = (F.matmul(_mt(F, lower), g_lu * strict) * strict
             + F.matmul(g_lu * upper, _mt(F, lu * upper)) * upper)
    y = F.op("linalg_solve_triangular", _mt(F, lu), inner, upper=True, unitriangular=True)
    return _mt(F, _solve_upper(F, lu, _mt(F, y)))  # L⁻ᵀ inner U⁻ᵀ


_LU_PLANS: dict = {}


def _lu_plan(n: int, dtype):
    """``(trmm, trsm, laswp, tril(1, -1), triu(1, 1), tril(1))`` for the BLAS form of LU's
    rule on ``n x n`` factors, found once per size (None without SciPy)."""
    key = (n, dtype, USE_SCIPY)
    plan = _LU_PLANS.get(key, False)
    if plan is False:
        trmm = lapack("trmm", dtype)
        plan = _LU_PLANS[key] = None if trmm is None else (
            trmm, lapack("trsm", dtype), lapack("laswp", dtype),
            triangle_mask(n, False, True, dtype), triangle_mask(n, True, True, dtype),
            triangle_mask(n, False, False, dtype))
    return plan


def _lu_square_blas(lu, g, plan):
    """``L⁻ᵀ (tril(Lᵀ Ḡ, -1) + triu(Ḡ Uᵀ)) U⁻ᵀ`` for one square matrix: BLAS's triangular
    products and solves read L and U in the factors themselves."""
    trmm, trsm, _, strict, strict_upper, lower = plan
    g_lower = g * strict
    inner = trmm(1.0, lu, g_lower, 0, 1, 1, 1)  # Lᵀ tril(Ḡ, -1) (left, lower, ᵀ, unit)
    # (BLAS's results are Fortran-ordered: masked through their C-ordered transposes, with
    # the transposed masks: 0.8 -> 0.3 us a product)
    np.multiply(inner.T, strict_upper, out=inner.T)
    upper_part = trmm(1.0, lu, g - g_lower, 1, 0, 1, 0)  # triu(Ḡ) Uᵀ (right, upper, ᵀ)
    np.multiply(upper_part.T, lower, out=upper_part.T)
    inner += upper_part
    x = trsm(1.0, lu, inner, 0, 1, 1, 1)  # L⁻ᵀ inner (left, lower, ᵀ, unit)
    return trsm(1.0, lu, x, 1, 0, 1, 0)  # (L⁻ᵀ inner) U⁻ᵀ (right, upper, ᵀ)


def _lu_square_arrays(lu, g):
    # _lu_square_vjp on arrays: BLAS's form for one matrix; for a batch the triangles made
    # once, the solves on them (no masking again).
    n, dtype = lu.shape[-1], lu.dtype
    strict, upper = triangle_mask(n, False, True, dtype), triangle_mask(n, True, False, dtype)
    plan = _lu_plan(n, dtype)
    if plan is not None and lu.ndim == 2:
        return _lu_square_blas(lu, g, plan)
    lower = lu * strict
    lower += constant("eye", n, dtype)
    inner = np.matmul(lower.swapaxes(-1, -2), g * strict)
    inner *= strict
    u = lu * upper
    upper_part = np.matmul(g * upper, u.swapaxes(-1, -2))
    upper_part *= upper
    inner += upper_part
    if lu.ndim == 2:  # (NumPy's path: no trmm)
        x = solve_triangular_arrays(lu, inner, upper=False, unitriangular=True, transpose=True)
        return solve_triangular_arrays(lu, x, upper=True, transpose=True, left=False)
    x = solve_triangular_arrays(lower, inner, upper=False, transpose=True, triangular=True)
    return solve_triangular_arrays(u, x, upper=True, transpose=True, left=False, triangular=True)


def _lu_one(out, g, plan):
    """The gradient of one matrix from its packed factors and cotangent (``[m + 1, n]``: LU,
    then the pivots), by BLAS, rows swapped back last (LAPACK's laswp). The rule of
    ``_lu_factor_vjp``, each step one call on the factors in place."""
    m, n = out.shape[0] - 1, out.shape[1]
    _, trsm, laswp = plan[:3]
    lu = out[:m]
    if m == n:
        x = _lu_square_blas(lu, g[:m], plan)
    elif m > n:  # tall: the rows below, L₂ = A₂ U⁻¹
        x = np.empty((m, n), dtype=g.dtype)
        x[n:] = trsm(1.0, lu[:n], g[n:m], 1, 0, 1, 0)  # L̄₂ U⁻ᵀ (right, upper, ᵀ)
        g_top = g[:n] - np.dot(lu[n:].T, x[n:]) * triangle_mask(n, True, False, g.dtype)
        x[:n] = _lu_square_blas(lu[:n], g_top, plan)
    else:  # wide: the columns right, U₂ = L⁻¹ A₂
        x = np.empty((m, n), dtype=g.dtype)
        x[:, m:] = trsm(1.0, lu[:, :m], g[:m, m:], 0, 1, 1, 1)  # L⁻ᵀ Ū₂ (left, lower, ᵀ, unit)
        g_left = g[:m, :m] - np.dot(x[:, m:], lu[:, m:].T) * plan[3]
        x[:, :m] = _lu_square_blas(lu[:, :m], g_left, plan)
    return laswp(x, out[m, :min(m, n)].astype(np.int32) - 1, inc=-1)  # P X: swaps last first


def _lu_factor_vjp(F, g, out, a):
    m, n = a.shape[-2:]
    if not a.size:  # (an empty gradient: nothing for the triangular steps to act on)
        return (F.zeros_like(a),)
    if F is ARRAY:
        plan = _lu_plan(min(m, n), g.dtype)
        count = math.prod(a.shape[:-2])
        if plan is not None and count <= LOOP_MAX:  # one matrix, or a few: one at a time
            if a.ndim == 2:
                return (_lu_one(out, g, plan),)
            grad = np.empty(a.shape, dtype=g.dtype)
            flat_grad, flat_out = grad.reshape((count, m, n)), out.reshape((count, m + 1, n))
            flat_g = g.reshape(flat_out.shape)
            for i in range(count):
                flat_grad[i] = _lu_one(flat_out[i], flat_g[i], plan)
            return (grad,)
    k, dtype = min(m, n), F.data(g).dtype
    lu, pivots = unpack(F, out, [(m, n), (k,)])
    g_lu, _ = unpack(F, g, [(m, n), (k,)])
    strict = F.const(triangle_mask(k, False, True, dtype))
    upper = F.const(triangle_mask(k, True, False, dtype))
    if m == n:
        x = _lu_square_vjp(F, lu, g_lu)
    elif m > n:
        top, bottom = (Ellipsis, slice(0, n), slice(None)), (Ellipsis, slice(n, None), slice(None))
        lu_top, lower_rest = F.getitem(lu, top), F.getitem(lu, bottom)
        x_rest = _mt(F, _solve_upper(F, lu_top, _mt(F, F.getitem(g_lu, bottom))))
        g_top = F.getitem(g_lu, top) - F.matmul(_mt(F, lower_rest), x_rest) * upper
        x = F.concatenate([_lu_square_vjp(F, lu_top, g_top), x_rest], -2)
    else:
        left, right = (Ellipsis, slice(None), slice(0, m)), (Ellipsis, slice(None), slice(m, None))
        lu_left, u_rest = F.getitem(lu, left), F.getitem(lu, right)
        x_rest = F.op("linalg_solve_triangular", _mt(F, lu_left), F.getitem(g_lu, right),
                      upper=True, unitriangular=True)
        g_left = F.getitem(g_lu, left) - F.matmul(x_rest, _mt(F, u_rest)) * strict
        x = F.concatenate([_lu_square_vjp(F, lu_left, g_left), x_rest], -1)
    pivots = np.asarray(F.data(pivots))
    if F is ARRAY:
        return (_permute_rows(pivots, x),)
    return (F.matmul(F.const(permutation_matrices(pivots, m, dtype)), x),)


def _lu_factor_samples(rng):
    return [Sample((rng.standard_normal((3, 3)) + np.diag([0.0, 2.0, -2.0]),)),
            Sample((rng.standard_normal((2, 4, 4)),)),
            Sample((rng.standard_normal((4, 2)),), note="tall"),
            Sample((rng.standard_normal((2, 2, 4)),), note="wide")]


register("linalg_lu_factor", forward=_lu_factor_forward, vjp=_lu_factor_vjp,
         samples=_lu_factor_samples)
