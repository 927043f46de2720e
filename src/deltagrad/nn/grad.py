"""``nn.grad``: the gradients of a convolution with respect to its input and to its weight,
as functions (``conv2d_input(input_size, weight, grad_output, ...)``).

A convolution is linear in each of its two arguments, so each gradient is the vector-Jacobian
product of the convolution at any point, here a zero tensor of the wanted size: autograd
computes it with the convolution's own backward, and it is differentiable in turn (the
backward of a backward) when ``weight`` / ``input`` / ``grad_output`` require grad.
"""

from __future__ import annotations

from .. import autograd
from .._engine.api.creation import zeros
from .._engine.modes import enable_grad
from . import functional as F

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input",
           "conv3d_weight"]


def _grad(conv, wrt_input: bool, known, size, grad_output, stride, padding, dilation, groups):
    size = tuple(size)
    at = zeros(size, dtype=known.dtype, requires_grad=True)
    with enable_grad():
        out = (conv(at, known, None, stride, padding, dilation, groups) if wrt_input
               else conv(known, at, None, stride, padding, dilation, groups))
        if tuple(out.shape) != tuple(grad_output.shape):
            raise RuntimeError(f"{conv.__name__} gradient: grad_output has shape "
                               f"{tuple(grad_output.shape)} but the convolution of "
                               f"{'input' if wrt_input else 'weight'} size {size} gives "
                               f"{tuple(out.shape)}")
        higher = known._rg or grad_output._rg  # (_rg: forward AD's duals too; s31 BR26)
        (grad,) = autograd.grad(out, at, grad_output, create_graph=higher)
    return grad


def conv1d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of ``conv1d(input, weight)`` with respect to an input of ``input_size``."""
    return _grad(F.conv1d, True, weight, input_size, grad_output, stride, padding, dilation,
                 groups)


def conv1d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of ``conv1d(input, weight)`` with respect to a weight of ``weight_size``."""
    return _grad(F.conv1d, False, input, weight_size, grad_output, stride, padding, dilation,
                 groups)


def conv2d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of ``conv2d(input, weight)`` with respect to an input of ``input_size``."""
    return _grad(F.conv2d, True, weight, input_size, grad_output, stride, padding, dilation,
                 groups)


def conv2d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of ``conv2d(input, weight)`` with respect to a weight of ``weight_size``."""
    return _grad(F.conv2d, False, input, weight_size, grad_output, stride, padding, dilation,
                 groups)


def conv3d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of ``conv3d(input, weight)`` with respect to an input of ``input_size``."""
    return _grad(F.conv3d, True, weight, input_size, grad_output, stride, padding, dilation,
                 groups)


def conv3d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of ``conv3d(input, weight)`` with respect to a weight of ``weight_size``."""
    return _grad(F.conv3d, False, input, weight_size, grad_output, stride, padding, dilation,
                 groups)
