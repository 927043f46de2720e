"""Session 20 (SP4): the orthogonal polynomials' per-call shortcuts (a single degree not
broadcast into a copy, edge rules applied only where an element takes them, x of the work
dtype and integer degrees passed as they are) give PyTorch's values, dtypes and shapes, and
never hand back the input's own buffer."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

_KINDS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
          "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
          "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
          "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
          "laguerre_polynomial_l", "legendre_polynomial_p"]


def _cases():
    rng = np.random.default_rng(20)
    # (no nan: PyTorch's vectorised kernels give a neighbour's value there for some degrees)
    edges = np.array([1.0, -1.0, 0.0, 0.5, 0.25, 2.0])
    return [
        (rng.uniform(-1.2, 1.2, ()), np.array(5.0)),
        (rng.uniform(-1.2, 1.2, (5,)), np.array(3.0)),
        (rng.uniform(-1.2, 1.2, (5, 1)), rng.uniform(-2, 12, (5,))),
        (edges, np.array(0.0)), (edges, np.array(1.0)), (edges, np.array(-1.0)),
        (edges, np.array(7.0)), (edges, np.array(12.0)), (edges, np.array(2.7)),
        (edges, np.array(-0.5)), (edges, np.array(np.nan)), (edges, np.array(np.inf)),
        (edges, np.array(1e20)),
        (edges[:, None], np.arange(-1.0, 11.0)[None, :]),
        (rng.uniform(-1.2, 1.2, (4,)), np.arange(4)),  # (int64 degrees)
        (np.arange(-2, 3), np.arange(5)),  # (integer x: the default dtype)
    ]


@pytest.mark.parametrize("kind", _KINDS)
def test_matches_pytorch(kind):
    for x, n in _cases():
        for dtype in (np.float32, np.float64):
            xs = x.astype(dtype) if x.dtype.kind == "f" else x
            ns = n.astype(dtype) if n.dtype.kind == "f" else n
            ours = getattr(dg.special, kind)(dg.tensor(xs), dg.tensor(ns))
            theirs = getattr(torch.special, kind)(torch.tensor(xs), torch.tensor(ns))
            assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
            assert tuple(ours.shape) == tuple(theirs.shape)
            tol = 1e-4 if ours.dtype == dg.float32 else 1e-10
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=tol, atol=tol,
                                       err_msg=f"{kind} {x} {n}")


@pytest.mark.parametrize("kind", _KINDS)
def test_result_is_not_the_input(kind):
    for degree in (0, 1, 3):
        x = dg.tensor([0.25, -0.5, 1.0], dtype=dg.float64)
        before = x.numpy().copy()
        out = getattr(dg.special, kind)(x, degree)
        out.numpy()[...] = 7.0
        np.testing.assert_array_equal(x.numpy(), before)
