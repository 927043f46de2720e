"""The real thing: seconds per training epoch of the default ``deltagrad ner train``.

Runs ``python -m deltagrad ner train --epochs 2 --no-progress --out <temporary dir>`` in a
subprocess whose environment sets the thread count (before NumPy is imported), and parses the
per-epoch lines the command prints::

    epoch  1/2  loss 0.1357  dev P ... F1 0.8962 (...)  27.4s, 7,427 tokens/s

The seconds there are the training pass only (the dev evaluation after it is not included).
Also reports the child's peak resident set (``ru_maxrss``: the largest of its processes, so for
an ensemble one member's, not their sum) and its whole wall time (data loading, GloVe, every
member's training, evaluation and saving included).

    python benchmarks/ner_train.py [--epochs 2] [--threads 1] [--json FILE]
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import common

# An ensemble's members (the default trains two, side by side) prefix their lines with
# "member k/n: "; the first member's epochs are the ones reported.
EPOCH_LINE = re.compile(
    r"^(?:member 1/\d+: )?epoch\s+(\d+)/(\d+)\s.*?([\d.]+)s, ([\d,]+) tokens/s\s*$")


def parse_epochs(output: str) -> list[dict]:
    """The ``epoch i/n ... 5.3s, 38,123 tokens/s`` lines of ``deltagrad ner train``'s output."""
    epochs = []
    for line in output.splitlines():
        match = EPOCH_LINE.match(line.strip())
        if match:
            epochs.append({"epoch": int(match[1]), "seconds": float(match[3]),
                           "tokens_per_second": int(match[4].replace(",", ""))})
    return epochs


def run(epochs: int = 2, threads: int = 1, extra: list[str] | None = None,
        timeout: float | None = None) -> dict:
    """Train in a fresh process; returns its per-epoch times, wall time and peak RSS."""
    with tempfile.TemporaryDirectory(prefix="deltagrad-bench-") as out:
        command = [sys.executable, "-m", "deltagrad", "ner", "train", "--epochs", str(epochs),
                   "--no-progress", "--out", out, *(extra or [])]
        start = time.perf_counter()
        done = subprocess.run(command, env=common.thread_env(threads), cwd=common.REPO,
                              capture_output=True, text=True, timeout=timeout)
        wall = time.perf_counter() - start
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"deltagrad ner train failed ({done.returncode}):\n{output[-3000:]}")
    per_epoch = parse_epochs(output)
    if not per_epoch:
        raise RuntimeError(f"no epoch lines in the output of deltagrad ner train:\n{output}")
    seconds = [epoch["seconds"] for epoch in per_epoch]
    # Linux gives ru_maxrss in KiB; the only child this process waited for is the trainer.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    command[command.index("--out") + 1] = "<tmp>"
    return {"workload": "NER", "title": "default `deltagrad ner train`, seconds per epoch",
            "threads": threads, "command": " ".join(["python"] + command[1:]),
            "epochs": per_epoch, "median_seconds": statistics.median(seconds),
            "min_seconds": min(seconds), "wall_seconds": wall, "peak_rss_bytes": peak,
            "data": next((line for line in output.splitlines()
                          if line.startswith(("train ", "member 1/"))), None)}


def report(result: dict, json_path: str | None = None) -> None:
    print(f"NER {result['title']}: threads={result['threads']}")
    for epoch in result["epochs"]:
        print(f"  epoch {epoch['epoch']}: {epoch['seconds']:.1f} s, "
              f"{epoch['tokens_per_second']:,} tokens/s")
    print(f"  median {result['median_seconds']:.1f} s/epoch; whole run {result['wall_seconds']:.0f}"
          f" s; peak RSS {common.megabytes(result['peak_rss_bytes'])} MB")
    if json_path:
        common.write_json(json_path, result)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", metavar="FILE", help="write the result as JSON")
    parser.add_argument("extra", nargs="*", help="more `ner train` options (after --)")
    args = parser.parse_args(argv)
    report(run(args.epochs, args.threads, args.extra), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
