"""PyTorch's top-level ATen entries that sit under its nn functions (``torch.convolution``,
``torch.grid_sampler``, ``torch.native_group_norm``, ``torch.native_channel_shuffle``,
``torch.conv_tbc``: these two are defined in ``functional``, as PyTorch's ``F`` has them)
and the ``torch.batch_norm_*`` kernels SyncBatchNorm-style code calls.

Each is written from the nn functions, so values and gradients are theirs. Of the
``batch_norm_*`` kernels PyTorch's CPU build runs only ``batch_norm_update_stats``; the others
are CUDA kernels that raise ``NotImplementedError`` on a CPU tensor there, and do so here.
"""

from __future__ import annotations

import numpy as np

from .._engine import Tensor
from . import functional as F
from .functional import conv_tbc, native_channel_shuffle
from .normalization import _RunningStats

__all__ = ["batch_norm_backward_elemt", "batch_norm_backward_reduce", "batch_norm_elemt",
           "batch_norm_gather_stats", "batch_norm_gather_stats_with_counts", "batch_norm_stats",
           "batch_norm_update_stats", "conv_tbc", "convolution", "grid_sampler",
           "grid_sampler_2d", "grid_sampler_3d", "native_channel_shuffle", "native_group_norm"]

_INTERPOLATION = ("bilinear", "nearest", "bicubic")  # PyTorch's GridSamplerInterpolation
_PADDING = ("zeros", "border", "reflection")  # PyTorch's GridSamplerPadding


def convolution(input, weight, bias, stride, padding, dilation, transposed: bool,
                output_padding, groups: int):
    """ATen's ``convolution``: ``conv{1,2,3}d`` or, ``transposed``, ``conv_transpose{1,2,3}d``
    by the input's spatial rank (the weight's layout as theirs)."""
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError("convolution(): argument 'input' and 'weight' must be Tensor")
    rank = weight.ndim - 2
    if rank not in (1, 2, 3):
        raise RuntimeError(f"convolution: expected a weight of 3, 4 or 5 dimensions, got "
                           f"{weight.ndim}-dimensional weight of size {list(weight.shape)}")
    if transposed:
        conv = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[rank - 1]
        return conv(input, weight, bias, stride, padding, output_padding, groups, dilation)
    conv = (F.conv1d, F.conv2d, F.conv3d)[rank - 1]
    return conv(input, weight, bias, stride, padding, dilation, groups)


def _grid_sampler(name: str, input, grid, interpolation_mode: int, padding_mode: int,
                  align_corners: bool, ndim: int | None):
    if ndim is not None and input.ndim != ndim:
        raise RuntimeError(f"{name}(): expected {ndim}D input and grid with same number of "
                           f"dimensions, but got input with sizes {list(input.shape)} and grid "
                           f"with sizes {list(grid.shape)}")
    if not 0 <= int(interpolation_mode) < len(_INTERPOLATION):
        raise RuntimeError(f"{name}(): unknown interpolation mode {interpolation_mode}")
    if not 0 <= int(padding_mode) < len(_PADDING):
        raise RuntimeError(f"{name}(): unknown padding mode {padding_mode}")
    return F.grid_sample(input, grid, _INTERPOLATION[int(interpolation_mode)],
                         _PADDING[int(padding_mode)], bool(align_corners))


def grid_sampler(input, grid, interpolation_mode: int, padding_mode: int,
                 align_corners: bool):
    """ATen's ``grid_sampler``: ``F.grid_sample`` with the modes as PyTorch's enum numbers
    (interpolation 0 bilinear, 1 nearest, 2 bicubic; padding 0 zeros, 1 border,
    2 reflection)."""
    return _grid_sampler("grid_sampler", input, grid, interpolation_mode, padding_mode,
                         align_corners, None)


def grid_sampler_2d(input, grid, interpolation_mode: int, padding_mode: int,
                    align_corners: bool):
    """``grid_sampler`` of a 4-d input."""
    return _grid_sampler("grid_sampler_2d", input, grid, interpolation_mode, padding_mode,
                         align_corners, 4)


def grid_sampler_3d(input, grid, interpolation_mode: int, padding_mode: int,
                    align_corners: bool):
    """``grid_sampler`` of a 5-d input."""
    return _grid_sampler("grid_sampler_3d", input, grid, interpolation_mode, padding_mode,
                         align_corners, 5)


def native_group_norm(input, weight, bias, N: int, C: int, HxW: int, group: int,  # noqa: N803
                      eps: float):
    """ATen's ``native_group_norm``: ``(out, mean, rstd)``, ``out`` as ``F.group_norm``'s and
    the per-(sample, group) mean and 1 / sqrt(biased variance + eps), each [N, group]."""
    if input.numel() != N * C * HxW:
        raise RuntimeError(f"Expected input to have {N * C * HxW} elements (N={N}, C={C}, "
                           f"HxW={HxW}), got {input.numel()}")
    if group <= 0 or C % group:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={group}")
    out = F.group_norm(input, group, weight, bias, eps)
    grouped = input.reshape(N, group, -1)
    mean = grouped.mean(-1)
    rstd = (grouped.var(-1, unbiased=False) + eps).rsqrt()
    return out, mean, rstd


def batch_norm_update_stats(input, running_mean, running_var, momentum: float):
    """The batch's per-channel mean and biased variance over every dimension but 1, and the
    running statistics (when given) updated in place as ``BatchNorm``'s training step does
    (PyTorch's CPU order: the variance folded in unbiased)."""
    if input.ndim < 2:
        raise RuntimeError(f"batch_norm_update_stats: expected 2D or more input (got "
                           f"{input.ndim}D input)")
    dims = (0, *range(2, input.ndim))
    mean = input.mean(dims)
    var = input.var(dims, unbiased=False)
    if running_mean is not None or running_var is not None:
        n = input.numel() // input.shape[1]
        x = np.asarray(input.detach().numpy(), dtype=np.float64)
        centred = x - x.mean(dims, keepdims=True)
        var_sum = (centred * centred).sum(dims)  # (float64, rounded once by update_batch)
        _RunningStats(running_mean, running_var, None, float(momentum)).update_batch(
            np.asarray(mean.detach().numpy()), var_sum, n)
    return mean, var


def _cuda_only(name: str):
    def kernel(*args, **kwargs):
        raise NotImplementedError(
            f"Could not run 'aten::{name}' with arguments from the 'CPU' backend: PyTorch "
            "has only a CUDA kernel for it (deltagrad runs on the CPU)")

    kernel.__name__ = kernel.__qualname__ = name
    kernel.__doc__ = (f"PyTorch's CUDA-only ``{name}`` (SyncBatchNorm's kernel): raises "
                      "NotImplementedError on CPU tensors, as PyTorch's CPU build does.")
    return kernel


batch_norm_stats = _cuda_only("batch_norm_stats")
batch_norm_elemt = _cuda_only("batch_norm_elemt")
batch_norm_gather_stats = _cuda_only("batch_norm_gather_stats")
batch_norm_gather_stats_with_counts = _cuda_only("batch_norm_gather_stats_with_counts")
batch_norm_backward_reduce = _cuda_only("batch_norm_backward_reduce")
batch_norm_backward_elemt = _cuda_only("batch_norm_backward_elemt")
