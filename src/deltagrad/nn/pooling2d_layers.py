"""The 2-d and 3-d pooling layers (PyTorch's ``nn.MaxPool2d``, ``nn.AvgPool2d``,
``nn.AdaptiveAvgPool2d``, ...) and ``nn.MaxUnpool1d/2d/3d``: thin modules over
``pooling2d``'s functions, with PyTorch's attributes and reprs."""

from __future__ import annotations

from .._engine import Tensor
from . import functional as F
from .fold2d import _ntuple
from .module import Module

__all__ = [
    "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
    "AvgPool2d", "AvgPool3d", "LPPool2d", "LPPool3d", "MaxPool2d", "MaxPool3d", "MaxUnpool1d",
    "MaxUnpool2d", "MaxUnpool3d",
]


class _MaxPoolNd(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool2d(_MaxPoolNd):
    """``max_pool2d`` as a layer: ``[N, C, H, W] -> [N, C, H_out, W_out]`` (see there).

    >>> import deltagrad as dg
    >>> dg.nn.MaxPool2d(2)(dg.randn(8, 3, 28, 28)).shape
    deltagrad.Size([8, 3, 14, 14])
    """

    def forward(self, input: Tensor):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class MaxPool3d(_MaxPoolNd):
    """``max_pool3d`` as a layer: ``[N, C, D, H, W] -> [N, C, D_out, H_out, W_out]``."""

    def forward(self, input: Tensor):
        return F.max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class _AvgPoolNd(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_AvgPoolNd):
    """``avg_pool2d`` as a layer (see there for the arguments)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class AvgPool3d(_AvgPoolNd):
    """``avg_pool3d`` as a layer (see ``avg_pool2d`` for the arguments)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


# (The 2-d and 3-d adaptive pools are siblings, not parent and child, as in PyTorch: an
# isinstance check for the 2-d layer must not match the 3-d one.)
class _AdaptiveAvgPoolNd(Module):
    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """``adaptive_avg_pool2d`` as a layer; ``AdaptiveAvgPool2d(1)`` is global average pooling.

    >>> import deltagrad as dg
    >>> dg.nn.AdaptiveAvgPool2d((1, 1))(dg.ones(2, 5, 7, 7)).shape
    deltagrad.Size([2, 5, 1, 1])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """``adaptive_avg_pool3d`` as a layer."""

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool3d(input, self.output_size)


class _AdaptiveMaxPoolNd(Module):
    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """``adaptive_max_pool2d`` as a layer (``return_indices``: also the flat positions)."""

    def forward(self, input: Tensor):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """``adaptive_max_pool3d`` as a layer."""

    def forward(self, input: Tensor):
        return F.adaptive_max_pool3d(input, self.output_size, self.return_indices)


class _LPPoolNd(Module):
    def __init__(self, norm_type: float, kernel_size, stride=None,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool2d(_LPPoolNd):
    """``lp_pool2d`` as a layer: power-average pooling over ``[N, C, H, W]``."""

    def forward(self, input: Tensor) -> Tensor:
        return F.lp_pool2d(input, float(self.norm_type), self.kernel_size, self.stride,
                           self.ceil_mode)


class LPPool3d(_LPPoolNd):
    """``lp_pool3d`` as a layer: power-average pooling over ``[N, C, D, H, W]``."""

    def forward(self, input: Tensor) -> Tensor:
        return F.lp_pool3d(input, float(self.norm_type), self.kernel_size, self.stride,
                           self.ceil_mode)


class _MaxUnpoolNd(Module):
    _spatial = 2

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        name, n = type(self).__name__, self._spatial
        self.kernel_size = _ntuple(kernel_size, n, "kernel_size", name)
        self.stride = _ntuple(stride if stride is not None else kernel_size, n, "stride", name)
        self.padding = _ntuple(padding, n, "padding", name)

    def forward(self, input: Tensor, indices: Tensor, output_size=None) -> Tensor:
        unpool = (F.max_unpool1d, F.max_unpool2d, F.max_unpool3d)[self._spatial - 1]
        return unpool(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """``max_unpool1d`` as a layer: ``forward(input, indices, output_size=None)``."""

    _spatial = 1


class MaxUnpool2d(_MaxUnpoolNd):
    """``max_unpool2d`` as a layer: ``forward(input, indices, output_size=None)``.

    >>> import deltagrad as dg
    >>> pool, unpool = dg.nn.MaxPool2d(2, return_indices=True), dg.nn.MaxUnpool2d(2)
    >>> out, indices = pool(dg.randn(1, 1, 4, 4))
    >>> unpool(out, indices).shape
    deltagrad.Size([1, 1, 4, 4])
    """

    _spatial = 2


class MaxUnpool3d(_MaxUnpoolNd):
    """``max_unpool3d`` as a layer: ``forward(input, indices, output_size=None)``."""

    _spatial = 3
