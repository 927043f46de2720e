"""``Tensor.shape`` and ``Tensor.size()`` are ``deltagrad.Size`` (PyTorch's ``torch.Size``): a
tuple of ints with ``numel()``, whose slices, sums and repeats are Sizes too."""

import pickle

import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402

SHAPES = [(), (0,), (3,), (2, 3), (2, 0, 4), (1, 2, 3, 4)]


def _same(ours, theirs) -> None:
    assert isinstance(ours, dg.Size) and isinstance(theirs, torch.Size)
    assert tuple(ours) == tuple(theirs)
    assert repr(ours) == repr(theirs).replace("torch", "deltagrad")


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_shape_and_size_are_sizes(shape):
    ours, theirs = dg.zeros(shape), torch.zeros(shape)
    _same(ours.shape, theirs.shape)
    _same(ours.size(), theirs.size())
    assert ours.shape.numel() == theirs.shape.numel() == ours.numel()
    assert ours.shape == theirs.shape == shape  # (a tuple compares equal)
    assert hash(ours.shape) == hash(shape)
    for dim in range(-len(shape), len(shape)):
        assert ours.size(dim) == theirs.size(dim) and type(ours.size(dim)) is int
    _same(ours.shape[1:], theirs.shape[1:])
    _same(ours.shape[::-1], theirs.shape[::-1])
    _same(ours.shape + (5,), theirs.shape + (5,))
    _same((5,) + ours.shape, (5,) + theirs.shape)
    _same(ours.shape * 2, theirs.shape * 2)
    _same(2 * ours.shape, 2 * theirs.shape)


def test_size_of_results_views_and_parameters():
    x = dg.randn(2, 3, requires_grad=True)
    for tensor in (x * 2, x.t(), x[0], x.sum(), dg.nn.Linear(3, 2).weight):
        assert isinstance(tensor.shape, dg.Size)
    assert dg.zeros(dg.Size([2, 3])).shape == (2, 3)  # a Size is a valid shape argument
    assert x.view(x.shape[::-1]).shape == (3, 2)


def test_size_indexing_pickling_and_errors():
    size = dg.zeros(2, 3, 4).shape
    assert size[0] == 2 and size[-1] == 4 and type(size[0]) is int
    assert pickle.loads(pickle.dumps(size)) == size
    assert isinstance(pickle.loads(pickle.dumps(size)), dg.Size)
    assert dg.Size([2, 3]).numel() == 6 and dg.Size([]).numel() == 1
    with pytest.raises(IndexError):
        size[3]
    with pytest.raises(IndexError):
        dg.zeros(2, 3).size(2)
    # Printed as its repr, as PyTorch's (print(x.shape) gives "torch.Size([2, 3, 4])" there).
    assert str(size) == f"{size}" == repr(size) == "deltagrad.Size([2, 3, 4])"
