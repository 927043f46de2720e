"""``deltagrad.accelerator``: PyTorch's device-generic accelerator queries, answered for the CPU.

Recent PyTorch programs choose their device with ``torch.accelerator.is_available()`` and
``current_accelerator()``; on a machine without an accelerator PyTorch answers (False, None, 0),
and so does deltagrad, which computes on the CPU only. Calls that need an accelerator device
raise ``RuntimeError`` as PyTorch's do there.
"""

from __future__ import annotations

__all__ = ["current_accelerator", "current_device_index", "device_count", "is_available",
           "set_device_index", "synchronize"]


def _none_available() -> RuntimeError:
    return RuntimeError("Cannot access accelerator device when none is available "
                        "(deltagrad runs on the CPU only).")


def is_available() -> bool:
    """False: deltagrad has no accelerator (it computes on the CPU)."""
    return False


def current_accelerator(check_available: bool = False):
    """None: there is no accelerator device (as PyTorch answers on a CPU-only machine)."""
    return None


def device_count() -> int:
    """0: no accelerator devices."""
    return 0


def current_device_index() -> int:
    """Raises RuntimeError: there is no accelerator device to index."""
    raise _none_available()


def set_device_index(device, /) -> None:
    """Raises RuntimeError: there is no accelerator device to select."""
    raise _none_available()


def synchronize(device=None, /) -> None:
    """Raises RuntimeError: there is no accelerator device to wait for."""
    raise _none_available()
