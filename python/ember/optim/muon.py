"""``ember.optim.Muon`` (Jordan et al., 2024) with torch's constructor, defaults and update: a
Nesterov momentum buffer whose matrix is orthogonalised by a quintic Newton-Schulz iteration
in bfloat16 (each step's ``addmm`` accumulates in f32 and rounds once, as a bf16 GEMM does),
decoupled weight decay, and the learning rate scaled for the matrix's shape
(``adjust_lr_fn``). For 2-D parameters only, as torch's."""

import math

import ember

from .optimizer import Optimizer, _closure_loss

_ADJUST_LR_FNS = ("original", "match_rms_adamw", "spectral_unclamped")


def _addmm_bf16(input, mat1, mat2, beta=1.0, alpha=1.0):
    """``beta input + alpha mat1 @ mat2`` of bf16 matrices, accumulated in f32, rounded once."""
    f32 = ember.float32
    return (input.to(f32) * beta + (mat1.to(f32) @ mat2.to(f32)) * alpha).to(ember.bfloat16)


def _zeropower_via_newtonschulz(grad, ns_coefficients, ns_steps, eps):
    """``U S' V^T`` with ``S'`` near the identity for ``grad = U S V^T``: ``ns_steps`` quintic
    Newton-Schulz steps ``X <- a X + (b G + c G^2) X`` with ``G = X X^T``, on the wide side."""
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if grad.dim() != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = ns_coefficients
    tall = grad.shape[0] > grad.shape[1]
    x = grad.to(ember.bfloat16)
    if tall:
        x = x.T
    x = x / x.norm().clamp(min=eps)
    for _ in range(ns_steps):
        gram = _addmm_bf16(ember.zeros((), dtype=ember.bfloat16), x, x.T, beta=0.0)
        gram_update = _addmm_bf16(gram, gram, gram, beta=b, alpha=c)
        x = _addmm_bf16(x, gram_update, x, beta=a)
    return x.T if tall else x


def _adjust_lr(lr, adjust_lr_fn, shape):
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1, rows / cols))
    if adjust_lr_fn == "match_rms_adamw":
        return lr * 0.2 * math.sqrt(max(rows, cols))
    if adjust_lr_fn == "spectral_unclamped":
        return lr * math.sqrt(rows / cols)
    return lr


class Muon(Optimizer):
    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=(3.4445, -4.7750, 2.0315), eps=1e-7, ns_steps=5, adjust_lr_fn=None):
        if isinstance(lr, ember.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in _ADJUST_LR_FNS:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = {"lr": lr, "weight_decay": weight_decay, "momentum": momentum, "nesterov": nesterov,
                    "ns_coefficients": ns_coefficients, "eps": eps, "ns_steps": ns_steps,
                    "adjust_lr_fn": adjust_lr_fn}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.dim() != 2:
                    raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter with size: "
                                     f"{p.size()}")

    def step(self, closure=None):
        loss = _closure_loss(closure)
        with ember.no_grad():
            for group in self.param_groups:
                lr = float(group["lr"])
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad
                    if grad.dim() != 2:
                        raise ValueError("Param gradient must be a 2D matrix")
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = ember.zeros_like(grad)
                    buf = state["momentum_buffer"]
                    buf.lerp_(grad, 1 - group["momentum"])
                    update = grad.lerp(buf, group["momentum"]) if group["nesterov"] else buf
                    update = _zeropower_via_newtonschulz(update, group["ns_coefficients"], group["ns_steps"],
                                                         group["eps"])
                    adjusted_lr = _adjust_lr(lr, group["adjust_lr_fn"], p.shape)
                    p.mul_(1 - lr * group["weight_decay"])
                    p.add_(update.to(p.dtype), alpha=-adjusted_lr)
        return loss
