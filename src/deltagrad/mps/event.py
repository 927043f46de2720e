"""``deltagrad.mps.event``: PyTorch's Metal events; making one raises, as on CPU PyTorch."""

from __future__ import annotations

__all__ = ["Event"]


class Event:
    """A Metal event: there is no Metal device, so making one raises RuntimeError."""

    def __init__(self, enable_timing: bool = False) -> None:
        raise RuntimeError("Cannot execute acquireEvent() without MPS backend.")
