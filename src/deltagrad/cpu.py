"""PyTorch's ``torch.cpu``: the one device deltagrad runs on."""

from __future__ import annotations

import contextlib

__all__ = ["current_device", "device_count", "is_available", "synchronize"]


def is_available() -> bool:
    """``True``: the CPU is always there."""
    return True


def device_count() -> int:
    """``1``, as PyTorch's ``torch.cpu.device_count``."""
    return 1


def current_device() -> str:
    """``'cpu'``, as PyTorch's ``torch.cpu.current_device``."""
    return "cpu"


def synchronize(device=None) -> None:
    """Nothing to wait for: every op has finished when it returns."""


@contextlib.contextmanager
def device(device_or_index=None):
    """A context manager that changes nothing (there is one CPU device)."""
    yield


# ``torch.cpu.amp``: PyTorch's deprecated CPU forms of amp.autocast / amp.GradScaler (each warns
# FutureWarning when built, as PyTorch's). A submodule made here (as amp's own submodules), so
# ``import torch.cpu.amp`` and ``from torch.cpu.amp import autocast`` work too.
def _make_amp():
    import sys
    import types

    from . import amp as _amp

    autocast, GradScaler = _amp.deprecated_forms("cpu", f"{__name__}.amp")
    autocast.__doc__ = """``torch.cpu.amp.autocast``: ``amp.autocast("cpu", ...)`` (deprecated)."""
    GradScaler.__doc__ = """``torch.cpu.amp.GradScaler``: ``amp.GradScaler("cpu", ...)``
    (deprecated)."""

    module = types.ModuleType(f"{__name__}.amp", "``torch.cpu.amp`` (deprecated forms).")
    module.__dict__.update(autocast=autocast, GradScaler=GradScaler, __all__=[
        "GradScaler", "autocast"])
    sys.modules[module.__name__] = module
    return module


__path__: list[str] = []  # (a package to the import system: cpu.amp is a submodule)
amp = _make_amp()
