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
    if type(ext_tensor).__name__ == "PyCapsule":  # a bare capsule, e.g. to_dlpack's (s28 DX1)
        try:
            array = _writable(np.from_dlpack(_Capsule(ext_tensor)))
        except ValueError:  # (NumPy's "incorrect name": a capsule already read)
            raise RuntimeError("from_dlpack received an invalid capsule. Note that DLTensor "
                               "capsules can be consumed only once, so you might have already "
                               "constructed a tensor from it once.") from None
        return from_numpy(array.copy() if copy else array)
    if not hasattr(ext_tensor, "__dlpack__"):
        raise TypeError(f"from_dlpack: deltagrad needs an object with __dlpack__ or a DLPack "
                        f"capsule (got {type(ext_tensor).__name__})")
    array = np.from_dlpack(ext_tensor)
    return from_numpy(array.copy() if copy else array)


class _Capsule:
    """A bare DLPack capsule as the exporter NumPy's ``from_dlpack`` reads (a CPU one: a
    capsule of another device is refused by NumPy when it reads the tensor)."""

    def __init__(self, capsule) -> None:
        self._capsule = capsule

    def __dlpack__(self, **kwargs):
        return self._capsule

    def __dlpack_device__(self):
        return (1, 0)  # kDLCPU


class _WritableView:
    """The memory of a read-only array, offered writable (``__array_interface__``), keeping the
    array (and through it the capsule's owner) alive."""

    def __init__(self, array: np.ndarray) -> None:
        self._array = array
        interface = dict(array.__array_interface__)
        interface["data"] = (interface["data"][0], False)
        self.__array_interface__ = interface


def _writable(array: np.ndarray) -> np.ndarray:
    """NumPy reads a legacy (unversioned) capsule as read-only memory; PyTorch as writable (a
    write through the result shows in the exporter's tensor): the same memory, writable."""
    return array if array.flags.writeable else np.asarray(_WritableView(array))


def to_dlpack(tensor: Tensor):
    """A DLPack capsule over ``tensor``'s memory (for libraries that take capsules)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dlpack: expected a Tensor, got {type(tensor).__name__}")
    return tensor._data.__dlpack__()
