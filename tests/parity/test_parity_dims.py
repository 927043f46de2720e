"""Out-of-range and negative dims against PyTorch: IndexError where PyTorch raises it, the same
result where the dim is valid (negative dims wrap, a 0-d tensor takes -1 and 0)."""

import numpy as np
import pytest

pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

RNG = np.random.default_rng(0)
X4 = RNG.standard_normal((2, 3, 4, 5))
X0 = np.array(1.5)

# (name, fn(m, x)) with a dim that is out of range for a 4-d tensor, then the same with a valid
# negative dim.
CASES = {
    "sum": lambda m, x, d: m.sum(x, d),
    "sum_tuple": lambda m, x, d: m.sum(x, (0, d)),
    "mean": lambda m, x, d: m.mean(x, d),
    "var": lambda m, x, d: m.var(x, d),
    "std": lambda m, x, d: m.std(x, d),
    "prod": lambda m, x, d: m.prod(x, d),
    "amax": lambda m, x, d: m.amax(x, d),
    "amin": lambda m, x, d: m.amin(x, d),
    "max_dim": lambda m, x, d: m.max(x, d),
    "min_dim": lambda m, x, d: m.min(x, d),
    "argmax": lambda m, x, d: m.argmax(x, d),
    "argmin": lambda m, x, d: m.argmin(x, d),
    "logsumexp": lambda m, x, d: m.logsumexp(x, d),
    "cumsum": lambda m, x, d: m.cumsum(x, d),
    "softmax": lambda m, x, d: m.softmax(x, d),
    "log_softmax": lambda m, x, d: m.log_softmax(x, d),
    "squeeze": lambda m, x, d: m.squeeze(x, d),
    "unsqueeze": lambda m, x, d: m.unsqueeze(x, d + (1 if d > 0 else -1)),
    "transpose": lambda m, x, d: m.transpose(x, 0, d),
    "flatten": lambda m, x, d: m.flatten(x, 0, d),
    "cat": lambda m, x, d: m.cat([x, x], d),
    "stack": lambda m, x, d: m.stack([x, x], d + (1 if d > 0 else -1)),
    "split": lambda m, x, d: m.split(x, 1, d),
    "chunk": lambda m, x, d: m.chunk(x, 2, d),
    "narrow": lambda m, x, d: m.narrow(x, d, 0, 1),
    "select": lambda m, x, d: m.select(x, d, 0),
    "index_select": lambda m, x, d: m.index_select(x, d, m.tensor([0])),
    "flip": lambda m, x, d: m.flip(x, (d,)),
    "roll": lambda m, x, d: m.roll(x, 1, d),
    "unbind": lambda m, x, d: m.unbind(x, d),
    "movedim": lambda m, x, d: m.movedim(x, d, 0),
    "sort": lambda m, x, d: m.sort(x, d),
    "argsort": lambda m, x, d: m.argsort(x, d),
    "all": lambda m, x, d: m.all(x > 0, d),
    "any": lambda m, x, d: m.any(x > 0, d),
    "count_nonzero": lambda m, x, d: m.count_nonzero(x, d),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dim", [4, 5, -5, 50])
def test_out_of_range_dim_raises_index_error(name, dim):
    check(lambda m, x: CASES[name](m, x, dim), Arg(X4))


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dim", [-1, -4, 3])
def test_valid_dims_agree(name, dim):
    if name in ("unsqueeze", "stack") and dim == 3:
        dim = 4  # d + 1: the new dim may be ndim
    check(lambda m, x: CASES[name](m, x, dim), Arg(X4), rtol=1e-6)


@pytest.mark.parametrize("name", ["sum", "mean", "amax", "softmax", "log_softmax", "squeeze",
                                  "argmax", "cumsum", "flatten", "logsumexp"])
@pytest.mark.parametrize("dim", [0, -1, 1, -2])
def test_zero_d_tensors_take_dims_minus_one_and_zero(name, dim):
    fns = {"sum": lambda m, x: m.sum(x, dim), "mean": lambda m, x: m.mean(x, dim),
           "amax": lambda m, x: m.amax(x, dim), "softmax": lambda m, x: m.softmax(x, dim),
           "log_softmax": lambda m, x: m.log_softmax(x, dim),
           "squeeze": lambda m, x: m.squeeze(x, dim), "argmax": lambda m, x: m.argmax(x, dim),
           "cumsum": lambda m, x: m.cumsum(x, dim), "flatten": lambda m, x: m.flatten(x, dim),
           "logsumexp": lambda m, x: m.logsumexp(x, dim)}
    check(fns[name], Arg(X0))


@pytest.mark.parametrize("method", ["sum", "mean", "var", "std", "softmax", "squeeze", "size"])
def test_methods_check_dims_too(method):
    check(lambda m, x: getattr(x, method)(4), Arg(X4))
    check(lambda m, x: getattr(x, method)(-4), Arg(X4))


def test_repeated_dims_raise():
    check(lambda m, x: m.sum(x, (1, -3)), Arg(X4))
    check(lambda m, x: m.mean(x, (0, 0)), Arg(X4))
