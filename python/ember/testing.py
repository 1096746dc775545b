"""``ember.testing.assert_close``: torch's tolerance rules (by dtype) for comparing tensors."""

from . import _C

_TOLERANCES = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
               "float64": (1e-7, 1e-7)}


def _as_tensor(x):
    return x if isinstance(x, _C.Tensor) else _C.tensor(x)


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False, msg=None):
    if isinstance(actual, (list, tuple)) and isinstance(expected, (list, tuple)):
        if len(actual) != len(expected):
            raise AssertionError(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}")
        for a, e in zip(actual, expected):
            assert_close(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=check_dtype, msg=msg)
        return
    if isinstance(actual, dict) and isinstance(expected, dict):
        if actual.keys() != expected.keys():
            raise AssertionError("The keys of the mappings do not match")
        for k in actual:
            assert_close(actual[k], expected[k], rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=check_dtype,
                         msg=msg)
        return
    a, e = _as_tensor(actual), _as_tensor(expected)
    if tuple(a.shape) != tuple(e.shape):
        raise AssertionError(msg or f"The values for attribute 'shape' do not match: {a.shape} != {e.shape}.")
    if check_dtype and a.dtype != e.dtype:
        raise AssertionError(msg or f"The values for attribute 'dtype' do not match: {a.dtype} != {e.dtype}.")
    name = str(a.dtype).replace("torch.", "")
    default_rtol, default_atol = _TOLERANCES.get(name, (0.0, 0.0))
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    if not a.isclose(e.to(a.dtype), rtol=rtol, atol=atol, equal_nan=equal_nan).all():
        diff = (a.double() - e.double()).abs()
        raise AssertionError(msg or f"Tensor-likes are not close!\n\nGreatest absolute difference: "
                             f"{diff.max().item()} (up to {atol} allowed)")


assert_allclose = assert_close


def make_tensor(*shape, dtype, device, low=None, high=None, requires_grad=False, noncontiguous=False,
                exclude_zero=False, memory_format=None):
    """A random tensor for tests (``torch.testing.make_tensor``): uniform in ``[low, high)``,
    by default ``[-9, 9)`` for floats and ``[-9, 10)`` for integers; booleans are fair coins."""
    del device, memory_format
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if dtype == _C.bool:
        t = _C.rand(shape) < 0.5
    elif dtype.is_floating_point:
        lo = -9.0 if low is None else float(low)
        hi = 9.0 if high is None else float(high)
        if lo > hi:
            raise ValueError(f"low must be less than or equal to high, but got low={lo} and high={hi}")
        t = (_C.rand(shape, dtype=_C.float64) * (hi - lo) + lo).to(dtype)
        if exclude_zero:
            tiny = _C.finfo(dtype).tiny
            t = _C.where(t == 0, _C.full_like(t, tiny), t)
    else:
        lo = -9 if low is None else int(low)
        hi = 10 if high is None else int(high)
        if dtype == _C.uint8:
            lo = max(lo, 0)
        t = _C.randint(lo, hi, shape).to(dtype)
        if exclude_zero:
            t = _C.where(t == 0, _C.ones_like(t), t)
    if noncontiguous and t.numel() > 1:
        t = _C.stack([t, t], -1)[..., 0]
    return t.requires_grad_() if requires_grad else t
