"""torchvision's FX feature extraction under ``import deltagrad as torch`` (FX, session 14):
prog_s14_FX_features.py runs on the real PyTorch and under ``python -m deltagrad run``;
``get_graph_node_names`` (train and eval graphs), ``create_feature_extractor``'s features,
``torch.fx.symbolic_trace`` of the model (its node ops and names, its output) and a training
step through the extractor must agree, for resnet18, mobilenet_v3_small and a small ViT
(whose forward checks its input with torch._assert on traced values); timm's FX feature
mode (``features_only=True, feature_cls="fx"``) gives the same features for two models.
"""

from __future__ import annotations

import os

import pytest
from alias_runs import compare, run_both

pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
EXTRA = os.path.join(os.path.dirname(os.path.dirname(HERE)), ".venv", "tv-extra")
if not os.path.isdir(os.path.join(EXTRA, "torchvision")):
    pytest.skip(f"torchvision is not installed in {EXTRA}", allow_module_level=True)

MODELS = ["resnet18", "mobilenet_v3_small", "vit_small"]
TIMM = ["resnet10t", "convnext_atto"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("s14_FX_features")
    return run_both(os.path.join(HERE, "prog_s14_FX_features.py"), folder, *MODELS,
                    *[f"timm.{name}" for name in TIMM], env={"PYTHONPATH": EXTRA})


@pytest.mark.parametrize("model", MODELS)
def test_feature_extraction_matches_torch(runs, model):
    real, ours = runs
    assert f"ERR.{model}" not in ours, str(ours.get(f"ERR.{model}"))
    assert f"ERR.{model}" not in real, str(real.get(f"ERR.{model}"))
    assert compare(real, ours, model, rtol=1e-4, atol=1e-4) >= 10
    # (compare checks strings exactly: pin that the names and ops really are there)
    names = str(ours[f"{model}.eval_nodes"]).split("\n")
    assert len(names) > 20 and names[0] == "x"
    ops = str(ours[f"{model}.ops"]).split(",")
    assert ops[0] == "placeholder:x" and ops[-1] == "output:output"
    assert sum(op.startswith("call_module:") for op in ops) > 5
    assert int(ours[f"{model}.grad_count"]) > 10


@pytest.mark.parametrize("model", TIMM)
def test_timm_fx_features_match_torch(runs, model):
    real, ours = runs
    assert f"ERR.timm.{model}" not in ours, str(ours.get(f"ERR.timm.{model}"))
    assert f"ERR.timm.{model}" not in real, str(real.get(f"ERR.timm.{model}"))
    assert str(ours[f"timm.{model}.class"]) == "FeatureGraphNet"
    assert compare(real, ours, f"timm.{model}", rtol=1e-4, atol=1e-4) >= 7
