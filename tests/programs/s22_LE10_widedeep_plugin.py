"""A pytest plugin (``-ps22_LE10_widedeep_plugin``) for pytorch-widedeep's own suite (LE10, s22).

Loaded before the suite's modules, on both sides alike. It declares torchvision's two op schemas
(the real CPU PyTorch cannot import the CUDA torchvision wheel of ``.venv/tv-extra`` otherwise:
``tv_common.declare_torchvision_ops``; nothing under the alias); it puts empty stand-ins for
gensim, spaCy and OpenCV, which ``pytorch_widedeep`` imports at its top level and which are not
installed here (its text and image preprocessing need them: those tests fail on both sides and
are not held against deltagrad); and, with no network here, it writes a stand-in for torchvision's
ImageNet resnet18 checkpoint (a seeded random resnet18's state_dict, saved by the side's own
``torch.save``) into a scratch ``TORCH_HOME``, which the hub loads instead of downloading: two
test files build ``Vision(pretrained_model_setup="resnet18")`` at their top level (the other
architectures' checkpoints are not made: test_mc_image.py stays failing on both sides); only
when one of those two files is collected (the default run's part has neither). Each test file
is imported from seed 0 (NumPy's, Python's and torch's): some draw their data unseeded at their
top level, and test_du_wide.py's test ids hold counts of that data (the two sides' ids must
match)."""

import atexit
import os
import random
import shutil
import sys
import tempfile
import types

import numpy as np
import pytest
import torch
import tv_common


def pytest_configure(config):
    """(A pytest hook, so that only a run loading this as its plugin gets the stand-ins: the
    project's doctest collection imports this file too.)"""
    tv_common.declare_torchvision_ops()
    for name, attrs in (("gensim", {}), ("gensim.utils", {"tokenize": None}),
                        ("gensim.models", {}), ("spacy", {}), ("spacy.symbols", {"ORTH": 65}),
                        ("cv2", {"INTER_AREA": 3})):
        if name not in sys.modules:
            module = types.ModuleType(name)
            vars(module).update(attrs)
            sys.modules[name] = module


_NEEDS_RESNET18 = ("test_data_inputs.py", "test_miscellaneous.py")


def pytest_collectstart(collector):
    """(A pytest hook, before each file is imported: seeds; makes the checkpoint before the
    first file that needs it.)"""
    if not isinstance(collector, pytest.Module):
        return
    if collector.path.name in _NEEDS_RESNET18 and "TORCH_HOME" not in _MADE:
        _resnet18_checkpoint()
    np.random.seed(0)
    random.seed(0)
    torch.manual_seed(0)


_MADE: dict = {}


def _resnet18_checkpoint() -> None:
    import torchvision

    home = tempfile.mkdtemp(prefix="s22_LE10_torch_home_")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    os.environ["TORCH_HOME"] = _MADE["TORCH_HOME"] = home
    folder = os.path.join(home, "hub", "checkpoints")
    os.makedirs(folder)
    torch.manual_seed(0)
    state = torchvision.models.resnet18().state_dict()
    torch.save(state, os.path.join(folder, "resnet18-f37072fd.pth"))

