"""Observation harness of session 12's SM sweep: one program, run on torch and on deltagrad.

A case is ``program(lib) -> value`` written once against the PyTorch API; ``observe`` runs it on
one library and turns what a user sees into plain data: tensors as (dtype, shape, rounded values,
requires_grad), sizes as tuples, strings with the library's name replaced, exceptions as the
class name (the first builtin class in its MRO, so that a library's own subclass of RuntimeError
reads as RuntimeError) and, for ``Message`` cases, the text. Warnings raised inside the program
are recorded by category. Tests import this module only after ``pytest.importorskip("torch")``.
"""

from __future__ import annotations

import builtins
import warnings

import numpy as np
import torch

import deltagrad as dg

LIBS = {"torch": torch, "dg": dg}


class Raised:
    """The exception a program raised: its builtin class, and its text for message cases."""

    def __init__(self, error: BaseException, with_text: bool):
        kinds = [k.__name__ for k in type(error).__mro__ if getattr(builtins, k.__name__, None)
                 is k]
        self.kind = kinds[0] if kinds else type(error).__name__
        self.text = _text(str(error)) if with_text else None

    def key(self):
        return ("raises", self.kind, self.text)


def _text(value: str) -> str:
    return value.replace("deltagrad", "torch")


def plain(value, lib):
    """``value`` as comparable plain data (see the module docstring)."""
    if isinstance(value, lib.Tensor):
        array = value.detach().numpy() if value.layout == lib.strided else None
        if array is None:
            return ("sparse", str(value.dtype).split(".")[-1], tuple(value.shape))
        data = array.astype(np.complex128 if array.dtype.kind == "c" else np.float64) \
            if array.dtype.kind in "fc" else array
        return ("tensor", str(value.dtype).split(".")[-1], tuple(value.shape), data.tolist(),
                bool(value.requires_grad))
    if isinstance(value, lib.Size):
        return ("size", tuple(value))
    if isinstance(value, lib.dtype):
        return ("dtype", str(value).split(".")[-1])
    if isinstance(value, dict):
        return {"dict": [(plain(k, lib), plain(v, lib)) for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [plain(v, lib) for v in value]
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, (bool, int, float, type(None))):
        return value
    if isinstance(value, np.ndarray):
        return ("array", value.tolist())
    if isinstance(value, (set, frozenset)):
        return ("set", sorted(plain(v, lib) for v in value))
    if isinstance(value, type):
        return ("class", value.__name__)
    return ("object", type(value).__name__)


def observe(program, lib, with_text: bool = False):
    """Run ``program(lib)``: (plain result or the Raised key, warning categories)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lib.manual_seed(0)
        try:
            result = plain(program(lib), lib)
        except Exception as error:  # noqa: BLE001 - the exception is the observation
            result = Raised(error, with_text).key()
    kinds = sorted({w.category.__name__ for w in caught
                    if not str(w.message).startswith("Named tensors")})
    return result, kinds


def same(got, want) -> bool:
    """Whether two observations agree: exactly, except floating values (float32 rounding:
    relative 1e-5, NaN equal to NaN)."""
    if isinstance(want, tuple) and want[:1] == ("tensor",):
        return (isinstance(got, tuple) and len(got) == len(want) and got[:3] == want[:3]
                and got[4] == want[4] and _close(got[3], want[3]))
    if isinstance(want, (list, tuple)):
        return (type(got) is type(want) and len(got) == len(want)
                and all(same(g, w) for g, w in zip(got, want)))
    if isinstance(want, dict):
        return isinstance(got, dict) and got.keys() == want.keys() and all(
            same(got[k], want[k]) for k in want)
    if isinstance(want, float) and isinstance(got, float):
        return _close(got, want)
    return got == want


def _close(got, want) -> bool:
    a, b = np.asarray(got), np.asarray(want)
    if a.shape != b.shape:
        return False
    if b.dtype.kind not in "fc" or a.dtype.kind not in "fc":
        return bool(np.array_equal(a, b))
    return bool(np.allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True))


def compare(program, with_text: bool = False, warnings_too: bool = True):
    """(deltagrad's observation, PyTorch's): equal when the libraries agree."""
    got, want = observe(program, dg, with_text), observe(program, torch, with_text)
    if not warnings_too:
        got, want = got[0], want[0]
    return got, want
