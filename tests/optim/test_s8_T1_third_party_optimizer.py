"""Optimizers written outside deltagrad (torch-optimizer's style: subclass Optimizer, own
``step``) behave as on PyTorch: ``required`` options, no base-class option checks, PyTorch's
load policy for arbitrary state, and group values shared between groups stay shared."""

from __future__ import annotations

import copy
import importlib

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.optim.optimizer import required

torch = pytest.importorskip("torch")


def _required(m):
    return importlib.import_module(f"{m.__name__}.optim.optimizer").required


def make_cached_sgd(m):
    """A third-party optimizer: caches its step size per step in a list shared by all groups
    (as torch-optimizer's RAdam does), keeps an int step and a factored state of another
    shape than its parameter (as Adafactor does), and takes lr=None."""

    must_give = _required(m)

    class CachedSGD(m.optim.Optimizer):
        def __init__(self, params, lr=None, momentum=must_give):
            cache = [None, None]
            super().__init__(params, dict(lr=lr, momentum=momentum, cache=cache))

        @m.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                lr = 0.1 if group["lr"] is None else group["lr"]
                for p in group["params"]:
                    state = self.state[p]
                    if not state:
                        state["step"] = 0
                        state["row"] = m.zeros(p.shape[0], dtype=m.float64)
                    state["step"] += 1
                    cache = group["cache"]
                    if cache[0] != state["step"]:
                        cache[0], cache[1] = state["step"], lr / state["step"]
                    state["row"].mul_(group["momentum"]).add_(p.grad.sum(-1))
                    p.add_(p.grad + state["row"].unsqueeze(-1).to(p.dtype), alpha=-cache[1])

    return CachedSGD


def run(m):
    opt_class = make_cached_sgd(m)
    weights = [m.nn.Parameter(m.tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2)
                                       * (i + 1))) for i in range(2)]
    groups = [{"params": [weights[0]], "lr": 0.3}, {"params": [weights[1]]}]
    opt = opt_class(groups, momentum=0.5)
    for _ in range(3):
        opt.zero_grad()
        sum((w ** 2).sum() for w in weights).backward()
        opt.step()
    saved = copy.deepcopy(opt.state_dict())
    clones = [m.nn.Parameter(w.detach().clone()) for w in weights]
    opt2 = opt_class([{"params": [clones[0]], "lr": 0.3}, {"params": [clones[1]]}],
                     momentum=0.5)
    opt2.load_state_dict(saved)
    for o, ws in ((opt, weights), (opt2, clones)):
        for _ in range(2):
            o.zero_grad()
            sum((w ** 2).sum() for w in ws).backward()
            o.step()
    state = opt2.state[clones[0]]
    return ([w.detach().numpy() for w in weights + clones],
            type(state["step"]).__name__, str(state["row"].dtype).rsplit(".")[-1],
            opt2.param_groups[0]["cache"] is opt2.param_groups[1]["cache"])


def test_third_party_optimizer_matches_torch():
    ours, theirs = run(dg), run(torch)
    for a, b in zip(ours[0], theirs[0]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert ours[1:] == theirs[1:] == ("int", "float32", True)


def test_required_option_must_be_given():
    for m in (dg, torch):
        with pytest.raises(ValueError, match="required"):
            make_cached_sgd(m)([m.nn.Parameter(m.ones(2, 2))])
    assert repr(required) == repr(_required(torch)) == "<required parameter>"
