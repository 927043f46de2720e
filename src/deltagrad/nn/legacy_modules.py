"""PyTorch's legacy and deprecated nn modules: ``CrossMapLRN2d`` (Lua Torch's cross-channel
LRN, with its own forward recurrence and hand-written backward), ``NLLLoss2d`` (an alias of
``NLLLoss``) and ``Container`` (a Module built from keyword children)."""

from __future__ import annotations

import warnings

import numpy as np

from .._engine.api.creation import from_numpy
from .._engine.tensor import Tensor
from ..autograd import Function, is_grad_enabled
from .loss import NLLLoss
from .module import Module

__all__ = ["Container", "CrossMapLRN2d", "NLLLoss2d"]


def _window(channels: int, size: int) -> np.ndarray:
    """``[C, C]`` 0/1: which channels' squares enter each channel's scale.

    PyTorch's forward builds the scales by a running sum (add the channel ``pre_pad - 1``
    ahead, drop the one ``pre_pad`` behind, but only from channel ``pre_pad + 1`` on), so the
    window is not always centred: channel 0's square is never dropped. This replays it.
    """
    pre_pad = int((size - 1) / 2 + 1)
    member = np.zeros((channels, channels), dtype=bool)
    member[0, :min(pre_pad, channels)] = True
    for c in range(1, channels):
        member[c] = member[c - 1]
        if c < channels - pre_pad + 1:
            member[c, c + pre_pad - 1] = True
        if c > pre_pad:
            member[c, c - pre_pad] = False
    return member


class _CrossMapLRN(Function):
    @staticmethod
    def forward(ctx, input, *, size: int, alpha: float, beta: float, k: float):
        x = input._data
        channels = x.shape[1]
        member = _window(channels, size).astype(x.dtype)
        squares = x * x
        scale = np.einsum("cd,ndhw->nchw", member, squares) * x.dtype.type(alpha / size)
        scale += x.dtype.type(k)
        out = np.power(scale, x.dtype.type(-beta)) * x
        ctx.x, ctx.scale, ctx.out, ctx.size, ctx.alpha, ctx.beta = x, scale, out, size, alpha, beta
        return from_numpy(out)

    @staticmethod
    def backward(ctx, grad):
        # PyTorch's hand-written gradient (not the exact one of its forward: its window here
        # is centred): g s^-beta - 2 alpha beta / size * x * sum over the window of g out / s.
        if is_grad_enabled():  # create_graph=True: PyTorch's backward (out= ops) raises too
            raise RuntimeError(
                "CrossMapLRN2d: its backward is not differentiable (create_graph=True or a "
                "double backward); PyTorch raises: mul(): functions with out=... arguments "
                "don't support automatic differentiation, but one of the arguments requires "
                "grad.")
        g, x, scale, out, size = grad._data, ctx.x, ctx.scale, ctx.out, ctx.size
        dtype = x.dtype.type
        channels = x.shape[1]
        shift = int(size - (size - 1) / 2)
        if shift + channels > channels + size - 1 or size < 1:
            raise RuntimeError(f"CrossMapLRN2d: backward does not support size {size}")
        ratio = g * out / scale
        padded = np.zeros((x.shape[0], channels + size - 1) + x.shape[2:], dtype=x.dtype)
        padded[:, shift:shift + channels] = ratio
        running = np.cumsum(padded, axis=1)
        running = np.concatenate([np.zeros_like(running[:, :1]), running], axis=1)
        window = running[:, size:size + channels] - running[:, :channels]  # [c, c + size)
        d_input = np.power(scale, dtype(-ctx.beta)) * g
        d_input -= dtype(2 * ctx.alpha * ctx.beta / size) * x * window
        return (d_input,)


class CrossMapLRN2d(Module):
    """Lua Torch's cross-channel local response normalization of ``[N, C, H, W]`` inputs:
    ``x / (k + alpha / size * sum of x^2 over nearby channels) ** beta`` (PyTorch's
    ``nn.CrossMapLRN2d``, its forward window and its backward; no double backward).

    Args:
        size: channels in the window.
        alpha, beta, k: the formula's constants.
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        if input.dim() != 4:
            raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.dim()}D "
                             "instead.")
        return _CrossMapLRN.apply(input, size=self.size, alpha=self.alpha, beta=self.beta,
                                  k=self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class NLLLoss2d(NLLLoss):
    """Deprecated alias of ``NLLLoss`` (PyTorch warns, FutureWarning)."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean") -> None:
        warnings.warn("`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a "
                      "drop-in replacement and see https://pytorch.org/docs/main/nn.html#"
                      "torch.nn.NLLLoss for more details.", FutureWarning, stacklevel=2)
        super().__init__(weight, size_average, ignore_index, reduce, reduction)


class Container(Module):
    """Deprecated: a Module whose children are the keyword arguments (PyTorch warns)."""

    def __init__(self, **kwargs) -> None:
        warnings.warn("`nn.Container` is deprecated. All of its functionality is now "
                      "implemented in `nn.Module`. Subclass that instead.", FutureWarning,
                      stacklevel=2)
        super().__init__()
        for key, value in kwargs.items():
            self.add_module(key, value)
