"""More transforms of ``torch.distributions.transforms``: Abs, Softmax, Reshape, Independent,
Cat and Stack (transforms applied to slices), the matrix transforms (LowerCholesky,
PositiveDefinite, CorrCholesky) and CumulativeDistribution (a distribution's CDF)."""

from __future__ import annotations

import math

from .. import _engine as dg
from .._engine.tensor import Tensor
from ..nn import functional as F
from . import constraints
from ._utils import sum_rightmost
from .multivariate_normal import cholesky
from .transform_base import Transform
from .utils import tril_matrix_to_vec, vec_to_tril_matrix

__all__ = ["AbsTransform", "CatTransform", "CorrCholeskyTransform",
           "CumulativeDistributionTransform", "IndependentTransform", "LowerCholeskyTransform",
           "PositiveDefiniteTransform", "ReshapeTransform", "SoftmaxTransform", "StackTransform"]


class AbsTransform(Transform):
    """y = |x| (not injective: the inverse returns the non-negative root)."""

    domain = constraints.real
    codomain = constraints.positive

    def __eq__(self, other) -> bool:
        return isinstance(other, AbsTransform)

    __hash__ = object.__hash__

    def _call(self, x):
        return x.abs()

    def _inverse(self, y):
        return y


class SoftmaxTransform(Transform):
    """Real vectors onto the simplex by softmax over the last dimension (not bijective: the
    inverse is the log, one of the preimages; no log-determinant)."""

    domain = constraints.real_vector
    codomain = constraints.simplex

    def __eq__(self, other) -> bool:
        return isinstance(other, SoftmaxTransform)

    __hash__ = object.__hash__

    def _call(self, x):
        shifted = x - x.max(-1, keepdim=True).values
        weights = shifted.exp()
        return weights / weights.sum(-1, keepdim=True)

    def _inverse(self, y):
        return y.log()

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        return shape

    inverse_shape = forward_shape


class ReshapeTransform(Transform):
    """Reshape each event of shape ``in_shape`` to ``out_shape`` (log-determinant 0).

    Raises:
        ValueError: when the two shapes have different numbers of elements.
    """

    bijective = True

    def __init__(self, in_shape, out_shape, cache_size: int = 0) -> None:
        self.in_shape = dg.Size(in_shape)
        self.out_shape = dg.Size(out_shape)
        if self.in_shape.numel() != self.out_shape.numel():
            raise ValueError("in_shape, out_shape have different numbers of elements")
        super().__init__(cache_size=cache_size)

    @property
    def domain(self):
        return constraints.independent(constraints.real, len(self.in_shape))

    @property
    def codomain(self):
        return constraints.independent(constraints.real, len(self.out_shape))

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return ReshapeTransform(self.in_shape, self.out_shape, cache_size=cache_size)

    def _call(self, x):
        batch = tuple(x.shape[: x.dim() - len(self.in_shape)])
        return x.reshape(batch + tuple(self.out_shape))

    def _inverse(self, y):
        batch = tuple(y.shape[: y.dim() - len(self.out_shape)])
        return y.reshape(batch + tuple(self.in_shape))

    def log_abs_det_jacobian(self, x, y):
        return dg.zeros(tuple(x.shape[: x.dim() - len(self.in_shape)]), dtype=x.dtype)

    def _reshaped(self, shape, source, target):
        if len(shape) < len(source):
            raise ValueError("Too few dimensions on input")
        cut = len(shape) - len(source)
        if tuple(shape[cut:]) != tuple(source):
            raise ValueError(f"Shape mismatch: expected {tuple(shape[cut:])} but got "
                             f"{tuple(source)}")
        return dg.Size(tuple(shape[:cut]) + tuple(target))

    def forward_shape(self, shape):
        return self._reshaped(shape, self.in_shape, self.out_shape)

    def inverse_shape(self, shape):
        return self._reshaped(shape, self.out_shape, self.in_shape)


class IndependentTransform(Transform):
    """``base_transform`` with its ``reinterpreted_batch_ndims`` rightmost batch dimensions
    made part of the event (their log-determinants summed)."""

    def __init__(self, base_transform: Transform, reinterpreted_batch_ndims: int,
                 cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        self.base_transform = base_transform.with_cache(cache_size)
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return IndependentTransform(self.base_transform, self.reinterpreted_batch_ndims,
                                    cache_size=cache_size)

    @property
    def domain(self):
        return constraints.independent(self.base_transform.domain,
                                       self.reinterpreted_batch_ndims)

    @property
    def codomain(self):
        return constraints.independent(self.base_transform.codomain,
                                       self.reinterpreted_batch_ndims)

    @property
    def bijective(self) -> bool:
        return self.base_transform.bijective

    @property
    def sign(self) -> int:
        return self.base_transform.sign

    def _call(self, x):
        if x.dim() < self.domain.event_dim:
            raise ValueError("Too few dimensions on input")
        return self.base_transform(x)

    def _inverse(self, y):
        if y.dim() < self.codomain.event_dim:
            raise ValueError("Too few dimensions on input")
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x, y):
        return sum_rightmost(self.base_transform.log_abs_det_jacobian(x, y),
                             self.reinterpreted_batch_ndims)

    def forward_shape(self, shape):
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape):
        return self.base_transform.inverse_shape(shape)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.base_transform!r}, "
                f"{self.reinterpreted_batch_ndims})")


def _check_dim(dim: int, value: Tensor) -> None:
    # (CatTransform's and StackTransform's checks raise PyTorch's class: AssertionError)
    if not -value.dim() <= dim < value.dim():
        raise AssertionError(f"dim {dim} out of range for tensor with {value.dim()} dimensions")


class CatTransform(Transform):
    """The transforms ``tseq`` applied to consecutive slices (of sizes ``lengths``, one each
    by default) along ``dim``, their results concatenated."""

    def __init__(self, tseq, dim: int = 0, lengths=None, cache_size: int = 0) -> None:
        if not all(isinstance(t, Transform) for t in tseq):
            raise AssertionError("CatTransform: every element of tseq must be a Transform")
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size=cache_size)
        self.transforms = list(tseq)
        self.lengths = [1] * len(self.transforms) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.transforms):
            raise AssertionError("CatTransform: lengths and tseq must have the same length")
        self.dim = dim

    @property
    def event_dim(self) -> int:
        return max(t.event_dim for t in self.transforms)

    @property
    def length(self) -> int:
        return sum(self.lengths)

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return CatTransform(self.transforms, self.dim, self.lengths, cache_size)

    def _slices(self, value):
        _check_dim(self.dim, value)
        if value.size(self.dim) != self.length:
            raise AssertionError(f"CatTransform: expected size {self.length} along dim "
                                 f"{self.dim}, got {value.size(self.dim)}")
        start = 0
        for transform, length in zip(self.transforms, self.lengths):
            yield transform, value.narrow(self.dim, start, length)
            start += length

    def _call(self, x):
        return dg.cat([t(piece) for t, piece in self._slices(x)], self.dim)

    def _inverse(self, y):
        return dg.cat([t.inv(piece) for t, piece in self._slices(y)], self.dim)

    def log_abs_det_jacobian(self, x, y):
        parts = []
        for (transform, x_piece), (_, y_piece) in zip(self._slices(x), self._slices(y)):
            part = transform.log_abs_det_jacobian(x_piece, y_piece)
            if transform.event_dim < self.event_dim:
                part = sum_rightmost(part, self.event_dim - transform.event_dim)
            parts.append(part)
        # The concatenation dimension survives in the log-determinant only when it lies in
        # the batch part; inside the event the pieces' determinants multiply (sum in logs).
        dim = (self.dim - x.dim() if self.dim >= 0 else self.dim) + self.event_dim
        if dim < 0:
            return dg.cat(parts, dim)
        return sum(parts[1:], parts[0])

    @property
    def bijective(self) -> bool:
        return all(t.bijective for t in self.transforms)

    @property
    def domain(self):
        return constraints.cat([t.domain for t in self.transforms], self.dim, self.lengths)

    @property
    def codomain(self):
        return constraints.cat([t.codomain for t in self.transforms], self.dim, self.lengths)


class StackTransform(Transform):
    """The transforms ``tseq`` applied to the slices ``x.select(dim, i)``, the results
    stacked along ``dim``."""

    def __init__(self, tseq, dim: int = 0, cache_size: int = 0) -> None:
        if not all(isinstance(t, Transform) for t in tseq):
            raise AssertionError("StackTransform: every element of tseq must be a Transform")
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size=cache_size)
        self.transforms = list(tseq)
        self.dim = dim

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return StackTransform(self.transforms, self.dim, cache_size)

    def _slices(self, value):
        _check_dim(self.dim, value)
        if value.size(self.dim) != len(self.transforms):
            raise AssertionError(f"StackTransform: expected size {len(self.transforms)} along "
                                 f"dim {self.dim}, got {value.size(self.dim)}")
        return [value.select(self.dim, i) for i in range(len(self.transforms))]

    def _call(self, x):
        return dg.stack([t(p) for t, p in zip(self.transforms, self._slices(x))], self.dim)

    def _inverse(self, y):
        return dg.stack([t.inv(p) for t, p in zip(self.transforms, self._slices(y))],
                        self.dim)

    def log_abs_det_jacobian(self, x, y):
        parts = [t.log_abs_det_jacobian(xp, yp) for t, xp, yp
                 in zip(self.transforms, self._slices(x), self._slices(y))]
        return dg.stack(parts, self.dim)

    @property
    def bijective(self) -> bool:
        return all(t.bijective for t in self.transforms)

    @property
    def domain(self):
        return constraints.stack([t.domain for t in self.transforms], self.dim)

    @property
    def codomain(self):
        return constraints.stack([t.codomain for t in self.transforms], self.dim)


class LowerCholeskyTransform(Transform):
    """Square matrices onto lower-triangular ones with a positive diagonal: keep the strict
    lower triangle, exponentiate the diagonal (no log-determinant, as PyTorch)."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def __eq__(self, other) -> bool:
        return isinstance(other, LowerCholeskyTransform)

    __hash__ = object.__hash__

    def _call(self, x):
        return x.tril(-1) + dg.diag_embed(x.diagonal(dim1=-2, dim2=-1).exp())

    def _inverse(self, y):
        return y.tril(-1) + dg.diag_embed(y.diagonal(dim1=-2, dim2=-1).log())


class PositiveDefiniteTransform(Transform):
    """Square matrices onto positive-definite ones: L L^T of the LowerCholeskyTransform's L."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite

    def __eq__(self, other) -> bool:
        return isinstance(other, PositiveDefiniteTransform)

    __hash__ = object.__hash__

    def _call(self, x):
        lower = LowerCholeskyTransform()(x)
        return lower.matmul(lower.transpose(-2, -1))

    def _inverse(self, y):
        return LowerCholeskyTransform().inv(cholesky(y))


class CorrCholeskyTransform(Transform):
    """Vectors of D (D - 1) / 2 reals onto Cholesky factors of D x D correlation matrices:
    tanh maps each entry to a partial correlation in (-1, 1), and row by row stick breaking
    scales them so that each row has unit norm (the LKJ construction)."""

    domain = constraints.real_vector
    codomain = constraints.corr_cholesky
    bijective = True

    # NOTE: no __eq__: PyTorch compares CorrCholeskyTransforms by identity.

    def _call(self, x):
        eps = dg.finfo(x.dtype).eps
        partial = dg.tanh(x).clamp(min=-1 + eps, max=1 - eps)
        r = vec_to_tril_matrix(partial, diag=-1)
        # Row i: y_ij = r_ij * sqrt(prod_{k<j} (1 - r_ik^2)), and the diagonal takes the rest.
        left = (1 - r.pow(2)).sqrt().cumprod(-1)
        n = r.shape[-1]
        r = r + dg.eye(n, dtype=r.dtype)
        return r * F.pad(left[..., :-1], (1, 0), value=1.0)

    def _inverse(self, y):
        left = 1 - (y * y).cumsum(-1)
        left_before = F.pad(left[..., :-1], (1, 0), value=1.0)
        t = tril_matrix_to_vec(y, diag=-1) / tril_matrix_to_vec(left_before, diag=-1).sqrt()
        return ((1 + t) / (1 - t)).log() / 2  # atanh(t)

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        # Stick breaking: the product of sqrt(1 - sum_{k<j} y_ik^2) over strictly-lower
        # entries; tanh: log(1 - tanh(x)^2) = 2 (log 2 - x - softplus(-2x)).
        remaining = 1 - (y * y).cumsum(-1)
        stick = 0.5 * tril_matrix_to_vec(remaining, diag=-2).log().sum(-1)
        tanh_part = -2 * (x + F.softplus(-2 * x) - math.log(2.0)).sum(-1)
        return stick + tanh_part

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        n = shape[-1]
        d = round((0.25 + 2 * n) ** 0.5 + 0.5)
        if d * (d - 1) // 2 != n:
            raise ValueError("Input is not a flattend lower-diagonal number")
        return dg.Size(tuple(shape[:-1]) + (d, d))

    def inverse_shape(self, shape):
        if len(shape) < 2:
            raise ValueError("Too few dimensions on input")
        if shape[-2] != shape[-1]:
            raise ValueError("Input is not square")
        n = shape[-1]
        return dg.Size(tuple(shape[:-2]) + (n * (n - 1) // 2,))


class CumulativeDistributionTransform(Transform):
    """y = distribution.cdf(x), from the distribution's support onto the unit interval; its
    log-determinant is the log-density."""

    bijective = True
    codomain = constraints.unit_interval
    sign = +1

    def __init__(self, distribution, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        self.distribution = distribution

    @property
    def domain(self):
        return self.distribution.support

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return CumulativeDistributionTransform(self.distribution, cache_size=cache_size)

    def _call(self, x):
        return self.distribution.cdf(x)

    def _inverse(self, y):
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x, y):
        return self.distribution.log_prob(x)
