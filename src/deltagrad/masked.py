"""``deltagrad.masked``: PyTorch's ``torch.masked`` reductions and normalisations over a dense
tensor and a boolean validity mask (``torch.masked.sum(x, 1, mask=m)``); ``MaskedTensor``
itself is not implemented and refuses when made.

Each function sets the masked-out elements to the identity of its reduction (0 for sum, 1 for
prod, -inf / the dtype's minimum for amax and softmax, NaN for median, ...) with ``where`` and
then calls the ordinary operation, so gradients flow to the kept elements only. ``mask`` may be
any shape that broadcasts to the input's (not more dimensions); ``mask=None`` keeps everything.
Slices whose elements are all masked out give what the identity gives: 0 for sum, -inf for
amax, NaN for mean, median, var and std, as in PyTorch.

>>> import deltagrad as dg
>>> x = dg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
>>> m = dg.tensor([[True, False, True], [False, False, True]])
>>> dg.masked.sum(x, 1, mask=m)
tensor([4., 6.])
>>> dg.masked.mean(x, 1, mask=m)
tensor([2., 6.])
"""

from __future__ import annotations

import math
import sys

from ._engine.api.norms import vector_norm
from ._engine.api.pointwise import where
from ._engine.dtypes import bool as _bool
from ._engine.dtypes import float32, iinfo, int8, int16, int32, int64, uint8
from ._engine.tensor import Tensor
from .nn.functional import softmin as _dense_softmin

__all__ = ["MaskedTensor", "as_masked_tensor", "is_masked_tensor", "masked_tensor"]

_MESSAGE = ("deltagrad has no masked tensors (MaskedTensor); torch.masked's functions (sum, "
            "mean, softmax, ...) take a dense tensor and mask= instead")

# Integer and boolean inputs of sum / prod accumulate in int64 unless dtype= says otherwise.
_PROMOTED_TO_INT64 = (_bool, uint8, int8, int16, int32)


class MaskedTensor:
    """A tensor with a validity mask: making one raises NotImplementedError."""

    def __init__(self, *args, **kwargs) -> None:
        raise NotImplementedError(f"MaskedTensor is not supported: {_MESSAGE}")


def masked_tensor(data, mask, requires_grad: bool = False):
    """Not supported: raises NotImplementedError."""
    raise NotImplementedError(f"torch.masked.masked_tensor is not supported: {_MESSAGE}")


def as_masked_tensor(data, mask):
    """Not supported: raises NotImplementedError."""
    raise NotImplementedError(f"torch.masked.as_masked_tensor is not supported: {_MESSAGE}")


def is_masked_tensor(obj) -> bool:
    """False: deltagrad never makes masked tensors."""
    return False


# --------------------------------------------------------------------------- shared steps


def _dims(dim, ndim: int) -> tuple[int, ...]:
    """``dim`` as a sorted tuple of non-negative dims; None and () mean every dim (PyTorch's
    masked reductions read ``dim=()`` as "all", like the plain reductions)."""
    if dim is None or dim == ():
        return tuple(range(ndim))
    bound = max(ndim, 1)
    seen: list[int] = []
    for d in (dim,) if isinstance(dim, int) else dim:
        if d >= bound or d < -bound:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-bound}, {bound - 1}], but got {d})")
        if d % bound in seen:
            raise RuntimeError(f"dim={d} appears multiple times in the list of dims")
        seen.append(d % bound)
    return tuple(sorted(seen))


def _full_mask(input: Tensor, mask) -> Tensor:
    """The mask broadcast to the input's shape, as booleans."""
    if not isinstance(mask, Tensor):
        raise TypeError(f"torch.masked: mask must be a Tensor, got {type(mask).__name__}")
    if mask.ndim > input.ndim:
        raise IndexError("_input_mask expected broadcastable mask (got mask dimensionality "
                         f"higher than of the input): mask {tuple(mask.shape)}, input "
                         f"{tuple(input.shape)}")
    if tuple(mask.shape) != tuple(input.shape):
        mask = mask.broadcast_to(input.shape)
    return mask.to(_bool)


def _identity(name: str, input: Tensor, ord=None):
    """The value that leaves the reduction ``name`` unchanged (None: not defined for it)."""
    dt = input.dtype
    if name == "sum":
        return 0
    if name == "prod":
        return 1
    if name == "norm":
        return math.inf if ord == -math.inf else 0
    if name == "median":
        return math.nan
    if name in ("amax", "amin"):
        sign = -1 if name == "amax" else 1
        if dt.is_floating_point:
            return sign * math.inf
        if dt.is_complex and name == "amax":
            return complex(-math.inf, 0)
        if dt != _bool and not dt.is_complex:
            return iinfo(dt).min if name == "amax" else iinfo(dt).max
    raise NotImplementedError(f"identity of {name} on {dt} input")


def _fill(name: str, input: Tensor, mask, ord=None) -> Tensor:
    """The input with its masked-out elements replaced by the identity of ``name``."""
    if mask is None:
        return input
    return where(_full_mask(input, mask), input, _identity(name, input, ord))


def _reduce_dtype(input: Tensor, dtype):
    if dtype is not None:
        return dtype
    return int64 if input.dtype in _PROMOTED_TO_INT64 else input.dtype


def _count(input: Tensor, dim, keepdim: bool, mask) -> Tensor:
    """How many elements of each reduced slice are kept (int64)."""
    if mask is None:
        from ._engine.api.creation import ones
        kept = ones(tuple(input.shape), dtype=int64)
    else:
        kept = _full_mask(input, mask)
    return kept.sum(_dims(dim, input.ndim), keepdim=keepdim, dtype=int64)


# --------------------------------------------------------------------------- reductions


def sum(input: Tensor, dim=None, *, keepdim: bool = False, dtype=None, mask=None) -> Tensor:  # noqa: A001
    """Sum of the kept elements over ``dim`` (all dims when None); integers and booleans give
    int64."""
    dtype = _reduce_dtype(input, dtype)
    return _fill("sum", input, mask).sum(_dims(dim, input.ndim), keepdim=bool(keepdim),
                                         dtype=dtype)


def prod(input: Tensor, dim=None, *, keepdim: bool = False, dtype=None, mask=None) -> Tensor:
    """Product of the kept elements over ``dim``; integers and booleans give int64."""
    out = _fill("prod", input, mask).to(_reduce_dtype(input, dtype))
    for d in reversed(_dims(dim, input.ndim)):
        out = out.prod(d, keepdim=bool(keepdim)) if out.ndim else out.prod()
    return out


def cumsum(input: Tensor, dim: int, *, dtype=None, mask=None) -> Tensor:
    """Running sum along ``dim`` in which masked-out elements add nothing."""
    dtype = input.dtype if dtype is None else dtype
    d = _dims(dim, input.ndim)[0]
    return _fill("sum", input, mask).cumsum(d, dtype=dtype).to(dtype)


def cumprod(input: Tensor, dim: int, *, dtype=None, mask=None) -> Tensor:
    """Running product along ``dim`` in which masked-out elements multiply by 1."""
    dtype = input.dtype if dtype is None else dtype
    d = _dims(dim, input.ndim)[0]
    return _fill("prod", input, mask).cumprod(d, dtype=dtype).to(dtype)


def amax(input: Tensor, dim=None, *, keepdim: bool = False, dtype=None, mask=None) -> Tensor:
    """Largest kept element over ``dim`` (-inf, or the dtype's minimum, where none is kept)."""
    dtype = input.dtype if dtype is None else dtype
    filled = _fill("amax", input, mask)
    return filled.amax(_dims(dim, filled.ndim), keepdim=bool(keepdim)).to(dtype)


def amin(input: Tensor, dim=None, *, keepdim: bool = False, dtype=None, mask=None) -> Tensor:
    """Smallest kept element over ``dim`` (inf, or the dtype's maximum, where none is kept)."""
    dtype = input.dtype if dtype is None else dtype
    filled = _fill("amin", input, mask)
    return filled.amin(_dims(dim, filled.ndim), keepdim=bool(keepdim)).to(dtype)


def argmax(input: Tensor, dim: int | None = None, *, keepdim: bool = False, dtype=None,
           mask=None) -> Tensor:
    """Index of the largest kept element; returned in the input's dtype, as PyTorch does,
    unless ``dtype`` is given."""
    dtype = input.dtype if dtype is None else dtype
    return _fill("amax", input, mask).argmax(dim, keepdim=bool(keepdim)).to(dtype)


def argmin(input: Tensor, dim: int | None = None, *, keepdim: bool = False, dtype=None,
           mask=None) -> Tensor:
    """Index of the smallest kept element, in the input's dtype unless ``dtype`` is given."""
    dtype = input.dtype if dtype is None else dtype
    return _fill("amin", input, mask).argmin(dim, keepdim=bool(keepdim)).to(dtype)


def mean(input: Tensor, dim=None, *, keepdim: bool = False, dtype=None, mask=None) -> Tensor:
    """Mean of the kept elements (NaN where none is kept); floating or complex dtypes only."""
    source = "Optional" if dtype is not None else "Input"
    dtype = input.dtype if dtype is None else dtype
    if not (dtype.is_floating_point or dtype.is_complex):
        raise ValueError(f"mean(): Could not infer output dtype. {source} dtype must be either "
                         f"a floating point or complex dtype. Got: {dtype}")
    total = sum(input, dim, keepdim=keepdim, dtype=dtype, mask=mask)
    return total / _count(input, dim, bool(keepdim), mask)


def median(input: Tensor, dim: int = -1, *, keepdim: bool = False, dtype=None,
           mask=None) -> Tensor:
    """Median of the kept elements along one ``dim`` (the lower of the two middle ones, NaN
    where none is kept)."""
    dtype = input.dtype if dtype is None else dtype
    d = _dims(dim, input.ndim)[0]
    is_float = input.dtype.is_floating_point
    values = input if is_float else input.to(float32)
    out = _fill("median", values, mask).nanmedian(d, keepdim).values
    if is_float:
        return out
    if bool(out.isnan().any()):
        raise ValueError("masked median expects no fully masked out rows if dtype is not "
                         "floating point")
    return out.to(dtype)


def logsumexp(input: Tensor, dim=None, *, keepdim: bool = False, dtype=None,
              mask=None) -> Tensor:
    """log(sum(exp(x))) over the kept elements (-inf where none is kept)."""
    dtype = input.dtype if dtype is None else dtype
    return _fill("amax", input, mask).logsumexp(_dims(dim, input.ndim),
                                                keepdim=keepdim).to(dtype)


def logaddexp(input: Tensor, other: Tensor, *, dtype=None, input_mask=None,
              other_mask=None) -> Tensor:
    """log(exp(input) + exp(other)), each operand's masked-out elements counting as -inf."""
    dtype = input.dtype if dtype is None else dtype
    return _fill("amax", input, input_mask).logaddexp(
        _fill("amax", other, other_mask)).to(dtype)


def norm(input: Tensor, ord=2.0, dim=None, *, keepdim: bool = False, dtype=None,
         mask=None) -> Tensor:
    """Vector ``ord``-norm of the kept elements over ``dim`` (``linalg.vector_norm``)."""
    filled = _fill("norm", input, mask, ord)
    # (dtype= only when it casts: vector_norm refuses dtype=bfloat16 even on bfloat16 input)
    cast = None if dtype is None or dtype == input.dtype else dtype
    return vector_norm(filled, ord, _dims(dim, input.ndim), bool(keepdim), dtype=cast)


def _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, take_sqrt):
    if unbiased is not None and correction is not None:
        raise ValueError("torch.masked.var/std: give unbiased or correction, not both")
    corr = 1.0 if unbiased is None else (1.0 if unbiased else 0.0)
    if correction is not None:
        corr = float(correction)
    if dtype is None:
        dtype = input.dtype
        if not (dtype.is_floating_point or dtype.is_complex):
            dtype = float32
    work = dtype if (dtype.is_floating_point or dtype.is_complex) else float32
    count = _count(input, dim, True, mask)
    centred = input - sum(input, dim, keepdim=True, dtype=dtype, mask=mask) / count
    total = sum(centred * centred.conj(), dim, keepdim=keepdim, dtype=work, mask=mask)
    if not keepdim:
        count = count.reshape(total.shape)
    if corr != 0:
        real = total.real.dtype if work.is_complex else work
        count = (count.to(real) - corr).clamp(min=0)
    out = (total / count).to(dtype)
    return out.sqrt() if take_sqrt else out


def var(input: Tensor, dim=None, unbiased: bool | None = None, *, correction=None,
        keepdim: bool = False, dtype=None, mask=None) -> Tensor:
    """Variance of the kept elements (``correction`` 1 by default; NaN where none is kept)."""
    return _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, take_sqrt=False)


def std(input: Tensor, dim=None, unbiased: bool | None = None, *, correction=None,
        keepdim: bool = False, dtype=None, mask=None) -> Tensor:
    """Standard deviation of the kept elements."""
    return _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, take_sqrt=True)


# --------------------------------------------------------------------------- normalisations


def softmax(input: Tensor, dim: int, *, dtype=None, mask=None) -> Tensor:
    """Softmax along ``dim`` over the kept elements (masked-out ones get 0; a slice with none
    kept gives NaN)."""
    dtype = input.dtype if dtype is None else dtype
    d = _dims(dim, input.ndim)[0]
    return _fill("amax", input, mask).softmax(d, dtype=dtype)


def log_softmax(input: Tensor, dim: int, *, dtype=None, mask=None) -> Tensor:
    """Log-softmax along ``dim`` over the kept elements (masked-out ones get -inf)."""
    dtype = input.dtype if dtype is None else dtype
    d = _dims(dim, input.ndim)[0]
    return _fill("amax", input, mask).log_softmax(d, dtype=dtype)


def softmin(input: Tensor, dim: int, *, dtype=None, mask=None) -> Tensor:
    """Softmin along ``dim`` over the kept elements."""
    dtype = input.dtype if dtype is None else dtype
    d = _dims(dim, input.ndim)[0]
    return _dense_softmin(_fill("amin", input, mask), d, dtype=dtype)


def normalize(input: Tensor, ord, dim: int, *, eps: float = 1e-12, dtype=None,
              mask=None) -> Tensor:
    """The kept elements divided by their ``ord``-norm along ``dim`` (at least ``eps``);
    masked-out elements become 0."""
    dtype = input.dtype if dtype is None else dtype
    denom = norm(input, ord, dim, keepdim=True, dtype=dtype, mask=mask).clamp(min=eps)
    return _fill("sum", input, mask) / denom


__all__ += ["amax", "amin", "argmax", "argmin", "cumprod", "cumsum", "log_softmax",
            "logaddexp", "logsumexp", "mean", "median", "norm", "normalize", "prod",
            "softmax", "softmin", "std", "sum", "var"]

# ``torch.masked._ops`` (the module PyTorch's docstrings call the functions through) is this
# module here.
_ops = sys.modules[__name__]
