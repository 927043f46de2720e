"""``torch.ao.quantization.fuse_modules``: module fusion for quantization. deltagrad has no
quantized tensors or int8 kernels, so each raises NotImplementedError naming itself when called
(importing them works)."""

from __future__ import annotations

from ...nn.quantized._unsupported import refuse

__all__ = ["fuse_modules", "fuse_modules_qat"]


def fuse_modules(*args, **kwargs):
    """PyTorch's ``fuse_modules``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.fuse_modules")

def fuse_modules_qat(*args, **kwargs):
    """PyTorch's ``fuse_modules_qat``: not supported (raises NotImplementedError)."""
    raise refuse("torch.ao.quantization.fuse_modules_qat")
