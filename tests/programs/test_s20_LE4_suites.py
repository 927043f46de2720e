"""More libraries' own test suites run under deltagrad's torch alias and under PyTorch (LE4, s20).

The check of ``le_harness.py``: every test that passes on PyTorch must pass on deltagrad, the
KNOWN entries below aside.

The suites come from the source distributions of wheels pinned in ``.ci/run``, which
``prog_s20_LE4_fetch.py`` unpacks into ``.venv/suites/``  (without it these suites skip):
POT 0.9.7.post1 (its tests with the torch backend only: ``-k torch`` picks the tests whose
``nx`` fixture is the torch backend, which the fetch's conftest makes the only one, and
``_POT_DIRECT`` the tests that import torch themselves; the tests that use NumPy alone are not
run; test_helpers.py fails to import on both sides: its ``openmp_helpers`` module is built in
POT's repository, not shipped) and torchquad 0.6.0 (its sdist's one test file: a deployment
check that integrates with each of its integrators on the torch backend).
Libraries of the brief left out, and why, are listed in the fetch program's docstring.

Before the s20 fix (checked in tests/parity/test_s20_LE4_fixes.py; pass on both / pass on
PyTorch only): POT 757 / 3 (a sparse COO cost passed to POT's autograd.Function: forward read
its storage's ``flags``, and its gradient never reached it), torchquad 3 / 0. After: 760 / 0
and 3 / 0.

Times (s20, a loaded 2-core machine, s): POT's whole selection 756 on PyTorch, 786 and (less
loaded) 290 on deltagrad, test_solvers.py two thirds of it: under ``-m soak``; the default
part (six of POT's files, torchquad) about 20 CPU s with both sides' starts.
"""

from __future__ import annotations

import pytest
from le_harness import Suite, recording_tests, suite_tests

torch = pytest.importorskip("torch")

# The tests that use torch without the ``nx`` fixture (ids without "torch"), by name.
_POT_DIRECT = ("test_get_backend_sparse_matrix", "test_gradients_backends",
               "test_sinkhorn2_gradients", "test_empirical_sinkhorn_divergence_gradient",
               "test_TFGW_optim", "test_TFGW_variants", "test_TW_variants", "test_TW",
               "test_emd2_gradients", "test_free_support_barycenter_generic_costs_auto_ground_bary",
               "test_emd2_sparse_gradients", "test_emd2_sparse_vs_dense_gradients",
               "test_partial_wasserstein2_gradient",
               "test_entropic_partial_wasserstein_gradient", "test_solve_last_step",
               "test_solve_detach", "test_solve_envelope")
_POT_K = "-k=torch or " + " or ".join(_POT_DIRECT)

LIBRARIES = {
    # (alone: the -k of its processes would deselect the other suites' tests)
    "ot": Suite("ot", "pot-0.9.7.post1/test", full=(".", _POT_K), alone=True,
                quick=("test_ot.py", "test_backend.py", "test_utils.py", "test_sgot.py",
                       "test_1d_solver.py", "test_gmm.py", _POT_K)),
    "torchquad": Suite("torchquad", "torchquad-0.6.0/tests", quick=("test_deployment.py",)),
}

# (the default part runs deltagrad's side only, held to PyTorch's outcomes recorded in
# s24_TT2_outcomes/ by prog_s24_TT2_record.py: le_harness's docstring)
quick_results, test_suite_part, test_whole_suite = suite_tests(LIBRARIES, recording=__file__)
test_recording_current, test_recording_rederived = recording_tests(LIBRARIES, __file__)
