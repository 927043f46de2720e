"""Conv1d and the 1-d pools against PyTorch: outputs, input and parameter gradients."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad._engine.ops.nn import Scratch
from deltagrad._engine.tensor import apply
from deltagrad.nn import functional as F
from deltagrad.nn.conv import _CONV1D

torch = pytest.importorskip("torch")
TF = torch.nn.functional


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def run_both(fn_ours, fn_theirs, arrays, rtol=1e-10, atol=1e-12):
    ours = [dg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = fn_ours(*ours), fn_theirs(*theirs)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=rtol, atol=atol)
    w = randn(*ref.shape, seed=9)
    (out * dg.tensor(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("kwargs", [
    {}, {"stride": 2}, {"padding": 2}, {"dilation": 2, "padding": 1}, {"groups": 2},
    {"stride": 3, "padding": 1, "dilation": 2, "groups": 2}, {"padding": "same"},
    {"padding": "same", "dilation": 2}, {"padding": "valid"},
])
def test_conv1d_matches_torch(kwargs):
    groups = kwargs.get("groups", 1)
    weight = randn(6, 4 // groups, 3, seed=1)
    run_both(lambda x, w, b: F.conv1d(x, w, b, **kwargs),
             lambda x, w, b: TF.conv1d(x, w, b, **kwargs),
             [randn(2, 4, 11), weight, randn(6, seed=2)])


@pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")
def test_conv1d_even_kernel_same_padding_unbatched_and_no_bias():
    run_both(lambda x, w: F.conv1d(x, w, padding="same"),
             lambda x, w: TF.conv1d(x, w, padding="same"),
             [randn(3, 7), randn(2, 3, 4, seed=1)])


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv1d_module_matches_torch(padding_mode):
    kwargs = dict(in_channels=4, out_channels=6, kernel_size=3, padding=2, groups=2,
                  padding_mode=padding_mode)
    ours = nn.Conv1d(dtype=np.float64, **kwargs)
    theirs = torch.nn.Conv1d(dtype=torch.float64, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: dg.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})
    x = randn(2, 4, 9)
    xo, xt = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = ours(xo), theirs(xt)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-10)
    (out * out).sum().backward()
    (ref * ref).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.bias.grad.numpy(), theirs.bias.grad.numpy(), rtol=1e-10)
    assert repr(ours) == repr(theirs)


def test_conv1d_gradcheck():
    x = dg.tensor(randn(2, 4, 6), requires_grad=True)
    w = dg.tensor(randn(2, 2, 3, seed=1), requires_grad=True)
    b = dg.tensor(randn(2, seed=2), requires_grad=True)
    assert dg.gradcheck(lambda x, w, b: apply(
        _CONV1D, x, w, b, stride=2, left=2, right=1, dilation=2, groups=2, slot=Scratch()),
        (x, w, b))


def test_conv1d_init_repr_and_errors():
    conv = nn.Conv1d(3, 5, 4, generator=dg.Generator(0))
    bound = 1 / np.sqrt(3 * 4)
    assert np.abs(conv.weight.detach().numpy()).max() <= bound
    assert repr(conv) == "Conv1d(3, 5, kernel_size=(4,), stride=(1,))"
    assert repr(nn.Conv1d(3, 5, 3, padding="same", bias=False)) == repr(
        torch.nn.Conv1d(3, 5, 3, padding="same", bias=False))
    with pytest.raises(RuntimeError, match="expected input\\[2, 5, 6\\] to have 3 channels"):
        conv(dg.randn(2, 5, 6))
    with pytest.raises(RuntimeError, match="Kernel size can't be greater"):
        conv(dg.randn(2, 3, 2))
    with pytest.raises(ValueError, match="not supported for strided"):
        nn.Conv1d(3, 5, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv1d(3, 4, 3, groups=2)


# ----------------------------------------------------------------------------------------------
# Pools.


@pytest.mark.parametrize("kwargs", [
    {"kernel_size": 2}, {"kernel_size": 3, "stride": 1, "padding": 1},
    {"kernel_size": 3, "stride": 2, "dilation": 2}, {"kernel_size": 2, "ceil_mode": True},
    {"kernel_size": 4, "stride": 3, "padding": 2, "ceil_mode": True},
])
def test_max_pool1d_matches_torch(kwargs):
    run_both(lambda x: F.max_pool1d(x, **kwargs), lambda x: TF.max_pool1d(x, **kwargs),
             [randn(2, 3, 9)])
    out, idx = F.max_pool1d(dg.tensor(randn(2, 3, 9)), return_indices=True, **kwargs)
    ref, ref_idx = TF.max_pool1d(torch.tensor(randn(2, 3, 9)), return_indices=True, **kwargs)
    np.testing.assert_array_equal(idx.numpy(), ref_idx.numpy())
    assert idx.dtype == dg.int64


@pytest.mark.parametrize("kwargs", [
    {"kernel_size": 2}, {"kernel_size": 3, "stride": 1, "padding": 1},
    {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
    {"kernel_size": 2, "ceil_mode": True},
    {"kernel_size": 4, "stride": 3, "padding": 2, "ceil_mode": True},
    {"kernel_size": 4, "stride": 3, "padding": 2, "ceil_mode": True, "count_include_pad": False},
])
def test_avg_pool1d_matches_torch(kwargs):
    run_both(lambda x: F.avg_pool1d(x, **kwargs), lambda x: TF.avg_pool1d(x, **kwargs),
             [randn(2, 3, 9)])


@pytest.mark.parametrize("size", [1, 3, 4, 7])
def test_adaptive_pools_match_torch(size):
    run_both(lambda x: F.adaptive_avg_pool1d(x, size), lambda x: TF.adaptive_avg_pool1d(x, size),
             [randn(2, 3, 7)])
    run_both(lambda x: F.adaptive_max_pool1d(x, size), lambda x: TF.adaptive_max_pool1d(x, size),
             [randn(2, 3, 7)])
    _, idx = F.adaptive_max_pool1d(dg.tensor(randn(3, 7)), size, return_indices=True)
    _, ref = TF.adaptive_max_pool1d(torch.tensor(randn(3, 7)), size, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), ref.numpy())


def test_pool_modules_reprs_and_errors():
    pairs = [(nn.MaxPool1d(3, 1, 1), torch.nn.MaxPool1d(3, 1, 1)),
             (nn.AvgPool1d(2), torch.nn.AvgPool1d(2)),
             (nn.AdaptiveAvgPool1d(3), torch.nn.AdaptiveAvgPool1d(3)),
             (nn.AdaptiveMaxPool1d(3), torch.nn.AdaptiveMaxPool1d(3))]
    x = randn(2, 3, 8)
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        np.testing.assert_allclose(ours(dg.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy())
    with pytest.raises(RuntimeError, match="at most half of kernel size"):
        F.max_pool1d(dg.randn(1, 1, 5), 3, padding=2)
