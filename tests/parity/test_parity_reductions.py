"""Differential table: reductions (sum, mean, prod, var, max, any, ...), norms, whole-tensor
comparisons and softmax against PyTorch: values, dtypes, shapes, gradients and exception
types, over 0-d, empty, integer, boolean, NaN, tied and transposed inputs."""

import math

import numpy as np
import pytest

pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

R = np.random.default_rng(0)


def f64(*shape):
    return R.standard_normal(shape)


def f32(*shape):
    return R.standard_normal(shape).astype(np.float32)


def i32(*shape):
    return R.integers(-3, 4, shape).astype(np.int32)


def i64(*shape):
    return R.integers(-3, 4, shape).astype(np.int64)


def b(*shape):
    return R.random(shape) > 0.5


A = f64(2, 3, 4)
M = f32(3, 4)
S = f64()
E = f64(0, 3)
TIES = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, -1.0, 2.0], [0.5, 0.5, 0.5, 0.5]])
NAN = np.array([[1.0, np.nan, 3.0], [0.0, 2.0, -1.0], [np.nan, np.nan, 4.0]])
ZEROS = np.array([[2.0, 0.0, 3.0, 0.5], [1.0, 2.0, 0.0, 0.0], [1.5, -1.0, 2.0, 0.5]])
INPUTS = {"f64": A, "f32": M, "0d": S, "empty": E, "i32": i32(3, 4), "bool": b(3, 4),
          "u8": R.integers(0, 3, (2, 3)).astype(np.uint8)}
DIMS = {"all": None, "0": 0, "-1": -1, "tuple": (0, -1), "list": [1, 0], "empty-tuple": (),
        "out-of-range": 3, "neg-out-of-range": -4, "repeated": (0, 0)}
# PyTorch's var/std backward reads dim=() as no dims (an infinite gradient, a PyTorch bug):
# those sweeps leave dim=() out.
NO_EMPTY_DIMS = {k: v for k, v in DIMS.items() if v != ()}
# With an empty input and a repeated dim PyTorch reports the emptiness first (IndexError).
NONEMPTY_INPUTS = {k: v for k, v in INPUTS.items() if k != "empty"}


def sweep(name, fn, inputs=INPUTS, dims=DIMS, keepdims=(False, True), **options):
    """One case per input x dim x keepdim: ``fn(m, x, dim, keepdim)``."""
    cases = []
    for input_name, array in inputs.items():
        for dim_name, dim in dims.items():
            for keepdim in keepdims:
                tol = {"rtol": 1e-4, "atol": 1e-5} if array.dtype == np.float32 else {}
                cases.append(pytest.param(
                    lambda m, x, d=dim, k=keepdim: fn(m, x, d, k), (Arg(array),),
                    {**tol, **options}, id=f"{name}-{input_name}-dim:{dim_name}-keep:{keepdim}"))
    return cases


def case(name, fn, *args, **options):
    return pytest.param(fn, args, options, id=name)


def _kw(dim, keepdim=False):
    """PyTorch takes keepdim only beside a dim (``sum(x, keepdim=True)`` is a TypeError)."""
    return {} if dim is None else {"dim": dim, "keepdim": keepdim}


SWEEPS = [
    *sweep("sum", lambda m, x, d, k: m.sum(x, **_kw(d, k))),
    *sweep("nansum", lambda m, x, d, k: m.nansum(x, **_kw(d, k))),
    *sweep("mean", lambda m, x, d, k: m.mean(x, **_kw(d, k))),
    *sweep("nanmean", lambda m, x, d, k: m.nanmean(x, **_kw(d, k))),
    *sweep("var", lambda m, x, d, k: m.var(x, **_kw(d, k)), dims=NO_EMPTY_DIMS),
    *sweep("std", lambda m, x, d, k: m.std(x, **_kw(d, k), correction=0), dims=NO_EMPTY_DIMS),
    *sweep("amax", lambda m, x, d, k: m.amax(x, **({"dim": d} if d is not None else {}),
                                             keepdim=k), inputs=NONEMPTY_INPUTS),
    *sweep("amin", lambda m, x, d, k: x.amin(**({"dim": d} if d is not None else {}),
                                             keepdim=k), inputs=NONEMPTY_INPUTS),
    *sweep("logsumexp", lambda m, x, d, k: m.logsumexp(x, d, keepdim=k),
           dims={k: v for k, v in DIMS.items() if v not in (None, ())}),
    *sweep("any", lambda m, x, d, k: m.any(x, **_kw(d, k))),
    *sweep("all", lambda m, x, d, k: x.all(**_kw(d, k))),
    *sweep("count_nonzero", lambda m, x, d, k: m.count_nonzero(x, **_kw(d)), keepdims=(False,)),
    *sweep("prod", lambda m, x, d, k: m.prod(x, **_kw(d, k)),
           dims={"all": None, "0": 0, "-1": -1, "out-of-range": 3}),
    *sweep("max-dim", lambda m, x, d, k: m.max(x, d, keepdim=k),
           dims={"0": 0, "-1": -1, "out-of-range": 2}),
    *sweep("min-dim", lambda m, x, d, k: x.min(d, k), dims={"0": 0, "-1": -1}),
    *sweep("argmax", lambda m, x, d, k: m.argmax(x, d, keepdim=k),
           dims={"none": None, "0": 0, "-1": -1, "out-of-range": 3}),
    *sweep("argmin", lambda m, x, d, k: x.argmin(d, k), dims={"none": None, "1": 1}),
    *sweep("aminmax", lambda m, x, d, k: m.aminmax(x, **_kw(d, k)),
           dims={"all": None, "0": 0, "-1": -1}),
    *sweep("median-dim", lambda m, x, d, k: m.median(x, d, keepdim=k),
           dims={"0": 0, "-1": -1, "out-of-range": 3}),
    *sweep("softmax", lambda m, x, d, k: m.softmax(x, d), keepdims=(False,),
           dims={"0": 0, "-1": -1, "out-of-range": 3}),
    *sweep("log_softmax", lambda m, x, d, k: m.log_softmax(x, d), keepdims=(False,),
           dims={"0": 0, "-1": -1}),
    *sweep("vector_norm", lambda m, x, d, k: m.linalg.vector_norm(x, 3, d, k),
           dims={"all": None, "0": 0, "tuple": (0, -1), "out-of-range": 3}),
]

CASES = [
    # sums and means: dtype=, out=, axis=/keepdims=, transposed, NaN
    case("sum-dtype-int32", lambda m, x: m.sum(x, dtype=m.int32), Arg(i32(3, 4))),
    case("sum-dtype-f64", lambda m, x: m.sum(x, 1, dtype=m.float64), Arg(M)),
    case("sum-dtype-trunc", lambda m, x: x.sum(dtype=m.int64), Arg(np.array([1.5, 2.7]))),
    case("sum-axis", lambda m, x: m.sum(x, axis=1, keepdims=True), Arg(A)),
    case("sum-method-axis", lambda m, x: x.sum(axis=(0, 2)), Arg(A)),
    case("sum-transposed", lambda m, x: x.transpose(0, 2).sum(1), Arg(A)),
    case("sum-out", lambda m, x: m.sum(x, 1, out=m.zeros(3, dtype=m.float64)),
         Arg(A[0], requires_grad=False)),
    case("sum-nan", lambda m, x: x.sum(0), Arg(NAN)),
    case("nansum-nan", lambda m, x: m.nansum(x, 1), Arg(NAN)),
    case("nanmean-nan", lambda m, x: m.nanmean(x, 0), Arg(NAN)),
    case("nanmean-int", lambda m, x: m.nanmean(x), Arg(i32(3))),
    case("mean-dtype", lambda m, x: m.mean(x, dtype=m.float64), Arg(i32(3, 4))),
    case("mean-dtype-int", lambda m, x: m.mean(x, dtype=m.int64), Arg(M)),
    case("mean-transposed", lambda m, x: x.t().mean(0), Arg(M), rtol=1e-4),
    # prod with zeros (exact gradients)
    case("prod-zero", lambda m, x: m.prod(x, 1), Arg(ZEROS)),
    case("prod-zero-all", lambda m, x: m.prod(x), Arg(ZEROS)),
    case("prod-one-zero-all", lambda m, x: m.prod(x), Arg(ZEROS[0])),
    case("prod-keepdim", lambda m, x: x.prod(0, keepdim=True), Arg(ZEROS)),
    case("prod-dtype", lambda m, x: m.prod(x, 1, dtype=m.float64), Arg(i32(3, 4))),
    case("prod-tuple-dim", lambda m, x: m.prod(x, (0, 1)), Arg(A)),
    case("prod-axis", lambda m, x: m.prod(x, axis=0), Arg(ZEROS)),
    case("prod-empty", lambda m, x: m.prod(x), Arg(E)),
    case("prod-transposed", lambda m, x: x.transpose(0, 1).prod(1), Arg(ZEROS)),
    # var / std: corrections, unbiased, int dims, tuple dims, edge counts
    case("var-int-dim", lambda m, x: x.var(1), Arg(A)),
    case("std-int-dim", lambda m, x: x.std(0), Arg(A)),
    case("var-unbiased-false", lambda m, x: m.var(x, 1, False), Arg(A)),
    case("var-unbiased-positional", lambda m, x: m.var(x, False), Arg(A)),
    case("var-unbiased-keepdim", lambda m, x: m.var(x, 1, True, True), Arg(A)),
    case("var-correction", lambda m, x: m.var(x, (0, 2), correction=2), Arg(A)),
    case("var-correction-float", lambda m, x: m.var(x, 1, correction=0.5), Arg(A)),
    case("var-one-element", lambda m, x: m.var(x), Arg(np.array([1.5]))),
    case("var-correction-too-big", lambda m, x: m.var(x, 1, correction=5), Arg(A)),
    case("var-axis", lambda m, x: m.var(x, axis=1, keepdims=True), Arg(A)),
    case("var-int", lambda m, x: m.var(x), Arg(i32(4))),
    case("std-constant", lambda m, x: m.std(x, 1), Arg(np.ones((2, 3)))),
    case("std-one-element", lambda m, x: m.std(x), Arg(np.array([2.0]))),
    case("std-transposed", lambda m, x: x.transpose(0, 1).std(0), Arg(M), rtol=1e-4),
    case("var_mean", lambda m, x: m.var_mean(x, 1), Arg(A)),
    case("var_mean-keep", lambda m, x: m.var_mean(x, 0, True, True), Arg(A)),
    case("std_mean", lambda m, x: m.std_mean(x, (0, 1), correction=0), Arg(A)),
    case("std_mean-positional", lambda m, x: m.std_mean(x, False), Arg(A)),
    case("std_mean-axis", lambda m, x: m.std_mean(x, axis=2), Arg(A)),
    # extremes: ties share gradients (no dim), route to the first index (dim), NaN, empty
    case("max-ties", lambda m, x: m.max(x), Arg(TIES)),
    case("min-ties", lambda m, x: x.min(), Arg(TIES)),
    case("amax-ties", lambda m, x: m.amax(x, 1), Arg(TIES)),
    case("amin-ties-tuple", lambda m, x: m.amin(x, (0, 1), keepdim=True), Arg(TIES)),
    case("max-dim-ties", lambda m, x: m.max(x, 1), Arg(TIES)),
    case("min-dim-ties", lambda m, x: m.min(x, 0, keepdim=True), Arg(TIES)),
    case("max-nan", lambda m, x: m.max(x), Arg(NAN)),
    case("amax-nan", lambda m, x: m.amax(x, 1), Arg(NAN)),
    case("max-dim-nan", lambda m, x: m.max(x, 1), Arg(NAN)),
    case("argmax-nan", lambda m, x: m.argmax(x, 1), Arg(NAN)),
    case("argmin-nan", lambda m, x: m.argmin(x), Arg(NAN)),
    case("max-empty", lambda m, x: m.max(x), Arg(E)),
    case("amax-empty", lambda m, x: m.amax(x), Arg(E)),
    case("amax-empty-dim", lambda m, x: m.amax(x, 0), Arg(E)),
    case("amax-empty-other-dim", lambda m, x: m.amax(x, 1), Arg(E)),
    case("max-empty-dim", lambda m, x: m.max(x, 0), Arg(E)),
    case("max-empty-other-dim", lambda m, x: m.max(x, 1), Arg(E)),
    case("argmax-empty", lambda m, x: m.argmax(x), Arg(E)),
    case("argmax-bool", lambda m, x: m.argmax(x), Arg(b(4))),
    case("max-binary", lambda m, x, y: m.max(x, y), Arg(f64(3, 1)), Arg(f64(4))),
    case("min-binary", lambda m, x, y: x.min(y), Arg(f64(3, 4)), Arg(f64(3, 4))),
    case("max-axis", lambda m, x: m.max(x, axis=1, keepdims=True), Arg(A)),
    case("max-method-axis", lambda m, x: x.max(axis=0), Arg(M)),
    case("max-transposed", lambda m, x: x.transpose(0, 1).max(1), Arg(TIES)),
    case("max-values-indices", lambda m, x: (m.max(x, 1).values, m.max(x, 1).indices), Arg(M)),
    case("max-out", lambda m, x: m.max(x, 1, out=(m.zeros(3, dtype=m.float64),
                                                  m.zeros(3, dtype=m.int64))),
         Arg(TIES, requires_grad=False)),
    case("argmax-keepdim-nodim", lambda m, x: m.argmax(x, keepdim=True), Arg(A)),
    case("aminmax-ties", lambda m, x: m.aminmax(x), Arg(TIES)),
    case("aminmax-empty", lambda m, x: m.aminmax(x), Arg(E)),
    case("aminmax-axis", lambda m, x: m.aminmax(x, axis=1), Arg(TIES)),
    # any / all / count_nonzero extras
    case("any-nan", lambda m, x: m.any(x, 1), Arg(NAN)),
    case("all-empty", lambda m, x: m.all(x), Arg(E)),
    case("count_nonzero-axis", lambda m, x: m.count_nonzero(x, axis=1), Arg(ZEROS)),
    case("count_nonzero-repeated", lambda m, x: m.count_nonzero(x, (1, 1)), Arg(ZEROS)),
    # logsumexp
    case("logsumexp-int", lambda m, x: m.logsumexp(x, 1), Arg(i32(3, 4))),
    case("logsumexp-bool", lambda m, x: m.logsumexp(x, 0), Arg(b(3))),
    case("logsumexp-inf", lambda m, x: m.logsumexp(x, 1),
         Arg(np.array([[-np.inf, 0.0], [np.inf, 1.0], [-np.inf, -np.inf]])), grad=False),
    case("logsumexp-large", lambda m, x: m.logsumexp(x, 0), Arg(np.array([1000.0, 1000.5]))),
    case("logsumexp-empty", lambda m, x: m.logsumexp(x, 0), Arg(E)),
    case("logsumexp-transposed", lambda m, x: m.logsumexp(x.transpose(0, 1), (0, 1)), Arg(A)),
    # softmax / log_softmax
    case("softmax-dtype", lambda m, x: m.softmax(x, 1, dtype=m.float64), Arg(M)),
    case("softmax-int-dtype", lambda m, x: m.softmax(x, 0, dtype=m.float32), Arg(i32(4))),
    case("softmax-0d", lambda m, x: m.softmax(x, 0), Arg(S)),
    case("softmax-empty", lambda m, x: m.softmax(x, 0), Arg(E)),
    case("softmax-large", lambda m, x: m.softmax(x, 0), Arg(np.array([1000.0, 0.0, 999.0]))),
    case("softmax-axis", lambda m, x: x.softmax(axis=1), Arg(A)),
    case("log_softmax-dtype", lambda m, x: m.log_softmax(x, -1, dtype=m.float64), Arg(M)),
    case("log_softmax-transposed", lambda m, x: x.transpose(0, 2).log_softmax(1), Arg(A)),
    # isclose / allclose / equal
    case("isclose", lambda m, x, y: m.isclose(x, y), Arg(np.array([1.0, 1 + 1e-9, 2.0])),
         Arg(np.array([1.0, 1.0, 2.1]))),
    case("isclose-tol", lambda m, x, y: m.isclose(x, y, rtol=0.1, atol=0.0),
         Arg(np.array([1.0, 1.05, 2.0])), Arg(np.array([1.0, 1.0, 2.5]))),
    case("isclose-nan", lambda m, x, y: m.isclose(x, y, equal_nan=True),
         Arg(np.array([np.nan, np.inf, 1.0])), Arg(np.array([np.nan, np.inf, np.nan]))),
    case("isclose-nan-unequal", lambda m, x, y: x.isclose(y),
         Arg(np.array([np.nan, -np.inf])), Arg(np.array([np.nan, -np.inf]))),
    case("isclose-broadcast", lambda m, x, y: m.isclose(x, y), Arg(f64(3, 1)), Arg(f64(4))),
    case("isclose-int", lambda m, x, y: m.isclose(x, y, atol=1), Arg(np.array([1, 2])),
         Arg(np.array([1, 4]))),
    case("isclose-bool", lambda m, x, y: m.isclose(x, y), Arg(np.array([True, False])),
         Arg(np.array([True, True]))),
    case("isclose-mixed-dtypes", lambda m, x, y: m.isclose(x, y), Arg(i32(3)), Arg(f64(3))),
    case("allclose", lambda m, x, y: m.allclose(x, y), Arg(np.array([1.0, 2.0])),
         Arg(np.array([1.0, 2.0 + 1e-7]))),
    case("allclose-false", lambda m, x, y: x.allclose(y), Arg(np.array([1.0, 2.0])),
         Arg(np.array([1.0, 2.1]))),
    case("allclose-broadcast", lambda m, x, y: m.allclose(x, y), Arg(np.array([1.0])),
         Arg(np.array([1.0, 2.0]))),
    case("equal", lambda m, x, y: m.equal(x, y), Arg(np.array([1, 2])), Arg(np.array([1, 2]))),
    case("equal-shape", lambda m, x, y: m.equal(x, y), Arg(np.array([1, 2])),
         Arg(np.array([[1, 2]]))),
    case("equal-mixed", lambda m, x, y: x.equal(y), Arg(np.array([1, 2])),
         Arg(np.array([1.0, 2.0]))),
    # norms
    *[case(f"vector_norm-ord{o}", lambda m, x, o=o: m.linalg.vector_norm(x, o, 1),
           Arg(np.array([[1.0, -2.0, 2.0, 0.0], [0.5, 0.25, -3.0, 1.0]])))
      for o in (2, 1, 3, 0.5, 0, -1, math.inf, -math.inf)],
    *[case(f"vector_norm-zero-ord{o}", lambda m, x, o=o: m.linalg.vector_norm(x, o),
           Arg(np.zeros(3))) for o in (2, 1, 3, 0.5, -1, math.inf)],
    case("vector_norm-ties-inf", lambda m, x: m.linalg.vector_norm(x, math.inf),
         Arg(np.array([1.0, -2.0, 2.0]))),
    case("vector_norm-int", lambda m, x: m.linalg.vector_norm(x), Arg(i32(3))),
    case("vector_norm-dtype", lambda m, x: m.linalg.vector_norm(x, dtype=m.float64), Arg(M)),
    case("vector_norm-empty", lambda m, x: m.linalg.vector_norm(x), Arg(E)),
    case("vector_norm-empty-inf", lambda m, x: m.linalg.vector_norm(x, math.inf), Arg(E)),
    case("vector_norm-empty-inf-dim", lambda m, x: m.linalg.vector_norm(x, math.inf, 1), Arg(E)),
    case("vector_norm-keepdim", lambda m, x: m.linalg.vector_norm(x, 2, (0, 2), True), Arg(A)),
    case("norm-default", lambda m, x: m.norm(x), Arg(A)),
    case("norm-p1-dim", lambda m, x: m.norm(x, p=1, dim=1), Arg(A)),
    case("norm-fro-dims", lambda m, x: x.norm("fro", (0, 1), keepdim=True), Arg(A)),
    case("norm-p3-dims", lambda m, x: m.norm(x, 3, (0, 2)), Arg(A)),
    case("norm-inf", lambda m, x: m.norm(x, math.inf), Arg(M)),
    case("norm-nuc", lambda m, x: m.norm(x, "nuc"), Arg(M), rtol=1e-4),
    case("norm-int", lambda m, x: m.norm(x), Arg(i32(3))),
    case("norm-zero", lambda m, x: m.norm(x), Arg(np.zeros((2, 2)))),
    case("norm-transposed", lambda m, x: x.transpose(0, 1).norm(dim=0), Arg(M), rtol=1e-4),
    case("dist", lambda m, x, y: m.dist(x, y), Arg(f64(3, 4)), Arg(f64(4))),
    case("dist-p1", lambda m, x, y: m.dist(x, y, 1), Arg(f64(3)), Arg(f64(3))),
    case("dist-inf", lambda m, x, y: x.dist(y, math.inf), Arg(f64(3)), Arg(f64(3))),
    *[case(f"matrix_norm-{o}", lambda m, x, o=o: m.linalg.matrix_norm(x, o), Arg(f64(2, 3, 4)))
      for o in ("fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf)],
    case("matrix_norm-dims", lambda m, x: m.linalg.matrix_norm(x, 1, (2, 0), keepdim=True),
         Arg(A)),
    case("matrix_norm-nuc-dims", lambda m, x: m.linalg.matrix_norm(x, "nuc", (0, 2), True),
         Arg(A)),
    case("matrix_norm-1d", lambda m, x: m.linalg.matrix_norm(x), Arg(f64(3))),
    case("matrix_norm-bad-ord", lambda m, x: m.linalg.matrix_norm(x, 3), Arg(M)),
    case("matrix_norm-ties", lambda m, x: m.linalg.matrix_norm(x, 1), Arg(np.ones((2, 2)))),
    case("linalg.norm-default", lambda m, x: m.linalg.norm(x), Arg(A)),
    case("linalg.norm-matrix", lambda m, x: m.linalg.norm(x, 2), Arg(f64(3, 4))),
    case("linalg.norm-vector", lambda m, x: m.linalg.norm(x, 3), Arg(f64(5))),
    case("linalg.norm-dim", lambda m, x: m.linalg.norm(x, 1, dim=1), Arg(A)),
    case("linalg.norm-dims", lambda m, x: m.linalg.norm(x, "fro", dim=(0, 1)), Arg(A)),
    case("linalg.norm-3d-ord", lambda m, x: m.linalg.norm(x, 2), Arg(A)),
    case("linalg.svdvals", lambda m, x: m.linalg.svdvals(x), Arg(f64(2, 3, 4))),
]


@pytest.mark.parametrize("fn, args, options", SWEEPS + CASES)
def test_reduction_matches_torch(fn, args, options):
    check(fn, *args, **options)
