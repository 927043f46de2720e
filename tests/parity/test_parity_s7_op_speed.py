"""The fast paths of issue 18's slow ops (session 7, H5) against PyTorch: every path a size or
dtype selects (layer_norm's dense [n, n] products, its column path, its large path), the
statistics kept from forward to backward (and computed again when they are gone), and the
edge values a rewritten kernel could get wrong (constant rows, inf and nan)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

RNG = np.random.default_rng(57)


def _x(*shape, dtype=np.float64, loc=0.0, scale=2.0):
    return (RNG.standard_normal(shape) * scale + loc).astype(dtype)


# ------------------------------------------------------------------------------ layer_norm

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape,norm", [
    ((3, 4), (4,)),            # dense path, 2-d as it is
    ((2, 3, 5), (5,)),         # dense path, reshaped
    ((4, 32), (32,)),          # the largest dense row
    ((3, 33), (33,)),          # column path, one normalized dim
    ((2, 5, 8), (5, 8)),       # column path, two normalized dims (n = 40)
    ((2, 3, 4), (3, 4)),       # dense path, two normalized dims
    ((40, 30), (30,)),         # large path (over 1024 values)
])
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm_paths(dtype, x_shape, norm, affine):
    weight = Arg(_x(*norm, dtype=dtype)) if affine != "none" else None
    bias = Arg(_x(*norm, dtype=dtype)) if affine == "both" else None
    tol = {"rtol": 2e-4, "atol": 2e-5} if dtype == np.float32 else {}
    check(lambda m, x, w, b: m.nn.functional.layer_norm(x, norm, w, b, 1e-5),
          Arg(_x(*x_shape, dtype=dtype, loc=3.0)), weight, bias, **tol)


@pytest.mark.parametrize("n", [4, 33])
def test_layer_norm_constant_rows_are_exactly_zero(n):
    # float32 rows of 1000s: a mean with a rounded 1 / n would leave a few ulps, which rstd
    # (1 / sqrt(eps)) blows up; PyTorch gives exactly 0 (the bias).
    import deltagrad as dg

    x = np.full((3, n), 1000.1, np.float32)
    x[1] = RNG.standard_normal(n)
    got = dg.nn.functional.layer_norm(dg.from_numpy(x), (n,)).numpy()
    want = torch.nn.functional.layer_norm(torch.from_numpy(x), (n,)).numpy()
    assert np.array_equal(got[[0, 2]], np.zeros((2, n), np.float32))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_layer_norm_inf_and_nan_rows():
    x = _x(4, 5)
    x[0, 2] = np.inf
    x[2, 1] = np.nan
    check(lambda m, x: m.nn.functional.layer_norm(x, (5,)), Arg(x), grad=False)


@pytest.mark.parametrize("shape", [(3, 4), (3, 40)])
def test_layer_norm_backward_twice_and_output_changed(shape):
    # The second backward (retain_graph) finds no kept statistics and computes them again;
    # an output changed in place does not change the kept normalized rows.
    def twice(m, x, w, b):
        out = m.nn.functional.layer_norm(x, shape[-1:], w, b)
        g = m.from_numpy(np.linspace(-1.0, 1.0, out.numel()).reshape(shape))
        first = m.autograd.grad(out, (x, w, b), g, retain_graph=True)
        second = m.autograd.grad(out, (x, w, b), g)
        return m.cat([t.reshape(-1) for t in first + second])

    check(twice, Arg(_x(*shape)), Arg(_x(shape[-1])), Arg(_x(shape[-1])), grad=False)


# ------------------------------------------------------------------ complex parts and views

def _z(*shape, dtype=np.complex128):
    return (RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "0-d", "strided"])
def test_view_as_real_and_angle(dtype, layout):
    import deltagrad as dg

    z = np.asarray(_z(4, 6, dtype=dtype) if layout != "0-d" else _z(dtype=dtype))
    if z.ndim:
        z[0, 0] = 0  # angle's gradient at 0 (0, as PyTorch's)

    def view(m, z):
        z = {"transposed": lambda: z.transpose(0, 1), "strided": lambda: z[:, ::2]}.get(
            layout, lambda: z)()
        return m.view_as_real(z) * 2.0 + m.angle(z)[..., None]

    check(view, Arg(z), rtol=1e-5, atol=1e-5)
    # a view: writing through it writes the complex tensor
    t = dg.from_numpy(z.copy())
    dg.view_as_real(t)[..., 1].fill_(3.0)
    assert np.all(t.numpy().imag == 3.0)


@pytest.mark.parametrize("shape", [(3, 2), (1, 5, 2), (2, 3, 2)])
def test_view_as_complex(shape):
    check(lambda m, x: m.view_as_complex(x) * (1 + 2j), Arg(_x(*shape)))
    # non-contiguous inputs: PyTorch's errors (odd stride), or a view of a valid layout
    check(lambda m, x: m.view_as_complex(x[:, 1:]), Arg(_x(3, 3, 2)))
    check(lambda m, x: m.view_as_complex(x.transpose(0, 1)), Arg(_x(2, 3, 2)))


# -------------------------------------------------------------------------------------- FFT

FFT_CASES = [((5,), (0,)), ((4, 3), (1,)), ((4, 3), (0, 1)), ((2, 3, 4), (0, 2)),
             ((2, 3, 4), (2, 0, 1)), ((2, 1, 6), (1, 2))]


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("shape,dim", FFT_CASES)
def test_fft_kernels_are_numpys_bits(dtype, shape, dim):
    # The ufunc path against np.fft's n-d functions: the same bits, dtypes and shapes.
    from deltagrad._engine.ops import complex as ops

    z = _z(*shape, dtype=dtype)
    r = z.real.copy()
    real = np.float32 if dtype == np.complex64 else np.float64
    for k in range(3):
        pairs = [
            (ops._c2c_forward(z, dim=dim, normalization=k, forward=True),
             np.fft.fftn(z, axes=dim, norm=ops._NORM_FORWARD[k]).astype(dtype)),
            (ops._c2c_forward(z, dim=dim, normalization=k, forward=False),
             np.fft.ifftn(z, axes=dim, norm=ops._NORM_INVERSE[k]).astype(dtype)),
            (ops._r2c_forward(r, dim=dim, normalization=k, onesided=True),
             np.fft.rfftn(r, axes=dim, norm=ops._NORM_FORWARD[k]).astype(dtype))]
        for n in (2 * (shape[dim[-1]] - 1), 2 * shape[dim[-1]] - 1, 3):
            sizes = [shape[d] for d in dim[:-1]] + [n]
            pairs.append((ops._c2r_forward(z, dim=dim, normalization=k, last_dim_size=n),
                          np.fft.irfftn(z, s=sizes, axes=dim,
                                        norm=ops._NORM_INVERSE[k]).astype(real)))
        for got, want in pairs:
            assert got.dtype == want.dtype and got.shape == want.shape
            assert np.array_equal(got, want)


@pytest.mark.parametrize("shape,dim", FFT_CASES)
@pytest.mark.parametrize("k", [0, 1, 2])
def test_fft_primitives_match_torch(shape, dim, k):
    tol = {"rtol": 1e-6, "atol": 1e-9}
    check(lambda m, z: m._fft_c2c(z, list(dim), k, bool(k % 2)), Arg(_z(*shape)), **tol)
    check(lambda m, x: m._fft_r2c(x, list(dim), k, k != 1), Arg(_x(*shape)), **tol)
    n = 2 * (shape[dim[-1]] - 1) + k % 2
    check(lambda m, z: m._fft_c2r(z, list(dim), k, n), Arg(_z(*shape)), **tol)


def test_fft_empty_dims_and_errors():
    check(lambda m, z: m._fft_c2c(z, [], 0, True), Arg(_z(3, 2)))
    check(lambda m, z: m.fft.fftn(z, dim=(0, 0)), Arg(_z(3, 2)))  # repeated dim
    check(lambda m, z: m.fft.fft(z, dim=2), Arg(_z(3, 2)))  # out of range
    check(lambda m, z: m.fft.fft(z, dim=0), Arg(_z(0, 2)), grad=False)  # empty signal
