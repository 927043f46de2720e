"""The intra-op thread pool (_engine/threads.py): split work gives the same bits as unsplit work,
errors reach the caller, one thread makes no pool, and a forked child never waits on its
parent's workers."""

import os
import sys
import threading

import numpy as np
import pytest

from deltagrad._engine import threads
from deltagrad._engine.ops import reductions, special


@pytest.fixture
def counts(monkeypatch):
    """Run a test at several thread counts; the count in force before is put back after (and
    the count set_num_threads records: "not set" again)."""
    from deltagrad._engine.api import settings

    monkeypatch.setattr(settings._Threads, "intra", settings._Threads.intra)
    before = threads.count()
    yield
    threads.set_count(before)


def at(count, function, *args, **kwargs):
    threads.set_count(count)
    return function(*args, **kwargs)


def test_split_ranges_cover_everything_aligned():
    for total, pieces, align in [(700, 2, 64), (70, 2, 64), (262149, 5, 65536), (10, 3, 1),
                                 (1, 4, 1), (129, 2, 64)]:
        ranges = threads.split_ranges(total, pieces, align)
        assert ranges[0][0] == 0 and ranges[-1][1] == total
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
        assert all(start % align == 0 and stop - start >= min(align, total)
                   for start, stop in ranges)
        assert len(ranges) <= pieces


def test_split_runs_every_piece_once_on_pool_threads(counts):
    threads.set_count(3)
    seen = []
    lock = threading.Lock()

    def piece(start, stop):
        with lock:
            seen.append((start, stop, threading.get_ident()))

    threads.split(piece, 9, elements=10**9, pieces=9)
    assert sorted((a, b) for a, b, _ in seen) == [(k, k + 1) for k in range(9)]
    # One thread, or work under the threshold: one direct call on the caller's thread.
    for count, elements in [(1, 10**9), (3, 10)]:
        seen.clear()
        threads.set_count(count)
        threads.split(piece, 9, elements=elements)
        assert seen == [(0, 9, threading.get_ident())]


def test_one_thread_makes_no_pool(counts):
    threads.set_count(1)
    threads.split(lambda a, b: None, 100, elements=10**9)
    assert threads._State.tasks is None
    assert not [t for t in threading.enumerate() if t.name.startswith("deltagrad-intra-op")]


def test_a_piece_error_reaches_the_caller_after_all_pieces(counts):
    threads.set_count(2)
    finished = []

    def piece(start, stop):
        if start:
            raise ValueError("piece failed")
        finished.append(start)

    with pytest.raises(ValueError, match="piece failed"):
        threads.split(piece, 2, elements=10**9)
    assert finished == [0]
    threads.split(lambda a, b: finished.append(a), 2, elements=10**9)  # the pool still works
    assert sorted(finished) == [0, 0, 1]


def test_pieces_see_the_callers_errstate(counts):
    threads.set_count(2)
    x = np.zeros(2)
    out = np.empty(2)

    def piece(start, stop):
        np.divide(1.0, x[start:stop], out=out[start:stop])  # warns unless silenced

    with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        threads.split(piece, 2, elements=10**9)
    with np.errstate(divide="ignore"):
        threads.split(piece, 2, elements=10**9)
    assert np.all(out == np.inf)


def _rows(dtype, shape, rng):
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    flat = x.reshape(-1, shape[-1])
    flat[3, 5] = np.nan
    flat[70, :] = -np.inf  # a fully masked row
    flat[130, 2] = np.inf
    flat[200, :7] = -np.inf  # a partly masked row
    flat[260, 1] = -80.0  # a term far below its row's maximum
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(700, 1000), (8, 100, 300), (2048, 40)])
def test_softmax_family_bits_do_not_depend_on_threads(counts, monkeypatch, dtype, shape):
    rng = np.random.default_rng(0)
    clean = (rng.standard_normal(shape) * 4).astype(dtype)
    special_rows = _rows(dtype, shape, rng)
    g = rng.standard_normal(shape).astype(dtype)
    assert clean.size >= threads.MIN_SPLIT_ELEMENTS
    run = threads._run
    calls = []
    monkeypatch.setattr(threads, "_run", lambda *a, **k: (calls.append(1), run(*a, **k)))
    for x in (clean, special_rows, clean.swapaxes(0, 1).copy().swapaxes(0, 1)[: shape[0]]):
        results = {}
        for count in (1, 2, 3):
            with np.errstate(invalid="ignore"):
                s = at(count, reductions._softmax_forward, x, dim=-1)
                ls = at(count, reductions._log_softmax_forward, x, dim=-1)
                (sg,) = at(count, reductions._softmax_vjp, reductions.ARRAY, g, s, x, dim=-1)
                (lg,) = at(count, reductions._log_softmax_vjp, reductions.ARRAY, g, ls, x,
                           dim=-1)
            results[count] = (s, ls, sg, lg)
        for count in (2, 3):
            for one, many in zip(results[1], results[count]):
                assert one.dtype == many.dtype and one.shape == many.shape
                np.testing.assert_array_equal(one.view(np.uint8), many.view(np.uint8))
    # Rows over 256 long split (4 ops x 2 counts x 3 inputs); shorter ones stay whole.
    assert len(calls) == (24 if shape[-1] > 256 else 0)


def test_softmax_fallback_rows_split_the_same(counts):
    # A row far below the array's maximum sends _softmax_last to the general path (which also
    # splits): both give the bits of one thread.
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 4, 300)).astype(np.float32)
    x[40] -= 200.0
    one = at(1, reductions._softmax_forward, x, dim=-1)
    assert at(1, reductions._softmax_last, x) is None
    np.testing.assert_array_equal(one, at(2, reductions._softmax_forward, x, dim=-1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("size", [2**19 + 7, 2**16 + 3 * 2**13 + 5, 3 * 2**15])
def test_special_kernels_bits_do_not_depend_on_threads(counts, monkeypatch, dtype, size):
    # Split, the blocks are larger than one thread's (special._SPLIT against _BLOCK) and a tail
    # block is cut elsewhere: the kernels are elementwise, so each element's bits stay.
    run = threads._run
    calls = []
    monkeypatch.setattr(threads, "_run", lambda *a, **k: (calls.append(1), run(*a, **k)))
    rng = np.random.default_rng(2)
    x = (rng.standard_normal(size) * 3).astype(dtype)
    x[:4] = [np.nan, np.inf, -np.inf, 0.0]
    g = rng.standard_normal(size).astype(dtype)
    results = {}
    for count in (1, 2, 3):
        with np.errstate(all="ignore"):
            y = at(count, special.gelu, x)
            results[count] = (y, at(count, special.erf, x), at(count, special.normal_cdf, x),
                              at(count, special.gelu_backward, g, y, x))
    for count in (2, 3):
        for one, many in zip(results[1], results[count]):
            np.testing.assert_array_equal(one, many)
            assert one.dtype == many.dtype
    work = 8 if dtype == np.float64 else 4  # (float16 computes in float32)
    # (float64 erf is SciPy's one call, not blocks: three functions split there, else four)
    assert len(calls) == (2 * (3 if work == 8 else 4) if size >= 2 * special._SPLIT[work] else 0)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_does_not_wait_on_its_parents_workers(counts):
    threads.set_count(2)
    x = np.random.default_rng(3).standard_normal(2**20).astype(np.float32)
    expected = special.gelu(x)  # the parent's pool exists now
    assert threads._State.tasks is not None
    reader, writer = os.pipe()
    sys.stdout.flush(), sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: split work again (a new pool), then report and leave at once
        code = 1
        try:
            os.close(reader)
            forgot = threads._State.tasks is None
            same = np.array_equal(special.gelu(x), expected)
            made = threads._State.tasks is not None
            os.write(writer, f"{forgot} {same} {made}".encode())
            code = 0
        finally:
            os._exit(code)
    os.close(writer)
    import select

    ready, _, _ = select.select([reader], [], [], 60.0)
    if not ready:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung on its parent's thread pool")
    message = os.read(reader, 100).decode()
    os.close(reader)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert message == "True True True"


def test_set_num_threads_sizes_the_pool(counts):
    import deltagrad as dg

    dg.set_num_threads(2)
    assert threads.count() == 2
    dg.set_num_threads(1)
    assert threads.count() == 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_blocks_give_the_whole_arrays_bits(counts, dtype):
    # log_softmax by blocks of rows (and across threads) against the same steps on the whole
    # array at once (the computation before blocks): C-contiguous rows, the same bits.
    rng = np.random.default_rng(4)
    x = _rows(dtype, (700, 1000), rng)
    g = rng.standard_normal(x.shape).astype(dtype)
    with np.errstate(invalid="ignore"):
        shifted = x - np.maximum.reduce(x, -1, keepdims=True)
        total = np.add.reduce(np.exp(shifted), -1, keepdims=True)
        expected = shifted - np.log(total)
        expected_grad = g - np.exp(expected) * np.add.reduce(g, -1, keepdims=True)
        for count in (1, 2):
            out = at(count, reductions._log_softmax_forward, x, dim=-1)
            np.testing.assert_array_equal(out, expected)
            (grad,) = at(count, reductions._log_softmax_vjp, reductions.ARRAY, g, out, x, dim=-1)
            np.testing.assert_array_equal(grad, expected_grad)


def test_count_comes_from_omp_num_threads(counts, monkeypatch):
    for value, expected in [("3", 3), ("4,2", 4), ("0", 1)]:
        monkeypatch.setenv("OMP_NUM_THREADS", value)
        threads._State.count = None
        assert threads.count() == expected
    monkeypatch.delenv("OMP_NUM_THREADS")
    threads._State.count = None
    assert threads.count() == len(os.sched_getaffinity(0))
