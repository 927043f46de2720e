"""What the elementwise function modules share: turning arguments into tensors, ``out=``, and
PyTorch's names for dtypes in messages."""

from __future__ import annotations

import numbers
import sys

import numpy as np

from .. import bf16, dtypes, versions
from ..autograd import _GradMode
from ..errors import warn_at_caller
from ..promotion import c10_name, check_fits, result_type
from ..tensor import Tensor, _check_inplace, _lift
from ._common import NotATensorError, refuse_dual_out, resize_in_storage, type_name

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3, "V": 2}  # ("V": ml_dtypes' bfloat16)
_TORCH_NAMES = {"b1": "Bool", "u1": "Byte", "i1": "Char", "i2": "Short", "i4": "Int",
                "i8": "Long", "f2": "Half", "f4": "Float", "f8": "Double",
                "c8": "ComplexFloat", "c16": "ComplexDouble", "V2": "BFloat16"}


def torch_name(dtype) -> str:
    """PyTorch's C++ name of a dtype (``Float`` for float32), as its messages print it."""
    dtype = np.dtype(dtype)
    return _TORCH_NAMES.get(f"{dtype.kind}{dtype.itemsize}", str(dtype))


def as_tensor(value, like=None) -> Tensor:
    """A Tensor as it is; a Python number takes ``like``'s dtype rules (PyTorch's scalars)."""
    return value if isinstance(value, Tensor) else _lift(value, like)


def not_a_tensor(name: str, argument: str, position: int | None, value) -> NotATensorError:
    """PyTorch's argument-parser TypeError for a value given where a Tensor is required:
    ``exp(): argument 'input' (position 1) must be Tensor, not list``."""
    where = "" if position is None else f" (position {position})"
    return NotATensorError(f"{name}(): argument '{argument}'{where} must be Tensor, not "
                           f"{type_name(value)}")


def input_tensor(value, name: str | None = None, argument: str = "input") -> Tensor:
    """``value`` itself where it is a Tensor; anything else (a list, tuple, ndarray, number)
    is PyTorch's TypeError: its first argument (``input``, or ``argument``) is parsed as a
    Tensor, never converted. As cheap as the lenient conversion it replaces (one type test
    on the common call); ``name`` defaults to the calling function's."""
    if isinstance(value, Tensor):
        return value
    raise not_a_tensor(name or sys._getframe(1).f_code.co_name, argument, 1, value)


# Python's own number types: a type test (35 ns) before the ABC's isinstance (250 ns), which
# takes NumPy's scalars too (timeit).
PLAIN_NUMBERS = (int, float, bool)


def operands(input, other, name: str | None = None) -> tuple:
    """Both arguments of a binary function as tensors; a number on either side is a scalar.
    A list, tuple or ndarray on either side is PyTorch's TypeError (``name``: the function
    named in it, by default the caller)."""
    if not isinstance(input, Tensor):
        if type(input) not in PLAIN_NUMBERS and not isinstance(input, numbers.Number):
            raise not_a_tensor(name or sys._getframe(1).f_code.co_name, "input", 1, input)
        like = other if isinstance(other, Tensor) else None
        input = _lift(input, like) if like is None or like._data.dtype is not bf16.BF16 else \
            bf16.number(input, like)  # (a float with bfloat16: marked, see bf16.number)
    if not isinstance(other, Tensor):
        if type(other) not in PLAIN_NUMBERS and not isinstance(other, numbers.Number):
            raise not_a_tensor(name or sys._getframe(1).f_code.co_name, "other", 2, other)
        other = _lift(other, input) if input._data.dtype is not bf16.BF16 else \
            bf16.number(other, input)
    return input, other


def scalars_in_range(*values) -> None:
    """PyTorch's argument parser: a Python int beyond int64 and uint64 is OverflowError before
    the function runs (clamp's bounds, where's values, lerp's weight, addcdiv's value)."""
    for value in values:
        if type(value) is int and not -(1 << 63) <= value < (1 << 64):
            raise OverflowError("int too big to convert")


def require_tensors(name: str, **arguments) -> None:
    """PyTorch's TypeError where an argument must be a tensor, not a number."""
    for argument, value in arguments.items():
        if not isinstance(value, Tensor):
            raise NotATensorError(f"{name}(): argument '{argument}' must be Tensor, not "
                                  f"{type_name(value)}")


def require_a_tensor(name: str, input, other) -> None:
    """PyTorch's TypeError for two numbers: its binary functions take (Tensor, Tensor),
    (Tensor, Number) and some (Number, Tensor), never (Number, Number)."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise NotATensorError(f"{name}() received an invalid combination of arguments - got "
                              f"({type_name(input)}, {type_name(other)}), but expected at "
                              "least one Tensor")


def write_out(name: str, out, result: Tensor, *, exact: bool = False) -> Tensor:
    """PyTorch's ``out=`` for elementwise functions: ``result`` written into ``out``.

    The result is cast to ``out``'s dtype where PyTorch allows it (not to a lower category:
    float into an integer ``out`` raises); with ``exact`` (the functions whose result keeps the
    input's dtype: abs, neg, sign, floor, round, ...) ``out`` must have the result's dtype, as
    in PyTorch. An ``out`` of another shape is resized (with PyTorch's warning when it had
    elements). Nothing may require grad while grad mode is on.
    """
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if _GradMode.enabled and (result.requires_grad or out.requires_grad):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    refuse_dual_out(name, out, result)
    data = result._data
    if exact and data.dtype != out._data.dtype:
        raise RuntimeError(f"Found dtype {torch_name(out._data.dtype)} but expected "
                           f"{torch_name(data.dtype)}")
    if _CATEGORY[data.dtype.kind] > _CATEGORY[out._data.dtype.kind]:
        raise RuntimeError(f"result type {torch_name(data.dtype)} can't be cast to the desired "
                           f"output type {torch_name(out._data.dtype)}")
    if not out._data.flags.writeable:  # (expanded: not ValueError; resized or not, as PyTorch)
        raise RuntimeError(f"{name}(): unsupported operation: more than one element of the "
                           "written-to tensor refers to a single memory location. Please "
                           "clone() the tensor before performing the operation.")
    _check_inplace(out, name)  # PyTorch's leaf rule, and the version bump
    if out.shape != data.shape:
        if out._data.size:
            # PyTorch resizes a non-empty out= too, with this deprecation warning.
            warn_at_caller(f"An output with one or more elements was resized since it had "
                           f"shape {list(out.shape)}, which does not match the required output "
                           f"shape {list(data.shape)}. This behavior is deprecated, and in a "
                           "future PyTorch release outputs will not be resized unless they have "
                           "zero elements. You can explicitly reuse an out tensor t by resizing "
                           "it, inplace, to zero elements with t.resize_(0).")
        old = out._data
        resized = resize_in_storage(old, data.shape)  # (where its storage holds the result)
        if resized is not None:
            out._data = resized
        else:
            out._data = np.empty(data.shape, old.dtype)  # a new storage of the result's shape
            versions.carry(out._data, old)  # (its version counts on, as PyTorch's)
    np.copyto(out._data, data, casting="unsafe")
    return out


def scalar_first(name: str, scalar, tensors: tuple, keyword: str, given) -> tuple:
    """PyTorch's deprecated overloads that put the scalar first: ``x.add_(-lr, grad)`` is
    ``x.add_(grad, alpha=-lr)``, ``x.addcmul_(0.5, a, b)`` is ``x.addcmul_(a, b, value=0.5)``.
    Returns ``(scalar, *tensors)`` with PyTorch's deprecation warning; any other extra positional
    argument is PyTorch's TypeError."""
    import numbers

    from ..errors import warn_once
    from .deprecations import inplace_name

    if (isinstance(scalar, numbers.Number) and not isinstance(scalar, Tensor)
            and all(isinstance(t, Tensor) for t in tensors) and given == 1):
        names = ", ".join(["Tensor other"] if len(tensors) == 1 else
                          ["Tensor tensor1", "Tensor tensor2"])
        old, new = f"Number {keyword}, {names}", f"{names}, *, Number {keyword} = 1"
        name = inplace_name(name, sys._getframe(1))  # (x.addcmul_(0.5, a, b) names addcmul_)
        if "out" in sys._getframe(1).f_code.co_varnames:  # (the function, not its method form,
            # whose out method_forms.py renamed): PyTorch's text names input and out
            old = f"Tensor input, {old}, *, Tensor out = None"
            new = f"Tensor input, {new}, Tensor out = None"
        # (once per process for all such overloads, as PyTorch's TORCH_WARN_ONCE in its
        # argument parser: word_language_model's `p.data.add_(-lr, p.grad.data)` loop warns once)
        warn_once("deprecated scalar-first overload",
                  f"This overload of {name} is deprecated:\n\t{name}({old})\nConsider using one "
                  f"of the following signatures instead:\n\t{name}({new})")
        return (scalar, *tensors)
    raise TypeError(f"{name}() received an invalid combination of arguments: {len(tensors) + 1} "
                    f"positional arguments after the tensor (the deprecated {name}(Number "
                    f"{keyword}, ...) form needs a number then tensors)")


def real_fill_value(name: str, value, dtype):
    """A complex fill ``value`` for a real tensor of ``dtype``, as PyTorch's argument parser
    takes it: NumPy's complex64 / clongdouble (no Python complex) read through ``__float__``,
    their real part with NumPy's ComplexWarning; a Python complex (np.complex128 too) or a
    complex tensor refused unless its imaginary part is 0."""
    if not isinstance(value, Tensor | complex):
        warn_at_caller("Casting complex values to real discards the imaginary part",
                       np.exceptions.ComplexWarning)
        return value.real
    if complex(value).imag and not str(dtype).endswith(".bool"):  # (a bool target takes
        # value != 0, as PyTorch's)
        raise RuntimeError(f"value cannot be converted to type "
                           f"{c10_name(dtypes.to_numpy(dtype))} without overflow ({name}: "
                           f"its imaginary part is not 0)")  # (PyTorch's words: PR23)
    return value


def _scaled(name: str, input: Tensor, other: Tensor, alpha) -> Tensor:
    """``alpha * other`` for add / sub, in the result's dtype (PyTorch: ``uint8 + 300 * x``
    overflows, ``float + 300 * uint8`` does not wrap); a float alpha needs a floating result,
    a bool alpha a bool one."""
    if alpha == 1 and alpha is not True:
        return other
    dtype = result_type(input._data, other._data)
    if isinstance(alpha, (bool, np.bool_)):
        if dtype.kind != "b":
            raise RuntimeError("Boolean alpha only supported for Boolean results.")
    elif (isinstance(alpha, numbers.Real) and not isinstance(alpha, numbers.Integral)
            and dtype.kind in "biu"):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating "
                           "point number.")
    elif isinstance(alpha, numbers.Complex) and not isinstance(alpha, numbers.Real):
        if dtype.kind in "biu":  # (PyTorch's messages; NumPy would give a complex result)
            raise RuntimeError("For integral input tensors, argument alpha must not be a "
                               "floating point number.")
        if dtype.kind != "c":
            raise RuntimeError("For non-complex input tensors, argument alpha must not be a "
                               "complex number.")
    if dtype.kind == "b":  # bool + alpha * bool: alpha read as a bool
        return other if alpha else other * False
    if not isinstance(alpha, complex):
        check_fits(alpha, dtype)
    if other._data.dtype != dtype:
        other = other.to(dtypes.of(dtype))
    return other * alpha


def _real_bound(value):
    """A clamp bound of a floating tensor: a complex number's real part where its imaginary
    part is 0 (PyTorch converts the number into the tensor's dtype, checked)."""
    if not isinstance(value, complex):
        return value
    if value.imag:
        raise RuntimeError("value cannot be converted to type double without overflow")
    return value.real
