"""Session 8 (L2): PyTorch's ``out=``, ``layout=``, ``pin_memory=`` and ``memory_format=``
keywords on the creation and random functions (Shampoo's ``eye(n, out=...)``, Adahessian's
``randint_like(..., memory_format=preserve_format)``), compared with PyTorch."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import deltagrad as dg  # noqa: E402

CASES = [
    "m.eye(3, out=m.empty(3, 3))", "m.eye(3, out=m.empty(2))",
    "m.eye(2, out=m.empty(2, 2, dtype=m.int64))", "m.eye(2, dtype=m.float64, out=m.empty(2, 2))",
    "m.eye(2, out=m.empty(2, 2), requires_grad=True)", "m.eye(2, out=m.empty(2, 2)[:, :1])",
    "m.zeros(2, 3, out=m.empty(2, dtype=m.int32))", "m.ones(2, out=m.empty(2, dtype=m.int32))",
    "m.zeros(size=(2,), out=m.empty(1))", "m.zeros(2, out=3)",
    "m.zeros(2, out=m.zeros(2, requires_grad=True))", "m.zeros(2, out=m.ones(3))",
    "m.full((2,), 3, out=m.empty(2, dtype=m.int32))", "m.full((2,), True, out=m.empty(2))",
    "m.full((2,), 3.5, out=m.empty(2, dtype=m.int32))",
    "m.empty(2, out=m.empty(0), memory_format=m.contiguous_format)",
    "m.empty(2, 3, out=m.empty(0)).shape",
    "m.arange(5, out=m.empty(2, dtype=m.int32))", "m.arange(0.5, 3, out=m.empty(2, dtype=m.int64))",
    "m.arange(3, pin_memory=False)",
    "m.linspace(0, 1, 5, out=m.empty(2, dtype=m.float64))",
    "m.linspace(0, 1, 5, out=m.empty(2, dtype=m.int64))", "m.linspace(0, 1, 3, pin_memory=False)",
    "m.logspace(0, 1, 3, out=m.empty(2, dtype=m.float64))",
    "m.rand(2, out=m.empty(2, dtype=m.float64))", "m.rand(2, out=m.empty(2, dtype=m.int64))",
    "m.rand(size=(2,), out=m.empty(1))",
    "m.randn(5, out=m.empty(2, dtype=m.float64))", "m.randn(20, out=m.empty(2, dtype=m.float64))",
    "m.randn(2, out=m.zeros(2, requires_grad=True))",
    "m.randint(5, (2,), out=m.empty(2, dtype=m.float64))",
    "m.randint(5, (2,), out=m.empty(2, dtype=m.int32))",
    "m.randint(0, 3, (2,), out=m.zeros(2), requires_grad=True)",
    "m.randperm(4, out=m.empty(2, dtype=m.int32))", "m.randperm(4, out=m.empty(2))",
    "m.randperm(3, out=m.zeros(2), dtype=m.int64)",
    "m.normal(0., 1., (2,), out=m.empty(2, dtype=m.float64))",
    "m.normal(m.zeros(2), 1., out=m.empty(2, dtype=m.float32))",
    "m.normal(m.zeros(20), m.ones(20), out=m.empty(0, dtype=m.float64))",
    "m.normal(0., m.ones(20) * 2, out=m.empty(20, dtype=m.float64))",
    "m.normal(m.zeros(2), 1., dtype=m.float64)", "m.normal(m.zeros(2), 1., requires_grad=True)",
    "m.normal(m.zeros(2, requires_grad=True), m.ones(2), out=m.empty(2))",
    "m.normal(0., 1., (2,), layout=m.strided, pin_memory=False)",
    "m.normal(0., 1., (2,), requires_grad=True)",
    "m.bernoulli(m.full((3,), 0.5), out=m.empty(3))",
    "m.randint_like(m.zeros(2), high=2, memory_format=m.preserve_format)",
    "m.randint_like(m.zeros(2, 3, 4, 5).to(memory_format=m.channels_last), 0, 100)",
    "m.randint_like(m.zeros(2, 3, 4, 5), 0, 100, memory_format=m.channels_last)",
    "m.rand_like(m.zeros(2, 3, 4, 5).to(memory_format=m.channels_last), "
    "memory_format=m.contiguous_format)",
    "m.rand_like(m.zeros(2, 3, 4, 5), memory_format=m.channels_last)",
    "m.randn_like(m.zeros(2, 3, 4, 5), memory_format=m.channels_last)",
    "m.rand_like(m.zeros(2, 3), memory_format=m.channels_last)",
    "m.rand_like(m.zeros(2), memory_format=3)",
    "m.rand_like(m.zeros(2), memory_format=m.preserve_format, layout=m.strided, pin_memory=False)",
    "m.randn_like(m.zeros(2), pin_memory=False)",
    "m.rand(2, layout=m.strided, pin_memory=False)",
    "m.randn(2, layout=m.strided, pin_memory=False)",
    "m.randint(3, (2,), layout=m.strided, pin_memory=False)",
    "m.randperm(3, layout=m.strided, pin_memory=False)",
    "m.zeros_like(m.zeros(2), pin_memory=False)", "m.ones_like(m.zeros(2), pin_memory=False)",
    "m.full_like(m.zeros(2), 2, pin_memory=False)",
    "m.empty_like(m.zeros(2), pin_memory=False).shape",
]


def _outcome(m, case: str):
    m.manual_seed(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = eval(case, {"m": m})
    except Exception as error:  # noqa: BLE001 - the exception type is what is compared
        return ("raises", type(error).__name__)
    if not isinstance(result, m.Tensor):
        return ("value", tuple(result))
    return ("tensor", str(result.dtype).split(".")[-1], tuple(result.shape),
            result.requires_grad, np.round(result.detach().double().numpy(), 5).tolist())


@pytest.mark.parametrize("case", CASES)
def test_factory_keywords_match_pytorch(case):
    expected, got = _outcome(torch, case), _outcome(dg, case)
    assert got == expected


def test_out_is_written_in_place_and_returned():
    out = dg.zeros(3, 3)
    view = out[0]
    assert dg.eye(3, out=out) is out
    assert view.tolist() == [1.0, 0.0, 0.0]  # a view of out sees the values
    version = out._version
    dg.ones(3, 3, out=out)
    assert out._version > version


def test_normal_tensor_mean_out_of_another_shape_is_refused():
    # PyTorch's (Tensor mean, float std) overload adds mean into out in place, keeping out's
    # shape where it broadcasts: not modelled, so a clear error instead of other values.
    with pytest.raises(NotImplementedError):
        dg.normal(dg.zeros(2), 1.0, out=dg.empty(2, 2))
