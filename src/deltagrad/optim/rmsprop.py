"""RMSprop: gradients scaled by a running root mean square, optionally centered, with momentum."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._engine.api.creation import from_numpy
from .._engine.sparse import RowSparseGrad
from .._engine.tensor import Tensor
from . import _differentiable
from .optimizer import Optimizer, ParamsT, _advance_step, _check_at_least, _scalar_tensor

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton; centered: Graves), PyTorch's ``torch.optim.RMSprop`` algorithm.

    At each step, per parameter θ with gradient ∇ (negated if ``maximize``)::

        g ← ∇ + λθ                    (if weight_decay λ ≠ 0)
        v ← αv + (1 − α)g²
        ṽ ← v − ḡ², ḡ ← αḡ + (1 − α)g  (if centered; ḡ updated first; else ṽ = v)
        b ← μb + g / (√ṽ + ε)          (if momentum μ > 0; then θ ← θ − γb)
        θ ← θ − γ g / (√ṽ + ε)         (if momentum μ = 0)

    ε is added after the square root, as in PyTorch (TensorFlow adds it inside). Row-sparse
    gradients are refused: the running averages decay every row at every step.

    Args:
        params: tensors to optimize, or dicts of parameter groups with their own options.
        lr: learning rate γ.
        alpha: α, the decay rate of the running averages.
        eps: ε, added to the denominator for numerical stability.
        weight_decay: L2 penalty λ, added to the gradient.
        momentum: momentum factor μ.
        centered: normalize by an estimate of the gradient's variance rather than its second
            moment.
        capturable: must be False (CUDA graphs).
        differentiable: record the step in the autograd graph (optim/_differentiable.py).
        foreach: PyTorch's kernel choice; accepted and ignored (same arithmetic).
        maximize: maximize the objective instead of minimizing it.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False):
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable,
                        foreach=foreach, maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        _check_at_least("alpha value", group["alpha"], 0.0)
        _check_at_least("epsilon value", group["eps"], 0.0)
        _check_at_least("weight_decay value", group["weight_decay"], 0.0)
        _check_at_least("momentum value", group["momentum"], 0.0)

    @staticmethod
    def _init_state(p: np.ndarray, state: dict, group: dict) -> None:
        if "step" not in state:
            state["step"] = _scalar_tensor()
            state["square_avg"] = from_numpy(np.zeros_like(p))
        if group["momentum"] > 0.0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = from_numpy(np.zeros_like(p))
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = from_numpy(np.zeros_like(p))

    def _differentiable_update(self, param: Tensor, grad: Tensor, state: dict,
                               group: dict) -> None:
        self._init_state(param._data, state, group)
        _differentiable.rmsprop(param, grad, state, group)

    def _dense_update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        lr = float(group["lr"])
        alpha = float(group["alpha"])
        weight_decay = float(group["weight_decay"])
        momentum = float(group["momentum"])
        maximize = group["maximize"]
        self._init_state(p, state, group)
        _advance_step(state)
        square_avg = state["square_avg"]._data
        direction = self._scratch(p, slot=0)
        work = self._scratch(p, slot=1)

        d = self._direction(p, g, weight_decay, maximize, out=direction)

        np.multiply(d, d, out=work)
        work *= 1.0 - alpha
        square_avg *= alpha
        square_avg += work
        if group["centered"]:
            grad_avg = state["grad_avg"]._data
            np.multiply(d, 1.0 - alpha, out=work)
            grad_avg *= alpha
            grad_avg += work
            np.multiply(grad_avg, grad_avg, out=work)
            np.subtract(square_avg, work, out=work)
            np.sqrt(work, out=work)
        else:
            np.sqrt(square_avg, out=work)
        work += float(group["eps"])
        np.divide(d, work, out=work)  # g / (√ṽ + ε)
        if momentum > 0.0:
            buf = state["momentum_buffer"]._data
            buf *= momentum
            buf += work
            np.multiply(buf, -lr, out=work)
        else:
            work *= -lr
        p += work

    def _sparse_update(self, p: np.ndarray, grad: RowSparseGrad, state: dict,
                       group: dict) -> None:
        raise RuntimeError(
            "RMSprop does not support sparse gradients (from Embedding(sparse=True)): its "
            "running averages change every row at every step. Use Adam, Adagrad or SGD for "
            "the embedding, or sparse=False"
        )
