"""timm's train.py core, small: create_model (test_resnet / test_vit, drop_path),
create_dataset-style ImageFolder over generated PNGs through timm's create_loader (training
transforms: RandomResizedCrop, flip, RandAugment, RandomErasing; no prefetcher, no workers),
create_optimizer_v2, create_scheduler_v2 (cosine + warmup, step_update per batch), Mixup /
CutMix with SoftTargetCrossEntropy, LabelSmoothingCrossEntropy, ModelEmaV3, gradient clipping,
validate() with timm.utils.accuracy / AverageMeter, CheckpointSaver and resume_checkpoint.
Keys ``<section>.<name>``; a section that raises records ``ERR.<section>``.
Usage: ``python prog_s10_P2_timm.py OUT.npz [SECTION ...]``."""

import atexit
import os
import random
import shutil
import sys
import tempfile
import traceback
from types import SimpleNamespace

import numpy as np
import torch
import tv_common

tv_common.declare_torchvision_ops()  # (real PyTorch: see tv_common)

import torch.nn as nn  # noqa: E402
from PIL import Image  # noqa: E402
from timm import utils  # noqa: E402
from timm.data import ImageDataset, Mixup, create_loader, resolve_data_config  # noqa: E402
from timm.layers import set_layer_config  # noqa: E402
from timm.loss import LabelSmoothingCrossEntropy, SoftTargetCrossEntropy  # noqa: E402
from timm.models import create_model, resume_checkpoint  # noqa: E402
from timm.optim import create_optimizer_v2  # noqa: E402
from timm.scheduler import create_scheduler_v2  # noqa: E402
from timm.utils import ModelEmaV3  # noqa: E402

OUT: dict = {}
ROOT = tempfile.mkdtemp(prefix="p2_timm_")
atexit.register(shutil.rmtree, ROOT, True)


def put(key, value):
    tv_common.put(OUT, key, value)


def fill_from_numpy(model, seed=0):
    """Every floating parameter from NumPy: the seeded trunc_normal_ init agrees with PyTorch's
    only to the last float32 bit (its vectorised sampling rounds differently)."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, value in model.named_parameters():
            shape = tuple(value.shape)
            if len(shape) <= 1:
                array = 0.1 * rng.standard_normal(shape) + (1.0 if "weight" in name else 0.0)
            else:
                array = rng.standard_normal(shape) / np.sqrt(np.prod(shape[1:]))
            value.copy_(torch.from_numpy(array.astype(np.float32)))


def write_pngs(folder, classes, per_class, size, seed):
    rng = np.random.default_rng(seed)
    for name in classes:
        os.makedirs(os.path.join(folder, name), exist_ok=True)
        for index in range(per_class):
            array = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
            Image.fromarray(array).save(os.path.join(folder, name, f"{index}.png"))


def train_one_epoch(epoch, model, loader, optimizer, loss_fn, args, lr_scheduler, model_ema,
                    mixup_fn, num_updates):
    losses_m = utils.AverageMeter()
    model.train()
    lrs = []
    for _batch_idx, (input, target) in enumerate(loader):
        if mixup_fn is not None:
            input, target = mixup_fn(input, target)
        output = model(input)
        loss = loss_fn(output, target)
        optimizer.zero_grad()
        loss.backward()
        if args.clip_grad is not None:
            utils.dispatch_clip_grad(model.parameters(), value=args.clip_grad,
                                     mode=args.clip_mode)
        optimizer.step()
        num_updates += 1
        if model_ema is not None:
            model_ema.update(model, step=num_updates)
        losses_m.update(loss.item(), input.size(0))
        lr_scheduler.step_update(num_updates=num_updates, metric=losses_m.avg)
        lrs.append(optimizer.param_groups[0]["lr"])
    return {"loss": losses_m.avg}, num_updates, lrs


def validate(model, loader, loss_fn):
    losses_m = utils.AverageMeter()
    top1_m = utils.AverageMeter()
    top5_m = utils.AverageMeter()
    model.eval()
    with torch.no_grad():
        for _batch_idx, (input, target) in enumerate(loader):
            output = model(input)
            if isinstance(output, (tuple, list)):
                output = output[0]
            loss = loss_fn(output, target)
            acc1, acc5 = utils.accuracy(output, target, topk=(1, 5))
            reduced_loss = loss.data
            losses_m.update(reduced_loss.item(), input.size(0))
            top1_m.update(acc1.item(), output.size(0))
            top5_m.update(acc5.item(), output.size(0))
    return {"loss": losses_m.avg, "top1": top1_m.avg, "top5": top5_m.avg}


def run_train(name, model_name, opt, mixup, model_kwargs):
    random.seed(42)
    np.random.seed(42)
    torch.manual_seed(42)
    args = SimpleNamespace(model=model_name, num_classes=4, drop=0.1, drop_path=0.1, opt=opt,
                           lr=0.01, weight_decay=0.05, momentum=0.9, sched="cosine",
                           epochs=2, warmup_epochs=1, warmup_lr=1e-4, min_lr=1e-5,
                           clip_grad=1.0, clip_mode="norm", smoothing=0.1,
                           model_ema_decay=0.9, batch_size=4, model_kwargs=model_kwargs)
    with set_layer_config(scriptable=False, exportable=False, no_jit=False):
        model = create_model(args.model, pretrained=False, in_chans=3,
                             num_classes=args.num_classes, drop_rate=args.drop,
                             drop_path_rate=args.drop_path, **args.model_kwargs)
    fill_from_numpy(model, seed=len(model_name))
    data_config = resolve_data_config({"input_size": (3, 32, 32)}, model=model)
    dataset_train = ImageDataset(os.path.join(ROOT, "train"))
    dataset_eval = ImageDataset(os.path.join(ROOT, "val"))
    loader_train = create_loader(
        dataset_train, input_size=data_config["input_size"], batch_size=args.batch_size,
        is_training=True, use_prefetcher=False, no_aug=False, re_prob=0.25, re_mode="pixel",
        scale=(0.5, 1.0), hflip=0.5, auto_augment="rand-m9-mstd0.5-inc1",
        interpolation="bilinear", mean=data_config["mean"], std=data_config["std"],
        num_workers=0, device=torch.device("cpu"))
    loader_eval = create_loader(
        dataset_eval, input_size=data_config["input_size"], batch_size=args.batch_size,
        is_training=False, use_prefetcher=False, interpolation=data_config["interpolation"],
        mean=data_config["mean"], std=data_config["std"], num_workers=0,
        crop_pct=data_config["crop_pct"], device=torch.device("cpu"))
    optimizer = create_optimizer_v2(model, opt=args.opt, lr=args.lr,
                                    weight_decay=args.weight_decay, momentum=args.momentum)
    model_ema = ModelEmaV3(model, decay=args.model_ema_decay)
    updates_per_epoch = len(loader_train)
    lr_scheduler, num_epochs = create_scheduler_v2(
        optimizer, sched=args.sched, num_epochs=args.epochs, warmup_epochs=args.warmup_epochs,
        warmup_lr=args.warmup_lr, min_lr=args.min_lr, updates_per_epoch=updates_per_epoch)
    mixup_fn = None
    if mixup:
        mixup_fn = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, prob=1.0, switch_prob=0.5,
                         mode="batch", label_smoothing=args.smoothing,
                         num_classes=args.num_classes)
        train_loss_fn = SoftTargetCrossEntropy()
    else:
        train_loss_fn = LabelSmoothingCrossEntropy(smoothing=args.smoothing)
    validate_loss_fn = nn.CrossEntropyLoss()
    output_dir = os.path.join(ROOT, name)
    os.makedirs(output_dir)
    saver = utils.CheckpointSaver(model=model, optimizer=optimizer, args=args,
                                  model_ema=model_ema, checkpoint_dir=output_dir,
                                  recovery_dir=output_dir, decreasing=False, max_history=2)
    num_updates = 0
    record, all_lrs = [], []
    for epoch in range(num_epochs):
        train_metrics, num_updates, lrs = train_one_epoch(
            epoch, model, loader_train, optimizer, train_loss_fn, args, lr_scheduler,
            model_ema, mixup_fn, num_updates)
        eval_metrics = validate(model, loader_eval, validate_loss_fn)
        ema_metrics = validate(model_ema, loader_eval, validate_loss_fn)
        lr_scheduler.step(epoch + 1, eval_metrics["top1"])
        best_metric, best_epoch = saver.save_checkpoint(epoch, metric=eval_metrics["top1"])
        record.append([train_metrics["loss"], eval_metrics["loss"], eval_metrics["top1"],
                       eval_metrics["top5"], ema_metrics["loss"], ema_metrics["top1"]])
        all_lrs += lrs
    put(f"{name}.record", np.array(record))
    put(f"{name}.lrs", np.array(all_lrs))
    put(f"{name}.best", np.array([best_metric, best_epoch]))
    put(f"{name}.files", "|".join(sorted(os.listdir(output_dir))))
    head = [p for n, p in model.named_parameters() if "head" in n or "fc" in n][0]
    put(f"{name}.head", head)
    ema_head = [p for n, p in model_ema.module.named_parameters() if "head" in n or "fc" in n]
    put(f"{name}.ema_head", ema_head[0])
    # resume: timm's resume_checkpoint into a fresh model and optimizer
    fresh = create_model(args.model, pretrained=False, num_classes=args.num_classes,
                         **args.model_kwargs)
    fresh_optimizer = create_optimizer_v2(fresh, opt=args.opt, lr=args.lr,
                                          weight_decay=args.weight_decay,
                                          momentum=args.momentum)
    resume_epoch = resume_checkpoint(fresh, os.path.join(output_dir, "last.pth.tar"),
                                     optimizer=fresh_optimizer, log_info=False,
                                     weights_only=False)  # (it holds the args namespace)
    put(f"{name}.resume_epoch", resume_epoch)
    put(f"{name}.resumed_equal",
        all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(),
                                              model.state_dict().values())))
    put(f"{name}.resumed_state_keys", len(fresh_optimizer.state_dict()["state"]))


def sec_train_resnet():
    run_train("train_resnet", "test_resnet", "sgd", mixup=True, model_kwargs={})


def sec_train_vit():
    run_train("train_vit", "test_vit", "adamw", mixup=False, model_kwargs={"img_size": 32})


def run_sections(chosen=()):
    """Run the ``sec_*`` functions (those named in ``chosen``, or all); return the results."""
    write_pngs(os.path.join(ROOT, "train"), ["a", "b", "c", "d"], 2, (36, 40), seed=1)
    write_pngs(os.path.join(ROOT, "val"), ["a", "b", "c", "d"], 1, (36, 40), seed=2)
    for name, section in list(globals().items()):
        if name.startswith("sec_") and (not chosen or name[4:] in chosen):
            try:
                section()
            except Exception:
                OUT[f"ERR.{name[4:]}"] = np.array(traceback.format_exc())
    return OUT


def main():
    np.savez(sys.argv[1], **run_sections(sys.argv[2:]))


if __name__ == "__main__":
    main()
