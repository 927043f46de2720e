"""``torch.futures``: a result that arrives later (PyTorch's RPC and distributed code pass them).

deltagrad runs everything eagerly in one process, so a Future here is completed by whoever holds
it (``set_result`` / ``set_exception``); ``then`` and ``add_done_callback`` run their callbacks at
completion, in the completing thread, as PyTorch's CPU futures do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["Future", "collect_all", "wait_all"]

T = TypeVar("T")
S = TypeVar("S")


class Future(Generic[T]):
    """A value (or an exception) that is set once and read any number of times."""

    def __init__(self, *, devices=None) -> None:
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._value: Any = None
        self._error: BaseException | None = None
        self._callbacks: list[Callable[[Future[T]], None]] = []

    def done(self) -> bool:
        """Whether a result or an exception has been set."""
        return self._done.is_set()

    def wait(self) -> T:
        """Blocks until completion; returns the value or raises the exception that was set."""
        self._done.wait()
        return self.value()

    def value(self) -> T:
        """The value of a completed future (raises its exception; RuntimeError if not done)."""
        if not self._done.is_set():
            raise RuntimeError("Future.value() called before the future completed")
        if self._error is not None:
            raise self._error
        return self._value

    def set_result(self, result: T) -> None:
        """Completes the future with ``result`` and runs the callbacks."""
        self._complete(result, None)

    def set_exception(self, result: BaseException) -> None:
        """Completes the future with an exception, raised by ``wait`` and ``value``."""
        if not isinstance(result, BaseException):
            raise TypeError(f"set_exception needs an exception, got {type(result).__name__}")
        self._complete(None, result)

    def _complete(self, value: Any, error: BaseException | None) -> None:
        with self._lock:
            if self._done.is_set():
                raise RuntimeError("Attempting to mark a completed Future as complete again. Note "
                                   "that a Future can only be marked completed once.")
            self._value, self._error = value, error
            self._done.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)

    def add_done_callback(self, callback: Callable[[Future[T]], None]) -> None:
        """Runs ``callback(self)`` at completion (now, if already complete)."""
        with self._lock:
            if not self._done.is_set():
                self._callbacks.append(callback)
                return
        callback(self)

    def then(self, callback: Callable[[Future[T]], S]) -> Future[S]:
        """A new future completed with ``callback(self)`` (or with the error it raises)."""
        chained: Future[S] = Future()

        def run(done: Future[T]) -> None:
            try:
                result = callback(done)
            except Exception as error:  # noqa: BLE001 - handed on to the chained future
                # (PyTorch's wrapping: the chained future raises a RuntimeError naming it)
                wrapped = RuntimeError("Got the following error when running the callback: "
                                       f"{type(error).__name__}: {error}")
                wrapped.__cause__ = error
                chained.set_exception(wrapped)
            else:
                chained.set_result(result)

        self.add_done_callback(run)
        return chained


def collect_all(futures: list[Future]) -> Future[list[Future]]:
    """A future completed with the list ``futures`` once every one of them has completed."""
    futures = list(futures)
    collected: Future[list[Future]] = Future()
    remaining = [len(futures)]
    lock = threading.Lock()

    def one_done(_: Future) -> None:
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            collected.set_result(futures)

    if not futures:
        collected.set_result(futures)
    for future in futures:
        future.add_done_callback(one_done)
    return collected


def wait_all(futures: list[Future]) -> list:
    """The values of ``futures``, waiting for each (raises the first exception met)."""
    return [future.wait() for future in collect_all(futures).wait()]
