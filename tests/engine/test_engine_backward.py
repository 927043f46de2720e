"""The backward engine: accumulation, graph lifetime, grad modes, higher order, errors."""

import numpy as np
import pytest

import deltagrad as dg


def leaf(values, dtype="float64"):
    return dg.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def test_lecture_example_plus_distributes_max_routes_times_switches():
    # f = (x + y) * max(y, z) at x = 1, y = 2, z = 0 (CS224N Lecture 4).
    x, y, z = leaf(1.0), leaf(2.0), leaf(0.0)
    f = (x + y) * dg.maximum(y, z)
    f.backward()
    assert f.item() == 6.0
    assert (x.grad.item(), y.grad.item(), z.grad.item()) == (2.0, 5.0, 0.0)


def test_x_times_x_accumulates_both_uses():
    x = leaf([1.0, -2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [2.0, -4.0, 6.0])


def test_diamond_graph_gradients_add_at_fan_out():
    x = leaf(3.0)
    a = x * 2.0
    b = x.exp()
    out = a * b  # x fans out to two branches that meet again
    out.backward()
    # d/dx (2x e^x) = 2e^x + 2x e^x
    assert x.grad.item() == pytest.approx(2 * np.exp(3.0) * (1 + 3.0))


def test_grad_accumulates_across_backward_calls_until_zeroed():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad._data, [4.0, 8.0])
    x.grad = None
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [3.0, 3.0])


def test_backward_through_freed_graph_raises_clear_error():
    x = leaf([1.0, 2.0])
    y = (x.tanh() * 2.0).sum()
    y.backward()
    with pytest.raises(dg.GraphError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_keeps_it():
    x = leaf(2.0)
    y = x ** 3
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == 24.0


def test_sibling_leaves_do_not_share_gradient_memory():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward()
    a.grad._data *= 10  # in place, as gradient clipping does
    np.testing.assert_array_equal(b.grad._data, [1.0, 1.0])


def test_leaf_grad_of_a_broadcast_is_writeable():
    x = leaf([1.0, 2.0])
    x.sum().backward()
    x.grad._data *= 2
    np.testing.assert_array_equal(x.grad._data, [2.0, 2.0])


def test_no_grad_records_nothing_and_works_as_decorator():
    x = leaf([1.0])
    with dg.no_grad():
        y = x * 2
        assert not dg.is_grad_enabled()
        with dg.enable_grad():
            z = x * 2
    assert dg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @dg.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad


def test_detach_stops_gradient():
    x = leaf([1.0, 2.0])
    y = (x * x.detach()).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad._data, [1.0, 2.0])
    assert x.detach()._data is x._data


def test_long_chain_backward_and_repr_do_not_recurse():
    x = leaf(1.0, "float32")
    h = x
    for _ in range(100_000):
        h = h * 1.0
    assert "grad_fn" in repr(h)
    h.backward()
    assert x.grad.item() == 1.0


def test_dtypes_are_preserved():
    assert dg.tensor([1.0]).dtype == dg.float32
    assert dg.tensor(np.array([1.0])).dtype == dg.float64
    assert dg.tensor([1, 2]).dtype == dg.int64
    x32 = dg.tensor([1.0, 2.0], requires_grad=True)
    x64 = dg.tensor(np.array([3.0, 4.0]), requires_grad=True)
    assert (x32 * 2.0).dtype == dg.float32
    out = (x32 * x64).sum()
    assert out.dtype == dg.float64
    out.backward()
    assert x32.grad.dtype == dg.float32 and x64.grad.dtype == dg.float64
    assert (dg.tensor([1, 2]) * 0.5).dtype == dg.float32
    assert dg.tensor([1, 2]).exp().dtype == dg.float32  # as PyTorch: float32, not float64
    up = x32.double()
    assert up.dtype == dg.float64 and up.requires_grad
    up.sum().backward()
    assert x32.grad.dtype == dg.float32
    assert (dg.tensor([1, 2]) / dg.tensor([2, 2])).dtype == dg.float32


def test_integer_tensors_cannot_require_grad():
    # PyTorch raises RuntimeError; deltagrad's DTypeError is one, and a TypeError.
    with pytest.raises(RuntimeError, match="floating point"):
        dg.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="floating point"):
        dg.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="int64"):
        dg.tensor([1, 2]).requires_grad_()


def test_backward_on_non_scalar_needs_gradient():
    x = leaf([[1.0, 2.0]])
    with pytest.raises(dg.GraphError, match=r"shape deltagrad\.Size\(\[1, 2\]\)"):
        (x * 2).backward()
    (x * 2).backward(dg.ones(1, 2))
    np.testing.assert_array_equal(x.grad._data, [[2.0, 2.0]])
    with pytest.raises(dg.ShapeError, match="gradient has shape"):
        (x * 2).backward(dg.ones(3))


def test_backward_on_tensor_without_grad_explains():
    with pytest.raises(dg.GraphError, match="does not require grad"):
        dg.ones(2).sum().backward()


def test_broadcast_shape_error_names_op_and_shapes():
    with pytest.raises(dg.ShapeError, match=r"add: shapes \(2, 3\), \(4,\) cannot be broadcast"):
        dg.ones(2, 3) + dg.ones(4)
    with pytest.raises(ValueError):  # ShapeError is also a ValueError
        dg.ones(2, 3) * dg.ones(2)


def test_matmul_shape_error():
    with pytest.raises(dg.ShapeError, match=r"matmul: shapes \S*2, 3\S* and \S*4, 5.*3 and 4"):
        dg.ones(2, 3) @ dg.ones(4, 5)


def test_broadcast_gradients_are_reduced_to_parameter_shape():
    w = leaf(np.ones((1, 3)))
    b = leaf(2.0)
    x = dg.tensor(np.arange(6.0).reshape(2, 3))
    ((x * w) + b).sum().backward()
    assert w.grad.shape == (1, 3) and b.grad.shape == ()
    np.testing.assert_array_equal(w.grad._data, [[3.0, 5.0, 7.0]])
    assert b.grad.item() == 6.0


def test_transposed_weight_gradient_shape_convention():
    # s = u^T f(Wx + b): dL/dW = delta x^T has W's shape.
    W = leaf(np.arange(6.0).reshape(2, 3) / 10)
    x = dg.tensor(np.array([1.0, 2.0, 3.0]))
    (W @ x).tanh().sum().backward()
    delta = 1 - np.tanh(W._data @ x._data) ** 2
    np.testing.assert_allclose(W.grad._data, np.outer(delta, x._data))


def test_conventions_at_kinks():
    x = leaf([0.0, 0.0, 0.0, 0.0])
    (dg.relu(x).sum() + dg.abs(x).sum()).backward()
    np.testing.assert_array_equal(x.grad._data, [0, 0, 0, 0])  # relu'(0) = abs'(0) = 0
    a, b = leaf([1.0, 2.0]), leaf([1.0, 3.0])
    dg.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad._data, [0.5, 0.0])  # ties split
    np.testing.assert_array_equal(b.grad._data, [0.5, 1.0])
    m = leaf([3.0, 1.0, 3.0])
    m.max().backward()
    np.testing.assert_array_equal(m.grad._data, [0.5, 0.0, 0.5])  # max() splits ties
    m2 = leaf([[3.0, 1.0, 3.0]])
    values, indices = m2.max(dim=1)
    values.sum().backward()
    np.testing.assert_array_equal(m2.grad._data, [[1.0, 0.0, 0.0]])  # max(dim) routes
    assert indices.tolist() == [0]
    c = leaf([-1.0, 0.5, 1.0, 2.0])
    c.clamp(-1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(c.grad._data, [1.0, 1.0, 1.0, 0.0])  # clamp: bounds pass
    from deltagrad._engine.ops import OPS
    from deltagrad._engine.tensor import apply

    h = leaf([-1.0, 0.5, 1.0, 2.0])
    apply(OPS["hardtanh"], h).sum().backward()
    np.testing.assert_array_equal(h.grad._data, [0.0, 1.0, 0.0, 0.0])  # hardtanh: bounds stop


def test_comparisons_give_boolean_tensors_without_grad():
    x = leaf([1.0, -1.0])
    mask = x > 0
    assert mask.dtype == dg.bool and not mask.requires_grad
    assert mask.tolist() == [True, False]


def test_indexing_scatters_and_duplicates_accumulate():
    x = leaf(np.arange(5.0))
    x[np.array([0, 2, 2, 4])].sum().backward()
    np.testing.assert_array_equal(x.grad._data, [1, 0, 2, 0, 1])
    y = leaf(np.arange(6.0).reshape(2, 3))
    y[y > 2.5].sum().backward()
    np.testing.assert_array_equal(y.grad._data, [[0, 0, 0], [1, 1, 1]])


def test_retain_grad_and_hooks():
    x = leaf([1.0, 2.0])
    h = x * 3
    h.retain_grad()
    seen = []
    x.register_hook(lambda g: seen.append(g._data.copy()))
    handle = h.register_hook(lambda g: g * 2)
    (h * h).sum().backward()
    # As in PyTorch 2: the retained .grad is the gradient after the tensor's hooks ran.
    np.testing.assert_array_equal(h.grad._data, 2 * 2 * h._data)
    np.testing.assert_array_equal(x.grad._data, 2 * 2 * h._data * 3)
    assert len(seen) == 1
    handle.remove()


def test_grad_does_not_touch_dot_grad_and_allow_unused():
    x, unused = leaf([1.0, 2.0]), leaf([5.0])
    (gx,) = dg.grad((x * x).sum(), x)
    np.testing.assert_array_equal(gx._data, [2.0, 4.0])
    assert x.grad is None
    with pytest.raises(dg.GraphError, match="not used"):
        dg.grad((x * 2).sum(), [x, unused])
    gx, gu = dg.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gu is None


def test_hessian_vector_product():
    x = leaf([1.0, 2.0, 3.0])
    f = (x ** 3).sum() + (x[0] * x[1])
    (g,) = dg.grad(f, x, create_graph=True)
    v = dg.tensor(np.array([1.0, 0.0, 1.0]))
    (hv,) = dg.grad((g * v).sum(), x)
    # H = diag(6x) + [[0,1,0],[1,0,0],[0,0,0]]
    np.testing.assert_allclose(hv._data, [6.0, 1.0, 18.0])


def test_gradient_penalty_backward_create_graph():
    w = leaf([0.5, -1.0])
    x = leaf([2.0, 3.0])
    out = (w * x).tanh().sum()
    (gx,) = dg.grad(out, x, create_graph=True)
    penalty = (gx * gx).sum()
    penalty.backward()
    assert w.grad is not None and np.all(np.isfinite(w.grad._data))
    # check against finite differences of the penalty in w
    def penalty_at(wv):
        t = np.tanh(wv * x._data)
        return np.sum((wv * (1 - t * t)) ** 2)
    eps = 1e-6
    numeric = [(penalty_at(w._data + eps * e) - penalty_at(w._data - eps * e)) / (2 * eps)
               for e in np.eye(2)]
    np.testing.assert_allclose(w.grad._data, numeric, rtol=1e-5)


def test_gradcheck_reports_the_failing_entry():
    from deltagrad._engine.ops import OPS, Sample, register

    if "wrong_square_for_test" not in OPS:
        register("wrong_square_for_test", forward=lambda x: x * x,
                 vjp=lambda F, g, out, x: (g * x,),  # should be 2 x g
                 samples=lambda rng: [Sample((rng.standard_normal(3),))])
    from deltagrad._engine.tensor import apply

    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(dg.GradcheckError, match=r"input 0 .* analytic 1 vs numeric 2"):
        dg.gradcheck(lambda t: apply(OPS["wrong_square_for_test"], t), (x,))
    del OPS["wrong_square_for_test"]


def test_against_torch_values_and_gradients():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 3))
    B = rng.standard_normal((3, 5))
    c = rng.standard_normal(5)

    def f(lib, a, b, cc):
        h = (a @ b + cc).tanh()
        h = lib.sigmoid(h) * h.exp() - h.abs().sqrt()
        return (h.logsumexp(1) + h.softmax(1).amax(1) + h.log_softmax(0).mean(0).sum()).sum()

    ours = [dg.tensor(v, requires_grad=True) for v in (A, B, c)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (A, B, c)]
    out_ours, out_theirs = f(dg, *ours), f(torch, *theirs)
    out_ours.backward()
    out_theirs.backward()
    assert out_ours.item() == pytest.approx(out_theirs.item(), rel=1e-10)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad._data, t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_anomaly_mode_names_the_forward_op_and_user_line():
    x = leaf([-1.0, 2.0])
    with pytest.raises(dg.AnomalyError, match=r"forward of op 'log' produced nan") as info:
        with dg.detect_anomaly(strict=True), np.errstate(invalid="ignore"):
            x.log()
    assert "test_engine_backward.py" in str(info.value)
    with np.errstate(invalid="ignore"):
        assert np.isnan(x.log()._data[0])  # off by default: no check


def test_anomaly_mode_catches_backward_inf_at_its_op():
    x = leaf([0.0, 4.0])
    with dg.detect_anomaly(strict=True), np.errstate(divide="ignore"):
        y = (x.sqrt() * 3.0).sum()
        with pytest.raises(dg.AnomalyError, match=r"backward of op 'sqrt' produced inf"):
            y.backward()
    assert not dg.is_anomaly_enabled()


def test_graph_stats_and_leak_warning_for_accumulated_loss():
    import warnings

    w = dg.tensor(np.ones(3), requires_grad=True)
    optimizer = dg.optim.SGD([w], lr=0.0)
    dg.set_leak_check(every=2, patience=2)
    try:
        # Clean loop: no warning.
        with warnings.catch_warnings():
            warnings.simplefilter("error", dg.GraphLeakWarning)
            for _ in range(20):
                optimizer.zero_grad()
                loss = (w * w).sum()
                loss.backward()
                optimizer.step()
        # The classic leak: a running total that keeps every step's graph alive.
        total = 0.0
        with pytest.warns(dg.GraphLeakWarning, match="total_loss"):
            for _ in range(20):
                optimizer.zero_grad()
                loss = (w * w).sum()
                total = total + loss
                loss.backward()
                optimizer.step()
        assert dg.graph_stats().nodes >= 10
    finally:
        dg.set_leak_check()


@pytest.mark.soak
def test_million_op_chain_backward_without_recursion():
    x = dg.tensor(np.float32(0.5), requires_grad=True)
    h = x
    for _ in range(1_000_000):
        h = h + 1.0
    h.backward()
    assert x.grad.item() == 1.0


def test_a_backward_inside_a_functions_backward_keeps_the_outer_sweeps_gradients():
    # A custom Function whose backward recomputes its forward and runs a backward of its own
    # (activation checkpointing does): a weight used inside and outside it must end with the
    # sum of both sweeps' gradients, whatever its outer state when the inner sweep runs.
    w = dg.tensor([[0.5, -1.0], [2.0, 0.25]], dtype=dg.float64, requires_grad=True)

    class Recompute(dg.autograd.Function):
        @staticmethod
        def forward(ctx, h):
            ctx.save_for_backward(h)
            return h @ w.detach()

        @staticmethod
        def backward(ctx, g):
            (h,) = ctx.saved_tensors
            h = h.detach().requires_grad_(True)
            with dg.enable_grad():
                y = h @ w  # the outer graph's weight
            y.backward(g)
            return h.grad

    def loss(nested):
        x = dg.tensor([[1.0, 2.0], [-1.0, 0.5]], dtype=dg.float64)
        h = x @ w
        h2 = Recompute.apply(h) if nested else h @ w
        return ((h2 * 2 + h) @ w).tanh().sum()

    loss(False).backward()
    expected = w.grad.numpy().copy()
    w.grad = None
    loss(True).backward()
    np.testing.assert_allclose(w.grad.numpy(), expected, rtol=1e-12)
