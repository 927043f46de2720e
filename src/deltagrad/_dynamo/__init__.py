"""``deltagrad._dynamo``: PyTorch's ``torch._dynamo`` for a library without a compiler.

deltagrad runs everything eagerly (``deltagrad.compile`` returns the model as it is), so the
functions here are documented no-ops: the queries answer that nothing is being compiled, the
decorators that steer the tracer return the function unchanged, the shape markings change
nothing, and ``config`` holds PyTorch's settings (readable and settable, unused).
"""

from __future__ import annotations

from collections.abc import Callable

from ..compiler import (
    allow_in_graph,
    assume_constant_result,
    disable,
    is_compiling,
    list_backends,
    reset,
    set_stance,
    substitute_in_graph,
)
from . import config
from .eval_frame import OptimizedModule, is_dynamo_supported

__all__ = ["OptimizedModule", "allow_in_graph", "assume_constant_result", "config", "disable",
           "disallow_in_graph",
           "forbid_in_graph", "graph_break", "is_compiling", "is_dynamo_supported",
           "list_backends", "mark_dynamic", "mark_static", "mark_static_address",
           "maybe_mark_dynamic", "optimize", "reset", "run", "set_stance",
           "substitute_in_graph"]


def disallow_in_graph(fn: Callable) -> Callable:
    """``fn`` unchanged (PyTorch's "break the graph at calls of this function")."""
    return fn


def forbid_in_graph(fn: Callable) -> Callable:
    """``fn`` unchanged (PyTorch's "raise if tracing reaches this function"): nothing traces."""
    return fn


def graph_break(msg: str = "") -> None:
    """Split the traced graph here: there is no graph, so nothing happens."""


def mark_dynamic(t, index, *, min=None, max=None, specialize_on=None) -> None:  # noqa: A002
    """Mark dims of ``t`` as dynamic for the tracer: nothing is traced, so no effect."""


def maybe_mark_dynamic(t, index) -> None:
    """As ``mark_dynamic``: no effect."""


def mark_static(t, index=None) -> None:
    """Mark dims of ``t`` (or a module) as static for the tracer: no effect."""


def mark_static_address(t, guard: bool = True) -> None:
    """Mark ``t``'s storage as fixed for CUDA graphs: no effect."""


def optimize(backend="inductor", *, nopython: bool = False, guard_export_fn=None,
             guard_fail_fn=None, disable: bool = False, dynamic=None, **kwargs):
    """PyTorch's older ``torch._dynamo.optimize(backend)`` decorator: here the identity, so the
    decorated function or module runs eagerly, as ``deltagrad.compile``'s result does."""
    return lambda fn: fn


def run(fn: Callable | None = None):
    """Run ``fn`` without compiling new frames: ``fn`` itself (the identity without one)."""
    return fn if fn is not None else (lambda function: function)
