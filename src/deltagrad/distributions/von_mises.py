"""The von Mises distribution, the circular analogue of the normal distribution."""

from __future__ import annotations

import math

import numpy as np

from .. import _engine as dg
from .._engine.ops import OPS
from .._engine.tensor import Tensor, apply
from . import constraints
from ._utils import broadcast_all, is_number
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
        # Best & Fisher's rejection method in double precision with PyTorch's draws: a block
        # of [3, *shape] uniforms per round (u1 proposes, u2 tests, u3 picks the sign) until
        # every place has accepted once; a place that accepts again takes the newer value, as
        # in PyTorch. Folded into [-pi, pi) around loc.
        shape = tuple(self._extended_shape(sample_shape))
        loc = np.broadcast_to(self.loc.detach().numpy().astype(np.float64), shape)
        k = np.broadcast_to(self.concentration.detach().numpy().astype(np.float64), shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            tau = 1 + np.sqrt(1 + 4 * k ** 2)
            rho = (tau - np.sqrt(2 * tau)) / (2 * k)
            # (a second-order expansion for tiny k, where rho loses all precision)
            proposal_r = np.where(k < 1e-5, 1 / k + k, (1 + rho ** 2) / (2 * rho))
        x = np.zeros(shape)
        done = np.zeros(shape, dtype=bool)
        while not done.all():
            u1, u2, u3 = dg.rand((3,) + shape, dtype=dg.float64).numpy()
            z = np.cos(math.pi * u1)
            f = (1 + proposal_r * z) / (proposal_r + z)
            c = k * (proposal_r - f)
            with np.errstate(divide="ignore", invalid="ignore"):
                accept = ((c * (2 - c) - u2) > 0) | (np.log(c / u2) + 1 - c >= 0)
            x = np.where(accept, np.sign(u3 - 0.5) * np.arccos(f), x)
            done |= accept
        draws = np.mod(x + math.pi + loc, 2 * math.pi) - math.pi
        return dg.tensor(draws, dtype=self.loc.dtype)
