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
    import warnings

    from . import amp as _amp

    class autocast(_amp.autocast):  # noqa: N801 - PyTorch's name
        """``torch.cpu.amp.autocast``: ``amp.autocast("cpu", ...)`` (deprecated)."""

        def __init__(self, enabled: bool = True, dtype=None, cache_enabled: bool = True):
            warnings.warn("`torch.cpu.amp.autocast(args...)` is deprecated. Please use "
                          "`torch.amp.autocast('cpu', args...)` instead.", FutureWarning,
                          stacklevel=2)
            super().__init__("cpu", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)

    class GradScaler(_amp.GradScaler):
        """``torch.cpu.amp.GradScaler``: ``amp.GradScaler("cpu", ...)`` (deprecated)."""

        def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                     backoff_factor: float = 0.5, growth_interval: int = 2000,
                     enabled: bool = True) -> None:
            warnings.warn("`torch.cpu.amp.GradScaler(args...)` is deprecated. Please use "
                          "`torch.amp.GradScaler('cpu', args...)` instead.", FutureWarning,
                          stacklevel=2)
            super().__init__("cpu", init_scale, growth_factor, backoff_factor,
                             growth_interval, enabled)

    module = types.ModuleType(f"{__name__}.amp", "``torch.cpu.amp`` (deprecated forms).")
    module.__dict__.update(autocast=autocast, GradScaler=GradScaler, __all__=[
        "GradScaler", "autocast"])
    sys.modules[module.__name__] = module
    return module


__path__: list[str] = []  # (a package to the import system: cpu.amp is a submodule)
amp = _make_amp()
