"""Session-6 fuzzer round 3: a number (or list, or ndarray) where PyTorch's parser requires a
tensor is its TypeError (matmul and the other products), checked int arguments, and
``tensor(..., dtype=<integer>)`` wrapping / overflow as PyTorch."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(11)
M = RNG.standard_normal((3, 3)).astype(np.float32)
V = RNG.standard_normal(3).astype(np.float32)
B = RNG.standard_normal((2, 3, 3)).astype(np.float32)


@pytest.mark.parametrize("other", [2.5, 2, True, [1.0, 2.0, 3.0]])
@pytest.mark.parametrize("fn", [
    lambda m, x, o: m.matmul(x, o), lambda m, x, o: m.matmul(o, x), lambda m, x, o: x @ o,
    lambda m, x, o: o @ x, lambda m, x, o: m.mm(x, o), lambda m, x, o: m.mv(x, o),
    lambda m, x, o: x.mm(o), lambda m, x, o: m.dot(x[0], o), lambda m, x, o: m.vdot(x[0], o),
    lambda m, x, o: m.outer(x[0], o), lambda m, x, o: m.ger(x[0], o),
    lambda m, x, o: m.bmm(x[None], o), lambda m, x, o: m.chain_matmul(x, o),
    lambda m, x, o: m.cross(x, o), lambda m, x, o: m.cdist(x, o),
    lambda m, x, o: m.addmm(o, x, x), lambda m, x, o: m.addmm(x, x, o),
    lambda m, x, o: m.einsum("ij,jk->ik", x, o), lambda m, x, o: m.Tensor.trace(o),
    lambda m, x, o: m.matrix_power(o, 2),
])
def test_number_where_a_tensor_is_required(fn, other):
    check(lambda m, x: fn(m, x, other), Arg(M), grad=False)


def test_array_at_tensor_is_a_type_error():
    check(lambda m, x: np.ones((3, 3), np.float32) @ x, Arg(M), grad=False)


@pytest.mark.parametrize("n", [2, 2.0, True, lambda m: m.tensor(2), lambda m: m.tensor([2])])
def test_matrix_power_n(n):
    check(lambda m, x: m.matrix_power(x, n(m) if callable(n) else n), Arg(M), grad=False)


@pytest.mark.parametrize("dim", [1, -1, 1.0, lambda m: m.tensor(1), lambda m: m.ones(2, 3)])
def test_cross_dim(dim):
    check(lambda m, x: m.cross(x, x * 2, dim(m) if callable(dim) else dim),
          Arg(RNG.standard_normal((2, 3))), grad=False)


@pytest.mark.parametrize("p", [1.0, 2, lambda m: m.tensor(2.0)])
def test_cdist_p(p):
    check(lambda m, x: m.cdist(x, x + 1, p(m) if callable(p) else p), Arg(M), grad=False)


def test_cdist_half_is_not_implemented():
    check(lambda m, x: m.cdist(x, x), Arg(M.astype(np.float16)), grad=False)


def test_products_still_work():
    check(lambda m, x, y: m.matmul(x, y) + m.mm(x, y.mT) + (x @ y), Arg(M), Arg(M.T * 2))
    check(lambda m, x, y: m.bmm(x, y), Arg(B), Arg(B))
    check(lambda m, x, v: m.mv(x, v) + m.dot(v, v) + m.outer(v, v).sum(0), Arg(M), Arg(V))
    check(lambda m, x: m.chain_matmul(x, x, x), Arg(M))
    check(lambda m, x: m.matrix_power(x, 3), Arg(M))


@pytest.mark.parametrize("data", [-3, 300, -129, 2 ** 40, 2 ** 70, True, 2.7, -2.7, 1e10,
                                  float("inf"), float("nan"), [-3], [300, -3], [2.7, -1.5],
                                  [-255, 255], [-256], [[1, 2], [3]]])
@pytest.mark.parametrize("dtype", ["uint8", "int8", "int32", "int64"])
def test_tensor_of_python_numbers_in_an_integer_dtype(data, dtype):
    def make(m):
        return m.tensor(data, dtype=getattr(m, dtype))
    try:
        expected = make(torch)
    except Exception as error:  # noqa: BLE001 - PyTorch's class is the spec
        with pytest.raises(type(error)):
            make(dg)
        return
    got = make(dg)
    assert str(got.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


SPD = (M @ M.T + 3 * np.eye(3)).astype(np.float32)


@pytest.mark.parametrize("flag", [True, 1, lambda m: m.tensor(True), 0.5])
@pytest.mark.parametrize("fn", [
    lambda m, a, f: m.cholesky(a, f), lambda m, a, f: m.cholesky_inverse(a, f),
    lambda m, a, f: m.cholesky_solve(a, a, f), lambda m, a, f: m.svd(a, f),
    lambda m, a, f: m.svd(a, True, f), lambda m, a, f: m.qr(a, f),
    lambda m, a, f: m.linalg.svd(a, f), lambda m, a, f: m.linalg.qr(a, f),
    lambda m, a, f: m.linalg.eigh(a, f), lambda m, a, f: m.linalg.eigvalsh(a, f),
])
def test_decomposition_flags_are_parsed_first(fn, flag):
    check(lambda m, a: fn(m, a, flag(m) if callable(flag) else flag), Arg(SPD), grad=False)


@pytest.mark.parametrize("fn", [
    lambda m, a: m.cholesky(a.half()), lambda m, a: m.linalg.svd(a.half()),
    lambda m, a: m.linalg.qr(a.half()), lambda m, a: m.linalg.eigh(a.half()),
    lambda m, a: m.linalg.inv(a.half()), lambda m, a: m.cholesky(2.5),
    lambda m, a: m.linalg.solve(a, 2.5), lambda m, a: m.linalg.lstsq(a, 2.5),
    lambda m, a: m.pinverse(a, m.ones(2)), lambda m, a: m.pinverse(a, m.tensor(0.1)),
])
def test_decomposition_argument_types(fn):
    check(fn, Arg(SPD), grad=False)


@pytest.mark.parametrize("fn", [
    lambda m, x: x.reshape(3.0, 2.0), lambda m, x: x.view(3.0, 2), lambda m, x: x.reshape(2.5),
    lambda m, x: x.reshape(m.tensor(6)), lambda m, x: x.reshape(m.tensor([6])),
    lambda m, x: x.reshape(6, True), lambda m, x: x.reshape(m.ones(2, 3)),
    lambda m, x: x.permute(1.0, 0), lambda m, x: x.permute(m.tensor(1), 0),
    lambda m, x: x.expand(2.0, 3), lambda m, x: x.expand(m.tensor(2), 3),
    lambda m, x: x.reshape(), lambda m, x: x.permute(), lambda m, x: x.expand(),
    lambda m, x: x[0, 0].reshape(()), lambda m, x: x.expand_as(x[0, 0]),
    lambda m, x: x.view_as(2.5), lambda m, x: x.expand_as(2.5), lambda m, x: x.reshape_as(1),
    lambda m, x: m.movedim(x[0, 0], (), ()),
])
def test_shape_arguments(fn):
    check(fn, Arg(M[:2]), grad=False)


@pytest.mark.parametrize("spec", [2, [1, 2], (1,), lambda m: m.tensor(2), lambda m: m.tensor([1]),
                                  2.0, True, [1.0], lambda m: m.ones(2, 3)])
@pytest.mark.parametrize("name", ["hsplit", "vsplit", "dsplit"])
def test_split_specs_are_parsed_first(name, spec):
    for shape in ((2, 4, 4), (4,)):
        x = RNG.standard_normal(shape).astype(np.float32)
        check(lambda m, a: getattr(m, name)(a, spec(m) if callable(spec) else spec), Arg(x),
              grad=False)


@pytest.mark.parametrize("dim", [1, (0, 1), [1], True, 1.0, [1.0], lambda m: m.tensor(1),
                                 lambda m: m.tensor([1]), lambda m: m.tensor(1.0),
                                 lambda m: m.tensor([0, 1])])
@pytest.mark.parametrize("dtype", ["float32", "int32"])
@pytest.mark.parametrize("name", ["mean", "nanmean", "std", "var"])
def test_reduction_dims_are_parsed_before_the_dtype(name, dtype, dim):
    check(lambda m, x: getattr(m, name)(x, dim(m) if callable(dim) else dim),
          Arg(M.astype(dtype)), grad=False)


@pytest.mark.parametrize("fn", [
    lambda m, v: m.combinations(v, 2.0), lambda m, v: m.combinations(v, True),
    lambda m, v: m.combinations(v, m.tensor(2)), lambda m, v: m.combinations(v, 2, 1),
    lambda m, v: m.combinations(v[None], 2.0), lambda m, v: m.vander(v, 2.0),
    lambda m, v: m.vander(v, m.tensor(2)), lambda m, v: m.vander(v, 2, 1),
    lambda m, v: m.vander(v[None], 2.0), lambda m, v: m.histc(v, 2.0),
    lambda m, v: m.histc(v, m.tensor(2)), lambda m, v: m.histc(v, 2, m.tensor(-1.0), 1.0),
    lambda m, v: m.histc(v, 2, m.ones(2)), lambda m, v: m.histc(v.int(), 2.0),
    lambda m, v: m.nn.functional.one_hot(v.long().abs(), 2.0),
    lambda m, v: m.nn.functional.one_hot(v.long().abs(), m.tensor(3)),
    lambda m, v: m.nn.functional.one_hot(v.int(), 2.0), lambda m, v: m.nn.functional.one_hot(2),
    lambda m, v: m.can_cast(v, m.float32), lambda m, v: m.promote_types(m.int8, v),
    lambda m, v: m.promote_types(m.int8, 2),
])
def test_int_bool_and_dtype_arguments(fn):
    check(fn, Arg(V * 2), grad=False)


@pytest.mark.parametrize("fn", [
    lambda m, x: m.roll(x, 2.5), lambda m, x: m.roll(x, True), lambda m, x: m.roll(x, 1, 0.0),
    lambda m, x: m.roll(x, (1, 1), (0, 1)), lambda m, x: m.rot90(x, 1, (0.0, 1)),
    lambda m, x: m.chunk(x, True), lambda m, x: m.chunk(x, 2.5), lambda m, x: x.chunk(2),
    lambda m, x: m.tensor_split(x, True), lambda m, x: m.tensor_split(x, 2.0),
    lambda m, x: m.tensor_split(x, m.tensor([1], dtype=m.uint8)),
    lambda m, x: m.tensor_split(x, m.tensor([1])), lambda m, x: m.kthvalue(x, True),
    lambda m, x: m.kthvalue(x, 2.0), lambda m, x: m.kthvalue(x > 0, 1),
    lambda m, x: m.kthvalue(x, 2), lambda m, x: m.lu(x[:, :2], 2),
    lambda m, x: m.lu(x[:, :2], True, 1), lambda m, x: m.mvlgamma(x.abs() + 3, True),
    lambda m, x: m.mvlgamma(x.abs() + 3, 2.5), lambda m, x: m.mvlgamma(x.abs() + 3, 2),
    lambda m, x: m.linalg.multi_dot(x), lambda m, x: m.allclose(x, True),
    lambda m, x: m.isclose(x, 2.5), lambda m, x: x.isclose(x),
])
def test_more_argument_types(fn):
    check(fn, Arg(M[:2] * 3), grad=False)


@pytest.mark.parametrize("target", [True, 2, 2.5])
@pytest.mark.parametrize("name", ["poisson_nll_loss", "kl_div", "mse_loss", "l1_loss",
                                  "smooth_l1_loss", "huber_loss", "soft_margin_loss"])
def test_loss_targets_must_be_tensors(name, target):
    check(lambda m, x: getattr(m.nn.functional, name)(x, target), Arg(M), grad=False)


@pytest.mark.parametrize("name", ["poisson_nll_loss", "kl_div", "mse_loss", "l1_loss",
                                  "smooth_l1_loss", "huber_loss"])
def test_losses_with_tensor_targets_still_work(name):
    check(lambda m, x, y: getattr(m.nn.functional, name)(x, y), Arg(M), Arg(np.abs(M.T)))
