"""fastai and timm's optimizers / schedulers under ``import deltagrad as torch`` (LD, session
13): prog_s13_LD_fastai.py (which imports prog_s13_LD_timm.py) on the real PyTorch and under
``python -m deltagrad run``, one process a side.

fastai: a tabular learner, collaborative filtering, an image learner on generated PNGs,
fastai's optimizers, layers and losses agree (losses per batch, metrics, predictions,
weights). Its fixes (session 13): fastai's DataLoader drives PyTorch's
``_SingleProcessDataLoaderIter`` with a stand-in loader of the ``_DatasetKind.Iterable`` kind;
``torch.amp.grad_scaler.OptState``; ``torch._utils._flatten_dense_tensors``; its TensorBase's
``__torch_function__`` conversion runs with dispatch off, methods patched onto Tensor do not
dispatch, and ``as_subclass`` never does (tests in test_s13_LD_fixes.py).

timm: 26 more optimizers through create_optimizer_v2 (Adafactor, Adan, ADOPT, LAMB / LARS,
LaProp, Lookahead, MADGRAD, MARS, NovoGrad, SGDP, Kron, Muon, AdaHessian, ...) and schedulers
(multistep, plateau, poly, tanh, per-update) beyond session 10's: losses, parameters, state and
learning rates agree.
"""

from __future__ import annotations

import ast
import importlib.util
import os

import pytest
from alias_runs import compare, run_both

pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
# (torchvision and timm live in .venv/tv-extra, on the programs' path only: see
# test_s10_V1_timm.py)
EXTRA = os.path.join(os.path.dirname(os.path.dirname(HERE)), ".venv", "tv-extra")
if not all(os.path.isdir(os.path.join(EXTRA, name)) for name in ("torchvision", "timm")):
    pytest.skip(f"torchvision / timm not installed in {EXTRA}", allow_module_level=True)
FASTAI = importlib.util.find_spec("fastai") is not None
FASTAI_PARTS = ["tabular", "collab", "vision", "optimizers", "layers"]


def timm_optimizers() -> list:
    """The OPTIMIZERS table's names in prog_s13_LD_timm.py (read without importing timm)."""
    with open(os.path.join(HERE, "prog_s13_LD_timm.py")) as source:
        tree = ast.parse(source.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "OPTIMIZERS":
            return [key.value for key in node.value.keys]
    raise AssertionError("no OPTIMIZERS table in prog_s13_LD_timm.py")


OPTIMIZERS = timm_optimizers()


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("s13_LD_tv_libs")
    chosen = [f"optim.{name}" for name in OPTIMIZERS] + ["scheduler"]
    if FASTAI:
        chosen += FASTAI_PARTS
    return run_both(os.path.join(HERE, "prog_s13_LD_fastai.py"), folder, ",".join(chosen),
                    env={"PYTHONPATH": EXTRA})


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_timm_optimizer_steps_match_torch(results, name):
    # (float64 network: losses, parameters and their dtype, param-group count, optimizer
    # state's size; NovoGrad's layer norms sum in another order: 3e-9 apart after 4 steps)
    assert compare(*results, f"optim.{name}", rtol=1e-7, atol=1e-9) == 5


def test_timm_schedulers_match_torch(results):
    assert compare(*results, "scheduler", rtol=1e-12, atol=0) == 12


needs_fastai = pytest.mark.skipif(not FASTAI, reason="fastai is not installed")


@needs_fastai
def test_fastai_tabular_learner_one_cycle_preds_and_predict(results):
    assert compare(*results, "tabular", rtol=1e-4, atol=1e-5) == 11


@needs_fastai
def test_fastai_collab_dot_bias_and_neural(results):
    assert compare(*results, "collab", rtol=1e-4, atol=1e-5) == 6


@needs_fastai
def test_fastai_vision_learner_on_image_folder(results):
    assert compare(*results, "vision", rtol=1e-4, atol=1e-5) == 8


@needs_fastai
def test_fastai_optimizers(results):
    # (float64 network, 7 steps)
    assert compare(*results, "optimizers", rtol=1e-9, atol=1e-12) == 14


@needs_fastai
def test_fastai_layers_and_losses(results):
    # (the attention blocks' input gradients reach 1e3: float32 rounding of 1e-4 there)
    assert compare(*results, "layers", rtol=1e-4, atol=1e-5,
                   atol_for={"layers.simple_attn.grad": 1e-3,
                             "layers.pooled_attn.grad": 1e-3,
                             "layers.attn.grad": 1e-3}) == 34
