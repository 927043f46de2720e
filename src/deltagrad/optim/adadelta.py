"""Adadelta: steps scaled by the ratio of running RMS of past updates to that of gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._engine import from_numpy
from .optimizer import Optimizer, ParamsT, _advance_step, _check_at_least, _scalar_tensor

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), PyTorch's ``torch.optim.Adadelta`` algorithm.

    At each step, per parameter θ with gradient ∇ (negated if ``maximize``)::

        g ← ∇ + λθ                               (if weight_decay λ ≠ 0)
        v ← ρv + (1 − ρ)g²
        Δ ← √(u + ε) / √(v + ε) · g
        u ← ρu + (1 − ρ)Δ²
        θ ← θ − γΔ

    The paper has no learning rate (γ = 1, PyTorch's default).

    Args:
        params: tensors to optimize, or dicts of parameter groups with their own options.
        lr: γ, scales Δ before it is applied.
        rho: ρ, the decay rate of both running averages, in [0, 1].
        eps: ε, added inside both square roots.
        weight_decay: L2 penalty λ, added to the gradient.
        foreach: PyTorch's kernel choice; accepted and ignored (same arithmetic).
        capturable, differentiable: must be False (CUDA graphs; steps seen by autograd).
        maximize: maximize the objective instead of minimizing it.
    """

    def __init__(self, params: ParamsT, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False, differentiable: bool = False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        _check_at_least("rho value", group["rho"], 0.0)
        if not group["rho"] <= 1.0:
            raise ValueError(f"Invalid rho value: {group['rho']!r} (must be in [0, 1])")
        _check_at_least("epsilon value", group["eps"], 0.0)
        _check_at_least("weight_decay value", group["weight_decay"], 0.0)

    def _dense_update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        rho = float(group["rho"])
        eps = float(group["eps"])
        if "step" not in state:
            state["step"] = _scalar_tensor()
            state["square_avg"] = from_numpy(np.zeros_like(p))
            state["acc_delta"] = from_numpy(np.zeros_like(p))
        _advance_step(state)
        direction = self._scratch(p, slot=0)
        delta = self._scratch(p, slot=1)
        work = self._scratch(p, slot=2)
        d = self._direction(p, g, float(group["weight_decay"]), group["maximize"], direction)
        square_avg = state["square_avg"]._data
        acc_delta = state["acc_delta"]._data

        np.multiply(d, d, out=work)
        work *= 1.0 - rho
        square_avg *= rho
        square_avg += work
        np.add(square_avg, eps, out=work)
        np.sqrt(work, out=work)  # √(v + ε)
        np.add(acc_delta, eps, out=delta)
        np.sqrt(delta, out=delta)
        delta /= work
        delta *= d
        np.multiply(delta, delta, out=work)
        work *= 1.0 - rho
        acc_delta *= rho
        acc_delta += work
        delta *= -float(group["lr"])
        p += delta
