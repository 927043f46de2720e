"""PyTorch's top-level ATen forms that programs and libraries call directly: ``native_*``
normalization and dropout (their tuples), recurrent cells, ``unsafe_*`` splits, the old norm
names, ``constant_pad_nd``, ``histogramdd``, ``segment_reduce``, ``nonzero_static`` and a few
global switches. Each is composed from the engine's functions, so gradients come with them."""

from __future__ import annotations

import builtins
import inspect
import math
import numbers
import warnings

import numpy as np

from .. import random as _random
from .. import stream as _stream
from ..autograd import no_grad
from ..ops import OPS
from ..tensor import Tensor, _leaf, apply, tensor_method
from ._common import int_arg, return_type, tensor_input
from .linalg import addmm, matmul
from .normalization import layer_norm
from .norms import matrix_norm, vector_norm
from .pointwise import maximum, minimum, relu, sigmoid, tanh
from .recorded_steps import recorded_step
from .shape import _t, _wrap_dim, chunk, split, stack
from .shape_splits import _MULTI_OUTPUT, mark_unsafe_piece
from .statistics import _histogram_edges, torch_name

__all__ = ["SymBool", "SymFloat", "SymInt", "_assert", "_assert_async",
           "constant_pad_nd", "feature_dropout", "frobenius_norm", "get_device", "gru_cell",
           "histogramdd", "is_warn_always_enabled", "lstm_cell", "native_batch_norm",
           "native_dropout", "native_layer_norm", "native_norm", "nonzero_static", "nuclear_norm",
           "rnn_relu_cell", "rnn_tanh_cell", "segment_reduce", "set_flush_denormal",
           "set_warn_always", "unsafe_chunk", "unsafe_split", "unsafe_split_with_sizes"]


# ==============================================================================================
# Splits without the multi-output view check.


def _unmarked(pieces: tuple) -> tuple:
    # PyTorch's unsafe_* splits skip the autograd check on in-place changes of the pieces, and
    # a piece keeps its node when its base changes in place (name None: versions._as_of).
    for piece in pieces:
        entry = _MULTI_OUTPUT.get(id(piece))
        if entry is not None:
            _MULTI_OUTPUT[id(piece)] = (entry[0], None, entry[2])
        elif getattr(piece, "_view", None) is not None and piece._view._rg:
            # (made under no_grad of a tensor that requires grad: no view of it to PyTorch,
            # so no "view created in no_grad mode" refusal when written in grad mode; s28 BR17)
            del piece._view
        elif getattr(piece, "_view", None) is not None:
            mark_unsafe_piece(piece)  # (no view to _is_view / _base, as PyTorch's; s28 BR18)
    return pieces


@tensor_method
def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """``chunk`` whose pieces may be changed in place (``torch.unsafe_chunk``)."""
    return _unmarked(chunk(input, chunks, dim))


@tensor_method
def unsafe_split(input: Tensor, split_size, dim: int = 0) -> tuple:
    """``split`` whose pieces may be changed in place (``torch.unsafe_split``)."""
    split_size = int_arg(split_size, "split_size", "unsafe_split")  # (one int, not a list)
    return _unmarked(split(input, split_size, dim))


@tensor_method
def unsafe_split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """``split_with_sizes`` whose pieces may be changed in place."""
    if isinstance(split_sizes, Tensor):
        raise TypeError("unsafe_split_with_sizes(): argument 'split_sizes' must be tuple of "
                        "ints, not Tensor")
    return _unmarked(split(input, list(split_sizes), dim))


# ==============================================================================================
# Old names of norms and padding.


def frobenius_norm(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """The 2-norm over ``dim`` (one or two dims): ``linalg.vector_norm(input, 2, dim)``."""
    warnings.warn("at::frobenius_norm is deprecated and it is just left for JIT compatibility. "
                  "It will be removed in a future PyTorch release. Please use "
                  "`linalg.vector_norm(A, 2., dim, keepdim)` instead", UserWarning, stacklevel=2)
    if isinstance(dim, Tensor):  # (PyTorch's int list takes a one-element integer tensor)
        if dim._data.dtype.kind not in "biu" or dim._data.size != 1:
            raise TypeError("frobenius_norm(): argument 'dim' (position 2) must be tuple of "
                            "ints, not Tensor")
        dim = int(dim._data.reshape(-1)[0])
    dims = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
    if len(dims) > 2:
        raise RuntimeError(f"Expected at most 2 dimensions, but got {len(dims)} dimensions "
                           f"instead.")
    return vector_norm(input, 2, dims, keepdim)


def nuclear_norm(input: Tensor, _dim=None, /, keepdim: bool = False, *, dim=None,
                 out=None) -> Tensor:
    """The nuclear norm (sum of singular values) over the two dims ``dim`` (the last two by
    default): ``linalg.matrix_norm(input, 'nuc', dim)``. ``nuclear_norm(x, True)`` keeps dims,
    as PyTorch's overload; one int ``d`` as ``dim`` means ``(d, d)``, as its parser reads it."""
    warnings.warn("at::nuclear_norm is deprecated and it is just left for JIT compatibility. "
                  "It will be removed in a future PyTorch release. Please use "
                  "`linalg.matrix_norm(A, 'nuc', dim, keepdim)` instead", UserWarning,
                  stacklevel=2)
    if type(_dim) is bool:  # the (input, bool keepdim) overload
        _dim, keepdim = None, _dim
    elif _dim is not None:
        if dim is not None:
            raise TypeError("nuclear_norm() got multiple values for argument 'dim'")
        dim = _dim
    if type(keepdim) is not bool or type(dim) is bool:
        raise TypeError(f"nuclear_norm() received an invalid combination of arguments: dim "
                        f"{type(dim).__name__}, keepdim {type(keepdim).__name__}; expected "
                        f"(Tensor input, tuple of ints dim, bool keepdim) or (Tensor input, "
                        f"bool keepdim)")
    return matrix_norm(input, "nuc", (-2, -1) if dim is None else _two_dims(dim), keepdim,
                       out=out)


def _two_dims(dim) -> tuple:
    """``nuclear_norm``'s ``dim`` as PyTorch's int-list parser reads it: a sequence of ints, or
    one int (a 0-d integer or bool tensor too) repeated."""
    if isinstance(dim, (tuple, list)):
        if not builtins.all(isinstance(d, numbers.Integral) for d in dim):
            raise TypeError(f"nuclear_norm(): argument 'dim' must be tuple of ints, got "
                            f"{[type(d).__name__ for d in dim]}")
        return tuple(int(d) for d in dim)
    if isinstance(dim, Tensor) and dim.ndim == 0 and dim._data.dtype.kind in "biu":
        dim = int(dim._data)
    if isinstance(dim, numbers.Integral):
        return (int(dim), int(dim))
    raise TypeError(f"nuclear_norm(): argument 'dim' must be tuple of ints, not "
                    f"{type(dim).__name__}")


def constant_pad_nd(input: Tensor, pad, value: float = 0) -> Tensor:
    """Pad the trailing dims with ``value`` (``pad`` = left, right widths for the last dim,
    then the one before...; negative widths crop)."""
    x = _t(input)
    if isinstance(pad, Tensor):
        raise TypeError("constant_pad_nd(): argument 'pad' must be tuple of ints, not Tensor")
    widths = tuple(int(w) for w in pad)
    if len(widths) % 2:
        raise RuntimeError(f"Length of pad must be even but instead it equals {len(widths)}")
    if len(widths) > 2 * x.ndim:
        raise RuntimeError(f"Length of pad should be no more than twice the number of dimensions "
                           f"of the input. Pad length is {len(widths)}while the input has "
                           f"{x.ndim}dimensions.")
    for k in range(len(widths) // 2):
        axis = x.ndim - 1 - k
        new = x.shape[axis] + widths[2 * k] + widths[2 * k + 1]
        if new < 0 or x.shape[axis] + min(widths[2 * k], 0) + min(widths[2 * k + 1], 0) < 0:
            raise RuntimeError(f"The input size {x.shape[axis]}, plus negative padding "
                               f"{widths[2 * k]} and {widths[2 * k + 1]} resulted in a negative "
                               f"output size, which is invalid. Check dimension {axis} of your "
                               f"input.")
    fill = np.asarray(value).astype(x._data.dtype).item()
    return apply(OPS["pad"], x, pad=widths, mode="constant", value=fill)


def native_norm(input, p=2, dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """PyTorch's ``native_norm``, which it has for sparse tensors only: the p-norm of all
    entries (repeated positions summed first), a 0-d tensor; ``dim`` (all dims or none),
    ``keepdim`` and ``dtype`` as PyTorch's limits."""
    if not getattr(input, "is_sparse", False):
        raise NotImplementedError("Could not run 'aten::native_norm' with arguments from the "
                                  "'CPU' backend: it takes a sparse tensor (use torch.norm)")
    if dim is not None and len(dim) and sorted(_wrap_dim(d, input.ndim) for d in dim) \
            != list(range(input.ndim)):
        raise RuntimeError("norm_sparse currently only supports full reductions, so 'dim' "
                           "must either be empty or contain all dimensions of the input")
    if keepdim:
        raise RuntimeError("norm_sparse currently does not support keepdim=True")
    if dtype is not None:
        raise RuntimeError("norm_sparse currently does not support 'dtype' argument")
    return input.norm(p)


# ==============================================================================================
# Normalization and dropout, with PyTorch's saved statistics.


def native_layer_norm(input: Tensor, normalized_shape, weight: Tensor | None,
                      bias: Tensor | None, eps: float) -> tuple:
    """Layer normalization over the trailing ``normalized_shape`` dims, as PyTorch's ATen
    function: ``(output, mean, rstd)``, the statistics with those dims kept as size 1 (and
    outside the graph, as PyTorch's are not differentiable)."""
    x = _t(input)
    shape = ((int(normalized_shape),) if isinstance(normalized_shape, numbers.Integral)
             else tuple(int(n) for n in normalized_shape))
    if not shape or tuple(x.shape[x.ndim - len(shape):]) != shape or len(shape) > x.ndim:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(str(n) for n in shape)}], but got input of size"
                           f"{list(x.shape)}")
    dims = tuple(range(x.ndim - len(shape), x.ndim))
    data = x._data
    affine = [p for p in (weight, bias) if p is not None]
    if (data.dtype in (np.float32, np.float64) and type(data) is np.ndarray
            and all(isinstance(p, Tensor) and p._data.dtype == data.dtype for p in affine)):
        # The output from layer_norm's one node (what F.layer_norm gives: PyTorch's
        # F.layer_norm is this function), the statistics from NumPy outside the graph: fwd +
        # bwd on OpInfo's samples 1.85 -> 1.34 x PyTorch, where the composition made seven
        # nodes (old and new function alternated in one process, 15 rounds, thread time, one
        # thread, a loaded machine; s17 SP).
        out = layer_norm(x, shape, weight, bias, eps)
        # (over rows, one axis: 24 -> 19 us against mean / var over the trailing axes)
        n = max(math.prod(shape), 1)
        rows = data.reshape(-1, n)
        mean = np.add.reduce(rows, 1, keepdims=True)
        mean /= n
        centred = rows - mean
        var = np.add.reduce(centred * centred, 1, keepdims=True)
        var /= n
        var += data.dtype.type(eps)
        np.sqrt(var, out=var)
        stats = data.shape[:data.ndim - len(shape)] + (1,) * len(shape)
        return (out, _leaf(mean.reshape(stats)),
                _leaf(np.divide(1.0, var, out=var).reshape(stats)))
    mean = x.mean(dims, keepdim=True)
    rstd = (x.var(dims, correction=0, keepdim=True) + eps).rsqrt()
    out = (x - mean) * rstd
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out, mean.detach(), rstd.detach()


def _invstd(var: Tensor, eps: float) -> Tensor:
    """``1 / sqrt(var + eps)``, but 0 for a channel of zero variance when ``eps`` is 0, as
    PyTorch's CPU kernel (its ``InvStd``): such a channel normalizes to 0, not nan."""
    if eps != 0.0:
        return (var + eps).rsqrt()
    zero = var == 0
    if not zero._data.any():
        return var.rsqrt()
    # NOTE: the rsqrt of a zero variance never runs (1 in its place), so no inf * 0 reaches
    # the gradient: a zero-variance channel sends none back through its statistics.
    safe = var.masked_fill(zero, 1.0).rsqrt()
    return safe.masked_fill(zero, 0.0)


def native_batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None,
                      running_mean: Tensor | None, running_var: Tensor | None, training: bool,
                      momentum: float, eps: float) -> tuple:
    """Batch normalization over all dims but dim 1 (channels), as PyTorch's ATen function:
    ``(output, save_mean, save_invstd)``. Training uses the batch statistics and updates the
    running ones in place (unbiased variance); evaluation uses the running ones and saves
    empty statistics."""
    x = _t(input)
    if x.ndim < 2:
        raise RuntimeError(f"native_batch_norm: expected an input of at least 2 dimensions, "
                           f"got {x.ndim}")
    dims = (0,) + tuple(range(2, x.ndim))
    view = (1, -1) + (1,) * (x.ndim - 2)
    if training:
        mean = x.mean(dims)
        var = x.var(dims, correction=0)
        invstd = _invstd(var, eps)
        if running_mean is not None or running_var is not None:
            count = x.numel() // max(x.shape[1], 1)
            with no_grad():
                if running_mean is not None:
                    updated = (momentum * mean._data.astype(np.float64)
                               + (1 - momentum) * running_mean._data.astype(np.float64))
                    running_mean.copy_(_leaf(updated.astype(running_mean._data.dtype)))
                if running_var is not None:
                    unbiased = var._data.astype(np.float64) * count / max(count - 1, 1)
                    updated = (momentum * unbiased
                               + (1 - momentum) * running_var._data.astype(np.float64))
                    running_var.copy_(_leaf(updated.astype(running_var._data.dtype)))
        out = (x - mean.reshape(view)) * invstd.reshape(view)
        saved = (mean.detach(), invstd.detach())
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("native_batch_norm: running_mean and running_var are required "
                               "when training is False")
        out = (x - running_mean.reshape(view)) * (running_var.reshape(view) + eps).rsqrt()
        empty = _leaf(np.zeros(0, dtype=x._data.dtype))
        saved = (empty, _leaf(np.zeros(0, dtype=x._data.dtype)))
    if weight is not None:
        out = out * weight.reshape(view)
    if bias is not None:
        out = out + bias.reshape(view)
    return (out, *saved)


def _keep_draws(shape: tuple, keep_probability: float) -> np.ndarray:
    """0/1 draws (1 with ``keep_probability``) on the global generator, as PyTorch's
    ``bernoulli_(p)`` of a fresh contiguous tensor (drawn even when p is 0)."""
    source = _random.torch_source(None)
    if source is not None:
        return _stream.bernoulli_scalar(source._bits, shape, keep_probability)
    return _random.keep_mask(_random.numpy_generator(None), shape, 1.0 - keep_probability)


def native_dropout(input: Tensor, p: float, train: bool | None) -> tuple:
    """Dropout as PyTorch's ATen function: ``(output, mask)``, the mask boolean (all True when
    ``train`` is False, the output then a copy)."""
    x = _t(input)
    if train is not None and not train:
        return x.clone(), _leaf(np.ones(x.shape, dtype=bool))
    keep_probability = 1.0 - float(p)
    if not 0.0 <= keep_probability <= 1.0:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got "
                           f"p={keep_probability:g}")
    keep = _keep_draws(tuple(x.shape), keep_probability)
    dtype = x._data.dtype
    scale = 0.0 if keep_probability == 0.0 else 1.0 / keep_probability
    out = x * _leaf(keep.astype(dtype)) * _leaf(np.asarray(scale, dtype=dtype))
    return out, _leaf(np.asarray(keep, dtype=bool))


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Dropout of whole channels (dim 1) of an ``[N, C, *]`` input: each channel zeroed with
    probability ``p``, the rest scaled by ``1 / (1 - p)`` (``torch.feature_dropout``)."""
    x = _t(input)
    if not 0.0 <= p <= 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")
    if p == 0.0 or not train or x.numel() == 0:
        return x
    if x.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    dtype = x._data.dtype
    if p == 1.0:
        return x * _leaf(np.zeros((), dtype=dtype))
    shape = tuple(x.shape[:2]) + (1,) * (x.ndim - 2)
    noise = _keep_draws(shape, 1.0 - p).astype(dtype) / dtype.type(1.0 - p)
    return x * _leaf(noise)


# ==============================================================================================
# Recurrent cells (ATen's forms: the gates' order and sums as PyTorch's).


def _linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    if bias is not None and x.ndim == 2:
        return addmm(bias, x, weight.t())
    out = matmul(x, weight.t())
    return out if bias is None else out + bias


def lstm_cell(input: Tensor, hx, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
              b_hh: Tensor | None = None) -> tuple:
    """One LSTM step: ``hx = (h, c)`` -> ``(h', c')`` (gates i, f, g, o as ``nn.LSTMCell``)."""
    h, c = hx
    gates = _linear(h, w_hh, b_hh) + _linear(input, w_ih, b_ih)
    i, f, g, o = gates.chunk(4, 1)
    cy = sigmoid(f) * c + sigmoid(i) * tanh(g)
    return sigmoid(o) * tanh(cy), cy


def gru_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
             b_hh: Tensor | None = None) -> Tensor:
    """One GRU step (gates r, z, n as ``nn.GRUCell``)."""
    i_r, i_z, i_n = _linear(input, w_ih, b_ih).chunk(3, 1)
    h_r, h_z, h_n = _linear(hx, w_hh, b_hh).chunk(3, 1)
    reset = sigmoid(h_r + i_r)
    update = sigmoid(h_z + i_z)
    new = tanh(i_n + h_n * reset)
    return (hx - new) * update + new


def rnn_tanh_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,
                  b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """One Elman RNN step with tanh."""
    return tanh(_linear(hx, w_hh, b_hh) + _linear(input, w_ih, b_ih))


def rnn_relu_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,
                  b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """One Elman RNN step with ReLU."""
    return relu(_linear(hx, w_hh, b_hh) + _linear(input, w_ih, b_ih))


# ==============================================================================================
# Histograms, segments, indices.

# (torch.return_types.histogramdd: its repr, and reached from deltagrad.return_types; s28 DX1)
HistogramddResult = return_type("histogramdd", ["hist", "bin_edges"])


def histogramdd(input: Tensor, bins, *, range=None, weight: Tensor | None = None,  # noqa: A002
                density: bool = False) -> tuple:
    """The histogram of the points in ``input``'s rows (its last dim holds the D coordinates).
    Not differentiable: the results require grad as the inputs do, a backward raises (PyTorch).

    Args:
        input: a floating tensor ``[*, D]``.
        bins: an int (bins per dim), D ints, or D 1-d tensors of increasing edges.
        range: ``[min_0, max_0, min_1, max_1, ...]`` for equal-width bins (default: the
            data's range per dim).
        weight: one weight per point (``input``'s shape without its last dim).
        density: divide by the total and by the bins' volumes.

    Returns:
        ``(hist, bin_edges)``: hist of shape ``[bins_0, ..., bins_{D-1}]``, bin_edges a tuple
        of D 1-d tensors; bins hold ``[left, right)``, the last one its right edge too.
    """
    x = tensor_input(input)
    data = x._data
    bins = _histogramdd_bins(bins)
    if data.ndim == 0:
        raise IndexError("Dimension specified as -1 but tensor has no dimensions")
    if data.dtype.kind != "f" or data.dtype == np.float16:
        raise NotImplementedError(f"\"histogramdd\" not implemented for "
                                  f"'{torch_name(data.dtype)}'")
    if data.ndim < 2:
        raise RuntimeError("torch.histogramdd: input tensor should have at least 2 dimensions")
    count = data.shape[-1]
    points = data.reshape(-1, count)
    if isinstance(bins, numbers.Integral):
        per_dim = [int(bins)] * count
    else:
        per_dim = list(bins)
        if len(per_dim) != count:
            raise RuntimeError(f"torch.histogramdd: expected {count} sequences of bin edges "
                               f"for each of the {count} dimensions of the input, but got "
                               f"{len(per_dim)}")
    if range is not None and len(range) != 2 * count:
        raise RuntimeError(f"torch.histogramdd: for a {count}-dimensional histogram range "
                           f"should have {2 * count} elements, but got {len(range)}")
    edges = [_histogram_edges(points[:, d], per_dim[d],
                              None if range is None else range[2 * d:2 * d + 2])
             for d in builtins.range(count)]
    inside = np.ones(points.shape[0], dtype=bool)
    positions = []
    for d, e in enumerate(edges):
        values = points[:, d]
        inside &= (values >= e[0]) & (values <= e[-1])  # (nan is outside)
        positions.append(np.minimum(np.searchsorted(e, values, side="right") - 1,
                                    e.size - 2).clip(0))
    shape = tuple(e.size - 1 for e in edges)
    flat = np.ravel_multi_index(tuple(p[inside] for p in positions), shape) if count else None
    weights = None
    if weight is not None:
        w = _t(weight)._data.reshape(-1)
        if w.size != points.shape[0]:
            raise RuntimeError(f"torch.histogramdd: if weight tensor is provided it should "
                               f"have the same shape as the input tensor excluding its "
                               f"innermost dimension, but got input with shape "
                               f"{list(data.shape)} and weight with shape {list(weight.shape)}")
        weights = w[inside]
    size = int(np.prod(shape))
    hist = (np.bincount(flat, weights=weights, minlength=size) if count
            else np.zeros(0)).astype(data.dtype).reshape(shape)
    if density:
        # PyTorch's roundings: by the total, then by each dim's widths in turn (one division
        # by the float64 volume was an ulp off in 144 of 200 random cases)
        hist = (hist / hist.sum(dtype=data.dtype)).astype(data.dtype)
        for d, e in enumerate(edges):
            reshaped = [1] * count
            reshaped[d] = e.size - 1
            hist = (hist / np.diff(e).reshape(reshaped)).astype(data.dtype)
    # As PyTorch's: recorded without a derivative; tensor bins come back as the edges.
    given = tuple(b for b in per_dim if isinstance(b, Tensor))
    aten = "_histogramdd_from_bin_tensors" if given else "_histogramdd_from_bin_cts"
    hist = recorded_step(hist, (x, weight, *given), "NotImplemented", RuntimeError,
                         f"derivative for aten::{aten} is not implemented")
    if given:
        return HistogramddResult(hist, given)
    message = "derivative for aten::_histogramdd_bin_edges is not implemented"
    return HistogramddResult(hist, tuple(
        recorded_step(e.copy(), (x, weight), "NotImplemented", RuntimeError, message)
        for e in edges))


_SEGMENT_EMPTY = {"sum": 0.0, "mean": np.nan, "max": -np.inf, "min": np.inf, "prod": 1.0}


def _histogramdd_bins(bins):
    """``histogramdd``'s ``bins`` as PyTorch's parser takes it: an int (a 0-d integer tensor
    too), a sequence of ints, or a sequence of 1-d tensors; else a TypeError."""
    if isinstance(bins, Tensor) and bins.ndim == 0 and bins._data.dtype.kind in "iu":
        return int(bins._data)
    if isinstance(bins, numbers.Integral) and not isinstance(bins, bool):
        return bins
    if isinstance(bins, (tuple, list)):
        if builtins.all(isinstance(b, Tensor) for b in bins):
            return bins
        if builtins.all(isinstance(b, numbers.Integral) and not isinstance(b, bool)
                        for b in bins):
            return bins
    raise TypeError(f"histogramdd(): argument 'bins' must be int, a sequence of ints or a "
                    f"sequence of Tensors, not {type(bins).__name__}")


def segment_reduce(data: Tensor, reduce: str, *, lengths: Tensor | None = None,
                   indices: Tensor | None = None, offsets: Tensor | None = None, axis: int = 0,
                   unsafe: bool = False, initial=None) -> Tensor:
    """Reduce consecutive segments of ``data`` along ``axis`` (given by 1-d ``lengths`` or
    ``offsets``) with ``reduce`` in sum, mean, max, min, prod; an empty segment gives
    ``initial`` (else 0, nan, -inf, inf, 1). Gradients flow to ``data``."""
    x = _t(data)
    if not isinstance(reduce, str):
        raise TypeError(f"segment_reduce(): argument 'reduce' (position 2) must be str, not "
                        f"{type(reduce).__name__}")
    if reduce not in _SEGMENT_EMPTY:
        raise RuntimeError(f"reduce argument must be either sum, prod, max, min or mean, got "
                           f"{reduce}")
    if indices is not None:
        raise RuntimeError("segment_reduce(): indices based reduction is not supported yet.")
    axis = _wrap_dim(axis, x.ndim)
    if lengths is not None:
        counts = np.asarray(_t(lengths)._data, dtype=np.int64)
    elif offsets is not None:
        counts = np.diff(np.asarray(_t(offsets)._data, dtype=np.int64))
    else:
        raise RuntimeError("segment_reduce(): Either lengths or offsets must be defined")
    if counts.ndim != 1 or axis != 0:
        raise NotImplementedError("segment_reduce: deltagrad supports 1-d lengths or offsets "
                                  "over axis 0 only")
    if not unsafe and (np.any(counts < 0) or counts.sum() != x.shape[0]):
        raise RuntimeError("segment_reduce(): Expected all rows of lengths along axis to sum "
                           "to data.size(lengths.dim()-1) when !unsafe.")
    empty = _SEGMENT_EMPTY[reduce] if initial is None else initial
    starts = np.concatenate([[0], np.cumsum(counts)])
    results = []
    for start, n in zip(starts[:-1], counts):
        piece = x[int(start):int(start + n)]
        if n == 0:
            filled = np.full(x.shape[1:], empty).astype(x._data.dtype)
            results.append(_leaf(filled))
            continue
        if reduce == "sum":
            value = piece.sum(0)
        elif reduce == "mean":
            # (an initial value counts into the sum, not the count, as PyTorch's)
            value = piece.mean(0) if initial is None else (piece.sum(0) + initial) / int(n)
        elif reduce == "max":
            value = piece.amax(0)
        elif reduce == "min":
            value = piece.amin(0)
        else:
            value = piece.prod(0)
        if initial is not None and reduce != "mean":
            # (the initial value takes part in the reduction, as PyTorch's)
            value = _combine(reduce, value, initial)
        results.append(value)
    if not results:
        return _leaf(np.zeros((0,) + tuple(x.shape[1:]), dtype=x._data.dtype))
    return stack(results, 0)


def _combine(reduce: str, value: Tensor, initial) -> Tensor:
    if reduce == "sum":
        return value + initial
    if reduce == "prod":
        return value * initial
    bound = _leaf(np.asarray(initial, dtype=value._data.dtype))
    return maximum(value, bound) if reduce == "max" else minimum(value, bound)


@tensor_method
def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    """The indices of the first ``size`` non-zero elements (``[size, ndim]`` int64), padded
    with rows of ``fill_value`` when there are fewer."""
    x = tensor_input(input)  # (a NumPy array or scalar: PyTorch's TypeError)
    size = int_arg(size, "size", "nonzero_static", symbolic=True)  # (a float, a bool: TypeError)
    fill_value = int_arg(fill_value, "fill_value", "nonzero_static")
    if size < 0:
        raise RuntimeError(f"nonzero_static: 'size' must be an non-negative integer, but got "
                           f"{size}")
    data = x._data
    out = np.full((int(size), data.ndim), fill_value, dtype=np.int64)
    if data.ndim:  # (the index arrays as rows, not np.argwhere's Python: [5, 5] 5.9 -> 3.9 us)
        found = np.array(data.nonzero())[:, :size].T
    else:  # (a 0-d input: one empty row where it is non-zero)
        found = np.zeros((int(size > 0 and bool(data)), 0), dtype=np.int64)
    out[:found.shape[0]] = found
    return _leaf(out)


# ==============================================================================================
# Device and global switches.


def get_device(input: Tensor) -> int:
    """The device index of ``input``: -1, the CPU's (``torch.get_device``)."""
    return _t(input).get_device()


class _WarnAlways:
    enabled = False


def set_warn_always(b: bool) -> None:
    """Whether warnings PyTorch gives once should be given every time (a flag deltagrad keeps
    for programs that read it back; its own once-only warnings use Python's filters)."""
    _WarnAlways.enabled = bool(b)


def is_warn_always_enabled() -> bool:
    """The flag ``set_warn_always`` sets."""
    return _WarnAlways.enabled


def set_flush_denormal(mode: bool) -> bool:
    """Whether flushing denormal floats to zero could be set: NumPy cannot, so asking for it
    returns False (PyTorch's answer on CPUs without the support) and nothing changes; turning
    it off returns True."""
    return not mode


def _assert(condition, message) -> None:
    """PyTorch's ``torch._assert`` (a traceable ``assert``): AssertionError with ``message``
    unless ``condition`` is true (a one-element tensor counts by its value)."""
    handler = getattr(type(condition), "__torch_function__", None)
    if handler is not None and not isinstance(condition, Tensor):
        # (dispatched as PyTorch's: an FX Proxy condition records the check in the graph)
        return handler(_assert, (type(condition),), (condition, message), {})
    if not condition:
        raise AssertionError(message)


def _assert_async(input: Tensor, assert_msg: str | None = None) -> None:
    """PyTorch's ``torch._assert_async``: RuntimeError unless the one-element ``input`` is
    nonzero (NaN counts as nonzero, as in PyTorch); checked at once, deltagrad being eager."""
    if not isinstance(input, Tensor):
        raise TypeError(f"_assert_async(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if input.numel() != 1:
        raise RuntimeError("Boolean value of Tensor with "
                           f"{'no values' if input.numel() == 0 else 'more than one value'} "
                           "is ambiguous")
    if not input._data.reshape(()).astype(bool):
        raise RuntimeError(assert_msg if assert_msg is not None
                           else "Expected Tensor with single nonzero value, but got zero")


# PyTorch's symbolic scalar types (torch.compile's shapes). deltagrad never makes one, so no
# value is an instance; they exist for libraries' isinstance checks and annotations.
class SymInt:
    """PyTorch's symbolic integer type (never instantiated by deltagrad)."""


class SymFloat:
    """PyTorch's symbolic float type (never instantiated by deltagrad)."""


class SymBool:
    """PyTorch's symbolic boolean type (never instantiated by deltagrad)."""


# ==============================================================================================
# Tensor subclasses.


def _make_subclass(cls, data, require_grad: bool = False, *args, **kwargs) -> Tensor:
    """PyTorch's ``Tensor._make_subclass(cls, data, require_grad)``: a new leaf of the Tensor
    subclass ``cls`` (its own ``__new__`` and ``__init__`` are not run) sharing ``data``'s memory,
    without its graph (geoopt's ManifoldTensor / ManifoldParameter are made so)."""
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError(f"cls must be a type (got {type(cls).__name__})")
    if not isinstance(data, Tensor):
        raise TypeError(f"data must be a Tensor, not {type(data).__name__}")
    if cls.__init__ is Tensor.__init__:
        # Python runs `cls.__init__(instance, *args)` after a `cls.__new__` that returned one
        # made here, with __new__'s arguments (geoopt's `manifold=`); PyTorch's Tensor ignores
        # them there. NOTE: a shim on the subclass; Tensor.__init__ itself belongs in tensor.py.
        cls.__init__ = _made_subclass_init
    out = Tensor.__new__(cls)
    Tensor.__init__(out, data._data, dtype=data._data.dtype)  # the slots, as any new leaf's
    out._data = data._data  # (shared, as PyTorch's)
    if require_grad:
        out.requires_grad_(True)
    return out


def _made_subclass_init(self, *args, **kwargs) -> None:
    try:
        self._data  # noqa: B018 - set: made by _make_subclass, nothing to do
    except AttributeError:
        Tensor.__init__(self, *args, **kwargs)


Tensor._make_subclass = staticmethod(_make_subclass)


_PLAIN_VIEW_AS: list = [None]


def as_subclass(self: Tensor, cls) -> Tensor:
    """``Tensor.as_subclass(cls)``: the same values and memory as an instance of the Tensor
    subclass ``cls``, still in the graph (torchvision's ``tv_tensors`` are made so).

    >>> import deltagrad as dg
    >>> class Image(dg.Tensor): pass
    >>> x = dg.ones(2, requires_grad=True)
    >>> y = (x * 2).as_subclass(Image)
    >>> type(y).__name__, y.requires_grad
    ('Image', True)
    """
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError(f"as_subclass(): argument 'cls' must be a subclass of Tensor, not "
                        f"{cls!r}")
    # (a view: shares the memory and carries the gradient through; Tensor's own view_as, not
    # the subclass's dispatching one: PyTorch's as_subclass calls no __torch_function__)
    # (unwrapped: the look for arguments that dispatch, put on Tensor's methods once a class
    # that is no Tensor defines __torch_function__, would call a subclass's override)
    view_as = _PLAIN_VIEW_AS[0]
    if view_as is None:
        view_as = _PLAIN_VIEW_AS[0] = inspect.unwrap(Tensor.view_as)
    out = view_as(self, self)
    out.__class__ = cls
    return out


Tensor.as_subclass = as_subclass
