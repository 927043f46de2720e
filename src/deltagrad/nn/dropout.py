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

    def __init__(self, p: float = 0.5, inplace: bool = False, *, generator=None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace
        self.generator = generator

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(_DropoutNd):
    """Zero whole channels of ``[N, C, L]`` (or ``[C, L]``) in training."""

    def forward(self, input: Tensor) -> Tensor:
        if self.generator is None:  # (PyTorch's call: a replacement of F's works)
            return F.dropout1d(input, self.p, self.training, self.inplace)
        return F.dropout1d(input, self.p, self.training, self.inplace, generator=self.generator)


class Dropout2d(_DropoutNd):
    """Zero whole channels of ``[N, C, H, W]`` in training."""

    def forward(self, input: Tensor) -> Tensor:
        if self.generator is None:  # (PyTorch's call: a replacement of F's works)
            return F.dropout2d(input, self.p, self.training, self.inplace)
        return F.dropout2d(input, self.p, self.training, self.inplace, generator=self.generator)


class Dropout3d(_DropoutNd):
    """Zero whole channels of ``[N, C, D, H, W]`` (or ``[C, D, H, W]``) in training."""

    def forward(self, input: Tensor) -> Tensor:
        if self.generator is None:  # (PyTorch's call: a replacement of F's works)
            return F.dropout3d(input, self.p, self.training, self.inplace)
        return F.dropout3d(input, self.p, self.training, self.inplace, generator=self.generator)


class AlphaDropout(_DropoutNd):
    """Dropout that keeps a SELU network's mean and variance, in training."""

    def forward(self, input: Tensor) -> Tensor:
        if self.generator is None:  # (PyTorch's call: a replacement of F's works)
            return F.alpha_dropout(input, self.p, self.training, self.inplace)
        return F.alpha_dropout(input, self.p, self.training, self.inplace,
                               generator=self.generator)


class FeatureAlphaDropout(_DropoutNd):
    """``AlphaDropout`` of whole channels, in training."""

    def forward(self, input: Tensor) -> Tensor:
        if self.generator is None:  # (PyTorch's call: a replacement of F's works)
            return F.feature_alpha_dropout(input, self.p, self.training, self.inplace)
        return F.feature_alpha_dropout(input, self.p, self.training, self.inplace,
                                       generator=self.generator)
