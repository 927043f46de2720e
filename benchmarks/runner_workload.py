"""What the workloads timed against PyTorch share (W4 transformer, W5 LSTM, W6 CNN, W7
DataLoader): each defines a ``Config``, ``make_runners`` (variant name -> an object whose
``step()`` does one timed unit of work) and a ``check``; this module times the runners in
alternation, states the target (at most 1.0 x PyTorch's best) and runs the command line.

The workload scripts are run by hand or by ``run.py`` (as scripts, from this folder) and
imported by ``ab.py`` and the tests (with this folder on ``sys.path``): all import this module
by its plain name, as they import ``common``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

import common


def run(make_runners: Callable, config, steps: int, rounds: int, threads: int,
        variants=None) -> dict[str, list[float]]:
    """Time ``make_runners(config, torch, variants)``'s runners in alternation, ``steps`` steps
    a block; returns {name: [seconds per step, one per round]}."""
    common.set_threads(threads)
    torch = common.import_torch(threads)
    return common.time_runners(make_runners(config, torch, variants), steps, rounds, threads)


def targets(summary: dict, workload: str) -> list[dict]:
    """The target of each deltagrad variant present: at most 1.0 x PyTorch's best variant."""
    out = []
    for variant in ("deltagrad", "deltagrad-replay"):
        ratio = summary["ratios"].get(variant, {}).get("torch")
        if ratio:
            out.append(common.target(f"{workload} {variant} vs torch's best, s/step", ratio, 1.0,
                                     versus=summary["torch_best"]))
    return out


def main(argv, *, workload: str, doc: str, title: str, unit: str, defaults: tuple[int, ...],
         config, variants: tuple[str, ...], check: Callable, run: Callable,
         skipped: dict) -> int:
    """A workload's command line: check the variants agree, time them, print (and save) the
    result with its target.

    Args:
        workload: its name in the results ("W4").
        doc: the script's docstring (the help text).
        defaults: (steps, rounds, quick steps, quick rounds).
        variants: all the variants; ``--variants`` picks a subset.
        check: ``check(config, torch, variants)`` -> the result's ``check`` entry; raises
            AssertionError when the variants disagree.
        run: the workload's ``run(steps, rounds, threads, config, variants)``.
        skipped: variant -> why it did not run (filled while the runners are made).
    """
    steps, rounds, quick_steps, quick_rounds = defaults
    parser = common.workload_parser(doc, steps=steps, rounds=rounds, quick_steps=quick_steps,
                                    quick_rounds=quick_rounds)
    args = common.parse_workload_args(parser, argv)
    if args.memory_probe or args.memory:
        parser.error(f"{workload} has no memory measurement")
    common.set_threads(args.threads)
    torch = common.import_torch(args.threads)
    chosen = tuple(args.variants.split(",")) if args.variants else variants
    checked = check(config, torch, chosen)
    samples = run(args.steps, args.rounds, args.threads, config, chosen)
    summary = common.summarize_workload(
        workload, title, unit, args.threads, samples, "numpy",
        config={**asdict(config), "timed_steps": args.steps, "rounds": args.rounds},
        check=checked, skipped=skipped)
    summary["targets"] = targets(summary, workload)
    common.report(summary, args.json)
    return 0
