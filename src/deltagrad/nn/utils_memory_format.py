"""PyTorch's ``nn.utils.convert_conv2d_weight_memory_format`` / ``_conv3d_``: re-lay the
weights of the convolutions in a module tree in a memory format (channels-last), in place."""

from __future__ import annotations

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]


def _convert(module, memory_format, kinds: tuple):
    """Every module of ``kinds`` under ``module`` (itself included) gets its weight's data
    copied into ``memory_format`` (same values, same Parameter object); returns ``module``."""
    for child in module.modules():
        if isinstance(child, kinds):
            child.weight.data = child.weight.detach().clone(memory_format=memory_format)
    return module


def convert_conv2d_weight_memory_format(module, memory_format):
    """``nn.Conv2d`` and ``nn.ConvTranspose2d`` weights under ``module`` in ``memory_format``
    (e.g. ``torch.channels_last``); the module itself returned."""
    from .conv2d import Conv2d, ConvTranspose2d

    return _convert(module, memory_format, (Conv2d, ConvTranspose2d))


def convert_conv3d_weight_memory_format(module, memory_format):
    """``nn.Conv3d`` and ``nn.ConvTranspose3d`` weights under ``module`` in ``memory_format``
    (e.g. ``torch.channels_last_3d``); the module itself returned."""
    from .conv2d import Conv3d, ConvTranspose3d

    return _convert(module, memory_format, (Conv3d, ConvTranspose3d))
