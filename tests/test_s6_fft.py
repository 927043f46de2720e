"""deltagrad.fft against torch.fft: values, dtypes and shapes of every transform with n / s, dim
and norm, the helpers (fftfreq, rfftfreq, fftshift, ifftshift), and PyTorch's errors."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(11)
REAL = RNG.standard_normal((4, 6)).astype(np.float32)
CPLX = (RNG.standard_normal((4, 6)) + 1j * RNG.standard_normal((4, 6))).astype(np.complex64)
NORMS = [None, "backward", "ortho", "forward"]


def run(fn, array):
    want = fn(torch, torch.from_numpy(array.copy()))
    got = fn(dg, dg.from_numpy(array.copy()))
    want = want.resolve_conj()
    assert tuple(got.shape) == tuple(want.shape)
    assert str(got.dtype).split(".")[1] == str(want.dtype).split(".")[1]
    tol = 1e-5 if want.dtype in (torch.float32, torch.complex64) else 1e-12
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=tol, atol=tol * 10)


def raises_alike(fn):
    with pytest.raises(Exception) as expected:
        fn(torch)
    with pytest.raises(type(expected.value)) as got:
        fn(dg)
    assert str(got.value) == str(expected.value)


ONE_D = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
REAL_ONLY = {"rfft", "ihfft", "rfft2", "ihfft2", "rfftn", "ihfftn"}


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("name", ONE_D)
@pytest.mark.parametrize("n, dim", [(None, -1), (None, 0), (5, -1), (9, 1), (3, 0), (1, -1)])
def test_one_dimensional(name, n, dim, norm):
    for array in ([REAL] if name in REAL_ONLY else [REAL, CPLX]):
        run(lambda m, x: getattr(m.fft, name)(x, n=n, dim=dim, norm=norm), array)


N_D = ["fft2", "ifft2", "rfft2", "irfft2", "hfft2", "ihfft2",
       "fftn", "ifftn", "rfftn", "irfftn", "hfftn", "ihfftn"]


@pytest.mark.parametrize("norm", [None, "ortho", "forward"])
@pytest.mark.parametrize("name", N_D)
@pytest.mark.parametrize("s, dim", [(None, None), ((3, 8), None), ((5,), None),
                                    ((-1, 7), (1, 0)), (None, (0,)), (None, (-1, 0))])
def test_n_dimensional(name, s, dim, norm):
    kwargs = {"s": s, "norm": norm}
    if dim is not None:
        kwargs["dim"] = dim
    elif name.endswith("2") and s is not None and len(s) == 1:
        return  # (the 2-d functions' default dims want two sizes)
    for array in ([REAL] if name in REAL_ONLY else [REAL, CPLX]):
        run(lambda m, x: getattr(m.fft, name)(x, **kwargs), array)


@pytest.mark.parametrize("name", ["fft", "rfft", "ifft", "fftn", "irfft", "hfft"])
@pytest.mark.parametrize("array", [REAL.astype(np.float64), np.arange(6), np.array([1, 0, 1],
                                                                                  dtype=bool),
                                   CPLX.astype(np.complex128), REAL[:, ::2], REAL.T,
                                   RNG.standard_normal((2, 3, 4))],
                         ids=["f64", "int", "bool", "c128", "strided", "transposed", "3-d"])
def test_dtypes_and_layouts(name, array):
    if name == "rfft" and array.dtype.kind == "c":
        return
    run(lambda m, x: getattr(m.fft, name)(x), array)


def test_round_trips():
    x = dg.from_numpy(REAL.copy())
    np.testing.assert_allclose(dg.fft.irfft(dg.fft.rfft(x), n=6).numpy(), REAL, atol=1e-6)
    np.testing.assert_allclose(dg.fft.ifftn(dg.fft.fftn(x)).real.numpy(), REAL, atol=1e-6)
    np.testing.assert_allclose(dg.fft.hfft(dg.fft.ihfft(x), n=6).numpy(), REAL, atol=1e-6)


@pytest.mark.parametrize("n", [0, 1, 4, 5])
@pytest.mark.parametrize("d", [1.0, 0.1, 2])
def test_frequencies_are_torch_bit_for_bit(n, d):
    for fn in ("fftfreq", "rfftfreq"):
        want = getattr(torch.fft, fn)(n, d)
        got = getattr(dg.fft, fn)(n, d)
        assert got.dtype == dg.float32
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        want = getattr(torch.fft, fn)(n, d, dtype=torch.float64)
        got = getattr(dg.fft, fn)(n, d, dtype=dg.float64)
        np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1), -1])
def test_shifts(dim):
    for fn in ("fftshift", "ifftshift"):
        run(lambda m, x, fn=fn: getattr(m.fft, fn)(x, dim=dim), REAL)
        run(lambda m, x, fn=fn: getattr(m.fft, fn)(x, dim=dim), np.arange(35.0).reshape(5, 7))
    run(lambda m, x: m.fft.ifftshift(m.fft.fftshift(x)), np.arange(7.0))


def test_out_argument():
    x = dg.from_numpy(REAL.copy())
    out = dg.empty(4, 6, dtype=dg.complex64)
    assert dg.fft.fft(x, out=out) is out
    np.testing.assert_allclose(out.numpy(), np.fft.fft(REAL), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make", [
    lambda m: m.fft.fft(m.ones(3), norm="bad"),
    lambda m: m.fft.fft(m.ones(3), n=0),
    lambda m: m.fft.fft(m.ones(0)),
    lambda m: m.fft.fft(m.ones(3), dim=2),
    lambda m: m.fft.fft(m.tensor(1.0)),
    lambda m: m.fft.rfft(m.ones(3, dtype=m.complex64)),
    lambda m: m.fft.ihfft(m.ones(3, dtype=m.complex128)),
    lambda m: m.fft.fft(m.ones(3, dtype=m.float16)),
    lambda m: m.fft.fftn(m.ones(3, 3), dim=(0, 0)),
    lambda m: m.fft.fftn(m.ones(3, 3), s=(2,), dim=(0, 1)),
    lambda m: m.fft.fftn(m.ones(2, 3), s=(4, 5, 6)),
    lambda m: m.fft.irfft(m.ones(1)),
    lambda m: m.fft.irfftn(m.ones(2, 2, dtype=m.complex64), s=(2, 0)),
    lambda m: m.fft.fftshift(m.tensor(2.0)),
    lambda m: m.fft.fft(m.ones(3, requires_grad=True), out=m.empty(3, dtype=m.complex64)),
], ids=["norm", "n=0", "empty", "dim", "0-d", "rfft-complex", "ihfft-complex", "half",
        "unique", "s-dim", "s-long", "irfft-1", "irfftn-0", "shift-0-d", "out-grad"])
def test_errors_match_torch(make):
    with pytest.raises(Exception) as expected:
        make(torch)
    with pytest.raises(type(expected.value)) as got:
        make(dg)
    if "out=" not in str(expected.value):  # (PyTorch names its internal op there)
        assert str(got.value) == str(expected.value)


def test_n_must_be_an_int():
    with pytest.raises(TypeError):
        dg.fft.rfft(dg.ones(3), n=2.5)


def test_fftn_of_a_0d_tensor_is_complex():
    run(lambda m, x: m.fft.fftn(x), np.array(2.5, np.float32))
