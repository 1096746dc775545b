"""``torch.distributions``: probability distributions with ``sample``, ``rsample`` (where the
sample is a differentiable function of the parameters), ``log_prob``, ``entropy``, ``mean``,
``variance`` and ``kl_divergence`` for the common pairs, written over Ember's tensor ops as
PyTorch writes them over its own, so gradients flow through ``log_prob`` and ``rsample``.
Parameters and ``log_prob`` values are validated against ``constraints`` (on by default, as
in torch); ``transforms``, ``TransformedDistribution`` and ``biject_to`` / ``transform_to``
build new distributions and unconstrained parametrisations.
"""

from . import constraints, transforms  # noqa: F401
from .distribution import Distribution
from .normal import Normal, LogNormal
from .uniform import Uniform
from .exponential import Exponential, Laplace
from .bernoulli import Bernoulli
from .categorical import Categorical, OneHotCategorical
from .gamma import Gamma, Beta, Dirichlet
from .independent import Independent
from .multivariate_normal import MultivariateNormal
from .continuous import Cauchy, Chi2, ContinuousBernoulli, StudentT, FisherSnedecor, VonMises
from .pareto import GeneralizedPareto
from .exp_family import ExponentialFamily
from .discrete import Poisson, Binomial, Multinomial, Geometric, NegativeBinomial, OneHotCategoricalStraightThrough
from .transformed_distribution import (TransformedDistribution, Gumbel, HalfNormal, HalfCauchy, Pareto, Weibull,
                                       Kumaraswamy, LogisticNormal, InverseGamma, RelaxedBernoulli,
                                       RelaxedOneHotCategorical)
from .mixture import MixtureSameFamily, LowRankMultivariateNormal
from .constraint_registry import biject_to, transform_to
from .transforms import (AbsTransform, AffineTransform, CatTransform, ComposeTransform,  # noqa: F401
                         CumulativeDistributionTransform, ExpTransform, IndependentTransform,
                         LowerCholeskyTransform, PositiveDefiniteTransform, PowerTransform, ReshapeTransform,
                         SigmoidTransform, SoftplusTransform, TanhTransform, SoftmaxTransform, StackTransform,
                         StickBreakingTransform, Transform, identity_transform)
from .kl import kl_divergence, register_kl

__all__ = [
    "Distribution", "Normal", "LogNormal", "Uniform", "Exponential", "Laplace", "Bernoulli",
    "Categorical", "OneHotCategorical", "Gamma", "Beta", "Dirichlet", "Independent", "MultivariateNormal",
    "Cauchy", "Chi2", "ContinuousBernoulli", "ExponentialFamily", "GeneralizedPareto", "StudentT", "FisherSnedecor", "VonMises", "Poisson", "Binomial", "Multinomial", "Geometric",
    "NegativeBinomial", "OneHotCategoricalStraightThrough", "TransformedDistribution", "Gumbel", "HalfNormal",
    "HalfCauchy", "Pareto", "Weibull", "Kumaraswamy", "LogisticNormal", "InverseGamma", "RelaxedBernoulli",
    "RelaxedOneHotCategorical", "MixtureSameFamily", "LowRankMultivariateNormal", "biject_to", "transform_to",
    "constraints", "transforms", "kl_divergence", "register_kl",
]
