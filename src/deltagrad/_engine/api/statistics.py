"""Statistics and numerical helpers: cov, corrcoef, histogram, trapezoid (trapz) and
cumulative_trapezoid, isin, unravel_index, renorm, binomial draws, the incomplete gamma
functions igamma / igammac, and the deprecated end-inclusive ``range``.

cov, corrcoef, trapezoid and renorm are written from differentiable ops (in PyTorch's order of
operations), so their gradients are those ops'; igamma / igammac are primitives
(ops/statistics.py); histogram, isin and unravel_index take no gradient. The scatters into a
view and put are in api/indexing.py, is_inference in api/attributes.py.
"""

from __future__ import annotations

import builtins
import math
import numbers
import warnings
from collections.abc import Sequence

import numpy as np

from .. import stream
from ..dtypes import _Default
from ..errors import warn_at_caller
from ..modes import MAPPED, refuse_mapped
from ..node_names import rename_node
from ..ops import OPS
from ..promotion import result_type
from ..random import numpy_generator, torch_source
from ..tensor import Tensor, _leaf, _lift, apply, tensor_method
from ._common import return_type, wrap_dim, write_out
from ._pointwise import torch_name
from ._pointwise import write_out as write_pointwise_out
from .complex import complex as dg_complex
from .creation import _numpy_dtype, _options, factory_out, linspace
from .inplace import _wrapping
from .norms import vector_norm
from .pointwise import where
from .random import _sampled
from .recorded_steps import recorded_step

__all__ = ["binomial", "corrcoef", "cov", "cumulative_trapezoid", "histogram", "igamma",
           "igammac", "isin", "range", "renorm", "trapezoid", "trapz", "unravel_index"]

HistogramResult = return_type("histogram", "hist bin_edges")

_IGAMMA, _IGAMMAC = OPS["igamma"], OPS["igammac"]


def _require_tensor(name: str, argument: str, value) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name}(): argument '{argument}' must be Tensor, not "
                        f"{type(value).__name__}")
    return value


def _to_float(x: Tensor) -> Tensor:
    """Integer input computes in the default float dtype, as PyTorch's floating functions."""
    return x if x._data.dtype.kind in "fcV" else x.to(_Default.float)  # (V: bfloat16)


# ==============================================================================================
# Covariance and correlation.


def _check_weights(name: str, weights: Tensor, observations: int, integral: bool) -> None:
    if weights.ndim > 1:
        raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got "
                           f"{name} with {weights.ndim} dimensions")
    if weights.numel() != observations:
        raise RuntimeError(f"cov(): expected {name} to have the same numel as there are "
                           f"observations in the input but got {weights.numel()} != "
                           f"{observations}")
    kind = weights._data.dtype.kind
    if integral and kind not in "iu":
        raise RuntimeError(f"cov(): expected {name} to have integral dtype but got {name} with "
                           f"{torch_name(weights._data.dtype)} dtype")
    if not integral and kind != "f":
        raise RuntimeError(f"cov(): expected {name} to have floating point dtype but got {name} "
                           f"with {torch_name(weights._data.dtype)} dtype")
    if weights._data.size and weights._data.min() < 0:
        raise RuntimeError(f"cov(): {name} cannot be negative")


@tensor_method
def cov(input, *, correction: int = 1, fweights=None, aweights=None) -> Tensor:
    """The covariance matrix of the variables in the rows of ``input`` (observations in the
    columns), as NumPy's ``cov``.

    Args:
        input: a 0-, 1- or 2-D tensor (a 1-D or 0-D one is one variable); integers compute in
            the default float dtype, booleans raise.
        correction: subtracted from the number of observations (1: Bessel's correction).
        fweights: integer frequency weights, one per observation (non-negative).
        aweights: floating observation weights, one per observation (non-negative).

    Returns:
        A ``(variables, variables)`` tensor, squeezed (a 0-d tensor for one variable). Where the
        degrees of freedom are <= 0 it warns and divides by 0 (inf / nan), as PyTorch.

    >>> import deltagrad as dg
    >>> dg.cov(dg.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]))
    tensor([[ 1., -1.],
            [-1.,  1.]])
    """
    input = _require_tensor("cov", "input", input)
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {input.ndim} dimensions")
    if input._data.dtype == np.bool_:
        raise RuntimeError("cov(): bool dtype is not supported for input")
    if not isinstance(correction, numbers.Integral) or isinstance(correction, bool):
        raise TypeError(f"cov(): argument 'correction' must be int, not "
                        f"{type(correction).__name__}")
    x = _to_float(input).reshape(1, -1) if input.ndim < 2 else _to_float(input)
    observations = x.shape[1]
    weights = None
    if fweights is not None:
        fweights = _require_tensor("cov", "fweights", fweights)
        _check_weights("fweights", fweights, observations, integral=True)
        weights = fweights
    if aweights is not None:
        aweights = _require_tensor("cov", "aweights", aweights)
        _check_weights("aweights", aweights, observations, integral=False)
        weights = aweights if weights is None else weights * aweights
    if weights is None:
        average = x.mean(dim=1)
        norm_factor = _lift(observations - correction, None)
    else:
        weight_sum = weights.sum()
        if weight_sum.item() == 0:
            raise RuntimeError("cov(): weights sum to zero, can't be normalized")
        average = (x * weights).sum(dim=1) / weight_sum
        if correction == 0:
            norm_factor = weight_sum
        elif aweights is None:
            norm_factor = weight_sum - correction
        else:
            norm_factor = weight_sum - correction * (weights * aweights).sum() / weight_sum
    if norm_factor.item() <= 0:
        warn_at_caller("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                       "than the number of observations.")  # (meta_ops wraps cov: the user's line)
        norm_factor = norm_factor * 0
    centered = x - average.unsqueeze(1)
    weighted = centered if weights is None else centered * weights
    with np.errstate(divide="ignore", invalid="ignore"):  # (the warning above says it)
        # (complex variables: the conjugate transpose, PyTorch's E[(x - mean)(x - mean)^H])
        other = centered.t().conj() if centered.is_complex() else centered.t()
        return (weighted @ other / norm_factor).squeeze()


@tensor_method
def corrcoef(input) -> Tensor:
    """Pearson's correlation coefficients of the variables in the rows of ``input`` (``cov``
    scaled by the standard deviations, clipped to [-1, 1]; nan for a constant variable).

    Args:
        input: a 0-, 1- or 2-D tensor, as ``cov``.

    Returns:
        A ``(variables, variables)`` tensor, squeezed.
    """
    c = cov(input)
    with np.errstate(divide="ignore", invalid="ignore"):  # (a constant variable gives nan)
        if c.ndim == 0:
            return c / c  # (1, or nan)
        deviations = c.diagonal().sqrt()
        c = c / deviations.unsqueeze(1)
        c = c / deviations.unsqueeze(0)
    if c.is_complex():  # (PyTorch clips the real and imaginary parts each)
        return dg_complex(c.real.clip(-1, 1), c.imag.clip(-1, 1))
    return c.clip(-1, 1)


# ==============================================================================================
# Numerical integration.


def _integration_inputs(name: str, y, x, dx, dim) -> tuple:
    y = _require_tensor(name, "y", y)
    if x is not None and not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'x' must be Tensor, not {type(x).__name__} (give "
                        "a number as dx=)")
    if x is not None and dx is not None:
        raise TypeError(f"{name}(): give x or dx, not both")
    if dim is None:  # (PyTorch's argument parser, before the 0-d check; s27 SL15's soak)
        raise TypeError(f"{name}(): argument 'dim' must be int, not NoneType")
    if name == "trapezoid":  # (its dim first, and zeros for no samples before the dtypes)
        if y.ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        dim = wrap_dim(dim, y.ndim)
    if name == "trapezoid" and y.shape[dim] == 0:
        pass
    elif y._data.dtype == np.bool_ or (x is not None and x._data.dtype == np.bool_):
        which = "`y`" if x is None else "`x` or `y`"
        raise RuntimeError(f"{name}: received a bool input for {which}, but bool is not "
                           "supported")
    if isinstance(dx, Tensor):
        dx = dx.item()
    if dx is not None and isinstance(dx, complex):
        raise RuntimeError(f"{name}: Currently, we only support dx as a real number.")
    if name != "trapezoid":
        if y.ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        dim = wrap_dim(dim, y.ndim)
    return y, x, (1 if dx is None else dx), dim


def _spacings(name: str, y: Tensor, x: Tensor, dim: int) -> Tensor:
    """``x[i + 1] - x[i]`` along ``dim``, shaped to broadcast against the pairs of y."""
    n = y.shape[dim]
    if x.ndim == 1:
        if x.shape[0] != n:
            raise RuntimeError(f"{name}: There must be one `x` value for each sample point")
        shape = [1] * y.ndim
        shape[dim] = builtins.max(n - 1, 0)
        return (x[1:] - x[:-1]).reshape(shape)
    if x.ndim < y.ndim:  # PyTorch aligns x on the right, then slices it along y's dim
        x = x.reshape((1,) * (y.ndim - x.ndim) + tuple(x.shape))
    return _later(x, dim) - _earlier(x, dim)


def _later(x: Tensor, dim: int) -> Tensor:
    """``x[1:]`` along ``dim`` (empty when x has at most one element there)."""
    return x[(slice(None),) * dim + (slice(1, None),)]


def _earlier(x: Tensor, dim: int) -> Tensor:
    """``x[:-1]`` along ``dim``."""
    return x[(slice(None),) * dim + (slice(0, builtins.max(x.shape[dim] - 1, 0)),)]


def _pair_sums(y: Tensor, dim: int) -> Tensor:
    return _later(y, dim) + _earlier(y, dim)


def trapezoid(y, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """The trapezoidal rule along ``dim``: ``sum_i (x[i+1] - x[i]) (y[i+1] + y[i]) / 2``.

    PyTorch's two forms: ``trapezoid(y, x, *, dim=-1)`` with sample points ``x`` (1-D, with
    one value per sample of y along ``dim``, or broadcastable against y), and
    ``trapezoid(y, *, dx=1, dim=-1)`` with a constant spacing.

    Args:
        y: the values (integers compute in the default float dtype; no booleans).
        x: the sample points, a tensor.
        dx: the spacing, a real number.
        dim: the dim to integrate along.

    Returns:
        ``y`` with ``dim`` removed (zeros where it has no elements).

    >>> import deltagrad as dg
    >>> dg.trapezoid(dg.tensor([1.0, 2.0, 4.0]), dg.tensor([0.0, 1.0, 3.0]))
    tensor(7.5000)
    """
    y, x, dx, dim = _integration_inputs("trapezoid", y, x, dx, dim)
    if y.shape[dim] == 0:  # (PyTorch's zeros: y's dtype, no gradient, x unchecked)
        shape = y.shape[:dim] + y.shape[dim + 1:]
        return _leaf(np.zeros(shape, y._data.dtype))
    # PyTorch's arithmetic, in the operands' dtypes (integer sums of pairs wrap, as there; int8
    # y with float16 x is float16), integer sums in int64, then the halving makes floats:
    # (sum(y) - (y[0] + y[-1]) / 2) dx, or sum((x[i+1] - x[i]) (y[i+1] + y[i])) / 2.
    if x is None:
        ends = y.select(dim, 0) + y.select(dim, -1)
        return (y.sum(dim=dim) - ends * 0.5) * dx
    return (_spacings("trapezoid", y, x, dim) * _pair_sums(y, dim)).sum(dim=dim) / 2


def trapz(y, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """``trapezoid`` under its older name (``trapz(y, x, *, dim)`` / ``trapz(y, *, dx, dim)``).
    """
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """The running trapezoidal rule along ``dim``: ``out[k]`` integrates ``y[0..k+1]``.

    Args:
        y, x, dx, dim: as ``trapezoid``.

    Returns:
        ``y``'s shape with ``dim`` one shorter (no elements for 0 or 1 sample).
    """
    y, x, dx, dim = _integration_inputs("cumulative_trapezoid", y, x, dx, dim)
    if x is None:
        return (_pair_sums(y, dim) * (dx / 2)).cumsum(dim)  # (pairs wrap, as trapezoid's)
    return (_spacings("cumulative_trapezoid", y, x, dim) * _pair_sums(y, dim) / 2).cumsum(dim)


# ==============================================================================================
# Histogram.


def _histogram_edges(data: np.ndarray, bins, range) -> np.ndarray:  # noqa: A002 - PyTorch's
    if isinstance(bins, Tensor):
        edges = bins._data
        if edges.ndim != 1:
            raise RuntimeError(f"torch.histogramdd: bins tensor should have one dimension, but "
                               f"got {edges.ndim} dimensions in the bins tensor for dimension 0")
        if edges.dtype != data.dtype:
            raise RuntimeError(f"torch.histogramdd: input tensor and bins tensors should have "
                               f"the same dtype, but got input with dtype "
                               f"{torch_name(data.dtype).lower()} and bins for dimension 0 with "
                               f"dtype {torch_name(edges.dtype).lower()}")
        if edges.size < 2:
            raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {edges.size - 1} "
                               "for dimension 0")
        return edges
    if not isinstance(bins, numbers.Integral) or isinstance(bins, bool):
        raise TypeError(f"histogram(): argument 'bins' must be int or Tensor, not "
                        f"{type(bins).__name__}")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    if range is not None:
        low, high = (float(v) for v in range)
    elif data.size:
        low, high = float(data.min()), float(data.max())
    else:
        low, high = 0.0, 1.0
    if low > high:
        raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min "
                           f"{low:g} max {high:g} for dimension 0")
    if not (math.isfinite(low) and math.isfinite(high)):
        raise RuntimeError(f"torch.histogramdd: dimension 0's range [{low:g}, {high:g}] is not "
                           "finite")
    if low == high:
        low, high = low - 0.5, high + 0.5
    return linspace(low, high, int(bins) + 1, dtype=data.dtype)._data


@tensor_method
def histogram(input, bins=100, *, range=None, weight=None, density: bool = False,  # noqa: A002
              out=None) -> tuple:
    """The histogram of ``input``'s values (all of them, flattened). Not differentiable: the
    results require grad as the inputs do, a backward raises (PyTorch's RuntimeError).

    Args:
        input: a floating tensor.
        bins: the number of equal-width bins (100), or a 1-D tensor of bin edges (input's dtype),
            increasing.
        range: ``(min, max)`` for equal-width bins (default: the data's range, widened by 0.5
            each way when it is one value, [0, 1] when empty).
        weight: one weight per element (input's shape and dtype) instead of counts of 1.
        density: divide by the total and by the bin widths (a density that integrates to 1).
        out: a ``(hist, bin_edges)`` pair to write into.

    Returns:
        A ``(hist, bin_edges)`` named tuple, both in the input's dtype. Each bin holds values
        in ``[edge_i, edge_{i+1})``, the last one its right edge too; values outside are left
        out.

    >>> import deltagrad as dg
    >>> dg.histogram(dg.tensor([1.0, 2.0, 1.0]), bins=4, range=(0.0, 3.0)).hist
    tensor([0., 2., 1., 0.])
    """
    input = _require_tensor("histogram", "input", input)
    data = input._data
    if isinstance(bins, (bool, float)):  # (PyTorch's parser, before the dtype check)
        raise TypeError(f"histogram(): argument 'bins' must be int or Tensor, not "
                        f"{type(bins).__name__}")
    if isinstance(bins, Tensor) and range is not None:  # (no such overload in PyTorch)
        raise TypeError("histogram() received an invalid combination of arguments: bins as "
                        "a Tensor takes no range")
    # (float16 too, as PyTorch, where it computes equal-width bins of some data)
    if data.dtype.kind != "f" or (data.dtype == np.float16 and data.size
                                  and not isinstance(bins, Tensor)):
        raise NotImplementedError(f"\"histogramdd\" not implemented for "
                                  f"'{torch_name(data.dtype)}'")
    values = data.reshape(-1)
    weights = None
    if weight is not None:
        weight = _require_tensor("histogram", "weight", weight)
        if weight.numel() != input.numel():  # (any shape with as many elements, as PyTorch)
            raise RuntimeError(f"torch.histogramdd: if weight tensor is provided it should have "
                               f"the same shape as the input tensor excluding its innermost "
                               f"dimension, but got input with shape {list(data.shape)} and "
                               f"weight with shape {list(weight.shape)}")
        if weight._data.dtype != data.dtype:
            raise RuntimeError(f"torch.histogramdd: if weight tensor is provided, input tensor "
                               f"and weight tensor should have the same dtype, but got input"
                               f"({torch_name(data.dtype).lower()}), and weight"
                               f"({torch_name(weight._data.dtype).lower()})")
        weights = weight._data.reshape(-1)
    edges = _histogram_edges(data, bins, range)
    count = edges.size - 1
    inside = (values >= edges[0]) & (values <= edges[-1])  # (nan is outside)
    kept = values[inside]
    # NOTE: bin i holds [edge_i, edge_{i+1}); the right edge itself goes to the last bin.
    position = np.minimum(np.searchsorted(edges, kept, side="right") - 1, count - 1)
    hist = np.bincount(position, weights=None if weights is None else weights[inside],
                       minlength=count).astype(data.dtype)
    if density:
        # PyTorch's two roundings, by the total then by the widths (one product of the two
        # was an ulp off in 190 of 300 random float32 / float64 cases)
        hist = (hist / hist.sum(dtype=data.dtype)).astype(data.dtype)
        hist = (hist / np.diff(edges)).astype(data.dtype)
    # As PyTorch's: recorded without a derivative (over the tensors among the arguments; with
    # out=, PyTorch's out tensors join the graph: here they stay outside it, as before).
    sources = (input, weight, bins) if out is None else ()
    message = "derivative for aten::histogram is not implemented"
    result = HistogramResult(recorded_step(hist, sources, "NotImplemented", RuntimeError, message),
                             recorded_step(edges.copy(), sources, "NotImplemented", RuntimeError,
                                           message))
    return write_out(out, result)


# ==============================================================================================
# Membership and indices.


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False,
         out=None) -> Tensor:
    """Whether each element of ``elements`` occurs in ``test_elements`` (nan never does).

    Args:
        elements: a tensor, or a number (then the result is 0-d).
        test_elements: a tensor or a number (not both arguments numbers).
        assume_unique: a hint that both hold distinct values (the result is the same).
        invert: whether each element does *not* occur.
        out: a boolean tensor to write the result into.

    Returns:
        A boolean tensor of ``elements``' shape. Both compare in their common dtype.
    """
    if not (isinstance(elements, Tensor) and isinstance(test_elements, Tensor)):
        elements, test_elements = _isin_arguments(elements, test_elements)
    a, b = elements._data, test_elements._data
    for array in (a, b):
        if array.dtype.kind not in "iuf":
            raise RuntimeError(f"Unsupported input type encountered for isin(): "
                               f"{torch_name(array.dtype)}")
    dtype = result_type(a, b)
    a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
    if a.size * b.size <= 4096:
        # Small: every pair compared at once, not np.isin's sort (nan equals nothing in both;
        # 20 against 5 elements: 9.4 -> 4.8 us)
        found = (a.reshape(-1, 1) == b.reshape(-1)).any(1).reshape(a.shape)
        if invert:
            np.logical_not(found, out=found)
    else:
        found = np.isin(a, b, invert=invert, assume_unique=False)
    return write_pointwise_out("isin", out, _leaf(np.asarray(found, dtype=np.bool_)),
                               exact=True)  # (PyTorch: a bool out only)


def _isin_arguments(elements, test_elements) -> tuple:
    """``isin``'s arguments where one is a number: checked, the number lifted to a tensor."""
    tensors = [v for v in (elements, test_elements) if isinstance(v, Tensor)]
    for value in (elements, test_elements):
        if not isinstance(value, (Tensor, numbers.Number)) or isinstance(value, complex):
            raise TypeError(f"isin(): elements and test_elements must be tensors or real "
                            f"numbers, got {type(value).__name__}")
    if not tensors:
        raise TypeError("isin(): at least one of elements and test_elements must be a Tensor")
    if any(isinstance(v, (bool, np.bool_)) for v in (elements, test_elements)):
        raise RuntimeError("Unsupported input type encountered for isin(): Bool")
    like = tensors[0]
    return tuple(v if isinstance(v, Tensor) else _lift(v, like)
                 for v in (elements, test_elements))


def _shape_of(shape) -> tuple:
    if isinstance(shape, Tensor) or not isinstance(shape, (numbers.Integral, Sequence)):
        raise TypeError(f"expected 'shape' to be int or sequence of ints, but got "
                        f"{type(shape)}")
    sizes = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)
    for size in sizes:
        if not isinstance(size, numbers.Integral):  # (a bool is an int here, as PyTorch's)
            raise TypeError(f"expected 'shape' sequence to only contain ints, but got "
                            f"{type(size)}")
    if any(size < 0 for size in sizes):
        raise ValueError(f"'shape' cannot have negative values, but got {tuple(sizes)}")
    return tuple(int(size) for size in sizes)


def unravel_index(indices, shape) -> tuple:
    """The coordinates, in an array of ``shape``, of flat (row-major) ``indices``.

    Args:
        indices: an integer tensor. As in PyTorch, an index outside ``[0, prod(shape))``
            wraps around (it is taken modulo the size): -1 is the last element.
        shape: an int or a sequence of ints (no negative sizes).

    Returns:
        A tuple of ``len(shape)`` int64 tensors, each of ``indices``' shape.

    >>> import deltagrad as dg
    >>> dg.unravel_index(dg.tensor([4, 1]), (2, 3))
    (tensor([1, 0]), tensor([1, 1]))
    """
    if not isinstance(indices, Tensor):
        raise TypeError(f"unravel_index(): argument 'indices' must be Tensor, not "
                        f"{type(indices).__name__}")
    data = indices._data
    if data.dtype.kind not in "iu":
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    sizes = _shape_of(shape)
    if 0 in sizes:
        raise RuntimeError("ZeroDivisionError")
    remaining = data.astype(np.int64)
    coordinates = []
    for size in reversed(sizes):
        coordinates.append(_leaf(np.mod(remaining, size)))
        remaining = np.floor_divide(remaining, size)
    return tuple(reversed(coordinates))


# ==============================================================================================
# renorm.


@tensor_method
def renorm(input, p: float, dim: int, maxnorm: float) -> Tensor:
    """Each slice of ``input`` along ``dim`` (``input.select(dim, i)``) whose ``p``-norm
    exceeds ``maxnorm``, scaled down to norm ``maxnorm``; the others unchanged.

    As PyTorch, the scale is ``maxnorm / (norm + 1e-7)``, and the gradient runs through it.

    Args:
        input: a floating tensor with at least 2 dims.
        p: the norm's order (> 0; ``inf`` allowed).
        dim: the dim whose slices are renormalized.
        maxnorm: the largest norm kept (>= 0).

    Returns:
        The renormalized tensor.
    """
    input = _require_tensor("renorm", "input", input)
    if input.ndim < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.ndim} "
                           "dimensions")
    if input._data.dtype.kind != "f" and not input.dtype.is_floating_point:  # (bfloat16: "V")
        raise NotImplementedError(f"\"renorm_out\" not implemented for "
                                  f"'{torch_name(input._data.dtype)}'")
    dim = wrap_dim(dim, input.ndim)
    if not p > 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if not maxnorm >= 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm:g}")
    others = tuple(d for d in builtins.range(input.ndim) if d != dim)
    norms = vector_norm(input, p, others, keepdim=True)
    if not input.requires_grad:
        return input * where(norms > maxnorm, maxnorm / (norms + 1e-7), _lift(1.0, norms))
    # The norms that scale are taken over the slices that scale only: PyTorch's rule passes
    # the gradient of every other slice through unchanged (a slice with a nan, whose norm's
    # gradient would be nan, too), where the masked branch's 0 * nan would reach the input.
    scales = norms.detach() > maxnorm
    norms = vector_norm(where(scales, input, _lift(0.0, input)), p, others, keepdim=True)
    return rename_node(input * where(scales, maxnorm / (norms + 1e-7), _lift(1.0, norms)),
                       "RenormBackward0")  # (PyTorch's node; s28 SL17)


# ==============================================================================================
# Draws.


def binomial(count, prob, generator=None) -> Tensor:
    """Binomial draws: the number of successes in ``count`` trials of probability ``prob``.

    Args:
        count: a floating tensor of trial counts (a count <= 0 gives 0).
        prob: a floating tensor of probabilities, count's dtype (<= 0 gives 0, >= 1 gives
            the count); the two broadcast.
        generator: a ``deltagrad.Generator`` (default: the global one). On PyTorch's stream
            the draws are PyTorch's (its CPU kernel: inversion below n * p = 10, BTRS above,
            element by element in row-major order; a fractional count is used as it is). On
            NumPy's stream (``stream="pcg64"``) they are NumPy's, the count rounded down.

    Returns:
        The draws in the inputs' dtype (nan where prob is nan; where count is nan, PyTorch's
        loop never ends and deltagrad gives nan). Differentiating them gives zero gradients
        to count and prob, as deltagrad's other draws (PyTorch raises).
    """
    count = _require_tensor("binomial", "count", count)
    prob = _require_tensor("binomial", "prob", prob)
    if MAPPED:  # (vmap's randomness='same' with a mapped parameter)
        refuse_mapped("same", count, prob)
    if count._data.dtype.kind != "f":
        raise ValueError(f"binomial only supports floating-point dtypes for count, got: "
                         f"{torch_name(count._data.dtype)}")
    if prob._data.dtype != count._data.dtype:
        raise RuntimeError(f"Found dtype {torch_name(prob._data.dtype)} but expected "
                           f"{torch_name(count._data.dtype)}")
    n, p = np.broadcast_arrays(count._data, prob._data)
    with np.errstate(invalid="ignore"):
        missing = np.isnan(n) | np.isnan(p)
        trials = np.where(missing | ~(n > 0), 0, np.floor(np.where(missing, 0, n)))
        chance = np.clip(np.where(missing, 0, p), 0.0, 1.0)
    source = torch_source(generator)
    if source is None:
        draws = numpy_generator(generator).binomial(trials.astype(np.int64), chance)
        draws = np.where(missing, np.nan, draws)
    else:
        # PyTorch's kernel, element by element in row-major order, on the values as given
        # (nan and out-of-range values take the kernel's branches).
        draws = stream.binomial(source, n, p)
    draws = draws.astype(count._data.dtype)
    return _sampled(draws, (count, prob))


# ==============================================================================================
# Incomplete gamma functions.


def _igamma(name: str, op, input, other, out) -> Tensor:
    if out is None and type(input) is Tensor and type(other) is Tensor:  # (the common call)
        return apply(op, input, other)
    _require_tensor(name, "input", input)
    if not isinstance(other, Tensor):
        raise TypeError(f"{name}(): argument 'other' (position 2) must be Tensor, not "
                        f"{type(other).__name__}")
    return write_pointwise_out(name, out, apply(op, input, other))


@tensor_method
def igamma(input, other, *, out=None) -> Tensor:
    """The regularized lower incomplete gamma function ``P(input, other)``: ``gamma(a, x) /
    Gamma(a)`` with ``a = input``, ``x = other`` (``special.gammainc``).

    Args:
        input: ``a`` >= 0, a floating tensor (or integers with a floating ``other``).
        other: ``x`` >= 0; broadcast with ``input``.
        out: a tensor to write the result into.

    Returns:
        P(a, x) in the inputs' promoted floating dtype. Differentiable in ``x`` only: a
        gradient for ``a`` raises NotImplementedError at backward, as in PyTorch.

    >>> import deltagrad as dg
    >>> dg.igamma(dg.tensor([1.0]), dg.tensor([2.0]))  # 1 - exp(-2)
    tensor([0.8647])
    """
    return _igamma("igamma", _IGAMMA, input, other, out)


@tensor_method
def igammac(input, other, *, out=None) -> Tensor:
    """The regularized upper incomplete gamma function ``Q(input, other) = 1 - P`` (
    ``special.gammaincc``); arguments as ``igamma``."""
    return _igamma("igammac", _IGAMMAC, input, other, out)


for _name in ("igamma", "igammac", "renorm"):  # (inplace.py ran before these existed)
    tensor_method(_wrapping(_name), name=_name + "_")


# ==============================================================================================
# The deprecated torch.range.


def range(start=0, end=None, step=1, *, out=None, dtype=None, layout=None,  # noqa: A001
          device=None, requires_grad: bool = False) -> Tensor:
    """PyTorch's deprecated ``range``: ``start, start + step, ...`` up to and *including*
    ``end``; warns (UserWarning) as PyTorch does. Use ``arange``, which excludes ``end``.

    Args:
        start, end, step: numbers (``end`` is required).
        out: a tensor to write the result into.
        dtype: the result's dtype (default: the default float dtype, also for integers; an
            integer dtype truncates start, end and step first).
        layout, device: accepted for PyTorch's signature (strided, CPU).
        requires_grad: whether the result requires grad.

    Returns:
        ``floor((end - start) / step) + 1`` values.
    """
    if end is None:
        raise TypeError('range() missing 1 required positional arguments: "end"')
    if out is not None:  # (as the factories': made in out's dtype, resized without a warning;
        _options("range", device, layout)  # the call inside gives the deprecation warning)
        return factory_out("range", out, dtype, requires_grad,
                           lambda d: range(start, end, step, dtype=d))
    warnings.warn("torch.range is deprecated and will be removed in a future release because "
                  "its behavior is inconsistent with Python's range builtin. Instead, use "
                  "torch.arange, which produces values in [start, end).", UserWarning,
                  stacklevel=2)
    _options("range", device, layout)
    numpy_dtype = np.dtype(_numpy_dtype(dtype, _Default.float))
    if numpy_dtype == np.bool_:  # (no bool kernel in PyTorch)
        raise NotImplementedError("\"range_cpu\" not implemented for 'Bool'")
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    if numpy_dtype.kind in "iub":
        start, end, step = int(start), int(end), int(step)
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (step > 0 and start > end) or (step < 0 and start < end):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    size = int(math.floor((end - start) / step)) + 1
    if numpy_dtype.kind in "iub":
        values = start + step * np.arange(size, dtype=np.int64)
    else:
        values = start + step * np.arange(size, dtype=np.float64)
    result = _leaf(values.astype(numpy_dtype))
    if requires_grad:
        result.requires_grad_(True)
    return write_out(out, result)
