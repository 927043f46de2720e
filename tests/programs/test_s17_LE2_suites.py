"""backpack-for-pytorch's and curvlinops' own test suites run under deltagrad's torch alias and
under PyTorch (LE2, s17).

The check of ``le_harness.py``: every test that passes on PyTorch must pass on deltagrad (no
known entries: every test of the parts below that passes on PyTorch passes on deltagrad).

Both libraries' wheels (pinned in ``.ci/run``) leave their tests out: ``prog_s17_LE2_fetch.py``
unpacks backpack-for-pytorch 1.7.1's and curvlinops-for-pytorch 3.0.1's sdists into
``.venv/suites/`` (without it these suites skip). Both import their helpers as the package
``test``, so each runs in processes of its own. The default run takes a part of backpack's suite
(module hooks, the ``backpack`` context, second-order warnings); the rest runs under ``-m soak``.

Left out (s17, looked at by hand): backpack's extensions/firstorder, converter and the
diag_ggn / sqrt_ggn tests import torchvision, which the real CPU PyTorch cannot import without
the op declarations of tests/programs/tv_common.py (the runner does not make them); with them,
firstorder agreed (376 pass on both; 8 tests of the converted ResNet differ only in their ids,
and one variance test is 2e-4 off at rtol 5e-5). backpack's converter finds ``torch.flatten``,
``permute`` and ``transpose`` calls by ``"<built-in method flatten" in str(node.target)``,
which deltagrad's functions (``<function flatten ...>``) never match: those are left
unconverted, a diag-GGN through ``torch.permute`` comes out wrong and through ``flatten`` /
``transpose`` raises. core/derivatives: its RNN / LSTM(batch_first=True) Jacobian tests (20)
need double backward through the fused recurrent layer, refused until session 18 and now run
(22 of 22 RNN / LSTM tests pass, as on PyTorch; about 52 s a side, so not in these lists); the
whole folder did not finish in 20 minutes on either side.
curvlinops: 5 of its 13 top-level test files (899 tests, 7.5 minutes per side here) all agree.
"""

from __future__ import annotations

import pytest
from le_harness import Suite, recording_tests, suite_tests

torch = pytest.importorskip("torch")

_BACKPACK_PART = ("interface_test.py", "bugfixes_test.py", "test_second_order_warnings.py",
                  "extensions/test_hooks.py")

LIBRARIES = {
    "backpack": Suite("backpack", "backpack_for_pytorch-1.7.1/test", package="test",
                      quick=_BACKPACK_PART,
                      full=(*_BACKPACK_PART, "linear_test.py", "conv2d_test.py",
                            "layers_test.py", "test_retain_graph.py", "test_batch_first.py",
                            "utils_test.py")),
    "curvlinops": Suite("curvlinops", "curvlinops_for_pytorch-3.0.1/test", package="test",
                        needs=("einops", "scipy"),
                        full=("test_hessian.py", "test_ggn.py", "test_utils.py",
                              "test__torch_base.py", "test_submatrix.py")),
}


# (the default part runs deltagrad's side only, held to PyTorch's outcomes recorded in
# s24_TT2_outcomes/ by prog_s24_TT2_record.py: le_harness's docstring)
quick_results, test_suite_part, test_whole_suite = suite_tests(LIBRARIES, recording=__file__)
test_recording_current, test_recording_rederived = recording_tests(LIBRARIES, __file__)
