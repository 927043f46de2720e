"""Session 26 (PR12) fixes found by the scientific programs (tests/programs/prog_s26_PR12_*.py).

1. PyTorch warns once per process, at the first compressed sparse tensor it makes (CSR, CSC, BSR
or BSC: one warning for all four), that their support is in beta state; deltagrad said
nothing. The warning is once per process (errors._WARNED_ONCE), so each case runs in its own
process, on both libraries.

2. Node names of linalg results (below).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import s29_TT1_forks as forks

import deltagrad

torch = pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_SETUP = "d = t.tensor([[0.0, 2.0], [3.0, 0.0]])"

CASES = {
    "to_sparse_csr-twice": ["d.to_sparse_csr()", "d.to_sparse_csr()"],
    "to_sparse_csc-then-csr": ["d.to_sparse_csc()", "d.to_sparse_csr()"],
    "coo-first-then-bsr": ["d.to_sparse()", "d.to_sparse_bsr((1, 1))", "d.to_sparse_bsc((1, 1))"],
}


@pytest.fixture(scope="module")
def warning_runs() -> dict:
    """{library: {case: (exit status, stdout, stderr)}}: each case in a process of its own,
    forked from one interpreter per library right after its import (s29_TT1_forks.py; one
    fresh interpreter per case and library before: 8.1 -> 4.0 CPU s for the three cases with
    pytest's start, this machine, session 29)."""
    return forks.warning_runs(_SETUP, CASES, ROOT)


@pytest.mark.parametrize("case", sorted(CASES))
def test_compressed_sparse_beta_warning_once(warning_runs, case):
    theirs = forks.last_line(warning_runs["torch"][case])
    ours = forks.last_line(warning_runs["deltagrad"][case])
    assert ours == theirs
    assert "beta state" in ours  # (each case makes a compressed tensor)


# ---------------------------------------------------------------- node names of linalg results
# torch.trace's node is TraceBackward0 (deltagrad's: SumBackward0), slogdet's two outputs'
# LinalgSlogdetBackward0 (deltagrad's: PackedPartBackward0), logdet's WhereBackward0 (deltagrad's:
# AddBackward0): a sensitivity program prints type(value.grad_fn).__name__. Values and
# gradients unchanged.

_MATRICES = {"spd": [[2.0, 0.5], [0.5, 1.0]], "negative-det": [[0.0, 1.0], [1.0, 0.0]],
             "batched": [[[3.0, 1.0], [1.0, 2.0]], [[1.0, 2.0], [3.0, 4.0]]]}
_CALLS = {
    "trace": lambda t, a: t.trace(a[0] if a.ndim == 3 else a),
    "trace-method": lambda t, a: (a[0] if a.ndim == 3 else a).trace(),
    "slogdet-sign": lambda t, a: t.slogdet(a)[0],
    "slogdet-logabs": lambda t, a: t.slogdet(a)[1],
    "linalg-slogdet": lambda t, a: t.linalg.slogdet(a).logabsdet,
    "logdet": lambda t, a: t.logdet(a),
    "logdet-method": lambda t, a: a.logdet(),
}


@pytest.mark.parametrize("matrix", sorted(_MATRICES))
@pytest.mark.parametrize("call", sorted(_CALLS))
def test_linalg_node_names(call, matrix):
    found = []
    for lib in (torch, deltagrad):
        a = lib.tensor(_MATRICES[matrix], dtype=lib.float64, requires_grad=True)
        out = _CALLS[call](lib, a)
        name = type(out.grad_fn).__name__ if out.grad_fn is not None else None
        grad = None
        if call != "slogdet-sign":
            (grad,) = lib.autograd.grad(out.sum(), a)
            grad = grad.numpy()
        found.append((name, out.requires_grad, out.detach().numpy(), grad))
    (t_name, t_rg, t_out, t_grad), (d_name, d_rg, d_out, d_grad) = found
    assert (d_name, d_rg) == (t_name, t_rg)
    np.testing.assert_allclose(d_out, t_out, rtol=1e-12, equal_nan=True)
    if t_grad is not None:
        np.testing.assert_allclose(d_grad, t_grad, rtol=1e-12, atol=1e-14, equal_nan=True)


# ---------------------------------------------------------------- complex matrix_exp
# A quantum program's propagator exp(-i H dt): PyTorch computes it for complex64 / complex128;
# deltagrad raised "complex matrices are not supported". Values now (the same Padé scaling and
# squaring in complex128); a gradient through a complex input still raises, naming the op.

_H = [[1.0, 0.3, 0.0], [0.3, -0.5, 0.2], [0.0, 0.2, 2.0]]


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("case", ["hermitian-propagator", "batched-large", "method", "empty"])
def test_complex_matrix_exp(case, dtype):
    rng = np.random.default_rng(7)
    if case == "hermitian-propagator" or case == "method":
        data = -0.7j * np.array(_H)
    elif case == "batched-large":
        data = 3 * (rng.standard_normal((2, 3, 3)) + 1j * rng.standard_normal((2, 3, 3)))
    else:
        data = np.zeros((0, 0), dtype=np.complex128)
    out = []
    for lib in (torch, deltagrad):
        a = lib.tensor(data, dtype=getattr(lib, dtype))
        result = a.matrix_exp() if case == "method" else lib.linalg.matrix_exp(a)
        out.append((str(result.dtype).rsplit(".")[-1], result.numpy()))
    assert out[1][0] == out[0][0]
    tolerance = 1e-5 if dtype == "complex64" else 1e-12
    np.testing.assert_allclose(out[1][1], out[0][1], rtol=tolerance, atol=tolerance)


def test_complex_matrix_exp_gradient_raises():
    a = deltagrad.tensor(np.array(_H) * 1j, requires_grad=True)
    with pytest.raises(NotImplementedError, match="linalg.matrix_exp: gradients through complex"):
        deltagrad.linalg.matrix_exp(a)
    with deltagrad.no_grad():
        assert deltagrad.linalg.matrix_exp(a).dtype == deltagrad.complex128
