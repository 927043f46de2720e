"""Helpers shared by the benchmarks: threads, alternating timing, statistics, peak memory.

Threads. BLAS and OpenMP read their thread counts from environment variables when the library is
loaded, so the reliable way to run a benchmark with n threads is a fresh process whose environment
says n before NumPy or PyTorch is imported: ``thread_env(n)`` builds that environment and
``benchmarks/run.py`` starts every (workload, thread count) in its own subprocess with it. When a
workload script is run by hand, NumPy is already imported by the time ``--threads`` is parsed, so
``set_threads`` also limits the loaded BLAS at run time through threadpoolctl (when installed);
PyTorch is imported after ``set_threads`` in every workload and gets ``torch.set_num_threads``.
``blas_threads()`` reports what the BLAS pools really use, and every result records it.

Timing. ``alternate`` runs the variants in alternation, A B C, B C A, C A B, ... (the order rotates
so that no variant always follows the same one), each timed block after an untimed warm-up and a
``gc.collect()``, so that slow drifts of the machine (other processes, clock boosts) hit every
variant alike. Objects alive before the rounds (libraries, models, optimizer state) are frozen
out of the garbage collector (``gc.freeze``): no variant pays for scanning another's. Ratios
between two variants are the median of the per-round ratios (paired samples: both taken within
one round), which cancels most of that drift.

With more than one thread, the BLAS workloads (W1, W3) also start each timed block after a pause
(``settle_seconds``) with nothing running. A library's idle worker threads keep spinning for a
while after its last call before they sleep: OpenBLAS's, which NumPy uses, for about 0.1 s.
Without the pause they took one of this machine's two cores from the block that followed:
measured on W1 at 2 threads (25-step blocks), PyTorch's fused Adam took 5.6 s per epoch right
after the NumPy blocks and 2.6-3.7 s after a pause of 0.15 s or more, while the NumPy floor's
time did not change. With one thread there are no such threads, and W2 (elementwise ops on 8x8
arrays) wakes none, so they pause for nothing: after a pause this machine runs the next few
milliseconds slower (W2's blocks, a few milliseconds each, measured 1.6 times slower), which
would weigh most on the fastest variant.

Peak memory, two measures:

- ``tracemalloc_peak``: the peak of Python allocations traced by ``tracemalloc`` while a function
  runs. NumPy reports its array buffers to tracemalloc, so this covers NumPy and deltagrad
  exactly (to the byte, no allocator noise) but sees nothing of PyTorch's allocator.
- ``peak_rss_growth``: the growth of the process's peak resident set (``VmHWM`` in
  ``/proc/self/status``, reset through ``/proc/self/clear_refs`` where allowed) above its size
  just before the function, measured in a fresh subprocess per variant (``probe_in_subprocess``)
  so that no other variant's freed memory is reused. It covers every library, allocator caches
  and page granularity included; Linux only.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent

_limiter = None  # the threadpoolctl limit in force, kept alive for the process's lifetime


# ------------------------------------------------------------------------------------ threads


def thread_env(threads: int, base: dict | None = None) -> dict:
    """A copy of the environment (``base`` or ``os.environ``) that gives every pool ``threads``."""
    env = dict(os.environ if base is None else base)
    for name in THREAD_VARIABLES:
        env[name] = str(threads)
    return env


def set_threads(threads: int) -> None:
    """Use ``threads`` threads in BLAS/OpenMP from now on, in this process.

    Sets the environment variables (effective for libraries imported later: PyTorch in the
    workloads), limits an already loaded BLAS through threadpoolctl if it is installed, and
    calls ``torch.set_num_threads`` if PyTorch is already imported.
    """
    global _limiter
    os.environ.update(thread_env(threads, {}))
    if "numpy" in sys.modules:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            pass
        else:
            _limiter = threadpool_limits(limits=threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def import_torch(threads: int):
    """PyTorch with ``threads`` intra-op threads, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch


def blas_threads() -> list[dict]:
    """The loaded thread pools as threadpoolctl sees them: [{library, version, threads}]."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [{"library": info.get("internal_api"), "version": info.get("version"),
             "threads": info.get("num_threads"), "architecture": info.get("architecture")}
            for info in threadpool_info()]


# ------------------------------------------------------------------------------------ timing


SETTLE_SECONDS = 0.25  # idle time before each timed block with worker threads (see above)


def settle_seconds(threads: int) -> float:
    """The pause before each timed block of a BLAS workload run with ``threads`` threads."""
    return SETTLE_SECONDS if threads > 1 else 0.0


def alternate(blocks: dict[str, Callable[[], object]], rounds: int,
              warmup: bool = True, settle: float = 0.0,
              freeze: bool = True,
              clock: Callable[[], float] = time.perf_counter) -> dict[str, list[float]]:
    """Time each block once per round, in alternation; returns {name: [seconds per round]}.

    Args:
        blocks: name -> a function that runs one timed block (e.g. 100 training steps).
        rounds: how many times each block is timed.
        warmup: run every block once, untimed, first (first-call costs, lazy state, caches).
        settle: seconds to wait, idle, before each timed block, so that no library's spinning
            worker threads still hold a core (``settle_seconds``).
        freeze: set the objects alive now aside from the collector for the rounds. False when
            the caller keeps the heap frozen across many short alternations (op_overhead.py
            runs about 500: a full collection with PyTorch loaded costs about 60 ms).
        clock: what a block's time is read from: wall time (the default), or the process's
            CPU time (``time.process_time``), which on a loaded machine leaves out the time
            other processes held the core (one thread only: it would count worker threads'
            spinning as work).
    """
    names = list(blocks)
    if warmup:
        for name in names:
            blocks[name]()
    # Everything alive now (libraries, models, optimizer state) is set aside from the
    # collector, so that the collections before and during each block scan only the objects
    # that block makes, whoever allocated what before.
    if freeze:
        gc.collect()
        gc.freeze()
    times: dict[str, list[float]] = {name: [] for name in names}
    try:
        for r in range(rounds):
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                gc.collect()  # the previous block's garbage is not this block's cost
                if settle:
                    time.sleep(settle)
                start = clock()
                blocks[name]()
                times[name].append(clock() - start)
    finally:
        if freeze:
            gc.unfreeze()
    return times


def summarize(samples: Sequence[float]) -> dict[str, float]:
    """Median, min, max and the interquartile range as a percentage of the median."""
    values = sorted(samples)
    median = statistics.median(values)
    if len(values) >= 4:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    else:
        q1, q3 = values[0], values[-1]
    return {"median": median, "min": values[0], "max": values[-1], "n": len(values),
            "iqr_pct": 100.0 * (q3 - q1) / median if median else 0.0}


def paired_ratio(numerator: Sequence[float], denominator: Sequence[float]) -> dict[str, float]:
    """The median (and min, max) of the per-round ratios of two alternated variants."""
    ratios = sorted(a / b for a, b in zip(numerator, denominator, strict=True))
    return {"median": statistics.median(ratios), "min": ratios[0], "max": ratios[-1]}


# ------------------------------------------------------------------------------------ checks


def to_numpy(value):
    """An ndarray copy of a NumPy array, a deltagrad Tensor or a PyTorch tensor."""
    import numpy as np

    if isinstance(value, (np.ndarray, np.generic, int, float)):
        return np.array(value, copy=True)
    if type(value).__module__.startswith("torch"):
        return value.detach().numpy().copy()
    return np.array(value.data, copy=True)


def assert_close(what: str, got, want, rtol: float, atol: float) -> None:
    """Raise AssertionError naming ``what`` and the worst entry when got != want."""
    import numpy as np

    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        raise AssertionError(f"{what}: shape {got.shape} != {want.shape}")
    excess = np.abs(got - want) - (atol + rtol * np.abs(want))
    if excess.size and excess.max() > 0:
        worst = np.unravel_index(int(np.argmax(excess)), excess.shape)
        raise AssertionError(f"{what}: differs at {worst}: {got[worst]!r} vs {want[worst]!r} "
                             f"(rtol {rtol}, atol {atol})")


# ------------------------------------------------------------------------------------ memory


def check_runner_losses(label: str, runners: dict, steps: int) -> dict[str, list[float]]:
    """Step every runner ``steps`` times and raise AssertionError unless their losses agree
    with PyTorch's (or the first runner's): 1e-4 on the first step, then 1e-3."""
    losses = {name: [runner.step() for _ in range(steps)] for name, runner in runners.items()}
    reference = losses.get("torch") or next(iter(losses.values()))
    for name, values in losses.items():
        assert_close(f"{label} {name}: first loss", values[0], reference[0], 1e-4, 1e-6)
        assert_close(f"{label} {name}: losses", values, reference, 1e-3, 1e-5)
    return losses


def time_runners(runners: dict, steps: int, rounds: int, threads: int) -> dict[str, list[float]]:
    """Time blocks of ``steps`` runner steps in alternation; {name: [seconds per step]}."""

    def block(runner):
        return lambda: [runner.step() for _ in range(steps)]

    times = alternate({name: block(r) for name, r in runners.items()}, rounds,
                      settle=settle_seconds(threads))
    return {name: [seconds / steps for seconds in samples] for name, samples in times.items()}


def _status_bytes(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def peak_rss_growth(fn: Callable[[], object]) -> dict:
    """Run ``fn``; how far the peak resident set rose above the resident set before it.

    Returns ``{"bytes": int | None, "method": str}``; None where /proc is missing.
    """
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # resets VmHWM to the current VmRSS
        method = "VmHWM after reset - VmRSS before"
    except OSError:
        method = "VmHWM - max(VmRSS, VmHWM) before (no reset allowed)"
    gc.collect()
    before = _status_bytes("VmRSS")
    if before is None:
        fn()
        return {"bytes": None, "method": "unavailable (no /proc/self/status)"}
    if not method.startswith("VmHWM after"):
        before = max(before, _status_bytes("VmHWM") or 0)
    fn()
    peak = _status_bytes("VmHWM")
    return {"bytes": max(0, peak - before), "method": method}


def tracemalloc_peak(fn: Callable[[], object]) -> int:
    """Peak bytes of traced (Python + NumPy) allocations made while ``fn`` runs."""
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def probe_in_subprocess(script: Path, variant: str, threads: int,
                        extra: Sequence[str] = ()) -> dict:
    """Run ``script --memory-probe variant`` in a fresh process; its JSON answer (last line)."""
    command = [sys.executable, str(script), "--memory-probe", variant, "--threads", str(threads),
               *extra]
    done = subprocess.run(command, env=thread_env(threads), capture_output=True, text=True,
                          cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"memory probe {variant} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------ output


def machine_info() -> dict:
    """CPU model and count, Python, NumPy/BLAS and PyTorch versions, load average."""
    from importlib import metadata

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {}
    for package in ("numpy", "torch"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {"cpu": cpu, "cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "load_average": load, **versions}


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(headers) + " |",
             "| " + " | ".join("---" for _ in headers) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain, aligned table for the terminal."""
    cells = [list(map(str, headers))] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in cells)


def copy_parameters(module, arrays: dict) -> None:
    """Write ``arrays`` ({name: ndarray}) into ``module``'s parameters, in place, by name.

    Works for deltagrad and PyTorch modules alike (``detach().numpy()`` shares memory in both);
    the names must match exactly, so a model whose parameter names differ from PyTorch's fails.
    """
    named = dict(module.named_parameters())
    if set(named) != set(arrays):
        raise AssertionError(f"parameter names differ: only in the module "
                             f"{sorted(set(named) - set(arrays))}, only in the arrays "
                             f"{sorted(set(arrays) - set(named))}")
    for name, parameter in named.items():
        target = parameter.detach().numpy()
        if target.shape != arrays[name].shape:
            raise AssertionError(f"{name}: shape {target.shape} != {arrays[name].shape}")
        target[...] = arrays[name]


def parameter_arrays(module) -> dict:
    """{name: a copy of the parameter as an ndarray}, for either library."""
    return {name: p.detach().numpy().copy() for name, p in module.named_parameters()}


def try_capture(runner, name: str, skipped: dict) -> bool:
    """Record ``runner``'s captured step on its first batch; False (reason in ``skipped``)
    when ``capture_step`` refuses it.

    The capture runs the loss and backward once and leaves gradients, cleared here; the
    parameters do not move, so the runner still starts where the others do.
    """
    try:
        runner.captured(*runner.batches[0])
    except ValueError as error:
        skipped[name] = f"capture_step refused the step: {str(error)[:200]}"
        print(f"{name} left out: {skipped[name]}", file=sys.stderr)
        return False
    finally:
        runner.optimizer.zero_grad()
    return True


def megabytes(value: int | None) -> str:
    return "n/a" if value is None else f"{value / 2**20:.1f}"


def write_json(path: str | Path, obj: object) -> None:
    Path(path).write_text(json.dumps(obj, indent=1) + "\n")


# ------------------------------------------------------------------------------------ workloads


def workload_parser(doc: str, *, steps: int, rounds: int, quick_steps: int,
                    quick_rounds: int) -> argparse.ArgumentParser:
    """The command line every workload script shares; ``parse_workload_args`` applies --quick."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=steps,
                        help=f"steps per timed block (default {steps})")
    parser.add_argument("--rounds", type=int, default=rounds,
                        help=f"timed blocks per variant, alternated (default {rounds})")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP/torch threads")
    parser.add_argument("--quick", action="store_true",
                        help=f"short run: {quick_steps} steps, {quick_rounds} rounds")
    parser.add_argument("--variants", help="comma-separated subset of the variants")
    parser.add_argument("--memory", action="store_true",
                        help="also measure each variant's peak memory in a fresh subprocess")
    parser.add_argument("--memory-probe", metavar="VARIANT", help=argparse.SUPPRESS)
    parser.add_argument("--json", metavar="FILE", help="write the result as JSON")
    parser.set_defaults(quick_steps=quick_steps, quick_rounds=quick_rounds)
    return parser


def parse_workload_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.rounds = args.quick_steps, args.quick_rounds
    return args


def summarize_workload(workload: str, title: str, unit: str, threads: int,
                       samples: dict[str, list[float]], floor: dict[str, str] | str,
                       memory: dict | None = None, **extra) -> dict:
    """One workload's result: samples, their statistics, paired ratios, memory, BLAS threads.

    Args:
        samples: variant -> one time per round (in ``unit``), from ``alternate``.
        floor: the NumPy floor each variant is compared with (a name for all, or per variant).
        memory: variant -> a memory probe's answer.
    """
    floors = {name: floor for name in samples} if isinstance(floor, str) else floor
    stats = {name: summarize(values) for name, values in samples.items()}
    torch_names = [name for name in samples if name.startswith("torch")]
    torch_best = min(torch_names, key=lambda n: stats[n]["median"]) if torch_names else None
    ratios = {}
    for name, values in samples.items():
        # A subset of variants (--variants) may leave out a variant's floor: no ratio then.
        floor_samples = samples.get(floors[name])
        ratios[name] = {"floor": paired_ratio(values, floor_samples) if floor_samples else None}
        if torch_best:
            ratios[name]["torch"] = paired_ratio(values, samples[torch_best])
    return {"workload": workload, "title": title, "unit": unit, "threads": threads,
            "blas": blas_threads(), "stats": stats, "floors": floors, "torch_best": torch_best,
            "ratios": ratios, "memory": memory or {}, "samples": samples, **extra}


def target(name: str, ratio: dict, limit: float, versus: str | None = None) -> dict:
    """A target of the issue: met when the (median) ratio is at most ``limit``."""
    return {"name": name, "value": ratio["median"], "limit": limit,
            "met": ratio["median"] <= limit, "versus": versus}


def _ratio_text(ratio: dict | None) -> str:
    if ratio is None:
        return "-"
    return f"{ratio['median']:.2f} ({ratio['min']:.2f}-{ratio['max']:.2f})"


def result_table(result: dict) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of one workload's table (terminal and RESULTS.md alike)."""
    unit = result["unit"]
    best = result.get("torch_best")
    headers = ["variant", f"median {unit}", "min-max", "IQR %", "x NumPy floor",
               f"x {best}" if best else "x torch"]
    with_memory = bool(result["memory"])
    if with_memory:
        headers += ["traced MB", "RSS MB"]
    rows = []
    for name, stats in result["stats"].items():
        ratios = result["ratios"][name]
        memory = result["memory"].get(name, {})
        floor = result["floors"][name]
        row = [name, f"{stats['median']:#.3g}", f"{stats['min']:#.3g}-{stats['max']:#.3g}",
               f"{stats['iqr_pct']:.0f}",
               "1 (floor)" if name == floor else "-" if ratios["floor"] is None
               else f"{_ratio_text(ratios['floor'])} vs {floor}",
               _ratio_text(ratios.get("torch"))]
        if with_memory:
            row += [megabytes(memory.get("tracemalloc_bytes")), megabytes(memory.get("rss_bytes"))]
        rows.append(row)
    return headers, rows


def target_lines(result: dict) -> list[str]:
    return [f"{'MET   ' if t['met'] else 'MISSED'} {t['name']}"
            f"{' (vs ' + t['versus'] + ')' if t.get('versus') else ''}: {t['value']:.3f} "
            f"(target <= {t['limit']:.2f})" for t in result.get("targets", [])]


def report(result: dict, json_path: str | None = None) -> None:
    """Print a workload's table and targets; write its JSON when asked."""
    threads = ", ".join(f"{b['library']} {b['threads']}" for b in result["blas"]) or "?"
    print(f"{result['workload']} {result['title']}: threads={result['threads']} "
          f"(BLAS pools: {threads})")
    print(text_table(*result_table(result)))
    for line in target_lines(result):
        print("  " + line)
    if json_path:
        write_json(json_path, result)


def print_json(obj: object) -> None:
    print(json.dumps(obj))
