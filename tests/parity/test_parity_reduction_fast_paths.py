"""Differential table: both sides of the first-order fast paths of the reduction, scan,
indexing, scatter and shape ops (issue 18) against PyTorch: values, dtypes, shapes, gradients
and exception types.

Each fast path of a rule or forward takes a branch on its inputs (no tie, no zero, no NaN, a
bounded range, a small array, no negative index); each case here sits on one side of such a
branch, so both the fast path and the general rule below it are compared with PyTorch.
"""

import numpy as np
import pytest

pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

# (PyTorch warns where var / std divide by N - correction <= 0; the cases do that on purpose)
pytestmark = pytest.mark.filterwarnings("ignore:.*degrees of freedom")

R = np.random.default_rng(18)


def f64(*shape):
    return R.standard_normal(shape)


def f32(*shape):
    return R.standard_normal(shape).astype(np.float32)


TIES = np.array([[1.0, 3.0, 3.0, 2.0], [2.0, -1.0, 0.5, 2.0], [0.0, -0.0, -1.0, -2.0]])
NAN_ROW = np.array([[1.0, np.nan, 3.0], [2.0, 5.0, -1.0]])
NAN_TIES = np.array([[1.0, np.nan, 3.0], [np.nan, 5.0, -1.0]])
ZEROS = np.array([[2.0, 0.0, 3.0, 0.5], [1.0, 2.0, 0.0, 0.0], [0.5, -1.0, 2.0, 1.5]])
F32 = {"rtol": 1e-4, "atol": 1e-5}


def case(name, fn, *args, **options):
    return pytest.param(fn, args, options, id=name)


CASES = [
    # softmax: unshifted below |x| <= 80 (float32) / 700 (float64), shifted above; NaN, inf
    case("softmax-f32-small", lambda m, x: m.softmax(x, 1), Arg(f32(3, 4)), **F32),
    case("softmax-f32-scale20", lambda m, x: m.softmax(x, 1), Arg(f32(3, 4) * 20), **F32),
    case("softmax-f32-dim0", lambda m, x: m.softmax(x, 0), Arg(f32(3, 4) * 5), **F32),
    case("softmax-f32-just-over", lambda m, x: m.softmax(x, 0),
         Arg(np.array([81.0, 0.0, -3.0], np.float32)), **F32),
    case("softmax-f64-large", lambda m, x: m.softmax(x, -1), Arg(np.array([[650.0, 640.0]]))),
    case("softmax-f64-over", lambda m, x: m.softmax(x, -1),
         Arg(np.array([[710.0, 700.0, -20.0]]))),
    case("softmax-neg-inf", lambda m, x: m.softmax(x, 1),
         Arg(np.array([[-np.inf, 0.0, 1.0], [2.0, -np.inf, -1.0]])), grad=False),
    case("softmax-nan", lambda m, x: m.softmax(x, 1), Arg(NAN_ROW), grad=False),
    case("softmax-big", lambda m, x: m.softmax(x, -1), Arg(f32(16, 40)), **F32),
    case("softmax-f16", lambda m, x: m.softmax(x, 1), Arg(f32(2, 3).astype(np.float16)),
         grad=False, rtol=1e-2, atol=1e-3),
    case("log_softmax-small", lambda m, x: m.log_softmax(x, 0), Arg(f64(4, 3))),
    case("log_softmax-big", lambda m, x: m.log_softmax(x, 1), Arg(f32(40, 8)), **F32),
    # logsumexp: finite shifts, infinite and NaN ones, 0-d
    case("logsumexp-dims", lambda m, x: m.logsumexp(x, (0, 2)), Arg(f64(2, 3, 4))),
    case("logsumexp-all-keep", lambda m, x: m.logsumexp(x, (0, 1), keepdim=True),
         Arg(f32(3, 4)), **F32),
    case("logsumexp-neg-inf-row", lambda m, x: m.logsumexp(x, 1),
         Arg(np.array([[-np.inf, -np.inf], [0.0, 1.0]])), grad=False),
    case("logsumexp-inf", lambda m, x: m.logsumexp(x, 1),
         Arg(np.array([[np.inf, 1.0], [0.0, 1.0]])), grad=False),
    case("logsumexp-nan", lambda m, x: m.logsumexp(x, 1), Arg(NAN_ROW), grad=False),
    case("logsumexp-0d", lambda m, x: m.logsumexp(x, 0), Arg(np.array(1.5))),
    case("logsumexp-0d-inf", lambda m, x: m.logsumexp(x, 0), Arg(np.array(-np.inf)),
         grad=False),
    case("logsumexp-int", lambda m, x: m.logsumexp(x, 1), Arg(np.array([[1, 2], [3, 4]]))),
    # amax / amin: one extreme per slice, ties (split), -0.0 and 0.0, NaN; max() / min()
    case("amax-no-ties", lambda m, x: m.amax(x, 1), Arg(f64(3, 4))),
    case("amax-ties", lambda m, x: m.amax(x, 1), Arg(TIES)),
    case("amin-ties-keep", lambda m, x: m.amin(x, 0, keepdim=True), Arg(TIES)),
    case("amax-all-ties", lambda m, x: m.amax(x), Arg(np.array([[3.0, 1.0], [3.0, 3.0]]))),
    case("amax-nan", lambda m, x: m.amax(x, 1), Arg(NAN_ROW)),
    case("amax-nan-and-ties", lambda m, x: m.amax(x, 1),
         Arg(np.array([[1.0, np.nan, 3.0], [5.0, 5.0, -1.0]]))),
    case("amax-dims", lambda m, x: m.amax(x, (0, 2)), Arg(f32(2, 3, 4)), **F32),
    case("amax-0d", lambda m, x: m.amax(x), Arg(np.array(2.0))),
    case("amax-f16-ties", lambda m, x: m.amax(x, 1), Arg(TIES.astype(np.float16)),
         rtol=1e-3, atol=1e-3),
    case("max-all-ties", lambda m, x: m.max(x), Arg(TIES)),
    case("max-all-nan", lambda m, x: m.max(x), Arg(NAN_TIES)),
    case("min-all-nan", lambda m, x: m.min(x), Arg(NAN_ROW)),
    case("amax-int", lambda m, x: m.amax(x, 0), Arg(np.array([[1, 5], [3, 2]]))),
    # var / std: positive divisor, none (correction >= N), a zero std, 0-d, float16
    case("var-dims", lambda m, x: m.var(x, (0, 2)), Arg(f32(2, 3, 4)), **F32),
    case("var-correction0", lambda m, x: m.var(x, 1, correction=0), Arg(f64(3, 4))),
    case("var-correction-n", lambda m, x: m.var(x, 1, correction=4), Arg(f64(3, 4))),
    case("var-correction-over", lambda m, x: m.var(x, 1, correction=5), Arg(f64(3, 4))),
    case("var-all", lambda m, x: m.var(x), Arg(f64(5))),
    case("var-0d", lambda m, x: m.var(x, correction=0), Arg(np.array(2.0))),
    case("var-list-dims", lambda m, x: m.var(x, [0, -1], keepdim=True), Arg(f64(2, 3, 4))),
    case("std-dims", lambda m, x: m.std(x, (0, 2)), Arg(f32(2, 3, 4)), **F32),
    case("std-zero-slice", lambda m, x: m.std(x, 1),
         Arg(np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]]))),
    case("std-all", lambda m, x: m.std(x), Arg(f64(6))),
    case("std-correction-n", lambda m, x: m.std(x, 1, correction=3), Arg(f64(2, 3))),
    case("std-f16", lambda m, x: m.std(x, 1), Arg(f32(2, 5).astype(np.float16)), grad=False,
         rtol=1e-2, atol=1e-3),
    case("var-axis-keepdims", lambda m, x: m.var(x, axis=1, keepdims=True), Arg(f64(3, 4))),
    # mean / sum / prod
    case("mean-0d", lambda m, x: m.mean(x), Arg(np.array(3.0))),
    case("mean-dims-f32", lambda m, x: m.mean(x, (0, 2)), Arg(f32(2, 3, 4)), **F32),
    case("mean-empty", lambda m, x: m.mean(x, 1), Arg(np.zeros((2, 0)))),
    case("mean-f16", lambda m, x: m.mean(x, 1), Arg(f32(3, 4).astype(np.float16)), rtol=1e-3,
         atol=1e-3),
    case("sum-bool", lambda m, x: m.sum(x, 1), Arg(np.array([[True, False], [True, True]]))),
    case("sum-uint8", lambda m, x: x.sum(), Arg(np.array([200, 100], np.uint8))),
    case("prod-no-zeros", lambda m, x: m.prod(x, 1), Arg(f64(3, 4))),
    case("prod-one-zero", lambda m, x: m.prod(x, 1), Arg(ZEROS)),
    case("prod-all-zeros", lambda m, x: m.prod(x), Arg(ZEROS)),
    case("prod-nan", lambda m, x: m.prod(x, 1), Arg(NAN_ROW)),
    # vector norms: no zero, a zero element, a zero norm; ties of the inf-norm
    *[case(f"vector_norm-{order}-{name}", lambda m, x, o=order: m.linalg.vector_norm(x, o, 1),
           Arg(array))
      for order in (2.0, 1.0, 3.0, 0.5, -1.0, float("inf"), float("-inf"))
      for name, array in (("plain", f64(3, 4)), ("zero", ZEROS),
                          ("zero-row", np.array([[0.0, 0.0], [3.0, -4.0]])))],
    *[case(f"vector_norm-{order}-all", lambda m, x, o=order: m.linalg.vector_norm(x, o),
           Arg(f64(2, 3)))
      for order in (2.0, 1.0, 3.0, 0.5, -1.0, float("inf"), float("-inf"))],
    case("vector_norm-3-keepdim", lambda m, x: m.linalg.vector_norm(x, 3.0, 0, keepdim=True),
         Arg(f64(2, 3))),
    case("vector_norm-inf-ties", lambda m, x: m.linalg.vector_norm(x, float("inf"), 1),
         Arg(np.array([[3.0, -3.0, 1.0], [2.0, 1.0, -2.0]]))),
    case("vector_norm-3-f32-dims", lambda m, x: m.linalg.vector_norm(x, 3.0, (0, 2)),
         Arg(f32(2, 3, 2)), **F32),
    case("vector_norm-0d", lambda m, x: m.linalg.vector_norm(x, 3.0), Arg(np.array(-2.0))),
    # scans: logcumsumexp's direct rule (|x| <= 40 in float32) and its log space
    case("logcumsumexp-f32", lambda m, x: m.logcumsumexp(x, 1), Arg(f32(3, 5) * 5), **F32),
    case("logcumsumexp-f32-over", lambda m, x: m.logcumsumexp(x, 0),
         Arg(np.array([41.0, 0.0, -3.0], np.float32)), **F32),
    case("logcumsumexp-f64-wide", lambda m, x: m.logcumsumexp(x, 0),
         Arg(np.array([-290.0, 5.0, 280.0]))),
    case("cumsum-f32-dim0", lambda m, x: m.cumsum(x, 0), Arg(f32(3, 4)), **F32),
    case("cumprod-no-zeros", lambda m, x: m.cumprod(x, 1), Arg(f64(3, 4))),
    case("cumprod-zeros", lambda m, x: m.cumprod(x, 1), Arg(ZEROS)),
    case("cumsum-bool", lambda m, x: m.cumsum(x, 0), Arg(np.array([True, True, False]))),
    # expand: contiguous (a direct view) and not; 0-d; -1
    case("expand-column", lambda m, x: x.expand(3, 4), Arg(f64(3, 1))),
    case("expand-transposed", lambda m, x: x.t().expand(2, 3, 2), Arg(f64(2, 3))),
    case("expand-0d", lambda m, x: x.expand(2, 2), Arg(np.array(1.5))),
    case("expand-keep", lambda m, x: x.expand(2, -1, 4), Arg(f64(3, 1))),
    case("expand-bad", lambda m, x: x.expand(3, 5), Arg(f64(3, 2))),
    # pad: constant with and without crops, replicate
    case("pad-constant", lambda m, x: m.nn.functional.pad(x, (1, 2), value=0.5), Arg(f64(2, 3))),
    case("pad-crop", lambda m, x: m.nn.functional.pad(x, (-1, 2, 0, -1)), Arg(f64(3, 4))),
    case("pad-replicate", lambda m, x: m.nn.functional.pad(x, (3, 2), mode="replicate"),
         Arg(f64(2, 4))),
]


@pytest.mark.parametrize("fn, args, options", CASES)
def test_fast_path_matches_torch(fn, args, options):
    check(fn, *args, **options)


IDX = np.array([[0, 1, 0], [2, 2, 1]])
SCATTER = []
for _reduce in ("sum", "mean", "prod", "amax", "amin"):
    for _self in (True, False):
        SCATTER.append(case(
            f"scatter_reduce-{_reduce}-self={_self}",
            lambda m, x, i, s, r=_reduce, k=_self: m.scatter_reduce(x, 1, i, s, r,
                                                                    include_self=k),
            Arg(R.uniform(0.5, 2.0, (2, 4))), Arg(IDX), Arg(R.uniform(0.5, 2.0, (2, 3)))))
SCATTER += [
    # prod with zeros in x and in src (one zero at a position, two zeros at another)
    *[case(f"scatter_reduce-prod-zeros-self={k}",
           lambda m, x, i, s, k=k: m.scatter_reduce(x, 1, i, s, "prod", include_self=k),
           Arg(np.array([[0.0, 1.5, -1.0, 2.0], [1.0, 2.0, 0.5, 3.0]])), Arg(IDX),
           Arg(np.array([[0.7, 0.0, 1.3], [0.0, 2.0, 0.0]])))
      for k in (True, False)],
    # amax ties between x and src, and inside src
    case("scatter_reduce-amax-ties",
         lambda m, x, i, s: m.scatter_reduce(x, 1, i, s, "amax"),
         Arg(np.array([[1.0, 2.0, 0.0, 0.0], [1.0, 1.0, 2.0, 0.0]])), Arg(IDX),
         Arg(np.array([[1.0, 2.0, 1.0], [2.0, 2.0, 1.0]]))),
    # a NaN result: nothing equals it, so its inputs' gradients are NaN (g / 0 times 0)
    *[case(f"scatter_reduce-{r}-nan", lambda m, x, i, s, r=r: m.scatter_reduce(x, 1, i, s, r),
           Arg(np.array([[1.0, np.nan, 0.5, 0.0], [1.0, 1.0, 2.0, 0.0]])), Arg(IDX),
           Arg(np.array([[1.0, 2.0, 1.0], [2.0, 2.0, 1.0]])))
      for r in ("amax", "amin")],
    case("scatter_reduce-mean-int",
         lambda m, x, i, s: m.scatter_reduce(x, 1, i, s, "mean", include_self=False),
         Arg(np.array([[1, 2, 3, 4], [5, 6, 7, 8]])), Arg(IDX),
         Arg(np.array([[3, 4, 6], [1, 2, 9]]))),
    case("scatter_reduce-past-the-end", lambda m, x, i, s: m.scatter_reduce(x, 1, i, s, "sum"),
         Arg(f64(2, 4)), Arg(np.array([[0, 4, 0], [2, 2, 1]])), Arg(f64(2, 3))),
    case("scatter_reduce-negative", lambda m, x, i, s: m.scatter_reduce(x, 1, i, s, "amax"),
         Arg(f64(2, 4)), Arg(np.array([[0, -1, 0], [2, 2, 1]])), Arg(f64(2, 3))),
    case("scatter-past-the-end", lambda m, x, i, s: m.scatter(x, 0, i, s),
         Arg(f64(3, 4)), Arg(np.array([[0, 3, 1, 2]])), Arg(f64(1, 4))),
    case("scatter_add-past-the-end", lambda m, x, i, s: m.scatter_add(x, 0, i, s),
         Arg(f64(3, 4)), Arg(np.array([[0, 1, 5, 2]])), Arg(f64(1, 4))),
    case("scatter_add", lambda m, x, i, s: m.scatter_add(x, 0, i, s),
         Arg(f64(3, 4)), Arg(np.array([[0, 1, 0, 2], [0, 0, 0, 0]])), Arg(f64(2, 4))),
    case("scatter_reduce-0d", lambda m, x, i, s: m.scatter_reduce(x, 0, i, s, "sum"),
         Arg(np.array(1.0)), Arg(np.array(0)), Arg(np.array(2.0))),
    # gather: in range, past the end, negative; index_put / getitem's small scatter
    case("gather", lambda m, x, i: m.gather(x, 1, i), Arg(f64(3, 4)),
         Arg(np.array([[0, 0], [3, 1], [2, 2]]))),
    case("gather-past-the-end", lambda m, x, i: m.gather(x, 1, i), Arg(f64(3, 4)),
         Arg(np.array([[0, 4], [3, 1], [2, 2]]))),
    case("gather-negative", lambda m, x, i: m.gather(x, 0, i), Arg(f64(3, 4)),
         Arg(np.array([[0, -1, 0, 0]]))),
    case("index_put-duplicates", lambda m, x, v, i: m.index_put(x, (i,), v),
         Arg(f64(4, 3)), Arg(f64(3, 3)), Arg(np.array([2, 0, 2]))),
    case("index_put-points", lambda m, x, v, i, j: m.index_put(x, (i, j), v),
         Arg(f64(3, 4)), Arg(f64(3)), Arg(np.array([0, 1, 2])), Arg(np.array([3, 0, 1]))),
    case("index_put-mask", lambda m, x, v, k: m.index_put(x, (k,), v),
         Arg(f64(3, 4)), Arg(np.array(0.5)), Arg(np.array([True, False, True]))),
    case("index_put-broadcast", lambda m, x, v, i: m.index_put(x, (i,), v),
         Arg(f64(4, 3)), Arg(f64(3)), Arg(np.array([1, 3]))),
    case("getitem-duplicate-rows", lambda m, x, i: x[i], Arg(f64(4, 5)),
         Arg(np.array([0, 2, 2, 3]))),
    case("getitem-pairs", lambda m, x, i, j: x[i, j], Arg(f64(4, 5)), Arg(np.array([1, 1])),
         Arg(np.array([4, 4]))),
    case("embedding-padding", lambda m, w, i: m.nn.functional.embedding(i, w, padding_idx=1),
         Arg(f64(4, 3)), Arg(np.array([[0, 1, 2], [1, 1, 3]]))),
    case("embedding-repeats", lambda m, w, i: m.nn.functional.embedding(i, w),
         Arg(f32(5, 2)), Arg(np.array([4, 4, 1, 4])), **F32),
]


@pytest.mark.parametrize("fn, args, options", SCATTER)
def test_scatter_fast_path_matches_torch(fn, args, options):
    check(fn, *args, **options)


def test_expand_is_a_read_only_view_of_its_input():
    # The direct view (a contiguous input) shares memory as np.broadcast_to's does: a later
    # in-place change of the input shows through it, and writing through it is refused.
    x = dg.tensor([[1.0], [2.0]])
    y = x.expand(2, 3)
    x.add_(1.0)
    np.testing.assert_array_equal(y.numpy(), [[2.0, 2.0, 2.0], [3.0, 3.0, 3.0]])
    with pytest.raises(ValueError):
        y.numpy()[0, 0] = 5.0


def test_reduction_dims_cache_keeps_its_checks():
    x = dg.ones(2, 3)
    for _ in range(2):  # the second call meets the remembered tuple
        assert x.sum((0, -1)).item() == 6.0
        with pytest.raises(RuntimeError):
            x.sum((1, -1))  # a repeated dim
        with pytest.raises(IndexError):
            x.sum((0, 2))
        with pytest.raises(TypeError):
            x.sum((True,))  # a bool is no dim, though it hashes like 1


def test_numpy_aliases_and_their_conflicts():
    x = dg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.sum(axis=1, keepdims=True).shape == (2, 1)
    assert dg.amax(x, axis=0).tolist() == [3.0, 4.0]
    assert x.max(axis=1).values.tolist() == [2.0, 4.0]
    assert dg.std(x, axis=1, keepdims=True).shape == (2, 1)
    with pytest.raises(TypeError):
        dg.sum(x, 1, axis=1)
    with pytest.raises(TypeError):
        dg.mean(x, 1, True, keepdims=True)
