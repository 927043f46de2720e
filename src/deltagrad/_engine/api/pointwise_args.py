"""The argument checks and number fits of the pointwise functions (api/pointwise.py): a dense
and a sparse operand, bfloat16 ``alpha``, bool subtraction, float16 / bfloat16 Python scalars,
complex operands without a kernel, ``where``'s number operands and ``masked_fill``'s value.
Moved out of api/pointwise.py (session 27, FS1) to keep it under the 800-line limit;
pointwise.py imports them back.
"""

from __future__ import annotations

import builtins
import math
import numbers

import numpy as np

from .. import bf16, dtypes
from ..forward_errors import BOOL_SUB, BOOL_SUB_BOTH
from ..promotion import check_fits, fitted
from ..tensor import Tensor, _leaf, _lift
from ._pointwise import PLAIN_NUMBERS, real_fill_value


def _dense_and_sparse(input: Tensor, other: Tensor) -> bool:
    """Whether ``add`` / ``sub`` got a dense ``input`` and a sparse ``other``: PyTorch gives the
    dense result (``dense.add_(sparse)`` in sparse optimizers such as MADGRAD's)."""
    return other.is_sparse and not input.is_sparse


def _bfloat16_alpha(result: Tensor, input: Tensor, other: Tensor, alpha) -> None:
    # PyTorch's bfloat16 add with alpha rounds alpha to bfloat16 and fuses the multiply-add,
    # except in its 32-element tail (bf16.add_scaled); ``result`` (input + other * alpha,
    # whose graph is the same) takes those values. Same-shape contiguous operands only: the
    # tail follows PyTorch's memory order, which a broadcast or a view changes.
    a, b = input._data, other._data
    if (a.dtype.char in "eE" and b.dtype == a.dtype and a.shape == b.shape
            and a.flags.c_contiguous and b.flags.c_contiguous
            and isinstance(alpha, numbers.Real)):
        result._data = bf16.add_scaled(a, b, float(alpha))


def _float32_alpha(result: Tensor, input: Tensor, other: Tensor, alpha) -> None:
    # PyTorch's float32 ``add`` / ``sub`` with alpha is a fused multiply-add on every layout
    # (``fma(float32(alpha), other, input)``, rounded once: measured on contiguous, strided,
    # broadcast and Python-number operands); rounding the product first differed in the last
    # bit for ~9% of elements (user-written optimizers' ``p.add_(g, alpha=-lr)``, soft target
    # updates: s31 PR26). The float32 product is exact in float64, so the sum rounds there and
    # then to float32 (a double rounding off only when it lands on a float32 halfway point).
    a, b = input._data, other._data
    if (a.dtype.kind in "fiub" and b.dtype.kind in "fiub" and isinstance(alpha, numbers.Real)
            and not isinstance(alpha, (bool, np.bool_)) and result._data.flags.writeable):
        # (operands of other dtypes are first cast to float32, as PyTorch's kernel reads them;
        # inf - inf and overflow are silent, as in the two-step path)
        # (astype then in-place steps: NumPy's mixed-dtype ufunc loops were 5x slower)
        wide = (b if b.dtype == np.float32 else b.astype(np.float32)).astype(np.float64)
        with np.errstate(all="ignore"):
            wide *= np.float64(np.float32(alpha))
            wide = np.add(wide, a if a.dtype == np.float32 else a.astype(np.float32),
                          out=wide if wide.shape == result._data.shape else None)
            result._data[...] = wide  # (overflowing to inf as PyTorch: silent)


def _refuse_bool(input: Tensor, other: Tensor) -> None:
    kinds = (input._data.dtype.kind, other._data.dtype.kind)
    if "b" in kinds:  # (PyTorch's two messages: both operands bool, or one)
        raise RuntimeError(BOOL_SUB_BOTH if kinds == ("b", "b") else BOOL_SUB)


def _half_scalars(input, other) -> tuple:
    """mul / div's Python-number operand met by a float16 or bfloat16 tensor, as PyTorch's
    kernels read it: second, its value unrounded (lifted as the operators lift it: see
    ops/half.half_binary); first, cast to the tensor's dtype (``torch.mul(0.1, t)`` rounds 0.1,
    ``0.1 * t`` does not: it is ``t.mul(0.1)``)."""
    if type(input) is Tensor and type(other) in PLAIN_NUMBERS:
        if input._data.dtype == np.float16:
            other = _lift(other, input, True)
    elif type(other) is Tensor and type(input) in PLAIN_NUMBERS:
        dtype = other._data.dtype
        if dtype == np.float16 or dtype is bf16.BF16:
            input = _leaf(_fitted_float(input, dtype))
    return input, other


def _fitted_float(value, dtype):
    # A number as a 0-d array of a half-precision dtype (through float32, as PyTorch's cast).
    if type(value) is int and not -(1 << 63) <= value < (1 << 64):
        raise OverflowError("int too big to convert")  # (beyond PyTorch's int64 / uint64)
    with np.errstate(over="ignore"):
        return np.asarray(np.float32(value)).astype(dtype)


def _no_complex_kernel(kernel: str, input: Tensor, other: Tensor) -> None:
    # PyTorch has no complex kernel here: NotImplementedError (NumPy's TypeError became a
    # ShapeError in the engine).
    for x in (input, other):
        if x._data.dtype.kind == "c":
            kind = "ComplexFloat" if x._data.dtype.itemsize == 8 else "ComplexDouble"
            raise NotImplementedError(f"\"{kernel}\" not implemented for '{kind}'")


def _real_only(name: str, input: Tensor, other: Tensor) -> None:
    # PyTorch orders no complex numbers (NumPy compares them lexicographically: silent).
    if input._data.dtype.kind == "c" or other._data.dtype.kind == "c":
        raise RuntimeError(f"{name} not implemented for complex tensors.")


def _fit_scalar(value, dtype: np.dtype):
    """A Python number that does not raise the tensor's category takes its dtype, checked as
    PyTorch checks it (``where(c, uint8_tensor, 300)`` raises, -1 is 255: no promotion)."""
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        kind = 1 if isinstance(value, numbers.Integral) else (
            2 if isinstance(value, numbers.Real) else 3)
        if kind == 3 and dtype.kind in "biu":  # (a complex number: the default complex)
            return _leaf(np.asarray(value, np.complex128 if dtypes._Default.float.itemsize == 8
                                    else np.complex64))
        if dtype.kind == "V" and kind <= 2:  # bfloat16: the number rounded to it
            return _leaf(np.asarray(np.float32(value)).astype(dtype))
        if kind <= {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3, "V": 2}[dtype.kind]:
            if dtype.kind == "f":
                # As PyTorch (measured): where(c, half, 1e5) and (c, half, 1e300) give inf,
                # where(c, float, 1e300) raises. (No np.errstate here: it cost 1 us a call.)
                if dtype.itemsize == 4:
                    check_fits(value, dtype)
                elif dtype.itemsize == 2 and builtins.abs(value) >= 65520.0:  # (to inf)
                    return math.copysign(math.inf, value)
                return value
            return fitted(value, dtype)
        if kind == 2 and dtype.kind in "biu":  # (a float over integers: the default dtype)
            check_fits(value, dtypes._Default.float)
    return value


def _masked_fill_value(input: Tensor, value) -> Tensor:  # (masked_fill's value, checked)
    complex_value = value._data.dtype.kind == "c" if isinstance(value, Tensor) else isinstance(
        value, complex | np.complexfloating)  # (np.iscomplexobj's: 3.9 -> 0.4 us; s24 SP13)
    if input._data.dtype.kind != "c" and complex_value:
        value = real_fill_value("masked_fill", value, input.dtype)
    if not isinstance(value, Tensor):
        value = fitted(value, input._data.dtype)
    elif value._data.dtype != input._data.dtype:  # (PyTorch converts its item, checked: 1e300
        check_fits(value._data.item(), input._data.dtype)  # into float32 raises; was inf)
    fill = _lift(value, input)
    return fill if fill._data.dtype == input._data.dtype else fill.to(input.dtype)
