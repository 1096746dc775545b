"""``ember.autograd``: gradients of tensors (``grad``, ``backward``), grad mode, custom ops
(``Function``) and a finite-difference ``gradcheck``."""

from .. import _C
from .grad_mode import no_grad, enable_grad, set_grad_enabled, inference_mode  # noqa: F401
from .function import Function, FunctionCtx  # noqa: F401
from .gradcheck import gradcheck, gradgradcheck  # noqa: F401
from .variable import Variable  # noqa: F401
from .anomaly_mode import detect_anomaly, set_detect_anomaly, is_anomaly_enabled, is_anomaly_check_nan_enabled  # noqa: F401
from . import graph  # noqa: F401
from . import functional  # noqa: F401
from . import forward_ad  # noqa: F401
from . import profiler  # noqa: F401


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs`` (``torch.autograd.grad``)."""
    return _C.grad(outputs, inputs, grad_outputs, retain_graph, create_graph, only_inputs,
                   allow_unused, is_grads_batched, materialize_grads)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Backpropagates from each of ``tensors`` (``torch.autograd.backward``)."""
    if isinstance(tensors, _C.Tensor):
        tensors = [tensors]
    if grad_tensors is None or isinstance(grad_tensors, _C.Tensor):
        grad_tensors = [grad_tensors] * len(tensors)
    for t, g in zip(tensors, grad_tensors):
        t.backward(g, retain_graph=True if len(tensors) > 1 else retain_graph, create_graph=create_graph)
