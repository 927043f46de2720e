"""In-place changes after a forward that PyTorch backwards through and deltagrad refused (s16 IP).

Each op's rule now checks what PyTorch's saves: gelu, silu, mish, softplus, logit, sinc and
erfinv their input (the output changed in place is recomputed from it, bit-identical),
lerp its weight (start and end only when the weight wants a gradient), embedding its ids
(the table's size only), copysign its input and output (the sign's source is not read),
batch_norm its input and weight (not the bias), cross_entropy (index targets) the
exponentials its forward kept, not the logits.
Each case runs in both libraries: both must refuse at backward, or both give the same
gradients; and deltagrad's gradients after the change must equal, bit for bit, those of the
same computation made out of place.
"""
from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

_CHANGES = {
    "add": lambda t: t.add_(1.5),
    "mul": lambda t: t.mul_(2.0),
    "zero": lambda t: t.zero_(),
}
_AFTER = {  # the same change made out of place
    "add": lambda t: t + 1.5,
    "mul": lambda t: t * 2.0,
    "zero": lambda t: t * 0.0,
}

_UNARY = [
    ("gelu", lambda lib, x: lib.nn.functional.gelu(x), (-4.0, 4.0)),
    ("gelu_tanh", lambda lib, x: lib.nn.functional.gelu(x, approximate="tanh"), (-4.0, 4.0)),
    ("silu", lambda lib, x: lib.nn.functional.silu(x), (-6.0, 6.0)),
    ("mish", lambda lib, x: lib.nn.functional.mish(x), (-6.0, 6.0)),
    ("softplus", lambda lib, x: lib.nn.functional.softplus(x), (-25.0, 25.0)),
    ("softplus_beta", lambda lib, x: lib.nn.functional.softplus(x, beta=2.0, threshold=5.0),
     (-6.0, 6.0)),
    ("logit", lambda lib, x: lib.logit(x), (0.05, 0.95)),
    ("logit_eps", lambda lib, x: lib.logit(x, eps=0.2), (0.05, 0.95)),
    ("sinc", lambda lib, x: lib.sinc(x), (-3.0, 3.0)),
    ("erfinv", lambda lib, x: lib.erfinv(x), (-0.95, 0.95)),
]
_DTYPES = {"float64": (np.float64, 0.0), "float32": (np.float32, 2e-6)}


def _values(span, dtype, seed=0):
    x = np.random.default_rng(seed).uniform(*span, (4, 7)).astype(dtype)
    x[0, 0] = 0.5 if span[0] > 0 else 0.0  # (sinc's and gelu's x = 0 branches)
    return x


def _run(lib, fn, x, change, when="out"):
    """fn(x * 1) with ``change`` applied in place to the output or the input; the gradient of
    sum(result * weights) w.r.t. the leaf, or the RuntimeError's class name."""
    leaf = lib.tensor(x, requires_grad=True)
    h = leaf * 1.0
    y = fn(lib, h)
    _CHANGES[change](y if when == "out" else h)
    weights = lib.tensor(np.linspace(-1.0, 2.0, x.size).reshape(x.shape).astype(x.dtype))
    try:
        (y * weights).sum().backward()
    except RuntimeError as e:
        assert "modified by an inplace operation" in str(e)
        return "RuntimeError"
    return leaf.grad.numpy()


@pytest.mark.parametrize("change,dtype", [("add", "float64"), ("mul", "float64"),
                                          ("zero", "float64"), ("mul", "float32")])
@pytest.mark.parametrize("name,fn,span", _UNARY, ids=[u[0] for u in _UNARY])
def test_output_changed_in_place_backwards_as_pytorch(name, fn, span, change, dtype):
    np_dtype, tol = _DTYPES[dtype]
    x = _values(span, np_dtype)
    expected = _run(torch, fn, x, change)
    got = _run(dg, fn, x, change)
    assert not isinstance(expected, str), expected  # (PyTorch saves the input alone)
    assert not isinstance(got, str), f"{name}: deltagrad refused a backward PyTorch runs"
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-6 + tol, atol=1e-12 + tol)
    # The rule recomputed the changed output: bit-identical to the same change out of place.
    leaf = dg.tensor(x, requires_grad=True)
    y = _AFTER[change](fn(dg, leaf * 1.0))
    weights = dg.tensor(np.linspace(-1.0, 2.0, x.size).reshape(x.shape).astype(np_dtype))
    (y * weights).sum().backward()
    np.testing.assert_array_equal(got, leaf.grad.numpy())


@pytest.mark.parametrize("name,fn,span", _UNARY, ids=[u[0] for u in _UNARY])
def test_input_changed_in_place_refuses_as_pytorch(name, fn, span):
    x = _values(span, np.float64)
    assert _run(torch, fn, x, "add", when="in") == "RuntimeError"
    assert _run(dg, fn, x, "add", when="in") == "RuntimeError"


@pytest.mark.parametrize("name,fn,span", _UNARY[:1] + _UNARY[2:4] + _UNARY[8:],
                         ids=["gelu", "silu", "mish", "sinc", "erfinv"])
def test_changed_output_double_backward_matches_pytorch(name, fn, span):
    x = _values(span, np.float64, seed=1)
    x[0, 0] = 0.25  # (at 0 PyTorch's sinc double backward is nan, deltagrad's the limit)
    grads = []
    for lib in (torch, dg):
        leaf = lib.tensor(x, requires_grad=True)
        y = fn(lib, leaf * 1.0)
        y.mul_(3.0)
        (g,) = lib.autograd.grad(y.sum(), leaf, create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), leaf)
        grads.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_allclose(grads[1][0], grads[0][0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(grads[1][1], grads[0][1], rtol=1e-7, atol=1e-10)


def test_retain_graph_and_saved_tensor_hooks_after_change():
    x = _values((-3.0, 3.0), np.float64, seed=2)
    results = []
    for lib in (torch, dg):
        leaf = lib.tensor(x, requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t.clone(), lambda t: t):
            y = lib.nn.functional.silu(leaf * 1.0)
        z = lib.nn.functional.gelu(leaf * 2.0)
        y.add_(1.0)
        z.mul_(0.5)
        loss = (y * z).sum()
        loss.backward(retain_graph=True)
        first = leaf.grad.numpy().copy()
        loss.backward()
        results.append((first, leaf.grad.numpy()))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-10, atol=1e-12)


def _mlp_step(lib, inplace_gate):
    rng = np.random.default_rng(3)
    w1 = lib.tensor(rng.standard_normal((6, 8)) * 0.4, requires_grad=True)
    w2 = lib.tensor(rng.standard_normal((8, 6)) * 0.4, requires_grad=True)
    x = lib.tensor(rng.standard_normal((5, 6)))
    h = lib.nn.functional.gelu(x @ w1)
    h += lib.tensor(rng.standard_normal((5, 8)))  # the residual added in place
    if inplace_gate:
        h = lib.nn.functional.silu(h)
        h.mul_(lib.tensor(rng.uniform(0.5, 1.5, (5, 8))))  # x = silu(x); x.mul_(gate)
    loss = (h @ w2).pow(2).mean()
    loss.backward()
    return w1.grad.numpy(), w2.grad.numpy()


@pytest.mark.parametrize("inplace_gate", [False, True])
def test_model_patterns_backward_as_pytorch(inplace_gate):
    for got, expected in zip(_mlp_step(dg, inplace_gate), _mlp_step(torch, inplace_gate)):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def _outcome(lib, build, change_at):
    """build(lib) -> (leaves, tensors, result); tensors[change_at] changed in place, then
    the backward of result's weighted sum: the leaves' gradients or "RuntimeError"."""
    leaves, tensors, result = build(lib)
    changed = tensors[change_at]
    changed.add_(0.25) if changed.is_floating_point() else changed.zero_()
    weights = lib.tensor(np.linspace(-1.0, 1.0, result.numel()).reshape(tuple(result.shape)))
    try:
        (result * weights).sum().backward()
    except RuntimeError as e:
        assert "modified by an inplace operation" in str(e)
        return "RuntimeError"
    return [leaf.grad.numpy() for leaf in leaves]


def _lerp(weight_kind):
    def build(lib):
        rng = np.random.default_rng(4)
        leaves = [lib.tensor(rng.standard_normal((3, 4)), requires_grad=True) for _ in range(2)]
        start, end = (leaf * 1.0 for leaf in leaves)
        if weight_kind == "number":
            weight = 0.3
            tensors = [start, end]
        else:
            w_leaf = lib.tensor(rng.uniform(0, 1, (4,)), requires_grad=weight_kind == "grad")
            weight = w_leaf * 1.0
            tensors = [start, end, weight]
            if weight_kind == "grad":
                leaves.append(w_leaf)
        return leaves, tensors, lib.lerp(start, end, weight)
    return build


def _embedding(lib):
    rng = np.random.default_rng(5)
    leaf = lib.tensor(rng.standard_normal((6, 3)), requires_grad=True)
    table = leaf * 1.0
    ids = lib.tensor(np.array([[0, 2, 5], [2, 2, 1]]))
    ids = ids + 0  # (a tensor that the change below may write)
    return [leaf], [table, ids], lib.nn.functional.embedding(ids, table)


def _copysign(lib):
    rng = np.random.default_rng(6)
    leaves = [lib.tensor(rng.standard_normal((3, 4)) + 0.1, requires_grad=True) for _ in range(2)]
    a, b = (leaf * 1.0 for leaf in leaves)
    return leaves, [a, b], lib.copysign(a, b)


def _batch_norm(lib):
    rng = np.random.default_rng(7)
    leaves = [lib.tensor(rng.standard_normal((4, 3, 5)), requires_grad=True),
              lib.tensor(rng.uniform(0.5, 1.5, (3,)), requires_grad=True),
              lib.tensor(rng.standard_normal((3,)), requires_grad=True)]
    x, weight, bias = (leaf * 1.0 for leaf in leaves)
    out = lib.nn.functional.batch_norm(x, None, None, weight, bias, training=True)
    return leaves, [x, weight, bias], out


_CASES = {
    "batch_norm_input": (_batch_norm, 0), "batch_norm_weight": (_batch_norm, 1),
    "batch_norm_bias": (_batch_norm, 2),
    "lerp_number_start": (_lerp("number"), 0), "lerp_number_end": (_lerp("number"), 1),
    "lerp_tensor_start": (_lerp("tensor"), 0), "lerp_tensor_end": (_lerp("tensor"), 1),
    "lerp_tensor_weight": (_lerp("tensor"), 2), "lerp_grad_start": (_lerp("grad"), 0),
    "lerp_grad_end": (_lerp("grad"), 1), "lerp_grad_weight": (_lerp("grad"), 2),
    "embedding_table": (_embedding, 0), "embedding_ids": (_embedding, 1),
    "copysign_input": (_copysign, 0), "copysign_other": (_copysign, 1),
}


@pytest.mark.parametrize("case", sorted(_CASES))
def test_inputs_changed_in_place_as_pytorch(case):
    build, change_at = _CASES[case]
    expected = _outcome(torch, build, change_at)
    got = _outcome(dg, build, change_at)
    if isinstance(expected, str) or isinstance(got, str):
        assert got == expected
        return
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)


_CE_CHANGES = {
    "div": lambda t: t.div_(2.0),
    "zero": lambda t: t.zero_(),
    "row": lambda t: t[1].add_(1.0),
}


_CE_TARGETS = {
    "index": ({}, False), "index_smoothing": ({"label_smoothing": 0.1}, False),
    "probs": ({}, True), "probs_weight": ({"weight": True}, True),
}


@pytest.mark.parametrize("shape", [(4, 5), (40, 300)], ids=["small", "array"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("change", sorted(_CE_CHANGES))
@pytest.mark.parametrize("target", sorted(_CE_TARGETS))
def test_cross_entropy_logits_changed_after_the_loss(target, change, reduction, shape):
    # PyTorch saves log_softmax's output, deltagrad's forward its exponentials (a Scratch
    # slot, versions._SCRATCH_READS): the logits changed afterwards are read by neither.
    rng = np.random.default_rng(8)
    x = rng.standard_normal(shape)
    options, probs = _CE_TARGETS[target]
    if probs:
        t = rng.dirichlet(np.ones(shape[1]), shape[0])
    else:
        t = rng.integers(0, shape[1], shape[0])
        t[2] = -100  # (an ignored row)
    weight = rng.uniform(0.5, 2.0, shape[1]) if options.get("weight") else None
    smoothing = options.get("label_smoothing", 0.0)
    grads = []
    for lib in (torch, dg):
        leaf = lib.tensor(x, requires_grad=True)
        logits = leaf * 1.0
        loss = lib.nn.functional.cross_entropy(
            logits, lib.tensor(t), reduction=reduction, label_smoothing=smoothing,
            weight=None if weight is None else lib.tensor(weight))
        _CE_CHANGES[change](logits)
        (loss * 1.5).sum().backward()
        grads.append(leaf.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("how", ["create_graph", "retain_graph"])
def test_cross_entropy_changed_logits_still_refused_where_the_rule_reads_them(how):
    # NOTE: a known difference kept: under create_graph, and in a second backward of a kept
    # graph (its forward's exponentials are spent), deltagrad's rule reads the logits and
    # refuses; PyTorch's reads its saved log-probabilities and runs.
    rng = np.random.default_rng(9)
    x, t = rng.standard_normal((5, 4)), np.array([0, 3, 1, 2, 2])
    outcomes = []
    for lib in (torch, dg):
        leaf = lib.tensor(x, requires_grad=True)
        logits = leaf * 1.0
        loss = lib.nn.functional.cross_entropy(logits, lib.tensor(t))
        logits.mul_(2.0)
        try:
            if how == "create_graph":
                lib.autograd.grad(loss, leaf, create_graph=True)
            else:
                loss.backward(retain_graph=True)
                loss.backward()
            outcomes.append("runs")
        except RuntimeError as e:
            assert "modified by an inplace operation" in str(e)
            outcomes.append("refuses")
    assert outcomes == ["runs", "refuses"]
    # The unchanged logits' double backward is not affected.
    leaf = dg.tensor(x, requires_grad=True)
    loss = dg.nn.functional.cross_entropy(leaf * 1.0, dg.tensor(t))
    (g,) = dg.autograd.grad(loss, leaf, create_graph=True)
    assert g.requires_grad
