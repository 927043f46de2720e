"""A guard on every test under tests/: a test that changes process-wide state and does not put
it back fails.

The suite runs thousands of tests in two worker processes, so a test that leaves a global
setting changed (the default dtype, grad mode, PyTorch's distribution-argument checks, a
transform registered over another) changes what every later test of its worker checks: in
session 14 an import of zuko switched off PyTorch's distribution argument checks, pyro's import
re-registered ``transform_to(positive_definite)`` and a test left the float32 matmul precision at
"high", each found only when an unrelated later test failed in CI. Here the state is read before
each test's set-up and after its teardown (its fixtures included): a difference fails the test
(an error at its teardown naming each value) and is put back, so that the tests after it run as
they would have. It is read for deltagrad, NumPy and real PyTorch (when imported).

Hook wrappers rather than an autouse fixture: an empty autouse fixture alone costs more than the
20 us a test this guard may take (pytest's fixture set-up and teardown). Fixtures wider than a
test (module, package, session) must therefore not change this state: their first and last
tests would fail.
"""

from __future__ import annotations

import gc
import sys

import numpy as np
import pytest

from deltagrad import torch_alias as _dg_alias
from deltagrad._engine import dtypes as _dg_dtypes
from deltagrad._engine import meta as _dg_meta
from deltagrad._engine import modes as _dg_modes
from deltagrad._engine import printing as _dg_printing
from deltagrad._engine import subclassing as _dg_sub
from deltagrad._engine import threads as _dg_threads
from deltagrad._engine.api import settings as _dg_settings
from deltagrad.distributions import Distribution as _DgDistribution
from deltagrad.distributions import constraint_registry as _dg_registry

# NumPy's error state and print options, read through the context variables NumPy 2 keeps them
# in: np.geterr() builds a dict (3.3 us) and np.get_printoptions() copies one (2.1 us), most of
# the guard's cost twice a test; reading the variables takes 0.02 us.
try:
    from numpy._core import umath as _np_umath
    from numpy._core.printoptions import format_options as _np_print_options

    _np_extobj = _np_umath._extobj_contextvar
except (ImportError, AttributeError):  # pragma: no cover - another NumPy: the public calls
    _np_extobj = _np_print_options = None
_errstate: list = [object(), None]  # (NumPy's last error-state object, np.geterr() of it)

_PRINT_FIELDS = ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")

_NAMES = (
    "sys.modules['torch']", "deltagrad torch alias installed", "numpy errstate",
    "numpy printoptions", "deltagrad default dtype", "deltagrad grad mode",
    "deltagrad inference mode", "deltagrad anomaly mode (on, check_nan, strict)",
    "deltagrad saved_tensors_hooks stack", "deltagrad function-mode stack",
    "deltagrad DisableTorchFunction depth", "deltagrad deterministic algorithms (on, warn_only)",
    "deltagrad thread counts set (intra, interop)", "deltagrad thread pool size",
    "deltagrad float32 matmul precision",
    "deltagrad default device is meta", "deltagrad printoptions",
    "deltagrad Distribution validate_args default", "deltagrad transform_to registry",
    "deltagrad biject_to registry",
)
_TORCH_NAMES = (
    "torch default dtype", "torch grad mode", "torch inference mode",
    "torch anomaly mode (on, check_nan)", "torch saved_tensors_hooks top",
    "torch function-mode stack depth", "torch dispatch-mode stack depth",
    "torch deterministic algorithms (on, warn_only)", "torch thread count",
    "torch float32 matmul precision", "torch printoptions",
)
_TORCH_DISTRIBUTIONS_NAMES = (
    "torch Distribution validate_args default", "torch transform_to registry",
    "torch biject_to registry",
)


def _real_torch():
    """PyTorch's module if it is imported, else None (also under deltagrad's alias)."""
    torch = sys.modules.get("torch")
    return torch if torch is not None and torch.__dict__.get("__name__") == "torch" else None


def _numpy_errstate() -> dict:
    if _np_extobj is None:  # pragma: no cover
        return np.geterr()
    current = _np_extobj.get()
    if current is not _errstate[0]:  # (a new state object; its settings may equal the last's)
        _errstate[:] = current, np.geterr()
    return _errstate[1]


def _snapshot() -> tuple:
    """The state's values, in the order of _NAMES, then _TORCH_NAMES and
    _TORCH_DISTRIBUTIONS_NAMES for what of PyTorch is imported."""
    opts = _dg_printing.PrintOptions
    threads = _dg_settings._Threads
    anomaly = _dg_modes._Anomaly
    state = (
        sys.modules.get("torch"), _dg_alias.installed(), _numpy_errstate(),
        np.get_printoptions() if _np_print_options is None else _np_print_options.get(),
        _dg_dtypes._Default.float, _dg_modes._GradMode.enabled,
        _dg_modes._InferenceMode.enabled, (anomaly.on, anomaly.check_nan, anomaly.strict),
        tuple(_dg_modes.saved_hooks), tuple(_dg_sub._STATE.modes), _dg_sub._STATE.disabled,
        (threads.deterministic, threads.warn_only), (threads.intra, threads.interop),
        _dg_threads.count(),
        _dg_settings._MATMUL_PRECISION[0], _dg_meta._State.default_meta,
        (opts.precision, opts.threshold, opts.edgeitems, opts.linewidth, opts.sci_mode),
        _DgDistribution._validate_args, dict(_dg_registry.transform_to._registry),
        dict(_dg_registry.biject_to._registry),
    )
    torch = _real_torch()
    if torch is None:
        return state
    topts = torch._tensor_str.PRINT_OPTS
    state += (
        torch.get_default_dtype(), torch.is_grad_enabled(), torch.is_inference_mode_enabled(),
        (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled()),
        torch._C._autograd._top_saved_tensors_default_hooks(False),
        torch._C._len_torch_function_stack(), torch._C._len_torch_dispatch_stack(),
        (torch.are_deterministic_algorithms_enabled(),
         torch.is_deterministic_algorithms_warn_only_enabled()),
        torch.get_num_threads(), torch.get_float32_matmul_precision(),
        (topts.precision, topts.threshold, topts.edgeitems, topts.linewidth, topts.sci_mode),
    )
    distributions = sys.modules.get("torch.distributions")
    if distributions is None:  # (not imported yet: nothing of it can have changed)
        return state
    return state + (distributions.Distribution._validate_args,
                    dict(distributions.transform_to._registry),
                    dict(distributions.biject_to._registry))


def _changes(before: tuple, after: tuple) -> list:
    """(name, before, after) for each value that differs. Values only one side has are PyTorch
    or its distributions imported by the test (or removed from sys.modules, which the first
    value reports)."""
    names = _NAMES + _TORCH_NAMES + _TORCH_DISTRIBUTIONS_NAMES
    changed = [(name, old, new) for name, old, new in zip(names, before, after) if old != new]
    if changed and changed[0][0] == "sys.modules['torch']" and changed[0][1] is None \
            and changed[0][2] is _real_torch():
        del changed[0]  # (the test imported PyTorch: a first import is no change)
    return changed


def _restore(name: str, value) -> None:
    """Put back one value of ``_snapshot`` (those with a setter; a mode stack or a hook left
    open is only reported)."""
    torch = _real_torch()
    opts = _dg_printing.PrintOptions
    setters = {
        "sys.modules['torch']": lambda: sys.modules.__setitem__("torch", value)
        if value is not None else sys.modules.pop("torch", None),
        "deltagrad torch alias installed": _dg_alias.uninstall,
        "numpy errstate": lambda: np.seterr(**value),
        "numpy printoptions": lambda: _np_print_options.set(value),
        "deltagrad default dtype": lambda: setattr(_dg_dtypes._Default, "float", value),
        "deltagrad grad mode": lambda: setattr(_dg_modes._GradMode, "enabled", value),
        "deltagrad inference mode": lambda: setattr(_dg_modes._InferenceMode, "enabled", value),
        "deltagrad anomaly mode (on, check_nan, strict)":
            lambda: _dg_modes._set_anomaly(*value),
        "deltagrad deterministic algorithms (on, warn_only)":
            lambda: _dg_settings.use_deterministic_algorithms(value[0], warn_only=value[1]),
        "deltagrad thread counts set (intra, interop)":
            lambda: (setattr(_dg_settings._Threads, "intra", value[0]),
                     setattr(_dg_settings._Threads, "interop", value[1])),
        "deltagrad thread pool size": lambda: _dg_threads.set_count(value),
        "deltagrad float32 matmul precision":
            lambda: _dg_settings._MATMUL_PRECISION.__setitem__(0, value),
        "deltagrad default device is meta": lambda: _dg_meta.set_default_meta(value),
        "deltagrad printoptions": lambda: [setattr(opts, field, part)
                                           for field, part in zip(_PRINT_FIELDS, value)],
        "deltagrad Distribution validate_args default":
            lambda: setattr(_DgDistribution, "_validate_args", value),
        "deltagrad transform_to registry":
            lambda: _replace(_dg_registry.transform_to._registry, value),
        "deltagrad biject_to registry": lambda: _replace(_dg_registry.biject_to._registry, value),
    }
    if torch is not None:
        setters.update({
            "torch default dtype": lambda: torch.set_default_dtype(value),
            "torch grad mode": lambda: torch.set_grad_enabled(value),
            "torch anomaly mode (on, check_nan)":
                lambda: torch.set_anomaly_enabled(value[0], value[1]),
            "torch deterministic algorithms (on, warn_only)":
                lambda: torch.use_deterministic_algorithms(value[0], warn_only=value[1]),
            "torch thread count": lambda: torch.set_num_threads(value),
            "torch float32 matmul precision": lambda: torch.set_float32_matmul_precision(value),
            "torch printoptions": lambda: torch.set_printoptions(
                **dict(zip(_PRINT_FIELDS, value))),
            "torch Distribution validate_args default":
                lambda: torch.distributions.Distribution.set_default_validate_args(value),
            "torch transform_to registry":
                lambda: _replace(torch.distributions.transform_to._registry, value),
            "torch biject_to registry":
                lambda: _replace(torch.distributions.biject_to._registry, value),
        })
    if name in setters:
        setters[name]()


def _describe(old, new) -> str:
    if isinstance(old, dict) and isinstance(new, dict):  # (a registry: only what differs)
        keys = [key for key in {**old, **new} if old.get(key, "-") != new.get(key, "-")]
        old, new = ({key: side.get(key, "(none)") for key in keys} for side in (old, new))
    return f"{old!r} -> {new!r}"


def _replace(registry: dict, entries: dict) -> None:
    registry.clear()
    registry.update(entries)


_before: list = [None]  # the snapshot taken before the running test's set-up

# PyTorch's intra-op pool, one thread for the whole run (set once, when PyTorch is first seen
# imported, before a test's snapshot: the guard then sees no change). Its small-tensor kernels
# that go through the pool (softmax, log_sigmoid, reductions) took 5-8 ms CPU a call with two
# threads on this loaded 2-core machine (as in CI, where two xdist workers fill both cores), 2 us
# with one. Session 18, a file's CPU s (pytest alone), loaded (load 8-12) / quiet (load 1.5):
# test_s10_D1_modules 27.5 -> 13.1 / 14.2 -> 8.6, test_parity_sweep 25.3 -> 16.7 / 13.4 ->
# 11.9, test_s12_SM_checkpoints 11.5 -> 7.4 / 8.2 -> 5.5.
# tests/programs' conftest and test_s13_OM_modules already set it per test; subprocesses keep
# their default (alias_runs gives its programs OMP_NUM_THREADS=1).
_torch_pinned: list = [False]


def _pin_torch_threads() -> None:
    torch = _real_torch()
    if torch is not None:
        torch.set_num_threads(1)
        _torch_pinned[0] = True

# (tryfirst: the outermost wrappers, around every other plugin's and conftest's set-up and
# teardown)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item):
    _freeze_survivors()
    _freeze_before_walkers(item)
    if not _torch_pinned[0]:
        _pin_torch_threads()
    _before[0] = _snapshot()
    return (yield)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item, nextitem):
    result = yield
    before, _before[0] = _before[0], None
    after = _snapshot()
    if before is None or after == before:
        return result
    changed = _changes(before, after)
    if not changed:
        return result
    for name, value, _ in changed:
        _restore(name, value)
    lines = "\n".join(f"  {name}: {_describe(old, new)}" for name, old, new in changed)
    raise pytest.fail.Exception(
        "this test changed process-wide state and did not put it back (put back now for the "
        "tests after it; restore it in the test or its fixture, e.g. with try/finally or "
        f"monkeypatch):\n{lines}", pytrace=False)


# After collection each worker holds ~1.3 million objects the cyclic collector would otherwise
# scan again in every full collection (PyTorch, op_db's samples, every test module and its
# parameters): gc.collect() took 0.8-0.95 CPU s there, and the tests that collect or walk the
# graph (gc.get_objects in graph_stats and the optimizers' leak check) paid it each time.
# Frozen, they stay out of it; what the tests create is collected as before.
# reliability/test_memory.py's 1,500-step test after a whole collection: 31.5 -> 2.3 s, its
# graph test 3.9 -> 0.06 s (session 16, this shared 2-core machine).


def pytest_collection_finish(session):
    _pin_torch_threads()
    gc.collect()  # (garbage made while collecting is not frozen with the rest)
    gc.freeze()
    _full_collections[0] = gc.get_stats()[2]["collections"]


# What the tests import later (a library, torch itself where collection did not import it) is
# not frozen with the rest, and each full collection after it scans it again: in the full suite
# reliability/test_memory.py's 1,500-step test took 78.7 s, 2.4 s alone. So before each test's
# set-up (the previous test's fixtures released), where a full collection ran since the last
# look and more than 100,000 objects are in the oldest generation unfrozen, the survivors of one
# more collection are frozen too: one collection then, cheap ones after (1,500 steps after
# importing torch, op_db's samples and transformers: 6.51 -> 0.45 CPU s; the check itself
# ~1 us a test, a list of the oldest generation only after a full collection).
_full_collections = [0]


def _freeze_survivors() -> None:
    done = gc.get_stats()[2]["collections"]
    if done == _full_collections[0]:
        return
    if len(gc.get_objects(2)) > 100_000:
        gc.collect()
        gc.freeze()
        done = gc.get_stats()[2]["collections"]
    _full_collections[0] = done


# The check above waits for a full collection; until one runs, up to a quarter of the last full
# collection's survivors (~300,000 objects after a whole collection) may pile up unfrozen in the
# oldest generation, and a test that collects garbage itself or walks the collector's objects
# (gc.collect, graph_stats, gc.get_objects) rescans them every time: after tests/nn, engine,
# autograd and optim, reliability/test_memory.py's 1,500-step test spent 0.75 of its 1.34 CPU s in
# its 15 gc.collect() calls (alone: 0.37 s in all), and 149 s wall in a longer run on the loaded
# machine (TT1, session 29). So at the first test of a module whose source makes such calls, the
# survivors of one collection are frozen first: one collection a module (a dozen modules).
_WALKS = ("gc.collect(", "graph_stats(", "get_objects(")
_last_module: list = [None]


def _freeze_before_walkers(item) -> None:
    module = getattr(item, "module", None)
    if module is None or module is _last_module[0]:
        return
    _last_module[0] = module
    try:
        with open(module.__file__, encoding="utf-8") as f:
            source = f.read()
    except (AttributeError, TypeError, OSError):
        return
    if any(call in source for call in _WALKS):
        gc.collect()
        gc.freeze()
        _full_collections[0] = gc.get_stats()[2]["collections"]
