"""In-place methods (``zero_``, ``fill_``, ``copy_``, ``add_``, ...) and item assignment."""

from __future__ import annotations

import numpy as np

from ..autograd import ShapeError
from ..random import numpy_generator
from ..tensor import Tensor, _check_inplace, _normalize_index, tensor_method

__all__: list[str] = []  # methods only


@tensor_method
def zero_(self) -> Tensor:
    _check_inplace(self, "zero_")
    self._data[...] = 0
    return self


@tensor_method
def fill_(self, value) -> Tensor:
    _check_inplace(self, "fill_")
    self._data[...] = value
    return self


@tensor_method
def copy_(self, source) -> Tensor:
    _check_inplace(self, "copy_")
    source = source._data if isinstance(source, Tensor) else np.asarray(source)
    try:
        self._data[...] = source
    except ValueError:
        raise ShapeError(
            f"copy_: cannot copy shape {np.shape(source)} into shape {self.shape}"
        ) from None
    return self


@tensor_method
def add_(self, other, alpha=1.0) -> Tensor:
    _check_inplace(self, "add_")
    other = other._data if isinstance(other, Tensor) else other
    self._data += alpha * other if alpha != 1 else other
    return self


@tensor_method
def mul_(self, other) -> Tensor:
    _check_inplace(self, "mul_")
    self._data *= other._data if isinstance(other, Tensor) else other
    return self


@tensor_method
def uniform_(self, a=0.0, b=1.0, generator=None) -> Tensor:
    _check_inplace(self, "uniform_")
    self._data[...] = numpy_generator(generator).uniform(a, b, self.shape)
    return self


@tensor_method
def normal_(self, mean=0.0, std=1.0, generator=None) -> Tensor:
    _check_inplace(self, "normal_")
    self._data[...] = numpy_generator(generator).normal(mean, std, self.shape)
    return self


@tensor_method
def __setitem__(self, index, value) -> None:
    _check_inplace(self, "__setitem__")
    value = value._data if isinstance(value, Tensor) else value
    self._data[_normalize_index(index)] = value
