"""The results of packed decompositions (``api/_common.parts``): one ``packed_part`` node each
over one shared op, gradients with some results unused, no_grad, double backward, capture."""

import numpy as np
import pytest

import deltagrad as dg


def _matrix(*shape, seed=0):
    return dg.tensor(np.random.default_rng(seed).standard_normal(shape), dtype=dg.float64,
                     requires_grad=True)


def test_results_share_one_node():
    A = _matrix(4, 3)
    U, S, Vh = dg.linalg.svd(A, full_matrices=False)
    nodes = [t.grad_fn for t in (U, S, Vh)]
    assert [node.name for node in nodes] == ["packed_part"] * 3
    packed = nodes[0].inputs[0]
    assert all(node.inputs[0] is packed for node in nodes)
    assert packed.grad_fn.name == "linalg_svd"


@pytest.mark.parametrize("use", ["first", "second", "both"])
def test_gradients_with_results_unused(use):
    # Results not used send no gradient: the decomposition's rule sees zeros there.
    def qr(A):
        Q, R = dg.linalg.qr(A)
        return {"first": (Q,), "second": (R,), "both": (Q, R)}[use]

    def eigh(A):
        w, V = dg.linalg.eigh(A + A.mT)
        return {"first": (w,), "second": (V * V[..., :1, :].sign(),), "both": (w, V.abs())}[use]

    assert dg.autograd.gradcheck(qr, (_matrix(4, 3),))
    assert dg.autograd.gradcheck(eigh, (_matrix(3, 3, seed=1),))


def test_results_used_twice_accumulate():
    A = _matrix(3, 3, seed=2)
    sign, logabsdet = dg.linalg.slogdet(A)
    (logabsdet * 2 + logabsdet).backward()
    expected = 3 * np.linalg.inv(A.detach().numpy()).T
    np.testing.assert_allclose(A.grad.numpy(), expected, rtol=1e-12)


def test_no_grad_results_are_leaves():
    A = _matrix(3, 3)
    with dg.no_grad():
        LU, pivots = dg.linalg.lu_factor(A)
    assert LU.grad_fn is None and not LU.requires_grad
    np.testing.assert_array_equal(pivots.numpy(), np.asarray(pivots.numpy(), dtype=np.int32))


def test_double_backward_through_parts():
    def svd_values(A):
        return dg.linalg.svd(A, full_matrices=False)[1]

    assert dg.autograd.gradgradcheck(svd_values, (_matrix(3, 2, seed=3),))


def test_capture_replays_parts_bit_identically():
    values = np.random.default_rng(4).standard_normal((4, 3))
    eager = dg.tensor(values, requires_grad=True)
    captured = dg.tensor(values, requires_grad=True)

    def loss_of(A):
        Q, R = dg.linalg.qr(A)
        w, V = dg.linalg.eigh(R.mT @ R)
        return (Q.sum() * w).sum() + V.abs().sum()

    loss_of(eager).backward()
    step = dg.capture_step(lambda: loss_of(captured))
    for _ in range(2):  # the second call replays
        captured.grad = None
        loss = step()
    assert float(loss) == float(loss_of(eager.detach()))
    np.testing.assert_array_equal(captured.grad.numpy(), eager.grad.numpy())
