"""Regression tests for silent wrong answers the session-6 fuzzer found (masks, T, unary plus,
bool powers, add's alpha, checked fills, conversion methods' arguments, new_* sizes)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:indexing with dtype torch.uint8")

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(6)
X = RNG.standard_normal((2, 3)).astype(np.float32)
U8 = np.array([[200, 100, 3], [0, 255, 7]], dtype=np.uint8)
B = np.array([[True, False, True], [False, False, True]])
V = np.array([1.0, -2.0, 3.0], dtype=np.float32)


@pytest.mark.parametrize("mask", [
    np.array([True, False, True]), np.array([1, 0, 1], dtype=np.uint8), np.array([True]),
    np.array([False, False]), np.ones((3, 2), dtype=bool), np.ones((2, 3), dtype=bool),
    np.ones((2, 3, 1), dtype=bool), np.zeros(0, dtype=bool),
])
def test_mask_shape_must_match(mask):
    check(lambda m, x, k: x[k], Arg(X), Arg(mask), grad=False)
    check(lambda m, x, k: x[:, k], Arg(X), Arg(mask), grad=False)
    check(lambda m, x, k: x[..., k], Arg(X), Arg(mask), grad=False)


def test_mask_shape_on_assignment_and_empty():
    def assign(m, x, k):
        x = x.clone()
        x[k] = 1.0
        return x

    check(assign, Arg(X), Arg(np.array([True, False, True])), grad=False)
    check(assign, Arg(X), Arg(np.array([True, False])), grad=False)
    empty = np.zeros((0, 3), dtype=np.float32)
    check(lambda m, x, k: x[k], Arg(empty), Arg(np.zeros(0, dtype=bool)), grad=False)
    check(lambda m, x, k: x[k], Arg(empty), Arg(np.ones(1, dtype=bool)), grad=False)
    check(lambda m, x, k: x[k], Arg(np.float32(5.0)), Arg(np.array([True])), grad=False)
    check(lambda m, x, k: x[k], Arg(np.float32(5.0)), Arg(np.bool_(True)), grad=False)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8])
def test_index_tensor_dtypes(dtype):
    check(lambda m, x, i: x[i], Arg(X), Arg(np.array([1, 0], dtype=dtype)), grad=False)
    check(lambda m, x, i: x[i], Arg(X), Arg(np.array(1, dtype=dtype)), grad=False)
    check(lambda m, x, i: x[:, i], Arg(X), Arg(np.array([2, 0], dtype=dtype)), grad=False)


@pytest.mark.parametrize("shape", [(), (3,)])
def test_transpose_property_is_a_new_view(shape):
    for lib in (torch, dg):
        v = lib.zeros(shape)
        with pytest.warns(UserWarning) if lib is torch else _no_check():
            t = v.T
        assert t is not v
        t.add_(1.0)  # a view: writes through
        assert float(v.sum()) == float(np.prod(shape))


class _no_check:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_unary_plus_and_bool_powers():
    check(lambda m, b: +b, Arg(B), grad=False)
    check(lambda m, x: +x, Arg(X))
    for exponent in (True, False, 2, 0, 2.5):
        check(lambda m, b, e=exponent: b ** e, Arg(B), grad=False)
        check(lambda m, b, e=exponent: m.pow(b, e), Arg(B), grad=False)
    check(lambda m, b: b ** m.tensor(True), Arg(B), grad=False)
    check(lambda m, i: i ** True, Arg(U8), grad=False)


@pytest.mark.parametrize("alpha", [300, 255, -255, -256, 2, -1, 2.5, True, 0])
@pytest.mark.parametrize("pair", [("u8", "u8"), ("b", "b"), ("f", "u8"), ("u8", "f"),
                                  ("b", "u8"), ("u8", "scalar"), ("f16", "f16")])
def test_add_sub_alpha(alpha, pair):
    data = {"u8": Arg(U8), "b": Arg(B), "f": Arg(X),
            "f16": Arg(X.astype(np.float16) * 100), "scalar": 3}
    a, b = (data[p] for p in pair)
    check(lambda m, x, y: m.add(x, y, alpha=alpha), a, b, grad=False)
    check(lambda m, x, y: m.sub(x, y, alpha=alpha), a, b, grad=False)


def test_add_alpha_gradient():
    check(lambda m, x, y: m.add(x, y, alpha=-2.5), Arg(X), Arg(V))
    check(lambda m, x, y: m.sub(x, y, alpha=3), Arg(X), Arg(V.astype(np.float64)))


@pytest.mark.parametrize("value", [-0.5, 300, -1, -255, -256, 2.5, 1e5, float("nan"), True,
                                   1 + 0j, 1j])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.float16, np.bool_, np.float32])
def test_checked_fills(value, dtype):
    source = Arg(U8.astype(dtype))
    check(lambda m, x: m.full_like(x, value), source, grad=False)
    check(lambda m, x: x.new_full((2,), value), source, grad=False)
    check(lambda m: m.full((2,), value, dtype=m.from_numpy(np.zeros(0, dtype)).dtype),
          grad=False)


@pytest.mark.parametrize("name", ["float", "double", "half", "int", "long", "bool", "byte",
                                  "char", "short"])
def test_conversion_methods_take_no_positional_arguments(name):
    check(lambda m, x: getattr(x, name)(), Arg(X), grad=False)
    check(lambda m, x: getattr(x, name)(3), Arg(X), grad=False)
    check(lambda m, x: getattr(x, name)(None), Arg(X), grad=False)
    check(lambda m, x: getattr(x, name)(memory_format=m.preserve_format), Arg(X), grad=False)


@pytest.mark.parametrize("name", ["new_zeros", "new_ones", "new_empty"])
def test_new_sizes(name):
    def call(*args, **kwargs):
        return lambda m, x: getattr(x, name)(*[a(m) if callable(a) else a for a in args],
                                             **kwargs)

    if name != "new_empty":  # (its values are unspecified)
        check(call(2, 3), Arg(X), grad=False)
        check(call((2, 3)), Arg(X), grad=False)
        check(call([]), Arg(X), grad=False)
        check(call(lambda m: m.tensor(2)), Arg(X), grad=False)
        check(call(size=(2,)), Arg(X), grad=False)
        check(call(2, dtype=None), Arg(U8), grad=False)
    for bad in [(), (2.5,), (lambda m: m.tensor([2, 3]),), (-1,)]:
        check(call(*bad), Arg(X), grad=False)
    check(lambda m, x: getattr(x, name)(x), Arg(X), grad=False)
    check(lambda m, x: getattr(x, name)(2, size=(2,)), Arg(X), grad=False)


# ---------------------------------------------------------------------------------------------
# Breadth gaps and silent differences of the second fuzzer round.

M = RNG.standard_normal((3, 4, 4))
M[0, 3] = M[0, 2]  # a rank-deficient matrix in the batch


@pytest.mark.parametrize("call", [
    lambda m, a: m.linalg.matrix_rank(a), lambda m, a: m.linalg.matrix_rank(a, 0.5),
    lambda m, a: m.linalg.matrix_rank(a, 1.5, True),
    lambda m, a: m.linalg.matrix_rank(a, m.tensor(0.5, dtype=m.float64)),
    lambda m, a: m.linalg.matrix_rank(a, atol=m.tensor([0.1, 1.0, 3.0], dtype=m.float64)),
    lambda m, a: m.linalg.matrix_rank(a, atol=m.tensor([0.0, 1.0, 0.0], dtype=m.float64)),
    lambda m, a: m.linalg.matrix_rank(a, rtol=m.tensor([0.1, 0.5, 0.9], dtype=m.float64)),
    lambda m, a: m.linalg.matrix_rank(a, hermitian=True),
    lambda m, a: m.linalg.matrix_rank(a, 0.5, atol=0.1),
])
def test_matrix_rank_forms(call):
    check(call, Arg(M), grad=False)


@pytest.mark.parametrize("call", [
    lambda m, x: m.norm(x, m.tensor(3.0)), lambda m, x: m.linalg.vector_norm(x, m.tensor(1)),
    lambda m, x: m.linalg.matrix_norm(x, m.tensor(1)), lambda m, x: m.linalg.norm(x, m.tensor(2)),
    lambda m, x: x.norm(m.tensor([1.0, 2.0])), lambda m, x: m.dist(x, x * 2, m.tensor(1.0)),
])
def test_norm_orders_as_tensors(call):
    check(call, Arg(X))


def test_scalar_conversion_errors_are_each_class_pytorch_raises():
    x = dg.ones(3)
    for conversion in (lambda: x.item(), lambda: float(x), lambda: int(x), lambda: bool(x)):
        for cls in (RuntimeError, ValueError, TypeError):
            with pytest.raises(cls):
                conversion()
    check(lambda m, x: m.clamp(x, min=x), Arg(X), grad=False)  # (a tensor min is fine)
    check(lambda m, x: m.full((2,), x), Arg(X), grad=False)


@pytest.mark.parametrize("call", [
    lambda m, x: x.clone().fill_diagonal_(-3), lambda m, x: x.clone().fill_diagonal_(300),
    lambda m, x: x.clone().fill_diagonal_(2.5), lambda m, x: x[:0] // 0, lambda m, x: x[:0] % 0,
    lambda m, x: m.fmod(x[:0], 0), lambda m, x: m.div(x[:0], 0, rounding_mode="floor"),
    lambda m, x: x // 0,
])
def test_integer_fills_and_empty_division(call):
    check(call, Arg(U8), grad=False)
    check(call, Arg(U8.astype(np.int32)), grad=False)


@pytest.mark.parametrize("name", ["hann_window", "hamming_window", "bartlett_window",
                                  "blackman_window", "kaiser_window"])
def test_window_length_forms(name):
    for args in [(lambda m: m.tensor(5),), (lambda m: m.tensor(True),), (3.0,), (4, 1),
                 (4, False), (lambda m: m.tensor(4, dtype=m.int32), True)]:
        check(lambda m, args=args: getattr(m, name)(*[a(m) if callable(a) else a for a in args]),
              grad=False, atol=1e-6)


XS = np.array([3, 1, 4], dtype=np.uint8)


@pytest.mark.parametrize("call", [
    lambda m, y, x: m.trapezoid(y), lambda m, y, x: m.trapezoid(y, x),
    lambda m, y, x: m.trapezoid(y, x.float()), lambda m, y, x: m.trapezoid(y.float(), x),
    lambda m, y, x: m.trapezoid(y, dx=2.5), lambda m, y, x: m.trapezoid(y[:, :0]),
    lambda m, y, x: m.trapezoid(y.char(), x.half()), lambda m, y, x: m.trapezoid(y.int()[:, :0]),
    lambda m, y, x: m.cumulative_trapezoid(y), lambda m, y, x: m.cumulative_trapezoid(y, x),
    lambda m, y, x: m.cumulative_trapezoid(y.char(), x.half()),
])
def test_trapezoid_integer_dtypes(call):
    check(call, Arg(U8), Arg(XS), grad=False)


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int8, np.int32, np.int64, np.float32])
def test_vander_dtypes(dtype):
    v = np.array([1, 2, 3]).astype(dtype)
    for call in [lambda m, x: m.vander(x), lambda m, x: m.linalg.vander(x),
                 lambda m, x: m.vander(x[:0]), lambda m, x: m.vander(x, N=1),
                 lambda m, x: m.vander(x, N=4, increasing=True)]:
        check(call, Arg(v, requires_grad=False), grad=False)


def test_bincount_block_diag_and_ldexp_dtypes():
    empty = np.zeros(0, dtype=np.int32)
    check(lambda m, i, w: m.bincount(i, w), Arg(empty), Arg(empty), grad=False)
    check(lambda m, i, w: m.bincount(i, w), Arg(empty), Arg(np.zeros(0, np.float32)), grad=False)
    check(lambda m, i, w: m.bincount(i, w), Arg(np.array([1, 2])),
          Arg(np.array([1, 2], dtype=np.int32)), grad=False)
    for other in (np.int64(3), np.float64(3.0), np.bool_(True)):
        check(lambda m, a, b: m.block_diag(a, b), Arg(U8), Arg(np.asarray(other)), grad=False)
        check(lambda m, a, b: m.block_diag(a, b), Arg(X.astype(np.float16)),
              Arg(np.asarray(other)), grad=False)
    exponent = np.array([0.3, -1.7, 2.2], dtype=np.float16)
    check(lambda m, a, e: m.ldexp(a, e), Arg(V), Arg(exponent), rtol=1e-6)
    check(lambda m, a, e: m.ldexp(a, e), Arg(V.astype(np.float64)), Arg(exponent))
    check(lambda m, a, e: m.ldexp(a, e), Arg(np.array([1, 2, 3])), Arg(exponent), atol=1e-3)
    check(lambda m, a, e: m.ldexp(a, e), Arg(V), Arg(np.array([-1, 2, 40])), grad=False)
