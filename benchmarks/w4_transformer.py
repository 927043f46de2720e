"""W4, a character-level transformer training step: deltagrad against PyTorch, same weights.

A small GPT on characters (issue 17): token and position embeddings, 4 pre-norm
``nn.TransformerEncoderLayer`` blocks (4 heads, embedding 64, feed-forward 256, GELU, no
dropout) under a causal mask, a final ``LayerNorm`` and a ``Linear`` head over a 65-character
vocabulary; block 32, batch 32; cross-entropy over every position; ``AdamW`` (lr 1e-3). One
training step (zero_grad, forward, backward, optimizer step) on a batch of random windows of a
fixed random character stream, the same batches for every variant, in seconds per step:

- deltagrad: the model through ``deltagrad.nn`` and ``deltagrad.optim.AdamW``;
- deltagrad-replay: the same, the loss and backward through ``dg.capture_step`` (when the step
  can be captured);
- torch, torch-fused: PyTorch (when installed), ``AdamW`` as default (a loop on the CPU) and
  with ``fused=True``; ratios are taken against the faster one.

The PyTorch model is initialised by PyTorch's own seeded init and its parameters are copied by
name into the deltagrad model (so the parameter names must be PyTorch's). ``check`` asserts the
first step's loss agrees to 1e-4 and the next ones' to 1e-3 (AdamW's first updates are about
+-lr whatever the gradient's size, so float32 differences grow). Dropout is 0 so that both
libraries compute the same function. No NumPy floor: the target is at most 1.0 x PyTorch.

    python benchmarks/w4_transformer.py [--steps 3] [--rounds 5] [--threads 1]
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import common
import numpy as np
import runner_workload


@dataclass(frozen=True)
class Config:
    vocab: int = 65
    embedding: int = 64
    heads: int = 4
    layers: int = 4
    block: int = 32
    batch: int = 32
    lr: float = 1e-3
    text: int = 20_000  # characters in the random stream the batches come from
    batches: int = 16  # distinct batches, cycled


VARIANTS = ("deltagrad", "deltagrad-replay", "torch", "torch-fused")
SKIPPED: dict[str, str] = {}  # variant -> why it could not run


def make_batches(config: Config, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``config.batches`` (input, target) pairs of int64 [batch, block] windows."""
    rng = np.random.default_rng(seed)
    text = rng.integers(0, config.vocab, config.text)
    out = []
    for _ in range(config.batches):
        starts = rng.integers(0, config.text - config.block - 1, config.batch)
        windows = np.stack([text[s:s + config.block + 1] for s in starts])
        out.append((windows[:, :-1].copy(), windows[:, 1:].copy()))
    return out


def build_model(lib, config: Config):
    """The character transformer as a ``lib.nn.Module`` (the same code for both libraries)."""
    nn = lib.nn

    class CharTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.token = nn.Embedding(config.vocab, config.embedding)
            self.position = nn.Embedding(config.block, config.embedding)
            layer = nn.TransformerEncoderLayer(
                config.embedding, config.heads, 4 * config.embedding, dropout=0.0,
                activation="gelu", batch_first=True, norm_first=True)
            self.blocks = nn.TransformerEncoder(layer, config.layers,
                                                enable_nested_tensor=False)
            self.norm = nn.LayerNorm(config.embedding)
            self.head = nn.Linear(config.embedding, config.vocab)
            self.causal = nn.Transformer.generate_square_subsequent_mask(config.block)
            self.positions = lib.arange(config.block)

        def forward(self, ids):
            x = self.token(ids) + self.position(self.positions)
            x = self.blocks(x, mask=self.causal, is_causal=True)
            return self.head(self.norm(x))

    return CharTransformer()


def torch_init(torch, config: Config, seed: int = 0) -> dict[str, np.ndarray]:
    """PyTorch's default initialisation of the model, as arrays by parameter name."""
    torch.manual_seed(seed)
    return common.parameter_arrays(build_model(torch, config))


class Runner:
    """One variant: the model, its optimizer, the batches and a step counter."""

    def __init__(self, name: str, lib, config: Config, init: dict, batches: list):
        self.lib, self.config = lib, config
        self.model = build_model(lib, config)
        common.copy_parameters(self.model, init)
        fused = {"fused": True} if name == "torch-fused" else {}
        self.optimizer = lib.optim.AdamW(self.model.parameters(), lr=config.lr, **fused)
        self.batches = [(lib.from_numpy(x), lib.from_numpy(y)) for x, y in batches]
        self.count = 0
        cross_entropy = lib.nn.functional.cross_entropy
        vocab = config.vocab

        def loss_fn(ids, targets):
            return cross_entropy(self.model(ids).reshape(-1, vocab), targets.reshape(-1))

        self.loss_fn = loss_fn
        self.captured = lib.capture_step(loss_fn) if name == "deltagrad-replay" else None

    def step(self) -> float:
        ids, targets = self.batches[self.count % len(self.batches)]
        self.count += 1
        self.optimizer.zero_grad()
        if self.captured is not None:
            loss = self.captured(ids, targets)
        else:
            loss = self.loss_fn(ids, targets)
            loss.backward()
        self.optimizer.step()
        return loss.item()


def make_runners(config: Config, torch, variants=None, seed: int = 0) -> dict[str, Runner]:
    """{name: Runner} for the variants asked for that can run here.

    A replay variant whose step ``capture_step`` refuses is left out, and the reason kept in
    ``SKIPPED``.
    """
    import deltagrad as dg

    if torch is None:
        raise SystemExit("W4 needs PyTorch: its weights initialise both models")
    init = torch_init(torch, config, seed)
    batches = make_batches(config, seed)
    runners = {}
    for name in variants or VARIANTS:
        lib = torch if name.startswith("torch") else dg
        runner = Runner(name, lib, config, init, batches)
        if runner.captured is not None and not common.try_capture(runner, name, SKIPPED):
            continue
        runners[name] = runner
    return runners


def check(config: Config, torch, steps: int = 3, variants=None) -> dict[str, list[float]]:
    """Raise AssertionError unless the variants' losses agree (1e-4 first step, then 1e-3).

    Returns each variant's losses.
    """
    return common.check_runner_losses("W4", make_runners(config, torch, variants, seed=1),
                                      steps)


def run(steps: int = 3, rounds: int = 5, threads: int = 1, config: Config = Config(),
        variants=None) -> dict[str, list[float]]:
    """Time the variants in alternation; returns {name: [seconds per step, one per round]}."""
    return runner_workload.run(make_runners, config, steps, rounds, threads, variants)


def main(argv=None) -> int:
    return runner_workload.main(
        argv, workload="W4", doc=__doc__,
        title=("character transformer step (4 layers, 4 heads, emb 64, block 32, batch 32, "
               "AdamW)"),
        unit="s/step", defaults=(3, 5, 2, 3), config=Config(), variants=VARIANTS,
        check=lambda config, torch, variants: {"losses": check(config, torch, variants=variants)},
        run=run, skipped=SKIPPED)


if __name__ == "__main__":
    sys.exit(main())
