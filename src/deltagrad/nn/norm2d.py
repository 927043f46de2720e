"""Normalization of images and volumes: ``BatchNorm2d`` / ``BatchNorm3d`` (``BatchNorm1d`` on
the flattened spatial dims), instance normalization (``F.instance_norm``,
``InstanceNorm1d/2d/3d``) and local response normalization (``F.local_response_norm``,
``LocalResponseNorm``)."""

from __future__ import annotations

import numpy as np

from .._engine import ShapeError, Tensor, buffers, is_grad_enabled
from .._engine.api.creation import from_numpy
from ..autograd import Function
from . import init
from ._factory import parameter_dtype
from ._functional_misc import pad
from .fold2d import _as_tensor, _rows
from .module import Module
from .normalization import (
    _affine_parameters,
    _BatchNorm,
    _reset_running_statistics,
    _running_statistics,
    batch_norm,
    layer_norm,
)
from .pooling2d import avg_pool2d

__all__ = [
    "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
    "LocalResponseNorm", "instance_norm", "local_response_norm",
]


# Elementwise passes run over blocks of examples of about this many entries (2 MB of float32
# at most is L2-resident here): four passes over a [64, 16, 784] float32 gradient take 0.9 ms
# blocked against 2.4 ms over whole arrays (fresh memory and cache misses on each pass).
_BLOCK = 1 << 17


def _blocks(batch: int, per_example: int):
    step = max(1, _BLOCK // max(per_example, 1))
    return [slice(start, start + step) for start in range(0, batch, step)]


def _channel_sums(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Per-channel float64 sums of ``a`` (or of ``a * b``) over ``[n, C, L]``: BLAS dot
    products along L, then a float64 sum over the examples."""
    rows = np.vecdot(a, b) if b is not None else np.vecdot(a, np.ones(a.shape[2], a.dtype))
    return rows.sum(axis=0, dtype=np.float64)


class _BatchNormTrain(Function):
    """Training-mode batch normalization of ``[N, C, L]`` as one node: y = (x - mean) w rstd
    + b per channel, mean and biased variance over (N, L). The running statistics are updated
    inside the forward. Fused so that the step makes a few blocked passes instead of the
    composite's dozen whole-array ones: BatchNorm2d(16) forward + backward on [64, 16, 28, 28]
    float32, 8.4 -> 3.5 ms (torch 2.4 ms); the W6 CNN step 0.80 of its time (one thread,
    alternated, thread time)."""

    @staticmethod
    def forward(ctx, x, *affine, has_weight, eps, running, factor):
        xs = np.ascontiguousarray(x.numpy())
        batch, channels, length = xs.shape
        count = batch * length
        blocks = _blocks(batch, channels * length)
        mean64 = _channel_sums(xs) / count
        mean = mean64.astype(xs.dtype)[:, None]
        scratch = np.empty((min(batch, blocks[0].stop),) + xs.shape[1:], xs.dtype)
        squares = np.zeros(channels)
        for part in blocks:
            centred = scratch[:xs[part].shape[0]]
            np.subtract(xs[part], mean, out=centred)
            squares += _channel_sums(centred, centred)
        var64 = squares / count
        rstd64 = 1.0 / np.sqrt(var64 + eps)
        weight = affine[0].numpy() if has_weight else None
        bias = affine[-1].numpy() if len(affine) > has_weight else None
        # y = x alpha + beta, alpha = w rstd, beta = b - mean alpha: PyTorch's own form (two
        # passes where (x - mean) alpha + b takes three: 0.69 -> 0.45 ms on [64, 16, 784]).
        alpha64 = rstd64 * weight if weight is not None else rstd64
        beta64 = -mean64 * alpha64 + (bias if bias is not None else 0.0)
        alpha = alpha64.astype(xs.dtype)[:, None]
        beta = beta64.astype(xs.dtype)[:, None]
        y = buffers.empty(xs.shape, xs.dtype)
        for part in blocks:
            out = y[part]
            np.multiply(xs[part], alpha, out=out)
            out += beta
        for statistic, value in zip(running, (mean64, var64 * (count / (count - 1)))):
            if statistic is not None:
                array = statistic.detach().numpy()
                array *= 1.0 - factor
                array += (factor * value).astype(array.dtype, copy=False)
        ctx.save_for_backward(x, *affine)
        ctx.stats = (mean, rstd64, has_weight, eps)
        return from_numpy(y)

    @staticmethod
    def backward(ctx, grad):
        x, *affine = ctx.saved_tensors
        mean, rstd64, has_weight, eps = ctx.stats
        needs = ctx.needs_input_grad
        if is_grad_enabled():  # a recorded backward (create_graph): differentiable ops only
            return _batch_norm_backward_recorded(x, affine, has_weight, grad, eps, needs)
        xs = np.ascontiguousarray(x.numpy())
        g = np.ascontiguousarray(grad.numpy())
        batch, channels, length = xs.shape
        count = batch * length
        blocks = _blocks(batch, channels * length)
        scratch = np.empty((min(batch, blocks[0].stop),) + xs.shape[1:], xs.dtype)
        # The centred input is written where dx goes and turned into dx block by block (one
        # pass fewer than centring it again: forward + backward 3.47 -> 3.28 ms on the shape
        # above, thread time).
        dx = buffers.empty(xs.shape, xs.dtype)
        sum_g, sum_gc = np.zeros(channels), np.zeros(channels)
        for part in blocks:
            centred = dx[part]
            np.subtract(xs[part], mean, out=centred)
            sum_g += _channel_sums(g[part])
            sum_gc += _channel_sums(g[part], centred)
        grads = [None] * len(needs)
        if has_weight and needs[1]:
            grads[1] = (sum_gc * rstd64).astype(xs.dtype)
        if len(affine) > has_weight and needs[-1]:
            grads[-1] = sum_g.astype(xs.dtype)
        if needs[0]:
            # dx = w rstd (g - mean(g) - xhat mean(g xhat)), xhat = (x - mean) rstd.
            w64 = affine[0].numpy().astype(np.float64) if has_weight else 1.0
            k_g = w64 * rstd64
            k_c = (-k_g * rstd64 * rstd64 * sum_gc / count).astype(xs.dtype)[:, None]
            k_1 = (-k_g * sum_g / count).astype(xs.dtype)[:, None]
            k_g = np.broadcast_to(k_g, (channels,)).astype(xs.dtype)[:, None]
            for part in blocks:
                out = dx[part]
                out *= k_c
                scaled = scratch[:out.shape[0]]
                np.multiply(g[part], k_g, out=scaled)
                out += scaled
                out += k_1
            grads[0] = dx
        else:
            buffers.give(dx)
        return tuple(grads)


def _batch_norm_backward_recorded(x, affine, has_weight, grad, eps, needs) -> tuple:
    """``_BatchNormTrain``'s gradients written with deltagrad ops (double backward)."""
    dims = (0, 2)
    mean = x.mean(dim=dims, keepdim=True)
    centred = x - mean
    rstd = ((centred * centred).mean(dim=dims, keepdim=True) + eps).rsqrt()
    xhat = centred * rstd
    grads = [None] * len(needs)
    if has_weight and needs[1]:
        grads[1] = (grad * xhat).sum(dim=dims)
    if len(affine) > has_weight and needs[-1]:
        grads[-1] = grad.sum(dim=dims)
    if needs[0]:
        scaled = grad * affine[0].reshape(1, -1, 1) if has_weight else grad
        grads[0] = rstd * (scaled - scaled.mean(dim=dims, keepdim=True)
                           - xhat * (scaled * xhat).mean(dim=dims, keepdim=True))
    return tuple(grads)


class _SpatialBatchNorm(_BatchNorm):
    _dims = 4

    def forward(self, input):
        x = _as_tensor(input)
        if x.ndim != self._dims:
            raise ValueError(f"{type(self).__name__}: expected {self._dims}D input (got "
                             f"{x.ndim}D input of shape {list(x.shape)})")
        # Per-channel statistics over (N, *spatial) are those of [N, C, prod(spatial)].
        flat = _rows(x)
        if self._fused(flat):
            return self._normalize_fused(flat).reshape(x.shape)
        return self._normalize(flat).reshape(x.shape)

    def _fused(self, x: Tensor) -> bool:
        """Whether ``_BatchNormTrain`` computes this call (batch statistics of float32/64
        with parameters of the same dtype); anything else takes ``batch_norm``'s path."""
        if not (self.training or self.running_mean is None):
            return False
        if x.dtype not in (np.float32, np.float64) or x.shape[0] * x.shape[2] <= 1:
            return False
        return all(t is None or (t.dtype == x.dtype and tuple(t.shape) == (x.shape[1],))
                   for t in (self.weight, self.bias, self.running_mean, self.running_var))

    def _normalize_fused(self, x: Tensor) -> Tensor:
        """``_BatchNorm._normalize`` in training mode, through ``_BatchNormTrain``."""
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.detach().numpy()[...] += 1
            if self.momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked.item())
        affine = [t for t in (self.weight, self.bias) if t is not None]
        return _BatchNormTrain.apply(x, *affine, has_weight=self.weight is not None,
                                     eps=self.eps, running=(self.running_mean, self.running_var),
                                     factor=float(momentum))


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
    batch, channels = x.shape[:2]
    for what, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (channels,):
            raise ShapeError(f"instance_norm: {what} of shape {list(t.shape)} should be "
                             f"[{channels}] for input of shape {list(x.shape)}")
    if not use_input_stats:
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    rows = _rows(x)
    count = rows.shape[2]
    if count <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{list(x.shape)}")
    out = layer_norm(rows, (count,), eps=eps).reshape(x.shape)
    if running_mean is not None or running_var is not None:
        values = rows.detach().numpy()
        means = values.mean(axis=2).mean(axis=0)
        variances = values.var(axis=2, ddof=1).mean(axis=0)
        for running, value in ((running_mean, means), (running_var, variances)):
            if running is not None:
                array = running.detach().numpy()
                array *= 1.0 - momentum
                array += (momentum * value).astype(array.dtype, copy=False)
    shape = (1, channels) + (1,) * (x.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _torch_instance_norm(input, weight, bias, running_mean, running_var,
                         use_input_stats: bool, momentum: float, eps: float,
                         cudnn_enabled: bool = False) -> Tensor:
    """``torch.instance_norm``: ``F.instance_norm`` with ATen's argument order."""
    return instance_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                         momentum, eps)


class _InstanceNorm(Module):
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
        if x.shape[channel_dim] != self.num_features and self.affine:
            raise ValueError(f"expected input's size at dim={channel_dim} to match num_features "
                             f"({self.num_features}), but got: {x.shape[channel_dim]}.")
        batched = x.ndim == n + 2
        x = x if batched else x.unsqueeze(0)
        out = instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
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
    batch, channels = x.shape[:2]
    # The channel windows as a (size, 1) average pool over [N, 1, C, rest], zero padded.
    squares = (x * x).reshape(batch, 1, channels, -1)
    squares = pad(squares, (0, 0, size // 2, (size - 1) // 2))
    mean = avg_pool2d(squares, (size, 1), stride=1).reshape(x.shape)
    return x / (mean * alpha + k).pow(beta)


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
        return local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
