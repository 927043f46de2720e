"""Data-parallel NER training throughput with 1, 2 and 4 MPI processes, and its communication.

Trains the window tagger of ``deltagrad ner train`` (default settings: GloVe 50d vectors,
fine-tuned, hidden 300, Adam, clipping) on the embedded CoNLL-2003 train split with a fixed
global batch, data-parallel over N processes started by ``mpiexec``, one BLAS thread each.
Reported per N: tokens per second, the fraction of step time each rank spent in communication
that backward did not hide (waiting for the slowest rank included), and the bytes each rank
sent and received per step. A benchmark, not a test: numbers depend on the machine; on a
2-core machine 4 processes are oversubscribed (2 per core).

    python benchmarks/distributed_ner.py [--procs 1 2 4] [--steps 200] [--batch 128]
                                         [--vectors glove-50d|none] [--no-overlap]

Needs ``pip install '.[distributed,ner]'``. Each run is ``mpiexec -n N python THIS --worker``;
its rank 0 prints one JSON line, and the parent prints the table.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path


def worker(args) -> None:
    import numpy as np

    import deltagrad as dg
    from deltagrad import parallel
    from deltagrad.ner.build import features_kwargs, make_model, make_optimizer
    from deltagrad.ner.config import TrainConfig
    from deltagrad.ner.conll import load_sentences
    from deltagrad.ner.features import build_features
    from deltagrad.ner.vectors import load_vectors

    config = TrainConfig(batch_size=args.batch, vectors=args.vectors)
    sentences = load_sentences(None, "train")
    vectors = load_vectors(args.vectors) if args.vectors != "none" else None
    features, word_vectors, _ = build_features(
        sentences, vectors, config.window, config.word_dim, np.random.default_rng(config.seed),
        gazetteer=config.gazetteer == "train", **features_kwargs(config))
    data = features.encode(sentences, jackknife=features.gazetteer is not None)
    model = make_model(config, features, word_vectors,
                       dg.Generator(config.seed, stream="pcg64"))  # as `ner train`
    optimizer = make_optimizer(config, model)
    params = [p for p in model.parameters() if p.requires_grad]
    dp = parallel.setup_data_parallel(model, optimizer, num_examples=len(data),
                                         batch_size=args.batch, seed=config.seed,
                                         overlap=args.overlap)
    context = dp.context
    shards = itertools.chain.from_iterable(dp.sampler.batches(epoch)
                                           for epoch in itertools.count())

    def step() -> None:
        shard = next(shards)
        dg.default_generator.manual_seed(shard.seed, stream="pcg64")  # this rank's masks
        batch = data.batch(shard.rows)
        scores = model(**batch.inputs())
        loss = model.loss(scores, dg.from_numpy(batch.tags)) * shard.loss_scale
        optimizer.zero_grad()
        loss.backward()
        dp.reduce_gradients()
        dg.nn.utils.clip_grad_norm_(params, config.clip)
        optimizer.step()

    for _ in range(args.warmup):
        step()
    # Timed in windows of steps, each between barriers: on a shared machine the best window
    # (and the median) says more than a mean spoiled by other programs' bursts.
    windows = []
    for _ in range(max(1, args.steps // args.window)):
        context.barrier()
        comm_before, sent_before = context.stats.seconds, context.stats.bytes_sent
        mpi_before = context.stats.mpi_seconds
        received_before, collectives_before = (context.stats.bytes_received,
                                               context.stats.collectives)
        started = time.perf_counter()
        for _ in range(args.window):
            step()
        seconds = time.perf_counter() - started
        stats = context.stats
        windows.append([seconds, stats.seconds - comm_before, stats.bytes_sent - sent_before,
                        stats.bytes_received - received_before,
                        stats.collectives - collectives_before, stats.mpi_seconds - mpi_before])
    per_rank = np.array(context.allgather_object(windows))  # [ranks, windows, 6]
    if context.is_main:
        wall = per_rank[0, :, 0]  # every window ends with a step all ranks finish together
        comm = per_rank[:, :, 1] / wall  # [ranks, windows]
        mpi = per_rank[:, :, 5] / wall
        best, median = int(np.argmin(wall)), int(np.argsort(wall)[len(wall) // 2])
        steps = args.window
        dense = sum(b.size * b.dtype.itemsize for b in dp.reducer.buckets)
        print(json.dumps({
            "procs": context.world_size, "steps": steps * len(wall), "batch": args.batch,
            "best_tokens_per_second": steps * args.batch / wall[best],
            "median_tokens_per_second": steps * args.batch / wall[median],
            "best_step_ms": 1000 * wall[best] / steps,
            "median_step_ms": 1000 * wall[median] / steps,
            "comm_fraction_best": float(comm[:, best].mean()),
            "comm_fraction_median": float(comm[:, median].mean()),
            "mpi_fraction_best": float(mpi[:, best].mean()),
            "mpi_fraction_median": float(mpi[:, median].mean()),
            "dense_bytes_per_step": dense, "dense_buckets": len(dp.reducer.buckets),
            "sent_bytes_per_step": float(per_rank[:, :, 2].sum(axis=1).max()) / (
                steps * len(wall)),
            "received_bytes_per_step": float(per_rank[:, :, 3].sum(axis=1).max()) / (
                steps * len(wall)),
            "collectives_per_step": float(per_rank[0, :, 4].sum()) / (steps * len(wall)),
            "launched_in_backward": dp.reducer.launched_in_backward,
            "vocabulary": len(features.vocab),
            "parameters": sum(p.numel() for p in model.parameters()),
            "load_average": os.getloadavg()[0],
        }), flush=True)


def mpiexec(n: int) -> list[str]:
    beside = Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None:
        sys.exit("no mpiexec: pip install '.[distributed]'")
    version = subprocess.run([found, "--version"], capture_output=True, text=True).stdout
    command = [found, "-n", str(n)]
    if re.search(r"Open MPI|OpenRTE|prterun", version):
        command.append("--oversubscribe")
        if os.geteuid() == 0:
            command.append("--allow-run-as-root")
    return command


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--window", type=int, default=20, help="steps per timed window")
    parser.add_argument("--batch", type=int, default=128, help="global batch size")
    parser.add_argument("--vectors", default="glove-50d")
    parser.add_argument("--no-overlap", dest="overlap", action="store_false")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    passed = [f"--steps={args.steps}", f"--warmup={args.warmup}", f"--window={args.window}",
              f"--batch={args.batch}", f"--vectors={args.vectors}"]
    passed += [] if args.overlap else ["--no-overlap"]
    print(f"global batch {args.batch}, {args.steps} timed steps, 1 BLAS thread per process, "
          f"{os.cpu_count()} cores, overlap {'on' if args.overlap else 'off'}")
    print("| procs | tokens/s best (median) | speed-up | step ms best (median) | "
          "gradient reduction, of step time | of which in MPI calls | "
          "sent / received per rank per step | load |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    base = None
    for n in args.procs:
        result = subprocess.run(mpiexec(n) + [sys.executable, __file__, "--worker"] + passed,
                                capture_output=True, text=True, env=env,
                                stdin=subprocess.DEVNULL)
        lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
        if result.returncode != 0 or not lines:
            sys.exit(f"{n} processes failed:\n{result.stdout}\n{result.stderr}")
        r = json.loads(lines[-1])
        base = base or r["best_tokens_per_second"]  # the first row's
        note = " (oversubscribed)" if n > (os.cpu_count() or 1) else ""
        print(f"| {n}{note} | {r['best_tokens_per_second']:,.0f} "
              f"({r['median_tokens_per_second']:,.0f}) | "
              f"{r['best_tokens_per_second'] / base:.2f} | {r['best_step_ms']:.2f} "
              f"({r['median_step_ms']:.2f}) | {r['comm_fraction_best']:.0%} "
              f"({r['comm_fraction_median']:.0%}) | {r['mpi_fraction_best']:.0%} "
              f"({r['mpi_fraction_median']:.0%}) | "
              f"{r['sent_bytes_per_step'] / 1e3:,.0f} kB / "
              f"{r['received_bytes_per_step'] / 1e3:,.0f} kB | {r['load_average']:.1f} |",
              flush=True)
    print(f"model: {r['parameters']:,} parameters, vocabulary {r['vocabulary']:,}; dense "
          f"gradients {r['dense_bytes_per_step'] / 1e3:,.0f} kB in {r['dense_buckets']} "
          f"bucket(s) per step; {r['collectives_per_step']:.0f} collectives per step")


if __name__ == "__main__":
    main()
