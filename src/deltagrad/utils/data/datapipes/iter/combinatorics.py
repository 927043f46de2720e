"""``torch.utils.data.datapipes.iter.combinatorics``: Sampler / Shuffler DataPipes' names."""

from __future__ import annotations

from ..datapipe import IterDataPipe

__all__ = ["SamplerIterDataPipe", "ShufflerIterDataPipe"]


class SamplerIterDataPipe(IterDataPipe):
    """PyTorch's sampler DataPipe (not supported: making one raises)."""


class ShufflerIterDataPipe(IterDataPipe):
    """PyTorch's buffered-shuffle DataPipe (not supported: making one raises)."""
