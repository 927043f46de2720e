"""Max pooling without a gradient or indices finds the maxima alone (SP39 s27,
``_pool_kernels._max_pool_values``): the same bits as PyTorch's (and as the positions' path
under grad mode) for 2-d and 3-d windows, padding, dilation, ceil_mode, channels-last inputs,
float16 / float32 / float64 / integer dtypes, -inf, and the inputs it hands to the positions'
path (a nan, a -0.0 among zeros)."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.nn import _pool_kernels

torch = pytest.importorskip("torch")

# (id, shape, kernel, stride, padding, dilation, ceil_mode): each at least _VALUES_FROM entries
CASES = [
    ("w9_b1_2x2", (1, 16, 28, 28), 2, 2, 0, 1, False),
    ("w9_b1_14", (1, 32, 14, 14), 2, 2, 0, 1, False),
    ("k3s2p1", (2, 8, 17, 15), 3, 2, 1, 1, False),
    ("k3s1p1", (1, 16, 16, 16), 3, 1, 1, 1, False),
    ("rect_ceil", (2, 6, 19, 21), (3, 2), (2, 3), (1, 0), 1, True),
    ("dilated", (2, 8, 20, 20), 3, 2, 1, 2, False),
    ("odd_k2", (3, 8, 15, 15), 2, 2, 0, 1, True),
]


def _data(shape, dtype, seed, zeros=False):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind in "iu":
        return rng.integers(-50, 50, shape).astype(dtype)
    a = rng.standard_normal(shape).astype(dtype)
    if zeros:  # ReLU-like: many +0.0 maxima
        a = np.maximum(a, 0).astype(dtype)
    return a


def _pool(lib, a, case, channels_last=False, **kw):
    _, _, kernel, stride, padding, dilation, ceil_mode = case
    x = lib.from_numpy(a.copy())
    if channels_last:
        x = x.contiguous(memory_format=lib.channels_last)
    return lib.nn.functional.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode, **kw)


def _same(got, want):
    assert tuple(got.shape) == tuple(want.shape)
    assert str(got.dtype) == str(want.dtype).replace("torch.", "deltagrad.")
    assert got.stride() == want.stride()
    assert got.detach().numpy().tobytes() == want.numpy().tobytes()  # (logical order)


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "float16"])
def test_no_grad_maxima_as_pytorch(case, dtype):
    a = _data(case[1], np.dtype(dtype), len(case[0]), zeros=dtype == "float32")
    with torch.no_grad():
        want = _pool(torch, a, case)
    with dg.no_grad():
        got = _pool(dg, a, case)
    _same(got, want)
    # grad mode (the positions' path) gives the same values
    x = dg.from_numpy(a.copy()).float().requires_grad_(True) if dtype != "int64" else None
    if x is not None and dtype == "float32":
        _, _, kernel, stride, padding, dilation, ceil_mode = case
        graded = dg.nn.functional.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)
        assert graded.detach().numpy().tobytes() == got.numpy().tobytes()


def test_channels_last_and_inference_mode():
    case = CASES[2]
    a = _data(case[1], np.float32, 5)
    with torch.inference_mode():
        want = _pool(torch, a, case, channels_last=True)
    with dg.inference_mode():
        got = _pool(dg, a, case, channels_last=True)
    _same(got, want)
    assert got.is_contiguous(memory_format=dg.channels_last)


@pytest.mark.parametrize("special", ["nan", "neg_zero", "neg_inf", "all_neg_inf"])
def test_specials_take_pytorch_bits(special):
    case = CASES[0]
    a = _data(case[1], np.float32, 7, zeros=True)
    rng = np.random.default_rng(11)
    picks = rng.integers(0, a.size, 200)
    flat = a.reshape(-1)
    if special == "nan":
        flat[picks] = np.float32(np.nan)
        flat[picks[::2]] = np.frombuffer(np.uint32(0x7FC00123).tobytes(), np.float32)[0]
    elif special == "neg_zero":
        flat[picks] = -0.0
        flat[flat < 0] = -0.0
    elif special == "neg_inf":
        flat[picks] = -np.inf
    else:
        flat[:] = -np.inf
    with torch.no_grad():
        want = _pool(torch, a, case)
    with dg.no_grad():
        got = _pool(dg, a, case)
    _same(got, want)


def test_values_path_taken_only_without_gradient_or_indices(monkeypatch):
    calls = []
    original = _pool_kernels._max_pool_values

    def spy(xs, **geometry):
        calls.append(xs.shape)
        return original(xs, **geometry)

    from deltagrad.nn import pooling2d

    monkeypatch.setitem(pooling2d._FINDERS, "values", spy)
    a = _data((1, 16, 28, 28), np.float32, 3)
    x = dg.from_numpy(a.copy())
    with dg.no_grad():
        dg.nn.functional.max_pool2d(x, 2)
    assert len(calls) == 1
    dg.nn.functional.max_pool2d(x, 2)  # no gradient wanted: the values too
    assert len(calls) == 2
    dg.nn.functional.max_pool2d(x, 2, return_indices=True)
    with dg.no_grad():
        _, index = dg.nn.functional.max_pool2d(x, 2, return_indices=True)
    w = x.clone().requires_grad_(True)
    y = dg.nn.functional.max_pool2d(w, 2)
    assert len(calls) == 2  # indices or a gradient: the positions' path
    g = np.random.default_rng(1).standard_normal(tuple(y.shape)).astype(np.float32)
    y.backward(dg.from_numpy(g))
    tw = torch.from_numpy(a.copy()).requires_grad_(True)
    ty = torch.nn.functional.max_pool2d(tw, 2)
    ty.backward(torch.from_numpy(g))
    assert w.grad.numpy().tobytes() == tw.grad.numpy().tobytes()
    np.testing.assert_array_equal(index.numpy(),
                                  torch.nn.functional.max_pool2d(
                                      torch.from_numpy(a), 2, return_indices=True)[1].numpy())


def test_max_pool3d_and_module_under_no_grad():
    a = _data((2, 4, 9, 10, 11), np.float32, 9, zeros=True)
    with torch.no_grad():
        want = torch.nn.MaxPool3d(2, 2, ceil_mode=True)(torch.from_numpy(a.copy()))
    with dg.no_grad():
        got = dg.nn.MaxPool3d(2, 2, ceil_mode=True)(dg.from_numpy(a.copy()))
    _same(got, want)


def test_values_split_across_threads_same_bits(monkeypatch):
    from deltagrad._engine import threads
    from deltagrad._engine.api import settings

    before, pool_before = dg.get_num_threads(), threads.count()
    monkeypatch.setattr(settings._Threads, "intra", settings._Threads.intra)
    monkeypatch.setattr(threads, "MIN_SPLIT_WORK", 1 << 12)  # (split this small input)
    runs = []
    original = threads._run

    def counting_run(function, ranges, count):
        runs.append(len(ranges))
        return original(function, ranges, count)

    monkeypatch.setattr(threads, "_run", counting_run)
    a = _data((8, 8, 20, 20), np.float32, 13, zeros=True)
    case = ("split", a.shape, 3, 2, 1, 1, False)
    try:
        dg.set_num_threads(2)
        with dg.no_grad():
            got = _pool(dg, a, case)
    finally:
        dg.set_num_threads(before)
        threads.set_count(pool_before)
    assert runs and runs[0] == 2
    with torch.no_grad():
        _same(got, _pool(torch, a, case))
