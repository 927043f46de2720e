"""W5, a 2-layer LSTM word language-model step: deltagrad against PyTorch, same weights.

The shape of PyTorch's word-level language-model example (issue 17): ``Embedding(10000, 200)``
-> ``LSTM(200, 200, num_layers=2)`` (sequence first) -> ``Linear(200, 10000)``, sequence 35,
batch 20, cross-entropy over every position; ``loss.backward()``, ``clip_grad_norm_(0.25)``,
``SGD`` with lr 20. Each step starts from a zero hidden state (the example carries it over,
detached; a replayed step could not hand it on, and the time is the same). Dropout is 0 so
that both libraries compute the same function. Seconds per step for:

- deltagrad: ``deltagrad.nn`` modules, ``nn.utils.clip_grad_norm_``, ``optim.SGD``;
- deltagrad-replay: the same, the loss and backward through ``dg.capture_step`` (when the step
  can be captured);
- torch (when installed): the same program in PyTorch.

The PyTorch model's seeded default init is copied by name into deltagrad's (so the parameter
names and gate order must be PyTorch's). ``check`` asserts the first loss agrees to 1e-4 and
the next ones to 1e-3. No NumPy floor: the target is at most 1.0 x PyTorch at one thread.

    python benchmarks/w5_lstm.py [--steps 2] [--rounds 5] [--threads 1]
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import common
import numpy as np
import runner_workload


@dataclass(frozen=True)
class Config:
    vocab: int = 10_000
    embedding: int = 200
    hidden: int = 200
    layers: int = 2
    sequence: int = 35
    batch: int = 20
    lr: float = 20.0
    clip: float = 0.25
    batches: int = 8  # distinct batches, cycled


VARIANTS = ("deltagrad", "deltagrad-replay", "torch")
SKIPPED: dict[str, str] = {}  # variant -> why it could not run


def make_batches(config: Config, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(input, target) int64 [sequence, batch] pairs, consecutive windows of a Zipf-like stream
    (word frequencies fall off as in text)."""
    rng = np.random.default_rng(seed)
    length = config.batches * config.sequence + 1
    words = np.minimum(rng.zipf(1.2, (length, config.batch)), config.vocab) - 1
    return [(words[k * config.sequence:(k + 1) * config.sequence].copy(),
             words[k * config.sequence + 1:(k + 1) * config.sequence + 1].copy())
            for k in range(config.batches)]


def build_model(lib, config: Config):
    """The language model as a ``lib.nn.Module`` (the same code for both libraries)."""
    nn = lib.nn

    class WordLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Embedding(config.vocab, config.embedding)
            self.rnn = nn.LSTM(config.embedding, config.hidden, config.layers)
            self.decoder = nn.Linear(config.hidden, config.vocab)

        def forward(self, ids, hidden=None):
            output, hidden = self.rnn(self.encoder(ids), hidden)
            return self.decoder(output), hidden

    return WordLM()


class Runner:
    """One variant: the model, SGD, the batches and a step counter."""

    def __init__(self, name: str, lib, config: Config, init: dict, batches: list):
        self.lib, self.config = lib, config
        self.model = build_model(lib, config)
        common.copy_parameters(self.model, init)
        self.parameters = list(self.model.parameters())
        self.optimizer = lib.optim.SGD(self.parameters, lr=config.lr)
        self.clip = lib.nn.utils.clip_grad_norm_
        self.batches = [(lib.from_numpy(x), lib.from_numpy(y)) for x, y in batches]
        self.count = 0
        cross_entropy = lib.nn.functional.cross_entropy
        vocab = config.vocab

        def loss_fn(ids, targets):
            logits, _ = self.model(ids)
            return cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1))

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
        self.clip(self.parameters, self.config.clip)
        self.optimizer.step()
        return loss.item()


def make_runners(config: Config, torch, variants=None, seed: int = 0) -> dict[str, Runner]:
    """{name: Runner} for the variants that can run here (see w4_transformer.make_runners)."""
    import deltagrad as dg

    if torch is None:
        raise SystemExit("W5 needs PyTorch: its weights initialise both models")
    torch.manual_seed(seed)
    init = common.parameter_arrays(build_model(torch, config))
    batches = make_batches(config, seed)
    runners = {}
    for name in variants or VARIANTS:
        runner = Runner(name, torch if name.startswith("torch") else dg, config, init, batches)
        if runner.captured is not None and not common.try_capture(runner, name, SKIPPED):
            continue
        runners[name] = runner
    return runners


def check(config: Config, torch, steps: int = 3, variants=None) -> dict[str, list[float]]:
    """Raise AssertionError unless the variants' losses agree (1e-4 first step, then 1e-3)."""
    return common.check_runner_losses("W5", make_runners(config, torch, variants, seed=1),
                                      steps)


def run(steps: int = 2, rounds: int = 5, threads: int = 1, config: Config = Config(),
        variants=None) -> dict[str, list[float]]:
    """Time the variants in alternation; returns {name: [seconds per step, one per round]}."""
    return runner_workload.run(make_runners, config, steps, rounds, threads, variants)


def main(argv=None) -> int:
    return runner_workload.main(
        argv, workload="W5", doc=__doc__,
        title=("LSTM language-model step (2 layers, emb/hidden 200, seq 35, batch 20, vocab "
               "10,000, SGD + clip)"),
        unit="s/step", defaults=(2, 5, 1, 3), config=Config(), variants=VARIANTS,
        check=lambda config, torch, variants: {"losses": check(config, torch, variants=variants)},
        run=run, skipped=SKIPPED)


if __name__ == "__main__":
    sys.exit(main())
