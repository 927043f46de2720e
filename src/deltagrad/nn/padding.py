"""Padding and upsampling modules: ZeroPad, ConstantPad, ReflectionPad, ReplicationPad and
CircularPad in 1, 2 and 3 dimensions, and Upsample (all through ``functional.pad`` and
``functional.interpolate``)."""

from __future__ import annotations

import numbers

from .._engine.tensor import Tensor
from . import functional as F
from .module import Module

__all__ = [
    "CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d", "ConstantPad2d",
    "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
    "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "Upsample", "ZeroPad1d",
    "ZeroPad2d", "ZeroPad3d",
]


def _widths(padding, dims: int) -> tuple:
    """An int (the same on every side) or 2 * dims widths, as PyTorch's modules accept."""
    if isinstance(padding, numbers.Integral):
        return (int(padding),) * (2 * dims)
    widths = tuple(int(w) for w in padding)
    if len(widths) != 2 * dims:
        raise ValueError(f"padding must be an int or a tuple of {2 * dims} ints, got {padding}")
    return widths


class _Pad(Module):
    _dims = 1
    _mode = "constant"

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _widths(padding, self._dims)

    def forward(self, input: Tensor) -> Tensor:
        if self._mode != "constant" and input.ndim not in (self._dims + 1, self._dims + 2):
            raise ValueError(f"{type(self).__name__}: expected {self._dims + 1}D or "
                             f"{self._dims + 2}D input, got {input.ndim}D")
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPad(_Pad):
    def __init__(self, padding, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _ZeroPad(_ConstantPad):
    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


# PyTorch's bases, one per mode (thop's counting rules and isinstance checks name them)
_ConstantPadNd = _ConstantPad


class _ReflectionPadNd(_Pad):
    _mode = "reflect"


class _ReplicationPadNd(_Pad):
    _mode = "replicate"


class _CircularPadNd(_Pad):
    _mode = "circular"


def _pad_class(name: str, base: type | tuple, dims: int, mode: str, doc: str) -> type:
    bases = base if isinstance(base, tuple) else (base,)
    return type(name, bases, {"_dims": dims, "_mode": mode, "__doc__": doc,
                              "__module__": __name__})


ConstantPad1d = _pad_class("ConstantPad1d", _ConstantPad, 1, "constant",
                           "Pad the last dimension with ``value`` (``padding``: int or 2).")
ConstantPad2d = _pad_class("ConstantPad2d", _ConstantPad, 2, "constant",
                           "Pad the last 2 dimensions with ``value`` (int or 4 widths).")
ConstantPad3d = _pad_class("ConstantPad3d", _ConstantPad, 3, "constant",
                           "Pad the last 3 dimensions with ``value`` (int or 6 widths).")
# (ZeroPad{1,2,3}d subclass ConstantPad{1,2,3}d, as in PyTorch, for isinstance checks)
ZeroPad1d = _pad_class("ZeroPad1d", (_ZeroPad, ConstantPad1d), 1, "constant",
                       "Pad the last dimension with zeros (``padding``: int or 2 widths).")
ZeroPad2d = _pad_class("ZeroPad2d", (_ZeroPad, ConstantPad2d), 2, "constant",
                       "Pad the last 2 dimensions with zeros (int or 4 widths).")
ZeroPad3d = _pad_class("ZeroPad3d", (_ZeroPad, ConstantPad3d), 3, "constant",
                       "Pad the last 3 dimensions with zeros (int or 6 widths).")
ReflectionPad1d = _pad_class("ReflectionPad1d", _ReflectionPadNd, 1, "reflect",
                             "Pad the last dimension by reflection at the edges.")
ReflectionPad2d = _pad_class("ReflectionPad2d", _ReflectionPadNd, 2, "reflect",
                             "Pad the last 2 dimensions by reflection at the edges.")
ReflectionPad3d = _pad_class("ReflectionPad3d", _ReflectionPadNd, 3, "reflect",
                             "Pad the last 3 dimensions by reflection at the edges.")
ReplicationPad1d = _pad_class("ReplicationPad1d", _ReplicationPadNd, 1, "replicate",
                              "Pad the last dimension by repeating the edge values.")
ReplicationPad2d = _pad_class("ReplicationPad2d", _ReplicationPadNd, 2, "replicate",
                              "Pad the last 2 dimensions by repeating the edge values.")
ReplicationPad3d = _pad_class("ReplicationPad3d", _ReplicationPadNd, 3, "replicate",
                              "Pad the last 3 dimensions by repeating the edge values.")
CircularPad1d = _pad_class("CircularPad1d", _CircularPadNd, 1, "circular",
                           "Pad the last dimension by wrapping around.")
CircularPad2d = _pad_class("CircularPad2d", _CircularPadNd, 2, "circular",
                           "Pad the last 2 dimensions by wrapping around.")
CircularPad3d = _pad_class("CircularPad3d", _CircularPadNd, 3, "circular",
                           "Pad the last 3 dimensions by wrapping around.")


class Upsample(Module):
    """``functional.interpolate`` as a module (modes nearest, nearest-exact, linear, bilinear,
    bicubic, trilinear).

    Args:
        size: the output's spatial size.
        scale_factor: multiplier(s) of the spatial size.
        mode: the interpolation mode.
        align_corners: for the linear modes.
        recompute_scale_factor: see ``functional.interpolate``.
    """

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest",
                 align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.size = size
        # As PyTorch: a tuple's factors become floats, any other factor float(factor) (a
        # list: TypeError), and a falsy one (None, 0) None; the repr shows them so.
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(factor) for factor in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            return f"scale_factor={self.scale_factor!r}, mode={self.mode!r}"
        return f"size={self.size!r}, mode={self.mode!r}"
