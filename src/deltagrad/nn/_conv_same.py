"""``padding='same'`` for the convolutions (conv1d in conv.py, conv2d / conv3d in conv2d.py):
the widths per spatial dimension, and PyTorch's once-per-process warning where they differ."""

from __future__ import annotations

from .._engine.errors import warn_once

# PyTorch's text (TORCH_WARN_ONCE in its convolution's 'same' path): programs filter on it.
_ASYMMETRIC = ("Using padding='same' with even kernel lengths and odd dilation may require a "
               "zero-padded copy of the input be created")


def same_pads(kernel: tuple, dilation: tuple, warn: bool = False) -> tuple:
    """'same' padding: the span less one, an odd total one more on the right (as PyTorch).

    Args:
        kernel, dilation: per spatial dimension.
        warn: the functional convolution's path (F.conv1d/2d/3d with padding='same'), which
            warns once per process where a total is odd; a module with another padding mode
            pads by itself first, without the warning, as PyTorch's.

    Returns:
        ``((left, right), ...)`` per spatial dimension.
    """
    pads = []
    for k, d in zip(kernel, dilation):
        total = d * (k - 1)
        pads.append((total // 2, total - total // 2))
    if warn and any(left != right for left, right in pads):
        warn_once("conv_same_asymmetric", _ASYMMETRIC)
    return tuple(pads)
