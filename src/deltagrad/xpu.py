"""``deltagrad.xpu``: PyTorch's Intel-GPU (XPU) queries, answered for a library on the CPU.

Programs probe ``torch.xpu.is_available()`` while choosing a device; a PyTorch build without
XPU answers False and 0 and treats seeding and cache release as no-ops, and so does deltagrad.
Calls that need an XPU device raise AssertionError, as such a PyTorch build does.
"""

from __future__ import annotations

__all__ = ["current_device", "device_count", "empty_cache", "get_device_name",
           "is_available", "is_bf16_supported", "is_initialized", "manual_seed",
           "manual_seed_all", "max_memory_allocated", "memory_allocated",
           "reset_peak_memory_stats", "seed", "seed_all", "synchronize"]


def _no_xpu() -> AssertionError:
    return AssertionError("deltagrad is not compiled with XPU enabled (it runs on the CPU only)")


def is_available() -> bool:
    """False: deltagrad has no XPU device."""
    return False


def is_initialized() -> bool:
    """False: there is no XPU state."""
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """False, as a PyTorch build without XPU answers."""
    return False


def device_count() -> int:
    """0: no XPU devices."""
    return 0


def manual_seed(seed: int) -> None:
    """No-op: there is no XPU generator to seed (PyTorch ignores it there too)."""


def manual_seed_all(seed: int) -> None:
    """No-op: there is no XPU generator to seed."""


def seed() -> None:
    """No-op: there is no XPU generator to seed."""


def seed_all() -> None:
    """No-op: there is no XPU generator to seed."""


def empty_cache() -> None:
    """No-op: there is no XPU memory cache."""


def synchronize(device=None) -> None:
    """Raises AssertionError: there is no XPU device to wait for."""
    raise _no_xpu()


def current_device() -> int:
    """Raises AssertionError: there is no XPU device."""
    raise _no_xpu()


def get_device_name(device=None) -> str:
    """Raises AssertionError: there is no XPU device."""
    raise _no_xpu()


def memory_allocated(device=None) -> int:
    """0, as PyTorch's answer without an XPU: no XPU memory is in use."""
    return 0


def max_memory_allocated(device=None) -> int:
    """0, as PyTorch's answer without an XPU."""
    return 0


def reset_peak_memory_stats(device=None) -> None:
    """Raises AssertionError: there are no XPU memory statistics (CPU-only PyTorch raises)."""
    raise _no_xpu()
