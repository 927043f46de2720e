"""Session 25's per-op fast paths (issue 18, SP16) against PyTorch: ``arange`` of three Python
ints and ``full`` of a Python float without the ABC checks, the checked fills' cached dtype
bounds (``promotion.check_fits`` / ``wrapped``), ``isclose`` / ``allclose`` of float tensors
with np.isclose's steps inline, the pools' ``link_grad`` copy without ``as_strided``, and the
strided factories taking lists of ints. Values, dtypes, shapes, strides, gradients and the
exception class where PyTorch raises."""

import itertools

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops.elementwise import _link_grad_forward

torch = pytest.importorskip("torch")


def _outcome(call, lib):
    try:
        out = call(lib)
    except Exception as error:  # noqa: BLE001 - compared between the libraries
        return type(error)
    if isinstance(out, bool):
        return out
    return str(out.dtype).split(".")[-1], tuple(out.shape), repr(out.numpy().tolist())  # (nan)


@pytest.mark.parametrize("call", [
    lambda t: t.arange(10), lambda t: t.arange(2, 11, 3), lambda t: t.arange(-5),
    lambda t: t.arange(5, 0, -2), lambda t: t.arange(0), lambda t: t.arange(3, dtype=t.float32),
    lambda t: t.arange(True), lambda t: t.arange(1, 2.5, 0.5), lambda t: t.arange(1, 4, 0),
    lambda t: t.arange(t.tensor(4)), lambda t: t.eye(3), lambda t: t.eye(2, 4),
    lambda t: t.eye(-1), lambda t: t.eye(2.0), lambda t: t.eye(True), lambda t: t.eye(t.tensor(2)),
    lambda t: t.ones(3), lambda t: t.ones(2, 0, dtype=t.bool), lambda t: t.ones(2, dtype=t.uint8),
    lambda t: t.ones(2, dtype=t.complex64), lambda t: t.ones(-1), lambda t: t.ones(2.0),
    lambda t: t.full((2,), 3, dtype=t.float16), lambda t: t.full((2,), 1 + 2j),
    lambda t: t.ones(2, dtype=t.uint8).new_full((2,), 300), lambda t: t.ones(2).new_ones(3),
    lambda t: t.ones(2, dtype=t.uint8).new_full((2,), -1), lambda t: t.ones(2).new_ones((2, 0)),
    lambda t: t.ones(2, dtype=t.int8).new_full((1,), 2.5), lambda t: t.ones(2).new_full((2,), 1),
    lambda t: t.full((2, 3), 2.0), lambda t: t.full((2,), 2), lambda t: t.full((2,), True),
    lambda t: t.full((2,), 3.5e38, dtype=t.float32), lambda t: t.full((2,), -3.4e38),
    lambda t: t.full((2,), float("inf")), lambda t: t.full((2,), float("nan"), dtype=t.float16),
    lambda t: t.full((2,), 7e4, dtype=t.float16), lambda t: t.full((2,), 200, dtype=t.int8),
    lambda t: t.full((2,), -128, dtype=t.int8), lambda t: t.full((2,), -255, dtype=t.uint8),
    lambda t: t.full((2,), -256, dtype=t.uint8), lambda t: t.full((2,), 2.5, dtype=t.int32),
    lambda t: t.ones(2, dtype=t.float16).fill_(7e4), lambda t: t.ones(2).fill_(1e39),
    lambda t: t.ones(2, dtype=t.float64).fill_(1e300), lambda t: t.ones(2).fill_(-1.5),
    lambda t: t.ones(2, dtype=t.int16).fill_(40000), lambda t: t.ones(2, dtype=t.uint8).fill_(-1),
    lambda t: t.equal(t.ones(2, 3), t.ones(2, 3)), lambda t: t.equal(t.ones(2), t.ones(2, 1)),
    lambda t: t.equal(t.tensor(float("nan")), t.tensor(float("nan"))),
    lambda t: t.equal(t.zeros(0), t.zeros(0)), lambda t: t.equal(t.tensor(2), t.tensor(3)),
])
def test_factories_and_fills_match_pytorch(call):
    assert _outcome(call, dg) == _outcome(call, torch)


_SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, 1e-8, 1e30, -1e30, 3.4e38, -3.4e38, np.inf, -np.inf,
                     np.nan, 1.00001, 0.99999])


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_isclose_and_allclose_match_pytorch(dtype):
    rng = np.random.default_rng(25)
    shapes = [((), ()), ((7,), (7,)), ((5, 1), (5,)), ((3,), (4, 3)), ((0,), (0,))]
    tolerances = [(1e-5, 1e-8, False), (0.0, 0.0, True), (1, 0, False), (1e-3, 2, True)]
    with np.errstate(all="ignore"):  # (casting 3.4e38 to float16 overflows, as meant)
        for (sa, sb), (rtol, atol, equal_nan) in itertools.product(shapes, tolerances):
            for _ in range(4):
                a = np.asarray(rng.choice(_SPECIAL, size=sa)).astype(dtype)
                b = (np.asarray(a + rng.standard_normal(sa) * 1e-5).astype(dtype)
                     if sa == sb and rng.random() < 0.5
                     else np.asarray(rng.choice(_SPECIAL, size=sb)).astype(dtype))
                for name in ("isclose", "allclose"):
                    got, want = (_close(lib, name, a, b, rtol, atol, equal_nan)
                                 for lib in (dg, torch))
                    assert got == want, (a, b, rtol, atol, equal_nan)


def _close(lib, name, a, b, rtol, atol, equal_nan):
    return _outcome(lambda t: getattr(t, name)(t.from_numpy(a.copy()), t.from_numpy(b.copy()),
                                               rtol, atol, equal_nan), lib)


def test_isclose_errors_and_quiet():
    for call in (lambda t: t.isclose(t.ones(2), t.ones(3)),
                 lambda t: t.isclose(t.ones(2), t.ones(2, dtype=t.float64)),
                 lambda t: t.allclose(t.ones(2), t.ones(2), rtol=-1.0)):
        assert _outcome(call, dg) == _outcome(call, torch)
    with np.errstate(all="raise"):  # (|a - b| overflows: silent, as PyTorch's)
        assert dg.isclose(dg.tensor([3e38]), dg.tensor([-3e38])).tolist() == [False]


def _link_reference(r):
    """link_grad's forward before session 25 (as_strided over a fresh buffer)."""
    inner = r.itemsize
    for stride, n in sorted((s, n) for s, n in zip(r.strides, r.shape) if n > 1):
        if stride != inner:
            return np.array(r, copy=True)
        inner *= n
    out = np.lib.stride_tricks.as_strided(np.empty(r.size, r.dtype), r.shape, r.strides)
    np.copyto(out, r)
    return out


def test_link_grad_copy_keeps_the_layout():
    rng = np.random.default_rng(5)
    for shape in [(), (0,), (3,), (2, 0, 3), (1, 3, 1, 4), (2, 3, 4), (4, 1, 5)]:
        a = np.asarray(rng.standard_normal(shape), np.float32)
        views = [a, a.T, np.asfortranarray(a), a.reshape(a.shape + (1,))]
        views += [a.transpose(p) for p in itertools.permutations(range(a.ndim))]
        if a.ndim:
            views += [a[..., ::2], a[..., ::-1], np.broadcast_to(a, (2,) + a.shape)]
        if 1 in shape:  # a size-1 dim's odd stride is kept
            views.append(np.lib.stride_tricks.as_strided(a, a.shape, tuple(
                4000 if n == 1 else s for n, s in zip(a.shape, a.strides))))
        for view in views:
            got, want = _link_grad_forward(view, None), _link_reference(view)
            assert got.strides == want.strides and got.shape == want.shape
            assert np.array_equal(got, want) and not np.shares_memory(got, view)


@pytest.mark.parametrize("size", [(5, 7), 1, (8, 3)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_adaptive_avg_pool2d_under_grad_matches_pytorch(size, channels_last):
    array = np.random.default_rng(1).standard_normal((2, 3, 8, 8)).astype(np.float32)
    results = []
    for lib in (dg, torch):
        x = lib.tensor(array, requires_grad=True)
        if channels_last:
            x = x.contiguous(memory_format=lib.channels_last)
        y = lib.nn.functional.adaptive_avg_pool2d(x, size)
        g = lib.ones_like(y) * 0.5
        (gx,) = lib.autograd.grad(y, x, g, create_graph=True)
        ggx = None
        if size != 1:  # (to 1 x 1, PyTorch's mean gives a gradient without a graph; ours is
            # linked to x, zeros: a difference older than this session)
            (ggx,) = lib.autograd.grad(gx.sum(), x, allow_unused=True, materialize_grads=True)
            ggx = ggx.numpy()
        results.append((y.detach().numpy(), y.stride(), gx.detach().numpy(), ggx))
    (y, stride, gx, ggx), (ty, tstride, tgx, tggx) = results
    assert stride == tstride
    np.testing.assert_allclose(y, ty, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gx, tgx, rtol=1e-6, atol=1e-6)
    assert ggx is None or np.array_equal(ggx, tggx)


@pytest.mark.parametrize("call", [
    lambda t: t.empty_strided([2, 3], [3, 1]), lambda t: t.empty_strided([2, 3], [1, 2]),
    lambda t: t.ones(5, 5).new_empty_strided([2, 0], [3, 4]),
    lambda t: t.empty_permuted([2, 3, 4], [0, 2, 1]),
    lambda t: t.empty_permuted([2, 3, 4], [0, 2, 2]),
    lambda t: t.empty_strided([2, 3.0], [3, 1]),
    lambda t: t.empty_permuted([2, 3], [1.0, 0]),
])
def test_strided_factories_take_lists(call):
    got, want = (_shape_stride(call, lib) for lib in (dg, torch))
    assert got == want


@pytest.mark.parametrize("call", [
    lambda t: t.arange(125.0).reshape(5, 5, 5).resize_([25, 5]),
    lambda t: t.arange(6.0).resize_(2, 2), lambda t: t.arange(6.0)[1:].resize_(2, 2),
    lambda t: t.arange(6.0).resize_((2, 3)), lambda t: t.arange(6.0).resize_(-1),
    lambda t: t.arange(6.0).resize_(2.0), lambda t: t.arange(6.0).resize_(t.Size([3, 2])),
    lambda t: t.arange(6.0).resize_(t.tensor(2), 3), lambda t: t.arange(6.0)[::2].resize_(3),
])
def test_resize_matches_pytorch(call):
    assert _outcome(call, dg) == _outcome(call, torch)


def _shape_stride(call, lib):
    try:
        out = call(lib)
    except Exception as error:  # noqa: BLE001 - compared between the libraries
        return type(error)
    return str(out.dtype).split(".")[-1], tuple(out.shape), out.stride()


@pytest.mark.parametrize("shape", [(5,), (0,), (3, 0), (2, 3, 4), (1, 1), ()])
def test_nonzero_values_and_layout_match_pytorch(shape):
    array = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    array[array < 0.3] = 0
    for name in ("nonzero", "argwhere"):
        got, want = (getattr(lib, name)(lib.from_numpy(array.copy())) for lib in (dg, torch))
        assert got.dtype == dg.int64 and tuple(got.shape) == tuple(want.shape)
        assert got.tolist() == want.tolist()
        if got.shape[0] and array.ndim:  # (an empty result's strides differ: older than this)
            assert got.stride() == want.stride()


@pytest.mark.parametrize("call", [
    lambda t: t.zeros(2, 2).copy_(t.tensor(1.5)), lambda t: t.zeros(2, 2).copy_(t.ones(3)),
    lambda t: t.zeros(2, 2).copy_(t.ones(1, 2)), lambda t: t.zeros(2, 2).copy_(t.ones(2, 2, 1)),
    lambda t: t.zeros(2, dtype=t.int32).copy_(t.tensor(2.7)),
    lambda t: t.zeros(0, 3).copy_(t.tensor(1.0)),
])
def test_copy_of_a_value_matches_pytorch(call):
    assert _outcome(call, dg) == _outcome(call, torch)


def test_fills_under_grad_match_pytorch():
    array = np.random.default_rng(3).standard_normal((3, 4)).astype(np.float32)
    results = []
    for lib in (dg, torch):
        x = lib.tensor(array, requires_grad=True)
        v = lib.tensor(2.5, requires_grad=True)
        y = lib.fill(x, 2.0) * x + x.clone().zero_() + x.clone().fill_(v) * 3
        gx, gv = lib.autograd.grad(y.sum(), (x, v))
        results.append((y.detach().numpy(), gx.numpy(), gv.numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "bfloat16", "int8", "uint8",
                                   "int64", "bool"])
def test_isposinf_isneginf_match_pytorch(dtype):
    values = [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 3e38, -3e38, 65504.0]
    for name in ("isposinf", "isneginf"):
        for data in (values, values[4]):  # (and 0-d)
            got, want = (getattr(lib, name)(lib.tensor(data).to(getattr(lib, dtype)))
                         for lib in (dg, torch))
            assert got.dtype == dg.bool and tuple(got.shape) == tuple(want.shape)
            assert got.tolist() == want.tolist()
