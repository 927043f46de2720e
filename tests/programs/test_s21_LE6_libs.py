"""Libraries of LE6's brief whose source distributions ship no runnable tests, run through
their public API under PyTorch and under the alias, compared (LE6, session 21;
``prog_s21_LE6_libs.py``): FrEIA 0.2, torchcde 0.2.5, geomloss 0.3.1 (``geomloss.ot``),
mup 1.0.0, lion-pytorch 0.2.5, pytorch-crf 0.7.2, torchdiffeq 0.2.5.

Why programs and not the suites: the sdists of torchdiffeq, torchcde, torch-dct, FrEIA,
torch-ema, lion-pytorch, pytorch-crf, torch-complex and mup ship no tests; geomloss 0.3.1's
two test files import ``tests/generators`` and ``tests/check_ot_result.py``, which its sdist
leaves out (they fail to import on both sides). einops' torch-backend tests (s14), entmax's
(s15) and torch-struct's (s17) already run in the LE suite files.

Found (s21): every value agrees. Two float32 cases are compared in float64 instead, with the
reason beside them in the program: FrEIA's OrthogonalTransform starts from a float32 SVD whose
singular vectors differ by ~20 ulp between LAPACK builds (1.9e-6 on 0.7), and torchcde's
adaptive cdeint amplifies float32 rounding to 5e-5 relative through its step choices.

Times (s21, a loaded 2-core machine): the program about 5 CPU s a side (torchdiffeq's solvers
1.2 s of it, after their tolerances were relaxed from 1e-6: 16 s); this file 16 CPU s with
its servers' start, 38 s wall.
"""

from __future__ import annotations

import os

import alias_runs
import pytest
from alias_runs import run_both

torch = pytest.importorskip("torch")
for _module in ("FrEIA", "torchcde", "geomloss", "mup", "lion_pytorch", "torchcrf",
                "torchdiffeq"):
    pytest.importorskip(_module)

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s21_LE6_libs.py")
RTOL, ATOL = 1e-4, 1e-5  # float32 summation-order differences

# section -> (the key prefixes it records, how many keys at least)
SECTIONS = {
    "freia_couplings": (("freia",), 200), "freia_others": (("freia",), 150),
    "freia_graph": (("fgraph",), 8), "torchcde_interpolations": (("cde",), 60),
    "torchcde_cdeint": (("cdeint",), 20), "geomloss_ot": (("ot",), 50),
    "mup_training": (("mup",), 30), "lion_steps": (("lion",), 12),
    "crf_scores": (("crf",), 40), "torchdiffeq_solvers": (("ode",), 100),
    "torchdiffeq_events": (("event",), 12),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers) of every section, one run per side."""
    # (about 5 CPU s a side; the timeout leaves room for a loaded machine)
    return run_both(PROGRAM, tmp_path_factory.mktemp("s21_LE6"), ",".join(SECTIONS),
                    timeout=900)


@pytest.mark.parametrize("section", list(SECTIONS))
def test_library_section(results, section):
    prefixes, at_least = SECTIONS[section]
    alias_runs.compare_section(results, section, prefixes, at_least, rtol=RTOL, atol=ATOL)
