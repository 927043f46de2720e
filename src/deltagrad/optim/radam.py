"""RAdam: Adam whose adaptive step is switched on once its variance can be rectified."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._engine import from_numpy
from .._engine.tensor import Tensor
from .optimizer import (
    Optimizer,
    ParamsT,
    _advance_step,
    _check_at_least,
    _check_betas,
    _decay_factor,
    _scalar_tensor,
)

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""Rectified Adam (Liu et al., 2019), PyTorch's ``torch.optim.RAdam`` algorithm.

    At step t of a parameter θ (t counts that parameter's own steps), with gradient ∇ (negated
    if ``maximize``)::

        θ ← θ − γλθ                      (if weight_decay λ ≠ 0 and decoupled_weight_decay)
        g ← ∇ + λθ                       (if weight_decay λ ≠ 0 and not decoupled)
        m ← β₁m + (1 − β₁)g
        v ← β₂v + (1 − β₂)g²
        m̂ ← m / (1 − β₁ᵗ)
        ρ∞ ← 2/(1 − β₂) − 1,   ρₜ ← ρ∞ − 2tβ₂ᵗ/(1 − β₂ᵗ)
        if ρₜ > 5:
            r ← √((ρₜ − 4)(ρₜ − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρₜ))
            θ ← θ − γ m̂ · √(1 − β₂ᵗ)/(√v + ε) · r
        else:
            θ ← θ − γ m̂                  (SGD with momentum while v is too noisy)

    Args:
        params: tensors to optimize, or dicts of parameter groups with their own options.
        lr: learning rate γ.
        betas: (β₁, β₂), the decay rates of the first and second moment averages.
        eps: ε, added to √v.
        weight_decay: λ; an L2 penalty, or with ``decoupled_weight_decay`` a shrinking of
            the weights (RAdamW).
        decoupled_weight_decay: apply weight decay to θ directly, as AdamW does.
        foreach: PyTorch's kernel choice; accepted and ignored (same arithmetic).
        maximize: maximize the objective instead of minimizing it.
        capturable, differentiable: must be False (CUDA graphs; steps seen by autograd).
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        _check_betas(group["betas"])
        _check_at_least("epsilon value", group["eps"], 0.0)
        _check_at_least("weight_decay value", group["weight_decay"], 0.0)

    def _widened_half_update(self, p: np.ndarray) -> bool:
        return True  # (optimizer.py: Python-number factors kept in float32)

    def _dense_update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        lr = float(group["lr"])
        beta1, beta2 = (float(beta) for beta in group["betas"])
        weight_decay = float(group["weight_decay"])
        if "step" not in state:
            state["step"] = _scalar_tensor()
            state["exp_avg"] = from_numpy(np.zeros_like(p))
            state["exp_avg_sq"] = from_numpy(np.zeros_like(p))
        step = _advance_step(state)
        direction = self._scratch(p, slot=0)
        update = self._scratch(p, slot=1)
        work = self._scratch(p, slot=2)
        if weight_decay != 0.0 and group["decoupled_weight_decay"]:
            p *= _decay_factor(group)  # (a Tensor lr rounds as in PyTorch)
            weight_decay = 0.0
        d = self._direction(p, g, weight_decay, group["maximize"], out=direction)

        m = state["exp_avg"]._data
        v = state["exp_avg_sq"]._data
        np.subtract(d, m, out=work)  # m ← m + (1 − β₁)(g − m), PyTorch's lerp form
        work *= 1.0 - beta1
        m += work
        np.multiply(d, d, out=work)
        work *= 1.0 - beta2
        v *= beta2
        v += work

        correction1 = 1.0 - beta1 ** step
        correction2 = 1.0 - beta2 ** step
        rho_inf = 2.0 / (1.0 - beta2) - 1.0
        rho_t = rho_inf - 2.0 * step * beta2 ** step / correction2
        if isinstance(group["lr"], Tensor) and group["foreach"]:
            # PyTorch's foreach step with a Tensor lr: its step sizes are 0-d tensor ops, each
            # rounded to the lr's dtype (float32); a number times a tensor rounds the number.
            kind = group["lr"]._data.dtype.type
            rect = 1.0
            if rho_t > 5.0:
                rect = math.sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                                 / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
            size = (kind(group["lr"]._data.item()) * kind(rect)) / kind(correction1)
            if rho_t > 5.0:
                size = kind(math.sqrt(correction2)) * size
                np.sqrt(v, out=work)
                work += float(group["eps"])
                np.divide(float(size), work, out=work)
                np.multiply(m, work, out=update)
            else:
                np.multiply(m, float(size), out=update)
            p -= update
            return
        np.divide(m, correction1, out=update)
        update *= lr
        if rho_t > 5.0:
            np.sqrt(v, out=work)
            work += float(group["eps"])
            np.divide(math.sqrt(correction2), work, out=work)
            update *= work
            update *= math.sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                                / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
        p -= update
