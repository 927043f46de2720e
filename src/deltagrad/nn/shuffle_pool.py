"""Rearranging and pooling layers composed from existing ops: pixel and channel shuffles,
power-average pooling (``lp_pool1d``), ``gumbel_softmax``, the ``*_with_indices`` pooling
forms, and their Modules (PixelShuffle, PixelUnshuffle, ChannelShuffle, LPPool1d), plus
``DataParallel``, which on the CPU runs its module as it is (as PyTorch's without GPUs)."""

from __future__ import annotations

import sys

import numpy as np

from .._engine import stream
from .._engine.api.pointwise import _t
from .._engine.random import numpy_generator, torch_source
from .._engine.tensor import Tensor
from ._functional_activations import relu, softmax
from ._functional_args import ArgTypeError, check_int
from ._functional_misc import keep_channels_last, suggests_channels_last
from .conv import adaptive_max_pool1d, avg_pool1d, max_pool1d
from .module import Module

# torch.nn.functional: the layers call its functions as PyTorch's do, looked up when called
# (subclasses, function modes and programs that replace them see the calls). Read from
# sys.modules, as it imports this module (the package's __init__ loads it first).
F = sys.modules["deltagrad.nn.functional"]

__all__ = [
    "ChannelShuffle", "DataParallel", "LPPool1d", "PixelShuffle", "PixelUnshuffle",
    "adaptive_max_pool1d_with_indices", "channel_shuffle", "gumbel_softmax", "lp_pool1d",
    "max_pool1d_with_indices", "pixel_shuffle", "pixel_unshuffle",
]


# ----------------------------------------------------------------------------------------------
# Shuffles: reshape, permute, reshape (views and a transpose, so gradients come for free).
# PyTorch's results are new tensors, row-major or, for a channels-last image, channels-last.


def _shuffled(out: Tensor, x: Tensor, name: str) -> Tensor:
    """``out``, the shuffle of ``x``, as PyTorch's: never sharing ``x``'s memory (a factor of
    1 reshapes to a view), laid out as PyTorch lays it out."""
    if x._data.ndim == 5 and name != "channel_shuffle" and suggests_channels_last(x._data):
        raise RuntimeError("Unsupported memory format. Supports only ChannelsLast, Contiguous")
    if np.may_share_memory(out._data, x._data):
        out._data = out._data.copy()  # (a node's fresh array: the view is one no longer)
    return keep_channels_last(out, x._data)


def pixel_shuffle(input, upscale_factor: int) -> Tensor:
    """``[*, C r², H, W] -> [*, C, H r, W r]``: depth into space (sub-pixel convolution).

    Raises:
        RuntimeError: for fewer than 3 dims or channels not divisible by ``r²``.
    """
    x = _t(input)
    r = check_int(upscale_factor, "upscale_factor", "pixel_shuffle")  # (a float: TypeError)
    if x.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {x.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *batch, channels, height, width = x.shape
    if channels % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)="
                           f"{channels} is not divisible by {r * r}")
    lead = len(batch)
    out = x.reshape(*batch, channels // (r * r), r, r, height, width)
    out = out.permute(*range(lead), lead, lead + 3, lead + 1, lead + 4, lead + 2)
    return _shuffled(out.reshape(*batch, channels // (r * r), height * r, width * r), x,
                     "pixel_shuffle")


def pixel_unshuffle(input, downscale_factor: int) -> Tensor:
    """``[*, C, H r, W r] -> [*, C r², H, W]``: the inverse of ``pixel_shuffle``.

    Raises:
        RuntimeError: for fewer than 3 dims or sizes not divisible by ``r``.
    """
    x = _t(input)
    r = check_int(downscale_factor, "downscale_factor", "pixel_unshuffle")
    if x.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {x.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *batch, channels, height, width = x.shape
    if height % r or width % r:
        raise RuntimeError(f"pixel_unshuffle expects height ({height}) and width ({width}) to "
                           f"be divisible by downscale_factor ({r})")
    lead = len(batch)
    out = x.reshape(*batch, channels, height // r, r, width // r, r)
    out = out.permute(*range(lead), lead, lead + 2, lead + 4, lead + 1, lead + 3)
    return _shuffled(out.reshape(*batch, channels * r * r, height // r, width // r), x,
                     "pixel_unshuffle")


def channel_shuffle(input, groups: int) -> Tensor:
    """``[N, C, *]`` with its channels regrouped: channel ``g * (C / groups) + k`` moves to
    ``k * groups + g`` (ShuffleNet).

    Raises:
        RuntimeError: for fewer than 3 dims, ``groups`` <= 0, or C not divisible by it.
    """
    x = _t(input)
    if isinstance(groups, Tensor) and groups.ndim == 0 and groups.dtype.kind == "b":
        # (PyTorch's SymInt parser fails an internal assert on it: a RuntimeError)
        raise ArgTypeError("channel_shuffle(): argument 'groups' must be int, not a bool tensor")
    groups = check_int(groups, "groups", "channel_shuffle", symbolic=True)
    if x.ndim < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but "
                           f"got input with {x.ndim} dimension(s)")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value "
                           f"of groups:{groups}")
    batch, channels, *rest = x.shape
    if channels % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {channels} "
                           f"channels and {groups} groups.")
    out = x.reshape(batch, groups, channels // groups, *rest).transpose(1, 2)
    return _shuffled(out.reshape(batch, channels, *rest), x, "channel_shuffle")


# ----------------------------------------------------------------------------------------------
# Pooling forms.


def lp_pool1d(input, norm_type: float, kernel_size: int, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """Power-average pooling over ``[N, C, L]`` (or ``[C, L]``): ``(sum over the window of
    x^p)^(1/p)``, computed as PyTorch's (an average times the window size; negative sums of
    odd powers give 0 before the root).

    Args:
        input: ``[N, C, L]`` or ``[C, L]``.
        norm_type: p.
        kernel_size: the window length.
        stride: the step (default: the window length).
        ceil_mode: keep a last, partial window.
    """
    kernel = kernel_size[0] if isinstance(kernel_size, (tuple, list)) else kernel_size
    x = _t(input)
    if isinstance(norm_type, (int, float)) and abs(norm_type) == float("inf"):
        # PyTorch 2.13: the max (min) of |x| over each window (was inf ** 0 = 1: SL25)
        if norm_type > 0:
            return max_pool1d(x.abs(), kernel_size, stride, 0, 1, ceil_mode)
        return -max_pool1d(-x.abs(), kernel_size, stride, 0, 1, ceil_mode)
    out = avg_pool1d(x.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * relu(out.abs())).mul(kernel).pow(1.0 / norm_type)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """``nn.functional.max_pool1d`` that always returns ``(maxima, indices)``."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode,
                        return_indices=True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices: bool = False):
    """``nn.functional.adaptive_max_pool1d`` that always returns ``(maxima, indices)``."""
    return adaptive_max_pool1d(input, output_size, return_indices=True)


# ----------------------------------------------------------------------------------------------
# Gumbel-softmax.


def gumbel_softmax(logits, tau: float = 1.0, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """A differentiable sample from the categorical law ``softmax(logits)``: the softmax of
    ``(logits + g) / tau`` with Gumbel noise ``g`` (drawn from the default generator).

    Args:
        logits: unnormalised log-probabilities, ``[*, num_features]``.
        tau: the temperature (> 0).
        hard: return one-hot vectors in value, with the soft sample's gradient
            (straight-through).
        eps: unused, as in PyTorch (kept for its signature).
        dim: the categories' dim.

    Returns:
        A tensor of ``logits``' shape.
    """
    x = _t(logits)
    # -log(Exponential(1)) is Gumbel(0, 1).
    source = torch_source(None)
    noise = (-np.log(stream.exponential(source._bits, tuple(x.shape), np.dtype(x.dtype)))
             if source is not None  # PyTorch's draws, and its log in the logits' precision
             else -np.log(numpy_generator(None).standard_exponential(x.shape)))
    gumbels = (x + Tensor(noise, dtype=x.dtype)) / tau
    soft = softmax(gumbels, dim)
    if not hard:
        return soft
    index = soft.detach().argmax(dim, keepdim=True)
    one_hot = soft.detach().new_zeros(soft.shape).scatter(dim, index, 1.0)
    return one_hot - soft.detach() + soft


# ----------------------------------------------------------------------------------------------
# Modules.


class PixelShuffle(Module):
    """``pixel_shuffle`` as a layer: ``[*, C r², H, W] -> [*, C, H r, W r]``."""

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """``pixel_unshuffle`` as a layer: ``[*, C, H r, W r] -> [*, C r², H, W]``."""

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    """``channel_shuffle`` as a layer."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class LPPool1d(Module):
    """``lp_pool1d`` as a layer: ``[N, C, L]`` (or ``[C, L]``) -> ``[N, C, L_out]``."""

    def __init__(self, norm_type: float, kernel_size: int, stride=None,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        return F.lp_pool1d(input, float(self.norm_type), self.kernel_size, self.stride,
                           self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class DataParallel(Module):
    """PyTorch's single-process multi-GPU wrapper. Without GPUs PyTorch's runs ``module`` as
    it is, and so does this one (``device_ids`` end up empty); the state dict's keys get the
    ``module.`` prefix, as PyTorch's. For several processes use ``DistributedDataParallel``.

    Args:
        module: the model.
        device_ids, output_device, dim: PyTorch's GPU options, ignored on the CPU.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0):
        super().__init__()
        self.module = module
        self.device_ids: list = []
        self.output_device = None
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
