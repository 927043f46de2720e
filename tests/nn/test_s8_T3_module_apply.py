"""Module._apply and Module._load_from_state_dict: the per-module steps subclasses override.

torchmetrics' Metric overrides both (its states are plain tensor attributes, converted by `to`
and `set_dtype` and loaded from state dicts); the same subclass code runs on deltagrad and on
PyTorch here and must give the same states, dtypes and names.
"""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad

torch = pytest.importorskip("torch")


def _make(m):
    class Holder(m.nn.Module):
        """Keeps a tensor attribute outside parameters/buffers, as a metric state."""

        def __init__(self):
            super().__init__()
            self.lin = m.nn.Linear(2, 3)
            self.register_buffer("count", m.tensor(4))
            self.state = m.zeros(2)
            self.seen = []

        def forward(self, x):
            return self.lin(x)

        def _apply(self, fn, *args, **kwargs):
            this = super()._apply(fn, *args, **kwargs)
            self.seen.append(str(fn).split(" ")[1])  # the converting function's name
            if "Module.to." in str(fn) or "Module.type." in str(fn):
                this.state = fn(this.state)
            return this

        def _load_from_state_dict(self, state_dict, prefix, *args):
            key = prefix + "state"
            if key in state_dict:
                self.state = state_dict.pop(key)
            super()._load_from_state_dict(state_dict, prefix, *args)

    return Holder


def _run(m):
    holder_cls = _make(m)
    m.manual_seed(0)
    outer = m.nn.Sequential(holder_cls(), m.nn.Linear(3, 1))
    weight = outer[0].lin.weight
    outer(m.ones(1, 2)).sum().backward()
    results = {}
    steps = [("to64", lambda mod: mod.to(m.float64)), ("float", lambda mod: mod.float()),
             ("double", lambda mod: mod.double()), ("half", lambda mod: mod.half()),
             ("type32", lambda mod: mod.type(m.float32))]
    for step, convert in steps:
        assert convert(outer) is outer
        holder = outer[0]
        results[step] = (str(holder.state.dtype), str(holder.lin.weight.dtype),
                         str(holder.lin.weight.grad.dtype), str(holder.count.dtype),
                         holder.lin.weight is weight)
    results["seen"] = outer[0].seen
    state = outer.state_dict()
    state["0.state"] = m.full((2,), 7.0)
    fresh = m.nn.Sequential(holder_cls(), m.nn.Linear(3, 1))
    keys = fresh.load_state_dict(state)
    same = np.allclose(fresh[1].weight.detach().numpy(), outer[1].weight.detach().numpy())
    results["loaded"] = (fresh[0].state.tolist(), list(keys.missing_keys),
                         list(keys.unexpected_keys), same)
    bad = dict(state)
    bad["0.extra"] = m.zeros(1)
    try:
        fresh.load_state_dict(bad)
        results["unexpected"] = "none"
    except RuntimeError as error:
        results["unexpected"] = str(error).split("\n")[1].strip()
    # called directly, the base step copies at once
    lin = m.nn.Linear(2, 2)
    missing, unexpected, errors = [], [], []
    lin._load_from_state_dict({"p.weight": m.ones(2, 2), "p.bias": m.zeros(2), "p.x": m.ones(1)},
                              "p.", {}, True, missing, unexpected, errors)
    results["direct"] = (lin.weight.sum().item(), missing, unexpected, errors)
    return results


def test_apply_and_load_steps_match_pytorch():
    ours, theirs = _run(deltagrad), _run(torch)
    for key in theirs:
        expected = theirs[key]
        got = ours[key]
        if key not in ("seen", "loaded", "unexpected", "direct"):
            got = tuple(str(v).replace("deltagrad.", "torch.") for v in got)
            expected = tuple(str(v) for v in expected)
        assert got == expected, key
