"""deltagrad.nn.utils: gradient clipping on dense and row-sparse gradients."""

import math

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad._engine.sparse import RowSparseGrad
from deltagrad.nn.utils import clip_grad_norm_, clip_grad_value_


def _params_with_grads(grads):
    params = []
    for g in grads:
        p = dg.tensor(np.zeros_like(g), requires_grad=True)
        p.grad = dg.tensor(g.copy())
        params.append(p)
    return params


GRADS = [np.random.default_rng(0).standard_normal(s).astype(np.float32) for s in
         [(4, 3), (3,), (2, 2, 2)]]


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    torch = pytest.importorskip("torch")
    ours = _params_with_grads(GRADS)
    theirs = [torch.zeros(g.shape, requires_grad=True) for g in GRADS]
    for t, g in zip(theirs, GRADS):
        t.grad = torch.tensor(g.copy())
    total = clip_grad_norm_(ours, max_norm, norm_type)
    ref = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(total, dg.Tensor) and total.dtype == dg.float32 and total.ndim == 0
    np.testing.assert_allclose(total.item(), ref.item(), rtol=1e-6)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad._data, t.grad.numpy(), rtol=1e-6, atol=1e-8)


def test_clip_grad_norm_formula_and_in_place():
    params = _params_with_grads(GRADS)
    arrays = [p.grad._data for p in params]
    total = clip_grad_norm_(params, 1.0)
    expected = math.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in GRADS))
    assert total.item() == pytest.approx(expected, rel=1e-6)
    coef = 1.0 / (expected + 1e-6)
    for p, a, g in zip(params, arrays, GRADS):
        assert p.grad._data is a
        np.testing.assert_allclose(a, g * coef, rtol=1e-6)
    single = _params_with_grads(GRADS[:1])[0]
    assert clip_grad_norm_(single, 1e9).item() == pytest.approx(np.linalg.norm(GRADS[0]))
    np.testing.assert_array_equal(single.grad._data, GRADS[0])  # coefficient clamped to 1


def test_clip_grad_norm_edge_cases():
    assert clip_grad_norm_([dg.zeros(2, requires_grad=True)], 1.0).item() == 0.0
    bad = _params_with_grads([np.array([1.0, np.inf], dtype=np.float32)])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(bad, 1.0, error_if_nonfinite=True)
    assert math.isinf(clip_grad_norm_(bad, 1.0).item())


def _sparse_and_dense_embeddings():
    grads = []
    for sparse in (True, False):
        emb = nn.Embedding(10, 3, sparse=sparse, generator=dg.Generator(0))
        layer = nn.Linear(3, 2, generator=dg.Generator(1))
        ids = dg.tensor([[1, 4, 4], [4, 9, 1]])  # rows 1 and 4 repeat: partial gradients
        out = layer(emb(ids))
        (out * out).sum().backward()
        grads.append((emb, layer))
    return grads


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grad_norm_sparse_equals_dense(norm_type):
    (s_emb, s_layer), (d_emb, d_layer) = _sparse_and_dense_embeddings()
    sparse_grad = s_emb.weight.grad
    assert sparse_grad.is_sparse and isinstance(sparse_grad._data, RowSparseGrad)
    assert sparse_grad._nnz() == 6
    total_sparse = clip_grad_norm_(list(s_emb.parameters()) + list(s_layer.parameters()), 0.1,
                                   norm_type)
    total_dense = clip_grad_norm_(list(d_emb.parameters()) + list(d_layer.parameters()), 0.1,
                                  norm_type)
    np.testing.assert_allclose(total_sparse.item(), total_dense.item(), rtol=1e-6)
    assert s_emb.weight.grad is sparse_grad  # modified in place, and now coalesced
    np.testing.assert_array_equal(sparse_grad.indices().numpy(), [[1, 4, 9]])
    assert sparse_grad.coalesce() is sparse_grad  # marked so: the optimizer does not sort again
    np.testing.assert_allclose(sparse_grad.to_dense(), d_emb.weight.grad._data, rtol=1e-6,
                               atol=1e-9)
    np.testing.assert_allclose(s_layer.weight.grad._data, d_layer.weight.grad._data, rtol=1e-6)


def test_clip_grad_norm_sparse_matches_torch():
    torch = pytest.importorskip("torch")
    (s_emb, s_layer), _ = _sparse_and_dense_embeddings()
    t_emb = torch.nn.Embedding(10, 3)
    t_layer = torch.nn.Linear(3, 2)
    with torch.no_grad():
        t_emb.weight.copy_(torch.tensor(s_emb.weight._data))
        t_layer.weight.copy_(torch.tensor(s_layer.weight._data))
        t_layer.bias.copy_(torch.tensor(s_layer.bias._data))
    out = t_layer(t_emb(torch.tensor([[1, 4, 4], [4, 9, 1]])))
    (out * out).sum().backward()
    params = list(s_emb.parameters()) + list(s_layer.parameters())
    total = clip_grad_norm_(params, 0.1)
    ref = torch.nn.utils.clip_grad_norm_(list(t_emb.parameters()) + list(t_layer.parameters()),
                                         0.1)
    np.testing.assert_allclose(total.item(), ref.item(), rtol=1e-5)
    np.testing.assert_allclose(s_emb.weight.grad.to_dense(), t_emb.weight.grad.numpy(),
                               rtol=1e-5, atol=1e-8)


def test_clip_grad_value_dense_and_sparse():
    params = _params_with_grads([np.array([-3.0, 0.2, 5.0], dtype=np.float32)])
    clip_grad_value_(params, 1.0)
    np.testing.assert_array_equal(params[0].grad._data, np.float32([-1.0, 0.2, 1.0]))
    # Two partial gradients of 0.6 for row 2 sum to 1.2, which is clipped to 1.0 (clipping each
    # partial gradient first would leave 1.2).
    p = dg.zeros(4, 1, requires_grad=True)
    p.grad = RowSparseGrad(np.array([2, 0, 2]), np.array([[0.6], [-3.0], [0.6]], np.float32),
                           (4, 1))
    clip_grad_value_(p, 1.0)
    np.testing.assert_allclose(p.grad.to_dense(), [[-1.0], [0.0], [1.0], [0.0]])
    assert p.grad.coalesce() is p.grad
    # The sparse gradient Tensor backward makes is clipped the same way.
    emb = nn.Embedding(4, 1, sparse=True)
    (emb(dg.tensor([2, 0, 2])) * dg.tensor([[0.6], [-3.0], [0.6]])).sum().backward()
    clip_grad_value_(emb.parameters(), 1.0)
    np.testing.assert_allclose(emb.weight.grad.to_dense().numpy(), [[-1.0], [0.0], [1.0], [0.0]])
    assert emb.weight.grad.is_coalesced()


def test_clip_grad_value_matches_torch():
    torch = pytest.importorskip("torch")
    ours = _params_with_grads(GRADS)
    theirs = [torch.zeros(g.shape, requires_grad=True) for g in GRADS]
    for t, g in zip(theirs, GRADS):
        t.grad = torch.tensor(g.copy())
    clip_grad_value_(ours, 0.7)
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for p, t in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad._data, t.grad.numpy())
