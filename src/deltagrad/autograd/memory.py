"""Graph memory: count live graph nodes, and warn when a graph survives across training steps.

The engine counts graph nodes as they are created and as backward frees them. In a clean
training loop the two match every step. When they do not, a garbage-collector walk finds how
many graph nodes are still alive; if that number keeps growing from one check to the next, a
graph is surviving across iterations (the classic cause: ``total_loss += loss``) and a
``GraphLeakWarning`` says so, once.

It also lets users free the large gradient buffers the engine keeps for reuse (``_buffers``).
"""

from __future__ import annotations

import gc
import warnings
from dataclasses import dataclass

from .._engine import buffers as _buffers
from .._engine.autograd import _counters
from .._engine.tensor import Tensor

__all__ = ["GraphLeakWarning", "GraphStats", "empty_cache", "graph_stats", "set_leak_check"]


def empty_cache() -> int:
    """Free the large gradient buffers kept for reuse between training steps.

    Backward and ``zero_grad`` keep arrays of 1 MB or more that nothing else refers to any
    more (at most 256 MB), so that the next step reuses them instead of asking the operating
    system for fresh memory. Call this after training to give that memory back.

    Returns:
        The bytes freed.

    >>> import deltagrad as dg
    >>> _ = dg.empty_cache()
    >>> w = dg.zeros(1024, 512, requires_grad=True)  # 2 MB of float32
    >>> opt = dg.optim.SGD([w], lr=0.1)
    >>> (w * 2).sum().backward()
    >>> opt.zero_grad()  # the gradient it drops is kept for the next backward
    >>> freed = dg.empty_cache()  # 2097152 in a fresh process (tests/test_s12_lead.py)
    >>> dg.empty_cache()
    0
    """
    held = _buffers.held_bytes()
    _buffers.clear()
    return held


class GraphLeakWarning(ResourceWarning):
    """Graph nodes accumulate across optimizer steps."""


@dataclass(frozen=True)
class GraphStats:
    """Live graph nodes (op results still linked to their inputs) and the bytes they hold."""

    nodes: int
    bytes: int


def graph_stats() -> GraphStats:
    """Count the graph nodes alive now and the bytes of their values.

    A node is a tensor made by an op that still links to its inputs: its graph has not been
    freed by ``backward()``. Costs one walk over the garbage collector's objects.

    >>> import deltagrad as dg
    >>> before = dg.graph_stats().nodes
    >>> x = dg.ones(3, requires_grad=True)
    >>> y = (x * 2).sum()
    >>> dg.graph_stats().nodes - before
    2
    >>> y.backward()
    >>> dg.graph_stats().nodes - before
    0
    """
    nodes = size = 0
    for obj in gc.get_objects():
        # (getattr: a Tensor whose __init__ raised, kept alive by a held exception's
        # traceback, has its slots unset; the optimizers' leak check raised AttributeError)
        if type(obj) is Tensor and getattr(obj, "_inputs", None) is not None:
            nodes += 1
            size += obj._data.nbytes
    return GraphStats(nodes, size)


class _LeakCheck:
    every = 20  # optimizer steps between checks; 0 turns the check off
    patience = 3  # consecutive growing checks before warning
    steps = 0
    last_created = 0
    last_freed = 0
    last_live = 0
    growing = 0
    warned = False
    skip = 0  # checks left to pass over before the next walk
    backoff = 1  # checks between walks: doubles while walks find no growth (at most 16)


def set_leak_check(every: int = 20, patience: int = 3) -> None:
    """Configure the leak check run by optimizers (``every=0`` turns it off)."""
    if every < 0 or patience < 1:
        raise ValueError("set_leak_check: every must be >= 0 and patience >= 1")
    _LeakCheck.every, _LeakCheck.patience = every, patience
    _LeakCheck.growing, _LeakCheck.warned = 0, False
    _LeakCheck.skip, _LeakCheck.backoff = 0, 1


def after_optimizer_step() -> None:
    """Called by every optimizer step: cheap unless graph nodes were left unfreed."""
    check = _LeakCheck
    if not check.every or check.warned:
        return
    check.steps += 1
    if check.steps % check.every:
        return
    created, freed = _counters.created, _counters.freed
    unfreed = (created - check.last_created) - (freed - check.last_freed)
    check.last_created, check.last_freed = created, freed
    if unfreed <= 0:
        check.growing = 0
        return
    # Nodes that die unbackwarded (a forward whose result is dropped, MultiheadAttention's
    # unused weights) look like a leak to the counters; only the walk tells them apart, and
    # it costs ~40 ms with PyTorch-sized heaps (2 ms a step at every=20: S4, session 9). While
    # walks find no growth they run less often (20, 40, ... 320 steps apart); a leak still
    # grows between them and is reported, later.
    if check.skip:
        check.skip -= 1
        return
    stats = graph_stats()
    if stats.nodes > check.last_live:
        check.growing += 1
        check.backoff = 1
    else:
        check.growing = 0
        check.backoff = min(2 * check.backoff, 16)
    check.skip = check.backoff - 1
    check.last_live = stats.nodes
    if check.growing >= check.patience:
        check.warned = True
        warnings.warn(
            f"{stats.nodes:,} graph nodes holding {stats.bytes:,} bytes are alive after "
            f"optimizer.step(), and their number grew over the last {check.patience} checks "
            f"({check.every} steps apart): a graph survives across iterations. The usual cause "
            "is accumulating a tensor that requires grad (total_loss += loss); accumulate "
            "loss.item() or loss.detach() instead.",
            GraphLeakWarning, stacklevel=3)
