"""Shared set-up for the program tests: one BLAS/PyTorch thread, and PyTorch warmed once.

The programs multiply small matrices; on a small shared machine a second BLAS (or PyTorch)
thread only oversubscribes the cores and makes the steps several times slower, so these tests
run single-threaded and put the thread counts back afterwards.
"""

from __future__ import annotations

import collections
import contextlib
import os
import subprocess

import alias_runs
import pytest

try:
    import torch
except ImportError:
    torch = None

# The prog_*.py files are programs the tests run in subprocesses (with their own argv), not
# modules: the doctest collection must not import them (some read sys.argv or patch
# sys.modules at import time), nor their shared helper.
collect_ignore_glob = ["prog_*.py", "tv_common.py"]

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under ``make test`` (``pytest -n 2 --dist loadfile --no-loadscope-reorder``) the files go to
    the two workers whole, in collection order, one as each worker frees up. First come the
    files that start subprocesses (the library programs here, run under PyTorch and under
    deltagrad: most of the suite's time, in few long files, each with a module-scoped run that
    must not be repeated on the other worker) and tests/reliability's long runs; then this
    folder's other files; then the rest, those with the most tests first, so that the end of
    the run is many small files that keep both workers busy to the last. (Session 14's
    snapshot: tests/programs 61 % of the suite's test time, tests/reliability 10 %.) Runs
    without --no-loadscope-reorder keep pytest's order."""
    # (a worker's own option.dist reads "no": the worker sees only --no-loadscope-reorder)
    if config.getoption("loadscopereorder", True) is not False:
        return
    tests_in = collections.Counter(item.path for item in items)

    def order(item):
        module = getattr(item, "module", None)
        if (getattr(module, "run_both", None) is alias_runs.run_both
                or getattr(module, "alias_runs", None) is alias_runs
                or getattr(module, "subprocess", None) is subprocess
                or os.sep + "reliability" + os.sep in str(item.path)):
            return (0, 0)
        if str(item.path).startswith(HERE + os.sep):
            return (1, 0)
        return (2, -tests_in[item.path])

    items.sort(key=order)  # (stable: a file's tests keep their order)


@pytest.fixture(scope="package", autouse=True)
def _single_thread_and_warm_torch():
    with contextlib.ExitStack() as stack:
        try:
            import threadpoolctl
        except ImportError:
            pass
        else:
            stack.enter_context(threadpoolctl.threadpool_limits(limits=1, user_api="blas"))
        if torch is not None:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            stack.callback(torch.set_num_threads, threads)
            # PyTorch's first optimizer step imports its compiler stack (~2 s): pay it here.
            param = torch.zeros(1, requires_grad=True)
            param.sum().backward()
            torch.optim.SGD([param], lr=0.1).step()
        yield
