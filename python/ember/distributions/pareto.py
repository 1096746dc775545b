"""``GeneralizedPareto(loc, scale, concentration)``: the tail distribution of extreme-value
theory, with torch's parameterisation, branches at zero concentration (the exponential limit)
and support ``[loc, loc - scale / concentration]`` for negative concentration."""

import math

import ember
from . import constraints
from .distribution import Distribution, broadcast_all


class GeneralizedPareto(Distribution):
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive, "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        numbers = all(not isinstance(v, ember.Tensor) for v in (loc, scale, concentration))
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        super().__init__(() if numbers else self.loc.shape, validate_args=validate_args)

    def _safe_concentration(self):
        """The concentration with its (near-)zeros replaced by 1, and where they were."""
        c = self.concentration
        eq_zero = ember.isclose(c, ember.zeros_like(c))
        return ember.where(eq_zero, ember.ones_like(c), c), eq_zero

    def _z(self, x):
        return (x - self.loc) / self.scale

    def rsample(self, sample_shape=()):
        u = ember.rand(self._extended_shape(sample_shape), dtype=self.loc.dtype)
        return self.icdf(u)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        c, eq_zero = self._safe_concentration()
        # log f = -log scale - (1/c + 1) log1p(c z); -log scale - z at c = 0
        y = 1 / c + ember.ones_like(z)
        nonzero = ember.where(y == 0, y, y * (c * z).log1p())
        return -self.scale.log() - ember.where(eq_zero, z, nonzero)

    def log_survival_function(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        c, eq_zero = self._safe_concentration()
        return ember.where(eq_zero, -z, -(c * z).log1p() / c)

    def log_cdf(self, value):
        return (-self.log_survival_function(value).exp()).log1p()

    def cdf(self, value):
        return self.log_cdf(value).exp()

    def icdf(self, value):
        c, eq_zero = self._safe_concentration()
        logu = (-value).log1p()
        nonzero = self.loc + self.scale / c * (-c * logu).expm1()
        return ember.where(eq_zero, self.loc - self.scale * logu, nonzero)

    @property
    def mean(self):
        valid = self.concentration < 1
        c = ember.where(valid, self.concentration, ember.full_like(self.concentration, 0.5))
        return ember.where(valid, self.loc + self.scale / (1 - c), ember.full_like(c, math.nan))

    @property
    def variance(self):
        valid = self.concentration < 0.5
        c = ember.where(valid, self.concentration, ember.full_like(self.concentration, 0.25))
        result = self.scale ** 2 / ((1 - c) ** 2 * (1 - 2 * c))
        return ember.where(valid, result, ember.full_like(c, math.nan))

    @property
    def mode(self):
        return self.loc

    def entropy(self):
        return (self.scale.log() + self.concentration + 1).broadcast_to(self._batch_shape)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        lower = self.loc
        upper = ember.where(self.concentration < 0, lower - self.scale / self.concentration,
                            ember.full_like(lower, math.inf))
        return constraints.interval(lower, upper)
