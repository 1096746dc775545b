"""``ExponentialFamily``: the base of the distributions with density
``p(x; θ) = exp(<t(x), θ> - F(θ) + k(x))``. A subclass gives its natural parameters ``θ``, its
log normaliser ``F`` and the mean of its carrier measure ``k``; ``entropy`` then follows from
the Bregman divergence of ``F`` (``F(θ) - <θ, ∇F(θ)> - E[k]``), ``∇F`` by autograd, as torch
computes it."""

import ember
from .distribution import Distribution


class ExponentialFamily(Distribution):
    @property
    def _natural_params(self):
        """The natural parameters ``θ``, a tuple of tensors."""
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        """``F(θ)``, differentiable in ``θ``."""
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        """``E[k(x)]``."""
        raise NotImplementedError

    def entropy(self):
        result = -self._mean_carrier_measure
        params = [p.detach().requires_grad_() for p in self._natural_params]
        with ember.enable_grad():
            log_norm = self._log_normalizer(*params)
            grads = ember.autograd.grad(log_norm.sum(), params, create_graph=True)
        result = result + log_norm
        for p, g in zip(params, grads):
            result = result - (p * g).reshape(tuple(self._batch_shape) + (-1,)).sum(-1)
        return result
