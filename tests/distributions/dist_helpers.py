"""Helpers shared by the distribution tests against PyTorch: the parity harness, parameter
draws from a test module's own seeded generator, and the per-statistic case makers."""

import pathlib
import sys

import numpy as np
import pytest

pytest.importorskip("torch")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "parity"))

from parity import Arg, check  # noqa: E402

__all__ = ["Arg", "D", "Draws", "cast", "check", "fixed", "stat_cases"]


def D(m):
    """The distributions package of ``m`` (deltagrad or torch)."""
    return m.distributions


def fixed(array) -> Arg:
    """A float64 argument that takes no gradient (values, counts, labels)."""
    return Arg(np.asarray(array, dtype=np.float64), requires_grad=False)


def cast(arrays, dtype) -> list:
    """The case's arrays as ``Arg``s of ``dtype``, each ``Arg`` keeping its requires_grad."""
    return [Arg(a.array.astype(dtype), requires_grad=a.requires_grad) if isinstance(a, Arg)
            else Arg(np.asarray(a, dtype=dtype)) for a in arrays]


class Draws:
    """Parameter arrays drawn from one generator; each test module passes its own, so that its
    cases do not depend on what another module draws."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def real(self, *shape):
        return self.rng.standard_normal(shape)

    def pos(self, *shape, low=0.5, high=2.5):
        return self.rng.uniform(low, high, shape)

    def unit(self, *shape, low=0.05, high=0.95):
        return self.rng.uniform(low, high, shape)

    def spd(self, n, *batch):
        """A batch of symmetric positive-definite n x n matrices."""
        a = self.rng.standard_normal(batch + (n, n))
        return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def stat_cases(name, make, stats):
    """(id, fn(m, *params)) for each named statistic of ``make(m, *params)``: ``entropy`` is
    called, the others (mean, variance, stddev, mode) are read as properties."""
    cases = []
    for stat in stats:
        if stat == "entropy":
            cases.append((f"{name}-entropy", lambda m, *p: make(m, *p).entropy()))
        else:
            cases.append((f"{name}-{stat}", lambda m, *p, s=stat: getattr(make(m, *p), s)))
    return cases
