"""``torch.autograd.Variable``: the pre-0.4 wrapper, today just a tensor. ``Variable(t)``
returns ``t`` (with ``requires_grad`` set when asked) and every tensor is an instance of it, so
old programs (``Variable(x, requires_grad=True)``, ``isinstance(x, Variable)``) run."""

from .. import _C


class _VariableMeta(type):
    def __instancecheck__(cls, other):
        return isinstance(other, _C.Tensor)


class Variable(metaclass=_VariableMeta):
    def __new__(cls, data=None, requires_grad=False, volatile=False):
        del volatile
        if data is None:
            data = _C.empty(0)
        if not isinstance(data, _C.Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        return data.requires_grad_(requires_grad) if requires_grad else data
