"""Differences session 21's fuzzer families (``s21_SL6_families.py``) found, each checked
against PyTorch: a list mixing ints and floats into an integer dtype, 0-d Gamma draws, the
Gumbel distribution's ends."""

import math

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _both(fn):
    """``fn(lib)`` on each library: its value as a list, or the builtin class it raises."""
    out = []
    for lib in (torch, dg):
        try:
            value = fn(lib)
            out.append(value.tolist() if hasattr(value, "tolist") else value)
        except Exception as exc:  # noqa: BLE001 - the class is what is compared
            out.append(type(exc).__mro__[-2] if type(exc).__name__ not in (
                "RuntimeError", "ValueError", "TypeError", "OverflowError") else type(exc))
    return out


@pytest.mark.parametrize("data", [
    [2.5, -2], (2.5, -1), [[1.5, True], [-3, 0.0]], [2.5, -255], [1.5, -2, True],
    [2.5, -256], [-0.5, 2], [255.5, 1], [2.5, float("nan")], [127.9, -128.9]])
@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16"])
def test_tensor_of_mixed_ints_and_floats_into_an_integer_dtype(data, dtype):
    # PyTorch checks each number by its own type: a Python int wraps into uint8 down to -255,
    # a float must lie within [min, max]; before, [2.5, -2] into uint8 raised here.
    ref, got = _both(lambda lib: lib.tensor(data, dtype=getattr(lib, dtype)))
    assert got == ref


def test_mixed_list_overflow_message_names_the_dtype():
    with pytest.raises(RuntimeError, match="type uint8 without overflow"):
        dg.tensor([2.5, -256], dtype=dg.uint8)


def test_zero_dim_gamma_draws_keep_their_shape():
    # _standard_gamma of a 0-d concentration drew shape (1,) (np.ascontiguousarray's 1-d).
    for lib in (torch, dg):
        lib.manual_seed(3)
        a = lib.tensor(1.763, dtype=lib.float64, requires_grad=True)
        x = lib._standard_gamma(a)
        assert tuple(x.shape) == ()
        x.backward()
        assert tuple(a.grad.shape) == ()
    refs, gots = [], []
    for lib, out in ((torch, refs), (dg, gots)):
        lib.manual_seed(1251464753)
        g = lib.distributions.Gamma(lib.tensor(1.763, dtype=lib.float64),
                                    lib.tensor(1.157, dtype=lib.float64), validate_args=False)
        s = lib.distributions.StudentT(lib.tensor(4.596), lib.tensor(0.199), lib.tensor(1.231))
        for value in (g.sample(), g.cdf(g.sample()), s.sample(), s.log_prob(s.sample())):
            out.append((tuple(value.shape), value.item()))
    assert [r[0] for r in refs] == [g[0] for g in gots] == [(), (), (), ()]
    np.testing.assert_allclose([g[1] for g in gots], [r[1] for r in refs], rtol=1e-6)


def _gumbel(lib, validate=None, dtype="float32"):
    dt = getattr(lib, dtype)
    return lib.distributions.Gumbel(lib.tensor([-0.643, 0.3], dtype=dt),
                                    lib.tensor([0.541, 1.36], dtype=dt),
                                    validate_args=validate)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gumbel_icdf_at_the_ends_is_finite(dtype):
    # PyTorch's Gumbel transforms Uniform(tiny, 1 - eps): icdf(0) and icdf(1) are finite
    # (they were -inf / inf here).
    ref, got = (_gumbel(lib, dtype=dtype).icdf(lib.tensor([0.0, 1.0], dtype=getattr(
        lib, dtype))).tolist() for lib in (torch, dg))
    assert all(math.isfinite(v) for v in got)
    np.testing.assert_allclose(got, ref, rtol=1e-6)


def test_gumbel_cdf_validates_and_clamps_as_pytorch():
    x = [-100.0, 100.0]
    ref, got = _both(lambda lib: _gumbel(lib, True).cdf(lib.tensor(x)))
    assert ref is got is ValueError
    ref, got = _both(lambda lib: _gumbel(lib, False).cdf(lib.tensor(x)))
    assert got == ref == [0.0, 1.0]
    ref, got = _both(lambda lib: _gumbel(lib).cdf(lib.tensor([-1.0, 1.0])))
    np.testing.assert_allclose(got, ref, rtol=1e-6)


def test_gumbel_draws_follow_pytorch_stream():
    # (a check that rsample through the base Uniform kept PyTorch's stream: the draws agreed
    # to this tolerance before too)
    ref, got = [], []
    for lib, out in ((torch, ref), (dg, got)):
        lib.manual_seed(5)
        out.extend(_gumbel(lib, dtype="float64").sample((4,)).reshape(-1).tolist())
    np.testing.assert_allclose(got, ref, rtol=1e-12)


@pytest.mark.parametrize("expr", [
    "lib.tensor(1) * 1j", "lib.tensor([1, 2]) * 1j", "lib.tensor([True]) + 1j",
    "lib.arange(2) + 2j", "1j - lib.tensor([1])", "lib.tensor([1]) / 1j",
    "lib.tensor([1]).add(1j)", "lib.tensor([1.0], dtype=lib.float32) * 1j",
    "lib.full((1,), 1j)", "lib.full((2,), 1j, dtype=lib.complex64)",
    "lib.tensor([1, 2]).sum() * 1j"])
@pytest.mark.parametrize("default", ["float64", "float32"])
def test_complex_scalar_with_int_tensor_takes_the_default_complex_dtype(expr, default):
    # Under set_default_dtype(float64) an int / bool tensor with a Python complex, and
    # full(..., 1j), are complex128 in PyTorch; they were complex64 here.
    out = []
    for lib in (torch, dg):
        lib.set_default_dtype(getattr(lib, default))
        try:
            value = eval(expr, {"lib": lib})
            out.append((str(value.dtype).rsplit(".", 1)[-1], value.tolist()))
        finally:
            lib.set_default_dtype(lib.float32)
    assert out[1] == out[0]


@pytest.mark.parametrize("data", [[2**40, 1j], [-1, 1j], [1.5, 2**40, 1j]])
def test_tensor_of_complex_numbers_into_uint8_errs_at_the_first_bad_element(data):
    ref, got = _both(lambda lib: lib.tensor(data, dtype=lib.uint8))
    assert got is ref


@pytest.mark.parametrize("data", ["[1, 2**63]", "2**63", "2**64", "-2**63 - 1", "[True, 2**63]",
                                  "(2**63,)", "[[1], [2**63]]", "[2**64, 1]", "[1.5, 2**63]",
                                  "[-2**63]", "[2**63 - 1]", "[1j, 2**63]"])
@pytest.mark.parametrize("dtype", [None, "int64", "uint8", "float32"])
def test_python_ints_beyond_int64(data, dtype):
    # PyTorch parses a Python int as int64: one beyond it is a ValueError unless a float or
    # complex number beside it (or a floating dtype) makes the tensor floating. Here
    # tensor(2**63) was a uint64 tensor and tensor([1, 2**63]) a float32 one.
    def make(lib):
        kw = {} if dtype is None else {"dtype": getattr(lib, dtype)}
        return lib.tensor(eval(data), **kw)
    ref, got = _both(make)
    assert got == ref


@pytest.mark.parametrize("args", [(-3, 1, 7), (1, -3, 7), (-3, 2.7, 4), (0, 10, 4), (-7, 4, 12),
                                  (-10, 10.5, 31), (3, -2.9, 9)])
@pytest.mark.parametrize("dtype", ["int64", "int32", "int16"])
def test_integer_linspace_is_pytorchs_fused_formula(args, dtype):
    # The second half is end - step * (steps - 1 - i) with one rounding (PyTorch's fused
    # multiply-add), then truncated: linspace(-3, 1, 7)[3] is 1 - 3 * (2 / 3) = -0.999.., 0
    # (it was -1 here, from two roundings).
    ref, got = _both(lambda lib: lib.linspace(*args, dtype=getattr(lib, dtype)))
    assert got == ref
