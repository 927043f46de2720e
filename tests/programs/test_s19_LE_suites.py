"""More libraries' own test suites run under deltagrad's torch alias and under PyTorch (LE, s19).

The check of ``le_harness.py``: every test that passes on PyTorch must pass on deltagrad (no
known entries: every test of the parts below that passes on PyTorch passes on deltagrad, after
the s19 fixes checked in tests/parity/test_s19_LE_fixes.py).

The suites come from the source distributions of wheels pinned in ``.ci/run``, which
``prog_s19_LE_fetch.py`` unpacks into ``.venv/suites/`` (without it these suites skip):
pytorch_wavelets 1.3.0 (its tests compare with PyWavelets and dtcwt; they import py3nvml, and
the fetch writes a conftest that stands in for setuptools' dropped pkg_resources),
torch-pruning 1.6.1, torch-einops-utils 0.2.0, stable-baselines3 2.9.2 and pytorch-ignite
0.5.5 (its metrics folder: every metric against scikit-learn or NumPy, and each again through a
one-process gloo group; its tests import the package ``tests``, so it runs in processes of its
own).

Before the s19 fixes (whole suites, s19 by hand; pass on both / pass on PyTorch only):
torch_pruning 10 / 2 (a batch norm was four or six nodes where PyTorch's is one
NativeBatchNormBackward0; the pieces of a split were a node each where PyTorch's share one, with
its sizes saved), torch_einops_utils 219 / 1 (``torch.empty(obj)`` of an ``__index__`` object),
ignite's metrics 2614 / 114 (``torch.distributed._rank_not_in_group``), pytorch_wavelets 95 / 0,
stable_baselines3's 7 files 258 / 0.
After: 12 / 0, 220 / 0, 2728 / 0, 95 / 0, 258 / 0.
Tests failing on PyTorch too are not held: torch_pruning's 19 files that import torchvision
(not importable under the CPU PyTorch here), pytorch_wavelets' DTCWT tests (its NumPy reference
calls ``np.asfarray``, gone in NumPy 2; nose-style module setup), ignite's that need nltk,
scikit-image, dill or torchvision.

Times (s19, a loaded 2-core machine, PyTorch / deltagrad side, s): the default parts about 10
/ 10 plus each side's start; whole suites: pytorch_wavelets 262 / 301 (test_dtcwt.py 244 /
282), torch_pruning 44 / 36, torch_einops_utils 52 / 3 (test_shape.py's torch.compile test 51
on PyTorch), ignite's metrics 714 / 670, stable_baselines3's files 644 / 620: those run under
``-m soak``.
"""

from __future__ import annotations

import pytest
from le_harness import Suite, recording_tests, suite_tests

torch = pytest.importorskip("torch")

_WAVELETS = ("test_dwt.py", "test_dwt1d.py", "test_dwt_grad.py", "test_dtcwt.py",
             "test_dtcwt_grad.py", "test_coldfilt.py", "test_colfilter.py", "test_rowdfilt.py",
             "test_rowfilter.py", "test_scatnet_fwd.py", "test_scatnet_bwd.py")

_SB3 = ("test_distributions.py", "test_preprocessing.py", "test_spaces.py", "test_buffers.py",
        "test_gae.py", "test_custom_policy.py", "test_sde.py")

LIBRARIES = {
    "pytorch_wavelets": Suite("pytorch_wavelets", "pytorch_wavelets-1.3.0/tests",
                              needs=("pywt", "dtcwt", "py3nvml"), full=_WAVELETS,
                              quick=("test_dwt.py", "test_scatnet_fwd.py")),
    "torch_pruning": Suite("torch_pruning", "torch_pruning-1.6.1/tests", quick=(
        "test_single_channel_output.py", "test_split.py", "test_concat_split.py",
        "test_dependency_lenet.py")),
    "torch_einops_utils": Suite("torch_einops_utils", "torch_einops_utils-0.2.0/tests", quick=(
        "test_utils.py", "test_nn.py", "test_shape.py::test_shape_scalar_extraction",
        "test_shape.py::test_size")),
    # (8 of its 30 files: the others train whole agents, minutes each; test_utils.py needs
    # ale_py)
    "stable_baselines3": Suite("stable_baselines3", "stable_baselines3-2.9.2/tests",
                               needs=("gymnasium",), full=_SB3,
                               quick=("test_preprocessing.py", "test_buffers.py")),
    "ignite": Suite("ignite", "pytorch_ignite-0.5.5/tests", package="tests",
                    needs=("sklearn",), full=("ignite/metrics",),
                    quick=("ignite/metrics/test_loss.py",
                           "ignite/metrics/regression/test_r2_score.py",
                           "ignite/metrics/test_accumulation.py")),
}

# (the default part runs deltagrad's side only, held to PyTorch's outcomes recorded in
# s24_TT2_outcomes/ by prog_s24_TT2_record.py: le_harness's docstring)
quick_results, test_suite_part, test_whole_suite = suite_tests(LIBRARIES, recording=__file__)
test_recording_current, test_recording_rederived = recording_tests(LIBRARIES, __file__)
