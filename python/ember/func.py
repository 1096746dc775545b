"""``torch.func``: function transforms over Ember's autograd: ``grad``, ``grad_and_value``,
``vjp``, ``jvp``, ``jacrev``, ``jacfwd``, ``hessian``, ``vmap`` and ``functional_call``.

PyTorch implements these with functorch's dispatcher levels; Ember composes them from
``autograd.grad`` with ``create_graph`` (so transforms nest: ``jacrev(jacrev(f))``) and
``vmap`` as a loop over the batch that stacks the results. The results are the same; ``vmap``
costs one call of ``func`` per batch element.
"""

import functools
from . import _C
from .autograd import functional as _F
from .autograd.grad_mode import enable_grad

Tensor = _C.Tensor


def _tree_map(f, x):
    if isinstance(x, Tensor):
        return f(x)
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*(_tree_map(f, v) for v in x))
    if isinstance(x, (tuple, list)):
        return type(x)(_tree_map(f, v) for v in x)
    if isinstance(x, dict):
        return {k: _tree_map(f, v) for k, v in x.items()}
    return x


def _leaves(x):
    if isinstance(x, Tensor):
        return [x]
    if isinstance(x, (tuple, list)):
        return [t for v in x for t in _leaves(v)]
    if isinstance(x, dict):
        return [t for v in x.values() for t in _leaves(v)]
    return []


_depth = [0]


def _run(args, kwargs, body):
    """Runs one transform call: nested inside another transform, results keep their graph (the
    outer one differentiates them); at the outermost level they are detached unless an input
    already required grad (then the caller differentiates through them, as in MAML)."""
    outer = _depth[0] == 0
    keep = any(t.requires_grad for t in _leaves((args, kwargs)))
    _depth[0] += 1
    try:
        out = body(*args, **kwargs)
    finally:
        _depth[0] -= 1
    if outer and not keep:
        out = _tree_map(lambda t: t.detach(), out)
    return out


def _argnums(argnums, n):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for a in nums:
        if not -n <= a < n:
            raise RuntimeError(f"Got argnums={argnums} but only {n} positional inputs")
    return tuple(a % n for a in nums)


def _differentiable(x):
    """A stand-in for ``x`` that autograd tracks and that stays linked to ``x`` when an outer
    transform differentiates through it."""
    return x.view_as(x) if x.requires_grad else x.detach().requires_grad_(True)


def grad_and_value(func, argnums=0, has_aux=False):
    """``f -> (args -> (d func / d args[argnums], func(args)))`` for a scalar ``func``."""

    def wrapper(*args, **kwargs):
        return _run(args, kwargs, body)

    def body(*args, **kwargs):
        nums = _argnums(argnums, len(args))
        with enable_grad():
            args = list(args)
            for a in nums:
                args[a] = _tree_map(_differentiable, args[a])
            out = func(*args, **kwargs)
            aux = None
            if has_aux:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise RuntimeError("grad_and_value(f)(*args): output of function f should be a tuple: (output, aux) "
                                       "if has_aux is True")
                out, aux = out
            if not isinstance(out, Tensor) or out.numel() != 1 or out.dim() != 0:
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got tensor "
                                   f"with {out.dim() if isinstance(out, Tensor) else '?'} dims. Maybe you wanted to use "
                                   "the vjp or jacrev APIs instead?")
            inputs = [t for a in nums for t in _leaves(args[a])]
            gs = _C.grad([out], inputs, None, True, True, True, True, False, False)
            gs = iter(_C.zeros_like(x) if g is None else g for g, x in zip(gs, inputs))
            grads = tuple(_tree_map(lambda _: next(gs), args[a]) for a in nums)
        g = grads[0] if isinstance(argnums, int) else grads
        return (g, (out, aux)) if has_aux else (g, out)

    return wrapper


def grad(func, argnums=0, has_aux=False):
    """``f -> (args -> d func / d args[argnums])`` for a scalar ``func`` (with ``has_aux``:
    ``(grad, aux)``)."""
    gv = grad_and_value(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        g, v = gv(*args, **kwargs)
        return (g, v[1]) if has_aux else g

    return wrapper


def vjp(func, *primals, has_aux=False):
    """``(func(*primals), vjp_fn)`` where ``vjp_fn(cotangents)`` gives one gradient per primal."""
    outer = _depth[0] == 0 and not any(t.requires_grad for t in _leaves(primals))
    with enable_grad():
        xs = [_tree_map(_differentiable, p) for p in primals]
        out = func(*xs)
        aux = None
        if has_aux:
            out, aux = out
    leaves_in = [t for x in xs for t in _leaves(x)]

    def vjp_fn(*cotangents):
        cts = cotangents[0] if len(cotangents) == 1 else cotangents
        outs, vs = _leaves(out), _leaves(cts)
        with enable_grad():
            gs = _C.grad(outs, leaves_in, vs, True, True, True, True, False, False)
        it = iter(_C.zeros_like(x) if g is None else g for g, x in zip(gs, leaves_in))
        res = tuple(_tree_map(lambda _: next(it), x) for x in xs)
        return _tree_map(lambda t: t.detach(), res) if outer and _depth[0] == 0 else res

    shown = _tree_map(lambda t: t.detach(), out) if outer else out
    return (shown, vjp_fn, aux) if has_aux else (shown, vjp_fn)


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """``(func(*primals), J @ tangents)``."""
    if has_aux:
        raise NotImplementedError("jvp(has_aux=True) is not supported by Ember")
    return _run((tuple(primals), tuple(tangents)), {},
                lambda p, t: _F.jvp(func, p, t, create_graph=True, strict=strict))


def functionalize(func, *, remove="mutations"):
    """``torch.func.functionalize``: the same function. Its purpose in torch is to rewrite
    in-place ops as out-of-place ones for graph capture; eagerly the values, and the
    mutations of the inputs it was asked to keep, are those of ``func`` itself."""
    if remove not in ("mutations", "mutations_and_views"):
        raise RuntimeError(f"functionalize(f, remove='mutations'): received invalid argument for remove={remove}. "
                           "Valid options are:\n     remove='mutations': all inplace and out= operators will be "
                           "removed from the program, and replaced with their out-of-place equivalents.\n     "
                           "remove='mutations_and_views': In addition to the above, all aliasing operators {view} "
                           "will be replaced with their non-aliasing counterparts, {view}_copy.\n")

    @functools.wraps(func)
    def functionalized(*args, **kwargs):
        return func(*args, **kwargs)
    return functionalized


def linearize(func, *primals):
    """``(func(*primals), jvp_fn)``: ``jvp_fn(*tangents)`` is ``J @ tangents`` at ``primals``.
    The function runs once; each ``jvp_fn`` call differentiates the recorded graph twice
    (the double-vjp trick) instead of re-running ``func``."""
    with enable_grad():
        xs = [_tree_map(_differentiable, p) for p in primals]
        out = func(*xs)
        outs, leaves_in = _leaves(out), [t for x in xs for t in _leaves(x)]
        # u: a dummy cotangent; g(u) = J^T u is linear in u, so d/du <g(u), t> = J t.
        us = [_C.zeros_like(o).requires_grad_() for o in outs]
        gs = _C.grad(outs, leaves_in, us, True, True, True, True, False, False)
        gs = [_C.zeros_like(x) if g is None else g for g, x in zip(gs, leaves_in)]

    def jvp_fn(*tangents):
        if len(tangents) != len(primals):
            raise RuntimeError(f"Expected {len(primals)} tangents, got {len(tangents)}")
        ts = [t for x in tangents for t in _leaves(x)]
        for g, t in zip(gs, ts):
            if tuple(g.shape) != tuple(t.shape):
                raise RuntimeError(f"linearize: expected tangent of shape {tuple(g.shape)}, got {tuple(t.shape)}")
        live = [(g, t) for g, t in zip(gs, ts) if g.requires_grad]  # others: a primal func ignores
        js = [None] * len(us)
        if live:
            with enable_grad():
                js = _C.grad([g for g, _ in live], us, [t for _, t in live], True, False, True, True, False, False)
        it = iter(_C.zeros_like(u) if j is None else j.detach() for j, u in zip(js, us))
        return _tree_map(lambda _: next(it), out)

    return _tree_map(lambda t: t.detach(), out), jvp_fn


def _rebuild(tree, flat):
    it = iter(flat)
    return _tree_map(lambda _: next(it), tree)


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None):
    """``f -> (args -> Jacobian of func with respect to args[argnums])``, shaped
    ``output.shape + input.shape``."""
    del chunk_size
    if has_aux:
        raise NotImplementedError("jacrev(has_aux=True) is not supported by Ember")

    def wrapper(*args):
        return _run(args, {}, body)

    def body(*args):
        nums = _argnums(argnums, len(args))

        def part(*xs):
            full = list(args)
            for a, x in zip(nums, xs):
                full[a] = x
            return func(*full)

        sel = tuple(args[a] for a in nums)
        return _F.jacobian(part, sel if not isinstance(argnums, int) else sel[0], create_graph=True)

    return wrapper


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """The same Jacobian as :func:`jacrev` (computed in reverse mode here)."""
    del randomness
    return jacrev(func, argnums, has_aux=has_aux)


def hessian(func, argnums=0):
    return jacfwd(jacrev(func, argnums), argnums)


def _take(x, dim, i):
    return x if dim is None else x.select(dim, i)


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """``func`` mapped over dim ``in_dims`` of its inputs, results stacked along ``out_dims``."""
    del randomness, chunk_size

    def wrapper(*args, **kwargs):
        dims = in_dims if isinstance(in_dims, (tuple, list)) else (in_dims,) * len(args)
        if len(dims) != len(args):
            raise ValueError(f"vmap(func, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with the "
                             f"structure of `inputs`. in_dims has structure of length {len(dims)} but inputs has "
                             f"length {len(args)}.")
        sizes = set()
        for a, d in zip(args, dims):
            if d is not None:
                for t in _leaves(a):
                    sizes.add(t.shape[d])
        if not sizes:
            raise ValueError("vmap(func)(<inputs>): at least one input must be batched (in_dims not all None)")
        if len(sizes) > 1:
            raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes {sorted(sizes)}")
        n = sizes.pop()
        results = []
        for i in range(n):
            call = [a if d is None else _tree_map(lambda t, d=d: _take(t, d, i), a) for a, d in zip(args, dims)]
            results.append(func(*call, **kwargs))
        return _stack_tree(results, out_dims)

    return wrapper


def _stack_tree(results, out_dims):
    first = results[0]
    if isinstance(first, Tensor):
        return _C.stack(results, out_dims)
    if isinstance(first, (tuple, list)):
        dims = out_dims if isinstance(out_dims, (tuple, list)) else (out_dims,) * len(first)
        return type(first)(_stack_tree([r[k] for r in results], dims[k]) for k in range(len(first)))
    if isinstance(first, dict):
        return {k: _stack_tree([r[k] for r in results], out_dims) for k in first}
    if isinstance(first, (int, float, bool)):
        return _C.stack([_C.tensor(r) for r in results], out_dims)
    raise ValueError(f"vmap: `func` must only return Tensors, got type {type(first).__name__}")


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True, strict=False):
    """Calls ``module`` with some of its parameters and buffers replaced by the given tensors
    (by their ``state_dict`` names); the module is left as it was."""
    del tie_weights
    dicts = parameter_and_buffer_dicts
    if isinstance(dicts, (tuple, list)):
        merged = {}
        for d in dicts:
            for k in d:
                if k in merged:
                    raise ValueError(f"{k} appeared in multiple dictionaries; behavior of functional call is ambiguous")
            merged.update(d)
        dicts = merged
    known = dict(module.named_parameters(remove_duplicate=False))
    known.update(dict(module.named_buffers(remove_duplicate=False)))
    if strict:
        missing = [k for k in known if k not in dicts]
        unexpected = [k for k in dicts if k not in known]
        if missing or unexpected:
            raise RuntimeError(f"Error(s) in functional_call: missing keys {missing}, unexpected keys {unexpected}")
    saved = []
    try:
        for name, value in dicts.items():
            owner, attr = _owner(module, name)
            store = owner._parameters if attr in owner._parameters else owner._buffers if attr in owner._buffers else None
            if store is None:
                if strict:
                    raise AttributeError(f"{type(owner).__name__} has no parameter or buffer named {attr}")
                saved.append((owner, attr, None, owner.__dict__.get(attr, _MISSING)))
                object.__setattr__(owner, attr, value)
                continue
            saved.append((owner, attr, store, store[attr]))
            store[attr] = value
        args = () if args is None else (args if isinstance(args, tuple) else (args,))
        return module(*args, **(kwargs or {}))
    finally:
        for owner, attr, store, old in reversed(saved):
            if store is not None:
                store[attr] = old
            elif old is _MISSING:
                owner.__dict__.pop(attr, None)
            else:
                object.__setattr__(owner, attr, old)


_MISSING = object()


def _owner(module, name):
    parts = name.split(".")
    for p in parts[:-1]:
        module = getattr(module, p)
    return module, parts[-1]


def stack_module_state(models):
    """``(params, buffers)``: each parameter and buffer of the same-shaped ``models`` stacked
    along a new first dim (for ``vmap`` over model ensembles)."""
    params = {k: _C.stack([dict(m.named_parameters())[k].detach() for m in models]).requires_grad_()
              for k, _ in models[0].named_parameters()}
    buffers = {k: _C.stack([dict(m.named_buffers())[k] for m in models]) for k, _ in models[0].named_buffers()}
    return params, buffers
