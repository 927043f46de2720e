"""The deprecated upsampling functions of ``torch.nn.functional``: aliases of ``interpolate``."""

from __future__ import annotations

import warnings

from .._engine.tensor import Tensor
from ._functional_misc import interpolate

__all__ = ["upsample", "upsample_bilinear", "upsample_nearest"]


def _deprecated(name: str) -> None:
    warnings.warn(f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", stacklevel=3)


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Deprecated alias of ``interpolate`` (warns, as PyTorch does).

    Args:
        input: floating ``[N, C, *spatial]`` (1 to 3 spatial dimensions).
        size: the output's spatial size.
        scale_factor: multiplier(s) of the spatial size.
        mode: as for ``interpolate``.
        align_corners: for the linear modes.

    Returns:
        ``[N, C, *size]``.
    """
    _deprecated("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(input, size, scale_factor, mode="nearest")`` (warns).

    Args:
        input: floating ``[N, C, *spatial]``.
        size: the output's spatial size.
        scale_factor: multiplier(s) of the spatial size.

    Returns:
        ``[N, C, *size]``.
    """
    _deprecated("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(..., mode="bilinear", align_corners=True)`` (warns).

    Args:
        input: floating ``[N, C, H, W]``.
        size: the output's ``(H, W)``.
        scale_factor: multiplier(s) of ``H`` and ``W``.

    Returns:
        ``[N, C, *size]``.
    """
    _deprecated("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
