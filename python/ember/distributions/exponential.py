"""``Exponential(rate)`` and ``Laplace(loc, scale)``."""

import math

import ember
from . import constraints
from .distribution import Distribution, broadcast_all
from .exp_family import ExponentialFamily


class Exponential(ExponentialFamily):
    """``Exponential(rate)``; ``rsample`` is ``e / rate`` with ``e ~ Exp(1)``."""

    has_rsample = True
    support = constraints.nonnegative
    arg_constraints = {"rate": constraints.positive}

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.rate.reciprocal()

    @property
    def variance(self):
        return self.rate.pow(-2)

    def rsample(self, sample_shape=()):
        e = ember.empty(self._extended_shape(sample_shape), dtype=self.rate.dtype).exponential_()
        return e / self.rate

    def log_prob(self, value):
        return self.rate.log() - self.rate * value

    def cdf(self, value):
        return 1 - (-self.rate * value).exp()

    def icdf(self, value):
        return -(-value).log1p() / self.rate

    def entropy(self):
        return 1.0 - self.rate.log()


class Laplace(Distribution):
    """``Laplace(loc, scale)``; ``rsample`` by the inverse CDF of a uniform in (-1, 1)."""

    has_rsample = True
    support = constraints.real
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        return 2 * self.scale.pow(2)

    def rsample(self, sample_shape=()):
        u = ember.empty(self._extended_shape(sample_shape), dtype=self.loc.dtype).uniform_(-1 + 1e-7, 1)
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value):
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def entropy(self):
        return 1 + (2 * self.scale).log()


_ = math
