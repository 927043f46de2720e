"""The import path ``torch.distributions.exp_family``: ``ExponentialFamily``, defined in
distribution.py."""

from .distribution import ExponentialFamily

__all__ = ["ExponentialFamily"]
