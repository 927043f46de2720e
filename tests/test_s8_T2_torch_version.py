"""``deltagrad.torch_version.TorchVersion`` compares like PyTorch's ``torch.__version__``."""

from __future__ import annotations

import operator

import pytest

from deltagrad.torch_version import TorchVersion

torch = pytest.importorskip("torch")
from torch.torch_version import TorchVersion as RealTorchVersion  # noqa: E402

VERSIONS = ["2.13.0", "2.13.0+cpu", "2.1", "2.10.1", "0.1.0", "2.2.0a1", "2.2.0rc2",
            "2.2.0.dev20240101", "2.2.0.post1", "1.13.1+cu117"]
OTHERS = ["2.8", "2.13", "2.13.0", "2.13.0+cpu", "2.2", "2.2.0", "2.10", "1.9", "3",
          (2, 1), (2, 13, 0), (2, 14), [1, 13, 1], "2.2.0a1", "2.2.0rc1", "2.2.0.post0"]
OPS = [operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne]


@pytest.mark.parametrize("text", VERSIONS)
def test_comparisons_match_pytorch(text):
    ours, theirs = TorchVersion(text), RealTorchVersion(text)
    for other in OTHERS:
        for op in OPS:
            assert op(ours, other) == op(theirs, other), (text, op.__name__, other)


def test_is_a_string():
    version = TorchVersion("2.13.0+cpu")
    assert isinstance(version, str) and version.split(".")[:2] == ["2", "13"]
    assert hash(version) == hash("2.13.0+cpu") and {version: 1}["2.13.0+cpu"] == 1
    assert version >= "2.8" and not str(version) >= "2.8"  # the point of the class
