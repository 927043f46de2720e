"""Throughput at realistic sizes: deltagrad against PyTorch where the arithmetic, not the
engine's fixed cost, is the time (``op_overhead.py`` measures small sizes).

Every pointwise op that ``op_overhead.MAPPING`` reaches runs at 1e6 elements ([1000, 1000],
and [1000, 1000] with [1000] for ops of several tensors), its values drawn from the op's
registered samples as ``op_overhead`` draws them; the layer-sized ops below (``LAYERS``:
reductions over 1e6 elements, products of 512, convolutions, pools and norms of a batch of
32 images, transposed convolutions in 1, 2 and 3 dims) run as written. Forward + backward,
alternated in one process (``op_overhead.time_cases``), one thread by default; the NumPy floor
(the op's own forward + VJP rule on arrays) where the op maps onto one registered op.

    python benchmarks/op_throughput.py [--rounds 5] [--ops exp,conv2d] [--markdown FILE]

Not in ``make bench`` (a few minutes). Table: ``benchmarks/OP_THROUGHPUT.md`` (s28 SP43).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import common
import numpy as np
import op_overhead as oo

MARKDOWN = common.BENCHMARKS / "OP_THROUGHPUT.md"
BIG = (1000, 1000)


def _f(fn):
    return oo.Spec(fn)


def _rand(*shape, seed=0, positive=False):
    a = np.random.default_rng([seed, len(shape)]).standard_normal(shape).astype(np.float32)
    return np.abs(a) + 0.1 if positive else a


# name -> (call(m, *arrays), arrays): realistic sizes of the layer-like ops
LAYERS = {
    "sum": (lambda m, x: m.sum(x, 1), (_rand(*BIG),)),
    "mean_all": (lambda m, x: m.mean(x), (_rand(*BIG),)),
    "amax": (lambda m, x: m.amax(x, 1), (_rand(*BIG),)),
    "softmax": (lambda m, x: m.softmax(x, 1), (_rand(*BIG),)),
    "log_softmax": (lambda m, x: m.log_softmax(x, 1), (_rand(*BIG),)),
    "cumsum": (lambda m, x: m.cumsum(x, 1), (_rand(*BIG),)),
    "var": (lambda m, x: m.var(x, 1), (_rand(*BIG),)),
    "norm": (lambda m, x: m.linalg.vector_norm(x, dim=1), (_rand(*BIG),)),
    "matmul_512": (lambda m, a, b: a @ b, (_rand(512, 512), _rand(512, 512, seed=1))),
    "bmm_32x128": (lambda m, a, b: m.bmm(a, b), (_rand(32, 128, 128), _rand(32, 128, 128, seed=1))),
    "linear_256x512": (lambda m, x, w, b: m.nn.functional.linear(x, w, b),
                       (_rand(256, 512), _rand(512, 512, seed=1), _rand(512, seed=2))),
    "conv2d_3x3": (lambda m, x, w, b: m.nn.functional.conv2d(x, w, b, padding=1),
                   (_rand(32, 32, 32, 32), _rand(64, 32, 3, 3, seed=1), _rand(64, seed=2))),
    "conv2d_s2": (lambda m, x, w: m.nn.functional.conv2d(x, w, stride=2, padding=1),
                  (_rand(32, 64, 32, 32), _rand(64, 64, 4, 4, seed=1))),
    "conv1d": (lambda m, x, w: m.nn.functional.conv1d(x, w, padding=2),
               (_rand(32, 64, 1000), _rand(64, 64, 5, seed=1))),
    "conv3d": (lambda m, x, w: m.nn.functional.conv3d(x, w, padding=1),
               (_rand(4, 16, 16, 32, 32), _rand(32, 16, 3, 3, 3, seed=1))),
    "conv_transpose1d": (lambda m, x, w: m.nn.functional.conv_transpose1d(
        x, w, stride=2, padding=2, output_padding=1),
        (_rand(32, 64, 1000), _rand(64, 32, 5, seed=1))),
    "conv_transpose2d_dcgan": (lambda m, x, w: m.nn.functional.conv_transpose2d(
        x, w, stride=2, padding=1), (_rand(32, 64, 16, 16), _rand(64, 32, 4, 4, seed=1))),
    "conv_transpose2d_unet": (lambda m, x, w: m.nn.functional.conv_transpose2d(x, w, stride=2),
                              (_rand(8, 128, 32, 32), _rand(128, 64, 2, 2, seed=1))),
    "conv_transpose3d": (lambda m, x, w: m.nn.functional.conv_transpose3d(
        x, w, stride=2, padding=1, output_padding=1),
        (_rand(4, 32, 8, 16, 16), _rand(32, 16, 3, 3, 3, seed=1))),
    "conv_transpose3d_doc_b2": (lambda m, x, w: m.nn.functional.conv_transpose3d(
        x, w, stride=(2, 1, 1), padding=(0, 4, 2)),
        (_rand(2, 16, 10, 50, 100), _rand(16, 33, 3, 5, 2, seed=1))),
    "max_pool2d": (lambda m, x: m.nn.functional.max_pool2d(x, 2), (_rand(32, 64, 32, 32),)),
    "avg_pool2d": (lambda m, x: m.nn.functional.avg_pool2d(x, 3, 2, 1), (_rand(32, 64, 32, 32),)),
    "adaptive_avg_pool2d": (lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, 1),
                            (_rand(32, 256, 16, 16),)),
    "batch_norm": (lambda m, x, w, b: m.nn.functional.batch_norm(
        x, None, None, w, b, training=True), (_rand(32, 64, 32, 32), _rand(64, seed=1),
                                              _rand(64, seed=2))),
    "layer_norm": (lambda m, x, w, b: m.nn.functional.layer_norm(x, (512,), w, b),
                   (_rand(2048, 512), _rand(512, seed=1), _rand(512, seed=2))),
    "group_norm": (lambda m, x: m.nn.functional.group_norm(x, 8), (_rand(32, 64, 32, 32),)),
    "embedding": (lambda m, i, w: m.nn.functional.embedding(i, w),
                  (np.random.default_rng(3).integers(0, 10000, (64, 256)),
                   _rand(10000, 256, seed=1))),
    "cross_entropy": (lambda m, x, t: m.nn.functional.cross_entropy(x, t),
                      (_rand(4096, 1000), np.random.default_rng(4).integers(0, 1000, 4096))),
    "mse_loss": (lambda m, a, b: m.nn.functional.mse_loss(a, b),
                 (_rand(*BIG), _rand(*BIG, seed=1))),
    "scaled_dot_product_attention": (
        lambda m, q, k, v: m.nn.functional.scaled_dot_product_attention(q, k, v),
        (_rand(8, 8, 256, 64), _rand(8, 8, 256, 64, seed=1), _rand(8, 8, 256, 64, seed=2))),
}


def layer_cases(names) -> list:
    cases = []
    for name in names:
        call, arrays = LAYERS[name]
        key = "layer:" + name
        oo.MAPPING[key] = oo.Spec(call)
        cases.append(oo.Case(key, oo._shape_label(arrays), arrays, {}, arrays, {}))
    return cases


def run(rounds: int, threads: int, ops=None, layers=None) -> dict:
    common.set_threads(threads)
    torch = common.import_torch(threads)
    oo.SHAPES = (BIG,)
    oo.BROADCAST = (BIG, (BIG[1],))
    pointwise = [name for name in (ops or sorted(oo.MAPPING))
                 if name in oo.MAPPING and oo.MAPPING[name].pointwise]
    cases = oo.make_cases(pointwise, 1) + layer_cases(
        sorted(LAYERS) if layers is None else layers)
    floor = oo.floor_steps
    oo.floor_steps = lambda spec, case, g: {} if case.op.startswith("layer:") else floor(
        spec, case, g)
    try:
        with np.errstate(all="ignore"):
            case_results = oo.time_cases(cases, torch, rounds, 1)
    finally:
        oo.floor_steps = floor
    rows = oo.summarize_ops(case_results)
    summary = oo.summary_of(rows)
    return {"workload": "OPS_THROUGHPUT",
            "title": "throughput at realistic sizes (fwd+bwd; 1e6-element pointwise, layers)",
            "unit": "us/call", "threads": threads, "blas": common.blas_threads(),
            "config": {"rounds": rounds, "calls": 1, "shape": list(BIG)},
            "rows": rows, "cases": case_results, "summary": summary, "targets": [],
            "not_mapped": {}}


def markdown(result: dict) -> str:
    """The table as markdown: every op, worst ratio first."""
    headers, rows = oo.table_rows(result)
    summary = result["summary"]
    lines = [
        "# Throughput at realistic sizes: deltagrad vs PyTorch (fwd+bwd)", "",
        f"Written by `benchmarks/op_throughput.py` ({result['config']['rounds']} alternated "
        f"rounds of one call, threads={result['threads']}, BLAS threads {result['blas']}). "
        "Pointwise ops at [1000, 1000] (and [1000, 1000] with [1000]), values drawn from "
        "the op's registered samples; `layer:` rows as written in the script's LAYERS. "
        "`x torch`: deltagrad's time over PyTorch's (paired, median); `x fwd+vjp`: over the "
        "op's own NumPy forward + VJP rule (the NumPy floor: a ratio near 1 there means "
        "the gap to PyTorch is NumPy's, not the engine's). Caveats: blocks of one call "
        "on a shared 2-core machine are noisy (rerun an op alone with `--ops NAME "
        "--layers ''` before acting on a row); the pointwise inputs hold ~30 distinct "
        "sample values, kinks included, in random order, so rules built on `np.where` "
        "pay a branch misprediction per element (hardtanh's, s28 SP43: 4.5 -> 1.1 ms "
        "fwd+bwd).", "",
        f"Median ratio over {summary['with_ratio']} ops: "
        + (f"{summary['median_ratio']:.3f}" if summary["median_ratio"] is not None else "-"),
        "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell).replace("|", "/") for cell in row) + " |"
              for row in rows]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ops", help="comma-separated pointwise ops (default: all mapped)")
    parser.add_argument("--layers", help="comma-separated LAYERS names (default: all)")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--markdown", metavar="FILE", default=None)
    args = parser.parse_args(argv)
    result = run(args.rounds, args.threads, args.ops.split(",") if args.ops else None,
                 None if args.layers is None else [n for n in args.layers.split(",") if n])
    oo.report(result, args.json, None, top=40)
    if args.markdown:
        Path(args.markdown).write_text(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
