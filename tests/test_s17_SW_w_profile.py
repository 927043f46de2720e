"""benchmarks/w_profile.py: the phases of a step found by wrapping both libraries' backward and
optimizers, each counted once, and everything put back afterwards."""

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import w_profile  # noqa: E402

import deltagrad as dg  # noqa: E402
from deltagrad._engine.ops.registry import OPS  # noqa: E402


class _Runner:
    """x @ w, squared and summed, SGD on w; ``backward`` False: the step skips backward (its
    gradient set by hand) so that only the optimizer runs."""

    def __init__(self, lib, backward=True):
        rng = np.random.default_rng(0)
        self.lib, self.backward = lib, backward
        self.w = lib.from_numpy(rng.standard_normal((4, 3)).astype(np.float32))
        self.w.requires_grad_(True)
        self.x = lib.from_numpy(rng.standard_normal((5, 4)).astype(np.float32))
        # AdamW over Adam over Optimizer in deltagrad: nested steps, counted once
        self.optimizer = lib.optim.AdamW([self.w], lr=0.1)

    def step(self):
        self.optimizer.zero_grad()
        if self.backward:
            ((self.x @ self.w) ** 2).sum().backward()
        else:
            self.w.grad = self.lib.ones_like(self.w)
        self.optimizer.step()


def _functions():
    return ([dg.Tensor.backward, torch.Tensor.backward, dg.optim.AdamW.step,
             dg.optim.Adam.step, torch.optim.AdamW.step, dg.optim.Optimizer.zero_grad]
            + [op.forward for op in OPS.values()] + [op.vjp for op in OPS.values()])


def test_phases_of_each_variant_and_everything_put_back():
    runners = {"deltagrad": _Runner(dg), "torch": _Runner(torch)}
    before = _functions()  # (after the optimizers: PyTorch's first one hooks its class's step)
    phases, ratios, split, reference = w_profile.profile(runners, steps=2, rounds=2, ops=True)
    assert all(a is b for a, b in zip(_functions(), before, strict=True))
    assert reference == "torch" and set(phases) == {"deltagrad", "torch"}
    for name in phases:
        assert phases[name]["backward"] > 0 and phases[name]["step"] > 0
        parts = sum(phases[name][phase] for phase in w_profile.PHASES)
        assert parts == pytest.approx(phases[name]["total"])
    assert ratios["torch"]["total"] == 1.0
    # deltagrad's ops inside its step: one product and its VJP a step (pow and sum too)
    assert split["calls"]["forward matmul"] == 1 and split["calls"]["vjp matmul"] == 1
    assert split["forward matmul"] > 0 and split["vjp matmul"] > 0


def test_a_step_without_backward_has_no_backward_phase():
    runners = {"deltagrad": _Runner(dg, backward=False), "torch": _Runner(torch, backward=False)}
    phases, _, split, _ = w_profile.profile(runners, steps=2, rounds=2)
    assert split is None
    for name in phases:
        assert phases[name]["backward"] == 0.0 and phases[name]["step"] > 0


def test_nested_optimizer_steps_are_timed_once(monkeypatch):
    # A subclass's step that calls its base's (as AdamW's may call Adam's): only the outermost
    # call is timed. A fake clock that advances 1 a reading shows it: one start and one stop.
    class Optimizer:
        def zero_grad(self):
            pass

        def step(self):
            return "base"

    class Sub(Optimizer):
        def step(self):
            return super().step() + " via sub"

    class Tensor:
        def backward(self):
            pass

    lib = type(sys)("fake_lib")
    lib.Tensor, lib.optim = Tensor, type(sys)("fake_optim")
    lib.optim.Optimizer, lib.optim.Sub = Optimizer, Sub
    ticks = iter(range(100))
    monkeypatch.setattr(w_profile, "clock", lambda: next(ticks))
    originals = (vars(Sub)["step"], vars(Optimizer)["step"], vars(Tensor)["backward"])
    timers = w_profile._Timers((lib,))
    assert vars(Sub)["step"] is not originals[0]  # (wrapped)
    try:
        assert Sub().step() == "base via sub"
        assert Optimizer().step() == "base"
    finally:
        timers.restore()
    assert timers.totals["step"] == 2 and timers.depth == 0  # (1 + 1, nested would add more)
    assert (vars(Sub)["step"], vars(Optimizer)["step"], vars(Tensor)["backward"]) == originals
