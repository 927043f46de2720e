"""Session 9, S5: the ops whose forward or rule was made cheaper (issue 18) give PyTorch's
values, dtypes and gradients through ``backward()`` (the plain sweep, whose rules run on
arrays): real / imag of a complex cast, complex(re, im), digamma and polygamma (poles and
infinities), zeta's gradient in q (integer s), remainder (signed zeros, zero divisors) and the
Fourier transforms over the last and other dims."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

FLOATS = [np.float32, np.float64]


def _run(lib, fn, arrays, grads):
    """fn(lib, *tensors) and the gradients of the leaves in ``grads`` (positions), by
    backward() with a fixed cotangent of the output's shape."""
    tensors = []
    for k, a in enumerate(arrays):
        t = lib.from_numpy(np.array(a, copy=True))
        if k in grads:
            t.requires_grad_(True)
        tensors.append(t)
    out = fn(lib, *tensors)
    value = out.detach().numpy()
    if grads:
        rng = np.random.default_rng(7)
        real = value.real if value.dtype.kind == "c" else value
        cot = rng.standard_normal(real.shape).astype(real.dtype)
        if value.dtype.kind == "c":
            cot = (cot + 1j * rng.standard_normal(real.shape)).astype(value.dtype)
        out.backward(lib.from_numpy(cot))
    return value, [tensors[k].grad.numpy() if tensors[k].grad is not None else None
                   for k in grads]


def _compare(fn, *arrays, grads=(0,), rtol=1e-5, atol=1e-6):
    want, want_grads = _run(torch, fn, arrays, grads)
    got, got_grads = _run(dg, fn, arrays, grads)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    # signed zeros too (remainder's zero results take the dividend's sign)
    if got.dtype.kind == "f":
        assert np.array_equal(np.signbit(got[got == 0]), np.signbit(want[want == 0]))
    for g, w in zip(got_grads, want_grads):
        assert (g is None) == (w is None)
        if w is not None:
            assert g.dtype == w.dtype and g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=rtol * 10, atol=atol * 10, equal_nan=True)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(), (5,), (3, 4)])
@pytest.mark.parametrize("part", ["real", "imag"])
def test_real_imag_of_a_complex_cast(dtype, shape, part):
    complex_dtype = {np.float32: "complex64", np.float64: "complex128"}[dtype]
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    _compare(lambda m, t: getattr(m, part)(t.to(getattr(m, complex_dtype))) * 2.0, x)


@pytest.mark.parametrize("dtypes", [(np.float32, np.float32), (np.float64, np.float64),
                                    (np.float32, np.float64)])
@pytest.mark.parametrize("shapes", [((3,), (3,)), ((3, 1), (1, 4)), ((), (2,))])
def test_complex_of_parts(dtypes, shapes):
    rng = np.random.default_rng(1)
    re, im = (rng.standard_normal(s).astype(d) for s, d in zip(shapes, dtypes))
    if dtypes[0] != dtypes[1]:  # PyTorch refuses mixed dtypes: the same error here
        with pytest.raises(RuntimeError):
            torch.complex(torch.from_numpy(re), torch.from_numpy(im))
        with pytest.raises(RuntimeError):
            dg.complex(dg.from_numpy(re), dg.from_numpy(im))
        return
    _compare(lambda m, a, b: m.view_as_real(m.complex(a, b)), re, im, grads=(0, 1))


EDGES = [0.0, -0.0, -1.0, -2.0, -3.0, np.inf, -np.inf, np.nan, 1.4616321, -0.5, 2.5, 1e-3]


@pytest.mark.parametrize("dtype", FLOATS)
def test_digamma_gradient_at_poles_and_infinities(dtype):
    # trigamma's fix-ups (poles as PyTorch's large finite values, nan at -inf) are skipped
    # only when no value is infinite: every edge here takes them, the plain values do not.
    rtol = 1e-4 if dtype is np.float32 else 1e-10
    _compare(lambda m, t: m.digamma(t), np.array(EDGES, dtype), rtol=rtol)
    plain = np.random.default_rng(2).uniform(0.2, 5.0, (8, 8)).astype(dtype)
    _compare(lambda m, t: m.digamma(t), plain, rtol=rtol)
    _compare(lambda m, t: m.digamma(t), np.array(2.5, dtype), rtol=rtol)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n", [1, 2])
def test_polygamma_and_its_gradient(dtype, n):
    rtol = 1e-4 if dtype is np.float32 else 1e-10
    x = np.array([0.3, 1.0, 2.5, -0.5, -1.5, 7.0, 1e-3], dtype)
    _compare(lambda m, t: m.polygamma(n, t), x, rtol=rtol)
    # (the pole values of trigamma are PyTorch's large finite ones: compared without grad)
    edges = np.array([-1.0, -2.0, 0.0, np.inf, -np.inf, np.nan], dtype)
    _compare(lambda m, t: m.polygamma(n, t), edges, grads=(), rtol=rtol)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("case", ["0-d", "vector", "broadcast", "float s"])
def test_zeta_gradient_in_q(dtype, case):
    rng = np.random.default_rng(3)
    if case == "0-d":
        s, q = np.array(2), rng.uniform(0.5, 3.0, ()).astype(dtype)
    elif case == "vector":
        s, q = np.array([2, 3, 5]), rng.uniform(0.5, 4.0, (3,)).astype(dtype)
    elif case == "broadcast":
        s, q = np.array([[2], [4]]), rng.uniform(0.5, 4.0, (3,)).astype(dtype)
    else:
        s, q = np.array([2.5, 3.0, 1.5], dtype), np.array([0.7, 2.0, -0.5], dtype)
    rtol = 1e-4 if dtype is np.float32 else 1e-10
    _compare(lambda m, a, b: m.special.zeta(a, b), s, q, grads=(1,), rtol=rtol)


@pytest.mark.parametrize("dtype", FLOATS)
def test_remainder_values_signs_and_gradients(dtype):
    x = np.array([5.0, -5.0, 5.0, -5.0, 1.0, -2.0, 0.0, 7.5, np.inf, np.nan], dtype)
    y = np.array([2.5, 2.5, -2.5, -2.5, 0.0, 2.5, -1.0, 2.0, 2.0, 1.0], dtype)
    _compare(lambda m, a, b: m.remainder(a, b), x, y, grads=(0, 1))
    rng = np.random.default_rng(4)
    a = rng.uniform(-3, 3, (8, 8)).astype(dtype)
    b = (rng.uniform(0.5, 1.5, (8,)) * rng.choice([-1.0, 1.0], (8,))).astype(dtype)
    _compare(lambda m, p, q: m.remainder(p, q), a, b, grads=(0, 1))
    _compare(lambda m, p, q: m.remainder(p, q), a.T, b, grads=(0, 1))  # (a transposed view)
    _compare(lambda m, p, q: m.remainder(p, q), np.array(-7.0, dtype), np.array(2.0, dtype),
             grads=(0, 1))


def test_remainder_integers():
    x = np.array([5, -5, 5, -5, 0, 7], np.int64)
    y = np.array([3, 3, -3, -3, 2, 7], np.int64)
    _compare(lambda m, a, b: m.remainder(a, b), x, y, grads=())


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape, dim", [((5,), (0,)), ((4, 3), (0,)), ((4, 3), (1,)),
                                        ((4, 3), (0, 1)), ((2, 3, 4), (0, 2))])
@pytest.mark.parametrize("norm", ["backward", "ortho", "forward"])
def test_fft_transforms_over_last_and_other_dims(dtype, shape, dim, norm):
    x = np.random.default_rng(5).standard_normal(shape).astype(dtype)
    rtol, atol = (1e-4, 1e-5) if dtype is np.float32 else (1e-10, 1e-12)
    complex_dtype = {np.float32: "complex64", np.float64: "complex128"}[dtype]

    def c2c(m, t):
        return m.view_as_real(m.fft.fftn(t.to(getattr(m, complex_dtype)), dim=dim, norm=norm))

    _compare(c2c, x, rtol=rtol, atol=atol)
    _compare(lambda m, t: m.view_as_real(m.fft.rfftn(t, dim=dim, norm=norm)), x,
             rtol=rtol, atol=atol)
    _compare(lambda m, t: m.fft.irfftn(t.to(getattr(m, complex_dtype)), dim=dim, norm=norm),
             x, rtol=rtol, atol=atol)
