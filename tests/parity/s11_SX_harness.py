"""Session 11's differential harness: a case is ``fn(m)`` run once with ``m = deltagrad`` and
once with ``m = torch``; what the two return is reduced to what a user sees (values, dtypes,
shapes, nested in tuples / dicts; gradients and aliasing flags are just more returned values)
and compared, or their exceptions compared by class.

``classify`` names the outcome as fuzz_s6.py does: ``same``, ``silent`` (both return, results
differ), ``silent-accept`` (PyTorch raises, deltagrad returns), ``we-raise`` (the reverse) and
``raise-mismatch`` (both raise, deltagrad's exception is not an instance of PyTorch's class).

Imported only after ``pytest.importorskip("torch")``.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

import deltagrad as dg

LIBS = {"dg": dg, "torch": torch}


def plain(value):
    """``value`` with every tensor replaced by ``("tensor", dtype name, shape, array copy)``."""
    if isinstance(value, (torch.Tensor, dg.Tensor)):
        array = np.array(value.detach().numpy(), copy=True)
        return ("tensor", str(value.dtype).rsplit(".", 1)[-1], tuple(value.shape), array)
    if isinstance(value, (torch.Size, dg.Size)):
        return ("size", tuple(value))
    if isinstance(value, (list, tuple)):
        return tuple(plain(v) for v in value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (torch.dtype, dg.dtype)):
        return ("dtype", str(value).rsplit(".", 1)[-1])
    if isinstance(value, np.generic):
        return value.item()
    return value


def run(case, m):
    """``(True, plain(result))`` or ``(False, exception)``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return True, plain(case(m))
    except Exception as error:  # noqa: BLE001 - every class is compared
        return False, error


def _builtin_class(error: BaseException) -> type:
    """The first builtin exception class PyTorch's exception is (its own subclasses map to
    the builtin a user's ``except`` names: torch.AcceleratorError is a RuntimeError)."""
    for cls in type(error).__mro__:
        if cls.__module__ == "builtins":
            return cls
    return Exception


def differ(ours, theirs, path: str = "") -> str:
    """Where two plain results differ ('' if they agree)."""
    if isinstance(theirs, tuple) and theirs and theirs[0] == "tensor":
        if not (isinstance(ours, tuple) and ours and ours[0] == "tensor"):
            return f"{path}: a tensor against {type(ours).__name__}"
        _, t_dtype, t_shape, t_array = theirs
        _, o_dtype, o_shape, o_array = ours
        if o_dtype != t_dtype:
            return f"{path}: dtype {o_dtype} vs {t_dtype}"
        if o_shape != t_shape:
            return f"{path}: shape {o_shape} vs {t_shape}"
        if t_array.dtype.kind in "fc":
            tol = {"float16": 1e-3, "bfloat16": 1e-2, "float32": 1e-5}.get(t_dtype, 1e-10)
            if not np.allclose(o_array, t_array, rtol=tol, atol=tol, equal_nan=True):
                return f"{path}: values {o_array.ravel()[:8]} vs {t_array.ravel()[:8]}"
        elif not np.array_equal(o_array, t_array):
            return f"{path}: values {o_array.ravel()[:8]} vs {t_array.ravel()[:8]}"
        return ""
    if isinstance(theirs, tuple):
        if not isinstance(ours, tuple) or len(ours) != len(theirs):
            return f"{path}: {ours!r:.60} vs {theirs!r:.60}"
        for i, (o, t) in enumerate(zip(ours, theirs)):
            found = differ(o, t, f"{path}[{i}]")
            if found:
                return found
        return ""
    if isinstance(theirs, dict):
        if not isinstance(ours, dict) or set(ours) != set(theirs):
            return f"{path}: keys {sorted(ours) if isinstance(ours, dict) else ours} vs " \
                   f"{sorted(theirs)}"
        for key in theirs:
            found = differ(ours[key], theirs[key], f"{path}.{key}")
            if found:
                return found
        return ""
    if isinstance(theirs, float) and isinstance(ours, (int, float)) and not isinstance(ours, bool):
        return "" if np.isclose(ours, theirs, equal_nan=True) else f"{path}: {ours} vs {theirs}"
    if type(ours) is not type(theirs) or ours != theirs:
        return f"{path}: {ours!r:.60} vs {theirs!r:.60}"
    return ""


def classify(case) -> tuple[str, str]:
    """``(class, detail)`` of one case (see the module docstring)."""
    t_ok, theirs = run(case, torch)
    o_ok, ours = run(case, dg)
    if not t_ok and not o_ok:
        expected = _builtin_class(theirs)
        if isinstance(ours, expected):
            return "same", ""
        return "raise-mismatch", (f"torch {type(theirs).__name__}, ours {type(ours).__name__}: "
                                  f"{str(ours)[:120]}")
    if not t_ok:
        return "silent-accept", f"torch raises {type(theirs).__name__}: {str(theirs)[:120]}"
    if not o_ok:
        return "we-raise", f"{type(ours).__name__}: {str(ours)[:160]}"
    found = differ(ours, theirs)
    return ("silent", found) if found else ("same", "")
