"""Matrix decompositions under PyTorch's names: ``linalg.cholesky``, ``eigh``, ``qr``, ``svd``,
``pinv``, ``lstsq``, ``matrix_exp``, ``householder_product``, ... and the older top-level forms
(``deltagrad.cholesky``, ``svd``, ``qr``, ``triangular_solve``, ``pinverse``, ...), which are
Tensor methods too. The LU family is in ``decompositions_lu``.

float32 / float64, and complex64 / complex128 for cholesky, eigh / eigvalsh and qr (with
gradients) and svd (values; its complex gradient raises). ``linalg.eig`` / ``eigvals`` of a real
matrix give complex results, differentiable through deltagrad.autograd's ``LinalgEig``.
Values of ``Q``, ``U``, ``V`` and eigenvectors come from LAPACK (through NumPy), as PyTorch's on
the CPU; each column is defined up to its sign, and a different LAPACK build may flip one.
"""

from __future__ import annotations

import builtins

import numpy as np

from ..autograd import _GradMode, _Recording
from ..node_names import rename_node
from ..ops import OPS
from ..ops import linalg as _linalg_ops
from ..ops.decompositions import (
    QR_MODES,
    cholesky_partial,
    not_positive_definite,
    qr_shapes,
    svd_shapes,
)
from ..ops.linalg_solve import LinAlgError, layout
from ..ops.qr_arrays import negative_zeros_back, positive_diagonal
from ..ops.registry import Op
from ..tensor import Tensor, _leaf, apply, tensor_method
from ._common import NOT_GIVEN, bool_arg, laid_out, parts, return_type, tensor_arg, tensor_input
from ._pointwise import torch_name
from .decompositions_complex import (
    complex_cholesky_inverse,
    complex_cholesky_solve,
    complex_householder,
    complex_pinv,
)
from .decompositions_inputs import (  # (moved out: session 27, FS1)
    _TYPE_NAMES,
    _check_uplo,
    _filled,
    complex_values,
    empty_of,
    matrices,
    no_out,
    unpacked,
)
from .deprecations import deprecated
from .linalg import matmul, write_cast
from .linalg_solve import cholesky_product_solve, solve_triangular
from .norms import svdvals
from .rearrange import tril
from .recorded_steps import recorded_step
from .reductions import sum

__all__ = ["cholesky", "cholesky_inverse", "cholesky_solve", "geqrf", "matrix_exp", "orgqr",
           "ormqr", "pinverse", "qr", "svd", "triangular_solve"]  # (svd_lowrank: lowrank.py)

_CHOLESKY, _EIGH, _QR, _SVD = (OPS["linalg_cholesky"], OPS["linalg_eigh"], OPS["linalg_qr"],
                               OPS["linalg_svd"])
_PINV, _MATRIX_EXP, _INV, _SOLVE = (OPS["linalg_pinv"], OPS["matrix_exp"], OPS["linalg_inv"],
                                    OPS["linalg_solve"])

CholeskyExResult = return_type("linalg_cholesky_ex", "L info")
EighResult = return_type("linalg_eigh", "eigenvalues eigenvectors")
QRResult = return_type("linalg_qr", "Q R")
SVDResult = return_type("linalg_svd", "U S Vh")
LstsqResult = return_type("linalg_lstsq", "solution residuals rank singular_values")
TorchQRResult = return_type("qr", "Q R")
TorchSVDResult = return_type("svd", "U S V")
TriangularSolveResult = return_type("triangular_solve", "solution cloned_coefficient")
GeqrfResult = return_type("geqrf", "a tau")


# ----------------------------------------------------------------------------------------------
# Cholesky.


def linalg_cholesky(A, *, upper: bool = False, out=None) -> Tensor:
    """The Cholesky factor of each symmetric positive-definite matrix: ``L`` lower triangular
    with ``A = L Lᵀ`` (or ``U = Lᵀ`` with ``A = Uᵀ U`` when ``upper``).

    Only the lower (upper when ``upper``) triangle of ``A`` is read. The gradient of a
    symmetric ``A`` is symmetric, as PyTorch's.

    Args:
        A: ``[*, n, n]`` float32 or float64.
        upper: return the upper-triangular factor.

    Returns:
        ``[*, n, n]``, the same dtype.

    Raises:
        LinAlgError: if a matrix is not positive-definite (the message names the order of the
            first leading minor that is not).

    >>> import deltagrad as dg
    >>> dg.linalg.cholesky(dg.tensor([[4.0, 2.0], [2.0, 5.0]]))
    tensor([[2., 0.],
            [1., 2.]])
    """
    A = matrices(A, "linalg.cholesky", square=True, complex_ok=True)
    # (the op reads the triangle; its gradient is PyTorch's symmetric one, see the op. A
    # complex A: Hermitian, the upper factor Lᴴ, A = Uᴴ U)
    lower = apply(_CHOLESKY, A, triangle="U" if upper else "L")
    if upper:
        lower = lower.mH if lower.is_complex() else lower.mT
    return write_cast("linalg.cholesky", out, lower, "exact")


def cholesky_ex(A, *, upper: bool = False, check_errors: bool = False,
                out=None) -> tuple[Tensor, Tensor]:
    """``(L, info)``: ``linalg.cholesky`` that reports failures in ``info`` instead of raising.

    Returns:
        A named tuple: ``L`` as ``linalg.cholesky``'s, and ``info`` (int32 ``[*]``), 0 where
        the factorization succeeded, else the order of the first leading minor that is not
        positive-definite; there ``L`` holds what LAPACK's unblocked algorithm leaves (its
        gradient cholesky's rule at those values, as PyTorch's).

    Raises:
        LinAlgError: if ``check_errors`` and a matrix is not positive-definite.
    """
    A = matrices(A, "linalg.cholesky_ex", square=True, complex_ok=True)  # (s28 DX1: complex)
    try:
        lower = apply(_CHOLESKY, A, triangle="U" if upper else "L")
        info = np.zeros(A.shape[:-2], dtype=np.int32)
    except LinAlgError:
        partial, info = cholesky_partial(_filled(A, upper))
        if check_errors:
            flat = info.reshape(-1)
            index = int(np.flatnonzero(flat)[0])
            raise LinAlgError(not_positive_definite("linalg.cholesky_ex", int(flat[index]), index,
                                                    info.ndim > 0)) from None
        # In the graph, with cholesky's rule applied to what LAPACK left, as PyTorch's
        # backward does (finite or not).
        lower = apply(Op(_CHOLESKY.name, lambda a, triangle=None: partial, _CHOLESKY.vjp,
                         _CHOLESKY.samples, _CHOLESKY.wants_needs, _CHOLESKY.second_order), A,
                      triangle="U" if upper else "L")
    result = CholeskyExResult((lower.mH if lower.is_complex() else lower.mT) if upper else lower,
                              _leaf(info))
    return write_cast("linalg.cholesky_ex", out, result, "exact")


@tensor_method
def cholesky(input, upper: bool = False, *, out=None) -> Tensor:
    """``torch.cholesky`` (deprecated there for ``linalg.cholesky``): the Cholesky factor,
    lower triangular unless ``upper``."""
    no_out(out, "cholesky")
    deprecated("cholesky")
    input, upper = tensor_arg(input, "input", "cholesky"), bool_arg(upper, "upper", "cholesky")
    if input._data.size == 0 and input.ndim < 2:  # (PyTorch's returns an empty vector as it
        return input.clone()  # is, before any check)
    return linalg_cholesky(input, upper=upper)


def _factor(L, upper: bool, name: str) -> Tensor:
    """A Cholesky factor as PyTorch's solvers read it: its triangle only, with the gradient
    reaching all of its entries (PyTorch's: that of ``L Lᵀ`` in a full ``L``), so a nonzero
    other triangle is removed by adding a constant."""
    L = matrices(L, name, square=True, complex_ok=True)  # (complex: decompositions_complex)
    data = L._data
    kept = np.triu(data) if upper else np.tril(data)
    if np.array_equal(kept, data):
        return L
    return L + _leaf(kept - data)


@tensor_method
def cholesky_solve(input, input2, upper: bool = False, *, out=None) -> Tensor:
    """The solution ``X`` of ``A X = B`` given ``A``'s Cholesky factor (``torch.cholesky_solve``).

    Args:
        input: ``B``, ``[*, n, k]``.
        input2: the factor ``L`` (``[*, n, n]``), lower triangular (``A = L Lᵀ``) or upper
            (``A = Uᵀ U``) when ``upper``; batch dims broadcast.

    Returns:
        ``X``, ``[*, n, k]``: a solve with ``L Lᵀ`` (PyTorch's value up to rounding; its factor
        gradient), or PyTorch's two triangular solves' inf / nan for a singular factor.
    """
    no_out(out, "cholesky_solve")
    B, _ = tensor_arg(input, "input", "cholesky_solve"), tensor_arg(input2, "input2",
                                                                     "cholesky_solve")
    upper = bool_arg(upper, "upper", "cholesky_solve")
    if B.ndim < 2:
        raise RuntimeError(f"cholesky_solve: b should have at least 2 dimensions, but has "
                           f"{B.ndim} dimensions instead")
    factor = _factor(input2, upper, "cholesky_solve")
    if B._data.dtype != factor._data.dtype:
        raise RuntimeError(f"cholesky_solve: Expected b and A to have the same dtype, but found "
                           f"b of type {B.dtype} and A of type {factor.dtype} instead.")
    if B.shape[-2] != factor.shape[-1]:
        raise RuntimeError(f"cholesky_solve: Incompatible matrix sizes for cholesky_solve: each "
                           f"A matrix is {factor.shape[-1]} by {factor.shape[-1]} but each b "
                           f"matrix is {B.shape[-2]} by {B.shape[-1]}")
    if factor._data.dtype.kind == "c":
        return complex_cholesky_solve(factor, B, upper)
    return cholesky_product_solve(factor, B, upper)


@tensor_method
def cholesky_inverse(input, upper: bool = False, *, out=None) -> Tensor:
    """The inverse of ``A = L Lᵀ`` (``U`` ᵀ ``U`` when ``upper``) from its Cholesky factor
    (``[*, n, n]``), as ``torch.cholesky_inverse``."""
    no_out(out, "cholesky_inverse")
    input = tensor_arg(input, "input", "cholesky_inverse")
    factor = _factor(input, bool_arg(upper, "upper", "cholesky_inverse"), "cholesky_inverse")
    if factor._data.dtype.kind == "c":
        return complex_cholesky_inverse(factor, upper)
    product = matmul(factor.mT, factor) if upper else matmul(factor, factor.mT)
    return apply(_INV, product)


# ----------------------------------------------------------------------------------------------
# Symmetric eigendecomposition (and the general one, which needs complex numbers).


def eigh(A, UPLO: str = "L", *, out=None) -> tuple[Tensor, Tensor]:  # noqa: N803
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric matrices.

    Args:
        A: ``[*, n, n]`` float32, float64 or complex (Hermitian); only its lower triangle is
            read (the upper one when ``UPLO='U'``).
        UPLO: ``'L'`` or ``'U'``.

    Returns:
        A named tuple ``(eigenvalues [*, n], eigenvectors [*, n, n])`` with
        ``A = V diag(w) Vᵀ``; each eigenvector is defined up to its sign. Gradients need
        distinct eigenvalues (else they are inf or nan, as PyTorch's); complex ones, a loss
        blind to each eigenvector's phase (else RuntimeError, as PyTorch's).

    >>> import deltagrad as dg
    >>> dg.linalg.eigh(dg.tensor([[2.0, 0.0], [0.0, 1.0]])).eigenvalues
    tensor([1., 2.])
    """
    no_out(out, "linalg.eigh")
    upper = _check_uplo(UPLO)
    A = matrices(_eigh_kernel(A, "linalg.eigh"), "linalg.eigh", square=True, complex_ok=True)
    n = A._data.shape[-1]
    packed = apply(_EIGH, A, triangle="U" if upper else "L")  # (the op reads the triangle)
    values, vectors = parts(packed, layout(((n,), (n, n)))[2], "CF")  # (PyTorch's strides)
    # (complex A: Hermitian; real eigenvalues, their packed row's real part, as PyTorch's)
    return EighResult(values.real.contiguous() if values.is_complex() else values, vectors)


def _eigh_kernel(A, name: str, kernel: str = "linalg_eigh_cpu"):
    """``A``; an integer or bool tensor raises PyTorch's kernel error (a NotImplementedError,
    which PyTorch's eigh, and householder_product's ``orgqr_cpu``, reach without a dtype
    check before it)."""
    data = getattr(A, "_data", None)
    if isinstance(A, Tensor) and isinstance(data, np.ndarray) and data.dtype.kind in "biu" \
            and data.ndim >= 2 and data.size:
        type_name = _TYPE_NAMES.get(data.dtype.name, data.dtype.name)
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{type_name}' "
                                  f"({name}: float32, float64 and complex only)")
    return A


def eigvalsh(A, UPLO: str = "L", *, out=None) -> Tensor:  # noqa: N803
    """The eigenvalues (ascending, ``[*, n]``) of symmetric matrices; see ``eigh``."""
    no_out(out, "linalg.eigvalsh")
    upper = _check_uplo(UPLO)
    A = matrices(_eigh_kernel(A, "linalg.eigvalsh"), "linalg.eigvalsh", square=True,
                 complex_ok=True)
    # (under no_grad too inside a dual level: the tangent needs the recorded ops; s30 BR25)
    if A._rg and (_GradMode.enabled or _Recording.tangents is not None):
        return eigh(A, UPLO).eigenvalues  # (its gradient needs the eigenvectors)
    if A._data.dtype.kind == "c":
        return complex_values(A, "linalg.eigvalsh",
                              lambda a: (np.linalg.eigvalsh(a, "U" if upper else "L"),))[0]
    return _leaf(np.linalg.eigvalsh(A._data, UPLO="U" if upper else "L"))


EigResult = return_type("linalg_eig", "eigenvalues eigenvectors")
_COMPLEX_OF = {"float32": np.complex64, "float64": np.complex128}


# deltagrad.autograd's differentiable eig (a Function, which the engine cannot import).
DIFFERENTIABLE_EIG: list = []


def _general_eig(A, name: str, vectors: bool):
    A = matrices(A, f"linalg.{name}", square=True, complex_ok=True)
    if not np.isfinite(A._data).all():
        raise RuntimeError(f"torch.linalg.{name}: input tensor should not contain infs or NaNs.")
    done = complex_values(A, f"linalg.{name}",  # (a complex A: values only; s28 DX1)
                          lambda a: np.linalg.eig(a) if vectors else (np.linalg.eigvals(a),),
                          "CF")
    if done is not None:
        return EigResult(*done) if vectors else done[0]
    if A._rg and (_GradMode.enabled or _Recording.tangents is not None):  # (BR25: a dual)
        if not DIFFERENTIABLE_EIG:  # (never a result silently cut from the graph)
            raise NotImplementedError(f"linalg.{name}: gradients through a general "
                                      "eigendecomposition need deltagrad.autograd")
        values, vectors_ = DIFFERENTIABLE_EIG[0](A)
        return EigResult(values, vectors_) if vectors else values
    complex_dtype = _COMPLEX_OF[A._data.dtype.name]
    if not vectors:
        return _leaf(np.linalg.eigvals(A._data).astype(complex_dtype))
    values, vectors = np.linalg.eig(A._data)  # (LAPACK's geev: unit eigenvectors)
    return EigResult(_leaf(values.astype(complex_dtype)),  # (vectors: LAPACK's column-major)
                     _leaf(laid_out(vectors, True, complex_dtype)))


def eig(A, *, out=None) -> tuple[Tensor, Tensor]:
    """Eigenvalues and eigenvectors of general square matrices: ``A V = V diag(w)``.

    Args:
        A: ``[*, n, n]`` float32 or float64, finite.

    Returns:
        A named tuple ``(eigenvalues [*, n], eigenvectors [*, n, n])``, complex64 (complex128
        for float64), as PyTorch's; each eigenvector has unit norm and is defined up to a
        complex phase. Differentiable (PyTorch's rules: distinct eigenvalues; a loss that
        depends on the eigenvectors' phases raises) and in forward mode; not twice.
    """
    no_out(out, "linalg.eig")
    return _general_eig(A, "eig", True)


def eigvals(A, *, out=None) -> Tensor:
    """The (complex) eigenvalues of general square matrices; see ``eig``."""
    no_out(out, "linalg.eigvals")
    return _general_eig(A, "eigvals", False)


# ----------------------------------------------------------------------------------------------
# QR and SVD.


def linalg_qr(A, mode: str = "reduced", *, out=None) -> tuple[Tensor, Tensor]:
    """The QR decomposition ``A = Q R`` (Householder, LAPACK's signs).

    Args:
        A: ``[*, m, n]`` float32, float64, complex64 or complex128.
        mode: ``'reduced'`` (``Q [*, m, k]``, ``R [*, k, n]``, k = min(m, n)), ``'complete'``
            (``Q [*, m, m]``, ``R [*, m, n]``) or ``'r'`` (``R`` only; ``Q`` is empty).

    Returns:
        A named tuple ``(Q, R)``. Differentiable in mode ``'reduced'``, and in ``'complete'``
        when m <= n; the backward raises where PyTorch's does (mode ``'r'``, or
        ``'complete'`` with m > n).
    """
    no_out(out, "linalg.qr")
    if not isinstance(mode, str):
        raise TypeError(f"linalg_qr(): argument 'mode' (position 2) must be str, not "
                        f"{type(mode).__name__}")
    if mode not in QR_MODES:
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    A = matrices(A, "linalg.qr", complex_ok=True)
    m, n = A._data.shape[-2:]
    parts = unpacked(apply(_QR, A, mode=mode), qr_shapes(m, n, mode), "FF")  # (column-major)
    if mode == "r":
        return QRResult(_leaf(np.empty((0,), dtype=A._data.dtype)), parts[0])
    return QRResult(*parts)


@tensor_method
def qr(input, some: bool = True, *, out=None) -> tuple[Tensor, Tensor]:
    """``torch.qr``: ``linalg.qr`` in mode ``'reduced'`` (``some``) or ``'complete'``."""
    no_out(out, "qr")
    deprecated("qr")
    input, some = tensor_arg(input, "input", "qr"), bool_arg(some, "some", "qr")
    return TorchQRResult(*linalg_qr(input, "reduced" if some else "complete"))


def linalg_svd(A, full_matrices: bool = True, *, driver=None,
               out=None) -> tuple[Tensor, Tensor, Tensor]:
    """The singular value decomposition ``A = U diag(S) Vh`` (LAPACK's gesdd, as PyTorch's).

    Args:
        A: ``[*, m, n]`` float32 or float64.
        full_matrices: ``U [*, m, m]`` and ``Vh [*, n, n]`` (True) or ``[*, m, k]`` and
            ``[*, k, n]``, k = min(m, n).
        driver: CUDA only in PyTorch; must be None.

    Returns:
        A named tuple ``(U, S, Vh)``, ``S`` descending. Gradients need distinct nonzero
        singular values; with ``full_matrices`` the extra columns of ``U`` (rows of ``Vh``),
        which any orthonormal completion would do for, get no gradient, as in PyTorch.
    """
    no_out(out, "linalg.svd")
    if driver is not None:
        raise RuntimeError("torch.linalg.svd: keyword argument `driver=` is only supported on "
                           "CUDA inputs with cuSOLVER backend.")
    full_matrices = bool_arg(full_matrices, "full_matrices", "linalg_svd")
    A = matrices(A, "linalg.svd", complex_ok=True)
    done = complex_values(A, "linalg.svd", lambda a: np.linalg.svd(a, full_matrices), "FCF")
    if done is not None:  # (gesdd, as PyTorch's; S real)
        return SVDResult(*done)
    m, n = A._data.shape[-2:]
    packed = apply(_SVD, A, full_matrices=full_matrices)
    return SVDResult(*unpacked(packed, svd_shapes(m, n, full_matrices), "FCF"))


_linalg_ops.RECORDED_SVD[0] = linalg_svd  # (svdvals' recorded double backward uses it)


@tensor_method
def svd(input, some: bool = True, compute_uv: bool = True, *,
        out=None) -> tuple[Tensor, Tensor, Tensor]:
    """``torch.svd``: ``(U, S, V)`` with ``A = U diag(S) Vᵀ`` (``V``, not ``Vh``).

    Args:
        input: ``[*, m, n]``.
        some: reduced ``U``, ``V`` (k = min(m, n) columns) or full ones.
        compute_uv: if False, ``U`` and ``V`` are zero matrices ``[*, m, m]``, ``[*, n, n]``
            and only ``S`` is computed.
    """
    no_out(out, "svd")
    tensor_arg(input, "input", "svd")
    some, compute_uv = bool_arg(some, "some", "svd"), bool_arg(compute_uv, "compute_uv", "svd")
    A = matrices(input, "svd", complex_ok=True)
    if not compute_uv:
        m, n, batch, dtype = A.shape[-2], A.shape[-1], A.shape[:-2], A._data.dtype
        return TorchSVDResult(_leaf(np.zeros(batch + (m, m), dtype)), svdvals(A),
                              _leaf(np.zeros(batch + (n, n), dtype)))
    u, s, vh = linalg_svd(A, full_matrices=not some)
    return TorchSVDResult(u, s, vh.mH)  # (V = Vhᴴ: Vhᵀ for real matrices)


# ----------------------------------------------------------------------------------------------
# Pseudo-inverse and least squares.


def _tolerances(A: Tensor, atol, rtol):
    """PyTorch's rule: ``atol`` defaults to 0; ``rtol`` to eps * max(m, n), or 0 where an
    ``atol`` > 0 is given. Each a float or (tensor tolerances) a float64 array over the
    batch."""
    def value(t):
        if t is None:
            return None
        v = np.asarray(t._data if isinstance(t, Tensor) else t, dtype=np.float64)
        return float(v) if v.ndim == 0 else v

    atol, rtol = value(atol), value(rtol)
    if rtol is None:
        default = float(np.finfo(A._data.dtype).eps) * builtins.max(A.shape[-2:])
        rtol = default if atol is None else np.where(np.asarray(atol) > 0, 0.0, default)
        rtol = float(rtol) if np.ndim(rtol) == 0 else rtol
    return (0.0 if atol is None else atol), rtol


def pinv(A, rcond=NOT_GIVEN, hermitian: bool = False, *, atol=None, rtol=None,
         out=None) -> Tensor:
    """The Moore-Penrose pseudo-inverse of each matrix (``[*, m, n]`` -> ``[*, n, m]``).

    Singular values (eigenvalue magnitudes when ``hermitian``) at most
    ``max(atol, rtol * largest)`` count as zero.

    Args:
        A: ``[*, m, n]`` float32 or float64.
        rcond: PyTorch's older name for ``rtol`` (positional).
        hermitian: ``A`` is symmetric: use its eigendecomposition (lower triangle only).
        atol, rtol: tolerances (floats or tensors broadcast over the batch); by default
            ``atol`` = 0 and ``rtol`` = eps * max(m, n) (0 if an ``atol`` > 0 is given).

    Returns:
        ``[*, n, m]``; differentiable where the rank does not change near ``A``.
    """
    if out is not None:  # (cast into the same or a higher dtype category, as PyTorch's)
        return write_cast("linalg.pinv", out, pinv(A, rcond, hermitian, atol=atol, rtol=rtol))
    bool_arg(hermitian, "hermitian", "linalg_pinv")  # (PyTorch's parser, before the dtypes)
    if rcond is None:  # (PyTorch's parser: rcond is a number or a tensor; s27 BR16)
        raise TypeError("linalg_pinv(): argument 'rcond' must be float or Tensor, not NoneType")
    A = matrices(A, "linalg.pinv", complex_ok=True)
    if rcond is not NOT_GIVEN:
        if rtol is not None:
            raise RuntimeError("linalg.pinv: rcond and rtol cannot both be given")
        rtol = rcond
    atol, rtol = _tolerances(A, atol, rtol)
    if A._data.dtype.kind == "c":
        return complex_pinv(A, atol, rtol, bool(hermitian))
    return apply(_PINV, A, atol=atol, rtol=rtol, hermitian=bool(hermitian))


@tensor_method
def pinverse(input, rcond: float = 1e-15) -> Tensor:
    """``torch.pinverse``: ``linalg.pinv`` with ``rtol=rcond``."""
    input = tensor_arg(input, "input", "pinverse")
    if isinstance(rcond, Tensor) and rcond.ndim or rcond is None:  # (a number or a 0-d tensor)
        raise TypeError(f"pinverse(): argument 'rcond' (position 2) must be float, not "
                        f"{type(rcond).__name__}")
    return pinv(input, rtol=rcond)


_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A, b, rcond=None, *, driver=None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Least-squares solutions of ``A X = B`` (minimum-norm ones where ``A`` is rank deficient
    or wide), as ``torch.linalg.lstsq`` on the CPU.

    Args:
        A: ``[*, m, n]`` float32 or float64.
        b: ``[*, m, k]``, or ``[*, m]`` (one dim fewer than ``A``); batch dims broadcast
            (PyTorch's keyword is ``b``, though its documentation writes ``B``).
        rcond: singular values at most ``rcond`` times the largest count as zero (default:
            eps * max(m, n)); not used by ``'gels'``.
        driver: ``'gelsy'`` (default), ``'gelsd'``, ``'gelss'`` or ``'gels'``: which results
            are computed, as PyTorch's (see Returns).

    Returns:
        A named tuple: ``solution`` (``[*, n, k]`` or ``[*, n]``, differentiable with
        PyTorch's gradient, that of ``pinv(A) @ B``); ``residuals``, the squared residual
        norms per column, ``[*, k]``, computed when m > n and every matrix has full rank,
        with a driver other than ``'gelsy'`` (always when m > n with ``'gels'``), else empty;
        ``rank`` (int64, A's batch; empty for ``'gels'``); ``singular_values`` (``[*, min(m,
        n)]`` for ``'gelsd'`` and ``'gelss'``, else empty).

    NOTE: every driver solves through the SVD (the pseudo-inverse with ``rtol=rcond``).
    That is LAPACK's answer up to rounding for gelsd / gelss; gelsy and gels (QR based) give
    the same solution wherever it is well defined, and ``rank`` for gelsy counts singular
    values rather than the diagonal of a pivoted QR.
    """
    A, B = tensor_arg(A, "self", "linalg_lstsq"), tensor_arg(b, "b", "linalg_lstsq")
    if rcond is not None and (isinstance(rcond, (bool, Tensor))
                              or not isinstance(rcond, (int, float))):
        raise TypeError(f"linalg_lstsq(): argument 'rcond' (position 3) must be float, not "
                        f"{type(rcond).__name__}")
    if A.dtype != B.dtype:  # (PyTorch checks this before the dtype's kind)
        raise RuntimeError(f"torch.linalg.lstsq: Expected input and other to have the same "
                           f"dtype, but got input's dtype {torch_name(A._data.dtype)} and "
                           f"other's dtype {torch_name(B._data.dtype)}")
    if A._data.dtype.kind in "biu":  # PyTorch's two messages: the default rcond's, the kernel's
        if rcond is None:
            raise RuntimeError("This function doesn't handle types other than float and double")
        raise NotImplementedError(f'"linalg_lstsq_cpu" not implemented for '
                                  f"'{torch_name(A._data.dtype)}'")
    if driver is not None and driver not in _DRIVERS:
        raise RuntimeError("torch.linalg.lstsq: parameter `driver` should be one of "
                           "(gels, gelsy, gelsd, gelss)")
    driver = driver or "gelsy"
    A, B = matrices(A, "torch.linalg.lstsq"), tensor_arg(B, "B", "linalg_lstsq")
    vector = A.ndim - B.ndim
    if vector not in (0, 1):
        raise RuntimeError("torch.linalg.lstsq: input.dim() must be greater or equal to "
                           "other.dim() and (input.dim() - other.dim()) <= 1")
    rhs = B.unsqueeze(-1) if vector else B
    m, n = A.shape[-2:]
    if rhs.shape[-2] != m:
        raise RuntimeError("torch.linalg.lstsq: input.size(-2) should match other.size(-2)")
    dtype = A._data.dtype
    cutoff = float(np.finfo(dtype).eps) * builtins.max(m, n) if rcond is None else float(rcond)
    pseudo = apply(_PINV, A, atol=0.0, rtol=0.0 if driver == "gels" else cutoff,
                   hermitian=False)
    solution = matmul(pseudo, rhs)
    rank = _leaf(np.empty((0,), dtype=np.int64))
    values = _leaf(np.empty((0,), dtype=dtype))
    full_rank = True
    if driver != "gels":
        s = np.linalg.svd(A._data, compute_uv=False)
        largest = s[..., :1] if s.shape[-1] else np.zeros(s.shape[:-1] + (1,), dtype)
        counts = (s > cutoff * largest).sum(axis=-1).astype(np.int64)
        rank, full_rank = _leaf(counts), bool(np.all(counts == n))
        if driver in ("gelsd", "gelss"):
            values = _leaf(s)
    residuals = empty_of(solution)
    if m > n and (driver == "gels" or (driver != "gelsy" and full_rank)):
        difference = matmul(A, solution) - rhs
        residuals = sum(difference * difference, -2)
    # PyTorch's solution: the first n rows of LAPACK's column-major [*, max(m, n), k] buffer
    # (a vector: of its [*, max(m, n)] one), its own node
    index = (Ellipsis, 0) if vector else (Ellipsis, slice(None), slice(None))
    (solution,) = parts(solution, (index,), "C" if vector else "F", rows=builtins.max(m, n))
    rename_node(solution, "LinalgLstsqBackward0")
    return LstsqResult(solution, residuals, rank, values)


# ----------------------------------------------------------------------------------------------
# Matrix exponential and Householder products.


@tensor_method
def matrix_exp(A) -> Tensor:
    """The matrix exponential of each square matrix (``[*, n, n]``), by scaling and squaring
    with a [13/13] Padé approximant; its gradient is exact (the Fréchet derivative's adjoint,
    from the exponential of a block matrix).

    >>> import deltagrad as dg
    >>> dg.matrix_exp(dg.zeros(2, 2))
    tensor([[1., 0.],
            [0., 1.]])
    """
    A = matrices(A, "linalg.matrix_exp", square=True, complex_ok=True)
    done = complex_values(A, "linalg.matrix_exp", lambda a: (_MATRIX_EXP.forward(a),))
    return done[0] if done is not None else apply(_MATRIX_EXP, A)  # (complex: session 26, PR12)


def _reflectors(A: Tensor, columns: int) -> Tensor:
    """The Householder vectors stored below A's diagonal, with the implicit 1 on it."""
    rows, dtype = A.shape[-2], A._data.dtype
    return tril(A, -1) + _leaf(np.eye(rows, columns, dtype=dtype))


def householder_product(A, tau, *, out=None) -> Tensor:
    """The first n columns of ``H₁ H₂ ... Hₖ`` with ``Hᵢ = I - τᵢ vᵢ vᵢᵀ`` (LAPACK's orgqr):
    ``vᵢ`` is column i of ``A`` below the diagonal with a 1 on it.

    Args:
        A: ``[*, m, n]`` with m >= n.
        tau: ``[*, k]`` with k <= n, the same batch dims.

    Returns:
        ``[*, m, n]``; differentiable in both inputs (a product of the reflections).
    """
    no_out(out, "linalg.householder_product")
    name = "torch.linalg.householder_product"
    tau = tensor_arg(tau, "tau", "linalg_householder_product")  # (before A's checks)
    A = matrices(_eigh_kernel(A, name, "orgqr_cpu"), name, complex_ok=True)
    m, n = A.shape[-2:]
    if m < n:
        raise RuntimeError(f"{name}: input.shape[-2] must be greater than or equal to "
                           "input.shape[-1]")
    if tau.ndim < 1 or tau.shape[-1] > n:
        raise RuntimeError(f"{name}: input.shape[-1] must be greater than or equal to "
                           "tau.shape[-1]")
    if tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise RuntimeError(f"{name}: Expected batch dimensions of tau to be equal to "
                           f"input.shape[:-2], but got {list(tau.shape[:-1])}")
    if tau._data.dtype != A._data.dtype:
        raise RuntimeError(f"{name}: tau dtype {tau.dtype} does not match input dtype "
                           f"{A.dtype}")
    if A._data.dtype.kind == "c":
        return complex_householder(A, tau)
    vectors = _reflectors(A, n)
    result = _leaf(np.broadcast_to(np.eye(m, n, dtype=A._data.dtype), A.shape).copy())
    if tau.shape[-1] == 0:
        # (the identity, in the graph as PyTorch's: the sums of empty slices add exact zeros)
        result = result + sum(empty_of(A)) + sum(empty_of(tau))
    for i in reversed(range(tau.shape[-1])):  # H₁ (H₂ (... (Hₖ E)))
        v = vectors[..., :, i:i + 1]
        scale = tau[..., i:i + 1].unsqueeze(-1)
        result = result - scale * matmul(v, matmul(v.mT, result))
    return result


@tensor_method
def orgqr(input, input2) -> Tensor:
    """``torch.orgqr``: ``linalg.householder_product`` (``input2`` is tau: PyTorch's name)."""
    return householder_product(input, input2)


@tensor_method
def ormqr(input, input2, input3, left: bool = True, transpose: bool = False, *,
          out=None) -> Tensor:
    """``Q @ other`` (or ``other @ Q``, with ``Qᵀ`` when ``transpose``) for ``Q`` the product
    of the Householder reflections in ``(input, tau)`` (as ``geqrf`` returns them), without
    forming ``Q`` (``torch.ormqr``).

    Args:
        input: ``[*, mn, k]``, the reflectors below its diagonal; mn is other's m (``left``)
            or n.
        input2: tau, ``[*, min(mn, k)]``.
        input3: other, ``[*, m, n]``.
    """
    no_out(out, "ormqr")
    name = "torch.ormqr"
    tau = tensor_arg(input2, "input2", "ormqr")  # (PyTorch's parser, before the dtype checks)
    other = tensor_arg(input3, "input3", "ormqr")
    bool_arg(left, "left", "ormqr")
    bool_arg(transpose, "transpose", "ormqr")
    reflectors, C = matrices(input, name), matrices(other, name)
    if tau.ndim != reflectors.ndim - 1:
        raise RuntimeError(f"{name}: Expected tau to have one dimension less than input, but got "
                           f"tau.ndim equal to {tau.ndim} and input.ndim is equal to "
                           f"{reflectors.ndim}")
    if C.ndim != reflectors.ndim:
        raise RuntimeError(f"{name}: Expected other to have the same number of dimensions as "
                           f"input, but got other.ndim equal to {C.ndim} and input.ndim is equal "
                           f"to {reflectors.ndim}")
    size = C.shape[-2] if left else C.shape[-1]
    if reflectors.shape[-2] != size:
        raise RuntimeError(f"{name}: other.shape[{-2 if left else -1}] must be equal to "
                           "input.shape[-2]")
    if tau.shape[-1] != min(size, reflectors.shape[-1]):
        raise RuntimeError(f"{name}: tau.shape[-1] must be equal to min(other.shape[-2], "
                           "input.shape[-1])")
    vectors = _reflectors(reflectors, reflectors.shape[-1])
    count = tau.shape[-1]
    # Q = H₁ ... Hₖ, each Hᵢ symmetric: Q C applies Hₖ first, Qᵀ C H₁ first, and on the
    # right C Q applies H₁ first, C Qᵀ Hₖ first.
    order = range(count) if left == transpose else reversed(range(count))
    for i in order:
        v = vectors[..., :, i:i + 1]
        scale = tau[..., i:i + 1].unsqueeze(-1)
        if left:
            C = C - scale * matmul(v, matmul(v.mT, C))
        else:
            C = C - scale * matmul(matmul(C, v), v.mT)
    return C


@tensor_method
def geqrf(input, *, out=None) -> tuple[Tensor, Tensor]:
    """LAPACK's geqrf: ``(a, tau)``, R on and above ``a``'s diagonal and the Householder
    vectors of Q below it (``torch.geqrf``; see ``householder_product`` and ``ormqr``).
    Not differentiable: its results require grad as the input does, a backward raises."""
    no_out(out, "geqrf")
    A = matrices(input, "geqrf", kernel="geqrf_cpu")
    data, negative = positive_diagonal(A._data)  # (-0.0 there read as PyTorch's LAPACK)
    h, tau = np.linalg.qr(data, mode="raw")
    if negative is not None:
        negative_zeros_back(h, negative)
    dtype = A._data.dtype
    # (recorded as PyTorch's: requiring grad with the input, a backward raising; ``a``
    # column-major, LAPACK's layout and PyTorch's strides)
    message = "the derivative for 'geqrf' is not implemented."
    return GeqrfResult(*(recorded_step(part, (A,), "GeqrfBackward0", NotImplementedError, message)
                         for part in (laid_out(np.swapaxes(h, -1, -2), True, dtype),
                                      tau.astype(dtype))))


# ----------------------------------------------------------------------------------------------
# Triangular solves in the older form.


@tensor_method
def triangular_solve(input, A, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False, *, out=None) -> tuple[Tensor, Tensor]:
    """``torch.triangular_solve``: the solution of ``T X = b`` (``Tᵀ X = b`` when
    ``transpose``) with ``T`` the upper (or lower) triangle of ``A``.

    Args:
        input: ``b``, ``[*, n, k]``.
        A: ``[*, n, n]``; batch dims broadcast with ``b``'s.

    Returns:
        A named tuple ``(solution, cloned_coefficient)``, the second a copy of ``A``.
    """
    no_out(out, "triangular_solve")
    deprecated("triangular_solve")
    b, A = tensor_input(input), tensor_arg(A, "A", "triangular_solve")
    for flag, value in (("upper", upper), ("transpose", transpose),
                        ("unitriangular", unitriangular)):
        bool_arg(value, flag, "triangular_solve")  # (PyTorch's parser, before the shapes)
    for label, t in (("b", b), ("A", A)):
        if t.ndim < 2:
            raise RuntimeError(f"torch.triangular_solve: Expected {label} to have at least 2 "
                               f"dimensions, but it has {t.ndim} dimensions instead")
    if b._data.dtype != A._data.dtype:  # (no promotion: PyTorch's check)
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type "
                           f"{torch_name(b._data.dtype)} and A of type "
                           f"{torch_name(A._data.dtype)} instead.")
    coefficient = A.mT if transpose else A
    solution = solve_triangular(coefficient, b, upper=bool(upper) != bool(transpose),
                                unitriangular=unitriangular)
    batch = np.broadcast_shapes(tuple(b.shape[:-2]), tuple(A.shape[:-2]))
    return TriangularSolveResult(solution, A.expand(*batch, *A.shape[-2:]).clone())
