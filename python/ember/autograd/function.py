"""``ember.autograd.Function``: custom ops written in Python, as PyTorch's.

``forward(ctx, *args)`` runs without recording; ``backward(ctx, *grad_outputs)`` returns one
gradient (or ``None``) per argument of ``forward``. ``apply`` records the result in Ember's
graph with ``backward`` as its rule, so ``create_graph`` and higher-order gradients work when
``backward`` is written with differentiable ops.
"""

from .. import _C


class FunctionCtx:
    """The ``ctx`` of a custom Function: saved tensors and flags for ``backward``."""

    def __init__(self):
        self.saved_tensors = ()
        self.needs_input_grad = ()
        self.materialize_grads = True
        self._non_differentiable = ()

    def save_for_backward(self, *tensors):
        self.saved_tensors = tuple(tensors)

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable = tensors

    def mark_dirty(self, *tensors):
        """Accepted for compatibility (in-place custom ops are recorded as out of place)."""

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)


class _FunctionMeta(type):
    def __init__(cls, name, bases, attrs):
        super().__init__(name, bases, attrs)


class Function(metaclass=_FunctionMeta):
    """Base class of custom autograd ops (override ``forward`` and ``backward``)."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom autograd.Function to use it with backward mode AD.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        """Called when ``forward`` takes no ``ctx`` (PyTorch 2's style)."""

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = FunctionCtx()
        tensor_pos = [i for i, a in enumerate(args) if isinstance(a, _C.Tensor)]
        ctx.needs_input_grad = tuple(isinstance(a, _C.Tensor) and a.requires_grad for a in args)
        prev = _C._set_grad_enabled(False)
        try:
            if cls.setup_context is not Function.setup_context:
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args, **kwargs)
        finally:
            _C._set_grad_enabled(prev)
        if isinstance(out, tuple):
            raise NotImplementedError(f"{cls.__name__}: a custom Function with several outputs is not supported yet")
        if not isinstance(out, _C.Tensor):
            return out
        if not any(ctx.needs_input_grad) or not _C.is_grad_enabled() or not out.is_floating_point():
            return out
        if any(o is out for o in ctx._non_differentiable):
            return out

        def backward_fn(grad):
            grads = cls.backward(ctx, grad)
            if not isinstance(grads, tuple):
                grads = (grads,)
            if len(grads) != len(args):
                raise RuntimeError(f"function {cls.__name__}Backward returned an incorrect number of gradients (expected {len(args)}, got {len(grads)})")
            return [grads[i] for i in tensor_pos]

        return _C._custom_op([args[i] for i in tensor_pos], out, cls.__name__, backward_fn)
