"""torchvision's transforms v2 on tv_tensors (Image, Video, BoundingBoxes in several formats,
Mask, KeyPoints), the Tensor subclasses whose ``__torch_function__`` carries their metadata:
every transform that runs on CPU without compiled ops, seeded, on one sample dict; the random
parameters each draws (``make_params`` under the same seed); the functional kernels on each
tv_tensor kind; tv_tensors' own behaviour (which ops keep the class, ``wrap``,
``set_return_type``). Keys ``<section>.<case>.<leaf>.<what>``: ``cls`` (class name), values,
dtype, ``format`` / ``canvas_size`` / ``clamping_mode`` metadata; a case that raises records its
exception class (``<section>.<case>.raises``), a section that fails records ``ERR.<section>``.
Usage: ``python prog_s11_TF_tv.py OUT.npz`` (or under ``python -m deltagrad run``)."""

import sys
import traceback

import numpy as np
import torch
import tv_common

tv_common.declare_torchvision_ops()  # (real PyTorch: see tv_common)

from torchvision import tv_tensors  # noqa: E402
from torchvision.transforms import v2  # noqa: E402
from torchvision.transforms.v2 import functional as F  # noqa: E402

OUT: dict = {}
H, W = 24, 28


def put_leaf(key: str, value) -> None:
    """A transform's output leaf: its class, values, dtype and tv_tensor metadata."""
    OUT[key + ".cls"] = np.array(type(value).__name__)
    if isinstance(value, torch.Tensor):
        plain = value.as_subclass(torch.Tensor).detach()
        OUT[key] = plain.numpy().copy()
        OUT[key + ".dtype"] = np.array(str(plain.dtype))
        for name in ("format", "canvas_size", "clamping_mode"):
            if hasattr(value, name):
                meta = getattr(value, name)
                OUT[f"{key}.{name}"] = np.array(getattr(meta, "name", str(meta)))
    elif isinstance(value, (int, float, bool, str)):
        OUT[key] = np.array(value)


def put_tree(key: str, tree) -> None:
    if isinstance(tree, dict):
        for name, value in tree.items():
            put_tree(f"{key}.{name}", value)
    elif isinstance(tree, (list, tuple)):
        for i, value in enumerate(tree):
            put_tree(f"{key}.{i}", value)
    else:
        put_leaf(key, tree)


def put_params(key: str, params: dict) -> None:
    """``make_params``' draws: numbers and tensors as arrays, the rest by repr."""
    for name, value in params.items():
        if isinstance(value, torch.Tensor):
            OUT[f"{key}.{name}"] = value.as_subclass(torch.Tensor).detach().numpy().copy()
        elif isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value):
            OUT[f"{key}.{name}"] = np.array(value, dtype=np.float64)
        elif isinstance(value, (int, float, bool)) or value is None:
            OUT[f"{key}.{name}"] = np.array(np.nan if value is None else value, dtype=np.float64)
        else:
            OUT[f"{key}.{name}"] = np.array(repr(value))


def boxes(fmt: str, seed: int, dtype=torch.float32, rotated: bool = False):
    rng = np.random.default_rng(seed)
    x1 = rng.uniform(0, W - 10, 4)
    y1 = rng.uniform(0, H - 10, 4)
    w = rng.uniform(3, 9, 4)
    h = rng.uniform(3, 9, 4)
    xyxy = torch.tensor(np.stack([x1, y1, x1 + w, y1 + h], 1), dtype=torch.float32)
    if rotated:
        xywhr = torch.tensor(np.stack([x1, y1, w, h, rng.uniform(-30, 30, 4)], 1),
                             dtype=torch.float32)
        xywhr = tv_tensors.BoundingBoxes(xywhr, format="XYWHR", canvas_size=(H, W))
        return F.convert_bounding_box_format(xywhr, new_format=fmt)
    base = tv_tensors.BoundingBoxes(xyxy, format="XYXY", canvas_size=(H, W))
    converted = F.convert_bounding_box_format(base, new_format=fmt)
    return converted.to(dtype) if dtype != torch.float32 else converted


def sample(seed: int = 0, *, many_boxes: bool = True, keypoints: bool = True) -> dict:
    rng = np.random.default_rng(seed)
    image = tv_tensors.Image(torch.from_numpy(rng.integers(0, 256, (3, H, W), dtype=np.uint8)))
    mask = tv_tensors.Mask(torch.from_numpy((rng.random((H, W)) > 0.6).astype(np.uint8)))
    out = {"image": image, "boxes": boxes("XYXY", seed), "mask": mask,
           "labels": torch.tensor([1, 2, 3, 4])}
    if many_boxes:
        out["boxes_cxcywh"] = boxes("CXCYWH", seed + 1)
        out["boxes_xywh"] = boxes("XYWH", seed + 2)
        out["boxes_int"] = boxes("XYXY", seed + 3, dtype=torch.int64)
    if keypoints:
        points = rng.uniform(0, [W - 1, H - 1], (5, 2)).astype(np.float32)
        out["points"] = tv_tensors.KeyPoints(torch.from_numpy(points), canvas_size=(H, W))
    return out


def float_sample(seed: int = 0, **kwargs) -> dict:
    out = sample(seed, **kwargs)
    out["image"] = F.to_dtype(out["image"], torch.float32, scale=True)
    return out


def flat(transform, tree) -> list:
    """The inputs ``transform.forward`` gives ``make_params`` (those it transforms)."""
    inputs = torch.utils._pytree.tree_flatten(tree)[0]
    needed = transform._needs_transform_list(inputs)
    return [value for value, need in zip(inputs, needed) if need]


def case(section: str, name: str, transform, data, seed: int) -> None:
    """Run ``transform`` on ``data`` under ``seed`` (and its make_params under the same seed);
    a transform that raises records the exception's class."""
    key = f"{section}.{name}"
    try:
        if hasattr(transform, "make_params") and not isinstance(transform, v2.Compose):
            torch.manual_seed(seed)
            try:
                put_params(key + ".params", transform.make_params(flat(transform, data)))
            except Exception as error:  # noqa: BLE001  (recorded, compared)
                OUT[key + ".params.raises"] = np.array(type(error).__name__)
        torch.manual_seed(seed)
        put_tree(key + ".out", transform(data))
    except Exception as error:  # noqa: BLE001  (recorded, compared)
        OUT[key + ".raises"] = np.array(type(error).__name__)
        OUT[key + ".message"] = np.array(str(error)[:200])


def sec_geometry():
    cases = [
        ("hflip", v2.RandomHorizontalFlip(p=1.0)),
        ("vflip", v2.RandomVerticalFlip(p=1.0)),
        ("resize", v2.Resize((17, 33))),
        ("resize_short", v2.Resize(15, max_size=30)),
        ("resize_nearest", v2.Resize((13, 11), interpolation=v2.InterpolationMode.NEAREST)),
        ("center_crop", v2.CenterCrop((15, 30))),
        ("random_crop", v2.RandomCrop((16, 18), padding=3, padding_mode="reflect")),
        ("random_crop_fill", v2.RandomCrop((30, 20), pad_if_needed=True, fill=7)),
        ("random_resized_crop", v2.RandomResizedCrop((20, 22), antialias=True)),
        ("random_iou_crop", v2.RandomIoUCrop()),
        ("random_zoom_out", v2.RandomZoomOut(fill={tv_tensors.Image: 100, "others": 0}, p=1)),
        ("random_rotation", v2.RandomRotation(35)),
        ("random_rotation_expand", v2.RandomRotation((20, 60), expand=True, fill=5)),
        ("random_affine", v2.RandomAffine(25, translate=(0.1, 0.2), scale=(0.8, 1.2),
                                          shear=(-10, 10, -5, 5))),
        ("random_perspective", v2.RandomPerspective(0.4, p=1.0)),
        ("elastic", v2.ElasticTransform(alpha=20.0, sigma=3.0)),
        ("pad", v2.Pad((2, 3, 4, 1), fill=9)),
        ("pad_edge", v2.Pad(3, padding_mode="edge")),
        ("pad_symmetric", v2.Pad((1, 2), padding_mode="symmetric")),
        ("scale_jitter", v2.ScaleJitter((20, 24), scale_range=(0.5, 1.5))),
        ("random_shortest_size", v2.RandomShortestSize([12, 16, 20], max_size=40)),
        ("random_resize", v2.RandomResize(12, 30)),
        ("five_crop", v2.FiveCrop(10)),
        ("ten_crop", v2.TenCrop(10, vertical_flip=True)),
    ]
    for i, (name, transform) in enumerate(cases):
        data = sample(i)
        if name in ("pad_edge", "pad_symmetric", "random_crop", "five_crop", "ten_crop"):
            # (torchvision refuses boxes there; checked once, below)
            data = {"image": data["image"], "labels": data["labels"]}
        case("geometry", name, transform, data, seed=100 + i)
    case("geometry", "refuse_reflect_boxes", v2.Pad(3, padding_mode="reflect"), sample(0), 1)
    # the float image path (bilinear kernels in float32 rather than uint8 fixed point)
    for i, (name, transform) in enumerate(cases[:16]):
        data = float_sample(i)
        if name == "random_crop":
            data = {"image": data["image"], "labels": data["labels"]}
        case("geometry_float", name, transform, data, seed=200 + i)


def sec_color():
    cases = [
        ("color_jitter", v2.ColorJitter(0.4, 0.3, 0.3, 0.1)),
        ("grayscale", v2.Grayscale(3)),
        ("random_grayscale", v2.RandomGrayscale(p=1.0)),
        ("rgb", v2.RGB()),
        ("sharpness", v2.RandomAdjustSharpness(2.0, p=1.0)),
        ("autocontrast", v2.RandomAutocontrast(p=1.0)),
        ("equalize", v2.RandomEqualize(p=1.0)),
        ("invert", v2.RandomInvert(p=1.0)),
        ("posterize", v2.RandomPosterize(3, p=1.0)),
        ("solarize", v2.RandomSolarize(100, p=1.0)),
        ("channel_permutation", v2.RandomChannelPermutation()),
        ("photometric", v2.RandomPhotometricDistort(p=1.0)),
        ("gaussian_blur", v2.GaussianBlur(5, sigma=(0.5, 2.0))),
        ("auto_augment", v2.AutoAugment()),
        ("rand_augment", v2.RandAugment()),
        ("trivial_augment", v2.TrivialAugmentWide()),
        ("aug_mix", v2.AugMix()),
        ("random_erasing", v2.RandomErasing(p=1.0)),
    ]
    for i, (name, transform) in enumerate(cases):
        data = sample(30 + i)
        if name == "random_erasing":
            data = float_sample(30 + i)
        elif name.endswith("augment") or name == "aug_mix":  # (boxes refused: checked once)
            data = {"image": data["image"], "labels": data["labels"]}
        case("color", name, transform, data, seed=300 + i)
    case("color", "refuse_boxes_augment", v2.AutoAugment(), sample(0), seed=1)
    float_cases = [("color_jitter", v2.ColorJitter(0.4, 0.3, 0.3, 0.1)),
                   ("gaussian_noise", v2.GaussianNoise(sigma=0.05)),
                   ("grayscale", v2.Grayscale(1)), ("solarize", v2.RandomSolarize(0.5, p=1.0))]
    for i, (name, transform) in enumerate(float_cases):
        case("color_float", name, transform, float_sample(60 + i), seed=400 + i)


def sec_meta():
    one = sample(5, many_boxes=False)
    for fmt in ("XYWH", "CXCYWH", "XYXY"):
        case("meta", f"convert_{fmt}", v2.ConvertBoundingBoxFormat(fmt), one, seed=1)
    for fmt in ("XYWHR", "CXCYWHR", "XYXYXYXY"):
        rotated = {"boxes": boxes(fmt, 9, rotated=True)}
        case("meta", f"rotated_{fmt}", v2.ConvertBoundingBoxFormat("XYWHR"), rotated, seed=1)
        case("meta", f"rotated_hflip_{fmt}", v2.RandomHorizontalFlip(1.0), rotated, seed=1)
        case("meta", f"rotated_resize_{fmt}", v2.Resize((30, 15)), rotated, seed=1)
    outside = {"boxes": tv_tensors.BoundingBoxes(
        [[-3.0, 2, 40, 9], [5, -6, 12, 30], [1, 1, 1.5, 1.2], [20, 20, 25, 26]],
        format="XYXY", canvas_size=(H, W)),
        "labels": torch.tensor([3, 4, 5, 6]), "image": one["image"], "mask": one["mask"]}
    case("meta", "clamp", v2.ClampBoundingBoxes(), outside, seed=1)
    case("meta", "clamp_none_mode", v2.ClampBoundingBoxes("hard"), outside, seed=1)
    case("meta", "sanitize", v2.SanitizeBoundingBoxes(min_size=2.0), outside, seed=1)
    case("meta", "sanitize_area", v2.SanitizeBoundingBoxes(min_area=30.0), outside, seed=1)
    points = {"points": tv_tensors.KeyPoints([[-1.0, 3], [5, 30], [10, 10]], canvas_size=(H, W))}
    case("meta", "clamp_keypoints", v2.ClampKeyPoints(), points, seed=1)
    case("meta", "sanitize_keypoints", v2.SanitizeKeyPoints(labels_getter=None), points, seed=1)
    case("meta", "to_dtype", v2.ToDtype(torch.float32, scale=True), one, seed=1)
    case("meta", "to_dtype_dict", v2.ToDtype({tv_tensors.Image: torch.float64,
                                              tv_tensors.Mask: torch.int64, "others": None}),
         one, seed=1)
    case("meta", "normalize", v2.Compose([v2.ToDtype(torch.float32, scale=True),
                                          v2.Normalize([0.5, 0.4, 0.3], [0.2, 0.3, 0.25])]),
         one, seed=1)
    case("meta", "to_pure_tensor", v2.ToPureTensor(), one, seed=1)
    case("meta", "identity", v2.Identity(), one, seed=1)
    case("meta", "lambda", v2.Lambda(lambda x: x * 2, tv_tensors.Image), one, seed=1)
    case("meta", "random_apply", v2.RandomApply([v2.RandomHorizontalFlip(1.0)], p=0.5), one, 3)
    case("meta", "random_choice", v2.RandomChoice([v2.RandomVerticalFlip(1.0), v2.Pad(2)]),
         one, seed=4)
    case("meta", "random_order", v2.RandomOrder([v2.Pad(2), v2.CenterCrop(20)]), one, seed=5)
    case("meta", "pipeline", v2.Compose([
        v2.RandomPhotometricDistort(p=1.0), v2.RandomZoomOut(fill=0, p=1.0),
        v2.RandomIoUCrop(), v2.RandomHorizontalFlip(p=1.0), v2.Resize((20, 20)),
        v2.SanitizeBoundingBoxes(), v2.ToDtype(torch.float32, scale=True)]), one, seed=11)
    video = tv_tensors.Video(torch.from_numpy(  # (float: uint8 resizes round apart, see test)
        np.random.default_rng(3).random((4, 3, 12, 14)).astype(np.float32)))
    case("meta", "video_pipeline", v2.Compose([
        v2.UniformTemporalSubsample(2), v2.RandomResizedCrop(10), v2.RandomHorizontalFlip(),
        v2.ColorJitter(0.2, 0.2)]), {"video": video}, seed=12)


def sec_batch():
    rng = np.random.default_rng(7)
    images = tv_tensors.Image(torch.from_numpy(rng.random((4, 3, 10, 12)).astype(np.float32)))
    labels = torch.tensor([0, 2, 1, 4])
    for name, transform in [("cutmix", v2.CutMix(num_classes=5)),
                            ("mixup", v2.MixUp(alpha=0.5, num_classes=5)),
                            ("choice", v2.RandomChoice([v2.CutMix(num_classes=5),
                                                        v2.MixUp(num_classes=5)]))]:
        case("batch", name, transform, (images, labels), seed=21)


def sec_functional():
    data = sample(8)
    for kind in ("image", "boxes", "boxes_cxcywh", "boxes_int", "mask", "points"):
        x = data[kind]
        for name, call in [
                ("resize", lambda t: F.resize(t, [15, 19])),
                ("resize_int", lambda t: F.resize(t, 13)),
                ("hflip", F.horizontal_flip), ("vflip", F.vertical_flip),
                ("crop", lambda t: F.crop(t, 3, 4, 12, 15)),
                ("center_crop", lambda t: F.center_crop(t, [10, 30])),
                ("resized_crop", lambda t: F.resized_crop(t, 2, 3, 14, 16, [20, 10])),
                ("pad", lambda t: F.pad(t, [1, 2, 3, 4])),
                ("affine", lambda t: F.affine(t, angle=17.0, translate=[2, -1], scale=1.1,
                                              shear=[5.0, 2.0])),
                ("rotate", lambda t: F.rotate(t, 30.0)),
                ("rotate_expand", lambda t: F.rotate(t, -45.0, expand=True)),
                ("perspective", lambda t: F.perspective(
                    t, [[0, 0], [27, 0], [27, 23], [0, 23]],
                    [[2, 1], [25, 3], [26, 20], [1, 22]])),
                ("elastic", lambda t: F.elastic(t, torch.full((1, H, W, 2), 0.03))),
                ("clone", lambda t: t.clone()), ("to_float", lambda t: t.to(torch.float64)),
                ("add", lambda t: t + 1), ("sum", lambda t: t.sum()),
                ("index", lambda t: t[1:]), ("detach", lambda t: t.detach()),
                ("wrap", lambda t: tv_tensors.wrap(t.as_subclass(torch.Tensor) * 2, like=t))]:
            key = f"functional.{kind}.{name}"
            try:
                put_leaf(key, call(x))
            except Exception as error:  # noqa: BLE001  (recorded, compared)
                OUT[key + ".raises"] = np.array(type(error).__name__)
    boxes_xyxy = data["boxes"]
    put_leaf("functional.convert", F.convert_bounding_box_format(boxes_xyxy, new_format="XYWH"))
    put_leaf("functional.convert_plain", F.convert_bounding_box_format(
        boxes_xyxy.as_subclass(torch.Tensor), old_format="XYXY", new_format="CXCYWH"))
    put_leaf("functional.clamp_plain", F.clamp_bounding_boxes(
        boxes_xyxy.as_subclass(torch.Tensor) * 2, format="XYXY", canvas_size=(H, W),
        clamping_mode="soft"))
    put_leaf("functional.get_size", torch.tensor(F.get_size(data["image"])))
    put_leaf("functional.get_size_boxes", torch.tensor(F.get_size(boxes_xyxy)))
    put_leaf("functional.normalize", F.normalize(F.to_dtype(data["image"], torch.float32, True),
                                                 [0.1, 0.2, 0.3], [0.5, 0.5, 0.5]))
    put_leaf("functional.to_image", F.to_image(np.zeros((4, 5, 3), np.uint8)))
    put_leaf("functional.to_pure", v2.ToPureTensor()(data["mask"]))
    from torchvision.ops import masks_to_boxes
    put_leaf("functional.masks_to_boxes", masks_to_boxes(data["mask"][None]))


def sec_tv_tensor_behaviour():
    data = sample(9)
    image, box = data["image"], data["boxes"]
    for name, value in [
            ("image_add", image + 1), ("image_float", image.float()),
            ("image_clone", image.clone()), ("image_to", image.to(torch.float64)),
            ("image_requires_grad", image.float().requires_grad_()),
            ("box_mul", box * 2), ("box_clone", box.clone()), ("box_to", box.to(torch.int32)),
            ("box_detach", box.detach()), ("box_getitem", box[0]),
            ("box_cat", torch.cat([box, box])), ("box_stack", torch.stack([box, box])),
            ("box_exp", torch.exp(box)), ("box_unbind", box.unbind(0)[1]),
            ("box_max", box.max(dim=1).values), ("box_t", box.T),
            ("mask_bool", data["mask"].bool()), ("points_neg", -data["points"])]:
        put_tree(f"behaviour.{name}", value)
    with tv_tensors.set_return_type("TVTensor"):
        for name, value in [("box_add", box + 1), ("box_exp", torch.exp(box)),
                            ("image_mul", image * 2), ("box_sum", box.sum()),
                            ("box_view", box.view(-1, 2))]:
            put_tree(f"behaviour.keep.{name}", value)
    from torch.utils.data import default_collate  # (torch.stack of tv_tensors: plain)
    put_tree("behaviour.collate", default_collate([sample(i, many_boxes=False) for i in (1, 2)]))
    import copy
    import io
    import pickle
    for name, call in [
            ("inplace_add", lambda: box.clone().add_(1)),
            ("inplace_clamp", lambda: box.clone().clamp_(0, 10)),
            ("setitem", lambda: _set_first(box.clone())),
            ("cpu", lambda: image.cpu()), ("to_cpu", lambda: image.to("cpu")),
            ("contiguous", lambda: box.contiguous()),
            ("requires_grad_", lambda: box.clone().requires_grad_()),
            ("new_zeros", lambda: box.new_zeros(2, 2)), ("new_tensor", lambda: box.new_tensor([1])),
            ("deepcopy", lambda: copy.deepcopy(box)), ("pickle", lambda: pickle.loads(
                pickle.dumps(box))),
            ("save_load", lambda: _save_load(box, io.BytesIO())),
            ("where", lambda: torch.where(box > 10, box, 0.0)),
            ("reshape", lambda: box.reshape(-1)), ("flip", lambda: box.flip(0)),
            ("eq", lambda: box == box), ("float_mask", lambda: data["mask"].float())]:
        try:
            put_tree(f"behaviour.misc.{name}", call())
        except Exception as error:  # noqa: BLE001  (recorded, compared)
            OUT[f"behaviour.misc.{name}.raises"] = np.array(type(error).__name__)
    OUT["behaviour.misc.tolist"] = np.array(box.tolist())
    OUT["behaviour.misc.len"] = np.array(len(box))
    OUT["behaviour.misc.deepcopy_format"] = np.array(copy.deepcopy(box).format.name)
    put_leaf("behaviour.isinstance", torch.tensor(isinstance(image, torch.Tensor)))
    OUT["behaviour.repr_box"] = np.array(repr(box)[:60])
    OUT["behaviour.shape"] = np.array(list(box.shape))
    OUT["behaviour.clone_canvas"] = np.array(box.clone().canvas_size)


def _set_first(value):
    value[0] = 1.0
    return value


def _save_load(value, buffer):
    torch.save(value, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=False)


def sec_grad():
    # gradients flow back through the kernels to the tv_tensor leaves (and their class there)
    rng = np.random.default_rng(12)
    weights = torch.from_numpy(rng.standard_normal((3, 20, 16)).astype(np.float32))
    for name, transform in [("resize", v2.Resize((20, 16))),
                            ("affine", v2.Compose([v2.RandomAffine(20, scale=(0.9, 1.1)),
                                                   v2.Resize((20, 16))])),
                            ("perspective", v2.Compose([v2.RandomPerspective(p=1.0),
                                                        v2.CenterCrop((20, 16))])),
                            ("normalize", v2.Compose([v2.CenterCrop((20, 16)),
                                                      v2.Normalize([0.1] * 3, [0.3] * 3)]))]:
        # (Image(x) is x.as_subclass: an alias whose gradient lands on the plain leaf x)
        leaf = torch.from_numpy(rng.random((3, H, W)).astype(np.float32)).requires_grad_()
        image = tv_tensors.Image(leaf)
        box = boxes("CXCYWH", 3).requires_grad_()
        torch.manual_seed(5)
        out = transform({"image": image, "boxes": box})
        loss = (out["image"] * weights).sum() + (out["boxes"] ** 2).sum()
        try:
            loss.backward()
        except RuntimeError as error:  # (the grid kernels' fill writes in place: both raise)
            OUT[f"grad.{name}.raises"] = np.array(type(error).__name__)
            continue
        put_leaf(f"grad.{name}.loss", loss)
        put_leaf(f"grad.{name}.image", leaf.grad)
        put_leaf(f"grad.{name}.image_alias", image.grad)
        put_leaf(f"grad.{name}.boxes", box.grad)


SECTIONS = [sec_geometry, sec_color, sec_meta, sec_batch, sec_functional,
            sec_tv_tensor_behaviour, sec_grad]

if __name__ == "__main__":
    for section in SECTIONS:
        try:
            section()
        except Exception:  # noqa: BLE001  (the test reports it)
            OUT["ERR." + section.__name__[4:]] = np.array(traceback.format_exc())
    np.savez(sys.argv[1], **OUT)
