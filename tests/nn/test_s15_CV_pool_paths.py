"""The pools' small-input paths and per-call caches (s15 CV): each small path against the
general one on random geometries (the same bits), the unique-position scatter against NumPy's
put_along_axis, and max / average / adaptive max pooling against PyTorch (values, indices,
gradients, second derivatives and exception classes), called twice so that the second call
takes the checked-call cache."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.nn import _pool_kernels, pooling2d

torch = pytest.importorskip("torch")


def _geometries(rng, count, op, effective_pad):
    """Random valid pooling geometries ``(size, kernel, stride, pads, out, dilation)``."""
    found = []
    while len(found) < count:
        spatial = int(rng.integers(1, 4))
        size = tuple(int(v) for v in rng.integers(1, 7, spatial))
        kernel = tuple(int(rng.integers(1, min(4, n) + 1)) for n in size)
        stride = tuple(int(v) for v in rng.integers(1, 4, spatial))
        dilation = (tuple(int(v) for v in rng.integers(1, 3, spatial)) if effective_pad
                    else (1,) * spatial)
        padding = tuple(int(rng.integers(0, ((k - 1) * d + 1) // 2 + 1)) if effective_pad
                        else int(rng.integers(0, k // 2 + 1)) for k, d in zip(kernel, dilation))
        try:
            kernel, stride, pads, out, dilation = pooling2d._work_out_geometry(
                op, size, kernel, stride, padding, dilation, bool(rng.integers(2)), spatial,
                effective_pad)
        except RuntimeError:
            continue
        found.append((size, kernel, stride, pads, out, dilation))
    return found


def _input(rng, trial, size, dtype):
    xs = (rng.standard_normal((2, 3) + size) * 3).astype(dtype)
    if trial % 3 == 0 and xs.dtype.kind == "f":
        xs = np.round(xs)  # ties: the first maximum
    if trial % 5 == 0 and xs.dtype.kind == "f":
        xs.flat[rng.integers(0, xs.size, 2)] = np.nan
    if trial % 7 == 0:
        xs = np.asfortranarray(xs)  # not C-contiguous
    return xs


def test_small_max_pool_path_matches_the_general_one(monkeypatch):
    rng = np.random.default_rng(0)
    compared = 0
    for trial, (size, kernel, stride, pads, out, dilation) in enumerate(
            _geometries(rng, 150, "max_pool2d", True)):
        xs = _input(rng, trial, size, [np.float32, np.float64, np.int32, np.float16][trial % 4])
        lowest = -np.inf if xs.dtype.kind == "f" else np.iinfo(xs.dtype).min
        small = _pool_kernels._small_window_maxima(xs, kernel, stride, dilation, pads, out,
                                                   lowest)
        if small is None:  # (a nan, or a maximum as low as the padding: the general path)
            continue
        with monkeypatch.context() as patch:
            patch.setattr(_pool_kernels, "_SMALL_WINDOWS", 0)
            values, index = _pool_kernels._max_pool_positions(
                xs, kernel=kernel, stride=stride, dilation=dilation, pads=pads, out=out)
        index = index.positions() if hasattr(index, "positions") else index
        np.testing.assert_array_equal(small[0], values)
        np.testing.assert_array_equal(small[1], index)
        assert small[0].dtype == values.dtype and small[1].dtype == index.dtype
        compared += 1
    assert compared > 80


def test_small_window_sum_path_matches_the_loop(monkeypatch):
    rng = np.random.default_rng(1)
    for trial, (size, kernel, stride, pads, out, _) in enumerate(
            _geometries(rng, 150, "avg_pool2d", False)):
        xs = _input(rng, trial + 1, size, [np.float32, np.float64, np.int64, np.float16][trial % 4])
        small = pooling2d._window_sum(xs, kernel, stride, pads, out)
        with monkeypatch.context() as patch:
            patch.setattr(pooling2d, "_SMALL_WINDOWS", 0)
            loop = pooling2d._window_sum(xs, kernel, stride, pads, out)
        np.testing.assert_array_equal(small, loop)  # the same bits, nan included
        assert small.dtype == loop.dtype


@pytest.mark.parametrize("shape, taken", [((2, 3, 4, 5), 6), ((1, 1, 3), 1), ((0, 2, 3, 3), 2),
                                          ((2, 2, 2, 3, 4), 5)])
def test_unique_scatter_matches_put_along_axis(shape, taken):
    rng = np.random.default_rng(2)
    rows, positions = shape[0] * shape[1], int(np.prod(shape[2:]))
    index = np.stack([rng.permutation(positions)[:taken] for _ in range(rows)]) if rows else (
        np.zeros((0, taken), np.int64))
    index = index.reshape(shape[:2] + (1, taken))
    xs = rng.standard_normal(index.shape).astype(np.float32)
    expected = np.zeros((shape[0], shape[1], positions), np.float32)
    np.put_along_axis(expected, index.reshape(shape[0], shape[1], taken),
                      xs.reshape(shape[0], shape[1], taken), axis=2)
    got = pooling2d._put(xs, index, shape, False)
    np.testing.assert_array_equal(got, expected.reshape(shape))
    assert got.dtype == np.float32


POOLS = [
    ("max_pool2d", (1, 2, 5, 6), dict(kernel_size=3, stride=2, ceil_mode=True)),
    ("max_pool2d", (2, 5, 6), dict(kernel_size=2)),  # unbatched, disjoint windows
    ("max_pool3d", (1, 2, 3, 6, 5), dict(kernel_size=3, stride=2, padding=1, dilation=1)),
    ("avg_pool2d", (1, 3, 9, 9), dict(kernel_size=3, stride=1, padding=1)),
    ("avg_pool2d", (2, 7, 7), dict(kernel_size=(3, 2), stride=(2, 1), ceil_mode=True,
                                   count_include_pad=False)),
    ("avg_pool3d", (1, 2, 5, 5, 5), dict(kernel_size=(2, 3, 4), stride=(1, 2, 2), padding=1)),
    ("adaptive_max_pool2d", (4, 5, 7), dict(output_size=(2, 3))),
    ("adaptive_max_pool3d", (1, 2, 4, 3, 5), dict(output_size=(3, 2, 2))),
]


@pytest.mark.parametrize("case", range(len(POOLS)))
def test_pools_against_torch_twice(case):
    name, shape, kwargs = POOLS[case]
    x = np.random.default_rng(case).standard_normal(shape)
    x.flat[::7] = np.round(x.flat[::7])  # some ties
    for _ in range(2):  # (the second call takes the checked-call cache)
        ours = dg.tensor(x, requires_grad=True)
        theirs = torch.tensor(x, requires_grad=True)
        y = getattr(dg.nn.functional, name)(ours, **kwargs)
        y_t = getattr(torch.nn.functional, name)(theirs, **kwargs)
        np.testing.assert_allclose(y.detach().numpy(), y_t.detach().numpy(), rtol=1e-12)
        assert y.stride() == y_t.stride()
        cotangent = np.random.default_rng(10 + case).standard_normal(tuple(y_t.shape))
        g, g_t = dg.tensor(cotangent, requires_grad=True), torch.tensor(cotangent,
                                                                         requires_grad=True)
        (grad,) = dg.autograd.grad(y, [ours], g, create_graph=True)
        (grad_t,) = torch.autograd.grad(y_t, [theirs], g_t, create_graph=True)
        np.testing.assert_allclose(grad.detach().numpy(), grad_t.detach().numpy(), rtol=1e-12)
        (second,) = dg.autograd.grad((grad * grad).sum(), [g])
        (second_t,) = torch.autograd.grad((grad_t * grad_t).sum(), [g_t])
        np.testing.assert_allclose(second.numpy(), second_t.numpy(), rtol=1e-12)
    if name.startswith("max") or name.startswith("adaptive_max"):
        _, index = getattr(dg.nn.functional, name)(dg.tensor(x), **kwargs, return_indices=True)
        _, index_t = getattr(torch.nn.functional, name)(torch.tensor(x), **kwargs,
                                                        return_indices=True)
        np.testing.assert_array_equal(index.numpy(), index_t.numpy())


BAD = [
    ("max_pool2d", (1, 2, 5, 6), dict(kernel_size=True)),  # a bool size: TypeError
    ("max_pool2d", (1, 2, 5, 6), dict(kernel_size=3, padding=2)),  # padding over half
    ("max_pool2d", (1, 2, 2, 2), dict(kernel_size=3)),  # output too small
    ("avg_pool2d", (1, 2, 5, 6), dict(kernel_size=2, divisor_override=0)),
    ("avg_pool3d", (2, 5, 6), dict(kernel_size=2)),  # too few dims
    ("adaptive_max_pool2d", (1, 2, 0, 6), dict(output_size=(2, 2))),
]


@pytest.mark.parametrize("case", range(len(BAD)))
def test_errors_are_torchs_classes_after_a_cached_call(case):
    name, shape, kwargs = BAD[case]
    good = {k: (1 if k == "kernel_size" and v is True else v) for k, v in kwargs.items()}
    good.pop("divisor_override", None)
    good.pop("padding", None)
    if "output_size" not in good:
        good["kernel_size"] = 1
    ok = (1, 2, 5, 6) if len(shape) == 4 else (1, 2, 5, 6, 4)
    for _ in range(2):  # a call of the same op that passes, cached
        getattr(dg.nn.functional, name)(dg.ones(ok), **good)
    with pytest.raises(Exception) as theirs:
        getattr(torch.nn.functional, name)(torch.ones(shape), **kwargs)
    for _ in range(2):
        with pytest.raises(Exception) as ours:
            getattr(dg.nn.functional, name)(dg.ones(shape), **kwargs)
        assert isinstance(ours.value, type(theirs.value)), (ours.value, theirs.value)


def test_small_scatter_paths_match_the_loops(monkeypatch):
    """Average pooling's adjoint and col2im (a convolution's input gradient): the gathered
    small paths against the strided-addition loops, the same bits."""
    from deltagrad.nn import fold2d

    rng = np.random.default_rng(3)
    for trial, (size, kernel, stride, pads, out, dilation) in enumerate(
            _geometries(rng, 60, "max_pool2d", True)):
        dtype = [np.float32, np.float64][trial % 2]
        share = rng.standard_normal((2, 3) + out).astype(dtype)
        cols = rng.standard_normal((2, 3 * int(np.prod(kernel)), int(np.prod(out)))).astype(dtype)
        small = (pooling2d._window_mean_adjoint(share, size, kernel, stride, pads, out),
                 fold2d._col2im(cols, size, kernel, stride, dilation, pads, out))
        with monkeypatch.context() as patch:
            patch.setattr(pooling2d, "_SMALL_WINDOWS", 0)
            patch.setattr(fold2d, "_SMALL_COLUMNS", 0)
            loops = (pooling2d._window_mean_adjoint(share, size, kernel, stride, pads, out),
                     fold2d._col2im(cols, size, kernel, stride, dilation, pads, out))
        for fast, loop in zip(small, loops):
            np.testing.assert_array_equal(fast, loop)
            assert fast.dtype == loop.dtype and fast.shape == loop.shape
