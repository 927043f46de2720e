"""Reductions over dims (sum, mean, prod, max, any, ...; var / std in moments.py), comparisons
of whole tensors (isclose, allclose, equal) and logsumexp (softmax / log_softmax: softmax.py)."""

from __future__ import annotations

import builtins

import numpy as np

from .. import bf16
from ..node_names import name_node, rename_node
from ..ops import OPS
from ..promotion import refuse_complex
from ..tensor import Tensor, _leaf, apply, tensor_method
from ._common import (
    NOT_GIVEN,
    apply_checked,
    dims_tuple,
    index_or_none,
    int_arg,
    later_bools_as_ints,
    list_item,
    numpy_aliases,
    numpy_names,
    out_dtype,
    reduction_dims,
    return_type,
    tensor_arg,
    wrap_dim,
    write_out,
)
from ._pointwise import input_tensor
from .pointwise import maximum, minimum, where
from .shape import reshape

__all__ = ["all", "amax", "amin", "aminmax", "any", "argmax", "argmin", "count_nonzero",
           "logsumexp", "max", "mean", "min", "nanmean", "nansum", "prod",
           "sum"]  # (var / std / var_mean / std_mean: moments.py, on this module)

_SUM, _MEAN, _AMAX, _AMIN = OPS["sum"], OPS["mean"], OPS["amax"], OPS["amin"]
_PROD, _LOGSUMEXP, _GATHER = OPS["prod"], OPS["logsumexp"], OPS["gather"]
_ndarray = np.ndarray

MaxResult = return_type("max", "values indices")
MinResult = return_type("min", "values indices")
AminmaxResult = return_type("aminmax", "min max")


_ATTRS: dict = {}  # (dim, keepdim, ndim) -> a reduction's checked attributes (int or None dim)


def _reduce_attrs(dim, keepdim, ndim: int) -> dict:
    """``{"dim": reduction_dims(dim, ndim), "keepdim": keepdim}``, one dict per arguments
    (``dim`` an int or None, already checked to be), shared by the calls that pass them: the
    common calls skip the dim checks and the dict (with apply_checked: mean(dim=1,
    keepdim=True) on 8 x 8 under grad 2.58-2.77 -> 2.43-2.50 us, timeit)."""
    key = (dim, keepdim, ndim)
    attrs = _ATTRS.get(key)
    if attrs is None:
        if len(_ATTRS) >= 1024:  # (bounded: programs with ever new ranks)
            _ATTRS.clear()
        attrs = _ATTRS[key] = {"dim": reduction_dims(dim, ndim), "keepdim": keepdim}
    return attrs


def _kind(x: Tensor) -> str:
    return bf16.kind(x._data.dtype)  # (bfloat16 reads "f")


def _keepdim_arg(keepdim, name: str) -> None:
    """PyTorch's parser: ``keepdim`` is a bool (``keepdim=1`` is a TypeError, not True). The
    common calls test it inline (two identity tests) before this."""
    if keepdim is not True and keepdim is not False:
        raise TypeError(f"{name}(): argument 'keepdim' must be bool, not "
                        f"{type(keepdim).__name__}")


def _with_dtype(input: Tensor, dtype) -> Tensor:
    """The input cast to ``dtype`` first, as PyTorch's ``dtype=`` arguments do."""
    if dtype is None or np.dtype(dtype) == np.dtype(input.dtype):
        return input
    if input.requires_grad and np.dtype(dtype).kind not in "fc" and np.dtype(dtype) != bf16.BF16:
        raise RuntimeError(f"dtype={dtype}: autograd does not support an integral result for an "
                           "input that requires grad")
    return input.to(dtype)


def _require_float(input: Tensor, message: str) -> None:
    if _kind(input) not in "fc":
        if message.startswith("mean():"):  # (PyTorch's words: "... dtype. Got: Long")
            from ..forward_errors import scalar_word  # (the rare path)

            raise RuntimeError(f"{message}. Got: {scalar_word(input.dtype)}")
        raise RuntimeError(f"{message}; got {input.dtype}")


def _check_nonempty(input: Tensor, dims, name: str) -> None:
    """Max-like reductions have no identity: refuse empty input as PyTorch does."""
    if dims is None:
        if input._data.size == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                               "input.numel() == 0. Specify the reduction dim with the 'dim' "
                               "argument.")
        return
    for d in dims_tuple(dims):
        if input.shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


# --------------------------------------------------------------------------------------------
# Sums and means.


@tensor_method
def sum(input, dim=NOT_GIVEN, keepdim: bool = NOT_GIVEN, *, dtype=None, out=None,  # noqa: A001
        axis=NOT_GIVEN, keepdims=NOT_GIVEN):
    """Sum over ``dim`` (an int, a tuple or list of ints, or None for all dims).

    Args:
        input: a tensor; integers and booleans sum to int64 unless ``dtype`` says otherwise.
        dim: the dims to reduce; ``axis`` is accepted too.
        keepdim: keep reduced dims with size 1 (``keepdims`` is accepted too).
        dtype: cast the input to this dtype first.
        out: a tensor to write the result into.

    Returns:
        The sums (0 for an empty input).

    >>> import deltagrad as dg
    >>> dg.tensor([[1, 2], [3, 4]]).sum(1)
    tensor([3, 7])
    """
    if axis is not NOT_GIVEN or keepdims is not NOT_GIVEN:
        dim, keepdim = numpy_aliases("sum", dim, keepdim, axis, keepdims, NOT_GIVEN)
    if dim is NOT_GIVEN:  # (dim None given is all dims; keepdim alone PyTorch's TypeError)
        dim = None
        if keepdim is not NOT_GIVEN or out is not None:  # (even False; nor does out= go
            _keepdim_without_dim("sum", keepdim, out)  # with sum(input, *, dtype): s27 BR15)
        keepdim = False
    elif keepdim is NOT_GIVEN:
        keepdim = False
    if keepdim is not False and keepdim is not True:
        _keepdim_arg(keepdim, "sum")
    if type(input) is Tensor and dtype is None and out is None:  # the common call, directly
        if dim is None or type(dim) is int:
            return apply_checked(_SUM, input, _reduce_attrs(dim, keepdim, input._data.ndim))
        return apply(_SUM, input, dim=reduction_dims(_tensor_dim(dim), input._data.ndim),
                     keepdim=keepdim)
    dim = _tensor_dim(dim)
    dtype = out_dtype(out, dtype, "sum")  # (out='s dtype is the sum's)
    input = _with_dtype(input_tensor(input, 'sum'), dtype)
    result = apply(_SUM, input, dim=reduction_dims(dim, input.ndim), keepdim=keepdim)
    return write_out(out, _with_dtype(result, dtype))


@tensor_method
@numpy_names
def nansum(input, dim=None, keepdim: bool = False, *, dtype=None, out=None):
    """``sum`` treating NaN as zero (its gradient there is 0). Args as ``sum``."""
    refuse_complex(input, 'nansum on CPU does not support complex inputs', RuntimeError)
    if out is not None:  # (PyTorch's kernel runs in out's dtype: no float into an integer)
        result = nansum(input, dim, keepdim, dtype=dtype)
        if isinstance(out, Tensor) and result._data.dtype.kind in "fc" and (
                out._data.dtype.kind in "biu"):
            raise NotImplementedError(f"nansum: not implemented for a {result.dtype} result "
                                      f"into out= of {out.dtype}")
        # (as sum's: out='s dtype is the one the sum runs in; nansum(int, out=bool) is any())
        result = nansum(input, dim, keepdim, dtype=out_dtype(out, dtype, "nansum"))
        return write_same_kind("nansum", out, result, unsafe=True)
    _keepdim_arg(keepdim, "nansum")
    input = _with_dtype(input_tensor(input, 'nansum'), dtype)
    if _kind(input) in "fc":
        input = where(_leaf(np.isnan(input._data)), 0.0, input)
    return rename_node(sum(input, dim, keepdim, dtype=dtype, out=out), "NansumBackward0")


@tensor_method
def mean(input, dim=NOT_GIVEN, keepdim: bool = NOT_GIVEN, *, dtype=None, out=None,
         axis=NOT_GIVEN, keepdims=NOT_GIVEN):
    """Mean over ``dim``; floating (or ``dtype=`` floating) input only, as in PyTorch.

    Args:
        input: a floating tensor.
        dim, keepdim, dtype, out: as ``sum``.

    Returns:
        The means (nan for an empty input).
    """
    if axis is not NOT_GIVEN or keepdims is not NOT_GIVEN:
        dim, keepdim = numpy_aliases("mean", dim, keepdim, axis, keepdims, NOT_GIVEN)
    if dim is NOT_GIVEN:  # (as sum's)
        dim = None
        if keepdim is not NOT_GIVEN:
            _keepdim_without_dim("mean", keepdim)
        keepdim = False
    elif keepdim is NOT_GIVEN:
        keepdim = False
    if keepdim is not False and keepdim is not True:
        _keepdim_arg(keepdim, "mean")
    if (type(input) is Tensor and dtype is None and out is None
            and input._data.dtype.kind == "f"):  # the common call, directly
        if dim is None or type(dim) is int:
            return apply_checked(_MEAN, input, _reduce_attrs(dim, keepdim, input._data.ndim))
        return apply(_MEAN, input, dim=reduction_dims(_tensor_dim(dim), input._data.ndim),
                     keepdim=keepdim)
    dim = _tensor_dim(dim)
    _dim_type(dim, "mean")
    input = _with_dtype(input_tensor(input, 'mean'), dtype)
    _require_float(input, "mean(): could not infer output dtype. Input dtype must be either a "
                   "floating point or complex dtype")
    return write_same_kind("mean", out, apply(_MEAN, input, dim=reduction_dims(dim, input.ndim),
                                              keepdim=keepdim))


@tensor_method
@numpy_names
def nanmean(input, dim=None, keepdim: bool = False, *, dtype=None, out=None):
    """Mean over the non-NaN elements (nan where there are none). Args as ``mean``."""
    refuse_complex(input, 'nansum on CPU does not support complex inputs', RuntimeError)
    input = input_tensor(input, 'nanmean')
    dim = _tensor_dim(dim)
    _dim_type(dim, "nanmean")
    _keepdim_arg(keepdim, "nanmean")
    _require_float(input, "nanmean(): expected input to have floating point dtype")  # (before
    input = _with_dtype(input, dtype)  # the cast: PyTorch refuses integer input with a dtype)
    _require_float(input, "nanmean(): could not infer output dtype. Optional dtype must be "
                   "either a floating point or complex dtype")
    present = ~np.isnan(input._data)
    dims = reduction_dims(dim, input.ndim)
    count = np.sum(present, axis=dims, keepdims=keepdim)
    absent = 0.0
    if np.count_nonzero(count) != count.size:  # (np.all costs 4x as much)
        # NOTE: an all-NaN slice keeps its NaNs (input * 0), so that its gradient is PyTorch's
        # (g / 0) * 0 = NaN; elsewhere a NaN's gradient is 0.
        empty = np.sum(present, axis=dims, keepdims=True) == 0
        absent = where(_leaf(np.broadcast_to(empty, present.shape)), input * 0.0, 0.0)
    total = sum(where(_leaf(present), input, absent), dim, keepdim)
    result = total / _leaf(count.astype(input._data.dtype))
    if isinstance(out, Tensor) and out._data.dtype.kind in "biu":  # (as nansum's)
        raise NotImplementedError(f"nanmean: not implemented for a {result.dtype} result into "
                                  f"out= of {out.dtype}")
    return write_same_kind("nanmean", out, result)


@tensor_method
def prod(input, dim=NOT_GIVEN, keepdim: bool = NOT_GIVEN, *, dtype=None, out=None,
         axis=NOT_GIVEN, keepdims=NOT_GIVEN):
    """Product over one ``dim`` (an int) or over all elements.

    The gradient is the product of the other elements, exact where inputs are zero.

    Args:
        input: a tensor; integers and booleans multiply to int64.
        dim: one dim, or None for all.
        keepdim, dtype, out: as ``sum``.

    Returns:
        The products (1 for an empty input).
    """
    if axis is not NOT_GIVEN or keepdims is not NOT_GIVEN:
        dim, keepdim = numpy_aliases("prod", dim, keepdim, axis, keepdims, NOT_GIVEN)
    if isinstance(dim, (tuple, list)):
        raise TypeError("prod(): dim must be a single int, got a sequence")
    if dim is None:  # (PyTorch's prod takes an int dim or none: s27 BR15)
        raise TypeError("prod() received an invalid combination of arguments - got (Tensor, "
                        "NoneType): dim must be an int")
    if dim is NOT_GIVEN:
        dim = None
        if keepdim is not NOT_GIVEN:  # (prod(input, *, dtype) takes no keepdim, even False)
            _keepdim_without_dim("prod", keepdim)
        keepdim = False
    elif keepdim is NOT_GIVEN:
        keepdim = False
    _keepdim_arg(keepdim, "prod")
    if type(input) is Tensor and dtype is None and out is None:  # the common call, directly
        return apply(_PROD, input, dim=reduction_dims(dim, input._data.ndim), keepdim=keepdim)
    if out is not None and dim is None:  # (PyTorch's prod over all elements has no out=)
        raise TypeError("prod(): out= needs a dim (PyTorch's prod(input, *, dtype) takes none)")
    dtype = out_dtype(out, dtype, "prod")  # (out='s dtype is the product's)
    input = _with_dtype(input_tensor(input, 'prod'), dtype)
    result = apply(_PROD, input, dim=reduction_dims(dim, input.ndim), keepdim=keepdim)
    return write_out(out, _with_dtype(result, dtype))


# --------------------------------------------------------------------------------------------
# Dim arguments (also var / std's: api/moments.py).


def _dim_type(dim, name: str) -> None:
    """PyTorch's parser, before any dtype check: ``dim`` is None, an int, a sequence of ints or
    a one-element integer (or bool) tensor; a bool, a float, a list of them or another tensor
    is a TypeError."""
    if dim is None or type(dim) is int:
        return
    if isinstance(dim, (tuple, list)):
        if builtins.all(type(d) is int or _one_dim(d) for d in later_bools_as_ints(dim)):
            return
    elif _one_dim(dim):
        return
    raise TypeError(f"{name}() received an invalid combination of arguments: 'dim' must be an "
                    f"int or a tuple of ints, not {type(dim).__name__}")


def _one_dim(dim) -> bool:
    # (PyTorch's parser: an int or __index__ object, no bool, or a one-element int tensor)
    if isinstance(dim, Tensor):
        return dim._data.dtype.kind in "iub" and dim._data.size == 1
    return index_or_none(dim) is not None


def _tensor_dim(dim):
    """A one-element integer or bool tensor given as dim, as its int (PyTorch's int list
    takes it: ``tensor(True)`` is dim 1); any other value unchanged."""
    if isinstance(dim, Tensor) and dim._data.dtype.kind in "iub" and dim._data.size == 1:
        return int(dim._data.reshape(-1)[0])
    return dim


# --------------------------------------------------------------------------------------------
# Extremes.


@tensor_method
def amax(input, dim=(), keepdim: bool = False, *, out=None, axis=NOT_GIVEN, keepdims=NOT_GIVEN):
    """Largest value over ``dim`` (all dims by default); tied maxima share the gradient evenly.

    Args:
        input: a non-empty tensor (or non-empty along ``dim``).
        dim: an int, a tuple or list of them; ``()`` for all dims.
        keepdim: keep reduced dims with size 1.
        out: a tensor to write the result into.

    Returns:
        The maxima (NaN wherever a NaN is among the values).
    """
    refuse_complex(input, '"max_values_cpu" not implemented for \'ComplexFloat\'')
    if axis is not NOT_GIVEN or keepdims is not NOT_GIVEN:
        dim, keepdim = numpy_aliases("amax", dim, keepdim, axis, keepdims, ())
    _keepdim_arg(keepdim, "amax")
    if (type(input) is Tensor and out is None and (type(dim) is int or type(dim) is tuple
                                                   and not dim)
            and input._data.size and input._data.dtype.kind == "f"):  # the common call, directly
        # (all dims too, amax(x): fwd + bwd 0.87 of its time, op_overhead.py's case, s29 SP46)
        return apply_checked(_AMAX, input, _reduce_attrs(dim, keepdim, input._data.ndim))
    input, dim = input_tensor(input, 'amax'), _tensor_dim(dim)
    dims = reduction_dims(dim, input._data.ndim)
    if not input._data.size:  # (a non-empty tensor has no empty dim to refuse)
        _check_nonempty(input, dims, "amax")
    return write_out(out, apply(_AMAX, input, dim=dims, keepdim=keepdim))


@tensor_method
def amin(input, dim=(), keepdim: bool = False, *, out=None, axis=NOT_GIVEN, keepdims=NOT_GIVEN):
    """Smallest value over ``dim``; as ``amax``."""
    refuse_complex(input, '"min_values_cpu" not implemented for \'ComplexFloat\'')
    if axis is not NOT_GIVEN or keepdims is not NOT_GIVEN:
        dim, keepdim = numpy_aliases("amin", dim, keepdim, axis, keepdims, ())
    _keepdim_arg(keepdim, "amin")
    if (type(input) is Tensor and out is None and (type(dim) is int or type(dim) is tuple
                                                   and not dim)
            and input._data.size and input._data.dtype.kind == "f"):  # the common call, directly
        return apply_checked(_AMIN, input, _reduce_attrs(dim, keepdim, input._data.ndim))
    input, dim = input_tensor(input, 'amin'), _tensor_dim(dim)
    dims = reduction_dims(dim, input._data.ndim)
    if not input._data.size:
        _check_nonempty(input, dims, "amin")
    return write_out(out, apply(_AMIN, input, dim=dims, keepdim=keepdim))


def _no_dim_given(dim, name: str) -> None:
    """None for a ``dim`` not given; a None given is PyTorch's TypeError (no overload of
    ``name`` takes it: max(x, None) reduced everything here)."""
    if dim is None:
        raise TypeError(f"{name}() received an invalid combination of arguments - got (Tensor, "
                        f"NoneType): dim must be an int")


def _keepdim_without_dim(name: str, keepdim, out=None):
    """PyTorch's TypeError for ``keepdim`` (or sum's ``out``) given without a dim: its
    all-elements form of ``name`` takes none (deltagrad returned a [1, ..., 1] or 0-d result)."""
    given = "out=Tensor" if out is not None else f"keepdim={type(keepdim).__name__}"
    raise TypeError(f"{name}() received an invalid combination of arguments - got (Tensor, "
                    f"{given}): it needs a dim")


def _extreme_along(input, dim, keepdim, arg_function, result_type, name):
    _keepdim_arg(keepdim, name)
    data = input._data
    dim = wrap_dim(dim, data.ndim)
    if data.ndim == 0:
        refuse_complex(input, f"{name}(): does not support complex input", RuntimeError)
        return result_type(input[()], _leaf(np.zeros((), dtype=np.int64)))
    if not data.size:
        _check_nonempty(input, (dim,), name)
    # (after the dim's and the size's checks, as PyTorch's order)
    refuse_complex(input, f"{name}(): does not support complex input", RuntimeError)
    # The array method (np.argmax's wrapper costs 1 us more) and the gather op itself: the
    # indices are in range by construction, so gather()'s checks are not needed, and the
    # squeezes are reshapes (max(x, 1) on 8 x 8: 12.2 -> 6 us).
    indices = arg_function(data, dim, None, keepdims=True)
    if indices.dtype != np.int64:
        indices = indices.astype(np.int64)
    values = apply(_GATHER, input, _leaf(indices), dim=dim)
    if not keepdim:
        shape = data.shape[:dim] + data.shape[dim + 1:]
        values = reshape(values, shape)
        indices = indices.reshape(shape)
    # PyTorch's one node, MaxBackward0 (print(x.max(1)) shows it); only with a graph: +0.6 us
    # on max(x, 1) of 8 x 8 requiring grad, 6.8 -> 7.5 (process time, 6 alternated rounds)
    if values._op is not None:
        name_node(values, "MaxBackward0" if name == "max" else "MinBackward0")
    return result_type(values, _leaf(indices))


@tensor_method
def max(input, dim=NOT_GIVEN, keepdim: bool = NOT_GIVEN, *, out=None,  # noqa: A001
        axis=NOT_GIVEN, keepdims=NOT_GIVEN, other=None):
    """``max(input)``: the largest value (tied maxima share the gradient).
    ``max(input, dim, keepdim=False)``: a ``(values, indices)`` named tuple; the gradient goes
    to the returned index, the first maximum (NaN counts as the largest).
    ``max(input, other)``: the elementwise ``maximum``.

    Args:
        input: a tensor.
        dim: the dim to reduce, or another tensor.
        keepdim: keep the reduced dim with size 1.
        out: a tensor (or a pair for the dim form) to write the result into.
    """
    if (dim is NOT_GIVEN and keepdim is NOT_GIVEN and axis is NOT_GIVEN and out is None
            and other is None and keepdims is NOT_GIVEN and type(input) is Tensor
            and input._data.size and input._data.dtype.kind == "f"):
        # x.max() of floats, the common call, directly (0.91 of its time, fwd + bwd on
        # op_overhead.py's case, alternated, thread time, s29 SP46; min's too)
        return apply_checked(_AMAX, input, _ALL_SHARED)
    if dim is None or dim is NOT_GIVEN:  # (max(x, None): PyTorch's TypeError, s26 BR14)
        dim = _no_dim_given(dim, "max")
        if keepdim is not NOT_GIVEN and axis is NOT_GIVEN:  # (even False: s27 BR15)
            _keepdim_without_dim("max", keepdim)
    if keepdim is NOT_GIVEN:
        keepdim = False
    if axis is not NOT_GIVEN or keepdims is not NOT_GIVEN:
        dim, keepdim = numpy_aliases("max", dim, keepdim, axis, keepdims)
    input = input_tensor(input, 'max')
    if other is not None:  # (max(input, other=t): PyTorch's keyword form of the binary one)
        if dim is not None:
            raise TypeError("max() received an invalid combination of arguments: both dim and "
                            "other")
        dim = tensor_arg(other, "other", "max")
    if isinstance(dim, Tensor):
        if keepdim is not False:  # (PyTorch's parser: max(input, other) takes no third)
            raise TypeError(f"max() received an invalid combination of arguments - got "
                            f"(Tensor, Tensor, {type(keepdim).__name__})")
        return write_same_kind("max", out, maximum(input, dim))
    if dim is None:  # (a complex input's dim form and max(input, other) refuse below)
        if keepdim is not False:  # (PyTorch's max(input) takes no keepdim: no silent 0-d)
            _keepdim_without_dim("max", keepdim)
        refuse_complex(input, '"max_all" not implemented for \'ComplexFloat\'')
        _check_nonempty(input, None, "max")
        return write_same_kind("max", out, apply(_AMAX, input, dim=None, keepdim=False,
                                                 share_nan=True))
    return write_out(out, _extreme_along(input, dim, keepdim, np.ndarray.argmax, MaxResult,
                                         "max"))


@tensor_method
def min(input, dim=NOT_GIVEN, keepdim: bool = NOT_GIVEN, *, out=None,  # noqa: A001
        axis=NOT_GIVEN, keepdims=NOT_GIVEN, other=None):
    """As ``max``, for the smallest value (``min(input, other)`` is ``minimum``)."""
    if (dim is NOT_GIVEN and keepdim is NOT_GIVEN and axis is NOT_GIVEN and out is None
            and other is None and keepdims is NOT_GIVEN and type(input) is Tensor
            and input._data.size and input._data.dtype.kind == "f"):
        return apply_checked(_AMIN, input, _ALL_SHARED)
    if dim is None or dim is NOT_GIVEN:  # (min(x, None): PyTorch's TypeError, s26 BR14)
        dim = _no_dim_given(dim, "min")
        if keepdim is not NOT_GIVEN and axis is NOT_GIVEN:  # (even False: s27 BR15)
            _keepdim_without_dim("min", keepdim)
    if keepdim is NOT_GIVEN:
        keepdim = False
    if axis is not NOT_GIVEN or keepdims is not NOT_GIVEN:
        dim, keepdim = numpy_aliases("min", dim, keepdim, axis, keepdims)
    input = input_tensor(input, 'min')
    if other is not None:  # (min(input, other=t): PyTorch's keyword form of the binary one)
        if dim is not None:
            raise TypeError("min() received an invalid combination of arguments: both dim and "
                            "other")
        dim = tensor_arg(other, "other", "min")
    if isinstance(dim, Tensor):
        if keepdim is not False:  # (PyTorch's parser: max(input, other) takes no third)
            raise TypeError(f"min() received an invalid combination of arguments - got "
                            f"(Tensor, Tensor, {type(keepdim).__name__})")
        return write_same_kind("min", out, minimum(input, dim))
    if dim is None:  # (a complex input's dim form and min(input, other) refuse below)
        if keepdim is not False:  # (PyTorch's min(input) takes no keepdim: no silent 0-d)
            _keepdim_without_dim("min", keepdim)
        refuse_complex(input, '"min_all" not implemented for \'ComplexFloat\'')
        _check_nonempty(input, None, "min")
        return write_same_kind("min", out, apply(_AMIN, input, dim=None, keepdim=False,
                                                 share_nan=True))
    return write_out(out, _extreme_along(input, dim, keepdim, np.ndarray.argmin, MinResult,
                                         "min"))


def write_same_kind(name: str, out, result: Tensor, unsafe: bool = False):
    """``out=`` taking a cast of the result into the same or a higher dtype category (an int
    result into a float ``out``), as PyTorch's full and elementwise max / min / sum / mean;
    a lower category (float into int, int into bool) is a RuntimeError. ``out`` is resized
    where its shape differs (``unsafe``: any cast)."""
    if out is not None and isinstance(out, Tensor) and out.dtype != result.dtype:
        if not unsafe and _CATEGORY[result._data.dtype.kind] > _CATEGORY[out._data.dtype.kind]:
            raise RuntimeError(f"{name}: result type {result.dtype} can't be cast to the "
                               f"desired output type {out.dtype}")
        if not (result.requires_grad or out.requires_grad):  # (else write_out's message)
            result = result.to(out.dtype)
    return write_out(out, result)


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_ALL_SHARED = {"dim": None, "keepdim": False, "share_nan": True}  # (max(x) / min(x)'s attrs)


def _arg_extreme(input, dim, keepdim, name):
    if type(input) is Tensor and (keepdim is False or keepdim is True) and (
            type(data := input._data) is _ndarray and data.dtype.kind in "fiu" and data.size):
        # The common calls (a non-empty tensor, an int dim or None): the checks below inline,
        # and NumPy's int64 indices kept (astype copied them). OpInfo's samples (0-d) fwd
        # argmax 1.60 -> 1.01 x PyTorch's time, argmin 1.62 -> 1.00 (opinfo_overhead.py
        # --rounds 11, two runs each of the code before and after, alternated; s16 SP).
        if dim is None:
            return _leaf(np.asarray(getattr(data, name)(axis=None, keepdims=keepdim),
                                    dtype=np.int64))
        if type(dim) is int:
            ndim = data.ndim
            if ndim == 0:
                if -1 <= dim <= 0:
                    return _leaf(np.zeros((), dtype=np.int64))
            elif -ndim <= dim < ndim:
                index = getattr(data, name)(axis=dim, keepdims=keepdim)
                return _leaf(index.astype(np.int64, copy=False))
    refuse_complex(input, f"{name}(): does not support complex input", RuntimeError)
    _keepdim_arg(keepdim, name)
    input = input_tensor(input, name)
    if dim is not None and type(dim) is not int:  # (PyTorch's parser, before the dtype check)
        dim = int_arg(dim, "dim", name)
    if _kind(input) == "b":
        raise RuntimeError(f"{name}(): does not support bool input")
    data = input._data
    # The array's method (meta arrays have it too), not np.argmax, whose Python wrapper cost
    # 1-4 us of a 10 us call on [5, 5] (timeit, loaded machine).
    function = getattr(data, name)
    if dim is None:
        if data.size == 0:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for "
                             "input.numel() == 0.")
        index = function(axis=None, keepdims=keepdim)
        return _leaf(np.asarray(index, dtype=np.int64))
    dim = wrap_dim(dim, input.ndim)
    if data.ndim == 0:
        return _leaf(np.zeros((), dtype=np.int64))
    if data.shape[dim] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {dim} to have non-zero size.")
    return _leaf(function(axis=dim, keepdims=keepdim).astype(np.int64))


def argmax(input, dim=None, keepdim: bool = False, *, out=None, axis=NOT_GIVEN,
           keepdims=NOT_GIVEN):
    """Index of the first largest value along ``dim`` (of the flattened input if None).

    Args:
        input: a non-boolean, non-complex tensor.
        dim: the dim (``axis`` too), or None to flatten.
        keepdim: keep the reduced dim (all dims, if None) with size 1 (``keepdims`` too).

    Returns:
        int64 indices.
    """
    # (no numpy_names wrapper call: 0.79-0.88 x the time before, 0.82-0.99 x PyTorch's)
    if axis is not NOT_GIVEN or keepdims is not NOT_GIVEN:
        dim, keepdim = numpy_aliases("argmax", dim, keepdim, axis, keepdims)
    if out is not None:
        return write_out(out, _arg_extreme(input, dim, keepdim, "argmax"))
    return _arg_extreme(input, dim, keepdim, "argmax")


def argmin(input, dim=None, keepdim: bool = False, *, out=None, axis=NOT_GIVEN,
           keepdims=NOT_GIVEN):
    """Index of the first smallest value; as ``argmax``."""
    if axis is not NOT_GIVEN or keepdims is not NOT_GIVEN:
        dim, keepdim = numpy_aliases("argmin", dim, keepdim, axis, keepdims)
    if out is not None:
        return write_out(out, _arg_extreme(input, dim, keepdim, "argmin"))
    return _arg_extreme(input, dim, keepdim, "argmin")


def _arg_method(name: str):
    """The Tensor method ``name``: the function without ``out=`` (PyTorch's methods refuse it,
    ``None`` too, with a TypeError)."""

    def method(input, dim=None, keepdim: bool = False, *, axis=NOT_GIVEN, keepdims=NOT_GIVEN,
               out=NOT_GIVEN):
        if axis is not NOT_GIVEN or keepdims is not NOT_GIVEN:
            dim, keepdim = numpy_aliases(name, dim, keepdim, axis, keepdims)
        if out is not NOT_GIVEN:
            raise TypeError(f"{name}() got an unexpected keyword argument 'out'")
        return _arg_extreme(input, dim, keepdim, name)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"The Tensor method of ``{name}`` (no ``out=``)."
    return tensor_method(method)


_arg_method("argmax")
_arg_method("argmin")


@tensor_method
@numpy_names
def aminmax(input, *, dim=None, keepdim: bool = False, out=None):
    """``(min, max)`` over ``dim`` (one int, or None for all), as a named tuple; each gradient as
    ``amin`` / ``amax``."""
    refuse_complex(input, '"aminmax_cpu" not implemented for \'ComplexFloat\'')
    _keepdim_arg(keepdim, "aminmax")
    if dim is not None:
        dim = int_arg(dim, "dim", "aminmax")  # (one int: no tuple of dims)
    input = input_tensor(input, 'aminmax')
    dims = None if dim is None else reduction_dims(dim, input.ndim)
    if dims is None and input._data.size == 0:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the "
                           "operation has no identity.")
    if dims is not None:
        _check_nonempty(input, dims, "aminmax")
    low, high = (rename_node(apply(op, input, dim=dims, keepdim=keepdim), "AminmaxBackward0")
                 for op in (_AMIN, _AMAX))  # (PyTorch's one node of both; s28 SL17)
    return write_out(out, AminmaxResult(low, high))


# --------------------------------------------------------------------------------------------
# Logical reductions and counts (no gradients).


@tensor_method
@numpy_names
def count_nonzero(input, dim=None):
    """Number of non-zero elements over ``dim`` (an int, a tuple, or None), as int64."""
    input = input_tensor(input, 'count_nonzero')
    data = input._data
    dims = reduction_dims(list_item(dim), input.ndim)  # (int[]: an __index__ object too)
    if type(data) is _ndarray and data.dtype.kind in "biufc":
        # NumPy's C count for all elements, the reduce method along dims, not np.sum's Python
        # dispatch: the same counts; [5, 5] 8.8 -> 0.9 us (all), 11.7 -> 9.9 (a dim) (timeit).
        if dims is None:
            return _leaf(np.asarray(np.count_nonzero(data), dtype=np.int64))
        return _leaf(np.add.reduce(data != 0, dims, np.int64))
    return _leaf(np.sum(data != 0, axis=dims, dtype=np.int64))


@tensor_method(name="count_nonzero")
def _count_nonzero_method(input, dim=None):
    """``Tensor.count_nonzero``: as ``count_nonzero``; the method's parser also reads a
    one-element integer or bool tensor as the dim (``torch.count_nonzero``'s refuses it)."""
    if isinstance(dim, Tensor) and dim._data.size == 1 and dim._data.dtype.kind in "biu":
        dim = int(dim._data.reshape(()))
    return count_nonzero(input, dim)


_count_nonzero_method.__name__ = _count_nonzero_method.__qualname__ = "count_nonzero"


def _logical(function, input, dim, keepdim, out):
    if (out is None and type(input) is Tensor and (keepdim is False or keepdim is True)
            and (dim is None or type(dim) is int) and type(data := input._data) is _ndarray
            and data.dtype.kind in "bfi"):
        # The common call (no out=, an int dim or None, not uint8): the reduction with the
        # checks below inline. OpInfo's samples (0-d) fwd any 1.51 -> 1.45 x PyTorch's time,
        # all 1.57 -> 1.39 (opinfo_overhead.py --rounds 11, two runs each of the code before
        # and after, alternated; s16 SP).
        dims = reduction_dims(dim, data.ndim)
        ufunc = np.logical_or if function is np.any else np.logical_and
        return _leaf(np.asarray(ufunc.reduce(data, dims, np.bool_, None, keepdim)))
    _keepdim_arg(keepdim, function.__name__)
    input = input_tensor(input, function.__name__)
    dims = reduction_dims(dim, input.ndim)
    if isinstance(dim, (tuple, list)) and not dim:
        result = input._data != 0  # PyTorch's any/all over dim=() reduce nothing
    elif type(input._data) is _ndarray and input._data.dtype.kind in "biufc":
        # The reduction np.any / np.all run, without their Python dispatch (the same values;
        # [5, 5]: any() 6.5 -> 4.7 us, all(dim=0, keepdim=True) 8.0 -> 4.4, timeit, loaded)
        ufunc = np.logical_or if function is np.any else np.logical_and
        result = np.asarray(ufunc.reduce(input._data, dims, np.bool_, None, keepdim))
    else:
        result = np.asarray(function(input._data, axis=dims, keepdims=keepdim))
    if isinstance(out, Tensor) and out._data.dtype in (np.bool_, np.uint8):
        result = result.astype(out._data.dtype)  # (PyTorch takes either out=, any input)
    elif input._data.dtype == np.uint8:  # PyTorch keeps uint8 here (a legacy of byte masks)
        result = result.astype(np.uint8)
    return write_out(out, _leaf(result))


@tensor_method
@numpy_names
def any(input, dim=None, keepdim: bool = False, *, out=None):  # noqa: A001 - PyTorch's name
    """Whether any element over ``dim`` (an int, a tuple, or None) is non-zero (bool)."""
    return _logical(np.any, input, dim, keepdim, out)


@tensor_method
@numpy_names
def all(input, dim=None, keepdim: bool = False, *, out=None):  # noqa: A001 - PyTorch's name
    """Whether every element over ``dim`` is non-zero (bool; True for an empty input)."""
    return _logical(np.all, input, dim, keepdim, out)


# --------------------------------------------------------------------------------------------
# logsumexp (softmax / log_softmax: softmax.py).


@tensor_method
@numpy_names
def logsumexp(input, dim, keepdim: bool = False, *, out=None):
    """``log(sum(exp(input), dim))``, computed stably; integer input gives the default dtype.

    Args:
        input: a tensor.
        dim: an int or a tuple of ints (required, as in PyTorch).
        keepdim: keep reduced dims with size 1.
        out: a tensor to write the result into.
    """
    if (type(input) is Tensor and out is None and type(keepdim) is bool
            and input._data.dtype.kind == "f" and (type(dim) is int or type(dim) is tuple and dim
                                                   and builtins.all(type(d) is int for d in dim))):
        # The common call (a float tensor, an int or a non-empty tuple of ints for dim), whose
        # checks below cannot fire but reduction_dims' (in _reduce_attrs): straight to the op.
        # logsumexp(x, dim).sum() fwd + bwd on 4 small cases, this / HEAD alternated in one
        # process, thread time, both import orientations: 0.90 (s29 SP49).
        return apply_checked(_LOGSUMEXP, input, _reduce_attrs(dim, keepdim, input._data.ndim))
    if dim is None:  # (PyTorch's dim is a required tuple of ints)
        raise TypeError("logsumexp(): argument 'dim' must be tuple of ints, not NoneType")
    _keepdim_arg(keepdim, "logsumexp")
    input, dim = input_tensor(input, 'logsumexp'), _tensor_dim(dim)
    if isinstance(dim, (tuple, list)) and not dim and input.ndim:
        if not keepdim and input.numel():  # (PyTorch's: its [1, ...] result meets a 0-d out)
            raise RuntimeError(f"output with shape [] doesn't match the broadcast shape "
                               f"{[1] * input.ndim}")
        dim = tuple(range(input.ndim))  # (else PyTorch reduces every dim; found by SL5)
    # (out= of a wider float takes the result, as PyTorch's; an integer one raises)
    return write_same_kind("logsumexp", out, apply(
        _LOGSUMEXP, input, dim=reduction_dims(dim, input._data.ndim), keepdim=keepdim))
