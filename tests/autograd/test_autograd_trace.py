"""deltagrad.trace: what backward does at every node, in the order it visits them."""

import json

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import autograd as _autograd
from deltagrad.autograd.trace import Summary, summed_axes


def leaf(values, dtype="float64"):
    return dg.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def lecture_graph():
    x, y, z = leaf(1.0), leaf(2.0), leaf(0.0)
    f = (x + y) * dg.maximum(y, z)
    return f, x, y, z


def test_lecture_example_records_every_node_in_visit_order():
    f, x, y, z = lecture_graph()
    with dg.trace(names={"x": x, "y": y, "z": z}) as t:
        f.backward()
    assert [r.op for r in t.records] == ["mul", "maximum", "leaf", "add", "leaf", "leaf"]
    assert [r.name for r in t.leaves] == ["z", "y", "x"]
    mul, maximum, _, add, _, _ = t.records
    assert mul.upstream == 1.0
    assert [float(e.sent) for e in mul.edges] == [2.0, 3.0]  # * switches
    assert [float(e.sent) for e in maximum.edges] == [3.0, 0.0]  # max routes
    assert [float(e.sent) for e in add.edges] == [2.0, 2.0]  # + distributes
    grads = {r.name: float(r.upstream) for r in t.leaves}
    assert grads == {"x": 2.0, "y": 5.0, "z": 0.0}
    assert {r.name: float(r.grad) for r in t.leaves} == grads  # the final .grad


def test_fan_out_lists_each_contribution_and_its_source():
    f, x, y, z = lecture_graph()
    with dg.trace(names={"y": y}) as t:
        f.backward()
    record = t.record_of(y)
    assert record.fan_out and record.is_leaf
    sources = [(t.records[[r.node_id for r in t.records].index(c.source)].op, float(c.value))
               for c in record.contributions]
    assert sources == [("maximum", 3.0), ("add", 2.0)]
    assert "3 + 2 = 5 (fan-out)" in t.table()
    assert not t.record_of(x).fan_out


def test_input_and_output_shapes_and_node_ids_are_recorded():
    f, x, y, z = lecture_graph()
    with dg.trace() as t:
        f.backward()
    mul = t.records[0]
    assert mul.node_id == 0 and t.id_of(f) == 0
    assert mul.shape == () and mul.input_shapes == [(), ()]
    assert len({r.node_id for r in t.records}) == len(t.records)  # each visited once
    assert t.id_of(dg.ones(1)) is None


def test_a_value_used_twice_by_one_op_gets_both_gradients():
    x = leaf([1.0, -2.0])
    with dg.trace() as t:
        (x * x).sum().backward()
    record = t.record_of(x)
    assert [c.position for c in record.contributions] == [0, 1]
    np.testing.assert_array_equal(record.upstream, [2.0, -4.0])


def test_broadcast_sums_are_reported_with_their_axes():
    w = leaf(np.ones((2, 3)))
    b = leaf([1.0, 2.0, 3.0])
    c = leaf([[1.0], [2.0]])
    with dg.trace() as t:
        (w + b + c).sum().backward()
    edges = {e.input_id: e for r in t.ops for e in r.edges}
    eb, ec = edges[t.id_of(b)], edges[t.id_of(c)]
    assert eb.summed_axes == (0,) and eb.gradient.shape == (2, 3)
    np.testing.assert_array_equal(eb.sent, [2.0, 2.0, 2.0])
    assert ec.summed_axes == (1,)
    np.testing.assert_array_equal(ec.sent, [[3.0], [3.0]])
    assert "sum over axes (0,)" in t.table()


@pytest.mark.parametrize(("gradient", "shape", "axes"), [
    ((3, 4), (4,), (0,)), ((3, 4), (3, 1), (1,)), ((2, 3, 4), (3, 1), (0, 2)),
    ((3, 4), (3, 4), ()), ((), (), ()), ((1, 4), (1, 4), ()), ((2, 1), (1,), (0,)),
])
def test_summed_axes_matches_numpy_broadcasting(gradient, shape, axes):
    assert summed_axes(gradient, shape) == axes


def test_tracer_is_installed_only_while_active_and_restored_on_error():
    assert _autograd.tracer is None
    x = leaf(2.0)
    with pytest.raises(ZeroDivisionError):
        with dg.trace() as t:
            assert _autograd.tracer is t
            raise ZeroDivisionError
    assert _autograd.tracer is None
    (x * 3).backward()  # untraced backward still works, and records nowhere
    assert len(t) == 0


def test_traces_nest_and_the_outer_one_sees_everything():
    x = leaf(2.0)
    with dg.trace() as outer:
        (x * 3).backward()
        with dg.trace() as inner:
            assert _autograd.tracer is inner
            (x.exp()).backward()
        assert _autograd.tracer is outer
    assert _autograd.tracer is None
    assert [r.op for r in inner.ops] == ["exp"]
    assert [r.op for r in outer.ops] == ["mul", "exp"]


def test_an_active_trace_cannot_be_entered_twice():
    with dg.trace() as t:
        with pytest.raises(RuntimeError, match="already active"):
            t.__enter__()


def test_several_backward_sweeps_are_numbered_and_leaf_grad_is_final():
    x = leaf(3.0)
    y = x * x
    with dg.trace() as t:
        y.backward(retain_graph=True)
        y.backward()
    assert [(r.sweep, r.step, r.op) for r in t.records] == [
        (0, 1, "mul"), (0, 2, "leaf"), (1, 1, "mul"), (1, 2, "leaf")]
    assert [float(r.upstream) for r in t.leaves] == [6.0, 6.0]
    assert float(t.leaves[-1].grad) == 12.0  # accumulated over both sweeps
    assert t.table().splitlines()[1].startswith("1.1")


def test_large_arrays_are_summarized():
    x = leaf(np.arange(100.0))
    with dg.trace(max_values=10) as t:
        (x * 2.0).sum().backward()
    record = t.record_of(x)
    assert isinstance(record.upstream, Summary)
    assert record.upstream.shape == (100,)
    assert record.upstream.norm == pytest.approx(20.0)
    assert (record.upstream.mean, record.upstream.min, record.upstream.max) == (2.0, 2.0, 2.0)
    assert "norm=20" in t.table()
    with dg.trace(max_values=None) as t:
        (x * 2.0).sum().backward()
    assert t.record_of(x).upstream.shape == (100,)


def test_kept_arrays_are_copies_not_views_of_engine_buffers():
    x = leaf([1.0, 2.0])
    with dg.trace() as t:
        (x * 1.0).sum().backward()
    kept = t.record_of(x).upstream.copy()
    (x * 1.0).sum().backward()  # accumulates into x.grad in place
    np.testing.assert_array_equal(t.record_of(x).upstream, kept)


def test_to_json_is_valid_and_complete():
    f, x, y, z = lecture_graph()
    with dg.trace(names={"y": y}, max_values=0) as t:
        f.backward()
    data = json.loads(t.to_json(indent=2))
    assert [r["op"] for r in data["records"]] == [r.op for r in t.records]
    first = data["records"][0]
    assert first["upstream"]["summary"]["mean"] == 1.0
    assert [i["shape"] for i in first["inputs"]] == [[], []]
    y_record = next(r for r in data["records"] if r["name"] == "y")
    assert y_record["fan_out"] and len(y_record["contributions"]) == 2


def test_create_graph_backward_is_traced_too():
    x = leaf([1.0, 2.0])
    with dg.trace() as t:
        (g,) = dg.grad((x ** 3).sum(), x, create_graph=True)
    np.testing.assert_allclose(t.record_of(x).upstream, [3.0, 12.0])
    assert g.requires_grad


def test_grad_function_leaves_grad_untouched_but_is_traced():
    x = leaf([1.0, 2.0])
    with dg.trace() as t:
        dg.grad((x * x).sum(), x)
    assert x.grad is None
    np.testing.assert_array_equal(t.record_of(x).upstream, [2.0, 4.0])
    assert t.record_of(x).grad is None


def test_custom_function_and_row_sparse_gradients_are_traced():
    class Double(dg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    emb = dg.nn.Embedding(5, 3, sparse=True)
    ids = dg.tensor(np.array([1, 1, 4]))
    with dg.trace() as t:
        Double.apply(emb(ids)).sum().backward()
    assert [r.op for r in t.ops][:2] == ["sum", "Double"]
    grad = t.record_of(emb.weight).upstream
    assert grad.shape == (5, 3)
    np.testing.assert_array_equal(grad[:, 0], [0.0, 4.0, 0.0, 0.0, 2.0])


def test_table_is_aligned_text():
    f, x, y, z = lecture_graph()
    with dg.trace(names={"x": x, "y": y, "z": z}) as t:
        f.backward()
    lines = t.table().splitlines()
    assert lines[0].split() == ["step", "node", "op", "shape", "upstream", "input", "gradient"]
    assert len(lines) == 1 + 2 + 2 + 1 + 2 + 1 + 1  # header, ops with 2 inputs, 3 leaves
    assert str(t) == t.table()
    assert repr(t) == "<trace: 3 ops, 3 leaves>"


def test_long_chains_trace_without_recursion():
    x = leaf(np.ones(3))
    h = x
    for _ in range(3000):
        h = h * 1.0
    with dg.trace() as t:
        h.sum().backward()
    assert len(t.ops) == 3001 and len(t.leaves) == 1
