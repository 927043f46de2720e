"""SparseAdam: Adam's lazy variant for row-sparse gradients (``Embedding(sparse=True)``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._engine import enable_grad
from .adam import _lazy_adam_update
from .optimizer import Optimizer, ParamsT, _check_betas

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    r"""Lazy Adam for sparse gradients, PyTorch's ``torch.optim.SparseAdam`` algorithm.

    Only the rows a gradient touches are updated, moments included; untouched rows keep
    their moments as they are (dense Adam decays every row at every step). At step t of a
    parameter (t counts that parameter's steps), on the touched rows, with gradient g
    (repeated rows summed first, negated if ``maximize``)::

        m ← β₁m + (1 − β₁)g
        v ← β₂v + (1 − β₂)g²
        θ ← θ − γ (√(1 − β₂ᵗ) / (1 − β₁ᵗ)) m / (√v + ε)

    Every gradient must be sparse: a dense one raises ``RuntimeError``, as in PyTorch
    (use ``Adam`` for dense parameters, in a second optimizer). ``Adam`` itself also applies
    this update to sparse gradients, so one ``Adam`` can serve a whole model.

    Args:
        params: tensors to optimize, or dicts of parameter groups with their own options.
        lr: learning rate γ (> 0).
        betas: (β₁, β₂), the decay rates of the moment averages.
        eps: ε (> 0), added to √v.
        maximize: maximize the objective instead of minimizing it.

    >>> import deltagrad as dg
    >>> table = dg.zeros(4, 2, requires_grad=True)
    >>> opt = dg.optim.SparseAdam([table], lr=0.1)
    >>> dg.nn.functional.embedding(dg.tensor([1]), table, sparse=True).sum().backward()
    >>> opt.step()                  # row 1 moves by lr; the others are not touched
    >>> table
    tensor([[ 0.0000,  0.0000],
            [-0.1000, -0.1000],
            [ 0.0000,  0.0000],
            [ 0.0000,  0.0000]], requires_grad=True)
    """

    _scalar_state = ()  # PyTorch's SparseAdam counts its steps in a Python int

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 maximize: bool = False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, maximize=maximize)
        super().__init__(params, defaults)
        # PyTorch's construction-time checks: the moments are dense arrays of real numbers.
        where = [(g, i, param) for g, group in enumerate(self.param_groups)
                 for i, param in enumerate(group["params"])]
        sparse = [[g, i] for g, i, param in where if param.is_sparse]
        if sparse:
            raise ValueError(f"Sparse params at indices {sparse}: SparseAdam requires dense "
                             f"parameter tensors")
        complex_ = [[g, i] for g, i, param in where if param.is_complex()]
        if complex_:
            raise ValueError(f"Complex params at indices {complex_}: SparseAdam does not "
                             f"support complex parameters")

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        # PyTorch wants both strictly positive here (Adam accepts 0).
        if not group["lr"] > 0.0:
            raise ValueError(f"Invalid learning rate: {group['lr']!r} (must be > 0)")
        if not group["eps"] > 0.0:
            raise ValueError(f"Invalid epsilon value: {group['eps']!r} (must be > 0)")
        _check_betas(group["betas"])

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a (sparse) gradient, once.

        Args:
            closure: optional function that recomputes the loss (see ``Optimizer.step``).

        Returns:
            The closure's loss, or None without a closure.

        Raises:
            RuntimeError: a parameter has a dense gradient (checked before anything changes).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None and not getattr(param.grad, "is_sparse", False):
                    raise RuntimeError(
                        "SparseAdam does not support dense gradients, please consider Adam "
                        f"instead (a parameter of shape {param.shape} has a dense gradient)"
                    )
        super().step()
        return loss

    def _sparse_update(self, p: np.ndarray, grad, state: dict, group: dict) -> None:
        _lazy_adam_update(p, grad, state, group, tensor_step=False)
