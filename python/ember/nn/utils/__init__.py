"""``ember.nn.utils``: gradient clipping (``clip_grad_norm_``, ``clip_grad_value_``), flat
parameter vectors, ``rnn`` packing helpers, ``weight_norm``/``spectral_norm`` (the older hook
form) and ``parametrize``/``parametrizations`` (the current one), and ``prune``."""

import warnings

from ... import _C
from . import parametrizations, parametrize, prune, rnn, stateless  # noqa: F401
from .spectral_norm import remove_spectral_norm, spectral_norm  # noqa: F401
from .weight_norm import remove_weight_norm, weight_norm  # noqa: F401

Tensor = _C.Tensor


def _params(parameters):
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type``-norm of the norms of ``tensors`` (as one vector)."""
    tensors = _params(tensors)
    if not tensors:
        return _C.tensor(0.0)
    norm_type = float(norm_type)
    norms = _C.stack([t.detach().double().norm(norm_type) for t in tensors])
    total = norms.norm(norm_type)
    if error_if_nonfinite and not bool(total.isfinite()):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it "
                           "cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
                           "anyway, set `error_if_nonfinite=False`")
    return total.to(tensors[0].dtype)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scales the gradients of ``parameters`` in place so their total norm is at most
    ``max_norm``; returns the total norm before clipping (a tensor, as torch)."""
    params = [p for p in _params(parameters) if p.grad is not None]
    if not params:
        return _C.tensor(0.0)
    total = _C._nn.clip_grad_norm(params, float(max_norm), float(norm_type), bool(error_if_nonfinite))
    return _C.tensor(total, dtype=params[0].grad.dtype)


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of `torch.nn.utils.clip_grad_norm_`.",
                  FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value, foreach=None):
    clip_value = float(clip_value)
    prev = _C._set_grad_enabled(False)
    try:
        for p in _params(parameters):
            if p.grad is not None:
                p.grad.clamp_(min=-clip_value, max=clip_value)
    finally:
        _C._set_grad_enabled(prev)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    coef = (float(max_norm) / (float(total_norm) + 1e-6))
    if coef < 1.0:
        prev = _C._set_grad_enabled(False)
        try:
            for p in _params(parameters):
                if p.grad is not None:
                    p.grad.mul_(coef)
        finally:
            _C._set_grad_enabled(prev)


def parameters_to_vector(parameters):
    return _C.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    offset = 0
    for p in parameters:
        n = p.numel()
        p.data = vec[offset:offset + n].view_as(p).data
        offset += n


def skip_init(module_cls, *args, **kwargs):
    """``module_cls(*args, **kwargs)``: torch skips parameter initialisation here; Ember
    initialises as usual (the caller overwrites the values either way)."""
    kwargs.pop("device", None)
    return module_cls(*args, **kwargs)


from . import clip_grad, convert_parameters, fusion, memory_format  # noqa: E402,F401
from .fusion import fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval, fuse_linear_bn_weights  # noqa: E402,F401
from .memory_format import convert_conv2d_weight_memory_format, convert_conv3d_weight_memory_format  # noqa: E402,F401
from .. import init  # noqa: E402,F401
