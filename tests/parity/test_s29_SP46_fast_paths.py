"""Session 29 (SP46): the speed changes' shortcuts answer as PyTorch 2.13 (values, dtypes,
gradients, node names, exception types): clamp_min / clamp_max of two float tensors, einsum's
operands of one dtype (and of two), diagonal's dims, embedding's checks, a lone boolean mask
(x[mask], x[(mask,)]), and backward() of one-node graphs that keep nothing (sum, expand).
"""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _pair(array, grad=True):
    return (dg.from_numpy(array.copy()).requires_grad_(grad),
            torch.from_numpy(array.copy()).requires_grad_(grad))


def _same(got, want, rtol=1e-6):
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=rtol, atol=0)


def _run(function, arrays, grads=None, seed=0, names=True):
    """function(lib, *tensors) in both libraries, then backward with one seeded gradient:
    the outputs, the inputs' gradients and (``names``) the node names compared."""
    grads = grads or [a.dtype.kind == "f" for a in arrays]
    pairs = [_pair(a, g) for a, g in zip(arrays, grads)]
    mine = [p[0] for p in pairs]
    theirs = [p[1] for p in pairs]
    outcome = []
    for lib, tensors in ((dg, mine), (torch, theirs)):
        try:
            outcome.append(function(lib, *tensors))
        except Exception as error:  # noqa: BLE001 - the class is compared
            outcome.append(error)
    got, want = outcome
    if isinstance(want, Exception):
        assert isinstance(got, type(want)), (got, want)
        return
    assert not isinstance(got, Exception), got
    _same(got, want)
    assert got.requires_grad == want.requires_grad
    if not want.requires_grad:
        return
    if names:
        assert type(got.grad_fn).__name__ == type(want.grad_fn).__name__
    g = np.random.default_rng(seed).standard_normal(tuple(want.shape)).astype(
        got.detach().numpy().dtype)
    errors = []
    for out, lib in ((got, dg), (want, torch)):
        try:
            out.backward(lib.from_numpy(g.copy()))
            errors.append(None)
        except Exception as error:  # noqa: BLE001 - the class is compared
            errors.append(error)
    if errors[1] is not None:  # (PyTorch's backward refuses: ours too, the same class)
        assert isinstance(errors[0], type(errors[1])), errors
        return
    assert errors[0] is None, errors[0]
    for a, b in zip(mine, theirs):
        if b.grad is None:
            assert a.grad is None
        else:
            _same(a.grad, b.grad)


RNG = np.random.default_rng(29)
F32 = np.float32


def _values(shape, dtype=F32):
    return RNG.uniform(-2, 2, shape).astype(dtype)


CLAMPS = {
    "same_shape": ((8, 8), (8, 8), F32, F32),
    "broadcast": ((8, 8), (8,), F32, F32),
    "0d_bound": ((3, 4), (), F32, F32),
    "0d_both": ((), (), F32, F32),
    "float64_bound": ((3, 4), (4,), F32, np.float64),
    "float64_input": ((3, 4), (4,), np.float64, F32),
    "float16": ((5,), (5,), np.float16, np.float16),
}


@pytest.mark.parametrize("name", ["clamp_min", "clamp_max"])
@pytest.mark.parametrize("case", sorted(CLAMPS))
def test_clamp_min_max_of_two_float_tensors_match_torch(name, case):
    shape, bound_shape, dtype, bound_dtype = CLAMPS[case]
    x, bound = _values(shape, dtype), _values(bound_shape, bound_dtype)
    _run(lambda m, a, b: getattr(m, name)(a, b), [x, bound])
    _run(lambda m, a, b: getattr(a, name)(b), [x, bound])


@pytest.mark.parametrize("name", ["clamp_min", "clamp_max"])
def test_clamp_min_max_other_forms_keep_their_answers(name):
    x = _values((3, 4))
    # a number bound, an integer tensor bound, an int input, a bool pair, a complex input
    _run(lambda m, a: getattr(m, name)(a, 0.5), [x])
    _run(lambda m, a, b: getattr(m, name)(a, b), [x, np.array([1, -1, 0, 2])], [True, False])
    _run(lambda m, a, b: getattr(m, name)(a, b), [np.arange(6), np.arange(6)[::-1].copy()])
    _run(lambda m, a, b: getattr(m, name)(a, b), [np.array([True, False]),
                                                  np.array([False, False])])
    _run(lambda m, a, b: getattr(m, name)(a.to(m.complex64), b),
         [x[0], x[1]], [False, False])
    out_mine, out_theirs = dg.empty(3, 4), torch.empty(3, 4)
    getattr(dg, name)(dg.from_numpy(x), dg.from_numpy(x[0]), out=out_mine)
    getattr(torch, name)(torch.from_numpy(x), torch.from_numpy(x[0]), out=out_theirs)
    _same(out_mine, out_theirs)


EINSUMS = {
    "trace": ("ii->", [(3, 3)]),
    "diag": ("iji->j", [(2, 3, 2)]),
    "matmul": ("ij,jk->ik", [(3, 4), (4, 2)]),
    "batched": ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    "outer": ("i,j->ij", [(3,), (4,)]),
    "implicit": ("ij,jk", [(2, 3), (3, 2)]),
}


@pytest.mark.parametrize("case", sorted(EINSUMS))
@pytest.mark.parametrize("mixed", [False, True])
def test_einsum_of_one_or_two_dtypes_matches_torch(case, mixed):
    equation, shapes = EINSUMS[case]
    arrays = [_values(s) for s in shapes]
    if mixed:  # (a float64 operand: promoted where nothing is summed, else PyTorch's error)
        arrays[-1] = arrays[-1].astype(np.float64)
    # (PyTorch's einsum records its sum / view / mul nodes, ours one EinsumBackward0: known)
    _run(lambda m, *ts: m.einsum(equation, *ts), arrays, names=False)


DIAGONALS = {"2d": ((3, 4), 0, 0, 1), "offset": ((2, 3, 4), 1, -2, -1),
             "negative": ((4, 3), -2, 0, 1), "moved": ((2, 3, 4), 0, 0, 2),
             "swapped": ((3, 4), 1, 1, 0), "leading": ((2, 3, 4), -1, 2, 0),
             "same_dims": ((3, 4), 0, 1, -1), "one_dim": ((4,), 0, 0, 1),
             "out_of_range": ((3, 4), 0, 0, 2)}


@pytest.mark.parametrize("case", sorted(DIAGONALS))
def test_diagonal_matches_torch(case):
    shape, offset, dim1, dim2 = DIAGONALS[case]
    _run(lambda m, a: m.diagonal(a, offset, dim1, dim2), [_values(shape)])
    _run(lambda m, a: a.diagonal(offset=offset, dim1=dim1, dim2=dim2), [_values(shape)])


@pytest.mark.parametrize("case", ["plain", "padding", "out_of_range", "negative", "weight_1d",
                                  "int32_ids"])
def test_embedding_matches_torch(case):
    weight = _values((5, 3))
    ids = np.array([[0, 4, 2], [1, 1, 3]])
    kwargs = {}
    if case == "padding":
        kwargs["padding_idx"] = 1
    elif case == "out_of_range":
        ids[1, 2] = 5
    elif case == "negative":
        ids[0, 0] = -1
    elif case == "weight_1d":
        weight = weight[:, 0].copy()
    elif case == "int32_ids":
        ids = ids.astype(np.int32)
    _run(lambda m, w, i: m.nn.functional.embedding(i, w, **kwargs), [weight, ids],
         [True, False])


MASKS = {"full": ((4, 5), (4, 5)), "rows": ((4, 5), (4,)), "leading": ((3, 4, 5), (3, 4)),
         "1d": ((6,), (6,)), "bad_rows": ((4, 5), (3,)), "bad_cols": ((4, 5), (4, 6)),
         "too_many": ((2, 3), (2, 3, 1)), "empty": ((0, 3), (0,))}


@pytest.mark.parametrize("case", sorted(MASKS))
@pytest.mark.parametrize("form", ["lone", "tuple"])
def test_a_lone_boolean_mask_matches_torch(case, form):
    shape, mask_shape = MASKS[case]
    mask = RNG.random(mask_shape) > 0.4
    index = (lambda mk: mk) if form == "lone" else (lambda mk: (mk,))
    _run(lambda m, a, mk: a[index(mk)], [_values(shape), mask], [True, False])


@pytest.mark.parametrize("build", ["sum", "expand", "diagonal", "mean_dim"])
def test_kept_one_node_graphs_run_backward_twice_as_torch(build):
    calls = {"sum": lambda a: a.sum(), "expand": lambda a: a.expand(2, 3, 4),
             "diagonal": lambda a: a.diagonal(), "mean_dim": lambda a: a.mean(0)}
    x, tx = _pair(_values((3, 4)))
    out, tout = calls[build](x), calls[build](tx)
    g = np.ones(tuple(tout.shape), np.float32)
    for _ in range(2):  # (PyTorch frees saved tensors, not these nodes: a second run works)
        out.backward(dg.from_numpy(g.copy()))
        tout.backward(torch.from_numpy(g.copy()))
    _same(x.grad, tx.grad)


CLAMP_NUMBERS = {"both": (-0.5, 0.5), "low": (-0.5, None), "high": (None, 0.25),
                 "ints": (-1, 1), "crossed": (0.5, -0.5), "inf": (-float("inf"), 0.0),
                 "nan": (float("nan"), 1.0), "none": (None, None)}


@pytest.mark.parametrize("case", sorted(CLAMP_NUMBERS))
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_clamp_with_number_bounds_matches_torch(case, dtype):
    low, high = CLAMP_NUMBERS[case]
    _run(lambda m, a: m.clamp(a, low, high), [_values((3, 4), np.dtype(dtype))])
    _run(lambda m, a: a.clamp(min=low, max=high), [_values((5,), np.dtype(dtype))])


@pytest.mark.parametrize("bounds", [(70000.0, None), (None, 1 << 70), (-(1 << 64), 1.0)])
def test_clamp_bounds_that_do_not_fit_raise_torchs_error(bounds):
    _run(lambda m, a: m.clamp(a, *bounds), [_values((3,), np.float16)])


EXTREMES = {"max": lambda m, a: a.max(), "min": lambda m, a: m.min(a),
            "amax": lambda m, a: m.amax(a), "amin": lambda m, a: a.amin(),
            "amax_keepdim": lambda m, a: m.amax(a, (), True)}


@pytest.mark.parametrize("name", sorted(EXTREMES))
@pytest.mark.parametrize("values", ["plain", "ties", "nan", "0d", "empty", "int"])
def test_full_max_min_amax_amin_match_torch(name, values):
    x = {"plain": _values((3, 4)), "ties": np.array([[1.0, 3.0], [3.0, 0.0]], np.float32),
         "nan": np.array([1.0, np.nan, 2.0], np.float32), "0d": np.array(1.5, np.float32),
         "empty": np.zeros((0, 3), np.float32), "int": np.arange(6)}[values]
    _run(EXTREMES[name], [x])


@pytest.mark.parametrize("dtypes", [("float32", "float32"), ("float64", "float64"),
                                    ("float32", "float64"), ("float16", "float16")])
def test_nextafter_matches_torch(dtypes):
    x = _values((3, 4), np.dtype(dtypes[0]))
    y = _values((4,), np.dtype(dtypes[1]))
    y[0] = x[0, 0]  # (equal: no step, no gradient)
    _run(lambda m, a, b: m.nextafter(a, b), [x, y])


@pytest.mark.parametrize("name", ["remainder", "fmod"])
@pytest.mark.parametrize("case", ["same", "broadcast", "0d", "float64", "mixed", "ints",
                                  "number", "number_first", "complex", "zero_divisor"])
def test_remainder_and_fmod_match_torch(name, case):
    x, y = _values((3, 4)), _values((4,))
    call = lambda m, a, b: getattr(m, name)(a, b)  # noqa: E731
    if case == "same":
        y = _values((3, 4))
    elif case == "0d":
        x, y = _values(()), _values(())
    elif case == "float64":
        x, y = x.astype(np.float64), y.astype(np.float64)
    elif case == "mixed":
        y = y.astype(np.float64)
    elif case == "ints":
        x, y = np.arange(-6, 6).reshape(3, 4), np.array([3, -2, 5, 4])
    elif case == "number":
        call = lambda m, a, b: getattr(m, name)(a, 1.5)  # noqa: E731
    elif case == "number_first":
        call = lambda m, a, b: getattr(m, name)(2.5, b)  # noqa: E731
    elif case == "complex":
        call = lambda m, a, b: getattr(m, name)(a.to(m.complex64), b)  # noqa: E731
    elif case == "zero_divisor":
        y[1] = 0.0
    _run(call, [x, y])
