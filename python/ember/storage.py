"""``torch.storage``: the storage behind a tensor, as ``Tensor.untyped_storage()`` (bytes) and
``Tensor.storage()`` (elements of the tensor's dtype) return it. Programs use it to ask whether
tensors share memory (``data_ptr()``), how big the buffer is (``nbytes()``, ``size()``), and to
read it whole (``tolist()``). A storage here is a window on its tensor's buffer: writes through
it (``s[i] = v``) reach every tensor that shares the buffer."""

import warnings


def _whole(tensor):
    """A 1-D view of every element of ``tensor``'s storage."""
    return tensor.as_strided((tensor._storage_len(),), (1,), 0)


class _Storage:
    """What both storage views share: the tensor they look through, and where it lives."""

    def __init__(self, tensor):
        self._tensor = tensor

    @property
    def device(self):
        return self._tensor.device

    @property
    def is_cuda(self):
        return False

    def share_memory_(self):
        """Moves the buffer into shared memory, for every tensor that uses it."""
        self._tensor.share_memory_()
        return self

    def is_shared(self):
        return self._tensor.is_shared()


class UntypedStorage(_Storage):
    """The bytes of a tensor's buffer."""

    def data_ptr(self):
        return self._tensor.data_ptr() - self._tensor.storage_offset() * self._tensor.element_size()

    def nbytes(self):
        return self._tensor._storage_len() * self._tensor.element_size()

    def size(self):
        return self.nbytes()

    def __len__(self):
        return self.nbytes()

    def element_size(self):
        return 1

    def tolist(self):
        import numpy as np
        return list(np.ascontiguousarray(_whole(self._tensor).numpy()).view(np.uint8))

    def __repr__(self):
        return f"UntypedStorage of {self.nbytes()} bytes on cpu"


class TypedStorage(_Storage):
    """The elements of a tensor's buffer, in its dtype (``Tensor.storage()``)."""

    @property
    def dtype(self):
        return self._tensor.dtype

    def data_ptr(self):
        return self.untyped().data_ptr()

    def size(self):
        return self._tensor._storage_len()

    def __len__(self):
        return self.size()

    def element_size(self):
        return self._tensor.element_size()

    def nbytes(self):
        return self.size() * self.element_size()

    def untyped(self):
        return UntypedStorage(self._tensor)

    def tolist(self):
        return _whole(self._tensor).tolist()

    def __getitem__(self, i):
        v = _whole(self._tensor)[i]
        return v.item() if v.dim() == 0 else v.tolist()

    def __setitem__(self, i, value):
        from . import no_grad
        with no_grad():
            _whole(self._tensor)[i] = value

    def __iter__(self):
        return iter(self.tolist())

    def __repr__(self):
        body = "\n".join(f" {v}" for v in self.tolist())
        return f"{body}\n[torch.storage.TypedStorage(dtype={self.dtype}, device=cpu) of size {self.size()}]"


def _install(Tensor):
    def storage(self):
        warnings.warn("TypedStorage is deprecated. It will be removed in the future and UntypedStorage will be the only "
                      "storage class. This should only matter to you if you are using storages directly.  To access "
                      "UntypedStorage directly, use tensor.untyped_storage() instead of tensor.storage()",
                      UserWarning, stacklevel=2)
        return TypedStorage(self)

    Tensor.storage = storage
    Tensor.untyped_storage = lambda self: UntypedStorage(self)
