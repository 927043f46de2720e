"""``torch.ao.quantization.quantize``: PyTorch's eager-mode quantization passes (prepare, convert,
quantize, ...). deltagrad has no quantized tensors or int8 kernels, so each raises
NotImplementedError naming itself when called (importing them works)."""

from __future__ import annotations

from ...nn.quantized._unsupported import refuse

__all__ = ["add_quant_dequant", "convert", "get_default_custom_config_dict", "prepare",
           "prepare_qat", "propagate_qconfig_", "quantize", "quantize_dynamic", "quantize_qat",
           "swap_module"]


def add_quant_dequant(*args, **kwargs):
    """PyTorch's ``add_quant_dequant``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.add_quant_dequant")

def convert(*args, **kwargs):
    """PyTorch's ``convert``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.convert")

def get_default_custom_config_dict(*args, **kwargs):
    """PyTorch's ``get_default_custom_config_dict``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.get_default_custom_config_dict")

def prepare(*args, **kwargs):
    """PyTorch's ``prepare``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.prepare")

def prepare_qat(*args, **kwargs):
    """PyTorch's ``prepare_qat``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.prepare_qat")

def propagate_qconfig_(*args, **kwargs):
    """PyTorch's ``propagate_qconfig_``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.propagate_qconfig_")

def quantize(*args, **kwargs):
    """PyTorch's ``quantize``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.quantize")

def quantize_dynamic(*args, **kwargs):
    """PyTorch's ``quantize_dynamic``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.quantize_dynamic")

def quantize_qat(*args, **kwargs):
    """PyTorch's ``quantize_qat``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.quantize_qat")

def swap_module(*args, **kwargs):
    """PyTorch's ``swap_module``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.swap_module")
