"""Regression tests for in-place semantics, versions and the other silent wrong answers of
issue 16 (each fixed bug pinned here without PyTorch; tests/parity has the differential
tables)."""

import gc
import math

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import versions


def test_no_grad_parameter_update_changes_the_parameter_and_the_model_learns():
    # PyTorch's "Learning PyTorch with Examples" polynomial fit, with its manual update.
    x = dg.linspace(-math.pi, math.pi, 200, dtype=dg.float64)
    y = dg.sin(x)
    a, b, c, d = (dg.tensor(v, dtype=dg.float64, requires_grad=True)
                  for v in (0.1, -0.2, 0.05, 0.3))
    params = [a, b, c, d]
    losses = []
    for _ in range(300):
        loss = ((a + b * x + c * x ** 2 + d * x ** 3 - y) ** 2).sum()
        losses.append(loss.item())
        loss.backward()
        with dg.no_grad():
            for p in params:
                p -= 1e-6 * p.grad
                p.grad = None
    assert all(p.is_leaf and p.requires_grad for p in params)
    assert losses[-1] < losses[0] / 10


@pytest.mark.parametrize("update", ["-=", "+=", "*=", "/="])
def test_augmented_operators_keep_the_object(update):
    p = dg.tensor([1.0, 2.0], requires_grad=True)
    original = p
    with dg.no_grad():
        exec(f"p {update} dg.tensor([2.0, 4.0])", {"p": p, "dg": dg})  # noqa: S102
    assert p is original and p._version == 1
    expected = {"-=": [-1, -2], "+=": [3, 6], "*=": [2, 8], "/=": [0.5, 0.5]}[update]
    assert p.tolist() == expected


def test_in_place_on_a_leaf_that_requires_grad_raises_outside_no_grad():
    p = dg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used "
                                           "in an in-place operation"):
        p -= 1
    with pytest.raises(RuntimeError, match="leaf Variable"):
        p.zero_()
    with pytest.raises(RuntimeError, match="a view of a leaf Variable"):
        p[0].add_(1)
    assert p.tolist() == [1.0, 1.0] and p._version == 0


def test_a_non_leaf_changed_in_place_carries_its_gradient():
    x = dg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    z = y * 3  # made before the change: its gradient goes to the old y
    y.mul_(x)  # y = 2x * x
    assert y.grad_fn.name == "mul" and not y.is_leaf
    (z.sum() + y.sum()).backward()
    assert x.grad.tolist() == [6 + 4 * 1, 6 + 4 * 2, 6 + 4 * 3]


def test_a_change_backward_needs_raises_with_the_versions():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation: \[deltagrad\."
                                           r"FloatTensor \[2\]\], which is output 0 of exp, is "
                                           r"at version 1; expected version 0 instead"):
        y.sum().backward()


def test_a_change_under_no_grad_to_a_saved_value_also_raises():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    z = h * h
    with dg.no_grad():
        h.mul_(2)
    with pytest.raises(RuntimeError, match="is at version 1; expected version 0"):
        z.sum().backward()


def test_changes_backward_does_not_need_do_not_raise():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y + 1  # add saves nothing
    w = y * 3  # mul by a constant does not save y
    y.zero_()
    (z.sum() + w.sum()).backward()
    assert x.grad.tolist() == [8.0, 8.0]


def test_writing_graph_values_into_a_slice_of_a_constant():
    # As in PyTorch, `buffer` becomes part of the graph (its slice was taken outside it).
    w = dg.ones(4, requires_grad=True)
    buffer = dg.zeros(3, 4)
    buffer[0].add_(w)
    buffer[0] += w
    (buffer * 3).sum().backward()
    assert w.grad.tolist() == [6.0, 6.0, 6.0, 6.0]  # (PyTorch's)
    w.grad = None
    other = dg.zeros(3, 4)
    row = other[1]
    row += w  # no assignment back: `other` is in the graph all the same
    ((other * w).sum() + row.sum()).backward()
    assert w.grad.tolist() == [3.0, 3.0, 3.0, 3.0]  # (PyTorch's)


def test_versions_are_shared_by_views_detach_and_data():
    x = dg.zeros(2, 3)
    views = [x.detach(), x.data, x.view(6), x.t(), x[1], x[:, 0], x.unsqueeze(0)]
    x.add_(1)
    views[2][0] = 5.0
    # (.data has a version counter of its own, as PyTorch's)
    assert x._version == 2 and [v._version for v in views] == [2, 0, 2, 2, 2, 2, 2]
    assert x[0, 0].item() == 5.0
    copy = x.clone()
    assert copy._version == 0


def test_rebinding_history_dies_with_the_tensors():
    gc.collect()
    before = len(versions._rebound), len(versions._owner)
    x = dg.ones(3, requires_grad=True)
    y = x * 2
    y[0:2].mul_(3)
    (y * 1).sum().backward()
    assert x.grad.tolist() == [6.0, 6.0, 2.0]
    del x, y
    gc.collect()
    assert (len(versions._rebound), len(versions._owner)) == before


def test_out_of_range_dims_raise_index_error():
    x = dg.ones(2, 3, 4, 5)
    for call in (lambda: x.sum(5), lambda: x.sum(-5), lambda: x.mean(7), lambda: x.squeeze(50),
                 lambda: x.transpose(0, 4), lambda: x.softmax(4), lambda: dg.cat([x, x], 4),
                 lambda: x.flatten(0, 4), lambda: x.var(4), lambda: x.sum((0, 4))):
        with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in "
                                             r"range of \[-4, 3\], but got"):
            call()
    with pytest.raises(IndexError, match=r"range of \[-5, 4\], but got 6"):
        x.unsqueeze(6)  # a new dim may go at position ndim
    assert x.sum(-4).shape == (3, 4, 5)


def test_var_and_std_take_an_int_dim():
    x = dg.tensor([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]])
    assert np.allclose(x.var(1).numpy(), [7 / 3, 9.3333333])
    assert np.allclose(x.std(0).numpy(), np.std(x.numpy(), axis=0, ddof=1))


def test_bitwise_operators_on_integers_are_bitwise():
    a = dg.tensor([5, 3, 12], dtype=dg.int32)
    b = dg.tensor([3, 6, 10], dtype=dg.int32)
    assert (a & b).tolist() == [1, 2, 8] and (a & b).dtype == dg.int32
    assert (a | b).tolist() == [7, 7, 14] and (a ^ b).tolist() == [6, 5, 6]
    assert (a ^ a).dtype == dg.int32 and (~a).tolist() == [-6, -4, -13]
    masks = dg.tensor([True, False]), dg.tensor([True, True])
    assert (masks[0] ^ masks[1]).tolist() == [False, True] and (~masks[0]).dtype == dg.bool


def test_an_int_beside_an_index_tensor_indexes_as_pytorch():
    x = dg.zeros(2, 3, 12, 5, 6)
    assert x[1, :, 3:11:2, dg.tensor([0, 2]), 0:2].shape == (3, 4, 2, 2)
    assert x[1, :, dg.tensor([0, 2])].shape == (3, 2, 5, 6)  # NumPy: (2, 3, 5, 6)
    assert x[0, 1].numpy().base is not None  # basic integers give views


def test_integer_powers_keep_the_integer_dtype():
    x = dg.tensor([1, 2, 3], dtype=dg.int32)
    assert (x ** 2).dtype == dg.int32 and (x ** 2).tolist() == [1, 4, 9]
    assert (x ** 2.0).dtype == dg.float32
    with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
        x ** -1


def test_pow_gradient_at_zero_to_the_zero_is_zero():
    x = dg.zeros(2, dtype=dg.float64, requires_grad=True)
    y = dg.zeros(2, dtype=dg.float64, requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):  # (0 * inf inside, then masked)
        (x ** y).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0] and y.grad.tolist() == [0.0, 0.0]


def test_integer_linspace_truncates_the_bounds_and_the_values():
    values = dg.linspace(5, -5, 20, dtype=dg.int32).tolist()
    assert values == [5, 4, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, -1, -1, -2, -2, -3, -3, -4, -5]
    assert dg.linspace(2.7, -3.9, 11, dtype=dg.int32).tolist() == [2, 1, 1, 0, 0, 0, -1, -1, -2,
                                                                    -2, -3]
    assert dg.linspace(10, 0, 1, dtype=dg.int64).tolist() == [10]


def test_promotion_of_zero_d_tensors_and_python_numbers():
    ints = dg.tensor([1, 2], dtype=dg.int32)
    assert (ints + 1.5).dtype == dg.float32
    assert (ints + dg.tensor([1, 2])).dtype == dg.int64
    assert (dg.ones(2) * dg.tensor(2.0, dtype=dg.float64)).dtype == dg.float32
    assert (ints * dg.tensor(2.0, dtype=dg.float64)).dtype == dg.float64
    assert (ints + dg.tensor(3)).dtype == dg.int32


@pytest.mark.parametrize("sizes", [(1,), (2, 1), (1, 1), (3,)])
def test_repeat_returns_new_memory_as_pytorch(sizes):
    # A repeat that is only a reshape of a broadcast view used to come back read-only (or
    # aliasing the input), so in-place changes on it raised or reached the input.
    x = dg.arange(3.0)
    y = x.repeat(*sizes)
    y += 1
    assert x.tolist() == [0.0, 1.0, 2.0]
    assert y.reshape(-1).tolist()[:3] == [1.0, 2.0, 3.0]
