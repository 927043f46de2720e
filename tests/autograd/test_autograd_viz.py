"""deltagrad.viz: DOT export of graphs (with trace annotations), collapsing, rendering."""

import re
import shutil
import sys

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import viz


def leaf(values, dtype="float64"):
    return dg.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def lecture_graph():
    x, y, z = leaf(1.0), leaf(2.0), leaf(0.0)
    return (x + y) * dg.maximum(y, z), {"x": x, "y": y, "z": z}


def statements(dot):
    return [line.strip() for line in dot.splitlines()[1:-1]]


def nodes_and_edges(dot):
    nodes = {m.group(1): m.group(2) for m in re.finditer(r"^\s*(\w+) \[(.*)\];$", dot, re.M)}
    edges = re.findall(r"^\s*(\w+) -> (\w+)", dot, re.M)
    return nodes, edges


def graphviz_available():
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return shutil.which("dot") is not None
    return shutil.which("dot") is not None


def test_op_and_tensor_nodes_with_shapes_and_dtypes():
    f, names = lecture_graph()
    dot = viz.to_dot(f, names=names)
    assert dot.startswith("digraph deltagrad {") and dot.endswith("}")
    nodes, edges = nodes_and_edges(dot)
    ops = sorted(re.search(r'label="(\w+)', v).group(1) for k, v in nodes.items()
                 if k.startswith("op"))
    assert ops == ["add", "maximum", "mul"]
    assert sum(k.startswith("t") for k in nodes) == 6  # f, a, b, x, y, z
    assert 'label="y\\n() float64"' in dot
    assert len(edges) == 3 + 6  # op -> output, and two inputs per op
    assert ("t0", "op0") not in edges and ("op0", "t0") in edges


def test_dot_is_deterministic():
    f1, n1 = lecture_graph()
    f2, n2 = lecture_graph()
    assert viz.to_dot(f1, names=n1) == viz.to_dot(f2, names=n2) == viz.to_dot(f1, names=n1)


def test_values_for_small_tensors_and_summaries_for_large_ones():
    small = leaf([1.0, 2.0])
    big = leaf(np.arange(100.0))
    out = (small.sum() * big).sum()
    dot = viz.to_dot(out, show_values=True, max_values=4, names={"small": small})
    assert "value [1, 2]" in dot
    assert "(100,) norm=573 mean=49.5 min=0 max=99" in dot


def test_gradients_of_leaves():
    x = leaf([1.0, 2.0])
    out = (x * x).sum()
    out.backward(retain_graph=True)
    assert "grad [2, 4]" in viz.to_dot(out, show_grad=True)
    assert "grad [2, 4]" not in viz.to_dot(out)


def test_constants_and_op_attributes_are_shown():
    x = leaf(np.ones((2, 3)))
    dot = viz.to_dot((x * 2.0).sum(dim=1), show_values=True)
    assert "dim=1" in dot and "keepdim" not in dot
    assert "style=dashed" in dot and "value 2" in dot


def test_trace_annotates_edges_on_a_retained_graph():
    f, names = lecture_graph()
    with dg.trace() as t:
        f.backward(retain_graph=True)
    dot = viz.to_dot(f, trace=t, names=names)
    labels = re.findall(r'-> (op\d) \[label="grad ([^"]+)"', dot)
    assert sorted(g for _, g in labels) == ["0", "2", "2", "2", "3", "3"]
    assert "grad += 3 + 2 = 5 (fan-out)" in dot
    assert "grad += 2" in dot


def test_graph_is_rebuilt_from_a_trace_after_backward_freed_it():
    f, names = lecture_graph()
    with dg.trace(names=names) as t:
        f.backward()
    from_trace = t.to_dot()
    assert from_trace == viz.to_dot(None, trace=t) == viz.to_dot(f, trace=t)
    nodes, edges = nodes_and_edges(from_trace)
    assert len(edges) == 9 and sum(k.startswith("op") for k in nodes) == 3
    assert 'label="y\\n() float64\\ngrad += 3 + 2 = 5 (fan-out)"' in from_trace


def test_broadcast_sums_are_shown_on_edges():
    w, b = leaf(np.ones((2, 3))), leaf([1.0, 2.0, 3.0])
    with dg.trace() as t:
        (w + b).sum().backward()
    assert "grad [[1, 1, 1], [1, 1, 1]]\\nsum axes (0,)\\n= [2, 2, 2]" in t.to_dot()


def test_freed_graph_without_trace_is_marked():
    x = leaf(2.0)
    y = x * x
    y.backward()
    assert "(graph freed)" in viz.to_dot(y)


def test_long_chain_exports_iteratively():
    x = leaf(np.ones(2))
    h = x
    # (10,000 ops, ten times Python's recursion limit: a recursive walk fails as surely as at
    # the 100,000 used before session 18, which took 5.2 s of a quiet run)
    for _ in range(5_000):
        h = h * 1.0001 + 0.5  # 10,000 ops
    assert sys.getrecursionlimit() * 5 < 10_000
    dot = viz.to_dot(h)
    assert dot.count("shape=ellipse") == 10_000 and dot.count(" -> ") == 30_000
    collapsed = viz.to_dot(h, collapse=10)
    assert "chain of 10000 ops\\n(mul -> add) x 5000" in collapsed
    assert len(statements(collapsed)) < 10


def test_collapse_keeps_branches_and_short_runs():
    x = leaf([1.0, 2.0])
    a = x.sin().cos().exp().tanh()  # a run of 4 single-input ops
    out = (a * x.sin()).sum()  # x fans out: the branch point stays
    short = viz.to_dot(out, collapse=5)
    assert "chain of" not in short
    dot = viz.to_dot(out, collapse=3)
    assert "chain of 4 ops\\nsin -> cos -> exp -> tanh" in dot
    assert 'label="mul"' in dot  # a two-input op is never inside a chain


def test_collapse_describes_irregular_chains_by_counts():
    x = leaf([0.5])
    h = x
    for i in range(20):
        h = h.sin() if i % 3 else h.exp().cos() if i % 2 else h.tanh()
    label = re.search(r'label="(chain of [^"]+)"', viz.to_dot(h, collapse=2)).group(1)
    assert label.startswith("chain of")


def test_to_dot_needs_a_tensor_or_a_trace():
    with pytest.raises(TypeError):
        viz.to_dot(None)
    with pytest.raises(TypeError):
        viz.to_dot(np.ones(2))
    with dg.trace() as t:
        pass
    with pytest.raises(dg.GraphError, match="recorded nothing"):
        viz.to_dot(None, trace=t)


def test_render_dot_text_needs_no_graphviz(tmp_path):
    f, names = lecture_graph()
    path = viz.render(f, tmp_path / "graph.dot", names=names)
    assert path.read_text() == viz.to_dot(f, names=names)
    path = viz.render(f, tmp_path / "graph.txt", format="dot")
    assert path.read_text().startswith("digraph")


def test_render_without_graphviz_says_what_to_install(tmp_path, monkeypatch):
    f, _ = lecture_graph()
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` fail
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(viz.GraphvizUnavailable, match="pip install graphviz"):
        viz.render(f, tmp_path / "graph.svg")


@pytest.mark.skipif(not graphviz_available(), reason="Graphviz (dot) is not installed")
@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_render_images(tmp_path, fmt):
    f, names = lecture_graph()
    with dg.trace(names=names) as t:
        f.backward(retain_graph=True)
    path = viz.render(f, tmp_path / f"graph.{fmt}", trace=t, names=names, show_values=True)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") if fmt == "png" else b"<svg" in data


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_render_with_the_dot_program_alone(tmp_path, monkeypatch):
    f, _ = lecture_graph()
    monkeypatch.setitem(sys.modules, "graphviz", None)
    assert b"<svg" in viz.render(f, tmp_path / "graph.svg", collapse=2).read_bytes()


def test_names_given_to_to_dot_apply_to_a_graph_rebuilt_from_a_trace():
    x = leaf(2.0)
    y = x * 3.0
    with dg.trace() as t:
        y.backward()
    assert 'label="weight\\n() float64' in viz.to_dot(y, trace=t, names={"weight": x})


def test_named_constants_keep_their_names_in_a_graph_rebuilt_from_a_trace():
    x, u = leaf([1.0, 2.0]), dg.tensor([3.0, 4.0])
    with dg.trace(names={"x": x, "u": u}) as t:
        (x * u).sum().backward()
    dot = t.to_dot(show_values=True)
    assert 'label="u\\n(2,) float32\\nvalue [3, 4]"' in dot and "style=dashed" in dot
