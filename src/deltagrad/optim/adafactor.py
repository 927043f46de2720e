"""Adafactor: Adam-like steps with a factored second moment (row and column averages) for
matrices, so its state is O(n + m) for an n x m weight (PyTorch 2.5's ``torch.optim.Adafactor``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._engine.api.creation import from_numpy
from .._engine.tensor import Tensor
from ._precision import lerp_into
from .optimizer import (
    Optimizer,
    ParamsT,
    _advance_step,
    _check_implementation_flags,
    _scalar_tensor,
)

__all__ = ["Adafactor"]

# Moments kept apart from the base loader (its shape check and its 0-d arrays -> numbers).
_MOMENTS = ("row_var", "col_var", "variance")


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


_lerp_ = lerp_into  # PyTorch's lerp_, as its implementation updates the moments


class Adafactor(Optimizer):
    r"""Adafactor (Shazeer & Stern, 2018) as PyTorch defines it.

    At step t of a parameter θ with gradient G (negated if ``maximize``), with
    β̂ = 1 − t^τ (τ = ``beta2_decay``), ρ = min(γ, 1/√t) and α = max(ε₂, RMS(θ)) ρ::

        θ ← θ − γλθ                                   (decoupled weight decay, λ)
        matrices (≥ 2 dims, batched over leading dims):
            R ← β̂R + (1 − β̂) mean over columns of G²   (one value per row)
            C ← β̂C + (1 − β̂) mean over rows of G²      (one value per column)
            V ← R C / max(mean of R, ε₁)
        otherwise:
            V ← β̂V + (1 − β̂) G²
        U ← G / max(√V, ε₁);  U ← U / max(1, RMS(U) / d);  θ ← θ − αU

    ε₁ defaults to the dtype's machine epsilon. As in PyTorch, the learning rate γ only caps the
    relative step size ρ and scales the weight decay.

    Args:
        params: tensors to optimize, or dicts of parameter groups with their own options.
        lr: γ.
        beta2_decay: τ (≤ 0): the second moment's decay rate 1 − t^τ grows toward 1.
        eps: (ε₁, ε₂); ε₁ None means the dtype's epsilon.
        d: the clipping threshold of the update's RMS (≥ 1).
        weight_decay: λ.
        foreach: PyTorch's kernel choice; accepted and ignored.
        maximize: maximize the objective instead of minimizing it.

    State per parameter: ``step``, and ``row_var`` (``[..., n, 1]``) and ``col_var``
    (``[..., 1, m]``) for matrices, or ``variance`` (the parameter's shape).

    >>> import deltagrad as dg
    >>> w = dg.tensor([[1.0, -1.0], [2.0, 0.5]], requires_grad=True)
    >>> opt = Adafactor([w], lr=0.01)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> [round(v, 4) for v in w.detach().numpy().ravel().tolist()]
    [0.9908, -0.9816, 1.9874, 0.4937]
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0,
                 weight_decay: float = 0.0, *, foreach: bool | None = None,
                 maximize: bool = False) -> None:
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=tuple(eps), d=d,
                        weight_decay=weight_decay, foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        # PyTorch's checks and messages.
        lr, eps = group["lr"], group["eps"]
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= group["beta2_decay"]:
            raise ValueError(f"beta2_decay should be <= 0 but is: {group['beta2_decay']}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= group["d"]:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {group['d']}")
        if not 0.0 <= group["weight_decay"]:
            raise ValueError(f"weight_decay should be >= 0 but is: {group['weight_decay']}")
        _check_implementation_flags(type(self).__name__, group)

    def _updates_with_complex(self, items: list, group: dict) -> None:
        # PyTorch's Adafactor refuses complex parameters before updating the group.
        raise RuntimeError("Adafactor does not support complex parameters")

    def _dense_update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        lr = float(group["lr"])
        eps1, eps2 = group["eps"]
        if eps1 is None:
            eps1 = float(np.finfo(p.dtype).eps)
        if group["maximize"]:
            g = -g
        if "step" not in state:
            state["step"] = _scalar_tensor()
            if g.ndim > 1:
                state["row_var"] = from_numpy(np.zeros(g.shape[:-1] + (1,), dtype=p.dtype))
                state["col_var"] = from_numpy(
                    np.zeros(g.shape[:-2] + (1, g.shape[-1]), dtype=p.dtype))
            else:
                state["variance"] = from_numpy(np.zeros_like(p))
        step = _advance_step(state)
        beta2 = 1.0 - step ** float(group["beta2_decay"])
        # A Tensor lr (float32): where it is the smaller, ρ is that tensor, and α and the decay
        # factor are 0-d tensor ops rounded to its dtype, as in PyTorch.
        lr_tensor = group["lr"] if isinstance(group["lr"], Tensor) else None
        kind = lr_tensor._data.dtype.type if lr_tensor is not None else None
        root = 1.0 / math.sqrt(step)
        alpha = max(float(eps2), _rms(p))
        alpha_tensor = lr_tensor is not None and not root < lr
        alpha = float(kind(alpha) * kind(lr)) if alpha_tensor else alpha * min(lr, root)
        if group["weight_decay"] != 0.0:
            if lr_tensor is not None:
                factor = float(kind(1) - kind(lr) * kind(group["weight_decay"]))
            else:
                factor = 1.0 - lr * float(group["weight_decay"])
            # (a float32 factor: NumPy would round a Python number to a half parameter's
            # dtype first, PyTorch's mul_ does not)
            p[...] = p * np.float32(factor) if p.itemsize == 2 else p * factor
        squared = np.square(g)
        if g.ndim > 1:
            row_var = state["row_var"]._data
            col_var = state["col_var"]._data
            _lerp_(row_var, squared.mean(axis=-1, keepdims=True), 1.0 - beta2)
            _lerp_(col_var, squared.mean(axis=-2, keepdims=True), 1.0 - beta2)
            row_mean = np.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
            variance = row_var * col_var / row_mean
        else:
            variance = state["variance"]._data
            _lerp_(variance, squared, 1.0 - beta2)
        update = g / np.maximum(np.sqrt(variance), eps1)
        denom = max(1.0, _rms(update) / float(group["d"]))
        # PyTorch's add_(update, alpha=-α / denom): the scale first (a 0-d tensor op if α is)
        scale = float(-kind(alpha) / kind(denom)) if alpha_tensor else -alpha / denom
        p += (update * scale).astype(p.dtype, copy=False)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore state and options saved by ``state_dict`` (see ``Optimizer``); the moments
        (``row_var``, ``col_var``, ``variance``) are checked against the parameter's shape."""
        if not isinstance(state_dict, dict) or "state" not in state_dict:
            super().load_state_dict(state_dict)  # raises the usual error
            return
        plain, factored = {}, {}
        for key, entry in state_dict["state"].items():
            plain[key] = {name: value for name, value in entry.items() if name not in _MOMENTS}
            factored[key] = {name: value for name, value in entry.items() if name in _MOMENTS}
        super().load_state_dict({**state_dict, "state": plain})
        id_to_param = {}
        for saved, group in zip(state_dict["param_groups"], self.param_groups):
            for saved_id, param in zip(saved["params"], group["params"]):
                id_to_param[int(saved_id)] = param
        for key, entry in factored.items():
            if not entry:
                continue
            param = id_to_param[int(key)]
            shape = tuple(param.shape)
            shapes = {"row_var": shape[:-1] + (1,), "col_var": shape[:-2] + (1,) + shape[-1:],
                      "variance": shape}
            for name, value in entry.items():
                array = value.detach().numpy() if isinstance(value, Tensor) else np.asarray(value)
                if array.shape != shapes[name]:
                    raise ValueError(f"loaded state {name!r} has shape {array.shape} but its "
                                     f"parameter (shape {tuple(param.shape)}) needs "
                                     f"{shapes[name]}")
                self.state[param][name] = from_numpy(np.array(array, dtype=param.dtype))
