"""The parameters and running-statistics buffers the normalization layers share
(``normalization.py``'s GroupNorm / BatchNorm, ``norm2d.py``'s 2-d and 3-d and instance norms):
created and reset as PyTorch's ``_NormBase`` does, None where a layer has no such state."""

from __future__ import annotations

import numpy as np

from .._engine.api.creation import from_numpy
from .module import Module, Parameter

__all__: list[str] = []


def _affine_parameters(module: Module, affine: bool, bias: bool, channels: int, dtype) -> None:
    """Per-channel ``weight`` (ones) and ``bias`` (zeros), each registered as None when absent."""
    if affine:
        module.weight = Parameter(np.ones(channels, dtype=dtype))
    else:
        module.register_parameter("weight", None)
    if affine and bias:
        module.bias = Parameter(np.zeros(channels, dtype=dtype))
    else:
        module.register_parameter("bias", None)


def _running_statistics(module: Module, track: bool, channels: int, dtype) -> None:
    """The ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked`` buffers,
    each registered as None when the module does not track running statistics."""
    if track:
        module.register_buffer("running_mean", from_numpy(np.zeros(channels, dtype)))
        module.register_buffer("running_var", from_numpy(np.ones(channels, dtype)))
        module.register_buffer("num_batches_tracked", from_numpy(np.zeros((), dtype=np.int64)))
    else:
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            module.register_buffer(name, None)


def _reset_running_statistics(module: Module) -> None:
    """Running mean to 0, running variance to 1, the batch count to 0 (when tracked)."""
    if module.track_running_stats:
        module.running_mean.detach().numpy()[...] = 0
        module.running_var.detach().numpy()[...] = 1
        module.num_batches_tracked.detach().numpy()[...] = 0
