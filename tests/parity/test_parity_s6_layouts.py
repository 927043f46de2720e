"""Memory layouts (strides) of op results against PyTorch's, on transposed / permuted inputs.

Layouts matter beyond speed: a dropout mask or random fill is drawn in the result's memory order,
so an op whose result is laid out differently from PyTorch's makes the next random draw differ.
PyTorch's elementwise ops keep a dense input's strides; its reductions, scans, softmax, cat and
index ops return contiguous tensors.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import deltagrad as dg  # noqa: E402

_A = np.random.default_rng(0).standard_normal((3, 4, 5))


def _perm(m):
    """A dense, non-contiguous [5, 3, 4] tensor."""
    return m.tensor(_A).permute(2, 0, 1)


def _t(m):
    """A transposed [5, 4] matrix."""
    return m.tensor(_A[0]).T


_IDX = [0, 2, 1]

CASES = {
    # elementwise: the input's strides
    "neg": lambda m: -_perm(m),
    "exp": lambda m: _perm(m).exp(),
    "add_scalar": lambda m: _perm(m) + 1,
    "mul_same_layout": lambda m: _perm(m) * _perm(m),
    "relu": lambda m: m.relu(_perm(m)),
    "sigmoid": lambda m: m.sigmoid(_perm(m)),
    "gelu": lambda m: m.nn.functional.gelu(_perm(m)),
    "clamp": lambda m: _perm(m).clamp(-0.5, 0.5),
    "pow": lambda m: _perm(m) ** 2,
    "gt": lambda m: _perm(m) > 0,
    "nan_to_num": lambda m: _perm(m).nan_to_num(),
    "to_float32": lambda m: _perm(m).float(),
    "zeros_like": lambda m: m.zeros_like(_perm(m)),
    "ones_like": lambda m: m.ones_like(_perm(m)),
    "empty_like": lambda m: m.empty_like(_perm(m)),
    "full_like_int": lambda m: m.full_like(_perm(m), 2, dtype=m.int64),
    "zeros_like_sliced": lambda m: m.zeros_like(_perm(m)[:, :, 1:]),
    # softmax family: contiguous
    "softmax_last": lambda m: m.softmax(_perm(m), -1),
    "softmax_first": lambda m: m.softmax(_perm(m), 0),
    "softmax_matrix": lambda m: m.softmax(_t(m), -1),
    "log_softmax": lambda m: m.log_softmax(_perm(m), -1),
    "softmax_sliced": lambda m: m.softmax(_perm(m)[:, :, 1:], -1),
    # reductions: contiguous
    "sum": lambda m: _perm(m).sum(1),
    "sum_keepdim": lambda m: _perm(m).sum(1, keepdim=True),
    "sum_int": lambda m: _perm(m).long().sum(-1),
    "mean": lambda m: _perm(m).mean(-1),
    "prod": lambda m: _perm(m).prod(1),
    "var": lambda m: _perm(m).var(1),
    "std": lambda m: _perm(m).std(-1),
    "amax": lambda m: _perm(m).amax(1),
    "amin": lambda m: _perm(m).amin(-1),
    "max_dim": lambda m: _perm(m).max(1).values,
    "argmax": lambda m: _perm(m).argmax(1),
    "logsumexp": lambda m: _perm(m).logsumexp(1),
    "norm": lambda m: _perm(m).norm(dim=1),
    "norm_1": lambda m: m.linalg.vector_norm(_perm(m), 1, dim=1),
    "median": lambda m: _perm(m).median(1).values,
    # scans: contiguous
    "cumsum": lambda m: _perm(m).cumsum(1),
    "cumprod": lambda m: _perm(m).cumprod(0),
    "logcumsumexp": lambda m: _perm(m).logcumsumexp(1),
    "cummax": lambda m: _perm(m).cummax(1).values,
    "cummax_indices": lambda m: _perm(m).cummax(1).indices,
    # index ops, joins, rearrangements: contiguous
    "index_first": lambda m: _perm(m)[m.tensor(_IDX)],
    "index_later_contiguous_input": lambda m: m.ones(4, 5)[:, m.tensor(_IDX)],
    "bool_mask": lambda m: _t(m)[:, m.tensor([True, False, True, True])],
    "index_select_0": lambda m: _perm(m).index_select(0, m.tensor(_IDX)),
    "index_select_1": lambda m: _perm(m).index_select(1, m.tensor([0, 2])),
    "index_select_2": lambda m: _perm(m).index_select(2, m.tensor(_IDX)),
    "gather": lambda m: _t(m).gather(1, m.tensor([[0, 1]] * 5)),
    "cat_0": lambda m: m.cat([_perm(m), _perm(m)], 0),
    "cat_1": lambda m: m.cat([_perm(m), _perm(m)], 1),
    "stack": lambda m: m.stack([_t(m), _t(m)], 1),
    "roll": lambda m: _perm(m).roll(1, 1),
    "roll_flat": lambda m: _perm(m).roll(1),
    "flip": lambda m: _perm(m).flip(1),
    "repeat_interleave": lambda m: _perm(m).repeat_interleave(2, 1),
    "masked_fill": lambda m: _perm(m).masked_fill(_perm(m) > 0, 0.0),
    "one_hot": lambda m: m.nn.functional.one_hot(m.tensor([[0, 1], [2, 0]]).T, 3),
    "clone": lambda m: _perm(m).clone(),
    "reshape": lambda m: _perm(m).reshape(5, 12),
    "matmul": lambda m: _t(m) @ m.tensor(_A[1]),
    "layer_norm": lambda m: m.nn.functional.layer_norm(_perm(m), (4,)),
    # (binary results follow their operands' layout as TensorIterator's: session 26, LY1)
    "mul_mixed": lambda m: _perm(m) * m.ones(5, 3, 4),
    "sub_reduced": lambda m: _perm(m) - _perm(m).mean(-1, keepdim=True),
}

# Left as they are (PyTorch's rule is not followed here); each pinned until fixed.
DIFFER = {
    # PyTorch's sort keeps a dense input's strides (values and indices); ours are contiguous.
    "sort": lambda m: _perm(m).sort(1).values,
    # PyTorch's advanced index on a non-contiguous input lays its result out from the input's
    # strides; ours is contiguous (as PyTorch's is for a contiguous input).
    "index_later_permuted_input": lambda m: _perm(m)[:, m.tensor(_IDX)],
}


def _strides(make):
    return make(torch).stride(), make(dg).stride()


@pytest.mark.parametrize("name", sorted(CASES))
def test_layout(name):
    theirs, ours = _strides(CASES[name])
    assert ours == theirs


@pytest.mark.parametrize("name", sorted(DIFFER))
@pytest.mark.xfail(strict=True, reason="layout differs from PyTorch's (see DIFFER)")
def test_known_layout_difference(name):
    theirs, ours = _strides(DIFFER[name])
    assert ours == theirs


def test_advanced_index_keeps_views_for_basic_indices():
    x = dg.tensor(_A).permute(2, 0, 1)
    view = x[:, 1:]  # a basic index stays a view with the input's strides, as in PyTorch
    assert view.stride() == torch.tensor(_A).permute(2, 0, 1)[:, 1:].stride()
    view.mul_(0.0)
    assert float(x[:, 1:].abs().sum()) == 0.0


@pytest.mark.parametrize("make", [
    lambda m: m.softmax(_perm(m), -1),
    lambda m: _perm(m).sum(1),
    lambda m: m.cat([_perm(m), _perm(m)], 1),
    lambda m: _perm(m).index_select(2, m.tensor(_IDX)),
    lambda m: m.zeros_like(_perm(m)) + _perm(m),
], ids=["softmax", "sum", "cat", "index_select", "zeros_like_add"])
def test_dropout_mask_after_op(make):
    masks = []
    for lib in (torch, dg):
        lib.manual_seed(0)
        masks.append(lib.nn.functional.dropout(make(lib), 0.5).numpy() != 0)
    np.testing.assert_array_equal(masks[1], masks[0])


@pytest.mark.parametrize("make", [
    lambda m: m.tensor(_A)[:, :1].expand(3, 4, 5),
    lambda m: m.tensor(_A)[:, ::2].transpose(0, 2),
    lambda m: m.tensor(_A).permute(1, 2, 0)[..., :1].expand(4, 5, 2),
], ids=["expanded", "strided", "permuted_expanded"])
def test_like_of_non_dense_input(make):
    theirs, ours = make(torch), make(dg)
    for like in ("zeros_like", "ones_like", "empty_like"):
        assert getattr(dg, like)(ours).stride() == getattr(torch, like)(theirs).stride()
