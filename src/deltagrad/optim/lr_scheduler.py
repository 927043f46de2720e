"""Learning-rate schedules: each step sets every param group's "lr" (PyTorch's lr_scheduler)."""

from __future__ import annotations

import copy
import math
import numbers
import types
import warnings
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from ._lr_base import (
    EPOCH_DEPRECATION,
    LRScheduler,
    _group_values,
    _set_group_value,
    warn_outside_step,
)
from ._lr_cyclic import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR
from .optimizer import Optimizer

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]


class _LRScheduler(LRScheduler):
    """PyTorch's deprecated name of the schedule base class, kept as its own subclass (as in
    PyTorch: the built-in schedules are not instances of it); libraries subclass it."""


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` epochs: lr = base_lr · γ^⌊epoch/step⌋.

    Args:
        optimizer: the optimizer whose learning rates to set.
        step_size: period of the decay, in epochs.
        gamma: multiplicative factor of the decay.
        last_epoch: the index of the last epoch (-1 to start).

    >>> import deltagrad as dg
    >>> opt = dg.optim.SGD([dg.zeros(1, requires_grad=True)], lr=1.0)
    >>> scheduler = dg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for epoch in range(6):
    ...     lrs.append(scheduler.get_last_lr()[0])
    ...     opt.step()
    ...     scheduler.step()
    >>> lrs
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """

    def __init__(self, optimizer: Optimizer, step_size: float, gamma: float = 0.1,
                 last_epoch: int = -1):
        # PyTorch takes any number: its Transformer tutorial passes ``StepLR(opt, 1.0)``, and a
        # float period is used as is (epoch % step_size, epoch // step_size). A period <= 0 is
        # refused here, where PyTorch fails later (ZeroDivisionError) or decays oddly.
        if not isinstance(step_size, numbers.Real) or not step_size > 0:
            raise ValueError(f"step_size must be a positive number, got {step_size!r}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        warn_outside_step(self)
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size)
                for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the lr by ``gamma`` at each milestone epoch: base_lr · γ^(milestones passed).

    Args:
        optimizer: the optimizer whose learning rates to set.
        milestones: epoch indices (a milestone listed twice decays twice there).
        gamma: multiplicative factor of the decay.
        last_epoch: the index of the last epoch (-1 to start).
    """

    def __init__(self, optimizer: Optimizer, milestones: Sequence[int], gamma: float = 0.1,
                 last_epoch: int = -1):
        self.milestones = Counter(milestones)  # milestone -> times listed, as PyTorch's
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        warn_outside_step(self)
        groups = self.optimizer.param_groups
        hits = self._milestones().get(self.last_epoch, 0)
        if hits == 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma ** hits for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        passed = bisect_right(sorted(self._milestones().elements()), self.last_epoch)
        return [base * self.gamma ** passed for base in self.base_lrs]

    def _milestones(self) -> Counter:
        """The milestone counts; a state dict saved as JSON or by an older deltagrad (a
        sorted list) is made a Counter again."""
        milestones = self.milestones
        if not isinstance(milestones, Counter):
            if isinstance(milestones, dict):
                milestones = Counter({int(key): count for key, count in milestones.items()})
            else:
                milestones = Counter(int(milestone) for milestone in milestones)
            self.milestones = milestones
        return milestones


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every epoch: lr = base_lr · γ^epoch.

    Args:
        optimizer: the optimizer whose learning rates to set.
        gamma: multiplicative factor of the decay.
        last_epoch: the index of the last epoch (-1 to start).
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        warn_outside_step(self)
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from base_lr down to ``eta_min`` over ``T_max`` epochs.

    Closed form (SGDR without restarts; past T_max the cosine rises again)::

        η_t = η_min + (η_base − η_min) (1 + cos(π t / T_max)) / 2

    computed, as PyTorch does, by its recursive form, so that it composes with other changes
    to the lr::

        η_t = η_min + (η_{t−1} − η_min) (1 + cos(π t / T_max)) / (1 + cos(π (t − 1) / T_max))

    except at the bottom of the cosine (t − 1 = (2k + 1) T_max, where that denominator is 0),
    where η_t = η_{t−1} + (η_base − η_min)(1 − cos(π / T_max)) / 2.

    Args:
        optimizer: the optimizer whose learning rates to set.
        T_max: the number of epochs from base_lr to eta_min.
        eta_min: the minimum learning rate.
        last_epoch: the index of the last epoch (-1 to start).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1):
        if T_max <= 0:
            raise ValueError(f"T_max must be positive, got {T_max!r}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        warn_outside_step(self)
        groups = self.optimizer.param_groups
        t, period, eta_min = self.last_epoch, self.T_max, self.eta_min
        if t == 0:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and t > 0:
            # Resumed at an epoch with no previous lr of ours to recurse from.
            return self._get_closed_form_lr()
        if (t - 1 - period) % (2 * period) == 0:
            rise = (1.0 - math.cos(math.pi / period)) / 2.0
            return [group["lr"] + (base - eta_min) * rise
                    for group, base in zip(groups, self.base_lrs)]
        ratio = ((1.0 + math.cos(math.pi * t / period))
                 / (1.0 + math.cos(math.pi * (t - 1) / period)))
        return [eta_min + (group["lr"] - eta_min) * ratio for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        cosine = (1.0 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2.0
        return [self.eta_min + (base - self.eta_min) * cosine for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the lr by a factor going linearly from ``start_factor`` to ``end_factor``.

    lr = base_lr · (s + (e − s) · min(epoch, total_iters) / total_iters); a common warm-up.

    Args:
        optimizer: the optimizer whose learning rates to set.
        start_factor: the factor at epoch 0, in (0, 1].
        end_factor: the factor from epoch ``total_iters`` on, in [0, 1].
        total_iters: the number of epochs the change takes.
        last_epoch: the index of the last epoch (-1 to start).
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1):
        if not 0.0 < start_factor <= 1.0:
            raise ValueError(
                f"start_factor must be greater than 0 and at most 1, got {start_factor!r}"
            )
        if not 0.0 <= end_factor <= 1.0:
            raise ValueError(f"end_factor must be between 0 and 1, got {end_factor!r}")
        if total_iters < 1:
            raise ValueError(f"total_iters must be at least 1, got {total_iters!r}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        warn_outside_step(self)
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in groups]
        if self.last_epoch > self.total_iters:
            return [group["lr"] for group in groups]
        change = self.end_factor - self.start_factor
        # factor(t) / factor(t − 1), with factor(t) = s + (e − s) t / T
        ratio = 1.0 + change / (self.total_iters * self.start_factor
                                + (self.last_epoch - 1) * change)
        return [group["lr"] * ratio for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        done = min(self.total_iters, self.last_epoch) / self.total_iters
        factor = self.start_factor + (self.end_factor - self.start_factor) * done
        return [base * factor for base in self.base_lrs]


def _per_group(optimizer: Optimizer, lr_lambda) -> list:
    """LambdaLR's and MultiplicativeLR's ``lr_lambda``: one function for every param group, or
    a list / tuple of one per group."""
    count = len(optimizer.param_groups)
    if not isinstance(lr_lambda, (list, tuple)):
        return [lr_lambda] * count
    if len(lr_lambda) != count:
        raise ValueError(f"Expected {count} lr_lambdas, but got {len(lr_lambda)}")
    return list(lr_lambda)


class LambdaLR(LRScheduler):
    """Set the lr to base_lr times a function of the epoch.

    The functions are not saved in ``state_dict`` (as in PyTorch): give them again when
    rebuilding the scheduler. Callable objects (not plain functions) have their ``__dict__``
    saved and restored.

    Args:
        optimizer: the optimizer whose learning rates to set.
        lr_lambda: a function of the epoch (int) returning the factor, or one per group.
        last_epoch: the index of the last epoch (-1 to start).
    """

    def __init__(self, optimizer: Optimizer,
                 lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1):
        self.lr_lambdas = _per_group(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        warn_outside_step(self)
        return [base * function(self.last_epoch)
                for function, base in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self) -> dict[str, Any]:
        state = {key: copy.deepcopy(value) for key, value in self.__dict__.items()
                 if key not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [
            None if isinstance(function, types.FunctionType) else copy.deepcopy(function.__dict__)
            for function in self.lr_lambdas
        ]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = copy.deepcopy(state_dict)
        saved_lambdas = state.pop("lr_lambdas", [])
        self.__dict__.update(state)
        for function, saved in zip(self.lr_lambdas, saved_lambdas):
            if saved is not None:
                function.__dict__.update(saved)


class SequentialLR(LRScheduler):
    """Run schedulers one after the other, switching at the milestone epochs.

    At milestone i the scheduler i + 1 starts from its own epoch 0 (e.g. a decay starting from
    base_lr once a warm-up is over). The schedulers must be built on the same optimizer first;
    building this one resets the lrs to their initial values and restarts the first scheduler.

    Args:
        optimizer: the optimizer whose learning rates to set.
        schedulers: the schedulers, in order (not ReduceLROnPlateau).
        milestones: the epochs at which to switch: one fewer than the schedulers.
        last_epoch: the index of the last epoch (-1 to start).

    >>> import deltagrad as dg
    >>> from deltagrad.optim import lr_scheduler
    >>> opt = dg.optim.SGD([dg.zeros(1, requires_grad=True)], lr=1.0)
    >>> warmup = lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=3)
    >>> decay = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    >>> scheduler = lr_scheduler.SequentialLR(opt, [warmup, decay], milestones=[3])
    >>> lrs = []
    >>> for epoch in range(6):
    ...     lrs.append(scheduler.get_last_lr()[0])
    ...     opt.step()
    ...     scheduler.step()
    >>> lrs
    [0.25, 0.5, 0.75, 1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler],
                 milestones: Sequence[int], last_epoch: int = -1):
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError("SequentialLR expects at least one scheduler")
        for index, scheduler in enumerate(schedulers):
            if isinstance(scheduler, ReduceLROnPlateau) or not isinstance(scheduler, LRScheduler):
                raise TypeError(
                    f"SequentialLR: schedulers[{index}] is a {type(scheduler).__name__}; it "
                    f"takes epoch-indexed LRSchedulers (not ReduceLROnPlateau)"
                )
            if scheduler.optimizer is not optimizer:
                raise ValueError(
                    f"SequentialLR: schedulers[{index}] is bound to a different optimizer"
                )
        milestones = [int(milestone) for milestone in milestones]
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR expects one milestone fewer than schedulers, got "
                f"{len(schedulers)} schedulers and {len(milestones)} milestones"
            )
        self.optimizer = optimizer
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        # Building the schedulers stepped each of them once; undo that, then start the first.
        for group in optimizer.param_groups:
            _set_group_value(group, "lr", group["initial_lr"])
        for scheduler in schedulers:
            scheduler.last_epoch -= 1
        schedulers[0]._initial_step()
        self._last_lr = schedulers[0].get_last_lr()

    def step(self) -> None:  # type: ignore[override]
        """Advance by one epoch: step the scheduler in charge, or start the next one."""
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._update_to(0)  # restarted, not stepped: _step_count stays
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        state = {key: copy.deepcopy(value) for key, value in self.__dict__.items()
                 if key not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = copy.deepcopy(state_dict)
        saved_schedulers = state.pop("_schedulers")
        if len(saved_schedulers) != len(self._schedulers):
            raise ValueError(
                f"loaded SequentialLR state has {len(saved_schedulers)} schedulers, this one "
                f"has {len(self._schedulers)}"
            )
        self.__dict__.update(state)
        for scheduler, saved in zip(self._schedulers, saved_schedulers):
            scheduler.load_state_dict(saved)


class ReduceLROnPlateau(LRScheduler):
    """Divide the lr when a metric has stopped improving (not epoch-indexed).

    Call ``step(metric)`` after each evaluation. A metric is an improvement if it beats the
    best so far by the threshold (``rel``: best·(1 ∓ threshold), ``abs``: best ∓ threshold).
    After more than ``patience`` epochs without improvement the lrs are multiplied by
    ``factor`` (not below ``min_lr``; changes smaller than ``eps`` are skipped), and then
    ``cooldown`` epochs pass before bad epochs count again. Unlike the other schedulers,
    construction does not step.

    Args:
        optimizer: the optimizer whose learning rates to set.
        mode: ``"min"`` (lower metric is better, e.g. loss) or ``"max"`` (e.g. F1).
        factor: multiplies the lr at each reduction; below 1.
        patience: the number of epochs without improvement tolerated.
        threshold: the improvement needed to count as one.
        threshold_mode: ``"rel"`` or ``"abs"``.
        cooldown: epochs to wait after a reduction before counting bad epochs again.
        min_lr: the lowest lr, for all groups or one per group.
        eps: the smallest change of lr worth making.

    >>> import deltagrad as dg
    >>> opt = dg.optim.SGD([dg.zeros(1, requires_grad=True)], lr=1.0)
    >>> scheduler = dg.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1)
    >>> lrs = []
    >>> for loss in [3.0, 2.0, 2.5, 2.4, 2.1, 1.0]:
    ...     scheduler.step(loss)
    ...     lrs.append(scheduler.get_last_lr()[0])
    >>> lrs                         # two epochs without improvement after 2.0: halved
    [1.0, 1.0, 1.0, 0.5, 0.5, 0.5]
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float | Sequence[float] = 0, eps: float = 1e-8):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        if factor >= 1.0:
            raise ValueError(f"Factor should be < 1.0. (got {factor!r})")
        if mode not in ("min", "max"):
            raise ValueError(f"mode {mode} is unknown! (mode must be 'min' or 'max')")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        count = len(optimizer.param_groups)
        # The attributes in PyTorch's order, which is its state dict's; values as given.
        self.factor = factor
        self.optimizer = optimizer
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != count:
                raise ValueError(f"expected {count} min_lrs (one per group), got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * count
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = _group_values(optimizer, "lr")
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self._reset()

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def step(self, metrics: float, epoch: int | None = None) -> None:  # type: ignore[override]
        """Record this epoch's metric; reduce the lrs after too long a plateau.

        Args:
            metrics: the monitored value (a number or a one-element tensor).
            epoch: deprecated (as in PyTorch): the epoch this is, instead of the next one.
        """
        current = float(metrics)
        if epoch is None:
            self.last_epoch += 1
        else:
            warnings.warn(EPOCH_DEPRECATION, UserWarning, stacklevel=2)
            self.last_epoch = epoch
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            # (PyTorch's private signature: libraries replace _reduce_lr(epoch), pytorch-ignite's
            # ReduceLROnPlateauScheduler among them)
            self._reduce_lr(self.last_epoch)
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = _group_values(self.optimizer, "lr")

    def _reduce_lr(self, epoch: int) -> None:
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                _set_group_value(group, "lr", new_lr)

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def is_better(self, a: float, best: float) -> bool:
        """Whether metric ``a`` improves on ``best`` by more than the threshold."""
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold


# ------------------------------------------------------------------------------------------
# More epoch-indexed schedules


class MultiplicativeLR(LRScheduler):
    """Multiply the lr by a function of the epoch at every step: lr_t = lr_{t−1} · f(t).

    The construction step leaves the lrs as they are. The functions are not saved in
    ``state_dict`` (callable objects have their ``__dict__`` saved), as for ``LambdaLR``.

    Args:
        optimizer: the optimizer whose learning rates to set.
        lr_lambda: a function of the epoch (int) returning the factor, or one per group.
        last_epoch: the index of the last epoch (-1 to start).

    >>> import deltagrad as dg
    >>> opt = dg.optim.SGD([dg.zeros(1, requires_grad=True)], lr=1.0)
    >>> scheduler = dg.optim.lr_scheduler.MultiplicativeLR(opt, lambda epoch: 0.5)
    >>> lrs = []
    >>> for epoch in range(4):
    ...     lrs.append(scheduler.get_last_lr()[0])
    ...     opt.step()
    ...     scheduler.step()
    >>> lrs
    [1.0, 0.5, 0.25, 0.125]
    """

    def __init__(self, optimizer: Optimizer,
                 lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1):
        self.lr_lambdas = _per_group(optimizer, lr_lambda)
        for function in self.lr_lambdas:
            if not callable(function):
                raise TypeError(
                    f"lr_lambda should be a function, but got {type(function).__name__}"
                )
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        warn_outside_step(self)
        groups = self.optimizer.param_groups
        if self._step_count == 1:  # the construction step (or a resume): keep the lrs
            return [group["lr"] for group in groups]
        return [group["lr"] * function(self.last_epoch)
                for function, group in zip(self.lr_lambdas, groups)]

    # The same saving rules as LambdaLR: only callable objects' attributes are kept.
    state_dict = LambdaLR.state_dict
    load_state_dict = LambdaLR.load_state_dict


class ConstantLR(LRScheduler):
    """Scale the lr by a constant ``factor`` for the first ``total_iters`` epochs.

    lr = base_lr · factor while epoch < total_iters, then base_lr (a simple warm-up).

    Args:
        optimizer: the optimizer whose learning rates to set.
        factor: the scale during the first epochs, in [0, 1].
        total_iters: the number of epochs the scale lasts.
        last_epoch: the index of the last epoch (-1 to start).
    """

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1):
        if factor > 1.0 or factor < 0:
            raise ValueError(
                f"Constant multiplicative factor expected to be between 0 and 1, got {factor!r}"
            )
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        warn_outside_step(self)
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in groups]
        if self.last_epoch != self.total_iters:
            return [group["lr"] for group in groups]
        return [group["lr"] * (1.0 / self.factor) for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        done = self.last_epoch >= self.total_iters
        return [base * (self.factor + done * (1 - self.factor)) for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decay the lr polynomially to 0 over ``total_iters`` epochs, then keep it.

    lr = base_lr · (1 − min(epoch, total_iters) / total_iters)^power.

    Args:
        optimizer: the optimizer whose learning rates to set.
        total_iters: the number of epochs the decay takes.
        power: the power of the polynomial (1: linear).
        last_epoch: the index of the last epoch (-1 to start).
    """

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1):
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        warn_outside_step(self)
        groups = self.optimizer.param_groups
        if self._step_count == 1 or self.last_epoch > self.total_iters:
            return [group["lr"] for group in groups]
        # factor(t) / factor(t − 1), so that the schedule composes with other changes
        ratio = ((1.0 - self.last_epoch / self.total_iters)
                 / (1.0 - (self.last_epoch - 1) / self.total_iters)) ** self.power
        return [group["lr"] * ratio for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        done = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * (1.0 - done) ** self.power for base in self.base_lrs]


class ChainedScheduler(LRScheduler):
    """Step several schedulers together, so that their changes to the lr compose.

    Each ``step()`` steps every scheduler in order; e.g. a ``ConstantLR`` warm-up chained
    with an ``ExponentialLR`` decay multiplies their factors.

    Args:
        schedulers: the schedulers, all bound to one optimizer (not ReduceLROnPlateau).
        optimizer: that optimizer (default: the first scheduler's).

    >>> import deltagrad as dg
    >>> from deltagrad.optim import lr_scheduler
    >>> opt = dg.optim.SGD([dg.zeros(1, requires_grad=True)], lr=1.0)
    >>> scheduler = lr_scheduler.ChainedScheduler([
    ...     lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=2),
    ...     lr_scheduler.ExponentialLR(opt, gamma=0.5)])
    >>> lrs = []
    >>> for epoch in range(4):
    ...     lrs.append(scheduler.get_last_lr()[0])
    ...     opt.step()
    ...     scheduler.step()
    >>> lrs
    [0.5, 0.25, 0.25, 0.125]
    """

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None):
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError(
                "ChainedScheduler expects at least one scheduler to be chained, but got no "
                "scheduler."
            )
        for index, scheduler in enumerate(schedulers):
            if not hasattr(scheduler, "optimizer"):
                raise TypeError(
                    f"ChainedScheduler: schedulers[{index}] ({type(scheduler).__name__}) has no "
                    f"optimizer; it takes LRSchedulers"
                )
        optimizer = optimizer or schedulers[0].optimizer
        for index, scheduler in enumerate(schedulers):
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(
                    f"ChainedScheduler does not support ReduceLROnPlateau (its step needs a "
                    f"metric), but schedulers[{index}] is one"
                )
            if scheduler.optimizer is not optimizer:
                raise ValueError(
                    f"ChainedScheduler expects all schedulers to belong to the same optimizer, "
                    f"but schedulers[{index}] ({type(scheduler).__name__}) has another one"
                )
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = _group_values(optimizer, "lr")

    def step(self) -> None:  # type: ignore[override]
        """Step every chained scheduler once, in order."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = _group_values(self.optimizer, "lr")

    # Saved with the states of the chained schedulers, as SequentialLR is.
    state_dict = SequentialLR.state_dict

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = copy.deepcopy(state_dict)
        saved_schedulers = state.pop("_schedulers")
        if len(saved_schedulers) != len(self._schedulers):
            raise ValueError(
                f"loaded ChainedScheduler state has {len(saved_schedulers)} schedulers, this "
                f"one has {len(self._schedulers)}"
            )
        self.__dict__.update(state)
        for scheduler, saved in zip(self._schedulers, saved_schedulers):
            scheduler.load_state_dict(saved)
