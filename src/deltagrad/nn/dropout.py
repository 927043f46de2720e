"""Channel and alpha dropout modules: Dropout1d, Dropout2d, Dropout3d, AlphaDropout,
FeatureAlphaDropout (``Dropout`` itself is in ``layers.py``)."""

from __future__ import annotations

from .._engine.tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["AlphaDropout", "Dropout1d", "Dropout2d", "Dropout3d", "FeatureAlphaDropout"]


class _DropoutNd(Module):
    """Holds ``p`` and ``inplace``; the identity in evaluation mode.

    Args:
        p: drop probability in [0, 1].
        inplace: overwrite the input.
        generator: source of the masks (default: the global generator).
    """

    _function = None

    def __init__(self, p: float = 0.5, inplace: bool = False, *, generator=None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace
        self.generator = generator

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._function(input, self.p, self.training, self.inplace,
                                    generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(_DropoutNd):
    """Zero whole channels of ``[N, C, L]`` (or ``[C, L]``) in training."""

    _function = staticmethod(F.dropout1d)


class Dropout2d(_DropoutNd):
    """Zero whole channels of ``[N, C, H, W]`` in training."""

    _function = staticmethod(F.dropout2d)


class Dropout3d(_DropoutNd):
    """Zero whole channels of ``[N, C, D, H, W]`` (or ``[C, D, H, W]``) in training."""

    _function = staticmethod(F.dropout3d)


class AlphaDropout(_DropoutNd):
    """Dropout that keeps a SELU network's mean and variance, in training."""

    _function = staticmethod(F.alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """``AlphaDropout`` of whole channels, in training."""

    _function = staticmethod(F.feature_alpha_dropout)
