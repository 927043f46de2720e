"""Constraints on parameters and supports (``torch.distributions.constraints``): objects whose
``check(value)`` returns a boolean tensor, one element per event."""

from __future__ import annotations

import numpy as np

from .. import _engine as dg
from .._engine.api.decompositions import cholesky_ex
from .._engine.tensor import Tensor

__all__ = ["Constraint", "MixtureSameFamilyConstraint", "boolean", "cat", "corr_cholesky",
           "dependent", "dependent_property", "greater_than", "greater_than_eq",
           "half_open_interval", "independent", "integer_interval", "interval", "is_dependent",
           "less_than", "lower_cholesky", "lower_triangular", "multinomial", "nonnegative",
           "nonnegative_integer", "one_hot", "positive", "positive_definite", "positive_integer",
           "positive_semidefinite", "real", "real_vector", "simplex", "square", "stack",
           "symmetric", "unit_interval"]


def _bool_tensor(array) -> Tensor:
    return dg.tensor(np.asarray(array, dtype=bool))


class Constraint:
    """A region of valid values.

    Attributes:
        is_discrete: whether the region is a set of integers (or one-hot vectors).
        event_dim: how many rightmost dimensions make up one event (0 for scalars, 1 for
            vectors, 2 for matrices); ``check`` reduces over them.
    """

    is_discrete = False
    event_dim = 0

    def check(self, value: Tensor) -> Tensor:
        """A boolean tensor: whether each event of ``value`` satisfies the constraint."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return type(self).__name__[1:] + "()"


class _Dependent(Constraint):
    """A placeholder for a constraint that depends on other parameters (not checkable)."""

    def __init__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented) -> None:
        self._is_discrete = is_discrete
        self._event_dim = event_dim

    @property
    def is_discrete(self) -> bool:
        if self._is_discrete is NotImplemented:
            raise NotImplementedError(".is_discrete cannot be determined statically")
        return self._is_discrete

    @property
    def event_dim(self) -> int:
        if self._event_dim is NotImplemented:
            raise NotImplementedError(".event_dim cannot be determined statically")
        return self._event_dim

    def __call__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented) -> _Dependent:
        if is_discrete is NotImplemented:
            is_discrete = self._is_discrete
        if event_dim is NotImplemented:
            event_dim = self._event_dim
        return _Dependent(is_discrete=is_discrete, event_dim=event_dim)

    def check(self, value):
        raise ValueError("Cannot determine validity of dependent constraint")


def is_dependent(constraint) -> bool:
    """Whether ``constraint`` is a dependent placeholder (skipped by argument validation)."""
    return isinstance(constraint, _Dependent)


class _DependentProperty(property, _Dependent):
    """A property of a distribution whose value is a constraint built from its parameters
    (``support`` of Uniform, say); on the class it reads as a dependent constraint."""

    def __init__(self, fn=None, *, is_discrete=NotImplemented,
                 event_dim=NotImplemented) -> None:
        property.__init__(self, fn)
        self._is_discrete = is_discrete
        self._event_dim = event_dim

    def __call__(self, fn) -> _DependentProperty:
        return _DependentProperty(fn, is_discrete=self._is_discrete, event_dim=self._event_dim)


class _IndependentConstraint(Constraint):
    """``base_constraint`` over events of ``reinterpreted_batch_ndims`` more dimensions."""

    def __init__(self, base_constraint: Constraint, reinterpreted_batch_ndims: int) -> None:
        if not isinstance(base_constraint, Constraint):
            raise TypeError(f"independent: base_constraint must be a Constraint, got "
                            f"{type(base_constraint).__name__}")
        if not isinstance(reinterpreted_batch_ndims, int) or reinterpreted_batch_ndims < 0:
            raise ValueError(f"independent: reinterpreted_batch_ndims must be an int >= 0, got "
                             f"{reinterpreted_batch_ndims!r}")
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    @property
    def is_discrete(self) -> bool:
        return self.base_constraint.is_discrete

    @property
    def event_dim(self) -> int:
        return self.base_constraint.event_dim + self.reinterpreted_batch_ndims

    def check(self, value):
        result = self.base_constraint.check(value)
        n = self.reinterpreted_batch_ndims
        if result.dim() < n:
            raise ValueError(f"Expected value.dim() >= {self.event_dim} but got {value.dim()}")
        if n == 0:
            return result
        return result.reshape(tuple(result.shape[: result.dim() - n]) + (-1,)).all(-1)

    def __repr__(self) -> str:
        return (f"{type(self).__name__[1:]}({self.base_constraint!r}, "
                f"{self.reinterpreted_batch_ndims})")


class _Boolean(Constraint):
    is_discrete = True

    def check(self, value):
        return (value == 0) | (value == 1)


class _OneHot(Constraint):
    is_discrete = True
    event_dim = 1

    def check(self, value):
        is_boolean = (value == 0) | (value == 1)
        return is_boolean.all(-1) & (value.sum(-1) == 1)


class _IntegerInterval(Constraint):
    is_discrete = True

    def __init__(self, lower_bound, upper_bound) -> None:
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound

    def check(self, value):
        return (value % 1 == 0) & (value >= self.lower_bound) & (value <= self.upper_bound)

    def __repr__(self) -> str:
        return (f"{type(self).__name__[1:]}(lower_bound={self.lower_bound}, "
                f"upper_bound={self.upper_bound})")


class _IntegerGreaterThan(Constraint):
    is_discrete = True

    def __init__(self, lower_bound) -> None:
        self.lower_bound = lower_bound

    def check(self, value):
        return (value % 1 == 0) & (value >= self.lower_bound)

    def __repr__(self) -> str:
        return f"{type(self).__name__[1:]}(lower_bound={self.lower_bound})"


class _Real(Constraint):
    def check(self, value):
        return value == value  # NOTE: false exactly at NaN (infinities count as real)


class _GreaterThan(Constraint):
    def __init__(self, lower_bound) -> None:
        self.lower_bound = lower_bound

    def check(self, value):
        return value > self.lower_bound

    def __repr__(self) -> str:
        return f"{type(self).__name__[1:]}(lower_bound={self.lower_bound})"


class _GreaterThanEq(_GreaterThan):
    def check(self, value):
        return value >= self.lower_bound


class _LessThan(Constraint):
    def __init__(self, upper_bound) -> None:
        self.upper_bound = upper_bound

    def check(self, value):
        return value < self.upper_bound

    def __repr__(self) -> str:
        return f"{type(self).__name__[1:]}(upper_bound={self.upper_bound})"


class _Interval(Constraint):
    def __init__(self, lower_bound, upper_bound) -> None:
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound

    def check(self, value):
        return (value >= self.lower_bound) & (value <= self.upper_bound)

    def __repr__(self) -> str:
        return (f"{type(self).__name__[1:]}(lower_bound={self.lower_bound}, "
                f"upper_bound={self.upper_bound})")


class _HalfOpenInterval(_Interval):
    def check(self, value):
        return (value >= self.lower_bound) & (value < self.upper_bound)


class _Simplex(Constraint):
    event_dim = 1

    def check(self, value):
        return (value >= 0).all(-1) & ((value.sum(-1) - 1).abs() < 1e-6)


def _matrix_array(value, square: bool = False) -> np.ndarray:
    array = value.detach().numpy() if isinstance(value, Tensor) else np.asarray(value)
    if array.ndim < 2:  # (PyTorch's errors: the square checks read shape[-2], the rest tril)
        if square:
            raise IndexError(f"tuple index out of range (a matrix constraint's check of a "
                             f"value of shape {array.shape})")
        raise RuntimeError(f"tril: input tensor must have at least 2 dimensions (got shape "
                           f"{array.shape})")
    return array


class _LowerTriangular(Constraint):
    event_dim = 2

    def check(self, value):
        array = _matrix_array(value)
        return _bool_tensor((np.tril(array) == array).all(axis=(-2, -1)))


def _lower_cholesky(array: np.ndarray) -> np.ndarray:
    """Per matrix: lower triangular with a positive diagonal."""
    lower = (np.tril(array) == array).all(axis=(-2, -1))
    return lower & (np.diagonal(array, axis1=-2, axis2=-1) > 0).all(-1)


class _LowerCholesky(Constraint):
    event_dim = 2

    def check(self, value):
        return _bool_tensor(_lower_cholesky(_matrix_array(value)))


class _CorrCholesky(Constraint):
    """Lower Cholesky factors of correlation matrices: rows of unit length."""

    event_dim = 2

    def check(self, value):
        if isinstance(value, Tensor) and not (value.is_floating_point() or value.is_complex()):
            # (PyTorch's tolerance reads torch.finfo of the value's dtype first)
            raise TypeError("torch.finfo() requires a floating point input type. Use "
                            "torch.iinfo to handle 'torch.finfo'")
        array = _matrix_array(value)
        # (rows of unit norm up to rounding, the tolerance scaled with the size)
        tolerance = np.finfo(array.dtype).eps * array.shape[-1] * 10
        unit_rows = (np.abs(np.linalg.norm(array, axis=-1) - 1) <= tolerance).all(-1)
        return _bool_tensor(_lower_cholesky(array) & unit_rows)


class _Square(Constraint):
    event_dim = 2

    def check(self, value):
        array = _matrix_array(value, square=True)
        return _bool_tensor(np.full(array.shape[:-2], array.shape[-2] == array.shape[-1]))


class _Symmetric(_Square):
    def check(self, value):
        array = _matrix_array(value, square=True)
        if array.shape[-2] != array.shape[-1]:
            return super().check(value)
        transposed = np.swapaxes(array, -2, -1)
        return _bool_tensor(np.isclose(array, transposed, atol=1e-6).all(axis=(-2, -1)))


_SCALAR_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                 "uint8": "Byte", "bool": "Bool"}


def _floating_matrices(value, eigen: bool) -> None:
    # (PyTorch's checks factor symmetric matrices with linalg, which refuses integers)
    if isinstance(value, Tensor) and not (value.is_floating_point() or value.is_complex()):
        name = str(value.dtype).rsplit(".", 1)[-1]
        name = _SCALAR_NAMES.get(name, name)
        if eigen:
            raise NotImplementedError(f'"linalg_eigh_cpu" not implemented for \'{name}\'')
        raise RuntimeError(f"linalg.cholesky: Expected a floating point or complex tensor as "
                           f"input. Got {name}")


class _PositiveSemidefinite(_Symmetric):
    def check(self, value):
        symmetric = super().check(value)
        if not bool(symmetric.all()):
            return symmetric
        _floating_matrices(value, True)
        return _bool_tensor(np.linalg.eigvalsh(_matrix_array(value, square=True)).min(-1) >= 0)


class _PositiveDefinite(_Symmetric):
    def check(self, value):
        symmetric = super().check(value)
        if not bool(symmetric.all()):
            return symmetric
        _floating_matrices(value, False)
        array = _matrix_array(value, square=True)
        if array.shape[-1] == 0:
            return symmetric
        # PyTorch asks whether a Cholesky factorisation succeeds (not the eigenvalues: at the
        # boundary, rounding in the value's dtype decides, [[2, 2], [2, 2]] in float32 passes)
        value = value.detach() if isinstance(value, Tensor) else dg.tensor(array)
        return cholesky_ex(value).info == 0


class MixtureSameFamilyConstraint(Constraint):
    """MixtureSameFamily's support: the component constraint, checked against every
    component at once (the mixture's batch dimension put back before the events)."""

    def __init__(self, base_constraint: Constraint) -> None:
        if not isinstance(base_constraint, Constraint):
            raise AssertionError(f"base_constraint must be a Constraint, got "
                                 f"{type(base_constraint).__name__}")
        self.base_constraint = base_constraint

    @property
    def is_discrete(self) -> bool:
        return self.base_constraint.is_discrete

    @property
    def event_dim(self) -> int:
        return self.base_constraint.event_dim

    def check(self, value):
        event_dim = self.event_dim
        result = self.base_constraint.check(value.unsqueeze(-1 - event_dim))
        if value.dim() < event_dim:
            raise ValueError(f"Expected value.dim() >= {event_dim} but got {value.dim()}")
        keep = value.dim() - event_dim
        return result.reshape(tuple(result.shape[:keep]) + (-1,)).all(-1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_constraint!r})"


class _Multinomial(Constraint):
    """Non-negative integer count vectors summing to at most ``upper_bound``."""

    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound: int) -> None:
        self.upper_bound = upper_bound

    def check(self, value):
        return (value >= 0).all(dim=-1) & (value.sum(dim=-1) <= self.upper_bound)


def _checked_dim(dim: int, value: Tensor) -> int:
    if not -value.dim() <= dim < value.dim():  # (PyTorch's class: an AssertionError)
        raise AssertionError(f"dim {dim} out of range for value with {value.dim()} dimensions")
    return dim


def _check_constraints(cseq) -> None:
    if not all(isinstance(c, Constraint) for c in cseq):  # (PyTorch's class)
        raise AssertionError("All elements of cseq must be Constraint instances")


class _Cat(Constraint):
    """The constraints ``cseq`` on consecutive slices of lengths ``lengths`` along ``dim``
    (one element each by default)."""

    def __init__(self, cseq, dim: int = 0, lengths=None) -> None:
        _check_constraints(cseq)
        self.cseq = list(cseq)
        self.lengths = [1] * len(self.cseq) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.cseq):
            raise AssertionError("cat: lengths and cseq must have the same length")
        self.dim = dim

    @property
    def is_discrete(self) -> bool:
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self) -> int:
        return max(c.event_dim for c in self.cseq)

    def check(self, value):
        dim = _checked_dim(self.dim, value)
        checks, start = [], 0
        for constraint, length in zip(self.cseq, self.lengths):
            checks.append(constraint.check(value.narrow(dim, start, length)))
            start += length
        return dg.cat(checks, dim)


class _Stack(Constraint):
    """The constraints ``cseq`` on the successive slices ``value.select(dim, i)``."""

    def __init__(self, cseq, dim: int = 0) -> None:
        _check_constraints(cseq)
        self.cseq = list(cseq)
        self.dim = dim

    @property
    def is_discrete(self) -> bool:
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self) -> int:
        dim = max(c.event_dim for c in self.cseq)
        # (the stacking dimension is part of the event when it lies inside one)
        return dim + 1 if self.dim + dim < 0 else dim

    def check(self, value):
        dim = _checked_dim(self.dim, value)
        # (as PyTorch, slices and constraints are paired as far as both go)
        count = min(value.size(dim), len(self.cseq))
        return dg.stack([self.cseq[i].check(value.select(dim, i)) for i in range(count)], dim)


dependent = _Dependent()
dependent_property = _DependentProperty
independent = _IndependentConstraint
boolean = _Boolean()
one_hot = _OneHot()
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
integer_interval = _IntegerInterval
real = _Real()
real_vector = independent(real, 1)
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
unit_interval = _Interval(0.0, 1.0)
interval = _Interval
half_open_interval = _HalfOpenInterval
simplex = _Simplex()
lower_triangular = _LowerTriangular()
lower_cholesky = _LowerCholesky()
corr_cholesky = _CorrCholesky()
square = _Square()
symmetric = _Symmetric()
positive_semidefinite = _PositiveSemidefinite()
positive_definite = _PositiveDefinite()
multinomial = _Multinomial
cat = _Cat
stack = _Stack
