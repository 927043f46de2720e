"""torchvision's FX feature extraction (``create_feature_extractor``, ``get_graph_node_names``)
and ``torch.fx.symbolic_trace`` of torchvision models, the way feature-pyramid and
inspection code uses them: node names of the train and eval graphs, the extracted features'
values, the traced GraphModule's output and its node ops; timm's FX feature mode
(FeatureGraphNet). Keys ``<model>.<what>`` (timm's ``timm.<model>.<what>``); a model that
raises records ``ERR.<model>``.
Usage: ``python prog_s14_FX_features.py OUT.npz [MODEL ...]`` (or under
``python -m deltagrad run``)."""

import sys
import traceback

import numpy as np
import torch
import tv_common

tv_common.declare_torchvision_ops()  # (real PyTorch: see tv_common)

import torchvision  # noqa: E402
from torchvision.models.feature_extraction import (  # noqa: E402
    create_feature_extractor,
    get_graph_node_names,
)

OUT: dict = {}

MODELS = {
    "resnet18": (lambda: torchvision.models.resnet18(num_classes=10),
                 {"layer1": "c2", "layer2.1.relu_1": "c3", "layer4": "c5", "avgpool": "pool",
                  "fc": "logits"}),
    "mobilenet_v3_small": (lambda: torchvision.models.mobilenet_v3_small(num_classes=10),
                           {"features.3": "f3", "features.12": "f12", "classifier.3": "out"}),
    # (its forward checks the image size with torch._assert on traced values)
    "vit_small": (lambda: torchvision.models.VisionTransformer(
        image_size=32, patch_size=8, num_layers=2, num_heads=4, hidden_dim=64, mlp_dim=128,
        num_classes=10), {"encoder.layers.encoder_layer_0": "block0", "heads": "logits"}),
}


def run_model(name: str) -> None:
    build, return_nodes = MODELS[name]
    torch.manual_seed(0)
    model = build()
    tv_common.fill_state_from_numpy(model)
    model.eval()
    train_names, eval_names = get_graph_node_names(model)
    OUT[f"{name}.train_nodes"] = np.array("\n".join(train_names))
    OUT[f"{name}.eval_nodes"] = np.array("\n".join(eval_names))
    extractor = create_feature_extractor(model, return_nodes=return_nodes)
    x = torch.from_numpy(np.random.default_rng(1).standard_normal((2, 3, 32, 32))
                         .astype(np.float32))
    with torch.no_grad():
        features = extractor(x)
        OUT[f"{name}.feature_keys"] = np.array(",".join(features))
        for key, value in features.items():
            tv_common.put(OUT, f"{name}.feature.{key}", value)
        traced = torch.fx.symbolic_trace(model)
        tv_common.put(OUT, f"{name}.traced_out", traced(x))
        tv_common.put(OUT, f"{name}.eager_out", model(x))
    OUT[f"{name}.ops"] = np.array(",".join(f"{n.op}:{n.name}" for n in traced.graph.nodes))
    # the extractor keeps training mode switching (its train graph) and its parameters train
    extractor.train()
    out = extractor(x)
    loss = sum(v.float().mean() for v in out.values())
    loss.backward()
    grads = [p.grad for p in extractor.parameters() if p.grad is not None]
    OUT[f"{name}.grad_count"] = np.array(len(grads))
    tv_common.put(OUT, f"{name}.train_loss", loss)


TIMM = ["resnet10t", "convnext_atto"]


def run_timm(name: str) -> None:
    """timm's FX feature mode (``features_only=True, feature_cls="fx"``: FeatureGraphNet,
    built on torchvision's create_feature_extractor and timm's own leaf / autowrap
    registrations)."""
    from timm.models import create_model

    torch.manual_seed(0)
    model = create_model(name, pretrained=False, features_only=True, feature_cls="fx")
    tv_common.fill_state_from_numpy(model)
    model.eval()
    OUT[f"timm.{name}.class"] = np.array(type(model).__name__)
    x = torch.from_numpy(np.random.default_rng(2).standard_normal((1, 3, 32, 32))
                         .astype(np.float32))
    with torch.no_grad():
        for i, feature in enumerate(model(x)):
            tv_common.put(OUT, f"timm.{name}.feature{i}", feature)


def main() -> None:
    out_path = sys.argv[1]
    names = sys.argv[2:] or list(MODELS) + [f"timm.{name}" for name in TIMM]
    for name in names:
        try:
            if name.startswith("timm."):
                run_timm(name[len("timm."):])
            else:
                run_model(name)
        except Exception:
            OUT[f"ERR.{name}"] = np.array(traceback.format_exc())
    np.savez(out_path, **OUT)


if __name__ == "__main__":
    main()
