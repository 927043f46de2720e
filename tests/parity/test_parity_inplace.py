"""In-place ops against PyTorch: the tensor itself changes (same object, views see it), leaves
that require grad refuse, tensors in a graph are rebound so gradients flow through the change,
and a value backward still needs raises the "modified by an inplace operation" error."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(0)
A = RNG.uniform(0.5, 2.0, (3, 4))
B = RNG.uniform(0.5, 2.0, (3, 4))
ROW = RNG.uniform(0.5, 2.0, (4,))
MASK = RNG.standard_normal((3, 4)) > 0

# name -> fn(m, y, other) applying one in-place op to y (other: a tensor shaped like y).
METHODS = {
    "add_": lambda m, y, o: y.add_(o),
    "add_ alpha": lambda m, y, o: y.add_(o, alpha=-0.5),
    "add_ scalar": lambda m, y, o: y.add_(2.5),
    "add_ broadcast row": lambda m, y, o: y.add_(o[0]),
    "sub_ alpha": lambda m, y, o: y.sub_(o, alpha=2),
    "mul_": lambda m, y, o: y.mul_(o),
    "mul_ scalar": lambda m, y, o: y.mul_(3.0),
    "div_": lambda m, y, o: y.div_(o),
    "div_ floor": lambda m, y, o: y.div_(o, rounding_mode="floor"),
    "remainder_": lambda m, y, o: y.remainder_(0.7),
    "lt_": lambda m, y, o: y.lt_(o),
    "ge_ scalar": lambda m, y, o: y.ge_(1.0),
    "fill_diagonal_": lambda m, y, o: y.fill_diagonal_(-2.0, wrap=True),
    "pow_": lambda m, y, o: y.pow_(2),
    "pow_ tensor": lambda m, y, o: y.pow_(o),
    "neg_": lambda m, y, o: y.neg_(),
    "abs_": lambda m, y, o: y.abs_(),
    "exp_": lambda m, y, o: y.exp_(),
    "log_": lambda m, y, o: y.log_(),
    "sqrt_": lambda m, y, o: y.sqrt_(),
    "tanh_": lambda m, y, o: y.tanh_(),
    "sigmoid_": lambda m, y, o: y.sigmoid_(),
    "relu_": lambda m, y, o: y.sub_(1.0).relu_(),
    "clamp_": lambda m, y, o: y.clamp_(0.8, 1.5),
    "clamp_ min": lambda m, y, o: y.clamp_(min=1.0),
    "clip_": lambda m, y, o: y.clip_(0.8, 1.5),
    "zero_": lambda m, y, o: y.zero_(),
    "fill_": lambda m, y, o: y.fill_(2.5),
    "copy_": lambda m, y, o: y.copy_(o),
    "copy_ broadcast": lambda m, y, o: y.copy_(o[1]),
    "masked_fill_": lambda m, y, o: y.masked_fill_(m.tensor(MASK), -1.0),
    "index_fill_": lambda m, y, o: y.index_fill_(1, m.tensor([0, 2]), 7.0),
    "scatter_": lambda m, y, o: y.scatter_(1, m.tensor([[0], [2], [1]]), o[:, :1]),
    "t_": lambda m, y, o: y.t_(),
    "transpose_": lambda m, y, o: y.transpose_(0, 1),
    "unsqueeze_": lambda m, y, o: y.unsqueeze_(1),
    "squeeze_": lambda m, y, o: y.unsqueeze_(0).squeeze_(0),
    "setitem slice": lambda m, y, o: y.__setitem__((slice(None), 1), o[:, 2]),
    "setitem int beside tensor": lambda m, y, o: y.__setitem__((1, m.tensor([0, 3])), o[0, :2]),
    "setitem mask": lambda m, y, o: y.__setitem__(m.tensor(MASK), 0.5),
    "iadd": lambda m, y, o: y.__iadd__(o),
    "isub": lambda m, y, o: y.__isub__(o * 0.1),
    "imul": lambda m, y, o: y.__imul__(o),
    "itruediv": lambda m, y, o: y.__itruediv__(o),
    "ipow": lambda m, y, o: y.__ipow__(2),
}


def _apply(name, m, y, o):
    result = METHODS[name](m, y, o)
    return y if result is None else result


@pytest.mark.parametrize("name", sorted(METHODS))
def test_in_place_outside_a_graph_changes_the_tensor_itself(name):
    def fn(m, x, o):
        before = x
        view = x.view(-1)  # a view sees the change
        with m.no_grad():
            out = _apply(name, m, x, o)
        assert out is before
        return x, view if x.shape == (3, 4) else view.reshape(x.shape), x._version

    check(fn, Arg(A.copy(), requires_grad=False), Arg(B, requires_grad=False), grad=False)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_in_place_on_a_graph_tensor_records_the_op(name):
    def fn(m, x, o):
        y = x * 1.5
        _apply(name, m, y, o)
        return y * 2.0

    check(fn, Arg(A), Arg(B))


@pytest.mark.parametrize("name", sorted(METHODS))
def test_in_place_on_a_leaf_that_requires_grad_raises(name):
    check(lambda m, x, o: _apply(name, m, x, o), Arg(A), Arg(B))


@pytest.mark.parametrize("name", ["add_", "mul_", "copy_", "setitem slice", "fill_",
                                  "masked_fill_"])
def test_a_constant_written_with_a_value_that_requires_grad_joins_the_graph(name):
    def fn(m, x, o):
        buffer = m.zeros(3, 4, dtype=m.float64) + 1.0  # no grad
        _apply(name, m, buffer, o)
        return buffer * x

    check(fn, Arg(A), Arg(B))


def test_the_sgd_update_of_the_pytorch_tutorial_changes_the_parameter():
    def fn(m, x, target):
        w = m.tensor([0.1, -0.2, 0.3], dtype=m.float64, requires_grad=True)
        original = w
        for _ in range(5):
            loss = ((x @ w - target) ** 2).sum()
            loss.backward()
            with m.no_grad():
                w -= 0.01 * w.grad
                w.grad = None
        assert w is original and w.is_leaf and w.requires_grad
        return w.detach(), w._version

    check(fn, Arg(RNG.standard_normal((6, 3)), False), Arg(RNG.standard_normal(6), False),
          grad=False)


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/=", "//=", "%=", "**=", "&=", "|=", "^=",
                                "<<=", ">>="])
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float32, np.bool_])
def test_augmented_assignment_mutates_with_pytorch_dtype_rules(op, dtype):
    def fn(m, x, o):
        original, view = x, x.view(-1)
        namespace = {"x": x, "o": o}
        exec(f"x {op} o", namespace)  # noqa: S102 - the operator under test
        assert namespace["x"] is original
        return original, view

    x = (RNG.integers(1, 5, (2, 3))).astype(dtype)
    o = (RNG.integers(1, 3, (2, 3))).astype(dtype)
    check(fn, Arg(x, False), Arg(o, False), grad=False)


@pytest.mark.parametrize("scalar", [2, 1.5, True])
@pytest.mark.parametrize("dtype", [np.int64, np.float32, np.bool_])
def test_in_place_with_python_scalars(scalar, dtype):
    check(lambda m, x: x.add_(scalar), Arg(np.ones(3, dtype), False), grad=False)
    check(lambda m, x: x.mul_(scalar), Arg(np.ones(3, dtype), False), grad=False)


def test_in_place_errors_match():
    check(lambda m, x: x.add_(m.zeros(2, 3)), Arg(np.zeros(3), False))  # can't broadcast up
    check(lambda m, x: x.expand(2, 3).add_(1), Arg(np.zeros(3), False))  # overlapping memory
    check(lambda m, x: x.div_(2), Arg(np.ones(3, np.int64), False))  # float into long
    check(lambda m, x: x.view(3).add_(1), Arg(np.zeros(3)))  # a view of a leaf


# Backward after in-place changes: PyTorch raises where a saved value changed, else gradients
# flow through the rebound tensors. Each case returns (output, inputs).
def _exp_then_add(m, x, w):
    y = x.exp()
    y.add_(1)
    return y, (x,)


def _sigmoid_then_mul(m, x, w):
    y = x.sigmoid()
    y.mul_(2)
    return y, (x,)


def _square_then_add(m, x, w):
    y = x * 2
    z = y * y
    y.add_(1)
    return z, (x,)


def _view_of_saved_output(m, x, w):
    y = x.exp()
    y.view(-1).add_(1)
    return y, (x,)


def _consumer_of_old_value(m, x, w):
    y = x * 2
    z = y * 3
    y.mul_(2)
    return z + y, (x,)


def _tanh_input_changed(m, x, w):
    y = x * 2
    z = y.tanh()
    y.add_(1)
    return z, (x,)


def _self_aliasing_mul(m, x, w):
    y = x * 1
    y.mul_(y)
    return y, (x,)


def _alias_through_a_view(m, x, w):
    y = x * 1
    y.mul_(y.t().t())
    return y, (x,)


def _log_of_non_leaf(m, x, w):
    y = x * 1
    y.log_()
    return y, (x,)


def _mul_by_a_leaf(m, x, w):
    y = x * 1
    y.mul_(w)
    return y * y, (x, w)


def _view_region_changed(m, x, w):
    y = x * 2
    v = y[0:2]
    v.mul_(w[0:2])
    return y * 1.5, (x, w)


def _view_changed_twice(m, x, w):
    y = x * 2
    v = y[1]
    v.mul_(3)
    v.add_(w[1])
    return (y * y).sum() + v.sum(), (x, w)


def _transposed_view_changed(m, x, w):
    y = x * 2
    y.t().mul_(w.t())
    return y, (x, w)


def _setitem_from_the_graph(m, x, w):
    y = x * 2
    y[1] = x[0] * 7
    return y, (x,)


def _chain_of_rebinds(m, x, w):
    y = x * 1
    a = y * 1
    y.add_(w)
    b = y * 1
    y.mul_(3)
    return a + b + y, (x, w)


def _element_view_zeroed(m, x, w):
    y = x * 3
    y[1].zero_()  # x[1] is a 0-d view, as in PyTorch
    y[2, 0] += w[2, 0]
    return y * x, (x, w)


def _augmented_assignment_on_a_slice(m, x, w):
    y = x * 1
    y[:, 1] *= w[:, 0]
    y[0] -= w[0]
    return y * y, (x, w)


def _augmented_assignment_into_a_constant_buffer(m, x, w):
    buffer = m.zeros(3, 3, dtype=m.float64)
    buffer[:, 1:] *= 2.0
    buffer[1] += x[0] * w[1]
    buffer[1:, 0:2] -= w[0, :2]
    return buffer * buffer, (x, w)


def _retained_output_changed(m, x, w):
    y = x.tanh()
    y += 1
    return y, (x,)


def _relu_in_place_after_linear(m, x, w):
    h = x * w
    h.relu_()
    return h.sum() * 2, (x, w)


def _version_bumped_under_no_grad(m, x, w):
    y = x.exp()
    with m.no_grad():
        y.add_(1)
    return y, (x,)


def _detach_shares_the_version(m, x, w):
    y = x.exp()
    y.detach().zero_()
    return y, (x,)


def _data_write_is_unseen(m, x, w):
    y = x * 2
    y.data.mul_(5)
    return y * 3, (x,)


BACKWARD_CASES = [_exp_then_add, _sigmoid_then_mul, _square_then_add, _view_of_saved_output,
                  _consumer_of_old_value, _tanh_input_changed, _self_aliasing_mul,
                  _alias_through_a_view, _log_of_non_leaf, _mul_by_a_leaf, _view_region_changed,
                  _view_changed_twice, _transposed_view_changed, _setitem_from_the_graph,
                  _chain_of_rebinds, _element_view_zeroed, _augmented_assignment_on_a_slice,
                  _augmented_assignment_into_a_constant_buffer,
                  _retained_output_changed, _relu_in_place_after_linear,
                  _version_bumped_under_no_grad, _detach_shares_the_version,
                  _data_write_is_unseen]


def _run(lib, case, x, w):
    xs = lib.tensor(x, dtype=lib.float64, requires_grad=True)
    ws = lib.tensor(w, dtype=lib.float64, requires_grad=True)
    out, inputs = case(lib, xs, ws)
    seed = np.linspace(-1.0, 1.0, int(np.prod(out.shape))).reshape(tuple(out.shape))
    try:
        grads = lib.autograd.grad(out, inputs, lib.tensor(seed, dtype=lib.float64))
    except RuntimeError as error:
        return out.detach().numpy(), error
    return out.detach().numpy(), [g.numpy() for g in grads]


@pytest.mark.parametrize("case", BACKWARD_CASES, ids=lambda c: c.__name__.strip("_"))
def test_backward_after_in_place_changes(case):
    x, w = RNG.uniform(0.5, 2.0, (3, 3)), RNG.uniform(0.5, 2.0, (3, 3))
    t_out, t_grads = _run(torch, case, x, w)
    d_out, d_grads = _run(dg, case, x, w)
    np.testing.assert_allclose(d_out, t_out, rtol=1e-12)
    if isinstance(t_grads, Exception):
        assert isinstance(d_grads, RuntimeError), f"PyTorch raised {t_grads}; deltagrad did not"
        assert "modified by an inplace operation" in str(d_grads)
        return
    assert not isinstance(d_grads, Exception), f"deltagrad raised {d_grads}; PyTorch did not"
    for d, t in zip(d_grads, t_grads):
        np.testing.assert_allclose(d, t, rtol=1e-10, atol=1e-12)


def test_writes_through_views_outside_a_graph_reach_the_base():
    def fn(m, x):
        x[1].fill_(5.0)
        x[0][2] = -1.0
        x[:, 0].mul_(10.0)
        x.t()[1].add_(0.5)
        x[2, 1] += 7.0
        return x, x._version

    check(fn, Arg(np.zeros((3, 3)), requires_grad=False), grad=False)


def test_the_error_names_the_versions_as_pytorch_does():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.add_(1)
    y.mul_(2)
    with pytest.raises(RuntimeError, match=r"output 0 of exp, is at version 2; expected version "
                                           r"0 instead"):
        y.sum().backward()


def test_versions_count_like_pytorch():
    def fn(m, x):
        a = x.detach()
        b = a.view(-1)
        counts = [a._version]
        b.add_(1)
        counts.append(a._version)
        a[0] = 3.0
        a.t_()
        a.zero_()
        counts.append(b._version)
        c = a.clone()
        counts.append(c._version)
        return m.tensor(counts)

    check(fn, Arg(np.ones((2, 2))), grad=False)


def test_second_order_gradients_through_in_place_changes():
    def grads(m):
        x = m.tensor([1.0, 2.0, 3.0], dtype=m.float64, requires_grad=True)
        y = x * 1
        y.mul_(x)
        y[0] = x[1] * x[2]
        v = y[1:]
        v.mul_(x[:2])
        g, = m.autograd.grad((y * y).sum(), x, create_graph=True)
        h, = m.autograd.grad(g.sum(), x)
        return g.detach().numpy(), h.numpy()

    for got, expected in zip(grads(dg), grads(torch)):
        np.testing.assert_allclose(got, expected, rtol=1e-12)
