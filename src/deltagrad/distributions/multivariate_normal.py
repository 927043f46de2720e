"""The multivariate normal distribution, parameterised by a covariance, a precision or a lower
Cholesky factor, and the differentiable Cholesky factorisation it needs."""

from __future__ import annotations

import math

import numpy as np

from .. import _engine as dg
from .._engine.api.linalg_solve import solve_triangular
from .._engine.ops.linalg_solve import LinAlgError
from .._engine.tensor import Tensor
from ..autograd.function import Function
from . import constraints
from ._utils import lazy_property, standard_normal
from .continuous import _CentredAtLoc
from .distribution import Distribution

try:  # the engine's differentiable Cholesky (PyTorch's linalg.cholesky), where it exists
    from .._engine.api.decompositions import linalg_cholesky as _engine_cholesky
except ImportError:  # a tree without it: the Function below stands in
    _engine_cholesky = None

__all__ = ["MultivariateNormal"]


class _Cholesky(Function):
    """Lower Cholesky factor L of a symmetric positive-definite A (A = L L^T), batched.

    Backward (A symmetric, so dA = dL L^T + L dL^T): with Phi(X) the lower triangle of X with
    its diagonal halved, A_bar = L^-T Phi(L^T L_bar) L^-1, symmetrised as PyTorch returns it.
    """

    @staticmethod
    def forward(ctx, A):
        array = A.detach().numpy()
        try:
            lower = np.linalg.cholesky(array)
        except np.linalg.LinAlgError:
            raise LinAlgError(
                "linalg.cholesky: The factorization could not be completed because the input "
                f"(shape {tuple(A.shape)}) is not positive-definite.") from None
        out = dg.tensor(lower, dtype=A.dtype)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (lower,) = ctx.saved_tensors
        product = lower.transpose(-2, -1).matmul(grad_output).tril()
        phi = product - 0.5 * dg.diag_embed(product.diagonal(dim1=-2, dim2=-1))
        left = solve_triangular(lower.transpose(-2, -1), phi, upper=True)
        grad = solve_triangular(lower, left, upper=False, left=False)
        return 0.5 * (grad + grad.transpose(-2, -1))


def cholesky(A: Tensor) -> Tensor:
    """The lower Cholesky factor of ``A`` ([*, n, n], symmetric positive-definite),
    differentiable (``torch.linalg.cholesky``; raises LinAlgError when not positive-definite)."""
    if A.dim() < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.cholesky: A must be batches of square matrices, got shape "
                           f"{tuple(A.shape)}")
    if _engine_cholesky is not None:
        return _engine_cholesky(A)
    return _Cholesky.apply(A)


def _identity_like(matrix: Tensor) -> Tensor:
    return dg.eye(matrix.shape[-1], dtype=matrix.dtype)


def _precision_to_scale_tril(precision: Tensor) -> Tensor:
    # P = L^-T L^-1 with L lower: the Cholesky factor of P with rows and columns reversed
    # gives L^-1 as the reversal of its transpose, and one triangular solve gives L.
    flipped = cholesky(dg.flip(precision, (-2, -1)))
    inverse = dg.flip(flipped, (-2, -1)).transpose(-2, -1)
    return solve_triangular(inverse, _identity_like(precision), upper=False)


def _mahalanobis(scale_tril: Tensor, diff: Tensor) -> Tensor:
    """|L^-1 diff|^2 over the last dimension, batch dimensions broadcast.

    Where diff's batch holds L's (PyTorch's callers' case), in PyTorch's arrangement: diff's
    dims split into (quotient, L's size) pairs, L's sizes moved last, one batched triangular
    solve of the b factors against c columns each, and the result turned back: the same
    values, and the strides PyTorch's log_prob has (a transposed, permuted view)."""
    n = diff.shape[-1]
    k = scale_tril.dim() - 2
    lead = diff.dim() - 1 - k
    sizes = list(zip(scale_tril.shape[:-2], diff.shape[max(lead, 0):-1]))
    if lead >= 0 and all(sl in (1, sx) for sl, sx in sizes):
        split = tuple(diff.shape[:lead])
        for sl, sx in sizes:
            split += (sx // sl, sl)
        order = (list(range(lead)) + list(range(lead, lead + 2 * k, 2))
                 + list(range(lead + 1, lead + 2 * k, 2)) + [lead + 2 * k])
        x = diff.reshape(split + (n,)).permute(order)
        factors = scale_tril.reshape(-1, n, n)
        columns = x.reshape(-1, factors.shape[0], n).permute(1, 2, 0)
        m = solve_triangular(factors, columns, upper=False).pow(2).sum(-2).t()
        back = list(range(lead))
        for i in range(k):
            back += [lead + i, lead + k + i]
        return m.reshape(tuple(x.shape[:-1])).permute(back).reshape(tuple(diff.shape[:-1]))
    batch = dg.broadcast_shapes(tuple(scale_tril.shape[:-2]), tuple(diff.shape[:-1]))
    n = diff.shape[-1]
    lower = scale_tril.expand(tuple(batch) + (n, n))
    column = diff.expand(tuple(batch) + (n,)).unsqueeze(-1)
    return solve_triangular(lower, column, upper=False).squeeze(-1).pow(2).sum(-1)


def _half_log_det(scale_tril: Tensor) -> Tensor:
    return scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)


class _ScaleTrilMatrices:
    """scale_tril, covariance_matrix and precision_matrix from ``_unbroadcasted_scale_tril``,
    expanded to ``_matrix_shape()``: MultivariateNormal's and Wishart's parameterisation."""

    def _factor_from(self, scale_tril, covariance_matrix, precision_matrix) -> None:
        """The unbroadcasted Cholesky factor of whichever matrix was given (after the
        arguments were validated: a factorisation of an invalid one would raise first)."""
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)

    def _expand_matrices(self, new, matrix_shape: tuple) -> None:
        """Give the expanded copy ``new`` the unbroadcasted factor and, expanded to
        ``matrix_shape``, whichever matrices were given or already computed."""
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(matrix_shape))

    @lazy_property
    def scale_tril(self) -> Tensor:
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        lower = self._unbroadcasted_scale_tril
        return lower.matmul(lower.transpose(-2, -1)).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self) -> Tensor:
        lower = self._unbroadcasted_scale_tril
        inverse = solve_triangular(lower, _identity_like(lower), upper=False)
        return inverse.transpose(-2, -1).matmul(inverse).expand(self._matrix_shape())


class MultivariateNormal(_ScaleTrilMatrices, _CentredAtLoc, Distribution):
    """The multivariate normal N(loc, Sigma) over vectors of length n.

    Args:
        loc: the mean, (*batch, n).
        covariance_matrix: Sigma, (*batch, n, n), symmetric positive-definite; or
        precision_matrix: Sigma^-1; or
        scale_tril: a lower-triangular L with positive diagonal, Sigma = L L^T (exactly one of
            the three). Batch dimensions of ``loc`` and the matrix broadcast.
        validate_args: as ``Distribution``.

    >>> import deltagrad as dg
    >>> from deltagrad.distributions import MultivariateNormal
    >>> d = MultivariateNormal(dg.zeros(2), covariance_matrix=dg.tensor([[4.0, 2.0], [2.0, 2.0]]))
    >>> d.scale_tril
    tensor([[2., 0.],
            [1., 1.]])
    """

    arg_constraints = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc: Tensor, covariance_matrix: Tensor | None = None,
                 precision_matrix: Tensor | None = None, scale_tril: Tensor | None = None,
                 validate_args: bool | None = None) -> None:
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = [m is not None for m in (covariance_matrix, precision_matrix, scale_tril)]
        if sum(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or "
                             "scale_tril may be specified.")
        name, matrix = next((n, m) for n, m in (("scale_tril", scale_tril),
                                                ("covariance_matrix", covariance_matrix),
                                                ("precision_matrix", precision_matrix))
                            if m is not None)
        if matrix.dim() < 2:
            raise ValueError(f"{name} matrix must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        batch_shape = dg.broadcast_shapes(tuple(matrix.shape[:-2]), tuple(loc.shape[:-1]))
        setattr(self, name, matrix.expand(tuple(batch_shape) + (-1, -1)))
        self.loc = loc.expand(tuple(batch_shape) + (-1,))
        super().__init__(batch_shape, self.loc.shape[-1:], validate_args=validate_args)
        self._factor_from(scale_tril, covariance_matrix, precision_matrix)

    def expand(self, batch_shape, _instance=None):
        n = self.event_shape[0]
        new = self._expanded(MultivariateNormal, batch_shape, _instance, ("loc",), trailing=(n,))
        self._expand_matrices(new, tuple(new.batch_shape) + (n, n))
        return new

    def _matrix_shape(self) -> tuple:
        return tuple(self._batch_shape) + tuple(self._event_shape) * 2

    @property
    def variance(self) -> Tensor:
        shape = tuple(self._batch_shape) + tuple(self._event_shape)
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(shape)

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        eps = standard_normal(shape, self.loc.dtype)
        return self.loc + self._unbroadcasted_scale_tril.matmul(eps.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        m = _mahalanobis(self._unbroadcasted_scale_tril, diff)
        half_log_det = _half_log_det(self._unbroadcasted_scale_tril)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + m) - half_log_det

    def entropy(self):
        half_log_det = _half_log_det(self._unbroadcasted_scale_tril)
        h = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + half_log_det
        return h if len(self._batch_shape) == 0 else h.expand(tuple(self._batch_shape))
