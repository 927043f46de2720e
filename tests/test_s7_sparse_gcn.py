"""A two-layer graph convolution network (Kipf and Welling) on a random graph, its normalized
adjacency a sparse COO tensor, trains in deltagrad and in PyTorch to the same losses."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks")

NODES, FEATURES, HIDDEN, CLASSES, EDGES = 80, 12, 16, 4, 240


def graph():
    """Undirected random edges (repeats kept: the sparse tensor sums them), features, labels."""
    rng = np.random.default_rng(7)
    src, dst = rng.integers(0, NODES, EDGES), rng.integers(0, NODES, EDGES)
    keep = src != dst
    edges = np.stack([np.concatenate([src[keep], dst[keep]]),
                      np.concatenate([dst[keep], src[keep]])])
    features = rng.standard_normal((NODES, FEATURES)).astype(np.float32)
    labels = rng.integers(0, CLASSES, NODES)
    return edges, features, labels


def normalized_adjacency(m, edges):
    """D^-1/2 (A + I) D^-1/2 as a coalesced sparse tensor, built with m's sparse API."""
    adjacency = m.sparse_coo_tensor(m.tensor(edges), m.ones(edges.shape[1]), (NODES, NODES))
    adjacency = (adjacency.coalesce() + m.eye(NODES).to_sparse()).coalesce()
    degree = m.sparse.sum(adjacency, 1).to_dense()
    scale = degree.pow(-0.5)
    rows, columns = adjacency.indices()
    values = scale[rows] * adjacency.values() * scale[columns]
    return m.sparse_coo_tensor(adjacency.indices(), values, (NODES, NODES)).coalesce()


def train(m, steps=40):
    """Full-batch training of a 2-layer GCN; the losses and the final output."""
    edges, features, labels = graph()
    m.manual_seed(0)
    first, second = m.nn.Linear(FEATURES, HIDDEN), m.nn.Linear(HIDDEN, CLASSES)
    parameters = list(first.parameters()) + list(second.parameters())
    optimizer = m.optim.Adam(parameters, lr=0.01, weight_decay=5e-4)
    adjacency = normalized_adjacency(m, edges)
    x, y = m.tensor(features), m.tensor(labels)
    train_mask = m.arange(NODES) < NODES // 2
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        hidden = m.relu(m.sparse.mm(adjacency, first(x)))
        logits = adjacency @ second(hidden)  # (the other spelling of the product)
        loss = m.nn.functional.cross_entropy(logits[train_mask], y[train_mask])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return np.array(losses), logits.detach().numpy(), first.weight.grad.numpy()


def test_adjacency_is_the_same():
    edges, _, _ = graph()
    ours, theirs = normalized_adjacency(dg, edges), normalized_adjacency(torch, edges)
    np.testing.assert_array_equal(ours.indices().numpy(), theirs.indices().numpy())
    np.testing.assert_allclose(ours.values().numpy(), theirs.values().numpy(), rtol=1e-6)
    assert ours.is_coalesced() and ours.dtype == dg.float32


def test_gcn_trains_to_the_same_losses():
    ours, theirs = train(dg), train(torch)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=2e-5)
    assert ours[0][-1] < 0.8 * ours[0][0]  # it learns
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-4, atol=1e-6)
