"""Random-number speed: deltagrad's PyTorch stream against PyTorch itself, per op and size.

Each (op, size) is timed as deltagrad and PyTorch blocks in alternation (``common.alternate``),
one thread; a block repeats the call so that it runs for about the same time at every size.
Prints the median seconds per call and the median paired ratio deltagrad / PyTorch.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
        .venv/bin/python benchmarks/rng_speed.py --sizes 1e3,1e5,1e7 --rounds 5
    .venv/bin/python benchmarks/rng_speed.py --ops uniform_,normal_ --dtype float64
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from common import alternate, import_torch, paired_ratio, set_threads, summarize  # noqa: E402


def _ops(dtype_name: str) -> dict:
    """name -> fn(module, n) making one draw of n elements (module: deltagrad or torch)."""
    def dtype(m):
        return getattr(m, dtype_name)

    return {
        "uniform_": lambda m, n: m.empty(n, dtype=dtype(m)).uniform_(),
        "uniform_ab": lambda m, n: m.empty(n, dtype=dtype(m)).uniform_(-0.1, 0.1),
        "normal_": lambda m, n: m.empty(n, dtype=dtype(m)).normal_(),
        "normal_ms": lambda m, n: m.empty(n, dtype=dtype(m)).normal_(0.5, 2.0),
        "rand": lambda m, n: m.rand(n, dtype=dtype(m)),
        "randn": lambda m, n: m.randn(n, dtype=dtype(m)),
        "randint": lambda m, n: m.randint(0, 1000, (n,)),
        "randperm": lambda m, n: m.randperm(n),
        "bernoulli_": lambda m, n: m.empty(n, dtype=dtype(m)).bernoulli_(0.3),
        "bernoulli_t": lambda m, n: m.bernoulli(m.full((n,), 0.3, dtype=dtype(m))),
        "dropout": lambda m, n: m.nn.functional.dropout(m.ones(n, dtype=dtype(m)), 0.1),
        "multinomial": lambda m, n: m.multinomial(m.ones(1000, dtype=dtype(m)), n // 1000 or 1,
                                                  replacement=True),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", default="all", help="comma-separated names, or all")
    parser.add_argument("--sizes", default="1e3,1e5,1e7")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64", "float16"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--budget", type=float, default=0.05,
                        help="about how many seconds of PyTorch time one block takes")
    args = parser.parse_args(argv)
    set_threads(1)
    torch = import_torch(1)
    import deltagrad as dg

    ops = _ops(args.dtype)
    names = list(ops) if args.ops == "all" else args.ops.split(",")
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    print(f"{'op':<12} {'n':>10} {'deltagrad s':>12} {'torch s':>12} {'ratio':>7}")
    for name in names:
        fn = ops[name]
        for n in sizes:
            # Calls per block: PyTorch's time for one call, scaled to the budget.
            import time
            start = time.perf_counter()
            fn(torch, n)
            once = max(time.perf_counter() - start, 1e-6)
            calls = max(1, int(args.budget / once))

            def block(m, fn=fn, n=n, calls=calls):
                for _ in range(calls):
                    fn(m, n)
            times = alternate({"dg": lambda: block(dg), "torch": lambda: block(torch)},
                              args.rounds)
            mine = summarize(times["dg"])["median"] / calls
            theirs = summarize(times["torch"])["median"] / calls
            ratio = paired_ratio(times["dg"], times["torch"])["median"]
            print(f"{name:<12} {n:>10} {mine:>12.3g} {theirs:>12.3g} {ratio:>7.2f}", flush=True)


if __name__ == "__main__":
    main()
