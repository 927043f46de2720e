"""The layout of the results of the elementwise ops that run through ``apply`` (session 27, BR15).

``tensor._binary`` lays the arithmetic operators' results out as PyTorch's TensorIterator does
(``elementwise_layout``); the elementwise ops of several tensors that run through ``apply``
(where, maximum, lerp, the tensor-bounded clamps, atan2, ...) gave NumPy's layout, row-major
where their operands' layouts disagree: ``torch.maximum(a.permute(1, 0, 2), b)`` has the
permuted operand's strides in PyTorch and came out row-major here, so ``is_contiguous``,
``view`` errors and the order a ``*_like`` draw fills differed. Their forwards are wrapped here,
once, after every family has registered: the result is re-laid out (``relaid``) only when an
operand is not row-major, one flags read (~30 ns) an operand and one frame (~30 ns) otherwise.
Cost on row-major 8 x 8 float32, forward only, thread time, one thread, alternated with the
tree without it in one process, medians of 15 (loaded machine; s27 BR15): maximum 1507 ->
1628 ns, where 2950 -> 3142, lerp 6262 -> 6432, addcmul 3767 -> 3901, clamp(min=t) 1840 ->
1946, atan2 1832 -> 1941; the comparisons' and logical functions' inline checks (tensor_ops,
api/pointwise_logic): a > b 1082 -> 1148, eq 1107 -> 1212, logical_and 1116 -> 1213. The op
table's forward + backward (``ab.py --workload ops --ops where,maximum,lerp,addcmul --cpu
--rounds 31``): new/base 1.005, quartiles 0.971-1.027 (noise).

Some unary ops computed piecewise (log_ndtr, digamma and round with decimals on negative
inputs, erfinv and nan_to_num on expanded inputs) came out row-major or in NumPy's order of a
broadcast input where PyTorch keeps the input's layout (row-major for a broadcast one); and
logsigmoid, whose PyTorch kernel writes a fresh buffer, is row-major there and kept the input's
layout here.
"""

from __future__ import annotations

import numpy as np

from ..elementwise_layout import laid_out, relaid
from . import (  # noqa: F401  (the families whose forwards are wrapped: registered first)
    activations,
    complex,
    elementwise,
    elementwise_math,
    elementwise_pairs,
    gamma,
    special_extra,
    statistics,
)
from .registry import OPS

__all__: list[str] = []

# Elementwise in all their array inputs, in PyTorch's operand order (where: condition, input,
# other; lerp: start, end, weight; clamp: input, min, max).
_TWO = ("maximum", "minimum", "fmax", "fmin", "clamp_min", "clamp_max", "copysign",
        "heaviside", "nextafter", "complex", "igamma", "igammac", "atan2", "hypot", "xlogy",
        "xlog1py", "fmod", "remainder", "logaddexp", "logaddexp2", "polar", "zeta")
_THREE = ("where", "lerp", "clamp_tensor")
_ANY = ("div_rounding",)  # (its rounding_mode attribute)
# One array input whose layout PyTorch's result keeps (row-major for a broadcast one).
_ONE = ("log_ndtr", "digamma", "round", "erfinv", "nan_to_num")
# A fresh row-major result in PyTorch whatever the input's layout.
_ROW_MAJOR = ("logsigmoid",)


def _two(forward):
    def two(x, y):
        out = forward(x, y)
        return out if x.flags.c_contiguous and y.flags.c_contiguous else relaid(out, (x, y))

    return two


def _three(forward):
    def three(x, y, z):
        out = forward(x, y, z)
        if x.flags.c_contiguous and y.flags.c_contiguous and z.flags.c_contiguous:
            return out
        return relaid(out, (x, y, z))

    return three


def _any(forward):
    def any_arity(*arrays, **attrs):
        return laid_out(forward(*arrays, **attrs), arrays)

    return any_arity


def _one(forward):
    def one(x, **attrs):
        out = forward(x, **attrs)
        return out if x.flags.c_contiguous else relaid(out, (x,))

    return one


def _row_major(forward):
    def row_major(x, **attrs):
        out = forward(x, **attrs)
        return out if type(out) is not np.ndarray or out.flags.c_contiguous else (
            np.ascontiguousarray(out))

    return row_major


def _wrap() -> None:
    for names, wrapper in ((_TWO, _two), (_THREE, _three), (_ANY, _any), (_ONE, _one),
                           (_ROW_MAJOR, _row_major)):
        for name in names:
            op = OPS[name]
            wrapped = wrapper(op.forward)
            wrapped.__name__ = getattr(op.forward, "__name__", name)
            op.forward = wrapped


_wrap()
