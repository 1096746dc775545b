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
from .lkj_cholesky import CorrCholeskyTransform, LKJCholesky
from .wishart import Wishart
from . import utils  # noqa: F401

transforms.CorrCholeskyTransform = CorrCholeskyTransform
transforms.__all__.append("CorrCholeskyTransform")
biject_to.register(constraints.corr_cholesky, lambda c: CorrCholeskyTransform())
transform_to.register(constraints.corr_cholesky, lambda c: CorrCholeskyTransform())


def _submodules():
    """torch's one-module-per-distribution paths (``torch.distributions.beta.Beta``, ...) as
    aliases of the modules the classes live in here, so ``from torch.distributions.beta import
    Beta`` finds them."""
    import sys
    import types
    paths = {
        "beta": ["Beta"], "binomial": ["Binomial"], "cauchy": ["Cauchy"], "chi2": ["Chi2"],
        "continuous_bernoulli": ["ContinuousBernoulli"], "dirichlet": ["Dirichlet"],
        "fishersnedecor": ["FisherSnedecor"], "generalized_pareto": ["GeneralizedPareto"],
        "geometric": ["Geometric"], "gumbel": ["Gumbel"], "half_cauchy": ["HalfCauchy"],
        "half_normal": ["HalfNormal"], "inverse_gamma": ["InverseGamma"], "kumaraswamy": ["Kumaraswamy"],
        "laplace": ["Laplace"], "log_normal": ["LogNormal"], "logistic_normal": ["LogisticNormal"],
        "lowrank_multivariate_normal": ["LowRankMultivariateNormal"], "mixture_same_family": ["MixtureSameFamily"],
        "multinomial": ["Multinomial"], "negative_binomial": ["NegativeBinomial"],
        "one_hot_categorical": ["OneHotCategorical", "OneHotCategoricalStraightThrough"], "poisson": ["Poisson"],
        "relaxed_bernoulli": ["RelaxedBernoulli"], "relaxed_categorical": ["RelaxedOneHotCategorical"],
        "studentT": ["StudentT"], "von_mises": ["VonMises"], "weibull": ["Weibull"],
    }
    for path, names in paths.items():
        full = f"{__name__}.{path}"
        module = types.ModuleType(full, f"``torch.distributions.{path}``: {', '.join(names)}.")
        for n in names:
            setattr(module, n, globals()[n])
        module.__all__ = names
        sys.modules[full] = module
        globals()[path] = module


_submodules()

__all__ = [
    "Distribution", "Normal", "LogNormal", "Uniform", "Exponential", "Laplace", "Bernoulli",
    "Categorical", "OneHotCategorical", "Gamma", "Beta", "Dirichlet", "Independent", "MultivariateNormal",
    "Cauchy", "Chi2", "ContinuousBernoulli", "ExponentialFamily", "GeneralizedPareto", "StudentT", "FisherSnedecor", "VonMises", "Poisson", "Binomial", "Multinomial", "Geometric",
    "NegativeBinomial", "OneHotCategoricalStraightThrough", "TransformedDistribution", "Gumbel", "HalfNormal",
    "HalfCauchy", "Pareto", "Weibull", "Kumaraswamy", "LogisticNormal", "InverseGamma", "RelaxedBernoulli",
    "RelaxedOneHotCategorical", "MixtureSameFamily", "LowRankMultivariateNormal", "biject_to", "transform_to",
    "constraints", "transforms", "kl_divergence", "register_kl", "LKJCholesky", "Wishart", "CorrCholeskyTransform",
]
