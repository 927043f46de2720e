"""deltagrad.distributed and DistributedDataParallel in one process (a world of one, no MPI).

The same API on several ranks is checked under mpiexec by mpi_worker.check_torch_api.
"""

from __future__ import annotations

import inspect
from datetime import timedelta

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.distributed as dist
from deltagrad import parallel
from deltagrad.nn.parallel import DistributedDataParallel

NOT_INITIALIZED = "Default process group has not been initialized"


@pytest.fixture
def world_of_one(monkeypatch):
    for name in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    dist.init_process_group("gloo", init_method="env://", timeout=timedelta(seconds=30))
    try:
        yield
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def test_before_init_process_group_everything_says_so():
    assert dist.is_available() and not dist.is_initialized()
    for call in (dist.get_rank, dist.get_world_size, dist.barrier,
                 lambda: dist.all_reduce(dg.ones(2)),
                 lambda: DistributedDataParallel(dg.nn.Linear(2, 2))):
        with pytest.raises(ValueError, match=NOT_INITIALIZED):
            call()
    with pytest.raises(AssertionError):
        dist.destroy_process_group()


def test_a_world_of_one(world_of_one):
    assert dist.is_initialized()
    assert (dist.get_rank(), dist.get_world_size(), dist.get_backend()) == (0, 1, "gloo")
    with pytest.raises(ValueError, match="twice"):
        dist.init_process_group()
    for op in (dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.MAX, dist.ReduceOp.MIN,
               dist.ReduceOp.PRODUCT):
        x = dg.tensor([1.5, -2.0])
        assert dist.all_reduce(x, op=op) is None
        assert x.tolist() == [1.5, -2.0]
    bits = dg.tensor([6, 3])
    dist.all_reduce(bits, op=dist.ReduceOp.BXOR)
    assert bits.tolist() == [6, 3]
    work = dist.all_reduce(dg.ones(2), async_op=True)
    assert work.wait() and work.is_completed()
    x = dg.tensor([1.0, 2.0], requires_grad=True)  # allowed, as in PyTorch: autograd ignores it
    dist.broadcast(x, src=0)
    out = [dg.zeros(2)]
    dist.all_gather(out, dg.tensor([3.0, 4.0]))
    assert out[0].tolist() == [3.0, 4.0]
    dist.barrier()
    dist.destroy_process_group()
    assert not dist.is_initialized()


def test_bad_collective_arguments_raise_as_pytorch_does(world_of_one):
    x = dg.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="BAND"):
        dist.all_reduce(x, op=dist.ReduceOp.BAND)
    with pytest.raises(RuntimeError, match="AVG"):
        dist.all_reduce(dg.tensor([1, 2]), op=dist.ReduceOp.AVG)
    with pytest.raises(TypeError):
        dist.all_reduce(x, op="sum")
    with pytest.raises(TypeError):
        dist.all_reduce([1.0, 2.0])
    with pytest.raises(ValueError, match="Must specify"):
        dist.broadcast(x)
    with pytest.raises(RuntimeError, match="root rank"):
        dist.broadcast(x, src=1)
    with pytest.raises(RuntimeError, match="length"):
        dist.all_gather([dg.zeros(2), dg.zeros(2)], x)
    with pytest.raises(RuntimeError, match="size"):
        dist.all_gather([dg.zeros(3)], x)
    with pytest.raises(ValueError, match="dtypes"):
        dist.all_gather([dg.zeros(2, dtype=dg.float64)], x)


def test_init_process_group_arguments(monkeypatch):
    for name in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="mpiexec -n 2"):
        dist.init_process_group("gloo", world_size=2, rank=0)
    monkeypatch.setenv("WORLD_SIZE", "3")  # as torchrun would set it
    with pytest.raises(RuntimeError, match="mpiexec -n 3"):
        dist.init_process_group()
    monkeypatch.delenv("WORLD_SIZE")
    with pytest.raises(ValueError, match="rank 0 of 1"):
        dist.init_process_group(world_size=1, rank=1)
    with pytest.raises(RuntimeError, match="NCCL"):
        dist.init_process_group("nccl")
    with pytest.raises(AssertionError, match="Unknown backend"):
        dist.init_process_group("carrier-pigeon")
    with pytest.raises(AssertionError, match="store"):  # (PyTorch's: world_size not given)
        dist.init_process_group(store=object())
    assert not dist.is_initialized()
    dist.init_process_group(world_size=1, rank=0)
    dist.destroy_process_group()


def test_ddp_in_a_world_of_one_is_the_module(world_of_one):
    dg.manual_seed(0)
    module = dg.nn.Sequential(dg.nn.Embedding(5, 3, sparse=True), dg.nn.Linear(3, 2))
    twin = dg.nn.Sequential(dg.nn.Embedding(5, 3, sparse=True), dg.nn.Linear(3, 2))
    twin.load_state_dict(module.state_dict())
    ddp = DistributedDataParallel(module)
    assert ddp.module is module and ddp._reducer is None
    assert list(ddp.state_dict()) == [f"module.{k}" for k in module.state_dict()]
    assert repr(ddp).startswith("DistributedDataParallel(\n  (module): Sequential(")
    ids = dg.tensor([[1, 2], [2, 4]])
    out = ddp(ids)
    np.testing.assert_array_equal(out.detach().numpy(), twin(ids).detach().numpy())
    out.sum().backward()
    twin(ids).sum().backward()
    for p, q in zip(module.parameters(), twin.parameters()):
        assert p.grad.is_sparse == q.grad.is_sparse
        dense = [(g.to_dense() if g.is_sparse else g).numpy() for g in (p.grad, q.grad)]
        np.testing.assert_array_equal(*dense)
    with ddp.no_sync():
        assert not ddp.require_backward_grad_sync
    assert ddp.require_backward_grad_sync
    with pytest.raises(ValueError, match="device_ids"):
        DistributedDataParallel(module, device_ids=[0])


def test_the_api_has_pytorch_names_and_defaults():
    torch_dist = pytest.importorskip("torch.distributed")
    from torch.nn.parallel import DistributedDataParallel as TorchDDP

    for op in dist.ReduceOp:
        assert int(getattr(torch_dist.ReduceOp, op.name)) == op.value, op
    for name in ("init_process_group", "destroy_process_group", "get_rank", "get_world_size",
                 "barrier", "all_reduce", "broadcast", "all_gather", "is_initialized",
                 "is_available", "get_backend"):
        ours = inspect.signature(getattr(dist, name)).parameters
        theirs = inspect.signature(getattr(torch_dist, name)).parameters
        assert list(ours) == [p for p in theirs if p in ours and not p.startswith("_")], name
        for parameter in ours.values():
            default = theirs[parameter.name].default
            if parameter.name not in ("op", "group"):  # enum members; GroupMember.WORLD is None
                assert parameter.default == default, (name, parameter.name)
    ours = inspect.signature(DistributedDataParallel).parameters
    theirs = inspect.signature(TorchDDP).parameters
    assert [p for p in theirs if p in ours] == list(ours)
    for parameter in ours.values():
        if parameter.name != "broadcast_buffers":  # PyTorch's None means True
            assert parameter.default == theirs[parameter.name].default, parameter.name


def test_single_process_is_a_no_op():
    dp = parallel.SingleProcess()
    assert (dp.rank, dp.world_size, dp.is_main) == (0, 1, True)
    loss = dg.tensor(2.0, requires_grad=True)
    assert dp.prepare(dg.nn.Linear(2, 2), num_examples=3, batch_size=2) is dp
    assert dp.bounds(7) == (0, 7) and dp.scale_loss(loss, 3, 7) is loss
    state = dg.get_rng_state()
    dp.seed_step(1, 2)
    dp.reduce_gradients()
    assert dg.equal(dg.get_rng_state(), state)  # draws continue from the one stream
    values = [1.5, 3]
    total = dp.reduce_sum(values)
    assert total.tolist() == [1.5, 3.0] and total is not values
