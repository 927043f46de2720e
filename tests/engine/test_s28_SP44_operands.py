"""s28 SP44: rules whose numbers became cached 0-d arrays (``elementwise_math.Number``) and the
full mean's division by a cached 0-d count give the bits, dtypes and shapes of the former
Python-number arithmetic, over float16 / bfloat16 / float32 / float64 (and complex where the
rule takes it), 0-d to 2-d; the recorded (create_graph) rules and gradients against PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops import reductions
from deltagrad._engine.ops.elementwise_math import Number
from deltagrad._engine.ops.registry import ARRAY, OPS

_LN2, _LN10 = math.log(2.0), math.log(10.0)

# The rules as they were (Python numbers meeting the arrays: NEP 50's weak scalars).
OLD = {
    "sqrt": lambda g, out, x: g / (2.0 * out),
    "tan": lambda g, out, x: g * (1.0 + out * out),
    "asin": lambda g, out, x: g / np.sqrt(1.0 - x * x),
    "acos": lambda g, out, x: -g / np.sqrt(1.0 - x * x),
    "atan": lambda g, out, x: g / (1.0 + x * x),
    "asinh": lambda g, out, x: g / np.sqrt(x * x + 1.0),
    "acosh": lambda g, out, x: (g / (np.sqrt(x - 1.0) * np.sqrt(x + 1.0)) if x.dtype.kind == "c"
                                else g / np.sqrt(x * x - 1.0)),  # (complex: PyTorch's, SL22 s29)
    "atanh": lambda g, out, x: g / (1.0 - x * x),
    "exp2": lambda g, out, x: g * (out * _LN2),
    "expm1": lambda g, out, x: g * (out + 1.0),
    "log2": lambda g, out, x: g / (x * _LN2),
    "log10": lambda g, out, x: g / (x * _LN10),
    "log1p": lambda g, out, x: g / (x + 1.0),
    "rsqrt": lambda g, out, x: g * (-0.5 * out * out * out),
}
DOMAIN = {"acosh": (1.2, 3.0), "asin": (-0.9, 0.9), "acos": (-0.9, 0.9), "atanh": (-0.9, 0.9),
          "sqrt": (0.2, 3.0), "rsqrt": (0.2, 3.0), "log2": (0.2, 3.0), "log10": (0.2, 3.0),
          "log1p": (-0.8, 3.0), "tan": (-1.2, 1.2)}
DTYPES = ["float16", "float32", "float64", "complex64", "complex128"]


def _bfloat16():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    return np.dtype(ml_dtypes.bfloat16)


def _arrays(name, dtype, shape, seed):
    rng = np.random.default_rng(seed)
    low, high = DOMAIN.get(name, (-2.0, 2.0))
    x = rng.uniform(low, high, shape)
    g = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 0.25j * rng.uniform(low, high, shape)
        g = g + 1j * rng.standard_normal(shape)
    x, g = np.asarray(x).astype(dtype), np.asarray(g).astype(dtype)
    with np.errstate(all="ignore"):
        out = np.asarray(OPS[name].forward(x)).astype(dtype)  # (bfloat16: back to its dtype)
    return g, out, x


def _same(new, old):
    new, old = np.asarray(new), np.asarray(old)
    assert new.dtype == old.dtype and new.shape == old.shape
    assert new.tobytes() == old.tobytes()


@pytest.mark.parametrize("shape", [(), (8,), (8, 8)], ids=["0d", "1d", "2d"])
@pytest.mark.parametrize("dtype", DTYPES + ["bfloat16"])
@pytest.mark.parametrize("name", sorted(OLD))
def test_rule_bits_as_python_numbers(name, dtype, shape):
    dtype = _bfloat16() if dtype == "bfloat16" else np.dtype(dtype)
    g, out, x = _arrays(name, dtype, shape, seed=len(name))
    with np.errstate(all="ignore"):
        (new,) = OPS[name].vjp(ARRAY, g, out, x)
        old = OLD[name](g, out, x)
    _same(new, old)


@pytest.mark.parametrize("shape", [(), (8,), (8, 8)], ids=["0d", "1d", "2d"])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "bfloat16"])
@pytest.mark.parametrize("bounds", [(-0.5, 0.5), (None, 0.0), (0.0, None)], ids=str)
def test_clamp_rule_bits_as_python_zero(bounds, dtype, shape):
    dtype = _bfloat16() if dtype == "bfloat16" else np.dtype(dtype)
    rng = np.random.default_rng(7)
    x = np.asarray(rng.uniform(-1, 1, shape)).astype(dtype)
    g = np.asarray(rng.standard_normal(shape)).astype(dtype)
    if g.size > 2:
        g.reshape(-1)[:3] = [np.inf, np.nan, -0.0]  # (selected, never multiplied)
    low, high = bounds
    (new,) = OPS["clamp"].vjp(ARRAY, g, None, x, min=low, max=high)
    if high is None:
        mask = x >= low
    elif low is None:
        mask = x <= high
    else:
        mask = (x >= low) & (x <= high)
    _same(new, np.where(mask, g, 0.0))


def test_number_arrays_cached_read_only_and_other_dtypes_keep_the_float():
    n = Number(0.1)
    a = n[np.dtype(np.float32)]
    assert a is n[np.dtype(np.float32)] and a.shape == () and a.dtype == np.float32
    assert not a.flags.writeable and a == np.float32(0.1)
    assert n[np.dtype(np.int64)] == 0.1 and type(n[np.dtype(np.int64)]) is float
    assert n[_bfloat16()] == 0.1 and type(n[_bfloat16()]) is float


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_divide_by_count_as_by_the_int(dtype):
    rng = np.random.default_rng(3)
    counts = [1, 2, 3, 5, 7, 10, 64, 100, 999, 4097, 2**20 + 3, 2**24 - 1]
    for n in counts:
        for value in rng.standard_normal(20).tolist() + [0.0, -0.0, np.inf, np.nan, 1e-40]:
            total = np.array(value, dtype)
            expected = np.true_divide(np.array(value, dtype), n)
            got = reductions._divide_by_count(total, n)
            assert got is total and got.dtype == np.dtype(dtype)
            assert got.tobytes() == np.asarray(expected, dtype).tobytes(), (n, value)
    # keepdims sums (var's path) and beyond 2**24 (the intp path) unchanged
    total = rng.standard_normal((3, 1)).astype(dtype)
    _same(reductions._divide_by_count(total.copy(), 12), np.true_divide(total, 12))
    total = np.array(3.0e7, dtype)
    _same(reductions._divide_by_count(total.copy(), 2**24 + 1),
          np.true_divide(total, np.intp(2**24 + 1)).astype(dtype))


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_full_mean_against_torch(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    for shape in [(3,), (8, 8), (7, 3, 5)]:
        data = rng.standard_normal(shape).astype(dtype)
        ours = dg.tensor(data, requires_grad=True)
        theirs = torch.tensor(data, requires_grad=True)
        m, t = ours.mean(), theirs.mean()
        assert str(m.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        np.testing.assert_allclose(m.detach().numpy().astype(np.float64),
                                   t.detach().numpy().astype(np.float64), rtol=2e-3)
        m.backward()
        t.backward()
        assert ours.grad.numpy().tobytes() == theirs.grad.numpy().tobytes()


@pytest.mark.parametrize("name", sorted(OLD))
def test_first_and_second_derivatives_against_torch(name):
    torch = pytest.importorskip("torch")
    g, out, x = _arrays(name, np.float64, (5,), seed=11)
    results = []
    for lib in (dg, torch):
        t = lib.tensor(x, requires_grad=True)
        y = getattr(lib, name)(t)
        (d1,) = lib.autograd.grad(y, t, lib.tensor(g), create_graph=True)
        (d2,) = lib.autograd.grad(d1.sum(), t)
        results.append((y.detach().numpy(), d1.detach().numpy(), d2.numpy()))
    for ours, theirs in zip(results[0], results[1]):
        assert ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_clamp_gradient_against_torch():
    torch = pytest.importorskip("torch")
    data = np.array([[-1.0, -0.5, 0.0, 0.25], [0.5, 0.75, np.nan, -0.0]], np.float32)
    grads = []
    for lib in (dg, torch):
        t = lib.tensor(data, requires_grad=True)
        lib.clamp(t, -0.5, 0.5).backward(lib.ones(2, 4) * 3)
        grads.append(t.grad.numpy())
    assert grads[0].dtype == grads[1].dtype
    assert grads[0].tobytes() == grads[1].tobytes()


@pytest.mark.parametrize("name", sorted(OLD) + ["clamp", "mean"])
def test_meta_graphs_still_run_backward(name):
    x = dg.randn(3, 4, device="meta", requires_grad=True)
    if name == "clamp":
        y = dg.clamp(x, -0.5, 0.5)
    elif name == "mean":
        y = x.mean()
    else:
        y = getattr(dg, name)(x)
    y.backward(dg.ones(y.shape, device="meta"))
    assert x.grad.device.type == "meta" and tuple(x.grad.shape) == (3, 4)
