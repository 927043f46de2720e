"""Session 31 (SP53): the speed changes answer as before and as PyTorch 2.13.

- ``Generator()`` builds its MT19937 from a list of zeros (``random._UnseededList``): the same
  engine state as from the zeros array, and PyTorch's state and draws.
- stack's rule on arrays hands on views of g from one iteration (``ops/shape._stack_vjp``): the
  same views (shape, strides, values, memory) as the indexing it replaces, and PyTorch's
  gradients.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import random as dg_random
from deltagrad._engine.ops.registry import ARRAY
from deltagrad._engine.ops.shape import _stack_vjp

torch = pytest.importorskip("torch")


# ---------------------------------------------------------------------------------------------
# Generator()


def _engine_state(bits):
    state = bits.state["state"]
    return state["key"].copy(), state["pos"]


def test_unseeded_list_gives_the_arrays_engine():
    from_list = np.random.MT19937(dg_random._UnseededList())
    from_array = np.random.MT19937(dg_random._Unseeded())
    key_list, pos_list = _engine_state(from_list)
    key_array, pos_array = _engine_state(from_array)
    np.testing.assert_array_equal(key_list, key_array)
    assert pos_list == pos_array
    assert type(dg_random._UNSEEDED) is dg_random._UnseededList  # (this NumPy takes the list)


@pytest.mark.parametrize("seed", [None, 0, 5, 2 ** 40 + 3, -7], ids=str)
def test_generator_state_and_draws_match_pytorch(seed):
    mine, theirs = dg.Generator(), torch.Generator()
    if seed is not None:
        mine.manual_seed(seed)
        theirs.manual_seed(seed)
    np.testing.assert_array_equal(mine.get_state().numpy(), theirs.get_state().numpy())
    assert mine.initial_seed() == theirs.initial_seed()
    np.testing.assert_array_equal(dg.rand(5, generator=mine).numpy(),
                                  torch.rand(5, generator=theirs).numpy())
    np.testing.assert_array_equal(dg.randn(3, 2, generator=mine).numpy(),
                                  torch.randn(3, 2, generator=theirs).numpy())
    np.testing.assert_array_equal(mine.get_state().numpy(), theirs.get_state().numpy())


def test_generators_are_independent_and_copyable():
    a, b = dg.Generator(), dg.Generator()
    first = dg.rand(4, generator=a).numpy()
    np.testing.assert_array_equal(dg.rand(4, generator=b).numpy(), first)  # (b not moved)
    c = copy.deepcopy(a)
    np.testing.assert_array_equal(dg.rand(3, generator=c).numpy(),
                                  dg.rand(3, generator=a).numpy())
    d = pickle.loads(pickle.dumps(b))
    np.testing.assert_array_equal(dg.rand(3, generator=d).numpy(),
                                  dg.rand(3, generator=b).numpy())
    # set_state on a fresh generator, and the state round trip
    e = dg.Generator()
    e.set_state(a.get_state())
    np.testing.assert_array_equal(dg.rand(2, generator=e).numpy(),
                                  dg.rand(2, generator=a).numpy())


# ---------------------------------------------------------------------------------------------
# stack's rule


def _indexed(g, dim):
    return tuple(g[(slice(None),) * dim + (i,)] for i in range(g.shape[dim]))


@pytest.mark.parametrize("shape,dim", [((3, 2, 3), 0), ((2, 3, 3), 2), ((2, 4, 3), 1),
                                       ((2, 3, 4, 5), 3), ((2, 3, 4, 5), 1), ((4,), 0),
                                       ((2, 3), 1)], ids=str)
def test_stack_rule_gives_the_same_views(shape, dim):
    g = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    got = _stack_vjp(ARRAY, g, None, dim=dim)
    want = _indexed(g, dim)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert type(a) is type(b)
        assert a.shape == b.shape and a.dtype == b.dtype
        if type(a) is np.ndarray:
            assert a.strides == b.strides
            assert np.shares_memory(a, g) and np.shares_memory(b, g)
            assert a.__array_interface__["data"] == b.__array_interface__["data"]
        np.testing.assert_array_equal(a, b)
    # a gradient that is no array takes the indexing path as before
    if g.ndim > 1:
        view = g.view(np.ndarray)

        class Sub(np.ndarray):
            pass

        sub = view.view(Sub)
        got_sub = _stack_vjp(ARRAY, sub, None, dim=dim)
        for a, b in zip(got_sub, want):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("shape,dim,count,dtype",
                         [((2, 3), 0, 3, "float32"), ((2, 3), 2, 3, "float32"),
                          ((2, 3), -1, 2, "float64"), ((2, 3), 1, 4, "float64"),
                          ((), 0, 2, "float32"), ((3, 2, 2), 2, 3, "float32"),
                          ((3, 2, 2, 2), 4, 2, "float64")], ids=str)
def test_stack_fwd_bwd_matches_pytorch(shape, dim, count, dtype):
    rng = np.random.default_rng(len(shape) * 10 + count)
    arrays = [rng.standard_normal(shape).astype(dtype) for _ in range(count)]
    out = []
    for lib in (dg, torch):
        xs = [lib.tensor(a.copy(), requires_grad=True) for a in arrays]
        y = lib.stack(xs, dim)
        seed = lib.tensor(np.arange(y.numel(), dtype=dtype).reshape(tuple(y.shape)) - 3)
        (y * y).backward(seed)
        out.append((y.detach().numpy(), [x.grad.numpy() for x in xs], type(y.grad_fn).__name__))
    (y_mine, grads_mine, node_mine), (y_theirs, grads_theirs, node_theirs) = out
    np.testing.assert_array_equal(y_mine, y_theirs)
    assert y_mine.dtype == y_theirs.dtype
    for a, b in zip(grads_mine, grads_theirs):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)  # (2 * y * seed: exact in both)
    assert node_mine == node_theirs


def test_stack_backward_after_in_place_change_of_an_input_runs():
    # (the rule reads no input: PyTorch's stack saves nothing, so this backward runs)
    for lib in (dg, torch):
        a = lib.ones(2, requires_grad=True)
        b = lib.ones(2, requires_grad=True)
        ca, cb = a * 1, b * 1
        y = lib.stack((ca, cb))
        ca.add_(1)
        y.sum().backward()
        np.testing.assert_array_equal(a.grad.numpy(), np.ones(2, np.float32))


# ---------------------------------------------------------------------------------------------
# bernoulli_scalar's ties (dropout's masks): the first word's 21 bits equal to the threshold's


class _Words:
    """A stand-in for MT19937's random_raw: given 64-bit draws, then the real engine's."""

    def __init__(self, draws):
        self.draws = np.asarray(draws, dtype=np.uint64)
        self.engine = np.random.MT19937(3)

    def random_raw(self, n):
        head, self.draws = self.draws[:n], self.draws[n:]
        return np.concatenate((head, self.engine.random_raw(n - head.size)))


@pytest.mark.parametrize("p", [0.3, 0.5, 0.7, 1e-9, 0.999999], ids=str)
def test_bernoulli_scalar_ties_decided_by_the_second_word(p):
    from deltagrad._engine import stream

    threshold = min(int(np.ceil(p * 2.0 ** 53)), 2 ** 53)
    high, low = divmod(threshold, 1 << 32)
    rng = np.random.default_rng(7)
    draws = []
    for k in range(40):  # pairs: ties with the second word below, at and above the low part
        first = (int(rng.integers(0, 1 << 11)) << 21) | high if k % 4 else int(
            rng.integers(0, 1 << 32))
        second = [max(low - 1, 0), low, min(low + 1, 2 ** 32 - 1),
                  int(rng.integers(0, 1 << 32))][k % 4]
        draws += [first | (int(rng.integers(0, 1 << 32)) << 32),
                  second | (int(rng.integers(0, 1 << 32)) << 32)]
    got = stream.bernoulli_scalar(_Words(draws), (5, 8), p)
    u = stream._numbers53(_Words(draws), 40)  # the 53-bit uniforms, assembled
    np.testing.assert_array_equal(got, (u < threshold).reshape(5, 8))
    assert got.any() or p < 0.5  # (ties below the threshold are drawn: the test can fail)


def test_dropout_masks_match_pytorch():
    for p in (0.3, 0.5):
        dg.manual_seed(11)
        torch.manual_seed(11)
        x = np.arange(1, 61, dtype=np.float32).reshape(3, 4, 5)
        mine = dg.nn.functional.dropout(dg.tensor(x), p=p)
        theirs = torch.nn.functional.dropout(torch.tensor(x), p=p)
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
