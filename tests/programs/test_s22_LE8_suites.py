"""sbi's last 15 test files and opacus's 6 that import torchvision, run under deltagrad's torch
alias and under PyTorch (LE8, s22).

The check of ``le_harness.py``: every test that passes on PyTorch must pass on deltagrad, the
KNOWN entries below aside.

sbi 0.27.0: its sdist's tests, unpacked by ``prog_s20_LE2_fetch.py`` (sessions 20 and 21 ran
the other 31 files: test_s20_LE2_suites.py, test_s21_LE5_suites.py). The 15 here are those with
tests outside its slow / mcmc / gpu / benchmark marks (6 more have none: bm, snre, mcmc,
multiprocessing, posterior_sampler, scale_equivariance; tutorials_test.py needs nbformat):
5,412 tests, 4,951 of them density_estimator / vector_field_nets / plot parametrizations.

opacus 1.6.0: the 6 files of its wheel's tests that import torchvision (session 21's LE7 ran
the rest: test_s21_LE7_suites.py). torchvision lives in ``.venv/tv-extra`` (see
test_s10_V1_torchvision.py), put on the runs' path with LE9's plugin ``s22_LE9_tvplugin``
(through ``PYTEST_PLUGINS``), which declares the two op schemas torchvision's import needs
under the real CPU PyTorch. Without it this suite skips.

botorch 0.18.1's and captum 0.9.0's sdists ship no tests (their ``test/`` / ``tests/`` stay
in their repositories): botorch's public API is compared by test_s22_LE8_libs.py instead,
captum's own test configuration by test_s20_LE3_libs.py (session 20). Nothing new to fetch.

Results (s22, by hand; pass on both / pass on PyTorch only): opacus's five smaller files 80 / 0
(2 skipped on both: multi-device); sbi, a first selection of 71 tests across its 10 cheaper
functions of these files, 64 / 0 (circular_import_test.py fails on both sides: sbi's conftest finds
torch's global ``Distribution._validate_args`` changed after it). deltagrad's side alone
(PyTorch's not run: nothing failed there but that test): opacus's privacy_engine_test.py 224
passed, 32 skipped; sbi's nine smaller files (abc, analysis, circular_import,
inference_on_device, inference_with_NaN_simulator, linearGaussian_snle / snpe /
vector_field, vi) 126 passed, 14 skipped, 1 failed (circular_import, above). sbi's six big
files (density_estimator, embedding_net, plot, score_samplers, vector_field_nets,
vf_estimator: ~5,270 tests) were not run whole: their soak run here is yet to be checked.

Times (s22, a 2-core machine at load ~12-15, test time in s, PyTorch / deltagrad): opacus's
five smaller files 100 / 20; sbi's selection 1013 / 1011 (embedding_net_test.py's
test_1d_fc_embedding_net 748 / 784, vi_test.py's test_vi_posterior_interface 189 / 147): under
``-m soak`` with the rest. The default run's part is a few tests of each.
"""

from __future__ import annotations

import os

import pytest
from le_harness import HERE, ROOT, Suite, recording_tests, suite_tests

torch = pytest.importorskip("torch")

_FAST = "-m=not slow and not mcmc and not gpu and not benchmark"

_SBI = ("abc_test.py", "analysis_test.py", "circular_import_test.py",
        "density_estimator_test.py", "embedding_net_test.py", "inference_on_device_test.py",
        "inference_with_NaN_simulator_test.py", "linearGaussian_snle_test.py",
        "linearGaussian_snpe_test.py", "linearGaussian_vector_field_test.py", "plot_test.py",
        "score_samplers_test.py", "vector_field_nets_test.py", "vf_estimator_test.py",
        "vi_test.py", _FAST)

_EXTRA = os.path.join(ROOT, ".venv", "tv-extra")
_OPACUS = ("privacy_engine_test.py", "grad_sample_module_test.py", "grad_sample_hooks_test.py",
           "gradient_accumulation_test.py", "module_validator_test.py",
           "grad_sample_module_fast_gradient_clipping_test.py")

LIBRARIES = {
    "sbi_rest": Suite("sbi", "sbi-0.27.0/tests", needs=("pytest_harvest",), alone=True,
                      full=_SBI, quick=(
                          "analysis_test.py", "density_estimator_test.py::"
                          "test_mixed_density_estimator", "vf_estimator_test.py::"
                          "test_ve_lognormal_no_nan_with_extreme_params",
                          "abc_test.py::test_mcabc_eps_too_small",
                          "abc_test.py::test_lra_correctness", "plot_test.py::"
                          "test_plotting_fails_for_insufficient_sample_label_length")),
}
if os.path.isdir(os.path.join(_EXTRA, "torchvision")):
    LIBRARIES["opacus_tv"] = Suite(
        "opacus", "tests", site=True, full=_OPACUS, alone=True,
        env={"PYTHONPATH": os.pathsep.join((os.path.join(ROOT, "src"), _EXTRA, HERE)),
             "PYTEST_PLUGINS": "s22_LE9_tvplugin"},
        quick=("grad_sample_module_test.py", "grad_sample_hooks_test.py"))

# The tests that pass on PyTorch and fail on deltagrad, each with why.
KNOWN: dict = {}

# (the default part runs deltagrad's side only, held to PyTorch's outcomes recorded in
# s24_TT2_outcomes/ by prog_s24_TT2_record.py: le_harness's docstring)
quick_results, test_suite_part, test_whole_suite = suite_tests(LIBRARIES, KNOWN, recording=__file__)
test_recording_current, test_recording_rederived = recording_tests(LIBRARIES, __file__)
