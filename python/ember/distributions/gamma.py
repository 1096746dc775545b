"""``Gamma``, ``Beta`` and ``Dirichlet``: sampled from Marsaglia and Tsang's gamma sampler
(vectorised rejection: each round redraws only the rejected elements), with ``log_prob`` and
``entropy`` from ``lgamma``/``digamma``. ``rsample`` is reparameterised implicitly, as
PyTorch's: a draw's gradient in ``alpha`` is ``dz/dalpha`` with its CDF level held fixed
(``_C._standard_gamma_grad``); Beta and Dirichlet draws are normalised gamma draws."""

import ember
from ember import _C
from . import constraints
from .distribution import Distribution, broadcast_all
from .exp_family import ExponentialFamily


class _StandardGamma(ember.autograd.Function):
    """A Gamma(alpha, 1) draw whose gradient in ``alpha`` is the implicit one."""

    @staticmethod
    def forward(ctx, alpha):
        z = standard_gamma(alpha)
        ctx.save_for_backward(alpha, z)
        return z

    @staticmethod
    def backward(ctx, grad):
        alpha, z = ctx.saved_tensors
        return grad * _C._standard_gamma_grad(alpha.detach(), z.detach())


def rsample_gamma(alpha):
    """``standard_gamma`` with the reparameterisation gradient when ``alpha`` needs one."""
    if alpha.requires_grad and ember.is_grad_enabled():
        return _StandardGamma.apply(alpha)
    return standard_gamma(alpha)


def standard_gamma(alpha):
    """One Gamma(alpha, 1) draw per element of ``alpha`` (no gradient)."""
    with ember.no_grad():
        a = alpha.detach()
        boost = a < 1
        a1 = ember.where(boost, a + 1, a)
        d = a1 - 1.0 / 3.0
        c = (9 * d).rsqrt()
        out = ember.zeros(a.shape, dtype=a.dtype)
        todo = ember.ones(a.shape, dtype=ember.bool)
        while bool(todo.any()):
            x = ember.empty(a.shape, dtype=a.dtype).normal_()
            v = (1 + c * x) ** 3
            u = ember.empty(a.shape, dtype=a.dtype).uniform_()
            ok = (v > 0) & (u.log() < 0.5 * x * x + d - d * v + d * v.clamp(min=1e-300).log())
            take = ok & todo
            out = ember.where(take, d * v, out)
            todo = todo & ~ok
        # Gamma(a) = Gamma(a + 1) * U^(1/a) for a < 1.
        u = ember.empty(a.shape, dtype=a.dtype).uniform_().clamp(min=1e-300)
        out = ember.where(boost, out * u.pow(1.0 / a.clamp(min=1e-300)) if a.numel() else out, out)
        tiny = 1.1754943508222875e-38 if a.dtype == ember.float32 else 2.2250738585072014e-308
        return out.clamp(min=tiny)


class Gamma(ExponentialFamily):
    """``Gamma(concentration, rate)``."""

    support = constraints.nonnegative
    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(self.concentration.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        return rsample_gamma(self.concentration.expand(shape).contiguous()) / self.rate.expand(shape)

    def log_prob(self, value):
        a, r = self.concentration, self.rate
        return a * r.log() + (a - 1) * value.log() - r * value - a.lgamma()

    def entropy(self):
        a = self.concentration
        return a - self.rate.log() + a.lgamma() + (1.0 - a) * a.digamma()


class Beta(ExponentialFamily):
    """``Beta(concentration1, concentration0)``."""

    support = constraints.unit_interval
    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        super().__init__(self.concentration1.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def variance(self):
        a, b = self.concentration1, self.concentration0
        t = a + b
        return a * b / (t.pow(2) * (t + 1))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        x = rsample_gamma(self.concentration1.expand(shape).contiguous())
        y = rsample_gamma(self.concentration0.expand(shape).contiguous())
        return x / (x + y)

    def log_prob(self, value):
        a, b = self.concentration1, self.concentration0
        return (a - 1) * value.log() + (b - 1) * (-value).log1p() - (a.lgamma() + b.lgamma() - (a + b).lgamma())

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        t = a + b
        return (a.lgamma() + b.lgamma() - t.lgamma()) - (a - 1) * a.digamma() - (b - 1) * b.digamma() \
            + (t - 2) * t.digamma()


class Dirichlet(ExponentialFamily):
    """``Dirichlet(concentration)`` over the last dim."""

    support = constraints.simplex
    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args)

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def variance(self):
        c = self.concentration
        c0 = c.sum(-1, keepdim=True)
        return c * (c0 - c) / (c0.pow(2) * (c0 + 1))

    def rsample(self, sample_shape=()):
        g = rsample_gamma(self.concentration.expand(self._extended_shape(sample_shape)).contiguous())
        return g / g.sum(-1, keepdim=True)

    def log_prob(self, value):
        c = self.concentration
        return ((c - 1) * value.log()).sum(-1) + c.sum(-1).lgamma() - c.lgamma().sum(-1)

    def entropy(self):
        c = self.concentration
        k = c.shape[-1]
        c0 = c.sum(-1)
        return c.lgamma().sum(-1) - c0.lgamma() + (c0 - k) * c0.digamma() - ((c - 1) * c.digamma()).sum(-1)
