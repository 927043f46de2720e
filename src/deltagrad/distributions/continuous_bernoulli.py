"""The import path ``torch.distributions.continuous_bernoulli``: ``ContinuousBernoulli``, defined
in relaxed.py."""

from .relaxed import ContinuousBernoulli

__all__ = ["ContinuousBernoulli"]
