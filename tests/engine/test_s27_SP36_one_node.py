"""Session 27 (SP36): backward() of a one-node graph (one op applied to leaves) without the
count pass and the sweep's loop (_engine/one_node.py), and kept graphs counted as freed through
a slot rather than a weak reference (autograd.newly_kept).

The fast path must give what the general sweep gives, bit for bit (values, dtypes, shapes,
strides of every leaf's .grad, the node freed or kept, the freed-node count, errors), on every
registered op's own samples; and what PyTorch gives on the common calls.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops import OPS
from deltagrad._engine.tensor import apply

autograd = importlib.import_module("deltagrad._engine.autograd")


@pytest.fixture(autouse=True)
def _plain_backward():
    """A live post-accumulate hook or a live tensor rebound by an in-place op (ones an earlier
    test left alive) send every backward through the general sweep: set them aside here."""
    saved = [(table, table.copy()) for table in (autograd.post_accumulate_hooks,
                                                 autograd._rebound)]
    for table, _ in saved:
        table.clear()
    try:
        yield
    finally:
        for table, content in saved:
            table.update(content)


def _general(monkeypatch):
    """Send every backward through the general sweep (count pass, _sweep, _finish_leaves)."""
    monkeypatch.setattr(autograd, "leaf_inputs", lambda inputs: False)


def _spy(monkeypatch) -> list:
    calls = []
    real = autograd.sweep_one

    def spy(*args):
        calls.append(args[0])
        return real(*args)

    monkeypatch.setattr(autograd, "sweep_one", spy)
    return calls


def _run_sample(op, sample, seed, *, accumulate=False, retain=False):
    """Leaves from the sample's float arrays, the op applied, backward with a seeded gradient;
    returns (outcome, grads, freed nodes, node kept) where outcome names an error's type."""
    rng = np.random.default_rng(seed)
    leaves, tensors = [], []
    for a in sample.args:
        array = np.array(a)
        tensor = dg.from_numpy(array.copy())
        if array.dtype.kind in "fc":
            tensor.requires_grad_(True)
            if accumulate:
                tensor.grad = dg.from_numpy(np.full(array.shape, 0.25, array.dtype))
            leaves.append(tensor)
        tensors.append(tensor)
    with np.errstate(all="ignore"):
        try:
            out = apply(op, *tensors, **sample.kwargs)
        except Exception as error:  # (a sample the public path refuses: both raise alike)
            return f"forward {type(error).__name__}", [], 0, False
    if not out.requires_grad:
        return "no grad", [], 0, False
    value = rng.standard_normal(out.shape)
    if out.dtype.is_complex:
        value = value + 1j * rng.standard_normal(out.shape)
    gradient = dg.from_numpy(np.asarray(value).astype(out._data.dtype))
    freed = autograd._counters.freed
    try:
        out.backward(gradient, retain_graph=retain or None)
    except Exception as error:
        return f"backward {type(error).__name__}: {error}", [], 0, False
    grads = []
    for leaf in leaves:
        g = leaf._grad
        if g is not None:
            g = np.asarray((g.to_dense() if g.is_sparse else g)._data)
        grads.append(None if g is None else (g.tobytes(), g.dtype, g.shape, g.strides))
    return "ok", grads, autograd._counters.freed - freed, out._inputs is not None


def _cases():
    for name in sorted(OPS):
        op = OPS[name]
        if op.samples is None:
            continue
        try:
            samples = op.samples(np.random.default_rng(1234))
        except Exception:
            continue
        for k, sample in enumerate(samples):
            if len(sample.args) <= 2:
                yield name, k, op, sample


@pytest.mark.parametrize("mode", ["fresh", "accumulate", "retain"])
def test_every_registered_op_of_one_or_two_inputs_gives_the_general_sweeps_gradients(
        monkeypatch, mode):
    options = {"accumulate": mode == "accumulate", "retain": mode == "retain"}
    fast_calls = _spy(monkeypatch)
    fast = {(name, k): _run_sample(op, sample, k, **options) for name, k, op, sample in _cases()}
    assert len(fast_calls) > 200  # (most cases took the one-node path)
    monkeypatch.undo()
    _general(monkeypatch)
    calls = _spy(monkeypatch)
    general = {(name, k): _run_sample(op, sample, k, **options)
               for name, k, op, sample in _cases()}
    assert not calls
    assert fast.keys() == general.keys()
    for key, got in fast.items():
        assert got == general[key], key


def _pair(shape, dtype=np.float32, seed=0):
    torch = pytest.importorskip("torch")
    value = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return (dg.from_numpy(value.copy()).requires_grad_(True),
            torch.from_numpy(value.copy()).requires_grad_(True))


CALLS = {
    "add_broadcast": (lambda m, x, y: x + y, ((4, 5), (5,))),
    "sub_columns": (lambda m, x, y: x - y, ((4, 5), (4, 1))),
    "sub_self_shape": (lambda m, x, y: m.sub(x, y), ((4, 5), (4, 5))),
    "mul": (lambda m, x, y: x * y, ((4, 5), (1, 5))),
    "mul_number": (lambda m, x, y: x * 0.5 + 0 * y.sum(), ((3,), (3,))),
    "promoted": (lambda m, x, y: x + y.double(), ((3, 4), (3, 4))),
    "matmul": (lambda m, x, y: x @ y, ((3, 4), (4, 2))),
    "reshape": (lambda m, x, y: x.reshape(2, 10), ((4, 5), (1,))),
    "permute": (lambda m, x, y: x.permute(1, 0), ((4, 5), (1,))),
    "transposed_leaf": (lambda m, x, y: x.t().exp(), ((4, 5), (1,))),
    "exp": (lambda m, x, y: x.exp(), ((4, 5), (1,))),
    "sum_dim": (lambda m, x, y: x.sum(1, keepdim=True), ((4, 5), (1,))),
    "softmax": (lambda m, x, y: m.nn.functional.softmax(x, 1), ((4, 5), (1,))),
    "relu": (lambda m, x, y: m.relu(x), ((4, 5), (1,))),
    "maximum": (lambda m, x, y: m.maximum(x, y), ((4, 5), (5,))),
    "scalar_mean": (lambda m, x, y: x.mean(), ((4, 5), (1,))),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_one_node_backward_matches_torch(name):
    torch = pytest.importorskip("torch")
    function, (sx, sy) = CALLS[name]
    (x, tx), (y, ty) = _pair(sx), _pair(sy, seed=1)
    for _ in range(2):  # (the second backward accumulates into .grad)
        out, tout = function(dg, x, y), function(torch, tx, ty)
        seed = np.random.default_rng(5).standard_normal(tuple(tout.shape)).astype(np.float32)
        out.backward(dg.from_numpy(seed.copy()) if out.ndim else None)
        tout.backward(torch.from_numpy(seed.copy()) if tout.ndim else None)
        for leaf, tleaf in ((x, tx), (y, ty)):
            if tleaf.grad is None:
                assert leaf.grad is None
                continue
            assert leaf.grad.dtype == dg.float32 and leaf.grad.shape == tuple(tleaf.grad.shape)
            assert leaf.grad.is_contiguous() == tleaf.grad.is_contiguous()
            np.testing.assert_allclose(leaf.grad.numpy(), tleaf.grad.numpy(), rtol=1e-5,
                                       atol=1e-6)


def test_a_freed_one_node_graph_raises_torchs_error_type_on_a_second_backward():
    torch = pytest.importorskip("torch")
    x, tx = _pair((3,))
    y, ty = x.exp(), tx.exp()
    y.backward(dg.ones(3))
    ty.backward(torch.ones(3))
    with pytest.raises(RuntimeError):
        ty.backward(torch.ones(3))
    with pytest.raises(RuntimeError):
        y.backward(dg.ones(3))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


def test_hooks_and_repeated_inputs_take_the_general_sweep_and_still_run(monkeypatch):
    calls = _spy(monkeypatch)
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.clone()) or g * 2)
    (x * 3).sum().backward()  # (two nodes: sum of mul)
    x.exp().backward(dg.ones(2))
    assert len(seen) == 2 and not calls
    np.testing.assert_allclose(x.grad.numpy(), 6 + 2 * np.exp([1.0, 2.0]), rtol=1e-6)
    z = dg.tensor([1.0, 2.0], requires_grad=True)
    (z * z).backward(dg.ones(2))  # (a repeated input)
    np.testing.assert_array_equal(z.grad.numpy(), [2.0, 4.0])
    y = dg.tensor([1.0, 2.0], requires_grad=True)
    out = y.exp()
    out.retain_grad()
    out.backward(dg.ones(2))
    assert not calls and out.grad is not None
    y.exp().backward(dg.ones(2))
    assert len(calls) == 1


def test_the_seed_and_a_shared_gradient_are_never_a_grad():
    # add hands the seed itself to both inputs: each .grad is a private copy.
    x = dg.zeros(2, 3, requires_grad=True)
    y = dg.zeros(2, 3, requires_grad=True)
    seed = dg.ones(2, 3)
    (x + y).backward(seed)
    assert not np.shares_memory(x.grad.numpy(), seed.numpy())
    assert not np.shares_memory(y.grad.numpy(), seed.numpy())
    assert not np.shares_memory(x.grad.numpy(), y.grad.numpy())
    x.grad.numpy()[0, 0] = 5
    assert seed.numpy()[0, 0] == 1 and y.grad.numpy()[0, 0] == 1


def test_kept_graphs_count_their_nodes_as_freed_once_on_every_path():
    counters = autograd._counters
    x = dg.ones(3, requires_grad=True)
    for build, nodes in ((lambda: x + 1, 1), (lambda: ((x + 1) + (x + 1)).sum(), 4)):
        before = counters.created
        y = build()
        assert counters.created - before == nodes
        freed = counters.freed
        y.backward(dg.ones(y.shape))
        y.backward(dg.ones(y.shape))  # (kept: runs again, counts nothing more)
        assert counters.freed - freed == nodes
    # A one-node graph that saved a value is freed and counted by the fast path.
    freed = counters.freed
    y = x.exp()
    y.backward(dg.ones(3))
    assert counters.freed - freed == 1 and y._inputs is None


VIEWS = {"t": ((2, 3), lambda v: v.t()), "reshape": ((2, 3), lambda v: v.reshape(6)),
         "expand": ((1, 3), lambda v: v.expand(4, 3)), "diagonal": ((2, 3), lambda v: v.diagonal())}


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_a_views_base_outlives_its_freed_one_node_graph(view):
    torch = pytest.importorskip("torch")
    shape, call = VIEWS[view]
    x, tx = _pair(shape)
    y, ty = call(x), call(tx)
    seed = np.ones(tuple(ty.shape), np.float32)
    y.backward(dg.from_numpy(seed.copy()))
    ty.backward(torch.from_numpy(seed.copy()))
    assert y._base is x and ty._base is tx
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
