"""``deltagrad.mps.profiler``: PyTorch's Metal profiler; every call raises, as on CPU PyTorch."""

from __future__ import annotations

import contextlib

__all__ = ["is_capturing_metal", "is_metal_capture_enabled", "metal_capture", "profile",
           "start", "stop"]


def _no_backend(call: str) -> RuntimeError:
    return RuntimeError(f"Cannot execute {call}() without MPS backend.")


def start(mode: str = "interval", wait_until_completed: bool = False) -> None:
    """Raises RuntimeError: there is no Metal device to profile."""
    raise _no_backend("profilerStartTrace")


def stop() -> None:
    """Raises RuntimeError: there is no Metal device to profile."""
    raise _no_backend("profilerStopTrace")


@contextlib.contextmanager
def profile(mode: str = "interval", wait_until_completed: bool = False):
    """Raises RuntimeError on entry: there is no Metal device to profile."""
    raise _no_backend("profilerStopTrace")
    yield  # (unreachable: makes this a generator for contextmanager)


def _no_capture(name: str) -> AttributeError:
    # CPU PyTorch fails here because its C module lacks the Metal capture hooks.
    return AttributeError(f"module 'torch._C' has no attribute '{name}'")


def is_metal_capture_enabled() -> bool:
    """Raises AttributeError, as CPU PyTorch does (no Metal capture hooks)."""
    raise _no_capture("_mps_isCaptureEnabled")


def is_capturing_metal() -> bool:
    """Raises AttributeError, as CPU PyTorch does (no Metal capture hooks)."""
    raise _no_capture("_mps_isCapturing")


@contextlib.contextmanager
def metal_capture(fname: str):
    """Raises AttributeError on entry, as CPU PyTorch does (no Metal capture hooks)."""
    raise _no_capture("_mps_stopCapture")
    yield  # (unreachable: makes this a generator for contextmanager)
