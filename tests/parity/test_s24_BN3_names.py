"""Session 24 BN3: PyTorch's public names that were missing, against PyTorch 2.13 itself:
sparse CSC / BSR / BSC tensors (constructors, conversions, accessors, printing, products,
gradients), ``*_indices_copy`` / ``values_copy``, ``torch.sparse.as_sparse_gradcheck``,
``torch.hash_tensor``, ``torch.monitor`` and ``torch.lobpcg``."""

import datetime
import time
import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

D = [[0.0, 1, 0, 2], [3, 0, 0, 0], [0, 0, 4, 5], [0, 0, 0, 0]]
RNG = np.random.default_rng(0)
D46 = RNG.standard_normal((4, 6)) * (RNG.random((4, 6)) < 0.5)  # (a nonzero in every 2x3 block)
W46 = RNG.standard_normal((4, 6))


def _both(build):
    """``build(lib)`` under deltagrad and PyTorch: (kind, text) each, the text of a value with
    the library's name made PyTorch's, or the exception's class and message."""
    out = []
    for lib in (dg, torch):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # (PyTorch's "beta state" warnings)
                value = build(lib)
            text = repr(value.tolist() if hasattr(value, "tolist") and not isinstance(
                value, str) else value)
            out.append(("ok", text.replace("deltagrad.", "torch.")))
        except Exception as error:  # noqa: BLE001 - the class is what is compared
            out.append((type(error).__name__, str(error).split("\n")[0][:60]))
    return out


SAME_TEXT = {  # printing, conversions and accessors: identical text or the same error
    "csc repr": lambda L: repr(L.tensor(D).to_sparse_csc()),
    "bsr repr": lambda L: repr(L.tensor(D).to_sparse_bsr(2)),
    "bsr 1x2 repr": lambda L: repr(L.tensor(D).to_sparse_bsr((1, 2))),
    "bsc repr": lambda L: repr(L.tensor(D).to_sparse_bsc((2, 1))),
    "float64 repr": lambda L: repr(L.tensor(D).to_sparse_bsr(2).double()),
    "empty bsr": lambda L: repr(L.zeros(4, 4).to_sparse_bsr(2)),
    "empty csc": lambda L: repr(L.zeros(0, 3).to_sparse_csc()),
    "csr t": lambda L: repr(L.tensor(D).to_sparse_csr().t()),
    "csc t": lambda L: repr(L.tensor(D).to_sparse_csc().transpose(1, 0)),
    "bsr t": lambda L: repr(L.tensor(D).to_sparse_bsr((1, 2)).t()),
    "csc ctor": lambda L: repr(L.sparse_csc_tensor([0, 1, 3], [1, 0, 1], [5.0, 2, 3], (2, 2))),
    "csc dtype": lambda L: repr(L.sparse_csc_tensor([0, 1, 2], [1, 0], [1, 2], (2, 2),
                                                    dtype=L.float64)),
    "csc int": lambda L: L.sparse_csc_tensor([0, 1, 2], [1, 0], [1, 2], (2, 2)).dtype,
    "size inferred": lambda L: tuple(L.sparse_bsr_tensor([0, 1, 2], [1, 3],
                                                         L.ones(2, 2, 3)).shape),
    "bsr ctor": lambda L: repr(L.sparse_bsr_tensor([0, 1, 2], [1, 0],
                                                   L.arange(8.0).reshape(2, 2, 2))),
    "bsc ctor": lambda L: L.sparse_bsc_tensor([0, 1, 2], [1, 0],
                                              L.arange(8.0).reshape(2, 2, 2)).to_dense(),
    "compressed": lambda L: L.sparse_compressed_tensor(
        [0, 1, 2], [1, 0], L.arange(8.0).reshape(2, 2, 2), (4, 4),
        layout=L.sparse_bsc).to_dense(),
    "compressed no layout": lambda L: L.sparse_compressed_tensor([0, 1, 2], [1, 0], [1.0, 2]),
    "from csr": lambda L: repr(L.tensor(D).to_sparse_csr().to_sparse_bsr(2)),
    "from coo": lambda L: repr(L.tensor(D).to_sparse().to_sparse_bsr(2)),
    "coo to csc": lambda L: repr(L.tensor(D).to_sparse().to_sparse(layout=L.sparse_csc)),
    "bsr to bsc": lambda L: repr(L.tensor(D).to_sparse_bsr(2).to_sparse_bsc(2)),
    "csc to csr": lambda L: repr(L.tensor(D).to_sparse_csc().to_sparse_csr()),
    "to_sparse layout": lambda L: repr(L.tensor(D).to_sparse(layout=L.sparse_bsc,
                                                             blocksize=(2, 2))),
    "layout flags": lambda L: [str(L.tensor(D).to_sparse_csc().layout),
                               L.tensor(D).to_sparse_bsr(2).is_sparse,
                               L.tensor(D).to_sparse_bsc(2).is_sparse_csr],
    "nnz": lambda L: [L.tensor(D).to_sparse_bsr(2)._nnz(), L.tensor(D).to_sparse_csc()._nnz()],
    "copies": lambda L: [L.ccol_indices_copy(L.tensor(D).to_sparse_csc()),
                         L.row_indices_copy(L.tensor(D).to_sparse_csc()),
                         L.crow_indices_copy(L.tensor(D).to_sparse_bsr(2)),
                         L.col_indices_copy(L.tensor(D).to_sparse_csr()),
                         L.values_copy(L.tensor(D).to_sparse_bsc(2))],
    "csc mm": lambda L: L.tensor(D).to_sparse_csc() @ L.arange(8.0).reshape(4, 2),
    "bsr mm": lambda L: L.tensor(D).to_sparse_bsr(2) @ L.arange(8.0).reshape(4, 2),
    "dense @ csc": lambda L: L.arange(8.0).reshape(2, 4) @ L.tensor(D).to_sparse_csc(),
    "dense @ bsc": lambda L: L.arange(8.0).reshape(2, 4) @ L.tensor(D).to_sparse_bsc(2),
    "csc matvec": lambda L: L.tensor(D).to_sparse_csc() @ L.ones(4),
    "csc sum": lambda L: L.tensor(D).to_sparse_csc().sum(),
    "bsr relu": lambda L: repr(L.tensor(D).neg().to_sparse_bsr(2).relu()),
    "bsr * 2": lambda L: repr(L.tensor(D).to_sparse_bsr(2) * 2),
    "csc neg": lambda L: repr(-L.tensor(D).to_sparse_csc()),
    "csc + dense": lambda L: L.tensor(D).to_sparse_csc() + L.ones(4, 4),
    "dense + csc": lambda L: L.ones(4, 4) + L.tensor(D).to_sparse_csc(),
    "csc .double()": lambda L: repr(L.tensor(D).to_sparse_csc().double()),
}

SAME_ERROR = {  # bad input and what PyTorch's CPU build refuses: the same class
    "row_indices of csr": lambda L: L.tensor(D).to_sparse_csr().row_indices(),
    "crow_indices of csc": lambda L: L.tensor(D).to_sparse_csc().crow_indices(),
    "indices of bsr": lambda L: L.tensor(D).to_sparse_bsr(2).indices(),
    "ccol_indices of dense": lambda L: L.tensor(D).ccol_indices(),
    "indivisible blocks": lambda L: L.tensor(D).to_sparse_bsr(3),
    "csc of bsr": lambda L: L.tensor(D).to_sparse_bsr(2).to_sparse_csc(),
    "csr of bsr": lambda L: L.tensor(D).to_sparse_bsr(2).to_sparse_csr(),
    "other blocksize": lambda L: L.tensor(D).to_sparse_bsr(2).to_sparse_bsr(1),
    "no blocksize": lambda L: L.tensor(D).to_sparse(layout=L.sparse_bsr),
    "1-d csc": lambda L: L.ones(4).to_sparse_csc(),
    "1-d blocksize": lambda L: L.ones(4).to_sparse_bsr((2,)),
    "bsr 1x2 @ dense": lambda L: L.tensor(D).to_sparse_bsr((1, 2)) @ L.ones(4, 2),
    "bsc @ dense": lambda L: L.tensor(D).to_sparse_bsc(2) @ L.ones(4, 2),
    "dense @ bsr": lambda L: L.ones(2, 4) @ L.tensor(D).to_sparse_bsr(2),
    "dense @ bsc 2x1": lambda L: L.ones(2, 4) @ L.tensor(D).to_sparse_bsc((2, 1)),
    "int64 product": lambda L: L.tensor(D).long().to_sparse_csc() @ L.ones(4, 2).long(),
    "csc sum(0)": lambda L: L.tensor(D).to_sparse_csc().sum(0),
    "csc / 2": lambda L: L.tensor(D).to_sparse_csc() / 2,
    "bsr ** 2": lambda L: L.tensor(D).to_sparse_bsr(2) ** 2,
    "csc * dense": lambda L: L.tensor(D).to_sparse_csc() * L.ones(4, 4),
    "csc + csc": lambda L: L.tensor(D).to_sparse_csc() + L.tensor(D).to_sparse_csc(),
    "invariant: row range": lambda L: L.sparse_csc_tensor([0, 2], [1, 5], [1.0, 2], (2, 1),
                                                          check_invariants=True),
    "invariant: sorted": lambda L: L.sparse_csc_tensor([0, 2], [1, 0], [1.0, 2], (2, 1),
                                                       check_invariants=True),
    "invariant: first": lambda L: L.sparse_bsr_tensor([1, 2], [0], L.ones(1, 2, 2), (2, 2),
                                                      check_invariants=True),
    "invariant: length": lambda L: L.sparse_csc_tensor([0, 1, 2], [1, 0], [1.0, 2], (2, 1),
                                                       check_invariants=True),
    "indices_copy of coo": lambda L: L.indices_copy(L.tensor(D).to_sparse()),
    "values_copy of coo": lambda L: L.values_copy(L.tensor(D).to_sparse()),
    "values_copy of dense": lambda L: L.values_copy(L.tensor(D)),
}


@pytest.mark.parametrize("name", SAME_TEXT)
def test_compressed_layouts_match_pytorch(name):
    ours, theirs = _both(SAME_TEXT[name])
    assert ours == theirs


@pytest.mark.parametrize("name", SAME_ERROR)
def test_compressed_layouts_refuse_as_pytorch(name):
    ours, theirs = _both(SAME_ERROR[name])
    assert theirs[0] != "ok"
    assert ours[0] == theirs[0], (ours, theirs)


CONVERSIONS = {
    "csc": lambda x: x.to_sparse_csc(), "bsr 2x2": lambda x: x.to_sparse_bsr(2),
    "bsr 2x3": lambda x: x.to_sparse_bsr((2, 3)), "bsc 2x1": lambda x: x.to_sparse_bsc((2, 1)),
    "csr -> csc": lambda x: x.to_sparse_csr().to_sparse_csc(),
    "coo -> bsr": lambda x: x.to_sparse().to_sparse_bsr(2),
    "csr.t()": lambda x: x.to_sparse_csr().t(), "bsr.t()": lambda x: x.to_sparse_bsr(2).t(),
    "csc.t()": lambda x: x.to_sparse_csc().t(),
}
READS = {
    "values": lambda lib, s: (s.values() * lib.arange(
        float(s.values().numel()), dtype=lib.float64).reshape(s.values().shape)).sum(),
    "to_dense": lambda lib, s: (s.to_dense() * lib.tensor(
        W46 if s.shape[0] == 4 else W46.T)).sum(),
    "mm": lambda lib, s: (s @ lib.ones(s.shape[1], 3, dtype=lib.float64)).pow(2).sum(),
}


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("conversion", CONVERSIONS)
def test_gradients_through_conversions_match_pytorch(conversion, read):
    results = []
    for lib in (dg, torch):
        x = lib.tensor(D46, requires_grad=True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = READS[read](lib, CONVERSIONS[conversion](x))
        except RuntimeError as error:  # (a product PyTorch's CPU build refuses: both must)
            results.append(type(error))
            continue
        out.backward()
        results.append((out.item(), x.grad.numpy().copy()))
    ours, theirs = results
    if not isinstance(theirs, tuple):
        assert ours is theirs or issubclass(ours, theirs)
        return
    assert ours[0] == pytest.approx(theirs[0], rel=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12, atol=1e-12)


COMPRESSED = {"csc": ([0, 1, 1, 3, 4, 4, 5], [2, 0, 3, 1, 0], (5,)),
              "bsr": ([0, 2, 3], [0, 2, 1], (3, 2, 2)), "bsc": ([0, 1, 1, 3], [1, 0, 1], (3, 2, 2))}


@pytest.mark.parametrize("layout", COMPRESSED)
def test_constructors_differentiable_into_values(layout):
    compressed, plain, shape = COMPRESSED[layout]
    start = np.random.default_rng(1).standard_normal(shape)
    results = []
    for lib in (dg, torch):
        v = lib.tensor(start, requires_grad=True)
        build = getattr(lib, f"sparse_{layout}_tensor")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dense = build(compressed, plain, v, (4, 6)).to_dense()
            (dense * lib.tensor(W46)).sum().backward()
            first, v.grad = v.grad.numpy().copy(), None
            (build(compressed, plain, v, (4, 6)).values() * 2).sum().backward()
        results.append((dense.detach().numpy(), first, v.grad.numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_sparse_tensor_leaf_and_repr_with_grad():
    x = dg.tensor(D, requires_grad=True)
    text = repr(x.to_sparse_csc())
    assert "grad_fn=<" in text and text.startswith("tensor(ccol_indices=tensor([0, 1, 2, 3, 5])")
    leaf = dg.sparse_bsr_tensor([0, 1], [0], dg.ones(1, 2, 2), (2, 4), requires_grad=True)
    assert leaf.is_leaf and leaf.requires_grad and "requires_grad=True" in repr(leaf)


# ---------------------------------------------------------------- as_sparse_gradcheck

GRADCHECKS = {
    "doc": (lambda L: L.tensor([[0, 1], [2, 3]], dtype=L.float64).to_sparse(),
            lambda L: (lambda x: x.to_sparse_csr()), {}),
    "coo mm masked": (lambda L: L.tensor(D, dtype=L.float64).to_sparse(),
                      lambda L: (lambda x: x @ L.tensor(W46[:, :4].T)), {"masked": True}),
    "csc mm": (lambda L: L.tensor(D, dtype=L.float64).to_sparse_csc(),
               lambda L: (lambda x: x @ L.tensor(W46[:, :4].T)), {}),
    "bsc to_dense": (lambda L: L.tensor(D, dtype=L.float64).to_sparse_bsc((2, 1)),
                     lambda L: (lambda x: x.to_dense().sin()), {}),
}


@pytest.mark.parametrize("name", GRADCHECKS)
def test_as_sparse_gradcheck_matches_pytorch(name):
    make, function, kwargs = GRADCHECKS[name]
    results = []
    for lib in (dg, torch):
        check = lib.sparse.as_sparse_gradcheck(lib.autograd.gradcheck)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results.append(check(function(lib), make(lib).requires_grad_(True), **kwargs))
    assert results == [True, True]


def test_as_sparse_gradcheck_catches_a_wrong_gradient_and_stores_every_element():
    class Wrong(dg.autograd.Function):
        @staticmethod
        def forward(ctx, v):
            return v * 2

        @staticmethod
        def backward(ctx, g):
            return g * 3

    check = dg.sparse.as_sparse_gradcheck(dg.autograd.gradcheck)
    x = dg.tensor(D, dtype=dg.float64).to_sparse_csc().requires_grad_(True)
    assert check(lambda s: Wrong.apply(s.to_dense()), x, raise_exception=False) is False
    seen = []
    check(lambda s: seen.append((s.layout, s._nnz(), s.to_dense().tolist())) or s.to_dense(),
          dg.tensor(D, dtype=dg.float64).to_sparse_bsr((2, 1)).requires_grad_(True))
    assert {call[:2] for call in seen} == {(dg.sparse_bsr, 8)}  # (zeros stored, not masked)
    assert D in [call[2] for call in seen]  # (the unperturbed call: the input's values)


# ---------------------------------------------------------------- hash_tensor

X23 = np.random.default_rng(2).standard_normal((2, 3))
HASHES = {
    "all": lambda L: L.hash_tensor(L.tensor(X23)),
    "dim": lambda L: L.hash_tensor(L.tensor(X23), 1),
    "keepdim": lambda L: L.tensor(X23).hash_tensor(0, keepdim=True),
    "dims": lambda L: L.hash_tensor(L.tensor(X23), (0, 1)),
    "empty dims": lambda L: L.hash_tensor(L.tensor(X23), []),
    "float32": lambda L: L.hash_tensor(L.tensor(X23, dtype=L.float32)),
    "float16": lambda L: L.hash_tensor(L.tensor(X23, dtype=L.float16), -1),
    "bfloat16": lambda L: L.hash_tensor(L.tensor(X23, dtype=L.bfloat16)),
    "bool": lambda L: L.hash_tensor(L.tensor([True, False, True])),
    "uint8": lambda L: L.hash_tensor(L.tensor([1, 200], dtype=L.uint8)),
    "int8": lambda L: L.hash_tensor(L.tensor([-1, 2], dtype=L.int8)),
    "0-d": lambda L: L.hash_tensor(L.tensor(3.0)),
    "0-d dim": lambda L: L.hash_tensor(L.tensor(-0.0), 0),
    "nan": lambda L: L.hash_tensor(L.tensor(float("nan"))),
    "empty rows": lambda L: L.hash_tensor(L.zeros(0, 3), 1),
    "transposed": lambda L: L.hash_tensor(L.tensor(X23).t(), 0),
    "no grad": lambda L: L.hash_tensor(L.tensor(X23, requires_grad=True)).requires_grad,
    "empty, no dim": lambda L: L.hash_tensor(L.zeros(0, 3)),
    "empty dim": lambda L: L.hash_tensor(L.zeros(0, 3), 0),
    "dim range": lambda L: L.hash_tensor(L.tensor(X23), 2),
    "mode": lambda L: L.hash_tensor(L.tensor(X23), mode=1),
    "complex": lambda L: L.hash_tensor(L.tensor([1 + 2j])),
    "uint32": lambda L: L.hash_tensor(L.tensor([1], dtype=L.uint32)),
}


@pytest.mark.parametrize("name", HASHES)
def test_hash_tensor_matches_pytorch(name):
    (kind, ours), (their_kind, theirs) = _both(lambda L: _described(HASHES[name](L)))
    assert kind == their_kind
    assert ours == theirs or kind != "ok"


def _described(value):
    if not hasattr(value, "dtype"):
        return value
    return (value.tolist(), str(value.dtype).split(".")[-1], tuple(value.shape))


# ---------------------------------------------------------------- monitor


def _monitor_trace(monitor):
    events = []
    handle = monitor.register_event_handler(
        lambda e: events.append((e.name, sorted(e.data.items()))))
    time.sleep(0.2 - time.time() % 0.2 + 0.01)  # (the start of a 200 ms window)
    aggregations = [monitor.Aggregation.SUM, monitor.Aggregation.MEAN, monitor.Aggregation.COUNT,
                    monitor.Aggregation.MAX, monitor.Aggregation.MIN, monitor.Aggregation.VALUE]
    stat = monitor.Stat("loss", aggregations, datetime.timedelta(milliseconds=200), 3)
    trace = []

    def stats():
        return sorted((int(a), v) for a, v in stat.get().items())  # noqa: F821 - (stat is bound)

    stat.add(1.0)
    stat.add(5.0)
    trace.append((list(events), stat.count, stats()))
    stat.add(3.0)  # (max_samples reached: the window is logged, later adds dropped)
    stat.add(7.0)
    trace.append((list(events), stat.count, stats()))
    time.sleep(0.2)
    stat.add(2.0)
    trace.append((events[-1:], stat.count, stats()))
    del stat
    trace.append((len(events), events[-1]))
    event = monitor.Event("n", datetime.datetime(2020, 1, 1), {"a": True, "b": 1, "c": "x"})
    trace.append((sorted(event.data.items()), event.timestamp, event.name, monitor.STAT_EVENT))
    monitor.unregister_event_handler(handle)
    monitor.log_event(event)
    trace.append(len(events))
    return trace


@pytest.mark.soak  # (0.6 s of sleeping across three 200 ms windows, each library)
def test_monitor_stat_windows_match_pytorch():
    assert _monitor_trace(dg.monitor) == _monitor_trace(torch.monitor)


def test_monitor_events_and_handlers():
    events = []
    handle = dg.monitor.register_event_handler(events.append)
    event = dg.monitor.Event("n", datetime.datetime(2020, 1, 1), {"a": True, "b": 1})
    dg.monitor.log_event(event)
    dg.monitor.unregister_event_handler(handle)
    dg.monitor.log_event(event)
    assert events == [event] and event.data == {"a": 1.0, "b": 1}
    assert isinstance(event.data["a"], float)  # (PyTorch's binding: a bool becomes a float)
    stat = dg.monitor.Stat("x", [dg.monitor.Aggregation.MEAN], datetime.timedelta(seconds=60))
    assert stat.get() == {dg.monitor.Aggregation.MEAN: 0.0} and stat.count == 0
    with pytest.raises(TypeError):
        dg.monitor.Event("n", datetime.datetime(2020, 1, 1), {"a": [1]})
    assert [a.name for a in dg.monitor.Aggregation] == list(torch.monitor.Aggregation.__members__)


# ---------------------------------------------------------------- lobpcg


def _spd(m=20, seed=0):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((m, m)))
    a = (q * np.linspace(1, 10, m) ** 2) @ q.T
    return (a + a.T) / 2, rng.standard_normal((m, 3)), np.eye(m) + 0.1 * np.diag(rng.random(m))


A20, X20, B20 = _spd()
LOBPCG_CASES = {
    "k2": dict(k=2, X=X20[:, :2]),
    "smallest": dict(k=3, X=X20, largest=False),
    "generalized": dict(k=2, X=X20[:, :2], B=B20),
    "n3 k2": dict(k=2, X=X20),
    "preconditioned": dict(k=2, X=X20[:, :2], iK=np.linalg.inv(A20 + np.eye(20))),
    "basic": dict(k=2, X=X20[:, :2], method="basic"),
}


def _lobpcg(lib, grad=False, **kwargs):
    a = lib.tensor(A20, requires_grad=grad)
    args = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    values, vectors = lib.lobpcg(a, **args)
    return a, values, vectors


@pytest.mark.parametrize("name", LOBPCG_CASES)
def test_lobpcg_matches_pytorch(name):
    _, e, x = _lobpcg(dg, **LOBPCG_CASES[name])
    _, te, tx = _lobpcg(torch, **LOBPCG_CASES[name])
    assert e.dtype == dg.float64 and tuple(x.shape) == tuple(tx.shape)
    np.testing.assert_allclose(e.numpy(), te.numpy(), rtol=1e-9)
    signs = np.sign((x.numpy() * tx.numpy()).sum(0))  # (each eigenvector's sign is arbitrary)
    np.testing.assert_allclose(x.numpy() * signs, tx.numpy(), atol=1e-6)


@pytest.mark.parametrize("largest", [True, False])
def test_lobpcg_gradient_matches_pytorch(largest):
    grads = []
    for lib in (dg, torch):
        a, e, x = _lobpcg(lib, grad=True, k=2, X=X20[:, :2], largest=largest)
        reference = np.linalg.eigh(A20)[1][:, ::-1 if largest else 1][:, :2]
        signs = np.sign((x.detach().numpy() * reference).sum(0))
        weights = np.arange(40.0).reshape(20, 2) / 10 * signs
        ((e * lib.tensor([1.0, 2.0], dtype=lib.float64)).sum()
         + (x * lib.tensor(weights)).sum()).backward()
        grads.append((a.grad.numpy(), e.grad_fn.name()))
    np.testing.assert_allclose(grads[0][0], grads[1][0], atol=1e-5)
    assert grads[0][1] == grads[1][1] == "LOBPCGAutogradFunctionBackward"


def test_lobpcg_default_start_draws_pytorchs_stream():
    dg.manual_seed(3)
    torch.manual_seed(3)
    e, _ = dg.lobpcg(dg.tensor(A20, dtype=dg.float32), k=2)
    te, _ = torch.lobpcg(torch.tensor(A20, dtype=torch.float32), k=2)
    assert e.dtype == dg.float32
    np.testing.assert_allclose(e.numpy(), te.numpy(), rtol=1e-5)
    np.testing.assert_array_equal(dg.randn(3).numpy(), torch.randn(3).numpy())


@pytest.mark.parametrize("bad", [
    lambda L: L.lobpcg(L.ones(5, 5), k=2),  # (m < 3 n)
    lambda L: L.lobpcg(L.ones(5, 4)),
    lambda L: L.lobpcg(L.eye(6), B=L.eye(5)),
])
def test_lobpcg_refuses_as_pytorch(bad):
    ours, theirs = _both(bad)
    assert ours[0] == theirs[0] != "ok"


def test_lobpcg_tracker_sees_the_iteration_and_can_stop_it():
    steps = []

    def tracker(worker):
        steps.append((worker.ivars["istep"], worker.E.shape, worker.tvars["rerr"].shape))
        worker.bvars["force_stop"] = worker.ivars["istep"] == 2

    dg.lobpcg(dg.tensor(A20), k=2, X=dg.tensor(X20[:, :2]), tracker=tracker, tol=1e-30)
    assert [s[0] for s in steps] == [0, 1, 2] and steps[0][1:] == ((2,), (2,))


# ---------------------------------------------------------------- grad_dtype


def _grad_dtype_trace(lib):
    out = []

    def record(function):
        try:
            out.append(repr(function()).replace("deltagrad.", "torch."))
        except Exception as error:  # noqa: BLE001 - the class and message are compared
            out.append(f"{type(error).__name__}: {str(error)[:90]}")

    record(lambda: lib.arange(6.0).reshape(2, 3).grad_dtype)
    y = lib.ones(2, 3, requires_grad=True)
    record(lambda: y.grad_dtype)
    y.grad_dtype = lib.float64
    seen = []
    y.register_hook(lambda g: seen.append(str(g.dtype)))
    y.register_post_accumulate_grad_hook(lambda p: seen.append("post " + str(p.grad.dtype)))
    (y * 2).sum().backward()
    (y * 3).sum().backward()
    record(lambda: (y.grad, seen))
    record(lambda: lib.autograd.grad((y * 2).sum(), y)[0])
    z = y * 2
    record(lambda: z.grad_dtype)
    record(lambda: setattr(z, "grad_dtype", lib.float64))
    record(lambda: setattr(y, "grad_dtype", 3))
    y.grad_dtype = None
    y.grad = lib.ones(2, 3, dtype=lib.float16)
    record(lambda: (y.grad.dtype, y.grad_dtype))
    v = lib.ones(2, requires_grad=True)
    record(lambda: setattr(v, "grad", lib.ones(2, dtype=lib.float64)))
    v.grad_dtype = lib.float64
    record(lambda: setattr(v, "grad", lib.ones(2)))
    u = lib.ones(2, requires_grad=True)
    u.grad_dtype = lib.float16
    (u * 1.0001).sum().backward()
    record(lambda: u.grad)
    w = lib.ones(2, requires_grad=True)
    w.grad_dtype = lib.float64
    record(lambda: (w.detach().grad_dtype, w._backward_hooks))
    (w * w).sum().backward(create_graph=True)
    record(lambda: (w.grad.dtype, w.grad.requires_grad))
    return out


def test_grad_dtype_matches_pytorch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the non-leaf .grad and create_graph warnings)
        assert _grad_dtype_trace(dg) == _grad_dtype_trace(torch)


# ---------------------------------------------------------------- smaller names


def test_cpu_device_agnostic_names():
    stream = dg.cpu.current_stream()
    other = dg.cpu.Stream(priority=0)
    with dg.cpu.stream(other):
        assert dg.cpu.current_stream() is other
    assert dg.cpu.current_stream() is stream
    event = dg.cpu.Event()
    assert event.query() is True and event.record() is None and event.wait() is None
    assert dg.cpu.is_initialized() is True and dg.cpu.set_device("cpu") is None
    ours, theirs = dg.cpu.get_capabilities(), torch.cpu.get_capabilities()
    assert ours["architecture"] == theirs["architecture"]
    for name in ("sse2", "avx", "avx2", "fma3", "avx512_f", "f16c", "bmi2"):
        if name in theirs:
            assert ours[name] == theirs[name], name
    with pytest.raises(TypeError):
        ours["avx"] = False  # (an immutable mapping, as PyTorch's)


def _switch_trace(lib):
    trace = [lib.autograd.is_multithreading_enabled(), lib.autograd.is_view_replay_enabled()]
    with lib.autograd.set_multithreading_enabled(False):
        trace.append(lib.autograd.is_multithreading_enabled())
    trace.append(lib.autograd.is_multithreading_enabled())
    decorator = lib.autograd.set_multithreading_enabled(False)  # (sets it when made)
    inside = decorator(lib.autograd.is_multithreading_enabled)
    trace += [lib.autograd.is_multithreading_enabled(), inside()]
    lib.autograd.set_multithreading_enabled(True)
    trace += [inside(), lib.autograd.is_multithreading_enabled()]
    trace += [lib.autograd.is_tensor_like(v) for v in (lib.ones(1), 6, None, object())]
    return trace


def test_autograd_switches_and_is_tensor_like():
    assert _switch_trace(dg) == _switch_trace(torch)


def test_checkpoint_helpers_match_pytorch():
    for lib in (dg, torch):
        checkpoint = lib.utils.checkpoint
        with pytest.warns(UserWarning, match="None of the inputs have requires_grad"):
            checkpoint.check_backward_validity([lib.ones(2), 3])
        a = lib.ones(2, requires_grad=True) * 2
        detached = checkpoint.detach_variable((a, 3, lib.ones(1)))
        assert detached[0].requires_grad and detached[0].is_leaf and detached[1] == 3
        assert not detached[2].requires_grad
        with pytest.raises(RuntimeError, match="Only tuple of tensors"):
            checkpoint.detach_variable([a])
        with checkpoint.set_checkpoint_debug_enabled(True):
            pass
        assert checkpoint.DefaultDeviceType.get_device_type() == "cpu"


def test_fork_wait_is_distributed():
    for lib in (dg, torch):
        future = lib.fork(lambda x, y=1: x + y, 2, y=3)
        assert future.done() and lib.wait(future) == 5
        with pytest.raises(TypeError):
            lib.fork(3)
        with pytest.raises(TypeError):
            lib.wait(3)
        with pytest.raises(ValueError, match="inside"):
            lib.fork(lambda: (_ for _ in ()).throw(ValueError("inside")))
        assert lib.is_distributed(lib.ones(2)) is False and lib.init_num_threads() is None
        with pytest.raises(TypeError):
            lib.is_distributed(3)


@pytest.mark.parametrize("make", [lambda L: L.eye(2), lambda L: L.eye(2).to_sparse(),
                                  lambda L: L.eye(2).to_sparse_csr()])
def test_spsolve_has_no_cpu_kernel_as_pytorch(make):
    ours, theirs = _both(lambda L: L.sparse.spsolve(make(L), L.ones(2)))
    assert ours[0] == theirs[0] == "NotImplementedError"
    assert ours[1][:50] == theirs[1][:50]


@pytest.mark.parametrize("name, dtype", [
    ("BFloat16Tensor", "bfloat16"), ("ByteTensor", "uint8"), ("CharTensor", "int8"),
    ("HalfTensor", "float16"), ("IntTensor", "int32"), ("ShortTensor", "int16")])
def test_legacy_sparse_types(name, dtype):
    for lib in (dg, torch):
        kind = getattr(lib.sparse, name)
        values = lib.ones(2, dtype=getattr(lib, dtype))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sparse = lib.sparse_coo_tensor(lib.tensor([[0, 1]]), values)
        assert isinstance(sparse, kind) and not isinstance(values, kind)
        assert not isinstance(lib.ones(2).to_sparse(), kind)
        built = kind(lib.tensor([[0]]), lib.ones(1))  # (2.13 keeps the values' dtype)
        assert str(built.dtype).endswith("float32")


@pytest.mark.parametrize("name", ["adaptive", "channelshuffle", "distance", "flatten", "fold",
                                  "instancenorm", "pixelshuffle", "transformer", "upsampling"])
def test_nn_modules_import_paths(name):
    import importlib

    ours = importlib.import_module(f"deltagrad.nn.modules.{name}")
    theirs = importlib.import_module(f"torch.nn.modules.{name}")
    assert getattr(dg.nn.modules, name) is ours
    for cls in theirs.__all__:
        assert getattr(ours, cls) is getattr(dg.nn, cls), cls


def test_nn_modules_transformer_helpers():
    ours = dg.nn.modules.transformer
    theirs = torch.nn.modules.transformer

    np.testing.assert_array_equal(ours._generate_square_subsequent_mask(4).numpy(),
                                  theirs._generate_square_subsequent_mask(4).numpy())
    assert ours._get_activation_fn("gelu") is dg.nn.functional.gelu
    with pytest.raises(RuntimeError, match="relu/gelu"):
        ours._get_activation_fn("tanh")
    with pytest.raises(RuntimeError, match="relu/gelu"):
        theirs._get_activation_fn("tanh")
    layer = dg.nn.Linear(2, 2)
    clones = ours._get_clones(layer, 3)
    assert len(clones) == 3 and clones[0] is not layer
    np.testing.assert_array_equal(clones[2].weight.detach().numpy(), layer.weight.detach().numpy())


# ---------------------------------------------------------------- torch.library


def _library_trace(lib):
    from collections.abc import Sequence

    tensor = lib.Tensor
    out = []

    def record(function):
        try:
            out.append(repr(function()).replace("deltagrad.", "torch."))
        except Exception as error:  # noqa: BLE001 - the class and message are compared
            out.append(f"{type(error).__name__}: {str(error)[:70]}")

    def full(x: tensor, y: tensor | None, n: int, s: float = 1.0, flag: bool = False,
             name: str = "a", m: int | None = None) -> tensor: ...

    def mutating(x: tensor, out: tensor) -> None: ...

    def lists(x: tensor, ts: list[tensor], dims: Sequence[int], fl: list[float]
              ) -> tuple[tensor, tensor]: ...

    def keyword(x: tensor, *, alpha: float = 2.0) -> list[tensor]: ...

    def kinds(x: tensor, d: lib.dtype, dev: lib.device, sc: lib.types.Number) -> int: ...

    def bare(x): ...

    def tuple_default(x: tensor, dims: Sequence[int] = (1,)) -> tensor: ...

    def varargs(x: tensor, *rest: tensor) -> tensor: ...

    for function, kwargs in [(full, {}), (mutating, {"mutates_args": {"out"}}), (lists, {}),
                             (lists, {"op_name": "h"}), (keyword, {}), (kinds, {}),
                             (full, {"mutates_args": "unknown"}), (bare, {}),
                             (mutating, {"mutates_args": {"z"}}), (tuple_default, {}),
                             (varargs, {})]:
        kwargs.setdefault("mutates_args", ())
        record(lambda f=function, k=kwargs: lib.library.infer_schema(f, **k))
    lib.library.define("s24bn3::foo", "(Tensor x, int n=2) -> Tensor")
    record(lambda: lib.ops.s24bn3.foo(lib.ones(2)))

    @lib.library.impl("s24bn3::foo", "cpu")
    def foo(x, n=2):
        return x * n

    record(lambda: (lib.ops.s24bn3.foo(lib.ones(2)), lib.ops.s24bn3.foo(lib.ones(2), 3)))
    record(lambda: lib.library.define("s24bn3::foo", "(Tensor x) -> Tensor"))
    record(lambda: lib.library.define("nonamespace", "(Tensor x) -> Tensor"))
    lib.library.define("s24bn3::bar", "(Tensor x) -> Tensor")
    lib.library.impl("s24bn3::bar", "CompositeImplicitAutograd", lambda x: x.sin())
    x = lib.ones(2, requires_grad=True)
    y = lib.ops.s24bn3.bar(x)
    y.sum().backward()
    record(lambda: (type(y.grad_fn).__name__, x.grad))
    lib.library.impl("s24bn3::bar", "cuda", lambda x: x * 7)  # (no CUDA: the CPU one stays)
    record(lambda: lib.ops.s24bn3.bar(lib.zeros(1)))

    @lib.library.custom_op("s24bn3::baz", mutates_args=())
    def baz(x: lib.Tensor) -> lib.Tensor:
        return x + 1

    lib.library.register_kernel("s24bn3::baz", "cpu", lambda x: x + 2)
    record(lambda: (baz(lib.ones(1)), lib.ops.s24bn3.baz(lib.ones(1))))
    lib.library.register_kernel("s24bn3::baz", ["cuda"], lambda x: x + 3)
    record(lambda: baz(lib.ones(1)))
    lib.library.define("s24bn3::qux", "(Tensor x) -> Tensor")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lib.library.impl_abstract("s24bn3::qux", lambda x: x.new_empty(x.shape))
    record(lambda: [c.category.__name__ for c in caught])
    return out


def test_library_define_impl_and_infer_schema_match_pytorch():
    assert _library_trace(dg) == _library_trace(torch)


def _weak_trace(lib):
    import gc

    weak = lib.utils.weak
    table = weak.WeakIdKeyDictionary()
    a, b = lib.ones(2), lib.ones(2)  # (equal values, distinct keys)
    table[a], table[b] = "a", "b"
    trace = [len(table), table[a], a in table, lib.ones(2) in table, table.get(lib.ones(1), 0)]
    del table[b]
    trace.append(sorted(table.values()))
    del a
    gc.collect()
    trace.append(len(table))
    c = lib.ones(1)
    ref, other = weak.WeakIdRef(c), weak.WeakIdRef(c)
    trace += [ref == other, hash(ref) == id(c), weak.TensorWeakRef(c)() is c]
    trace.append(weak.WeakTensorKeyDictionary is weak.WeakIdKeyDictionary)
    return trace


def test_utils_weak_matches_pytorch():
    assert _weak_trace(dg) == _weak_trace(torch)


def test_small_aliases():
    assert dg.nn.functional.grad is dg.nn.grad
    assert torch.nn.functional.grad is torch.nn.grad
    assert dg.autograd.functional.fwAD is dg.autograd.forward_ad
    assert dg.random.thread_safe_generator() is torch.random.thread_safe_generator() is None
    assert dg.utils.deterministic.fill_uninitialized_memory is True
    assert torch.utils.deterministic.fill_uninitialized_memory is True
