"""How recorded values are shown: summaries of large arrays, short stable number text.

Shared by ``trace`` (which records) and ``viz`` (which draws), so neither imports the other's
internals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Summary", "Value", "dtype_name", "format_value"]

_DTYPE_NAMES: dict = {}


@dataclass(frozen=True)
class Summary:
    """Statistics standing in for an array too large to keep or print."""

    shape: tuple
    dtype: str
    norm: float
    mean: float
    min: float
    max: float

    @classmethod
    def of(cls, array: np.ndarray) -> Summary:
        values = np.asarray(array, dtype=np.float64)
        if values.size == 0:
            return cls(tuple(values.shape), str(array.dtype), 0.0, 0.0, 0.0, 0.0)
        return cls(tuple(values.shape), str(array.dtype), float(np.linalg.norm(values)),
                   float(values.mean()), float(values.min()), float(values.max()))

    def __str__(self) -> str:
        return (f"{self.shape} norm={_num(self.norm)} mean={_num(self.mean)} "
                f"min={_num(self.min)} max={_num(self.max)}")

    def to_dict(self) -> dict:
        return {"shape": list(self.shape), "dtype": self.dtype, "norm": self.norm,
                "mean": self.mean, "min": self.min, "max": self.max}


Value = Any  # an ndarray (small), a Summary (large) or None


def dtype_name(dtype) -> str:
    """``str(dtype)``, cached: NumPy builds the name anew on every call, slowly."""
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = str(dtype)
    return name


def _num(v: float) -> str:
    text = f"{float(v) + 0.0:.4g}"
    return "0" if text == "-0" else text


def format_value(value: Value) -> str:
    """A short, stable text for a kept value: numbers to 4 significant digits."""
    if value is None:
        return ""
    if isinstance(value, Summary):
        return str(value)
    array = np.asarray(value)
    if array.ndim == 0:
        return _num(array)
    if array.dtype.kind == "b":
        return np.array2string(array, separator=", ")
    text = np.array2string(array, separator=", ", threshold=1000, max_line_width=10**6,
                           formatter={"all": _num})
    return " ".join(text.split())  # one line, whatever the rank
