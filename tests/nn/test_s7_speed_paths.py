"""The speed paths of issue 18 (W5 LSTM, W6 CNN) against PyTorch: the convolution's input
gradient by row blocks (``conv2d._correlate_by_rows``) and the LSTM's full-batch time loop
(``rnn._lstm_full_batch``), values and gradients, with the shapes around their edges."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _pair(array, requires_grad=True):
    return (dg.tensor(array, requires_grad=requires_grad),
            torch.tensor(array, requires_grad=requires_grad))


def _close(ours, theirs, dtype, scale=1.0):
    tol = 1e-10 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(),
                               rtol=tol, atol=tol * scale)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    assert tuple(ours.shape) == tuple(theirs.shape)


CONV_CASES = [
    # (input shape, weight shape, kwargs): stride 1, kernel height > 1 (the row path)
    ((4, 3, 9, 9), (5, 3, 3, 3), dict(padding=1)),
    ((2, 4, 7, 10), (6, 4, 3, 3), dict(padding=0)),
    ((2, 2, 8, 9), (3, 2, 2, 5), dict(padding=(1, 2))),
    ((2, 3, 9, 8), (4, 3, 3, 1), dict(padding=(1, 0))),
    ((2, 3, 11, 12), (4, 3, 3, 3), dict(padding=2, dilation=(2, 1))),
    ((2, 3, 11, 12), (4, 3, 3, 2), dict(padding=(1, 3), dilation=(1, 3))),
    ((2, 3, 6, 6), (2, 3, 2, 2), dict(padding=2)),  # padding past the span: cropped gradient
    ((2, 3, 9, 9), (4, 3, 4, 4), dict(padding="same")),  # asymmetric padding
    ((1, 2, 5, 5), (3, 2, 5, 5), dict(padding=0)),  # one output position
    ((2, 4, 8, 8), (6, 2, 3, 3), dict(padding=1, groups=2)),  # groups: the im2col path
    ((2, 3, 8, 8), (4, 3, 1, 3), dict(padding=(0, 1))),  # kernel height 1: the im2col path
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape, w_shape, kwargs", CONV_CASES)
def test_conv2d_input_gradient_by_rows(x_shape, w_shape, kwargs, dtype):
    rng = np.random.default_rng(len(x_shape) + sum(w_shape))
    x, tx = _pair(rng.standard_normal(x_shape).astype(dtype))
    w, tw = _pair(rng.standard_normal(w_shape).astype(dtype))
    b, tb = _pair(rng.standard_normal(w_shape[0]).astype(dtype))
    y = dg.nn.functional.conv2d(x, w, b, **kwargs)
    ty = torch.nn.functional.conv2d(tx, tw, tb, **kwargs)
    _close(y, ty, dtype, scale=10)
    g = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    y.backward(dg.tensor(g))
    ty.backward(torch.tensor(g))
    for ours, theirs in ((x, tx), (w, tw), (b, tb)):
        _close(ours.grad, theirs.grad, dtype, scale=100)


@pytest.mark.parametrize("kwargs", [dict(padding=0), dict(padding=1), dict(padding=1,
                                    dilation=2), dict(padding=0, output_padding=0)])
def test_conv_transpose2d_stride_one_by_rows(kwargs):
    """A stride-1 transposed convolution's forward is the row path too."""
    rng = np.random.default_rng(7)
    x, tx = _pair(rng.standard_normal((2, 5, 6, 7)))
    w, tw = _pair(rng.standard_normal((5, 3, 3, 2)))
    y = dg.nn.functional.conv_transpose2d(x, w, **kwargs)
    ty = torch.nn.functional.conv_transpose2d(tx, tw, **kwargs)
    _close(y, ty, np.float64, scale=10)
    g = rng.standard_normal(tuple(ty.shape))
    y.backward(dg.tensor(g))
    ty.backward(torch.tensor(g))
    _close(x.grad, tx.grad, np.float64, scale=100)
    _close(w.grad, tw.grad, np.float64, scale=100)


def _lstm_pair(dtype, **kwargs):
    torch.manual_seed(3)
    theirs = torch.nn.LSTM(**kwargs).to(torch.float64 if dtype == np.float64 else torch.float32)
    ours = dg.nn.LSTM(**kwargs, dtype=dg.float64 if dtype == np.float64 else dg.float32)
    for name, param in theirs.named_parameters():
        getattr(ours, name).data.copy_(dg.tensor(param.detach().numpy()))
    return ours, theirs


LSTM_CASES = [
    dict(input_size=5, hidden_size=4),
    dict(input_size=5, hidden_size=4, num_layers=2),
    dict(input_size=5, hidden_size=4, num_layers=2, bidirectional=True),
    dict(input_size=5, hidden_size=6, proj_size=3, bidirectional=True),
    dict(input_size=5, hidden_size=4, bias=False, batch_first=True),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", LSTM_CASES)
@pytest.mark.parametrize("with_state", [False, True])
def test_lstm_full_batch_loop(kwargs, dtype, with_state):
    ours, theirs = _lstm_pair(dtype, **kwargs)
    rng = np.random.default_rng(11)
    steps, batch = 6, 3
    shape = (batch, steps, 5) if kwargs.get("batch_first") else (steps, batch, 5)
    x, tx = _pair(rng.standard_normal(shape).astype(dtype))
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    width = kwargs.get("proj_size") or kwargs["hidden_size"]
    state, tstate = None, None
    if with_state:
        h0, th0 = _pair(rng.standard_normal((layers, batch, width)).astype(dtype))
        c0, tc0 = _pair(rng.standard_normal((layers, batch, kwargs["hidden_size"])).astype(dtype))
        state, tstate = (h0, c0), (th0, tc0)
    out, (h, c) = ours(x, state)
    tout, (th, tc) = theirs(tx, tstate)
    for a, b in ((out, tout), (h, th), (c, tc)):
        _close(a, b, dtype)
    weights = [rng.standard_normal(tuple(t.shape)).astype(dtype) for t in (tout, th, tc)]
    loss = sum((a * dg.tensor(w)).sum() for a, w in zip((out, h, c), weights))
    tloss = sum((a * torch.tensor(w)).sum() for a, w in zip((tout, th, tc), weights))
    loss.backward()
    tloss.backward()
    _close(x.grad, tx.grad, dtype, scale=10)
    if with_state:
        _close(state[0].grad, tstate[0].grad, dtype, scale=10)
        _close(state[1].grad, tstate[1].grad, dtype, scale=10)
    for name, param in theirs.named_parameters():
        _close(getattr(ours, name).grad, param.grad, dtype, scale=10)


def test_lstm_packed_batch_keeps_the_general_loop():
    """Sequences of different lengths (batch sizes falling over time): the per-step copies."""
    ours, theirs = _lstm_pair(np.float64, input_size=3, hidden_size=4, bidirectional=True)
    rng = np.random.default_rng(5)
    data = rng.standard_normal((5, 3, 3))
    lengths = [5, 3, 2]
    x, tx = _pair(data)
    packed = dg.nn.utils.rnn.pack_padded_sequence(x, lengths)
    tpacked = torch.nn.utils.rnn.pack_padded_sequence(tx, lengths)
    out, (h, c) = ours(packed)
    tout, (th, tc) = theirs(tpacked)
    _close(out.data, tout.data, np.float64)
    _close(h, th, np.float64)
    (out.data.sum() + h.sum() * 2 + c.sum() * 3).backward()
    (tout.data.sum() + th.sum() * 2 + tc.sum() * 3).backward()
    _close(x.grad, tx.grad, np.float64, scale=10)
    for name, param in theirs.named_parameters():
        _close(getattr(ours, name).grad, param.grad, np.float64, scale=10)


@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("shape, batch_first", [((0, 2, 3), False), ((2, 0, 3), True),
                                                ((0, 3), False)])
def test_recurrent_layers_refuse_an_empty_sequence(name, shape, batch_first):
    """As PyTorch: a RuntimeError (it was an IndexError from the time loop)."""
    for lib in (dg, torch):
        layer = getattr(lib.nn, name)(3, 4, batch_first=batch_first)
        with pytest.raises(RuntimeError, match="sequence length to be larger than 0"):
            layer(lib.zeros(*shape))
