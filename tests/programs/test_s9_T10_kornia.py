"""kornia 0.9.0 on deltagrad (T10): its tutorials' main modules, under the real torch and the alias.

``prog_s9_T10_kornia.py`` uses kornia the way its tutorials do and writes every number to an
.npz: filters (gaussian/box/median/bilateral/motion blur, sobel, laplacian, canny, unsharp,
guided), color conversions and round trips, geometry (warp_affine/perspective in every
interpolation and padding mode, rotate/translate/scale/shear, resize incl. antialias and
bicubic, crop_and_resize, pyramids, remap, 3-d affine warps, DLT homographies, the fundamental
matrix, rotation conversions, camera projections), enhance (adjust_*, equalize, CLAHE,
normalize, ZCA, histograms), morphology (both engines), losses and metrics (SSIM, MS-SSIM,
PSNR, dice, focal, Tversky, Lovasz, TV, Hausdorff ...), feature responses and descriptors
(Harris, GFTT, Hessian, DoG, SIFT, MKD, dense SIFT, orientation/affine-shape estimators,
ScaleSpaceDetector, SIFTFeature, LAFDescriptor, seeded RANSAC, matchers), augmentation (15
seeded augmentations, AugmentationSequential with masks/boxes/keypoints and its inverse, MixUp,
sampled parameters, 27 more random augmentations), Lie groups, contrib, ImageRegistrator,
differentiable JPEG, float64 warps in every mode (tight tolerance),
gradients through all of these, and a 6-step Adam fit through rotate + gaussian_blur2d. It
runs twice at the same time: on the real PyTorch and under ``python -m deltagrad run``; the two
must agree to float32 rounding, dtypes and shapes included. The random augmentations agree
too: deltagrad draws PyTorch's CPU random stream. An exception on either side fails.
"""

from __future__ import annotations

import importlib.util
import os

import alias_runs
import pytest
from alias_runs import run_both

pytest.importorskip("torch")
# (find_spec, not importorskip: only the programs' subprocesses import kornia; importing it
# here cost each xdist worker 0.2 CPU s at collection, and a library's import can change
# process-wide state before any test of the worker runs)
for _library in ("kornia",):
    if importlib.util.find_spec(_library) is None:
        pytest.skip(f"{_library} is not installed", allow_module_level=True)

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s9_T10_kornia.py")
RTOL, ATOL = 1e-4, 1e-5
# float32 rounding where kornia cancels large terms: Luv's L*u*v* run to ~160 (the float64
# runs agree to 2e-13), and ZCA whitens through an SVD of a near-singular covariance.
ATOL_FOR = {"color.rgb_to_luv": 5e-4, "color.round.luv_to_rgb": 5e-5, "enhance.zca": 3e-4}
# Lie groups So2/Se2 keep their rotation as a complex nn.Parameter: deltagrad's complex
# tensors cannot require gradients (a clear DTypeError; reported).
COMPLEX_PARAMETERS = ("more.so2", "more.se2")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers), from two concurrent subprocesses."""
    return run_both(PROGRAM, tmp_path_factory.mktemp("s9_T10"))


def compare(real: dict, ours: dict, prefix: str, skip: tuple = ()) -> int:
    """Every entry under ``prefix`` agrees (alias_runs.compare); how many were compared."""
    return alias_runs.compare(real, ours, prefix, rtol=RTOL, atol=ATOL, skip=skip,
                              atol_for=ATOL_FOR)


@pytest.mark.parametrize("prefix, count", [
    ("filters", 58), ("color", 54), ("geometry", 108), ("enhance", 50), ("morphology", 36),
    ("losses", 52), ("metrics", 8), ("feature", 62), ("augmentation", 92), ("training", 1),
    ("alias", 1)])
def test_kornia_module(results, prefix, count):
    assert compare(*results, prefix) == count


def test_kornia_random_augmentations_registration_jpeg(results):
    # 27 more augmentations (each draws PyTorch's stream its own way), ImageRegistrator's
    # fit, the differentiable JPEG and bicubic warps in float32
    assert compare(*results, "extra", skip=("extra.f64", "ERR.extra.f64")) == 64


def test_kornia_float64_warps_and_gradients(results):
    """Every interpolation mode and align_corners of warp_affine / resize in float64, with
    input and matrix gradients: tight, so that a small rule difference cannot hide."""
    assert alias_runs.compare(*results, "extra.f64", rtol=1e-10, atol=1e-12) == 48


def test_kornia_contrib_utils_liegroups(results):
    # (So2 / Se2 hold complex Parameters: complex leaves may require grad since session 9)
    assert compare(*results, "more") == 36 + 2 * len(COMPLEX_PARAMETERS)  # (values, dtypes)
    real, ours = results
    assert all(name in ours for name in COMPLEX_PARAMETERS)
