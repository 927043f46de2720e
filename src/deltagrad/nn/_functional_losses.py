"""Losses of ``torch.nn.functional`` for classification and regression (re-exported by
``nn.functional``): cross-entropy, NLL, binary cross-entropy, MSE, L1, smooth L1, Huber,
KL divergence (Poisson and Gaussian NLL are in ``_functional_nll_losses.py``).

Each takes PyTorch's arguments, including the deprecated ``size_average`` / ``reduce`` pair
(which overrides ``reduction`` and warns, as PyTorch). Cross-entropy and binary cross-entropy
are fused primitives (``_engine.ops.nn``, ``_engine.ops.losses``); the rest are compositions.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import _engine as dg
from .._engine.api._common import int_arg
from .._engine.api._common import tensor_input as _t
from .._engine.api.indexing import gather
from .._engine.autograd import DTypeError, ShapeError, is_grad_enabled
from .._engine.node_names import name_node, rename_node
from .._engine.ops import OPS
from .._engine.ops.nn import CROSS_ENTROPY_INDEX, SOFTMAX_CROSS_ENTROPY, Scratch
from .._engine.tensor import Tensor, _leaf, apply
from ._cross_entropy_nd import (
    _INDEX_DTYPES,
    _class_targets,
    _target_weights,
    _zero_where_ignored,
    nd_class_index_loss,
    nll_node_name,
)
from ._functional_args import (
    DimIndexError,
    SizeAndDTypeError,
    TargetTypeError,
    UnsupportedDTypeError,
)
from ._functional_loss_checks import (  # (moved out: session 27, FS1)
    _REDUCTIONS,
    _all_below,
    _check_reduction,
    _floating,
    _pointwise_pair,
    _promoted,
    _reduce,
    _reduction,
    _weighted,
)

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
    "huber_loss", "kl_div", "l1_loss", "mse_loss", "nll_loss", "smooth_l1_loss",
]


# ----------------------------------------------------------------------------------------------
# Cross-entropy and negative log-likelihood over classes.

def _class_weights(name: str, weight, n_classes: int, dtype) -> np.ndarray | None:
    if weight is None:
        return None
    w = weight._data if isinstance(weight, Tensor) else np.asarray(weight)
    if w.shape != (n_classes,):
        raise ShapeError(f"{name}: weight must hold one value per class, shape ({n_classes},); "
                         f"got shape {w.shape}")
    if isinstance(weight, Tensor) and w.dtype != np.dtype(dtype):  # (PyTorch refuses; was cast)
        raise DTypeError(f"{name}: expected scalar type {np.dtype(dtype)} but found {w.dtype} "
                         f"(weight)")
    return w.astype(dtype, copy=False)


def _tensor_or_array(name: str, value, argument: str) -> None:
    """PyTorch's parser: a tensor argument (a NumPy array too, deltagrad's extension), or None
    for weight; a number or a list is a TypeError."""
    if not isinstance(value, (Tensor, np.ndarray)) and (value is not None or
                                                         argument == "target"):
        raise TypeError(f"{name}(): argument '{argument}' must be Tensor, not "
                        f"{type(value).__name__}")


def cross_entropy(input, target, weight=None, size_average=None, ignore_index: int = -100,
                  reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy between logits and targets, as ``torch.nn.functional.cross_entropy``.

    Computed by one fused, numerically stable primitive (log-softmax and the weighted sum in
    one node).

    Args:
        input: logits, float ``[C]``, ``[N, C]`` or ``[N, C, d1, ...]`` (classes on dim 1).
        target: either integer class indices, ``[]``, ``[N]`` or ``[N, d1, ...]`` (entries equal
            to ``ignore_index`` are skipped), or class probabilities of the input's shape.
        weight: ``[C]`` rescaling weight of each class.
        ignore_index: a target value that contributes neither loss nor gradient (class-index
            targets only).
        reduction: ``'mean'`` (for class indices: divided by the summed weights of the targets
            that are not ignored; for probabilities: by the number of samples), ``'sum'`` or
            ``'none'`` (one loss per sample, ``[N, d1, ...]``).
        label_smoothing: ε in [0, 1]: the target becomes (1 - ε) · target + ε / C.

    Returns:
        The loss: a scalar, or ``[N, d1, ...]`` with ``reduction='none'``.

    >>> import deltagrad as dg
    >>> logits = dg.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]], requires_grad=True)
    >>> loss = cross_entropy(logits, dg.tensor([0, 2]))
    >>> round(loss.item(), 4)
    0.6691
    >>> loss.backward()
    >>> logits.grad
    tensor([[-0.1065,  0.0533,  0.0533],
            [ 0.1667,  0.1667, -0.3333]])
    """
    name = "cross_entropy"
    if size_average is not None or reduce is not None:
        reduction = _reduction(reduction, size_average, reduce)
    x, ignore_index = _t(input), int_arg(ignore_index, "ignore_index", name + "_loss", True, True)
    _tensor_or_array(name, target, "target")
    t_data = target._data if isinstance(target, Tensor) else np.asarray(target)
    x_data = x._data
    if (x_data.ndim == 2 and weight is None and label_smoothing == 0.0
            and x_data.dtype.kind == "f"
            and (t_data.dtype in _INDEX_DTYPES
                 or (t_data.dtype.kind in "iu" and not isinstance(target, Tensor)))
            and t_data.shape == x_data.shape[:1] and t_data.size and reduction in _REDUCTIONS):
        # The common case, with no more checks than it needs: a batch of logits and class
        # indices, one primitive that takes the targets as an input (so that capture_step
        # can replay new ones). The op itself finds targets out of bounds (its IndexError);
        # the message is made here then. ([4, 3]: 5 -> 3 us before the op.)
        targets = target if isinstance(target, Tensor) else _leaf(t_data)
        try:
            if x._rg and is_grad_enabled():  # the forward leaves its softmax for the rule
                return apply(CROSS_ENTROPY_INDEX, x, targets, ignore_index=int(ignore_index),
                             reduction=reduction, scratch=Scratch())
            return apply(CROSS_ENTROPY_INDEX, x, targets, ignore_index=int(ignore_index),
                         reduction=reduction)
        except IndexError:
            _class_targets(name, x, t_data, ignore_index)  # raises with the message
            raise
    if (x_data.ndim and x_data.size and weight is None and label_smoothing == 0.0
            and ignore_index < 0 and x_data.dtype.kind == "f" and t_data.dtype == x_data.dtype
            and t_data.shape == x_data.shape and reduction in ("sum", "none")):
        # Class probabilities of the logits' dtype, the other common case, as directly (the
        # general path below: 2 us more).
        q = target if isinstance(target, Tensor) else _leaf(t_data)
        attrs = {"dim": 0 if x_data.ndim == 1 else 1, "reduction": reduction, "gather": False}
        if (x._rg or q._rg) and is_grad_enabled():  # the forward leaves its parts for the rule
            attrs["scratch"] = Scratch()
        # (PyTorch's last node of a probability target's loss: the sum's negation)
        return rename_node(apply(SOFTMAX_CROSS_ENTROPY, x, q, **attrs), "NegBackward0")
    w = None if weight is None else getattr(weight, "_data", None)  # (a Tensor's only)
    if (x_data.ndim > 1 and label_smoothing == 0.0 and x_data.size
            and x_data.dtype.char in "fd" and type(x_data) is type(t_data) is np.ndarray
            and (weight is None or (type(w) is np.ndarray and w.dtype == x_data.dtype
                                    and w.shape == x_data.shape[1:2]))
            and (t_data.dtype.kind in "iu" if not isinstance(target, Tensor) else
                 t_data.dtype in _INDEX_DTYPES and (t_data.dtype != np.uint8 or x_data.ndim < 3))
            and t_data.shape == x_data.shape[:1] + x_data.shape[2:] and reduction in _REDUCTIONS
            and (loss := nd_class_index_loss(x, t_data, w, ignore_index, reduction)) is not None):
        return loss  # (class indices, extra dims or weights: the general path's op, fewer calls)
    _check_reduction(name, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing} "
                           f"({name})")
    _tensor_or_array(name, weight, "weight")
    # PyTorch's order: the probability target's dtype, then log_softmax along dim 1 (0 for
    # a [C] input) with its dim and dtype checks, then nll_loss's checks.
    if t_data.shape == x.shape and dg.bf16.kind(t_data.dtype) != "f":  # (bfloat16: "f")
        raise DTypeError(f"{name}: Expected floating point type for target with class "
                         f"probabilities, got {t_data.dtype} (input of shape {x.shape})")
    if x._data.ndim == 0:
        raise DimIndexError(f"{name}: Dimension specified as 1 but the input has no "
                            "dimensions (logits of shape [C], [N, C] or [N, C, d1, ...])")
    if x._data.dtype.kind != "f" and x._data.dtype is not dg.bf16.BF16:
        raise UnsupportedDTypeError(f"{name}: log_softmax not implemented for {x.dtype} "
                                    f"input of shape {x.shape}; floating-point logits expected")
    class_dim = 0 if x.ndim == 1 else 1
    n_classes = x.shape[class_dim]
    w = _class_weights(name, weight, n_classes, x.dtype)
    # Weights reshaped to broadcast along the class dimension.
    w_b = None if w is None else w.reshape((n_classes,) + (1,) * (x.ndim - class_dim - 1))

    gather = not (dg.bf16.kind(t_data.dtype) == "f" and t_data.shape == x.shape)
    log_probs = None
    if not gather:
        # Class probabilities (differentiable when the target requires grad).
        if ignore_index >= 0:
            raise RuntimeError(f"{name}: ignore_index is not supported for class-probability "
                               f"targets (target of the input's shape {x.shape})")
        q = target if isinstance(target, Tensor) and target._rg else t_data
        if np.promote_types(t_data.dtype, x._data.dtype) != x._data.dtype:  # (bf16, float16)
            # PyTorch takes log_softmax in the input's dtype and multiplies it by the wider
            # target: the product below, of the rounded log-probabilities widened (a float16
            # row of them no longer sums to probability 1, so the fused op would differ).
            log_probs = dg.log_softmax(x, class_dim).type(
                dg.float64 if t_data.dtype == np.float64 else dg.float32)
            x = log_probs
        if q.dtype != x.dtype:
            q = q.type(x.dtype) if isinstance(q, Tensor) else q.astype(x.dtype)
        if label_smoothing > 0.0 and n_classes:  # (no classes: nothing to smooth)
            q = q * (1.0 - label_smoothing) + label_smoothing / n_classes
        if w_b is not None:  # (an ndarray: a Tensor q * ndarray would be NumPy's, no graph)
            q = q * (_leaf(w_b) if isinstance(q, Tensor) else w_b)
        if reduction == "mean":
            count = x._data.size // n_classes if n_classes else 0
            if count == 0:  # (no rows, or no classes: PyTorch's mean is 0 / 0 = nan)
                zero = sum((t * 0).sum() for t in (x, target) if isinstance(t, Tensor))
                return -zero + _leaf(np.array(np.nan, dtype=x.dtype))
            q = q / count
        elif n_classes == 0:  # (no classes: every row's loss is an empty sum)
            zero = x * 0  # (negated after the sum: PyTorch's -0.0)
            return -(zero.sum(class_dim) if reduction == "none" else zero.sum())
    else:
        # Class indices: the target distribution is (1 - ε) at the target class plus ε / C
        # everywhere, each class scaled by its weight; ignored entries get none.
        safe, valid = _class_targets(name, x, target, ignore_index)
        w_t = _target_weights(w, safe, valid, x.dtype)
        q = np.zeros(x.shape, dtype=x.dtype)
        if x.ndim == 2:
            q[np.arange(x.shape[0]), safe] = w_t * (1.0 - label_smoothing)
        else:
            np.put_along_axis(q, np.expand_dims(safe, class_dim),
                              np.expand_dims(w_t * (1.0 - label_smoothing), class_dim),
                              axis=class_dim)
        if label_smoothing > 0.0 and n_classes:  # (no classes: no rows here)
            smooth = (label_smoothing / n_classes) * np.expand_dims(valid, class_dim)
            q += (smooth * w_b if w_b is not None else smooth).astype(x.dtype, copy=False)
        if reduction == "mean":
            total = w_t.sum(dtype=np.float64)
            if total == 0:
                # NOTE: loss 0 / 0 = nan; as in PyTorch the gradient is nan over each counted
                # row (weighted 0) and 0 over ignored rows: q is nan there, 0 here, plus nan.
                q = q + np.where(np.expand_dims(valid, class_dim), np.nan, 0).astype(x.dtype)
                loss = apply(SOFTMAX_CROSS_ENTROPY, x, _leaf(q), dim=class_dim, reduction="sum")
                return loss + _leaf(np.array(np.nan, dtype=x.dtype))
            q /= total.astype(x.dtype)
    q = q if isinstance(q, Tensor) else _leaf(q)
    if log_probs is not None:
        product = log_probs * q
        return -(product.sum(class_dim) if reduction == "none" else product.sum())
    # (the forward leaves its parts for the rule, which then reads no logits: PyTorch saves
    # log_softmax's output, so `loss = F.cross_entropy(x, probs); x.add_(1)` backwards; and
    # no second log_softmax: forward + backward of [64, 100] float32, probabilities with
    # "mean" 0.78 of its time, label smoothing 0.82; paired rounds against the code before,
    # each over an A/A run of the same, one thread)
    scratch = {"scratch": Scratch()} if (x._rg or q._rg) and is_grad_enabled() else {}
    loss = apply(SOFTMAX_CROSS_ENTROPY, x, q, dim=class_dim,
                 reduction="none" if reduction == "none" else "sum", gather=gather, **scratch)
    if not gather:  # (PyTorch's last node: the mean's division, else the sum's negation)
        return rename_node(loss, "DivBackward1" if reduction == "mean" else "NegBackward0")
    if reduction == "none":
        loss = _zero_where_ignored(loss, valid)
    if label_smoothing > 0.0 and n_classes:  # (the smoothed and the plain losses' sum)
        loss = name_node(loss, "AddBackward0") if getattr(loss._op, "name", "") == "add" \
            else rename_node(loss, "AddBackward0")
    return loss


_NLL_LOSS = OPS["nll_loss"]
_NLL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def nll_loss(input, target, weight=None, size_average=None, ignore_index: int = -100,
             reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices given log-probabilities (``log_softmax`` out).

    Args:
        input: log-probabilities, float ``[C]``, ``[N, C]`` or ``[N, C, d1, ...]``.
        target: integer class indices, ``[]``, ``[N]`` or ``[N, d1, ...]``.
        weight: ``[C]`` rescaling weight of each class.
        ignore_index: a target value that contributes neither loss nor gradient.
        reduction: ``'mean'`` (divided by the summed weights of the targets that are not
            ignored), ``'sum'`` or ``'none'``.

    Returns:
        The loss: a scalar, or ``[N, d1, ...]`` with ``reduction='none'``.

    >>> import deltagrad as dg
    >>> log_p = dg.tensor([[-0.5, -1.0], [-2.0, -0.1]])
    >>> round(nll_loss(log_p, dg.tensor([0, 0]), weight=dg.tensor([1.0, 3.0])).item(), 4)
    1.25
    """
    name, reduction = "nll_loss", _reduction(reduction, size_average, reduce)
    ignore_index = int_arg(ignore_index, "ignore_index", "nll_loss_nd", True, True)
    if reduction in _REDUCTIONS and isinstance(target, Tensor) and (
            weight is None or type(weight) is Tensor):
        # The common case with one check instead of _class_targets' passes: every target in
        # [0, C) (one reduction over them read as unsigned, so a negative one is huge) and
        # ignore_index outside it, so no entry is ignored or out of bounds and the mean's
        # count is not 0; else the counted entries' bounds and count (three NumPy calls).
        # Anything else (bad targets, nothing counted, weights) takes the checks below, with
        # their errors. The op keeps its coefficients for its rule (a Scratch slot).
        # fwd + bwd x PyTorch's time, op_overhead.py --ops nll_loss,cross_entropy_index,
        # softmax_cross_entropy --rounds 25, HEAD and this alternated, 3 runs each, shared
        # 2-core machine (s16 NL): nll_loss 1.30 / 1.13 / 1.26 -> 0.89 / 0.81 / 0.84 (36 ->
        # 24 us on a quiet run; its worst sample, ignored entries: 1.49 / 1.39 / 1.45 -> 1.18 /
        # 1.09 / 1.12); cross_entropy_index, softmax_cross_entropy unchanged (other paths).
        x = _t(input)
        xd, td = x._data, target._data
        shape = xd.shape
        n_classes = shape[len(shape) > 1] if shape else 0
        wd = None if weight is None else weight._data
        if (xd.dtype in _NLL_DTYPES and td.dtype in _INDEX_DTYPES and td.size
                and (td.dtype != np.uint8 or len(shape) <= 2)  # (else Long only: the checks)
                and td.shape == (shape[:1] + shape[2:] if len(shape) > 1 else ())
                and (wd is None or (wd.dtype == xd.dtype and wd.shape == (n_classes,)))):
            # (<= 16 targets through lists; fwd + bwd [4, 3] 0.96, ignored 0.83 of it, s23 SP9)
            if not 0 <= ignore_index < n_classes and _all_below(td, n_classes):
                # Class weights too, where no entry is ignored and a mean's total weight is
                # not 0 (else the checks below: nan): fwd + bwd on OpInfo's weighted samples
                # 1.17 / 1.25 -> 0.95 / 0.97 x PyTorch (alternated, 15 rounds; s17 SP).
                fast = (wd is None or reduction != "mean"
                        or np.add.reduce(wd.take(td), None, np.float64) != 0)
            elif wd is not None:
                fast = False
            elif td.size <= 16:  # (some entry ignored, or out of bounds: the counted ones')
                kept = [v for v in td.ravel().tolist() if v != ignore_index]
                fast = bool(kept) and min(kept) >= 0 and max(kept) < n_classes
            else:
                unsigned = td.view(np.uint64) if td.dtype.kind == "i" else td
                valid = td != ignore_index  # (count_nonzero: any()'s wrapper cost 0.5 us)
                fast = np.count_nonzero(valid) > 0 and np.maximum.reduce(
                    np.where(valid, unsigned, 0), None) < n_classes
        else:
            fast = False
        if fast:
            extra = () if weight is None else (weight,)
            scratch = {"scratch": Scratch()} if x._rg and is_grad_enabled() else {}
            loss = apply(_NLL_LOSS, x, target, *extra, ignore_index=ignore_index,
                         reduction=reduction, **scratch)
            # (below 3 dims the op's own name is PyTorch's NllLossBackward0: name_node's
            # weak reference and its callback, 0.5 us a call, only for nll_loss2d's names)
            return loss if len(shape) < 3 else name_node(loss, nll_node_name(len(shape),
                                                                              reduction))
    _check_reduction(name, reduction)
    x = _t(input)
    _tensor_or_array(name, target, "target")
    _tensor_or_array(name, weight, "weight")
    if x._data.ndim == 0:  # (PyTorch: ValueError, "Expected 1 or more dimensions")
        raise ShapeError(f"{name}: input must be log-probabilities of shape [C], [N, C] or "
                         f"[N, C, d1, ...]; got shape {x.shape}")
    class_dim = 0 if x._data.ndim == 1 else 1
    try:
        safe, valid = _class_targets(name, x, target, ignore_index)  # (PyTorch checks them first)
    except IndexError:
        if x.dtype.kind == "f":  # (else the kernel's dtype error comes before its bounds check)
            raise
        safe = None
    if x.dtype.kind != "f":
        raise UnsupportedDTypeError(f"{name}: not implemented for {x.dtype} input of shape "
                                    f"{x.shape}; floating-point log-probabilities expected")
    w = _class_weights(name, weight, x._data.shape[class_dim], x.dtype)
    if (x._data.dtype in _NLL_DTYPES and isinstance(target, Tensor)
            and target._data.shape == safe.shape
            and (weight is None or isinstance(weight, Tensor))):
        # One node (ops/losses.py's nll_loss: the same bits as the composition below), but
        # for a mean over zero weight (0 / 0 below).
        extra = [] if weight is None else [weight]
        if reduction != "mean" or (w is None and valid.any()) or (
                w is not None and _target_weights(w, safe, valid, x.dtype).sum(
                    dtype=np.float64) != 0):
            scratch = {"scratch": Scratch()} if x._rg and is_grad_enabled() else {}
            return name_node(apply(_NLL_LOSS, x, target, *extra, ignore_index=ignore_index,
                                   reduction=reduction, **scratch),
                             nll_node_name(x.ndim, reduction))
    w_t = _target_weights(w, safe, valid, x.dtype)
    picked = gather(x, class_dim, np.expand_dims(safe, class_dim)).reshape(safe.shape)
    picked = picked if valid.all() else dg.where(_leaf(valid), picked, 0.0)  # (skipped: nan)
    if reduction == "none":
        return name_node(_zero_where_ignored(picked * _leaf(-w_t), valid),
                         nll_node_name(x.ndim, reduction))
    coef = -w_t
    if reduction == "mean":
        total = w_t.sum(dtype=np.float64)
        if total == 0:  # NOTE: loss 0 / 0 = nan; gradient -w / 0 = nan at each counted
            # target (weighted 0), 0 where ignored, as PyTorch (so all ignored: gradient 0).
            return name_node((picked * _leaf(np.where(valid, np.nan, 0).astype(x.dtype))).sum()
                             + _leaf(np.array(np.nan, dtype=x.dtype)),
                             nll_node_name(x.ndim, reduction))
        coef = coef / total.astype(x.dtype)
    return name_node((picked * _leaf(coef)).sum(), nll_node_name(x.ndim, reduction))


# ----------------------------------------------------------------------------------------------
# Binary cross-entropy.

_BCE = OPS["binary_cross_entropy"]
# The bits of 1.0 for each float dtype: read as unsigned integers, the floats in [0, 1] are
# exactly those at most these (a negative float has its sign bit set; nan and inf are larger).
_ONE_BITS = {np.dtype(np.float16): (np.dtype(np.uint16), 0x3C00),
             np.dtype(np.float32): (np.dtype(np.uint32), 0x3F800000),
             np.dtype(np.float64): (np.dtype(np.uint64), 0x3FF0000000000000)}


def _in_unit_interval(data: np.ndarray) -> bool:
    """Whether every value is in [0, 1] (nan is not): one reduction over the values' bits
    (two reductions and their tests: 1.3 us more a call)."""
    if not data.size:
        return True
    bits = _ONE_BITS.get(data.dtype)
    if bits is not None and np.maximum.reduce(data.view(bits[0]), axis=None) <= bits[1]:
        return True
    # (-0.0, and byte orders that are not the machine's, come here)
    return bool(np.minimum.reduce(data, axis=None) >= 0 and np.maximum.reduce(data, axis=None) <= 1)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    """-(y log x + (1 - y) log(1 - x)) between probabilities and targets, each log clamped at
    -100 (PyTorch's), so that x in {0, 1} gives a finite loss.

    Args:
        input: probabilities in [0, 1], floating, any shape.
        target: the input's shape and dtype, values in [0, 1] (differentiable).
        weight: rescaling weight broadcast to the input's shape.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    >>> import deltagrad as dg
    >>> round(binary_cross_entropy(dg.tensor([0.5, 1.0]), dg.tensor([1.0, 0.0])).item(), 4)
    50.3466
    """
    if (type(input) is Tensor and type(target) is Tensor and weight is None
            and size_average is None and reduce is None and type(reduction) is str
            and reduction in _REDUCTIONS):
        # The common call (float32 / float64 tensors of one shape and dtype, no weight, values
        # in [0, 1]): the checks below that can fire here, in their order, then the same op.
        # fwd + bwd on [3, 4] / [8] / [1], this / HEAD alternated in one process, thread
        # time, both import orientations: 0.98 (s29 SP49).
        xd, yd = input._data, target._data
        bits = _ONE_BITS.get(xd.dtype)
        if (bits is not None and xd.dtype.itemsize >= 4 and yd.dtype == xd.dtype
                and yd.shape == xd.shape and xd.size and np.maximum.reduce(
                    np.maximum(xd.view(bits[0]), yd.view(bits[0])), axis=None) <= bits[1]):
            if reduction == "none":
                return apply(_BCE, input, target)
            return apply(_BCE, input, target, reduction=reduction)
    name = "binary_cross_entropy"
    if size_average is not None or reduce is not None:
        reduction = _reduction(reduction, size_average, reduce)
    _check_reduction(name, reduction)
    x = _t(input)
    y = _target_tensor(name, target)
    if y._data.shape != x._data.shape:  # (F's Python checks the sizes before the dtypes)
        raise ValueError(f"Using a target size ({y.shape}) that is different to the input size "
                         f"({x.shape}) is deprecated. Please ensure they have the same size.")
    if weight is not None:  # (then F's Python reads weight.size())
        _target_tensor(name, weight, "weight")
    _floating(name, x)
    if y._data.dtype != x._data.dtype:
        raise RuntimeError(f"{name}: found target dtype {y.dtype} but expected the input's "
                           f"{x.dtype}")
    bits = _ONE_BITS.get(x._data.dtype)
    if bits is None or x._data.size == 0 or not np.maximum.reduce(
            np.maximum(x._data.view(bits[0]), y._data.view(bits[0])), axis=None) <= bits[1]:
        # (Both at once where both are in [0, 1] and not -0.0: one reduction of their bits'
        # maximum instead of two checks of 0.9 us; else each on its own, for the message.
        # With the op's in-place forward: the public forward on [8] float32 8.3 -> 7.3 us.)
        for what, data in (("input", x._data), ("target", y._data)):
            if not _in_unit_interval(data):
                raise RuntimeError(f"all elements of {what} should be between 0 and 1 ({name})")
    if weight is None and x._data.size and x._data.dtype.itemsize >= 4:
        # One node that reduces too (ops/losses.py), already named as PyTorch's (name_node:
        # ~1 us). Public forward + backward on [8] float32, mean: 17.5 -> 11.7 us.
        if reduction == "none":
            return apply(_BCE, x, y)
        return apply(_BCE, x, y, reduction=reduction)
    loss = apply(_BCE, x, y)
    if weight is not None:
        w = _t(weight)
        try:
            fits = np.broadcast_shapes(w.shape, y.shape) == y.shape
        except ValueError:
            fits = False
        if not fits:
            raise RuntimeError(f"{name}: weight of shape {w.shape} does not broadcast to the "
                               f"target's shape {y.shape}")
        loss = loss * w
    return name_node(_reduce(loss, reduction), "BinaryCrossEntropyBackward0", (x, y))


def _target_tensor(name: str, target, argument: str = "target") -> Tensor:
    if not isinstance(target, Tensor):
        raise TargetTypeError(f"{name}(): argument '{argument}' must be Tensor, not "
                              f"{type(target).__name__}")
    return target


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight=None) -> Tensor:
    """Sigmoid + binary cross-entropy in one stable expression, as PyTorch's.

    loss = (1 - y) x + (1 + (pos_weight - 1) y) · log(1 + exp(-x)), times ``weight``.

    Args:
        input: logits, any shape; target: probabilities in [0, 1], the input's shape.
        weight: broadcastable rescaling weight of each element.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        pos_weight: weight of the positive term, broadcast along the last dim (one per class).

    >>> import deltagrad as dg
    >>> loss = binary_cross_entropy_with_logits(dg.tensor([0.0, 100.0]), dg.tensor([1.0, 1.0]))
    >>> round(loss.item(), 4)
    0.3466
    """
    name = "binary_cross_entropy_with_logits"
    reduction = _reduction(reduction, size_average, reduce)
    _check_reduction(name, reduction)
    input = _t(input)
    target = _target_tensor(name, target)
    if target.shape != input.shape:  # (F's Python checks the sizes before the dtypes)
        message = (f"Target size ({target.shape}) must be the same as input size "
                   f"({input.shape}) ({name})")
        if input._data.dtype.kind != "f":  # (both wrong: torch.<name>'s ATen names the dtype)
            raise SizeAndDTypeError(f"{message}; and not implemented for {input.dtype} input")
        raise ShapeError(message)
    for value, argument in ((weight, "weight"), (pos_weight, "pos_weight")):
        if value is not None:  # (then its parser's types)
            _target_tensor(name, value, argument)
    _floating(name, input)
    if target.dtype.kind != "f":
        raise RuntimeError(f"{name}: target must be floating-point, got {target.dtype}")
    # log(1 + exp(-x)), stable for large |x|.
    log_sigmoid_neg = apply(OPS["softplus"], -input, beta=1.0, threshold=20.0)
    if pos_weight is not None:
        log_weight = (_t(pos_weight) - 1.0) * target + 1.0
        loss = (1.0 - target) * input + log_weight * log_sigmoid_neg
    else:
        loss = (1.0 - target) * input + log_sigmoid_neg
    if weight is not None:
        loss = loss * _t(weight)
    if reduction == "none":  # (PyTorch's loss is built in place on 1 - target: its dtype)
        loss = loss.to(target.dtype)
    # (mean / sum reduce before the cast: PyTorch's backward is exact in the input's dtype)
    return name_node(_reduce(loss, reduction).to(target.dtype),
                     "BinaryCrossEntropyWithLogitsBackward0", (input, target))


# ----------------------------------------------------------------------------------------------
# Regression losses.


def mse_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",
             weight=None) -> Tensor:
    """Mean squared error: the mean (or sum, or elementwise) of (input - target)².

    Args:
        input: floating, any shape.
        target: the input's shape (other broadcastable shapes work but warn, as PyTorch).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        weight: the input's shape; the weighted mean divides by ``weight.sum()``.
    """
    reduction = _reduction(reduction, size_average, reduce)
    _check_reduction("mse_loss", reduction)
    x, y = _promoted("mse_loss", *_pointwise_pair("mse_loss", input, target))
    diff = x - y
    loss = _weighted("mse_loss", diff * diff, weight, reduction)  # (named: PyTorch's node)
    return loss if weight is not None else name_node(loss, "MseLossBackward0", (x, y))


def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",
            weight=None) -> Tensor:
    """Mean absolute error |input - target| (gradient 0 where they are equal).

    Args as ``mse_loss``.
    """
    reduction = _reduction(reduction, size_average, reduce)
    _check_reduction("l1_loss", reduction)
    x, y = _pointwise_pair("l1_loss", input, target)
    if x.dtype.kind == "b" or y.dtype.kind == "b":  # (PyTorch's l1 is input - target)
        raise RuntimeError(f"l1_loss: subtraction of a bool tensor is not supported (input "
                           f"{x.dtype}, target {y.dtype})")
    diff = x - y
    if reduction == "mean" and diff.dtype.kind != "f":
        raise RuntimeError(f"l1_loss: mean(): could not infer output dtype from {diff.dtype} "
                           "input; use a floating-point input")
    return _weighted("l1_loss", diff.abs(), weight, reduction)


_HUBER = OPS["huber"]
_HUBER_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """0.5 d² / beta where |d| < beta, else |d| - 0.5 beta (d = input - target); beta = 0 is
    the L1 loss.

    Args as ``mse_loss``, plus ``beta`` >= 0.
    """
    reduction = _reduction(reduction, size_average, reduce)
    _check_reduction("smooth_l1_loss", reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    x, y = _promoted("smooth_l1_loss", *_pointwise_pair("smooth_l1_loss", input, target))
    if beta == 0 or x._data.dtype in _HUBER_DTYPES:  # (huber: one node, its difference in it)
        if beta != 0 and reduction != "none" and x._data.ndim and x._data.size:
            return rename_node(apply(_HUBER, x, y, delta=float(beta), smooth=True,  # (as
                                     reduction=reduction, scratch=Scratch()),  # huber_loss)
                               "SmoothL1LossBackward0")
        loss = (x - y).abs() if beta == 0 else apply(_HUBER, x, y, delta=float(beta),
                                                     smooth=True, scratch=Scratch())
        if reduction == "none" and beta != 0:  # (the op's node is the whole function)
            return rename_node(loss, "SmoothL1LossBackward0")  # (see huber_loss)
        if beta == 0:  # (PyTorch's l1_loss then: the mean of the absolute difference)
            return _reduce(loss, reduction)
        return name_node(_reduce(loss, reduction), "SmoothL1LossBackward0", (x, y))
    diff = x - y
    size = diff.abs()
    # (not >=: a nan difference is inside, whose gradient d / beta is nan, as PyTorch's; the
    # array: bfloat16's .numpy() refuses)
    inside = _leaf(np.asarray(~(size._data >= beta)))
    # NOTE: the square of the inside part only (0 outside): where(inside, d * d, ...) alone
    # sends 0 * d = nan back from an infinite d outside, where PyTorch's gradient is its sign.
    near = dg.where(inside, diff, 0.0)
    return name_node(
        _reduce(dg.where(inside, near * near * (0.5 / beta), size - 0.5 * beta), reduction),
        "SmoothL1LossBackward0", (x, y))


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0,
               weight=None) -> Tensor:
    """0.5 d² where |d| < delta, else delta (|d| - 0.5 delta) (d = input - target).

    Args as ``mse_loss``, plus ``delta`` > 0.
    """
    _check_reduction("huber_loss", reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    x, y = _pointwise_pair("huber_loss", input, target)
    if (dtype := x._data.dtype) in _HUBER_DTYPES and y._data.dtype == dtype:  # (see below)
        if weight is None and reduction != "none" and x._data.ndim and x._data.size:
            # "mean" / "sum" in the op's one node, as PyTorch's HuberLossBackward0 (the same
            # bits as the mean / sum node over it: ops/losses.py). fwd + bwd on [3, 4] float32,
            # mean: 0.69-0.72 of the two nodes' time (the name_node too; s30 SP50).
            return rename_node(apply(_HUBER, x, y, delta=float(delta), smooth=False,
                                     reduction=reduction, scratch=Scratch()),
                               "HuberLossBackward0")
        loss = apply(_HUBER, x, y, delta=float(delta), smooth=False, scratch=Scratch())
        if reduction == "none" and weight is None:
            # The op's node is the whole function: a twin of the op under PyTorch's name
            # (rename_node), not name_node's weak reference. With the op's outside mask:
            # op_overhead.py --ops huber 0.63 -> 0.56-0.60 x PyTorch (s24 SP11; ab.py
            # --workload ops --ops huber against the code before: 0.89 of its time).
            return rename_node(loss, "HuberLossBackward0")
        if weight is not None:  # (PyTorch's huber node, then the weighting's own nodes)
            return _weighted("huber_loss", rename_node(loss, "HuberLossBackward0"), weight,
                             reduction, mean_by_weight=False)
        return name_node(_reduce(loss, reduction), "HuberLossBackward0", (x, y))
    if x.dtype.kind != "f" and y.dtype.kind != "f":
        raise NotImplementedError(f'"huber_cpu" not implemented for {x.dtype} input of shape '
                                  f"{x.shape} and {y.dtype} target")
    if x.dtype.kind != "f":  # (PyTorch writes the result in the input's dtype)
        raise DTypeError(f"huber_loss: result type {dg.result_type(x, y)} can't be cast to "
                         f"the desired output type {x.dtype}")
    if y.dtype.kind != "f":
        y = y.to(x.dtype)
    if x._data.dtype in _HUBER_DTYPES and y._data.dtype == x._data.dtype:  # (an int target)
        loss = apply(_HUBER, x, y, delta=float(delta), smooth=False, scratch=Scratch())
    elif (diff := x - y)._data.dtype in _HUBER_DTYPES:  # (float32 with float64)
        loss = apply(_HUBER, diff, delta=float(delta), smooth=False, scratch=Scratch())
    else:
        size = diff.abs()
        # (not >=: nan is inside, as smooth_l1_loss; _data: bfloat16's .numpy() refuses)
        inside = _leaf(np.asarray(~(size._data >= delta)))
        near = dg.where(inside, diff, 0.0)  # (as smooth_l1_loss: no 0 * inf in the gradient)
        loss = dg.where(inside, near * near * 0.5, (size - 0.5 * delta) * delta)
    loss = _weighted("huber_loss", loss, weight, reduction, mean_by_weight=False)
    return name_node(loss if loss.dtype == x.dtype else loss.type(x.dtype),  # (input's)
                     "HuberLossBackward0",  # (PyTorch's, over the input and target)
                     (x, y) if weight is None else None)


# ----------------------------------------------------------------------------------------------
# Divergence and likelihood losses.


def _xlogy_self(y: Tensor) -> Tensor:
    """y log y, 0 where y == 0."""
    zero = np.asarray(y._data == 0)  # (the array: bfloat16's .numpy() refuses)
    if not zero.any():
        return y * y.log()
    mask = _leaf(zero)
    safe = dg.where(mask, _leaf(np.ones((), dtype=y.dtype)), y)
    return dg.where(mask, _leaf(np.zeros((), dtype=y.dtype)), y * safe.log())


def kl_div(input, target, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence, pointwise ``target * (log target - input)``, with ``input``
    given as log-probabilities (and ``target`` too with ``log_target``).

    Args:
        input: log-probabilities, floating, any shape.
        target: probabilities (or their logs), broadcastable to the input.
        reduction: ``'mean'`` (over every element; warns, as PyTorch), ``'batchmean'`` (the
            sum divided by the batch size, the mathematical KL divergence), ``'sum'`` or
            ``'none'``.
        log_target: ``target`` holds log-probabilities.

    NOTE: where ``target`` is 0 (not ``log_target``) its own gradient is 0 here; PyTorch's is
    nan (the derivative of xlogy at 0).

    >>> import deltagrad as dg
    >>> p = dg.tensor([[0.5, 0.5]])
    >>> kl_div(p.log(), p, reduction="batchmean")
    tensor(0.)
    """
    if not isinstance(target, Tensor):
        raise TypeError(f"kl_div(): argument 'target' (position 2) must be Tensor, not "
                        f"{type(target).__name__}")
    x, y = _t(input), target
    if x.dtype.kind != "f" or y.dtype.kind != "f":
        raise RuntimeError("kl_div: Integral inputs not supported.")
    if size_average is not None or reduce is not None:
        reduction = _reduction(reduction, size_average, reduce)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
    if reduction != "batchmean":
        _check_reduction("kl_div", reduction)
    if log_target:
        loss = y.exp() * (y - x)
    else:
        loss = _xlogy_self(y) - y * x
    if reduction == "batchmean":
        total = loss.sum()
        return total / x.shape[0] if x.ndim else total
    return _reduce(loss, reduction)
