"""The random in-place fills ``uniform_`` and ``normal_``: draws from PyTorch's CPU stream (or
a NumPy generator given as ``generator=``) written through ``inplace._inplace``, so that a tensor
in a graph is rebound as by any in-place op. (The other random fills, ``exponential_``,
``bernoulli_``, ``random_``, ..., are in ``random.py``.)"""

from __future__ import annotations

import numpy as np

from .. import bf16, stream
from ..random import numpy_generator, torch_source
from ..tensor import Tensor, _leaf, tensor_method
from .inplace import _inplace
from .random import fill_kinds

__all__: list[str] = []


def _uniform_bounds(a, b, bounds: dict) -> tuple:
    """uniform_'s (from, to) with PyTorch's keyword names in ``bounds``."""
    unknown = set(bounds) - {"from", "to"}
    if unknown:
        raise TypeError(f"uniform_() got an unexpected keyword argument '{min(unknown)}'")
    return bounds.get("from", a), bounds.get("to", b)


@tensor_method
def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None, **bounds) -> Tensor:
    """Fill with draws from U(a, b). PyTorch names the bounds ``from`` and ``to`` (a Python
    keyword: ``x.uniform_(**{"from": 0, "to": 2})``); ``bounds`` takes those names."""
    if bounds:
        a, b = _uniform_bounds(a, b, bounds)
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a} "
                           f"> to={b}")
    fill_kinds(self, "check_uniform_bounds", "fc")
    if self._data.dtype.kind == "c":
        return _complex_fill(self, "uniform_", generator, lambda bits, shape, real: stream.uniform(
            bits, shape, real, a, b), lambda rng, shape: rng.uniform(a, b, shape))
    source = torch_source(generator)
    if source is not None and bf16.kind(self._data.dtype) == "f":
        draws = stream.in_memory_order(self._data, lambda shape: stream.uniform(
            source._bits, shape, self._data.dtype, a, b))
    else:
        draws = numpy_generator(generator).uniform(a, b, self.shape)
    # (copy=False: the draws are a fresh array that _inplace copies into the tensor; one copy
    # less, see normal_)
    return _inplace(self, "uniform_", lambda x: _leaf(draws.astype(x._data.dtype, copy=False)),
                    cast=True)


@tensor_method
def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill with draws from N(mean, std**2)."""
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    fill_kinds(self, "normal_kernel_cpu", "fc")
    if self._data.dtype.kind == "c":  # (std / sqrt(2) on each part, as PyTorch)
        part = std / 2 ** 0.5
        return _complex_fill(self, "normal_", generator, lambda source, shape, real: stream.normal(
            source, shape, real, mean, part), lambda rng, shape: rng.normal(mean, part, shape))
    source = torch_source(generator)
    if source is not None and bf16.kind(self._data.dtype) == "f":
        scalar = not self._data.flags.c_contiguous
        draws = stream.in_memory_order(self._data, lambda shape: stream.normal(
            source, shape, self._data.dtype, mean, std, scalar=scalar))
    else:
        draws = numpy_generator(generator).normal(mean, std, self.shape)
    # (copy=False: the draws are a fresh array that _inplace copies into the tensor; one copy
    # less: uniform_ / normal_ of [1000, 1000] float32 4.2 -> 3.8 / 6.6 -> 6.3 ms)
    return _inplace(self, "normal_", lambda x: _leaf(draws.astype(x._data.dtype, copy=False)),
                    cast=True)


def _complex_fill(self, name, generator, draw, draw_numpy) -> Tensor:
    """A complex tensor filled as PyTorch fills it: its real view (real and imaginary parts
    interleaved, in memory order) with real draws (was: only the real parts, from other
    draws)."""
    real = np.dtype(np.float32 if self._data.dtype == np.complex64 else np.float64)
    source = torch_source(generator)

    def pairs(shape):
        if source is None:
            parts = draw_numpy(numpy_generator(generator), shape + (2,))
        else:
            parts = draw(source if name == "normal_" else source._bits, shape + (2,), real)
        return np.ascontiguousarray(parts, dtype=real).view(self._data.dtype).reshape(shape)

    draws = stream.in_memory_order(self._data, pairs) if source is not None else pairs(
        tuple(self.shape))
    return _inplace(self, name, lambda x: _leaf(draws), cast=True)
