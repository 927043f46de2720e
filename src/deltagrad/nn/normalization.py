"""Normalization layers: LayerNorm (one fused node), RMSNorm, GroupNorm and BatchNorm1d."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from .._engine import ShapeError, Tensor
from .._engine.api.creation import from_numpy, tensor
from .._engine.api.normalization import layer_norm
from . import init
from ._factory import parameter_dtype
from .module import Module, Parameter

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
        raise ShapeError(f"{name}: given normalized_shape={list(shape)}, expected input with "
                            f"shape [*, {', '.join(map(str, shape))}], but got input of size "
                            f"{tuple(x.shape)}")


def _check_affine(name: str, what: str, param, shape: tuple[int, ...]) -> None:
    if param is not None and param._data.shape != shape:
        raise ShapeError(f"{name}: {what} of shape {tuple(param.shape)} does not match "
                            f"normalized_shape {shape}")


# layer_norm (imported above) is one primitive op: _engine/ops/normalization.py.


def rms_norm(input, normalized_shape: Sequence[int] | int, weight=None, eps: float | None = None):
    """x / sqrt(mean(x²) + eps) * weight over the trailing dimensions (PyTorch's ``F.rms_norm``).

    Args:
        input: float ``[*, *normalized_shape]``.
        normalized_shape: the trailing shape to normalize over.
        weight: ``normalized_shape`` tensor or ``None``.
        eps: added to the mean square; ``None`` means the dtype's machine epsilon.

    >>> import deltagrad as dg
    >>> rms_norm(tensor([[3.0, 4.0]]), 2, eps=0.0)
    tensor([[0.8485, 1.1314]])
    """
    shape = _shape_tuple(normalized_shape)
    x = input if isinstance(input, Tensor) else tensor(input)
    _check_trailing("rms_norm", x, shape)
    _check_affine("rms_norm", "weight", weight, shape)
    if eps is None:
        eps = float(np.finfo(x.dtype).eps)
    dims = tuple(range(x.ndim - len(shape), x.ndim))
    out = x * ((x * x).mean(dim=dims, keepdim=True) + eps).rsqrt()
    return out * weight if weight is not None else out


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5):
    """Normalize each group of channels of each sample (PyTorch's ``F.group_norm``).

    Args:
        input: float ``[N, C, *]`` with C divisible by ``num_groups``.
        num_groups: how many groups the channels are split into.
        weight, bias: per-channel ``[C]`` affine parameters or ``None``.
        eps: added to the variance.
    """
    x = input if isinstance(input, Tensor) else tensor(input)
    if x.ndim < 2:
        raise ShapeError(f"group_norm: expected an input of at least 2 dimensions [N, C, *], "
                            f"got shape {tuple(x.shape)}")
    channels = x.shape[1]
    if num_groups <= 0 or channels % num_groups:
        raise ShapeError(f"group_norm: expected number of channels in input ({channels}) to "
                            f"be divisible by num_groups ({num_groups})")
    for what, param in (("weight", weight), ("bias", bias)):
        if param is not None and tuple(param.shape) != (channels,):
            raise ShapeError(f"group_norm: {what} of shape {tuple(param.shape)} should be "
                                f"({channels},) for input of shape {tuple(x.shape)}")
    batch = x.shape[0]
    grouped = x.reshape(batch, num_groups, -1)
    out = layer_norm(grouped, grouped.shape[-1:], eps=eps).reshape(x.shape)
    affine_shape = (1, channels) + (1,) * (x.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(affine_shape)
    if bias is not None:
        out = out + bias.reshape(affine_shape)
    return out


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
    x = input if isinstance(input, Tensor) else tensor(input)
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: expected an input of at least 2 dimensions [N, C, *], "
                            f"got shape {tuple(x.shape)}")
    channels = x.shape[1]
    for what, t in (("running_mean", running_mean), ("running_var", running_var),
                     ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (channels,):
            raise ShapeError(f"batch_norm: {what} of shape {tuple(t.shape)} should be "
                                f"({channels},) for input of shape {tuple(x.shape)}")
    dims = (0,) + tuple(range(2, x.ndim))
    shape = (1, channels) + (1,) * (x.ndim - 2)
    if training:
        count = x.numel() // channels
        if count <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input size {tuple(x.shape)}")
        mean = x.mean(dim=dims, keepdim=True)
        centred = x - mean
        var = (centred * centred).mean(dim=dims, keepdim=True)
        out = centred * (var + eps).rsqrt()
        if running_mean is not None or running_var is not None:
            factor = 0.1 if momentum is None else float(momentum)
            batch_mean = mean.detach().numpy().reshape(channels)
            batch_var = var.detach().numpy().reshape(channels) * (count / (count - 1))
            for running, value in ((running_mean, batch_mean), (running_var, batch_var)):
                if running is not None:
                    array = running.detach().numpy()
                    array *= 1.0 - factor
                    array += (factor * value).astype(array.dtype, copy=False)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are required when "
                             "training is False")
        mean = running_mean.detach().reshape(shape)
        rstd = (running_var.detach().reshape(shape) + eps).rsqrt()
        out = (x - mean) * rstd
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


# ----------------------------------------------------------------------------------------------
# Modules.


def _affine_parameters(module: Module, affine: bool, bias: bool, channels: int, dtype) -> None:
    """Per-channel ``weight`` (ones) and ``bias`` (zeros), each registered as None when absent."""
    if affine:
        module.weight = Parameter(np.ones(channels, dtype=dtype))
    else:
        module.register_parameter("weight", None)
    if affine and bias:
        module.bias = Parameter(np.zeros(channels, dtype=dtype))
    else:
        module.register_parameter("bias", None)


def _running_statistics(module: Module, track: bool, channels: int, dtype) -> None:
    """The ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked`` buffers,
    each registered as None when the module does not track running statistics."""
    if track:
        module.register_buffer("running_mean", from_numpy(np.zeros(channels, dtype)))
        module.register_buffer("running_var", from_numpy(np.ones(channels, dtype)))
        module.register_buffer("num_batches_tracked", from_numpy(np.zeros((), dtype=np.int64)))
    else:
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            module.register_buffer(name, None)


def _reset_running_statistics(module: Module) -> None:
    """Running mean to 0, running variance to 1, the batch count to 0 (when tracked)."""
    if module.track_running_stats:
        module.running_mean.detach().numpy()[...] = 0
        module.running_var.detach().numpy()[...] = 1
        module.num_batches_tracked.detach().numpy()[...] = 0


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
                 bias: bool = True, *, device=None, dtype=None) -> None:
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
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class RMSNorm(Module):
    """Root-mean-square normalization (PyTorch's ``nn.RMSNorm``).

    Args:
        normalized_shape: an int or shape: the trailing dimensions to normalize over.
        eps: added to the mean square; ``None`` means the input dtype's machine epsilon.
        elementwise_affine: learn ``weight`` (ones).
        dtype: the parameters' dtype (float32 by default).
    """

    def __init__(self, normalized_shape, eps: float | None = None,
                 elementwise_affine: bool = True, *, device=None,
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

    def forward(self, input):
        return rms_norm(input, self.normalized_shape, self.weight, self.eps)

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
                 affine: bool = True, *, device=None, dtype=None,
                 bias: bool = True) -> None:
        super().__init__()
        if num_channels % num_groups:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        dtype = parameter_dtype(dtype, device, "GroupNorm")
        _affine_parameters(self, affine, bias, num_channels, dtype)

    def forward(self, input):
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class _BatchNorm(Module):
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
                 affine: bool = True, track_running_stats: bool = True, *, device=None,
                 dtype=None,
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

    def _normalize(self, x):
        """Batch normalization of ``[N, C]`` or ``[N, C, L]`` (any ``[N, C, ...]`` flattened)."""
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.detach().numpy()[...] += 1
            if self.momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked.item())
        # Batch statistics in training, and always when there are no running statistics;
        # these are then updated in training only (batch_norm does that when it is given them).
        use_batch = self.training or self.running_mean is None
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          use_batch, momentum, self.eps)

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
            raise ValueError(f"BatchNorm1d: expected 2D or 3D input (got {x.ndim}D input of "
                             f"shape {tuple(x.shape)})")
        return self._normalize(x)
