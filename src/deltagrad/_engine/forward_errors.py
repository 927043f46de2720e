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
            return ShapeError(f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied "
                              f"(inner dimensions {ka} and {kb} differ)")
        return ShapeError(f"matmul: batch dimensions of shapes {a.shape} and {b.shape} do not "
                          "broadcast")
    if "broadcast" in message:
        return ShapeError(f"{op.name}: shapes {shapes(inputs)} cannot be broadcast together")
    if isinstance(error, TypeError) and "boolean" in message:  # bool - bool
        return RuntimeError(BOOL_SUB_BOTH if op is _SUB else f"{op.name}: {message}")
    if isinstance(error, TypeError) and "dtype" not in message and "ufunc" not in message:
        return TypeError(f"{op.name}: {message}")
    return ShapeError(f"{op.name}: invalid inputs of shapes {shapes(inputs)}: {message}")
