"""``deltagrad.backends.cudnn``: settable flags with no effect (there is no cuDNN here)."""

from __future__ import annotations

__all__ = ["allow_tf32", "benchmark", "deterministic", "enabled", "is_available", "version"]

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    """False: deltagrad does not use cuDNN."""
    return False


def version() -> None:
    """None: no cuDNN library is loaded."""
    return None
