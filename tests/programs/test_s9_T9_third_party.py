"""Third-party libraries on deltagrad (T9): pytorch-crf, TorchCRF, torchinfo, torchsummary and
pytorch-ignite.

``prog_s9_T9_libs.py`` runs twice, at the same time: on the real PyTorch and under
``python -m deltagrad run`` (the script unchanged). The two must agree: CRF log-likelihoods
(every reduction, masks), Viterbi paths, gradients and training trajectories; the summary
tables torchinfo and torchsummary print, character for character; ignite's per-iteration
losses, scheduled learning rates, running averages, validation metrics (accuracy, loss,
precision / recall / F-beta, confusion matrix), early-stopping decisions and checkpoints
(values to float32 tolerance, dtypes, shapes); an exception in a section on either side is a
failure.
"""

from __future__ import annotations

import os

import alias_runs
import pytest
from alias_runs import run_both

pytest.importorskip("torchcrf")
pytest.importorskip("TorchCRF")
pytest.importorskip("torchinfo")
pytest.importorskip("torchsummary")
pytest.importorskip("ignite")
pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s9_T9_libs.py")
SECTIONS = "crf,torchcrf2,torchinfo,torchsummary,ignite"
RTOL, ATOL = 2e-5, 2e-6  # float32 summation-order differences over a dozen steps


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers), from two concurrent subprocesses."""
    folder = tmp_path_factory.mktemp("s9_T9")
    return run_both(PROGRAM, folder, SECTIONS, side_args=lambda side: [str(folder / side)])


def compare(real: dict, ours: dict, prefix: str) -> int:
    """Every entry under ``prefix`` agrees (alias_runs.compare); how many were compared."""
    return alias_runs.compare(real, ours, prefix, rtol=RTOL, atol=ATOL)


def test_pytorch_crf(results):
    real, ours = results
    assert compare(real, ours, "crf") >= 60
    for kind in ("first_mask", "reduction", "shape", "num_tags"):
        assert str(ours[f"crf.err.{kind}"]) == "ValueError", kind
    losses = ours["crf.train.losses"]
    assert losses.shape == (8,) and losses[-1] < losses[0]


def test_torchcrf_1_1(results):
    real, ours = results
    assert compare(real, ours, "torchcrf2") >= 20
    # pad_idx writes into leaf parameters in place: PyTorch 2 refuses, and so do we.
    assert str(ours["torchcrf2.err.pad_idx"]) == "RuntimeError"
    assert ours["torchcrf2.llh"].shape == (3,)


def test_torchinfo_tables(results):
    real, ours = results
    assert compare(real, ours, "torchinfo") >= 70
    table = str(ours["torchinfo.transformer.table"])
    assert "TransformerEncoderLayer" in table and "Total params" in table
    # sys.getsizeof of the inputs' storages (torchinfo's "Input size"), as PyTorch's.
    assert int(ours["torchinfo.mlp.input_size"]) == int(real["torchinfo.mlp.input_size"])


def test_torchsummary_tables(results):
    real, ours = results
    assert compare(real, ours, "torchsummary") == 5
    assert "Total params" in str(ours["torchsummary.cnn"])


def test_ignite_training(results):
    real, ours = results
    assert compare(real, ours, "ignite") >= 150
    assert int(ours["ignite.piecewise.epochs"]) == 6
    # Early stopping ends the 6-epoch warm-up run after epoch 3.
    assert int(ours["ignite.warmup.epochs"]) == 3 and int(ours["ignite.warmup.stop_counter"]) == 1
    # ReduceLROnPlateauScheduler halves the lr after epoch 2 (through _reduce_lr(epoch)).
    assert ours["ignite.plateau.lr"].tolist() == [0.1] * 8 + [0.05] * 8
    assert len(ours["ignite.piecewise.ckpt_names"]) == 2
    # Checkpoint.load_objects of the epoch-2 checkpoint resumes the run exactly.
    assert ours["ignite.resume.resumed_losses"].tolist() == ours[
        "ignite.resume.full_losses"][8:].tolist()
    assert int(ours["ignite.resume.iteration"]) == 16


def test_storage_getsizeof_matches_pytorch():
    """torchinfo's "Input size" is sys.getsizeof of the inputs' storages (header + bytes)."""
    import sys
    import warnings

    import torch

    import deltagrad as dg

    for shape in [(4, 10), (0,), (7,)]:
        for dtype in ("float32", "float64", "int64", "bool"):
            ours = dg.zeros(shape, dtype=getattr(dg, dtype))
            theirs = torch.zeros(shape, dtype=getattr(torch, dtype))
            for a, b in [(ours, theirs), (ours[1:], theirs[1:])]:
                assert sys.getsizeof(a.untyped_storage()) == sys.getsizeof(b.untyped_storage())
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # (TypedStorage is deprecated in PyTorch)
                    assert sys.getsizeof(a.storage()) == sys.getsizeof(b.storage())


def test_reduce_lr_on_plateau_calls_reduce_lr_with_the_epoch():
    """Libraries replace ReduceLROnPlateau._reduce_lr(epoch) (pytorch-ignite does)."""
    import torch

    import deltagrad as dg

    calls = {}
    for name, module in (("torch", torch), ("deltagrad", dg)):
        optimizer = module.optim.SGD([module.zeros(1, requires_grad=True)], lr=1.0)
        scheduler = module.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=1)
        calls[name] = []
        scheduler._reduce_lr = calls[name].append
        for value in (3.0, 2.0, 2.0, 2.5, 2.5, 1.0, 1.0, 1.0):
            scheduler.step(value)
        assert optimizer.param_groups[0]["lr"] == 1.0  # (the replacement did not reduce it)
    assert calls["deltagrad"] == calls["torch"] == [4, 8]


def test_optimizer_load_drops_keys_the_saved_groups_lack():
    """Loading a state dict saved before a scheduler added "initial_lr" drops that key, as
    PyTorch does (ignite's FastaiLRFinder restores the optimizer this way and compares)."""
    import torch

    import deltagrad as dg

    groups = {}
    for name, module in (("torch", torch), ("deltagrad", dg)):
        weight = module.zeros(2, requires_grad=True)
        optimizer = module.optim.Adam([weight], lr=0.1, betas=(0.8, 0.9))
        saved = optimizer.state_dict()
        module.optim.lr_scheduler.StepLR(optimizer, step_size=1)
        assert "initial_lr" in optimizer.param_groups[0]
        optimizer.load_state_dict(saved)
        groups[name] = {k: v for k, v in optimizer.param_groups[0].items() if k != "params"}
    assert groups["deltagrad"] == groups["torch"]
    assert "initial_lr" not in groups["deltagrad"]
