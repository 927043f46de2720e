"""The Concrete (Gumbel-softmax) relaxation of a one-hot categorical variable:
ExpRelaxedCategorical (log-probabilities of a relaxed one-hot vector) and
RelaxedOneHotCategorical (its exponential, a point of the simplex); both reparameterisable."""

from __future__ import annotations

from .. import _engine as dg
from .._engine.tensor import Tensor
from . import constraints
from ._utils import clamp_probs
from .discrete import Categorical
from .distribution import Distribution
from .relaxed import _RelaxedTransformed, _temperature
from .transformed_distribution import TransformedDistribution
from .transforms import ExpTransform

__all__ = ["ExpRelaxedCategorical", "RelaxedOneHotCategorical"]


class ExpRelaxedCategorical(Distribution):
    """The log of a RelaxedOneHotCategorical draw: ``log_softmax((logits + G) / temperature)``
    for standard Gumbel noise G (Maddison et al., 2017, the ExpConcrete distribution).

    Args:
        temperature: the relaxation temperature, > 0 (small: close to one-hot).
        probs: category weights (*batch, K); or ``logits`` (exactly one of the two).
        validate_args: as ``Distribution``.
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None,
                 validate_args: bool | None = None) -> None:
        self._categorical = Categorical(probs, logits)
        self.temperature = _temperature(temperature, self._categorical._param)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expanded(ExpRelaxedCategorical, batch_shape, _instance,
                              temperature=self.temperature,
                              _categorical=self._categorical.expand(batch_shape))

    @property
    def param_shape(self) -> dg.Size:
        return self._categorical.param_shape

    @property
    def logits(self) -> Tensor:
        return self._categorical.logits

    @property
    def probs(self) -> Tensor:
        return self._categorical.probs

    def rsample(self, sample_shape=()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        u = clamp_probs(dg.rand(shape, dtype=self.logits.dtype))
        gumbel = -((-u.log()).log())
        scores = (self.logits + gumbel) / self.temperature
        return scores - scores.logsumexp(dim=-1, keepdim=True)

    def log_prob(self, value):
        # The ExpConcrete density: (K-1)! t^(K-1) prod_k exp(l_k - t v_k) / (sum exp(...))^K,
        # written as a log-softmax summed over the K categories.
        k = self._categorical._num_events
        if self._validate_args:
            self._validate_sample(value)
        logits, value = dg.broadcast_tensors(self.logits, value)
        if not isinstance(self.temperature, Tensor):  # (PyTorch's full_like refuses it)
            raise TypeError(f"full_like(): argument 'input' (position 1) must be Tensor, not "
                            f"{type(self.temperature).__name__}")
        log_scale = (dg.full_like(self.temperature, float(k)).lgamma()
                     + (k - 1) * self.temperature.log())
        score = logits - value * self.temperature
        score = (score - score.logsumexp(dim=-1, keepdim=True)).sum(-1)
        return score + log_scale


class RelaxedOneHotCategorical(_RelaxedTransformed):
    """The Concrete / Gumbel-softmax relaxation of OneHotCategorical: points of the simplex,
    ``softmax((logits + G) / temperature)``, reparameterisable.

    Args:
        temperature: the relaxation temperature, > 0.
        probs: category weights (*batch, K); or ``logits`` (exactly one of the two).
        validate_args: as ``Distribution``.
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None,
                 validate_args: bool | None = None) -> None:
        base = ExpRelaxedCategorical(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, ExpTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(RelaxedOneHotCategorical, _instance)
        return TransformedDistribution.expand(self, batch_shape, _instance=new)
