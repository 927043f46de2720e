"""Walks over the backward graph that the sweep (``autograd.py``) needs beside its two passes:
the count of a sweep nested in another, the part of the graph a ``grad()`` call runs, and the
clean-up after an error mid-sweep. The graph nodes are the Tensors (``_op``, ``_inputs``)."""

from __future__ import annotations

from .errors import freed_error as _freed_error


def _count_nested(roots, generation, running):
    """``_count_consumers`` for a sweep inside another (a custom Function whose backward runs
    backward, as activation checkpointing does). The engine keeps a sweep's bookkeeping on the
    nodes, so a node the outer sweep is still working on (a weight used inside and outside)
    has its mark, pending count and partial gradient set aside here and put back when this
    sweep ends; without that, its outer gradient would be lost."""
    displaced = []
    stack = []

    def mark(x, pending):
        if x._mark in running:
            displaced.append((x, x._mark, x._pending, x._g))
        x._g = None
        x._mark = generation
        x._pending = pending

    for root in roots:
        if root._mark != generation:
            mark(root, 0)
            stack.append(root)
    while stack:
        node = stack.pop()
        inputs = node._inputs
        if inputs is None:
            if node._op is not None:
                raise _freed_error(node)
            continue
        for x in inputs:
            if x._rg:
                if x._mark == generation:
                    x._pending += 1
                else:
                    mark(x, 1)
                    stack.append(x)
    return displaced


def _count_for_grad(roots, generation, capture, freed=None, requested=()):
    """Pass 1 of a ``grad()`` sweep (``autograd.run_backward``): ``_count_consumers``'s marks and
    counts, and whether the plain sweep can run the rest, as for ``backward()``: every leaf
    reached is a requested input (so every node reached is on a path to one: ``_on_paths``
    would keep them all), no requested input is an intermediate result, and no node reached
    has hooks or a retained ``.grad`` (the watched sweep's cases). Then it returns the leaves
    reached, each counted once more than its consumers so that the sweep never visits them
    (their gradients are read after it, from ``_g``); else None, the counts left as
    ``_count_consumers`` leaves them. grad() with respect to every leaf, against the watched
    sweep: add of two [5, 5] 13.5 -> 9.7 us (backward() 5.7), softmax 18.2 -> 14.8, tanh(x @ w
    + b).sum() 42 -> 27 (thread time, alternated in one process; s13 PS); OpInfo samples'
    fwd + bwd 0.88 of their time (median over ops, benchmarks/opinfo_overhead.py)."""
    leaves = []
    plain = True
    stack = []
    for root in roots:
        if root._mark != generation:
            root._mark = generation
            root._pending = 0
            root._g = None
            stack.append(root)
    while stack:
        node = stack.pop()
        if node._hooks is not None:
            plain = False
        inputs = node._inputs
        if inputs is None:
            if node._op is not None:
                # A freed node: PyTorch's grad() runs only the nodes on a path to a requested
                # tensor, so one behind the requested tensors is a dead end (zuko's transforms:
                # grad(f(x), x) for x = y.clone().requires_grad_(), y's graph freed by an
                # earlier grad()); _check_freed raises where it may not be.
                if freed is None:
                    raise _freed_error(node)
                freed.append(node)
                plain = False
                continue
            if id(node) not in capture:
                plain = False
            node._pending += 1  # (never reaching 0: the sweep leaves the leaf alone)
            leaves.append(node)
            continue
        if id(node) in capture:
            plain = False
        for x in inputs:
            if x._rg:
                if x._mark == generation:
                    x._pending += 1
                else:
                    x._mark = generation
                    x._pending = 1
                    x._g = None
                    stack.append(x)
    if freed:
        _check_freed(roots, capture, freed, requested)
    if plain:
        return leaves
    for leaf in leaves:
        leaf._pending -= 1
    return None


def _check_freed(roots, capture, freed, requested=()):
    """Raise the freed-graph error unless every requested tensor is reached without passing a
    freed node and was made after every freed node reached (so none can lie behind one: the
    freed nodes' links are gone), or is not reached and is a result made after every freed
    node reached (``requested``, the tensors of ``capture``: unused, None, as in PyTorch; was
    the error: ``grad(y.sum(), [y, z], allow_unused=True)`` for a freed y and a later z, found
    by tests/parity/s17_SL_progfuzz.py). A requested leaf (made at no known time) keeps the
    error; a requested freed node is reached (what lies below it is not). A requested leaf is
    made when it first required grad (``_serial``, Tensor.requires_grad_; s31 BR26): a graph
    freed before it cannot reach it (forward AD's duals over a freed graph)."""
    newest = max([node._serial for node in freed if id(node) not in capture], default=0)
    seen = set()
    reached = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if id(node) in capture:
            # (a leaf made by a fast path has no _serial: made at no known time, it keeps the
            # error; was an AttributeError, grad(out, (img, theta)) behind a freed affine_grid)
            if (node._serial <= newest if node._op is not None
                    else getattr(node, "_serial", 0) < max(newest, 1)):
                raise _freed_error(freed[0])
            reached.add(id(node))
        if node._inputs is not None:
            stack.extend([x for x in node._inputs if x._rg])
    if len(reached) != len(capture):
        last = max([node._serial for node in freed])
        missing = set(capture) - reached
        later = {id(t) for t in requested
                 if id(t) in missing and t._op is not None and t._serial > last}
        if later != missing:
            raise _freed_error(freed[0])


def _on_paths(roots, capture) -> set:
    """The ids of the nodes reachable from ``roots`` from which a tensor in ``capture`` is
    reachable (itself included): the part of the graph a ``grad()`` call has to run."""
    need = set()
    seen = set()
    stack = [(root, False) for root in roots]
    while stack:
        node, expanded = stack.pop()
        inputs = node._inputs
        if expanded:
            if id(node) in capture or any([id(x) in need for x in inputs]):
                need.add(id(node))
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        if inputs is None:
            if id(node) in capture:
                need.add(id(node))
            continue
        stack.append((node, True))
        stack.extend([(x, False) for x in inputs if x._rg and id(x) not in seen])
    return need


def _clear_pending(roots, generation):
    """After an error mid-sweep, drop half-accumulated gradients so nothing stale survives."""
    stack = list(roots)
    seen = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        node._g = None
        node._pending = 0
        if node._inputs is not None:
            stack.extend(x for x in node._inputs if x._rg)
