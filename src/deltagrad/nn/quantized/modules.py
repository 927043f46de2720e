"""``torch.nn.quantized``'s modules (int8 weights, quantized tensors in and out): the names
exist, so models and libraries that name them import; constructing one raises
NotImplementedError (deltagrad has no quantized tensors)."""

from __future__ import annotations

from ._unsupported import QuantizedModule

__all__ = ["BatchNorm2d", "BatchNorm3d", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d",
           "ConvTranspose2d", "ConvTranspose3d", "DeQuantize", "Dropout", "ELU", "Embedding",
           "EmbeddingBag", "GroupNorm", "Hardswish", "InstanceNorm1d", "InstanceNorm2d",
           "InstanceNorm3d", "LSTM", "LayerNorm", "LeakyReLU", "Linear", "MaxPool2d",
           "MultiheadAttention", "PReLU", "Quantize", "ReLU6", "Sigmoid", "Softmax"]


class BatchNorm2d(QuantizedModule):
    """PyTorch's quantized BatchNorm2d: not supported (raises when constructed)."""

class BatchNorm3d(QuantizedModule):
    """PyTorch's quantized BatchNorm3d: not supported (raises when constructed)."""

class Conv1d(QuantizedModule):
    """PyTorch's quantized Conv1d: not supported (raises when constructed)."""

class Conv2d(QuantizedModule):
    """PyTorch's quantized Conv2d: not supported (raises when constructed)."""

class Conv3d(QuantizedModule):
    """PyTorch's quantized Conv3d: not supported (raises when constructed)."""

class ConvTranspose1d(QuantizedModule):
    """PyTorch's quantized ConvTranspose1d: not supported (raises when constructed)."""

class ConvTranspose2d(QuantizedModule):
    """PyTorch's quantized ConvTranspose2d: not supported (raises when constructed)."""

class ConvTranspose3d(QuantizedModule):
    """PyTorch's quantized ConvTranspose3d: not supported (raises when constructed)."""

class DeQuantize(QuantizedModule):
    """PyTorch's quantized DeQuantize: not supported (raises when constructed)."""

class Dropout(QuantizedModule):
    """PyTorch's quantized Dropout: not supported (raises when constructed)."""

class ELU(QuantizedModule):
    """PyTorch's quantized ELU: not supported (raises when constructed)."""

class Embedding(QuantizedModule):
    """PyTorch's quantized Embedding: not supported (raises when constructed)."""

class EmbeddingBag(QuantizedModule):
    """PyTorch's quantized EmbeddingBag: not supported (raises when constructed)."""

class GroupNorm(QuantizedModule):
    """PyTorch's quantized GroupNorm: not supported (raises when constructed)."""

class Hardswish(QuantizedModule):
    """PyTorch's quantized Hardswish: not supported (raises when constructed)."""

class InstanceNorm1d(QuantizedModule):
    """PyTorch's quantized InstanceNorm1d: not supported (raises when constructed)."""

class InstanceNorm2d(QuantizedModule):
    """PyTorch's quantized InstanceNorm2d: not supported (raises when constructed)."""

class InstanceNorm3d(QuantizedModule):
    """PyTorch's quantized InstanceNorm3d: not supported (raises when constructed)."""

class LSTM(QuantizedModule):
    """PyTorch's quantized LSTM: not supported (raises when constructed)."""

class LayerNorm(QuantizedModule):
    """PyTorch's quantized LayerNorm: not supported (raises when constructed)."""

class LeakyReLU(QuantizedModule):
    """PyTorch's quantized LeakyReLU: not supported (raises when constructed)."""

class Linear(QuantizedModule):
    """PyTorch's quantized Linear: not supported (raises when constructed)."""

class MaxPool2d(QuantizedModule):
    """PyTorch's quantized MaxPool2d: not supported (raises when constructed)."""

class MultiheadAttention(QuantizedModule):
    """PyTorch's quantized MultiheadAttention: not supported (raises when constructed)."""

class PReLU(QuantizedModule):
    """PyTorch's quantized PReLU: not supported (raises when constructed)."""

class Quantize(QuantizedModule):
    """PyTorch's quantized Quantize: not supported (raises when constructed)."""

class ReLU6(QuantizedModule):
    """PyTorch's quantized ReLU6: not supported (raises when constructed)."""

class Sigmoid(QuantizedModule):
    """PyTorch's quantized Sigmoid: not supported (raises when constructed)."""

class Softmax(QuantizedModule):
    """PyTorch's quantized Softmax: not supported (raises when constructed)."""
