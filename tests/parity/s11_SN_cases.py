"""Edge-semantics cases (session 11, SN): NaN, inf, -0.0, ties, zero divisors, integer
overflow and the gradients at those points, as a table for ``parity.check``.

Each case is ``(id, fn, args, options)``; ``fn(m, *tensors)`` runs with ``m`` = deltagrad or
torch. The inputs are fixed arrays (seeded), small enough that the whole table runs in seconds.
Tests import this module only after ``pytest.importorskip("torch")``.
"""

from __future__ import annotations

import numpy as np
from parity import Arg

R = np.random.default_rng(1111)
NAN, INF = np.nan, np.inf

# Floating inputs with NaN: a row with one NaN, an all-NaN row, a row with inf and -inf.
NAN_2D = np.array([[1.0, NAN, 3.0, 0.5], [NAN, NAN, NAN, NAN], [INF, -INF, 2.0, 2.0]])
NAN_1D = np.array([2.0, NAN, -1.0, NAN, 5.0])
TIES_2D = np.array([[3.0, 1.0, 3.0, 2.0], [0.0, 0.0, 0.0, 0.0], [-1.0, 4.0, 4.0, -1.0]])
TIES_1D = np.array([1.0, 2.0, 2.0, 1.0, 2.0])
SIGNED = np.array([-0.0, 0.0, -2.5, 2.5, -0.5, 0.5, 1.5, -1.5, NAN, INF, -INF])
HALVES = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.125, -0.125, 1.005, 2.675, -0.0])

FLOAT_INPUTS = {
    "nan2d": NAN_2D, "nan1d": NAN_1D, "ties2d": TIES_2D, "ties1d": TIES_1D,
    "nan0d": np.array(NAN), "0d": np.array(1.5), "empty": np.zeros((0, 3)),
}
DIMS = (None, 0, 1, -1)
FLOAT_DTYPES = (np.float32, np.float64)
INT_DTYPES = (np.int8, np.int16, np.int32, np.int64, np.uint8)


def _arg(array, dtype=None, grad=None):
    array = np.asarray(array)
    if dtype is not None:
        array = array.astype(dtype)
    return Arg(array, requires_grad=grad)


CASES: list[tuple] = []


def _signbit(m, y):
    """The sign bit of the non-NaN results (a NaN's sign bit is the platform's, not an API)."""
    return m.signbit(y) & ~m.isnan(y)


def add(name, fn, *args, **options):
    CASES.append((name, fn, args, options))


def _reduction_call(op, dim, keepdim):
    if dim is None:
        return lambda m, x: getattr(m, op)(x)
    return lambda m, x: getattr(m, op)(x, dim, keepdim=keepdim)


# --- max/min/amax/amin/argmax/argmin (NaN, ties, empty, 0-d; values, indices, gradients) ---
for op in ("max", "min", "amax", "amin", "argmax", "argmin", "nanmedian", "median",
           "logsumexp", "nansum", "nanmean", "mode", "sum", "prod", "mean"):
    for input_name, array in FLOAT_INPUTS.items():
        for dim in DIMS:
            if op in ("logsumexp", "mode") and dim is None:
                continue
            if dim is not None and array.ndim < 2 and dim in (1,):
                continue
            for keepdim in ((False, True) if dim is not None else (False,)):
                for dtype in FLOAT_DTYPES:
                    grad = op not in ("argmax", "argmin")
                    add(f"{op}-{input_name}-dim{dim}-keep{int(keepdim)}-{np.dtype(dtype).name}",
                        _reduction_call(op, dim, keepdim), _arg(array, dtype, grad))

# Integer and bool inputs of the reductions: index ties, dtype of the result.
INT_2D = np.array([[3, 1, 3, -2], [0, 0, 0, 0], [-1, 4, 4, -1]])
for op in ("max", "min", "amax", "amin", "argmax", "argmin", "sum", "prod", "median", "mode",
           "nansum", "mean"):
    for dtype in INT_DTYPES + (np.bool_,):
        array = INT_2D.astype(dtype) if dtype is not np.bool_ else INT_2D > 0
        for dim in (None, 0, -1):
            if op == "mode" and dim is None:
                continue
            add(f"{op}-int-dim{dim}-{np.dtype(dtype).name}", _reduction_call(op, dim, False),
                _arg(array))

# Integer overflow of sum/cumsum/prod and the promoted dtype (int8/uint8/bool -> int64).
BIG = {np.int8: [100, 100, 100], np.uint8: [200, 200, 200], np.int16: [30000, 30000],
       np.int32: [2 ** 30, 2 ** 30, 2 ** 30], np.bool_: [True, True, True]}
for dtype, values in BIG.items():
    name = np.dtype(dtype).name
    array = np.array(values, dtype=dtype)
    add(f"sum-overflow-{name}", lambda m, x: m.sum(x), _arg(array))
    add(f"sum-overflow-dtype-{name}", lambda m, x: m.sum(x, dtype=m.int8), _arg(array))
    add(f"cumsum-overflow-{name}", lambda m, x: m.cumsum(x, 0), _arg(array))
    add(f"prod-overflow-{name}", lambda m, x: m.prod(x), _arg(array))
    add(f"cumprod-overflow-{name}", lambda m, x: m.cumprod(x, 0), _arg(array))
    add(f"sum-dim-overflow-{name}", lambda m, x: x.sum(0, keepdim=True), _arg(array))
    add(f"mean-int-{name}", lambda m, x: m.mean(x), _arg(array))
    add(f"mean-int-dtype-{name}", lambda m, x: m.mean(x, dtype=m.float64), _arg(array))

# var/std with correction and n <= correction.
for op in ("var", "std", "var_mean", "std_mean"):
    for shape in ((1,), (2,), (3, 1), (3, 2), (0,), ()):
        array = R.standard_normal(shape)
        for correction in (0, 1, 2):
            add(f"{op}-shape{shape}-c{correction}",
                lambda m, x, c=correction, op=op: getattr(m, op)(x, correction=c),
                _arg(array))
            if len(shape) == 2:
                add(f"{op}-shape{shape}-dim1-c{correction}",
                    lambda m, x, c=correction, op=op: getattr(m, op)(x, 1, correction=c),
                    _arg(array))
    add(f"{op}-unbiased-false", lambda m, x, op=op: getattr(m, op)(x, unbiased=False),
        _arg(R.standard_normal(1)))
    add(f"{op}-nan", lambda m, x, op=op: getattr(m, op)(x, 1), _arg(NAN_2D, grad=False))
    add(f"{op}-int", lambda m, x, op=op: getattr(m, op)(x), _arg(np.array([1, 2, 3])))

# --- maximum/minimum/fmax/fmin (NaN in either operand, -0.0 vs 0.0, ties for gradients) ---
PAIR_A = np.array([1.0, NAN, NAN, 2.0, -0.0, 0.0, INF, 3.0])
PAIR_B = np.array([NAN, 2.0, NAN, 2.0, 0.0, -0.0, NAN, -INF])
for op in ("maximum", "minimum", "fmax", "fmin"):
    for dtype in FLOAT_DTYPES:
        add(f"{op}-nan-{np.dtype(dtype).name}", lambda m, a, b, op=op: getattr(m, op)(a, b),
            _arg(PAIR_A, dtype), _arg(PAIR_B, dtype))
    add(f"{op}-int", lambda m, a, b, op=op: getattr(m, op)(a, b),
        _arg(np.array([1, -2, 3], dtype=np.int32)), _arg(np.array([1, 5, -3], dtype=np.int32)))
    add(f"{op}-bool", lambda m, a, b, op=op: getattr(m, op)(a, b),
        _arg(np.array([True, False, True])), _arg(np.array([False, False, True])))
    add(f"{op}-mixed", lambda m, a, b, op=op: getattr(m, op)(a, b),
        _arg(np.array([1, -2, 3], dtype=np.int64)), _arg(np.array([1.5, NAN, 2.0])))
    add(f"{op}-broadcast-0d-nan", lambda m, a, b, op=op: getattr(m, op)(a, b),
        _arg(np.array([1.0, 2.0, NAN])), _arg(np.array(NAN)))

# --- clamp / clip: NaN in the input, NaN or inverted bounds, tensor bounds, gradients at bounds ---
CLAMP_X = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, NAN, INF, -INF])
for op in ("clamp", "clip"):
    for lo, hi in ((-1.0, 1.0), (None, 1.0), (-1.0, None), (1.0, -1.0), (NAN, 1.0),
                   (-1.0, NAN), (0.0, 0.0)):
        add(f"{op}-{lo}-{hi}", lambda m, x, lo=lo, hi=hi, op=op: getattr(m, op)(x, lo, hi),
            _arg(CLAMP_X))
    add(f"{op}-tensor-bounds",
        lambda m, x, lo, hi, op=op: getattr(m, op)(x, lo, hi), _arg(CLAMP_X),
        _arg(np.array([-1.0, NAN, 0.0, 2.0, 1.0, 0.0, 0.0, 0.0])),
        _arg(np.array([1.0, 0.0, NAN, 1.0, 1.0, 1.0, 1.0, 1.0])))
    add(f"{op}-int-float-bound", lambda m, x, op=op: getattr(m, op)(x, 0.5, 2.5),
        _arg(np.array([-1, 0, 1, 2, 3])))
    add(f"{op}-int", lambda m, x, op=op: getattr(m, op)(x, 0, 2), _arg(np.array([-1, 0, 1, 3])))
    add(f"{op}-none-none", lambda m, x, op=op: getattr(m, op)(x), _arg(CLAMP_X))
add("clamp_min-nan", lambda m, x: m.clamp_min(x, NAN), _arg(CLAMP_X))
add("clamp_max-nan", lambda m, x: m.clamp_max(x, 0.0), _arg(CLAMP_X))

# --- sorting family with NaN and ties ---
SORT_INPUTS = {"nan2d": NAN_2D, "nan1d": NAN_1D, "ties2d": TIES_2D, "ties1d": TIES_1D,
               "0d": np.array(2.0), "empty": np.zeros((0,))}
for input_name, array in SORT_INPUTS.items():
    for dim in (0, -1):
        for desc in (False, True):
            for stable in (False, True):
                add(f"sort-{input_name}-dim{dim}-desc{int(desc)}-stable{int(stable)}",
                    lambda m, x, d=dim, desc=desc, s=stable: m.sort(
                        x, dim=d, descending=desc, stable=s), _arg(array))
            add(f"argsort-{input_name}-dim{dim}-desc{int(desc)}",
                lambda m, x, d=dim, desc=desc: m.argsort(x, dim=d, descending=desc),
                _arg(array))
        if array.ndim and array.shape[dim]:
            for k in (1, 2):
                if k > array.shape[dim]:
                    continue
                for largest in (True, False):
                    add(f"topk-{input_name}-dim{dim}-k{k}-largest{int(largest)}",
                        lambda m, x, d=dim, k=k, lg=largest: m.topk(x, k, d, largest=lg),
                        _arg(array))
            for k in (1, 2, array.shape[dim]):
                if k > array.shape[dim]:
                    continue
                add(f"kthvalue-{input_name}-dim{dim}-k{k}",
                    lambda m, x, d=dim, k=k: m.kthvalue(x, k, d), _arg(array))
        for q in (0.0, 0.3, 0.5, 1.0):
            for op in ("quantile", "nanquantile"):
                if array.size:
                    add(f"{op}-{input_name}-dim{dim}-q{q}",
                        lambda m, x, d=dim, q=q, op=op: getattr(m, op)(x, q, d), _arg(array))
    for op in ("quantile", "nanquantile"):
        add(f"{op}-{input_name}-global", lambda m, x, op=op: getattr(m, op)(x, 0.4),
            _arg(array))
    for op in ("cummax", "cummin", "logcumsumexp", "cumsum", "cumprod"):
        for dim in (0, -1):
            add(f"{op}-{input_name}-dim{dim}", lambda m, x, d=dim, op=op: getattr(m, op)(x, d),
                _arg(array), grad=bool(array.size))
add("logcumsumexp-neg-inf", lambda m, x: m.logcumsumexp(x, 0),
    _arg(np.array([-INF, -INF, 0.0, -INF, INF])))
add("logcumsumexp-all-neg-inf", lambda m, x: m.logcumsumexp(x, -1),
    _arg(np.array([[-INF, -INF], [1.0, -INF]])))
add("cummax-int-ties", lambda m, x: m.cummax(x, 0), _arg(np.array([1, 3, 3, 2, 3, 5, 5])))
add("cummin-int-ties", lambda m, x: m.cummin(x, 0), _arg(np.array([5, 3, 3, 4, 3, 1, 1])))
add("cummax-bool", lambda m, x: m.cummax(x, 0), _arg(np.array([False, True, False, True])))

# --- unique, unique_consecutive, isin, histc/histogram edges ---
U_NAN = np.array([NAN, 1.0, NAN, -0.0, 0.0, 1.0, INF, -INF])
for sorted_ in (True, False):
    add(f"unique-nan-sorted{int(sorted_)}",
        lambda m, x, s=sorted_: m.unique(x, sorted=s, return_inverse=True, return_counts=True),
        _arg(U_NAN, grad=False))
add("unique-nan-dim0", lambda m, x: m.unique(x, dim=0, return_inverse=True,
                                             return_counts=True),
    _arg(np.array([[NAN, 1.0], [NAN, 1.0], [0.0, 1.0]]), grad=False))
add("unique_consecutive-nan", lambda m, x: m.unique_consecutive(
    x, return_inverse=True, return_counts=True), _arg(U_NAN, grad=False))
add("unique_consecutive-zeros", lambda m, x: m.unique_consecutive(x, return_counts=True),
    _arg(np.array([0.0, -0.0, 0.0, 1.0, 1.0]), grad=False))
add("unique_consecutive-dim1", lambda m, x: m.unique_consecutive(
    x, dim=1, return_inverse=True, return_counts=True),
    _arg(np.array([[1, 1, 2, 2, 1], [0, 0, 3, 3, 0]])))
add("unique_consecutive-empty", lambda m, x: m.unique_consecutive(
    x, return_inverse=True, return_counts=True), _arg(np.zeros(0), grad=False))
add("isin-nan", lambda m, a, b: m.isin(a, b), _arg(U_NAN, grad=False),
    _arg(np.array([NAN, 0.0, INF]), grad=False))
add("isin-invert", lambda m, a, b: m.isin(a, b, invert=True), _arg(U_NAN, grad=False),
    _arg(np.array([NAN, -0.0]), grad=False))
add("isin-int-float", lambda m, a, b: m.isin(a, b), _arg(np.array([1, 2, 3])),
    _arg(np.array([1.0, 2.5]), grad=False))
add("isin-scalar", lambda m, a: m.isin(a, 2), _arg(np.array([1, 2, 3])))
add("isin-empty", lambda m, a, b: m.isin(a, b), _arg(np.array([1, 2])),
    _arg(np.zeros(0, dtype=np.int64)))
for values in ([0.0, 1.0, 2.0, 3.0], [0.0, 0.999999, 1.0, 1.5, 2.0], [-INF, 0.0, 1.0]):
    add(f"histc-edges-{values}", lambda m, x: m.histc(x, 4, 0.0, 2.0),
        _arg(np.array(values), grad=False))
for values in ([1.0, 1.0, 1.0], [0.0, 0.5, 1.0, 2.0], [NAN, 1.0]):
    add(f"histogram-{values}", lambda m, x: m.histogram(x, 3),
        _arg(np.array(values), grad=False))
    add(f"histogram-range-{values}", lambda m, x: m.histogram(x, 2, range=(0.0, 1.0)),
        _arg(np.array(values), grad=False))
add("histogram-bins-tensor", lambda m, x, b: m.histogram(x, b),
    _arg(np.array([0.0, 1.0, 2.0, 3.0, 2.0]), grad=False),
    _arg(np.array([0.0, 1.0, 2.0, 3.0]), grad=False))
add("histogram-weights-density", lambda m, x, w: m.histogram(x, 2, weight=w, density=True),
    _arg(np.array([0.0, 1.0, 2.0]), grad=False), _arg(np.array([1.0, 2.0, 3.0]), grad=False))

# --- searchsorted / bucketize: ties, left/right/side, sorter, NaN ---
S_SORTED = np.array([1.0, 2.0, 2.0, 2.0, 5.0, NAN])
S_VALUES = np.array([[2.0, 0.0, 5.0], [NAN, 6.0, 1.0]])
for right in (False, True):
    add(f"searchsorted-ties-right{int(right)}",
        lambda m, s, v, r=right: m.searchsorted(s, v, right=r), _arg(S_SORTED, grad=False),
        _arg(S_VALUES, grad=False))
    add(f"bucketize-ties-right{int(right)}",
        lambda m, v, s, r=right: m.bucketize(v, s, right=r), _arg(S_VALUES, grad=False),
        _arg(S_SORTED, grad=False))
    add(f"bucketize-int32-right{int(right)}",
        lambda m, v, s, r=right: m.bucketize(v, s, out_int32=True, right=r),
        _arg(np.array([1, 2, 3])), _arg(np.array([1, 2, 2, 3])))
for side in ("left", "right"):
    add(f"searchsorted-side-{side}-sorter",
        lambda m, s, v, o, side=side: m.searchsorted(s, v, side=side, sorter=o),
        _arg(np.array([3.0, 1.0, 2.0, 2.0]), grad=False), _arg(np.array([2.0, 3.0, 0.0]),
                                                               grad=False),
        _arg(np.array([1, 2, 3, 0])))
add("searchsorted-scalar-right", lambda m, s: m.searchsorted(s, 2, right=True),
    _arg(np.array([1, 2, 2, 3])))
add("searchsorted-mixed-dtype", lambda m, s, v: m.searchsorted(s, v),
    _arg(np.array([1, 2, 3])), _arg(np.array([1.5, 2.0]), grad=False))

# --- softmax / log_softmax / logsumexp with -inf rows ---
INF_ROWS = np.array([[-INF, -INF, -INF], [0.0, -INF, 1.0], [INF, 0.0, 1.0], [NAN, 0.0, 1.0]])
for op in ("softmax", "log_softmax"):
    for dim in (0, 1, -1):
        for dtype in FLOAT_DTYPES:
            add(f"{op}-infrows-dim{dim}-{np.dtype(dtype).name}",
                lambda m, x, d=dim, op=op: getattr(m, op)(x, d), _arg(INF_ROWS, dtype))
            add(f"F.{op}-infrows-dim{dim}-{np.dtype(dtype).name}",
                lambda m, x, d=dim, op=op: getattr(m.nn.functional, op)(x, d),
                _arg(INF_ROWS, dtype))
for dim in (0, 1, (0, 1)):
    add(f"logsumexp-infrows-dim{dim}", lambda m, x, d=dim: m.logsumexp(x, d),
        _arg(INF_ROWS))
add("logsumexp-empty", lambda m, x: m.logsumexp(x, 0), _arg(np.zeros((0, 2))))
add("logsumexp-int", lambda m, x: m.logsumexp(x, 0), _arg(np.array([1, 2, 3])))

# --- sign/sgn/copysign/signbit of -0.0 and NaN; floor/ceil/round/trunc/frac of halves ---
for op in ("sign", "sgn", "signbit", "floor", "ceil", "round", "trunc", "frac", "abs", "neg",
           "fix", "sqrt", "rsqrt", "reciprocal", "exp", "log", "log1p", "relu", "isnan",
           "isinf", "isposinf", "isneginf", "isfinite", "nan_to_num", "square"):
    for dtype in FLOAT_DTYPES:
        name = np.dtype(dtype).name
        add(f"{op}-signed-{name}", lambda m, x, op=op: getattr(m, op)(x), _arg(SIGNED, dtype),
            grad=op != "sgn")  # (PyTorch's sgn gradient of a real tensor is a ZeroTensor)
        add(f"{op}-signbit-{name}", lambda m, x, op=op: _signbit(m, getattr(m, op)(x)),
            _arg(SIGNED, dtype, grad=False))
    add(f"{op}-halves", lambda m, x, op=op: getattr(m, op)(x), _arg(HALVES), grad=op != "sgn")
for op in ("sign", "sgn", "floor", "ceil", "round", "trunc", "abs", "neg", "signbit", "square"):
    for dtype in INT_DTYPES + (np.bool_,):
        add(f"{op}-int-{np.dtype(dtype).name}", lambda m, x, op=op: getattr(m, op)(x),
            _arg(np.array([-3, -1, 0, 1, 2, 127]).astype(dtype)))
for decimals in (-1, 0, 1, 2, 3):
    for dtype in FLOAT_DTYPES:
        add(f"round-decimals{decimals}-{np.dtype(dtype).name}",
            lambda m, x, d=decimals: m.round(x, decimals=d),
            _arg(np.array([15.0, 25.0, -25.0, 0.125, 0.375, 1.005, 2.675, 1234.5678, NAN,
                           -0.05, 0.05]), dtype))
    add(f"round-decimals{decimals}-int", lambda m, x, d=decimals: m.round(x, decimals=d),
        _arg(np.array([15, 25, -25])))
COPY_A = np.array([1.0, -1.0, 0.0, -0.0, NAN, 2.0, INF])
COPY_B = np.array([-0.0, 0.0, -1.0, 1.0, -1.0, NAN, -NAN])
add("copysign", lambda m, a, b: m.copysign(a, b), _arg(COPY_A), _arg(COPY_B))
add("copysign-signbit", lambda m, a, b: _signbit(m, m.copysign(a, b)), _arg(COPY_A, grad=False),
    _arg(COPY_B, grad=False))
add("copysign-scalar-neg-zero", lambda m, a: m.copysign(a, -0.0), _arg(COPY_A))
add("copysign-int", lambda m, a, b: m.copysign(a, b), _arg(np.array([1, -2, 3])),
    _arg(np.array([-1, 1, 0])))
add("copysign-grad-at-zero", lambda m, a, b: m.copysign(a, b),
    _arg(np.array([0.0, -0.0, 0.0, 2.0])), _arg(np.array([1.0, 1.0, -1.0, -0.0])))

# --- remainder/fmod/floor_divide/div(rounding_mode): signs and zero divisors, every dtype ---
NUM = np.array([7, -7, 7, -7, 0, 5, -5, 3])
DEN = np.array([3, 3, -3, -3, 3, 0, 0, 0])
for op in ("remainder", "fmod", "floor_divide", "div-floor", "div-trunc", "div", "true_divide"):
    for dtype in INT_DTYPES + FLOAT_DTYPES + (np.bool_,):
        name = np.dtype(dtype).name
        num = NUM.astype(dtype) if dtype is not np.uint8 else np.abs(NUM).astype(dtype)
        den = DEN.astype(dtype) if dtype is not np.uint8 else np.abs(DEN).astype(dtype)
        if dtype is np.bool_:
            num, den = NUM != 0, DEN != 0
        if op.startswith("div-"):
            mode = op.split("-")[1]
            fn = lambda m, a, b, mode=mode: m.div(a, b, rounding_mode=mode)  # noqa: E731
        else:
            fn = lambda m, a, b, op=op: getattr(m, op)(a, b)  # noqa: E731
        grad = op not in ("floor_divide", "div-floor", "div-trunc") and None
        add(f"{op}-{name}", fn, _arg(num, grad=grad), _arg(den, grad=grad))
        if dtype in FLOAT_DTYPES:
            add(f"{op}-{name}-signed-zero-inf", fn,
                _arg(np.array([-0.0, 0.0, 5.0, -5.0, INF, 1.0, -1.0, NAN]), dtype, grad=False),
                _arg(np.array([3.0, -3.0, INF, INF, 2.0, -INF, 0.0, 1.0]), dtype, grad=False))
            add(f"{op}-{name}-signbit", lambda m, a, b, fn=fn: _signbit(m, fn(m, a, b)),
                _arg(np.array([-0.0, 0.0, 6.0, -6.0, 3.0, -3.0]), dtype),
                _arg(np.array([3.0, -3.0, 3.0, -3.0, -INF, INF]), dtype))
        add(f"{op}-{name}-scalar-den", lambda m, a, fn=fn: fn(m, a, -3),
            _arg(num, grad=grad))
        add(f"{op}-{name}-scalar-zero-den", lambda m, a, fn=fn: fn(m, a, 0),
            _arg(num, grad=grad))
        add(f"{op}-{name}-scalar-float-den", lambda m, a, fn=fn: fn(m, a, -2.5),
            _arg(num, grad=grad))
        add(f"{op}-{name}-python-num", lambda m, b, fn=fn: fn(m, 7, b), _arg(den, grad=grad),
            grad=op != "remainder")  # (no derivative: the backward cases below)
INT_MIN = {np.int8: -128, np.int16: -32768, np.int32: -2 ** 31, np.int64: -2 ** 63}
for dtype, low in INT_MIN.items():
    for op in ("remainder", "fmod", "floor_divide"):
        add(f"{op}-intmin-{np.dtype(dtype).name}", lambda m, a, b, op=op: getattr(m, op)(a, b),
            _arg(np.array([low, low + 1], dtype=dtype)), _arg(np.array([-1, -1], dtype=dtype)))

# --- gradients at kinks and special points ---
KINKS = np.array([-1.0, 0.0, -0.0, 1.0, 2.0])
for name, fn in {
    "abs": lambda m, x: m.abs(x), "relu": lambda m, x: m.relu(x),
    "F.relu": lambda m, x: m.nn.functional.relu(x),
    "hardtanh": lambda m, x: m.nn.functional.hardtanh(x),
    "hardtanh-bound": lambda m, x: m.nn.functional.hardtanh(x, -1.0, 1.0),
    "relu6": lambda m, x: m.nn.functional.relu6(x * 3.0),
    "leaky_relu": lambda m, x: m.nn.functional.leaky_relu(x, 0.1),
    "sqrt": lambda m, x: m.sqrt(x), "rsqrt": lambda m, x: m.rsqrt(x),
    "cbrt-like-pow": lambda m, x: m.pow(x, 1.0 / 3.0),
    "pow-0.5": lambda m, x: x ** 0.5, "pow-2": lambda m, x: x ** 2, "pow-0": lambda m, x: x ** 0,
    "pow-neg1": lambda m, x: x ** -1, "pow-1": lambda m, x: x ** 1,
    "rpow-0-base": lambda m, x: 0.0 ** x, "rpow-neg-base": lambda m, x: (-2.0) ** x,
    "norm": lambda m, x: m.norm(x * 0.0), "norm-1": lambda m, x: m.norm(x * 0.0, 1),
    "norm-inf": lambda m, x: m.norm(x, float("inf")), "linalg.norm-0": lambda m, x:
    m.linalg.vector_norm(x * 0.0), "linalg.vector_norm-ord0": lambda m, x:
    m.linalg.vector_norm(x, 0), "dist-same": lambda m, x: m.dist(x, x.detach()),
    "clamp-bounds": lambda m, x: m.clamp(x, 0.0, 1.0), "clamp-min": lambda m, x: m.clamp(x, min=0),
    "clamp-tensor-bounds": lambda m, x: m.clamp(x, m.zeros_like(x), m.ones_like(x)),
    "maximum-tie": lambda m, x: m.maximum(x, x.detach()), "maximum-self": lambda m, x:
    m.maximum(x, x), "minimum-tie": lambda m, x: m.minimum(x, m.zeros_like(x)),
    "fmax-tie": lambda m, x: m.fmax(x, m.zeros_like(x)),
    "max-binary-tie": lambda m, x: m.max(x, m.zeros_like(x)),
    "sign": lambda m, x: m.sign(x),
    "floor": lambda m, x: m.floor(x), "round": lambda m, x: m.round(x),
    "frac": lambda m, x: m.frac(x), "trunc": lambda m, x: m.trunc(x),
    "log": lambda m, x: m.log(x), "xlogy-0": lambda m, x: m.xlogy(x * 0, x),
    "special.xlogy": lambda m, x: m.special.xlogy(x, x),
    "special.entr": lambda m, x: m.special.entr(x),
    "remainder-grad": lambda m, x: m.remainder(x, 1.0), "fmod-grad": lambda m, x: m.fmod(x, 1.0),
    "atan2-origin": lambda m, x: m.atan2(x, m.zeros_like(x)),
    "hypot-origin": lambda m, x: m.hypot(x, m.zeros_like(x)),
    "sinc-0": lambda m, x: m.sinc(x), "logit-edges": lambda m, x: m.logit(x),
    "silu": lambda m, x: m.nn.functional.silu(x), "elu": lambda m, x: m.nn.functional.elu(x),
    "celu": lambda m, x: m.nn.functional.celu(x), "softplus": lambda m, x:
    m.nn.functional.softplus(x, threshold=0.0),
    "hardshrink": lambda m, x: m.nn.functional.hardshrink(x, 1.0),
    "softshrink": lambda m, x: m.nn.functional.softshrink(x, 1.0),
    "hardsigmoid": lambda m, x: m.nn.functional.hardsigmoid(x * 3.0),
    "hardswish": lambda m, x: m.nn.functional.hardswish(x * 3.0),
    "threshold": lambda m, x: m.nn.functional.threshold(x, 0.0, -5.0),
    "l1_loss-tie": lambda m, x: m.nn.functional.l1_loss(x, m.zeros_like(x)),
    "smooth_l1-tie": lambda m, x: m.nn.functional.smooth_l1_loss(x, m.zeros_like(x)),
    "huber-edge": lambda m, x: m.nn.functional.huber_loss(x, m.zeros_like(x), delta=1.0),
    "cdist-same": lambda m, x: m.cdist(x.reshape(5, 1), x.detach().reshape(5, 1)),
    "pdist": lambda m, x: m.pdist(m.stack([x, x]).t().contiguous()),
    "std-const": lambda m, x: m.std(x * 0.0), "var-single": lambda m, x: m.var(x[:1], 0),
    "prod-zero": lambda m, x: m.prod(x), "prod-dim-zero": lambda m, x:
    m.prod(m.stack([x, x + 1.0]), 1), "cumprod-zero": lambda m, x: m.cumprod(x, 0),
    "logsumexp-neg-inf": lambda m, x: m.logsumexp(m.log(x * 0.0), 0),
    "sigmoid-big": lambda m, x: m.sigmoid(x * 1000.0),
    "tanh-big": lambda m, x: m.tanh(x * 1000.0),
    "erfinv-edges": lambda m, x: m.erfinv(x),
    "asin-edges": lambda m, x: m.asin(x), "acosh-edge": lambda m, x: m.acosh(x),
    "div-by-zero": lambda m, x: m.div(m.ones_like(x), x),
    "nan_to_num": lambda m, x: m.nan_to_num(m.log(x)),
    "where-nan-branch": lambda m, x: m.where(x > 0, m.sqrt(x), m.zeros_like(x)),
    "where-log-branch": lambda m, x: m.where(x > 0, m.log(x), x),
    "where-inf-other": lambda m, x: m.where(x >= 0, x, 1.0 / x),
    "masked_fill-nan": lambda m, x: m.log(x).masked_fill(x <= 0, 0.0),
}.items():
    for dtype in FLOAT_DTYPES:
        add(f"grad-{name}-{np.dtype(dtype).name}", fn, _arg(KINKS, dtype, grad=True))

# Gradient routing on ties: max(dim) -> the index, amax/max() -> split evenly.
TIE_GRAD = np.array([[2.0, 1.0, 2.0, 2.0], [0.0, 0.0, -1.0, 0.0], [5.0, 5.0, 5.0, 5.0]])
for name, fn in {
    "max": lambda m, x: m.max(x), "min": lambda m, x: m.min(x),
    "max-dim": lambda m, x: m.max(x, 1), "min-dim0": lambda m, x: m.min(x, 0),
    "max-dim-keep": lambda m, x: m.max(x, -1, keepdim=True),
    "amax": lambda m, x: m.amax(x, 1), "amin": lambda m, x: m.amin(x, 0),
    "amax-all": lambda m, x: m.amax(x), "amax-tuple": lambda m, x: m.amax(x, (0, 1)),
    "amax-keep": lambda m, x: m.amax(x, -1, keepdim=True),
    "median": lambda m, x: m.median(x), "median-dim": lambda m, x: m.median(x, 1),
    "nanmedian-dim": lambda m, x: m.nanmedian(x, 0),
    "kthvalue": lambda m, x: m.kthvalue(x, 2, 1), "kthvalue-dim0": lambda m, x:
    m.kthvalue(x, 3, 0), "topk": lambda m, x: m.topk(x, 2, 1),
    "topk-smallest": lambda m, x: m.topk(x, 2, 0, largest=False),
    "sort": lambda m, x: m.sort(x, 1), "sort-desc": lambda m, x: m.sort(x, 1, descending=True),
    "sort-stable": lambda m, x: m.sort(x, dim=0, stable=True),
    "mode": lambda m, x: m.mode(x, 1), "cummax": lambda m, x: m.cummax(x, 1),
    "cummin": lambda m, x: m.cummin(x, 0), "quantile": lambda m, x: m.quantile(x, 0.5, 1),
    "norm-inf-ties": lambda m, x: m.linalg.vector_norm(x, float("inf"), 1),
    "norm-neg-inf-ties": lambda m, x: m.linalg.vector_norm(x, -float("inf"), 1),
    "F.max_pool1d-ties": lambda m, x: m.nn.functional.max_pool1d(x.unsqueeze(0), 2),
    "F.adaptive_max_pool1d": lambda m, x: m.nn.functional.adaptive_max_pool1d(
        x.unsqueeze(0), 1),
    "logsumexp-ties": lambda m, x: m.logsumexp(x, 1),
    "max-nan": lambda m, x: m.max(m.where(x == 5.0, m.full_like(x, NAN), x), 1),
    "amax-nan": lambda m, x: m.amax(m.where(x == 5.0, m.full_like(x, NAN), x), 1),
}.items():
    for dtype in FLOAT_DTYPES:
        add(f"tiegrad-{name}-{np.dtype(dtype).name}", fn, _arg(TIE_GRAD, dtype, grad=True))

# Integer division by zero and the errors PyTorch raises for it.
add("int-div-zero-floor", lambda m, a: m.div(a, 0, rounding_mode="floor"),
    _arg(np.array([1, 2])))
add("int-floor_divide-zero-tensor", lambda m, a, b: m.floor_divide(a, b),
    _arg(np.array([1, 2])), _arg(np.array([0, 1])))
add("int-remainder-zero-tensor", lambda m, a, b: m.remainder(a, b),
    _arg(np.array([1, 2])), _arg(np.array([0, 1])))
add("int-fmod-zero-tensor", lambda m, a, b: m.fmod(a, b),
    _arg(np.array([1, 2])), _arg(np.array([0, 1])))
add("int-truediv-zero", lambda m, a, b: a / b, _arg(np.array([1, 0, -1])),
    _arg(np.array([0, 0, 0])))
add("int-floordiv-operator-zero", lambda m, a, b: a // b, _arg(np.array([1, 2])),
    _arg(np.array([0, 1])))
add("int-mod-operator-zero", lambda m, a, b: a % b, _arg(np.array([1, 2])),
    _arg(np.array([0, 1])))

# -0.0 against 0.0: PyTorch's relu, clamp with number bounds and hardtanh keep x on ties, so
# relu(-0.0) is -0.0. (Its maximum/minimum of two tensors return the second operand in their
# vectorised body and the first in the tail: no rule to compare, so they are not listed.)
NEG_ZERO = np.array([-0.0, 0.0, -0.0, 0.0, 1.0, -1.0])
for name, fn in {
    "relu": lambda m, x: m.relu(x), "F.relu": lambda m, x: m.nn.functional.relu(x),
    "relu_": lambda m, x: m.relu_(x.clone()), "clamp-min": lambda m, x: m.clamp(x, min=0.0),
    "clamp-max": lambda m, x: m.clamp(x, max=0.0), "clamp-both": lambda m, x: m.clamp(x, 0, 0),
    "clip": lambda m, x: m.clip(x, -0.0, 0.0), "hardtanh": lambda m, x:
    m.nn.functional.hardtanh(x, 0.0, 1.0), "hardtanh-neg-bound": lambda m, x:
    m.nn.functional.hardtanh(x, -1.0, -0.0), "relu6": lambda m, x: m.nn.functional.relu6(x),
    "F.threshold": lambda m, x: m.nn.functional.threshold(x, -1.0, 5.0),
}.items():
    for dtype in FLOAT_DTYPES:
        for sign, array in (("neg", NEG_ZERO), ("pos", -NEG_ZERO)):
            add(f"negzero-{name}-{sign}-{np.dtype(dtype).name}",
                lambda m, x, fn=fn: _signbit(m, fn(m, x)), _arg(array, dtype))

# Backward errors: PyTorch records these but defines no derivative.
add("remainder-number-first-backward",
    lambda m, b: m.autograd.grad(m.remainder(7.0, b).sum(), b), _arg(np.array([3.0, 2.0])))
add("rmod-backward", lambda m, b: m.autograd.grad((7 % b).sum(), b), _arg(np.array([3.0, 2.0])))
add("remainder-tensors-backward",
    lambda m, a, b: m.autograd.grad(m.remainder(a, b).sum(), (a, b)),
    _arg(np.array([7.0, -7.0])), _arg(np.array([3.0, 2.0])))

# pow at -0.0: PyTorch computes c = -0.5 as rsqrt, so (-0.0) ** -0.5 is -inf (C's pow: inf).
POW_ZERO = np.array([-0.0, 0.0, 4.0, -1.0, INF])
for exponent in (-0.5, 0.5, -1.0, -2.0, 3.0, 1.5):
    for dtype in FLOAT_DTYPES:
        add(f"pow-zero-{exponent}-{np.dtype(dtype).name}", lambda m, x, c=exponent: x ** c,
            _arg(POW_ZERO, dtype))
        add(f"pow-zero-signbit-{exponent}-{np.dtype(dtype).name}",
            lambda m, x, c=exponent: _signbit(m, x ** c), _arg(POW_ZERO, dtype))

# Integer and bool keys: stable orders of equal keys, selection with ties, NaN-free indices.
INT_KEYS = np.array([[3, 1, 3, 2, 1, 3], [0, 0, 0, 0, 0, 0], [5, -1, 5, -1, 2, 2]])
for dtype in (np.int8, np.uint8, np.int32, np.int64, np.bool_):
    keys = INT_KEYS.astype(dtype) if dtype is not np.bool_ else INT_KEYS > 1
    name = np.dtype(dtype).name
    for dim in (0, -1):
        for desc in (False, True):
            add(f"sort-int-stable-{name}-dim{dim}-desc{int(desc)}",
                lambda m, x, d=dim, desc=desc: m.sort(x, dim=d, descending=desc, stable=True),
                _arg(keys))
            add(f"argsort-int-stable-{name}-dim{dim}-desc{int(desc)}",
                lambda m, x, d=dim, desc=desc: m.argsort(x, dim=d, descending=desc,
                                                         stable=True), _arg(keys))
        add(f"topk-int-values-{name}-dim{dim}",
            lambda m, x, d=dim: m.topk(x, 2, d).values, _arg(keys))
        add(f"cummax-int-{name}-dim{dim}", lambda m, x, d=dim: m.cummax(x, d), _arg(keys))
        add(f"cummin-int-{name}-dim{dim}", lambda m, x, d=dim: m.cummin(x, d), _arg(keys))
        add(f"unique_consecutive-int-{name}-dim{dim}", lambda m, x, d=dim: m.unique_consecutive(
            x, dim=d, return_inverse=True, return_counts=True), _arg(keys))
    add(f"unique-int-{name}", lambda m, x: m.unique(x, return_inverse=True,
                                                    return_counts=True), _arg(keys))
    add(f"searchsorted-int-sorter-{name}",
        lambda m, s, v, o: m.searchsorted(s, v, side="right", sorter=o),
        _arg(np.array([3, 1, 2, 2]).astype(dtype)), _arg(np.array([2, 0, 1]).astype(dtype)),
        _arg(np.array([1, 2, 3, 0])))

# The same NaN and tie rows through a transposed view (strided fast paths differ).
for op in ("max", "min", "argmax", "argmin", "amax", "amin", "median", "nanmedian", "logsumexp",
           "nansum", "nanmean", "sort", "argsort", "cummax", "cummin", "logcumsumexp", "cumsum",
           "softmax", "log_softmax"):
    for input_name, array in (("nan", NAN_2D), ("ties", TIES_2D), ("inf", INF_ROWS)):
        for dim in (0, 1):
            add(f"{op}-transposed-{input_name}-dim{dim}",
                lambda m, x, op=op, d=dim: getattr(m, op)(x.t(), d), _arg(array))
