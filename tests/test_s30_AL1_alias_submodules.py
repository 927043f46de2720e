"""Under the torch alias, a submodule whose name its package binds to something else (a
function: ``torch.autograd.gradcheck``, ``torch.nn.utils.weight_norm``,
``torch.ao.quantization.quantize``) stays that something else after ``import torch.X.Y`` /
``from torch.X.Y import Z`` / ``from torch.X import Y``, in every order, as in PyTorch; and the
plain submodules (``torch.fft``, ``torch.nn.utils.rnn``, ...) stay the modules (s30 AL1).

PyTorch imports these submodules from ``import torch`` on, so a later import binds nothing;
the alias's first import of ``torch.autograd.gradcheck`` bound the module onto the package
(``torch.autograd.gradcheck(fn, inputs)`` then raised "'module' object is not callable").
s30_AL1_alias_probe.py runs each import order in a forked child of one process per side
(real torch; ``python -m deltagrad run``) and records, after every statement, what it bound
and what ``torch.<path>`` is; the two records must agree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBE = os.path.join(ROOT, "tests", "s30_AL1_alias_probe.py")

# Attributes of PyTorch's packages that are functions named as a submodule (the probe lists
# them from PyTorch, and the test checks this list covers it) ...
SHADOWED = ["ao.quantization.fuse_modules", "ao.quantization.quantize",
            "ao.quantization.quantize_jit", "autograd.gradcheck", "autograd.variable",
            "distributed.rendezvous", "export.unflatten", "multiprocessing.spawn",
            "nn.parallel.data_parallel", "nn.parallel.parallel_apply", "nn.parallel.replicate",
            "nn.utils.spectral_norm", "nn.utils.weight_norm",
            "package.analyze.find_first_use_of_broken_modules",
            "package.analyze.trace_dependencies", "quantization.fuse_modules",
            "quantization.quantize", "quantization.quantize_jit"]
# ... and submodules that are their package's attribute of that name, or beside a function of
# a similar name (torch.functional / torch.nn.functional; autograd's gradgradcheck).
MODULES = ["autograd.grad_mode", "autograd.forward_ad", "autograd.functional", "autograd.graph",
           "autograd.anomaly_mode", "autograd.profiler", "nn.functional", "functional", "fft",
           "linalg", "special", "sparse", "random", "serialization", "hub", "func", "amp",
           "utils.checkpoint", "utils.data", "nn.init", "nn.utils.rnn", "nn.utils.clip_grad",
           "nn.utils.parametrize", "nn.utils.parametrizations", "nn.utils.prune",
           "nn.utils.stateless", "nn.utils.fusion", "nn.utils.convert_parameters",
           "nn.utils.init", "nn.utils.memory_format", "nn.parallel.comm",
           "nn.parallel.scatter_gather",
           "nn.parallel", "quantization", "ao.quantization", "optim.lr_scheduler", "distributions",
           "testing"]

# deltagrad lacks these modules: an import of them raises ModuleNotFoundError (naming deltagrad),
# the statements before it agree with PyTorch. (The functions themselves exist where listed.)
# (s31 MM1 added distributed.rendezvous, export.unflatten, multiprocessing.spawn and
# nn.parallel's data_parallel / parallel_apply / replicate.)
MISSING = {"package.analyze.find_first_use_of_broken_modules",
           "package.analyze.trace_dependencies"}


def _probe(folder, side: str, paths: list) -> dict:
    out = folder / f"{side}.json"
    prefix = [] if side == "torch" else ["-m", "deltagrad", "run"]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run([sys.executable, *prefix, PROBE, str(out), *paths],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


def _both(folder, paths: list) -> tuple:
    pytest.importorskip("torch")
    return _probe(folder, "torch", paths), _probe(folder, "deltagrad", paths)


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    # every order for the shadowed names; one (the submodule's own import first) for the rest
    paths = [*SHADOWED, *(f"{path}@from_module" for path in MODULES)]
    return _both(tmp_path_factory.mktemp("s30_AL1"), paths)


def test_list_covers_pytorchs_shadowed_submodules(records):
    torch_side, _ = records
    assert sorted(set(torch_side["shadowed"]) - set(SHADOWED)) == []


def test_deltagrad_loads_its_shadowed_submodules(records):
    # an unloaded one: the alias's first import binds it over the package's function (as
    # deltagrad.quantization.quantize_jit did); deltagrad's package must import it at init
    _, ours_side = records
    assert ours_side["unloaded"] == []


@pytest.mark.parametrize("path", SHADOWED + MODULES)
def test_import_orders_bind_as_pytorch(records, path):
    _compare(records, path)


@pytest.mark.soak
def test_every_order_for_the_modules(tmp_path):
    records = _both(tmp_path, MODULES)
    for path in MODULES:
        _compare(records, path)


def _compare(records, path: str) -> None:
    torch_side, ours_side = records
    for order, expected in torch_side["results"][path].items():
        got = ours_side["results"][path][order]
        if path in MISSING:  # (ModuleNotFoundError; ImportError where the function is missing too)
            assert got[-1][1] in ("raise ModuleNotFoundError", "raise ImportError"), (order, got)
            expected, got = expected[:len(got) - 1], got[:-1]
        assert got == expected, (order, got, expected)
