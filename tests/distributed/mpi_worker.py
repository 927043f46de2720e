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
from deltagrad import distributed as dist
from deltagrad import parallel
from deltagrad.ner.model import WindowTagger
from deltagrad.nn.parallel import DistributedDataParallel

# N processes against one process with the same global batch, float32 weights after a few
# Adam steps: see docs/parallel.md for why these bounds.
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
            param.data = dg.from_numpy(values(param).astype(dtype))
    return model


def values(tensor) -> np.ndarray:
    return tensor.detach().numpy()


def dense(grad) -> np.ndarray:
    """A gradient's values as a dense array (a sparse embedding gradient made dense)."""
    return values(grad.to_dense() if grad.is_sparse else grad)


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
    sampler = parallel.DistributedSampler(N_EXAMPLES, GLOBAL_BATCH, seed=3,
                                             rank=context.rank, world_size=context.world_size)
    single = parallel.DistributedSampler(N_EXAMPLES, GLOBAL_BATCH, seed=3)
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
    sampler = parallel.DistributedSampler(N_EXAMPLES, len(rows), rank=context.rank,
                                             world_size=context.world_size)
    shard = sampler.shard(rows)
    model, reference = make_model(np.float64), make_model(np.float64)
    reducer = parallel.GradientReducer(context, model, bucket_bytes=2048, overlap=overlap)
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
            assert got.is_sparse == want.is_sparse, (name, got.is_sparse, want.is_sparse)
            if want.is_sparse:
                # the optimizer's lazy update must see the same rows as one process's
                touched = got.coalesce()._indices().numpy()[0]
                assert np.array_equal(touched, np.unique(want._indices().numpy())), name
            got, want = dense(got), dense(want)
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
            p.data = values(p) + 1.0
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
        p.data = values(p) + np.float32(context.rank)
    dp = parallel.setup_data_parallel(model, optimizer, num_examples=N_EXAMPLES,
                                         batch_size=GLOBAL_BATCH, seed=5, context=context,
                                         bucket_bytes=1024)
    train(model, optimizer, dp.sampler, epochs, dp)

    reference = make_model()
    reference_optimizer = dg.optim.Adam(reference.parameters(), lr=0.05)
    single = parallel.DistributedSampler(N_EXAMPLES, GLOBAL_BATCH, seed=5)
    train(reference, reference_optimizer, single, epochs)

    assert context.check_parameters_in_sync(model), "ranks ended with different weights"
    worst, moved = 0.0, 0.0
    start = make_model()
    for (name, p), q, s in zip(model.named_parameters(), reference.parameters(),
                               start.parameters()):
        np.testing.assert_allclose(values(p), values(q), atol=TRAIN_ATOL, rtol=TRAIN_RTOL,
                                   err_msg=name)
        worst = max(worst, float(np.abs(values(p) - values(q)).max()))
        moved = max(moved, float(np.abs(values(q) - values(s)).max()))
    assert moved > 0.05, "training hardly moved the weights: the check would prove nothing"
    return {"train_max_diff": worst, "train_max_change": moved}




def check_collectives(rank: int, world: int) -> None:
    """torch.distributed's collectives: values, in place, on every rank."""
    x = dg.tensor([rank + 1.0, -2.0 * (rank + 1)])
    assert dist.all_reduce(x) is None
    ranks = np.arange(1, world + 1, dtype=np.float32)
    np.testing.assert_array_equal(x.numpy(), [ranks.sum(), -2 * ranks.sum()])
    for op, want in ((dist.ReduceOp.MAX, [world, -2.0]), (dist.ReduceOp.MIN, [1.0, -2.0 * world]),
                     (dist.ReduceOp.PRODUCT, [np.prod(ranks), np.prod(-2 * ranks)]),
                     (dist.ReduceOp.AVG, [ranks.mean(), -2 * ranks.mean()])):
        y = dg.tensor([rank + 1.0, -2.0 * (rank + 1)], dtype=dg.float64)
        dist.all_reduce(y, op=op)
        np.testing.assert_allclose(y.numpy(), want, rtol=1e-12, err_msg=str(op))
    bits = dg.tensor([1 << rank, 7], dtype=dg.int64)
    dist.all_reduce(bits, op=dist.ReduceOp.BOR)
    assert bits.tolist() == [(1 << world) - 1, 7]
    # a non-contiguous view is reduced in place too
    base = dg.from_numpy(np.arange(6, dtype=np.float64).reshape(2, 3) * (rank + 1))
    view = base.T
    work = dist.all_reduce(view, async_op=True)
    assert work.wait() and work.is_completed()
    np.testing.assert_array_equal(base.numpy(), np.arange(6).reshape(2, 3) * ranks.sum())
    z = dg.full((3,), float(rank))
    dist.broadcast(z, src=world - 1)
    assert z.tolist() == [world - 1.0] * 3
    mine = dg.arange(rank + 1, dtype=dg.float32) + 10 * rank  # uneven sizes
    out = [dg.zeros(r + 1) for r in range(world)]
    dist.all_gather(out, mine)
    for r, t in enumerate(out):
        assert t.tolist() == (np.arange(r + 1) + 10 * r).tolist(), (r, t)
    dist.barrier()


def ddp_step(ddp, data, rows, scale):
    words, casing, suffixes, tags = (a[rows] for a in data)
    scores = ddp(dg.from_numpy(words), dg.from_numpy(casing), dg.from_numpy(suffixes))
    (ddp.module.loss(scores, dg.from_numpy(tags)) * scale).backward()


def check_ddp_gradients(rank: int, world: int) -> dict:
    """DDP's backward leaves one process's full-batch gradients (float64, dense and sparse),
    also after accumulating a micro-batch under no_sync."""
    data = make_data()
    rows = np.arange(GLOBAL_BATCH + 1)  # 13 rows: unequal shards
    sampler = parallel.DistributedSampler(N_EXAMPLES, len(rows), rank=rank, world_size=world)
    shard = sampler.shard(rows)
    model, reference = make_model(np.float64), make_model(np.float64)
    for p in model.parameters():  # each rank starts elsewhere: DDP's broadcast must fix it
        p.data = values(p) + rank
    ddp = DistributedDataParallel(model, bucket_cap_mb=0.002)
    worst = 0.0
    for _ in range(2):
        for p in model.parameters():
            p.grad = None
        ddp_step(ddp, data, shard.rows, shard.loss_scale)
        for p in reference.parameters():
            p.grad = None
        loss_of(reference, data, rows).backward()
        for (name, p), q in zip(model.named_parameters(), reference.parameters()):
            np.testing.assert_allclose(dense(p.grad), dense(q.grad), atol=GRAD_ATOL,
                                       rtol=GRAD_RTOL, err_msg=name)
            worst = max(worst, float(np.abs(dense(p.grad) - dense(q.grad)).max()))
    # no_sync: a first micro-batch accumulates locally; the next backward averages the sum
    later = np.arange(20, 20 + 2 * world)
    first, second = later[rank::world][:1], later[rank::world][1:]
    for p in model.parameters():
        p.grad = None
    stats = ddp.process_group.context.stats
    collectives = stats.collectives
    with ddp.no_sync():
        ddp_step(ddp, data, first, 1.0)
    assert stats.collectives == collectives, "no_sync communicated"
    ddp_step(ddp, data, second, 1.0)
    for p in reference.parameters():
        p.grad = None
    for r in range(world):  # the average over ranks of each rank's summed micro-batches
        loss_of(reference, data, later[r::world][:1], 1.0 / world).backward()
        loss_of(reference, data, later[r::world][1:], 1.0 / world).backward()
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        np.testing.assert_allclose(dense(p.grad), dense(q.grad), atol=GRAD_ATOL, rtol=GRAD_RTOL,
                                   err_msg=f"no_sync {name}")
    return {"ddp_gradient_max_diff": worst}


def check_ddp_training(rank: int, world: int) -> dict:
    """DDP-wrapped training on shards reaches one process's weights (float32, Adam)."""
    data, epochs = make_data(), 2
    model = make_model()
    ddp = DistributedDataParallel(model)
    optimizer = dg.optim.Adam(ddp.parameters(), lr=0.05)
    # 40 examples in batches of 10: every rank has rows at every step, as DDP needs
    sampler = parallel.DistributedSampler(40, 10, seed=5, rank=rank, world_size=world)
    for epoch in range(epochs):
        for shard in sampler.batches(epoch):
            optimizer.zero_grad()
            ddp_step(ddp, data, shard.rows, shard.loss_scale)
            dg.nn.utils.clip_grad_norm_(ddp.parameters(), 1.0)
            optimizer.step()
    reference = make_model()
    reference_optimizer = dg.optim.Adam(reference.parameters(), lr=0.05)
    train(reference, reference_optimizer, parallel.DistributedSampler(40, 10, seed=5), epochs)
    worst = 0.0
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        np.testing.assert_allclose(values(p), values(q), atol=TRAIN_ATOL, rtol=TRAIN_RTOL,
                                   err_msg=name)
        worst = max(worst, float(np.abs(values(p) - values(q)).max()))
    assert list(ddp.state_dict())[0].startswith("module.")
    return {"ddp_train_max_diff": worst}


def check_ddp_unused_parameters(rank: int, world: int) -> None:
    class TwoHeads(dg.nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.unused = dg.nn.Linear(3, 2), dg.nn.Linear(3, 2)

        def forward(self, x):
            return self.used(x)

    x = dg.full((1, 3), float(rank + 1))
    ddp = DistributedDataParallel(TwoHeads(), find_unused_parameters=True)
    ddp(x).sum().backward()
    assert ddp.module.unused.weight.grad is None
    mean = (world + 1) / 2
    np.testing.assert_allclose(ddp.module.used.weight.grad.numpy(), np.full((2, 3), mean))
    strict = DistributedDataParallel(TwoHeads())
    strict(x).sum().backward()  # the unused head's gradient never comes
    try:
        strict(x)
    except RuntimeError as error:
        assert "find_unused_parameters" in str(error) and "unused.weight" in str(error)
    else:
        raise AssertionError("an unfinished reduction went unnoticed")


def check_torch_api(context) -> dict:
    """deltagrad.distributed and DistributedDataParallel, as a PyTorch program uses them."""
    assert not dist.is_initialized()
    dist.init_process_group(backend="gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    assert (rank, world) == (context.rank, context.world_size) and dist.get_backend() == "gloo"
    check_collectives(rank, world)
    found = check_ddp_gradients(rank, world)
    found.update(check_ddp_training(rank, world))
    check_ddp_unused_parameters(rank, world)
    dist.destroy_process_group()
    assert not dist.is_initialized()
    return found


def run_checks() -> None:
    context = parallel.init(timeout=60)
    found = {"world_size": context.world_size}
    check_sampler(context)
    found.update(check_gradients(context, overlap=False))
    found.update(check_gradients(context, overlap=True))
    check_broadcasts(context)
    found.update(check_training(context))
    found.update(check_torch_api(context))
    context.barrier()
    if context.is_main:
        print("OK", json.dumps(found), flush=True)


def run_failure(mode: str, checkpoint: str) -> None:
    """Rank 1 stops at step 3; rank 0 checkpoints after every step (atomically)."""
    context = parallel.init(timeout=2.0)
    model = make_model()
    optimizer = dg.optim.SGD(model.parameters(), lr=0.1)
    dp = parallel.setup_data_parallel(model, optimizer, num_examples=N_EXAMPLES,
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
