"""More libraries' own test suites run under deltagrad's torch alias and under PyTorch (LE, s16).

The check of ``le_harness.py``: every test that passes on PyTorch must pass on deltagrad,
except the entries of KNOWN and KNOWN_ERRORS (each with its reason); a known entry that passes
now (or an error no test meets any more) fails the test, so the lists stay true.

The suites: xitorch, tensorly, opacus and blitz ship theirs inside their wheels; ema-pytorch
0.8.3 and pytorch-warmup 0.2.0 in their source distributions, which ``prog_s16_LE_fetch.py``
unpacks into ``.venv/suites/`` (``.ci/run`` calls it; without it those suites skip). Of the
other libraries looked at, kornia, torchmetrics, captum, torchdiffeq, torchcde, x-transformers,
pytorch-metric-learning, botorch, mup and torch-ema ship no tests in their sdists or wheels
(their suites are on GitHub only, which CI cannot fetch). The default run takes a part of each
suite (its ``quick``), all in one process per side; the whole suites run under ``-m soak``.
"""

from __future__ import annotations

import pytest
from le_harness import Suite, recording_tests, suite_tests

torch = pytest.importorskip("torch")

# (the quick parts: the files that exercise the most ops per second, and the tests that found
# this session's bugs. pytorch-warmup's suite imports itself as the package ``test`` and so
# needs processes of its own: whole runs only. xitorch's test_interp.py is soak only: PyTorch
# 2.13 fails its cspline tests at once (a write through a diagonal view taken before an earlier
# write: "a leaf Variable that requires grad is being used in an in-place operation"), which
# deltagrad runs to the end, gradgradcheck included; on the same work, with the views taken
# fresh, deltagrad takes about 1.9 x PyTorch's time at one thread (s16 XI).)
LIBRARIES = {
    "ema_pytorch": Suite("ema_pytorch", "ema_pytorch-0.8.3/tests",
                         quick=("test_ema_pytorch.py", "test_ema_module_kwargs.py")),
    "pytorch_warmup": Suite("pytorch_warmup", "pytorch_warmup-0.2.0/test", package="test"),
    "blitz": Suite("blitz", ".", site=True, quick=("modules/tests", "losses/tests")),
    "xitorch": Suite("xitorch", "_tests", site=True, quick=(
        "test_linop.py", "test_editable_module.py", "test_pure_function.py", "test_packer.py",
        "test_utils.py", "test_wrap_nnmodule.py",
        "test_optimize.py::test_rootfinder_with_params[dtype0-device0-True]")),
    # (opacus: its hypothesis-driven grad_samples tests take 20-110 s each on PyTorch here;
    # the files importing torchvision are left out)
    "opacus": Suite("opacus", "tests", site=True, full=("grad_samples", "validators"),
                    quick=("validators", "grad_samples/embedding_norm_sample_test.py")),
    "tensorly": Suite("tensorly", ".", site=True, env={"TENSORLY_BACKEND": "pytorch"}, quick=(
        "tenalg/tests/test_batched_tensordot.py", "tests/test_backend.py", "tests/test_core.py",
        "metrics/tests/test_factors.py",
        "decomposition/tests/test_constrained_parafac.py::test_constrained_parafac_nonnegative")),
}

# Per library, the tests that pass on PyTorch and fail on deltagrad, each with why.
KNOWN: dict[str, dict[str, str]] = {
    "xitorch": {
        **{f"test_pure_function.py::{test}[ScriptFunction]":
           "torch.jit.script gives back the Python function in deltagrad (no TorchScript): "
           "pytest names that parameter jitfunc1, not ScriptFunction, and the test passes "
           "under that id" for test in ("test_pure_function", "test_make_sibling_fcn")},
        "test_linop_fcns.py::test_symeig_AM_degenerate[dtype1-device1-custom_exacteig]":
            "the degenerate generalised eigenproblem's backward solves a singular system in "
            "one batch element (LinAlgError): not traced yet",
    },
    "opacus": {
        "grad_samples/conv3d_test.py::Conv3d_test::test_conv3d":
            "per-sample gradients of Conv3d through call_for_per_sample_grads (PyTorch's "
            "ExpandedWeights): deltagrad's covers Linear, Conv1d/2d, Embedding and the norms "
            "(NotImplementedError naming the layer)"},
}

# Known limits that many parametrized tests reach: (library, a text of deltagrad's error) ->
# why. A test failing with another error is not excused.
_COMPLEX_LINALG = "complex matrices are not supported by deltagrad's linear algebra"
KNOWN_ERRORS: dict[tuple, str] = {
    # (tensorly's complex=True parametrizations: svd initialisation, orthogonalised factors)
    ("tensorly", _COMPLEX_LINALG): "deltagrad's linear algebra is float32 / float64 only",
    ("xitorch", "gradients through complex tensors are not supported for this op yet"):
        "gradients of the complex decompositions without a complex rule yet (svd and the "
        "values-only ones: NotImplementedError naming the op; qr / eigh / cholesky have theirs "
        "since session 16)",
    ("xitorch", "storage: this tensor's memory is not one block NumPy can show"):
        "xitorch's memory-leak tests sum tensor.storage() over every live tensor; one of them "
        "views memory NumPy shows as no single block (RuntimeError): not traced to its op yet",
    ("xitorch", "Only the last two dimensions can be made Fortran order"):
        "xitorch's davidson eigensolver checks the layout of a LinearOperator product that is "
        "neither C- nor Fortran-contiguous in deltagrad (strides differ from PyTorch's): not "
        "traced yet",
    ("xitorch", "Jacobian inversion yielded zero vector"):
        "minimize with broyden1 diverges from PyTorch's iterates (a numerical difference, not "
        "an error of deltagrad's): not traced yet",
}

# Groups of tests known by a part of their ids: (library, the id's start, a text every such id
# contains) -> why.
KNOWN_GROUPS: dict[tuple, str] = {
    ("xitorch", "test_integrate.py::", ""):
        "the file imports functorch (from functorch import vmap), whose deltagrad counterpart "
        "is torch.func: 'torch._functorch' does not exist under the alias (collection error)",
}


# (the default part runs deltagrad's side only, held to PyTorch's outcomes recorded in
# s24_TT2_outcomes/ by prog_s24_TT2_record.py: le_harness's docstring)
quick_results, test_suite_part, test_whole_suite = suite_tests(
    LIBRARIES, KNOWN, KNOWN_GROUPS, KNOWN_ERRORS, recording=__file__)
test_recording_current, test_recording_rederived = recording_tests(LIBRARIES, __file__)
