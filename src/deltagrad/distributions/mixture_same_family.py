"""The import path ``torch.distributions.mixture_same_family``: ``MixtureSameFamily``, defined in
more.py."""

from .more import MixtureSameFamily

__all__ = ["MixtureSameFamily"]
