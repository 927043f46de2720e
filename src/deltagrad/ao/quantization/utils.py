"""``torch.ao.quantization.utils``: the quantized ranges and checks observers share."""

from __future__ import annotations

import warnings

from ... import _engine as dg

__all__ = ["calculate_qmin_qmax", "check_min_max_valid", "is_per_channel", "is_per_tensor",
           "validate_qmin_qmax"]



def is_per_tensor(qscheme) -> bool:
    """Whether ``qscheme`` is one of the per-tensor schemes."""
    return qscheme in (dg.per_tensor_affine, dg.per_tensor_symmetric)


def is_per_channel(qscheme) -> bool:
    """Whether ``qscheme`` is one of the per-channel schemes."""
    return qscheme in (dg.per_channel_affine, dg.per_channel_symmetric,
                       dg.per_channel_affine_float_qparams)


def validate_qmin_qmax(quant_min: int, quant_max: int) -> None:
    """A user's quantized range must hold 0 and be non-empty (AssertionError, as PyTorch)."""
    if not quant_min <= 0 <= quant_max:
        raise AssertionError("Used-specified quantization range must include 0.")
    if quant_min >= quant_max:
        raise AssertionError(
            "qmin must be strictly less than qmax for user-specified quantization range.")


def calculate_qmin_qmax(quant_min, quant_max, has_customized_qrange: bool, dtype,
                        reduce_range: bool) -> tuple[int, int]:
    """The integer range a quantized ``dtype`` maps to: the user's range if given (halved by
    ``reduce_range``), else the dtype's 8-bit (or 32/16/4-bit) range."""
    if has_customized_qrange:
        length = quant_max - quant_min + 1
        if dtype in (dg.qint8, dg.int8) and not 0 < length <= 256:
            raise AssertionError("quantization range should be positive and not exceed the "
                                 "maximum bit range (=256).")
        if dtype in (dg.qint32, dg.int32) and not 0 < length <= 2 ** 32:
            raise AssertionError("quantization range should be positive and not exceed the "
                                 "maximum bit range (=4294967296).")
        if reduce_range:
            quant_min, quant_max = quant_min // 2, quant_max // 2
        return quant_min, quant_max
    if dtype in (dg.qint8, dg.int8):
        return (-64, 63) if reduce_range else (-128, 127)
    if dtype in (dg.quint8, dg.uint8):
        return (0, 127) if reduce_range else (0, 255)
    if dtype in (dg.qint32, dg.int32):
        return -(2 ** 31), 2 ** 31 - 1
    if dtype == dg.uint16:
        return 0, 2 ** 16 - 1
    if dtype == dg.int16:
        return -(2 ** 15), 2 ** 15 - 1
    return 0, 15


def check_min_max_valid(min_val, max_val) -> bool:
    """False (with PyTorch's warning) before any observation; AssertionError if min > max."""
    if min_val.numel() == 0 or max_val.numel() == 0:
        warnings.warn("must run observer before calling calculate_qparams. "
                      "Returning default values.", stacklevel=2)
        return False
    if min_val.dim() == 0 or max_val.dim() == 0:
        if float(min_val) == float("inf") and float(max_val) == float("-inf"):
            warnings.warn("must run observer before calling calculate_qparams. "
                          "Returning default values.", stacklevel=2)
            return False
        if float(min_val) > float(max_val):
            raise AssertionError(f"min {min_val} should be less than max {max_val}")
    elif bool(dg.any(min_val > max_val)):
        raise AssertionError(f"min {min_val} should be less than max {max_val}")
    return True
