"""Crash-safe training: kill at any moment, resume, and end with the uninterrupted weights."""

import json
import re
import subprocess
import sys
import time

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.ner.checkpoint import CHECKPOINT_FILE
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
                ensemble=1, lr=0.02)
    # lr 0.02 (not the default 3e-3): dev F1 then peaks at the last epoch, so the saved (best)
    # weights are those the resumed steps make; at 3e-3 F1 stayed 0, the best epoch was 1 and
    # a run resumed in epoch 2 or 3 saved the weights its checkpoint already held.
    base.update(changes)
    return TrainConfig(**base)


def weights(directory):
    return {k: v.data for k, v in dg.load(directory / "weights.safetensors").items()}


def quiet(_):
    pass


@pytest.fixture(scope="module")
def whole_run(data, tmp_path_factory):
    """An uninterrupted run of small_config: its model directory and the lines it logged."""
    out, lines = tmp_path_factory.mktemp("whole"), []
    train(small_config(out), progress=False, log=lines.append, train_sentences=data[0],
          dev_sentences=data[1])
    return out, lines


@pytest.fixture(scope="module")
def uninterrupted(whole_run):
    return weights(whole_run[0])


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


def epoch_lines(lines):
    """The per-epoch report lines (loss, dev scores) without their timings."""
    return [re.sub(r"\)\s+[^)]*tokens/s$", ")", line) for line in lines
            if line.startswith("epoch ")]


def checkpoint_position(path):
    """(epoch, step) of the checkpoint at ``path``; None before the first one is written."""
    try:
        state = dg.load(path)
    except FileNotFoundError:
        return None
    return state["epoch"], state["step"]


def test_sigkill_mid_training_then_resume_from_the_command_line(data, whole_run, tmp_path):
    # One run (--ensemble 1: an ensemble's own checkpoint holds only settings and is written
    # before any training, tests/ner/test_ensemble.py) killed with SIGKILL in epoch 2, after a
    # mid-epoch checkpoint; `--resume` must end where the uninterrupted `whole_run` (the same
    # settings as small_config, given in-process) ended: the same weights, the same
    # config.json scores, the same epoch reports from the resumed epoch on. The kill lands
    # anywhere after that checkpoint (mid-batch, mid-save, in a dev scoring, in epoch 3):
    # every landing point must resume to the same result.
    train_file, dev_file = tmp_path / "train.txt", tmp_path / "dev.txt"
    write_conll(data[0], train_file)
    write_conll(data[1], dev_file)
    killed = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, "-m", "deltagrad", "ner", "train", "--train", str(train_file),
         "--dev", str(dev_file), "--vectors", "none", "--epochs", "3", "--hidden", "16",
         "--casing-dim", "2", "--suffix-dim", "2", "--word-dim", "6", "--batch-size", "32",
         "--checkpoint-every", "4", "--patience", "10", "--seed", "11", "--ensemble", "1",
         "--lr", "0.02", "--no-progress", "--out", str(killed)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = killed / CHECKPOINT_FILE
    # Waits for a checkpoint inside epoch 2 (the one written at the end of epoch 1 is at step
    # 0 of epoch 2), read only when it changed (written atomically: never half there).
    stamp, position, deadline = None, None, time.monotonic() + 240
    while process.poll() is None and time.monotonic() < deadline:
        try:
            now = checkpoint.stat().st_mtime_ns
        except FileNotFoundError:  # not written yet
            now = None
        if now != stamp:
            stamp, position = now, checkpoint_position(checkpoint)
            if position is not None and position >= (2, 1):
                break
        time.sleep(0.005)
    process.kill()  # SIGKILL (nothing if it has ended)
    process.wait()
    if process.returncode == 0 or not checkpoint.exists():
        # Only after the model was saved (config.json last) is the checkpoint removed.
        assert (killed / "config.json").exists(), process.returncode
        pytest.skip("training finished before it could be killed")
    assert position is not None and position >= (2, 1), position
    # Never corrupt: the previous checkpoint stays until the new one is whole.
    assert checkpoint_position(checkpoint) >= position
    out = subprocess.run([sys.executable, "-m", "deltagrad", "ner", "train", "--resume",
                          str(killed), "--no-progress"], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    resumed_at = re.search(r"resumed from .*: epoch (\d+), step (\d+)", out.stdout)
    assert resumed_at is not None, out.stdout
    assert (int(resumed_at[1]), int(resumed_at[2])) >= position
    assert not checkpoint.exists()  # a finished run removes its checkpoint
    a, b = weights(whole_run[0]), weights(killed)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    # The scores saved with the model (best epoch, dev P/R/F1 of both decoders, the decoder).
    saved = [json.loads((d / "config.json").read_text()) for d in (whole_run[0], killed)]
    for meta in saved:
        for name in ("out", "train", "dev"):  # the in-process run read the same sentences
            meta["train"].pop(name)
    assert saved[0]["best_epoch"] == 3  # the saved weights come from the resumed steps
    assert saved[0] == saved[1]
    # The epoch reports (training loss, dev scores) of the epochs the resumed run finished:
    # the interrupted epoch's loss sums the steps before and after the kill.
    # (None when the kill came after epoch 3's checkpoint: the resumed run only saves.)
    whole_epochs = epoch_lines(whole_run[1])
    assert len(whole_epochs) == 3
    assert epoch_lines(out.stdout.splitlines()) == whole_epochs[int(resumed_at[1]) - 1:]
