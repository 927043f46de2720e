"""Shared set-up for the program tests: one BLAS/PyTorch thread, and PyTorch warmed once.

The programs multiply small matrices; on a small shared machine a second BLAS (or PyTorch)
thread only oversubscribes the cores and makes the steps several times slower, so these tests
run single-threaded and put the thread counts back afterwards.
"""

from __future__ import annotations

import contextlib

import pytest

try:
    import torch
except ImportError:
    torch = None

# The prog_*.py files are programs the tests run in subprocesses (with their own argv), not
# modules: the doctest collection must not import them (some read sys.argv or patch
# sys.modules at import time), nor their shared helper.
collect_ignore_glob = ["prog_*.py", "tv_common.py"]


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
            # PyTorch's first optimizer step imports its compiler stack (~2 s): pay it here.
            param = torch.zeros(1, requires_grad=True)
            param.sum().backward()
            torch.optim.SGD([param], lr=0.1).step()
        yield


@pytest.fixture(autouse=True)
def _single_torch_thread():
    """PyTorch's thread count, per test (tests/conftest.py's state guard fails the first test
    of a wider fixture that changes it; setting it is a microsecond)."""
    if torch is None:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
