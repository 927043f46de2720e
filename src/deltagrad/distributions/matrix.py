"""Distributions over matrices: Wishart (positive-definite matrices, the conjugate prior of a
Gaussian precision) and LKJCholesky (Cholesky factors of correlation matrices)."""

from __future__ import annotations

import math
import warnings

from .. import _engine as dg
from .._engine.api.linalg_solve import slogdet
from .._engine.tensor import Tensor
from . import constraints
from ._utils import is_number, standard_normal
from .distribution import Distribution, ExponentialFamily
from .gamma import Beta, Chi2
from .multivariate_normal import _ScaleTrilMatrices

__all__ = ["LKJCholesky", "Wishart"]

_LOG_2 = math.log(2.0)


def _multivariate_digamma(x: Tensor, p: int) -> Tensor:
    """The derivative of log Gamma_p(x): sum over i < p of digamma(x - i / 2)."""
    shifts = dg.arange(p, dtype=x.dtype) / 2
    return dg.digamma(x.unsqueeze(-1) - shifts).sum(-1)


class Wishart(_ScaleTrilMatrices, ExponentialFamily):
    """The Wishart distribution over p x p positive-definite matrices: the scatter matrix
    sum_k x_k x_k^T of ``df`` draws x_k ~ N(0, Sigma).

    Args:
        df: the degrees of freedom, > p - 1 (number or tensor of the batch shape).
        covariance_matrix: Sigma, (*batch, p, p); or
        precision_matrix: Sigma^-1; or
        scale_tril: the lower Cholesky factor of Sigma (exactly one of the three).
        validate_args: as ``Distribution``.

    NOTE: ``rsample`` uses the Bartlett decomposition with reparameterised chi-squared draws,
    and PyTorch's redraw step (see ``rsample``).
    """

    support = constraints.positive_definite
    has_rsample = True

    def __init__(self, df, covariance_matrix: Tensor | None = None,
                 precision_matrix: Tensor | None = None, scale_tril: Tensor | None = None,
                 validate_args: bool | None = None) -> None:
        given = [m for m in (covariance_matrix, precision_matrix, scale_tril) if m is not None]
        if len(given) != 1:  # (an AssertionError in PyTorch's Wishart, unlike elsewhere)
            raise AssertionError("Exactly one of covariance_matrix or precision_matrix or "
                                 "scale_tril may be specified.")
        matrix = given[0]
        if matrix.dim() < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        p = matrix.shape[-1]
        # PyTorch's order: df checked, the matrices expanded, the low-df warning, the
        # arguments validated, then the Cholesky factor. A number df stays a 0-d tensor (its
        # batch shape is the matrix's; ``mean`` then raises for a batch, as PyTorch's view).
        if is_number(df):
            batch_shape = tuple(matrix.shape[:-2])
            df = dg.tensor(float(df), dtype=matrix.dtype)
            self.df = df
        else:
            batch_shape = tuple(dg.broadcast_shapes(tuple(matrix.shape[:-2]), tuple(df.shape)))
            self.df = df.expand(batch_shape)
        event_shape = (p, p)
        if bool((self.df <= p - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        if scale_tril is not None:
            self.scale_tril = scale_tril.expand(batch_shape + event_shape)
        elif covariance_matrix is not None:
            self.covariance_matrix = covariance_matrix.expand(batch_shape + event_shape)
        else:
            self.precision_matrix = precision_matrix.expand(batch_shape + event_shape)
        if bool((self.df < p).any()):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur "
                          "for ndim - 1 < df < ndim.", UserWarning, stacklevel=2)
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        self._factor_from(scale_tril, covariance_matrix, precision_matrix)

    @property
    def arg_constraints(self) -> dict:
        p = self._event_shape[-1] if self._event_shape else 1
        return {"covariance_matrix": constraints.positive_definite,
                "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky,
                "df": constraints.greater_than(p - 1)}

    def expand(self, batch_shape, _instance=None):
        new = self._expanded(Wishart, batch_shape, _instance, ("df",))
        self._expand_matrices(new, new._matrix_shape())
        # (PyTorch's Wishart, unlike its MultivariateNormal, expands the factor too: what
        # its entropy / log_prob promote to follows)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(
            new._matrix_shape())
        return new

    def _matrix_shape(self) -> tuple:
        # (the event shape is already the matrix's: (p, p))
        return tuple(self._batch_shape) + tuple(self._event_shape)

    def _df_matrix(self, df=None) -> Tensor:
        # (PyTorch's view to the batch shape: a 0-d df of a batch raises there)
        return (self.df if df is None else df).view(tuple(self._batch_shape) + (1, 1))

    @property
    def mean(self) -> Tensor:
        return self._df_matrix() * self.covariance_matrix

    @property
    def mode(self) -> Tensor:
        # (df - p - 1) Sigma, which exists only for df > p + 1 (nan otherwise, as PyTorch).
        factor = self.df - self.covariance_matrix.shape[-1] - 1
        factor = dg.where(factor > 0, factor, math.nan)
        return self._df_matrix(factor) * self.covariance_matrix

    @property
    def variance(self) -> Tensor:
        # Var(X_ij) = df (Sigma_ij^2 + Sigma_ii Sigma_jj).
        cov = self.covariance_matrix
        diagonal = cov.diagonal(dim1=-2, dim2=-1)
        return self._df_matrix() * (cov.pow(2) + diagonal.unsqueeze(-1) * diagonal.unsqueeze(-2))

    def _bartlett(self, sample_shape: tuple) -> Tensor:
        # Bartlett: X = L A A^T L^T, A lower triangular with A_ii^2 ~ chi2(df - i) and
        # standard normal entries below the diagonal; drawn in PyTorch's order (the chi-squared
        # draws, then the p(p-1)/2 normals in tril_indices order), so seeded samples match.
        p = self._event_shape[-1]
        lower = self._unbroadcasted_scale_tril
        df = self.df.unsqueeze(-1) - dg.arange(p, dtype=lower.dtype).expand(
            tuple(self._batch_shape) + (-1,))
        diagonal = Chi2(df).rsample(sample_shape).sqrt()
        diagonal = diagonal.clamp(min=dg.finfo(diagonal.dtype).eps)
        noise = dg.diag_embed(diagonal)
        rows, cols = dg.tril_indices(p, p, offset=-1)
        below = standard_normal(tuple(sample_shape) + tuple(self._batch_shape)
                                + (p * (p - 1) // 2,), diagonal.dtype)
        noise[..., rows, cols] = below
        factor = self._unbroadcasted_scale_tril.matmul(noise)
        return factor.matmul(factor.transpose(-2, -1))

    def _bartlett_sampling(self, sample_shape=()) -> Tensor:
        """One Bartlett draw, no redraw step: PyTorch's private name for it, which libraries
        call directly (peft's MonteCLoRA sampler)."""
        return self._bartlett(tuple(sample_shape))

    def _sample_flags(self, sample: Tensor) -> Tensor:
        flags = self.support.check(sample)
        batch_dims = tuple(-(i + 1) for i in range(len(self._batch_shape)))
        return flags.amax(batch_dims) if batch_dims else flags

    def rsample(self, sample_shape=(), max_try_correction=None) -> Tensor:
        """A reparameterised sample (Bartlett decomposition).

        NOTE: PyTorch's rsample then redraws "singular" samples, but the mask it starts from is
        ``support.check(sample)``, true for the valid (positive-definite) ones: so it warns
        "Singular sample detected." and draws each valid sample a second time. This follows it
        (same warning, same draws, so seeded samples are PyTorch's).
        """
        if max_try_correction is None:
            max_try_correction = 10
        sample_shape = tuple(sample_shape)
        sample = self._bartlett(sample_shape)
        redraw = self._sample_flags(sample)
        if bool(redraw.any()):
            warnings.warn("Singular sample detected.", UserWarning, stacklevel=2)
            for _ in range(max_try_correction):
                fresh = self._bartlett(tuple(redraw[redraw].shape))
                sample[redraw] = fresh
                still_singular = ~self._sample_flags(fresh)
                redraw[redraw.clone()] = still_singular
                if not bool(redraw.any()):
                    break
        return sample

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        nu, p = self.df, self._event_shape[-1]
        lower = self._unbroadcasted_scale_tril
        half_log_det_scale = lower.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        log_det_value = slogdet(value)[1]
        # tr(Sigma^-1 X) by cholesky_solve, as PyTorch: its gradient reaches the whole of a
        # user's scale_tril (upper triangle included), which two triangular solves would not.
        trace = dg.cholesky_solve(value, lower).diagonal(dim1=-2, dim2=-1).sum(-1)
        return (-nu * (0.5 * p * _LOG_2 + half_log_det_scale) - dg.mvlgamma(nu / 2, p=p)
                + (nu - p - 1) / 2 * log_det_value - trace / 2)

    def entropy(self):
        nu, p = self.df, self._event_shape[-1]
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return ((p + 1) * (0.5 * p * _LOG_2 + half_log_det) + dg.mvlgamma(nu / 2, p=p)
                - (nu - p - 1) / 2 * _multivariate_digamma(nu / 2, p) + nu * p / 2)

    # The exponential-family form PyTorch's generic KL (kl.py's Bregman divergence) reads.
    @property
    def _natural_params(self) -> tuple:
        return -self.precision_matrix / 2, (self.df - self._event_shape[-1] - 1) / 2

    def _log_normalizer(self, x, y):
        p = self._event_shape[-1]
        return ((y + (p + 1) / 2) * (-slogdet(-2 * x)[1] + _LOG_2 * p)
                + dg.mvlgamma(y + (p + 1) / 2, p=p))


class LKJCholesky(Distribution):
    """The LKJ distribution over correlation matrices (density proportional to
    det(C) ** (concentration - 1)), given as their lower Cholesky factors L (C = L L^T).

    Args:
        dim: the matrix size, >= 2.
        concentration: eta > 0 (1: uniform over correlation matrices; larger: closer to the
            identity); a number or a tensor of the batch shape.
        validate_args: as ``Distribution``.

    Samples come from the onion method (not reparameterised).
    """

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration=1.0, validate_args: bool | None = None) -> None:
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. "
                             f"Found dim={dim}.")
        self.dim = dim
        if is_number(concentration):
            concentration = dg.tensor(float(concentration), dtype=dg.get_default_dtype())
        self.concentration = concentration
        # PyTorch builds its sampler's Beta here, validated as the global default says
        # whatever validate_args is: a concentration that makes one of its shapes <= 0 (or
        # nan) raises its ValueError; the Beta itself is not used (see sample)
        offset = dg.cat([dg.zeros(1, dtype=concentration.dtype),
                         dg.arange(dim - 1, dtype=concentration.dtype)])
        marginal = concentration + 0.5 * (dim - 2)
        Beta(offset + 0.5, marginal.unsqueeze(-1) - 0.5 * offset)
        super().__init__(tuple(concentration.shape), (dim, dim), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expanded(LKJCholesky, batch_shape, _instance, ("concentration",),
                              dim=self.dim)

    def sample(self, sample_shape=()) -> Tensor:
        # The onion method: row i (i >= 1) of L is sqrt(y_i) u_i on its first i entries, u_i
        # uniform on the unit sphere and y_i ~ Beta(i / 2, eta + (dim - 1 - i) / 2), and the
        # diagonal completes the row to unit length. Row 0 is (1, 0, ..., 0).
        with dg.no_grad():
            sample_shape = tuple(sample_shape)
            d = self.dim
            rows = dg.arange(1, d, dtype=self.concentration.dtype)
            eta = self.concentration.unsqueeze(-1)
            beta = Beta(rows / 2 + dg.zeros_like(eta), eta + (d - 1 - rows) / 2,
                        validate_args=False)
            y = beta.sample(sample_shape)
            y = dg.cat([dg.zeros_like(y[..., :1]), y], -1).unsqueeze(-1)
            normal = standard_normal(self._extended_shape(sample_shape),
                                     self.concentration.dtype).tril(-1)
            norms = normal.norm(dim=-1, keepdim=True)
            directions = normal / dg.where(norms > 0, norms, 1.0)
            off_diagonal = y.sqrt() * directions
            tiny = dg.finfo(off_diagonal.dtype).tiny
            diagonal = (1 - off_diagonal.pow(2).sum(-1)).clamp(min=tiny).sqrt()
            return off_diagonal + dg.diag_embed(diagonal)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        # log p(L) = sum_i (dim - i - 1 + 2 (eta - 1)) log L_ii over i >= 1, minus the log of
        # the normaliser (Lewandowski, Kurowicka and Joe 2009).
        d = self.dim
        diagonal = value.diagonal(dim1=-2, dim2=-1)[..., 1:]
        exponents = (2 * (self.concentration - 1).unsqueeze(-1) + d
                     - dg.arange(2, d + 1, dtype=value.dtype))
        unnormalised = (exponents * diagonal.log()).sum(-1)
        alpha = self.concentration + 0.5 * (d - 1)
        log_normaliser = (0.5 * (d - 1) * math.log(math.pi) + dg.mvlgamma(alpha - 0.5, p=d - 1)
                          - (d - 1) * dg.lgamma(alpha))
        return unnormalised - log_normaliser
