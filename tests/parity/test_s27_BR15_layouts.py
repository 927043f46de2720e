"""Result layouts of the elementwise ops outside the arithmetic operators (session 27, BR15).

Session 26 (LY1) laid the operators' results out as PyTorch's TensorIterator does; the ops that
run through ``apply`` (where, maximum, lerp, the tensor-bounded clamps, atan2, ...), the
comparisons, logical and bitwise functions, isclose, addcmul / addcdiv and a few unary ops kept
NumPy's layout (row-major where the operands' layouts disagree). The layout shows in
``stride()``, ``is_contiguous()`` and whether ``view`` works. Each case runs the same code on
deltagrad and on PyTorch and compares strides and values.
"""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _layouts(T):
    """(name, a, b) pairs of operands of one broadcast shape, in mixed layouts."""
    rng = np.random.default_rng(0)

    def t(*shape):
        return T.tensor(rng.standard_normal(shape).astype(np.float32))

    yield "permuted-first", t(3, 2, 4).permute(1, 0, 2), t(2, 3, 4)
    yield "permuted-second", t(2, 3, 4), t(3, 2, 4).permute(1, 0, 2)
    yield "transposed", t(4, 5).t(), t(5, 4)
    yield "permuted-broadcast", t(20, 5, 2).permute(1, 2, 0), t(2, 20)
    yield "expanded-transposed", t(1, 4).expand(3, 4), t(4, 3).t()
    yield "sliced-transposed", t(4, 6)[:, ::2], t(3, 4).t()
    yield "channels-last", t(2, 3, 4, 5).to(memory_format=T.channels_last), t(2, 3, 4, 5)


def _positive(T, x):
    return x.abs() + 0.25


# Elementwise ops of two (or three) tensors: PyTorch orders the dims by its operands in order.
BINARY = {
    "where": lambda T, a, b: T.where(a > 0, a, b),
    "where-condition-first": lambda T, a, b: T.where(b > 0, a, a),
    "maximum": lambda T, a, b: T.maximum(a, b),
    "minimum": lambda T, a, b: T.minimum(a, b),
    "fmax": lambda T, a, b: T.fmax(a, b),
    "fmin": lambda T, a, b: T.fmin(a, b),
    "max-binary": lambda T, a, b: T.max(a, b),
    "eq": lambda T, a, b: a == b,
    "ne": lambda T, a, b: T.ne(a, b),
    "lt": lambda T, a, b: a < b,
    "le": lambda T, a, b: T.le(a, b),
    "gt": lambda T, a, b: T.gt(a, b),
    "ge": lambda T, a, b: a >= b,
    "gt-number": lambda T, a, b: a > 0.5,
    "logical-and": lambda T, a, b: T.logical_and(a, b),
    "logical-or": lambda T, a, b: T.logical_or(a, b),
    "logical-xor": lambda T, a, b: T.logical_xor(a, b),
    "bool-and": lambda T, a, b: (a > 0) & (b > 0),
    "bitwise-xor": lambda T, a, b: T.bitwise_xor(a > 0, b > 0),
    "isclose": lambda T, a, b: T.isclose(a, b),
    "lerp": lambda T, a, b: T.lerp(a, b, 0.3),
    "lerp-tensor-weight": lambda T, a, b: T.lerp(a, b, b),
    "addcmul": lambda T, a, b: T.addcmul(a, a, b, value=0.5),
    "addcmul-first-row-major": lambda T, a, b: T.addcmul(b, a, a),
    "addcdiv": lambda T, a, b: T.addcdiv(a, a, _positive(T, b), value=0.5),
    "clamp-tensors": lambda T, a, b: T.clamp(a, min=b - 1, max=b + 1),
    "clamp-min-tensor": lambda T, a, b: T.clamp(a, min=b),
    "clamp_max": lambda T, a, b: T.clamp_max(a, b),
    "atan2": lambda T, a, b: T.atan2(a, b),
    "hypot": lambda T, a, b: T.hypot(a, b),
    "copysign": lambda T, a, b: T.copysign(a, b),
    "xlogy": lambda T, a, b: T.xlogy(_positive(T, a), _positive(T, b)),
    "xlog1py": lambda T, a, b: T.special.xlog1py(a, _positive(T, b)),
    "fmod": lambda T, a, b: T.fmod(a, b),
    "remainder": lambda T, a, b: T.remainder(a, b),
    "floor_divide": lambda T, a, b: T.floor_divide(a, b),
    "heaviside": lambda T, a, b: T.heaviside(a, b),
    "nextafter": lambda T, a, b: T.nextafter(a, b),
    "logaddexp": lambda T, a, b: T.logaddexp(a, b),
    "logaddexp2": lambda T, a, b: T.logaddexp2(a, b),
    "polar": lambda T, a, b: T.polar(_positive(T, a), b),
    "complex": lambda T, a, b: T.complex(a, b),
    "igamma": lambda T, a, b: T.igamma(_positive(T, a), _positive(T, b)),
    "zeta": lambda T, a, b: T.special.zeta(_positive(T, a) + 1.0, _positive(T, b)),
    # pow(Scalar, Tensor) writes a fresh row-major result in PyTorch, and ldexp multiplies by it
    "rpow": lambda T, a, b: 2.0 ** a,
    "pow-number-base": lambda T, a, b: T.pow(1.5, b),
    "ldexp": lambda T, a, b: T.ldexp(a, b.round()),
}

# One tensor: PyTorch keeps the input's layout (row-major for an expanded one) ...
UNARY = {
    "log_ndtr": lambda T, a: T.special.log_ndtr(a),
    "digamma": lambda T, a: T.digamma(a),
    "round-decimals": lambda T, a: a.round(decimals=1),
    "erfinv": lambda T, a: T.erfinv(a.clamp(-0.9, 0.9)),
    "nan_to_num": lambda T, a: T.nan_to_num(a),
    "spherical_bessel_j0": lambda T, a: T.special.spherical_bessel_j0(a),
    "isreal": lambda T, a: T.isreal(a),
    # ... or writes a fresh row-major result:
    "logsigmoid": lambda T, a: T.nn.functional.logsigmoid(a),
    "rrelu-eval": lambda T, a: T.nn.functional.rrelu(a, training=False),
    "masked_fill": lambda T, a: a.masked_fill(a > 0, 0.0),
    "masked_fill-permuted-mask": lambda T, a: a.contiguous().masked_fill(a > 0, 0.0),
}


def _same(theirs, ours, label):
    assert tuple(ours.shape) == tuple(theirs.shape), label
    assert ours.stride() == theirs.stride(), label
    assert ours.is_contiguous() == theirs.is_contiguous(), label
    np.testing.assert_allclose(np.asarray(ours.tolist()), np.asarray(theirs.tolist()),
                               rtol=2e-6, atol=1e-6, err_msg=label)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_layout(name):
    make = BINARY[name]
    for (label, ta, tb), (_, da, db) in zip(_layouts(torch), _layouts(dg)):
        _same(make(torch, ta, tb), make(dg, da, db), f"{name} {label}")


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_layout(name):
    make = UNARY[name]
    for (label, ta, _), (_, da, _) in zip(_layouts(torch), _layouts(dg)):
        _same(make(torch, ta), make(dg, da), f"{name} {label}")


def test_rrelu_training_is_row_major_and_draws_as_pytorch():
    # The slopes are drawn in the elements' logical order on both sides; only the layout was
    # the input's here.
    results = []
    for T in (torch, dg):
        T.manual_seed(3)
        x = T.tensor(np.linspace(-2, 2, 24, dtype=np.float32).reshape(3, 2, 4)).permute(1, 0, 2)
        results.append(T.nn.functional.rrelu(x, training=True))
    theirs, ours = results
    assert ours.stride() == theirs.stride() == (12, 4, 1)
    np.testing.assert_array_equal(np.asarray(ours.tolist()), np.asarray(theirs.tolist()))


def test_view_after_maximum_of_a_transpose_fails_as_pytorchs():
    # The layout decides whether a later view works: both refuse it here.
    for T in (torch, dg):
        a = T.ones(3, 4).t()
        out = T.maximum(a, T.zeros(4, 3))
        assert not out.is_contiguous()
        with pytest.raises(RuntimeError):
            out.view(12)


def test_masked_fill_graph_reaches_the_input_directly():
    # masked_fill no longer re-lays a permuted input through a reshape node first.
    names = []
    for T in (torch, dg):
        x = T.ones(3, 2, 4, requires_grad=True)
        p = x.permute(1, 0, 2)
        out = p.masked_fill(p > 0.5, 0.0)
        names.append([type(f).__name__ for f, _ in out.grad_fn.next_functions if f is not None])
        out.sum().backward()
        assert x.grad.sum().item() == 0.0
    assert names[0] == names[1] == ["PermuteBackward0"]


def test_gradients_through_wrapped_ops_keep_their_values():
    rng = np.random.default_rng(1)
    values = [rng.standard_normal((3, 2, 4)) for _ in range(2)]
    grads = []
    for T in (torch, dg):
        a = T.tensor(values[0], requires_grad=True)
        b = T.tensor(values[1], requires_grad=True)
        p = a.permute(1, 0, 2)
        q = b.permute(1, 0, 2).contiguous()
        (T.maximum(p, q) * T.lerp(p, q, q) + T.where(p > q, p, q) * T.atan2(p, q)).sum().backward()
        grads.append((a.grad.tolist(), b.grad.tolist()))
    np.testing.assert_allclose(np.asarray(grads[1][0]), np.asarray(grads[0][0]), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(grads[1][1]), np.asarray(grads[0][1]), rtol=1e-12)


def test_row_major_operands_keep_row_major_results():
    # The common case: nothing to re-lay (one flags read an operand).
    a, b = dg.ones(3, 4), dg.zeros(4)
    for out in (dg.maximum(a, b), dg.where(a > 0, a, b), a == b, dg.lerp(a, b, 0.5),
                dg.addcmul(a, a, b)):
        assert out.is_contiguous() and out.stride() == (4, 1)
