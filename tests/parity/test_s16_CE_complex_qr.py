"""Complex gradients of linalg.qr against PyTorch (CE, s16).

Q and R are LAPACK's (geqrf / ungqr in both libraries, R's diagonal real), so a loss that reads
both parts of Q and R compares directly. Before: complex values only, gradients
NotImplementedError.
"""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

from complex_cases import COMPLEX, TOL  # noqa: E402
from complex_cases import complex_array as _complex  # noqa: E402

SHAPES = {"tall": ((5, 3), "reduced"), "square_complete": ((2, 4, 4), "complete"),
          "wide": ((3, 5), "reduced"), "wide_complete": ((2, 3, 5), "complete")}


@pytest.mark.parametrize("dtype", COMPLEX, ids=lambda d: d.__name__)
@pytest.mark.parametrize("case", SHAPES)
def test_qr_gradients_match_pytorch(dtype, case):
    shape, mode = SHAPES[case]
    rng = np.random.default_rng(len(case))
    a = _complex(rng, *shape, dtype=dtype)
    with torch.no_grad():
        weights = [_complex(rng, *t.shape, dtype=dtype) for t in torch.linalg.qr(torch.tensor(a),
                                                                                 mode)]
    results = []
    for lib in (torch, dg):
        x = lib.tensor(a, requires_grad=True)
        outs = lib.linalg.qr(x, mode)
        # (both parts of Q and R read: Re(conj(w) * out) + |out|²)
        sum((lib.tensor(w).conj() * o).real.sum() + (o.abs() ** 2).sum()
            for w, o in zip(weights, outs)).backward()
        results.append([o.detach().resolve_conj().numpy() for o in outs]
                       + [x.grad.resolve_conj().numpy()])
    for t, d in zip(*results):
        assert d.dtype == t.dtype == dtype and d.shape == t.shape
        np.testing.assert_allclose(d, t, rtol=TOL[dtype] * 10, atol=TOL[dtype] * 10)


def test_qr_gradcheck_and_gradgradcheck_complex128():
    rng = np.random.default_rng(3)
    x = dg.tensor(_complex(rng, 4, 3), requires_grad=True)
    assert dg.autograd.gradcheck(lambda x: dg.linalg.qr(x), (x,))
    assert dg.autograd.gradgradcheck(lambda x: dg.linalg.qr(x), (x,))
    y = dg.tensor(_complex(rng, 2, 3, 4), requires_grad=True)
    assert dg.autograd.gradcheck(lambda y: dg.linalg.qr(y, "complete"), (y,))


@pytest.mark.parametrize("shape, mode", [((3, 3), "r"), ((4, 3), "complete")])
def test_qr_backward_refuses_as_pytorch(shape, mode):
    a = _complex(np.random.default_rng(4), *shape, dtype=np.complex64)
    messages = []
    for lib in (torch, dg):
        x = lib.tensor(a, requires_grad=True)
        with pytest.raises(RuntimeError) as info:
            lib.linalg.qr(x, mode).R.abs().sum().backward()
        messages.append(str(info.value).split(".")[0])
    assert messages[1] == messages[0]


def test_complex_values_without_grad_unchanged():
    a = _complex(np.random.default_rng(5), 2, 4, 3, dtype=np.complex64)
    q, r = dg.linalg.qr(dg.tensor(a))
    tq, tr = torch.linalg.qr(torch.tensor(a))
    assert q.dtype == r.dtype == dg.complex64 and q.shape == tq.shape and r.shape == tr.shape
    np.testing.assert_allclose(q.numpy(), tq.numpy(), atol=1e-5)
    np.testing.assert_allclose(r.numpy(), tr.numpy(), atol=1e-5)
    q, r = dg.linalg.qr(dg.tensor(a), "r")
    assert q.shape == (0,) and q.dtype == dg.complex64
    np.testing.assert_allclose(r.numpy(), tr.numpy(), atol=1e-5)
