"""The leaf-gradient half of the sweep moved to ``_engine/leaf_grads.py`` (session 23, EO4).

``autograd`` re-exports its names, and callers mutate the shared containers through either
module (capture.py clears ``_autograd._stored``; autograd_switches fills
``post_accumulate_hooks`` imported from ``autograd``; the sweep reads both from
``leaf_grads``): they must stay one object each, never a copy or a rebinding.
"""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import autograd, leaf_grads
from deltagrad._engine.api import autograd_switches, backward

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name", ["_stored", "post_accumulate_hooks", "_accumulate_leaf",
                                  "_finish_leaves", "_own", "_retained", "_node_hooks"])
def test_autograd_reexports_the_same_objects(name):
    assert getattr(autograd, name) is getattr(leaf_grads, name)


def test_callers_share_the_containers():
    assert autograd_switches.post_accumulate_hooks is leaf_grads.post_accumulate_hooks
    assert backward.post_accumulate_hooks is leaf_grads.post_accumulate_hooks
    assert backward._accumulate_leaf is leaf_grads._accumulate_leaf


def _run(lib):
    """Two backwards into the same leaves (accumulation), a post-accumulate hook on one leaf, a
    hook and retain_grad on a non-leaf: the calls and gradients, to compare with PyTorch."""
    gen = np.random.default_rng(23)
    x = lib.tensor(gen.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    w = lib.tensor(gen.standard_normal(4).astype(np.float32), requires_grad=True)
    calls = []
    w.register_post_accumulate_grad_hook(lambda p: calls.append(("post", p.grad.sum().item())))
    for _ in range(2):
        h = x * w
        h.retain_grad()
        h.register_hook(lambda g: calls.append(("hook", g.sum().item())) or g * 2)
        (h.tanh() * w).sum().backward()
    return x.grad.numpy(), w.grad.numpy(), h.grad.numpy(), calls


def test_accumulation_and_hooks_as_pytorch():
    ours, theirs = _run(dg), _run(torch)
    for a, b in zip(ours[:3], theirs[:3]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    assert [c[0] for c in ours[3]] == [c[0] for c in theirs[3]]
    np.testing.assert_allclose([c[1] for c in ours[3]], [c[1] for c in theirs[3]], rtol=1e-5)
