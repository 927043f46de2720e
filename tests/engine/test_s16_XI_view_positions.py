"""Where a view's elements sit in the tensor it views (api/view_positions.py), whose row-major
fast path (s16 XI: strides over an arange instead of sorting the top's addresses) must give the
general path's answer: checked against the same view taken of an arange, and against the
general path itself on a top that is not row-major."""

import numpy as np
import pytest

import deltagrad
from deltagrad._engine.api.view_positions import positions_in

VIEWS = {
    "diagonal": lambda a: np.diagonal(a, 0, -2, -1),
    "upper-diagonal": lambda a: np.diagonal(a, 1, -2, -1),
    "lower-diagonal-tail": lambda a: np.diagonal(a, -1, -2, -1)[..., 1:],
    "strided-block": lambda a: a[:, ::2, 1:4],
    "transpose": lambda a: a.transpose(2, 0, 1),
    "reversed": lambda a: a[::-1, :, ::-2],
    "element": lambda a: a[1, 2, 3, ...],
    "whole": lambda a: a,
    "broadcast": lambda a: np.broadcast_to(a[0, :1], (3, 6)),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int16])
@pytest.mark.parametrize("name", sorted(VIEWS))
def test_positions_match_the_same_view_of_an_arange(name, dtype):
    top = np.zeros((2, 6, 6), dtype=dtype)
    view = VIEWS[name](top)
    expected = VIEWS[name](np.arange(top.size).reshape(top.shape))
    got = positions_in(top, view)
    assert got.dtype == np.int64 and got.shape == np.shape(expected)
    np.testing.assert_array_equal(got, expected)
    # (the general path, on a top that is not row-major, agrees)
    wide = np.zeros((2, 6, 12), dtype=dtype)[..., ::2]
    np.testing.assert_array_equal(positions_in(wide, VIEWS[name](wide)), expected)


def test_a_view_of_other_memory_or_a_reinterpreted_view_is_refused():
    top = np.zeros((4, 4))
    with pytest.raises(RuntimeError, match="one-to-one"):
        positions_in(top, np.zeros(3))
    raw = np.zeros(17)
    with pytest.raises(RuntimeError, match="one-to-one"):  # (half-element offset)
        positions_in(raw[:16].view(np.float64), raw.view(np.uint8)[4:12].view(np.float64))


def test_writes_through_diagonal_views_taken_before_the_graph_match_pytorch():
    """xitorch's spline matrix: views taken before the matrix joins the graph, then written.
    (PyTorch 2.13 refuses the second write, "a leaf Variable that requires grad is being used
    in an in-place operation", which older versions took: its side takes the views afresh.)"""
    torch = pytest.importorskip("torch")

    def program(lib, early):
        d = lib.tensor(np.linspace(0.5, 2.0, 12).reshape(2, 6), dtype=lib.float64,
                       requires_grad=True)
        m = lib.zeros(2, 6, 6, dtype=lib.float64)
        upper = m.diagonal(offset=1, dim1=-2, dim2=-1) if early else None
        lower = m.diagonal(offset=-1, dim1=-2, dim2=-1) if early else None
        m.diagonal(dim1=-2, dim2=-1)[...] = d * 4
        (upper if early else m.diagonal(offset=1, dim1=-2, dim2=-1))[...] = d[..., 1:]
        (lower if early else m.diagonal(offset=-1, dim1=-2, dim2=-1))[...] = d[..., :-1] ** 2
        out = lib.linalg.solve(m, lib.ones(2, 6, dtype=lib.float64)).sum()
        return out, lib.autograd.grad(out, d)[0]

    ours, theirs = program(deltagrad, True), program(torch, False)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)
