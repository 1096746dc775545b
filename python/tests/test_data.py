"""ember.utils.data: datasets, samplers, default_collate on nested structures, DataLoader
batching and ordering (reproducible with a seeded generator), worker processes (results in
order, per-worker seeds and get_worker_info, worker_init_fn, iterable datasets sharded by the
worker, persistent workers, errors carried to the main process) and argument checks."""

import collections
import os
import random

import numpy as np
import pytest

import ember as torch
from ember.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset, RandomSampler,
                              SequentialSampler, Subset, SubsetRandomSampler, TensorDataset, WeightedRandomSampler,
                              default_collate, get_worker_info, random_split)

Point = collections.namedtuple("Point", "x y")


class Squares(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        info = get_worker_info()
        return {"i": i, "sq": torch.tensor([float(i * i)]), "worker": -1 if info is None else info.id,
                "pid": os.getpid()}


class Counting(IterableDataset):
    """Each worker yields its own share (as torch's docs show for iterable datasets)."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        lo, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(lo, self.n, step))

    def __len__(self):
        return self.n


def test_tensor_dataset_batches_in_order():
    ds = TensorDataset(torch.arange(10.).reshape(5, 2), torch.arange(5))
    batches = list(DataLoader(ds, batch_size=2))
    assert [b[1].tolist() for b in batches] == [[0, 1], [2, 3], [4]]
    assert batches[0][0].shape == torch.Size([2, 2])
    assert len(DataLoader(ds, batch_size=2)) == 3 and len(DataLoader(ds, batch_size=2, drop_last=True)) == 2


def test_shuffle_is_a_permutation_and_reproducible_with_a_generator():
    ds = TensorDataset(torch.arange(50))

    def order(seed):
        g = torch.Generator()
        g.manual_seed(seed)
        return [v for (b,) in DataLoader(ds, batch_size=7, shuffle=True, generator=g) for v in b.tolist()]

    a, b, c = order(1), order(1), order(2)
    assert sorted(a) == list(range(50)) and a == b and a != c and a != list(range(50))
    torch.manual_seed(5)
    d = [v for (b,) in DataLoader(ds, batch_size=50, shuffle=True) for v in b.tolist()]
    torch.manual_seed(5)
    e = [v for (b,) in DataLoader(ds, batch_size=50, shuffle=True) for v in b.tolist()]
    assert d == e


def test_default_collate_nested_structures():
    batch = [{"a": torch.tensor([1.0, 2.0]), "b": (3, "x"), "c": [np.float32(0.5), np.array([1, 2])],
              "p": Point(1.5, True)},
             {"a": torch.tensor([3.0, 4.0]), "b": (4, "y"), "c": [np.float32(1.5), np.array([3, 4])],
              "p": Point(2.5, False)}]
    out = default_collate(batch)
    assert out["a"].tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert out["b"][0].tolist() == [3, 4] and out["b"][0].dtype == torch.int64 and out["b"][1] == ("x", "y")
    assert isinstance(out["b"], list)
    assert out["c"][0].dtype == torch.float32 and out["c"][1].tolist() == [[1, 2], [3, 4]]
    assert isinstance(out["p"], Point) and out["p"].x.dtype == torch.float64 and out["p"].y.tolist() == [True, False]
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([object(), object()])


def test_batch_size_none_and_custom_collate():
    ds = TensorDataset(torch.arange(3))
    assert [x[0].item() for x in DataLoader(ds, batch_size=None)] == [0, 1, 2]
    got = list(DataLoader(range(5), batch_size=2, collate_fn=lambda b: sum(b)))
    assert got == [1, 5, 4]


def test_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    g = torch.Generator()
    g.manual_seed(0)
    r = list(RandomSampler(range(6), generator=g))
    assert sorted(r) == list(range(6))
    with_repl = list(RandomSampler(range(3), replacement=True, num_samples=40, generator=g))
    assert len(with_repl) == 40 and set(with_repl) <= {0, 1, 2}
    assert sorted(SubsetRandomSampler([5, 7, 9], generator=g)) == [5, 7, 9]
    w = list(WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 200, generator=g))
    assert set(w) <= {1, 3} and w.count(3) > w.count(1)
    assert list(BatchSampler(range(5), 2, drop_last=False)) == [[0, 1], [2, 3], [4]]
    assert list(BatchSampler(range(5), 2, drop_last=True)) == [[0, 1], [2, 3]]
    loader = DataLoader(range(6), batch_sampler=BatchSampler(SequentialSampler(range(6)), 4, False))
    assert [b.tolist() for b in loader] == [[0, 1, 2, 3], [4, 5]]


def test_dataset_combinators_and_random_split():
    a, b = TensorDataset(torch.arange(3)), TensorDataset(torch.arange(10, 12))
    cat = ConcatDataset([a, b])
    assert len(cat) == 5 and cat[3][0].item() == 10 and cat[-1][0].item() == 11
    assert (a + b)[4][0].item() == 11
    sub = Subset(a, [2, 0])
    assert [sub[i][0].item() for i in range(2)] == [2, 0]
    g = torch.Generator()
    g.manual_seed(3)
    parts = random_split(range(10), [0.7, 0.3], generator=g)
    assert [len(p) for p in parts] == [7, 3] and sorted(list(parts[0]) + list(parts[1])) == list(range(10))
    g.manual_seed(3)
    again = random_split(range(10), [7, 3], generator=g)
    assert list(again[0]) == list(parts[0])
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(range(10), [3, 3])


def test_argument_checks_match_torch():
    ds = TensorDataset(torch.arange(4))
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(ds, sampler=SequentialSampler(ds), shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_size=2, batch_sampler=BatchSampler(range(4), 2, False))
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="persistent_workers option needs num_workers > 0"):
        DataLoader(ds, persistent_workers=True)
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Counting(3), shuffle=True)


def test_workers_keep_order_and_see_worker_info():
    batches = list(DataLoader(Squares(), batch_size=2, num_workers=2))
    assert [b["i"].tolist() for b in batches] == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]
    assert [b["worker"].tolist() for b in batches] == [[0, 0], [1, 1], [0, 0], [1, 1], [0, 0]]
    assert batches[0]["sq"].tolist() == [[0.0], [1.0]]
    pids = {p for b in batches for p in b["pid"].tolist()}
    assert len(pids) == 2 and os.getpid() not in pids


def test_worker_seeds_and_init_fn():
    def init(worker_id):
        info = get_worker_info()
        assert info.id == worker_id and info.num_workers == 2

    class Draws(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            info = get_worker_info()
            return torch.tensor(info.seed), torch.tensor([random.random(), torch.rand(1).item()])

    def run(seed):
        g = torch.Generator()
        g.manual_seed(seed)
        return [(s.item(), d.tolist()) for s, d in DataLoader(Draws(), batch_size=1, num_workers=2,
                                                                worker_init_fn=init, generator=g)]

    a, b = run(7), run(7)
    assert a == b
    seeds = [s for s, _ in a]
    assert seeds[1] - seeds[0] == 1 and seeds[0] == seeds[2]
    assert a[0][1] != a[1][1]


def test_iterable_dataset_with_workers():
    got = sorted(v for b in DataLoader(Counting(9), batch_size=2, num_workers=2) for v in b.tolist())
    assert got == list(range(9))
    single = [b.tolist() for b in DataLoader(Counting(5), batch_size=2)]
    assert single == [[0, 1], [2, 3], [4]]
    assert [b.tolist() for b in DataLoader(Counting(5), batch_size=2, drop_last=True)] == [[0, 1], [2, 3]]


def test_persistent_workers_reused_across_epochs():
    loader = DataLoader(Squares(), batch_size=5, num_workers=2, persistent_workers=True)
    first = [b["pid"].tolist() for b in loader]
    second = [b["pid"].tolist() for b in loader]
    assert [b["i"].tolist() for b in loader] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    assert first == second


class Failing(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 2:
            raise ValueError("bad sample 2")
        return i


def test_breaking_out_of_a_loop_with_workers_does_not_wait_for_them():
    # Each worker has batches of a few MB queued (more than a pipe holds) when the loop stops;
    # the workers must exit without flushing them (they used to block until terminated, 5 s each).
    import time

    class Big(Dataset):
        def __len__(self):
            return 64

        def __getitem__(self, i):
            return torch.full((256, 1024), float(i))

    import gc
    gc.collect()  # earlier tests' loaders are shut down here, outside the timed part
    it = iter(DataLoader(Big(), batch_size=4, num_workers=2, prefetch_factor=4))
    first = next(it)
    assert first.shape == (4, 256, 1024)
    time.sleep(0.5)  # let the workers fill their queues
    t0 = time.perf_counter()
    del it
    gc.collect()
    assert time.perf_counter() - t0 < 3.0


def test_worker_exception_reaches_the_main_process():
    with pytest.raises(ValueError, match="Caught ValueError in DataLoader worker process"):
        list(DataLoader(Failing(), batch_size=1, num_workers=2))


class Unpicklable(Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        return lambda: i


def test_unpicklable_batch_is_an_error_not_a_hang():
    with pytest.raises(Exception, match="pickle"):
        list(DataLoader(Unpicklable(), batch_size=None, num_workers=1))


class Dies(Dataset):
    def __len__(self):
        return 3

    def __getitem__(self, i):
        os._exit(3)


def test_dead_worker_is_reported(monkeypatch):
    import ember.utils.data.dataloader as dl
    monkeypatch.setattr(dl, "_STATUS_CHECK_INTERVAL", 0.2)
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        list(DataLoader(Dies(), num_workers=1))


def test_tensor_ops_inside_workers_do_not_hang():
    class Matmuls(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            a = torch.randn(128, 128)
            return (a @ a).sum()

    # The parent's thread pool has been used before the fork.
    torch.randn(512, 512) @ torch.randn(512, 512)
    assert len(list(DataLoader(Matmuls(), batch_size=2, num_workers=2, timeout=60))) == 2
