"""``torch.nn.quantized.dynamic``: dynamically quantized modules (int8 weights, float
activations); the names exist, constructing one raises NotImplementedError."""

from __future__ import annotations

from ._unsupported import QuantizedModule

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
           "GRU", "GRUCell", "LSTM", "LSTMCell", "Linear", "RNNCell"]


class _Dynamic(QuantizedModule):
    _path = "torch.nn.quantized.dynamic"


class Conv1d(_Dynamic):
    """PyTorch's dynamically quantized Conv1d: not supported (raises when constructed)."""

class Conv2d(_Dynamic):
    """PyTorch's dynamically quantized Conv2d: not supported (raises when constructed)."""

class Conv3d(_Dynamic):
    """PyTorch's dynamically quantized Conv3d: not supported (raises when constructed)."""

class ConvTranspose1d(_Dynamic):
    """PyTorch's dynamically quantized ConvTranspose1d: not supported (raises when constructed)."""

class ConvTranspose2d(_Dynamic):
    """PyTorch's dynamically quantized ConvTranspose2d: not supported (raises when constructed)."""

class ConvTranspose3d(_Dynamic):
    """PyTorch's dynamically quantized ConvTranspose3d: not supported (raises when constructed)."""

class GRU(_Dynamic):
    """PyTorch's dynamically quantized GRU: not supported (raises when constructed)."""

class GRUCell(_Dynamic):
    """PyTorch's dynamically quantized GRUCell: not supported (raises when constructed)."""

class LSTM(_Dynamic):
    """PyTorch's dynamically quantized LSTM: not supported (raises when constructed)."""

class LSTMCell(_Dynamic):
    """PyTorch's dynamically quantized LSTMCell: not supported (raises when constructed)."""

class Linear(_Dynamic):
    """PyTorch's dynamically quantized Linear: not supported (raises when constructed)."""

class RNNCell(_Dynamic):
    """PyTorch's dynamically quantized RNNCell: not supported (raises when constructed)."""
