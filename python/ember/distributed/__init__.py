"""``ember.distributed``: torch.distributed's process groups and collectives, over Ember's Rust
process groups (``ember._C._distributed``; MPI when the extension was built with it).

Start the processes with MPI's launcher, ``mpirun -np 2 python train.py``; rank and world size
come from it. ``"gloo"``, the backend PyTorch programs name for CPUs, is served by MPI too, so
a torch DDP script runs as written. A program started without a launcher is a world of one.
Collectives take global ranks for ``src``/``dst`` (or ``group_src``/``group_dst``), write their
results in place, and return a ``Work`` handle when ``async_op=True``.
"""

from .distributed_c10d import *  # noqa: F401,F403
from .distributed_c10d import __all__ as _c10d_all

__all__ = list(_c10d_all)

# DDP's first gradient bucket (small, so the first all-reduce starts early), as torch's.
_DEFAULT_FIRST_BUCKET_BYTES = 1024 * 1024
