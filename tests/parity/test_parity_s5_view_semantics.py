"""Which results share memory with their input (views) and which are copies, as in PyTorch.

One table of functions that derive a tensor from their input without arithmetic. For each:
(1) a write into the result reaches the input exactly when PyTorch's does; (2) a write into
the input reaches the result exactly when PyTorch's does; (3) an in-place op on a view of a
non-leaf flows into the gradient as in PyTorch; (4) an in-place op on a view of a leaf that
requires grad is refused (RuntimeError) as in PyTorch, while on a copy it is allowed.
"""

import numpy as np
import pytest

pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(505)
M34 = RNG.standard_normal((3, 4))
M234 = RNG.standard_normal((2, 3, 4))
V6 = RNG.standard_normal(6)
V7 = RNG.standard_normal(7)


def _first(result):
    return result[0] if isinstance(result, (tuple, list)) else result


# name -> (derive(m, x), input). Multi-output functions are judged on their first piece.
CASES = {
    "view": (lambda m, x: x.view(4, 3), M34),
    "view_minus_one": (lambda m, x: x.view(-1), M34),
    "view_as": (lambda m, x: x.view_as(m.zeros(12, dtype=x.dtype)), M34),
    "reshape_contiguous": (lambda m, x: x.reshape(6, 2), M34),
    "reshape_noncontiguous": (lambda m, x: x.t().reshape(12), M34),
    "reshape_transposed_keeps_view": (lambda m, x: x.t().reshape(4, 3, 1), M34),
    "flatten": (lambda m, x: x.flatten(), M234),
    "flatten_0d_slice": (lambda m, x: x.flatten(1), M234),
    "flatten_noncontiguous": (lambda m, x: x.transpose(0, 2).flatten(), M234),
    "unflatten": (lambda m, x: x.unflatten(1, (2, 2)), M34),
    "squeeze": (lambda m, x: x.unsqueeze(0).squeeze(), M34),
    "squeeze_dim": (lambda m, x: x.unsqueeze(1).squeeze(1), M34),
    "unsqueeze": (lambda m, x: x.unsqueeze(-1), M34),
    "transpose": (lambda m, x: x.transpose(0, 1), M34),
    "swapaxes": (lambda m, x: x.swapaxes(0, 2), M234),
    "swapdims": (lambda m, x: m.swapdims(x, 1, 2), M234),
    "t": (lambda m, x: x.t(), M34),
    "T": (lambda m, x: x.T, M34),
    "mT": (lambda m, x: x.mT, M234),
    "H_real": (lambda m, x: x.H, M34),
    "permute": (lambda m, x: x.permute(2, 0, 1), M234),
    "movedim": (lambda m, x: m.movedim(x, 0, -1), M234),
    "expand": (lambda m, x: x[:1].expand(3, 4), M34),
    "expand_same_shape": (lambda m, x: x.expand(3, 4), M34),
    "expand_as": (lambda m, x: x[:, :1].expand_as(m.zeros(3, 4)), M34),
    "broadcast_to": (lambda m, x: m.broadcast_to(x[0], (2, 4)), M34),
    "narrow": (lambda m, x: x.narrow(1, 1, 2), M34),
    "select": (lambda m, x: x.select(1, -1), M34),
    "index_int": (lambda m, x: x[1], M34),
    "index_slice": (lambda m, x: x[1:, ::2], M34),
    "index_none_ellipsis": (lambda m, x: x[None, ..., 1:3], M234),
    "index_negative_step_free": (lambda m, x: x[:, 1:3][0], M34),
    "index_tensor": (lambda m, x: x[m.tensor([0, 2])], M34),
    "index_list": (lambda m, x: x[[0, 2]], M34),
    "index_bool": (lambda m, x: x[m.tensor([True, False, True])], M34),
    "index_mixed": (lambda m, x: x[1:, m.tensor([0, 3])], M34),
    "split": (lambda m, x: x.split(2, dim=1), M34),
    "split_sizes": (lambda m, x: m.split(x, [1, 2], dim=0), M34),
    "chunk": (lambda m, x: x.chunk(2, dim=1), M34),
    "tensor_split": (lambda m, x: m.tensor_split(x, 3, dim=1), M34),
    "tensor_split_indices": (lambda m, x: x.tensor_split([1, 3], dim=1), M34),
    "unbind": (lambda m, x: x.unbind(1), M34),
    "hsplit": (lambda m, x: m.hsplit(x, 2), M34),
    "vsplit": (lambda m, x: m.vsplit(x, 3), M34),
    "diagonal": (lambda m, x: x.diagonal(1), M34),
    "diagonal_dims": (lambda m, x: m.diagonal(x, 0, 0, 2), M234),
    "unfold": (lambda m, x: x.unfold(0, 2, 2), V7),
    "unfold_2d": (lambda m, x: x.unfold(1, 2, 2), M34),
    "unfold_overlapping": (lambda m, x: x.unfold(0, 3, 1), V6),
    "unfold_dim0_of_matrix": (lambda m, x: x.unfold(0, 2, 1), M34),
    "contiguous_self": (lambda m, x: x.contiguous(), M34),
    "contiguous_copy": (lambda m, x: x.t().contiguous(), M34),
    "detach": (lambda m, x: x.detach(), M34),
    "data": (lambda m, x: x.data, M34),
    "view_dtype": (lambda m, x: x.view(m.float64), M34),
    "clone": (lambda m, x: x.clone(), M34),
    "flip": (lambda m, x: x.flip(1), M34),
    "roll": (lambda m, x: x.roll(1, 0), M34),
    "repeat": (lambda m, x: x.repeat(2, 1), M34),
    "repeat_ones": (lambda m, x: x.repeat(1, 1), M34),
    "tile": (lambda m, x: x.tile((1, 2)), M34),
    "take": (lambda m, x: m.take(x, m.tensor([0, 5, 11])), M34),
    "gather": (lambda m, x: m.gather(x, 1, m.tensor([[0], [1], [3]])), M34),
    "masked_select": (lambda m, x: m.masked_select(x, x > 0), M34),
}

# Overlapping windows: PyTorch writes each shared element once per window holding it, in its
# loop order (x.unfold(0, 3, 1).mul_(2) doubles a middle element three times); deltagrad
# refuses the write (RuntimeError) rather than give another answer. A documented divergence.
OVERLAPPING = {"unfold_overlapping", "unfold_dim0_of_matrix"}
@pytest.mark.parametrize("name", sorted(set(CASES) - OVERLAPPING))
def test_write_into_the_result_reaches_the_input_as_in_pytorch(name):
    derive, array = CASES[name]

    def run(m, x):
        x = x.clone()
        _first(derive(m, x)).mul_(2)
        return x

    check(run, Arg(array, requires_grad=False), grad=False)


@pytest.mark.parametrize("name", sorted(set(CASES) - OVERLAPPING))
def test_write_into_the_input_reaches_the_result_as_in_pytorch(name):
    derive, array = CASES[name]

    def run(m, x):
        x = x.clone()
        result = derive(m, x)
        x.add_(10)
        return [piece for piece in result] if isinstance(result, tuple) else result

    check(run, Arg(array, requires_grad=False), grad=False)


@pytest.mark.parametrize("name", sorted(set(CASES) - OVERLAPPING))
def test_in_place_on_a_view_of_a_non_leaf_gives_the_same_gradient(name):
    derive, array = CASES[name]

    def run(m, x):
        y = x * 1
        _first(derive(m, y)).mul_(2)
        return y * y

    check(run, Arg(array))


@pytest.mark.parametrize("name", sorted(CASES))
def test_in_place_on_a_view_of_a_leaf_is_refused_as_in_pytorch(name):
    derive, array = CASES[name]

    def run(m, x):
        result = _first(derive(m, x))
        result.mul_(2)
        return result

    check(run, Arg(array))


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_of_the_result(name):
    derive, array = CASES[name]
    check(lambda m, x: derive(m, x), Arg(array))


@pytest.mark.parametrize("name", sorted(OVERLAPPING))
def test_in_place_writes_into_overlapping_windows_are_refused(name):
    derive, array = CASES[name]
    for requires_grad in (False, True):
        x = dg.tensor(array, requires_grad=requires_grad)
        y = x * 1
        # (fill_ takes one value, whatever the write order: PyTorch fills, and so does
        # deltagrad outside a graph since s28 SL18; inside one it still refuses)
        fills = (lambda v: v.fill_(0),) if requires_grad else ()
        for write in (lambda v: v.mul_(2), lambda v: v.copy_(v * 0)) + fills:
            with pytest.raises(RuntimeError, match="more than one element"):
                write(derive(dg, y))
        np.testing.assert_array_equal(y.detach().numpy(), array)


@pytest.mark.parametrize("shape, dim, size, step", [
    ((7,), 0, 2, 2), ((6,), -1, 3, 1), ((3, 5), 1, 5, 1), ((3, 5), -2, 1, 2), ((2, 3, 4), 1, 2, 1),
    ((4, 0), 1, 0, 1), ((0, 3), 0, 0, 2), ((), 0, 1, 1), ((), 0, 0, 1),
    ((5,), 0, 6, 1), ((5,), 0, 2, 0), ((5,), 0, -1, 1), ((5,), 1, 2, 1), ((2, 3), -3, 1, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_unfold_values_gradients_and_errors(shape, dim, size, step, dtype):
    x = (RNG.standard_normal(shape) * 3).astype(dtype)
    check(lambda m, t: t.unfold(dim, size, step), Arg(x))
    check(lambda m, t: t.t().unfold(dim, size, step) if t.ndim == 2 else t.unfold(
        dim, size, step), Arg(x))


def test_unfold_non_overlapping_writes_reach_the_input_with_gradients():
    def run(m, t):
        y = t * 1
        windows = y.unfold(1, 2, 3)  # [3, 2, 2]: columns 0, 1 and 3, 4 of each row
        windows[:, 1].mul_(-2)  # a view of the view
        windows.add_(1)
        return y * y

    check(run, Arg(RNG.standard_normal((3, 6))))


def test_split_chunk_unbind_pieces_refuse_in_place_only_under_grad():
    x = dg.randn(3, 4, requires_grad=True) * 1
    for pieces in (x.split(2, 1), x.chunk(2, 1), x.unbind(0), dg.split(x, [1, 3], 1)):
        with pytest.raises(RuntimeError, match="returns multiple views"):
            pieces[-1].mul_(2)
        with pytest.raises(RuntimeError, match="returns multiple views"):
            pieces[0][0].add_(1)  # a view of a piece
    with dg.no_grad():
        x.split(2, 1)[0].mul_(2)
    plain = dg.ones(3, 4)
    plain.split(2, 1)[1].mul_(3)
    assert float(plain.sum()) == 24.0  # 6 ones, 6 threes
