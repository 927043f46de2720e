"""Fixes found by PR3's research-style programs (session 20), each against PyTorch."""

import signal

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _forward_ad(lib, name, x, t):
    """The primal and tangent of a max-pooling followed by a nonlinearity, by forward AD."""
    F = lib.nn.functional
    fw = lib.autograd.forward_ad
    nonlinear = {"softplus": F.softplus, "gelu": F.gelu, "exp": lib.exp,
                 "sigmoid": lib.sigmoid, "square": lambda v: v * v}
    pools = {"max_pool2d": lambda v: F.max_pool2d(v, 2),
             "max_pool1d": lambda v: F.max_pool1d(v.flatten(2), 3),
             "adaptive_max_pool2d": lambda v: F.adaptive_max_pool2d(v, (2, 3)),
             "max_pool_indices": lambda v: F.max_pool2d(v, 2, return_indices=True)[0]}
    pool, activation = name.split("+")
    with fw.dual_level():
        out = nonlinear[activation](pools[pool](fw.make_dual(lib.tensor(x), lib.tensor(t))))
        primal, tangent = fw.unpack_dual(out)
    return primal.detach().numpy(), tangent.detach().numpy()


class _TookTooLong(Exception):
    pass


def _alarm(signum, frame):
    raise _TookTooLong


@pytest.mark.parametrize("name", ["max_pool2d+softplus", "max_pool2d+gelu", "max_pool1d+exp",
                                  "adaptive_max_pool2d+sigmoid", "max_pool_indices+square"])
def test_forward_ad_through_max_pool_then_a_nonlinearity(name):
    # The max-pooling's VJP applies a Function (_Put) that has a jvp; inside unpack_dual's own
    # sweep it asked for its inputs' tangents, whose sweep applied it again: max_pool2d then
    # softplus never returned (memory grew without bound). Now as PyTorch's, and quick.
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((2, 2, 6, 6)), rng.standard_normal((2, 2, 6, 6))
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(60)
    try:
        ours = _forward_ad(dg, name, x, t)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    theirs = _forward_ad(torch, name, x, t)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def _recurrent_forward_ad(lib, mode, extra, x, t, weights_tangent):
    lib.manual_seed(0)
    layer = getattr(lib.nn, mode)(3, 4, **extra).double()
    fw = lib.autograd.forward_ad
    with fw.dual_level():
        inputs = fw.make_dual(lib.tensor(x), lib.tensor(t))
        if weights_tangent:  # a tangent in parameter space through functional_call
            params = {name: fw.make_dual(p.detach(), lib.ones_like(p) * 0.1)
                      for name, p in layer.named_parameters()}
            out = lib.func.functional_call(layer, params, (inputs,))[0]
        else:
            out = layer(inputs)[0]
        primal, tangent = fw.unpack_dual(lib.nn.functional.softplus(out))
    return primal.detach().numpy(), tangent.detach().numpy()


@pytest.mark.parametrize("mode, extra, weights_tangent", [
    ("LSTM", {}, False), ("GRU", {"bidirectional": True}, False),
    ("RNN", {"num_layers": 2, "nonlinearity": "relu"}, False), ("LSTM", {"proj_size": 2}, False),
    ("LSTM", {"batch_first": True}, True)])
def test_forward_ad_through_recurrent_layers(mode, extra, weights_tangent):
    # nn.LSTM / GRU / RNN under forward AD raised NotImplementedError ('_RecurrentLayer' has no
    # forward-mode rule) where PyTorch gives the tangent: the fused layer's create_graph
    # backward (a replay in engine ops) now serves the double VJP.
    rng = np.random.default_rng(1)
    x, t = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 5, 3))
    ours = _recurrent_forward_ad(dg, mode, extra, x, t, weights_tangent)
    theirs = _recurrent_forward_ad(torch, mode, extra, x, t, weights_tangent)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
