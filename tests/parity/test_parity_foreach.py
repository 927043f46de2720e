"""torch._foreach_* list functions against PyTorch: values, dtypes, gradients, in-place returns
and the errors for mismatched lists."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(0)
A = [RNG.uniform(0.5, 2.0, (2, 3)).astype(np.float32), RNG.uniform(0.5, 2.0, (4,)).astype(
    np.float32)]
B = [RNG.uniform(0.5, 2.0, (2, 3)).astype(np.float32), RNG.uniform(0.5, 2.0, (4,)).astype(
    np.float32)]


def _args(arrays, grad=True):
    return [Arg(a, requires_grad=grad) for a in arrays]


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum", "minimum", "clamp_min",
                                "clamp_max", "pow"])
@pytest.mark.parametrize("form", ["scalar", "scalar list", "tensor list", "0-d tensor"])
def test_binary(op, form):
    def other(m, b):
        if form == "scalar":
            return 1.5
        if form == "scalar list":
            return [0.5, 2.0]
        if form == "tensor list":
            return b
        return m.tensor(1.25)
    check(lambda m, a, b: getattr(m, f"_foreach_{op}")(a, other(m, b)), _args(A), _args(B))
    check(lambda m, a, b: getattr(m, f"_foreach_{op}_")(a, other(m, b)), _args(A, False),
          _args(B, False))


@pytest.mark.parametrize("op", ["abs", "neg", "sqrt", "rsqrt", "exp", "log", "sigmoid", "tanh",
                                "reciprocal", "sign", "floor", "erf", "sin"])
def test_unary(op):
    check(lambda m, a: getattr(m, f"_foreach_{op}")(a), _args(A))
    check(lambda m, a: getattr(m, f"_foreach_{op}_")(a), _args(A, False))


def test_alpha_lerp_addcmul_norm_and_friends():
    check(lambda m, a, b: m._foreach_add(a, b, alpha=-0.5), _args(A), _args(B))
    check(lambda m, a, b: m._foreach_sub_(a, b, alpha=2), _args(A, False), _args(B, False))
    check(lambda m, a, b: m._foreach_lerp(a, b, 0.3), _args(A), _args(B))
    check(lambda m, a, b: m._foreach_lerp_(a, b, [0.1, 0.9]), _args(A, False), _args(B, False))
    check(lambda m, a, b: m._foreach_lerp(a, b, b), _args(A), _args(B))
    check(lambda m, a, b: m._foreach_addcmul(a, a, b, 0.5), _args(A), _args(B))
    check(lambda m, a, b: m._foreach_addcdiv_(a, a, b, [0.5, -1.0]), _args(A, False),
          _args(B, False))
    check(lambda m, a, b: m._foreach_addcdiv_(a, a, b, m.tensor([0.5, -1.0])), _args(A, False),
          _args(B, False))
    check(lambda m, a: m._foreach_norm(a), _args(A))
    check(lambda m, a: m._foreach_norm(a, 1), _args(A))
    check(lambda m, a: m._foreach_max(a), _args(A, False))
    check(lambda m, a: m._foreach_pow(2.0, a), _args(A))
    check(lambda m, a: m._foreach_clone(a), _args(A))
    check(lambda m, a, b: m._foreach_copy_(a, b), _args(A, False), _args(B, False))
    check(lambda m, a: m._foreach_zero_(a), _args(A, False))
    # integer lists: out-of-place promotes like mul; in place cannot store a float
    ints = [Arg(np.arange(3)), Arg(np.arange(4))]
    check(lambda m, a: m._foreach_mul(a, 1.5), ints)
    check(lambda m, a: m._foreach_mul_(a, 1.5), ints)


def test_errors():
    check(lambda m: m._foreach_add_([], 1.0))
    check(lambda m, a, b: m._foreach_add_(a, b[:1]), _args(A, False), _args(B, False))
    check(lambda m, a: m._foreach_mul_(a, [1.0]), _args(A, False))
    check(lambda m, a: m._foreach_mul_(a, m.ones(2)), _args(A, False))
    check(lambda m, a: m._foreach_mul_(a, 2.0), _args(A))  # leaves that require grad
    check(lambda m, a: m._foreach_add(a, 1.0, alpha=2), _args(A))
    check(lambda m, a: m._foreach_add_(a[0], 1.0), _args(A, False))


def test_inplace_returns_the_list_it_was_given():
    for lib in (torch, dg):
        tensors = [lib.ones(2), lib.ones(3)]
        assert lib._foreach_mul_(tensors, 2.0) is tensors
        assert isinstance(lib._foreach_mul(tensors, 2.0), tuple)
