"""``torch.ao.quantization.quantize_fx``: FX graph-mode quantization. deltagrad has no quantized
tensors or int8 kernels, so each raises NotImplementedError naming itself when called (importing
them works)."""

from __future__ import annotations

from ...nn.quantized._unsupported import refuse

__all__ = ["convert_fx", "fuse_fx", "prepare_fx", "prepare_qat_fx"]


def convert_fx(*args, **kwargs):
    """PyTorch's ``convert_fx``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.convert_fx")

def fuse_fx(*args, **kwargs):
    """PyTorch's ``fuse_fx``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.fuse_fx")

def prepare_fx(*args, **kwargs):
    """PyTorch's ``prepare_fx``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.prepare_fx")

def prepare_qat_fx(*args, **kwargs):
    """PyTorch's ``prepare_qat_fx``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.prepare_qat_fx")
