"""Rprop: per-weight step sizes that grow while the gradient keeps its sign and shrink when
it flips (resilient backpropagation)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._engine import from_numpy
from .optimizer import Optimizer, ParamsT, _advance_step, _scalar_tensor

__all__ = ["Rprop"]


class Rprop(Optimizer):
    r"""Resilient backpropagation (Riedmiller & Braun 1993), PyTorch's ``torch.optim.Rprop``.

    Each weight keeps its own step size η (starting at ``lr``) and its previous gradient. With
    s = sign(g · g_prev): η ← clamp(η · η₊, step_sizes) where s > 0, η ← clamp(η · η₋, ...)
    where s < 0 (and the gradient is taken as 0 there for this step), η unchanged where s = 0;
    then θ ← θ − sign(g) η. Only the sign of the gradient is used.

    Args:
        params: tensors to optimize, or dicts of parameter groups with their own options.
        lr: the initial step size.
        etas: (η₋, η₊), the shrink and growth factors (0 < η₋ < 1 < η₊).
        step_sizes: (smallest, largest) step size.
        capturable, differentiable: must be False (CUDA graphs; steps seen by autograd).
        foreach: PyTorch's kernel choice; accepted and ignored.
        maximize: maximize the objective instead of minimizing it.

    >>> import deltagrad as dg
    >>> w = dg.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = dg.optim.Rprop([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    tensor([ 0.9000, -0.9000], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2,
                 etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False):
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes),
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        eta_minus, eta_plus = group["etas"]
        if not 0.0 < eta_minus < 1.0 < eta_plus:
            raise ValueError(f"Invalid eta values: {eta_minus}, {eta_plus}")

    def _dense_update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        eta_minus, eta_plus = (float(eta) for eta in group["etas"])
        smallest, largest = (float(size) for size in group["step_sizes"])
        if "step" not in state:
            state["step"] = _scalar_tensor()
            state["prev"] = from_numpy(np.zeros_like(p))
            state["step_size"] = from_numpy(np.full_like(p, float(group["lr"])))
        _advance_step(state)
        grad = g.copy()  # (-g of a 0-d array would be a NumPy scalar, not writable)
        if group["maximize"]:
            np.negative(grad, out=grad)
        prev = state["prev"]._data
        step_size = state["step_size"]._data
        sign = _sign(grad * prev)
        factor = np.where(sign > 0, eta_plus, np.where(sign < 0, eta_minus, 1.0))
        np.multiply(step_size, factor.astype(p.dtype), out=step_size)
        np.clip(step_size, smallest, largest, out=step_size)
        grad[sign < 0] = 0  # a flipped sign: no move this step, and no memory of it
        p -= _sign(grad) * step_size
        prev[...] = grad


def _sign(x: np.ndarray) -> np.ndarray:
    """``torch.sign``: -1, 0 or 1, and 0 for NaN (np.sign gives NaN, which made a NaN gradient
    -- CTC's impossible alignment -- a NaN parameter where PyTorch's step leaves it)."""
    return np.subtract(x > 0, x < 0, dtype=x.dtype)
