"""``ember.nn.parallel``: ``DistributedDataParallel`` (``distributed.py``) and ``DataParallel``
(on a CPU-only build it calls the wrapped module, as torch's does when no GPU is present)."""

from ..modules.module import Module
from .distributed import DistributedDataParallel  # noqa: F401


class DataParallel(Module):
    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        self.module = module
        self.device_ids = []
        self.dim = dim
        self.output_device = None

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0, module_kwargs=None):
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    return module(*inputs, **(module_kwargs or {}))
