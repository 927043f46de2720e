"""Vision libraries on torchvision/timm under ``import deltagrad as torch``
(prog_s10_T24_vision.py run on the real PyTorch and under ``python -m deltagrad run``):
lpips 0.1.4 (alex/vgg/squeeze trunks, spatial and baseline forms), piq 0.8.0 (LPIPS, DISTS,
ContentLoss, StyleLoss on a random VGG16), segmentation-models-pytorch 0.6.0 (Unet, FPN,
DeepLabV3+, Linknet, Unet++ with torchvision-style and timm encoders; its losses and metrics; a
training loop) and denoising-diffusion-pytorch 2.3.4 (Unet + GaussianDiffusion losses for the
three objectives, Adam steps of the README loop, DDIM and DDPM sampling from torch's seeded RNG;
Unet1D, ElucidatedDiffusion, KarrasUnet; the Trainer over PNG files with its EMA, checkpoint and
sample grid):
values, gradients, dtypes and shapes agree.
"""

from __future__ import annotations

import ast
import importlib.util
import os

import pytest
from alias_runs import compare, run_both

pytest.importorskip("torch")
pytest.importorskip("PIL")
pytest.importorskip("einops")

HERE = os.path.dirname(os.path.abspath(__file__))
# torchvision 0.28.0 / timm 1.0.31 and these libraries (which import torchvision) live outside
# the venv, in .venv/tv-extra (see test_s10_V1_torchvision.py for why); the programs get it on
# their path only.
EXTRA = os.path.join(os.path.dirname(os.path.dirname(HERE)), ".venv", "tv-extra")
NEEDED = ("torchvision", "timm", "lpips", "segmentation_models_pytorch",
          "denoising_diffusion_pytorch")
if not all(os.path.isdir(os.path.join(EXTRA, name)) for name in NEEDED):
    pytest.skip(f"not installed in {EXTRA}: {NEEDED}", allow_module_level=True)
for _name in ("piq", "ema_pytorch", "accelerate"):  # (piq imports torchvision: not here)
    if importlib.util.find_spec(_name) is None:
        pytest.skip(f"{_name} is not installed", allow_module_level=True)

# section -> how many entries it records (values and their dtypes)
SECTIONS = {"piq": 20, "smp.unet_resnet18": 11, "smp.fpn_mobilenet_v2": 11,
            "smp.unet_tu_resnet18": 11, "smp_losses": 52,
            "smp_metrics": 82, "smp_train": 4, "ddpm": 32, "ddpm_more": 17, "ddpm_trainer": 9}


# The program's sections (its sec_* functions) that run only under soak, in a fixture of their
# own, since session 18 (the file: 28.4 -> 21.4 CPU s with children): lpips's LPIPS over
# random alex / vgg / squeeze trunks stays checked by default in this file's piq section (piq's
# LPIPS, its mae and per-pixel forms, over VGG16 features, with gradients) and the trunks in
# test_s10_V1_torchvision.py (vgg11_features, squeezenet1_1); lpips's shipped weights read by
# torch.load in tests/test_s10_PK2_torch_files.py::test_lpips_shipped_weights.
#
# Since session 24 (TT4) three of smp's six segmenters too (the program's sec_smp_more:
# DeepLabV3+ / Linknet over a timm encoder / Unet++; none guards a fix): smp's Unet over a
# torchvision-style and a timm encoder and its FPN stay default, as do its losses, metrics and
# training loop. The file's default part: 25.9 / 22.4 CPU s before, 23.0 / 17.9 after (with
# children, alternated, load ~9); the soak part 16.8.
SOAK_SECTIONS = {"lpips": 32, "smp.deeplabv3plus_resnet18": 11,
                 "smp.linknet_tu_mobilenetv3": 11, "smp.unetpp_resnet18": 11}
PROGRAM = os.path.join(HERE, "prog_s10_T24_vision.py")
with open(PROGRAM) as _source:
    PROGRAM_SECTIONS = [node.name[4:] for node in ast.parse(_source.read()).body
                        if isinstance(node, ast.FunctionDef) and node.name.startswith("sec_")]
SOAKED = {"lpips", "shipped_lpips", "smp_more"}


def _run(tmp_path_factory, sections):
    folder = tmp_path_factory.mktemp("s10_T24_vision")
    return run_both(PROGRAM, folder, *sections, env={"PYTHONPATH": EXTRA})


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return _run(tmp_path_factory, [name for name in PROGRAM_SECTIONS if name not in SOAKED])


@pytest.fixture(scope="module")
def soak_results(tmp_path_factory):
    return _run(tmp_path_factory, sorted(SOAKED))


@pytest.mark.parametrize("section", SECTIONS)
def test_section_matches_torch(results, section):
    real, ours = results
    # float32 through VGG16 / ResNet trunks: rounding reaches a few 1e-6; train-mode
    # segmenters run in float64 (the program says why)
    # ElucidatedDiffusion samples from sigma 80 down: float32 rounding of ~80 * 1e-7 survives
    assert compare(real, ours, section, rtol=1e-4, atol=1e-5,
                   atol_for={"ddpm_more.elucidated.sample": 5e-5}) >= SECTIONS[section]


@pytest.mark.soak
@pytest.mark.parametrize("section", SOAK_SECTIONS)
def test_soak_section_matches_torch(soak_results, section):
    real, ours = soak_results
    assert compare(real, ours, section, rtol=1e-4, atol=1e-5) >= SOAK_SECTIONS[section]


@pytest.mark.soak
def test_shipped_lpips_weights(soak_results):
    real, ours = soak_results
    assert compare(real, ours, "shipped_lpips", rtol=1e-4, atol=1e-5) >= 8
