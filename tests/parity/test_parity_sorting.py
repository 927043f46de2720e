"""Differential table: sorting and selection (sort, argsort, topk, kthvalue, median, mode,
quantile, unique, searchsorted, bucketize, histc, bincount) against PyTorch: values, dtypes,
shapes, gradients and exception types, with ties, NaN, 0-d, empty and transposed inputs.

Where PyTorch's pick among tied values depends on its selection algorithm (topk, kthvalue) the
tied cases compare values only; see the functions' docstrings."""

import numpy as np
import pytest

pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

R = np.random.default_rng(2)


def f64(*shape):
    return R.standard_normal(shape)


def f32(*shape):
    return R.standard_normal(shape).astype(np.float32)


def i32(*shape):
    return R.integers(-3, 4, shape).astype(np.int32)


def b(*shape):
    return R.random(shape) > 0.5


A = f64(2, 3, 4)
INPUTS = {"f64": A, "f32": f32(3, 4), "0d": f64(), "empty": f64(0, 3), "i32": i32(3, 4),
          "bool": b(3, 4)}
DIMS = {"0": 0, "-1": -1, "out-of-range": 3}
TIES = np.array([[3.0, 1.0, 1.0, 3.0, 2.0, 2.0], [0.0, 0.0, 5.0, 5.0, 5.0, 1.0],
                 [4.0, 4.0, 4.0, 4.0, 4.0, 4.0]])
INT_TIES = R.integers(0, 3, (4, 9)).astype(np.int64)
NAN = np.array([[3.0, 1.0, np.nan, 1.0, 2.0, 3.0], [np.nan, 0.5, 2.0, np.nan, -1.0, 0.0]])
ALL_NAN = np.array([[np.nan, np.nan, np.nan], [1.0, np.nan, 2.0]])


def sweep(name, fn, inputs=INPUTS, dims=DIMS, **options):
    return [pytest.param(lambda m, x, d=dim: fn(m, x, d), (Arg(array),), dict(options),
                         id=f"{name}-{input_name}-dim:{dim_name}")
            for input_name, array in inputs.items() for dim_name, dim in dims.items()]


def case(name, fn, *args, **options):
    return pytest.param(fn, args, options, id=name)


FLOATS = {k: v for k, v in INPUTS.items() if v.dtype.kind == "f" and v.size}

CASES = [
    *sweep("sort", lambda m, x, d: m.sort(x, d)),
    *sweep("sort-descending", lambda m, x, d: x.sort(d, descending=True)),
    *sweep("argsort", lambda m, x, d: m.argsort(x, dim=d, stable=True)),
    *sweep("msort", lambda m, x, d: m.msort(x), dims={"-": None}),
    *sweep("topk", lambda m, x, d: m.topk(x, 1, d), inputs=FLOATS),
    *sweep("kthvalue", lambda m, x, d: m.kthvalue(x, 1, d), inputs=FLOATS),
    *sweep("median", lambda m, x, d: m.median(x, d), inputs={**FLOATS, "i32": INT_TIES}),
    *sweep("nanmedian", lambda m, x, d: m.nanmedian(x, d, keepdim=True), inputs=FLOATS),
    *sweep("mode", lambda m, x, d: m.mode(x, d), inputs={**INPUTS, "ties": INT_TIES}),
    *sweep("quantile", lambda m, x, d: m.quantile(x, 0.3, d), inputs=FLOATS),
    *sweep("nanquantile", lambda m, x, d: m.nanquantile(x, 0.75, d, True), inputs=FLOATS),
    # sort: ties are stable (ascending and descending), NaN sorts last, views, out=
    case("sort-ties", lambda m, x: m.sort(x, 1), Arg(TIES)),
    case("sort-ties-descending", lambda m, x: m.sort(x, 1, descending=True), Arg(TIES)),
    case("sort-ties-stable", lambda m, x: m.sort(x, stable=True, dim=0, descending=True),
         Arg(TIES)),
    case("sort-int-ties", lambda m, x: m.sort(x, 1, descending=True), Arg(INT_TIES)),
    case("sort-nan", lambda m, x: m.sort(x), Arg(NAN)),
    case("sort-nan-descending", lambda m, x: m.sort(x, descending=True), Arg(NAN)),
    case("sort-transposed", lambda m, x: x.transpose(0, 2).sort(1), Arg(A)),
    case("sort-axis", lambda m, x: m.sort(x, axis=0), Arg(TIES)),
    case("sort-out", lambda m, x: m.sort(x, out=(m.zeros(4, dtype=m.float64),
                                                  m.zeros(4, dtype=m.int64))),
         Arg(f64(4), requires_grad=False)),
    case("argsort-descending", lambda m, x: m.argsort(x, 1, descending=True), Arg(NAN)),
    case("argsort-axis", lambda m, x: x.argsort(axis=0), Arg(TIES)),
    case("msort-transposed", lambda m, x: m.msort(x.t()), Arg(f64(3, 4))),
    # topk: values with ties; indices (and so gradients) where values are distinct
    case("topk", lambda m, x: m.topk(x, 3), Arg(f64(4, 6))),
    case("topk-smallest", lambda m, x: m.topk(x, 2, 0, largest=False), Arg(f64(4, 6))),
    case("topk-unsorted", lambda m, x: m.topk(x, 6, sorted=False).values.sort().values,
         Arg(f64(3, 6))),
    case("topk-ties-values", lambda m, x: m.topk(x, 3).values.detach(), Arg(TIES)),
    case("topk-nan", lambda m, x: m.topk(x, 2).values.detach(), Arg(NAN)),
    case("topk-k0", lambda m, x: m.topk(x, 0), Arg(f64(5))),
    case("topk-k-too-big", lambda m, x: m.topk(x, 7), Arg(f64(6))),
    case("topk-negative-k", lambda m, x: m.topk(x, -1), Arg(f64(6))),
    case("topk-0d", lambda m, x: m.topk(x, 1), Arg(f64())),
    case("topk-int", lambda m, x: m.topk(x, 2, 0), Arg(np.array([5, 1, 7, 3]))),
    case("topk-transposed", lambda m, x: x.t().topk(2, 0), Arg(f64(4, 5))),
    case("topk-axis", lambda m, x: m.topk(x, 2, axis=0), Arg(f64(4, 5))),
    # kthvalue
    case("kthvalue", lambda m, x: m.kthvalue(x, 3, 1, True), Arg(f64(3, 6))),
    case("kthvalue-ties-values", lambda m, x: m.kthvalue(x, 2, 1).values.detach(), Arg(TIES)),
    case("kthvalue-k-too-big", lambda m, x: m.kthvalue(x, 7), Arg(f64(6))),
    case("kthvalue-k0", lambda m, x: m.kthvalue(x, 0), Arg(f64(6))),
    case("kthvalue-0d", lambda m, x: m.kthvalue(x, 1), Arg(f64())),
    case("kthvalue-axis", lambda m, x: m.kthvalue(x, 2, axis=0), Arg(f64(4, 5))),
    # median / nanmedian: the lower median, global (ties share the gradient) or along a dim
    case("median-global", lambda m, x: m.median(x), Arg(A)),
    case("median-global-ties", lambda m, x: m.median(x), Arg(TIES)),
    case("median-global-nan", lambda m, x: m.median(x), Arg(NAN)),
    case("median-global-int", lambda m, x: x.median(), Arg(INT_TIES)),
    case("median-global-empty", lambda m, x: m.median(x), Arg(f64(0))),
    case("median-global-bool", lambda m, x: m.median(x), Arg(b(4))),
    case("median-ties", lambda m, x: m.median(x, 1), Arg(TIES)),
    case("median-ties-keepdim", lambda m, x: m.median(x, 0, keepdim=True), Arg(TIES)),
    case("median-nan", lambda m, x: m.median(x, 1), Arg(NAN)),
    case("median-transposed", lambda m, x: x.t().median(1), Arg(TIES)),
    case("median-axis", lambda m, x: m.median(x, axis=1), Arg(TIES)),
    case("median-empty-dim", lambda m, x: m.median(x, 1), Arg(f64(2, 0))),
    case("median-empty-other", lambda m, x: m.median(x, 1), Arg(f64(0, 3))),
    case("nanmedian-global", lambda m, x: m.nanmedian(x), Arg(NAN)),
    case("nanmedian-global-all-nan", lambda m, x: m.nanmedian(x), Arg(ALL_NAN[0])),
    case("nanmedian-nan", lambda m, x: m.nanmedian(x, 1), Arg(NAN)),
    case("nanmedian-all-nan", lambda m, x: m.nanmedian(x, 1), Arg(ALL_NAN)),
    case("nanmedian-ties", lambda m, x: x.nanmedian(1), Arg(TIES)),
    # mode: the smallest most frequent value, the index of its last occurrence
    case("mode-ties", lambda m, x: m.mode(x, 1), Arg(TIES)),
    case("mode-ties-dim0", lambda m, x: m.mode(x, 0, keepdim=True), Arg(INT_TIES)),
    case("mode-transposed", lambda m, x: x.t().mode(0), Arg(TIES)),
    case("mode-axis", lambda m, x: m.mode(x, axis=0), Arg(TIES)),
    case("mode-empty-dim", lambda m, x: m.mode(x, 1), Arg(f64(2, 0))),
    # quantile / nanquantile
    case("quantile-global", lambda m, x: m.quantile(x, 0.4), Arg(A)),
    case("quantile-tensor-q", lambda m, x, q: m.quantile(x, q, 1, keepdim=True), Arg(A),
         Arg(np.array([0.0, 0.25, 0.5, 1.0]), requires_grad=False)),
    case("quantile-tensor-q-global", lambda m, x, q: m.quantile(x, q), Arg(A),
         Arg(np.array([0.1, 0.9]), requires_grad=False)),
    case("quantile-0d-q", lambda m, x, q: m.quantile(x, q, 0), Arg(A),
         Arg(np.array(0.6), requires_grad=False)),
    case("quantile-keepdim-global", lambda m, x: m.quantile(x, 0.5, keepdim=True), Arg(A)),
    *[case(f"quantile-{how}", lambda m, x, how=how: m.quantile(x, 0.35, -1, interpolation=how),
           Arg(f64(3, 6))) for how in ("linear", "lower", "higher", "midpoint", "nearest")],
    case("quantile-nearest-half", lambda m, x: m.quantile(x, 0.5, interpolation="nearest"),
         Arg(np.array([1.0, 2.0, 3.0, 4.0]))),
    case("quantile-bad-interpolation", lambda m, x: m.quantile(x, 0.5, interpolation="x"),
         Arg(A)),
    case("quantile-q-out-of-range", lambda m, x: m.quantile(x, 1.5), Arg(A)),
    case("quantile-q-2d", lambda m, x, q: m.quantile(x, q), Arg(A),
         Arg(np.array([[0.5]]), requires_grad=False)),
    case("quantile-q-dtype", lambda m, x, q: m.quantile(x, q), Arg(A),
         Arg(np.array([0.5], dtype=np.float32), requires_grad=False)),
    case("quantile-int", lambda m, x: m.quantile(x, 0.5), Arg(INT_TIES)),
    case("quantile-empty", lambda m, x: m.quantile(x, 0.5), Arg(f64(0))),
    case("quantile-nan", lambda m, x: m.quantile(x, 0.5, 1), Arg(NAN)),
    case("quantile-ties", lambda m, x: m.quantile(x, 0.3, 1), Arg(TIES)),
    case("quantile-transposed", lambda m, x: x.t().quantile(0.7, 0), Arg(f64(4, 5))),
    case("quantile-0d", lambda m, x: m.quantile(x, 0.5), Arg(f64())),
    case("nanquantile-nan", lambda m, x: m.nanquantile(x, 0.3, 1), Arg(NAN)),
    case("nanquantile-all-nan", lambda m, x: m.nanquantile(x, 0.5, 1), Arg(ALL_NAN)),
    case("nanquantile-global", lambda m, x: m.nanquantile(x, 0.8), Arg(NAN)),
    # unique / unique_consecutive (no gradients)
    case("unique", lambda m, x: m.unique(x), Arg(INT_TIES)),
    case("unique-all", lambda m, x: m.unique(x, return_inverse=True, return_counts=True),
         Arg(INT_TIES)),
    case("unique-unsorted", lambda m, x: m.unique(x, sorted=False), Arg(INT_TIES)),
    case("unique-float", lambda m, x: m.unique(x, return_counts=True), Arg(TIES), grad=False),
    case("unique-nan", lambda m, x: m.unique(x, return_inverse=True),
         Arg(np.array([np.nan, 1.0, np.nan, 1.0])), grad=False),
    case("unique-bool", lambda m, x: x.unique(return_counts=True), Arg(b(7))),
    case("unique-0d", lambda m, x: m.unique(x, return_inverse=True), Arg(np.array(3))),
    case("unique-empty", lambda m, x: m.unique(x), Arg(f64(0)), grad=False),
    case("unique-dim0", lambda m, x: m.unique(x, dim=0, return_inverse=True, return_counts=True),
         Arg(np.array([[3, 1], [1, 2], [3, 1], [1, 0]]))),
    case("unique-dim1", lambda m, x: m.unique(x, dim=1, return_inverse=True),
         Arg(np.array([[1, 2, 1, 0], [2, 1, 2, 0]]))),
    case("unique-dim-3d", lambda m, x: m.unique(x, dim=1, return_counts=True),
         Arg(R.integers(0, 2, (2, 5, 2)))),
    case("unique-dim-out-of-range", lambda m, x: m.unique(x, dim=2), Arg(INT_TIES)),
    case("unique_consecutive", lambda m, x: m.unique_consecutive(
        x, return_inverse=True, return_counts=True), Arg(np.array([1, 1, 2, 2, 3, 1, 1, 2]))),
    case("unique_consecutive-2d", lambda m, x: m.unique_consecutive(x), Arg(INT_TIES)),
    case("unique_consecutive-dim", lambda m, x: m.unique_consecutive(
        x, dim=0, return_inverse=True, return_counts=True),
        Arg(np.array([[1, 1], [1, 1], [2, 3], [1, 1]]))),
    case("unique_consecutive-0d", lambda m, x: m.unique_consecutive(x), Arg(np.array(2))),
    # searchsorted / bucketize
    case("searchsorted", lambda m, s, v: m.searchsorted(s, v), Arg(np.array([1, 3, 5, 7, 9])),
         Arg(np.array([[3, 6, 9], [0, 10, 5]]))),
    case("searchsorted-right", lambda m, s, v: m.searchsorted(s, v, right=True),
         Arg(np.array([1.0, 3.0, 3.0, 7.0])), Arg(np.array([3.0, 0.0, 8.0]))),
    case("searchsorted-side", lambda m, s, v: m.searchsorted(s, v, side="right"),
         Arg(np.array([1.0, 3.0, 3.0, 7.0])), Arg(np.array([3.0, 7.0]))),
    case("searchsorted-side-conflict", lambda m, s, v: m.searchsorted(s, v, side="left",
                                                                      right=True),
         Arg(np.array([1.0, 3.0])), Arg(np.array([3.0]))),
    case("searchsorted-batched", lambda m, s, v: m.searchsorted(s, v),
         Arg(np.array([[1, 3, 5], [2, 4, 6]])), Arg(np.array([[3, 0], [6, 4]]))),
    case("searchsorted-batched-mismatch", lambda m, s, v: m.searchsorted(s, v),
         Arg(np.array([[1, 3, 5], [2, 4, 6]])), Arg(np.array([3, 4]))),
    case("searchsorted-scalar", lambda m, s: m.searchsorted(s, 5), Arg(np.array([1, 3, 5, 7]))),
    case("searchsorted-int32", lambda m, s, v: m.searchsorted(s, v, out_int32=True),
         Arg(np.array([1, 3, 5])), Arg(np.array([3, 4]))),
    case("searchsorted-sorter", lambda m, s, v, o: m.searchsorted(s, v, sorter=o),
         Arg(np.array([5, 1, 3])), Arg(np.array([3, 4, 0])), Arg(np.array([1, 2, 0]))),
    case("bucketize", lambda m, x, bd: m.bucketize(x, bd), Arg(np.array([[3, 6, 9], [0, 1, 10]])),
         Arg(np.array([1, 3, 5, 7, 9]))),
    case("bucketize-right", lambda m, x, bd: m.bucketize(x, bd, right=True),
         Arg(np.array([3.0, 6.0, 9.0])), Arg(np.array([1.0, 3.0, 5.0, 7.0, 9.0]))),
    case("bucketize-scalar", lambda m, bd: m.bucketize(3, bd), Arg(np.array([1, 3, 5]))),
    case("bucketize-2d-boundaries", lambda m, x, bd: m.bucketize(x, bd), Arg(np.array([1, 2])),
         Arg(np.array([[1, 2]]))),
    # histc / bincount
    case("histc", lambda m, x: m.histc(x, bins=4, min=0, max=3),
         Arg(np.array([1.0, 2.0, 1.0, 3.0, -1.0, 0.0]), requires_grad=False)),
    case("histc-data-range", lambda m, x: m.histc(x, 5),
         Arg(f32(20), requires_grad=False)),
    case("histc-constant", lambda m, x: m.histc(x, 4), Arg(np.array([2.0, 2.0]),
                                                           requires_grad=False)),
    case("histc-empty", lambda m, x: m.histc(x, 3), Arg(f64(0), requires_grad=False)),
    case("histc-int", lambda m, x: m.histc(x, 3), Arg(np.array([1, 2]))),
    case("histc-bad-range", lambda m, x: m.histc(x, 3, min=2, max=1),
         Arg(f64(3), requires_grad=False)),
    case("histc-nan", lambda m, x: m.histc(x, 3), Arg(NAN[0], requires_grad=False)),
    case("bincount", lambda m, x: m.bincount(x), Arg(np.array([1, 1, 3, 0, 5]))),
    case("bincount-minlength", lambda m, x: x.bincount(minlength=8), Arg(np.array([1, 1, 3]))),
    case("bincount-weights", lambda m, x, w: m.bincount(x, w), Arg(np.array([1, 1, 3])),
         Arg(np.array([0.5, 1.0, 2.0], dtype=np.float32), requires_grad=False)),
    case("bincount-int-weights", lambda m, x, w: m.bincount(x, w), Arg(np.array([1, 2])),
         Arg(np.array([1, 2], dtype=np.int32))),
    case("bincount-empty", lambda m, x: m.bincount(x), Arg(np.array([], dtype=np.int64))),
    case("bincount-negative", lambda m, x: m.bincount(x), Arg(np.array([1, -1]))),
    case("bincount-2d", lambda m, x: m.bincount(x), Arg(np.array([[1]]))),
    case("bincount-float", lambda m, x: m.bincount(x), Arg(np.array([1.0]),
                                                           requires_grad=False)),
    case("bincount-bad-weights", lambda m, x, w: m.bincount(x, w), Arg(np.array([1, 2])),
         Arg(np.array([1.0]), requires_grad=False)),
]


@pytest.mark.parametrize("fn, args, options", CASES)
def test_sorting_matches_torch(fn, args, options):
    check(fn, *args, **options)
