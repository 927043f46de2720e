"""Entering ``autocast("cpu")`` reuses its casting wrappers (session 25, SP23).

Each entry used to rebuild its ~164 wrappers (1.6-1.9 ms an entry, a third of a small MLP's AMP
step). The wrappers are now built once, kept with the function each wraps, and swapped in and
out; one whose attribute was replaced since (a monkeypatch, a library's shim) is rebuilt around
the new function. What each wrapper casts to is read when it is called, so one wrapper serves
bfloat16 and float16 entries and nesting.
"""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import amp

torch = pytest.importorskip("torch")


def _counting_builds(monkeypatch) -> list:
    built = []
    original = amp._casting

    def counting(function, *args, **kwargs):
        built.append(function)
        return original(function, *args, **kwargs)

    monkeypatch.setattr(amp, "_casting", counting)
    return built


def test_second_entry_builds_no_wrapper_and_exit_restores(monkeypatch):
    mm, matmul, linear = dg.mm, dg.Tensor.matmul, dg.nn.functional.linear
    with dg.autocast("cpu"):
        first = (dg.mm, dg.Tensor.matmul, dg.nn.functional.linear)
    built = _counting_builds(monkeypatch)
    for kwargs in ({}, {"dtype": dg.float16}, {"dtype": dg.bfloat16, "cache_enabled": False}):
        with dg.autocast("cpu", **kwargs):
            assert (dg.mm, dg.Tensor.matmul, dg.nn.functional.linear) == first
            assert all(f.__wrapped_by_autocast__ is g for f, g in zip(first, (mm, matmul, linear)))
    assert built == []
    assert (dg.mm, dg.Tensor.matmul, dg.nn.functional.linear) == (mm, matmul, linear)
    assert not hasattr(dg.mm, "__wrapped_by_autocast__")


def test_replaced_function_gets_its_own_wrapper(monkeypatch):
    with dg.autocast("cpu"):
        pass  # (the cache holds the original mm's wrapper)
    seen = []

    def patched_mm(a, b):
        seen.append((a.dtype, b.dtype))
        return a.float() @ b.float()

    original = dg.mm
    monkeypatch.setattr(dg, "mm", patched_mm)
    x = dg.ones(2, 2)
    with dg.autocast("cpu"):
        assert dg.mm.__wrapped_by_autocast__ is patched_mm
        dg.mm(x, x)
    assert seen == [(dg.bfloat16, dg.bfloat16)] and dg.mm is patched_mm
    monkeypatch.setattr(dg, "mm", original)
    with dg.autocast("cpu"):  # back to the original: not the stale wrapper of patched_mm
        assert dg.mm.__wrapped_by_autocast__ is original
        assert dg.mm(x, x).dtype == dg.bfloat16
    assert len(seen) == 1 and dg.mm is original


def test_one_wrapper_casts_to_each_entry_dtype_as_pytorch():
    a = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    b = np.random.default_rng(1).standard_normal((4, 2)).astype(np.float32)
    results = []
    for lib in (dg, torch):
        x, y = lib.tensor(a), lib.tensor(b)
        with lib.autocast("cpu", dtype=lib.bfloat16):
            outer = lib.mm(x, y)
            with lib.autocast("cpu", dtype=lib.float16):
                inner = x @ y
                with lib.autocast("cpu", enabled=False):
                    off = lib.mm(x, y)
            again = lib.nn.functional.linear(x, y.T)
        outside = lib.mm(x, y)
        results.append([(str(t.dtype), t.float().numpy().tolist())
                        for t in (outer, inner, off, again, outside)])
    ours, theirs = results
    assert [d for d, _ in ours] == [d.replace("torch", "deltagrad") for d, _ in theirs]
    assert [d for d, _ in ours][:4] == ["deltagrad.bfloat16", "deltagrad.float16",
                                        "deltagrad.float32", "deltagrad.bfloat16"]
    for (_, mine), (_, reference) in zip(ours, theirs):
        np.testing.assert_allclose(mine, reference, rtol=1e-6)
