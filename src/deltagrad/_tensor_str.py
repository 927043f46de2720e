"""``torch._tensor_str``: the pieces of tensor printing that libraries reuse in the ``__repr__`` of
their own tensor-like classes (PyTorch Geometric's EdgeIndex, for one)."""

from __future__ import annotations

from ._engine.printing import PrintOptions, _Layout, _nested

__all__ = ["PRINT_OPTS", "_add_suffixes", "_str", "_tensor_str"]

# The current print options (``set_printoptions`` changes them; reads see the change).
PRINT_OPTS = PrintOptions


def _tensor_str(self, indent: int) -> str:
    """The nested-list body of ``self``'s repr (``[[1, 2], [3, 4]]``), continuation lines
    indented by ``indent`` columns; summarized past ``PRINT_OPTS.threshold`` elements."""
    data = self._data
    if data.size == 0:
        return "[]"
    return _nested(data, indent, _Layout(data, data.size > PRINT_OPTS.threshold))


def _add_suffixes(tensor_str: str, suffixes: list[str], indent: int,
                  force_newline: bool) -> str:
    """``tensor_str`` with ``, suffix`` parts and the closing parenthesis; a suffix that would
    pass ``PRINT_OPTS.linewidth`` (or the first one, with ``force_newline``) goes on a new line
    indented by ``indent``."""
    parts = [tensor_str]
    last_line = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        if force_newline or last_line + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
            force_newline = False
        else:
            parts.append(", " + suffix)
            last_line += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def _str(self, *, tensor_contents=None) -> str:
    """``repr(self)`` (PyTorch's entry point of tensor printing)."""
    if tensor_contents is not None:
        raise NotImplementedError("torch._tensor_str._str(tensor_contents=...) is not "
                                  "supported by deltagrad")
    return repr(self)
