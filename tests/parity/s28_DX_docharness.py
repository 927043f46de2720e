"""PyTorch's own documentation examples, run differentially: each ``>>>`` block of a docstring
of the installed PyTorch (read at test time, never copied here) runs once under real ``torch``
and once under ``deltagrad`` bound to the name ``torch``, from the same seed, and the text each
line prints (its repr, as an interactive session shows it, or the exception class it raises)
is compared line by line.

The examples print random tensors; deltagrad draws PyTorch's stream (tests/test_random_stream.py),
so the same seed gives the same numbers on both sides. Printed floats are compared at a tolerance
(``same_text``): the rest of the text must match exactly.

Helpers:
- ``targets(obj, prefix)``: sorted ``(qualified name, docstring)`` of the public attributes of a
  module or class whose docstring holds an example;
- ``block(doc)``: the example's source lines (doctest's parser);
- ``run_block(lib, sources, seed)``: what each line prints, or ``"!raises <Class>"``;
- ``compare(sources)``: the first differing line as ``(index, source, torch's, deltagrad's)``,
  or None.
"""

from __future__ import annotations

import builtins
import contextlib
import doctest
import io
import math
import re
import signal
import sys
import warnings

import numpy as np

import deltagrad

_PARSER = doctest.DocTestParser()


def targets(obj, prefix: str):
    """Sorted ``(name, doc)`` pairs of ``obj``'s public attributes with a ``>>>`` example."""
    out = []
    for name in sorted(dir(obj)):
        if name.startswith("_"):
            continue
        try:
            attr = getattr(obj, name)
        except Exception:
            continue
        doc = getattr(attr, "__doc__", None)
        if isinstance(doc, str) and ">>>" in doc:
            out.append((f"{prefix}.{name}", doc))
    return out


# Examples that need what a CPU-only process has not: a GPU, other processes, files the
# example expects to exist. Such a line and every line after it are dropped.
_UNRUNNABLE = re.compile(r"cuda|\.to\(['\"]mps|device=['\"]mps|dist\.|init_process_group|"
                         r"\.pt['\"]|\.pth['\"]|open\(|input\(|matplotlib|plt\.")


def block(doc: str) -> list[str]:
    """The example lines of a docstring, in order (doctest's parser), up to the first line that
    needs a GPU, other processes or files (``_UNRUNNABLE``)."""
    try:
        sources = [ex.source for ex in _PARSER.get_examples(doc)]
    except ValueError:  # a malformed example (inconsistent indentation)
        return []
    for i, src in enumerate(sources):
        if _UNRUNNABLE.search(src):
            return sources[:i]
    return sources


def _exc_name(exc: BaseException) -> str:
    # deltagrad's errors subclass the builtin PyTorch would raise (e.g. ShapeError is a
    # RuntimeError): compare the builtin base, as the program fuzzer does.
    for klass in type(exc).__mro__:
        if getattr(builtins, klass.__name__, None) is klass:
            return klass.__name__
    return type(exc).__name__


@contextlib.contextmanager
def _restored(lib):
    """Runs with the names a program under ``import deltagrad as torch`` prints (``torch.Size``,
    ``torch.float32``: the alias's prefix) and puts back the global state examples change."""
    from deltagrad._engine import dtypes

    prefix = dtypes.PREFIX[0]
    if lib is deltagrad:
        dtypes.PREFIX[0] = "torch"
    dtype = lib.get_default_dtype()
    grad = lib.is_grad_enabled()
    deterministic = (lib.are_deterministic_algorithms_enabled(),
                     lib.is_deterministic_algorithms_warn_only_enabled())
    anomaly = lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()
    precision = lib.get_float32_matmul_precision()
    try:
        yield
    finally:
        dtypes.PREFIX[0] = prefix
        lib.set_default_dtype(dtype)
        lib.set_printoptions(profile="default")
        lib.set_grad_enabled(grad)
        lib.set_default_device(None)
        lib.use_deterministic_algorithms(deterministic[0], warn_only=deterministic[1])
        lib.autograd.set_detect_anomaly(*anomaly)
        lib.set_float32_matmul_precision(precision)
        # (no getter: a process starts with denormals kept, and the examples that flush them
        # are the only ones that touch it)
        lib.set_flush_denormal(False)


def _importer(lib):
    """``__import__`` for the examples: ``import torch.x`` / ``from torch import linalg as LA``
    give ``lib``'s modules (deltagrad's while deltagrad runs; the process has the real PyTorch
    in sys.modules, so the plain import would hand the deltagrad run PyTorch's)."""
    real = builtins.__import__
    if lib is not deltagrad:
        return real

    def load(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and (name == "torch" or name.startswith("torch.")):
            target = "deltagrad" + name[len("torch"):]
            module = real(target, globals, locals, fromlist, level)
            return module if fromlist else deltagrad
        return real(name, globals, locals, fromlist, level)

    return load


def _display(value) -> None:
    # what the interactive prompt shows for an expression line (stdout is redirected)
    if value is not None:
        sys.stdout.write(repr(value) + "\n")


def _module_names(lib, module: str | None) -> dict:
    """The public names of the documented module (``"torch.optim.lr_scheduler"``; deltagrad's
    own under deltagrad), which its examples use bare, as doctest gives a module's globals;
    none where deltagrad lacks the module."""
    if module is None:
        return {}
    import importlib

    name = module if lib is not deltagrad else "deltagrad" + module[len("torch"):]
    try:
        found = importlib.import_module(name)
    except ImportError:
        return {}
    # (not its submodules: ``optimizer`` is deltagrad.optim's submodule, not torch.optim's)
    return {k: v for k, v in vars(found).items()
            if not k.startswith("_") and not isinstance(v, type(math))}


def run_block(lib, sources: list[str], seed: int = 0, module: str | None = None) -> list[str]:
    """What each source line prints under ``lib`` (bound to ``torch``), from ``seed``; with
    ``module``, its public names are bound too (s28 DX2)."""
    namespace = {
        **_module_names(lib, module),
        "__builtins__": dict(vars(builtins), __import__=_importer(lib)),
        "torch": lib,
        "nn": lib.nn,
        "F": lib.nn.functional,
        "np": np,
        "numpy": np,
        "math": math,
        "__name__": "__doc_example__",
    }
    out = []
    hook = sys.displayhook
    with _restored(lib), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lib.manual_seed(seed)
        for src in sources:
            buf = io.StringIO()
            sys.displayhook = _display
            try:
                with contextlib.redirect_stdout(buf):
                    exec(compile(src, "<doc example>", "single"), namespace)
            except Exception as exc:  # noqa: BLE001 - compared by class
                out.append(buf.getvalue() + f"!raises {_exc_name(exc)}")
            else:
                out.append(buf.getvalue())
            finally:
                sys.displayhook = hook
    return out


# An object's address (``<capsule object "dltensor" at 0x7f05e91f7210>``) differs run to run;
# the text of such a repr, address and all, is compared as one placeholder.
_ADDRESS_REPR = re.compile(r"<[^<>\n]* at 0x[0-9a-fA-F]+>")

_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?(?:inf|nan)")


def same_text(a: str, b: str, rtol: float = 1e-4, atol: float = 1e-4) -> bool:
    """True when ``a`` and ``b`` are the same text up to printed numbers that agree within
    ``rtol`` / ``atol`` (roundoff in the last printed digit; nan equals nan)."""
    if a == b:
        return True
    a, b = _ADDRESS_REPR.sub("<object>", a), _ADDRESS_REPR.sub("<object>", b)
    na, nb = _NUMBER.findall(a), _NUMBER.findall(b)
    if len(na) != len(nb) or _NUMBER.sub("#", a) != _NUMBER.sub("#", b):
        return False
    for x, y in zip(na, nb):
        if x == y:
            continue
        fx, fy = float(x), float(y)
        if math.isnan(fx) and math.isnan(fy):
            continue
        if not math.isclose(fx, fy, rel_tol=rtol, abs_tol=atol):
            return False
    return True


def compare(sources: list[str], seed: int = 0, torch_lib=None, skip=(), module=None):
    """The first line whose printed text differs between PyTorch and deltagrad, as
    ``(index, source, torch's text, deltagrad's text)``; None when every line agrees. The
    lines at the indices in ``skip`` run but are not compared (a printed quantity of the size
    of rounding errors, or an ``allclose`` of two results at their own rounding: other bits
    of one LAPACK / FFT than PyTorch's flip it)."""
    if torch_lib is None:
        import torch as torch_lib
    ref = run_block(torch_lib, sources, seed, module)
    got = run_block(deltagrad, sources, seed, module)
    for i, (src, r, g) in enumerate(zip(sources, ref, got)):
        if i not in skip and not same_text(r, g):
            return i, src, r, g
    return None


class _TooSlow(Exception):
    pass


def _alarm(signum, frame):
    raise _TooSlow


def check_example(name: str, doc: str, *, known, skip, time_limit: int, skip_lines=(),
                  module=None) -> None:
    """The documentation-example test of ``name``: skipped where ``skip`` names it, else its
    block compared (``skip_lines`` and ``module`` as ``compare``'s ``skip`` and ``module``)
    within ``time_limit`` seconds of both runs; it must match PyTorch, or still differ where
    ``known`` names it (a fixed entry then fails)."""
    import pytest

    if name in skip:
        pytest.skip(skip[name])
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(time_limit)
    try:
        difference = compare(block(doc), skip=skip_lines, module=module)
    except _TooSlow:
        pytest.fail(f"{name}: the example took more than {time_limit} s (PyTorch's run and "
                    "deltagrad's together)")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    if name in known:
        assert difference is not None, f"{name}: now matches PyTorch: remove its KNOWN entry"
        return
    if difference is not None:
        index, source, want, got = difference
        pytest.fail(f"{name}, line {index}: {source.strip()}\nPyTorch:   {want!r}\n"
                    f"deltagrad: {got!r}")
