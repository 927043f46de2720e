"""Recurrent layers under no_grad (nn/_rnn_infer.py, s26 SP34): the bidirectional LSTM's two
directions in one time loop (``_lstm_both``) and the GRU's own loop (``_gru``) give the bits of
the grad-mode forward, and PyTorch's values; each case checks that the new loop ran."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.nn import _rnn_infer

CASES = {
    "lstm-bi": ("LSTM", {"bidirectional": True}, 1, False),
    "lstm-bi-2layers-b4": ("LSTM", {"bidirectional": True, "num_layers": 2}, 4, False),
    "lstm-bi-nobias-state": ("LSTM", {"bidirectional": True, "bias": False}, 3, True),
    "lstm-bi-seq-first": ("LSTM", {"bidirectional": True, "batch_first": False}, 2, True),
    "gru": ("GRU", {}, 1, False),
    "gru-bi-2layers-b4": ("GRU", {"bidirectional": True, "num_layers": 2}, 4, True),
    "gru-nobias": ("GRU", {"bias": False}, 3, False),
}


def _run(lib, name, kwargs, batch, with_state, dtype, grad):
    lib.manual_seed(5)
    options = {"batch_first": True, **kwargs}
    module = getattr(lib.nn, name)(6, 7, **options).eval()
    if dtype == "float64":
        module = module.double()
    rng = np.random.default_rng(2)
    steps = 5
    shape = (batch, steps, 6) if options["batch_first"] else (steps, batch, 6)
    x = lib.from_numpy(rng.standard_normal(shape).astype(dtype))
    args = [x]
    if with_state:
        layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
        h = lib.from_numpy(rng.standard_normal((layers, batch, 7)).astype(dtype))
        c = lib.from_numpy(rng.standard_normal((layers, batch, 7)).astype(dtype))
        args.append((h, c) if name == "LSTM" else h)
    if grad:
        out, state = module(*args)
    else:
        with lib.no_grad():
            out, state = module(*args)
    states = state if isinstance(state, tuple) else (state,)
    return [out.detach().numpy()] + [s.detach().numpy() for s in states]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_bits_of_the_grad_mode_forward(case, dtype, monkeypatch):
    name, kwargs, batch, with_state = CASES[case]
    calls = []
    loop = "_lstm_both" if name == "LSTM" else "_gru"
    original = getattr(_rnn_infer, loop)
    monkeypatch.setattr(_rnn_infer, loop, lambda *a: calls.append(1) or original(*a))
    expected = _run(dg, name, kwargs, batch, with_state, dtype, grad=True)
    assert not calls
    got = _run(dg, name, kwargs, batch, with_state, dtype, grad=False)
    assert calls  # (the new loop served the no_grad call)
    for e, g in zip(expected, got):
        assert e.shape == g.shape and e.dtype == g.dtype
        assert np.array_equal(e, g)


@pytest.mark.parametrize("case", sorted(CASES))
def test_values_match_pytorch(case):
    torch = pytest.importorskip("torch")
    name, kwargs, batch, with_state = CASES[case]
    got = _run(dg, name, kwargs, batch, with_state, "float32", grad=False)
    want = _run(torch, name, kwargs, batch, with_state, "float32", grad=False)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_inputs_and_weights_are_left_alone():
    module = dg.nn.LSTM(4, 5, bidirectional=True).eval()
    x = dg.randn(3, 2, 4)
    before = [p.detach().numpy().copy() for p in module.parameters()]
    x_before = x.numpy().copy()
    with dg.no_grad():
        first = module(x)[0].numpy().copy()
        second = module(x)[0].numpy()
    assert np.array_equal(first, second) and np.array_equal(x.numpy(), x_before)
    assert all(np.array_equal(b, p.detach().numpy()) for b, p in zip(before, module.parameters()))
