"""Why the model tagged a word: the window it saw, each position's gradient × input, and the
backward trace of that decision (``dg.trace``) as a graph with upstream, local and downstream
gradients on every edge, drawn as SVG."""

from __future__ import annotations

import html
import math

import numpy as np

import deltagrad as dg
from deltagrad.ner.model_dir import LoadedModel
from deltagrad.ner.predict import Document, tag_documents

__all__ = ["explain", "graph_svg"]

# What each op's local gradient is, in words, for edges where it is not shown as numbers.
_LOCAL_RULES = {
    "getitem": "1 at the picked entry, 0 elsewhere (routes)",
    "log_softmax": "∂ log pᵢ/∂sⱼ = [i=j] − pⱼ",
    "reshape": "identity (reshapes back)",
    "view": "identity (reshapes back)",
    "cat": "identity on this input's slice (splits)",
    "relu": "1 where the input > 0, else 0 (switches)",
    "tanh": "1 − tanh²",
    "hardtanh": "1 inside [−1, 1], else 0",
    "add": "1 (distributes)",
}
# z = x Wᵀ + b: ∂z/∂x is W, ∂z/∂W holds x, ∂z/∂b is 1 (per position of the input).
_LINEAR_RULES = ("W: downstream = upstream · W", "x: downstream = upstreamᵀ · x (outer product)",
                 "1, summed over the batch")
_ELEMENTWISE = {"relu", "tanh", "hardtanh", "sigmoid", "gelu", "leaky_relu", "dropout", "mul",
                "neg"}


def explain(loaded: LoadedModel, text: str, token: int) -> dict:
    """The explanation of one token's tag in ``text`` (as the page shows it).

    The decision explained is the tag the model's decoder chose for the token, as the window
    classifier's score for that tag (the lecture's s = uᵀ f(Wx + b), before the softmax). One
    forward pass over the token's window, with each embedding table's output made a leaf, and
    one backward pass under ``dg.trace()`` give:

    - ``window``: each window position's word and its contribution, gradient × input summed
      over that position's word, casing and suffix vectors (and per feature);
    - ``other_features``: the gradient × input of the rest of the hidden layer's input (a
      model's spelling, document, gazetteer and topic features), or None when it has none;
    - ``graph``: the traced backward graph, nodes and edges, each edge with the upstream
      gradient at the node, the local gradient of the node's output with respect to that
      input, and the downstream gradient sent to it (upstream × local);
    - ``svg``: that graph drawn.

    Args:
        loaded: the model (its parameters' ``.grad`` are left as None afterwards).
        text: the text, tokenised as ``predict`` does.
        token: the token's index in the text's tokens.

    Returns:
        A JSON-ready dict.

    Raises:
        IndexError: ``token`` is not a token index of ``text``.
    """
    document = Document.from_text(text)
    if not 0 <= token < len(document.tokens):
        raise IndexError(f"token {token} is out of range: the text has "
                         f"{len(document.tokens)} tokens")
    tagged = tag_documents(loaded, [document])[0]
    first = 0
    for length in document.sentence_lengths:  # the token's sentence: the model's unit
        if token < first + length:
            break
        first += length
    sentence = document.tokens[first:first + length]
    features, model = loaded.features, loaded.model
    # The whole document, as predict encodes it (document features look at other sentences).
    pieces, start = [], 0
    for size in document.sentence_lengths:
        pieces.append(document.tokens[start:start + size])
        start += size
    data = features.encode(pieces, tagged=False, documents=[0] * len(pieces))
    batch = data.batch(slice(token, token + 1))
    tag = tagged.tags[token]
    tag_index = features.tagset.tags.index(tag)

    leaves: dict[str, dg.Tensor] = {}
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, dg.nn.Embedding):
            handles.append(module.register_forward_hook(_leaf_hook(name, leaves)))
    # The hidden layer's whole input vector: its gradient × input, less the window positions',
    # is what the features that are not per window position (spelling, document) contribute.
    # (An ensemble's members each have one: their mean score is explained, summed over them.)
    hidden_input: dict[str, dg.Tensor] = {}
    for name, module in model.named_modules():
        if name.rpartition(".")[2] == "hidden" and isinstance(module, dg.nn.Linear):
            handles.append(module.register_forward_pre_hook(_keep_input(hidden_input, name)))
    parameters = dict(model.named_parameters())
    was_training = model.training
    model.eval()
    try:
        with dg.enable_grad():
            scores = model(**batch.inputs())
            log_probs = scores.log_softmax(dim=1)
            # NOTE: the tag's score, not its log-probability: for a confident decision
            # (p ≈ 1) the gradient of log p vanishes and every contribution reads 0.
            target = scores[0, tag_index]
            names = {"decision": target, **{f"{k} window": v for k, v in leaves.items()},
                     **parameters}
            with dg.trace(names=names, max_values=None) as recorded:
                target.backward()
        window = _window(features.window, sentence, token - first, first, leaves)
        other = None
        inputs = [x for x in hidden_input.values() if x.grad is not None]
        if inputs:
            total = sum(float((x.detach().numpy().astype(np.float64)
                               * x.grad.detach().numpy().astype(np.float64)).sum())
                        for x in inputs)
            other = total - sum(row["contribution"] for row in window)
        graph = _graph(recorded, parameters)
    finally:
        for handle in handles:
            handle.remove()
        for parameter in parameters.values():
            parameter.grad = None
        model.train(was_training)

    probabilities = np.exp(log_probs.detach().numpy()[0].astype(np.float64))
    entity = next((e for e in tagged.entities if e["start"] <= token < e["end"]), None)
    return {
        "token": token, "word": document.tokens[token], "tag": tag,
        "entity": entity,
        "decision": f"the score of {tag} (before the softmax)",
        "value": float(target.item()),
        "probabilities": {t: float(p) for t, p in zip(features.tagset.tags, probabilities)},
        "window": window,
        # gradient × input of the inputs that are not per window position (None: no others)
        "other_features": None if other is None or abs(other) < 1e-6 else other,
        "graph": graph,
        "svg": graph_svg(graph),
    }


def _leaf_hook(name: str, leaves: dict):
    def hook(module, args, output):
        # A leaf that needs a gradient: the window's vectors as they were looked up, so that
        # gradient × input is read off them (frozen tables included).
        leaf = output.detach().requires_grad_()
        leaves[name] = leaf
        return leaf
    return hook


def _keep_input(store: dict, name: str):
    def hook(module, args):
        store[name] = args[0]
        args[0].retain_grad()  # its gradient, kept although it is not a leaf
    return hook


def _window(width: int, sentence: list[str], centre: int, first: int, leaves: dict) -> list:
    """Each window position: its word, token index, and gradient × input (total and by
    feature table)."""
    per_feature = {}
    for name, leaf in leaves.items():
        value = leaf.detach().numpy().astype(np.float64)
        grad = leaf.grad.detach().numpy().astype(np.float64)
        if value.ndim >= 2 and value.shape[:2] == (1, 2 * width + 1):
            # An ensemble's members' tables of one feature ("members.0.words", ...) add up.
            feature = name.split(".", 2)[2] if name.startswith("members.") else name
            part = (value * grad).reshape(2 * width + 1, -1).sum(axis=1)
            per_feature[feature] = per_feature.get(feature, 0.0) + part
    rows = []
    for k in range(2 * width + 1):
        offset = k - width
        position = centre + offset
        inside = 0 <= position < len(sentence)
        word = sentence[position] if inside else ("<s>" if position < 0 else "</s>")
        parts = {name: float(values[k]) for name, values in per_feature.items()}
        rows.append({"offset": offset, "word": word,
                     "token": first + position if inside else None,
                     "contribution": float(sum(parts.values())), "features": parts})
    return rows


def _summary(value) -> dict | None:
    """A gradient as the page shows it: shape, norm, range, and the values when few."""
    if value is None:
        return None
    array = np.asarray(value, dtype=np.float64)
    out = {"shape": list(array.shape), "norm": float(np.linalg.norm(array)),
           "min": float(array.min()) if array.size else 0.0,
           "max": float(array.max()) if array.size else 0.0}
    if array.size <= 12:
        out["values"] = [round(float(v), 6) for v in array.ravel()]
    return out


def _graph(recorded, parameters: dict) -> dict:
    """Nodes and edges of the traced backward pass, with the three gradients per edge."""
    values = {recorded.id_of(p): p for p in parameters.values()}
    nodes, edges, seen = [], [], set()
    for record in recorded.records:
        if record.node_id in seen:
            continue
        seen.add(record.node_id)
        kind = "op" if not record.is_leaf else (
            "parameter" if record.node_id in values else "input")
        if record.name == "decision":
            kind = "decision"
        nodes.append({"id": record.node_id, "op": record.op, "name": record.name,
                      "label": record.name or record.op, "shape": list(record.shape),
                      "kind": kind, "step": record.step})
        if record.is_leaf:
            continue
        upstream = np.asarray(record.upstream, dtype=np.float64)
        for edge in record.edges:
            if not edge.requires_grad or edge.sent is None:
                continue
            sent = np.asarray(edge.sent, dtype=np.float64)
            local, rule = _local(record, edge, upstream, sent, values)
            gain = float(np.linalg.norm(sent) / max(np.linalg.norm(upstream), 1e-300))
            edges.append({"from": record.node_id, "to": edge.input_id, "op": record.op,
                          "position": edge.position, "upstream": _summary(upstream),
                          "local": {"rule": rule, "gain": gain, **(
                              {"values": _summary(local)} if local is not None else {})},
                          "downstream": _summary(sent)})
    return {"nodes": nodes, "edges": edges}


def _local(record, edge, upstream: np.ndarray, sent: np.ndarray, values: dict):
    """The local gradient of one edge: numbers where it is elementwise (downstream ÷ upstream
    wherever the upstream is not 0) or a matrix at hand, else its rule in words."""
    op = record.op
    if op == "linear":
        rule = _LINEAR_RULES[min(edge.position, 2)]
        if edge.position == 0:  # the input's local gradient is the weight matrix itself
            weight = next((e for e in record.edges if e.position == 1), None)
            if weight is not None and weight.input_id in values:
                return values[weight.input_id].detach().numpy(), rule
        return None, rule
    if op in _ELEMENTWISE and upstream.shape == sent.shape:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(upstream != 0, sent / np.where(upstream != 0, upstream, 1), 0.0)
        return ratio, _LOCAL_RULES.get(op, "elementwise: downstream ÷ upstream")
    rows, cols = math.prod(record.shape), math.prod(edge.input_shape)
    return None, _LOCAL_RULES.get(op, f"∂ output/∂ input, a {rows} × {cols} Jacobian")


# ---------------------------------------------------------------------------------- drawing

_BOX_W, _BOX_H, _LAYER_H, _GAP = 150, 44, 150, 40
_COLOURS = {"decision": "#fde2c8", "op": "#dbe8fb", "parameter": "#e8e8e8", "input": "#d9f2dd"}


def _number(value: float) -> str:
    return f"{value:.3g}"


def graph_svg(graph: dict) -> str:
    """The backward graph as a standalone SVG: the decision at the top, gradients flowing
    down each edge, every edge labelled "upstream × local = downstream" (norms; the full
    numbers in each edge's tooltip). Laid out in layers by distance from the decision."""
    nodes = {node["id"]: node for node in graph["nodes"]}
    depth = {node_id: 0 for node_id in nodes}
    for edge in graph["edges"]:  # records come in backward order: consumers first
        depth[edge["to"]] = max(depth.get(edge["to"], 0), depth.get(edge["from"], 0) + 1)
    layers: dict[int, list[int]] = {}
    for node_id in nodes:
        layers.setdefault(depth[node_id], []).append(node_id)
    widest = max((len(v) for v in layers.values()), default=1)
    width = max(widest * (_BOX_W + _GAP) + _GAP, 420)
    height = (max(layers, default=0) + 1) * _LAYER_H + 20
    place = {}
    for level, members in layers.items():
        span = len(members) * (_BOX_W + _GAP) - _GAP
        left = (width - span) / 2
        for i, node_id in enumerate(members):
            place[node_id] = (left + i * (_BOX_W + _GAP), 20 + level * _LAYER_H)

    escape = html.escape
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="trace-graph" width="{width:.0f}" '
             f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
             'font-family="sans-serif" font-size="11">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
             'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#c0392b"/>'
             '</marker></defs>']
    for edge in graph["edges"]:
        x1, y1 = place[edge["from"]]
        x2, y2 = place[edge["to"]]
        x1, y1, x2, y2 = x1 + _BOX_W / 2, y1 + _BOX_H, x2 + _BOX_W / 2, y2
        up, down, local = edge["upstream"], edge["downstream"], edge["local"]
        tip = (f"{nodes[edge['from']]['label']} → {nodes[edge['to']]['label']}\n"
               f"upstream ‖δ‖ = {_number(up['norm'])} {_values_text(up)}\n"
               f"local: {local['rule']} {_values_text(local.get('values'))}\n"
               f"downstream ‖δ‖ = {_number(down['norm'])} {_values_text(down)}")
        mx, my = x1 + (x2 - x1) * 0.5, y1 + (y2 - y1) * 0.5
        label = [f"up {_number(up['norm'])}", f"× local ({_number(local['gain'])}×)",
                 f"= down {_number(down['norm'])}"]
        parts.append(f'<g class="edge"><title>{escape(tip)}</title>'
                     f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                     'stroke="#c0392b" stroke-width="1.5" marker-end="url(#arrow)"/>')
        for i, line in enumerate(label):
            parts.append(f'<text x="{mx + 4:.1f}" y="{my - 14 + 12 * i:.1f}" fill="#7b241c" '
                         f'stroke="white" stroke-width="3" paint-order="stroke">'
                         f'{escape(line)}</text>')
        parts.append("</g>")
    for node_id, node in nodes.items():
        x, y = place[node_id]
        colour = _COLOURS.get(node["kind"], "#eeeeee")
        shape = "×".join(str(n) for n in node["shape"]) or "scalar"
        parts.append(f'<g class="node" data-kind="{escape(node["kind"])}">'
                     f'<title>{escape(node["label"])} ({escape(node["op"])}), shape {shape}'
                     f'</title><rect x="{x:.1f}" y="{y:.1f}" width="{_BOX_W}" '
                     f'height="{_BOX_H}" rx="6" fill="{colour}" stroke="#555"/>'
                     f'<text x="{x + _BOX_W / 2:.1f}" y="{y + 18:.1f}" text-anchor="middle" '
                     f'font-weight="bold">{escape(_short(node["label"]))}</text>'
                     f'<text x="{x + _BOX_W / 2:.1f}" y="{y + 34:.1f}" text-anchor="middle" '
                     f'fill="#444">{escape(node["op"] if node["op"] != node["label"] else "")}'
                     f' [{shape}]</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _short(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _values_text(summary: dict | None) -> str:
    if not summary:
        return ""
    if "values" in summary:
        return "[" + ", ".join(_number(v) for v in summary["values"]) + "]"
    return (f"(shape {tuple(summary['shape'])}, min {_number(summary['min'])}, "
            f"max {_number(summary['max'])})")
