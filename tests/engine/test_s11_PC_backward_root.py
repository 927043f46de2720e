"""backward()'s one ready root, visited first without the heap (autograd._sweep's ``first``).

Each case runs the same program in deltagrad and PyTorch and compares every gradient, the
root's retained gradient and the order in which hooks fire: the root must be visited exactly
as a heap-popped node was (its hooks, retain_grad, a leaf root, a root whose inputs fan out).
"""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _pair(rng, shape):
    value = rng.standard_normal(shape).astype(np.float32)
    return (dg.tensor(value, requires_grad=True), torch.tensor(value, requires_grad=True))


def _close(ours, theirs):
    assert ours is not None and theirs is not None
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-6, atol=1e-6)


def _program_diamond(m, x, w):
    # The root's two inputs share x: after the root, the heap decides the order.
    h = x * w
    return (h.tanh() + h * 2.0).sum(dim=1)


def _program_chain(m, x, w):
    return (x * w).exp()


@pytest.mark.parametrize("program", [_program_diamond, _program_chain])
@pytest.mark.parametrize("retain", [False, True])
def test_root_first_matches_torch(program, retain):
    rng = np.random.default_rng(0)
    (x, tx), (w, tw) = _pair(rng, (3, 4)), _pair(rng, (3, 4))
    ours, theirs = program(dg, x, w), program(torch, tx, tw)
    if retain:
        ours.retain_grad()
        theirs.retain_grad()
    seed = rng.standard_normal(tuple(ours.shape)).astype(np.float32)
    ours.backward(dg.tensor(seed))
    theirs.backward(torch.tensor(seed))
    _close(x.grad, tx.grad)
    _close(w.grad, tw.grad)
    if retain:
        _close(ours.grad, theirs.grad)


def test_root_hook_runs_once_and_its_result_flows():
    rng = np.random.default_rng(1)
    (x, tx), _ = _pair(rng, (4,)), None
    calls = {"dg": 0, "torch": 0}

    def hook(name):
        def double(g):
            calls[name] += 1
            return g * 2
        return double

    ours, theirs = (x * 3.0).sin(), (tx * 3.0).sin()
    ours.register_hook(hook("dg"))
    theirs.register_hook(hook("torch"))
    ours.sum().backward()
    theirs.sum().backward()
    assert calls == {"dg": 1, "torch": 1}
    _close(x.grad, tx.grad)
    # The root itself hooked (not only an inner node): the hook sees the seed.
    calls.update(dg=0, torch=0)
    x.grad, tx.grad = None, None
    ours, theirs = (x * 3.0).sin().sum(), (tx * 3.0).sin().sum()
    ours.register_hook(hook("dg"))
    theirs.register_hook(hook("torch"))
    ours.backward()
    theirs.backward()
    assert calls == {"dg": 1, "torch": 1}
    _close(x.grad, tx.grad)


def test_leaf_root_with_and_without_hook():
    rng = np.random.default_rng(2)
    (x, tx) = _pair(rng, (2, 3))
    seed = rng.standard_normal((2, 3)).astype(np.float32)
    x.backward(dg.tensor(seed))
    tx.backward(torch.tensor(seed))
    _close(x.grad, tx.grad)
    seen = []
    x.register_hook(lambda g: seen.append("dg") or g * 3)
    tx.register_hook(lambda g: seen.append("torch") or g * 3)
    x.backward(dg.tensor(seed))
    tx.backward(torch.tensor(seed))
    assert sorted(seen) == ["dg", "torch"]
    _close(x.grad, tx.grad)


def test_retain_graph_twice_accumulates_and_freed_graph_raises():
    rng = np.random.default_rng(3)
    (x, tx) = _pair(rng, (5,))
    ours, theirs = (x * x).sum(), (tx * tx).sum()
    ours.backward(retain_graph=True)
    theirs.backward(retain_graph=True)
    ours.backward()
    theirs.backward()
    _close(x.grad, tx.grad)
    with pytest.raises(RuntimeError):
        theirs.backward()
    with pytest.raises(RuntimeError):
        ours.backward()
