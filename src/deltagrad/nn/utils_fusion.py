"""Folding an eval-mode batch norm into the convolution or linear layer before it (PyTorch's
``torch.nn.utils.fusion``): one layer computing ``bn(layer(x))`` with the running statistics.

With ``s = bn.weight / sqrt(running_var + eps)`` per output channel, the fused weight is the
layer's weight scaled by ``s`` along its output channels and the fused bias is
``(bias - running_mean) * s + bn.bias``.
"""

from __future__ import annotations

import copy

from .. import _engine as dg
from .._engine.tensor import Tensor
from .module import Module, Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
           "fuse_linear_bn_weights"]


def _check_eval(layer: Module, bn: Module) -> None:
    if layer.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("the batch norm has no running statistics to fuse")


def fuse_conv_bn_weights(conv_w: Tensor, conv_b: Tensor | None, bn_rm: Tensor, bn_rv: Tensor,
                         bn_eps: float, bn_w: Tensor | None, bn_b: Tensor | None,
                         transpose: bool = False) -> tuple[Parameter, Parameter]:
    """The weight and bias (new Parameters) of a convolution fused with a batch norm.

    Args:
        conv_w: the convolution's weight, ``(out, in/groups, *kernel)`` (``(in, out/groups,
            *kernel)`` for a transposed convolution, with ``transpose=True``).
        conv_b: its bias ``(out,)`` or None.
        bn_rm, bn_rv: the running mean and variance ``(out,)``; bn_eps: the norm's eps.
        bn_w, bn_b: the affine weight and bias ``(out,)``, or None (ones and zeros).

    Returns:
        ``(weight, bias)`` in the dtypes of ``conv_w`` and ``conv_b``; each requires grad as
        the convolution's does (the bias as ``conv_b``'s, False when it was None).
    """
    weight_dtype = conv_w.dtype
    bias_dtype = conv_b.dtype if conv_b is not None else weight_dtype
    conv_b = dg.zeros_like(bn_rm) if conv_b is None else conv_b
    bn_w = dg.ones_like(bn_rm) if bn_w is None else bn_w
    bn_b = dg.zeros_like(bn_rm) if bn_b is None else bn_b
    inv_std = dg.rsqrt(bn_rv + bn_eps)
    channel_shape = [1, -1] if transpose else [-1, 1]
    channel_shape += [1] * (conv_w.dim() - 2)
    with dg.no_grad():
        weight = (conv_w * (bn_w * inv_std).reshape(channel_shape)).to(dtype=weight_dtype)
        bias = ((conv_b - bn_rm) * inv_std * bn_w + bn_b).to(dtype=bias_dtype)
    return Parameter(weight, conv_w.requires_grad), Parameter(bias, conv_b.requires_grad)


def fuse_conv_bn_eval(conv: Module, bn: Module, transpose: bool = False) -> Module:
    """A copy of ``conv`` (eval mode) computing ``bn(conv(x))`` of the eval-mode ``bn``.

    Raises:
        AssertionError: if either module is in training mode (as PyTorch).
    """
    _check_eval(conv, bn)
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(fused.weight, fused.bias, bn.running_mean,
                                                    bn.running_var, bn.eps, bn.weight, bn.bias,
                                                    transpose)
    return fused


def fuse_linear_bn_weights(linear_w: Tensor, linear_b: Tensor | None, bn_rm: Tensor,
                           bn_rv: Tensor, bn_eps: float, bn_w: Tensor,
                           bn_b: Tensor) -> tuple[Parameter, Parameter]:
    """The weight ``(out, in)`` and bias ``(out,)`` (new Parameters) of a linear layer fused
    with the batch norm after it (``bn_*`` of shape ``(out,)`` or ``(1,)``)."""
    weight_dtype = linear_w.dtype
    bias_dtype = linear_b.dtype if linear_b is not None else weight_dtype
    linear_b = dg.zeros_like(bn_rm) if linear_b is None else linear_b
    with dg.no_grad():
        scale = bn_w * dg.rsqrt(bn_rv + bn_eps)
        weight = linear_w * scale.unsqueeze(-1).to(dtype=weight_dtype)
        bias = ((linear_b - bn_rm) * scale + bn_b).to(dtype=bias_dtype)
    return Parameter(weight, linear_w.requires_grad), Parameter(bias, linear_b.requires_grad)


def fuse_linear_bn_eval(linear: Module, bn: Module) -> Module:
    """A copy of ``linear`` (eval mode) computing ``bn(linear(x))`` of the eval-mode ``bn``.

    Raises:
        AssertionError: if either module is training, or ``bn.num_features`` is neither
            ``linear.out_features`` nor 1 (as PyTorch).
    """
    _check_eval(linear, bn)
    if not (linear.out_features == bn.num_features or bn.num_features == 1):
        raise AssertionError("To fuse, linear.out_features == bn.num_features or "
                             "bn.num_features == 1")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(fused.weight, fused.bias, bn.running_mean,
                                                      bn.running_var, bn.eps, bn.weight, bn.bias)
    return fused
