"""The engine's errors: shapes an op cannot combine, misuse of the graph, dtypes an op refuses.

(Split out of ``autograd``, which re-exports them; every module below ``api`` imports them from
there or from here.)
"""

from __future__ import annotations

__all__ = ["DTypeError", "GraphError", "ShapeError"]


class ShapeError(RuntimeError, ValueError):
    """Shapes that an op cannot combine (broadcasting, matmul, a gradient of the wrong shape)."""


class GraphError(RuntimeError):
    """Misuse of the graph: backward through a freed graph, or on something without one."""


class DTypeError(RuntimeError, TypeError):
    """A tensor of a dtype an op does not accept (PyTorch raises RuntimeError; the TypeError
    base keeps ``except TypeError`` working too)."""


# Tracebacks name the errors where users import them from, not the engine's private module.
ShapeError.__module__ = GraphError.__module__ = DTypeError.__module__ = "deltagrad"
