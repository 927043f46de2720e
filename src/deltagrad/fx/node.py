"""``torch.fx.node``: the Node class of FX graphs, for imports and annotations (deltagrad has no
graph tracer, so no Node is ever made; see ``deltagrad.fx``)."""

from __future__ import annotations

from . import Node

__all__ = ["Node"]
