"""timm's and segmentation-models-pytorch's own test suites run under deltagrad's torch alias and
under PyTorch (LE9, s22).

The check of ``le_harness.py``: every test that passes on PyTorch must pass on deltagrad (no
known entries: every test of the files below that passes on PyTorch passes on deltagrad after
the s22 fixes, tests/parity/test_s22_LE9_fixes.py).

The suites come from the sdists of the packages ``.ci/run`` installs into ``.venv/tv-extra``
(timm 1.0.31, segmentation-models-pytorch 0.6.0), which ``prog_s22_LE9_fetch.py`` unpacks into
``.venv/suites/``; without them, or without torchvision and timm in ``.venv/tv-extra``, these
suites skip. Both sides get ``.venv/tv-extra`` on their path, and the plugin
``s22_LE9_tvplugin`` declares the two torchvision ops whose absence breaks torchvision's import
under the real CPU PyTorch (``tv_common``). timm's tests import the package ``tests`` (its
``tests/__init__.py``) and run in processes of their own; pytest then puts the sdist's folder,
with its copy of timm (the same release), first on the path.

timm's files run: the layers, optimizer, scheduler, utility, input-conv, checkpoint-saver,
pruning and multilabel files, and ``test_models.py`` restricted to timm's 18 tiny ``test_*``
architectures (its whole model zoo is thousands of forward passes of full-size networks). Not
run: the data, dataset, hub, checkpoint-loading, sweep, task, train-resume and reader files
(datasets, the hub, training scripts); test_multilabel.py's four two-process gloo tests
(file:// rendezvous, which deltagrad's distributed does not take; minutes each, and they fail on
PyTorch here too).

Before the s22 fixes (s22 by hand; pass on both / pass on PyTorch only): timm's test_optim.py
0 / 1,527 (it imports ``torch.testing._internal.common_utils.TestCase`` at collection; with it,
1,515 / 12: ``Optimizer._group_tensors_by_device_and_dtype`` missing, ADOPT's foreach path
skipped); its ten other files 1,553 / 2 (``torch._foreach_mul_(tensors, scalar=w)`` in
ModelEmaV3); test_models.py's tiny architectures 149 / 48 (fx tracing through torchvision's
NodePathTracer, whose ``create_proxy`` takes no ``proxy_factory_fn``: 30; bfloat16 ops, views
of non-contiguous tensors, SDPA with a mask and channels-last interpolation on the meta device:
18); segmentation-models-pytorch 34 / 0. After: 1,527 / 0, 1,555 / 0, 197 / 0, 34 / 0. Tests
failing on PyTorch too are not held: smp's two that download weights from the hub.

Times (s22, a loaded 2-core machine, PyTorch / deltagrad side, summed test seconds): timm's
test_optim.py 673 / 630; test_layers.py 36 / 27 (pytest's wall) and the nine other files
280 / 341 (146 / 181 of it test_multilabel.py's gloo tests, now left out); test_models.py's
part 352 / 229: those run under ``-m soak``. The default run's part (a few tests of each
fix, timm's drop and pool layer files, smp's losses and preprocessing): 39 CPU s in all, both
sides.
"""

from __future__ import annotations

import os

import pytest
from le_harness import ROOT, SUITES, Suite, recording_tests, suite_tests

torch = pytest.importorskip("torch")

EXTRA = os.path.join(ROOT, ".venv", "tv-extra")
# (HF_HUB_OFFLINE: no test waits on the hub, which this machine cannot reach)
_ENV = {"PYTHONPATH": os.pathsep.join([os.path.join(ROOT, "src"), EXTRA]), "HF_HUB_OFFLINE": "1"}
_PLUGIN = "-ps22_LE9_tvplugin"  # (tests/programs is the runner's folder: on its path)


class TvSuite(Suite):
    """A suite whose library lives in ``.venv/tv-extra`` (not importable by this process)."""

    def tests(self) -> str | None:
        if not all(os.path.isdir(os.path.join(EXTRA, name))
                   for name in ("torchvision", self.module)):
            return None
        path = os.path.join(SUITES, self.folder)
        return path if os.path.isdir(path) else None


# (test_multilabel.py's two-process gloo tests take minutes and fail on PyTorch here too)
_TIMM = ("test_layers.py", "test_layers_drop.py", "test_layers_pool.py",
         "test_layers_pos_embed.py", "test_utils.py", "test_scheduler.py", "test_input_conv.py",
         "test_checkpoint_saver.py", "test_prune.py", "test_multilabel.py",
         "-k=not test_distributed_metrics")
# (timm's tiny test architectures; not the tests that want pretrained weights from the hub
# nor TorchScript, which fail on both sides)
_TINY = ("-k=(test_byobnet or test_coatnet or test_convnext or test_efficientnet or "
         "test_mambaout or test_maxvit or test_nfnet or test_resnet or test_vit) and not "
         "inference and not pretrained and not torchscript")
_PARITY = "test_optim.py::test_optimizer_foreach_parity"

LIBRARIES = {
    "timm": TvSuite("timm", "timm-1.0.31/tests", env=_ENV, alone=True,
                    full=(_PLUGIN, *_TIMM), quick=(
                        _PLUGIN, "test_utils.py::test_model_ema_v3_bf16_model_fp32_ema",
                        f"{_PARITY}[adopt]", f"{_PARITY}[adamwlegacy]", f"{_PARITY}[sgdw]",
                        f"{_PARITY}[lamb]", "test_optim.py::test_param_groups_weight_decay",
                        "test_optim.py::test_optimizer_copy[adamw-pickle]",
                        "test_optim.py::test_optim_factory[adamw]",
                        "test_optim.py::test_optim_factory[sgdw]",
                        "test_layers.py::test_mqa_v2", "test_layers.py::test_swish_grad",
                        "test_layers_drop.py", "test_layers_pool.py")),
    "timm_optim": TvSuite("timm", "timm-1.0.31/tests", env=_ENV, alone=True,
                          full=(_PLUGIN, "test_optim.py")),
    "timm_models": TvSuite("timm", "timm-1.0.31/tests", env=_ENV, alone=True,
                           full=(_PLUGIN, "test_models.py", _TINY)),
    "smp": TvSuite("segmentation_models_pytorch", "segmentation_models_pytorch-0.6.0/tests",
                   env=_ENV, alone=True, full=(_PLUGIN, "."), quick=(
                       _PLUGIN, "test_losses.py", "test_preprocessing.py")),
}

# (the default part runs deltagrad's side only, held to PyTorch's outcomes recorded in
# s24_TT2_outcomes/ by prog_s24_TT2_record.py: le_harness's docstring)
quick_results, test_suite_part, test_whole_suite = suite_tests(LIBRARIES, recording=__file__)
test_recording_current, test_recording_rederived = recording_tests(LIBRARIES, __file__)
