"""Dtype sweep tables and comparator for tests/parity/test_s10_D6_dtypes.py (helper D6, s10).

``outcome(lib, fn)`` runs ``fn(lib)`` and records what a user sees (exception class, or each
output's dtype name, shape and values); ``differ`` compares two outcomes.  Tensors are built from
one NumPy array per dtype so both libraries see the same values (bfloat16 goes through float32).
Imported only after ``pytest.importorskip("torch")``.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

import deltagrad as dg

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
         "float64", "complex64", "complex128"]
BASE_A = np.array([-3.0, -1.0, 0.0, 2.0, 5.0, 7.0])
BASE_B = np.array([2.0, -3.0, 1.0, 3.0, -2.0, 4.0])  # no zero: integer division is defined


def values(name: str, base: np.ndarray) -> np.ndarray:
    """``base`` as dtype ``name`` (float dtypes get a fraction, complex an imaginary part)."""
    if name == "bool":
        return base != 0
    if name.startswith("complex"):
        return (base * 0.75 + 0.25j * base[::-1]).astype(name)
    if name.startswith(("float", "bfloat")):
        return (base * 0.75).astype("float32" if name == "bfloat16" else name)
    return base.astype(np.int64).astype(name)  # uint8 wraps -3 to 253 as PyTorch would


def make(lib, name: str, base: np.ndarray = BASE_A, shape=None):
    """A tensor of dtype ``name`` in ``lib`` (torch or dg) holding ``values(name, base)``."""
    array = values(name, base)
    if shape is not None:
        array = array.reshape(shape)
    if lib is torch:
        t = torch.from_numpy(array.copy())
    else:
        t = dg.tensor(array.copy(), dtype=array.dtype)
    return t.to(lib.bfloat16) if name == "bfloat16" else t


def _numpy(t) -> np.ndarray:
    name = str(t.dtype).split(".")[-1]
    if name == "bfloat16":
        t = t.float()
    return np.asarray(t.detach().numpy())


def _describe(result):
    if isinstance(result, (tuple, list)):
        return tuple(_describe(r) for r in result)
    if isinstance(result, (torch.Tensor, dg.Tensor)):
        return (str(result.dtype).split(".")[-1], tuple(result.shape), _numpy(result))
    return ("py", type(result).__name__, result)


def outcome(lib, fn):
    """What ``fn(lib)`` gives: ("raise", exception) or ("ok", description)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ("ok", _describe(fn(lib)))
        except Exception as error:  # noqa: BLE001 - the exception is the outcome compared
            return ("raise", error)


RTOL = {"float16": 1e-3, "bfloat16": 8e-3, "float32": 2e-6, "float64": 1e-12,
         "complex64": 2e-6, "complex128": 1e-12}


def _values_differ(t_desc, d_desc, floor_rtol: float = 0.0) -> str | None:
    if isinstance(t_desc, tuple) and t_desc and isinstance(t_desc[0], tuple):
        if len(t_desc) != len(d_desc):
            return f"{len(t_desc)} outputs vs {len(d_desc)}"
        for t, d in zip(t_desc, d_desc):
            message = _values_differ(t, d, floor_rtol)
            if message:
                return message
        return None
    if t_desc[0] == "py":
        if d_desc[0] != "py" or t_desc[2] != d_desc[2]:
            return f"python value {t_desc[2]!r} vs {d_desc[2:]!r}"
        return None
    (t_dtype, t_shape, t_val), (d_dtype, d_shape, d_val) = t_desc, d_desc
    if t_dtype != d_dtype:
        return f"dtype torch {t_dtype} vs dg {d_dtype}"
    if t_shape != d_shape:
        return f"shape torch {t_shape} vs dg {d_shape}"
    rtol = RTOL.get(t_dtype)
    if rtol is not None:
        rtol = max(rtol, floor_rtol)
    if rtol is None:
        if not np.array_equal(t_val, d_val):
            return f"values torch {t_val.tolist()} vs dg {d_val.tolist()}"
        return None
    if not np.allclose(d_val, t_val, rtol=rtol, atol=rtol * 1e-3, equal_nan=True):
        return f"values torch {t_val.tolist()} vs dg {d_val.tolist()}"
    return None


def differ(fn, floor_rtol: float = 0.0) -> str | None:
    """None when ``fn`` agrees between PyTorch and deltagrad, else a one-line difference.
    ``floor_rtol``: the least relative tolerance (a float32 computation cast into a float64
    ``out=`` keeps float32's rounding)."""
    t_kind, t_res = outcome(torch, fn)
    d_kind, d_res = outcome(dg, fn)
    if t_kind == "raise":
        if d_kind != "raise":
            return f"torch raised {type(t_res).__name__}: {str(t_res)[:80]}; dg returned"
        if isinstance(d_res, type(t_res)):
            return None
        return (f"torch raised {type(t_res).__name__}: {str(t_res)[:60]}; dg raised "
                f"{type(d_res).__name__}: {str(d_res)[:60]}")
    if d_kind == "raise":
        return f"dg raised {type(d_res).__name__}: {str(d_res)[:100]}; torch returned"
    return _values_differ(t_res, d_res, floor_rtol)


def sweep(cases) -> list[str]:
    """``cases``: (label, fn) pairs; the labelled differences."""
    found = []
    for label, fn in cases:
        message = differ(fn)
        if message:
            found.append(f"{label}: {message}")
    return found


# ==============================================================================================
# The op tables: ``fn(m, a, b)`` with ``m`` the library (binary), ``fn(m, a)`` (unary and
# reductions), ``fn(a, b)`` (in-place methods), ``fn(m)`` (creation and edge cases).

def _real_positive(m, a):
    return (a.real if a.is_complex() else a) > 0


BINARY = {
    "add": lambda m, a, b: m.add(a, b), "sub": lambda m, a, b: m.sub(a, b),
    "mul": lambda m, a, b: m.mul(a, b), "div": lambda m, a, b: m.div(a, b),
    "div_trunc": lambda m, a, b: m.div(a, b, rounding_mode="trunc"),
    "div_floor": lambda m, a, b: m.div(a, b, rounding_mode="floor"),
    "true_divide": lambda m, a, b: m.true_divide(a, b),
    "floor_divide": lambda m, a, b: m.floor_divide(a, b),
    "remainder": lambda m, a, b: m.remainder(a, b), "fmod": lambda m, a, b: m.fmod(a, b),
    "pow": lambda m, a, b: m.pow(a, b), "float_power": lambda m, a, b: m.float_power(a, b),
    "atan2": lambda m, a, b: m.atan2(a, b), "hypot": lambda m, a, b: m.hypot(a, b),
    "maximum": lambda m, a, b: m.maximum(a, b), "minimum": lambda m, a, b: m.minimum(a, b),
    "fmax": lambda m, a, b: m.fmax(a, b), "fmin": lambda m, a, b: m.fmin(a, b),
    "bitwise_and": lambda m, a, b: m.bitwise_and(a, b),
    "bitwise_or": lambda m, a, b: m.bitwise_or(a, b),
    "bitwise_xor": lambda m, a, b: m.bitwise_xor(a, b),
    "left_shift": lambda m, a, b: m.bitwise_left_shift(a, b),
    "right_shift": lambda m, a, b: m.bitwise_right_shift(a, b),
    "logical_and": lambda m, a, b: m.logical_and(a, b),
    "logical_or": lambda m, a, b: m.logical_or(a, b),
    "logical_xor": lambda m, a, b: m.logical_xor(a, b),
    "eq": lambda m, a, b: m.eq(a, b), "ne": lambda m, a, b: m.ne(a, b),
    "lt": lambda m, a, b: m.lt(a, b), "le": lambda m, a, b: m.le(a, b),
    "gt": lambda m, a, b: m.gt(a, b), "ge": lambda m, a, b: m.ge(a, b),
    "where": lambda m, a, b: m.where(_real_positive(m, a), a, b),
    "lerp": lambda m, a, b: m.lerp(a, b, 0.5),
    "addcmul": lambda m, a, b: m.addcmul(a, a, b), "addcdiv": lambda m, a, b: m.addcdiv(a, a, b),
    "copysign": lambda m, a, b: m.copysign(a, b), "nextafter": lambda m, a, b: m.nextafter(a, b),
    "ldexp": lambda m, a, b: m.ldexp(a, b), "xlogy": lambda m, a, b: m.xlogy(a, b),
    "gcd": lambda m, a, b: m.gcd(a, b), "heaviside": lambda m, a, b: m.heaviside(a, b),
    "logaddexp": lambda m, a, b: m.logaddexp(a, b), "rsub": lambda m, a, b: m.rsub(a, b),
    "op_sub": lambda m, a, b: a - b, "op_truediv": lambda m, a, b: a / b,
    "op_floordiv": lambda m, a, b: a // b, "op_mod": lambda m, a, b: a % b,
    "op_pow": lambda m, a, b: a ** b, "op_and": lambda m, a, b: a & b,
    "op_lshift": lambda m, a, b: a << b, "op_eq": lambda m, a, b: a == b,
    "op_lt": lambda m, a, b: a < b,
}

SCALARS = [True, 3, -2, 2.5, 1.5 + 0.5j]
# Ops whose PyTorch signature takes no number first (scalar-tensor forms skipped).
TENSOR_FIRST = {"where", "lerp", "addcmul", "addcdiv", "atan2", "hypot", "logaddexp",
                "heaviside", "nextafter", "ldexp", "gcd", "maximum", "minimum", "fmax", "fmin",
                "logical_and", "logical_or", "logical_xor", "rsub"}

INPLACE = {
    "add_": lambda a, b: a.add_(b), "sub_": lambda a, b: a.sub_(b),
    "mul_": lambda a, b: a.mul_(b), "div_": lambda a, b: a.div_(b),
    "div_floor_": lambda a, b: a.div_(b, rounding_mode="floor"),
    "remainder_": lambda a, b: a.remainder_(b), "fmod_": lambda a, b: a.fmod_(b),
    "pow_": lambda a, b: a.pow_(b), "iadd": lambda a, b: a.__iadd__(b),
    "itruediv": lambda a, b: a.__itruediv__(b), "ifloordiv": lambda a, b: a.__ifloordiv__(b),
    "iand": lambda a, b: a.__iand__(b), "clamp_": lambda a, b: a.clamp_(min=b),
    "lerp_": lambda a, b: a.lerp_(b, 0.5), "atan2_": lambda a, b: a.atan2_(b),
    "copy_": lambda a, b: a.copy_(b), "eq_": lambda a, b: a.eq_(b), "lt_": lambda a, b: a.lt_(b),
    "logical_and_": lambda a, b: a.logical_and_(b), "addcmul_": lambda a, b: a.addcmul_(b, b),
    "hypot_": lambda a, b: a.hypot_(b), "xlogy_": lambda a, b: a.xlogy_(b),
}
OUT_OPS = ["add", "mul", "div", "eq", "maximum", "pow", "remainder", "bitwise_and", "atan2"]
OUT_DTYPES = ["bool", "uint8", "int64", "float16", "float32", "float64", "complex128"]

UNARY = ("abs neg sign sgn sqrt rsqrt exp exp2 expm1 log log2 log10 log1p sin cos tan asin acos "
         "atan sinh cosh tanh asinh acosh atanh sigmoid erf erfc erfinv floor ceil trunc round "
         "frac reciprocal square positive logical_not bitwise_not isnan isinf isfinite isreal "
         "signbit nan_to_num relu angle deg2rad rad2deg lgamma digamma i0 sinc logit fix").split()
NO_INPLACE = {"isnan", "isinf", "isfinite", "isreal", "signbit", "angle", "positive", "relu"}

REDUCTIONS = {
    "sum": lambda m, a: m.sum(a), "sum_dim": lambda m, a: a.sum(0, keepdim=True),
    "prod": lambda m, a: m.prod(a), "mean": lambda m, a: m.mean(a),
    "cumsum": lambda m, a: m.cumsum(a, 0), "cumprod": lambda m, a: m.cumprod(a, 0),
    "argmax": lambda m, a: m.argmax(a), "argmin": lambda m, a: m.argmin(a),
    "max": lambda m, a: m.max(a), "amax": lambda m, a: m.amax(a, 0),
    "max_dim": lambda m, a: m.max(a, 0), "min": lambda m, a: a.min(),
    "std": lambda m, a: m.std(a), "var": lambda m, a: m.var(a, 0, correction=0),
    "std_mean": lambda m, a: m.std_mean(a), "norm": lambda m, a: m.norm(a),
    "vector_norm": lambda m, a: m.linalg.vector_norm(a), "any": lambda m, a: m.any(a),
    "all": lambda m, a: m.all(a), "any_dim": lambda m, a: m.any(a, 0),
    "all_dim": lambda m, a: a.all(0), "nansum": lambda m, a: m.nansum(a),
    "nanmean": lambda m, a: m.nanmean(a), "logsumexp": lambda m, a: m.logsumexp(a, 0),
    "median": lambda m, a: m.median(a), "count_nonzero": lambda m, a: m.count_nonzero(a),
    "cummax": lambda m, a: m.cummax(a, 0), "aminmax": lambda m, a: m.aminmax(a),
    "sort": lambda m, a: m.sort(a), "topk": lambda m, a: m.topk(a, 2),
    "unique": lambda m, a: m.unique(a), "mode": lambda m, a: m.mode(a),
    "trace": lambda m, a: m.trace(a.reshape(2, 3)), "dot": lambda m, a: m.dot(a, a),
    "matmul": lambda m, a: m.matmul(a.reshape(2, 3), a.reshape(3, 2)),
    "softmax": lambda m, a: m.softmax(a, 0), "diff": lambda m, a: m.diff(a),
    "dist": lambda m, a: m.dist(a, a * 0), "bincount": lambda m, a: m.bincount(a),
    "sum_f64": lambda m, a: m.sum(a, dtype=m.float64),
    "sum_i8": lambda m, a: m.sum(a, dtype=m.int8),
    "prod_f32": lambda m, a: m.prod(a, dtype=m.float32),
    "mean_f64": lambda m, a: m.mean(a, dtype=m.float64),
    "cumsum_i32": lambda m, a: m.cumsum(a, 0, dtype=m.int32),
    "mean_f16": lambda m, a: a.mean(dtype=m.float16),
    "norm_f64": lambda m, a: m.linalg.vector_norm(a, dtype=m.float64),
    "softmax_f64": lambda m, a: m.softmax(a, 0, dtype=m.float64),
}


# Creation with dtype inference, integer wrap-around, division by zero, half-precision rounding.
EDGES = {
    "t_bool_int": lambda m: m.tensor([True, 1]),
    "t_int_float": lambda m: m.tensor([1, 2.]),
    "t_bool_float": lambda m: m.tensor([True, 2.5]),
    "t_cplx": lambda m: m.tensor([1, 2j]),
    "t_int_big": lambda m: m.tensor([2**40]),
    "t_empty": lambda m: m.tensor([]),
    "t_nested_empty": lambda m: m.tensor([[]]),
    "t_scalar_bool": lambda m: m.tensor(True),
    "t_scalar_f": lambda m: m.tensor(1.5),
    "t_mixed_t": lambda m: m.tensor([m.tensor(1), 2.5]),
    "arange_i": lambda m: m.arange(5),
    "arange_f": lambda m: m.arange(0, 1, 0.25),
    "arange_if": lambda m: m.arange(0, 5, 2.0),
    "arange_fi": lambda m: m.arange(0.0, 5),
    "arange_neg": lambda m: m.arange(5, 0, -1.5),
    "arange_dt": lambda m: m.arange(5, dtype=m.float16),
    "arange_dti": lambda m: m.arange(0, 2.5, 0.5, dtype=m.int32),
    "arange_t": lambda m: m.arange(m.tensor(3)),
    "arange_tf": lambda m: m.arange(m.tensor(3.0)),
    "full_b": lambda m: m.full((2,), True),
    "full_i": lambda m: m.full((2,), 3),
    "full_f": lambda m: m.full((2,), 3.5),
    "full_c": lambda m: m.full((2,), 1j),
    "full_dt": lambda m: m.full((2,), 3.7, dtype=m.int32),
    "full_t": lambda m: m.full((2,), m.tensor(3)),
    "full_like": lambda m: m.full_like(m.tensor([1, 2]), 2.7),
    "full_like_b": lambda m: m.full_like(m.tensor([1., 2]), True),
    "linspace": lambda m: m.linspace(0, 10, 4),
    "linspace_i": lambda m: m.linspace(0, 10, 4, dtype=m.int64),
    "linspace_i2": lambda m: m.linspace(-3, 10, 7, dtype=m.int32),
    "linspace_u8": lambda m: m.linspace(0, 255, 7, dtype=m.uint8),
    "logspace_i": lambda m: m.logspace(0, 3, 4, dtype=m.int64),
    "logspace_i2": lambda m: m.logspace(0, 2, 5, dtype=m.int64),
    "logspace_b": lambda m: m.logspace(0, 2, 5, base=2, dtype=m.int32),
    "linspace_c": lambda m: m.linspace(0, 1j, 3),
    "zeros_like_dt": lambda m: m.zeros_like(m.tensor([1, 2]), dtype=m.float16),
    "ones_like": lambda m: m.ones_like(m.tensor([True])),
    "rand_like_i": lambda m: m.rand_like(m.tensor([1, 2])),
    "empty_like": lambda m: str(m.empty_like(m.tensor([1, 2])).dtype).split(".")[-1],
    "eye_dt": lambda m: m.eye(2, dtype=m.bool),
    "zeros_b": lambda m: m.zeros(2, dtype=m.bool),
    "as_tensor": lambda m: m.as_tensor([1, 2.5], dtype=m.int32),
    "t_dt_trunc": lambda m: m.tensor([1.7, -1.7], dtype=m.int64),
    "t_dt_u8": lambda m: m.tensor([1.7, 200.9], dtype=m.uint8),
    "t_neg_u8": lambda m: m.tensor([-1], dtype=m.uint8),
    "t_300_i8": lambda m: m.tensor([300], dtype=m.int8),
    "t_f16": lambda m: m.tensor([0.1, 1e5, 65519.], dtype=m.float16),
    "t_bf16": lambda m: m.tensor([0.1, 1e5, 3.14159, 1e39], dtype=m.bfloat16),
    "t_bf16_2": lambda m: m.tensor([1.00390625, 1.01171875, 257.], dtype=m.bfloat16),
    "f32_to_f16": lambda m: m.tensor([65520.0, 1e-8, 2049.0]).half(),
    "f32_to_bf16": lambda m: m.tensor([1.00390625, 1.01171875, 3e38, 1e-40]).bfloat16(),
    "f_to_i": lambda m: m.tensor([1.9, -1.9]).long(),
    "f_to_u8": lambda m: m.tensor([3.9, 250.1]).to(m.uint8),
    "i_to_b": lambda m: m.tensor([0, 2]).bool(),
    "c_to_f": lambda m: m.tensor([1+2j]).float(),
    "i8_wrap": lambda m: m.tensor([100, -100], dtype=m.int8) + m.tensor([100, -100], dtype=m.int8),
    "u8_wrap": lambda m: m.tensor([0, 250], dtype=m.uint8) - m.tensor([1, 10], dtype=m.uint8),
    "u8_mul": lambda m: m.tensor([16, 200], dtype=m.uint8) * 16,
    "i8_neg": lambda m: -m.tensor([-128], dtype=m.int8),
    "i8_abs": lambda m: m.tensor([-128], dtype=m.int8).abs(),
    "u8_neg": lambda m: -m.tensor([1, 2], dtype=m.uint8),
    "i32_ovf": lambda m: m.tensor([2**31 - 1], dtype=m.int32) + 1,
    "i64_ovf": lambda m: m.tensor([2**63 - 1]) + 1,
    "u8_sum": lambda m: m.tensor([200, 200], dtype=m.uint8).sum(),
    "i8_cumsum": lambda m: m.tensor([100, 100], dtype=m.int8).cumsum(0),
    "u8_scalar_big": lambda m: m.tensor([1], dtype=m.uint8) + 300,
    "i8_scalar_ovf": lambda m: m.tensor([1], dtype=m.int8) * 1000,
    "idiv0": lambda m: m.tensor([1, 2]) // m.tensor([0, 1]),
    "idiv0_s": lambda m: m.tensor([1, 2]) // 0,
    "irem0": lambda m: m.tensor([1, 2]) % m.tensor([0, 1]),
    "irem0_s": lambda m: m.tensor([1, 2]) % 0,
    "idiv_trunc0": lambda m: m.div(m.tensor([1]), 0, rounding_mode="trunc"),
    "fmod0": lambda m: m.fmod(m.tensor([1]), 0),
    "u8div0": lambda m: m.tensor([1], dtype=m.uint8) // m.tensor([0], dtype=m.uint8),
    "truediv0": lambda m: m.tensor([1, 0]) / 0,
    "f16_add": lambda m: m.tensor([2048.], dtype=m.float16) + 1,
    "f16_sum": lambda m: m.full((3000,), 1., dtype=m.float16).sum(),
    "bf16_add": lambda m: m.tensor([256.], dtype=m.bfloat16) + 1,
    "bf16_mul": lambda m: m.tensor([1.1], dtype=m.bfloat16) * m.tensor([1.3], dtype=m.bfloat16),
    "f16_mean": lambda m: m.full((5000,), 0.1, dtype=m.float16).mean(),
    "f16_div": lambda m: m.tensor([1.], dtype=m.float16) / 3,
    "bf16_exp": lambda m: m.tensor([1.1], dtype=m.bfloat16).exp(),
    "f16_cumsum": lambda m: m.full((3000,), 1., dtype=m.float16).cumsum(0)[-1],
    "f16_prod": lambda m: m.full((20,), 1.5, dtype=m.float16).prod(),
    "i_pow_neg": lambda m: m.tensor([2]) ** -1,
    "i_pow_neg_t": lambda m: m.pow(m.tensor([2]), m.tensor([-1])),
    "i_pow_ovf": lambda m: m.tensor([3], dtype=m.int8) ** 5,
    "bool_sub": lambda m: m.tensor([True]) - m.tensor([True]),
    "bool_neg": lambda m: -m.tensor([True]),
    "bool_add": lambda m: m.tensor([True]) + m.tensor([True]),
    "bool_mul": lambda m: m.tensor([True]) * True,
    "bool_div": lambda m: m.tensor([True]) / True,
    "bool_pow": lambda m: m.tensor([True]) ** 2,
    "i_sqrt": lambda m: m.tensor([4]).sqrt(),
    "b_exp": lambda m: m.tensor([True]).exp(),
    "i_floor": lambda m: m.tensor([4]).floor(),
    "i_round": lambda m: m.tensor([15]).round(decimals=-1),
    "u8_abs": lambda m: m.tensor([200], dtype=m.uint8).abs(),
    "b_abs": lambda m: m.tensor([True]).abs(),
    "u8_sign": lambda m: m.tensor([0, 200], dtype=m.uint8).sign(),
    "i_mean": lambda m: m.tensor([1, 2]).mean(),
    "i_std": lambda m: m.tensor([1, 2]).std(),
    "i_var": lambda m: m.tensor([1, 2]).var(),
    "u8_any": lambda m: m.tensor([0, 3], dtype=m.uint8).any(),
    "u8_all_dim": lambda m: m.tensor([[0, 3]], dtype=m.uint8).all(1),
    "i_norm": lambda m: m.tensor([3, 4]).norm(),
    "i_prod": lambda m: m.tensor([3, 4], dtype=m.int8).prod(),
    "b_prod": lambda m: m.tensor([True, True]).prod(),
    "b_cumsum": lambda m: m.tensor([True, True]).cumsum(0),
    "i8_cumprod": lambda m: m.tensor([100, 3], dtype=m.int8).cumprod(0),
    "round_f16": lambda m: m.tensor([2.5, 0.125], dtype=m.float16).round(decimals=2),
    "round_half": lambda m: m.tensor([0.5, 1.5, 2.5, -0.5]).round(),
    "round_dec2": lambda m: m.tensor([1.005, 2.675, 0.125]).round(decimals=2),
    "round_i_dec": lambda m: m.tensor([15, 25], dtype=m.int32).round(decimals=1),
    "int_clamp_f": lambda m: m.clamp(m.tensor([1, 5]), 1.5, 3.5),
    "int_clamp_t": lambda m: m.clamp(m.tensor([1, 5]), m.tensor(1.5)),
    "b_clamp": lambda m: m.clamp(m.tensor([True, False]), 0, 1),
    "sum_b": lambda m: m.tensor([True, True]).sum(),
    "sum_i8": lambda m: m.tensor([100, 100], dtype=m.int8).sum(),
    "max_b": lambda m: m.tensor([True, False]).max(),
    "argmax_b": lambda m: m.tensor([False, True]).argmax(),
    "mean_b": lambda m: m.tensor([True]).mean(),
    "float_int_scalar": lambda m: m.tensor([1, 2], dtype=m.int16) * 2.5,
    "int_t_float0d": lambda m: m.tensor([1, 2], dtype=m.int16) * m.tensor(2.5, dtype=m.float64),
    "f16_t_f64_0d": lambda m: m.tensor([1, 2], dtype=m.float16) * m.tensor(2.5, dtype=m.float64),
    "b_plus_float": lambda m: m.tensor([True]) + 1.5,
}
