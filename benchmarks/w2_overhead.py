"""W2, per-op overhead: a chain of 200 small elementwise ops on 8x8 float32, forward + backward.

The chain repeats (h * a, h + b, tanh(h), h - c) with a, b, c 8x8 leaves that require grad, then
sums. Reported per op: microseconds for forward + backward, for deltagrad, a hand-written NumPy
forward + backward (the floor for any NumPy engine: one ufunc call per op and per gradient term,
into preallocated buffers) and PyTorch when it is installed, run in alternation in one process.
``check`` first asserts that all of them compute the same loss and gradients.

    python benchmarks/w2_overhead.py [--rounds 15] [--steps 20] [--threads 1]
"""

from __future__ import annotations

import sys

import common

N_OPS = 200
SHAPE = (8, 8)


def make_numpy(np, values):
    a, b, c, x = (v.copy() for v in values)
    # One output buffer per op (the forward values backward needs), plus gradient buffers.
    outs = [np.empty(SHAPE, np.float32) for _ in range(N_OPS)]
    work = np.empty(SHAPE, np.float32)

    def step():
        h = x
        for i in range(N_OPS):
            k = i % 4
            out = outs[i]
            if k == 0:
                np.multiply(h, a, out)
            elif k == 1:
                np.add(h, b, out)
            elif k == 2:
                np.tanh(h, out)
            else:
                np.subtract(h, c, out)
            h = out
        loss = h.sum()
        g = np.ones_like(h)
        ga, gb, gc = np.zeros_like(a), np.zeros_like(b), np.zeros_like(c)
        for i in reversed(range(N_OPS)):
            k = i % 4
            if k == 3:
                np.subtract(gc, g, gc)
            elif k == 2:  # tanh' = 1 - tanh²
                y = outs[i]
                np.multiply(y, y, work)
                np.subtract(1.0, work, work)
                np.multiply(g, work, g)
            elif k == 1:
                np.add(gb, g, gb)
            else:
                np.multiply(g, outs[i - 1] if i else x, work)
                np.add(ga, work, ga)
                np.multiply(g, a, g)
        return loss, (ga, gb, gc)

    return step


def _chain(h, a, b, c):
    for i in range(N_OPS):
        k = i % 4
        if k == 0:
            h = h * a
        elif k == 1:
            h = h + b
        elif k == 2:
            h = h.tanh()
        else:
            h = h - c
    return h.sum()


def _make_framework(from_numpy, values):
    a, b, c, x = (from_numpy(v.copy()) for v in values)
    for t in (a, b, c):
        t.requires_grad_(True)

    def step():
        a.grad = b.grad = c.grad = None
        loss = _chain(x, a, b, c)
        loss.backward()
        return loss, (a.grad, b.grad, c.grad)

    return step


def make_deltagrad(values):
    import deltagrad as dg

    return _make_framework(dg.from_numpy, values)


def make_deltagrad_replay(values):
    """The same step through ``dg.capture_step``: recorded once, then replayed on arrays."""
    import deltagrad as dg

    a, b, c, x = (dg.from_numpy(v.copy()) for v in values)
    for t in (a, b, c):
        t.requires_grad_(True)
    captured = dg.capture_step(lambda inputs: _chain(inputs, a, b, c))

    def step():
        a.grad = b.grad = c.grad = None
        loss = captured(x)
        return loss, (a.grad, b.grad, c.grad)

    return step


def make_torch(torch, values):
    return _make_framework(torch.from_numpy, values)


def make_values() -> list:
    """The chain's arrays, seeded: the leaves a, b, c (in [0.5, 1), so that products stay
    moderate) and the input x."""
    import numpy as np

    rng = np.random.default_rng(0)
    values = [rng.uniform(0.5, 1.0, SHAPE).astype(np.float32) for _ in range(3)]
    values.append(rng.standard_normal(SHAPE).astype(np.float32))
    return values


def make_steps(threads: int = 1, variants=None) -> dict:
    """{name: step function} for the variants available (PyTorch's only when installed)."""
    import numpy as np

    values = make_values()
    steps = {"numpy": make_numpy(np, values), "deltagrad": make_deltagrad(values),
             "deltagrad-replay": make_deltagrad_replay(values)}
    torch = common.import_torch(threads)
    if torch is not None:
        steps["torch"] = make_torch(torch, values)
    return {name: step for name, step in steps.items() if not variants or name in variants}


def check(steps: dict) -> None:
    """Raise AssertionError unless every step gives the NumPy floor's loss and gradients."""
    want_loss, want_grads = steps["numpy"]()
    for name, step in steps.items():
        loss, grads = step()
        common.assert_close(f"W2 {name}: loss", common.to_numpy(loss), want_loss, 1e-5, 1e-5)
        for label, got, want in zip("abc", grads, want_grads):
            common.assert_close(f"W2 {name}: gradient of {label}", common.to_numpy(got), want,
                                1e-4, 1e-5)


def run(rounds: int = 15, repeats: int = 20, threads: int = 1, variants=None) -> dict:
    """Time each implementation; returns {name: [microseconds per op, one per round]}."""
    common.set_threads(threads)
    steps = make_steps(threads, variants)
    check(steps)

    def block(step):
        return lambda: [step() for _ in range(repeats)]

    times = common.alternate({name: block(step) for name, step in steps.items()}, rounds)
    return {name: [seconds / repeats / N_OPS * 1e6 for seconds in samples]
            for name, samples in times.items()}


def targets(summary: dict) -> list[dict]:
    out = []
    for variant in ("deltagrad", "deltagrad-replay"):
        if "torch" in summary["ratios"].get(variant, {}):
            out.append(common.target(f"W2 {variant} vs torch, us/op fwd+bwd",
                                     summary["ratios"][variant]["torch"], 0.45))
    return out


def main(argv=None) -> int:
    parser = common.workload_parser(__doc__, steps=20, rounds=15, quick_steps=10, quick_rounds=5)
    args = common.parse_workload_args(parser, argv)
    if args.memory_probe or args.memory:
        parser.error("W2's arrays are a few kilobytes: it has no memory measurement")
    variants = args.variants.split(",") if args.variants else None
    samples = run(args.rounds, args.steps, args.threads, variants)
    summary = common.summarize_workload(
        "W2", f"per-op overhead ({N_OPS} elementwise ops on 8x8 float32, fwd+bwd)", "us/op",
        args.threads, samples, "numpy",
        config={"ops": N_OPS, "shape": SHAPE, "repeats": args.steps, "rounds": args.rounds})
    summary["targets"] = targets(summary)
    common.report(summary, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
