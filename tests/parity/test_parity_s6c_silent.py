"""Session-6 fuzzer round 3: silent differences fixed (values or dtypes that differed while
both libraries returned): integer hinge_embedding_loss, soft_margin_loss's overflow,
binary_cross_entropy_with_logits's result dtype, mixed-dtype cosine_similarity, where() with
an out-of-range number on float16, topk of a 0-d tensor, and the orthogonal polynomials'
precision and result dtype."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

RNG = np.random.default_rng(12)
X = (RNG.standard_normal((2, 3)) * 2).astype(np.float32)
U8 = RNG.integers(0, 6, (2, 3)).astype(np.uint8)
LABELS = np.array([[1, -1, 1], [-1, 1, 3]])


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("dtypes", [("uint8", "uint8"), ("int32", "int64"), ("int8", "uint8"),
                                    ("int32", "float32"), ("float32", "int64"),
                                    ("float16", "float64"), ("bool", "bool")])
def test_hinge_embedding_loss_dtypes(dtypes, reduction):
    x, y = U8.astype(dtypes[0]), (LABELS * (255 if dtypes[1] == "uint8" else 1)).astype(
        dtypes[1])
    check(lambda m, a, b: m.nn.functional.hinge_embedding_loss(a, b, margin=1.5,
                                                               reduction=reduction),
          Arg(x), Arg(y), grad=False)


def test_hinge_embedding_loss_gradient_and_number_target():
    check(lambda m, a, b: m.nn.functional.hinge_embedding_loss(a, b), Arg(X), Arg(LABELS * 1.0))
    check(lambda m, a: m.nn.functional.hinge_embedding_loss(a, 1), Arg(X), grad=False)
    check(lambda m, a: m.hinge_embedding_loss(a, 1.0), Arg(X), grad=False)


@pytest.mark.parametrize("dtype", ["float16", "float32"])
@pytest.mark.parametrize("scale", [1.0, 50.0])
def test_soft_margin_loss_overflows_as_pytorch(dtype, scale):
    x = (X * scale).astype(dtype)
    for target in (U8, U8.astype(np.int32), np.sign(X).astype(dtype)):
        check(lambda m, a, b: m.nn.functional.soft_margin_loss(a, b), Arg(x), Arg(target),
              grad=False)
    check(lambda m, a, b: m.nn.functional.soft_margin_loss(a, b, reduction="none"),
          Arg(X), Arg(np.sign(X), requires_grad=False))


@pytest.mark.parametrize("shapes", [((2, 1, 3), (2, 3)), ((), (2, 3)), ((2, 3), (3,))])
def test_soft_margin_loss_target_broadcasts_to_input_only(shapes):
    check(lambda m, a, b: m.nn.functional.soft_margin_loss(a, b),
          Arg(RNG.standard_normal(shapes[0])),
          Arg(np.sign(RNG.standard_normal(shapes[1])), requires_grad=False))


@pytest.mark.parametrize("dtypes", [("float32", "float16"), ("float64", "float16"),
                                    ("float64", "float32"), ("float16", "float64")])
def test_binary_cross_entropy_with_logits_takes_the_targets_dtype(dtypes):
    x, y = X.astype(dtypes[0]), (U8 / 5).astype(dtypes[1])
    check(lambda m, a, b: m.nn.functional.binary_cross_entropy_with_logits(a, b), Arg(x),
          Arg(y), grad=dtypes[0] != "float16", rtol=1e-2, atol=1e-3)
    check(lambda m, a, b: m.nn.functional.binary_cross_entropy_with_logits(
        a, b, pos_weight=m.tensor([2.0, 1.0, 0.5]), reduction="none"), Arg(x), Arg(y),
        grad=False, rtol=1e-2, atol=1e-3)


@pytest.mark.parametrize("pair", [("float16", "float32"), ("float16", "float64"),
                                  ("float32", "float64"), ("int32", "float16")])
def test_cosine_similarity_mixed_dtypes(pair):
    a, b = X.astype(pair[0]), (X[::-1] + 1).astype(pair[1])
    check(lambda m, p, q: m.nn.functional.cosine_similarity(p, q), Arg(a), Arg(b), grad=False,
          rtol=1e-3, atol=1e-3)
    check(lambda m, p, q: m.cosine_similarity(p, q, dim=0), Arg(a), Arg(np.asarray(b[0, 0])),
          grad=False, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("other", [2.5, [1.0, 2.0, 3.0]])
@pytest.mark.parametrize("fn", [lambda m, x, o: m.cosine_similarity(x, o),
                                lambda m, x, o: m.nn.functional.pairwise_distance(x, o)])
def test_cosine_and_pairwise_need_tensors(fn, other):
    check(lambda m, x: fn(m, x, other), Arg(X), grad=False)


@pytest.mark.parametrize("value", [1e5, -1e5, 1e300, 70000, 2.0, float("nan")])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_where_number_out_of_the_dtypes_range(value, dtype):
    check(lambda m, x: x.where(x > 0, value), Arg(X.astype(dtype)), grad=False)
    check(lambda m, x: m.where(x > 0, value, x), Arg(X.astype(dtype)), grad=False)


@pytest.mark.parametrize("k", [0, 1, 2])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_of_a_0d_tensor(k, largest):
    check(lambda m, x: m.topk(x, k, largest=largest), Arg(np.float32(3.0)), grad=False)


@pytest.mark.parametrize("name", ["chebyshev_polynomial_t", "chebyshev_polynomial_u",
                                  "shifted_chebyshev_polynomial_w", "hermite_polynomial_h",
                                  "hermite_polynomial_he", "legendre_polynomial_p",
                                  "laguerre_polynomial_l"])
def test_polynomials_in_the_results_precision(name):
    x = np.array([[3, 4, -4], [5, 1, 0]], dtype=np.int8)
    # A float32 recurrence overflowing gives nan (inf - inf) in PyTorch, as here.
    check(lambda m, a: getattr(m.special, name)(a, 300), Arg(x), grad=False)
    check(lambda m, a: getattr(m.special, name)(a, 60), Arg(x.astype(np.float32)), grad=False)
    # int32 x with float32 n: PyTorch's promotion gives float32 (NumPy's would be float64).
    check(lambda m, a, n: getattr(m.special, name)(a, n), Arg(x.astype(np.int32)),
          Arg(np.array([1.5, 2.0, 3.0], np.float32)), grad=False)
