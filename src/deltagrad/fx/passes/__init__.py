"""``torch.fx.passes``: analyses run over a traced graph (``shape_prop``: each node's output
shape, dtype and strides from one sample run)."""

from __future__ import annotations

from . import shape_prop

__all__ = ["shape_prop"]
