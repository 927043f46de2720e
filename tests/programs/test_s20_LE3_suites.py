"""More libraries' own test suites run under deltagrad's torch alias and under PyTorch (LE3, s20).

The check of ``le_harness.py``: every test that passes on PyTorch must pass on deltagrad.

The suites, from the sdists of the wheels pinned in ``.ci/run``, which ``prog_s20_LE3_fetch.py``
unpacks into ``.venv/suites/`` (without it they skip): schedulefree 1.4.1
(``schedulefree/test_schedulefree.py``: every schedule-free optimizer against its reference
implementation, its closure and foreach forms, the wrapper) and madgrad 1.3 (MADGRAD and
MirrorMADGRAD: argument checks, steps, sparse gradients against dense). Both put every tensor on
the GPU with ``.cuda()``: the fetch writes a conftest beside their tests that keeps
``Tensor.cuda()`` on the CPU on both sides (without it every test fails on both).

s20 (whole suites; pass on both / pass on PyTorch only): schedulefree 8 / 0, madgrad 11 / 0
(its two ``test_invalid_lr`` fail on PyTorch too: MADGRAD takes a negative lr), before and
after the s20 fixes. The other libraries of LE3's list ship no tests in their sdists
(torchmetrics 1.9.0, kornia 0.9.0,
captum 0.9.0, torchjd 0.18.0, laplace-torch 0.3, torch-ema 0.3, lion-pytorch 0.2.5,
pytorch-crf 0.7.2, mup 1.0.0, torch-complex 0.4.4) or have none on the index (geoopt 0.5.1 is
a wheel only); einops 0.8.2's suite runs in test_s14_LE_suites.py. The libraries among them
with their own test configuration or enough public API are compared in test_s20_LE3_libs.py.
Times: about 10 CPU s for this file (both sides, pytest's start included).
"""

from __future__ import annotations

import pytest
from le_harness import Suite, recording_tests, suite_tests

torch = pytest.importorskip("torch")

LIBRARIES = {
    "schedulefree": Suite("schedulefree", "schedulefree-1.4.1/schedulefree",
                          full=("test_schedulefree.py",), quick=("test_schedulefree.py",)),
    "madgrad": Suite("madgrad", "madgrad-1.3/tests", quick=(".",)),
}

# (the default part runs deltagrad's side only, held to PyTorch's outcomes recorded in
# s24_TT2_outcomes/ by prog_s24_TT2_record.py: le_harness's docstring)
quick_results, test_suite_part, test_whole_suite = suite_tests(LIBRARIES, recording=__file__)
test_recording_current, test_recording_rederived = recording_tests(LIBRARIES, __file__)
