"""The workloads against PyTorch, phase by phase: zero_grad, backward, the optimizer's step
and the rest (forward, loss, data; W5's clipping), deltagrad and PyTorch in alternation.

``w1_profile.py`` splits W1 against its NumPy floor; this does the same for the workloads timed
against PyTorch (W2-model, W4, W5, W6, W8's models), whose steps are written once for both
libraries. The phases are found without touching the workloads: ``Tensor.backward`` and the
optimizers' ``zero_grad`` and ``step`` (every class in ``optim``) of both libraries are wrapped
for the run, each timed in this thread's CPU time at its outermost call (an optimizer's step
that calls its base class's counts once); the rest of the step is the forward and whatever
else the step does. Each round runs ``--steps`` steps of every variant, the order reversed
every other round, and a phase's ratio is the median of the per-round ratios (a loaded shared
machine drifts: paired rounds cancel most of it).

``--ops`` also times deltagrad's registered ops inside its step: each op's forward kernel and
VJP rule, and what is left of the forward (modules, dispatch, recording) and of the backward
(the sweep: order, folded rules, summing and reducing gradients, leaves). The wrappers cost
~0.5 us a call, so the phases with ``--ops`` are not comparable with PyTorch's: read the split.

    python benchmarks/w_profile.py --workload w4 [--rounds 6] [--steps 3] [--threads 1] [--ops]
    python benchmarks/w_profile.py --workload w8-gpt --ops --top 15
"""

from __future__ import annotations

import argparse
import collections
import functools
import statistics
import sys
import time

import common

clock = time.thread_time
PHASES = ("zero_grad", "backward", "step", "the rest (forward, loss, data)")
WORKLOADS = ("w2-model", "w4", "w5", "w6", "w8-gpt", "w8-dcgan", "w8-vae", "w8-gcn",
             "w8-seq2seq", "w8-cnn")


def make_runners(workload: str, threads: int) -> dict:
    """{variant: object with ``step()``}: the workload's eager variants, both libraries."""
    common.set_threads(threads)
    torch = common.import_torch(threads)
    if torch is None:
        raise SystemExit(f"{workload} needs PyTorch (the variants compared)")
    if workload == "w2-model":
        import w2_model

        return w2_model.make_models(threads, ["deltagrad", "torch"])
    if workload.startswith("w8-"):
        import w8_programs

        model = workload[3:]
        runners = w8_programs.make_runners(w8_programs.Config(models=(model,)), torch)
        return {name.split(" ", 1)[1]: runner for name, runner in runners.items()}
    module = __import__({"w4": "w4_transformer", "w5": "w5_lstm", "w6": "w6_cnn"}[workload])
    variants = [name for name in module.VARIANTS if not name.endswith("-replay")]
    return module.make_runners(module.Config(), torch, variants)


class _Timers:
    """Wraps the phases' functions of both libraries; ``totals[phase]`` gathers their CPU
    seconds, each counted at its outermost call."""

    def __init__(self, libraries):
        self.totals: dict[str, float] = collections.defaultdict(float)
        self.depth = 0
        self.saved = []
        for lib in libraries:
            self._wrap(lib.Tensor, "backward", "backward")
            for value in vars(lib.optim).values():
                if isinstance(value, type) and issubclass(value, lib.optim.Optimizer):
                    for name in ("zero_grad", "step"):
                        if name in vars(value):
                            self._wrap(value, name, name)

    def _wrap(self, owner, name: str, phase: str) -> None:
        owner = next(klass for klass in owner.__mro__ if name in vars(klass))  # (its definer)
        if any(owner is done and name == done_name for done, done_name, _ in self.saved):
            return
        function = vars(owner)[name]
        self.saved.append((owner, name, function))

        @functools.wraps(function)
        def timed(*args, **kwargs):
            if self.depth:
                return function(*args, **kwargs)
            self.depth += 1
            start = clock()
            try:
                return function(*args, **kwargs)
            finally:
                self.totals[phase] += clock() - start
                self.depth -= 1

        setattr(owner, name, timed)

    def restore(self) -> None:
        for owner, name, function in reversed(self.saved):
            setattr(owner, name, function)
        self.saved.clear()


class _OpTimers:
    """Wraps every registered op's forward and VJP (deltagrad's side, ``--ops``)."""

    def __init__(self):
        from deltagrad._engine.ops.registry import OPS

        self.totals: dict[str, float] = collections.defaultdict(float)
        self.calls: collections.Counter = collections.Counter()
        self.saved = []
        for op in OPS.values():
            for kind, attribute in (("forward", "forward"), ("vjp", "vjp")):
                function = getattr(op, attribute)
                self.saved.append((op, attribute, function))
                setattr(op, attribute, self._timed(f"{kind} {op.name}", function))

    def _timed(self, label: str, function):
        totals, calls = self.totals, self.calls

        def timed(*args, **kwargs):
            start = clock()
            try:
                return function(*args, **kwargs)
            finally:
                totals[label] += clock() - start
                calls[label] += 1

        return timed

    def restore(self) -> None:
        for op, attribute, function in self.saved:
            setattr(op, attribute, function)
        self.saved.clear()


def profile(runners: dict, steps: int, rounds: int, ops: bool = False):
    """Run the runners in alternation; returns ``(phases, ratios, op_split, reference)``.

    ``phases[variant][phase]``: mean CPU milliseconds a step; ``ratios[variant][phase]``: the
    median over rounds of variant / ``reference``, the torch variant of least mean total;
    ``op_split``: deltagrad's per-op milliseconds a step (forward kernels and VJP rules, and
    their calls a step under "calls") with ``ops``, else None.
    """
    import torch

    import deltagrad as dg

    for runner in runners.values():  # warm-up (first-step allocations, caches)
        runner.step()
    timers = _Timers((dg, torch))
    op_timers = _OpTimers() if ops else None
    per_round = {name: [] for name in runners}
    names = list(runners)
    try:
        for k in range(rounds):
            for name in (names if k % 2 == 0 else names[::-1]):
                timers.totals.clear()
                start = clock()
                for _ in range(steps):
                    runners[name].step()
                total = clock() - start
                phases = {phase: timers.totals.get(phase, 0.0) for phase in PHASES[:3]}
                phases[PHASES[3]] = total - sum(phases.values())
                phases["total"] = total
                per_round[name].append({p: seconds / steps * 1e3 for p, seconds in phases.items()})
    finally:
        timers.restore()
        if op_timers is not None:
            op_timers.restore()
    phases = {name: {p: statistics.fmean(r[p] for r in rounds_)
                     for p in rounds_[0]} for name, rounds_ in per_round.items()}
    reference = min((name for name in names if name.startswith("torch")),
                    key=lambda name: phases[name]["total"])  # (PyTorch's fastest here)
    ratios = {name: {p: statistics.median(mine[p] / theirs[p]
                                          for mine, theirs in zip(rounds_, per_round[reference])
                                          if theirs[p] > 0) if phases[reference][p] > 0 else None
                     for p in rounds_[0]}
              for name, rounds_ in per_round.items()}
    split = None
    if op_timers is not None:
        runs = rounds * steps
        split = {label: seconds / runs * 1e3 for label, seconds in op_timers.totals.items()}
        split["calls"] = {label: count // runs for label, count in op_timers.calls.items()}
    return phases, ratios, split, reference


def report(workload, phases, ratios, split, reference, steps, rounds, threads, top):
    names = list(phases)
    print(f"{workload}: {rounds} alternated rounds of {steps} steps, CPU ms/step (thread "
          f"time), {threads} thread(s); ratios: median per-round x {reference}")
    print(f"  {'phase':32s}" + "".join(f"{name:>14s}" for name in names)
          + "".join(f"{'x ' + reference:>16s}" if name == names[0] else "" for name in names))
    for phase in list(PHASES) + ["total"]:
        row = "".join(f"{phases[name][phase]:14.3f}" for name in names)
        ratio = ratios[names[0]][phase]
        print(f"  {phase:32s}{row}{'' if ratio is None else f'{ratio:16.3f}'}")
    if split is None:
        return
    calls = split.pop("calls")
    mine = phases[names[0]]
    for kind, phase, rest in (("forward", PHASES[3], "forward and the rest, outside kernels"),
                              ("vjp", "backward", "backward outside the rules (the sweep)")):
        items = sorted(((label, ms) for label, ms in split.items() if label.startswith(kind)),
                       key=lambda item: -item[1])
        print(f"  {names[0]} {kind} by op (with --ops: its own wrappers' cost included):")
        for label, ms in items[:top]:
            print(f"    {label:36s}{ms:10.3f}  ({calls[label]}/step)")
        print(f"    {rest:36s}{mine[phase] - sum(ms for _, ms in items):10.3f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", choices=WORKLOADS, default="w4")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--ops", action="store_true",
                        help="also split deltagrad's passes by op (costs ~0.5 us an op call)")
    parser.add_argument("--top", type=int, default=10, help="ops listed per pass with --ops")
    args = parser.parse_args(argv)
    runners = make_runners(args.workload, args.threads)
    # deltagrad's variant first (its column is the one compared), then PyTorch's.
    ordered = {name: runners[name]
               for name in sorted(runners, key=lambda name: name.startswith("torch"))}
    phases, ratios, split, reference = profile(ordered, args.steps, args.rounds, args.ops)
    report(args.workload, phases, ratios, split, reference, args.steps, args.rounds,
           args.threads, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
