"""s30 SP50: backward() of a one-node graph of three or more inputs over leaves (layer_norm
with weight and bias, where, lerp, cat / stack of three, linear with a bias) runs the node's
rule in one_node.sweep_one, without the count pass and the sweep's loop, as nodes of one or
two inputs did since s27 (SP36).

The fast path must give what the general sweep gives, bit for bit (values, dtypes, shapes,
strides of every leaf's .grad, the node freed or kept, the freed-node count, errors), on every
registered op's samples of three or more inputs; and PyTorch's gradients on common calls.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import test_s27_SP36_one_node as sp36  # (its sample runner: tests/engine)

import deltagrad as dg

autograd = importlib.import_module("deltagrad._engine.autograd")
one_node = importlib.import_module("deltagrad._engine.one_node")


@pytest.fixture(autouse=True)
def _plain_backward():
    """As SP36's: live post-accumulate hooks or rebound tensors left by earlier tests send
    every backward through the general sweep; set them aside here."""
    saved = [(table, table.copy()) for table in (autograd.post_accumulate_hooks,
                                                 autograd._rebound)]
    for table, _ in saved:
        table.clear()
    try:
        yield
    finally:
        for table, content in saved:
            table.update(content)


def _cases():
    for name in sorted(sp36.OPS):
        op = sp36.OPS[name]
        if op.samples is None:
            continue
        try:
            samples = op.samples(np.random.default_rng(1234))
        except Exception:
            continue
        for k, sample in enumerate(samples):
            if len(sample.args) > 2:
                yield name, k, op, sample


@pytest.mark.parametrize("mode", ["fresh", "accumulate", "retain"])
def test_registered_ops_of_three_or_more_inputs_give_the_general_sweeps_gradients(
        monkeypatch, mode):
    options = {"accumulate": mode == "accumulate", "retain": mode == "retain"}
    fast_calls = sp36._spy(monkeypatch)
    fast = {(name, k): sp36._run_sample(op, sample, k, **options)
            for name, k, op, sample in _cases()}
    taken = {node._op.name for node in fast_calls}
    assert len(fast_calls) > 15 and {"lerp", "stack", "cat", "layer_norm"} <= taken, taken
    monkeypatch.undo()
    sp36._general(monkeypatch)
    calls = sp36._spy(monkeypatch)
    general = {(name, k): sp36._run_sample(op, sample, k, **options)
               for name, k, op, sample in _cases()}
    assert not calls
    assert fast.keys() == general.keys() and len(fast) > 20
    for key, got in fast.items():
        assert got == general[key], key


def test_leaf_inputs_of_many():
    x, y, z = (dg.randn(3, requires_grad=True) for _ in range(3))
    c = dg.randn(3)
    assert one_node.leaf_inputs((x, y, z)) and one_node.leaf_inputs((c, y, z))
    assert not one_node.leaf_inputs((x, y, x))  # (a repeated input: the sweep sums)
    assert not one_node.leaf_inputs((c, c, dg.randn(3)))  # (nothing wants a gradient)
    assert not one_node.leaf_inputs((x * 2, y, z))  # (an input that is not a leaf)
    h = dg.randn(3, requires_grad=True)
    h.register_hook(lambda g: g)
    assert not one_node.leaf_inputs((h, y, z))
    assert one_node.leaf_inputs((x * 2, c, dg.randn(3), y)) is False
    assert one_node.leaf_inputs(((x * 2).detach(), c, dg.randn(3), y))


CALLS = {
    "layer_norm": (lambda m, x, w, b: m.nn.functional.layer_norm(x, (5,), w, b),
                   ((4, 5), (5,), (5,))),
    "lerp": (lambda m, x, y, w: m.lerp(x, y, w), ((4, 5), (4, 5), (5,))),
    "where": (lambda m, x, y, w: m.where(w > 0, x, y), ((4, 5), (5,), (4, 5))),
    "stack": (lambda m, x, y, w: m.stack([x, y, w], 1), ((4, 5), (4, 5), (4, 5))),
    "cat": (lambda m, x, y, w: m.cat([x, y, w], 0), ((4, 5), (2, 5), (1, 5))),
    "linear": (lambda m, x, y, w: m.nn.functional.linear(x, y, w), ((4, 5), (3, 5), (3,))),
    "addcmul": (lambda m, x, y, w: m.addcmul(x, y, w, value=0.5), ((4, 5), (5,), (4, 1))),
    "clamp": (lambda m, x, y, w: m.clamp(x, y, w), ((4, 5), (5,), (4, 5))),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_three_input_one_node_backward_matches_torch(name):
    torch = pytest.importorskip("torch")
    function, shapes = CALLS[name]
    rng = np.random.default_rng(7)
    values = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    ours = [dg.from_numpy(v.copy()).requires_grad_(True) for v in values]
    theirs = [torch.from_numpy(v.copy()).requires_grad_(True) for v in values]
    for _ in range(2):  # (the second backward accumulates into .grad)
        out, tout = function(dg, *ours), function(torch, *theirs)
        seed = rng.standard_normal(tuple(tout.shape)).astype(np.float32)
        out.backward(dg.from_numpy(seed.copy()))
        tout.backward(torch.from_numpy(seed.copy()))
        for leaf, tleaf in zip(ours, theirs):
            if tleaf.grad is None:
                assert leaf.grad is None
                continue
            assert leaf.grad.dtype == dg.float32 and leaf.grad.shape == tuple(tleaf.grad.shape)
            np.testing.assert_allclose(leaf.grad.numpy(), tleaf.grad.numpy(), rtol=1e-5,
                                       atol=1e-5)
    # A second backward of the same graph: PyTorch's error where its node saved a tensor
    # (freed), none where it saved nothing (cat, stack: our kept graphs).
    outcomes = []
    for o, s in ((tout, torch.from_numpy(seed.copy())), (out, dg.from_numpy(seed.copy()))):
        try:
            o.backward(s)
            outcomes.append("ok")
        except RuntimeError:
            outcomes.append("RuntimeError")
    assert outcomes[0] == outcomes[1]


def _leaves(shapes, wants, transposed, seed=3):
    rng = np.random.default_rng(seed)
    out = []
    for shape, want in zip(shapes, wants):
        value = rng.standard_normal(shape[::-1] if transposed and len(shape) == 2 else shape)
        t = dg.from_numpy(value.astype(np.float32))
        if transposed and len(shape) == 2:
            t = t.t()  # (a leaf that is a transposed view: its .grad's layout is the leaf's)
        out.append(t.detach().requires_grad_(want))
    return out


_ONE_NODE = {"layer_norm", "lerp", "stack", "cat", "linear"}  # (one node over the leaves)


@pytest.mark.parametrize("transposed", [False, True], ids=["dense", "transposed"])
@pytest.mark.parametrize("wants", [(True, True, True), (False, True, True), (True, False, True)],
                         ids=["all", "first_constant", "middle_constant"])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_three_input_fast_path_bits_as_general_sweep(monkeypatch, name, wants, transposed):
    function, shapes = CALLS[name]
    results = []
    for general in (False, True):
        if general:
            sp36._general(monkeypatch)
        calls = sp36._spy(monkeypatch)
        leaves = _leaves(shapes, wants, transposed)
        for _ in range(2):  # (the second backward accumulates)
            out = function(dg, *leaves)
            seed = np.random.default_rng(9).standard_normal(tuple(out.shape))
            out.backward(dg.from_numpy(seed.astype(np.float32)))
        assert not calls if general else (bool(calls) or name not in _ONE_NODE)
        results.append([None if t.grad is None else (
            t.grad.numpy().tobytes(), t.grad.dtype, tuple(t.grad.shape), t.grad.stride())
            for t in leaves])
        monkeypatch.undo()
    assert results[0] == results[1]
