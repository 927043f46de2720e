"""Muon: momentum whose update is orthogonalised (Newton–Schulz) before it is applied, for the
2-D weight matrices of hidden layers; PyTorch's ``torch.optim.Muon``."""

from __future__ import annotations

import math
from typing import Any

from .._engine.api.creation import zeros_like
from .._engine.api.linalg import addmm
from .._engine.dtypes import bfloat16
from .._engine.modes import enable_grad, no_grad
from .optimizer import Optimizer, ParamsT

__all__ = ["Muon"]

_LR_ADJUSTMENTS = (None, "original", "match_rms_adamw")


def orthogonalize(m, coefficients: tuple, steps: int, eps: float):
    """About the orthogonal factor U Vᵀ of ``m = U S Vᵀ``, by ``steps`` quintic Newton–Schulz
    iterations X ← aX + (bA + cA²)X with A = XXᵀ, in bfloat16 as PyTorch's Muon computes it
    (the singular values end near, not at, 1: the coefficients favour speed)."""
    if steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if m.dim() != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = coefficients
    tall = m.shape[0] > m.shape[1]
    x = m.to(bfloat16)
    if tall:  # (iterate on the wide side: XXᵀ is the smaller Gram matrix)
        x = x.T
    # In place, as PyTorch: a bfloat16 input is x itself (.to returns it), so a bfloat16
    # momentum buffer (nesterov=False) leaves the step divided by its norm, as in PyTorch.
    x.div_(x.norm().clamp(min=eps))
    for _ in range(steps):
        gram = x @ x.T
        x = addmm(x, addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    return x.T if tall else x


def _lr_scale(adjust: str | None, shape) -> float:
    rows, cols = shape[:2]
    if adjust is None or adjust == "original":
        return math.sqrt(max(1, rows / cols))  # the same RMS update for any aspect ratio
    return 0.2 * math.sqrt(max(rows, cols))  # "match_rms_adamw": AdamW's RMS, AdamW's lr


class Muon(Optimizer):
    r"""Muon (Jordan et al. 2024; PyTorch's ``torch.optim.Muon``), for 2-D parameters.

    At each step, with gradient g, momentum μ and buffer B (zero at first)::

        B ← B + (1 − μ)(g − B)                 (PyTorch's lerp)
        U ← g + μ(B − g)  if nesterov, else B
        O ← NewtonSchulz(U)                    (bfloat16, ns_steps iterations)
        θ ← θ(1 − γλ) − γ·s·O                  (s: 1, or the adjust_lr_fn scale)

    Args:
        params: 2-D tensors (or groups of them); biases and embeddings want another optimizer.
        lr: γ. weight_decay: λ, decoupled. momentum: μ. nesterov: look-ahead momentum.
        ns_coefficients: (a, b, c) of the quintic iteration. eps: floor of the norm the
            update is divided by first. ns_steps: iterations.
        adjust_lr_fn: None or "original" (s = sqrt(max(1, rows / cols))) or
            "match_rms_adamw" (s = 0.2 sqrt(max(rows, cols))).
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, weight_decay: float = 0.1,
                 momentum: float = 0.95, nesterov: bool = True,
                 ns_coefficients: tuple[float, float, float] = (3.4445, -4.775, 2.0315),
                 eps: float = 1e-7, ns_steps: int = 5, adjust_lr_fn: str | None = None):
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn not in _LR_ADJUSTMENTS:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps,
                        adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.dim() != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a "
                                     f"parameter with size: {p.size()}")

    def _check_group(self, group: dict[str, Any]) -> None:
        pass  # (checked in __init__, as PyTorch's Muon checks its options)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    self._update(p, p.grad, group)
        return loss

    def _update(self, p, grad, group: dict) -> None:
        if p.is_complex():
            raise RuntimeError("Muon does not support complex parameters")
        if grad.is_sparse:
            raise RuntimeError("Muon does not support sparse gradients")
        if grad.dim() != 2:
            raise ValueError("Param gradient must be a 2D matrix")
        state = self.state[p]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = zeros_like(grad)
        buf = state["momentum_buffer"]
        momentum = group["momentum"]
        buf.lerp_(grad, 1 - momentum)
        update = grad.lerp(buf, momentum) if group["nesterov"] else buf
        update = orthogonalize(update, tuple(group["ns_coefficients"]), group["ns_steps"],
                               group["eps"])
        lr = group["lr"]
        p.mul_(1 - lr * group["weight_decay"])
        p.add_(update, alpha=-lr * _lr_scale(group["adjust_lr_fn"], p.shape))
