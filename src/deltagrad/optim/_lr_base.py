"""LRScheduler: the base of the epoch-indexed learning-rate schedules (see lr_scheduler)."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from typing import Any

from .._engine.tensor import Tensor
from .optimizer import Optimizer

__all__ = ["LRScheduler"]

# (its first sentence PyTorch's, which programs' warning filters and logs match on)
EPOCH_DEPRECATION = ("The epoch parameter in `scheduler.step()` was not necessary and is being "
                     "deprecated where possible. Call step() once per epoch instead: with an "
                     "epoch, the schedule is computed in closed form where it has one.")


def _set_group_value(group: dict[str, Any], key: str, value: Any) -> None:
    """``group[key] = value``, but a Tensor there (a tensor lr) is changed in place, as
    PyTorch's schedulers do: whoever holds the tensor given as lr sees the schedule."""
    current = group[key]
    if isinstance(current, Tensor):
        current.fill_(value.item() if isinstance(value, Tensor) else value)
    else:
        group[key] = value


def _group_values(optimizer: Optimizer, key: str) -> list[Any]:
    """Each group's ``key``, Tensors cloned (PyTorch's lists of lrs never alias a group's)."""
    return [_copy(group[key]) for group in optimizer.param_groups]


def _copy(value: Any) -> Any:
    return value.clone() if isinstance(value, Tensor) else value


class LRScheduler:
    """Base class of the epoch-indexed schedules.

    A schedule is a function of ``last_epoch``, the number of ``step()`` calls so far.
    Constructing a scheduler performs the first step (epoch 0), which already sets each
    group's lr; call ``step()`` once per epoch (or iteration) *after* ``optimizer.step()``.
    The first construction on an optimizer records each group's lr as ``"initial_lr"`` in the
    group; ``base_lrs`` are those values.

    Subclasses implement ``get_lr``: the next lrs from the current ones ("chainable", so that
    several schedulers on one optimizer multiply), as PyTorch's schedulers do; those with a
    closed form also give ``_get_closed_form_lr``, used when jumping to an epoch.

    Args:
        optimizer: the optimizer whose learning rates to set.
        last_epoch: the index of the last epoch seen; -1 (the default) starts the schedule.
            Give another value only to resume, with ``"initial_lr"`` already in the groups.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", _copy(group["lr"]))
        else:
            for index, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{index}] when "
                        f"resuming a schedule (last_epoch={last_epoch})"
                    )
        self.base_lrs: list[float] = _group_values(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        # PyTorch's flags, kept as attributes (so in the state dict, in its order): the first
        # step is running; get_lr is being called by step().
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The lrs for the epoch ``last_epoch``, computed by ``step()`` (read ``get_last_lr``)."""
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The learning rates the last step set, one per param group."""
        return list(self._last_lr)

    def step(self, epoch: int | None = None) -> None:
        """Advance the schedule by one epoch and set the param groups' lrs.

        Args:
            epoch: deprecated (as in PyTorch): jump to this epoch instead, using the closed
                form where the schedule has one.
        """
        if self._step_count == 1 and not getattr(self.optimizer, "_opt_called", False):
            warnings.warn(
                "Detected call of `lr_scheduler.step()` before `optimizer.step()`. As in "
                "PyTorch 1.1.0 and later, call them in the opposite order: `optimizer.step()` "
                "before `lr_scheduler.step()`; otherwise the first value of the learning rate "
                "schedule is skipped.",
                UserWarning,
                stacklevel=2,
            )
        if epoch is None:
            self._step_count += 1
            self.last_epoch += 1
            self._set_lrs(self._lrs_from(self.get_lr))
        else:
            warnings.warn(EPOCH_DEPRECATION, UserWarning, stacklevel=2)
            self._step_to(epoch)

    def _step_to(self, epoch: int) -> None:
        self._step_count += 1
        self._update_to(epoch)

    def _update_to(self, epoch: int) -> None:
        """Set the lrs of ``epoch`` without counting a step (PyTorch's ``_update_lr``)."""
        self.last_epoch = epoch
        closed_form = getattr(self, "_get_closed_form_lr", None)
        self._set_lrs(self._lrs_from(closed_form if closed_form is not None else self.get_lr))

    def _lrs_from(self, compute) -> list[float]:
        self._get_lr_called_within_step = True
        try:
            return compute()
        finally:
            self._get_lr_called_within_step = False

    def _set_lrs(self, lrs: Sequence[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs):
            _set_group_value(group, "lr", lr)
        self._last_lr = _group_values(self.optimizer, "lr")

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state: its attributes except the optimizer (JSON types only)."""
        return {key: copy.deepcopy(value) for key, value in self.__dict__.items()
                if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state from ``state_dict`` (the optimizer's lrs come from its own)."""
        self.__dict__.update(copy.deepcopy(state_dict))


def warn_outside_step(scheduler: LRScheduler) -> None:
    """PyTorch's warning when a built-in scheduler's ``get_lr()`` is called by hand (it computes
    the next step's lrs; the current ones are ``get_last_lr()``)."""
    if not getattr(scheduler, "_get_lr_called_within_step", False):
        warnings.warn("To get the last learning rate computed by the scheduler, please use "
                      "`get_last_lr()`.", UserWarning, stacklevel=3)
