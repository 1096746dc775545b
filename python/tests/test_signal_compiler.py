"""``ember.signal.windows`` against the windows' definitions (NumPy's ``hanning``,
``hamming``, ``blackman``, ``bartlett``, ``kaiser`` and the closed forms), and
``ember.compiler``'s answers as an eager runtime."""

import math

import numpy as np
import pytest

import ember
from ember.signal import windows

NUMPY = {"hann": np.hanning, "hamming": np.hamming, "blackman": np.blackman, "bartlett": np.bartlett}


def periodic(ref, M):
    # A periodic window of length M is the symmetric one of length M + 1 without its last value.
    return ref(M + 1)[:-1] if M > 1 else ref(M)


@pytest.mark.parametrize("name", sorted(NUMPY))
@pytest.mark.parametrize("M", [0, 1, 2, 7, 16])
def test_windows_match_numpy(name, M):
    ref = NUMPY[name]
    fn = getattr(windows, name)
    np.testing.assert_allclose(fn(M, dtype=ember.float64).numpy(), ref(M), atol=1e-12)
    np.testing.assert_allclose(fn(M, sym=False, dtype=ember.float64).numpy(), periodic(ref, M), atol=1e-12)
    assert fn(M).dtype == ember.float32 and fn(M).shape == (M,)


def test_kaiser_matches_numpy():
    for M in (1, 6, 11):
        for beta in (0.0, 5.0, 12.0):
            got = windows.kaiser(M, beta=beta, dtype=ember.float64).numpy()
            np.testing.assert_allclose(got, np.kaiser(M, beta), atol=1e-12)
    np.testing.assert_allclose(windows.kaiser(6, beta=5.0, sym=False, dtype=ember.float64).numpy(),
                               np.kaiser(7, 5.0)[:-1], atol=1e-12)


def test_closed_forms():
    M = 9
    n = np.arange(M)
    got = windows.gaussian(M, std=2.0, dtype=ember.float64).numpy()
    np.testing.assert_allclose(got, np.exp(-((n - (M - 1) / 2) ** 2) / (2 * 2.0 ** 2)), atol=1e-12)
    got = windows.exponential(M, tau=3.0, dtype=ember.float64).numpy()
    np.testing.assert_allclose(got, np.exp(-np.abs(n - (M - 1) / 2) / 3.0), atol=1e-12)
    got = windows.exponential(M, center=2.0, sym=False, dtype=ember.float64).numpy()
    np.testing.assert_allclose(got, np.exp(-np.abs(n - 2.0)), atol=1e-12)
    got = windows.cosine(M, dtype=ember.float64).numpy()
    np.testing.assert_allclose(got, np.sin(np.pi * (n + 0.5) / M), atol=1e-12)
    a = [0.3635819, 0.4891775, 0.1365995, 0.0106411]
    want = sum((-1) ** i * c * np.cos(2 * np.pi * i * n / (M - 1)) for i, c in enumerate(a))
    np.testing.assert_allclose(windows.nuttall(M, dtype=ember.float64).numpy(), want, atol=1e-12)
    want = 0.6 - 0.4 * np.cos(2 * np.pi * n / (M - 1))
    np.testing.assert_allclose(windows.general_hamming(M, alpha=0.6, dtype=ember.float64).numpy(), want, atol=1e-12)


def test_window_errors_as_torch():
    with pytest.raises(ValueError, match="non-negative window length"):
        windows.hann(-1)
    with pytest.raises(ValueError, match="float32 or float64"):
        windows.hann(4, dtype=ember.int64)
    with pytest.raises(ValueError, match="Standard deviation must be positive"):
        windows.gaussian(4, std=0.0)
    with pytest.raises(ValueError, match="Center must be None"):
        windows.exponential(4, center=1.0)
    with pytest.raises(TypeError, match="Coefficients must be a list"):
        windows.general_cosine(4, a=1.0)
    w = windows.hann(5, requires_grad=True)
    assert w.requires_grad and math.isclose(w.max().item(), 1.0)


def test_compiler_is_eager():
    from ember import compiler

    def f(x):
        return x * 2

    assert compiler.disable(f) is f and compiler.disable()(f) is f
    assert compiler.compile(f) is f and ember.compile(f) is f
    assert not compiler.is_compiling() and not compiler.is_dynamo_compiling() and not compiler.is_exporting()

    @compiler.set_stance("force_eager")
    def g(x):
        return x + 1

    with compiler.set_stance("force_eager"):
        assert g(1) == 2
    compiler.reset()
    compiler.cudagraph_mark_step_begin()
