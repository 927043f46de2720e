"""``torch.fx._compatibility``: the decorator PyTorch marks its FX API's stability with
(libraries that extend FX put it on their own classes); it changes nothing."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["compatibility"]


def compatibility(is_backward_compatible: bool) -> Callable:
    """A decorator that returns what it decorates (the flag is documentation)."""
    def mark(fn):
        return fn

    return mark
