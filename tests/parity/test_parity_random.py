"""Random draws against PyTorch: the same overloads accepted, the same shapes, dtypes,
requires_grad and exception types (values differ: the generators are not PyTorch's)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import DTYPES  # noqa: E402

import deltagrad as dg  # noqa: E402


def _t(m, *args, **kwargs):
    return m.tensor(*args, **kwargs)


CASES = [
    ("rand", lambda m: m.rand(2, 3)),
    ("rand-tuple", lambda m: m.rand((2, 3), dtype=m.float64)),
    ("rand-0d", lambda m: m.rand(())),
    ("rand-empty", lambda m: m.rand(0, 2)),
    ("rand-int-dtype", lambda m: m.rand(3, dtype=m.int64)),
    ("rand-requires-grad", lambda m: m.rand(3, requires_grad=True)),
    ("randn", lambda m: m.randn(4)),
    ("randn-list", lambda m: m.randn([2, 2], dtype=m.float64)),
    ("randn-int-dtype", lambda m: m.randn(3, dtype=m.int32)),
    ("randn-generator", lambda m: m.randn(2, generator=m.Generator().manual_seed(1))),
    ("randint-high-size", lambda m: m.randint(5, (3, 2))),
    ("randint-low-high-size", lambda m: m.randint(2, 5, (3,))),
    ("randint-keywords", lambda m: m.randint(low=2, high=5, size=(3,))),
    ("randint-high-keyword-size", lambda m: m.randint(10, size=(2,))),
    ("randint-dtype", lambda m: m.randint(0, 3, (2,), dtype=m.float32)),
    ("randint-int32", lambda m: m.randint(0, 3, (2,), dtype=m.int32)),
    ("randint-no-size", lambda m: m.randint(5)),
    ("randint-empty-range", lambda m: m.randint(3, 3, (2,))),
    ("randint-generator", lambda m: m.randint(3, (2,), generator=m.Generator().manual_seed(0))),
    ("randperm", lambda m: m.randperm(5)),
    ("randperm-dtype", lambda m: m.randperm(5, dtype=m.float64)),
    ("randperm-0", lambda m: m.randperm(0)),
    ("rand_like", lambda m: m.rand_like(_t(m, [[1.0, 2.0]], dtype=m.float64))),
    ("randn_like", lambda m: m.randn_like(_t(m, [1.0, 2.0]), dtype=m.float64)),
    ("randn_like-int", lambda m: m.randn_like(_t(m, [1, 2]))),
    ("randint_like-high", lambda m: m.randint_like(_t(m, [1.0, 2.0]), 5)),
    ("randint_like-low-high", lambda m: m.randint_like(_t(m, [[1, 2]]), 3, 8)),
    ("multinomial", lambda m: m.multinomial(_t(m, [0.2, 0.8]), 3, True)),
    ("multinomial-2d", lambda m: m.multinomial(_t(m, [[0.2, 0.8, 1.0], [1.0, 1.0, 1.0]]), 2)),
    ("multinomial-too-many", lambda m: m.multinomial(_t(m, [0.2, 0.8]), 3)),
    ("multinomial-negative", lambda m: m.multinomial(_t(m, [0.2, -0.8]), 1)),
    ("multinomial-3d", lambda m: m.multinomial(m.ones(2, 2, 2), 1)),
    ("multinomial-method", lambda m: _t(m, [1.0, 1.0]).multinomial(1)),
    ("bernoulli", lambda m: m.bernoulli(m.full((2, 3), 0.3))),
    ("bernoulli-p", lambda m: m.bernoulli(m.zeros(3, dtype=m.float64), 0.5)),
    ("bernoulli-grad", lambda m: m.bernoulli(m.full((3,), 0.5, requires_grad=True))),
    ("bernoulli-bad-p", lambda m: m.bernoulli(_t(m, [1.5]))),
    ("bernoulli-method", lambda m: m.full((2,), 0.5).bernoulli()),
    ("poisson", lambda m: m.poisson(m.full((2, 2), 3.0))),
    ("normal-tensors", lambda m: m.normal(m.zeros(3), m.ones(3))),
    ("normal-tensor-float", lambda m: m.normal(m.zeros(2, 3, dtype=m.float64), 2.0)),
    ("normal-float-tensor", lambda m: m.normal(1.0, m.ones(4))),
    ("normal-floats-size", lambda m: m.normal(0.0, 1.0, (2, 3))),
    ("normal-grad", lambda m: m.normal(m.zeros(3, requires_grad=True), 1.0)),
    ("normal-mismatch", lambda m: m.normal(m.zeros(2), m.ones(3))),
    ("random_", lambda m: m.zeros(3).random_()),
    ("random_-to", lambda m: m.zeros(3, dtype=m.int32).random_(4)),
    ("random_-from-to", lambda m: m.zeros(3, dtype=m.int64).random_(2, 9)),
    ("exponential_", lambda m: m.zeros(3, dtype=m.float64).exponential_(2.0)),
    ("geometric_", lambda m: m.zeros(3).geometric_(0.5)),
    ("bernoulli_", lambda m: m.zeros(3).bernoulli_(0.2)),
    ("cauchy_", lambda m: m.zeros(3).cauchy_()),
    ("log_normal_", lambda m: m.zeros(3).log_normal_()),
]


def _describe(result):
    if isinstance(result, tuple):
        return [_describe(r) for r in result]
    if isinstance(result, torch.Tensor):
        return tuple(result.shape), result.dtype, result.requires_grad
    return tuple(result.shape), DTYPES[np.dtype(result.dtype)], result.requires_grad


@pytest.mark.parametrize("fn", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_random_parity(fn):
    try:
        expected = fn(torch)
    except Exception as torch_error:  # noqa: BLE001 - any error PyTorch raises is the spec
        with pytest.raises(Exception) as caught:  # noqa: PT011
            fn(dg)
        assert isinstance(caught.value, type(torch_error)) or (
            isinstance(torch_error, RuntimeError) and isinstance(caught.value, RuntimeError)), (
            f"PyTorch raised {type(torch_error).__name__}, deltagrad "
            f"{type(caught.value).__name__}: {caught.value}")
        return
    assert _describe(fn(dg)) == _describe(expected)
