"""torch.func.jvp and linearize against PyTorch: values, trees, zero tangents where nothing
depends, nesting under grad, and the argument errors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from parity import Arg, check  # noqa: E402

RNG = np.random.default_rng(1)
X = RNG.standard_normal((3, 4)).astype(np.float32)
Y = RNG.standard_normal((4,)).astype(np.float32)
T1 = RNG.standard_normal((3, 4)).astype(np.float32)
T2 = RNG.standard_normal((4,)).astype(np.float32)


def _f(m, x, y):
    return (x * y).tanh().sum(0) + m.nn.functional.softplus(x @ y).sum()


def test_jvp_values_and_gradients_through_it():
    check(lambda m, x, y, t1, t2: m.func.jvp(lambda a, b: _f(m, a, b), (x, y), (t1, t2)),
          Arg(X), Arg(Y), Arg(T1), Arg(T2), rtol=1e-4, atol=1e-5)


def test_jvp_trees_aux_and_unused_inputs():
    def tree(m, x, y, t1, t2):
        out, tangent = m.func.jvp(
            lambda a, b: {"sum": a.sum(), "pair": (a.exp(), b * 2), "const": m.ones(2)},
            (x, y), (t1, t2))
        assert list(out) == ["sum", "pair", "const"] and isinstance(tangent["pair"], tuple)
        return out["sum"], *out["pair"], out["const"], tangent["sum"], *tangent["pair"], \
            tangent["const"]
    check(tree, Arg(X, False), Arg(Y, False), Arg(T1, False), Arg(T2, False))
    check(lambda m, x, t: m.func.jvp(lambda a: (a.sin(), a.cos().sum()), (x,), (t,),
                                     has_aux=True), Arg(X, False), Arg(T1, False))
    check(lambda m, x, y, t1, t2: m.func.jvp(lambda a, b: a.detach() * 2 + b.sum(),
                                             (x, y), (t1, t2)),
          Arg(X, False), Arg(Y, False), Arg(T1, False), Arg(T2, False))


def test_jvp_of_a_model_with_functional_call():
    def run(m, x, t):
        m.manual_seed(0)
        model = m.nn.Sequential(m.nn.Linear(4, 5), m.nn.GELU(), m.nn.Linear(5, 2))
        params = {k: v.detach() for k, v in model.named_parameters()}
        tangents = {k: m.ones_like(v) * 0.1 for k, v in params.items()}
        return m.func.jvp(lambda p: m.func.functional_call(model, p, (x,)), (params,),
                          (tangents,))
    check(run, Arg(X, False), Arg(T1, False), rtol=1e-4, atol=1e-5)


def test_linearize_reuses_one_linearisation():
    def run(m, x, t1, t2):
        out, jvp_fn = m.func.linearize(lambda a: (a ** 3).sum(1), x)
        return out, jvp_fn(t1), jvp_fn(t2.expand(3, 4))
    check(run, Arg(X, False), Arg(T1, False), Arg(T2, False))


def test_hessian_vector_product_by_jvp_of_grad():
    check(lambda m, x, t: m.func.jvp(m.func.grad(lambda a: (a.sin() * a).sum()), (x,), (t,)),
          Arg(X, False), Arg(T1, False), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", ["list primals", "structure", "shape", "integer"])
def test_jvp_argument_errors(case):
    def run(m, x, y):
        f = lambda a, b: a * b  # noqa: E731
        if case == "list primals":
            return m.func.jvp(f, [x, y], [x, y])
        if case == "structure":
            return m.func.jvp(f, (x, y), (x,))
        if case == "shape":
            return m.func.jvp(f, (x, y), (x, y[:2]))
        return m.func.jvp(f, (x, y.long()), (x, y.long()))
    check(run, Arg(X, False), Arg(Y, False))


@pytest.mark.parametrize("transform", ["grad", "vjp", "jacrev", "jvp"])
def test_aux_is_detached_from_the_transform_inputs(transform):
    """The auxiliary output kept its graph to the transform's inputs (requires_grad=True, so
    .numpy() on it failed); PyTorch returns it unwrapped, with a graph only to outer tensors."""
    import deltagrad as dg

    seen = []
    for lib in (torch, dg):
        x = lib.randn(3)
        w = lib.randn(3, requires_grad=True)
        f = lambda a, w=w: ((a * w).sin().sum(), (a.cos(), a * w))  # noqa: E731
        if transform == "grad":
            aux = lib.func.grad(f, has_aux=True)(x)[1]
        elif transform == "vjp":
            aux = lib.func.vjp(f, x, has_aux=True)[2]
        elif transform == "jacrev":
            aux = lib.func.jacrev(f, has_aux=True)(x)[1]
        else:
            aux = lib.func.jvp(f, (x,), (x,), has_aux=True)[2]
        seen.append([t.requires_grad for t in aux])
    assert seen[1] == seen[0] == [False, True]
