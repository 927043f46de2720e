"""The import path ``torch.distributions.half_cauchy``: ``HalfCauchy``, defined in more.py."""

from .more import HalfCauchy

__all__ = ["HalfCauchy"]
