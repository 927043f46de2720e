"""Argument forms PyTorch's parser accepts or refuses (TypeError), found by the session-6
fuzzer: numbers where a tensor is required, bools and floats where an int is, required
arguments, and the method forms that also take dims as separate arguments."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

RNG = np.random.default_rng(7)
X = RNG.standard_normal((2, 3)).astype(np.float32)
S = np.float32(1.5)


def _call(fn, *args, **kwargs):
    """``fn(m, x)`` calling ``fn`` with ``args``, where a callable argument is built per lib."""
    def run(m, x):
        built = [a(m) if callable(a) else a for a in args]
        return fn(m, x, *built, **{k: v(m) if callable(v) else v for k, v in kwargs.items()})
    return run


INT_ARGS = [True, 2.5, -0.5, 1, -1, lambda m: m.tensor(1), lambda m: m.tensor(True),
            lambda m: m.tensor([1]), lambda m: m.tensor(1.0)]


@pytest.mark.parametrize("value", INT_ARGS)
@pytest.mark.parametrize("fn", [
    lambda m, x, v: m.diag(x, v), lambda m, x, v: m.diagonal(x, v), lambda m, x, v: m.triu(x, v),
    lambda m, x, v: m.tril(x, v), lambda m, x, v: m.diag_embed(x, v),
    lambda m, x, v: m.diagflat(x, v), lambda m, x, v: m.rot90(x, v),
    lambda m, x, v: m.tile(x, (v,)), lambda m, x, v: x.sum_to_size(v),
])
def test_int_arguments(fn, value):
    check(_call(fn, value), Arg(X), grad=False)


@pytest.mark.parametrize("value", [2, 2.5, True, lambda m: m.tensor(2), (2,)])
@pytest.mark.parametrize("fn", [
    lambda m, x, v: m.flip(x, v), lambda m, x, v: m.tile(x, v), lambda m, x, v: x.tile(v),
    lambda m, x, v: x.flip(v), lambda m, x, v: m.flip(x, dims=v),
])
def test_dims_sequences_and_method_forms(fn, value):
    check(_call(fn, value), Arg(X), grad=False)


@pytest.mark.parametrize("fn", [
    lambda m, x: x.flip(), lambda m, x: x.tile(), lambda m, x: x.sum_to_size(),
    lambda m, x: x.flip(0, 1), lambda m, x: x.tile(2, 1), lambda m, x: x.flip(dims=(1,)),
    lambda m, x: x.tile(dims=(1, 2)), lambda m, x: x.sum_to_size(1, 3),
    lambda m, x: x.sum_to_size((3,)),
])
def test_required_arguments(fn):
    check(fn, Arg(X), grad=False)


@pytest.mark.parametrize("other", [2, 2.5, True])
@pytest.mark.parametrize("fn", [
    lambda m, x, o: m.inner(x, o), lambda m, x, o: m.equal(x, o), lambda m, x, o: m.dist(x, o),
    lambda m, x, o: m.take(x, o), lambda m, x, o: m.take_along_dim(x, o),
    lambda m, x, o: m.block_diag(x, o), lambda m, x, o: m.atleast_1d(x, o),
    lambda m, x, o: m.atleast_2d([x, o]), lambda m, x, o: m.atleast_3d(o),
])
def test_numbers_where_tensors_are_required(fn, other):
    check(_call(fn, other), Arg(X), grad=False)


@pytest.mark.parametrize("flag", [True, False, 1, 0, 2.5, lambda m: m.tensor(True)])
@pytest.mark.parametrize("fn", [
    lambda m, x, f: m.unique(x, f), lambda m, x, f: m.unique(x, return_inverse=f),
    lambda m, x, f: m.unique(x, return_counts=f),
    lambda m, x, f: m.unique_consecutive(x.reshape(-1), return_inverse=f),
    lambda m, x, f: m.unique_consecutive(x, return_counts=f),
])
def test_unique_flags_must_be_bools(fn, flag):
    check(_call(fn, flag), Arg(np.array([[1, 1, 2], [3, 3, 1]])), grad=False)


@pytest.mark.parametrize("value", [1.0, lambda m: m.tensor(1.0), lambda m: m.tensor([1.0])])
def test_nan_to_num_values(value):
    data = np.array([np.nan, np.inf, -np.inf, 1.0], dtype=np.float32)
    check(_call(lambda m, x, v: m.nan_to_num(x, v), value), Arg(data), grad=False)
    check(_call(lambda m, x, v: m.nan_to_num(x, posinf=v), value), Arg(data), grad=False)
    check(_call(lambda m, x, v: x.clone().nan_to_num_(neginf=v), value), Arg(data), grad=False)


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int32, np.float64])
def test_cross_dtypes_must_match(dtype):
    a = RNG.integers(-3, 4, (2, 3)).astype(np.float32)
    check(lambda m, x, y: m.cross(x, y, dim=1), Arg(a), Arg(a.astype(dtype)), grad=False)
    check(lambda m, x, y: m.linalg.cross(y, y), Arg(a), Arg(a.astype(dtype)), grad=False)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.float32])
def test_take_index_dtypes(dtype):
    index = np.array([[0, 2]]).astype(dtype)
    check(lambda m, x, i: m.take(x, i), Arg(X), Arg(index), grad=False)
    check(lambda m, x, i: m.take_along_dim(x, i, 1), Arg(X), Arg(index), grad=False)
    check(lambda m, x, i: m.take(x, i[:, :0]), Arg(X), Arg(index), grad=False)
    check(lambda m, x, i: m.take_along_dim(x, i[:, :0], 1), Arg(X), Arg(index), grad=False)


@pytest.mark.parametrize("k", [2, 2.0, -0.5, lambda m: m.tensor(2), lambda m: m.tensor([2])])
def test_topk_k_forms(k):
    check(_call(lambda m, x, v: m.topk(x, v), k), Arg(X), grad=False)


@pytest.mark.parametrize("value", [5.0, -3, lambda m: m.tensor(5.0), lambda m: m.ones(3)])
def test_fill_diagonal_values(value):
    check(_call(lambda m, x, v: x.clone().fill_diagonal_(v), value), Arg(X), grad=False)
