"""relu against a zero array instead of a 0-d zero (_engine/ops/relu_zeros.py, s26 SP34): the
same bits as before (np.maximum with the 0-d zero first) and as PyTorch's relu, for every path
that takes it (the engine op with and without grad, F.relu(inplace=True) and Tensor.relu_ under
no_grad, nn.ReLU, the encoder's inference feed-forward), on sizes around its limits."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops import relu_zeros

SPECIAL = [-0.0, 0.0, np.nan, -np.nan, np.inf, -np.inf, 1.5, -1.5, 1e-45, -1e-45, 1e-310, -1e-310]
SIZES = [7, 1023, 1024, 1025, 4099, relu_zeros._LARGEST + 1]


def _data(size, dtype, order="C"):
    rng = np.random.default_rng(size)
    values = np.concatenate([rng.choice(np.array(SPECIAL, dtype), size // 2 + 1),
                             rng.standard_normal(size).astype(dtype)])[:size]
    rng.shuffle(values)
    shape = (size // 7, 7) if size % 7 == 0 else (size,)
    return np.asarray(values.reshape(shape), order=order)


def _bits(a):
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


def _reference(x):
    return np.maximum(np.zeros((), x.dtype), x)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("size", SIZES, ids=str)
def test_every_relu_path_keeps_the_bits(size, dtype):
    x = _data(size, np.dtype(dtype))
    want = _bits(_reference(x))
    assert np.array_equal(_bits(dg.relu(dg.from_numpy(x.copy())).numpy()), want)
    leaf = dg.from_numpy(x.copy()).requires_grad_()
    out = dg.nn.functional.relu(leaf)
    assert np.array_equal(_bits(out.detach().numpy()), want)
    out.sum().backward()
    assert np.array_equal(leaf.grad.numpy(), (_reference(x) != 0).astype(dtype))
    with dg.no_grad():
        for inplace in (lambda t: dg.nn.functional.relu(t, inplace=True), lambda t: t.relu_(),
                        dg.nn.ReLU(inplace=True), dg.nn.ReLU()):
            t = dg.from_numpy(x.copy())
            got = inplace(t)
            assert np.array_equal(_bits(got.numpy()), want)
    assert not relu_zeros._ZEROS or not any(z.any() or z.flags.writeable
                                            for z in relu_zeros._ZEROS.values())


@pytest.mark.parametrize("size", [1024, 4099], ids=str)
def test_matches_pytorch_bits(size):
    torch = pytest.importorskip("torch")
    for dtype in (np.float32, np.float64):
        x = _data(size, np.dtype(dtype))
        want = torch.relu(torch.from_numpy(x.copy())).numpy()
        assert np.array_equal(_bits(dg.relu(dg.from_numpy(x.copy())).numpy()), _bits(want))


def test_other_layouts_and_dtypes_keep_the_zero_d_path():
    zero = np.zeros((), np.float32)
    assert relu_zeros.zeros_for(np.ones((64, 64), np.float32).T[::2], zero) is zero
    assert relu_zeros.zeros_for(np.ones(100, np.float32), zero) is zero
    assert relu_zeros.zeros_for(np.ones(5000, np.float16), zero) is zero
    x = _data(4096, np.dtype(np.float32), order="F").reshape(64, 64).T  # (F-ordered)
    got = dg.relu(dg.from_numpy(x)).numpy()
    assert got.strides == _reference(x).strides
    assert np.array_equal(_bits(got), _bits(_reference(x)))
    integers = dg.arange(-3000, 3000)
    assert np.array_equal(dg.relu(integers).numpy(), np.maximum(np.arange(-3000, 3000), 0))


def test_encoder_inference_feed_forward_keeps_the_bits(monkeypatch):
    from deltagrad.nn import _encoder_infer

    dg.manual_seed(0)
    layer = dg.nn.TransformerEncoderLayer(32, 4, dim_feedforward=64, dropout=0.0,
                                          batch_first=True).eval()
    x = dg.randn(4, 16, 32)  # (the feed-forward's hidden: 4 x 16 x 64 = 4,096 elements)
    calls = []
    feed_forward = _encoder_infer._feed_forward
    monkeypatch.setattr(_encoder_infer, "_feed_forward",
                        lambda *a: calls.append(1) or feed_forward(*a))
    with dg.no_grad():
        got = layer(x).numpy()
        assert calls
        monkeypatch.setattr(relu_zeros, "_LARGEST", 0)  # (every relu: the 0-d zero)
        want = layer(x).numpy()
    assert np.array_equal(got, want)
