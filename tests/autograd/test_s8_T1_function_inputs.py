"""Custom autograd.Function patterns of torchdiffeq, as PyTorch runs them: None among the
positional arguments, saved inputs unpacked as the caller's tensors (gradients w.r.t. them
inside backward), and a scratch tensor returned by one call and filled through ``.data`` by
the next."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def scratch_fill(m):
    class Assign(m.autograd.Function):
        @staticmethod
        def forward(ctx, scratch, value, index, unused):
            assert unused is None
            ctx.index = index
            scratch.data[index] = value
            return scratch

        @staticmethod
        def backward(ctx, g):
            return g, g[ctx.index], None, None

    w = m.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    k = m.zeros(2, 2, 3)
    k = Assign.apply(k, w * 2, (..., 0), None)
    partial = (k[..., :1] * 0.1).sum(-1)
    k = Assign.apply(k, w * partial, (..., 1), None)
    k = Assign.apply(k, w.exp(), (..., 2), None)
    (k * m.tensor([1.0, 2.0, 3.0])).sum().backward()
    return k.detach().numpy(), w.grad.numpy()


def saved_parameter_gradient(m):
    class Scale(m.autograd.Function):
        @staticmethod
        def forward(ctx, x, weight):
            ctx.save_for_backward(x, weight)
            return x * weight

        @staticmethod
        def backward(ctx, g):
            x, weight = ctx.saved_tensors
            assert weight.requires_grad
            with m.enable_grad():
                y = x.detach() * weight
                (gw,) = m.autograd.grad(y, (weight,), g)
            return g * weight, gw

    x = m.tensor([1.0, -2.0, 3.0], requires_grad=True)
    weight = m.tensor([0.5, 1.5, -1.0], requires_grad=True)
    Scale.apply(x, weight).pow(2).sum().backward()
    return x.grad.numpy(), weight.grad.numpy()


@pytest.mark.parametrize("program", [scratch_fill, saved_parameter_gradient])
def test_function_patterns_match_torch(program):
    for ours, theirs in zip(program(dg), program(torch)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
