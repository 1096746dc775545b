"""Tensors in shared memory: ``Tensor.share_memory_()``, ``is_shared()``,
``Module.share_memory()`` and how ``ember.multiprocessing`` sends tensors to other processes.

``share_memory_`` moves a tensor's storage, in place and for every view of it, into an
anonymous shared mapping (a ``memfd``, never a file on disk). Processes forked afterwards
write the same memory, which is what Hogwild training relies on. Sent to another process
(``multiprocessing`` with spawn or forkserver, a ``Queue``), a shared tensor travels as that
mapping's file descriptor plus its shape, strides and offset, and the receiver maps the same
memory: writes on either side are seen by the other. As with torch, the sender must still be
alive when the receiver unpickles it (the descriptor is handed over by the sender's
``multiprocessing`` resource sharer). Unlike torch, a tensor that is not in shared memory is
sent by value rather than moved into shared memory first, so a worker may put its results on
a queue and exit. Nothing here unpickles code: the receiver only maps a descriptor it was handed."""

import mmap
import os
import weakref

import numpy as np

from . import _C


class _SharedMap(mmap.mmap):
    """A ``MAP_SHARED`` mapping of a memfd that keeps the descriptor (to hand to other
    processes) and closes it when the mapping goes."""

    fd = None

    def __del__(self):
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None


# The first byte of each live mapping -> the mapping. A tensor is shared when its storage
# starts at one of these addresses (a live mapping's address cannot belong to anything else).
_maps = {}


def _base_address(t):
    return t.data_ptr() - t.storage_offset() * t.element_size()


def _mapping_of(t):
    ref = _maps.get(_base_address(t))
    m = ref() if ref is not None else None
    return m if m is not None and m.fd is not None else None


def _map(fd, nbytes):
    m = _SharedMap(fd, nbytes)
    m.fd = fd
    return m


def _adopt(m, nbytes, dtype):
    """A 1-D tensor of ``dtype`` over the whole mapping, registered as shared."""
    base = _C._adopt_bytes(np.frombuffer(m, dtype=np.uint8, count=nbytes), dtype)
    address = _base_address(base)
    _maps[address] = weakref.ref(m, lambda _, a=address: _maps.pop(a, None))
    return base


def is_shared(self):
    return _mapping_of(self) is not None


def share_memory_(self):
    """Moves the storage into shared memory (no-op when it is already there or empty)."""
    n = self._storage_len()
    if n == 0 or is_shared(self):
        return self
    nbytes = n * self.element_size()
    fd = os.memfd_create("ember-shared", os.MFD_CLOEXEC)
    try:
        os.ftruncate(fd, nbytes)
        m = _map(fd, nbytes)
    except BaseException:
        os.close(fd)
        raise
    _C._move_storage(self, _adopt(m, nbytes, self.dtype))
    return self


def _rebuild_shared(fd, dtype_name, storage_len, shape, stride, offset, requires_grad):
    """The receiving side: maps the descriptor and views it as the sent tensor."""
    dtype = getattr(_C, dtype_name)
    nbytes = storage_len * _C.empty(0, dtype=dtype).element_size()
    fd = fd.detach()
    try:
        m = _map(fd, nbytes)
    except BaseException:
        os.close(fd)
        raise
    t = _adopt(m, nbytes, dtype).as_strided(shape, stride, offset)
    return t.requires_grad_(True) if requires_grad else t


def reduce_tensor(t):
    """How ``ember.multiprocessing`` pickles a tensor: a shared one as its descriptor, any
    other by value."""
    from multiprocessing.reduction import DupFd
    if t.requires_grad and not t.is_leaf:
        raise RuntimeError("Cowardly refusing to serialize non-leaf tensor which requires_grad, since autograd does "
                           "not support crossing process boundaries.  If you just want to transfer the data, call "
                           "detach() on the tensor before serializing (e.g., putting it on the queue).")
    m = _mapping_of(t)
    if m is None:
        return t.__reduce_ex__(2)
    name = str(t.dtype).replace("torch.", "")
    return (_rebuild_shared, (DupFd(m.fd), name, t._storage_len(), tuple(t.shape), tuple(t.stride()),
                              t.storage_offset(), t.requires_grad))


def install(Tensor):
    Tensor.share_memory_ = share_memory_
    Tensor.is_shared = is_shared
    from multiprocessing.reduction import ForkingPickler
    ForkingPickler.register(Tensor, reduce_tensor)
