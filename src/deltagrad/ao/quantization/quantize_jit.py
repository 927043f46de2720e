"""``torch.ao.quantization.quantize_jit``: TorchScript quantization passes. deltagrad has no
quantized tensors or int8 kernels, so each raises NotImplementedError naming itself when called
(importing them works)."""

from __future__ import annotations

from ...nn.quantized._unsupported import refuse

__all__ = ["convert_dynamic_jit", "convert_jit", "fuse_conv_bn_jit", "prepare_dynamic_jit",
           "prepare_jit", "quantize_dynamic_jit", "quantize_jit", "script_qconfig",
           "script_qconfig_dict"]


def convert_dynamic_jit(*args, **kwargs):
    """PyTorch's ``convert_dynamic_jit``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.convert_dynamic_jit")

def convert_jit(*args, **kwargs):
    """PyTorch's ``convert_jit``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.convert_jit")

def fuse_conv_bn_jit(*args, **kwargs):
    """PyTorch's ``fuse_conv_bn_jit``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.fuse_conv_bn_jit")

def prepare_dynamic_jit(*args, **kwargs):
    """PyTorch's ``prepare_dynamic_jit``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.prepare_dynamic_jit")

def prepare_jit(*args, **kwargs):
    """PyTorch's ``prepare_jit``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.prepare_jit")

def quantize_dynamic_jit(*args, **kwargs):
    """PyTorch's ``quantize_dynamic_jit``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.quantize_dynamic_jit")

def quantize_jit(*args, **kwargs):
    """PyTorch's ``quantize_jit``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.quantize_jit")

def script_qconfig(*args, **kwargs):
    """PyTorch's ``script_qconfig``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.script_qconfig")

def script_qconfig_dict(*args, **kwargs):
    """PyTorch's ``script_qconfig_dict``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.script_qconfig_dict")
