"""``torch.testing._internal.common_utils``: PyTorch's ``TestCase`` with its ``assertEqual``,
which libraries' test suites borrow to compare tensors, state dicts and nested containers
(timm's optimizer tests: ``TestCase().assertEqual(opt.state_dict(), opt_c.state_dict())``).

Only ``TestCase`` (and the ``assertEqual`` family on it) is here; the rest of PyTorch's module
(device-generic test instantiation, OpInfo helpers, ``run_tests``' command line) is not, and
importing another name raises ImportError.

``assertEqual`` follows PyTorch's pairing of its inputs: sequences (not strings) and mappings
are compared item by item (mapping keys as sets, then per key); then the first of these that
applies: ``None`` only equals ``None``; a bool against a bool, a number or a one-element tensor
compares as bools; a number against a number or a one-element tensor compares by value with
float32's default tolerances for floats (``1 == 1.0``, no type check); tensors and NumPy arrays
go through ``torch.testing.assert_close`` (dtype checked unless ``exact_dtype=False``, NaNs
equal by default, devices and layouts not checked); strings, sets and types by ``==``; any
other object by ``==``. A tensor against a list is first made a tensor of the tensor's dtype.
"""

from __future__ import annotations

import unittest
from collections.abc import Callable, Mapping, Sequence
from enum import Enum

import numpy as np

from ... import _engine as dg
from ...testing import assert_close

__all__ = ["TestCase"]

# PyTorch's defaults for a Python number by its type (int exact; float and complex at float32's
# and complex64's tolerances: common_utils' RelaxedNumberPair).
_NUMBER_TOLERANCES = {int: (0.0, 0.0), float: (1.3e-6, 1e-5), complex: (1.3e-6, 1e-5)}


class _Unsupported(Exception):
    """This pair kind does not handle the inputs: try the next."""


def _single(value, what: str):
    """The Python number in a one-element tensor or array (ValueError for more elements)."""
    size = value.numel() if isinstance(value, dg.Tensor) else value.size
    if size > 1:
        raise ValueError(f"Only single element tensor-likes can be compared against a {what}. "
                         f"Got {size} elements instead.")
    return value.item()


def _as_bool(value):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, complex, np.number)):
        return bool(value)
    return bool(_single(value, "boolean"))


def _as_number(value):
    if isinstance(value, (dg.Tensor, np.ndarray)):
        number = _single(value, "number")
        return int(number) if isinstance(number, bool) else number
    if isinstance(value, Enum):
        return int(value)
    if isinstance(value, np.number):
        value = value.item()
    if type(value) not in _NUMBER_TOLERANCES:
        raise _Unsupported
    return value


def _bool_pair(x, y, options) -> None:
    tensors = (dg.Tensor, np.ndarray)
    others = (bool, np.bool_, int, float, complex, np.number, *tensors)
    if not ((isinstance(x, (bool, np.bool_)) and isinstance(y, others))
            or (isinstance(y, (bool, np.bool_)) and isinstance(x, others))):
        raise _Unsupported
    a, b = _as_bool(x), _as_bool(y)
    if a != b:
        raise AssertionError(f"Booleans mismatch: {a} is not {b}")


def _number_pair(x, y, options) -> None:
    numbers = (int, float, complex, np.number)
    others = (*numbers, dg.Tensor, np.ndarray)
    if not ((isinstance(x, numbers) and isinstance(y, others))
            or (isinstance(y, numbers) and isinstance(x, others))):
        raise _Unsupported
    a, b = _as_number(x), _as_number(y)
    if options["rtol"] is None:
        (r1, a1), (r2, a2) = _NUMBER_TOLERANCES[type(a)], _NUMBER_TOLERANCES[type(b)]
        rtol, atol = max(r1, r2), max(a1, a2)
    else:
        rtol, atol = options["rtol"], options["atol"]
    if a == b:
        return
    nan = [isinstance(v, (float, complex)) and v != v for v in (a, b)]
    if options["equal_nan"] and all(nan):
        return
    difference = abs(a - b)
    if not any(nan) and abs(a) != float("inf") and abs(b) != float("inf") \
            and difference <= atol + rtol * abs(b):
        return
    raise AssertionError(f"Scalars are not close!\n\nExpected {b} but got {a}.\n"
                         f"Absolute difference: {difference} (up to {atol} allowed)\n"
                         f"Relative difference: {difference / abs(b) if b else float('inf')} "
                         f"(up to {rtol} allowed)")


def _tensor_pair(x, y, options) -> None:
    tensors = (dg.Tensor, np.ndarray)
    if not (isinstance(x, tensors) and isinstance(y, tensors)):
        raise _Unsupported
    # (an array against a tensor: both as tensors, as PyTorch's TensorOrArrayPair)
    x, y = (dg.as_tensor(v) if isinstance(v, np.ndarray) else v for v in (x, y))
    assert_close(x, y, rtol=options["rtol"], atol=options["atol"],
                 equal_nan=options["equal_nan"], check_device=False,
                 check_dtype=options["exact_dtype"], check_layout=False)


def _equal_pair(kinds: tuple) -> Callable:
    def compare(x, y, options) -> None:
        if not (isinstance(x, kinds) and isinstance(y, kinds)):
            raise _Unsupported
        if x != y:
            raise AssertionError(f"{x!r} != {y!r}")
    return compare


def _none_pair(x, y, options) -> None:
    if x is None and y is None:
        return
    if x is None or y is None:
        raise AssertionError(f"None mismatch: {x} is not {y}")
    raise _Unsupported


def _object_pair(x, y, options) -> None:
    try:
        equal = bool(x == y)
    except Exception as error:  # (PyTorch's ObjectPair: a failing == is a mismatch)
        raise AssertionError(f"{x!r} == {y!r} failed: {error}") from None
    if not equal:
        raise AssertionError(f"{x!r} != {y!r}")


# (PyTorch's order of pair kinds in TestCase.assertEqual: the first that applies decides)
_PAIRS = (_none_pair, _bool_pair, _number_pair, _tensor_pair, _equal_pair((str, bytes)),
          _equal_pair((set, frozenset)), _equal_pair((type,)), _object_pair)


def _sequence(value) -> bool:
    from ...nn import ModuleList, ParameterList, Sequential
    return (isinstance(value, (Sequence, Sequential, ModuleList, ParameterList))
            and not isinstance(value, (str, bytes)))


def _mapping(value) -> bool:
    from ...nn import ModuleDict, ParameterDict
    return isinstance(value, (Mapping, ModuleDict, ParameterDict))


def _compare(x, y, options, path: str) -> None:
    try:
        if _sequence(x) and _sequence(y):
            if len(x) != len(y):
                raise AssertionError(f"The length of the sequences mismatch: "
                                     f"{len(x)} != {len(y)}")
            for index, (a, b) in enumerate(zip(x, y)):
                _compare(a, b, options, f"{path}[{index}]")
            return
        if _mapping(x) and _mapping(y):
            keys, other = set(x.keys()), set(y.keys())
            if keys != other:
                raise AssertionError(f"The keys of the mappings do not match:\n"
                                     f"Missing keys in the actual mapping: "
                                     f"{sorted(map(repr, other - keys))}\n"
                                     f"Additional keys in the actual mapping: "
                                     f"{sorted(map(repr, keys - other))}")
            try:
                ordered = sorted(keys)
            except TypeError:
                ordered = list(keys)
            for key in ordered:
                _compare(x[key], y[key], options, f"{path}[{key!r}]")
            return
        for pair in _PAIRS:
            try:
                return pair(x, y, options)
            except _Unsupported:
                continue
    except AssertionError as error:
        if path and "The failure occurred for item" not in str(error):
            raise AssertionError(f"{error}\n\nThe failure occurred for item {path}") from None
        raise


class TestCase(unittest.TestCase):
    """``unittest.TestCase`` with PyTorch's ``assertEqual`` for tensors and containers of them
    (``precision`` / ``rel_tol``: the least absolute / relative tolerance, as PyTorch's
    ``precisionOverride`` sets them; 0 by default)."""

    precision: float = 0.0
    rel_tol: float = 0.0

    def assertEqual(self, x, y, msg=None, *, atol=None, rtol=None, equal_nan=True,  # noqa: N802
                    exact_dtype=True, exact_device=False, exact_layout=False,
                    exact_stride=False, exact_is_coalesced=False) -> None:
        __tracebackhide__ = True
        if (atol is None) != (rtol is None):
            missing = "rtol" if rtol is None else "atol"
            raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, "
                             f"but got no {missing}.")
        if atol is not None:
            atol, rtol = max(atol, self.precision), max(rtol, self.rel_tol)
        if isinstance(x, dg.Tensor) and _sequence(y):
            y = dg.as_tensor(y, dtype=x.dtype)
        elif _sequence(x) and isinstance(y, dg.Tensor):
            x = dg.as_tensor(x, dtype=y.dtype)
        options = {"atol": atol, "rtol": rtol, "equal_nan": equal_nan,
                   "exact_dtype": exact_dtype}
        try:
            _compare(x, y, options, "")
        except AssertionError as error:
            if msg is None:
                raise
            text = msg(str(error)) if callable(msg) else f"{error}\n{msg}"
            raise AssertionError(text) from None

    def assertNotEqual(self, x, y, msg=None, *, atol=None, rtol=None,  # noqa: N802
                       **kwargs) -> None:
        with self.assertRaises(AssertionError, msg=msg):
            self.assertEqual(x, y, msg, atol=atol, rtol=rtol, **kwargs)

    def assertEqualIgnoreType(self, *args, **kwargs) -> None:  # noqa: N802
        return self.assertEqual(*args, exact_dtype=False, **kwargs)
