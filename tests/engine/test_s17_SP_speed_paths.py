"""Session 17 SP's per-op speed paths against PyTorch: avg_pool1d as one window-mean node,
pooling calls with list arguments remembered, small 2-d training batch_norm through the fused
node, native_layer_norm from layer_norm's node, huber_loss / smooth_l1_loss as one op. Each
path is compared with PyTorch on values, dtypes, shapes, gradients and double backward, and
where it keeps an older path (other dtypes, larger inputs) that path too."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _pair(array, dtype="float32", grad=False):
    t = torch.tensor(array).to(getattr(torch, dtype))
    d = dg.tensor(array).to(getattr(dg, dtype))
    if grad:
        t.requires_grad_(True)
        d.requires_grad_(True)
    return t, d


def _close(t, d, atol=1e-5, rtol=1e-5):
    assert tuple(t.shape) == tuple(d.shape)
    assert str(t.dtype).split(".")[1] == str(d.dtype).split(".")[1]
    np.testing.assert_allclose(d.detach().float().numpy(), t.detach().float().numpy(),
                               atol=atol, rtol=rtol)


def _first_and_second(t_fn, d_fn, t_in, d_in, seed=0, second=True):
    """Values, first gradients (with a random cotangent) and the gradient of the first
    gradients' squared sum with respect to the cotangent (double backward)."""
    t_out, d_out = t_fn(*t_in), d_fn(*d_in)
    _close(t_out, d_out)
    cot = np.random.default_rng(seed).standard_normal(tuple(t_out.shape))
    t_g = torch.tensor(cot, dtype=t_out.dtype, requires_grad=True)
    d_g = dg.tensor(cot, dtype=d_out.dtype, requires_grad=True)
    t_grads = torch.autograd.grad(t_out, t_in, t_g, create_graph=True)
    d_grads = dg.autograd.grad(d_out, d_in, d_g, create_graph=True)
    for t, d in zip(t_grads, d_grads):
        _close(t, d, atol=1e-4, rtol=1e-4)
    if not second:
        return
    (t_gg,) = torch.autograd.grad(sum((g * g).sum() for g in t_grads), t_g)
    (d_gg,) = dg.autograd.grad(sum((g * g).sum() for g in d_grads), d_g)
    _close(t_gg, d_gg, atol=1e-4, rtol=1e-4)


# ----------------------------------------------------------------------------------------------
# avg_pool1d (one window-mean node) and the pools' remembered calls.

POOL1D = [
    dict(kernel_size=3),
    dict(kernel_size=[3]),
    dict(kernel_size=4, stride=3, padding=2, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=[6], stride=[3], padding=[2], ceil_mode=True, count_include_pad=True),
    dict(kernel_size=(2,), stride=1, padding=1),
]


@pytest.mark.parametrize("kwargs", POOL1D)
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16", "int64"])
def test_avg_pool1d_values_match_torch(kwargs, dtype):
    values = np.random.default_rng(1).standard_normal((2, 3, 11)) * 10
    t, d = _pair(values, dtype)
    for _ in range(2):  # (the second call takes the remembered checks and geometry)
        _close(torch.nn.functional.avg_pool1d(t, **kwargs),
               dg.nn.functional.avg_pool1d(d, **kwargs), atol=1e-2 if dtype == "bfloat16" else 1e-5)


@pytest.mark.parametrize("kwargs", POOL1D)
@pytest.mark.parametrize("batched", [True, False])
def test_avg_pool1d_gradients_match_torch(kwargs, batched):
    shape = (2, 3, 9) if batched else (3, 9)
    t, d = _pair(np.random.default_rng(2).standard_normal(shape), "float64", grad=True)
    _first_and_second(lambda x: torch.nn.functional.avg_pool1d(x, **kwargs),
                      lambda x: dg.nn.functional.avg_pool1d(x, **kwargs), (t,), (d,))


def test_avg_pool1d_remembered_call_is_per_shape_and_argument():
    x = dg.arange(12.0).reshape(1, 1, 12)
    a = dg.nn.functional.avg_pool1d(x, [3])
    b = dg.nn.functional.avg_pool1d(x, [4])  # (another list: another key)
    c = dg.nn.functional.avg_pool1d(x[..., :9], [3])  # (another shape)
    tx = torch.arange(12.0).reshape(1, 1, 12)
    _close(torch.nn.functional.avg_pool1d(tx, [3]), a)
    _close(torch.nn.functional.avg_pool1d(tx, [4]), b)
    _close(torch.nn.functional.avg_pool1d(tx[..., :9], [3]), c)


@pytest.mark.parametrize("bad", [dict(kernel_size=3, padding=2), dict(kernel_size=True),
                                 dict(kernel_size=[3, 3])])
def test_avg_pool1d_errors_still_raised_after_a_good_call(bad):
    t, d = torch.ones(1, 2, 6), dg.ones(1, 2, 6)
    dg.nn.functional.avg_pool1d(d, 3)
    with pytest.raises(Exception) as t_err:
        torch.nn.functional.avg_pool1d(t, **bad)
    with pytest.raises(type(t_err.value)):
        dg.nn.functional.avg_pool1d(d, **bad)


@pytest.mark.parametrize("op", ["max_pool2d", "avg_pool2d"])
def test_pool2d_list_arguments_remembered_correctly(op):
    values = np.random.default_rng(3).standard_normal((1, 2, 7, 8))
    t, d = _pair(values, "float64", grad=True)
    calls = (([3, 3], [2, 2]), ([3, 3], [2, 2]), ([2, 3], [1, 2]), ((2, 3), (1, 2)))
    for kernel, stride in calls:  # (the second: remembered; the fourth: tuples, another key)
        _first_and_second(lambda x, k=kernel, s=stride: getattr(torch.nn.functional, op)(x, k, s),
                          lambda x, k=kernel, s=stride: getattr(dg.nn.functional, op)(x, k, s),
                          (t,), (d,))


# ----------------------------------------------------------------------------------------------
# batch_norm: small 2-d training inputs through the fused node (and larger ones by ops).


@pytest.mark.parametrize("shape", [(3, 1), (4, 5), (2, 512), (40, 30)])
def test_batch_norm_2d_training_matches_torch(shape):
    rng = np.random.default_rng(4)
    channels = shape[1]
    t_x, d_x = _pair(rng.standard_normal(shape) * 3 + 1, "float32", grad=True)
    t_w, d_w = _pair(rng.standard_normal(channels), "float32", grad=True)
    t_b, d_b = _pair(rng.standard_normal(channels), "float32", grad=True)
    t_rm, d_rm = _pair(rng.standard_normal(channels), "float32")
    t_rv, d_rv = _pair(rng.uniform(0.5, 2, channels), "float32")
    t_out = torch.nn.functional.batch_norm(t_x, t_rm, t_rv, t_w, t_b, True, 0.3, 1e-5)
    d_out = dg.nn.functional.batch_norm(d_x, d_rm, d_rv, d_w, d_b, True, 0.3, 1e-5)
    _close(t_out, d_out, atol=1e-4, rtol=1e-4)
    _close(t_rm, d_rm)
    _close(t_rv, d_rv, atol=1e-4, rtol=1e-4)
    cot = rng.standard_normal(shape)
    t_grads = torch.autograd.grad(t_out, (t_x, t_w, t_b), torch.tensor(cot, dtype=torch.float32))
    d_grads = dg.autograd.grad(d_out, (d_x, d_w, d_b), dg.tensor(cot, dtype=dg.float32))
    for t, d in zip(t_grads, d_grads):
        _close(t, d, atol=1e-3, rtol=1e-3)


def test_batch_norm_small_2d_double_backward_matches_torch():
    rng = np.random.default_rng(5)
    t_x, d_x = _pair(rng.standard_normal((4, 3)), "float64", grad=True)
    t_w, d_w = _pair(rng.standard_normal(3), "float64", grad=True)
    _first_and_second(
        lambda x, w: torch.nn.functional.batch_norm(x, None, None, w, None, True),
        lambda x, w: dg.nn.functional.batch_norm(x, None, None, w, None, True),
        (t_x, t_w), (d_x, d_w))


def test_batch_norm_small_2d_one_value_per_channel_still_raises():
    with pytest.raises(ValueError):
        torch.nn.functional.batch_norm(torch.ones(1, 3), None, None, training=True)
    with pytest.raises(ValueError):
        dg.nn.functional.batch_norm(dg.ones(1, 3), None, None, training=True)


# ----------------------------------------------------------------------------------------------
# native_layer_norm: the output from layer_norm's node, the statistics from NumPy.


@pytest.mark.parametrize("shape, normalized", [((1, 2, 3), [1, 2, 3]), ((4, 5), [5]),
                                               ((2, 3, 4), [3, 4]), ((0, 3), [3])])
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_native_layer_norm_matches_torch(shape, normalized, affine):
    rng = np.random.default_rng(6)
    t_x, d_x = _pair(rng.standard_normal(shape), "float64", grad=True)
    t_w, d_w = _pair(rng.standard_normal(normalized), "float64", grad=True)
    t_b, d_b = _pair(rng.standard_normal(normalized), "float64", grad=True)
    w = affine in ("both", "weight")
    b = affine in ("both", "bias")
    t_out = torch.native_layer_norm(t_x, normalized, t_w if w else None, t_b if b else None, 0.5)
    d_out = dg.native_layer_norm(d_x, normalized, d_w if w else None, d_b if b else None, 0.5)
    for t, d in zip(t_out, d_out):
        _close(t, d)
    assert not d_out[1].requires_grad and not d_out[2].requires_grad
    if 0 in shape:
        return
    t_in = (t_x,) + ((t_w,) if w else ()) + ((t_b,) if b else ())
    d_in = (d_x,) + ((d_w,) if w else ()) + ((d_b,) if b else ())

    def call(lib, x, *rest):
        params = list(rest)
        weight = params.pop(0) if w else None
        bias = params.pop(0) if b else None
        return lib.native_layer_norm(x, normalized, weight, bias, 0.5)[0]

    # (PyTorch's double backward of a bias-only native_layer_norm raises: first order there)
    _first_and_second(lambda *a: call(torch, *a), lambda *a: call(dg, *a), t_in, d_in,
                      second=affine != "bias")


def test_native_layer_norm_float16_and_bad_shape():
    values = np.random.default_rng(7).standard_normal((3, 4))
    t, d = _pair(values, "float16")
    for t_part, d_part in zip(torch.native_layer_norm(t, [4], None, None, 1e-5),
                              dg.native_layer_norm(d, [4], None, None, 1e-5)):
        np.testing.assert_allclose(d_part.float().numpy(), t_part.float().numpy(), atol=1e-2)
    with pytest.raises(RuntimeError):
        torch.native_layer_norm(torch.ones(3, 4), [5], None, None, 1e-5)
    with pytest.raises(RuntimeError):
        dg.native_layer_norm(dg.ones(3, 4), [5], None, None, 1e-5)


# ----------------------------------------------------------------------------------------------
# huber_loss / smooth_l1_loss as one op ("huber").


def _loss_inputs(dtype):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((4, 5)) * 2
    y = rng.standard_normal((4, 5))
    x[0, 0], x[0, 1], x[0, 2] = np.inf, -np.inf, np.nan  # outside, outside, inside (nan)
    x[1, 0] = y[1, 0]  # d = 0
    x[1, 1] = y[1, 1] + 0.75  # |d| = delta / beta exactly: outside
    return x, y


@pytest.mark.parametrize("loss", ["huber_loss", "smooth_l1_loss"])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
def test_huber_and_smooth_l1_match_torch_with_inf_nan_and_kinks(loss, reduction, dtype):
    x, y = _loss_inputs(dtype)
    t_x, d_x = _pair(x, dtype, grad=True)
    t_y, d_y = _pair(y, dtype, grad=True)
    extra = {"delta": 0.75} if loss == "huber_loss" else {"beta": 0.75}
    t_out = getattr(torch.nn.functional, loss)(t_x, t_y, reduction=reduction, **extra)
    d_out = getattr(dg.nn.functional, loss)(d_x, d_y, reduction=reduction, **extra)
    tol = 5e-2 if dtype == "bfloat16" else 1e-5
    np.testing.assert_allclose(d_out.detach().float().numpy(), t_out.detach().float().numpy(),
                               atol=tol, rtol=tol)
    assert str(d_out.dtype).split(".")[1] == str(t_out.dtype).split(".")[1]
    cot = torch.ones_like(t_out)
    t_grads = torch.autograd.grad(t_out, (t_x, t_y), cot)
    d_grads = dg.autograd.grad(d_out, (d_x, d_y), dg.ones_like(d_out))
    for t, d in zip(t_grads, d_grads):
        np.testing.assert_allclose(d.float().numpy(), t.float().numpy(), atol=tol, rtol=tol)


@pytest.mark.parametrize("loss, extra", [("huber_loss", {"delta": 0.6}),
                                         ("smooth_l1_loss", {"beta": 1.5}),
                                         ("smooth_l1_loss", {"beta": 0.0})])
def test_huber_and_smooth_l1_double_backward_and_broadcast_match_torch(loss, extra):
    rng = np.random.default_rng(9)
    t_x, d_x = _pair(rng.standard_normal((3, 4)) * 2, "float64", grad=True)
    t_y, d_y = _pair(rng.standard_normal(4), "float64", grad=True)  # (broadcast: warns)
    with pytest.warns(UserWarning):
        _first_and_second(
            lambda x, y: getattr(torch.nn.functional, loss)(x, y, reduction="none", **extra),
            lambda x, y: getattr(dg.nn.functional, loss)(x, y, reduction="none", **extra),
            (t_x, t_y), (d_x, d_y))


def test_huber_weight_and_grad_fn_names_match_torch():
    rng = np.random.default_rng(10)
    t_x, d_x = _pair(rng.standard_normal(6) * 2, "float32", grad=True)
    t_y, d_y = _pair(rng.standard_normal(6), "float32")
    t_w, d_w = _pair(rng.uniform(0, 2, 6), "float32")
    t_out = torch.nn.functional.huber_loss(t_x, t_y, delta=0.8, weight=t_w)
    d_out = dg.nn.functional.huber_loss(d_x, d_y, delta=0.8, weight=d_w)
    _close(t_out, d_out)
    _close(torch.autograd.grad(t_out, t_x)[0], dg.autograd.grad(d_out, d_x)[0])
    # (with a weight PyTorch composes (MeanBackward0); deltagrad names it HuberLossBackward0,
    # as before this path: the unweighted names below)
    h_t = torch.nn.functional.huber_loss(t_x, t_y, delta=0.8)
    h_d = dg.nn.functional.huber_loss(d_x, d_y, delta=0.8)
    assert h_d.grad_fn.name() == h_t.grad_fn.name()
    s_t = torch.nn.functional.smooth_l1_loss(t_x, t_y)
    s_d = dg.nn.functional.smooth_l1_loss(d_x, d_y)
    assert s_d.grad_fn.name() == s_t.grad_fn.name()


# ----------------------------------------------------------------------------------------------
# nll_loss: class weights on the one-check path (no entry ignored), the checks elsewhere.


@pytest.mark.parametrize("shape", [(4, 3), (3,), (2, 3, 2)])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("ignore_index", [-100, 1])
def test_nll_loss_with_class_weights_matches_torch(shape, reduction, ignore_index):
    rng = np.random.default_rng(11)
    classes = shape[0] if len(shape) == 1 else shape[1]
    target_shape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    targets = rng.integers(0, classes, target_shape)
    t_x, d_x = _pair(rng.standard_normal(shape), "float64", grad=True)
    t_w, d_w = _pair(rng.uniform(0.1, 2.0, classes), "float64")
    t_t, d_t = torch.tensor(targets), dg.tensor(targets)
    _first_and_second(
        lambda x: torch.nn.functional.nll_loss(x, t_t, t_w, ignore_index=ignore_index,
                                               reduction=reduction),
        lambda x: dg.nn.functional.nll_loss(x, d_t, d_w, ignore_index=ignore_index,
                                            reduction=reduction),
        (t_x,), (d_x,))


def test_nll_loss_weighted_mean_over_zero_weight_is_nan_as_torch():
    t_x, d_x = _pair(np.log(np.full((2, 3), 1 / 3)), "float32", grad=True)
    t_w, d_w = _pair(np.array([0.0, 1.0, 1.0]), "float32")
    t_t, d_t = torch.tensor([0, 0]), dg.tensor([0, 0])
    t_out = torch.nn.functional.nll_loss(t_x, t_t, t_w)
    d_out = dg.nn.functional.nll_loss(d_x, d_t, d_w)
    assert np.isnan(d_out.item()) and np.isnan(t_out.item())
    t_out.backward()
    d_out.backward()
    np.testing.assert_array_equal(np.isnan(d_x.grad.numpy()), np.isnan(t_x.grad.numpy()))


@pytest.mark.parametrize("weight", [np.ones(4), np.ones(3)])
def test_nll_loss_bad_weights_still_raise_as_torch(weight):
    t_x, d_x = _pair(np.zeros((2, 3)), "float32")
    wrong_dtype = weight.size == 3  # (a float64 weight for float32 input: PyTorch refuses)
    t_w = torch.tensor(weight, dtype=torch.float64 if wrong_dtype else torch.float32)
    d_w = dg.tensor(weight, dtype=dg.float64 if wrong_dtype else dg.float32)
    with pytest.raises(RuntimeError):
        torch.nn.functional.nll_loss(t_x, torch.tensor([0, 1]), t_w)
    with pytest.raises(RuntimeError):
        dg.nn.functional.nll_loss(d_x, dg.tensor([0, 1]), d_w)
