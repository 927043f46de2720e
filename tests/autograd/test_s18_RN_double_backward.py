"""Double backward (create_graph=True) through RNN / LSTM / GRU, against PyTorch (RN, s18).

The fused recurrent layer's backward runs on arrays; under create_graph the layer is replayed
in engine ops and differentiated (``nn/_rnn_kernels._replayed_grads``). Checked here: the
gradient of a gradient norm with respect to the input, the initial states and every weight
(what a gradient penalty, MAML or a Hessian-vector product needs) against PyTorch's, for each
mode, stacking, direction, batch_first, projections, packed input and given / default states;
deltagrad's gradgradcheck on the layer op itself; func.hessian and autograd.functional.hvp;
the cells; and a weight used both inside and outside the layer (the nested sweep).
"""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.nn.rnn import _RecurrentLayer

torch = pytest.importorskip("torch")


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def pair(kind, **kwargs):
    """The same float64 layer in both libraries (PyTorch's initial weights)."""
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(dtype=torch.float64, **kwargs)
    ours = getattr(dg.nn, kind)(dtype=dg.float64, **kwargs)
    ours.load_state_dict({k: dg.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    return ours, theirs


def second_order(lib, module, inputs, call):
    """First gradients (create_graph) of a loss of every output with respect to the inputs and
    weights, then the gradients of their squared norm: both as arrays."""
    params = list(module.parameters())
    wrt = [t for t in inputs if t.requires_grad] + params
    outputs = call(module, *inputs)
    loss = sum((o * o.detach().cos()).sum() for o in outputs)  # (a weighting per element)
    first = lib.autograd.grad(loss, wrt, create_graph=True)
    penalty = sum((g * g).sum() for g in first)
    second = lib.autograd.grad(penalty, wrt)
    return [g.detach().numpy() for g in first], [g.numpy() for g in second]


def flat(out):
    output, state = out
    if isinstance(output, (dg.nn.utils.rnn.PackedSequence, torch.nn.utils.rnn.PackedSequence)):
        output = output.data
    return [output] + (list(state) if isinstance(state, tuple) else [state])


def plain(module, x):
    return flat(module(x))


def with_h(module, x, h):
    return flat(module(x, h))


def with_hc(module, x, h, c):
    return flat(module(x, (h, c)))


CASES = {
    # name: (kind, module kwargs, input shapes, call, the number of states given)
    "rnn_tanh_2layer_bidir": ("RNN", dict(input_size=3, hidden_size=4, num_layers=2,
                                          bidirectional=True), [(5, 2, 3)], plain),
    "rnn_relu_batch_first_h0": ("RNN", dict(input_size=3, hidden_size=4, nonlinearity="relu",
                                            batch_first=True), [(2, 5, 3), (1, 2, 4)], with_h),
    "lstm_2layer_bidir_h0_c0": ("LSTM", dict(input_size=3, hidden_size=4, num_layers=2,
                                             bidirectional=True),
                                [(4, 2, 3), (4, 2, 4), (4, 2, 4)], with_hc),
    "lstm_proj_batch_first": ("LSTM", dict(input_size=3, hidden_size=4, proj_size=2,
                                           batch_first=True), [(2, 4, 3)], plain),
    "lstm_proj_bidir_h0_c0": ("LSTM", dict(input_size=3, hidden_size=4, proj_size=2,
                                           bidirectional=True),
                              [(4, 2, 3), (2, 2, 2), (2, 2, 4)], with_hc),
    "lstm_unbatched": ("LSTM", dict(input_size=3, hidden_size=4), [(4, 3)], plain),
    "lstm_dropout0_train": ("LSTM", dict(input_size=3, hidden_size=4, num_layers=2,
                                         dropout=0.0), [(4, 2, 3)], plain),
    "gru_2layer_bidir_h0": ("GRU", dict(input_size=3, hidden_size=4, num_layers=2,
                                        bidirectional=True), [(4, 2, 3), (4, 2, 4)], with_h),
    "gru_batch_first_no_bias": ("GRU", dict(input_size=3, hidden_size=4, bias=False,
                                            batch_first=True), [(2, 4, 3)], plain),
}


@pytest.mark.parametrize("name", list(CASES))
def test_gradient_of_gradient_norm_matches_pytorch(name):
    kind, kwargs, shapes, call = CASES[name]
    ours, theirs = pair(kind, **kwargs)
    ours.train()
    theirs.train()
    arrays = [randn(*shape, seed=i) for i, shape in enumerate(shapes)]
    results = []
    for lib, module in ((dg, ours), (torch, theirs)):
        inputs = [lib.tensor(a, requires_grad=True) for a in arrays]
        results.append(second_order(lib, module, inputs, call))
    (first_o, second_o), (first_t, second_t) = results
    assert len(second_o) == len(second_t)
    for a, b in zip(first_o + second_o, first_t + second_t):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_sequence_double_backward_matches_pytorch(kind, enforce_sorted):
    lengths = [4, 2, 3] if not enforce_sorted else [4, 3, 2]
    ours, theirs = pair(kind, input_size=2, hidden_size=3, bidirectional=True)
    arrays = [randn(n, 2, seed=i) for i, n in enumerate(lengths)]
    h0 = randn(2, 3, 3, seed=9)
    results = []
    for lib, module in ((dg, ours), (torch, theirs)):
        seqs = [lib.tensor(a, requires_grad=True) for a in arrays]
        h = lib.tensor(h0, requires_grad=True)
        packed = lib.nn.utils.rnn.pack_sequence(seqs, enforce_sorted=enforce_sorted)
        state = (h, h * 0.5) if kind == "LSTM" else h
        out, last = module(packed, state)
        padded, _ = lib.nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
        last = last[0] * last[1] if kind == "LSTM" else last
        loss = (padded * padded.detach().sin()).sum() + (last ** 3).sum()
        wrt = seqs + [h] + list(module.parameters())
        first = lib.autograd.grad(loss, wrt, create_graph=True)
        second = lib.autograd.grad(sum((g * g).sum() for g in first), wrt)
        results.append([g.detach().numpy() for g in first + second])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


def test_backward_create_graph_then_penalty_on_param_grads():
    """loss.backward(create_graph=True) leaves .grad with a graph (MAML, gradient penalty on
    a recurrent discriminator): a second backward through those grads reaches the weights."""
    grads = []
    for lib, module in zip((dg, torch), pair("LSTM", input_size=2, hidden_size=3)):
        x = lib.tensor(randn(3, 2, 2))
        out, (h, c) = module(x)
        (out.pow(2).sum() + h.sum() * c.sum()).backward(create_graph=True)
        params = list(module.parameters())
        assert all(p.grad.requires_grad for p in params)
        penalty = sum(p.grad.pow(2).sum() for p in params)
        grads.append([g.numpy() for g in lib.autograd.grad(penalty, params)])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


def test_weight_used_inside_and_outside_the_layer():
    """The replay's nested sweep runs while the outer sweep holds partial gradients of nodes
    below the layer (the input made from a weight also used elsewhere): none are lost."""
    results = []
    for lib, gru in zip((dg, torch), pair("GRU", input_size=3, hidden_size=3)):
        w = lib.tensor(randn(3, 3, seed=4), requires_grad=True)
        x = lib.tensor(randn(4, 2, 3, seed=5)) @ w
        h0 = (x[0] * 0.3).tanh().unsqueeze(0)
        out, h = gru(x, h0)
        loss = out.pow(2).sum() + (h * w.sum()).sum() + (w ** 3).sum()
        wrt = [w] + list(gru.parameters())
        first = lib.autograd.grad(loss, wrt, create_graph=True)
        second = lib.autograd.grad(sum((g ** 2).sum() for g in first), wrt)
        results.append([g.detach().numpy() for g in first + second])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


def leaf(*shape, seed):
    return dg.tensor(randn(*shape, seed=seed) * 0.5, requires_grad=True)


@pytest.mark.parametrize("mode,sizes,reverse,proj", [
    ("LSTM", (2, 2, 2), False, 0),  # (the gate-major loop)
    # (packed rows, projection: ~1 s each; their values against PyTorch run by default above)
    pytest.param("LSTM", (2, 2, 1), True, 0, marks=pytest.mark.soak),
    pytest.param("LSTM", (2, 1), False, 1, marks=pytest.mark.soak),
    ("GRU", (2, 2, 1), True, 0),
    ("RNN_TANH", (2, 1, 1), False, 0),
    ("RNN_RELU", (2, 2), True, 0),
])
def test_gradgradcheck_of_the_layer_op(mode, sizes, reverse, proj):
    gates = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    size, width, features = 2, proj or 2, 2
    inputs = [leaf(sum(sizes), features, seed=0), leaf(sizes[0], width, seed=1)]
    if mode == "LSTM":
        inputs.append(leaf(sizes[0], size, seed=2))
    inputs += [leaf(gates * size, features, seed=3), leaf(gates * size, width, seed=4),
               leaf(gates * size, seed=5), leaf(gates * size, seed=6)]
    if proj:
        inputs.append(leaf(proj, size, seed=7))

    def fn(*tensors):
        return _RecurrentLayer.apply(*tensors, mode=mode, batch_sizes=sizes, reverse=reverse,
                                     has_bias=True, has_proj=bool(proj))

    assert dg.autograd.gradgradcheck(fn, tuple(inputs), seed=0)


def test_func_hessian_and_hvp_through_lstm_match_pytorch():
    ours, theirs = pair("LSTM", input_size=2, hidden_size=3)
    x = randn(3, 1, 2)
    v = randn(3, 1, 2, seed=1)
    results = []
    for lib, module in ((dg, ours), (torch, theirs)):
        def f(xi, module=module):
            out, (h, c) = module(xi)
            return out.pow(2).sum() + (h * c).sum()

        if lib is dg:
            hessian = dg.func.hessian(f)(dg.tensor(x))
        else:  # (the same values; torch.func's first call costs ~1.5 s of set-up)
            hessian = torch.autograd.functional.hessian(f, torch.tensor(x))
        _, hvp = lib.autograd.functional.hvp(f, lib.tensor(x), lib.tensor(v))
        results.append([hessian.detach().numpy(), hvp.detach().numpy()])
    for a, b in zip(*results):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_double_backward_matches_pytorch(kind):
    ours, theirs = pair(kind, input_size=3, hidden_size=3)
    results = []
    for lib, cell in ((dg, ours), (torch, theirs)):
        x = lib.tensor(randn(2, 3), requires_grad=True)
        h = lib.tensor(randn(2, 3, seed=1), requires_grad=True)
        out = cell(x, (h, h.tanh()) if kind == "LSTMCell" else h)
        out = out[0] * out[1] if kind == "LSTMCell" else out
        wrt = [x, h] + list(cell.parameters())
        first = lib.autograd.grad((out ** 3).sum(), wrt, create_graph=True)
        second = lib.autograd.grad(sum((g ** 2).sum() for g in first), wrt)
        results.append([g.detach().numpy() for g in first + second])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


def test_first_order_backward_leaves_no_graph():
    """Without create_graph the fused backward runs (its gradients carry no graph)."""
    lstm, _ = pair("LSTM", input_size=2, hidden_size=3)
    x = dg.tensor(randn(3, 2, 2), requires_grad=True)
    out, _ = lstm(x)
    (gx,) = dg.autograd.grad(out.sum(), [x])
    assert not gx.requires_grad and gx.grad_fn is None


@pytest.mark.parametrize("name", ["lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell"])
def test_functional_cells_double_backward_match_pytorch(name):
    gates = {"lstm_cell": 4, "gru_cell": 3}.get(name, 1)
    arrays = [randn(2, 3, seed=0), randn(2, 3, seed=1), randn(gates * 3, 3, seed=2),
              randn(gates * 3, 3, seed=3), randn(gates * 3, seed=4), randn(gates * 3, seed=5)]
    results = []
    for lib in (dg, torch):
        x, h, *weights = [lib.tensor(a * 0.5, requires_grad=True) for a in arrays]
        hx = (h, h.sin()) if name == "lstm_cell" else h
        out = getattr(lib, name)(x, hx, *weights)
        out = out[0] * out[1] if name == "lstm_cell" else out
        wrt = [x, h, *weights]
        first = lib.autograd.grad((out ** 3).sum(), wrt, create_graph=True)
        second = lib.autograd.grad(sum((g ** 2).sum() for g in first), wrt)
        results.append([g.detach().numpy() for g in first + second])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


def test_maml_step_through_functional_call_matches_pytorch():
    """One inner SGD step on a support batch (create_graph), the query loss of the adapted
    weights (func.functional_call), its gradient with respect to the original weights."""
    results = []
    for lib, module in zip((dg, torch), pair("GRU", input_size=2, hidden_size=3,
                                             batch_first=True)):
        support = lib.tensor(randn(2, 3, 2, seed=1))
        query = lib.tensor(randn(2, 4, 2, seed=2))
        params = dict(module.named_parameters())
        inner = module(support)[0].pow(2).mean()
        grads = lib.autograd.grad(inner, list(params.values()), create_graph=True)
        fast = {k: p - 0.5 * g for (k, p), g in zip(params.items(), grads)}
        out, h = lib.func.functional_call(module, fast, (query,))
        outer = out.tanh().sum() + h.pow(2).sum()
        results.append([g.numpy() for g in lib.autograd.grad(outer, list(params.values()))])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
