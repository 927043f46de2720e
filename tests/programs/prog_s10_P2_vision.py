"""Public torchvision-model programs, in small faithful versions: pytorch/examples
imagenet/main.py's training loop (resnet18 on FakeData, AverageMeter / ProgressMeter /
accuracy, SGD + StepLR, save_checkpoint and resume), the transfer-learning tutorial (resnet18
fine-tuned and as a frozen feature extractor, ImageFolder over generated PNGs, StepLR, best
weights saved and reloaded), fast_neural_style's Vgg16 perceptual loss (vgg16 features to
relu4_3, gram matrices, TransformerNet step) and the object-detection tutorial's parts that
run without torchvision's compiled ops (FasterRCNN with a mobilenet_v2 backbone: transform,
backbone, RPN head, anchors, target assignment and RPN losses; the full forward reaches nms
and raises). Keys ``<section>.<name>``; a section that raises records ``ERR.<section>``.
Usage: ``python prog_s10_P2_vision.py OUT.npz [SECTION ...]``."""

import atexit
import os
import shutil
import sys
import tempfile
import traceback
from collections import namedtuple

import numpy as np
import torch
import tv_common

tv_common.declare_torchvision_ops()  # (real PyTorch: see tv_common)

import torch.backends.cudnn as cudnn  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.optim as optim  # noqa: E402
import torchvision  # noqa: E402
from PIL import Image  # noqa: E402
from torch.optim import lr_scheduler  # noqa: E402
from torchvision import datasets, models, transforms  # noqa: E402

OUT: dict = {}
ROOT = tempfile.mkdtemp(prefix="p2_vision_")
atexit.register(shutil.rmtree, ROOT, True)


def put(key, value):
    tv_common.put(OUT, key, value)


def fill_from_numpy(model, seed=0):
    """Every floating parameter from NumPy. The seeded init agrees with PyTorch's only to the
    last float32 bit (its vectorised normal_ rounds differently), and lr=0.1 training on noise
    is chaotic enough to turn one bit into visible differences within a few steps."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, value in model.named_parameters():
            shape = tuple(value.shape)
            if len(shape) <= 1:
                array = 0.1 * rng.standard_normal(shape) + (1.0 if "weight" in name else 0.0)
            else:
                array = rng.standard_normal(shape) / np.sqrt(np.prod(shape[1:]))
            value.copy_(torch.from_numpy(array))
    return model


def write_pngs(folder, classes, per_class, size, seed):
    rng = np.random.default_rng(seed)
    for name in classes:
        os.makedirs(os.path.join(folder, name), exist_ok=True)
        for index in range(per_class):
            array = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
            Image.fromarray(array).save(os.path.join(folder, name, f"{index}.png"))


# ---- pytorch/examples imagenet/main.py -------------------------------------------------------
class AverageMeter:
    def __init__(self, name, fmt=":f"):
        self.name = name
        self.fmt = fmt
        self.reset()

    def reset(self):
        self.val = 0
        self.avg = 0
        self.sum = 0
        self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count

    def __str__(self):
        fmtstr = "{name} {val" + self.fmt + "} ({avg" + self.fmt + "})"
        return fmtstr.format(**self.__dict__)


class ProgressMeter:
    def __init__(self, num_batches, meters, prefix=""):
        num_digits = len(str(num_batches // 1))
        fmt = "{:" + str(num_digits) + "d}"
        self.batch_fmtstr = "[" + fmt + "/" + fmt.format(num_batches) + "]"
        self.meters = meters
        self.prefix = prefix

    def display(self, batch):
        entries = [self.prefix + self.batch_fmtstr.format(batch)]
        entries += [str(meter) for meter in self.meters]
        return "\t".join(entries)


def accuracy(output, target, topk=(1,)):
    with torch.no_grad():
        maxk = max(topk)
        batch_size = target.size(0)
        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target.view(1, -1).expand_as(pred))
        res = []
        for k in topk:
            correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
            res.append(correct_k.mul_(100.0 / batch_size))
        return res


def imagenet_train(train_loader, model, criterion, optimizer, epoch, device):
    losses = AverageMeter("Loss", ":.4e")
    top1 = AverageMeter("Acc@1", ":6.2f")
    top5 = AverageMeter("Acc@5", ":6.2f")
    progress = ProgressMeter(len(train_loader), [losses, top1, top5],
                             prefix=f"Epoch: [{epoch}]")
    model.train()
    lines = []
    for i, (images, target) in enumerate(train_loader):
        images = images.to(device, non_blocking=True)
        target = target.to(device, non_blocking=True)
        output = model(images)
        loss = criterion(output, target)
        acc1, acc5 = accuracy(output, target, topk=(1, 5))
        losses.update(loss.item(), images.size(0))
        top1.update(acc1[0], images.size(0))
        top5.update(acc5[0], images.size(0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        lines.append(progress.display(i + 1))
    return losses.avg, lines


def imagenet_validate(val_loader, model, criterion):
    top1 = AverageMeter("Acc@1", ":6.2f")
    losses = AverageMeter("Loss", ":.4e")
    model.eval()
    with torch.no_grad():
        for images, target in val_loader:
            output = model(images)
            loss = criterion(output, target)
            acc1, _ = accuracy(output, target, topk=(1, 5))
            losses.update(loss.item(), images.size(0))
            top1.update(acc1[0], images.size(0))
    return top1.avg, losses.avg


def save_checkpoint(state, is_best, filename):
    torch.save(state, filename)
    if is_best:
        shutil.copyfile(filename, os.path.join(ROOT, "model_best.pth.tar"))


def sec_imagenet():
    torch.manual_seed(0)
    cudnn.deterministic = True
    cudnn.benchmark = True
    if torch.cuda.is_available():
        device = torch.device("cuda")
    elif torch.backends.mps.is_available():
        device = torch.device("mps")
    else:
        device = torch.device("cpu")
    put("imagenet.device", str(device))
    # (--dummy's FakeData; 24 px and 10 classes instead of 224 px and 1000: seconds, not hours)
    train_dataset = datasets.FakeData(8, (3, 24, 24), 10, transforms.ToTensor())
    val_dataset = datasets.FakeData(4, (3, 24, 24), 10, transforms.ToTensor())
    train_loader = torch.utils.data.DataLoader(train_dataset, batch_size=4, shuffle=True)
    val_loader = torch.utils.data.DataLoader(val_dataset, batch_size=4, shuffle=False)
    # (float64: BatchNorm of 4 images at 1 x 1 turns float32 rounding into visible drift)
    model = fill_from_numpy(models.__dict__["resnet18"](num_classes=10).double())
    train_loader.collate_fn = lambda batch: [
        t.double() if t.is_floating_point() else t
        for t in torch.utils.data.default_collate(batch)]
    val_loader.collate_fn = train_loader.collate_fn
    model.to(device)
    criterion = nn.CrossEntropyLoss().to(device)
    optimizer = torch.optim.SGD(model.parameters(), 0.1, momentum=0.9, weight_decay=1e-4)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.1)
    best_acc1 = 0
    filename = os.path.join(ROOT, "checkpoint.pth.tar")
    record, lines = [], []
    for epoch in range(1):
        loss, shown = imagenet_train(train_loader, model, criterion, optimizer, epoch,
                                     device)
        lines += shown
        acc1, val_loss = imagenet_validate(val_loader, model, criterion)
        scheduler.step()
        is_best = acc1 > best_acc1
        best_acc1 = max(acc1, best_acc1)
        save_checkpoint({"epoch": epoch + 1, "arch": "resnet18", "state_dict": model.state_dict(),
                         "best_acc1": best_acc1, "optimizer": optimizer.state_dict(),
                         "scheduler": scheduler.state_dict()}, is_best, filename)
        record.append([loss, float(acc1), val_loss])
    # resume into fresh objects, then one more epoch on both the resumed and the original
    checkpoint = torch.load(filename, weights_only=False)
    resumed = models.__dict__[checkpoint["arch"]](num_classes=10).double()
    resumed.load_state_dict(checkpoint["state_dict"])
    resumed_optimizer = torch.optim.SGD(resumed.parameters(), 0.1, momentum=0.9,
                                        weight_decay=1e-4)
    resumed_optimizer.load_state_dict(checkpoint["optimizer"])
    resumed_scheduler = lr_scheduler.StepLR(resumed_optimizer, step_size=1, gamma=0.1)
    resumed_scheduler.load_state_dict(checkpoint["scheduler"])
    # (one batch of the validation images stands in for the next epoch's data)
    loss_resumed, _ = imagenet_train(val_loader, resumed, criterion, resumed_optimizer, 1,
                                    device)
    loss_continued, _ = imagenet_train(val_loader, model, criterion, optimizer, 1, device)
    put("imagenet.record", np.array(record))
    put("imagenet.lines", "\n".join(lines))
    put("imagenet.best_copied", os.path.exists(os.path.join(ROOT, "model_best.pth.tar")))
    put("imagenet.ckpt", np.array([checkpoint["epoch"], float(checkpoint["best_acc1"])]))
    put("imagenet.resume_losses", np.array([loss_resumed, loss_continued]))
    put("imagenet.same_after_resume", bool(torch.equal(resumed.fc.weight, model.fc.weight)))
    put("imagenet.fc", resumed.fc.weight)
    put("imagenet.lr", resumed_optimizer.param_groups[0]["lr"])


# ---- the transfer-learning tutorial ----------------------------------------------------------
def train_model(model, criterion, optimizer, scheduler, dataloaders, dataset_sizes, num_epochs):
    history = []
    with tempfile.TemporaryDirectory() as tempdir:
        best_model_params_path = os.path.join(tempdir, "best_model_params.pt")
        torch.save(model.state_dict(), best_model_params_path)
        best_acc = 0.0
        for _epoch in range(num_epochs):
            for phase in ["train", "val"]:
                if phase == "train":
                    model.train()
                else:
                    model.eval()
                running_loss = 0.0
                running_corrects = 0
                for inputs, labels in dataloaders[phase]:
                    optimizer.zero_grad()
                    with torch.set_grad_enabled(phase == "train"):
                        outputs = model(inputs)
                        _, preds = torch.max(outputs, 1)
                        loss = criterion(outputs, labels)
                        if phase == "train":
                            loss.backward()
                            optimizer.step()
                    running_loss += loss.item() * inputs.size(0)
                    running_corrects += torch.sum(preds == labels.data)
                if phase == "train":
                    scheduler.step()
                epoch_loss = running_loss / dataset_sizes[phase]
                epoch_acc = running_corrects.double() / dataset_sizes[phase]
                history.append([epoch_loss, float(epoch_acc)])
                if phase == "val" and epoch_acc > best_acc:
                    best_acc = epoch_acc
                    torch.save(model.state_dict(), best_model_params_path)
        model.load_state_dict(torch.load(best_model_params_path, weights_only=True))
    return model, np.array(history), best_acc


def sec_transfer():
    torch.manual_seed(0)
    data_dir = os.path.join(ROOT, "hymenoptera_data")
    write_pngs(os.path.join(data_dir, "train"), ["ants", "bees"], 2, (30, 34), seed=1)
    write_pngs(os.path.join(data_dir, "val"), ["ants", "bees"], 2, (30, 34), seed=2)
    # (224 / 256 px in the tutorial)
    data_transforms = {
        "train": transforms.Compose([
            transforms.RandomResizedCrop(24),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])]),
        "val": transforms.Compose([
            transforms.Resize(28),
            transforms.CenterCrop(24),
            transforms.ToTensor(),
            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])]),
    }
    image_datasets = {x: datasets.ImageFolder(os.path.join(data_dir, x), data_transforms[x])
                      for x in ["train", "val"]}
    dataloaders = {x: torch.utils.data.DataLoader(image_datasets[x], batch_size=4,
                                                  shuffle=True, num_workers=0)
                   for x in ["train", "val"]}
    dataset_sizes = {x: len(image_datasets[x]) for x in ["train", "val"]}
    put("transfer.classes", "|".join(image_datasets["train"].classes))
    put("transfer.val_batch", next(iter(dataloaders["val"]))[0])

    # (weights=None: no download; float64 as in sec_imagenet)
    model_ft = models.resnet18(weights=None)
    num_ftrs = model_ft.fc.in_features
    model_ft.fc = nn.Linear(num_ftrs, 2)
    model_ft = fill_from_numpy(model_ft.double(), seed=1)
    for loader in dataloaders.values():
        loader.collate_fn = lambda batch: [
            t.double() if t.is_floating_point() else t
            for t in torch.utils.data.default_collate(batch)]
    criterion = nn.CrossEntropyLoss()
    optimizer_ft = optim.SGD(model_ft.parameters(), lr=0.001, momentum=0.9)
    exp_lr_scheduler = lr_scheduler.StepLR(optimizer_ft, step_size=7, gamma=0.1)
    model_ft, history, best = train_model(model_ft, criterion, optimizer_ft, exp_lr_scheduler,
                                          dataloaders, dataset_sizes, num_epochs=1)
    put("transfer.ft_history", history)
    put("transfer.ft_best", float(best))
    put("transfer.ft_fc", model_ft.fc.weight)

    model_conv = torchvision.models.resnet18(weights=None)
    for param in model_conv.parameters():
        param.requires_grad = False
    num_ftrs = model_conv.fc.in_features
    model_conv.fc = nn.Linear(num_ftrs, 2)
    model_conv = fill_from_numpy(model_conv.double(), seed=2)
    optimizer_conv = optim.SGD(model_conv.fc.parameters(), lr=0.001, momentum=0.9)
    exp_lr_scheduler = lr_scheduler.StepLR(optimizer_conv, step_size=1, gamma=0.1)
    model_conv, history, best = train_model(model_conv, criterion, optimizer_conv,
                                            exp_lr_scheduler, dataloaders, dataset_sizes,
                                            num_epochs=2)
    put("transfer.conv_history", history)
    put("transfer.conv_fc", model_conv.fc.weight)
    put("transfer.conv_frozen_grad", model_conv.conv1.weight.grad is None)
    put("transfer.conv_lr", optimizer_conv.param_groups[0]["lr"])


# ---- pytorch/examples fast_neural_style (vgg.py, transformer_net.py, utils.py) --------------
class Vgg16(torch.nn.Module):
    def __init__(self, requires_grad=False):
        super().__init__()
        # (models.vgg16(pretrained=True).features: the same layers and VGG's own conv init,
        # without building the 138M-parameter classifier nobody uses here)
        vgg_pretrained_features = models.vgg.make_layers(models.vgg.cfgs["D"])
        for m in vgg_pretrained_features.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.constant_(m.bias, 0)
        self.slice1 = torch.nn.Sequential()
        self.slice2 = torch.nn.Sequential()
        self.slice3 = torch.nn.Sequential()
        self.slice4 = torch.nn.Sequential()
        for x in range(4):
            self.slice1.add_module(str(x), vgg_pretrained_features[x])
        for x in range(4, 9):
            self.slice2.add_module(str(x), vgg_pretrained_features[x])
        for x in range(9, 16):
            self.slice3.add_module(str(x), vgg_pretrained_features[x])
        for x in range(16, 23):
            self.slice4.add_module(str(x), vgg_pretrained_features[x])
        if not requires_grad:
            for param in self.parameters():
                param.requires_grad = False

    def forward(self, X):
        h = self.slice1(X)
        h_relu1_2 = h
        h = self.slice2(h)
        h_relu2_2 = h
        h = self.slice3(h)
        h_relu3_3 = h
        h = self.slice4(h)
        h_relu4_3 = h
        vgg_outputs = namedtuple("VggOutputs", ["relu1_2", "relu2_2", "relu3_3", "relu4_3"])
        out = vgg_outputs(h_relu1_2, h_relu2_2, h_relu3_3, h_relu4_3)
        return out


class ConvLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride):
        super().__init__()
        reflection_padding = kernel_size // 2
        self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        out = self.reflection_pad(x)
        out = self.conv2d(out)
        return out


class ResidualBlock(torch.nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in2 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.relu = torch.nn.ReLU()

    def forward(self, x):
        residual = x
        out = self.relu(self.in1(self.conv1(x)))
        out = self.in2(self.conv2(out))
        out = out + residual
        return out


class UpsampleConvLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride, upsample=None):
        super().__init__()
        self.upsample = upsample
        reflection_padding = kernel_size // 2
        self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        x_in = x
        if self.upsample:
            x_in = torch.nn.functional.interpolate(x_in, mode="nearest",
                                                   scale_factor=self.upsample)
        out = self.reflection_pad(x_in)
        out = self.conv2d(out)
        return out


class TransformerNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = ConvLayer(3, 32, kernel_size=9, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(32, affine=True)
        self.conv2 = ConvLayer(32, 64, kernel_size=3, stride=2)
        self.in2 = torch.nn.InstanceNorm2d(64, affine=True)
        self.conv3 = ConvLayer(64, 128, kernel_size=3, stride=2)
        self.in3 = torch.nn.InstanceNorm2d(128, affine=True)
        self.res1 = ResidualBlock(128)
        self.res2 = ResidualBlock(128)
        self.res3 = ResidualBlock(128)
        self.res4 = ResidualBlock(128)
        self.res5 = ResidualBlock(128)
        self.deconv1 = UpsampleConvLayer(128, 64, kernel_size=3, stride=1, upsample=2)
        self.in4 = torch.nn.InstanceNorm2d(64, affine=True)
        self.deconv2 = UpsampleConvLayer(64, 32, kernel_size=3, stride=1, upsample=2)
        self.in5 = torch.nn.InstanceNorm2d(32, affine=True)
        self.deconv3 = ConvLayer(32, 3, kernel_size=9, stride=1)
        self.relu = torch.nn.ReLU()

    def forward(self, X):
        y = self.relu(self.in1(self.conv1(X)))
        y = self.relu(self.in2(self.conv2(y)))
        y = self.relu(self.in3(self.conv3(y)))
        y = self.res1(y)
        y = self.res2(y)
        y = self.res3(y)
        y = self.res4(y)
        y = self.res5(y)
        y = self.relu(self.in4(self.deconv1(y)))
        y = self.relu(self.in5(self.deconv2(y)))
        y = self.deconv3(y)
        return y


def gram_matrix(y):
    (b, ch, h, w) = y.size()
    features = y.view(b, ch, w * h)
    features_t = features.transpose(1, 2)
    gram = features.bmm(features_t) / (ch * h * w)
    return gram


def normalize_batch(batch):
    mean = batch.new_tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
    std = batch.new_tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)
    batch = batch.div_(255.0)
    return (batch - mean) / std


def load_image(filename, size=None, scale=None):
    img = Image.open(filename).convert("RGB")
    if size is not None:
        img = img.resize((size, size), Image.LANCZOS)
    elif scale is not None:
        img = img.resize((int(img.size[0] / scale), int(img.size[1] / scale)), Image.LANCZOS)
    return img


def sec_neural_style():
    np.random.seed(42)
    torch.manual_seed(42)
    image_size = 16  # (256 in the example)
    write_pngs(os.path.join(ROOT, "coco", "images"), ["all"], 2, (20, 24), seed=3)
    write_pngs(os.path.join(ROOT, "style"), ["s"], 1, (30, 30), seed=4)
    transform = transforms.Compose([
        transforms.Resize(image_size),
        transforms.CenterCrop(image_size),
        transforms.ToTensor(),
        transforms.Lambda(lambda x: x.mul(255))])
    train_dataset = datasets.ImageFolder(os.path.join(ROOT, "coco"), transform)
    train_loader = torch.utils.data.DataLoader(train_dataset, batch_size=2)
    transformer = fill_from_numpy(TransformerNet(), seed=3)
    optimizer = optim.Adam(transformer.parameters(), 1e-3)
    mse_loss = torch.nn.MSELoss()
    vgg = fill_from_numpy(Vgg16(requires_grad=False), seed=4)
    style_transform = transforms.Compose([transforms.ToTensor(),
                                          transforms.Lambda(lambda x: x.mul(255))])
    style = load_image(os.path.join(ROOT, "style", "s", "0.png"), size=image_size)
    style = style_transform(style)
    style = style.repeat(2, 1, 1, 1)
    features_style = vgg(normalize_batch(style))
    gram_style = [gram_matrix(y) for y in features_style]
    content_weight, style_weight = 1e5, 1e10
    record = []
    for _epoch in range(1):
        transformer.train()
        for _batch_id, (x, _) in enumerate(train_loader):
            n_batch = len(x)
            optimizer.zero_grad()
            y = transformer(x)
            y = normalize_batch(y)
            x = normalize_batch(x)
            features_y = vgg(y)
            features_x = vgg(x)
            content_loss = content_weight * mse_loss(features_y.relu2_2, features_x.relu2_2)
            style_loss = 0.
            for ft_y, gm_s in zip(features_y, gram_style):
                gm_y = gram_matrix(ft_y)
                style_loss += mse_loss(gm_y, gm_s[:n_batch, :, :])
            style_loss *= style_weight
            total_loss = content_loss + style_loss
            total_loss.backward()
            record.append([content_loss.item(), style_loss.item()])
            put("neural_style.grad_conv1", transformer.conv1.conv2d.weight.grad)
            optimizer.step()
    put("neural_style.record", np.array(record))
    put("neural_style.gram_style", gram_style[1])
    put("neural_style.relu4_3", features_style.relu4_3)
    transformer.eval()
    with torch.no_grad():
        output = transformer(style[:1]).clamp(0, 255)
    put("neural_style.stylized", output)
    vgg_grads = [p.grad for p in vgg.parameters()]
    put("neural_style.vgg_grads_none", all(g is None for g in vgg_grads))


# ---- the TorchVision object-detection tutorial (parts without compiled ops) ------------------
def sec_detection():
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.models.detection.rpn import AnchorGenerator, concat_box_prediction_layers
    from torchvision.ops import box_iou, masks_to_boxes

    torch.manual_seed(0)
    # the PennFudan dataset's __getitem__ on a generated mask: instances -> boxes
    mask = torch.zeros(30, 36, dtype=torch.uint8)
    mask[5:20, 4:15] = 1
    mask[12:28, 20:33] = 2
    obj_ids = torch.unique(mask)
    obj_ids = obj_ids[1:]
    num_objs = len(obj_ids)
    masks = (mask == obj_ids[:, None, None]).to(dtype=torch.uint8)
    boxes = masks_to_boxes(masks)
    labels = torch.ones((num_objs,), dtype=torch.int64)
    area = (boxes[:, 3] - boxes[:, 1]) * (boxes[:, 2] - boxes[:, 0])
    iscrowd = torch.zeros((num_objs,), dtype=torch.int64)
    put("detection.boxes", boxes)
    put("detection.area", area)
    target = {"boxes": boxes, "labels": labels, "image_id": 0, "area": area,
              "iscrowd": iscrowd}

    # "2 - Modifying the model to add a different backbone" (weights=None: no download;
    # min/max size 48/64 instead of 800/1333)
    backbone = torchvision.models.mobilenet_v2(weights=None).features
    backbone.out_channels = 1280
    anchor_generator = AnchorGenerator(sizes=((32, 64, 128, 256, 512),),
                                       aspect_ratios=((0.5, 1.0, 2.0),))
    roi_pooler = torchvision.ops.MultiScaleRoIAlign(featmap_names=["0"], output_size=7,
                                                    sampling_ratio=2)
    # (box_head 16 wide instead of the default 1024: its 1280 * 7 * 7 -> 1024 layer is 64 M
    # parameters that no compared value reaches (the full forward stops at the RPN's nms);
    # built, converted to float64 and filled it cost 3.6 of the 12.2 CPU s this section alone
    # took on both sides, one thread, imports included (deltagrad 4.7 -> 3.0, PyTorch 7.5 ->
    # 5.6). Same layers and state_dict names; the backbone's and RPN's fill draws come first,
    # so every compared value is bitwise unchanged on each side.)
    model = FasterRCNN(backbone, num_classes=2, rpn_anchor_generator=anchor_generator,
                       box_roi_pool=roi_pooler, min_size=48, max_size=64,
                       box_head=TwoMLPHead(backbone.out_channels * 7 ** 2, 16))
    in_features = model.roi_heads.box_head.fc7.out_features
    model.roi_heads.box_predictor = FastRCNNPredictor(in_features, 2)
    # (float64: mobilenet_v2's train-mode BatchNorm over a 2 x 3 feature map turns float32
    # rounding into 4e-4 relative differences; in float64 both agree to 1e-12)
    fill_from_numpy(model.double(), seed=5)
    put("detection.keys", "|".join(model.state_dict()))

    image = torch.rand(3, 30, 36, generator=torch.Generator().manual_seed(1),
                       dtype=torch.float64)
    model.train()
    images, targets = model.transform([image], [target])
    put("detection.transformed", images.tensors)
    put("detection.image_sizes", np.array(images.image_sizes))
    put("detection.target_boxes", targets[0]["boxes"])
    features = {"0": model.backbone(images.tensors)}
    put("detection.features", features["0"])
    rpn = model.rpn
    objectness, pred_bbox_deltas = rpn.head(list(features.values()))
    anchors = rpn.anchor_generator(images, list(features.values()))
    put("detection.anchors", anchors[0])
    objectness, pred_bbox_deltas = concat_box_prediction_layers(objectness, pred_bbox_deltas)
    proposals = rpn.box_coder.decode(pred_bbox_deltas.detach(), anchors)
    put("detection.proposals", proposals)
    put("detection.iou", box_iou(targets[0]["boxes"], anchors[0]))
    labels_, matched_gt_boxes = rpn.assign_targets_to_anchors(anchors, targets)
    regression_targets = rpn.box_coder.encode(matched_gt_boxes, anchors)
    put("detection.anchor_labels", labels_[0])
    torch.manual_seed(3)
    loss_objectness, loss_rpn_box_reg = rpn.compute_loss(objectness, pred_bbox_deltas,
                                                         labels_, regression_targets)
    put("detection.rpn_losses", torch.stack([loss_objectness, loss_rpn_box_reg]))
    (loss_objectness + loss_rpn_box_reg).backward()
    put("detection.head_grad", rpn.head.cls_logits.weight.grad)
    # the full forward reaches nms (a compiled op): a clear error, not a wrong answer
    model.eval()
    try:
        with torch.no_grad():
            model([image])
        put("detection.full_forward", "no error")
    except Exception as error:
        put("detection.full_forward", type(error).__name__)


def run_sections(chosen=()):
    """Run the ``sec_*`` functions (those named in ``chosen``, or all); return the results."""
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
