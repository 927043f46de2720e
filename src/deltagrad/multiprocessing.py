"""PyTorch's ``torch.multiprocessing``: Python's ``multiprocessing``, re-exported, the
sharing-strategy switches, and ``spawn`` / ``start_processes`` (``fn(i, *args)`` in ``nprocs``
processes, an exception in one of them raised in the parent).

NOTE: PyTorch moves a tensor sent to another process into shared memory, so in-place changes
made there are seen by the sender (Hogwild training relies on it). deltagrad tensors are
pickled by value: the receiver gets a copy, and changes to it are not seen by the sender.
Tensors moved by ``share_memory_()`` / ``Module.share_memory()`` before a process is forked
(the default start method on Linux) are shared with it, as mnist_hogwild does.
The sharing strategy is recorded (``get_sharing_strategy`` answers it) but changes nothing.
"""

from __future__ import annotations

import multiprocessing as _multiprocessing
import sys
import traceback
from multiprocessing import *  # noqa: F403 - PyTorch's module re-exports Python's
from multiprocessing.connection import wait as _wait

__all__ = [*_multiprocessing.__all__, "ProcessContext", "ProcessExitedException",
           "ProcessRaisedException", "get_all_sharing_strategies", "get_sharing_strategy",
           "set_sharing_strategy", "spawn", "start_processes"]

_STRATEGIES = {"file_descriptor", "file_system"}
_strategy = ["file_descriptor"]


def get_all_sharing_strategies() -> set[str]:
    """The strategies PyTorch offers on Linux: ``{'file_descriptor', 'file_system'}``."""
    return set(_STRATEGIES)


def get_sharing_strategy() -> str:
    """The strategy last set (``'file_descriptor'`` at first)."""
    return _strategy[0]


def set_sharing_strategy(new_strategy: str) -> None:
    """Record ``new_strategy`` (one of ``get_all_sharing_strategies()``, else
    ``AssertionError`` as PyTorch). It changes nothing: tensors travel between processes by
    value here (see the module's note)."""
    assert new_strategy in _STRATEGIES, f"unknown sharing strategy {new_strategy!r}"
    _strategy[0] = new_strategy


class ProcessException(Exception):
    """A process started by ``start_processes`` failed (``error_index``: its index)."""

    def __init__(self, msg: str, error_index: int, error_pid: int) -> None:
        super().__init__(msg)
        self.msg = msg
        self.error_index = error_index
        self.pid = error_pid

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid)


class ProcessRaisedException(ProcessException):
    """A process raised an exception; the message holds its traceback."""


class ProcessExitedException(ProcessException):
    """A process ended with a non-zero exit code without raising (killed, ``os._exit``)."""

    def __init__(self, msg: str, error_index: int, error_pid: int, exit_code: int,
                 signal_name: str | None = None) -> None:
        super().__init__(msg, error_index, error_pid)
        self.exit_code = exit_code
        self.signal_name = signal_name

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid, self.exit_code,
                            self.signal_name)


def _run(fn, index: int, args: tuple, errors) -> None:
    try:
        fn(index, *args)
    except KeyboardInterrupt:
        pass  # (the parent stops the others)
    except Exception:
        errors.put(traceback.format_exc())
        sys.exit(1)


class ProcessContext:
    """The processes ``start_processes(..., join=False)`` started; ``join()`` waits for them."""

    def __init__(self, processes: list, error_queues: list) -> None:
        self.processes = processes
        self.error_queues = error_queues
        self.sentinels = {p.sentinel: i for i, p in enumerate(processes)}

    def pids(self) -> list:
        """The process ids, by index."""
        return [int(p.pid) for p in self.processes]

    def join(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (None: no limit) for the processes to end.

        Returns:
            True when all have ended successfully; False when some still run.

        Raises:
            ProcessRaisedException: a process raised (the others are terminated).
            ProcessExitedException: a process ended with a non-zero exit code.
        """
        if not self.sentinels:
            return True
        ready = _wait(list(self.sentinels), timeout=timeout)
        failed = None
        for sentinel in ready:
            index = self.sentinels.pop(sentinel)
            process = self.processes[index]
            process.join()
            if process.exitcode != 0 and failed is None:
                failed = index
        if failed is None:
            return not self.sentinels
        for process in self.processes:  # (as PyTorch: one failure ends the others)
            if process.is_alive():
                process.terminate()
            process.join()
        self.sentinels.clear()
        process = self.processes[failed]
        queue = self.error_queues[failed]
        if queue.empty():
            code = process.exitcode
            if code < 0:
                import signal

                name = signal.Signals(-code).name
                raise ProcessExitedException(f"process {failed} terminated with signal {name}",
                                             failed, process.pid, code, name)
            raise ProcessExitedException(f"process {failed} terminated with exit code {code}",
                                         failed, process.pid, code)
        message = f"\n\n-- Process {failed} terminated with the following error:\n"
        raise ProcessRaisedException(message + queue.get(), failed, process.pid)


def start_processes(fn, args: tuple = (), nprocs: int = 1, join: bool = True,
                    daemon: bool = False, start_method: str = "spawn"):
    """Run ``fn(i, *args)`` for ``i`` in ``range(nprocs)``, each in a new process.

    Args:
        fn: a function importable by the child (module level, for ``"spawn"``).
        args: the arguments after the index.
        nprocs: how many processes.
        join: wait for them all (an exception in one is raised here).
        daemon: the processes' daemon flag.
        start_method: ``"spawn"``, ``"fork"`` or ``"forkserver"``.

    Returns:
        None when ``join``; else the ``ProcessContext``.
    """
    context = _multiprocessing.get_context(start_method)
    processes, queues = [], []
    for index in range(nprocs):
        queue = context.SimpleQueue()
        process = context.Process(target=_run, args=(fn, index, args, queue), daemon=daemon)
        process.start()
        processes.append(process)
        queues.append(queue)
    started = ProcessContext(processes, queues)
    if not join:
        return started
    while not started.join():
        pass
    return None


def spawn(fn, args: tuple = (), nprocs: int = 1, join: bool = True, daemon: bool = False,
          start_method: str = "spawn"):
    """``start_processes`` (PyTorch's ``spawn``, whose start method is normally "spawn")."""
    return start_processes(fn, args, nprocs, join, daemon, start_method)


ENV_VAR_PARALLEL_START = "TORCH_MP_PARALLEL_START"  # (PyTorch's name; read by nothing here)


class SpawnContext(ProcessContext):
    """PyTorch's old name of ``ProcessContext`` (it warns, as PyTorch's does)."""

    def __init__(self, processes: list, error_queues: list) -> None:
        import warnings

        warnings.warn("SpawnContext is renamed to ProcessContext since 1.4 release.",
                      stacklevel=2)
        super().__init__(processes, error_queues)


# PyTorch's module path `torch.multiprocessing.spawn` (its package attribute `spawn` stays the
# function, as in PyTorch). An empty __path__ makes this module a package to the import system;
# the submodule is the sys.modules entry made here (as nn/utils.py does for nn.utils.rnn).
__path__: list[str] = []
_spawn_module = type(sys)(f"{__name__}.spawn", "PyTorch's torch.multiprocessing.spawn.")
_spawn_module.__dict__.update(
    ENV_VAR_PARALLEL_START=ENV_VAR_PARALLEL_START, ProcessContext=ProcessContext,
    ProcessException=ProcessException, ProcessExitedException=ProcessExitedException,
    ProcessRaisedException=ProcessRaisedException, SpawnContext=SpawnContext, spawn=spawn,
    start_processes=start_processes)
sys.modules[_spawn_module.__name__] = _spawn_module
