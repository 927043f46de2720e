"""``torch._C._nn``: PyTorch's ATen bindings for the nn ops, with ATen's signatures.

Libraries call these directly (``torch._C._nn.gelu``, ``linear``, ``pad``, ``mse_loss``,
``upsample_bilinear2d``, ...). Each name here is a thin adapter onto ``nn.functional``: ATen's
positional order, ``reduction`` as the int enum (0 none, 1 mean, 2 sum), pooling ``stride=[]``
meaning "the kernel size". The functional op is looked up when called, so CPU autocast casts
exactly as the matching ``nn.functional`` call does (PyTorch's autocast lists name the ATen ops
the functionals reach). Forms deltagrad cannot serve raise; names not here raise
AttributeError naming deltagrad (``_C._nn.__getattr__``).
"""

from __future__ import annotations

import math
import types

from .._engine.api.shape import cat
from .._engine.node_names import name_node
from . import fractional_pool as _fractional_pool
from . import functional as _F
from .rnn_utils import pad_sequence as _pad_sequence

_REDUCTIONS = ("none", "mean", "sum")


def _reduction(op: str, reduction) -> str:
    """ATen's int reduction enum as the functional's string (PyTorch: an int or a TypeError)."""
    if isinstance(reduction, bool) or not isinstance(reduction, int):
        raise TypeError(f"{op}(): argument 'reduction' must be int, not "
                        f"{type(reduction).__name__}")
    if not 0 <= reduction < 3:
        raise RuntimeError(f"{op}(): reduction must be 0 (none), 1 (mean) or 2 (sum), "
                           f"got {reduction}")
    return _REDUCTIONS[reduction]


def _stride(stride):
    """ATen pools take ``stride=[]`` for "the kernel size" (the functional's None)."""
    return None if stride is None or (isinstance(stride, (list, tuple)) and not stride) \
        else stride


# Activations (ATen names; the in-place forms write into ``self``).
def gelu(self, *, approximate: str = "none"):
    return _F.gelu(self, approximate=approximate)


def gelu_(self, *, approximate: str = "none"):
    return self.copy_(_F.gelu(self.clone(), approximate=approximate))


def elu(self, alpha=1.0, scale=1.0, input_scale=1.0):
    if scale == 1 and input_scale == 1:
        return _F.elu(self, alpha)
    # ATen's general form: scale * (x if x > 0 else alpha * (exp(x * input_scale) - 1))
    negative = (self * input_scale).expm1() * alpha
    return self.where(self > 0, negative) * scale


def elu_(self, alpha=1.0, scale=1.0, input_scale=1.0):
    if scale == 1 and input_scale == 1:
        return _F.elu_(self, alpha)
    return self.copy_(elu(self.clone(), alpha, scale, input_scale))


def leaky_relu(self, negative_slope=0.01):
    return _F.leaky_relu(self, negative_slope)


def leaky_relu_(self, negative_slope=0.01):
    return _F.leaky_relu_(self, negative_slope)


def hardtanh(self, min_val=-1.0, max_val=1.0):
    return _F.hardtanh(self, min_val, max_val)


def hardtanh_(self, min_val=-1.0, max_val=1.0):
    return _F.hardtanh_(self, min_val, max_val)


def rrelu_with_noise(self, noise, lower=1.0 / 8, upper=1.0 / 3, training=False,
                     generator=None):
    """``x * slope`` where ``x <= 0``; in training the slopes (1 where ``x > 0``) are drawn as
    ``nn.functional.rrelu`` draws them and written into ``noise``; in evaluation ``noise`` is
    left as it is and the slope is ``(lower + upper) / 2``."""
    if tuple(noise.shape) != tuple(self.shape):
        raise RuntimeError("noise tensor shape must match self tensor shape. Got self.shape = "
                           f"{list(self.shape)} noise.shape = {list(noise.shape)}")
    if not training:
        return _F.rrelu(self, lower, upper, False)
    if noise.dtype != self.dtype:
        raise RuntimeError(f"expected scalar type {_scalar_name(self.dtype)} but found "
                           f"{_scalar_name(noise.dtype)}")
    # The same draws as rrelu's (one per element x <= 0, in order) on a probe of -1 there and
    # 1 elsewhere (NaN included): the probe's result is -slope, exactly, where x <= 0.
    negative = (self.detach() <= 0)
    probe = negative.to(self.dtype) * -2 + 1
    slopes = _F.rrelu(probe, lower, upper, True, generator=generator)
    slopes = slopes.where(~negative, -slopes)
    noise.copy_(slopes)
    result = self * slopes
    if result.grad_fn is not None:
        name_node(result, "RreluWithNoiseBackward0")
    return result


def rrelu_with_noise_(self, noise, lower=1.0 / 8, upper=1.0 / 3, training=False,
                      generator=None):
    return self.copy_(rrelu_with_noise(self.clone(), noise, lower, upper, training,
                                       generator))


def _scalar_name(dtype) -> str:
    """ATen's scalar type word (``Float``, ``Double``, ``Half``, ``BFloat16``)."""
    return {"float32": "Float", "float64": "Double", "float16": "Half",
            "bfloat16": "BFloat16"}.get(str(dtype).rsplit(".", 1)[-1], str(dtype))


def softplus(self, beta=1.0, threshold=20.0):
    return _F.softplus(self, beta, threshold)


def softshrink(self, lambd=0.5):
    return _F.softshrink(self, lambd)


def log_sigmoid(self):
    return _F.logsigmoid(self)


def glu(self, dim=-1):
    return _F.glu(self, dim)


def _activation(name: str, inplace: bool):
    def op(self):
        return getattr(_F, name)(self, inplace=inplace)

    op.__name__ = op.__qualname__ = name + ("_" if inplace else "")
    return op


hardsigmoid, hardsigmoid_ = _activation("hardsigmoid", False), _activation("hardsigmoid", True)
hardswish, hardswish_ = _activation("hardswish", False), _activation("hardswish", True)
mish, mish_ = _activation("mish", False), _activation("mish", True)
silu, silu_ = _activation("silu", False), _activation("silu", True)
relu6, relu6_ = _activation("relu6", False), _activation("relu6", True)


# Linear, attention, padding, one-hot.
def linear(input, weight, bias=None):
    return _F.linear(input, weight, bias)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    return _F.scaled_dot_product_attention(query, key, value, attn_mask, dropout_p, is_causal,
                                           scale=scale, enable_gqa=enable_gqa)


def one_hot(self, num_classes=-1):
    return _F.one_hot(self, num_classes)


def pad(self, pad, mode="constant", value=None):
    return _F.pad(self, pad, mode, value)


_PAD_MODES = ("reflect", "replicate", "circular", "constant")  # (ATen's padding_mode enum)


def _pad_enum(self, pad, mode, value=None):
    if not isinstance(mode, int) or not 0 <= mode < len(_PAD_MODES):
        raise RuntimeError(f"_pad_enum: mode must be 0 to 3 (reflect, replicate, circular, "
                           f"constant), got {mode!r}")
    return _F.pad(self, pad, _PAD_MODES[mode], value)


def _pad_circular(self, pad):
    return _F.pad(self, pad, "circular")


def _fixed_pad(mode: str, dims: int):
    name = f"{'reflection' if mode == 'reflect' else 'replication'}_pad{dims}d"

    def op(self, padding):
        if len(padding) != 2 * dims:
            raise RuntimeError(f"{name}: padding size is expected to be {2 * dims}, "
                               f"got {len(padding)}")
        if self.ndim not in (dims + 1, dims + 2):
            raise ValueError(f"{name}: expected {dims + 1}D or {dims + 2}D input, got "
                             f"{self.ndim}D")
        return _F.pad(self, list(padding), mode)

    op.__name__ = op.__qualname__ = name
    return op


reflection_pad1d, reflection_pad2d, reflection_pad3d = (
    _fixed_pad("reflect", 1), _fixed_pad("reflect", 2), _fixed_pad("reflect", 3))
replication_pad1d, replication_pad2d, replication_pad3d = (
    _fixed_pad("replicate", 1), _fixed_pad("replicate", 2), _fixed_pad("replicate", 3))


# Losses (reduction: the int enum). PyTorch 2.13's Python bindings default it to 0 (none), not
# ATen's declared Mean: `torch._C._nn.mse_loss(a, b)` returns the elementwise losses (checked
# for each loss here), so the defaults below are 0.
def mse_loss(self, target, reduction=0):
    return _F.mse_loss(self, target, reduction=_reduction("mse_loss", reduction))


def l1_loss(self, target, reduction=0):
    return _F.l1_loss(self, target, reduction=_reduction("l1_loss", reduction))


def smooth_l1_loss(self, target, reduction=0, beta=1.0):
    return _F.smooth_l1_loss(self, target, reduction=_reduction("smooth_l1_loss", reduction),
                             beta=beta)


def huber_loss(self, target, reduction=0, delta=1.0):
    return _F.huber_loss(self, target, reduction=_reduction("huber_loss", reduction),
                         delta=delta)


def soft_margin_loss(self, target, reduction=0):
    return _F.soft_margin_loss(self, target,
                               reduction=_reduction("soft_margin_loss", reduction))


def binary_cross_entropy(self, target, weight=None, reduction=0):
    return _F.binary_cross_entropy(self, target, weight,
                                   reduction=_reduction("binary_cross_entropy", reduction))


def multi_margin_loss(self, target, p=1, margin=1, weight=None, reduction=0):
    return _F.multi_margin_loss(self, target, p, margin, weight,
                                reduction=_reduction("multi_margin_loss", reduction))


def multilabel_margin_loss(self, target, reduction=0):
    return _F.multilabel_margin_loss(
        self, target, reduction=_reduction("multilabel_margin_loss", reduction))


def _nll(name: str, dims):
    def op(self, target, weight=None, reduction=0, ignore_index=-100):
        if dims is not None and self.ndim not in dims:
            raise RuntimeError(f"{name}: input tensor should be "
                               f"{' or '.join(f'{d}D' for d in dims)}, got {self.ndim}D")
        return _F.nll_loss(self, target, weight, ignore_index=ignore_index,
                           reduction=_reduction(name, reduction))

    op.__name__ = op.__qualname__ = name
    return op


nll_loss, nll_loss2d, nll_loss_nd = _nll("nll_loss", (1, 2)), _nll("nll_loss2d", (4,)), \
    _nll("nll_loss_nd", None)


def cross_entropy_loss(self, target, weight=None, reduction=0, ignore_index=-100,
                       label_smoothing=0.0):
    return _F.cross_entropy(self, target, weight, ignore_index=ignore_index,
                            reduction=_reduction("cross_entropy_loss", reduction),
                            label_smoothing=label_smoothing)


# Pooling, folding, unpooling.
def avg_pool2d(self, kernel_size, stride=(), padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    return _F.avg_pool2d(self, kernel_size, _stride(stride), padding, ceil_mode,
                         count_include_pad, divisor_override)


def avg_pool3d(self, kernel_size, stride=(), padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    return _F.avg_pool3d(self, kernel_size, _stride(stride), padding, ceil_mode,
                         count_include_pad, divisor_override)


def adaptive_avg_pool2d(self, output_size):
    return _F.adaptive_avg_pool2d(self, output_size)


def adaptive_avg_pool3d(self, output_size):
    return _F.adaptive_avg_pool3d(self, output_size)


def adaptive_max_pool2d(self, output_size):
    return tuple(_F.adaptive_max_pool2d(self, output_size, return_indices=True))


def adaptive_max_pool3d(self, output_size):
    return tuple(_F.adaptive_max_pool3d(self, output_size, return_indices=True))


def max_pool2d_with_indices(self, kernel_size, stride=(), padding=0, dilation=1,
                            ceil_mode=False):
    return tuple(_F.max_pool2d(self, kernel_size, _stride(stride), padding, dilation,
                               ceil_mode, return_indices=True))


def max_pool3d_with_indices(self, kernel_size, stride=(), padding=0, dilation=1,
                            ceil_mode=False):
    return tuple(_F.max_pool3d(self, kernel_size, _stride(stride), padding, dilation,
                               ceil_mode, return_indices=True))


def _unpool(name: str, self, indices, output_size):
    """ATen's max_unpool: each value scattered to its flat index in an output of
    ``output_size`` spatial dims (kernel and stride only checked by the functional forms)."""
    dims = len(output_size)
    if self.ndim not in (dims + 1, dims + 2) or tuple(indices.shape) != tuple(self.shape):
        raise RuntimeError(f"{name}: expected a {dims + 1}D or {dims + 2}D input with indices "
                           f"of its shape, got input {tuple(self.shape)} and indices "
                           f"{tuple(indices.shape)}")
    lead = tuple(self.shape[:self.ndim - dims])
    size = math.prod(output_size)
    flat_indices = indices.reshape(*lead, -1)
    if flat_indices.numel() and (int(flat_indices.min()) < 0 or int(flat_indices.max()) >= size):
        raise RuntimeError(f"{name}: found an invalid max index (output size "
                           f"{tuple(output_size)})")
    out = self.new_zeros((*lead, size))
    out = out.scatter(out.ndim - 1, flat_indices, self.reshape(*lead, -1))
    return out.reshape(*lead, *output_size)


def max_unpool2d(self, indices, output_size):
    return _unpool("max_unpool2d", self, indices, list(output_size))


def max_unpool3d(self, indices, output_size, stride, padding):
    return _unpool("max_unpool3d", self, indices, list(output_size))


def im2col(self, kernel_size, dilation, padding, stride):
    return _F.unfold(self, kernel_size, dilation, padding, stride)


def col2im(self, output_size, kernel_size, dilation, padding, stride):
    return _F.fold(self, output_size, kernel_size, dilation, padding, stride)


# Upsampling: the ``(input, output_size, [align_corners,] scale_factors)`` form (output_size
# or scale_factors None) and the ``(self, output_size, [align_corners,] scales...)`` form.
def _upsample(name: str, mode: str, dims: int, corners: bool, antialias: bool = False):
    def op(input, output_size, *rest, **kwargs):
        rest = list(rest)
        align = None
        if corners:
            align = kwargs.pop("align_corners", rest.pop(0) if rest else None)
            if align is None:
                raise TypeError(f"{name}() missing required argument 'align_corners'")
        factors = kwargs.pop("scale_factors", None)
        scales = [kwargs.pop(k, None) for k in ("scales", "scales_d", "scales_h", "scales_w")]
        if kwargs:
            raise TypeError(f"{name}() got an unexpected keyword argument {next(iter(kwargs))!r}")
        if output_size is None or (rest and isinstance(rest[0], (list, tuple))):
            factors = rest[0] if rest else factors  # the vec form
            if (output_size is None) == (factors is None):
                raise RuntimeError(f"{name}: give exactly one of output_size and "
                                   "scale_factors")
            return _F.interpolate(input, size=output_size, scale_factor=factors, mode=mode,
                                  align_corners=align, antialias=antialias)
        scales = [s for s in rest + scales if s is not None]
        if len(output_size) != dims:
            raise RuntimeError(f"{name}: expected output_size of {dims} elements, got "
                               f"{len(output_size)}")
        if not scales:
            return _F.interpolate(input, size=list(output_size), mode=mode,
                                  align_corners=align, antialias=antialias)
        spatial = input.shape[input.ndim - dims:]
        if len(scales) != dims or any(int(math.floor(n * s)) != o
                                      for n, s, o in zip(spatial, scales, output_size)):
            raise NotImplementedError(
                f"deltagrad: {name} with scales {scales} that do not give output_size "
                f"{list(output_size)} from input size {list(spatial)}")
        return _F.interpolate(input, scale_factor=scales, mode=mode, align_corners=align,
                              recompute_scale_factor=False, antialias=antialias)

    op.__name__ = op.__qualname__ = name
    return op


upsample_nearest1d = _upsample("upsample_nearest1d", "nearest", 1, False)
upsample_nearest2d = _upsample("upsample_nearest2d", "nearest", 2, False)
upsample_nearest3d = _upsample("upsample_nearest3d", "nearest", 3, False)
_upsample_nearest_exact1d = _upsample("_upsample_nearest_exact1d", "nearest-exact", 1, False)
_upsample_nearest_exact2d = _upsample("_upsample_nearest_exact2d", "nearest-exact", 2, False)
_upsample_nearest_exact3d = _upsample("_upsample_nearest_exact3d", "nearest-exact", 3, False)
upsample_linear1d = _upsample("upsample_linear1d", "linear", 1, True)
upsample_bilinear2d = _upsample("upsample_bilinear2d", "bilinear", 2, True)
upsample_bicubic2d = _upsample("upsample_bicubic2d", "bicubic", 2, True)
upsample_trilinear3d = _upsample("upsample_trilinear3d", "trilinear", 3, True)
# The antialiased (``interpolate(..., antialias=True)``) forms; deltagrad has no Lanczos filter.
_upsample_bilinear2d_aa = _upsample("_upsample_bilinear2d_aa", "bilinear", 2, True, True)
_upsample_bicubic2d_aa = _upsample("_upsample_bicubic2d_aa", "bicubic", 2, True, True)


def _upsample_lanczos2d_aa(input, output_size, align_corners, *args, **kwargs):
    raise NotImplementedError("deltagrad: _upsample_lanczos2d_aa (Lanczos antialiased resize) "
                              "is not implemented; interpolate(mode='bilinear' or 'bicubic', "
                              "antialias=True) are")


# Fractional max pooling with the samples given (ATen's form: values and indices).
def fractional_max_pool2d(self, kernel_size, output_size, random_samples):
    return _fractional_pool.fractional_max_pool2d_with_indices(
        self, kernel_size, output_size, _random_samples=random_samples)


def fractional_max_pool3d(self, kernel_size, output_size, random_samples):
    return _fractional_pool.fractional_max_pool3d_with_indices(
        self, kernel_size, output_size, _random_samples=random_samples)


# The slow / THNN convolutions: ATen kernels the autocast lists do not name (PyTorch runs them
# in the inputs' dtypes under autocast), so they call the functional forms uncast.
def _uncast(name: str):
    function = getattr(_F, name)
    return getattr(function, "__wrapped_by_autocast__", function)


def _check_kernel(name: str, weight, kernel_size, dims: int):
    wanted = [kernel_size] * dims if isinstance(kernel_size, int) else list(kernel_size)
    if list(weight.shape[2:]) != wanted:
        raise RuntimeError(f"{name}: kernel_size {wanted} does not match the weight's "
                           f"spatial size {list(weight.shape[2:])}")


def _slow_conv(name: str, dims: int):
    def op(self, weight, kernel_size, bias=None, stride=1, padding=0, dilation=1):
        _check_kernel(name, weight, kernel_size, dims)
        return _uncast(f"conv{dims}d")(self, weight, bias, stride, padding, dilation)

    op.__name__ = op.__qualname__ = name
    return op


thnn_conv2d, slow_conv3d = _slow_conv("thnn_conv2d", 2), _slow_conv("slow_conv3d", 3)
slow_conv_dilated2d = _slow_conv("slow_conv_dilated2d", 2)
slow_conv_dilated3d = _slow_conv("slow_conv_dilated3d", 3)


def _slow_transpose(name: str, dims: int):
    def op(self, weight, kernel_size, bias=None, stride=1, padding=0, output_padding=0,
           dilation=1):
        _check_kernel(name, weight, kernel_size, dims)
        return _uncast(f"conv_transpose{dims}d")(self, weight, bias, stride, padding,
                                                 output_padding, 1, dilation)

    op.__name__ = op.__qualname__ = name
    return op


slow_conv_transpose2d = _slow_transpose("slow_conv_transpose2d", 2)
slow_conv_transpose3d = _slow_transpose("slow_conv_transpose3d", 3)


def _no_cpu_kernel(name: str):
    """Bindings whose ATen kernels are CUDA / oneDNN only: PyTorch's CPU build raises."""
    def op(*args, **kwargs):
        raise NotImplementedError(f"Could not run 'aten::{name}' with arguments from the "
                                  "'CPU' backend: it has no CPU kernel (as in PyTorch)")

    op.__name__ = op.__qualname__ = name
    return op


_conv_depthwise2d, conv_depthwise3d = (_no_cpu_kernel("_conv_depthwise2d"),
                                       _no_cpu_kernel("conv_depthwise3d"))
mkldnn_linear = _no_cpu_kernel("mkldnn_linear")


# Sequences and flat buffers.
def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    return _pad_sequence(sequences, batch_first, padding_value, padding_side)


def flatten_dense_tensors(tensors):
    return cat([t.reshape(-1) for t in tensors])


def unflatten_dense_tensors(flat, tensors):
    out, start = [], 0
    for t in tensors:
        out.append(flat.narrow(0, start, t.numel()).view(t.shape))
        start += t.numel()
    return tuple(out)


def _missing(name: str):
    raise AttributeError(f"deltagrad's torch._C._nn has no {name!r}: deltagrad serves the "
                         "ATen nn bindings it can match (see nn/_aten_nn.py)")


_NAMES = [n for n, v in list(globals().items())
          if isinstance(v, types.FunctionType) and v.__module__ == __name__
          and not n.startswith(("_reduction", "_stride", "_activation", "_fixed_pad", "_nll",
                                "_unpool", "_upsample", "_missing", "_uncast", "_check_kernel",
                                "_slow", "_no_cpu_kernel", "_scalar_name"))
          or n.startswith("_upsample_nearest_exact") or n.endswith("2d_aa")]
