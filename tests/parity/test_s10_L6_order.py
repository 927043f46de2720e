"""The backward sweep visits nodes in PyTorch's order (the ready node made last first): hook
orders and gradients summed at fan-outs (bit for bit) against torch on branched graphs."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402


def _arr(seed, *shape, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _leaf(m, a):
    return m.tensor(a, requires_grad=True)


def _np(t):
    return None if t is None else t.detach().numpy()


def _same(run, exact=False):
    """Run ``run(m, order)`` with torch and deltagrad; the orders must be equal and the
    returned gradients close (``exact``: identical bit for bit, for graphs of ops that round
    exactly in both libraries, so that only the order of summation could differ)."""
    got = {}
    for m in (torch, dg):
        order = []
        grads = run(m, order)
        got[m] = (order, [_np(g) for g in grads])
    (t_order, t_grads), (d_order, d_grads) = got[torch], got[dg]
    assert d_order == t_order
    assert len(d_grads) == len(t_grads)
    for d, t in zip(d_grads, t_grads):
        assert d is not None and t is not None
        assert d.dtype == t.dtype and d.shape == t.shape
        if exact:
            assert np.array_equal(d, t), np.abs(d - t).max()
        else:
            np.testing.assert_allclose(d, t, rtol=2e-5, atol=1e-5)
    return t_order


def _rnn(m, order, packed=True):
    m.manual_seed(0)
    ih, hh = m.nn.Linear(2, 3), m.nn.Linear(3, 3)
    ih.register_full_backward_hook(lambda mod, gi, go: order.append(("ih", go[0].shape[0])))
    hh.register_full_backward_hook(lambda mod, gi, go: order.append(("hh", go[0].shape[0])))
    data = m.tensor(_arr(1, 6, 2))
    sizes = [3, 2, 1] if packed else [2, 2, 2]
    xs = list(m.split(data, sizes))[::-1]  # a reversed direction: batch 1, 2, 3
    h0 = m.zeros(3, 3)
    h = h0[:xs[0].shape[0]]
    outs = []
    for x in xs:
        n = x.shape[0]
        if n > h.shape[0]:
            h = m.cat((h, h0[h.shape[0]:n]), 0)
        h = m.tanh(ih(x) + hh(h))
        outs.append(h)
    m.cat(outs[::-1]).sum().backward()
    return [ih.weight.grad, ih.bias.grad, hh.weight.grad, hh.bias.grad]


def test_packed_reverse_rnn_module_hooks():
    order = _same(_rnn)
    assert order == [("hh", 3), ("ih", 3), ("hh", 2), ("ih", 2), ("hh", 1), ("ih", 1)]


def test_unrolled_rnn_module_hooks():
    _same(lambda m, order: _rnn(m, order, packed=False))


def _named(order, name):
    return lambda g: order.append(name)


def test_residual_blocks_tensor_hooks():
    def run(m, order):
        x = _leaf(m, _arr(2, 4, 5))
        ws = [_leaf(m, _arr(10 + i, 5, 5) * 0.5) for i in range(3)]
        h = x
        for i, w in enumerate(ws):
            a = m.relu(h @ w)
            a.register_hook(_named(order, f"branch{i}"))
            b = m.tanh(h)
            b.register_hook(_named(order, f"tanh{i}"))
            h = h + a * b
            h.register_hook(_named(order, f"sum{i}"))
        (h * h).sum().backward()
        return [x.grad] + [w.grad for w in ws]

    _same(run)


def test_shared_weights_fan_out_sum_order():
    # One weight and one input feed five branches: their gradients arrive in the visiting
    # order and are summed in it (float32 rounding shows a different order).
    def run(m, order):
        x = _leaf(m, _arr(3, 6, 4) * 1e3)
        w = _leaf(m, _arr(4, 4, 4))
        outs = []
        for i in range(5):
            y = m.sin(x * (i + 1.5)) @ w if i % 2 else m.exp(x * 1e-3 * (i + 1)) @ w
            y.register_hook(_named(order, f"y{i}"))
            outs.append(y * (10.0 ** (i - 2)))
        total = outs[0]
        for i in (3, 1, 4, 2):
            total = total + outs[i]
        total.sum().backward()
        return [x.grad, w.grad]

    _same(run)


def test_leaf_hooks_run_when_ready():
    # A leaf's tensor hooks and post-accumulate hooks run as soon as its gradient is complete
    # (AccumulateGrad first), between the graph's other hooks.
    def run(m, order):
        x = _leaf(m, _arr(5, 3, 3))
        w1 = _leaf(m, _arr(6, 3, 3))
        w2 = _leaf(m, _arr(7, 3, 3))
        for name, t in (("x", x), ("w1", w1), ("w2", w2)):
            t.register_hook(_named(order, name))
            t.register_post_accumulate_grad_hook(lambda t, name=name: order.append("post " + name))
        a = x @ w1
        a.register_hook(_named(order, "a"))
        b = m.tanh(a) @ w2
        b.register_hook(_named(order, "b"))
        c = b * x
        c.register_hook(_named(order, "c"))
        c.sum().backward()
        return [x.grad, w1.grad, w2.grad]

    _same(run)


def test_leaf_hook_without_post_accumulate_hooks():
    def run(m, order):
        x = _leaf(m, _arr(8, 4))
        w = _leaf(m, _arr(9, 4))
        w.register_hook(_named(order, "w"))
        y = m.exp(x * w)
        y.register_hook(_named(order, "y"))
        z = m.sin(y) + m.cos(w)
        z.register_hook(_named(order, "z"))
        z.sum().backward()
        return [x.grad, w.grad]

    _same(run)


def _two_heads(m, order):
    x = _leaf(m, _arr(11, 5, 3))
    w = _leaf(m, _arr(12, 3, 3))
    h = m.tanh(x @ w)
    h.register_hook(_named(order, "h"))
    p = m.sigmoid(h @ w)
    p.register_hook(_named(order, "p"))
    q = m.exp(h * 0.5)
    q.register_hook(_named(order, "q"))
    r = (h + 1.0) ** 2
    r.register_hook(_named(order, "r"))
    return x, w, [p.sum(), q.mean(), r.sum()]


def test_multiple_outputs_backward():
    def run(m, order):
        x, w, outs = _two_heads(m, order)
        m.autograd.backward(outs)
        return [x.grad, w.grad]

    _same(run)


def test_multiple_outputs_grad_create_graph():
    # The watched sweep (grad(), create_graph) visits in the same order.
    def run(m, order):
        x, w, outs = _two_heads(m, order)
        gx, gw = m.autograd.grad(outs[0] + outs[2] + outs[1], (x, w), create_graph=True)
        order.append("second")
        (gx.sum() + gw.sum()).backward()
        return [gx, gw, x.grad, w.grad]

    _same(run)


def test_anomaly_mode_same_order():
    def run(m, order):
        with m.autograd.detect_anomaly():
            x = _leaf(m, _arr(13, 6, 4) * 1e3)
            w = _leaf(m, _arr(14, 4, 4))
            ys = []
            for i in range(4):
                y = m.sin(x * (i + 0.5)) @ w
                y.register_hook(_named(order, f"y{i}"))
                ys.append(y)
            (ys[2] + ys[0] + ys[3] + ys[1]).sum().backward()
        return [x.grad, w.grad]

    _same(run)


@pytest.mark.parametrize("leaf", [True, False])
def test_fan_out_sum_bit_exact(leaf):
    # Products and sums only (rounded exactly alike in both libraries): the gradients of x
    # and h, five contributions of very different sizes, equal bit for bit only if they are
    # added in the same order.
    def run(m, order):
        x = _leaf(m, _arr(15, 64) * 100)
        h = x if leaf else x * 1.0
        scales = [1e4, 0.37, -1e4, 3.3e-3, 7.1]
        zs = []
        for i, c in enumerate(scales):
            z = (h * c) * (x + float(i))
            z.register_hook(_named(order, f"z{i}"))
            zs.append(z)
        total = zs[3] + zs[0] + zs[4] + zs[1] + zs[2]
        total.sum().backward()
        return [x.grad]

    _same(run, exact=True)
