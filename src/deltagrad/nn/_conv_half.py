"""float16 convolution kernels in PyTorch's CPU roundings (``conv2d``'s input and weight
gradients, ``conv_transpose``'s forward and weight gradient).

PyTorch's CPU convolutions on float16 (its slow im2col path) make their products in float32
and round them to float16 at set points; sums NumPy or BLAS make in another order differ from
its results in the last bit (about 25-55% of the elements of each gradient). Found by
experiment against PyTorch 2.13 (tests/parity/test_s24_HK_half.py):

- the input gradient (and so a transposed convolution's forward): the columns ``W^T g``
  products in float32, rounded to float16, then added back into a zeroed float16 image one
  kernel offset at a time ((kh, kw) order), each addition rounded to float16 (``_col2im``'s
  ``+=`` on a float16 array does exactly that);
- the weight gradient: one float32 product per example, each added into the float16 gradient
  as it goes (``gw = half(gw + g[n] cols[n]^T)``: a GEMM with beta 1 on a float16 output).

bfloat16 needs none of this: its ops compute in float32 and round once (``_engine/bf16.py``),
which is what PyTorch gives there.
"""

from __future__ import annotations

import math

import numpy as np

from .._engine import buffers
from .fold2d import _col2im, _im2col, _rows

HALF = np.dtype(np.float16)
_SINGLE = np.dtype(np.float32)


def input_grad(g: np.ndarray, w: np.ndarray, size: tuple, stride: tuple, dilation: tuple,
               pads: tuple, groups: int) -> np.ndarray:
    """``conv2d_kernels._input_grad`` for float16 ``g`` and ``w``: ``[N, C, *size]``."""
    batch, out_channels = g.shape[:2]
    kernel, out = tuple(w.shape[2:]), tuple(g.shape[2:])
    positions = math.prod(out)
    w_t = w.reshape(groups, out_channels // groups, -1).transpose(0, 2, 1).astype(_SINGLE)
    g_g = g.reshape(batch, groups, out_channels // groups, positions).astype(_SINGLE)
    d_cols = np.matmul(w_t, g_g).astype(HALF)  # (float32 products rounded once to float16)
    d_cols = d_cols.reshape(batch, w.shape[1] * groups * math.prod(kernel), positions)
    return _col2im(d_cols, tuple(size), kernel, tuple(stride), tuple(dilation), tuple(pads),
                   out)


def weight_grad(cols: np.ndarray, g: np.ndarray, groups: int, shape: tuple) -> np.ndarray:
    """``conv2d_kernels._weight_grad`` for float16: ``cols`` ``[N, C K, P]`` and ``g``
    ``[N, O, P]``; each example's float32 product added into the float16 total in turn."""
    batch, rows, positions = cols.shape
    out_channels = g.shape[1]
    c_g = cols.reshape(batch, groups, rows // groups, positions)
    g_g = g.reshape(batch, groups, out_channels // groups, positions)
    total = np.zeros((groups, out_channels // groups, rows // groups), HALF)
    for n in range(batch):
        product = np.matmul(g_g[n].astype(_SINGLE), c_g[n].astype(_SINGLE).transpose(0, 2, 1))
        total = (total.astype(_SINGLE) + product).astype(HALF)
    return total.reshape(shape)


def weight_grad_recorded(c_g, g_g, shape: tuple):
    """``weight_grad`` written with deltagrad ops (a recorded backward): ``c_g`` ``[N, G,
    C/G K, P]`` and ``g_g`` ``[N, G, O/G, P]`` Tensors."""
    total = None
    for n in range(c_g.shape[0]):
        product = g_g[n].float() @ c_g[n].float().transpose(-1, -2)
        total = (product if total is None else total.float() + product).half()
    return total.reshape(shape)


def conv_grads(g: np.ndarray, x: np.ndarray, w: np.ndarray, geometry: dict,
               needs: tuple) -> tuple:
    """A float16 convolution's gradients (input, weight, bias where ``needs`` says), the
    weight's from columns copied again (the forward's may be kept in another layout); the
    bias's the float32 sum of ``g`` rounded once."""
    grads = [None] * len(needs)
    if needs[0]:
        grads[0] = input_grad(g, w, tuple(x.shape[2:]), **geometry)
    if needs[1]:
        cols = _im2col(x, tuple(w.shape[2:]), geometry["stride"], geometry["dilation"],
                       geometry["pads"], tuple(g.shape[2:]))
        grads[1] = weight_grad(cols, _rows(g), geometry["groups"], tuple(w.shape))
        buffers.give(cols)
    if len(needs) > 2 and needs[2]:
        grads[2] = bias_grad(g, dilated=any(d > 1 for d in geometry["dilation"]))
    return tuple(grads)


def bias_grad(g: np.ndarray, dilated: bool = False) -> np.ndarray:
    """The bias's gradient of a float16 output gradient: its float32 sum rounded once; for a
    dilated convolution (PyTorch's other kernel, slow_conv_dilated) each example's float32 sum
    rounded, then added in turn in float16."""
    if not dilated:
        return g.sum(axis=(0,) + tuple(range(2, g.ndim)), dtype=_SINGLE).astype(HALF)
    sums = g.reshape(g.shape[0], g.shape[1], -1).sum(axis=2, dtype=_SINGLE).astype(HALF)
    total = np.zeros(g.shape[1], HALF)
    for part in sums:
        total += part  # (float16 additions: each rounded)
    return total


def wide(*arrays: np.ndarray) -> tuple:
    """The arrays as float32 (exact from float16)."""
    return tuple(array.astype(_SINGLE) for array in arrays)
