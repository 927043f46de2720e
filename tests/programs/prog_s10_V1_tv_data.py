"""torchvision's data side the way training scripts use it: transforms (v1 and v2, on tensors
and PIL images, seeded random ones included), functional transforms, datasets (FakeData,
ImageFolder over PNGs, MNIST-format files written locally), utils (make_grid, save_image,
draw_bounding_boxes), the pure-Python ops and building blocks, and a short resnet18
fine-tuning loop on FakeData through a DataLoader. Keys ``<section>.<name>``; a section that
raises records ``ERR.<section>``.
Usage: ``python prog_s10_V1_tv_data.py OUT.npz`` (or under ``python -m deltagrad run``)."""

import io
import os
import sys
import tempfile
import traceback

import numpy as np
import torch
import tv_common

tv_common.declare_torchvision_ops()  # (real PyTorch: see tv_common)

import torchvision  # noqa: E402
from PIL import Image  # noqa: E402
from torchvision import transforms as T  # noqa: E402
from torchvision.transforms import functional as TF  # noqa: E402
from torchvision.transforms import v2  # noqa: E402

OUT: dict = {}


def put(key, value):
    if isinstance(value, torch.Tensor):
        OUT[key] = value.detach().numpy().copy()
        OUT[key + ".dtype"] = np.array(str(value.dtype))
    elif isinstance(value, Image.Image):
        OUT[key] = np.asarray(value).copy()
        OUT[key + ".mode"] = np.array(value.mode)
    else:
        OUT[key] = np.array(value)


def image_array(seed=0, size=(24, 20)):
    return np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)


def float_image(seed=0):
    return torch.from_numpy(image_array(seed).transpose(2, 0, 1).copy()).float() / 255


def sec_v1_tensor():
    x = float_image()
    pipeline = T.Compose([T.Resize(18, antialias=True), T.CenterCrop(16),
                          T.Normalize([0.5, 0.4, 0.3], [0.2, 0.25, 0.3])])
    put("v1_tensor.compose", pipeline(x))
    put("v1_tensor.resize_bilinear", T.Resize((10, 13))(x))
    put("v1_tensor.resize_nearest", T.Resize(9, T.InterpolationMode.NEAREST)(x))
    put("v1_tensor.resize_bicubic", T.Resize(11, T.InterpolationMode.BICUBIC)(x))
    for name, transform in [
            ("random_crop", T.RandomCrop(12, padding=2)),
            ("hflip", T.RandomHorizontalFlip()),
            ("vflip", T.RandomVerticalFlip(0.7)),
            ("resized_crop", T.RandomResizedCrop(10, antialias=True)),
            ("color_jitter", T.ColorJitter(0.4, 0.4, 0.4, 0.1)),
            ("erasing", T.RandomErasing(p=1.0)),
            ("rotation", T.RandomRotation(30)),
            ("affine", T.RandomAffine(20, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5)),
            ("grayscale", T.RandomGrayscale(p=1.0)),
            ("blur", T.GaussianBlur(5, sigma=(0.1, 2.0))),
            ("perspective", T.RandomPerspective(p=1.0))]:
        torch.manual_seed(3)
        put(f"v1_tensor.{name}", transform(x))
        put(f"v1_tensor.{name}.again", transform(x))


def sec_v1_pil():
    image = Image.fromarray(image_array(1))
    put("v1_pil.to_tensor", T.ToTensor()(image))
    put("v1_pil.pil_to_tensor", T.PILToTensor()(image))
    pipeline = T.Compose([T.Resize(18), T.CenterCrop(16), T.ToTensor(),
                          T.Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])])
    put("v1_pil.compose", pipeline(image))
    for name, transform in [
            ("random_crop", T.RandomCrop(12, padding=2, padding_mode="reflect")),
            ("resized_crop", T.RandomResizedCrop(10)),
            ("color_jitter", T.ColorJitter(0.4, 0.4, 0.4, 0.1)),
            ("hflip", T.RandomHorizontalFlip()),
            ("rotation", T.RandomRotation(25))]:
        torch.manual_seed(5)
        put(f"v1_pil.{name}", transform(image))
    put("v1_pil.to_pil", T.ToPILImage()(float_image(2)))


def sec_autoaugment():
    x = torch.from_numpy(image_array(3).transpose(2, 0, 1).copy())
    image = Image.fromarray(image_array(4))
    for name, transform in [("auto", T.AutoAugment()), ("rand", T.RandAugment()),
                            ("trivial", T.TrivialAugmentWide())]:
        torch.manual_seed(11)
        put(f"autoaugment.{name}.tensor", torch.stack([transform(x) for _ in range(4)]))
        torch.manual_seed(12)
        put(f"autoaugment.{name}.pil", np.stack([np.asarray(transform(image))
                                                 for _ in range(4)]))


def sec_v2_plain():
    # v2 on plain tensors (treated as images) and PIL images
    image = Image.fromarray(image_array(5))
    u8 = torch.from_numpy(image_array(6).transpose(2, 0, 1).copy())
    pipeline = v2.Compose([v2.ToDtype(torch.float32, scale=True),
                           v2.RandomResizedCrop(12, antialias=True), v2.RandomHorizontalFlip(),
                           v2.Normalize([0.5, 0.5, 0.5], [0.2, 0.2, 0.2])])
    torch.manual_seed(7)
    put("v2_plain.tensor_pipeline", pipeline(u8))
    # uint8 bilinear resize: PyTorch's AVX2 fixed-point kernel vs float32 (deltagrad.backends.cpu)
    put("v2_plain.resize_u8", v2.Resize(11)(u8).float())
    torch.manual_seed(7)
    put("v2_plain.pil_crop", np.asarray(v2.RandomResizedCrop(12)(image)))
    for name, transform in [("color_jitter", v2.ColorJitter(0.3, 0.3, 0.3, 0.05)),
                            ("rand_augment", v2.RandAugment()),
                            ("trivial", v2.TrivialAugmentWide()),
                            ("auto_augment", v2.AutoAugment()),
                            ("erasing", v2.Compose([v2.ToDtype(torch.float32, scale=True),
                                                   v2.RandomErasing(p=1.0)])),
                            ("gaussian_noise", v2.Compose([v2.ToDtype(torch.float32, scale=True),
                                                           v2.GaussianNoise()]))]:
        torch.manual_seed(9)
        put(f"v2_plain.{name}", transform(u8))
    batch = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 1, 2, 3])
    for name, transform in [("cutmix", v2.CutMix(num_classes=4)),
                            ("mixup", v2.MixUp(num_classes=4))]:
        torch.manual_seed(10)
        mixed, soft = transform(batch, labels)
        put(f"v2_plain.{name}.images", mixed)
        put(f"v2_plain.{name}.labels", soft)


def sec_tv_tensors_v2():
    # v2 with tv_tensors (Image, BoundingBoxes): Tensor subclasses made by as_subclass
    from torchvision import tv_tensors
    image = Image.fromarray(image_array(5))
    pipeline = v2.Compose([v2.ToImage(), v2.RandomResizedCrop(12, antialias=True),
                           v2.RandomHorizontalFlip(), v2.ToDtype(torch.float32, scale=True)])
    torch.manual_seed(7)
    put("tv_tensors_v2.pil_pipeline", pipeline(image).as_subclass(torch.Tensor))
    boxes = tv_tensors.BoundingBoxes([[2, 3, 10, 12], [5, 5, 15, 18]], format="XYXY",
                                     canvas_size=(24, 20))
    img = tv_tensors.Image(torch.from_numpy(image_array(6).transpose(2, 0, 1).copy()))
    joint = v2.Compose([v2.RandomHorizontalFlip(p=1.0), v2.RandomZoomOut(p=1.0),
                        v2.RandomIoUCrop(), v2.Resize((16, 16)), v2.SanitizeBoundingBoxes()])
    torch.manual_seed(8)
    out_img, out = joint(img, {"boxes": boxes, "labels": torch.tensor([1, 2])})
    put("tv_tensors_v2.joint_image", out_img.as_subclass(torch.Tensor))
    put("tv_tensors_v2.joint_boxes", out["boxes"].as_subclass(torch.Tensor))
    put("tv_tensors_v2.joint_labels", out["labels"])


def sec_functional():
    x = float_image(7)
    u8 = torch.from_numpy(image_array(8).transpose(2, 0, 1).copy())
    put("functional.rotate", TF.rotate(x, 33.0))
    put("functional.rotate_expand", TF.rotate(u8, 45.0, expand=True))
    put("functional.affine", TF.affine(x, angle=10.0, translate=[2, 1], scale=1.1, shear=[3.0]))
    put("functional.blur", TF.gaussian_blur(x, [5, 3], [1.5, 0.8]))
    put("functional.brightness", TF.adjust_brightness(x, 1.3))
    put("functional.contrast", TF.adjust_contrast(u8, 0.6))
    put("functional.saturation", TF.adjust_saturation(x, 1.7))
    put("functional.hue", TF.adjust_hue(x, 0.2))
    put("functional.gamma", TF.adjust_gamma(x, 0.8))
    put("functional.sharpness", TF.adjust_sharpness(u8, 2.0))
    put("functional.posterize", TF.posterize(u8, 3))
    put("functional.solarize", TF.solarize(u8, 100))
    put("functional.equalize", TF.equalize(u8))
    put("functional.autocontrast", TF.autocontrast(x))
    put("functional.invert", TF.invert(u8))
    put("functional.gray", TF.rgb_to_grayscale(x, num_output_channels=3))
    put("functional.perspective", TF.perspective(x, [[0, 0], [19, 0], [19, 23], [0, 23]],
                                                 [[1, 2], [18, 0], [17, 22], [2, 21]]))
    for mode in ("constant", "edge", "reflect", "symmetric"):
        put(f"functional.pad_{mode}", TF.pad(x, [2, 1, 3, 2], padding_mode=mode))
    put("functional.resized_crop", TF.resized_crop(x, 2, 3, 12, 10, [8, 8], antialias=True))
    put("functional.five_crop", torch.stack(TF.five_crop(x, 8)))
    put("functional.to_pil_roundtrip", TF.pil_to_tensor(TF.to_pil_image(u8)))
    put("functional.resize_antialias", TF.resize(x, [7, 9], antialias=True))
    put("functional.resize_u8", TF.resize(u8, [11, 13], antialias=True))


def write_png_tree(root):
    for label in ("cat", "dog"):
        os.makedirs(os.path.join(root, label))
        for index in range(3):
            array = image_array(10 * index + len(label) + (label == "dog"), (12, 10))
            Image.fromarray(array).save(os.path.join(root, label, f"{index}.png"))


def write_mnist(root):
    raw = os.path.join(root, "MNIST", "raw")
    os.makedirs(raw)
    rng = np.random.default_rng(4)
    for prefix, count in (("train", 6), ("t10k", 3)):
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, count, dtype=np.uint8)
        with open(os.path.join(raw, f"{prefix}-images-idx3-ubyte"), "wb") as handle:
            handle.write(np.array([2051, count, 28, 28], ">i4").tobytes() + images.tobytes())
        with open(os.path.join(raw, f"{prefix}-labels-idx1-ubyte"), "wb") as handle:
            handle.write(np.array([2049, count], ">i4").tobytes() + labels.tobytes())


def sec_datasets():
    from torchvision import datasets
    fake = datasets.FakeData(size=5, image_size=(3, 8, 8), num_classes=3,
                             transform=T.ToTensor())
    put("datasets.fake_images", torch.stack([fake[i][0] for i in range(5)]))
    put("datasets.fake_labels", np.array([fake[i][1] for i in range(5)]))
    with tempfile.TemporaryDirectory() as root:
        write_png_tree(os.path.join(root, "pngs"))
        folder = datasets.ImageFolder(os.path.join(root, "pngs"), transform=T.ToTensor())
        put("datasets.folder_classes", "|".join(folder.classes))
        put("datasets.folder_images", torch.stack([image for image, _ in folder]))
        put("datasets.folder_labels", np.array([label for _, label in folder]))
        generic = datasets.DatasetFolder(os.path.join(root, "pngs"),
                                         loader=lambda path: T.PILToTensor()(Image.open(path)),
                                         extensions=(".png",))
        put("datasets.datasetfolder0", generic[0][0])
        write_mnist(root)
        train = datasets.MNIST(root, train=True, download=False)
        test = datasets.MNIST(root, train=False, transform=T.ToTensor())
        put("datasets.mnist_data", train.data)
        put("datasets.mnist_targets", train.targets)
        put("datasets.mnist_item", test[1][0])
        put("datasets.mnist_len", len(train) + 10 * len(test))
        loader = torch.utils.data.DataLoader(test, batch_size=2)
        put("datasets.mnist_batch", next(iter(loader))[0])


def sec_utils():
    from torchvision import utils
    batch = torch.rand(5, 3, 6, 7, generator=torch.Generator().manual_seed(1))
    put("utils.grid", utils.make_grid(batch, nrow=3, padding=1))
    put("utils.grid_normalized", utils.make_grid(batch * 3 - 1, normalize=True,
                                                 scale_each=True, pad_value=0.5))
    buffer = io.BytesIO()
    utils.save_image(batch, buffer, format="png", nrow=2)
    put("utils.save_image_bytes", np.frombuffer(buffer.getvalue(), np.uint8))
    u8 = torch.from_numpy(image_array(9, (20, 24)).transpose(2, 0, 1).copy())
    boxes = torch.tensor([[1, 2, 10, 12], [5, 4, 20, 18.0]])
    put("utils.boxes", utils.draw_bounding_boxes(u8, boxes, colors=["red", "#00ff00"],
                                                 width=2, fill=True))
    masks = torch.zeros(2, 20, 24, dtype=torch.bool)
    masks[0, 2:9, 3:12] = True
    masks[1, 10:, 5:] = True
    put("utils.masks", utils.draw_segmentation_masks(u8, masks, alpha=0.4,
                                                     colors=["blue", "yellow"]))
    keypoints = torch.tensor([[[3.0, 4.0], [10.0, 12.0], [20.0, 15.0]]])
    put("utils.keypoints", utils.draw_keypoints(u8, keypoints, connectivity=[(0, 1), (1, 2)],
                                                colors="white", radius=2))
    flow = torch.rand(2, 6, 7, generator=torch.Generator().manual_seed(2)) * 4 - 2
    put("utils.flow", utils.flow_to_image(flow))


def sec_ops():
    from torchvision import ops
    rng = np.random.default_rng(5)
    corner = rng.uniform(0, 10, (6, 2))
    boxes = torch.from_numpy(np.concatenate([corner, corner + rng.uniform(1, 8, (6, 2))], 1))
    other = boxes.flip(0) + 0.5
    put("ops.box_iou", ops.box_iou(boxes, other))
    put("ops.giou", ops.generalized_box_iou(boxes, other))
    put("ops.diou", ops.distance_box_iou(boxes, other))
    put("ops.ciou", ops.complete_box_iou(boxes, other))
    put("ops.area", ops.box_area(boxes))
    for fmt in ("xywh", "cxcywh"):
        converted = ops.box_convert(boxes, "xyxy", fmt)
        put(f"ops.convert_{fmt}", converted)
        put(f"ops.convert_{fmt}_back", ops.box_convert(converted, fmt, "xyxy"))
    put("ops.clip", ops.clip_boxes_to_image(boxes * 2 - 3, (12, 14)))
    put("ops.small", ops.remove_small_boxes(boxes, 4.0))
    leaf = boxes.clone().requires_grad_(True)
    for name, loss_fn in (("giou", ops.generalized_box_iou_loss),
                          ("diou", ops.distance_box_iou_loss),
                          ("ciou", ops.complete_box_iou_loss)):
        loss = loss_fn(leaf, other, reduction="mean")
        (grad,) = torch.autograd.grad(loss, leaf)
        put(f"ops.{name}_loss", loss)
        put(f"ops.{name}_loss_grad", grad)
    logits = torch.from_numpy(rng.standard_normal((4, 5))).requires_grad_(True)
    targets = torch.from_numpy((rng.uniform(size=(4, 5)) > 0.6).astype(np.float64))
    focal = ops.sigmoid_focal_loss(logits, targets, alpha=0.25, gamma=2, reduction="sum")
    focal.backward()
    put("ops.focal", focal)
    put("ops.focal_grad", logits.grad)
    torch.manual_seed(0)
    depth = ops.StochasticDepth(0.5, "row")
    put("ops.stochastic_depth", depth(torch.ones(6, 2, 2)))
    put("ops.stochastic_depth_fn", ops.stochastic_depth(torch.ones(3, 4), 0.3, "batch"))
    torch.manual_seed(0)
    blocks = torch.nn.Sequential(
        ops.Conv2dNormActivation(3, 8, 3, stride=2),
        ops.SqueezeExcitation(8, 4),
        ops.Conv2dNormActivation(8, 6, 1, activation_layer=torch.nn.Hardswish))
    mlp = ops.MLP(6, [16, 4], norm_layer=torch.nn.LayerNorm, dropout=0.0)
    x = torch.rand(2, 3, 10, 10, generator=torch.Generator().manual_seed(3))
    features = blocks(x)
    out = mlp(features.mean((2, 3)))
    out.square().sum().backward()
    put("ops.blocks_out", out)
    put("ops.blocks_grad", blocks[0][0].weight.grad)
    put("ops.mlp_grad", mlp[0].weight.grad)
    torch.manual_seed(0)
    fpn = ops.FeaturePyramidNetwork([4, 8], 6)
    maps = {"a": torch.rand(1, 4, 8, 8, generator=torch.Generator().manual_seed(4)),
            "b": torch.rand(1, 8, 4, 4, generator=torch.Generator().manual_seed(5))}
    pyramid = fpn(maps)
    sum(value.sum() for value in pyramid.values()).backward()
    for key, value in pyramid.items():
        put(f"ops.fpn_{key}", value)
    put("ops.fpn_grad", fpn.inner_blocks[0][0].weight.grad)
    put("ops.frozen_bn", ops.FrozenBatchNorm2d(4)(maps["a"]))
    put("ops.drop_block", ops.DropBlock2d(0.0, 3)(maps["a"]))


def sec_finetune():
    torch.manual_seed(0)
    data = torchvision.datasets.FakeData(
        size=16, image_size=(3, 32, 32), num_classes=4,
        transform=T.Compose([T.RandomHorizontalFlip(), T.ToTensor(),
                             T.Normalize([0.5] * 3, [0.25] * 3)]))
    loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True,
                                         generator=torch.Generator().manual_seed(1))
    # (float64: BatchNorm over 8 images at 1 x 1 turns float32 rounding into drift by step 4)
    model = torchvision.models.resnet18(num_classes=4).double()
    for p in model.layer1.parameters():  # a partly frozen backbone, as fine-tuning does
        p.requires_grad_(False)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01,
                                momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.5)
    losses, correct = [], 0
    for _ in range(2):
        model.train()
        for images, labels in loader:
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(images.double()), labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
    model.eval()
    with torch.no_grad():
        for images, labels in loader:
            correct += int((model(images.double()).argmax(1) == labels).sum())
    put("finetune.losses", np.array(losses))
    put("finetune.fc", model.fc.weight)
    put("finetune.correct", correct)


def sec_errors():
    from torchvision import ops
    boxes = torch.tensor([[0, 0, 2, 2.0], [0, 0, 2, 2.1]])
    for name, call in (("nms", lambda: ops.nms(boxes, torch.tensor([0.9, 0.8]), 0.5)),
                       ("batched_nms", lambda: ops.batched_nms(
                           boxes, torch.tensor([0.9, 0.8]), torch.tensor([0, 0]), 0.5))):
        try:
            call()
            put(f"errors.{name}", "no error")
        except Exception as error:  # (no C++ ops on either side here)
            put(f"errors.{name}", type(error).__name__)


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
