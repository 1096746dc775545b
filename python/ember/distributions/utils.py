"""``torch.distributions.utils``: the helpers distributions share (argument broadcasting,
probabilities and logits, lazily computed properties, triangles as vectors)."""

import ember
from .bernoulli import logits_to_probs, probs_to_logits  # noqa: F401
from .distribution import broadcast_all  # noqa: F401

euler_constant = 0.57721566490153286060  # Euler-Mascheroni constant


def clamp_probs(probs):
    """Probabilities kept ``eps`` inside (0, 1)."""
    eps = ember.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


class lazy_property:
    """A property computed on first access and then stored on the instance (so a subclass or
    ``expand`` can set it instead)."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return self
        with ember.enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


def _tril_mask(n, diag):
    i = ember.arange(n)
    return i < i.view(-1, 1) + (diag + 1)


def tril_matrix_to_vec(mat, diag=0):
    """The lower triangle (below diagonal ``diag``) of ``[.., D, D]`` matrices, row by row."""
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    return mat[..., _tril_mask(n, diag)]


def vec_to_tril_matrix(vec, diag=0):
    """The inverse of ``tril_matrix_to_vec``: ``[.., N]`` vectors into ``[.., D, D]`` lower
    triangles (zeros elsewhere)."""
    # D is the positive root of D^2 + (1 + 2 diag) D - |diag| (diag + 1) - 2 N = 0.
    b = 1 + 2 * diag
    n = (-b + (b * b + 8 * vec.shape[-1] + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    if round(n) - n > ember.finfo(vec.dtype).eps:
        raise ValueError(f"The size of last dimension is {vec.shape[-1]} which cannot be expressed as "
                         "the lower triangular part of a square D x D matrix.")
    n = round(n)
    mask = _tril_mask(n, diag)
    mat = vec.new_zeros(tuple(vec.shape[:-1]) + (n * n,))
    idx = mask.flatten().nonzero().flatten()
    return mat.index_copy(-1, idx, vec).reshape(tuple(vec.shape[:-1]) + (n, n))
