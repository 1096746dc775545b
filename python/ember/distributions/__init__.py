"""``torch.distributions``: probability distributions with ``sample``, ``rsample`` (where the
sample is a differentiable function of the parameters), ``log_prob``, ``entropy``, ``mean``,
``variance`` and ``kl_divergence`` for the common pairs, written over Ember's tensor ops as
PyTorch writes them over its own, so gradients flow through ``log_prob`` and ``rsample``.
"""

from .distribution import Distribution
from .normal import Normal, LogNormal
from .uniform import Uniform
from .exponential import Exponential, Laplace
from .bernoulli import Bernoulli
from .categorical import Categorical, OneHotCategorical
from .gamma import Gamma, Beta, Dirichlet
from .independent import Independent
from .multivariate_normal import MultivariateNormal
from .kl import kl_divergence, register_kl

__all__ = [
    "Distribution", "Normal", "LogNormal", "Uniform", "Exponential", "Laplace", "Bernoulli",
    "Categorical", "OneHotCategorical", "Gamma", "Beta", "Dirichlet", "Independent", "MultivariateNormal",
    "kl_divergence", "register_kl",
]
