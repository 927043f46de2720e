"""MONAI's MetaTensor under ``import deltagrad as torch``: a Tensor subclass whose
``__torch_function__`` carries an affine, a meta dict and the applied operations through array
and dictionary transforms (flips, rotations, resize, zoom, pads, crops, intensity, affine,
Spacing), Compose with lazy resampling off and on, ``inverse``, batching by MONAI's DataLoader
and decollating. The program (prog_s11_TF_monai.py) runs on the real PyTorch and under
``python -m deltagrad run``; classes, values, affines, meta entries, operation lists and the
errors raised must agree.
"""

from __future__ import annotations

import importlib.util
import os

import pytest
from alias_runs import compare, run_both

pytest.importorskip("torch")
# (find_spec, not importorskip: only the programs' subprocesses import monai; importing it
# here cost each xdist worker 3.3 CPU s at collection, and a library's import can change
# process-wide state before any test of the worker runs)
for _library in ("monai", "scipy"):
    if importlib.util.find_spec(_library) is None:
        pytest.skip(f"{_library} is not installed", allow_module_level=True)

HERE = os.path.dirname(os.path.abspath(__file__))
SECTIONS = ["array", "2d", "compose", "meta", "loader"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("s11_TF_monai")
    return run_both(os.path.join(HERE, "prog_s11_TF_monai.py"), folder)


@pytest.mark.parametrize("section", SECTIONS)
def test_section_matches_torch(runs, section):
    real, ours = runs
    # resampling in float32 (grid_sample, interpolate): rounding of a few 1e-6 of unit values
    assert compare(real, ours, section, rtol=1e-4, atol=2e-5) >= 10


def test_network_on_metatensors_matches_torch(runs):
    real, ours = runs
    assert compare(real, ours, "unet", rtol=1e-4, atol=1e-5, skip=("unet.out",)) == 9


def test_network_output_is_a_metatensor(runs):
    # (session 12: the layers call the public F.conv3d & co., so the input's
    # __torch_function__ sees them and the output keeps its class, as in PyTorch)
    real, ours = runs
    assert str(ours["unet.out.cls"]) == str(real["unet.out.cls"]) == "MetaTensor"


def test_metadata_travels(runs):
    real, ours = runs
    # the comparison above would pass on two empty runs: pin what the MetaTensors carry
    for key in ("array.rotate.cls", "array.spacing.cls", "array.rand_affine.inverse.cls",
                "compose.lazy_True.img.cls", "loader.batch0.cls", "loader.default_collate.cls",
                "meta.collated.cls", "meta.add.cls"):
        assert str(ours[key]) == str(real[key]) == "MetaTensor", key
    assert str(ours["array.ensure_type.cls"]) == "Tensor"
    assert list(ours["compose.lazy_True.img.ops"]) == list(real["compose.lazy_True.img.ops"])
    assert "SpatialResample" in list(ours["compose.lazy_True.img.ops"])
    assert bool(ours["loader.batch0.is_batch"]) and not bool(ours["loader.batch0.item0.is_batch"])
