"""The import path ``torch.distributions.studentT``: ``StudentT``, defined in more.py."""

from .more import StudentT

__all__ = ["StudentT"]
