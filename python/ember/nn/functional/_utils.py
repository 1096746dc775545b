"""Argument helpers shared by ``ember.nn.functional`` and the layers: int-or-tuple expansion
(torch's ``_single/_pair/_triple``), the legacy ``size_average``/``reduce`` arguments, and
in-place results."""

import collections.abc
import warnings
from itertools import repeat

from ... import _C


def _ntuple(n, name="parse"):
    def parse(x):
        if isinstance(x, collections.abc.Iterable) and not isinstance(x, str):
            return tuple(x)
        return tuple(repeat(x, n))

    parse.__name__ = name
    return parse


_single = _ntuple(1, "_single")
_pair = _ntuple(2, "_pair")
_triple = _ntuple(3, "_triple")
_quadruple = _ntuple(4, "_quadruple")


def _list_with_default(out_size, defaults):
    if isinstance(out_size, int):
        return out_size
    if len(defaults) <= len(out_size):
        raise ValueError(f"Input dimension should be at least {len(out_size) + 1}")
    return [v if v is not None else d for v, d in zip(out_size, defaults[-len(out_size):])]


def _ints(x, n, what):
    """``x`` (an int or ``n`` ints) as a tuple of ``n`` non-negative ints."""
    t = _ntuple(n)(x)
    if len(t) == 1 and n > 1:
        t = t * n
    if len(t) != n:
        raise RuntimeError(f"{what} must be an int or a tuple of {n} ints, got {x}")
    out = []
    for v in t:
        if isinstance(v, _C.Tensor):
            v = int(v)
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"{what} must be an int or a tuple of ints, but got {type(v).__name__}")
        out.append(v)
    return tuple(out)


def legacy_reduction(size_average, reduce, emit_warning=True):
    """The ``reduction`` string from the deprecated ``size_average``/``reduce`` pair."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        ret = "mean"
    elif reduce:
        ret = "sum"
    else:
        ret = "none"
    if emit_warning:
        warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{ret}' instead.",
                      stacklevel=3)
    return ret


def reduction_of(size_average, reduce, reduction):
    if size_average is not None or reduce is not None:
        return legacy_reduction(size_average, reduce)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def inplace_result(input, result, inplace):
    """torch's ``inplace=True``: the result written into ``input``, which is returned. When
    ``input`` takes part in autograd the result is returned as a new tensor instead (the values
    the caller reads are the same; Ember records no in-place activations)."""
    if not inplace:
        return result
    if input.requires_grad and _C.is_grad_enabled():
        return result
    input.copy_(result)
    return input

