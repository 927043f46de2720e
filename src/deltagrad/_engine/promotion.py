"""PyTorch's dtype rules for binary operators: promotion, integer powers and bitwise ops.

PyTorch promotes by category (bool < integer < floating < complex) and ranks operands: tensors
with dimensions decide, a 0-d tensor only raises the category, and a Python number (lifted by
the tensor module to a 0-d array of the other operand's dtype, or of the default float dtype)
acts as a 0-d tensor here. So ``float32 + float64 0-d`` is float32, ``int32 + 2.5`` float32,
``int32 + int64`` int64, ``int32 ** 2`` int32. NumPy alone would widen several of these.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .dtypes import _Default

__all__ = ["ComplexHalfError", "ScalarConversionError", "bitwise", "check_fits", "fitted",
           "float32_unless_float64", "int_power", "int_scalar", "promote_types",
           "refuse_complex", "result_type", "wrapped"]

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3,
             "V": 2}  # (bfloat16: ml_dtypes' kind; NumPy's promotion with floats is PyTorch's)


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """The dtype both operands take (equal ranks): the higher category wins as it is."""
    if a == b:
        return a
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca == cb or {a.kind, b.kind} == {"f", "c"}:
        return np.promote_types(a, b)  # within a category NumPy's lattice is PyTorch's
    return a if ca > cb else b


class ScalarConversionError(RuntimeError, ValueError, TypeError):
    """A tensor of several elements read as one number. PyTorch raises RuntimeError (``item()``,
    ``bool()``), ValueError (``float()``, ``int()``) or, where such a tensor is passed as a
    number argument (``clamp(x, min=t)``), TypeError: this class is each of them."""


_BOUNDS: dict = {}  # integer dtype -> (min, max): np.iinfo costs a microsecond a call


def _bounds(dtype: np.dtype) -> tuple:
    info = np.iinfo(dtype)
    _BOUNDS[dtype] = bounds = (int(info.min), int(info.max))
    return bounds


def int_scalar(value: int, dtype: np.dtype):
    """A Python int met by an integer tensor of ``dtype``, as PyTorch converts it: unchanged
    when it fits; else an int64 0-d array, which the op's promotion then casts into its integer
    dtype by wrapping (uint8: -1 is 255, 300 is 44), as PyTorch's cast does. NumPy alone would
    raise (arithmetic) or compare the mathematical values (comparisons, clip). Beyond int64,
    PyTorch's OverflowError; from 2**63 to 2**64, PyTorch's uint64 number, which its cast
    wraps as it wraps int64's (``uint8_t + 2**63`` is ``t``, ``int64_t - 2**63`` wraps)."""
    low, high = _BOUNDS.get(dtype) or _bounds(dtype)
    if low <= value <= high:
        return value
    if not -(1 << 63) <= value < (1 << 63):
        if not 0 < value < (1 << 64):
            raise OverflowError("int too big to convert")
        value -= 1 << 64
        if low <= value:  # (int64's least value)
            return value
    return np.array(value, dtype=_NUMBER)


# int64 marked as a Python number's (equal to int64, another object): beside a 0-d integer
# tensor it ranks lower (result_type), so that `uint8_0d % -2` stays uint8 as in PyTorch;
# NumPy's own promotion reads it as int64.
_NUMBER = np.dtype(np.int64, metadata={"python number": True})


def wrapped(value, dtype: np.dtype, checked: bool = False):
    """``value`` (a Python int) in integer ``dtype``, wrapping as PyTorch's cast does.

    ``checked``: PyTorch's checked conversion (clamp's bounds, fills): a value outside the
    dtype's range raises RuntimeError, except that an unsigned dtype takes negative values down
    to minus its maximum (two's complement: uint8 takes -1 as 255, not 300 or -256).
    """
    if checked:
        # (the bounds cached, not np.iinfo: full((3, 3), 2) 6.9 -> 5.5 us)
        low, high = _BOUNDS.get(dtype) or _bounds(dtype)
        if low == 0:
            low = -high
        if not low <= value <= high:
            raise RuntimeError(f"value cannot be converted to type {c10_name(dtype)} without "
                               "overflow")
    scalar = int_scalar(value, dtype)
    return scalar if isinstance(scalar, int) else scalar.astype(dtype)[()]


# PyTorch's checked conversions name the C++ type (c10's): "c10::Half", "float", "int" (int32
# only; the other integers as "int8_t" ...), not the dtype's name (session 29, PR23).
_C10_NAMES = {"float16": "c10::Half", "bfloat16": "c10::BFloat16", "float32": "float",
              "float64": "double", "int32": "int", "complex64": "c10::complex<float>",
              "complex128": "c10::complex<double>"}


def c10_name(dtype: np.dtype) -> str:
    """The C++ type PyTorch's overflow messages name for ``dtype``."""
    name = "bfloat16" if dtype.kind == "V" else dtype.name
    return _C10_NAMES.get(name) or f"{name}_t"


def check_fits(value, dtype: np.dtype, half_inf: bool = False) -> None:
    """PyTorch's checked conversion of a Python number into ``dtype`` (fill_, masked_fill,
    where, full): RuntimeError where the value overflows it. Integers wrap into unsigned
    dtypes down to minus the maximum (see ``wrapped``); a float must lie in an integer dtype's
    range (so -0.5 does not fit uint8) and be finite; a finite float beyond a floating dtype's
    maximum overflows it (infinities and nan fit), each part of a complex one too. Bool takes
    any number. ``half_inf``: float16 / bfloat16 take any float, rounded to inf (PyTorch's
    fill_ / full / new_full of one element, scalar_tensor; more elements and masked_fill are
    checked). An int beyond int64 and uint64 is the parser's OverflowError first."""
    if value is None or isinstance(value, str):  # (NumPy read 'a' as True: PyTorch's parser)
        raise TypeError(f"expected a Number as the value, not {type(value).__name__}")
    if type(value) is int and not -(1 << 63) <= value < (1 << 64):
        raise OverflowError("int too big to convert")
    if dtype.kind == "b" or isinstance(value, (bool, np.bool_)):
        return
    if isinstance(value, complex) and dtype.kind != "c":
        if value.imag:
            raise RuntimeError(f"value cannot be converted to type {c10_name(dtype)} without "
                               "overflow")
        value = value.real
    if dtype.kind in "iu":
        if isinstance(value, (int, np.integer)):
            wrapped(int(value), dtype, checked=True)
            return
        value = float(value)
        info = np.iinfo(dtype)
        if value != value or not info.min <= value <= info.max:
            raise RuntimeError(f"value cannot be converted to type {c10_name(dtype)} without "
                               "overflow")
    elif dtype.kind in "fV":  # ("V": ml_dtypes' bfloat16, whose largest value is below)
        value = float(value)
        top = _FLOAT_MAX.get(dtype)
        if top is None:  # (np.finfo costs ~0.7 us a call: x.fill_(1.0) 2.6 -> 1.9 us cached)
            top = _FLOAT_MAX[dtype] = (float(np.finfo(dtype).max) if dtype.kind == "f"
                                       else _BFLOAT16_MAX)
        if value - value == 0 and abs(value) > top and not (half_inf and dtype.itemsize == 2):
            raise RuntimeError(f"value cannot be converted to type {c10_name(dtype)} without "
                               "overflow")  # (finite, too big)
    elif dtype.kind == "c" and dtype.itemsize == 8:  # (complex64: each part within float32's)
        value = complex(value)
        for part in (value.real, value.imag):
            if part - part == 0 and abs(part) > _FLOAT32_MAX:
                raise RuntimeError("value cannot be converted to type c10::complex<float> "
                                   "without overflow")


_FLOAT32_MAX = float(np.finfo(np.float32).max)


_BFLOAT16_MAX = (2 - 2.0 ** -7) * 2.0 ** 127
_FLOAT_MAX: dict = {}  # floating dtype -> its largest finite value (check_fits)


def fitted(value, dtype: np.dtype, half_inf: bool = False):
    """``value`` checked as ``check_fits`` does, a Python int wrapped into an integer ``dtype``
    (uint8 takes -1 as 255), ready to be written into an array of ``dtype``."""
    check_fits(value, dtype, half_inf)
    if dtype.kind == "b":
        return bool(value)  # (NumPy reads only a complex number's real part: 1j is True)
    if dtype.kind == "V" or (dtype.char == "e" and isinstance(value, float)):
        # bfloat16 and float16: PyTorch rounds a number to float32, then to the half dtype
        with np.errstate(over="ignore"):  # (half_inf: 1e300 is inf, 1e10 too in float16)
            single = np.float32(value.real if isinstance(value, complex) else value)
            return single.astype(dtype) if half_inf and dtype.char == "e" else single
    if half_inf and dtype.char == "e" and type(value) is int and not -65520 < value < 65520:
        return math.inf if value > 0 else -math.inf  # (NumPy's cast would warn)
    if isinstance(value, complex) and dtype.kind != "c":
        return value.real  # (check_fits let only a zero imaginary part through)
    if dtype.kind in "iu" and isinstance(value, (int, np.integer)) and not isinstance(
            value, (bool, np.bool_)):
        return wrapped(int(value), dtype)
    return value


def through_float32(dtype: np.dtype, data):
    """``data`` (an array or a number) to write into an array of ``dtype``: a float64 one
    rounded to float32 first where ``dtype`` is float16, as PyTorch's double -> Half
    conversion goes through float (directly, 1 of 2000 random values was an ulp off)."""
    if dtype.char == "e":
        if type(data) is float:
            return np.float32(data)
        if getattr(data, "dtype", None) == np.float64:
            return data.astype(np.float32)
    return data


def refuse_complex(value, message: str, error: type = NotImplementedError) -> None:
    """PyTorch's error for a complex tensor ``value`` given to an op that orders values or has
    no complex kernel (NumPy would order complex numbers lexicographically: a silent answer)."""
    data = getattr(value, "_data", None)
    if data is not None and data.dtype.kind == "c":
        raise error(message)


class ComplexHalfError(TypeError, NotImplementedError):
    """PyTorch's CPU ops have no complex32 kernels: ``TypeError`` (add, mul) or
    ``NotImplementedError`` (div, pow) where float16 meets a lower-ranked complex operand."""


def _combine(dimensioned: np.dtype, zero_dim: np.dtype) -> np.dtype:
    # A 0-d operand changes the result only if its category is higher (or the tensor is bool).
    if _CATEGORY[zero_dim.kind] > _CATEGORY[dimensioned.kind] or dimensioned.kind == "b":
        if zero_dim.kind == "c" and dimensioned.kind in "fV":
            # A floating tensor keeps its precision in the complex result: float32 tensor
            # with a complex128 0-d is complex64 (bfloat16 too); float16's is complex32.
            if dimensioned.itemsize == 8:
                return np.dtype(np.complex128)
            if dimensioned.kind == "f" and dimensioned.itemsize == 2:
                raise ComplexHalfError("Got unsupported ScalarType ComplexHalf")
            return np.dtype(np.complex64)
        return promote_types(dimensioned, zero_dim)
    return dimensioned


def result_type(a: np.ndarray, b: np.ndarray) -> np.dtype:
    """PyTorch's result dtype of a binary op on two arrays (0-d arrays rank lower)."""
    if a.ndim:
        return promote_types(a.dtype, b.dtype) if b.ndim else _combine(a.dtype, b.dtype)
    if b.ndim:
        return _combine(b.dtype, a.dtype)
    if b.dtype is _NUMBER:  # (both 0-d: a Python number's ranks lower)
        return _combine(a.dtype, b.dtype)
    if a.dtype is _NUMBER:
        return _combine(b.dtype, a.dtype)
    return promote_types(a.dtype, b.dtype)


def common(a: np.ndarray, b: np.ndarray) -> tuple:
    """Both arrays in their PyTorch result dtype."""
    dtype = result_type(a, b)
    return (a if a.dtype == dtype else a.astype(dtype),
            b if b.dtype == dtype else b.astype(dtype))


def int_power(x: np.ndarray, y) -> np.ndarray:
    """Integer ``x ** y`` as PyTorch computes it: integer results, a negative Python exponent
    raises, a negative tensor exponent gives 1, -1 or 0 (truncated division)."""
    if isinstance(y, np.ndarray):
        x, y = common(x, y)
        if x.dtype.kind == "b":
            raise NotImplementedError("\"pow\" not implemented for 'Bool'")
        negative = y < 0
        # (the negative entries' powers are replaced below; np.abs(-128) is -128 in int8,
        # which NumPy's power refuses)
        try:
            out = np.power(x, np.where(negative, y.dtype.type(0), y))
        except ValueError:  # (shapes that do not broadcast: PyTorch's RuntimeError)
            raise RuntimeError(f"pow: shapes {list(x.shape)} and {list(y.shape)} cannot be "
                               "broadcast together") from None
        if negative.any():
            inverse = np.where(x == 1, 1, np.where(x == -1, np.where(y % 2 == 0, 1, -1), 0))
            out = np.where(negative, inverse, out).astype(out.dtype)
        return out
    if y < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    if x.dtype.kind == "b":
        if isinstance(y, (bool, np.bool_)):  # bool ** bool stays bool
            return x.copy() if y else np.ones_like(x)
        x = x.astype(np.int64)  # bool ** int is int64 in PyTorch
    low, high = _BOUNDS.get(x.dtype) or _bounds(x.dtype)
    if not low <= y <= high:  # PyTorch converts the exponent to x's dtype, checked
        if not -(1 << 63) <= y < (1 << 64):  # (to 2**64: a uint64 number, RuntimeError)
            raise OverflowError("int too big to convert")
        raise RuntimeError(f"pow: value {y} cannot be converted to type {x.dtype.name} without "
                           "overflow")
    return np.power(x, x.dtype.type(y))


def bitwise(ufunc, name: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A bitwise ufunc on boolean / integer arrays after promotion (bool stays logical)."""
    for x in (a, b):
        if x.dtype.kind not in "biu":
            kind = {"f": "Float", "c": "ComplexFloat"}.get(x.dtype.kind, str(x.dtype))
            if x.dtype == np.float64:
                kind = "Double"
            raise NotImplementedError(f'"{name}_cpu" not implemented for \'{kind}\'')
    a, b = common(a, b)
    if a.dtype.kind == "b" and name in ("lshift", "rshift"):
        raise NotImplementedError(f'"{name}_cpu" not implemented for \'Bool\'')
    return ufunc(a, b)


def integer_array(data, dtype: np.dtype, error: Exception) -> np.ndarray:
    """``tensor(data, dtype=<integer dtype>)`` where NumPy's conversion raised ``error``: PyTorch
    wraps Python ints into an unsigned dtype down to minus its maximum (``tensor(-3,
    dtype=uint8)`` is 253), raises RuntimeError for a number beyond the dtype's range (a float
    out of range or not finite) and ValueError for an int beyond int64."""
    if dtype.kind not in "iu":
        raise error
    raw = np.array(data)
    if raw.dtype == object:
        raise ValueError("Overflow when unpacking long long") from None
    info = np.iinfo(dtype)
    low = -int(info.max) if info.min == 0 else int(info.min)
    if raw.dtype == np.uint64 and not isinstance(data, np.ndarray) and raw.max() >= 1 << 63:
        raise ValueError("Overflow when unpacking long long") from None  # (a Python int)
    if raw.dtype.kind in "iu":
        if not raw.size or (low <= raw.min() and raw.max() <= info.max):
            return raw.astype(dtype)
    elif raw.dtype.kind in "fc":
        out = mixed_numbers(data, info, low)  # ([2.5, -2] into uint8: [2, 254])
        if out is not None:
            return np.array(out, dtype=dtype)
    else:
        raise error
    raise RuntimeError(f"value cannot be converted to type {dtype.name} without overflow") \
        from None


def mixed_numbers(data, info, low):
    """Python ints and floats nested in lists / tuples, each checked against an integer dtype
    by its own type as PyTorch does (an int wraps into an unsigned dtype down to minus its
    maximum, a float must lie in [min, max] and truncates, a complex number is PyTorch's
    TypeError); None where ``data`` holds anything else or a number out of range (the caller
    raises PyTorch's RuntimeError), the first bad element deciding."""
    def one(v):
        if isinstance(v, (list, tuple)):
            return [one(u) for u in v]
        if isinstance(v, numbers.Integral) and not isinstance(v, np.integer):
            if not -(1 << 63) <= int(v) < (1 << 63):  # (PyTorch's int64 parse of it)
                raise ValueError("Overflow when unpacking long long")
            if not low <= int(v) <= info.max:
                raise OverflowError
            return int(v) % (int(info.max) + 1) if info.min == 0 else int(v)
        if isinstance(v, float):
            if not info.min <= v <= info.max:  # (NaN too)
                raise OverflowError
            return int(v)
        if isinstance(v, complex):
            raise TypeError("'complex' object cannot be interpreted as an integer")
        raise LookupError  # (something else: not this function's case)
    try:
        return one(data)
    except (OverflowError, LookupError):
        return None


def size_value(n) -> int:
    """A size in a shape argument as PyTorch's int-list parser reads it: an int (a bool, a
    NumPy integer or any object with ``__index__`` too) or a one-element integer tensor; a
    float is a TypeError, never truncated."""
    if isinstance(n, numbers.Integral):
        return int(n)
    data = getattr(n, "_data", None)  # (a Tensor: this module does not import tensor.py)
    if isinstance(data, np.ndarray) and data.size == 1:
        if data.dtype.kind in "iu":
            return int(data.reshape(()))
        if data.dtype.kind == "b":  # (PyTorch parses it, then raises RuntimeError)
            raise ScalarConversionError("Expected scalar.isIntegral(false) to be true for a "
                                        "size given as a bool tensor")
    elif data is None and hasattr(type(n), "__index__"):
        # (any object with __index__ is an int to PyTorch's parser: torch_einops_utils passes
        # its shape objects so, `torch.empty(shape(t, 'b [n] d'))`)
        return n.__index__()
    raise TypeError(f"argument 'size' must be tuple of ints, but found element of type "
                    f"{type(n).__name__}")


def size_values(shape) -> tuple:
    """A shape's sizes (``size_value`` each); a bool first is PyTorch's TypeError (its parser
    takes the list's kind from the first element: reshape((True, 2)) refused, (2, True) not)."""
    if shape and type(shape[0]) is bool:
        raise TypeError("argument 'shape' must be tuple of ints, but found element of type bool "
                        "at pos 0")
    return tuple(map(size_value, shape))


_FLOAT64 = np.dtype(np.float64)


def float32_unless_float64(data: np.ndarray, inputs) -> np.ndarray:
    """PyTorch's promotion, for a float64 result from NumPy: a float64 (or complex128) input
    keeps it; else the widest floating input's dtype (integers with float32 give float32), or,
    with no floating input (integers alone in a float op), the default dtype. A complex128
    result the same way: complex64 unless an input or the default is double (NumPy's
    int64 + complex64 is complex128, PyTorch's complex64: cat, stack)."""
    widest, floating = None, False
    for x in inputs:
        dtype = x._data.dtype
        if dtype is _FLOAT64 or dtype == _FLOAT64 or (dtype.kind == "c" and dtype.itemsize == 16):
            return data
        if dtype.kind == "f" and (widest is None or dtype.itemsize > widest.itemsize):
            widest = dtype
        floating = floating or dtype.kind in "fcV"
    if data.dtype.kind == "c":
        return data if not floating and _Default.float == _FLOAT64 else data.astype(np.complex64)
    return data.astype(widest if widest is not None else _Default.float)


def floats_or_error(data, array: np.ndarray) -> list:
    """``tensor(data)`` where NumPy made ``array`` of objects or strings: ``data`` as nested
    Python floats / complex numbers where an int past int64 sits beside a float or a complex
    number (PyTorch infers the floating dtype first, then converts each int: ``tensor([1.5,
    2**64])``); else PyTorch's error (``no_dtype_error``) raised."""
    try:
        leaves = np.array(data, dtype=object).ravel() if array.dtype.kind == "O" else None
    except ValueError:  # (ragged)
        leaves = None
    kinds = {type(leaf) for leaf in leaves} if leaves is not None else set()
    if not kinds or not kinds <= {bool, int, float, complex} or not kinds & {float, complex}:
        raise no_dtype_error(data, array)
    wide = np.complex128 if complex in kinds else np.float64
    return np.array([wide(leaf) for leaf in leaves], dtype=wide).reshape(array.shape).tolist()


def no_dtype_error(data, array: np.ndarray) -> Exception:
    """PyTorch's exception for ``tensor(data)`` where ``np.array(data)`` is ``array``, of no
    tensor dtype: a lone string is a TypeError; strings first (a column of labels) a ValueError,
    as PyTorch reads a string as a sequence; a string later a TypeError; another object (None,
    pd.NA) a RuntimeError. Programs catch these by type."""
    if isinstance(data, (str, bytes)):
        return TypeError(f"new(): invalid data type '{type(data).__name__}'")
    if array.ndim == 0:  # (one object: an operator's argument, x.mul_(None): TypeError)
        return TypeError(f"cannot make a tensor from data of type {type(data).__name__}")
    try:  # (the elements as given: np.array([1, 'a']) made the 1 a string)
        leaves = np.array(data, dtype=object).ravel()
    except ValueError:  # (ragged)
        leaves = array.astype(object).ravel()
    if leaves.size and isinstance(leaves[0], str):  # (bytes: the TypeError below)
        return ValueError(f"too many dimensions '{type(leaves[0]).__name__}'")
    for leaf in leaves:
        if isinstance(leaf, (str, bytes)):
            return TypeError(f"new(): invalid data type '{type(leaf).__name__}'")
        if not isinstance(leaf, (numbers.Number, np.generic)):
            return RuntimeError(f"Could not infer dtype of {type(leaf).__name__}")
    return TypeError(f"cannot make a tensor from data of type {type(data).__name__}")


def pandas_items(data):
    """A pandas Series / Index / DataFrame as PyTorch reads it, a sequence whose item ``i`` is
    ``data[i]``: its NumPy values where they are numbers (NumPy scalars keep their dtype, so a
    float Series is float64, not the default float), else a list of its items (a Series of
    lists is a matrix); ValueError where ``data[0]`` fails (a Series indexed by labels other
    than 0, 1, ..., a DataFrame without a column 0)."""
    if not len(data):
        return []  # (an empty sequence: the default dtype)
    try:
        data[0]
    except Exception:  # noqa: BLE001 - KeyError, IndexError, ...: PyTorch's ValueError
        raise ValueError(f"could not determine the shape of object type "
                         f"'{type(data).__name__}'") from None
    if not hasattr(data, "dtype"):  # (a DataFrame: its columns by the labels 0, 1, ...)
        return [data[i] for i in range(len(data))]
    if not isinstance(data.dtype, np.dtype) and data.isna().any():  # (pd.NA: PyTorch's error)
        return list(data)
    array = np.asarray(data)
    return array if array.dtype.kind in "biufc" else list(data)
