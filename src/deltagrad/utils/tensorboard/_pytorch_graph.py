"""``torch.utils.tensorboard._pytorch_graph``: the module whose ``graph`` tensorboardX's
``SummaryWriter.add_graph`` calls to trace a model. deltagrad has no tracer: ``graph`` raises
the clear NotImplementedError of deltagrad's own ``SummaryWriter.add_graph`` (s31 LE31: the
import failed with ModuleNotFoundError before)."""

from __future__ import annotations

from .writer import _NO_GRAPH

__all__ = ["graph"]


def graph(model, args, verbose: bool = False, use_strict_trace: bool = True):
    """Not supported: deltagrad has no JIT tracer; raises NotImplementedError."""
    raise NotImplementedError(_NO_GRAPH)
