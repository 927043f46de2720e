"""Neural-network functions (PyTorch's ``torch.nn.functional``): layers, activations, losses."""

from __future__ import annotations

import functools

import numpy as np

from .._engine.api._common import NotATensorError
from .._engine.api._common import tensor_input as _t
from .._engine.api._pointwise import write_out as _write_out
from .._engine.api.indexing import one_hot
from .._engine.api.linalg import matmul as _matmul
from .._engine.api.meta_ops import meta_fallback as _meta_fallback
from .._engine.autograd import DTypeError, ShapeError, _GradMode, no_grad
from .._engine.dtypes import float32
from .._engine.node_names import name_node as _name_node
from .._engine.ops import OPS
from .._engine.ops.nn import DROPOUT, LINEAR
from .._engine.tensor import Tensor, _leaf
from .._engine.tensor import apply as _apply
from . import (
    _functional_activations,
    _functional_losses,
    _functional_margin_losses,
    _functional_misc,
    _functional_nll_losses,
    _layer_infer,
)
from ._cross_entropy_half import half_cross_entropy
from ._functional_activations import *  # noqa: F403 - activations, softmax family
from ._functional_args import check_int as _check_int
from ._functional_args import check_linear_bias as _check_linear_bias
from ._functional_args import check_reduced_kernel as _check_reduced_kernel
from ._functional_args import check_tensor as _check_tensor
from ._functional_losses import *  # noqa: F403 - classification and regression losses
from ._functional_losses import _all_below
from ._functional_margin_losses import *  # noqa: F403 - margin, embedding and CTC losses
from ._functional_misc import *  # noqa: F403 - pad, interpolate, normalize, channel dropout
from ._functional_misc import check_train as _check_train
from ._functional_misc import dropout_keep_like as _dropout_keep_like
from ._functional_nll_losses import *  # noqa: F403 - Poisson and Gaussian NLL
from ._functional_upsampling import upsample, upsample_bilinear, upsample_nearest

__all__ = ["dropout", "embedding", "linear", "linear_cross_entropy", "one_hot",
           *_functional_activations.__all__, *_functional_losses.__all__,
           *_functional_margin_losses.__all__, *_functional_misc.__all__,
           *_functional_nll_losses.__all__]
__all__ += ["upsample", "upsample_bilinear", "upsample_nearest"]

# Meta inputs: its target checks read values (api/meta_ops.py runs it again on zeros).
nll_loss = _meta_fallback(nll_loss)  # noqa: F405


# ----------------------------------------------------------------------------------------------
# Layers.


_HALF_NAMES = ("float16", "bfloat16")  # (the arrays' dtype names: linear rounds once)


def linear(input, weight: Tensor, bias: Tensor | None = None, *, out=None) -> Tensor:
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
    tensor([[ 1.5000,  3.0000, -2.0000]])
    """
    if out is not None:
        return _write_out("linear", out, linear(input, weight, bias), exact=True)
    if type(weight) is not Tensor:  # (PyTorch's parser: no numbers)
        _check_tensor(weight, "weight", "linear")
    if bias is not None and not isinstance(bias, Tensor):
        raise TypeError(f"linear(): argument 'bias' (position 3) must be Tensor, not "
                        f"{type(bias).__name__}")
    input = _t(input)
    x, w = input._data, weight._data  # (the arrays: cheaper to ask than the Tensor properties)
    if x.ndim == 0 or w.ndim not in (1, 2) or x.shape[-1] != w.shape[-1]:
        said = ""  # (PyTorch's words first where it has them: answers quote them)
        if x.ndim and w.ndim == 2:
            said = (f"mat1 and mat2 shapes cannot be multiplied ({int(np.prod(x.shape[:-1]))}x"
                    f"{x.shape[-1]} and {w.shape[1]}x{w.shape[0]}); ")
        raise ShapeError(f"{said}linear: input of shape {input.shape} does not match weight of "
                         f"shape {weight.shape} (expected input [*, in_features] for weight "
                         "[out_features, in_features])")
    if w.ndim == 2 and x.dtype.kind == "f" and w.dtype == x.dtype and x.dtype.itemsize > 2:
        if bias is None or (bias._data.dtype == x.dtype and bias._data.shape == (w.shape[0],)):
            if not _GradMode.enabled:  # (no graph: the op's kernel and result directly)
                out = _layer_infer.checked_linear(input, weight, bias)
                if out is not None:
                    return out
            return _apply(LINEAR, input, weight) if bias is None else _apply(
                LINEAR, input, weight, bias)
    if x.dtype.name in _HALF_NAMES and w.dtype == x.dtype and (
            bias is None or bias._data.dtype == x.dtype):
        # NOTE: PyTorch's float16 / bfloat16 linear accumulates in float32 and adds the bias
        # before it rounds, once; rounding the product and then the sum rounds twice (a bf16
        # nn.Linear differed in the last bit). float32 is exact for both, so compute there.
        out = linear(input.float(), weight.float(), None if bias is None else bias.float())
        return out.to(input.dtype)
    # A 1-D weight, a broadcast bias or integer operands: the unfused composition, with
    # PyTorch's broadcasting. Mixed dtypes are refused as PyTorch refuses them (matmul checks
    # input against weight; the bias is checked here: adding it would promote silently).
    # (weight's dims reversed as .T, without .T's deprecation warning for a 1-D weight: PyTorch
    # gives none here)
    if bias is not None and w.ndim == 2 and x.dtype != w.dtype:  # (PyTorch's addmm words)
        raise ShapeError(f"mat1 and mat2 must have the same dtype, but got {input.type()[6:-6]} "
                         f"and {weight.type()[6:-6]} (linear: input {input.dtype}, weight "
                         f"{weight.dtype})")
    out = _matmul(input, weight.permute(tuple(reversed(range(weight.ndim)))))
    if bias is None:
        return out
    if bias._data.dtype != out._data.dtype:
        raise DTypeError(f"self and mat2 must have the same dtype, but got {bias.type()[6:-6]} "
                         f"and {out.type()[6:-6]} (linear: bias of dtype {bias.dtype} does not "
                         f"match the dtype {out.dtype} of input @ weight.T)")
    if w.ndim == 2:  # (expanded to the output, not broadcast with it: PyTorch's addmm)
        _check_linear_bias(x.shape, out.shape, bias._data.shape)
        if x.ndim == 1 and bias.ndim == 2:  # (a 1-D input's output stays 1-D: PyTorch adds
            if bias.shape[1] != w.shape[0] or w.shape[0] == 1:  # the bias in place, so it
                wide = list(np.broadcast_shapes(out.shape, bias.shape))  # cannot widen it)
                raise ShapeError(f"output with shape [{w.shape[0]}] doesn't match the broadcast "
                                 f"shape {wide} (linear's bias)")
            bias = bias.reshape(-1)
    return out + bias


def linear_cross_entropy(input, linear_weight: Tensor, target, *, linear_bias=None,
                         weight=None, reduction: str = "mean", ignore_index: int | None = None,
                         label_smoothing: float = 0.0, options=None) -> Tensor:
    """Cross-entropy of the logits ``linear(input, linear_weight, linear_bias)`` against
    ``target``, as ``torch.nn.functional.linear_cross_entropy``.

    Args:
        input: ``[N, in_features]`` or ``[in_features]``.
        linear_weight: ``[C, *out_features, in_features]``: ``C`` classes, and extra output
            dims ``(d1, ..., dK)`` for a K-dimensional loss (batched input only).
        target: class indices ``[N, *out_features]`` (or ``[]`` unbatched), or probabilities
            of the logits' shape ``[N, C, *out_features]``.
        linear_bias: ``[C, *out_features]`` or None.
        weight, reduction, label_smoothing: as ``cross_entropy``.
        ignore_index: as ``cross_entropy`` (None: -100); not allowed with probabilities.
        options: PyTorch's ``LinearCrossEntropyOptions`` picks how its fused kernel chunks the
            batch to save memory; the result is the same, and deltagrad computes the logits in
            one piece whatever it says.

    Returns:
        The loss: 0-d, or ``target``'s shape with ``reduction="none"``.

    >>> import deltagrad as dg
    >>> x, w = dg.tensor([[1.0, 2.0]]), dg.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> linear_cross_entropy(x, w, dg.tensor([1]))
    tensor(0.3133)
    """
    input, linear_weight = _t(input), _t(linear_weight)
    if input.ndim not in (1, 2):
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.ndim}")
    if linear_weight.ndim < 2:
        raise RuntimeError(f"expected linear_weight with dimensionality at least 2, got "
                           f"{linear_weight.ndim}")
    batch, in_features = tuple(input.shape[:-1]), input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError(f"expected equal input and linear_weight last dimensions "
                           f"(in_features), got {in_features} and {linear_weight.shape[-1]}, "
                           "respectively")
    classes, extra = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (classes, *extra):
        raise RuntimeError(f"expected linear_bias shape {(classes, *extra)}, got "
                           f"{tuple(linear_bias.shape)}")
    if extra and not batch:
        raise RuntimeError(f"K-dimensional loss defined by linear_weight shape "
                           f"{tuple(linear_weight.shape)} requires batched input, "
                           f"(N, {in_features}), got unbatched input with shape "
                           f"{tuple(input.shape)}")
    logits_shape = (*batch, classes, *extra)
    if isinstance(target, Tensor) and tuple(target.shape) == logits_shape \
            and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    # The extra output dims are flattened into the linear map's outputs, then unflattened.
    flat = int(np.prod((classes, *extra)))
    logits = linear(input, linear_weight.reshape(flat, in_features),
                    None if linear_bias is None else linear_bias.reshape(flat))
    return cross_entropy(logits.reshape(logits_shape), target, weight=weight,  # noqa: F405
                         reduction=reduction,
                         ignore_index=-100 if ignore_index is None else ignore_index,
                         label_smoothing=label_smoothing)


class PaddingIndexError(AssertionError, ValueError):
    """A padding_idx outside the table: F.embedding's AssertionError (a ValueError too)."""


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
        scale_grad_by_freq: divide each look-up's gradient by how often its id occurs in
            ``input`` (PyTorch's option; not with ``sparse``, which backward refuses).
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
    weight = _check_tensor(weight, "weight", "embedding")  # (PyTorch's parser: no numbers)
    if padding_idx is not None:  # (F.embedding's Python asserts this first)
        num = weight.shape[0] if weight.ndim else 0
        if not -num <= padding_idx < num:
            raise PaddingIndexError(f"embedding: Padding_idx {padding_idx} must be within "
                                    f"num_embeddings ({num} rows)")
        padding_idx = _check_int(padding_idx, "padding_idx", "embedding") % num
    if weight._data.ndim != 2:  # (the arrays' ndim / shape: Tensor's properties and a Size
        # cost 0.1-0.5 us a read; fwd + bwd 0.95 of its time, op_overhead.py's cases, s29 SP46)
        raise ShapeError(f"'weight' must be 2-D (embedding: weight [num_embeddings, "
                         f"embedding_dim], got shape {weight.shape})")
    # (a NumPy array of ids: deltagrad's extension, tested; a list is PyTorch's TypeError)
    ids = _leaf(input) if isinstance(input, np.ndarray) else _t(input)
    # PyTorch takes int64 or int32 index tensors (a RuntimeError otherwise); NumPy arrays, a
    # deltagrad extension, may hold any integer dtype.
    if ids._data.dtype.char not in "ilq" and (ids is input or ids._data.dtype.kind not in "iu"):
        raise DTypeError(f"Expected tensor for argument #1 'indices' to have one of the "
                         f"following scalar types: Long, Int; but got {ids.type()} instead "
                         f"(while checking arguments for embedding) (indices of shape "
                         f"{tuple(ids.shape)})")
    num = weight._data.shape[0]
    if ids._data.size and (type(ids._data) is np.ndarray or not ids.is_meta) and not _all_below(
            ids._data, num):  # (meta: no ids)
        bad = ids._data[(ids._data < 0) | (ids._data >= num)].flat[0]
        raise IndexError(f"index out of range in self: embedding index {bad} is out of range "
                         f"for a table of {num} rows (indices of shape {ids.shape}, weight of "
                         f"shape {weight.shape})")  # (PyTorch's words first: answers quote them)
    if max_norm is not None:
        _renorm_rows(weight, ids._data, max_norm, norm_type)
    if scale_grad_by_freq:
        return _apply(OPS["embedding"], weight, ids, padding_idx=padding_idx,
                      sparse=bool(sparse), scale_grad_by_freq=True)
    return _apply(OPS["embedding"], weight, ids, padding_idx=padding_idx, sparse=bool(sparse))


def _renorm_rows(weight: Tensor, ids: np.ndarray, max_norm: float, norm_type: float) -> None:
    # As PyTorch's embedding_renorm_: rows whose norm exceeds max_norm are scaled by
    # max_norm / (norm + 1e-7), in place, outside the graph.
    with no_grad():
        rows = np.unique(ids)
        data = weight._data
        if not data.flags.writeable:  # (rows sharing memory, an expanded weight: PyTorch
            # renorms row after row through it; NumPy's read-only ValueError leaked, s29 BR19)
            from .._engine.api.write_checks import overlap_alias

            data = overlap_alias(data, "embedding_renorm_")
            for row in rows:
                norm = np.linalg.norm(data[row], ord=norm_type)
                if norm > max_norm:
                    data[row] *= np.asarray(max_norm / (float(norm) + 1e-7), data.dtype)
            return
        values = data[rows]
        norms = np.linalg.norm(values, ord=norm_type, axis=1)
        big = norms > max_norm
        if big.any():
            scale = (max_norm / (norms[big].astype(np.float64) + 1e-7)).astype(weight.dtype)
            data[rows[big]] = values[big] * scale[:, None]


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False, *,
            generator=None) -> Tensor:
    """Inverted dropout: zero each element with probability ``p``, scale the rest by 1/(1-p).

    Args:
        input: any shape.
        p: drop probability in [0, 1]; 1 gives zeros.
        training: apply dropout; when False (evaluation) the input is returned unchanged.
        inplace: write the result into ``input`` and return it.
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
    _check_train("dropout", training)
    input = _t(input)
    if not training or p == 0.0:
        return input
    data = input._data  # (the array's dtype and shape: cheaper than the Tensor's properties)
    if data.dtype.kind != "f" and data.dtype.name != "bfloat16":
        if p == 1.0:  # everything dropped: zeros of the input's dtype, as PyTorch
            return input * 0
        raise RuntimeError(f"dropout: result type Float can't be cast to the desired output "
                           f"type {input.dtype} (an integer or bool input of shape "
                           f"{input.shape})")
    keep = _dropout_keep_like(generator, data, p)  # PyTorch's draw order (memory order)
    # NOTE: PyTorch's values: x times a 0/1 mask divided by (1 - p) in the input's dtype. With
    # p == 1 nothing is kept (and 0 / 0 is avoided).
    if inplace:
        return _functional_activations._apply(
            input, lambda t: _apply(DROPOUT, t, _leaf(keep), p=float(p)), True)
    return _apply(DROPOUT, input, _leaf(keep), p=float(p))


# ==============================================================================================
# Normalization, attention, convolution, pooling and distances (issue 17). The implementations
# live in the modules that also hold the matching layers; they are re-exported here under
# PyTorch's functional names. (Kept as one block at the end of the file on purpose.)

from . import pooling2d as _pooling2d  # noqa: E402
from . import unpooling as _unpooling  # noqa: E402
from .attention import (  # noqa: E402
    multi_head_attention_forward,
    scaled_dot_product_attention,
)
from .conv import (  # noqa: E402
    adaptive_avg_pool1d,
    adaptive_max_pool1d,
    avg_pool1d,
    conv1d,
    max_pool1d,
)
from .conv2d import (  # noqa: E402
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
)
from .fold2d import fold, unfold  # noqa: E402
from .fractional_pool import (  # noqa: E402
    fractional_max_pool2d,
    fractional_max_pool2d_with_indices,
    fractional_max_pool3d,
    fractional_max_pool3d_with_indices,
)
from .more_layers import (  # noqa: E402
    bilinear,
    cosine_similarity,
    embedding_bag,
    pairwise_distance,
)
from .norm2d import instance_norm, local_response_norm  # noqa: E402
from .normalization import batch_norm, group_norm, layer_norm, rms_norm  # noqa: E402
from .pooling2d import *  # noqa: E402, F403 - max/avg/adaptive/lp pools 2d and 3d
from .sampling import affine_grid, grid_sample  # noqa: E402
from .shuffle_pool import (  # noqa: E402
    adaptive_max_pool1d_with_indices,
    channel_shuffle,
    gumbel_softmax,
    lp_pool1d,
    max_pool1d_with_indices,
    pixel_shuffle,
    pixel_unshuffle,
)
from .unpooling import *  # noqa: E402, F403 - max_unpool1d / 2d / 3d

__all__ += ["batch_norm", "group_norm", "layer_norm", "rms_norm",
            "multi_head_attention_forward", "scaled_dot_product_attention",
            "adaptive_avg_pool1d", "adaptive_max_pool1d", "avg_pool1d", "conv1d", "conv2d",
            "max_pool1d", "bilinear", "cosine_similarity", "embedding_bag", "pairwise_distance",
            "adaptive_max_pool1d_with_indices", "channel_shuffle", "gumbel_softmax", "lp_pool1d",
            "max_pool1d_with_indices", "pixel_shuffle", "pixel_unshuffle",
            "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "fold",
            "unfold", "instance_norm", "local_response_norm", *_pooling2d.__all__,
            *_unpooling.__all__]
__all__ += ["affine_grid", "grid_sample"]
__all__ += ["fractional_max_pool2d", "fractional_max_pool2d_with_indices",
            "fractional_max_pool3d", "fractional_max_pool3d_with_indices"]


def _input_checked(function):
    """``function`` refusing an ``input`` that is not a Tensor (a list, an ndarray, a number)
    with PyTorch's TypeError, for the functions whose implementations live in the layers'
    modules and would make a tensor of it (a batch list given to ``F.max_pool2d`` was pooled
    silently). Costs one call: these are not the per-element hot paths."""

    # The first parameter by its own name (affine_grid's is ``theta``), so that it can also be
    # given by keyword, as MONAI's AffineTransform does: ``affine_grid(theta=..., size=...)``.
    name = function.__code__.co_varnames[0]

    @functools.wraps(function)
    def checked(*args, **kwargs):
        value = args[0] if args else kwargs.get(name)
        if not isinstance(value, Tensor) and (args or name in kwargs):
            raise NotATensorError(f"{function.__name__}(): argument '{name}' (position 1) must "
                                  f"be Tensor, not {_type_name(value)}")
        return function(*args, **kwargs)

    return checked


def _type_name(value) -> str:
    return "numpy.ndarray" if isinstance(value, np.ndarray) else type(value).__name__


for _name in ["adaptive_max_pool1d_with_indices", "max_pool1d_with_indices", "lp_pool1d",
              "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "fold", "unfold",
              "instance_norm", "local_response_norm", "batch_norm", "group_norm",
              "grid_sample", "affine_grid", *_pooling2d.__all__, *_unpooling.__all__]:
    globals()[_name] = _input_checked(globals()[_name])
del _name


# The losses as defined, before the half-precision wrappers below (each passes a call with
# float32 / float64 scores on unchanged): the outermost calls them directly (_half_sums_as_pytorch).
_PLAIN_LOSSES = {"nll_loss": nll_loss, "cross_entropy": cross_entropy}  # noqa: F405


def _half_in_float32(function, float16: bool = True):
    """``function`` computed in float32 for float16 / bfloat16 operands, its floating results
    rounded back once, as PyTorch's CPU kernels accumulate half inputs in float32 (rounding
    every partial sum in float16 gave errors 3-17x PyTorch's: conv2d, bicubic interpolate; and
    several kernels take no bfloat16 array). Applied only when every floating tensor argument
    has the same half dtype, so that a mix still meets the function's own dtype checks; never
    to functions that update an argument in place (batch_norm's running statistics), nor to
    the losses PyTorch composes of half-precision operations (poisson / gaussian NLL, huber),
    whose results it rounds at every step as deltagrad's compositions do."""

    @functools.wraps(function)
    def upcast(*args, **kwargs):
        # A half operand has 2-byte items: the common float32 call skips the rest (5.1 -> 2.1
        # us a call of the wrapper, session 15; the arrays' itemsize, not the dtype property,
        # and no tuple of all the arguments: F.avg_pool2d on [1, 3, 9, 9] 0.90-0.96 of its
        # time, SP7 s22, alternated in one process).
        for a in args:
            if isinstance(a, Tensor) and a._data.dtype.itemsize == 2:
                break
        else:
            if not kwargs:
                return function(*args)
            for a in kwargs.values():
                if isinstance(a, Tensor) and a._data.dtype.itemsize == 2:
                    break
            else:
                return function(*args, **kwargs)
        floats = [a for a in (*args, *kwargs.values())
                  if isinstance(a, Tensor) and a.dtype.is_floating_point]
        half = floats[0].dtype if floats else None
        if half is None or half.itemsize != 2 or any(a.dtype != half for a in floats) or (
                not float16 and half.name == "float16"):
            return function(*args, **kwargs)
        kernel = _NO_REDUCED_KERNEL.get(function.__name__)
        if kernel is not None:  # (PyTorch refuses these: before, computed; s29 NF1)
            x = args[0] if args else next(iter(kwargs.values()))
            if function.__name__ != "local_response_norm" or (x.ndim > 3 and x.numel()):
                _check_reduced_kernel(x, kernel)
        args = [a.float() if isinstance(a, Tensor) and a.dtype == half else a for a in args]
        kwargs = {k: v.float() if isinstance(v, Tensor) and v.dtype == half else v
                  for k, v in kwargs.items()}
        out = function(*args, **kwargs)
        if not isinstance(out, tuple):
            return _rounded(out, half)
        parts = [_rounded(part, half) for part in out]  # (values and int64 indices)
        return type(out)(*parts) if hasattr(out, "_fields") else tuple(parts)

    return upcast


# The wrapped functions whose PyTorch CPU kernel has no float16 / bfloat16 form.
_NO_REDUCED_KERNEL = {"avg_pool3d": "avg_pool3d_out_frame", "lp_pool3d": "avg_pool3d_out_frame",
                      "local_response_norm": "avg_pool3d_out_frame"}


def _rounded(value, half):
    return value.to(half) if isinstance(value, Tensor) and value.dtype == float32 else value


# (float16 convolutions round inside their ops as PyTorch's kernels do: nn/_conv_half.py)
for _name in ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d"]:
    globals()[_name] = _half_in_float32(globals()[_name], float16=False)
for _name in ["interpolate", "upsample", "upsample_bilinear",
              "upsample_nearest", "local_response_norm", "avg_pool1d",
              "max_pool1d", "adaptive_avg_pool1d", "adaptive_max_pool1d", "unfold", "fold",
              "grid_sample", "cosine_embedding_loss",
              "cross_entropy", "nll_loss", "bilinear", "fractional_max_pool2d",
              "fractional_max_pool3d", *_pooling2d.__all__, *_unpooling.__all__]:
    globals()[_name] = _half_in_float32(  # (float16 adaptive means: nn/_pool_half.py)
        globals()[_name], float16=_name not in ("adaptive_avg_pool2d", "adaptive_avg_pool3d"))
del _name


def _embedding_bag_half(function):
    """``embedding_bag`` through float32 for float16 weights, except with ``max_norm``, which
    rescales rows of the weight itself in place (a float32 copy would take the update).
    bfloat16 keeps its own path (more_layers._bf16_bag_sums: PyTorch rounds a bag's sum to
    bfloat16 before the mean divides it, which a float32 mean rounded once does not)."""
    upcast = _half_in_float32(function)

    @functools.wraps(function)
    def call(input, weight, *args, **kwargs):
        renorms = kwargs.get("max_norm", args[1] if len(args) > 1 else None) is not None
        own = renorms or (isinstance(weight, Tensor) and str(weight.dtype).endswith("bfloat16"))
        return (function if own else upcast)(input, weight, *args, **kwargs)

    return call


embedding_bag = _embedding_bag_half(embedding_bag)


def _half_mean_in_steps(function):
    """``nll_loss`` / ``cross_entropy`` of float16 / bfloat16 class scores with the "mean"
    reduction as PyTorch's kernel: the weighted sum and the total weight each rounded to the
    half dtype, then their quotient (rounded once, the mean read 2.21875 where PyTorch has
    2.203125: three losses summing to 6.640625, 6.625 in bfloat16)."""
    import inspect

    signature = inspect.signature(function)

    @functools.wraps(function)
    def call(*args, **kwargs):
        x = args[0] if args else kwargs.get("input")
        if type(x) is not Tensor or x._data.dtype.itemsize != 2:  # (float32: no binding)
            return function(*args, **kwargs)
        try:
            given = signature.bind(*args, **kwargs).arguments
        except TypeError:
            return function(*args, **kwargs)
        x, target, weight = given.get("input"), given.get("target"), given.get("weight")
        if not (isinstance(x, Tensor) and x.dtype.itemsize == 2 and x.dtype.is_floating_point
                and isinstance(target, Tensor) and not target.dtype.is_floating_point
                and given.get("reduction", "mean") == "mean"
                and given.get("size_average") is None and given.get("reduce") is None
                and not given.get("label_smoothing", 0.0)
                and (weight is None or isinstance(weight, Tensor))):
            return function(*args, **kwargs)
        valid = target != given.get("ignore_index", -100)
        if weight is None:
            total = valid.sum()
        else:
            picked = weight.detach().float()[target.masked_fill(~valid, 0)]
            total = (picked * valid).sum()
        if not total.item():  # (0 / 0: the plain path's nan with PyTorch's zero gradients)
            return function(*args, **kwargs)
        summed = function(**{**given, "reduction": "sum"})
        return summed / total.to(x.dtype).float().to(summed.dtype)

    return call


for _name in ("nll_loss", "cross_entropy"):
    globals()[_name] = _half_mean_in_steps(globals()[_name])
del _name


def _half_sums_as_pytorch(function, log_softmax_first: bool):
    """``nll_loss`` / ``cross_entropy`` of float16 / bfloat16 scores [N, C] with class
    indices, "sum" or "mean": the value PyTorch's kernel gives, its sum of the picked
    log-probabilities in the half dtype in its cascade order (ops/half.half_nll), where the
    float32 sum rounded once (the paths above) was 1 ulp off in 20-30% of batches against
    torch 2.13. The result's value is set in place: the graph and gradient stay those above
    (no rule of theirs reads the loss's value)."""
    import inspect

    from .._engine.ops.half import half_nll

    signature = inspect.signature(function)
    plain = _PLAIN_LOSSES[function.__name__]

    @functools.wraps(function)
    def call(*args, **kwargs):
        x = args[0] if args else kwargs.get("input")
        if type(x) is Tensor and x._data.dtype.kind == "f" and x._data.dtype.itemsize >= 4:
            # float32 / float64 scores: the three wrappers pass the call on unchanged (one
            # call, not four: forward 0.83-0.86 of its time, F.nll_loss on [2, 3] and [8, 10],
            # F.cross_entropy on [8, 10]; SP7 s22, alternated in one process)
            return plain(*args, **kwargs)
        if log_softmax_first and type(x) is Tensor and x._data.dtype.itemsize == 2:
            given = signature.bind(*args, **kwargs).arguments
            target = given.get("target")
            if (isinstance(target, Tensor) and target._data.dtype.kind in "iu" and x.ndim
                    and x.dtype.is_floating_point and given.get("size_average") is None
                    and given.get("reduce") is None):
                # (PyTorch's cross_entropy of half scores and class indices: its log_softmax
                # rounded to the half dtype, then nll_loss; the float32 paths above gave its
                # loss but gradients a few ulps off, and label smoothing's loss too)
                return half_cross_entropy(
                    x, target, given.get("weight"), given.get("ignore_index", -100),
                    given.get("reduction", "mean"), given.get("label_smoothing", 0.0),
                    log_softmax, nll_loss)  # noqa: F405 - (nll_loss: the wrapped one)
        out = function(*args, **kwargs)
        if (type(x) is not Tensor or x._data.dtype.itemsize != 2 or type(out) is not Tensor
                or type(x._data) is not np.ndarray):
            return out  # (float32 / float64, meta tensors: no binding)
        given = signature.bind(*args, **kwargs).arguments
        target, weight = given.get("target"), given.get("weight")
        reduction = given.get("reduction", "mean")
        if not (x._data.ndim == 2 and x.dtype.is_floating_point and out._data.ndim == 0
                and out._data.dtype == x._data.dtype and isinstance(target, Tensor)
                and target._data.ndim == 1 and target._data.dtype.kind in "iu"
                and reduction in ("sum", "mean") and given.get("size_average") is None
                and given.get("reduce") is None and not given.get("label_smoothing", 0.0)
                and (weight is None or (isinstance(weight, Tensor)
                                        and weight._data.dtype == x._data.dtype))):
            return out
        log_probs = x.detach().log_softmax(1)._data if log_softmax_first else x._data
        value = half_nll(log_probs, target._data, None if weight is None else weight._data,
                         int(given.get("ignore_index", -100)), reduction, x._data.dtype)
        if value is not None:
            np.copyto(out._data, value)
        return out

    return call


nll_loss = _half_sums_as_pytorch(nll_loss, False)  # noqa: F405 - from _functional_losses
cross_entropy = _half_sums_as_pytorch(cross_entropy, True)  # noqa: F405

# The functions as defined here, for layers with a fused path of their own (BatchNorm): they
# take it only while the function is still this one, so that a replacement is always called.
OWN = {"batch_norm": batch_norm}


def conv_tbc(input, weight, bias, pad: int = 0):
    """PyTorch's time-batch-channel 1-d convolution: ``input`` [T, B, C_in], ``weight``
    [k, C_in, C_out], ``bias`` [C_out]; the result [T', B, C_out] (a cross-correlation as
    ``conv1d``'s, zero-padded by ``pad`` on both ends of time)."""
    if input.ndim != 3:
        raise RuntimeError("Input must have 3 dims: time, batch, in_channel")
    if weight.ndim != 3:
        raise RuntimeError("Weight tensor must have 3 dims: kernel_width, in_channels, "
                           "out_channels.")
    if bias.ndim != 1:
        raise RuntimeError("Bias must be 1-D")
    if input.shape[2] != weight.shape[1]:
        raise RuntimeError("Input dim 2 (input channels) is not == dim 1 in the weight tensor")
    if bias.shape[0] != weight.shape[2]:
        raise RuntimeError("Bias size must equal dim 2 in the weight tensor (output channels).")
    out = conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    # (PyTorch's result is contiguous [T', B, C_out], its node ConvTbcBackward0: was the
    # permuted view, strides (1, T' C_out, T'))
    return _name_node(out.permute(2, 0, 1).contiguous(), "ConvTbcBackward0",
                      (input, weight, bias))


def native_channel_shuffle(input, groups: int):
    """ATen's ``native_channel_shuffle`` (``channel_shuffle``'s kernel)."""
    return channel_shuffle(input, groups)


__all__ += ["conv_tbc", "native_channel_shuffle"]


def __getattr__(name: str):
    """``F.grad``: PyTorch's ``torch.nn.grad`` module (imported on first use: it imports this
    module)."""
    if name == "grad":
        from . import grad

        return grad
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
