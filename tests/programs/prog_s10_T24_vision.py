"""Vision libraries built on torch + torchvision/timm, the way their READMEs use them:
lpips (LPIPS with alex/vgg/squeeze trunks, random trunk weights), piq (LPIPS and DISTS with a
random VGG16 and NumPy-made layer weights instead of downloads), segmentation-models-pytorch
(Unet/FPN/DeepLabV3+ with torchvision-style and timm ("tu-") encoders, losses, metrics, a
training step) and denoising-diffusion-pytorch (Unet + GaussianDiffusion: losses, gradients,
Adam steps, DDPM and DDIM sampling). Weights come from NumPy so both libraries hold the same
numbers. Keys ``<section>.<name>``; a section that raises records ``ERR.<section>``.
Usage: ``python prog_s10_T24_vision.py OUT.npz`` (or under ``python -m deltagrad run``)."""

import sys
import traceback
import types

import numpy as np
import torch
import tv_common

tv_common.declare_torchvision_ops()  # (real PyTorch: see tv_common)

import torchvision  # noqa: E402

OUT: dict = {}


def put(key, value):
    tv_common.put(OUT, key, value)


fill_from_numpy = tv_common.fill_state_from_numpy


def images(seed, shape=(2, 3, 32, 32), low=0.0, high=1.0):
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.uniform(low, high, shape).astype(np.float32))


def sec_lpips():
    import lpips

    lpips.pretrained_networks.tv.vgg16 = light_vgg16
    for net in ("alex", "vgg", "squeeze"):
        torch.manual_seed(0)
        metric = lpips.LPIPS(pretrained=False, net=net, pnet_rand=True, verbose=False)
        fill_from_numpy(metric, seed=len(net))
        batch = 2 if net == "alex" else 1  # (VGG16 is the costly trunk)
        x = images(1, shape=(batch, 3, 32, 32), low=-1.0).requires_grad_(True)
        y = images(2, shape=(batch, 3, 32, 32), low=-1.0)
        dist = metric(x, y)
        put(f"lpips.{net}.dist", dist)
        (grad,) = torch.autograd.grad(dist.sum(), x)
        put(f"lpips.{net}.grad", grad)
        put(f"lpips.{net}.normalize", metric(images(3, shape=x.shape), images(4, shape=x.shape),
                                             normalize=True))
        put(f"lpips.{net}.layers", metric(x, y, retPerLayer=True)[1][0])
    spatial = lpips.LPIPS(pretrained=False, net="alex", pnet_rand=True, spatial=True,
                          verbose=False)
    fill_from_numpy(spatial, seed=7)
    put("lpips.spatial", spatial(images(5, low=-1.0), images(6, low=-1.0)))
    baseline = lpips.LPIPS(pretrained=False, net="alex", pnet_rand=True, lpips=False,
                           verbose=False)
    fill_from_numpy(baseline, seed=8)
    put("lpips.baseline", baseline(images(5, low=-1.0), images(6, low=-1.0)))
    # the helper functions of lpips' own utilities
    a = np.random.default_rng(9).uniform(0, 255, (16, 16, 3)).astype(np.uint8)
    put("lpips.im2tensor", lpips.im2tensor(a))
    put("lpips.tensor2im", lpips.tensor2im(lpips.im2tensor(a)))
    put("lpips.l2", np.float64(lpips.l2(a.astype(np.float64), a[::-1].astype(np.float64))))


def sec_shipped_lpips():
    """The learned linear heads shipped in lpips' wheel (legacy PyTorch pickles read by
    torch.load) on a NumPy-filled trunk: the metric as the README builds it, less ImageNet."""
    import lpips

    for net in ("alex", "squeeze"):
        shipped = lpips.LPIPS(net=net, pnet_rand=True, verbose=False)
        put(f"shipped_lpips.{net}.lin0", shipped.lin0.model[-1].weight)
        fill_from_numpy(shipped.net, seed=9)
        put(f"shipped_lpips.{net}.dist", shipped(images(5, low=-1.0), images(6, low=-1.0)))


def piq_weights(url, *args, **kwargs):
    """NumPy-made stand-ins for the two learned-weight files piq downloads."""
    rng = np.random.default_rng(len(url))
    if "dists" in url:
        total = 3 + 64 + 128 + 256 + 512 + 512
        return {key: torch.from_numpy(rng.uniform(0.01, 0.1, (1, total, 1, 1)).astype(
            np.float32)) for key in ("alpha", "beta")}
    return [torch.from_numpy(rng.uniform(0.0, 0.2, (1, c, 1, 1)).astype(np.float32))
            for c in (64, 128, 256, 512, 512)]


def light_vgg16(pretrained=False, progress=True, **kwargs):
    """torchvision's VGG16 convolutional trunk with NumPy weights, without the 120M-parameter
    classifier that lpips and piq drop anyway (its random init would dominate the run)."""
    features = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["D"])
    fill_from_numpy(features, seed=16)
    return types.SimpleNamespace(features=features)


def sec_piq():
    import piq
    import piq.perceptual as perceptual

    torch.hub.load_state_dict_from_url = piq_weights
    perceptual.vgg16 = light_vgg16
    # one 32 px image (the smallest VGG16's five max-pools take): VGG16 is the costly part
    x = images(11, shape=(1, 3, 32, 32)).requires_grad_(True)
    y = images(12, shape=(1, 3, 32, 32))
    for name, metric in (("lpips", piq.LPIPS()), ("lpips_mae", piq.LPIPS(distance="mae")),
                         ("dists", piq.DISTS()),
                         ("lpips_none", piq.LPIPS(reduction="none", replace_pooling=True))):
        loss = metric(x, y)
        put(f"piq.{name}", loss)
        (grad,) = torch.autograd.grad(loss.sum(), x)
        put(f"piq.{name}.grad", grad)
    content = piq.ContentLoss(feature_extractor="vgg16", layers=("relu2_2", "relu3_3"),
                              weights=[1.0, 0.5], normalize_features=True)
    put("piq.content", content(x, y))
    style = piq.StyleLoss(feature_extractor="vgg16", layers=("relu2_2",))
    put("piq.style", style(x, y))


def run_segmenter(tag, model, seed):
    """Eval forward + input gradient in float32; a train-mode forward/backward in float64
    (batch statistics over 2 x 2 x 2 maps amplify float32 rounding far beyond 1e-4)."""
    fill_from_numpy(model, seed=seed)
    x = images(seed, shape=(2, 3, 64, 64), low=-1.0).requires_grad_(True)
    model.eval()
    out = model(x)
    put(f"smp.{tag}.eval", out)
    (grad,) = torch.autograd.grad(out.square().mean(), x)
    put(f"smp.{tag}.eval_grad", grad)
    model.train().double()
    out = model(x.detach().double())
    put(f"smp.{tag}.train", out)
    out.square().mean().backward()
    grads = [p.grad.norm() for p in model.parameters() if p.grad is not None]
    put(f"smp.{tag}.gradnorms", torch.stack(grads))
    put(f"smp.{tag}.nparams", sum(p.numel() for p in model.parameters()))
    put(f"smp.{tag}.running_var", [b for n, b in model.named_buffers() if "running_var" in n][-1])


def _smp_models():
    import segmentation_models_pytorch as smp

    return {
        "unet_resnet18": lambda: smp.Unet("resnet18", encoder_weights=None, classes=3,
                                         decoder_channels=(64, 32, 16, 8, 4)),
        "fpn_mobilenet_v2": lambda: smp.FPN("mobilenet_v2", encoder_weights=None, classes=2,
                                           decoder_pyramid_channels=32,
                                           decoder_segmentation_channels=32),
        "deeplabv3plus_resnet18": lambda: smp.DeepLabV3Plus("resnet18", encoder_weights=None,
                                                           classes=2,
                                                           decoder_channels=32),
        "unet_tu_resnet18": lambda: smp.Unet("tu-resnet18", encoder_weights=None, classes=1,
                                            encoder_depth=4,
                                            decoder_channels=(32, 16, 8, 4)),
        "linknet_tu_mobilenetv3": lambda: smp.Linknet("tu-mobilenetv3_small_050",
                                                     encoder_weights=None, classes=2),
        "unetpp_resnet18": lambda: smp.UnetPlusPlus("resnet18", encoder_weights=None,
                                                   classes=1, encoder_depth=3,
                                                   decoder_channels=(16, 8, 4)),
    }


# (run under soak only since s24: test_s10_T24_vision_libs.py says why)
_SMP_MORE = ("deeplabv3plus_resnet18", "linknet_tu_mobilenetv3", "unetpp_resnet18")


def _run_smp(more):
    for index, (tag, make) in enumerate(_smp_models().items()):
        if (tag in _SMP_MORE) != more:
            continue
        try:
            torch.manual_seed(0)
            run_segmenter(tag, make(), seed=20 + index)
        except Exception:
            OUT[f"ERR.smp.{tag}"] = np.array(traceback.format_exc())


def sec_smp():
    _run_smp(more=False)


def sec_smp_more():
    _run_smp(more=True)


def sec_smp_losses():
    import segmentation_models_pytorch as smp

    rng = np.random.default_rng(30)
    logits = torch.from_numpy(rng.standard_normal((2, 3, 16, 16)).astype(np.float32))
    labels = torch.from_numpy(rng.integers(0, 3, (2, 16, 16)))
    binary_logits = torch.from_numpy(rng.standard_normal((2, 1, 16, 16)).astype(np.float32))
    binary_mask = torch.from_numpy((rng.random((2, 1, 16, 16)) > 0.5).astype(np.float32))
    losses = {
        "dice_multiclass": (smp.losses.DiceLoss("multiclass"), logits, labels),
        "dice_binary": (smp.losses.DiceLoss("binary"), binary_logits, binary_mask),
        "dice_multilabel": (smp.losses.DiceLoss("multilabel", log_loss=True), logits,
                            (logits > 0).float()),
        "focal_multiclass": (smp.losses.FocalLoss("multiclass"), logits, labels),
        "focal_binary": (smp.losses.FocalLoss("binary", alpha=0.25), binary_logits,
                         binary_mask),
        "jaccard_multiclass": (smp.losses.JaccardLoss("multiclass"), logits, labels),
        "jaccard_binary": (smp.losses.JaccardLoss("binary"), binary_logits, binary_mask),
        "tversky": (smp.losses.TverskyLoss("multiclass", alpha=0.3, beta=0.7), logits, labels),
        "lovasz_multiclass": (smp.losses.LovaszLoss("multiclass"), logits, labels),
        "lovasz_binary": (smp.losses.LovaszLoss("binary"), binary_logits, binary_mask),
        "soft_bce": (smp.losses.SoftBCEWithLogitsLoss(smooth_factor=0.1), binary_logits,
                     binary_mask),
        "soft_ce": (smp.losses.SoftCrossEntropyLoss(smooth_factor=0.1), logits, labels),
        "mcc": (smp.losses.MCCLoss(), binary_logits.sigmoid(), binary_mask),
    }
    for name, (loss_fn, pred, target) in losses.items():
        try:
            pred = pred.clone().requires_grad_(True)
            value = loss_fn(pred, target)
            put(f"smp_losses.{name}", value)
            (grad,) = torch.autograd.grad(value, pred)
            put(f"smp_losses.{name}.grad", grad)
        except Exception:
            OUT[f"ERR.smp_losses.{name}"] = np.array(traceback.format_exc())


def sec_smp_metrics():
    import segmentation_models_pytorch as smp

    rng = np.random.default_rng(31)
    output = torch.from_numpy(rng.random((4, 3, 16, 16)).astype(np.float32))
    target = torch.from_numpy(rng.integers(0, 2, (4, 3, 16, 16)))
    tp, fp, fn, tn = smp.metrics.get_stats(output, target, mode="multilabel", threshold=0.5)
    for name, value in (("tp", tp), ("fp", fp), ("fn", fn), ("tn", tn)):
        put(f"smp_metrics.{name}", value)
    for reduction in ("micro", "macro", "weighted", "micro-imagewise", "none"):
        weights = [0.2, 0.3, 0.5] if reduction == "weighted" else None
        for metric in ("iou_score", "f1_score", "accuracy", "recall", "precision",
                       "balanced_accuracy", "fbeta_score"):
            put(f"smp_metrics.{metric}.{reduction}",
                getattr(smp.metrics, metric)(tp, fp, fn, tn, reduction=reduction,
                                             class_weights=weights))
    pred = torch.from_numpy(rng.integers(0, 4, (2, 8, 8)))
    true = torch.from_numpy(rng.integers(0, 4, (2, 8, 8)))
    stats = smp.metrics.get_stats(pred, true, mode="multiclass", num_classes=4)
    put("smp_metrics.multiclass_iou", smp.metrics.iou_score(*stats, reduction="macro"))
    put("smp_metrics.multiclass_tp", stats[0])


def sec_smp_train():
    import segmentation_models_pytorch as smp

    torch.manual_seed(0)
    model = smp.Unet("resnet18", encoder_weights=None, classes=1, encoder_depth=3,
                     decoder_channels=(16, 8, 4))
    fill_from_numpy(model, seed=40)
    loss_fn = smp.losses.DiceLoss("binary")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = images(41, shape=(2, 3, 32, 32), low=-1.0)
    mask = (images(42, shape=(2, 1, 32, 32)) > 0.5).float()
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        loss = loss_fn(model(x), mask)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    put("smp_train.losses", torch.stack(losses))
    put("smp_train.weight", model.segmentation_head[0].weight)


def sec_ddpm():
    from denoising_diffusion_pytorch import GaussianDiffusion, Unet

    torch.manual_seed(0)
    model = Unet(dim=8, dim_mults=(1, 2), channels=3, flash_attn=False, attn_dim_head=8,
                 attn_heads=2)
    fill_from_numpy(model, seed=50)
    for objective in ("pred_noise", "pred_x0", "pred_v"):
        diffusion = GaussianDiffusion(model, image_size=16, timesteps=20,
                                      objective=objective, beta_schedule="cosine")
        put(f"ddpm.{objective}.betas", diffusion.betas)
        put(f"ddpm.{objective}.loss_weight", diffusion.loss_weight)
        x = images(51, shape=(2, 3, 16, 16))
        torch.manual_seed(1)
        t = torch.tensor([3, 15])
        noise = images(52, shape=(2, 3, 16, 16), low=-1.0)
        loss = diffusion.p_losses(diffusion.normalize(x), t, noise=noise)
        put(f"ddpm.{objective}.loss", loss)
        grads = torch.autograd.grad(loss, list(model.parameters()))
        put(f"ddpm.{objective}.gradnorm", torch.stack([g.norm() for g in grads]))
    # the README loop: loss = diffusion(images); loss.backward(); torch's RNG draws t, noise
    diffusion = GaussianDiffusion(model, image_size=16, timesteps=20, sampling_timesteps=5)
    optimizer = torch.optim.Adam(diffusion.parameters(), lr=1e-3)
    torch.manual_seed(2)
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        loss = diffusion(images(53, shape=(2, 3, 16, 16)))
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    put("ddpm.train.losses", torch.stack(losses))
    put("ddpm.train.final_conv", model.final_conv.weight)
    torch.manual_seed(3)
    put("ddpm.sample_ddim", diffusion.sample(batch_size=2))
    slow = GaussianDiffusion(model, image_size=16, timesteps=4)
    torch.manual_seed(4)
    put("ddpm.sample_ddpm", slow.sample(batch_size=1))


def sec_ddpm_more():
    import denoising_diffusion_pytorch as ddp

    torch.manual_seed(0)
    model = ddp.Unet1D(dim=8, dim_mults=(1, 2), channels=2, attn_dim_head=8, attn_heads=2)
    fill_from_numpy(model, seed=60)
    diffusion = ddp.GaussianDiffusion1D(model, seq_length=16, timesteps=10, objective="pred_v")
    sequences = images(61, shape=(2, 2, 16))
    torch.manual_seed(1)
    loss = diffusion(sequences)
    put("ddpm_more.1d.loss", loss)
    put("ddpm_more.1d.gradnorm", torch.stack(
        [g.norm() for g in torch.autograd.grad(loss, list(model.parameters()))]))
    torch.manual_seed(2)
    put("ddpm_more.1d.sample", diffusion.sample(batch_size=2))

    torch.manual_seed(0)
    net = ddp.Unet(dim=8, dim_mults=(1, 2), channels=3, attn_dim_head=8, attn_heads=2,
                   learned_sinusoidal_cond=True)
    fill_from_numpy(net, seed=62)
    elucidated = ddp.ElucidatedDiffusion(net, image_size=8, num_sample_steps=4)
    torch.manual_seed(3)
    loss = elucidated(images(63, shape=(2, 3, 8, 8)))
    put("ddpm_more.elucidated.loss", loss)
    loss.backward()
    put("ddpm_more.elucidated.grad", net.final_conv.weight.grad)
    torch.manual_seed(4)
    put("ddpm_more.elucidated.sample", elucidated.sample(batch_size=1))

    torch.manual_seed(0)
    karras = ddp.KarrasUnet(image_size=16, dim=8, dim_max=16, num_downsamples=2,
                            channels=3, num_classes=4, attn_dim_head=8)
    fill_from_numpy(karras, seed=64)
    out = karras(images(65, shape=(2, 3, 16, 16)), time=torch.tensor([0.3, 0.7]),
                 class_labels=torch.tensor([1, 3]))
    put("ddpm_more.karras.out", out)
    put("ddpm_more.karras.grad", torch.autograd.grad(out.square().mean(),
                                                     karras.input_block.weight)[0])
    sched = ddp.InvSqrtDecayLRSched(torch.optim.Adam(karras.parameters(), lr=1e-2),
                                    t_ref=10, sigma_ref=1.0)
    rates = []
    for _ in range(12):
        sched.step()
        rates.append(sched.get_last_lr()[0])
    put("ddpm_more.karras.lr", np.array(rates))


def sec_ddpm_trainer():
    """The README's Trainer on 100 PNG files: 2 steps, samples and a checkpoint at step 2."""
    import os

    from denoising_diffusion_pytorch import GaussianDiffusion, Trainer, Unet
    from PIL import Image

    folder = os.path.splitext(sys.argv[1])[0] + "_ddpm"
    os.makedirs(folder + "/images", exist_ok=True)
    rng = np.random.default_rng(70)
    for index in range(100):
        pixels = rng.integers(0, 256, (8, 8, 3)).astype(np.uint8)
        Image.fromarray(pixels).save(f"{folder}/images/{index:03d}.png")
    torch.manual_seed(0)
    model = Unet(dim=8, dim_mults=(1, 2), channels=3, attn_dim_head=8, attn_heads=2)
    fill_from_numpy(model, seed=71)
    diffusion = GaussianDiffusion(model, image_size=8, timesteps=10, sampling_timesteps=4)
    trainer = Trainer(diffusion, folder + "/images", train_batch_size=16, train_lr=1e-3,
                      train_num_steps=2, save_and_sample_every=2, num_samples=4,
                      results_folder=folder + "/results", calculate_fid=False,
                      augment_horizontal_flip=False)
    trainer.dl = iter(torch.utils.data.DataLoader(trainer.ds, batch_size=16, shuffle=True))
    torch.manual_seed(1)
    trainer.train()
    put("ddpm_trainer.final_conv", model.final_conv.weight)
    put("ddpm_trainer.ema", trainer.ema.ema_model.model.final_conv.weight)
    checkpoint = torch.load(folder + "/results/model-1.pt", weights_only=False)
    put("ddpm_trainer.ckpt_step", checkpoint["step"])
    put("ddpm_trainer.ckpt_keys", " ".join(sorted(checkpoint)))
    put("ddpm_trainer.ckpt_conv", checkpoint["model"]["model.final_conv.weight"])
    put("ddpm_trainer.samples", np.asarray(Image.open(folder + "/results/sample-1.png")))


def main():
    wanted = sys.argv[2:]
    for name, section in list(globals().items()):
        if name.startswith("sec_") and (not wanted or name[4:] in wanted):
            try:
                section()
            except Exception:
                OUT[f"ERR.{name[4:]}"] = np.array(traceback.format_exc())
    np.savez(sys.argv[1], **OUT)


if __name__ == "__main__":
    main()
