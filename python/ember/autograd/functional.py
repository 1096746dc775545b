"""``torch.autograd.functional``: Jacobians, Hessians and vector products of a function, built
on reverse-mode ``autograd.grad`` (one backward pass per output element for a Jacobian; a
Jacobian-vector product by the double-backward trick, as PyTorch's own ``jvp``).

Inputs and outputs may be one tensor or a tuple of tensors; the results nest the same way as
PyTorch's (``jacobian`` of a tuple-to-tuple function is a tuple of tuples). An input that the
output does not depend on gets zeros, or an error with ``strict=True``.
"""

from .. import _C
from .grad_mode import enable_grad

Tensor = _C.Tensor


def _as_tuple(x, what):
    if isinstance(x, Tensor):
        return (x,), False
    if isinstance(x, (tuple, list)) and all(isinstance(t, Tensor) for t in x):
        return tuple(x), True
    raise TypeError(f"The {what} given to the function must be either a Tensor or a tuple of Tensors but the "
                    f"value at index 0 has type {type(x).__name__}." if isinstance(x, (tuple, list))
                    else f"The {what} given to the function must be either a Tensor or a tuple of Tensors but "
                         f"the given {what} has type {type(x).__name__}.")


def _grad_inputs(inputs, create_graph):
    """Differentiable stand-ins for ``inputs``: when building a graph for an outer derivative,
    views that keep the link to ``inputs``; otherwise fresh leaves."""
    out = []
    for x in inputs:
        if create_graph and x.requires_grad:
            out.append(x.view_as(x))
        else:
            out.append(x.detach().requires_grad_(True))
    return tuple(out)


def _grad(outputs, inputs, grad_outputs, create_graph, strict, what):
    gs = _C.grad(list(outputs), list(inputs), list(grad_outputs), True, create_graph, True, True, False, False)
    res = []
    for i, (g, x) in enumerate(zip(gs, inputs)):
        if g is None:
            if strict:
                raise RuntimeError(f"The {what} for input {i} is independent of the input (strict=True)")
            g = _C.zeros_like(x)
        res.append(g if create_graph else g.detach())
    return tuple(res)


def _call(func, inputs, create_graph):
    """``(stand-in inputs, was a tuple, outputs, was a tuple)`` of one evaluation (grad mode on)."""
    xs, tuple_in = _as_tuple(inputs, "inputs")
    xs = _grad_inputs(xs, create_graph)
    os_, tuple_out = _as_tuple(func(*xs), "outputs of the user-provided function")
    return xs, tuple_in, os_, tuple_out


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T J)``."""
    with enable_grad():
        xs, tuple_in, os_, tuple_out = _call(func, inputs, create_graph)
        if v is None:
            if len(os_) != 1 or os_[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the user-provided function returns a single "
                                   "Tensor with a single element.")
            vs = (_C.ones_like(os_[0]),)
        else:
            vs, _ = _as_tuple(v, "v")
        g = _grad(os_, xs, vs, create_graph, strict, "vector-Jacobian product")
    outs = tuple(o if create_graph else o.detach() for o in os_)
    return (outs if tuple_out else outs[0]), (g if tuple_in else g[0])


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), J v)`` by differentiating ``u -> u^T J`` (linear in ``u``) along ``v``."""
    with enable_grad():
        xs, tuple_in, os_, tuple_out = _call(func, inputs, create_graph)
        if v is None:
            if len(xs) != 1 or xs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                                   "single Tensor with a single element.")
            vs = (_C.ones_like(xs[0]),)
        else:
            vs, _ = _as_tuple(v, "v")
        us = tuple(_C.zeros_like(o).requires_grad_(True) for o in os_)
        gu = _C.grad(list(os_), list(xs), list(us), True, True, True, True, False, False)
        pairs = [(g, vv) for g, vv in zip(gu, vs) if g is not None]
        if not pairs:
            res = tuple(_C.zeros_like(o) for o in os_)
        else:
            res = _grad([g for g, _ in pairs], us, [vv for _, vv in pairs], create_graph, strict,
                        "Jacobian-vector product")
    outs = tuple(o if create_graph else o.detach() for o in os_)
    return (outs if tuple_out else outs[0]), (res if tuple_out else res[0])


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: for output ``o`` and input ``x``, a tensor of shape
    ``o.shape + x.shape``."""
    del vectorize
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode".')
    with enable_grad():
        xs, tuple_in, os_, tuple_out = _call(func, inputs, create_graph)
        rows = []
        for o in os_:
            flat = o.reshape(-1)
            per_input = [[] for _ in xs]
            for k in range(flat.numel()):
                gs = _C.grad([flat[k]], list(xs), None, True, create_graph, True, True, False, False)
                for i, (g, x) in enumerate(zip(gs, xs)):
                    if g is None:
                        if strict:
                            raise RuntimeError(f"Output {len(rows)} of the user-provided function is independent "
                                               f"of input {i}. This is not allowed in strict mode.")
                        g = _C.zeros_like(x)
                    per_input[i].append(g if create_graph else g.detach())
            blocks = []
            for i, x in enumerate(xs):
                if per_input[i]:
                    blocks.append(_C.stack(per_input[i]).reshape(tuple(o.shape) + tuple(x.shape)))
                else:
                    blocks.append(_C.zeros(tuple(o.shape) + tuple(x.shape), dtype=x.dtype))
            rows.append(tuple(blocks) if tuple_in else blocks[0])
    return tuple(rows) if tuple_out else rows[0]


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar ``func``: the Jacobian of its gradient."""
    xs, tuple_in = _as_tuple(inputs, "inputs")

    def gradient(*ys):
        out = func(*ys)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError("The function given to hessian should return a single Tensor with a single element")
        g = _C.grad([out.reshape(())], list(ys), None, True, True, True, True, False, False)
        res = tuple(_C.zeros_like(y) if gi is None else gi for gi, y in zip(g, ys))
        return res if tuple_in else res[0]

    return jacobian(gradient, xs if tuple_in else xs[0], create_graph=create_graph, strict=strict,
                    strategy=outer_jacobian_strategy)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T H)``."""
    with enable_grad():
        xs, tuple_in = _as_tuple(inputs, "inputs")
        xs = _grad_inputs(xs, True)
        out = func(*xs)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError("The function given to vhp should return a single Tensor with a single element")
        vs, _ = _as_tuple(v if v is not None else _C.ones_like(xs[0]), "v")
        g = _C.grad([out.reshape(())], list(xs), None, True, True, True, True, False, False)
        pairs = [(gi, vv) for gi, vv in zip(g, vs) if gi is not None]
        if pairs:
            res = _grad([gi for gi, _ in pairs], xs, [vv for _, vv in pairs], create_graph, strict, "vhp")
        else:
            res = tuple(_C.zeros_like(x) for x in xs)
    out = out if create_graph else out.detach()
    return out, (res if tuple_in else res[0])


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), H v)``; the Hessian is symmetric, so this equals ``vhp``."""
    return vhp(func, inputs, v, create_graph, strict)
