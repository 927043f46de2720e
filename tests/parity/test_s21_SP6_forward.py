"""Session 21 SP6: faster forwards of common ops (issue 18) keep PyTorch's values, layouts,
gradients and node names: stack's one-node path for 3-D / 4-D inputs, gelu's tanh form."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _pair(shape, layout, seed):
    """The same values as a PyTorch and a deltagrad tensor of one layout, requiring grad."""
    values = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    t, d = torch.tensor(values), dg.tensor(values)
    if layout == "channels_last":
        t = t.contiguous(memory_format=torch.channels_last)
        d = d.contiguous(memory_format=dg.channels_last)
    elif layout == "transposed":
        t, d = t.transpose(-1, -2), d.transpose(-1, -2)
    return t.requires_grad_(), d.requires_grad_()


STACK_CASES = [(shape, layout, dim)
               for shape in [(1, 2, 1, 4), (2, 3, 4, 5), (3, 1, 1, 1), (2, 3, 1, 5), (3, 4, 5),
                             (1, 3, 1), (2, 0, 3, 4)]
               for layout in ["contiguous", "channels_last", "transposed"]
               if layout != "channels_last" or len(shape) == 4
               for dim in range(-len(shape) - 1, len(shape) + 1)]


# Strides that differ from PyTorch's already before this session's change (HEAD's tree gives
# the same, checked side by side): PyTorch's stack of channels-last inputs at dims 0 and 1
# (any dim for [1, 2, 1, 4]) and of transposed 3-D inputs at dim 2 keeps their memory order;
# deltagrad's result is row-major there. Values and gradients agree. (shape, layout, dim)
KNOWN_LAYOUT = {((1, 2, 1, 4), "channels_last", d) for d in range(4)} | {
    ((2, 3, 4, 5), "channels_last", 0), ((2, 3, 4, 5), "channels_last", 1),
    ((2, 3, 1, 5), "channels_last", 0), ((2, 3, 1, 5), "channels_last", 1),
    ((3, 4, 5), "transposed", 2), ((1, 3, 1), "transposed", 2)}


@pytest.mark.parametrize("shape,layout,dim", STACK_CASES)
def test_stack_of_3d_4d_inputs_matches_pytorch(shape, layout, dim):
    pairs = [_pair(shape, layout, seed) for seed in range(3)]
    t_out = torch.stack([t for t, _ in pairs], dim)
    d_out = dg.stack([d for _, d in pairs], dim)
    assert tuple(d_out.shape) == tuple(t_out.shape)
    if (shape, layout, dim % (len(shape) + 1)) not in KNOWN_LAYOUT:
        assert d_out.stride() == t_out.stride()  # (the layout: row-major or channels-last)
    np.testing.assert_array_equal(d_out.detach().numpy(), t_out.detach().numpy())
    assert type(d_out.grad_fn).__name__ == type(t_out.grad_fn).__name__
    cot = np.random.default_rng(7).standard_normal(tuple(t_out.shape)).astype(np.float32)
    t_grads = torch.autograd.grad(t_out, [t for t, _ in pairs], torch.tensor(cot))
    d_grads = dg.autograd.grad(d_out, [d for _, d in pairs], dg.tensor(cot))
    for tg, dgr in zip(t_grads, d_grads):
        np.testing.assert_array_equal(dgr.numpy(), tg.numpy())


def test_stack_of_images_is_one_node():
    # (default_collate's stack of [C, H, W] images: one StackBackward0 node, no unsqueezes)
    images = [dg.randn(3, 8, 8, requires_grad=True) for _ in range(4)]
    out = dg.stack(images)
    assert type(out.grad_fn).__name__ == "StackBackward0"
    assert all(fn is not None and type(fn).__name__ == "AccumulateGrad"
               for fn, _ in out.grad_fn.next_functions)


def test_stack_mixed_layouts_match_pytorch():
    # A channels-last first input decides by PyTorch's rule, whatever the others' layouts.
    for first, second in [("channels_last", "contiguous"), ("contiguous", "channels_last")]:
        t1, d1 = _pair((2, 3, 4, 5), first, 0)
        t2, d2 = _pair((2, 3, 4, 5), second, 1)
        for dim in range(2, 5):  # (0 and 1 of a channels-last first one: KNOWN_LAYOUT)
            t_out, d_out = torch.stack([t1, t2], dim), dg.stack([d1, d2], dim)
            assert d_out.stride() == t_out.stride()
            np.testing.assert_array_equal(d_out.detach().numpy(), t_out.detach().numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gelu_tanh_values_and_gradient(dtype):
    values = (np.random.default_rng(0).standard_normal(4000) * 4).astype(dtype)
    t = torch.tensor(values, requires_grad=True)
    d = dg.tensor(values, requires_grad=True)
    t_out = torch.nn.functional.gelu(t, approximate="tanh")
    d_out = dg.nn.functional.gelu(d, approximate="tanh")
    assert d_out.dtype == getattr(dg, dtype)
    # (NumPy's tanh is not PyTorch's: a few ulps; x * x * x as PyTorch's kernel computes it)
    tol = {"float32": 2e-6, "float64": 1e-14}[dtype]
    np.testing.assert_allclose(d_out.detach().numpy(), t_out.detach().numpy(), rtol=tol,
                               atol=tol)
    cot = np.random.default_rng(1).standard_normal(4000).astype(dtype)
    (tg,) = torch.autograd.grad(t_out, t, torch.tensor(cot))
    (dgr,) = dg.autograd.grad(d_out, d, dg.tensor(cot))
    np.testing.assert_allclose(dgr.numpy(), tg.numpy(), rtol=tol * 10, atol=tol * 10)
    with dg.no_grad():
        again = dg.nn.functional.gelu(d, approximate="tanh")
    np.testing.assert_array_equal(again.numpy(), d_out.detach().numpy())


# index_select's fast path (a 1-d int64 / int32 index tensor in range) and the general one
# beside it: values, layout, gradient, node name and PyTorch's error types.
INDEX_SELECT_CASES = [((5, 5), -1, [0, 3, 1, 4, 2], "int64"), ((10, 4), 0, [0, 3, 9, 3], "int32"),
                      ((2, 3, 4), 1, [2, 2, 0], "int64"), ((2, 3, 4), -1, [], "int64"),
                      ((6,), 0, [5, 0], "int64"), ((), 0, [0], "int64"), ((4, 3), 1, 2, "int64")]


@pytest.mark.parametrize("shape,dim,positions,dtype", INDEX_SELECT_CASES)
def test_index_select_matches_pytorch(shape, dim, positions, dtype):
    values = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    t, d = torch.tensor(values, requires_grad=True), dg.tensor(values, requires_grad=True)
    index = np.array(positions, dtype=dtype)
    t_out = torch.index_select(t, dim, torch.tensor(index))
    d_out = dg.index_select(d, dim, dg.tensor(index))
    assert tuple(d_out.shape) == tuple(t_out.shape)
    if 1 not in t_out.shape:  # (a size-1 dim's stride differs, before this session too:
        # [4, 3] at [2] along 1 is (1, 4) here, PyTorch's (1, 1); contiguous in both)
        assert d_out.stride() == t_out.stride()
    np.testing.assert_array_equal(d_out.detach().numpy(), t_out.detach().numpy())
    assert type(d_out.grad_fn).__name__ == type(t_out.grad_fn).__name__
    cot = np.random.default_rng(4).standard_normal(tuple(t_out.shape)).astype(np.float32)
    (tg,) = torch.autograd.grad(t_out, t, torch.tensor(cot))
    (dgr,) = dg.autograd.grad(d_out, d, dg.tensor(cot))
    np.testing.assert_array_equal(dgr.numpy(), tg.numpy())


@pytest.mark.parametrize("shape,dim,positions", [((5, 5), 1, [0, 5]), ((5, 5), 0, [7]),
                                                 ((5, 5), -1, [-1]), ((5,), 0, [1, -2])])
def test_index_select_out_of_range_errors_match_pytorch(shape, dim, positions):
    with pytest.raises(Exception) as t_error:
        torch.index_select(torch.zeros(shape), dim, torch.tensor(positions))
    with pytest.raises(Exception) as d_error:
        dg.index_select(dg.zeros(shape), dim, dg.tensor(positions))
    assert isinstance(d_error.value, type(t_error.value))


def test_index_select_refuses_when_the_callers_index_changes():
    # (s22 BR3: the node keeps the caller's index, as PyTorch's saved tensor: changed in
    # place before backward, PyTorch's RuntimeError on both paths, fast and general)
    for index in ([0, 2], 2):  # (a 0-d index takes the general path)
        x = dg.randn(4, 3, requires_grad=True)
        i = dg.tensor(index)
        out = dg.index_select(x, 0, i)
        i.fill_(3)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()
        t = torch.randn(4, 3, requires_grad=True)
        j = torch.tensor(index)
        out = torch.index_select(t, 0, j)
        j.fill_(3)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()


# sort / topk gather their own indices through the op: values, indices and gradients.
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "int64"])
@pytest.mark.parametrize("call", ["sort", "sort_desc", "topk", "topk_small"])
def test_sort_and_topk_match_pytorch(dtype, call):
    values = np.random.default_rng(5).permutation(60).reshape(3, 4, 5).astype(np.float64)
    t = torch.tensor(values).to(getattr(torch, dtype))
    d = dg.tensor(values).to(getattr(dg, dtype))
    grad = dtype != "int64"
    if grad:
        t.requires_grad_(), d.requires_grad_()
    run = {"sort": lambda m, x: m.sort(x, 1), "sort_desc": lambda m, x: m.sort(x, -1, True),
           "topk": lambda m, x: m.topk(x, 3), "topk_small": lambda m, x: m.topk(x, 2, 0, False)}
    t_values, t_indices = run[call](torch, t)
    d_values, d_indices = run[call](dg, d)
    assert str(d_values.dtype).split(".")[-1] == str(t_values.dtype).split(".")[-1]
    np.testing.assert_array_equal(d_values.detach().float().numpy(),
                                  t_values.detach().float().numpy())
    np.testing.assert_array_equal(d_indices.numpy(), t_indices.numpy())
    if grad:
        assert type(d_values.grad_fn).__name__ == type(t_values.grad_fn).__name__
        (tg,) = torch.autograd.grad(t_values.sum(), t)
        (dgr,) = dg.autograd.grad(d_values.sum(), d)
        np.testing.assert_array_equal(dgr.float().numpy(), tg.float().numpy())


# Python numbers lifted against float32 / float64 tensors (the lift's fast path) and beside it.
NUMBER_CASES = [0.6, 2, -3, 1e-3, 65504.0, 65505.0, 1e30, float("nan"), float("inf"), True,
                np.float64(0.25)]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "bool"])
@pytest.mark.parametrize("number", NUMBER_CASES, ids=repr)
def test_number_operands_match_pytorch(dtype, number):
    values = np.array([[0.5, -1.5, 3.0], [2.0, 0.0, -4.0]])
    t, d = torch.tensor(values).to(getattr(torch, dtype)), dg.tensor(values).to(getattr(dg, dtype))
    for name, op in [("mul", lambda x: x * number), ("rmul", lambda x: number * x),
                     ("add", lambda x: x + number), ("rsub", lambda x: number - x),
                     ("div", lambda x: x / number)]:
        try:
            t_out = op(t)
        except Exception as error:  # noqa: BLE001 - the same refusal then
            with pytest.raises(type(error)):
                op(d)
            continue
        d_out = op(d)
        assert str(d_out.dtype).split(".")[-1] == str(t_out.dtype).split(".")[-1], name
        np.testing.assert_array_equal(d_out.numpy(), t_out.numpy(), err_msg=name)


# x ** 3, x ** -2 and x ** 0.5 as PyTorch's kernel computes them: NumPy's pow was an ulp off
# in 26-31% of elements for 3 and -2, and gave +0.0 for (-0.0) ** 0.5.
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("exponent", [3, 3.0, -2, -2.0, 0.5, 2, -1, -0.5])
def test_pow_by_number_is_bit_identical_to_pytorch(dtype, exponent):
    values = (np.random.default_rng(6).standard_normal(20000) * 3).astype(dtype)
    if exponent in (0.5, -0.5):
        values = np.abs(values)
    values[:5] = [0.0, -0.0, np.inf, -np.inf, np.nan]
    t = torch.tensor(values, requires_grad=True)
    d = dg.tensor(values, requires_grad=True)
    t_out, d_out = t ** exponent, d ** exponent
    with np.errstate(all="ignore"):
        t_values, d_values = t_out.detach().numpy(), d_out.detach().numpy()
        if exponent == 0.5:  # (PyTorch's float32 sqrt is not NumPy's, correctly rounded one)
            t_values = np.sqrt(values)
    assert d_values.dtype == t_values.dtype
    np.testing.assert_array_equal(d_values, t_values)
    assert np.array_equal(np.signbit(d_values), np.signbit(t_values))
    cot = np.random.default_rng(8).standard_normal(20000).astype(dtype)
    (tg,) = torch.autograd.grad(t_out, t, torch.tensor(cot))
    (dgr,) = dg.autograd.grad(d_out, d, dg.tensor(cot))
    finite = np.isfinite(tg.numpy())
    np.testing.assert_allclose(dgr.numpy()[finite], tg.numpy()[finite], rtol=1e-5)
