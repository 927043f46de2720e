"""Session 24's known differences fixed in s25 (BR8), against PyTorch: views and node names of
composites, load_state_dict that raises, sparse times dense broadcasting, cholesky_solve with a
singular factor, masked_fill with a NumPy complex value."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

# --------------------------------------------------------------------------------------------
# _is_view / _base / grad_fn names, before and after backward

_VIEWS = {
    "contiguous of contiguous": lambda t, x, c: x.contiguous(),
    "contiguous of transposed": lambda t, x, c: x.t().contiguous(),
    "max(dim).values": lambda t, x, c: x.max(1).values,
    "min(dim).values": lambda t, x, c: x.min(1).values,
    "max of a row": lambda t, x, c: x[0].max(0).values,
    "roll dim": lambda t, x, c: x.roll(1, 0),
    "roll no dim": lambda t, x, c: x.roll(1),
    "roll two dims": lambda t, x, c: x.roll((1, 1), (0, 1)),
    "roll by 0": lambda t, x, c: x.roll(0, 0),
    "as_strided": lambda t, x, c: x.as_strided((2, 2), (1, 2)),
    "as_strided offset": lambda t, x, c: x.as_strided((2,), (1,), 1),
    "flip": lambda t, x, c: x.flip(0),
    "flip no dims": lambda t, x, c: x.flip(()),
    "fliplr": lambda t, x, c: x.fliplr(),
    "view_as_real": lambda t, x, c: t.view_as_real(c),
    "t": lambda t, x, c: x.t(),
    "view": lambda t, x, c: x.view(6),
    "select": lambda t, x, c: x[0],
    "expand": lambda t, x, c: x[0:1].expand(3, 3),
}


def _view_facts(t, key, after_backward):
    x = t.arange(6.0).reshape(2, 3).requires_grad_()
    xs = x * 1
    c = t.tensor([1 + 2j, 3 - 1j], requires_grad=True) * 1
    y = _VIEWS[key](t, xs, c)
    if after_backward:
        y.abs().sum().backward()
    base = y._base
    return (y._is_view(), type(y.grad_fn).__name__,
            None if base is None else (base is xs or base is c), y is xs)


@pytest.mark.parametrize("after_backward", [False, True])
@pytest.mark.parametrize("key", list(_VIEWS))
def test_views_and_names_as_pytorch(key, after_backward):
    assert _view_facts(dg, key, after_backward) == _view_facts(torch, key, after_backward)


# --------------------------------------------------------------------------------------------
# load_state_dict that raises: what fitted is copied first (PyTorch's)

def _load(t, change, **options):
    t.manual_seed(0)
    model = t.nn.Sequential(t.nn.Linear(2, 2), t.nn.Linear(2, 3))
    state = {k: v + 1 for k, v in model.state_dict().items()}
    change(t, state)
    try:
        model.load_state_dict(state, **options)
        raised = False
    except RuntimeError:
        raised = True
    return raised, [p.detach().numpy().copy() for p in model.parameters()]


_LOADS = {
    "size mismatch": (lambda t, s: s.__setitem__("1.weight", t.zeros(4, 4)), {}),
    "missing": (lambda t, s: s.pop("1.bias"), {}),
    "unexpected": (lambda t, s: s.__setitem__("x", t.ones(1)), {}),
    "size mismatch, assign": (lambda t, s: s.__setitem__("1.weight", t.zeros(4, 4)),
                              {"assign": True}),
    "size mismatch, not strict": (lambda t, s: s.__setitem__("1.weight", t.zeros(4, 4)),
                                  {"strict": False}),
}


@pytest.mark.parametrize("key", list(_LOADS))
def test_failed_load_state_dict_copies_what_fits(key):
    change, options = _LOADS[key]
    ours, theirs = _load(dg, change, **options), _load(torch, change, **options)
    assert ours[0] == theirs[0] is True
    for a, b in zip(ours[1], theirs[1]):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------------------------
# sparse times dense where the sparse dims broadcast

@pytest.mark.parametrize("sparse_dims", [2, 1])
@pytest.mark.parametrize("reverse", [False, True])
def test_sparse_times_broadcast_dense(sparse_dims, reverse):
    results = []
    for t in (dg, torch):
        s = t.tensor([[1.0], [0.0], [2.0]]).to_sparse(sparse_dims)
        d = t.tensor([[1.0, 2.0, 3.0]])
        out = d * s if reverse else s * d
        results.append((str(out.layout).split(".")[-1], tuple(out.shape), out.is_coalesced(),
                        out.to_dense().numpy()))
    assert results[0][:3] == results[1][:3]
    np.testing.assert_array_equal(results[0][3], results[1][3])


# --------------------------------------------------------------------------------------------
# cholesky_solve with a singular factor: inf / nan, no error

@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("factor", [[[0.0, 0.0], [0.0, 0.0]], [[1.0, 0.0], [1.0, 0.0]]])
@pytest.mark.parametrize("batched", [False, True])
def test_cholesky_solve_singular_factor(factor, upper, batched):
    outs = []
    for t in (dg, torch):
        L = t.tensor(factor)
        B = t.eye(2)
        if batched:
            L, B = L.expand(3, 2, 2), t.ones(3, 2, 1)
        outs.append(t.cholesky_solve(B, L, upper=upper).numpy())
    np.testing.assert_array_equal(outs[0], outs[1])


# --------------------------------------------------------------------------------------------
# masked_fill of a real tensor with a NumPy complex value

@pytest.mark.parametrize("value", [np.complex64(1 + 2j), np.complex64(3 + 0j),
                                   np.clongdouble(1 + 2j), np.complex128(1 + 2j), 1 + 2j])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_masked_fill_numpy_complex(value, dtype):
    results = []
    for t in (dg, torch):
        x = t.zeros(3, dtype=getattr(t, dtype))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out = x.masked_fill(t.tensor([True, False, True]), value).numpy()
            except RuntimeError:
                out = "RuntimeError"
        results.append((out, [(w.category, w.filename) for w in caught]))
    if isinstance(results[1][0], str):
        assert results[0][0] == results[1][0]
    else:
        np.testing.assert_array_equal(results[0][0], results[1][0])
        assert results[0][0].dtype == results[1][0].dtype
    assert results[0][1] == results[1][1]  # (ComplexWarning at this file's line, or none)


# --------------------------------------------------------------------------------------------
# compressed sparse conversions' and values()' node names

_CONVERSIONS = {
    "dense to csr": lambda t, d: d.to_sparse_csr(),
    "dense to csc": lambda t, d: d.to_sparse_csc(),
    "dense to bsr": lambda t, d: d.to_sparse_bsr((1, 1)),
    "dense to bsr 2x1": lambda t, d: d.to_sparse_bsr((2, 1)),
    "dense to bsc": lambda t, d: d.to_sparse_bsc((1, 1)),
    "dense to csc by layout": lambda t, d: d.to_sparse(layout=t.sparse_csc),
    "coo to csr": lambda t, d: d.to_sparse().to_sparse_csr(),
    "coo to csc": lambda t, d: d.to_sparse().to_sparse_csc(),
    "coo to bsr": lambda t, d: d.to_sparse().to_sparse_bsr((1, 1)),
    "csr to csc": lambda t, d: d.to_sparse_csr().to_sparse_csc(),
    "csc to csr": lambda t, d: d.to_sparse_csc().to_sparse_csr(),
    "csr values": lambda t, d: d.to_sparse_csr().values(),
    "csc values": lambda t, d: d.to_sparse_csc().values(),
    "bsr values": lambda t, d: d.to_sparse_bsr((1, 1)).values(),
    "bsc values": lambda t, d: d.to_sparse_bsc((1, 1)).values(),
}


@pytest.mark.parametrize("key", list(_CONVERSIONS))
def test_compressed_sparse_node_names(key):
    names, grads = [], []
    for t in (dg, torch):
        d = t.tensor([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (PyTorch's beta-state warning)
            out = _CONVERSIONS[key](t, d)
        names.append(type(out.grad_fn).__name__)
        if key.endswith("values"):
            out.sum().backward()
            grads.append(d.grad.numpy())
    assert names[0] == names[1]
    for a, b in zip(grads[:1], grads[1:]):
        np.testing.assert_array_equal(a, b)


def test_csr_values_is_a_new_node_each_call():
    d = dg.tensor([[1.0, 0.0], [0.0, 2.0]], requires_grad=True)
    csr = d.to_sparse_csr()
    first, second = csr.values(), csr.values()
    assert first is not second and type(csr.grad_fn).__name__ == "ToSparseCsrBackward0"
    np.testing.assert_array_equal(first.detach().numpy(), [1.0, 2.0])


# --------------------------------------------------------------------------------------------
# Tensor.sum() of to_sparse(x): x's gradient whole (torch.sparse.sum's stays on the entries)

_SPARSE_SUMS = {
    "sum": lambda t, x: x.to_sparse().sum(),
    "sum float64": lambda t, x: x.to_sparse().sum(dtype=t.float64),
    "t().sum": lambda t, x: x.to_sparse().t().sum(),
    "t().t().sum": lambda t, x: x.to_sparse().t().t().sum(),
    "coalesce().sum": lambda t, x: x.to_sparse().coalesce().sum(),
    "sparse.sum": lambda t, x: t.sparse.sum(x.to_sparse()),
    "to_dense().sum": lambda t, x: x.to_sparse().t().to_dense().sum(),
}


@pytest.mark.parametrize("key", list(_SPARSE_SUMS))
def test_sparse_sum_gradient(key):
    results = []
    for t in (dg, torch):
        x = t.tensor([[1.5, 0.0, -2.0], [0.0, 3.0, 0.0]], requires_grad=True)
        y = _SPARSE_SUMS[key](t, x)
        (g,) = t.autograd.grad(y, x)
        g = g.to_dense() if g.is_sparse else g
        results.append((y.detach().numpy(), (str(y.dtype).split(".")[-1],
                                              type(y.grad_fn).__name__), g.numpy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1] == results[1][1]
    np.testing.assert_array_equal(results[0][2], results[1][2])


# --------------------------------------------------------------------------------------------
# load_state_dict(assign=True): the state dict's tensors become the module's (tied weights
# untied), requires_grad the module's

def _assigned(t):
    t.manual_seed(0)
    model = t.nn.Sequential(t.nn.Linear(2, 2), t.nn.Linear(2, 2))
    model[1].weight = model[0].weight
    model.register_buffer("b", t.zeros(2))
    model[0].bias.requires_grad_(False)
    state = {k: v.clone().double() for k, v in model.state_dict().items()}
    old = model[0].weight
    model.load_state_dict(state, assign=True)
    given = t.nn.Parameter(t.ones(2, 2))
    frozen = t.nn.Linear(2, 2)
    frozen.weight.requires_grad_(False)
    frozen.load_state_dict({"weight": given, "bias": t.zeros(2)}, assign=True)
    return (model[0].weight is old, model[0].weight is model[1].weight,
            len(list(model.parameters())), model.b is state["b"],
            model[0].weight.data_ptr() == state["0.weight"].data_ptr(),
            str(model[0].weight.dtype).split(".")[-1], model[0].weight.requires_grad,
            model[0].bias.requires_grad, isinstance(model[1].weight, t.nn.Parameter),
            frozen.weight is given, given.requires_grad)


def test_load_state_dict_assign_as_pytorch():
    assert _assigned(dg) == _assigned(torch)
