"""Meta tensors, part 2, against PyTorch's: parameters re-registered as accelerate does, the
factories and layers under the meta device, ops whose public functions read values, backward
through a meta graph, and ``to("meta")`` of a tensor that requires grad."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _name(dtype) -> str:
    return str(dtype).split(".")[-1]


def _same(ours, theirs) -> None:
    """Both meta tensors of one shape and dtype (and requires_grad / leafness)."""
    assert ours.device.type == theirs.device.type == "meta", (ours, theirs)
    assert tuple(ours.shape) == tuple(theirs.shape), (ours, theirs)
    assert _name(ours.dtype) == _name(theirs.dtype), (ours, theirs)
    assert ours.requires_grad == theirs.requires_grad, (ours, theirs)
    assert (ours.grad_fn is None) == (theirs.grad_fn is None), (ours, theirs)


# ---------------------------------------------------------------------------------------------
# 1. Parameters re-registered with type(p)(p.to(device), **p.__dict__) (accelerate).


def _init_empty_weights(m, module) -> None:
    for name in list(module._parameters):
        param = module._parameters[name]
        param_cls = type(param)
        kwargs = module._parameters[name].__dict__
        kwargs["requires_grad"] = param.requires_grad
        module._parameters[name] = param_cls(module._parameters[name].to("meta"), **kwargs)


def test_parameter_class_round_trip():
    for m in (dg, torch):
        layer = m.nn.Linear(2, 3)
        _init_empty_weights(m, layer)
        for p in (layer.weight, layer.bias):
            assert isinstance(p, m.nn.Parameter) and p.is_meta and p.is_leaf and p.requires_grad
        assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
        frozen = layer.weight.__class__(m.ones(2), requires_grad=False)
        assert isinstance(frozen, m.nn.Parameter) and not frozen.requires_grad
        assert np.array_equal(frozen.detach().numpy(), np.ones(2, np.float32))
        again = type(layer.bias)(m.zeros(3), requires_grad=True)
        assert isinstance(again, m.nn.Parameter) and again.requires_grad
        assert not isinstance(m.Tensor(m.ones(2)), m.nn.Parameter)  # (a plain tensor stays one)
    # PyTorch's Tensor takes requires_grad only as a Parameter does: from a tensor.
    for m in (dg, torch):
        with pytest.raises(TypeError):
            m.Tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(TypeError):
            m.Tensor(2, 3, requires_grad=False)


def test_parameter_shares_and_keeps_dtype():
    source = dg.arange(4, dtype=dg.float64)
    p = type(dg.nn.Linear(1, 1).weight)(source, requires_grad=True)
    assert isinstance(p, dg.nn.Parameter) and p.dtype == dg.float64
    with dg.no_grad():
        source.add_(1)
    assert p.detach().numpy().tolist() == [1.0, 2.0, 3.0, 4.0]  # (shares, as Parameter(t))


# ---------------------------------------------------------------------------------------------
# 2. Factories and layers on the meta device.

FACTORIES = [
    lambda m: m.hann_window(5), lambda m: m.hamming_window(4, periodic=False),
    lambda m: m.blackman_window(3, dtype=m.float64), lambda m: m.bartlett_window(6),
    lambda m: m.kaiser_window(5), lambda m: m.tril_indices(3, 4), lambda m: m.triu_indices(4, 3, 1),
    lambda m: m.kaiser_window(4, requires_grad=True),
]


@pytest.mark.parametrize("make", FACTORIES)
def test_factories_under_meta_default(make):
    with dg.device("meta"):
        ours = make(dg)
    with torch.device("meta"):
        theirs = make(torch)
    _same(ours, theirs)
    assert make(dg).device.type == "cpu"


def _layers(m, **kwargs):
    return [m.nn.Linear(3, 2, **kwargs), m.nn.Conv1d(2, 4, 3, **kwargs),
            m.nn.BatchNorm1d(3, **kwargs), m.nn.LSTM(3, 4, **kwargs),
            m.nn.MultiheadAttention(4, 2, **kwargs), m.nn.Embedding(5, 3, **kwargs),
            m.nn.LayerNorm(3, **kwargs), m.nn.GRU(2, 3, num_layers=2, **kwargs)]


def test_layers_on_meta_have_meta_state_and_draw_nothing():
    states, draws = {}, {}
    for m in (dg, torch):
        m.manual_seed(0)
        with m.device("meta"):
            built = _layers(m)
        built += _layers(m, device="meta")
        states[m] = [(name, tuple(t.shape), _name(t.dtype), t.device.type)
                     for layer in built for name, t in layer.state_dict().items()]
        draws[m] = m.randn(3).numpy()
    assert states[dg] == states[torch]
    assert all(device == "meta" for *_, device in states[dg])
    np.testing.assert_array_equal(draws[dg], draws[torch])
    # A loss's given weight stays where it was (only what the layer builds is meta).
    for m in (dg, torch):
        weight = m.ones(3)
        with m.device("meta"):
            loss = m.nn.CrossEntropyLoss(weight=weight)
        assert loss.weight.device.type == "cpu"


# ---------------------------------------------------------------------------------------------
# 3. Ops whose public functions read values.


def _ops(m, x, i, j):
    f = m.nn.functional
    return [x.max(dim=1)[0], x.max(dim=1)[1], x.min(1).values, x.sort(1)[0], x.sort(1)[1],
            x.topk(2)[0], x.topk(2, largest=False)[1], f.dropout(x, 0.5), x.isinf().any(),
            x.isnan().all(), (x > 0).any(1), x.gather(1, i), x.index_select(1, j), x.cumsum(1),
            x.argmax(), x.argmin(1), m.where(x > 0, x, 0.0), x.masked_fill(x > 0, 1.0),
            m.cat([x, x]), f.embedding(j, x.t()), x.median(1)[0], x.kthvalue(1, 1)[0],
            x.cummax(1)[0], x.argsort(1), x.scatter(1, i, 1.0), x.index_add(1, j, x[:, :2]),
            m.take_along_dim(x, i, 1), f.nll_loss(x, j), f.one_hot(j, 3), x[0].diag(),
            x.logsumexp(1), f.dropout1d(x, 0.3), m.nn.Dropout(0.1)(x), x.quantile(0.5, 1),
            f.cross_entropy(x, j), m.complex(x, x), x.index_put((j,), m.zeros(3)),
            m.nn.Conv1d(2, 2, 1, device="meta")(x[None]),
            m.nn.LSTM(3, 4, device="meta")(x[None])[0],
            m.nn.BatchNorm1d(3, device="meta")(x), x[j], x[:, j], x[j, j]]


def test_value_reading_ops_on_meta():
    results = {}
    for m in (dg, torch):
        m.manual_seed(1)
        x = m.randn(2, 3, device="meta", requires_grad=True)
        i = m.zeros(2, 1, dtype=m.int64, device="meta")
        j = m.zeros(2, dtype=m.int64, device="meta")
        results[m] = _ops(m, x, i, j)
        results[m, "draw"] = m.rand(2).numpy()  # (dropout on meta draws nothing)
    for ours, theirs in zip(results[dg], results[torch], strict=True):
        _same(ours, theirs)
    np.testing.assert_array_equal(results[dg, "draw"], results[torch, "draw"])
    for m in (dg, torch):
        with pytest.raises(RuntimeError):
            bool(m.randn(2, device="meta").isinf().any())
        with pytest.raises(NotImplementedError):
            m.randn(2, 3, device="meta").nonzero()
        x = m.randn(2, 3, device="meta")
        with pytest.raises(NotImplementedError):
            x[x > 0]  # (a mask: the result's shape depends on values)
        with pytest.raises(RuntimeError):
            x[m.tensor(1, device="meta")]  # (a 0-d index is a value)


def test_writing_meta_values_into_an_array_raises():
    from deltagrad._engine.meta import MetaArray

    with pytest.raises(NotImplementedError):
        np.add.at(np.zeros(3), [0], MetaArray((1,), np.float64))
    with pytest.raises(NotImplementedError):
        np.multiply(MetaArray((3,), np.float64), 2.0, out=np.zeros(3))


# ---------------------------------------------------------------------------------------------
# 4. Backward through a meta graph; 5. to("meta") of a tensor that requires grad.


def _losses(m):
    f = m.nn.functional
    with m.device("meta"):
        linear, embedding, norm = m.nn.Linear(3, 2), m.nn.Embedding(5, 3), m.nn.LayerNorm(3)
        conv, lstm = m.nn.Conv1d(3, 2, 2), m.nn.LSTM(3, 2)
        x, index = m.randn(4, 3), m.zeros(4, dtype=m.int64)
    params = [*linear.parameters(), *embedding.parameters(), *norm.parameters(),
              *conv.parameters(), *lstm.parameters()]
    loss = (f.cross_entropy(linear(x), index % 2) + norm(embedding(index)).pow(2).mean()
            + conv(x.t()[None]).relu().sum() + lstm(x[:, None])[0].tanh().mean()
            + linear.weight.max(dim=1)[0].sum() + linear.weight.sort(1)[0].sum()
            + embedding.weight.index_select(0, index).sum() + f.dropout(linear(x), 0.2).sum()
            + x[index[:2]].sum() + x[:, index[:2]].exp().sum())
    return loss, params


def test_backward_through_a_meta_graph():
    grads = {}
    for m in (dg, torch):
        loss, params = _losses(m)
        assert loss.is_meta
        loss.backward()
        loss, _ = _losses(m)
        grads[m] = [(tuple(p.grad.shape), _name(p.grad.dtype), p.grad.device.type)
                    for p in params]
    assert grads[dg] == grads[torch]
    assert {device for *_, device in grads[dg]} == {"meta"}


def test_grad_and_accumulation_on_meta():
    for m in (dg, torch):
        x = m.randn(2, 3, device="meta", requires_grad=True)
        (g,) = m.autograd.grad(x.t().reshape(6)[1:].sum(), x)
        assert g.is_meta and tuple(g.shape) == (2, 3)
        y = x * 3
        y.retain_grad()
        y.sum().backward(retain_graph=True)
        y.exp().sum().backward()
        assert x.grad.is_meta and y.grad.is_meta and tuple(x.grad.shape) == (2, 3)
        (x * 2).backward(m.ones(2, 3, device="meta"))
        x[:, m.zeros(2, dtype=m.int64, device="meta")].sum().backward()
        assert x.grad.is_meta and tuple(x.grad.shape) == (2, 3)


def test_to_meta_records_a_copy():
    for m in (dg, torch):
        p = m.nn.Parameter(m.ones(2, 3))
        moved = p.to("meta")
        assert moved.is_meta and not moved.is_leaf and moved.requires_grad
        assert moved.grad_fn.name() == "ToCopyBackward0"
        with m.no_grad():
            assert p.to("meta").is_leaf
        assert m.ones(2).to("meta").is_leaf
        with pytest.raises(NotImplementedError):
            moved.sum().backward()  # (a meta gradient cannot reach a tensor with values)
        assert p.grad is None
