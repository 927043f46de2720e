"""The von Mises distribution, the circular analogue of the normal distribution."""

from __future__ import annotations

import math

import numpy as np

from .. import _engine as dg
from .._engine.ops import OPS
from .._engine.tensor import Tensor, apply
from . import constraints
from ._utils import broadcast_all, is_number, numpy_rng
from .continuous import _CentredAtLoc
from .distribution import Distribution

__all__ = ["VonMises"]


def _scaled_bessel(order: int, x: Tensor) -> Tensor:
    # (the engine's i0e / i1e ops: deltagrad.special sits in a layer above this package)
    return apply(OPS["i0e" if order == 0 else "i1e"], x)


def _log_bessel_i0(x: Tensor) -> Tensor:
    # log I0(x) = log(I0(x) e^-x) + x: the scaled function does not overflow.
    return _scaled_bessel(0, x).log() + x


class VonMises(_CentredAtLoc, Distribution):
    """The von Mises distribution on angles, with mean direction ``loc`` and concentration
    ``concentration`` (1 / variance as it grows): density exp(k cos(x - loc)) / (2 pi I0(k)).

    Args:
        loc: the mean angle (radians).
        concentration: k > 0; broadcast with ``loc``.
        validate_args: as ``Distribution``.

    Samples lie in [-pi, pi) and are not reparameterised (``has_rsample`` is False).
    """

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args: bool | None = None) -> None:
        self.loc, self.concentration = broadcast_all(loc, concentration)
        scalar = is_number(loc) and is_number(concentration)
        super().__init__(() if scalar else self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expanded(VonMises, batch_shape, _instance, ("loc", "concentration"))

    @property
    def variance(self) -> Tensor:
        # The circular variance 1 - I1(k) / I0(k) (the scaled Bessel functions' ratio).
        k = self.concentration
        return 1 - _scaled_bessel(1, k) / _scaled_bessel(0, k)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return (self.concentration * dg.cos(value - self.loc) - math.log(2 * math.pi)
                - _log_bessel_i0(self.concentration))

    def sample(self, sample_shape=()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        loc = self.loc.detach().numpy().astype(np.float64)
        k = self.concentration.detach().numpy().astype(np.float64)
        # NumPy's sampler (Best & Fisher's rejection method) in float64, as PyTorch samples
        # in double precision; folded into [-pi, pi).
        draws = numpy_rng().vonmises(np.broadcast_to(loc, shape), np.broadcast_to(k, shape))
        draws = np.mod(draws + np.pi, 2 * np.pi) - np.pi
        return dg.tensor(draws, dtype=self.loc.dtype)
