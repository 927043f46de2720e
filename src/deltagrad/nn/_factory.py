"""What every layer's constructor does with PyTorch's factory keywords ``device`` and ``dtype``:
the CPU only, and the default floating dtype (``deltagrad.set_default_dtype``) when no dtype is
given, read at construction time."""

from __future__ import annotations

import numpy as np

from .._engine import dtypes
from .._engine.device import check_device
from .._engine.meta import names_meta


def parameter_dtype(dtype=None, device=None, where: str = "module") -> np.dtype:
    """The NumPy dtype for a layer's parameters, after checking ``device``.

    Args:
        dtype: a floating dtype, or None for the current default (float32 unless changed).
        device: None or the CPU; anything else raises RuntimeError (deltagrad runs on the CPU).
        where: the layer's name, for the error messages.

    Returns:
        A floating NumPy dtype.

    Raises:
        TypeError: for a non-floating dtype.
    """
    if not names_meta(device):  # (device="meta": nn/module_state.py's _meta_aware)
        check_device(device, where)
    numpy_dtype = dtypes._Default.float if dtype is None else dtypes.to_numpy(dtype)
    if numpy_dtype.kind != "f" and dtypes.of(numpy_dtype) is not dtypes.bfloat16:
        raise TypeError(f"{where}: parameters must have a floating-point dtype, got "
                        f"{dtypes.of(numpy_dtype)}")
    return numpy_dtype
