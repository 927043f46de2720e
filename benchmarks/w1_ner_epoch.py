"""W1, window-NER training epoch: the lecture's window classifier trained with Adam, per epoch.

Model (DESIGN.md, Benchmarks): an Embedding of 25,000 x 50 looks up a window of 2 words each
side (5 ids -> 250 features) -> Linear(250, 200) -> tanh -> dropout 0.5 -> Linear(200, 5) ->
softmax cross-entropy; Adam lr 1e-3, batch 256. Data: synthetic windows over a Zipf-like token
stream (word frequency ~ 1 / (rank + 2.7), as in running text) with skewed tags (83 % "O"), so
batches repeat frequent words the way CoNLL's do. A fixed number of steps is timed (several
rounds, variants in alternation) and scaled to seconds per epoch of 203,621 examples (796 steps).

Variants (every one starts from the same weights and sees the same batches):

- numpy-dense-adam: the step written by hand in NumPy, the floor for a NumPy engine: float32,
  preallocated buffers and ``out=`` everywhere, fused log-softmax cross-entropy, the embedding
  gradient scattered with ``np.add.at`` on the flattened table, as complex64 pairs of floats
  (fastest of add.at, bincount and sort + reduceat; pairs halve the index), exact dense Adam
  in place over all parameters packed in one flat buffer, a cache-sized chunk at a time.
- numpy-dense-adam-rows: the fastest exact dense-Adam floor found (issue 18, "reconcile W1
  dense"): the same numbers as numpy-dense-adam, but the table's gradient is never a dense
  V x d array (its rows are summed per distinct id, as for the lazy update), and the table's
  Adam is 7 passes: both moments decay everywhere, only the batch's rows take the gradient terms
  (elsewhere they would add zero), then the step. numpy-dense-adam is kept beside it.
- numpy-lazy-adam: the same with the embedding updated lazily, only the rows the batch touches
  (``torch.optim.SparseAdam``'s rule); the rest with dense Adam. The batch's distinct ids (here
  and in numpy-dense-adam-rows) come from a mask over the vocabulary, not ``np.unique``.
- deltagrad-dense-adam / deltagrad-sparse-lazy-adam: ``dg.nn`` modules and ``dg.optim.Adam``,
  with ``Embedding(sparse=False)`` / ``Embedding(sparse=True)`` (row-sparse gradient, lazy Adam).
- torch-adam / torch-adam-fused / torch-sparse (when PyTorch is installed): ``Adam()``,
  ``Adam(fused=True)``, and ``Embedding(sparse=True)`` with ``SparseAdam`` for the table plus
  ``Adam`` for the rest.

Issue 18 made the floors faster (the same numbers, bit for bit): Adam a chunk at a time, float
pairs in the scatter-add, a mask for the distinct ids (dg.optim.Adam chunks too; deltagrad's
sparse gradients sum float pairs, and sort the ids by a radix sort instead of a mask).

Before timing, ``check`` makes sure they all compute the same thing: with dropout off, the same
first-step loss everywhere and the same parameters after a few steps within each optimizer family
(dense Adam; lazy Adam); with dropout on, NumPy and deltagrad draw identical masks (the same
PCG64 stream) and must agree step by step.

    python benchmarks/w1_ner_epoch.py [--steps 100] [--rounds 5] [--threads 1] [--memory]
    python benchmarks/w1_ner_epoch.py --quick          # 20 steps, 3 rounds
"""

from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass

import common
import numpy as np


@dataclass(frozen=True)
class Config:
    vocab: int = 25_000
    dim: int = 50
    window: int = 2
    hidden: int = 200
    classes: int = 5
    dropout: float = 0.5
    lr: float = 1e-3
    batch: int = 256
    examples: int = 203_621

    @property
    def positions(self) -> int:
        return 2 * self.window + 1

    @property
    def width(self) -> int:
        return self.positions * self.dim

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.examples / self.batch)


VARIANTS = ("numpy-dense-adam", "numpy-dense-adam-rows", "numpy-lazy-adam",
            "deltagrad-dense-adam",
            "deltagrad-sparse-lazy-adam", "torch-adam", "torch-adam-fused", "torch-sparse")
DENSE = ("numpy-dense-adam", "numpy-dense-adam-rows", "deltagrad-dense-adam", "torch-adam",
         "torch-adam-fused")
LAZY = ("numpy-lazy-adam", "deltagrad-sparse-lazy-adam", "torch-sparse")
FLOOR = {name: "numpy-dense-adam" if name in DENSE else "numpy-lazy-adam" for name in VARIANTS}
FLOOR["numpy-dense-adam-rows"] = "numpy-dense-adam"
FAST_DENSE_FLOOR = "numpy-dense-adam-rows"  # the floor issue 18's W1 dense target is against
PARAMETERS = ("embedding", "hidden.weight", "hidden.bias", "output.weight", "output.bias")
TAG_FREQUENCIES = (0.83, 0.05, 0.04, 0.04, 0.04)
BETAS, EPS = (0.9, 0.999), 1e-8


# ------------------------------------------------------------------------------ data, weights


def make_data(config: Config, steps: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``steps`` shuffled batches: ids int64 [steps, batch, 2w+1] and tags int64 [steps, batch]."""
    rng = np.random.default_rng(seed)
    frequency = 1.0 / (np.arange(config.vocab) + 3.7)  # Zipf-Mandelbrot: 1 / (rank + 2.7)
    stream = rng.choice(config.vocab, size=config.examples + 2 * config.window,
                        p=frequency / frequency.sum())
    tag_p = np.resize(np.asarray(TAG_FREQUENCIES), config.classes)
    tags = rng.choice(config.classes, size=config.examples, p=tag_p / tag_p.sum())
    order = np.resize(rng.permutation(config.examples), steps * config.batch)
    ids = stream[order[:, None] + np.arange(config.positions)]
    return (ids.reshape(steps, config.batch, config.positions).astype(np.int64),
            tags[order].reshape(steps, config.batch).astype(np.int64))


def make_init(config: Config, seed: int = 1) -> dict[str, np.ndarray]:
    """The initial weights every variant copies: PyTorch's default initialisation, float32."""
    rng = np.random.default_rng(seed)

    def uniform(bound, shape):
        return rng.uniform(-bound, bound, shape).astype(np.float32)

    return {
        "embedding": rng.standard_normal((config.vocab, config.dim), dtype=np.float32),
        "hidden.weight": uniform(config.width ** -0.5, (config.hidden, config.width)),
        "hidden.bias": uniform(config.width ** -0.5, config.hidden),
        "output.weight": uniform(config.hidden ** -0.5, (config.classes, config.hidden)),
        "output.bias": uniform(config.hidden ** -0.5, config.classes),
    }


# ------------------------------------------------------------------------------ NumPy floors


# The floors update large arrays a chunk of this many elements (256 KB of float32) at a time, so
# that Adam's passes find their operands in the core's cache instead of streaming each array
# through memory once per pass: the same numbers, 0.52 of the time for the 12-pass update of the
# 25,000 x 50 table and 0.8 for the row update (issue 18; dg.optim.Adam does the same).
CHUNK = 1 << 16


def adam_flat(p, g, m, v, work, step: int, lr: float) -> None:
    """Exact dense Adam (PyTorch's rule), in place over flat float32 arrays: 12 passes, a
    chunk at a time (``work`` holds one chunk)."""
    beta1, beta2 = BETAS
    correction1 = 1.0 - beta1 ** step
    correction2_sqrt = math.sqrt(1.0 - beta2 ** step)
    for start in range(0, p.size, CHUNK):
        stop = start + CHUNK
        pc, gc, mc, vc = p[start:stop], g[start:stop], m[start:stop], v[start:stop]
        w = work[:pc.size]
        np.multiply(gc, 1.0 - beta1, out=w)
        mc *= beta1
        mc += w
        np.multiply(gc, gc, out=w)
        w *= 1.0 - beta2
        vc *= beta2
        vc += w
        # m̂ / (√v̂ + ε) = c·m / (bc₁ (√v + c·ε)) with c = √bc₂: saves a pass over v.
        np.sqrt(vc, out=w)
        w += EPS * correction2_sqrt
        np.divide(mc, w, out=w)
        w *= -lr * correction2_sqrt / correction1
        pc += w


class NumpyTagger:
    """The W1 training step written by hand in NumPy (dense or lazy Adam for the table)."""

    def __init__(self, config: Config, init: dict, data, *, lazy: bool, training: bool = True,
                 seed: int = 2, rows: bool = False):
        # rows: dense Adam with the table's gradient kept as rows (numpy-dense-adam-rows)
        self.config, self.lazy, self.training, self.rows = config, lazy, training, rows
        ids, tags = data
        self.ids = np.ascontiguousarray(ids.reshape(len(ids), -1), dtype=np.intp)
        self.tags = tags
        self.rng = np.random.Generator(np.random.PCG64(seed))  # as _pcg64(dg, seed)
        names = [n for n in PARAMETERS if not ((lazy or rows) and n == "embedding")]
        # Dense parameters packed in one flat buffer: one Adam call updates them all.
        sizes = [init[n].size for n in names]
        total = sum(sizes)
        self.flat, self.flat_grad = np.empty(total, np.float32), np.zeros(total, np.float32)
        self.m, self.v = np.zeros(total, np.float32), np.zeros(total, np.float32)
        self.work = np.empty(min(total, CHUNK), np.float32)
        self.params, self.grads = {}, {}
        offset = 0
        for name, size in zip(names, sizes):
            shape = init[name].shape
            self.params[name] = self.flat[offset:offset + size].reshape(shape)
            self.grads[name] = self.flat_grad[offset:offset + size].reshape(shape)
            self.params[name][...] = init[name]
            offset += size
        self.t = 0
        if lazy or rows:
            self.params["embedding"] = init["embedding"].copy()
            self.table_work = np.empty(min(init["embedding"].size, CHUNK), np.float32)
            self.m_rows = np.zeros_like(init["embedding"])
            self.v_rows = np.zeros_like(init["embedding"])
            self.t_rows = 0
        # Work buffers, written with out= at every step.
        b, c = config.batch, config
        n_ids = b * c.positions
        self.x_rows = np.empty((n_ids, c.dim), np.float32)
        self.h, self.h_drop, self.noise, self.mask, self.dh, self.tanh_grad = (
            np.empty((b, c.hidden), np.float32) for _ in range(6))
        self.z = np.empty((b, c.classes), np.float32)
        self.row_max, self.row_sum = np.empty(b, np.float32), np.empty(b, np.float32)
        self.dx = np.empty((b, c.width), np.float32)
        # Rows of dim float32 are scatter-added as dim / 2 complex64 pairs when dim is even.
        self.pair = np.complex64 if c.dim % 2 == 0 else np.float32
        pairs = c.dim // 2 if c.dim % 2 == 0 else c.dim
        self.flat_index = np.empty((n_ids, pairs), np.intp)
        self.batch_range, self.columns = np.arange(b), np.arange(pairs)
        self.seen = np.zeros(c.vocab, bool)  # the ids' mask, all False between steps
        self.slot, self.counting = np.empty(c.vocab, np.intp), np.arange(n_ids)

    def step(self, i: int) -> float:
        # In four methods, so that benchmarks/w1_profile.py can time the floor's phases (their
        # calls cost well under 1 us a step).
        ids, tags = self.ids[i % len(self.ids)], self.tags[i % len(self.tags)]
        loss, x, h, hd, dz = self._forward(ids, tags)
        self._backward(x, h, hd, dz)
        rows, table_grad, pairs, flat_index = self._table_gradient(ids)
        # update
        self.t += 1
        adam_flat(self.flat, self.flat_grad, self.m, self.v, self.work, self.t,
                  self.config.lr)
        table = self.params["embedding"]
        if self.lazy:
            self._lazy_adam(rows, table_grad, table)
        elif self.rows:
            self._dense_adam_rows(rows, table_grad, table)
        else:
            pairs[flat_index] = 0.0  # only the rows written are dirty
        return float(loss)

    def _forward(self, ids, tags):
        """The forward pass and the loss, with the loss's gradient dz (in place of z)."""
        c, p = self.config, self.params
        table, w1, b1, w2, b2 = (p[n] for n in PARAMETERS)
        np.take(table, ids, axis=0, out=self.x_rows, mode="clip")  # ids are in range
        x = self.x_rows.reshape(c.batch, c.width)
        h = self.h
        np.matmul(x, w1.T, out=h)
        h += b1
        np.tanh(h, out=h)
        if self.training:
            self.rng.random(out=self.noise, dtype=np.float32)
            np.greater_equal(self.noise, c.dropout, out=self.mask)
            self.mask /= np.float32(1.0 - c.dropout)
            hd = np.multiply(h, self.mask, out=self.h_drop)
        else:
            hd = h
        z = self.z
        np.matmul(hd, w2.T, out=z)
        z += b2
        # fused log-softmax + NLL, and its gradient (softmax - onehot) / batch
        np.max(z, axis=1, out=self.row_max)
        z -= self.row_max[:, None]
        picked = z[self.batch_range, tags].sum()
        np.exp(z, out=z)
        np.sum(z, axis=1, out=self.row_sum)
        loss = (np.log(self.row_sum).sum() - picked) / c.batch
        self.row_sum *= c.batch
        dz = np.divide(z, self.row_sum[:, None], out=z)
        dz[self.batch_range, tags] -= 1.0 / c.batch
        return loss, x, h, hd, dz

    def _backward(self, x, h, hd, dz) -> None:
        """The layers' gradients, and dx, the embedded rows' gradient."""
        p, g = self.params, self.grads
        w1, w2 = p["hidden.weight"], p["output.weight"]
        np.matmul(dz.T, hd, out=g["output.weight"])
        np.sum(dz, axis=0, out=g["output.bias"])
        dh = np.matmul(dz, w2, out=self.dh)
        if self.training:
            dh *= self.mask
        np.multiply(h, h, out=self.tanh_grad)
        np.subtract(1.0, self.tanh_grad, out=self.tanh_grad)
        dh *= self.tanh_grad
        np.matmul(dh.T, x, out=g["hidden.weight"])
        np.sum(dh, axis=0, out=g["hidden.bias"])
        np.matmul(dh, w1, out=self.dx)

    def _table_gradient(self, ids):
        """The table's gradient from dx: (distinct rows or None, the gradient, its float-pair
        view, the flat index used)."""
        c, g = self.config, self.grads
        rows = None
        # The embedding's gradient: a scatter-add of the rows of dx, with ufunc.at on flat
        # positions (it is only fast with a 1-D index) of float pairs (complex64: half the
        # index, the same float sums): into the dense table gradient, or, for the lazy
        # update, into one row per distinct id. The distinct ids, sorted, and each one's slot
        # come from a mask over the vocabulary (as np.unique(ids, return_inverse=True), 7
        # times faster on W1's batch).
        if self.lazy or self.rows:
            self.seen[ids] = True
            rows = self.seen.nonzero()[0]
            self.seen[rows] = False
            self.slot[rows] = self.counting[:rows.size]
            target_rows = self.slot[ids]
            table_grad = np.zeros((rows.size, c.dim), np.float32)
        else:
            target_rows = ids
            table_grad = g["embedding"]
        np.multiply(target_rows[:, None], self.columns.size, out=self.flat_index)
        self.flat_index += self.columns
        flat_index = self.flat_index.reshape(-1)
        pairs = table_grad.reshape(-1).view(self.pair)
        np.add.at(pairs, flat_index, self.dx.reshape(-1).view(self.pair))
        return rows, table_grad, pairs, flat_index

    def _dense_adam_rows(self, rows, g, table) -> None:
        # Exact dense Adam on a gradient that is zero outside ``rows`` (unique): 7 passes over
        # the table (m, v decay; then a chunk at a time sqrt, + eps, divide, scale, add) and
        # the rows' terms.
        beta1, beta2 = BETAS
        m, v = self.m_rows, self.v_rows
        m *= beta1
        v *= beta2
        square = np.multiply(g, g)
        square *= 1.0 - beta2
        v[rows] += square
        g *= 1.0 - beta1
        m[rows] += g
        correction1 = 1.0 - beta1 ** self.t
        correction2_sqrt = math.sqrt(1.0 - beta2 ** self.t)
        m, v, table = m.reshape(-1), v.reshape(-1), table.reshape(-1)
        for start in range(0, table.size, CHUNK):
            stop = start + CHUNK
            w = self.table_work[:table[start:stop].size]
            np.sqrt(v[start:stop], out=w)
            w += EPS * correction2_sqrt
            np.divide(m[start:stop], w, out=w)
            w *= -self.config.lr * correction2_sqrt / correction1
            table[start:stop] += w

    def _lazy_adam(self, rows, g, table) -> None:
        # SparseAdam: the touched rows' moments and weights only; ε added before correcting v.
        # The moments in PyTorch's SparseAdam form (m += (1 - β₁)(g - m), the same for v with
        # g²), as dg.optim does: its rounding, in as many passes as β·m + (1 - β)·g.
        beta1, beta2 = BETAS
        self.t_rows += 1
        m = np.take(self.m_rows, rows, axis=0)
        v = np.take(self.v_rows, rows, axis=0)
        square = np.multiply(g, g)
        square -= v
        square *= 1.0 - beta2
        v += square
        g -= m
        g *= 1.0 - beta1
        m += g
        self.m_rows[rows] = m
        self.v_rows[rows] = v
        step_size = (self.config.lr * math.sqrt(1.0 - beta2 ** self.t_rows)
                     / (1.0 - beta1 ** self.t_rows))
        update = np.sqrt(v, out=v)
        update += EPS
        np.divide(m, update, out=update)
        update *= -step_size
        table[rows] += update  # rows are unique

    def parameters(self) -> dict[str, np.ndarray]:
        return {name: self.params[name].copy() for name in PARAMETERS}


# ------------------------------------------------------------------------------ frameworks


class FrameworkTagger:
    """The W1 step through a framework's modules and optimizers (deltagrad or PyTorch)."""

    def __init__(self, model, optimizers, batches, functional, names: dict[str, str]):
        self.model, self.optimizers, self.batches = model, optimizers, batches
        self.functional, self.names = functional, names

    def step(self, i: int) -> float:
        ids, tags = self.batches[i % len(self.batches)]
        for optimizer in self.optimizers:
            optimizer.zero_grad()
        loss = self.functional.cross_entropy(self.model(ids), tags)
        loss.backward()
        for optimizer in self.optimizers:
            optimizer.step()
        return loss.item()

    def parameters(self) -> dict[str, np.ndarray]:
        state = dict(self.model.named_parameters())
        return {name: common.to_numpy(state[key]) for name, key in self.names.items()}


# Sequential(Embedding, Flatten, Linear, Tanh, Dropout, Linear): the same in both frameworks.
SEQUENTIAL_NAMES = {"embedding": "0.weight", "hidden.weight": "2.weight",
                    "hidden.bias": "2.bias", "output.weight": "5.weight",
                    "output.bias": "5.bias"}


def make_deltagrad(config: Config, init: dict, data, *, sparse: bool, training: bool = True,
                   seed: int = 2, dg=None) -> FrameworkTagger:
    """The deltagrad variant; ``dg`` is the package (another revision's, for ``ab.py``)."""
    if dg is None:
        import deltagrad as dg

    nn = dg.nn
    model = nn.Sequential(
        nn.Embedding(config.vocab, config.dim, sparse=sparse), nn.Flatten(),
        nn.Linear(config.width, config.hidden), nn.Tanh(),
        nn.Dropout(config.dropout, generator=_pcg64(dg, seed)),
        nn.Linear(config.hidden, config.classes))
    model.train(training)
    parameters = dict(model.named_parameters())
    for name, key in SEQUENTIAL_NAMES.items():
        parameters[key].data[...] = init[name]
    batches = [(dg.from_numpy(ids), dg.from_numpy(tags)) for ids, tags in zip(*data)]
    optimizer = dg.optim.Adam(model.parameters(), lr=config.lr, betas=BETAS, eps=EPS)
    return FrameworkTagger(model, [optimizer], batches, nn.functional, SEQUENTIAL_NAMES)


def _pcg64(dg, seed: int):
    """A deltagrad generator on NumPy's PCG64, the floor's stream and the NER application's
    (revisions before PyTorch's stream became the default had only that one)."""
    try:
        return dg.Generator(seed, stream="pcg64")
    except TypeError:
        return dg.Generator(seed)


def make_torch(torch, config: Config, init: dict, data, *, kind: str, training: bool = True,
               seed: int = 2) -> FrameworkTagger:
    nn = torch.nn
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Embedding(config.vocab, config.dim, sparse=kind == "sparse"), nn.Flatten(),
        nn.Linear(config.width, config.hidden), nn.Tanh(), nn.Dropout(config.dropout),
        nn.Linear(config.hidden, config.classes))
    model.train(training)
    parameters = dict(model.named_parameters())
    with torch.no_grad():
        for name, key in SEQUENTIAL_NAMES.items():
            parameters[key].copy_(torch.from_numpy(init[name]))
    batches = [(torch.from_numpy(ids), torch.from_numpy(tags)) for ids, tags in zip(*data)]
    options = dict(lr=config.lr, betas=BETAS, eps=EPS)
    if kind == "sparse":
        table = parameters[SEQUENTIAL_NAMES["embedding"]]
        rest = [p for key, p in parameters.items() if p is not table]
        optimizers = [torch.optim.SparseAdam([table], **options),
                      torch.optim.Adam(rest, **options)]
    else:
        optimizers = [torch.optim.Adam(model.parameters(), fused=kind == "fused", **options)]
    return FrameworkTagger(model, optimizers, batches, nn.functional, SEQUENTIAL_NAMES)


def available(torch) -> tuple[str, ...]:
    return VARIANTS if torch is not None else tuple(v for v in VARIANTS if "torch" not in v)


def make(name: str, config: Config, init: dict, data, torch=None, training: bool = True):
    """Build one variant by name (``torch`` is the imported module, for torch-* variants)."""
    if name.startswith("numpy"):
        return NumpyTagger(config, init, data, lazy=name == "numpy-lazy-adam", training=training,
                           rows=name == "numpy-dense-adam-rows")
    if name.startswith("deltagrad"):
        return make_deltagrad(config, init, data, sparse="sparse" in name, training=training)
    kind = {"torch-adam": "default", "torch-adam-fused": "fused", "torch-sparse": "sparse"}[name]
    return make_torch(torch, config, init, data, kind=kind, training=training)


# ------------------------------------------------------------------------------ check


def check(config: Config, torch=None, steps: int = 3, variants=None) -> dict[str, float]:
    """Raise AssertionError unless all variants compute the same losses and parameters.

    Returns the first-step loss of each variant (dropout off).
    """
    variants = tuple(variants or available(torch))
    data = make_data(config, steps, seed=10)
    init = make_init(config, seed=11)
    lr = config.lr
    # Parameter updates are O(lr) per step: a variant that skipped or botched one is far off.
    rtol, atol = 1e-3, 2e-3 * lr
    first_losses = {}
    results = {}
    for name in variants:  # dropout off: every variant must agree (within its Adam family)
        runner = make(name, config, init, data, torch, training=False)
        losses = [runner.step(i) for i in range(steps)]
        first_losses[name] = losses[0]
        results[name] = (losses, runner.parameters())
    reference = first_losses[variants[0]]
    for name, loss in first_losses.items():
        common.assert_close(f"W1 {name}: first-step loss", loss, reference, 1e-5, 1e-6)
    for family in (DENSE, LAZY):
        members = [name for name in family if name in results]
        for name in members[1:]:
            _compare(name, results[name], results[members[0]], init, rtol, atol)
    for numpy_name, deltagrad_name in (("numpy-dense-adam", "deltagrad-dense-adam"),
                                       ("numpy-lazy-adam", "deltagrad-sparse-lazy-adam")):
        if {numpy_name, deltagrad_name} <= set(variants):  # dropout on, the same masks
            a = make(numpy_name, config, init, data, torch, training=True)
            b = make(deltagrad_name, config, init, data, torch, training=True)
            run_a = ([a.step(i) for i in range(steps)], a.parameters())
            run_b = ([b.step(i) for i in range(steps)], b.parameters())
            _compare(f"{deltagrad_name} (dropout on)", run_b, run_a, init, rtol, atol)
    return first_losses


def _compare(name, got, want, init, rtol, atol) -> None:
    common.assert_close(f"W1 {name}: losses", got[0], want[0], 1e-4, 1e-6)
    for key in PARAMETERS:
        change = want[1][key] - init[key]
        if not np.abs(change).max() > 10 * atol:
            raise AssertionError(f"W1: {key} did not move in the reference; the check is void")
        common.assert_close(f"W1 {name}: {key} after {len(got[0])} steps", got[1][key] - init[key],
                            change, rtol, atol)


# ------------------------------------------------------------------------------ run


def run(steps: int = 100, rounds: int = 5, threads: int = 1, config: Config = Config(),
        variants=None) -> dict[str, list[float]]:
    """Time the variants in alternation; returns {name: [seconds per epoch, one per round]}."""
    common.set_threads(threads)
    torch = common.import_torch(threads)
    variants = tuple(variants or available(torch))
    data = make_data(config, steps)
    init = make_init(config)
    runners = {name: make(name, config, init, data, torch) for name in variants}

    def block(runner):
        return lambda: [runner.step(i) for i in range(steps)]

    times = common.alternate({name: block(r) for name, r in runners.items()}, rounds,
                             settle=common.settle_seconds(threads))
    scale = config.steps_per_epoch / steps
    return {name: [seconds * scale for seconds in samples] for name, samples in times.items()}


def memory_probe(variant: str, threads: int, steps: int = 5, config: Config = Config()) -> dict:
    """Peak memory of one variant over a few steps (run in a fresh process)."""
    common.set_threads(threads)
    torch = common.import_torch(threads) if variant.startswith("torch") else None
    if variant.startswith("deltagrad"):
        import deltagrad  # noqa: F401  (imported before the baseline, as torch is)
    # A few steps of a tiny model first, so that one-time costs (lazy library initialisation,
    # code pages, thread pools) are not counted as the workload's memory.
    tiny = Config(vocab=100, batch=8, examples=100)
    tiny_data = make_data(tiny, 2)
    warm = make(variant, tiny, make_init(tiny), tiny_data, torch)
    for i in range(2):
        warm.step(i)
    del warm
    data = make_data(config, steps)
    init = make_init(config)

    def train():
        runner = make(variant, config, init, data, torch)
        for i in range(steps):
            runner.step(i)

    rss = common.peak_rss_growth(train)
    traced = None if torch is not None else common.tracemalloc_peak(train)
    return {"rss_bytes": rss["bytes"], "rss_method": rss["method"], "tracemalloc_bytes": traced}


def targets(summary: dict) -> list[dict]:
    """The issue's W1 targets, from a result's paired ratios and memory."""
    ratios, memory = summary["ratios"], summary.get("memory", {})
    found = []
    if ratios.get("deltagrad-dense-adam", {}).get("floor"):
        found.append(common.target("W1 dense Adam vs NumPy floor",
                                   ratios["deltagrad-dense-adam"]["floor"], 1.10))
    fast = summary.get("samples", {}).get(FAST_DENSE_FLOOR)
    if fast and "deltagrad-dense-adam" in summary.get("samples", {}):
        found.append(common.target("W1 dense Adam vs the fastest NumPy floor",
                                   common.paired_ratio(summary["samples"]["deltagrad-dense-adam"],
                                                       fast), 1.10, versus=FAST_DENSE_FLOOR))
    torch_best = summary.get("torch_best")
    if torch_best and "deltagrad-sparse-lazy-adam" in ratios:
        found.append(common.target("W1 sparse lazy Adam vs PyTorch's best",
                                   ratios["deltagrad-sparse-lazy-adam"]["torch"], 0.45,
                                   versus=torch_best))
    for name in ("deltagrad-dense-adam", "deltagrad-sparse-lazy-adam"):
        mine, floor = memory.get(name, {}), memory.get(FLOOR[name], {})
        if mine.get("rss_bytes") and floor.get("rss_bytes"):
            kind = "dense" if name in DENSE else "sparse"
            found.append(common.target(f"W1 {kind} peak RSS growth vs NumPy floor",
                                       {"median": mine["rss_bytes"] / floor["rss_bytes"]}, 1.25,
                                       versus=FLOOR[name]))
    return found


def main(argv=None) -> int:
    parser = common.workload_parser(__doc__, steps=100, rounds=5, quick_steps=20, quick_rounds=3)
    args = common.parse_workload_args(parser, argv)
    config = Config()
    if args.memory_probe:
        common.print_json(memory_probe(args.memory_probe, args.threads, config=config))
        return 0
    common.set_threads(args.threads)
    torch = common.import_torch(args.threads)
    variants = tuple(args.variants.split(",")) if args.variants else available(torch)
    losses = check(config, torch, variants=variants)
    samples = run(args.steps, args.rounds, args.threads, config, variants)
    memory = ({name: common.probe_in_subprocess(__file__, name, args.threads)
               for name in variants} if args.memory else {})
    summary = common.summarize_workload(
        "W1", "window-NER training epoch (batch 256, 796 steps)", "s/epoch", args.threads,
        samples, FLOOR, memory,
        config={**asdict(config), "timed_steps": args.steps, "rounds": args.rounds},
        check={"first_step_loss": losses})
    summary["targets"] = targets(summary)
    common.report(summary, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
