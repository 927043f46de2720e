"""Meta tensors (``device("meta")``: shape, dtype and autograd, no data) against PyTorch's."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _name(dtype) -> str:
    return str(dtype).split(".")[-1]


def _same(ours, theirs) -> None:
    """Both meta tensors of one shape and dtype (and requires_grad / leafness)."""
    assert ours.device.type == theirs.device.type == "meta"
    assert ours.is_meta and theirs.is_meta
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert _name(ours.dtype) == _name(theirs.dtype)
    assert ours.requires_grad == theirs.requires_grad
    assert (ours.grad_fn is None) == (theirs.grad_fn is None)


FACTORIES = [
    lambda m, d: m.empty(2, 3, device=d),
    lambda m, d: m.zeros((4,), dtype=m.float64, device=d),
    lambda m, d: m.ones(size=(2, 1), dtype=m.int32, device=d),
    lambda m, d: m.full((2, 2), 7, device=d),
    lambda m, d: m.full((3,), 1.5, device=d),
    lambda m, d: m.randn(3, 2, device=d, requires_grad=True),
    lambda m, d: m.rand(5, device=d),
    lambda m, d: m.randint(0, 10, (2, 3), device=d),
    lambda m, d: m.randint(5, (4,), dtype=m.int16, device=d),
    lambda m, d: m.arange(6, device=d),
    lambda m, d: m.arange(0.0, 1.0, 0.25, device=d),
    lambda m, d: m.linspace(0, 1, 5, device=d),
    lambda m, d: m.eye(3, device=d),
    lambda m, d: m.tensor([[1, 2], [3, 4]], device=d),
    lambda m, d: m.tensor(2.5, device=d),
    lambda m, d: m.zeros_like(m.ones(2, 2), device=d),
    lambda m, d: m.full_like(m.ones(3, dtype=m.int64), 2, dtype=m.float64, device=d),
    lambda m, d: m.empty(0, 3, device=d),
    lambda m, d: m.randperm(5, device=d),
]


@pytest.mark.parametrize("make", FACTORIES)
def test_factories_on_meta(make):
    _same(make(dg, "meta"), make(torch, "meta"))
    _same(make(dg, dg.device("meta")), make(torch, torch.device("meta")))


def test_default_device_and_context():
    for m in (dg, torch):
        with m.device("meta"):
            assert m.zeros(2).is_meta and m.tensor([1.0]).is_meta
            assert m.get_default_device().type == "meta"
        assert not m.zeros(2).is_meta and m.get_default_device().type == "cpu"
        m.set_default_device("meta")
        try:
            assert m.ones(3).device.type == "meta"
        finally:
            m.set_default_device(None)  # (torch: "cpu" leaves a device mode on)
        assert m.ones(3).device.type == "cpu"


def test_modules_built_on_meta_draw_nothing():
    """Layers built under device("meta") hold meta parameters, draw no random numbers (the next
    draw is PyTorch's), and nn.init leaves meta tensors alone."""
    draws = {}
    for m in (dg, torch):
        m.manual_seed(0)
        with m.device("meta"):
            layers = [m.nn.Linear(4, 3), m.nn.Embedding(10, 4), m.nn.LayerNorm(4),
                      m.nn.Conv2d(2, 3, 3)]
        for layer in layers:
            for p in layer.parameters():
                assert p.is_meta and p.requires_grad and isinstance(p, m.nn.Parameter)
        weight = layers[0].weight
        assert m.nn.init.normal_(weight) is weight and weight.is_meta
        m.nn.init.kaiming_uniform_(weight, a=5 ** 0.5)
        draws[m] = m.randn(3).numpy()
    np.testing.assert_array_equal(draws[dg], draws[torch])


def _ops(m, x, w, i):
    """Ops on meta tensors whose results PyTorch gives as meta tensors."""
    f = m.nn.functional
    return [x + 1, x * w[:, 0], (x @ w).relu(), x.sum(1), x.mean(dim=0, keepdim=True),
            x.double() * 2, x > 0, x.to(m.int64) + 3, x.reshape(3, 2).t(), x[:, 1:],
            x.unsqueeze(0).expand(4, 2, 3), m.cat([x, x], 1), m.stack([x, x]),
            m.where(x > 0, x, 0.0), f.softmax(x, -1), f.layer_norm(x, (3,)),
            f.linear(x, w.t()), f.embedding(i, w), x.transpose(0, 1).contiguous(),
            (x * 2).exp().log1p().tanh(), x.argmax(1), m.tril(x), x.float().pow(2).sqrt(),
            x.view(-1), x.masked_fill(x > 0, 1.0), x.cumsum(1), x.var(1), f.gelu(x),
            f.cross_entropy(x, i[:2, 0]), x.repeat(2, 1), x.chunk(3, 1)[0], x.amax(1),
            x.norm(), f.scaled_dot_product_attention(x[None], x[None], x[None]),
            x.clamp(0, 1), m.einsum("ij,jk->ik", x, w), m.bmm(x[None], w[None]),
            1.0 / (10000 ** (m.arange(0, 4, 2, dtype=m.int64, device="meta").float() / 4)),
            m.triu(m.ones(3, 3, device="meta"), diagonal=1)]


def test_ops_on_meta_match_shapes_and_dtypes():
    results = {}
    for m in (dg, torch):
        x = m.randn(2, 3, device="meta", requires_grad=True)
        w = m.empty(3, 2, device="meta")
        i = m.zeros(4, 5, dtype=m.int64, device="meta")
        results[m] = _ops(m, x, w, i)
    assert len(results[dg]) == len(results[torch])
    for ours, theirs in zip(results[dg], results[torch]):
        _same(ours, theirs)


def test_values_are_refused():
    for m in (dg, torch):
        x = m.empty(2, 3, device="meta")
        one = m.empty((), device="meta")
        with pytest.raises(NotImplementedError, match="no data"):
            x.tolist()
        with pytest.raises(TypeError):
            x.numpy()
        with pytest.raises(RuntimeError):
            one.item()
        with pytest.raises(RuntimeError):
            bool(one)
        with pytest.raises(NotImplementedError):
            x.to("cpu")
        with pytest.raises(NotImplementedError):
            m.zeros(2, 3).copy_(x)  # meta into values
        with pytest.raises(NotImplementedError):
            x.nonzero()  # (the result's shape depends on the values)
        assert x.copy_(m.ones(2, 3)) is x and x.is_meta  # values into meta: stores nothing
    with pytest.raises(TypeError):
        np.asarray(dg.empty(2, device="meta"))


def test_repr():
    def text(m, make):
        return repr(make(m)).replace("torch.", "").replace("deltagrad.", "")

    for make in (lambda m: m.empty(2, 3, device="meta"),
                 lambda m: m.empty(2, dtype=m.int64, device="meta"),
                 lambda m: m.randn(2, 2, device="meta", requires_grad=True),
                 lambda m: m.randn(2, 2, device="meta", requires_grad=True) * 2,
                 lambda m: m.nn.Parameter(m.empty(2, device="meta"))):
        assert text(dg, make) == text(torch, make)


def test_to_meta_to_empty_and_assign():
    values = {}
    for m in (dg, torch):
        x = m.ones(2, 3)
        moved = x.to("meta")
        assert moved.is_meta and tuple(moved.shape) == (2, 3) and not x.is_meta
        assert x.to(m.device("meta"), m.float64).dtype == m.float64
        p = m.nn.Parameter(m.empty(4, device="meta"))
        assert p.is_meta and p.requires_grad
        with m.device("meta"):
            layer = m.nn.Linear(2, 2)
        layer.load_state_dict({"weight": m.ones(2, 2), "bias": m.zeros(2)})
        assert layer.weight.is_meta  # copying into meta tensors stores nothing
        layer.load_state_dict({"weight": m.ones(2, 2), "bias": m.zeros(2)}, assign=True)
        assert not layer.weight.is_meta
        values[m] = layer(m.ones(1, 2)).detach().numpy()
        with m.device("meta"):
            other = m.nn.Linear(3, 2)
        other.to_empty(device="cpu")
        assert other.weight.device.type == "cpu" and tuple(other.weight.shape) == (2, 3)
        m.nn.init.constant_(other.weight, 0.5)
        assert float(other.weight.detach().sum()) == 3.0
    np.testing.assert_array_equal(values[dg], values[torch])


def test_graph_recorded_on_meta():
    for m in (dg, torch):
        w = m.randn(3, 2, device="meta", requires_grad=True)
        y = (m.ones(4, 3, device="meta") @ w).tanh().sum()
        assert y.is_meta and y.requires_grad and not y.is_leaf
        assert y.grad_fn.name() == "SumBackward0"
