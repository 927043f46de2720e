"""How tensors print: ``repr(tensor)`` as PyTorch writes it, and the options
``deltagrad.set_printoptions`` sets (split from ``tensor``, which re-exports
``PrintOptions``). This module imports NumPy and ``dtypes`` only."""

from __future__ import annotations

import numpy as np

from . import dtypes as _dtypes
from .dtypes import _Default

__all__ = ["PrintOptions", "format_tensor"]

_PLAIN = (np.dtype(np.int64), np.dtype(np.bool_))  # printed without dtype=, as the default float


class PrintOptions:
    """How tensors print (``deltagrad.set_printoptions`` sets these; PyTorch's defaults)."""

    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode = None  # None: NumPy decides; True / False: always / never scientific


def format_tensor(data: np.ndarray, op_name: str | None, requires_grad: bool) -> str:
    """``tensor([...], dtype=..., grad_fn=<op>)`` for a tensor over ``data`` (``op_name`` the op
    that made it, None for a leaf)."""
    options = PrintOptions
    formatter = None
    if options.sci_mode and data.dtype.kind == "f":
        formatter = {"float_kind": lambda v: f"{v:.{options.precision}e}"}
    body = np.array2string(data, precision=options.precision, separator=", ",
                           prefix="tensor(", threshold=options.threshold,
                           edgeitems=options.edgeitems, max_line_width=options.linewidth,
                           suppress_small=options.sci_mode is False, formatter=formatter)
    if data.dtype.kind == "f":
        body = body.replace(".0,", ".,").replace(".0]", ".]")
        if data.ndim == 0 and body.endswith(".0"):
            body = body[:-1]
    extras = []
    if data.dtype != _Default.float and data.dtype not in _PLAIN:
        extras.append(f"dtype={_dtypes.of(data.dtype)}")
    if op_name is not None:
        extras.append(f"grad_fn=<{op_name}>")
    elif requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"
