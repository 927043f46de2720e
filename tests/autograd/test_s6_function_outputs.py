"""autograd.Function with several outputs (and the rest of PyTorch's ctx API), against PyTorch.

Each program is written once against a module ``m`` (deltagrad or torch) and run on both; the
numbers, dtypes, ``requires_grad`` flags, node names, what the user's backward received and the
exception classes are compared.
"""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.autograd.function import once_differentiable as dg_once

torch = pytest.importorskip("torch")
from torch.autograd.function import once_differentiable as torch_once  # noqa: E402

X = np.array([0.3, -1.2, 2.0, 0.7], np.float64)
Y = np.array([[1.5, -0.4, 0.9, 0.2]], np.float64)


def both(program):
    """``program(m)`` for m = deltagrad and torch; the two results, numbers made NumPy."""
    return _plain(program(dg)), _plain(program(torch))


def _plain(value):
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (dg.Tensor, torch.Tensor)):
        return ("tensor", str(value.dtype).split(".")[-1], value.detach().numpy().copy())
    return value


def assert_same(a, b):
    if isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, tuple) and a and a[0] == "tensor":
        assert a[1] == b[1], (a, b)
        np.testing.assert_allclose(a[2], b[2], rtol=1e-6, atol=1e-12)
        assert a[2].shape == b[2].shape
    else:
        assert a == b, (a, b)


def compare(program):
    ours, theirs = both(program)
    assert_same(ours, theirs)
    return ours


def functions(m):
    """The same Function subclasses, made for module ``m``."""
    once = dg_once if m is dg else torch_once
    calls = []

    class SortWithIndex(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            values, index = x.sort()
            ctx.mark_non_differentiable(index)
            ctx.save_for_backward(index)
            return values, index

        @staticmethod
        def backward(ctx, grad_values, grad_index):
            calls.append(("sort", grad_index))
            (index,) = ctx.saved_tensors
            return m.zeros_like(grad_values).scatter(-1, index, grad_values)

    class SquareSin(m.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_backward(x)
            ctx.scale = scale
            return x * x * scale, x.sin()

        @staticmethod
        def backward(ctx, ga, gb):
            calls.append(("squaresin", ga, gb, ctx.needs_input_grad))
            (x,) = ctx.saved_tensors
            return ga * 2 * x * ctx.scale + gb * x.cos(), None

    class Lazy(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            calls.append(("lazy", ga, gb))
            total = None
            if ga is not None:
                total = ga * 2
            if gb is not None:
                total = gb * 3 if total is None else total + gb * 3
            return total

    class Mixed(m.autograd.Function):
        """A float64 and a float32 output, an int output, a string and a number."""

        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x.double() * y.double(), x * 2, (x > 0).long(), "tag", 7

        @staticmethod
        def backward(ctx, g64, g32, gint, gtag, gnum):
            calls.append(("mixed", g64, g32, gint, gtag, gnum))
            x, y = ctx.saved_tensors
            return (g64 * y).float() + g32 * 2, (g64 * x).float()

    class PassThrough(m.autograd.Function):
        """Returns an input as it is, and a new tensor."""

        @staticmethod
        def forward(ctx, x, y):
            return x, y * 2

        @staticmethod
        def backward(ctx, gx, gy):
            return gx * 5, gy * 2

    class SaveOutput(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            a, b = x * 2, x.exp()
            ctx.save_for_backward(b)
            return a, b

        @staticmethod
        def backward(ctx, ga, gb):
            (b,) = ctx.saved_tensors
            return ga * 2 + gb * b

    class OnceTwo(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x, x.exp()

        @staticmethod
        @once
        def backward(ctx, ga, gb):
            (x,) = ctx.saved_tensors
            return ga * 2 * x + gb * x.exp()

    class Single(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return (x * 4,)

        @staticmethod
        def backward(ctx, g):
            return g * 4

    class Separate(m.autograd.Function):
        """PyTorch's separate-context form with two outputs."""

        @staticmethod
        def forward(x, y):
            return x * y, x + y

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(*inputs)

        @staticmethod
        def backward(ctx, gp, gs):
            x, y = ctx.saved_tensors
            return gp * y + gs, gp * x + gs

    return dict(locals())


def leaf(m, values, dtype=None):
    t = m.tensor(values)
    if dtype is not None:
        t = t.to(getattr(m, dtype))
    return t.requires_grad_()


def test_values_and_indices_with_one_backward_call():
    def program(m):
        f = functions(m)
        x = leaf(m, X)
        values, index = f["SortWithIndex"].apply(x)
        (values * m.tensor([1.0, 2.0, 3.0, 4.0], dtype=m.float64)).sum().backward()
        (_, grad_index), = f["calls"]
        return [values, index, index.requires_grad, values.requires_grad, x.grad, grad_index,
                values.grad_fn.name(), values.is_leaf, index.is_leaf]

    out = compare(program)
    assert out[6] == "SortWithIndexBackward"


def test_two_differentiable_outputs_give_backward_both_gradients_once():
    def program(m):
        f = functions(m)
        x = leaf(m, X)
        a, b = f["SquareSin"].apply(x, 1.5)
        (a.sum() + (b * b).sum()).backward()
        return [a, b, x.grad, f["calls"], a.grad_fn.name(), b.grad_fn.name()]

    out = compare(program)
    assert len(out[3]) == 1  # the user's backward ran once, with both gradients


def test_an_unused_output_gets_zeros_or_none():
    def program(m):
        f = functions(m)
        x = leaf(m, X)
        a, b = f["SquareSin"].apply(x, 2.0)
        b.sum().backward()
        p, q = f["Lazy"].apply(x)
        q.sum().backward()
        return [x.grad, f["calls"]]

    out = compare(program)
    assert out[1][1][1] is None  # Lazy's first gradient: None without materializing


def test_mixed_outputs_dtypes_and_passed_through_values():
    def program(m):
        f = functions(m)
        x = leaf(m, X.astype(np.float32))
        y = leaf(m, Y[0].astype(np.float32))
        r64, r32, rint, tag, num = f["Mixed"].apply(x, y)
        (r64.sum() * 3 + (r32 * r32).sum()).backward()
        return [r64, r32, rint, tag, num, r64.dtype == m.float64, rint.requires_grad,
                r32.requires_grad, x.grad, y.grad, f["calls"]]

    compare(program)


def test_input_returned_as_it_is_shares_memory_and_gets_the_custom_gradient():
    def program(m):
        f = functions(m)
        x, y = leaf(m, X), leaf(m, X[::-1].copy())
        z = x * 1
        same, twice = f["PassThrough"].apply(z, y)
        same_memory = np.shares_memory(same.detach().numpy(), z.detach().numpy())
        (same * twice).sum().backward()
        return [same, twice, same_memory, same.grad_fn.name(), x.grad, y.grad]

    compare(program)


def test_in_place_change_of_an_input_returned_as_it_is_raises():
    def program(m):
        f = functions(m)
        same, _ = f["PassThrough"].apply(leaf(m, X) * 1, leaf(m, X))
        with pytest.raises(RuntimeError):
            same.add_(1)

    both(program)


def test_retain_graph_runs_backward_again_and_a_freed_graph_raises():
    def program(m):
        f = functions(m)
        x = leaf(m, X)
        a, b = f["SquareSin"].apply(x, 1.0)
        loss = (a * b).sum()
        loss.backward(retain_graph=True)
        loss.backward()
        with pytest.raises(RuntimeError):
            loss.backward()
        return [x.grad, len(f["calls"])]

    compare(program)


def test_double_backward_through_saved_inputs():
    def program(m):
        f = functions(m)
        x = leaf(m, X)
        a, b = f["SquareSin"].apply(x, 1.0)
        (g,) = m.autograd.grad((a * b).sum(), x, create_graph=True)
        (h,) = m.autograd.grad(g.sum(), x)
        return [g, h, g.requires_grad]

    compare(program)


def test_double_backward_through_a_saved_output():
    def program(m):
        f = functions(m)
        x = leaf(m, X)
        a, b = f["SaveOutput"].apply(x)
        (g,) = m.autograd.grad((a * b).sum(), x, create_graph=True)
        (h,) = m.autograd.grad((g * g).sum(), x)
        return [g, h]

    compare(program)


def test_gradcheck_and_check_graph_of_a_two_output_function():
    f = functions(dg)
    x = leaf(dg, X)
    assert dg.autograd.gradcheck(lambda t: f["SquareSin"].apply(t, 0.5), (x,))
    a, b = f["SquareSin"].apply(x, 0.5)
    report = dg.check_graph((a * b.exp()).sum())
    assert report.ok, report


def test_in_place_change_of_a_saved_output_raises_at_backward():
    def program(m):
        f = functions(m)
        x = leaf(m, X)
        a, b = f["SaveOutput"].apply(x)
        a.mul_(2)  # not saved: allowed
        b.mul_(2)
        with pytest.raises(RuntimeError, match="output 1 of SaveOutput"):
            (a + b).sum().backward()

    both(program)


def test_wrong_number_and_shape_of_gradients_raise_pytorch_errors():
    def program(m):
        class Few(m.autograd.Function):
            @staticmethod
            def forward(ctx, x, y):
                return x * y, x + y

            @staticmethod
            def backward(ctx, ga, gb):
                return ga

        class Narrow(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, ga, gb):
                return ga[:2]

        class ExtraNone(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, ga, gb):
                return ga * 2 + gb * 3, None

        x = leaf(m, X)
        with pytest.raises(RuntimeError, match=r"function FewBackward returned an incorrect "
                                               r"number of gradients \(expected 2, got 1\)"):
            Few.apply(x, x)[0].sum().backward()
        with pytest.raises(RuntimeError, match=r"Function NarrowBackward returned an invalid "
                                               r"gradient at index 0 - got \[2\] but expected "
                                               r"shape compatible with \[4\]"):
            Narrow.apply(x)[1].sum().backward()
        ExtraNone.apply(x)[1].sum().backward()  # trailing Nones are ignored
        return [x.grad]

    compare(program)


def test_once_differentiable_first_order_and_double_backward_errors():
    def program(m):
        f = functions(m)
        x = leaf(m, X)
        a, b = f["OnceTwo"].apply(x)
        (g,) = m.autograd.grad((a + b).sum(), x, create_graph=True)
        a, b = f["OnceTwo"].apply(x)
        v = m.ones(4, dtype=m.float64, requires_grad=True)
        (g2,) = m.autograd.grad((a, b), x, grad_outputs=(v, v), create_graph=True)
        with pytest.raises(RuntimeError, match="trying to differentiate twice"):
            g2.sum().backward()
        return [g, g.requires_grad, g2, g2.requires_grad]

    compare(program)


def test_one_element_tuple_separate_context_and_no_grad():
    def program(m):
        f = functions(m)
        x, y = leaf(m, X), leaf(m, X * 2)
        (single,) = f["Single"].apply(x)
        p, s = f["Separate"].apply(x, y)
        (single.sum() + (p * s).sum()).backward()
        with m.no_grad():
            q, r = f["Separate"].apply(x, y)
        return [single, p, s, x.grad, y.grad, q.requires_grad, r.requires_grad,
                type(f["Single"].apply(x)).__name__]

    compare(program)


def test_float64_result_of_float32_inputs_keeps_its_dtype():
    def program(m):
        class Widen(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x.double() * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2

        x = leaf(m, X.astype(np.float32))
        y = Widen.apply(x)
        y.sum().backward()
        return [y, x.grad]

    compare(program)


def test_grad_of_one_output_only():
    def program(m):
        f = functions(m)
        x = leaf(m, X)
        a, b = f["SquareSin"].apply(x, 3.0)
        (ga,) = m.autograd.grad(a.sum(), x, retain_graph=True)
        (gb,) = m.autograd.grad(b.sum(), x)
        return [ga, gb, x.grad is None, f["calls"]]

    compare(program)


def test_node_classes_are_named_as_pytorch():
    # node_class gives the grad_fn class PyTorch's name; Tensor.grad_fn uses it once the
    # engine's tensor.py makes its GradFn through it (the lead's change).
    from deltagrad._engine.node_names import node_class
    from deltagrad._engine.tensor import GradFn

    def names(m):
        f = functions(m)
        x = leaf(m, X)
        a, b = f["SquareSin"].apply(x, 1.0)
        values, _ = f["SortWithIndex"].apply(x)
        return [x * 2, x.sum(), a, b, values]

    ours = [node_class(t, GradFn) for t in names(dg)]
    theirs = [type(t.grad_fn) for t in names(torch)]
    assert [c.__name__ for c in ours] == [c.__name__ for c in theirs]
    assert all(issubclass(c, GradFn) for c in ours)
    assert node_class(names(dg)[0], GradFn) is ours[0]  # one class per name


def test_single_outputs_integer_and_non_tensor_results_as_pytorch():
    def program(m):
        class Count(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return (x > 0).long()

            @staticmethod
            def backward(ctx, g):
                return None

        class Number(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return 3

            @staticmethod
            def backward(ctx, g):
                return None

        x = leaf(m, X)
        count = Count.apply(x)
        return [count, count.requires_grad, count.grad_fn is None, Number.apply(x)]

    compare(program)


def test_capture_step_replays_a_two_output_function():
    f = functions(dg)
    w = dg.nn.Parameter(dg.tensor(X))

    def loss_fn(x):
        values, _ = f["SortWithIndex"].apply(w * x)
        a, b = f["SquareSin"].apply(values, 1.5)
        return (a * b * dg.tensor([1.0, 2.0, 3.0, 4.0], dtype=dg.float64)).sum()

    step = dg.capture_step(loss_fn)
    for data in (X[::-1].copy(), X * np.array([1.0, -2.0, 0.5, 3.0])):  # new sort orders
        w.grad = None
        loss = step(dg.tensor(data))
        replayed = w.grad.numpy().copy()
        w.grad = None
        eager = loss_fn(dg.tensor(data))
        eager.backward()
        assert loss.item() == eager.item()
        np.testing.assert_array_equal(replayed, w.grad.numpy())


def test_input_returned_as_it_is_outside_a_graph_may_change_in_place():
    def program(m):
        f = functions(m)
        plain = m.tensor(X)
        same, _ = f["PassThrough"].apply(plain, m.tensor(X))
        same.add_(1)  # no input requires grad: no graph, so allowed (and seen through plain)
        z = leaf(m, X) * 1
        with m.no_grad():
            kept, _ = f["PassThrough"].apply(z, z)
        kept.mul_(2)
        return [plain, same, z, kept.requires_grad]

    compare(program)
