"""Differential table: gather / scatter and their reductions, index_*, take, take_along_dim,
masks, nonzero / argwhere and one_hot against PyTorch: values, dtypes, shapes, gradients and
exception types."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

# PyTorch deprecates scatter's reduce= with a tensor src; the table still checks it.
pytestmark = [pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter"),
              pytest.mark.filterwarnings("ignore:index_reduce\\(\\) is in beta")]

R = np.random.default_rng(1)


def f64(*shape):
    return R.standard_normal(shape)


def i64(*values):
    return np.array(values, dtype=np.int64)


M = f64(3, 4)
A = f64(2, 3, 4)
GI = i64([0, 3], [1, 1], [2, 0])           # gather index for M along dim 1
SI = i64([0, 2, 2], [1, 1, 0])            # scatter index into M along dim 0 (duplicates)


def nograd(array):
    return Arg(array, requires_grad=False)


CASES = [
    # gather
    ("gather", lambda m, x, i: m.gather(x, 1, i), Arg(M), Arg(GI)),
    ("gather-dim0", lambda m, x, i: x.gather(0, i), Arg(M), Arg(i64([[2, 0, 1, 1]]))),
    ("gather-smaller", lambda m, x, i: m.gather(x, 1, i), Arg(M), Arg(i64([0], [3]))),
    ("gather-neg-dim", lambda m, x, i: m.gather(x, -1, i), Arg(A), Arg(np.zeros((2, 1, 3),
                                                                               np.int64))),
    ("gather-int32-index", lambda m, x, i: m.gather(x, 1, i), Arg(M),
     Arg(GI.astype(np.int32))),
    ("gather-out-of-range", lambda m, x, i: m.gather(x, 1, i), Arg(M), Arg(i64([4], [0]))),
    ("gather-negative-index", lambda m, x, i: m.gather(x, 1, i), Arg(M), Arg(i64([-1]))),
    ("gather-too-big", lambda m, x, i: m.gather(x, 1, i), Arg(M),
     Arg(np.zeros((4, 1), np.int64))),
    ("gather-rank", lambda m, x, i: m.gather(x, 1, i), Arg(M), Arg(i64(0, 1))),
    ("gather-float-index", lambda m, x, i: m.gather(x, 1, i), Arg(M), Arg(f64(3, 1))),
    ("gather-int", lambda m, x, i: m.gather(x, 0, i), Arg(i64([1, 2], [3, 4])),
     Arg(i64([1, 0], [0, 0]))),
    ("gather-empty", lambda m, x, i: m.gather(x, 1, i), Arg(M),
     Arg(np.zeros((3, 0), np.int64))),
    ("gather-0d", lambda m, x, i: m.gather(x, 0, i), Arg(f64()), Arg(np.array(0))),
    ("gather-T", lambda m, x, i: m.gather(x.t(), 0, i), Arg(M), Arg(i64([0, 2, 1], [1, 1, 1]))),
    ("take_along_dim", lambda m, x, i: m.take_along_dim(x, i, 1), Arg(M), Arg(GI)),
    ("take_along_dim-broadcast", lambda m, x, i: m.take_along_dim(x, i, 1), Arg(M),
     Arg(i64([[0, 3]]))),
    ("take_along_dim-flat", lambda m, x, i: m.take_along_dim(x, i), Arg(M), Arg(i64(0, 11, 5))),
    ("take_along_dim-rank", lambda m, x, i: m.take_along_dim(x, i, 0), Arg(M), Arg(i64(0))),
    # scatter
    ("scatter-src", lambda m, x, i, s: m.scatter(x, 0, i, s), Arg(M), Arg(SI), Arg(f64(2, 3))),
    # (PyTorch cannot differentiate src when it is larger than index: no gradient compared.)
    ("scatter-bigger-src", lambda m, x, i, s: x.scatter(1, i, s), Arg(M), Arg(GI),
     nograd(f64(3, 4))),
    ("scatter-value", lambda m, x, i: m.scatter(x, 1, i, 2.5), Arg(M), Arg(GI)),
    ("scatter-value-kw", lambda m, x, i: x.scatter(1, i, value=-1.0), Arg(M), Arg(GI)),
    ("scatter-int", lambda m, x, i, s: x.scatter(1, i, s), Arg(i64([1, 2], [3, 4])),
     Arg(i64([1], [0])), Arg(i64([7], [8]))),
    ("scatter-dtype", lambda m, x, i, s: x.scatter(0, i, s), Arg(M), Arg(SI),
     Arg(f64(2, 3).astype(np.float32))),
    ("scatter-out-of-range", lambda m, x, i, s: x.scatter(1, i, s), Arg(M),
     Arg(i64([4], [0], [0])), Arg(f64(3, 1))),
    ("scatter-src-small", lambda m, x, i, s: x.scatter(1, i, s), Arg(M), Arg(GI),
     Arg(f64(3, 1))),
    # (PyTorch has no derivative for scatter's reduce= form nor for the "max" alias.)
    ("scatter-reduce-add", lambda m, x, i: x.scatter(0, i, 2.0, reduce="add"), nograd(M),
     Arg(SI)),
    ("scatter-reduce-multiply", lambda m, x, i, s: x.scatter(0, i, s, reduce="multiply"),
     nograd(M), Arg(SI), nograd(f64(2, 3))),
    ("scatter_add", lambda m, x, i, s: m.scatter_add(x, 0, i, s), Arg(M), Arg(SI),
     Arg(f64(2, 3))),
    ("scatter_add-bigger-src", lambda m, x, i, s: x.scatter_add(1, i, s), Arg(M), Arg(GI),
     nograd(f64(4, 5))),
    ("scatter_add-int", lambda m, x, i, s: x.scatter_add(0, i, s),
     Arg(np.zeros((3, 4), np.int64)), Arg(SI), Arg(np.ones((2, 3), np.int64))),
    ("scatter-0d", lambda m, x, i, s: x.scatter(0, i, s), Arg(f64()), Arg(np.array(0)),
     Arg(f64())),
    ("scatter-empty-index", lambda m, x, i, s: x.scatter(1, i, s), Arg(M),
     Arg(np.zeros((3, 0), np.int64)), nograd(f64(3, 2))),
    ("scatter_add-0d", lambda m, x, i, s: x.scatter_add(0, i, s), Arg(f64()), Arg(np.array(0)),
     Arg(f64())),
    ("scatter_reduce-0d", lambda m, x, i, s: x.scatter_reduce(0, i, s, "amax"), Arg(f64()),
     Arg(np.array(0)), Arg(f64())),
    ("scatter_add-neg-dim", lambda m, x, i, s: x.scatter_add(-2, i, s), Arg(M), Arg(SI),
     Arg(f64(2, 3))),
]
for _reduce in ("sum", "prod", "mean", "amax", "amin"):
    for _self in (True, False):
        CASES.append((f"scatter_reduce-{_reduce}-{_self}",
                      lambda m, x, i, s, r=_reduce, k=_self: m.scatter_reduce(
                          x, 0, i, s, r, include_self=k),
                      Arg(M), Arg(SI), Arg(f64(2, 3))))
        CASES.append((f"scatter_reduce-int-{_reduce}-{_self}",
                      lambda m, x, i, s, r=_reduce, k=_self: x.scatter_reduce(
                          0, i, s, r, include_self=k),
                      Arg(i64([-5, 7, 3], [2, -1, 4])), Arg(i64([0, 0, 1], [0, 1, 1])),
                      Arg(i64([2, 0, -3], [4, 4, 1]))))
CASES += [
    ("scatter_reduce-ties", lambda m, x, i, s: x.scatter_reduce(0, i, s, "amax",
                                                                include_self=False),
     Arg(np.array([1.0, 2.0])), Arg(i64(0, 1, 0)), Arg(np.array([1.0, 4.0, 1.0]))),
    ("scatter_reduce-ties-self", lambda m, x, i, s: x.scatter_reduce(0, i, s, "amin"),
     Arg(np.array([1.0, 2.0])), Arg(i64(0, 1, 0)), Arg(np.array([1.0, 4.0, 1.0]))),
    ("scatter_reduce-prod-zeros", lambda m, x, i, s: x.scatter_reduce(0, i, s, "prod"),
     Arg(np.array([0.0, 2.0, 3.0])), Arg(i64(0, 1, 0, 2, 2)),
     Arg(np.array([0.0, 4.0, 3.0, 0.0, 5.0]))),
    ("scatter_reduce-prod-zeros-noself", lambda m, x, i, s: x.scatter_reduce(
        0, i, s, "prod", include_self=False),
     Arg(np.array([0.0, 2.0, 3.0])), Arg(i64(0, 1, 0, 2, 2)),
     Arg(np.array([0.0, 4.0, 3.0, 0.0, 5.0]))),
    ("scatter_reduce-bad", lambda m, x, i, s: x.scatter_reduce(0, i, s, "maximum"), Arg(M),
     Arg(SI), Arg(f64(2, 3))),
    ("scatter_reduce-max-alias", lambda m, x, i, s: x.scatter_reduce(0, i, s, "max"),
     nograd(M), Arg(SI), nograd(f64(2, 3))),
    ("scatter-reduce-bad", lambda m, x, i: x.scatter(0, i, 2.0, reduce="sum"), Arg(M),
     Arg(SI)),
    # index_*
    ("index_select", lambda m, x, i: m.index_select(x, 1, i), Arg(M), Arg(i64(3, 0, 0))),
    ("index_select-0d", lambda m, x, i: x.index_select(0, i), Arg(M), Arg(np.array(2))),
    ("index_select-neg-dim", lambda m, x, i: x.index_select(-1, i), Arg(A), Arg(i64(1))),
    ("index_select-out-of-range", lambda m, x, i: x.index_select(0, i), Arg(M), Arg(i64(3))),
    ("index_select-negative", lambda m, x, i: x.index_select(0, i), Arg(M), Arg(i64(-1))),
    ("index_select-int32", lambda m, x, i: x.index_select(0, i), Arg(M),
     Arg(np.array([1, 1], np.int32))),
    ("index_select-2d-index", lambda m, x, i: x.index_select(0, i), Arg(M), Arg(i64([0, 1]))),
    ("index_select-empty", lambda m, x, i: x.index_select(1, i), Arg(M),
     Arg(np.zeros(0, np.int64))),
    ("index_select-bool", lambda m, x, i: x.index_select(1, i),
     Arg(np.array([[True, False]])), Arg(i64(1, 1, 0))),
    ("index_add", lambda m, x, i, s: m.index_add(x, 0, i, s), Arg(M), Arg(i64(0, 2, 0)),
     Arg(f64(3, 4))),
    ("index_add-alpha", lambda m, x, i, s: x.index_add(1, i, s, alpha=-2.5), Arg(M),
     Arg(i64(1, 1)), Arg(f64(3, 2))),
    ("index_add-int", lambda m, x, i, s: x.index_add(0, i, s, alpha=3),
     Arg(np.zeros((2, 2), np.int64)), Arg(i64(1, 1)), Arg(np.ones((2, 2), np.int64))),
    ("index_add-shape", lambda m, x, i, s: x.index_add(0, i, s), Arg(M), Arg(i64(0, 0)),
     Arg(f64(2, 3))),
    ("index_add-dtype", lambda m, x, i, s: x.index_add(0, i, s), Arg(M), Arg(i64(0)),
     Arg(f64(1, 4).astype(np.float32))),
    ("index_reduce-mean", lambda m, x, i, s: x.index_reduce(0, i, s, "mean"), Arg(M),
     Arg(i64(0, 2, 0)), Arg(f64(3, 4))),
    ("index_reduce-amax-noself", lambda m, x, i, s: x.index_reduce(
        1, i, s, "amax", include_self=False), Arg(M), Arg(i64(1, 1)), Arg(f64(3, 2))),
    ("index_reduce-prod", lambda m, x, i, s: m.index_reduce(x, 0, i, s, "prod"), Arg(M),
     Arg(i64(2, 2)), Arg(f64(2, 4))),
    ("index_reduce-sum", lambda m, x, i, s: x.index_reduce(0, i, s, "sum"), Arg(M),
     Arg(i64(2)), Arg(f64(1, 4))),
    ("index_copy", lambda m, x, i, s: m.index_copy(x, 1, i, s), Arg(M), Arg(i64(3, 0)),
     Arg(f64(3, 2))),
    ("index_copy-dtype", lambda m, x, i, s: x.index_copy(0, i, s), Arg(M), Arg(i64(0)),
     Arg(f64(1, 4).astype(np.float32))),
    ("index_fill", lambda m, x, i: m.index_fill(x, 1, i, -2.0), Arg(M), Arg(i64(0, -2))),
    ("index_fill-range", lambda m, x, i: m.index_fill(x, 1, i, -2.0), Arg(M), Arg(i64(4))),
    ("index_fill-2d", lambda m, x, i: m.index_fill(x, 1, i, -2.0), Arg(M), Arg(i64([0]))),
    ("index_add-negative", lambda m, x, i, s: x.index_add(0, i, s), Arg(M), Arg(i64(-1)),
     Arg(f64(1, 4))),
    ("index_add-range", lambda m, x, i, s: x.index_add(0, i, s), Arg(M), Arg(i64(3)),
     Arg(f64(1, 4))),
    ("index_add-2d", lambda m, x, i, s: x.index_add(0, i, s), Arg(M), Arg(i64([0])),
     Arg(f64(1, 4))),
    ("index_copy-negative", lambda m, x, i, s: x.index_copy(0, i, s), Arg(M), Arg(i64(-1)),
     Arg(f64(1, 4))),
    ("index_copy-range", lambda m, x, i, s: x.index_copy(0, i, s), Arg(M), Arg(i64(3)),
     Arg(f64(1, 4))),
    ("index_select-0d-input", lambda m, x, i: x.index_select(0, i), Arg(f64()), Arg(i64(0))),
    ("index_put-negative", lambda m, x, i, v: x.index_put((i,), v), Arg(M), Arg(i64(-1)),
     Arg(f64(4))),
    ("index_fill-tensor", lambda m, x, i, v: x.index_fill(0, i, v), Arg(M), Arg(i64(1)),
     Arg(np.array(3.5))),
    ("index_fill-1d-value", lambda m, x, i, v: x.index_fill(0, i, v), Arg(M), Arg(i64(1)),
     Arg(np.array([3.5]))),
    ("index_fill-bool", lambda m, x, i: x.index_fill(1, i, True),
     Arg(np.zeros((2, 3), bool)), Arg(i64(2))),
    ("index_put", lambda m, x, i, j, v: m.index_put(x, (i, j), v), Arg(M), Arg(i64(0, 2)),
     Arg(i64(1, 3)), Arg(f64(2))),
    ("index_put-broadcast", lambda m, x, i, v: x.index_put((i,), v), Arg(M), Arg(i64(0, 2)),
     Arg(f64(4))),
    ("index_put-accumulate", lambda m, x, i, v: x.index_put((i,), v, accumulate=True), Arg(M),
     Arg(i64(0, 0, 2)), Arg(f64(3, 4))),
    ("index_put-accumulate-0d", lambda m, x, i, v: x.index_put((i,), v, accumulate=True),
     Arg(M), Arg(i64(1, 1)), Arg(np.array(2.0))),
    ("index_put-bool", lambda m, x, k, v: x.index_put((k,), v), Arg(M),
     nograd(np.array([True, False, True])), Arg(f64(4))),
    ("index_put-dtype", lambda m, x, i, v: x.index_put((i,), v), Arg(M), Arg(i64(0)),
     Arg(f64(4).astype(np.float32))),
    ("index_put-range", lambda m, x, i, v: x.index_put((i,), v), Arg(M), Arg(i64(5)),
     Arg(f64(4))),
    # take, masks
    ("take", lambda m, x, i: m.take(x, i), Arg(M), Arg(i64([0, 11], [-1, 5]))),
    ("take-T", lambda m, x, i: m.take(x.t(), i), Arg(M), Arg(i64(1, 2, 3))),
    ("take-range", lambda m, x, i: x.take(i), Arg(M), Arg(i64(12))),
    ("take-0d", lambda m, x, i: x.take(i), Arg(f64()), Arg(np.array(0))),
    ("masked_select", lambda m, x, k: m.masked_select(x, k), Arg(M), nograd(M > 0)),
    ("masked_select-broadcast", lambda m, x, k: x.masked_select(k), Arg(M),
     nograd(np.array([True, False, True, True]))),
    ("masked_select-broadcast-input", lambda m, x, k: x.masked_select(k), Arg(f64(4)),
     nograd(M > 0)),
    ("masked_select-not-bool", lambda m, x, k: x.masked_select(k), Arg(M),
     Arg((M > 0).astype(np.int64))),
    ("masked_select-int", lambda m, x, k: x.masked_select(k), Arg(i64(1, 2, 3)),
     nograd(np.array([True, False, True]))),
    ("masked_scatter", lambda m, x, k, s: m.masked_scatter(x, k, s), Arg(M), nograd(M > 0),
     Arg(f64(20))),
    ("masked_scatter-broadcast", lambda m, x, k, s: x.masked_scatter(k, s), Arg(M),
     nograd(np.array([True, False, True, True])), Arg(f64(3, 4))),
    ("masked_scatter-short", lambda m, x, k, s: x.masked_scatter(k, s), Arg(M),
     nograd(np.ones((3, 4), bool)), Arg(f64(5))),
    ("masked_scatter-dtype", lambda m, x, k, s: x.masked_scatter(k, s), Arg(M),
     nograd(M > 0), Arg(f64(12).astype(np.float32))),
    ("masked_scatter-0d", lambda m, x, k, s: x.masked_scatter(k, s), Arg(f64()),
     nograd(np.array(True)), Arg(f64(2))),
    ("masked_scatter-empty", lambda m, x, k, s: x.masked_scatter(k, s), Arg(f64(0, 2)),
     nograd(np.zeros((0, 2), bool)), Arg(f64(2))),
    ("masked_fill", lambda m, x, k: x.masked_fill(k, 0.5), Arg(M), nograd(M > 0)),
    # nonzero / argwhere / one_hot
    ("nonzero", lambda m, x: m.nonzero(x), Arg(np.array([[0, 1, 0], [2, 0, 3]]))),
    ("nonzero-tuple", lambda m, x: m.nonzero(x, as_tuple=True), Arg(np.array([[0, 1], [2, 0]]))),
    ("nonzero-0d", lambda m, x: x.nonzero(), Arg(np.array(3.0), requires_grad=False)),
    ("nonzero-0d-tuple", lambda m, x: x.nonzero(as_tuple=True), Arg(np.array(3))),
    ("nonzero-0d-zero", lambda m, x: x.nonzero(), Arg(np.array(0))),
    ("nonzero-empty", lambda m, x: m.nonzero(x), Arg(np.zeros((0, 2)), requires_grad=False)),
    ("nonzero-bool", lambda m, x: m.nonzero(x), Arg(np.array([True, False, True]))),
    ("argwhere", lambda m, x: m.argwhere(x), Arg(np.array([[0.0, 1.5], [2.0, 0.0]]),
                                                  requires_grad=False)),
    ("argwhere-T", lambda m, x: m.argwhere(x.t()), Arg(np.array([[0, 1, 0], [2, 0, 3]]))),
    ("select", lambda m, x: m.select(x, 0, 1), Arg(M)),
    # in-place forms on a non-leaf (recorded, as in PyTorch)
    ("scatter_", lambda m, x, i, s: (x * 1).scatter_(1, i, s), Arg(M), Arg(GI), Arg(f64(3, 2))),
    ("index_add_", lambda m, x, i, s: (x + 0).index_add_(0, i, s, alpha=2), Arg(M),
     Arg(i64(2, 2)), Arg(f64(2, 4))),
    ("index_fill_", lambda m, x, i: (x + 0).index_fill_(1, i, 0.0), Arg(M), Arg(i64(0, 3))),
    ("masked_scatter_", lambda m, x, k, s: (x + 0).masked_scatter_(k, s), Arg(M),
     nograd(M > 0), Arg(f64(12))),
    ("scatter_reduce_", lambda m, x, i, s: (x + 0).scatter_reduce_(0, i, s, "mean"), Arg(M),
     Arg(SI), Arg(f64(2, 3))),
]


@pytest.mark.parametrize("fn, args", [pytest.param(c[1], c[2:], id=c[0]) for c in CASES])
def test_indexing_parity(fn, args):
    check(fn, *args)


ONE_HOT = [
    ("default", lambda F, x: F.one_hot(x), Arg(i64(0, 3, 1))),
    ("classes", lambda F, x: F.one_hot(x, 5), Arg(i64([0, 3], [1, 1]))),
    ("0d", lambda F, x: F.one_hot(x, 3), Arg(np.array(2))),
    ("empty", lambda F, x: F.one_hot(x, 3), Arg(np.zeros(0, np.int64))),
    ("empty-infer", lambda F, x: F.one_hot(x), Arg(np.zeros(0, np.int64))),
    ("too-small", lambda F, x: F.one_hot(x, 2), Arg(i64(0, 2))),
    ("negative", lambda F, x: F.one_hot(x), Arg(i64(-1, 2))),
    ("int32", lambda F, x: F.one_hot(x), Arg(np.array([1, 0], np.int32))),
    ("float", lambda F, x: F.one_hot(x), Arg(np.array([1.0, 0.0]), requires_grad=False)),
]


@pytest.mark.parametrize("fn, args", [pytest.param(c[1], c[2:], id=c[0]) for c in ONE_HOT])
def test_one_hot_parity(fn, args):
    def on_module(m, *xs):
        functional = torch.nn.functional if m is torch else dg.nn.functional
        return fn(functional, *xs)

    check(on_module, *args)


def test_scatter_in_place_matches_out_of_place():
    x = dg.tensor(M.copy())
    out = x.scatter(1, dg.tensor(GI), 9.0)
    assert x.scatter_(1, dg.tensor(GI), 9.0) is x
    np.testing.assert_array_equal(x.numpy(), out.numpy())
    y = dg.zeros(3)
    y.index_add_(0, dg.tensor([0, 0, 2]), dg.ones(3))
    np.testing.assert_array_equal(y.numpy(), [2.0, 0.0, 1.0])
