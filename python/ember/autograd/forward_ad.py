"""``torch.autograd.forward_ad``: dual tensors for forward-mode AD, with torch's API
(``dual_level``, ``make_dual``, ``unpack_dual``, ``enter_dual_level``, ``exit_dual_level``).

Ember computes a tangent when it is read rather than alongside every op: for an output ``y`` of
the dual inputs ``d_i`` (tangents ``t_i``), ``Σ J_i t_i`` is the derivative of the reverse-mode
product ``u -> Σ J_iᵀ u`` (linear in ``u``) along the ``t_i``: two reverse passes through the
recorded graph, the identity ``autograd.functional.jvp`` uses. So each dual tensor is a
recorded alias of its primal (it reports ``requires_grad=True``, where torch's reports the
primal's flag), the ops between ``make_dual`` and ``unpack_dual`` must run with grad mode on,
and each ``unpack_dual`` costs about two backward passes of the code in between. Every op of
the op tables has a differentiable gradient, so every recorded op has a tangent.
"""

import functools
from typing import NamedTuple, Optional

from .. import _C
from .grad_mode import enable_grad

__all__ = ["UnpackedDualTensor", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual", "dual_level"]


class _Level:
    """The dual tensors made at one level: ``(dual, tangent)`` pairs, and whether any primal
    took part in reverse mode too (then primals and tangents stay in the graph)."""

    def __init__(self):
        self.duals = []
        self.reverse = False


_levels = []


def enter_dual_level():
    """Enters a new forward-AD level (only one at a time, as in torch) and returns its index."""
    if _levels:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _levels.append(_Level())
    return len(_levels) - 1


def exit_dual_level(*, level=None):
    """Leaves the latest level: its dual tensors' tangents are forgotten."""
    current = len(_levels) - 1
    if level is None:
        level = current
    if level != current or current < 0:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was created. "
                           "This is not supported.")
    _levels.pop()


def _level(level):
    index = len(_levels) - 1 if level is None else level
    return _levels[index] if 0 <= index < len(_levels) else None


def make_dual(tensor, tangent, *, level=None):
    """A dual tensor: ``tensor``'s values with forward gradient ``tangent`` (same shape)."""
    state = _level(level)
    if state is None:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, make sure to "
                           "enter_dual_level() first.")
    if not tensor.is_floating_point():
        raise ValueError(f"Expected primal to be floating point or complex, but got: {tensor.dtype}")
    if not tangent.is_floating_point():
        raise ValueError(f"Expected tangent to be floating point or complex, but got: {tangent.dtype}")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError("Trying to set a forward gradient that has a different size than that of the original "
                           f"Tensor, this is not supported. Tensor is of size {list(tensor.shape)} while the given "
                           f"forward gradient is of size {list(tangent.shape)}.")
    with enable_grad():
        if tensor.requires_grad:
            state.reverse = True
            dual = tensor.view_as(tensor)
        else:
            dual = tensor.detach().requires_grad_(True)
    state.duals.append((dual, tangent.to(tensor.dtype)))
    return dual


class UnpackedDualTensor(NamedTuple):
    """``unpack_dual``'s result: the primal and its tangent (``None`` for a non-dual tensor)."""

    primal: object
    tangent: Optional[object]


def unpack_dual(tensor, *, level=None):
    """``(primal, tangent)`` of ``tensor`` at ``level``: the tangent is ``J t`` through every dual
    tensor ``tensor`` was computed from, or ``None`` when it depends on none."""
    state = _level(level)
    if state is None or not isinstance(tensor, _C.Tensor) or not tensor.requires_grad:
        return UnpackedDualTensor(tensor, None)
    # The primal and tangent take part in reverse mode when the computation does (a parameter,
    # or a primal that requires grad), as torch's do.
    reverse = state.reverse or _C._reaches_leaf_other_than(tensor, [d for d, _ in state.duals])
    primal = tensor if reverse else tensor.detach()
    for dual, tangent in state.duals:
        if dual is tensor:
            return UnpackedDualTensor(primal, tangent)
    if not state.duals:
        return UnpackedDualTensor(tensor, None)
    duals = [d for d, _ in state.duals]
    with enable_grad():
        u = _C.zeros_like(tensor).requires_grad_(True)
        # g_i = J_iᵀ u, recorded so that it can be differentiated in u.
        gs = _C.grad([tensor], duals, [u], True, True, True, True)
        pairs = [(g, t) for g, (_, t) in zip(gs, state.duals) if g is not None]
        if not pairs:
            return UnpackedDualTensor(primal, None)
        if not any(g.requires_grad for g, _ in pairs):
            # Each g is constant in u: the output is constant in the duals.
            return UnpackedDualTensor(primal, _C.zeros_like(tensor))
        jt = _C.grad([g for g, _ in pairs if g.requires_grad], [u], [t for g, t in pairs if g.requires_grad],
                     True, reverse, True, True)[0]
    return UnpackedDualTensor(primal, _C.zeros_like(tensor) if jt is None else jt)


class dual_level:  # noqa: N801  (PyTorch's name)
    """Context manager (or decorator) for one forward-AD level::

        with dual_level():
            y = f(make_dual(x, v))
            jvp = unpack_dual(y).tangent
    """

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, exc_type, exc_value, traceback):
        exit_dual_level()

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with dual_level():
                return fn(*args, **kwargs)

        return wrapper
