"""Creation functions: tensor, from_numpy, zeros / ones / full, arange, random draws, *_like."""

from __future__ import annotations

import numbers

import numpy as np

from ..random import numpy_generator
from ..tensor import _DEFAULT_FLOAT, Tensor, _leaf, _shape_arg, int64

__all__ = ["arange", "empty", "empty_like", "eye", "from_numpy", "full", "full_like", "is_tensor",
           "linspace", "ones", "ones_like", "rand", "rand_like", "randint", "randn", "randn_like",
           "randperm", "tensor", "zeros", "zeros_like"]


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of ``data``.

    Python floats become float32 (PyTorch's default); NumPy arrays keep their dtype; integers
    become int64.

    >>> tensor([[1.0, 2.0]]).dtype
    dtype('float32')
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (no copy; dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects an ndarray, got {type(array).__name__}")
    return _leaf(array)


def _creation(fill, size, dtype, requires_grad):
    shape = _shape_arg(size)
    out = _leaf(fill(shape, np.dtype(dtype) if dtype is not None else _DEFAULT_FLOAT))
    if requires_grad:
        out.requires_grad_(True)
    return out


def zeros(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _creation(np.zeros, size, dtype, requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _creation(np.ones, size, dtype, requires_grad)


def empty(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _creation(np.zeros, size, dtype, requires_grad)


def full(size, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    if dtype is None and isinstance(fill_value, numbers.Integral) and not isinstance(
            fill_value, bool):
        dtype = int64
    return _creation(lambda s, d: np.full(s, fill_value, dtype=d), (size,), dtype, requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    return _creation(lambda s, d: np.eye(n, m, dtype=d), (), dtype, requires_grad)


def randn(*size, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples drawn from ``generator`` (default: the seeded global one)."""
    rng = numpy_generator(generator)
    return _creation(lambda s, d: rng.standard_normal(s).astype(d), size, dtype, requires_grad)


def rand(*size, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1) drawn from ``generator``."""
    rng = numpy_generator(generator)
    return _creation(lambda s, d: rng.random(s).astype(d), size, dtype, requires_grad)


def randint(low: int, high: int | None = None, size=(), generator=None, dtype=None) -> Tensor:
    """Integers uniform on [low, high) (or [0, low) when high is omitted)."""
    if high is None:
        low, high = 0, low
    rng = numpy_generator(generator)
    return _leaf(rng.integers(low, high, size=tuple(size), dtype=np.dtype(dtype or int64)))


def randperm(n: int, generator=None) -> Tensor:
    return _leaf(numpy_generator(generator).permutation(n).astype(int64))


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, end); integers give int64, floats float32."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = int64 if is_int else _DEFAULT_FLOAT
    out = _leaf(np.arange(start, end, step, dtype=np.dtype(dtype)))
    return out.requires_grad_(True) if requires_grad else out


def linspace(start, end, steps: int, dtype=None, requires_grad: bool = False) -> Tensor:
    out = _leaf(np.linspace(start, end, steps, dtype=np.dtype(dtype or _DEFAULT_FLOAT)))
    return out.requires_grad_(True) if requires_grad else out


def zeros_like(x, dtype=None, requires_grad: bool = False) -> Tensor:
    return zeros(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def ones_like(x, dtype=None, requires_grad: bool = False) -> Tensor:
    return ones(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def empty_like(x, dtype=None, requires_grad: bool = False) -> Tensor:
    return zeros_like(x, dtype, requires_grad)


def full_like(x, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    return full(x.shape, fill_value, dtype=dtype or x.dtype, requires_grad=requires_grad)


def randn_like(x, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    return randn(x.shape, generator=generator, dtype=dtype or x.dtype,
                 requires_grad=requires_grad)


def rand_like(x, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    return rand(x.shape, generator=generator, dtype=dtype or x.dtype, requires_grad=requires_grad)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)
