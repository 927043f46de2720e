"""``torch.fx``: symbolic tracing of deltagrad programs into graphs, and back into code.

``symbolic_trace(module)`` runs the module's ``forward`` on ``Proxy`` values that record what
is done with them into a ``Graph`` of ``Node``s (placeholder / get_attr / call_function /
call_method / call_module / output); the ``GraphModule`` it returns runs Python code
generated from that graph (calling deltagrad) and shares the module's parameters. Graphs can
be edited (``create_node``, ``erase_node``, ``inserting_after``, ``eliminate_dead_code``) and
recompiled, run node by node (``Interpreter``), rewritten (``Transformer``,
``replace_pattern``). Submodules of ``deltagrad.nn`` are leaves (one ``call_module`` node), as
``torch.nn``'s are in PyTorch; a ``Tracer`` subclass changes that.

Differences from PyTorch: generated code calls ``deltagrad.<name>`` where PyTorch's calls
``torch.<name>``; a Tensor method called on a real tensor with a traced argument is recorded
as ``call_method`` (``buffer + x`` as ``buffer.add(x)``, as PyTorch) even when spelled as the
function (``deltagrad.add(buffer, x)``: deltagrad's function and method are one object), and
the few functions deltagrad shares between ``deltagrad`` and ``nn.functional``
(``layer_norm``) are recorded as nn.functional's; ``concrete_args`` holding containers are not
flattened (PyTorch's pytree code generation). A deltagrad function captured where the trace
cannot swap it (a closure, a default argument) raises TypeError when given a Proxy; captured
by name in a module's globals or as a module attribute (``self.act = F.relu``) it is swapped
for the trace. A Proxy made by hand outside a trace (e3nn builds graphs so) puts deltagrad's
dispatching wrappers in place for the rest of the process (``deltagrad.overrides``: about
0.4 us more per public function call).
"""

from __future__ import annotations

from . import (
    _compatibility,  # noqa: F401 - (so that torch.fx._compatibility is reachable as an attribute)
    graph,
    graph_module,
    immutable_collections,
    interpreter,
    node,
    proxy,
    subgraph_rewriter,
)
from ._symbolic_trace import PH, Tracer, is_fx_tracing, symbolic_trace, wrap
from .graph import Graph
from .graph_module import GraphModule
from .interpreter import Interpreter, Transformer
from .node import Node, map_arg
from .proxy import Proxy, TraceError
from .subgraph_rewriter import replace_pattern

__all__ = ["Graph", "GraphModule", "Interpreter", "Node", "PH", "Proxy", "TraceError",
           "Tracer", "Transformer", "graph", "graph_module", "immutable_collections",
           "interpreter", "is_fx_tracing", "map_arg", "node", "proxy", "replace_pattern",
           "subgraph_rewriter", "symbolic_trace", "wrap"]
