"""Session 30, BR23: linalg results laid out as PyTorch's (LAPACK's column-major factors), the
solve / lstsq vector results' node and strides, and vmap refusals; each against PyTorch 2.13."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _spd(rng, shape):
    m = rng.standard_normal(shape)
    return m @ np.swapaxes(m, -1, -2) + shape[-1] * np.eye(shape[-1])


def _general(rng, shape):
    return rng.standard_normal(shape) + shape[-1] * np.eye(shape[-1])


# (name, function of (library, *tensors), input makers of (rng, batch, complex)); each result's
# shape and strides must be PyTorch's. Rectangular cases run at [4, 2] and [2, 4].
def _rect(rng, batch, cplx, m, n):
    a = rng.standard_normal(batch + (m, n))
    return a + 1j * rng.standard_normal(a.shape) if cplx else a


_RECT = [
    ("linalg.qr", lambda L, a: L.linalg.qr(a)),
    ("linalg.qr complete", lambda L, a: L.linalg.qr(a, mode="complete")),
    ("linalg.qr r", lambda L, a: L.linalg.qr(a, mode="r")),
    ("linalg.svd", lambda L, a: L.linalg.svd(a)),
    ("linalg.svd reduced", lambda L, a: L.linalg.svd(a, full_matrices=False)),
    ("svd", lambda L, a: L.svd(a)),
    ("svd some=False", lambda L, a: L.svd(a, some=False)),
    ("linalg.lu_factor", lambda L, a: L.linalg.lu_factor(a)),
    ("linalg.lu", lambda L, a: L.linalg.lu(a)),
    ("geqrf", lambda L, a: L.geqrf(a)),
]
_SQUARE = [
    ("linalg.eigh", lambda L, a: L.linalg.eigh(a), _spd),
    ("linalg.eig", lambda L, a: L.linalg.eig(a), _general),
    ("linalg.cholesky upper", lambda L, a: L.linalg.cholesky(a, upper=True), _spd),
    ("linalg.cholesky_ex", lambda L, a: L.linalg.cholesky_ex(a), _spd),
    ("linalg.inv", lambda L, a: L.linalg.inv(a), _general),
    ("linalg.inv_ex", lambda L, a: L.linalg.inv_ex(a), _general),
    ("inverse", lambda L, a: L.inverse(a), _general),
    ("linalg.slogdet", lambda L, a: L.linalg.slogdet(a), _general),
    ("linalg.ldl_factor", lambda L, a: L.linalg.ldl_factor(a), _spd),
    ("cholesky_inverse", lambda L, a: L.cholesky_inverse(L.linalg.cholesky(a)), _spd),
]
_WITH_B = [  # (A maker, B's trailing shape)
    ("linalg.solve vector", lambda L, a, b: L.linalg.solve(a, b[..., 0]), _general),
    ("linalg.solve", lambda L, a, b: L.linalg.solve(a, b), _general),
    ("linalg.solve_ex vector", lambda L, a, b: L.linalg.solve_ex(a, b[..., 0]), _general),
    ("linalg.solve_triangular", lambda L, a, b: L.linalg.solve_triangular(a, b, upper=True),
     _general),
    ("linalg.lu_solve", lambda L, a, b: L.linalg.lu_solve(*L.linalg.lu_factor(a), b), _general),
    ("cholesky_solve", lambda L, a, b: L.cholesky_solve(b, L.linalg.cholesky(a)), _spd),
    ("linalg.lstsq", lambda L, a, b: L.linalg.lstsq(a, b), _general),
    ("linalg.lstsq vector", lambda L, a, b: L.linalg.lstsq(a, b[..., 0]), _general),
]
_BATCHES = {"": (), "b3": (3,), "b2x3": (2, 3)}
_NO_COMPLEX = {"linalg.lu_factor", "linalg.lu", "geqrf", "linalg.ldl_factor", "linalg.lu_solve",
               "linalg.lstsq", "linalg.lstsq vector"}  # (deltagrad refuses: a clear error)


def _cases():
    for batch in _BATCHES:
        for cplx in (False, True):
            kind = "complex" if cplx else "real"
            for name, _ in _RECT:
                for m, n in ((4, 2), (2, 4)):
                    yield f"{name}-{kind}-{batch}-{m}x{n}"
            for name, *_ in _SQUARE + _WITH_B:
                yield f"{name}-{kind}-{batch}"


def _layout(results):
    results = results if isinstance(results, tuple) else (results,)
    return [(tuple(r.shape), r.stride()) for r in results]


@pytest.mark.parametrize("case", [c for c in _cases()
                                  if not ("complex" in c and c.split("-")[0] in _NO_COMPLEX)])
def test_linalg_results_have_pytorchs_strides(case):
    name, kind, batch, *size = case.split("-")
    rng = np.random.default_rng(zlib.crc32(case.encode()))
    cplx, batch = kind == "complex", _BATCHES[batch]
    if size:
        m, n = map(int, size[0].split("x"))
        function = dict(_RECT)[name]
        arrays = [_rect(rng, batch, cplx, m, n)]
    else:
        table = {entry[0]: entry[1:] for entry in _SQUARE + _WITH_B}
        function, make = table[name]
        a = make(rng, batch + (3, 3))
        arrays = [a.astype(complex) if cplx else a]
        if any(name == entry[0] for entry in _WITH_B):
            b = rng.standard_normal(batch + (3, 2))
            arrays.append(b.astype(complex) if cplx else b)
    ours = function(dg, *[dg.tensor(x) for x in arrays])
    theirs = function(torch, *[torch.tensor(x) for x in arrays])
    assert _layout(ours) == _layout(theirs)


def _both(function, *arrays, grad=True):
    """``function`` run on each library's tensors made from ``arrays`` (float64, requiring
    grad when ``grad``): ``[(library, result, inputs)]``."""
    runs = []
    for L in (torch, dg):
        inputs = [L.tensor(x, dtype=L.float64, requires_grad=grad) for x in arrays]
        runs.append((L, function(L, *inputs), inputs))
    return runs


@pytest.mark.parametrize("batch", ["", "b3", "b2x3"])
def test_solve_with_a_vector_is_pytorchs_node(batch):
    # A[*, n, n] with b[*, n] (and with b[n], broadcast): PyTorch's result is its own
    # LinalgSolveExBackward0 node, not a view, its [*, n] column-major in the last two dims;
    # deltagrad's was a squeeze of the one-column solution (SqueezeBackward1, row-major)
    rng = np.random.default_rng(7)
    shape = _BATCHES[batch]
    a, b, b1 = _general(rng, shape + (3, 3)), rng.standard_normal(shape + (3,)), [1.0, 2, 3]
    for rhs in (b, b1):
        (_, x_t, ins_t), (_, x_d, ins_d) = _both(lambda L, A, B: L.linalg.solve(A, B), a, rhs)
        assert x_d.stride() == x_t.stride() and x_d._is_view() == x_t._is_view()
        assert type(x_d.grad_fn).__name__ == type(x_t.grad_fn).__name__
        weights = rng.standard_normal(tuple(x_t.shape))
        (x_t * torch.tensor(weights)).sum().backward()
        (x_d * dg.tensor(weights)).sum().backward()
        for t, d in zip(ins_t, ins_d):
            np.testing.assert_allclose(d.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("vector", [False, True], ids=["matrix", "vector"])
@pytest.mark.parametrize("driver", ["gelsy", "gelsd"])
def test_lstsq_solution_is_pytorchs_node_and_layout(vector, driver):
    # PyTorch's solution: the first n rows of LAPACK's [*, max(m, n), k] buffer (strides (12,
    # 1, 4) for [3, 2, 3] from A [3, 4, 2]), node LinalgLstsqBackward0
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((3, 4, 2)), rng.standard_normal((3, 4) if vector else (3, 4, 3))
    runs = _both(lambda L, A, B: L.linalg.lstsq(A, B, driver=driver), a, b)
    (_, r_t, ins_t), (_, r_d, ins_d) = runs
    assert _layout(r_d) == _layout(r_t)
    assert type(r_d.solution.grad_fn).__name__ == type(r_t.solution.grad_fn).__name__
    assert r_d.solution._is_view() == r_t.solution._is_view()
    np.testing.assert_allclose(r_d.solution.detach().numpy(), r_t.solution.detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    r_t.solution.square().sum().backward()
    r_d.solution.square().sum().backward()
    for t, d in zip(ins_t, ins_d):
        np.testing.assert_allclose(d.grad.numpy(), t.grad.numpy(), rtol=1e-8, atol=1e-10)


_FACTORS = {
    "qr Q": lambda L, a: L.linalg.qr(a)[0],
    "qr R": lambda L, a: L.linalg.qr(a)[1],
    "svd S": lambda L, a: L.linalg.svd(a)[1],
    "svd Vh": lambda L, a: L.linalg.svd(a)[2],
    "eigh vectors": lambda L, a: L.linalg.eigh(a @ a.mT)[1],
    "lu_factor LU": lambda L, a: L.linalg.lu_factor(a)[0],
}


@pytest.mark.parametrize("name", list(_FACTORS))
def test_factor_changed_in_place_then_backward_raises_as_pytorch(name):
    # The factors are laid out in memory of their own now; an in-place change of one still
    # reaches the decomposition's saved result: PyTorch's "modified by an inplace operation"
    a = np.eye(3) + np.arange(9.0).reshape(3, 3) / 10
    for L in (torch, dg):
        A = L.tensor(a, requires_grad=True)
        factor = _FACTORS[name](L, A)
        assert not factor._is_view()
        factor.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            factor.sum().backward()


def test_factors_are_separate_memory():
    # Changing Q in place leaves R as it was (both libraries: separate results)
    a = np.arange(12.0).reshape(4, 3) + np.eye(4, 3)
    got = []
    for L in (torch, dg):
        Q, R = L.linalg.qr(L.tensor(a))
        before = R.clone()
        Q.zero_()
        got.append(bool((R == before).all()))
    assert got == [True, True]


def test_factor_strides_survive_a_replayed_step():
    # capture_step replays packed_part's registered forward: the same layout (and bits)
    values = np.random.default_rng(5).standard_normal((2, 4, 3))
    eager, captured = (dg.tensor(values, requires_grad=True) for _ in range(2))

    def loss_of(A):
        Q, R = dg.linalg.qr(A)
        assert Q.stride() == (12, 1, 4)
        U, S, Vh = dg.linalg.svd(R)
        return (Q.sum() * S).sum() + (Vh.mT @ R).abs().sum()

    loss_of(eager).backward()
    step = dg.capture_step(lambda: loss_of(captured))
    for _ in range(2):
        captured.grad = None
        step()
    np.testing.assert_array_equal(captured.grad.numpy(), eager.grad.numpy())


# ---------------------------------------------------------------- vmap refusals (item 3)
# deltagrad's vmap is a loop over the examples; while the first runs, values computed from a
# mapped input are marked (modes.MAPPED), and PyTorch's refusals of a batched value apply.
_X = [[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]
_P = [[0.5, 0.2], [0.1, 0.9]]
_VMAP = {  # name: (function of (library, row), input, randomness)
    "item": (lambda L, r: r.sum() + r[0].item(), _X, "error"),
    "float": (lambda L, r: r.sum() * float(r[0]), _X, "error"),
    "int of an index": (lambda L, r: r * int(r[1]), _X, "error"),
    "tolist": (lambda L, r: L.tensor(r.tolist()), _X, "error"),
    "branch": (lambda L, r: r * 2 if r.sum() > 2 else r, _X, "error"),
    "branch on any": (lambda L, r: r * 2 if (r > 2).any() else r, _X, "error"),
    "nonzero": (lambda L, r: r.nonzero(), _X, "error"),
    "nonzero as_tuple": (lambda L, r: L.nonzero(r, as_tuple=True)[0], _X, "error"),
    "masked_select": (lambda L, r: L.masked_select(r, r > 0), _X, "error"),
    "boolean index": (lambda L, r: r[r > 0], _X, "error"),
    "unique": (lambda L, r: L.unique(r), _X, "error"),
    "unique dim": (lambda L, r: L.unique(r.reshape(3, 1), dim=0), _X, "error"),
    "unique_consecutive": (lambda L, r: L.unique_consecutive(r), _X, "error"),
    "equal": (lambda L, r: L.tensor(L.equal(r, r)), _X, "error"),
    "allclose": (lambda L, r: L.tensor(L.allclose(r, r)), _X, "error"),
    "bernoulli same": (lambda L, q: L.bernoulli(q), _P, "same"),
    "normal same": (lambda L, q: L.normal(q, 1.0), _P, "same"),
    "poisson same": (lambda L, q: L.poisson(q), _P, "same"),
    "multinomial same": (lambda L, q: L.multinomial(q, 1), _P, "same"),
    "bernoulli_ same": (lambda L, q: L.zeros(2).bernoulli_(q), _P, "same"),
    "binomial same": (lambda L, q: L.binomial(q * 0 + 4, q), _P, "same"),
    "resize_as_ unmapped self": (lambda L, r: L.zeros(3).resize_as_(r), _X, "error"),
    # (PyTorch computes these: an unbatched value, a draw that reads no mapped parameter)
    "item of an unmapped value": (lambda L, r: r + L.tensor(2.0).item(), _X, "error"),
    "float of an unmapped value": (lambda L, r: r * float(L.ones(())), _X, "error"),
    "bernoulli different": (lambda L, q: L.bernoulli(q) * 0, _P, "different"),
    "rand_like same": (lambda L, q: L.rand_like(q) * 0, _P, "same"),
    "dropout same": (lambda L, q: L.nn.functional.dropout(q, 0.5) * 0, _P, "same"),
}


def _vmap_outcome(L, name):
    function, values, randomness = _VMAP[name]
    try:
        out = L.func.vmap(lambda r: function(L, r), randomness=randomness)(L.tensor(values))
    except Exception as error:  # noqa: BLE001 - the outcome compared
        return type(error).__name__, str(error)[:60]
    return "ok", out.detach().numpy().tolist()


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", list(_VMAP))
def test_vmap_refuses_as_pytorch(name):
    assert _vmap_outcome(dg, name) == _vmap_outcome(torch, name)


def test_vmap_marks_only_the_first_example_and_unmarks_after():
    # Nothing stays marked outside vmap: .item() of a result of a finished vmap works
    seen = []

    def f(r):
        seen.append(r.sum())
        return r * 2

    out = dg.func.vmap(f)(dg.tensor(_X))
    assert out.sum().item() == 12.0 and [s.item() for s in seen] == [3.0, 3.0]


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_householder_product_of_integers_is_the_kernel_error(dtype):
    # PyTorch: NotImplementedError "orgqr_cpu" not implemented for 'Long'; deltagrad raised
    # RuntimeError (found by SL8's soak once the factor strides no longer hid it)
    errors = []
    for L in (torch, dg):
        a = L.ones((2, 2), dtype=getattr(L, dtype))
        with pytest.raises(NotImplementedError) as raised:
            L.linalg.householder_product(a, a[..., 0, :])
        errors.append(str(raised.value).split(" (")[0])
    assert errors[0] == errors[1]
