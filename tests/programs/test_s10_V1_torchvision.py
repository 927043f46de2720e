"""torchvision under ``import deltagrad as torch``: its model zoo (prog_s10_V1_tv_models.py)
and its data side (prog_s10_V1_tv_data.py: transforms v1/v2 on tensors and PIL images,
functional transforms, datasets over temp files, utils, the pure-Python ops, a DataLoader
fine-tuning loop) run once on the real PyTorch and once under ``python -m deltagrad run``.

Models: the seeded init's statistics, state_dict keys, eval forward + backward (float32) and a
train-mode step in float64 agree; weights are loaded from NumPy so both hold the same numbers.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from alias_runs import compare, run_both

pytest.importorskip("torch")
pytest.importorskip("PIL")

HERE = os.path.dirname(os.path.abspath(__file__))
# torchvision 0.28.0 (torch 2.13's) and timm 1.0.31 live outside the venv, installed with
# `pip install --no-deps --target .venv/tv-extra`: PyPI's torchvision wheel is the CUDA build,
# whose C++ ops cannot load with the CPU torch, and its import then fails (RuntimeError, not
# ImportError) under the real torch, which would break torchmetrics, lightning, piq... for the
# whole suite. The programs get it on their path only; their real-torch side declares the two
# op schemas torchvision's import needs.
EXTRA = os.path.join(os.path.dirname(os.path.dirname(HERE)), ".venv", "tv-extra")
NEEDED = ("torchvision", "timm") if "timm" in __name__ else ("torchvision",)
if not all(os.path.isdir(os.path.join(EXTRA, name)) for name in NEEDED):
    pytest.skip(f"not installed in {EXTRA}: {NEEDED}", allow_module_level=True)
MODELS = ["resnet18", "mobilenet_v2", "mobilenet_v3_small", "vgg11_features", "squeezenet1_1",
          "shufflenet_v2_x0_5", "efficientnet_b0", "vit_small", "convnext_small_config"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("s10_V1_models")
    return run_both(os.path.join(HERE, "prog_s10_V1_tv_models.py"), folder,
                    env={"PYTHONPATH": EXTRA})


@pytest.mark.parametrize("name", MODELS)
def test_model_matches_torch(models, name):
    real, ours = models
    # float32 eval through up to ~50 layers: rounding grows to a few 1e-6
    assert compare(real, ours, name, rtol=1e-4, atol=1e-5) >= 10
    assert str(ours[f"{name}.keys"]) == str(real[f"{name}.keys"])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("s10_V1_data")
    return run_both(os.path.join(HERE, "prog_s10_V1_tv_data.py"), folder,
                    env={"PYTHONPATH": EXTRA})


SECTIONS = ["v1_tensor", "v1_pil", "autoaugment", "v2_plain", "functional", "datasets", "utils",
            "ops", "finetune"]


@pytest.mark.parametrize("section", SECTIONS)
def test_data_section_matches_torch(data, section):
    real, ours = data
    # uint8 bilinear resize: PyTorch's AVX2 fixed-point kernel may round one grey level apart
    # from the float32 path deltagrad (as a CPU without AVX2) makes torchvision take.
    assert compare(real, ours, section, rtol=1e-4, atol=1e-5,
                   atol_for={"v2_plain.resize_u8": 1.0}) >= 4


def test_compiled_ops_raise_clearly(data):
    real, ours = data
    assert compare(real, ours, "errors", rtol=0, atol=0) == 2
    # nms has no kernel without torchvision's C++ library (the real torch here cannot load the
    # CUDA wheel's either): a RuntimeError when called, never at import
    assert str(ours["errors.nms"]) == "RuntimeError"


def test_v2_tv_tensors(data):
    # (Works since session 11's __torch_function__.) uint8 images resized bilinearly may be one
    # grey level apart: PyTorch's AVX2 fixed-point kernel against the float path deltagrad makes
    # torchvision take (see test_s11_TF_tv_tensors._one_grey_level); they compare as floats.
    real, ours = data
    loose = {key: 1.0 for key in real if key.startswith("tv_tensors_v2.")
             and getattr(real[key], "dtype", None) == np.uint8}
    loose.update({key: 1 / 255 + 1e-6 for key in real
                  if key.startswith("tv_tensors_v2.") and "pil_pipeline" in key
                  and getattr(real[key], "dtype", None) != np.uint8})
    real = {k: v.astype(np.float64) if k in loose and v.dtype == np.uint8 else v
            for k, v in real.items()}
    ours = {k: v.astype(np.float64) if k in loose and v.dtype == np.uint8 else v
            for k, v in ours.items()}
    assert compare(real, ours, "tv_tensors_v2", rtol=1e-4, atol=1e-5, atol_for=loose) >= 4
