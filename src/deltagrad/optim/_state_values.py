"""Copies of optimizer state values for ``state_dict`` (split from optimizer.py, which keeps
the Optimizer class itself)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._engine.api.creation import from_numpy
from .._engine.tensor import Tensor


def _plain(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """A copy of a state or option value made of Tensors, tuples and JSON types only
    (tuples stay tuples, as in PyTorch's state dicts: ``deltagrad.save`` keeps them).

    With ``memo`` (shared across the calls of one state dict), a list, dict or Tensor that
    several groups share stays one object in the copy, as in PyTorch's (live or deep-copied)
    dicts: torch-optimizer's RAdam caches step sizes in one list that all groups share."""
    if memo is not None and isinstance(value, (Tensor, np.ndarray, list, dict)):
        if id(value) in memo:
            return memo[id(value)]
        if isinstance(value, list):
            copied: Any = []
            memo[id(value)] = copied
            copied.extend(_plain(item, memo) for item in value)
            return copied
        if isinstance(value, dict):
            copied = {}
            memo[id(value)] = copied
            copied.update((key, _plain(item, memo)) for key, item in value.items())
            return copied
        copied = memo[id(value)] = _plain(value)
        return copied
    if isinstance(value, Tensor):
        return from_numpy(value._data.copy())
    if isinstance(value, np.ndarray):
        return from_numpy(value.copy())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return tuple(_plain(item, memo) for item in value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _live(value: Any) -> Any:
    """A state value as PyTorch's ``state_dict`` gives it: the live tensor itself (later steps
    change it in place, so a dict kept without a copy follows training, as PyTorch's does);
    an internal ndarray as a Tensor sharing its memory; anything else as ``_plain``."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return from_numpy(value)
    return _plain(value)
