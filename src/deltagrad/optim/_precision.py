"""Rounding as PyTorch's optimizer steps do it where NumPy would differ: half-precision
parameters stepped in float32, and step sizes computed as 0-d float32 tensor ops."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._engine.api.creation import from_numpy
from .._engine.tensor import Tensor

__all__ = ["lerp_into", "widened_update"]


def widened_update(optimizer: Any, p: np.ndarray, g: np.ndarray, state: dict,
                   group: dict) -> None:
    """``optimizer._dense_update`` of a float16/bfloat16 parameter computed in float32 and
    rounded back once. NumPy would round every Python-number factor to the half dtype first
    (0.1 -> 0.10009765625 in bfloat16), which PyTorch never does; PyTorch rounds after every
    operation instead, so this is within about one unit in the last place of it, not bit for
    bit. State tensors of the parameter's dtype are updated in place (rounded); state made by
    the step takes that dtype too, except the 0-d scalars (``_scalar_state``)."""
    wide_state = {key: (from_numpy(value._data.astype(np.float32))
                        if isinstance(value, Tensor) and value._data.dtype == p.dtype
                        else value) for key, value in state.items()}
    wide = p.astype(np.float32)
    optimizer._dense_update(wide, g.astype(np.float32), wide_state, group)
    p[...] = wide.astype(p.dtype)
    for key, value in wide_state.items():
        old = state.get(key)
        if isinstance(old, Tensor) and old._data.dtype == p.dtype:
            old._data[...] = value._data.astype(p.dtype)
        elif (old is None and isinstance(value, Tensor)
              and key not in optimizer._scalar_state):
            state[key] = from_numpy(value._data.astype(p.dtype))  # made by this step
        else:
            state[key] = value


def _neg_lr_scaled(group: dict[str, Any], factor: float, divisor: float = 1.0) -> float:
    """(−γ · factor) / divisor as PyTorch's single-tensor steps compute it: with a Tensor lr,
    0-d tensor ops in the lr's dtype (float32), each number rounded to that dtype first and
    each result rounded (measured: 20,000 random cases bit-identical); a number lr in double
    precision."""
    lr = group["lr"]
    if isinstance(lr, Tensor):
        kind = lr._data.dtype.type
        return float((-kind(lr._data.item()) * kind(factor)) / kind(divisor))
    return (-float(lr) * factor) / divisor


def lerp_into(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """PyTorch's ``start.lerp_(end, weight)`` on arrays, from the nearer end (weight 1 gives
    ``end`` exactly). For float32 its CPU kernel is a fused multiply-add, rounded once: the
    float32 product is exact in float64, so the sum rounds there and then to float32 (rounded
    twice, 228 of 1,600 EMA weights of AveragedModel were an ulp off PyTorch's after 5 updates).
    Other dtypes keep two roundings in their own precision."""
    if start.dtype == np.float32:
        w = np.float32(weight)
        diff = (end - start).astype(np.float64)  # (rounded to float32 first, as the kernel's)
        fused = (start + w * diff) if w < 0.5 else (end - diff * (1 - w))
        np.copyto(start, fused, casting="same_kind")
    elif weight < 0.5:
        start += weight * (end - start)
    else:
        np.copyto(start, end - (end - start) * (1 - weight))
