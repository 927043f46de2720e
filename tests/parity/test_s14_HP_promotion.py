"""Dtype promotion and half-precision rounding of the pointwise ops, swept against PyTorch.

Every binary and ternary pointwise op, over every pair of the twelve dtypes, as tensor x
tensor, tensor x 0-d tensor (both orders), tensor x Python number (both orders: bools, small,
negative and large ints, floats that float16 cannot hold, inf, nan, complex numbers), in-place
and with ``out=`` of another dtype; plus ``result_type`` / ``promote_types`` / ``can_cast``.
Each case compares, with PyTorch's: who raises (the exception class), the result's dtype and
shape, and its values: bit for bit (NaN-aware, signed zeros count) for the ops PyTorch computes
exactly, within a few units in the last place for the transcendental ones (PyTorch's vectorized
libm and NumPy's differ there, not the promotion). Complex results compare within a few units
of their magnitude, their non-finite elements by place only (c10::complex and NumPy's C99
arithmetic differ in which part of an infinite product is nan: ``add`` even multiplies the
other operand by alpha = 1 + 0j there).

The default run takes a seeded sample of each op's cases; ``-m soak`` runs all of them.
Differences left on purpose are in KNOWN with a reason; an entry that no longer differs fails,
so that the table shrinks as fixes land.
"""

from __future__ import annotations

import fnmatch
import math
import random
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore")

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
         "float64", "complex64", "complex128"]
_FLOATING = {"float16", "bfloat16", "float32", "float64"}
_COMPLEX = {"complex64", "complex128"}
_INTEGRAL = {"bool", "uint8", "int8", "int16", "int32", "int64"}


def _values(name: str, rng: np.random.Generator, zero: bool) -> np.ndarray:
    """Eight values of dtype ``name`` (as float64 / complex128 / int64 / bool numpy), edge values
    first; ``zero``: whether 0 may appear (divisors of integer ops leave it out, so that the
    whole op does not raise and hide its other differences)."""
    if name == "bool":
        return np.array([True, False, True, True, False, True, False, bool(rng.integers(2))])
    if name in _INTEGRAL:
        info = np.iinfo(name)
        edges = [info.max, info.min if info.min else 1, 1, 7, -3 if info.min else 3]
        rest = rng.integers(max(info.min, -100), 101, 3)
        out = np.array(edges + list(rest), dtype=np.int64)
        if not zero:
            out[out == 0] = 5
        else:
            out[-1] = 0
        return out
    finite = rng.standard_normal(2) * np.array([1.0, 10.0])
    edges = [-0.0, -math.inf, math.nan, 1e-8, -2.5, 65504.0] + list(finite)
    if name in _COMPLEX:
        imag = rng.standard_normal(8)
        imag[2] = 0.0
        return np.array(edges, dtype=np.float64) + 1j * imag
    return np.array(edges, dtype=np.float64)


def make(lib, array: np.ndarray, name: str):
    """A tensor of ``lib`` (torch or deltagrad) holding ``array`` in dtype ``name``."""
    if name == "bfloat16":
        return lib.tensor(array.astype(np.float32)).to(lib.bfloat16)
    if name == "float16":
        with np.errstate(over="ignore"):
            array = array.astype(np.float16)
    return lib.tensor(np.asarray(array).astype(name if name != "bool" else np.bool_))


def to_numpy(t) -> np.ndarray:
    if str(t.dtype).endswith("bfloat16"):
        t = t.float()
    return np.array(t.detach().numpy())


# --------------------------------------------------------------------------------------------
# The ops. Each takes the library first; ``exact``: PyTorch's result is defined to the bit
# (arithmetic, comparisons, min / max, remainders); otherwise within ``ULPS`` units in the last
# place of the result dtype.

ULPS = 4


def _method(name):
    return lambda lib, a, b: getattr(a, name)(b) if hasattr(a, name) else getattr(lib, name)(a, b)


BINARY = {
    "add": (lambda lib, a, b: lib.add(a, b), True),
    "add_alpha": (lambda lib, a, b: lib.add(a, b, alpha=2), True),
    "sub": (lambda lib, a, b: lib.sub(a, b), True),
    "mul": (lambda lib, a, b: lib.mul(a, b), True),
    "div": (lambda lib, a, b: lib.div(a, b), True),
    "div_trunc": (lambda lib, a, b: lib.div(a, b, rounding_mode="trunc"), True),
    "div_floor": (lambda lib, a, b: lib.div(a, b, rounding_mode="floor"), True),
    "true_divide": (lambda lib, a, b: lib.true_divide(a, b), True),
    "floor_divide": (lambda lib, a, b: lib.floor_divide(a, b), True),
    "remainder": (lambda lib, a, b: lib.remainder(a, b), True),
    "fmod": (lambda lib, a, b: lib.fmod(a, b), True),
    "pow": (lambda lib, a, b: lib.pow(a, b), False),
    "float_power": (lambda lib, a, b: lib.float_power(a, b), False),
    "atan2": (lambda lib, a, b: lib.atan2(a, b), False),
    "hypot": (lambda lib, a, b: lib.hypot(a, b), False),
    "maximum": (lambda lib, a, b: lib.maximum(a, b), True),
    "minimum": (lambda lib, a, b: lib.minimum(a, b), True),
    "fmax": (lambda lib, a, b: lib.fmax(a, b), True),
    "fmin": (lambda lib, a, b: lib.fmin(a, b), True),
    "copysign": (lambda lib, a, b: lib.copysign(a, b), True),
    "ldexp": (lambda lib, a, b: lib.ldexp(a, b), False),
    "xlogy": (lambda lib, a, b: lib.xlogy(a, b), False),
    "logaddexp": (lambda lib, a, b: lib.logaddexp(a, b), False),
    "nextafter": (lambda lib, a, b: lib.nextafter(a, b), True),
    "heaviside": (lambda lib, a, b: lib.heaviside(a, b), True),
    "eq": (lambda lib, a, b: lib.eq(a, b), True),
    "ne": (lambda lib, a, b: lib.ne(a, b), True),
    "lt": (lambda lib, a, b: lib.lt(a, b), True),
    "le": (lambda lib, a, b: lib.le(a, b), True),
    "gt": (lambda lib, a, b: lib.gt(a, b), True),
    "ge": (lambda lib, a, b: lib.ge(a, b), True),
    "bitwise_and": (lambda lib, a, b: lib.bitwise_and(a, b), True),
    "bitwise_or": (lambda lib, a, b: lib.bitwise_or(a, b), True),
    "bitwise_xor": (lambda lib, a, b: lib.bitwise_xor(a, b), True),
    "bitwise_left_shift": (lambda lib, a, b: lib.bitwise_left_shift(a, b), True),
    "bitwise_right_shift": (lambda lib, a, b: lib.bitwise_right_shift(a, b), True),
    "logical_and": (lambda lib, a, b: lib.logical_and(a, b), True),
    "logical_or": (lambda lib, a, b: lib.logical_or(a, b), True),
    "logical_xor": (lambda lib, a, b: lib.logical_xor(a, b), True),
    # The operators (tensor._binary's path, not the functions').
    "op+": (lambda lib, a, b: a + b, True),
    "op-": (lambda lib, a, b: a - b, True),
    "op*": (lambda lib, a, b: a * b, True),
    "op/": (lambda lib, a, b: a / b, True),
    "op//": (lambda lib, a, b: a // b, True),
    "op%": (lambda lib, a, b: a % b, True),
    "op**": (lambda lib, a, b: a ** b, False),
    "op&": (lambda lib, a, b: a & b, True),
    "op|": (lambda lib, a, b: a | b, True),
    "op^": (lambda lib, a, b: a ^ b, True),
    "op<<": (lambda lib, a, b: a << b, True),
    "op>>": (lambda lib, a, b: a >> b, True),
    "op<": (lambda lib, a, b: a < b, True),
    "op==": (lambda lib, a, b: a == b, True),
}

# In-place methods swept like the functions (tensor x tensor, tensor x number).
INPLACE = {
    "add_": (lambda lib, a, b: a.add_(b), True),
    "sub_": (lambda lib, a, b: a.sub_(b), True),
    "mul_": (lambda lib, a, b: a.mul_(b), True),
    "div_": (lambda lib, a, b: a.div_(b), True),
    "div_floor_": (lambda lib, a, b: a.div_(b, rounding_mode="floor"), True),
    "floor_divide_": (lambda lib, a, b: a.floor_divide_(b), True),
    "remainder_": (lambda lib, a, b: a.remainder_(b), True),
    "fmod_": (lambda lib, a, b: a.fmod_(b), True),
    "pow_": (lambda lib, a, b: a.pow_(b), False),
    "atan2_": (lambda lib, a, b: a.atan2_(b), False),
    "copysign_": (lambda lib, a, b: a.copysign_(b), True),
    "clamp_min_": (lambda lib, a, b: a.clamp_min_(b), True),
    "bitwise_and_": (lambda lib, a, b: a.bitwise_and_(b), True),
    "eq_": (lambda lib, a, b: a.eq_(b), True),
    "logical_or_": (lambda lib, a, b: a.logical_or_(b), True),
    "op+=": (lambda lib, a, b: _iadd(a, b), True),
    "op*=": (lambda lib, a, b: _imul(a, b), True),
}


def _iadd(a, b):
    a += b
    return a


def _imul(a, b):
    a *= b
    return a


# Ternary ops: (lib, x, y, number-or-tensor) where the third is drawn as the sweep's "other".
TERNARY = {
    "clamp": (lambda lib, a, b, c: lib.clamp(a, min=b, max=c), True),
    "where": (lambda lib, a, b, c: lib.where(a > 0 if a.dtype != lib.bool else a, b, c), True),
    "lerp": (lambda lib, a, b, c: lib.lerp(a, b, c), False),
    "addcmul": (lambda lib, a, b, c: lib.addcmul(a, b, c, value=c if not hasattr(c, "shape")
                                                 else 2), True),
    "addcdiv": (lambda lib, a, b, c: lib.addcdiv(a, b, b, value=c) if not hasattr(c, "shape")
                else lib.addcdiv(a, b, c), True),
}

SCALARS = [True, False, 0, 3, -7, 300, 2049, 2 ** 31, 2 ** 62, 2 ** 63, 2 ** 70, 2.5, -0.3, 0.1,
           1e-8, 65504.0, 65520.0, 1e39, math.inf, -math.inf, math.nan, 1 + 2j, 1j, 1 / 3]


def _scalar_id(value) -> str:
    return repr(value)


# --------------------------------------------------------------------------------------------
# Running one case in both libraries and comparing.


def run(lib, fn, make_args):
    """("raise", class) or ("ok", tensor) for ``fn(lib, *args)``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                return "ok", fn(lib, *make_args(lib))
    except Exception as error:  # noqa: BLE001 (the class is what is compared)
        return "raise", type(error)


def _bits_equal(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype.kind == "c":
        return _bits_equal(a.real.copy(), b.real.copy()) and _bits_equal(a.imag.copy(),
                                                                          b.imag.copy())
    if a.dtype.kind != "f":
        return np.array_equal(a, b)
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    if not np.array_equal(nan_a, nan_b):
        return False
    return np.array_equal(a[~nan_a], b[~nan_a]) and np.array_equal(
        np.signbit(a[~nan_a]), np.signbit(b[~nan_a]))


def _close(a: np.ndarray, b: np.ndarray, dtype_name: str) -> bool:
    """Within ``ULPS`` units in the last place of the result dtype (1 for float16 / bfloat16:
    both libraries compute them in float32 and round once); complex values by their distance
    relative to the magnitude, the non-finite elements in the same places."""
    eps = {"float16": 2.0 ** -10, "bfloat16": 2.0 ** -7, "float32": 2.0 ** -23,
           "complex64": 2.0 ** -23}.get(dtype_name, 2.0 ** -52)
    tiny = {"float16": 2.0 ** -24, "bfloat16": 2.0 ** -133, "float32": 2.0 ** -149,
            "complex64": 2.0 ** -149}.get(dtype_name, 2.0 ** -1074)
    ulps = 1 if dtype_name in ("float16", "bfloat16") else ULPS
    if a.dtype.kind == "c":
        finite_a, finite_b = np.isfinite(a), np.isfinite(b)
        if not np.array_equal(finite_a, finite_b):
            return False
        a, b = a[finite_a], b[finite_a]
        return bool(np.all(np.abs(a - b) <= ulps * (eps * np.abs(b) + tiny)))
    if a.dtype.kind != "f":
        return np.array_equal(a, b)
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    if not np.array_equal(nan_a, nan_b):
        return False
    a, b = a[~nan_a].astype(np.float64), b[~nan_b].astype(np.float64)
    inf = np.isinf(a) | np.isinf(b)
    if not np.array_equal(a[inf], b[inf]):
        return False
    return bool(np.all(np.abs(a[~inf] - b[~inf]) <= ulps * (eps * np.abs(b[~inf]) + tiny)))


def compare(fn, exact: bool, make_args) -> str | None:
    """None where deltagrad agrees with PyTorch; else a short description."""
    expected = run(torch, fn, make_args)
    got = run(dg, fn, make_args)
    if expected[0] == "raise" or got[0] == "raise":
        if expected[0] != got[0]:
            return (f"torch {expected[0]} {getattr(expected[1], '__name__', '')}, "
                    f"deltagrad {got[0]} {getattr(got[1], '__name__', '')}")
        if not issubclass(got[1], expected[1]):
            return f"torch raises {expected[1].__name__}, deltagrad {got[1].__name__}"
        return None
    want, have = expected[1], got[1]
    if not isinstance(have, dg.Tensor) or not isinstance(want, torch.Tensor):
        return f"result types {type(want).__name__} / {type(have).__name__}"
    want_dtype = str(want.dtype).split(".")[-1]
    have_dtype = str(have.dtype).split(".")[-1]
    if want_dtype != have_dtype:
        return f"dtype torch {want_dtype}, deltagrad {have_dtype}"
    if tuple(want.shape) != tuple(have.shape):
        return f"shape torch {tuple(want.shape)}, deltagrad {tuple(have.shape)}"
    a, b = to_numpy(want), to_numpy(have)
    if _bits_equal(a, b) or ((not exact or a.dtype.kind == "c") and _close(b, a, want_dtype)):
        return None
    differ = ~((a == b) | (np.isnan(a) & np.isnan(b))) if a.dtype.kind in "fc" else a != b
    return f"values differ at {int(np.count_nonzero(differ))} of {a.size}"


# --------------------------------------------------------------------------------------------
# The cases of one op: (id, make_args). ``make_args(lib)`` builds fresh inputs each call (the
# in-place ops write into them).


def _tensor(name, values):
    return lambda lib: make(lib, values, name)


def binary_cases(seed: int):
    """(id, make_args) for every form of a binary op."""
    rng = np.random.default_rng(seed)
    left = {n: _values(n, rng, True) for n in NAMES}
    right = {n: _values(n, rng, False) for n in NAMES}
    cases = []
    for a in NAMES:
        for b in NAMES:
            va, vb = left[a], right[b]
            cases.append((f"tt|{a}|{b}", lambda lib, a=a, b=b, va=va, vb=vb: (
                make(lib, va, a), make(lib, vb, b))))
            cases.append((f"t0|{a}|{b}", lambda lib, a=a, b=b, va=va, vb=vb: (
                make(lib, va, a), make(lib, vb[6:7].reshape(()), b))))
            cases.append((f"0t|{a}|{b}", lambda lib, a=a, b=b, va=va, vb=vb: (
                make(lib, va[6:7].reshape(()), a), make(lib, vb, b))))
        for value in SCALARS:
            cases.append((f"ts|{a}|{_scalar_id(value)}", lambda lib, a=a, value=value: (
                make(lib, left[a], a), value)))
            cases.append((f"st|{_scalar_id(value)}|{a}", lambda lib, a=a, value=value: (
                value, make(lib, right[a], a))))
    return cases


def inplace_cases(seed: int):
    rng = np.random.default_rng(seed)
    left = {n: _values(n, rng, True) for n in NAMES}
    right = {n: _values(n, rng, False) for n in NAMES}
    cases = []
    for a in NAMES:
        for b in NAMES:
            cases.append((f"tt|{a}|{b}", lambda lib, a=a, b=b: (
                make(lib, left[a], a), make(lib, right[b], b))))
        for value in SCALARS:
            cases.append((f"ts|{a}|{_scalar_id(value)}", lambda lib, a=a, value=value: (
                make(lib, left[a], a), value)))
    return cases


def ternary_cases(seed: int):
    rng = np.random.default_rng(seed)
    left = {n: _values(n, rng, True) for n in NAMES}
    right = {n: _values(n, rng, False) for n in NAMES}
    cases = []
    for a in NAMES:
        for b in NAMES:
            cases.append((f"ttt|{a}|{b}", lambda lib, a=a, b=b: (
                make(lib, left[a], a), make(lib, right[b], b), make(lib, right[b][::-1], b))))
            cases.append((f"tt0|{a}|{b}", lambda lib, a=a, b=b: (
                make(lib, left[a], a), make(lib, right[a], a),
                make(lib, right[b][2:3].reshape(()), b))))
        for value in SCALARS:
            cases.append((f"tts|{a}|{_scalar_id(value)}", lambda lib, a=a, value=value: (
                make(lib, left[a], a), make(lib, right[a], a), value)))
            cases.append((f"tss|{a}|{_scalar_id(value)}", lambda lib, a=a, value=value: (
                make(lib, left[a], a), value, value)))
    return cases


def out_cases(seed: int):
    """``add`` / ``mul`` / ``div`` / ``eq`` with ``out=`` of every dtype."""
    rng = np.random.default_rng(seed)
    left = {n: _values(n, rng, True) for n in NAMES}
    cases = []
    for a in NAMES:
        for b in NAMES:
            for o in NAMES:
                cases.append((f"out|{a}|{b}|{o}", lambda lib, a=a, b=b, o=o: (
                    make(lib, left[a], a), make(lib, left[b][::-1].copy(), b),
                    make(lib, np.zeros(8), o))))
    return cases


OUT_OPS = {
    "add_out": (lambda lib, a, b, o: lib.add(a, b, out=o), True),
    "mul_out": (lambda lib, a, b, o: lib.mul(a, b, out=o), True),
    "div_out": (lambda lib, a, b, o: lib.div(a, b, out=o), True),
    "eq_out": (lambda lib, a, b, o: lib.eq(a, b, out=o), True),
}


# --------------------------------------------------------------------------------------------
# What is left on purpose: (op pattern, case pattern, reason), fnmatch patterns on the op name
# and the case id ("tt|float16|int8", "t0|...", "0t|...", "ts|float16|2.5", "st|2.5|float16";
# ternary "ttt", "tt0", "tts", "tss"; "out|a|b|out"). test_known_entries_still_differ fails
# for an entry none of whose cases differs any more.

_COMPLEX32 = ("float16 with a lower-ranked complex operand is complex32 in PyTorch; NumPy has "
              "no complex32: deltagrad raises ComplexHalfError (TypeError, NotImplementedError)")
_UINT64 = ("PyTorch 2.13 reads an int in [2**63, 2**64) as a uint64 scalar (wrapped into "
           "integer results, its float value in floating ones, RuntimeError with bool tensors); "
           "deltagrad takes it with floating tensors only and raises OverflowError otherwise")
_COMPLEX_POW = ("complex pow: PyTorch computes exp(y log x) in the complex dtype (1j ** 2 is "
                "-1 + 1e-7j, other inf / nan parts at large exponents); NumPy's complex power "
                "multiplies for integer exponents")
_SIGNED_ZERO = ("the sign of a zero on ties (max(-0.0, 0.0)) follows PyTorch's vectorized or "
                "scalar loop, which one depends on the size; NumPy's is fixed")

KNOWN: list[tuple[str, str, str]] = [
    ("*", "t0|float16|complex*", _COMPLEX32),
    ("*", "0t|complex*|float16", _COMPLEX32),
    ("*", "ts|float16|*j*", _COMPLEX32),
    ("*", "st|*j*|float16", _COMPLEX32),
    ("*", "tt0|float16|complex*", _COMPLEX32),
    ("*", "tts|float16|*j*", _COMPLEX32),
    ("*", "ts|*|9223372036854775808", _UINT64),
    ("*", "st|9223372036854775808|*", _UINT64),
    ("*", "tts|*|9223372036854775808", _UINT64),
    ("*", "tss|*|9223372036854775808", _UINT64),
    ("*", "ts|*|1180591620717411303424", "an int beyond 2**64: PyTorch's "
     "OverflowError is a RuntimeError for some ops"),
    ("copysign", "*bfloat16*", "PyTorch's float32 -> bfloat16 cast writes every NaN as "
     "0xFFFF (sign bit set), ml_dtypes' keeps the NaN's sign (seen through copysign, signbit, "
     "view)"),
    ("pow", "*complex*", _COMPLEX_POW),
    ("pow", "st|*j*|*", _COMPLEX_POW),
    ("pow_", "*complex*", _COMPLEX_POW),
    ("op**", "*complex*", _COMPLEX_POW),
    ("op**", "st|*j*|*", _COMPLEX_POW),
    ("float_power", "*complex*", _COMPLEX_POW),
    ("float_power", "st|*j*|*", _COMPLEX_POW),
    ("ldexp", "*complex*", "complex ldexp is input * 2 ** other through PyTorch's complex pow "
     "(exp / log: several ulps off)"),
    ("ldexp", "t0|float16|bfloat16", "float16 input, 0-d bfloat16 exponent: PyTorch's power "
     "of 2 has float16 precision, deltagrad's bfloat16's (the rule behind PyTorch's was not "
     "pinned down: other 0-d exponent dtypes agree)"),
    ("pow", "ts|int64|-0.3", "PyTorch's float32 pow of a large int64 base (9e18 ** -0.3) is "
     "5 ulps off; deltagrad's is correctly rounded"),
    ("op**", "ts|int64|-0.3", "as pow"),
    ("logaddexp", "*complex*", "complex logaddexp: PyTorch's kernel handles infinite and nan "
     "parts its own way"),
    ("addcdiv", "tts|complex64|2.5", "complex division of infinite parts (c10::complex vs C99)"),
    ("mul_out", "out|complex64|complex64|complex128", "complex products with infinite parts: "
     "c10::complex's formula, not C99's (NumPy)"),
    ("maximum", "*bool*", _SIGNED_ZERO),
    ("minimum", "*bool*", _SIGNED_ZERO),
    ("fmax", "*bool*", _SIGNED_ZERO),
    ("fmin", "*bool*", _SIGNED_ZERO),
    ("clamp", "tss|float16|*", _SIGNED_ZERO + " (float16 clamp by 0: NumPy's float16 loop "
     "returns the bound)"),
    ("clamp_min_", "ts|float16|*", "as clamp"),
    ("result_type", "*9223372036854775808*", _UINT64),
    ("result_type", "*float16*complex*", _COMPLEX32),
    ("result_type", "*complex*float16*", _COMPLEX32),
    ("result_type", "*float16|*j*", _COMPLEX32),
    ("result_type", "*j*|float16", _COMPLEX32),
]


def _known(op: str, case: str):
    for entry in KNOWN:
        if fnmatch.fnmatchcase(op, entry[0]) and fnmatch.fnmatchcase(case, entry[1]):
            return entry
    return None


def sweep(op: str, fn, exact: bool, cases, fraction: float, seed: int) -> list:
    """The differences (not KNOWN) over ``cases``, a seeded ``fraction`` of them."""
    picker = random.Random(f"{op}-{seed}")
    failures = []
    for case_id, make_args in cases:
        if fraction < 1 and picker.random() >= fraction:
            continue
        if _known(op, case_id) is not None:
            continue
        difference = compare(fn, exact, make_args)
        if difference is not None:
            failures.append(f"{op} {case_id}: {difference}")
    return failures


FRACTION = 0.12  # of each op's cases in the default run (seeded): the soak run takes all
SEED = 14


def _check(op, fn, exact, cases, fraction):
    failures = sweep(op, fn, exact, cases, fraction, SEED)
    assert not failures, f"{len(failures)} differences:\n" + "\n".join(failures[:40])


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary(op):
    _check(op, *BINARY[op], binary_cases(SEED), FRACTION)


@pytest.mark.parametrize("op", sorted(INPLACE))
def test_inplace(op):
    _check(op, *INPLACE[op], inplace_cases(SEED), FRACTION)


@pytest.mark.parametrize("op", sorted(TERNARY))
def test_ternary(op):
    _check(op, *TERNARY[op], ternary_cases(SEED), FRACTION)


@pytest.mark.parametrize("op", sorted(OUT_OPS))
def test_out(op):
    _check(op, *OUT_OPS[op], out_cases(SEED), FRACTION / 4)


_TABLES = ((BINARY, binary_cases), (INPLACE, inplace_cases), (TERNARY, ternary_cases),
           (OUT_OPS, out_cases))


@pytest.mark.soak
@pytest.mark.parametrize("op", sorted(BINARY) + sorted(INPLACE) + sorted(TERNARY)
                         + sorted(OUT_OPS))
def test_soak(op):
    for table, cases in _TABLES:
        if op in table:
            _check(op, *table[op], cases(SEED + 1), 1.0)


def _result_type_difference(make_args) -> str | None:
    want = run(torch, lambda lib, a, b: lib.result_type(a, b), make_args)
    have = run(dg, lambda lib, a, b: lib.result_type(a, b), make_args)
    if want[0] != have[0] or str(want[1]).split(".")[-1] != str(have[1]).split(".")[-1]:
        return f"torch {want}, deltagrad {have}"
    return None


@pytest.mark.parametrize("entry", KNOWN, ids=lambda e: f"{e[0]}:{e[1]}")
def test_known_entries_still_differ(entry):
    """Each KNOWN entry still describes a difference: some case it covers differs."""
    op_pattern, case_pattern, _ = entry
    for seed in (SEED, SEED + 1):  # (the default run's values, then the soak run's)
        for table, cases in _TABLES:
            ops = [op for op in sorted(table) if fnmatch.fnmatchcase(op, op_pattern)]
            if not ops:
                continue
            for case_id, make_args in cases(seed):
                if not fnmatch.fnmatchcase(case_id, case_pattern):
                    continue
                for op in ops:
                    if _known(op, case_id) is entry and compare(*table[op],
                                                                make_args) is not None:
                        return
        if op_pattern == "result_type":
            for case_id, make_args in binary_cases(seed):
                if fnmatch.fnmatchcase(case_id, case_pattern) and \
                        _result_type_difference(make_args) is not None:
                    return
    pytest.fail(f"KNOWN entry no longer differs: {entry}")


# --------------------------------------------------------------------------------------------
# The half-precision scalar rule, densely: many values, each bit compared.

_HALF_FORMS = {
    "t * s": lambda lib, t, s: t * s,
    "s * t": lambda lib, t, s: s * t,
    "t / s": lambda lib, t, s: t / s,
    "s / t": lambda lib, t, s: s / t,
    "t + s": lambda lib, t, s: t + s,
    "s - t": lambda lib, t, s: s - t,
    "mul(t, s)": lambda lib, t, s: lib.mul(t, s),
    "mul(s, t)": lambda lib, t, s: lib.mul(s, t),
    "div(t, s)": lambda lib, t, s: lib.div(t, s),
    "div(t, s, floor)": lambda lib, t, s: lib.div(t, s, rounding_mode="floor"),
    "t * 0-d float32": lambda lib, t, s: t * lib.tensor(s, dtype=lib.float32),
    "t / 0-d float64": lambda lib, t, s: t / lib.tensor(s, dtype=lib.float64),
    "3 / int tensor": lambda lib, t, s: 3 / t.to(lib.int32),
    "addcmul(value=s)": lambda lib, t, s: lib.addcmul(t, t, t, value=s),
    "lerp(t, 2t, s)": lambda lib, t, s: lib.lerp(t, t * 2, s),
}


@pytest.mark.parametrize("form", sorted(_HALF_FORMS))
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_with_python_numbers(dtype, form):
    """PyTorch's mul / div kernels read a number operand unrounded in float32 and round once
    (``t * 0.1`` differed from it by 1 ulp on a third of float16 values before); add, sub and a
    number first cast it to the tensor's dtype."""
    rng = np.random.default_rng(SEED)
    values = (rng.standard_normal(2048) * rng.choice([1e-3, 1.0, 300.0], 2048)).astype(
        np.float32)
    fn = _HALF_FORMS[form]
    for number in (0.1, 1 / 3, -2.7, 1e-8, 2049, 65520.0):
        want = to_numpy(fn(torch, make(torch, values, dtype), number))
        have = to_numpy(fn(dg, make(dg, values, dtype), number))
        assert _bits_equal(want, have), (form, number, int(np.count_nonzero(
            ~((want == have) | (np.isnan(want) & np.isnan(have))))))


# --------------------------------------------------------------------------------------------
# result_type / promote_types / can_cast.


def test_promote_types_and_can_cast():
    differences = []
    for a in NAMES:
        for b in NAMES:
            for name in ("promote_types", "can_cast"):
                want = getattr(torch, name)(getattr(torch, a), getattr(torch, b))
                have = getattr(dg, name)(getattr(dg, a), getattr(dg, b))
                if str(want).split(".")[-1] != str(have).split(".")[-1]:
                    differences.append(f"{name}({a}, {b}): torch {want}, deltagrad {have}")
    assert not differences, "\n".join(differences)


def test_result_type():
    differences = []
    for case_id, make_args in binary_cases(SEED):
        if _known("result_type", case_id) is not None:
            continue
        difference = _result_type_difference(make_args)
        if difference is not None:
            differences.append(f"result_type {case_id}: {difference}")
    assert not differences, f"{len(differences)}:\n" + "\n".join(differences[:40])
