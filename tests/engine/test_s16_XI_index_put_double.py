"""Double backward through writes at an index (index_put's rule in graph mode), against PyTorch.

xitorch's cubic spline writes a matrix's diagonals in place and gradgradchecks the result; the
graph-mode rule of index_put (s16 XI: index_put of a 0 instead of where) must keep the second
derivatives, the written positions cleared and every write's gradient read back."""

import numpy as np
import pytest

import deltagrad

torch = pytest.importorskip("torch")

# name -> (index, how many of v's elements the written values take: they broadcast)
INDEXES = {
    "diagonal-view": (None, 3),  # writes through .diagonal() views, as xitorch's spline matrix
    "rows": ((np.array([2, 0]),), 4),
    "points": ((np.array([0, 1, 2]), np.array([3, 0, 1])), 3),
    "repeated": ((np.array([1, 1]),), 4),
    "ellipsis-slice": ((Ellipsis, slice(1, 3)), 2),
    "mask": ((np.array([[True, False, True, False]] * 3),), 6),
}


def _program(lib, x, v, index, count):
    m = lib.zeros(3, 4, dtype=x.dtype) + x * 0.5
    if index is None:
        m.diagonal()[...] = v[:count] ** 2
        m.diagonal(offset=1)[...] = v[:count] * x[0, :3]
    else:
        m[index] = v[:count] ** 2
    out = (m.sin() * m).sum()
    (gx, gv) = lib.autograd.grad(out, (x, v), create_graph=True)
    second = lib.autograd.grad((gx ** 2).sum() + (gv * v).sum(), (x, v))
    return [out, gx, gv, *second]


def _to(lib, a):
    return lib.tensor(a, dtype=lib.float64, requires_grad=True)


@pytest.mark.parametrize("name", sorted(INDEXES))
def test_second_derivatives_through_index_put_match_pytorch(name):
    rng = np.random.default_rng(7)
    x, v = rng.standard_normal((3, 4)), rng.standard_normal(6)
    index, count = INDEXES[name]
    t_index = None if index is None else tuple(
        torch.as_tensor(i) if isinstance(i, np.ndarray) else i for i in index)
    ours = _program(deltagrad, _to(deltagrad, x), _to(deltagrad, v), index, count)
    theirs = _program(torch, _to(torch, x), _to(torch, v), t_index, count)
    for a, b in zip(ours, theirs):
        assert a.dtype == deltagrad.float64 and tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)


def test_gradgradcheck_of_a_written_diagonal():
    x = deltagrad.tensor(np.random.default_rng(3).standard_normal(5), dtype=deltagrad.float64,
                         requires_grad=True)

    def f(x):
        m = deltagrad.zeros(5, 5, dtype=x.dtype)
        m.diagonal()[:] = x.exp()
        m.diagonal(offset=-1)[:] = x[1:] * x[:-1]
        return (m @ m).sum(-1)

    assert deltagrad.autograd.gradgradcheck(f, (x,))
