"""Run every benchmark with 1 and 2 threads, print the tables and write benchmarks/RESULTS.md.

Each (workload, thread count) runs in its own subprocess whose environment sets the thread count
before NumPy or PyTorch is imported (see common.py); W1 and W3 also measure each variant's peak
memory, each in a fresh subprocess. The workloads (DESIGN.md, Benchmarks):

- W1 ``w1_ner_epoch.py``: window-NER training epoch, seconds per epoch;
- W2 ``w2_overhead.py``: per-op overhead, microseconds per elementwise op, forward + backward;
- W2-model ``w2_model.py``: a model-shaped chain (reductions, broadcasts, softmax, matmuls,
  gather, reshape/transpose, 81 leaves), microseconds per step, against PyTorch;
- W3 ``w3_mlp.py``: compute-bound MLP, seconds per training step;
- W4 ``w4_transformer.py``: character transformer training step, against PyTorch;
- W5 ``w5_lstm.py``: LSTM word language-model training step, against PyTorch;
- W6 ``w6_cnn.py``: small MNIST-shaped CNN training step (conv, batch norm, pooling), against
  PyTorch;
- W7 ``w7_dataloader.py``: one DataLoader epoch over a TensorDataset, against PyTorch;
- W8 ``w8_programs.py``: six small models written as public programs write them (minGPT, DCGAN,
  VAE, GCN, seq2seq GRU-attention, CNN), each step against PyTorch's, in one alternation;
- W9 ``w9_inference.py``: eval-mode forward passes (MLP, CNN, TransformerEncoder classifier,
  LSTM/GRU tagger, minGPT greedy generation) under no_grad and inference_mode, batch 1 and 32,
  each against PyTorch's, in one alternation;
- OPS ``op_overhead.py``: every registered op, forward + backward at small sizes, against
  PyTorch and NumPy; its full table goes to ``benchmarks/OP_OVERHEAD.md``. It runs at the first
  thread count only: arrays of at most 64 elements wake no library's worker threads;
- NER ``ner_train.py``: seconds per epoch of the default ``deltagrad ner train``.

    python benchmarks/run.py            # the full suite, several minutes (``make bench``)
    python benchmarks/run.py --quick    # a few minutes: fewer steps and rounds, no memory
                                        # probes, NER for 1 epoch at the first thread count
    python benchmarks/run.py --only w1,w2 --threads 1 --no-write
    python benchmarks/run.py --json all.json; python benchmarks/run.py --from-json all.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common

WORKLOADS = {"w1": "w1_ner_epoch.py", "w2": "w2_overhead.py", "w2m": "w2_model.py",
             "w3": "w3_mlp.py", "w4": "w4_transformer.py", "w5": "w5_lstm.py",
             "w6": "w6_cnn.py", "w7": "w7_dataloader.py",
             "w8": "w8_programs.py", "w9": "w9_inference.py", "ops": "op_overhead.py",
             "ner": "ner_train.py"}
FIRST_THREADS_ONLY = ("ops",)  # per-op overhead: no worker threads at these sizes
# The workloads with a variant table, in order.
TABLES = ("W1", "W2", "W2M", "W3", "W4", "W5", "W6", "W7", "W8", "W9")
RESULTS = common.BENCHMARKS / "RESULTS.md"
OP_MARKDOWN = common.BENCHMARKS / "OP_OVERHEAD.md"


def run_one(workload: str, threads: int, quick: bool, scratch: Path) -> dict | None:
    """Run one workload script in a subprocess; its JSON result (None if it failed)."""
    script = common.BENCHMARKS / WORKLOADS[workload]
    out = scratch / f"{workload}-{threads}.json"
    command = [sys.executable, str(script), "--threads", str(threads), "--json", str(out)]
    if workload == "ner":
        command += ["--epochs", "1" if quick else "2"]
    else:
        if quick:
            command.append("--quick")
        if workload in ("w1", "w3") and not quick:
            command.append("--memory")
    print(f"\n$ {' '.join(command[1:])}", flush=True)
    done = subprocess.run(command, env=common.thread_env(threads), cwd=common.REPO)
    if done.returncode != 0:
        print(f"!! {workload} with {threads} threads failed (exit {done.returncode})", flush=True)
        return None
    return json.loads(out.read_text())


def plan(workloads: list[str], threads: list[int], quick: bool) -> list[tuple[str, int]]:
    """(workload, thread count) pairs to run, in order: every thread count for each workload,
    except the per-op table (first count only) and, in quick mode, NER (first count only)."""
    return [(workload, n) for n in threads for workload in workloads
            if n == threads[0] or not (workload in FIRST_THREADS_ONLY
                                       or (workload == "ner" and quick))]


def ops_section(result: dict, markdown_name: str) -> list[str]:
    """RESULTS.md's summary of the per-op table: the targets and the 15 slowest ops."""
    summary = result["summary"]
    median = summary["median_ratio"]
    lines = ["", f"## OPS: per-op overhead over the registry, {result['threads']} thread"
             f"{'s' * (result['threads'] > 1)}", "",
             f"{summary['ops']} ops, forward + backward at small sizes; median ratio deltagrad / "
             f"PyTorch {'-' if median is None else f'{median:.2f}'}, "
             f"{len(summary['over_goal'])} ops over 0.6 x. The whole table, with NumPy's "
             f"times and each op's worst case: [{markdown_name}]({markdown_name}).", ""]
    headers, rows = op_overhead_table(result)
    return lines + [common.markdown_table(headers, rows[:15])]


def op_overhead_table(result: dict):
    import op_overhead

    headers, rows = op_overhead.table_rows(result)
    return headers[:-1], [row[:-1] for row in rows]


def targets_table(results: list[dict], threads: list[int]) -> tuple[list[str], list[list]]:
    names: dict[str, dict[int, dict]] = {}
    for result in results:
        for found in result.get("targets", []):
            names.setdefault(found["name"], {})[result["threads"]] = found
    headers = ["target", "limit"] + [f"{n} thread{'s' * (n > 1)}" for n in threads]
    rows = []
    for name, by_threads in names.items():
        limit = next(iter(by_threads.values()))["limit"]
        cells = []
        for n in threads:
            found = by_threads.get(n)
            cells.append("-" if found is None else
                         f"{found['value']:.3f} {'met' if found['met'] else 'MISSED'}"
                         + (f" (vs {found['versus']})" if found.get("versus") else ""))
        rows.append([name, f"<= {limit:.2f}", *cells])
    return headers, rows


def ner_table(results: list[dict]) -> tuple[list[str], list[list]]:
    headers = ["threads", "s/epoch (each epoch)", "tokens/s", "whole run s", "peak RSS MB"]
    rows = [[r["threads"], ", ".join(f"{e['seconds']:.1f}" for e in r["epochs"]),
             ", ".join(f"{e['tokens_per_second']:,}" for e in r["epochs"]),
             f"{r['wall_seconds']:.0f}", common.megabytes(r["peak_rss_bytes"])] for r in results]
    return headers, rows


def markdown(results: list[dict], threads: list[int], info: dict) -> str:
    blas = sorted({f"{b['library']} {b['version']} ({b.get('architecture')})"
                   for r in results for b in r.get("blas", []) if b["library"] == "openblas"
                   or b["library"] == "mkl"})
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{info['command']}` on {info['date']} in {info['minutes']:.1f} minutes"
        f"{' (quick mode: short runs, treat as indicative)' if info['quick'] else ''}. "
        "Regenerate with `make bench` (`python benchmarks/run.py`); how the suite works is in "
        "the docstrings of `benchmarks/*.py`.",
        "",
        "## Machine",
        "",
        f"- CPU: {info['cpu']}, {info['cpus']} logical CPUs; {info['platform']}",
        f"- Python {info['python']}, NumPy {info['numpy']} (BLAS: {', '.join(blas) or '?'}), "
        f"PyTorch {info['torch'] or 'not installed'}",
        f"- load average (1, 5, 15 min) at the start: {_load(info['load_start'])}, at the end: "
        f"{_load(info['load_end'])}{_load_warning(info)}",
        "",
        "## How to read the tables",
        "",
        "- Every variant of a workload runs in one process, in alternation (A B C, B C A, ...), "
        "several rounds; each timed block follows an untimed warm-up, and in W1 and W3 with more "
        f"than one thread a pause of {common.SETTLE_SECONDS} s, so that the worker threads a "
        "library left spinning (OpenBLAS's spin for about 0.1 s) no longer hold a core. Times "
        "are the median over rounds, with the min-max and the interquartile range (as % of the "
        "median).",
        "- Ratios (`x NumPy floor`, `x torch ...`) are the median (min-max) of the per-round "
        "ratios: both times come from the same round, which cancels most machine drift. The "
        "NumPy floor is the same step written by hand in NumPy (the fastest straightforward "
        "code); `x torch-...` compares with PyTorch's fastest variant on that workload.",
        "- Threads: `OMP_NUM_THREADS`/`OPENBLAS_NUM_THREADS`/`MKL_NUM_THREADS` set before "
        "import in a subprocess per thread count, plus `torch.set_num_threads`.",
        "- Memory: `traced MB` is the tracemalloc peak (NumPy and deltagrad allocations, exact; "
        "n/a for PyTorch); `RSS MB` is the growth of the peak resident set over a few steps, "
        "each variant in a fresh subprocess after a tiny warm-up run (all libraries).",
        "- Every workload first checks that its variants compute the same losses and parameters "
        "(gradients for W2); a run that fails the check reports nothing.",
        "",
        "## Targets (issues 5, 17, 18)",
        "",
        common.markdown_table(*targets_table(results, threads)),
    ]
    for workload in TABLES:
        for result in (r for r in results if r["workload"] == workload):
            lines += ["", f"## {workload}: {result['title']}, {result['threads']} "
                      f"thread{'s' * (result['threads'] > 1)}", ""]
            lines += [f"Configuration: `{json.dumps(result.get('config', {}))}`.", ""]
            lines += [f"Left out: {name}: {why}" for name, why in
                      result.get("skipped", {}).items()]
            lines.append(common.markdown_table(*common.result_table(result)))
    for result in (r for r in results if r["workload"] == "OPS"):
        lines += ops_section(result, OP_MARKDOWN.name)
    ner = [r for r in results if r["workload"] == "NER"]
    if ner:
        lines += ["", "## NER: the default `deltagrad ner train`", "",
                  f"`{ner[0]['command']}` (seconds: the training pass of each epoch, as the "
                  "command reports them; whole run: data, vectors, evaluation and saving too). "
                  f"{ner[0].get('data') or ''}", "",
                  common.markdown_table(*ner_table(ner))]
    return "\n".join(lines) + "\n"


def write_op_markdown(results: list[dict], out: Path, info: dict) -> None:
    """The per-op table, beside ``out`` (``OP_OVERHEAD.md``), when the run timed the ops."""
    import op_overhead

    for result in (r for r in results if r["workload"] == "OPS"):
        path = out.with_name(OP_MARKDOWN.name)
        path.write_text(op_overhead.markdown(result, info))
        print(f"wrote {path}")


def _load_warning(info: dict) -> str:
    loads = [load[0] for load in (info["load_start"], info["load_end"]) if load]
    if loads and max(loads) >= 0.5 * (info["cpus"] or 1):
        return (" -- a busy machine: other processes shared the cores, so absolute times are "
                "noisy (the paired ratios less so) and runs with as many threads as cores can be "
                "many times slower than on a quiet machine")
    return ""


def _load(load) -> str:
    return "?" if load is None else ", ".join(f"{value:.2f}" for value in load)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--quick", action="store_true", help="short runs (a few minutes)")
    parser.add_argument("--threads", default="1,2", help="comma-separated (default 1,2)")
    parser.add_argument("--only", default=",".join(WORKLOADS),
                        help=f"comma-separated subset of {','.join(WORKLOADS)}")
    parser.add_argument("--out", default=str(RESULTS), help="the markdown file to write")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--json", metavar="FILE", help="also write all results as JSON")
    parser.add_argument("--from-json", metavar="FILE",
                        help="run nothing: rewrite the markdown from a --json file of a past run")
    args = parser.parse_args(argv)
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        info, results = saved["machine"], saved["results"]
        threads = sorted({r["threads"] for r in results})
        Path(args.out).write_text(markdown(results, threads, info))
        print(f"wrote {args.out}")
        write_op_markdown(results, Path(args.out), info)
        return 0
    threads = [int(n) for n in args.threads.split(",")]
    workloads = [w.strip().lower() for w in args.only.split(",")]
    unknown = set(workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}; choose from {sorted(WORKLOADS)}")
    info = common.machine_info()
    info.update(load_start=info["load_average"], quick=args.quick,
                date=datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
                command="python benchmarks/run.py" + "".join(
                    f" {a}" for a in (argv if argv is not None else sys.argv[1:])))
    start = time.perf_counter()
    planned = plan(workloads, threads, args.quick)
    results = []
    with tempfile.TemporaryDirectory(prefix="deltagrad-bench-") as scratch:
        for workload, n in planned:
            result = run_one(workload, n, args.quick, Path(scratch))
            if result is not None:
                results.append(result)
    info["minutes"] = (time.perf_counter() - start) / 60
    info["load_end"] = common.machine_info()["load_average"]
    print("\n== targets ==")
    print(common.text_table(*targets_table(results, threads)))
    if args.json:
        common.write_json(args.json, {"machine": info, "results": results})
    if not args.no_write:
        Path(args.out).write_text(markdown(results, threads, info))
        print(f"\nwrote {args.out}")
        write_op_markdown(results, Path(args.out), info)
    return 0 if len(results) == len(planned) else 1


if __name__ == "__main__":
    sys.exit(main())
