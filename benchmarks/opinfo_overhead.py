"""Per-op overhead on inputs we did not choose: PyTorch's OpInfo samples, deltagrad vs PyTorch.

``op_overhead.py`` times every registered op on inputs drawn from deltagrad's own registered
samples. This script times the public surface on PyTorch's: for every OpInfo of ``op_db``
(``torch.testing._internal.common_methods_invocations``) that deltagrad has a function for, the
first few float32 ``sample_inputs`` (shapes, scalars, keyword arguments, non-contiguous views as
PyTorch's test suite writes them) go through the function in both libraries. Loading ``op_db``,
converting its samples and finding deltagrad's counterpart are the parity harness's
(``tests/parity/opinfo_harness.py``: ``op_db``, ``to_dg``, ``resolve``, ``run_sample``).

Per sample, up to six variants, alternated in one process (``common.alternate``: A B C D, B C D A,
...), one thread in both libraries (``torch.set_num_threads(1)``, ``deltagrad.set_num_threads(1)``):

- ``dg-fwd`` / ``torch-fwd``: the function on the sample's inputs, which require grad where the
  op supports autograd (so the graph is recorded, as in training);
- ``dg-ng`` / ``torch-ng``: the same forward under ``no_grad`` (``inference_mode`` with
  ``--no-grad-mode inference``): inference, evaluation loops;
- ``dg-fb`` / ``torch-fb``: the forward, then ``autograd.grad`` of its differentiable outputs
  (after the sample's ``output_process_fn_grad``) with fixed random cotangents, where PyTorch
  computes a gradient.

A sample's ratio is the median of the per-round ratios deltagrad / PyTorch (paired: both
timed within one round). An op's ratio is the median over its timed samples of the forward +
backward ratio where it has one, else of the forward ratio. Each block is a few calls, sized
from one untimed call to about ``BLOCK_SECONDS``, so that short blocks ride out preemption on a
shared machine (op_overhead.py's docstring has the measurement). Short blocks are pessimistic
for deltagrad on microsecond ops (each block starts after a ``gc.collect()``, with colder
caches, and deltagrad's Python path touches more code than PyTorch's C++ one): measured on the
first samples of add / sum / softmax, fwd + bwd 0.65 / 0.67 / 0.75 x PyTorch with blocks of at
most 20 calls (the default), 0.47 / 0.57 / 0.71 with 2 ms blocks. Before timing, each sample is
compared with the harness (``run_sample``); a sample that differs from PyTorch is still timed
and the op's ``notes`` name the difference.

    python benchmarks/opinfo_overhead.py [--quick] [--ops softmax,nn.functional.linear]
                                         [--samples 3] [--rounds 7] [--markdown OPINFO_OVERHEAD.md]
                                         [--no-grad-mode {no_grad,inference}]
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import statistics
import sys
import time
import warnings

import common

sys.path.insert(0, str(common.REPO / "tests" / "parity"))

MARKDOWN = common.BENCHMARKS / "OPINFO_OVERHEAD.md"
THRESHOLDS = (0.6, 1.0, 2.0, 5.0)
BLOCK_SECONDS = 4e-4  # target length of one timed block
MAX_CALLS = 20
# What the no-grad forward column runs under: ``no_grad`` (the default) or ``inference_mode``
# (``--no-grad-mode inference``), in both libraries.
NO_GRAD_MODE = "no_grad"
WORST = 30
# Thread time by default: with one thread in both libraries all the work is on this thread, and
# on a shared machine thread time leaves out the time other processes held the core. Measured
# at load 13 on the 2-core machine, 40 blocks of 20 softmax calls on [5, 5]: wall median 4.0,
# 90th percentile 4.3, worst 412 us a call; thread time 4.0, 4.3, 12. Wall time is an option.
CLOCKS = {"thread": time.thread_time, "wall": time.perf_counter}

# Ops that real programs call most (models, losses, data handling), reported in their own
# section; the order of attack on the slow ones (issue 18: weigh the ratio by how common an op
# is). Names are op_db's (``op_id``).
COMMON = (
    "matmul", "mm", "bmm", "addmm", "nn.functional.linear", "einsum",
    "nn.functional.conv1d", "nn.functional.conv2d", "nn.functional.max_pool2d",
    "nn.functional.avg_pool2d", "nn.functional.adaptive_avg_pool2d", "softmax", "log_softmax",
    "nn.functional.softmax", "nn.functional.log_softmax", "nn.functional.cross_entropy",
    "nn.functional.nll_loss", "nn.functional.mse_loss", "nn.functional.binary_cross_entropy",
    "nn.functional.binary_cross_entropy_with_logits", "nn.functional.layer_norm",
    "nn.functional.batch_norm", "nn.functional.embedding", "nn.functional.dropout",
    "nn.functional.relu", "nn.functional.gelu", "nn.functional.silu", "tanh", "sigmoid",
    "nn.functional.scaled_dot_product_attention", "__getitem__", "index_select", "gather",
    "masked_fill", "where", "cat", "stack", "reshape", "view", "transpose", "permute",
    "flatten", "squeeze", "unsqueeze", "expand", "repeat", "sum", "mean",
    "max.reduction_with_dim", "amax", "argmax", "var", "std", "norm", "logsumexp", "add", "mul",
    "sub", "div.no_rounding_mode", "exp", "log", "pow", "sqrt", "clamp", "topk", "sort", "cumsum",
)


def _load_harness():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import opinfo_harness
    return opinfo_harness


def _grad_outputs(H, sample, out, cls):
    """The differentiable tensors of a result, after the sample's output processing."""
    proc = sample.output_process_fn_grad(out)
    tensors = H._flat_tensors(proc, cls, [])
    if cls.__module__.startswith("torch"):
        return [t for t in tensors if t.requires_grad
                and (t.dtype.is_floating_point or t.dtype.is_complex)]
    return [t for t in tensors if t.requires_grad]


def build(H, torch, dg, op, sample):
    """The timed steps of one sample: {variant: () -> None}, and notes. None if not timeable."""
    import numpy as np

    t_fn = op.op
    d_fn = H.resolve(op, "function")
    memo = {}
    try:
        d_in = H.to_dg(sample.input, memo)
        d_args = H.to_dg(sample.args, memo)
        d_kwargs = H.to_dg(sample.kwargs, memo)
    except H.Unconvertible as exc:
        return None, f"unconvertible ({exc})"
    try:
        t_out = t_fn(sample.input, *sample.args, **sample.kwargs)
    except Exception as exc:  # noqa: BLE001 - a sample PyTorch refuses is not timed
        return None, f"PyTorch raises {type(exc).__name__}"
    try:
        d_out = d_fn(d_in, *d_args, **d_kwargs)
    except Exception as exc:  # noqa: BLE001
        return None, f"deltagrad raises {type(exc).__name__}"

    def t_fwd():
        t_fn(sample.input, *sample.args, **sample.kwargs)

    def d_fwd():
        d_fn(d_in, *d_args, **d_kwargs)

    def t_ng():
        with t_mode():
            t_fn(sample.input, *sample.args, **sample.kwargs)

    def d_ng():
        with d_mode():
            d_fn(d_in, *d_args, **d_kwargs)

    t_mode, d_mode = ((torch.inference_mode, dg.inference_mode) if NO_GRAD_MODE == "inference"
                      else (torch.no_grad, dg.no_grad))
    steps = {"dg-fwd": d_fwd, "torch-fwd": t_fwd, "dg-ng": d_ng, "torch-ng": t_ng}
    note = None
    t_leaves = H._grad_leaves((sample.input, sample.args, sample.kwargs), [])
    t_outs = _grad_outputs(H, sample, t_out, torch.Tensor) if t_leaves else []
    if t_outs:
        rng = np.random.default_rng(0)
        t_cots = [torch.from_numpy(rng.standard_normal(tuple(t.shape))).to(t.dtype)
                  for t in t_outs]
        d_leaves = [memo[id(t)] for t in t_leaves]
        d_cots = [H.to_dg(c) for c in t_cots]
        try:
            torch.autograd.grad(t_outs, t_leaves, t_cots, allow_unused=True)
        except Exception:  # noqa: BLE001 - no derivative in PyTorch: forward only
            t_outs = []
    if t_outs:
        try:
            d_outs = _grad_outputs(H, sample, d_out, dg.Tensor)
            if len(d_outs) != len(t_outs):
                raise ValueError("differentiable outputs differ")
            dg.autograd.grad(d_outs, d_leaves, d_cots, allow_unused=True)
        except Exception as exc:  # noqa: BLE001 - timed forward only, and said so
            note = f"backward not timed ({type(exc).__name__})"
        else:
            def t_fb():
                out = t_fn(sample.input, *sample.args, **sample.kwargs)
                outs = _grad_outputs(H, sample, out, torch.Tensor)
                torch.autograd.grad(outs, t_leaves, t_cots, allow_unused=True)

            def d_fb():
                out = d_fn(d_in, *d_args, **d_kwargs)
                outs = _grad_outputs(H, sample, out, dg.Tensor)
                dg.autograd.grad(outs, d_leaves, d_cots, allow_unused=True)

            steps.update({"dg-fb": d_fb, "torch-fb": t_fb})
    return steps, note


def time_sample(steps: dict, rounds: int, clock=time.thread_time) -> dict:
    """Alternated timing of one sample's steps; microseconds per call and paired ratios."""
    start = clock()
    for step in steps.values():
        step()
    one = (clock() - start) / len(steps)
    calls = max(1, min(MAX_CALLS, int(BLOCK_SECONDS / max(one, 1e-7))))
    if one > 0.02:  # a slow sample: fewer rounds keep the whole table within minutes
        rounds = min(rounds, 3)
    times = common.alternate(
        {name: (lambda step=step: [step() for _ in range(calls)]) for name, step in steps.items()},
        rounds, warmup=False, freeze=False, clock=clock)
    us = {name: [t / calls * 1e6 for t in values] for name, values in times.items()}
    result = {"us": {name: statistics.median(values) for name, values in us.items()},
              "fwd": common.paired_ratio(us["dg-fwd"], us["torch-fwd"])["median"],
              "ng": common.paired_ratio(us["dg-ng"], us["torch-ng"])["median"]}
    if "dg-fb" in us:
        result["fb"] = common.paired_ratio(us["dg-fb"], us["torch-fb"])["median"]
    return result


def run(ops=None, max_samples: int = 3, rounds: int = 7, check: bool = True,
        log=print, clock: str = "thread") -> dict:
    common.set_threads(1)
    torch = common.import_torch(1)
    H = _load_harness()
    import deltagrad as dg

    dg.set_num_threads(1)
    db = H.op_db()
    if ops:
        wanted = set(ops)
        db = [op for op in db if H.op_id(op) in wanted or op.name in wanted]
    rows, skipped = [], {}
    started = time.perf_counter()
    gc.collect()
    gc.freeze()  # everything alive now stays out of the collector (op_overhead.py: why)
    try:
        for op in db:
            name = H.op_id(op)
            if torch.float32 not in op.supported_dtypes("cpu"):
                skipped[name] = "no float32"
                continue
            if H.resolve(op, "function") is None:
                skipped[name] = "no deltagrad function"
                continue
            rg = op.supports_autograd
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    samples = H.samples_of(op, torch.float32, rg, max_samples=max_samples)
                except Exception as exc:  # noqa: BLE001
                    skipped[name] = f"sample_inputs raises {type(exc).__name__}"
                    continue
                row = {"op": name, "samples": 0, "tried": 0, "results": [], "notes": set()}
                for sample in samples:
                    row["tried"] += 1
                    if check:
                        try:
                            diff = H.run_sample(op, sample, "function", grad=rg)
                        except Exception as exc:  # noqa: BLE001
                            diff = ("harness", type(exc).__name__)
                        if diff is not None:
                            row["notes"].add(f"differs: {diff[0]}")
                    steps, note = build(H, torch, dg, op, sample)
                    if note:
                        row["notes"].add(note)
                    if steps is None:
                        continue
                    try:
                        result = time_sample(steps, rounds, CLOCKS[clock])
                    except Exception as exc:  # noqa: BLE001 - a step failing on repeat
                        row["notes"].add(f"repeat raises {type(exc).__name__}")
                        continue
                    result["label"] = H.describe(sample)
                    row["results"].append(result)
                    row["samples"] += 1
            if row["results"]:
                summarize_row(row)
                rows.append(row)
                log(f"{name:45s} {row['ratio']:6.2f}  ({row['samples']} samples)")
            else:
                skipped[name] = "; ".join(sorted(row["notes"])) or "no sample"
    finally:
        gc.unfreeze()
    rows.sort(key=lambda r: r["ratio"], reverse=True)
    return {"workload": "OPINFO", "title": "per-op overhead on PyTorch's OpInfo samples",
            "threads": 1, "rows": rows, "skipped": skipped,
            "seconds": time.perf_counter() - started,
            "config": {"samples": max_samples, "rounds": rounds, "threads": 1, "clock": clock},
            "versions": {"torch": torch.__version__, "numpy": sys.modules["numpy"].__version__}}


def summarize_row(row: dict) -> None:
    results = row["results"]
    main = [r.get("fb", r["fwd"]) for r in results]
    row["ratio"] = statistics.median(main)
    row["fwd_ratio"] = statistics.median(r["fwd"] for r in results)
    row["ng_ratio"] = statistics.median(r["ng"] for r in results if "ng" in r) if any(
        "ng" in r for r in results) else None
    fb = [r["fb"] for r in results if "fb" in r]
    row["fb_ratio"] = statistics.median(fb) if fb else None
    row["dg_us"] = statistics.median(r["us"].get("dg-fb", r["us"]["dg-fwd"]) for r in results)
    row["torch_us"] = statistics.median(r["us"].get("torch-fb", r["us"]["torch-fwd"])
                                        for r in results)
    worst = max(results, key=lambda r: r.get("fb", r["fwd"]))
    row["worst"] = (worst["label"], worst.get("fb", worst["fwd"]))
    row["notes"] = sorted(row["notes"])


def summary_of(rows: list[dict]) -> dict:
    ratios = [r["ratio"] for r in rows]
    return {"ops": len(rows), "samples": sum(r["samples"] for r in rows),
            "median": statistics.median(ratios) if ratios else None,
            "over": {t: sum(x > t for x in ratios) for t in THRESHOLDS}}


def _f(x, digits=2):
    return "-" if x is None else f"{x:.{digits}f}"


def _table(rows: list[dict]) -> list[str]:
    lines = ["| op | samples | deltagrad us | torch us | x torch | fwd x torch | fwd+bwd x torch "
             "| no-grad fwd x torch | worst sample (x torch) | notes |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        label = r["worst"][0].replace("|", "/")
        label = label if len(label) <= 60 else label[:57] + "..."
        lines.append(f"| {r['op']} | {r['samples']}/{r['tried']} | {_f(r['dg_us'], 1)} | "
                     f"{_f(r['torch_us'], 1)} | {_f(r['ratio'])} | {_f(r['fwd_ratio'])} | "
                     f"{_f(r['fb_ratio'])} | {_f(r.get('ng_ratio'))} | "
                     f"`{label}` ({_f(r['worst'][1])}) | "
                     f"{'; '.join(r['notes'])} |")
    return lines


def markdown(result: dict, quick: bool) -> str:
    rows, s = result["rows"], summary_of(result["rows"])
    cfg, v = result["config"], result["versions"]
    load = ", ".join(f"{x:.2f}" for x in __import__("os").getloadavg())
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    common_rows = [r for r in rows if r["op"] in COMMON]
    lines = [
        "# Per-op overhead on PyTorch's OpInfo samples: deltagrad vs PyTorch",
        "",
        f"Written by `python benchmarks/opinfo_overhead.py{' --quick' if quick else ''}` on "
        f"{now}; load average {load}; PyTorch {v['torch']}, NumPy {v['numpy']}; "
        f"{result['seconds']:.0f} s.",
        "",
        f"One thread; the first {cfg['samples']} float32 `sample_inputs` of each OpInfo of "
        f"`op_db` that deltagrad has; {cfg['rounds']} alternated rounds per sample, "
        f"{cfg['clock']} time. How it is "
        "measured: the docstring of `benchmarks/opinfo_overhead.py`. `x torch`: the op's "
        "median over its samples of deltagrad / PyTorch, forward + backward where PyTorch has "
        "a gradient, else forward (the graph recorded); `no-grad fwd`: the forward under "
        f"`{'inference_mode' if NO_GRAD_MODE == 'inference' else 'no_grad'}` in both.",
        "",
        "## Summary",
        "",
        f"- ops timed: {s['ops']} ({s['samples']} samples); not timed: "
        f"{len(result['skipped'])} (list at the end).",
        f"- median ratio deltagrad / PyTorch: {_f(s['median'], 3)}.",
        "- ops over " + ", ".join(f"{t} x: {n}" for t, n in s["over"].items()) + ".",
        "",
        f"## Worst {WORST}",
        "",
        *_table(rows[:WORST]),
        "",
        "## Common ops (what real programs call most)",
        "",
        *_table(common_rows),
        "",
        "## Every op",
        "",
        *_table(rows),
        "",
        "## Not timed",
        "",
    ]
    reasons: dict[str, list[str]] = {}
    for name, why in result["skipped"].items():
        reasons.setdefault(why, []).append(name)
    for why, names in sorted(reasons.items(), key=lambda kv: -len(kv[1])):
        lines.append(f"- {why} ({len(names)}): {', '.join(sorted(names))}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="1 sample per op, 5 rounds, no parity check")
    parser.add_argument("--ops", help="comma-separated op_db names / ids")
    parser.add_argument("--samples", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--markdown", default=None,
                        help="where to write the table (default: OPINFO_OVERHEAD.md when the "
                        "whole registry is timed)")
    parser.add_argument("--json", default=None)
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="thread")
    parser.add_argument("--threads", type=int, default=1, help="accepted for run.py; always 1")
    parser.add_argument("--no-grad-mode", choices=("no_grad", "inference"), default="no_grad",
                        help="what the no-grad forward column runs under")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)
    global NO_GRAD_MODE
    NO_GRAD_MODE = args.no_grad_mode
    samples = args.samples or (1 if args.quick else 3)
    rounds = args.rounds or (5 if args.quick else 7)
    ops = args.ops.split(",") if args.ops else None
    result = run(ops, samples, rounds, check=not args.quick,
                 log=(lambda *a: None) if args.quiet else print, clock=args.clock)
    s = summary_of(result["rows"])
    print(f"OPINFO ops={s['ops']} samples={s['samples']} median={_f(s['median'], 3)} "
          + " ".join(f"over{t}={n}" for t, n in s["over"].items())
          + f" seconds={result['seconds']:.0f}")
    path = args.markdown or (None if ops else str(MARKDOWN))
    if path:
        with open(path, "w") as out:
            out.write(markdown(result, args.quick))
        print(f"wrote {path}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({**result, "summary": s}, out, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
