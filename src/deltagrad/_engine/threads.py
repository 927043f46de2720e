"""The intra-op thread pool: large NumPy work split into independent pieces across threads.

NumPy runs each ufunc call on one thread but releases the GIL inside it for large arrays, so a
few Python threads can run the pieces of one big computation at once: blocks of rows of a
row-wise op (log_softmax over a long last axis: each row computed whole by one thread, so the
bits are those of one thread), the blocks of a blocked elementwise kernel (ops/special.py).
The pool's size is the intra-op thread count, PyTorch's: ``set_num_threads``
(api/settings.py) sets it; before that it is ``OMP_NUM_THREADS`` when set, else the CPUs this
process may run on. With one thread there is no pool and nothing is queued.

The pool is made on first use. A forked child drops its parent's (``os.register_at_fork``):
the worker threads do not exist in the child and its lock may have been held at the fork. (A
child could not hang on the old pool anyway: pieces are claimed by whoever is free, so the
caller takes those no worker claims, see ``_run``.)

What pays, measured on this shared 2-core machine when a second core was free: dispatching a
split costs 4-10 us (a queue put, a worker's wake-up, a queue get); and the GIL is handed
over at every NumPy call, so a split gains only where each call takes tens of microseconds
(speed-up on two threads: np.tanh on 65536 float32, 17 us a call, 1.81x; a multiply of the
same, 6 us, 1.25x; exact GELU's float32 kernel, 15 short calls a block, 1.08x, so W4's GELU
is not split; see ops/special.py). log_softmax [700, 10000] float32 forward / VJP on two
threads take 0.85x / 0.75x of one thread's time (medians of 12, alternated; memory-bound).
"""

from __future__ import annotations

import contextvars
import ctypes
import itertools
import os
import queue
import threading

import numpy as np

__all__ = ["blas_threads", "count", "matmul_serial", "set_count", "split", "split_ranges",
           "split_rows"]

# Below this many elements of work a split does not pay (the dispatch cost, measured against
# the elementwise kernels' 1-3 ns per element; each caller may ask for more). split_rows's
# minimum (row-wise ops: log_softmax, softmax, cross-entropy).
MIN_SPLIT_ELEMENTS = 1 << 15
# split()'s minimum (blocked products, convolutions, batch norm, pooling): under it the pieces
# run on the caller's thread. Each piece's GIL hand-over and wake-up cost more than a second
# thread saves on work of this size, even with the second core free (the process at real-time
# priority, chrt -f 10, on the shared 2-core machine): at two threads, alternated against
# the minimum at 1 << 15, per step W1 sparse 0.84 of its time (matmul_serial's 12.8e6
# multiply-adds), W8 DCGAN 0.72 (splits of 16-64 K elements), W8 CNN 0.81 (50-900 K),
# W6 1.01 (0.90-1.25; its splits of 0.4-1.8 M elements; never splitting it, 1.03).
MIN_SPLIT_WORK = 1 << 20
# Bytes of input per block of rows in split_rows: the passes of a row-wise op stay in cache
# (L2 here is 2 MB a core; 256 KB to 2 MB measured alike, ops/reductions.py has the gain).
ROW_BLOCK_BYTES = 1 << 19


class _State:
    count: int | None = None  # the intra-op thread count once known (set or read from the env)
    tasks: queue.SimpleQueue | None = None  # the pool's work queue; None: no pool (yet)
    workers: frozenset = frozenset()  # the pool's thread idents (they never split again)
    threads: tuple = ()  # the pool's threads
    lock = threading.Lock()


def _count_from_environment() -> int:
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    if value:
        try:
            # OpenMP allows a list ("4,2": nested levels); the first is the outer level's.
            return max(1, int(value.split(",")[0]))
        except ValueError:
            pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def count() -> int:
    """The intra-op thread count: what ``set_num_threads`` set, else ``OMP_NUM_THREADS``, else
    the number of CPUs this process may use."""
    if _State.count is None:
        _State.count = _count_from_environment()
    return _State.count


def set_count(num: int) -> None:
    """Use ``num`` threads from now on (the pool is remade at its next use)."""
    with _State.lock:
        _State.count = int(num)
        _stop_pool()


def _stop_pool() -> None:
    tasks, workers = _State.tasks, _State.threads
    _State.tasks, _State.workers, _State.threads = None, frozenset(), ()
    if tasks is not None:
        for _ in workers:  # each worker takes one None and ends (after the work queued before)
            tasks.put(None)
        for worker in workers:
            worker.join()


def _work(tasks: queue.SimpleQueue) -> None:
    while True:
        item = tasks.get()
        if item is None:
            return
        run, function, ranges, claim, done = item
        while (k := claim()) < len(ranges):
            try:
                run(function, *ranges[k])
            except BaseException as error:  # noqa: BLE001 -- handed to the caller to raise
                done.put(error)
            else:
                done.put(None)


def _pool(threads: int) -> queue.SimpleQueue:
    with _State.lock:
        if _State.tasks is None:
            tasks = queue.SimpleQueue()
            workers = [threading.Thread(target=_work, args=(tasks,), daemon=True,
                                        name=f"deltagrad-intra-op-{k}")
                       for k in range(threads - 1)]  # (the caller is the last thread)
            for worker in workers:
                worker.start()
            _State.tasks, _State.threads = tasks, tuple(workers)
            _State.workers = frozenset(worker.ident for worker in workers)
        return _State.tasks


def _forget_pool_in_child() -> None:
    # The parent's workers do not exist here: never queue work for them (see the docstring).
    _State.tasks, _State.workers, _State.threads = None, frozenset(), ()
    _State.lock = threading.Lock()
    _Blas.lock = threading.Lock()
    if _Blas.pins and _Blas.saved > 1:  # (forked while a product held BLAS at one thread)
        _Blas.set(_Blas.saved)
    _Blas.pins = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


def split_ranges(total: int, pieces: int, align: int = 1) -> list[tuple[int, int]]:
    """At most ``pieces`` contiguous (start, stop) ranges covering range(total): each starts at
    a multiple of ``align`` and holds ``align`` items at least (the last takes the remainder)."""
    units = max(1, total // align)
    pieces = max(1, min(pieces, units))
    size, extra = divmod(units, pieces)
    ranges, start = [], 0
    for k in range(pieces):
        stop = start + (size + (k < extra)) * align if k < pieces - 1 else total
        ranges.append((start, stop))
        start = stop
    return ranges


def split(function, total: int, *, elements: int, align: int = 1,
          min_elements: int | None = None, pieces: int = 0) -> None:
    """Call ``function(start, stop)`` on contiguous pieces of range(total) across the pool's
    threads and the caller's, and return when all are done (the first exception raised by a
    piece is re-raised then).

    ``function`` must write disjoint outputs for disjoint ranges and release the GIL for most
    of its time (NumPy calls on large arrays do). Each piece starts at a multiple of ``align``
    (whole blocks of a blocked kernel; BLAS row groups); there are ``pieces`` of them (default:
    one per thread). Nothing is split with one thread, when ``elements`` (the work's size) is
    under ``min_elements`` (default ``MIN_SPLIT_WORK``), when there would be one piece only,
    or when called from a pool thread: then ``function(0, total)``, directly. Each piece runs
    in a copy of the caller's context (NumPy's errstate is a context variable), with OpenBLAS
    held at one thread (``_hold_blas``) until all are done.
    """
    threads = _State.count if _State.count is not None else count()
    if min_elements is None:  # (read here: tests lower it to split small inputs)
        min_elements = MIN_SPLIT_WORK
    # OpenBLAS held at one thread while the pieces run (split or not): the pieces' GEMMs then
    # give the same bits at any pool count and any BLAS count. Unheld, one past BLAS's own
    # threading size (from 524,288 multiply-adds under OPENBLAS_CORETYPE=Haswell, which has no
    # small-matrix kernels: _BLAS_OWN_THREADING; 1e6 under SkylakeX) ran on BLAS's threads at
    # two (set_num_threads(n) sets BLAS's count to n too), whose partition of the product moves
    # last bits under Haswell's kernels (W6's Conv2d(16, 32, 3) per-example GEMMs, [32, 145] @
    # [145, 196]: tests/nn/test_s7_threads_cnn.py), and woke BLAS threads to spin on the cores
    # the pool uses. (~0.3 us a call where BLAS is at one thread already: nothing to hold.)
    held = (threading.get_ident() not in _State.workers and _blas_may_thread()
            and _hold_blas())
    try:
        if threads > 1 and elements >= min_elements and total >= 2 * align:
            if threading.get_ident() not in _State.workers:
                ranges = split_ranges(total, pieces or threads, align)
                if len(ranges) > 1:
                    _run(function, ranges, threads)
                    return
        function(0, total)
    finally:
        if held:
            _release_blas()


def _run(function, ranges, threads) -> None:
    # The pieces are claimed in order by whoever is free (an itertools counter: atomic under
    # the GIL), the caller included: on a loaded machine a worker that is not scheduled in
    # time leaves its pieces to the caller instead of making it wait (it finds none left when
    # it wakes). The caller then waits only for the pieces that workers took.
    tasks = _State.tasks if _State.tasks is not None else _pool(threads)
    claim = itertools.count().__next__
    done: queue.SimpleQueue = queue.SimpleQueue()
    for _ in range(min(len(ranges), threads) - 1):
        tasks.put((contextvars.copy_context().run, function, ranges, claim, done))
    first, mine = None, 0
    while (k := claim()) < len(ranges):
        mine += 1
        try:
            function(*ranges[k])
        except BaseException as error:  # noqa: BLE001 -- raised after the other pieces end
            first = first or error
    for _ in range(len(ranges) - mine):  # their outputs are the caller's arrays: wait
        error = done.get()
        first = first or error
    if first is not None:
        raise first


def split_rows(rows, x, *, min_elements: int = MIN_SPLIT_ELEMENTS, min_rows: int = 2,
               block_bytes: int = ROW_BLOCK_BYTES) -> None:
    """``rows(k)`` for a row-wise computation over the last axis of ``x``: once with ``k`` =
    ``...`` (the whole) when ``x`` is under ``min_elements`` or 1-d, else with ``k`` each
    slice of a fixed grid of blocks along the first axis (about ``block_bytes`` of ``x``,
    ``min_rows`` rows at least), in order on one thread or shared out across the pool.

    The grid depends on ``x`` alone, so the blocks and their bits are the same at any thread
    count; ``rows`` must give each row the same bits whatever block holds it (true of NumPy's
    elementwise ufuncs and its reductions along the last axis; not of BLAS products, which
    group rows by the call's size and BLAS's own threads). Blocks that fit in cache make the
    passes of a row-wise op faster on one thread too (see ROW_BLOCK_BYTES).
    """
    if x.ndim < 2 or x.size < min_elements:
        return rows(...)
    per_item = x.size // x.shape[0]  # elements per item of the first axis
    chunk = max(1, -(-min_rows * x.shape[-1] // per_item),
                block_bytes // max(1, per_item * x.itemsize))

    def blocks(start, stop):
        for first in range(start, stop, chunk):
            rows(slice(first, min(first + chunk, stop)))

    split(blocks, x.shape[0], elements=x.size, align=chunk, min_elements=min_elements,
          pieces=-(-x.shape[0] // chunk))


# NumPy's OpenBLAS runs one GEMM on its own threads from about 1e6 multiply-adds (m n k) on
# (with OPENBLAS_NUM_THREADS=2, [100, 100] @ [100, 100] stays on the caller's thread and
# [100, 100] @ [100, 101] wakes a worker: the worker threads' CPU time, /proc/self/task), and
# already from ~0.3-0.5e6 when the second operand is a transposed view ([64, 64] @ [80, 64].T
# stays, [64, 64] @ [128, 64].T wakes it; a transposed first operand counts as a plain one).
# A woken worker then spins for ~0.1 s, holding the second core that the intra-op threads
# (this pool) were to use: W6 (17 ms a step) at two threads kept it busy all along. The
# products below are therefore GEMMs under those sizes (a transposed operand made contiguous
# past the lower one), in pieces run on the intra-op threads. Two threads, a loaded machine
# (load 11), 40 steps, per step: W8 DCGAN 164 -> 47 ms, the BLAS workers' CPU 27 -> 0 ms;
# W6 244 -> 62 ms (BLAS CPU 29 -> 0) and W8 CNN 785 -> 40 ms (104 -> 0) with Linear's
# products in blocks too (ops/nn.py).
BLAS_SERIAL_WORK = 1_000_000
BLAS_SERIAL_TRANSPOSED = 1 << 18  # (the same with a transposed second operand, at the least)
# Those sizes are OpenBLAS's under SkylakeX, whose small-matrix kernels keep plain products up to
# 1e6 on the caller's thread. Without them (OPENBLAS_CORETYPE=Haswell, CI's machine) a GEMM takes
# m n k / 262,144 threads: two from 524,288 on ([64, 64] @ [64, 127] stays, @ [64, 128] wakes a
# worker: its CPU time, /proc/self/task), and their partition of the product moves last bits.
_BLAS_OWN_THREADING = 1 << 19
# OpenBLAS's GEMV (a product with one row or column) takes its threads from m n = 2,304 x 4 on,
# under SkylakeX too; their partition moves last bits as well ([700, 700] @ [700, 1]).
_BLAS_GEMV_THREADING = 9216
# Blocks thinner than this run at matrix-vector speed: such a product (K N and M K past an
# eighth of the limit) is one GEMM, on BLAS's threads, which pay at that size.
_MIN_BLOCK = 8
# From this many multiply-adds on, blocks thinner than _MIN_BLOCK_LARGE do not pay either: the
# default NER model's hidden layer ([~256, 300] by [300, 575], 44e6) took its two backward
# products in 45 blocks of 13 columns each, 1.22-1.26 ms against 0.93-0.96 ms as one GEMM on
# one thread (thread time, min of 5 x 200, alternated), 1.0 ms a training step of ~9 (issue 18).
# W6's and W8's products are all under it (the largest that would change, VAE's [64, 784] by
# [784, 200], 10e6 multiply-adds, keeps its blocks).
_LARGE_PRODUCT = 1 << 24
_MIN_BLOCK_LARGE = 32


class _Blas:
    """NumPy's OpenBLAS thread count, through the library's own functions (found once)."""
    searched = False
    get = None  # ctypes functions; None: not found (another BLAS, not Linux): blocks instead
    set = None
    pins = 0  # products running now with the count held at one
    saved = 1  # the count to put back when the last of them ends
    lock = threading.Lock()


def _find_openblas() -> None:
    """Find NumPy's OpenBLAS among the loaded libraries (the one in NumPy's own folder when
    another, SciPy's, is loaded too) and its get / set_num_threads functions. ``searched`` is
    set last: a thread that sees it sees the functions (or their absence) too."""
    _Blas.get, _Blas.set = _openblas_functions()
    _Blas.searched = True


def _openblas_functions() -> tuple:
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps
                            if "openblas" in line.lower() and ".so" in line})
    except OSError:  # pragma: no cover - not Linux
        return None, None
    paths = [p for p in paths if "numpy" in os.path.basename(os.path.dirname(p))] or paths
    if len(paths) != 1:
        return None, None
    try:
        library = ctypes.CDLL(paths[0])
    except OSError:  # pragma: no cover - unloadable
        return None, None
    for prefix, suffix in (("scipy_openblas_", "64_"), ("scipy_openblas_", ""),
                           ("openblas_", "64_"), ("openblas_", "")):
        get = getattr(library, f"{prefix}get_num_threads{suffix}", None)
        set_ = getattr(library, f"{prefix}set_num_threads{suffix}", None)
        if get is not None and set_ is not None:
            get.argtypes, get.restype = (), ctypes.c_int
            set_.argtypes, set_.restype = (ctypes.c_int,), None
            return get, set_
    return None, None


def blas_threads() -> int | None:
    """OpenBLAS's thread count now (1 while a product holds it there), None where unknown."""
    if not _Blas.searched:
        _find_openblas()
    return None if _Blas.get is None else _Blas.get()


def _hold_blas() -> bool:
    """Hold OpenBLAS at one thread until ``_release_blas``; False (nothing held) where the count
    cannot be read and set. Concurrent holders share the hold (the count is put back when the
    last ends); the get / set pair costs ~1 us."""
    if not _Blas.searched:
        _find_openblas()
    if _Blas.get is None:
        return False
    with _Blas.lock:
        if not _Blas.pins:
            _Blas.saved = _Blas.get()
            if _Blas.saved > 1:
                _Blas.set(1)
        _Blas.pins += 1
    return True


def _blas_may_thread() -> bool:
    """Whether OpenBLAS's count is over one now or held by another caller (then the hold is
    shared: it may end while this caller's GEMMs run). No lock: a cheap first look."""
    if not _Blas.searched:
        _find_openblas()
    return _Blas.get is not None and (_Blas.pins > 0 or _Blas.get() > 1)


def _release_blas() -> None:
    with _Blas.lock:
        _Blas.pins -= 1
        if not _Blas.pins and _Blas.saved > 1:
            _Blas.set(_Blas.saved)


def _one_thread_matmul(a, b, out) -> bool:
    """``np.matmul(a, b, out=out)`` with OpenBLAS held at one thread for the call: one GEMM that
    wakes no BLAS thread, whatever its size; False (nothing done) where the count cannot be
    read and set (``_hold_blas``)."""
    if not _hold_blas():
        return False
    try:
        np.matmul(a, b, out=out)
    finally:
        _release_blas()
    return True


def serial_matmul(a, b, out, work: int) -> np.ndarray:
    """``np.matmul(a, b, out=out)`` (``work``: one GEMM's m k n) for products under
    ``BLAS_SERIAL_WORK``, held at one BLAS thread from ``_BLAS_OWN_THREADING`` on (no small-
    matrix kernels: BLAS would thread it, its bits then depending on BLAS's count)."""
    vector = a.shape[-2] == 1 or b.shape[-1] == 1  # (NumPy calls GEMV: threaded from m n 9,216)
    if work < (_BLAS_GEMV_THREADING if vector else _BLAS_OWN_THREADING) or not _one_thread_matmul(
            a, b, out):
        np.matmul(a, b, out=out)
    return out


def matmul_serial(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = a @ b`` for 2-D ``a`` ``[M, K]``, ``b`` ``[K, N]`` as GEMMs over blocks of rows
    of ``a`` (or, for few rows, of columns of ``b``) each under ``BLAS_SERIAL_WORK``
    multiply-adds (a transposed ``b`` copied past ``BLAS_SERIAL_TRANSPOSED``), so that BLAS
    wakes no thread of its own, shared out across the intra-op threads instead. Products
    too small for split() to share out are one GEMM with OpenBLAS held at one thread instead
    (where its count can be set: ``_one_thread_matmul``; the blocks cost up to 3x one GEMM at
    W4's sizes, b repacked for each). The choice depends on the shapes alone: the same bits at
    any thread count."""
    (m, k), n = a.shape, b.shape[1]
    limit = BLAS_SERIAL_WORK
    transposed = b.strides[-1] != b.itemsize  # a transposed view (Linear's weight)
    if m * k * n <= (BLAS_SERIAL_TRANSPOSED if transposed else limit):
        # (OpenBLAS's kernels without small-matrix ones, OPENBLAS_CORETYPE=Haswell, thread a
        # GEMM from _BLAS_OWN_THREADING on: held at one thread, the bits are those at one
        # thread; [64, 100] @ [100, 100] differed in the last bit at two.)
        return serial_matmul(a, b, out, m * k * n)
    rows, cols = limit // (k * n), limit // (m * k)
    least = _MIN_BLOCK_LARGE if m * k * n >= _LARGE_PRODUCT else _MIN_BLOCK
    if rows < least and cols < least:
        # Too large to split (W3's [512, 1024] @ [1024, 1024]): one GEMM, on BLAS's threads,
        # which pay there, and no copy of a transposed ``b`` (copying W3's weights each step
        # made it 1.07 -> 1.12 x the NumPy floor).
        return np.matmul(a, b, out=out)
    if m * k * n > limit and m * k * n // 64 < MIN_SPLIT_WORK and _one_thread_matmul(a, b, out):
        # Under split()'s minimum the blocks ran one after the other on the caller's thread,
        # at any thread count, only to keep each GEMM under BLAS's threading size: one GEMM
        # with BLAS held at one thread does that without repacking b for every block (the
        # same bits at any thread count: one GEMM on one thread; NOT the blocks' bits, the
        # last bit of some elements moves). W4's products at one thread, thread time, medians
        # of 9: [1024, 64] @ [64, 256] 325 -> 266 us, weight gradients [192, 1024] @
        # [1024, 64] 390-490 -> 214 us and [65, 1024] @ [1024, 64] 142-242 -> 79 us. Steps
        # at one thread (benchmarks/ab.py --base 63b3f6c --threads 1 --cpu, loaded machine):
        # W4 0.913 of its time (15 rounds; 1.035 -> 0.958 x PyTorch), W8 VAE 0.795, GPT 0.888,
        # CNN 0.978, W6 0.994 (9 rounds each); W5 and W2-model have no such product.
        return out
    if transposed:
        # Which transposed products wake BLAS's threads depends on the shapes ([9, 1568] @
        # [64, 1568].T does not, [64, 128] @ [64, 128].T does): a contiguous copy of ``b``
        # follows the plain rule.
        b = np.ascontiguousarray(b)
        if m * k * n <= limit:
            return serial_matmul(a, b, out, m * k * n)
    if rows >= least:
        total, step = m, rows

        def piece(first, last):
            np.matmul(a[first:last], b, out=out[first:last])
    elif cols >= least:
        total, step = n, cols

        def piece(first, last):
            np.matmul(a, b[:, first:last], out=out[:, first:last])
    else:
        return np.matmul(a, b, out=out)

    def blocks(start, stop):
        for first in range(start, stop, step):
            piece(first, min(first + step, stop))

    # (elements: a multiply-add is ~1/64 of an elementwise op's cost per element)
    split(blocks, total, elements=m * n * k // 64, align=step)
    return out
