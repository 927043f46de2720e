"""Draw the NER model's training-step graph (forward ops and what backward flows through)."""

from __future__ import annotations

from pathlib import Path

import deltagrad as dg
from deltagrad.ner.conll import load_default

__all__ = ["draw_training_graph"]


def draw_training_graph(loaded, path: Path, batch: int = 2) -> Path:
    """Build one training step on ``batch`` dev tokens and write its graph.

    A ``.dot`` path gets Graphviz DOT text; ``.svg`` / ``.png`` are rendered with the graphviz
    package (a clear error says so if it is missing).
    """
    sentences = load_default("dev")[:1]
    data = loaded.features.encode(sentences)
    b = data.batch(slice(0, max(1, batch)))
    model = loaded.model
    model = model.members[0] if hasattr(model, "members") else model  # members train alone
    model.train()
    scores = model(**b.inputs())
    loss = model.loss(scores, dg.from_numpy(b.tags))
    path = Path(path)
    if path.suffix in (".svg", ".png", ".pdf"):
        return Path(dg.viz.render(loss, path, format=path.suffix[1:]))
    path.write_text(dg.viz.to_dot(loss))
    return path
