"""glibc's heap keeps a training step's freed memory for the next one (_engine/buffers.py's
keep_heap): without it every step faulted its arrays' pages in again (W4: 1,378 a step)."""

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.confstr("CS_GNU_LIBC_VERSION"),
    reason="glibc only")

# A step: 40 arrays of 512 KB alive at once (as a model's activations), then all freed.
PROGRAM = textwrap.dedent("""
    import resource, sys
    import numpy as np
    if sys.argv[1] == "deltagrad":
        import deltagrad  # noqa: F401

    def step():
        arrays = [np.ones(1 << 17, np.float32) for _ in range(40)]
        del arrays

    for _ in range(3):
        step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        step()
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
""")


def _faults_per_step(mode: str) -> float:
    done = subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True,
                          check=True, timeout=60)
    return float(done.stdout.strip())


def test_a_step_of_freed_arrays_is_not_faulted_in_again():
    # NumPy alone: the 20 MB are given back at each step's end and faulted in again (5,120
    # pages of 4 KB a step); with deltagrad imported they stay in the heap.
    assert _faults_per_step("numpy") > 1000
    assert _faults_per_step("deltagrad") < 100


def test_keep_heap_reports_whether_it_set_the_heap():
    from deltagrad._engine import buffers

    assert buffers.keep_heap() is True
