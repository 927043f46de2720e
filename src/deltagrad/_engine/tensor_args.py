"""The small helpers of tensor.py's functions that need no Tensor: an operand Tensor's operators
hand back to Python (``ForeignOperand``, ``_has_operators``), a number beyond float16's range
cast silently (``_HALF_MAX``, ``_cast_quietly``), and size arguments (``_shape_arg``,
``_resolve_shape``). Moved out of tensor.py (session 27, FS1) to keep it under the 800-line
limit; tensor.py imports them back (``tensor._cast_quietly`` and the others are read there, as
before).
"""

from __future__ import annotations

import math
import numbers

import numpy as np


class ForeignOperand(TypeError):
    """An operand that is a list or tuple subclass with operators of its own (zuko's
    NestedTensor), or an ndarray: Tensor's operators return NotImplemented for it, so that
    Python asks its reflected operator (``dt * nested`` is ``nested.__rmul__(dt)``), as
    PyTorch's do."""


def _has_operators(cls) -> bool:
    return any(name in vars(klass) for klass in cls.__mro__ if klass not in (list, tuple, object)
               for name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
                            "__truediv__", "__rtruediv__"))


_HALF_MAX = 65504.0  # float16's largest finite value: a number within it casts to any float


def _cast_quietly(value, dtype: np.dtype) -> np.ndarray:
    """A number beyond float16's range as a ``dtype`` array: inf where it overflows, silently,
    as PyTorch casts it (NumPy warns "overflow encountered in cast"); an int beyond int64 raises
    OverflowError, as in PyTorch. Only out-of-range numbers pay for the error state."""
    if isinstance(value, numbers.Integral) and not -(2 ** 63) <= value < 2 ** 63:
        if 2 ** 63 <= value < 2 ** 64 and dtype.kind in "fcV":  # (PyTorch's uint64 scalar)
            value = float(value)
        else:
            raise OverflowError("int too big to convert (beyond int64)")
    with np.errstate(over="ignore"):
        return np.asarray(value, dtype=dtype)


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for n in shape:  # (a loop, cheaper than converting when all are ints already)
        if type(n) is not int:
            from .promotion import size_values  # (the rare path only)
            return size_values(shape)
    return shape


def _resolve_shape(size, shape):
    unknown = shape.count(-1)
    if unknown > 1:
        raise ValueError("only one dimension can be -1")
    if unknown:
        known = math.prod(n for n in shape if n != -1)
        if known == 0 or size % known:
            raise ValueError(f"{size} elements do not fill the shape")
        shape = tuple(size // known if n == -1 else n for n in shape)
    if math.prod(shape) != size:
        raise ValueError(f"{size} elements do not fit {math.prod(shape)}")
    return shape
