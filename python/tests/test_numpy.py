"""NumPy and DLPack interop: memory is shared both ways, as with PyTorch, and the cases that
cannot be shared safely copy or refuse with torch's errors."""

import gc

import numpy as np
import pytest

import ember


def test_numpy_shares_memory_both_ways():
    t = ember.zeros(3)
    a = t.numpy()
    a[1] = 5.0
    assert t.tolist() == [0.0, 5.0, 0.0]
    t.add_(1)
    assert a.tolist() == [1.0, 6.0, 1.0]
    assert a.dtype == np.float32


def test_numpy_of_a_view_keeps_strides():
    t = ember.arange(6.0).reshape(2, 3)
    a = t.t().numpy()
    assert a.shape == (3, 2) and a.strides == (4, 12)
    a[0, 1] = -1
    assert t[1, 0].item() == -1


def test_numpy_outlives_the_tensor():
    a = ember.arange(4, dtype=ember.int64).numpy()
    gc.collect()
    assert a.tolist() == [0, 1, 2, 3]


def test_numpy_refuses_requires_grad():
    x = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="Use tensor.detach"):
        x.numpy()
    assert x.numpy(force=True).tolist() == [1.0, 1.0]


def test_numpy_dtypes():
    for d, nd in [(ember.float64, np.float64), (ember.float16, np.float16), (ember.int32, np.int32),
                  (ember.uint8, np.uint8), (ember.bool, np.bool_), (ember.int64, np.int64)]:
        assert ember.zeros(2, dtype=d).numpy().dtype == nd


def test_array_protocol_copy_keyword():
    t = ember.zeros(2)
    shared = np.asarray(t)
    shared[0] = 3
    assert t[0].item() == 3
    copied = np.array(t, copy=True)
    copied[1] = 7
    assert t[1].item() == 0
    assert np.asarray(t, dtype=np.float64).dtype == np.float64


def test_from_numpy_shares_memory():
    a = np.arange(4.0)
    t = ember.from_numpy(a)
    assert t.dtype == ember.float64
    a[0] = 9
    assert t[0].item() == 9
    t[1] = -3
    assert a[1] == -3
    t.mul_(2)
    assert a.tolist() == [18.0, -6.0, 4.0, 6.0]


def test_from_numpy_keeps_the_array_alive():
    t = ember.from_numpy(np.arange(5, dtype=np.int32))
    gc.collect()
    assert t.tolist() == [0, 1, 2, 3, 4]
    assert (t + 1).tolist() == [1, 2, 3, 4, 5]


def test_from_numpy_strided_view_shares():
    base = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    view = base[:, ::2].T  # strides (8, 16) bytes: not contiguous
    t = ember.from_numpy(view)
    assert t.shape == (2, 3) and t.stride() == (2, 4)
    assert t.tolist() == view.tolist()
    t[0, 0] = 100
    assert base[0, 0] == 100


def test_from_numpy_negative_strides_error():
    with pytest.raises(ValueError, match="negative"):
        ember.from_numpy(np.arange(3.0)[::-1])


def test_from_numpy_read_only_copies():
    a = np.arange(3.0)
    a.flags.writeable = False
    t = ember.from_numpy(a)
    t[0] = 5  # would crash the interpreter if it wrote into read-only memory
    assert a[0] == 0 and t[0].item() == 5


def test_from_numpy_bool_and_unsupported():
    t = ember.from_numpy(np.array([True, False]))
    assert t.dtype == ember.bool and t.tolist() == [True, False]
    with pytest.raises(TypeError, match="can't convert np.ndarray"):
        ember.from_numpy(np.array(["a"]))


def test_from_numpy_round_trip_is_the_same_memory():
    a = np.ones(3, dtype=np.float32)
    b = ember.from_numpy(a).numpy()
    assert np.shares_memory(a, b)


def test_dlpack_round_trip_shares_memory():
    t = ember.arange(6.0).reshape(2, 3)
    u = ember.from_dlpack(t.__dlpack__())
    u[0, 0] = 42
    assert t[0, 0].item() == 42
    assert t.__dlpack_device__() == (1, 0)
    assert ember.utils.dlpack.from_dlpack(ember.utils.dlpack.to_dlpack(t)).tolist() == t.tolist()


def test_dlpack_to_and_from_numpy():
    t = ember.arange(4.0).t() if False else ember.arange(6.0).reshape(2, 3).t()
    a = np.from_dlpack(t)
    assert a.shape == (3, 2) and a.tolist() == t.tolist()
    a[2, 1] = -1
    assert t[2, 1].item() == -1
    n = np.arange(5, dtype=np.int64)
    e = ember.from_dlpack(n)
    n[4] = 40
    assert e.tolist() == [0, 1, 2, 3, 40]
    assert ember.from_dlpack(np.array([True, False])).tolist() == [True, False]


def test_dlpack_capsule_is_consumed_once():
    cap = ember.ones(2).__dlpack__()
    ember.from_dlpack(cap)
    with pytest.raises(TypeError, match="consumed only once"):
        ember.from_dlpack(cap)


def test_dlpack_refuses_requires_grad():
    with pytest.raises(RuntimeError, match="require gradient"):
        ember.ones(2, requires_grad=True).__dlpack__()


def test_unconsumed_capsule_frees_its_tensor():
    before = ember._C._live_bytes()
    cap = ember.zeros(1 << 20).__dlpack__()
    assert ember._C._live_bytes() >= before + (4 << 20)
    del cap
    gc.collect()
    assert ember._C._live_bytes() < before + (4 << 20)


def test_dlpack_with_torch_when_installed():
    torch = pytest.importorskip("torch")
    t = ember.arange(3.0)
    tt = torch.from_dlpack(t)
    tt[0] = 7
    assert t[0].item() == 7
    back = ember.from_dlpack(torch.arange(4))
    assert back.dtype == ember.int64 and back.tolist() == [0, 1, 2, 3]
