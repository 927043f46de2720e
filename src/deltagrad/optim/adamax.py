"""Adamax: Adam with the second moment replaced by an exponentially weighted infinity norm."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._engine import from_numpy
from .optimizer import (
    Optimizer,
    ParamsT,
    _advance_step,
    _check_at_least,
    _check_betas,
    _lr_over,
    _scalar_tensor,
)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, section 7), PyTorch's ``torch.optim.Adamax`` algorithm.

    At step t of a parameter θ (t counts that parameter's own steps), with gradient ∇ (negated
    if ``maximize``)::

        g ← ∇ + λθ                       (if weight_decay λ ≠ 0)
        m ← β₁m + (1 − β₁)g
        u ← max(β₂u, |g| + ε)
        θ ← θ − (γ / (1 − β₁ᵗ)) m / u

    As in PyTorch, ε is added to |g| inside the maximum (so u > 0 from the first step).

    Args:
        params: tensors to optimize, or dicts of parameter groups with their own options.
        lr: learning rate γ.
        betas: (β₁, β₂), the decay rates of the first moment and of the infinity norm.
        eps: ε, keeps the denominator away from zero.
        weight_decay: L2 penalty λ, added to the gradient.
        foreach: PyTorch's kernel choice; accepted and ignored (same arithmetic).
        maximize: maximize the objective instead of minimizing it.
        differentiable, capturable: must be False (steps seen by autograd; CUDA graphs).

    >>> import deltagrad as dg
    >>> w = dg.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = dg.optim.Adamax([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()                  # the first step moves each weight by about lr
    >>> w
    tensor([ 0.9000, -0.9000], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, capturable: bool = False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        _check_betas(group["betas"])
        _check_at_least("epsilon value", group["eps"], 0.0)
        _check_at_least("weight_decay value", group["weight_decay"], 0.0)

    def _widened_half_update(self, p: np.ndarray) -> bool:
        return True  # (optimizer.py: Python-number factors kept in float32)

    def _dense_update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        beta1, beta2 = (float(beta) for beta in group["betas"])
        if "step" not in state:
            state["step"] = _scalar_tensor()
            state["exp_avg"] = from_numpy(np.zeros_like(p))
            state["exp_inf"] = from_numpy(np.zeros_like(p))
        step = _advance_step(state)
        direction = self._scratch(p, slot=0)
        work = self._scratch(p, slot=1)
        d = self._direction(p, g, float(group["weight_decay"]), group["maximize"], direction)
        m = state["exp_avg"]._data
        u = state["exp_inf"]._data
        # m ← m + (1 − β₁)(g − m): PyTorch's lerp form of β₁m + (1 − β₁)g
        np.subtract(d, m, out=work)
        work *= 1.0 - beta1
        m += work
        u *= beta2
        np.abs(d, out=work)
        work += float(group["eps"])
        np.maximum(u, work, out=u)
        np.divide(m, u, out=work)
        work *= -_lr_over(group, 1.0 - beta1 ** step)
        p += work
