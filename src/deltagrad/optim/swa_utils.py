"""Weight averaging (PyTorch's ``torch.optim.swa_utils``): ``AveragedModel`` keeps a running
average of a model's parameters (stochastic weight averaging, or an exponential moving
average), ``SWALR`` anneals the learning rate to a constant for SWA, and ``update_bn``
recomputes batch-norm statistics for the averaged weights.

Averages are written into the averaged model's arrays in place, with PyTorch's formulas (SWA:
``avg + (x - avg) / (n + 1)``; EMA: ``lerp(avg, x, 1 - decay)``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import _engine as dg
from .._engine import no_grad
from .._engine.tensor import Tensor
from ..nn.module import Module
from ..nn.normalization import _BatchNorm
from ._lr_base import LRScheduler, warn_outside_step
from ._precision import lerp_into
from .optimizer import Optimizer

__all__ = ["SWALR", "AveragedModel", "get_ema_avg_fn", "get_ema_multi_avg_fn",
           "get_swa_avg_fn", "get_swa_multi_avg_fn", "update_bn"]


def _array(tensor: Tensor) -> np.ndarray:
    return tensor.detach().numpy()


def _write(target: Tensor, value) -> None:
    """Write ``value`` into ``target``'s array (cast as PyTorch's ``copy_``: floats truncate
    into integers)."""
    array = value.detach().numpy() if isinstance(value, Tensor) else np.asarray(value)
    np.copyto(_array(target), array, casting="unsafe")


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    lerp_into(start, end, start.dtype.type(weight))  # (PyTorch's lerp_, the weight rounded)


def _check_decay(decay: float) -> None:
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         "[0,1] range.")


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """An in-place EMA for ``AveragedModel(multi_avg_fn=...)``: each averaged tensor becomes
    ``lerp(avg, x, 1 - decay)`` (``decay * avg + (1 - decay) * x`` for integer tensors).

    Raises:
        ValueError: ``decay`` outside [0, 1].
    """
    _check_decay(decay)

    def ema_update(ema_param_list, current_param_list, _num_averaged) -> None:
        for ema, current in zip(ema_param_list, current_param_list):
            if ema.dtype.kind == "f":
                _lerp_(_array(ema), _array(current), 1 - decay)
            else:  # PyTorch's tensor expression: int64 * a float is in the default dtype
                with no_grad():  # (float32: NumPy's float64 took 0.8 + 1.2 to 1.999.. -> 1)
                    _write(ema, ema.detach() * decay + current.detach() * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    """An in-place equal average for ``AveragedModel(multi_avg_fn=...)``: ``lerp(avg, x,
    1 / (n + 1))`` (``avg + (x - avg) / (n + 1)`` for integer tensors)."""

    def swa_update(averaged_param_list, current_param_list, num_averaged) -> None:
        n = int(num_averaged.item()) if isinstance(num_averaged, Tensor) else num_averaged
        for averaged, current in zip(averaged_param_list, current_param_list):
            if averaged.dtype.kind == "f":
                _lerp_(_array(averaged), _array(current), 1 / (n + 1))
            else:
                _write(averaged, _array(averaged) + (_array(current) - _array(averaged))
                       / (n + 1))

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """An EMA for ``AveragedModel(avg_fn=...)``: ``decay * avg + (1 - decay) * x``.

    Raises:
        ValueError: ``decay`` outside [0, 1].
    """
    _check_decay(decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged) -> Tensor:
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn() -> Callable:
    """An equal average for ``AveragedModel(avg_fn=...)``: ``avg + (x - avg) / (n + 1)``."""

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged) -> Tensor:
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters are a running average of ``model``'s (PyTorch's
    ``torch.optim.swa_utils.AveragedModel``).

    Call ``update_parameters(model)`` after optimizer steps: the first call copies the weights,
    later ones average them in (equal weights by default). ``n_averaged`` (a buffer) counts the
    calls. Calling the averaged model calls the copy.

    Args:
        model: the model to average (deep-copied).
        device: None or the CPU.
        avg_fn: ``avg_fn(averaged, current, n_averaged) -> new averaged`` per tensor.
        multi_avg_fn: ``multi_avg_fn(averaged_list, current_list, n_averaged)``, updating the
            averaged tensors in place (``get_ema_multi_avg_fn`` for an EMA).
        use_buffers: average the buffers too (else they are copied from ``model``).

    Raises:
        AssertionError: both ``avg_fn`` and ``multi_avg_fn`` given (as PyTorch).

    >>> import deltagrad as dg
    >>> model = dg.nn.Linear(2, 1)
    >>> swa = AveragedModel(model)
    >>> swa.update_parameters(model); int(swa.n_averaged)
    1
    """

    def __init__(self, model: Module, device=None, avg_fn: Callable | None = None,
                 multi_avg_fn: Callable | None = None, use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", dg.tensor(0, dtype=dg.int64))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Average ``model``'s current parameters (and buffers, with ``use_buffers``) in."""
        if self.use_buffers:
            mine = list(self.module.parameters()) + list(self.module.buffers())
            theirs = list(model.parameters()) + list(model.buffers())
        else:
            mine, theirs = list(self.parameters()), list(model.parameters())
        pairs = [(averaged.detach(), current.detach()) for averaged, current in zip(mine, theirs)]
        n = int(self.n_averaged.item())
        if n == 0:
            for averaged, current in pairs:
                _write(averaged, current)
        elif self.avg_fn is not None:
            for averaged, current in pairs:
                _write(averaged, self.avg_fn(averaged, current, self.n_averaged))
        else:
            update = self.multi_avg_fn or get_swa_multi_avg_fn()
            groups: dict[Any, tuple[list, list]] = {}
            for averaged, current in pairs:  # by dtype, as PyTorch groups by device and dtype
                group = groups.setdefault(averaged.dtype, ([], []))
                group[0].append(averaged)
                group[1].append(current)
            for averaged_list, current_list in groups.values():
                if self.multi_avg_fn is None and averaged_list[0].dtype.kind == "f":
                    # PyTorch's CPU default: the per-tensor formula (no foreach lerp there)
                    formula = get_swa_avg_fn()
                    for averaged, current in zip(averaged_list, current_list):
                        _write(averaged, formula(averaged, current, n))
                else:
                    update(averaged_list, current_list, self.n_averaged)
        if not self.use_buffers:
            for mine_buffer, their_buffer in zip(self.module.buffers(), model.buffers()):
                _write(mine_buffer, their_buffer)
        _array(self.n_averaged)[...] += 1


def update_bn(loader: Iterable, model: Module, device=None) -> None:
    """Recompute the running statistics of every batch norm in ``model`` from one pass over
    ``loader`` (in training mode, as cumulative averages), then restore the modules' momenta
    and the model's mode.

    Args:
        loader: yields inputs, or tuples/lists whose first item is the input.
        model: the model (an ``AveragedModel`` too).
        device: None or the CPU.
    """
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):  # BatchNorm1d, 2d and 3d
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for input in loader:
            if isinstance(input, (list, tuple)):
                input = input[0]
            if device is not None:
                input = input.to(device)
            model(input)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's lr from its current value to ``swa_lr`` over ``anneal_epochs``
    epochs, then hold it (PyTorch's ``torch.optim.swa_utils.SWALR``).

    Args:
        optimizer: the optimizer whose learning rates to set.
        swa_lr: the final lr (a number, or one per param group); stored as each group's
            ``"swa_lr"``.
        anneal_epochs: epochs of annealing (0: jump to ``swa_lr``).
        anneal_strategy: ``"cos"`` or ``"linear"``.
        last_epoch: the index of the last epoch (-1 to start).

    Raises:
        ValueError: an unknown strategy, a negative or non-integer ``anneal_epochs``, or a list
            of ``swa_lr`` of the wrong length.
    """

    def __init__(self, optimizer: Optimizer, swa_lr, anneal_epochs: int = 10,
                 anneal_strategy: str = "cos", last_epoch: int = -1) -> None:
        groups = optimizer.param_groups
        if isinstance(swa_lr, (list, tuple)):
            if len(swa_lr) != len(groups):
                raise ValueError(f"swa_lr must have the same length as optimizer.param_groups: "
                                 f"swa_lr has {len(swa_lr)} values, param_groups has "
                                 f"{len(groups)}.")
            swa_lrs = list(swa_lr)
        else:
            swa_lrs = [swa_lr] * len(groups)
        for value, group in zip(swa_lrs, groups):
            group["swa_lr"] = value
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got "
                             f"{anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t: float) -> float:
        return t

    @staticmethod
    def _cosine_anneal(t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        # The lr the annealing started from, recovered from the current one (chainable form).
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def _set_anneal_func(self, anneal_strategy: str) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else \
            self._linear_anneal

    def get_lr(self) -> list[float]:
        """The lrs for the current step: ``alpha * swa_lr + (1 - alpha) * start``, with
        ``alpha`` the annealing function of ``step / anneal_epochs`` (clipped to [0, 1])."""
        warn_outside_step(self)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        groups = self.optimizer.param_groups
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        starts = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(groups, starts)]

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state, without the optimizer and the annealing function."""
        return {key: copy.deepcopy(value) for key, value in self.__dict__.items()
                if key not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state from ``state_dict``."""
        self.__dict__.update(copy.deepcopy(state_dict))
        self._set_anneal_func(self._anneal_strategy)
