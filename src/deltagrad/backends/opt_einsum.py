"""``deltagrad.backends.opt_einsum``: PyTorch's switch for contracting ``einsum`` operands in
the order the opt_einsum package finds.

deltagrad's ``einsum`` is NumPy's, which orders contractions itself, and never calls
opt_einsum: ``is_available()`` is False and the flags are plain settable attributes with
PyTorch's values for that case (``enabled`` False, ``strategy`` None).
"""

from __future__ import annotations

import contextlib

__all__ = ["enabled", "flags", "get_opt_einsum", "is_available", "set_flags", "strategy"]

enabled = False
strategy = None


def is_available() -> bool:
    """False: deltagrad does not use the opt_einsum package."""
    return False


def get_opt_einsum():
    """None, as PyTorch's where opt_einsum is not used."""
    return None


def set_flags(_enabled=None, _strategy=None):
    """Sets ``enabled`` / ``strategy`` (no effect on deltagrad's einsum); returns the old pair."""
    global enabled, strategy
    old = (enabled, strategy)
    if _enabled is not None:
        enabled = _enabled
    if _strategy is not None:
        strategy = _strategy
    return old


@contextlib.contextmanager
def flags(enabled=None, strategy=None):
    """``with torch.backends.opt_einsum.flags(...)``: the flags set inside, restored after."""
    old = set_flags(enabled, strategy)
    try:
        yield
    finally:
        _restore(*old)


def _restore(old_enabled, old_strategy) -> None:
    global enabled, strategy
    enabled, strategy = old_enabled, old_strategy
