"""TransformerEncoderLayer / TransformerDecoderLayer under no_grad / inference_mode
(nn/_encoder_infer.py): the NumPy forward gives the composed no-grad forward's bits and
PyTorch's values, and leaves to the composed path what it does not serve (hooks, dropout in
training, autocast, half dtypes, subclasses)."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.nn import _encoder_infer

N, L, E = 3, 6, 32


def _layer(lib, heads=4, norm_first=False, activation="relu", batch_first=True, **kwargs):
    lib.manual_seed(5)
    return lib.nn.TransformerEncoderLayer(E, heads, 48, dropout=0.1, activation=activation,
                                          batch_first=batch_first, norm_first=norm_first,
                                          **kwargs).eval()


def _masks(lib, kind, heads, rng):
    src_mask, padding, causal = None, None, False
    if kind in ("bool", "bool+pad"):
        src_mask = lib.from_numpy(rng.random((L, L)) < 0.3)
    elif kind == "float":
        src_mask = lib.from_numpy(rng.standard_normal((L, L)).astype(np.float32))
    elif kind == "causal":
        src_mask, causal = lib.nn.Transformer.generate_square_subsequent_mask(L), True
    elif kind == "3d":
        src_mask = lib.from_numpy(rng.random((N * heads, L, L)) < 0.3)
    if kind in ("pad", "bool+pad", "allpad"):
        keys = np.zeros((N, L), bool)
        keys[:, -2:] = True
        if kind == "allpad":
            keys[1] = True  # (a sequence with every key padded)
        padding = lib.from_numpy(keys)
    return src_mask, padding, causal


CASES = [  # (norm_first, activation, batch_first, heads, masks)
    (False, "relu", True, 4, None), (True, "gelu", True, 4, "bool+pad"),
    (False, "gelu", False, 2, "causal"), (True, "relu", False, 2, "3d"),
    (False, "relu", True, 2, "float"), (True, "relu", True, 4, "allpad"),
    (False, "gelu", True, 4, "pad"),
]


@pytest.mark.parametrize("norm_first, activation, batch_first, heads, masks", CASES)
def test_bits_equal_composed_forward(monkeypatch, norm_first, activation, batch_first, heads,
                                     masks):
    # heads 4 on E 32: head size 8, scale not folded into q; heads 2: 16, folded (0.25)
    rng = np.random.default_rng(1)
    layer = _layer(dg, heads, norm_first, activation, batch_first)
    shape = (N, L, E) if batch_first else (L, N, E)
    x = dg.from_numpy(rng.standard_normal(shape).astype(np.float32))
    src_mask, padding, causal = _masks(dg, masks, heads, rng)

    def call():
        return layer(x, src_mask=src_mask, src_key_padding_mask=padding, is_causal=causal)

    with dg.no_grad():
        assert _encoder_infer.prepare(layer, x, src_mask, padding, causal) is not None
        fast = call()
    with dg.inference_mode():
        assert np.array_equal(call().numpy(), fast.numpy(), equal_nan=True)
    with monkeypatch.context() as patch, dg.no_grad():
        patch.setattr(_encoder_infer, "prepare", lambda *args: None)
        composed = call()
    assert fast.dtype == composed.dtype and fast.shape == composed.shape
    assert np.array_equal(fast.numpy(), composed.numpy(), equal_nan=True)


@pytest.mark.parametrize("norm_first, activation, batch_first, heads, masks", CASES[:4])
def test_values_match_pytorch(norm_first, activation, batch_first, heads, masks):
    torch = pytest.importorskip("torch")
    layer = _layer(dg, heads, norm_first, activation, batch_first)
    theirs = _layer(torch, heads, norm_first, activation, batch_first)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in layer.state_dict().items()})
    x = np.random.default_rng(2).standard_normal((N, L, E) if batch_first else (L, N, E))
    x = x.astype(np.float32)
    ours_masks = _masks(dg, masks, heads, np.random.default_rng(3))
    their_masks = _masks(torch, masks, heads, np.random.default_rng(3))
    with dg.no_grad():
        ours = layer(dg.from_numpy(x), ours_masks[0], ours_masks[1], ours_masks[2]).numpy()
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x), their_masks[0], their_masks[1],
                          their_masks[2]).numpy()
    assert ours.dtype == expected.dtype and ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=2e-5)


def test_float64_and_encoder_stack(monkeypatch):
    layer = _layer(dg).double()
    stack = dg.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).eval()
    x = dg.from_numpy(np.random.default_rng(4).standard_normal((N, L, E)))
    with monkeypatch.context() as patch, dg.no_grad():
        patch.setattr(_encoder_infer, "prepare", lambda *args: None)
        composed = stack(x).numpy()
    with dg.no_grad():
        assert _encoder_infer.prepare(stack.layers[0], x, None, None, False) is not None
        out = stack(x)
    assert out.dtype == dg.float64 and np.array_equal(out.numpy(), composed)


def test_other_calls_take_the_composed_path():
    x = dg.from_numpy(np.random.default_rng(6).standard_normal((N, L, E)).astype(np.float32))
    layer = _layer(dg)
    seen = []
    handle = layer.linear1.register_forward_hook(lambda *args: seen.append(1))
    with dg.no_grad():
        assert _encoder_infer.prepare(layer, x, None, None, False) is None
        layer(x)
    assert seen == [1]  # (the hook ran: PyTorch's fast path also steps aside for hooks)
    handle.remove()
    handle = dg.nn.modules.module.register_module_forward_pre_hook(lambda *args: seen.append(2))
    with dg.no_grad():
        assert _encoder_infer.prepare(layer, x, None, None, False) is None
        layer(x)
    assert seen[-1] == 2  # (a global hook runs on every submodule)
    handle.remove()
    with dg.no_grad():
        assert _encoder_infer.prepare(layer, x, None, None, False) is not None
        assert _encoder_infer.prepare(layer, x, None, None, True) is None  # (is_causal: raises)
        with pytest.raises(RuntimeError, match="is_causal"):
            layer(x, is_causal=True)
        assert _encoder_infer.prepare(layer.train(), x, None, None, False) is None  # dropout
        layer.eval()
        with dg.autocast("cpu", dtype=dg.bfloat16):
            assert _encoder_infer.prepare(layer, x, None, None, False) is None
        assert _encoder_infer.prepare(layer, x[0], None, None, False) is None  # unbatched
        assert _encoder_infer.prepare(layer, x, dg.ones(2, 2, dtype=dg.bool), None,
                                      False) is None  # (a mask of the wrong shape: raises)
        half = _layer(dg).half()
        assert _encoder_infer.prepare(half, x.half(), None, None, False) is None
        custom = _layer(dg, activation=lambda t: t.tanh())
        assert _encoder_infer.prepare(custom, x, None, None, False) is None
    dg.nn.utils.parametrizations.weight_norm(layer.linear2)  # (a subclass: its own weight)
    with dg.no_grad():
        assert _encoder_infer.prepare(layer, x, None, None, False) is None


DECODER_CASES = [  # (norm_first, activation, batch_first, heads, masked)
    (False, "relu", True, 4, False), (True, "gelu", False, 2, True),
    (False, "gelu", True, 2, True), (True, "relu", True, 4, False),
]


def _decoder_call(lib, norm_first, activation, batch_first, heads, masked):
    lib.manual_seed(7)
    layer = lib.nn.TransformerDecoderLayer(E, heads, 40, dropout=0.1, activation=activation,
                                           batch_first=batch_first, norm_first=norm_first)
    layer = layer.eval()
    rng = np.random.default_rng(8)
    source = 5
    shape = ((N, L, E), (N, source, E)) if batch_first else ((L, N, E), (source, N, E))
    tgt = lib.from_numpy(rng.standard_normal(shape[0]).astype(np.float32))
    memory = lib.from_numpy(rng.standard_normal(shape[1]).astype(np.float32))
    kwargs = {}
    if masked:
        keys = np.zeros((N, source), bool)
        keys[:, -1] = True
        kwargs = {"tgt_mask": lib.nn.Transformer.generate_square_subsequent_mask(L),
                  "tgt_is_causal": True,
                  "memory_mask": lib.from_numpy(rng.standard_normal((L, source)).astype(
                      np.float32)),
                  "memory_key_padding_mask": lib.from_numpy(keys)}
    return layer, tgt, memory, kwargs


@pytest.mark.parametrize("case", DECODER_CASES)
def test_decoder_bits_equal_composed_forward(monkeypatch, case):
    layer, tgt, memory, kwargs = _decoder_call(dg, *case)
    with dg.no_grad():
        masks = tuple(kwargs.get(k) for k in ("tgt_mask", "memory_mask", "tgt_key_padding_mask",
                                              "memory_key_padding_mask"))
        assert _encoder_infer.prepare_decoder(layer, tgt, memory, masks,
                                              kwargs.get("tgt_is_causal", False),
                                              False) is not None
        fast = layer(tgt, memory, **kwargs)
    with monkeypatch.context() as patch, dg.no_grad():
        patch.setattr(_encoder_infer, "prepare_decoder", lambda *args: None)
        composed = layer(tgt, memory, **kwargs)
    assert fast.dtype == composed.dtype and fast.shape == composed.shape
    assert np.array_equal(fast.numpy(), composed.numpy())


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")  # (PyTorch's)
@pytest.mark.parametrize("case", DECODER_CASES[:2])
def test_decoder_values_match_pytorch(case):
    torch = pytest.importorskip("torch")
    layer, tgt, memory, kwargs = _decoder_call(dg, *case)
    theirs, their_tgt, their_memory, their_kwargs = _decoder_call(torch, *case)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in layer.state_dict().items()})
    with dg.no_grad():
        ours = layer(tgt, memory, **kwargs).numpy()
    with torch.no_grad():
        expected = theirs(their_tgt, their_memory, **their_kwargs).numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=2e-5)


def test_decoder_other_calls_take_the_composed_path():
    layer, tgt, memory, _ = _decoder_call(dg, *DECODER_CASES[0])
    none = (None,) * 4
    with dg.no_grad():
        assert _encoder_infer.prepare_decoder(layer, tgt, memory, none, False, False)
        assert _encoder_infer.prepare_decoder(layer, tgt, memory, none, False, True) is None
        assert _encoder_infer.prepare_decoder(layer, tgt, memory.double(), none, False,
                                              False) is None
        assert _encoder_infer.prepare_decoder(layer, tgt, memory[:2], none, False,
                                              False) is None  # (batch sizes differ: raises)
        seen = []
        layer.multihead_attn.register_forward_pre_hook(lambda *args: seen.append(1))
        assert _encoder_infer.prepare_decoder(layer, tgt, memory, none, False, False) is None
        layer(tgt, memory)
    assert seen == [1]
