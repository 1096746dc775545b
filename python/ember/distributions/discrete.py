"""Counting distributions: ``Poisson``, ``Binomial``, ``Multinomial``, ``Geometric``,
``NegativeBinomial``, and ``OneHotCategoricalStraightThrough``. Draws come from Ember's seeded
generator (``ember.poisson``, ``ember.multinomial``, uniforms); ``Binomial`` counts successes
of ``total_count`` Bernoulli trials by inverting its CDF against one uniform per draw."""

import math

import ember
from . import constraints
from .distribution import Distribution, broadcast_all
from .bernoulli import logits_to_probs, probs_to_logits
from .categorical import Categorical, OneHotCategorical
from .gamma import Gamma


def _logsigmoid(x):
    return ember.nn.functional.logsigmoid(x)


def _probs_or_logits(self, probs, logits, *others):
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")
    if probs is not None:
        values = broadcast_all(probs, *others)
        self.probs = values[0]
        self.logits = probs_to_logits(self.probs, is_binary=True)
    else:
        values = broadcast_all(logits, *others)
        self.logits = values[0]
        self.probs = logits_to_probs(self.logits, is_binary=True)
    return values[1:]


class Poisson(Distribution):
    """``Poisson(rate)``: counts with mean ``rate``."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return self.rate.floor()

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=()):
        with ember.no_grad():
            return ember.poisson(self.rate.expand(self._extended_shape(sample_shape)))

    def log_prob(self, value):
        rate, value = broadcast_all(self.rate, value)
        return value.xlogy(rate) - rate - (value + 1).lgamma()


class Binomial(Distribution):
    """``Binomial(total_count=1, probs=None, logits=None)``: successes in ``total_count`` trials."""

    arg_constraints = {"total_count": constraints.nonnegative_integer, "probs": constraints.unit_interval,
                       "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        (self.total_count,) = _probs_or_logits(self, probs, logits, total_count)
        self.total_count = self.total_count.to(self.probs.dtype)
        super().__init__(self.probs.shape, validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def mode(self):
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        with ember.no_grad():
            shape = self._extended_shape(sample_shape)
            n = self.total_count.expand(shape).double()
            p = self.probs.expand(shape).double()
            u = ember.empty(shape, dtype=ember.float64).uniform_()
            # Walk k = 0, 1, ... with pmf(k+1) = pmf(k) (n-k)/(k+1) p/(1-p) until the CDF passes u.
            q = (1 - p).clamp(min=1e-300)
            pmf = (n * q.log()).exp()
            cdf = pmf.clone()
            k = ember.zeros(shape, dtype=ember.float64)
            count = ember.zeros(shape, dtype=ember.float64)
            ratio = p / q
            steps = int(n.max().item()) if n.numel() else 0
            for _ in range(steps):
                more = (cdf < u) & (k < n)
                if not bool(more.any()):
                    break
                pmf = pmf * (n - k) / (k + 1) * ratio
                k = k + 1
                cdf = cdf + pmf
                count = count + more.double()
            count = ember.where(p >= 1, n, count)
            return count.to(self.probs.dtype)

    def log_prob(self, value):
        n = self.total_count
        log_factorial_n = (n + 1).lgamma()
        log_factorial_k = (value + 1).lgamma()
        log_factorial_nmk = (n - value + 1).lgamma()
        logits = self.logits
        clamped = (logits.clamp(min=0) + logits - logits.clamp(max=0)) / 2
        normalize = n * clamped + n * (-logits.abs()).exp().log1p() - log_factorial_n
        return value * logits - log_factorial_k - log_factorial_nmk - normalize

    def entropy(self):
        total = int(self.total_count.max().item())
        if not bool((self.total_count == total).all()):
            raise NotImplementedError("Inhomogeneous total count not supported by `entropy`.")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(log_prob.exp() * log_prob).sum(0)

    def enumerate_support(self, expand=True):
        total = int(self.total_count.max().item())
        if not bool((self.total_count == total).all()):
            raise NotImplementedError("Inhomogeneous total count not supported by `enumerate_support`.")
        values = ember.arange(1 + total, dtype=self.probs.dtype)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + tuple(self._batch_shape)) if expand else values


class Multinomial(Distribution):
    """Counts of each of ``K`` categories in ``total_count`` draws with ``probs``/``logits``."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        self.probs, self.logits = self._categorical.probs, self._categorical.logits
        super().__init__(self._categorical.batch_shape, self.probs.shape[-1:], validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = tuple(sample_shape) if not isinstance(sample_shape, int) else (sample_shape,)
        with ember.no_grad():
            draws = self._categorical.sample((self.total_count,) + shape)  # [n, *sample, *batch]
            k = self.probs.shape[-1]
            onehot = ember.zeros(tuple(draws.shape) + (k,), dtype=self.probs.dtype)
            onehot = onehot.scatter(-1, draws.unsqueeze(-1), 1.0)
            return onehot.sum(0)

    def log_prob(self, value):
        logits, value = broadcast_all(self.logits, value)
        logits = ember.where((value == 0) & (logits == -math.inf), ember.zeros_like(logits), logits)
        log_factorial_n = (value.sum(-1) + 1).lgamma()
        log_factorial_xs = (value + 1).lgamma().sum(-1)
        log_powers = (logits * value).sum(-1)
        return log_factorial_n - log_factorial_xs + log_powers

    def entropy(self):
        # n H(cat) - log n! + sum_k E[log x_k!], with x_k ~ Binomial(n, p_k).
        n = float(self.total_count)
        term1 = n * self._categorical.entropy() - math.lgamma(n + 1)
        binomial = Binomial(total_count=n, probs=self.probs, validate_args=False)
        support = binomial.enumerate_support(expand=False)[1:]
        weights = (support + 1).lgamma()
        term2 = (binomial.log_prob(support).exp() * weights).sum(0).sum(-1)
        return term1 + term2


class Geometric(Distribution):
    """Failures before the first success, each trial succeeding with ``probs``."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        _probs_or_logits(self, probs, logits)
        super().__init__(self.probs.shape, validate_args=validate_args)

    @property
    def mean(self):
        return 1.0 / self.probs - 1.0

    @property
    def mode(self):
        return ember.zeros_like(self.probs)

    @property
    def variance(self):
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        tiny = ember.finfo(self.probs.dtype).tiny
        with ember.no_grad():
            u = ember.empty(shape, dtype=self.probs.dtype).uniform_().clamp(min=tiny)
            return (u.log() / (-self.probs).log1p()).floor()

    def log_prob(self, value):
        value, probs = broadcast_all(value, self.probs)
        probs = ember.where((probs == 1) & (value == 0), ember.zeros_like(probs), probs)
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self):
        bce = ember.nn.functional.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")
        return bce / self.probs


class NegativeBinomial(Distribution):
    """Successes before ``total_count`` failures, each trial succeeding with ``probs``."""

    arg_constraints = {"total_count": constraints.greater_than_eq(0), "probs": constraints.half_open_interval(0.0, 1.0),
                       "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        (self.total_count,) = _probs_or_logits(self, probs, logits, total_count)
        self.total_count = self.total_count.to(self.logits.dtype)
        super().__init__(self.logits.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.total_count * self.logits.exp()

    @property
    def mode(self):
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self):
        return self.mean / (-self.logits).sigmoid()

    def sample(self, sample_shape=()):
        with ember.no_grad():
            rate = Gamma(self.total_count, (-self.logits).exp(), validate_args=False).sample(sample_shape)
            return ember.poisson(rate)

    def log_prob(self, value):
        log_unnormalized = self.total_count * _logsigmoid(-self.logits) + value * _logsigmoid(self.logits)
        log_normalization = -(self.total_count + value).lgamma() + (1.0 + value).lgamma() + self.total_count.lgamma()
        log_normalization = ember.where(self.total_count + value == 0.0, ember.zeros_like(log_normalization),
                                        log_normalization)
        return log_unnormalized - log_normalization


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """A ``OneHotCategorical`` whose ``rsample`` passes gradients straight through to ``probs``."""

    has_rsample = True

    def rsample(self, sample_shape=()):
        samples = self.sample(sample_shape)
        probs = self._categorical.probs
        return samples + (probs - probs.detach())
