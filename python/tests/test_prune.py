"""``ember.nn.utils.prune`` against torch's documented semantics, with expected masks computed
here from the definitions (magnitudes and norms ranked with NumPy)."""

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.nn.utils import prune

W = np.array([[0.5, -0.1, 0.9, -0.3],
              [0.05, 0.7, -0.6, 0.2],
              [-0.8, 0.15, 0.35, -0.45]], dtype=np.float32)


def linear():
    m = nn.Linear(4, 3)
    with ember.no_grad():
        m.weight.copy_(ember.tensor(W))
        m.bias.copy_(ember.tensor([0.3, -0.2, 0.1]))
    return m


def smallest(values, k):
    """A 0/1 mask keeping all but the k entries of smallest |value| (the values are distinct)."""
    mask = np.ones(values.size, np.float32)
    mask[np.argsort(np.abs(values).reshape(-1))[:k]] = 0
    return mask.reshape(values.shape)


def test_l1_unstructured_reparametrises_the_weight():
    m = linear()
    prune.l1_unstructured(m, "weight", amount=0.5)
    want = smallest(W, 6)  # round(0.5 * 12)
    np.testing.assert_array_equal(m.weight_mask.numpy(), want)
    np.testing.assert_allclose(m.weight.detach().numpy(), W * want)
    assert list(m.state_dict()) == ["bias", "weight_orig", "weight_mask"]
    assert [n for n, _ in m.named_parameters()] == ["bias", "weight_orig"]
    assert [n for n, _ in m.named_buffers()] == ["weight_mask"]
    assert prune.is_pruned(m) and not prune.is_pruned(nn.Linear(2, 2))
    # The forward reads orig * mask, so pruned entries get no gradient.
    m(ember.ones(2, 4)).sum().backward()
    np.testing.assert_allclose(m.weight_orig.grad.numpy(), 2 * want)
    # The hook recomputes the weight from weight_orig before each call.
    with ember.no_grad():
        m.weight_orig.mul_(2)
    out = m(ember.ones(1, 4))
    np.testing.assert_allclose(out.detach().numpy()[0], (2 * W * want).sum(1) + [0.3, -0.2, 0.1], atol=1e-6)


def test_pruning_again_ranks_only_the_kept_entries():
    m = linear()
    prune.l1_unstructured(m, "weight", amount=4)
    prune.l1_unstructured(m, "weight", amount=2)
    first = smallest(W, 4)
    kept = np.where(first.reshape(-1) == 1)[0]
    second = first.reshape(-1).copy()
    second[kept[np.argsort(np.abs(W.reshape(-1)[kept]))[:2]]] = 0
    np.testing.assert_array_equal(m.weight_mask.numpy().reshape(-1), second)
    hooks = [h for h in m._forward_pre_hooks.values() if isinstance(h, prune.BasePruningMethod)]
    assert len(hooks) == 1 and isinstance(hooks[0], prune.PruningContainer) and len(hooks[0]) == 2


def test_ln_structured_prunes_channels():
    m = linear()
    prune.ln_structured(m, "weight", amount=1, n=2, dim=0)
    row_norms = np.linalg.norm(W, axis=1)
    want = np.ones_like(W)
    want[np.argmin(row_norms)] = 0
    np.testing.assert_array_equal(m.weight_mask.numpy(), want)
    m = linear()
    prune.ln_structured(m, "weight", amount=0.5, n=1, dim=1)  # round(0.5 * 4) columns by L1 norm
    want = np.ones_like(W)
    want[:, np.argsort(np.abs(W).sum(0))[:2]] = 0
    np.testing.assert_array_equal(m.weight_mask.numpy(), want)


def test_structured_after_a_mask_skips_pruned_channels():
    m = linear()
    mask = np.ones_like(W)
    mask[1] = 0  # row 1 (the smallest L2 norm after row ... ) is already gone
    prune.custom_from_mask(m, "weight", mask=ember.tensor(mask))
    prune.ln_structured(m, "weight", amount=1, n=2, dim=0)
    # Among the rows still kept (0 and 2), the one of smaller norm goes too.
    norms = np.linalg.norm(W, axis=1)
    want = mask.copy()
    want[0 if norms[0] < norms[2] else 2] = 0
    np.testing.assert_array_equal(m.weight_mask.numpy(), want)


def test_importance_scores_rank_instead_of_the_weights():
    m = linear()
    scores = ember.tensor(np.arange(12, dtype=np.float32).reshape(3, 4))
    prune.l1_unstructured(m, "weight", amount=3, importance_scores=scores)
    want = np.ones(12, np.float32)
    want[:3] = 0
    np.testing.assert_array_equal(m.weight_mask.numpy().reshape(-1), want)
    with pytest.raises(AssertionError, match="same shape"):
        prune.l1_unstructured(linear(), "weight", amount=1, importance_scores=ember.ones(2, 2))


def test_global_unstructured_ranks_all_tensors_together():
    a, b = linear(), nn.Linear(2, 2)
    with ember.no_grad():
        b.weight.copy_(ember.tensor([[0.01, 2.0], [-0.02, 0.25]]))
    prune.global_unstructured([(a, "weight"), (b, "weight")], pruning_method=prune.L1Unstructured, amount=5)
    both = np.concatenate([W.reshape(-1), np.array([0.01, 2.0, -0.02, 0.25], np.float32)])
    want = smallest(both, 5)
    np.testing.assert_array_equal(a.weight_mask.numpy().reshape(-1), want[:12])
    np.testing.assert_array_equal(b.weight_mask.numpy().reshape(-1), want[12:])
    with pytest.raises(TypeError, match="unstructured"):
        prune.global_unstructured([(a, "bias")], pruning_method=prune.LnStructured, amount=1, n=2, dim=0)


def test_random_methods_prune_the_asked_amount():
    ember.manual_seed(0)
    m = linear()
    prune.random_unstructured(m, "weight", amount=0.25)
    assert int((m.weight_mask == 0).sum()) == 3
    prune.random_structured(m, "weight", amount=2, dim=1)
    mask = m.weight_mask.numpy()
    assert (mask.sum(0) == 0).sum() >= 2  # two whole columns gone (maybe more, from the first pass)
    assert ((mask == 0) | (W != 0)).all()


def test_remove_makes_it_permanent():
    m = linear()
    prune.l1_unstructured(m, "weight", amount=6)
    pruned = m.weight.detach().numpy().copy()
    prune.remove(m, "weight")
    assert isinstance(m.weight, nn.Parameter) and not prune.is_pruned(m)
    assert list(m.state_dict()) == ["bias", "weight"]
    np.testing.assert_array_equal(m.weight.detach().numpy(), pruned)
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        prune.remove(m, "weight")


def test_identity_and_state_dict_round_trip():
    a, b = linear(), nn.Linear(4, 3)
    prune.identity(a, "weight")
    np.testing.assert_array_equal(a.weight_mask.numpy(), np.ones_like(W))
    prune.l1_unstructured(a, "weight", amount=3)
    prune.identity(b, "weight")
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(b(ember.ones(1, 4)).detach().numpy(), a(ember.ones(1, 4)).detach().numpy())


def test_bad_amounts_and_shapes_are_errors_and_leave_the_module_as_it_was():
    with pytest.raises(ValueError, match="should either be a float in the range"):
        prune.l1_unstructured(linear(), "weight", amount=1.5)
    with pytest.raises(TypeError, match="Invalid type for amount"):
        prune.l1_unstructured(linear(), "weight", amount="half")
    m = linear()
    with pytest.raises(ValueError, match="should be smaller than the number of parameters"):
        prune.l1_unstructured(m, "weight", amount=13)
    # As torch, the weight is registered again (after the bias).
    assert [n for n, _ in m.named_parameters()] == ["bias", "weight"] and not prune.is_pruned(m)
    with pytest.raises(ValueError, match="multidimensional"):
        prune.ln_structured(linear(), "bias", amount=1, n=2, dim=0)
    with pytest.raises(IndexError, match="Invalid index 2"):
        prune.ln_structured(linear(), "weight", amount=1, n=2, dim=2)
