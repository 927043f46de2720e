"""`mpiexec -n 2 deltagrad ner train --distributed` trains to one process's weights."""

import subprocess
import sys

import numpy as np
from test_distributed_mpi import _environment, _mpiexec

import deltagrad as dg
from deltagrad.cli import main
from deltagrad.ner.conll import load_default, write_conll


def test_two_ranks_train_the_ner_model_like_one_process(tmp_path):
    command = _mpiexec(2)[:-2]  # mpiexec and its flags, without the worker script
    write_conll(load_default("train")[:200], tmp_path / "train.txt")
    write_conll(load_default("dev")[:40], tmp_path / "dev.txt")
    args = ["-m", "deltagrad", "ner", "train", "--train", str(tmp_path / "train.txt"),
            "--dev", str(tmp_path / "dev.txt"), "--vectors", "none", "--epochs", "2",
            "--hidden", "16", "--casing-dim", "2", "--suffix-dim", "2", "--word-dim", "6",
            "--batch-size", "64", "--dropout", "0", "--word-dropout", "0", "--optimizer", "sgd",
            "--lr", "0.1", "--schedule", "none", "--seed", "4", "--no-progress"]
    # The one-process reference runs in this process (TT3 s24: a Python start and its imports
    # fewer, ~2 CPU s; the same CLI, and the comparison below allows float32 summation order).
    assert main(args[2:] + ["--out", str(tmp_path / "one")]) == 0
    two = subprocess.run([*command, sys.executable, *args, "--distributed", "--out",
                          str(tmp_path / "two")], capture_output=True, text=True, timeout=300,
                         env=_environment(), stdin=subprocess.DEVNULL)
    assert two.returncode == 0, two.stdout + two.stderr
    assert "data-parallel over 2 MPI processes" in two.stdout
    # Only rank 0 logs: one line for each of the ensemble's two members.
    assert two.stdout.count("best epoch") == 2
    assert two.stdout.count("ensemble of 2") == 1
    a = dg.load(tmp_path / "one" / "weights.safetensors")
    b = dg.load(tmp_path / "two" / "weights.safetensors")
    for key in a:
        # Same global batches and seed: equal up to the order of float32 summation.
        np.testing.assert_allclose(b[key].data, a[key].data, rtol=1e-4, atol=1e-5,
                                   err_msg=key)
