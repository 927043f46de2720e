"""Regression tests for what session 27's operator fuzzer family (``s27_SL14_operators.py``)
found: each runs the same expression on PyTorch and on deltagrad and compares the result
(values with NaN and signs of zero, dtype, shape, Python type) or the raised exception's class.
"""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402


def _run(lib, code):
    ns = {"torch": lib, "np": np, "math": math}
    try:
        exec(f"r = {code}", ns)
    except Exception as exc:  # noqa: BLE001 - the class is what is compared
        return exc
    return ns["r"]


def _value(r):
    if isinstance(r, (torch.Tensor, dg.Tensor)):
        r = r.detach()
        dtype = str(r.dtype).rsplit(".", 1)[-1]
        data = (r.float() if dtype == "bfloat16" else r).numpy()
        return ("tensor", dtype, tuple(r.shape), data)
    if isinstance(r, (torch.dtype, dg.dtype)):
        return ("dtype", str(r).rsplit(".", 1)[-1])
    return (type(r).__name__, r)


def same(code):
    """``code`` gives the same on both sides: an exception of PyTorch's builtin class, or an
    equal value (NaN equal to NaN, signs of zero compared)."""
    want, got = _run(torch, code), _run(dg, code)
    if isinstance(want, Exception):
        base = next(k for k in type(want).__mro__ if k.__module__ == "builtins")
        assert isinstance(got, base), f"{code}: PyTorch raises {want!r}, deltagrad gives {got!r}"
        return
    assert not isinstance(got, Exception), f"{code}: deltagrad raises {got!r}, PyTorch {want!r}"
    w, g = _value(want), _value(got)
    assert w[:-1] == g[:-1], f"{code}: {g} != PyTorch's {w}"
    if w[0] == "tensor":
        np.testing.assert_array_equal(g[3], w[3])
        real = w[3].real
        assert np.array_equal(np.signbit(g[3].real) & ~np.isnan(real),  # (zeros' signs, not
                              np.signbit(real) & ~np.isnan(real)), code  # NaN's)
    else:
        assert w == g or (w[1] != w[1] and g[1] != g[1]), f"{code}: {g} != PyTorch's {w}"


# -- Python ints from 2**63 to 2**64: PyTorch's uint64 number, wrapped by integer casts ---------

UINT64 = [
    "torch.tensor([3], dtype=torch.int32) - 2**63",
    "torch.tensor([3]) - 2**63",
    "torch.tensor([3]) - (2**64 - 1)",
    "torch.tensor([1, 2, 5], dtype=torch.uint8) + 2**63",
    "torch.tensor([3], dtype=torch.int8) * (2**64 - 1)",
    "torch.tensor([3, -4]) // 2**63",
    "torch.tensor([3, -4]) % 2**63",
    "torch.tensor([3, -1]) & 2**63",
    "torch.tensor([3]) < 2**63",
    "torch.tensor([3], dtype=torch.uint8) == 2**63 + 3",
    # (true division: the number as a float, positive)
    "torch.tensor([1, 3]) / 2**63",
    "torch.div(torch.tensor([3]), 2**63)",
    "torch.true_divide(torch.tensor([3], dtype=torch.int16), 2**63 + 5)",
    "torch.div(2**63, torch.tensor([3]))",
    "2**63 / torch.tensor([3])",
    "torch.tensor(2, dtype=torch.int32) ** 2**63",
    "torch.tensor([1.5]) ** 2**63",
    "torch.result_type(torch.tensor(-2.5), 2**63)",
]


@pytest.mark.parametrize("code", UINT64, ids=range(len(UINT64)))
def test_ints_of_uint64_range_wrap_as_pytorch(code):
    same(code)


# -- ints past int64 and uint64: the parser's OverflowError, before any other check ------------

PAST = [
    "torch.tensor([1.]) ** 2**64", "torch.pow(torch.tensor([1j]), 2**64)",
    "torch.float_power(torch.tensor([1.]), 2**64)",
    "torch.float_power(torch.tensor([1.]), 2**64, out=torch.zeros(0, dtype=torch.bfloat16))",
    "torch.result_type(torch.tensor(-2.5), 2**64)", "torch.tensor([1j]) < 2**64",
    "2**64 <= torch.tensor([1j])", "torch.tensor([1]) == 2**64",
    "torch.full((2,), 2**64, dtype=torch.int16)", "torch.zeros(2).new_full((2,), 2**64)",
    "torch.zeros(2).fill_(2**64)", "torch.scalar_tensor(2**64)",
    "torch.zeros(2).masked_fill(torch.tensor([True, False]), 2**64)",
    "torch.clamp(torch.zeros(2), 2**64)",
]


@pytest.mark.parametrize("code", PAST, ids=range(len(PAST)))
def test_ints_past_uint64_raise_overflow_error(code):
    same(code)


# -- fills of half-precision, float32 and complex64 tensors with big numbers -------------------

@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "complex64"])
@pytest.mark.parametrize("shape", ["()", "(1,)", "(2,)", "(0,)"])
def test_fills_check_overflow_as_pytorch(dtype, shape):
    # (PyTorch: one element is filled unchecked in float16 / bfloat16, rounded to inf; more
    # are checked; float32 and complex64 are always checked)
    for value in ("65519", "70000", "2**40", "1e10", "1e300", "4e38", "2**63"):
        same(f"torch.full({shape}, {value}, dtype=torch.{dtype})")
        same(f"torch.zeros({shape}, dtype=torch.{dtype}).fill_({value})")
        same(f"torch.zeros({shape}, dtype=torch.{dtype}).new_full({shape}, {value})")
    same(f"torch.scalar_tensor(1e300, dtype=torch.{dtype})")


def test_fills_with_complex_numbers():
    same("torch.full((1,), complex(1e300, 0), dtype=torch.complex64)")
    same("torch.full((1,), complex(1, 1e300), dtype=torch.complex64)")
    same("torch.full((1,), complex(1, 1e300), dtype=torch.complex128)")
    same("torch.scalar_tensor(1j)")
    same("torch.scalar_tensor(1j, dtype=torch.complex64)")
    same("torch.scalar_tensor(-3, dtype=torch.uint8)")


def test_half_fill_is_quiet():
    with np.errstate(all="raise"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert math.isinf(dg.full((), 70000, dtype=dg.float16).item())
            assert math.isinf(dg.full((1,), 1e10, dtype=dg.float16).item())
            assert math.isinf(dg.zeros(1, dtype=dg.float16).fill_(2**40).item())


# -- operators and functions -------------------------------------------------------------------

def test_dtype_compared_with_a_tensor_is_false():
    same("torch.float32 == torch.tensor([1, 2])")
    same("torch.float32 != torch.tensor([1, 2])")
    same("torch.tensor(2) != torch.float32")
    same("torch.int64 == torch.tensor([[0], [-32768]], dtype=torch.int16)")


def test_bfloat16_array_protocol_refuses():
    same("np.asarray(torch.tensor([1.], dtype=torch.bfloat16))")
    same("torch.tensor([[0.5]], dtype=torch.bfloat16).__array__()")
    same("torch.tensor([1.], dtype=torch.bfloat16).__array__(np.float32)")
    same("np.asarray(torch.tensor([1.], dtype=torch.float16)).dtype.name")


@pytest.mark.parametrize("code", [
    "torch.add(torch.tensor([1.]), 2, alpha=1j)",
    "torch.add(torch.tensor([1]), 2, alpha=1j)",
    "torch.sub(torch.tensor([1.5]), torch.tensor([2]), alpha=(1+2j))",
    "torch.add(torch.tensor([True]), 5, alpha=(1+2j))",
    "torch.tensor([1.]).add_(2, alpha=1j)",
    "torch.sub(torch.tensor([1.]), 2j, alpha=1j)",
    "torch.add(torch.tensor([1j]), 2, alpha=1j)",
], ids=range(7))
def test_complex_alpha_needs_a_complex_result(code):
    same(code)


@pytest.mark.parametrize("fn", ["bitwise_and", "bitwise_or", "bitwise_xor",
                                "bitwise_left_shift", "bitwise_right_shift", "remainder"])
def test_number_first_forms_have_no_out(fn):
    same(f"torch.{fn}(2, torch.tensor([3, 1]), out=torch.zeros(2, dtype=torch.int64))")
    same(f"torch.{fn}(2, torch.tensor([3, 1]))")
    same(f"torch.{fn}(torch.tensor([3, 1]), 2, out=torch.zeros(2, dtype=torch.int64))")


def test_lists_mixing_floats_and_ints_past_int64():
    same("torch.tensor([True, 2**64, -0.0])")
    same("torch.tensor([[2**64, 1.5], [1, 2]])")
    same("torch.tensor([[2**64], [1j]])")
    same("torch.tensor([2**70, 1.5], dtype=torch.float64)")
    same("torch.tensor([2**64, 1])")
    same("torch.tensor([2**63])")


def test_clamp_takes_a_0d_bound_as_a_number_unless_it_requires_grad():
    same("torch.clamp(torch.tensor([1., 5.]), 0, torch.tensor(3.))")
    same("torch.clamp(torch.tensor([1., 5.]), 0, torch.tensor(3., requires_grad=True))")
    same("torch.clamp(torch.tensor([1., 5.]), min=torch.tensor(0., requires_grad=True), max=4)")


@pytest.mark.parametrize("code", [
    "torch.tensor([0]) <= -1e-310", "torch.tensor([16777217]) == 16777216.0",
    "torch.tensor([1], dtype=torch.int64) == 1.0000000001",
    "torch.tensor([True]) >= 1.0000000001", "16777216.0 == torch.tensor([16777217])",
    "torch.tensor([16777217, 3], dtype=torch.int32) != 16777216.0",
    "torch.eq(torch.tensor([16777217]), 16777216.0)", "torch.tensor([3]) < float('nan')",
], ids=range(8))
def test_integer_tensors_compare_with_floats_in_the_default_float_dtype(code):
    same(code)


def test_integer_comparison_under_float64_default():
    for lib in (torch, dg):
        lib.set_default_dtype(lib.float64)
    try:
        same("torch.tensor([16777217]) == 16777216.0")
    finally:
        for lib in (torch, dg):
            lib.set_default_dtype(lib.float32)


@pytest.mark.parametrize("code", [
    "torch.clamp(torch.tensor(3.43, dtype=torch.float64), min=complex(0.0, -0.0))",
    "torch.clamp(torch.tensor([3.43, -2.0]), min=1j)",
    "torch.clamp(torch.tensor([3, -1]), min=complex(0.0, 0), max=2)",
    "torch.clamp(torch.tensor(3.43j), min=0j)",
    "torch.tensor([1.5]).clamp_(complex(2, 0))",
    "torch.clamp_min(torch.tensor([1.5]), 2+0j)", "torch.tensor([1.5]).clamp_max(2+1j)",
    "torch.tensor([1.5]).clamp_min_(complex(float('inf'), 1))",
    "torch.clip(torch.tensor([1.]), 2+0j)",
], ids=range(9))
def test_clamp_reads_a_complex_bound_of_a_real_tensor(code):
    same(code)


@pytest.mark.parametrize("code", [
    "'ab' * torch.tensor(2)", "torch.tensor([3], dtype=torch.int16) * 'ab'",
    "'ab' * torch.tensor(-1)", "b'x' * torch.tensor(True)", "'ab' * torch.tensor(2.5)",
    "[1] * torch.tensor(2)", "torch.tensor(2) * (1,)", "'ab' + torch.tensor(2)",
], ids=range(8))
def test_sequences_repeat_by_an_integer_tensor(code):
    same(code)


def test_sgn_of_complex_infinities_and_nan():
    same("torch.sgn(torch.tensor([complex(float('inf'), 0), complex(-float('inf'), 1), "
         "complex(1, float('nan')), 0j, 3 + 4j, -2j]))")
    same("torch.sgn(torch.tensor(float('inf'), dtype=torch.complex128))")
    same("torch.sgn(torch.tensor([float('inf'), -0.0, float('nan')]))")
