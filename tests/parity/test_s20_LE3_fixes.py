"""Regression tests for what running more libraries' code under the alias found (LE3, session
20), each differential against PyTorch: kornia's ``histogram_matching`` of a template that
requires grad (PyTorch raises at backward: unique, histogram, bincount's weighted sums and
geqrf are recorded without a derivative), captum's Lime / KernelShap
(``torch.FloatTensor(sklearn_model.coef_)``: a legacy constructor given an ndarray), histogram
densities an ulp off, and the error classes of index_select / meshgrid that kornia's and
torchmetrics' argument checks meet."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _x(m):
    return m.tensor([3.0, 1.0, 2.0, 3.0, 1.0, 0.5], requires_grad=True)


def _points(m):
    return m.tensor([[3.0, 1.0], [2.0, 3.0], [3.0, 1.0], [0.0, 0.5]], requires_grad=True)


def _edges(m):
    return m.tensor([0.0, 1.0, 3.5])


# name -> f(m, x, points): the tensor whose backward is tried (x and points require grad).
UNDIFFERENTIABLE = {
    "unique": lambda m, x, p: m.unique(x),
    "unique_unsorted": lambda m, x, p: m.unique(x, sorted=False),
    "unique_parts": lambda m, x, p: m.unique(x, return_inverse=True, return_counts=True)[0],
    "unique_method": lambda m, x, p: x.unique(),
    "unique_dim": lambda m, x, p: m.unique(p, dim=0),
    "unique_dim_neg": lambda m, x, p: p.unique(dim=-1, return_counts=True)[0],
    "unique_consecutive": lambda m, x, p: m.unique_consecutive(x),
    "unique_consecutive_dim": lambda m, x, p: m.unique_consecutive(p, dim=0),
    "unique_consecutive_method": lambda m, x, p: x.unique_consecutive(return_inverse=True)[0],
    "histogram": lambda m, x, p: m.histogram(x, bins=3)[0],
    "histogram_edges": lambda m, x, p: m.histogram(x, bins=3)[1],
    "histogram_density": lambda m, x, p: m.histogram(x, bins=3, density=True)[0],
    "histogram_tensor_bins": lambda m, x, p: m.histogram(x, bins=_edges(m))[0],
    "histogram_tensor_bins_edges": lambda m, x, p: m.histogram(x, bins=_edges(m))[1],
    "histogram_weight": lambda m, x, p: m.histogram(x.detach(), bins=2, weight=x)[0],
    "histogram_method": lambda m, x, p: x.histogram(4, range=(0.0, 4.0))[0],
    "histogramdd": lambda m, x, p: m.histogramdd(p, bins=2)[0],
    "histogramdd_edges": lambda m, x, p: m.histogramdd(p, bins=[2, 3])[1][1],
    "histogramdd_tensor_bins": lambda m, x, p: m.histogramdd(p, bins=[_edges(m)] * 2)[0],
    "histogramdd_weight": lambda m, x, p: m.histogramdd(p.detach(), bins=2, weight=x[:4])[0],
    "histogramdd_weight_edges": lambda m, x, p:
        m.histogramdd(p.detach(), bins=2, weight=x[:4])[1][0],
    "bincount_weights": lambda m, x, p: m.bincount(m.tensor([0, 2, 2, 1, 0, 3]), weights=x),
    "bincount_method": lambda m, x, p: m.tensor([1, 1, 0, 0, 0, 2]).bincount(x, minlength=5),
    "geqrf": lambda m, x, p: m.geqrf(p)[0],
    "geqrf_tau": lambda m, x, p: m.geqrf(p.T @ p)[1],
}


def _undifferentiable(m, name):
    x, p = _x(m), _points(m)
    out = UNDIFFERENTIABLE[name](m, x, p)
    seen = [out.requires_grad, out.is_leaf, type(out.grad_fn).__name__, str(out.dtype)[-7:],
            out.grad_fn.name() if out.grad_fn is not None else None]
    try:  # (a loss that also reaches x by a differentiable path: still an error)
        (out.sum() + x.sum() + p.sum()).backward()
        seen.append("no error")
    except Exception as error:  # noqa: BLE001 - the type and message are compared
        seen += [type(error).__name__, str(error)]
    return seen, out.detach().numpy()


@pytest.mark.parametrize("name", list(UNDIFFERENTIABLE))
def test_results_recorded_without_a_derivative(name):
    (ours, values), (theirs, expected) = _undifferentiable(dg, name), _undifferentiable(torch,
                                                                                          name)
    assert ours == theirs
    # (geqrf's float32 LAPACK factors differ in the last bit or so)
    np.testing.assert_allclose(values, expected, rtol=1e-6, atol=1e-6)


def _not_recorded(m):
    """No node where nothing requires grad, under no_grad, for the integer parts, and with
    histogram's out= (PyTorch records its out tensors: deltagrad keeps them outside the graph,
    as before, documented in statistics.histogram)."""
    x, p = _x(m), _points(m)
    values, inverse, counts = m.unique(x, return_inverse=True, return_counts=True)
    seen = [inverse.requires_grad, counts.requires_grad,
            m.unique(x.detach()).requires_grad, m.histogram(x.detach(), 2)[0].requires_grad,
            m.histogramdd(p.detach(), bins=2)[1][0].requires_grad]
    with m.no_grad():
        seen += [m.unique(x).requires_grad, m.histogram(x, 2)[1].requires_grad,
                 m.unique_consecutive(p, dim=1).requires_grad]
    given = _edges(m)
    seen.append(m.histogramdd(p, bins=[given, given])[1][0] is given)
    return seen


def test_undifferentiable_results_not_recorded():
    assert _not_recorded(dg) == _not_recorded(torch)


def test_kornia_style_histogram_matching_raises_at_backward():
    """kornia.contrib.histogram_matching's steps (unique of the source, its inverse into an
    interpolation): differentiating it raises NotImplementedError on both."""
    def run(m):
        source = m.tensor([0.2, 0.7, 0.2, 0.9], requires_grad=True)
        values, inverse, counts = m.unique(source, return_inverse=True, return_counts=True)
        quantiles = m.cumsum(counts, 0).to(source.dtype) / source.numel()
        matched = (values * quantiles)[inverse]
        with pytest.raises(NotImplementedError, match="_unique2"):
            matched.sum().backward()
        return matched.tolist()

    assert run(dg) == pytest.approx(run(torch))


# Legacy constructors given an ndarray (captum: torch.FloatTensor(sklearn_model.coef_)).
LEGACY = {
    "float_1d": lambda m: m.FloatTensor(np.array([1.5, 2.0])),
    "float_2d_from_f64": lambda m: m.FloatTensor(np.array([[1.5, 2.0]])),
    "float_0d": lambda m: m.FloatTensor(np.array(3.0)),
    "float_from_int": lambda m: m.FloatTensor(np.array([1, 2])),
    "float_empty": lambda m: m.FloatTensor(np.zeros((0, 2))),
    "long_from_float": lambda m: m.LongTensor(np.array([1.7, 2.0])),
    "double": lambda m: m.DoubleTensor(np.array([1.5, 2.0], dtype=np.float32)),
    "bool": lambda m: m.BoolTensor(np.array([True, False])),
    "int_from_int8": lambda m: m.IntTensor(np.array([[1, 2], [3, 4]], dtype=np.int8)),
    "tensor": lambda m: m.Tensor(np.array([1.5, 2.0])),
    "tensor_0d": lambda m: m.Tensor(np.array(2.5)),
    "tensor_ints": lambda m: m.Tensor(np.array([[1, 2]])),
    "new": lambda m: m.ones(2).new(np.array([1.5, 2.0])),
    "transposed": lambda m: m.FloatTensor(np.arange(6.0, dtype=np.float32).reshape(2, 3).T),
    "size_0d_int": lambda m: m.FloatTensor(np.array(3)).shape,  # (a size: uninitialised)
}


@pytest.mark.parametrize("name", list(LEGACY))
def test_legacy_constructor_of_an_ndarray(name):
    ours, theirs = LEGACY[name](dg), LEGACY[name](torch)
    if isinstance(theirs, torch.Size):
        assert tuple(ours) == tuple(theirs)
        return
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def _shared(m):
    """Which constructors share the ndarray's memory (PyTorch: those of its dtype)."""
    seen = []
    for make, dtype in ((m.FloatTensor, np.float32), (m.Tensor, np.float32),
                        (m.Tensor, np.float64), (m.LongTensor, np.int64),
                        (m.DoubleTensor, np.float32), (lambda a: m.ones(1).new(a), np.float32)):
        array = np.arange(4, dtype=dtype).reshape(2, 2).T  # (strided, as from_numpy's)
        made = make(array)
        made[0, 1] = 99
        seen.append(float(array[0, 1]))
    return seen


def test_legacy_constructor_shares_an_ndarray_of_its_dtype():
    assert _shared(dg) == _shared(torch)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_histogram_density_rounds_as_pytorch(dtype):
    """density=True divides by the total, then by the bin widths (each dim's in turn for
    histogramdd), rounding each time as PyTorch does: bit for bit on random data."""
    rng = np.random.default_rng(1)
    for _ in range(40):
        values = rng.normal(size=int(rng.integers(3, 50))).astype(dtype)
        bins = int(rng.integers(1, 9))
        ours = dg.histogram(dg.from_numpy(values), bins=bins, density=True).hist.numpy()
        theirs = torch.histogram(torch.from_numpy(values), bins=bins, density=True).hist
        np.testing.assert_array_equal(ours, theirs.numpy())
        points = rng.normal(size=(int(rng.integers(3, 30)), 2)).astype(dtype)
        per_dim = [int(rng.integers(1, 5)), int(rng.integers(1, 5))]
        ours = dg.histogramdd(dg.from_numpy(points), bins=per_dim, density=True).hist.numpy()
        theirs = torch.histogramdd(torch.from_numpy(points), bins=per_dim, density=True).hist
        np.testing.assert_array_equal(ours, theirs.numpy())


def _error_class(call):
    try:
        call()
    except Exception as error:  # noqa: BLE001 - its class is compared
        return next(c.__name__ for c in type(error).__mro__
                    if c.__module__ == "builtins")  # (deltagrad's subclass -> PyTorch's)
    return "no error"


def _index_errors(m):
    """kornia / torchmetrics reach index_select with a 2-d float index: PyTorch checks the
    index's rank before its dtype (IndexError) for index_select / index_add / index_copy,
    index_fill its dtype first."""
    x, source = m.zeros(3, 3), m.ones(2, 3)
    seen = []
    for index in (m.rand(2, 2), m.rand(2), m.ones(2, 1, dtype=m.int32),
                  m.ones(2, 1, dtype=m.long)):
        seen += [_error_class(lambda i=index: m.index_select(x, 0, i)),
                 _error_class(lambda i=index: x.index_select(1, i)),
                 _error_class(lambda i=index: x.clone().index_add_(0, i, source)),
                 _error_class(lambda i=index: x.clone().index_copy_(0, i, source)),
                 _error_class(lambda i=index: x.clone().index_fill_(0, i, 1.0))]
    return seen


def test_index_functions_check_rank_before_dtype():
    assert _index_errors(dg) == _index_errors(torch)


def _meshgrid_errors(m):
    """kornia's create_meshgrid reaches meshgrid with a tensor as ``indexing``: TypeError; an
    unknown string is a RuntimeError."""
    a, b = m.arange(3), m.arange(2)
    return [_error_class(lambda i=indexing: m.meshgrid(a, b, indexing=i))
            for indexing in (m.ones(2), 1, "foo", "IJ", "xy")]


def test_meshgrid_indexing_errors():
    assert _meshgrid_errors(dg) == _meshgrid_errors(torch)
