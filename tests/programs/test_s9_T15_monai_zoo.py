"""Third-party PyTorch libraries on deltagrad: MONAI and lucidrains' model zoo.

``prog_s9_T15_libs.py`` runs ``prog_s9_T15_monai.py`` (UNet 2-d/3-d, BasicUNet, SegResNet,
DenseNet, ViT, SwinUNETR; Dice/DiceCE/Focal/Tversky losses; Dice/Hausdorff metrics; the
sliding-window inferer; tensor transforms; training steps) and ``prog_s9_T15_zoo.py``
(vit-pytorch, performer, rotary embeddings, local/linear/Nystrom attention, linformer, PKM,
axial positional embeddings: forward, loss, backward, optimizer steps, generation) once on the
real PyTorch and once under ``python -m deltagrad run``; values must agree to float32 rounding,
dtypes, shapes and sampled tokens exactly. (SimpleViT, CaiT and SwinUNETR change a LayerNorm
output in place, ``x = norm(x); x += pos``: their training runs since layer_norm's backward no
longer counts as reading its output, session 9.)
"""

from __future__ import annotations

import importlib.util
import os

import pytest
from alias_runs import mismatches, run_both

pytest.importorskip("torch")
# (found, not imported: importing MONAI here would cost seconds; vit_pytorch's package
# __init__ needs torchvision, which the program side-steps)
LIBRARIES = ("monai", "vit_pytorch", "performer_pytorch", "local_attention",
             "linear_attention_transformer", "nystrom_attention", "linformer",
             "product_key_memory", "rotary_embedding_torch", "axial_positional_embedding",
             "hyper_connections", "colt5_attention")
MISSING = [name for name in LIBRARIES if importlib.util.find_spec(name) is None]
if MISSING:
    pytest.skip(f"not installed: {', '.join(MISSING)}", allow_module_level=True)

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s9_T15_libs.py")
RTOL, ATOL = 1e-4, 1e-5  # float32 differences from summation order, through a few steps
# hyper-connections' dynamic_alpha_fn starts at zero with gradients near zero: Adam's first
# steps (m / sqrt(v)) turn float32 rounding of those gradients into ~1e-4 of lr-sized moves.
ATOL_FOR = {"zoo/local_lm/param.layers.0.0.dynamic_alpha_fn": 1e-4}


def _run(tmp_path_factory, part):
    """(torch's numbers, deltagrad's numbers) of one part, from two concurrent subprocesses."""
    folder = tmp_path_factory.mktemp(f"s9_T15_{part}")
    return run_both(PROGRAM, folder, env={"PYTHONPATH": HERE, "T15_PARTS": part})


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return _run(tmp_path_factory, "zoo")


@pytest.fixture(scope="module")
def monai_results(tmp_path_factory):
    return _run(tmp_path_factory, "monai")


def _check(prefix, results):
    expected, got = ({k: v for k, v in side.items() if k.startswith(prefix)} for side in results)
    assert len(expected) > 50  # the program ran its sections
    torch_errors = {k: str(v) for k, v in expected.items() if k.endswith("_ERR")}
    assert not torch_errors, f"the program fails on PyTorch itself: {torch_errors}"
    errors = {k: str(v)[-1500:] for k, v in got.items() if k.endswith("_ERR")}
    assert not errors, f"sections failing on deltagrad: {errors}"
    assert sorted(got) == sorted(expected)
    problems = mismatches(expected, got, set(expected) & set(got), rtol=RTOL, atol=ATOL,
                          atol_for=ATOL_FOR)
    assert not problems, "\n".join(problems)


# Under soak since session 18 (the file: 13.2 -> 5.0 CPU s, MONAI's import on each side the most):
# MONAI's import, a 3-d UNet on MetaTensors with its gradients and the transforms stay checked
# by default in test_s11_TF_monai_meta.py (which pays that import already); the networks' conv /
# norm / attention blocks in test_s10_T24_vision_libs.py (smp's Unet / FPN / DeepLabV3+) and
# test_s10_V1_torchvision.py.
@pytest.mark.soak
def test_monai_matches_torch(monai_results):
    """Networks, losses, metrics, inferer, transforms and training steps."""
    _check("monai/", monai_results)


def test_lucidrains_zoo_matches_torch(results):
    """vit-pytorch, performer, rotary, local/linear/Nystrom attention, linformer, PKM."""
    _check("zoo/", results)
