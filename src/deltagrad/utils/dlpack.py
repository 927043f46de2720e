"""``torch.utils.dlpack``: exchange CPU tensors with other array libraries without copying.

A deltagrad tensor's memory is a NumPy array, so the exchange is NumPy's DLPack support.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._engine.api.creation import from_numpy
from .._engine.tensor import Tensor

__all__ = ["from_dlpack", "to_dlpack"]


def from_dlpack(ext_tensor: Any, *, device=None, copy: bool | None = None) -> Tensor:
    """A tensor sharing memory with ``ext_tensor``, any object with ``__dlpack__`` (a CPU
    array of another library, or a deltagrad tensor). ``copy=True`` copies instead; ``device``
    may only name the CPU.

    Raises:
        TypeError: for a bare DLPack capsule (deltagrad can read only objects that export
            ``__dlpack__``) or an object without DLPack support.
        ValueError: for a ``device`` other than the CPU.
    """
    if device is not None and str(device).split(":")[0] != "cpu":
        raise ValueError(f"from_dlpack: deltagrad tensors live on the CPU only (device={device!r})")
    if isinstance(ext_tensor, Tensor):
        out = ext_tensor.detach()
        return out.clone() if copy else out
    if not hasattr(ext_tensor, "__dlpack__"):
        raise TypeError(f"from_dlpack: deltagrad needs an object with __dlpack__ (got "
                        f"{type(ext_tensor).__name__}; bare DLPack capsules are not supported)")
    array = np.from_dlpack(ext_tensor)
    return from_numpy(array.copy() if copy else array)


def to_dlpack(tensor: Tensor):
    """A DLPack capsule over ``tensor``'s memory (for libraries that take capsules)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dlpack: expected a Tensor, got {type(tensor).__name__}")
    return tensor._data.__dlpack__()
