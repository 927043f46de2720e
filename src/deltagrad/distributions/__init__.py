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

# The import paths of torch.distributions' submodules (``from torch.distributions.normal
# import Normal``): thin modules re-exporting the classes above.
from . import (  # noqa: F401
    bernoulli,
    beta,
    binomial,
    categorical,
    cauchy,
    chi2,
    constraint_registry,
    constraints,
    continuous_bernoulli,
    dirichlet,
    exp_family,
    exponential,
    fishersnedecor,
    geometric,
    gumbel,
    half_cauchy,
    half_normal,
    inverse_gamma,
    kumaraswamy,
    laplace,
    lkj_cholesky,
    log_normal,
    logistic_normal,
    mixture_same_family,
    multinomial,
    negative_binomial,
    normal,
    one_hot_categorical,
    pareto,
    poisson,
    relaxed_bernoulli,
    relaxed_categorical,
    studentT,
    transforms,
    uniform,
    utils,
    weibull,
    wishart,
)
from .constraint_registry import biject_to, transform_to
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
from .generalized_pareto import GeneralizedPareto
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
from .relaxed_categorical import RelaxedOneHotCategorical
from .transformed_distribution import LogisticNormal, LogNormal, TransformedDistribution
from .transforms import (
    AbsTransform,
    AffineTransform,
    CatTransform,
    ComposeTransform,
    CorrCholeskyTransform,
    CumulativeDistributionTransform,
    ExpTransform,
    IndependentTransform,
    LowerCholeskyTransform,
    PositiveDefiniteTransform,
    PowerTransform,
    ReshapeTransform,
    SigmoidTransform,
    SoftmaxTransform,
    SoftplusTransform,
    StackTransform,
    StickBreakingTransform,
    TanhTransform,
    Transform,
    identity_transform,
)
from .von_mises import VonMises

__all__ = ["AbsTransform", "AffineTransform", "Bernoulli", "Beta", "Binomial", "CatTransform",
           "Categorical", "Cauchy", "Chi2", "ComposeTransform", "ContinuousBernoulli",
           "CorrCholeskyTransform", "CumulativeDistributionTransform", "Dirichlet", "Distribution",
           "ExpTransform", "Exponential", "ExponentialFamily", "FisherSnedecor", "Gamma",
           "GeneralizedPareto", "Geometric", "Gumbel", "HalfCauchy", "HalfNormal", "Independent",
           "IndependentTransform", "InverseGamma", "Kumaraswamy", "LKJCholesky", "Laplace",
           "LogNormal", "LogisticNormal", "LowRankMultivariateNormal", "LowerCholeskyTransform",
           "MixtureSameFamily", "Multinomial", "MultivariateNormal", "NegativeBinomial", "Normal",
           "OneHotCategorical", "OneHotCategoricalStraightThrough", "Pareto", "Poisson",
           "PositiveDefiniteTransform", "PowerTransform", "RelaxedBernoulli",
           "RelaxedOneHotCategorical", "ReshapeTransform", "SigmoidTransform", "SoftmaxTransform",
           "SoftplusTransform", "StackTransform", "StickBreakingTransform", "StudentT",
           "TanhTransform", "Transform", "TransformedDistribution", "Uniform", "VonMises",
           "Weibull", "Wishart", "biject_to", "constraints", "identity_transform", "kl_divergence",
           "register_kl", "transform_to", "transforms"]
