"""SP48 (s29): ``stream.bernoulli_scalar`` (dropout's keep mask, ``bernoulli_(p)``) decides
each draw from its first word's 21 bits, reading the second word only on a tie, where it
assembled every 53-bit number. The masks must be bit-identical to the old path's (a 53-bit
number below ``ceil(p * 2**53)``) and to PyTorch's."""

import math

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import stream


def _assembled(bits, shape, p):
    """The old path: every 53-bit number assembled and compared."""
    threshold = min(math.ceil(float(p) * 2.0 ** 53), 2 ** 53)
    return (stream._numbers53(bits, math.prod(shape)) < threshold).reshape(shape)


PROBABILITIES = [0.0, 2.0 ** -30, 0.1, 0.3, 0.5, 0.9, 1 - 1e-9, 1.0]
SHAPES = [(0,), (3,), (8, 8), (256, 200), (70000,)]  # (70000: two chunks)


@pytest.mark.parametrize("seed", [0, 12345])
@pytest.mark.parametrize("p", PROBABILITIES, ids=[repr(p) for p in PROBABILITIES])
def test_masks_equal_the_assembled_numbers(p, seed):
    ours, old = stream.mt19937(seed), stream.mt19937(seed)
    for shape in SHAPES:
        got = stream.bernoulli_scalar(ours, shape, p)
        assert got.dtype == np.bool_ and got.shape == shape
        np.testing.assert_array_equal(got, _assembled(old, shape, p))
    # the generators advanced alike (two words a draw)
    assert np.array_equal(ours.random_raw(4), old.random_raw(4))


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_ties_on_the_first_word_are_decided_by_the_second(offset):
    # p chosen so that draws 0 and 5 tie on their first word's 21 bits with the threshold:
    # the second word then decides (below, equal to and above the threshold's low part)
    words = stream.mt19937(7).random_raw(200)
    for k in (0, 5):
        number = ((int(words[2 * k]) & ((1 << 21) - 1)) << 32) | int(words[2 * k + 1])
        p = (number + offset) * 2.0 ** -53  # (exact: below 2**53)
        got = stream.bernoulli_scalar(stream.mt19937(7), (100,), p)
        np.testing.assert_array_equal(got, _assembled(stream.mt19937(7), (100,), p))
        assert got[k] == (offset > 0)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_dropout_masks_are_pytorchs(dtype):
    torch = pytest.importorskip("torch")
    results = []
    for lib in (torch, dg):
        lib.manual_seed(11)
        x = lib.ones(64, 33, dtype=getattr(lib, dtype))
        results.append([lib.nn.functional.dropout(x, 0.2).numpy(),
                        lib.empty(500, dtype=getattr(lib, dtype)).bernoulli_(0.35).numpy()])
    for want, got in zip(*results):
        assert want.dtype == got.dtype and want.shape == got.shape
        np.testing.assert_array_equal(got, want)
    # a generator of its own: dropout's kept places are bernoulli_(1 - p)'s ones
    kept = torch.empty(70, 9).bernoulli_(0.3, generator=torch.Generator().manual_seed(5))
    x = dg.ones(70, 9, dtype=getattr(dg, dtype))
    got = dg.nn.functional.dropout(x, 0.7, generator=dg.Generator().manual_seed(5)).numpy()
    np.testing.assert_array_equal(got != 0, kept.numpy() != 0)
