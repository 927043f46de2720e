"""The random in-place fills ``uniform_`` and ``normal_``: draws from PyTorch's CPU stream (or
a NumPy generator given as ``generator=``) written through ``inplace._inplace``, so that a tensor
in a graph is rebound as by any in-place op. (The other random fills, ``exponential_``,
``bernoulli_``, ``random_``, ..., are in ``random.py``.)"""

from __future__ import annotations

from .. import bf16, stream
from ..random import numpy_generator, torch_source
from ..tensor import Tensor, _leaf, tensor_method
from .inplace import _inplace

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
