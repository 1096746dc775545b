"""Rank 1 raises after the first collective while rank 0 waits in the next one: the launcher
must end the whole job with rank 1's error (test_distributed.py)."""

import ember as torch
import ember.distributed as dist

dist.init_process_group("mpi")
t = torch.ones(4)
dist.all_reduce(t)
if dist.get_rank() == 1:
    raise RuntimeError("rank 1 gives up")
dist.all_reduce(t)
