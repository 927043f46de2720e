"""Probe program (T10): kornia used the way its tutorials do (filters, color, geometry, enhance,
morphology, losses, feature, augmentation), seeded and small; every number goes to an .npz.

Run as ``python prog_s9_T10_kornia.py OUT.npz`` on the real PyTorch, or under
``python -m deltagrad run`` unchanged; ``test_s9_T10_kornia.py`` compares the two. Each check
runs on its own: an exception is recorded as ``ERR.<name>`` and the other checks still run.
"""
import sys
import traceback
import types

import numpy as np
import torch

OUT = {}
ERR = {}
ON_DELTAGRAD = "deltagrad" in torch.__file__


def _import_kornia():
    """``import kornia``; under deltagrad with three stand-ins for what deltagrad lacks at
    kornia's import time (reported, see test_s9_T10_kornia.py): a bfloat16 ``torch.empty``
    (kornia's safetensors reader sizes every dtype), ``torch._subclasses.fake_tensor.is_fake``
    and ``torch.fx.experimental.proxy_tensor.get_proxy_mode`` (distance_transform imports them)."""
    if not ON_DELTAGRAD:
        import kornia
        return kornia
    real_empty = torch.empty

    class _Sized:
        def element_size(self):
            return 2

    def empty(*args, dtype=None, **kwargs):
        if dtype is torch.bfloat16:
            return _Sized()
        return real_empty(*args, dtype=dtype, **kwargs)

    stand_ins = ("torch._subclasses", "torch._subclasses.fake_tensor", "torch.fx.experimental",
                 "torch.fx.experimental.proxy_tensor")
    for name in stand_ins:
        try:
            __import__(name)
            continue
        except ImportError:
            pass
        module = types.ModuleType(name)
        module.__path__ = []
        module.is_fake = lambda tensor: False
        module.get_proxy_mode = lambda: None
        sys.modules[name] = module
    torch.empty = empty
    try:
        import kornia
    finally:
        torch.empty = real_empty
    return kornia


kornia = _import_kornia()
import kornia.augmentation as K  # noqa: E402
import kornia.feature as KF  # noqa: E402


def put(name, value):
    if isinstance(value, torch.Tensor):
        OUT[name + ".dtype"] = np.array(str(value.dtype))
        value = value.detach().numpy()
    elif isinstance(value, (tuple, list)) and value and isinstance(value[0], torch.Tensor):
        for i, item in enumerate(value):
            put(f"{name}.{i}", item)
        return
    OUT[name] = np.asarray(value)


def check(name, fn):
    """Run ``fn()`` and store its result(s) under ``name``; an exception becomes ERR.<name>."""
    try:
        put(name, fn())
    except Exception as error:  # noqa: BLE001 - recorded and compared
        ERR["ERR." + name] = f"{type(error).__name__}: {error}"
        traceback.print_exc()


def images(seed=0, batch=2, channels=3, size=(24, 20), dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, channels, *size, generator=g, dtype=dtype)


def grad_of(fn, x):
    x = x.clone().requires_grad_(True)
    out = fn(x)
    weights = torch.linspace(-1.0, 1.0, out.numel()).reshape(out.shape).to(out.dtype)
    (out * weights).sum().backward()
    return out, x.grad


def filters():
    import kornia.filters as KFL
    x = images()
    x64 = images(dtype=torch.float64)
    check("filters.gaussian_blur2d", lambda: KFL.gaussian_blur2d(x, (5, 5), (1.5, 1.5)))
    check("filters.gaussian_blur2d.f64", lambda: KFL.gaussian_blur2d(x64, (3, 5), (1.0, 2.0)))
    for border in ("reflect", "replicate", "circular", "constant"):
        check(f"filters.gaussian.{border}",
              lambda border=border: KFL.gaussian_blur2d(x, (5, 3), (1.2, 0.7), border_type=border))
    check("filters.gaussian.grad", lambda: grad_of(
        lambda t: KFL.gaussian_blur2d(t, (5, 5), (1.5, 1.5)), x))
    check("filters.box_blur", lambda: KFL.box_blur(x, (3, 3)))
    check("filters.box_blur.grad", lambda: grad_of(lambda t: KFL.box_blur(t, (5, 3)), x))
    check("filters.median_blur", lambda: KFL.median_blur(x, (3, 3)))
    check("filters.median_blur.grad", lambda: grad_of(lambda t: KFL.median_blur(t, (3, 3)), x))
    check("filters.sobel", lambda: KFL.sobel(x))
    check("filters.sobel.grad", lambda: grad_of(KFL.sobel, x))
    check("filters.spatial_gradient", lambda: KFL.spatial_gradient(x, mode="diff", order=2))
    check("filters.laplacian", lambda: KFL.laplacian(x, 5))
    check("filters.unsharp", lambda: KFL.unsharp_mask(x, (3, 3), (1.5, 1.5)))
    check("filters.canny", lambda: KFL.canny(x, 0.1, 0.2))
    check("filters.bilateral", lambda: KFL.bilateral_blur(x, (5, 5), 0.1, (1.5, 1.5)))
    check("filters.motion", lambda: KFL.motion_blur(x, 5, 35.0, 0.5))
    check("filters.filter2d", lambda: KFL.filter2d(x, torch.ones(1, 3, 3) / 9.0))
    check("filters.blur_pool", lambda: KFL.blur_pool2d(x, 3))
    check("filters.max_blur_pool", lambda: KFL.max_blur_pool2d(x, 3))
    check("filters.guided", lambda: KFL.guided_blur(x, x, (3, 3), 0.1))
    check("filters.dexined_free.in_range",
          lambda: KFL.in_range(x, (0.2, 0.2, 0.2), (0.8, 0.8, 0.8), return_mask=True))


def color():
    import kornia.color as KC
    x = images(1)
    for name in ("rgb_to_hsv", "rgb_to_hls", "rgb_to_lab", "rgb_to_yuv", "rgb_to_ycbcr",
                 "rgb_to_xyz", "rgb_to_luv", "rgb_to_grayscale", "rgb_to_bgr", "rgb_to_linear_rgb",
                 "rgb_to_yuv420", "rgb_to_rgba", "linear_rgb_to_rgb", "sepia"):
        args = (1.0,) if name == "rgb_to_rgba" else ()
        check(f"color.{name}", lambda name=name, args=args: getattr(KC, name)(x, *args))
    for forward, back in (("rgb_to_hsv", "hsv_to_rgb"), ("rgb_to_lab", "lab_to_rgb"),
                          ("rgb_to_yuv", "yuv_to_rgb"), ("rgb_to_hls", "hls_to_rgb"),
                          ("rgb_to_luv", "luv_to_rgb"), ("rgb_to_ycbcr", "ycbcr_to_rgb")):
        check(f"color.round.{back}",
              lambda back=back, forward=forward: getattr(KC, back)(getattr(KC, forward)(x)))
    check("color.lab.grad", lambda: grad_of(KC.rgb_to_lab, x))
    check("color.hsv.grad", lambda: grad_of(KC.rgb_to_hsv, x))
    check("color.gray_module", lambda: KC.RgbToGrayscale()(x))
    check("color.raw", lambda: KC.raw_to_rgb(images(2, 1, 1, (8, 8)), KC.CFA.BG))


def geometry():
    import kornia.geometry as KG
    import kornia.geometry.transform as KT
    x = images(3, 2, 3, (16, 20))
    center = torch.tensor([[10.0, 8.0], [9.0, 7.0]])
    angle = torch.tensor([30.0, -45.0])
    scale = torch.tensor([[1.0, 1.0], [0.8, 1.2]])
    M = KT.get_rotation_matrix2d(center, angle, scale)
    check("geometry.rotation_matrix", lambda: M)
    check("geometry.warp_affine", lambda: KT.warp_affine(x, M, (16, 20)))
    check("geometry.warp_affine.nearest_zeros",
          lambda: KT.warp_affine(x, M, (12, 14), mode="nearest", padding_mode="zeros"))
    check("geometry.warp_affine.border",
          lambda: KT.warp_affine(x, M, (16, 20), padding_mode="border", align_corners=False))
    check("geometry.warp_affine.reflection",
          lambda: KT.warp_affine(x, M, (16, 20), padding_mode="reflection"))
    check("geometry.warp_affine.grad", lambda: grad_of(lambda t: KT.warp_affine(t, M, (16, 20)), x))
    src = torch.tensor([[[0.0, 0.0], [19.0, 0.0], [19.0, 15.0], [0.0, 15.0]]]).repeat(2, 1, 1)
    dst = src + torch.tensor([[[1.0, 2.0], [-2.0, 1.0], [-1.0, -2.0], [2.0, -1.0]],
                              [[0.5, 0.0], [0.0, 0.5], [-0.5, 0.0], [0.0, -0.5]]])
    H = KT.get_perspective_transform(src, dst)
    check("geometry.get_perspective_transform", lambda: H)
    check("geometry.warp_perspective", lambda: KT.warp_perspective(x, H, (16, 20)))
    check("geometry.warp_perspective.grad",
          lambda: grad_of(lambda t: KT.warp_perspective(t, H, (16, 20)), x))
    check("geometry.rotate", lambda: KT.rotate(x, angle))
    check("geometry.translate", lambda: KT.translate(x, torch.tensor([[2.0, -1.5], [0.5, 3.0]])))
    check("geometry.scale", lambda: KT.scale(x, torch.tensor([[1.2, 0.9], [0.7, 1.1]])))
    check("geometry.shear", lambda: KT.shear(x, torch.tensor([[0.1, 0.0], [0.0, -0.2]])))
    check("geometry.hflip", lambda: KT.hflip(x))
    check("geometry.vflip", lambda: KT.vflip(x))
    check("geometry.resize.bilinear", lambda: KT.resize(x, (11, 13)))
    check("geometry.resize.antialias", lambda: KT.resize(x, (8, 9), antialias=True))
    check("geometry.resize.nearest", lambda: KT.resize(x, (30, 25), interpolation="nearest"))
    check("geometry.resize.bicubic", lambda: KT.resize(x, (30, 25), interpolation="bicubic"))
    check("geometry.rescale", lambda: KT.rescale(x, 0.5))
    check("geometry.resize.grad", lambda: grad_of(lambda t: KT.resize(t, (9, 7)), x))
    boxes = torch.tensor([[[2.0, 2.0], [12.0, 2.0], [12.0, 10.0], [2.0, 10.0]],
                          [[0.0, 1.0], [15.0, 1.0], [15.0, 13.0], [0.0, 13.0]]])
    check("geometry.crop_and_resize", lambda: KT.crop_and_resize(x, boxes, (6, 8)))
    check("geometry.center_crop", lambda: KT.center_crop(x, (10, 10)))
    check("geometry.crop_by_indices", lambda: KT.crop_by_indices(x, boxes, (5, 7)))
    check("geometry.pyrdown", lambda: KT.pyrdown(x))
    check("geometry.pyrup", lambda: KT.pyrup(x))
    check("geometry.build_pyramid", lambda: KT.build_pyramid(x, 3))
    check("geometry.elastic", lambda: KT.elastic_transform2d(
        x, torch.linspace(-1, 1, 2 * 2 * 16 * 20).reshape(2, 2, 16, 20)))
    check("geometry.remap", lambda: KT.remap(
        x, *(m.expand(2, 16, 20) for m in torch.meshgrid(
            torch.linspace(0, 19, 20) * 0.9, torch.linspace(0, 15, 16) * 1.05, indexing="xy")),
        align_corners=False))
    check("geometry.affine3d", lambda: KT.warp_affine3d(
        images(4, 1, 2, (5, 6, 7)), torch.eye(4)[:3].unsqueeze(0) + 0.05, (5, 6, 7)))
    # homography
    g = torch.Generator().manual_seed(5)
    pts1 = torch.rand(1, 8, 2, generator=g) * 10
    Htrue = torch.tensor([[[1.1, 0.1, 2.0], [-0.05, 0.95, 1.0], [0.001, 0.002, 1.0]]])
    pts2 = KG.transform_points(Htrue, pts1)
    check("geometry.transform_points", lambda: pts2)
    check("geometry.find_homography_dlt", lambda: KG.find_homography_dlt(pts1, pts2))
    check("geometry.find_homography_dlt_weighted", lambda: KG.find_homography_dlt(
        pts1, pts2, torch.linspace(0.5, 1.5, 8).unsqueeze(0)))
    # conversions
    import kornia.geometry.conversions as KCV
    angles = torch.tensor([[0.1, -0.3, 0.5], [1.0, 0.2, -0.4]])
    R = KCV.axis_angle_to_rotation_matrix(angles)
    check("geometry.conv.axis_angle_to_R", lambda: R)
    check("geometry.conv.R_to_axis_angle", lambda: KCV.rotation_matrix_to_axis_angle(R))
    check("geometry.conv.R_to_quaternion", lambda: KCV.rotation_matrix_to_quaternion(R))
    check("geometry.conv.quat_to_R", lambda: KCV.quaternion_to_rotation_matrix(
        KCV.rotation_matrix_to_quaternion(R)))
    check("geometry.conv.deg2rad", lambda: KCV.deg2rad(torch.tensor([30.0, 90.0])))
    check("geometry.conv.convert_points_to_homogeneous",
          lambda: KCV.convert_points_to_homogeneous(pts1))
    check("geometry.conv.normalize_pixel", lambda: KCV.normalize_pixel_coordinates(pts1, 16, 20))
    check("geometry.conv.euler", lambda: KCV.euler_from_quaternion(
        *KCV.rotation_matrix_to_quaternion(R).unbind(-1)))
    # camera projections
    import kornia.geometry.camera as KCam
    K_ = torch.tensor([[[50.0, 0.0, 10.0], [0.0, 55.0, 8.0], [0.0, 0.0, 1.0]]])
    points3d = torch.tensor([[[0.1, -0.2, 2.0], [0.3, 0.1, 3.0], [-0.4, 0.2, 1.5]]])
    check("geometry.camera.project", lambda: KG.project_points(points3d, K_.unsqueeze(1)))
    check("geometry.camera.unproject", lambda: KG.unproject_points(
        KG.project_points(points3d, K_.unsqueeze(1)), points3d[..., 2:], K_.unsqueeze(1)))
    cam = KCam.PinholeCamera(torch.eye(4).unsqueeze(0) * 1.0 + 0.0,
                             torch.eye(4).unsqueeze(0), torch.tensor([16.0]), torch.tensor([20.0]))
    check("geometry.camera.pinhole", lambda: cam.project(points3d[0]))
    check("geometry.depth_to_3d", lambda: KG.depth_to_3d_v2(
        images(6, 1, 1, (6, 7))[0] + 1.0, K_))
    check("geometry.linalg.relative", lambda: KG.relative_transformation(
        torch.eye(4).unsqueeze(0), KCV.Rt_to_matrix4x4(R[:1], torch.ones(1, 3, 1))))
    # (independent random correspondences: points related by a homography are degenerate)
    far = torch.rand(1, 10, 2, generator=g) * 10
    check("geometry.epipolar.fundamental", lambda: KG.epipolar.find_fundamental(
        pts1.repeat(1, 2, 1)[:, :10] + torch.rand(1, 10, 2, generator=g), far))


def enhance():
    import kornia.enhance as KE
    x = images(7)
    for name, args in (("adjust_brightness", (0.2,)), ("adjust_contrast", (1.3,)),
                       ("adjust_saturation", (0.6,)), ("adjust_hue", (0.3,)),
                       ("adjust_gamma", (1.5, 1.1)), ("adjust_log", (1.2,)),
                       ("adjust_sigmoid", (0.5, 8.0)), ("posterize", (3,)),
                       ("solarize", (0.4,)), ("sharpness", (0.6,)), ("equalize", ()),
                       ("invert", ()), ("equalize_clahe", (4.0, (2, 2))),
                       ("adjust_contrast_with_mean_subtraction", (0.7,))):
        check(f"enhance.{name}", lambda name=name, args=args: getattr(KE, name)(x, *args))
    check("enhance.normalize", lambda: KE.normalize(x, torch.tensor([0.5, 0.4, 0.3]),
                                                    torch.tensor([0.2, 0.25, 0.3])))
    check("enhance.denormalize", lambda: KE.denormalize(x, torch.tensor([0.5, 0.4, 0.3]),
                                                        torch.tensor([0.2, 0.25, 0.3])))
    check("enhance.normalize_min_max", lambda: KE.normalize_min_max(x, -1.0, 1.0))
    check("enhance.zca", lambda: KE.ZCAWhitening().fit(x.flatten(1)[:, :6].repeat(4, 1)
                                                       + torch.arange(8.0)[:, None] * 0.1)
          (x.flatten(1)[:, :6]))
    check("enhance.histogram", lambda: KE.histogram(x.flatten(1), torch.linspace(0, 1, 8),
                                                    torch.tensor(0.9)))
    check("enhance.image_histogram2d", lambda: KE.image_histogram2d(x[0, 0], n_bins=8))
    check("enhance.hue.grad", lambda: grad_of(lambda t: KE.adjust_hue(t, 0.3), x))
    check("enhance.saturation.grad", lambda: grad_of(lambda t: KE.adjust_saturation(t, 0.6), x))


def morphology():
    import kornia.morphology as KM
    x = images(8, 1, 2, (12, 11))
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 0.0]])
    for name in ("dilation", "erosion", "opening", "closing", "gradient", "top_hat",
                 "bottom_hat"):
        check(f"morphology.{name}", lambda name=name: getattr(KM, name)(x, kernel))
        check(f"morphology.{name}.unfold",
              lambda name=name: getattr(KM, name)(x, kernel, engine="unfold"))
    check("morphology.dilation.grad", lambda: grad_of(lambda t: KM.dilation(t, kernel), x))
    check("morphology.erosion.grad", lambda: grad_of(
        lambda t: KM.erosion(t, kernel, engine="unfold"), x))


def losses():
    import kornia.losses as KL
    import kornia.metrics as KMT
    a, b = images(9), images(10)
    check("losses.ssim_loss", lambda: KL.ssim_loss(a, b, 5))
    check("losses.ssim_loss.grad", lambda: grad_of(lambda t: KL.ssim_loss(t, b, 5), a))
    check("losses.ms_ssim", lambda: KL.MS_SSIMLoss(sigmas=[0.5, 1.0], data_range=1.0)(
        images(11, 1, 3, (32, 32)), images(12, 1, 3, (32, 32))))
    check("losses.psnr", lambda: KL.psnr_loss(a, b, 1.0))
    check("losses.metric_psnr", lambda: KMT.psnr(a, b, 1.0))
    check("losses.metric_ssim", lambda: KMT.ssim(a, b, 7))
    check("losses.total_variation", lambda: KL.total_variation(a))
    check("losses.tv.grad", lambda: grad_of(KL.total_variation, a))
    g = torch.Generator().manual_seed(13)
    logits = torch.randn(2, 4, 6, 5, generator=g)
    labels = torch.randint(0, 4, (2, 6, 5), generator=g)
    check("losses.dice", lambda: KL.dice_loss(logits, labels))
    check("losses.dice.grad", lambda: grad_of(lambda t: KL.dice_loss(t, labels), logits))
    check("losses.focal", lambda: KL.focal_loss(logits, labels, alpha=0.5, gamma=2.0,
                                                reduction="mean"))
    check("losses.focal.grad", lambda: grad_of(
        lambda t: KL.focal_loss(t, labels, 0.25, 2.0, reduction="sum"), logits))
    check("losses.binary_focal", lambda: KL.binary_focal_loss_with_logits(
        logits[:, 0], (labels > 1).float(), alpha=0.25, gamma=2.0, reduction="mean"))
    check("losses.tversky", lambda: KL.tversky_loss(logits, labels, 0.3, 0.7))
    check("losses.lovasz_softmax", lambda: KL.lovasz_softmax_loss(logits, labels))
    check("losses.charbonnier", lambda: KL.charbonnier_loss(a, b, reduction="mean"))
    check("losses.welsch", lambda: KL.welsch_loss(a, b, reduction="mean"))
    check("losses.geman", lambda: KL.geman_mcclure_loss(a, b, reduction="mean"))
    check("losses.cauchy", lambda: KL.cauchy_loss(a, b, reduction="mean"))
    check("losses.js_div", lambda: KL.js_div_loss_2d(logits.softmax(1).flatten(2).reshape(
        2, 4, 6, 5), logits.flip(0).softmax(1)))
    check("losses.kl_div", lambda: KL.kl_div_loss_2d(logits.softmax(1),
                                                     logits.flip(0).softmax(1)))
    check("losses.hausdorff", lambda: KL.HausdorffERLoss()(logits, labels[:, None]))
    check("metrics.accuracy", lambda: KMT.accuracy(logits[:, :, 0, 0], labels[:, 0, 0],
                                                   topk=(1, 2)))
    check("metrics.mean_iou", lambda: KMT.mean_iou(logits.argmax(1), labels, 4))
    check("metrics.confusion", lambda: KMT.confusion_matrix(logits.argmax(1), labels, 4))


def feature():
    x = images(14, 1, 1, (32, 32))
    check("feature.harris", lambda: KF.harris_response(x, 0.04))
    check("feature.gftt", lambda: KF.gftt_response(x))
    check("feature.hessian", lambda: KF.hessian_response(x))
    check("feature.dog", lambda: KF.dog_response(images(15, 1, 1, (3, 16, 16))))
    check("feature.harris.grad", lambda: grad_of(lambda t: KF.harris_response(t, 0.04), x))
    patches = images(16, 6, 1, (32, 32))
    check("feature.sift", lambda: KF.SIFTDescriptor(32, 8, 4)(patches))
    check("feature.sift.grad", lambda: grad_of(KF.SIFTDescriptor(32, 8, 4), patches))
    check("feature.mkd", lambda: KF.MKDDescriptor(32, whitening=None)(patches))
    check("feature.dense_sift", lambda: KF.DenseSIFTDescriptor()(x))
    check("feature.orientation", lambda: KF.PatchDominantGradientOrientation(32)(patches))
    check("feature.affine_shape", lambda: KF.PatchAffineShapeEstimator(32)(patches))
    check("feature.laf_from_center", lambda: KF.laf_from_center_scale_ori(
        torch.tensor([[[10.0, 12.0], [20.0, 15.0]]]), torch.tensor([[[[4.0]], [[6.0]]]]),
        torch.tensor([[[30.0], [-60.0]]])))
    lafs = KF.laf_from_center_scale_ori(torch.tensor([[[10.0, 12.0], [20.0, 15.0]]]),
                                        torch.tensor([[[[4.0]], [[6.0]]]]),
                                        torch.tensor([[[30.0], [-60.0]]]))
    check("feature.extract_patches", lambda: KF.extract_patches_from_pyramid(x, lafs, 8))
    check("feature.scale_space_detector", lambda: KF.ScaleSpaceDetector(
        num_features=10, resp_module=KF.BlobHessian(),
        scale_pyr_module=kornia.geometry.ScalePyramid(3, 1.6, 15),
        subpix_module=kornia.geometry.ConvQuadInterp3d(10), mr_size=6.0)(x))
    d1 = KF.SIFTDescriptor(32, 8, 4)(patches)
    d2 = KF.SIFTDescriptor(32, 8, 4)(patches.flip(-1))
    check("feature.match_nn", lambda: KF.match_nn(d1, d2))
    check("feature.match_mnn", lambda: KF.match_mnn(d1, d2))
    check("feature.match_snn", lambda: KF.match_snn(d1, d2, 0.95))
    def sift_feature():
        torch.manual_seed(107)
        blobs = kornia.filters.gaussian_blur2d(images(23, 1, 1, (48, 48)), (7, 7), (2.0, 2.0))
        lafs, responses, descriptors = KF.SIFTFeature(num_features=12)(blobs)
        return [lafs, responses, descriptors]
    check("feature.sift_feature", sift_feature)
    check("feature.laf_descriptor", lambda: KF.LAFDescriptor(KF.SIFTDescriptor(16, 8, 4),
                                                             patch_size=16)(x, lafs))

    def ransac():
        torch.manual_seed(108)
        g = torch.Generator().manual_seed(9)
        src = torch.rand(30, 2, generator=g) * 20
        H = torch.tensor([[1.05, 0.1, 1.0], [-0.08, 0.97, 2.0], [0.001, 0.0, 1.0]])
        dst = kornia.geometry.transform_points(H[None], src[None])[0]
        dst[:6] += torch.rand(6, 2, generator=g) * 8  # outliers
        model, inliers = kornia.geometry.RANSAC("homography", inl_th=1.0, max_iter=5)(src, dst)
        return [model / model[2, 2], inliers]
    check("feature.ransac", ransac)
    check("feature.nms2d", lambda: kornia.geometry.subpix.nms2d(x, (3, 3)))
    check("feature.spatial_soft_argmax", lambda: kornia.geometry.subpix.spatial_soft_argmax2d(
        x, torch.tensor(2.0)))


def augmentation():
    x = images(17, 2, 3, (20, 24))
    pipelines = {
        "affine": lambda: K.RandomAffine(degrees=20.0, translate=(0.1, 0.1), scale=(0.9, 1.1),
                                         shear=5.0, p=1.0),
        "color_jitter": lambda: K.ColorJitter(0.2, 0.3, 0.2, 0.1, p=1.0),
        "resized_crop": lambda: K.RandomResizedCrop((16, 16), scale=(0.5, 1.0), p=1.0),
        "hflip": lambda: K.RandomHorizontalFlip(p=0.5),
        "rotation": lambda: K.RandomRotation(30.0, p=1.0),
        "perspective": lambda: K.RandomPerspective(0.3, p=1.0),
        "gaussian_blur": lambda: K.RandomGaussianBlur((3, 3), (0.5, 1.5), p=1.0),
        "gaussian_noise": lambda: K.RandomGaussianNoise(std=0.1, p=1.0),
        "grayscale": lambda: K.RandomGrayscale(p=0.5),
        "crop": lambda: K.RandomCrop((14, 14), padding=2, p=1.0),
        "erasing": lambda: K.RandomErasing(p=1.0),
        "solarize": lambda: K.RandomSolarize(0.1, 0.1, p=1.0),
        "equalize": lambda: K.RandomEqualize(p=1.0),
        "elastic": lambda: K.RandomElasticTransform(p=1.0),
        "normalize": lambda: K.Normalize(torch.tensor([0.5, 0.5, 0.5]),
                                         torch.tensor([0.2, 0.2, 0.2])),
    }
    for name, make in pipelines.items():
        def run(make=make):
            torch.manual_seed(100)
            aug = make()
            out = aug(x)
            return [out, aug.transform_matrix] if getattr(aug, "transform_matrix", None) \
                is not None else [out]
        check(f"augmentation.{name}", run)

    def sequential():
        torch.manual_seed(101)
        seq = K.AugmentationSequential(
            K.RandomAffine(15.0, p=1.0), K.ColorJitter(0.1, 0.1, 0.1, 0.05, p=0.8),
            K.RandomHorizontalFlip(), data_keys=["input", "mask", "bbox_xyxy", "keypoints"])
        mask = (x[:, :1] > 0.5).float()
        bbox = torch.tensor([[[2.0, 3.0, 12.0, 15.0]], [[1.0, 1.0, 20.0, 10.0]]])
        keypoints = torch.tensor([[[5.0, 6.0], [10.0, 8.0]], [[3.0, 4.0], [15.0, 12.0]]])
        out = seq(x, mask, bbox, keypoints)
        inverse = seq.inverse(out[0], data_keys=["input"])
        return [*out, inverse]
    check("augmentation.sequential", sequential)

    def container_grad():
        torch.manual_seed(102)
        seq = K.AugmentationSequential(K.RandomAffine(10.0, p=1.0), K.RandomResizedCrop(
            (12, 12), p=1.0))
        t = x.clone().requires_grad_(True)
        out = seq(t)
        (out * torch.linspace(0, 1, out.numel()).reshape(out.shape)).sum().backward()
        return [out, t.grad]
    check("augmentation.grad", container_grad)

    def mixup():
        torch.manual_seed(103)
        labels = torch.tensor([0, 1])
        out, mixed = K.RandomMixUpV2(p=1.0, data_keys=["input", "class"])(x, labels)
        return [out, mixed]
    check("augmentation.mixup", mixup)

    def draws():
        torch.manual_seed(104)
        aug = K.RandomAffine(degrees=20.0, translate=(0.1, 0.1), scale=(0.9, 1.1), p=1.0)
        params = aug.forward_parameters(x.shape)
        return [params[k] for k in sorted(params) if isinstance(params[k], torch.Tensor)]
    check("augmentation.params", draws)


def training():
    """A small differentiable pipeline: learn a blur sigma and an affine angle by gradient
    descent through kornia (the tutorials' 'differentiable image processing')."""
    import kornia.filters as KFL
    import kornia.geometry.transform as KT
    target_img = images(18, 1, 1, (16, 16))
    target = KFL.gaussian_blur2d(KT.rotate(target_img, torch.tensor([12.0])), (5, 5),
                                 (1.3, 1.3))
    sigma = torch.tensor([[0.8, 0.8]], requires_grad=True)
    angle = torch.tensor([0.0], requires_grad=True)
    optimizer = torch.optim.Adam([sigma, angle], lr=0.1)
    trajectory = []
    for _ in range(6):
        optimizer.zero_grad()
        out = KFL.gaussian_blur2d(KT.rotate(target_img, angle), (5, 5), sigma)
        loss = torch.nn.functional.mse_loss(out, target)
        loss.backward()
        optimizer.step()
        trajectory.append([loss.item(), sigma[0, 0].item(), angle.item()])
    return np.array(trajectory)


def more():
    """kornia.contrib, kornia.utils, Lie groups, 3-d augmentation and the module forms."""
    import kornia.contrib as KCO
    import kornia.geometry.liegroup as KLG
    import kornia.utils as KU
    x = images(19, 1, 1, (12, 14))
    check("more.distance_transform", lambda: KCO.distance_transform((x > 0.8).float()))
    check("more.connected_components", lambda: KCO.connected_components(
        (x > 0.6).float(), num_iterations=20))
    check("more.extract_tensor_patches", lambda: KCO.extract_tensor_patches(x, 4, 3))
    check("more.combine_patches", lambda: KCO.combine_tensor_patches(
        KCO.extract_tensor_patches(images(20, 1, 1, (8, 8)), 4, 4), (8, 8), 4, 4))
    check("more.meshgrid", lambda: KU.create_meshgrid(3, 4, normalized_coordinates=True))
    check("more.draw_line", lambda: KU.draw_line(torch.zeros(3, 8, 8), torch.tensor([1, 1]),
                                                 torch.tensor([6, 5]), torch.tensor([1.0, 0.5,
                                                                                     0.2])))
    check("more.one_hot", lambda: KU.one_hot(torch.tensor([[[0, 2], [1, 0]]]), 3,
                                             torch.device("cpu"), torch.float32))
    check("more.image_to_tensor", lambda: KU.image_to_tensor(
        np.arange(24, dtype=np.float32).reshape(2, 4, 3)))
    omega = torch.tensor([[0.1, -0.2, 0.3], [0.5, 0.1, -0.1]])
    so3 = KLG.So3.exp(omega)
    check("more.so3.matrix", lambda: so3.matrix())
    check("more.so3.log", lambda: so3.log())
    check("more.so3.inverse", lambda: (so3 * so3.inverse()).matrix())
    se3 = KLG.Se3.exp(torch.tensor([[0.1, 0.2, -0.1, 0.05, -0.1, 0.2]]))
    check("more.se3.matrix", lambda: se3.matrix())
    check("more.se3.act", lambda: se3 * torch.tensor([[1.0, 2.0, 3.0]]))
    check("more.so2", lambda: KLG.So2.exp(torch.tensor([0.3, -1.2])).matrix())
    check("more.se2", lambda: KLG.Se2.exp(torch.tensor([[0.3, 1.0, -2.0]])).matrix())
    check("more.quaternion", lambda: kornia.geometry.quaternion.Quaternion.from_axis_angle(
        omega).matrix())

    def modules():
        torch.manual_seed(105)
        seq = torch.nn.Sequential(kornia.filters.GaussianBlur2d((3, 3), (1.0, 1.0)),
                                  kornia.color.RgbToGrayscale(),
                                  kornia.filters.Sobel(), kornia.geometry.Resize((6, 7)))
        y = images(21, 2, 3, (12, 14)).requires_grad_(True)
        out = seq(y)
        out.sum().backward()
        return [out, y.grad]
    check("more.modules", modules)

    def augment3d():
        torch.manual_seed(106)
        volume = images(22, 1, 1, (6, 8, 8))
        return [K.RandomAffine3D(10.0, p=1.0)(volume), K.RandomHorizontalFlip3D(p=1.0)(volume)]
    check("more.augment3d", augment3d)


def extra():
    """The random-heavy augmentations (each draws its own way from the global stream), float64
    warps and their gradients, image registration and a differentiable JPEG."""
    x = images(24, 2, 3, (16, 16))
    names = {
        "auto_contrast": lambda: K.RandomAutoContrast(p=1.0),
        "box_blur": lambda: K.RandomBoxBlur((3, 3), p=1.0),
        "channel_dropout": lambda: K.RandomChannelDropout(p=1.0),
        "channel_shuffle": lambda: K.RandomChannelShuffle(p=1.0),
        "clahe": lambda: K.RandomClahe(p=1.0),
        "fisheye": lambda: K.RandomFisheye(torch.tensor([-0.3, 0.3]), torch.tensor([-0.3, 0.3]),
                                           torch.tensor([0.9, 1.0]), p=1.0),
        "gamma": lambda: K.RandomGamma((0.5, 1.5), p=1.0),
        "illumination": lambda: K.RandomGaussianIllumination(p=1.0),
        "linear_illumination": lambda: K.RandomLinearIllumination(p=1.0),
        "invert": lambda: K.RandomInvert(p=0.5),
        "median": lambda: K.RandomMedianBlur((3, 3), p=1.0),
        "motion": lambda: K.RandomMotionBlur(3, 35.0, 0.5, p=1.0),
        "planckian": lambda: K.RandomPlanckianJitter(p=1.0),
        "plasma": lambda: K.RandomPlasmaBrightness(p=1.0),
        "posterize": lambda: K.RandomPosterize(3, p=1.0),
        "rgb_shift": lambda: K.RandomRGBShift(p=1.0),
        "rotation90": lambda: K.RandomRotation90((-1, 2), p=1.0),
        "salt_pepper": lambda: K.RandomSaltAndPepperNoise(p=1.0),
        "sharpness": lambda: K.RandomSharpness(0.5, p=1.0),
        "thin_plate": lambda: K.RandomThinPlateSpline(p=1.0),
        "rain": lambda: K.RandomRain(p=1.0, drop_height=(1, 2), drop_width=(1, 2)),
        "snow": lambda: K.RandomSnow(p=1.0),
        "same_on_batch": lambda: K.RandomAffine(20.0, p=1.0, same_on_batch=True),
        "jigsaw": lambda: K.RandomJigsaw((2, 2), p=1.0),
        "mosaic": lambda: K.RandomMosaic((16, 16), p=1.0),
        "dissolving_free.translate": lambda: K.RandomTranslate(0.2, 0.1, p=1.0),
    }
    for name, make in names.items():
        def run(make=make):
            torch.manual_seed(200)
            return make()(x)
        check(f"extra.aug.{name}", run)

    def cutmix():
        torch.manual_seed(201)
        out, labels = K.RandomCutMixV2(p=1.0, data_keys=["input", "class"])(
            x, torch.tensor([0, 1]))
        return [out, labels]
    check("extra.aug.cutmix", cutmix)
    import kornia.geometry.transform as KT
    x64 = images(25, 1, 2, (10, 12), dtype=torch.float64)
    M = KT.get_rotation_matrix2d(torch.tensor([[5.5, 4.0]], dtype=torch.float64),
                                 torch.tensor([33.0], dtype=torch.float64),
                                 torch.ones(1, 2, dtype=torch.float64))
    for align in (True, False):
        for mode in ("bilinear", "nearest", "bicubic"):
            check(f"extra.f64.warp.{mode}.{align}", lambda mode=mode, align=align: grad_of(
                lambda t: KT.warp_affine(t, M, (10, 12), mode=mode, align_corners=align), x64))
        check(f"extra.f64.resize.{align}", lambda align=align: grad_of(
            lambda t: KT.resize(t, (7, 17), align_corners=align), x64))
        check(f"extra.f64.resize_bicubic.{align}", lambda align=align: grad_of(
            lambda t: KT.resize(t, (13, 5), interpolation="bicubic", align_corners=align), x64))
    check("extra.f64.matrix_grad", lambda: grad_of(lambda m: KT.warp_affine(x64, m, (10, 12)), M))
    check("extra.f64.bicubic_matrix_grad", lambda: grad_of(
        lambda m: KT.warp_affine(x64, m, (10, 12), mode="bicubic", padding_mode="reflection"), M))
    check("extra.bicubic_rotate", lambda: KT.rotate(images(27), torch.tensor([20.0, -50.0]),
                                                    mode="bicubic"))

    def registration():
        torch.manual_seed(202)
        moving = images(26, 1, 1, (24, 24))
        fixed = KT.rotate(moving, torch.tensor([10.0]))
        registrator = KG.ImageRegistrator("similarity", num_iterations=8, pyramid_levels=2,
                                          tolerance=1e-9)
        return registrator.register(moving, fixed)
    import kornia.geometry as KG
    check("extra.registration", registration)
    import kornia.enhance as KE
    check("extra.jpeg", lambda: grad_of(lambda t: KE.jpeg_codec_differentiable(
        t, torch.tensor([50.0, 80.0])), x))


SECTIONS = [filters, color, geometry, enhance, morphology, losses, feature, augmentation, more,
            extra]


if __name__ == "__main__":
    out_path = sys.argv[1]
    for section in SECTIONS:
        check(f"section.{section.__name__}", lambda section=section: section() or 0)
    check("training.trajectory", training)
    # What kornia reads from the alias: torch.torch (annotations) and str(dtype) (DType.get)
    check("alias.names", lambda: np.array([str(torch.float32), repr(torch.int64),
                                           str(torch.torch is torch), str(torch.zeros(1).dtype)]))
    np.savez(out_path, **OUT, **{k: np.array(v) for k, v in ERR.items()})
