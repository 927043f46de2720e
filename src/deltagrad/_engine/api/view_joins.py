"""Views taken outside the graph join it with the tensor they view.

``b = torch.zeros(3); v = b[1:]; b.mul_(x)`` with x requiring grad: PyTorch's ``v`` is then a
view of a tensor in the graph, so it requires grad, has a grad_fn (``AsStridedBackward0``,
regenerated from b's) and carries gradient to x. deltagrad's ``v`` stayed a constant (a
silent difference: tests/parity/s17_SL_known.py's ``_view_before_join`` until session 19).
When a tensor joins the graph through an in-place op, each view of it still alive
(view_index.py's list), and their views in turn, becomes its view op replayed over the new
node; consumers made before keep reading the constant it was (``versions.note_rebind``).
"""

from __future__ import annotations

from .. import versions
from ..autograd import _counters
from ..node_names import name_node
from ..ops import OPS, Op
from ..tensor import apply
from ..view_index import views_of

__all__ = ["flat_of", "join_views", "rejoin", "unflat"]

_RESHAPE, _GETITEM = OPS["reshape"], OPS["getitem"]
_AS_REAL, _AS_COMPLEX = OPS["view_as_real"], OPS["view_as_complex"]


def join_views(top) -> None:
    """``top`` has just joined the graph in place: make its views (taken outside the graph,
    alive, still sharing its memory) and theirs views of its new node, as PyTorch's are."""
    if getattr(top, "_views", None) is None:
        return
    from .inplace import _become, _old_node  # (inplace.py imports this module)

    after = _counters.created  # consumers made up to now read the views as they were
    root = versions._root(top._data)
    stack = [top]
    while stack:
        base = stack.pop()
        for view, op, attrs in views_of(base):
            if not view._rg:
                if versions._root(view._data) is not root:
                    continue  # (its memory is another now: `p.data = new`, out= resized)
                old = _old_node(view)
                if op is None:  # (made under no_grad: a gradient through it raises)
                    _become(view, apply(_REFUSED, base))
                else:
                    _become(view, apply(op, base, **(attrs or {})))
                name_node(view, "AsStridedBackward0")  # (PyTorch's regenerated node)
                versions.note_rebind(view, after, old)
            stack.append(view)


# PyTorch's error at any use, in grad mode, of a view made under no_grad once its base (or
# another view of it) has joined the graph in place. Here the view becomes a node whose
# backward raises it: the forward still runs, but no gradient through it is ever silently a
# constant's zero.
NO_GRAD_VIEW = ("A view was created in no_grad mode and its base or another view of its base "
                "has been modified inplace with grad mode enabled. Given that this use case is "
                "ambiguous and error-prone, it is forbidden. You can clarify your code by "
                "moving both the view and the inplace either both inside the no_grad block (if "
                "you don't want the inplace to be tracked) or both outside (if you want the "
                "inplace to be tracked).")


def _refused_vjp(F, g, out, base):
    raise RuntimeError(NO_GRAD_VIEW)


_REFUSED = Op("AsStridedBackward0", lambda base: base, _refused_vjp, lambda rng: [], False, True)
versions._reads_of[_REFUSED] = (False, (False,), False)


def rejoin(self, old, outer: tuple) -> None:
    """Make ``self`` and the views between it and the outermost tensor it views (taken
    outside the graph) views of that tensor in the graph (``old``: ``self``'s node before;
    ``outer``: inplace.py's ``_outer_views``). Moved here from inplace.py (800 lines)."""
    from .inplace import _become, _old_node

    views, positions, pairs = outer
    top = views[-1]
    tensors = [self] + views[:-1]
    olds = [old] + [_old_node(x) for x in views[:-1]]  # (what earlier consumers read)
    after = _counters.created
    flat = flat_of(top, pairs)
    for tensor, index, old_node in zip(tensors, positions, olds):
        piece = apply(_GETITEM, flat, index=(index,))
        if pairs and tensor._data.dtype.kind == "c":  # (z[1] of z[1].real: its own pairs)
            piece = apply(_AS_COMPLEX, piece)
        _become(tensor, piece)
        versions.note_rebind(tensor, after, old_node)


def flat_of(top, pairs: bool):
    """``top`` in the graph as one flat row (with ``pairs``, complex ``top``'s float (re, im)
    pairs: the layout view_positions.py counted a real view's positions in)."""
    if pairs:
        top = apply(_AS_REAL, top)
    return apply(_RESHAPE, top, shape=(top._data.size,))


def unflat(value, top, pairs: bool):
    """``flat_of``'s row back in ``top``'s shape (and dtype)."""
    if pairs:
        return apply(_AS_COMPLEX, apply(_RESHAPE, value, shape=top._data.shape + (2,)))
    return apply(_RESHAPE, value, shape=top._data.shape)
