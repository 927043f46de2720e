"""``torch.fx`` for programs that refer to it: deltagrad has no graph tracer, so nothing is ever
traced. The classes exist for ``isinstance`` checks and annotations (``isinstance(x, fx.Proxy)``
is False, truthfully: no Proxy is ever made); making a graph (``GraphModule``, ``Graph``,
``Tracer``) or tracing (``symbolic_trace``) raises NotImplementedError naming what is missing.
"""

from __future__ import annotations

from typing import TypeVar

from ..nn.module import Module

__all__ = ["Graph", "GraphModule", "Interpreter", "Node", "Proxy", "Tracer", "symbolic_trace",
           "wrap"]

T = TypeVar("T")


def _unsupported(what: str) -> NotImplementedError:
    return NotImplementedError(f"deltagrad.fx: {what} is not supported (deltagrad has no graph "
                               "tracer; programs run eagerly)")


class Graph:
    """PyTorch's FX graph: not supported (making one raises NotImplementedError)."""

    def __init__(self, *args, **kwargs) -> None:
        raise _unsupported("torch.fx.Graph")


class Node:
    """A node of an FX graph: never made (see ``Graph``)."""

    def __init__(self, *args, **kwargs) -> None:
        raise _unsupported("torch.fx.Node")


class Proxy:
    """The value FX tracing passes through a program: never made, so ``isinstance(x, Proxy)``
    is False (libraries use that to ask whether they are being traced)."""

    def __init__(self, *args, **kwargs) -> None:
        raise _unsupported("torch.fx.Proxy")


class Tracer:
    """FX's symbolic tracer: not supported (making one raises NotImplementedError)."""

    def __init__(self, *args, **kwargs) -> None:
        raise _unsupported("torch.fx.Tracer")


class Interpreter:
    """Runs an FX graph node by node: not supported (making one raises NotImplementedError);
    the class exists so that libraries can subclass it at import time."""

    def __init__(self, module, garbage_collect_values: bool = True, graph=None) -> None:
        raise _unsupported("torch.fx.Interpreter")


class GraphModule(Module):
    """A module generated from an FX graph: not supported (making one raises
    NotImplementedError); the class exists for annotations and ``isinstance`` checks."""

    def __init__(self, root, graph, class_name: str = "GraphModule") -> None:
        raise _unsupported("torch.fx.GraphModule")


def symbolic_trace(root, concrete_args=None):
    """Trace ``root`` into a GraphModule: not supported, raises NotImplementedError."""
    raise _unsupported("torch.fx.symbolic_trace")


def wrap(fn_or_name: T) -> T:
    """Mark a function as a leaf for FX tracing: nothing is traced, so ``fn_or_name`` is
    returned unchanged."""
    return fn_or_name
