"""diagonal is a view, flip a copy, masked_fill keeps its input's dtype: as in PyTorch."""

import numpy as np
import pytest

pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(55)


@pytest.mark.parametrize("shape, offset, dim1, dim2", [
    ((3, 3), 0, 0, 1), ((3, 4), 1, 0, 1), ((4, 3), -2, 0, 1), ((2, 3), 5, 0, 1),
    ((2, 3, 4), 1, -1, 0), ((2, 3, 4), -1, 2, 1), ((2, 3, 4, 5), 0, 1, 3), ((3, 3), -3, 1, 0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_diagonal_values_and_gradients(shape, offset, dim1, dim2, dtype):
    x = RNG.standard_normal(shape).astype(dtype)
    check(lambda m, t: m.diagonal(t, offset, dim1, dim2), Arg(x))
    check(lambda m, t: t.diagonal(offset=offset, dim1=dim1, dim2=dim2) * 2, Arg(x))


@pytest.mark.parametrize("shape, offset, dim1, dim2", [
    ((3, 3), 0, 0, 1), ((3, 4), 1, 0, 1), ((2, 3, 4), -1, 2, 1), ((2, 3, 4), 1, -1, 0)])
def test_in_place_on_the_diagonal_writes_through_with_gradients(shape, offset, dim1, dim2):
    x = RNG.standard_normal(shape)

    def fill(m, t):
        y = t * 1
        view = y.diagonal(offset, dim1, dim2)
        view.mul_(3).add_(1)
        return y * y

    check(fill, Arg(x))

    def plain(m, t):  # no autograd: the memory is shared
        y = t.detach().clone()
        y.diagonal(offset, dim1, dim2).fill_(7)
        return y

    check(plain, Arg(x, requires_grad=False))


def test_diag_of_a_matrix_stays_a_copy():
    for m in (dg,):
        x = m.zeros(3, 3)
        m.diag(x).add_(1)
        assert float(x.sum()) == 0.0
    check(lambda m, t: m.diag(t, 1), Arg(RNG.standard_normal((3, 4))))


@pytest.mark.parametrize("name", ["flip", "fliplr", "flipud", "rot90"])
def test_flips_are_copies(name):
    def run(m, t):
        y = t.detach().clone()
        out = {"flip": lambda: y.flip(0), "fliplr": lambda: m.fliplr(y),
               "flipud": lambda: m.flipud(y), "rot90": lambda: m.rot90(y)}[name]()
        y.add_(100)
        return out

    check(run, Arg(RNG.standard_normal((2, 3)), requires_grad=False))
    check(lambda m, t: getattr(m, name)(t) if name != "flip" else t.flip(1),
          Arg(RNG.standard_normal((2, 3))))


@pytest.mark.parametrize("input, value", [
    (np.array([1, 2, 3]), 2.5), (np.array([1, 2, 3]), -2.5), (np.array([True, False, True]), 0),
    (np.array([True, False, True]), 1), (np.array([1.0, 2.0, 3.0], np.float32), 7),
    (np.array([1.0, 2.0, 3.0], np.float32), float("inf")), (np.array([1, 2, 3], np.int32), 9),
    (np.array([1.0, 2.0, 3.0]), 0.5)])
def test_masked_fill_keeps_the_input_dtype(input, value):
    mask = np.array([True, False, True])
    check(lambda m, t, k: t.masked_fill(k, value), Arg(input), Arg(mask))
    check(lambda m, t, k: t.clone().masked_fill_(k, value), Arg(input, requires_grad=False),
          Arg(mask))


def test_masked_fill_with_tensor_values_and_broadcast_masks():
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    check(lambda m, t, v: t.masked_fill(m.tensor([[True], [False]]), v), Arg(x),
          Arg(np.array(2.5)))  # a float64 0-d value: the result stays float32
    check(lambda m, t, v: t.masked_fill(m.tensor([True, False, True]), v),
          Arg(np.array([1, 2, 3])), Arg(np.array(2.7, np.float32), requires_grad=False))
    check(lambda m, t, v: t.masked_fill(m.tensor([True, False, True]), v),
          Arg(np.array([1.0, 2.0, 3.0])), Arg(np.array([2.0, 1.0, 0.0])))  # not 0-d: error
    check(lambda m, t: t.masked_fill(m.tensor([1, 0, 1]), 0.0),
          Arg(np.array([1.0, 2.0, 3.0])))  # not a bool mask: error


@pytest.mark.parametrize("path", [
    lambda y: y[:, 0][:, 1], lambda y: y.permute(0, 2, 1)[:, 0], lambda y: y[:, 0].permute(1, 0),
    lambda y: y.transpose(0, 1)[1:][:, ::2], lambda y: y[1].t()[2:].diagonal(),
    lambda y: y.reshape(6, 4)[1:5].t()[::2]],
    ids=["getitem-getitem", "permute-getitem", "getitem-permute", "three-levels",
         "diagonal-of-slices", "reshape-slice-t-slice"])
def test_in_place_through_views_of_views_reaches_the_inputs(path):
    # (Two view levels ending in a slice lost every gradient before: the write's scatter-back
    # re-read the outer base after the write, a cycle.)
    def run(m, t):
        y = t * 1
        path(y).mul_(3).add_(1)
        return y * y

    check(run, Arg(RNG.standard_normal((2, 3, 4))))
