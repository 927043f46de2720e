"""deltagrad.nn normalization layers against PyTorch: LayerNorm, RMSNorm, GroupNorm, BatchNorm1d."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad.nn import functional as F

torch = pytest.importorskip("torch")


def load_from_torch(ours, theirs):
    """Copy torch's weights and buffers into ours (and insist on the same names)."""
    state = theirs.state_dict()
    assert list(ours.state_dict()) == list(state)
    ours.load_state_dict({k: dg.tensor(v.detach().numpy()) for k, v in state.items()})


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def compare(ours, theirs, x, rtol=1e-7, atol=1e-9, seed=0):
    """Forward both on x; backward a random weighting; compare outputs and all gradients."""
    xd = dg.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out, ref = ours(xd), theirs(xt)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=rtol, atol=atol)
    weights = np.random.default_rng(seed).standard_normal(ref.shape)
    (out * dg.tensor(weights)).sum().backward()
    (ref * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=rtol, atol=atol)
    named = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), named[name].grad.numpy(), rtol=rtol,
                                   atol=atol, err_msg=name)


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("shape, normalized", [((4, 6), 6), ((2, 3, 5), (3, 5)), ((7,), 7)])
@pytest.mark.parametrize("affine, bias", [(True, True), (True, False), (False, True)])
def test_layer_norm_matches_torch(shape, normalized, affine, bias):
    ours = nn.LayerNorm(normalized, eps=1e-4, elementwise_affine=affine, bias=bias,
                        dtype=np.float64)
    theirs = torch.nn.LayerNorm(normalized, eps=1e-4, elementwise_affine=affine, bias=bias,
                                dtype=torch.float64)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.randn(p.shape, dtype=torch.float64))
    load_from_torch(ours, theirs)
    compare(ours, theirs, randn(*shape))
    assert repr(ours) == repr(theirs)


def test_layer_norm_float32_and_errors():
    ours, theirs = nn.LayerNorm(8), torch.nn.LayerNorm(8)
    compare(ours, theirs, randn(3, 8).astype(np.float32), rtol=1e-4, atol=1e-5)
    assert ours(dg.randn(2, 8)).dtype == dg.float32
    with pytest.raises(RuntimeError, match=r"normalized_shape=\[8\].*size\[2, 7\]"):
        ours(dg.randn(2, 7))


def test_layer_norm_gradcheck_and_double_backward():
    x = dg.tensor(randn(3, 4), requires_grad=True)
    w = dg.tensor(randn(4, seed=1), requires_grad=True)
    b = dg.tensor(randn(4, seed=2), requires_grad=True)
    assert dg.gradcheck(lambda x, w, b: F.layer_norm(x, (4,), w, b), (x, w, b))
    assert dg.gradcheck(lambda x: F.layer_norm(x, (3, 4)), (x,))
    assert dg.gradgradcheck(lambda x, w: F.layer_norm(x, (4,), w, None), (x, w))


def test_layer_norm_is_one_node():
    x = dg.randn(2, 5, requires_grad=True)
    out = F.layer_norm(x, (5,), dg.ones(5, requires_grad=True), dg.zeros(5, requires_grad=True))
    assert out.grad_fn.name == "layer_norm"  # one primitive op


@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rms_norm_matches_torch(eps):
    ours = nn.RMSNorm((3, 4), eps=eps, dtype=np.float64)
    theirs = torch.nn.RMSNorm((3, 4), eps=eps, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.randn(3, 4, dtype=torch.float64))
    load_from_torch(ours, theirs)
    compare(ours, theirs, randn(2, 3, 4))
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("shape", [(4, 6), (3, 6, 5), (2, 6, 2, 3)])
def test_group_norm_matches_torch(shape):
    ours = nn.GroupNorm(3, 6, dtype=np.float64)
    theirs = torch.nn.GroupNorm(3, 6, dtype=torch.float64)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.randn(p.shape, dtype=torch.float64))
    load_from_torch(ours, theirs)
    compare(ours, theirs, randn(*shape))
    assert repr(ours) == repr(theirs)
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(4, 6)


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5)])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_train_eval_and_running_stats_match_torch(shape, momentum):
    ours = nn.BatchNorm1d(3, momentum=momentum, dtype=np.float64)
    theirs = torch.nn.BatchNorm1d(3, momentum=momentum, dtype=torch.float64)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.randn(p.shape, dtype=torch.float64))
    load_from_torch(ours, theirs)
    for step in range(3):
        compare(ours, theirs, randn(*shape, seed=step) * 2 + 1, seed=step)
    for name, buffer in theirs.named_buffers():
        np.testing.assert_allclose(getattr(ours, name).numpy(), buffer.numpy(), rtol=1e-12)
    assert ours.num_batches_tracked.dtype == dg.int64 and ours.num_batches_tracked.item() == 3
    ours.eval()
    theirs.eval()
    compare(ours, theirs, randn(*shape, seed=9))
    assert repr(ours) == repr(theirs)


def test_batch_norm_without_running_stats_and_errors():
    ours = nn.BatchNorm1d(4, affine=False, track_running_stats=False, dtype=np.float64)
    theirs = torch.nn.BatchNorm1d(4, affine=False, track_running_stats=False,
                                  dtype=torch.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    ours.eval()
    theirs.eval()
    compare(ours, theirs, randn(5, 4))  # evaluation still uses the batch statistics
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(4)(dg.randn(1, 4))
    with pytest.raises(ValueError, match="2D or 3D"):
        nn.BatchNorm1d(4)(dg.randn(4))


def test_functional_batch_norm_matches_torch():
    x = randn(6, 3, 2)
    rm, rv = randn(3, seed=1), np.abs(randn(3, seed=2)) + 0.5
    w, b = randn(3, seed=3), randn(3, seed=4)
    for training in (True, False):
        ours_rm, ours_rv = dg.tensor(rm.copy()), dg.tensor(rv.copy())
        theirs_rm, theirs_rv = torch.tensor(rm.copy()), torch.tensor(rv.copy())
        out = F.batch_norm(dg.tensor(x), ours_rm, ours_rv, dg.tensor(w), dg.tensor(b),
                           training=training, momentum=0.3, eps=1e-3)
        ref = torch.nn.functional.batch_norm(torch.tensor(x), theirs_rm, theirs_rv,
                                             torch.tensor(w), torch.tensor(b),
                                             training=training, momentum=0.3, eps=1e-3)
        np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-10)
        np.testing.assert_allclose(ours_rm.numpy(), theirs_rm.numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours_rv.numpy(), theirs_rv.numpy(), rtol=1e-12)


def test_functional_group_and_rms_norm_match_torch():
    x = randn(2, 4, 3)
    w, b = randn(4, seed=1), randn(4, seed=2)
    out = F.group_norm(dg.tensor(x), 2, dg.tensor(w), dg.tensor(b), eps=1e-3)
    ref = torch.nn.functional.group_norm(torch.tensor(x), 2, torch.tensor(w), torch.tensor(b),
                                         eps=1e-3)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-10)
    out = F.rms_norm(dg.tensor(x), (3,), dg.tensor(w[:3]))
    ref = torch.nn.functional.rms_norm(torch.tensor(x), (3,), torch.tensor(w[:3]))
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-10)
