"""``gradcheck``: analytical gradients against central finite differences, in float64."""

from .. import _C


def _flat(t):
    return t.detach().reshape(-1)


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, **_ignored):
    """Checks ``func``'s gradient for every input that requires grad (``torch.autograd.gradcheck``).
    Inputs should be float64. Returns True, or raises (or returns False) on a mismatch."""
    if isinstance(inputs, _C.Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)

    def run(*xs):
        # Every floating output, flattened into one vector: its Jacobian covers them all.
        out = func(*xs)
        outs = (out,) if isinstance(out, _C.Tensor) else tuple(
            o for o in out if isinstance(o, _C.Tensor) and o.dtype.is_floating_point)
        if len(outs) == 1:
            return outs[0]
        return _C.cat([o.reshape(-1) for o in outs])

    out = run(*inputs)
    n_out = out.numel()
    for k, x in enumerate(inputs):
        if not (isinstance(x, _C.Tensor) and x.requires_grad):
            continue
        n = x.numel()
        numerical = _C.zeros(n, n_out, dtype=_C.float64)
        base = x.detach().clone()
        for i in range(n):
            for sign, scale in ((1.0, 0.5 / eps), (-1.0, -0.5 / eps)):
                pert = base.clone().reshape(-1)
                pert[i] = pert[i] + sign * eps
                xs = list(inputs)
                xs[k] = pert.reshape(x.shape)
                with _C_no_grad():
                    y = run(*xs).detach().to(_C.float64).reshape(-1)
                numerical[i] = numerical[i] + y * scale
        analytical = _C.zeros(n, n_out, dtype=_C.float64)
        for j in range(n_out):
            xs = [a.detach().requires_grad_(a.requires_grad) if isinstance(a, _C.Tensor) else a for a in inputs]
            y = run(*xs).reshape(-1)
            g = _C.grad(y[j], xs[k], None, None, False, True, True, False, False)[0]
            if g is not None:
                analytical[:, j] = g.reshape(-1).to(_C.float64)
        diff = (analytical - numerical).abs()
        tol = atol + rtol * numerical.abs()
        if bool((diff > tol).any()):
            msg = f"Jacobian mismatch for output 0 with respect to input {k},\nnumerical:{numerical}\nanalytical:{analytical}"
            if raise_exception:
                raise RuntimeError(msg)
            return False
    return True


class _C_no_grad:
    def __enter__(self):
        self.prev = _C._set_grad_enabled(False)

    def __exit__(self, *exc):
        _C._set_grad_enabled(self.prev)


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, **_ignored):
    """Checks second derivatives (``torch.autograd.gradgradcheck``): the gradient of ``func``'s
    gradient, taken with ``create_graph=True``, against finite differences of it. Without
    ``grad_outputs``, random ones (which require grad, so they are checked too) are drawn."""
    del gen_non_contig_grad_outputs
    if isinstance(inputs, _C.Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    out = func(*inputs)
    outs = (out,) if isinstance(out, _C.Tensor) else tuple(out)
    outs = tuple(o for o in outs if isinstance(o, _C.Tensor) and o.requires_grad)
    if grad_outputs is None:
        grad_outputs = tuple(_C.randn(o.shape, dtype=o.dtype).requires_grad_() for o in outs)
    elif isinstance(grad_outputs, _C.Tensor):
        grad_outputs = (grad_outputs,)
    grad_outputs = tuple(grad_outputs)
    n = len(inputs)
    wrt = [i for i, x in enumerate(inputs) if isinstance(x, _C.Tensor) and x.requires_grad]

    def first_derivative(*args):
        # Stand-ins that stay linked to the inputs when they require grad (the analytical pass)
        # and are fresh leaves otherwise (the finite-difference pass runs under no_grad).
        prev = _C._set_grad_enabled(True)
        try:
            xs = [x.view_as(x) if x.requires_grad else x.detach().requires_grad_() if i in wrt else x
                  for i, x in enumerate(args[:n])]
            return _first(xs, args[n:])
        finally:
            _C._set_grad_enabled(prev)

    def _first(xs, gos):
        ys = func(*xs)
        ys = (ys,) if isinstance(ys, _C.Tensor) else tuple(ys)
        ys = [y for y in ys if isinstance(y, _C.Tensor) and y.requires_grad]
        gs = _C.grad(ys, [xs[i] for i in wrt], list(gos), True, True, True, True, False, False)
        return tuple(_C.zeros_like(xs[i]) if g is None else g for g, i in zip(gs, wrt))

    return gradcheck(first_derivative, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
