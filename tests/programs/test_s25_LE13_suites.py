"""roma, tensorly-torch, poutyne, tntorch and torchkbnufft's own tests run under deltagrad's
torch alias and under PyTorch (LE13, s25).

The check of ``le_harness.py``: every test that passes on PyTorch must pass on deltagrad, the
KNOWN entries aside (none now). The suites: roma 1.8.0 (rotations: Procrustes by SVD and by
Horn's eigenvector with hand-written backward and forward-mode ``jvp`` rules, quaternions,
Euler angles, slerp, rigid registration), tensorly-torch 0.5.0 (factorized CP / Tucker / TT
tensors, layers and convolutions, tensor dropout and lasso through forward hooks; its tests
ship in its wheel), poutyne 1.19.0 (a Keras-style trainer: Model, callbacks, metrics,
experiments, checkpoints), tntorch 1.1.2 (tensor trains) and torchkbnufft 1.5.2 (non-uniform
FFTs for MRI: complex tensors, FFTs, scatter-add interpolation, sparse matrices), from their
sdists (``prog_s25_LE13_fetch.py`` unpacks them into ``.venv/suites/``; it deletes roma's
top-level ``__init__.py``, which made pytest import its tests as a package that cannot import,
and writes a conftest that tells pytest poutyne's test classes are named ``*Test``, as its
pyproject.toml does: without it 74 of its 601 tests ran).

Left out or failing on PyTorch too (not held): tntorch's test_gpu.py (CUDA); its test_cross.py,
test_indexing.py and test_ops.py import a ``util`` module its sdist leaves out (collection
errors on both sides); torchkbnufft's three ``*_accuracy`` tests open ``tests/data/*.pkl``
relative to the working folder (FileNotFoundError on both sides); tensorly-torch's three
``test_trl[...-0.5-0.6]`` (a TypeError inside the test with tensorly 0.10) and two Tucker
``test_single_conv`` tolerances. tntorch's test files set the default dtype to float64 when
imported, so its suite runs alone (in a shared process tensorly-torch's tests then failed).

Whole suites (s25; run / pass on PyTorch / pass on deltagrad before -> after this session's
fixes, tests/parity/test_s25_LE13_fixes.py):
- roma: 100 / 100 / 94 -> 100 (``ctx.saved_for_forward``, PyTorch's attribute that
  ``save_for_forward`` sets, was missing: its six jvp tests raised AttributeError).
- tensorly-torch: 56 / 51 / 45 -> 51 (``bernoulli(p, out=bool tensor)`` was refused, PyTorch
  draws into out's dtype: tensor dropout; ``del module._forward_hooks[key]`` left the hook
  registered, the dict being a copy: tensor lasso / dropout removal).
- poutyne: 601 / 539 / 537 -> 539 (``PackedSequence`` converted the Tensors it was given,
  PyTorch keeps the objects: its ``torch_apply`` tests build one of mocks).
- tntorch: 32 / 29 / 29 -> 29; torchkbnufft: 112 / 91 / 91 -> 91.
Times (the whole suites, both sides at once on a loaded 2-core machine; PyTorch / deltagrad
test time): roma 573 / 460 s (test_random_unitquat 53 / 175 s: ``mean(dim=0)`` of a
[1e6, 4] tensor is NumPy's slow outer-axis reduce), poutyne 331 / 291 s, torchkbnufft 67 /
185 s (test_dcomp.py 31 / 124 s), tntorch 39 / 53 s, tensorly-torch 10 / 6 s: whole suites
under ``-m soak``. The default part (deltagrad's side, PyTorch's outcomes recorded in
s24_TT2_outcomes/): about 9.7 CPU s on the loaded machine, poutyne's ~4 of it importing
torchmetrics (and so transformers and scipy.signal), as on PyTorch.
"""

from __future__ import annotations

import pytest
from le_harness import Suite, recording_tests, suite_tests

torch = pytest.importorskip("torch")

# (the default parts: the tests that found this session's bugs, roma's jvp rules,
# tensorly-torch's hooks and dropout, poutyne's torch_apply, and cheap ones beside them;
# torchkbnufft's two smallest shapes. tntorch is soak only: a process of its own, about 1.2
# CPU s, for tests no fix needed.)
LIBRARIES = {
    "roma": Suite("roma", "roma-1.8.0/test", package="test", quick=(
        "test_mappings.py", "test_procrustes_derivatives.py",
        "-k=(Forward and not compile) or symmatrix or rotvec_unitquat or unitquat_rotmat")),
    "tltorch": Suite("tltorch", ".", site=True, quick=(
        "tensor_hooks", "factorized_tensors", "functional", "factorized_layers/tests/test_trl.py",
        "factorized_layers/tests/test_tensor_contraction_layers.py")),
    "poutyne": Suite("poutyne", "poutyne-1.19.0/tests", package="tests", quick=(
        "test_utils.py",)),
    "tntorch": Suite("tntorch", "tntorch-1.1.2/tests", full=("--ignore=test_gpu.py", "."),
                     alone=True),
    "torchkbnufft": Suite("torchkbnufft", "torchkbnufft-1.5.2/tests", package="tests",
                          quick=("test_nufft.py", "test_interp.py", "-k=shape0 or shape1")),
}

# The tests that pass on PyTorch and fail on deltagrad, each with why (none, s25).
KNOWN: dict = {name: {} for name in LIBRARIES}

# (the default part runs deltagrad's side only, held to PyTorch's outcomes recorded in
# s24_TT2_outcomes/ by prog_s24_TT2_record.py: le_harness's docstring)
quick_results, test_suite_part, test_whole_suite = suite_tests(LIBRARIES, KNOWN, recording=__file__)
test_recording_current, test_recording_rederived = recording_tests(LIBRARIES, __file__)
