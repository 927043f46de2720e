"""``torch.utils.data.datapipes.iter``: the iterable DataPipes' names (not supported)."""

from .combinatorics import SamplerIterDataPipe as Sampler
from .combinatorics import ShufflerIterDataPipe as Shuffler

__all__ = ["Sampler", "Shuffler"]
