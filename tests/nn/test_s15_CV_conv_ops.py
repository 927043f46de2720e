"""The convolutions as engine ops (s15 CV): values, gradients and second derivatives against
PyTorch over dims, groups, strides, padding strings, dilation, bias None, output_padding, empty
batches, unbatched and channels-last inputs; PyTorch's exception classes for bad shapes, also
after the same call passed once (the checked-geometry cache); FlopCounterMode's counts; and
adaptive max pooling's tap table against the general construction."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.nn import _pool_kernels
from deltagrad.utils.flop_counter import FlopCounterMode

torch = pytest.importorskip("torch")

# name, x shape, weight shape, bias, keyword arguments
CASES = [
    ("conv1d", (2, 4, 9), (6, 2, 3), True, dict(stride=2, padding=1, dilation=2, groups=2)),
    ("conv1d", (4, 9), (6, 4, 3), False, dict(padding="same")),
    ("conv1d", (0, 2, 5), (3, 2, 2), True, {}),
    ("conv2d", (2, 4, 7, 6), (6, 2, 3, 2), True,
     dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)),
    ("conv2d", (3, 7, 6), (5, 3, 3, 3), True, dict(padding="same")),
    ("conv2d", (2, 3, 5, 5), (4, 3, 1, 1), False, dict(padding="valid")),
    ("conv2d", (0, 3, 5, 5), (4, 3, 2, 2), True, {}),
    ("conv2d", (2, 2, 4, 4), (3, 2, 4, 4), True, {}),  # one window covering the input
    ("conv3d", (2, 2, 4, 5, 4), (3, 2, 2, 3, 2), True, dict(stride=(1, 2, 1), padding=1)),
    ("conv_transpose1d", (2, 4, 5), (4, 3, 3), True, dict(stride=2, padding=1,
                                                          output_padding=1)),
    ("conv_transpose2d", (2, 4, 4, 3), (4, 3, 3, 2), True,
     dict(stride=2, padding=(1, 0), output_padding=(1, 0), groups=2, dilation=(1, 2))),
    ("conv_transpose2d", (4, 4, 3), (4, 2, 3, 3), False, {}),
    ("conv_transpose3d", (1, 2, 3, 3, 2), (2, 2, 2, 2, 2), True, dict(stride=2)),
]


def _inputs(rng, x_shape, w_shape, bias, name, kwargs):
    channels = w_shape[1] * kwargs.get("groups", 1) if "transpose" in name else w_shape[0]
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    if bias:
        arrays.append(rng.standard_normal(channels))
    return arrays


def _both(arrays, dtype):
    ours = [dg.tensor(a, dtype=getattr(dg, dtype), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in arrays]
    return ours, theirs


def _call(library, name, tensors, kwargs):
    function = getattr(library.nn.functional, name)
    return function(tensors[0], tensors[1], tensors[2] if len(tensors) > 2 else None, **kwargs)


def _close(ours, theirs, tol):
    expected = theirs.detach().double().numpy()
    np.testing.assert_allclose(ours.detach().double().numpy(), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_values_grads_and_gradgrads_against_torch(case):
    name, x_shape, w_shape, bias, kwargs = CASES[case]
    rng = np.random.default_rng(case)
    arrays = _inputs(rng, x_shape, w_shape, bias, name, kwargs)
    for _ in range(2):  # (the second call takes the checked-geometry cache)
        ours, theirs = _both(arrays, "float64")
        y, y_t = _call(dg, name, ours, kwargs), _call(torch, name, theirs, kwargs)
        assert tuple(y.shape) == tuple(y_t.shape) and y.dtype == dg.float64
        _close(y, y_t, 1e-10)
        cotangent = rng.standard_normal(tuple(y_t.shape))
        g, g_t = (dg.tensor(cotangent, requires_grad=True),
                  torch.tensor(cotangent, requires_grad=True))
        grads = dg.autograd.grad(y, ours, g, create_graph=True)
        grads_t = torch.autograd.grad(y_t, theirs, g_t, create_graph=True)
        for ours_grad, their_grad in zip(grads, grads_t):
            _close(ours_grad, their_grad, 1e-10)
        # second order: the gradients' squared norm, differentiated by every input and g
        total = sum((q * q).sum() for q in grads)
        total_t = sum((q * q).sum() for q in grads_t)
        second = dg.autograd.grad(total, ours + [g], allow_unused=True)
        second_t = torch.autograd.grad(total_t, theirs + [g_t], allow_unused=True)
        for ours_grad, their_grad in zip(second, second_t):
            if their_grad is None:
                assert ours_grad is None or not ours_grad.abs().sum().item()
            else:
                _close(ours_grad, their_grad, 1e-9)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("case", [0, 3, 8, 10])
def test_low_precision_values_and_grads(dtype, case):
    name, x_shape, w_shape, bias, kwargs = CASES[case]
    rng = np.random.default_rng(100 + case)
    arrays = _inputs(rng, x_shape, w_shape, bias, name, kwargs)
    ours, theirs = _both(arrays, dtype)
    y, y_t = _call(dg, name, ours, kwargs), _call(torch, name, theirs, kwargs)
    assert str(y.dtype).split(".")[1] == str(y_t.dtype).split(".")[1]
    tol = {"float32": 1e-4, "float16": 2e-2, "bfloat16": 1e-1}[dtype]
    _close(y, y_t, tol)
    grads = dg.autograd.grad(y.sum(), ours)
    grads_t = torch.autograd.grad(y_t.sum(), theirs)
    for ours_grad, their_grad in zip(grads, grads_t):
        assert str(ours_grad.dtype).split(".")[1] == str(their_grad.dtype).split(".")[1]
        _close(ours_grad, their_grad, tol * 10)


def test_gradgradcheck_of_each_op():
    rng = np.random.default_rng(7)
    for name, x_shape, w_shape, bias, kwargs in (CASES[0], CASES[3], CASES[9], CASES[10]):
        arrays = _inputs(rng, x_shape, w_shape, bias, name, kwargs)
        ours = [dg.tensor(a, requires_grad=True) for a in arrays]

        def function(*tensors, name=name, kwargs=kwargs):
            return _call(dg, name, tensors, kwargs)

        assert dg.autograd.gradcheck(function, ours)
        assert dg.autograd.gradgradcheck(function, ours)


def test_channels_last_layout_and_values():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    ours = dg.tensor(x).contiguous(memory_format=dg.channels_last).requires_grad_()
    theirs = torch.tensor(x).contiguous(memory_format=torch.channels_last).requires_grad_()
    for _ in range(2):
        y = dg.nn.functional.conv2d(ours, dg.tensor(w), padding=1)
        y_t = torch.nn.functional.conv2d(theirs, torch.tensor(w), padding=1)
        assert y.stride() == y_t.stride()
        _close(y, y_t, 1e-4)
    # the same shapes, row-major: the cache keys on the layout, so the output is row-major
    y = dg.nn.functional.conv2d(dg.tensor(x), dg.tensor(w), padding=1)
    assert y.is_contiguous()


ERRORS = [
    ("conv2d", (2, 5, 6, 6), (4, 3, 3, 3), {}),  # channels
    ("conv2d", (2, 3, 2, 2), (4, 3, 3, 3), {}),  # kernel larger than the input
    ("conv2d", (2, 3, 6, 6), (4, 3, 3, 3), dict(stride=2, padding="same")),
    ("conv2d", (2, 3, 6, 6), (4, 3, 3, 3), dict(groups=2)),
    ("conv1d", (2, 5, 6), (4, 3, 3), {}),
    ("conv_transpose2d", (2, 5, 4, 4), (4, 3, 3, 3), {}),
    ("conv_transpose2d", (2, 4, 4, 4), (4, 3, 3, 3), dict(stride=2, output_padding=2)),
    ("conv3d", (2, 3, 6, 6), (4, 3, 3, 3, 3), {}),  # rank
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_are_torchs_classes_also_after_a_good_call(case):
    name, x_shape, w_shape, kwargs = ERRORS[case]
    rng = np.random.default_rng(case)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    channels = w_shape[0] if "transpose" in name else w_shape[1]
    good_x = rng.standard_normal((1, channels) + (5,) * (len(w_shape) - 2))
    good = {k: v for k, v in kwargs.items() if k not in ("output_padding", "groups")}
    if good.get("padding") == "same":
        good.pop("stride")
    function = getattr(dg.nn.functional, name)
    if kwargs.get("groups", 1) == 1:  # a call that passes (and fills the cache) first
        function(dg.tensor(good_x), dg.tensor(w), **good)
    with pytest.raises(Exception) as theirs:
        getattr(torch.nn.functional, name)(torch.tensor(x), torch.tensor(w), **kwargs)
    for _ in range(2):
        with pytest.raises(Exception) as ours:
            function(dg.tensor(x), dg.tensor(w), **kwargs)
        assert isinstance(ours.value, type(theirs.value)), (ours.value, theirs.value)


def test_bool_and_list_arguments_take_the_checks():
    x, w = dg.randn(1, 2, 5, 5), dg.randn(3, 2, 3, 3)
    dg.nn.functional.conv2d(x, w, stride=1)
    with pytest.raises(TypeError):
        torch.nn.functional.conv2d(torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3),
                                   stride=True)
    with pytest.raises(TypeError):
        dg.nn.functional.conv2d(x, w, stride=True)
    y = dg.nn.functional.conv2d(x, w, stride=[2, 1])
    assert tuple(y.shape) == (1, 3, 2, 3)


def test_in_place_change_of_a_saved_input_raises():
    x = dg.randn(1, 2, 5, 5, requires_grad=True)
    w = dg.randn(3, 2, 3, 3, requires_grad=True)
    h = x * 1
    y = dg.nn.functional.conv2d(h, w)
    h.add_(1)  # the weight's gradient reads h
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_flop_counter_counts_the_conv_ops_as_torch():
    rng = np.random.default_rng(5)
    from torch.utils.flop_counter import FlopCounterMode as TorchCounter

    for name, x_shape, w_shape, bias, kwargs in (CASES[0], CASES[3], CASES[8], CASES[10]):
        arrays = _inputs(rng, x_shape, w_shape, bias, name, kwargs)
        ours, theirs = _both(arrays, "float32")
        with FlopCounterMode(display=False) as counter:
            _call(dg, name, ours, kwargs).sum().backward()
        with TorchCounter(display=False) as counter_t:
            _call(torch, name, theirs, kwargs).sum().backward()
        assert counter.get_total_flops() == counter_t.get_total_flops() > 0
        names = {str(k): v for k, v in counter_t.get_flop_counts()["Global"].items()}
        assert counter.get_flop_counts()["Global"] == names


def test_adaptive_max_taps_match_the_general_construction():
    rng = np.random.default_rng(11)
    for trial in range(40):
        spatial = 1 + trial % 3
        size = tuple(int(v) for v in rng.integers(1, 7, spatial))
        out = tuple(int(v) for v in rng.integers(1, 8, spatial))
        xs = rng.standard_normal((2, 3) + size).astype(np.float32)
        if trial % 3 == 0:
            xs = np.round(xs)  # ties: the first maximum
        if trial % 5 == 0:
            xs.flat[rng.integers(0, xs.size, 3)] = np.nan
        if trial % 7 == 0:
            xs[:] = -np.inf
        fast = _pool_kernels._adaptive_max_positions(xs, out=out)
        general = _pool_kernels._adaptive_max_general(xs, out=out)
        np.testing.assert_array_equal(fast[0], general[0])
        np.testing.assert_array_equal(fast[1], general[1])
        assert fast[0].dtype == general[0].dtype and fast[1].dtype == general[1].dtype


def test_adaptive_max_pool2d_against_torch():
    x = np.random.default_rng(2).standard_normal((2, 3, 5, 7))
    ours = dg.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    y, i = dg.nn.functional.adaptive_max_pool2d(ours, (3, 4), return_indices=True)
    y_t, i_t = torch.nn.functional.adaptive_max_pool2d(theirs, (3, 4), return_indices=True)
    np.testing.assert_array_equal(y.detach().numpy(), y_t.detach().numpy())
    np.testing.assert_array_equal(i.numpy(), i_t.numpy())
    (g,), (g_t,) = dg.autograd.grad(y.sum(), [ours]), torch.autograd.grad(y_t.sum(), [theirs])
    np.testing.assert_array_equal(g.numpy(), g_t.numpy())
