"""``torch.distributed.nn`` (differentiable collectives): a world of one against PyTorch's
rules, errors, and two MPI ranks against the closed forms (s8_T2_dnn_worker.py)."""

from __future__ import annotations

import subprocess
import warnings
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from test_distributed_mpi import _environment, _mpiexec

import deltagrad as dg
import deltagrad.distributed as dist
from deltagrad.distributed import nn as dist_nn

WORKER = Path(__file__).with_name("s8_T2_dnn_worker.py")


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


def test_world_of_one(world_of_one):
    x = dg.arange(6.0).reshape(2, 3).requires_grad_()
    with pytest.warns(FutureWarning, match="distributed.nn.functional.all_reduce is deprecated"):
        out = dist_nn.all_reduce(x * 2)
    (out * dg.arange(6.0).reshape(2, 3)).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), 2 * np.arange(6.0).reshape(2, 3))
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.arange(6.0).reshape(2, 3))
    assert out is not x and x.grad is not None
    x.grad = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        (part,) = dist_nn.all_gather(x)
        (part ** 2).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy())
        out = dist_nn.all_reduce(x, op=dist.ReduceOp.MAX)
        with pytest.raises(NotImplementedError, match="MAX"):
            out.sum().backward()


def test_needs_a_process_group():
    x = dg.ones(2, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            dist_nn.all_reduce(x)


def test_two_ranks_match_the_closed_forms():
    command = _mpiexec(2)[:-1] + [str(WORKER)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                            env=_environment(), stdin=subprocess.DEVNULL)
    assert result.returncode == 0 and result.stdout.count("OK") == 2, (
        result.stdout + result.stderr)
