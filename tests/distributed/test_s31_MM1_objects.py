"""torch.distributed's gather_object / scatter_object_list / send_object_list /
recv_object_list (s31 MM1): in a world of one against PyTorch's gloo world of one, and under
``mpiexec -n 2`` (s31_MM1_objects_worker.py checks every rank)."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from test_distributed_mpi import _environment, _mpiexec

import deltagrad.distributed as dist

WORKER = Path(__file__).with_name("s31_MM1_objects_worker.py")


def _cases(module):
    def gather():
        out = [None]
        module.gather_object({"a": [1, 2]}, out, dst=0)
        return out

    def scatter():
        out = [None, "kept"]
        module.scatter_object_list(out, [("x", 1)], src=0)
        return out

    def outcome(call):
        try:
            return ("value", call())
        except Exception as error:  # noqa: BLE001 - the outcome is compared
            return (type(error).__name__, str(error))

    return {
        "gather": outcome(gather),
        "gather_no_list": outcome(lambda: module.gather_object(1, None, dst=0)),
        "scatter": outcome(scatter),
        "scatter_empty_output": outcome(lambda: module.scatter_object_list([], [1])),
        "scatter_not_list": outcome(lambda: module.scatter_object_list((None,), [1])),
    }


def test_object_collectives_in_a_world_of_one_as_pytorch(monkeypatch):
    torch = pytest.importorskip("torch")
    for name in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    real = torch.distributed
    real.init_process_group("gloo", store=real.HashStore(), rank=0, world_size=1)
    try:
        expected = _cases(real)
    finally:
        real.destroy_process_group()
    dist.init_process_group("gloo", timeout=timedelta(seconds=30))
    try:
        got = _cases(dist)
    finally:
        dist.destroy_process_group()
    assert got == expected


def test_object_collectives_under_mpiexec():
    command = _mpiexec(2)[:-1] + [str(WORKER)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180,
                            env=_environment(), stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert sorted(line for line in result.stdout.split("\n") if line.startswith("ok")) == [
        "ok 0", "ok 1"]


def _elastic_run(module, folder, monkeypatch, fail: str):
    path = folder / f"error_{module.__name__.split('.')[0]}.json"
    monkeypatch.setenv("TORCHELASTIC_ERROR_FILE", str(path))

    @module.record
    def main(value):
        if fail == "raise":
            raise KeyError(value)
        if fail == "exit0":
            raise SystemExit(0)
        if fail == "exit1":
            raise SystemExit(1)
        return value * 2

    try:
        outcome = ("value", main(21))
    except BaseException as error:  # noqa: BLE001 - SystemExit included
        outcome = (type(error).__name__, str(error))
    written = None
    if path.exists():
        written = __import__("json").loads(path.read_text())["message"]["message"]
    return outcome, written, main.__name__


@pytest.mark.parametrize("fail", ["none", "raise", "exit0", "exit1"])
def test_elastic_record_as_pytorch(fail, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    import importlib

    real = importlib.import_module("torch.distributed.elastic.multiprocessing.errors")
    ours = importlib.import_module("deltagrad.distributed.elastic.multiprocessing.errors")
    assert set(real.__all__) <= set(dir(ours))
    assert _elastic_run(ours, tmp_path, monkeypatch, fail) == _elastic_run(
        real, tmp_path, monkeypatch, fail)


def _queries(module, monkeypatch):
    def outcome(call):
        try:
            value = call()
            return ("value", str(value) if type(value).__name__ == "DebugLevel" else value)
        except Exception as error:  # noqa: BLE001 - the outcome is compared
            return (type(error).__name__, str(error))

    out = {"level": outcome(module.get_debug_level), "members": list(module.DebugLevel.__members__),
           "timeout": module.default_pg_timeout}
    for value in ("detail", "INFO", "bogus"):
        monkeypatch.setenv("TORCH_DISTRIBUTED_DEBUG", value)
        out[f"env_{value}"] = (outcome(module.set_debug_level_from_env),
                               outcome(module.get_debug_level))
    module.set_debug_level(module.DebugLevel.OFF)
    for device in ("cpu", "cuda", "cuda:1", "xla"):
        out[f"backend_{device}"] = outcome(
            lambda device=device: module.get_default_backend_for_device(device))
    for backend in ("gloo", "nccl", "ucc", "foo"):
        out[f"available_{backend}"] = module.is_backend_available(backend)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    out["local_none"] = outcome(module.get_node_local_rank)
    out["local_fallback"] = outcome(lambda: module.get_node_local_rank(fallback_rank=3))
    monkeypatch.setenv("LOCAL_RANK", "2")
    out["local_env"] = outcome(lambda: module.get_node_local_rank(fallback_rank=3))
    out["p2p_bad_op"] = outcome(lambda: module.P2POp(module.all_reduce, None, 0))
    out["batch_empty"] = outcome(lambda: module.batch_isend_irecv([]))
    out["batch_not_op"] = outcome(lambda: module.batch_isend_irecv([1]))
    return out


def test_distributed_queries_as_pytorch(monkeypatch):
    torch = pytest.importorskip("torch")
    assert _queries(dist, monkeypatch) == _queries(torch.distributed, monkeypatch)


def test_distributed_c10d_module(monkeypatch):
    torch = pytest.importorskip("torch")
    import deltagrad.distributed.distributed_c10d as ours

    real = torch.distributed.distributed_c10d
    offered = set(real.__all__) & set(dir(dist))  # (what deltagrad.distributed has of it)
    assert len(offered) > 40 and offered <= set(dir(ours)), offered - set(dir(ours))
    assert ours.ProcessGroup is dist.ProcessGroup and ours.PrefixStore is dist.PrefixStore
    assert dist.distributed_c10d is ours
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        ours._get_default_group()
    for name in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    dist.init_process_group("gloo", timeout=timedelta(seconds=30))
    try:
        assert ours._get_default_group() is dist.group.WORLD
    finally:
        dist.destroy_process_group()
