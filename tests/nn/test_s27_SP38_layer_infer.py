"""W9 inference paths (s27 SP38): F.linear's and LayerNorm's no-grad forward
(nn/_layer_infer.py) gives the general path's bits and leaves anything else to it; the short-row
reductions under 8n rows (ops/registry._reduce_keepdims) give the column loop's bits;
mark_inference's set slots keep PyTorch's inference-tensor rules."""

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.nn.functional as F
from deltagrad._engine.ops.registry import _reduce_keepdims
from deltagrad.nn import _layer_infer

LINEAR_CASES = {
    "1d": ((5,), 5, 3, True),
    "2d": ((4, 5), 5, 3, True),
    "3d-nobias": ((2, 3, 5), 5, 7, False),
    "attn-qkv": ((1, 8, 64), 64, 192, True),
    "row-784": ((1, 784), 784, 16, True),
    "empty-rows": ((0, 5), 5, 3, True),
}


def _counting(monkeypatch, name):
    calls = []
    original = getattr(_layer_infer, name)

    def counted(*args):
        out = original(*args)
        calls.append(out is not None)
        return out
    monkeypatch.setattr(_layer_infer, name, counted)
    return calls


def _linear(shape, fan_in, fan_out, bias, dtype):
    dg.manual_seed(3)
    layer = dg.nn.Linear(fan_in, fan_out, bias=bias).to(getattr(dg, dtype))
    x = dg.from_numpy(np.random.default_rng(4).standard_normal(shape).astype(dtype))
    return layer, x


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", sorted(LINEAR_CASES))
def test_linear_bits_of_the_functional_path(case, dtype, mode, monkeypatch):
    layer, x = _linear(*LINEAR_CASES[case], dtype)
    expected = layer(x)  # (grad mode: F.linear, a node)
    assert expected.grad_fn is not None
    calls = _counting(monkeypatch, "checked_linear")
    with getattr(dg, mode)():
        got = layer(x)
    assert calls == [True]  # (the direct path served it)
    assert not got.requires_grad and got.grad_fn is None
    assert got.is_inference() == (mode == "inference_mode")
    e = expected.detach().numpy()
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.numpy().tobytes() == e.tobytes()
    assert got.is_contiguous() and got.stride() == expected.stride()


def test_linear_leaves_other_inputs_to_the_general_path(monkeypatch):
    calls = _counting(monkeypatch, "checked_linear")
    layer, x = _linear((2, 5), 5, 3, True, "float32")
    with dg.no_grad():
        half = layer.half()(x.half())  # (float16: F.linear's float32 rounding)
        assert half.dtype == dg.float16
        with pytest.raises(RuntimeError):  # (a mismatched input: F.linear's error)
            layer.float()(dg.ones(2, 4))
        with pytest.raises(RuntimeError):  # (mixed dtypes)
            layer(x.double())
        meta = dg.nn.Linear(5, 3, device="meta")
        assert meta(dg.empty(2, 5, device="meta")).shape == (2, 3)  # (no ndarray: apply's)
        assert F.linear(x, layer.weight).shape == (2, 3)  # (no bias)
    # (float16: its float32 product inside; meta: apply's; the errors: F.linear's checks first)
    assert calls == [True, False, True]


def test_linear_calls_a_replaced_functional(monkeypatch):
    layer, x = _linear((2, 5), 5, 3, True, "float32")
    seen = []
    original = F.linear
    monkeypatch.setattr(F, "linear", lambda *a, **k: seen.append(1) or original(*a, **k))
    with dg.no_grad():
        layer(x)
    assert seen == [1]


def _direct_layer_norm() -> bool:
    """Whether LayerNorm takes its direct path in this process: not once a class with a
    ``__torch_function__`` has armed overrides.py's wrappers for good (an earlier test's)."""
    from deltagrad._engine.api.normalization import layer_norm

    return getattr(F.layer_norm, "__code__", None) is layer_norm.__code__


NORM_CASES = {
    "row64": ((1, 8, 64), (64,), {}),
    "small-dense": ((3, 4), (4,), {}),
    "two-dims": ((2, 3, 4), (3, 4), {"eps": 1e-3}),
    "no-affine": ((2, 5, 16), (16,), {"elementwise_affine": False}),
    "no-bias": ((2, 40), (40,), {"bias": False}),
    "large": ((4, 64, 64), (64,), {}),
}


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", sorted(NORM_CASES))
def test_layer_norm_bits_of_the_functional_path(case, dtype, mode, monkeypatch):
    shape, normalized, kwargs = NORM_CASES[case]
    dg.manual_seed(6)
    norm = dg.nn.LayerNorm(normalized, **kwargs).to(getattr(dg, dtype))
    with dg.no_grad():
        for p in norm.parameters():
            p.add_(dg.randn(p.shape, dtype=p.dtype) * 0.3)
    rng = np.random.default_rng(7)
    x = dg.from_numpy((rng.standard_normal(shape) * 3 + 1).astype(dtype))
    x.numpy()[..., 0] = 2.5  # (a constant row below: exactly 0 out, as the kernel's rule)
    x.numpy().reshape(-1, int(np.prod(normalized)))[0] = 1.25
    expected = norm(x)
    calls = _counting(monkeypatch, "layer_norm")
    with getattr(dg, mode)():
        got = norm(x)
    assert calls == ([True] if _direct_layer_norm() else [])
    assert not got.requires_grad and got.is_inference() == (mode == "inference_mode")
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.numpy().tobytes() == expected.detach().numpy().tobytes()


def test_layer_norm_falls_back_and_raises_as_before(monkeypatch):
    calls = _counting(monkeypatch, "layer_norm")
    norm = dg.nn.LayerNorm(4)
    with dg.no_grad():
        with pytest.raises(RuntimeError):  # (a shape that does not end in normalized_shape)
            norm(dg.ones(2, 5))
        assert norm(dg.ones(2, 4, dtype=dg.float16)).dtype == dg.float16  # (float16: general path)
        norm.eps = 1  # (an int eps: F.layer_norm takes it)
        assert norm(dg.ones(2, 4)).shape == (2, 4)
    assert calls == ([False, False, False] if _direct_layer_norm() else [])


@pytest.mark.parametrize("case", ["linear", "layer_norm"])
def test_values_match_pytorch(case):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    x = rng.standard_normal((1, 8, 64)).astype(np.float32) * 4
    torch.manual_seed(0)
    ref = torch.nn.Linear(64, 32) if case == "linear" else torch.nn.LayerNorm(64)
    mine = dg.nn.Linear(64, 32) if case == "linear" else dg.nn.LayerNorm(64)
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(torch.randn(p.shape) * 0.2)
    mine.load_state_dict({k: dg.from_numpy(v.detach().numpy().copy())
                          for k, v in ref.state_dict().items()})
    with torch.inference_mode(), dg.inference_mode():
        want, got = ref(torch.from_numpy(x)), mine(dg.from_numpy(x))
        assert got.is_inference() and want.is_inference()
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- short rows, few of them


def _columns(ufunc, x):
    """The column loop that _reduce_keepdims runs from 8n rows on (its reference bits)."""
    out = ufunc(x[..., 0:1], x[..., 1:2])
    for column in range(2, x.shape[-1]):
        ufunc(out, x[..., column:column + 1], out=out)
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [9, 12, 16])
def test_reduce_under_8n_rows_gives_the_columns_bits(n, dtype):
    # (64 rows or more, under 8n: the new branch; under 64 rows NumPy's one reduce, as before)
    rng = np.random.default_rng(n)
    for rows in (64, (64 + 8 * n) // 2, 8 * n - 1):
        x = (rng.standard_normal((1, rows, n)) * 10.0 ** rng.integers(-3, 4, (1, rows, 1)))
        x = x.astype(dtype)
        x[0, 1, 3 % n] = np.nan
        x[0, 2, 0] = np.inf
        x[0, 3, :] = -np.inf
        for ufunc in (np.add, np.maximum, np.minimum):
            got, want = _reduce_keepdims(ufunc, x, -1), _columns(ufunc, x)
            assert got.shape == want.shape and got.dtype == want.dtype
            assert got.flags.c_contiguous and got.flags.writeable
            if ufunc is np.add:
                assert got.tobytes() == want.tobytes()
            else:  # (the same values; a -0.0 / 0.0 tie may take either sign)
                np.testing.assert_array_equal(got, want)


def test_softmax_of_wide_scores_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)  # (scale 40: the shift by the array's maximum fails)
    x = (rng.standard_normal((1, 4, 16, 16)) * 40).astype(np.float32)
    with dg.no_grad():
        got = F.softmax(dg.from_numpy(x), dim=-1).numpy()
    want = torch.softmax(torch.from_numpy(x), dim=-1).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    assert np.array_equal(got == 0, want == 0)


# ---------------------------------------------------------------- inference tensors


def test_inference_marks_follow_pytorch():
    torch = pytest.importorskip("torch")
    found = []
    for lib in (dg, torch):
        normal = lib.ones(2, 3)
        param = lib.nn.Parameter(lib.ones(3))
        with lib.inference_mode():
            made = normal + 1
            view_of_normal = normal[0]
            view_of_made = made[1]
            from_param = param * 2
        with lib.no_grad():
            outside = made * 2
            view_outside = made[0]
        found.append([t.is_inference() for t in (normal, param, made, view_of_normal,
                                                  view_of_made, from_param, outside,
                                                  view_outside)])
    assert found[0] == found[1]


# ---------------------------------------------------------------- GELU of one block


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(65,), (1, 8, 256), (3, 1000), (8192,)])
def test_gelu_of_one_block_gives_the_blockwise_bits(shape, dtype):
    import warnings

    from deltagrad._engine.ops import special

    rng = np.random.default_rng(len(shape))
    x = (rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 2, shape)).astype(dtype)
    x.reshape(-1)[:6] = [np.inf, -np.inf, np.nan, -0.0, 0.0, 1e-40]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (quiet: -inf * 0 is PyTorch's nan, silently)
        got = special.gelu(x)
    want = special._apply(special._gelu_kernel, x, quiet=True)
    assert got.dtype == want.dtype and got.shape == want.shape and got.flags.c_contiguous
    assert got.tobytes() == want.tobytes()
    torch = pytest.importorskip("torch")
    ref = torch.nn.functional.gelu(torch.from_numpy(x)).numpy()
    finite = np.isfinite(x)  # (PyTorch's vectorized float32 gelu(inf) is nan: a known difference)
    tolerance = 1e-5 if dtype == "float32" else 1e-12  # (the kernels' tails differ in float32)
    np.testing.assert_allclose(got[finite], ref[finite], rtol=tolerance, atol=tolerance / 10)


# ---------------------------------------------------------------- the encoder layer's plan


def test_encoder_plan_still_refuses_what_it_cannot_serve():
    from deltagrad.nn import _encoder_infer

    def fresh():
        dg.manual_seed(0)
        return dg.nn.TransformerEncoderLayer(16, 2, 24, dropout=0.0, batch_first=True).eval()

    x = dg.randn(2, 5, 16)
    with dg.no_grad():
        assert _encoder_infer.prepare(fresh(), x, None, None, False) is not None
        layer = fresh()
        layer.self_attn.out_proj.register_forward_hook(lambda *args: None)
        assert _encoder_infer.prepare(layer, x, None, None, False) is None
        layer = fresh()
        layer.norm1.bias = None  # (a weight without a bias: the composed path)
        assert _encoder_infer.prepare(layer, x, None, None, False) is None
        layer = fresh()
        layer.linear2.weight.data = layer.linear2.weight.data.double()
        assert _encoder_infer.prepare(layer, x, None, None, False) is None
        layer = fresh()
        layer.dropout.p = 0.5  # (drawing only in training)
        assert _encoder_infer.prepare(layer, x, None, None, False) is not None
        assert _encoder_infer.prepare(layer.train(), x, None, None, False) is None
        layer = fresh()
        layer.self_attn.num_heads = 3  # (16 % 3: the composed path raises)
        assert _encoder_infer.prepare(layer, x, None, None, False) is None


def test_function_modes_see_linear_and_layer_norm_under_no_grad():
    # (a mode puts overrides.py's wrappers in place, in every module holding the function:
    # the direct paths compare code objects, so they step aside for them)
    from deltagrad.overrides import TorchFunctionMode

    seen = []

    class Recording(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            seen.append(func.__name__)
            return func(*args, **(kwargs or {}))

    layer, norm = dg.nn.Linear(3, 2), dg.nn.LayerNorm(2)
    x = dg.ones(4, 3)
    with dg.no_grad(), Recording():
        norm(layer(x))
    assert seen == ["linear", "layer_norm"]
    with dg.no_grad():  # (the mode left: the direct paths again, unless armed for good)
        assert norm(layer(x)).shape == (4, 2)
