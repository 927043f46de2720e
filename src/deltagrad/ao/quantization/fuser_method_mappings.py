"""``torch.ao.quantization.fuser_method_mappings``: the module fusions quantization prepares (conv
+ bn folding, ...). deltagrad has no quantized tensors or int8 kernels, so each raises
NotImplementedError naming itself when called (importing them works)."""

from __future__ import annotations

from ...nn.quantized._unsupported import refuse

__all__ = ["fuse_conv_bn", "fuse_conv_bn_relu", "fuse_convtranspose_bn", "fuse_linear_bn",
           "get_fuser_method", "get_fuser_method_new"]


def fuse_conv_bn(*args, **kwargs):
    """PyTorch's ``fuse_conv_bn``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.fuse_conv_bn")

def fuse_conv_bn_relu(*args, **kwargs):
    """PyTorch's ``fuse_conv_bn_relu``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.fuse_conv_bn_relu")

def fuse_convtranspose_bn(*args, **kwargs):
    """PyTorch's ``fuse_convtranspose_bn``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.fuse_convtranspose_bn")

def fuse_linear_bn(*args, **kwargs):
    """PyTorch's ``fuse_linear_bn``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.fuse_linear_bn")

def get_fuser_method(*args, **kwargs):
    """PyTorch's ``get_fuser_method``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.get_fuser_method")

def get_fuser_method_new(*args, **kwargs):
    """PyTorch's ``get_fuser_method_new``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.get_fuser_method_new")
