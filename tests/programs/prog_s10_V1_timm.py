"""timm the way its training script uses it: create_model for small architectures (weights
loaded from NumPy so both libraries hold the same numbers; eval forward + backward in float32,
a train-mode step in float64), create_optimizer_v2 steps, the schedulers, the losses, Mixup,
create_transform on a PIL image, and timm.layers building blocks. Keys ``<section>.<name>``;
a section that raises records ``ERR.<section>``.
Usage: ``python prog_s10_V1_timm.py OUT.npz`` (or under ``python -m deltagrad run``)."""

import random
import sys
import traceback

import numpy as np
import torch
import tv_common

tv_common.declare_torchvision_ops()  # (real PyTorch: see tv_common)

import timm  # noqa: E402
from PIL import Image  # noqa: E402

OUT: dict = {}


def put(key, value):
    tv_common.put(OUT, key, value)


fill_from_numpy = tv_common.fill_state_from_numpy


MODELS = {"resnet18": {}, "mobilenetv3_small_050": {}, "convnext_atto": {},
          "efficientnet_b0": {}, "vit_tiny_patch16_224": {"img_size": 32}}


def run_model(name):
    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False, num_classes=5, **MODELS[name])
    params = list(model.parameters())
    put(f"models.{name}.init_abs_mean", torch.stack([p.detach().abs().mean() for p in params]))
    put(f"models.{name}.keys", "|".join(model.state_dict().keys()))
    fill_from_numpy(model)
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.standard_normal((2, 3, 32, 32)).astype(np.float32))
    model.eval()
    out = model(x)
    torch.nn.functional.cross_entropy(out, torch.tensor([1, 4])).backward()
    put(f"models.{name}.eval_out", out)
    named = [(k, p) for k, p in model.named_parameters() if p.grad is not None]
    for key, p in named[:2] + named[-2:]:
        put(f"models.{name}.eval_grad.{key}", p.grad)
    put(f"models.{name}.eval_gradnorms", torch.stack([p.grad.double().norm() for _, p in named]))
    put(f"models.{name}.features", model.forward_features(x))
    model.zero_grad()
    model.double().train()
    size = 32 if name.startswith("vit") else 64
    x = torch.from_numpy(rng.standard_normal((4, 3, size, size)))
    out = model(x)
    torch.nn.functional.cross_entropy(out, torch.tensor([1, 4, 0, 2])).backward()
    put(f"models.{name}.train_out", out)
    put(f"models.{name}.gradnorms", torch.stack([p.grad.norm() for _, p in named]))


def sec_models():
    for name in MODELS:
        try:
            run_model(name)
        except Exception:
            OUT[f"ERR.models.{name}"] = np.array(traceback.format_exc())


def sec_optim():
    from timm.optim import create_optimizer_v2
    for opt_name in ("adamw", "sgd", "lamb", "lion", "adabelief", "radam", "nadamw"):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.LayerNorm(8),
                                    torch.nn.GELU(), torch.nn.Linear(8, 3)).double()
        optimizer = create_optimizer_v2(model, opt_name, lr=0.01, weight_decay=0.05)
        x = torch.from_numpy(np.random.default_rng(2).standard_normal((5, 6)))
        for _ in range(3):
            optimizer.zero_grad()
            model(x).square().mean().backward()
            optimizer.step()
        put(f"optim.{opt_name}", torch.cat([p.detach().flatten() for p in model.parameters()]))
        put(f"optim.{opt_name}.groups", len(optimizer.param_groups))


def sec_scheduler():
    from timm.scheduler import CosineLRScheduler, StepLRScheduler, create_scheduler_v2
    for name, make in (
            ("cosine", lambda o: CosineLRScheduler(o, t_initial=10, warmup_t=2,
                                                   warmup_lr_init=1e-4, lr_min=1e-5)),
            ("step", lambda o: StepLRScheduler(o, decay_t=3, decay_rate=0.5)),
            ("v2_cosine", lambda o: create_scheduler_v2(o, "cosine", num_epochs=8,
                                                        warmup_epochs=2)[0]),
            ("v2_plateau", lambda o: create_scheduler_v2(o, "plateau", num_epochs=8)[0])):
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        scheduler = make(optimizer)
        lrs = []
        for epoch in range(8):
            lrs.append(optimizer.param_groups[0]["lr"])
            scheduler.step(epoch + 1, metric=1.0 / (epoch + 1) if epoch < 3 else 1.0)
        put(f"scheduler.{name}", np.array(lrs))


def sec_loss():
    from timm.loss import (
        BinaryCrossEntropy,
        JsdCrossEntropy,
        LabelSmoothingCrossEntropy,
        SoftTargetCrossEntropy,
    )
    rng = np.random.default_rng(3)
    logits = torch.from_numpy(rng.standard_normal((6, 5))).requires_grad_(True)
    target = torch.tensor([0, 4, 2, 2, 1, 3])
    soft = torch.softmax(torch.from_numpy(rng.standard_normal((6, 5))), -1)
    for name, fn, tgt in (("smoothing", LabelSmoothingCrossEntropy(0.1), target),
                          ("soft", SoftTargetCrossEntropy(), soft),
                          ("bce", BinaryCrossEntropy(smoothing=0.1), target),
                          ("jsd", JsdCrossEntropy(num_splits=2, smoothing=0.1), target[:3])):
        loss = fn(logits, tgt)
        (grad,) = torch.autograd.grad(loss, logits)
        put(f"loss.{name}", loss)
        put(f"loss.{name}.grad", grad)


def sec_mixup():
    from timm.data import Mixup
    for mode in ("batch", "pair", "elem"):
        np.random.seed(0)
        random.seed(0)
        mixup = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.1, num_classes=5,
                      mode=mode, prob=1.0, switch_prob=0.5)
        x = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(0))
        target = torch.tensor([0, 1, 2, 3])
        for step in range(3):
            mixed, soft = mixup(x.clone(), target)
            put(f"mixup.{mode}.{step}.x", mixed)
            put(f"mixup.{mode}.{step}.y", soft)


def sec_data():
    from timm.data import create_transform, resolve_data_config
    model = timm.create_model("resnet18", pretrained=False, num_classes=5)
    config = resolve_data_config({"input_size": (3, 24, 24)}, model=model)
    put("data.config", repr(sorted(config.items())))
    image = Image.fromarray(np.random.default_rng(6).integers(0, 256, (40, 36, 3), np.uint8))
    eval_transform = create_transform(**config, is_training=False)
    put("data.eval", eval_transform(image))
    for name, extra in (("train", {}), ("train_aa", {"auto_augment": "rand-m9-mstd0.5"}),
                        ("train_re", {"re_prob": 0.5})):
        train = create_transform(24, is_training=True, **extra)
        random.seed(0)
        np.random.seed(0)
        torch.manual_seed(0)
        put(f"data.{name}", torch.stack([train(image) for _ in range(3)]))


def sec_layers():
    from timm import layers
    torch.manual_seed(0)
    x = torch.rand(2, 8, 6, 6, generator=torch.Generator().manual_seed(1))
    tokens = torch.rand(2, 5, 16, generator=torch.Generator().manual_seed(2))
    blocks = {
        "mlp": (layers.Mlp(16, 32, act_layer=torch.nn.GELU), tokens),
        "glu_mlp": (layers.GluMlp(16, 32), tokens),
        "attention": (layers.Attention(16, num_heads=2, qkv_bias=True), tokens),
        "se": (layers.SqueezeExcite(8, rd_ratio=0.25), x),
        "ln2d": (layers.LayerNorm2d(8), x),
        "conv_bn_act": (layers.ConvNormAct(8, 4, 3), x),
        "patch_embed": (layers.PatchEmbed(img_size=6, patch_size=3, in_chans=8, embed_dim=12),
                        x),
        "eca": (layers.EcaModule(8), x),
        "cbam": (layers.create_attn("cbam", 8), x),
        "std_conv": (layers.StdConv2d(8, 4, 3, padding=1), x),
        "split_attn": (layers.SplitAttn(8, 8, kernel_size=3, padding=1, radix=2), x),
    }
    for name, (block, inp) in blocks.items():
        torch.manual_seed(0)
        fill_from_numpy(block, seed=len(name))
        inp = inp.clone().requires_grad_(True)
        out = block(inp)
        (grad,) = torch.autograd.grad(out.square().sum(), inp)
        put(f"layers.{name}", out)
        put(f"layers.{name}.grad", grad)
    torch.manual_seed(0)
    drop = layers.DropPath(0.5)
    put("layers.drop_path", drop(torch.ones(8, 3)))
    weight = torch.empty(200, 3)
    torch.manual_seed(0)
    layers.trunc_normal_(weight, std=0.02)
    put("layers.trunc_normal", weight)
    put("layers.act", layers.create_act_layer("hard_swish")(tokens))
    put("layers.to_2tuple", repr(layers.to_2tuple(3)))


def main():
    for name, section in list(globals().items()):
        if name.startswith("sec_"):
            try:
                section()
            except Exception:
                OUT[f"ERR.{name[4:]}"] = np.array(traceback.format_exc())
    np.savez(sys.argv[1], **OUT)


if __name__ == "__main__":
    main()
