"""PyTorch's ``torch.optim.swap_in_optimizer_params_and_state``: run optimizer code against
other parameters and a ``state_dict()``-shaped state for the length of a ``with`` block."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from typing import Any

from .._engine import Tensor

_NAME = "swap_in_optimizer_params_and_state"


def _fail(message: str):
    raise RuntimeError(f"{_NAME} requires {message}")


def _groups_to_swap(optimizer, parameters: dict, swapin: Any) -> tuple[dict, list]:
    """Checks ``swapin`` against the live optimizer, as PyTorch's: its state keyed by the
    packed ids of its groups' ``params``, its groups with the live groups' keys and sizes;
    returns the state and, per group, (live group, swap-in group, its parameters)."""
    if not optimizer.state:
        _fail("initialized optimizer state.")
    if not isinstance(swapin, dict):
        _fail("a DCP-style optimizer state_dict.")
    state, groups = swapin.get("state"), swapin.get("param_groups")
    if not isinstance(state, dict):
        _fail("swapin_optim_state['state'] to be a dict mapping packed parameter ids to "
              f"per-param state dicts, got {type(state).__name__}.")
    if any(isinstance(key, Tensor) for key in state):
        _fail("optimizer.state_dict()-style state keyed by packed parameter ids.")
    if any(isinstance(k, int) and not isinstance(v, dict) for k, v in state.items()):
        _fail("per-parameter optimizer state entries to be dictionaries.")
    if not isinstance(groups, list):
        _fail("swapin_optim_state['param_groups'] to be a list of param-group dicts, got "
              f"{type(groups).__name__}.")
    if len(groups) != len(optimizer.param_groups):
        raise RuntimeError("swapin_optim_state has a different number of parameter groups "
                           "than the live optimizer.")
    flat, offset, seen, plan = list(parameters.values()), 0, set(), []
    for i, (live, group) in enumerate(zip(optimizer.param_groups, groups)):
        if not isinstance(group, dict):
            _fail("each optimizer param group to be a dictionary.")
        ids = group.get("params")
        if not isinstance(ids, list) or not all(isinstance(pid, int) for pid in ids):
            _fail("optimizer.state_dict()-style param_groups[*]['params'] entries keyed by "
                  "packed parameter ids.")
        if len(ids) != len(live["params"]):
            raise RuntimeError(f"swapin_optim_state param group {i} has a different number "
                               "of params than the live optimizer param group.")
        only_swapin = [k for k in group if k not in live]
        only_live = [k for k in live if k not in group]
        if only_swapin or only_live:
            _fail("optimizer.state_dict()-style param group keys to exactly match the live "
                  f"optimizer group keys for group {i}. Keys only in swap-in: {only_swapin}. "
                  f"Keys only in live: {only_live}.")
        seen.update(ids)
        if offset + len(ids) > len(flat):
            _fail("the explicit parameter state to match optimizer.param_groups ordering.")
        plan.append((live, group, flat[offset:offset + len(ids)]))
        offset += len(ids)
    extra = [key for key in state if key not in seen]
    if extra:
        _fail("swapin_optim_state['state'] to be keyed only by packed parameter ids from "
              f"param_groups[*]['params']; got extra keys {extra!r}.")
    return state, plan


@contextlib.contextmanager
def swap_in_optimizer_params_and_state(optimizer, swapin_parameters: dict,
                                       swapin_optim_state: dict):
    """Inside the block, ``optimizer`` steps ``swapin_parameters`` (a dict, in the order of
    its groups' parameters) with the state and hyperparameters of ``swapin_optim_state``
    (an ``optimizer.state_dict()``); on exit its own groups and state come back. The
    per-parameter state dicts are shallow copies: in-place changes to their tensors reach
    ``swapin_optim_state``, new entries do not."""
    state, plan = _groups_to_swap(optimizer, swapin_parameters, swapin_optim_state)
    live_state = optimizer.state
    snapshots = [dict(group) for group in optimizer.param_groups]
    try:
        swapped: defaultdict = defaultdict(dict)
        for live, group, params in plan:
            live["params"] = params
            live.update({k: v for k, v in group.items() if k != "params"})
            for param, pid in zip(params, group["params"]):
                swapped[param] = dict(state.get(pid, {}))
        optimizer.state = swapped
        yield
    finally:
        for group, snapshot in zip(optimizer.param_groups, snapshots):
            group.clear()
            group.update(snapshot)
        optimizer.state = live_state
