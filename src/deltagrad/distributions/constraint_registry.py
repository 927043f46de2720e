"""``biject_to`` and ``transform_to`` (``torch.distributions.constraint_registry``): from a
constraint to a transform that maps unconstrained reals into it, as optimisers of constrained
parameters and variational families need.

``biject_to(c)`` is bijective (log-determinants usable in densities); ``transform_to(c)`` need
only reach the region (the simplex by softmax, say). Both are keyed by the constraint's class,
so ``positive`` takes ``greater_than``'s transform, as in PyTorch.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

from . import constraints
from .transforms import (
    AffineTransform,
    CatTransform,
    ComposeTransform,
    CorrCholeskyTransform,
    ExpTransform,
    IndependentTransform,
    LowerCholeskyTransform,
    PositiveDefiniteTransform,
    SigmoidTransform,
    SoftmaxTransform,
    StackTransform,
    StickBreakingTransform,
    Transform,
    identity_transform,
)

__all__ = ["ConstraintRegistry", "biject_to", "transform_to"]


class ConstraintRegistry:
    """A table from constraint classes to factories ``factory(constraint) -> Transform``."""

    def __init__(self) -> None:
        self._registry: dict[type, Callable] = {}

    def register(self, constraint, factory: Callable | None = None):
        """Register ``factory`` for ``constraint`` (a Constraint subclass or an instance,
        which stands for its class); usable as a decorator when ``factory`` is omitted."""
        if factory is None:
            return lambda factory: self.register(constraint, factory)
        if isinstance(constraint, constraints.Constraint):
            constraint = type(constraint)
        if not isinstance(constraint, type) or not issubclass(constraint,
                                                              constraints.Constraint):
            raise TypeError("Expected constraint to be either a Constraint subclass or "
                            f"instance, but got {constraint}")
        self._registry[constraint] = factory
        return factory

    def __call__(self, constraint) -> Transform:
        """The transform for ``constraint``.

        Raises:
            NotImplementedError: for a constraint class with no registered factory.
        """
        try:
            factory = self._registry[type(constraint)]
        except KeyError:
            raise NotImplementedError(
                f"Cannot transform {type(constraint).__name__} constraints") from None
        return factory(constraint)


biject_to = ConstraintRegistry()
transform_to = ConstraintRegistry()


def _both(constraint_class):
    """Register the decorated factory with biject_to and transform_to."""
    def decorate(factory):
        biject_to.register(constraint_class, factory)
        transform_to.register(constraint_class, factory)
        return factory
    return decorate


@_both(constraints._Real)
def _to_real(constraint):
    return identity_transform


# (each registry recurses into itself for the base constraint)
biject_to.register(constraints._IndependentConstraint, lambda c: IndependentTransform(
    biject_to(c.base_constraint), c.reinterpreted_batch_ndims))
transform_to.register(constraints._IndependentConstraint, lambda c: IndependentTransform(
    transform_to(c.base_constraint), c.reinterpreted_batch_ndims))


@_both(constraints._GreaterThan)
@_both(constraints._GreaterThanEq)
def _to_greater_than(constraint):
    return ComposeTransform([ExpTransform(), AffineTransform(constraint.lower_bound, 1)])


@_both(constraints._LessThan)
def _to_less_than(constraint):
    return ComposeTransform([ExpTransform(), AffineTransform(constraint.upper_bound, -1)])


@_both(constraints._Interval)
@_both(constraints._HalfOpenInterval)
def _to_interval(constraint):
    lower, upper = constraint.lower_bound, constraint.upper_bound
    if (isinstance(lower, numbers.Number) and isinstance(upper, numbers.Number)
            and lower == 0 and upper == 1):
        return SigmoidTransform()
    return ComposeTransform([SigmoidTransform(), AffineTransform(lower, upper - lower)])


biject_to.register(constraints._Simplex, lambda c: StickBreakingTransform())
transform_to.register(constraints._Simplex, lambda c: SoftmaxTransform())
transform_to.register(constraints._LowerCholesky, lambda c: LowerCholeskyTransform())
transform_to.register(constraints._PositiveDefinite, lambda c: PositiveDefiniteTransform())
transform_to.register(constraints._PositiveSemidefinite, lambda c: PositiveDefiniteTransform())
_both(constraints._CorrCholesky)(lambda c: CorrCholeskyTransform())

biject_to.register(constraints._Cat, lambda c: CatTransform(
    [biject_to(part) for part in c.cseq], c.dim, c.lengths))
transform_to.register(constraints._Cat, lambda c: CatTransform(
    [transform_to(part) for part in c.cseq], c.dim, c.lengths))
biject_to.register(constraints._Stack, lambda c: StackTransform(
    [biject_to(part) for part in c.cseq], c.dim))
transform_to.register(constraints._Stack, lambda c: StackTransform(
    [transform_to(part) for part in c.cseq], c.dim))
