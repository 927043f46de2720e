"""The Hugging Face ``Trainer`` on deltagrad gives PyTorch's numbers: log_history (losses,
gradient norms, learning rates of a cosine / linear schedule with warm-up, accumulation and
clipping), evaluate / predict with compute_metrics, the files save_model writes (safetensors
tensors, config), the states a checkpoint holds (optimizer, scheduler, RNG: read back with
torch.load), resume_from_checkpoint (the resumed run ends where the uninterrupted one did),
EarlyStoppingCallback with load_best_model_at_end, and text-classification /
token-classification / text-generation pipelines on the trained objects.

``prog_s9_T18_trainer.py`` runs twice at the same time, on the real PyTorch and under ``python -m
deltagrad run`` (unchanged). Trainer's ``torch.save(self.args, "training_args.bin")`` saves a
dataclass: section ``save_args`` does it unchanged (deltagrad writes the object as JSON data,
never pickle: serialization/objects.py); the other sections store the arguments' JSON text in
that file instead, on both sides alike.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from alias_runs import mismatches, run_both

pytest.importorskip("torch")
for _library in ("transformers", "accelerate", "tokenizers", "safetensors"):
    pytest.importorskip(_library)

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s9_T18_trainer.py")
RTOL, ATOL = 1e-4, 1e-5  # float32 differences from summation order, through a few steps

# Section -> the text of the error deltagrad raises there while a feature is missing (none now:
# bf16 autocast on the CPU runs since session 9, B2).
KNOWN_GAPS: dict[str, str] = {}


# The program's tests run under soak since session 18 (its fixture: 16.5 CPU s with children):
# a training loop with warm-up schedules, accumulation, clipping, checkpoint save / resume ending
# where the uninterrupted run did stays checked by default in test_s8_T8_lightning.py
# (test_checkpoint_resume_and_load, test_mlp_fit_validate_test_predict); accelerate's
# save_state / load_state with RNG states in test_s9_T13_hf.py; early-stopping decisions in
# test_s9_T9_third_party.py (ignite); transformers models, generate and save_pretrained in
# test_s8_T7_transformers.py. The two tests without the program stay in the default run.
SOAK = pytest.mark.soak


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(folder, torch's numbers, deltagrad's numbers), from two concurrent subprocesses."""
    folder = tmp_path_factory.mktemp("s9_T18")
    real, ours = run_both(PROGRAM, folder, env={"HF_HUB_OFFLINE": "1",
                                                 "TRANSFORMERS_OFFLINE": "1",
                                                 "HF_HUB_DISABLE_TELEMETRY": "1"})
    return folder, real, ours


def _tolerance(key: str) -> float:
    if key.startswith("variants/bf16."):
        # bf16 autocast: matmuls round to 8 bits; gradients a few bf16 ulps apart (the
        # backward kernels PyTorch fuses round once), through 4 steps: 2.3e-4 relative.
        return 2e-3
    if key.startswith("early_stopping/weights."):
        # 16 AdamW steps at lr 2e-2: an attention key bias has an exactly zero gradient (softmax
        # ignores a shift shared by all keys), so its float32 rounding noise, divided by Adam's
        # sqrt(v) of the same size, moves it by ~lr a step on either library differently.
        return 1e-2 if key.endswith(".attention.self.key.bias") else 2e-4
    return ATOL


@SOAK
def test_trainer_matches_torch(results):
    """Every section's numbers agree; the known gaps fail as named, anything else fails."""
    _, expected, got = results
    torch_errors = {k: str(v)[:2000] for k, v in expected.items() if k.endswith("_ERR")}
    assert not torch_errors, f"the program fails on PyTorch itself: {torch_errors}"
    assert len(expected) > 450  # the program ran its sections
    errors = {k: str(v) for k, v in got.items() if k.endswith("_ERR")}
    blocked = sorted(k for k, v in errors.items() if k in KNOWN_GAPS and KNOWN_GAPS[k] in v)
    others = {k: v[:2000] for k, v in errors.items() if k not in blocked}
    assert not others, f"sections failing on deltagrad: {others}"
    skipped = {k for k in expected for gap in blocked
               if k.startswith((gap[:-len("_ERR")] + "/", gap[:-len("_ERR")] + "."))}
    compared = set(expected) - skipped
    assert compared <= set(got), f"missing on deltagrad: {sorted(compared - set(got))}"
    problems = mismatches(expected, got, compared, rtol=RTOL, atol=ATOL,
                          atol_for={k: _tolerance(k) for k in compared})
    assert not problems, "\n".join(problems)
    assert got["early_stopping/step"] < 40  # (EarlyStoppingCallback stopped the run)
    assert got["seq2seq/predict.ids"].shape[0] == 4
    if blocked:
        pytest.xfail(f"numbers agree; still missing in deltagrad: {blocked} "
                     "(bf16 autocast on the CPU)")


@SOAK
@pytest.mark.parametrize("side", [0, 1], ids=["torch", "deltagrad"])
def test_resume_equals_uninterrupted(results, side):
    """A run resumed from checkpoint-4 (another model initialisation, optimizer, scheduler and
    RNG states restored from the checkpoint, the data loader skipping what was seen) ends with
    the uninterrupted run's weights and logs the same steps."""
    numbers = results[1 + side]
    weights = sorted(k for k in numbers if k.startswith("classification/weights."))
    assert len(weights) > 30
    for key in weights:
        resumed = numbers[key.replace("/weights.", "/resumed_weights.")]
        assert np.allclose(resumed, numbers[key], rtol=0, atol=1e-6), key
    for name in ("loss", "grad_norm", "learning_rate", "eval_loss", "step"):
        np.testing.assert_allclose(numbers[f"classification/resumed_history.{name}"],
                                   numbers[f"classification/history.{name}"], rtol=1e-6)
    # the checkpoint's state and what resume read back: step 4 of 8, 2 checkpoints kept
    assert list(numbers["classification/checkpoints"]) == ["checkpoint-4", "checkpoint-8"]
    assert numbers["classification/ckpt4.trainer_state.log.step"].tolist() == [2, 4, 4]
    assert numbers["classification/ckpt4.rng.cpu"].shape == (5056,)


@SOAK
def test_deltagrad_checkpoint_files_are_safetensors(results):
    """Under deltagrad the torch.save files of a checkpoint (optimizer.pt, scheduler.pt,
    rng_state.pth) are safetensors files with JSON metadata: a safetensors reader opens them."""
    from safetensors import safe_open
    folder, _, _ = results
    checkpoint = folder / "deltagrad" / "classification" / "checkpoint-4"
    with safe_open(str(checkpoint / "optimizer.pt"), "np") as handle:
        keys = list(handle.keys())
        assert "deltagrad" in handle.metadata()
    assert any(key.endswith("exp_avg_sq") for key in keys), keys[:5]
    with safe_open(str(checkpoint / "rng_state.pth"), "np") as handle:
        assert handle.get_tensor("cpu").dtype == np.uint8
        assert handle.get_tensor("numpy/1").dtype == np.uint32


def test_datapipe_names_import():
    """accelerate's DataLoaderDispatcher (Trainer with an IterableDataset) imports
    ``torch.utils.data.datapipes.iter.combinatorics.ShufflerIterDataPipe`` for an isinstance
    check: the name imports, no plain dataset is one, and making a DataPipe raises clearly."""
    from torch.utils.data.datapipes.iter.combinatorics import (
        ShufflerIterDataPipe as TorchShuffler,
    )

    import deltagrad as dg
    from deltagrad.utils.data.datapipes.iter import Shuffler
    from deltagrad.utils.data.datapipes.iter.combinatorics import ShufflerIterDataPipe
    assert Shuffler is ShufflerIterDataPipe
    assert not isinstance(dg.utils.data.TensorDataset(dg.ones(2)), ShufflerIterDataPipe)
    import torch
    assert not isinstance(torch.utils.data.TensorDataset(torch.ones(2)), TorchShuffler)
    assert issubclass(ShufflerIterDataPipe, dg.utils.data.IterableDataset)
    with pytest.raises(NotImplementedError, match="datapipes"):
        ShufflerIterDataPipe([1, 2])


def test_default_device_under_meta_context():
    """transformers' from_pretrained builds the model under ``with torch.device("meta")`` and
    asks ``get_default_device()`` there (it raised: DeviceObjType has no constructor)."""
    import torch

    import deltagrad as dg
    seen = {}
    for m in (dg, torch):
        with m.device("meta"):
            inside = m.get_default_device()
        seen[m.__name__] = (type(inside).__name__, str(inside), str(m.get_default_device()),
                            inside == m.device("meta"))
    assert seen["deltagrad"] == seen["torch"]
