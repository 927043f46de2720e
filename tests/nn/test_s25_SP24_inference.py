"""Recurrent layers under no_grad / inference_mode (nn/_rnn_infer.py): the NumPy-only forward
gives the grad-mode forward's bits, and PyTorch's values."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.nn import _rnn_infer

CASES = [
    ("LSTM", {}),
    ("LSTM", {"num_layers": 2, "bidirectional": True}),
    ("LSTM", {"proj_size": 5}),
    ("LSTM", {"bias": False}),
    ("GRU", {"num_layers": 2}),
    ("GRU", {"bidirectional": True}),
    ("RNN", {}),
    ("RNN", {"nonlinearity": "relu", "bidirectional": True}),
]


def _module(lib, name, kwargs, dtype=None):
    lib.manual_seed(3)
    module = getattr(lib.nn, name)(6, 7, batch_first=True, **kwargs).eval()
    return module.double() if dtype == "float64" else module


def _inputs(lib, name, hx, dtype=np.float32):
    rng = np.random.default_rng(0)
    x = lib.from_numpy(rng.standard_normal((3, 5, 6)).astype(dtype))
    if not hx:
        return x, None
    layers = 1
    h = lib.from_numpy(rng.standard_normal((layers, 3, 7)).astype(dtype))
    if name == "LSTM":
        return x, (h, lib.from_numpy(rng.standard_normal((layers, 3, 7)).astype(dtype)))
    return x, h


def _flat(result):
    out, state = result
    states = state if isinstance(state, tuple) else (state,)
    return [out.detach().numpy()] + [s.detach().numpy() for s in states]


@pytest.mark.parametrize("name, kwargs", CASES)
def test_no_grad_bits_are_the_grad_mode_forward(name, kwargs):
    module = _module(dg, name, kwargs)
    x, _ = _inputs(dg, name, False)
    expected = _flat(module(x))
    with dg.no_grad():
        got = _flat(module(x))
    with dg.inference_mode():
        inferred = _flat(module(x))
    for e, g, i in zip(expected, got, inferred):
        assert e.shape == g.shape and e.dtype == g.dtype
        assert np.array_equal(e, g) and np.array_equal(e, i)


@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
def test_given_state_float64_and_unbatched(name):
    module = _module(dg, name, {}, "float64")
    x, hx = _inputs(dg, name, True, np.float64)
    expected = _flat(module(x, hx))
    with dg.no_grad():
        got = _flat(module(x, hx))
        unbatched = _flat(module(x[0], tuple(s[:, 0] for s in hx) if name == "LSTM"
                                 else hx[:, 0]))
    assert all(np.array_equal(e, g) for e, g in zip(expected, got))
    assert all(g.dtype == np.float64 for g in got)
    # (one sequence alone: other product shapes, so equal within rounding, not bits)
    np.testing.assert_allclose(unbatched[0], expected[0][0], rtol=1e-12, atol=1e-13)


def test_packed_sequence_under_no_grad():
    module = _module(dg, "LSTM", {"bidirectional": True})
    x, _ = _inputs(dg, "LSTM", False)
    packed = dg.nn.utils.rnn.pack_padded_sequence(x, [5, 3, 2], batch_first=True,
                                                  enforce_sorted=False)
    out, (h, c) = module(packed)
    with dg.no_grad():
        out_ng, (h_ng, c_ng) = module(packed)
    assert np.array_equal(out.data.detach().numpy(), out_ng.data.numpy())
    assert np.array_equal(h.detach().numpy(), h_ng.numpy())
    assert np.array_equal(c.detach().numpy(), c_ng.numpy())


def test_the_fast_path_is_taken_and_records_nothing():
    module = _module(dg, "LSTM", {})
    x, _ = _inputs(dg, "LSTM", False)
    assert _rnn_infer.usable(module, x)
    with dg.no_grad():
        out, (h, c) = module(x)
    assert out.grad_fn is None and not out.requires_grad and h.grad_fn is None
    # training-mode dropout between layers draws from the generator: the recorded path keeps
    # those draws
    assert not _rnn_infer.usable(dg.nn.LSTM(6, 7, num_layers=2, dropout=0.5), x)


@pytest.mark.parametrize("name, kwargs", CASES)
def test_values_match_pytorch(name, kwargs):
    torch = pytest.importorskip("torch")
    module = _module(dg, name, kwargs)
    reference = getattr(torch.nn, name)(6, 7, batch_first=True, **kwargs).eval()
    reference.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                               for k, v in module.state_dict().items()})
    x, hx = _inputs(dg, name, False)
    with dg.no_grad():
        got = _flat(module(x))
    with torch.no_grad():
        expected = _flat(reference(torch.from_numpy(x.numpy().copy())))
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def test_no_function_node_is_built_under_no_grad(monkeypatch):
    from deltagrad.nn import rnn

    def refuse(*args, **kwargs):
        raise AssertionError("_RecurrentLayer.apply called under no_grad")

    module = _module(dg, "GRU", {"bidirectional": True})
    x, _ = _inputs(dg, "GRU", False)
    monkeypatch.setattr(rnn._RecurrentLayer, "apply", refuse)
    with dg.no_grad():
        module(x)
    with pytest.raises(AssertionError, match="under no_grad"):
        module(x)


@pytest.mark.parametrize("embed, heads, dtype", [(16, 4, "float32"), (12, 3, "float64")])
def test_self_attention_packed_projection_keeps_the_bits(embed, heads, dtype):
    # (no_grad: one packed q/k/v product; grad mode: three block products for their gradients)
    dg.manual_seed(5)
    attention = dg.nn.MultiheadAttention(embed, heads, batch_first=True).eval()
    encoder = dg.nn.TransformerEncoderLayer(embed, heads, 24, dropout=0.0, batch_first=True)
    if dtype == "float64":
        attention, encoder = attention.double(), encoder.double()
    with dg.no_grad():
        attention.in_proj_bias.normal_()
    x = dg.randn(2, 5, embed, dtype=getattr(dg, dtype))
    expected = [t.detach().numpy() for t in attention(x, x, x)]
    expected_encoder = encoder.eval()(x).detach().numpy()
    with dg.no_grad():
        got = [t.numpy() for t in attention(x, x, x)]
        got_encoder = encoder(x).numpy()
    assert all(np.array_equal(e, g) for e, g in zip(expected, got))
    assert np.array_equal(expected_encoder, got_encoder)
    # frozen weights and an input that needs no gradient: nothing recorded, the same bits
    for p in attention.parameters():
        p.requires_grad_(False)
    assert np.array_equal(attention(x, x, x)[0].numpy(), expected[0])


@pytest.mark.parametrize("name, kwargs", [("GRU", {}), ("LSTM", {"proj_size": 2})])
def test_read_only_states_and_input_warn_nothing(name, kwargs, recwarn):
    # (expanded tensors hold read-only arrays: wrapping them as from_numpy does would warn)
    module = getattr(dg.nn, name)(3, 4, **kwargs).eval()
    x = dg.randn(1, 1, 3).expand(5, 2, 3)
    h = dg.zeros(1, 1, 2 if kwargs else 4).expand(1, 2, 2 if kwargs else 4)
    hx = (h, dg.zeros(1, 1, 4).expand(1, 2, 4)) if name == "LSTM" else h
    expected = module(x, hx)[0].detach().numpy()
    with dg.no_grad():
        got = module(x, hx)[0].numpy()
    assert np.array_equal(expected, got)
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]
