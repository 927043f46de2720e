"""Stochastic gradient descent, with optional (Nesterov) momentum and L2 weight decay."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._engine.api.creation import from_numpy
from .._engine.sparse import RowSparseGrad
from .._engine.tensor import Tensor
from . import _bf16, _differentiable
from .optimizer import Optimizer, ParamsT, _check_not_negative, _coalesce_rows

__all__ = ["SGD"]

_CHUNK_BYTES = 1 << 19  # SGD's update of a large parameter goes a chunk of this size at a time


class SGD(Optimizer):
    r"""Stochastic gradient descent, PyTorch's ``torch.optim.SGD`` algorithm.

    At each step, per parameter θ with gradient ∇ (negated if ``maximize``)::

        g ← ∇ + λθ                                  (if weight_decay λ ≠ 0)
        b ← g at the first step, else μb + (1 − τ)g  (if momentum μ ≠ 0; τ = dampening)
        g ← g + μb if nesterov, else b              (if momentum μ ≠ 0)
        θ ← θ − γg                                  (γ = lr)

    As in PyTorch (and unlike Sutskever et al.), the learning rate multiplies the whole
    velocity, and the first velocity is the gradient itself, not damped.

    A row-sparse gradient (``Embedding(sparse=True)``) updates only the rows it touches; it
    needs momentum = 0 and weight_decay = 0 in that parameter's group (both would touch every
    row), as in PyTorch.

    Args:
        params: tensors to optimize, or dicts of parameter groups with their own options.
        lr: learning rate γ.
        momentum: momentum factor μ.
        dampening: dampening τ of the gradient added to the velocity.
        weight_decay: L2 penalty λ, added to the gradient.
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening = 0).
        maximize: maximize the objective instead of minimizing it.
        foreach, fused: PyTorch's kernel choices; accepted and ignored (same arithmetic).
        differentiable: record the step in the autograd graph (non-leaf parameters;
            optim/_differentiable.py).

    >>> import deltagrad as dg
    >>> w = dg.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = dg.optim.SGD([w], lr=0.5, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     w.sum().backward()          # gradient 1 everywhere
    ...     opt.step()
    >>> w                               # 1 - 0.5 * (1 + 1.9)
    tensor([-0.4500,  0.5500], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False,
                 *, maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _check_lr(self, lr: Any) -> None:
        _check_not_negative("learning rate", lr)  # (PyTorch's SGD form: NaN passes)

    def _check_group(self, group: dict[str, Any]) -> None:
        # PyTorch's SGD checks (no check of dampening's sign).
        super()._check_group(group)
        _check_not_negative("momentum value", group["momentum"], "momentum")
        _check_not_negative("weight_decay value", group["weight_decay"], "weight_decay")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _param_state(self, param: Tensor, group: dict) -> dict:
        # Without momentum SGD keeps no state: optimizer.state stays empty, as PyTorch's
        # (dense and sparse gradients alike).
        if group["momentum"] != 0:
            return self.state[param]
        return {}

    def _differentiable_update(self, param: Tensor, grad: Tensor, state: dict,
                               group: dict) -> None:
        _differentiable.sgd(param, grad, state, group)

    def _duplicated_updates(self, items: list[tuple[Tensor, np.ndarray]], group: dict) -> None:
        # PyTorch's SGD reads each entry's momentum buffer before the loop and stores them back
        # after it: an entry without one at the start starts its own (from the gradient) and
        # the last entry's buffer is kept; entries with one share it.
        without = {id(param) for param, _ in items
                   if self._param_state(param, group).get("momentum_buffer") is None}
        for param, g in items:
            state = self._param_state(param, group)
            if id(param) not in without:
                self._dense_update(param._data, g, state, group)
                continue
            own: dict = {}
            self._dense_update(param._data, g, own, group)
            if "momentum_buffer" in own:
                state["momentum_buffer"] = own["momentum_buffer"]

    # Whether this group's bfloat16 momentum buffers are multiplied as PyTorch's foreach step
    # does (set by _dense_updates for the group being stepped).
    _foreach_bf16_mul = False

    def _dense_updates(self, items: list[tuple[Tensor, np.ndarray]], group: dict) -> None:
        # PyTorch's foreach SGD scales the buffers with _foreach_mul_, whose CPU kernel rounds
        # the momentum to bfloat16 first (mul_ does not), when every bfloat16 parameter it
        # steps has a buffer already (else it runs mul_ one parameter at a time).
        self._foreach_bf16_mul = bool(group.get("foreach")) and all(
            self._param_state(param, group).get("momentum_buffer") is not None
            for param, _ in items if _bf16.holds(param._data))
        try:
            super()._dense_updates(items, group)
        finally:
            self._foreach_bf16_mul = False

    def _dense_update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        if _bf16.holds(p):  # PyTorch's rounding after each operation (optim/_bf16.py)
            _bf16.sgd_step(p, g, state, group, foreach_mul=self._foreach_bf16_mul)
            return
        lr = float(group["lr"])
        momentum = float(group["momentum"])
        weight_decay = float(group["weight_decay"])
        maximize = group["maximize"]
        # (a work array as large as p only where one is needed: not for W3's plain SGD)
        work = self._scratch(p) if weight_decay != 0.0 or maximize or momentum != 0.0 else None
        d = self._direction(p, g, weight_decay, maximize, out=work)
        if momentum == 0.0:
            self._add_scaled(p, d, -lr, work)
            return
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = np.array(d, dtype=p.dtype)  # b₁ = g: a copy, since d may be g or work
            state["momentum_buffer"] = from_numpy(buf)
        else:
            buf = buf._data
            buf *= momentum
            dampening = float(group["dampening"])
            if dampening == 0.0:
                buf += d
            else:
                np.multiply(d, 1.0 - dampening, out=work)
                buf += work
        if group["nesterov"]:
            step = self._scratch(p, slot=1)  # d may live in work, so a second work array
            np.multiply(buf, momentum, out=step)
            if d is g and group.get("foreach") and g.flags.writeable:
                # PyTorch's foreach step adds momentum * buffer into the gradients themselves
                # (_foreach_add_(grads, bufs), without maximize and weight decay): p.grad
                # holds the Nesterov direction after step(), as there.
                g += step
                np.multiply(g, -lr, out=step)
            else:
                step += d
                step *= -lr
            p += step
        else:
            self._add_scaled(p, buf, -lr, work)

    def _add_scaled(self, p: np.ndarray, d: np.ndarray, scale: float,
                    work: np.ndarray | None) -> None:
        """``p += d * scale`` (the product rounded, then the sum, as PyTorch's ``add_(d,
        alpha=scale)``), a cache-sized chunk at a time when the arrays are large and
        contiguous: the product then stays in the cache instead of going through memory. W3's
        eight 1024 x 1024 float32 weights alone: 5.25 -> 3.31 ms (alternated, 1 thread; 128 KB
        chunks 4.0, 1 MB 4.1); in the W3 step, opt.step() 7.3 -> 6.4 ms and the step 0.987 of
        its time (ab.py --workload w3, 20 rounds); the same numbers. ``work`` (p's shape, or
        None) may be d."""
        size = max(_CHUNK_BYTES // p.itemsize, 1)
        if (p.size <= 2 * size or not p.flags.c_contiguous or not d.flags.c_contiguous
                or d.dtype != p.dtype):
            if work is None:
                work = self._scratch(p)
            np.multiply(d, scale, out=work)
            p += work
            return
        flat_p, flat_d = p.reshape(-1), d.reshape(-1)
        work = self._scratch(flat_p[:size], slot=1)
        for start in range(0, flat_p.size, size):
            piece = flat_p[start:start + size]
            w = work[:piece.size]
            np.multiply(flat_d[start:start + size], scale, out=w)
            piece += w

    def _sparse_update(self, p: np.ndarray, grad: RowSparseGrad, state: dict,
                       group: dict) -> None:
        if group.get("fused"):
            raise RuntimeError("`_fused_sgd` does not support sparse gradients")
        if group["momentum"] != 0 or group["weight_decay"] != 0:
            raise RuntimeError(
                "SGD with momentum or weight_decay does not support sparse gradients (from "
                "Embedding(sparse=True)): both would change every row. Put the embedding in "
                "its own param group with momentum=0 and weight_decay=0, or use sparse=False"
            )
        rows, values = _coalesce_rows(grad, p.dtype)
        lr = float(group["lr"])
        values *= lr if group["maximize"] else -lr
        p_rows = p.take(rows, axis=0)  # rows are unique: gather, add, scatter
        p_rows += values
        p[rows] = p_rows

