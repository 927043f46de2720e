"""``torch.nn.quantized.functional``: functions on quantized tensors. deltagrad has none, so
each raises NotImplementedError when called (importing them works)."""

from __future__ import annotations

from ._unsupported import refuse

__all__ = ["adaptive_avg_pool2d", "adaptive_avg_pool3d", "avg_pool2d", "avg_pool3d", "celu",
           "clamp", "conv1d", "conv2d", "conv3d", "elu", "hardsigmoid", "hardswish", "hardtanh",
           "interpolate", "leaky_relu", "linear", "max_pool1d", "max_pool2d", "threshold",
           "upsample", "upsample_bilinear", "upsample_nearest"]


def adaptive_avg_pool2d(*args, **kwargs):
    """PyTorch's quantized ``adaptive_avg_pool2d``: not supported (raises NotImplementedError)."""
    raise refuse("torch.nn.quantized.functional.adaptive_avg_pool2d")

def adaptive_avg_pool3d(*args, **kwargs):
    """PyTorch's quantized ``adaptive_avg_pool3d``: not supported (raises NotImplementedError)."""
    raise refuse("torch.nn.quantized.functional.adaptive_avg_pool3d")

def avg_pool2d(*args, **kwargs):
    """PyTorch's quantized ``avg_pool2d``: not supported (raises NotImplementedError)."""
    raise refuse("torch.nn.quantized.functional.avg_pool2d")

def avg_pool3d(*args, **kwargs):
    """PyTorch's quantized ``avg_pool3d``: not supported (raises NotImplementedError)."""
    raise refuse("torch.nn.quantized.functional.avg_pool3d")

def celu(*args, **kwargs):
    """PyTorch's quantized ``celu``: not supported (raises NotImplementedError)."""
    raise refuse("torch.nn.quantized.functional.celu")

def clamp(*args, **kwargs):
    """PyTorch's quantized ``clamp``: not supported (raises NotImplementedError)."""
    raise refuse("torch.nn.quantized.functional.clamp")

def conv1d(*args, **kwargs):
    """PyTorch's quantized ``conv1d``: not supported (raises NotImplementedError)."""
    raise refuse("torch.nn.quantized.functional.conv1d")

def conv2d(*args, **kwargs):
    """PyTorch's quantized ``conv2d``: not supported (raises NotImplementedError)."""
    raise refuse("torch.nn.quantized.functional.conv2d")

def conv3d(*args, **kwargs):
    """PyTorch's quantized ``conv3d``: not supported (raises NotImplementedError)."""
    raise refuse("torch.nn.quantized.functional.conv3d")

def elu(*args, **kwargs):
    """PyTorch's quantized ``elu``: not supported (raises NotImplementedError)."""
    raise refuse("torch.nn.quantized.functional.elu")

def hardsigmoid(*args, **kwargs):
    """PyTorch's quantized ``hardsigmoid``: not supported (raises NotImplementedError)."""
    raise refuse("torch.nn.quantized.functional.hardsigmoid")

def hardswish(*args, **kwargs):
    """PyTorch's quantized ``hardswish``: not supported (raises NotImplementedError)."""
    raise refuse("torch.nn.quantized.functional.hardswish")

def hardtanh(*args, **kwargs):
    """PyTorch's quantized ``hardtanh``: not supported (raises NotImplementedError)."""
    raise refuse("torch.nn.quantized.functional.hardtanh")

def interpolate(*args, **kwargs):
    """PyTorch's quantized ``interpolate``: not supported (raises NotImplementedError)."""
    raise refuse("torch.nn.quantized.functional.interpolate")

def leaky_relu(*args, **kwargs):
    """PyTorch's quantized ``leaky_relu``: not supported (raises NotImplementedError)."""
    raise refuse("torch.nn.quantized.functional.leaky_relu")

def linear(*args, **kwargs):
    """PyTorch's quantized ``linear``: not supported (raises NotImplementedError)."""
    raise refuse("torch.nn.quantized.functional.linear")

def max_pool1d(*args, **kwargs):
    """PyTorch's quantized ``max_pool1d``: not supported (raises NotImplementedError)."""
    raise refuse("torch.nn.quantized.functional.max_pool1d")

def max_pool2d(*args, **kwargs):
    """PyTorch's quantized ``max_pool2d``: not supported (raises NotImplementedError)."""
    raise refuse("torch.nn.quantized.functional.max_pool2d")

def threshold(*args, **kwargs):
    """PyTorch's quantized ``threshold``: not supported (raises NotImplementedError)."""
    raise refuse("torch.nn.quantized.functional.threshold")

def upsample(*args, **kwargs):
    """PyTorch's quantized ``upsample``: not supported (raises NotImplementedError)."""
    raise refuse("torch.nn.quantized.functional.upsample")

def upsample_bilinear(*args, **kwargs):
    """PyTorch's quantized ``upsample_bilinear``: not supported (raises NotImplementedError)."""
    raise refuse("torch.nn.quantized.functional.upsample_bilinear")

def upsample_nearest(*args, **kwargs):
    """PyTorch's quantized ``upsample_nearest``: not supported (raises NotImplementedError)."""
    raise refuse("torch.nn.quantized.functional.upsample_nearest")
