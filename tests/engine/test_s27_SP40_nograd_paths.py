"""Session 27 (SP40): cheaper per-op paths met by batch-1 inference (W9's minGPT generate).

- ``api/shape._view_strides`` remembers its answers (a pure function of shape, strides, new
  shape and itemsize): views must keep PyTorch's strides, values and shared memory, cold and warm.
- ``masked_fill`` with a Python float that any float dtype takes (inf, nan, |v| <= 65504) on a
  float32 / float64 input makes its fill array directly; other values keep the checked path.
- ``elementwise_layout.relaid`` remembers its layout plan: comparisons and operators on sliced or
  permuted inputs must keep PyTorch's result strides, cold and warm.
- ``split`` / ``chunk`` / ``unbind`` / ``narrow`` slice plain ndarrays without ``apply``: the
  pieces' values, strides, offsets, shared memory and versions, gradients and node names, and the
  inference marks must be the ones the ``apply`` path gave (and PyTorch gives).
"""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

shape_mod = importlib.import_module("deltagrad._engine.api.shape")
layout_mod = importlib.import_module("deltagrad._engine.elementwise_layout")
splits_mod = importlib.import_module("deltagrad._engine.api.shape_splits")


def _pair(shape, seed=0, dtype=np.float32):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return dg.tensor(a), torch.tensor(a)


def _same(d, t, exact=True):
    assert tuple(d.shape) == tuple(t.shape)
    assert str(d.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    assert d.stride() == t.stride(), (d.stride(), t.stride())
    if exact:
        np.testing.assert_array_equal(d.numpy(), t.numpy())
    else:  # (exp: one float32 ulp between the libraries' kernels)
        np.testing.assert_allclose(d.numpy(), t.numpy(), rtol=1e-6)


# ------------------------------------------------------------------------------ view strides

# (base shape, a function making the viewed tensor from it, the view's sizes)
_VIEWS = {
    "split-piece": ((1, 12, 192), lambda m, x: x.split(64, 2)[1], (1, 12, 4, 16)),
    "split-piece-b2": ((2, 12, 192), lambda m, x: x.split(64, 2)[0], (2, 12, 4, 16)),
    "transposed-contig": ((1, 4, 12, 16), lambda m, x: x.transpose(1, 2).contiguous(),
                          (1, 12, 64)),
    "unit-dims": ((1, 1, 28, 28), lambda m, x: x, (1, 784)),
    "unit-dims-inner": ((3, 1, 5), lambda m, x: x[:, :, 1:4], (3, 3, 1)),
    "slice-rows": ((6, 1, 8), lambda m, x: x[::2], (3, 8, 1)),
    "expand-1": ((4, 1), lambda m, x: x.expand(4, 1), (1, 4, 1)),
    "empty": ((0, 3), lambda m, x: x, (3, 0, 1)),
}


@pytest.mark.parametrize("name", sorted(_VIEWS))
def test_views_match_torch_cold_and_warm(name):
    shape, make, sizes = _VIEWS[name]
    xd, xt = _pair(shape)
    shape_mod._VIEW_STRIDES.clear()
    with dg.no_grad(), torch.no_grad():
        for _ in range(2):  # (the first call computes, the second reads the memo)
            vd, vt = make(dg, xd).view(*sizes), make(torch, xt).view(*sizes)
            _same(vd, vt)
            if vd.numel() and name != "expand-1":  # (a write through the view reaches x)
                vd[(0,) * vd.ndim] = 7.0
                vt[(0,) * vt.ndim] = 7.0
                np.testing.assert_array_equal(xd.numpy(), xt.numpy())
    assert shape_mod._VIEW_STRIDES or name in ("empty", "split-piece-b2")  # (no size-1 dim)


def test_view_shares_memory_and_version():
    xd, xt = _pair((1, 12, 192))
    for m, x in ((dg, xd), (torch, xt)):
        with m.no_grad():
            v = x.split(64, 2)[1].view(1, 12, 4, 16)
            v[0, 3, 2, 5] = 100.0
            assert x[0, 3, 64 + 37].item() == 100.0
            before = v._version
            x.add_(1)
            assert v._version == before + 1


def test_view_strides_memo_is_the_function():
    rng = np.random.default_rng(1)
    shape_mod._VIEW_STRIDES.clear()
    cases = 0
    for _ in range(300):
        ndim = int(rng.integers(1, 5))
        shape = tuple(int(n) for n in rng.integers(1, 4, ndim))
        a = np.zeros(shape, np.float32)
        if ndim > 1 and rng.random() < 0.5:
            a = a.transpose(tuple(rng.permutation(ndim)))
        new = tuple(int(n) for n in rng.permutation(a.shape)) + (1,) * int(rng.integers(0, 2))
        want = shape_mod._find_view_strides(a.shape, a.strides, new, a.itemsize)
        for _ in range(2):
            assert shape_mod._view_strides(a.shape, a.strides, new, a.itemsize) == want
        cases += want is not None
    assert cases > 20
    assert len(shape_mod._VIEW_STRIDES) <= 1024


def test_view_strides_memo_is_bounded():
    shape_mod._VIEW_STRIDES.clear()
    for n in range(1, 1200):
        got = shape_mod._view_strides((n, 1), (4, 4), (1, n), 4)
        assert got == shape_mod._find_view_strides((n, 1), (4, 4), (1, n), 4)
    assert 0 < len(shape_mod._VIEW_STRIDES) <= 1024


def test_view_error_is_not_cached_as_a_view():
    xd, xt = _pair((4, 6))
    for _ in range(2):
        with pytest.raises(RuntimeError):
            xt.t().view(24)
        with pytest.raises(RuntimeError):
            xd.t().view(24)
        assert xd.t().reshape(24).tolist() == xt.t().reshape(24).tolist()


# ------------------------------------------------------------------------------ masked_fill

_FILLS = {"-inf": -math.inf, "inf": math.inf, "nan": math.nan, "half": 0.5, "neg": -3.25,
          "f16max": 65504.0, "past-f16": 65505.0, "1e30": 1e30, "1e300": 1e300,
          "-1e300": -1e300, "int": 3, "bool": True, "np64": np.float64(-np.inf)}


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "bool"])
@pytest.mark.parametrize("fill", sorted(_FILLS))
@pytest.mark.parametrize("mode", ["grad", "no_grad"])
def test_masked_fill_matches_torch(dtype, fill, mode):
    value = _FILLS[fill]
    a = np.random.default_rng(2).standard_normal((2, 3, 4)) * 3
    xd, xt = dg.tensor(a).to(getattr(dg, dtype)), torch.tensor(a).to(getattr(torch, dtype))
    mask = np.random.default_rng(3).random((3, 4)) < 0.5
    md, mt = dg.tensor(mask), torch.tensor(mask)
    grad = mode == "grad" and dtype.startswith("float")
    xd.requires_grad_(grad)
    xt.requires_grad_(grad)
    cd = dg.no_grad() if mode == "no_grad" else dg.enable_grad()
    ct = torch.no_grad() if mode == "no_grad" else torch.enable_grad()
    try:
        with ct:
            ot = xt.masked_fill(mt, value)
    except Exception as error:  # noqa: BLE001 - the type is what is compared
        with cd, pytest.raises(type(error)):
            xd.masked_fill(md, value)
        return
    with cd:
        od = xd.masked_fill(md, value)
    _same(od.detach(), ot.detach())
    assert od.requires_grad == ot.requires_grad
    if grad:
        g = np.random.default_rng(4).standard_normal(a.shape)
        od.backward(dg.tensor(g).to(od.dtype))
        ot.backward(torch.tensor(g).to(ot.dtype))
        np.testing.assert_array_equal(xd.grad.numpy(), xt.grad.numpy())
        assert type(od.grad_fn).__name__ == type(ot.grad_fn).__name__


def test_masked_fill_layout_and_inference():
    xd, xt = _pair((4, 12, 12))
    md, mt = dg.tensor(np.tril(np.ones((12, 12))) == 0), torch.tril(torch.ones(12, 12)) == 0
    with dg.inference_mode(), torch.inference_mode():
        od = xd.transpose(0, 2).masked_fill(md[:, :, None][:, :1], -math.inf)
        ot = xt.transpose(0, 2).masked_fill(mt[:, :, None][:, :1], -math.inf)
    _same(od, ot)
    assert od.is_inference() and ot.is_inference()


def test_masked_fill_fast_path_makes_the_checked_paths_array(monkeypatch):
    xd, _ = _pair((3, 5))
    md = dg.tensor(np.eye(3, 5, dtype=bool))
    fast = [xd.masked_fill(md, v) for v in (-math.inf, math.nan, 2.5)]
    calls = []
    real = dg._engine.api.pointwise._masked_fill_value

    def spy(input, value):
        calls.append(value)
        return real(input, value)

    monkeypatch.setattr(dg._engine.api.pointwise, "_masked_fill_value", spy)
    x64 = xd.double()
    assert x64.masked_fill(md, math.inf).dtype == dg.float64
    assert calls == []  # (the floats above took the direct path)
    slow = [xd.masked_fill(md, dg.tensor(v)) for v in (-math.inf, math.nan, 2.5)]
    assert len(calls) == 3
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert a.dtype == b.dtype and a.stride() == b.stride()


# ------------------------------------------------------------------------------ relaid memo

_LAYOUTS = {
    "sliced-mask": ((1, 1, 32, 32), lambda x: x[:, :, :12, :12]),
    "permuted": ((2, 3, 4), lambda x: x.permute(1, 2, 0)),
    "transposed": ((5, 6), lambda x: x.t()),
    "step": ((8, 6), lambda x: x[::2, ::3]),
    "permuted-4d": ((2, 3, 4, 5), lambda x: x.permute(0, 2, 3, 1)),
    # (not a permuted size-1 dim: its stride is a known difference, elementwise_layout.py)
}


@pytest.mark.parametrize("name", sorted(_LAYOUTS))
def test_elementwise_layouts_match_torch_cold_and_warm(name):
    shape, make = _LAYOUTS[name]
    xd, xt = _pair(shape, 5)
    yd, yt = _pair(tuple(make(torch.zeros(shape)).shape), 6)
    layout_mod._PLANS.clear()
    for _ in range(2):
        with dg.no_grad(), torch.no_grad():
            _same(make(xd) == 0, make(xt) == 0)
            _same(make(xd) > yd, make(xt) > yt)
            _same(make(xd) + yd, make(xt) + yt)
            _same(yd * make(xd), yt * make(xt))
            _same(make(xd).exp(), make(xt).exp(), exact=False)
    assert layout_mod._PLANS


def test_relaid_memo_is_the_function():
    rng = np.random.default_rng(7)
    layout_mod._PLANS.clear()
    for _ in range(200):
        ndim = int(rng.integers(2, 5))
        shape = tuple(int(n) for n in rng.integers(1, 4, ndim))
        a = np.zeros(shape, np.float32).transpose(tuple(rng.permutation(ndim)))
        b = np.zeros(a.shape, np.float64)[..., ::1]
        data = np.add(a, b)
        for _ in range(2):
            got = layout_mod.relaid(data, [a, b])
            plan = layout_mod._plan(data, [a, b])
            if plan is None:
                assert got is data
            else:
                assert got.shape == data.shape and got is not data
                np.testing.assert_array_equal(got, data)
                dense = np.empty(plan[0]).transpose(plan[1])
                assert got.strides == tuple(s // 8 * got.itemsize for s in dense.strides)


# ------------------------------------------------------------------------------ splits

_SPLITS = {
    "split-int": lambda m, x: x.split(3, 1),
    "split-last": lambda m, x: x.split(2, -1),
    "split-sizes": lambda m, x: x.split([1, 4, 2], 1),
    "chunk": lambda m, x: x.chunk(3, 2),
    "unbind": lambda m, x: x.unbind(1),
    "narrow": lambda m, x: (x.narrow(2, 1, 3),),
    "tensor-split": lambda m, x: m.tensor_split(x, 3, 1),
}
_DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "bool", "complex64"]


@pytest.mark.parametrize("dtype", _DTYPES)
@pytest.mark.parametrize("name", sorted(_SPLITS))
def test_split_pieces_match_torch(name, dtype):
    a = np.random.default_rng(8).standard_normal((2, 7, 5)) * 4
    xd, xt = dg.tensor(a).to(getattr(dg, dtype)), torch.tensor(a).to(getattr(torch, dtype))
    with dg.no_grad(), torch.no_grad():
        pd, pt = _SPLITS[name](dg, xd), _SPLITS[name](torch, xt)
    assert len(pd) == len(pt)
    for d, t in zip(pd, pt):
        assert d.stride() == t.stride() and d.storage_offset() == t.storage_offset()
        assert str(d.dtype) == str(t.dtype).replace("torch", "deltagrad")
        np.testing.assert_array_equal(d.float().numpy(), t.float().numpy())
        assert d._base is xd and t._base is xt
    xd.add_(1) if dtype != "bool" else xd.logical_not_()
    xt.add_(1) if dtype != "bool" else xt.logical_not_()
    for d, t in zip(pd, pt):
        assert d._version == t._version
        np.testing.assert_array_equal(d.float().numpy(), t.float().numpy())


@pytest.mark.parametrize("name", sorted(_SPLITS))
def test_split_pieces_grad_and_names(name):
    xd, xt = _pair((2, 7, 5), 9)
    xd.requires_grad_()
    xt.requires_grad_()
    pd, pt = _SPLITS[name](dg, xd), _SPLITS[name](torch, xt)
    if len(pt) > 1:  # (an in-place op on a piece of a multi-output view: PyTorch's error)
        with pytest.raises(RuntimeError):
            pt[0].mul_(2)
        with pytest.raises(RuntimeError):
            pd[0].mul_(2)
    total_d = sum((p * (i + 1)).sum() for i, p in enumerate(pd))
    total_t = sum((p * (i + 1)).sum() for i, p in enumerate(pt))
    total_d.backward()
    total_t.backward()
    np.testing.assert_array_equal(xd.grad.numpy(), xt.grad.numpy())
    assert [type(p.grad_fn).__name__ for p in pd] == [type(p.grad_fn).__name__ for p in pt]


def test_split_under_inference_mode_and_no_grad_marks():
    xd, xt = _pair((1, 12, 192), 10)
    with dg.inference_mode(), torch.inference_mode():
        pd, pt = xd.split(64, 2), xt.split(64, 2)
        qd, qt = dg.randn(1, 12, 192).split(64, 2), torch.randn(1, 12, 192).split(64, 2)
    assert [p.is_inference() for p in pd] == [p.is_inference() for p in pt] == [False] * 3
    assert [p.is_inference() for p in qd] == [p.is_inference() for p in qt] == [True] * 3
    with dg.no_grad():
        piece = xd.split(64, 2)[0]
    xd.requires_grad_()  # (a view made under no_grad of a leaf that then requires grad)
    with pytest.raises(RuntimeError):
        piece.mul_(2)
    xt.requires_grad_()
    with torch.no_grad():
        piece_t = xt.split(64, 2)[0]
    with pytest.raises(RuntimeError):
        piece_t.mul_(2)


def test_split_function_modes_see_the_call():
    from deltagrad.overrides import TorchFunctionMode

    seen = []

    class Mode(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            seen.append(getattr(func, "__name__", str(func)))
            return func(*args, **(kwargs or {}))

    x = dg.randn(1, 12, 192)
    with dg.no_grad(), Mode():
        x.split(64, 2)
    assert any("split" in name for name in seen)


def test_split_meta_takes_apply():
    x = dg.empty(2, 9, device="meta")
    pieces = x.split(4, 1)
    assert [tuple(p.shape) for p in pieces] == [(2, 4), (2, 4), (2, 1)]
    assert all(p.device.type == "meta" for p in pieces)
