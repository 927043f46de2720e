"""``torch.hash_tensor``: the xor of a tensor's elements' 64-bit patterns (``Tensor.hash_tensor``).

Floating elements are widened to float64 and integers (and bools) to int64, then read as
uint64 and reduced with xor, as PyTorch's ``xor_sum`` (mode 0, its only one): the same value
for the same numbers whatever the input dtype's width, and never differentiable.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..tensor import Tensor, _leaf, tensor_method
from ._common import write_out

__all__ = ["hash_tensor"]

_TYPE_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
               "uint8": "Byte", "bool": "Bool", "float32": "Float", "float64": "Double",
               "float16": "Half", "bfloat16": "BFloat16"}
# PyTorch's CPU xor_sum has no kernel for these (its names in the message).
_NO_KERNEL = {"uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64",
              "complex64": "ComplexFloat", "complex128": "ComplexDouble",
              "complex32": "ComplexHalf"}


@tensor_method
def hash_tensor(input: Tensor, dim=None, *, keepdim: bool = False, mode: int = 0,
                out=None) -> Tensor:
    """The xor of the 64-bit patterns of ``input``'s elements (over ``dim``, one int or a
    sequence; all when None or empty), a uint64 tensor.

    >>> import deltagrad as dg
    >>> dg.hash_tensor(dg.tensor([1.0, 2.0]))
    tensor(9218868437227405312, dtype=deltagrad.uint64)
    """
    if mode != 0:
        raise RuntimeError(f"Unknown hash_tensor mode: {mode}")
    name = input._data.dtype.name
    if name in _NO_KERNEL:
        raise NotImplementedError(f'"xor_sum_cpu" not implemented for \'{_NO_KERNEL[name]}\'')
    ndim = input.ndim
    if dim is None or (not isinstance(dim, int) and len(dim) == 0):
        if input.numel() == 0:
            raise RuntimeError("hash_tensor: Expected reduction dim to be specified for "
                               "input.numel() == 0. Specify the reduction dim with the 'dim' "
                               "argument.")
        axes = tuple(range(ndim))
    else:
        axes = []
        for d in ((dim,) if isinstance(dim, int) else tuple(dim)):
            if not -max(ndim, 1) <= d < max(ndim, 1):
                raise IndexError(f"Dimension out of range (expected to be in range of "
                                 f"[{-max(ndim, 1)}, {max(ndim, 1) - 1}], but got {d})")
            axes.append(d % max(ndim, 1))
        for d in axes:
            if ndim and input.shape[d] == 0:
                raise IndexError(f"hash_tensor: Expected reduction dim {d} to have non-zero "
                                 f"size.")
        axes = tuple(axes) if ndim else ()
    data = input._data
    kind = data.dtype.kind
    if kind in "fbiu" and type(data) is np.ndarray:
        # NumPy's cast of the data itself (float16 / 32 / 64 to float64, bool and integers to
        # int64: Tensor.to's casts), not detach() and to()'s Python: OpInfo's three 0-d
        # float32 samples 0.55-0.58 x the time before, 2.6 -> 1.5 x PyTorch (against HEAD's
        # copy in one process, alternated, medians of 11 rounds, thread time, load 9-12)
        bits = data.astype(np.float64 if kind == "f" else np.int64, order="C").view(np.uint64)
    else:  # (bfloat16, meta arrays)
        wide = dtypes.float64 if input.is_floating_point() else dtypes.int64
        bits = np.array(input.detach().to(wide)._data, order="C").view(np.uint64)
    out_bits = np.bitwise_xor.reduce(bits, axis=axes, keepdims=keepdim) if axes else bits
    result = _leaf(np.asarray(out_bits, dtype=np.uint64))
    if out is not None:
        if isinstance(out, Tensor) and out._data.dtype != np.uint64:
            raise RuntimeError(f"Expected result to be of dtype uint64, but got "
                               f"{_TYPE_NAMES.get(out._data.dtype.name, out._data.dtype.name)}")
        return write_out(out, result)  # (the reductions' out=: resized where shapes differ)
    return result
