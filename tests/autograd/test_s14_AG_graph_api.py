"""Autograd API leftovers against PyTorch (session 14, AG): ``GradientEdge`` /
``get_gradient_edge`` with ``autograd.grad``, ``torch.utils.checkpoint``'s ``CheckpointError``,
``CheckpointPolicy``, ``create_selective_checkpoint_contexts`` and
``set_checkpoint_early_stop``, a Function without backward, bfloat16 nodes' names, and ATen's
``torch.batch_norm`` with ``eps=0``."""

from __future__ import annotations

import functools
import importlib
import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(2014)
X = RNG.uniform(-1.0, 2.0, (3, 4)).astype(np.float32)
W = RNG.uniform(-1.0, 1.0, (5, 4)).astype(np.float32)


def _edges(m):
    from_graph = importlib.import_module(m.__name__ + ".autograd.graph")
    get_gradient_edge, gradient_edge = from_graph.get_gradient_edge, from_graph.GradientEdge
    x = m.tensor(X, requires_grad=True)
    w = m.tensor(W, requires_grad=True)
    h = (x @ w.t()).tanh()
    loss = (h * h).sum()
    edge = get_gradient_edge(h)
    out = {"types": (isinstance(edge, tuple), isinstance(edge, gradient_edge), edge.output_nr,
                     edge.node.name(), get_gradient_edge(x).node.name())}
    out["wrt_edge"] = m.autograd.grad(loss, edge, retain_graph=True)[0]
    out["mixed"] = m.autograd.grad(loss, [edge, w, get_gradient_edge(x)], retain_graph=True)
    # an edge as the output: the gradient that flows on from h's node
    out["from_edge"] = m.autograd.grad(edge, x, grad_outputs=m.ones(3, 5))[0]
    with pytest.raises(RuntimeError, match="not possible to get the gradient edge"):
        get_gradient_edge(m.ones(2))
    return out


def test_gradient_edges_in_grad():
    ours, theirs = _edges(dg), _edges(torch)
    assert ours["types"] == theirs["types"]
    for key in ("wrt_edge", "from_edge"):
        np.testing.assert_allclose(ours[key].numpy(), theirs[key].numpy(), rtol=1e-5,
                                   atol=1e-6)
    for a, b in zip(ours["mixed"], theirs["mixed"]):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def _checkpoint_module(m):
    return importlib.import_module(m.__name__ + ".utils.checkpoint")


def test_checkpoint_names_and_selective_contexts():
    def run(m):
        cp = _checkpoint_module(m)
        names = ([(p.name, p.value) for p in cp.CheckpointPolicy],
                 issubclass(cp.CheckpointError, RuntimeError))
        m.manual_seed(0)
        lin = m.nn.Linear(4, 4)
        x = m.tensor(X, requires_grad=True)

        def policy(ctx, op, *args, **kwargs):
            return cp.CheckpointPolicy.PREFER_RECOMPUTE

        context_fn = functools.partial(cp.create_selective_checkpoint_contexts, policy)
        with cp.set_checkpoint_early_stop(False):
            y = cp.checkpoint(lambda t: lin(t).relu().sin(), x, use_reentrant=False,
                              context_fn=context_fn)
        y.pow(2).sum().backward()
        with pytest.raises(TypeError, match="policy_fn_or_list must be either"):
            cp.create_selective_checkpoint_contexts(3)
        return names, [x.grad.numpy(), lin.weight.grad.numpy(), lin.bias.grad.numpy()]

    ours, theirs = run(dg), run(torch)
    assert ours[0] == theirs[0]
    for a, b in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_recomputation_mismatch_is_a_checkpoint_error():
    cp = _checkpoint_module(dg)
    calls = []

    def changing(t):
        calls.append(1)
        return t * 2 if len(calls) == 1 else t[:1] * 2

    y = cp.checkpoint(changing, dg.tensor(X, requires_grad=True), use_reentrant=False)
    with pytest.raises(cp.CheckpointError, match="recomputed outputs differ"):
        y.sum().backward()


def test_function_without_backward_runs_until_backward_reaches_it():
    for m in (dg, torch):
        class Double(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

        class Nothing(m.autograd.Function):
            pass

        x = m.tensor(X, requires_grad=True)
        y = Double.apply(x)
        np.testing.assert_array_equal(y.detach().numpy(), X * 2)
        with pytest.raises(NotImplementedError, match="You must implement either the backward"):
            y.sum().backward()
        with pytest.raises(NotImplementedError, match="You must implement the forward"):
            Nothing.apply(x)


BF16_CASES = {
    "exp": lambda m, x, y: x.exp(),
    "sum": lambda m, x, y: x.sum(),
    "mean": lambda m, x, y: x.mean(),
    "relu": lambda m, x, y: x.relu(),
    "tanh": lambda m, x, y: x.tanh(),
    "sigmoid": lambda m, x, y: x.sigmoid(),
    "softmax": lambda m, x, y: x.softmax(-1),
    "gelu": lambda m, x, y: m.nn.functional.gelu(x),
    "silu": lambda m, x, y: m.nn.functional.silu(x),
    "layer_norm": lambda m, x, y: m.nn.functional.layer_norm(x, (4,)),
    "pow": lambda m, x, y: x ** 2,
    "sqrt": lambda m, x, y: x.abs().sqrt(),
    "rsqrt": lambda m, x, y: (x.abs() + 1).rsqrt(),
    "neg": lambda m, x, y: -x,
    "max": lambda m, x, y: x.max(),
    "min": lambda m, x, y: x.min(),
    "mul": lambda m, x, y: x * y,
    "matmul": lambda m, x, y: x @ y.t(),
    "embedding": lambda m, x, y: m.nn.functional.embedding(m.tensor([0, 2]), x),
}


@pytest.mark.parametrize("name", sorted(BF16_CASES))
@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
def test_grad_fn_names_of_bfloat16_and_float32_ops(name, dtype):
    def names(m):
        x = m.tensor(X, dtype=getattr(m, dtype), requires_grad=True)
        y = m.tensor(X[::-1].copy(), dtype=getattr(m, dtype), requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = BF16_CASES[name](m, x, y)
        return type(out.grad_fn).__name__, out.grad_fn.name()

    assert names(dg) == names(torch)


def _batch_norm(m, eps, training, constant_channel=True):
    leaf = m.tensor(X, requires_grad=True)
    x = leaf
    if constant_channel:
        x = leaf * m.tensor([1.0, 0.0, 1.0, 1.0]) + m.tensor([0.0, 3.0, 0.0, 0.0])
    weight = m.tensor([1.0, 2.0, 3.0, 0.5], requires_grad=True)
    bias = m.tensor([0.0, 0.5, 1.0, -1.0], requires_grad=True)
    mean, var = m.zeros(4), m.ones(4)
    out = m.batch_norm(x, weight, bias, mean, var, training, 0.1, eps, False)
    (out * m.arange(12.0).reshape(3, 4)).sum().backward()
    grads = [t.grad.numpy() for t in (leaf, weight, bias)]
    return [out.detach().numpy(), mean.numpy(), var.numpy()] + grads


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("constant_channel", [True, False])
def test_aten_batch_norm_with_eps_zero(training, constant_channel):
    # ATen's form checks no eps: a zero-variance channel with eps 0 normalizes to 0 (its
    # inverse std taken as 0), not nan, in training.
    ours = _batch_norm(dg, 0.0, training, constant_channel)
    theirs = _batch_norm(torch, 0.0, training, constant_channel)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert not any(np.isnan(a).any() for a in ours)


def test_functional_batch_norm_still_refuses_eps_zero_in_training():
    for m in (dg, torch):
        with pytest.raises(ValueError, match="eps must be positive"):
            m.nn.functional.batch_norm(m.tensor(X), None, None, training=True, eps=0.0)


def test_backward_inputs_as_gradient_edges():
    # A leaf's edge accumulates into its .grad; a non-leaf's edge receives nothing.
    def run(m):
        get_gradient_edge = importlib.import_module(m.__name__ + ".autograd.graph") \
            .get_gradient_edge
        x = m.tensor(X[0], requires_grad=True)
        h = x * 3
        y = (h * h).sum()
        y.backward(inputs=[get_gradient_edge(x)], retain_graph=True)
        first = x.grad.numpy().copy()
        m.autograd.backward([y], inputs=get_gradient_edge(h), retain_graph=True)
        y.backward(inputs=[get_gradient_edge(h), x])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return first, x.grad.numpy(), h.grad is None

    ours, theirs = run(dg), run(torch)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6)
    assert ours[2] and theirs[2]
