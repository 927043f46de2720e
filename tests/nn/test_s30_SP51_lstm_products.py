"""The LSTM's products as single GEMMs (nn/_rnn_kernels.py ``_input_gates`` and
``_lstm_gate_major_backward``'s one product a step): the input gates in any gate order are the
same bits, the old batched form's values within rounding, the no_grad loops give the grad-mode
forward's bits, and the layer matches PyTorch forward and backward in float32."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.nn._rnn_kernels import _gate_blocks, _input_gates

ORDER = [0, 1, 3, 2]  # (_rnn_infer's sigmoid gates first)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_input_gates_any_order_and_the_batched_form(dtype):
    rng = np.random.default_rng(0)
    steps, batch, width, size = 7, 3, 5, 4
    xs = rng.standard_normal((steps * batch, width)).astype(dtype)
    w_ih = rng.standard_normal((4 * size, width)).astype(dtype)
    gates = _input_gates(xs, w_ih, size, steps, batch)
    assert gates.shape == (steps, 4, batch, size) and gates.dtype == np.dtype(dtype)
    assert gates.flags.c_contiguous
    ordered = _input_gates(xs, w_ih, size, steps, batch, ORDER)
    assert ordered.tobytes() == np.ascontiguousarray(gates[:, ORDER]).tobytes()
    batched = np.matmul(xs.reshape(steps, 1, batch, width), _gate_blocks(w_ih, size))
    tolerance = 1e-5 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(gates, batched, rtol=tolerance, atol=tolerance)


CASES = {"uni-2layers": {"num_layers": 2}, "uni-nobias": {"bias": False},
         "bi": {"bidirectional": True}, "bi-2layers": {"bidirectional": True, "num_layers": 2}}


def _model(lib, kwargs, state):
    model = lib.nn.LSTM(6, 5, **kwargs)
    model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
    return model


def _state(kwargs):
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    return {k: v.detach().numpy() for k, v in torch.nn.LSTM(6, 5, **kwargs).state_dict().items()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_no_grad_gives_the_grad_mode_bits(case):
    kwargs = CASES[case]
    model = _model(dg, kwargs, _state(kwargs)).eval()
    x = dg.tensor(np.random.default_rng(2).standard_normal((9, 4, 6)).astype(np.float32))
    out, (h, c) = model(x)
    with dg.no_grad():
        out2, (h2, c2) = model(x)
    for a, b in ((out, out2), (h, h2), (c, c2)):
        assert a.detach().numpy().tobytes() == b.numpy().tobytes()


@pytest.mark.parametrize("case", sorted(CASES))
def test_forward_and_backward_match_pytorch(case):
    torch = pytest.importorskip("torch")
    kwargs = CASES[case]
    state = _state(kwargs)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((11, 4, 6)).astype(np.float32)
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    h0 = rng.standard_normal((layers, 4, 5)).astype(np.float32)
    c0 = rng.standard_normal((layers, 4, 5)).astype(np.float32)
    results = []
    for lib in (dg, torch):
        model = _model(lib, kwargs, state)
        leaves = [lib.tensor(a, requires_grad=True) for a in (x, h0, c0)]
        out, (h, c) = model(leaves[0], (leaves[1], leaves[2]))
        weights = [lib.tensor(np.random.default_rng(k).standard_normal(tuple(t.shape))
                              .astype(np.float32)) for k, t in enumerate((out, h, c))]
        loss = sum((t * w).sum() for t, w in zip((out, h, c), weights))
        loss.backward()
        results.append([t.detach().numpy() for t in (out, h, c)]
                       + [leaf.grad.numpy() for leaf in leaves]
                       + [p.grad.numpy() for p in model.parameters()])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)
