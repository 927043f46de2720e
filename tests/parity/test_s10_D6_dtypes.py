"""Dtype sweep against PyTorch (helper D6, session 10): every binary op over all dtype pairs
(tensor-tensor, tensor-0-d, tensor-number, number-tensor), in-place and ``out=`` forms, unary
ops and reductions on every dtype, creation-time dtype inference, integer wrap-around, division
by zero and half-precision rounding. Values, dtypes, shapes and exception classes must match.

Each test sweeps one op family in a loop (one comparison per case, see s10_D6_table.py) and
fails listing every difference, except the ones in ``KNOWN`` (unfixed, each with its reason);
a ``KNOWN`` entry that no longer matches anything fails too, so the list stays current.
"""

from __future__ import annotations

import itertools
import re

import pytest

pytest.importorskip("torch")
pytest.importorskip("ml_dtypes")  # (deltagrad's bfloat16)

from s10_D6_table import (  # noqa: E402
    BASE_B,
    BINARY,
    EDGES,
    INPLACE,
    NAMES,
    NO_INPLACE,
    OUT_DTYPES,
    OUT_OPS,
    REDUCTIONS,
    RTOL,
    SCALARS,
    TENSOR_FIRST,
    UNARY,
    differ,
    make,
)

# Differences left (label regex -> why). Labels are "<op> <dtypes> <form>: <difference>".
_HALF_COMPLEX = ("float16 with a complex operand: PyTorch's complex32 has no kernel (it raises, "
                 "class varies); here complex64")
KNOWN = {
    "binary": [
        (r"^(addcdiv|addcmul|logical_(and|or|xor)) (float16,complex\S+ t0d|complex\S+,float16 0dt)",
         _HALF_COMPLEX),
        (r"^ldexp complex(64|128),float16 tt", _HALF_COMPLEX),
        (r"^logaddexp .*complex.*dg raised", "no complex logaddexp yet (raises, not silent)"),
        (r"^ldexp .*(uint8|complex|bfloat16).*: values",
         "ldexp with a huge wrapped exponent (0 * 2**253 is nan here, 0 in PyTorch) or a "
         "complex / bfloat16 exponent: the power's dtype differs"),
    ],
    "scalar": [
    ],
    "inplace": [
        (r"^logical_and_ float16,complex(64|128) ip0d", _HALF_COMPLEX),
    ],
    "unary": [
    ],
    "reduction": [
    ],
    "edges": [
    ],
}


def _check(cases, family: str, op: str | None) -> None:
    found = []
    for case in cases:
        label, fn, floor_rtol = case if len(case) == 3 else (*case, 0.0)
        message = differ(fn, floor_rtol)
        if message:
            found.append(f"{label}: {message}")
    # The entries for this op (a pattern's leading op name decides: its first word).
    known = [re.compile(pattern) for pattern, _why in KNOWN.get(family, [])
             if op is None or re.match(pattern.split(" ")[0] + "$", op)]
    unexplained = [f for f in found if not any(rx.search(f) for rx in known)]
    stale = [rx.pattern for rx in known if not any(rx.search(f) for f in found)]
    assert not unexplained and not stale, (
        f"{len(unexplained)} differences from PyTorch:\n" + "\n".join(unexplained[:40])
        + (f"\nstale KNOWN entries: {stale}" if stale else ""))


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_all_dtype_pairs(op):
    f = BINARY[op]
    cases = []
    for x, y in itertools.product(NAMES, NAMES):
        cases.append((f"{op} {x},{y} tt",
                      lambda m, x=x, y=y: f(m, make(m, x), make(m, y, BASE_B))))
        cases.append((f"{op} {x},{y} t0d",
                      lambda m, x=x, y=y: f(m, make(m, x), make(m, y, BASE_B[1:2], ()))))
        cases.append((f"{op} {x},{y} 0dt",
                      lambda m, x=x, y=y: f(m, make(m, x, BASE_B[3:4], ()), make(m, y))))
    _check(cases, "binary", op)


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_with_python_numbers(op):
    f = BINARY[op]
    cases = []
    for x, s in itertools.product(NAMES, SCALARS):
        cases.append((f"{op} {x},{s!r} ts", lambda m, x=x, s=s: f(m, make(m, x), s)))
        if op not in TENSOR_FIRST:
            cases.append((f"{op} {s!r},{x} st", lambda m, x=x, s=s: f(m, s, make(m, x, BASE_B))))
    _check(cases, "scalar", op)


@pytest.mark.parametrize("op", sorted(INPLACE))
def test_inplace_cast_rules(op):
    f = INPLACE[op]
    cases = []
    for x, y in itertools.product(NAMES, NAMES):
        for form, other in (("ip", lambda m, y: make(m, y, BASE_B)),
                            ("ip0d", lambda m, y: make(m, y, BASE_B[1:2], ()))):
            def run(m, x=x, y=y, other=other):
                a = make(m, x)
                return a, f(a, other(m, y))
            cases.append((f"{op} {x},{y} {form}", run))
    for x, s in itertools.product(NAMES, SCALARS):
        def run_number(m, x=x, s=s):
            a = make(m, x)
            return a, f(a, s)
        cases.append((f"{op} {x},{s!r} ipsc", run_number))
    _check(cases, "inplace", op)


@pytest.mark.parametrize("op", OUT_OPS)
def test_out_cast_rules(op):
    cases = []
    for x, y, z in itertools.product(NAMES, NAMES, OUT_DTYPES):
        def run(m, x=x, y=y, z=z):
            out = make(m, z, BASE_B * 0)
            return out, getattr(m, op)(make(m, x), make(m, y, BASE_B), out=out)
        # (PyTorch computes in the inputs' dtype, then casts into out: its rounding stays.)
        floor_rtol = max(RTOL.get(x, RTOL["float32"]), RTOL.get(y, RTOL["float32"]))
        cases.append((f"{op} {x},{y}->{z} out", run, floor_rtol))
    _check(cases, "out", op)


@pytest.mark.parametrize("op", UNARY)
def test_unary_every_dtype(op):
    cases = []
    for x in NAMES:
        cases.append((f"{op} {x} fn", lambda m, x=x: getattr(m, op)(make(m, x))))
        if op not in NO_INPLACE:
            def run(m, x=x):
                a = make(m, x)
                return a, getattr(a, op + "_")()
            cases.append((f"{op}_ {x} ip", run))
        if op == "round":
            cases.append((f"round1 {x} fn", lambda m, x=x: m.round(make(m, x), decimals=1)))
            cases.append((f"round-1 {x} fn",
                          lambda m, x=x: m.round(make(m, x) * 37, decimals=-1)))
    _check(cases, "unary", op)


@pytest.mark.parametrize("op", sorted(REDUCTIONS))
def test_reductions_every_dtype(op):
    f = REDUCTIONS[op]
    _check([(f"{op} {x} red", lambda m, x=x: f(m, make(m, x))) for x in NAMES], "reduction",
           op)


def test_creation_wraparound_division_by_zero_half_rounding():
    _check([(f"{name} edge", fn) for name, fn in EDGES.items()], "edges", None)


def test_gradients_through_the_fixed_promotions():
    """The fixes keep gradients: where / addcmul cast their operands, complex var / std are
    real, float_power of complex is complex128."""
    import numpy as np
    from parity import Arg, check

    a = np.random.default_rng(0).standard_normal((2, 3))
    z = a + 1j * a[::-1]
    mask = np.array([[True, False, True], [False, True, True]])
    check(lambda m, c, x, y: m.where(c, x, y), Arg(mask), Arg(a.astype(np.float32)),
          Arg(a.astype(np.float64)))
    check(lambda m, c, x, y: m.where(c, x, y), Arg(mask), Arg(a.astype(np.float32)),
          Arg(np.array(2.0)))
    check(lambda m, x, y, t: m.addcmul(x, y, t, value=0.5), Arg(a), Arg(a.astype(np.float32)),
          Arg(a[0].astype(np.float32)))
    check(lambda m, x: m.var(x, 1), Arg(z.astype(np.complex128)))
    check(lambda m, x: m.std(x), Arg(z.astype(np.complex64)), rtol=1e-4, atol=1e-5)
    check(lambda m, x, y: m.float_power(x, y), Arg(z.astype(np.complex64)), Arg(a))
