"""Rebuilding tensors from pickles: parameters (``_rebuild_parameter``, which
``ember.serialization`` maps torch's name to) and plain pickling (``_rebuild_from_array``:
multiprocessing, ``copy``). Each builds a new tensor from data; none runs code named by a
file."""

from . import _C


def _rebuild_from_array(array, dtype_name, requires_grad):
    """A tensor from a NumPy array saved by ``Tensor.__reduce_ex__`` (``bfloat16`` travels as
    float32, exactly)."""
    t = _C.from_numpy(array.copy()) if array.ndim else _C.tensor(array.item())
    dtype = getattr(_C, dtype_name)
    if t.dtype != dtype:
        t = t.to(dtype)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _rebuild_parameter(data, requires_grad, backward_hooks=None):
    from .nn.parameter import Parameter
    return Parameter(data, requires_grad)


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    p = _rebuild_parameter(data, requires_grad, backward_hooks)
    if isinstance(state, dict):
        p.__dict__.update(state)
    return p


def _tensor_reduce_ex(self, proto):
    """Plain pickling of a tensor (what ``multiprocessing`` and ``copy`` use): its values as a
    NumPy array, dtype and ``requires_grad``. ``ember.save`` writes torch's format instead."""
    t = self.detach().contiguous()
    name = str(t.dtype).replace("torch.", "")
    if t.dtype == _C.bfloat16:
        t = t.float()
    return (_rebuild_from_array, (t.numpy(), name, self.requires_grad))


def _tensor_deepcopy(self, memo):
    if not self.is_leaf:
        raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                           "protocol at the moment.  If you were attempting to deepcopy a module, this may be "
                           "because of a torch.nn.utils.weight_norm usage, see "
                           "https://github.com/pytorch/pytorch/pull/103001")
    if id(self) in memo:
        return memo[id(self)]
    new = self.detach().clone()
    if self.requires_grad:
        new.requires_grad_(True)
    if self.grad is not None:
        new.grad = self.grad.clone()
    memo[id(self)] = new
    return new


def install(tensor_class):
    tensor_class.__reduce_ex__ = _tensor_reduce_ex
    tensor_class.__deepcopy__ = _tensor_deepcopy
