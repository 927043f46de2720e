"""``x[index]`` and ``x[index] = v`` against PyTorch: integers beside index tensors, boolean
masks, None, Ellipsis, negative integers, lists, nested tuples; values, shapes, gradients."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(0)
X5 = RNG.standard_normal((2, 3, 12, 5, 6))
X3 = RNG.standard_normal((4, 5, 6))
I2 = np.array([0, 3])
J2 = np.array([[1, 0], [4, 2]])
MASK5 = np.array([True, False, True, True, False])
MASK45 = RNG.standard_normal((4, 5)) > 0


def _idx(m, array):
    return m.tensor(array)


# Each case: (array, fn(m) -> index). Integers beside index tensors are where NumPy differs.
INDEX_CASES = {
    "issue: int slice slice tensor slice": (X5, lambda m: (1, slice(None), slice(3, 11, 2),
                                                           _idx(m, I2), slice(0, 2))),
    "int then tensor": (X3, lambda m: (1, _idx(m, I2))),
    "int slice tensor": (X3, lambda m: (1, slice(None), _idx(m, I2))),
    "tensor slice int": (X3, lambda m: (_idx(m, I2), slice(None), 2)),
    "tensor int tensor": (X3, lambda m: (_idx(m, I2), 1, _idx(m, I2))),
    "slice tensor int tensor": (X5, lambda m: (slice(None), _idx(m, np.array([0, 2])), 1,
                                               _idx(m, np.array([4, 0])))),
    "neg int beside tensor": (X3, lambda m: (-1, slice(None), _idx(m, I2))),
    "2-d index beside int": (X3, lambda m: (2, _idx(m, J2))),
    "2-d index, slice, int": (X3, lambda m: (_idx(m, J2), slice(1, 3), -2)),
    "ellipsis int tensor": (X5, lambda m: (Ellipsis, 1, _idx(m, I2))),
    "int ellipsis tensor": (X5, lambda m: (0, Ellipsis, _idx(m, I2))),
    "none int tensor": (X3, lambda m: (None, 1, slice(None), _idx(m, I2))),
    "tensor none tensor": (X3, lambda m: (_idx(m, I2), None, _idx(m, I2))),
    "int none slice tensor": (X3, lambda m: (2, None, slice(None), _idx(m, I2))),
    "mask then int": (X3, lambda m: (slice(None), _idx(m, MASK5), 3)),
    "int then mask": (X3, lambda m: (1, _idx(m, MASK5))),
    "2-d mask": (X3, lambda m: (_idx(m, MASK45),)),
    "2-d mask int": (X3, lambda m: (_idx(m, MASK45), 2)),
    "list": (X3, lambda m: ([0, 2, 2],)),
    "list int": (X3, lambda m: (slice(None), [1, 3], 0)),
    "nested tuple": (X3, lambda m: ((0, 1), slice(None), (2, 3))),
    "0-d tensor as int": (X3, lambda m: (_idx(m, np.array(1)), slice(None), _idx(m, I2))),
    "negative tensor entries": (X3, lambda m: (_idx(m, np.array([-1, -4])), 0)),
    "basic only": (X5, lambda m: (1, Ellipsis, None, slice(None, None, -1)
                                  if m is np else slice(None), 2)),
    "empty list": (X3, lambda m: ([],)),
    "bool scalar": (X3, lambda m: (True,)),
    "int index out of range": (X3, lambda m: (9, _idx(m, I2))),
    "tensor entry out of range": (X3, lambda m: (0, _idx(m, np.array([7])))),
}


@pytest.mark.parametrize("name", sorted(INDEX_CASES))
def test_getitem_matches_pytorch(name):
    array, index = INDEX_CASES[name]
    check(lambda m, x: x[index(m)], Arg(array))


@pytest.mark.parametrize("name", sorted(INDEX_CASES))
def test_getitem_on_integer_tensors(name):
    array, index = INDEX_CASES[name]
    check(lambda m, x: x[index(m)], Arg((array * 10).astype(np.int32)))


@pytest.mark.parametrize("name", sorted(INDEX_CASES))
def test_setitem_with_a_broadcast_value(name):
    array, index = INDEX_CASES[name]

    def assign(m, x, v):
        y = x * 1.0
        region = y[index(m)]
        y[index(m)] = v.expand(region.shape) * 2.0 if region.ndim else (v * 2.0).sum()
        return y

    check(assign, Arg(array), Arg(RNG.standard_normal((1,))))


@pytest.mark.parametrize("name", ["int slice tensor", "tensor int tensor", "2-d mask int",
                                  "issue: int slice slice tensor slice", "list int"])
def test_setitem_with_a_full_value_and_gradients(name):
    array, index = INDEX_CASES[name]
    shape = torch.from_numpy(array)[index(torch)].shape
    value = RNG.standard_normal(tuple(shape))

    def assign(m, x, v):
        y = x * 2.0  # (exp's saved output would be stale after the write: see test_parity_inplace)
        y[index(m)] = v * v
        return y * 3.0

    check(assign, Arg(array), Arg(value))


def test_setitem_without_grad_writes_in_place():
    x = dg.zeros(3, 4)
    view = x[1]
    x[1, dg.tensor([0, 2])] = 5.0
    assert view.tolist() == [5.0, 0.0, 5.0, 0.0]
    assert x._version == 1


def test_setitem_casts_values_to_the_tensor_dtype():
    check(lambda m, x: (x.__setitem__(0, 1.7), x)[1], Arg(np.array([1, 2], dtype=np.int64)))
    check(lambda m, x: (x.__setitem__(slice(None), True), x)[1], Arg(np.zeros(2, np.float32),
                                                                      requires_grad=False))
