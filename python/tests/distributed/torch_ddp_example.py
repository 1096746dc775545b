"""A PyTorch DDP program as PyTorch's DDP tutorial writes it (ToyModel, SGD, a checkpoint saved
by rank 0 and loaded by all after a barrier), for a launcher instead of ``mp.spawn``. Its
imports are torch's: test_distributed.py runs it with ``mpirun -np 2 python -m ember.compat``.
Usage: torch_ddp_example.py CHECKPOINT_PATH"""

import sys

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.optim as optim
from torch.nn.parallel import DistributedDataParallel as DDP


class ToyModel(nn.Module):
    def __init__(self):
        super(ToyModel, self).__init__()
        self.net1 = nn.Linear(10, 10)
        self.relu = nn.ReLU()
        self.net2 = nn.Linear(10, 5)

    def forward(self, x):
        return self.net2(self.relu(self.net1(x)))


def demo_checkpoint(path):
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    print(f"Running DDP checkpoint example on rank {rank}.")
    torch.manual_seed(rank)
    model = ToyModel()
    ddp_model = DDP(model)

    loss_fn = nn.MSELoss()
    optimizer = optim.SGD(ddp_model.parameters(), lr=0.001)
    for _ in range(5):
        optimizer.zero_grad()
        outputs = ddp_model(torch.randn(20, 10))
        labels = torch.randn(20, 5)
        loss_fn(outputs, labels).backward()
        optimizer.step()

    if rank == 0:
        # All processes have the same parameters: saving one copy is enough.
        torch.save(ddp_model.state_dict(), path)
    dist.barrier()
    ddp_model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))

    flat = torch.cat([p.detach().reshape(-1) for p in ddp_model.parameters()])
    gathered = [torch.zeros_like(flat) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, flat)
    assert all(torch.equal(g, gathered[0]) for g in gathered), "replicas differ"
    print(f"rank {rank}: replicas agree, checksum {flat.sum().item():.6f}")
    dist.destroy_process_group()


if __name__ == "__main__":
    demo_checkpoint(sys.argv[1])
