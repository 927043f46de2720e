"""Crash-safe training: kill at any moment, resume, and end with the uninterrupted weights."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.ner.config import TrainConfig
from deltagrad.ner.conll import load_default, write_conll
from deltagrad.ner.training import TrainingInterrupted, train

pytest.importorskip("seqeval")
pytest.importorskip("safetensors")


@pytest.fixture(scope="module")
def data():
    return load_default("train")[:160], load_default("dev")[:40]


def small_config(out, **changes):
    base = dict(vectors="none", epochs=3, hidden=16, casing_dim=2, suffix_dim=2, word_dim=6,
                batch_size=32, checkpoint_every=4, patience=10, seed=11, out=str(out),
                ensemble=1)
    base.update(changes)
    return TrainConfig(**base)


def weights(directory):
    return {k: v.data for k, v in dg.load(directory / "weights.safetensors").items()}


def quiet(_):
    pass


@pytest.fixture(scope="module")
def uninterrupted(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("whole")
    train(small_config(out), progress=False, log=quiet, train_sentences=data[0],
          dev_sentences=data[1])
    return weights(out)


@pytest.mark.parametrize("kill_after", [1, 6, 19, 80, 150])
def test_resume_after_interruption_is_bit_identical(data, uninterrupted, tmp_path, kill_after):
    config = small_config(tmp_path)
    with pytest.raises(TrainingInterrupted):
        train(config, progress=False, log=quiet, train_sentences=data[0], dev_sentences=data[1],
              stop_after_steps=kill_after)
    train(config, progress=False, log=quiet, train_sentences=data[0], dev_sentences=data[1],
          resume=kill_after >= config.checkpoint_every)  # before the first checkpoint: restart
    resumed = weights(tmp_path)
    assert resumed.keys() == uninterrupted.keys()
    for key in resumed:
        np.testing.assert_array_equal(resumed[key], uninterrupted[key], err_msg=key)


def test_crf_run_resumes_bit_identically(data, tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    kwargs = dict(progress=False, log=quiet, train_sentences=data[0], dev_sentences=data[1])
    train(small_config(whole, loss="crf", epochs=2), **kwargs)
    config = small_config(killed, loss="crf", epochs=2)
    with pytest.raises(TrainingInterrupted):
        train(config, stop_after_steps=10, **kwargs)
    train(config, resume=True, **kwargs)
    a, b = weights(whole), weights(killed)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


# Soak only: test_resume_after_interruption_is_bit_identical[1] makes the same check by default
# (stopped at step 1, before the first checkpoint, its run restarts from scratch with the same
# seed and must equal `uninterrupted` bit for bit), over a folder the stopped run left behind.
@pytest.mark.soak
def test_same_seed_gives_bit_identical_runs(data, uninterrupted, tmp_path):
    train(small_config(tmp_path), progress=False, log=quiet, train_sentences=data[0],
          dev_sentences=data[1])
    again = weights(tmp_path)
    for key in again:
        np.testing.assert_array_equal(again[key], uninterrupted[key])


def test_sigkill_then_resume_from_the_command_line(data, tmp_path):
    train_file, dev_file = tmp_path / "train.txt", tmp_path / "dev.txt"
    write_conll(data[0], train_file)
    write_conll(data[1], dev_file)
    args = [sys.executable, "-m", "deltagrad", "ner", "train", "--train", str(train_file),
            "--dev", str(dev_file), "--vectors", "none", "--epochs", "3", "--hidden", "16",
            "--casing-dim", "2", "--suffix-dim", "2", "--word-dim", "6", "--batch-size", "32",
            "--checkpoint-every", "2", "--seed", "5", "--no-progress"]
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    subprocess.run(args + ["--out", str(whole)], check=True, capture_output=True, timeout=300)
    process = subprocess.Popen(args + ["--out", str(killed)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    checkpoint = killed / "checkpoint.safetensors"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    if process.returncode == 0:
        pytest.skip("training finished before it could be killed")
    assert checkpoint.exists()
    dg.load(checkpoint)  # never corrupt: the previous checkpoint stays until the new one is whole
    out = subprocess.run([sys.executable, "-m", "deltagrad", "ner", "train", "--resume",
                          str(killed), "--no-progress"], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    a, b = weights(whole), weights(killed)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
