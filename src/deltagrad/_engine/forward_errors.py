"""The errors an op's forward raises for bad inputs, naming the op and the inputs' shapes
(tensor.py's apply and _binary, bf16.py and the api's fast paths translate NumPy's ValueError /
TypeError through ``forward_error``)."""

from __future__ import annotations

from .autograd import ShapeError
from .ops import OPS

_SUB = OPS["sub"]

BOOL_SUB = ("Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
BOOL_SUB_BOTH = ("Subtraction, the `-` operator, with two bool tensors is not supported. Use "
                 "the `^` or `logical_xor()` operator instead.")  # (PyTorch's, both bool)


def shapes(inputs) -> str:
    return ", ".join(str(tuple(x.shape)) for x in inputs)


def broadcast_words(a: tuple, b: tuple) -> str:
    """PyTorch's words for two shapes that do not broadcast, ending in "; " (its first
    mismatch from the right: "The size of tensor a (3) must match the size of tensor b (2) at
    non-singleton dimension 1"), which answers quote; "" where the shapes broadcast."""
    a, b = tuple(a), tuple(b)
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    for d in range(n - 1, -1, -1):
        if a[d] != b[d] and a[d] != 1 and b[d] != 1:
            return (f"The size of tensor a ({a[d]}) must match the size of tensor b ({b[d]}) at "
                    f"non-singleton dimension {d}; ")
    return ""


def forward_error(op, inputs, error) -> Exception:
    message = str(error)
    if op.name == "matmul" and len(inputs) == 2:
        a, b = inputs
        ka = a.shape[-1] if a.ndim else None
        kb = (b.shape[-2] if b.ndim > 1 else b.shape[0]) if b.ndim else None
        if a.ndim == 0 or b.ndim == 0:
            return ShapeError(f"matmul: both operands need at least 1 dimension, got shapes "
                              f"{a.shape} and {b.shape}")
        if ka != kb:
            said = ""  # (PyTorch's words first where it has them: answers quote them)
            if a.ndim <= 2 and b.ndim == 2:
                rows = a.shape[0] if a.ndim == 2 else 1
                said = (f"mat1 and mat2 shapes cannot be multiplied ({rows}x{ka} and "
                        f"{b.shape[0]}x{b.shape[1]}); ")
            return ShapeError(f"{said}matmul: shapes {a.shape} and {b.shape} cannot be "
                              f"multiplied (inner dimensions {ka} and {kb} differ)")
        return ShapeError(f"matmul: batch dimensions of shapes {a.shape} and {b.shape} do not "
                          "broadcast")
    if "broadcast" in message:
        said = broadcast_words(inputs[0].shape, inputs[1].shape) if len(inputs) == 2 else ""
        return ShapeError(f"{said}{op.name}: shapes {shapes(inputs)} cannot be broadcast "
                          "together")
    if isinstance(error, TypeError) and "boolean" in message:  # bool - bool
        return RuntimeError(BOOL_SUB_BOTH if op is _SUB else f"{op.name}: {message}")
    if isinstance(error, TypeError) and "dtype" not in message and "ufunc" not in message:
        return TypeError(f"{op.name}: {message}")
    return ShapeError(f"{op.name}: invalid inputs of shapes {shapes(inputs)}: {message}")
