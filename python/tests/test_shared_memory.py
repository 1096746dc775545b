"""Shared memory: ``share_memory_`` moves a storage in place (views follow), processes started
afterwards with fork, spawn or forkserver write the same memory, and Hogwild-style training
(``model.share_memory()``, an optimizer per process) updates the parent's parameters."""

import multiprocessing

import pytest

import ember as torch
import ember.multiprocessing as mp


def _bump(rank, t, q):
    t[rank] += 10 + rank
    q.put(torch.full((2,), float(rank)))  # not shared: travels by value


def _train(model, steps):
    opt = torch.optim.SGD(model.parameters(), lr=0.25)
    for _ in range(steps):
        opt.zero_grad()
        (model.weight.sum() + 2 * model.bias.sum()).backward()
        opt.step()


def test_share_memory_moves_the_storage_in_place():
    t = torch.arange(6.0)
    v = t[2:].view(2, 2)
    before = t.data_ptr()
    assert not t.is_shared()
    assert t.share_memory_() is t
    assert t.is_shared() and v.is_shared() and t.untyped_storage().is_shared()
    assert t.data_ptr() != before
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    v[1, 1] = 50.0  # views still alias the (moved) storage
    assert t[5].item() == 50.0
    assert t.share_memory_().data_ptr() == t.data_ptr()  # already shared: no move
    b = torch.tensor([True, False, True]).share_memory_()
    assert b.is_shared() and b.tolist() == [True, False, True]
    e = torch.zeros(0).share_memory_()
    assert e.numel() == 0


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_children_write_the_parents_tensor(method):
    t = torch.zeros(4)
    view = t[1:]
    t.share_memory_()
    ctx = mp.get_context(method)
    q = ctx.Queue()
    procs = [ctx.Process(target=_bump, args=(r, t, q)) for r in range(3)]
    for p in procs:
        p.start()
    got = sorted(q.get(timeout=60).tolist()[0] for _ in procs)
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert t.tolist() == [10.0, 11.0, 12.0, 0.0]
    assert view.tolist() == [11.0, 12.0, 0.0]
    assert got == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_hogwild_updates_reach_the_parent(method):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    model.share_memory()
    assert all(p.is_shared() for p in model.parameters())
    w0, b0 = model.weight.detach().clone(), model.bias.detach().clone()
    ctx = mp.get_context(method)
    for _ in range(2):  # one after the other, so no update can race another
        p = ctx.Process(target=_train, args=(model, 3))
        p.start()
        p.join(60)
        assert p.exitcode == 0
    # d/dw of sum(w) + 2 sum(b) is 1 for w and 2 for b: six steps of lr 0.25.
    w, b = w0.clone(), b0.clone()
    for _ in range(6):
        w -= 0.25
        b -= 0.5
    assert model.weight.detach().tolist() == w.tolist()
    assert model.bias.detach().tolist() == b.tolist()


def test_non_leaf_tensors_requiring_grad_are_refused():
    x = torch.ones(2, requires_grad=True) * 2
    q = multiprocessing.get_context("spawn").Queue()
    with pytest.raises(RuntimeError, match="Cowardly refusing"):
        from multiprocessing.reduction import ForkingPickler
        ForkingPickler.dumps(x)
    q.close()
