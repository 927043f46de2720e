"""Adagrad: per-coordinate learning rates from the running sum of squared gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._engine.api.creation import from_numpy
from .._engine.sparse import RowSparseGrad
from .._engine.tensor import Tensor
from . import _differentiable
from .optimizer import (
    Optimizer,
    ParamsT,
    _advance_step,
    _check_at_least,
    _coalesce_rows,
    _lr_over,
    _scalar_tensor,
)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al.), PyTorch's ``torch.optim.Adagrad`` algorithm.

    At step t of a parameter θ (t counts that parameter's own steps), with gradient ∇ (negated
    if ``maximize``) and a sum s that starts at ``initial_accumulator_value``::

        γ̃ ← γ / (1 + (t − 1)η)           (η = lr_decay)
        g ← ∇ + λθ                        (if weight_decay λ ≠ 0)
        s ← s + g²
        θ ← θ − γ̃ g / (√s + ε)

    A row-sparse gradient (``Embedding(sparse=True)``) updates s and θ on the touched rows only
    (as PyTorch does), with t still counting every step of the parameter; it needs
    weight_decay = 0 in that parameter's group.

    Args:
        params: tensors to optimize, or dicts of parameter groups with their own options.
        lr: learning rate γ.
        lr_decay: η, decays the learning rate with the step count.
        weight_decay: L2 penalty λ, added to the gradient.
        initial_accumulator_value: the starting value of every coordinate of s.
        eps: ε, added to the denominator for numerical stability.
        foreach, fused: PyTorch's kernel choices; accepted and ignored (same arithmetic).
        maximize: maximize the objective instead of minimizing it.
        differentiable: record the step in the autograd graph (non-leaf parameters;
            optim/_differentiable.py).

    >>> import deltagrad as dg
    >>> w = dg.tensor([3.0, -3.0], requires_grad=True)
    >>> opt = dg.optim.Adagrad([w], lr=1.0)
    >>> (w * w).sum().backward()
    >>> opt.step()                  # the first step is lr * g / |g|
    >>> w
    tensor([ 2., -2.], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        # As PyTorch's, Adagrad's state exists from the start (a state dict saved before the
        # first step has it); parameters added later get theirs at their first step.
        for group in self.param_groups:
            for param in group["params"]:
                self._init_state(param._data, self.state[param], group)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        _check_at_least("lr_decay value", group["lr_decay"], 0.0)
        _check_at_least("weight_decay value", group["weight_decay"], 0.0)
        _check_at_least("initial_accumulator_value", group["initial_accumulator_value"], 0.0)
        _check_at_least("epsilon value", group["eps"], 0.0)

    @staticmethod
    def _init_state(p: np.ndarray, state: dict, group: dict) -> None:
        if "step" not in state:
            state["step"] = _scalar_tensor()
            initial = float(group["initial_accumulator_value"])
            if p.dtype.kind == "c":  # (PyTorch starts both halves of a complex sum there)
                initial = complex(initial, initial)
            state["sum"] = from_numpy(np.full_like(p, initial))

    @staticmethod
    def _step_lr(p: np.ndarray, state: dict, group: dict) -> float:
        """Create the state on first use, count the step, return the decayed lr γ̃."""
        Adagrad._init_state(p, state, group)
        step = _advance_step(state)
        return _lr_over(group, 1.0 + (step - 1) * float(group["lr_decay"]))

    def _differentiable_update(self, param: Tensor, grad: Tensor, state: dict,
                               group: dict) -> None:
        self._init_state(param._data, state, group)
        _differentiable.adagrad(param, grad, state, group)

    def _widened_half_update(self, p: np.ndarray) -> bool:
        return True  # (optimizer.py: Python-number factors kept in float32)

    def _dense_update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        lr = self._step_lr(p, state, group)
        weight_decay = float(group["weight_decay"])
        maximize = group["maximize"]
        total = state["sum"]._data
        direction = self._scratch(p, slot=0)
        work = self._scratch(p, slot=1)
        d = self._direction(p, g, weight_decay, maximize, out=direction)
        np.multiply(d, d, out=work)
        total += work
        np.sqrt(total, out=work)
        work += float(group["eps"])
        np.divide(d, work, out=work)
        work *= -lr
        p += work

    def _sparse_update(self, p: np.ndarray, grad: RowSparseGrad, state: dict,
                       group: dict) -> None:
        if group.get("fused"):
            raise RuntimeError("`fused` does not support sparse grad or complex param")
        if group["weight_decay"] != 0:
            raise RuntimeError(
                "Adagrad with sparse gradients (from Embedding(sparse=True)) needs "
                "weight_decay=0, as in PyTorch; put the embedding in its own param group with "
                "weight_decay=0, or use sparse=False"
            )
        lr = self._step_lr(p, state, group)
        rows, g = _coalesce_rows(grad, p.dtype)
        if group["maximize"]:
            np.negative(g, out=g)
        total = state["sum"]._data
        total_rows = total.take(rows, axis=0)  # faster than total[rows]
        total_rows += g * g
        total[rows] = total_rows
        update = np.sqrt(total_rows, out=total_rows)
        update += float(group["eps"])
        np.divide(g, update, out=update)
        update *= -lr
        p_rows = p.take(rows, axis=0)
        p_rows += update
        p[rows] = p_rows
