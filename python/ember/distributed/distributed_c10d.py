"""The functions of ``torch.distributed.distributed_c10d``: the default group, subgroups,
collectives and the object collectives (pickled, as torch's: only between this job's ranks)."""

import atexit
import enum
import io
import os
import pickle
import sys

from .. import _C

_d = _C._distributed

__all__ = [
    "Backend", "GroupMember", "ProcessGroup", "ReduceOp", "Work", "all_gather", "all_gather_into_tensor",
    "all_gather_object", "all_reduce", "barrier", "broadcast", "broadcast_object_list", "destroy_process_group",
    "gather", "gather_object", "get_backend", "get_global_rank", "get_group_rank", "get_process_group_ranks",
    "get_rank", "get_world_size", "group", "init_process_group", "irecv", "is_available", "is_gloo_available",
    "is_initialized", "is_mpi_available", "is_nccl_available", "is_torchelastic_launched", "isend", "monitored_barrier",
    "new_group", "recv", "reduce", "reduce_op", "reduce_scatter", "reduce_scatter_tensor", "scatter", "send",
]

ProcessGroup = _d.ProcessGroup
Work = _d.Work


class ReduceOp(enum.Enum):
    """How reductions combine the ranks' tensors (``dist.ReduceOp.SUM``, ...)."""

    SUM = "SUM"
    AVG = "AVG"
    PRODUCT = "PRODUCT"
    MIN = "MIN"
    MAX = "MAX"

    def __repr__(self):
        return f"<RedOpType.{self.name}: {list(ReduceOp).index(self)}>"


reduce_op = ReduceOp


class Backend(str):
    """Backend names; ``gloo`` and ``mpi`` are both served by MPI here."""

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    UCC = "ucc"
    MPI = "mpi"

    def __new__(cls, name):
        if not isinstance(name, str):
            raise ValueError(f"Backend constructor parameter must be string-ish, but got: {type(name)}")
        return super().__new__(cls, name.lower())


class GroupMember:
    """``WORLD`` (the default group, once started) and the sentinel non-members get from
    ``new_group``."""

    WORLD = None
    NON_GROUP_MEMBER = object()


group = GroupMember


def is_available():
    return True


def is_mpi_available():
    return bool(_d.HAS_MPI)


def is_gloo_available():
    return bool(_d.HAS_MPI)


def is_nccl_available():
    return False


def is_torchelastic_launched():
    return False


def is_initialized():
    return GroupMember.WORLD is not None


def _world():
    if GroupMember.WORLD is None:
        raise ValueError("Default process group has not been initialized, please make sure to call init_process_group.")
    return GroupMember.WORLD


def _group(g):
    return _world() if g is None else g


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name="", pg_options=None, device_id=None):
    """Starts the default group. Rank and size come from the launcher (``mpirun``);
    ``world_size``/``rank``, when given, must agree with it. ``timeout`` (a ``timedelta``) bounds
    every collective's wait, so a rank that died ends the others with an error."""
    if GroupMember.WORLD is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if store is not None:
        raise NotImplementedError("ember.distributed starts its ranks with MPI; a Store is not used")
    name = "mpi" if backend is None else str(backend)
    ws = None if world_size in (None, -1) else int(world_size)
    r = None if rank in (None, -1) else int(rank)
    GroupMember.WORLD = _d.init_process_group(name, timeout, ws, r)
    atexit.register(destroy_process_group)
    _abort_on_uncaught_exception()


def _abort_on_uncaught_exception():
    """An uncaught exception on one rank must end the whole job: the other ranks may be waiting
    in a collective this rank will never join, and finalising MPI at exit would wait for them in
    turn. So after printing the traceback the process exits at once, with status 1, without
    finalising; the launcher sees it and ends the job on every rank."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        previous(kind, value, tb)
        if GroupMember.WORLD is not None:
            rank = GroupMember.WORLD.rank()
            print(f"ember.distributed: rank {rank} failed with {kind.__name__}; ending the job", file=sys.stderr)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(1)

    sys.excepthook = hook


def destroy_process_group(group=None):
    """Ends the default group (or forgets a subgroup). MPI cannot be restarted in this process."""
    if group is None or group is GroupMember.WORLD:
        if GroupMember.WORLD is not None:
            GroupMember.WORLD = None
            _d.destroy_process_group()


def get_rank(group=None):
    g = _group(group)
    if g is GroupMember.NON_GROUP_MEMBER:
        return -1
    return g.rank()


def get_world_size(group=None):
    g = _group(group)
    if g is GroupMember.NON_GROUP_MEMBER:
        return -1
    return g.size()


def get_backend(group=None):
    return Backend(_group(group).name())


def get_process_group_ranks(group):
    return list(_group(group).world_ranks())


def get_global_rank(group, group_rank):
    return _group(group).world_ranks()[group_rank]


def get_group_rank(group, global_rank):
    ranks = _group(group).world_ranks()
    if global_rank not in ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {group}")
    return ranks.index(global_rank)


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization=False,
              group_desc=None, device_id=None):
    """A subgroup of the given global ranks (all by default). Every rank must call it;
    non-members get ``GroupMember.NON_GROUP_MEMBER``."""
    world = _world()
    ranks = sorted(range(world.size()) if ranks is None else ranks)
    for r in ranks:
        if not 0 <= r < world.size():
            raise ValueError(f"Invalid rank {r}: the world has {world.size()} ranks")
    sub = world.new_group(ranks)
    return GroupMember.NON_GROUP_MEMBER if sub is None else sub


def _op(op):
    if isinstance(op, ReduceOp):
        return op.value
    if isinstance(op, str) and op.upper() in ReduceOp.__members__:
        return op.upper()
    raise ValueError(f"unsupported reduce op {op!r}")


def _peer(g, rank, group_rank, what):
    if group_rank is not None:
        return group_rank
    if rank is None:
        raise ValueError(f"{what} must be given")
    return get_group_rank(g, rank) if g is not GroupMember.WORLD else rank


def _finish(work, async_op):
    if async_op:
        return work
    work.wait()
    return None


def _member(g):
    return g is not GroupMember.NON_GROUP_MEMBER


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    g = _group(group)
    if not _member(g):
        return None
    return _finish(g.allreduce(tensor, _op(op)), async_op)


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    g = _group(group)
    if not _member(g):
        return None
    return _finish(g.broadcast(tensor, _peer(g, src, group_src, "src")), async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    g = _group(group)
    if not _member(g):
        return None
    return _finish(g.allgather(list(tensor_list), tensor), async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """``output_tensor`` receives every rank's input, rank by rank along dim 0 (or stacked)."""
    g = _group(group)
    if not _member(g):
        return None
    n = g.size()
    if output_tensor.numel() != n * input_tensor.numel():
        raise ValueError(
            f"output tensor size must be equal to world_size times input tensor size "
            f"({output_tensor.numel()} != {n} * {input_tensor.numel()})")
    parts = list(output_tensor.reshape(n, *input_tensor.shape).unbind(0))
    return _finish(g.allgather(parts, input_tensor), async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    g = _group(group)
    if not _member(g):
        return None
    return _finish(g.reduce_scatter(output, list(input_list), _op(op)), async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    g = _group(group)
    if not _member(g):
        return None
    n = g.size()
    if input.numel() != n * output.numel():
        raise ValueError(
            f"input tensor must be the same size as output size times world size "
            f"({input.numel()} != {n} * {output.numel()})")
    parts = [p.contiguous() for p in input.reshape(n, *output.shape).unbind(0)]
    return _finish(g.reduce_scatter(output, parts, _op(op)), async_op)


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    g = _group(group)
    if not _member(g):
        return None
    return _finish(g.reduce(tensor, _peer(g, dst, group_dst, "dst"), _op(op)), async_op)


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    g = _group(group)
    if not _member(g):
        return None
    d = _peer(g, 0 if dst is None and group_dst is None else dst, group_dst, "dst")
    return _finish(g.gather(tensor, list(gather_list or []), d), async_op)


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    g = _group(group)
    if not _member(g):
        return None
    s = _peer(g, 0 if src is None and group_src is None else src, group_src, "src")
    return _finish(g.scatter(tensor, list(scatter_list or []), s), async_op)


def barrier(group=None, async_op=False, device_ids=None):
    g = _group(group)
    if not _member(g):
        return None
    return _finish(g.barrier(), async_op)


def monitored_barrier(group=None, timeout=None, wait_all_ranks=False):
    work = _group(group).barrier()
    if timeout is None:
        work.wait()
    else:
        work.wait(timeout)


def isend(tensor, dst=None, group=None, tag=0, group_dst=None):
    g = _group(group)
    return g.send(tensor, _peer(g, dst, group_dst, "dst"), tag)


def irecv(tensor, src=None, group=None, tag=0, group_src=None):
    g = _group(group)
    if src is None and group_src is None:
        raise NotImplementedError("receiving from any source is not supported; pass src")
    return g.recv(tensor, _peer(g, src, group_src, "src"), tag)


def send(tensor, dst=None, group=None, tag=0, group_dst=None):
    isend(tensor, dst, group, tag, group_dst).wait()


def recv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receives into ``tensor``; returns the sender's rank."""
    irecv(tensor, src, group, tag, group_src).wait()
    g = _group(group)
    return src if src is not None else get_global_rank(g, group_src)


# ---- object collectives: pickled bytes between the ranks of this job -------------------------

def _to_bytes_tensor(obj):
    from .. import tensor, uint8
    buf = io.BytesIO()
    pickle.Pickler(buf).dump(obj)
    data = buf.getvalue()
    return tensor(list(data), dtype=uint8), len(data)


def _from_bytes(t, n):
    return pickle.loads(bytes(t[:n].tolist()))


def _sizes(g, n):
    from .. import tensor, zeros, int64
    sizes = [zeros(1, dtype=int64) for _ in range(g.size())]
    g.allgather(sizes, tensor([n], dtype=int64)).wait()
    return [int(s.item()) for s in sizes]


def all_gather_object(object_list, obj, group=None):
    """``object_list[r]`` receives rank ``r``'s ``obj`` (pickled, as torch does)."""
    from .. import zeros, uint8
    g = _group(group)
    t, n = _to_bytes_tensor(obj)
    sizes = _sizes(g, n)
    width = max(sizes)
    padded = zeros(width, dtype=uint8)
    padded[:n] = t
    outs = [zeros(width, dtype=uint8) for _ in sizes]
    g.allgather(outs, padded).wait()
    for r, (o, s) in enumerate(zip(outs, sizes)):
        object_list[r] = _from_bytes(o, s)


def gather_object(obj, object_gather_list=None, dst=None, group=None):
    g = _group(group)
    gathered = [None] * g.size()
    all_gather_object(gathered, obj, group)
    d = 0 if dst is None else dst
    if get_rank(group) == d and object_gather_list is not None:
        object_gather_list[:] = gathered


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """Every rank's ``object_list`` becomes rank ``src``'s."""
    from .. import zeros, uint8, tensor, int64
    g = _group(group)
    s = _peer(g, 0 if src is None and group_src is None else src, group_src, "src")
    if g.rank() == s:
        t, n = _to_bytes_tensor(list(object_list))
    else:
        t, n = None, 0
    size = tensor([n], dtype=int64)
    g.broadcast(size, s).wait()
    n = int(size.item())
    if t is None:
        t = zeros(n, dtype=uint8)
    g.broadcast(t, s).wait()
    object_list[:] = _from_bytes(t, n)
