"""Views taken outside the graph, listed (weakly) under the tensor they view.

PyTorch's view of a tensor outside the graph joins the graph when its base does through an
in-place op (``v = buf[:, 0]; buf.copy_(h)`` with h requiring grad: v's grad_fn is
regenerated from buf's, so v requires grad and carries gradient to h). deltagrad's view holds
only an upward link (``_view``); this list lets the base find its views when it joins
(api/view_joins.py). A view keeps its base alive, a base only weak references to its views.

A view made under no_grad is listed without its op (of a base outside the graph only, so
views of parameters in optimizer steps cost nothing more): PyTorch refuses any use of it once
its base joined the graph in place, and join_views makes a gradient through it raise that
error, where it would silently be a constant.
"""

from __future__ import annotations

import weakref

from .autograd import _GradMode
from .versions import _own, share_counter

__all__ = ["note_view", "views_of"]

_ref = weakref.ref
_PRUNE = 16  # dead entries are dropped when a list outgrows twice its live ones and this


def note_view(base, view, op, attrs) -> None:
    """``view``, the result of view op ``op`` (``attrs``) of ``base``, made outside the graph
    (``tensor._result`` has set its ``_view`` link): it shares ``base``'s own version counter,
    if ``base`` is a ``.data`` tensor, and goes in ``base``'s list of views (with op None
    under no_grad).
    ``base._views`` is ``[length at which to prune, (weak ref, op, attrs), ...]``."""
    if _own:  # a view of a `.data` tensor shares its version counter
        share_counter(view._data, base._data)
    if _GradMode.enabled:
        entry = (_ref(view), op, attrs)
    elif not base._rg:
        entry = (_ref(view), None, None)  # (made under no_grad: refused once base joins)
    else:
        return
    try:
        views = base._views
    except AttributeError:  # (a slot left unset until a first view: nothing on other tensors)
        base._views = [_PRUNE, entry]
        return
    views.append(entry)
    if len(views) > views[0]:  # (amortised: each prune at least doubles the next length)
        views[1:] = [e for e in views[1:] if e[0]() is not None]
        views[0] = 2 * len(views) + _PRUNE


def views_of(base) -> list:
    """``(view, op, attrs)`` of ``base``'s listed views still alive and still viewing it."""
    views = getattr(base, "_views", None)
    if not views:
        return []
    found = []
    for ref, op, attrs in views[1:]:
        view = ref()
        if view is not None and getattr(view, "_view", None) is base:
            found.append((view, op, attrs))
    return found
