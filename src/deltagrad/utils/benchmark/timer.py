"""``Timer``: PyTorch's ``torch.utils.benchmark.Timer`` for Python statements, built on the
standard library's ``timeit``, with deltagrad's intra-op thread count set while it measures."""

from __future__ import annotations

import enum
import sys
import textwrap
import timeit as _timeit_module
from collections.abc import Callable

import numpy as np

from ..._engine import get_num_threads, set_num_threads, threads
from ..._engine.api import settings
from .common import Measurement, TaskSpec

__all__ = ["Language", "Timer", "timer"]

timer = _timeit_module.default_timer


class Language(enum.Enum):
    PYTHON = 0
    CPP = 1


def _clean(code: str) -> str:
    code = textwrap.dedent(code)
    return (code[1:] if code.startswith("\n") else code).rstrip()


class Timer:
    """Time a Python statement (a string, run with ``setup`` first, in ``globals``; the
    name ``torch`` is deltagrad unless ``globals`` says otherwise, as PyTorch injects itself).

    ``timeit(number)`` runs it ``number`` times in one block; ``blocked_autorange`` picks a
    block size worth timing and repeats blocks for at least ``min_run_time`` seconds;
    ``adaptive_autorange`` repeats until the IQR is below ``threshold`` of the median.
    ``repeat`` and ``autorange`` raise ``NotImplementedError`` as PyTorch's do; C++ statements
    (``language="c++"``) and ``collect_callgrind`` are not supported.
    """

    def __init__(self, stmt: str = "pass", setup: str = "pass", global_setup: str = "",
                 timer: Callable[[], float] = timer, globals: dict | None = None,  # noqa: A002
                 label: str | None = None, sub_label: str | None = None,
                 description: str | None = None, env: str | None = None,
                 num_threads: int = 1, language: Language | str = Language.PYTHON) -> None:
        if not isinstance(stmt, str):
            raise ValueError("Currently only a `str` stmt is supported.")
        if language in (Language.CPP, "cpp", "c++"):
            raise NotImplementedError("deltagrad.utils.benchmark.Timer times Python "
                                      "statements only (there is no C++ API)")
        if language not in (Language.PYTHON, "py", "python"):
            raise ValueError(f"Invalid language `{language}`.")
        if global_setup:
            raise ValueError(f"global_setup is C++ only, got `{global_setup}`. Most likely "
                             "this code can simply be moved to `setup`.")
        self._globals = dict(globals or {})
        # The statements are user code, which PyTorch runs with `torch` defined; deltagrad is
        # loaded before any of its submodules, so it is taken from sys.modules, not imported
        # (this module sits below the top-level package).
        self._globals.setdefault("torch", sys.modules["deltagrad"])
        stmt, setup = _clean(stmt), _clean(setup)
        self._timer = _timeit_module.Timer(stmt=stmt, setup=setup, timer=timer,
                                           globals=self._globals)
        self._task_spec = TaskSpec(stmt=stmt, setup=setup, label=label, sub_label=sub_label,
                                   description=description, env=env,
                                   num_threads=num_threads)

    def _timeit(self, number: int) -> float:
        return self._timer.timeit(number)

    def _threads(self):
        return _Threads(self._task_spec.num_threads)

    def timeit(self, number: int = 1000000) -> Measurement:
        """One block of ``number`` runs (after a short warm-up of ``number // 100``, at
        least 2)."""
        with self._threads():
            self._timeit(max(number // 100, 2))
            return Measurement(number, [self._timeit(number)], self._task_spec)

    def repeat(self, repeat: int = -1, number: int = -1):
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def autorange(self, callback=None):
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def _block_size(self, min_run_time: float) -> int:
        """Runs per block: grown tenfold until a block is long against the timer's own
        overhead (an empty block) and a thousandth of ``min_run_time``, or passes it."""
        overhead = float(np.median([self._timeit(0) for _ in range(5)]))
        number = 1
        while number * 10 <= 2 ** 31 - 1:
            taken = self._timeit(number)
            if taken > min_run_time or (overhead / taken <= 1e-4
                                        and taken >= min_run_time / 1000):
                break
            number *= 10
        return number

    def _blocks(self, number: int, min_run_time: float, stop, max_run_time=None,
                callback=None) -> list:
        times: list = []
        total = 0.0
        while True:
            taken = self._timeit(number)
            times.append(taken)
            total += taken
            if callback is not None:
                callback(number, taken)
            if total >= min_run_time and stop(times):
                break
            if max_run_time is not None and total > max_run_time:
                break
        return times

    def blocked_autorange(self, callback: Callable | None = None,
                          min_run_time: float = 0.2) -> Measurement:
        """Blocks of an automatic size, repeated for at least ``min_run_time`` seconds;
        ``callback(number, seconds)`` is called after each block."""
        with self._threads():
            number = self._block_size(min_run_time)
            times = self._blocks(number, min_run_time, lambda times: True, callback=callback)
        return Measurement(number, times, self._task_spec)

    def adaptive_autorange(self, threshold: float = 0.1, *, min_run_time: float = 0.01,
                           max_run_time: float = 10.0,
                           callback: Callable | None = None) -> Measurement:
        """Blocks repeated (at least 4, for ``min_run_time`` seconds) until the IQR is
        below ``threshold`` times the median, or ``max_run_time`` seconds have passed."""
        with self._threads():
            number = self._block_size(0.05)

            def stop(times):
                return len(times) > 3 and Measurement(number, times,
                                                      self._task_spec).meets_confidence(threshold)

            times = self._blocks(number, min_run_time, stop, max_run_time, callback)
        return Measurement(number, times, self._task_spec)

    def collect_callgrind(self, *args, **kwargs):
        raise NotImplementedError("deltagrad.utils.benchmark.Timer.collect_callgrind: "
                                  "Callgrind instruction counts are not supported")


class _Threads:
    """Run with deltagrad's intra-op thread count set to ``count``, then restore it."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __enter__(self) -> None:
        # (everything set_num_threads changes, so that leaving is a no-op as in PyTorch: put
        # back by set_num_threads(get_num_threads()) alone, a count never set became a recorded
        # one and deltagrad's pool took the BLAS pool's size; found by tests/conftest.py's guard)
        self.previous = (settings._Threads.intra, threads.count(), get_num_threads())
        set_num_threads(self.count)

    def __exit__(self, *exc) -> None:
        intra, pool, blas = self.previous
        set_num_threads(blas)
        settings._Threads.intra = intra
        threads.set_count(pool)
