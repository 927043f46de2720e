"""RNN, LSTM, GRU, their cells and nn.utils.rnn against PyTorch (values and all gradients)."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad.nn.rnn import _RecurrentLayer

torch = pytest.importorskip("torch")
trnn = torch.nn.utils.rnn
PackedSequence = nn.utils.rnn.PackedSequence
pack_padded_sequence = nn.utils.rnn.pack_padded_sequence
pack_sequence = nn.utils.rnn.pack_sequence
pad_packed_sequence = nn.utils.rnn.pad_packed_sequence
pad_sequence = nn.utils.rnn.pad_sequence
unpack_sequence = nn.utils.rnn.unpack_sequence
unpad_sequence = nn.utils.rnn.unpad_sequence


def test_utils_rnn_is_importable_as_in_torch():
    import deltagrad.nn.utils.rnn as by_path
    from deltagrad.nn.utils.rnn import pad_sequence as by_name

    assert by_path is nn.utils.rnn and by_name is pad_sequence


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def pair(kind, **kwargs):
    """The same layer in both libraries (float64, torch's initial weights), names checked."""
    theirs = getattr(torch.nn, kind)(dtype=torch.float64, **kwargs)
    ours = getattr(nn, kind)(dtype=np.float64, **kwargs)
    state = theirs.state_dict()
    assert list(ours.state_dict()) == list(state)
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape)
                                                            for p in theirs.parameters()]
    ours.load_state_dict({k: dg.tensor(v.detach().numpy()) for k, v in state.items()})
    return ours, theirs


def flatten(out):
    """(output, h) or (output, (h, c)) -> a flat list of tensors."""
    output, state = out
    if isinstance(output, (PackedSequence, trnn.PackedSequence)):
        output = output.data
    return [output] + (list(state) if isinstance(state, tuple) else [state])


def check(ours, theirs, arrays, call_ours, call_theirs, rtol=1e-9, atol=1e-11):
    """Both forward on the same inputs; a random weighting of every output backward; compare
    outputs, input gradients and every parameter gradient."""
    xo = [dg.tensor(a, requires_grad=True) for a in arrays]
    xt = [torch.tensor(a, requires_grad=True) for a in arrays]
    outs, refs = flatten(call_ours(*xo)), flatten(call_theirs(*xt))
    loss_o, loss_t = 0, 0
    for k, (out, ref) in enumerate(zip(outs, refs)):
        np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=rtol,
                                   atol=atol)
        w = randn(*ref.shape, seed=10 + k)
        loss_o = loss_o + (out * dg.tensor(w)).sum()
        loss_t = loss_t + (ref * torch.tensor(w)).sum()
    loss_o.backward()
    loss_t.backward()
    for a, b in zip(xo, xt):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol)
    named = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), named[name].grad.numpy(), rtol=rtol,
                                   atol=atol, err_msg=name)


CONFIGS = [
    ("LSTM", {}),
    ("LSTM", {"num_layers": 2, "bidirectional": True, "batch_first": True}),
    ("LSTM", {"num_layers": 2, "proj_size": 3, "bidirectional": True}),
    ("LSTM", {"bias": False, "proj_size": 2}),
    ("GRU", {}),
    ("GRU", {"num_layers": 2, "bidirectional": True, "batch_first": True}),
    ("GRU", {"bias": False}),
    ("RNN", {"num_layers": 2, "bidirectional": True}),
    ("RNN", {"nonlinearity": "relu", "batch_first": True}),
]


@pytest.mark.parametrize("kind, kwargs", CONFIGS)
def test_layer_matches_torch(kind, kwargs):
    ours, theirs = pair(kind, input_size=4, hidden_size=5, **kwargs)
    shape = (3, 6, 4) if kwargs.get("batch_first") else (6, 3, 4)
    check(ours, theirs, [randn(*shape)], ours, theirs)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("kind, kwargs", CONFIGS)
def test_layer_with_initial_state_matches_torch(kind, kwargs):
    ours, theirs = pair(kind, input_size=4, hidden_size=5, **kwargs)
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    width = kwargs.get("proj_size") or 5
    shape = (3, 6, 4) if kwargs.get("batch_first") else (6, 3, 4)
    arrays = [randn(*shape), randn(layers, 3, width, seed=1)]
    if kind == "LSTM":
        arrays.append(randn(layers, 3, 5, seed=2))
        check(ours, theirs, arrays, lambda x, h, c: ours(x, (h, c)),
              lambda x, h, c: theirs(x, (h, c)))
    else:
        check(ours, theirs, arrays, ours, theirs)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_unbatched_input_matches_torch(kind):
    ours, theirs = pair(kind, input_size=3, hidden_size=4, num_layers=2)
    check(ours, theirs, [randn(5, 3)], ours, theirs)
    arrays = [randn(5, 3), randn(2, 4, seed=1)] + ([randn(2, 4, seed=2)] if kind == "LSTM" else [])
    if kind == "LSTM":
        check(ours, theirs, arrays, lambda x, h, c: ours(x, (h, c)),
              lambda x, h, c: theirs(x, (h, c)))
    else:
        check(ours, theirs, arrays, ours, theirs)


@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("kind, kwargs", [("LSTM", {"bidirectional": True, "num_layers": 2}),
                                          ("GRU", {"bidirectional": True}),
                                          ("RNN", {"num_layers": 2})])
def test_packed_sequence_input_matches_torch(kind, kwargs, enforce_sorted):
    ours, theirs = pair(kind, input_size=3, hidden_size=4, batch_first=True, **kwargs)
    lengths = [5, 4, 2, 1] if enforce_sorted else [2, 5, 1, 4]
    padded = randn(4, 5, 3)
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    h0 = randn(layers, 4, 4, seed=3)

    def run(lib, pack, x, h):
        packed = pack(x, lengths, batch_first=True, enforce_sorted=enforce_sorted)
        hx = (h, h * 0.5) if kind == "LSTM" else h
        module = ours if lib is dg else theirs
        return module(packed, hx)

    check(ours, theirs, [padded, h0],
          lambda x, h: run(dg, pack_padded_sequence, x, h),
          lambda x, h: run(torch, trnn.pack_padded_sequence, x, h))


def test_packed_output_is_packed_and_pads_back():
    ours, theirs = pair("LSTM", input_size=2, hidden_size=3)
    seqs = [randn(4, 2), randn(2, 2, seed=1), randn(3, 2, seed=2)]
    out, _ = ours(pack_sequence([dg.tensor(s) for s in seqs], enforce_sorted=False))
    ref, _ = theirs(trnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False))
    assert isinstance(out, PackedSequence) and out._fields == ref._fields
    padded, lengths = pad_packed_sequence(out, padding_value=-1.0, total_length=6)
    ref_padded, ref_lengths = trnn.pad_packed_sequence(ref, padding_value=-1.0, total_length=6)
    np.testing.assert_allclose(padded.detach().numpy(), ref_padded.detach().numpy(), rtol=1e-9)
    np.testing.assert_array_equal(lengths.numpy(), ref_lengths.numpy())
    assert lengths.dtype == dg.int64


# ----------------------------------------------------------------------------------------------
# The fused primitive, checked numerically (packed batch sizes, both directions, every mode).


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH", "RNN_RELU"])
@pytest.mark.parametrize("reverse", [False, True])
def test_recurrent_primitive_gradcheck(mode, reverse):
    gates = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    hidden, proj = 3, (2 if mode == "LSTM" else 0)
    width = proj or hidden
    sizes = (3, 2, 2, 1)
    rng = np.random.default_rng(0)

    def leaf(*shape):
        return dg.tensor(rng.standard_normal(shape) * 0.7, requires_grad=True)

    inputs = [leaf(sum(sizes), 2), leaf(3, width)]
    if mode == "LSTM":
        inputs.append(leaf(3, hidden))
    inputs += [leaf(gates * hidden, 2), leaf(gates * hidden, width), leaf(gates * hidden),
               leaf(gates * hidden)]
    if proj:
        inputs.append(leaf(proj, hidden))

    def fn(*tensors):
        return _RecurrentLayer.apply(*tensors, mode=mode, batch_sizes=sizes, reverse=reverse,
                                     has_bias=True, has_proj=bool(proj))

    assert dg.gradcheck(fn, tuple(inputs))


def test_double_backward_gives_a_differentiable_gradient():
    # (refused before s18; values against PyTorch: tests/autograd/test_s18_RN_double_backward.py)
    lstm = nn.LSTM(2, 3, dtype=np.float64)
    x = dg.tensor(randn(4, 1, 2), requires_grad=True)
    out, _ = lstm(x)
    (gx,) = dg.grad(out.sum(), [x], create_graph=True)
    assert gx.requires_grad
    assert dg.grad((gx * gx).sum(), [lstm.weight_hh_l0])[0].abs().sum() > 0


# ----------------------------------------------------------------------------------------------
# Construction, init, dropout and errors.


def test_init_is_uniform_within_one_over_sqrt_hidden():
    lstm = nn.LSTM(30, 40, num_layers=2, generator=dg.Generator(0))
    bound = 1 / np.sqrt(40)
    values = np.concatenate([p.detach().numpy().ravel() for p in lstm.parameters()])
    assert np.abs(values).max() <= bound and values.min() < -0.95 * bound
    assert len(lstm.all_weights) == 2 and len(lstm.all_weights[0]) == 4


def test_dropout_between_layers_only_in_training():
    gru = nn.GRU(3, 4, num_layers=2, dropout=0.5)
    x = dg.randn(5, 2, 3)
    gru.eval()
    a, b = gru(x)[0].detach().numpy(), gru(x)[0].detach().numpy()
    np.testing.assert_array_equal(a, b)
    gru.train()
    assert not np.allclose(gru(x)[0].detach().numpy(), a)
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.GRU(3, 4, dropout=0.5)


def test_errors():
    lstm = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size"):
        lstm(dg.randn(5, 2, 2))
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D"):
        lstm(dg.randn(5, 2, 2, 3))
    with pytest.raises(RuntimeError, match="Expected hidden size \\(2, 2, 4\\)"):
        lstm(dg.randn(5, 2, 3), (dg.zeros(1, 2, 4), dg.zeros(2, 2, 4)))
    with pytest.raises(ValueError, match="does not match the weights' dtype"):
        lstm(dg.randn(5, 2, 3, dtype=np.float64))
    with pytest.raises(ValueError, match="proj_size has to be smaller"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="dropout should be a number"):
        nn.RNN(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="Unknown nonlinearity"):
        nn.RNN(3, 4, nonlinearity="gelu")


# ----------------------------------------------------------------------------------------------
# Cells.


@pytest.mark.parametrize("kind, kwargs", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}),
                                          ("LSTMCell", {}), ("GRUCell", {}),
                                          ("GRUCell", {"bias": False})])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch(kind, kwargs, batched):
    ours, theirs = pair(kind, input_size=3, hidden_size=4, **kwargs)
    lead = (2,) if batched else ()
    x, h = randn(*lead, 3), randn(*lead, 4, seed=1)
    lstm = kind == "LSTMCell"

    def wrap(out):  # cells return h or (h, c): present them as (output, state)
        return (out[0], out[1]) if lstm else (out, out * 2)

    if lstm:
        check(ours, theirs, [x, h, randn(*lead, 4, seed=2)],
              lambda x, h, c: wrap(ours(x, (h, c))), lambda x, h, c: wrap(theirs(x, (h, c))))
    else:
        check(ours, theirs, [x, h], lambda x, h: wrap(ours(x, h)),
              lambda x, h: wrap(theirs(x, h)))
    out = ours(dg.tensor(x))  # no state: zeros
    ref = theirs(torch.tensor(x))
    np.testing.assert_allclose((out[0] if lstm else out).detach().numpy(),
                               (ref[0] if lstm else ref).detach().numpy(), rtol=1e-9)
    assert repr(ours) == repr(theirs)


# ----------------------------------------------------------------------------------------------
# nn.utils.rnn.


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_matches_torch_with_gradients(batch_first, side):
    arrays = [randn(3, 2), randn(1, 2, seed=1), randn(4, 2, seed=2)]
    ours = [dg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = pad_sequence(ours, batch_first=batch_first, padding_value=9.0, padding_side=side)
    ref = trnn.pad_sequence(theirs, batch_first=batch_first, padding_value=9.0,
                            padding_side=side)
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    w = randn(*ref.shape, seed=5)
    (out * dg.tensor(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy())


def test_pack_pad_roundtrip_and_fields_match_torch():
    padded = randn(4, 3, 2)
    lengths = [2, 4, 3]
    out = pack_padded_sequence(dg.tensor(padded), lengths, enforce_sorted=False)
    ref = trnn.pack_padded_sequence(torch.tensor(padded), lengths, enforce_sorted=False)
    for name in ("data", "batch_sizes", "sorted_indices", "unsorted_indices"):
        np.testing.assert_array_equal(getattr(out, name).numpy(), getattr(ref, name).numpy())
    back, back_lengths = pad_packed_sequence(out)
    mask = np.arange(4)[:, None] < np.array(lengths)[None, :]
    np.testing.assert_array_equal(back.numpy()[mask], padded[mask])
    assert back_lengths.tolist() == lengths
    pieces = unpack_sequence(out)
    assert [p.shape[0] for p in pieces] == lengths
    pieces = unpad_sequence(back, back_lengths)
    np.testing.assert_array_equal(pieces[1].numpy(), padded[:4, 1])


def test_pack_errors():
    x = dg.randn(3, 2, 1)
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        pack_padded_sequence(x, [1, 3])
    with pytest.raises(RuntimeError, match="greater than 0"):
        pack_padded_sequence(x, [3, 0])
    with pytest.raises(ValueError, match="total_length"):
        pad_packed_sequence(pack_padded_sequence(x, [3, 2]), total_length=2)


def test_float32_lstm_matches_torch():
    theirs = torch.nn.LSTM(6, 8, num_layers=2, bidirectional=True)
    ours = nn.LSTM(6, 8, num_layers=2, bidirectional=True)
    ours.load_state_dict({k: dg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x = randn(7, 3, 6).astype(np.float32)
    check(ours, theirs, [x], ours, theirs, rtol=1e-4, atol=1e-5)
    assert ours(dg.tensor(x))[0].dtype == dg.float32
