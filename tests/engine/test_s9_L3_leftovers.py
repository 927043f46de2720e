"""Session-9 engine leftovers (helper L3), each checked against PyTorch: writes through views
taken outside the graph, ``numpy()`` under no_grad, ``Function.forward``'s inputs, float32
cumulative rounding and the layout of pointwise results on expanded inputs."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _run(program, m):
    try:
        return program(m)
    except Exception as error:  # the type is compared: RuntimeError in both, say
        return RuntimeError if isinstance(error, RuntimeError) else type(error)


def _both(program):
    """Run ``program(m)`` with deltagrad and with torch; returns (deltagrad's, torch's)."""
    return _run(program, dg), _run(program, torch)


def _same(ours, theirs):
    if isinstance(ours, (list, tuple)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same(a, b)
        return
    if ours is None:
        assert theirs is None
        return
    if isinstance(ours, dg.Tensor):
        a, b = ours.detach().numpy(), theirs.detach().numpy()
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
        return
    assert ours == theirs


# ---------------------------------------------------------------------------------------------
# 1. A value that requires grad written through a view taken outside the graph.

def _write(view, how):
    def program(m):
        w = m.arange(1.0, 7.0, requires_grad=True)
        buf = m.zeros(2, 3)
        v = view(buf)
        how(v, w)
        loss = (buf * w.reshape(2, 3)).sum() + (v * v).sum()
        loss.backward()
        return [buf, v, w.grad, buf.requires_grad, v.requires_grad]
    return program


_VIEWS = {
    "view": lambda b: b.view(6),
    "reshape": lambda b: b.reshape(3, 2),
    "ellipsis": lambda b: b[...],
    "full slice": lambda b: b[:],
    "t": lambda b: b.t(),
    "permute": lambda b: b.permute(1, 0),
    "row": lambda b: b[1],
    "column": lambda b: b[:, 1],
    "diagonal": lambda b: b.diagonal(),
    "chain": lambda b: b.view(6)[1:5].view(2, 2).t(),
    "unsqueeze expand": lambda b: b.unsqueeze(0).expand(1, 2, 3),
}


def _fit(v, w):
    return (w[: v.numel()] * 2).reshape(v.shape)


_WRITES = {
    "setitem": lambda v, w: v.__setitem__(slice(None), _fit(v, w)),
    "copy_": lambda v, w: v.copy_(_fit(v, w)),
    "add_": lambda v, w: v.add_(_fit(v, w)),
    "mul_ then add_": lambda v, w: v.add_(_fit(v, w)).mul_(_fit(v, w)),
    "fill_": lambda v, w: v.fill_(w[2]),
    "twice": lambda v, w: (v.copy_(_fit(v, w)), v.add_(_fit(v, w) ** 2)),
    "iadd": lambda v, w: v.__iadd__(_fit(v, w)),
}


@pytest.mark.parametrize("view", list(_VIEWS))
@pytest.mark.parametrize("how", list(_WRITES))
def test_write_through_outside_view(view, how):
    _same(*_both(_write(_VIEWS[view], _WRITES[how])))


def test_write_through_reported_case():
    def program(m):
        w = m.ones(3, requires_grad=True)
        buf = m.zeros(3)
        buf.view(3)[:] = w * 2
        (buf * w).sum().backward()
        return w.grad
    _same(*_both(program))


def test_write_through_intermediate_and_base_later():
    def program(m):
        w = m.arange(1.0, 5.0, requires_grad=True)
        buf = m.zeros(4)
        mid = buf.view(2, 2)
        inner = mid[0]
        inner.mul_(3).add_(w[:2])
        mid[1].copy_(w[2:] * w[:2])
        buf.add_(1)
        ((mid ** 2).sum() + (buf * w).sum() + inner.sum()).backward()
        return [buf, mid, inner, w.grad]
    _same(*_both(program))


def test_write_through_earlier_consumers_of_views_get_no_gradient():
    def program(m):
        w = m.arange(1.0, 5.0, requires_grad=True)
        buf = m.ones(4)
        mid = buf.view(2, 2)
        inner = mid[0]
        early = (mid.reshape(4) * w).sum() + (inner * w[:2]).sum()
        inner.copy_(w[2:] * 3)
        mid[1].mul_(w[:2])
        (early + (buf * w).sum()).backward()
        return [buf, early, w.grad]
    _same(*_both(program))


def test_write_through_graph_value_of_base_before():
    # The old value of the base is read by a node made before the write: it must see it.
    def program(m):
        w = m.arange(1.0, 4.0, requires_grad=True)
        buf = m.ones(3)
        before = buf * w
        buf.view(3).mul_(w)
        (before.sum() + (buf * buf).sum()).backward()
        return [before, buf, w.grad]
    _same(*_both(program))


def test_write_through_view_of_leaf_requiring_grad_refuses():
    w = dg.ones(3, requires_grad=True)
    with dg.no_grad():
        v = w.view(3)
    with pytest.raises(RuntimeError, match="no_grad mode"):
        v.mul_(2)
    with pytest.raises(RuntimeError, match="no_grad mode"):
        v[0] = w[1] * 2


def test_sibling_view_written_after_base_joined_graph():
    def program(m, write):
        w = m.arange(1.0, 4.0, requires_grad=True)
        buf = m.zeros(3)
        a, b = buf.view(3), buf[1:]
        a.copy_(w * 2)
        write(b)  # b: a view of buf, which is in the graph now
        (buf * w).sum().backward()
        return [buf, w.grad, b.requires_grad]

    def fill(b):
        b[0] = 5.0

    def scale(b, m):
        if m is dg:
            b.mul_(3)
        else:  # (torch's b.mul_(3) raises "a leaf Variable ...": it records b[:] = b * 3)
            b[:] = b * 3

    _same(*_both(lambda m: program(m, fill)))
    _same(*_both(lambda m: program(m, lambda b: scale(b, m))))


# ---------------------------------------------------------------------------------------------
# 2. numpy() of a tensor that requires grad: refused only while grad mode is on.

def test_numpy_of_requires_grad_tensor_follows_grad_mode():
    def program(m):
        t = m.ones(2, requires_grad=True)
        out = []
        with m.no_grad():
            out += [t.numpy().tolist(), np.asarray(t).tolist(), (t * 2).numpy().tolist()]
            with m.enable_grad():
                out.append(_run(lambda m: t.numpy(), m))
        with m.inference_mode():
            out.append(t.numpy().tolist())
        out.append(_run(lambda m: t.numpy(), m))
        out.append(_run(lambda m: np.asarray(t), m))
        return out
    _same(*_both(program))


# ---------------------------------------------------------------------------------------------
# 3. Function.forward gets the caller's tensors (grad mode off unless enable_grad).

def _grad_inside_forward(m):
    class Inner(m.autograd.Function):
        @staticmethod
        def forward(ctx, x, p):
            seen = (x.requires_grad, p.requires_grad, m.is_grad_enabled())
            with m.enable_grad():
                y = (x * p).sum()
                g, = m.autograd.grad(y, p)
            ctx.save_for_backward(g)
            ctx.seen = seen
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            g, = ctx.saved_tensors
            return grad * 2, grad * g

    x = m.arange(1.0, 4.0, requires_grad=True)
    p = m.ones(3, requires_grad=True)
    out = Inner.apply(x, p)
    out.sum().backward()
    return [out, x.grad, p.grad, out.grad_fn is not None]


def test_function_forward_gets_the_callers_tensors():
    _same(*_both(_grad_inside_forward))


def test_function_forward_input_identity_and_saved_inputs():
    def program(m):
        seen = []

        class Keep(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                seen.append(x)
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, grad):
                x, = ctx.saved_tensors
                return 2 * x * grad

        x = m.tensor([1.5, -2.0], requires_grad=True)
        Keep.apply(x).sum().backward()
        return [seen[0] is x, x.grad]
    _same(*_both(program))


# ---------------------------------------------------------------------------------------------
# 4. Scans round as PyTorch's CPU kernels (float32 accumulated in double, float16 in float32).

@pytest.mark.parametrize("name", ["cumsum", "cumprod", "logcumsumexp"])
@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.complex64])
def test_scans_are_bit_identical(name, dtype):
    if dtype is np.complex64 and name == "logcumsumexp":
        pytest.skip("complex logcumsumexp: another rule")
    rng = np.random.default_rng(7)
    for shape in [(3, 8), (5, 17), (2, 3, 40), (700,), (4, 1)]:
        a = rng.standard_normal(shape)
        if dtype is np.complex64:
            a = a + 1j * rng.standard_normal(shape)
        a = (a * 0.3 + 1 if name == "cumprod" else a).astype(dtype)
        for dim in range(-len(shape), 0):
            ours = getattr(dg, name)(dg.tensor(a), dim).numpy()
            theirs = getattr(torch, name)(torch.tensor(a), dim).numpy()
            assert ours.dtype == theirs.dtype
            np.testing.assert_array_equal(ours, theirs)
    torch.manual_seed(0)
    x = torch.randn(3, 8)
    assert dg.tensor(x.numpy()).cumsum(-1).tolist() == x.cumsum(-1).tolist()  # (the report)


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_scan_gradients_are_bit_identical(name):
    rng = np.random.default_rng(3)
    for shape, dim in [((5, 17), 1), ((2, 3, 40), 2), ((300,), 0)]:
        a = rng.standard_normal(shape).astype(np.float32)
        if name == "cumprod":
            a = (np.sign(a) * (0.5 + np.abs(a) * 0.1)).astype(np.float32)  # (no zeros)
        g = rng.standard_normal(shape).astype(np.float32)
        grads = []
        for m in (dg, torch):
            x = m.tensor(a, requires_grad=True)
            getattr(m, name)(x, dim).backward(m.tensor(g))
            grads.append(x.grad.numpy())
        if name == "cumsum":
            np.testing.assert_array_equal(*grads)
        else:  # (PyTorch's rule for cumprod is not this one: equal to within an ulp or two)
            np.testing.assert_allclose(*grads, rtol=3e-7, atol=0)


# ---------------------------------------------------------------------------------------------
# 5. Elementwise results of expanded inputs are laid out as PyTorch's (row-major where the
#    inputs do not tell), also where an input's dtype is converted.

_LAYOUTS = {
    "int * float": lambda m: m.arange(4).expand(2, 4) * 2.5,
    "int * 2": lambda m: m.arange(4).expand(2, 4) * 2,
    "bool * 2": lambda m: (m.arange(4) > 1).expand(2, 4) * 2,
    "exp int": lambda m: m.arange(4).expand(2, 4).exp(),
    "sqrt int col": lambda m: m.arange(2).reshape(2, 1).expand(2, 4).sqrt(),
    "complex": lambda m: m.arange(4.0).expand(2, 4) * 1j,
    "3d int * float": lambda m: m.arange(6).reshape(2, 1, 3).expand(2, 4, 3) * 0.5,
    "3d col": lambda m: m.arange(6.0).reshape(2, 3, 1).expand(2, 3, 4) * 2,
    "expand * transposed": lambda m: m.arange(3.0).reshape(3, 1).expand(3, 4) * m.ones(4, 3).t(),
    "int expand + float t": lambda m: m.arange(3).reshape(3, 1).expand(3, 4) + m.ones(4, 3).t(),
    "empty_like": lambda m: m.empty_like(m.arange(2.0).reshape(2, 1).expand(2, 4)),
    "zeros_like": lambda m: m.zeros_like(m.arange(4).expand(2, 4)),
    "float()": lambda m: m.arange(2).reshape(2, 1).expand(2, 4).float(),
}


@pytest.mark.parametrize("case", list(_LAYOUTS))
def test_layout_of_results_from_expanded_inputs(case):
    ours, theirs = _LAYOUTS[case](dg), _LAYOUTS[case](torch)
    assert ours.stride() == theirs.stride()
    assert ours.is_contiguous() == theirs.is_contiguous()
    if case != "empty_like":
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    if theirs.is_contiguous():
        assert ours.view(-1).shape == theirs.view(-1).shape


# ---------------------------------------------------------------------------------------------
# 6. Names accelerate reaches for.

def _write_index(index, folder):
    with open(f"{folder}/{index}", "w") as f:
        f.write(str(index * 10))


def _fail_at_one(index):
    if index == 1:
        raise ValueError("boom in one")


def test_multiprocessing_start_processes(tmp_path):
    import deltagrad.multiprocessing as mp

    assert mp.start_processes(_write_index, args=(str(tmp_path),), nprocs=2,
                              start_method="fork") is None
    assert sorted(p.read_text() for p in tmp_path.iterdir()) == ["0", "10"]
    context = mp.spawn(_write_index, args=(str(tmp_path),), nprocs=1, join=False,
                       start_method="fork")
    assert len(context.pids()) == 1
    while not context.join():
        pass
    with pytest.raises(mp.ProcessRaisedException, match="ValueError: boom in one") as caught:
        mp.start_processes(_fail_at_one, nprocs=2, start_method="fork")
    assert caught.value.error_index == 1
    assert issubclass(mp.ProcessRaisedException, Exception)
    assert hasattr(torch.multiprocessing, "ProcessExitedException")


def test_future_switches_and_nested_refuse_clearly():
    import deltagrad.__future__ as future
    import deltagrad.nested as nested

    for name in ("overwrite", "swap"):
        getter = getattr(future, f"get_{name}_module_params_on_conversion")
        setter = getattr(future, f"set_{name}_module_params_on_conversion")
        assert getter() is False and getter() == getattr(
            torch.__future__, f"get_{name}_module_params_on_conversion")()
        setter(False)
        with pytest.raises(NotImplementedError, match="not supported in deltagrad"):
            setter(True)
        assert getter() is False
    assert sorted(nested.__all__) == sorted(torch.nested.__all__)
    with pytest.raises(NotImplementedError, match="torch.nested.nested_tensor"):
        nested.nested_tensor([dg.ones(2), dg.ones(3)])


def test_distributed_checkpoint_one_process(tmp_path):
    import deltagrad.distributed.checkpoint as dcp

    dg.manual_seed(0)
    model = dg.nn.Linear(3, 2)
    state = {"model": model, "step": 7, "extra": {"scale": dg.tensor([1.5, 2.5])}}
    dcp.save(state, checkpoint_id=tmp_path / "ckpt")
    saved_weight = model.weight.detach().clone()
    with dg.no_grad():
        model.weight.zero_()
    target = {"model": model, "step": 0, "extra": {"scale": dg.zeros(2)}}
    dcp.load(target, checkpoint_id=tmp_path / "ckpt")
    assert dg.equal(model.weight, saved_weight) and target["step"] == 7
    assert target["extra"]["scale"].tolist() == [1.5, 2.5]
    dcp.load_state_dict(target, dcp.FileSystemReader(tmp_path / "ckpt"))
    with pytest.raises(dcp.CheckpointException, match="shape"):
        dcp.load({"extra": {"scale": dg.zeros(3)}}, checkpoint_id=tmp_path / "ckpt")
    with pytest.raises(NotImplementedError, match="planners"):
        dcp.save(state, checkpoint_id=tmp_path / "x", planner=object())


def test_view_taken_before_its_base_joined_the_graph_carries_gradient():
    # PyTorch differentiates through such a view (w.grad [4, 8, 12]); deltagrad raised until
    # the base took its views into the graph with it (s19 VB: api/view_joins.py).
    w = dg.arange(1.0, 4.0, requires_grad=True)
    buf = dg.zeros(3)
    a, b = buf.view(3), buf.view(3)
    a.copy_(w * 2)
    assert b.requires_grad
    (b * w).sum().backward(retain_graph=True)  # (the views below read buf's graph again)
    assert w.grad.tolist() == [4.0, 8.0, 12.0]
    again = buf.view(3)  # (taken after the write: in the graph)
    w.grad = None
    (again * w).sum().backward()
    assert w.grad.tolist() == [4.0, 8.0, 12.0]
    with dg.no_grad():
        late = buf.view(3)  # (after the write, outside the graph: a constant, as PyTorch's)
    w.grad = None
    (late * w).sum().backward()
    assert w.grad.tolist() == [2.0, 4.0, 6.0]
