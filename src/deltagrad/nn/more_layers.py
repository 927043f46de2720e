"""More layers: Unflatten, Bilinear, EmbeddingBag, CosineSimilarity, PairwiseDistance.

With their functional forms (``bilinear``, ``embedding_bag``, ``cosine_similarity``,
``pairwise_distance``), which ``nn.functional`` re-exports.
"""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np

from .._engine import DTypeError, ShapeError, Tensor
from .._engine import bf16 as _bf16
from .._engine.api._common import bool_arg, int_arg
from .._engine.api.creation import from_numpy, tensor
from .._engine.api.linalg import matmul as _matmul
from .._engine.api.norms import vector_norm
from .._engine.dtypes import of
from .._engine.node_names import rename_node
from .._engine.promotion import result_type
from ..autograd import Function
from . import init
from ._factory import parameter_dtype
from .module import Module, Parameter

# torch.nn.functional: the layers call its functions as PyTorch's do, looked up when called
# (subclasses, function modes and programs that replace them see the calls). Read from
# sys.modules, as it imports this module (the package's __init__ loads it first).
F = sys.modules["deltagrad.nn.functional"]

__all__ = [
    "Bilinear",
    "CosineSimilarity",
    "EmbeddingBag",
    "PairwiseDistance",
    "Unflatten",
    "bilinear",
    "cosine_similarity",
    "embedding_bag",
    "pairwise_distance",
]


def _functional():
    # NOTE: nn.functional re-exports this module's functions, so it is imported at call time
    # (a module-level import would be a cycle).
    from . import functional

    return functional


def _t(value) -> Tensor:
    return value if isinstance(value, Tensor) else tensor(value)


def _tensors(where: str, first: str, x1, second: str, x2) -> tuple:
    """Two tensor arguments: PyTorch's parser refuses a number (TypeError)."""
    for position, (name, value) in enumerate(((first, x1), (second, x2)), 1):
        if not isinstance(value, Tensor):
            raise TypeError(f"{where}(): argument '{name}' (position {position}) must be "
                            f"Tensor, not {type(value).__name__}")
    return x1, x2


# ----------------------------------------------------------------------------------------------
# Functional forms.


def bilinear(input1, input2, weight, bias=None):
    """``y_o = x1ᵀ W_o x2 + b_o``, as ``torch.nn.functional.bilinear``.

    Args:
        input1: ``[*, in1]``; input2: ``[*, in2]`` (the same leading shape).
        weight: ``[out, in1, in2]``; bias: ``[out]`` or None.

    Returns:
        ``[*, out]``.
    """
    x1, x2 = _tensors("bilinear", "input1", input1, "input2", input2)
    w, _ = _tensors("bilinear", "weight", weight, "weight", weight)
    if bias is not None and not isinstance(bias, Tensor):
        raise TypeError(f"bilinear(): argument 'bias' (position 4) must be Tensor, not "
                        f"{type(bias).__name__}")
    if not x1._data.dtype == x2._data.dtype == w._data.dtype:  # (checked first in PyTorch)
        raise DTypeError(f"bilinear: expected input1, input2 and weight of one dtype, got "
                         f"{x1.dtype}, {x2.dtype} and {w.dtype}")
    if w.ndim < 3:  # (PyTorch reads weight.size(2) first)
        raise IndexError(f"Dimension out of range (expected to be in range of [{-w.ndim}, "
                         f"{w.ndim - 1}], but got 2)")
    if w.ndim != 3 or x1.shape[-1] != w.shape[1] or x2.shape[-1] != w.shape[2] \
            or x1.shape[:-1] != x2.shape[:-1]:
        raise ShapeError(f"bilinear: input1 {tuple(x1.shape)}, input2 {tuple(x2.shape)} and "
                         f"weight {tuple(w.shape)} do not fit: expected [*, in1], [*, in2] and "
                         "[out, in1, in2]")
    out_features, in1, in2 = w.shape
    # x1 @ W arranged as [in1, out * in2], then each out's row dotted with x2.
    # (the engine's matmul: under CPU autocast Tensor.matmul casts; PyTorch's kernel does not)
    mixed = _matmul(x1, w.permute(1, 0, 2).reshape(in1, out_features * in2))
    out = (mixed.reshape(*x1.shape[:-1], out_features, in2) * x2.unsqueeze(-2)).sum(
        dim=-1, dtype=mixed.dtype)  # (integers stay in their dtype, as PyTorch's)
    return out if bias is None else out + bias


def _norm_clamped_in_value(x: Tensor, dim: int, eps: float) -> Tensor:
    """``max(‖x‖₂, eps)`` along ``dim`` (kept) in value, with the gradient of ``‖x‖₂`` itself.

    PyTorch clamps the norms in place under no_grad, so below ``eps`` the value is ``eps`` while
    the gradient still flows through the norm (0 at a zero vector): the same here, as
    ``norm + (clamped - norm)`` with the difference a constant.
    """
    norm = vector_norm(x, 2, dim, keepdim=True)
    value = norm.detach()
    # (eps - value clamped at 0, not clamped - value: an infinite norm gives 0 there, not
    # inf - inf = nan, so x / inf is 0 as PyTorch's)
    return norm + (eps - value).clamp(min=0)


def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8):
    """Cosine of the angle between x1 and x2 along ``dim`` (broadcast first), as PyTorch's:
    ``sum(x1 / max(‖x1‖, eps) * x2 / max(‖x2‖, eps))``, the clamp acting on the value only.

    Args:
        x1, x2: floating tensors that broadcast together (integer inputs raise, as PyTorch).
        dim: the dim along which the vectors lie.
        eps: the smallest norm divided by.

    Returns:
        The broadcast shape without ``dim``.

    >>> import deltagrad as dg
    >>> cosine_similarity(dg.tensor([[1.0, 0.0], [1.0, 1.0]]), dg.tensor([[0.0, 2.0], [2.0, 2.0]]))
    tensor([0.0000, 1.0000])
    """
    a, b = _tensors("cosine_similarity", "x1", x1, "x2", x2)
    dim = int_arg(dim, "dim", "cosine_similarity")
    common = result_type(a._data, b._data)
    if common.kind != "f" and common is not _bf16.BF16:
        raise RuntimeError(f"expected common dtype to be floating point, yet common dtype is "
                           f"{of(common)} (inputs of shapes {a.shape} and {b.shape})")
    try:
        shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    except ValueError:  # (PyTorch: RuntimeError; ShapeError is one, and a ValueError)
        raise ShapeError(f"cosine_similarity: x1 of shape {list(a.shape)} and x2 of shape "
                         f"{list(b.shape)} do not broadcast") from None
    # As PyTorch: only non-floating inputs take the common dtype; a floating one is normalised
    # in its own (float16 stays float16) and the product promotes.
    a = (a if _bf16.kind(a._data.dtype) == "f" else a.to(common)).expand(shape)
    b = (b if _bf16.kind(b._data.dtype) == "f" else b.to(common)).expand(shape)
    norm_a = _norm_clamped_in_value(a, dim, eps)
    norm_b = _norm_clamped_in_value(b, dim, eps)
    return ((a / norm_a) * (b / norm_b)).sum(dim=dim)


def pairwise_distance(x1, x2, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
    """``‖x1 - x2 + eps‖_p`` over the last dimension, as ``torch.nn.functional.pairwise_distance``.

    Any real ``p`` (0 counts the non-zero differences, ``inf`` takes the largest); the gradient
    is 0 where the distance is 0 (``eps=0`` and equal inputs), as PyTorch's norm gives.
    Integer inputs are compared in the default floating dtype (``+ eps`` promotes them).

    Args:
        x1, x2: ``[*, D]`` tensors that broadcast together (or 1-D ``[D]``).
        p: the norm's order.
        eps: added to the difference (avoids a zero norm).
        keepdim: keep the reduced dim with size 1.

    Returns:
        The broadcast shape without its last dim.

    >>> import deltagrad as dg
    >>> pairwise_distance(dg.tensor([[3.0, 0.0]]), dg.tensor([[0.0, 4.0]]), eps=0.0)
    tensor([5.])
    """
    a, b = _tensors("pairwise_distance", "x1", x1, "x2", x2)
    if isinstance(p, Tensor):  # (PyTorch's float argument: a 0-d tensor is read as a number)
        if p.ndim != 0:
            raise TypeError("pairwise_distance(): argument 'p' (position 3) must be float, not "
                            "Tensor")
        p = p.item()
    keepdim = bool_arg(keepdim, "keepdim", "pairwise_distance")
    # PyTorch reduces over the last dim of the broadcast result (its rank is the larger one).
    diff = a - b + eps
    return rename_node(vector_norm(diff, p, -1 if diff.ndim else None, keepdim=keepdim),
                       "NormBackward1")  # (PyTorch's node: torch.norm's)


def _bf16_bag_sums(r: np.ndarray, starts: np.ndarray, counts: np.ndarray, mode: str):
    # PyTorch's bfloat16 embedding_bag sums a bag's rows in float32 and rounds the sum to
    # bfloat16; "mean" then divides that rounded sum by the count (r: the rows in float32).
    out = bag_sums(r, starts, counts, False).astype(_bf16.BF16).astype(np.float32)
    if mode == "mean":
        out = out / np.maximum(counts, 1)[:, None].astype(np.float32)
    return out


def bag_sums(r: np.ndarray, starts: np.ndarray, counts: np.ndarray, mean: bool) -> np.ndarray:
    """[bags, D]: each bag's sum of rows (``mean``: divided by its count in ``r``'s dtype); an
    empty bag zeros (also the NER model's constant bags, ner/bags.py)."""
    out = np.zeros((counts.shape[0], r.shape[1]), dtype=r.dtype)
    full = counts > 0
    out[full] = np.add.reduceat(r, starts[full], axis=0)
    if mean:
        out[full] /= counts[full, None].astype(r.dtype)
    return out


class _BagReduce(Function):
    """Rows ``[M, D]`` grouped into ``n_bags`` consecutive bags -> ``[n_bags, D]``."""

    @staticmethod
    def forward(ctx, rows, *, starts: np.ndarray, counts: np.ndarray, mode: str):
        r = _bf16.upcast(rows._data)  # (bfloat16: sums in float32, rounded once below)
        bags, width = counts.shape[0], r.shape[1]
        full = counts > 0
        out = np.zeros((bags, width), dtype=r.dtype)
        ctx.starts, ctx.counts, ctx.mode, ctx.rows = starts, counts, mode, r.shape[0]
        if full.any():
            first = starts[full]
            if mode == "max":
                out[full] = np.maximum.reduceat(r, first, axis=0)
                owner = np.repeat(np.arange(bags), counts)
                position = np.where(r == out[owner], np.arange(r.shape[0])[:, None],
                                    r.shape[0])
                ctx.argmax = np.minimum.reduceat(position, first, axis=0)  # first maximum
            elif rows._data.dtype is _bf16.BF16:
                out = _bf16_bag_sums(r, starts, counts, mode)
            else:
                out = bag_sums(r, starts, counts, mode == "mean")
        return from_numpy(out.astype(rows._data.dtype, copy=False))

    @staticmethod
    def backward(ctx, grad):
        g = grad._data  # (bfloat16's .numpy() refuses; moving and dividing it rounds once)
        counts = ctx.counts
        full = counts > 0
        if ctx.mode == "max":
            d_rows = np.zeros((ctx.rows, g.shape[1]), dtype=g.dtype)
            if full.any():
                np.put_along_axis(d_rows, ctx.argmax, g[full], axis=0)
            return (d_rows,)
        if g.dtype is _bf16.BF16 and ctx.mode == "mean":
            # PyTorch's bfloat16 kernel multiplies by 1 / count rounded to bfloat16.
            scale = (np.float32(1) / np.maximum(counts, 1)[:, None].astype(np.float32))
            scale = scale.astype(g.dtype).astype(np.float32)
            per_row = (g.astype(np.float32) * scale).astype(g.dtype)
        else:
            per_row = g if ctx.mode == "sum" else g / np.maximum(counts, 1)[:, None].astype(
                g.dtype)
        return (np.repeat(per_row, counts, axis=0),)


def _embedding_bag_checks(input, weight, offsets, per_sample_weights, mode: str,
                          scale_grad_by_freq: bool, sparse: bool) -> tuple:
    """PyTorch's Python checks of ``F.embedding_bag``, in its order (so that the error
    raised first is its); returns ``(input, weight)``, swapped where PyTorch swaps them."""
    for name, value in (("weight", weight), ("input", input)):
        if not isinstance(value, Tensor):  # (PyTorch reads .dtype / .dim() of it first)
            raise AttributeError(f"embedding_bag: {name} must be a Tensor, got "
                                 f"{type(value).__name__} (it has no attribute 'dtype')")
    if weight._data.dtype == np.int64 and input._data.dtype.kind == "f":
        warnings.warn("Argument order of nn.functional.embedding_bag was changed. Usage "
                      "`embedding_bag(weight, input, ...)` is deprecated, and should now be "
                      "`embedding_bag(input, weight, ...)`.", stacklevel=3)
        weight, input = input, weight
    if per_sample_weights is not None and tuple(input.shape) != tuple(per_sample_weights.shape):
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) "
                         f"is not None, then it must have the same shape as the input "
                         f"({input.shape})")
    if weight.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension "
                         f"{weight.ndim}")
    if input.ndim == 2 and offsets is not None:
        raise ValueError("if input is 2D, then offsets has to be None, as input is treated is "
                         "a mini-batch of fixed length sequences. However, found offsets of "
                         f"type {type(offsets)}")
    if input.ndim == 1 and (offsets is None or offsets.ndim != 1):
        raise ValueError("offsets has to be a 1D Tensor" + (" but got None" if offsets is None
                                                             else ""))
    if input.ndim not in (1, 2):
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.ndim}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    return input, weight


def embedding_bag(input, weight, offsets=None, max_norm: float | None = None,
                  norm_type: float = 2, scale_grad_by_freq: bool = False, mode: str = "mean",
                  sparse: bool = False, per_sample_weights=None,
                  include_last_offset: bool = False, padding_idx: int | None = None):
    """Sums, means or maxima of bags of embeddings, as ``torch.nn.functional.embedding_bag``.

    Args:
        input: int ``[B, L]`` (B bags of L ids; ``offsets`` None) or ``[N]`` with ``offsets``.
        weight: ``[num_embeddings, D]``.
        offsets: int ``[B]``: where each bag starts in the 1-D input (the first must be 0).
        max_norm, norm_type, sparse: as ``embedding``.
        scale_grad_by_freq: divide each id's gradient by how often it occurs in ``input``
            (not with mode "max").
        mode: ``"sum"``, ``"mean"`` or ``"max"``.
        per_sample_weights: float like ``input``: each id's row is scaled (mode "sum" only).
        include_last_offset: ``offsets`` has B + 1 entries, the last one the input's size.
        padding_idx: ids equal to it take no part (not counted in the mean).

    Returns:
        ``[B, D]``; an empty bag gives zeros.
    """
    input, weight = _embedding_bag_checks(input, weight, offsets, per_sample_weights, mode,
                                          scale_grad_by_freq, sparse)
    ids = input.detach().numpy()
    if ids.ndim == 2 and ids.dtype == np.bool_:
        # (PyTorch makes the 2-D input's offsets with arange in its dtype: none for bool)
        raise NotImplementedError("embedding_bag: arange is not implemented for bool (the "
                                  "offsets of a 2-D bool input)")
    if ids.dtype not in (np.int32, np.int64):  # (PyTorch: RuntimeError; DTypeError is one)
        raise DTypeError(f"embedding_bag: expected input of dtype int64 or int32, got "
                         f"{of(ids.dtype)}")
    if ids.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated "
                             "is a mini-batch of fixed length sequences.")
        bags, length = ids.shape
        starts = np.arange(bags, dtype=np.int64) * length
    elif ids.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        starts = (offsets.detach().numpy() if isinstance(offsets, Tensor)
                  else np.asarray(offsets)).astype(np.int64).reshape(-1)
        if include_last_offset and starts.size:
            # The last bag ends at the last offset (ids past it take no part, as in PyTorch's
            # sum; its mean / max read them: see s20_SL5_families.KNOWN), found by SL5's fuzzer.
            if starts[-1] > ids.size:
                raise RuntimeError(f"offsets[-1] can not be greater than input's length "
                                   f"{ids.size} but got offsets[-1] of {starts[-1]}")
            if per_sample_weights is not None and tuple(per_sample_weights.shape) == ids.shape:
                per_sample_weights = _t(per_sample_weights)[:int(starts[-1])]
            ids = ids[:starts[-1]]
            starts = starts[:-1]
        if starts.size and starts[0] != 0:
            raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the "
                             "mini-batch has to start from position 0. However, got "
                             f"{starts[0]}")
        if np.any(np.diff(starts) < 0) or (starts.size and starts[-1] > ids.size):
            # (PyTorch raises RuntimeError for both, as here.)
            raise RuntimeError(f"embedding_bag: offsets must be non-decreasing and at most "
                               f"the input size {ids.size}, got {starts.tolist()}")
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{ids.ndim}")
    flat = ids.reshape(-1)
    rows_in_table = weight.shape[0]
    every = input.detach().numpy().reshape(-1)
    if every.size and (every.min() < 0 or every.max() >= rows_in_table):
        bad = every[(every < 0) | (every >= rows_in_table)][0]
        # (PyTorch's embedding_bag kernel: a RuntimeError, where embedding's is an IndexError)
        raise RuntimeError(f"embedding_bag: index {bad} out of range [0, {rows_in_table})")
    if max_norm is not None:
        # PyTorch renorms the rows of every id given (padding_idx's, those past
        # include_last_offset's end too) before its mode check; here only the bags' rows were
        # renormed, and not at all where that check raised (SL25's fuzzer).
        _functional()._renorm_rows(weight, every, max_norm, norm_type)
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. "
                                  f"per_sample_weights is only supported for mode='sum' (got "
                                  f"mode='{mode}').")
    weights = None
    if per_sample_weights is not None:
        weights = _t(per_sample_weights)
        if tuple(weights.shape) != tuple(ids.shape):
            raise ShapeError(f"embedding_bag: per_sample_weights of shape "
                             f"{tuple(weights.shape)} must have the input's shape "
                             f"{tuple(ids.shape)}")
        weights = weights.reshape(-1)
    bag_of = np.repeat(np.arange(starts.size), np.diff(np.append(starts, flat.size)))
    if padding_idx is not None:
        padding_idx = int(padding_idx) % weight.shape[0]
        keep = flat != padding_idx
        flat, bag_of = flat[keep], bag_of[keep]
        if weights is not None:
            weights = weights[np.nonzero(keep)[0]]
    counts = np.bincount(bag_of, minlength=starts.size).astype(np.int64)
    new_starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    # (int64 ids uncopied: changed in place before backward, PyTorch's error)
    rows = _functional().embedding(from_numpy(flat.astype(np.int64, copy=False)), weight, None,
                                   None, norm_type, scale_grad_by_freq, sparse)
    if weights is not None:
        rows = rows * weights.unsqueeze(-1)
    return _BagReduce.apply(rows, starts=new_starts, counts=counts, mode=mode)


# ----------------------------------------------------------------------------------------------
# Modules.


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size`` (the inverse of Flatten).

    >>> import deltagrad as dg
    >>> Unflatten(1, (2, 5))(dg.zeros(3, 10)).shape
    deltagrad.Size([3, 2, 5])
    """

    def __init__(self, dim: int, unflattened_size) -> None:
        super().__init__()
        # Kept as given (a list, tuple or Size prints as such in the repr, as PyTorch's);
        # PyTorch's TypeErrors for anything but a tuple / list of ints.
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError("unflattened_size must be a tuple of ints, but found type "
                            f"{type(unflattened_size).__name__}")
        for pos, size in enumerate(unflattened_size):
            if not isinstance(size, int):
                raise TypeError("unflattened_size must be tuple of ints, but found element of "
                                f"type {type(size).__name__} at pos {pos}")
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input):
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Bilinear(Module):
    """``y = x1ᵀ A x2 + b`` (PyTorch's ``nn.Bilinear``); weight and bias start from
    U(-1/sqrt(in1_features), 1/sqrt(in1_features)).

    Args:
        in1_features, in2_features, out_features: the sizes.
        bias: learn ``bias``.
        dtype: the parameters' dtype (float32 by default).
        generator: source of the initial values.
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True, device=None, dtype=None, *,
                 generator=None) -> None:
        super().__init__()
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        dtype = parameter_dtype(dtype, device, "Bilinear")
        self.weight = Parameter(np.empty((out_features, in1_features, in2_features), dtype))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None) -> None:
        """Draw weight and bias from U(-1/sqrt(in1_features), 1/sqrt(in1_features))."""
        bound = 1.0 / math.sqrt(self.in1_features)
        init.uniform_(self.weight, -bound, bound, generator=generator)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class EmbeddingBag(Module):
    """Bags of embeddings reduced by sum, mean or max (PyTorch's ``nn.EmbeddingBag``).

    The weight starts from N(0, 1) (the padding row zeroed); see ``embedding_bag`` for the
    forward's arguments.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                 sparse: bool = False, _weight=None, include_last_offset: bool = False,
                 padding_idx: int | None = None, device=None, dtype=None, *,
                 generator=None) -> None:
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise AssertionError("padding_idx must be within num_embeddings")
            padding_idx = padding_idx % num_embeddings
        self.padding_idx = padding_idx
        self.mode, self.sparse = mode, sparse
        self.include_last_offset = include_last_offset
        if _weight is None:
            dtype = parameter_dtype(dtype, device, "EmbeddingBag")
            self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype))
            self.reset_parameters(generator)
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError("Shape of weight does not match num_embeddings and "
                                 "embedding_dim")
            self.weight = Parameter(_weight)

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True,
                        max_norm: float | None = None, norm_type: float = 2.0,
                        scale_grad_by_freq: bool = False, mode: str = "mean",
                        sparse: bool = False, include_last_offset: bool = False,
                        padding_idx: int | None = None) -> EmbeddingBag:
        """An EmbeddingBag whose weight is ``embeddings`` (a 2-D Tensor, shared, not copied);
        ``freeze=False`` fine-tunes it. The other arguments are the constructor's."""
        if embeddings.dim() != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        bag = cls(rows, cols, max_norm=max_norm, norm_type=norm_type,
                  scale_grad_by_freq=scale_grad_by_freq, mode=mode, sparse=sparse,
                  _weight=embeddings, include_last_offset=include_last_offset,
                  padding_idx=padding_idx)
        bag.weight.requires_grad = not freeze
        return bag

    def reset_parameters(self, generator=None) -> None:
        """Draw fresh N(0, 1) rows; zero the padding row."""
        init.normal_(self.weight, generator=generator)
        if self.padding_idx is not None:
            self.weight.detach().numpy()[self.padding_idx] = 0

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                               self.scale_grad_by_freq, self.mode, self.sparse,
                               per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq!r}"
        text += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        return text


class CosineSimilarity(Module):
    """``cosine_similarity`` along ``dim`` as a module."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """``pairwise_distance`` as a module."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
