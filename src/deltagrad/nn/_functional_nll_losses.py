"""The likelihood losses of ``torch.nn.functional`` for counts and Gaussian targets (re-exported
by ``nn.functional``): ``poisson_nll_loss`` and ``gaussian_nll_loss``, compositions of engine ops
with PyTorch's arguments and checks."""

from __future__ import annotations

import math

import numpy as np

from .. import _engine as dg
from .._engine.api._common import tensor_input as _t
from .._engine.tensor import Tensor, _leaf
from ._functional_args import tensor_or_number
from ._functional_losses import _check_reduction, _reduce, _reduction

__all__ = ["gaussian_nll_loss", "poisson_nll_loss"]


def poisson_nll_loss(input, target, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of a Poisson target: exp(x) - y x for log-rates
    (``log_input``), else x - y log(x + eps); ``full`` adds Stirling's approximation of
    log(y!) where y > 1.

    NOTE: with ``full``, PyTorch's gradient for a target of 0 is nan (0 * log 0 under its
    mask); here it is 0.

    Args:
        input: the (log-)rates, floating.
        target: counts, broadcastable to the input.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
    """
    reduction = _reduction(reduction, size_average, reduce)
    _check_reduction("poisson_nll_loss", reduction)
    if not isinstance(target, Tensor):
        raise TypeError(f"poisson_nll_loss(): argument 'target' (position 2) must be Tensor, "
                        f"not {type(target).__name__}")
    for name, value in (("log_input", log_input), ("full", full)):
        if type(value) is not bool:  # (PyTorch's parser: log_input=1 is a TypeError)
            raise TypeError(f"poisson_nll_loss(): argument '{name}' must be bool, not "
                            f"{type(value).__name__}")
    x = _t(input)
    y = target
    if log_input:
        loss = x.exp() - y * x
    else:
        loss = x - y * (x + eps).log()
    if full:
        big = _leaf(np.asarray(y._data > 1))  # (_data: bfloat16's .numpy() refuses)
        safe = dg.where(big, y, _leaf(np.full((), 2.0, dtype=np.dtype(loss.dtype))))
        stirling = safe * safe.log() - safe + 0.5 * (safe * (2 * math.pi)).log()
        loss = loss + dg.where(big, stirling, _leaf(np.zeros((), dtype=np.dtype(loss.dtype))))
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of a Gaussian target: 0.5 (log var + (input - target)² / var),
    plus 0.5 log(2π) with ``full``.

    Args:
        input: the means, floating ``[N, *]``.
        target: the input's shape (or broadcastable).
        var: the variances: a float, the input's shape, the input's shape without its last
            dimension, or broadcastable with one differing dimension (homoscedastic).
        eps: variances below it are raised to it (the gradient still reaches ``var``, as
            PyTorch's clamp under no_grad).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
    """
    x = _t(input)
    if isinstance(var, (int, bool)):
        # PyTorch takes a float var only (an int reaches torch.any(2 < 0): its TypeError).
        raise TypeError("gaussian_nll_loss(): var must be a Tensor or a float, not "
                        f"{type(var).__name__}")
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        v = _leaf(np.full(x.shape, var, dtype=np.dtype(x.dtype)))
    else:
        v = tensor_or_number(var, x, arrays=False)  # (torch.any(var < 0) refuses one)
        if np.any(v.detach().numpy() < 0):
            raise ValueError("var has negative entry/entries")
    if v.shape != x.shape:
        if x.shape[:-1] == v.shape:
            v = v.unsqueeze(-1)
        elif not (v.ndim == x.ndim and sum(b for a, b in zip(x.shape, v.shape) if a != b) == 1):
            raise ValueError(f"var is of incorrect size (var {v.shape} for input {x.shape})")
    _check_reduction("gaussian_nll_loss", reduction)
    # NOTE: PyTorch clamps a clone of var under no_grad: the value is raised to eps, the
    # gradient flows as if it were not. Adding the (constant) difference does the same.
    raw = v.detach().numpy()
    v = v + _leaf(np.maximum(raw, eps) - raw)
    diff = x - tensor_or_number(target, x)
    loss = (v.log() + diff * diff / v) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)
