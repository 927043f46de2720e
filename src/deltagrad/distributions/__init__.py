"""``deltagrad.distributions``: PyTorch's ``torch.distributions`` for the distributions that
policy gradients, VAEs and Bayesian models use: parameters, ``sample``/``rsample``, ``log_prob``,
``entropy``, moments, ``cdf``/``icdf``, validation, transforms and KL divergences, all
differentiable through deltagrad's ops and seeded by ``deltagrad.manual_seed``.

>>> import deltagrad as dg
>>> from deltagrad.distributions import Categorical
>>> logits = dg.tensor([0.0, 1.0, 2.0], requires_grad=True)
>>> policy = Categorical(logits=logits)
>>> loss = -policy.log_prob(dg.tensor(2)) * 1.5
>>> loss.backward()
>>> logits.grad
tensor([ 0.1350,  0.3671, -0.5021])
"""

from . import constraints, transforms
from .continuous import Exponential, Laplace, Normal, Uniform
from .discrete import (
    Bernoulli,
    Binomial,
    Categorical,
    NegativeBinomial,
    OneHotCategorical,
    OneHotCategoricalStraightThrough,
    Poisson,
)
from .distribution import Distribution, ExponentialFamily
from .gamma import Beta, Chi2, Dirichlet, Gamma
from .independent import Independent
from .kl import kl_divergence, register_kl
from .lowrank_multivariate_normal import LowRankMultivariateNormal
from .matrix import LKJCholesky, Wishart
from .more import (
    Cauchy,
    Geometric,
    Gumbel,
    HalfCauchy,
    HalfNormal,
    MixtureSameFamily,
    Multinomial,
    StudentT,
)
from .multivariate_normal import MultivariateNormal
from .positive import FisherSnedecor, InverseGamma, Kumaraswamy, Pareto, Weibull
from .relaxed import ContinuousBernoulli, RelaxedBernoulli
from .transformed_distribution import LogisticNormal, LogNormal, TransformedDistribution
from .transforms import (
    AffineTransform,
    ComposeTransform,
    ExpTransform,
    PowerTransform,
    SigmoidTransform,
    SoftplusTransform,
    StickBreakingTransform,
    TanhTransform,
    Transform,
    identity_transform,
)
from .von_mises import VonMises

__all__ = ["AffineTransform", "Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "Chi2",
           "ComposeTransform", "ContinuousBernoulli", "Dirichlet", "Distribution", "ExpTransform",
           "Exponential", "ExponentialFamily", "FisherSnedecor", "Gamma", "Geometric", "Gumbel",
           "HalfCauchy", "HalfNormal", "Independent", "InverseGamma", "Kumaraswamy", "LKJCholesky",
           "Laplace", "LogNormal", "LogisticNormal", "LowRankMultivariateNormal",
           "MixtureSameFamily", "Multinomial", "MultivariateNormal", "NegativeBinomial", "Normal",
           "OneHotCategorical", "OneHotCategoricalStraightThrough", "Pareto", "Poisson",
           "PowerTransform", "RelaxedBernoulli", "SigmoidTransform", "SoftplusTransform",
           "StickBreakingTransform", "StudentT", "TanhTransform", "Transform",
           "TransformedDistribution", "Uniform", "VonMises", "Weibull", "Wishart", "constraints",
           "identity_transform", "kl_divergence", "register_kl", "transforms"]
