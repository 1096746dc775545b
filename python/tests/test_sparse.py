"""``ember.sparse`` beyond the parity cases: gradients by finite differences, a GCN layer's
training step, the product against the dense one on a random graph, and bad input."""

import pytest

import ember
from ember import sparse


def graph(n=50, e=300, seed=0):
    ember.manual_seed(seed)
    idx = ember.randint(0, n, (2, e))
    return idx, ember.rand(e, dtype=ember.float64)


def test_sparse_mm_gradients_by_finite_differences():
    idx, v = graph()
    v.requires_grad_()
    d = ember.randn(50, 3, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda v, d: ember.sparse.mm(ember.sparse_coo_tensor(idx, v, (50, 50)), d), (v, d))
    assert ember.autograd.gradcheck(lambda v: ember.sparse_coo_tensor(idx, v, (50, 50)).coalesce().to_dense(), (v,))


def test_product_equals_the_dense_product():
    idx, v = graph(400, 4000, 1)
    s = ember.sparse_coo_tensor(idx, v, (400, 400))
    x = ember.randn(400, 16, dtype=ember.float64)
    assert ember.allclose(s @ x, s.to_dense() @ x)
    assert ember.allclose(x.T @ s, x.T @ s.to_dense())


def test_gcn_layer_trains():
    idx, v = graph(30, 120, 2)
    loops = ember.arange(30).repeat(2, 1)
    adj = ember.sparse_coo_tensor(ember.cat([idx, loops], 1), ember.cat([v, ember.ones(30, dtype=ember.float64)]), (30, 30)).coalesce()
    x = ember.randn(30, 8, dtype=ember.float64)
    w = (ember.randn(8, 4, dtype=ember.float64) * 0.1).requires_grad_()
    target = ember.randint(0, 4, (30,))
    losses = []
    for _ in range(30):
        logits = ember.sparse.mm(adj, x @ w)
        loss = -logits.log_softmax(1).gather(1, target[:, None]).mean()
        loss.backward()
        with ember.no_grad():
            w -= 0.5 * w.grad
            w.grad = None
        losses.append(float(loss))
    assert losses[-1] < losses[0] * 0.9


def test_bad_input_is_an_error():
    with pytest.raises(RuntimeError, match="size is inconsistent with indices"):
        ember.sparse_coo_tensor(ember.tensor([[0, 5]]), ember.tensor([1.0, 2.0]), (3,))
    with pytest.raises(RuntimeError, match="negative index"):
        ember.sparse_coo_tensor(ember.tensor([[0, -1]]), ember.tensor([1.0, 2.0]), (3,))
    s = ember.sparse_coo_tensor(ember.tensor([[0, 1], [1, 0]]), ember.tensor([1.0, 2.0]), (2, 2))
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        s @ ember.ones(3, 2)
    with pytest.raises(TypeError):
        s * ember.ones(2, 2)
    with pytest.raises(RuntimeError, match="uncoalesced"):
        ember.sparse_coo_tensor(ember.tensor([[0, 0]]), ember.tensor([1.0, 2.0]), (2,)).indices()
    assert sparse.sum(s).item() == 3.0
