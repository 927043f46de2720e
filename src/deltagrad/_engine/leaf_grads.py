"""Gradients that leave the sweep: leaves' ``.grad`` accumulation and retained non-leaf grads.

The backward sweep (``autograd``) hands a leaf its summed gradient here, and a non-leaf with
hooks or ``retain_grad`` its hooks' run; ``_stored`` notes the arrays already handed out in
the running backward, so that none is shared by two ``.grad``s.
"""

from __future__ import annotations

import numpy as np

from .grad_attrs import in_layout, retained_view
from .meta import MetaArray, meta_grad
from .sparse import accumulated, add_rows_at
from .tensor_hooks import prehooks_start, run_hooks

_ndarray = np.ndarray


def _node_hooks(node, g, wrap):
    """A non-leaf's hooks and its retained ``.grad`` (``retain_grad``), in PyTorch's order: the
    tensor's hooks, the retained gradient, then its node's pre-hooks. Both keep ``_hooks`` set,
    so that the sweep tests one slot for both."""
    hooks = node._hooks
    if not node._retain:
        return run_hooks(hooks, g, False, wrap)
    split = prehooks_start(hooks)
    if split:
        g = run_hooks(hooks[:split], g, False, wrap)
    _retained(node, g, False, wrap)
    return run_hooks(hooks[split:], g, False, wrap) if split < len(hooks) else g


def _retained(node, g, create_graph, wrap):
    """Set a retained non-leaf's ``.grad`` (or that of the view a remade node stands for:
    versions.retained_view): a copy of ``g``, then the sum, as PyTorch's retains_grad."""
    view = retained_view(node)
    old = view._grad
    if isinstance(g, np.generic):
        # (a 0-d node's gradient can come as a NumPy scalar: it must add to the old .grad
        # below, not replace it; `x[0].retain_grad()` and two backwards kept only the last)
        g = np.asarray(g)
    if create_graph:
        new = _graph_clone(g, node) if old is None else old + g
    elif old is None or type(g) is not _ndarray or type(old._data) is not _ndarray:
        if type(g) is _ndarray and not g.flags.c_contiguous:  # (PyTorch's is C-ordered)
            g = in_layout(g, node)
        new = wrap(_own(g))
    else:
        new = wrap(_own(old._data + g))
    view._grad = new


def _own(g):
    """A writeable ndarray that nothing else aliases (broadcast views are read-only; a view, an
    array already handed out or the caller's own seed is copied), noted in ``_stored``."""
    if type(g) is not np.ndarray:
        if type(g) is MetaArray:
            return g
        return g.to_dense() if getattr(g, "is_row_sparse", False) else np.array(g)
    if g.base is not None or id(g) in _stored or not g.flags.writeable:
        g = np.array(g)
    _stored.add(id(g))
    return g


_stored: set = set()  # ids of arrays handed out (leaves' .grad) or lent (seeds) in this backward

# Tensor.register_post_accumulate_grad_hook (api/autograd_switches.py): {id(leaf): [hook, ...]},
# each hook called with the leaf after its .grad is updated by backward(); entries leave with
# their tensor.
post_accumulate_hooks: dict = {}


def _graph_clone(g, node):
    """A first ``.grad`` under create_graph: PyTorch's is a copy of ``g`` in the graph, in the
    layout ``in_layout`` gives (was g itself, with a transpose's strides or a broadcast's 0s;
    s29 BR19). The clone is a fresh node, whose array nothing else holds yet."""
    new = g.clone()
    data = new._data
    if type(data) is _ndarray and data.ndim > 1 and not (
            data.flags.c_contiguous and (node._op is not None
                                         or data.strides == node._data.strides)):
        new._data = in_layout(data, node)
    return new


def _accumulate_leaf(leaf, g, create_graph, wrap):
    grad = leaf._grad
    if create_graph:
        leaf._grad = _graph_clone(g, leaf) if grad is None else grad + g
    elif type(g) is not np.ndarray and getattr(g, "is_row_sparse", False):
        # .grad is a sparse Tensor (from wrap) over the rows; its _data is the RowSparseGrad.
        stored = None if grad is None else grad._data
        if stored is None or getattr(stored, "is_row_sparse", False):
            # (PyTorch's sparse add: its merge walk over the stored rows and the new ones)
            leaf._grad = wrap(g if stored is None else accumulated(stored, g))
        else:
            add_rows_at(stored, g.indices, g.values)
    elif grad is None:
        # A rule may send one array to several inputs (add sends g to both), and views of it
        # may travel on: a leaf takes a private copy unless the array is its own, so that
        # in-place accumulation or clipping of one .grad never shows in another.
        if type(g) is not np.ndarray or g.base is not None or id(g) in _stored or (
                not g.flags.writeable  # (the flags object: it is made on each read)
                or g.ndim > 1 and (g.strides != leaf._data.strides or leaf._op is not None)):
            if type(g) is MetaArray:  # (meta.py: only a meta leaf takes it, as it is)
                leaf._grad = meta_grad(leaf, g, wrap)
                return
            g = np.array(g) if type(g) is not np.ndarray else in_layout(g, leaf)
        _stored.add(id(g))
        leaf._grad = wrap(g)
    elif getattr(grad._data, "is_row_sparse", False):
        leaf._grad = wrap(g + grad._data)
    elif grad._data.flags.writeable and grad._data.shape == g.shape:
        np.add(grad._data, g, out=grad._data)  # accumulate in place, as PyTorch does
    else:
        grad._data = grad._data + g



def _finish_leaves(leaves, wrap, g=None):
    """Accumulate each leaf's gradient (its ``_g``, or ``g`` for one leaf) into its ``.grad``:
    the plain sweep finishes the leaves it deferred (_count_consumers) here, after the graph,
    in the order they were found: no leaf is made ready, pushed or visited (W2-model's
    backward, 81 leaves: 0.964 of its time with them finished in the sweep, W2's 1.00;
    alternated, thread time). The values are the same (each leaf's gradients add up in the
    order they arrive). Leaves with hooks, or any post-accumulate hook, are not deferred: the
    sweep runs them as soon as they are ready, as PyTorch does (_count_consumers).
    """
    for node in leaves:
        if g is None:
            g = node._g
            if g is None:  # every consumer sent None
                continue
            node._g = None
        if node._hooks is None and node._grad is None and type(g) is _ndarray:
            # _accumulate_leaf's first case, inline: the array becomes .grad unless shared.
            if (g.base is not None or id(g) in _stored or not g.flags.writeable
                    or g.ndim > 1 and g.strides != node._data.strides):  # (0.14 us, 2-d)
                g = in_layout(g, node)  # (a private copy in the leaf's layout)
            _stored.add(id(g))
            node._grad = wrap(g)
        else:
            if node._hooks is not None:
                g = run_hooks(node._hooks, g, False, wrap)
            _accumulate_leaf(node, g, False, wrap)
        if post_accumulate_hooks:  # (usually empty: one dict test per leaf)
            for hook in tuple(post_accumulate_hooks.get(id(node), ())):
                hook(node)
        g = None
