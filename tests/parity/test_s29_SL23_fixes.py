"""Fixes from the sparse fuzzer family (s29_SL23_sparse.py), each against PyTorch:
nn.Embedding(sparse=True)'s gradient leaves the padding row's look-ups out and marks a
gradient of at most one row coalesced; gradients accumulated over backward calls are merged as
PyTorch's CPU sparse add does (one walk over both index lists: nnz, order, is_coalesced)."""

import warnings

import pytest

torch = pytest.importorskip("torch")
import deltagrad as dg  # noqa: E402

CASES = [  # (first look-ups, second look-ups, padding_idx)
    ([1, 0], [1, 1], 1),
    ([0], [2], None),
    ([0, 0], [1], None),
    ([2], [], None),
    ([0, 2], [0, 2], None),
    ([1, 2], [3, 1], 1),
    ([1], [0], 1),
    ([3, 1, 0], [0, 3, 3], None),
    ([4, 2, 4, 1], [3, 1, 0, 0, 2], None),
    ([1, 3], [0, 3, 4], None),
    ([1, 3], [0, 3, 4], 3),
]


def _grads(lib, first, second, padding_idx):
    lib.manual_seed(0)
    emb = lib.nn.Embedding(5, 3, sparse=True, padding_idx=padding_idx).double()
    out = []
    for ids, power in ((first, 2), (second, 3)):
        (emb(lib.tensor(ids, dtype=lib.int64)) ** power).sum().backward()
        g = emb.weight.grad
        out.append((g.is_coalesced(), g._nnz(), g._indices().tolist(),
                    g._values().reshape(-1).tolist(), g.to_dense().reshape(-1).tolist()))
    return out


@pytest.mark.parametrize("first, second, padding_idx", CASES,
                         ids=[f"{a}-{b}-{p}" for a, b, p in CASES])
def test_embedding_sparse_grad_as_pytorch(first, second, padding_idx):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = _grads(torch, first, second, padding_idx)
        got = _grads(dg, first, second, padding_idx)
    assert len(ref) == len(got)
    for (rc, rn, ri, rv, rd), (gc, gn, gi, gv, gd) in zip(ref, got):
        assert (gc, gn, gi) == (rc, rn, ri)
        assert gv == pytest.approx(rv, rel=1e-12)
        assert gd == pytest.approx(rd, rel=1e-12)


def test_padding_rows_left_out_of_a_sparse_adam_step():
    # (the values were right before; the step's result must stay PyTorch's)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = []
        for lib in (torch, dg):
            lib.manual_seed(3)
            emb = lib.nn.Embedding(6, 2, sparse=True, padding_idx=2).double()
            opt = lib.optim.SparseAdam(emb.parameters(), lr=0.1)
            for ids in ([2, 0, 2], [2, 5], [2]):
                opt.zero_grad()
                (emb(lib.tensor(ids)) ** 2).sum().backward()
                opt.step()
            rows.append(emb.weight.detach().reshape(-1).tolist())
    assert rows[1] == pytest.approx(rows[0], rel=1e-12)


SUBSCRIPTS = ["a[0]", "a[-1]", "a[(0,)]", "a[0, 1]", "a[lib.tensor(0)]", "h[1]", "h[1, 0]",
              "h[0, 1]", "a[lib.tensor([0, 1])]", "a[1:2]", "a[True]", "a[5]", "a[0, 1, 0]"]


def _outcome(lib, expr):
    a = lib.sparse_coo_tensor(lib.tensor([[1, 0, 1], [2, 0, 1]]), lib.tensor([0.5, 1.25, -0.5]),
                              (2, 3), check_invariants=False)
    h = lib.sparse_coo_tensor(lib.tensor([[1, 0]]), lib.tensor([[0.5, 1.0], [2.0, 3.0]]), (2, 2),
                              check_invariants=False)
    try:
        r = eval(expr, {"a": a, "h": h, "lib": lib})
    except Exception as e:  # noqa: BLE001 - the class is compared
        return [c.__name__ for c in type(e).__mro__ if c.__module__ == "builtins"][0]
    dense = r.layout == lib.strided
    return (str(r.layout).rsplit(".", 1)[-1], tuple(r.shape),
            (r if dense else r.to_dense()).reshape(-1).tolist())


@pytest.mark.parametrize("expr", SUBSCRIPTS)
def test_sparse_subscripts_as_pytorch(expr):
    # (integers select, a sparse result while sparse dims remain: the dense result before was
    # another layout, silently; other subscripts refuse with PyTorch's NotImplementedError)
    assert _outcome(dg, expr) == _outcome(torch, expr)


@pytest.mark.parametrize("expr", ["equal(a, a.clone())", "equal(a, a.to_dense())",
                                  "equal(a.to_dense(), a)", "equal(c, c)"])
def test_equal_refuses_sparse_as_pytorch(expr):
    # (deltagrad returned False for a COO tensor and its own clone)
    for lib in (torch, dg):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = lib.sparse_coo_tensor(lib.tensor([[1, 1, 0], [1, 0, 1]]),
                                      lib.tensor([0.5, -2.0, 0.0]), (3, 3),
                                      check_invariants=False)
            c = a.to_sparse_csr()
            with pytest.raises(NotImplementedError):
                eval(expr, {"equal": lib.equal, "a": a, "c": c})
    assert dg.equal(dg.ones(2), dg.ones(2))


SOFTMAX = [(src, out, fn) for src in ("float16", "int64", "float32", "float64")
           for out in (None, "float16", "float32", "float64")
           for fn in ("softmax", "log_softmax")]


@pytest.mark.parametrize("src, out, fn", SOFTMAX, ids=[f"{a}-{b}-{c}" for a, b, c in SOFTMAX])
def test_sparse_softmax_dtypes_as_pytorch(src, out, fn):
    # (PyTorch's kernels: float32 / float64 results only, NotImplementedError otherwise;
    # deltagrad computed float16 and raised RuntimeError for integers)
    results = []
    for lib in (torch, dg):
        a = lib.tensor([[1.0, 2.0], [0.0, 3.0]]).to_sparse().to(getattr(lib, src))
        kw = {} if out is None else {"dtype": getattr(lib, out)}
        try:
            r = getattr(lib.sparse, fn)(a, 1, **kw)
            results.append((str(r.dtype).rsplit(".", 1)[-1], r.to_dense().reshape(-1).tolist()))
        except Exception as e:  # noqa: BLE001 - the class and message are compared
            results.append((type(e).__name__, str(e)))
    ref, got = results
    assert got[0] == ref[0]
    if isinstance(ref[1], str):
        assert got[1] == ref[1]
    else:
        assert got[1] == pytest.approx(ref[1], rel=1e-6)


@pytest.mark.parametrize("idx", [[[], []], [[1], [2]], [[0, 1], [2, 0]]],
                         ids=["empty", "one", "two"])
def test_sparse_transpose_coalesced_flag_as_pytorch(idx):
    # (an empty tensor's transpose stays coalesced in PyTorch; deltagrad's was not)
    flags = []
    for lib in (torch, dg):
        a = lib.sparse_coo_tensor(lib.tensor(idx, dtype=lib.int64), lib.ones(len(idx[0])),
                                  (3, 3), check_invariants=False)
        c = a.coalesce()
        flags.append([a.t().is_coalesced(), c.t().is_coalesced(), c.t().t().is_coalesced(),
                      a.transpose(0, 1)._nnz()])
    assert flags[1] == flags[0]


@pytest.mark.parametrize("rows", [[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
                                  [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]],
                                  [[1.0, 0.0, 2.0], [3.0, 0.0, 4.0]]],
                         ids=["empty", "one", "four"])
def test_csc_to_coo_as_pytorch(rows):
    # (PyTorch's COO form of a CSC tensor lists the entries column by column, uncoalesced
    # unless it has one entry; deltagrad's was the coalesced row-major form)
    out = []
    for lib in (torch, dg):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = lib.tensor(rows, dtype=lib.float64, requires_grad=True)
            s = d.to_sparse_csc().to_sparse()
            (s.to_dense() * lib.arange(6.0, dtype=lib.float64).reshape(2, 3)).sum().backward()
            out.append([s._nnz(), s.is_coalesced(), s._indices().tolist(), s._values().tolist(),
                        d.grad.tolist()])
    assert out[1] == out[0]
