"""botorch 0.18.1 through its public API under PyTorch and under the alias, compared (LE8,
session 22; ``prog_s22_LE8_botorch.py``): model posteriors (two-output, fixed-noise, model-list,
multi-task, multi-fidelity, conditioned on new observations), analytic and Monte-Carlo
acquisitions with their input gradients (log EI / PI, posterior mean / std, qEI, qPI, qSR,
qNEI, qLogNEI, the one-shot knowledge gradient), multi-objective utilities (Pareto fronts,
hypervolumes, box decompositions, qEHVI, qLogNEHVI), test functions, transforms, samplers, and
``optimize_acqf`` (its seeded initial conditions and scipy's L-BFGS-B steps).

Why a program and not botorch's suite: its sdist and wheel ship no tests (``test/`` stays in
its repository), nor does captum's (session 20's ``prog_s20_LE3_libs.py`` runs captum's own
test configuration table through every attribution method instead).

Found and fixed (s22, tests/parity/test_s22_LE8_fixes.py): ``tensor * op`` for a
linear_operator ``LinearOperator`` raised NotImplementedError (the multi-fidelity kernel's
``bias_factor * covar_biased``; LinearOperator keys ``torch.Tensor.mul`` in its class body,
before deltagrad gave Tensor's methods their dispatching wrappers). Every value agrees after.

Times (s22, a 2-core machine at load ~12): the program 1.4 / 1.6 CPU s (PyTorch / deltagrad,
``DELTAGRAD_TEST_RUN_LOG``) forked from the servers; the whole file ~10 CPU s, 72-78 s wall.

Time (s24, TT4): session 23's ~100 s for this file's fixture was botorch's qLogNEHVI
JIT-compiling its fused C++ kernel on the PyTorch side (``torch.utils.cpp_extension.load``,
cached in ``~/.cache/torch_extensions``, rebuilt whenever that cache is cold or another build
command overwrote it): the PyTorch side's multi_objective section alone 36.5 CPU s / 287 s wall
with an empty cache, 3.0 CPU s without the compile (load ~10). The program now marks the kernel
as tried, so both sides run botorch's pure-Python path (deltagrad's always did: it builds no
C++) and no run compiles; the whole file 9.6 CPU s (10.4 before with a warm cache, ~47 with a
cold one).
"""

from __future__ import annotations

import importlib.util
import os

import alias_runs
import pytest
from alias_runs import run_both

torch = pytest.importorskip("torch")
# (found, not imported: botorch imports pyro, which registers its transforms in PyTorch's
# transform_to registry and changes Transform pickling for every later test in this process)
if importlib.util.find_spec("botorch") is None:
    pytest.skip("botorch is not installed", allow_module_level=True)

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s22_LE8_botorch.py")
# (float64 throughout; botorch's linear algebra through gpytorch's CG / Lanczos is exact
# Cholesky at these sizes, so differences are of summation order)
RTOL, ATOL = 1e-6, 1e-8

# section -> (the key prefixes it records, how many keys at least)
SECTIONS = {
    "models": (("models",), 30), "acquisitions": (("acq",), 40),
    "multi_objective": (("mo",), 14), "utilities": (("util",), 28),
    "optimize": (("optim",), 4),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers) of every section, one run per side."""
    return run_both(PROGRAM, tmp_path_factory.mktemp("s22_LE8"), ",".join(SECTIONS),
                    timeout=900)


@pytest.mark.parametrize("section", list(SECTIONS))
def test_botorch_section(results, section):
    prefixes, at_least = SECTIONS[section]
    alias_runs.compare_section(results, section, prefixes, at_least, rtol=RTOL, atol=ATOL)
