"""The program test_collectives_mpi.py runs under ``mpiexec``: deltagrad.distributed's
collectives, messages and groups, each result checked on every rank.

    mpiexec -n N python tests/distributed/collectives_worker.py check
    mpiexec -n 2 python tests/distributed/collectives_worker.py hang

``check`` has rank 0 print ``OK``; ``hang`` has rank 1 skip a monitored_barrier (timeout 1 s).
"""

from __future__ import annotations

import sys
import time
import warnings
from datetime import timedelta

import numpy as np

import deltagrad as dg
from deltagrad import distributed as dist


def values(tensor) -> np.ndarray:
    return tensor.detach().numpy()


def expect_error(kind, call, match: str) -> None:
    try:
        call()
    except kind as error:
        assert match in str(error), (match, str(error))
    else:
        raise AssertionError(f"no {kind.__name__} ({match})")


def check_reduce(rank: int, world: int) -> None:
    ranks = np.arange(world, dtype=np.float64)
    for dst in range(world):
        x = dg.tensor([rank + 1.0, -2.0 * rank])
        assert dist.reduce(x, dst=dst) is None
        want = [ranks.sum() + world, -2 * ranks.sum()] if rank == dst else [rank + 1.0,
                                                                             -2.0 * rank]
        np.testing.assert_allclose(values(x), want)
    x = dg.tensor([[rank + 1.0, 2.0], [3.0, rank]]).t()  # a non-contiguous view
    dist.reduce(x, dst=world - 1, op=dist.ReduceOp.MAX)
    if rank == world - 1:
        np.testing.assert_array_equal(values(x), [[world, 3.0], [2.0, world - 1]])
    y = dg.tensor([float(rank + 2)])
    work = dist.reduce(y, group_dst=0, op=dist.ReduceOp.PRODUCT, async_op=True)
    assert work.wait() and work.is_completed()
    if rank == 0:
        assert values(y).tolist() == [float(np.prod(ranks + 2))]
    z = dg.tensor([1.0, 3.0])
    dist.reduce(z, dst=0, op=dist.ReduceOp.AVG)
    assert values(z).tolist() == [1.0, 3.0]
    bits = dg.tensor([1 << rank])
    dist.reduce(bits, dst=0, op=dist.ReduceOp.BOR)
    if rank == 0:
        assert values(bits).tolist() == [(1 << world) - 1]
    # a shape that differs on one rank raises on every rank (no hang)
    expect_error(RuntimeError, lambda: dist.reduce(dg.zeros(2 if rank else 3), dst=0), "differ")


def check_gather_scatter(rank: int, world: int) -> None:
    mine = dg.tensor([[rank, rank * 10]], dtype=dg.int64)
    for dst in range(world):
        out = [dg.zeros(1, 2, dtype=dg.int64) for _ in range(world)] if rank == dst else None
        dist.gather(mine, out, dst=dst)
        if rank == dst:
            for r in range(world):
                assert values(out[r]).tolist() == [[r, r * 10]]
    out = [dg.zeros(1, 2, dtype=dg.int64) for _ in range(world)] if rank == 0 else None
    dist.gather(mine, out)  # dst defaults to 0
    if rank == 0:
        assert [values(o)[0, 0] for o in out] == list(range(world))
    # gather_list on a non-destination rank: ValueError there, RuntimeError elsewhere
    bad = [dg.zeros(1, 2, dtype=dg.int64) for _ in range(world)]
    kind = ValueError if rank == 1 else RuntimeError
    expect_error(kind, lambda: dist.gather(mine, bad if rank in (0, 1) else None, dst=0),
                 "gather_list")
    wrong = [dg.zeros(2, 1, dtype=dg.int64) for _ in range(world)] if rank == 0 else None
    expect_error(RuntimeError, lambda: dist.gather(mine, wrong, dst=0), "shape")

    for src in range(world):
        parts = ([dg.tensor([float(r), src + 0.5]) for r in range(world)]
                 if rank == src else None)
        got = dg.zeros(2)
        assert dist.scatter(got, parts, src=src) is None
        assert values(got).tolist() == [float(rank), src + 0.5]
    flags = [dg.tensor([r % 2 == 0, True]) for r in range(world)] if rank == 0 else None
    got = dg.tensor([False, False])
    dist.scatter(got, flags, src=0, async_op=True).wait()
    assert values(got).tolist() == [rank % 2 == 0, True]
    expect_error(ValueError if rank == 0 else RuntimeError,
                 lambda: dist.scatter(dg.zeros(2), None, src=0), "scatter_list")


def check_reduce_scatter_all_to_all(rank: int, world: int) -> None:
    inputs = [dg.tensor([rank * 100.0 + r, 1.0]) for r in range(world)]
    out = dg.zeros(2)
    dist.reduce_scatter(out, inputs)
    total = sum(q * 100.0 for q in range(world))
    assert values(out).tolist() == [total + world * rank, float(world)]
    dist.reduce_scatter(out, inputs, op=dist.ReduceOp.MIN)
    assert values(out).tolist() == [float(rank), 1.0]
    dist.reduce_scatter(out, inputs, op=dist.ReduceOp.AVG)
    assert np.allclose(values(out), [(total + world * rank) / world, 1.0])
    expect_error(RuntimeError, lambda: dist.reduce_scatter(dg.zeros(3), [dg.zeros(2)] * world),
                 "shape")

    # rank i sends j a tensor of j + 1 rows and i + 1 columns
    inputs = [dg.full((j + 1, rank + 1), float(10 * rank + j)) for j in range(world)]
    outputs = [dg.zeros(rank + 1, i + 1) for i in range(world)]
    dist.all_to_all(outputs, inputs)
    for i in range(world):
        np.testing.assert_array_equal(values(outputs[i]), np.full((rank + 1, i + 1),
                                                                  10.0 * i + rank))
    inputs = [dg.tensor([rank, j], dtype=dg.int32) for j in range(world)]
    outputs = [dg.zeros(2, dtype=dg.int32) for _ in range(world)]
    dist.all_to_all(outputs, inputs, async_op=True).wait()
    assert [values(o).tolist() for o in outputs] == [[i, rank] for i in range(world)]
    outputs = [dg.zeros(3, dtype=dg.int32) for _ in range(world)]
    expect_error(RuntimeError, lambda: dist.all_to_all(outputs, inputs), "shape")


def check_objects(rank: int, world: int) -> None:
    gathered = [None] * world
    dist.all_gather_object(gathered, {"rank": rank, "name": f"r{rank}", "list": [rank] * rank})
    assert gathered == [{"rank": r, "name": f"r{r}", "list": [r] * r} for r in range(world)]
    objects = ([{"a": 1}, "text", (world, 2.5)] if rank == world - 1 else [None, None, None])
    dist.broadcast_object_list(objects, src=world - 1)
    assert objects == [{"a": 1}, "text", (world, 2.5)]
    objects = ["mine"] if rank == 0 else [None]
    dist.broadcast_object_list(objects)  # src defaults to 0
    assert objects == ["mine"]


def check_point_to_point(rank: int, world: int) -> None:
    right, left = (rank + 1) % world, (rank - 1) % world
    sent = dg.tensor([rank, rank * 2.0])
    got = dg.zeros(2)
    send = dist.isend(sent, dst=right, tag=3)
    receive = dist.irecv(got, src=left, tag=3)
    sent.detach().numpy()[:] = -1  # isend sent the values of the time of the call
    assert receive.wait() and send.wait()
    assert receive.is_completed() and send.is_completed()
    assert values(got).tolist() == [left, left * 2.0]
    if rank == 0:
        for _ in range(world - 1):
            got = dg.zeros(3, dtype=dg.int64)
            sender = dist.recv(got)  # any source
            assert values(got).tolist() == [sender] * 3
    else:
        dist.send(dg.full((3,), rank, dtype=dg.int64), dst=0)
    expect_error(ValueError, lambda: dist.send(sent, dst=rank), "should not be the same")
    expect_error(ValueError, lambda: dist.send(sent), "Must specify")
    if rank == 0:  # a message of the wrong size
        dist.send(dg.zeros(5), dst=1, tag=9)
    elif rank == 1:
        expect_error(RuntimeError, lambda: dist.recv(dg.zeros(4), src=0, tag=9), "more bytes")
    dist.barrier()


def check_groups(rank: int, world: int) -> None:
    assert dist.group.WORLD is dist.GroupMember.WORLD is not None
    assert dist.get_world_size(dist.group.WORLD) == world
    evens = [r for r in range(world) if r % 2 == 0]
    pair = dist.new_group([world - 1, 0])  # sorted: group rank 0 is global rank 0
    odd = dist.new_group(evens)
    if rank in (0, world - 1):
        assert dist.get_process_group_ranks(pair) == [0, world - 1]
        assert dist.get_rank(pair) == (0 if rank == 0 else 1) and dist.get_world_size(pair) == 2
        x = dg.tensor([float(rank + 1)])
        dist.all_reduce(x, group=pair)
        assert values(x).tolist() == [float(world + 1)]
        y = dg.tensor([float(rank)])
        dist.broadcast(y, src=world - 1, group=pair)
        assert values(y).tolist() == [float(world - 1)]
        z = dg.tensor([float(rank)])
        dist.broadcast(z, group_src=0, group=pair)
        assert values(z).tolist() == [0.0]
        out = [dg.zeros(1), dg.zeros(1)]
        dist.all_gather(out, dg.tensor([float(rank)]), group=pair)
        assert [values(o).tolist() for o in out] == [[0.0], [float(world - 1)]]
        got = dg.zeros(1)
        if rank == 0:
            dist.send(dg.tensor([7.0]), dst=world - 1, group=pair)
        else:
            assert dist.recv(got, group=pair) == 0 and values(got).tolist() == [7.0]
        objects = [None, None]
        dist.all_gather_object(objects, rank, group=pair)
        assert objects == [0, world - 1]
        if world > 2:  # global rank 1 is not in the pair
            expect_error(ValueError, lambda: dist.broadcast(dg.zeros(1), src=1, group=pair),
                         "not part of group")
        dist.barrier(group=pair)
    else:
        assert pair is dist.GroupMember.NON_GROUP_MEMBER
        assert dist.get_rank(pair) == -1 and dist.get_world_size(pair) == -1
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            x = dg.tensor([5.0])
            assert dist.all_reduce(x, group=pair) is None and values(x).tolist() == [5.0]
        assert "does not belong to the given group" in str(caught[0].message)
    if rank in evens:
        sums = [dg.zeros(1) for _ in evens]
        dist.gather(dg.tensor([float(rank)]), sums if rank == 0 else None, dst=0, group=odd)
        if rank == 0:
            assert [values(s)[0] for s in sums] == [float(r) for r in evens]
        dist.monitored_barrier(group=odd, timeout=timedelta(seconds=30))
        dist.destroy_process_group(odd)
    else:
        assert odd is dist.GroupMember.NON_GROUP_MEMBER
    if rank in (0, world - 1):
        dist.destroy_process_group(pair)
        expect_error(ValueError, lambda: dist.all_reduce(dg.zeros(1), group=pair), "Invalid")
    reverse = dist.new_group(list(range(world))[::-1], sort_ranks=False)
    assert dist.get_rank(reverse) == world - 1 - rank
    x = dg.tensor([float(rank)])
    dist.broadcast(x, src=0, group=reverse)  # global rank 0 = group rank world - 1
    assert values(x).tolist() == [0.0]


def run_checks() -> None:
    dist.init_process_group("gloo", timeout=timedelta(seconds=60))
    rank, world = dist.get_rank(), dist.get_world_size()
    check_reduce(rank, world)
    check_gather_scatter(rank, world)
    check_reduce_scatter_all_to_all(rank, world)
    check_objects(rank, world)
    check_point_to_point(rank, world)
    check_groups(rank, world)
    dist.monitored_barrier(timeout=timedelta(seconds=30))
    dist.destroy_process_group()  # with the groups still open
    if rank == 0:
        print("OK", flush=True)


def run_hang() -> None:
    dist.init_process_group("gloo", timeout=timedelta(seconds=60))
    if dist.get_rank() == 1:
        time.sleep(30)  # never reaches the barrier in time
    dist.monitored_barrier(timeout=timedelta(seconds=1))
    print("finished without noticing the missing rank", flush=True)


if __name__ == "__main__":
    run_checks() if sys.argv[1] == "check" else run_hang()
