"""deltagrad.Function: user-defined ops with a forward and a backward."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops import OPS


def leaf(values, dtype="float64"):
    return dg.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


class Cube(dg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x


class Exp(dg.Function):
    """Saves its output, as torch's examples do."""

    @staticmethod
    def forward(ctx, x):
        out = x.exp()
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out


class ScaledMul(dg.Function):
    """Two tensor inputs, a number in between, a keyword constant, ctx attributes."""

    @staticmethod
    def forward(ctx, a, alpha, b, *, shift=0.0):
        ctx.alpha = alpha
        ctx.save_for_backward(a, b)
        return a * b * alpha + shift

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g * b * ctx.alpha, None, g * a * ctx.alpha


def test_forward_and_backward():
    x = leaf([1.0, 2.0, -1.0])
    y = Cube.apply(x)
    np.testing.assert_array_equal(y._data, [1.0, 8.0, -1.0])
    assert y.grad_fn.name == "Cube"
    y.sum().backward()
    np.testing.assert_array_equal(x.grad._data, [3.0, 12.0, 3.0])


@pytest.mark.parametrize("function", [Cube, Exp])
def test_gradcheck_and_double_backward(function):
    x = leaf([0.5, -1.2, 2.0])
    assert dg.gradcheck(function.apply, (x,))
    assert dg.gradgradcheck(function.apply, (x,))


def test_double_backward_flows_through_saved_inputs():
    x = leaf([1.0, 2.0])
    (g,) = dg.grad(Cube.apply(x).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g._data, [3.0, 12.0])
    g.sum().backward()
    np.testing.assert_array_equal(x.grad._data, [6.0, 12.0])  # d/dx 3x^2 = 6x


def test_non_tensor_arguments_and_keywords_pass_through():
    a, b = leaf([1.0, 2.0]), leaf([3.0, -1.0])
    out = ScaledMul.apply(a, 2.0, b, shift=1.0)
    np.testing.assert_array_equal(out._data, [7.0, -3.0])
    out.sum().backward()
    np.testing.assert_array_equal(a.grad._data, [6.0, -2.0])
    np.testing.assert_array_equal(b.grad._data, [2.0, 4.0])
    assert dg.gradcheck(lambda a, b: ScaledMul.apply(a, 0.5, b), (a, b))


def test_needs_input_grad_and_inputs_without_grad():
    seen = {}

    class Probe(dg.Function):
        @staticmethod
        def forward(ctx, a, b):
            seen["forward"] = (ctx.needs_input_grad, a.requires_grad, dg.is_grad_enabled())
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, g

    a, b = leaf([1.0]), dg.tensor([2.0])
    Probe.apply(a, b).sum().backward()
    assert seen["forward"] == ((True, False), True, False)  # (PyTorch: the caller's a)
    assert a.grad is not None and b.grad is None


def test_no_graph_without_grad():
    x = leaf([1.0])
    with dg.no_grad():
        y = Cube.apply(x)
    assert not y.requires_grad and y.grad_fn is None
    assert not Cube.apply(dg.tensor([1.0])).requires_grad


def test_broadcast_gradients_are_summed_by_the_engine():
    class AddRow(dg.Function):
        @staticmethod
        def forward(ctx, m, row):
            return m + row

        @staticmethod
        def backward(ctx, g):
            return g, g  # g has m's shape; the engine sums it down to row's shape

    m, row = leaf(np.ones((3, 2))), leaf([1.0, 2.0])
    AddRow.apply(m, row).sum().backward()
    np.testing.assert_array_equal(row.grad._data, [3.0, 3.0])


def test_intermediate_saved_values_are_available():
    class Sigmoid(dg.Function):
        @staticmethod
        def forward(ctx, x):
            s = 1 / (1 + (-x).exp())
            ctx.save_for_backward(s)
            return s * 1.0

        @staticmethod
        def backward(ctx, g):
            (s,) = ctx.saved_tensors
            return g * s * (1 - s)

    x = leaf([-1.0, 0.0, 2.0])
    assert dg.gradcheck(Sigmoid.apply, (x,))


def test_wrong_number_of_gradients_is_an_error_naming_the_function():
    class TooMany(dg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g, g

    with pytest.raises(TypeError, match="TooMany.backward returned 2 gradients"):
        TooMany.apply(leaf([1.0])).sum().backward()


def test_forward_may_return_a_tuple():
    # (tests/autograd/test_s6_function_outputs.py covers several outputs against PyTorch)
    class Pair(dg.Function):
        @staticmethod
        def forward(ctx, x):
            return x, x * 2

        @staticmethod
        def backward(ctx, g, h):
            return g + h * 2

    x = leaf([1.0])
    first, second = Pair.apply(x)
    (first + second).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [3.0])


def test_forward_and_backward_are_required():
    # (PyTorch's: a Function without backward runs; backward through it raises)
    class Half(dg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

    y = Half.apply(leaf([1.0]))
    with pytest.raises(NotImplementedError, match="implement either the backward or vjp"):
        y.sum().backward()


def test_save_for_backward_takes_tensors_only():
    class Bad(dg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(3.0)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(TypeError, match="save_for_backward takes Tensors"):
        Bad.apply(leaf([1.0]))


def test_gradient_of_the_wrong_shape_is_caught_by_the_engine():
    class WrongShape(dg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return dg.ones(5)

    with pytest.raises(dg.ShapeError, match="WrongShape"):
        WrongShape.apply(leaf([1.0, 2.0])).sum().backward()


def test_none_gradient_means_no_gradient():
    class Stop(dg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return None

    x = leaf([1.0])
    (Stop.apply(x) + x).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [1.0])


def test_each_subclass_gets_its_own_unregistered_op():
    x = leaf([1.0])
    assert Cube.apply(x).grad_fn.name == "Cube"
    assert Exp.apply(x).grad_fn.name == "Exp"
    assert "Cube" not in OPS and "Exp" not in OPS

    class SubCube(Cube):
        pass

    assert SubCube.apply(x).grad_fn.name == "SubCube"


def test_retain_graph_lets_backward_run_twice():
    x = leaf([2.0])
    y = Cube.apply(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad._data, [24.0])


def test_dtypes_follow_the_inputs():
    assert Cube.apply(leaf([1.0], "float32")).dtype == dg.float32
    assert Cube.apply(leaf([1.0], "float64")).dtype == dg.float64


def test_check_graph_covers_custom_functions():
    x = leaf([0.3, -0.7])
    report = dg.check_graph((Exp.apply(Cube.apply(x)) * 2).sum())
    assert report.ok
    assert [c.op for c in report.checks] == ["Cube", "Exp", "mul", "sum"]
