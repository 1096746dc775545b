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


class UninitializedTensorMixin:
    """A placeholder whose shape a lazy module learns from its first input: only
    ``materialize(shape)`` (which turns it into the real class, in place) is meaningful."""

    cls_to_become = None

    def materialize(self, shape, device=None, dtype=None):
        self.data = _C.empty(tuple(shape), dtype=dtype if dtype is not None else self.data.dtype)
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually happens in "
            "`load_state_dict` when trying to load an uninitialized parameter into an initialized one. Call "
            "`forward` to initialize the parameters before accessing their attributes.")

    def share_memory_(self):
        raise RuntimeError("Can't share memory on an uninitialized parameter or buffer. Call `forward` to initialize "
                           "the parameters before calling `module.share_memory()`.")

    def __repr__(self):
        return f"<{self.__class__.__name__}>"


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A parameter of a lazy module before its first forward (``nn.LazyLinear``)."""

    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        return Parameter.__new__(cls, _C.empty(0, dtype=dtype), requires_grad)

    def __init__(self, requires_grad=True, device=None, dtype=None):
        pass


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer of a lazy module before its first forward (``nn.LazyBatchNorm1d``'s running
    statistics)."""

    cls_to_become = Tensor

    def __new__(cls, requires_grad=False, device=None, dtype=None):
        return Tensor.__new__(cls, _C.empty(0, dtype=dtype))

    def __init__(self, requires_grad=False, device=None, dtype=None):
        pass


def is_lazy(param):
    return isinstance(param, UninitializedTensorMixin)
