"""A/B of two deltagrad revisions: the working tree against ``--base``, in one process.

A speed change is measured best against the code before it, side by side: both run in one
process, in alternation with each other and with the workload's NumPy floor (``common.alternate``),
and the result is the median of the per-round ratios, which cancels most of this shared
machine's drift. The base revision's ``src/deltagrad`` is taken with ``git archive`` into a
temporary folder and imported under another name, ``deltagrad_base`` (its ``ner`` package, which
imports deltagrad by name, is left out; the engine, ``nn`` and ``optim`` import relatively).

    python benchmarks/ab.py --base 7a27ec7 --workload w1-sparse [--threads 1] [--rounds 20]
    python benchmarks/ab.py --base HEAD~3 --workload w2

Workloads: ``w1-sparse`` / ``w1-dense`` (the W1 step, 25 steps a block by default), ``w2`` (the
W2 chain, 20 repeats a block) and ``w3`` (the W3 step, 2 a block). Before timing, base and new
must give the same first losses (to 1e-5): an A/B of two different computations means nothing.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import common
import numpy as np
import w1_ner_epoch as w1
import w2_overhead as w2
import w3_mlp as w3

BASE_NAME = "deltagrad_base"
WORKLOADS = ("w1-sparse", "w1-dense", "w2", "w3")
DEFAULT_STEPS = {"w1-sparse": 25, "w1-dense": 25, "w2": 20, "w3": 2}


def load_base(revision: str):
    """Import ``revision``'s deltagrad package as ``deltagrad_base``."""
    done = subprocess.run(["git", "archive", revision, "src/deltagrad"], cwd=common.REPO,
                          capture_output=True)
    if done.returncode != 0:
        raise SystemExit(f"ab.py: git archive {revision} failed: "
                         f"{done.stderr.decode(errors='replace').strip()}")
    folder = Path(tempfile.mkdtemp(prefix="deltagrad-ab-"))
    atexit.register(shutil.rmtree, folder, True)
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        try:
            archive.extractall(folder, filter="data")
        except TypeError:  # Python before 3.11.4: no filters (the archive is this repository's)
            archive.extractall(folder)
    package = folder / "src" / "deltagrad"
    shutil.rmtree(package / "ner", ignore_errors=True)
    package.rename(folder / BASE_NAME)
    sys.path.insert(0, str(folder))
    for name in [name for name in sys.modules if name.split(".")[0] == BASE_NAME]:
        del sys.modules[name]  # an earlier base, loaded from another folder
    return importlib.import_module(BASE_NAME)


def make_steps(workload: str, libraries: dict, w1_config=None, w3_config=None) -> dict:
    """{name: step function} for each library in ``libraries`` ({name: package}) and the floor.

    Each step function takes the step number (W1 walks its batches with it).
    """
    if workload.startswith("w1"):
        config = w1_config or w1.Config()
        data, init = w1.make_data(config, 100), w1.make_init(config)
        sparse = workload == "w1-sparse"
        runners = {name: w1.make_deltagrad(config, init, data, sparse=sparse, dg=lib)
                   for name, lib in libraries.items()}
        runners["numpy"] = w1.NumpyTagger(config, init, data, lazy=sparse)
        return {name: runner.step for name, runner in runners.items()}
    if workload == "w2":
        values = w2.make_values()
        steps = {name: w2._make_framework(lib.from_numpy, values)
                 for name, lib in libraries.items()}
        steps["numpy"] = w2.make_numpy(np, values)
        return {name: (lambda i, step=step: step()[0]) for name, step in steps.items()}
    config = w3_config or w3.Config()
    init = w3.make_init(config)
    runners = {name: w3.FrameworkMLP(lib, config, init) for name, lib in libraries.items()}
    runners["numpy"] = w3.NumpyMLP(config, init)
    return {name: (lambda i, runner=runner: runner.step()) for name, runner in runners.items()}


def run(workload: str, base: str, rounds: int = 20, steps: int | None = None,
        threads: int = 1, w1_config=None, w3_config=None) -> dict:
    """Time base, new and the floor in alternation; returns medians and paired ratios."""
    if workload not in WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}; choose from {', '.join(WORKLOADS)}")
    common.set_threads(threads)
    import deltagrad

    libraries = {"base": load_base(base), "new": deltagrad}
    step_functions = make_steps(workload, libraries, w1_config, w3_config)
    first = {name: float(common.to_numpy(step(0))) for name, step in step_functions.items()}
    common.assert_close("A/B: first loss of new against base", first["new"], first["base"],
                        1e-5, 1e-6)
    steps = steps or DEFAULT_STEPS[workload]
    counter = iter(range(1, 1 << 62))

    def block(step):
        return lambda: [step(next(counter)) for _ in range(steps)]

    times = common.alternate({name: block(step) for name, step in step_functions.items()},
                             rounds, settle=common.settle_seconds(threads))
    return {
        "workload": workload, "base": base, "threads": threads, "rounds": rounds,
        "steps": steps,
        "seconds_per_step": {name: common.summarize([t / steps for t in samples])
                             for name, samples in times.items()},
        "new/base": common.paired_ratio(times["new"], times["base"]),
        "base/numpy": common.paired_ratio(times["base"], times["numpy"]),
        "new/numpy": common.paired_ratio(times["new"], times["numpy"]),
    }


def report(result: dict) -> None:
    print(f"A/B {result['workload']}: working tree (new) against {result['base']} (base), "
          f"{result['threads']} thread(s), {result['rounds']} rounds of {result['steps']} steps")
    for name, stats in result["seconds_per_step"].items():
        print(f"  {name:6s} {stats['median'] * 1e6:10.1f} us/step  (IQR {stats['iqr_pct']:.0f}%)")
    for key in ("new/base", "base/numpy", "new/numpy"):
        ratio = result[key]
        print(f"  {key:10s} {ratio['median']:.3f} ({ratio['min']:.3f}-{ratio['max']:.3f})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the git revision to compare against")
    parser.add_argument("--workload", choices=WORKLOADS, default="w1-sparse")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--steps", type=int, default=None, help="steps per timed block")
    args = parser.parse_args(argv)
    report(run(args.workload, args.base, args.rounds, args.steps, args.threads))
    return 0


if __name__ == "__main__":
    sys.exit(main())
