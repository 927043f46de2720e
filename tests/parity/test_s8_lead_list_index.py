"""A list index holding sequences, tensors, slices, None or ... is a tuple of indices in
PyTorch (its legacy rule, NumPy's before 1.23); deltagrad read it as one index array, so
``x[[[0, 1]]]`` silently had shape (1, 2, 4) where PyTorch's is (2, 4)."""

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).parent))
from parity import Arg, check  # noqa: E402

X = np.arange(12.0).reshape(3, 4)

INDICES = {
    "two lists": lambda m: [[0, 1], [2, 3]],
    "one nested list": lambda m: [[0, 1]],
    "list and slice": lambda m: [[0, 1], slice(None)],
    "tensor and list": lambda m: [m.tensor([0, 2]), [1, 3]],
    "None and int": lambda m: [None, 0],
    "ellipsis and int": lambda m: [Ellipsis, 1],
    "plain ints": lambda m: [0, 2],
    "33 ints (never a tuple)": lambda m: [0, 1, 2] * 11,
    "tuple inside": lambda m: [(0, 1), (1, 2)],
}


@pytest.mark.parametrize("name", sorted(INDICES))
def test_getitem_with_a_list_index(name):
    check(lambda m, x: x[INDICES[name](m)], Arg(X))


@pytest.mark.parametrize("name", ["two lists", "one nested list", "list and slice"])
def test_setitem_with_a_list_index(name):
    def write(m, x):
        y = x * 1.0
        y[INDICES[name](m)] = -1.0
        return y

    check(write, Arg(X))
