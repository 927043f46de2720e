"""The multivariate normal with a low-rank-plus-diagonal covariance W W^T + D, evaluated
through the Woodbury identity and the matrix determinant lemma (cost linear in n)."""

from __future__ import annotations

import math

from .. import _engine as dg
from .._engine.api.linalg_solve import solve_triangular
from .._engine.tensor import Tensor
from . import constraints
from ._utils import lazy_property, standard_normal
from .continuous import _CentredAtLoc
from .distribution import Distribution
from .multivariate_normal import _identity_like, cholesky

__all__ = ["LowRankMultivariateNormal"]


def _capacitance_tril(cov_factor: Tensor, cov_diag: Tensor) -> Tensor:
    """The Cholesky factor of K = I + W^T D^-1 W (rank x rank)."""
    scaled = cov_factor / cov_diag.unsqueeze(-1)
    capacitance = cov_factor.transpose(-2, -1).matmul(scaled)
    return cholesky(capacitance + _identity_like(capacitance))


class LowRankMultivariateNormal(_CentredAtLoc, Distribution):
    """N(loc, W W^T + diag(D)) over vectors of length n.

    Args:
        loc: the mean, (*batch, n).
        cov_factor: W, (*batch, n, rank).
        cov_diag: D, (*batch, n), > 0. Batch dimensions of the three broadcast.
        validate_args: as ``Distribution``.
    """

    arg_constraints = {"loc": constraints.real_vector,
                       "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc: Tensor, cov_factor: Tensor, cov_diag: Tensor,
                 validate_args: bool | None = None) -> None:
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        n = loc.shape[-1]
        if cov_factor.dim() < 2:
            raise ValueError("cov_factor must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        if tuple(cov_factor.shape[-2:-1]) != (n,):
            raise ValueError(f"cov_factor must be a batch of matrices with shape {n} x m")
        if tuple(cov_diag.shape[-1:]) != (n,):
            raise ValueError(f"cov_diag must be a batch of vectors with shape {(n,)}")
        batch_shape = tuple(dg.broadcast_shapes(tuple(loc.shape[:-1]),
                                                tuple(cov_factor.shape[:-2]),
                                                tuple(cov_diag.shape[:-1])))
        rank = cov_factor.shape[-1]
        self.loc = loc.expand(batch_shape + (n,))
        self.cov_factor = cov_factor.expand(batch_shape + (n, rank))
        self.cov_diag = cov_diag.expand(batch_shape + (n,))
        self._unbroadcasted_cov_factor = cov_factor
        self._unbroadcasted_cov_diag = cov_diag
        # (factored before the arguments are validated, as PyTorch: a D that makes the
        # capacitance indefinite raises LinAlgError first)
        self._capacitance_tril = _capacitance_tril(cov_factor, cov_diag)
        super().__init__(batch_shape, (n,), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        n, rank = self.event_shape[0], self.cov_factor.shape[-1]
        batch_shape = tuple(dg.Size(batch_shape))
        return self._expanded(LowRankMultivariateNormal, batch_shape, _instance,
                              ("loc", "cov_diag"), trailing=(n,),
                              cov_factor=self.cov_factor.expand(batch_shape + (n, rank)),
                              _unbroadcasted_cov_factor=self._unbroadcasted_cov_factor,
                              _unbroadcasted_cov_diag=self._unbroadcasted_cov_diag,
                              _capacitance_tril=self._capacitance_tril)

    def _matrix_shape(self) -> tuple:
        return tuple(self._batch_shape) + tuple(self._event_shape) * 2

    @lazy_property
    def variance(self) -> Tensor:
        w, d = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        shape = tuple(self._batch_shape) + tuple(self._event_shape)
        return (w.pow(2).sum(-1) + d).expand(shape)

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        w, d = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return (w.matmul(w.transpose(-2, -1)) + dg.diag_embed(d)).expand(self._matrix_shape())

    @lazy_property
    def scale_tril(self) -> Tensor:
        return cholesky(self.covariance_matrix)

    @lazy_property
    def precision_matrix(self) -> Tensor:
        # Woodbury: (W W^T + D)^-1 = D^-1 - D^-1 W K^-1 W^T D^-1, with K = L L^T.
        w, d = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        scaled = (w / d.unsqueeze(-1)).transpose(-2, -1)
        half = solve_triangular(self._capacitance_tril, scaled, upper=False)
        inverse = dg.diag_embed(d.reciprocal()) - half.transpose(-2, -1).matmul(half)
        return inverse.expand(self._matrix_shape())

    def rsample(self, sample_shape=()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        rank = self.cov_factor.shape[-1]
        eps_w = standard_normal(shape[:-1] + (rank,), self.loc.dtype)
        eps_d = standard_normal(shape, self.loc.dtype)
        low_rank = self._unbroadcasted_cov_factor.matmul(eps_w.unsqueeze(-1)).squeeze(-1)
        return self.loc + low_rank + self._unbroadcasted_cov_diag.sqrt() * eps_d

    def _log_det(self) -> Tensor:
        # The matrix determinant lemma: det(W W^T + D) = det(K) det(D).
        lower = self._capacitance_tril
        return (2 * lower.diagonal(dim1=-2, dim2=-1).log().sum(-1)
                + self._unbroadcasted_cov_diag.log().sum(-1))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        w, d = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        # x^T (W W^T + D)^-1 x = x^T D^-1 x - |L^-1 W^T D^-1 x|^2 (Woodbury).
        scaled = diff / d
        projected = (w.transpose(-2, -1).matmul(scaled.unsqueeze(-1)))
        batch = tuple(projected.shape[:-2])
        lower = self._capacitance_tril.expand(batch + tuple(self._capacitance_tril.shape[-2:]))
        solved = solve_triangular(lower, projected, upper=False).squeeze(-1)
        mahalanobis = (diff * scaled).sum(-1) - solved.pow(2).sum(-1)
        n = self._event_shape[0]
        return -0.5 * (n * math.log(2 * math.pi) + mahalanobis + self._log_det())

    def entropy(self):
        n = self._event_shape[0]
        h = 0.5 * (n * (1.0 + math.log(2 * math.pi)) + self._log_det())
        return h if len(self._batch_shape) == 0 else h.expand(tuple(self._batch_shape))
