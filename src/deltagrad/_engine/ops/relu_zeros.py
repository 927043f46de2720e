"""relu's ``np.maximum(0, x)`` against a zero array of x's shape instead of a 0-d zero.

NumPy 2.4's float maximum runs its vectorised loop only where both operands advance: with the
0-d zero first (x goes second, so that relu(-0.0) keeps -0.0 as PyTorch's) every element takes
the scalar loop. A read-only zero array per dtype, as long as the largest input asked for,
sliced and reshaped to x (a view, ~0.3 us), gives the same bits (maximum's result per element
is the same whichever loop runs: checked on +-0, +-nan, +-inf, subnormals, every length 1-69,
float32 / float64, and against torch.relu) 3-6x faster from ~1K elements (one thread, thread
time, medians of 5; float32): [32, 256] 3.91 -> 1.14 us, [1, 16, 28, 28] 5.79 -> 1.48,
[256, 300] 33.4 -> 5.3, [32, 16, 28, 28] 184 -> 46 (in place: 174 -> 31). Below 1,024
elements, for another dtype or layout (the output takes x's strides from the 0-d form) and
above 2M elements (the array's memory) the 0-d zero stays.
"""

from __future__ import annotations

import numpy as np

_ZEROS: dict = {}  # dtype -> read-only 1-d zeros, the longest asked for so far
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_SMALLEST, _LARGEST = 1024, 1 << 21


def zeros_for(x: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """The first operand for ``np.maximum(_, x)``: zeros of x's shape (a read-only view) where
    that is faster, else ``zero`` (x's dtype, 0-d)."""
    size = x.size
    if size < _SMALLEST or size > _LARGEST or x.dtype not in _FLOATS or not x.flags.c_contiguous:
        return zero
    zeros = _ZEROS.get(x.dtype)
    if zeros is None or zeros.size < size:
        zeros = np.zeros(max(size, 4 * _SMALLEST), x.dtype)
        zeros.flags.writeable = False
        _ZEROS[x.dtype] = zeros
    return zeros[:size].reshape(x.shape)
