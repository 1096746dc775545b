"""``ember.distributed``, ``DistributedDataParallel`` and ``DistributedSampler``. The
multi-process checks run scripts in ``distributed/`` under ``mpirun -np 2`` (the test command
builds the extension with MPI and installs Open MPI; ``EMBER_REQUIRE_MPI=1`` makes a missing
MPI a failure instead of a skip)."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ember as torch
import ember.distributed as dist
from ember.utils.data import DistributedSampler

HERE = Path(__file__).parent / "distributed"
HAVE_MPI = dist.is_mpi_available() and shutil.which("mpirun") is not None
if not HAVE_MPI and os.environ.get("EMBER_REQUIRE_MPI") == "1":
    raise RuntimeError("EMBER_REQUIRE_MPI=1 but the extension was built without MPI or mpirun is missing")
needs_mpi = pytest.mark.skipif(not HAVE_MPI, reason="needs the extension built with MPI, and mpirun")


def mpirun(*args, np=2, timeout=120):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
    cmd = ["mpirun", "--oversubscribe", "-np", str(np), sys.executable, *map(str, args)]
    start = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    return r, time.monotonic() - start


@needs_mpi
def test_collectives_ddp_and_sampler_across_two_processes():
    r, _ = mpirun(HERE / "ddp_check.py")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "rank 0 OK" in out and "rank 1 OK" in out, out


@needs_mpi
def test_a_torch_ddp_program_runs_unchanged(tmp_path):
    r, _ = mpirun("-m", "ember.compat", HERE / "torch_ddp_example.py", tmp_path / "model.checkpoint")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    sums = {line.split("checksum ")[1] for line in out.splitlines() if "replicas agree" in line}
    assert len(sums) == 1 and out.count("replicas agree") == 2, out


@needs_mpi
def test_a_failing_rank_ends_the_job_with_its_error():
    r, took = mpirun(HERE / "fail_rank.py", timeout=60)
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert took < 30, (took, out)
    assert "rank 1 gives up" in out and "rank 1 failed with RuntimeError" in out, out


@needs_mpi
def test_without_a_launcher_the_world_is_one_process():
    code = ("import ember as torch, ember.distributed as dist\n"
            "dist.init_process_group('gloo')\n"
            "t = torch.tensor([2.0, 3.0]); dist.all_reduce(t)\n"
            "print(dist.get_rank(), dist.get_world_size(), t.tolist(), dist.is_initialized())\n"
            "dist.destroy_process_group(); print(dist.is_initialized())\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:2] == ["0 1 [2.0, 3.0] True", "False"], r.stdout


def test_errors_before_init_and_for_unknown_backends():
    assert dist.is_available() and not dist.is_nccl_available()
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.all_reduce(torch.ones(2))
    with pytest.raises(NotImplementedError, match="CPUs"):
        dist.init_process_group("nccl")
    with pytest.raises(ValueError, match="Invalid backend"):
        dist.init_process_group("carrier-pigeon")
    assert not dist.is_initialized()
    with pytest.raises(RuntimeError, match="Requires distributed package"):
        DistributedSampler(range(4))
    assert dist.ReduceOp.SUM.name == "SUM" and dist.Backend("GLOO") == "gloo"


def shares(n, replicas, **kw):
    return [list(DistributedSampler(range(n), num_replicas=replicas, rank=r, **kw)) for r in range(replicas)]


def test_distributed_sampler_partitions_and_pads_like_torch():
    # Without shuffling, rank r takes every replicas-th index from r, padded from the start.
    assert shares(10, 3, shuffle=False) == [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]
    assert shares(10, 3, shuffle=False, drop_last=True) == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]
    assert [len(DistributedSampler(range(10), 3, r, drop_last=True)) for r in range(3)] == [3, 3, 3]
    # Padding longer than the data set repeats it.
    assert shares(2, 5, shuffle=False) == [[0], [1], [0], [1], [0]]
    # Shuffled: a permutation shared by every rank, so the shares are disjoint and complete.
    parts = shares(12, 4, seed=5)
    assert sorted(sum(parts, [])) == list(range(12))
    assert parts == shares(12, 4, seed=5)
    assert parts != shares(12, 4, seed=6)
    s = DistributedSampler(range(12), 4, 1, seed=5)
    first = list(s)
    s.set_epoch(3)
    assert list(s) != first
    s.set_epoch(0)
    assert list(s) == first
    with pytest.raises(ValueError, match=r"Invalid rank 4, rank should be in the interval \[0, 3\]"):
        DistributedSampler(range(12), 4, 4)


def test_post_accumulate_grad_hooks_see_the_accumulated_grad():
    w = torch.nn.Parameter(torch.ones(2))
    seen = []
    h = w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.tolist()))
    (w * 3).sum().backward()
    (w * 2).sum().backward()
    h.remove()
    (w * 2).sum().backward()
    assert seen == [[3.0, 3.0], [5.0, 5.0]]
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(lambda p: None)
