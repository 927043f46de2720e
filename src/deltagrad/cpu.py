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
