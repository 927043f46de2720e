"""The fixed-mode 2-d upsampling modules: UpsamplingNearest2d and UpsamplingBilinear2d.

(The deprecated functions ``upsample``, ``upsample_nearest`` and ``upsample_bilinear`` live in
``_functional_upsampling``: ``functional`` imports them, and this module imports ``Upsample``,
whose module imports ``functional``.)
"""

from __future__ import annotations

from .padding import Upsample

__all__ = ["UpsamplingBilinear2d", "UpsamplingNearest2d"]


class UpsamplingNearest2d(Upsample):
    """``Upsample(size, scale_factor, mode="nearest")`` for ``[N, C, H, W]`` inputs.

    Args:
        size: the output's ``(H, W)`` (or one int for both).
        scale_factor: multiplier(s) of ``H`` and ``W``.
    """

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(size, scale_factor, mode="bilinear", align_corners=True)`` for ``[N, C, H, W]``.

    Args:
        size: the output's ``(H, W)`` (or one int for both).
        scale_factor: multiplier(s) of ``H`` and ``W``.
    """

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
