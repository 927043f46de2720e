"""NAdam: Adam with Nesterov momentum and a momentum schedule (Dozat); optional decoupled decay."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._engine import from_numpy
from ._precision import _neg_lr_scaled
from .optimizer import (
    Optimizer,
    ParamsT,
    _advance_step,
    _check_at_least,
    _check_betas,
    _decay_factor,
    _scalar_tensor,
)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016), PyTorch's ``torch.optim.NAdam`` algorithm.

    At step t of a parameter θ (t counts that parameter's own steps), with gradient ∇ (negated
    if ``maximize``) and ψ = momentum_decay::

        θ ← θ − γλθ                      (if weight_decay λ ≠ 0 and decoupled_weight_decay)
        g ← ∇ + λθ                       (if weight_decay λ ≠ 0 and not decoupled)
        μₜ ← β₁(1 − ½·0.96^(tψ)),  μₜ₊₁ ← β₁(1 − ½·0.96^((t+1)ψ))
        Πₜ ← Πₜ₋₁·μₜ                      (Π₀ = 1, kept in the state as "mu_product")
        m ← β₁m + (1 − β₁)g
        v ← β₂v + (1 − β₂)g²
        D ← √(v / (1 − β₂ᵗ)) + ε
        θ ← θ − γ(1 − μₜ)/(1 − Πₜ) · g / D − γμₜ₊₁/(1 − Πₜμₜ₊₁) · m / D

    Args:
        params: tensors to optimize, or dicts of parameter groups with their own options.
        lr: learning rate γ.
        betas: (β₁, β₂), the decay rates of the first and second moment averages.
        eps: ε, added to the denominator for numerical stability.
        weight_decay: λ; an L2 penalty, or with ``decoupled_weight_decay`` a shrinking of
            the weights (NAdamW).
        momentum_decay: ψ, how fast the momentum schedule μₜ approaches β₁.
        decoupled_weight_decay: apply weight decay to θ directly, as AdamW does.
        foreach: PyTorch's kernel choice; accepted and ignored (same arithmetic).
        maximize: maximize the objective instead of minimizing it.
        capturable, differentiable: must be False (CUDA graphs; steps seen by autograd).
    """

    _scalar_state = ("step", "mu_product")  # 0-d tensors, as PyTorch's

    def __init__(self, params: ParamsT, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        _check_betas(group["betas"])
        _check_at_least("epsilon value", group["eps"], 0.0)
        _check_at_least("weight_decay value", group["weight_decay"], 0.0)
        _check_at_least("momentum_decay value", group["momentum_decay"], 0.0)

    def _dense_update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        beta1, beta2 = (float(beta) for beta in group["betas"])
        weight_decay = float(group["weight_decay"])
        psi = float(group["momentum_decay"])
        if "step" not in state:
            state["step"] = _scalar_tensor()
            state["mu_product"] = _scalar_tensor(1.0)
            state["exp_avg"] = from_numpy(np.zeros_like(p))
            state["exp_avg_sq"] = from_numpy(np.zeros_like(p))
        step = _advance_step(state)
        direction = self._scratch(p, slot=0)
        denom = self._scratch(p, slot=1)
        work = self._scratch(p, slot=2)
        if weight_decay != 0.0 and group["decoupled_weight_decay"]:
            p *= _decay_factor(group)  # (a Tensor lr rounds as in PyTorch)
            weight_decay = 0.0
        d = self._direction(p, g, weight_decay, group["maximize"], out=direction)

        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
        # Π is kept in a float32 0-d tensor, as PyTorch's (rounded there at every step).
        product = state["mu_product"]._data
        product *= mu
        mu_product = product.item()

        m = state["exp_avg"]._data
        v = state["exp_avg_sq"]._data
        np.subtract(d, m, out=work)  # m ← m + (1 − β₁)(g − m), PyTorch's lerp form
        work *= 1.0 - beta1
        m += work
        np.multiply(d, d, out=work)
        work *= 1.0 - beta2
        v *= beta2
        v += work

        np.divide(v, 1.0 - beta2 ** step, out=denom)
        np.sqrt(denom, out=denom)
        denom += float(group["eps"])
        # Two separate additions, in PyTorch's order: the gradient term, then the momentum one.
        np.divide(d, denom, out=work)
        work *= _neg_lr_scaled(group, 1.0 - mu, 1.0 - mu_product)
        p += work
        np.divide(m, denom, out=work)
        work *= _neg_lr_scaled(group, mu_next, 1.0 - mu_product * mu_next)
        p += work
