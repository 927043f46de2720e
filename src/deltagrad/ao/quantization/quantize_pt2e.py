"""``torch.ao.quantization.quantize_pt2e``: PT2 export quantization. deltagrad has no quantized
tensors or int8 kernels, so each raises NotImplementedError naming itself when called (importing
them works)."""

from __future__ import annotations

from ...nn.quantized._unsupported import refuse

__all__ = ["convert_pt2e", "prepare_pt2e", "prepare_qat_pt2e"]


def convert_pt2e(*args, **kwargs):
    """PyTorch's ``convert_pt2e``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.convert_pt2e")

def prepare_pt2e(*args, **kwargs):
    """PyTorch's ``prepare_pt2e``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.prepare_pt2e")

def prepare_qat_pt2e(*args, **kwargs):
    """PyTorch's ``prepare_qat_pt2e``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.prepare_qat_pt2e")
