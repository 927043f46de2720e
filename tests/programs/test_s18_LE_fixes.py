"""Regression tests for what running more libraries' own suites under the alias found (LE,
session 18), each differential against PyTorch."""

import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _sparse(m):
    """A 2 x 3 sparse COO tensor with a repeated position (3 and 4 add up to 7 at [0, 1])."""
    with warnings.catch_warnings():  # (PyTorch's note that invariant checks are off)
        warnings.simplefilter("ignore")
        return m.sparse_coo_tensor(m.tensor([[0, 0, 1, 1], [1, 1, 0, 2]]),
                                   m.tensor([3.0, 4.0, -12.0, 0.5]), (2, 3))


def _sparse_norms(m):
    """ptwt's sparse orthogonalization divides a row by ``torch.native_norm(row)``: the norm of
    the coalesced entries, PyTorch's for sparse tensors only; and ``torch.norm`` of a sparse
    tensor, which deltagrad sent to the dense kernel (NotImplementedError)."""
    s = _sparse(m)
    got = [m.native_norm(s).item(), m.native_norm(s, 1).item(),
           m.native_norm(s, float("inf")).item(), m.native_norm(s, 2, [], False, None).item(),
           m.native_norm(s, 2, [1, 0], False, None).item(), m.native_norm(s).dim(),
           m.norm(s).item(), m.norm(s, 1).item(), m.norm(s, p="fro").item()]
    for call, kind in ((lambda: m.native_norm(s, 2, [0], False, None), RuntimeError),
                       (lambda: m.native_norm(s, 2, [0, 1], True, None), RuntimeError),
                       (lambda: m.native_norm(m.ones(3)), NotImplementedError)):
        with pytest.raises(kind):
            call()
    return got


def test_sparse_native_norm_and_norm():
    assert _sparse_norms(dg) == pytest.approx(_sparse_norms(torch), rel=1e-6)


def _complex_stack_grad(m):
    """ptwt's cwt stacks complex rows and takes gradients through them: the gradient of
    |stack(z1 * w, z2)|^2 summed, reaching w through the complex stack."""
    z1 = m.tensor([1 + 2j, -0.5 + 1j, 3 - 1j], dtype=m.complex128)
    z2 = m.tensor([0.25 - 1j, 2 + 0j, -1 + 1j], dtype=m.complex128)
    w = m.tensor([0.5, -1.5, 2.0], dtype=m.float64, requires_grad=True)
    rows = m.stack([z1 * w, z2 * w * w], dim=1)
    loss = (rows.abs() ** 2).sum()
    loss.backward()
    return loss.item(), w.grad.tolist()


def test_complex_gradient_through_stack():
    ours, real = _complex_stack_grad(dg), _complex_stack_grad(torch)
    np.testing.assert_allclose(ours[0], real[0], rtol=1e-12)
    np.testing.assert_allclose(ours[1], real[1], rtol=1e-12)
