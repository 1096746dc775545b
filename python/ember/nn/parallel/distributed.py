"""``ember.nn.parallel.DistributedDataParallel``: torch's DDP over Ember's Rust reducer.

At construction every rank checks that all ranks hold the same parameter shapes, then takes
rank 0's parameters and buffers. Backward hands each gradient to the reducer as autograd
accumulates it; full buckets are all-reduced on the communication thread while backward goes
on, and when backward returns every ``.grad`` holds the average over the ranks. ``no_sync()``
accumulates locally instead (the forward inside it decides, as in torch)."""

import contextlib

from ..modules.module import Module

__all__ = ["DistributedDataParallel"]


class DistributedDataParallel(Module):
    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True, init_sync=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False, delay_all_reduce_named_params=None,
                 param_to_hook_all_reduce=None, mixed_precision=None, device_mesh=None):
        super().__init__()
        from ... import _C
        from ... import distributed as dist
        if device_ids is not None and len(device_ids) > 0 and any(d not in ("cpu", None) for d in device_ids):
            raise ValueError("DistributedDataParallel device_ids and output_device arguments only work with "
                             "single-device/multiple-device GPU modules or CPU modules, but got device_ids "
                             f"{device_ids}: Ember runs on CPUs; leave device_ids out")
        self.module = module
        self.process_group = dist.distributed_c10d._world() if process_group is None else process_group
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        self.dim = dim
        self.device_ids = None
        self.output_device = None
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.static_graph = static_graph
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        _d = _C._distributed
        names = [n for n, _ in named]
        params = [p for _, p in named]
        if init_sync:
            _d._verify_and_broadcast(self.process_group, names, params, list(module.buffers()))
        self.reducer = _d.Reducer(params, self.process_group, self.bucket_bytes_cap, dist._DEFAULT_FIRST_BUCKET_BYTES,
                                  bool(find_unused_parameters), names)

    def forward(self, *inputs, **kwargs):
        from ... import _C, is_grad_enabled
        self.reducer.prepare_for_forward()
        self.reducer.set_sync(self.require_backward_grad_sync and is_grad_enabled())
        if self.broadcast_buffers and self.process_group.size() > 1:
            buffers = list(self.module.buffers())
            if buffers:
                _C._distributed._broadcast_from_rank0(self.process_group, buffers)
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Forward/backward passes inside accumulate gradients locally; the first synchronised
        backward after it averages the accumulated sum."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def register_comm_hook(self, state, hook):
        raise NotImplementedError("DDP communication hooks are not supported by Ember yet")

    def join(self, *args, **kwargs):
        raise NotImplementedError("DDP's join() for uneven inputs is not supported by Ember yet")

    def _get_ddp_logging_data(self):
        return {"bucket_sizes": [len(b) for b in self.reducer.bucket_indices()], "backend_name": self.process_group.name()}
