"""Version counters, in-place rules on leaves and views, and which graphs a second backward may
run, differentially against PyTorch (s15 VS).

Each case is a small program written once against a library namespace and run on PyTorch and
on deltagrad; it returns what it observed (``_version`` values, gradients, the class of the
exception a step raised), which must be equal. ``KNOWN`` lists the cases that still differ, each
with why; such a case fails when it stops differing.
"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402


def _value(x):
    """A tensor's values to 5 significant digits (float32 exp / sigmoid differ in the last
    bits between the libraries)."""
    if isinstance(x, (torch.Tensor, dg.Tensor)):
        values = np.asarray(x.detach().tolist(), dtype=float)
        return np.vectorize(lambda v: float(f"{v:.5g}"))(values).tolist()
    return x


def _step(obs, fn):
    """Run ``fn``; note its value, or the class of what it raised."""
    try:
        obs.append(_value(fn()))
    except Exception as exc:  # noqa: BLE001 - the class is the observation
        obs.append(type(exc).__name__ if not isinstance(exc, RuntimeError) else "RuntimeError")


# ----------------------------------------------------------------------------- version counters

def versions_of_inplace_ops(L):
    x = L.zeros(4)
    seen = [x._version]
    for op in (lambda: x.add_(1), lambda: x.mul_(2), lambda: x.zero_(), lambda: x.fill_(3),
               lambda: x.clamp_(0, 2), lambda: x.__setitem__(0, 5.0),
               lambda: x.__setitem__(slice(1, 3), L.ones(2)), lambda: x.copy_(L.ones(4)),
               lambda: x.masked_fill_(x > 0, 2.0), lambda: x.index_add_(0, L.tensor([0]),
                                                                          L.ones(1)),
               lambda: x.scatter_(0, L.tensor([1]), L.zeros(1)), lambda: x.sub_(x),
               lambda: x.exp_(), lambda: x.neg_(), lambda: x.abs_(), lambda: x.div_(2)):
        op()
        seen.append(x._version)
    x += 1
    seen.append(x._version)
    x *= x
    seen.append(x._version)
    return seen


def versions_of_out_and_copies(L):
    x, y = L.ones(3), L.empty(3)
    seen = [y._version]
    L.add(x, x, out=y)
    seen.append(y._version)
    L.mul(x, 2, out=y)
    seen.append(y._version)
    z = L.empty(0)
    L.add(x, x, out=z)  # (resized)
    seen.append(z._version)
    z.add_(1)
    L.cat([x, x], out=z)  # resized again: the counter goes on
    seen.append(z._version)
    y.copy_(x)
    seen.append(y._version)
    w = L.empty(0)
    L.arange(5, out=w)
    seen.append(w._version)
    L.zeros(7, out=w)
    L.exp(L.ones(2), out=w)
    seen += [w._version, _value(w)]
    return seen


def versions_after_set_(L):
    y, source = L.ones(3), L.zeros(5)
    y.add_(1)
    y.set_(source)
    seen = [y._version, source._version, _value(y)]
    y.add_(1)
    return seen + [y._version, source._version, _value(source)]


def versions_shared_by_views_and_detach(L):
    x = L.zeros(2, 3)
    v, d, r = x[0], x.detach(), x.view(6)
    seen = []
    for t in (v, d, r, x.t()):
        t.add_(1)
        seen.append((x._version, v._version, d._version, r._version))
    c = x.clone()
    c.add_(1)
    seen.append((x._version, c._version))
    return seen


def versions_of_data(L):
    x = L.zeros(3, requires_grad=True)
    seen = [x._version]
    x.data.add_(1)  # .data: its own counter
    seen.append(x._version)
    x.data = L.ones(3)
    seen.append(x._version)
    with L.no_grad():
        x.mul_(2)
    seen.append(x._version)
    d = x.detach()
    d.add_(1)  # detach(): the same counter
    seen += [x._version, _value(x)]
    return seen


def versions_of_optimizer_step(L):
    w = L.nn.Parameter(L.ones(3))
    opt = L.optim.SGD([w], lr=0.1, momentum=0.9)
    seen = []
    for _ in range(2):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
        seen.append(_value(w))
    return seen


# ----------------------------------------------------------------------------- in-place rules

def inplace_on_leaves(L):
    obs = []
    leaf = L.ones(3, requires_grad=True)
    _step(obs, lambda: leaf.add_(1))                 # a leaf that requires grad
    _step(obs, lambda: leaf[0].mul_(2))              # a view of it
    _step(obs, lambda: leaf.view(3).zero_())
    _step(obs, lambda: leaf.detach().add_(1))        # detached: allowed, same storage
    obs.append(_value(leaf))

    def under_no_grad():
        with L.no_grad():
            leaf.mul_(2)
            leaf[1] = 7.0
        return leaf
    _step(obs, under_no_grad)
    obs.append(leaf._version)
    _step(obs, lambda: L.ones(2).add_(1))            # no grad anywhere: fine
    return obs


def no_grad_change_then_backward(L):
    obs = []
    for make in (lambda w: (w * w).sum(), lambda w: (w * 2).sum(), lambda w: w.exp().sum(),
                 lambda w: (w + 1).sum(), lambda w: w.sigmoid().sum(),
                 lambda w: (w ** 3).sum(), lambda w: w.tanh().mean()):
        w = L.tensor([0.5, -1.0, 2.0], requires_grad=True)
        y = make(w)
        with L.no_grad():
            w.add_(1)
        _step(obs, lambda y=y: y.backward())
        obs.append(None if w.grad is None else _value(w.grad))
    return obs


def output_changed_then_backward(L):
    obs = []
    for name in ("exp", "tanh", "sigmoid", "sqrt", "relu", "neg", "sin", "abs", "log",
                 "reciprocal", "rsqrt", "expm1", "erf"):
        w = L.tensor([0.5, 1.5, 2.0], requires_grad=True)
        y = getattr(w.clone(), name)()
        y.mul_(2)
        _step(obs, lambda y=y, w=w: L.autograd.grad(y.sum(), w)[0])
    for p in (2, 0.5, 3):
        w = L.tensor([0.5, 1.5, 2.0], requires_grad=True)
        y = w.clone() ** p
        y.add_(1)
        _step(obs, lambda y=y, w=w: L.autograd.grad(y.sum(), w)[0])
    w = L.tensor([[0.5, 1.5], [2.0, 0.1]], requires_grad=True)
    y = L.softmax(w.clone(), 1)
    y.add_(1)
    _step(obs, lambda: L.autograd.grad(y.sum(), w)[0])
    return obs


def views_and_bases(L):
    obs = []
    # a view of a non-leaf changed in place: the base's gradient goes through the change
    w = L.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    b = w * 1
    b[1:3].mul_(L.tensor([2.0, 3.0]))
    _step(obs, lambda: L.autograd.grad((b * b).sum(), w)[0])
    # the base changed after a view was read by a node that saved the view
    w = L.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    b = w * 1
    v = b[:2]
    y = (v * v).sum()
    b.add_(1)
    _step(obs, lambda: L.autograd.grad(y, w)[0])
    # the view changed after the base was read
    w = L.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    b = w * 1
    y = b.exp().sum()
    b[0].zero_()
    _step(obs, lambda: L.autograd.grad(y, w)[0])
    # a view taken before its base changed, used after: regenerated over the change
    w = L.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    b = w * 1
    v = b.view(2, 2).t()
    b.mul_(3)
    _step(obs, lambda: L.autograd.grad((v * L.tensor([[1.0, 2.0], [3.0, 4.0]])).sum(), w)[0])
    # pieces of split / chunk / unbind after their base changed
    for split in (lambda t: t.split(2), lambda t: t.chunk(2), lambda t: t.unbind(),
                  lambda t: L.unsafe_chunk(t, 2)):
        w = L.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        b = w * 1
        pieces = split(b)
        b.mul_(2)
        _step(obs, lambda p=pieces, w=w: L.autograd.grad(p[0].sum(), w)[0])
    # view_as_complex of a tensor changed after
    w = L.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = w * 1
    c = L.view_as_complex(b)
    b.mul_(2)
    _step(obs, lambda: L.autograd.grad(c.real.sum(), w)[0])
    # an index tensor changed after the op that read it
    for use in (lambda x, i: L.take(x, i), lambda x, i: x.scatter(0, i, L.ones(2)),
                lambda x, i: x.index_put((i,), L.ones(2)), lambda x, i: x[i],
                lambda x, i: x.gather(0, i)):
        w = L.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        i = L.tensor([0, 2])
        y = use(w * 1, i)
        i.zero_()
        weights = L.tensor([1.0, 2.0, 3.0, 4.0][:y.numel()])
        _step(obs, lambda y=y, w=w, c=weights: L.autograd.grad((y * c).sum(), w)[0])
    return obs


def index_select_index_changed(L):
    w = L.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    i = L.tensor([0, 2])
    y = (w * 1).index_select(0, i)
    i.zero_()
    obs = []
    _step(obs, lambda: L.autograd.grad((y * L.tensor([1.0, 2.0])).sum(), w)[0])
    return obs


# ----------------------------------------------------------------------------- second backward

def second_backward(L):
    obs = []
    makers = {
        "sum": lambda x: x.sum(), "add_sum": lambda x: (x + 1).sum(),
        "mean": lambda x: x.mean(), "x+x": lambda x: (x + x).sum(),
        "expand": lambda x: x.expand(2, 3).sum(), "slice": lambda x: x[1:].sum(),
        "neg": lambda x: (-x).sum(), "t": lambda x: x.view(3, 1).t().sum(),
        "cat": lambda x: L.cat([x, x]).sum(), "double": lambda x: x.double().sum(),
        "clone": lambda x: x.clone().sum(), "reshape": lambda x: x.reshape(3, 1).sum(0),
        "mul_const": lambda x: (x * 2).sum(), "div_const": lambda x: (x / 2).sum(),
        "x*x": lambda x: (x * x).sum(), "exp": lambda x: x.exp().sum(),
        "pow": lambda x: (x ** 2).sum(), "index": lambda x: x[L.tensor([0, 2])].sum(),
        "sum_exp": lambda x: x.sum().exp(), "matmul": lambda x: x @ x,
    }
    for name, make in makers.items():
        x = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = make(x)
        seed = L.ones_like(y)
        y.backward(seed)
        _step(obs, lambda y=y, seed=seed: y.backward(seed))
        obs.append((name, _value(x.grad)))
    # grad() twice; backward after grad()
    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = (x + 1).sum()
    _step(obs, lambda: L.autograd.grad(y, x)[0])
    _step(obs, lambda: L.autograd.grad(y, x)[0])
    _step(obs, lambda: y.backward())
    # pyro's warn_if_inf: a hook on a tensor whose graph is run twice
    x = L.tensor([1.0, 2.0], requires_grad=True)
    y = x.sum()
    seen = []
    x.register_hook(lambda g: seen.append(_value(g)))
    y.backward(L.tensor(2.0))
    _step(obs, lambda: y.backward(L.tensor(3.0)))
    obs += [seen, _value(x.grad)]
    # a node below the root that saved a value: raised on the second run
    x = L.tensor([1.0, 2.0], requires_grad=True)
    z = x.exp()
    y = z.sum()
    y.backward()
    _step(obs, lambda: z.sum().backward())
    _step(obs, lambda: y.backward())
    return obs


def second_backward_through_functions(L):
    class Twice(L.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class Square(L.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    obs = []
    for fn in (Square, Twice):
        x = L.tensor([1.0, 2.0], requires_grad=True)
        y = fn.apply(x).sum()
        y.backward()
        _step(obs, lambda y=y: y.backward())
        obs.append(_value(x.grad))
    return obs


CASES = {f.__name__: f for f in (
    versions_of_inplace_ops, versions_of_out_and_copies, versions_after_set_,
    versions_shared_by_views_and_detach,
    versions_of_data, versions_of_optimizer_step, inplace_on_leaves,
    no_grad_change_then_backward, output_changed_then_backward, views_and_bases,
    index_select_index_changed, second_backward, second_backward_through_functions)}

# case -> why deltagrad still differs (the case must still differ: update this when fixed)
KNOWN: dict[str, str] = {
    "second_backward_through_functions": (
        "a Function's node is freed after a backward whatever its ctx holds (deltagrad cannot "
        "tell saved tensors from other ctx attributes), so a Function that saved nothing "
        "raises on a second backward; PyTorch runs it (a Function that saved tensors raises "
        "in both)"),
    # (index_select_index_changed: fixed in s22 BR3, the node keeps the caller's index)
    "versions_after_set_": (
        "deltagrad counts versions per storage (a NumPy array's root): after y.set_(source) y "
        "counts with source's storage; PyTorch's counter belongs to the tensor and its views, "
        "so y's goes on from its own count and source's stays apart (values match)"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch(name):
    case = CASES[name]
    expected = case(torch)
    actual = case(dg)
    if name in KNOWN:
        assert actual != expected, f"{name} now matches PyTorch: drop it from KNOWN"
        return
    for k, (e, a) in enumerate(zip(expected, actual)):
        assert a == e, f"{name}: observation {k}: deltagrad {a!r}, PyTorch {e!r}"
    assert len(actual) == len(expected)
