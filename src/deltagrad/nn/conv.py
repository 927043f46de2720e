"""1-d convolution and pooling (Conv1d, MaxPool1d, AvgPool1d, adaptive pools) and functionals.

``conv1d`` is one fused node: the forward reads the input's sliding windows through a strided
view (no copy until the grouped matrix product) and the backward scatters the columns'
gradient back window offset by window offset. The max and adaptive pools gather each
window's entries with an index array and reduce them, so their gradients come from the
engine's gather; avg_pool1d is avg_pool2d's window-mean node (``pooling2d.py``). 2-d and 3-d
convolution live in ``conv2d.py``, their pools in ``pooling2d.py``.
"""

from __future__ import annotations

import numbers
import sys

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._engine import DTypeError, ShapeError, Tensor, versions
from .._engine.api._common import tensor_input
from .._engine.api.complex import scalar_name
from .._engine.api.creation import from_numpy, zeros
from .._engine.api.linalg import matmul as _matmul  # (not `@`: see pooling2d.py's import)
from .._engine.api.shape import cat
from .._engine.ops import ARRAY, Op
from .._engine.ops.nn import Scratch
from .._engine.tensor import apply
from ..autograd.profiler import NODE_OPS
from . import _conv_half, init
from ._conv_same import same_pads
from ._factory import parameter_dtype
from ._functional_args import check_int
from ._pool_kernels import check_nonempty, refuse_empty_grad
from .conv2d import _CHECKED, _CONV_TRANSPOSE, _geometry_key, _remember, _weight_grad_recorded
from .fold2d import _UNFOLD
from .module import Module, Parameter
from .pooling2d import _CALLS as _POOL_CALLS
from .pooling2d import _WINDOW_MEAN, _call_key, _divisor, linked
from .pooling2d import _remember as _remember_pool

# torch.nn.functional: the layers call its functions as PyTorch's do, looked up when called
# (subclasses, function modes and programs that replace them see the calls). Read from
# sys.modules, as it imports this module (the package's __init__ loads it first).
F = sys.modules["deltagrad.nn.functional"]

__all__ = [
    "AdaptiveAvgPool1d",
    "AdaptiveMaxPool1d",
    "AvgPool1d",
    "Conv1d",
    "MaxPool1d",
    "adaptive_avg_pool1d",
    "adaptive_max_pool1d",
    "avg_pool1d",
    "conv1d",
    "max_pool1d",
]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _single(value, name: str) -> int:
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{name} must be an int or a 1-tuple for a 1-d operation, got "
                             f"{value!r}")
        value = value[0]
    if not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    return int(value)


_INTEGERS = ("bool", "uint8", "int8", "int16", "int32", "int64")
_POSITIONS = {"kernel_size": 2, "output_size": 2, "stride": 3, "padding": 4, "dilation": 5}


def _pool_int(value, name: str, function: str) -> int:
    """A pooling size argument as PyTorch's int-list parser takes it: an int, a 1-tuple of one,
    or a one-element integer tensor; bool, float and other tensors raise its TypeError."""
    where = f"{function}(): argument '{name}' (position {_POSITIONS[name]})"
    if isinstance(value, Tensor):
        if value.numel() != 1 or value.dtype.is_floating_point or value.dtype.is_complex:
            raise TypeError(f"{where} must be tuple of ints, not Tensor")
        return int(value.item())
    if isinstance(value, bool):
        raise TypeError(f"{where} must be tuple of ints, not bool")
    if isinstance(value, (tuple, list)):
        if any(isinstance(v, bool) for v in value):
            raise TypeError(f"{where} must be tuple of ints, but found element of type bool")
        if len(value) != 1:
            raise RuntimeError(f"{function}() {name} must be an int, list of ints or tuple of "
                               f"ints of size 1 but got size {len(value)}")
    return _single(value, name)


def _pool_stride(stride, kernel: int, function: str) -> int:
    """``None`` or an empty sequence means the kernel size (PyTorch's default)."""
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        return kernel
    return _pool_int(stride, "stride", function)


def _check_pool_dtype(x: Tensor, kernel: str, allowed: tuple = ()) -> None:
    """PyTorch's pooling kernels take floating input (and ``allowed`` integer dtypes)."""
    if not x.dtype.is_floating_point and x._data.dtype.name not in allowed:
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{scalar_name(x._data.dtype)}'")


def _as_batched(name: str, input) -> tuple[Tensor, bool]:
    x = tensor_input(input, 2)  # (a list is PyTorch's TypeError, not a tensor made of it)
    if x.ndim not in (2, 3):  # (PyTorch's words first, as test suites match them)
        said = {"conv1d": "Expected 2D (unbatched) or 3D (batched) input to conv1d, but got "
                          f"input of size: {list(x.shape)}",
                "max_pool1d": "max_pool1d: Expected 2D or 3D (batch mode) tensor with optional "
                              f"0 dim batch size for input, but got:{list(x.shape)}",
                "avg_pool1d": f"Expected 2 to 3 dimensions, but got {x.ndim}-dimensional tensor "
                              "for argument #1 'self' (while checking arguments for avg_pool1d)"}
        raise ShapeError(f"{said[name]} ({name}: input [N, C, L])" if name in said else
                         f"{name}: expected a 2-D (unbatched) or 3-D (batched) input [N, C, L], "
                         f"got shape {tuple(x.shape)}")
    return (x, True) if x.ndim == 3 else (x.unsqueeze(0), False)


def _pooled_batched(name: str, input) -> tuple[Tensor, bool]:
    """``_as_batched`` for the 1-d pools, which (as PyTorch) refuse a zero channel or length
    size (only the batch may be empty)."""
    x, batched = _as_batched(name, input)
    if 0 in x.shape[1:]:
        raise ShapeError(f"{name}: Expected 2D or 3D (batch mode) tensor with optional 0 dim "
                         f"batch size for input, got shape {tuple(input.shape)}")
    return x, batched


# ----------------------------------------------------------------------------------------------
# conv1d.


def _conv1d_forward(xs, w, *bias, stride: int, left: int, right: int, dilation: int,
                    groups: int, slot):
    # y[n, o, l] = sum over c, k of w[o, c, k] x[n, g(o) c, l s + k d - left] (+ b[o]). The
    # columns and grouped weights go to ``slot`` for the rule.
    if xs.dtype is _conv_half.HALF:  # (float16: float32 products rounded once, as PyTorch)
        out = _conv1d_forward(*_conv_half.wide(xs, w, *bias), stride=stride, left=left,
                              right=right, dilation=dilation, groups=groups, slot=slot)
        slot.value = None
        return out.astype(_conv_half.HALF)
    batch, channels, length = xs.shape
    out_channels, group_channels, kernel = w.shape
    x_in = xs
    if left or right:  # (np.pad costs ~40 us on a small input: its Python)
        padded = np.zeros((batch, channels, length + left + right), xs.dtype)
        padded[:, :, left:left + length] = xs
        xs = padded
    padded = xs.shape[2]
    out_length = (padded - dilation * (kernel - 1) - 1) // stride + 1
    s_n, s_c, s_l = xs.strides
    shape = (batch, groups, group_channels, kernel, out_length)
    steps = (s_n, group_channels * s_c, s_c, dilation * s_l, stride * s_l)
    if xs.flags.c_contiguous and xs.size:  # (as_strided's Python wrapper: see fold2d._windows)
        windows = np.ndarray(shape, xs.dtype, xs, 0, steps)
    else:
        windows = as_strided(xs, shape, steps, writeable=False)
    # Columns [G, Cg * K, N * L_out], then G products with the weights [G, O / G, Cg * K].
    # With positions innermost the copy reads the input row by row: 1.5 ms instead of 1.9 ms
    # for the [N * L_out, Cg * K] layout at N=32, C=64, L=128, K=5.
    cols = windows.transpose(1, 2, 3, 0, 4).reshape(
        groups, group_channels * kernel, batch * out_length)
    w_g = w.reshape(groups, out_channels // groups, group_channels * kernel)
    out = np.matmul(w_g, cols).reshape(groups, out_channels // groups, batch, out_length)
    # Contiguous [N, O, L] as PyTorch's (a view in [O, N, L] order otherwise): dropout's masks
    # are drawn in memory order, as PyTorch draws them.
    out = np.ascontiguousarray(out.transpose(2, 0, 1, 3)).reshape(
        batch, out_channels, out_length)
    if bias:
        out += bias[0][:, None]
    slot.value = (x_in, cols, w_g)
    return out


def _conv1d_vjp(F, g, out, x, weight, *bias, stride: int, left: int, right: int,
                dilation: int, groups: int, slot, needs):
    if F is not ARRAY:  # create_graph: a backward that records (double backward)
        return _conv1d_grads_recorded(g, x, weight, needs, stride, left, right, dilation,
                                      groups)
    if x.dtype is _conv_half.HALF:  # (float16: PyTorch's roundings, _conv_half)
        return _conv_half.conv_grads(g, x, weight, dict(
            stride=(stride,), dilation=(dilation,), pads=((left, right),), groups=groups), needs)
    batch, channels, length = x.shape
    out_channels, _, kernel = weight.shape
    out_length = g.shape[2]
    padded = length + left + right
    saved = slot.value
    if saved is None or saved[0] is not x:  # (run again on other arrays: check_graph)
        _conv1d_forward(x, weight, stride=stride, left=left, right=right, dilation=dilation,
                        groups=groups, slot=slot)
        saved = slot.value
    _, cols, w_g = saved
    g_g = g.reshape(batch, groups, out_channels // groups, out_length).transpose(1, 2, 0, 3)
    g_g = g_g.reshape(groups, out_channels // groups, batch * out_length)
    grads = [None, None] + ([g.sum(axis=(0, 2))] if len(needs) > 2 else [])
    if needs[1]:
        d_w = np.matmul(g_g, cols.transpose(0, 2, 1))  # [G, O / G, Cg * K]
        grads[1] = d_w.reshape(out_channels, channels // groups, kernel)
    if needs[0]:
        d_cols = np.matmul(w_g.transpose(0, 2, 1), g_g).reshape(
            groups, channels // groups, kernel, batch, out_length)
        d_x = np.zeros((batch, groups, channels // groups, padded), dtype=g.dtype)
        span = stride * (out_length - 1) + 1
        for k in range(kernel):  # scatter each window offset's columns back
            d_x[..., k * dilation:k * dilation + span:stride] += \
                d_cols[:, :, k].transpose(2, 0, 1, 3)
        grads[0] = d_x.reshape(batch, channels, padded)[:, :, left:left + length]
    return tuple(grads)


def _conv1d_grads_recorded(g: Tensor, x: Tensor, weight: Tensor, needs: tuple, stride: int,
                           left: int, right: int, dilation: int, groups: int) -> tuple:
    """The conv1d op's gradients written with recorded ops (the N-d convolution's ops at one
    spatial dim), so that they differentiate again: the NumPy backward made them constants,
    and a gradient penalty through a Conv1d lost its weight's term."""
    geometry = dict(stride=(stride,), dilation=(dilation,), pads=((left, right),))
    grads = [None] * len(needs)
    if needs[0]:
        grads[0] = apply(_CONV_TRANSPOSE, g, weight, size=(x.shape[2],), groups=groups,
                         **geometry)
    if needs[1]:
        cols = apply(_UNFOLD, x, kernel=(weight.shape[2],), grid=(g.shape[2],), **geometry)
        grads[1] = _weight_grad_recorded(cols, g, groups, tuple(weight.shape))
    if len(needs) > 2 and needs[2]:
        grads[2] = g.sum(dim=(0, 2))
    return tuple(grads)


# Not in the registry (as the pools' ops: the parity tests against PyTorch check it), named as
# the Function it replaced (node_names: ConvolutionBackward0); its rule reads the input and
# the weight (see conv2d._conv_op). Against the Function, with the checked-geometry cache and
# the padding without np.pad: fwd + bwd on OpInfo's samples 1.40 -> 0.79 x PyTorch's time
# (opinfo_overhead.py, as conv2d._conv_op's; s15 CV). The same bits as the Function.
_CONV1D = Op("_Conv1dFunction", _conv1d_forward, _conv1d_vjp, lambda rng: [], True, True)
versions._reads_of[_CONV1D] = (False, (True, True), False)
NODE_OPS.append(_CONV1D)  # (timed by the profiler under its name)


def _pad_index(length: int, left: int, right: int, mode: str) -> np.ndarray:
    """Source positions of a padded axis for the non-zero padding modes."""
    positions = np.arange(-left, length + right)
    if mode == "circular":
        if left > length or right > length:
            raise ValueError(f"circular padding of ({left}, {right}) needs an input of at least "
                             f"that length, got {length}")
        return positions % length
    if mode == "replicate":
        return np.clip(positions, 0, length - 1)
    if left >= length or right >= length:
        raise ValueError(f"reflect padding of ({left}, {right}) must be smaller than the input "
                         f"length {length}")
    period = 2 * (length - 1)
    folded = np.abs(positions) % period if period else np.zeros_like(positions)
    return np.where(folded >= length, period - folded, folded)


def _same_padding(kernel: int, dilation: int) -> tuple[int, int]:
    return same_pads((kernel,), (dilation,), warn=True)[0]  # (F.conv1d's path: it warns)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1,
           *, padding_mode: str = "zeros"):
    """1-d convolution (cross-correlation), as ``torch.nn.functional.conv1d``.

    Args:
        input: ``[N, C_in, L]`` or unbatched ``[C_in, L]``.
        weight: ``[C_out, C_in / groups, K]``.
        bias: ``[C_out]`` or None.
        stride: step between windows.
        padding: zeros added at both ends (an int), ``"valid"`` (none) or ``"same"`` (output
            as long as the input; stride 1 only; an odd total pads one more on the right).
        dilation: spacing between kernel taps.
        groups: split channels into this many independent groups.
        padding_mode: ``"zeros"``, or ``"reflect"``/``"replicate"``/``"circular"`` (used by
            ``Conv1d``; deltagrad's extension of the functional).

    Returns:
        ``[N, C_out, L_out]`` with ``L_out = (L + 2 padding - dilation (K - 1) - 1) // stride
        + 1``.

    >>> import deltagrad as dg
    >>> conv1d(dg.tensor([[[1.0, 2.0, 3.0, 4.0]]]), dg.tensor([[[1.0, -1.0]]]))
    tensor([[[-1., -1., -1.]]])
    """
    key = None
    if padding_mode == "zeros":
        key = _geometry_key("conv1d", input, weight, bias, (stride, padding, dilation, groups))
        found = _CHECKED.get(key) if key is not None else None
        if found is not None:  # the same call passed the checks before (see _geometry_key)
            batched, geometry = found
            x = input if batched else input.unsqueeze(0)
            out = apply(_CONV1D, x, weight, *(() if bias is None else (bias,)), slot=Scratch(),
                        **geometry)
            return out if batched else out.squeeze(0)
    # PyTorch's parser first: input, weight and bias must be tensors (bias may be None).
    for argument, value in (("input", input), ("weight", weight), ("bias", bias)):
        if not isinstance(value, Tensor) and not (argument == "bias" and value is None):
            raise TypeError(f"conv1d(): argument '{argument}' must be Tensor, not "
                            f"{type(value).__name__}")
    x, batched = _as_batched("conv1d", input)
    w = weight
    stride, dilation = _single(stride, "stride"), _single(dilation, "dilation")
    groups = check_int(groups, "groups", "conv1d", symbolic=True)  # (a SymInt in PyTorch)
    if w.ndim != 3:
        raise ShapeError(f"conv1d: weight must be 3-D [C_out, C_in / groups, K], got shape "
                         f"{tuple(w.shape)}")
    if stride <= 0 or dilation <= 0 or groups <= 0:
        raise ShapeError(f"conv1d: stride ({stride}), dilation ({dilation}) and groups "
                         f"({groups}) must be positive")
    out_channels, group_channels, kernel = w.shape
    if x.shape[1] != group_channels * groups or out_channels % groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(w.shape)}, expected "
                           f"input{list(x.shape)} to have {group_channels * groups} channels, "
                           f"but got {x.shape[1]} channels instead")
    if isinstance(padding, str):
        if padding == "valid":
            left = right = 0
        elif padding == "same":
            if stride != 1:  # (PyTorch's F.conv1d: RuntimeError; its module: ValueError)
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            left, right = _same_padding(kernel, dilation)
        else:
            raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                             "{'valid', 'same'}")
    else:
        left = right = _single(padding, "padding")
        if left < 0:
            raise ValueError(f"conv1d: negative padding {left} is not supported")
    if padding_mode != "zeros" and (left or right):
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {list(_PADDING_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")
        x = x[..., _pad_index(x.shape[2], left, right, padding_mode)]
        left = right = 0
    if x.shape[2] + left + right < dilation * (kernel - 1) + 1:
        raise RuntimeError(f"Calculated padded input size per channel: "
                           f"({x.shape[2] + left + right}). Kernel size: "
                           f"({dilation * (kernel - 1) + 1}). Kernel size can't be greater than "
                           "actual input size")
    if w.dtype != x.dtype or (bias is not None and bias.dtype != x.dtype):
        bias_type = "none" if bias is None else bias.dtype
        raise DTypeError(f"conv1d: Input type ({x.dtype}), weight type ({w.dtype}) and bias "
                         f"type ({bias_type}) should be the same floating dtype")
    extra = [] if bias is None else [bias]
    geometry = dict(stride=stride, left=left, right=right, dilation=dilation, groups=groups)
    if key is not None:
        _remember(key, (batched, geometry))
    out = apply(_CONV1D, x, w, *extra, slot=Scratch(), **geometry)
    return out if batched else out.squeeze(0)


# ----------------------------------------------------------------------------------------------
# Pooling: windows as index arrays.


def _pool_geometry(name: str, length: int, kernel: int, stride: int, padding: int,
                   dilation: int, ceil_mode: bool) -> tuple[int, int]:
    if kernel <= 0 or stride <= 0 or dilation <= 0:
        raise ShapeError(f"{name}: kernel_size ({kernel}), stride ({stride}) and dilation "
                         f"({dilation}) must be positive")
    if padding < 0 or padding > kernel // 2:
        raise RuntimeError(f"{name}() padding should be at most half of kernel size, but got "
                           f"padding={padding} and kernel_size={kernel}")
    span = length + 2 * padding - dilation * (kernel - 1) - 1
    if span < 0:
        raise RuntimeError(f"{name}: the input of length {length} (padding {padding}) is "
                           f"shorter than the kernel ({dilation * (kernel - 1) + 1})")
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= length + padding:
        out -= 1  # the last window must start inside the input or the left padding
    return out, stride


def _gather_windows(x: Tensor, positions: np.ndarray, valid: np.ndarray) -> Tensor:
    """``[N, C, L_out, K]``: x at each window position, 0 where a position is invalid."""
    length = x.shape[2]
    index = np.where(valid, positions, length)
    extended = cat([x, zeros(x.shape[0], x.shape[1], 1, dtype=x.dtype)], 2)
    return extended[..., index]


def _max_over_windows(x: Tensor, positions: np.ndarray, valid: np.ndarray):
    data = x._data if x._data.dtype.kind != "V" else x._data.astype(np.float32)  # (bf16)
    values = data[..., np.where(valid, positions, 0)]
    values = np.where(valid, values, -np.inf)
    # NOTE: the gradient goes to the first maximum of each window (argmax; a nan wins).
    choice = np.argmax(values, axis=-1)
    indices = np.take_along_axis(np.broadcast_to(positions, values.shape), choice[..., None],
                                 axis=-1)[..., 0].astype(np.int64)
    return linked(x.gather(2, indices), x), indices


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """The maximum of each window, as ``torch.nn.functional.max_pool1d``.

    Args:
        input: ``[N, C, L]`` or ``[C, L]``.
        kernel_size: window length.
        stride: step between windows (default: kernel_size).
        padding: -inf padding at both ends (at most half the kernel).
        dilation: spacing between window entries.
        ceil_mode: round the output length up (a last, partial window).
        return_indices: also return the int64 position of each maximum.

    Returns:
        ``[N, C, L_out]`` (and the indices).
    """
    # With indices PyTorch runs max_pool1d_with_indices (its max_pool2d kernel, integers
    # included); without, its float-only max_pool1d_impl.
    function = "max_pool1d_with_indices" if return_indices else "max_pool1d"
    kernel = _pool_int(kernel_size, "kernel_size", function)
    stride = _pool_stride(stride, kernel, function)
    padding = _pool_int(padding, "padding", function)
    dilation = _pool_int(dilation, "dilation", function)
    x, batched = _pooled_batched("max_pool1d", input)
    out_length, stride = _pool_geometry("max_pool1d", x.shape[2], kernel, stride, padding,
                                        dilation, ceil_mode)
    if return_indices:
        _check_pool_dtype(x, "max_pool2d", tuple(d for d in _INTEGERS if d != "bool"))
    else:
        _check_pool_dtype(x, "max_pool1d_impl")
    positions = (np.arange(out_length)[:, None] * stride - padding
                 + np.arange(kernel)[None, :] * dilation)
    valid = (positions >= 0) & (positions < x.shape[2])
    out, indices = _max_over_windows(x, positions, valid)
    if not batched:
        out, indices = out.squeeze(0), indices[0]
    return (out, from_numpy(indices)) if return_indices else out


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True):
    """The mean of each window, as ``torch.nn.functional.avg_pool1d``.

    Args:
        input: ``[N, C, L]`` or ``[C, L]``.
        kernel_size, stride, padding, ceil_mode: as ``max_pool1d`` (zero padding).
        count_include_pad: divide by the window length including the zero padding (else by
            the number of input entries in it).
    """
    # One window-mean node, as avg_pool2d's (PyTorch's avg_pool1d is its avg_pool2d over
    # [N, C, 1, L]): the same sums and divisor, without the gather, the cat of a zero column
    # and the division node; a call that passed its checks before skips them (as avg_pool2d).
    # fwd + bwd on OpInfo's samples 1.75 -> 0.81 x PyTorch (old and new function alternated
    # in one process, 15 rounds, thread time, one thread, a loaded machine; s17 SP). The
    # remembered checks alone: forward 98 -> 56 us (timeit, min of 7, loaded machine).
    arguments = (kernel_size, stride, padding, ceil_mode, count_include_pad)
    key = _call_key("avg_pool1d", input, arguments)
    found = _POOL_CALLS.get(key) if key is not None else None
    if found is not None:
        batched, attributes = found
        x = input if batched else input.unsqueeze(0)
    else:
        kernel = _pool_int(kernel_size, "kernel_size", "avg_pool1d")
        stride = _pool_stride(stride, kernel, "avg_pool1d")
        padding = _pool_int(padding, "padding", "avg_pool1d")
        x, batched = _pooled_batched("avg_pool1d", input)
        length = x.shape[2]
        out_length, stride = _pool_geometry("avg_pool1d", length, kernel, stride, padding, 1,
                                            ceil_mode)
        _check_pool_dtype(x, "avg_pool2d", ("int64",))  # PyTorch's CPU kernel: floats, int64
        # (the right padding covers a last, partial window under ceil_mode: never counted)
        pads = ((padding, max(padding, (out_length - 1) * stride + kernel - length - padding)),)
        # (Integer input averages in its dtype, rounding toward zero, as PyTorch's kernel.)
        divisor = _divisor((length,), (kernel,), (stride,), pads, (out_length,),
                           count_include_pad, None, x._data.dtype)
        attributes = dict(kernel=(kernel,), stride=(stride,), pads=pads, grid=(out_length,),
                          divisor=divisor)
        _remember_pool(key, (batched, attributes))
    out = apply(_WINDOW_MEAN, x, **attributes)
    return out if batched else out.squeeze(0)


def _adaptive_windows(length: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    if size == 0:  # an empty output (PyTorch allows it): one invalid position per no window
        return np.zeros((0, 1), dtype=np.int64), np.zeros((0, 1), dtype=bool)
    i = np.arange(size)
    starts = (i * length) // size
    ends = -((-(i + 1) * length) // size)  # ceil((i + 1) L / size)
    width = int((ends - starts).max())
    positions = starts[:, None] + np.arange(width)[None, :]
    return positions, positions < ends[:, None]


def adaptive_avg_pool1d(input, output_size):
    """Average over ``output_size`` nearly equal windows (PyTorch's window boundaries)."""
    size = _pool_int(output_size, "output_size", "adaptive_avg_pool1d")
    x, batched = _as_batched("adaptive_avg_pool1d", input)
    if size < 0:
        raise RuntimeError("adaptive_avg_pool2d: elements of output_size must be greater than or "
                           f"equal to 0 but received {{1, {size}}}")
    if size > 0:  # (an empty output never reaches PyTorch's kernel, so any dtype passes)
        _check_pool_dtype(x, "adaptive_avg_pool2d")
    if size == 0:
        out = x[..., :0].contiguous()  # empty, in the input's dtype (PyTorch's)
        out = out if batched else out.squeeze(0)
        # (PyTorch's backward refuses the gradient: zeros here before, silently)
        refuse_empty_grad(out, "adaptive_avg_pool2d", tuple(out.shape[:-1]) + (1, 0))
        return out
    if x._data.dtype in (np.float32, np.float64) and x._data.shape[2] and np.isfinite(
            x._data).all():  # (inf / nan: the windows below; in a product inf * 0 is nan)
        from .pooling2d import _averaging  # (pooling2d loads after this module)

        # One product with the averaging matrix (pooling2d's, as adaptive_avg_pool2d's): one
        # node where the window gather, its sum and the division made three; each mean is a
        # dot product with 1 / count (equal to the sum's quotient up to rounding). OpInfo's
        # samples, fwd + bwd x PyTorch's time: 1.6-1.8 -> 0.6-0.8 (opinfo_overhead.py, two
        # alternated runs, one thread, s14 SP).
        out = _matmul(x, from_numpy(_averaging(x._data.shape[2], size, x._data.dtype).T))
        out = linked(out, x)  # (second derivatives zeros, as PyTorch's)
        return out if batched else out.squeeze(0)
    positions, valid = _adaptive_windows(x.shape[2], size)
    counts = from_numpy(valid.sum(axis=1).astype(x.dtype))
    out = linked((_gather_windows(x, positions, valid).sum(dim=-1) / counts).contiguous(), x)
    return out if batched else out.squeeze(0)


def adaptive_max_pool1d(input, output_size, return_indices: bool = False):
    """Maximum over ``output_size`` nearly equal windows (and, optionally, its positions)."""
    return_indices = bool(return_indices)  # PyTorch tests it first (a tensor's bool raises)
    size = _pool_int(output_size, "output_size", "adaptive_max_pool1d")
    x, batched = _as_batched("adaptive_max_pool1d", input)
    if size < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {size}: "
                           f"[{x.shape[0]}, {x.shape[1]}, 1, {size}]")
    check_nonempty("adaptive_max_pool1d", input._data.shape)
    _check_pool_dtype(x, "adaptive_max_pool2d")
    positions, valid = _adaptive_windows(x.shape[2], size)
    out, indices = _max_over_windows(x, positions, valid)
    if not batched:
        out, indices = out.squeeze(0), indices[0]
    if size == 0:  # (PyTorch's backward refuses the gradient: zeros here before, silently)
        refuse_empty_grad(out, "adaptive_max_pool2d", tuple(out.shape[:-1]) + (1, 0))
    return (out, from_numpy(indices)) if return_indices else out


# ----------------------------------------------------------------------------------------------
# Modules.


class Conv1d(Module):
    """1-d convolution layer (PyTorch's ``nn.Conv1d``); see ``conv1d`` for the arguments.

    ``weight`` ``[out_channels, in_channels / groups, kernel_size]`` and ``bias`` start from
    PyTorch's scheme: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_channels / groups *
    kernel_size.

    >>> import deltagrad as dg
    >>> conv = dg.nn.Conv1d(3, 8, kernel_size=5, padding="same")
    >>> conv(dg.randn(2, 3, 20)).shape
    deltagrad.Size([2, 8, 20])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None, *, generator=None) -> None:
        super().__init__()
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {list(_PADDING_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = (_single(kernel_size, "kernel_size"),)
        self.stride = (_single(stride, "stride"),)
        self.dilation = (_single(dilation, "dilation"),)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 "{'valid', 'same'}")
            if padding == "same" and self.stride != (1,):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = (_single(padding, "padding"),)
        self.groups = groups
        self.padding_mode = padding_mode
        dtype = parameter_dtype(dtype, device, "Conv1d")
        shape = (out_channels, in_channels // groups, self.kernel_size[0])
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None) -> None:
        """Draw fresh initial values (PyTorch's scheme, see the class docstring)."""
        init._default_reset(self.weight, self.bias, generator)

    def _conv_forward(self, input, weight, bias) -> Tensor:
        """PyTorch's: ``F.conv1d``, after ``F.pad`` for a padding mode other than zeros."""
        if self.padding_mode == "zeros" or self.padding in ("valid", (0,)):
            return F.conv1d(input, weight, bias, self.stride, self.padding, self.dilation,
                            self.groups)
        if self.padding == "same":
            total = self.dilation[0] * (self.kernel_size[0] - 1)
            widths = (total // 2, total - total // 2)
        else:
            widths = (self.padding[0], self.padding[0])
        return F.conv1d(F.pad(input, widths, self.padding_mode), weight, bias, self.stride, 0,
                        self.dilation, self.groups)

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,):
            text += f", padding={self.padding}"
        if self.dilation != (1,):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class MaxPool1d(Module):
    """``max_pool1d`` as a module (PyTorch's ``nn.MaxPool1d``)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input):
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool1d(Module):
    """``avg_pool1d`` as a module (PyTorch's ``nn.AvgPool1d``)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = (_single(kernel_size, "kernel_size"),)
        self.stride = (_single(stride if stride is not None else kernel_size, "stride"),)
        self.padding = (_single(padding, "padding"),)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool1d(Module):
    """``adaptive_avg_pool1d`` as a module."""

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(Module):
    """``adaptive_max_pool1d`` as a module."""

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input):
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
