"""One call's outcome on deltagrad and on PyTorch, as plain data to compare (session 31, DD3:
shared by test_s28_SL19_fixes and test_s30_SL24_fixes, which each wrote it out).

``same(fn)`` runs ``fn(lib)`` on both libraries and asserts the outcomes equal: ``["ok", the
value]`` with tensors as ``["T", dtype name, values]`` (``strides=True``: ``["T", dtype name,
shape, strides, values as float]``), dicts as ``[[repr(key), value], ...]``, lists / tuples as
their class name then their items; or ``[builtin exception class name]`` when it raised.
"""

from __future__ import annotations

import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def plain(value, *, strides: bool = False):
    """``value`` as comparable data (module docstring)."""
    if isinstance(value, (torch.Tensor, dg.Tensor)):
        if strides:
            return ["T", str(value.dtype).rsplit(".", 1)[-1], tuple(value.shape),
                    tuple(value.stride()), value.detach().float().tolist()]
        return ["T", str(value.dtype).rsplit(".", 1)[-1], value.detach().tolist()]
    if isinstance(value, dict):
        return [[repr(k), plain(v, strides=strides)] for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [type(value).__name__] + [plain(v, strides=strides) for v in value]
    return value


def outcome(lib, fn, *, strides: bool = False) -> list:
    """``["ok", plain(fn(lib))]``, or ``[the builtin class of what it raised]``."""
    try:
        return ["ok", plain(fn(lib), strides=strides)]
    except Exception as exc:  # noqa: BLE001 - the class is what is compared
        return [[k.__name__ for k in type(exc).__mro__ if k.__module__ == "builtins"][0]]


def same(fn, *, strides: bool = False) -> list:
    """PyTorch's outcome of ``fn``, asserted equal to deltagrad's."""
    ours, theirs = outcome(dg, fn, strides=strides), outcome(torch, fn, strides=strides)
    assert ours == theirs
    return theirs
