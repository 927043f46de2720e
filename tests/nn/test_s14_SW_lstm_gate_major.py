"""The LSTM layer's gate-major path (nn/rnn.py ``_lstm_gate_major``: every step the whole batch,
no projection): values and gradients against PyTorch, numeric gradients of the primitive, and
capture_step replays bit-identical to eager steps."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad.nn.rnn import _RecurrentLayer

torch = pytest.importorskip("torch")


def _pair(**kwargs):
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(dtype=torch.float64, **kwargs)
    ours = nn.LSTM(dtype=np.float64, **kwargs)
    ours.load_state_dict({k: dg.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("kwargs", [
    {"bias": False},
    {"bias": False, "num_layers": 2, "bidirectional": True},
    {"num_layers": 3, "bidirectional": True, "batch_first": True},
])
@pytest.mark.parametrize("initial_state", [False, True])
def test_full_batch_lstm_matches_torch(kwargs, initial_state):
    ours, theirs = _pair(input_size=4, hidden_size=5, **kwargs)
    rng = np.random.default_rng(3)
    shape = (3, 7, 4) if kwargs.get("batch_first") else (7, 3, 4)
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    arrays = [rng.standard_normal(shape)]
    if initial_state:
        arrays += [rng.standard_normal((layers, 3, 5)), rng.standard_normal((layers, 3, 5))]
    results = []
    for lib, model in ((dg, ours), (torch, theirs)):
        leaves = [lib.tensor(a, requires_grad=True) for a in arrays]
        out, (h, c) = model(leaves[0], tuple(leaves[1:]) if initial_state else None)
        weights = [np.random.default_rng(k).standard_normal(tuple(t.shape))
                   for k, t in enumerate((out, h, c))]
        loss = sum((t * lib.tensor(w)).sum() for t, w in zip((out, h, c), weights))
        loss.backward()
        results.append([t.detach().numpy() for t in (out, h, c)]
                       + [leaf.grad.numpy() for leaf in leaves]
                       + [p.grad.numpy() for p in model.parameters()])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("has_bias", [False, True])
def test_full_batch_primitive_gradcheck(reverse, has_bias):
    rng = np.random.default_rng(1)
    sizes = (3, 3, 3, 3)  # (the whole batch every step: the gate-major path)

    def leaf(*shape):
        return dg.tensor(rng.standard_normal(shape) * 0.7, requires_grad=True)

    inputs = [leaf(sum(sizes), 2), leaf(3, 4), leaf(3, 4), leaf(16, 2), leaf(16, 4)]
    if has_bias:
        inputs += [leaf(16), leaf(16)]

    def fn(*tensors):
        return _RecurrentLayer.apply(*tensors, mode="LSTM", batch_sizes=sizes, reverse=reverse,
                                     has_bias=has_bias, has_proj=False)

    assert dg.gradcheck(fn, tuple(inputs))


def test_full_batch_and_packed_paths_agree():
    # Two sequences as a full batch (the gate-major path), and the same two packed beside a
    # third, one step shorter (the general path): their outputs must agree.
    ours = nn.LSTM(3, 4, dtype=np.float64)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3, 3))
    full = ours(dg.tensor(x[:, :2]))[0].detach().numpy()
    packed = nn.utils.rnn.pack_padded_sequence(dg.tensor(x), [5, 5, 4], enforce_sorted=True)
    padded, _ = nn.utils.rnn.pad_packed_sequence(ours(packed)[0])
    np.testing.assert_allclose(padded.detach().numpy()[:, :2], full, rtol=1e-12, atol=1e-14)


def test_capture_step_replays_the_lstm_bit_for_bit():
    torch_free_rng = np.random.default_rng(4)
    batches = [dg.tensor(torch_free_rng.standard_normal((6, 4, 5)).astype(np.float32))
               for _ in range(3)]

    def train(replay):
        dg.manual_seed(0)
        model = nn.LSTM(5, 6, num_layers=2, bidirectional=True)
        optimizer = dg.optim.SGD(model.parameters(), lr=0.1)

        def loss_fn(x):
            return (model(x)[0] ** 2).mean()

        step = dg.capture_step(loss_fn) if replay else None
        losses = []
        for x in batches:
            optimizer.zero_grad()
            if step is None:
                loss = loss_fn(x)
                loss.backward()
            else:
                loss = step(x)
            losses.append(loss.item())
            optimizer.step()
        return losses, [p.detach().numpy().copy() for p in model.parameters()]

    eager, replayed = train(False), train(True)
    assert eager[0] == replayed[0]
    for a, b in zip(eager[1], replayed[1]):
        np.testing.assert_array_equal(a, b)
