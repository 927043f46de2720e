"""The differences from PyTorch that OpInfo's samples found in the shape / view / indexing ops
(s13 OD), each as a small differential case: values, dtypes, gradients, exception classes."""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _np(t):
    t = t.detach()
    if isinstance(t, torch.Tensor):
        t = t.resolve_conj()
    if str(t.dtype).endswith("bfloat16"):
        t = t.float()
    return np.asarray(t.numpy())


def _same(call):
    """call(library) in both libraries: the same values and dtype (names compared)."""
    want, got = call(torch), call(dg)
    if isinstance(want, (tuple, list)):
        for w, g in zip(want, got, strict=True):
            _same_tensor(w, g)
    else:
        _same_tensor(want, got)


def _same_tensor(want, got):
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(_np(got), _np(want), rtol=1e-6, atol=1e-6)


def _raises_like(call):
    """PyTorch raises for call(library): deltagrad raises an exception of the same class."""
    with pytest.raises(Exception) as want:  # noqa: PT011 - the class is what is compared
        call(torch)
    with pytest.raises(want.type):
        call(dg)


def test_index_fill_value_grad_counts_a_repeated_position_once():
    def grad(m):
        v = m.tensor(1.5, requires_grad=True)
        # (no negative position: PyTorch 2.13's backward fails on one)
        out = m.arange(12.0).reshape(3, 4).index_fill(1, m.tensor([0, 2, 0, 3, 2]), v)
        out.backward(m.arange(12.0).reshape(3, 4) + 1)
        return v.grad
    _same(grad)


@pytest.mark.parametrize("position", [-6, -5, -1, 0, 4, 5, 6, -100])
def test_take_along_dim_takes_positions_modulo_the_size(position):
    # PyTorch 2.13 wraps along a dim (even past the end); the flattened form does not.
    _same(lambda m: m.take_along_dim(m.arange(25.0).reshape(5, 5),
                                     m.tensor([[position, 1]]), 1))
    _raises_like(lambda m: m.take_along_dim(m.arange(6.0), m.tensor([-7 if position < 0
                                                                      else 6])))


def test_gather_with_an_empty_index_of_another_rank():
    _same(lambda m: m.gather(m.arange(5.0), 0, m.zeros(2, 0, dtype=m.int64)))
    _raises_like(lambda m: m.gather(m.arange(5.0), 0, m.zeros(2, 1, dtype=m.int64)))


def test_masked_scatter_broadcasts_the_input_to_the_mask():
    mask = [[True, False, True], [False, True, True]]
    _same(lambda m: m.masked_scatter(m.arange(3.0), m.tensor(mask), m.arange(10.0, 16.0)))
    _same(lambda m: m.arange(3.0).masked_scatter(m.tensor(mask[0]), m.arange(10.0, 16.0)))
    _raises_like(lambda m: m.zeros(3).masked_scatter_(m.tensor(mask), m.arange(6.0)))


@pytest.mark.filterwarnings("ignore:index_reduce")  # (PyTorch's: "in beta")
@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
def test_index_reduce_on_a_0d_input(reduce):
    for include_self in (True, False):
        _same(lambda m, keep=include_self: m.index_reduce(
            m.tensor(2.0), 0, m.tensor([0]), m.tensor(5.0), reduce, include_self=keep))
        _same(lambda m, keep=include_self: m.tensor(2.0).index_reduce_(
            0, m.tensor([0]), m.tensor(5.0), reduce, include_self=keep))
        _raises_like(lambda m: m.tensor(2.0).index_reduce_(0, m.tensor([0, 0]),
                                                           m.tensor([5.0, -1.0]), reduce))


def test_view_copy_to_the_0d_shape():
    _same(lambda m: m.view_copy(m.tensor(3.0), []))
    _same(lambda m: m.view_copy(m.arange(6.0), [2, -1]))


@pytest.mark.parametrize("dtype", ["bool", "int8", "float32"])
def test_sum_to_size_of_nothing_is_a_full_sum(dtype):
    _same(lambda m: m.tensor(True).to(getattr(m, dtype)).sum_to_size([]))
    _same(lambda m: m.ones(3, dtype=getattr(m, dtype)).sum_to_size(()))
    _same(lambda m: m.ones(3, dtype=getattr(m, dtype)).sum_to_size(3))


def test_conjugate_transposes_conjugate():
    data = np.array([[1 + 2j, 3 - 1j, 0.5j]], dtype=np.complex64)
    _same(lambda m: m.tensor(data).mH)
    _same(lambda m: m.tensor(data).H)
    _same(lambda m: m.tensor(data).adjoint())
    _same(lambda m: m.tensor(np.stack([data, data])).mH)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (adjoint of a 0-d tensor: deprecated, both warn)
        _same(lambda m: m.tensor(1 - 4j).adjoint())
    x = dg.ones(2, 3)  # a real one stays a view
    x.mH[0, 1] = 5.0
    assert float(x[1, 0]) == 5.0


def test_narrow_start_must_be_an_integral_0d_tensor():
    x = np.arange(24.0).reshape(4, 6)
    for start in (np.array(True), np.array(1.0)):
        _raises_like(lambda m, start=start: m.narrow(m.tensor(x), 0, m.tensor(start), 2))
    _same(lambda m: m.narrow(m.tensor(x), 1, m.tensor(2), 3))
    _same(lambda m: m.narrow(m.tensor(x), 1, m.tensor(-3, dtype=m.int8), 3))


def test_narrow_copy_dim_errors():
    x = np.zeros((2, 3, 4))
    _raises_like(lambda m: m.narrow_copy(m.tensor(x), 3, 0, 0))
    _raises_like(lambda m: m.narrow_copy(m.tensor(x), -4, 0, 0))
    _same(lambda m: m.narrow_copy(m.tensor(x), -1, 1, 2))


def test_uniform_and_normal_refuse_empty_ranges():
    _raises_like(lambda m: m.zeros(3).uniform_(3.0, -1.0))
    _raises_like(lambda m: m.zeros(3).normal_(0.0, -1.0))
    assert float(dg.zeros(3).uniform_(2.0, 2.0).sum()) == 6.0  # (from == to is allowed)
    assert float(dg.zeros(3).normal_(1.0, 0.0).sum()) == 3.0


@pytest.mark.filterwarnings("ignore:An output with one or more elements was resized")
def test_cat_refuses_an_out_that_overlaps_an_input():
    def case(k):
        def run(m):
            y, z = m.ones(4, 6), m.zeros(4, 6)
            return [lambda: m.cat([y, z], out=z[:2]),
                    lambda: m.cat([y[:2], y[2:]], out=y),
                    lambda: m.cat([m.zeros(0), y], out=y)][k]()
        return run
    for k in range(3):
        _raises_like(case(k))

    def apart(m):  # the same storage, other elements: allowed
        y = m.arange(12.0).reshape(4, 3)
        m.cat([y[:1]], out=y[1:2])
        return y
    _same(apart)


def test_a_python_complex_number_takes_the_default_complex_dtype():
    _same(lambda m: m.tensor(2j))
    _same(lambda m: m.as_tensor(1 + 2j))
    _same(lambda m: m.where(m.tensor([True, False]), 2j, 2))
    _same(lambda m: m.tensor(np.complex128(1j)))  # (NumPy's scalar keeps its dtype)
    previous = dg.get_default_dtype()
    dg.set_default_dtype(dg.float64)
    try:
        assert dg.tensor(2j).dtype == dg.complex128
    finally:
        dg.set_default_dtype(previous)


def test_bfloat16_as_strided_reads_the_storage():
    _same(lambda m: m.as_strided(m.arange(20.0).to(m.bfloat16)[5:15], (2, 2), (1, 2), 0))
    _same(lambda m: m.as_strided(m.arange(20.0).to(m.bfloat16)[5:15], (3,), (2,)))

    def grad(m):
        x = m.arange(20.0).to(m.bfloat16)[5:15].requires_grad_()
        m.as_strided(x, (3,), (2,), 6).sum().backward()
        return x.grad
    _same(grad)
    def detach_view(m):
        x = m.zeros(4)  # (alive: deltagrad lets a view of a dropped temporary go, see versions)
        x.as_strided((2,), (1,)).detach_()
    _raises_like(detach_view)


def test_as_strided_scatter_grad_matches_finite_differences():
    # PyTorch 2.13's gradient for the input is the complement of the right one (KNOWN in
    # test_s13_OD_opinfo.py); deltagrad's must be the derivative.
    rng = np.random.default_rng(0)
    x0, src = rng.standard_normal((3, 3)), dg.tensor(rng.standard_normal((2, 2)))
    cot = rng.standard_normal((3, 3))
    x = dg.tensor(x0, requires_grad=True)
    dg.as_strided_scatter(x, src, (2, 2), (1, 2), 1).backward(dg.tensor(cot))
    numeric = np.zeros((3, 3))
    for i in np.ndindex(3, 3):
        step = np.zeros((3, 3))
        step[i] = 1e-6
        hi = dg.as_strided_scatter(dg.tensor(x0 + step), src, (2, 2), (1, 2), 1).numpy()
        lo = dg.as_strided_scatter(dg.tensor(x0 - step), src, (2, 2), (1, 2), 1).numpy()
        numeric[i] = ((hi - lo) / 2e-6 * cot).sum()
    np.testing.assert_allclose(x.grad.numpy(), numeric, atol=1e-6)
    assert (x.grad.numpy().reshape(-1)[1:5] == 0).all()  # (the scattered positions)


def test_resize_as_function():
    def run(m):
        x = m.arange(6.0)
        m.resize_as_(x, m.zeros(2, 2))
        return x
    _same(run)


def test_harness_keeps_views_when_asked():
    sys.path.insert(0, str(Path(__file__).parent))
    import opinfo_harness as H

    base = torch.arange(20.0)
    view, other = base[5:15], base.reshape(4, 5).t()
    memo = {}
    d_view, d_other = H.to_dg((view, other), memo, views=True)
    assert d_view.storage_offset() == 5 and d_other.stride() == (1, 5)
    d_view.add_(100.0)  # one storage, as in PyTorch
    assert float(d_other[0, 1]) == 105.0
    np.testing.assert_array_equal(dg.as_strided(d_view, (2,), (1,), 0).numpy(), [0.0, 1.0])
    plain = H.to_dg(view)  # (the default: a contiguous copy, as before)
    assert plain.storage_offset() == 0 and plain.is_contiguous()
    assert H.to_numpy(dg.eye(2).to_sparse())[0] == "float32"
