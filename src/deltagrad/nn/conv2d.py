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
convolution, so the two engine ops share the same three NumPy kernels with their roles swapped.
Each rule works in NumPy at first order; when the backward itself is recorded
(``create_graph=True``) the gradients are written with the other op and ``fold2d``'s unfold op,
so any order of derivative works. The NumPy kernels live in ``conv2d_kernels``.
"""

from __future__ import annotations

import numbers
import sys

import numpy as np

from .._engine import DTypeError, ShapeError, Tensor, buffers, is_grad_enabled, versions
from .._engine.api._common import tensor_input
from .._engine.ops import ARRAY, Op
from .._engine.ops.nn import Scratch
from .._engine.tensor import apply
from ..autograd.profiler import NODE_OPS
from . import _col2im_offsets, _conv_half, init
from ._conv_same import same_pads as _same_pads
from ._factory import parameter_dtype
from ._functional_args import check_int, check_optional_tensor, check_tensor
from .conv2d_kernels import (
    _columns_and_product,
    _grouped_matmul,
    _input_grad,
    _matrix,
    _rows_last_weight_grad,
    _weight_and_bias_grad,
    _weight_grad,
    channels_last_like,
    in_channels_last,
)
from .fold2d import _UNFOLD, _as_tensor, _batched, _im2col, _ntuple, _out_size, _rows
from .module import Module, Parameter

# torch.nn.functional: the layers call its functions as PyTorch's do, looked up when called
# (subclasses, function modes and programs that replace them see the calls). Read from
# sys.modules, as it imports this module (the package's __init__ loads it first).
F = sys.modules["deltagrad.nn.functional"]

__all__ = [
    "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "conv2d",
    "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


# ----------------------------------------------------------------------------------------------
# The two ops.


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
    if g._data.dtype is _conv_half.HALF:  # (PyTorch's roundings: _conv_half.weight_grad's)
        return _conv_half.weight_grad_recorded(c_g, g_g, shape)
    return (g_g @ c_g.transpose(-1, -2)).sum(0).reshape(shape)


def _bias_grad(g):
    """The bias's gradient: ``g`` summed over every dim but the channels (array or Tensor)."""
    dims = (0,) + tuple(range(2, g.ndim))
    return g.sum(axis=dims) if isinstance(g, np.ndarray) else g.sum(dim=dims)


def _conv_op(name: str, forward, vjp) -> Op:
    """An engine op for a convolution (not in the registry, as the pools' ``_node_op``: the
    parity tests against PyTorch check it), named as the ``Function`` it replaced
    (``node_names``: PyTorch's ``ConvolutionBackward0``). Its rule reads the input and the
    weight (each one's gradient needs the other), so both are checked for in-place changes,
    as PyTorch's convolution saves both. Against the Function it replaces (a ctx, saved
    tensors, a second Function for the recorded backward), with ``_geometry_key``'s cache:
    fwd + bwd on OpInfo's samples, x PyTorch's time, conv2d 1.51 -> 1.04, conv3d 1.41 ->
    0.93, conv_transpose1d 1.55 -> 1.14, conv_transpose2d 1.61 -> 1.14, conv_transpose3d
    1.99 -> 1.31 (opinfo_overhead.py --rounds 11, medians of 3 runs alternated with the
    Functions, one thread, a loaded machine; s15 CV). The same bits as the Functions."""
    op = Op(name, forward, vjp, lambda rng: [], True, True)
    versions._reads_of[op] = (False, (True, True), False)
    NODE_OPS.append(op)  # (timed by the profiler under its name)
    return op


def _conv_forward(xs, w, *bias, stride, dilation, pads, groups, grid, keep, slot,
                  channels_last=False, rows_last=True):
    # y[n, o, p] = sum over c, k of w[o, c, k] x_padded[n, g(o) C/G + c, p s + k d] + b[o];
    # ``grid`` is the output's spatial size. With ``keep`` (the weight wants a gradient) the
    # columns go to ``slot`` for the rule.
    #
    # With a bias (groups 1) the columns get a row of ones and the weights the bias as a
    # column: the product adds the bias, and in the backward the same row's products are the
    # bias's gradient (two passes over the output saved). W6 CNN step: 0.97 of the time; its
    # conv1 (1 -> 16, 28x28, batch 64) forward + weight/bias backward 1.18 -> 0.81 ms (one
    # thread, alternated, thread time).
    if xs.dtype is _conv_half.HALF:  # (float16: float32 products rounded once, as PyTorch)
        slot.value = None
        return _conv_forward(*_conv_half.wide(xs, w, *bias), stride=stride, dilation=dilation,
                             pads=pads, groups=groups, grid=grid, keep=False, slot=slot,
                             channels_last=channels_last, rows_last=False).astype(_conv_half.HALF)
    if len(grid) == 3 and _col2im_offsets.conv_takes_slabs(xs, w, grid):  # (large: slabs)
        slot.value = None
        y = _col2im_offsets.conv_by_slabs(xs, w, stride, dilation, pads, groups, grid)
        if bias:
            y += bias[0][(slice(None),) + (None,) * len(grid)]
        return y
    augmented = bool(bias) and groups == 1
    matrix = (np.concatenate([_matrix(w), bias[0][:, None]], axis=1) if augmented
              else _matrix(w))
    # (rows-last columns where they fit whether or not the weight wants a gradient: the same
    # sums, so the same bits, under no_grad as under grad, as PyTorch's; s27 SP39)
    cols, y, rows_last = _columns_and_product(xs, matrix, w.shape[2:], stride, dilation, pads,
                                              grid, augmented, groups, rows_last)
    if bias and not augmented:
        y += bias[0][:, None]
    if keep and cols.base is None:
        # The weight's gradient needs these columns: kept, and handed back to the recycled
        # buffers when the node is freed (after backward), so the next step's forward reuses
        # the memory. W6 CNN step: 0.90 of the time; its conv1 forward + backward 1.25 ->
        # 0.84 ms, conv2 (16 -> 32, 14x14) 0.88 of its time (one thread, alternated, thread
        # time).
        slot.value = (xs, _Held(cols), augmented, rows_last)
    else:
        slot.value = None
        buffers.give(cols)
    shaped = y.reshape(y.shape[:2] + tuple(grid))
    if channels_last:  # PyTorch's layout (values unchanged); the work array recycled
        shaped = in_channels_last(shaped, True)
        buffers.give(y)
    return shaped


def _conv_vjp(F, g, out, x, weight, *bias, stride, dilation, pads, groups, grid, keep, slot,
              channels_last=False, needs):
    geometry = dict(stride=stride, dilation=dilation, pads=pads, groups=groups)
    grads = [None] * len(needs)
    if F is not ARRAY:  # a recorded backward (create_graph): differentiable ops only
        if len(needs) > 2 and needs[2]:
            grads[2] = _bias_grad(g)
        if needs[0]:
            grads[0] = apply(_CONV_TRANSPOSE, g, weight, size=tuple(x.shape[2:]), **geometry)
        if needs[1]:
            cols = apply(_UNFOLD, x, kernel=tuple(weight.shape[2:]), stride=stride,
                         dilation=dilation, pads=pads, grid=tuple(g.shape[2:]))
            grads[1] = _weight_grad_recorded(cols, g, groups, tuple(weight.shape))
        return tuple(grads)
    if x.dtype is _conv_half.HALF:  # (float16: PyTorch's roundings, _conv_half)
        return _conv_half.conv_grads(g, x, weight, geometry, needs)
    if needs[0]:
        grads[0] = _input_grad(g, weight, tuple(x.shape[2:]), **geometry)
    saved = slot.value
    held = saved[1] if saved is not None and saved[0] is x else None
    cols = held.array if held is not None else None
    if needs[1] and cols is not None and saved[3]:  # (conv2d_kernels._columns_rows_last's)
        grads[1], bias_grad = _rows_last_weight_grad(cols, _rows(g), tuple(weight.shape),
                                                     saved[2])
        if len(needs) > 2 and needs[2]:
            grads[2] = bias_grad if saved[2] else _bias_grad(g)
        return tuple(grads)
    if needs[1] and cols is not None and saved[2]:  # (columns with a row of ones)
        grads[1], bias_grad = _weight_and_bias_grad(cols, _rows(g), tuple(weight.shape))
        if needs[2]:
            grads[2] = bias_grad
        return tuple(grads)
    if len(needs) > 2 and needs[2]:
        grads[2] = _bias_grad(g)
    if needs[1] and cols is not None:
        grads[1] = _weight_grad(cols, _rows(g), groups, tuple(weight.shape))
    elif needs[1] and _col2im_offsets.conv_takes_slabs(x, weight, tuple(g.shape[2:])):
        grads[1] = _col2im_offsets.conv_weight_grad_by_slabs(g, x, weight, stride, dilation,
                                                             pads, groups)
    elif needs[1]:  # (not kept, or run again on other arrays: check_graph)
        cols = _im2col(x, tuple(weight.shape[2:]), stride, dilation, pads, tuple(g.shape[2:]))
        grads[1] = _weight_grad(cols, _rows(g), groups, tuple(weight.shape))
        buffers.give(cols)
    return tuple(grads)


def _conv_transpose_forward(xs, w, *bias, stride, dilation, pads, groups, size,
                            channels_last=False):
    # The adjoint of the convolution in its input: y = conv_input_grad(x, w) + b, with ``w``
    # ``[C_in, C_out / G, *K]`` read as a convolution's weight from ``C_out`` to ``C_in``
    # channels and ``size`` the output's spatial size.
    y = (_conv_half.input_grad if xs.dtype is _conv_half.HALF else _input_grad)(
        xs, w, size, stride, dilation, pads, groups)
    if not channels_last:  # (padding leaves a strided crop: PyTorch's output is row-major,
        y = np.ascontiguousarray(y)  # and normflows views it)
    if bias:
        y += bias[0][(slice(None),) + (None,) * len(size)]
    return in_channels_last(y, channels_last)


def _conv_transpose_vjp(F, g, out, x, weight, *bias, stride, dilation, pads, groups, size,
                        channels_last=False, needs):
    geometry = dict(stride=stride, dilation=dilation, pads=pads, groups=groups)
    grid = tuple(x.shape[2:])
    grads = [None] * len(needs)
    if len(needs) > 2 and needs[2]:
        grads[2] = (_conv_half.bias_grad if g.dtype is _conv_half.HALF and F is ARRAY
                    else _bias_grad)(g)
    if F is not ARRAY:  # a recorded backward: the convolution is this op's adjoint
        if needs[0]:
            grads[0] = apply(_CONV, g, weight, grid=grid, keep=weight.requires_grad,
                             slot=Scratch(), **geometry)
        if needs[1]:
            cols = apply(_UNFOLD, g, kernel=tuple(weight.shape[2:]), stride=stride,
                         dilation=dilation, pads=pads, grid=grid)
            grads[1] = _weight_grad_recorded(cols, x, groups, tuple(weight.shape))
        return tuple(grads)
    # (large: a slab of columns at a time; ConvTranspose3d's documentation example at batch
    # 20, fwd + bwd 8.9-10.4 -> 1.7-1.9 s CPU, PyTorch 2.6-2.8; one thread; s28 SP43)
    if _col2im_offsets.takes_slabs(g, x, weight):
        grads[:2] = _col2im_offsets.transpose_grads(g, x, weight, stride, dilation, pads,
                                                    groups, needs[0], needs[1])
        return tuple(grads)
    cols = _im2col(g, weight.shape[2:], stride, dilation, pads, grid)
    if needs[0]:
        dx = _grouped_matmul(_matrix(weight), cols, groups)
        grads[0] = dx.reshape(dx.shape[:2] + grid)
    if needs[1]:
        grads[1] = (_conv_half.weight_grad if x.dtype is _conv_half.HALF else _weight_grad)(
            cols, _rows(x), groups, tuple(weight.shape))
    buffers.give(cols)
    return tuple(grads)


_CONV = _conv_op("_ConvFunction", _conv_forward, _conv_vjp)
_CONV_TRANSPOSE = _conv_op("_ConvTransposeFunction", _conv_transpose_forward,
                           _conv_transpose_vjp)


# ----------------------------------------------------------------------------------------------
# Argument checks shared by the functionals.


def _check_groups(op: str, groups) -> int:
    groups = check_int(groups, "groups", op, symbolic=True)
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
        from .._engine.forward_errors import scalar_word  # (the rare path)

        raise DTypeError(f"expected scalar type {scalar_word(x.dtype)} but found "
                         f"{scalar_word(w.dtype if w.dtype != x.dtype else extra[0].dtype)} "
                         f"({op}: Input type ({x.dtype}), weight type ({w.dtype}) and bias type "
                         f"should be the same)")
    return extra


def _conv_pads(op: str, padding, spatial: int, kernel: tuple, stride: tuple,
               dilation: tuple) -> tuple:
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * spatial
        if padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            return _same_pads(kernel, dilation, warn=True)
        raise RuntimeError(f"Invalid padding string: {padding!r} (expected 'valid' or 'same')")
    widths = _ntuple(padding, spatial, "padding", op)
    if min(widths) < 0:
        raise RuntimeError(f"{op}: negative padding is not supported (got padding={widths})")
    return tuple((p, p) for p in widths)


def _keeps_channels_last(batched: bool, spatial: int, x: Tensor, w: Tensor) -> bool:
    """PyTorch's rule for a 2-d convolution's output layout: channels-last when the input or
    the weight is (``channels_last_like``), for a batched input. (Its 3-d convolutions keep
    channels_last_3d in float32 only, by backend: not followed here, the output is row-major.)
    """
    return batched and spatial == 2 and (channels_last_like(x._data)
                                         or channels_last_like(w._data))


def _parse(op: str, spatial: int, weight, bias, stride, padding, dilation, groups,
           output_padding=0) -> None:
    """PyTorch's parser: the argument types checked before the input (TypeErrors)."""
    check_tensor(weight, "weight", op)
    check_optional_tensor(bias, "bias", op)
    for value, name in ((stride, "stride"), (dilation, "dilation"),
                        (output_padding, "output_padding"), (padding, "padding")):
        if not (name == "padding" and isinstance(value, str)):
            _ntuple(value, spatial, name, op)
    check_int(groups, "groups", op, symbolic=True)


_CHECKED: dict = {}  # _geometry_key -> the checked geometry of a call that passed the checks


def _geometry_key(op: str, input, weight, bias, arguments: tuple):
    """What decides a convolution's checks and geometry: the op, the input's and weight's
    shapes, strides (the output layout) and dtypes, the bias's shape and dtype, and the
    arguments, or None where a call must take the checks (not exact Tensors, or an argument
    that is not an int, a string or a tuple of ints: a bool or a list, whose errors PyTorch's
    parser raises). The parser and the checks cost ~25 us a call on OpInfo's small samples:
    conv2d's [1, 3, 4, 4] forward + backward ~140 -> ~115 us (one thread, alternated
    processes, a loaded machine; s15 CV)."""
    if type(input) is not Tensor or type(weight) is not Tensor or not (
            bias is None or type(bias) is Tensor):
        return None
    for value in arguments:
        kind = type(value)
        if not (kind is int or kind is str
                or (kind is tuple and all(type(item) is int for item in value))):
            return None
    xs, w = input._data, weight._data
    if type(xs) is not np.ndarray or type(w) is not np.ndarray:  # (meta arrays: checked)
        return None
    return (op, xs.shape, xs.strides, xs.dtype, w.shape, w.strides, w.dtype,
            None if bias is None else (bias._data.shape, bias._data.dtype), arguments)


def _remember(key, geometry: tuple) -> None:
    if key is not None:
        if len(_CHECKED) >= 1024:  # (programs with ever-new shapes)
            _CHECKED.clear()
        _CHECKED[key] = geometry


def _convolution(op: str, spatial: int, input, weight, bias, stride, padding, dilation,
                 groups, channels_last: bool = False) -> Tensor:
    key = _geometry_key(op, input, weight, bias, (stride, padding, dilation, groups))
    found = _CHECKED.get(key) if key is not None else None
    if found is not None:  # the same call passed the checks before: only the op
        batched, stride, dilation, pads, groups, out, layout = found
        x = input if batched else input.unsqueeze(0)
        y = apply(_CONV, x, weight, *(() if bias is None else (bias,)), stride=stride,
                  dilation=dilation, pads=pads, groups=groups, grid=out,
                  keep=weight._rg and is_grad_enabled(), slot=Scratch(),
                  channels_last=channels_last or layout)
        return y if batched else y.squeeze(0)
    input = tensor_input(input, 2)  # (a list is PyTorch's TypeError, not a tensor made of it)
    _parse(op, spatial, weight, bias, stride, padding, dilation, groups)
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
    layout = _keeps_channels_last(batched, spatial, x, w)
    _remember(key, (batched, stride, dilation, pads, groups, out, layout))
    y = apply(_CONV, x, w, *extra, stride=stride, dilation=dilation, pads=pads, groups=groups,
              grid=out, keep=w._rg and is_grad_enabled(), slot=Scratch(),
              channels_last=channels_last or layout)
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
    key = _geometry_key(op, input, weight, bias,
                        (stride, padding, output_padding, groups, dilation))
    found = _CHECKED.get(key) if key is not None else None
    if found is not None:  # (as _convolution's)
        batched, stride, dilation, pads, groups, size, layout = found
        x = input if batched else input.unsqueeze(0)
        y = apply(_CONV_TRANSPOSE, x, weight, *(() if bias is None else (bias,)),
                  stride=stride, dilation=dilation, pads=pads, groups=groups, size=size,
                  channels_last=layout)
        return y if batched else y.squeeze(0)
    input = tensor_input(input, 2)  # (a list is PyTorch's TypeError, not a tensor made of it)
    _parse(op, spatial, weight, bias, stride, padding, dilation, groups, output_padding)
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
    pads = tuple((p, p) for p in padding)
    layout = _keeps_channels_last(batched, spatial, x, w)
    _remember(key, (batched, stride, dilation, pads, groups, size, layout))
    y = apply(_CONV_TRANSPOSE, x, w, *extra, stride=stride, dilation=dilation, pads=pads,
              groups=groups, size=size, channels_last=layout)
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
        # (no argument without a generator: subclasses override reset_parameters(self))
        if generator is None:
            self.reset_parameters()
        else:
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
                 device=None, dtype=None, *, generator=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device=device, dtype=dtype,
                         generator=generator)

    def _conv_forward(self, input, weight, bias, function=None) -> Tensor:
        """PyTorch's ``_conv_forward(input, weight, bias)`` (libraries call it with a weight of
        their own): ``F.conv2d`` / ``F.conv3d``, after ``F.pad`` for a padding mode other
        than zeros."""
        function = function or getattr(F, f"conv{self._spatial}d")
        if self.padding_mode == "zeros" or self.padding in ("valid", (0,) * self._spatial):
            return function(input, weight, bias, self.stride, self.padding, self.dilation,
                            self.groups)
        if self.padding == "same":
            pads = _same_pads(self.kernel_size, self.dilation)
        elif self.padding == "valid":
            pads = ((0, 0),) * self._spatial
        else:
            pads = tuple((p, p) for p in self.padding)
        widths = tuple(w for pair in reversed(pads) for w in pair)  # last dim first, as F.pad
        x = tensor_input(input)
        # (PyTorch's padded copy keeps a channels-last input's layout, and so its output:
        # that one case calls the convolution itself, told to keep it)
        keep = x.ndim == 4 and self._spatial == 2 and channels_last_like(x._data)
        x = F.pad(x, widths, self.padding_mode)
        if keep:
            return _convolution(f"conv{self._spatial}d", self._spatial, x, weight, bias,
                                self.stride, 0, self.dilation, self.groups, keep)
        return function(x, weight, bias, self.stride, 0, self.dilation, self.groups)


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

    def forward(self, input) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias, F.conv2d)


class Conv3d(_Conv):
    """3-d convolution layer (PyTorch's ``nn.Conv3d``); as ``Conv2d`` with triples."""

    _spatial = 3

    def forward(self, input) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias, F.conv3d)


class _ConvTranspose(_ConvNd):
    _transposed_layer = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None, *,
                 generator=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, device=device, dtype=dtype,
                         generator=generator)

    def _output_padding(self, input: Tensor, output_size, stride=None, padding=None,
                        kernel_size=None, num_spatial_dims=None, dilation=None) -> tuple:
        """The output padding that gives ``output_size`` (PyTorch's rule and errors). The
        geometry is the layer's unless given in PyTorch's signature, which libraries call
        unbound with ``self=None`` (unfoldNd's UnfoldTransposeNd); given so, a missing
        ``dilation`` is 1, as in PyTorch."""
        if output_size is None:
            return self.output_padding
        if stride is None:
            n, stride, padding = self._spatial, self.stride, self.padding
            kernel_size, dilation = self.kernel_size, self.dilation
        else:
            n = int(num_spatial_dims)
            dilation = (1,) * n if dilation is None else dilation
        output_size = [int(s) for s in output_size]
        lead = 2 if input.ndim == n + 2 else 1
        if len(output_size) == n + lead:
            output_size = output_size[lead:]
        if len(output_size) != n:
            raise ValueError(f"ConvTranspose{n}D: for {input.ndim}D input, output_size must "
                             f"have {n} or {n + lead} elements (got {len(output_size)})")
        size = input.shape[input.ndim - n:]
        smallest = [(m - 1) * s - 2 * p + d * (k - 1) + 1 for m, s, p, d, k in
                    zip(size, stride, padding, dilation, kernel_size)]
        largest = [low + s - 1 for low, s in zip(smallest, stride)]
        for want, low, high in zip(output_size, smallest, largest):
            if not low <= want <= high:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes "
                                 f"range from {smallest} to {largest} (for an input of "
                                 f"{list(size)})")
        return tuple(want - low for want, low in zip(output_size, smallest))

    def forward(self, input, output_size=None) -> Tensor:
        output_padding = self._output_padding(tensor_input(input), output_size)
        function = (F.conv_transpose1d, F.conv_transpose2d,
                    F.conv_transpose3d)[self._spatial - 1]
        return function(input, self.weight, self.bias, self.stride, self.padding,
                        output_padding, self.groups, self.dilation)


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
