"""Module printing (PyTorch's layout): ``Module.__repr__`` and ``ModuleList.__repr__``, which
groups runs of identical children as ``(0-2): 3 x Linear(...)``. Split out of module.py."""

from __future__ import annotations

from collections.abc import Callable


def module_repr(module, default_repr: Callable) -> str:
    """``repr(module)``: "Name(extra)" for a leaf with a one-line ``extra_repr``, else the extra
    lines and "(name): child" lines indented by two spaces per level. ``default_repr`` is
    ``Module.__repr__`` (a child whose class overrides it prints through its own ``repr``).

    Built from an explicit stack so that very deep models print too.
    """
    lines = []
    stack = [(module, "", 0)]
    while stack:
        item, label, depth = stack.pop()
        pad = "  " * depth
        if isinstance(item, str):  # a closing parenthesis
            lines.append(pad + item)
            continue
        if item is None:
            lines.append(pad + label + "None")
            continue
        if item is not module and type(item).__repr__ is not default_repr:
            own = repr(item).split("\n")
            lines.append(pad + label + own[0])
            lines.extend(pad + line for line in own[1:])
            continue
        extra = item.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        children = list(item._modules.items())
        name = item._get_name()  # (a subclass may override it, as in PyTorch)
        if not children and len(extra_lines) <= 1:
            lines.append(f"{pad}{label}{name}({''.join(extra_lines)})")
            continue
        lines.append(f"{pad}{label}{name}(")
        lines.extend(f"{pad}  {line}" for line in extra_lines)
        stack.append((")", "", depth))
        for key, child in reversed(children):
            stack.append((child, f"({key}): ", depth + 1))
    return "\n".join(lines)


def module_list_repr(module) -> str:
    """``repr(ModuleList)``: consecutive children with equal reprs print once, as
    ``(first-last): count x child`` (PyTorch's; its ``extra_repr`` is not shown)."""
    reprs = [repr(child) for child in module._modules.values()]
    if not reprs:
        return module._get_name() + "()"
    runs: list[list] = []  # [first index, last index, repr]
    for index, text in enumerate(reprs):
        if runs and runs[-1][2] == text:
            runs[-1][1] = index
        else:
            runs.append([index, index, text])
    lines = []
    for first, last, text in runs:
        head = f"({first}): " if first == last else f"({first}-{last}): {last - first + 1} x "
        own = (head + text).split("\n")
        lines.append("\n".join([own[0]] + ["  " + line for line in own[1:]]))
    return module._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"
