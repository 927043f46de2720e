"""deltagrad.distributed's collectives, messages and groups: in a world of one (no MPI), and
under ``mpiexec -n 2`` and ``-n 3`` (collectives_worker.py checks every rank's results)."""

from __future__ import annotations

import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from test_distributed_mpi import _environment, _mpiexec

import deltagrad as dg
import deltagrad.distributed as dist

WORKER = Path(__file__).with_name("collectives_worker.py")
NOT_INITIALIZED = "Default process group has not been initialized"


@pytest.fixture
def world_of_one(monkeypatch):
    for name in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    dist.init_process_group("gloo", timeout=timedelta(seconds=30))
    try:
        yield
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def test_names_that_need_no_process_group():
    assert (dist.Backend.GLOO, dist.Backend.MPI, dist.Backend.NCCL) == ("gloo", "mpi", "nccl")
    assert dist.Backend("GLOO") == "gloo" and isinstance(dist.Backend("x"), str)
    with pytest.raises(ValueError):
        dist.Backend(3)
    assert dist.is_nccl_available() is False
    assert dist.group.WORLD is None and dist.GroupMember.WORLD is None
    assert dist.GroupMember.NON_GROUP_MEMBER == -100


def test_before_init_process_group_the_new_collectives_say_so():
    x = dg.ones(2)
    for call in (lambda: dist.reduce(x, dst=0), lambda: dist.gather(x),
                 lambda: dist.scatter(x), lambda: dist.reduce_scatter(x, [x]),
                 lambda: dist.all_to_all([x], [x]), lambda: dist.all_gather_object([None], 1),
                 lambda: dist.broadcast_object_list([1]), lambda: dist.send(x, dst=0),
                 lambda: dist.recv(x, src=0), lambda: dist.isend(x, dst=0),
                 lambda: dist.irecv(x, src=0), dist.monitored_barrier, dist.new_group):
        with pytest.raises(ValueError, match=NOT_INITIALIZED):
            call()


def test_collectives_in_a_world_of_one(world_of_one):
    assert dist.group.WORLD is dist.GroupMember.WORLD is not None
    assert dist.get_backend() == dist.Backend.GLOO
    x = dg.tensor([1.5, -2.0])
    assert dist.reduce(x, dst=0, op=dist.ReduceOp.MAX) is None and x.tolist() == [1.5, -2.0]
    out = [dg.zeros(2)]
    assert dist.gather(x, out) is None and out[0].tolist() == [1.5, -2.0]
    got = dg.zeros(2, 2).t()  # a non-contiguous destination
    dist.scatter(got, [dg.tensor([[1.0, 2.0], [3.0, 4.0]])], src=0)
    assert got.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    dist.reduce_scatter(out[0], [dg.tensor([5.0, 6.0])], op=dist.ReduceOp.AVG)
    assert out[0].tolist() == [5.0, 6.0]
    ints = [dg.zeros(3, dtype=dg.int64)]
    work = dist.all_to_all(ints, [dg.tensor([1, 2, 3])], async_op=True)
    assert work.wait() and work.is_completed() and ints[0].tolist() == [1, 2, 3]
    obj = {"a": [1, 2]}
    gathered = [None]
    dist.all_gather_object(gathered, obj)
    assert gathered == [obj] and gathered[0] is not obj  # pickled, as in PyTorch
    objects = ["x", 2]
    dist.broadcast_object_list(objects, src=0)
    assert objects == ["x", 2]
    dist.monitored_barrier(timeout=timedelta(seconds=5), wait_all_ranks=True)
    whole = dist.new_group()
    assert dist.get_process_group_ranks(whole) == [0] and dist.get_rank(whole) == 0
    dist.all_reduce(x, group=whole)
    dist.destroy_process_group(whole)
    with pytest.raises(ValueError, match="Invalid process group"):
        dist.all_reduce(x, group=whole)
    assert dist.new_group([]) is dist.GroupMember.NON_GROUP_MEMBER


def test_bad_arguments_raise_as_pytorch_does(world_of_one):
    x = dg.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match="Must specify"):
        dist.reduce(x)
    with pytest.raises(ValueError, match="both"):
        dist.reduce(x, dst=0, group_dst=0)
    with pytest.raises(RuntimeError, match="root rank"):
        dist.reduce(x, dst=1)
    with pytest.raises(RuntimeError, match="BAND"):
        dist.reduce(x, dst=0, op=dist.ReduceOp.BAND)
    with pytest.raises(ValueError, match="must be specified on destination"):
        dist.gather(x, None, dst=0)
    with pytest.raises(ValueError, match="must be specified on source"):
        dist.scatter(x, None, src=0)
    with pytest.raises(RuntimeError, match="shape"):
        dist.gather(x, [dg.zeros(3)])
    with pytest.raises(RuntimeError, match="shape"):
        dist.scatter(x, [dg.zeros(2, 1)])
    with pytest.raises(ValueError, match="dtypes"):
        dist.gather(x, [dg.zeros(2, dtype=dg.float64)])
    with pytest.raises(ValueError, match="one Tensor per process"):
        dist.reduce_scatter(x, [x, x])
    with pytest.raises(RuntimeError, match="shape"):
        dist.reduce_scatter(x, [dg.zeros(3)])
    with pytest.raises(TypeError):
        dist.all_to_all([x], [[1.0, 2.0]])
    with pytest.raises(RuntimeError, match="shape"):
        dist.all_to_all([dg.zeros(3)], [x])
    with pytest.raises(ValueError, match="should not be the same"):
        dist.send(x, dst=0)
    with pytest.raises(ValueError, match="not part of group"):
        dist.isend(x, dst=1)
    with pytest.raises(RuntimeError, match="wait forever"):
        dist.irecv(x)
    with pytest.raises(IndexError):
        dist.all_gather_object([], 1)
    with pytest.raises(ValueError, match="not in the world"):
        dist.new_group([0, 1])
    with pytest.raises(RuntimeError, match="GPUs"):
        dist.new_group(backend="nccl")


def test_the_new_names_have_pytorch_signatures():
    import inspect

    torch_dist = pytest.importorskip("torch.distributed")
    for name in ("reduce", "gather", "scatter", "reduce_scatter", "all_to_all",
                 "all_gather_object", "broadcast_object_list", "send", "recv", "isend", "irecv",
                 "monitored_barrier", "new_group", "is_nccl_available"):
        ours = inspect.signature(getattr(dist, name)).parameters
        theirs = inspect.signature(getattr(torch_dist, name)).parameters
        assert list(ours) == list(theirs), name
        for parameter in ours.values():
            if parameter.name not in ("op", "group"):  # enum members; GroupMember.WORLD
                assert parameter.default == theirs[parameter.name].default, (name, parameter)
    for name in ("GLOO", "MPI", "NCCL", "UCC", "UNDEFINED", "XCCL"):
        assert getattr(dist.Backend, name) == getattr(torch_dist.Backend, name)
    assert dist.GroupMember.NON_GROUP_MEMBER == torch_dist.GroupMember.NON_GROUP_MEMBER


@pytest.mark.parametrize("world_size", [2, 3])
def test_every_rank_gets_pytorchs_results(world_size):
    command = _mpiexec(world_size)[:-1] + [str(WORKER), "check"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                            env=_environment(), stdin=subprocess.DEVNULL)
    assert result.returncode == 0 and "OK" in result.stdout, result.stdout + result.stderr


def test_a_missing_rank_ends_a_monitored_barrier():
    command = _mpiexec(2)[:-1] + [str(WORKER), "hang"]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                            env=_environment(), stdin=subprocess.DEVNULL)
    output = result.stdout + result.stderr
    assert "finished without noticing" not in output
    assert result.returncode == 75, output
    assert "barrier did not complete within 1 s" in output and "rank 0 of 2" in output, output
    assert time.monotonic() - started < 25
