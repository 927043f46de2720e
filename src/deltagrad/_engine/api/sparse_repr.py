"""The repr of sparse COO and compressed (CSR) tensors as PyTorch prints them: each part's
body (``indices=tensor([...])``, with its size where empty), then the ``size`` / ``nnz`` /
``dtype`` / ``layout`` / gradient suffixes, wrapped at the print width."""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..printing import PrintOptions, _default_dtypes, _Layout, _nested

INDENT = len("tensor(")


def _body(data: np.ndarray, indent: int) -> str:
    """A part's nested-list text (``_tensor_str``), ``, size=(...)`` added where it is empty."""
    if data.size == 0:
        return "[], size=" + str(tuple(data.shape))
    values = data if data.dtype.kind != "V" else data.astype(np.float32)  # (bfloat16: exact)
    return _nested(values, indent, _Layout(values, data.size > PrintOptions.threshold))


def sparse_repr(parts: list, shape: tuple, nnz: int, values: np.ndarray, layout,
                grad_suffix: str | None, force_newline: bool) -> str:
    """``tensor(<name>=tensor(...),\\n ..., size=..., nnz=..., layout=...)``.

    Args:
        parts: ``(name, ndarray)`` pairs in printing order (``indices``, ``values``).
        shape, nnz: the tensor's size and stored count.
        values: the stored values (their dtype decides the ``dtype=`` suffix).
        layout: printed as ``layout=<layout>``.
        grad_suffix: ``requires_grad=True`` / ``grad_fn=<...>``, or None.
        force_newline: the first suffix on a line of its own (COO), else wrapped at the width.
    """
    pieces = []
    for name, data in parts:
        prefix = f"{name}=tensor("
        pieces.append(prefix + _body(data, INDENT + len(prefix)) + ")")
    text = "tensor(" + (",\n" + " " * INDENT).join(pieces)
    suffixes = [f"size={tuple(shape)}", f"nnz={nnz}"]
    if values.dtype not in _default_dtypes():  # (printed torch.* while aliased)
        suffixes.append("dtype=" + str(dtypes.of(values.dtype)))
    suffixes.append(f"layout={layout!r}")
    if grad_suffix:
        suffixes.append(grad_suffix)
    # NOTE: PyTorch counts the last line as 2 longer than it is; widths use PyTorch's names
    last = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        size = len(suffix.replace("deltagrad.", "torch."))
        if force_newline or last + size + 2 > PrintOptions.linewidth:
            text += ",\n" + " " * INDENT + suffix
            last = INDENT + size
            force_newline = False
        else:
            text += ", " + suffix
            last += size + 2
    return text + ")"


def grad_suffix(tensor, values_require_grad: bool) -> str | None:
    """A sparse tensor's gradient suffix: ``requires_grad=True`` for a leaf, else its node's
    PyTorch name (``grad_fn=<MulBackward0>``)."""
    if not values_require_grad:
        return None
    if tensor.is_leaf:
        return "requires_grad=True"
    # (the class name: name() qualifies PyTorch's C++ nodes, torch::autograd::NotImplemented)
    return f"grad_fn=<{type(tensor.grad_fn).__name__}>"
