"""Public programs built on torchvision and timm, run once on the real PyTorch and once under
``python -m deltagrad run`` (seeded; datasets are FakeData or MNIST / FashionMNIST / CIFAR-10 /
ImageFolder files written to a temp dir):

- prog_s10_P2_examples.py: pytorch/examples mnist and mnist_rnn, the CIFAR-10 tutorial,
  kuangliu/pytorch-cifar's loop, d2l's load_data_fashion_mnist + softmax regression, DCGAN
  with save_image;
- prog_s10_P2_vision.py: imagenet/main.py's loop with checkpoint + resume (resnet18), the
  transfer-learning tutorial, fast_neural_style's Vgg16 loss + TransformerNet step, the
  object-detection tutorial's pure-Python parts (the nms it reaches raises);
- prog_s10_P2_timm.py: timm train.py's core (create_model / loader / optimizer / scheduler,
  Mixup + SoftTargetCrossEntropy, LabelSmoothingCrossEntropy, ModelEmaV3, CheckpointSaver,
  resume_checkpoint).

All three run in one process per side (prog_s10_P2_all.py). Losses, accuracies, meters'
printed lines, saved files and weights agree.

Default subset (s24, TT4): the imagenet loop (a float64 resnet18's SGD steps, checkpoint and
resume) and the transfer-learning tutorial (a resnet18 fine-tuned) were most of the program's
CPU time (one per-section profile of deltagrad's side: 9.1 of 14.2 s); they run under soak,
both in one run of their own (``SOAK``). No
section of this file guards a named fix; resnet18's forward / backward stays checked by default
in test_s10_V1_torchvision.py and the other sections here. The file's default part: 22.6 CPU s
before, 14.4 after; 20.0 / 15.4 alternated (with children, load ~9); the soak part 14.6.
"""

from __future__ import annotations

import os

import pytest
from alias_runs import compare, run_both

pytest.importorskip("torch")
pytest.importorskip("PIL")

HERE = os.path.dirname(os.path.abspath(__file__))
# (torchvision and timm live outside the venv: see test_s10_V1_torchvision.py)
EXTRA = os.path.join(os.path.dirname(os.path.dirname(HERE)), ".venv", "tv-extra")
if not os.path.isdir(os.path.join(EXTRA, "torchvision")):
    pytest.skip(f"torchvision not installed in {EXTRA}", allow_module_level=True)


# the sections of prog_s10_P2_all.py's three programs; SOAK's run under soak (see above)
SECTIONS = ["mnist", "mnist_rnn", "cifar_tutorial", "pytorch_cifar", "d2l", "dcgan",
            "neural_style", "detection", "train_resnet", "train_vit"]
SOAK = ["imagenet", "transfer"]


def _run(tmp_path_factory, tag, sections):
    # (one process per side runs the chosen sections of all three programs)
    folder = tmp_path_factory.mktemp(tag)
    return run_both(os.path.join(HERE, "prog_s10_P2_all.py"), folder, *sections,
                    env={"PYTHONPATH": EXTRA})


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return _run(tmp_path_factory, "s10_P2", SECTIONS)


@pytest.fixture(scope="module")
def soak_results(tmp_path_factory):
    return _run(tmp_path_factory, "s10_P2_soak", SOAK)


@pytest.mark.parametrize("section", ["mnist", "mnist_rnn", "cifar_tutorial", "pytorch_cifar",
                                     "d2l", "dcgan"])
def test_examples_match_torch(results, section):
    real, ours = results
    # dcgan's generated PNG is float32 through five transposed convolutions and BatchNorm,
    # then rounded to uint8: one grey level apart at most
    assert compare(real, ours, section, rtol=1e-4, atol=1e-5,
                   atol_for={"dcgan.fake_png": 1.0}) >= 4


def test_saved_files_and_records(results):
    real, ours = results
    assert str(ours["mnist.keys"]) == "conv1.weight|conv1.bias|conv2.weight|conv2.bias|" \
        "fc1.weight|fc1.bias|fc2.weight|fc2.bias"
    assert ours["dcgan.real_png"].shape == (68, 266, 3)  # make_grid: one row of 4, padded
    assert ours["mnist.losses"].shape == (4,) and len(set(ours["mnist.losses"])) == 4


@pytest.mark.soak  # (imagenet's resnet18 loop: see the module's docstring)
def test_imagenet_checkpoint_and_lines(soak_results):
    real, ours = soak_results
    assert ours["imagenet.ckpt"][0] == 1  # the checkpoint's epoch, read back on resume
    assert "Acc@1" in str(ours["imagenet.lines"])


def _vision_matches(real, ours, section):
    # neural_style is float32 (as the example): the gradient of a 1e10-weighted style loss
    # (|g| up to 6.5e3) agrees to 1e-5 relative, and after Adam's first step (which moves a
    # weight by ~lr whatever its gradient's size) the stylized output to 4e-4 relative; run in
    # float64 both agree to 1e-14.
    assert compare(real, ours, section, rtol=1e-4, atol=1e-5,
                   atol_for={"neural_style.grad_conv1": 0.2,
                             "neural_style.stylized": 4e-3}) >= 4


@pytest.mark.parametrize("section", ["neural_style", "detection"])
def test_vision_programs_match_torch(results, section):
    _vision_matches(*results, section)


@pytest.mark.soak  # (two resnet18 programs: ~9 CPU s of deltagrad's side; the docstring)
@pytest.mark.parametrize("section", SOAK)
def test_vision_programs_match_torch_soak(soak_results, section):
    _vision_matches(*soak_results, section)


def test_detection_reaches_compiled_op_clearly(results):
    real, ours = results
    assert str(ours["detection.full_forward"]) == "RuntimeError"


@pytest.mark.parametrize("section", ["train_resnet", "train_vit"])
def test_timm_train_core_matches_torch(results, section):
    if not os.path.isdir(os.path.join(EXTRA, "timm")):
        pytest.skip(f"timm not installed in {EXTRA}")
    real, ours = results
    assert compare(real, ours, section, rtol=1e-4, atol=1e-5) >= 8
    assert bool(ours[f"{section}.resumed_equal"])
