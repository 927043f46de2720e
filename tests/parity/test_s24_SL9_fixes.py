"""Silent differences from PyTorch that session 24's program fuzzer families
(``s24_SL9_families.py``) found, each checked against PyTorch after its fix."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402


def _retained_twice(lib, make, dtype):
    x = lib.tensor([0.903, -1.943, 0.455], dtype=getattr(lib, dtype), requires_grad=True)
    b = make(x)
    b.retain_grad()
    y = (b * b * lib.arange(1, b.numel() + 1, dtype=b.dtype).reshape(b.shape)).sum()
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)
    return b.grad, x.grad


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("make", [lambda x: x[0], lambda x: x[-1], lambda x: x.sum(),
                                  lambda x: x[1:], lambda x: x * 3],
                         ids=["index0", "index-1", "sum", "slice", "mul"])
def test_retained_grad_of_a_0d_non_leaf_accumulates(make, dtype):
    # `x[0].retain_grad()` and two backwards: the retained .grad of a 0-d non-leaf was the
    # last backward's alone (its gradient came as a NumPy scalar, which replaced the old one)
    ref_b, ref_x = _retained_twice(torch, make, dtype)
    got_b, got_x = _retained_twice(dg, make, dtype)
    for ref, got in ((ref_b, got_b), (ref_x, got_x)):
        assert str(got.dtype).rsplit(".", 1)[-1] == str(ref.dtype).rsplit(".", 1)[-1]
        assert tuple(got.shape) == tuple(ref.shape)
        np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-6)


def test_retained_0d_grad_with_a_hook_accumulates():
    def run(lib):
        x = lib.tensor([1.5, -2.0], requires_grad=True)
        b = x[1] * 2
        b.register_hook(lambda g: g * 3)
        b.retain_grad()
        y = b * b
        y.backward(retain_graph=True)
        y.backward()
        return b.grad.item(), x.grad.tolist()

    assert run(dg) == run(torch)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kw", [{"dim": 0}, {"dim": (1,), "keepdim": True}, {"dim": (0, 1)},
                                {}, {"dim": None}], ids=["dim0", "dim1keep", "dims", "all",
                                                         "None"])
@pytest.mark.parametrize("correction", [2, 3, 3.5, 6, 7])
def test_std_gradient_where_correction_reaches_the_count(correction, kw, dtype):
    # std with correction >= N along dims: PyTorch's rule is var's on g / (2 std), whose
    # divisor N - correction is not clamped along dims: +-0 for a correction above N, nan at
    # N (deltagrad gave nan for both)
    def grad(lib):
        x = lib.tensor([[-1.506, -0.287, -0.315], [0.5, 0.5, 0.5]],
                       dtype=getattr(lib, dtype), requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = lib.std(x, correction=correction, **kw)
        w = lib.arange(1, s.numel() + 1, dtype=s.dtype).reshape(s.shape)
        (s * w).sum().backward()
        return s.detach().numpy(), x.grad.numpy()

    (ref_s, ref_g), (got_s, got_g) = grad(torch), grad(dg)
    np.testing.assert_allclose(got_s, ref_s, rtol=1e-6)
    np.testing.assert_allclose(got_g, ref_g, rtol=1e-5)
    np.testing.assert_array_equal(np.signbit(got_g), np.signbit(ref_g))


@pytest.mark.parametrize("reduce", ["max", "min", "median", "amax"])
@pytest.mark.parametrize("create_graph", [False, True])
def test_extreme_of_all_changed_through_data(reduce, create_graph):
    # `m = x.exp().max(); m.data.add_(1); m.backward()`: no element equals the result any
    # more; PyTorch's max() / min() / median() fill zeros (deltagrad divided 0 by 0: nan);
    # amax's rule is (g / count) * mask on both sides (nan)
    def grad(lib):
        x = lib.tensor([1.86, 1.569, 0.736], dtype=lib.float64, requires_grad=True)
        m = getattr(x.exp(), reduce)()
        m.data.add_(1)
        (g,) = lib.autograd.grad(m * 3, x, create_graph=create_graph)
        return g.detach().numpy()

    np.testing.assert_array_equal(grad(dg), grad(torch))


@pytest.mark.parametrize("method, target", [("get_parameter", "0.bias"),
                                            ("get_parameter", "0.weight"),
                                            ("get_buffer", "nb"), ("get_parameter", "nb"),
                                            ("get_parameter", "0.nope")])
def test_get_parameter_of_a_none_parameter(method, target):
    # Linear(bias=False).bias is None: PyTorch's get_parameter raises AttributeError (it is
    # no nn.Parameter); deltagrad returned None. get_buffer of a None buffer returns None.
    def get(lib):
        m = lib.nn.Sequential(lib.nn.Linear(2, 2, bias=False))
        m.register_buffer("nb", None)
        try:
            got = getattr(m, method)(target)
        except AttributeError as exc:
            return "AttributeError", str(exc)
        return "value", None if got is None else tuple(got.shape)

    assert get(dg) == get(torch)


def test_mark_dirty_counts_the_change_as_pytorch():
    # PyTorch's Function.apply bumps a dirty input's version once more than forward's own
    # in-place op: `_version` 2 after `x.mul_(k); ctx.mark_dirty(x)` (deltagrad read 1)
    def run(lib):
        class Scale(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k):
                x.mul_(k)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 2, None

        out = []
        for rg in (True, False):
            x = lib.tensor([1.0, 2.0], requires_grad=True)
            z = x.clone() if rg else x.detach().clone()
            y = Scale.apply(z, 3.0)
            out.append((y is z, z._version, y.grad_fn is None, y.tolist()))
            if rg:
                (y * y).sum().backward()
                out.append(x.grad.tolist())
        with lib.no_grad():
            z = lib.tensor([1.0, 2.0])
            Scale.apply(z, 2.0)
            out.append(z._version)
        return out

    assert run(dg) == run(torch)


@pytest.mark.parametrize("p", [2, 1, float("inf")])
@pytest.mark.parametrize("maxnorm", [0.0, 0.5, 5.0])
@pytest.mark.parametrize("dim", [0, -1])
def test_renorm_gradient_of_a_slice_with_nan(p, maxnorm, dim):
    # a slice whose norm is nan is not scaled, and PyTorch's rule passes its gradient
    # through; deltagrad's composed rule gave the whole slice nan (0 * nan from the branch
    # that where() did not take)
    def grad(lib):
        v = np.array([[-0.165, 1.2, 0.4], [0.252, np.nan, -2.0], [-0.36, 0.1, 0.3]])
        x = lib.tensor(v, requires_grad=True)
        y = lib.renorm(x, p, dim, maxnorm)
        (y * lib.arange(1, 10, dtype=y.dtype).reshape(3, 3)).sum().backward()
        return y.detach().numpy(), x.grad.numpy()

    (ref_y, ref_g), (got_y, got_g) = grad(torch), grad(dg)
    np.testing.assert_allclose(got_y, ref_y, rtol=1e-7)
    np.testing.assert_allclose(got_g, ref_g, rtol=1e-6)


RANDOM_ARGS = [(), (-100, 100), (5,), (-3, 4), (0, 256), (2, 3), (1, 2), (2, 2), (3, 2), (0,),
               (-1,), (0, 2 ** 20), (-2 ** 40, 0), (-128, 128), (-129, 0)]


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int8", "int16", "int32", "int64",
                                   "float16", "float32"])
def test_random_range_checks(dtype):
    # random_(from, to) on integer / bool tensors: PyTorch refuses a range the dtype does not
    # hold and from >= to; deltagrad wrapped the draws (uint8 random_(-3, 4) gave 253..255),
    # filled `from` for random_(2, 2), and read random_(0) as random_()
    def run(lib):
        out = []
        for args in RANDOM_ARGS:
            lib.manual_seed(3)
            try:
                t = lib.zeros(4, dtype=getattr(lib, dtype)).random_(*args)
            except Exception as exc:  # noqa: BLE001 - the class and text are compared
                out.append((args, type(exc).__name__, str(exc)))
                continue
            out.append((args, t.tolist() if args else None))
        return out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (PyTorch's warning past float16's exact integers)
        assert run(dg) == run(torch)


def test_histogram_bin_edges_with_range_refused():
    # bins given as edges takes no range= in PyTorch (its parser's TypeError); deltagrad
    # answered with the edges
    for lib in (torch, dg):
        x = lib.tensor([0.195, -1.08, 0.5], dtype=lib.float64)
        with pytest.raises(TypeError):
            lib.histogram(x, lib.tensor([0.0, 1.0], dtype=lib.float64), range=(-2.0, 2.0))
        hist, _ = lib.histogram(x, lib.tensor([0.0, 1.0], dtype=lib.float64))
        assert hist.tolist() == [2.0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("correction", [-1, 0, 1])
@pytest.mark.parametrize("fn", ["var", "std", "var_mean", "std_mean"])
def test_variance_of_an_empty_slice_is_nan(fn, correction, dtype):
    # var over an empty slice: nan whatever the correction in PyTorch; deltagrad gave 0 / 1
    # (0) for a negative correction
    def run(lib):
        x = lib.zeros((3, 0), dtype=getattr(lib, dtype))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = getattr(lib, fn)(x, dim=-1, correction=correction)
        return [t.numpy() for t in (out if isinstance(out, tuple) else (out,))]

    for got, ref in zip(run(dg), run(torch)):
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("kw", [{"fweights": [0, 0]}, {"aweights": [0.0, 0.0]},
                                {"fweights": [0, 3], "aweights": [1.0, 0.0]}])
def test_cov_weights_that_sum_to_zero_refused(kw):
    for lib in (torch, dg):
        weights = {k: lib.tensor(v) for k, v in kw.items()}
        with pytest.raises(RuntimeError, match="weights sum to zero"):
            lib.cov(lib.tensor([[1.0, 2.0], [0.5, -1.0]]), **weights)
