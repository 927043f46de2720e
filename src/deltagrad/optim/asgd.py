"""ASGD: SGD with a decaying step size and a running (Polyak-Ruppert) average of the iterates."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._engine import from_numpy
from .._engine.dtypes import float64, get_default_dtype
from .._engine.tensor import Tensor
from .optimizer import (
    Optimizer,
    ParamsT,
    _advance_step,
    _check_at_least,
    _scalar_tensor,
)

__all__ = ["ASGD"]


class ASGD(Optimizer):
    r"""Averaged SGD (Polyak & Juditsky, 1992), PyTorch's ``torch.optim.ASGD`` algorithm.

    At step t of a parameter θ, with gradient ∇ (negated if ``maximize``), a step size η and an
    averaging rate μ that start at γ and 1::

        g ← ∇ + λθ                            (if weight_decay λ ≠ 0)
        θ ← θ(1 − λ_d η) − ηg                 (λ_d = lambd)
        ā ← θ if μ = 1, else ā + μ(θ − ā)     (the average, state "ax")
        η ← γ / (1 + λ_d γ t)^α
        μ ← 1 / max(1, t − t₀)

    The parameters follow plain decaying-step SGD; the average ``optimizer.state[p]["ax"]``
    (averaging starts after t₀ steps) is what one evaluates with. As in PyTorch, η and μ for
    the next step are computed after this one, from the lr in force now.

    Args:
        params: tensors to optimize, or dicts of parameter groups with their own options.
        lr: learning rate γ.
        lambd: λ_d, the decay term (of both θ and the step size).
        alpha: α, the power of the step-size decay.
        t0: t₀, the step at which averaging starts.
        weight_decay: L2 penalty λ, added to the gradient.
        foreach: PyTorch's kernel choice; accepted and ignored (same arithmetic).
        maximize: maximize the objective instead of minimizing it.
        differentiable, capturable: must be False (steps seen by autograd; CUDA graphs).
    """

    _scalar_state = ("step", "eta", "mu")  # 0-d tensors, as PyTorch's

    def __init__(self, params: ParamsT, lr: float = 1e-2, lambd: float = 1e-4,
                 alpha: float = 0.75, t0: float = 1e6, weight_decay: float = 0,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False):
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        _check_at_least("weight_decay value", group["weight_decay"], 0.0)

    def _widened_half_update(self, p: np.ndarray) -> bool:
        return True  # (optimizer.py: Python-number factors kept in float32)

    def _dense_update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        lr = float(group["lr"])
        lambd = float(group["lambd"])
        if "step" not in state:
            state["step"] = _scalar_tensor()
            state["eta"] = _scalar_tensor(lr)
            state["mu"] = _scalar_tensor(1.0)
            state["ax"] = from_numpy(np.zeros_like(p))
        step = _advance_step(state)
        # η and μ live in 0-d tensors (float32, as PyTorch's): the step uses their rounded values.
        eta_array, mu_array = state["eta"]._data, state["mu"]._data
        eta = eta_array.item()
        mu = mu_array.item()
        direction = self._scratch(p, slot=0)
        work = self._scratch(p, slot=1)
        d = self._direction(p, g, float(group["weight_decay"]), group["maximize"], direction)
        p *= 1.0 - lambd * eta
        np.multiply(d, -eta, out=work)
        p += work
        ax = state["ax"]._data
        if mu != 1.0:
            np.subtract(p, ax, out=work)
            work *= mu
            ax += work
        else:
            np.copyto(ax, p)
        tensor_lr = isinstance(group["lr"], Tensor)
        if tensor_lr or group["foreach"]:
            # PyTorch's 0-d tensor ops, each rounded to float32: with a Tensor lr, or in its
            # foreach step, which multiplies the (tensor) step count in. A number over a
            # tensor is its reciprocal times the number there.
            # (the step count's dtype, which a loaded state keeps while eta becomes the
            # parameter's: float64 after load_state_dict into float64 parameters)
            kind = state["step"]._data.dtype.type
            if tensor_lr:
                kind = group["lr"]._data.dtype.type
                lr_t = kind(group["lr"]._data.item())
                base = kind(1) + kind(lambd) * lr_t * kind(step)
            else:
                base = kind(1) + kind(lambd * lr) * kind(step)
            base = base ** kind(group["alpha"])  # (NumPy scalars: powf, as PyTorch's pow)
            eta_array[()] = lr_t / base if tensor_lr else (kind(1) / base) * kind(lr)
        else:
            eta_array[()] = _as_default(lr / (1.0 + lambd * lr * step) ** float(group["alpha"]))
        # (PyTorch's torch.as_tensor of the Python number: rounded to the default dtype, also
        # when a loaded state holds eta / mu in float64)
        mu_array[()] = _as_default(1.0 / max(1.0, step - float(group["t0"])))


def _as_default(value: float):
    """``value`` rounded to the default dtype, as ``torch.as_tensor(value)``."""
    return value if get_default_dtype() == float64 else float(np.float32(value))
