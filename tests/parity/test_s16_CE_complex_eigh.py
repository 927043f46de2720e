"""Complex gradients of linalg.eigh / eigvalsh against PyTorch (CE, s16).

Hermitian A = V diag(w) Vᴴ: w real, each eigenvector defined up to a unit phase, so only losses
that do not read those phases (w, |V|², V diag(w) Vᴴ, ...) have a gradient; PyTorch raises
RuntimeError for the others and so does deltagrad. Before: complex values only, gradients
NotImplementedError.
"""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

from complex_cases import COMPLEX, TOL  # noqa: E402
from complex_cases import complex_array as _complex  # noqa: E402


def _hermitian(rng, *shape, dtype=np.complex128):
    h = _complex(rng, *shape)
    return ((h + np.conj(np.swapaxes(h, -1, -2))) / 2).astype(dtype)


LOSSES = {  # (phase-invariant: w, |V|², the projector V diag(c) Vᴴ)
    "values": lambda lib, w, v, c: (w * c.real[..., 0, :]).sum(),
    "abs_vectors": lambda lib, w, v, c: ((v.abs() ** 2) * c.real).sum() + w.sum(),
    "projector": lambda lib, w, v, c: ((v * c.real[..., :1, :]) @ v.mH * c).real.sum(),
}


def _grads(a, uplo, loss, c):
    results = []
    for lib in (torch, dg):
        x = lib.tensor(a, requires_grad=True)
        w, v = lib.linalg.eigh(x, uplo)
        LOSSES[loss](lib, w, v, lib.tensor(c)).backward()
        results.append((w.detach().numpy(), x.grad.resolve_conj().numpy()))
    return results


@pytest.mark.parametrize("dtype", COMPLEX, ids=lambda d: d.__name__)
@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("loss", LOSSES)
def test_eigh_gradients_match_pytorch(dtype, uplo, loss):
    rng = np.random.default_rng(len(loss) + (uplo == "U"))
    a = _hermitian(rng, 2, 4, 4, dtype=dtype)
    # (only the triangle is read: the other one's garbage must not matter, in either library)
    a = a + np.where(np.tri(4, k=-1, dtype=bool).T if uplo == "L" else np.tri(4, k=-1, dtype=bool),
                     _complex(rng, 4, 4, dtype=dtype), 0)
    c = _complex(rng, 2, 4, 4, dtype=dtype)
    (tw, tg), (w, g) = _grads(a, uplo, loss, c)
    assert w.dtype == tw.dtype and g.dtype == tg.dtype == dtype and g.shape == tg.shape
    np.testing.assert_allclose(w, tw, rtol=TOL[dtype], atol=TOL[dtype])
    np.testing.assert_allclose(g, tg, rtol=TOL[dtype] * 10, atol=TOL[dtype] * 10)


@pytest.mark.parametrize("dtype", COMPLEX, ids=lambda d: d.__name__)
def test_eigvalsh_gradients_match_pytorch(dtype):
    rng = np.random.default_rng(3)
    a, c = _hermitian(rng, 3, 3, dtype=dtype), rng.standard_normal(3)
    results = []
    for lib in (torch, dg):
        x = lib.tensor(a, requires_grad=True)
        w = lib.linalg.eigvalsh(x)
        (w * lib.tensor(c).to(w.dtype)).sum().backward()
        results.append((w.dtype, x.grad.resolve_conj().numpy()))
    assert str(results[1][0]).split(".")[-1] == str(results[0][0]).split(".")[-1]
    np.testing.assert_allclose(results[1][1], results[0][1], atol=TOL[dtype] * 10)


def test_phase_dependent_loss_raises_as_pytorch():
    a = _hermitian(np.random.default_rng(5), 3, 3)
    for lib in (torch, dg):
        x = lib.tensor(a, requires_grad=True)
        v = lib.linalg.eigh(x).eigenvectors
        with pytest.raises(RuntimeError, match="linalg_eigh_backward: The eigenvectors in the "
                                               "complex case"):
            v.real.sum().backward()


def test_eigh_gradcheck_and_gradgradcheck_complex128():
    x = dg.tensor(_complex(np.random.default_rng(6), 3, 3), requires_grad=True)

    def fn(x):  # (Hermitian from any x; phase-invariant outputs)
        w, v = dg.linalg.eigh(x + x.mH)
        return w, v.abs() ** 2

    assert dg.autograd.gradcheck(fn, (x,))
    assert dg.autograd.gradgradcheck(fn, (x,))
    assert dg.autograd.gradcheck(lambda x: dg.linalg.eigvalsh(x @ x.mH), (x,))


def test_complex_values_without_grad_unchanged():
    a = _hermitian(np.random.default_rng(7), 2, 3, 3, dtype=np.complex64)
    w, v = dg.linalg.eigh(dg.tensor(a))
    tw = torch.linalg.eigh(torch.tensor(a)).eigenvalues.numpy()
    assert w.dtype == dg.float32 and v.dtype == dg.complex64
    np.testing.assert_allclose(w.numpy(), tw, atol=1e-5)
    np.testing.assert_allclose(v.numpy() * w.numpy()[..., None, :] @ v.mH.numpy(), a, atol=1e-5)
