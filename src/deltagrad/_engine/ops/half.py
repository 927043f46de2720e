"""float16 reductions and scans computed in float32, as PyTorch's CPU kernels accumulate, and
float16 tensors met by a Python number in ``*`` and ``/``.

PyTorch sums, scans, normalizes and takes moments of float16 tensors in float32 and rounds the
result once to float16; NumPy's float16 loops round after every step (errors of several percent
on small log-probabilities, sign flips in cancelled gradients). The ops call these helpers from
a guarded branch (``x.dtype is HALF``) so that the float32 / float64 paths stay as they are.
``half_number`` / ``half_binary`` are ``tensor._lift``'s and ``tensor._binary``'s for a number
float16 cannot hold (they find the tensor module at call time: it is a layer above).
"""

from __future__ import annotations

import sys

import numpy as np

from .registry import ARRAY

HALF = np.dtype(np.float16)
_SINGLE = np.dtype(np.float32)
_ENGINE = __package__.rpartition(".")[0]  # (deltagrad._engine)


def _is_number(x) -> bool:
    """Whether tensor ``x`` is a Python number lifted as a marked 0-d tensor (bf16.number,
    half_number)."""
    return x.__dict__.get("_number", False) if hasattr(x, "__dict__") else False


_IGNORE_ALL: list = []


def _errors():
    # elementwise_math's ERR_STATE (it imports this module: looked up once, at call time)
    module = sys.modules[__package__ + ".elementwise_math"]
    if not _IGNORE_ALL:
        _IGNORE_ALL.append(module.IGNORE_ALL)
    return module.ERR_STATE


def half_forward(forward, x, **kwargs):
    """``forward`` on ``x`` (float16) widened to float32, the result rounded to float16."""
    with np.errstate(over="ignore"):  # (beyond float16's range: inf, as PyTorch gives)
        return np.asarray(forward(x.astype(_SINGLE), **kwargs)).astype(HALF)


def half_vjp(vjp, F, g, out, x, **kwargs):
    """``vjp`` in float32 on the first-order (array) path, each gradient rounded to float16;
    None when the rule runs on Tensors (double backward keeps the float16 rule)."""
    if F is not ARRAY or type(g) is not np.ndarray:
        return None
    grads = vjp(F, g.astype(_SINGLE), np.asarray(out).astype(_SINGLE), x.astype(_SINGLE),
                **kwargs)
    return tuple(None if r is None else np.asarray(r).astype(HALF) for r in grads)


def half_log_softmax(x, dim):
    """log_softmax of float16 ``x`` with PyTorch's roundings; None for inputs the general rule
    takes (0-d, empty, a non-finite maximum).

    Along a last (innermost) dim PyTorch rounds the float32 sum of exp(x - max) to float16 and
    takes its log in float16; along other dims the sum and log stay float32. Both then give
    (x - max) - log(sum) in float32 (checked against torch 2.13 on [64, 65] at scales 0.1, 1,
    8, three seeds: 0 of 4160 values differ along dim -1, at most 1 along dim 0).
    """
    if x.ndim == 0 or x.size == 0:
        return None
    wide = x.astype(_SINGLE)
    top = np.maximum.reduce(wide, dim, None, None, True)
    if not np.isfinite(top).all():
        return None
    wide -= top
    total = np.add.reduce(np.exp(wide), dim, None, None, True)
    # (PyTorch's innermost-dim kernel: the last dim only, not one followed by dims of size 1:
    # [3, 1] along 0 went the other way, found by tests/parity/s20_SL5_families.py)
    if dim % x.ndim == x.ndim - 1:
        total = total.astype(HALF)
    wide -= np.log(total)
    return wide.astype(HALF)


def half_softmax(x, dim):
    """softmax of float16 or bfloat16 ``x`` along a dim that is not the last, as PyTorch's
    kernel: exp(x - max) rounded to x's dtype, over the float32 sum of the unrounded exps,
    rounded again; None along the last dim (0-d, empty), where the float32 result rounded
    once is PyTorch's. (Against torch 2.13 on 1,200 arrays of 1-3 dims at scales 0.01, 1, 8:
    0 values differ, both dtypes; rounded once, 33-94 arrays in 100 had one that differed.)"""
    if x.ndim == 0 or x.size == 0 or dim % x.ndim == x.ndim - 1:
        return None
    with np.errstate(invalid="ignore", over="ignore"):  # (nan / inf as PyTorch's, silently)
        wide = x.astype(_SINGLE)
        wide -= np.maximum.reduce(wide, dim, None, None, True)
        np.exp(wide, out=wide)
        total = np.add.reduce(wide, dim, None, None, True)
        return (wide.astype(x.dtype).astype(_SINGLE) / total).astype(x.dtype)


def half_prod(x, dim, keepdim):
    """prod of float16 or bfloat16 ``x`` as PyTorch's CPU loop: each product rounded to x's
    dtype, in index order (NumPy's half reduce, like a float32 product rounded once, differed
    in half of [5] and [4, 3] arrays, found by tests/parity/s20_SL5_families.py); None for an
    innermost run of 64 or more, which PyTorch's vectorized loop splits into lanes
    (unmatched), and for 0-d or empty inputs. Against torch 2.13 on lengths 5 to 63 and
    outer dims up to 70: 0 of 1,200 arrays differ."""
    if dim is None:
        if x.size >= 64 or x.size == 0:
            return None
        out = half_prod(x.reshape(-1), 0, False)
        return out.reshape((1,) * x.ndim) if keepdim else out
    if x.ndim == 0 or x.shape[dim] == 0 or (dim % x.ndim == x.ndim - 1 and x.shape[dim] >= 64):
        return None
    moved = np.moveaxis(x, dim, 0)
    acc = np.array(moved[0], _SINGLE)  # (an array, not a NumPy scalar, for a 1-d x)
    with np.errstate(over="ignore", invalid="ignore"):
        for row in moved[1:]:
            acc = (acc * row.astype(_SINGLE)).astype(x.dtype).astype(_SINGLE)
    out = acc.astype(x.dtype)
    return np.expand_dims(out, dim) if keepdim else out


def half_logsumexp(x, dim, keepdim):
    """logsumexp of float16 ``x`` in PyTorch's float16 steps (an infinite maximum shifts by
    0): log(sum(exp(x - max))) + max, each step rounded to float16 but the sum, which adds in
    float32; None for 0-d or empty inputs."""
    if x.ndim == 0 or x.size == 0:
        return None
    axis = tuple(dim) if type(dim) is list else dim
    top = np.maximum.reduce(x, axis, None, None, True)
    top[np.isinf(top)] = 0
    token = _errors().set(_IGNORE_ALL[0])  # (exp's overflow, log 0: PyTorch's inf silently)
    try:  # (in x's dtype: bfloat16's steps are float16's, checked as half_softmax's)
        total = np.add.reduce(np.exp(x - top), axis, _SINGLE, None, True).astype(x.dtype)
        out = np.log(total) + top
    finally:
        _errors().reset(token)
    return out if keepdim else out.squeeze(axis)


def half_var_grad(g, x, dim, scale):
    """var's gradient on float16 (or bfloat16) arrays in PyTorch's steps, (scale * g) *
    (x - mean), each rounded to x's dtype: the mean summed in float32 (as PyTorch's), the scalar
    product in float32 (PyTorch's scalar is not rounded first, as NumPy's would be)."""
    axis = tuple(dim) if type(dim) is list else dim
    narrow = x.dtype
    mean = np.mean(x.astype(_SINGLE), axis=axis, keepdims=True).astype(narrow)
    centred = (x.astype(_SINGLE) - mean.astype(_SINGLE)).astype(narrow)
    scaled = (g.astype(_SINGLE) * np.float32(scale)).astype(narrow)
    return (scaled.astype(_SINGLE) * centred.astype(_SINGLE)).astype(narrow)


def half_std_grad(g, out, x, dim, denominator):
    """std's gradient on float16 (or bfloat16) arrays in PyTorch's steps: var's, given
    g / (2 std) (0 where std is 0)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        wide = out.astype(_SINGLE)
        g_var = (g.astype(_SINGLE) / (wide * 2).astype(out.dtype).astype(_SINGLE))
    g_var = np.where(wide == 0, np.float32(0), g_var).astype(out.dtype)
    return half_var_grad(g_var, x, dim, 2.0 / denominator)


def half_number(value, like):
    """``tensor._lift`` for an operator's Python number met by float16 tensor ``like``: a
    float16 0-d tensor where float16 holds the number exactly (2.5, 3, inf, nan: the common
    case, and the usual fast path), else the number as a float32 0-d tensor marked as a number,
    which ``tensor._binary`` hands to ``half_binary``. (On 8 x 8 float16, thread time,
    alternated: ``t * 0.1`` 3.4 -> 5.4 us, ``t * 2.0`` 3.3 -> 3.7.)"""
    _t = sys.modules[_ENGINE + ".tensor"]
    if -65504.0 <= value <= 65504.0 or value != value or value in _INFINITIES:
        rounded = np.asarray(value, HALF)  # (in range: no overflow warning to silence)
        if float(rounded) == value or value != value:  # (NumPy's == would round value)
            return _t._leaf(rounded)
    lifted = _t._leaf(np.asarray(value, _SINGLE) if type(value) is float and -3e38 < value < 3e38
                      else _t._cast_quietly(value, _SINGLE))  # (inf silently; big ints raise)
    lifted._number = True
    return lifted


_INFINITIES = (float("inf"), float("-inf"))


def half_binary(op, a, b):
    """``tensor._binary`` where a float16 operand meets a Python number lifted by
    ``half_number`` or a 0-d tensor of another dtype second; None where the general path is
    PyTorch's (the caller then takes it).

    PyTorch's mul and div kernels read their second operand, where it is a single value (a
    number, a 0-d tensor), as float32 (their "opmath" type) without first casting it to
    float16, compute in float32 and round once: ``t * 0.1`` is not ``t * half(0.1)`` (1 ulp
    apart on about a third of the results). ``0.1 * t`` is ``t.mul(0.1)``. Every other op,
    and a value first, is cast to float16 first, as PyTorch's promotion does.
    """
    _t = sys.modules[_ENGINE + ".tensor"]
    number_a, number_b = _is_number(a), _is_number(b)
    mul_or_div = op is _t._MUL or op is _t._DIV
    if not (number_a or number_b):
        if not mul_or_div or b._data.dtype.kind == "c":
            return None
        if sys.modules[_ENGINE + ".promotion"].result_type(a._data, b._data) != HALF:
            return None
        tensor, value = a, b._data.astype(_SINGLE)
    else:
        number = b if number_b else a
        value = number._data  # (float32)
        if number_b and mul_or_div:
            tensor = a
        elif number_a and op is _t._MUL:
            tensor = b
        else:
            return _t._binary(op, *_rounded_numbers(_t, a, b, number))
        # (the node keeps the number unrounded, a float32 0-d leaf: PyTorch's MulBackward /
        # DivBackward read it as the forward did, so t * 0.001's gradient is g * 0.001 in
        # float32 rounded once, which the engine's cast to the input's dtype does; g *
        # half(0.001) was an ulp off in 287 of 500 gradients, session 23 LE12)
    token = _errors().set(_IGNORE_ALL[0])  # (inf and nan silently, as PyTorch: 0.1 us)
    try:  # (the tensor first: x / value, x * value)
        data = np.asarray(op.forward(tensor._data.astype(_SINGLE), value)).astype(HALF)
    finally:
        _errors().reset(token)
    return _t._result(data, op, (a, b), None, _t._GradMode.enabled and (a._rg or b._rg))


def _rounded_numbers(_t, a, b, number) -> tuple:
    # (a, b) with the number among them as a float16 0-d tensor, as PyTorch casts it
    token = _errors().set(_IGNORE_ALL[0])
    try:
        rounded = _t._leaf(number._data.astype(HALF))
    finally:
        _errors().reset(token)
    return (rounded, b) if number is a else (a, rounded)


# Ops whose PyTorch backward is one CPU kernel that reads float16 / bfloat16 and computes in
# float32, rounding each gradient once (sigmoid_backward, gelu_backward, elu_backward (selu,
# celu), _softmax_backward_data, native_layer_norm_backward, mean's grad / N, ...). Their rules
# run on the narrow arrays would round every step (NumPy's float16 / bfloat16 arithmetic,
# constants rounded too): 200-1290 of 2000 bfloat16 gradients an ulp or more apart from torch
# 2.13's (tests/programs/test_s18_PR_fixes.py), float16 silu / mish up to 600 ulps
# (tests/parity/test_s18_HP_fixes.py), against 0 this way. Composite formulas (pow, erf, rsqrt,
# var) stay stepwise. bf16.apply and ``ruled`` (tensor._result, float16) record the twins.
FUSED_BACKWARD = frozenset({"sigmoid", "tanh", "silu", "gelu", "softplus", "elu", "leaky_relu",
                            "hardswish", "hardsigmoid", "mish", "logsigmoid", "softmax",
                            "log_softmax", "layer_norm", "mean", "cumsum",
                            # (products: one float32-accumulated product per gradient, as
                            # PyTorch's bmm; NumPy's einsum refuses bfloat16 arrays)
                            "einsum"})
# Of those, the kernels that read the input only (silu_backward(grad, self), ...): where the
# rule reads the output, it gets the float32 one.
FROM_INPUT = frozenset({"silu", "gelu", "mish", "logsigmoid", "hardswish", "softplus", "elu",
                        "leaky_relu", "hardsigmoid", "layer_norm"})
_FUSED_TWINS: dict = {}
# Float32 rules of FUSED_BACKWARD's ops that also need the narrow dtype (keyword ``narrow``):
# PyTorch's kernel keeps some statistics in it (ops/normalization.py registers layer_norm's).
NARROW_RULES: dict = {}


def _narrow(dtype) -> bool:
    """float16, or bfloat16 (ml_dtypes' kind "V" dtype: no other reaches a rule)."""
    return dtype is HALF or dtype.kind == "V"


def _wide(array):
    # (None: an input or output the rule does not read, which the graph did not keep)
    return array.astype(_SINGLE) if array is not None and _narrow(array.dtype) else array


def fused_backward(op):
    """``op`` with a rule that, on arrays holding float16 / bfloat16, computes in float32 and
    rounds each gradient of a narrow input once (the graph-building rule of double backward
    unchanged)."""
    twin = _FUSED_TWINS.get(op)
    if twin is None:
        import copy

        rule = op.vjp

        def vjp(F, g, out, *xs, **attrs):
            dtype = getattr(g, "dtype", None)
            if F is not ARRAY or dtype is None or not _narrow(dtype):
                return rule(F, g, out, *xs, **attrs)
            if dtype is HALF and op.name == "sigmoid" and out is not None:
                # PyTorch's float16 sigmoid_backward runs in float16 steps, each rounded:
                # (g * (1 - y)) * y (in float32, rounded once: 32% of elements 1 ulp off;
                # bfloat16's kernel is float32's, as below)
                return (g * (1 - np.asarray(out)) * out,)
            if dtype is HALF and op.name == "softmax":  # (the rule's own float16 branch)
                return rule(F, g, out, *xs, **attrs)
            wide = [_wide(x) for x in xs]
            narrow_rule = NARROW_RULES.get(op.name)
            if narrow_rule is not None:  # (told the narrow dtype: layer_norm, s18 NH)
                grads = narrow_rule(_wide(g), *wide, narrow=dtype, **attrs)
                return tuple(grad if grad is None or x is None or not _narrow(x.dtype)
                             else np.asarray(grad).astype(_SINGLE).astype(x.dtype)
                             for grad, x in zip(grads, xs))
            if op.name in FROM_INPUT:  # (the exact float32 output, not the rounded one)
                out = op.forward(*wide, **{k: v for k, v in attrs.items() if k != "needs"})
            grads = rule(F, _wide(g), _wide(None if out is None else np.asarray(out)), *wide,
                         **attrs)
            return tuple(grad if grad is None or x is None or not _narrow(x.dtype)
                         else np.asarray(grad).astype(_SINGLE).astype(x.dtype)
                         for grad, x in zip(grads, xs))

        # The twin reads what the rule reads (versions._analyse follows __wrapped__): reading
        # `out` here only to widen it must not make cumsum's backward refuse an output changed
        # in place afterwards, which PyTorch allows (SL3, s18).
        vjp.__wrapped__ = rule
        twin = _FUSED_TWINS[op] = copy.copy(op)
        twin.vjp = vjp
        twin.exact = 0  # (registry.CHECKED: the sweep checks shapes and dtypes)
    return twin


# The result dtypes whose recorded op ``ruled`` picks (tensor._result): complex ones, float16.
RULED_DTYPES = frozenset((np.dtype(np.complex64), np.dtype(np.complex128), HALF))


def ruled(op, dtype):
    """The op to record for a result of ``dtype`` (one of RULED_DTYPES): complex.complex_rule's
    for complex results, the fused float16 backward for FUSED_BACKWARD's ops."""
    if dtype is HALF:
        return fused_backward(op) if getattr(op, "name", None) in FUSED_BACKWARD else op
    return sys.modules[__package__ + ".complex"].complex_rule(op, dtype)


# PyTorch's nll_loss (LossNLL.cpp, nll_loss_out_frame) sums a [N, C] batch in the input's
# dtype through eight partial sums: entry b is added to the first, which is then added to the
# second when b is a multiple of 16 (the second to the third when b is one of 256, ...); the
# partials are added up at the end, first to last. In float16 / bfloat16 every addition
# rounds, so the order decides the last bit (one sum in float32 rounded once: 1 ulp off in
# 20-30% of batches against torch 2.13).
_LEVELS = 8


def _grouped_sums(values: np.ndarray, ends: np.ndarray, dtype) -> np.ndarray:
    """Sums, rounded to ``dtype`` after each addition from 0, of the runs of ``values``
    (float32) that end after each True of ``ends``, and of the unfinished run last."""
    starts = np.concatenate(([0], np.flatnonzero(ends) + 1))
    if starts[-1] == values.size:
        starts = starts[:-1]
        closed = True
    else:
        closed = False
    lengths = np.diff(np.append(starts, values.size))
    table = np.zeros((starts.size, int(lengths.max()) if lengths.size else 0), _SINGLE)
    row = np.repeat(np.arange(starts.size), lengths)
    table[row, np.arange(values.size) - starts[row]] = values
    sums = np.zeros(starts.size, _SINGLE)
    for column in table.T:  # (a padding 0 leaves a sum as it is)
        sums = (sums + column).astype(dtype).astype(_SINGLE)
    return sums if not closed else np.append(sums, np.float32(0))


def _cascade_sum(values: np.ndarray, index: np.ndarray, dtype) -> float:
    """``values`` (float32 holding ``dtype`` numbers) at batch positions ``index`` (the
    counted entries, increasing) summed as nll_loss_out_frame does (see above)."""
    partials = []
    for level in range(_LEVELS - 1):
        if values.size == 0:
            break
        ends = index % (16 ** (level + 1)) == 0
        sums = _grouped_sums(values, ends, dtype)
        partials.append(sums[-1])  # (the unfinished run stays in this level's partial)
        values, index = sums[:-1], index[ends]
    else:
        if values.size:
            partials.append(_grouped_sums(values, np.zeros(values.size, bool), dtype)[-1])
    total = np.float32(0)
    for partial in partials:
        total = np.float32(dtype.type(total + partial))
    return total


def half_nll(log_probs, target, weight, ignore_index: int, reduction: str, dtype):
    """nll_loss's "sum" / "mean" of ``dtype`` (float16 or bfloat16) log-probabilities [N, C]
    as PyTorch's kernel accumulates them (see above); None for other shapes."""
    if log_probs.ndim != 2 or target.ndim != 1 or reduction not in ("sum", "mean"):
        return None
    # (float16 sums past its range become inf, and inf - inf nan, silently as in PyTorch:
    # NumPy's casts would warn "overflow encountered in cast"; s30 BR24)
    with np.errstate(over="ignore", invalid="ignore"):
        return _half_nll(log_probs, target, weight, ignore_index, reduction, dtype)


def _half_nll(log_probs, target, weight, ignore_index: int, reduction: str, dtype):
    counted = np.flatnonzero(target != ignore_index)
    classes = target[counted]
    picked = log_probs[counted, classes].astype(dtype).astype(_SINGLE)
    if weight is not None:
        weights = weight.astype(dtype).astype(_SINGLE)[classes]
        picked = (picked * weights).astype(dtype).astype(_SINGLE)
    total = _cascade_sum(picked, counted, dtype)
    if reduction == "mean":
        if weight is None:
            count = np.float32(dtype.type(counted.size))
        else:
            count = _cascade_sum(weights, counted, dtype)
        with np.errstate(divide="ignore"):
            total = np.float32(dtype.type(total / count))
    # (PyTorch's sign: a zero sum gives +0.0, as its subtractions from 0 would)
    return np.asarray(-total if total != 0 else np.float32(0)).astype(dtype)
