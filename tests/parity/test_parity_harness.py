"""The differential harness itself: it passes on agreement and fails on each kind of mismatch."""

import numpy as np
import pytest

pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402


def test_agreement_passes_values_and_gradients():
    a = np.arange(6.0).reshape(2, 3)
    check(lambda m, x: (x * x).sum(1), Arg(a))


def test_a_wrong_value_fails():
    with pytest.raises(AssertionError):
        check(lambda m, x: x + (1 if m.__name__ == "deltagrad" else 0), Arg(np.ones(3)))


def test_a_wrong_dtype_fails():
    a = np.ones(3, dtype=np.int64)
    with pytest.raises(AssertionError):
        check(lambda m, x: x.float() if m.__name__ == "deltagrad" else x.double(), Arg(a))


def test_a_missing_error_fails():
    with pytest.raises(AssertionError):
        check(lambda m, x: x.sum(5) if m.__name__ == "torch" else x.sum(0), Arg(np.ones(3)))
