"""Elementwise functions: arithmetic (add ... pow), exp / log / sqrt / sin / cos, the activations
relu, sigmoid and tanh, clamp, maximum / minimum and where.

More math is in ``pointwise_math`` and the comparisons, logical and bitwise functions in
``pointwise_logic``; both are re-exported here, so this module's ``__all__`` is the family's.
Binary functions take a Python number on either side, as PyTorch's scalars; ``out=`` is taken
where PyTorch takes it (see ``_pointwise.write_out``). The functions the operators and layers
call most skip even that call when ``out`` is None (they are the methods ``x.exp()``, ...).
"""

from __future__ import annotations

import builtins
import numbers

import numpy as np

from .. import bf16, dtypes
from ..autograd import DTypeError
from ..node_names import rename_node
from ..ops import OPS
from ..promotion import check_fits, refuse_complex, result_type, wrapped
from ..tensor import Tensor, _binary, _leaf, _lift, _unary, apply, tensor_method
from . import deprecations, pointwise_logic, pointwise_math
from ._pointwise import (
    PLAIN_NUMBERS,
    _real_bound,
    _scaled,
    as_tensor,
    input_tensor,
    not_a_tensor,
    operands,
    require_a_tensor,
    require_tensors,
    scalar_first,
    scalars_in_range,
    torch_name,
    write_out,
)
from .pointwise_args import (  # (moved out: session 27, FS1)
    _bfloat16_alpha,
    _dense_and_sparse,
    _fit_scalar,
    _float32_alpha,
    _half_scalars,
    _masked_fill_value,
    _no_complex_kernel,
    _real_only,
    _refuse_bool,
)
from .pointwise_logic import *  # noqa: F403 - re-exported: the family's public names
from .pointwise_math import *  # noqa: F403

__all__ = ["abs", "absolute", "add", "clamp", "clamp_max", "clamp_min", "clip", "cos", "div",
           "divide", "exp", "float_power", "floor_divide", "fmax", "fmin", "fmod", "log",
           "masked_fill", "maximum", "minimum", "mul", "multiply", "neg", "negative", "positive",
           "pow", "relu", "remainder", "sigmoid", "sin", "sqrt", "square", "sub", "subtract",
           "tanh", "true_divide", "where",
           *pointwise_math.__all__, *pointwise_logic.__all__]

_ADD, _SUB, _MUL, _DIV = OPS["add"], OPS["sub"], OPS["mul"], OPS["div"]
_EXP, _LOG, _TANH = OPS["exp"], OPS["log"], OPS["tanh"]
_SIGMOID, _RELU, _SQRT, _ABS = OPS["sigmoid"], OPS["relu"], OPS["sqrt"], OPS["abs"]
_SIN, _COS, _DIV_ROUNDING = OPS["sin"], OPS["cos"], OPS["div_rounding"]
_CLAMP, _CLAMP_MIN, _CLAMP_MAX = OPS["clamp"], OPS["clamp_min"], OPS["clamp_max"]
_CLAMP_TENSOR, _WHERE = OPS["clamp_tensor"], OPS["where"]
_REMAINDER, _FMOD = OPS["remainder"], OPS["fmod"]


def _t(x, like=None) -> Tensor:
    return x if type(x) is Tensor else _lift(x, like)


# ==============================================================================================
# Arithmetic.


@tensor_method
def add(input, other, *deprecated, alpha=1, out=None) -> Tensor:
    """``input + alpha * other``, broadcast, with PyTorch's type promotion.

    Args:
        input, other: tensors or Python numbers (at least one a tensor).
        alpha: multiplier of ``other``.
        out: optional tensor to write the result into.

    Returns:
        The sum; bool + bool is logical or, int + int stays int.

    >>> import deltagrad as dg
    >>> dg.add(dg.tensor([1, 2]), dg.tensor([10, 20]), alpha=2).tolist()
    [21, 42]
    """
    if deprecated:  # add(input, Number alpha, Tensor other)
        alpha, other = scalar_first("add", other, deprecated, "alpha", alpha)
    input, other = operands(input, other)
    try:
        scaled = _scaled("add", input, other, alpha)
        result = _binary(_ADD, input, scaled)
    except NotImplementedError:  # (no check before the kernel: 3.11's try is zero-cost)
        if not _dense_and_sparse(input, other):
            raise
        return add(input, other.to_dense(), alpha=alpha, out=out)  # a dense sum, as PyTorch's
    if scaled is not other and result._data.dtype.char in "eEf":
        if result._data.dtype.char == "f":  # (one rounding, as PyTorch's fused kernel)
            _float32_alpha(result, input, other, alpha)
        else:  # (float16, bfloat16)
            _bfloat16_alpha(result, input, other, alpha)
    return result if out is None else write_out("add", out, result)


@tensor_method
def sub(input, other, *deprecated, alpha=1, out=None) -> Tensor:
    """``input - alpha * other``, broadcast (bool operands raise, as in PyTorch).

    Args:
        input, other: tensors or Python numbers.
        alpha: multiplier of ``other``.
        out: optional tensor to write the result into.

    Returns:
        The difference.
    """
    if deprecated:  # sub(input, Number alpha, Tensor other)
        alpha, other = scalar_first("sub", other, deprecated, "alpha", alpha)
    if type(other) is bool or type(input) is bool:  # (x - True raises too, in PyTorch)
        _refuse_bool(*(v if isinstance(v, Tensor) else _t(v) for v in (input, other)))
    input, other = operands(input, other)
    _refuse_bool(input, other)
    try:
        scaled = _scaled("sub", input, other, alpha)
        result = _binary(_SUB, input, scaled)
    except NotImplementedError:
        if not _dense_and_sparse(input, other):
            raise
        return sub(input, other.to_dense(), alpha=alpha, out=out)
    if scaled is not other and result._data.dtype.char in "eEf":  # (PyTorch: add with -alpha)
        if result._data.dtype.char == "f":
            _float32_alpha(result, input, other, -alpha)
        else:  # (float16, bfloat16)
            _bfloat16_alpha(result, input, other, -alpha)
    return write_out("sub", out, result)


subtract = tensor_method(sub, name="subtract")


@tensor_method
def mul(input, other, *, out=None) -> Tensor:
    """``input * other``, broadcast (bool * bool is logical and).

    Args:
        input, other: tensors or Python numbers.
        out: optional tensor to write the result into.

    Returns:
        The product.
    """
    input, other = _half_scalars(input, other)
    input, other = operands(input, other)
    result = _binary(_MUL, input, other)
    return result if out is None else write_out("mul", out, result)


multiply = tensor_method(mul, name="multiply")


@tensor_method
def div(input, other, *, rounding_mode=None, out=None) -> Tensor:
    """``input / other``, broadcast: true division, or rounded with ``rounding_mode``.

    Args:
        input, other: tensors or Python numbers.
        rounding_mode: None (true division: integers give the default float dtype),
            ``'trunc'`` (towards zero) or ``'floor'`` (towards -inf); the rounded modes keep
            integer dtypes, raise on an integer divisor of 0 and have zero gradient.
        out: optional tensor to write the result into.

    Returns:
        The quotient.

    >>> import deltagrad as dg
    >>> dg.div(dg.tensor([7, -7]), 2, rounding_mode="trunc").tolist()
    [3, -3]
    >>> dg.div(dg.tensor([7, -7]), 2, rounding_mode="floor").tolist()
    [3, -4]
    """
    _number = other if type(other) in (int, float) else None
    if type(input) is not Tensor or type(other) is not Tensor:
        if rounding_mode is None:
            # (PyTorch's uint64 number, 2**63 to 2**64, true-divides as a float)
            input, other = (float(v) if type(v) is int and 1 << 63 <= v < 1 << 64 else v
                            for v in (input, other))
            input, other = _half_scalars(input, other)
        input, other = operands(input, other)
    if rounding_mode is None:
        result = _binary(_DIV, input, other)
    elif rounding_mode == "trunc" or rounding_mode == "floor":
        _no_complex_kernel(f"div_{rounding_mode}_cpu", input, other)
        if _number is not None and (input._data.dtype == np.float16
                                    or input._data.dtype is bf16.BF16):
            # A float16 / bfloat16 tensor over a number: PyTorch's kernel reads it as float32,
            # unrounded, as mul / div do (ops/half.half_binary), computes in float32 and rounds
            # once (the operands lift an int such as 2049 into bfloat16 rounded: 2048)
            wide = apply(_DIV_ROUNDING, input.float(), _leaf(np.asarray(_number, np.float32)),
                         rounding_mode=rounding_mode)
            result = wide.to(input.dtype)
        else:
            result = apply(_DIV_ROUNDING, input, other, rounding_mode=rounding_mode)
    else:
        raise RuntimeError("div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found '{rounding_mode}'")
    return result if out is None else write_out("div", out, result)


divide = tensor_method(div, name="divide")


@tensor_method
def true_divide(input, other, *, out=None) -> Tensor:
    """``div`` without rounding: integers give the default float dtype."""
    return div(input, other, out=out)


@tensor_method
def floor_divide(input, other, *, out=None) -> Tensor:
    """``input // other``: division rounded towards -inf (``div(..., rounding_mode='floor')``).

    Its result requires grad when an input does, but a backward that reaches it raises
    RuntimeError, as PyTorch's (``div(..., rounding_mode='floor')`` gives zero gradients).
    """
    return pointwise_math.without_derivative(div(input, other, rounding_mode="floor", out=out),
                                             _FLOOR_DIVIDE_NODE)


_FLOOR_DIVIDE_NODE = pointwise_math.no_derivative_node("floor_divide", _DIV_ROUNDING)


@tensor_method
def remainder(input, other, *, out=None) -> Tensor:
    """``input % other`` with Python's sign rule: the result has the divisor's sign.

    Args:
        input, other: tensors or Python numbers; integer dtypes are kept, and an integer
            divisor of 0 raises RuntimeError as in PyTorch.
        out: optional tensor to write the result into.

    Returns:
        ``input - floor(input / other) * other``.

    >>> import deltagrad as dg
    >>> dg.remainder(dg.tensor([-3, 3]), 2).tolist()
    [1, 1]
    """
    if (out is None and type(input) is Tensor and type(other) is Tensor
            and input._data.dtype.kind == "f" and other._data.dtype.kind == "f"):
        # Two float tensors: none of the checks below applies (fwd + bwd 0.97 of its time,
        # fmod's 0.93: op_overhead.py's cases, alternated, thread time, s29 SP46)
        return apply(_REMAINDER, input, other)
    number_first = not isinstance(input, Tensor)
    require_a_tensor("remainder", input, other)
    if number_first and out is not None:  # (PyTorch's remainder(Scalar, Tensor) has no out=)
        raise TypeError(f"remainder() received an invalid combination of arguments - got "
                        f"({type(input).__name__}, Tensor, out=Tensor)")
    input, other = operands(input, other)
    _no_complex_kernel("remainder_cpu", input, other)
    result = write_out("remainder", out, apply(OPS["remainder"], input, other))
    if number_first:  # (PyTorch's remainder(Scalar, Tensor) has no derivative: 7 % x too)
        return pointwise_math.without_derivative(result, _REMAINDER_NUMBER_NODE)
    return result


_REMAINDER_NUMBER_NODE = pointwise_math.no_derivative_node("remainder", OPS["remainder"])


@tensor_method
def fmod(input, other, *, out=None) -> Tensor:
    """C's fmod: the remainder of truncated division, with the dividend's sign.

    >>> import deltagrad as dg
    >>> dg.fmod(dg.tensor([-3, 3]), 2).tolist()
    [-1, 1]
    """
    if (out is None and type(input) is Tensor and type(other) is Tensor
            and input._data.dtype.kind == "f" and other._data.dtype.kind == "f"):
        return apply(_FMOD, input, other)
    require_tensors("fmod", input=input)
    input, other = operands(input, other)
    _no_complex_kernel("fmod_cpu", input, other)
    return write_out("fmod", out, apply(OPS["fmod"], input, other))


@tensor_method(name="__floordiv__")
def _floordiv(self, other) -> Tensor:
    if type(other) is np.bool_:
        other = float(other)  # (PyTorch reads a NumPy bool as a float)
    if not isinstance(other, (Tensor, numbers.Number)):  # (as PyTorch's operators)
        return NotImplemented
    return floor_divide(self, other)


@tensor_method(name="__rfloordiv__")
def _rfloordiv(self, other) -> Tensor:
    if type(other) is np.bool_:
        other = float(other)  # (PyTorch reads a NumPy bool as a float)
    if not isinstance(other, (Tensor, numbers.Number)):  # (a list: Python's TypeError)
        return NotImplemented
    return floor_divide(_lift(other, self), self)


@tensor_method(name="__mod__")
def _mod(self, other) -> Tensor:
    if type(other) is np.bool_:
        other = float(other)  # (PyTorch reads a NumPy bool as a float)
    if not isinstance(other, (Tensor, numbers.Number)):  # (as PyTorch's operators)
        return NotImplemented
    return remainder(self, other)


@tensor_method(name="__rmod__")
def _rmod(self, other) -> Tensor:
    if type(other) is np.bool_:
        other = float(other)  # (PyTorch reads a NumPy bool as a float)
    if not isinstance(other, (Tensor, numbers.Number)):  # (a list: Python's TypeError)
        return NotImplemented
    result = remainder(_lift(other, self), self)
    if isinstance(other, Tensor):
        return result
    return pointwise_math.without_derivative(result, _REMAINDER_NUMBER_NODE)


@tensor_method
def pow(input, exponent, *, out=None) -> Tensor:  # noqa: A001 - PyTorch's name
    """``input ** exponent``, broadcast; ``input`` may be a number (``pow(2, x)``).

    Integer tensors to integer powers stay integer (a negative Python exponent raises, as in
    PyTorch); 0 ** 0 is 1 with gradient 0.

    Args:
        input: tensor or number (the base).
        exponent: tensor or number.
        out: optional tensor to write the result into.

    Returns:
        The power.
    """
    if not isinstance(input, Tensor):
        if not isinstance(input, numbers.Number):  # (a list, an ndarray: PyTorch's TypeError)
            raise not_a_tensor("pow", "input", 1, input)
        require_tensors("pow", exponent=exponent)
        result = exponent.__rpow__(input)
    else:
        if not isinstance(exponent, (Tensor, numbers.Number)):
            raise not_a_tensor("pow", "exponent", 2, exponent)
        if isinstance(exponent, Tensor) and input._data.dtype.kind == "b" == (
                exponent._data.dtype.kind):
            raise NotImplementedError("\"pow\" not implemented for 'Bool'")
        result = input ** exponent
    return write_out("pow", out, result)


@tensor_method
def float_power(input, exponent, *, out=None) -> Tensor:
    """``pow`` computed in float64 whatever the dtypes (the result is float64; complex128
    where either operand is complex)."""
    complex_ = builtins.any(isinstance(v, complex) or (
        isinstance(v, Tensor) and v._data.dtype.kind == "c") for v in (input, exponent))
    wide = dtypes.complex128 if complex_ else dtypes.float64
    number = complex if complex_ else float
    if isinstance(exponent, Tensor):
        exponent = exponent.to(wide)
    elif isinstance(exponent, numbers.Number):
        if type(exponent) is int and not -(1 << 63) <= exponent < (1 << 64):
            raise OverflowError("int too big to convert")  # (PyTorch's parser, first)
        exponent = number(exponent)
    else:
        raise not_a_tensor("float_power", "exponent", 2, exponent)
    if isinstance(input, Tensor):
        input = input.to(wide)
    elif isinstance(input, numbers.Number) and isinstance(exponent, Tensor):
        if type(input) is int and not -(1 << 63) <= input < (1 << 64):
            raise OverflowError("int too big to convert")  # (PyTorch's scalar base)
        input = number(input)
    else:
        raise not_a_tensor("float_power", "input", 1, input)
    return write_out("float_power", out, pow(input, exponent), exact=True)  # (out= float64)


@tensor_method
def neg(input, *, out=None) -> Tensor:
    """``-input`` (bool raises, as in PyTorch: use ``logical_not``)."""
    result = -input_tensor(input)  # Tensor.__neg__: PyTorch's error for bool
    return result if out is None else write_out("neg", out, result, exact=True)


negative = tensor_method(neg, name="negative")


@tensor_method
def positive(input) -> Tensor:
    """``input`` itself (bool raises, as in PyTorch)."""
    input = input_tensor(input)
    if input._data.dtype.kind == "b":
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


@tensor_method
def abs(input, *, out=None) -> Tensor:  # noqa: A001 - PyTorch's name
    """``|input|``; integers stay integer; abs'(0) = 0."""
    input = input_tensor(input)
    # A complex input's (real) abs is cast into an out= of any floating dtype, as PyTorch's,
    # but a complex one must be the input's dtype.
    complex_input = input._data.dtype.kind == "c"
    if complex_input and out is not None and out._data.dtype.kind == "c" and (
            out._data.dtype != input._data.dtype):
        raise RuntimeError(f"Found dtype {torch_name(out._data.dtype)} but expected "
                           f"{torch_name(input._data.dtype)}")
    return write_out("abs", out, apply(_ABS, input), exact=not complex_input)


absolute = tensor_method(abs, name="absolute")


@tensor_method
def square(input, *, out=None) -> Tensor:
    """``input ** 2`` (integers stay integer; bool gives int64, as in PyTorch)."""
    return write_out("square", out, input_tensor(input) ** 2)


# ==============================================================================================
# The basic functions and activations (their ops are on the operators' fast path).
# A non-tensor input is PyTorch's TypeError (input_tensor), behind one inline type test:
# op_overhead.py --ops add,mul,exp,sum,mean,relu, 1 thread, 3 alternated runs against the
# lenient conversion: median ratio to torch 0.375-0.380 vs 0.380-0.384 (session 9, U1).


@tensor_method
def exp(input, *, out=None) -> Tensor:
    """``e ** input``; integer input gives the default float dtype."""
    result = _unary(_EXP, input if type(input) is Tensor else input_tensor(input))
    return result if out is None else write_out("exp", out, result)


@tensor_method
def log(input, *, out=None) -> Tensor:
    """Natural logarithm (nan below 0, -inf at 0); integer input gives the default float."""
    result = _unary(_LOG, input if type(input) is Tensor else input_tensor(input))
    return result if out is None else write_out("log", out, result)


@tensor_method
def sqrt(input, *, out=None) -> Tensor:
    """Square root (nan below 0); integer input gives the default float dtype."""
    result = _unary(_SQRT, input if type(input) is Tensor else input_tensor(input))
    return result if out is None else write_out("sqrt", out, result)


@tensor_method
def sin(input, *, out=None) -> Tensor:
    """Sine, elementwise."""
    result = _unary(_SIN, input if type(input) is Tensor else input_tensor(input))
    return result if out is None else write_out("sin", out, result)


@tensor_method
def cos(input, *, out=None) -> Tensor:
    """Cosine, elementwise."""
    result = _unary(_COS, input if type(input) is Tensor else input_tensor(input))
    return result if out is None else write_out("cos", out, result)


@tensor_method
def tanh(input, *, out=None) -> Tensor:
    """Hyperbolic tangent, elementwise."""
    result = _unary(_TANH, input if type(input) is Tensor else input_tensor(input))
    return result if out is None else write_out("tanh", out, result)


@tensor_method
def sigmoid(input, *, out=None) -> Tensor:
    """``1 / (1 + exp(-input))``, without overflow for large ``|input|``."""
    result = _unary(_SIGMOID, input if type(input) is Tensor else input_tensor(input))
    return result if out is None else write_out("sigmoid", out, result)


@tensor_method
def relu(input) -> Tensor:
    """``max(input, 0)``; relu'(0) = 0."""
    refuse_complex(input, 'clamp is not supported for complex types')
    if type(input) is not Tensor:  # (the common call: one type test)
        input = input_tensor(input)
    if input._data.dtype.kind == "b":
        raise RuntimeError("Boolean inputs not supported for relu")
    return _unary(_RELU, input)


# ==============================================================================================
# Clamping, maximum and minimum.


@tensor_method
def clamp(input, min=None, max=None, *, out=None) -> Tensor:  # noqa: A002 - PyTorch's names
    """Limit ``input`` to ``[min, max]``: ``minimum(maximum(input, min), max)``.

    Args:
        input: a tensor.
        min, max: numbers or tensors (broadcast), at least one given. Where min > max the
            result is max, as in PyTorch.
        out: optional tensor to write the result into.

    Returns:
        The clamped tensor. The gradient passes to ``input`` where min <= input <= max (bounds
        included), to a tensor bound where it is the result.

    >>> import deltagrad as dg
    >>> dg.clamp(dg.tensor([-2.0, 0.5, 3.0]), min=-1.0, max=1.0).tolist()
    [-1.0, 0.5, 1.0]
    """
    if (out is None and type(input) is Tensor and type(min) in _BOUNDS and type(max) in _BOUNDS
            and input._data.dtype.kind == "f" and (min is not None or max is not None)):
        # A float tensor and Python numbers, the usual call: the general path's checks that
        # apply to it, in its order (fwd + bwd 0.95 of its time, op_overhead.py's cases, s29)
        scalars_in_range(min, max)
        for bound in (min, max):
            if bound is not None:
                check_fits(bound, input._data.dtype)
        return apply(_CLAMP, input, min=min, max=max)
    if min is not None and max is not None and isinstance(min, Tensor) != isinstance(max, Tensor):
        bound = min if isinstance(min, Tensor) else max
        if bound.ndim != 0 or bound.requires_grad:  # (PyTorch's parser: a number is neither)
            raise TypeError("clamp(): min and max must both be tensors or both be numbers")
        # PyTorch's number overload takes a 0-d tensor as a number (tensorly's clip(x, 0, x.max()))
        min, max = (b.item() if isinstance(b, Tensor) else b for b in (min, max))  # noqa: A001
    scalars_in_range(min, max)
    refuse_complex(input, 'clamp is not supported for complex types')
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    input = input_tensor(input, "clamp")
    for bound in (min, max):  # (a list, an ndarray: PyTorch's TypeError, not a tensor bound)
        if not (bound is None or type(bound) in PLAIN_NUMBERS
                or isinstance(bound, (Tensor, numbers.Number))):
            raise not_a_tensor("clamp", "min" if bound is min else "max", None, bound)
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        for bound in (min, max):
            refuse_complex(bound, 'clamp is not supported for complex types')
        if min is not None and max is not None and all(
                b._data.dtype.kind == "b" for b in (input, min, max)):  # (one bound: computed)
            raise NotImplementedError("\"clamp_cpu\" not implemented for 'Bool'")
        if max is None:
            result = apply(_CLAMP_MIN, input, as_tensor(min, input))
        elif min is None:
            result = apply(_CLAMP_MAX, input, as_tensor(max, input))
        else:
            result = apply(_CLAMP_TENSOR, input, as_tensor(min, input), as_tensor(max, input))
    else:
        if (isinstance(min, complex) or isinstance(max, complex)) and (
                input._data.dtype.kind in "fV"):  # (PyTorch reads the real part: _real_bound)
            min, max = (_real_bound(v) for v in (min, max))  # noqa: A001
        if input._data.dtype.kind == "b" and all(isinstance(v, (bool, np.bool_)) or v is None
                                                 for v in (min, max)):
            # (a bool result: PyTorch has no bool clamp kernel; a number bound promotes)
            kernel = "clamp" if min is not None and max is not None else (
                "clamp_min" if max is None else "clamp_max")
            raise NotImplementedError(f"\"{kernel}_scalar_cpu\" not implemented for 'Bool'")
        if input._data.dtype.kind in "iu":  # int bounds cast into an int result, not a float one
            f = any(isinstance(v, (float, np.floating)) for v in (min, max))  # (uint8: -1 is 255)
            min, max = ((float(v) if f else wrapped(v, input._data.dtype, True))  # noqa: A001
                        if type(v) is int else v for v in (min, max))
        for bound in (min, max):
            if isinstance(bound, complex):  # (PyTorch's clamp has no complex scalar kernel)
                raise NotImplementedError("clamp is not supported for complex types")
            if bound is not None and input._data.dtype.kind in "fV":
                # PyTorch converts a bound into the tensor's dtype, checked (float16: 65520
                # overflows it); NumPy would compare with the wider value
                check_fits(bound, input._data.dtype)
            elif type(bound) is float:  # (over integers: the default float dtype's range)
                check_fits(bound, dtypes._Default.float)
        result = apply(_CLAMP, input, min=min, max=max)
        # (PyTorch's clamp with number bounds casts into no other out= dtype; tensor bounds do)
        return write_out("clamp", out, result, exact=True)
    return write_out("clamp", out, result)


clip = tensor_method(clamp, name="clip")
_BOUNDS = (float, int, type(None))  # (clamp's shortcut: not bool, a NumPy number or a tensor)


@tensor_method
def clamp_min(input, min, *, out=None) -> Tensor:  # noqa: A002 - PyTorch's name
    """``clamp(input, min=min)``."""
    if (out is None and type(input) is Tensor and type(min) is Tensor
            and input._data.dtype.kind == "f" and min._data.dtype.kind == "f"):
        # Two float tensors, the usual call: clamp's node without its checks of numbers, bool
        # and complex bounds, none of which applies (fwd + bwd on op_overhead.py's cases 0.89
        # of its time, clamp_max's 0.87; alternated, thread time, s29 SP46).
        return rename_node(apply(_CLAMP_MIN, input, min), "ClampMinBackward1")
    refuse_complex(input, 'clamp is not supported for complex types')
    if isinstance(min, complex):  # (unlike clamp's, whose number PyTorch reads as a real)
        raise NotImplementedError("clamp is not supported for complex types")
    result = clamp(input, min=min, out=out)  # (PyTorch's node: its own, overload 1 for a tensor)
    return result if out is not None else rename_node(
        result, "ClampMinBackward1" if isinstance(min, Tensor) else "ClampMinBackward0")


@tensor_method
def clamp_max(input, max, *, out=None) -> Tensor:  # noqa: A002 - PyTorch's name
    """``clamp(input, max=max)``."""
    if (out is None and type(input) is Tensor and type(max) is Tensor
            and input._data.dtype.kind == "f" and max._data.dtype.kind == "f"):
        return rename_node(apply(_CLAMP_MAX, input, max), "ClampMaxBackward1")  # (as above)
    refuse_complex(input, 'clamp is not supported for complex types')
    if isinstance(max, complex):  # (as clamp_min)
        raise NotImplementedError("clamp is not supported for complex types")
    result = clamp(input, max=max, out=out)
    return result if out is not None else rename_node(
        result, "ClampMaxBackward1" if isinstance(max, Tensor) else "ClampMaxBackward0")


@tensor_method
def maximum(input, other, *, out=None) -> Tensor:
    """Elementwise maximum, nan if either is nan; at a tie the gradient is split in half."""
    require_tensors("maximum", input=input, other=other)
    _real_only("maximum", input, other)
    return write_out("maximum", out, apply(OPS["maximum"], input, other))


@tensor_method
def minimum(input, other, *, out=None) -> Tensor:
    """Elementwise minimum, nan if either is nan; at a tie the gradient is split in half."""
    require_tensors("minimum", input=input, other=other)
    _real_only("minimum", input, other)
    return write_out("minimum", out, apply(OPS["minimum"], input, other))


@tensor_method
def fmax(input, other, *, out=None) -> Tensor:
    """Elementwise maximum ignoring nan (nan only where both are); a tie's gradient goes to
    ``input``, as in PyTorch."""
    require_tensors("fmax", input=input, other=other)
    _real_only("fmax", input, other)
    return write_out("fmax", out, apply(OPS["fmax"], input, other))


@tensor_method
def fmin(input, other, *, out=None) -> Tensor:
    """Elementwise minimum ignoring nan; a tie's gradient goes to ``input``."""
    require_tensors("fmin", input=input, other=other)
    _real_only("fmin", input, other)
    return write_out("fmin", out, apply(OPS["fmin"], input, other))


# ==============================================================================================
# Selection.


def where(condition, input=None, other=None) -> Tensor:
    """Elementwise ``input`` where ``condition`` else ``other`` (broadcast); no gradient to the
    mask. With the condition alone, the indices where it holds (``nonzero(as_tuple=True)``).
    """
    scalars_in_range(input, other)
    if not isinstance(condition, Tensor):
        raise not_a_tensor("where", "condition", 1, condition)
    for value, argument in ((input, "input"), (other, "other")):
        if not (value is None or type(value) in PLAIN_NUMBERS
                or isinstance(value, (Tensor, numbers.Number))):
            raise not_a_tensor("where", argument, 2 if argument == "input" else 3, value)
    condition = condition._data
    if input is None and other is None:  # (a 0-d condition counts as 1-d, as in nonzero)
        return tuple(_leaf(i.astype(np.int64)) for i in np.nonzero(np.atleast_1d(condition)))
    if condition.dtype != np.bool_:
        if condition.dtype != np.uint8:  # (uint8: PyTorch's deprecated form, still accepted)
            from ..forward_errors import scalar_word  # (the rare path)

            raise DTypeError(f"where expected condition to be a boolean tensor, but got a "
                             f"tensor with dtype {scalar_word(condition.dtype)}")
        condition = deprecations.uint8_condition(condition)
    like = input if isinstance(input, Tensor) else (other if isinstance(other, Tensor) else None)
    if like is not None:
        input, other = (_fit_scalar(v, like._data.dtype) for v in (input, other))
    else:  # (two numbers: the default dtype's range, as PyTorch checks it: 1e39 raises)
        for value in (input, other):
            if type(value) is float:
                check_fits(value, dtypes._Default.float)
    input, other = _t(input, like), _t(other, like)
    if input._data.dtype != other._data.dtype:
        # PyTorch's ranked promotion, not NumPy's: where(c, uint8, int8 0-d) is uint8,
        # where(c, int16, float16) float16 (NumPy: int16 and float32).
        dtype = dtypes.of(result_type(input._data, other._data))
        input, other = input.to(dtype), other.to(dtype)
    return apply(OPS["where"], _leaf(condition), input, other)


@tensor_method(name="where")
def _where_method(input, condition, other) -> Tensor:
    return where(condition, input, other)


@tensor_method
def masked_fill(input, mask, value):
    """``input`` with ``value`` where ``mask`` (bool, broadcastable) is true, in ``input``'s
    dtype as PyTorch's: a number or 0-d tensor ``value`` is cast to it (2.5 fills int64 with 2)."""
    if not isinstance(mask, Tensor):
        raise not_a_tensor("masked_fill", "mask", 1, mask)
    if not isinstance(value, (Tensor, numbers.Number)):
        raise not_a_tensor("masked_fill", "value", 2, value)
    if mask._data.dtype != np.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{dtypes.of(mask._data.dtype)}")
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value.ndim} dimension(s).")
    input = input_tensor(input, "masked_fill")
    dtype = input._data.dtype  # (a float that fits any float dtype, inf and nan too: _lift's
    if type(value) is float and dtype.char in "fd" and (value - value != 0 or -6e4 < value < 6e4):
        fill = _leaf(np.asarray(value, dtype=dtype))  # array, unchecked: -inf fill on [1, 4,
    else:  # 12, 12] under no_grad 5.94 -> 3.24 us, alternated, thread time, medians; s27 SP40)
        fill = _masked_fill_value(input, value)
    # The where op itself: the public where's checks and promotion have nothing left to do
    # (a bool mask, the fill in input's dtype). With the where rule's `needs` (no gradient
    # computed for the fill), fwd + bwd on OpInfo's samples 0.80 -> 0.60 x PyTorch's time (old
    # and new code alternated in one process, 21 rounds, thread time, loaded machine; s16 SP).
    # The mask itself is the node's input (not a leaf made of its array), so that capture_step
    # replays a step whose masks are its inputs.
    out = rename_node(apply(_WHERE, mask, fill, input), "MaskedFillBackward1" if isinstance(
        value, Tensor) else "MaskedFillBackward0")  # (a tensor value: overload 1; s28 SL17)
    if type(out._data) is np.ndarray and not out._data.flags.c_contiguous:  # (PyTorch fills a
        out._data = np.ascontiguousarray(out._data)  # contiguous copy; where: the mask's layout)
    return out


def einsum_operands(operands: list, equation: str, same_dtype) -> list:
    """einsum's operands checked for one dtype (``same_dtype(name, a, b)`` raises), except that
    where nothing is summed (``equation`` normalized, with ``->``) PyTorch multiplies them, so
    their dtypes promote: "bld,dn->bldn" of bfloat16 and float32 is float32 (s18 PR)."""
    first = operands[0]._data.dtype
    for x in operands:
        if x._data.dtype != first:
            break
    else:  # (one dtype, the usual call: nothing to promote or refuse, without the import and
        return operands  # a generator: 1.3 -> 0.3 us a call; einsum's fwd + bwd on
        # op_overhead.py's cases 0.90 of its time, alternated, thread time, s29 SP46)
    from .pointwise_extra import promote_types  # (at call time: pointwise_extra imports this)

    terms, output = equation.split("->")
    if builtins.all(label in output for label in terms.replace(",", "")):
        common = operands[0].dtype
        for x in operands[1:]:
            common = promote_types(common, x.dtype)
        operands = [x.to(common) for x in operands]
    for x in operands[1:]:
        same_dtype("einsum", operands[0], x)
    return operands
