"""The checks and reductions the losses of ``nn.functional`` share: ``reduction`` (and the
deprecated ``size_average`` / ``reduce`` pair), the reduction itself, a floating input, an
input-target pair broadcast with PyTorch's warning, promotion for the fused kernels, an
elementwise ``weight``, and the class-id range check (``_all_below``). Moved out of
``_functional_losses`` (session 27, FS1) to keep it under the 800-line limit;
``_functional_losses`` imports them back, so the other loss modules' imports are unchanged.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import _engine as dg
from .._engine.api._common import NotATensorError
from .._engine.api._common import tensor_input as _t
from .._engine.autograd import ShapeError
from .._engine.tensor import Tensor

_REDUCTIONS = ("none", "mean", "sum")


def _reduction(reduction: str, size_average=None, reduce=None) -> str:
    """``reduction``, or the one the deprecated ``size_average`` / ``reduce`` pair implies."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    result = ("mean" if size_average else "sum") if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use "
                  f"reduction='{result}' instead.", stacklevel=3)
    return result


def _check_reduction(name: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'none', 'mean' or 'sum', got "
                         f"{reduction!r} ({reduction} is not a valid value for reduction)")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _floating(name: str, x: Tensor) -> Tensor:
    if x._data.dtype.kind != "f" and x._data.dtype is not dg.bf16.BF16:
        raise NotImplementedError(f"{name}: not implemented for {x.dtype} input of shape "
                                  f"{x.shape}; a floating-point tensor is expected")
    return x


def _pointwise_pair(name: str, input, target, stacklevel: int = 3):
    """Input and target of an elementwise loss, broadcast, warning as PyTorch when their
    shapes differ."""
    x = _t(input, 2)
    if not isinstance(target, Tensor):  # (PyTorch reads target.size() first, or its parser)
        raise NotATensorError(f"'{type(target).__name__}' object has no attribute 'size' ({name})")
    y = target
    if y._data.shape != x._data.shape:  # (not the Sizes: 1.0 -> 0.3 us)
        warnings.warn(f"Using a target size ({y.shape}) that is different to the input size "
                      f"({x.shape}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.",
                      stacklevel=stacklevel)
        try:
            shape = np.broadcast_shapes(x.shape, y.shape)
        except ValueError:
            raise ShapeError(f"{name}: the size of target {y.shape} does not broadcast with "
                             f"the input's {x.shape}") from None
        x, y = x.expand(shape), y.expand(shape)
    return x, y


def _promoted(kernel: str, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Input and target in their promoted dtype, which must be floating (PyTorch's fused
    mse / smooth_l1 kernels: a bool or integer input with a floating target works)."""
    if (found := x._data.dtype) is y._data.dtype and found.kind == "f":  # (one float dtype:
        return x, y  # no result_type: smooth_l1_loss fwd + bwd [3, 4] 0.95 -> 0.91, s23 SP9)
    dtype = dg.result_type(x, y)
    if not dtype.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for {dtype} (input {x.dtype} of '
                                  f"shape {x.shape}, target {y.dtype}); a floating-point "
                                  "input or target is expected")
    return (x if x.dtype == dtype else x.to(dtype)), (y if y.dtype == dtype else y.to(dtype))


def _weighted(name: str, loss: Tensor, weight, reduction: str, mean_by_weight: bool = True):
    """PyTorch's elementwise ``weight``: mse's and l1's weighted mean divides by the weights'
    sum, huber's by the number of elements (``mean_by_weight=False``)."""
    if weight is None:
        return _reduce(loss, reduction)
    w = _t(weight, 2)
    if w.shape != loss.shape:
        raise ValueError(f"{name}: weights and input must have the same size (weight "
                         f"{w.shape}, input {loss.shape})")
    loss = loss * w
    if reduction == "mean" and mean_by_weight:
        return loss.sum() / w.sum()
    return _reduce(loss, reduction)


def _all_below(ids: np.ndarray, num: int) -> bool:
    """Whether every id is in [0, num), in one pass: a negative int of 4 bytes or more, read
    as unsigned, is at least 2**31, more rows than any table has. Up to 16 ids through a
    list (0.3-0.6 us against 1.0: ctc_loss checks three small arrays so)."""
    if ids.size <= 16:
        values = ids.ravel().tolist()
        return not values or (min(values) >= 0 and max(values) < num)
    if ids.dtype.kind == "i":
        if ids.dtype.itemsize >= 4 and ids.dtype.isnative and num < 2 ** 31:
            ids = ids.view(_UNSIGNED[ids.dtype.itemsize])
        elif np.minimum.reduce(ids, axis=None) < 0:
            return False
    return int(np.maximum.reduce(ids, axis=None)) < num


_UNSIGNED = {4: np.dtype(np.uint32), 8: np.dtype(np.uint64)}
