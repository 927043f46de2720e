"""The errors an op's forward raises for bad inputs, naming the op and the inputs' shapes
(tensor.py's apply and _binary, bf16.py and the api's fast paths translate NumPy's ValueError /
TypeError through ``forward_error``)."""

from __future__ import annotations

import math
import re

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


# PyTorch's C type names of the dtypes in its "expected m1 and m2" message.
_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
            "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int", "int16": "short int",
            "int8": "signed char", "uint8": "unsigned char", "bool": "bool",
            "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}
SCALAR_WORDS = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
           "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
           "bool": "Bool", "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def _shape_of(text: str) -> tuple:
    return tuple(int(n) for n in text.replace(" ", "").split(",") if n)


def setitem_words(message: str) -> str:
    """PyTorch's words (ending in " (") for NumPy's refusal of a value in ``t[index] = value``,
    or "": an expand error for basic indexing, a shape mismatch for advanced indexing."""
    found = re.search(r"could not broadcast input array from shape \(([\d, ]*)\) into shape "
                      r"\(([\d, ]*)\)", message)
    if found:
        value, target = _shape_of(found[1]), _shape_of(found[2])
        lead = len(target) - len(value)
        for i, n in enumerate(value):
            if lead >= 0 and n != 1 and n != target[lead + i]:
                return (f"The expanded size of the tensor ({target[lead + i]}) must match the "
                        f"existing size ({n}) at non-singleton dimension {lead + i}.  Target "
                        f"sizes: {list(target)}.  Tensor sizes: {list(value)} (")
        return ""
    found = re.search(r"value array of shape \(([\d, ]*)\) could not be broadcast to indexing "
                      r"result of shape \(([\d, ]*)\)", message)
    if found:
        return (f"shape mismatch: value tensor of shape {list(_shape_of(found[1]))} cannot be "
                f"broadcast to indexing result of shape {list(_shape_of(found[2]))} (")
    return ""


def scalar_word(dtype) -> str:
    """PyTorch's scalar-type name of a dtype in its messages (float32 -> Float, a deltagrad
    dtype or a NumPy one)."""
    name = str(dtype).rsplit(".", 1)[-1]
    return SCALAR_WORDS.get(name, name)


def product_dtype_words(name: str, a, b) -> str:
    """PyTorch's words (ending in " (") for a matmul-family product of two dtypes, which test
    suites match: they depend on the op and the operands' ranks, as its kernels differ."""
    x, y = a._data.dtype.name, b._data.dtype.name
    if name == "dot" or (name == "matmul" and a.ndim == 1 and b.ndim == 1):
        return (f"dot : expected both vectors to have same dtype, but found "
                f"{SCALAR_WORDS.get(x, x)} and {SCALAR_WORDS.get(y, y)} (")
    if name in ("matmul", "mm") and a.ndim <= 2 and b.ndim == 2:
        return (f"expected m1 and m2 to have the same dtype, but got: {_C_NAMES.get(x, x)} != "
                f"{_C_NAMES.get(y, y)} (")
    if name in ("matmul", "bmm") and max(a.ndim, b.ndim) >= 3:
        return f"expected scalar type {SCALAR_WORDS.get(x, x)} but found {SCALAR_WORDS.get(y, y)} ("
    return ""


def rank_words(name: str, a, b) -> str:
    """PyTorch's words (ending in " (") for an operand of the wrong rank to mm / bmm / mv / dot
    (the ops' checks of their first wrong operand)."""
    if name == "mm":
        return f"{'self' if a.ndim != 2 else 'mat2'} must be a matrix ("
    if name == "bmm":
        return f"{'batch1' if a.ndim != 3 else 'batch2'} must be a 3D tensor ("
    if name == "dot":
        return f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors ("
    if name == "mv":
        return f"vector + matrix @ vector expected, got 1, {a.ndim}, {b.ndim} ("
    return ""


def _inner_words(a: tuple, b: tuple) -> str:
    """PyTorch's words, ending in "; ", for a matmul whose inner sizes differ (they depend on
    the ranks: dot, mv, mm or bmm underneath)."""
    ka = a[-1]
    if len(b) == 1:
        if len(a) == 1:
            return (f"inconsistent tensor size, expected tensor [{ka}] and src [{b[0]}] to have "
                    f"the same number of elements, but got {ka} and {b[0]} elements "
                    f"respectively; ")
        rows = math.prod(a[:-1])
        return f"size mismatch, got input ({rows}), mat ({rows}x{ka}), vec ({b[0]}); "
    if len(b) == 2:
        rows = math.prod(a[:-1]) if len(a) > 1 else 1
        return f"mat1 and mat2 shapes cannot be multiplied ({rows}x{ka} and {b[0]}x{b[1]}); "
    batch = math.prod(_broadcast(a[:-2], b[:-2]))
    return (f"Expected size for first two dimensions of batch2 tensor to be: [{batch}, {ka}] "
            f"but got: [{batch}, {b[-2]}].; ")


def _broadcast(a: tuple, b: tuple) -> tuple:
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    return tuple(max(x, y) for x, y in zip(a, b))


def forward_error(op, inputs, error) -> Exception:
    message = str(error)
    if op.name == "matmul" and len(inputs) == 2:
        a, b = inputs
        ka = a.shape[-1] if a.ndim else None
        kb = (b.shape[-2] if b.ndim > 1 else b.shape[0]) if b.ndim else None
        if a.ndim == 0 or b.ndim == 0:
            return ShapeError(f"matmul: both operands need at least 1 dimension, got shapes "
                              f"{a.shape} and {b.shape}")
        if ka != kb:  # (PyTorch's words first: answers and test suites quote them)
            return ShapeError(f"{_inner_words(tuple(a.shape), tuple(b.shape))}matmul: shapes "
                              f"{a.shape} and {b.shape} cannot be multiplied (inner dimensions "
                              f"{ka} and {kb} differ)")
        said = broadcast_words(tuple(a.shape)[:-2], tuple(b.shape)[:-2])
        return ShapeError(f"{said}matmul: batch dimensions of shapes {a.shape} and {b.shape} do "
                          "not broadcast")
    if "broadcast" in message:
        said, shape = "", tuple(inputs[0].shape)  # (PyTorch broadcasts left to right)
        for x in inputs[1:]:
            said = broadcast_words(shape, tuple(x.shape))
            if said:
                break
            shape = _broadcast(shape, tuple(x.shape))
        return ShapeError(f"{said}{op.name}: shapes {shapes(inputs)} cannot be broadcast "
                          "together")
    if isinstance(error, TypeError) and "boolean" in message:  # bool - bool
        return RuntimeError(BOOL_SUB_BOTH if op is _SUB else f"{op.name}: {message}")
    if isinstance(error, TypeError) and "dtype" not in message and "ufunc" not in message:
        return TypeError(f"{op.name}: {message}")
    return ShapeError(f"{op.name}: invalid inputs of shapes {shapes(inputs)}: {message}")
