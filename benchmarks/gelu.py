"""The exact GELU (``F.gelu``, approximate='none') beside PyTorch's, at one thread.

Forward (under no_grad) and forward + backward (``y.backward(g)``) on a [96, 4096] tensor
(393,216 elements), float32 and float64, alternating deltagrad and PyTorch round by round; it
prints the median times and the median of the per-round ratios. ``--base REV`` also times that
revision's GELU kernels (``_engine/ops/special.py`` taken with ``git show``) in the same rounds,
an A/B of a kernel change:

    OPENBLAS_NUM_THREADS=1 python benchmarks/gelu.py [--rounds 61] [--base HEAD] [--no-scipy]
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import deltagrad as dg
import deltagrad.nn.functional as F
from deltagrad._engine.ops import elementwise, special

REPO = Path(__file__).resolve().parents[1]


def load_base(revision: str):
    """``revision``'s ops/special.py as a module (it imports only NumPy and math)."""
    text = subprocess.run(["git", "show", f"{revision}:src/deltagrad/_engine/ops/special.py"],
                          cwd=REPO, capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp(prefix="gelu-base-")) / "special_base.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("special_base", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(dtype, kernels: dict, rounds: int) -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((96, 4096)).astype(dtype)
    g = rng.standard_normal(a.shape).astype(dtype)
    xt, gt = torch.from_numpy(a.copy()).requires_grad_(True), torch.from_numpy(g)
    xd, gd = dg.tensor(a, dtype=a.dtype, requires_grad=True), dg.tensor(g, dtype=a.dtype)

    def torch_forward():
        with torch.no_grad():
            torch.nn.functional.gelu(xt)

    def forward():
        with dg.no_grad():
            F.gelu(xd)

    def torch_both():
        torch.nn.functional.gelu(xt).backward(gt)
        xt.grad = None

    def both():
        F.gelu(xd).backward(gd)
        xd.grad = None

    for label, ours, theirs in (("forward", forward, torch_forward),
                                ("fwd+bwd", both, torch_both)):
        times = {name: [] for name in [*kernels, "torch"]}
        for round_ in range(rounds + 3):  # (3 warm-up rounds, not counted)
            for name, pair in kernels.items():
                elementwise.gelu, elementwise.gelu_backward = pair
                start = time.perf_counter()
                ours()
                if round_ >= 3:
                    times[name].append(time.perf_counter() - start)
            start = time.perf_counter()
            theirs()
            if round_ >= 3:
                times["torch"].append(time.perf_counter() - start)
        reference = np.array(times["torch"])
        parts = [f"{np.dtype(dtype).name} {label}: torch {np.median(reference) * 1e3:.3f} ms"]
        for name in kernels:
            spent = np.array(times[name])
            parts.append(f"{name} {np.median(spent) * 1e3:.3f} ms "
                         f"({np.median(spent / reference):.2f}x)")
        print(" | ".join(parts))
    elementwise.gelu, elementwise.gelu_backward = kernels["deltagrad"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=61)
    parser.add_argument("--base", help="a git revision whose GELU kernels to time too")
    parser.add_argument("--no-scipy", action="store_true", help="float64 erf without SciPy")
    args = parser.parse_args()
    torch.set_num_threads(1)
    kernels = {"deltagrad": (special.gelu, special.gelu_backward)}
    base = load_base(args.base) if args.base else None
    if base is not None:
        kernels = {f"base {args.base}": (base.gelu, base.gelu_backward), **kernels}
    if args.no_scipy:
        special.USE_SCIPY = False
        if base is not None:
            base.USE_SCIPY = False
    for dtype in (np.float32, np.float64):
        run(dtype, kernels, args.rounds)


if __name__ == "__main__":
    sys.exit(main())
