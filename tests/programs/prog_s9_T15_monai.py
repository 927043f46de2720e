"""MONAI the way its tutorials use it: networks (UNet 2-d/3-d, BasicUNet, SegResNet, DenseNet,
ViT, SwinUNETR, small configs), losses (Dice, DiceCE, Focal, Tversky), metrics (Dice,
Hausdorff), the sliding-window inferer, tensor transforms, a few training steps. Every number
goes to an .npz (keys ``<section>/<name>``; a section that raises records ``<section>_ERR``).
Usage: ``python prog_s9_T15_monai.py OUT.npz`` (or under ``python -m deltagrad run``)."""

import sys
import time
import traceback

import numpy as np
import torch
from monai.data import set_track_meta

# MONAI's MetaTensor (a torch.Tensor subclass with __torch_function__) is what transforms
# return by default; with tracking off they return plain tensors.
set_track_meta(False)

OUT: dict = {}


def put(key: str, value) -> None:
    """Record a tensor (values + dtype), a number or a string."""
    if isinstance(value, torch.Tensor):
        OUT[key] = value.detach().numpy().copy()
        OUT[key + ".dtype"] = np.array(str(value.dtype))
    else:
        OUT[key] = np.array(value)


def train(section: str, model, make_loss, steps: int = 2, lr: float = 1e-2) -> None:
    """SGD-with-momentum steps on ``make_loss(model)``; records losses, gradient norms and a few
    final weights."""
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    for step in range(steps):
        opt.zero_grad()
        loss = make_loss(model)
        loss.backward()
        put(f"{section}/loss{step}", loss)
        grads = [p.grad.norm() for p in model.parameters() if p.grad is not None]
        put(f"{section}/gradnorms{step}", torch.stack(grads))
        opt.step()
    for name, p in list(model.named_parameters())[:4]:
        put(f"{section}/param.{name}", p)


def segmentation(shape, classes=2):
    """Images and one-hot-able integer labels, [N, 1, *spatial]."""
    x = torch.randn(*shape)
    labels = (x[:, :1] > 0.3).long() if classes == 2 else torch.randint(0, classes, x[:, :1].shape)
    return x, labels


def sec_unet2d():
    from monai.losses import DiceCELoss
    from monai.networks.nets import UNet
    torch.manual_seed(0)
    model = UNet(spatial_dims=2, in_channels=1, out_channels=2, channels=(4, 8, 16),
                 strides=(2, 2), num_res_units=1, norm="batch")
    x, y = segmentation((2, 1, 16, 16))
    loss = DiceCELoss(to_onehot_y=True, softmax=True)
    train("unet2d", model, lambda m: loss(m(x), y))
    model.eval()
    put("unet2d/eval", model(x))


def sec_unet3d():
    from monai.losses import DiceLoss
    from monai.networks.nets import UNet
    torch.manual_seed(1)
    model = UNet(spatial_dims=3, in_channels=1, out_channels=3, channels=(4, 8), strides=(2,),
                 num_res_units=0, norm="instance", act="prelu")
    x, y = segmentation((1, 1, 8, 8, 8), classes=3)
    loss = DiceLoss(to_onehot_y=True, softmax=True, squared_pred=True)
    train("unet3d", model, lambda m: loss(m(x), y))


def sec_basicunet():
    from monai.losses import FocalLoss
    from monai.networks.nets import BasicUNet
    torch.manual_seed(2)
    model = BasicUNet(spatial_dims=2, in_channels=1, out_channels=2,
                      features=(4, 4, 8, 8, 8, 4), upsample="deconv")
    x, y = segmentation((1, 1, 32, 32))
    loss = FocalLoss(to_onehot_y=True, gamma=2.0)
    train("basicunet", model, lambda m: loss(m(x), y), steps=1)


def sec_segresnet():
    from monai.losses import TverskyLoss
    from monai.networks.nets import SegResNet
    torch.manual_seed(3)
    model = SegResNet(spatial_dims=2, init_filters=4, in_channels=1, out_channels=2,
                      blocks_down=(1, 1), blocks_up=(1,), upsample_mode="nontrainable",
                      norm=("group", {"num_groups": 2}))
    x, y = segmentation((2, 1, 16, 16))
    loss = TverskyLoss(to_onehot_y=True, softmax=True, alpha=0.3, beta=0.7)
    train("segresnet", model, lambda m: loss(m(x), y))
    model3 = SegResNet(spatial_dims=3, init_filters=4, in_channels=1, out_channels=2,
                       blocks_down=(1, 1), blocks_up=(1,), upsample_mode="deconv",
                       norm="batch")
    put("segresnet/3d", model3(torch.randn(1, 1, 8, 8, 8)))


def sec_densenet():
    from monai.networks.nets import DenseNet
    torch.manual_seed(4)
    model = DenseNet(spatial_dims=2, in_channels=1, out_channels=3, init_features=8,
                     growth_rate=4, block_config=(2, 2), bn_size=2)
    x, y = torch.randn(2, 1, 32, 32), torch.tensor([0, 2])
    train("densenet", model, lambda m: torch.nn.functional.cross_entropy(m(x), y))


def sec_vit():
    from monai.networks.nets import ViT
    torch.manual_seed(5)
    model = ViT(in_channels=1, img_size=(16, 16), patch_size=(4, 4), hidden_size=32,
                mlp_dim=64, num_layers=2, num_heads=2, classification=True, num_classes=3,
                spatial_dims=2)
    x, y = torch.randn(2, 1, 16, 16), torch.tensor([1, 2])
    train("monai_vit", model, lambda m: torch.nn.functional.cross_entropy(m(x)[0], y))


def sec_swin():
    from monai.networks.nets import SwinUNETR
    torch.manual_seed(6)
    model = SwinUNETR(in_channels=1, out_channels=2, feature_size=12, depths=(1, 1, 1, 1),
                      num_heads=(1, 1, 1, 1), spatial_dims=2, use_v2=True)
    x = torch.randn(1, 1, 64, 64)
    out = model(x)
    put("swin/out", out)
    train("swin", model, lambda m: m(x).square().mean(), steps=1)


def sec_metrics_inferer():
    from monai.inferers import SlidingWindowInferer
    from monai.metrics import DiceMetric, HausdorffDistanceMetric
    from monai.networks.nets import UNet
    torch.manual_seed(7)
    pred = (torch.rand(2, 2, 16, 16) > 0.5).float()
    truth = (torch.rand(2, 2, 16, 16) > 0.4).float()
    dice = DiceMetric(include_background=True, reduction="mean")
    dice(pred, truth)
    put("metric/dice", dice.aggregate())
    hd = HausdorffDistanceMetric(include_background=True, percentile=95)
    put("metric/hausdorff", hd(pred, truth))
    model = UNet(spatial_dims=2, in_channels=1, out_channels=2, channels=(4, 8), strides=(2,))
    model.eval()
    image = torch.randn(1, 1, 20, 20)
    for mode in ("constant", "gaussian"):
        inferer = SlidingWindowInferer(roi_size=(8, 8), sw_batch_size=3, overlap=0.25,
                                       mode=mode)
        with torch.no_grad():
            put(f"inferer/{mode}", inferer(image, model))


def sec_transforms():
    from monai.transforms import (
        AsDiscrete,
        Compose,
        NormalizeIntensity,
        RandFlip,
        RandRotate90,
        ScaleIntensity,
    )
    torch.manual_seed(8)
    image = torch.randn(1, 12, 12) * 3 + 1
    pipeline = Compose([ScaleIntensity(), RandFlip(prob=0.7, spatial_axis=0),
                        RandRotate90(prob=0.8, max_k=3), NormalizeIntensity()])
    pipeline.set_random_state(seed=0)
    for i in range(3):
        put(f"transforms/out{i}", pipeline(image))
    put("transforms/discrete", AsDiscrete(argmax=True, to_onehot=3)(torch.randn(3, 4, 4)))


def sec_volumes():
    """3-d paths: trilinear upsampling, max/avg pooling, transposed convolutions."""
    from monai.losses import DiceFocalLoss, GeneralizedDiceLoss
    from monai.networks.nets import AttentionUnet, DenseNet, SegResNet
    torch.manual_seed(9)
    x, y = segmentation((1, 1, 8, 8, 8))
    seg = SegResNet(spatial_dims=3, init_filters=4, in_channels=1, out_channels=2,
                    blocks_down=(1, 1), blocks_up=(1,), upsample_mode="nontrainable",
                    norm=("group", {"num_groups": 2}))
    focal = DiceFocalLoss(to_onehot_y=True, softmax=True, gamma=1.5, lambda_focal=0.5)
    train("segresnet3d", seg, lambda m: focal(m(x), y))
    dense = DenseNet(spatial_dims=3, in_channels=1, out_channels=2, init_features=4,
                     growth_rate=2, block_config=(1, 1), bn_size=2)
    put("densenet3d/logits", dense(torch.randn(2, 1, 16, 16, 16)))
    att = AttentionUnet(spatial_dims=2, in_channels=1, out_channels=2, channels=(4, 8),
                        strides=(2,))
    x2, y2 = segmentation((2, 1, 16, 16))
    generalized = GeneralizedDiceLoss(to_onehot_y=True, sigmoid=True, batch=True)
    train("attention_unet", att, lambda m: generalized(m(x2), y2))
    up = torch.nn.functional.interpolate(x, scale_factor=1.5, mode="trilinear",
                                         align_corners=False)
    put("volumes/trilinear", up)


SECTIONS = [sec_unet2d, sec_unet3d, sec_basicunet, sec_segresnet, sec_densenet, sec_vit,
            sec_swin, sec_metrics_inferer, sec_transforms, sec_volumes]

def run() -> None:
    """Run every section into ``OUT`` (a failing one records its traceback)."""
    for section in SECTIONS:
        try:
            started = time.perf_counter()
            section()
            if "-v" in sys.argv:
                print(section.__name__, round(time.perf_counter() - started, 2))
        except Exception:  # recorded: the test names the failing section
            OUT[section.__name__[4:] + "_ERR"] = np.array(traceback.format_exc()[-3000:])


if __name__ == "__main__":
    run()
    np.savez(sys.argv[1], **OUT)
