"""N-d convolution (2-d and 3-d; transposed in 1, 2 and 3 dims): ``conv2d``, ``conv3d``,
``conv_transpose1d/2d/3d`` and the layers ``Conv2d``, ``Conv3d``, ``ConvTranspose1d/2d/3d``.

A convolution is one fused node. The forward copies the input's windows once (im2col through a
strided view, ``fold2d._im2col``) and multiplies them by the weights, one batched matrix product
per call ([N] products of ``[O/G, C/G prod(K)] @ [C/G prod(K), P]``, groups as a batch axis).
The backward computes the weight's gradient with one batched product against the saved
columns, and the input's gradient either as a correlation of the padded output gradient with
the flipped kernels (stride 1: an im2col again, cheaper than scattering; in 2-d, groups 1, a
copy of the column shifts only, ``_correlate_by_rows``) or by a col2im scatter
(``prod(kernel_size)`` strided additions). A transposed convolution is the input gradient of a
convolution, so the two Functions share the same three NumPy kernels with their roles swapped.
When the backward itself is recorded (``create_graph=True``) the gradients are written with
the other Function and ``fold2d._Unfold``, so any order of derivative works.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._engine import DTypeError, ShapeError, Tensor, buffers, is_grad_enabled, threads
from .._engine.api.creation import from_numpy
from ..autograd import Function
from . import init
from ._factory import parameter_dtype
from ._functional_misc import pad as _pad_function
from .fold2d import (
    _as_tensor,
    _batched,
    _col2im,
    _im2col,
    _ntuple,
    _out_size,
    _pad,
    _rows,
    _Unfold,
    _windows,
)
from .module import Module, Parameter

__all__ = [
    "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "conv2d",
    "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


# ----------------------------------------------------------------------------------------------
# NumPy kernels. Shapes: x [N, C, *size], w [O, C/G, *K], g (output gradient) [N, O, *out].


def _matrix(w: np.ndarray) -> np.ndarray:
    """A weight ``[O, C/G, *K]`` as ``[O, C/G prod(K)]``."""
    return w.reshape(w.shape[0], math.prod(w.shape[1:]))


def _grouped_matmul(w2: np.ndarray, cols: np.ndarray, groups: int) -> np.ndarray:
    """``[O, C/G prod(K)] x [N, C prod(K), P] -> [N, O, P]``, group by group, into a recycled
    buffer."""
    batch, rows, positions = cols.shape
    out = buffers.empty((batch, w2.shape[0], positions), np.result_type(w2, cols))
    if groups == 1:
        np.matmul(w2, cols, out=out)
    else:
        np.matmul(w2.reshape(groups, -1, rows // groups),
                  cols.reshape(batch, groups, rows // groups, positions),
                  out=out.reshape(batch, groups, -1, positions))
    return out


def _columns_and_product(x: np.ndarray, w2: np.ndarray, kernel: tuple, stride: tuple,
                         dilation: tuple, pads: tuple, out: tuple, ones: bool,
                         groups: int) -> tuple:
    """``_im2col(x, ..., ones=ones)`` and its ``_grouped_matmul`` by ``w2``, examples shared out
    across the intra-op threads (one product per example: the same bits at any count)."""
    batch = x.shape[0]
    if not ones and math.prod(kernel) == 1 and stride == (1,) * len(out) and not any(
            left or right for left, right in pads):  # a 1x1 window: the input is its columns
        cols = _im2col(x, kernel, stride, dilation, pads, out)
        return cols, _grouped_matmul(w2, cols, groups)
    rows = x.shape[1] * math.prod(kernel)
    cols = buffers.empty((batch, rows + ones, math.prod(out)), x.dtype)
    y = buffers.empty((batch, w2.shape[0], cols.shape[2]), np.result_type(w2, cols))
    padded = _pad(x, pads)
    windows = _windows(padded, kernel, stride, dilation, out)
    # Blocks of columns (512 KB) still in cache for their product: W6's conv1 forward + backward
    # 1.75 -> 1.60 ms, conv2 0.98 of its time (one thread, thread time, medians of 40).
    step = max(1, (1 << 19) * max(batch, 1) // max(cols.nbytes, 1))

    def examples(begin, end):
        for start in range(begin, end, step):
            stop, part = min(start + step, end), cols[start:min(start + step, end)]
            if ones:
                part[:, -1] = 1
            np.copyto(part[:, :rows].reshape(windows[start:stop].shape), windows[start:stop])
            per, o_g, n = part.shape[1] // groups, w2.shape[0] // groups, stop - start
            np.matmul(w2.reshape(groups, o_g, per), part.reshape(n, groups, per, part.shape[2]),
                      out=y[start:stop].reshape(n, groups, o_g, part.shape[2]))

    threads.split(examples, batch, elements=cols.size)
    windows = None  # (a view of ``padded``: gone, so that it can be given back)
    if padded is not x:
        buffers.give(padded)
    return cols, y


def _weight_grad(cols: np.ndarray, g: np.ndarray, groups: int, shape: tuple) -> np.ndarray:
    """dw[o, c, k] = sum over n, p of g[n, o, p] cols[n, c K + k, p]."""
    return _column_products(cols, g, groups).transpose(0, 2, 1).reshape(shape)


def _weight_and_bias_grad(cols: np.ndarray, g: np.ndarray, shape: tuple) -> tuple:
    """``_weight_grad`` from columns with their last row of ones (``_im2col(ones=True)``,
    groups 1): that row's products are the bias's gradient."""
    total = _column_products(cols, g, 1)[0]
    return np.ascontiguousarray(total[:-1].T).reshape(shape), total[-1].copy()


def _column_products(cols: np.ndarray, g: np.ndarray, groups: int) -> np.ndarray:
    """``[G, C/G prod(K), O/G]``: sum over n, p of cols[n, g, r, p] g[n, g, o, p]."""
    batch, rows, positions = cols.shape
    out_channels = g.shape[1]
    c_g = cols.reshape(batch, groups, rows // groups, positions)
    g_g = g.reshape(batch, groups, out_channels // groups, positions)
    total = np.zeros((groups, rows // groups, out_channels // groups), dtype=g.dtype)
    # Batches of examples bound the [n, G, C/G K, O/G] products to ~4M entries, made across
    # the intra-op threads and summed by one call (the same bits at any thread count). Columns
    # times the gradient's transpose: 1.9 against 2.9 ms the other way round at N=32, C=O=16,
    # 28x28, k=3 (float32, one thread).
    chunk = max(1, (1 << 22) // max(rows * out_channels // groups, 1))
    for first in range(0, batch, chunk):
        c_n, g_n = c_g[first:first + chunk], g_g[first:first + chunk].transpose(0, 1, 3, 2)
        products = buffers.empty((c_n.shape[0],) + total.shape, total.dtype)
        threads.split(lambda start, stop, c=c_n, g=g_n, p=products: np.matmul(
            c[start:stop], g[start:stop], out=p[start:stop]), c_n.shape[0], elements=c_n.size)
        total += products.sum(axis=0)
        buffers.give(products)
    return total


def _input_grad(g: np.ndarray, w: np.ndarray, size: tuple, stride: tuple, dilation: tuple,
                pads: tuple, groups: int) -> np.ndarray:
    """The gradient of a convolution with respect to its input ``[N, C, *size]`` (and so the
    forward of a transposed convolution)."""
    batch, out_channels = g.shape[:2]
    out = g.shape[2:]
    kernel = w.shape[2:]
    channels = w.shape[1] * groups
    if all(s == 1 for s in stride) and out_channels <= 3 * channels:
        # Stride 1: a correlation of the output gradient, padded by the kernel's span less the
        # forward's padding, with the kernels flipped and their in/out channels swapped. An
        # im2col copy costs ~3.5x less per entry than the strided additions of col2im, so this
        # wins unless the gradient has many more channels than the input: dx at N=32, C=O=16,
        # 28x28, k=3: 2.3 against 4.4 ms.
        flipped = w.reshape((groups, out_channels // groups, w.shape[1]) + kernel)
        flipped = flipped.swapaxes(1, 2).reshape((channels, out_channels // groups) + kernel)
        flipped = flipped[(slice(None), slice(None)) + (slice(None, None, -1),) * len(kernel)]
        g_pads = []
        for k, d, (left, _), n, m in zip(kernel, dilation, pads, size, out):
            first = (k - 1) * d - left
            g_pads.append((first, n + (k - 1) * d - m - first))
        if len(kernel) == 2 and kernel[0] > 1 and groups == 1:
            return _correlate_by_rows(g, flipped, tuple(g_pads), dilation, size)
        cols = _im2col(g, kernel, stride, dilation, tuple(g_pads), size)
        dx = _grouped_matmul(_matrix(np.ascontiguousarray(flipped)), cols, groups)
        buffers.give(cols)
        return dx.reshape((batch, channels) + tuple(size))
    positions = math.prod(out)
    w_g = w.reshape(groups, out_channels // groups, w.shape[1] * math.prod(kernel))
    g_g = g.reshape(batch, groups, out_channels // groups, positions)
    d_cols = np.matmul(w_g.transpose(0, 2, 1), g_g).reshape(batch, channels * math.prod(kernel),
                                                            positions)
    dx = _col2im(d_cols, size, kernel, stride, dilation, pads, out)
    buffers.give(d_cols)
    return dx


def _correlate_by_rows(g: np.ndarray, w: np.ndarray, pads: tuple, dilation: tuple,
                       size: tuple) -> np.ndarray:
    """A stride-1 2-d correlation ``y[n, c, i, j] = sum over o, a, b of w[c, o, a, b]
    g_padded[n, o, i + a d0, j + b d1]`` (groups 1), ``y`` ``[N, C, *size]``.

    Only the column offsets are copied: ``A[n, o, b]`` holds every padded row, shifted by
    ``b d1`` and cut to the output's width, so the rows of offset ``a`` are the contiguous slice
    from row ``a d0`` (a matrix with a row stride BLAS takes), and ``y`` is ``kernel[0]``
    products of ``[C, O kw] @ [O kw, H W]``. An im2col copies ``kh`` times more (inner runs of
    one output row each). Conv2d(16, 32, 3, padding=1) input gradient on [64, 16, 14, 14]
    float32 (W6's conv2): 2.66 -> 1.94 ms, one thread (thread time, medians of 30).
    """
    batch, out_channels = g.shape[:2]
    (channels, _, kh, kw), (height, width) = w.shape, size
    gp = _pad(g, pads)
    rows = gp.shape[2]
    shifted = buffers.empty((batch, out_channels, kw, rows * width), g.dtype)
    n_stride, o_stride, r_stride, c_stride = gp.strides
    view = as_strided(gp, (batch, out_channels, kw, rows, width),
                      (n_stride, o_stride, c_stride * dilation[1], r_stride, c_stride),
                      writeable=False)
    matrix = shifted.reshape(batch, out_channels * kw, rows * width)
    span = height * width
    out = buffers.empty((batch, channels, span), g.dtype)
    w_rows = [np.ascontiguousarray(w[:, :, a, :]).reshape(channels, out_channels * kw)
              for a in range(kh)]

    def examples(first, stop):  # (across the intra-op threads: one product per example)
        np.copyto(shifted[first:stop].reshape(view[first:stop].shape), view[first:stop])
        for a, w_a in enumerate(w_rows):
            start = a * dilation[0] * width
            if a == 0:
                np.matmul(w_a, matrix[first:stop, :, start:start + span], out=out[first:stop])
            else:
                out[first:stop] += np.matmul(w_a, matrix[first:stop, :, start:start + span])

    threads.split(examples, batch, elements=shifted.size)
    view = None  # (a view of ``gp``: gone, so that it can be given back)
    if gp is not g:
        buffers.give(gp)
    buffers.give(shifted)
    return out.reshape((batch, channels) + tuple(size))


# ----------------------------------------------------------------------------------------------
# The two Functions.


class _Held:
    """A recycled work array kept between a forward and its backward, handed back to
    ``buffers`` when the graph node holding it is freed."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def __del__(self) -> None:
        array, self.array = self.array, None
        if array is not None:
            buffers.give(array)


def _weight_grad_recorded(cols: Tensor, g: Tensor, groups: int, shape: tuple) -> Tensor:
    """``_weight_grad`` written with deltagrad ops (for a recorded backward)."""
    batch, rows, positions = cols.shape
    out_channels = g.shape[1]
    c_g = cols.reshape(batch, groups, rows // groups, positions)
    g_g = g.reshape(batch, groups, out_channels // groups, positions)
    return (g_g @ c_g.transpose(-1, -2)).sum(0).reshape(shape)


def _bias_grad(g):
    """The bias's gradient: ``g`` summed over every dim but the channels (array or Tensor)."""
    dims = (0,) + tuple(range(2, g.ndim))
    return g.sum(axis=dims) if isinstance(g, np.ndarray) else g.sum(dim=dims)


class _ConvFunction(Function):
    """y[n, o, p] = sum over c, k of w[o, c, k] x_padded[n, g(o) C/G + c, p s + k d] + b[o]."""

    @staticmethod
    def forward(ctx, x, weight, *bias, stride, dilation, pads, groups, out):
        w = weight.numpy()
        # With a bias (groups 1) the columns get a row of ones and the weights the bias as a
        # column: the product adds the bias, and in the backward the same row's products are
        # the bias's gradient (two passes over the output saved). W6 CNN step: 0.97 of the
        # time; its conv1 (1 -> 16, 28x28, batch 64) forward + weight/bias backward 1.18 ->
        # 0.81 ms (one thread, alternated, thread time).
        augmented = bool(bias) and groups == 1
        matrix = (np.concatenate([_matrix(w), bias[0].numpy()[:, None]], axis=1) if augmented
                  else _matrix(w))
        cols, y = _columns_and_product(x.numpy(), matrix, w.shape[2:], stride, dilation, pads,
                                       out, augmented, groups)
        if bias and not augmented:
            y += bias[0].numpy()[:, None]
        if ctx.needs_input_grad[1] and cols.base is None:
            # The weight's gradient needs these columns: kept, and handed back to the recycled
            # buffers when the node is freed (after backward), so the next step's forward
            # reuses the memory. W6 CNN step: 0.90 of the time; its conv1 forward + backward
            # 1.25 -> 0.84 ms, conv2 (16 -> 32, 14x14) 0.88 of its time (one thread,
            # alternated, thread time).
            ctx.columns = _Held(cols)
        else:
            buffers.give(cols)
        ctx.augmented = augmented
        ctx.save_for_backward(x, weight)
        ctx.geometry = dict(stride=stride, dilation=dilation, pads=pads, groups=groups)
        return from_numpy(y.reshape(y.shape[:2] + tuple(out)))

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        needs, geometry = ctx.needs_input_grad, ctx.geometry
        grads = [None] * len(needs)
        if is_grad_enabled():  # a recorded backward (create_graph): differentiable ops only
            if len(needs) > 2 and needs[2]:
                grads[2] = _bias_grad(grad)
            if needs[0]:
                grads[0] = _ConvTransposeFunction.apply(grad, weight, size=tuple(x.shape[2:]),
                                                        **geometry)
            if needs[1]:
                cols = _Unfold.apply(x, kernel=tuple(weight.shape[2:]),
                                     stride=geometry["stride"], dilation=geometry["dilation"],
                                     pads=geometry["pads"], out=tuple(grad.shape[2:]))
                grads[1] = _weight_grad_recorded(cols, grad, geometry["groups"],
                                                 tuple(weight.shape))
            return tuple(grads)
        g = grad.numpy()
        if needs[0]:
            grads[0] = _input_grad(g, weight.numpy(), tuple(x.shape[2:]), **geometry)
        held = getattr(ctx, "columns", None)
        cols = held.array if held is not None else None
        if needs[1] and cols is not None and ctx.augmented:
            grads[1], bias_grad = _weight_and_bias_grad(cols, _rows(g), tuple(weight.shape))
            if needs[2]:
                grads[2] = bias_grad
            return tuple(grads)
        if len(needs) > 2 and needs[2]:
            grads[2] = _bias_grad(g)
        if needs[1] and cols is not None:
            grads[1] = _weight_grad(cols, _rows(g), geometry["groups"], tuple(weight.shape))
        elif needs[1]:
            cols = _im2col(x.numpy(), tuple(weight.shape[2:]), geometry["stride"],
                           geometry["dilation"], geometry["pads"], tuple(g.shape[2:]))
            grads[1] = _weight_grad(cols, _rows(g), geometry["groups"], tuple(weight.shape))
            buffers.give(cols)
        return tuple(grads)


class _ConvTransposeFunction(Function):
    """The adjoint of ``_ConvFunction`` in its input: y = conv_input_grad(x, w) + b, with
    ``w`` ``[C_in, C_out / G, *K]`` read as a convolution's weight from ``C_out`` to ``C_in``
    channels and ``size`` the output's spatial size."""

    @staticmethod
    def forward(ctx, x, weight, *bias, stride, dilation, pads, groups, size):
        y = _input_grad(x.numpy(), weight.numpy(), size, stride, dilation, pads, groups)
        if bias:
            y += bias[0].numpy()[(slice(None),) + (None,) * len(size)]
        ctx.save_for_backward(x, weight)
        ctx.geometry = dict(stride=stride, dilation=dilation, pads=pads, groups=groups)
        return from_numpy(y)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        needs, geometry = ctx.needs_input_grad, ctx.geometry
        out = tuple(x.shape[2:])
        grads = [None] * len(needs)
        if len(needs) > 2 and needs[2]:
            grads[2] = _bias_grad(grad if is_grad_enabled() else grad.numpy())
        if is_grad_enabled():
            if needs[0]:
                grads[0] = _ConvFunction.apply(grad, weight, out=out, **geometry)
            if needs[1]:
                cols = _Unfold.apply(grad, kernel=tuple(weight.shape[2:]),
                                     stride=geometry["stride"], dilation=geometry["dilation"],
                                     pads=geometry["pads"], out=out)
                grads[1] = _weight_grad_recorded(cols, x, geometry["groups"],
                                                 tuple(weight.shape))
            return tuple(grads)
        w = weight.numpy()
        cols = _im2col(grad.numpy(), w.shape[2:], geometry["stride"], geometry["dilation"],
                       geometry["pads"], out)
        if needs[0]:
            dx = _grouped_matmul(_matrix(w), cols, geometry["groups"])
            grads[0] = dx.reshape(dx.shape[:2] + out)
        if needs[1]:
            grads[1] = _weight_grad(cols, _rows(x.numpy()), geometry["groups"], tuple(w.shape))
        buffers.give(cols)
        return tuple(grads)


# ----------------------------------------------------------------------------------------------
# Argument checks shared by the functionals.


def _check_groups(op: str, groups) -> int:
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool):
        raise TypeError(f"{op}: groups must be an int, got {groups!r}")
    if groups <= 0:
        raise RuntimeError(f"{op}: non-positive groups is not supported")
    return int(groups)


def _check_steps(op: str, stride: tuple, dilation: tuple) -> None:
    if min(stride) <= 0:
        raise RuntimeError(f"{op}: non-positive stride is not supported (got stride={stride})")
    if min(dilation) <= 0:
        raise RuntimeError(f"{op}: dilation should be greater than zero (got dilation="
                           f"{dilation})")


def _check_bias_and_dtypes(op: str, x: Tensor, w: Tensor, bias, channels: int) -> list:
    if bias is None:
        extra = []
    else:
        bias = _as_tensor(bias)
        if tuple(bias.shape) != (channels,):
            raise ShapeError(f"{op}: Given weight of size {list(w.shape)}, expected bias to be "
                             f"1-dimensional with {channels} elements, but got bias of size "
                             f"{list(bias.shape)} instead")
        extra = [bias]
    if w.dtype != x.dtype or any(b.dtype != x.dtype for b in extra):
        raise DTypeError(f"{op}: Input type ({x.dtype}), weight type ({w.dtype}) and bias "
                         "type should be the same")
    return extra


def _same_pads(kernel: tuple, dilation: tuple) -> tuple:
    """'same' padding: the span less one, an odd total one more on the right (as PyTorch)."""
    pads = []
    for k, d in zip(kernel, dilation):
        total = d * (k - 1)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def _conv_pads(op: str, padding, spatial: int, kernel: tuple, stride: tuple,
               dilation: tuple) -> tuple:
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * spatial
        if padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            return _same_pads(kernel, dilation)
        raise RuntimeError(f"Invalid padding string: {padding!r} (expected 'valid' or 'same')")
    widths = _ntuple(padding, spatial, "padding", op)
    if min(widths) < 0:
        raise RuntimeError(f"{op}: negative padding is not supported (got padding={widths})")
    return tuple((p, p) for p in widths)


def _convolution(op: str, spatial: int, input, weight, bias, stride, padding, dilation,
                 groups) -> Tensor:
    x, batched = _batched(op, input, spatial)
    w = _as_tensor(weight)
    if w.ndim != spatial + 2:
        raise ShapeError(f"{op}: weight must be {spatial + 2}-D [C_out, C_in / groups, "
                         f"*kernel_size], got shape {list(w.shape)}")
    stride = _ntuple(stride, spatial, "stride", op)
    dilation = _ntuple(dilation, spatial, "dilation", op)
    groups = _check_groups(op, groups)
    _check_steps(op, stride, dilation)
    out_channels, group_channels = w.shape[:2]
    if out_channels % groups:
        raise ShapeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                         f"at dimension 0, but got weight of size {list(w.shape)} instead")
    if x.shape[1] != group_channels * groups:
        raise ShapeError(f"Given groups={groups}, weight of size {list(w.shape)}, expected "
                         f"input{list(x.shape)} to have {group_channels * groups} channels, "
                         f"but got {x.shape[1]} channels instead")
    kernel = tuple(w.shape[2:])
    pads = _conv_pads(op, padding, spatial, kernel, stride, dilation)
    extra = _check_bias_and_dtypes(op, x, w, bias, out_channels)
    out = _out_size(op, tuple(x.shape[2:]), kernel, stride, dilation, pads)
    y = _ConvFunction.apply(x, w, *extra, stride=stride, dilation=dilation, pads=pads,
                            groups=groups, out=out)
    return y if batched else y.squeeze(0)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """2-d convolution (cross-correlation), as ``torch.nn.functional.conv2d``.

    Args:
        input: ``[N, C_in, H, W]`` or unbatched ``[C_in, H, W]``.
        weight: ``[C_out, C_in / groups, kH, kW]``.
        bias: ``[C_out]`` or None.
        stride: step between windows (int or pair).
        padding: zeros on both sides (int or pair), ``"valid"`` (none) or ``"same"`` (output
            as large as the input; stride 1 only; an odd total pads one more at the end).
        dilation: spacing between kernel taps (int or pair).
        groups: split the channels into this many independent groups.

    Returns:
        ``[N, C_out, H_out, W_out]`` with ``H_out = (H + 2 padding - dilation (kH - 1) - 1)
        // stride + 1`` (and so for W).

    >>> import deltagrad as dg
    >>> conv2d(dg.ones(1, 1, 3, 3), dg.ones(1, 1, 2, 2), padding=1)[0, 0]
    tensor([[1., 2., 2., 1.],
            [2., 4., 4., 2.],
            [2., 4., 4., 2.],
            [1., 2., 2., 1.]])
    """
    return _convolution("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """3-d convolution, as ``torch.nn.functional.conv3d``: ``conv2d`` with a depth dim.

    Args:
        input: ``[N, C_in, D, H, W]`` or unbatched ``[C_in, D, H, W]``.
        weight: ``[C_out, C_in / groups, kD, kH, kW]``.
        bias, stride, padding, dilation, groups: as ``conv2d`` (ints or triples).

    Returns:
        ``[N, C_out, D_out, H_out, W_out]``.
    """
    return _convolution("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def _transpose_size(op: str, size: tuple, kernel: tuple, stride: tuple, dilation: tuple,
                    padding: tuple, output_padding: tuple) -> tuple:
    for op_, s, d in zip(output_padding, stride, dilation):
        if op_ < 0 or op_ >= max(s, d):
            raise RuntimeError(f"{op}: output padding must be smaller than either stride or "
                               f"dilation, but got output_padding={output_padding}, stride="
                               f"{stride}, dilation={dilation}")
    out = tuple((n - 1) * s - 2 * p + d * (k - 1) + op_ + 1 for n, s, p, d, k, op_ in
                zip(size, stride, padding, dilation, kernel, output_padding))
    if min(out) <= 0:
        raise RuntimeError(f"{op}: Given input size per channel: {list(size)}. Calculated "
                           f"output size per channel: {list(out)}. Output size is too small")
    return out


def _transposed(op: str, spatial: int, input, weight, bias, stride, padding, output_padding,
                groups, dilation) -> Tensor:
    x, batched = _batched(op, input, spatial)
    w = _as_tensor(weight)
    if w.ndim != spatial + 2:
        raise ShapeError(f"{op}: weight must be {spatial + 2}-D [C_in, C_out / groups, "
                         f"*kernel_size], got shape {list(w.shape)}")
    stride = _ntuple(stride, spatial, "stride", op)
    dilation = _ntuple(dilation, spatial, "dilation", op)
    padding = _ntuple(padding, spatial, "padding", op)
    output_padding = _ntuple(output_padding, spatial, "output_padding", op)
    groups = _check_groups(op, groups)
    _check_steps(op, stride, dilation)
    if min(padding) < 0:
        raise RuntimeError(f"{op}: negative padding is not supported (got padding={padding})")
    in_channels = w.shape[0]
    if x.shape[1] != in_channels:
        raise ShapeError(f"Given transposed=1, weight of size {list(w.shape)}, expected "
                         f"input{list(x.shape)} to have {in_channels} channels, but got "
                         f"{x.shape[1]} channels instead")
    if in_channels % groups:
        raise ShapeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                         f"at dimension 0, but got weight of size {list(w.shape)} instead")
    kernel = tuple(w.shape[2:])
    size = _transpose_size(op, tuple(x.shape[2:]), kernel, stride, dilation, padding,
                           output_padding)
    extra = _check_bias_and_dtypes(op, x, w, bias, w.shape[1] * groups)
    y = _ConvTransposeFunction.apply(x, w, *extra, stride=stride, dilation=dilation,
                                     pads=tuple((p, p) for p in padding), groups=groups,
                                     size=size)
    return y if batched else y.squeeze(0)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups: int = 1, dilation=1) -> Tensor:
    """1-d transposed convolution ("deconvolution"), as ``F.conv_transpose1d``.

    Args:
        input: ``[N, C_in, L]`` or ``[C_in, L]``.
        weight: ``[C_in, C_out / groups, K]``.
        bias: ``[C_out]`` or None.
        stride, padding, dilation, groups: those of the convolution this one transposes.
        output_padding: extra size added at the end of the output (smaller than the stride or
            the dilation), to pick among the input sizes a strided convolution maps alike.

    Returns:
        ``[N, C_out, L_out]``, ``L_out = (L - 1) stride - 2 padding + dilation (K - 1)
        + output_padding + 1``.
    """
    return _transposed("conv_transpose1d", 1, input, weight, bias, stride, padding,
                       output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups: int = 1, dilation=1) -> Tensor:
    """2-d transposed convolution, as ``F.conv_transpose2d``: ``conv_transpose1d`` on
    ``[N, C_in, H, W]`` with a weight ``[C_in, C_out / groups, kH, kW]`` (ints or pairs).

    >>> import deltagrad as dg
    >>> conv_transpose2d(dg.ones(1, 1, 2, 2), dg.ones(1, 1, 2, 2))[0, 0]
    tensor([[1., 2., 1.],
            [2., 4., 2.],
            [1., 2., 1.]])
    """
    return _transposed("conv_transpose2d", 2, input, weight, bias, stride, padding,
                       output_padding, groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups: int = 1, dilation=1) -> Tensor:
    """3-d transposed convolution, as ``F.conv_transpose3d`` (``[N, C_in, D, H, W]``)."""
    return _transposed("conv_transpose3d", 3, input, weight, bias, stride, padding,
                       output_padding, groups, dilation)


# ----------------------------------------------------------------------------------------------
# Modules.


class _ConvNd(Module):
    """What the convolution layers share: arguments, parameters and PyTorch's initialisation.

    ``weight`` (``[out, in / groups, *k]``, transposed: ``[in, out / groups, *k]``) and
    ``bias`` start from U(-b, b): the weight by ``kaiming_uniform_(a=sqrt(5))``, which gives
    b = 1 / sqrt(fan_in), and the bias with b = 1 / sqrt(fan_in) too, fan_in being
    ``weight.shape[1] * prod(kernel_size)``.
    """

    _spatial = 2
    _transposed_layer = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 output_padding=0, *, device=None, dtype=None, generator=None) -> None:
        super().__init__()
        name, n = type(self).__name__, self._spatial
        if not isinstance(groups, numbers.Integral) or groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {list(_PADDING_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")
        if self._transposed_layer and padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {name}')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _ntuple(kernel_size, n, "kernel_size", name)
        self.stride = _ntuple(stride, n, "stride", name)
        self.dilation = _ntuple(dilation, n, "dilation", name)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 "{'valid', 'same'}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = _ntuple(padding, n, "padding", name)
        self.output_padding = _ntuple(output_padding, n, "output_padding", name)
        self.transposed = self._transposed_layer
        self.groups = groups
        self.padding_mode = padding_mode
        dtype = parameter_dtype(dtype, device, name)
        if self.transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None) -> None:
        """Draw fresh initial values (PyTorch's scheme, see the class docstring)."""
        init._default_reset(self.weight, self.bias, generator)

    def extra_repr(self) -> str:
        n = self._spatial
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,) * n:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class _Conv(_ConvNd):
    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 *, device=None, dtype=None, generator=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device=device, dtype=dtype,
                         generator=generator)

    def forward(self, input) -> Tensor:
        op = f"conv{self._spatial}d"
        if self.padding_mode == "zeros" or self.padding in ("valid", (0,) * self._spatial):
            return _convolution(op, self._spatial, input, self.weight, self.bias, self.stride,
                                self.padding, self.dilation, self.groups)
        if self.padding == "same":
            pads = _same_pads(self.kernel_size, self.dilation)
        elif self.padding == "valid":
            pads = ((0, 0),) * self._spatial
        else:
            pads = tuple((p, p) for p in self.padding)
        widths = tuple(w for pair in reversed(pads) for w in pair)  # last dim first, as F.pad
        x = _pad_function(_as_tensor(input), widths, self.padding_mode)
        return _convolution(op, self._spatial, x, self.weight, self.bias, self.stride, 0,
                            self.dilation, self.groups)


class Conv2d(_Conv):
    """2-d convolution layer (PyTorch's ``nn.Conv2d``); see ``conv2d`` for the arguments.

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size, stride, padding, dilation, groups: as ``conv2d`` (ints or pairs).
        bias: learn an additive ``[C_out]`` bias.
        padding_mode: ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``.
        dtype: the parameters' dtype (float32 by default).
        generator: deltagrad's extension: the initial values' random generator.

    >>> import deltagrad as dg
    >>> conv = dg.nn.Conv2d(3, 8, kernel_size=3, padding=1)
    >>> conv(dg.randn(2, 3, 10, 10)).shape, tuple(conv.weight.shape)
    (deltagrad.Size([2, 8, 10, 10]), (8, 3, 3, 3))
    """

    _spatial = 2


class Conv3d(_Conv):
    """3-d convolution layer (PyTorch's ``nn.Conv3d``); as ``Conv2d`` with triples."""

    _spatial = 3


class _ConvTranspose(_ConvNd):
    _transposed_layer = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", *, device=None, dtype=None,
                 generator=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, device=device, dtype=dtype,
                         generator=generator)

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        """The output padding that gives ``output_size`` (PyTorch's rule and errors)."""
        if output_size is None:
            return self.output_padding
        n = self._spatial
        output_size = [int(s) for s in output_size]
        lead = 2 if input.ndim == n + 2 else 1
        if len(output_size) == n + lead:
            output_size = output_size[lead:]
        if len(output_size) != n:
            raise ValueError(f"ConvTranspose{n}D: for {input.ndim}D input, output_size must "
                             f"have {n} or {n + lead} elements (got {len(output_size)})")
        size = input.shape[input.ndim - n:]
        smallest = [(m - 1) * s - 2 * p + d * (k - 1) + 1 for m, s, p, d, k in
                    zip(size, self.stride, self.padding, self.dilation, self.kernel_size)]
        largest = [low + s - 1 for low, s in zip(smallest, self.stride)]
        for want, low, high in zip(output_size, smallest, largest):
            if not low <= want <= high:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes "
                                 f"range from {smallest} to {largest} (for an input of "
                                 f"{list(size)})")
        return tuple(want - low for want, low in zip(output_size, smallest))

    def forward(self, input, output_size=None) -> Tensor:
        x = _as_tensor(input)
        output_padding = self._output_padding(x, output_size)
        n = self._spatial
        return _transposed(f"conv_transpose{n}d", n, x, self.weight, self.bias, self.stride,
                           self.padding, output_padding, self.groups, self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """1-d transposed convolution layer (PyTorch's ``nn.ConvTranspose1d``).

    ``weight`` is ``[in_channels, out_channels / groups, kernel_size]``; ``forward(input,
    output_size=None)``: ``output_size`` picks the output padding. See ``conv_transpose1d``.
    """

    _spatial = 1


class ConvTranspose2d(_ConvTranspose):
    """2-d transposed convolution layer (PyTorch's ``nn.ConvTranspose2d``), as
    ``ConvTranspose1d`` with pairs.

    >>> import deltagrad as dg
    >>> up = dg.nn.ConvTranspose2d(8, 4, kernel_size=3, stride=2, padding=1, output_padding=1)
    >>> up(dg.randn(2, 8, 5, 5)).shape
    deltagrad.Size([2, 4, 10, 10])
    """

    _spatial = 2


class ConvTranspose3d(_ConvTranspose):
    """3-d transposed convolution layer (PyTorch's ``nn.ConvTranspose3d``)."""

    _spatial = 3
