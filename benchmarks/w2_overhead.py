"""W2, per-op overhead: a chain of 200 small elementwise ops on 8x8 float32, forward + backward.

The chain repeats (h * a, h + b, tanh(h), h - c) with a, b, c 8x8 leaves that require grad, then
sums. Reported per op: microseconds for forward + backward, for deltagrad, a hand-written NumPy
forward + backward (the floor for any NumPy engine) and PyTorch when it is installed, run in
alternation in one process.

    python benchmarks/w2_overhead.py [--rounds 15] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

N_OPS = 200
SHAPE = (8, 8)


def _set_threads(threads: int) -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)


def make_numpy(np, values):
    a, b, c, x = (v.copy() for v in values)

    def step():
        # forward, keeping what backward needs
        saved = []
        h = x
        for i in range(N_OPS):
            k = i % 4
            if k == 0:
                saved.append(h)
                h = h * a
            elif k == 1:
                h = h + b
            elif k == 2:
                h = np.tanh(h)
                saved.append(h)
            else:
                h = h - c
        loss = h.sum()
        # backward
        g = np.ones_like(h)
        ga = np.zeros_like(a)
        gb = np.zeros_like(b)
        gc = np.zeros_like(c)
        for i in reversed(range(N_OPS)):
            k = i % 4
            if k == 3:
                gc -= g
            elif k == 2:
                t = saved.pop()
                g = g * (1.0 - t * t)
            elif k == 1:
                gb += g
            else:
                hin = saved.pop()
                ga += g * hin
                g = g * a
        return loss, ga

    return step


def make_deltagrad(values):
    import deltagrad as dg

    a, b, c, x = (dg.from_numpy(v.copy()) for v in values)
    for t in (a, b, c):
        t.requires_grad_(True)

    def step():
        a.grad = b.grad = c.grad = None
        h = x
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
        loss = h.sum()
        loss.backward()
        return loss, a.grad

    return step


def make_torch(torch, values):
    a, b, c, x = (torch.from_numpy(v.copy()) for v in values)
    for t in (a, b, c):
        t.requires_grad_(True)

    def step():
        a.grad = b.grad = c.grad = None
        h = x
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
        loss = h.sum()
        loss.backward()
        return loss, a.grad

    return step


def run(rounds: int = 15, repeats: int = 20, threads: int = 1) -> dict:
    """Time each implementation; returns {name: [microseconds per op, one per round]}."""
    _set_threads(threads)
    import numpy as np

    rng = np.random.default_rng(0)
    values = [rng.uniform(0.5, 1.0, SHAPE).astype(np.float32) for _ in range(3)]
    values.append(rng.standard_normal(SHAPE).astype(np.float32))
    steps = {"numpy": make_numpy(np, values), "deltagrad": make_deltagrad(values)}
    try:
        import torch

        torch.set_num_threads(threads)
        steps["torch"] = make_torch(torch, values)
    except ImportError:
        pass
    # Same numbers first: the three implementations compute the same gradient.
    reference = steps["numpy"]()[1]
    for name, step in steps.items():
        grad = step()[1]
        grad = grad if isinstance(grad, np.ndarray) else np.asarray(grad.data if hasattr(
            grad, "data") and not hasattr(grad, "numpy") else grad.numpy())
        if not np.allclose(grad, reference, rtol=1e-4, atol=1e-5):
            raise AssertionError(f"W2: {name} computes a different gradient")
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():  # alternate A B C, A B C, ...
            start = time.perf_counter()
            for _ in range(repeats):
                step()
            times[name].append((time.perf_counter() - start) / repeats / N_OPS * 1e6)
    return times


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    import statistics

    times = run(args.rounds, threads=args.threads)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"W2 per-op overhead, {N_OPS} ops on {SHAPE} float32, fwd+bwd, threads={args.threads}")
    for name, values in times.items():
        spread = (min(values), max(values))
        line = f"  {name:10s} {med[name]:6.2f} us/op  (min {spread[0]:.2f}, max {spread[1]:.2f})"
        line += f"  x{med[name] / med['numpy']:.2f} numpy"
        if "torch" in med:
            line += f"  x{med[name] / med['torch']:.2f} torch"
        print(line)


if __name__ == "__main__":
    sys.exit(main())
