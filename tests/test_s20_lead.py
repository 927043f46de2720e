"""Session 20's lead: what the merge found."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("sparse", [True, False])
def test_dsmm_as_pytorch(sparse):
    """``torch.dsmm`` (gpytorch's SKI through linear_operator's ``bdsmm`` reached it once a
    sparse input to an ``autograd.Function`` worked): values and the dense operand's gradient."""
    rng = np.random.default_rng(0)
    index, values = np.array([[0, 1, 2, 2], [1, 0, 2, 0]]), rng.standard_normal(4)
    dense = rng.standard_normal((3, 4))
    results = []
    for lib in (dg, torch):
        a = lib.sparse_coo_tensor(lib.tensor(index), lib.tensor(values), (3, 3))
        a = a if sparse else a.to_dense()
        b = lib.tensor(dense, requires_grad=True)
        out = lib.dsmm(a, b)
        (out * lib.arange(12.0, dtype=lib.float64).reshape(3, 4)).sum().backward()
        results.append((out.detach().numpy(), b.grad.numpy(), out.layout == lib.strided))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)
    assert results[0][2] and results[1][2]
