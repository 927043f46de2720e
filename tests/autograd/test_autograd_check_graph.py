"""deltagrad.check_graph: every node's rule gradchecked at the inputs it saw."""

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.nn.functional as F
from deltagrad._engine.ops import OPS
from deltagrad._engine.tensor import apply


def leaf(values, dtype="float64"):
    return dg.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


class WrongSquare(dg.Function):
    """x**2 with a deliberately wrong backward (3x instead of 2x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x


class Square(dg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 2 * x


def mlp_loss(square, seed=0, batch=8):
    """A small classifier: embedding window -> linear -> custom op -> tanh -> cross-entropy."""
    rng = np.random.default_rng(seed)
    emb = leaf(rng.normal(0, 0.5, (10, 4)), "float32")
    w1 = leaf(rng.normal(0, 0.5, (6, 12)), "float32")
    b1 = leaf(np.zeros(6), "float32")
    w2 = leaf(rng.normal(0, 0.5, (3, 6)), "float32")
    ids = dg.tensor(rng.integers(0, 10, (batch, 3)))
    target = dg.tensor(rng.integers(0, 3, batch))
    x = F.embedding(ids, emb).reshape(batch, 12)
    h = square.apply(F.linear(x, w1, b1)).tanh()
    logits = h @ w2.T
    return F.cross_entropy(logits, target), (emb, w1, b1, w2)


def test_a_correct_graph_passes_every_node():
    loss, _ = mlp_loss(Square)
    report = dg.check_graph(loss)
    assert report.ok and bool(report) and report.first_failure is None
    ops = [c.op for c in report.checks]
    assert "Square" in ops and "matmul" in ops and ops[-1] == loss.grad_fn.name
    assert "all" in str(report) and "agree" in str(report)


def test_the_wrong_custom_op_is_named_exactly():
    loss, _ = mlp_loss(WrongSquare)
    report = dg.check_graph(loss)
    assert not report.ok
    assert [c.op for c in report.failures] == ["WrongSquare"]
    first = report.first_failure
    assert first.op == "WrongSquare" and first.input_shapes == [(8, 6)]
    assert "analytic" in first.message and "numeric" in first.message
    assert first.analytic is not None and not np.allclose(first.analytic, first.numeric)
    # Ops downstream of the bug still check out: each rule is checked on its own.
    after = [c for c in report.checks if c.index > first.index]
    assert after and all(c.status == "ok" for c in after)
    assert "first failing op: op 'WrongSquare'" in str(report)
    assert "WrongSquare" in repr(report)


def test_small_tensors_get_the_full_jacobian_with_element_indices():
    x = leaf([0.5, -1.0, 2.0])
    report = dg.check_graph(WrongSquare.apply(x).sum())
    first = report.first_failure
    assert first.method == ["jacobian"]
    assert first.analytic.shape == (3, 3)
    np.testing.assert_allclose(np.diag(first.numeric), [1.0, -2.0, 4.0], atol=1e-6)
    np.testing.assert_allclose(np.diag(first.analytic), [1.5, -3.0, 6.0])
    assert "d out[0] / d input0[0]: analytic 1.5 vs numeric 1" in first.message


def test_large_tensors_get_random_projections():
    rng = np.random.default_rng(1)
    a = leaf(rng.standard_normal((40, 30)))
    b = leaf(rng.standard_normal((30, 20)))
    report = dg.check_graph((a @ b).tanh().sum(), projections=2)
    assert report.ok
    matmul = report.checks[0]
    assert matmul.op == "matmul" and matmul.method == ["projection", "projection"]
    assert matmul.analytic.shape == (2, 2)
    bad = dg.check_graph(WrongSquare.apply(a).sum())
    assert bad.first_failure.op == "WrongSquare" and "projection" in bad.first_failure.message


def test_report_is_reproducible():
    loss, _ = mlp_loss(WrongSquare)
    first = dg.check_graph(loss, seed=3).first_failure
    again = dg.check_graph(loss, seed=3).first_failure
    np.testing.assert_array_equal(first.analytic, again.analytic)
    assert first.message == again.message


def test_kinks_are_not_false_alarms():
    x = leaf([-1.0, 0.0, 2.0, 0.0])
    y = leaf([0.5, 0.0, 2.0, -3.0])
    h = x.relu().relu()  # the outer relu sees exact zeros
    loss = (h + dg.maximum(x, y) + x.abs() + dg.minimum(x, y)).sum()
    loss = loss + dg.amax(dg.stack([x, y]), 0).sum()
    assert dg.check_graph(loss).ok


def test_graph_and_gradients_are_left_untouched():
    loss, params = mlp_loss(Square)
    loss.backward(retain_graph=True)
    before = [p.grad._data.copy() for p in params]
    assert dg.check_graph(loss).ok
    for p in params:
        p.grad = None
    loss.backward()  # the custom op's saved tensors are intact
    for p, g in zip(params, before):
        np.testing.assert_array_equal(p.grad._data, g)


def test_raise_exception_names_the_op():
    loss, _ = mlp_loss(WrongSquare)
    with pytest.raises(dg.GradcheckError, match="WrongSquare"):
        dg.check_graph(loss, raise_exception=True)


def test_freed_graph_and_non_graph_tensors_are_errors():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(dg.GraphError, match="retain_graph"):
        dg.check_graph(y)
    with pytest.raises(dg.GraphError):
        dg.check_graph(dg.ones(2))


def test_casts_to_lower_precision_are_skipped_with_a_reason():
    x = leaf([1.0, 2.0])
    report = dg.check_graph((x.float() * 2).sum())
    cast = report.checks[0]
    assert cast.op == "cast" and cast.status == "skipped" and "float32" in cast.message
    assert report.ok


def test_a_rule_returning_an_unreducible_shape_fails_that_node():
    class BadShape(dg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return dg.ones(7)

    report = dg.check_graph(BadShape.apply(leaf([1.0, 2.0])).sum())
    assert report.first_failure.op == "BadShape" and "raised" in report.first_failure.message


def test_long_chains_are_walked_without_recursion():
    x = leaf(np.ones(2))
    h = x
    for _ in range(2000):
        h = h * 1.0
    report = dg.check_graph(h.sum())
    assert report.ok and len(report) == 2001


def test_shared_subgraphs_are_checked_once():
    x = leaf([0.1, 0.2])
    a = x.sin()
    loss = (a * a + a).sum()
    assert [c.op for c in dg.check_graph(loss).checks] == ["sin", "mul", "add", "sum"]


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_registered_op_passes_on_its_own_samples(name):
    # The self-test: check_graph must agree with the rules the op suite already gradchecks
    # (ties and kinks in the samples included).
    rng = np.random.default_rng(0)
    for sample in OPS[name].samples(rng):
        args = [dg.tensor(a, requires_grad=a.dtype.kind == "f") if isinstance(a, np.ndarray)
                else a for a in sample.args]
        out = apply(OPS[name], *args, **sample.kwargs)
        if not out.requires_grad or out.dtype.kind != "f":
            continue
        weights = dg.tensor(rng.standard_normal(out.shape))
        report = dg.check_graph((out * weights).sum())
        assert report.ok, f"{name} ({sample.note or sample.kwargs}): {report}"
        assert all(c.status == "ok" for c in report.checks)
