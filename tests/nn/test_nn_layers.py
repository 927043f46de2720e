"""deltagrad.nn layers: Linear, Embedding, Dropout, activations and loss modules."""

import math

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad._engine.sparse import RowSparseGrad


def _torch():
    return pytest.importorskip("torch")


# ----------------------------------------------------------------------------------------------
# Linear.


def test_linear_init_is_pytorchs_uniform():
    layer = nn.Linear(400, 300, generator=dg.Generator(0))
    bound = 1 / math.sqrt(400)
    w, b = layer.weight._data, layer.bias._data
    assert w.shape == (300, 400) and b.shape == (300,) and w.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.mean()) < 0.01 * bound
    assert w.var() == pytest.approx(bound**2 / 3, rel=0.02)  # variance of U(-b, b)
    assert b.min() < -0.8 * bound and b.max() > 0.8 * bound


def test_linear_init_follows_the_seed():
    dg.manual_seed(3)
    a = nn.Linear(5, 4)
    dg.manual_seed(3)
    b = nn.Linear(5, 4)
    np.testing.assert_array_equal(a.weight._data, b.weight._data)
    np.testing.assert_array_equal(a.bias._data, b.bias._data)
    c = nn.Linear(5, 4, generator=dg.Generator(3))
    d = nn.Linear(5, 4, generator=dg.Generator(3))
    np.testing.assert_array_equal(c.weight._data, d.weight._data)


def test_linear_forward_backward_match_torch():
    torch = _torch()
    ours = nn.Linear(5, 3, dtype=np.float64)
    theirs = torch.nn.Linear(5, 3, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight._data))
        theirs.bias.copy_(torch.tensor(ours.bias._data))
    x = np.random.default_rng(0).standard_normal((2, 4, 5))
    out, ref = ours(dg.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(out._data, ref.detach().numpy(), rtol=1e-12)
    (out * out).sum().backward()
    (ref * ref).sum().backward()
    np.testing.assert_allclose(ours.weight.grad._data, theirs.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.bias.grad._data, theirs.bias.grad.numpy(), rtol=1e-10)


def test_linear_without_bias_and_repr():
    layer = nn.Linear(3, 2, bias=False)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    assert repr(layer) == "Linear(in_features=3, out_features=2, bias=False)"
    assert layer(dg.ones(3)).shape == (2,)
    with pytest.raises(TypeError, match="floating-point"):
        nn.Linear(2, 2, dtype=np.int64)


# ----------------------------------------------------------------------------------------------
# Embedding.


def test_embedding_init_and_padding_row():
    emb = nn.Embedding(2000, 50, padding_idx=-1, generator=dg.Generator(0))
    w = emb.weight._data
    assert emb.padding_idx == 1999 and not w[1999].any()
    assert abs(w[:-1].mean()) < 0.01 and w[:-1].std() == pytest.approx(1.0, rel=0.01)
    assert repr(emb) == "Embedding(2000, 50, padding_idx=1999)"
    with pytest.raises(AssertionError, match="Padding_idx"):  # (PyTorch's class and words)
        nn.Embedding(5, 2, padding_idx=5)


def test_padding_row_gets_no_gradient():
    for sparse in (False, True):
        emb = nn.Embedding(6, 3, padding_idx=0, sparse=sparse)
        out = emb(dg.tensor([[0, 2, 0], [2, 5, 1]]))
        (out * dg.randn(*out.shape)).sum().backward()
        grad = emb.weight.grad
        dense = grad.to_dense() if sparse else grad._data
        assert not dense[0].any() and dense[2].any() and dense[5].any()
        assert not dense[3].any()


def test_from_pretrained_frozen_stays_frozen():
    vectors = dg.randn(7, 4)
    emb = nn.Embedding.from_pretrained(vectors)
    assert not emb.weight.requires_grad and emb.weight._data is vectors._data
    assert isinstance(emb.weight, nn.Parameter)
    layer = nn.Linear(4, 2)
    layer(emb(dg.tensor([1, 3]))).sum().backward()
    assert emb.weight.grad is None and layer.weight.grad is not None
    np.testing.assert_array_equal(emb.weight._data, vectors._data)


def test_from_pretrained_fine_tuned_learns_and_keeps_given_padding_row():
    vectors = np.arange(12.0, dtype=np.float32).reshape(4, 3)
    emb = nn.Embedding.from_pretrained(vectors, freeze=False, padding_idx=0)
    assert emb.weight.requires_grad
    np.testing.assert_array_equal(emb.weight._data[0], [0, 1, 2])  # not zeroed
    emb(dg.tensor([0, 1])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad._data[:2], [[0, 0, 0], [1, 1, 1]])
    with pytest.raises(ValueError, match="2-D"):
        nn.Embedding.from_pretrained(np.zeros(3))


def _train(sparse, steps=5, lr=0.5):
    """A few hand-written SGD steps on a tiny bag-of-embeddings classifier (float64)."""
    emb = nn.Embedding(8, 3, padding_idx=0, sparse=sparse, dtype=np.float64,
                       generator=dg.Generator(1))
    head = nn.Linear(3, 2, dtype=np.float64, generator=dg.Generator(2))
    ids = dg.tensor([[1, 2, 2, 0], [3, 3, 3, 7], [2, 5, 0, 0]])
    target = dg.tensor([0, 1, 1])
    for _ in range(steps):
        loss = nn.functional.cross_entropy(head(emb(ids).mean(1)), target)
        emb.zero_grad()
        head.zero_grad()
        loss.backward()
        for p in list(emb.parameters()) + list(head.parameters()):
            g = p.grad
            if g.is_sparse:
                rows = g._data  # the sparse gradient Tensor's row storage
                np.subtract.at(p._data, rows.indices, lr * rows.values)
            else:
                p._data -= lr * g._data
    return emb.weight._data, head.weight._data


def test_sparse_and_dense_embedding_training_agree():
    dense_emb, dense_head = _train(sparse=False)
    sparse_emb, sparse_head = _train(sparse=True)
    np.testing.assert_allclose(sparse_emb, dense_emb, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sparse_head, dense_head, rtol=1e-12, atol=1e-14)
    initial, _ = _train(sparse=False, steps=0)
    assert not dense_emb[0].any()  # the padding row stays zero
    np.testing.assert_array_equal(sparse_emb[[4, 6]], initial[[4, 6]])  # rows never looked up
    assert not np.allclose(sparse_emb[[1, 2, 3, 5, 7]], initial[[1, 2, 3, 5, 7]])


def test_embedding_sparse_gradient_is_row_sparse():
    emb = nn.Embedding(1000, 4, sparse=True)
    emb(dg.tensor([5, 7, 5])).sum().backward()
    grad = emb.weight.grad
    assert isinstance(grad, dg.Tensor) and grad.is_sparse and grad._nnz() == 3
    assert isinstance(grad._data, RowSparseGrad)
    assert repr(emb) == "Embedding(1000, 4, sparse=True)"


def test_embedding_max_norm_module():
    emb = nn.Embedding(5, 3, max_norm=1.0)
    emb.weight._data[...] = 10.0
    out = emb(dg.tensor([1, 2]))
    np.testing.assert_allclose(np.linalg.norm(out._data, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(emb.weight._data[[1, 2]], axis=1), 1.0, rtol=1e-6)
    assert (emb.weight._data[[0, 3, 4]] == 10.0).all()


# ----------------------------------------------------------------------------------------------
# Dropout.


def test_dropout_module_train_and_eval():
    drop = nn.Dropout(0.25, generator=dg.Generator(0))
    x = dg.ones(100_000)
    y = drop(x)._data
    assert abs((y == 0).mean() - 0.25) < 0.01 and abs(y.mean() - 1) < 0.02
    drop.eval()
    assert drop(x) is x
    assert repr(drop) == "Dropout(p=0.25, inplace=False)"
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(2.0)


def test_dropout_in_a_model_follows_model_mode():
    net = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    x = dg.ones(64, 4)
    net.eval()
    np.testing.assert_array_equal(net(x)._data, net(x)._data)
    net.train()
    assert not np.array_equal(net(x)._data, net(x)._data)


# ----------------------------------------------------------------------------------------------
# Activations, shape helpers and losses as modules.


def test_activation_modules_match_functional_and_torch():
    torch = _torch()
    x = np.random.default_rng(0).uniform(-3, 3, (4, 5))
    pairs = [
        (nn.ReLU(), torch.nn.ReLU()), (nn.Tanh(), torch.nn.Tanh()),
        (nn.Sigmoid(), torch.nn.Sigmoid()), (nn.Hardtanh(-2, 0.5), torch.nn.Hardtanh(-2, 0.5)),
        (nn.LeakyReLU(0.3), torch.nn.LeakyReLU(0.3)), (nn.GELU(), torch.nn.GELU()),
        (nn.GELU("tanh"), torch.nn.GELU("tanh")), (nn.Softmax(dim=0), torch.nn.Softmax(dim=0)),
        (nn.LogSoftmax(dim=1), torch.nn.LogSoftmax(dim=1)), (nn.Identity(), torch.nn.Identity()),
        (nn.Flatten(0), torch.nn.Flatten(0)),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours(dg.tensor(x))._data, theirs(torch.tensor(x)).numpy(),
                                   rtol=1e-12, atol=1e-15, err_msg=repr(ours))
        assert repr(ours) == repr(theirs)


def test_activation_argument_checks():
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")
    with pytest.raises(AssertionError, match="min_val"):  # (PyTorch's constructor asserts)
        nn.Hardtanh(1.0, -1.0)


def test_flatten():
    assert nn.Flatten()(dg.zeros(2, 3, 4)).shape == (2, 12)
    assert nn.Flatten(0, 1)(dg.zeros(2, 3, 4)).shape == (6, 4)


def test_loss_modules_match_functional():
    rng = np.random.default_rng(0)
    x, t = dg.tensor(rng.standard_normal((6, 3))), dg.tensor(rng.integers(0, 3, 6))
    weight = dg.tensor([1.0, 2.0, 0.5], dtype=np.float64)
    f = nn.functional
    module = nn.CrossEntropyLoss(weight=weight, ignore_index=1, label_smoothing=0.1)
    assert module(x, t).item() == f.cross_entropy(x, t, weight, ignore_index=1,
                                                        label_smoothing=0.1).item()
    assert repr(module) == "CrossEntropyLoss()"  # PyTorch's losses print no options
    assert list(module.state_dict()) == ["weight"]
    log_p = f.log_softmax(x, 1)
    assert nn.NLLLoss(reduction="sum")(log_p, t).item() == f.nll_loss(log_p, t,
                                                                       reduction="sum").item()
    y = dg.tensor(rng.uniform(size=(6, 3)))
    assert nn.MSELoss()(x, y).item() == f.mse_loss(x, y).item()
    bce = nn.BCEWithLogitsLoss(pos_weight=[1.0, 2.0, 3.0], reduction="none")
    np.testing.assert_array_equal(
        bce(x, y)._data, f.binary_cross_entropy_with_logits(
            x, y, reduction="none", pos_weight=dg.tensor([1.0, 2.0, 3.0]))._data)
    assert repr(bce) == "BCEWithLogitsLoss()"
    assert list(bce.state_dict()) == ["pos_weight"]
