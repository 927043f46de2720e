"""Gamma(alpha, 1) draws on PyTorch's random stream, as its CPU kernels make them.

PyTorch's ``_standard_gamma`` (and ``_sample_dirichlet``) walk the elements in order and run,
for each, Marsaglia and Tsang's rejection method (alpha < 1 boosted to alpha + 1 and scaled
by u ** (1 / alpha)), drawing each uniform as a 53-bit double (two words) and each normal from
the scalar Box-Muller path with its cached second value. The number of draws per element
varies, so this is a loop over elements: 10,000 draws of Gamma(2.5) take 67 ms here (0.3:
32 ms; PyTorch 1.3 ms), the price of PyTorch's numbers. Generators on NumPy's stream keep
NumPy's vectorised sampler.

``single`` reproduces the float32 kernel, which keeps alpha, ``alpha + 1``, ``1 / alpha``
and ``alpha - 1/3`` in float32 before the double arithmetic; the float64 kernel and the
Dirichlet sampler (which casts alpha to double first) run all in double.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["standard_gamma_draws"]

_F32 = np.float32
_THIRD = float(_F32(1.0) / _F32(3.0))  # 1.0f / 3.0f: a float constant in the kernel
_SQUEEZE = float(_F32(0.0331))  # 0.0331f
_MASK53 = (1 << 53) - 1


class _Words:
    """32-bit words read ahead from a MT19937 in blocks; ``finish`` leaves the generator
    exactly as many words on as were used."""

    def __init__(self, bits: np.random.MT19937) -> None:
        self._bits = bits
        self._start = bits.state
        self._buffer: list = []
        self._next = 0
        self._used = 0

    def uniform(self) -> float:
        """A double on [0, 1) from two words, the first the high half (``random64``)."""
        if self._next + 2 > len(self._buffer):
            self._buffer = self._buffer[self._next:] + self._bits.random_raw(1024).tolist()
            self._next = 0
        high, low = self._buffer[self._next], self._buffer[self._next + 1]
        self._next += 2
        self._used += 2
        return (((high << 32) | low) & _MASK53) * 2.0 ** -53

    def finish(self) -> None:
        self._bits.state = self._start
        if self._used:
            self._bits.random_raw(self._used)


def standard_gamma_draws(generator, alpha: np.ndarray, single: bool) -> np.ndarray:
    """Gamma(alpha, 1) draws (float64) of ``alpha``'s shape, in C order, from ``generator``
    (a deltagrad Generator drawing PyTorch's stream)."""
    words = _Words(generator._bits)
    out = np.empty(alpha.size, dtype=np.float64)

    def normal() -> float:
        cached = generator._cached_normal
        if cached is not None:
            generator._cached_normal = None
            return cached
        u1 = words.uniform()
        u2 = words.uniform()
        radius = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        generator._cached_normal = radius * math.sin(theta)
        return radius * math.cos(theta)

    try:
        for i, a in enumerate(np.ravel(alpha).tolist()):
            out[i] = _one(a, words.uniform, normal, single)
    finally:
        words.finish()
    return out.reshape(alpha.shape)


def _one(alpha: float, uniform, normal, single: bool) -> float:
    # (a nan or negative alpha runs the loop as PyTorch's C++ does: c is nan, the first test
    # accepts a nan draw after one normal and one uniform, or more; the caller's clamp, as
    # PyTorch's std::max, turns it into the smallest normal number)
    scale = 1.0
    if alpha < 1.0:
        if alpha == 0.0:
            return 0.0
        exponent = float(_F32(1.0) / _F32(alpha)) if single else 1.0 / alpha
        scale *= (1.0 - uniform()) ** exponent
        alpha = float(_F32(alpha) + _F32(1.0)) if single else alpha + 1.0
    d = float(_F32(alpha) - _F32(_THIRD)) if single else alpha - _THIRD
    c = 1.0 / math.sqrt(9.0 * d) if d > 0 else math.inf if d == 0 else math.nan
    while True:
        x = normal()
        y = 1.0 + c * x
        while y <= 0:
            x = normal()
            y = 1.0 + c * x
        v = y * y * y
        u = 1.0 - uniform()
        xx = x * x
        if u < 1.0 - _SQUEEZE * xx * xx:
            return scale * d * v
        if math.log(u) < 0.5 * xx + d * (1.0 - v + math.log(v)):
            return scale * d * v
