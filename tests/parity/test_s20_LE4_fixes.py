"""The s20 LE4 fixes (libraries' suites under the alias, tests/programs/test_s20_LE4_suites.py),
each against PyTorch.

A sparse COO tensor as an input of a user's autograd.Function (POT's ``emd2`` of a sparse cost
passes it to its ValFunction): forward read the storage's ``flags`` (AttributeError), and the
node did not record the sparse input, so its gradient never arrived.
"""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad

torch = pytest.importorskip("torch")


def _function(lib):
    class Val(lib.autograd.Function):
        @staticmethod
        def forward(ctx, val, grads, *inputs):
            ctx.grads = grads
            return val.clone()

        @staticmethod
        def backward(ctx, grad_output):
            return (None, None) + tuple(g * grad_output for g in ctx.grads)

    return Val


def _run(lib, with_dense: bool):
    index = lib.tensor([[0, 1, 1, 2], [0, 0, 2, 1]])
    m = lib.sparse_coo_tensor(index, lib.tensor([1.0, 2.0, 3.0, 4.0], dtype=lib.float64),
                              (3, 3), requires_grad=True)
    g = lib.sparse_coo_tensor(index, lib.tensor([0.5, 0.25, 0.125, 2.0], dtype=lib.float64),
                              (3, 3))
    a = lib.ones(3, dtype=lib.float64, requires_grad=True)
    val = lib.tensor(3.0, dtype=lib.float64)
    if with_dense:
        out = _function(lib).apply(val, (lib.full((3,), 2.0, dtype=lib.float64), g), a, m)
    else:
        out = _function(lib).apply(val, (g,), m)
    edges = len(out.grad_fn.next_functions)  # (read before backward frees the node)
    (out * 1.5).backward()
    grad = m.grad
    return (out.requires_grad, edges, grad.layout == lib.sparse_coo,
            grad.to_dense().numpy(), None if a.grad is None else a.grad.numpy())


@pytest.mark.parametrize("with_dense", [False, True])
def test_function_sparse_input_gradient(with_dense):
    ours, theirs = _run(deltagrad, with_dense), _run(torch, with_dense)
    assert ours[:3] == theirs[:3] == (True, 3 if with_dense else 2, True)
    np.testing.assert_array_equal(ours[3], theirs[3])
    if with_dense:
        np.testing.assert_array_equal(ours[4], theirs[4])


def test_function_sparse_input_forward_reads_it():
    # forward gets the sparse tensor itself (no AttributeError on its storage)
    def run(lib):
        class Dense(lib.autograd.Function):
            @staticmethod
            def forward(ctx, s):
                return s.to_dense() * 2

            @staticmethod
            def backward(ctx, grad_output):
                return None

        s = lib.sparse_coo_tensor(lib.tensor([[0, 1], [1, 0]]), lib.tensor([1.0, 5.0]), (2, 2))
        return Dense.apply(s).numpy()

    np.testing.assert_array_equal(run(deltagrad), run(torch))
