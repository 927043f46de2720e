"""Regression tests for what running libraries' own test suites under the alias found (LE,
session 14); each compares deltagrad with PyTorch on the same seeded inputs."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _reparametrized_outputs(m):
    # zuko.bayesian: torch.nn.utils.stateless._reparametrize_module(base, params) as a context.
    from importlib import import_module
    stateless = import_module(m.__name__ + ".nn.utils.stateless")
    m.manual_seed(0)
    layer = m.nn.Linear(3, 2)
    weight = m.ones(2, 3, requires_grad=True)
    x = m.arange(6.0).reshape(2, 3)
    with stateless._reparametrize_module(layer, {"weight": weight}):
        inside = layer(x)
        assert layer.weight is weight
    inside.sum().backward()
    after = layer(x)
    assert isinstance(layer.weight, m.nn.Parameter)
    return inside.detach().numpy(), weight.grad.numpy(), after.detach().numpy()


def test_reparametrize_module_context_matches_torch():
    for got, want in zip(_reparametrized_outputs(dg), _reparametrized_outputs(torch)):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def _strict_error(m):
    from importlib import import_module
    stateless = import_module(m.__name__ + ".nn.utils.stateless")
    layer = m.nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match="Missing key") as info:
        with stateless._reparametrize_module(layer, {"weight": m.ones(2, 3)}, strict=True):
            pass
    return type(info.value)


def test_reparametrize_module_strict_raises_like_torch():
    assert issubclass(_strict_error(dg), RuntimeError)
    assert issubclass(_strict_error(torch), RuntimeError)


def _grad_behind_freed(m):
    # zuko's MonotonicTransform.call_and_ladj under no_grad: y from one grad() (its graph freed),
    # then x = y.clone().requires_grad_() and grad(f(x), x). PyTorch never runs the freed nodes
    # behind x.
    m.manual_seed(0)
    a = m.randn(5, requires_grad=True)
    with m.no_grad():
        with m.enable_grad():
            b = m.where(a > 0, a * 2, a.exp())
        first = m.autograd.grad(b, a, m.ones_like(b))[0]
        with m.enable_grad():
            x = b.clone().requires_grad_()
            y = m.where(x > 0.5, x * x, x.sin())
        second = m.autograd.grad(y, x, m.ones_like(y))[0]
    # The freed tensor itself requested: its gradient is given, nothing below it runs.
    c = a.exp()
    c.sum().backward()
    third = m.autograd.grad((c * 3).sum(), c)[0]
    return first.numpy(), second.numpy(), third.numpy()


def test_grad_of_input_whose_history_is_freed_matches_torch():
    for got, want in zip(_grad_behind_freed(dg), _grad_behind_freed(torch)):
        np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("case", ["behind", "two", "two_unused"])
def test_grad_through_a_freed_node_still_raises(case):
    # A freed node that the requested tensors need: PyTorch raises; so does deltagrad.
    for m in (torch, dg):
        a = m.randn(4, requires_grad=True)
        b = a.exp()
        b.sum().backward()
        with pytest.raises(RuntimeError, match="(?i)backward through the graph a second time"):
            if case == "behind":
                m.autograd.grad(b.sum(), a)
            elif case == "two":
                m.autograd.grad((b * 2).sum(), [b, a])
            else:
                m.autograd.grad((b * 2).sum(), [b, a], allow_unused=True)


def _beside_freed(m):
    # The root reaches a freed node that is on no path to the requested tensor (made after
    # it): PyTorch never runs it. (A requested leaf keeps deltagrad's error: a leaf's making
    # time is not recorded, so it might lie behind the freed node.)
    a = m.ones(4, requires_grad=True)
    b = a.exp()
    b.sum().backward()
    x = m.arange(4.0, requires_grad=True) * 1.0
    return m.autograd.grad((b * x * x).sum(), x)[0].numpy()


def test_grad_beside_a_freed_node_matches_torch():
    np.testing.assert_allclose(_beside_freed(dg), _beside_freed(torch), rtol=1e-6)


def test_freed_node_in_front_of_the_input_still_raises():
    # The root reaches the freed node other than through the requested tensor, which was made
    # before it: PyTorch raises; so does deltagrad.
    for m in (torch, dg):
        a = m.ones(4, requires_grad=True)
        x = a * 2.0
        b = x.exp()
        b.sum().backward(retain_graph=False)
        with pytest.raises(RuntimeError, match="(?i)backward through the graph a second time"):
            m.autograd.grad((b * x).sum(), x)


def _backward_with_list(m):
    # pyro's tests: y.backward([g]), a sequence of one gradient per output, as
    # torch.autograd.backward takes (Tensor.backward passes its gradient on to it).
    x = m.ones(2, requires_grad=True)
    x.sum().backward([m.tensor(3.0)])
    (x * 2).sum().backward((None,))
    (x * x).backward([m.tensor([1.0, 2.0])])
    return x.grad.numpy()


def test_backward_takes_a_list_of_one_gradient_like_torch():
    np.testing.assert_array_equal(_backward_with_list(dg), _backward_with_list(torch))


@pytest.mark.parametrize("gradient", [[], [1.0]])
def test_backward_list_errors_like_torch(gradient):
    for m in (torch, dg):
        y = m.ones(2, requires_grad=True).sum()
        error = RuntimeError if not gradient else TypeError
        with pytest.raises(error, match="got 1 tensors and 0 gradients|got float"):
            y.backward(gradient)


def _contiguous_of_expanded(m):
    # gpytorch's ConstantMeanGrad: c.unsqueeze(-1).expand(...).contiguous(), then written into.
    c = m.tensor([2.0], requires_grad=True)
    mean = c.unsqueeze(-1).expand(4, 3).contiguous()
    contiguous = mean.is_contiguous()
    mean[..., 1:] = 0
    (mean * m.arange(12.0).reshape(4, 3)).sum().backward()
    return contiguous, mean.detach().numpy(), c.grad.numpy(), c.detach().numpy()


def test_contiguous_of_an_expanded_tensor_is_a_writable_copy_like_torch():
    got, want = _contiguous_of_expanded(dg), _contiguous_of_expanded(torch)
    assert got[0] is want[0] is True
    for a, b in zip(got[1:], want[1:]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["HalfNormal", "HalfCauchy"])
def test_half_distributions_are_transformed_distributions_like_torch(name):
    # gpytorch's priors keep a TransformedDistribution's parameters as _buffered_<name>.
    values = []
    for m in (dg, torch):
        m.manual_seed(0)
        d = getattr(m.distributions, name)(m.tensor([1.3, 0.5]))
        assert isinstance(d, m.distributions.TransformedDistribution)
        x = m.tensor([0.2, 1.0])
        values.append([d.sample((3,)).numpy(), d.log_prob(x).numpy(), d.cdf(x).numpy(),
                       d.entropy().numpy(), tuple(d.expand((3, 2)).batch_shape)])
    for a, b in zip(*values):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def _legacy_sparse(m):
    # linear_operator: getattr(torch.sparse, "FloatTensor")(indices, values, size).
    indices = m.tensor([[0, 1, 1], [2, 0, 1]])
    values = m.tensor([2.0, 3.0, 4.0])
    s = m.sparse.FloatTensor(indices, values, m.Size((2, 3)))
    checks = (s.is_sparse, isinstance(s, m.sparse.FloatTensor),
              isinstance(s, m.sparse.DoubleTensor), isinstance(values, m.sparse.FloatTensor),
              str(m.sparse.DoubleTensor(indices, values, (2, 3)).dtype).split(".")[-1])
    return checks, s.to_dense().numpy()


def test_legacy_sparse_constructors_match_torch():
    (got_checks, got), (want_checks, want) = _legacy_sparse(dg), _legacy_sparse(torch)
    assert got_checks == want_checks
    np.testing.assert_array_equal(got, want)
