"""vit-pytorch's, local-attention's, and scikit-learn's and SciPy's array-API tests with torch
run under deltagrad's torch alias and under PyTorch (LE16, s27).

The check of ``le_harness.py``: every test that passes on PyTorch must pass on deltagrad, the
KNOWN_GROUPS entries aside. The suites: vit-pytorch 1.26.14 and local-attention 1.11.2 from
their sdists (``prog_s27_LE16_fetch.py`` unpacks them into ``.venv/suites/``; without them they
skip; vit-pytorch's package imports torchvision, which .ci/run installs into .venv/tv-extra);
scikit-learn 1.9.1's tests (in its wheel) of the 33 files that hold array-API tests, restricted
to the torch-on-CPU cases (``SCIPY_ARRAY_API=1``: its estimators, metrics and utilities take
torch tensors through its array-API dispatch); SciPy's tests marked ``array_api_backends`` in
the subpackages of ``_SCIPY`` and five more, with torch as the only backend
(``SCIPY_ARRAY_API='["torch"]'``).

Whole suites (s27; run / pass on PyTorch / pass on deltagrad; test s PyTorch / deltagrad, wall s
of both sides at once, loaded 2-core machine):
- vit_pytorch: 42 / 28 / 28 (2.1 / 2.7; 11 s). Failing on PyTorch too: test_looped_vit.py's
  eight ``test_loopcd_*`` (the tests pass a ``guidance`` argument the released LoopedViT lacks)
  and test_vit_nd.py's five ``test_vit_nd_causal`` (PyTorch: FlexAttention has no backward on
  CPU; deltagrad: ``create_block_mask`` is not supported, a clear NotImplementedError).
  ``test_vit_nd_causal_lone_int`` passes on deltagrad only: vit-pytorch asks the private
  ``torch.cpu._is_avx2_supported`` whether the compiled flex kernel exists, deltagrad has none,
  and the library falls back to its dense attention (PyTorch's side takes flex attention and
  fails as above).
- local_attention: 16 / 16 / 16 (40.8 / 63.7; 66 s): the cache of LocalMHA over 1,000 tokens.
- sklearn: 994 / 961 / 955 (156 / 167; 221 s); 33 skip on both (array_api_strict, not
  installed). The six left (KNOWN_GROUPS): ``test_logsumexp_like_scipy_logsumexp``'s torch
  cases, a difference of dtype identity, below.
- scipy (the array-API tests of special, cluster, differentiate, integrate, optimize,
  interpolate, stats and linalg, on torch): 5,961 / 4,738 / 4,661 before -> 4,738 after this
  session's fixes (tests/parity/test_s27_LE16_fixes.py; after: 210 / 154, 355 s); 1,222 skip on
  both (SciPy's own skips for torch), one fails on both (test_resampling.py's
  input validation expects NumPy's broadcast message, not PyTorch's).
  Fixed: ``finfo`` of a complex dtype raised TypeError (PyTorch gives its real parts' limits:
  56 logsumexp tests); ``testing.assert_close`` with a one-element tensor as ``atol`` made
  tensors of its masks and raised (PyTorch reads the number: 13 integrate / differentiate
  tests); ``searchsorted`` over rows of no boundaries raised ValueError (PyTorch: every value
  goes first: 8 quantile tests); ``broadcast_shapes``' mismatch error now has PyTorch's words
  (one optimize test matches them).
- scipy_more (fft, _lib, spatial and ndimage's array-API tests on torch): 10,880 / 8,477 /
  8,477 (129 / 138; 275 s); 2,403 skip on both.
- scipy_signal (signal's array-API tests on torch): 13,115 / 12,670 / 12,669 (58.7 / 41.9;
  108 s); 445 skip on both. The one left (KNOWN): complex ``linalg.eigvals``, a clear error.
The sdist-suites needed no fixes: every test of theirs that passes on PyTorch passes on
deltagrad.

The default part (deltagrad's side; PyTorch's outcomes recorded in s24_TT2_outcomes/):
vit-pytorch's test_looped_vit.py and test_dino_loss.py, and scikit-learn's
utils/tests/test_array_api.py on torch (its slowest two tests aside).
"""

from __future__ import annotations

import os

import pytest
from le_harness import ROOT, Suite, recording_tests, suite_tests

torch = pytest.importorskip("torch")

EXTRA = os.path.join(ROOT, ".venv", "tv-extra")
# (vit_pytorch's package imports torchvision, which .ci/run installs into .venv/tv-extra; the
# plugin declares the torchvision ops whose absence breaks its import under the real PyTorch)
_ENV = {"PYTHONPATH": os.pathsep.join([os.path.join(ROOT, "src"), EXTRA])}
_PLUGIN = "-ps22_LE9_tvplugin"  # (tests/programs is the runner's folder: on its path)


class TvSuite(Suite):
    """A suite whose library imports torchvision from ``.venv/tv-extra``."""

    def tests(self) -> str | None:
        found = os.path.isdir(os.path.join(EXTRA, "torchvision"))
        return super().tests() if found else None


# scikit-learn's test files with array-API tests (their ids name the namespace, device and dtype)
_SKLEARN_FILES = tuple(f"{folder}/tests/test_{name}.py" for folder, names in {
    "_loss": "link loss", "decomposition": "pca", "linear_model/_glm": "glm",
    "linear_model": "base logistic ridge", "metrics/cluster": "common supervised",
    "metrics": "classification common pairwise", "mixture": "gaussian_mixture",
    "model_selection": "search split validation", "preprocessing": "data label polynomial",
    ".": "calibration config kernel_approximation naive_bayes pipeline", "tree": "tree",
    "utils": "array_api estimator_checks extmath indexing multiclass optimize stats validation",
}.items() for name in names.split())

# SciPy's subpackages whose array-API tests run with torch
_SCIPY = ("special", "cluster", "differentiate", "integrate", "optimize", "interpolate", "stats",
          "linalg")

LIBRARIES = {
    "vit_pytorch": TvSuite("vit_pytorch", "vit_pytorch-1.26.14/tests", needs=("einops",),
                           env=_ENV, alone=True, full=(_PLUGIN, "."),
                           quick=(_PLUGIN, "test_looped_vit.py", "test_dino_loss.py")),
    "local_attention": Suite("local_attention", "local_attention-1.11.2/tests",
                             needs=("einops",)),
    # (SCIPY_ARRAY_API and its -k: in processes of its own)
    "sklearn": Suite("sklearn", ".", site=True, needs=("scipy",), env={"SCIPY_ARRAY_API": "1"},
                     alone=True,
                     full=(*_SKLEARN_FILES, "-k=torch and cpu"),
                     quick=("utils/tests/test_array_api.py",
                            "-k=torch and cpu and not isin and not count_nonzero")),
    "scipy": Suite("scipy", ".", site=True, env={"SCIPY_ARRAY_API": '["torch"]'}, alone=True,
                   full=(*(f"{name}/tests" for name in _SCIPY), "-m=array_api_backends")),
    "scipy_more": Suite("scipy", ".", site=True, env={"SCIPY_ARRAY_API": '["torch"]'},
                        alone=True, full=("fft/tests", "_lib/tests", "spatial", "ndimage/tests",
                                          "-m=array_api_backends")),
    "scipy_signal": Suite("scipy", ".", site=True, env={"SCIPY_ARRAY_API": '["torch"]'},
                          alone=True, full=("signal/tests", "-m=array_api_backends")),
}

KNOWN: dict = {name: {} for name in LIBRARIES}
_TF2ZPK = "signal/tests/test_filter_design.py::TestTf2zpk::test_simple[torch-complex128]"
KNOWN["scipy_signal"][_TF2ZPK] = (
    "linalg.eigvals of a complex matrix: deltagrad's linear algebra takes float32 / float64 "
    "only and raises a clear RuntimeError (SciPy's tf2zpk takes the roots of a complex "
    "polynomial through its companion matrix)")

# Tests parametrized many times over that pass on PyTorch and fail on deltagrad, each with why.
KNOWN_GROUPS = {
    ("sklearn", "utils/tests/test_array_api.py::test_logsumexp_like_scipy_logsumexp[",
     "-torch-cpu-"): "deltagrad's dtypes are NumPy dtype-likes (``np.dtype(torch.float32)`` "
    "works), PyTorch's are not. A dtype equals only itself since s27 (DT1), but NumPy's dtype "
    "== converts its other side, and ``x in (np.dtype('float64'), np.dtype('float32'))`` asks "
    "NumPy's == first: with array-API dispatch "
    "off, ``_logsumexp`` finds a tensor's dtype among NumPy's float dtypes, skips converting it "
    "to NumPy and calls ``np.max`` on the tensor, whose ``Tensor.max(axis=, out=None, "
    "keepdims=)`` raises TypeError (as PyTorch's does: a clear error, not a wrong value)",
}

quick_results, test_suite_part, test_whole_suite = suite_tests(LIBRARIES, KNOWN, KNOWN_GROUPS,
                                                               recording=__file__)
test_recording_current, test_recording_rederived = recording_tests(LIBRARIES, __file__)
