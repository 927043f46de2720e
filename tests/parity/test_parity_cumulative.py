"""Differential table: scans (cumsum, cumprod, cummax, cummin, logcumsumexp) and diff against
PyTorch: values, dtypes, shapes, gradients (zeros in cumprod, ties in cummax) and exception
types."""

import numpy as np
import pytest

pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

R = np.random.default_rng(1)


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
          "bool": b(3, 4), "u8": R.integers(0, 3, (2, 3)).astype(np.uint8)}
DIMS = {"0": 0, "-1": -1, "1": 1, "out-of-range": 3, "neg-out-of-range": -4}
ZEROS = np.array([[2.0, 0.0, 3.0, 0.5, 1.5], [1.0, 2.0, 0.0, 0.0, -1.0],
                  [0.0, -1.0, 2.0, 0.5, 3.0]])
TIES = np.array([[1.0, 3.0, 3.0, 2.0, 5.0], [2.0, 2.0, -1.0, 2.0, -1.0]])
NAN = np.array([[1.0, 3.0, np.nan, 2.0, np.nan, 0.0], [0.0, -1.0, 0.5, 0.5, 2.0, -2.0]])


def sweep(name, fn, inputs=INPUTS, **options):
    return [pytest.param(lambda m, x, d=dim: fn(m, x, d), (Arg(array),),
                         {"rtol": 1e-4, "atol": 1e-5} if array.dtype == np.float32 else {},
                         id=f"{name}-{input_name}-dim:{dim_name}")
            for input_name, array in inputs.items() for dim_name, dim in DIMS.items()]


NONEMPTY = {k: v for k, v in INPUTS.items() if v.size}


def case(name, fn, *args, **options):
    return pytest.param(fn, args, options, id=name)


CASES = [
    *sweep("cumsum", lambda m, x, d: m.cumsum(x, d)),
    *sweep("cumprod", lambda m, x, d: x.cumprod(d)),
    *sweep("cummax", lambda m, x, d: m.cummax(x, d), inputs=NONEMPTY),
    *sweep("cummin", lambda m, x, d: x.cummin(d), inputs=NONEMPTY),
    # PyTorch's gradient of an empty cummax is the input tensor itself: values only here.
    case("cummax-empty", lambda m, x: m.cummax(x, 0), Arg(INPUTS["empty"]), grad=False),
    *sweep("logcumsumexp", lambda m, x, d: m.logcumsumexp(x, d)),
    *sweep("diff", lambda m, x, d: m.diff(x, dim=d)),
    case("cumsum-dtype", lambda m, x: m.cumsum(x, 1, dtype=m.float64), Arg(i32(3, 4))),
    case("cumsum-dtype-f32", lambda m, x: x.cumsum(0, dtype=m.float64), Arg(f32(4))),
    case("cumsum-axis", lambda m, x: m.cumsum(x, axis=1), Arg(A)),
    case("cumsum-transposed", lambda m, x: x.transpose(0, 2).cumsum(1), Arg(A)),
    case("cumsum-no-dim", lambda m, x: m.cumsum(x), Arg(A)),
    case("cumsum-nan", lambda m, x: m.cumsum(x, 1), Arg(NAN)),
    case("cumsum-out", lambda m, x: m.cumsum(x, 0, out=m.zeros(3, dtype=m.float64)),
         Arg(f64(3), requires_grad=False)),
    case("cumprod-zeros", lambda m, x: m.cumprod(x, 1), Arg(ZEROS)),
    case("cumprod-zeros-dim0", lambda m, x: m.cumprod(x, 0), Arg(ZEROS)),
    case("cumprod-zeros-transposed", lambda m, x: x.transpose(0, 1).cumprod(1), Arg(ZEROS)),
    case("cumprod-dtype", lambda m, x: m.cumprod(x, 0, dtype=m.float64), Arg(i32(4))),
    case("cumprod-axis", lambda m, x: x.cumprod(axis=0), Arg(ZEROS)),
    case("cummax-ties", lambda m, x: m.cummax(x, 1), Arg(TIES)),
    case("cummin-ties", lambda m, x: m.cummin(x, 1), Arg(TIES)),
    case("cummax-nan", lambda m, x: m.cummax(x, 1), Arg(NAN)),
    case("cummin-nan", lambda m, x: m.cummin(x, -1), Arg(NAN)),
    case("cummax-transposed", lambda m, x: x.t().cummax(0), Arg(TIES)),
    case("cummax-axis", lambda m, x: m.cummax(x, axis=1).values, Arg(TIES)),
    case("logcumsumexp-large", lambda m, x: m.logcumsumexp(x, 0),
         Arg(np.array([1000.0, -1000.0, 999.0, 1001.0]))),
    case("logcumsumexp-small", lambda m, x: m.logcumsumexp(x, 0),
         Arg(np.array([-1000.0, -1001.0, -999.0]))),
    case("logcumsumexp-transposed", lambda m, x: x.transpose(0, 1).logcumsumexp(2), Arg(A)),
    case("logcumsumexp-axis", lambda m, x: m.logcumsumexp(x, axis=1), Arg(A)),
    case("logcumsumexp-inf", lambda m, x: m.logcumsumexp(x, 0),
         Arg(np.array([-np.inf, 1.0, -np.inf, 2.0])), grad=False),
    case("diff-n2", lambda m, x: m.diff(x, 2, 0), Arg(A)),
    case("diff-n0", lambda m, x: m.diff(x, n=0), Arg(A)),
    case("diff-n-large", lambda m, x: m.diff(x, n=5), Arg(A)),
    case("diff-int", lambda m, x: m.diff(x), Arg(i32(5))),
    case("diff-bool", lambda m, x: m.diff(x), Arg(np.array([True, False, False, True]))),
    case("diff-prepend-append", lambda m, x, p, a: m.diff(x, dim=1, prepend=p, append=a),
         Arg(f64(2, 3)), Arg(f64(2, 1)), Arg(f64(2, 2))),
    case("diff-prepend-bad", lambda m, x, p: m.diff(x, prepend=p), Arg(f64(3)), Arg(f64())),
    case("diff-0d", lambda m, x: m.diff(x), Arg(f64())),
    case("diff-transposed", lambda m, x: x.t().diff(dim=0), Arg(f64(3, 4))),
]


@pytest.mark.parametrize("fn, args, options", CASES)
def test_scan_matches_torch(fn, args, options):
    check(fn, *args, **options)
