"""Complex tensors against PyTorch: real/imag views, conj, angle, abs, view_as_real/complex,
complex(), polar(), promotion with real tensors, printing, and PyTorch's errors."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)
Z64 = (RNG.standard_normal((3, 4)) + 1j * RNG.standard_normal((3, 4))).astype(np.complex64)
Z128 = (RNG.standard_normal((2, 3)) + 1j * RNG.standard_normal((2, 3)))
X32 = RNG.standard_normal((3, 4)).astype(np.float32)


def both(array):
    return torch.from_numpy(array.copy()), dg.from_numpy(array.copy())


def same(t, d, rtol=1e-6, atol=1e-6):
    t = t.resolve_conj() if t.is_complex() else t
    assert tuple(t.shape) == tuple(d.shape)
    assert str(t.dtype).split(".")[1] == str(d.dtype).split(".")[1]
    np.testing.assert_allclose(d.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)


def raises_alike(fn):
    """fn(m) raises in both libraries, the same exception type and message."""
    with pytest.raises(Exception) as expected:
        fn(torch)
    with pytest.raises(type(expected.value)) as got:
        fn(dg)
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("array", [Z64, Z128, Z64[:, ::2], np.array(1 - 2j, np.complex64)],
                         ids=["c64", "c128", "strided", "0-d"])
@pytest.mark.parametrize("name", ["real", "imag", "angle", "abs", "conj", "conj_physical",
                                  "view_as_real", "is_complex"])
def test_parts_match_torch(name, array):
    t, d = both(array)
    if name in ("real", "imag"):
        got, want = getattr(d, name), getattr(t, name)
        same(want, got)
        same(getattr(torch, name)(t), getattr(dg, name)(d))
    elif name == "is_complex":
        assert dg.is_complex(d) and d.is_complex()
    else:
        if name == "abs" and array.dtype == np.complex128:
            pytest.skip("abs of complex128: see test_abs_of_complex128_is_float64")
        same(getattr(torch, name)(t), getattr(dg, name)(d))


def test_real_and_imag_are_writable_views():
    z = dg.from_numpy(Z64.copy())
    r, i = z.real, z.imag
    r[0, 0] = 10.0
    i[1] = -3.0
    assert z.numpy()[0, 0].real == 10.0
    np.testing.assert_array_equal(z.numpy()[1].imag, np.full(4, -3.0, np.float32))
    z.real = dg.zeros(3, 4)  # PyTorch's setter writes into the part
    z.imag = 2.0
    np.testing.assert_array_equal(z.numpy(), np.full((3, 4), 2j, np.complex64))


def test_real_of_a_real_tensor_is_itself_and_imag_raises():
    x = dg.ones(3)
    assert x.real is x and dg.real(x) is x
    assert x.conj() is x and dg.conj_physical(x) is x and dg.resolve_conj(x) is x
    raises_alike(lambda m: m.ones(3).imag)
    raises_alike(lambda m: m.imag(m.ones(3)))


def test_conj_materialises_and_says_so():
    z = dg.from_numpy(Z64.copy())
    c = z.conj()
    np.testing.assert_array_equal(c.numpy(), np.conj(Z64))
    assert not c.is_conj() and not dg.is_conj(c) and not c.is_neg()
    assert c.resolve_conj() is c and dg.resolve_neg(c) is c
    c[0, 0] = 0  # no memory shared (PyTorch's lazy conj would write through)
    assert z.numpy()[0, 0] == Z64[0, 0]


@pytest.mark.parametrize("array", [np.array([-1.0, 2.0, 0.0, -0.0, np.nan, np.inf, -np.inf]),
                                   np.array([-2, 0, 3]), np.array([True, False]),
                                   np.array([0j, -1 + 0j, 1j, -1j], np.complex64)])
def test_angle(array):
    t, d = both(array)
    same(torch.angle(t), dg.angle(d))
    same(t.angle(), d.angle())


def test_view_as_real_and_complex_share_memory():
    z = dg.from_numpy(Z64.copy())
    pairs = dg.view_as_real(z)
    assert pairs.shape == (3, 4, 2) and pairs.dtype == dg.float32
    pairs[0, 0, 1] = 42.0
    assert z.numpy()[0, 0].imag == 42.0
    back = dg.view_as_complex(pairs)
    back[2, 3] = 5 + 6j
    assert z.numpy()[2, 3] == 5 + 6j
    strided = dg.view_as_real(z[:, ::2])  # any strides: the pairs follow them
    same(torch.view_as_real(torch.from_numpy(z.numpy())[:, ::2]), strided)
    x = dg.from_numpy(np.arange(12.0).reshape(2, 3, 2))
    same(torch.view_as_complex(torch.arange(12.0, dtype=torch.float64).reshape(2, 3, 2)),
         dg.view_as_complex(x))
    assert dg.view_as_complex(dg.ones(0, 2)).shape == (0,)


@pytest.mark.parametrize("make", [
    lambda m: m.view_as_complex(m.ones(3, 3)),
    lambda m: m.view_as_complex(m.ones(2, 3).T),
    lambda m: m.view_as_complex(m.ones(3, 3)[:, :2]),
    lambda m: m.view_as_complex(m.ones(3, 2, dtype=m.int64)),
    lambda m: m.view_as_complex(m.tensor(1.0)),
    lambda m: m.view_as_real(m.ones(2)),
    lambda m: m.complex(m.ones(2), m.ones(2, dtype=m.float64)),
    lambda m: m.complex(m.ones(2, dtype=m.int64), m.ones(2, dtype=m.int64)),
    lambda m: m.polar(m.ones(2), m.ones(2, dtype=m.float64)),
], ids=["last-size", "last-stride", "odd-stride", "int", "0-d", "real", "mixed", "ints",
        "polar-mixed"])
def test_errors_match_torch(make):
    raises_alike(make)


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((), (4,))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_complex_and_polar(shapes, dtype):
    a = RNG.uniform(0.1, 2.0, shapes[0]).astype(dtype)
    b = RNG.uniform(-3.0, 3.0, shapes[1]).astype(dtype)
    (ta, da), (tb, db) = both(a), both(b)
    same(torch.complex(ta, tb), dg.complex(da, db))
    same(torch.polar(ta, tb), dg.polar(da, db), rtol=1e-5)


@pytest.mark.parametrize("left, right", [
    ("float32", "complex64"), ("float64", "complex64"), ("float32", "complex128"),
    ("int64", "complex64"), ("bool", "complex128"), ("complex64", "complex128")])
@pytest.mark.parametrize("op", ["add", "mul", "sub", "div"])
def test_promotion_real_with_complex(left, right, op):
    if op == "sub" and left == "bool":
        raises_alike(lambda m: m.sub(m.ones(2, dtype=m.bool), m.ones(2, dtype=m.complex64)))
        return
    a = np.arange(1, 5).astype(left)
    b = (np.arange(1, 5) + 1j).astype(right)
    (ta, da), (tb, db) = both(a), both(b)
    same(getattr(torch, op)(ta, tb), getattr(dg, op)(da, db), rtol=1e-6)
    same(getattr(torch, op)(tb, ta), getattr(dg, op)(db, da), rtol=1e-6)


@pytest.mark.parametrize("scalar", [2.5, 1j, 3])
def test_python_scalars_with_complex_tensors(scalar):
    t, d = both(Z64)
    same(t * scalar, d * scalar)
    same(scalar - t, scalar - d)


def test_python_scalars_take_the_complex_tensors_precision():
    assert (dg.ones(3) * 1j).dtype == dg.complex64
    assert (dg.ones(3, dtype=dg.float64) * 1j).dtype == dg.complex128
    assert (dg.ones(3, dtype=dg.int64) * 1j).dtype == dg.complex64
    c128 = dg.ones(3, dtype=dg.complex128) * 0.1  # 0.1 in double, not rounded to float32
    np.testing.assert_array_equal(c128.numpy(), np.full(3, 0.1, dtype=np.complex128))


def test_abs_of_complex128_is_float64():
    assert dg.from_numpy(Z128).abs().dtype == dg.float64


@pytest.mark.parametrize("array", [
    np.array([1 + 2j, 3 - 1j], np.complex64), np.array(1.5 - 2j, np.complex64),
    np.array([[1e-5 + 1j, 100 + 0j]]), Z64, np.array([np.nan + 1j, np.inf - 2j], np.complex64),
    np.zeros((0,), np.complex64), np.array([1e12 + 1j, 1 - 1e-12j]),
    np.array([0.1 + 0.2j] * 2000, np.complex64)])
def test_printing_matches_torch(array):
    t, d = both(array)
    assert repr(d).replace("deltagrad.", "") == repr(t).replace("torch.", "")
