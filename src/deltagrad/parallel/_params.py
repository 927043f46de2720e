"""Parameter lists as the collectives see them: their arrays, dtype groups and a signature."""

from __future__ import annotations

import zlib

import numpy as np

from .._engine.tensor import Tensor


def array_of(tensor) -> np.ndarray:
    """The ndarray behind a Tensor (shared, not copied); an ndarray is returned as it is, and
    a sparse gradient Tensor gives its row storage (a RowSparseGrad)."""
    if isinstance(tensor, Tensor):
        return tensor._data if tensor.is_sparse else tensor.detach().numpy()
    return tensor


def parameter_list(parameters) -> list:
    """A Module's parameters, one Tensor, or an iterable of Tensors, as a list."""
    if hasattr(parameters, "parameters") and callable(parameters.parameters):
        return list(parameters.parameters())
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def by_dtype(params: list) -> dict[np.dtype, list]:
    """The parameters grouped by dtype, each group in the given order."""
    groups: dict[np.dtype, list] = {}
    for param in params:
        groups.setdefault(np.dtype(param.dtype), []).append(param)
    return groups


def signature(params: list) -> int:
    """A number that differs, almost surely, between differently shaped parameter lists."""
    text = ";".join(f"{tuple(p.shape)}:{np.dtype(p.dtype).str}" for p in params)
    return zlib.crc32(text.encode())


def to_arrays(obj):
    """``obj`` with Tensors replaced by ndarray copies (for pickling an optimizer's state)."""
    if isinstance(obj, Tensor):
        return np.array(array_of(obj), copy=True)
    if isinstance(obj, dict):
        return {key: to_arrays(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_arrays(value) for value in obj)
    return obj
