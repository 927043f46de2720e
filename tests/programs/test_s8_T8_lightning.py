"""PyTorch Lightning on deltagrad (T8): Trainer fit / validate / test / predict, callbacks,
schedulers, clipping, accumulation, manual optimization, checkpoint save / resume / load, Fabric,
a LightningDataModule with loader workers.

``prog_s8_T8_lightning.py`` runs twice, at the same time: on the real PyTorch and under
``python -m deltagrad run`` (the script unchanged). The two must agree: losses per step,
gradient norms, learning rates, final weights, optimizer state, logged metrics, checkpoint
contents and callback decisions (values to float32 tolerance, dtypes, shapes); an exception in a
section on either side is a failure. Hyperparameters that are not plain data (a Namespace, a
dataclass, a Module) go into a deltagrad checkpoint as JSON data and references (never pickle)
and load back with weights_only=False, as PyTorch's do.
"""

from __future__ import annotations

import importlib.util
import os

import alias_runs
import pytest
from alias_runs import run_both

# (find_spec, not importorskip: only the programs' subprocesses import lightning; importing it
# here cost each xdist worker 0.3 CPU s at collection, and a library's import can change
# process-wide state before any test of the worker runs)
for _library in ("lightning", "torchmetrics"):
    if importlib.util.find_spec(_library) is None:
        pytest.skip(f"{_library} is not installed", allow_module_level=True)
pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROGRAM = os.path.join(HERE, "prog_s8_T8_lightning.py")
SECTIONS = "mlp,cnn,resume,hparams,fabric"
RTOL, ATOL = 2e-5, 2e-6  # float32 summation-order differences over a dozen steps
PLAIN = ("tuple", "none", "nested", "tensor", "str", "dtype", "device")
NOT_PLAIN = ("namespace", "dataclass", "set", "bytes", "module")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers), from two concurrent subprocesses."""
    folder = tmp_path_factory.mktemp("s8_T8")
    torch_side, ours = run_both(PROGRAM, folder, SECTIONS, env={"PL_DISABLE_FORK": "1"},
                                side_args=lambda side: [str(folder / side)])
    if "MISSING" in ours:
        # Names Lightning needs that live in other parts of deltagrad (reported, session 8).
        pytest.skip("deltagrad lacks what Lightning imports: "
                    + "; ".join(ours["MISSING"].tolist()))
    return torch_side, ours


def compare(real: dict, ours: dict, prefix: str) -> int:
    """Every entry under ``prefix`` agrees (alias_runs.compare); how many were compared."""
    return alias_runs.compare(real, ours, prefix, rtol=RTOL, atol=ATOL)


def test_mlp_fit_validate_test_predict(results):
    real, ours = results
    assert compare(real, ours, "mlp") >= 30
    # Early stopping ended the 4-epoch run after epoch 2; both checkpoints of the top 2 exist.
    assert int(ours["mlp.epochs_run"]) == 2 and int(ours["mlp.global_step"]) == 6
    assert ours["mlp.ckpt_names"].tolist() == ["mlp-epoch=0.ckpt", "mlp-epoch=1.ckpt"]
    assert ours["mlp.lrs"].tolist() == [0.01, 0.01, 0.01, 0.005, 0.005, 0.005]


def test_cnn_manual_optimization(results):
    real, ours = results
    assert compare(real, ours, "cnn") >= 20
    assert ours["cnn.losses"].shape == (8,)


def test_checkpoint_resume_and_load(results):
    real, ours = results
    assert compare(real, ours, "resume") >= 20
    assert int(ours["resume.global_step"]) == 12 and int(ours["resume.ckpt_step"]) == 6


def test_fabric_and_datamodule(results):
    real, ours = results
    assert compare(real, ours, "fabric") >= 10
    assert compare(real, ours, "datamodule") >= 6
    assert ours["fabric.remainder"].tolist() == ["step"]


def test_hyperparameters_in_checkpoints(results):
    real, ours = results
    assert all(str(real[f"hparams.{k}"]) == "ok" for k in PLAIN + NOT_PLAIN)
    for kind in PLAIN + NOT_PLAIN:  # (objects: JSON data + references since s9 PK1)
        assert str(ours[f"hparams.{kind}"]) == "ok", kind
