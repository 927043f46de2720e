"""PyTorch's ``torch.testing``: ``assert_close`` (closeness with dtype-aware default tolerances)
and ``make_tensor`` (random test inputs), with PyTorch's semantics and error messages."""

from __future__ import annotations

import math
import numbers
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from . import _engine as dg
from ._engine.promotion import promote_types

__all__ = ["assert_allclose", "assert_close", "make_tensor"]

# ``torch.testing._internal.common_utils`` (PyTorch's TestCase, which libraries' test suites
# import) lives in the folder ``_testing``: this module answers for its submodules from there.
__path__ = [os.path.join(os.path.dirname(os.path.abspath(__file__)), "_testing")]

# PyTorch's default (rtol, atol) by dtype; every other dtype (integers, bool) must match exactly.
_TOLERANCES = {
    np.dtype(np.float16): (1e-3, 1e-5),
    np.dtype(np.float32): (1.3e-6, 1e-5),
    np.dtype(np.float64): (1e-7, 1e-7),
    np.dtype(np.complex64): (1.3e-6, 1e-5),
    np.dtype(np.complex128): (1e-7, 1e-7),
}
_BFLOAT16_TOLERANCE = (1.6e-2, 1e-5)


class _Mismatch(Exception):
    """A failed comparison: the exception type to raise and its message (before ``msg``)."""

    def __init__(self, kind: type, message: str, structural: bool = False) -> None:
        super().__init__(message)
        # (a structural mismatch, of lengths or keys, keeps its message whatever ``msg`` says)
        self.kind, self.message, self.structural = kind, message, structural


def assert_close(actual: Any, expected: Any, *, allow_subclasses: bool = True,
                 rtol: float | None = None, atol: float | None = None, equal_nan: bool = False,
                 check_device: bool = True, check_dtype: bool = True, check_layout: bool = True,
                 check_stride: bool = False, msg: str | Callable[[str], str] | None = None) -> None:
    """Raise ``AssertionError`` unless ``actual`` and ``expected`` are close, as PyTorch's.

    Elements are close when ``|actual - expected| <= atol + rtol * |expected|`` (NaNs are equal
    only with ``equal_nan``; infinities only to themselves). Without ``rtol`` and ``atol``
    (give both or neither) the tolerances are PyTorch's defaults for the dtype: float16
    (1e-3, 1e-5), bfloat16 (1.6e-2, 1e-5), float32 and complex64 (1.3e-6, 1e-5), float64 and
    complex128 (1e-7, 1e-7), and exact equality for integers and bool.

    Args:
        actual, expected: tensors, NumPy arrays, Python numbers, ``None``, or sequences or
            mappings of them (compared item by item). Both of a pair must be the same kind:
            a tensor against an ndarray or a number is a ``TypeError``.
        allow_subclasses: whether a tensor (or array) pair may be of different types, one a
            subclass of the other (``nn.Parameter`` against a tensor); if not, that is a
            ``TypeError``, as PyTorch's.
        rtol, atol: the relative and absolute tolerances.
        equal_nan: whether NaN equals NaN.
        check_device, check_layout: accepted (every deltagrad tensor is a dense CPU tensor).
        check_dtype: whether the dtypes must be the same; if not, both are compared in their
            promoted dtype, with the larger of their default tolerances.
        check_stride: whether the strides must be the same.
        msg: a message to raise instead, or a function from the generated message to it.

    >>> import deltagrad as dg
    >>> assert_close(dg.tensor([1.0, 2.0]), dg.tensor([1.0, 2.0 + 1e-6]))
    >>> assert_close(dg.tensor([1, 2]), dg.tensor([1.0, 2.0]))
    Traceback (most recent call last):
    AssertionError: The values for attribute 'dtype' do not match: deltagrad.int64 != \
deltagrad.float32.
    """
    options = {"rtol": rtol, "atol": atol, "equal_nan": equal_nan, "check_dtype": check_dtype,
               "check_stride": check_stride, "allow_subclasses": allow_subclasses,
               "check_layout": check_layout}
    try:
        _compare(actual, expected, "", options)
    except _Mismatch as mismatch:
        text = mismatch.message
        if mismatch.kind is AssertionError and msg is not None and not mismatch.structural:
            text = msg(text) if callable(msg) else msg
        raise mismatch.kind(text) from None


def _compare(actual, expected, path: str, options: dict) -> None:
    try:
        if actual is None and expected is None:
            return
        arrays = ((isinstance(actual, dg.Tensor) and isinstance(expected, dg.Tensor))
                  or (isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray)))
        numbers_ = _is_number(actual) and _is_number(expected) and not (
            _number_type(actual) is bool and _number_type(expected) is bool)
        if (arrays or numbers_) and (options["rtol"] is None) != (options["atol"] is None):
            missing = "rtol" if options["rtol"] is None else "atol"
            raise _Mismatch(ValueError, f"Both 'rtol' and 'atol' must be either specified or "
                                        f"omitted, but got no {missing}.")
        if arrays and not options["allow_subclasses"] and _kind(actual) is not _kind(expected):
            raise _Mismatch(TypeError, f"No comparison pair was able to handle inputs of type "
                                       f"{_kind(actual)} and {_kind(expected)}.")
        if isinstance(actual, dg.Tensor) and isinstance(expected, dg.Tensor):
            if actual.layout != expected.layout or actual.layout != dg.strided:
                actual, expected = _strided(actual, expected, options)
            return _compare_arrays(actual._data, expected._data, actual, options)
        if isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray):
            return _compare_arrays(actual, expected, None, options)
        if _is_number(actual) and _is_number(expected):
            return _compare_numbers(actual, expected, options)
    except _Mismatch as mismatch:
        if path:
            mismatch.message += f"\n\nThe failure occurred for item {path}"
        raise
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            raise _Mismatch(AssertionError, f"The length of the sequences mismatch: "
                                            f"{len(actual)} != {len(expected)}", True)
        for index, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, f"{path}[{index}]", options)
        return
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        missing = [k for k in expected if k not in actual]
        extra = [k for k in actual if k not in expected]
        if missing or extra:
            raise _Mismatch(AssertionError, f"The keys of the mappings do not match:\n"
                                            f"Missing keys in the actual mapping: {missing}\n"
                                            f"Additional keys in the actual mapping: {extra}",
                            True)
        for key in actual:
            _compare(actual[key], expected[key], f"{path}[{key!r}]", options)
        return
    raise _Mismatch(TypeError, f"No comparison pair was able to handle inputs of type "
                               f"{type(actual)} and {type(expected)}.")


def _strided(actual, expected, options: dict) -> tuple:
    """A pair of tensors not both strided: PyTorch's layout mismatch (before the values), or
    their values as strided tensors."""
    if actual.layout != expected.layout and options["check_layout"]:
        raise _Mismatch(AssertionError, f"The values for attribute 'layout' do not match: "
                                        f"{actual.layout!r} != {expected.layout!r}.")
    return tuple(t.to_dense() if t.layout != dg.strided else t for t in (actual, expected))


def _kind(value) -> type:
    # (a deltagrad Parameter is a flagged Tensor: its class for allow_subclasses=False)
    from .nn import Parameter

    return Parameter if isinstance(value, Parameter) else type(value)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, np.ndarray)


def _is_sequence(value) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _default_tolerances(dtype: np.dtype, bfloat16: bool = False) -> tuple[float, float]:
    if bfloat16:
        return _BFLOAT16_TOLERANCE
    return _TOLERANCES.get(dtype, (0.0, 0.0))


def _number_type(value) -> type:
    for kind in (bool, numbers.Integral, numbers.Real):
        if isinstance(value, (kind, np.bool_) if kind is bool else kind):
            return {bool: bool, numbers.Integral: int, numbers.Real: float}[kind]
    return complex


def _compare_numbers(actual, expected, options: dict) -> None:
    actual_type, expected_type = _number_type(actual), _number_type(expected)
    if options["check_dtype"] and actual_type is not expected_type:
        raise _Mismatch(AssertionError, f"The (d)types do not match: {actual_type} != "
                                        f"{expected_type}.")
    if actual_type is bool and expected_type is bool:
        if bool(actual) != bool(expected):
            raise _Mismatch(AssertionError, f"Booleans mismatch: {bool(actual)} is not "
                                            f"{bool(expected)}")
        return
    rtol, atol = _tolerances(options, *(np.dtype({bool: np.bool_, int: np.int64,
                                                  float: np.float64, complex: np.complex128}[t])
                                        for t in (actual_type, expected_type)))
    a, e = actual_type(actual), expected_type(expected)
    if _close_scalar(a, e, rtol, atol, options["equal_nan"]):
        return
    difference = abs(a - e)
    relative = difference / abs(e) if e != 0 else (math.inf if difference else math.nan)
    raise _Mismatch(AssertionError, _scalar_message(actual_type(actual), expected_type(expected),
                                                    difference, relative, rtol, atol))


def _close_scalar(a, e, rtol: float, atol: float, equal_nan: bool) -> bool:
    if a == e:
        return True
    if isinstance(a, bool) or isinstance(e, bool):
        return False
    if cmath_isnan(a) or cmath_isnan(e):
        return equal_nan and cmath_isnan(a) and cmath_isnan(e)
    if cmath_isinf(a) or cmath_isinf(e):
        return False
    return abs(a - e) <= atol + rtol * abs(e)


def cmath_isnan(value) -> bool:
    return math.isnan(value.real) or math.isnan(value.imag) if isinstance(value, complex) \
        else math.isnan(value)


def cmath_isinf(value) -> bool:
    return math.isinf(value.real) or math.isinf(value.imag) if isinstance(value, complex) \
        else math.isinf(value)


def _scalar_message(actual, expected, difference, relative, rtol, atol) -> str:
    equality = rtol == 0 and atol == 0
    allowed = ("", "") if equality else (f" (up to {atol} allowed)", f" (up to {rtol} allowed)")
    return (f"Scalars are not {'equal' if equality else 'close'}!\n\n"
            f"Expected {expected} but got {actual}.\n"
            f"Absolute difference: {difference}{allowed[0]}\n"
            f"Relative difference: {relative}{allowed[1]}")


def _tolerances(options: dict, actual_dtype: np.dtype, expected_dtype: np.dtype,
                bfloat16: bool = False) -> tuple[float, float]:
    if options["rtol"] is not None:
        # (a one-element tensor as a tolerance, as SciPy's tests pass one, is read as its
        # number, as PyTorch does; comparing arrays with it made tensors of the masks)
        return tuple(float(t) if isinstance(t, dg.Tensor) else t
                     for t in (options["rtol"], options["atol"]))
    (r1, a1), (r2, a2) = (_default_tolerances(d, bfloat16) for d in (actual_dtype, expected_dtype))
    return max(r1, r2), max(a1, a2)


def _dtype_name(array: np.ndarray, tensor) -> str:
    return repr(tensor.dtype) if tensor is not None else repr(array.dtype)


def _compare_arrays(actual: np.ndarray, expected: np.ndarray, tensor, options: dict) -> None:
    expected_tensor = None
    if tensor is not None:
        expected_tensor = dg.Tensor(expected, dtype=None)
    if actual.shape != expected.shape:
        raise _Mismatch(AssertionError, f"The values for attribute 'shape' do not match: "
                                        f"{dg.Size(actual.shape)!r} != "
                                        f"{dg.Size(expected.shape)!r}.")
    if options["check_dtype"] and actual.dtype != expected.dtype:
        raise _Mismatch(AssertionError, f"The values for attribute 'dtype' do not match: "
                                        f"{_dtype_name(actual, tensor)} != "
                                        f"{_dtype_name(expected, expected_tensor)}.")
    if options["check_stride"] and tensor is not None:
        strides = (tensor.stride(), expected_tensor.stride())
        if strides[0] != strides[1] and actual.size > 1:
            raise _Mismatch(AssertionError, f"The values for attribute 'stride()' do not "
                                            f"match: {strides[0]} != {strides[1]}.")
    brain = [a.dtype.name == "bfloat16" for a in (actual, expected)]
    (r1, a1), (r2, a2) = (_tolerances(options, a.dtype, a.dtype, bf) for a, bf in
                          zip((actual, expected), brain))
    rtol, atol = max(r1, r2), max(a1, a2)
    if any(brain):  # (bfloat16, a NumPy 'V' dtype, compared in float32 as its values are)
        if all(brain):
            return _compare_bfloat16(actual, expected, rtol, atol, options)
        actual, expected = (a.astype(np.float32) if bf else a for a, bf in zip(
            (actual, expected), brain))
    if actual.dtype != expected.dtype:  # compared in the promoted dtype, as PyTorch
        common = promote_types(actual.dtype, expected.dtype)
        actual, expected = actual.astype(common), expected.astype(common)
    _close_or_raise(actual, expected, rtol, atol, options)


def _compare_bfloat16(actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float,
                      options: dict) -> None:
    """Two bfloat16 arrays: closeness of their values; a mismatch's differences rounded to
    bfloat16, as PyTorch computes them in the dtype."""
    _close_or_raise(actual.astype(np.float32), expected.astype(np.float32), rtol, atol,
                    options, round_to=actual.dtype)


def _close_or_raise(actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float,
                    options: dict, round_to: np.dtype | None = None) -> None:
    """Nothing where every pair is close; else PyTorch's mismatch report (a 0-d pair's, or an
    array's with the differences rounded to ``round_to``)."""
    matches = _isclose(actual, expected, rtol, atol, options["equal_nan"])
    if matches.all():
        return
    if actual.ndim == 0:
        a, e = actual.item(), expected.item()
        difference = abs(a - e)
        relative = difference / abs(e) if e != 0 else (math.inf if difference else math.nan)
        raise _Mismatch(AssertionError, _scalar_message(a, e, difference, relative, rtol, atol))
    raise _Mismatch(AssertionError, _array_message(actual, expected, matches, rtol, atol,
                                                   round_to=round_to))


def _isclose(actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float,
             equal_nan: bool) -> np.ndarray:
    if actual.dtype.kind not in "fc":
        return actual == expected
    with np.errstate(invalid="ignore", over="ignore"):
        close = actual == expected
        finite = np.isfinite(actual) & np.isfinite(expected)
        within = np.abs(actual - expected) <= atol + rtol * np.abs(expected)
        close |= finite & within
        if equal_nan:
            close |= np.isnan(actual) & np.isnan(expected)
    return close


def _array_message(actual, expected, matches, rtol: float, atol: float,
                   round_to: np.dtype | None = None) -> str:
    equality = rtol == 0 and atol == 0
    total, mismatched = matches.size, int(matches.size - matches.sum())
    a, e = actual.reshape(-1), expected.reshape(-1)
    if a.dtype.kind in "biu":  # differences of integers in int64 (no wrap-around), as PyTorch
        a, e = a.astype(np.int64), e.astype(np.int64)
    relative_dtype = a.dtype if a.dtype.kind in "fc" else np.dtype(np.float32)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        difference = np.abs(a - e)
        difference[matches.reshape(-1)] = 0  # only mismatches count, as PyTorch
        relative = (difference / np.abs(e)).astype(relative_dtype.type(0).real.dtype)
        relative[matches.reshape(-1)] = 0
        if round_to is not None:  # (differences in the compared dtype: bfloat16's)
            difference = difference.astype(round_to).astype(np.float32)
            relative = relative.astype(round_to).astype(np.float32)
    lines = [f"Tensor-likes are not {'equal' if equality else 'close'}!", "",
             f"Mismatched elements: {mismatched} / {total} ({mismatched / total:.1%})"]
    for name, values, tolerance in (("absolute", difference, atol), ("relative", relative, rtol)):
        index = int(np.argmax(values)) if not np.isnan(values).any() \
            else int(np.argmax(np.isnan(values)))
        where = tuple(int(i) for i in np.unravel_index(index, actual.shape))
        allowed = "" if equality else f" (up to {tolerance} allowed)"
        lines.append(f"Greatest {name} difference: {values[index].item()} at index {where}"
                     f"{allowed}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# make_tensor.

_FLOAT_RANGE, _INT_RANGE = (-9, 9), (-9, 10)


def make_tensor(*shape, dtype, device, low: float | None = None, high: float | None = None,
                requires_grad: bool = False, noncontiguous: bool = False,
                exclude_zero: bool = False, memory_format=None) -> dg.Tensor:
    """A tensor of ``shape`` filled with random values, as PyTorch's ``make_tensor``.

    Floating and complex values are uniform in ``[low, high)`` (default ``[-9, 9)``); integers
    uniform in ``[low, high)`` (default ``[-9, 10)``, ``[0, 10)`` for uint8), clamped to the
    dtype's range; booleans uniform. Draws come from the global generator
    (``deltagrad.manual_seed``).

    Args:
        shape: ints, or one sequence or ``Size`` of them.
        dtype: the dtype (required, keyword-only); device: the CPU (required, keyword-only).
        low, high: the range.
        requires_grad: make it a leaf that requires grad (floating and complex dtypes only).
        noncontiguous: lay the values out with gaps (a strided view).
        exclude_zero: replace zeros by 1 (integers) or the dtype's smallest normal number.
        memory_format: lay it out in this format.

    >>> import deltagrad as dg
    >>> make_tensor(2, 3, dtype=dg.int64, device="cpu").shape
    deltagrad.Size([2, 3])
    """
    if len(shape) == 1 and isinstance(shape[0], Sequence):
        shape = tuple(shape[0])
    shape = tuple(int(n) for n in shape)
    dg.device(device)  # (validates the device)
    if dg.device(device).type != "cpu":
        raise RuntimeError(f"make_tensor: deltagrad runs on the CPU only, got device={device!r}")
    numpy_dtype = dg.dtypes.to_numpy(dtype)
    kind = numpy_dtype.kind
    if requires_grad and kind not in "fc":
        raise ValueError(f"`requires_grad=True` is not supported for boolean and integral "
                         f"dtypes, but got dtype={dg.dtypes.of(numpy_dtype)}")
    noncontiguous = noncontiguous and math.prod(shape) > 1
    if noncontiguous:  # draw twice the last dimension and keep every other value, as PyTorch
        shape = (*shape[:-1], 2 * shape[-1])
    # The draws are PyTorch's, from the global generator: the same values after the same
    # manual_seed (gradgradcheck's random grad_outputs come from here too).
    if kind == "b":
        out = dg.randint(0, 2, shape, dtype=dtype)
    elif kind in "iu":
        info = np.iinfo(numpy_dtype)
        low, high = _range(low, high, (0, 10) if kind == "u" else _INT_RANGE,
                           (info.min, info.max), integral=True)
        out = dg.randint(math.ceil(low), math.ceil(high), shape, dtype=dtype)
    else:
        info = np.finfo(numpy_dtype)
        low, high = _range(low, high, _FLOAT_RANGE, (float(info.min), float(info.max)),
                           integral=False)
        out = dg.empty(shape, dtype=dtype)
        _uniform_(dg.view_as_real(out) if kind == "c" else out, low, high, info)
    if noncontiguous:
        out = out[..., 1::2]
    if exclude_zero:
        out[out == 0] = True if kind == "b" else (1 if kind in "iu" else
                                                  np.finfo(numpy_dtype).tiny)
    if memory_format is not None:
        out = out.contiguous(memory_format=memory_format).detach()
    if requires_grad:
        out.requires_grad_(True)
    return out


def _uniform_(out: dg.Tensor, low: float, high: float, info) -> None:
    """Fill ``out`` uniformly in [low, high) from the global generator, halving a range wider
    than the dtype's largest value and doubling back (so high - low cannot overflow)."""
    if high - low >= float(info.max):
        out.uniform_(low / 2, high / 2).mul_(2)
    else:
        out.uniform_(low, high)


def _range(low, high, default: tuple, limits: tuple, integral: bool) -> tuple:
    low = default[0] if low is None else low
    high = default[1] if high is None else high
    if (isinstance(low, float) and math.isnan(low)) or (isinstance(high, float)
                                                       and math.isnan(high)):
        raise ValueError(f"`low` and `high` cannot be NaN, but got low={low} and high={high}")
    if low > high or (integral and low == high):
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    low, high = max(low, limits[0]), min(high, limits[1] + (1 if integral else 0))
    return low, high


# PyTorch's assert_allclose tolerances (rtol, atol): the larger of the two operands'; other
# dtypes (integers, bool, bfloat16, complex) compare exactly.
_ALLCLOSE_TOLERANCES = {np.dtype(np.float16): (1e-3, 1e-3), np.dtype(np.float32): (1e-4, 1e-5),
                        np.dtype(np.float64): (1e-5, 1e-8)}


def assert_allclose(actual: Any, expected: Any, rtol: float | None = None,
                    atol: float | None = None, equal_nan: bool = True, msg: str = "") -> None:
    """PyTorch's deprecated ``assert_allclose`` (it warns ``FutureWarning``): ``assert_close``
    with NaNs equal, the dtypes not compared (``expected`` made a tensor of ``actual``'s
    dtype when it is not one) and its own default tolerances (float16 1e-3 / 1e-3, float32
    1e-4 / 1e-5, float64 1e-5 / 1e-8)."""
    warnings.warn("`torch.testing.assert_allclose()` is deprecated since 1.12 and will be "
                  "removed in a future release. Please use `torch.testing.assert_close()` "
                  "instead. You can find detailed upgrade instructions in "
                  "https://github.com/pytorch/pytorch/issues/61844.", FutureWarning,
                  stacklevel=2)
    if not isinstance(actual, dg.Tensor):
        actual = dg.tensor(actual)
    if not isinstance(expected, dg.Tensor):
        expected = dg.tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        pairs = [_ALLCLOSE_TOLERANCES.get(np.dtype(t.numpy().dtype), (0.0, 0.0))
                 if t.dtype != dg.bfloat16 else (0.0, 0.0) for t in (actual, expected)]
        rtol, atol = max(p[0] for p in pairs), max(p[1] for p in pairs)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan,
                 check_dtype=False, check_stride=False, msg=msg or None)
