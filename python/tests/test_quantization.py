"""``ember.ao.quantization.quantize_dynamic``: which modules are swapped (as torch's rules), and
the quantised products within the error that int8 rounding allows (bounds derived below)."""

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.ao.nn.quantized.dynamic import Linear as DynamicLinear
from ember.ao.quantization import default_dynamic_qconfig, quantize_dynamic


def mlp():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 8))


def test_linears_are_swapped_on_a_copy():
    model = mlp()
    q = quantize_dynamic(model, {nn.Linear}, dtype=ember.qint8)
    assert [type(m) for m in q] == [DynamicLinear, nn.ReLU, DynamicLinear]
    assert [type(m) for m in model] == [nn.Linear, nn.ReLU, nn.Linear]  # not in place
    assert not q.training and list(q.parameters()) == []
    assert repr(q[0]) == ("DynamicQuantizedLinear(in_features=64, out_features=32, dtype=torch.qint8, "
                          "qscheme=torch.per_channel_symmetric)")
    assert not hasattr(q[0], "qconfig")


def test_int8_weight_and_product_error_bounds():
    ember.manual_seed(1)
    layer = nn.Linear(96, 40)
    q = DynamicLinear.from_float(layer)
    w = layer.weight.detach().numpy().astype(np.float64)
    wq = q.weight().numpy().astype(np.float64)
    # Per-row symmetric int8: step s = max|w_row| / 127, each weight within s/2, the row's
    # largest magnitude kept exactly.
    s = np.abs(w).max(1, keepdims=True) / 127
    assert (np.abs(wq - w) <= s / 2 * (1 + 1e-6)).all()
    np.testing.assert_allclose(np.abs(wq).max(1), np.abs(w).max(1), rtol=1e-6)
    x = ember.randn(7, 96) * 3
    xs = x.numpy().astype(np.float64)
    b = layer.bias.detach().numpy()
    got = q(x).numpy().astype(np.float64)
    # Activations quantised per row with step at most max|x_row| / 127 (error <= half a step
    # each): |y - x wqᵀ| <= sum_k |wq| * step / 2 <= K max|wq_row| max|x_row| / 254.
    exact_w = xs @ wq.T + b
    bound = 96 * np.abs(xs).max(1, keepdims=True) * np.abs(wq).max(1)[None, :] / 254
    assert (np.abs(got - exact_w) <= bound * 1.01 + 1e-5).all()
    assert np.abs(got - exact_w).max() > 0  # the activations really are quantised
    # Against the float layer: both roundings together.
    exact = xs @ w.T + b
    bound = 96 * np.abs(xs).max(1, keepdims=True) * np.abs(w).max(1)[None, :] * (1 / 254 + 1 / 254 + 1 / 127 ** 2)
    assert (np.abs(got - exact) <= bound * 1.01 + 1e-5).all()


def test_batched_inputs_and_no_bias():
    q = DynamicLinear.from_float(nn.Linear(32, 16, bias=False))
    x = ember.randn(2, 3, 32)
    y = q(x)
    assert y.shape == (2, 3, 16) and q.bias() is None
    np.testing.assert_allclose(y.numpy(), q(x.reshape(6, 32)).numpy().reshape(2, 3, 16), rtol=1e-6)


def test_float16_weights():
    model = mlp()
    q = quantize_dynamic(model, {nn.Linear}, dtype=ember.float16)
    x = ember.randn(5, 64)
    w16 = model[0].weight.detach().numpy().astype(np.float16).astype(np.float32)
    want = x.numpy() @ w16.T + model[0].bias.detach().numpy()
    np.testing.assert_allclose(q[0](x).numpy(), want, rtol=1e-5, atol=1e-5)
    assert "dtype=torch.float16" in repr(q[0])


def test_spec_by_name_inplace_and_legacy_namespace():
    model = mlp()
    out = ember.quantization.quantize_dynamic(model, {"0": default_dynamic_qconfig}, inplace=True)
    assert out is model and type(model[0]) is DynamicLinear and type(model[2]) is nn.Linear
    with pytest.raises(ValueError, match="default settings"):
        quantize_dynamic(mlp(), dtype=ember.quint4x2)


def test_attention_output_projection_stays_float_and_layers_run():
    ember.manual_seed(2)
    layer = nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64, batch_first=True)
    q = quantize_dynamic(layer)
    assert type(q.linear1) is DynamicLinear and type(q.linear2) is DynamicLinear
    assert type(q.self_attn.out_proj) is not DynamicLinear  # NonDynamicallyQuantizableLinear, as torch
    x = ember.randn(2, 5, 32)
    with ember.no_grad():
        ref, got = layer.eval()(x), q(x)
    assert got.shape == ref.shape and (got - ref).abs().max().item() < 0.1
    lstm = quantize_dynamic(nn.LSTM(8, 8))
    assert type(lstm) is nn.LSTM and lstm(ember.randn(3, 1, 8))[0].shape == (3, 1, 8)


def test_state_dict_round_trip(tmp_path):
    q = quantize_dynamic(mlp())
    sd = q.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    ember.save(sd, tmp_path / "q.pt")
    other = quantize_dynamic(nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 8)))
    other.load_state_dict(ember.load(tmp_path / "q.pt"))
    x = ember.randn(4, 64)
    np.testing.assert_array_equal(other(x).numpy(), q(x).numpy())
    with pytest.raises(RuntimeError, match="Missing key"):
        other.load_state_dict({"0.weight": sd["0.weight"]})


def test_inference_only():
    q = DynamicLinear.from_float(nn.Linear(4, 2))
    with pytest.raises(RuntimeError, match="inference-only"):
        q(ember.ones(1, 4, requires_grad=True))
    with ember.no_grad():
        assert q(ember.ones(1, 4, requires_grad=True)).shape == (1, 2)
    with pytest.raises(AssertionError, match="only works for nn.Linear"):
        DynamicLinear.from_float(nn.ReLU())
