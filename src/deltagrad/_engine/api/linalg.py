"""Matrix products."""

from __future__ import annotations

from ..autograd import ShapeError
from ..ops import OPS
from ..tensor import Tensor, _lift, apply, tensor_method

__all__ = ["matmul", "mm"]

_MATMUL = OPS["matmul"]


@tensor_method
def matmul(input, other) -> Tensor:
    """Matrix product with NumPy/PyTorch semantics: 1-D, 2-D and batched (broadcast) operands."""
    input = input if type(input) is Tensor else _lift(input, None)
    other = other if type(other) is Tensor else _lift(other, input)
    if input.ndim == 0 or other.ndim == 0:
        raise ShapeError(f"matmul: both operands need at least 1 dimension, got shapes "
                         f"{input.shape} and {other.shape}")
    return apply(_MATMUL, input, other)


mm = tensor_method(matmul, name="mm")
