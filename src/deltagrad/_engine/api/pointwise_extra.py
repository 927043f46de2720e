"""Promotion queries (result_type, can_cast, promote_types), the fused addcmul / addcdiv, rsub,
integer gcd / lcm, the floating-point functions ldexp / frexp / nextafter, and the gamma family
(lgamma, digamma, polygamma, mvlgamma) with i0, and the closeness tests (isclose, allclose,
equal): PyTorch's names, arguments and dtype rules.
The in-place forms (``addcmul_``, ``lgamma_``, ...) are attached here too, as ``inplace``
attaches the others."""

from __future__ import annotations

import builtins
import math
import numbers

import numpy as np

from .. import bf16, dtypes
from ..autograd import ShapeError
from ..dtypes import _Default
from ..elementwise_layout import laid_out, relaid
from ..modes import MAPPED, refuse_mapped
from ..node_names import rename_node
from ..ops import OPS
from ..ops.elementwise import quiet as quiet_call
from ..ops.elementwise_math import ERR_STATE as _ERR_STATE
from ..ops.elementwise_math import IGNORE_ALL as _IGNORE_ALL
from ..ops.elementwise_math import check_kind
from ..promotion import check_fits, common, refuse_complex
from ..promotion import promote_types as _promote
from ..tensor import Tensor, _leaf, apply, tensor_method
from . import inplace
from ._common import int_arg, return_type, tensor_arg
from ._common import write_out as _write_out_tuple
from ._pointwise import require_tensors, scalar_first, scalars_in_range, write_out
from .pointwise import mul, sub
from .pointwise import pow as _pow

__all__ = ["addcdiv", "addcmul", "allclose", "can_cast", "digamma", "equal", "frexp", "gcd",
           "i0", "isclose", "lcm", "ldexp", "lgamma", "mvlgamma", "nextafter", "polygamma",
           "promote_types", "result_type", "rsub"]

_LGAMMA, _DIGAMMA, _POLYGAMMA = OPS["lgamma"], OPS["digamma"], OPS["polygamma"]
_I0, _FREXP, _NEXTAFTER = OPS["i0"], OPS["frexp"], OPS["nextafter"]

# ==============================================================================================
# Promotion queries. PyTorch ranks operands: tensors with dimensions, then 0-d tensors, then
# Python numbers; a lower rank changes the result only by raising the category.


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """The dtype of a higher-ranked operand (``higher``) meeting a lower-ranked one's."""
    if higher is None:
        return lower
    if lower is None or higher.kind == "c":
        return higher
    if higher.kind == "V" or lower.kind == "V":  # (ml_dtypes' bfloat16: a floating dtype)
        return _combine_bfloat16(higher, lower)
    if lower.kind == "c":
        # A floating operand keeps its precision in the complex result (float64 -> complex128;
        # float16 -> complex64 here, PyTorch's complex32 has no NumPy dtype).
        return np.result_type(higher, np.complex64) if higher.kind == "f" else lower
    if higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return _promote(higher, lower)
    return higher  # integers of a lower rank never widen an integer


def _combine_bfloat16(higher: np.dtype, lower: np.dtype) -> np.dtype:
    # bfloat16 ranks as a floating dtype: a lower-ranked float never widens a higher one.
    if higher.kind in "fV":
        return higher if lower.kind != "c" else np.dtype(np.complex64)
    return lower  # (an integer or bool tensor meeting a lower-ranked bfloat16)


def _number_dtype(value) -> np.dtype:
    """The dtype PyTorch gives a Python number in promotion (floats: the default dtype)."""
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(value, numbers.Integral):
        return np.dtype(np.int64)
    if isinstance(value, numbers.Real):
        return _Default.float
    return dtypes.number_complex(_Default.float)  # (float16's is complex32: NotImplementedError)


def _ranked_dtype(name: str, *operands) -> np.dtype:
    ranks: list = [None, None, None]  # tensors with dims, 0-d tensors, numbers
    for value in operands:
        if isinstance(value, Tensor):
            rank, dtype = (0 if value._data.ndim else 1), value._data.dtype
        elif isinstance(value, numbers.Number):
            rank, dtype = 2, _number_dtype(value)
        else:
            kinds = ", ".join(type(v).__name__ for v in operands)
            raise TypeError(f"{name}() received an invalid combination of arguments - got "
                            f"({kinds}): each must be a Tensor or a Number")
        ranks[rank] = dtype if ranks[rank] is None else _promote(ranks[rank], dtype)
    return _combine(ranks[0], _combine(ranks[1], ranks[2]))


def result_type(tensor, other) -> dtypes.dtype:
    """The dtype an arithmetic op on ``tensor`` and ``other`` gives, by PyTorch's rules.

    Args:
        tensor, other: tensors or Python numbers. Tensors with dimensions decide; a 0-d tensor
            or a number only raises the category (bool < integer < floating < complex), and a
            Python float counts as the default dtype.

    Returns:
        A ``deltagrad.dtype``.

    >>> import deltagrad as dg
    >>> dg.result_type(dg.tensor([1, 2], dtype=dg.int32), 2.5)
    deltagrad.float32
    >>> dg.result_type(dg.tensor([1, 2], dtype=dg.int32), dg.tensor(7))
    deltagrad.int32
    """
    scalars_in_range(tensor, other)  # (an int past int64 and uint64: PyTorch's OverflowError)
    return dtypes.of(_ranked_dtype("result_type", tensor, other))


def _dtype_arg(name: str, argument: str, value) -> np.dtype:
    if isinstance(value, (str, bytes, Tensor, numbers.Number)) or value is None:
        raise TypeError(f"{name}(): argument '{argument}' must be torch.dtype, not "
                        f"{type(value).__name__}")
    return dtypes.to_numpy(value)


def can_cast(from_, to) -> bool:
    """Whether PyTorch's casting rules allow an op to write a ``from_`` result into a ``to``
    tensor: not complex into real, floating into integer or bool, nor anything into bool.

    Args:
        from_, to: dtypes.

    Returns:
        A bool.

    >>> import deltagrad as dg
    >>> dg.can_cast(dg.float64, dg.int32), dg.can_cast(dg.int64, dg.int8)
    (False, True)
    """
    source, target = _dtype_arg("can_cast", "from_", from_), _dtype_arg("can_cast", "to", to)
    if source.kind == "c" and target.kind != "c":
        return False
    if source.kind in "fV" and target.kind in "biu":  # ("V": bfloat16)
        return False
    return not (source.kind != "b" and target.kind == "b")


def promote_types(type1, type2) -> dtypes.dtype:
    """The smallest dtype both ``type1`` and ``type2`` convert to without losing the category
    (``int64`` with ``float16`` is ``float16``; ``uint8`` with ``int8`` is ``int16``).

    >>> import deltagrad as dg
    >>> dg.promote_types(dg.uint8, dg.int8)
    deltagrad.int16
    """
    return dtypes.of(_promote(_dtype_arg("promote_types", "type1", type1),
                              _dtype_arg("promote_types", "type2", type2)))


# ==============================================================================================
# addcmul, addcdiv, rsub.


def _scalar_in(value, dtype: np.dtype):
    """``value`` as PyTorch casts the scalar of addcmul / addcdiv to an integer result."""
    if dtype.kind == "b":
        return bool(value)
    if dtype.kind in "iu":
        return int(value)  # (truncates, as PyTorch's conversion does)
    return value


def _fused(name: str, input, tensor1, tensor2, value, divide: bool, out) -> Tensor:
    require_tensors(name, input=input, tensor1=tensor1, tensor2=tensor2)
    scalars_in_range(value)
    dtype = _ranked_dtype(name, input, tensor1, tensor2)
    if dtype.kind == "b":
        raise NotImplementedError(f"\"{name}_cpu_out\" not implemented for 'Bool'")
    # All three in the result dtype first, as PyTorch computes: int16 input with uint8
    # tensors multiplies in int16 (253 * 253 wraps there, not in uint8).
    tensor1, tensor2 = (t if t._data.dtype == dtype else t.to(dtypes.of(dtype))
                        for t in (tensor1, tensor2))
    # PyTorch converts value to the kernel's compute type, checked: float32 for float16 /
    # bfloat16 (their "opmath"), else the result dtype (1e39 or 1j into float32 raises)
    half = dtype == np.float16 or dtype is bf16.BF16
    if not isinstance(value, bool) and (dtype.kind in "fcV" or isinstance(value, complex)):
        if dtype.kind == "c":  # (each part in the real dtype of its precision)
            real = np.dtype(np.float64 if dtype == np.complex128 else np.float32)
            for part in (complex(value).real, complex(value).imag):
                check_fits(part, real)
        else:
            check_fits(value, np.dtype(np.float32) if half else dtype)
    if half:
        # computed in float32 and rounded once, as PyTorch's kernel: value unrounded
        # (float16 steps rounded the product and the quotient, 1 ulp apart)
        wide = [t.to(dtypes.of(dtype)).to(dtypes.float32) for t in (input, tensor1, tensor2)]
        scaled = wide[1] if value == 1 else wide[1] * value
        result = wide[0] + (scaled / wide[2] if divide else scaled * wide[2])
        result = result.to(dtypes.of(dtype))
    else:
        scaled = tensor1 if value == 1 else tensor1 * _scalar_in(value, dtype)
        result = input + (scaled / tensor2 if divide else scaled * tensor2)
        if result._data.dtype != dtype:  # (pairwise promotion can differ from the three-way)
            result = result.to(dtypes.of(dtype))
        if dtype == np.float32 and not divide and result._data.flags.writeable:
            # PyTorch's float32 addcmul fuses its last step: fma(value * tensor1, tensor2,
            # input), rounded once (all of 4,096 random triples, also transposed / broadcast;
            # rounding the product first differed in 23% with value 1: Adam-style
            # ``exp_avg_sq.addcmul_(g, g, value=1 - beta2)`` in user code, s31 PR26). The
            # float32 product is exact in float64; the sum rounds there, then to float32.
            a = input._data
            wide = scaled._data.astype(np.float64)  # (astype, then in place: NumPy's
            shape = result._data.shape              # mixed-dtype loops were 5x slower)
            with np.errstate(all="ignore"):  # (inf * 0, inf - inf: silent, as before)
                wide = np.multiply(wide, tensor2._data, out=wide if wide.shape == shape else None)
                wide = np.add(wide, a if a.dtype == dtype else a.astype(dtype),
                              out=wide if wide.shape == shape else None)
                result._data[...] = wide
    # PyTorch's layout over its three operands (the pairwise steps' can differ: an expanded
    # input with a transposed tensor2); a fresh result, so its data may be re-laid in place.
    a, b, c = input._data, tensor1._data, tensor2._data
    if not (a.flags.c_contiguous and b.flags.c_contiguous and c.flags.c_contiguous):
        result._data = relaid(result._data, (a, b, c))
    # (one node, named as PyTorch's: was the last step's AddBackward0; s28 SL17)
    result = rename_node(result, "AddcdivBackward0" if divide else "AddcmulBackward0")
    return write_out(name, out, result)


@tensor_method
def addcmul(input, tensor1, tensor2, *deprecated, value=1, out=None) -> Tensor:
    """``input + value * tensor1 * tensor2``, broadcast.

    Args:
        input, tensor1, tensor2: tensors (promoted together by PyTorch's rules).
        value: a number; cast to the result dtype when that is an integer one.
        out: optional tensor to write the result into.

    Returns:
        The result, differentiable in all three tensors.

    >>> import deltagrad as dg
    >>> dg.addcmul(dg.tensor([1.0]), dg.tensor([2.0]), dg.tensor([3.0]), value=0.5).tolist()
    [4.0]
    """
    if deprecated:  # addcmul(input, Number value, Tensor tensor1, Tensor tensor2)
        value, tensor1, tensor2 = scalar_first("addcmul", tensor1, (tensor2, *deprecated),
                                               "value", value)
    return _fused("addcmul", input, tensor1, tensor2, value, False, out)


@tensor_method
def addcdiv(input, tensor1, tensor2, *deprecated, value=1, out=None) -> Tensor:
    """``input + value * tensor1 / tensor2``, broadcast; integer ``tensor1`` and ``tensor2``
    together raise RuntimeError, as in PyTorch.

    Args:
        input, tensor1, tensor2: tensors.
        value: a number.
        out: optional tensor to write the result into.

    Returns:
        The result, differentiable in all three tensors.
    """
    if deprecated:  # addcdiv(input, Number value, Tensor tensor1, Tensor tensor2)
        value, tensor1, tensor2 = scalar_first("addcdiv", tensor1, (tensor2, *deprecated),
                                               "value", value)
    require_tensors("addcdiv", tensor1=tensor1, tensor2=tensor2)
    scalars_in_range(value)
    if tensor1._data.dtype.kind in "biu" and tensor2._data.dtype.kind in "biu":
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future release "
            "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
            "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2))"
            ".to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) "
            "for float inputs. The future addcdiv behavior is just the latter implementation: "
            "(input + value * tensor1 / tensor2), for all dtypes.")
    return _fused("addcdiv", input, tensor1, tensor2, value, True, out)


def rsub(input, other, *, alpha=1) -> Tensor:
    """``other - alpha * input``: subtraction with the operands swapped.

    Args:
        input: a tensor.
        other: a tensor or a number.
        alpha: multiplier of ``input`` (a float alpha with integer operands raises).

    Returns:
        The difference.
    """
    require_tensors("rsub", input=input)
    return sub(other, input, alpha=alpha)


# ==============================================================================================
# Integer and floating-point bit-level functions.


def _promoted_ufunc(name: str, ufunc, kinds: str, input, other, out) -> Tensor:
    """``ufunc`` of the two tensors in their promoted dtype, which must be of ``kinds``; the
    result takes no gradient."""
    require_tensors(name, input=input, other=other)
    x, y = common(input._data, other._data)
    check_kind(name, x, kinds)  # (PyTorch checks the promoted dtype)
    try:
        data = ufunc(x, y)
    except ValueError:
        raise ShapeError(f"{name}: shapes {tuple(input.shape)} and {tuple(other.shape)} cannot "
                         "be broadcast together") from None
    return write_out(name, out, _leaf(data))


def _euclid(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """PyTorch's gcd loop in the dtype itself: |a| and |b| (|min| wraps to min), then
    ``a, b = b % a, a`` with C's truncated remainder until a is 0."""
    a, b = np.abs(a), np.abs(b)
    while True:
        live = a != 0
        if not live.any():
            return b
        before = a.copy()
        a[live] = np.fmod(b[live], a[live])
        b[live] = before[live]


def _gcd(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    result = np.gcd(x, y)
    if x.dtype.kind == "i":
        # NOTE: |min| wraps (|-128| is -128 in int8) and PyTorch's loop then runs on negative
        # numbers: gcd(-128, 6) is -2 there, NumPy's 2. Those elements take PyTorch's loop.
        low = np.iinfo(x.dtype).min
        hit = (x == low) | (y == low)
        if hit.any():
            xs, ys = np.broadcast_arrays(x, y)
            result = np.array(result)
            result[hit] = _euclid(xs[hit], ys[hit])
    return result


@tensor_method
def gcd(input, other, *, out=None) -> Tensor:
    """The greatest common divisor of integer tensors, elementwise (non-negative; gcd(0, 0) is
    0). Floating and bool tensors raise NotImplementedError, as in PyTorch.

    >>> import deltagrad as dg
    >>> dg.gcd(dg.tensor([-4, 0, 6]), dg.tensor([6, 0, -9])).tolist()
    [2, 0, 3]
    """
    return _promoted_ufunc("gcd", _gcd, "iu", input, other, out)


@tensor_method
def lcm(input, other, *, out=None) -> Tensor:
    """The least common multiple of integer tensors, elementwise (non-negative; 0 where either
    is 0).

    >>> import deltagrad as dg
    >>> dg.lcm(dg.tensor([-4, 0, 6]), dg.tensor([6, 5, -9])).tolist()
    [12, 0, 18]
    """
    return _promoted_ufunc("lcm", _lcm, "iu", input, other, out)


def _lcm(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # PyTorch's |x / gcd * y| in C: the product wraps before the absolute value (np.lcm
    # takes |x| and |y| first: lcm(-128, 2**31 - 1) in int32 is -128 there, 128 in PyTorch),
    # and 8 / 16-bit operands are computed in int, then cast; gcd divides x exactly, so
    # floor division is C's
    dtype = np.result_type(x, y)
    g = _gcd(x, y)
    wide = np.int32 if dtype.itemsize < 4 else dtype
    x, y, g = x.astype(wide), y.astype(wide), g.astype(wide)
    with np.errstate(all="ignore"):
        q = np.floor_divide(x, np.where(g == 0, 1, g).astype(wide, copy=False))
        return np.where(g == 0, 0, np.abs(q * y)).astype(dtype)


@tensor_method
def ldexp(input, other, *, out=None) -> Tensor:
    """``input * 2 ** other`` in the operands' promoted dtype (the default float dtype where
    that is an integer one).

    Args:
        input: a tensor.
        other: a tensor of exponents (integer or floating; broadcast).
        out: optional tensor to write the result into.

    Returns:
        The product, differentiable in both (in ``other`` where it is floating).

    NOTE: with negative integer exponents PyTorch's gradient for ``input`` is 0 (it computes
    ``2 ** other`` in integers there); here it is ``2 ** other``, the derivative.
    """
    require_tensors("ldexp", input=input, other=other)
    dtype = _ranked_dtype("ldexp", input, other)
    if other._data.dtype.kind == "b" and dtype.kind in "fV":
        # PyTorch raises for bool exponents of a floating input (it converts them only when
        # the input is integral too).
        raise NotImplementedError("\"ldexp_cpu_exp\" not implemented for 'Bool'")
    if dtype.kind in "biu":  # (bfloat16, kind "V", and complex keep their dtype)
        dtype = _Default.float
    # PyTorch: input * 2 ** other, the power in a floating other's own dtype (float16
    # exponents round there), else in the result's dtype; a 0-d other's in float64 where the
    # result is float64 (measured against PyTorch 2.13 over float16/32/64 x 0-d/dimensioned).
    floating = other._data.dtype.kind in "fV"  # ("V": bfloat16)
    power_dtype = other._data.dtype if floating else dtype
    if other._data.ndim == 0 and dtype == np.float64:
        power_dtype = dtype
    if power_dtype == np.float32 and other._data.dtype.kind != "c":
        # PyTorch's float32 pow is correctly rounded, NumPy's can be an ulp off (which a
        # float64 input shows): raised in float64, rounded once.
        power = _pow(2.0, other.to(dtypes.float64)).to(dtypes.float32)
    else:
        power = _pow(2.0, other if other._data.dtype == power_dtype
                     else other.to(dtypes.of(power_dtype)))
        if power._data.dtype != power_dtype:  # (a 0-d bfloat16 other: 2.0 ** it is float32)
            power = power.to(dtypes.of(power_dtype))
    result = mul(input, power)
    if other._data.dtype.kind in "iu" and bf16.kind(input._data.dtype) == "f":
        # PyTorch 2.13 takes a floating input with integer exponents (wrapped into int32) to
        # std::ldexp, in float32 for float16 / bfloat16: exact where the product overflows or
        # underflows on the way (-0 * 2 ** 32767 is -0, not nan; 3 * 2 ** -150 is 2 ** -148,
        # not 0). The values replace the product's; its node (gradient g * 2 ** other) stays.
        exponent = other._data.astype(np.int32)
        data = input._data.astype(result._data.dtype)
        narrow = data.dtype if data.dtype.itemsize == 2 else None
        with np.errstate(all="ignore"):
            data = np.ldexp(data.astype(np.float32) if narrow else data, exponent)
            result._data = data.astype(narrow) if narrow else data
    return write_out("ldexp", out, result)


frexp_result = return_type("frexp", "mantissa exponent")


@tensor_method
def frexp(input, *, out=None):
    """Split a floating tensor into mantissas in [0.5, 1) (with the sign) and int32 exponents,
    ``input = mantissa * 2 ** exponent`` (0 gives 0 and 0).

    Args:
        input: a floating tensor (integers raise RuntimeError, as in PyTorch).
        out: optional tuple of two tensors to write the results into.

    Returns:
        ``(mantissa, exponent)``; the mantissa is differentiable (its slope is ``2 ** -exponent``).
    """
    if type(input) is not Tensor:
        require_tensors("frexp", input=input)
    if bf16.kind(input._data.dtype) != "f":
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    mantissa = apply(_FREXP, input)
    exponent = _leaf(np.frexp(bf16.upcast(input._data))[1].astype(np.int32, copy=False))
    result = frexp_result(mantissa, exponent)
    return result if out is None else _write_out_tuple(out, result)


@tensor_method
def nextafter(input, other, *, out=None) -> Tensor:
    """The next floating-point value after ``input`` towards ``other``, elementwise.

    Its gradient is PyTorch 2.13's: the incoming gradient passes straight to ``input`` (the
    step is locally constant) where ``input != other``, 0 where they are equal, and ``other``
    gets zeros.

    >>> import deltagrad as dg
    >>> x = dg.tensor([1.0], requires_grad=True)
    >>> dg.nextafter(x, dg.tensor([2.0])).sum().backward()
    >>> x.grad.tolist()
    [1.0]
    """
    require_tensors("nextafter", input=input, other=other)
    # ("V": ml_dtypes' bfloat16, whose nextafter steps one bfloat16 value, as PyTorch's; one
    # float dtype passes untested: fwd + bwd 0.91 of its time, op_overhead.py's cases, s29 SP46)
    if not (input._data.dtype is other._data.dtype and input._data.dtype.kind == "f"):
        check_kind("nextafter", np.empty(0, _promote(input.dtype, other.dtype)), "fV")
    try:
        result = apply(_NEXTAFTER, input, other)
    except ValueError:
        raise ShapeError(f"nextafter: shapes {tuple(input.shape)} and {tuple(other.shape)} "
                         "cannot be broadcast together") from None
    return write_out("nextafter", out, result)


# ==============================================================================================
# The gamma family and i0 (kernels in ops/gamma.py and ops/special_extra.py).


def _unary(name: str, op, input, out) -> Tensor:
    if out is None and type(input) is Tensor:  # (the common call: no checks, no out=)
        return apply(op, input)
    require_tensors(name, input=input)
    return write_out(name, out, apply(op, input))


@tensor_method
def lgamma(input, *, out=None) -> Tensor:
    """log |Gamma(input)| elementwise (+inf at 0, -1, -2, ...); its gradient is digamma.

    >>> import deltagrad as dg
    >>> dg.lgamma(dg.tensor([1.0, 2.0, 5.0])).tolist()
    [0.0, 0.0, 3.178053855895996]
    """
    refuse_complex(input, '"lgamma_vml_cpu" not implemented for \'ComplexFloat\'')
    return _unary("lgamma", _LGAMMA, input, out)


@tensor_method
def digamma(input, *, out=None) -> Tensor:
    """psi(input) = d/dx log Gamma(x) elementwise (-inf at 0, nan at negative integers); its
    gradient is ``polygamma(1, input)``."""
    refuse_complex(input, '"digamma" not implemented for \'ComplexFloat\'')
    return _unary("digamma", _DIGAMMA, input, out)


def polygamma(n: int, input, *, out=None) -> Tensor:
    """The ``n``-th derivative of digamma, elementwise (``n = 0``: digamma itself).

    Args:
        n: a non-negative int.
        input: a tensor (integers give the default float dtype).
        out: optional tensor to write the result into.

    Returns:
        psi^(n)(input); its gradient is ``polygamma(n + 1, input)``.
    """
    if type(n) is not int:  # (PyTorch's parser: a 0-d integer tensor is an int too)
        n = int_arg(n, "n", "polygamma")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    if type(input) is Tensor and input._data.dtype.kind == "c":  # (NumPy kept the real part)
        raise NotImplementedError(f'"{("digamma", "trigamma", "polygamma")[min(n, 2)]}" not '
                                  f"implemented for '{_complex_name(input._data.dtype)}'")
    if out is None and type(input) is Tensor:  # (the common call)
        return apply(_POLYGAMMA, input, n=int(n)) if n else apply(_DIGAMMA, input)
    require_tensors("polygamma", input=input)
    if n == 0:
        return write_out("polygamma", out, apply(_DIGAMMA, input))
    return write_out("polygamma", out, apply(_POLYGAMMA, input, n=int(n)))


def _complex_name(dtype) -> str:
    return "ComplexDouble" if dtype == np.complex128 else "ComplexFloat"


@tensor_method(name="polygamma")
def _polygamma_method(self, n: int) -> Tensor:
    return polygamma(n, self)


@tensor_method
def mvlgamma(input, p: int, *, out=None) -> Tensor:
    """The multivariate log-gamma function of dimension ``p``, elementwise:
    ``sum_{j<p} lgamma(input - j / 2) + p (p - 1) / 4 log(pi)``.

    Args:
        input: a tensor (integers give the default float dtype).
        p: the dimension, an int >= 1.
        out: optional tensor to write the result into.

    Returns:
        The values, differentiable (a sum of lgamma terms).
    """
    require_tensors("mvlgamma", input=input)
    p = int_arg(p, "p", "mvlgamma")
    if input._data.dtype.kind == "b":
        raise RuntimeError("The input tensor may not be a boolean tensor.")
    if input._data.dtype.kind == "c":  # (was the real part's: the cast dropped the rest)
        raise NotImplementedError("mvlgamma: not implemented for complex input")
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    x = input if input._data.dtype.kind in "fV" else input.to(dtypes.of(_Default.float))
    offsets = _leaf(np.arange(p, dtype=x._data.dtype) * x._data.dtype.type(-0.5))  # ("V": bf16)
    terms = apply(_LGAMMA, x.unsqueeze(-1) + offsets)
    result = terms.sum(-1) + p * (p - 1) / 4 * math.log(math.pi)
    return write_out("mvlgamma", out, result)


@tensor_method
def i0(input, *, out=None) -> Tensor:
    """The modified Bessel function of the first kind of order 0, elementwise; its gradient is
    ``special.i1``."""
    refuse_complex(input, '"i0_vml_cpu" not implemented for \'ComplexFloat\'')
    return _unary("i0", _I0, input, out)


# In-place forms of the functions above (inplace.py attaches those of the other families).
for _name in ("addcdiv", "addcmul", "digamma", "gcd", "i0", "lcm", "ldexp", "lgamma",
              "mvlgamma", "nextafter", "polygamma"):
    tensor_method(inplace._wrapping(_name), name=_name + "_")


# ==============================================================================================
# Comparing tensors: elementwise closeness and whole-tensor equality.


@tensor_method
def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """Elementwise ``|input - other| <= atol + rtol * |other|`` (equal infinities count as
    close; NaNs only with ``equal_nan``), broadcast; both tensors of one dtype.

    Returns:
        A boolean tensor.
    """
    input, other = tensor_arg(input, "input", "isclose"), tensor_arg(other, "other", "isclose")
    if equal_nan is None:  # (PyTorch's parser: TypeError, was read as False; s28 BR17)
        raise TypeError("isclose(): argument 'equal_nan' must be bool, not NoneType")
    for name, value in (("rtol", rtol), ("atol", atol)):
        if isinstance(value, Tensor) and value.ndim:  # (PyTorch's float argument: a number)
            raise TypeError(f"isclose(): argument '{name}' must be float, not Tensor")
        if not float(value) >= 0:  # (nan too, as PyTorch)
            raise RuntimeError(f"{name} must be greater than or equal to zero, but got "
                               f"{float(value):g}")  # (C++'s printing of a double)
    if np.dtype(input.dtype) != np.dtype(other.dtype):  # (PyTorch's words first)
        raise RuntimeError(f"{input.type()[6:-6]} did not match {other.type()[6:-6]} "
                           f"(isclose(): input {input.dtype}, other {other.dtype})")
    a, b = input._data, other._data
    if a.shape != b.shape:
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:  # (PyTorch's RuntimeError; xitorch's tests expect that class)
            from ..forward_errors import broadcast_words  # (the rare path)

            raise RuntimeError(f"{broadcast_words(a.shape, b.shape)[:-2]} (isclose: the shapes "
                               f"of input {tuple(a.shape)} and other {tuple(b.shape)} cannot be "
                               f"broadcast together)") from None
    if (type(a) is np.ndarray and type(b) is np.ndarray and a.dtype.kind == "f"
            and type(rtol) in _NUMBERS and type(atol) in _NUMBERS):
        # np.isclose's own steps on float arrays and Python tolerances (b stays in its dtype:
        # its result_type with 1.0), without its wrapper's conversions, finiteness checks of
        # the tolerances and errstate (quiet: |a - b| of huge values overflows; PyTorch is
        # silent). The same booleans; isclose on [5, 5] 21.9 -> 7.6 us, allclose 22.9 -> 8.4
        # (thread time, alternated with HEAD in one process).
        token = _ERR_STATE.set(_IGNORE_ALL)
        try:
            close = np.less_equal(abs(a - b), atol + rtol * abs(b))
            close &= np.isfinite(b)
            close |= a == b
            if equal_nan:
                close |= np.isnan(a) & np.isnan(b)
        finally:
            _ERR_STATE.reset(token)
        return _leaf(laid_out(np.asarray(close), (a, b)))  # (PyTorch's layout)
    if a.dtype == np.bool_:
        a, b = a.astype(np.int64), b.astype(np.int64)
    close = quiet_call(np.isclose, a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    # (quiet: |a - b| of huge values overflows; PyTorch: silent)
    return _leaf(laid_out(np.asarray(close), (a, b)))


_NUMBERS = (float, int)  # (isclose's tolerances taken inline; bool is np.isclose's)


@tensor_method
def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> builtins.bool:
    """Whether ``isclose`` holds everywhere (a Python bool)."""
    if MAPPED:  # (vmap's first example: PyTorch refuses a mapped value here)
        refuse_mapped("allclose", input, other)
    # (the array method: np.all's Python dispatch cost ~3 us)
    return builtins.bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


@tensor_method
def equal(input, other) -> builtins.bool:
    """Whether both tensors have the same shape and the same values (a Python bool)."""
    input, other = tensor_arg(input, "input", "equal"), tensor_arg(other, "other", "equal")
    if MAPPED:  # (vmap's first example: PyTorch refuses a mapped value here)
        refuse_mapped("equal", input, other)
    a, b = input._data, other._data
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        # (PyTorch has no sparse kernel for equal: NotImplementedError; the element-wise test
        # of a sparse storage gave False for a tensor and its own clone)
        layouts = [str(t.layout).rsplit(".", 1)[-1] for t in (input, other)]
        raise NotImplementedError(f"equal() is not supported for sparse tensors (layouts "
                                  f"{layouts[0]} and {layouts[1]}); compare .to_dense() results")
    # (the array method, not np.all's Python dispatch: 3.5 -> 1.9 us on 5 x 5; the reduction
    # it runs, without the method's Python wrapper: 2.22 -> 2.09 us, alternated with HEAD)
    return a.shape == b.shape and builtins.bool(np.logical_and.reduce(a == b, None))
