"""Margin, embedding and sequence losses of ``torch.nn.functional`` (re-exported by
``nn.functional``): margin ranking, hinge and cosine embedding, triplet margin, multi-class
and multi-label margin, and CTC."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import _engine as dg
from .._engine.api._common import tensor_input as _t
from .._engine.api.indexing import gather
from .._engine.api.norms import vector_norm
from .._engine.autograd import is_grad_enabled
from .._engine.node_names import name_node, rename_node
from .._engine.ops import OPS
from .._engine.ops.nn import Scratch
from .._engine.promotion import check_fits
from .._engine.tensor import Tensor, _leaf, apply
from ._functional_args import check_reduced_kernel, tensor_or_number
from ._functional_losses import (
    _all_below,
    _check_reduction,
    _floating,
    _reduce,
    _reduction,
    _target_tensor,
)

__all__ = [
    "cosine_embedding_loss", "ctc_loss", "hinge_embedding_loss", "margin_ranking_loss",
    "multi_margin_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss",
    "soft_margin_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
]


def _zeros_like(x: Tensor) -> Tensor:
    return _leaf(np.zeros((), dtype=np.dtype(x.dtype)))


def _mask(values: np.ndarray) -> Tensor:
    return _leaf(np.asarray(values, dtype=bool))


def margin_ranking_loss(input1, input2, target, margin: float = 0.0, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """max(0, -y (x1 - x2) + margin) for targets y in {-1, 1} (y = 1: x1 should rank higher).

    Args:
        input1, input2, target: tensors with the same number of dimensions (broadcast).
        margin: the required gap.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
    """
    reduction = _reduction(reduction, size_average, reduce)
    _check_reduction("margin_ranking_loss", reduction)
    _target_tensor("margin_ranking_loss", target)  # (a number: PyTorch's Python fails on it)
    x1, x2 = _t(input1), _t(input2)
    y = target
    if not x1.ndim == x2.ndim == y.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {x1.shape}, input2: {x2.shape}, target: "
                           f"{y.shape}")
    # NOTE: clamp_min(0) passes the gradient at exactly 0, as PyTorch's (its node too).
    return _reduce((-y * (x1 - x2) + margin).clamp_min(0), reduction)


def hinge_embedding_loss(input, target, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1 (x is typically a distance).

    Args:
        input: floating, any shape.
        target: labels in {-1, 1}, broadcastable to the input.
        margin: the margin for dissimilar pairs.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
    """
    reduction = _reduction(reduction, size_average, reduce)
    _check_reduction("hinge_embedding_loss", reduction)
    if not isinstance(target, Tensor):
        raise TypeError(f"hinge_embedding_loss(): argument 'target' (position 2) must be "
                        f"Tensor, not {type(target).__name__}")
    if isinstance(margin, Tensor):
        raise TypeError(f"hinge_embedding_loss(): argument 'margin' (position 3) must be "
                        f"float, not {type(margin).__name__}")
    x = _t(input)
    # PyTorch fills the margin into the input's dtype: 1e5 with float16 is its overflow error.
    check_fits(margin, x._data.dtype)
    zero = _zeros_like(x)
    if x._data.dtype.kind in "iub":
        # PyTorch fills the margin into the input's dtype, subtracts there (uint8 wraps) and
        # keeps that dtype; labels compare in the target's dtype (uint8 takes -1 as 255).
        distance = dg.full_like(x, margin) - x
    else:
        distance = dg.sub(margin, x)  # (not ``margin - x``: a 0-d bfloat16 x stays bfloat16)
    # As PyTorch: labels other than 1 take the margin term, other than -1 the input term.
    margin_part = dg.where(target != 1, distance.clamp(min=0), zero)
    self_part = dg.where(target != -1, x, zero)
    return _reduce(margin_part + self_part, reduction)


def cosine_embedding_loss(input1, input2, target, margin: float = 0.0, size_average=None,
                          reduce=None, reduction: str = "mean") -> Tensor:
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1.

    Args:
        input1, input2: ``[N, D]`` (with ``target`` ``[N]``) or ``[D]`` (with a 0-d target).
        target: labels in {-1, 1}.
        margin: in [-1, 1].
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
    """
    reduction = _reduction(reduction, size_average, reduce)
    _check_reduction("cosine_embedding_loss", reduction)
    _target_tensor("cosine_embedding_loss", target)  # (PyTorch's parser: a TypeError)
    x1, x2 = _t(input1), _t(input2)
    y = target
    if y.ndim not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    expected = 2 if y.ndim == 1 else 1
    if x1.ndim != expected or x2.ndim != expected:
        raise RuntimeError(f"{y.ndim}D target tensor expects {expected}D input tensors, but "
                           f"found inputs with sizes {list(x1.shape)} and {list(x2.shape)}.")
    dim = y.ndim
    eps = 1e-12  # PyTorch's EPSILON, added to the squared norms
    dot = (x1 * x2).sum(dim)
    cos = dot / (((x1 * x1).sum(dim) + eps) * ((x2 * x2).sum(dim) + eps)).sqrt()
    labels = y.detach().numpy()
    zero = _zeros_like(cos)
    loss = (dg.where(_mask(labels == 1), 1 - cos, zero)
            + dg.where(_mask(labels == -1), (cos - margin).clamp(min=0), zero))
    return _reduce(loss, reduction)


def _pairwise_distance(x1: Tensor, x2: Tensor, p: float, eps: float) -> Tensor:
    # As PyTorch's pairwise_distance: the p-norm of x1 - x2 + eps over the last dimension
    # (its gradient is 0 where the difference is 0).
    diff = x1 - x2 + eps
    return vector_norm(diff, p, -1 if diff.ndim else None)


def _check_triplet_dims(anchor: Tensor, positive: Tensor, negative: Tensor) -> None:
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have "
                           f"the same number of dimensions, but got: anchor {anchor.ndim}D, "
                           f"positive {positive.ndim}D, and negative {negative.ndim}D inputs")


def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    """max(0, d(a, p) - d(a, n) + margin), d the ``p``-norm distance over the last dimension.

    Args:
        anchor, positive, negative: ``[N, D]`` or ``[D]``, the same number of dimensions.
        margin: the required gap between the distances.
        p: the norm's order.
        eps: added to the differences (PyTorch's pairwise_distance).
        swap: use d(p, n) instead of d(a, n) where it is smaller.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
    """
    reduction = _reduction(reduction, size_average, reduce)
    if margin <= 0:  # (PyTorch's check, before any other)
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _check_reduction("triplet_margin_loss", reduction)
    _target_tensor("triplet_margin_loss", negative, "negative")
    a, pos, neg = _t(anchor), _t(positive), _t(negative)
    _check_triplet_dims(a, pos, neg)
    d_pos = _pairwise_distance(a, pos, p, eps)
    d_neg = _pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = dg.minimum(d_neg, _pairwise_distance(pos, neg, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction)  # (ClampMinBackward0)


def triplet_margin_with_distance_loss(anchor, positive, negative, *,
                                      distance_function: Callable | None = None,
                                      margin: float = 1.0, swap: bool = False,
                                      reduction: str = "mean") -> Tensor:
    """``triplet_margin_loss`` with any distance (default: the Euclidean pairwise distance).

    Args:
        anchor, positive, negative: tensors with the same number of dimensions.
        distance_function: ``f(x1, x2) -> distances``.
        margin: > 0.
        swap: use d(p, n) instead of d(a, n) where it is smaller.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _target_tensor("triplet_margin_with_distance_loss", negative,
                   "negative")
    a, pos, neg = _t(anchor), _t(positive), _t(negative)
    _check_triplet_dims(a, pos, neg)
    if distance_function is None:
        def distance_function(x1, x2):
            return _pairwise_distance(x1, x2, 2.0, 1e-6)
    d_pos = distance_function(a, pos)
    d_neg = distance_function(a, neg)
    if swap:
        d_neg = dg.minimum(d_neg, distance_function(pos, neg))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction)  # (ClampMinBackward0)


def _class_rows(name: str, x: Tensor) -> Tensor:
    """The input as rows of class scores ``[N, C]``."""
    if x.ndim > 2 or (x.ndim == 2 and x.shape[1] == 0) or (x.ndim == 1 and x.shape[0] == 0):
        raise RuntimeError(f"{name}: expected a non-empty vector or matrix with optional 0-dim "
                           f"batch size, but got: {list(x.shape)}")
    return x.reshape(1, -1) if x.ndim < 2 else x


def _no_half(name: str, x: Tensor) -> None:
    # (PyTorch's CPU kernels have no float16 or bfloat16 form; bfloat16 computed, s29 NF1)
    check_reduced_kernel(x, {"multi_margin_loss": "multi_margin_loss_cpu_kernel",
                             "multilabel_margin_loss": "multilabel_margin_loss_forward_out_frame",
                             }[name])


def _long_target(name: str, target) -> np.ndarray:
    """The target's values, int64 only as PyTorch's kernels take them (an int32 / uint8 one was
    read; a float one was reported as of the wrong size)."""
    t = _t(target).detach().numpy()
    if t.dtype != np.int64 and t.size:  # (an empty one is not read: PyTorch's kernel)
        raise RuntimeError(f"{name}: expected scalar type Long but found {_t(target).dtype} "
                           "(target)")
    return t


def multi_margin_loss(input, target, p: int = 1, margin: float = 1.0, weight=None,
                      size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss: for each sample, the sum over classes i != y of
    max(0, margin - x[y] + x[i])^p (times weight[y]), divided by the number of classes.

    Args:
        input: scores ``[N, C]`` or ``[C]``.
        target: class indices ``[N]`` (or 0-d).
        p: 1 or 2.
        margin: the required gap.
        weight: ``[C]`` class weights (not differentiated).
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` (the target's shape).
    """
    reduction = _reduction(reduction, size_average, reduce)
    _check_reduction("multi_margin_loss", reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and _t(weight).ndim != 1:
        raise ValueError("weight must be one-dimensional")
    _target_tensor("multi_margin_loss", target)  # (PyTorch's parser, before the dtypes)
    x = _floating("multi_margin_loss", _t(input))
    _no_half("multi_margin_loss", x)
    rows = _class_rows("multi_margin_loss", x)
    n, classes = rows.shape
    t = _long_target("multi_margin_loss", target)
    if t.dtype.kind not in "iu" or t.size != n or t.ndim > 1:
        raise RuntimeError(f"multi_margin_loss: inconsistent target size: {list(t.shape)} for "
                           f"input of size: {list(x.shape)}")
    flat = t.reshape(-1).astype(np.int64)
    if np.any((flat < 0) | (flat >= classes)):
        raise RuntimeError("multi_margin_loss: target out of range")
    picked = gather(rows, 1, _leaf(flat[:, None]))
    others = np.ones((n, classes), dtype=np.dtype(x.dtype))
    others[np.arange(n), flat] = 0
    # NOTE: relu: no gradient where the margin is met exactly (PyTorch tests z > 0).
    z = (margin - picked + rows).relu() * _leaf(others)
    if p == 2:
        z = z * z
    if weight is not None:
        w = _t(weight).detach().numpy().astype(np.dtype(x.dtype))
        z = z * _leaf(w[flat][:, None])
    loss = (z.sum(1) / classes).reshape(t.shape)
    return name_node(_reduce(loss, reduction), "MultiMarginLossBackward0", (x,))  # (PyTorch's)


def multilabel_margin_loss(input, target, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """Multi-label hinge loss: for each sample, the sum over its target classes j and the
    other classes i of max(0, 1 - (x[j] - x[i])), divided by the number of classes.

    Args:
        input: scores ``[N, C]`` or ``[C]``.
        target: the input's shape, integers: each row's target classes first, ended by -1
            (or filling the row).
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` (``[N]``, or 0-d for ``[C]`` input).
    """
    reduction = _reduction(reduction, size_average, reduce)
    _check_reduction("multilabel_margin_loss", reduction)
    _target_tensor("multilabel_margin_loss", target)  # (PyTorch's parser, before the dtypes)
    x = _floating("multilabel_margin_loss", _t(input))
    _no_half("multilabel_margin_loss", x)
    rows = _class_rows("multilabel_margin_loss", x)
    n, classes = rows.shape
    t = _long_target("multilabel_margin_loss", target)
    if t.dtype.kind not in "iu" or t.shape != x.shape:
        raise RuntimeError(f"multilabel_margin_loss: inconsistent target size: {list(t.shape)} "
                           f"for input of size: {list(x.shape)}")
    t = t.reshape(n, classes).astype(np.int64)
    if np.any((t < -1) | (t >= classes)):
        raise RuntimeError("multilabel_margin_loss: argument #2 'target' is out of range")
    # Slots before each row's first -1 hold its targets.
    ended = np.cumsum(t < 0, axis=1) > 0
    valid = ~ended
    safe = np.where(valid, t, 0)
    is_target = np.zeros((n, classes), dtype=bool)
    is_target[np.nonzero(valid)[0], safe[valid]] = True
    picked = gather(rows, 1, _leaf(safe))  # [N, slots]
    z = (1 - picked.unsqueeze(2) + rows.unsqueeze(1)).relu()  # [N, slots, classes]
    counted = valid[:, :, None] & ~is_target[:, None, :]
    loss = (z * _leaf(counted.astype(np.dtype(x.dtype)))).sum((1, 2)) / classes
    loss = _reduce(loss.reshape(x.shape[:-1]) if x.ndim else loss.reshape(()), reduction)
    return name_node(loss, "MultilabelMarginLossBackward0", (x,))  # (PyTorch's one node)


# ----------------------------------------------------------------------------------------------
# CTC.


def _lengths(name: str, lengths, n: int) -> np.ndarray:
    values = lengths._data if isinstance(lengths, Tensor) else np.asarray(lengths)
    if values.dtype.kind not in "iu":
        raise RuntimeError(f"ctc_loss: {name} must be integers, got {values.dtype}")
    if values.size != n:
        raise RuntimeError(f"ctc_loss: expected {name} to have {n} entries (the batch size), "
                           f"got {values.size}")
    if values.dtype == np.int64 and values.shape == (n,):  # (the usual: no reshape, astype;
        return values  # 0.65 -> 0.37 us a call, thread time, s23 SP9)
    return values.reshape(n).astype(np.int64, copy=False)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """Connectionist temporal classification loss (one primitive: the forward-backward
    recursions, in probability space for small problems and in log space otherwise).

    Args:
        log_probs: ``[T, N, C]`` (or ``[T, C]`` unbatched) log-probabilities, e.g. the output of
            ``log_softmax(dim=2)``.
        targets: ``[N, S]`` padded target sequences, or all of them concatenated (1-d);
            values in [0, C) and not ``blank``.
        input_lengths: ``[N]`` frames used per sample (<= T).
        target_lengths: ``[N]`` target length per sample.
        blank: the blank class.
        reduction: ``'mean'`` (each loss divided by its target length, then the batch mean),
            ``'sum'`` or ``'none'`` (``[N]``).
        zero_infinity: give impossible alignments (infinite loss) loss 0 and gradient 0.

    Returns:
        The loss.

    NOTE: PyTorch's gradient with respect to ``log_probs`` is ``exp(log_probs) - occupancy``
    (the gradient of the logits when ``log_probs`` come from a log_softmax), not the exact
    ``-occupancy``; this function returns the same, so gradients match PyTorch's in every case.
    """
    _check_reduction("ctc_loss", reduction)
    lp = _floating("ctc_loss", _t(log_probs))
    check_reduced_kernel(lp, "ctc_loss_cpu")
    shape = lp._data.shape
    unbatched = len(shape) == 2
    if len(shape) not in (2, 3):
        raise RuntimeError(f"ctc_loss: log_probs must be [T, N, C] or [T, C], got {lp.shape}")
    t_max, n, classes = shape[0], 1 if unbatched else shape[1], shape[-1]
    if not 0 <= blank < classes:
        raise RuntimeError(f"ctc_loss: blank must be in label range [0, {classes}), got {blank}")
    in_len = _lengths("input_lengths", input_lengths, n)
    tgt_len = _lengths("target_lengths", target_lengths, n)
    if n and not _all_below(in_len, t_max + 1):  # (negative ones too)
        raise RuntimeError(f"ctc_loss: expected input_lengths to have values in [0, {t_max}], "
                           f"got {in_len.tolist()}")
    tgt = targets._data if isinstance(targets, Tensor) else np.asarray(targets)
    if tgt.dtype.kind not in "iu":
        raise RuntimeError(f"ctc_loss: targets must be integers, got {tgt.dtype}")
    if unbatched:
        tgt = tgt.reshape(1, -1)
    # Padded targets bound the lengths from both sides in one pass; concatenated ones below.
    if tgt.ndim == 2:
        lengths_bad = n and not _all_below(tgt_len, tgt.shape[1] + 1)
    else:
        lengths_bad = n and np.minimum.reduce(tgt_len) < 0
    if lengths_bad:
        if np.minimum.reduce(tgt_len) < 0:
            raise RuntimeError(f"ctc_loss: target lengths must be non-negative, got "
                               f"{tgt_len.tolist()}")
        raise RuntimeError(f"ctc_loss: targets of shape {tgt.shape} do not fit batch size {n} "
                           f"and target lengths {tgt_len.tolist()}")
    if tgt.ndim == 1:  # concatenated: cut it into padded rows
        if tgt.size != tgt_len.sum():
            raise RuntimeError(f"ctc_loss: {tgt.size} concatenated targets for target lengths "
                               f"summing to {tgt_len.sum()}")
        padded = np.full((n, max(int(tgt_len.max(initial=0)), 1)), blank, dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(tgt_len)[:-1]])
        for b in range(n):
            padded[b, :tgt_len[b]] = tgt[starts[b]:starts[b] + tgt_len[b]]
        tgt = padded
    elif tgt.ndim != 2 or tgt.shape[0] != n:
        raise RuntimeError(f"ctc_loss: targets of shape {tgt.shape} do not fit batch size {n} "
                           f"and target lengths {tgt_len.tolist()}")
    if tgt.size and not _all_below(tgt, classes):  # (in one pass when all are in range)
        used = np.arange(tgt.shape[1])[None, :] < tgt_len[:, None]
        if np.any(used & ((tgt < 0) | (tgt >= classes))):
            raise RuntimeError(f"ctc_loss: target values must be in [0, {classes})")
        tgt = np.where(used, tgt, blank)  # (the padding may hold anything)
    # One node: the reduction and PyTorch's gradient (see the NOTE) are the op's own.
    attrs = {"blank": int(blank), "zero_infinity": bool(zero_infinity),
             "reduction": reduction, "pytorch_gradient": True}
    if lp._rg and is_grad_enabled():  # the forward leaves its chains for the rule
        attrs["scratch"] = Scratch()
    loss = apply(OPS["ctc_loss"], lp, _leaf(tgt), _leaf(in_len), _leaf(tgt_len), **attrs)
    # PyTorch's last node, which ``print(loss)`` shows: its reduction's (nn.CTCLoss() gives
    # MeanBackward0), the unbatched squeeze, zero_infinity's where, else CtcLossBackward0
    # (s31 PR26: a CTC program).
    if reduction != "none":
        return rename_node(loss, "MeanBackward0" if reduction == "mean" else "SumBackward0")
    if unbatched:
        return rename_node(loss, "SqueezeBackward1")
    return rename_node(loss, "WhereBackward0") if zero_infinity else loss


# ----------------------------------------------------------------------------------------------
# Soft-margin losses.


def soft_margin_loss(input, target, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """log(1 + exp(-y x)) for targets y in {-1, 1}.

    NOTE: computed as PyTorch does, log1p(exp(.)), so it overflows to inf exactly where
    PyTorch's does (-y x beyond about 88 in float32, 11 in float16): no silent difference.
    """
    reduction = _reduction(reduction, size_average, reduce)
    _check_reduction("soft_margin_loss", reduction)
    if not isinstance(target, Tensor):
        raise TypeError(f"soft_margin_loss(): argument 'target' (position 2) must be Tensor, "
                        f"not {type(target).__name__}")
    if target.requires_grad and is_grad_enabled():  # (PyTorch defines no target gradient)
        raise RuntimeError("The function 'soft_margin_loss' is not differentiable with respect "
                           "to argument 'target'. This input cannot have requires_grad True.")
    x = _floating("soft_margin_loss", _t(input))
    product = target * x
    if product.shape != x.shape:  # (the target broadcasts to the input, not the reverse)
        raise RuntimeError(f"soft_margin_loss: output with shape {list(x.shape)} doesn't match "
                           f"the broadcast shape {list(product.shape)}")
    loss = _reduce((-product).exp().log1p(), reduction)
    # (the input's dtype, as PyTorch; its one node, over the input alone)
    return name_node(loss if loss.dtype == x.dtype else loss.type(x.dtype),
                     "SoftMarginLossBackward0", (x,))


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction: str = "mean") -> Tensor:
    """One-versus-all logistic loss over C classes: the mean over classes of
    -(y log sigmoid(x) + (1 - y) log sigmoid(-x)), weighted per class.

    Args:
        input: logits ``[N, C]`` (or ``[C]``).
        target: 0/1 labels of the input's shape.
        weight: ``[C]`` (broadcast) class weights.
        reduction: ``'mean'`` over samples, ``'sum'`` or ``'none'`` (``[N]``).
    """
    reduction = _reduction(reduction, size_average, reduce)
    _check_reduction("multilabel_soft_margin_loss", reduction)
    x = _floating("multilabel_soft_margin_loss", _t(input))
    y = tensor_or_number(target, x, arrays=False)
    log_p = apply(OPS["logsigmoid"], x)
    log_q = apply(OPS["logsigmoid"], -x)
    loss = -(y * log_p + (1 - y) * log_q)
    if weight is not None:  # (PyTorch's code multiplies: a number works as a weight)
        loss = loss * tensor_or_number(weight, x, arrays=False)
    if not x.ndim:  # (PyTorch reads the class count as input.size(-1), after the loss)
        raise IndexError("Dimension specified as -1 but tensor has no dimensions")
    class_dim = x.ndim - 1
    loss = loss.sum(class_dim) / x.shape[class_dim]
    return _reduce(loss, reduction)
