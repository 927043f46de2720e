"""Normalization of images and volumes: ``BatchNorm2d`` / ``BatchNorm3d`` (``BatchNorm1d`` on
the flattened spatial dims), instance normalization (``F.instance_norm``,
``InstanceNorm1d/2d/3d``) and local response normalization (``F.local_response_norm``,
``LocalResponseNorm``)."""

from __future__ import annotations

import sys
import warnings

from .._engine import ShapeError, Tensor
from .._engine.dtypes import bfloat16, float16, float32
from . import init
from ._factory import parameter_dtype
from ._functional_args import check_reduced_kernel
from ._functional_misc import pad, preserve_layout
from .fold2d import _as_tensor, _rows
from .module import Module
from .normalization import (
    _affine_parameters,
    _BatchNorm,
    _NormBase,
    _reset_running_statistics,
    _running_statistics,
    _RunningStats,
    _TrackStats,
    batch_norm,
    layer_norm,
)
from .pooling2d import avg_pool2d

# torch.nn.functional: the layers call its functions as PyTorch's do, looked up when called
# (subclasses, function modes and programs that replace them see the calls). Read from
# sys.modules, as it imports this module (the package's __init__ loads it first).
F = sys.modules["deltagrad.nn.functional"]

__all__ = [
    "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
    "LocalResponseNorm", "SyncBatchNorm", "instance_norm", "local_response_norm",
]


class _SpatialBatchNorm(_BatchNorm):
    _dims = 4

    def forward(self, input):
        x = _as_tensor(input)
        if x.ndim != self._dims:
            raise ValueError(f"expected {self._dims}D input (got {x.ndim}D input) "
                             f"({type(self).__name__}: input of shape {list(x.shape)})")
        if not self._fused(x):
            return self._call_functional(x)
        # (the N-d input itself: one node, PyTorch's NativeBatchNormBackward0, where a reshape
        # to [N, C, L] and back added two view nodes; a channels-last input keeps its layout)
        return self._normalize(x)


class BatchNorm2d(_SpatialBatchNorm):
    """Batch normalization of ``[N, C, H, W]`` inputs, per channel over N, H and W (PyTorch's
    ``nn.BatchNorm2d``); arguments, buffers and modes as ``BatchNorm1d``.

    >>> import deltagrad as dg
    >>> norm = dg.nn.BatchNorm2d(3)
    >>> out = norm(dg.randn(4, 3, 5, 5))
    >>> sorted(norm.state_dict())
    ['bias', 'num_batches_tracked', 'running_mean', 'running_var', 'weight']
    """

    _dims = 4


class BatchNorm3d(_SpatialBatchNorm):
    """Batch normalization of ``[N, C, D, H, W]`` inputs (PyTorch's ``nn.BatchNorm3d``)."""

    _dims = 5


class SyncBatchNorm(_BatchNorm):
    """Batch normalization of ``[N, C, ...]`` inputs whose statistics PyTorch gathers across
    processes (``nn.SyncBatchNorm``). In one process (no process group of more than one rank)
    that is batch normalization over N and the spatial dims, which is what this computes; with
    an initialized group of several ranks the forward raises rather than normalizing each rank
    alone. Arguments as ``BatchNorm1d``, plus ``process_group`` (kept, not used).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 process_group=None, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats,
                         device=device, dtype=dtype, bias=bias)
        self.process_group = process_group

    def forward(self, input):
        x = _as_tensor(input)
        if x.ndim < 2:
            raise ValueError(f"expected at least 2D input (got {x.ndim}D input)")
        # (read from sys.modules: nn sits below distributed and must not import it)
        distributed = sys.modules.get("deltagrad.distributed")
        if (self.training and distributed is not None and distributed.is_initialized()
                and distributed.get_world_size(self.process_group) > 1):
            raise NotImplementedError("SyncBatchNorm across several processes is not "
                                      "supported by deltagrad")
        if not self._fused(x):
            return self._call_functional(x)
        return self._normalize(x)  # (any [N, C, ...] as it is, as _SpatialBatchNorm)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """``module`` with every ``_BatchNorm`` layer in it replaced by a ``SyncBatchNorm``
        holding the same parameters and running statistics (PyTorch's classmethod)."""
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            converted = cls(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats, process_group)
            for name in ("weight", "bias"):
                setattr(converted, name, getattr(module, name))
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                setattr(converted, name, getattr(module, name))
            converted.train(module.training)
            return converted
        for name, child in module.named_children():
            module.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return module


# ----------------------------------------------------------------------------------------------
# Instance normalization.


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats: bool = True, momentum: float = 0.1,
                  eps: float = 1e-5) -> Tensor:
    """Normalize each channel of each example over its spatial dims (``F.instance_norm``).

    Args:
        input: float ``[N, C, *spatial]``.
        running_mean, running_var: ``[C]`` tensors or None. With ``use_input_stats`` they are
            updated in place: ``(1 - momentum) running + momentum * (the batch's average of
            the instances' mean and unbiased variance)``.
        weight, bias: ``[C]`` affine parameters or None.
        use_input_stats: normalize by each instance's statistics (else by the running ones).
        momentum: the update factor of the running statistics.
        eps: added to the variance.

    Returns:
        The input's shape and dtype.
    """
    x = _as_tensor(input)
    if x.ndim < 3:
        raise ShapeError(f"instance_norm: expected an input of at least 3 dimensions [N, C, *], "
                         f"got shape {list(x.shape)}")
    size = x._data.shape  # (the array's: Tensor.shape builds a Size; see the number below)
    batch, channels = size[:2]
    for what, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (channels,):
            raise ShapeError(f"instance_norm: {what} of shape {list(t.shape)} should be "
                             f"[{channels}] for input of shape {list(x.shape)}")
    if batch == 0 and (weight is not None or bias is not None):
        # (PyTorch repeats the affine parameters N times and then selects the first copy)
        raise IndexError("select(): index 0 out of range for tensor of size [0] at dimension 0")
    if not use_input_stats:
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    if x.dtype in (bfloat16, float16) and any(
            t is not None and t.dtype == float32 for t in (weight, bias)):
        # PyTorch's mixed-type batch norm under its instance norm: bfloat16 / float16 input,
        # float32 parameters, computed in float32 and given in the input's dtype (was float32)
        return instance_norm(x.float(), running_mean, running_var, weight, bias, True,
                             momentum, eps).to(x.dtype)
    rows = _rows(x)
    count = rows.shape[2]
    if count == 1:  # (PyTorch's test: 0 spatial elements pass, and give an empty result)
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{list(x.shape)}")
    if x.numel() == 0:  # an empty result, as PyTorch's; its running statistics are kept
        # where the instances are empty, and become NaN (the mean over no instances) where
        # there are none (their version is not counted: a buffer, as the modules pass it)
        if batch == 0:
            for running in (running_mean, running_var):
                if running is not None:
                    running._data[...] = float("nan")
        shape = (1, channels) + (1,) * (x.ndim - 2)
        out = x * weight.reshape(shape) if weight is not None else x * 1
        return out + bias.reshape(shape) if bias is not None else out
    given = [t for t in (running_mean, running_var, weight, bias) if t is not None]
    if x.dtype in (bfloat16, float16) and all(t.dtype == x.dtype for t in given):
        return _half_instance_norm(x, running_mean, running_var, weight, bias, momentum, eps)
    if running_mean is not None or running_var is not None:  # (a node: replays update too)
        stats = _RunningStats(running_mean, running_var, None, momentum)
        rows = _TrackStats.apply(rows, stats=stats, instance=True)
    # (size, not x.shape: F.instance_norm forward under grad on [2, 3, 8, 8] 0.81-0.82 of its
    # time, s24 SP13, alternated in one process with the code before, 41 rounds)
    out = layer_norm(rows, (count,), eps=eps).reshape(size)
    shape = (1, channels) + (1,) * (len(size) - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _half_instance_norm(x, running_mean, running_var, weight, bias, momentum, eps) -> Tensor:
    """float16 / bfloat16 instance norm with parameters of the input's dtype, as PyTorch's:
    batch norm of ``[1, N C, L]`` with the parameters and running statistics repeated N times
    (its kernel rounds the statistics to the half dtype: the layer_norm route was up to 148
    bfloat16 ulps off), then each running statistic the mean of its N copies."""
    batch, channels = x.shape[:2]
    running = [None if t is None else t.detach().repeat(batch) for t in (running_mean,
                                                                            running_var)]
    affine = [None if t is None else t.repeat(batch) for t in (weight, bias)]
    out = batch_norm(x.reshape(1, batch * channels, -1), *running, *affine, True, momentum,
                     eps).reshape(x.shape)
    for target, copies in zip((running_mean, running_var), running):
        if target is not None:  # (PyTorch: running.copy_(copies.view(N, C).mean(0)))
            values = copies._data.reshape(batch, channels).astype("float32").mean(axis=0)
            target._data[...] = values.astype(target._data.dtype)
    return out


def _torch_instance_norm(input, weight, bias, running_mean, running_var,
                         use_input_stats: bool, momentum: float, eps: float,
                         cudnn_enabled: bool = False) -> Tensor:
    """``torch.instance_norm``: ``F.instance_norm`` with ATen's argument order."""
    return instance_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                         momentum, eps)


class _InstanceNorm(_NormBase):
    _spatial = 1

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        dtype = parameter_dtype(dtype, device, type(self).__name__)
        _affine_parameters(self, affine, bias, num_features, dtype)
        _running_statistics(self, track_running_stats, num_features, dtype)

    def reset_parameters(self) -> None:
        """Running statistics to 0 and 1, weight to ones, bias to zeros."""
        _reset_running_statistics(self)
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input) -> Tensor:
        x = _as_tensor(input)
        n = self._spatial
        if x.ndim not in (n + 1, n + 2):
            raise ValueError(f"expected {n + 1}D or {n + 2}D input (got {x.ndim}D input)")
        channel_dim = x.ndim - n - 1
        if x.shape[channel_dim] != self.num_features:
            if self.affine:
                raise ValueError(f"expected input's size at dim={channel_dim} to match "
                                 f"num_features ({self.num_features}), but got: "
                                 f"{x.shape[channel_dim]}.")
            # (PyTorch's warning, every call: PyTorch-GAN's MUNIT has InstanceNorm2d(64) on
            # other widths, PR25 s30)
            warnings.warn(f"input's size at dim={channel_dim} does not match num_features. You "
                          "can silence this warning by not passing in num_features, which is "
                          "not used because affine=False", stacklevel=2)
        batched = x.ndim == n + 2
        x = x if batched else x.unsqueeze(0)
        out = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                              self.training or not self.track_running_stats,
                              self.momentum if self.momentum is not None else 0.0, self.eps)
        return out if batched else out.squeeze(0)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of ``[N, C, L]`` (or ``[C, L]``) inputs (``nn.InstanceNorm1d``).

    Args:
        num_features: C.
        eps: added to the variance.
        momentum: the running statistics' update factor (None: 0).
        affine: learn per-channel ``weight`` (ones) and, if ``bias``, ``bias`` (zeros).
        track_running_stats: keep running statistics and use them in evaluation mode.
        dtype: the parameters' and statistics' dtype (float32 by default).
        bias: learn the additive ``bias`` (with ``affine``).
    """

    _spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of ``[N, C, H, W]`` (or ``[C, H, W]``) inputs
    (``nn.InstanceNorm2d``); arguments as ``InstanceNorm1d``."""

    _spatial = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization of ``[N, C, D, H, W]`` inputs (``nn.InstanceNorm3d``)."""

    _spatial = 3


# ----------------------------------------------------------------------------------------------
# Local response normalization.


def local_response_norm(input, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Divide each entry by a power of its neighbouring channels' mean square
    (``F.local_response_norm``): ``x / (k + alpha * mean over the size channels around c of
    x²)^beta``, the window running from ``c - size // 2`` to ``c + (size - 1) // 2`` with zeros
    past the ends.

    Args:
        input: ``[N, C, *]`` with at least one dim after C.
        size: the number of channels in each window.
        alpha, beta, k: the formula's constants.
    """
    x = _as_tensor(input)
    if x.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {x.ndim} dimensions)")
    if x.numel() == 0:
        return x
    if x.ndim > 3:  # (PyTorch pools these with avg_pool3d)
        check_reduced_kernel(x, "avg_pool3d_out_frame")
    batch, channels = x.shape[:2]
    # The channel windows as a (size, 1) average pool over [N, 1, C, rest], zero padded.
    squares = (x * x).reshape(batch, 1, channels, -1)
    squares = pad(squares, (0, 0, size // 2, (size - 1) // 2))
    mean = avg_pool2d(squares, (size, 1), stride=1).reshape(x.shape)
    # PyTorch's last step, input / div, is laid out by the input's strides (its TensorIterator
    # orders the dims by the first operand's), so a permuted input gives a permuted result.
    return preserve_layout(x / (mean * alpha + k).pow(beta), x._data)


class LocalResponseNorm(Module):
    """``local_response_norm`` as a layer (PyTorch's ``nn.LocalResponseNorm``)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75,
                 k: float = 1.0) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input) -> Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
