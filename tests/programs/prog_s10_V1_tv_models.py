"""torchvision's model zoo the way training scripts use it: build (seeded), load weights from
NumPy (so both libraries hold the same numbers whatever their init), forward in train and eval
mode, a loss, backward; records outputs, a few gradients, state_dict keys and the seeded
init's statistics. Keys ``<model>.<what>``; a model that raises records ``ERR.<model>``.
Usage: ``python prog_s10_V1_tv_models.py OUT.npz [MODEL ...]`` (or under
``python -m deltagrad run``)."""

import sys
import traceback

import numpy as np
import torch
import tv_common

tv_common.declare_torchvision_ops()  # (real PyTorch: see tv_common)

import torchvision  # noqa: E402
from torchvision.models.convnext import CNBlockConfig  # noqa: E402

OUT: dict = {}


def put(key, value):
    tv_common.put(OUT, key, value)


fill_from_numpy = tv_common.fill_state_from_numpy


BUILDERS = {
    "resnet18": lambda: torchvision.models.resnet18(num_classes=10),
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(num_classes=10),
    "mobilenet_v3_small": lambda: torchvision.models.mobilenet_v3_small(num_classes=10),
    # (vgg11's own classifier is 120M parameters, 25 CPU-seconds and 3 GB a side here: its
    # configuration-'A' features with a small head; vit likewise in a small configuration)
    "vgg11_features": lambda: torch.nn.Sequential(
        torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["A"]),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(512, 10)),
    "squeezenet1_1": lambda: torchvision.models.squeezenet1_1(num_classes=10),
    "shufflenet_v2_x0_5": lambda: torchvision.models.shufflenet_v2_x0_5(num_classes=10),
    "efficientnet_b0": lambda: torchvision.models.efficientnet_b0(num_classes=10),
    "vit_small": lambda: torchvision.models.VisionTransformer(
        image_size=32, patch_size=8, num_layers=2, num_heads=4, hidden_dim=64, mlp_dim=128,
        num_classes=10),
    # (ConvNeXt's stem, blocks (depthwise 7x7, LayerNorm2d, layer scale, stochastic depth) and
    # downsampling as convnext_tiny builds them, in four narrow stages: convnext_tiny's 28 M
    # parameters cost ~3.7 CPU s of this program's ~12 over both sides, session 18)
    "convnext_small_config": lambda: torchvision.models.ConvNeXt(
        [CNBlockConfig(16, 32, 1), CNBlockConfig(32, 64, 1), CNBlockConfig(64, 128, 2),
         CNBlockConfig(128, None, 1)], stochastic_depth_prob=0.1, num_classes=10),
}
SIZES = {"squeezenet1_1": 64}  # (squeezenet's pools need more than 32 pixels)


def run_model(name):
    torch.manual_seed(0)
    model = BUILDERS[name]()
    params = [p for p in model.parameters()]
    put(f"{name}.init_abs_mean", torch.stack([p.detach().abs().mean() for p in params]))
    put(f"{name}.keys", "|".join(model.state_dict().keys()))
    put(f"{name}.nparams", sum(p.numel() for p in params))
    fill_from_numpy(model)
    for module in model.modules():  # dropout / stochastic depth off: same numbers on both
        if isinstance(module, torch.nn.Dropout) or type(module).__name__ == "StochasticDepth":
            module.p = 0.0
    rng = np.random.default_rng(1)
    # Eval first (running statistics as loaded: well conditioned), forward and backward.
    size = SIZES.get(name, 32)
    x = torch.from_numpy(rng.standard_normal((2, 3, size, size)).astype(np.float32))
    model.eval()
    out = model(x)
    torch.nn.functional.cross_entropy(out, torch.tensor([1, 7])).backward()
    put(f"{name}.eval_out", out)
    named = [(k, p) for k, p in model.named_parameters() if p.grad is not None]
    for key, p in named[:2] + named[-2:]:
        put(f"{name}.eval_grad.{key}", p.grad)
    # (norms in float64: PyTorch's float32 norm of a 10^8-element gradient, VGG's first
    # classifier layer, is itself off by ~1%, single-threaded)
    put(f"{name}.eval_gradnorms", torch.stack([p.grad.double().norm() for _, p in named]))
    model.zero_grad()
    # Train mode in float64: batch statistics over 4 x 64 x 64 (BatchNorm over few samples
    # through 50 layers turns float32 rounding into noise), then the running statistics.
    size = 32 if name.startswith("vit") else 64
    x = torch.from_numpy(rng.standard_normal((4, 3, size, size)))
    model.double()
    model.train()
    out = model(x)
    loss = torch.nn.functional.cross_entropy(out, torch.tensor([1, 7, 0, 3]))
    loss.backward()
    put(f"{name}.train_out", out)
    put(f"{name}.loss", loss)
    for key, p in named[:2] + named[-2:]:
        put(f"{name}.grad.{key}", p.grad)
    put(f"{name}.gradnorms", torch.stack([p.grad.norm() for _, p in named]))
    running = [v for k, v in model.state_dict().items() if k.endswith("running_mean")]
    if running:
        put(f"{name}.running_mean0", running[0])


def main():
    names = sys.argv[2:] or list(BUILDERS)
    for name in names:
        try:
            run_model(name)
        except Exception:
            OUT[f"ERR.{name}"] = np.array(traceback.format_exc())
    np.savez(sys.argv[1], **OUT)


if __name__ == "__main__":
    main()
