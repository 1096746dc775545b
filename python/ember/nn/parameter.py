"""``nn.Parameter`` and ``nn.Buffer``: tensors that a ``Module`` registers when they are
assigned as its attributes (torch's ``torch.nn.parameter``)."""

from .. import _C

Tensor = _C.Tensor


class Parameter(Tensor):
    """A tensor that is a module parameter: assigned to a ``Module`` attribute it is listed by
    ``parameters()``. It requires grad unless ``requires_grad=False``, whatever the grad mode,
    and it shares ``data``'s storage as a new leaf."""

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = _C.empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): argument 'data' must be Tensor, not {type(data).__name__}")
        self = super().__new__(cls, data.detach())
        if requires_grad and not self.is_floating_point():
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        self.requires_grad_(bool(requires_grad))
        return self

    def __init__(self, data=None, requires_grad=True):
        pass

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.data.clone(), self.requires_grad)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, proto):
        from .._utils import _rebuild_parameter
        return (_rebuild_parameter, (self.data, self.requires_grad, {}))


class Buffer:
    """``nn.Buffer(data, persistent=True)``: marks a tensor assigned to a module attribute as a
    buffer (the module registers ``data`` itself)."""

    def __init__(self, data=None, *, persistent=True):
        if data is None:
            data = _C.empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Buffer(): argument 'data' must be Tensor, not {type(data).__name__}")
        self.data = data
        self.persistent = persistent


class UninitializedParameter(Parameter):
    """Lazy modules are not supported; the name exists for ``isinstance`` checks."""


def is_lazy(param):
    return isinstance(param, UninitializedParameter)
