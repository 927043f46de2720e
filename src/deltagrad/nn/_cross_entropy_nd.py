"""``cross_entropy`` of logits ``[N, C, d1, ...]`` with class-index targets ``[N, d1, ...]``
(and of ``[N, C]`` with class weights): the general path's target distribution built in fewer
NumPy calls (used by ``_functional_losses.cross_entropy``).

The loss is the general path's very op on the very same target distribution (1 at each counted
target, 0 elsewhere, divided by the count for "mean"), so values and gradients keep its bits.
Feeding these logits to the class-index op instead, with the class dim moved last, was
measured and rejected: over 400 random shapes of 3-4 dims (float32 / float64, the three
reductions, ignore_index None / 0 / -1) it lost PyTorch's bits in 65 of the cases that match
them today (values; gradients 4), while gaining others (SP8 s22).
"""

from __future__ import annotations

import numpy as np

from .._engine.autograd import DTypeError, ShapeError, is_grad_enabled
from .._engine.forward_errors import SCALAR_WORDS as _SCALAR_WORDS
from .._engine.node_names import name_node
from .._engine.ops.nn import SOFTMAX_CROSS_ENTROPY, Scratch, _rows
from .._engine.tensor import Tensor, _leaf, apply

__all__ = ["nd_class_index_loss", "nll_node_name"]

_CLASSES: dict[tuple, np.ndarray] = {}


def _classes(n_classes: int, ndim: int) -> np.ndarray:
    """``arange(C)`` shaped ``[C, 1, ...]`` to compare with targets ``[N, 1, d1, ...]``,
    cached per (C, ndim) (read-only)."""
    key = (n_classes, ndim)
    classes = _CLASSES.get(key)
    if classes is None:
        if len(_CLASSES) >= 64:
            _CLASSES.clear()
        classes = np.arange(n_classes).reshape((n_classes,) + (1,) * (ndim - 2))
        classes.flags.writeable = False
        _CLASSES[key] = classes
    return classes


def nd_class_index_loss(x: Tensor, t: np.ndarray, w: np.ndarray | None, ignore_index: int,
                        reduction: str) -> Tensor | None:
    """The loss of float32 / float64 logits ``x`` ``[N, C, d1, ...]`` (or ``[N, C]`` with
    class weights ``w``: ``[C]`` of x's dtype; no label smoothing) and integer targets ``t`` of
    shape ``[N, d1, ...]``; None where the general path must run instead: a target out of
    bounds (its error), or "mean" with a total weight of 0 (its nan). New / general path's
    time, float32, medians of 15 paired rounds alternated in one process (a loaded machine;
    SP8 s22): forward of [2, 3, 1] "mean" 0.38, "none" 0.41, [4, 5, 8] "sum" 0.67,
    [8, 10, 16, 16] 0.66; forward + backward [2, 3, 1] 0.50, [32, 10, 32, 32] 0.80 (q by one
    comparison, not put_along_axis)."""
    shape = x._data.shape
    n_classes = shape[1]
    low, high = np.minimum.reduce(t, axis=None), np.maximum.reduce(t, axis=None)
    valid = None
    if not (low >= 0 and high < n_classes and not 0 <= ignore_index < n_classes):
        valid = t != ignore_index
        counted = t[valid]
        if counted.size and (np.minimum.reduce(counted) < 0
                             or np.maximum.reduce(counted) >= n_classes):
            return None  # (the general path raises PyTorch's IndexError)
        if counted.size == t.size:
            valid = None
        else:
            t = np.where(valid, t, -1)  # (ignored: no class matches)
    # q: 1 (the target's weight) at each counted target along the class dim, +0.0 elsewhere:
    # the general path's w_t * (1 - 0) written into zeros, and its float64 total of w_t.
    dtype = x._data.dtype
    w_t = None
    if w is not None:
        safe = t if valid is None else np.where(valid, t, 0)
        w_t = w[safe] if valid is None else _target_weights(w, safe, valid, dtype)
    if len(shape) == 2 and w_t is not None:
        # Weighted rows (unweighted ones take the class-index op): one fancy assignment, as
        # the general path (the comparison below over [N, C]: 1.44 of its forward + backward
        # time on [512, 1000] float32; this 0.99, [8, 10] forward 0.39 of the general path, 15
        # paired rounds, one process).
        q = np.zeros(shape, dtype)
        q[_rows(shape[0]), safe] = w_t
    elif w_t is None:
        q = np.equal(t.reshape(shape[:1] + (1,) + shape[2:]),
                     _classes(n_classes, len(shape))).astype(dtype)
    else:
        at = np.equal(t.reshape(shape[:1] + (1,) + shape[2:]), _classes(n_classes, len(shape)))
        q = np.where(at, np.expand_dims(w_t, 1), 0).astype(dtype, copy=False)
    total = (w_t.sum(dtype=np.float64) if w_t is not None
             else t.size if valid is None else int(np.count_nonzero(valid)))
    if reduction == "mean":
        if total == 0:
            return None  # (0 / 0: the general path's nan loss and gradient)
        q /= np.float64(total).astype(q.dtype)  # (the general path's total, rounded so)
    q = _leaf(q)
    scratch = {"scratch": Scratch()} if x._rg and is_grad_enabled() else {}
    loss = apply(SOFTMAX_CROSS_ENTROPY, x, q, dim=1,
                 reduction="none" if reduction == "none" else "sum", gather=True, **scratch)
    return loss if valid is None or reduction != "none" else _zero_where_ignored(loss, valid)


def _target_weights(w: np.ndarray | None, safe: np.ndarray, valid: np.ndarray, dtype):
    """The weight of each entry's target class, 0 where the entry is ignored (also the general
    path's, _functional_losses.py)."""
    if w is None:
        return valid.astype(dtype)
    return np.where(valid, w[safe], 0).astype(dtype, copy=False)


def _zero_where_ignored(loss: Tensor, valid: np.ndarray) -> Tensor:
    """``loss`` with +0.0 at ignored targets (PyTorch writes a 0 there; the products give -0.0
    for a positive input, which prints as ``-0.``)."""
    if valid.all():
        return loss
    # NOTE: adding -0.0 leaves every value as it is (-0.0 included); adding +0.0 turns -0.0
    # into +0.0. The gradient is unchanged.
    # (named as PyTorch's node of reduction "none": the loss has the input's dims but C)
    return name_node(loss + _leaf(np.where(valid, -0.0, 0.0).astype(loss.dtype)),
                     nll_node_name(loss.ndim + 1, "none"))


# Class-index target dtypes PyTorch accepts (Long and Byte).
_INDEX_DTYPES = (np.dtype(np.int64), np.dtype(np.uint8))


def _class_targets(name: str, x: Tensor, target, ignore_index: int):
    """Validate integer class-index targets; return them with ignored entries set to 0, and
    the mask of entries that count."""
    shape = x._data.shape  # (the array's: Tensor.shape builds a Size, ~1 us a read)
    class_dim = 0 if len(shape) == 1 else 1
    n_classes = shape[class_dim]
    expected = shape[:class_dim] + shape[class_dim + 1:]
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    if len(shape) != 1 and (t.ndim == 0 or t.shape[0] != shape[0]):  # (PyTorch's first check)
        raise ShapeError(f"Expected input batch_size ({x.shape[0]}) to match target "
                         f"batch_size ({t.shape[0] if t.ndim else 0}). ({name}: target of "
                         f"shape {t.shape}, input of shape {tuple(x.shape)})")
    # PyTorch takes int64 or uint8 target tensors (a RuntimeError otherwise: int32 and bool
    # too); NumPy arrays, a deltagrad extension, may hold any integer dtype.
    if len(shape) <= 2 and t.ndim > 1:  # (PyTorch's nll_loss checks the rank first)
        raise ShapeError(f"0D or 1D target tensor expected, multi-target not supported ({name}: "
                         f"target of shape {t.shape} for input of shape {tuple(x.shape)})")
    if t.dtype not in _INDEX_DTYPES and (isinstance(target, Tensor) or t.dtype.kind not in "iu"):
        raise DTypeError(f"expected target dtype to be Long or Byte, but got "
                         f"{_SCALAR_WORDS.get(t.dtype.name, t.dtype.name)} ({name}: target must "
                         f"hold integer class indices of shape {expected} for input of shape "
                         f"{tuple(x.shape)}; got a {t.dtype} target of shape {t.shape})")
    if t.dtype == np.uint8 and len(shape) > 2 and isinstance(target, Tensor):
        # (PyTorch's nll_loss2d, which inputs of 3 or more dims reach, takes Long only)
        raise DTypeError(f"{name}: expected scalar type Long but found Byte (a uint8 target "
                         f"of shape {t.shape} for input of shape {x.shape}: int64 class "
                         f"indices over more than 2 dims)")
    if len(shape) == 1 and t.shape == (1,):
        t = t.reshape(())  # (PyTorch takes a [1] target for one [C] input as its [] form)
    if t.shape != expected:
        raise ShapeError(f"Expected target size {list(expected)}, got {list(t.shape)} ({name}: "
                         f"target of shape {t.shape}, input of shape {tuple(x.shape)}: class "
                         f"indices of the input's shape without its class dimension "
                         f"{class_dim})")
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise IndexError(f"Target {t[bad].flat[0]} is out of bounds. ({name}: {n_classes} "
                         f"classes, input shape {tuple(x.shape)}, target shape {t.shape}; "
                         f"class indices must be in [0, {n_classes}) or equal ignore_index "
                         f"({ignore_index}))")
    return np.where(valid, t, 0), valid


def nll_node_name(ndim: int, reduction: str) -> str:
    """PyTorch's node name for nll_loss / cross_entropy with class indices over an input of
    ``ndim`` dims: ``[N, C, H, W]`` goes to nll_loss2d, other inputs of 3 or more dims to it
    through a view (whose ViewBackward0 is the result's node for reduction "none")."""
    if ndim < 3:
        return "NllLossBackward0"
    return "ViewBackward0" if reduction == "none" and ndim != 4 else "NllLoss2DBackward0"
