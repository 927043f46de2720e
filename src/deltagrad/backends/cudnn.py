"""``deltagrad.backends.cudnn``: settable flags with no effect (there is no cuDNN here)."""

from __future__ import annotations

import sys
from contextlib import contextmanager

__all__ = ["allow_tf32", "benchmark", "deterministic", "enabled", "flags", "is_available",
           "version"]

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


@contextmanager
def flags(enabled: bool = False, benchmark: bool = False, benchmark_limit: int = 10,
          deterministic: bool = False, allow_tf32: bool = True, **_ignored):
    """Sets the flags inside a ``with`` block and restores them after it (transformers'
    Wav2Vec2 CTC loss runs under ``flags(enabled=False)``); they change nothing here."""
    module = sys.modules[__name__]
    names = ("enabled", "benchmark", "deterministic", "allow_tf32")
    before = {name: getattr(module, name) for name in names}
    for name, value in zip(names, (enabled, benchmark, deterministic, allow_tf32)):
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in before.items():
            setattr(module, name, value)
