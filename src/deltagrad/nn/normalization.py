"""Normalization layers: LayerNorm (one fused node), RMSNorm, GroupNorm and BatchNorm1d."""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Sequence

import numpy as np

from .._engine import DTypeError, ShapeError, Tensor
from .._engine import bf16 as _bf16
from .._engine import subclassing as _sub
from .._engine.api._common import int_arg
from .._engine.api.creation import channels_last, from_numpy, tensor
from .._engine.api.normalization import check_norm_tensors, layer_norm, normalized_shape_arg
from .._engine.dtypes import bfloat16, float16, float32
from .._engine.errors import warn_once
from .._engine.modes import _GradMode
from .._engine.ops.nn import Scratch
from .._engine.tensor import apply
from ..autograd import Function
from . import _layer_infer, init
from ._batch_norm_eval import eval_normalize
from ._batch_norm_kernels import (
    _BATCH_NORM_EVAL,
    _BATCH_NORM_TRAIN,
)
from ._factory import parameter_dtype
from ._norm_state import _affine_parameters, _reset_running_statistics, _running_statistics
from ._running_stats import _RunningStats, _TrackStats  # (moved out: session 27, FS1)
from .conv2d_kernels import channels_last_like
from .module import Module, Parameter

# torch.nn.functional (it imports this module; the package's __init__ loaded it first)
F = sys.modules["deltagrad.nn.functional"]
_LN_CODE = layer_norm.__code__  # (LayerNorm's direct path while F.layer_norm is it: see Linear)

__all__ = [
    "BatchNorm1d",
    "GroupNorm",
    "LayerNorm",
    "RMSNorm",
    "batch_norm",
    "group_norm",
    "layer_norm",
    "rms_norm",
]


def _shape_tuple(normalized_shape) -> tuple[int, ...]:
    if isinstance(normalized_shape, numbers.Integral):
        return (int(normalized_shape),)
    return tuple(int(n) for n in normalized_shape)


def _check_trailing(name: str, x, shape: tuple[int, ...]) -> None:
    if len(shape) == 0 or x._data.shape[x.ndim - len(shape):] != shape or x.ndim < len(shape):
        raise ShapeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                         f"[*, {', '.join(map(str, shape))}], but got input of size"
                         f"{list(x.shape)} ({name})")


def _check_affine(name: str, what: str, param, shape: tuple[int, ...]) -> None:
    if param is not None and param._data.shape != shape:
        raise ShapeError(f"{name}: {what} of shape {tuple(param.shape)} does not match "
                            f"normalized_shape {shape}")


# layer_norm (imported above) is one primitive op: _engine/ops/normalization.py.


# rms_norm's mismatched-dtype warning names dtypes as PyTorch's C++ does
_C10_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
              "bfloat16": "c10::BFloat16"}


def rms_norm(input, normalized_shape: Sequence[int] | int, weight=None, eps: float | None = None):
    """x / sqrt(mean(x²) + eps) * weight over the trailing dimensions (PyTorch's ``F.rms_norm``).

    Args:
        input: float ``[*, *normalized_shape]``.
        normalized_shape: the trailing shape to normalize over.
        weight: ``normalized_shape`` tensor or ``None``.
        eps: added to the mean square; ``None`` means the machine epsilon of the dtype it
            computes in (float32 for float16 / bfloat16 input, as PyTorch's kernel).

    >>> import deltagrad as dg
    >>> rms_norm(tensor([[3.0, 4.0]]), (2,), eps=0.0)
    tensor([[0.8485, 1.1314]])
    """
    shape = normalized_shape_arg(normalized_shape, "rms_norm")
    check_norm_tensors("rms_norm", input, weight=weight)
    x = input
    _check_trailing("rms_norm", x, shape)
    _check_affine("rms_norm", "weight", weight, shape)
    if x._data.dtype.kind != "f" and x._data.dtype is not _bf16.BF16:
        raise NotImplementedError(f"rms_norm: not implemented for {x.dtype}; pass a floating "
                                  "input")
    if weight is not None and weight.dtype != x.dtype:  # (PyTorch: TORCH_WARN_ONCE)
        names = [_C10_NAMES.get(str(t.dtype).rsplit(".", 1)[-1], "?") for t in (x, weight)]
        warn_once("rms_norm_dtypes", f"Mismatch dtype between input and weight: input dtype = "
                  f"{names[0]}, weight dtype = {names[1]}, Cannot dispatch to fused "
                  "implementation.")
    if x.dtype.itemsize == 2:  # NOTE: as PyTorch, float16 / bfloat16 in float32 (x*x overflows)
        # eps=None stays None here: PyTorch's kernel takes the epsilon of the type it computes
        # in (float32's 1.2e-7), not the input's (bfloat16's 7.8e-3 moved outputs ~1%).
        w = None if weight is None else weight.float()
        return rms_norm(x.float(), normalized_shape, w, eps).to(x.dtype)
    if eps is None:
        eps = float(np.finfo(x.dtype).eps)
    dims = tuple(range(x.ndim - len(shape), x.ndim))
    out = x * ((x * x).mean(dim=dims, keepdim=True) + eps).rsqrt()
    if weight is None:
        return out
    # PyTorch returns the input's dtype whatever the weight's (a float64 weight on float32
    # input: scaled in float64, then rounded back).
    out = out * weight
    return out if out._data.dtype == x._data.dtype else out.to(x.dtype)


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5):
    """Normalize each group of channels of each sample (PyTorch's ``F.group_norm``).

    Args:
        input: float ``[N, C, *]`` with C divisible by ``num_groups``.
        num_groups: how many groups the channels are split into.
        weight, bias: per-channel ``[C]`` affine parameters or ``None``.
        eps: added to the variance.

    PyTorch's functional checks first (at least 2 dims; more than one value per group, with
    its arithmetic, so a tensor ``num_groups`` meets the same errors), then ``torch.group_norm``.
    """
    check_norm_tensors("group_norm", input)
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{input.ndim}")
    shape = input._data.shape  # (the array's: Tensor.shape builds a Size)
    per_group = shape[0] * shape[1] // num_groups  # (ZeroDivisionError for 0, as PyTorch)
    for n in shape[2:]:
        per_group = per_group * n
    if per_group == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input "
                         f"size {list(shape)}")
    return aten_group_norm(input, num_groups, weight, bias, eps)


_REDUCED = (bfloat16, float16)  # (the input dtypes of PyTorch's mixed-type norm kernels)


def aten_group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5,
                    cudnn_enabled: bool = True):
    """``torch.group_norm``: ``F.group_norm`` without its Python checks (``cudnn_enabled`` is
    accepted and means nothing on the CPU)."""
    check_norm_tensors("group_norm", input, weight=weight, bias=bias)
    num_groups = int_arg(num_groups, "num_groups", "group_norm")
    x = input
    if x.ndim < 2:
        top = max(x.ndim, 1)
        raise IndexError(f"Dimension out of range (expected to be in range of [{-top}, "
                         f"{top - 1}], but got 1)")
    # (the array's shape, read once: Tensor.shape builds a Size each time; with group_norm's
    # below, F.group_norm forward under grad on [2, 3, 8, 8] 0.74-0.82 of its time, fwd + bwd
    # 0.83: s24 SP13, alternated in one process with the code before, 25-51 rounds)
    shape = x._data.shape
    channels = shape[1]
    if num_groups <= 0:
        raise RuntimeError(f"Expected num groups to be greater than 0, got {num_groups}")
    if channels % num_groups:
        raise ShapeError(f"group_norm: expected number of channels in input ({channels}) to "
                         f"be divisible by num_groups ({num_groups})")
    for what, param in (("weight", weight), ("bias", bias)):
        if param is not None and param._data.shape != (channels,):
            raise ShapeError(f"Expected {what} to be a vector of size equal to the number of "
                             f"channels in input, but got {what} of shape "
                             f"{list(param.shape)} and input of shape {list(x.shape)} "
                             f"(group_norm)")
    params = [p for p in (weight, bias) if p is not None]
    if params and x.dtype in _REDUCED and all(p.dtype == float32 for p in params):
        # PyTorch's mixed-type kernel: bfloat16 / float16 input, float32 parameters (autocast's
        # conv output into nn.GroupNorm): computed in float32, the result in the input's dtype
        return aten_group_norm(x.float(), num_groups, weight, bias, eps).to(x.dtype)
    if x.dtype in _REDUCED and x.numel() and all(p.dtype == x.dtype for p in params):
        # PyTorch's half-precision kernel: float32 arithmetic, but its backward reads the
        # groups' mean and rstd stored in the input's dtype (the layer_norm route, whose
        # g * weight was rounded too, gave input gradients up to 13 bfloat16 ulps off)
        return _HalfGroupNorm.apply(x.float(), *(p.float() for p in params), groups=num_groups,
                                    eps=eps, has_weight=weight is not None,
                                    narrow=x.dtype).to(x.dtype)
    if any(p._data.dtype != x._data.dtype for p in params):
        raise DTypeError(f"group_norm: mixed dtype: input {x.dtype} and parameters "
                         f"{[str(p.dtype) for p in params]} must share one floating dtype")
    if x._data.dtype.kind != "f" and x._data.dtype is not _bf16.BF16:
        raise NotImplementedError(f"group_norm: not implemented for {x.dtype}; pass a "
                                  "floating input")
    batch = shape[0]
    per_group = math.prod(shape) // max(batch * num_groups, 1)
    grouped = x.reshape(batch, num_groups, per_group)
    out = layer_norm(grouped, (per_group,), eps=eps).reshape(shape)
    if channels_last_like(x._data):  # PyTorch's layout for a channels-last image
        out = out.contiguous(memory_format=channels_last)
    affine_shape = (1, channels) + (1,) * (len(shape) - 2)
    if weight is not None:
        out = out * weight.reshape(affine_shape)
    if bias is not None:
        out = out + bias.reshape(affine_shape)
    return out


class _HalfGroupNorm(Function):
    """group_norm of the float32 copy of a float16 / bfloat16 input (and of its parameters):
    the forward in float32 (rounded once by the caller), the backward with the groups' mean
    and rstd rounded to ``narrow`` first, as PyTorch's kernel keeps them."""

    @staticmethod
    def forward(ctx, x, *affine, groups: int, eps: float, has_weight: bool, narrow):
        rows = x.reshape(x.shape[0], groups, -1)
        mean = rows.mean(dim=2, keepdim=True)
        centred = rows - mean
        rstd = ((centred * centred).mean(dim=2, keepdim=True) + eps).rsqrt()
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        out = _affine((centred * rstd).reshape(x.shape), affine[0] if has_weight else None,
                      affine[-1] if len(affine) > has_weight else None, shape)
        ctx.save_for_backward(x, *affine[:int(has_weight)])
        ctx.stats = (mean.to(narrow).float(), rstd.to(narrow).float(), groups, shape,
                     len(affine))
        return out

    @staticmethod
    def backward(ctx, grad):
        x, *weight = ctx.saved_tensors
        mean, rstd, groups, shape, n_affine = ctx.stats
        dims = (0,) + tuple(range(2, x.ndim))
        xhat = (x.reshape(x.shape[0], groups, -1) - mean) * rstd
        scaled = grad * weight[0].reshape(shape) if weight else grad
        scaled = scaled.reshape(xhat.shape)
        gx = rstd * (scaled - scaled.mean(dim=2, keepdim=True)
                     - xhat * (scaled * xhat).mean(dim=2, keepdim=True))
        grads = [gx.reshape(x.shape)]
        if weight:
            grads.append((grad * xhat.reshape(x.shape)).sum(dim=dims))
        if n_affine > len(weight):
            grads.append(grad.sum(dim=dims))
        return tuple(grads)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float | None = 0.1, eps: float = 1e-5):
    """Normalize each channel over the batch (and length) dimension (PyTorch's ``F.batch_norm``).

    In training the batch's mean and biased variance normalize, and the running statistics
    (when given) are updated in place: ``running = (1 - momentum) * running + momentum *
    batch`` with the *unbiased* batch variance. Otherwise the running statistics normalize.

    Args:
        input: float ``[N, C]`` or ``[N, C, L]`` (any ``[N, C, *]``).
        running_mean, running_var: ``[C]`` tensors or ``None`` (required when not training).
        weight, bias: ``[C]`` affine parameters or ``None``.
        training: use (and record) batch statistics.
        momentum: the update factor of the running statistics.
        eps: added to the variance.
    """
    for position, (name, value) in enumerate((("running_mean", running_mean),
                                              ("running_var", running_var), ("weight", weight),
                                              ("bias", bias)), 2):
        if value is not None and not isinstance(value, Tensor):  # (PyTorch's parser)
            raise TypeError(f"batch_norm(): argument '{name}' (position {position}) must be "
                            f"Tensor, not {type(value).__name__}")
    stats = None
    if training and (running_mean is not None or running_var is not None):
        stats = _RunningStats(running_mean, running_var, None,
                              0.1 if momentum is None else float(momentum))
    return _batch_norm(input, running_mean, running_var, weight, bias, training, eps, stats)


def _batch_norm(input, running_mean, running_var, weight, bias, training: bool, eps: float,
                stats: _RunningStats | None) -> Tensor:
    """``batch_norm`` with the update of the running statistics given as ``stats`` (in
    training: the modules count batches)."""
    # PyTorch's check: eps 0 in training divides by a zero variance; negative eps never makes
    # sense (both ran silently before: ModuleInfo BatchNorm error inputs).
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    x = input if isinstance(input, Tensor) else tensor(input)
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: expected an input of at least 2 dimensions [N, C, *], "
                            f"got shape {tuple(x.shape)}")
    channels = x._data.shape[1]  # (the arrays' shapes: Tensor.shape builds a Size)
    for what, t in (("running_mean", running_mean), ("running_var", running_var),
                     ("weight", weight), ("bias", bias)):
        if t is not None and t._data.shape != (channels,):
            raise ShapeError(f"{what} should contain {channels} elements not {t.numel()} "
                             f"(batch_norm: {what} of shape {tuple(t.shape)}, input of shape "
                             f"{tuple(x.shape)})")
    if x._data.size == 0:
        # ATen's path for an empty input, any dtypes of the parameters: a clone times
        # weight[0] plus bias[0] (float16 training with float16 statistics raised, and a
        # float32 input with float64 weights; s29 NF1, PyTorch's JIT list's size_zero entries)
        if training and stats is not None and stats.count is not None:
            stats.count._data[...] += 1
        out = x.clone()
        if weight is not None:
            out = out * weight[0]
        return out if bias is None else out + bias[0]
    _check_dtypes(x, weight, bias, running_mean, running_var)
    if x._data.dtype == np.float16 or x._data.dtype is _bf16.BF16:
        # NOTE: as PyTorch's CPU kernel, a half or bfloat16 input is normalized in float32 (its
        # opmath) and the result rounded once to the input's dtype, whatever the dtype of the
        # parameters and statistics (the statistics take float32 batch values, rounded to
        # theirs). Before: bfloat16 raised (.numpy()); float16 with float32 ones gave float32.
        given = [t for t in (running_mean, running_var, weight, bias) if t is not None]
        if training and x.numel() and all(t._data.dtype == x._data.dtype for t in given):
            # Parameters of the input's dtype: PyTorch's kernel rounds the statistics to it
            # (the fused node is told which dtype; bfloat16 by float32 copies, as the rest).
            return _batch_norm_train(x.float(), *(t if t is None else t.float()
                                                  for t in (weight, bias)), eps, stats,
                                     half=x._data.dtype).to(x.dtype)
        if not training and running_mean is not None and running_var is not None:
            # PyTorch's eval kernel: y = x alpha + beta, alpha = w / sqrt(var + eps) and beta
            # = b - mean alpha in float32 ((x - mean) rstd w + b was 2-3 ulps off on 2 of 24)
            shape = (1, channels) + (1,) * (x.ndim - 2)
            alpha = (running_var.detach().float() + eps).rsqrt()
            if weight is not None:
                alpha = alpha * weight.float()
            beta = -running_mean.detach().float() * alpha
            if bias is not None:
                beta = beta + bias.float()
            return (x.float() * alpha.reshape(shape) + beta.reshape(shape)).to(x.dtype)
        return _batch_norm(x.float(), running_mean, running_var, weight, bias, training, eps,
                           stats).to(x.dtype)
    if training:
        return _batch_norm_train(x, weight, bias, eps, stats)
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: running_mean and running_var are required when "
                         "training is False")
    dtype = x._data.dtype
    if dtype in (np.float32, np.float64) and all(
            t is None or t._data.dtype == dtype
            for t in (weight, bias, running_mean, running_var)):
        # One node, PyTorch's NativeBatchNormBackward0 (_batch_norm_kernels.py)
        affine = [t for t in (weight, bias) if t is not None]
        return apply(_BATCH_NORM_EVAL, x, *affine, has_weight=weight is not None, eps=eps,
                     stats=(running_mean, running_var), slot=Scratch())
    shape = (1, channels) + (1,) * (x.ndim - 2)
    mean = running_mean.detach().reshape(shape)
    rstd = (running_var.detach().reshape(shape) + eps).rsqrt()
    out = (x - mean) * rstd
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


_DTYPE_WORDS = {"float16": "Half", "bfloat16": "BFloat16", "float32": "Float", "float64": "Double"}


def _check_dtypes(x: Tensor, *given) -> None:
    """PyTorch's CPU kernel's dtype rule over (weight, bias, running_mean, running_var): all
    of the input's dtype, or (a "mixed type", which the first given one decides) all float32
    for a float32, float16 or bfloat16 input; else PyTorch's RuntimeError. (A float64 input
    computed with float32 weights silently: SL16 seed 102, RS1; a float16 one with bfloat16
    statistics, or a float32 one with bfloat16 weights, computed where PyTorch raises: s29
    NF1.)"""
    dtype = x._data.dtype
    for t in given:  # (the usual call: one dtype throughout, no strings made)
        if t is not None and t._data.dtype != dtype:
            break
    else:
        return
    given = [t for t in given if t is not None]
    kind = str(x.dtype).rsplit(".", 1)[-1]
    kinds = [str(t.dtype).rsplit(".", 1)[-1] for t in given]
    if not given or kind not in _DTYPE_WORDS or any(k not in _DTYPE_WORDS for k in kinds):
        return  # (integer dtypes: the other checks)
    where = f" (batch_norm: input {x.dtype}, parameters and statistics {', '.join(kinds)})"
    if kinds[0] != kind:
        if kind not in ("float16", "bfloat16", "float32"):
            raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype." + where)
        if any(k != "float32" for k in kinds):
            raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of "
                               "Float" + where)
        return
    for k in kinds:
        if k != kind:
            raise RuntimeError(f"expected scalar type {_DTYPE_WORDS[kind]} but found "
                               f"{_DTYPE_WORDS[k]}" + where)


def _batch_norm_train(x: Tensor, weight, bias, eps: float, stats: _RunningStats | None,
                      half=None):
    """``batch_norm`` in training mode: the batch's mean and biased variance normalize, and
    the running statistics (``stats``) are updated inside a node. One ``_BatchNormTrain``
    node where its dtypes agree, else by ops after a ``_TrackStats`` node."""
    shape = x._data.shape  # (the array's: Tensor.shape builds a Size)
    channels = shape[1]
    per_channel = shape[0] * math.prod(shape[2:])
    if per_channel == 1:  # (PyTorch's test: N times the spatial sizes, so 0 passes)
        raise ValueError(f"Expected more than 1 value per channel when training, got input "
                         f"size {x.shape} (batch_norm)")
    if x.numel() == 0:
        # PyTorch: an empty result, the running statistics kept, num_batches_tracked counted,
        # and zero gradients for weight and bias (the affine step over no values).
        if stats is not None and stats.count is not None:
            stats.count._data[...] += 1
        return _affine(x, weight, bias, (1, channels) + (1,) * (x.ndim - 2))
    running = (stats.mean, stats.var) if stats is not None else ()
    # (2-D inputs by ops: [256, 64] forward + backward 0.19 ms against 0.31 ms fused; small
    # ones fused, as [N, C, 1]: fwd + bwd on OpInfo's [3, 1] 2.3 -> 1.8 x PyTorch; old and new
    # function alternated in one process, 15 rounds, thread time, a loaded machine; s17 SP)
    dtype = x._data.dtype
    if half is not None or (len(shape) > 2 or x._data.size <= 1024) and dtype in (
            np.float32, np.float64) and all(t is None or t._data.dtype == dtype
                                             for t in (weight, bias, *running)):
        affine = [t for t in (weight, bias) if t is not None]
        # ([N, C] too, as [N, C, 1] inside the op: two reshape nodes fewer, fwd + bwd on
        # [16, 8] float32 89 -> 74 us, [3, 1] 95 -> 78 (PyTorch 44; min of 40 alternated
        # rounds, loaded machine; s18 SP))
        # (N-d inputs as they are: one node, PyTorch's NativeBatchNormBackward0, as
        # torch_pruning's graph walk needs; a channels-last image gives a channels-last result,
        # as PyTorch)
        return apply(_BATCH_NORM_TRAIN, x, *affine, has_weight=weight is not None, eps=eps,
                     stats=stats, slot=Scratch(), channels_last=channels_last_like(x._data),
                     **({} if half is None else {"half": half}))
    dims = (0,) + tuple(range(2, x.ndim))
    shape = (1, channels) + (1,) * (x.ndim - 2)
    mean = x.mean(dim=dims, keepdim=True)
    centred = x - mean
    var = (centred * centred).mean(dim=dims, keepdim=True)
    if stats is not None:
        var = _TrackStats.apply(var, mean, stats=stats, instance=False,
                                count=x.numel() // channels)
    return _affine(centred * (var + eps).rsqrt(), weight, bias, shape)


def _affine(out: Tensor, weight, bias, shape: tuple) -> Tensor:
    """``out * weight + bias``, each per channel (broadcast as ``shape``) where given."""
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


# ----------------------------------------------------------------------------------------------
# Modules.


class LayerNorm(Module):
    """Layer normalization over the trailing ``normalized_shape`` (PyTorch's ``nn.LayerNorm``).

    Args:
        normalized_shape: an int or shape: the trailing dimensions to normalize over.
        eps: added to the variance.
        elementwise_affine: learn ``weight`` (ones) and, if ``bias``, ``bias`` (zeros).
        bias: learn the additive ``bias`` (with ``elementwise_affine``).
        dtype: the parameters' dtype (float32 by default).

    >>> import deltagrad as dg
    >>> norm = dg.nn.LayerNorm(4)
    >>> norm(dg.randn(2, 3, 4)).shape, [n for n, _ in norm.named_parameters()]
    (deltagrad.Size([2, 3, 4]), ['weight', 'bias'])
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dtype = parameter_dtype(dtype, device, "LayerNorm")
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        """Weight to ones, bias to zeros."""
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        if not _GradMode.enabled and getattr(F.layer_norm, "__code__", None) is _LN_CODE:
            out = _layer_infer.layer_norm(input, self.normalized_shape, self.weight, self.bias,
                                          self.eps)
            if out is not None:
                return out
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class RMSNorm(Module):
    """Root-mean-square normalization (PyTorch's ``nn.RMSNorm``).

    Args:
        normalized_shape: an int or shape: the trailing dimensions to normalize over.
        eps: added to the mean square; ``None`` as in ``F.rms_norm`` (float32's for 16-bit input).
        elementwise_affine: learn ``weight`` (ones).
        dtype: the parameters' dtype (float32 by default).
    """

    def __init__(self, normalized_shape, eps: float | None = None,
                 elementwise_affine: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dtype = parameter_dtype(dtype, device, "RMSNorm")
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self) -> None:
        """Weight to ones."""
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, x):  # (PyTorch's name for the input here)
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """Group normalization over groups of channels (PyTorch's ``nn.GroupNorm``).

    Args:
        num_groups: number of groups (must divide ``num_channels``).
        num_channels: C of the ``[N, C, *]`` input.
        eps: added to the variance.
        affine: learn per-channel ``weight`` (ones) and, if ``bias``, ``bias`` (zeros).
        dtype: the parameters' dtype (float32 by default).
        bias: learn the additive ``bias`` (with ``affine``).
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None, *,
                 bias: bool = True) -> None:
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        dtype = parameter_dtype(dtype, device, "GroupNorm")
        _affine_parameters(self, affine, bias, num_channels, dtype)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class _NormBase(Module):
    """PyTorch's common base of the batch- and instance-norm layers (libraries test it:
    thop's counting rule, torch-pruning's importance targets)."""

    # State-dict version 2 added num_batches_tracked: a checkpoint of an older (or unknown)
    # version without it loads as in PyTorch, the module keeping its own count.
    _version = 2

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        version = local_metadata.get("version")
        key = prefix + "num_batches_tracked"
        if ((version is None or version < 2) and getattr(self, "track_running_stats", False)
                and key not in state_dict):
            count = self._buffers.get("num_batches_tracked")
            state_dict[key] = count if count is not None else from_numpy(np.zeros((), np.int64))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)


class _BatchNorm(_NormBase):
    """What BatchNorm1d, 2d and 3d share (PyTorch's ``_BatchNorm``: none is an instance of
    another, so ``isinstance(m, nn.BatchNorm1d)`` picks the 1-d ones only).

    In training mode the batch statistics normalize and update the running statistics
    (buffers ``running_mean``, ``running_var`` and ``num_batches_tracked``); in evaluation mode
    the running statistics normalize, unless ``track_running_stats`` is False.

    Args:
        num_features: C.
        eps: added to the variance.
        momentum: update factor of the running statistics; ``None`` gives a cumulative
            average (factor ``1 / num_batches_tracked``).
        affine: learn per-channel ``weight`` (ones) and, if ``bias``, ``bias`` (zeros).
        track_running_stats: keep running statistics (else batch statistics are always used).
        dtype: the parameters' and statistics' dtype (float32 by default).
        bias: learn the additive ``bias`` (with ``affine``).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *,
                 bias: bool = True) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        dtype = parameter_dtype(dtype, device, type(self).__name__)
        _affine_parameters(self, affine, bias, num_features, dtype)
        _running_statistics(self, track_running_stats, num_features, dtype)

    def reset_running_stats(self) -> None:
        """Running mean to 0, running variance to 1, the batch count to 0."""
        _reset_running_statistics(self)

    def reset_parameters(self) -> None:
        """Reset the running statistics, weight to ones and bias to zeros."""
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _running_stats(self) -> _RunningStats | None:
        """What a training-mode call updates (None: nothing). PyTorch's rule: in training with
        ``track_running_stats`` the batch count goes up by one and the running statistics
        move by ``momentum``, or by ``1 / num_batches_tracked`` when ``momentum`` is None."""
        if not (self.training and self.track_running_stats):
            return None
        if self.running_mean is None and self.running_var is None:
            return None
        return _RunningStats(self.running_mean, self.running_var, self.num_batches_tracked,
                             self.momentum)

    def _fused(self, input) -> bool:
        """Whether the fused ``_normalize`` (its op updates the statistics, for capture_step)
        looks like PyTorch's F.batch_norm call: a plain tensor, no mode, F's own function."""
        own = F.OWN["batch_norm"]
        return (type(input) is Tensor and not _sub.MODES[0]
                and (F.batch_norm is own or F.batch_norm is _sub.PUBLIC.get(id(own))))

    def _call_functional(self, input):
        """PyTorch's forward: the batch count, the update factor, then ``F.batch_norm``."""
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        training = self.training or (self.running_mean is None and self.running_var is None)
        stats = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if stats else None, self.running_var if
                            stats else None, self.weight, self.bias, training, factor, self.eps)

    def _normalize(self, x):
        """Batch normalization of ``[N, C]`` or ``[N, C, L]`` (any ``[N, C, ...]`` flattened)."""
        # Batch statistics in training, and always when there are no running statistics;
        # these are then updated in training only.
        if not self.training:  # (PERF: straight to the eval op, _batch_norm_eval.py)
            out = eval_normalize(self, x)
            if out is not None:
                return out
        if self.running_mean is not None and x.shape[1] != self.running_mean.shape[0]:
            # (PyTorch counts the batch before F.batch_norm refuses the channel count: the
            # functional path's order, so the count after the error is PyTorch's)
            return self._call_functional(x)
        training = self.training or self.running_mean is None
        return _batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                           training, self.eps, self._running_stats())

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of ``[N, C]`` or ``[N, C, L]`` inputs (PyTorch's ``nn.BatchNorm1d``).

    In training mode the batch statistics normalize and update the running statistics
    (buffers ``running_mean``, ``running_var`` and ``num_batches_tracked``); in evaluation mode
    the running statistics normalize, unless ``track_running_stats`` is False. Arguments as
    PyTorch's: ``num_features`` (C), ``eps``, ``momentum`` (``None``: a cumulative average),
    ``affine``, ``track_running_stats``, ``dtype``, ``bias``.
    """

    def forward(self, input):
        x = input if isinstance(input, Tensor) else tensor(input)
        if x.ndim not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {x.ndim}D input) (BatchNorm1d: "
                             f"input of shape {tuple(x.shape)})")
        if not self._fused(x):
            return self._call_functional(x)
        return self._normalize(x)
