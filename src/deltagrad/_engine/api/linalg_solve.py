"""Inverses, determinants and linear solves (``deltagrad.linalg.inv``, ``det``, ``slogdet``,
``solve``, ``solve_triangular``, ...), and the ``linalg`` helpers built from products
(``multi_dot``, ``vecdot``, ``tensorinv``, ``tensorsolve``, ``vander``, ``matrix_rank``).

The top level has PyTorch's older names for some of them (``det``, ``logdet``, ``slogdet``,
``inverse``), which are Tensor methods too.
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from ..dtypes import bfloat16
from ..errors import ShapeError
from ..node_names import rename_node
from ..ops import OPS
from ..ops.linalg_solve import LinAlgError, constant, lapack
from ..tensor import Tensor, _leaf, apply, tensor_method
from ._common import (
    NOT_GIVEN,
    bool_arg,
    int_arg,
    parts,
    return_type,
    tensor_arg,
    tensor_input,
    wrap_dim,
    write_out,
)
from ._pointwise import input_tensor, torch_name
from .linalg import matmul, vdot, write_cast
from .pointwise import where as _where
from .reductions import sum
from .shape import stack

__all__ = ["det", "inverse", "logdet", "slogdet", "vander"]

_INV, _DET, _LOGABSDET = OPS["linalg_inv"], OPS["linalg_det"], OPS["linalg_logabsdet"]
_SOLVE, _SOLVE_TRIANGULAR = OPS["linalg_solve"], OPS["linalg_solve_triangular"]
_SIGN, _LOGABS = (Ellipsis, 0), (Ellipsis, 1)  # slogdet's two results in its op's output

SlogdetResult = return_type("slogdet", "sign logabsdet")  # (torch.slogdet's, x.slogdet()'s)
LinalgSlogdetResult = return_type("linalg_slogdet", "sign logabsdet")  # (torch.linalg's)
InvExResult = return_type("linalg_inv_ex", "inverse info")
SolveExResult = return_type("linalg_solve_ex", "result info")


def _square(A, name: str) -> Tensor:
    """``A`` checked as PyTorch checks it: floating, at least 2-D, square in the last two."""
    A = input_tensor(A, name, "A")
    if A._data.dtype.kind not in "fc":
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                           f"{A.dtype}")
    if A._data.dtype == np.float16:  # (PyTorch: NotImplementedError or RuntimeError by function;
        # NotImplementedError is both)
        raise NotImplementedError(f"{name}: Low precision dtypes not supported. Got Half")
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    return A


# ----------------------------------------------------------------------------------------------
# Inverse and determinants.


def inv(A, *, out=None) -> Tensor:
    """The inverse of each square matrix in ``A`` (``[*, n, n]``).

    Raises:
        LinAlgError: if a matrix is singular.

    >>> import deltagrad as dg
    >>> dg.linalg.inv(dg.tensor([[2.0, 0.0], [0.0, 4.0]]))
    tensor([[0.5000, 0.0000],
            [0.0000, 0.2500]])
    """
    if out is not None:
        raise TypeError("linalg.inv: out= is not supported")
    return apply(_INV, _square(A, "linalg.inv"))


@tensor_method
def inverse(input) -> Tensor:
    """``linalg.inv`` under PyTorch's older name (``torch.inverse``, ``Tensor.inverse``)."""
    return inv(input)


def inv_ex(A, *, check_errors: bool = False) -> tuple[Tensor, Tensor]:
    """``(inverse, info)``: as ``inv``, but a singular matrix gives ``info`` > 0 (and a
    non-finite inverse) instead of an error unless ``check_errors``.

    Returns:
        A named tuple; ``info`` is int32 ``[*]``, 0 where the inverse succeeded, else
        getrf's first zero pivot. A singular matrix's inverse is nan throughout (PyTorch's
        holds what LAPACK's getri left: infinities and nans), in the graph with nan
        gradients; the batch's other matrices keep theirs.
    """
    A = _square(A, "linalg.inv_ex")
    batch = A.shape[:-2]
    try:
        return InvExResult(apply(_INV, A), _leaf(np.zeros(batch, dtype=np.int32)))
    except LinAlgError:
        if check_errors:
            raise
    # Some matrix is singular: the others are inverted in the graph (the singular ones
    # replaced by I), the singular ones become nan.
    info = _singular(A)
    bad = info > 0
    fixed = apply(_INV, _where(_leaf(bad[..., None, None]), _leaf(_eye_like(A)), A))
    return InvExResult(_nan_where(fixed, bad, A), _leaf(info))


def _singular(A: Tensor) -> np.ndarray:
    """LAPACK getrf's ``info`` for each matrix of ``A`` (int32 over its batch): the first
    zero pivot of the LU factorization with partial pivoting, 1-based, else 0; at least 1
    where NumPy's LAPACK finds the matrix singular."""
    flat = A._data.reshape((-1,) + A.shape[-2:])
    info = np.zeros(flat.shape[0], dtype=np.int32)
    gesv = lapack("gesv", flat) if flat.size else None
    if gesv is not None:  # (the inverse's own LAPACK call: its info, getrf's first zero pivot;
        # NumPy's inv below can pass an exactly singular float32 matrix that gesv refuses,
        # and inv_ex then raised the inverse's LinAlgError; SL5's soak, s30)
        eye = constant("eye", flat.shape[-1], flat.dtype)
        for i, matrix in enumerate(flat):
            info[i] = gesv(matrix, eye)[3]
        return info.reshape(A.shape[:-2])
    for i, matrix in enumerate(flat):
        try:
            np.linalg.inv(matrix)
            continue
        except np.linalg.LinAlgError:
            pass
        m = matrix.copy()
        for j in range(m.shape[-1]):
            p = j + int(np.argmax(np.abs(m[j:, j])))
            if m[p, j] == 0:
                info[i] = j + 1
                break
            m[[j, p]] = m[[p, j]]
            m[j + 1:, j] /= m[j, j]
            m[j + 1:, j + 1:] -= np.outer(m[j + 1:, j], m[j, j + 1:])
        info[i] = info[i] or 1
    return info.reshape(A.shape[:-2])


def _eye_like(A: Tensor) -> np.ndarray:
    return np.broadcast_to(np.eye(A.shape[-1], dtype=A._data.dtype), A.shape)


def _nan_where(result: Tensor, bad: np.ndarray, A: Tensor) -> Tensor:
    """``result`` (over ``A``'s batch, maybe broadcast) with the matrices of ``bad`` nan, still
    in the graph: their gradients are nan (in ``A`` and through ``result``'s inputs), as
    PyTorch's rules give through a non-finite inverse, and the others' are exact (the nan
    factor is 0 there, so no 0 * nan reaches them)."""
    extra = (1,) * (result.ndim - bad.ndim)
    nans = np.where(bad, np.nan, 0.0).astype(A._data.real.dtype)
    in_a = sum(A * _leaf(nans[..., None, None]), (-2, -1)).reshape(bad.shape + extra)
    fill = result * _leaf(nans.reshape(bad.shape + extra)) + in_a
    return _where(_leaf(bad.reshape(bad.shape + extra)), fill, result)


@tensor_method
def det(A) -> Tensor:
    """The determinant of each square matrix in ``A`` (``[*, n, n]`` -> ``[*]``).

    Its gradient at a singular matrix is the transposed adjugate, as PyTorch's.

    >>> import deltagrad as dg
    >>> dg.det(dg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor(-2.)
    """
    return apply(_DET, _square(A, "linalg.det"))


@tensor_method
def slogdet(A) -> tuple[Tensor, Tensor]:
    """``(sign, logabsdet)`` of each square matrix: ``det = sign * exp(logabsdet)``, without
    overflow. ``sign`` is 0 (and ``logabsdet`` -inf) for a singular matrix.

    Returns:
        A named tuple of two ``[*]`` tensors; only ``logabsdet`` is differentiable.
    """
    A = _square(A, "linalg.slogdet")
    packed = apply(_LOGABSDET, A)  # [sign, logabsdet] along a last axis (sign: no gradient)
    sign, logabsdet = parts(packed, (_SIGN, _LOGABS), "CC")  # (a batch: PyTorch's strides)
    if logabsdet.is_complex():  # (PyTorch's logabsdet is real: the packed one has 0j)
        logabsdet = logabsdet.real.contiguous()  # (PyTorch's strides: no complex stride)
    else:  # (PyTorch's node of both; deltagrad's was PackedPartBackward0: session 26, PR12)
        rename_node(sign, "LinalgSlogdetBackward0")
        rename_node(logabsdet, "LinalgSlogdetBackward0")
    return SlogdetResult(sign, logabsdet)


def linalg_slogdet(A) -> tuple[Tensor, Tensor]:
    """``torch.linalg.slogdet``: ``slogdet`` under the name of its result PyTorch gives there."""
    return LinalgSlogdetResult(*slogdet(A))


@tensor_method
def logdet(input) -> Tensor:
    """``log(det(input))``: nan where the determinant is negative, -inf where it is 0."""
    sign, logabsdet = slogdet(input)
    if sign.is_complex():  # log(det) = log|det| + i arg(det): complex determinants have no nan
        return logabsdet + sign.log()
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.log(sign._data)  # 0 for +1, nan for -1, -inf for 0
    if (sign._data < 0).any():
        # PyTorch's logdet is nan there with a zero gradient (not log|det|'s)
        logabsdet = logabsdet * _leaf((sign._data >= 0).astype(sign._data.dtype))
    return rename_node(logabsdet + _leaf(shift), "WhereBackward0")  # (PyTorch's node)


def matrix_rank(A, tol=NOT_GIVEN, hermitian: bool = False, *, atol=None, rtol=None,
                out=None) -> Tensor:
    """The number of singular values above ``max(atol, rtol * largest)`` (int64 ``[*]``).

    Without tolerances, ``rtol`` is the dtype's epsilon times ``max(m, n)``; where ``atol`` is
    given and positive, ``rtol`` is 0 (PyTorch's rule). ``atol`` and ``rtol`` may be tensors
    broadcast against the batch. The older form ``matrix_rank(A, tol)`` is ``atol=tol, rtol=0``.
    ``hermitian``: ``A`` is read as Hermitian from its lower triangle (eigenvalues' magnitudes).
    """
    A = tensor_input(A)
    bool_arg(hermitian, "hermitian", "linalg_matrix_rank")  # (PyTorch's parser, first)
    if tol is None:  # (PyTorch's parser: tol is a float or a tensor; s27 BR16)
        raise TypeError("linalg_matrix_rank(): argument 'tol' must be float or Tensor, not "
                        "NoneType")
    given = tol is not NOT_GIVEN or atol is not None or rtol is not None
    if tol is not NOT_GIVEN:
        if atol is not None or rtol is not None:
            raise TypeError("linalg.matrix_rank(): tol cannot be combined with atol or rtol")
        atol, rtol = tol, 0.0
    if A._data.dtype.kind not in "fc" or A.ndim < 2:
        raise RuntimeError(f"linalg.matrix_rank: expected a floating tensor of at least 2 "
                           f"dimensions, got {A.dtype} of shape {A.shape}")
    if A._data.dtype == np.float16:  # (PyTorch's two messages: the tolerance path differs)
        if given:
            raise NotImplementedError("\"linalg_svd_cpu\" not implemented for 'Half' "
                                      "(linalg.matrix_rank)")
        raise RuntimeError("linalg.matrix_rank: This function doesn't handle types other than "
                           "float and double")
    if not (A._data.size or given or out is not None):
        # No singular values, or no matrices: rank 0 for each (square or not, hermitian or
        # not, as PyTorch), without NumPy's SVD wrapper: two of OpInfo's three samples are
        # empty, 3.7-4.2 -> 0.73-0.77 x PyTorch (opinfo_overhead.py, two alternated runs)
        return _leaf(np.zeros(A.shape[:-2], np.int64))
    if hermitian and A.shape[-1] != A.shape[-2]:
        if A._data.size:  # (NumPy's LinAlgError is a ValueError; PyTorch's a RuntimeError)
            raise RuntimeError(f"linalg.eigh: A must be batches of square matrices, but they "
                               f"are {A.shape[-2]} by {A.shape[-1]} matrices")
        values = np.zeros(A.shape[:-2] + (0,), A._data.dtype)
    elif hermitian:
        values = np.abs(np.linalg.eigvalsh(A._data, UPLO="L"))
    else:
        values = np.linalg.svd(A._data, compute_uv=False)
    eps = np.finfo(A._data.dtype).eps
    largest = values.max(axis=-1, initial=0.0, keepdims=True)
    atol_value = 0.0 if atol is None else _tolerance(atol)
    if rtol is None:
        default = eps * builtins.max(A.shape[-2:])
        rtol_value = default if atol is None else np.where(atol_value > 0, 0.0, default)
    else:
        rtol_value = _tolerance(rtol)
    try:
        tolerance = np.maximum(atol_value, rtol_value * largest)
        counts = (values > tolerance).sum(axis=-1)
    except ValueError as error:  # (tolerances that do not broadcast: PyTorch's RuntimeError)
        raise ShapeError(f"linalg.matrix_rank: the tolerances do not broadcast against the "
                         f"batch: {error}") from None
    result = _leaf(counts.astype(np.int64))
    # out= of another dtype takes the int64 counts where the cast is safe (not into bool).
    return write_cast("linalg.matrix_rank", out, result)


def _tolerance(value) -> np.ndarray:
    # A number or a tensor of tolerances (one per matrix), shaped to broadcast against the
    # singular values' last axis.
    array = value._data if isinstance(value, Tensor) else value
    return np.asarray(array, dtype=np.float64)[..., None]


# ----------------------------------------------------------------------------------------------
# Solves.


def _vector_rhs(A: Tensor, B: Tensor) -> bool:
    # PyTorch's rule: B is a (batch of) vector(s) if it is 1-D or has A's shape without the
    # last dim.
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def solve(A, B, *, left: bool = True, out=None) -> Tensor:
    """The solution ``X`` of ``A X = B`` (or ``X A = B`` when not ``left``).

    Args:
        A: ``[*, n, n]`` floating.
        B: ``[*, n, k]``, or a batch of vectors ``[*, n]`` (see PyTorch's rule); batch dims
            broadcast.
        left: solve ``A X = B`` (True) or ``X A = B``.

    Returns:
        ``X`` with ``B``'s layout (vectors stay vectors).

    Raises:
        LinAlgError: if ``A`` is singular.
    """
    if out is not None:
        raise TypeError("linalg.solve: out= is not supported")
    A, B = tensor_arg(A, "A", "linalg_solve"), tensor_arg(B, "B", "linalg_solve")
    A = _square(A, "linalg.solve")
    if B._data.dtype != A._data.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found "
                           f"A of type {A.dtype} and B of type {B.dtype} instead")
    if not left:
        # X A = B  <=>  Aᵀ Xᵀ = Bᵀ
        return solve(A.transpose(-2, -1), B.transpose(-2, -1)).transpose(-2, -1)
    vector = _vector_rhs(A, B)
    rhs = B.unsqueeze(-1) if vector else B
    if rhs.shape[-2] != A.shape[-1]:
        rhs_shape = f"{rhs.shape[-2]}x{rhs.shape[-1]}"
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                           f"AX = B ({A.shape[-2]}x{A.shape[-1]} and {rhs_shape})")
    result = apply(_SOLVE, A, rhs)
    if not vector:
        return result
    # The vector from the one column: PyTorch's node (not a squeeze view) and strides (its
    # [*, n] result column-major in the last two dims, as for matrices).
    (x,) = parts(result, ((Ellipsis, 0),), "F")  # (new memory, one vector too: not a view)
    return rename_node(x, "LinalgSolveExBackward0")


def solve_ex(A, B, *, left: bool = True, check_errors: bool = False) -> tuple[Tensor, Tensor]:
    """``(result, info)``: ``solve`` that reports a singular ``A`` in ``info`` (int32, > 0)
    with a nan result, unless ``check_errors``."""
    tensor_arg(B, "B", "linalg_solve_ex")  # (PyTorch's parser, before A's checks)
    A = _square(A, "linalg.solve_ex")
    batch = A.shape[:-2]
    try:
        return SolveExResult(solve(A, B, left=left), _leaf(np.zeros(batch, dtype=np.int32)))
    except LinAlgError:
        if check_errors:
            raise
    # Some matrix is singular: the others are solved in the graph, the singular ones (replaced
    # by I) become nan with nan gradients (``_nan_where``).
    info = _singular(A)
    bad = info > 0
    fixed = _where(_leaf(bad[..., None, None]), _leaf(_eye_like(A)), A)
    result = solve(fixed, B, left=left)
    return SolveExResult(_nan_where(result, bad, A), _leaf(info))


def solve_triangular(A, B, *, upper: bool, left: bool = True, unitriangular: bool = False,
                     out=None) -> Tensor:
    """The solution of ``T X = B`` (or ``X T = B``) with ``T`` the upper (or lower) triangle of
    ``A``; with ``unitriangular`` its diagonal is taken as ones. Entries of ``A`` outside the
    triangle are never read (and get no gradient).

    Args:
        A: ``[*, n, n]``.
        B: ``[*, n, k]`` (``[*, k, n]`` when not ``left``); batch dims broadcast.
        upper: use the upper triangle.
        left: solve ``T X = B`` (True) or ``X T = B``.
        unitriangular: assume ones on the diagonal.
    """
    if out is not None:
        raise TypeError("linalg.solve_triangular: out= is not supported")
    name = "linalg.solve_triangular"
    A, B = input_tensor(A, name, "A"), tensor_arg(B, "B", "linalg_solve_triangular")
    if A.ndim < 2:  # (PyTorch checks the shapes first; its kernel then refuses the dtype)
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    if B.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor B must have at least 2 dimensions.")
    if B.shape[-2 if left else -1] != A.shape[-1]:
        raise RuntimeError(f"{name}: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({A.shape[-2]}x{A.shape[-1]} and "
                           f"{B.shape[-2]}x{B.shape[-1]})")
    if A._data.dtype.kind not in "fc" or A._data.dtype == np.float16:
        raise NotImplementedError(f"\"triangular_solve_cpu\" not implemented for "
                                  f"'{torch_name(A._data.dtype)}'")
    if B._data.dtype != A._data.dtype:  # (PyTorch's result has A's dtype: B is cast to it,
        B = B.to(A.dtype)               # complex to real too, not promoted)
    if not left:
        return solve_triangular(A.transpose(-2, -1), B.transpose(-2, -1), upper=not upper,
                                unitriangular=unitriangular).transpose(-2, -1)
    return apply(_SOLVE_TRIANGULAR, A, B, upper=bool(upper), unitriangular=bool(unitriangular))


# ----------------------------------------------------------------------------------------------
# Helpers built from products and solves.


def multi_dot(tensors, *, out=None) -> Tensor:
    """The product of a chain of matrices; the first may be a 1-D row vector and the last a
    1-D column vector (their dims are dropped from the result), as ``torch.linalg.multi_dot``."""
    if isinstance(tensors, Tensor):  # (a sequence of tensors, as PyTorch's parser)
        raise TypeError("linalg_multi_dot(): argument 'tensors' (position 1) must be tuple of "
                        "Tensors, not Tensor")
    tensors = [tensor_arg(t, "tensors", "linalg_multi_dot") for t in tensors]
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        allowed = (1, 2) if i in (0, len(tensors) - 1) else (2,)
        if t.ndim not in allowed:
            where = "first" if i == 0 else "last" if i == len(tensors) - 1 else f"{i}-th"
            raise RuntimeError(f"multi_dot(): the {where} tensor must be "
                               f"{' or '.join(f'{d}D' for d in allowed)} but got {t.ndim}D")
    if len(tensors) == 2:
        return write_out(out, matmul(tensors[0], tensors[1]))
    # PyTorch's order of the products (their roundings differ): 1-D ends as a row / a column,
    # then for three its cost rule, for more the matrix-chain order (first cheapest split)
    row, column = tensors[0].ndim == 1, tensors[-1].ndim == 1
    chain = list(tensors)
    if row:
        chain[0] = chain[0].unsqueeze(0)
    if column:
        chain[-1] = chain[-1].unsqueeze(1)
    sizes = [t.shape[0] for t in chain] + [chain[-1].shape[1]]
    split = _chain_order(sizes)

    def product(i, j):
        if i == j:
            return chain[i]
        k = split[i][j]
        return matmul(product(i, k), product(k + 1, j))

    result = product(0, len(chain) - 1)
    if column:
        result = result.squeeze(-1)
    if row:
        result = result.squeeze(0)
    return write_out(out, result)


def _chain_order(sizes: list) -> list:
    """``split[i][j]``: where PyTorch's multi_dot splits the product of matrices i..j (sizes
    ``sizes[i] x sizes[i + 1]``)."""
    n = len(sizes) - 1
    split = [[0] * n for _ in range(n)]
    if n == 3:  # (PyTorch's own rule: A(BC) only when (AB)C costs strictly more)
        a, b, c, d = sizes
        split[0][2] = 0 if a * c * (b + d) > b * d * (a + c) else 1
        split[0][1], split[1][2] = 0, 1
        return split
    cost = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                q = cost[i][k] + cost[k + 1][j] + sizes[i] * sizes[k + 1] * sizes[j + 1]
                if cost[i][j] is None or q < cost[i][j]:
                    cost[i][j], split[i][j] = q, k
    return split


def vecdot(x, y, *, dim: int = -1, out=None) -> Tensor:
    """The dot product of vectors along ``dim`` (inputs broadcast): ``sum(x * y, dim)``."""
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        raise TypeError(f"linalg.vecdot: x and y must be tensors, got {type(x).__name__} and "
                        f"{type(y).__name__}")
    for v in (x, y):  # (PyTorch refuses integers and mixed dtypes rather than promoting)
        if np.dtype(v.dtype).kind not in "fc" and v.dtype != bfloat16:
            raise RuntimeError(f"linalg.vecdot: Expected a floating point or complex tensor as "
                               f"input. Got {v.dtype}")
    if x.dtype != y.dtype:
        raise RuntimeError(f"linalg.vecdot: Expected x and y to have the same dtype, but found x "
                           f"of type {x.dtype} and y of type {y.dtype}")
    if x.ndim == 1 and y.ndim == 1:  # (PyTorch's vdot, whatever ``dim``: no broadcasting)
        result = vdot(x, y)
    else:
        product = (x.conj() if x.is_complex() else x) * y  # (PyTorch's x^H y: x conjugated)
        result = sum(product, wrap_dim(dim, product.ndim))
    if out is not None and isinstance(out, Tensor) and out.dtype != result.dtype:
        raise RuntimeError(f"linalg.vecdot: Expected out of dtype{torch_name(result._data.dtype)} "
                           f"but found {torch_name(out._data.dtype)}")
    return write_out(out, result)


def tensorinv(A, ind: int = 2, *, out=None) -> Tensor:
    """The inverse of ``A`` seen as a matrix ``prod(shape[:ind]) x prod(shape[ind:])``
    (which must be square), shaped ``shape[ind:] + shape[:ind]``."""
    A = tensor_input(A)
    ind = int_arg(ind, "ind", "linalg_tensorinv")
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    if ind > A.ndim:  # (PyTorch slices the shape at ind: past its end it raises)
        raise RuntimeError(f"ArrayRef: invalid slice, N = {ind}; size = {A.ndim}")
    rows, cols = math.prod(A.shape[:ind]), math.prod(A.shape[ind:])
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) "
                           f"== prod(self.shape[:ind]), but got {cols} != {rows}")
    return write_out(out, inv(A.reshape(rows, cols)).reshape(*A.shape[ind:], *A.shape[:ind]))


def tensorsolve(A, other, dims=None, *, out=None) -> Tensor:
    """The ``X`` with ``tensordot(A, X, X.ndim) == B`` (B: ``other``, PyTorch's keyword, though
    its documentation writes ``B``): ``A`` seen as a square matrix
    ``prod(B.shape) x prod(A.shape[B.ndim:])`` (after moving ``dims`` of ``A`` last)."""
    A = tensor_input(A)
    B = tensor_arg(other, "other", "linalg_tensorsolve")
    if dims is not None:
        dims = [wrap_dim(d, A.ndim) for d in dims]
        keep = [d for d in range(A.ndim) if d not in dims]
        A = A.permute(*keep, *dims)
    rest = A.shape[B.ndim:]
    rows, cols = math.prod(B.shape), math.prod(rest)
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement "
                           f"prod(result_shape) == prod(other.shape), but got {cols} != {rows}")
    return write_out(out, solve(A.reshape(rows, cols), B.reshape(rows)).reshape(rest))


def _int64(x: Tensor) -> Tensor:
    """Integer and bool inputs of the Vandermonde functions compute in int64 (PyTorch)."""
    return x.long() if x._data.dtype.kind in "biu" else x


def linalg_vander(x, *, N: int | None = None) -> Tensor:  # noqa: N803 - PyTorch's name
    """The Vandermonde matrix of ``x`` (``[*, n]`` -> ``[*, n, N]``): columns ``x^0, x^1,
    ..., x^(N-1)`` (increasing powers, as ``torch.linalg.vander``)."""
    x = tensor_input(x)
    if x.ndim == 0:  # PyTorch takes a 0-d x as a 1-element vector: a [1, N] result
        x = x.reshape(1)
    if x._data.dtype.kind == "b" or x._data.dtype.name in ("float16", "bfloat16"):
        name = "BFloat16" if x._data.dtype.name == "bfloat16" else torch_name(x._data.dtype)
        raise RuntimeError(f"linalg.vander supports floating point, complex, and integer "
                           f"tensors, but got {name}")
    x = _int64(x)
    n = x.shape[-1] if N is None else int(N)
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    # Repeated products (not x ** k): exact for integers, and the gradient at x = 0 is the
    # derivative of the polynomial, with no 0 * inf.
    columns = [x.new_ones(x.shape), x]
    while len(columns) < n:
        columns.append(columns[-1] * x)
    return stack(columns, -1)


def vander(x, N: int | None = None, increasing: bool = False) -> Tensor:  # noqa: N803
    """``torch.vander``: the Vandermonde matrix of a 1-d ``x`` with ``N`` columns (default
    ``len(x)``), decreasing powers unless ``increasing`` (``linalg.vander`` is the batched,
    increasing one)."""
    N = None if N is None else int_arg(N, "N", "vander")  # noqa: N806 - PyTorch's name
    if type(increasing) is not bool:
        raise TypeError(f"vander(): argument 'increasing' (position 3) must be bool, not "
                        f"{type(increasing).__name__}")
    x = _int64(tensor_input(x))
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    if n <= 1:
        return x.new_ones((x.shape[0], n)) if n else _leaf(np.zeros((x.shape[0], 0),
                                                                    dtype=x._data.dtype))
    # (linalg.vander refuses float16 and bfloat16, torch.vander does not: its cumprod
    # accumulates them in float32, rounding each power once)
    low = x._data.dtype.name in ("float16", "bfloat16")
    out = linalg_vander(x.float(), N=n).to(x.dtype) if low else linalg_vander(x, N=n)
    return out if increasing else out.flip(-1)


def cholesky_product_solve(factor: Tensor, B: Tensor, upper: bool) -> Tensor:
    """``cholesky_solve``'s ``X``: a solve with ``L Lᵀ`` (``Uᵀ U``), which gives PyTorch's
    factor gradient; where that is singular (a 0 on the factor's diagonal), PyTorch's own two
    triangular solves (LAPACK's potrs), whose divisions by 0 give inf / nan, raising nothing."""
    product = matmul(factor.mT, factor) if upper else matmul(factor, factor.mT)
    try:
        return apply(OPS["linalg_solve"], product, B)
    except LinAlgError:
        lower = factor.mT if upper else factor
        return solve_triangular(lower.mT, solve_triangular(lower, B, upper=False), upper=True)
