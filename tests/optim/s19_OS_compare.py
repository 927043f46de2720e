"""Run one case under PyTorch and deltagrad and find the first difference between the results.

A case is a function of the library module (``torch`` or ``deltagrad``); what it returns is
reduced to plain data (tensors and NumPy arrays to ``("T", dtype name, shape, values)``), or it
raises, and the outcome becomes ``("ERR", exception class name)``. deltagrad's ShapeError is a
RuntimeError subclass and compares as one.
"""

from __future__ import annotations

import math
import warnings

import numpy as np


def plain(x):
    """Plain data from a case's result: tensors, arrays, dicts, sequences, numbers."""
    if x is None or isinstance(x, (bool, int, str)):
        return x
    if isinstance(x, float):
        return x
    if hasattr(x, "detach") and hasattr(x, "dtype"):  # a tensor of either library
        t = x.detach()
        name = str(t.dtype).split(".")[-1]
        if name == "bfloat16":
            t = t.float()
        return ("T", name, tuple(t.shape), np.asarray(t.numpy()).tolist())
    if isinstance(x, np.ndarray):
        return ("T", x.dtype.name, x.shape, x.tolist())
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return (type(x).__name__ if type(x).__name__ in ("list", "tuple") else "tuple",
                [plain(v) for v in x])
    name = getattr(x, "__name__", None) or type(x).__name__
    return ("obj", str(name).replace("torch.", "").replace("deltagrad.", ""))


def outcome(case, lib):
    """``("OK", plain result)`` or ``("ERR", exception class name)``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ("OK", plain(case(lib)))
        except Exception as error:  # noqa: BLE001 - the class is what is compared
            name = type(error).__name__
            return ("ERR", "RuntimeError" if name == "ShapeError" else name)


def diff(expected, actual, where="", rtol=2e-6, atol=1e-7):
    """The first difference (a string naming where), or None."""
    if isinstance(expected, complex) and isinstance(actual, complex):
        if abs(expected - actual) <= atol + rtol * abs(expected):
            return None
        return f"{where}: {expected!r} vs {actual!r}"
    if isinstance(expected, float) or isinstance(actual, float):
        if not isinstance(expected, (int, float)) or not isinstance(actual, (int, float)):
            return f"{where}: {expected!r} vs {actual!r}"
        if isinstance(expected, bool) != isinstance(actual, bool):
            return f"{where}: {expected!r} vs {actual!r}"
        e, a = float(expected), float(actual)
        if math.isnan(e) and math.isnan(a):
            return None
        if e == a or abs(e - a) <= atol + rtol * abs(e):
            return None
        return f"{where}: {e!r} vs {a!r}"
    if type(expected) is not type(actual):
        return f"{where}: {str(expected)[:120]} vs {str(actual)[:120]}"
    if isinstance(expected, dict):
        if set(expected) != set(actual):
            return f"{where}: keys {sorted(map(str, set(expected) ^ set(actual)))}"
        for key in expected:
            found = diff(expected[key], actual[key], f"{where}.{key}", rtol, atol)
            if found:
                return found
        return None
    if isinstance(expected, (list, tuple)):
        if len(expected) != len(actual):
            return f"{where}: length {len(expected)} vs {len(actual)}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            found = diff(e, a, f"{where}[{i}]", rtol, atol)
            if found:
                return found
        return None
    return None if expected == actual else f"{where}: {expected!r} vs {actual!r}"


def check(case, torch, dg, rtol=2e-6, atol=1e-7):
    """Assert that ``case`` gives the same outcome under both libraries."""
    expected, actual = outcome(case, torch), outcome(case, dg)
    found = diff(expected, actual, "", rtol, atol)
    assert found is None, f"{getattr(case, '__name__', case)}{found}"
