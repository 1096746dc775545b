"""Run on every rank by ``mpirun -np 2`` (test_distributed.py): ember.distributed's collectives
against their definitions, and DDP training against one process on the whole batch. Prints
``rank R OK`` at the end; any failed check raises, which ends the job."""

import math
import sys

import ember as torch
import ember.distributed as dist
import ember.nn as nn
import ember.nn.functional as F
from ember.nn.parallel import DistributedDataParallel as DDP
from ember.utils.data import DataLoader, DistributedSampler, TensorDataset

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
assert world == 2, world


def data(r, n=4):
    return torch.arange(n, dtype=torch.float32) + 10 * r


# ---- collectives ---------------------------------------------------------------------------
t = data(rank)
dist.all_reduce(t)
assert t.tolist() == (data(0) + data(1)).tolist(), t
for op, want in [(dist.ReduceOp.MAX, data(1)), (dist.ReduceOp.MIN, data(0)), (dist.ReduceOp.PRODUCT, data(0) * data(1)),
                 (dist.ReduceOp.AVG, (data(0) + data(1)) / 2)]:
    t = data(rank)
    dist.all_reduce(t, op=op)
    assert t.tolist() == want.tolist(), (op, t)
t = data(rank)
dist.broadcast(t, src=1)
assert t.tolist() == data(1).tolist()
outs = [torch.zeros(4) for _ in range(world)]
dist.all_gather(outs, data(rank))
assert [o.tolist() for o in outs] == [data(0).tolist(), data(1).tolist()]
big = torch.zeros(2, 4)
dist.all_gather_into_tensor(big, data(rank))
assert big.tolist() == [data(0).tolist(), data(1).tolist()]
out = torch.zeros(4)
dist.reduce_scatter(out, [data(rank + j) for j in range(world)])
assert out.tolist() == (data(rank) + data(rank + 1)).tolist()
out = torch.zeros(2)
dist.reduce_scatter_tensor(out, torch.arange(4, dtype=torch.float32) * (rank + 1))
assert out.tolist() == (torch.arange(4, dtype=torch.float32) * 3)[2 * rank:2 * rank + 2].tolist()
t = data(rank)
dist.reduce(t, dst=0)
assert t.tolist() == ((data(0) + data(1)) if rank == 0 else data(1)).tolist()
gl = [torch.zeros(4) for _ in range(world)] if rank == 1 else None
dist.gather(data(rank), gather_list=gl, dst=1)
if rank == 1:
    assert [g.tolist() for g in gl] == [data(0).tolist(), data(1).tolist()]
out = torch.zeros(4)
dist.scatter(out, scatter_list=[data(5), data(6)] if rank == 0 else None, src=0)
assert out.tolist() == data(5 + rank).tolist()
work = dist.all_reduce(torch.ones(3), async_op=True)
assert work.wait() is True and work.is_completed()
if rank == 0:
    dist.send(data(7), dst=1, tag=3)
else:
    t = torch.zeros(4)
    assert dist.recv(t, src=0, tag=3) == 0
    assert t.tolist() == data(7).tolist()
objs = [None, None]
dist.all_gather_object(objs, {"rank": rank, "name": f"r{rank}"})
assert objs == [{"rank": 0, "name": "r0"}, {"rank": 1, "name": "r1"}], objs
lst = [rank, "x"] if rank == 1 else [None, None]
dist.broadcast_object_list(lst, src=1)
assert lst == [1, "x"], lst
solo = dist.new_group([1])
if rank == 1:
    assert dist.get_world_size(solo) == 1 and dist.get_rank(solo) == 0
    t = torch.ones(2)
    dist.all_reduce(t, group=solo)
    assert t.tolist() == [1.0, 1.0]
else:
    assert solo is dist.GroupMember.NON_GROUP_MEMBER
dist.barrier()
try:
    dist.all_reduce(torch.zeros(3, 2).t())
    raise SystemExit("a non-contiguous tensor was accepted")
except (RuntimeError, ValueError) as e:
    assert "contiguous" in str(e), e


# ---- DDP -----------------------------------------------------------------------------------
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(5, 8)
        self.bn = nn.BatchNorm1d(8)
        self.fc2 = nn.Linear(8, 2)

    def forward(self, x):
        return self.fc2(torch.tanh(self.bn(self.fc1(x))))


torch.manual_seed(100 + rank)  # ranks start different; DDP copies rank 0's
model = Net()
torch.manual_seed(100)
reference = Net()
ddp = DDP(model)
for p, q in zip(model.parameters(), reference.parameters()):
    assert torch.equal(p, q)
assert list(ddp.state_dict())[0] == "module.fc1.weight"
opt = torch.optim.Adam(ddp.parameters(), lr=0.01)
g = torch.Generator().manual_seed(0)
for step in range(5):
    x = torch.randn(8, 5, generator=g)
    opt.zero_grad()
    ddp(x[4 * rank:4 * rank + 4]).pow(2).mean().backward()
    opt.step()
# Each rank's last training forward updated its running stats from its own rows...
stats = [torch.zeros(8), torch.zeros(8)]
dist.all_gather(stats, model.bn.running_mean)
assert not torch.equal(stats[0], stats[1])
# ...and the next forward starts from rank 0's (broadcast_buffers).
ddp.eval()
ddp(x)
dist.all_gather(stats, model.bn.running_mean)
assert torch.equal(stats[0], stats[1])
ddp.train()
g = torch.Generator().manual_seed(1)

# Exact equivalence without BatchNorm: 20 SGD steps of an MLP.
torch.manual_seed(7 + rank)
mlp = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 2))
torch.manual_seed(7)
ref = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 2))
dist._DEFAULT_FIRST_BUCKET_BYTES = 64
dmlp = DDP(mlp, bucket_cap_mb=0.0005)  # several buckets
dist._DEFAULT_FIRST_BUCKET_BYTES = 1024 * 1024
assert len(dmlp.reducer.bucket_indices()) > 1
opt = torch.optim.SGD(dmlp.parameters(), lr=0.1, momentum=0.9)
ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
for step in range(20):
    x = torch.randn(8, 5, generator=g)
    y = torch.randn(8, 2, generator=g)
    opt.zero_grad()
    F.mse_loss(dmlp(x[4 * rank:4 * rank + 4]), y[4 * rank:4 * rank + 4]).backward()
    opt.step()
    ref_opt.zero_grad()
    F.mse_loss(ref(x), y).backward()
    ref_opt.step()
for p, q in zip(mlp.parameters(), ref.parameters()):
    err = (p - q).abs().max().item() / q.abs().max().item()
    assert err <= 1e-6, err

# no_sync: accumulate one micro-batch locally, sync on the second.
x = torch.randn(8, 5, generator=g)
y = torch.randn(8, 2, generator=g)
opt.zero_grad()
with dmlp.no_sync():
    F.mse_loss(dmlp(x[2 * rank:2 * rank + 2]), y[2 * rank:2 * rank + 2]).backward()
F.mse_loss(dmlp(x[4 + 2 * rank:6 + 2 * rank]), y[4 + 2 * rank:6 + 2 * rank]).backward()
ref.zero_grad()
loss = sum(F.mse_loss(ref(x[a:a + 2]), y[a:a + 2]) for a in (0, 2, 4, 6)) / 2
loss.backward()
for p, q in zip(mlp.parameters(), ref.parameters()):
    assert (p.grad - q.grad).abs().max().item() <= 1e-6 * q.grad.abs().max().item(), "no_sync"

# An unused submodule: named in the error; find_unused_parameters=True trains on.
class WithUnused(nn.Module):
    def __init__(self):
        super().__init__()
        self.used = nn.Linear(5, 2)
        self.unused = nn.Linear(5, 2)

    def forward(self, x):
        return self.used(x)


strict = DDP(WithUnused())
try:
    strict(x).sum().backward()
    raise SystemExit("an unused parameter was not reported")
except RuntimeError as e:
    assert "unused.weight" in str(e) and "find_unused_parameters" in str(e), e
loose = DDP(WithUnused(), find_unused_parameters=True)
loose(x).sum().backward()
assert loose.module.unused.weight.grad is None and loose.module.used.weight.grad is not None

# A different model on rank 1 is refused on every rank.
try:
    DDP(nn.Linear(5, 3 if rank == 0 else 4))
    raise SystemExit("different models were accepted")
except RuntimeError as e:
    assert "same model across all ranks" in str(e), e

# DistributedSampler + DataLoader: the ranks' shares partition the data set.
ds = TensorDataset(torch.arange(10))
sampler = DistributedSampler(ds, shuffle=True, seed=3)
sampler.set_epoch(1)
mine = [int(v) for (b,) in DataLoader(ds, batch_size=2, sampler=sampler) for v in b]
everyone = [None, None]
dist.all_gather_object(everyone, mine)
assert len(mine) == 5 and sorted(everyone[0] + everyone[1]) == list(range(10)), everyone

print(f"rank {rank} OK", flush=True)
dist.destroy_process_group()
