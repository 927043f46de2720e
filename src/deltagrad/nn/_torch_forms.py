"""PyTorch's top-level forms of nn functions (``torch.selu``, ``torch.embedding``, ...).

PyTorch exposes many ``torch.nn.functional`` functions at the top level too, with the ATen
signature rather than the functional one: ``torch.embedding(weight, indices)`` takes its
arguments the other way round, ``torch.batch_norm`` puts the affine parameters first, the
losses take ``reduction`` as an int (0 none, 1 mean, 2 sum) and the dropouts a positional
``train``. The engine cannot import ``nn``, so these live here and ``deltagrad/__init__``
re-exports them; where the signatures agree the functional itself is re-exported.
"""

from __future__ import annotations

import warnings

from .._engine.api._common import int_arg
from .._engine.api.shape import broadcast_tensors
from .._engine.tensor import Tensor, tensor_method
from . import functional as F

# Same signature as the functional: re-exported as they are.
from .functional import (
    bilinear,
    celu,
    channel_shuffle,
    conv1d,
    conv2d,
    cosine_similarity,
    hardshrink,
    layer_norm,
    pairwise_distance,
    pdist,
    pixel_shuffle,
    pixel_unshuffle,
    prelu,
    rms_norm,
    rrelu,
)
from .normalization import aten_group_norm as group_norm  # ATen's form: no Python checks

__all__ = [
    "adaptive_avg_pool1d", "adaptive_max_pool1d", "alpha_dropout", "avg_pool1d", "batch_norm",
    "bilinear", "binary_cross_entropy_with_logits", "celu", "channel_shuffle", "conv1d",
    "conv2d",
    "cosine_embedding_loss", "cosine_similarity", "ctc_loss", "dropout", "embedding",
    "embedding_bag",
    "feature_alpha_dropout", "group_norm", "hardshrink", "hinge_embedding_loss", "kl_div",
    "layer_norm", "margin_ranking_loss", "max_pool1d", "max_pool1d_with_indices",
    "pairwise_distance", "pdist", "pixel_shuffle", "pixel_unshuffle", "poisson_nll_loss",
    "prelu", "rms_norm", "rrelu", "selu",
    "threshold", "triplet_margin_loss",
]

# PyTorch's top-level convolutions are builtins, which do not bind as methods: kornia keeps
# ``conv = torch.conv2d`` as a class attribute and calls ``self.conv(x, weight=kernel)``.
# (A staticmethod is callable and binds to nothing; torch.conv3d comes from nn.conv2d.)
conv1d = staticmethod(conv1d)
conv2d = staticmethod(conv2d)


def selu(input) -> Tensor:
    """``torch.selu(input)``: ``nn.functional.selu`` without its ``inplace`` argument."""
    return F.selu(input)


def threshold(input, threshold: float, value: float) -> Tensor:
    """``torch.threshold(input, threshold, value)``: no ``inplace`` argument (``threshold_``)."""
    return F.threshold(input, threshold, value)


# PyTorch has these two as Tensor methods too (``x.hardshrink(0.5)``, ``x.prelu(weight)``).
tensor_method(hardshrink)
tensor_method(prelu)

_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def _reduction(reduction: int, where: str) -> str:
    """ATen's reduction enum (an int, or a 0-d integer tensor; a string or a bool is PyTorch's
    TypeError) as the functional's string."""
    reduction = int_arg(reduction, "reduction", where)
    if reduction not in _REDUCTIONS:
        raise RuntimeError(f"reduction must be 0 (none), 1 (mean) or 2 (sum), got {reduction!r}")
    return _REDUCTIONS[reduction]


# ----------------------------------------------------------------------------------------------
# Dropout, embedding and normalization with ATen's argument order.


def dropout(input, p: float, train: bool) -> Tensor:
    """``torch.dropout(input, p, train)``: ``nn.functional.dropout`` with ``training=train``."""
    return F.dropout(input, p, training=train)


def alpha_dropout(input, p: float, train: bool) -> Tensor:
    """``torch.alpha_dropout(input, p, train)``: ``nn.functional.alpha_dropout``."""
    return F.alpha_dropout(input, p, training=train)


def feature_alpha_dropout(input, p: float, train: bool) -> Tensor:
    """``torch.feature_alpha_dropout(input, p, train)``: ``nn.functional.feature_alpha_dropout``."""
    return F.feature_alpha_dropout(input, p, training=train)


def embedding(weight, indices, padding_idx: int = -1, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """``torch.embedding(weight, indices, ...)``: the table comes first; ``padding_idx=-1``
    means no padding row here (as in ATen), unlike ``nn.functional.embedding``.

    Args:
        weight: ``[num_embeddings, embedding_dim]``.
        indices: int ``[*]``.
        padding_idx: the row that gets no gradient, or -1 (or any negative) for none.
        scale_grad_by_freq: divide each look-up's gradient by how often its id occurs.
        sparse: a row-sparse gradient for ``weight``.

    Returns:
        ``[*, embedding_dim]``.
    """
    for position, (name, value) in enumerate((("weight", weight), ("indices", indices)), 1):
        if not isinstance(value, Tensor):  # (PyTorch's parser takes no numbers or lists here)
            raise TypeError(f"embedding(): argument '{name}' (position {position}) must be "
                            f"Tensor, not {type(value).__name__}")
    padding_idx = int_arg(padding_idx, "padding_idx", "embedding")
    if weight.ndim != 2:
        raise RuntimeError(f"embedding: 'weight' must be 2-D, got shape {tuple(weight.shape)}")
    _check_indices("embedding", indices, weight, IndexError)
    # ATen uses padding_idx only in the backward (that row gets no gradient), so one outside
    # the table, which no index can equal, means no padding row (F.embedding refuses it).
    rows = weight.shape[0]
    padding = padding_idx if 0 <= padding_idx < rows else None
    return F.embedding(indices, weight, padding, scale_grad_by_freq=scale_grad_by_freq,
                       sparse=sparse)


def _check_indices(where: str, indices: Tensor, weight: Tensor, out_of_range: type) -> None:
    """ATen's checks of an embedding's indices: int32 or int64 (RuntimeError), each a row of
    ``weight`` (``out_of_range``: embedding's IndexError, embedding_bag's RuntimeError)."""
    import numpy as np  # (kept local: the rest of this module does not need it)

    ids = indices._data
    if ids.dtype not in (np.int32, np.int64):
        raise RuntimeError(f"{where}: expected indices of scalar type Long or Int, got "
                           f"{indices.dtype}")
    rows = weight.shape[0]
    if ids.size and (ids.min() < 0 or ids.max() >= rows):
        raise out_of_range(f"{where}: index out of range in self (indices must be in "
                           f"[0, {rows}))")


def batch_norm(input, weight, bias, running_mean, running_var, training: bool,
               momentum: float, eps: float, cudnn_enabled: bool = True) -> Tensor:
    """``torch.batch_norm``: ``nn.functional.batch_norm`` with the affine parameters first
    (``cudnn_enabled`` means nothing on the CPU). ATen's form checks no ``eps``: 0 or less
    computes, as PyTorch's (``native_batch_norm``), where ``F.batch_norm`` refuses it."""
    if eps <= 0.0:
        from .._engine.api.aten_forms import native_batch_norm

        return native_batch_norm(input, weight, bias, running_mean, running_var, training,
                                 momentum, eps)[0]
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def embedding_bag(weight, indices, offsets, scale_grad_by_freq: bool = False, mode: int = 0,
                  sparse: bool = False, per_sample_weights=None,
                  include_last_offset: bool = False, padding_idx: int | None = None) -> tuple:
    """``torch.embedding_bag`` (ATen's form, added in session 7): ``nn.functional.embedding_bag``
    with the table first and ``mode`` 0 sum, 1 mean, 2 max, returning ``(output, offset2bag,
    bag_size, max_indices)`` with the helper tensors as PyTorch's CPU kernel fills them."""
    import numpy as np  # (kept local: the rest of this module does not need it)

    from .._engine.autograd import is_grad_enabled
    from .._engine.dtypes import float16 as dg_float16
    from .._engine.dtypes import float32 as dg_float32
    from .._engine.tensor import _leaf

    for position, (name, value) in enumerate(
            (("weight", weight), ("indices", indices), ("offsets", offsets)), 1):
        if not isinstance(value, Tensor):  # (PyTorch's parser takes no numbers or lists here)
            raise TypeError(f"embedding_bag(): argument '{name}' (position {position}) must be "
                            f"Tensor, not {type(value).__name__}")
    if per_sample_weights is not None and not isinstance(per_sample_weights, Tensor):
        raise TypeError(f"embedding_bag(): argument 'per_sample_weights' must be Tensor, not "
                        f"{type(per_sample_weights).__name__}")
    mode = int_arg(mode, "mode", "embedding_bag")
    if padding_idx is not None:
        padding_idx = int_arg(padding_idx, "padding_idx", "embedding_bag")
    if mode not in (0, 1, 2):
        raise RuntimeError(f"embedding_bag: unknown mode {mode}")
    if indices.ndim != 1:
        raise RuntimeError("embedding_bag: deltagrad's ATen form takes 1-D indices with offsets")
    padding = None if padding_idx is None or padding_idx < 0 else padding_idx
    output = F.embedding_bag(indices, weight, offsets, scale_grad_by_freq=scale_grad_by_freq,
                             mode=("sum", "mean", "max")[mode], sparse=sparse,
                             per_sample_weights=per_sample_weights,
                             include_last_offset=include_last_offset, padding_idx=padding)
    ids = indices.numpy().astype(np.int64)
    starts = offsets.numpy().astype(np.int64)
    bags = starts.size - 1 if include_last_offset else starts.size
    owner = np.searchsorted(starts[:bags], np.arange(ids.size), side="right") - 1
    kept = ids != padding if padding is not None else np.ones(ids.size, dtype=bool)
    if mode == 0:
        # (PyTorch's fast sum path, float32 or float16 tables without padding, leaves it empty)
        fast = padding is None and weight.dtype in (dg_float32, dg_float16)
        offset2bag = np.zeros(0, dtype=np.int64) if fast else owner
        # (PyTorch's sizes differ between its forward-only kernel and the one under autograd)
        tracked = weight.requires_grad and is_grad_enabled()
        zeros = np.zeros(bags if tracked else starts.size, dtype=np.int64)
        return output, _leaf(offset2bag), _leaf(zeros), _leaf(zeros.copy())
    bag_size = np.bincount(owner[kept], minlength=bags).astype(np.int64)
    if mode == 1:
        return output, _leaf(owner), _leaf(bag_size), _leaf(bag_size.copy())
    table = weight.detach().numpy()
    max_indices = np.zeros((bags, table.shape[1]), dtype=np.int64)
    for bag in range(bags):  # (the first row holding each maximum, as PyTorch's loop keeps)
        rows = ids[(owner == bag) & kept]
        if rows.size:
            max_indices[bag] = rows[np.argmax(table[rows], axis=0)]
    return output, _leaf(owner), _leaf(bag_size), _leaf(max_indices)


# ----------------------------------------------------------------------------------------------
# Pooling: the ATen forms return what the functional returns with return_indices=True.


def avg_pool1d(input, kernel_size, stride=(), padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """``torch.avg_pool1d``: ``nn.functional.avg_pool1d`` (an empty ``stride`` means the
    kernel size)."""
    return F.avg_pool1d(input, kernel_size, stride, padding, ceil_mode,
                        count_include_pad)


def max_pool1d(input, kernel_size, stride=(), padding=0, dilation=1,
               ceil_mode: bool = False) -> Tensor:
    """``torch.max_pool1d``: the maxima of ``nn.functional.max_pool1d``."""
    return F.max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool1d_with_indices(input, kernel_size, stride=(), padding=0, dilation=1,
                            ceil_mode: bool = False) -> tuple[Tensor, Tensor]:
    """``torch.max_pool1d_with_indices``: ``(maxima, int64 positions along the length)``."""
    return F.max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode,
                        return_indices=True)


def adaptive_avg_pool1d(input, output_size) -> Tensor:
    """``torch.adaptive_avg_pool1d``: ``nn.functional.adaptive_avg_pool1d``."""
    return F.adaptive_avg_pool1d(input, output_size)


def adaptive_max_pool1d(input, output_size) -> tuple[Tensor, Tensor]:
    """``torch.adaptive_max_pool1d``: ``(maxima, indices)`` (always both, as ATen)."""
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


# ----------------------------------------------------------------------------------------------
# Losses: ``reduction`` is ATen's int; left out, it is 0 (no reduction) at PyTorch's top level
# (unlike the functionals, whose default is the mean).


def kl_div(input, target, reduction: int = 0, *, log_target: bool = False) -> Tensor:
    """``torch.kl_div``: ``nn.functional.kl_div`` with an int ``reduction`` (0: none, 1: mean
    over all elements as the functional's ``'mean'``, 2: sum)."""
    with warnings.catch_warnings():
        # (The functional warns that 'mean' is not 'batchmean'; ATen's form does not.)
        warnings.simplefilter("ignore", UserWarning)
        return F.kl_div(input, target, reduction=_reduction(reduction, "kl_div"),
                        log_target=log_target)


def poisson_nll_loss(input, target, log_input: bool, full: bool, eps: float,
                     reduction: int) -> Tensor:
    """``torch.poisson_nll_loss``: every argument of the functional, positional."""
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps,
                              reduction=_reduction(reduction, "poisson_nll_loss"))


def margin_ranking_loss(input1, input2, target, margin: float = 0.0,
                        reduction: int = 0) -> Tensor:
    """``torch.margin_ranking_loss``: ``nn.functional.margin_ranking_loss``, int reduction.
    ATen's op broadcasts tensors of different numbers of dimensions, which the functional
    refuses (PyTorch's autocast test list calls it on 8 x 8 inputs and a target of 8)."""
    reduction = _reduction(reduction, "margin_ranking_loss")
    operands = (input1, input2, target)
    if all(isinstance(x, Tensor) for x in operands) and len({x.dim() for x in operands}) > 1:
        input1, input2, target = broadcast_tensors(*operands)
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=reduction)


def hinge_embedding_loss(input, target, margin: float = 1.0, reduction: int = 0) -> Tensor:
    """``torch.hinge_embedding_loss``: ``nn.functional.hinge_embedding_loss``, int reduction."""
    return F.hinge_embedding_loss(input, target, margin,
                                  reduction=_reduction(reduction, "hinge_embedding_loss"))


def cosine_embedding_loss(input1, input2, target, margin: float = 0.0,
                          reduction: int = 0) -> Tensor:
    """``torch.cosine_embedding_loss``: the functional's, int reduction."""
    return F.cosine_embedding_loss(input1, input2, target, margin,
                                   reduction=_reduction(reduction, "cosine_embedding_loss"))


def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2.0,
                        eps: float = 1e-6, swap: bool = False, reduction: int = 0) -> Tensor:
    """``torch.triplet_margin_loss``: the functional's, int reduction."""
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                 reduction=_reduction(reduction, "triplet_margin_loss"))


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank: int = 0,
             reduction: int = 0, zero_infinity: bool = False) -> Tensor:
    """``torch.ctc_loss``: ``nn.functional.ctc_loss`` with an int ``reduction``."""
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank,
                      reduction=_reduction(reduction, "ctc_loss"), zero_infinity=zero_infinity)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None,
                                     reduction: int = 0) -> Tensor:
    """``torch.binary_cross_entropy_with_logits``: ``pos_weight`` before ``reduction`` (an
    int), as ATen orders them."""
    where = "binary_cross_entropy_with_logits"
    for position, (name, value) in enumerate((("input", input), ("target", target),
                                              ("weight", weight), ("pos_weight", pos_weight)), 1):
        if not isinstance(value, Tensor) and not (position > 2 and value is None):
            raise TypeError(f"{where}(): argument '{name}' (position {position}) must be "
                            f"Tensor, not {type(value).__name__}")
    reduction = _reduction(reduction, where)
    if input.shape != target.shape and input._data.dtype.kind == "f":
        # ATen's kernel works in target's shape: an input that broadcasts to it is expanded
        # (a 0-d input over a batch of targets); any other pair is its RuntimeError.
        import numpy as np  # (kept local: the rest of this module does not need it)

        try:
            fits = np.broadcast_shapes(input.shape, target.shape) == tuple(target.shape)
        except ValueError:
            fits = False
        if not fits:
            raise RuntimeError(f"{where}: input of shape {tuple(input.shape)} does not "
                               f"broadcast to the target's shape {tuple(target.shape)}")
        input = input.expand(target.shape)
    return F.binary_cross_entropy_with_logits(input, target, weight, reduction=reduction,
                                              pos_weight=pos_weight)
