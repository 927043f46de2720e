"""Neural-network functions (PyTorch's ``torch.nn.functional``): layers, activations, losses."""

from __future__ import annotations

import warnings

import numpy as np

from .._engine.api.indexing import gather
from .._engine.api.linalg import matmul
from .._engine.api.pointwise import _t
from .._engine.autograd import ShapeError, no_grad
from .._engine.ops import OPS
from .._engine.ops.nn import CROSS_ENTROPY_INDEX, DROPOUT, LINEAR, SOFTMAX_CROSS_ENTROPY
from .._engine.random import keep_mask, numpy_generator
from .._engine.tensor import Tensor, _leaf, apply

__all__ = [
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "embedding",
    "gelu",
    "hardtanh",
    "leaky_relu",
    "linear",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
    "tanh",
]

_REDUCTIONS = ("none", "mean", "sum")


# ----------------------------------------------------------------------------------------------
# Layers.


def linear(input, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Affine map ``input @ weight.T + bias``, as ``torch.nn.functional.linear``.

    Args:
        input: ``[*, in_features]``.
        weight: ``[out_features, in_features]``.
        bias: ``[out_features]`` or ``None``.

    Returns:
        ``[*, out_features]``.

    >>> import deltagrad as dg
    >>> x = dg.tensor([[1.0, 2.0]])
    >>> linear(x, dg.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, -1.0]]), dg.tensor([0.5, 0.0, 0.0]))
    tensor([[ 1.5,  3. , -2. ]])
    """
    input = _t(input)
    weight = _t(weight)
    x, w = input._data, weight._data  # (the arrays: cheaper to ask than the Tensor properties)
    if x.ndim == 0 or w.ndim not in (1, 2) or x.shape[-1] != w.shape[-1]:
        raise ShapeError(f"linear: input of shape {input.shape} does not match weight of shape "
                         f"{weight.shape} (expected input [*, {w.shape[-1]}] for weight "
                         "[out_features, in_features])")
    if w.ndim == 2 and x.dtype.kind == "f" and w.dtype == x.dtype:
        if bias is None:
            return apply(LINEAR, input, weight)
        bias = _t(bias)
        if bias._data.dtype == x.dtype and bias._data.shape == (w.shape[0],):
            return apply(LINEAR, input, weight, bias)
    # Mixed dtypes, a 1-D weight or a broadcast bias: the unfused composition, which applies
    # PyTorch's promotion and broadcasting rules.
    out = matmul(input, weight.T)
    return out if bias is None else out + bias


def embedding(input, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by integer ids, as ``torch.nn.functional.embedding``.

    Args:
        input: int ``[*]``, ids in ``[0, num_embeddings)``.
        weight: ``[num_embeddings, embedding_dim]``.
        padding_idx: an id whose row receives no gradient (negative counts from the end).
        max_norm: if given, each looked-up row whose ``norm_type``-norm exceeds it is rescaled
            to norm ``max_norm`` *in place* in ``weight`` before the lookup (PyTorch's renorm).
        norm_type: the p of the norm for ``max_norm``.
        scale_grad_by_freq: not supported (must be False).
        sparse: make ``weight.grad`` a row-sparse gradient (only the looked-up rows).

    Returns:
        ``[*, embedding_dim]``.

    >>> import deltagrad as dg
    >>> table = dg.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]])
    >>> embedding(dg.tensor([[2, 1], [1, 1]]), table)
    tensor([[[3., 4.],
             [1., 2.]],
    <BLANKLINE>
            [[1., 2.],
             [1., 2.]]])
    """
    if scale_grad_by_freq:
        raise NotImplementedError("embedding: scale_grad_by_freq=True is not supported")
    weight = _t(weight)
    if weight.ndim != 2:
        raise ShapeError(f"embedding: weight must be 2-D [num_embeddings, embedding_dim], got "
                         f"shape {weight.shape}")
    ids = input if isinstance(input, Tensor) else _leaf(np.asarray(input))
    if ids.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got {ids.dtype} of shape "
                        f"{ids.shape}")
    num = weight.shape[0]
    if ids._data.size and not _all_below(ids._data, num):
        bad = ids._data[(ids._data < 0) | (ids._data >= num)].flat[0]
        raise IndexError(f"embedding: index {bad} is out of range for a table of {num} rows "
                         f"(indices of shape {ids.shape}, weight of shape {weight.shape})")
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within the "
                             f"{num} rows")
        padding_idx = int(padding_idx) % num
    if max_norm is not None:
        _renorm_rows(weight, ids._data, max_norm, norm_type)
    return apply(OPS["embedding"], weight, ids, padding_idx=padding_idx, sparse=bool(sparse))


def _all_below(ids: np.ndarray, num: int) -> bool:
    """Whether every id is in [0, num), in one pass: a negative int of 4 bytes or more, read
    as unsigned, is at least 2**31, more rows than any table has."""
    if ids.dtype.kind == "i":
        if ids.dtype.itemsize >= 4 and ids.dtype.isnative and num < 2 ** 31:
            ids = ids.view(_UNSIGNED[ids.dtype.itemsize])
        elif np.minimum.reduce(ids, axis=None) < 0:
            return False
    return int(np.maximum.reduce(ids, axis=None)) < num


_UNSIGNED = {4: np.dtype(np.uint32), 8: np.dtype(np.uint64)}


def _renorm_rows(weight: Tensor, ids: np.ndarray, max_norm: float, norm_type: float) -> None:
    # As PyTorch's embedding_renorm_: rows whose norm exceeds max_norm are scaled by
    # max_norm / (norm + 1e-7), in place, outside the graph.
    with no_grad():
        rows = np.unique(ids)
        values = weight._data[rows]
        norms = np.linalg.norm(values, ord=norm_type, axis=1)
        big = norms > max_norm
        if big.any():
            scale = (max_norm / (norms[big] + 1e-7)).astype(weight.dtype)
            weight._data[rows[big]] = values[big] * scale[:, None]


def dropout(input, p: float = 0.5, training: bool = True, *, generator=None) -> Tensor:
    """Inverted dropout: zero each element with probability ``p``, scale the rest by 1/(1-p).

    Args:
        input: any shape.
        p: drop probability in [0, 1]; 1 gives zeros.
        training: apply dropout; when False (evaluation) the input is returned unchanged.
        generator: ``deltagrad.Generator`` (or NumPy Generator) for the mask; default: the
            global one seeded by ``deltagrad.manual_seed``.

    Returns:
        A tensor of the input's shape.

    >>> import deltagrad as dg
    >>> x = dg.ones(8)
    >>> y = dropout(x, 0.5, generator=dg.Generator(0))
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    >>> dropout(x, 0.5, training=False) is x
    True
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    input = _t(input)
    if not training or p == 0.0:
        return input
    dtype = input.dtype if input.dtype.kind == "f" else np.dtype(np.float32)
    keep = keep_mask(numpy_generator(generator), input.shape, p)
    # NOTE: PyTorch's values: x times a 0/1 mask divided by (1 - p) in the input's dtype. With
    # p == 1 nothing is kept (and 0 / 0 is avoided).
    if input.dtype != dtype:
        input = input.type(dtype)
    return apply(DROPOUT, input, _leaf(keep), p=float(p))


# ----------------------------------------------------------------------------------------------
# Activations.


def relu(input) -> Tensor:
    """max(x, 0) elementwise; its gradient at 0 is 0."""
    return _t(input).relu()


def tanh(input) -> Tensor:
    """Hyperbolic tangent elementwise."""
    return _t(input).tanh()


def sigmoid(input) -> Tensor:
    """1 / (1 + exp(-x)) elementwise, without overflow."""
    return _t(input).sigmoid()


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """Clip to [min_val, max_val]; the gradient is 1 strictly inside, 0 elsewhere.

    >>> import deltagrad as dg
    >>> hardtanh(dg.tensor([-2.0, 0.5, 3.0]))
    tensor([-1. ,  0.5,  1. ])
    """
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    return apply(OPS["hardtanh"], _t(input), min_val=min_val, max_val=max_val)


def leaky_relu(input, negative_slope: float = 0.01) -> Tensor:
    """x for x > 0, ``negative_slope * x`` otherwise."""
    return apply(OPS["leaky_relu"], _t(input), negative_slope=negative_slope)


def gelu(input, approximate: str = "none") -> Tensor:
    """x * Phi(x) (``approximate='none'``) or its tanh approximation (``'tanh'``)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return apply(OPS["gelu"], _t(input), approximate=approximate)


def softplus(input, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold (as PyTorch)."""
    return apply(OPS["softplus"], _t(input), beta=beta, threshold=threshold)


def _check_dim(name: str, x: Tensor, dim) -> int:
    if dim is None:
        raise TypeError(f"{name}: dim is required")
    ndim = max(x.ndim, 1)
    if not -ndim <= dim < ndim:
        raise IndexError(f"{name}: dim {dim} is out of range for an input of shape {x.shape}")
    return int(dim) % ndim


def softmax(input, dim: int, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (computed stably).

    Args:
        input: any shape.
        dim: the dimension that sums to 1.
        dtype: cast the input to this dtype first.

    >>> import math, deltagrad as dg
    >>> softmax(dg.tensor([[1.0, 1.0], [0.0, math.log(3)]]), dim=1)
    tensor([[0.5 , 0.5 ],
            [0.25, 0.75]])
    """
    input = _t(input)
    if dtype is not None:
        input = input.type(dtype)
    return input.softmax(_check_dim("softmax", input, dim))


def log_softmax(input, dim: int, dtype=None) -> Tensor:
    """log(softmax(x)) along ``dim``, computed stably (never log of 0 for finite inputs)."""
    input = _t(input)
    if dtype is not None:
        input = input.type(dtype)
    return input.log_softmax(_check_dim("log_softmax", input, dim))


# ----------------------------------------------------------------------------------------------
# Losses.


def _check_reduction(name: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def _class_weights(name: str, weight, n_classes: int, dtype) -> np.ndarray | None:
    if weight is None:
        return None
    w = weight._data if isinstance(weight, Tensor) else np.asarray(weight)
    if w.shape != (n_classes,):
        raise ShapeError(f"{name}: weight must hold one value per class, shape ({n_classes},); "
                         f"got shape {w.shape}")
    return w.astype(dtype, copy=False)


def _class_targets(name: str, x: Tensor, target, ignore_index: int):
    """Validate integer class-index targets; return them with ignored entries set to 0, and
    the mask of entries that count."""
    class_dim = 0 if x.ndim == 1 else 1
    n_classes = x.shape[class_dim]
    expected = x.shape[:class_dim] + x.shape[class_dim + 1:]
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must hold integer class indices of shape {expected} "
                        f"for input of shape {x.shape}; got a {t.dtype} target of shape "
                        f"{t.shape}")
    if t.shape != expected:
        raise ShapeError(f"{name}: target of shape {t.shape} does not match input of shape "
                         f"{x.shape}: expected class indices of shape {expected} (the input "
                         f"without its class dimension {class_dim})")
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise IndexError(f"{name}: target {t[bad].flat[0]} is out of bounds for {n_classes} "
                         f"classes (input shape {x.shape}, target shape {t.shape}); class "
                         f"indices must be in [0, {n_classes}) or equal ignore_index "
                         f"({ignore_index})")
    return np.where(valid, t, 0), valid


def _target_weights(w: np.ndarray | None, safe: np.ndarray, valid: np.ndarray, dtype):
    """The weight of each entry's target class, 0 where the entry is ignored."""
    if w is None:
        return valid.astype(dtype)
    return np.where(valid, w[safe], 0).astype(dtype, copy=False)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def cross_entropy(input, target, weight=None, *, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
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
    _check_reduction(name, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}")
    x = _t(input)
    if x.ndim == 0 or x.dtype.kind != "f":
        raise TypeError(f"{name}: input must be floating-point logits of shape [C], [N, C] or "
                        f"[N, C, d1, ...]; got {x.dtype} of shape {x.shape}")
    class_dim = 0 if x.ndim == 1 else 1
    n_classes = x.shape[class_dim]
    t_data = target._data if isinstance(target, Tensor) else np.asarray(target)
    if (x.ndim == 2 and weight is None and label_smoothing == 0.0 and t_data.dtype.kind in "iu"
            and t_data.shape == x.shape[:1] and t_data.size):
        # The common case: a batch of logits and class indices, one primitive that takes the
        # targets as an input. Bounds are checked in full only when a quick check may fail.
        if not _all_below(t_data, n_classes):
            _class_targets(name, x, t_data, ignore_index)  # raises unless all are ignore_index
        targets = target if isinstance(target, Tensor) else _leaf(t_data)
        return apply(CROSS_ENTROPY_INDEX, x, targets, ignore_index=int(ignore_index),
                     reduction=reduction)
    w = _class_weights(name, weight, n_classes, x.dtype)
    # Weights reshaped to broadcast along the class dimension.
    w_b = None if w is None else w.reshape((n_classes,) + (1,) * (x.ndim - class_dim - 1))

    if t_data.dtype.kind == "f" and t_data.shape == x.shape:
        # Class probabilities (differentiable when the target requires grad).
        if ignore_index >= 0:
            raise ValueError(f"{name}: ignore_index is not supported for class-probability "
                             f"targets (target of the input's shape {x.shape})")
        q = target if isinstance(target, Tensor) and target.requires_grad else t_data
        if q.dtype != x.dtype:
            q = q.type(x.dtype) if isinstance(q, Tensor) else q.astype(x.dtype)
        if label_smoothing > 0.0:
            q = q * (1.0 - label_smoothing) + label_smoothing / n_classes
        if w_b is not None:
            q = q * w_b
        if reduction == "mean":
            q = q / (x._data.size // n_classes)
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
        if label_smoothing > 0.0:
            smooth = (label_smoothing / n_classes) * np.expand_dims(valid, class_dim)
            q += (smooth * w_b if w_b is not None else smooth).astype(x.dtype, copy=False)
        if reduction == "mean":
            total = w_t.sum(dtype=np.float64)
            if total == 0:
                # NOTE: every target ignored (or weighted 0): the loss is 0 / 0 = nan and the
                # gradient 0, as in PyTorch; q stays all zeros and a constant nan is added.
                loss = apply(SOFTMAX_CROSS_ENTROPY, x, _leaf(q), dim=class_dim, reduction="sum")
                return loss + _leaf(np.array(np.nan, dtype=x.dtype))
            q /= total.astype(x.dtype)
    q = q if isinstance(q, Tensor) else _leaf(q)
    return apply(SOFTMAX_CROSS_ENTROPY, x, q, dim=class_dim,
                 reduction="none" if reduction == "none" else "sum")


def nll_loss(input, target, weight=None, *, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
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
    name = "nll_loss"
    _check_reduction(name, reduction)
    x = _t(input)
    if x.ndim == 0 or x.dtype.kind != "f":
        raise TypeError(f"{name}: input must be floating-point log-probabilities of shape [C], "
                        f"[N, C] or [N, C, d1, ...]; got {x.dtype} of shape {x.shape}")
    class_dim = 0 if x.ndim == 1 else 1
    w = _class_weights(name, weight, x.shape[class_dim], x.dtype)
    safe, valid = _class_targets(name, x, target, ignore_index)
    w_t = _target_weights(w, safe, valid, x.dtype)
    picked = gather(x, class_dim, np.expand_dims(safe, class_dim)).reshape(safe.shape)
    if reduction == "none":
        return picked * _leaf(-w_t)
    coef = -w_t
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            coef = coef / w_t.sum(dtype=np.float64).astype(x.dtype)
    return (picked * _leaf(coef)).sum()


def mse_loss(input, target, *, reduction: str = "mean") -> Tensor:
    """Mean squared error: the mean (or sum, or elementwise) of (input - target)².

    Args:
        input: any shape.
        target: the input's shape (other broadcastable shapes work but warn, as PyTorch).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
    """
    _check_reduction("mse_loss", reduction)
    input = _t(input)
    target = _t(target, input)
    if target.shape != input.shape:
        warnings.warn(f"mse_loss: target shape {target.shape} differs from input shape "
                      f"{input.shape}; they will be broadcast, which is likely a mistake",
                      stacklevel=2)
    diff = input - target
    return _reduce(diff * diff, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, *, reduction: str = "mean",
                                     pos_weight=None) -> Tensor:
    """Sigmoid + binary cross-entropy in one stable expression, as PyTorch's.

    loss = (1 - y) x + (1 + (pos_weight - 1) y) · log(1 + exp(-x)), times ``weight``.

    Args:
        input: logits, any shape.
        target: probabilities in [0, 1], the input's shape.
        weight: broadcastable rescaling weight of each element.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        pos_weight: weight of the positive term, broadcast along the last dimension (one per
            class).

    >>> import deltagrad as dg
    >>> loss = binary_cross_entropy_with_logits(dg.tensor([0.0, 100.0]), dg.tensor([1.0, 1.0]))
    >>> round(loss.item(), 4)
    0.3466
    """
    name = "binary_cross_entropy_with_logits"
    _check_reduction(name, reduction)
    input = _t(input)
    target = _t(target, input)
    if target.shape != input.shape:
        raise ShapeError(f"{name}: target size {target.shape} must be the same as input size "
                         f"{input.shape}")
    if target.dtype.kind != "f":
        target = target.type(input.dtype)
    # log(1 + exp(-x)), stable for large |x|.
    log_sigmoid_neg = apply(OPS["softplus"], -input, beta=1.0, threshold=20.0)
    if pos_weight is not None:
        log_weight = (_t(pos_weight, input) - 1.0) * target + 1.0
        loss = (1.0 - target) * input + log_weight * log_sigmoid_neg
    else:
        loss = (1.0 - target) * input + log_sigmoid_neg
    if weight is not None:
        loss = loss * _t(weight, input)
    return _reduce(loss, reduction)
