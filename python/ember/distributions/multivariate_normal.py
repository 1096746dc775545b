"""``MultivariateNormal`` parameterised by its covariance, precision or lower Cholesky factor
(exactly one), everything computed from ``scale_tril`` as torch does: ``rsample`` is
``loc + L eps``, ``log_prob`` solves with the triangle (no inverse is formed)."""

import math

import ember
from . import constraints
from .distribution import Distribution


def _batch_mahalanobis(L, x):
    """``|L^-1 x|^2`` for ``L [.., n, n]`` lower triangular and ``x [.., n]``, broadcast."""
    z = ember.linalg.solve_triangular(L, x.unsqueeze(-1), upper=False).squeeze(-1)
    return (z * z).sum(-1)


def _precision_to_scale_tril(P):
    # L with L L^T = P^-1, from the Cholesky factor of the flipped precision (torch's recipe).
    Lf = ember.linalg.cholesky(P.flip(-2, -1))
    L_inv = Lf.flip(-2, -1).mT
    eye = ember.eye(P.shape[-1], dtype=P.dtype)
    return ember.linalg.solve_triangular(L_inv, eye.expand(L_inv.shape), upper=False)


class MultivariateNormal(Distribution):
    has_rsample = True
    support = constraints.real_vector
    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        given = scale_tril if scale_tril is not None else covariance_matrix if covariance_matrix is not None else precision_matrix
        if given.dim() < 2:
            name = "scale_tril" if scale_tril is not None else "covariance_matrix" if covariance_matrix is not None else "precision_matrix"
            raise ValueError(f"{name} matrix must be at least two-dimensional, with optional leading batch dimensions")
        batch_shape = ember.broadcast_shapes(given.shape[:-2], loc.shape[:-1])
        n = loc.shape[-1]
        self.loc = loc.expand(batch_shape + (n,))
        if scale_tril is not None:
            self.scale_tril = scale_tril.expand(batch_shape + (n, n))
        elif covariance_matrix is not None:
            self.covariance_matrix = covariance_matrix.expand(batch_shape + (n, n))
            self.scale_tril = ember.linalg.cholesky(covariance_matrix).expand(batch_shape + (n, n))
        else:
            self.precision_matrix = precision_matrix.expand(batch_shape + (n, n))
            self.scale_tril = _precision_to_scale_tril(precision_matrix).expand(batch_shape + (n, n))
        super().__init__(batch_shape, (n,), validate_args=validate_args)

    def __getattr__(self, name):
        # covariance_matrix / precision_matrix on demand, from the Cholesky factor.
        if name == "covariance_matrix":
            L = self.__dict__["scale_tril"]
            return L @ L.mT
        if name == "precision_matrix":
            L = self.__dict__["scale_tril"]
            eye = ember.eye(L.shape[-1], dtype=L.dtype).expand(L.shape)
            Li = ember.linalg.solve_triangular(L, eye, upper=False)
            return Li.mT @ Li
        raise AttributeError(name)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return (self.scale_tril ** 2).sum(-1).expand(self.batch_shape + self.event_shape)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = ember.empty(shape, dtype=self.loc.dtype).normal_()
        return self.loc + (self.scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value):
        diff = value - self.loc
        L = self.scale_tril
        shape = ember.broadcast_shapes(diff.shape[:-1], L.shape[:-2])
        m = _batch_mahalanobis(L.expand(shape + L.shape[-2:]), diff.expand(shape + diff.shape[-1:]))
        half_log_det = L.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return -0.5 * (self.event_shape[0] * math.log(2 * math.pi) + m) - half_log_det

    def entropy(self):
        half_log_det = self.scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        h = 0.5 * self.event_shape[0] * (1.0 + math.log(2 * math.pi)) + half_log_det
        return h.expand(self.batch_shape) if len(self.batch_shape) else h
