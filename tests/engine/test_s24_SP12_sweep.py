"""Session 24 (SP12): the plain sweep's permute fold (``g.transpose`` of the inverse dims the
rule cached, without calling the rule) and the rules' attributes read only where a rule is
called. The plain sweep (``loss.backward()``) against the watched sweep (anomaly mode, which
calls every rule as written) bit for bit, and against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import autograd, versions
from deltagrad._engine.ops import shape as shape_ops

torch = pytest.importorskip("torch")


def _leaf(lib, value):
    return lib.from_numpy(value.copy()).requires_grad_(True)


# (input shape, how the view is taken): every public way to a permute node, tuple and list dims.
VIEWS = [
    ((3, 4), lambda t: t.t()),
    ((3, 4), lambda t: t.transpose(0, 1)),
    ((2, 3, 4), lambda t: t.transpose(-1, 0)),
    ((2, 3, 4), lambda t: t.permute(2, 0, 1)),
    ((2, 3, 4), lambda t: t.permute([1, 2, 0])),
    ((2, 3, 4, 5), lambda t: t.permute((3, 1, 0, 2))),
    ((2, 3, 4), lambda t: t.movedim(0, -1)),
    ((2, 3, 4), lambda t: t.mT),
]


def _build(lib, leaves, view):
    x, w = leaves
    # the permuted gradient reaches x through a product, a reshape and a fan-out
    y = view(x * w)
    return (y.reshape(-1) * y.reshape(-1)).sum() + (view(x) * 3.0).sum()


@pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled")
@pytest.mark.parametrize("case", range(len(VIEWS)))
def test_permute_fold_matches_the_rule_bit_for_bit_and_torch(case):
    shape, view = VIEWS[case]
    rng = np.random.default_rng(case)
    values = [rng.standard_normal(shape).astype(np.float32) for _ in range(2)]
    shape_ops._INVERSE.clear()  # the first backward calls the rule (nothing cached yet)
    grads = []
    for mode in ("first", "folded", "watched"):
        leaves = [_leaf(dg, v) for v in values]
        loss = _build(dg, leaves, view)
        if mode == "watched":
            with dg.autograd.detect_anomaly():  # the watched sweep: every rule called
                loss.backward()
        else:
            loss.backward()
        grads.append([leaf.grad.numpy() for leaf in leaves])
        if mode == "first":
            assert shape_ops._INVERSE  # the rule cached its inverse: the next sweep folds it
    for got in grads[1:]:
        for a, b in zip(got, grads[0]):
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_array_equal(a, b)
    reference = [_leaf(torch, v) for v in values]
    _build(torch, reference, view).backward()
    for got, want in zip(grads[1], reference):
        np.testing.assert_allclose(got, want.grad.numpy(), rtol=1e-6, atol=1e-6)
        assert got.flags.c_contiguous  # the leaf's layout, as PyTorch's AccumulateGrad


def test_permute_fold_is_taken_once_the_inverse_is_cached(monkeypatch):
    # With the inverse cached the plain sweep must not call the rule; without it, it must.
    calls = []
    rule = autograd._PERMUTE.vjp

    def counting(*args, **kwargs):
        calls.append(kwargs["dims"])
        return rule(*args, **kwargs)

    # (versions caches which saved values a rule reads by analysing the rule's code: keep the
    # real rule's analysis there, or permute nodes would pack what `counting` reads)
    monkeypatch.setitem(versions._reads_of, autograd._PERMUTE, versions._reads(autograd._PERMUTE))
    monkeypatch.setattr(autograd._PERMUTE, "vjp", counting)
    x = dg.randn(2, 3, 4, requires_grad=True)
    shape_ops._INVERSE.clear()
    x.permute(1, 2, 0).sum().backward()
    assert calls == [(1, 2, 0)]
    x.permute(1, 2, 0).sum().backward()
    assert calls == [(1, 2, 0)]  # folded
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3, 4), 2.0, np.float32))


def test_fold_keeps_hooks_retain_grad_and_retain_graph():
    # A hooked permute node, retain_grad on it and a second backward through a retained graph.
    x = dg.randn(3, 4, requires_grad=True)
    tx = torch.from_numpy(x.detach().numpy().copy()).requires_grad_(True)
    got = []
    for leaf in (x, tx):
        y = leaf.t()
        y.retain_grad()
        y.register_hook(lambda g: g * 2.0)
        loss = (y * y).sum()
        loss.backward(retain_graph=True)
        loss.backward()
        got.append((leaf.grad.numpy(), y.grad.numpy()))
    for a, b in zip(*got):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def _leaf_graph(leaves):
    # Leaves used once, twice and three times, through broadcasts, a diamond and a permute;
    # ``b`` carries a tensor hook and ``s`` a post-accumulate hook (both run in the sweep).
    w, b, s, t, u = leaves
    h = (u @ w + b).tanh()
    z = (h - h.mean(dim=1, keepdim=True)) * s + t
    z = z + (z * s).t().t() + u * t
    return (z * z).sum() + (w * w).sum()


def _leaf_values():
    rng = np.random.default_rng(7)
    return [rng.standard_normal(shape).astype(np.float32)
            for shape in ((4, 4), (4,), (4,), (4,), (3, 4))]


@pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled")
def test_leaves_listed_where_found_keep_their_gradients_and_hooks():
    # The count lists deferred leaves where it finds them (not as it visits them): the same
    # gradients as the watched sweep, bit for bit, and PyTorch's; hooks still run, once.
    results = []
    for mode in ("plain", "watched", "torch"):
        lib = torch if mode == "torch" else dg
        leaves = [_leaf(lib, v) for v in _leaf_values()]
        seen = []
        leaves[1].register_hook(lambda g: g * 2.0)
        leaves[2].register_post_accumulate_grad_hook(
            lambda p, seen=seen: seen.append(p.grad.sum().item()))
        loss = _leaf_graph(leaves)
        if mode == "watched":
            with dg.autograd.detect_anomaly():
                loss.backward()
        else:
            loss.backward()
        results.append(([leaf.grad.numpy() for leaf in leaves], seen))
    (plain, plain_seen), (watched, watched_seen), (want, want_seen) = results
    for a, b, c in zip(plain, watched, want):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-5)
    assert len(plain_seen) == len(watched_seen) == len(want_seen) == 1
    np.testing.assert_allclose(plain_seen, want_seen, rtol=1e-5)


def test_leaf_root_and_a_leaf_reached_twice_accumulate():
    # A leaf that is the root, and a second backward accumulating into the same leaves.
    x = dg.ones(3, requires_grad=True)
    x.sum().backward()
    (x * x + x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.array([4.0, 4.0, 4.0], np.float32))
    y = dg.tensor(2.0, requires_grad=True)
    y.backward()
    y.backward()
    assert y.grad.item() == 2.0
