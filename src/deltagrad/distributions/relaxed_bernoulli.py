"""The import path ``torch.distributions.relaxed_bernoulli``: ``LogitRelaxedBernoulli``,
``RelaxedBernoulli``, defined in relaxed.py."""

from .relaxed import LogitRelaxedBernoulli, RelaxedBernoulli

__all__ = ["LogitRelaxedBernoulli", "RelaxedBernoulli"]
