"""The program test_distributed_mpi.py runs under ``mpiexec``: one scenario per run.

    mpiexec -n N python tests/distributed/mpi_worker.py check
    mpiexec -n 2 python tests/distributed/mpi_worker.py hang|kill CHECKPOINT

``check`` runs every correctness check on N ranks and has rank 0 print ``OK`` and the largest
differences found; ``hang`` and ``kill`` make rank 1 stop (sleep forever, or SIGKILL itself) at
step 3 of a training loop in which rank 0 writes a checkpoint after every step.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

import numpy as np

import deltagrad as dg
from deltagrad import distributed
from deltagrad.ner.model import WindowTagger

# N processes against one process with the same global batch, float32 weights after a few
# Adam steps: see docs/distributed.md for why these bounds.
TRAIN_ATOL, TRAIN_RTOL = 1e-5, 1e-4
# Gradients of one float64 step: only the summation order differs.
GRAD_ATOL, GRAD_RTOL = 1e-12, 1e-10

VOCAB, WINDOW, N_TAGS = 40, 1, 5
N_EXAMPLES, GLOBAL_BATCH = 50, 12  # the last batch of an epoch has 2 rows: shards differ


def make_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    width = 2 * WINDOW + 1
    words = rng.integers(0, VOCAB, (N_EXAMPLES, width))
    casing = rng.integers(0, 4, (N_EXAMPLES, width))
    suffixes = rng.integers(0, 7, (N_EXAMPLES, width))
    tags = rng.integers(0, N_TAGS, N_EXAMPLES)
    return words, casing, suffixes, tags


def make_model(dtype=np.float32) -> WindowTagger:
    generator = dg.Generator(0)
    vectors = np.random.default_rng(1).normal(0, 0.1, (VOCAB, 6)).astype(dtype)
    model = WindowTagger(vocab_size=VOCAB, word_dim=6, n_casings=4, casing_dim=3, n_suffixes=7,
                         suffix_dim=2, window=WINDOW, hidden=16, n_tags=N_TAGS,
                         activation="tanh", dropout=0.0, word_vectors=vectors,
                         generator=generator)
    if dtype != np.float32:
        for param in model.parameters():
            param.data = param.data.astype(dtype)
    return model


def loss_of(model, data, rows, scale: float = 1.0):
    words, casing, suffixes, tags = (a[rows] for a in data)
    scores = model(dg.from_numpy(words), dg.from_numpy(casing), dg.from_numpy(suffixes))
    return model.loss(scores, dg.from_numpy(tags)) * scale


def train(model, optimizer, sampler, epochs: int, dp=None) -> None:
    """The loop of ner/training.py, data-parallel when ``dp`` is given."""
    data = make_data()
    params = [p for p in model.parameters() if p.requires_grad]
    for epoch in range(epochs):
        for shard in sampler.batches(epoch):
            optimizer.zero_grad()
            if len(shard.rows):
                loss_of(model, data, shard.rows, shard.loss_scale).backward()
            if dp is not None:
                dp.reduce_gradients()
            dg.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()


def check_sampler(context) -> None:
    sampler = distributed.DistributedSampler(N_EXAMPLES, GLOBAL_BATCH, seed=3,
                                             rank=context.rank, world_size=context.world_size)
    single = distributed.DistributedSampler(N_EXAMPLES, GLOBAL_BATCH, seed=3)
    for epoch in (0, 1):
        mine = [s.rows for s in sampler.batches(epoch)]
        everyone = context.allgather_object(mine)
        expected = [s.rows for s in single.batches(epoch)]
        assert len(mine) == len(expected) == len(sampler)
        for step, batch in enumerate(expected):
            parts = [rows[step] for rows in everyone]
            assert np.array_equal(np.concatenate(parts), batch), "shards do not cover the batch"
            assert len(np.unique(np.concatenate(parts))) == len(batch), "shards overlap"
    assert not np.array_equal(single.order(0), single.order(1)), "no reshuffle per epoch"


def check_gradients(context, overlap: bool) -> dict:
    """One step's averaged gradients equal one process's on the whole batch (float64)."""
    data = make_data()
    rows = np.arange(GLOBAL_BATCH + 1)  # 13 rows: unequal shards
    sampler = distributed.DistributedSampler(N_EXAMPLES, len(rows), rank=context.rank,
                                             world_size=context.world_size)
    shard = sampler.shard(rows)
    model, reference = make_model(np.float64), make_model(np.float64)
    reducer = context.gradient_reducer(model, bucket_bytes=2048, overlap=overlap)
    assert len(reducer.buckets) == 0
    worst = 0.0
    for _ in range(3):  # the first step learns the layout; later ones overlap
        for p in model.parameters():
            p.grad = None
        loss_of(model, data, shard.rows, shard.loss_scale).backward()
        reducer.reduce()
        for p in reference.parameters():
            p.grad = None
        loss_of(reference, data, rows).backward()
        for (name, p), q in zip(model.named_parameters(), reference.parameters()):
            got, want = p.grad, q.grad
            assert isinstance(got, type(want)), (name, type(got), type(want))
            if isinstance(want, dg.Tensor):
                got, want = got.data, want.data
            else:
                # the optimizer's lazy update must see the same rows as one process's
                assert np.array_equal(got.coalesce().indices, np.unique(want.indices)), name
                got, want = got.to_dense(), want.to_dense()
            np.testing.assert_allclose(got, want, atol=GRAD_ATOL, rtol=GRAD_RTOL, err_msg=name)
            worst = max(worst, float(np.abs(got - want).max()))
    if context.world_size > 1:
        assert len(reducer.buckets) >= 2, reducer  # 2 KiB buckets: several messages
        # steps 2 and 3 start every bucket during backward (the first one learns the layout)
        assert reducer.launched_in_backward == (2 * len(reducer.buckets) if overlap else 0), (
            reducer.launched_in_backward)
    return {f"gradient_max_diff_overlap_{overlap}": worst}


def check_broadcasts(context) -> None:
    model = make_model()
    if context.rank != 0:
        for p in model.parameters():
            p.data = p.data + 1.0
    optimizer = dg.optim.Adam(model.parameters(), lr=0.01 * (context.rank + 1))
    if context.rank == 0:
        loss_of(model, make_data(), np.arange(8)).backward()
        optimizer.step()
    context.broadcast_parameters(model)
    context.broadcast_optimizer_state(optimizer)
    assert context.check_parameters_in_sync(model)
    assert optimizer.param_groups[0]["lr"] == 0.01
    state = optimizer.state_dict()["state"]
    assert len(state) == len(list(model.parameters())), "optimizer state not broadcast"
    total = context.allreduce_sum([context.rank, 1.0])
    assert total.tolist() == [sum(range(context.world_size)), context.world_size]
    assert context.broadcast_object({"a": [1, 2]} if context.is_main else None) == {"a": [1, 2]}


def check_training(context) -> dict:
    """N ranks train to the weights of one process with the same global batch."""
    epochs = 3
    model = make_model()
    optimizer = dg.optim.Adam(model.parameters(), lr=0.05)
    for p in model.parameters():  # each rank starts elsewhere: the broadcast must fix it
        p.data = p.data + np.float32(context.rank)
    dp = distributed.setup_data_parallel(model, optimizer, num_examples=N_EXAMPLES,
                                         batch_size=GLOBAL_BATCH, seed=5, context=context,
                                         bucket_bytes=1024)
    train(model, optimizer, dp.sampler, epochs, dp)

    reference = make_model()
    reference_optimizer = dg.optim.Adam(reference.parameters(), lr=0.05)
    single = distributed.DistributedSampler(N_EXAMPLES, GLOBAL_BATCH, seed=5)
    train(reference, reference_optimizer, single, epochs)

    assert context.check_parameters_in_sync(model), "ranks ended with different weights"
    worst, moved = 0.0, 0.0
    start = make_model()
    for (name, p), q, s in zip(model.named_parameters(), reference.parameters(),
                               start.parameters()):
        np.testing.assert_allclose(p.data, q.data, atol=TRAIN_ATOL, rtol=TRAIN_RTOL,
                                   err_msg=name)
        worst = max(worst, float(np.abs(p.data - q.data).max()))
        moved = max(moved, float(np.abs(q.data - s.data).max()))
    assert moved > 0.05, "training hardly moved the weights: the check would prove nothing"
    return {"train_max_diff": worst, "train_max_change": moved}


def run_checks() -> None:
    context = distributed.init(timeout=60)
    found = {"world_size": context.world_size}
    check_sampler(context)
    found.update(check_gradients(context, overlap=False))
    found.update(check_gradients(context, overlap=True))
    check_broadcasts(context)
    found.update(check_training(context))
    context.barrier()
    if context.is_main:
        print("OK", json.dumps(found), flush=True)


def run_failure(mode: str, checkpoint: str) -> None:
    """Rank 1 stops at step 3; rank 0 checkpoints after every step (atomically)."""
    context = distributed.init(timeout=2.0)
    model = make_model()
    optimizer = dg.optim.SGD(model.parameters(), lr=0.1)
    dp = distributed.setup_data_parallel(model, optimizer, num_examples=N_EXAMPLES,
                                         batch_size=GLOBAL_BATCH, context=context)
    data = make_data()
    for shard in dp.sampler.batches(0):
        if context.rank == 1 and shard.step == 3:
            print(f"rank 1 stops ({mode})", flush=True)
            if mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(600)
        optimizer.zero_grad()
        loss_of(model, data, shard.rows, shard.loss_scale).backward()
        dp.reduce_gradients()
        optimizer.step()
        if context.is_main:
            state = {k: v.data for k, v in model.state_dict().items()}
            dg.save({"step": shard.step, "weights": state}, checkpoint)
    print("finished without noticing the stopped rank", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "check":
        run_checks()
    else:
        run_failure(sys.argv[1], sys.argv[2])
