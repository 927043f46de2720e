"""``deltagrad.backends.mha``: PyTorch's switch of MultiheadAttention / TransformerEncoderLayer's
inference fast path. Recorded; deltagrad's layers compute the same values either way."""

from __future__ import annotations

__all__ = ["get_fastpath_enabled", "set_fastpath_enabled"]

_fastpath = [True]


def get_fastpath_enabled() -> bool:
    """The switch (True at first, as PyTorch's)."""
    return _fastpath[0]


def set_fastpath_enabled(value: bool) -> None:
    """Set the switch."""
    _fastpath[0] = bool(value)
