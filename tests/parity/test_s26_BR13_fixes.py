"""Session 26, BR13: known differences from PyTorch 2.13 written down by earlier sessions,
fixed; each case runs the same code on deltagrad and on real torch and compares values,
gradients (layout too), node names and version counts."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import deltagrad

torch = pytest.importorskip("torch")


def _both(make):
    out = []
    for lib in (torch, deltagrad):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (PyTorch's sparse beta / invariant notes)
            out.append(make(lib))
    return out


def _grad(x):
    g = x.grad
    if g is None:
        return None
    layout = "sparse" if g.is_sparse else "strided"
    return layout, np.asarray((g.to_dense() if g.is_sparse else g).tolist())


# ------------------------------------------------------------------ sparse gradients
# PyTorch's ToSparseBackward0 gives to_sparse's dense input the whole dense gradient a
# dense reader (Tensor.sum, dense + S, @) sends back, through the maps linear in the entries
# (x * c, x / c, -x, a + b, a - b, transposes, in place too). deltagrad's values carried it
# at the stored entries only: `(x.to_sparse() * 2).sum()` gave x 2 on the pattern and 0
# elsewhere (silent). Now those maps carry to_sparse's input (api/sparse_links.py).

X = [[1.0, 0.0, 0.5], [0.0, 2.0, 0.0]]
Y = [[0.0, 3.0, 0.5], [0.0, 2.0, 4.0]]

CHAINS = {
    "mul-number": lambda t, s, u: (s * 2).sum(),
    "number-mul": lambda t, s, u: (2.5 * s).sum(),
    "div-number": lambda t, s, u: (s / 4).sum(),
    "neg": lambda t, s, u: (-s).sum(),
    "mul-0d-tensor": lambda t, s, u: (s * t.tensor(3.0, dtype=s.dtype)).sum(),
    "mul-twice": lambda t, s, u: (s * 2 * 3).sum(),
    "transpose-mul": lambda t, s, u: (s.t() * 2).sum(),
    "mul-transpose": lambda t, s, u: (s * 2).t().sum(),
    "add-self": lambda t, s, u: (s + s).sum(),
    "add-other": lambda t, s, u: (s + u * 3).sum(),
    "sub-other": lambda t, s, u: (s - u).sum(),
    "add-alpha": lambda t, s, u: s.add(u, alpha=2).sum(),
    "mul_-inplace": lambda t, s, u: s.mul_(2).sum(),
    "add_-inplace": lambda t, s, u: (s * 2).add_(u).sum(),
    "dense-plus-scaled": lambda t, s, u: (t.ones(2, 3, dtype=s.dtype) + s * 2).sum(),
    "dense-minus-scaled": lambda t, s, u: (t.ones(2, 3, dtype=s.dtype) - s * 2).sum(),
    "scaled-matmul": lambda t, s, u: ((s * 2) @ t.ones(3, 2, dtype=s.dtype)).sum(),
    "scaled-matvec": lambda t, s, u: ((s / 2) @ t.ones(3, dtype=s.dtype)).sum(),
    "dense-matmul-scaled-t": lambda t, s, u: (t.ones(4, 3, dtype=s.dtype) @ (s * 2).t()).sum(),
    "transpose-matmul": lambda t, s, u: (s.t() @ t.ones(2, 2, dtype=s.dtype)).sum(),
    "dense-matmul-transpose": lambda t, s, u: (t.ones(4, 3, dtype=s.dtype) @ s.t()).sum(),
    "csr-mul": lambda t, s, u: (s.to_sparse_csr() * 2).sum(),
    "csr-neg": lambda t, s, u: (-s.to_sparse_csr()).sum(),
    # (readers that mask in PyTorch too: unchanged)
    "sparse-sum-masks": lambda t, s, u: t.sparse.sum(s * 2),
    "to-dense-masks": lambda t, s, u: (s * 2).to_dense().sum(),
    "pow-masks": lambda t, s, u: (s * 2).pow(2).sum(),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CHAINS))
def test_to_sparse_input_takes_the_whole_gradient_through_linear_maps(name, dtype):
    def run(t):
        x = t.tensor(X, dtype=getattr(t, dtype), requires_grad=True)
        y = t.tensor(Y, dtype=getattr(t, dtype), requires_grad=True)
        out = CHAINS[name](t, x.to_sparse(), y.to_sparse())
        out.backward()
        return float(out), type(out.grad_fn).__name__, _grad(x), _grad(y)

    theirs, ours = _both(run)
    assert ours[:2] == theirs[:2]
    for a, b in zip(ours[2:], theirs[2:]):
        assert (a is None) == (b is None)
        if a is not None:
            assert a[0] == b[0]
            np.testing.assert_allclose(a[1], b[1], rtol=1e-6)


@pytest.mark.parametrize("grad", [False, True], ids=["plain", "requires-grad"])
@pytest.mark.parametrize("how", ["div", "truediv", "div_"])
def test_csr_division_is_refused(how, grad):
    # PyTorch's CPU build divides no CSR tensor (its layout error); deltagrad divided
    for t in (torch, deltagrad):
        s = t.tensor(X, requires_grad=grad).to_sparse_csr()
        with pytest.raises(RuntimeError, match="unsupported tensor layout: SparseCsr"):
            s.div(2) if how == "div" else s / 2 if how == "truediv" else s.detach().div_(2)


def test_hybrid_to_sparse_scaled_sum():
    def run(t):
        x = t.tensor([[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]],
                      [[0.0, 3.0], [4.0, 0.0]]], requires_grad=True)
        out = (x.to_sparse(1) * 2).sum()
        out.backward()
        return float(out), x.grad.tolist()

    theirs, ours = _both(run)
    assert ours == theirs


def test_scaled_by_a_0d_tensor_that_requires_grad():
    def run(t):
        x = t.tensor(X, requires_grad=True)
        c = t.tensor(3.0, requires_grad=True)
        (x.to_sparse() * c).sum().backward()
        return x.grad.tolist(), float(c.grad)

    theirs, ours = _both(run)
    assert ours == theirs


def test_values_node_name_of_a_non_leaf_sparse_tensor():
    # PyTorch's values() is a ValuesBackward0 view (ours was ViewBackward0)
    def run(t):
        s = t.tensor(X, requires_grad=True).to_sparse()
        return [type(v.grad_fn).__name__ for v in (s.values(), (s * 2).values(),
                                                   (s * 2).coalesce().values())]

    theirs, ours = _both(run)
    assert ours == theirs == ["ValuesBackward0"] * 3


LEAF_READERS = {
    "sum": lambda t, a: a.sum(),
    "sum-dtype": lambda t, a: a.sum(dtype=t.float32),
    "dense-plus": lambda t, a: (t.ones(2, 3, dtype=t.float64) + a).sum(),
    "dense-minus": lambda t, a: (t.ones(2, 3, dtype=t.float64) - a).sum(),
    "sum-plus-sparse-sum": lambda t, a: a.sum() + t.sparse.sum(a),
    "matmul": lambda t, a: (a @ t.ones(3, 2, dtype=t.float64)).sum(),
    "sparse-sum-masks": lambda t, a: t.sparse.sum(a * 2),
    "to-dense-masks": lambda t, a: a.to_dense().sum(),
}


@pytest.mark.parametrize("name", sorted(LEAF_READERS))
def test_sparse_leaf_takes_a_dense_gradient_whole(name):
    # A sparse leaf that requires grad: PyTorch's .grad is the dense gradient (strided) where
    # a dense reader sends one; deltagrad's was sparse, masked to the leaf's entries.
    def run(t):
        a = t.sparse_coo_tensor(t.tensor([[0, 1], [1, 2]]), t.tensor([1.5, -2.0],
                                dtype=t.float64), (2, 3), requires_grad=True)
        out = LEAF_READERS[name](t, a)
        out.backward()
        layout, grad = _grad(a)
        return float(out), type(out.grad_fn).__name__, layout, grad.tolist()

    theirs, ours = _both(run)
    assert ours == theirs


# ------------------------------------------------------------------ x.data = y
# PyTorch's x keeps its own version counter over y's memory; deltagrad's x counted with y's
# array, so a write into y after `x.data = y` made a graph that saved x raise "modified by an
# inplace operation" (PyTorch runs, reading the new values).

def test_data_assignment_keeps_the_version_counter():
    def run(t):
        x = t.zeros(3)
        for _ in range(3):
            x.add_(1)
        y = t.ones(3)
        x.data = y
        seen = [x._version, y._version]
        x.add_(1)
        seen += [x._version, y._version, y.tolist()]
        y.mul_(2)
        seen += [x._version, y._version, x.tolist()]
        x.view(3)[0] = 5
        seen += [x._version, y._version, y.tolist()]
        return seen

    theirs, ours = _both(run)
    assert ours == theirs


def test_write_into_the_new_data_after_a_graph_saved_x():
    def run(t):
        w = t.ones(3, requires_grad=True)
        x, y = t.zeros(3), t.ones(3)
        x.data = y
        z = (w * x).sum()
        y.add_(1)  # (x's memory changes, its counter does not)
        z.backward()
        return w.grad.tolist(), x._version, y._version

    theirs, ours = _both(run)
    assert ours == theirs


def test_parameter_data_then_inplace_still_refuses():
    def run(t):
        p = t.nn.Parameter(t.ones(3))
        p.data = t.full((3,), 2.0)
        out = (p * p).sum()
        with t.no_grad():
            p.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.backward()
        return p._version

    theirs, ours = _both(run)
    assert ours == theirs


# ------------------------------------------------------------------ CSR tensor methods
# PyTorch refuses coalesce / is_coalesced / unsqueeze of a CSR tensor and indexes one by
# selecting (a 1-d COO row or column, a dense element); deltagrad answered True, itself, a
# COO tensor, and indexed the dense tensor (a dense row; slices, lists and None worked).

CSR_CALLS = {
    "is_coalesced": lambda t, s: s.is_coalesced(),
    "coalesce": lambda t, s: s.coalesce(),
    "unsqueeze-0": lambda t, s: s.unsqueeze(0),
    "unsqueeze-2": lambda t, s: s.unsqueeze(2),
    "row": lambda t, s: s[0],
    "last-row": lambda t, s: s[-1],
    "row-out-of-range": lambda t, s: s[2],
    "row-0d-tensor": lambda t, s: s[t.tensor(1)],
    "row-numpy-int": lambda t, s: s[np.int64(1)],
    "row-full-slice": lambda t, s: s[1, :],
    "column": lambda t, s: s[:, 2],
    "column-ellipsis": lambda t, s: s[..., 0],
    "row-ellipsis": lambda t, s: s[0, ...],
    "element": lambda t, s: s[0, 2],
    "element-negative": lambda t, s: s[1, -2],
    "row-then-element": lambda t, s: s[1][1],
    "column-out-of-range": lambda t, s: s[:, 3],
    "full-slice": lambda t, s: s[:],
    "two-full-slices": lambda t, s: s[:, :],
    "ellipsis": lambda t, s: s[...],
    "slice": lambda t, s: s[0:1],
    "none": lambda t, s: s[None],
    "bool": lambda t, s: s[True],
    "list": lambda t, s: s[[0, 1]],
    "index-tensor": lambda t, s: s[t.tensor([0, 1])],
    "too-many": lambda t, s: s[0, 1, 2],
}


def _outcome(call):
    try:
        r = call()
    except Exception as e:  # (the exception's type and text are compared)
        return type(e).__name__, str(e)[:60]
    layout = str(r.layout).split(".")[-1]
    return layout, (r.to_dense() if layout != "strided" else r).tolist()


@pytest.mark.parametrize("name", sorted(CSR_CALLS))
def test_csr_methods_and_indexing(name):
    theirs, ours = _both(lambda t: _outcome(lambda: CSR_CALLS[name](
        t, t.tensor([[1.0, 0.0, 3.0], [0.0, 2.0, 0.0]]).to_sparse_csr())))
    assert ours == theirs


def test_csr_operations_that_coalesce_inside_still_work():
    # (abs / relu / sum / to_sparse_csr of a CSR tensor coalesce through COO's method)
    def run(t):
        x = t.tensor([[1.0, 0.0, -3.0], [0.0, -2.0, 0.0]], requires_grad=True)
        s = x.to_sparse_csr()
        out = [s.abs().to_dense().tolist(), s.relu().to_dense().tolist(), float(s.sum()),
               t.sparse.sum(s.to_sparse()).item()]
        (s.abs().to_dense().sum() + s.sum()).backward()
        return out, x.grad.tolist()

    theirs, ours = _both(run)
    assert ours == theirs


# ------------------------------------------------------------------ empty pooled outputs
# PyTorch's adaptive pool backwards refuse a gradient with an empty non-batch dim, and
# max_unpool's backward gathers out of an empty gradient (both RuntimeErrors); deltagrad's
# gradient was zeros, silently (SL11's KNOWN). Its adaptive max pools also refuse an input
# with an empty non-batch dim in forward (deltagrad answered an empty result).

EMPTY_OUTPUTS = {
    "adaptive_avg_pool1d": lambda F, x: F.adaptive_avg_pool1d(x[0], 0),
    "adaptive_avg_pool1d-unbatched": lambda F, x: F.adaptive_avg_pool1d(x[0, 0], 0),
    "adaptive_avg_pool2d-height": lambda F, x: F.adaptive_avg_pool2d(x, (0, 2)),
    "adaptive_avg_pool2d-width": lambda F, x: F.adaptive_avg_pool2d(x, (1, 0)),
    "adaptive_avg_pool2d-unbatched": lambda F, x: F.adaptive_avg_pool2d(x[0], (0, 2)),
    "adaptive_avg_pool2d-no-channels": lambda F, x: F.adaptive_avg_pool2d(x[:, :0], (1, 2)),
    "adaptive_avg_pool2d-empty-batch": lambda F, x: F.adaptive_avg_pool2d(x[:0], (1, 2)),
    "adaptive_avg_pool3d": lambda F, x: F.adaptive_avg_pool3d(x.unsqueeze(0), (0, 1, 1)),
    "adaptive_max_pool1d": lambda F, x: F.adaptive_max_pool1d(x[0], 0),
    "adaptive_max_pool1d-unbatched": lambda F, x: F.adaptive_max_pool1d(x[0, 0], 0),
    "adaptive_max_pool2d": lambda F, x: F.adaptive_max_pool2d(x, (0, 2)),
    "adaptive_max_pool2d-indices": lambda F, x: F.adaptive_max_pool2d(
        x, (1, 0), return_indices=True)[0],
    "adaptive_max_pool3d": lambda F, x: F.adaptive_max_pool3d(x.unsqueeze(0), (1, 0, 1)),
    "area": lambda F, x: F.interpolate(x, scale_factor=(0.4, 2),
                                       recompute_scale_factor=False, mode="area"),
    "max_unpool2d": lambda F, x: F.max_unpool2d(*F.max_pool2d(
        x[..., :1, :1], 2, padding=1, return_indices=True), 2, padding=1),
    "max_unpool2d-unbatched": lambda F, x: F.max_unpool2d(*F.max_pool2d(
        x[0, :, :1, :1], 2, padding=1, return_indices=True), 2, padding=1),
    "max_unpool3d": lambda F, x: F.max_unpool3d(*F.max_pool3d(
        x[..., :1, :1].unsqueeze(0), 2, padding=1, return_indices=True), 2, padding=1),
}


@pytest.mark.parametrize("name", sorted(EMPTY_OUTPUTS))
def test_backward_through_an_empty_pooled_output(name):
    def run(t):
        x = t.tensor([[[[-0.376, -1.024, -0.3, 2.856, 0.562],
                        [0.5, 0.25, -1.0, 1.5, 2.0]]]], requires_grad=True)
        y = EMPTY_OUTPUTS[name](t.nn.functional, x)
        shape = tuple(y.shape)
        try:
            y.sum().backward()
        except RuntimeError as e:
            return shape, "RuntimeError", str(e)
        return shape, "ok", x.grad.tolist()

    theirs, ours = _both(run)
    assert ours == theirs


@pytest.mark.parametrize("shape,output_size", [
    ((1, 0, 2, 5), (1, 2)), ((1, 1, 0, 5), (0, 2)), ((1, 1, 0, 5), (1, 2)), ((1, 0, 2), (1, 2)),
    ((0, 2, 2), (1, 2)), ((0, 1, 2, 5), (1, 2)), ((1, 1, 2, 2), (0, 1)), ((1, 3), 2),
    ((1, 0, 3), 2), ((1, 1, 0), 0), ((2, 0), 2), ((0, 3), 2), ((1, 0, 1, 2, 2), (1, 1, 1)),
    ((1, 1, 1, 0, 2), (1, 1, 1))], ids=str)
def test_adaptive_max_pool_refuses_an_empty_input_dim(shape, output_size):
    def run(t):
        F = t.nn.functional
        pool = {2: F.adaptive_max_pool1d, 3: F.adaptive_max_pool1d, 4: F.adaptive_max_pool2d,
                5: F.adaptive_max_pool3d}[len(shape)]
        if len(shape) == 3 and not isinstance(output_size, int):
            pool = F.adaptive_max_pool2d
        try:
            return tuple(pool(t.ones(shape), output_size).shape)
        except RuntimeError as e:
            return str(e)

    theirs, ours = _both(run)
    assert ours == theirs


# ------------------------------------------------------------------ attention mask dtypes
# PyTorch keeps a float mask's dtype (a bool one becomes the query's), adds the two masks, and
# then refuses a merged mask of another dtype than the query's (need_weights: baddbmm's error;
# without: SDPA's, which takes float32 too). deltagrad cast the masks to the query's dtype.

MASK_CASES = [(q, a, k, nw) for q in ("float32", "float64") for a in (None, "bool", "float16",
              "float32", "float64") for k in (None, "bool", "float32", "float64")
              for nw in (True, False)] + [("bfloat16", "float32", None, True),
                                          ("bfloat16", "float32", None, False),
                                          ("float32", "bfloat16", None, False)]


@pytest.mark.parametrize("query,attn,padding,need_weights", MASK_CASES,
                         ids=["-".join(map(str, c)) for c in MASK_CASES])
def test_attention_mask_dtypes(query, attn, padding, need_weights):
    def run(t):
        t.manual_seed(0)
        m = t.nn.MultiheadAttention(4, 2, batch_first=True).to(getattr(t, query)).eval()
        q = t.randn(1, 3, 4).to(getattr(t, query))
        am = None if attn is None else t.zeros(3, 3, dtype=getattr(t, attn))
        kpm = None if padding is None else t.zeros(1, 3, dtype=getattr(t, padding))
        try:
            out = m(q, q, q, attn_mask=am, key_padding_mask=kpm, need_weights=need_weights)[0]
        except RuntimeError as e:
            return str(e)
        return str(out.dtype).split(".")[-1], tuple(out.shape)

    theirs, ours = _both(run)
    assert ours == theirs


# ------------------------------------------------------------------ overflowing float32 values
# tensor([1e300], dtype=float32) / arange are inf silently in PyTorch (NumPy printed its
# "overflow encountered in cast"); `x[i] = 1e39` into float32 / complex64 is PyTorch's
# RuntimeError (deltagrad wrote inf, with NumPy's warning). float16 / bfloat16 take inf.

NEW_VALUES = {
    "tensor-list": lambda t: t.tensor([1e300], dtype=t.float32),
    "tensor-default-dtype": lambda t: t.tensor([1e300, 1.0]),
    "tensor-scalar": lambda t: t.tensor(1e300, dtype=t.float32),
    "tensor-nested": lambda t: t.tensor([[1e300, 2.0]], dtype=t.float32),
    "tensor-int": lambda t: t.tensor([10**40], dtype=t.float32),
    "tensor-ndarray": lambda t: t.tensor(np.array([1e300]), dtype=t.float32),
    "as_tensor": lambda t: t.as_tensor([-1e300], dtype=t.float32),
    "new_tensor": lambda t: t.zeros(2).new_tensor([1e300]),
    "arange": lambda t: t.arange(0, 1e300, 1e299, dtype=t.float32),
    "half": lambda t: t.tensor([1e5], dtype=t.float16),
    "float()": lambda t: t.tensor([1e300], dtype=t.float64).float(),
    "setitem-float32": lambda t: t.zeros(2).__setitem__(0, 1e39),
    "setitem-float32-edge": lambda t: t.zeros(2).__setitem__(0, 3.4028235e38),
    "setitem-negative": lambda t: t.zeros(2).__setitem__(slice(None), -1e39),
    "setitem-complex64": lambda t: t.zeros(2, dtype=t.complex64).__setitem__(0, 1e39),
    "setitem-inf": lambda t: t.zeros(2).__setitem__(0, float("inf")),
    "setitem-max": lambda t: t.zeros(2).__setitem__(0, 3.4028234663852886e38),
    "setitem-float16": lambda t: t.zeros(2, dtype=t.float16).__setitem__(0, 1e5),
    "setitem-bfloat16": lambda t: t.zeros(2, dtype=t.bfloat16).__setitem__(0, 1e39),
    "setitem-float64": lambda t: t.zeros(2, dtype=t.float64).__setitem__(0, 1e300),
    "setitem-graph": lambda t: t.zeros(3, requires_grad=True).clone().__setitem__(
        slice(1, None), 1e39),
}


@pytest.mark.parametrize("name", sorted(NEW_VALUES))
def test_overflowing_float32_values(name):
    def run(t):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out = NEW_VALUES[name](t)
            except RuntimeError as e:
                return str(e), []
        values = None if out is None else str(out.tolist())
        return values, [str(w.message) for w in caught]

    out = []
    for lib in (torch, deltagrad):
        out.append(run(lib))
    assert out[1] == out[0]


def test_a_warnings_as_errors_program_makes_overflowing_tensors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert deltagrad.tensor([1e300, -1e300]).tolist() == [float("inf"), float("-inf")]
        assert deltagrad.tensor(np.array([1e300]), dtype=deltagrad.float32).isinf().all()


@pytest.mark.parametrize("target,value", [
    ("float32", ("float64", 1e300)), ("float16", ("float64", 1e300)),
    ("float16", ("float32", 1e5)), ("int8", ("int64", 300)), ("uint8", ("int64", -1)),
    ("int32", ("float32", 2.5)), ("float32", ("bool", True)), ("float32", ("bfloat16", 2.0)),
    ("bfloat16", ("float64", 1e39))], ids=str)
def test_masked_fill_with_a_0d_tensor_checks_the_value(target, value):
    # PyTorch converts the 0-d tensor's item into the input's dtype, checked (deltagrad cast
    # the tensor: 1e300 into float32 was inf)
    def run(t):
        x = t.zeros(2, dtype=getattr(t, target))
        v = t.tensor(value[1], dtype=getattr(t, value[0]))
        try:
            return x.masked_fill(t.tensor([True, False]), v).tolist()
        except RuntimeError as e:
            return "RuntimeError", str(e).split(" type ")[0]  # (type names: see the report)

    theirs, ours = _both(run)
    assert ours == theirs


SUMS = {
    "dim0": lambda t, s: s.sum(0).to_dense().sum(),
    "dim1-scaled": lambda t, s: (s * 2).sum(1).to_dense().sum(),
    "keepdim": lambda t, s: s.sum(0, keepdim=True).to_dense().sum(),
    "sparse.sum-dim": lambda t, s: t.sparse.sum(s, 0).to_dense().sum(),
    "all-dims": lambda t, s: s.sum((0, 1)),
    "all-dims-negative": lambda t, s: s.sum((1, -2)),
    "all-dims-keepdim": lambda t, s: s.sum((0, 1), keepdim=True).sum(),
}


# (a sparse leaf through x * c is left: its gradient stays the values' masked one)
@pytest.mark.parametrize("name,leaf", [(n, leaf) for n in sorted(SUMS) for leaf in (False, True)
                                       if not (leaf and n == "dim1-scaled")], ids=str)
def test_sparse_sum_over_dims(name, leaf):
    # Tensor.sum(dim) of a sparse tensor: PyTorch's backward raises (its SumBackward1 expands
    # a sparse gradient) where dims remain, and gives the whole dense gradient over all dims;
    # deltagrad's gradient was the values' masked one in both cases
    def run(t):
        x = t.tensor([[1.0, 0.0], [0.0, 2.0]], requires_grad=True)
        s = (t.sparse_coo_tensor(t.tensor([[0, 1], [0, 1]]), t.tensor([1.0, 2.0]), (2, 2),
                                 requires_grad=True) if leaf else x.to_sparse())
        out = SUMS[name](t, s)
        try:
            out.backward()
        except RuntimeError as e:
            return str(e)
        g = s.grad if leaf else x.grad
        return float(out), g.layout == t.strided, (g.to_dense() if g.is_sparse else g).tolist()

    theirs, ours = _both(run)
    assert ours == theirs
