"""More libraries' own test suites run under deltagrad's torch alias and under PyTorch (LE, s18).

The check of ``le_harness.py``: every test that passes on PyTorch must pass on deltagrad
(no known entries: every test of the parts below that passes on PyTorch passes on deltagrad).

The suites: opt_einsum ships its tests inside its wheel (its torch-backend tests, ``-k torch``);
ptwt 1.0.1 and einx 0.4.3 in their source distributions, which ``prog_s18_LE_fetch.py`` unpacks
into ``.venv/suites/`` (``.ci/run`` calls it; without it those suites skip). einx's wheel also
puts its tests into a top-level ``test`` package that unfoldNd's wheel writes into too, so the
sdist's copy is run. ptwt imports its helpers as the package ``tests`` and einx its
``conftest`` (which parametrizes every test over numpy's and torch's backends, some through
``torch.compile``), so each runs in processes of its own. All of it runs under ``-m soak``
(opt_einsum's part took 4.9 s, and its torch backend is run by default in
test_s8_T6_third_party.py; ptwt's fixes are checked by default in test_s18_LE_fixes.py).
ptwt's tests that read ``scipy.datasets`` need pooch (not installed): they fail on both sides
and are not held.
ptwt's whole suite (thousands of tests) does not finish on PyTorch in 30 minutes here: its
soak part is the files checked by hand on deltagrad in s18 (all their tests pass there but
those needing pooch; before the s18 fixes 50 of test_cwt.py's and test_matrix_fwt.py's 557
failed). Of the others, test_sparse_math.py passes on deltagrad too (46; 542 need pooch), and
test_jit.py's first jit test expects torch.jit.trace's TracerWarning, which deltagrad's trace
(no TorchScript graph) never gives. einx's soak run took 28 minutes here, nearly all of it
PyTorch compiling its ``torch.compile`` parametrizations (deltagrad's side: 3 minutes); its
test_shapes.py is left out (it did not finish on deltagrad in 8 minutes).

Of the other libraries looked at (s18): captum, pytorch-metric-learning, torchdiffeq, kornia,
torchmetrics, torch-ema, lion-pytorch, vector-quantize-pytorch, botorch, torchjd, torchode,
torchcde and torch-dct ship no tests in their sdists (captum only its ``captum.testing``
helpers); pytorch-msssim's are scripts comparing with TensorFlow / scikit-image; piq's and
POT's sdists do not build (``pip download --no-binary``); geomloss's tests need helper modules
its sdist leaves out.
"""

from __future__ import annotations

import pytest
from le_harness import Suite, recording_tests, suite_tests

torch = pytest.importorskip("torch")

# (the files checked by hand in s18; the whole suite did not finish on PyTorch in 30 minutes)
_PTWT_SOAK = ("test_util.py", "test_wavelet.py", "test_swt.py", "test_cwt.py",
              "test_matrix_fwt.py", "test_matrix_fwt_2.py")

LIBRARIES = {
    "opt_einsum": Suite("opt_einsum", "tests", site=True, full=("test_backends.py", "-k=torch")),
    "ptwt": Suite("ptwt", "ptwt-1.0.1/tests", package="tests", needs=("pywt", "scipy"),
                  full=_PTWT_SOAK),
    "einx": Suite("einx", "einx-0.4.3/test", alone=True,
                  full=("test_values.py", "test_adapt.py", "test_tensor_conversion.py",
                        "test_compare_libs.py")),
}

quick_results, test_suite_part, test_whole_suite = suite_tests(LIBRARIES, recording=__file__)
test_recording_current, test_recording_rederived = recording_tests(LIBRARIES, __file__)
