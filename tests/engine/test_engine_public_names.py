"""Every registered op is public under PyTorch's names (deltagrad.x, Tensor.x, F.x, special.x,
linalg.x), and every public function is a Tensor method and an F function where PyTorch has it."""

import pytest

import deltagrad as dg
import deltagrad.nn.functional as F
from deltagrad._engine import _FAMILIES, OPS

# Primitives that implement a public function under another name, with where users reach them.
INTERNAL = {
    "pow_scalar": "x ** number (pow with a Python exponent)",
    "normal_cdf": "the exact GELU's building block",
    "cast": "Tensor.to(dtype) / .float() / .double() on tensors that require grad",
    "getitem": "x[index]",
    "index_add_zeros": "the gradient of x[index] (scatters back into zeros)",
    "softmax_cross_entropy": "F.cross_entropy with probabilities, weights or smoothing",
    "cross_entropy_index": "F.cross_entropy with class-index targets",
    "clamp_tensor": "clamp / clip with tensor bounds",
    "div_rounding": "div(..., rounding_mode=) and //",
    "random_sample": "normal / bernoulli / poisson (parameters get zero gradients)",
    "scatter_sum": "scatter_add and scatter_reduce with sum or mean",
    "linalg_logabsdet": "linalg.slogdet and logdet",
    "packed_part": "each result of linalg.qr, svd, eigh, lu_factor, slogdet (one packed op)",
    "sparse_mm": "torch.sparse.mm / S @ D (the values of a sparse tensor times a dense one)",
    "sparse_sampled": "the gradient of sparse_mm's values; torch.sparse.sampled_addmm",
    "huber": "F.huber_loss and F.smooth_l1_loss in float32 / float64 (before the reduction)",
    "zero_link": "the recorded backward of relu / hardtanh / leaky_relu / softshrink / abs ...",
    "link_grad": "composite pools (max_pool1d, adaptive pools): recorded backward linked to x",
    "pattern_matmul": "to_sparse(x) @ D, D @ to_sparse(x), mm / addmm of them (x: whole grad)",
}


def _places(name):
    """Where users reach a primitive by its name: the top level, Tensor, F, special, linalg."""
    short = name.removeprefix("linalg_")
    return [hasattr(dg, name), hasattr(dg.Tensor, name), hasattr(F, name),
            hasattr(dg.special, name), hasattr(dg.linalg, short)]


def test_internal_ops_exist():
    assert set(INTERNAL) <= set(OPS), sorted(set(INTERNAL) - set(OPS))


@pytest.mark.parametrize("name", sorted(set(OPS) - set(INTERNAL)))
def test_each_op_is_reachable_by_its_name(name):
    assert any(_places(name)), (f"op {name!r} is registered but reachable as none of dg.{name}, "
                                f"Tensor.{name}, F.{name}, dg.special.{name}, dg.linalg")


def test_names_follow_pytorch_where_it_has_them():
    torch = pytest.importorskip("torch")
    names = sorted({n for family in _FAMILIES for n in family.__all__} | set(OPS) - set(INTERNAL))
    problems = []
    for name in names:
        if hasattr(torch, name) and not name.startswith("_") and not hasattr(dg, name):
            problems.append(f"torch.{name} exists, dg.{name} does not")
        if hasattr(torch.Tensor, name) and not hasattr(dg.Tensor, name):
            problems.append(f"torch.Tensor.{name} exists, Tensor.{name} does not")
        if hasattr(torch.nn.functional, name) and not hasattr(F, name):
            problems.append(f"torch.nn.functional.{name} exists, F.{name} does not")
    assert not problems, "\n".join(problems)
