"""W2-model, per-op overhead in a chain shaped like a model, forward + backward, 81 leaves.

W2 times a chain of plain elementwise ops; real models are made of ops with attributes. This
chain has what a small model step has, on 8 x 8 float32 arrays:

- an indexing gather: ``h = E[ids]`` (an embedding lookup, E a [16, 8] leaf);
- 20 blocks, each ``z = h @ W + b`` (small matmul, broadcast bias), ``tanh``,
  ``z - z.mean(dim=1, keepdim=True)`` (a reduction with dim/keepdim, broadcast back),
  ``* s + t`` (broadcast scale and shift), ``softmax(z, dim=1)``, ``h + a * z`` (residual),
  and ``h.reshape(8, 2, 4).transpose(1, 2).reshape(8, 8)`` (reshape/transpose);
- a log-softmax and a ``gather`` of the targets' log-probabilities, averaged (NLL).

81 distinct leaves (E and W, b, s, t per block) accumulate ``.grad``; 264 ops per step.
Variants, alternated in one process: ``deltagrad`` (eager), ``deltagrad-replay`` (the same step
through ``dg.capture_step``, recorded once and replayed on arrays) and ``torch`` (eager, when
installed). ``check`` first asserts the same loss and the same 81 gradients. There is no NumPy
floor: the target is against PyTorch (issue 18: at most 0.5 x PyTorch eager).

    python benchmarks/w2_model.py [--rounds 21] [--steps 3] [--threads 1]
"""

from __future__ import annotations

import sys

import common
import numpy as np

BLOCKS = 20
ROWS, WIDTH, VOCAB = 8, 8, 16
OPS_PER_STEP = 1 + 13 * BLOCKS + 3  # gather, blocks, log_softmax + gather + mean


def make_values(seed: int = 0) -> dict[str, np.ndarray]:
    """The leaves (``E`` and ``W{k}``, ``b{k}``, ``s{k}``, ``t{k}``), ``ids`` and ``targets``."""
    rng = np.random.default_rng(seed)
    values = {"E": rng.standard_normal((VOCAB, WIDTH)).astype(np.float32)}
    for k in range(BLOCKS):
        values[f"W{k}"] = (rng.standard_normal((WIDTH, WIDTH)) / np.sqrt(WIDTH)).astype(np.float32)
        values[f"b{k}"] = rng.uniform(-0.1, 0.1, WIDTH).astype(np.float32)
        values[f"s{k}"] = rng.uniform(0.5, 1.5, WIDTH).astype(np.float32)
        values[f"t{k}"] = rng.uniform(-0.1, 0.1, WIDTH).astype(np.float32)
    values["ids"] = rng.integers(0, VOCAB, ROWS)
    values["targets"] = rng.integers(0, WIDTH, (ROWS, 1))
    return values


def leaf_names() -> list[str]:
    return ["E"] + [f"{kind}{k}" for k in range(BLOCKS) for kind in "Wbst"]


def model_loss(lib, leaves: dict, ids, targets):
    """The chain (the same code for deltagrad and PyTorch); returns the scalar loss."""
    softmax, log_softmax = lib.nn.functional.softmax, lib.nn.functional.log_softmax
    h = leaves["E"][ids]
    for k in range(BLOCKS):
        z = (h @ leaves[f"W{k}"] + leaves[f"b{k}"]).tanh()
        z = (z - z.mean(dim=1, keepdim=True)) * leaves[f"s{k}"] + leaves[f"t{k}"]
        h = h + softmax(z, dim=1) * z
        h = h.reshape(ROWS, 2, WIDTH // 2).transpose(1, 2).reshape(ROWS, WIDTH)
    return -log_softmax(h, dim=1).gather(1, targets).mean()


class Model:
    """The leaves in one library and a step that zeroes the gradients and runs fwd + bwd."""

    def __init__(self, lib, values: dict, replay: bool = False):
        self.lib = lib
        self.leaves = {name: lib.from_numpy(values[name].copy()).requires_grad_(True)
                       for name in leaf_names()}
        self.ids = lib.from_numpy(values["ids"].copy())
        self.targets = lib.from_numpy(values["targets"].copy())
        self.captured = None
        if replay:
            # The batch is fixed (as the leaves are), so the step takes no inputs.
            self.captured = lib.capture_step(
                lambda: model_loss(lib, self.leaves, self.ids, self.targets))

    def step(self):
        for leaf in self.leaves.values():
            leaf.grad = None
        if self.captured is not None:
            return self.captured()
        loss = model_loss(self.lib, self.leaves, self.ids, self.targets)
        loss.backward()
        return loss

    def gradients(self) -> dict[str, np.ndarray]:
        return {name: common.to_numpy(leaf.grad) for name, leaf in self.leaves.items()}


def make_models(threads: int = 1, variants=None, values=None) -> dict:
    """{name: Model} for the variants available (PyTorch's only when installed)."""
    import deltagrad as dg

    values = values or make_values()
    models = {"deltagrad": Model(dg, values), "deltagrad-replay": Model(dg, values, replay=True)}
    torch = common.import_torch(threads)
    if torch is not None:
        models["torch"] = Model(torch, values)
    return {name: model for name, model in models.items() if not variants or name in variants}


def check(models: dict) -> float:
    """Raise AssertionError unless every variant gives the same loss and 81 gradients.

    Each variant steps twice (the replay's second step is a replay); returns the loss.
    """
    reference_name = next(iter(models))
    results = {}
    for name, model in models.items():
        for _ in range(2):
            loss = model.step()
        results[name] = (float(common.to_numpy(loss)), model.gradients())
    want_loss, want = results[reference_name]
    for name, (loss, grads) in results.items():
        common.assert_close(f"W2-model {name}: loss", loss, want_loss, 1e-5, 1e-6)
        for leaf, value in grads.items():
            common.assert_close(f"W2-model {name}: gradient of {leaf}", value, want[leaf],
                                1e-4, 1e-5)
    return want_loss


def run(rounds: int = 21, steps: int = 3, threads: int = 1, variants=None) -> dict:
    """Time the variants in alternation; returns {name: [microseconds per step, per round]}."""
    common.set_threads(threads)
    models = make_models(threads, variants)
    check(models)

    def block(model):
        return lambda: [model.step() for _ in range(steps)]

    times = common.alternate({name: block(model) for name, model in models.items()}, rounds)
    return {name: [seconds / steps * 1e6 for seconds in samples]
            for name, samples in times.items()}


def targets(summary: dict) -> list[dict]:
    out = []
    for variant in ("deltagrad", "deltagrad-replay"):
        if "torch" in summary["ratios"].get(variant, {}):
            out.append(common.target(f"W2-model {variant} vs torch, fwd+bwd step",
                                     summary["ratios"][variant]["torch"], 0.5))
    return out


def main(argv=None) -> int:
    # Short blocks, many rounds: the median then resists preemption on a shared machine.
    parser = common.workload_parser(__doc__, steps=3, rounds=21, quick_steps=2, quick_rounds=7)
    args = common.parse_workload_args(parser, argv)
    if args.memory_probe or args.memory:
        parser.error("W2-model's arrays are a few kilobytes: it has no memory measurement")
    variants = args.variants.split(",") if args.variants else None
    samples = run(args.rounds, args.steps, args.threads, variants)
    summary = common.summarize_workload(
        "W2M", f"model-shaped chain ({OPS_PER_STEP} ops, {len(leaf_names())} leaves, 8x8 "
        "float32, fwd+bwd)", "us/step", args.threads, samples, "numpy",
        config={"blocks": BLOCKS, "rows": ROWS, "width": WIDTH, "ops": OPS_PER_STEP,
                "leaves": len(leaf_names()), "steps": args.steps, "rounds": args.rounds})
    summary["targets"] = targets(summary)
    common.report(summary, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
