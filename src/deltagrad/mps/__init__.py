"""``deltagrad.mps``: PyTorch's ``torch.mps`` (Apple's Metal GPUs) as a CPU-only build of PyTorch
answers it: nothing is available, the seed setter is a no-op, and every call that needs the
device raises PyTorch's RuntimeError."""

from __future__ import annotations

from ..backends.mps import is_available
from . import event, profiler
from .event import Event

__all__ = ["Event", "compile_shader", "current_allocated_memory", "device_count",
           "driver_allocated_memory", "empty_cache", "event", "get_rng_state", "is_available",
           "load_metallib", "manual_seed", "profiler", "recommended_max_memory", "seed",
           "set_per_process_memory_fraction", "set_rng_state", "synchronize"]


def _no_backend(call: str) -> RuntimeError:
    return RuntimeError(f"Cannot execute {call}() without MPS backend.")


def device_count() -> int:
    """0: there are no Metal devices (deltagrad computes on the CPU)."""
    return 0


def synchronize() -> None:
    """Raises RuntimeError, as CPU PyTorch does (there is no Metal device to wait for)."""
    raise _no_backend("deviceSynchronize")


def empty_cache() -> None:
    """Raises RuntimeError, as CPU PyTorch does (there is no Metal allocator)."""
    raise _no_backend("emptyCache")


def manual_seed(seed: int) -> None:
    """Does nothing (whatever ``seed`` is), as on a PyTorch build without Metal; the CPU
    seed is torch.manual_seed."""


def seed() -> None:
    """Raises RuntimeError, as CPU PyTorch does (there is no Metal generator)."""
    raise _no_backend("getDefaultGenerator")


def get_rng_state(device="mps"):
    """Raises RuntimeError, as CPU PyTorch does (there is no Metal generator)."""
    raise _no_backend("getDefaultGenerator")


def set_rng_state(new_state, device="mps") -> None:
    """Raises RuntimeError, as CPU PyTorch does (there is no Metal generator)."""
    raise _no_backend("getDefaultGenerator")


def current_allocated_memory() -> int:
    """Raises RuntimeError, as CPU PyTorch does."""
    raise _no_backend("getCurrentAllocatedMemory")


def driver_allocated_memory() -> int:
    """Raises RuntimeError, as CPU PyTorch does."""
    raise _no_backend("getDriverAllocatedMemory")


def recommended_max_memory() -> int:
    """Raises RuntimeError, as CPU PyTorch does."""
    raise _no_backend("getRecommendedMaxMemory")


def set_per_process_memory_fraction(fraction: float) -> None:
    """Raises RuntimeError, as CPU PyTorch does."""
    raise _no_backend("setMemoryFraction")


def compile_shader(source: str):
    """Raises RuntimeError: there is no Metal device to compile for."""
    raise RuntimeError("MPS is not available")


def load_metallib(path: str):
    """Raises RuntimeError: there is no Metal device to load a library on."""
    raise RuntimeError("MPS is not available")
