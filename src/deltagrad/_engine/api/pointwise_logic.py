"""Comparisons, predicates (isnan ... signbit), logical and bitwise functions: elementwise, with
boolean (or, for bitwise, integer) results that never take part in a gradient."""

from __future__ import annotations

import numpy as np

from ..autograd import ShapeError
from ..elementwise_layout import laid_out, relaid
from ..ops.elementwise_math import pair
from ..promotion import ComplexHalfError, bitwise, refuse_complex
from ..tensor import Tensor, _leaf, tensor_method
from ._pointwise import input_tensor, operands, require_a_tensor, require_tensors, write_out

__all__ = ["bitwise_and", "bitwise_left_shift", "bitwise_not", "bitwise_or",
           "bitwise_right_shift", "bitwise_xor", "eq", "ge", "greater", "greater_equal", "gt",
           "isfinite", "isinf", "isnan", "isneginf", "isposinf", "isreal", "le", "less",
           "less_equal", "logical_and", "logical_not", "logical_or", "logical_xor", "lt", "ne",
           "not_equal", "signbit"]


_ORDERED = ("lt", "le", "gt", "ge")  # complex numbers have no order: PyTorch raises


def _elementwise(name: str, ufunc, input, other, out, promote: bool = True) -> Tensor:
    require_tensors(name, input=input)
    if not promote:  # the logical functions take tensors only, as PyTorch's
        require_tensors(name, other=other)
    input, other = operands(input, other, name)
    x, y = input._data, other._data
    if promote:
        try:
            x, y = pair(x, y)  # PyTorch compares in the promoted dtype
        except ComplexHalfError:  # (float16 with a complex 0-d: PyTorch compares in complex32)
            x, y = x.astype(np.complex64), y.astype(np.complex64)
        if x.dtype.kind == "c" and name in _ORDERED:
            kind = "ComplexFloat" if x.dtype == np.complex64 else "ComplexDouble"
            raise NotImplementedError(f'"{name}_cpu" not implemented for \'{kind}\'')
    try:
        result = ufunc(x, y)
    except ValueError:
        raise ShapeError(f"{name}: shapes {tuple(input.shape)} and {tuple(other.shape)} cannot "
                         "be broadcast together") from None
    if not (x.flags.c_contiguous and y.flags.c_contiguous):
        result = relaid(result, (x, y))  # (PyTorch's layout: elementwise_layout.py)
    return write_out(name, out, _leaf(result))


# ==============================================================================================
# Comparisons.


@tensor_method
def eq(input, other, *, out=None) -> Tensor:
    """``input == other``, broadcast: a bool tensor."""
    return _elementwise("eq", np.equal, input, other, out)


@tensor_method
def ne(input, other, *, out=None) -> Tensor:
    """``input != other``, broadcast: a bool tensor."""
    return _elementwise("ne", np.not_equal, input, other, out)


@tensor_method
def lt(input, other, *, out=None) -> Tensor:
    """``input < other``, broadcast: a bool tensor."""
    return _elementwise("lt", np.less, input, other, out)


@tensor_method
def le(input, other, *, out=None) -> Tensor:
    """``input <= other``, broadcast: a bool tensor."""
    return _elementwise("le", np.less_equal, input, other, out)


@tensor_method
def gt(input, other, *, out=None) -> Tensor:
    """``input > other``, broadcast: a bool tensor."""
    return _elementwise("gt", np.greater, input, other, out)


@tensor_method
def ge(input, other, *, out=None) -> Tensor:
    """``input >= other``, broadcast: a bool tensor."""
    return _elementwise("ge", np.greater_equal, input, other, out)


not_equal = tensor_method(ne, name="not_equal")
less = tensor_method(lt, name="less")
less_equal = tensor_method(le, name="less_equal")
greater = tensor_method(gt, name="greater")
greater_equal = tensor_method(ge, name="greater_equal")


# ==============================================================================================
# Predicates.


def _predicate(name: str, ufunc, input, out) -> Tensor:
    input = input_tensor(input, name)
    # (PyTorch's isposinf / isneginf / signbit take a bool out= only; logical_not casts)
    exact = name != "logical_not"
    return write_out(name, out, _leaf(ufunc(input._data)), exact=exact)


@tensor_method
def isnan(input) -> Tensor:
    """Where ``input`` is nan (never for integers)."""
    return _predicate("isnan", np.isnan, input, None)


@tensor_method
def isinf(input) -> Tensor:
    """Where ``input`` is +inf or -inf."""
    return _predicate("isinf", np.isinf, input, None)


@tensor_method
def isposinf(input, *, out=None) -> Tensor:
    """Where ``input`` is +inf."""
    return _predicate("isposinf", _is_posinf, input, out)


def _is_posinf(x):
    # (x == inf, one comparison, where isinf(x) & (x > 0) made three: the same booleans for a
    # real dtype, nan compares unequal; [5, 5] 2.70 -> 1.97 us, alternated with HEAD)
    return x == np.inf if x.dtype.kind != "c" else _no_complex("isposinf")


def _is_neginf(x):
    return x == -np.inf if x.dtype.kind != "c" else _no_complex("isneginf")


def _no_complex(name: str):
    raise RuntimeError(f"{name} does not support complex inputs.")  # (PyTorch's, out= or not)


@tensor_method
def isneginf(input, *, out=None) -> Tensor:
    """Where ``input`` is -inf."""
    return _predicate("isneginf", _is_neginf, input, out)


@tensor_method
def isfinite(input) -> Tensor:
    """Where ``input`` is neither nan nor infinite."""
    return _predicate("isfinite", np.isfinite, input, None)


@tensor_method
def isreal(input) -> Tensor:
    """Where ``input`` has no imaginary part (everywhere for real dtypes)."""
    # (np.isreal writes row-major: PyTorch keeps the input's layout)
    return _predicate("isreal", lambda x: laid_out(np.isreal(x), (x,)), input, None)


@tensor_method
def signbit(input, *, out=None) -> Tensor:
    """Where the sign bit is set (-0.0 and -nan included; ``x < 0`` for integers)."""
    refuse_complex(input, 'signbit is not implemented for complex tensors.')
    return _predicate("signbit", np.signbit, input, out)


# ==============================================================================================
# Logical (any dtype, truth as nonzero) and bitwise (integers and bool) functions.


@tensor_method
def logical_and(input, other, *, out=None) -> Tensor:
    """Elementwise ``input and other`` (nonzero is true): a bool tensor."""
    return _elementwise("logical_and", np.logical_and, input, other, out, promote=False)


@tensor_method
def logical_or(input, other, *, out=None) -> Tensor:
    """Elementwise ``input or other``: a bool tensor."""
    return _elementwise("logical_or", np.logical_or, input, other, out, promote=False)


@tensor_method
def logical_xor(input, other, *, out=None) -> Tensor:
    """Elementwise exclusive or of the truth values: a bool tensor."""
    return _elementwise("logical_xor", np.logical_xor, input, other, out, promote=False)


@tensor_method
def logical_not(input, *, out=None) -> Tensor:
    """Elementwise ``not input``: a bool tensor."""
    return _predicate("logical_not", np.logical_not, input, out)


def _bitwise(name: str, ufunc, kernel: str, input, other, out) -> Tensor:
    require_a_tensor(name, input, other)
    if out is not None and not isinstance(input, Tensor):  # (PyTorch's (Scalar, Tensor) form
        raise TypeError(f"{name}() received an invalid combination of arguments - got "  # has
                        f"({type(input).__name__}, Tensor, out=Tensor)")  # no out=)
    input, other = operands(input, other, name)
    try:
        result = bitwise(ufunc, kernel, input._data, other._data)
    except ValueError:
        raise ShapeError(f"{name}: shapes {tuple(input.shape)} and {tuple(other.shape)} cannot "
                         "be broadcast together") from None
    x, y = input._data, other._data
    if not (x.flags.c_contiguous and y.flags.c_contiguous):
        result = relaid(result, (x, y))  # (PyTorch's layout: elementwise_layout.py)
    return write_out(name, out, _leaf(result))


@tensor_method
def bitwise_and(input, other, *, out=None) -> Tensor:
    """Bitwise and of integers (logical on bool); floating input raises NotImplementedError.

    >>> import deltagrad as dg
    >>> dg.bitwise_and(dg.tensor([12, 10]), 6).tolist()
    [4, 2]
    """
    return _bitwise("bitwise_and", np.bitwise_and, "bitwise_and", input, other, out)


@tensor_method
def bitwise_or(input, other, *, out=None) -> Tensor:
    """Bitwise or of integers (logical on bool)."""
    return _bitwise("bitwise_or", np.bitwise_or, "bitwise_or", input, other, out)


@tensor_method
def bitwise_xor(input, other, *, out=None) -> Tensor:
    """Bitwise exclusive or of integers (logical on bool)."""
    return _bitwise("bitwise_xor", np.bitwise_xor, "bitwise_xor", input, other, out)


@tensor_method
def bitwise_not(input, *, out=None) -> Tensor:
    """Bitwise not of integers (logical not on bool)."""
    input = input_tensor(input, "bitwise_not")
    if input._data.dtype.kind not in "biu":
        bitwise(np.bitwise_and, "bitwise_not", input._data, input._data)  # raises PyTorch's
    return write_out("bitwise_not", out, _leaf(np.invert(input._data)))


@tensor_method
def bitwise_left_shift(input, other, *, out=None) -> Tensor:
    """``input << other`` on integers (shifting out every bit gives 0)."""
    return _bitwise("bitwise_left_shift", np.left_shift, "lshift", input, other, out)


@tensor_method
def bitwise_right_shift(input, other, *, out=None) -> Tensor:
    """``input >> other`` on integers, arithmetic (sign-filling) for signed types."""
    return _bitwise("bitwise_right_shift", np.right_shift, "rshift", input, other, out)
