"""``torch.ao.quantization.observer``: modules that watch the values flowing through a model
and compute the scale and zero point an 8-bit quantization of them would use.

This part is genuine floating-point statistics (min/max, moving averages, per-channel ranges,
histograms with PyTorch's L2 range search) and matches PyTorch's numbers; only applying the
parameters (quantized tensors) is missing from deltagrad.
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np

from ... import _engine as dg
from ...nn.module import Module
from ._affine import *  # noqa: F403 - torchao's vocabulary lives in PyTorch's observer module
from ._affine import __all__ as _affine_names
from .utils import (
    calculate_qmin_qmax,
    check_min_max_valid,
    is_per_channel,
    is_per_tensor,
    validate_qmin_qmax,
)

__all__ = ["FixedQParamsObserver", "HistogramObserver", "MinMaxObserver",
           "MovingAverageMinMaxObserver", "MovingAveragePerChannelMinMaxObserver",
           "NoopObserver", "ObserverBase", "PerChannelMinMaxObserver", "PlaceholderObserver",
           "RecordingObserver", "ReuseInputObserver", "UniformQuantizationObserverBase",
           "default_affine_fixed_qparams_observer", "default_debug_observer",
           "default_dynamic_quant_observer", "default_fixed_qparams_range_0to1_observer",
           "default_fixed_qparams_range_neg1to1_observer", "default_float_qparams_observer",
           "default_float_qparams_observer_4bit", "default_histogram_observer",
           "default_observer", "default_per_channel_weight_observer",
           "default_placeholder_observer", "default_reuse_input_observer",
           "default_symmetric_fixed_qparams_observer", "default_weight_observer",
           "get_observer_state_dict", "load_observer_state_dict",
           "per_channel_weight_observer_range_neg_127_to_127",
           "weight_observer_range_neg_127_to_127", *_affine_names]

_EPS = float(np.finfo(np.float32).eps)


class _PartialWrapper:
    """A constructor with some keyword arguments bound (``Observer.with_args(...)``): each call
    builds a new instance; ``with_callable_args`` binds arguments computed at each call."""

    def __init__(self, p) -> None:
        self.p = p
        self.callable_args: dict = {}

    def __call__(self, *args, **keywords):
        for name, make in self.callable_args.items():
            if name not in keywords:
                keywords = {**keywords, name: make()}
        return self.p(*args, **keywords)

    def __repr__(self) -> str:
        return repr(self.p) + repr(self.callable_args)

    def with_args(self, **kwargs) -> _PartialWrapper:
        """More bound keyword arguments."""
        return _with_args(self, **kwargs)

    def with_callable_args(self, **kwargs) -> _PartialWrapper:
        """Keyword arguments computed (by calling them) at each construction."""
        result = _PartialWrapper(self.p)
        result.callable_args = {**self.callable_args, **kwargs}
        return result


def _with_args(cls_or_self, **kwargs) -> _PartialWrapper:
    return _PartialWrapper(functools.partial(cls_or_self, **kwargs))


def _with_callable_args(cls_or_self, **kwargs) -> _PartialWrapper:
    return _PartialWrapper(functools.partial(cls_or_self)).with_callable_args(**kwargs)


class ObserverBase(Module):
    """Base of the observers: ``dtype`` of the quantization it prepares; subclasses define
    ``forward`` (record, return the input) and ``calculate_qparams``."""

    def __init__(self, dtype, is_dynamic: bool = False) -> None:
        super().__init__()
        self.dtype = dtype
        self.is_dynamic = is_dynamic

    def forward(self, x):
        raise NotImplementedError

    def calculate_qparams(self, **kwargs):
        """The (scale, zero_point) the observations call for."""
        raise NotImplementedError

    with_args = classmethod(_with_args)
    with_callable_args = classmethod(_with_callable_args)


_ALLOWED = ("qint8", "quint8", "quint4x2", "qint32", "int8", "uint8", "int16", "int32",
            "float8_e5m2", "float8_e4m3fn", "uint16")


class UniformQuantizationObserverBase(ObserverBase):
    """Observers of uniform (affine or symmetric) quantization: the quantized range and the
    scale / zero-point rule they share."""

    def __init__(self, dtype=dg.quint8, qscheme=dg.per_tensor_affine, reduce_range=False,
                 quant_min=None, quant_max=None, factory_kwargs=None, eps=_EPS,
                 is_dynamic=False, **kwargs) -> None:
        super().__init__(dtype=dtype, is_dynamic=is_dynamic, **kwargs)
        self.qscheme = qscheme
        if reduce_range:
            warnings.warn("Please use quant_min and quant_max to specify the range for "
                          "observers. reduce_range will be deprecated in a future release "
                          "of PyTorch.", stacklevel=2)
        self.reduce_range = reduce_range
        self.register_buffer("eps", dg.tensor([eps], dtype=dg.float32))
        if not (is_per_tensor(qscheme) or is_per_channel(qscheme)):
            raise AssertionError("Default Observer only works for per_tensor_affine, "
                                 "per_tensor_symmetric, per_channel_affine, "
                                 "per_channel_symmetric and per_channel_float_qparams "
                                 "quantization scheme")
        if dtype not in tuple(getattr(dg, name) for name in _ALLOWED):
            raise AssertionError(f"Default Observer only works for {_ALLOWED} data type")
        self.has_customized_qrange = quant_min is not None and quant_max is not None
        if self.has_customized_qrange:
            validate_qmin_qmax(quant_min, quant_max)
        self.quant_min, self.quant_max = calculate_qmin_qmax(
            quant_min, quant_max, self.has_customized_qrange, dtype, reduce_range)

    def _calculate_qparams(self, min_val, max_val):
        """Scale (float32) and zero point (int32 affine, int64 symmetric) per element of
        ``min_val`` / ``max_val``, each at least 1-d, by PyTorch's rule."""
        if not check_min_max_valid(min_val, max_val):
            return dg.tensor([1.0]), dg.tensor([0])
        quant_min, quant_max = self.quant_min, self.quant_max
        min_neg = dg.minimum(min_val, dg.zeros_like(min_val))
        max_pos = dg.maximum(max_val, dg.zeros_like(max_val))
        zero_point = dg.zeros(tuple(min_neg.shape), dtype=dg.int64)
        if self.qscheme in (dg.per_tensor_symmetric, dg.per_channel_symmetric):
            max_pos = dg.maximum(-min_neg, max_pos)
            scale = dg.maximum(max_pos / (float(quant_max - quant_min) / 2), self.eps)
            if self.dtype in (dg.quint8, dg.uint8):
                middle = (quant_min + quant_max) // 2 if self.has_customized_qrange else 128
                zero_point = dg.full(tuple(zero_point.shape), middle, dtype=dg.int64)
            elif self.dtype == dg.uint16:
                zero_point = dg.full(tuple(zero_point.shape), 2 ** 15, dtype=dg.int64)
        elif self.qscheme == dg.per_channel_affine_float_qparams:
            scale = (max_val - min_val) / float(quant_max - quant_min)
            scale = dg.where(scale > self.eps, scale, dg.ones_like(scale))
            zero_point = -1 * min_val / scale
        else:
            scale = dg.maximum((max_pos - min_neg) / float(quant_max - quant_min), self.eps)
            zero_point = quant_min - dg.round(min_neg / scale).to(dg.int32)
            zero_point = dg.clamp(zero_point, quant_min, quant_max)
        if scale.dim() == 0:
            scale = dg.tensor([float(scale)], dtype=scale.dtype)
        if zero_point.dim() == 0:
            zero_point = dg.tensor([int(zero_point)], dtype=zero_point.dtype)
        return scale, zero_point

    def reset_min_max_vals(self):
        """Forgets the observations (observers that keep a range)."""
        raise NotImplementedError("Cannot reset min/max values in the given observer.")


def _require_per_tensor(name: str, qscheme) -> None:
    if not is_per_tensor(qscheme):
        raise NotImplementedError(f"{name}'s qscheme only support torch.per_tensor_symmetric "
                                  "and torch.per_tensor_affine.")


class MinMaxObserver(UniformQuantizationObserverBase):
    """Records the running minimum and maximum of everything it sees (per tensor)."""

    def __init__(self, dtype=dg.quint8, qscheme=dg.per_tensor_affine, reduce_range=False,
                 quant_min=None, quant_max=None, factory_kwargs=None, eps=_EPS,
                 is_dynamic=False, **kwargs) -> None:
        _require_per_tensor("MinMaxObserver", qscheme)
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max,
                         factory_kwargs=factory_kwargs, eps=eps, is_dynamic=is_dynamic,
                         **kwargs)
        self.register_buffer("min_val", dg.tensor(float("inf")))
        self.register_buffer("max_val", dg.tensor(float("-inf")))
        if qscheme == dg.per_tensor_symmetric and reduce_range and dtype == dg.quint8:
            raise NotImplementedError("Cannot reduce range for symmetric quantization for quint8")

    def forward(self, x_orig):
        """Folds ``x_orig``'s range into the running one; returns ``x_orig`` unchanged."""
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach().to(self.min_val.dtype)
        low, high = dg.aminmax(x)
        self.min_val.copy_(dg.minimum(low, self.min_val))
        self.max_val.copy_(dg.maximum(high, self.max_val))
        return x_orig

    def calculate_qparams(self):
        """(scale, zero_point), each of shape [1]."""
        return self._calculate_qparams(self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"

    def reset_min_max_vals(self):
        """Forgets the observations."""
        self.min_val.copy_(dg.tensor(float("inf")))
        self.max_val.copy_(dg.tensor(float("-inf")))


class MovingAverageMinMaxObserver(MinMaxObserver):
    """Like MinMaxObserver, but the range is a moving average (``averaging_constant``)."""

    def __init__(self, averaging_constant=0.01, dtype=dg.quint8, qscheme=dg.per_tensor_affine,
                 reduce_range=False, quant_min=None, quant_max=None, eps=_EPS,
                 is_dynamic=False, **kwargs) -> None:
        if not is_per_tensor(qscheme):
            raise NotImplementedError(
                "MovingAverageMinMaxObserver's qscheme only support torch.per_tensor_symmetric "
                f"and torch.per_tensor_affine. but got: {qscheme}")
        self.averaging_constant = averaging_constant
        if is_dynamic and averaging_constant != 1:
            raise NotImplementedError("MovingAverageMinMaxObserver doesn't support dynamic "
                                      f"quantization for averaging constant of "
                                      f"{averaging_constant}")
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max, eps=eps,
                         is_dynamic=is_dynamic, **kwargs)

    def forward(self, x_orig):
        """Moves the running range toward ``x_orig``'s; returns ``x_orig`` unchanged."""
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach().to(self.min_val.dtype)
        low, high = dg.aminmax(x)
        if not (float(self.min_val) == math.inf and float(self.max_val) == -math.inf):
            low = self.min_val + self.averaging_constant * (low - self.min_val)
            high = self.max_val + self.averaging_constant * (high - self.max_val)
        self.min_val.copy_(low)
        self.max_val.copy_(high)
        return x_orig


class PerChannelMinMaxObserver(UniformQuantizationObserverBase):
    """Running minimum and maximum per channel (along ``ch_axis``)."""

    def __init__(self, ch_axis=0, dtype=dg.quint8, qscheme=dg.per_channel_affine,
                 reduce_range=False, quant_min=None, quant_max=None, factory_kwargs=None,
                 eps=_EPS, is_dynamic=False, **kwargs) -> None:
        if not is_per_channel(qscheme):
            raise NotImplementedError(
                "PerChannelMinMaxObserver's qscheme only support torch.per_channel_symmetric, "
                "torch.per_channel_affine and torch.per_channel_affine_float_qparams.")
        if is_dynamic:
            raise NotImplementedError(
                "PerChannelMinMaxObserver doesn't support dynamic quantization")
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max,
                         factory_kwargs=factory_kwargs, eps=eps, is_dynamic=is_dynamic,
                         **kwargs)
        self.ch_axis = ch_axis
        self.register_buffer("min_val", dg.tensor([]))
        self.register_buffer("max_val", dg.tensor([]))
        if qscheme == dg.per_channel_symmetric and reduce_range and dtype == dg.quint8:
            raise NotImplementedError("Cannot reduce range for symmetric quantization for quint8")

    def _channel_ranges(self, x):
        # Channels first, everything else flattened: one row per channel.
        rows = dg.flatten(dg.movedim(x, self.ch_axis, 0).to(self.min_val.dtype), start_dim=1)
        return dg.aminmax(rows, dim=1)

    def forward(self, x_orig):
        """Folds each channel's range into the running ones; returns ``x_orig`` unchanged."""
        if x_orig.numel() == 0:
            return x_orig
        low, high = self._channel_ranges(x_orig.detach())
        if self.min_val.numel() != 0 and self.max_val.numel() != 0:
            low, high = dg.minimum(low, self.min_val), dg.maximum(high, self.max_val)
        self._set_range(low, high)
        return x_orig

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        _take_saved_shapes(self, state_dict, prefix, ("min_val", "max_val"))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def _set_range(self, low, high) -> None:
        if tuple(self.min_val.shape) != tuple(low.shape):
            self.min_val, self.max_val = low.clone(), high.clone()
        else:
            self.min_val.copy_(low)
            self.max_val.copy_(high)

    def calculate_qparams(self):
        """(scales, zero_points), one per channel."""
        return self._calculate_qparams(self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"

    def reset_min_max_vals(self):
        """Forgets the observations."""
        self.min_val, self.max_val = dg.tensor([]), dg.tensor([])


def _take_saved_shapes(module, state_dict, prefix: str, names) -> None:
    # Buffers whose shape follows the data (per-channel ranges, empty before any input; scales)
    # take the saved shape before loading, as PyTorch's observers resize them.
    for name in names:
        saved, current = state_dict.get(prefix + name), getattr(module, name)
        if saved is not None and tuple(saved.shape) != tuple(current.shape):
            setattr(module, name, dg.zeros(tuple(saved.shape), dtype=current.dtype))


class MovingAveragePerChannelMinMaxObserver(PerChannelMinMaxObserver):
    """Per-channel moving-average ranges."""

    def __init__(self, averaging_constant=0.01, ch_axis=0, dtype=dg.quint8,
                 qscheme=dg.per_channel_affine, reduce_range=False, quant_min=None,
                 quant_max=None, eps=_EPS, is_dynamic=False, **kwargs) -> None:
        if not is_per_channel(qscheme):
            raise NotImplementedError(
                "MovingAveragePerChannelMinMaxObserver's qscheme only support "
                "torch.per_channel_symmetric, torch.per_channel_affine and "
                "torch.per_channel_affine_float_qparams.")
        if is_dynamic:
            raise NotImplementedError("MovingAveragePerChannelMinMaxObserver doesn't support "
                                      "dynamic quantization")
        super().__init__(ch_axis=ch_axis, dtype=dtype, qscheme=qscheme,
                         reduce_range=reduce_range, quant_min=quant_min, quant_max=quant_max,
                         eps=eps, is_dynamic=is_dynamic, **kwargs)
        self.averaging_constant = averaging_constant

    def forward(self, x_orig):
        """Moves each channel's running range toward ``x_orig``'s; returns ``x_orig``."""
        if x_orig.numel() == 0:
            return x_orig
        low, high = self._channel_ranges(x_orig.detach())
        if self.min_val.numel() != 0 and self.max_val.numel() != 0:
            low = self.min_val + self.averaging_constant * (low - self.min_val)
            high = self.max_val + self.averaging_constant * (high - self.max_val)
        self._set_range(low, high)
        return x_orig


class HistogramObserver(UniformQuantizationObserverBase):
    """Keeps a histogram (``bins`` bins over the running range) of everything it sees and
    picks the range whose 8-bit quantization has the least L2 error (PyTorch's search)."""

    def __init__(self, bins: int = 2048, dtype=dg.quint8, qscheme=dg.per_tensor_affine,
                 reduce_range=False, quant_min=None, quant_max=None, factory_kwargs=None,
                 eps=_EPS, is_dynamic=False, **kwargs) -> None:
        _require_per_tensor("HistogramObserver", qscheme)
        if is_dynamic:
            raise NotImplementedError("HistogramObserver doesn't support dynamic quantization")
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max,
                         factory_kwargs=factory_kwargs, eps=eps, is_dynamic=is_dynamic,
                         **kwargs)
        self.bins = bins
        self.register_buffer("histogram", dg.zeros(bins))
        self.register_buffer("min_val", dg.tensor(float("inf")))
        self.register_buffer("max_val", dg.tensor(float("-inf")))
        self.dst_nbins = 2 ** dg.iinfo(_STORAGE.get(dtype, dtype)).bits
        self.upsample_rate = 16  # PyTorch's: finer source bins when the range grows

    def forward(self, x_orig):
        """Adds ``x_orig`` to the histogram (widening its range as needed); returns it."""
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach()
        low, high = dg.aminmax(x)
        if math.isinf(float(low)) or math.isinf(float(high)):
            warnings.warn("torch.inf detected in input tensor, ignoring input", stacklevel=2)
            x = x[x.abs() != math.inf]
            if x.numel() == 0:
                return x_orig
            low, high = dg.aminmax(x)
        old_min, old_max = float(self.min_val), float(self.max_val)
        if old_min == math.inf or old_max == -math.inf:
            self.min_val.copy_(low)
            self.max_val.copy_(high)
            self.histogram = dg.histc(x, self.bins, min=float(low), max=float(high))
            return x_orig
        new_min, new_max = min(old_min, float(low)), max(old_max, float(high))
        update = dg.histc(x, self.bins, min=new_min, max=new_max)
        if new_min == old_min and new_max == old_max:
            self.histogram = self.histogram + update
            return x_orig
        if old_min == old_max:
            # All earlier values were one number: it lands in one bin of the new range.
            moved = dg.histc(dg.tensor(old_min), self.bins, min=new_min, max=new_max)
            self.histogram = moved * dg.sum(self.histogram) + update
        else:
            self.histogram = update + self._upscale(old_min, old_max, new_min, new_max)
        self.min_val.copy_(dg.tensor(new_min))
        self.max_val.copy_(dg.tensor(new_max))
        return x_orig

    def _upscale(self, old_min: float, old_max: float, new_min: float, new_max: float):
        # The old histogram re-binned into the new range: each bin split into upsample_rate
        # equal parts, each part moved whole into the new bin its midpoint falls in.
        rate, bins = self.upsample_rate, self.bins
        parts = dg.repeat_interleave(self.histogram, rate) / rate
        width = (dg.tensor(old_max) - dg.tensor(old_min)) / (bins * rate)
        middles = dg.linspace(old_min, old_max, bins * rate + 1)[:-1] + 0.5 * width
        edges = dg.linspace(new_min, new_max, bins + 1)
        where = dg.clamp(dg.bucketize(middles, edges, right=True) - 1, 0, bins - 1)
        return dg.bincount(where, weights=parts, minlength=bins)

    def _quantization_error(self, start: int, end: int, bin_width: float) -> float:
        # L2 error of quantizing the histogram with bins start..end as the range: each source
        # bin's density is spread uniformly; the error of a uniform density on [b, e] about a
        # destination bin's centre is density * (e^3 - b^3) / 3 (float32, as PyTorch's).
        f32 = np.float32
        dst_width = bin_width * (end - start + 1) / self.dst_nbins
        if dst_width == 0.0:
            return 0.0
        top = self.dst_nbins - 1
        begin = (np.arange(self.bins) - start).astype(f32) * f32(bin_width)
        finish = begin + f32(bin_width)
        dst_begin = np.clip(np.floor_divide(begin, f32(dst_width)), 0, top)
        dst_end = np.clip(np.floor_divide(finish, f32(dst_width)), 0, top)
        density = self._counts / f32(bin_width)
        half = f32(dst_width / 2)

        def l2(low, high):
            return density * ((high * high * high - low * low * low) / f32(3))

        norm = l2(begin - (dst_begin + f32(0.5)) * f32(dst_width), np.ones(self.bins, f32) * half)
        norm = norm + (dst_end - dst_begin - f32(1)) * l2(-half, half)
        end_centre = dst_end * f32(dst_width) + half
        norm = norm + l2(f32(-dst_width / 2), finish - end_centre)
        return float(norm.sum(dtype=f32))

    def _non_linear_param_search(self):
        """The (min, max) that PyTorch's outlier-trimming L2 search chooses."""
        if self.histogram.shape[0] != self.bins:
            raise AssertionError("bins mismatch")
        step_width = (self.max_val - self.min_val) / self.bins
        bin_width = (float(self.max_val) - float(self.min_val)) / self.bins
        self._counts = self.histogram.detach().numpy().astype(np.float32)
        total = float(self._counts.sum(dtype=np.float32))
        cumulative = np.cumsum(self._counts, dtype=np.float32)
        stepsize, alpha, beta = 1e-5, 0.0, 1.0
        start, end = 0, self.bins - 1
        norm_min = math.inf
        while alpha < beta:
            next_alpha, next_beta = alpha + stepsize, beta - stepsize
            left, right = start, end
            while left < end and cumulative[left] < np.float32(next_alpha * total):
                left += 1
            while right > start and cumulative[right] > np.float32(next_beta * total):
                right -= 1
            next_start, next_end = start, end
            if left - start > end - right:
                next_start, alpha = left, next_alpha
            else:
                next_end, beta = right, next_beta
            if next_start == start and next_end == end:
                continue
            norm = self._quantization_error(next_start, next_end, bin_width)
            if norm > norm_min:
                break
            norm_min, start, end = norm, next_start, next_end
        del self._counts
        return self.min_val + step_width * start, self.min_val + step_width * (end + 1)

    def calculate_qparams(self):
        """(scale, zero_point) of the range the L2 search picks, each of shape [1]."""
        if float(self.min_val) == math.inf and float(self.max_val) == -math.inf:
            warnings.warn("must run observer before calling calculate_qparams. Returning "
                          "default scale and zero point ", stacklevel=2)
            return dg.tensor([1.0]), dg.tensor([0])
        if self.bins != len(self.histogram):
            raise AssertionError("The number of bins in histogram should be equal to the number "
                                 "of bins supplied while making this observer")
        return self._calculate_qparams(*self._non_linear_param_search())

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


# iinfo of the quantized dtypes is that of their storage integers.
_STORAGE = {dg.qint8: dg.int8, dg.quint8: dg.uint8, dg.qint32: dg.int32, dg.quint4x2: dg.uint8}


class FixedQParamsObserver(ObserverBase):
    """Fixed (scale, zero_point), whatever it sees (for ops of a known output range)."""

    def __init__(self, scale, zero_point, dtype=dg.quint8, qscheme=dg.per_tensor_affine,
                 quant_min=0, quant_max=255, is_dynamic=False, **kwargs) -> None:
        if is_dynamic:
            raise NotImplementedError("FixedQParamsObserver doesn't support dynamic quantization")
        super().__init__(dtype=dtype, is_dynamic=is_dynamic, **kwargs)
        self.quant_min, self.quant_max = quant_min, quant_max
        self.register_buffer("scale", dg.tensor([scale], dtype=dg.float32))
        self.register_buffer("zero_point", dg.tensor([zero_point], dtype=dg.int32))
        self.qscheme = qscheme

    def forward(self, X):
        """Returns its input unchanged."""
        return X

    def calculate_qparams(self):
        """The fixed (scale, zero_point)."""
        return self.scale, self.zero_point


class PlaceholderObserver(ObserverBase):
    """Records nothing; carries the dtype (and options) a conversion would read."""

    def __init__(self, dtype=dg.float32, custom_op_name: str = "", compute_dtype=None,
                 quant_min=None, quant_max=None, qscheme=None, eps=None,
                 is_dynamic=False) -> None:
        super().__init__(dtype=dtype, is_dynamic=is_dynamic)
        if qscheme is None:
            qscheme = dg.per_tensor_affine
        if eps is None:
            eps = _EPS
        self.quant_min, self.quant_max, self.qscheme = quant_min, quant_max, qscheme
        self.eps, self.custom_op = eps, custom_op_name
        if compute_dtype:
            self.is_dynamic = True
            warnings.warn("Please use `is_dynamic` instead of `compute_dtype`. `compute_dtype` "
                          "will be deprecated in a future release of PyTorch.", stacklevel=2)

    def forward(self, x):
        """Returns its input unchanged."""
        return x

    def extra_repr(self) -> str:
        return f"dtype={self.dtype}, is_dynamic={self.is_dynamic}"

    def calculate_qparams(self):
        raise Exception("calculate_qparams should not be called for PlaceholderObserver")  # noqa: TRY002 - PyTorch's type


class RecordingObserver(ObserverBase):
    """Keeps every tensor it sees (debugging)."""

    __annotations__ = {"tensor_val": list}

    def __init__(self, dtype=dg.quint8) -> None:
        super().__init__(dtype=dtype, is_dynamic=False)
        self.tensor_val: list = []

    def forward(self, x):
        """Records ``x.clone()``; returns ``x``."""
        self.tensor_val.append(x.clone())
        return x

    def calculate_qparams(self):
        raise Exception("calculate_qparams should not be called for RecordingObserver")  # noqa: TRY002

    def get_tensor_value(self) -> list:
        """The recorded tensors."""
        return self.tensor_val


class NoopObserver(ObserverBase):
    """Passes values through (float16 casts: the conversion would only change the dtype)."""

    def __init__(self, dtype=dg.float16, custom_op_name: str = "") -> None:
        super().__init__(dtype=dtype, is_dynamic=False)
        self.custom_op = custom_op_name

    def forward(self, x):
        """Returns its input unchanged."""
        return x

    def calculate_qparams(self):
        raise Exception("calculate_qparams should not be called for NoopObserver")  # noqa: TRY002


class ReuseInputObserver(ObserverBase):
    """Marks an op whose output reuses its input's observer."""

    def __init__(self) -> None:
        super().__init__(dg.quint8, is_dynamic=False)

    def forward(self, x):
        """Returns its input unchanged."""
        return x

    def calculate_qparams(self):
        raise Exception("calculate_qparams should not be called for ReuseInputObserver")  # noqa: TRY002


def get_observer_state_dict(mod) -> dict:
    """The entries of ``mod.state_dict()`` that belong to observers (``activation_post_process``
    and ``*_observer`` submodules)."""
    from collections import OrderedDict

    return OrderedDict((name, value) for name, value in mod.state_dict().items()
                       if "activation_post_process" in name or "observer" in name)


def load_observer_state_dict(mod, obs_dict) -> None:
    """Loads observer entries saved by ``get_observer_state_dict``."""
    mod.load_state_dict(obs_dict, strict=False)


default_observer = MinMaxObserver.with_args(quant_min=0, quant_max=127)
default_placeholder_observer = PlaceholderObserver
default_debug_observer = RecordingObserver
default_weight_observer = MinMaxObserver.with_args(dtype=dg.qint8,
                                                   qscheme=dg.per_tensor_symmetric)
weight_observer_range_neg_127_to_127 = MinMaxObserver.with_args(
    dtype=dg.qint8, qscheme=dg.per_tensor_symmetric, quant_min=-127, quant_max=127, eps=2 ** -12)
default_histogram_observer = HistogramObserver.with_args(quant_min=0, quant_max=127)
default_per_channel_weight_observer = PerChannelMinMaxObserver.with_args(
    dtype=dg.qint8, qscheme=dg.per_channel_symmetric)
per_channel_weight_observer_range_neg_127_to_127 = PerChannelMinMaxObserver.with_args(
    dtype=dg.qint8, qscheme=dg.per_channel_symmetric, quant_min=-127, quant_max=127,
    eps=2 ** -12)
default_dynamic_quant_observer = PlaceholderObserver.with_args(
    dtype=dg.quint8, quant_min=0, quant_max=255, is_dynamic=True)
default_float_qparams_observer = PerChannelMinMaxObserver.with_args(
    dtype=dg.quint8, qscheme=dg.per_channel_affine_float_qparams, ch_axis=0)
default_float_qparams_observer_4bit = PerChannelMinMaxObserver.with_args(
    dtype=dg.quint4x2, qscheme=dg.per_channel_affine_float_qparams, ch_axis=0)
default_fixed_qparams_range_neg1to1_observer = FixedQParamsObserver.with_args(
    scale=2.0 / 256.0, zero_point=128, dtype=dg.quint8, quant_min=0, quant_max=255)
default_fixed_qparams_range_0to1_observer = FixedQParamsObserver.with_args(
    scale=1.0 / 256.0, zero_point=0, dtype=dg.quint8, quant_min=0, quant_max=255)
default_symmetric_fixed_qparams_observer = default_fixed_qparams_range_neg1to1_observer
default_affine_fixed_qparams_observer = default_fixed_qparams_range_0to1_observer
default_reuse_input_observer = ReuseInputObserver
