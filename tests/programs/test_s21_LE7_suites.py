"""opacus's own tests beyond session 16's run under deltagrad's torch alias and under PyTorch
(LE7, s21).

The check of ``le_harness.py``: every test that passes on PyTorch must pass on deltagrad, the
KNOWN entries below aside. ``test_s16_LE_suites.py`` runs opacus 1.6.0's grad_samples/ and
validators/; this file runs the rest of the tests its wheel ships (no fetch: they are inside
the installed package) that import no torchvision (not installed here): the accountants, the
noise-multiplier search, the batch memory manager, the DP data loader and Poisson sampling, the
privacy engine's validation, the randomness / secure-mode tests, the schedulers, the DP layers
(DPMultiheadAttention, DPLSTM), the per-sample-gradient utilities, mixed precision (all skipped
on CPU, on both sides) and the fast-gradient-clipping hooks. Left out, importing torchvision:
privacy_engine_test.py, grad_sample_module_test.py, grad_sample_hooks_test.py,
gradient_accumulation_test.py, module_validator_test.py,
grad_sample_module_fast_gradient_clipping_test.py; multi-GPU / distributed ones (CUDA).

The other libraries of the brief: pytorch-metric-learning 2.9.0 and torchdyn 1.0.6 ship no
tests in their sdists (nor wheels); torcheval 0.0.7's sdist does not build its metadata (its
setup.py reads a requirements.txt it leaves out), so ``pip download`` cannot fetch it;
normflows, tensorly, xitorch, skorch and rtdl were run by sessions 14-16 (test_s14/s15/s16_LE).

Before the s21 fixes (checked in tests/parity/test_s21_LE7_fixes.py; pass on both / pass on
PyTorch only, of the whole selection): 103 / 3 (``torch.normal(mean=0, std=<0-dim tensor>,
size=..., dtype=...)``, the AdaClip optimizer's noise, refused; DPMultiheadAttention.state_dict
calls the entries of ``_state_dict_hooks``, which were tuples). After: 105 / 1 (the
KNOWN entry; the whole selection's soak run passes its check).

Times (s21, a loaded 2-core machine, s, PyTorch / deltagrad): the whole selection about 560
wall, accountants_test.py 229 / 231 (one test 190) and batch_memory_manager_test.py 249 / 185:
under ``-m soak``; the default part below a few seconds of tests per side.
"""

from __future__ import annotations

import pytest
from le_harness import Suite, recording_tests, suite_tests

torch = pytest.importorskip("torch")

_FULL = ("accountants_test.py", "accounting_noise_multiplier_test.py",
         "batch_memory_manager_test.py", "dpdataloader_test.py", "poisson_test.py",
         "privacy_engine_validation_test.py", "randomness_test.py", "schedulers", "dp_layers",
         "per_sample_gradients_utils_test.py", "mixed_precision_test.py",
         "grad_sample_hooks_fast_gradient_clipping_test.py")

_ACCOUNTING = "accountants_test.py::AccountingTest::"

LIBRARIES = {
    "opacus": Suite("opacus", "tests", site=True, full=_FULL, quick=(
        "accounting_noise_multiplier_test.py", "dpdataloader_test.py", "poisson_test.py",
        "privacy_engine_validation_test.py", "randomness_test.py", "schedulers",
        "grad_sample_hooks_fast_gradient_clipping_test.py",
        *(_ACCOUNTING + name for name in ("test_rdp_accountant", "test_gdp_accountant",
                                          "test_prv_accountant",
                                          "test_accountant_load_state_dict")),
        "dp_layers/dp_multihead_attention_test.py::DPMultiheadAttention_test::"
        "test_dp_attn_hook")),
}

# The tests that pass on PyTorch and fail on deltagrad, each with why.
KNOWN = {
    "opacus": {
        "privacy_engine_validation_test.py::PrivacyEngineValidationTest::test_custom_linear_ew":
            "grad_sample_mode='ew' on a module of its own that calls F.linear: PyTorch's "
            "ExpandedWeights work per functional call, deltagrad's call_for_per_sample_grads "
            "per layer class (Linear, Conv1d/2d, Embedding, the norms: NotImplementedError "
            "naming the layer)",
    },
}

# (the default part runs deltagrad's side only, held to PyTorch's outcomes recorded in
# s24_TT2_outcomes/ by prog_s24_TT2_record.py: le_harness's docstring)
quick_results, test_suite_part, test_whole_suite = suite_tests(LIBRARIES, KNOWN, recording=__file__)
test_recording_current, test_recording_rederived = recording_tests(LIBRARIES, __file__)
