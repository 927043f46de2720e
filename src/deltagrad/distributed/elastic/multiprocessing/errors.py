"""``torch.distributed.elastic.multiprocessing.errors``: ``@record`` on a training script's
entry point. As PyTorch's: the function runs unchanged; an exception it raises is written as
JSON to the file named by ``TORCHELASTIC_ERROR_FILE`` (when set: torchrun sets it) and raised
again; ``SystemExit(0)`` returns None. ``ChildFailedError`` / ``ProcessFailure`` are the elastic
agent's reports of failed worker processes (an agent deltagrad has none of)."""

from __future__ import annotations

import faulthandler
import functools
import json
import os
import time
import traceback
import warnings
from dataclasses import dataclass

__all__ = ["ChildFailedError", "ErrorHandler", "ProcessFailure", "get_error_handler", "record"]


class ErrorHandler:
    """Writes an exception, with its traceback, to ``TORCHELASTIC_ERROR_FILE``."""

    def _get_error_file_path(self) -> str | None:
        return os.environ.get("TORCHELASTIC_ERROR_FILE", None)

    def initialize(self) -> None:
        """Turn on ``faulthandler`` (tracebacks of crashes), as PyTorch's."""
        try:
            faulthandler.enable(all_threads=True)
        except Exception as error:  # noqa: BLE001 - a warning, as PyTorch's
            warnings.warn(f"Unable to enable fault handler. {type(error).__name__}: {error}",
                          stacklevel=2)

    def record_exception(self, e: BaseException) -> None:
        """Write ``e`` (its type, message, the current traceback and the time) as JSON to the
        error file; nothing when no file is named."""
        path = self._get_error_file_path()
        if path:
            record = {"message": {"message": f"{type(e).__name__}: {e}", "extraInfo": {
                "py_callstack": traceback.format_exc(), "timestamp": str(int(time.time()))}}}
            with open(path, "w") as handle:
                json.dump(record, handle)


def get_error_handler() -> ErrorHandler:
    """The default ``ErrorHandler``."""
    return ErrorHandler()


@dataclass
class ProcessFailure:
    """A failed worker process as the elastic agent reports it."""

    local_rank: int
    pid: int
    exitcode: int
    error_file: str


class ChildFailedError(Exception):
    """The elastic agent's error: worker processes failed (``failures``: global rank ->
    ProcessFailure)."""

    def __init__(self, name: str, failures: dict) -> None:
        self.name = name
        self.failures = failures
        super().__init__(f"{name} FAILED: ranks {sorted(failures)}")


def record(fn, error_handler: ErrorHandler | None = None):
    """Decorate ``fn`` so that an exception it raises is recorded (see the module) and raised
    again; ``SystemExit`` with code 0 returns None."""
    handler = error_handler or get_error_handler()

    def wrap(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            handler.initialize()
            try:
                return function(*args, **kwargs)
            except SystemExit as exit_:
                if exit_.code == 0:
                    return None
                raise
            except Exception as error:
                handler.record_exception(error)
                raise
        return wrapper

    return wrap(fn)
