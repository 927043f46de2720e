"""``torch.distributed.algorithms.join``: ``Join``, the context manager for uneven inputs
across processes. In a world of one process (what deltagrad runs without MPI) every input is
trivially even: entering does nothing and leaving runs each joinable's post-hook as the last
joiner, as PyTorch does. Shadowing collectives for ranks that finished early across several MPI
processes is not implemented: entering an enabled ``Join`` in a larger world raises."""

from __future__ import annotations

from abc import ABC, abstractmethod

from ..process_group import get_world_size, is_initialized

__all__ = ["Join", "JoinHook", "Joinable"]


class JoinHook:
    """What a joinable does while others still run (``main_hook``) and once all have joined
    (``post_hook``); both do nothing by default."""

    def main_hook(self) -> None:
        """Shadow one iteration's collectives of a process that has run out of inputs."""

    def post_hook(self, is_last_joiner: bool) -> None:
        """Clean up once every process has joined."""


class Joinable(ABC):
    """A class that takes part in ``Join`` (PyTorch's DistributedDataParallel, ZeRO, ...)."""

    def __init__(self) -> None:
        super().__init__()
        self._join_config = _JoinConfig(enable=False, throw_on_early_termination=False,
                                        is_first_joinable=False)

    @abstractmethod
    def join_hook(self, **kwargs) -> JoinHook:
        """The hook ``Join`` runs for this object."""

    @property
    @abstractmethod
    def join_device(self):
        """The device of this object's collectives."""

    @property
    @abstractmethod
    def join_process_group(self):
        """The process group of this object's collectives."""


class _JoinConfig:
    def __init__(self, enable: bool, throw_on_early_termination: bool,
                 is_first_joinable: bool) -> None:
        self.enable = enable
        self.throw_on_early_termination = throw_on_early_termination
        self.is_first_joinable = is_first_joinable


class Join:
    """``with Join([model, optimizer]):`` a training loop over inputs that may be uneven
    across processes."""

    def __init__(self, joinables: list, enable: bool = True,
                 throw_on_early_termination: bool = False, **kwargs) -> None:
        if len(joinables) == 0:
            raise ValueError("The join context manager requires at least one joinable")
        self._joinables = list(joinables)
        self._hooks = [joinable.join_hook(**kwargs) for joinable in self._joinables]
        self._enable = enable
        self._throw = throw_on_early_termination
        for index, joinable in enumerate(self._joinables):
            joinable._join_config = _JoinConfig(enable, throw_on_early_termination,
                                                index == 0)

    def __enter__(self) -> Join:
        if self._enable and is_initialized() and get_world_size() > 1:
            raise NotImplementedError(
                "deltagrad does not support torch.distributed.algorithms.Join across more "
                "than one process (uneven inputs are only trivially handled in a world of one)")
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        if not self._enable or exc_type is not None:
            return
        for hook in self._hooks:  # one process: it is the last (and only) joiner
            hook.post_hook(True)

    @staticmethod
    def notify_join_context(joinable: Joinable):
        """Called by a joinable each iteration; nothing to all-reduce in a world of one."""
        return None
