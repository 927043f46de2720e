"""``torch.ao.quantization.fake_quantize``: quantization simulated in floating point for
quantization-aware training (round to the 8-bit grid and back, gradients passed straight
through inside the range). Genuine: it needs no quantized tensors.
"""

from __future__ import annotations

import numpy as np

from ... import _engine as dg
from ..._engine.node_names import rename_node
from ...autograd import Function
from ...nn.module import Module
from ...nn.quantized._unsupported import refuse
from .observer import (
    FixedQParamsObserver,
    HistogramObserver,
    MovingAverageMinMaxObserver,
    MovingAveragePerChannelMinMaxObserver,
    _take_saved_shapes,
    _with_args,
    default_fixed_qparams_range_0to1_observer,
    default_fixed_qparams_range_neg1to1_observer,
)
from .utils import is_per_channel, is_per_tensor

__all__ = ["FakeQuantize", "FakeQuantizeBase", "FixedQParamsFakeQuantize",
           "FusedMovingAvgObsFakeQuantize", "default_affine_fixed_qparams_fake_quant",
           "default_dynamic_fake_quant", "default_embedding_fake_quant",
           "default_embedding_fake_quant_4bit", "default_fake_quant",
           "default_fixed_qparams_range_0to1_fake_quant",
           "default_fixed_qparams_range_neg1to1_fake_quant", "default_fused_act_fake_quant",
           "default_fused_per_channel_wt_fake_quant", "default_fused_wt_fake_quant",
           "default_histogram_fake_quant", "default_per_channel_weight_fake_quant",
           "default_symmetric_fixed_qparams_fake_quant", "default_weight_fake_quant",
           "disable_fake_quant", "disable_observer", "enable_fake_quant", "enable_observer",
           "fake_quantize_per_channel_affine", "fake_quantize_per_tensor_affine",
           "fused_per_channel_wt_fake_quant_range_neg_127_to_127",
           "fused_wt_fake_quant_range_neg_127_to_127"]


class _FakeQuantize(Function):
    """(clamp(round(x / scale) + zero_point) - zero_point) * scale; the gradient is 1 where the
    rounded value fell inside [quant_min, quant_max], else 0 (straight-through)."""

    @staticmethod
    def forward(ctx, x, scale, zero_point, quant_min, quant_max):
        data = x.detach().numpy()
        f32 = np.float32
        # PyTorch multiplies by the float32 reciprocal and rounds half to even (nearbyint).
        inverse = (f32(1.0) / scale.astype(f32)).astype(f32)
        levels = np.rint((data * inverse).astype(data.dtype)).astype(np.int64) + zero_point
        inside = (levels >= quant_min) & (levels <= quant_max)
        snapped = (np.clip(levels, quant_min, quant_max) - zero_point).astype(data.dtype)
        out = (snapped * scale.astype(data.dtype)).astype(data.dtype)
        ctx.save_for_backward(dg.tensor(inside))
        return dg.tensor(out)

    @staticmethod
    def backward(ctx, g):
        (inside,) = ctx.saved_tensors
        return g * inside.to(g.dtype), None, None, None, None


def fake_quantize_per_tensor_affine(input, scale, zero_point, quant_min: int, quant_max: int):
    """PyTorch's ``torch.fake_quantize_per_tensor_affine`` (float32 or float64 ``input``;
    ``scale``/``zero_point`` numbers or one-element tensors)."""
    name = ("FakeQuantizePerTensorAffineCachemaskTensorQparamsBackward0"
            if isinstance(scale, dg.Tensor) else "FakeQuantizePerTensorAffineCachemaskBackward0")
    scale = np.float32(float(scale))
    zero_point = np.int64(int(zero_point))
    return rename_node(_FakeQuantize.apply(input, scale, zero_point, quant_min, quant_max), name)


def fake_quantize_per_channel_affine(input, scale, zero_point, axis: int, quant_min: int,
                                     quant_max: int):
    """PyTorch's ``torch.fake_quantize_per_channel_affine``: one (scale, zero_point) per slice
    along ``axis``."""
    if zero_point.dtype == dg.int64:
        raise RuntimeError("Zero-point must be Int32, Float or Half, found Long")
    shape = [1] * input.dim()
    shape[axis] = -1
    scales = scale.detach().numpy().astype(np.float32).reshape(shape)
    zeros = np.rint(zero_point.detach().numpy()).astype(np.int64).reshape(shape)
    return rename_node(_FakeQuantize.apply(input, scales, zeros, quant_min, quant_max),
                       "FakeQuantizePerChannelAffineCachemaskBackward0")


class _LearnableFakeQuantize(Function):
    """As ``_FakeQuantize``, with gradients for ``scale`` and ``zero_point`` (PyTorch's
    learnable fake quantization, LSQ): inside the range, d/dscale = (xq - x / scale) and
    d/dzero_point = 0; outside, d/dscale = (quant_min or quant_max) - zero_point and
    d/dzero_point = -scale; both times ``grad_factor``, summed per tensor or per channel. The
    zero point is rounded half to even and clamped into the range, as PyTorch's."""

    @staticmethod
    def forward(ctx, x, scale, zero_point, axis, quant_min, quant_max, grad_factor):
        data = x.detach().numpy()
        shape = [1] * data.ndim
        if axis is not None:
            shape[axis] = -1
        f32 = np.float32
        scales = scale.detach().numpy().astype(f32).reshape(shape)
        zeros = np.clip(np.rint(zero_point.detach().numpy().astype(f32)), quant_min,
                        quant_max).reshape(shape)
        inverse = (f32(1.0) / scales).astype(data.dtype)
        scaled = (data * inverse).astype(data.dtype)
        levels = np.rint(zeros + scaled)
        snapped = np.clip(levels, quant_min, quant_max) - zeros
        out = (snapped * scales).astype(data.dtype)
        inside = (levels >= quant_min) & (levels <= quant_max)
        ctx.parts = (inside, np.where(inside, snapped - scaled,
                                      np.where(levels < quant_min, quant_min, quant_max) - zeros),
                     np.where(inside, 0.0, -scales), axis, grad_factor)
        ctx.shapes = (scale.shape, zero_point.shape, scale.dtype, zero_point.dtype)
        return dg.tensor(out)

    @staticmethod
    def backward(ctx, g):
        inside, per_scale, per_zero, axis, factor = ctx.parts
        scale_shape, zero_shape, scale_dtype, zero_dtype = ctx.shapes
        gd = g.detach().numpy()
        axes = tuple(d for d in range(gd.ndim) if d != axis)
        d_scale = ((per_scale * gd).astype(gd.dtype) * factor).sum(axis=axes)
        d_zero = ((per_zero * gd).astype(gd.dtype) * factor).sum(axis=axes)
        # (the mask as a tensor: a Tensor times an ndarray goes through NumPy's __array_wrap__,
        # which NumPy 2 deprecates with a warning)
        return (g * dg.tensor(inside.astype(gd.dtype)),
                dg.tensor(d_scale.reshape(scale_shape), dtype=scale_dtype),
                dg.tensor(d_zero.reshape(zero_shape), dtype=zero_dtype),
                None, None, None, None)


def _fake_quantize_learnable_per_tensor_affine(input, scale, zero_point, quant_min: int,
                                                quant_max: int, grad_factor: float = 1.0):
    """PyTorch's ``torch._fake_quantize_learnable_per_tensor_affine`` (quantization-aware
    training with a learned scale and zero point, one-element tensors)."""
    return rename_node(_LearnableFakeQuantize.apply(input, scale, zero_point, None, quant_min,
                                                    quant_max, float(grad_factor)),
                       "FakeQuantizeLearnablePerTensorAffineBackward0")


def _fake_quantize_learnable_per_channel_affine(input, scale, zero_point, axis: int,
                                                 quant_min: int, quant_max: int,
                                                 grad_factor: float = 1.0):
    """PyTorch's ``torch._fake_quantize_learnable_per_channel_affine``: one learned (scale,
    zero_point) per slice along ``axis``."""
    return rename_node(_LearnableFakeQuantize.apply(input, scale, zero_point, axis % input.dim(),
                                                    quant_min, quant_max, float(grad_factor)),
                       "FakeQuantizeLearnablePerChannelAffineBackward0")


def quantize_per_tensor(*args, **kwargs):
    """Would make a quantized tensor: raises NotImplementedError (deltagrad has none; the
    fake-quantize functions simulate quantization in floating point)."""
    raise refuse("torch.quantize_per_tensor")


def quantize_per_channel(*args, **kwargs):
    """Would make a quantized tensor: raises NotImplementedError (see quantize_per_tensor)."""
    raise refuse("torch.quantize_per_channel")


def quantize_per_tensor_dynamic(*args, **kwargs):
    """Would make a quantized tensor: raises NotImplementedError (see quantize_per_tensor)."""
    raise refuse("torch.quantize_per_tensor_dynamic")


class FakeQuantizeBase(Module):
    """Base of the fake-quantize modules: the two switches (fake quantizing, observing)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("fake_quant_enabled", dg.tensor([1], dtype=dg.uint8))
        self.register_buffer("observer_enabled", dg.tensor([1], dtype=dg.uint8))

    def forward(self, x):
        raise NotImplementedError

    def calculate_qparams(self, **kwargs):
        """The observer's (scale, zero_point)."""
        raise NotImplementedError

    def enable_fake_quant(self, enabled: bool = True) -> None:
        """Switches fake quantizing on (or off)."""
        self.fake_quant_enabled[0] = 1 if enabled else 0

    def disable_fake_quant(self) -> None:
        """Switches fake quantizing off (the module passes values through)."""
        self.enable_fake_quant(False)

    def enable_observer(self, enabled: bool = True) -> None:
        """Switches observing on (or off)."""
        self.observer_enabled[0] = 1 if enabled else 0

    def disable_observer(self) -> None:
        """Freezes the quantization parameters."""
        self.enable_observer(False)

    @classmethod
    def with_args(cls, **kwargs):
        """A constructor with these keyword arguments bound."""
        return _with_args(cls, **kwargs)


_STORAGE_RANGE = {"qint8": (-128, 127), "quint8": (0, 255), "qint32": (-(2 ** 31), 2 ** 31 - 1),
                  "quint4x2": (0, 255)}


class FakeQuantize(FakeQuantizeBase):
    """Observes its input (``observer``, a MovingAverageMinMaxObserver by default), then
    rounds it to the quantized grid the observer's parameters define and back to float."""

    def __init__(self, observer=MovingAverageMinMaxObserver, quant_min=None, quant_max=None,
                 is_dynamic=False, **observer_kwargs) -> None:
        super().__init__()
        if quant_min is not None and quant_max is not None:
            if quant_min > quant_max:
                raise AssertionError("quant_min must be less than or equal to quant_max")
            dtype = observer_kwargs.get("dtype", dg.quint8)
            if hasattr(observer, "p"):
                dtype = getattr(getattr(observer, "p", {}), "keywords", {}).get("dtype", dtype)
            low, high = _STORAGE_RANGE.get(getattr(dtype, "_name", ""), None) or (
                dg.iinfo(dtype).min, dg.iinfo(dtype).max)
            if low > quant_min:
                raise AssertionError("quant_min out of bound")
            if quant_max > high:
                raise AssertionError("quant_max out of bound")
            observer_kwargs.update({"quant_min": quant_min, "quant_max": quant_max})
        observer_kwargs["is_dynamic"] = is_dynamic
        self.activation_post_process = observer(**observer_kwargs)
        self.quant_min = self.activation_post_process.quant_min
        self.quant_max = self.activation_post_process.quant_max
        self.is_dynamic = self.activation_post_process.is_dynamic
        float_qparams = self.activation_post_process.qscheme == dg.per_channel_affine_float_qparams
        self.register_buffer("scale", dg.tensor([1.0], dtype=dg.float32))
        self.register_buffer("zero_point", dg.tensor([0], dtype=dg.float32 if float_qparams
                                                      else dg.int32))
        self.dtype = self.activation_post_process.dtype
        self.qscheme = self.activation_post_process.qscheme
        self.ch_axis = getattr(self.activation_post_process, "ch_axis", -1)
        if not (is_per_channel(self.qscheme) or is_per_tensor(self.qscheme)):
            raise AssertionError("Only per channel and per tensor quantization are supported "
                                 f"in fake quantize got qscheme: {self.qscheme}")
        self.is_per_channel = is_per_channel(self.qscheme)

    def calculate_qparams(self):
        """The observer's (scale, zero_point)."""
        return self.activation_post_process.calculate_qparams()

    def forward(self, X):
        """Observes ``X`` (if enabled), then fake-quantizes it (if enabled)."""
        if int(self.observer_enabled[0]) == 1:
            self.activation_post_process(X.detach())
            scale, zero_point = self.calculate_qparams()
            if tuple(self.scale.shape) != tuple(scale.shape):
                self.scale = scale.clone().to(self.scale.dtype)
                self.zero_point = zero_point.clone().to(self.zero_point.dtype)
            else:
                self.scale.copy_(scale)
                self.zero_point.copy_(zero_point)
        if int(self.fake_quant_enabled[0]) == 1:
            if self.is_per_channel:
                return fake_quantize_per_channel_affine(
                    X, self.scale, self.zero_point, self.ch_axis, self.quant_min,
                    self.quant_max)
            return fake_quantize_per_tensor_affine(X, self.scale, self.zero_point,
                                                   self.quant_min, self.quant_max)
        return X

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        _take_saved_shapes(self, state_dict, prefix, ("scale", "zero_point"))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def extra_repr(self) -> str:
        return (f"fake_quant_enabled={self.fake_quant_enabled}, "
                f"observer_enabled={self.observer_enabled}, "
                f"quant_min={self.activation_post_process.quant_min}, "
                f"quant_max={self.activation_post_process.quant_max}, dtype={self.dtype}, "
                f"qscheme={self.qscheme}, ch_axis={self.ch_axis}, scale={self.scale}, "
                f"zero_point={self.zero_point}")


class FixedQParamsFakeQuantize(FakeQuantize):
    """FakeQuantize with fixed parameters (a FixedQParamsObserver's)."""

    def __init__(self, observer) -> None:
        super().__init__(observer=observer)
        if type(self.activation_post_process) is not FixedQParamsObserver:
            raise AssertionError(f"{type(self).__name__}'s observer must be a "
                                 "FixedQParamsObserver")
        self._observer_ctr = observer
        self.scale = self.activation_post_process.scale
        self.zero_point = self.activation_post_process.zero_point
        if not is_per_tensor(self.qscheme):
            raise AssertionError("Only per tensor quantization is supported "
                                 f"FixedQParamsFakeQuantize module, got qscheme:{self.qscheme}")

    def calculate_qparams(self):
        """The fixed (scale, zero_point)."""
        return self.scale, self.zero_point


class FusedMovingAvgObsFakeQuantize(FakeQuantize):
    """PyTorch's fused observe-and-fake-quantize kernel: not supported (its fused numbers are
    not reproduced here); constructing one raises NotImplementedError."""

    def __init__(self, *args, **kwargs) -> None:
        raise refuse("torch.ao.quantization.FusedMovingAvgObsFakeQuantize")


def _switch(method: str):
    def apply(mod) -> None:
        if isinstance(mod, FakeQuantizeBase):
            getattr(mod, method)()
    apply.__name__ = method
    apply.__doc__ = f"``mod.{method}()`` if ``mod`` is a fake-quantize module (for model.apply)."
    return apply


disable_fake_quant = _switch("disable_fake_quant")
enable_fake_quant = _switch("enable_fake_quant")
disable_observer = _switch("disable_observer")
enable_observer = _switch("enable_observer")

default_fake_quant = FakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, dtype=dg.quint8,
    qscheme=dg.per_tensor_affine, reduce_range=True)
default_weight_fake_quant = FakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype=dg.qint8,
    qscheme=dg.per_tensor_symmetric, reduce_range=False)
default_dynamic_fake_quant = FakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, is_dynamic=True,
    dtype=dg.quint8, averaging_constant=1)
default_fixed_qparams_range_neg1to1_fake_quant = FixedQParamsFakeQuantize.with_args(
    observer=default_fixed_qparams_range_neg1to1_observer)
default_fixed_qparams_range_0to1_fake_quant = FixedQParamsFakeQuantize.with_args(
    observer=default_fixed_qparams_range_0to1_observer)
default_symmetric_fixed_qparams_fake_quant = default_fixed_qparams_range_neg1to1_fake_quant
default_affine_fixed_qparams_fake_quant = default_fixed_qparams_range_0to1_fake_quant
default_per_channel_weight_fake_quant = FakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, quant_min=-128, quant_max=127,
    dtype=dg.qint8, qscheme=dg.per_channel_symmetric, reduce_range=False, ch_axis=0)
default_embedding_fake_quant = FakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, qscheme=dg.per_channel_affine_float_qparams,
    dtype=dg.quint8, quant_min=0, quant_max=255, ch_axis=0, averaging_constant=1)
default_embedding_fake_quant_4bit = FakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, qscheme=dg.per_channel_affine_float_qparams,
    ch_axis=0, dtype=dg.quint4x2, averaging_constant=1)
default_histogram_fake_quant = FakeQuantize.with_args(
    observer=HistogramObserver, quant_min=0, quant_max=255, dtype=dg.quint8,
    qscheme=dg.per_tensor_affine, reduce_range=True)
# The fused forms name PyTorch's constructors; building one raises (see the class).
default_fused_act_fake_quant = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, dtype=dg.quint8)
default_fused_wt_fake_quant = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype=dg.qint8,
    qscheme=dg.per_tensor_symmetric)
default_fused_per_channel_wt_fake_quant = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, quant_min=-128, quant_max=127,
    dtype=dg.qint8, qscheme=dg.per_channel_symmetric)
fused_wt_fake_quant_range_neg_127_to_127 = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAverageMinMaxObserver, quant_min=-127, quant_max=127, dtype=dg.qint8,
    qscheme=dg.per_tensor_symmetric, eps=2 ** -12)
fused_per_channel_wt_fake_quant_range_neg_127_to_127 = FusedMovingAvgObsFakeQuantize.with_args(
    observer=MovingAveragePerChannelMinMaxObserver, quant_min=-127, quant_max=127,
    dtype=dg.qint8, qscheme=dg.per_channel_symmetric, eps=2 ** -12)
