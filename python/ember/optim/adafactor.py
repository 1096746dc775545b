"""``ember.optim.Adafactor`` (Shazeer and Stern, 2018) with torch's constructor, state layout
(``step``, and ``row_var``/``col_var`` for tensors of two or more dims or ``variance`` for
vectors) and update: for a matrix gradient the second moment is kept as its row and column
means (factored over the last two dims), ``β2_t = 1 - t^beta2_decay``, the step is
``max(eps2, RMS(param)) min(lr, 1/sqrt t)``, and the update ``g / sqrt(v)`` is scaled down
where its RMS exceeds ``d``. Each step is a few Ember tensor ops per parameter (as torch's own
single-tensor path is); they run in Rust."""

import math

import ember

from .. import _C
from .optimizer import Optimizer, _closure_loss


class Adafactor(Optimizer):
    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *,
                 foreach=None, maximize=False):
        if isinstance(lr, _C.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = {"lr": lr, "beta2_decay": beta2_decay, "eps": eps, "d": d, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize}
        super().__init__(params, defaults)

    def _state_of(self, p):
        state = self.state[p]
        if len(state) == 0:
            state["step"] = _C.tensor(0.0)
            if p.grad.dim() > 1:
                row, col = list(p.grad.shape), list(p.grad.shape)
                row[-1], col[-2] = 1, 1
                state["row_var"] = _C.zeros(row, dtype=p.grad.dtype)
                state["col_var"] = _C.zeros(col, dtype=p.grad.dtype)
            else:
                state["variance"] = _C.zeros_like(p.grad)
        return state

    def step(self, closure=None):
        loss = _closure_loss(closure)
        prev = _C._set_grad_enabled(False)
        try:
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self._update(p, group)
        finally:
            _C._set_grad_enabled(prev)
        return loss

    def _update(self, p, group):
        if getattr(p.grad, "is_sparse", False):
            raise RuntimeError("Adafactor does not support sparse gradients")
        grad = -p.grad if group["maximize"] else p.grad
        state = self._state_of(p)
        lr = float(group["lr"])
        eps1, eps2 = group["eps"]
        if eps1 is None:
            eps1 = ember.finfo(p.dtype).eps
        state["step"].add_(1)
        t = float(state["step"])
        one_minus_beta2 = t ** group["beta2_decay"]
        rho = min(lr, 1 / math.sqrt(t))
        alpha = max(eps2, float(p.norm(2)) / math.sqrt(p.numel())) * rho
        if group["weight_decay"] != 0:
            p.mul_(1 - lr * group["weight_decay"])
        if grad.dim() > 1:
            # Row and column means of g^2 (the last two dims), their product over the mean row.
            row_var, col_var = state["row_var"], state["col_var"]
            row_var.lerp_(grad.norm(2, dim=-1, keepdim=True).square() / grad.shape[-1], one_minus_beta2)
            col_var.lerp_(grad.norm(2, dim=-2, keepdim=True).square() / grad.shape[-2], one_minus_beta2)
            var_estimate = (row_var @ col_var) / row_var.mean(-2, keepdim=True).clamp(min=eps1)
        else:
            state["variance"].lerp_(grad * grad, one_minus_beta2)
            var_estimate = state["variance"].clone()
        update = var_estimate.clamp(min=eps1 * eps1).rsqrt() * grad
        denom = max(1.0, float(update.norm(2)) / (math.sqrt(update.numel()) * group["d"]))
        p.add_(update, alpha=-alpha / denom)
