"""The page's explanation of a decision: gradient × input per window position (checked against
finite differences of the real model) and the traced backward graph (upstream × local =
downstream on its edges, with the model's own weights)."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.ner.explain import explain

TEXT = "Peter Blackburn visited Paris on Monday ."


def decision(loaded, batch, tag_index, scale=None):
    """The explained value, with one window position's vectors optionally scaled."""
    handles = []
    if scale is not None:
        position, factor = scale

        def hook(module, args, output):
            mask = np.ones(output.shape, dtype=np.float32)
            mask[:, position] = factor
            return output * dg.from_numpy(mask)

        for module in (loaded.model.words, loaded.model.casing, loaded.model.suffixes):
            handles.append(module.register_forward_hook(hook))
    try:
        with dg.no_grad():
            scores = loaded.model(**batch.inputs())
            return float(scores.double()[0, tag_index].item())
    finally:
        for handle in handles:
            handle.remove()


def test_window_contributions_are_gradient_times_input(tiny_model):
    answer = explain(tiny_model, TEXT, 3)
    assert answer["word"] == "Paris" and [r["word"] for r in answer["window"]] == [
        "Blackburn", "visited", "Paris", "on", "Monday"]
    assert [r["offset"] for r in answer["window"]] == [-2, -1, 0, 1, 2]
    edge = explain(tiny_model, TEXT, 0)["window"]
    assert [r["word"] for r in edge][:2] == ["<s>", "<s>"] and edge[0]["token"] is None

    data = tiny_model.features.encode([TEXT.split()], tagged=False).batch(slice(3, 4))
    tag_index = tiny_model.features.tagset.tags.index(answer["tag"])
    base = decision(tiny_model, data, tag_index)
    assert base == pytest.approx(answer["value"], abs=1e-5)
    # (A small step: the ReLU layer is linear only between its kinks, and a step of 1e-2 on a
    # whole position's vectors crosses some for some trained weights.)
    eps = 1e-3
    for k, row in enumerate(answer["window"]):
        # d/de f(x with position k's vectors scaled by e) at e = 1 is sum_k x . grad f.
        up = decision(tiny_model, data, tag_index, (k, 1 + eps))
        down = decision(tiny_model, data, tag_index, (k, 1 - eps))
        assert (up - down) / (2 * eps) == pytest.approx(row["contribution"], abs=2e-3, rel=2e-2)
        assert sum(row["features"].values()) == pytest.approx(row["contribution"])
    assert all(p.grad is None for p in tiny_model.model.parameters())  # the model is untouched


def test_trace_graph_edges_are_upstream_times_local(tiny_model):
    graph = explain(tiny_model, TEXT, 1)["graph"]
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert nodes[graph["edges"][0]["from"]]["kind"] == "decision"
    ops = [e["op"] for e in graph["edges"]]
    assert {"getitem", "linear", "relu", "cat"} <= set(ops)
    kinds = {n["kind"] for n in graph["nodes"]}
    assert {"decision", "op", "parameter", "input"} <= kinds

    relu = next(e for e in graph["edges"] if e["op"] == "relu")
    assert relu["local"]["values"]["min"] >= 0 and relu["local"]["values"]["max"] <= 1
    pick = next(e for e in graph["edges"] if e["op"] == "getitem")
    assert sorted(pick["downstream"]["values"])[-1] == 1.0 and sum(
        pick["downstream"]["values"]) == 1.0  # routes the 1 to the chosen tag

    # The output layer's edge to its input: downstream = upstream · W with the real weights.
    weight = tiny_model.model.output.weight.detach().numpy().astype(np.float64)
    output_edge = next(e for e in graph["edges"] if e["op"] == "linear" and e["position"] == 0
                       and e["upstream"]["shape"] == [1, weight.shape[0]])
    up = np.array(output_edge["upstream"]["values"])
    local = output_edge["local"]["values"]
    assert local["shape"] == list(weight.shape)
    assert local["norm"] == pytest.approx(np.linalg.norm(weight), rel=1e-6)
    assert output_edge["downstream"]["norm"] == pytest.approx(
        np.linalg.norm(up @ weight), rel=1e-4)
    svg = explain(tiny_model, TEXT, 1)["svg"]
    assert svg.startswith("<svg") and svg.count('class="edge"') == len(graph["edges"])
    assert svg.count('class="node"') == len(graph["nodes"])


def test_svg_escapes_labels():
    from deltagrad.ner.explain import graph_svg

    summary = {"shape": [1], "norm": 1.0, "min": 1.0, "max": 1.0, "values": [1.0]}
    graph = {"nodes": [{"id": 0, "op": "<script>", "label": "<b>&", "shape": [1],
                        "kind": "op"},
                       {"id": 1, "op": "leaf", "label": "x", "shape": [], "kind": "input"}],
             "edges": [{"from": 0, "to": 1, "op": "<script>", "position": 0,
                        "upstream": summary, "downstream": summary,
                        "local": {"rule": "<i>", "gain": 1.0}}]}
    svg = graph_svg(graph)
    assert "<script>" not in svg and "<b>" not in svg and "<i>" not in svg
    assert "&lt;script&gt;" in svg
