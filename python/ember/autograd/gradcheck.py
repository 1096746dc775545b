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
        out = func(*xs)
        return out if isinstance(out, _C.Tensor) else out[0]

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
