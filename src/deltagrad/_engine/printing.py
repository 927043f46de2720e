"""How tensors print: ``repr(tensor)`` exactly as PyTorch writes it, and the options
``deltagrad.set_printoptions`` sets (split from ``tensor``, which re-exports ``PrintOptions``).

The rules were worked out by experiment against PyTorch (tests/parity/test_parity_s5_printing.py
compares the two over a table of cases). In short: every element of a tensor is padded to one
width; floats print in one of three modes chosen from the nonzero finite magnitudes (integer
``1.``, fixed ``1.5000`` or scientific ``1.5000e+00``); a tensor of more than ``threshold``
elements keeps ``edgeitems`` at each end of every long dimension; rows wrap at ``linewidth``.
This module imports NumPy, ``dtypes`` and ``node_names`` only.
"""

from __future__ import annotations

import math

import numpy as np

from . import dtypes as _dtypes
from .dtypes import _Default
from .modes import _Recording
from .node_names import grad_fn_name, named_node, torch_node_name

__all__ = ["PrintOptions", "format_tensor", "grad_fn_name", "tensor_repr"]


class PrintOptions:
    """How tensors print (``deltagrad.set_printoptions`` sets these; PyTorch's defaults)."""

    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode = None  # None: decided per tensor; True / False: always / never scientific


def is_parameter(tensor) -> bool:
    """Whether ``tensor`` is a marked ``nn.Parameter``: nn.module, a layer above the engine,
    replaces this function with its own test when it is imported."""
    return False


# Marks a tensor as an ``nn.Parameter`` (nn.module sets it, as is_parameter): the legacy
# constructor's ``type(p)(tensor, requires_grad=...)`` of a parameter (api/creation.py).
mark_parameter = None


class _Formatter:
    """Formats the values of one real array (all of a tensor's, or its summary's) to one width."""

    def __init__(self, values: np.ndarray):
        self.floating = values.dtype.kind == "f"
        self.int_mode = True  # floats that are all whole print as "2."
        self.sci_mode = False
        self.width = 1
        flat = values.reshape(-1)
        if not self.floating:
            for value in flat.tolist():
                self.width = max(self.width, len(str(value)))
            return
        finite = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if finite.size:
            magnitudes = np.abs(finite)
            low, high = float(magnitudes.min()), float(magnitudes.max())
            self.int_mode = bool(np.all(np.ceil(finite) == finite))
            # PyTorch's thresholds: a spread over 1000 or a value over 1e8 (or, for fractions,
            # one under 1e-4) switches to scientific notation.
            self.sci_mode = high / low > 1000.0 or high > 1.0e8 or (
                not self.int_mode and low < 1.0e-4)
            # NOTE: as PyTorch, a forced mode applies only where some value is finite and
            # nonzero (zeros, nan and inf alone always print as "0.", "nan", "inf").
            if PrintOptions.sci_mode is not None:
                self.sci_mode = bool(PrintOptions.sci_mode)
            for value in finite.tolist():
                self.width = max(self.width, len(self.format(value)))

    def format(self, value) -> str:
        if self.floating:
            value = float(value)
            if self.sci_mode:
                text = f"{value:.{PrintOptions.precision}e}"
            elif self.int_mode:
                text = f"{value:.0f}"
                if math.isfinite(value):
                    text += "."
            else:
                text = f"{value:.{PrintOptions.precision}f}"
        else:
            text = str(value)
        return text.rjust(self.width)


class _Layout:
    """The formatters of one tensor (a second one for imaginary parts) and its summary flag."""

    def __init__(self, data: np.ndarray, summarize: bool):
        shown = _summary(data) if summarize else data
        self.summarize = summarize
        if data.dtype.kind == "c":
            self.real, self.imag = _Formatter(shown.real), _Formatter(shown.imag)
        else:
            self.real, self.imag = _Formatter(shown), None

    def element_width(self) -> int:
        width = self.real.width
        if self.imag is not None:
            width += self.imag.width + 1  # the "j"
        return width

    def value(self, value) -> str:
        if self.imag is None:
            return self.real.format(value)
        real = self.real.format(value.real)
        imag = (self.imag.format(value.imag) + "j").lstrip()
        return real + imag if imag[0] in "+-" else real + "+" + imag


def _long(size: int) -> bool:
    return size > 2 * PrintOptions.edgeitems


def _edges(size: int) -> list[int]:
    edge = PrintOptions.edgeitems
    return list(range(edge)) + list(range(size - edge, size))


def _vector_edges(size: int) -> list[int]:
    # A 1-d tensor's, PyTorch's slices [:edge] and [-edge:]: a negative edgeitems, -1, shows
    # all but the last and all but the first (its rows of more dims are ranges, as _edges;
    # none at all is its RuntimeError; s28 SL17).
    edge, index = PrintOptions.edgeitems, range(size)
    return list(index[:edge]) + list(index[-edge:])


def _summary(data: np.ndarray) -> np.ndarray:
    """The elements a summarised print shows (what its widths and modes are measured on)."""
    if data.ndim == 0 or not PrintOptions.edgeitems:
        return data  # with no edge items nothing is shown but "..."
    if data.ndim == 1:
        return data[_vector_edges(data.shape[0])] if _long(data.shape[0]) else data
    rows = _edges(data.shape[0]) if _long(data.shape[0]) else range(data.shape[0])
    if not rows:  # (a negative edgeitems: PyTorch's summary stacks nothing)
        raise RuntimeError("stack expects a non-empty TensorList")
    return np.stack([_summary(data[i]) for i in rows])


def _vector(data: np.ndarray, indent: int, layout: _Layout) -> str:
    per_line = max(1, (PrintOptions.linewidth - indent) // (layout.element_width() + 2))
    size = data.shape[0]
    if layout.summarize and not PrintOptions.edgeitems:
        items = ["..."]
    elif layout.summarize and _long(size):
        edge = PrintOptions.edgeitems
        items = ([layout.value(v) for v in data[:edge].tolist()] + [" ..."]
                 + [layout.value(v) for v in data[-edge:].tolist()])
    else:
        items = [layout.value(v) for v in data.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(data: np.ndarray, indent: int, layout: _Layout) -> str:
    if data.ndim == 0:
        return layout.value(data.item())
    if data.ndim == 1:
        return _vector(data, indent, layout)
    size = data.shape[0]
    if layout.summarize and _long(size):
        edge = PrintOptions.edgeitems
        rows = ([_nested(data[i], indent + 1, layout) for i in range(edge)] + ["..."]
                + [_nested(data[i], indent + 1, layout) for i in range(size - edge, size)])
    else:
        rows = [_nested(data[i], indent + 1, layout) for i in range(size)]
    return "[" + ("," + "\n" * (data.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _default_dtypes() -> tuple:
    default = _Default.float
    complex_default = np.dtype(np.complex128 if default == np.float64 else np.complex64)
    return default, complex_default, np.dtype(np.int64), np.dtype(np.bool_)


def format_tensor(data: np.ndarray, grad_fn: str | None = None,
                  requires_grad: bool = False, name: str = "tensor", tangent=None) -> str:
    """``tensor([...], dtype=..., grad_fn=<Name>)`` as PyTorch prints a tensor over ``data``.

    Args:
        data: the values (any shape, any dtype deltagrad has).
        grad_fn: the name to print as ``grad_fn=<...>`` (None for a leaf).
        requires_grad: whether a leaf prints ``requires_grad=True``.
        name: what goes before the bracket (a Tensor subclass prints its class name).
        tangent: a forward-AD tangent, printed as ``tangent=`` (a 0-d one as its number).

    Returns:
        The text, with deltagrad's dtype names (``dtype=deltagrad.int32``).

    >>> import numpy as np
    >>> format_tensor(np.array([0.5, 1.25, 3.0], np.float32))
    'tensor([0.5000, 1.2500, 3.0000])'
    >>> format_tensor(np.zeros((0, 2), np.int32))
    'tensor([], size=(0, 2), dtype=deltagrad.int32)'
    """
    prefix = f"{name}("
    indent = len(prefix)
    suffixes = []
    dtype_suffix = "dtype=" + str(_dtypes.of(data.dtype))
    if data.size == 0:
        body = "[]"
        if data.ndim != 1:
            suffixes.append("size=" + str(tuple(data.shape)))
        if data.dtype != _Default.float:
            suffixes.append(dtype_suffix)
    else:
        summarize = data.size > PrintOptions.threshold
        values = data if data.dtype.kind != "V" else data.astype(np.float32)  # (bfloat16: exact)
        body = _nested(values, indent, _Layout(values, summarize))
        if not PrintOptions.edgeitems:
            suffixes.append("size=" + str(tuple(data.shape)))  # as PyTorch, even when all show
        if data.dtype not in _default_dtypes():
            suffixes.append(dtype_suffix)
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{grad_fn}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    if tangent is not None:
        suffixes.append(f"tangent={tangent}")
    return _with_suffixes(prefix + body, suffixes, indent) + ")"


def _with_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    # NOTE: PyTorch counts the last line as 2 longer than it is until a suffix wraps; widths are
    # measured with PyTorch's module name so that lines break where PyTorch's do.
    last = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        size = len(suffix.replace("deltagrad.", "torch."))
        if last + size + 2 > PrintOptions.linewidth:
            text += ",\n" + " " * indent + suffix
            last = indent + size
        else:
            text += ", " + suffix
            last += size + 2
    return text


def tensor_repr(tensor) -> str:
    """``repr(tensor)`` as PyTorch's (``Parameter containing:`` above a parameter's)."""
    data = tensor._data
    grad_fn = None
    if tensor._op is not None:
        grad_fn = named_node(tensor) or torch_node_name(tensor._op, tensor._attrs, tensor._inputs,
                                                          tensor)
    # (a Tensor subclass prints its own name, as PyTorch's: ``Image([...])``)
    cls = type(tensor)  # (deltagrad's own classes show as torch.* while aliased)
    name = ("tensor" if cls.__module__.partition(".")[0] in ("deltagrad", "torch")
            else cls.__name__)
    requires_grad, tangent = tensor._rg, None
    if requires_grad and _Recording.tangent_of is not None:  # (a dual level: as PyTorch's,
        # requires_grad / grad_fn as the tensor reports them, and its tangent; s31 BR26)
        requires_grad = tensor.requires_grad
        grad_fn = grad_fn if requires_grad else None
        tangent = _Recording.tangent_of(tensor)
        if tangent is not None:  # (its own tangent not printed, as PyTorch's: no recursion)
            hook, _Recording.tangent_of = _Recording.tangent_of, None
            try:
                tangent = format(tangent)  # (a 0-d one as its number, as PyTorch's f-string)
            finally:
                _Recording.tangent_of = hook
    text = format_tensor(data, grad_fn, requires_grad, name=name, tangent=tangent)
    return "Parameter containing:\n" + text if is_parameter(tensor) else text
