"""einsum's own dispatching wrapper (s16 RV): the one-tuple form ``einsum(eq, (a, b))`` reaches
function modes and ``__torch_function__`` overrides as ``einsum(eq, a, b)`` with ``func`` the
function the program calls, as in PyTorch, while the other functions' wrappers leave a
``(str, tuple)`` argument list alone (the unpacking used to be a flag tested in every wrapper)."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _calls_seen_by_a_mode(lib):
    """(name, argument kinds) of the calls a function mode sees, and ``func is lib.einsum``."""

    class Seen(lib.overrides.TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.calls = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            kinds = [type(a).__name__ if not isinstance(a, lib.Tensor) else "T" for a in args]
            self.calls.append((func.__name__, kinds))
            return func(*args, **(kwargs or {}))

    a = lib.tensor(np.arange(6.0).reshape(2, 3))
    b = lib.tensor(np.arange(6.0).reshape(3, 2))
    with Seen() as mode:
        one_tuple = lib.einsum("ij,jk->ik", (a, b))
        one_list = lib.einsum("ij,jk->ik", [a, b])
        flat = lib.einsum("ij,jk->ik", a, b)
        sublist = lib.einsum(a, [0, 1], [1])  # (the sublist form: never taken apart)
        stacked = lib.stack((a, a))  # (a tuple as an argument of another function: kept)
    values = [t.tolist() for t in (one_tuple, one_list, flat, sublist, stacked)]
    return [c for c in mode.calls if c[0] in ("einsum", "stack")], values


def test_a_mode_sees_einsum_calls_as_pytorch():
    got, got_values = _calls_seen_by_a_mode(dg)
    expected, expected_values = _calls_seen_by_a_mode(torch)
    # PyTorch's modes see the one-list forms as called; deltagrad's fx tracer is a mode, so
    # its modes see them taken apart, as PyTorch's __torch_function__ classes do (below).
    assert expected[:2] == [("einsum", ["str", "tuple"]), ("einsum", ["str", "list"])]
    expected[:2] = [("einsum", ["str", "T", "T"])] * 2
    assert got == expected
    assert got[3] == ("einsum", ["str", "T"]) and got[4] == ("stack", ["tuple"])
    for g, e in zip(got_values, expected_values):
        np.testing.assert_allclose(g, e)


_SUBCLASS = """
import numpy as np
import {lib} as m
seen = []
class Logged(m.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func is m.einsum or func is m.add:
            seen.append((func is m.einsum, func is m.add,
                         [type(a).__name__ if not isinstance(a, m.Tensor) else "T"
                          for a in args]))
        return super().__torch_function__(func, types, args, kwargs or {{}})
a = m.ones(2, 3).as_subclass(Logged)
b = m.ones(3, 2).as_subclass(Logged)
out = m.einsum("ij,jk->ik", (a, b))
m.einsum(a, [0, 1], [1])
m.add(a, 1.0)
print(type(out).__name__, out.tolist())
print(seen)
"""


def test_a_subclass_override_gets_einsum_itself_and_flat_operands_as_pytorch():
    # (deltagrad in a fresh process: a Tensor subclass with __torch_function__ arms dispatch
    # for good; PyTorch's arms nothing)
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(_SUBCLASS.format(
        lib="deltagrad"))], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(textwrap.dedent(_SUBCLASS.format(lib="torch")), {})
    assert done.stdout == printed.getvalue()
    assert "[(True, False, ['str', 'T', 'T']), (True, False, ['str', 'T'])" in done.stdout


def test_only_einsum_gets_the_unpacking_wrapper():
    # Armed (a mode), every other function's wrapper is the plain one: einsum's is its own.
    with dg.overrides.BaseTorchFunctionMode():
        einsum_code = dg.einsum.__code__
        others = {dg.add.__code__, dg.matmul.__code__, dg.nn.functional.relu.__code__}
    assert len(others) == 1 and einsum_code not in others
