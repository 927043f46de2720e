"""W1's step, phase by phase: where deltagrad's time goes against the hand-written NumPy floor.

Times each phase of the W1 step (benchmarks/w1_ner_epoch.py) in this thread's CPU time, which
on a loaded machine leaves out the time other processes held the core: for deltagrad the
optimizer's ``zero_grad``, each layer's forward, the loss, ``backward``, ``step``, and inside
``step`` the parts of Adam (the row-sparse gradient's coalesce, the lazy row update, the
flat update of the small parameters, the large table's update); for the floor the methods its
step is made of: forward with the loss, backward (the layers' gradients and dx), the table's
gradient (deltagrad's is in its embedding VJP, dense, or in ``step``'s coalesce, sparse), and
its two Adam updates. Phases are timed inside the training loop, where they run with the
caches the neighbouring phases leave (a phase timed alone in a loop can be several times
faster). Inside ``backward``, each op's VJP rule is timed and the rest is the sweep's own work.
``--tiny`` runs the same step on tiny arrays, where what is left of each side's time is its
fixed cost per step (Python, NumPy's per-call cost): the part of the gap to the floor that does
not shrink with larger arrays. ``--alternate R`` profiles the floor and deltagrad in turn, R
rounds of ``--steps`` steps each (fresh runners each round), and prints the phases' means and
the median of the per-round ratios: on a loaded machine, where the load drifts over a run, the
side profiled first and the one profiled last see different machines (session 15: at a load of
15 on 2 cores, the table's Adam measured 1,846 against 1,698 us one after the other, 1,917
against 1,917 in alternation). ``--cprofile`` adds cProfile's top functions (in CPU time) for
the deltagrad variant. On a shared machine, ``chrt -f 10`` (real-time priority, root) in
front of the command keeps other processes from evicting the step's caches between phases.

    python benchmarks/w1_profile.py [--sparse] [--steps 200] [--tiny] [--cprofile]
    python benchmarks/w1_profile.py --alternate 10 --steps 20 [--sparse]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import statistics
import sys
import time

import common
import w1_ner_epoch as w1

clock = time.thread_time
# W1's step on arrays so small that the arithmetic costs next to nothing (see --tiny).
TINY = w1.Config(vocab=2_000, hidden=8, batch=4, examples=1_000)


def _timed(owner, name: str, label: str, totals: dict) -> None:
    """Wrap ``owner.name`` so that each call adds its CPU time to ``totals[label]``."""
    function = getattr(owner, name)

    def timed(*args, **kwargs):
        start = clock()
        try:
            return function(*args, **kwargs)
        finally:
            totals[label] = totals.get(label, 0.0) + clock() - start

    setattr(owner, name, timed)


def profile_deltagrad(config: w1.Config, steps: int, sparse: bool) -> dict[str, float]:
    """{phase: microseconds per step} of deltagrad's W1 step (dense or sparse table)."""
    import deltagrad as dg
    from deltagrad._engine import sparse as row_sparse
    from deltagrad.optim import adam

    runner = w1.make_deltagrad(config, w1.make_init(config), w1.make_data(config, steps),
                               sparse=sparse)
    for i in range(min(steps, 5)):
        runner.step(i)
    totals: dict[str, float] = {}
    # (the dense table's gradient is coalesced in backward, the sparse one's in step)
    from deltagrad._engine.ops.registry import OPS

    parts = [(row_sparse.RowSparseGrad, "coalesce", "  coalesce rows"),
             (adam, "_lazy_adam_update", "  step: lazy row update (with coalesce)"),
             (adam.Adam, "_dense_updates", "  step: dense updates (with the table's)"),
             (adam.Adam, "_dense_update", "  step: one large parameter (the table)")]
    # Each op's VJP rule inside backward (the rest of backward is the sweep's own work: the
    # graph's order, handing gradients on, recycling buffers, finishing the leaves).
    parts += [(op, "vjp", f"  backward: vjp {name}") for name, op in OPS.items()]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in parts]
    for owner, name, label in parts:
        _timed(owner, name, label, totals)
    model, optimizer = runner.model, runner.optimizers[0]
    cross_entropy = dg.nn.functional.cross_entropy
    layers = [f"forward: {index} {type(layer).__name__}" for index, layer in enumerate(model)]
    try:
        gc.collect()
        gc.freeze()
        start_all = clock()
        for i in range(steps):
            ids, tags = runner.batches[i % len(runner.batches)]
            start = clock()
            optimizer.zero_grad()
            mark = clock()
            totals["zero_grad"] = totals.get("zero_grad", 0.0) + mark - start
            x = ids
            for label, layer in zip(layers, model):
                x = layer(x)
                now = clock()
                totals[label] = totals.get(label, 0.0) + now - mark
                mark = now
            loss = cross_entropy(x, tags)
            for label, call in (("forward: cross_entropy", None), ("backward", loss.backward),
                                ("step", optimizer.step), ("loss.item()", loss.item)):
                if call is not None:
                    call()
                now = clock()
                totals[label] = totals.get(label, 0.0) + now - mark
                mark = now
        totals["total"] = clock() - start_all
    finally:
        gc.unfreeze()
        for owner, name, function in saved:
            setattr(owner, name, function)
    below = {label: seconds for label, seconds in totals.items()
             if label.startswith("  backward: vjp")}
    below["  backward: the sweep's own"] = totals["backward"] - sum(below.values())
    ordered = {}
    for label, seconds in totals.items():
        if label not in below:
            ordered[label] = seconds
            if label == "backward":  # its parts below it
                ordered.update(sorted(below.items(), key=lambda item: -item[1]))
    return {label: seconds / steps * 1e6 for label, seconds in ordered.items()}


def profile_floor(config: w1.Config, steps: int, sparse: bool) -> dict[str, float]:
    """{phase: microseconds per step} of the floor (numpy-lazy-adam, or numpy-dense-adam-rows):
    its step's methods timed from outside (forward with the loss, backward, the table's
    gradient, the two Adam updates), beside deltagrad's phases of the same work."""
    tagger = w1.NumpyTagger(config, w1.make_init(config), w1.make_data(config, steps),
                            lazy=sparse, rows=not sparse)
    for i in range(min(steps, 5)):
        tagger.step(i)
    totals: dict[str, float] = {}
    for method, label in (("_forward", "forward + loss (+ its gradient)"),
                          ("_backward", "backward (layers, dx)"),
                          ("_table_gradient", "table gradient (distinct rows, add.at)")):
        _timed(tagger, method, label, totals)
    adam_flat = w1.adam_flat
    _timed(w1, "adam_flat", "  adam: small parameters (flat)", totals)
    update = "_lazy_adam" if sparse else "_dense_adam_rows"
    _timed(tagger, update, "  adam: the table", totals)
    try:
        gc.collect()
        gc.freeze()
        start = clock()
        for i in range(steps):
            tagger.step(i)
        totals["total"] = clock() - start
    finally:
        gc.unfreeze()
        w1.adam_flat = adam_flat
    total = totals.pop("total")
    totals["the rest (the step's own lines)"] = total - sum(totals.values())
    totals["total"] = total
    return {label: seconds / steps * 1e6 for label, seconds in totals.items()}


def profile_alternating(config: w1.Config, steps: int, sparse: bool, rounds: int):
    """``(deltagrad's phases, the floor's phases, per-round ratios)``: the two profiled in turn,
    ``rounds`` times ``steps`` steps each (the floor first in even rounds), the phases averaged
    over the rounds, in microseconds per step."""
    mine: dict[str, float] = {}
    floor: dict[str, float] = {}
    ratios = []
    for round_ in range(rounds):
        sides = [(profile_floor, floor), (profile_deltagrad, mine)]
        totals = {}
        for profile, phases in (sides if round_ % 2 == 0 else sides[::-1]):
            found = profile(config, steps, sparse)
            totals[profile] = found["total"]
            for label, micros in found.items():
                phases[label] = phases.get(label, 0.0) + micros / rounds
        ratios.append(totals[profile_deltagrad] / totals[profile_floor])
    return mine, floor, sorted(ratios)


def cprofile_deltagrad(config: w1.Config, steps: int, sparse: bool, top: int = 25) -> str:
    """cProfile's top functions by own CPU time over ``steps`` deltagrad steps."""
    runner = w1.make_deltagrad(config, w1.make_init(config), w1.make_data(config, steps),
                               sparse=sparse)
    runner.step(0)
    profiler = cProfile.Profile(clock)
    profiler.enable()
    for i in range(steps):
        runner.step(i)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sparse", action="store_true", help="Embedding(sparse=True)")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--alternate", type=int, default=0, metavar="ROUNDS",
                        help="profile the floor and deltagrad in turn, ROUNDS rounds of --steps "
                             "steps each (for a loaded machine)")
    parser.add_argument("--wall", action="store_true",
                        help="wall time instead of this thread's CPU time (with --threads 2: "
                             "the intra-op threads' share of a phase shortens it)")
    parser.add_argument("--tiny", action="store_true",
                        help="the same step on tiny arrays (vocabulary 2,000, batch 4, hidden 8): "
                             "what is left is each side's fixed cost per step, the Python")
    args = parser.parse_args(argv)
    global clock
    if args.wall:
        clock = time.perf_counter
    common.set_threads(args.threads)
    config = TINY if args.tiny else w1.Config()
    kind = ("sparse (lazy Adam)" if args.sparse else "dense") + (", tiny" if args.tiny else "")
    ratios = None
    if args.alternate > 0:
        mine, floor, ratios = profile_alternating(config, args.steps, args.sparse, args.alternate)
    else:
        floor = profile_floor(config, args.steps, args.sparse)
        mine = profile_deltagrad(config, args.steps, args.sparse)
    measure = "wall us/step" if args.wall else "CPU us/step (thread time)"
    steps = (f"{args.alternate} alternated rounds of {args.steps} steps" if ratios
             else f"{args.steps} steps")
    print(f"W1 {kind}, {steps}, {measure}, {args.threads} thread(s)")
    print("deltagrad:")
    for label, micros in mine.items():
        print(f"  {label:45s} {micros:8.1f}")
    print(f"floor ({'numpy-lazy-adam' if args.sparse else 'numpy-dense-adam-rows'}):")
    for label, micros in floor.items():
        print(f"  {label:45s} {micros:8.1f}")
    print(f"deltagrad / floor: {mine['total'] / floor['total']:.3f}")
    if ratios:
        print(f"per round: median {statistics.median(ratios):.3f} "
              f"(range {ratios[0]:.3f}-{ratios[-1]:.3f})")
    if args.cprofile:
        print(cprofile_deltagrad(config, args.steps, args.sparse))
    return 0


if __name__ == "__main__":
    sys.exit(main())
