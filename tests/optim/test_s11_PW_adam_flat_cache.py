"""Adam's flat layout of small parameters is reused while it holds and given up when it does not:
a state loaded or set by hand, or step counts that no longer agree, as PyTorch (which keeps one
state per parameter) steps them."""

import copy

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

SHAPES = [(4, 3), (4,), (2, 4), (2,)]


def _pair(seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(shape).astype(np.float32) for shape in SHAPES]
    ours = [dg.tensor(a, requires_grad=True) for a in init]
    theirs = [torch.tensor(a, requires_grad=True) for a in init]
    return ours, theirs


def _step(lib, params, optimizer, seed):
    rng = np.random.default_rng(seed)
    optimizer.zero_grad()
    for p, shape in zip(params, SHAPES):
        p.grad = lib.from_numpy(rng.standard_normal(shape).astype(np.float32))
    optimizer.step()


def _assert_same(ours, theirs):
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_the_layout_is_reused_while_it_holds():
    ours, theirs = _pair()
    opt = dg.optim.Adam(ours, lr=0.1)
    ref = torch.optim.Adam(theirs, lr=0.1)
    _step(dg, ours, opt, 1)
    _step(torch, theirs, ref, 1)
    (layout,) = opt._flat_cache.values()
    for seed in (2, 3):
        _step(dg, ours, opt, seed)
        _step(torch, theirs, ref, seed)
    (again,) = opt._flat_cache.values()
    assert again is layout
    _assert_same(ours, theirs)


def test_a_loaded_state_makes_a_new_layout():
    ours, theirs = _pair()
    opt = dg.optim.Adam(ours, lr=0.1)
    ref = torch.optim.Adam(theirs, lr=0.1)
    _step(dg, ours, opt, 1)
    _step(torch, theirs, ref, 1)
    (layout,) = opt._flat_cache.values()
    opt.load_state_dict(copy.deepcopy(opt.state_dict()))  # new moment tensors
    ref.load_state_dict(copy.deepcopy(ref.state_dict()))
    _step(dg, ours, opt, 2)
    _step(torch, theirs, ref, 2)
    (again,) = opt._flat_cache.values()
    assert again is not layout
    _assert_same(ours, theirs)


def test_step_counts_that_disagree_step_each_parameter_with_its_own():
    ours, theirs = _pair()
    opt = dg.optim.Adam(ours, lr=0.1)
    ref = torch.optim.Adam(theirs, lr=0.1)
    for seed in (1, 2):
        _step(dg, ours, opt, seed)
        _step(torch, theirs, ref, seed)
    # One parameter's count set by hand (in place, so the state tensors stay the layout's):
    # its bias correction is then that of step 8, the others' of step 3.
    opt.state[ours[1]]["step"].fill_(7.0)
    ref.state[theirs[1]]["step"].fill_(7.0)
    _step(dg, ours, opt, 3)
    _step(torch, theirs, ref, 3)
    assert float(opt.state[ours[1]]["step"]) == 8.0
    assert float(opt.state[ours[0]]["step"]) == 3.0
    _assert_same(ours, theirs)
