"""Creation functions: tensor, from_numpy, zeros / ones / full, arange, linspace, *_like
(random draws are in ``api.random``)."""

from __future__ import annotations

import math
import numbers
import operator
import sys

import numpy as np

from .. import dtypes
from ..device import check_device
from ..dtypes import _Default
from ..errors import warn_at_caller, warn_once
from ..promotion import check_fits, fitted, size_value
from ..tensor import Tensor, _leaf, _shape_arg, int64
from ._pointwise import not_a_tensor
from .factories import (  # (the window functions are re-exported here)
    _buffer_array,
    _has_buffer,
    _numpy_dtype,
    _options,
    _requiring_grad,
    bartlett_window,
    blackman_window,
    factory_out,
    hamming_window,
    hann_window,
    kaiser_window,
)
from .legacy_tensors import (  # (PyTorch's legacy tensor types: a module of their own)
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
    _legacy_size,
    refuse_negative_strides,
)
from .memory_formats import (  # (moved out: session 27, FS1)
    channels_last,
    channels_last_3d,
    check_memory_format,
    contiguous_format,
    in_memory_format,
    is_contiguous_as,
    memory_format,
    preserve_format,
)
from .meta_device import meta_factories
from .ramp import float_ramp
from .spaced import linspace, logspace

__all__ = ["channels_last", "channels_last_3d", "contiguous_format", "memory_format",
           "preserve_format", "BoolTensor", "ByteTensor", "CharTensor", "DoubleTensor",
           "FloatTensor", "HalfTensor",
           "IntTensor", "LongTensor", "ShortTensor", "arange", "as_tensor", "empty",
           "empty_like", "eye", "from_numpy", "full", "full_like", "is_tensor", "linspace", "ones",
           "ones_like", "tensor", "zeros", "zeros_like",
           "asarray", "bartlett_window", "blackman_window", "frombuffer", "hamming_window",
           "hann_window", "kaiser_window", "logspace", "scalar_tensor"]


def tensor(data, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of ``data``.

    Python floats become the default dtype (float32 unless ``set_default_dtype`` changed it);
    NumPy arrays keep their dtype; Python integers become int64, booleans bool. In a sequence,
    NumPy scalars and arrays and tensors keep their dtypes and the elements' types are promoted
    as PyTorch does (``[np.float64(1.5), 2.0]`` is float64).

    Args:
        data: a number, a (nested) sequence, an ndarray or a Tensor.
        dtype: the element type (a ``deltagrad.dtype``, a NumPy dtype or Python's float/int).
        device: the CPU (``None``, ``"cpu"`` or ``device("cpu")``); others raise.
        requires_grad: make the result a leaf that requires grad (floating dtypes only).
        pin_memory: accepted and ignored (there is no GPU to copy to).

    >>> tensor([[1.0, 2.0]]).dtype
    deltagrad.float32
    """
    if isinstance(data, Tensor):
        copy_construct_warning("torch.tensor")
    if device is not None:
        _options("tensor", device)
    refuse_negative_strides(data)
    asked = dtype is not None  # (a sequence's inferred dtype never turns floats into integers)
    kinds = set(map(type, data)) if isinstance(data, (list, tuple)) else None
    if kinds is not None and data and isinstance(data[0], np.ndarray):  # (PyTorch's advice)
        warn_once("tensor of ndarrays", "Creating a tensor from a list of numpy.ndarrays is "
                  "extremely slow. Please consider converting the list to a single "
                  "numpy.ndarray with numpy.array() before converting to a tensor.")
    np_bools: list = []
    if kinds is not None and not kinds <= {float, int, bool}:
        data = _tensors_as_scalars(data, dtype, np_bools)
    elif type(data) is np.bool_:
        np_bools.append(data)
    if dtype is None and isinstance(data, (list, tuple)):
        dtype = _sequence_dtype(data)
    if data is None and asked:  # (NumPy's float(None) is nan)
        raise TypeError("must be real number, not NoneType")
    if asked and isinstance(data, np.ndarray) and data.dtype.kind == "c" and (
            dtypes.to_numpy(dtype).kind not in "cb"):  # (PyTorch's copy kernel's UserWarning,
        warn_once("complex to real cast", "Casting complex values to real discards the "
                  "imaginary part")  # once a process; not NumPy's ComplexWarning: s29 BR21)
        data = data.real
    try:
        result = Tensor(data, dtype=dtype)
    except TypeError:  # (NumPy's object array of an int beyond uint64)
        if not asked and _beyond_int64(data, kinds):
            raise ValueError("Overflow when unpacking long long") from None
        if not asked and not isinstance(data, (str, bytes, np.ndarray)) and np.ndim(data) == 0:
            # one object that is no sequence (map, set, generator, None): PyTorch's error here
            # (an operator's argument of this kind stays _as_array's TypeError: x.mul_(None))
            raise RuntimeError(f"Could not infer dtype of {type(data).__name__}") from None
        raise
    except ValueError as error:  # (NumPy's words for a ragged list: PyTorch's instead)
        words = _ragged_words(data) if "inhomogeneous" in str(error) else None
        if words is None:
            raise
        raise ValueError(f"{words} (NumPy: {error})") from None
    if (not asked and result._data.dtype.kind in "uf" and (kinds is None or float not in kinds)
            and _beyond_int64(data, kinds)):
        # Python ints past int64 (NumPy's uint64, or float64 beside smaller ints): PyTorch's
        # int64 parse refuses them (only where ints alone made the dtype: no cost otherwise)
        raise ValueError("Overflow when unpacking long long")
    if np_bools and result._data.dtype.kind in "iu":
        # (PyTorch reads a NumPy bool as an integer index: refused; NumPy made it 1, s29 BR19)
        raise TypeError("'numpy.bool' object cannot be interpreted as an integer")
    if requires_grad is not False:
        return _requiring_grad(result, requires_grad, "tensor", none=False)
    if result._data.dtype.kind in "iu":
        # PyTorch's checked conversion: -0.5 does not fit uint8, 127.9 not int8, nan no integer
        # dtype (NumPy's cast gives 0, 127, garbage): for a float, and for a sequence holding
        # floats (its elements read again as NumPy infers them: only lists pay, ints pass).
        if type(data) is float:
            check_fits(data, result._data.dtype)
        elif asked and isinstance(data, (list, tuple)) and result._data.size:
            inferred = np.asarray(data)
            if inferred.dtype.kind == "f":
                info = np.iinfo(result._data.dtype)
                low, high = inferred.min(), inferred.max()  # (nan propagates into both)
                if not (info.min <= low and high <= info.max):
                    # (each number by its own type: [2.5, -2] into uint8 is [2, 254])
                    from ..promotion import mixed_numbers
                    low = -int(info.max) if info.min == 0 else int(info.min)
                    fixed = mixed_numbers(data, info, low)
                    if fixed is None:
                        raise RuntimeError(f"value cannot be converted to type "
                                           f"{result._data.dtype.name} without overflow")
                    result._data[...] = np.array(fixed, dtype=result._data.dtype)
    return result


def copy_construct_warning(call: str) -> None:
    """PyTorch's UserWarning for ``tensor(a_tensor)`` / ``t.new_tensor(a_tensor)`` (the copy
    works; attributed to the caller's line, as PyTorch's C++ warning is)."""
    warn_at_caller("To copy construct from a tensor, it is recommended to use "
                   "sourceTensor.detach().clone() or sourceTensor.detach().clone()."
                   f"requires_grad_(True), rather than {call}(sourceTensor).")


def _beyond_int64(data, kinds) -> bool:
    """Whether ``data`` is a Python int, or a flat sequence of Python ints and bools, holding
    an int outside int64 (the caller's result dtype tells it may be so)."""
    if type(data) is int:
        return not -(1 << 63) <= data < (1 << 63)
    if not kinds or not kinds <= {int, bool}:
        return False
    return max(data) >= (1 << 63) or min(data) < -(1 << 63)


# PyTorch's type promotion for the elements of a sequence: within a category (bool < integer
# < floating < complex) NumPy's promotion agrees; across categories the higher category's type
# is kept as it is (int32 with float16 gives float16, where NumPy gives float64).
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "V": 2, "c": 3}  # (V: ml_dtypes' bfloat16)


def _promote(a: np.dtype | None, b: np.dtype) -> np.dtype:
    if a is None or a == b:
        return b
    rank_a, rank_b = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if rank_a != rank_b:
        return a if rank_a > rank_b else b
    return np.promote_types(a, b)


_NOT_A_NUMBER = object()


def _element_dtype(value, default_float: np.dtype):
    """PyTorch's inferred dtype of one element of ``tensor``'s data: None for an empty
    sequence (no say in the result), ``_NOT_A_NUMBER`` for anything else that is no number."""
    kind = type(value)
    if kind is float:
        return default_float
    if kind is bool:
        return np.dtype(np.bool_)
    if kind is int:
        return int64
    if isinstance(value, (np.ndarray, np.generic)):
        return value.dtype
    if isinstance(value, Tensor):
        return value._data.dtype
    if isinstance(value, (list, tuple)):
        return _inferred_dtype(value, default_float)
    if isinstance(value, complex):
        return dtypes.default_complex(default_float)
    if isinstance(value, numbers.Integral):
        return int64
    if isinstance(value, numbers.Real):
        return default_float
    return _NOT_A_NUMBER


def _inferred_dtype(data, default_float: np.dtype):
    kinds = set(map(type, data))
    if kinds <= {float, int, bool}:  # the common inner list: no Python loop
        if float in kinds:
            return default_float
        return int64 if int in kinds else (np.dtype(np.bool_) if kinds else None)
    result = None
    for value in data:
        element = _element_dtype(value, default_float)
        if element is _NOT_A_NUMBER:
            return element
        if element is not None:
            result = _promote(result, element)
    return result


def _tensors_as_scalars(data, dtype=None, np_bools: list | None = None):
    """``data`` with each Tensor inside the (nested) sequence read as one number, as PyTorch
    reads it (``tensor([ones(1)])`` has shape (1,), not NumPy's (1, 1); a tensor of several
    elements is PyTorch's ValueError); the same object when it holds no Tensor. A None inside
    with a ``dtype`` asked is PyTorch's TypeError (NumPy's cast makes it nan, or False).
    NumPy bools met are appended to ``np_bools``."""
    # (a list of numbers only, an inner one of Python numbers above all: one C-level pass;
    # tensor() of [1000, 100] nested floats 10.7 -> 4.1 ms, CPU time, best of 7, s29 BR19)
    kinds = set(map(type, data))
    if kinds <= _PLAIN or (kinds.isdisjoint(_LOOKED_AT)
                           and not any(issubclass(kind, Tensor) for kind in kinds)):
        return data
    items = None
    real = dtype is None or getattr(dtype, "is_floating_point", True) or getattr(
        dtype, "is_complex", 0)
    for i, value in enumerate(data):
        if value is None and dtype is not None:
            raise TypeError("must be real number, not NoneType" if real else
                            "'NoneType' object cannot be interpreted as an integer")
        if isinstance(value, Tensor):
            if not real and value._data.dtype.kind in "fcV":  # (PyTorch reads it as an index)
                raise TypeError("only integer tensors of a single element can be converted "
                                "to an index")
            if value._data.size != 1:
                raise ValueError("only one element tensors can be converted to Python scalars")
            value.item()  # (a meta tensor: PyTorch's error; else the 0-d array keeps the dtype)
            new = value._data.reshape(())
            if new.dtype.kind == "c" and dtype is not None and not getattr(dtype, "is_complex", 1):
                if new.imag != 0:  # (PyTorch reads it as a double: an imaginary part raises)
                    raise RuntimeError("value cannot be converted to type double without overflow")
                new = new.real  # (no complex-to-real warning then, as PyTorch: s27 BR15)
        elif isinstance(value, (list, tuple)):
            new = _tensors_as_scalars(value, dtype, np_bools)
        else:
            if type(value) is np.bool_ and np_bools is not None:
                np_bools.append(value)
            elif type(value) is np.ndarray and not value.ndim:  # (PyTorch's sequence read)
                raise TypeError("len() of unsized object")
            continue
        if new is not value:
            if items is None:
                items = list(data)
            items[i] = new
    return data if items is None else items


_PLAIN = frozenset({float, int, bool})
_LOOKED_AT = frozenset({list, tuple, type(None), np.bool_, np.ndarray})  # (_tensors_as_scalars)


def _sequence_dtype(data) -> np.dtype | None:
    """The dtype PyTorch infers for a (nested) sequence, where NumPy's would differ: NumPy
    scalars, arrays and tensors inside keep their dtype (``[np.float64(1.5), 2.0]`` is
    float64), and Python complex numbers give the default complex dtype. None where the
    ordinary rules agree (a flat list of Python numbers) or where the constructor should
    raise its own error (not numbers)."""
    # One C-level pass over the element types; the Python walk runs only for lists holding
    # something other than Python floats, ints and bools (nested lists, NumPy scalars).
    if set(map(type, data)) <= {float, int, bool}:
        return None
    result = _inferred_dtype(data, _Default.float)
    return None if result is _NOT_A_NUMBER else result


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, without copying where it can: a Tensor of that dtype is returned
    itself, an ndarray of that dtype is shared (as ``from_numpy``); other data are copied."""
    _options("as_tensor", device)
    refuse_negative_strides(data)
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None
                                         or dtypes.to_numpy(dtype) == data.dtype):
        _warn_read_only(data)  # (shared, as from_numpy's)
        return _leaf(data)
    return tensor(data, dtype=dtype)  # (a copy: its checked conversions, its overflow errors)


# The frames between a user's call and as_tensor / from_numpy: the meta-device wrapper and,
# once a Tensor subclass armed __torch_function__ dispatch, overrides' dispatcher
_WRAPPERS = (__name__.rpartition(".")[0] + ".meta_device", "deltagrad.overrides")


def _warn_read_only(array: np.ndarray) -> None:
    """PyTorch's once-per-process warning for a read-only ndarray shared by ``from_numpy`` or
    ``as_tensor`` (the caller of either: deltagrad's own calls are not warned)."""
    if array.flags.writeable:  # (the flag read costs ~0.13 us of from_numpy's ~3 us: timeit,
        return  # min of 5, this machine loaded)
    caller = sys._getframe(2)
    while caller.f_globals.get("__name__") in _WRAPPERS:
        caller = caller.f_back
    # A user's np.broadcast_to, memmap, PIL image's array; not deltagrad's own calls, which
    # never write into what they wrap
    if not caller.f_globals.get("__name__", "").startswith("deltagrad."):
        warn_once("from_numpy read-only", "The given NumPy array is not writable, and PyTorch "
                  "does not support non-writable tensors. This means writing to this tensor "
                  "will result in undefined behavior. You may want to copy the array to protect "
                  "its data or make it writable before converting it to a tensor. This type of "
                  "warning will be suppressed for the rest of this program.")


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (no copy; dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects an ndarray, got {type(array).__name__}")
    refuse_negative_strides(array)
    _warn_read_only(array)
    return _leaf(array)


def _creation(fill, size, dtype, requires_grad):
    sequence = len(size) == 1 and isinstance(size[0], (tuple, list))
    for n in size[0] if sequence else size:
        if type(n) is not int:
            if type(n) is bool and n is (size[0][0] if sequence else size[0]):  # (parser's)
                raise TypeError("argument 'size' must be tuple of ints, but found element of "
                                "type bool")
            if isinstance(n, Tensor) and n._data.dtype == np.bool_ and n._data.size == 1:
                size_value(n)  # (PyTorch parses a bool tensor, then raises RuntimeError)
            operator.index(n)  # PyTorch: a float size is a TypeError, not truncated
    shape = _shape_arg(size)
    for n in shape:
        if n < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {n}: {shape}")
    out = _leaf(fill(shape, _numpy_dtype(dtype, _Default.float)))
    return out if requires_grad is False else _requiring_grad(out, requires_grad)


def _ragged_words(data, dim: int = 0):
    """PyTorch's message for nested sequences of unequal lengths ("expected sequence of length
    2 at dim 1 (got 1)"), or None where none is found."""
    items = [x for x in data if isinstance(x, (list, tuple))] if isinstance(
        data, (list, tuple)) else []
    if not items:
        return None
    for item in items[1:]:
        if len(item) != len(items[0]):
            return (f"expected sequence of length {len(items[0])} at dim {dim + 1} (got "
                    f"{len(item)})")
    for item in items:
        words = _ragged_words(item, dim + 1)
        if words is not None:
            return words
    return None


def size_arguments(size_args: tuple, size, where: str) -> tuple:
    """The shape given positionally (``zeros(2, 3)``, ``zeros((2, 3))``) or as ``size=``
    (``zeros(size=(2, 3))``), as PyTorch's factories take it; not both."""
    if size is None:
        if not size_args:  # (`zeros()`: PyTorch's parser; a 0-d shape is `zeros(())`)
            raise TypeError(f'{where}() missing 1 required positional arguments: "size"')
        first = size_args[0]  # (a tuple led by a bool too: rand((True,)) is no size 1)
        if type(first) is not int and (type(first) is not tuple or first and type(first[0])
                                       in (bool, float)):
            _first_size(first, where)
        return size_args
    if size_args:
        raise TypeError(f"{where}() got multiple values for argument 'size'")
    if not isinstance(size, (tuple, list)) or size and type(size[0]) is bool:
        # (PyTorch's parser: `size=` is a sequence of ints only; zeros(size=3) is its TypeError)
        raise TypeError(f"{where}(): argument 'size' must be tuple of ints, not "
                        f"{_type_name(size)}")
    return (size,)


def _type_name(value) -> str:
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def _first_size(first, where: str) -> None:
    """PyTorch's parser on a factory's first size argument that is not an int: a bool or a
    tensor of dims is its TypeError (not a size of 1 / the tensor's values), so is a sequence
    led by a bool (`zeros((True,))`); a later bool (`zeros(2, True)`, `(2, True)`) is an int."""
    if isinstance(first, (bool, float, str)) or first is None or (
            isinstance(first, Tensor) and first.ndim != 0):  # (float / str / None: s28 BR18)
        raise TypeError(f"{where}(): argument 'size' (position 1) must be tuple of ints, not "
                        f"{_type_name(first)}")
    if isinstance(first, (tuple, list)) and first and type(first[0]) is bool:
        # (only a first bool: the parser reads the list's kind from it; (2, True) is (2, 1))
        raise TypeError(f"{where}(): argument 'size' (position 1) must be tuple of ints, "
                        f"but found element of type bool at pos 0")
    if isinstance(first, (tuple, list)) and first and isinstance(first[0], float):
        raise TypeError(f"{where}(): argument 'size' (position 1) must be tuple of ints, "
                        f"but found element of type float at pos 0")


def zeros(*size_args, size=None, out=None, dtype=None, layout=None, device=None,
          requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A tensor of zeros of shape ``size`` (integers or one sequence), default dtype float32.
    ``device`` may name the CPU only; ``layout`` strided only; ``pin_memory`` is ignored."""
    _options("zeros", device, layout)
    if out is not None:
        return factory_out("zeros", out, dtype, requires_grad, lambda d: zeros(
            *size_args, size=size, dtype=d))
    return _creation(np.zeros, size_arguments(size_args, size, "zeros"), dtype, requires_grad)


def ones(*size_args, size=None, out=None, dtype=None, layout=None, device=None,
         requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A tensor of ones (arguments as ``zeros``)."""
    _options("ones", device, layout)
    if out is not None:
        return factory_out("ones", out, dtype, requires_grad, lambda d: ones(
            *size_args, size=size, dtype=d))
    return _creation(_ones, size_arguments(size_args, size, "ones"), dtype, requires_grad)


def _ones(shape, dtype) -> np.ndarray:
    # np.ones' own steps (an empty array, then 1 written into it) without its Python wrapper:
    # ones(3) 3.2 -> 2.7 us (thread time, alternated with HEAD in one process)
    out = np.empty(shape, dtype)
    out.fill(1)
    return out


def empty(*size_args, size=None, out=None, dtype=None, layout=None, device=None,
          requires_grad: bool = False, pin_memory: bool = False, memory_format=None) -> Tensor:
    """An "uninitialised" tensor (arguments as ``zeros``): zeros here, so runs are repeatable.
    ``memory_format`` lays it out as asked (channels-last formats for 4-d and 5-d sizes)."""
    _options("empty", device, layout)
    if out is not None:
        if memory_format is not None:
            raise RuntimeError("'memory_format' argument is incompatible with 'out' tensor "
                               "argument")
        return factory_out("empty", out, dtype, requires_grad, lambda d: empty(
            *size_args, size=size, dtype=d))
    size = size_arguments(size_args, size, "empty")
    fmt = check_memory_format(memory_format, "empty")
    if fmt is preserve_format or fmt is contiguous_format:
        return _creation(np.zeros, size, dtype, requires_grad)
    out = _leaf(in_memory_format(_creation(np.zeros, size, dtype, False), fmt, "empty")._data)
    return out if requires_grad is False else _requiring_grad(out, requires_grad)


def _fill_dtype(fill_value):
    """PyTorch's dtype for ``full`` without ``dtype``: from the fill value's Python type."""
    if type(fill_value) is float:  # (before the ABC checks below: full((3, 3), 2.0) -0.8 us)
        return None
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if isinstance(fill_value, (bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(fill_value, numbers.Integral):
        return int64
    if isinstance(fill_value, complex):  # (the default complex dtype, as PyTorch's)
        return np.dtype(np.complex128 if _Default.float == np.float64 else np.complex64)
    return None


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A tensor of shape ``size`` filled with ``fill_value``; without ``dtype``, bool for a
    bool, int64 for an int, else the default floating dtype (as PyTorch)."""
    _options("full", device, layout)
    if out is not None:
        return factory_out("full", out, dtype, requires_grad, lambda d: full(
            size, fill_value, dtype=d))
    if not isinstance(size, (tuple, list)):
        # (PyTorch's full takes the size as one sequence; full(2, x) is its TypeError)
        raise TypeError(f"full(): argument 'size' must be a tuple of ints, not "
                        f"{type(size).__name__}")
    _first_size(size, "full")
    if isinstance(fill_value, Tensor) and fill_value.ndim != 0:
        raise TypeError("full(): argument 'fill_value' (position 2) must be Number, not Tensor")
    if dtype is None:
        dtype = _fill_dtype(fill_value)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    # (checked as PyTorch: full((2,), 300, dtype=uint8) overflows; -1 wraps to 255)
    # (one float16 / bfloat16 element takes 1e300 as inf: PyTorch checks fills of more only)
    return _creation(lambda s, d: _full(s, fitted(fill_value, d, d.itemsize == 2 and math.prod(
        s) == 1), d), (size,), dtype, requires_grad)


def _full(shape, value, dtype) -> np.ndarray:
    # np.full's own steps (an empty array, then the value copied in with an unsafe cast)
    # without its Python wrapper (~0.4 us; full((3,), 2) 6.9 -> 5.5 us with the cached
    # bounds of promotion.wrapped, alternated with HEAD in one process)
    out = np.empty(shape, dtype)
    np.copyto(out, value, casting="unsafe")
    return out


_SQUARE = object()  # (eye's m not given; a None given is PyTorch's TypeError)


def eye(n: int, m: int = _SQUARE, *, out=None, dtype=None, layout=None, device=None,
        requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """The ``n`` x ``m`` (default square) identity matrix."""
    _options("eye", device, layout)
    if out is not None:
        return factory_out("eye", out, dtype, requires_grad, lambda d: eye(n, m, dtype=d))
    n = _eye_count(n, "n")
    m = None if m is _SQUARE else _eye_count(m, "m")
    for count in (n, m):
        if count is not None and count < 0:
            raise RuntimeError(f"{'n' if count == n else 'm'} must be greater or equal to 0, "
                               f"got {count} (eye)")
    return _creation(lambda s, d: np.eye(n, m, dtype=d), (), dtype, requires_grad)


def _eye_count(count, name: str) -> int:
    """``eye``'s ``n`` / ``m`` as PyTorch's parser reads them: an int or a one-element integer
    tensor (a bool tensor parses, then fails as a RuntimeError; a float is a TypeError)."""
    if type(count) is int:  # (the usual call, before the ABC checks: eye(3, 5) 5.2 -> 3.9 us)
        return count
    if isinstance(count, Tensor) and count._data.size == 1 and count._data.dtype.kind in "biu":
        return size_value(count)
    if isinstance(count, numbers.Integral) and not isinstance(count, (bool, np.bool_)):
        return int(count)
    if _legacy_size(count, False):  # (an __index__ object)
        return size_value(count)
    raise TypeError(f"eye(): argument '{name}' must be int, not {type(count).__name__}")


def arange(start, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """Evenly spaced values in [start, end); integer arguments give int64, others the default
    floating dtype."""
    _options("arange", device, layout)
    if out is not None:
        return factory_out("arange", out, dtype, requires_grad, lambda d: arange(
            start, end, step, dtype=d), warn=True)
    if end is None:
        start, end = 0, start
    if type(start) is int and type(end) is int and type(step) is int:
        # (the common call, without the generators and ABC checks below: arange(10) 3.8 ->
        # 2.6 us, thread time, alternated)
        is_int = True
    else:
        for v in (start, end, step):
            if isinstance(v, Tensor) and v.ndim:  # (PyTorch's parser: a Number, or a 0-d tensor)
                raise TypeError(f"arange(): argument 'end' must be Number, not Tensor of shape "
                                f"{tuple(v.shape)}")
        start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
        is_int = all(isinstance(v, numbers.Integral) for v in (start, end, step))
    if dtype is None:
        dtype = int64 if is_int else _Default.float
    dtype = dtypes.to_numpy(dtype)
    if dtype == np.bool_ or dtype.kind == "c":  # (no such kernel in PyTorch: the values
        # were silently made here)
        name = {"?": "Bool", "F": "ComplexFloat"}.get(dtype.char, "ComplexDouble")
        raise NotImplementedError(f"\"arange_cpu\" not implemented for '{name}'")
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if not (math.isfinite(start) and math.isfinite(end)):  # (was math's OverflowError)
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and lower bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    if dtype == int64:
        # PyTorch converts the bounds and the step to int64 first (truncating).
        start, end, step = int(start), int(end), int(step)
        if step == 0:
            raise ValueError("arange: step must be nonzero")
        values = np.arange(start, end, step, dtype=dtype)
    elif dtype.kind in "iub":
        # Other integer dtypes, as PyTorch: the count from the exact bounds, then the values
        # from the truncated start and step.
        count = max(math.ceil((end - start) / step), 0)
        values = (int(start) + np.arange(count, dtype=np.int64) * int(step)).astype(dtype)
    else:
        # PyTorch computes start + i * step in double, then rounds to the dtype (NumPy's
        # arange steps by a float32 delta, which drifts: 0.9000000358 for 0.9 at i = 9); its
        # vectorized loop rounds a base per vector first (see ramp.py)
        count = max(math.ceil((end - start) / step), 0)
        values = float_ramp(start, step, count, dtype)
    result = _leaf(values)
    return result if requires_grad is False else _requiring_grad(result, requires_grad)


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
               memory_format=None, pin_memory: bool = False) -> Tensor:
    """Zeros with ``input``'s shape (and dtype, unless ``dtype`` is given)."""
    return _like("zeros_like", input, 0, dtype, layout, device, requires_grad, memory_format)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
              memory_format=None, pin_memory: bool = False) -> Tensor:
    """Ones with ``input``'s shape (and dtype, unless ``dtype`` is given)."""
    return _like("ones_like", input, 1, dtype, layout, device, requires_grad, memory_format)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
               memory_format=None, pin_memory: bool = False) -> Tensor:
    """``zeros_like`` (see ``empty``)."""
    return _like("empty_like", input, 0, dtype, layout, device, requires_grad, memory_format)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None,
              requires_grad: bool = False, memory_format=None,
              pin_memory: bool = False) -> Tensor:
    """``fill_value`` with ``input``'s shape (and dtype, unless ``dtype`` is given)."""
    return _like("full_like", input, fill_value, dtype, layout, device, requires_grad,
                 memory_format)


def _like(where, input, fill_value, dtype, layout, device, requires_grad, fmt) -> Tensor:
    # The common call first: a dense row-major input, no options, a number to fill with:
    # the values straight from NumPy, skipping `full`'s argument checks (all would pass).
    # (zeros_like on 5 x 5: 5.5 -> 1.3 us; full_like 5.7 -> 1.7 us; PyTorch 1.0 / 1.5)
    if (fmt is None and layout is None and device is None and isinstance(input, Tensor)
            and type(data := input._data) is np.ndarray and data.flags.c_contiguous
            and type(fill_value) in (int, float) and not input.is_sparse):
        target = data.dtype if dtype is None else dtypes.to_numpy(dtype)
        if fill_value == 0 and type(fill_value) is int:  # (zero bytes: 0 in every dtype)
            out = _leaf(np.zeros(data.shape, target))
        else:
            values = np.empty(data.shape, target)
            # (a number within float16's range fits every floating dtype as it is)
            values.fill(fill_value if target.kind == "f" and -65504 <= fill_value <= 65504
                        else fitted(fill_value, target))
            out = _leaf(values)
        return out if requires_grad is False else _requiring_grad(out, requires_grad, where)
    # The layout: row-major, channels-last when asked, or (preserve_format, the default) as
    # PyTorch for a channels-last input; other strided inputs give row-major results here.
    fmt = check_memory_format(fmt, where)
    if not isinstance(input, Tensor):  # (a list, an ndarray, a number: PyTorch's TypeError)
        raise not_a_tensor(where, "input", 1, input)
    if input.is_sparse:  # (on use: sparse_dense builds on sparse_coo, which imports this module)
        from .sparse_dense import sparse_like
        return sparse_like(where, input, fill_value, dtype, layout, device, requires_grad)
    out = full(input.shape, fill_value, dtype=dtype or input.dtype, layout=layout,
               device=device)
    if fmt is preserve_format and not input._data.flags.c_contiguous and all(input._data.strides):
        # PyTorch keeps the input's order of strides (its own strides where it is dense, dense
        # ones in that order where it is not), as NumPy's order "K" does; a random fill of the
        # result draws in that order. (An expanded input, with zero strides, is left to the
        # rule below: PyTorch orders those dims otherwise.)
        like = np.empty_like(input._data, dtype=out._data.dtype)
        np.copyto(like, out._data)
        out = _leaf(like)
        return out if requires_grad is False else _requiring_grad(out, requires_grad, where)
    if fmt is preserve_format:
        fmt = next((f for f in (channels_last, channels_last_3d)
                    if not input._data.flags.c_contiguous
                    and is_contiguous_as(input._data, f)), contiguous_format)
    if fmt is not contiguous_format:
        out = _leaf(in_memory_format(out, fmt, where)._data)
    return out if requires_grad is False else _requiring_grad(out, requires_grad, where)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def scalar_tensor(s, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
                  pin_memory: bool = False) -> Tensor:
    """A 0-d tensor holding ``s``, in the default floating dtype unless ``dtype`` is given
    (even for an int or a bool, as PyTorch)."""
    _options("scalar_tensor", device, layout)
    if isinstance(s, Tensor):
        s = s.item()
    elif not isinstance(s, numbers.Number):  # (a list, an ndarray: PyTorch's TypeError)
        raise TypeError(f"scalar_tensor(): argument 's' (position 1) must be Number, not "
                        f"{'numpy.ndarray' if isinstance(s, np.ndarray) else type(s).__name__}")
    target = _numpy_dtype(dtype, _Default.float)
    s = fitted(s, target, True)  # (checked: uint8 takes -5 as 251; float16 1e300 as inf: full)
    result = _leaf(np.asarray(s, dtype=target))
    return result if requires_grad is False else _requiring_grad(result, requires_grad)


def asarray(obj, *, dtype=None, device=None, copy: bool | None = None,
            requires_grad: bool | None = None) -> Tensor:
    """``obj`` as a tensor, sharing memory where it can (PyTorch's ``torch.asarray``).

    A Tensor comes back as itself and a NumPy array is wrapped without a copy, unless ``dtype``
    differs or ``copy=True``; ``copy=False`` raises where a copy would be needed. An object with
    the buffer protocol (bytearray, array.array) is read as ``frombuffer`` reads it, its bytes
    as ``dtype`` (default: the default dtype, whatever its own format, as PyTorch). Other data
    (lists, scalars) is converted as ``tensor`` does.

    Args:
        obj: a Tensor, an ndarray (or anything with ``__array__``), a sequence or a scalar.
        dtype: the result's dtype (default: the object's own, or ``tensor``'s inference).
        device: the CPU only.
        copy: always copy (True), never copy (False), or copy only when needed (None).
        requires_grad: None (a Tensor's result keeps its autograd history: PyTorch warns once),
            True (require grad, keeping the history) or False (no grad: a leaf's flag is
            cleared, a non-leaf's result detached). As PyTorch, a leaf returned as itself has
            its own flag set.

    Returns:
        A Tensor.
    """
    check_device(device, "asarray")
    target = None if dtype is None else dtypes.to_numpy(dtype)
    if isinstance(obj, Tensor):
        shared = target is None or target == obj._data.dtype
        if shared and not copy:
            result = obj
        elif copy is False:
            raise ValueError(f"asarray: a copy is needed to convert {obj.dtype} to {dtype}, "
                             "but copy=False")
        else:  # (a differentiable copy: ToCopyBackward0 / CloneBackward0, as PyTorch; s28 DX1:
            # was a new leaf, the graph silently cut)
            result = obj.clone() if shared else obj.to(dtypes.of(target), copy=True)
        if requires_grad is None:
            warn_once("asarray requires_grad", "torch.asarray: unspecified requires_grad now "
                      "defaults to obj.requires_grad instead of False. Pass requires_grad=False "
                      "explicitly to get the old behavior and silence this warning.")
        elif not requires_grad and result.requires_grad:
            return result.requires_grad_(False) if result.is_leaf else result.detach()
        return result if requires_grad is False else _requiring_grad(result, requires_grad)
    elif isinstance(obj, np.ndarray) or hasattr(obj, "__array__"):
        refuse_negative_strides(obj)
        if copy is False and isinstance(obj, np.generic):
            raise RuntimeError("can't alias NumPy scalars. Either remove copy=False or "
                               "transform it in a ndarray. ")
        array = np.asarray(obj)
        needs_copy = target is not None and target != array.dtype
        if copy is False and needs_copy:
            raise ValueError(f"asarray: a copy is needed to convert {array.dtype} to {dtype}, "
                             "but copy=False")
        # (PyTorch reads a 0-d array as a scalar: a copy, even under copy=False)
        copy = bool(copy) or needs_copy or array.ndim == 0
        result = _leaf(array.astype(target or array.dtype, copy=copy))
    elif _has_buffer(obj):  # (bytes, bytearray, array.array, memoryview: PyTorch's frombuffer)
        array = _buffer_array(obj, _numpy_dtype(dtype, _Default.float), -1, 0)
        result = _leaf(array.copy() if copy else array)
    else:
        if copy is False:
            raise ValueError(f"asarray: {type(obj).__name__} cannot be converted without a copy")
        result = tensor(obj, dtype=dtype)
    return result if requires_grad is False else _requiring_grad(result, requires_grad)


def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0,
               requires_grad: bool = False) -> Tensor:
    """A 1-d tensor over the bytes of ``buffer`` (which it shares), read as ``dtype``.

    Args:
        buffer: an object with the buffer protocol (bytes, bytearray, memoryview, array).
        dtype: the element type (required, as in PyTorch).
        count: how many elements to read (-1: all that fit after ``offset``).
        offset: bytes to skip first.
        requires_grad: make the result require grad.
    """
    result = _leaf(_buffer_array(buffer, dtypes.to_numpy(dtype), count, offset))
    return result if requires_grad is False else _requiring_grad(result, requires_grad)


# The meta device (meta.py): these factories make meta tensors when asked for it.
meta_factories(globals(), shaped=("zeros", "ones", "empty"),
                     like=("zeros_like", "ones_like", "empty_like", "full_like"),
                     computed=("tensor", "as_tensor", "eye", "arange", "linspace", "logspace",
                               "scalar_tensor"),
                     filled=("full",))
