"""``torch.ao.quantization.quant_type``: the kinds of quantization (names only)."""

from __future__ import annotations

import enum

__all__ = ["QuantType"]


class QuantType(enum.IntEnum):
    """Dynamic, static, weight-only or quantization-aware training."""

    DYNAMIC = 0
    STATIC = 1
    QAT = 2
    WEIGHT_ONLY = 3
