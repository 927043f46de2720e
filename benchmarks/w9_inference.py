"""W9, inference: eval-mode forward passes of small models written the way public programs
write them, deltagrad against PyTorch, same weights (issue 18: workloads we did not write).

Each model is written once against a module object ``m`` (``deltagrad`` or ``torch``) and run in
``eval()`` mode under ``m.no_grad()`` and under ``m.inference_mode()``, at batch sizes 1 and 32:

- ``mlp``: an MLP classifier on 784-pixel inputs (``Linear``/``ReLU``, softmax probabilities);
- ``cnn``: a ``Sequential`` CNN with ``BatchNorm2d`` (non-trivial running statistics),
  ``MaxPool2d``, ``AdaptiveAvgPool2d`` and ``Dropout`` on 28x28 inputs;
- ``transformer``: a text classifier: ``Embedding`` + learned positions, an
  ``nn.TransformerEncoder`` (2 layers, d 64, 4 heads, ff 128, batch_first, dropout 0) over 16
  tokens, mean-pooling, ``Linear``;
- ``tagger``: a sequence tagger: ``Embedding``, a bidirectional ``LSTM``, a ``GRU``, ``Linear``
  over 20 tokens, ``argmax`` tags;
- ``generate``: a minGPT-style model (2 blocks, emb 64, 4 heads, manual attention with a causal
  ``masked_fill``) generating 8 tokens greedily from an 8-token prompt (``argmax``, ``cat``).

PyTorch initialises each model (seeded), BatchNorm's running statistics are set to random
values, and parameters and buffers are copied by name into deltagrad's. ``check`` asserts both
libraries give the same outputs (1e-4; the same generated tokens) before anything is timed.
Every (model, batch, mode, library) is timed in alternation with every other in ONE process (one
``common.alternate``), each block at least ``--steps`` forwards and about
``Config.block_seconds`` of PyTorch's time; the ratio of each is the median of per-round ratios
deltagrad / torch.
Goal: every ratio <= 1.0 (deltagrad's inference no slower than PyTorch's on one thread).

    python benchmarks/w9_inference.py [--steps 5] [--rounds 7] [--threads 1] [--models mlp,cnn]
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from dataclasses import asdict, dataclass, replace

import common
import numpy as np


@dataclass(frozen=True)
class Config:
    models: tuple[str, ...] = ("mlp", "cnn", "transformer", "tagger", "generate")
    batch_sizes: tuple[int, ...] = (1, 32)
    modes: tuple[str, ...] = ("no_grad", "inference_mode")
    # Each timed block runs at least --steps forwards, and as many more as fill about this many
    # seconds of PyTorch's time (measured once before the rounds; the same count for both
    # libraries): a 0.1 ms forward timed 5 times gave IQRs of 100%+ on a shared machine.
    block_seconds: float = 0.08


# ------------------------------------------------------------------------------------ models
# Each builder returns (model, data): data(rng, batch) gives the forward's ndarray inputs, and
# the model's forward(m, *inputs) is what one timed step runs.


def build_mlp(m):
    nn, F = m.nn, m.nn.functional

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 256)
            self.fc2 = nn.Linear(256, 128)
            self.fc3 = nn.Linear(128, 10)

        def forward(self, x):
            x = x.view(x.size(0), -1)
            x = F.relu(self.fc2(F.relu(self.fc1(x))))
            return F.softmax(self.fc3(x), dim=1)

    def data(rng, batch):
        return (rng.standard_normal((batch, 1, 28, 28)).astype(np.float32),)

    return MLP(), data


def build_cnn(m):
    nn = m.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
                nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
                nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                nn.AdaptiveAvgPool2d((1, 1)))
            self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(64, 10))

        def forward(self, x):
            return self.classifier(self.features(x))

    def data(rng, batch):
        return (rng.standard_normal((batch, 1, 28, 28)).astype(np.float32),)

    return Net(), data


def build_transformer(m):
    nn = m.nn
    vocab, d, length, classes = 100, 64, 16, 5

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, d)
            self.position = nn.Parameter(m.randn(1, length, d) * 0.02)
            layer = nn.TransformerEncoderLayer(d, 4, dim_feedforward=128, dropout=0.0,
                                               batch_first=True)
            with warnings.catch_warnings():  # PyTorch's nested-tensor note
                warnings.simplefilter("ignore", UserWarning)
                self.encoder = nn.TransformerEncoder(layer, num_layers=2)
            self.head = nn.Linear(d, classes)

        def forward(self, ids):
            x = self.embedding(ids) * d ** 0.5 + self.position[:, :ids.size(1)]
            return self.head(self.encoder(x).mean(dim=1))

    def data(rng, batch):
        return (rng.integers(0, vocab, (batch, length)),)

    return Classifier(), data


def build_tagger(m):
    nn = m.nn
    vocab, embedding, hidden, tags, length = 200, 32, 64, 9, 20

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, embedding, padding_idx=0)
            self.lstm = nn.LSTM(embedding, hidden, batch_first=True, bidirectional=True)
            self.gru = nn.GRU(2 * hidden, hidden, batch_first=True)
            self.out = nn.Linear(hidden, tags)

        def forward(self, ids):
            x, _ = self.lstm(self.embedding(ids))
            x, _ = self.gru(x)
            scores = self.out(x)
            return scores, scores.argmax(dim=-1)

    def data(rng, batch):
        return (rng.integers(0, vocab, (batch, length)),)

    return Tagger(), data


def build_generate(m):
    from w8_programs import mingpt  # (W8's minGPT: the same model, decoded here)

    block, vocab, prompt, new_tokens = 32, 65, 8, 8

    class GPT(mingpt(m, block=block, vocab=vocab)):
        def forward(self, idx):
            # minGPT's generate(): crop to the block, last position's logits, greedy pick
            for _ in range(new_tokens):
                idx_cond = idx if idx.size(1) <= block else idx[:, -block:]
                logits = self.logits(idx_cond)[:, -1, :]
                idx_next = m.argmax(logits, dim=-1, keepdim=True)
                idx = m.cat((idx, idx_next), dim=1)
            return logits, idx

    def data(rng, batch):
        return (rng.integers(0, vocab, (batch, prompt)),)

    return GPT(), data


BUILDERS = {"mlp": build_mlp, "cnn": build_cnn, "transformer": build_transformer,
            "tagger": build_tagger, "generate": build_generate}


# ------------------------------------------------------------------------------------ runners


def _outputs(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def state_arrays(model) -> dict:
    """{name: a copy} of every parameter and buffer, as ndarrays, for either library."""
    state = common.parameter_arrays(model)
    state.update({name: b.detach().numpy().copy() for name, b in model.named_buffers()})
    return state


class Runner:
    """One (model, batch size, grad mode, library): the eval-mode model with PyTorch's weights
    and buffers, its inputs, and a step that runs one forward pass under the mode."""

    def __init__(self, model_name: str, lib, init: dict | None, batch: int, mode: str,
                 seed: int = 0):
        lib.manual_seed(seed)
        model, data = BUILDERS[model_name](lib)
        model.eval()
        if init is None:  # PyTorch's model: running statistics other than 0 and 1
            rng = np.random.default_rng(seed + 100)
            for name, buffer in model.named_buffers():
                if name.endswith("running_mean"):
                    buffer.copy_(lib.from_numpy(rng.normal(0, 0.5, buffer.shape)))
                elif name.endswith("running_var"):
                    buffer.copy_(lib.from_numpy(rng.uniform(0.5, 2.0, buffer.shape)))
        else:
            common.copy_parameters(model, {n: init[n] for n, _ in model.named_parameters()})
            for name, buffer in model.named_buffers():
                buffer.detach().numpy()[...] = init[name]
        self.model, self.mode, self.lib = model, getattr(lib, mode), lib
        self.init = state_arrays(model)
        rng = np.random.default_rng(seed)
        self.inputs = tuple(lib.from_numpy(np.ascontiguousarray(a)) for a in data(rng, batch))

    def step(self):
        with self.mode():
            return self.model(*self.inputs)


def variant_names(config: Config) -> list[str]:
    """'<model> b<batch> <mode>' for every combination of ``config``."""
    return [f"{model} b{batch} {mode}" for model in config.models
            for batch in config.batch_sizes for mode in config.modes]


def make_runners(config: Config, torch, seed: int = 0, libraries: dict | None = None,
                 ) -> dict[str, Runner]:
    """{"<model> b<batch> <mode> <library>": Runner}; PyTorch's runner of each variant is made
    first and its parameters and buffers are copied into the others'."""
    import deltagrad as dg

    if torch is None:
        raise SystemExit("W9 needs PyTorch: its weights initialise the models")
    libraries = libraries or {"deltagrad": dg}
    runners = {}
    for variant in variant_names(config):
        model, batch, mode = variant.split(" ")
        reference = Runner(model, torch, None, int(batch[1:]), mode, seed)
        for name, lib in libraries.items():
            runners[f"{variant} {name}"] = Runner(model, lib, reference.init, int(batch[1:]),
                                                  mode, seed)
        runners[f"{variant} torch"] = reference
    return runners


def check(config: Config, torch) -> dict[str, int]:
    """Raise AssertionError unless deltagrad's outputs equal PyTorch's for every variant
    (floats to 1e-4, integer outputs such as tags and generated tokens exactly), and unless
    the outputs of both libraries require no grad; {variant: number of outputs checked}."""
    runners = make_runners(config, torch, seed=1)
    checked = {}
    for variant in variant_names(config):
        got = _outputs(runners[f"{variant} deltagrad"].step())
        want = _outputs(runners[f"{variant} torch"].step())
        assert len(got) == len(want), f"W9 {variant}: {len(got)} outputs vs {len(want)}"
        for i, (a, b) in enumerate(zip(got, want)):
            assert not a.requires_grad, f"W9 {variant}: output {i} requires grad"
            a, b = common.to_numpy(a), common.to_numpy(b)
            if np.issubdtype(b.dtype, np.integer):
                assert a.dtype == b.dtype and np.array_equal(a, b), (
                    f"W9 {variant}: output {i} (integers) differs")
            else:
                common.assert_close(f"W9 {variant}: output {i}", a, b, 1e-4, 1e-5)
        checked[variant] = len(want)
    return checked


def block_counts(runners: dict[str, Runner], config: Config, steps: int) -> dict[str, int]:
    """{variant: forwards per timed block}: at least ``steps``, enough for PyTorch's runner of
    the variant to take about ``config.block_seconds``."""
    counts = {}
    for variant in variant_names(config):
        runner = runners[f"{variant} torch"]
        runner.step()  # first-call costs
        start = time.perf_counter()
        for _ in range(steps):
            runner.step()
        each = (time.perf_counter() - start) / steps
        counts[variant] = max(steps, math.ceil(config.block_seconds / max(each, 1e-9)))
    return counts


def run(steps: int = 5, rounds: int = 7, threads: int = 1, config: Config = Config(),
        ) -> dict[str, list[float]]:
    """Time every variant and library in one alternation; {name: [seconds per forward]}."""
    common.set_threads(threads)
    torch = common.import_torch(threads)
    runners = make_runners(config, torch)
    counts = block_counts(runners, config, steps)

    def block(runner, count):
        return lambda: [runner.step() for _ in range(count)]

    blocks = {name: block(runner, counts[name.rsplit(" ", 1)[0]])
              for name, runner in runners.items()}
    times = common.alternate(blocks, rounds, settle=common.settle_seconds(threads))
    return {name: [seconds / counts[name.rsplit(" ", 1)[0]] for seconds in samples]
            for name, samples in times.items()}


def summarize(samples: dict[str, list[float]], threads: int, config: Config,
              steps: int, rounds: int) -> dict:
    """The result in run.py's shape: one row per (variant, library); each deltagrad row's ratio
    is against the same variant's PyTorch row, and each variant has a target of 1.0."""
    stats = {name: common.summarize(values) for name, values in samples.items()}
    ratios, targets = {}, []
    for name, values in samples.items():
        variant, library = name.rsplit(" ", 1)
        ratio = None if library == "torch" else common.paired_ratio(
            values, samples[f"{variant} torch"])
        ratios[name] = {"floor": None, "torch": ratio}
        if ratio is not None:
            targets.append(common.target(f"W9 {variant} deltagrad vs torch, s/forward",
                                         ratio, 1.0))
    return {"workload": "W9", "unit": "s/forward", "threads": threads,
            "blas": common.blas_threads(),
            "title": "eval-mode inference (MLP, CNN, TransformerEncoder, LSTM/GRU tagger, "
                     "minGPT greedy generation)",
            "stats": stats, "floors": {name: "-" for name in samples}, "torch_best": None,
            "ratios": ratios, "memory": {}, "samples": samples, "targets": targets,
            "config": {**asdict(config), "timed_steps": steps, "rounds": rounds}}


def main(argv=None) -> int:
    parser = common.workload_parser(__doc__, steps=5, rounds=7, quick_steps=2, quick_rounds=3)
    parser.add_argument("--models", default=None,
                        help=f"comma-separated subset of {','.join(BUILDERS)}")
    parser.add_argument("--batch-sizes", default=None,
                        help="comma-separated batch sizes (default 1,32)")
    args = common.parse_workload_args(parser, argv)
    config = Config()
    if args.models:
        config = replace(config, models=tuple(args.models.split(",")))
    if args.batch_sizes:
        config = replace(config, batch_sizes=tuple(int(b) for b in args.batch_sizes.split(",")))
    common.set_threads(args.threads)
    torch = common.import_torch(args.threads)
    checked = check(config, torch)
    samples = run(args.steps, args.rounds, args.threads, config)
    summary = summarize(samples, args.threads, config, args.steps, args.rounds)
    summary["check"] = {"outputs": checked}
    common.report(summary, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
