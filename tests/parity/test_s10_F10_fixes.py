"""Session 10, F10: the differences the s6 fuzzer and the s8 non-tensor sweep left (exception
classes where PyTorch raises another, calls PyTorch accepts) and the grad_fn names of composed
activations, each against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(10)
M23 = RNG.standard_normal((2, 3)).astype(np.float32)
X4D = RNG.standard_normal((1, 2, 6, 6)).astype(np.float32)
X5D = RNG.standard_normal((1, 2, 5, 5, 5)).astype(np.float32)


def _same_raise(call):
    """``call(m)`` raises in PyTorch and deltagrad raises the same class (or a subclass)."""
    with pytest.raises(Exception) as expected:
        call(torch)
    with pytest.raises(Exception) as got:
        call(dg)
    assert isinstance(got.value, expected.type), (expected.value, got.value)


def _tensor(m, array, dtype=None):
    t = m.tensor(array)
    return t if dtype is None else t.to(getattr(m, dtype))


def _fmp(m, dims):
    return m.nn.functional.fractional_max_pool2d if dims == 2 else \
        m.nn.functional.fractional_max_pool3d


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("kind", ["tensor_args", "ratio", "size"])
def test_fractional_max_pool_low_rank_is_index_error(dims, kind):
    def call(m):
        x = m.tensor(M23)
        if kind == "tensor_args":
            return _fmp(m, dims)(x, x, x)
        if kind == "ratio":
            return _fmp(m, dims)(x, 2, output_ratio=(0.5,) * dims)
        return _fmp(m, dims)(x, 1, output_size=1)
    _same_raise(call)


def test_fractional_max_pool2d_bare_float_ratio_is_type_error():
    _same_raise(lambda m: _fmp(m, 2)(m.tensor(X4D), 2, output_ratio=0.5))


@pytest.mark.parametrize("dims", [2, 3])
def test_fractional_max_pool_same_draws_and_values(dims):
    # the samples are drawn before the kernel's checks, from the same stream as PyTorch's
    x = X4D if dims == 2 else X5D
    results = []
    for m in (torch, dg):
        m.manual_seed(3)
        values, indices = _fmp(m, dims)(m.tensor(x), 2, output_ratio=(0.5,) * dims,
                                         return_indices=True)
        results.append((values.detach().numpy(), indices.numpy()))
    np.testing.assert_allclose(results[1][0], results[0][0])
    np.testing.assert_array_equal(results[1][1], results[0][1])
    # an unbatched input with a given output size
    check(lambda m, a: (m.manual_seed(4), _fmp(m, dims)(a, 2, output_size=2))[1],
          Arg(x[0]), grad=True)


@pytest.mark.parametrize("dtype", ["uint8", "int32", "bool"])
def test_count_nonzero_bool_tensor_dim(dtype):
    data = (RNG.integers(0, 3, (2, 3)) != 0) if dtype == "bool" else RNG.integers(0, 3, (2, 3))
    check(lambda m, a: a.count_nonzero(m.tensor(True)), Arg(data.astype(dtype)))
    check(lambda m, a: a.count_nonzero(m.tensor(False)), Arg(data.astype(dtype)))
    # out of range on a 0-d input: IndexError in both
    check(lambda m, a: a.count_nonzero(m.tensor(True)), Arg(np.array(True)))
    # a plain Python bool, a float tensor, and the function form's tensor dim are TypeErrors
    _same_raise(lambda m: m.ones(2, 3).count_nonzero(True))
    _same_raise(lambda m: m.ones(2, 3).count_nonzero(m.tensor(1.0)))
    _same_raise(lambda m: m.ones(2, 3).count_nonzero(m.tensor([0, 1])))
    _same_raise(lambda m: m.count_nonzero(m.ones(2, 3), m.tensor(True)))


@pytest.mark.parametrize("shape", [True, (True,), (2, True), (3, False)])
def test_unravel_index_bool_sizes(shape):
    indices = np.array([[1, 0, 1], [0, 1, 1]], dtype=np.int64)
    check(lambda m, a: m.unravel_index(a, shape), Arg(indices))


@pytest.mark.parametrize("target_dtype", [np.bool_, np.float32])
def test_multilabel_soft_margin_loss_0d_input(target_dtype):
    for target in (np.ones((2, 3), target_dtype), np.ones((), target_dtype),
                   np.ones(3, target_dtype)):
        check(lambda m, x, y: m.nn.functional.multilabel_soft_margin_loss(x, y),
              Arg(np.float32(0.3)), Arg(target))


@pytest.mark.parametrize("weight", [0.5, 2])
def test_multilabel_soft_margin_loss_number_weight(weight):
    target = (RNG.random((2, 3)) > 0.5).astype(np.float32)
    check(lambda m, x, y: m.nn.functional.multilabel_soft_margin_loss(x, y, weight),
          Arg(M23), Arg(target))


@pytest.mark.parametrize("case", ["bool_int64_tensor_rcond", "int_rcond", "int_default",
                                  "float_int", "int_float", "bool_float", "float_int_rcond"])
def test_lstsq_dtype_errors(case):
    def call(m):
        f32, i64, b = (m.ones(2, 3), m.ones(2, 3, dtype=m.int64), m.ones(2, 3, dtype=m.bool))
        args = {"bool_int64_tensor_rcond": (b, f32, i64), "int_rcond": (i64, i64, 2),
                "int_default": (i64, i64), "float_int": (f32, i64), "int_float": (i64, f32),
                "bool_float": (b, f32), "float_int_rcond": (f32, f32, "x")}[case]
        return m.linalg.lstsq(*args)
    _same_raise(call)


def test_lstsq_still_solves():
    a = RNG.standard_normal((4, 3))
    b = RNG.standard_normal((4, 2))
    check(lambda m, x, y: m.linalg.lstsq(x, y, 1e-10, driver="gelsd").solution, Arg(a), Arg(b))


@pytest.mark.parametrize("shape", [(0,), (2, 0)])
@pytest.mark.parametrize("name", ["median", "nanmedian"])
def test_median_of_empty_bool(shape, name):
    check(lambda m, a: getattr(m, name)(a), Arg(np.ones(shape, dtype=bool)))
    check(lambda m, a: getattr(a, name)(), Arg(np.ones(shape, dtype=bool)))


@pytest.mark.parametrize("name", ["median", "nanmedian"])
def test_median_of_nonempty_bool_still_raises(name):
    _same_raise(lambda m: getattr(m, name)(m.ones(3, dtype=m.bool)))


@pytest.mark.parametrize("value", [[[1.0, 2.0], [3.0, 4.0]], ((1.0, 2.0), (3.0, 4.0)), 2.0,
                                   np.ones((2, 3), np.float32)])
def test_gradient_non_tensor_is_type_error(value):
    _same_raise(lambda m: m.gradient(value))


@pytest.mark.parametrize("name, node", [("hardshrink", "HardshrinkBackward0"),
                                        ("softshrink", "SoftshrinkBackward0"),
                                        ("glu", "GluBackward0")])
def test_activation_node_names(name, node):
    for m in (torch, dg):
        x = m.tensor(RNG.standard_normal((2, 4)), requires_grad=True)
        out = getattr(m.nn.functional, name)(x)
        assert out.grad_fn.name() == node, (m.__name__, out.grad_fn.name())
        assert getattr(m.nn.functional, name)(x.detach()).grad_fn is None
    check(lambda m, a: m.nn.functional.hardshrink(a, 0.3), Arg(M23.astype(np.float64)))
    check(lambda m, a: m.nn.functional.glu(a, 0), Arg(RNG.standard_normal((4, 3))))


def test_prelu_node_name_and_grads():
    for m in (torch, dg):
        x = m.tensor(RNG.standard_normal((2, 3, 4)), requires_grad=True)
        w = m.tensor([0.25, -0.5, 1.5], dtype=m.float64, requires_grad=True)
        assert m.nn.functional.prelu(x, w).grad_fn.name() == "PreluKernelBackward0"
        assert m.nn.functional.prelu(x.detach(), w).grad_fn.name() == "PreluKernelBackward0"
        assert m.nn.PReLU(3).double()(x).grad_fn.name() == "PreluKernelBackward0"
    check(lambda m, a, b: m.nn.functional.prelu(a, b), Arg(RNG.standard_normal((2, 3, 4))),
          Arg(np.array([0.25, -0.5, 1.5])))
