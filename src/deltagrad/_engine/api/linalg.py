"""Products: matmul and its 2-d / batched / vector forms, the add* fused forms, einsum,
tensordot, kron, matrix_power, cross, cdist, block_diag and trace."""

from __future__ import annotations

import builtins
import functools
import numbers

import numpy as np

from .. import dtypes
from ..autograd import ShapeError
from ..dtypes import _Default
from ..elementwise_layout import dims_fastest_first
from ..errors import warn_once
from ..forward_errors import product_dtype_words, rank_words
from ..node_names import rename_node
from ..ops import OPS
from ..promotion import promote_types, result_type
from ..tensor import Tensor, _binary, _leaf, apply, tensor_method
from ..tensor_ops import PLAIN_MATMUL
from ._common import int_arg, tensor_arg
from ._common import write_out as write_resized
from ._pointwise import torch_name, write_out
from .deprecations import beta_alpha_first, deprecated, old_form
from .einsum_bool import bool_operands
from .einsum_plans import (  # (moved out: session 27, FS1)
    _EINSUM_PLANS,
    _LABELS,
    _einsum_plan,
    _sublist_equation,
)
from .linalg_addmm import half_width as _half_width
from .linalg_addmm import plain_addmm, tensordot_dims
from .pointwise import einsum_operands, where
from .rearrange import diagonal
from .shape import _wrap_dim, cat, expand, reshape
from .sparse import SparseTensor

__all__ = ["addbmm", "addmm", "addmv", "addr", "baddbmm", "block_diag", "bmm", "cdist",
           "chain_matmul", "cross", "dot", "einsum", "ger", "inner", "kron", "matmul",
           "matrix_power", "mm", "mv", "outer", "tensordot", "trace", "vdot"]

_MATMUL = OPS["matmul"]
_EINSUM = OPS["einsum"]


_KIND_ORDER = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def write_cast(name: str, out, result, casting: str = "same_kind"):
    """PyTorch's ``out=``: ``result`` written into ``out``, resized (a new storage) where its
    shape differs. ``casting``: ``"same_kind"`` casts into an ``out`` of the same or a higher
    dtype category (float into an integer ``out`` is a RuntimeError), ``"exact"`` needs
    ``out``'s dtype to be the result's, ``"unsafe"`` casts into any (a copy_). Works for a
    tensor or a tuple of them."""
    if out is None:
        return result
    if isinstance(result, tuple) and isinstance(out, (tuple, list)) and len(out) == len(result):
        written = [write_cast(name, o, r, casting) for o, r in zip(out, result)]
        return type(result)(*written) if hasattr(result, "_fields") else tuple(written)
    if isinstance(out, Tensor) and isinstance(result, Tensor) and out.dtype != result.dtype:
        if casting == "exact":
            raise RuntimeError(f"{name}: Expected out tensor to have dtype "
                               f"{torch_name(result._data.dtype)}, but got "
                               f"{torch_name(out._data.dtype)} instead")
        if (casting == "same_kind" and _KIND_ORDER[result._data.dtype.kind]
                > _KIND_ORDER[out._data.dtype.kind]):
            raise RuntimeError(f"{name}: result type {torch_name(result._data.dtype)} can't be "
                               f"cast to the desired output type "
                               f"{torch_name(out._data.dtype)}")
        if result.requires_grad or out.requires_grad:  # (write_resized's message)
            return write_resized(out, result)
        result = result.to(out.dtype)
    return write_resized(out, result)


def _t(x, argument: str = "input", where: str = "linalg") -> Tensor:
    """A tensor argument: PyTorch's parser raises TypeError for a number, list or array."""
    return x if type(x) is Tensor else tensor_arg(x, argument, where)


def _same_dtype(name: str, a: Tensor, b: Tensor) -> None:
    if a._data.dtype is not b._data.dtype and a._data.dtype != b._data.dtype:
        raise ShapeError(f"{product_dtype_words(name, a, b)}{name}: expected both operands to "
                         f"have the same dtype, but got {a.dtype} and {b.dtype}"
                         f"{')' if product_dtype_words(name, a, b) else ''}")


def _check_kind(name: str, a: Tensor) -> None:
    if a._data.dtype.kind == "b":
        raise NotImplementedError(f"{name}: not implemented for bool tensors")


@tensor_method
def matmul(input, other, *, out=None) -> Tensor:
    """Matrix product with PyTorch's semantics: 1-D, 2-D and batched (broadcast) operands of
    one dtype; ``out`` receives the result if given."""
    if out is not None:
        return write_out("matmul", out, matmul(input, other), exact=True)
    if type(input) is Tensor and type(other) is Tensor:
        x, y = input._data, other._data
        if x.dtype is y.dtype and x.ndim and y.ndim:
            # The common call: two tensors of one dtype take the operators' path (the same
            # forward, error translation and node; h @ W on 8 x 8 under grad 1.55 -> 1.17 us).
            return _binary(_MATMUL, input, other)
    input, other = _t(input, "input", "matmul"), _t(other, "other", "matmul")
    if isinstance(input, SparseTensor) or isinstance(other, SparseTensor):  # (mm too)
        from .sparse_coo import sparse_matmul  # (on use: it builds on the families)

        return sparse_matmul(input, other)
    if input.ndim == 0 or other.ndim == 0:
        raise ShapeError(f"matmul: both operands need at least 1 dimension, got shapes "
                         f"{input.shape} and {other.shape}")
    _same_dtype("matmul", input, other)
    return apply(_MATMUL, input, other)


PLAIN_MATMUL[0] = Tensor.matmul  # (tensor_ops.py: `a @ b`'s fast path while it is this)


def _ranks(name: str, a: Tensor, b: Tensor, ra: int, rb: int) -> None:
    if a.ndim != ra or b.ndim != rb:
        said = rank_words(name, a, b)  # (PyTorch's words first)
        raise ShapeError(f"{said}{name}: expected {ra}-d and {rb}-d operands, got shapes "
                         f"{a.shape} and {b.shape}{')' if said else ''}")


@tensor_method
def mm(input, mat2, *, out=None) -> Tensor:
    """The product of two matrices, (n, m) @ (m, p) -> (n, p)."""
    if out is not None:
        return write_out("mm", out, mm(input, mat2), exact=True)
    input, mat2 = _t(input, "input", "mm"), _t(mat2, "mat2", "mm")
    _ranks("mm", input, mat2, 2, 2)
    _check_kind("mm", input)
    return matmul(input, mat2)


@tensor_method
def bmm(input, mat2, *, out=None) -> Tensor:
    """Batched matrix products, (b, n, m) @ (b, m, p) -> (b, n, p); no broadcasting."""
    if out is not None:
        return write_out("bmm", out, bmm(input, mat2), exact=True)
    input, mat2 = _t(input, "input", "bmm"), _t(mat2, "mat2", "bmm")
    _ranks("bmm", input, mat2, 3, 3)
    if input.shape[0] != mat2.shape[0]:
        raise ShapeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                         f"[{input.shape[0]}, {input.shape[2]}] but got: {list(mat2.shape[:2])}"
                         f". (bmm: batch sizes differ: {input.shape} and {mat2.shape})")
    _check_kind("bmm", input)
    return rename_node(matmul(input, mat2), "BmmBackward0")  # (one node: PyTorch's name)


@tensor_method
def mv(input, vec, *, out=None) -> Tensor:
    """Matrix-vector product, (n, m) @ (m,) -> (n,)."""
    if out is not None:
        return write_out("mv", out, mv(input, vec), exact=True)
    input, vec = _t(input, "input", "mv"), _t(vec, "vec", "mv")
    if input.ndim == 0:  # (PyTorch reads input.size(0) first: an IndexError)
        raise IndexError(f"mv: Dimension specified as 0 but tensor has no dimensions (shapes "
                         f"{tuple(input.shape)} and {tuple(vec.shape)})")
    _ranks("mv", input, vec, 2, 1)
    _check_kind("mv", input)
    return matmul(input, vec)


@tensor_method
def dot(input, tensor, *, out=None) -> Tensor:
    """The inner product of two 1-d tensors of the same size and dtype (0-d result)."""
    if out is not None:
        return write_out("dot", out, dot(input, tensor), exact=True)
    input, tensor = _t(input, "input", "dot"), _t(tensor, "tensor", "dot")
    _ranks("dot", input, tensor, 1, 1)
    if input.shape != tensor.shape:
        raise ShapeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src "
                         f"[{tensor.shape[0]}] to have the same number of elements, but got "
                         f"{input.shape[0]} and {tensor.shape[0]} elements respectively (dot: "
                         f"shapes {input.shape} and {tensor.shape})")
    _same_dtype("dot", input, tensor)
    _check_kind("dot", input)
    return matmul(input, tensor)


@tensor_method
def vdot(input, other) -> Tensor:
    """``dot`` with the first operand conjugated (the same as dot for real tensors)."""
    input = _t(input, "input", "vdot")
    if input.dtype.kind == "c":
        # (in the graph when it requires grad: conj_physical's rule is complex-aware)
        input = input.conj_physical() if input._rg else _leaf(np.conj(input._data))
    return rename_node(dot(input, other), "VdotBackward0")


@tensor_method
def outer(input, vec2) -> Tensor:
    """The outer product of two 1-d tensors, (n,) x (m,) -> (n, m) (dtypes promote)."""
    input, vec2 = _t(input, "input", "outer"), _t(vec2, "vec2", "outer")
    _ranks("outer", input, vec2, 1, 1)
    return reshape(input, (-1, 1)) * reshape(vec2, (1, -1))


ger = tensor_method(outer, name="ger")


@tensor_method
def inner(input, other, *, out=None) -> Tensor:
    """The sum of products over the last dims: shape ``input.shape[:-1] + other.shape[:-1]``
    (a plain product when either is 0-d)."""
    if out is not None:
        return write_cast("inner", out, inner(input, other), "exact")
    input, other = tensor_arg(input, "input", "inner"), tensor_arg(other, "other", "inner")
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise ShapeError(f"inner: the last dims must match, got shapes {input.shape} and "
                         f"{other.shape}")
    return tensordot(input, other, ([input.ndim - 1], [other.ndim - 1]))


def _scaled_sum(name, input, product, beta, alpha) -> Tensor:
    """beta * input + alpha * product, for the add* functions."""
    input = _t(input, "input", name)
    _same_dtype(name, input, product)
    if input.dtype.kind in "iub" and (not float(beta).is_integer()
                                      or not float(alpha).is_integer()):
        if name == "addr":
            which = "beta" if not float(beta).is_integer() else "alpha"
            raise RuntimeError(f"addr: for integral input tensors, argument {which} must not "
                               "be a floating point number.")
        # PyTorch's addmm / addmv / addbmm / baddbmm truncate the scalars to integers
        beta, alpha = int(beta), int(alpha)
    if input.dtype.kind == "b":  # booleans: (beta and input) or (alpha and product)
        value = np.zeros(product.shape, dtype=bool)
        if beta:
            value |= input._data
        if alpha:
            value |= product._data.astype(bool)
        return _leaf(value)
    if input._data.shape == product._data.shape:  # (np.broadcast_shapes: ~1.5 us; s27 SP37)
        shape = product.shape
    else:
        try:
            shape = np.broadcast_shapes(input.shape, product.shape)
        except ValueError:
            shape = None
    if shape != product.shape:
        raise ShapeError(f"{name}: input of shape {input.shape} does not broadcast to the "
                         f"product's shape {product.shape}")
    scaled = product if alpha == 1 else product * alpha
    if beta == 0:
        # NOTE: PyTorch ignores the input entirely (nan and inf too); it still gets a zero
        # gradient, which `where` gives it.
        out = where(_leaf(np.ones(product.shape, dtype=bool)), scaled, input)
    else:
        out = scaled + (input if beta == 1 else input * beta)
    return rename_node(out, _FUSED_NAMES[name])  # (PyTorch's one node; s28 SL17)


_FUSED_NAMES = {"addmm": "AddmmBackward0", "addmv": "AddmvBackward0", "addr": "AddrBackward0",
                "addbmm": "AddbmmBackward0", "baddbmm": "BaddbmmBackward0"}


@tensor_method
def addmm(input, mat1, mat2, *deprecated, beta=1, alpha=1, out=None) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``; ``input`` broadcasts to (n, p)."""
    if deprecated:  # (old code's addmm(beta, input, alpha, mat1, mat2): PyTorch's warning)
        return beta_alpha_first(addmm, (input, mat1, mat2, *deprecated), out)
    if out is not None:  # (timm's Muon: Newton-Schulz iterations into preallocated buffers)
        return write_cast("addmm", out, addmm(input, mat1, mat2, beta=beta, alpha=alpha))
    plain = plain_addmm(input, mat1, mat2, beta, alpha)  # (the common call: linalg_addmm.py)
    if plain is not None:
        return rename_node(plain, "AddmmBackward0")  # (PyTorch's node; s28 SL17)
    low = _half_width(input, mat1, mat2)
    if low is not None:
        return rename_node(addmm(input.float(), mat1.float(), mat2.float(), beta=beta,
                                 alpha=alpha).to(low), "AddmmBackward0")
    return _scaled_sum("addmm", input, mm(mat1, mat2), beta, alpha)


@tensor_method
def addmv(input, mat, vec, *deprecated, beta=1, alpha=1, out=None) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``."""
    if out is not None or deprecated:  # (or old code's addmv(beta, input, ...), as addmm's)
        return old_form(addmv, (input, mat, vec, *deprecated), out, write_cast, beta, alpha)
    return _scaled_sum("addmv", input, mv(mat, vec), beta, alpha)


@tensor_method
def addbmm(input, batch1, batch2, *deprecated, beta=1, alpha=1, out=None) -> Tensor:
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``."""
    if out is not None or deprecated:  # (as addmv's)
        return old_form(addbmm, (input, batch1, batch2, *deprecated), out, write_cast, beta, alpha)
    batch1, batch2 = _batches("addbmm", batch1, batch2)
    if _half_width(input, batch1, batch2) is not None and batch1.shape[0]:
        # PyTorch's CPU kernel: one addmm per batch into the result, each rounded (bit for bit
        # on bfloat16 and float16, where one rounded sum of the products is off in 9-14 of 35)
        total = addmm(input, batch1[0], batch2[0], beta=beta, alpha=alpha)
        for b in range(1, batch1.shape[0]):
            total = addmm(total, batch1[b], batch2[b], alpha=alpha)
        return total
    product = bmm(batch1, batch2)  # (summed in its own dtype: sum would widen integers)
    return _scaled_sum("addbmm", input, product.sum(0, dtype=product.dtype), beta, alpha)


@tensor_method
def baddbmm(input, batch1, batch2, *deprecated, beta=1, alpha=1, out=None) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    if deprecated:  # (as addmm's)
        return beta_alpha_first(baddbmm, (input, batch1, batch2, *deprecated), out)
    if out is not None:
        return write_cast("baddbmm", out,
                          baddbmm(input, batch1, batch2, beta=beta, alpha=alpha))
    batch1, batch2 = _batches("baddbmm", batch1, batch2)
    low = _half_width(input, batch1, batch2)
    if low is not None:  # (as addmm's)
        return baddbmm(input.float(), batch1.float(), batch2.float(), beta=beta,
                       alpha=alpha).to(low)
    return _scaled_sum("baddbmm", input, bmm(batch1, batch2), beta, alpha)


def _batches(name: str, batch1, batch2) -> tuple:
    # After the arguments' types, PyTorch reads batch.size(2) before any check: a batch of
    # fewer dimensions is its IndexError (bmm's own check, a RuntimeError, covers the rest).
    batches = _t(batch1, "batch1", name), _t(batch2, "batch2", name)
    if builtins.min(batches[0].ndim, batches[1].ndim) < 3:
        raise IndexError(f"{name}: Dimension out of range: the batches must be 3-d, got "
                         f"shapes {tuple(batches[0].shape)} and {tuple(batches[1].shape)}")
    return batches


@tensor_method
def addr(input, vec1, vec2, *deprecated, beta=1, alpha=1, out=None) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)`` (into ``out`` where given)."""
    if out is not None or deprecated:  # (pytorch-minimize's BFGS: out=; as addmv's)
        return old_form(addr, (input, vec1, vec2, *deprecated), out, write_cast, beta, alpha)
    return _scaled_sum("addr", input, outer(vec1, vec2), beta, alpha)


def chain_matmul(*matrices, out=None) -> Tensor:
    """The product of 2-d matrices, left to right."""
    if out is not None:
        return write_cast("chain_matmul", out, chain_matmul(*matrices),
                          "unsafe" if len(matrices) == 1 else "exact")
    deprecated("chain_matmul")  # (once: PyTorch's C++ one)
    if not matrices:
        raise ShapeError("chain_matmul: expected one or more matrices")
    for m in matrices:
        _t(m, "matrices", "chain_matmul")
    for m in matrices:
        if m.ndim != 2:
            raise ShapeError(f"chain_matmul: tensor dimension is {m.ndim}, expected 2 instead.")
    out = _t(matrices[0], "matrices", "chain_matmul")
    if len(matrices) == 1:
        return out.clone()  # (PyTorch's result is a copy, never the input)
    for m in matrices[1:]:
        out = mm(out, m)
    return out


# --------------------------------------------------------------------------------------------
# einsum: the equation is normalised in einsum_plans.py (ellipses spelled out, the implicit
# output made explicit, size-1 axes expanded to the size their label has elsewhere) so that the
# primitive sees one size per label.


def einsum(equation, *operands) -> Tensor:
    """Einstein summation, as PyTorch's ``einsum``.

    Args:
        equation: subscripts such as ``"bij,bjk->bik"``; ``...`` stands for broadcast dims;
            without ``->`` the output holds the labels that appear once, in alphabetical
            order. The sublist form ``einsum(op0, [0, 1], op1, [1, 2], [0, 2])`` is accepted.
        operands: tensors of one dtype (or one list of them).

    Returns:
        The contracted tensor; its gradient with respect to each operand is itself an einsum.

    >>> import deltagrad as dg
    >>> dg.einsum("ii->", dg.eye(3)).item()
    3.0
    """
    if not isinstance(equation, str):
        if not operands:  # (PyTorch's Python einsum: a ValueError before anything else)
            raise ValueError("einsum(): must specify the equation string and at least one "
                             "operand, or at least one operand and its subscripts list")
        equation, operands = _sublist_equation((equation, *operands))
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    operands = [_t(x, "operands", "einsum") for x in operands]
    if not operands:
        raise ShapeError("einsum(): must provide at least one operand")
    key = (equation, tuple(x._data.shape for x in operands))
    plan = _EINSUM_PLANS.get(key)
    if plan is None:
        plan = _einsum_plan(*key)
        if len(_EINSUM_PLANS) >= 512:  # (bounded: a loop over ever new shapes)
            _EINSUM_PLANS.clear()
        _EINSUM_PLANS[key] = plan
    targets, normalized = plan
    operands = einsum_operands(operands, normalized, _same_dtype)
    if operands[0]._data.dtype.kind == "b":  # (PyTorch sums / multiplies bool operands)
        operands = bool_operands(normalized, operands)
    ready = [x if target is None else expand(x, target) for x, target in zip(operands, targets)]
    result = apply(_EINSUM, *ready, equation=normalized)
    if result._data.dtype.kind in "iu" and result._data.dtype != np.int64:
        # PyTorch sums a label that only one operand has (and the output lacks) with sum,
        # which widens integers to int64: einsum('i->', int32) is int64, 'i,i->' stays int32
        terms, output = normalized.split("->")
        terms = terms.split(",")
        if any(label not in output and builtins.sum(label in t for t in terms) == 1
               for term in terms for label in term):
            result = result.to(dtypes.int64)
    return result


def tensordot(a, b, dims=2, out=None) -> Tensor:  # (no Tensor method: PyTorch has none)
    """Contract the last ``dims`` dims of ``a`` with the first ``dims`` of ``b``, or the dims
    listed in ``dims = (dims_a, dims_b)``."""
    if out is not None:
        return write_cast("tensordot", out, tensordot(a, b, dims), "exact")
    for value in (a, b):
        if not isinstance(value, Tensor):  # (PyTorch's tensordot asks it for .dim())
            raise AttributeError(f"tensordot: '{type(value).__name__}' object has no "
                                 "attribute 'dim' (a and b must be tensors)")
    if dims is None or isinstance(dims, (numbers.Real, str)) and not isinstance(
            dims, numbers.Integral):  # (None: PyTorch's RuntimeError too; s28 BR18)
        raise RuntimeError(f"tensordot expects dims to be int or tuple[list[int], list[int]] "
                           f"or list[list[int]] containing two lists, but got dims={dims}")
    if isinstance(dims, (numbers.Integral, Tensor)) and not isinstance(dims, bool):
        n = int(dims)
        if n < 0:
            raise ShapeError(f"tensordot expects dims >= 0, but got dims={n}")
        if n > builtins.min(a.ndim, b.ndim):
            raise ShapeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={n}")
        dims_a, dims_b = list(range(a.ndim - n, a.ndim)), list(range(n))
    else:
        dims_a, dims_b = dims
    dims_a, dims_b = tensordot_dims(a, b, dims_a, dims_b)
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            # NOTE: a contracted dim of size 1 broadcasts against the other's, as in PyTorch.
            if a.shape[da] == 1:
                a = expand(a, a.shape[:da] + (b.shape[db],) + a.shape[da + 1:])
            elif b.shape[db] == 1:
                b = expand(b, b.shape[:db] + (a.shape[da],) + b.shape[db + 1:])
            else:
                raise ShapeError(f"tensordot: contracted dimensions need to match, but first "
                                 f"has size {a.shape[da]} in dim {da} and second has size "
                                 f"{b.shape[db]} in dim {db}")
    labels = iter(_LABELS)
    term_a = [next(labels) for _ in range(a.ndim)]
    term_b = [next(labels) for _ in range(b.ndim)]
    for da, db in zip(dims_a, dims_b):
        term_b[db] = term_a[da]
    output = [term_a[d] for d in range(a.ndim) if d not in dims_a] + \
        [term_b[d] for d in range(b.ndim) if d not in dims_b]
    return einsum("".join(term_a) + "," + "".join(term_b) + "->" + "".join(output), a, b)


@tensor_method
def kron(input, other, *, out=None) -> Tensor:
    """The Kronecker product: block ``(i, j, ...)`` is ``input[i, j, ...] * other`` (ranks are
    aligned by prepending ones)."""
    if out is not None:
        return write_cast("kron", out, kron(input, other))
    for position, (name, value) in enumerate((("input", input), ("other", other)), 1):
        if not isinstance(value, Tensor):
            raise TypeError(f"kron(): argument '{name}' (position {position}) must be Tensor, "
                            f"not {type(value).__name__}")
    ndim = builtins.max(input.ndim, other.ndim)
    a_shape = (1,) * (ndim - input.ndim) + input.shape
    b_shape = (1,) * (ndim - other.ndim) + other.shape
    a = reshape(input, tuple(n for s in a_shape for n in (s, 1)))
    b = reshape(other, tuple(n for s in b_shape for n in (1, s)))
    product = a * b
    merged = tuple(p * q for p, q in zip(a_shape, b_shape))
    if not _kron_viewable((input, a.shape), (other, b.shape), merged):
        raise RuntimeError("kron: view size is not compatible with input tensor's size and "
                           "stride (at least one dimension spans across two contiguous "
                           "subspaces). Use .reshape(...) instead. (PyTorch's kron views "
                           f"the product, laid out as its non-contiguous inputs {input.shape} "
                           f"and {other.shape})")
    return reshape(product, merged)


def _kron_viewable(a: tuple, b: tuple, merged: tuple) -> bool:
    """Whether PyTorch's kron succeeds: it views ``a * b`` (dims interleaved) as ``merged``,
    and the product's layout follows its inputs' strides (TensorIterator's dim order), so a
    transposed operand can leave it unviewable. ``a`` / ``b``: (input, interleaved shape);
    the strides are modelled as PyTorch's views give them."""
    shape = tuple(q if p == 1 else p for p, q in zip(a[1], b[1]))  # (broadcast)
    if 0 in shape or len(shape) < 2:
        return True
    operands = []
    for x, view in (a, b):
        data = x._data
        strides = _view_strides(data.shape, [st // data.itemsize for st in data.strides], view)
        # (a broadcast dim has stride 0; a dim of size 1 everywhere keeps its stride)
        operands.append(tuple(0 if n == 1 and m != 1 else st
                              for n, m, st in zip(view, shape, strides)))

    order = dims_fastest_first(shape, operands)  # (TensorIterator's dim order)
    out_strides = [0] * len(shape)
    step = 1
    for d in order:
        out_strides[d] = step
        step *= shape[d]
    return _view_strides(shape, out_strides, merged) is not None


def _view_strides(shape: tuple, strides: list, target: tuple) -> list | None:
    """The strides of a view of ``shape`` / ``strides`` as ``target``, or None where it needs
    a copy (chunks of dims contiguous with each other may merge or split), as PyTorch's
    ``view`` computes them."""
    if not shape:
        return [1] * len(target)
    new = [0] * len(target)
    view_d = len(target) - 1
    base = strides[-1]
    tensor_numel = view_numel = 1
    for d in range(len(shape) - 1, -1, -1):
        tensor_numel *= shape[d]
        if d == 0 or (shape[d - 1] != 1 and strides[d - 1] != tensor_numel * base):
            while view_d >= 0 and (view_numel < tensor_numel or target[view_d] == 1):
                new[view_d] = view_numel * base
                view_numel *= target[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if d > 0:
                base, tensor_numel, view_numel = strides[d - 1], 1, 1
    return new if view_d == -1 else None


@tensor_method
def matrix_power(input, n: int) -> Tensor:
    """The ``n``-th power of square matrices (batched in the leading dims); ``n = 0`` gives
    the identity; a negative ``n`` powers the inverse."""
    input, n = _t(input, "input", "matrix_power"), int_arg(n, "n", "matrix_power")
    if input.ndim < 2 or input.shape[-1] != input.shape[-2]:
        raise ShapeError(f"matrix_power: expected a tensor of square matrices, got shape "
                         f"{input.shape}")
    if n < 0:  # A^-n = (A^-1)^n, with linalg.inv's dtype checks (an integer input gave
        from .linalg_solve import _square  # float32 powers; SL8's soak, s31)

        input, n = apply(OPS["linalg_inv"], _square(input, "linalg.inv")), -n
    if n == 0:
        eye = np.broadcast_to(np.eye(input.shape[-1], dtype=input._data.dtype), input.shape)
        if input.requires_grad:  # PyTorch's identity stays on the graph, with a zero gradient
            return where(_leaf(np.zeros(input.shape, dtype=bool)), input, _leaf(eye.copy()))
        return _leaf(eye.copy())
    if n == 3:  # PyTorch's (A A) A; else square-and-multiply (O(log n) products)
        return matmul(matmul(input, input), input)
    result, base = None, input
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result if result is not input else apply(OPS["clone"], input)


@tensor_method
def cross(input, other, dim=None, *, out=None) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (default: the first dim of size 3, as
    ``torch.cross``); inputs broadcast."""
    if out is not None:
        return write_cast("cross", out, cross(input, other, dim), "exact")
    input, other = _t(input, "input", "cross"), _t(other, "other", "cross")
    if dim is not None:
        dim = int_arg(dim, "dim", "cross")
        ndim = builtins.max(input.ndim, other.ndim)
        if ndim == 0:  # (IndexError before dtypes, as PyTorch)
            raise IndexError(f"cross: Dimension specified as {dim} but tensor has no "
                             "dimensions")
        _wrap_dim(dim, ndim)
    else:  # (PyTorch's once-a-process deprecation warning, first; s28 BR17)
        warn_once("cross_default_dim", "Using torch.cross without specifying the dim arg is "
                  "deprecated.\nPlease either pass the dim explicitly or simply use "
                  "torch.linalg.cross.\nThe default value of dim will change to agree with "
                  "that of linalg.cross in a future release.")
    if input._data.dtype.kind == "b" or other._data.dtype.kind == "b":
        raise NotImplementedError("\"cross\" not implemented for 'Bool'")
    if input._data.dtype != other._data.dtype:  # (PyTorch's cross does not promote)
        raise RuntimeError(f"cross: expected scalar type {input.dtype} but found {other.dtype}")
    if input.ndim != other.ndim:
        raise ShapeError(f"linalg.cross: inputs must have the same number of dimensions, got "
                         f"shapes {input.shape} and {other.shape}")
    try:
        shape = np.broadcast_shapes(input.shape, other.shape)
    except ValueError:
        raise ShapeError(f"cross: shapes {input.shape} and {other.shape} cannot be "
                         "broadcast") from None
    if dim is None:
        dim = next((d for d, n in enumerate(shape) if n == 3), None)
        if dim is None:
            raise ShapeError(f"cross: no dimension of size 3 in input of shape {shape}")
    dim = _wrap_dim(dim, len(shape))
    if len(shape) == 0 or shape[dim] != 3:
        raise ShapeError(f"cross: inputs dimension {dim} must have length 3, got shape {shape}")
    if input.shape[dim] != 3 or other.shape[dim] != 3:  # (the vectors' dim never broadcasts)
        raise ShapeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                         f"{input.shape[dim]} and {other.shape[dim]}")
    input, other = expand(input, shape), expand(other, shape)
    lead = (slice(None),) * dim
    following, preceding = lead + (np.array([1, 2, 0]),), lead + (np.array([2, 0, 1]),)

    def pick(x, index):
        return apply(OPS["getitem"], x, index=index)

    return rename_node(pick(input, following) * pick(other, preceding)  # (PyTorch's node)
                       - pick(input, preceding) * pick(other, following), "LinalgCrossBackward0")


@tensor_method
def trace(input) -> Tensor:
    """The sum of a matrix's main diagonal (integer inputs give int64)."""
    input = _t(input, "input", "trace")
    if input._data.dtype == np.bool_:  # (before the shape check, as PyTorch)
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    if input.ndim != 2:
        raise ShapeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    values = diagonal(input)
    if input.dtype.kind in "iub":
        return _leaf(np.asarray(values._data.sum(dtype=np.int64)))
    return rename_node(values.sum(), "TraceBackward0")  # (PyTorch's node; was SumBackward0)


def block_diag(*tensors) -> Tensor:
    """A block-diagonal matrix of the inputs (0-d is 1x1, 1-d a row); dtypes promote."""
    blocks, shaped, scalars = [], [], []
    for i, x in enumerate(tensors):
        if not isinstance(x, Tensor):
            raise TypeError(f"block_diag(): expected Tensor as element {i}, but got "
                            f"{type(x).__name__}")
        (shaped if x.ndim else scalars).append(x._data.dtype)
        if x.ndim > 2:
            raise ShapeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                             f"dimensions. Input {i} has {x.ndim} dimensions")
        blocks.append(reshape(x, (1, x.numel())) if x.ndim == 1 else
                      reshape(x, (1, 1)) if x.ndim == 0 else x)
    if not blocks:
        return _leaf(np.empty((1, 0), dtype=_Default.float))  # the default dtype
    # PyTorch's result type of the list: 0-d inputs count only where of a higher category
    # (uint8 blocks with a 0-d int64 stay uint8).
    dtype = functools.reduce(promote_types, shaped or scalars)
    if shaped and scalars and any(x.is_meta for x in tensors):
        # (PyTorch's meta kernel promotes every input alike, 0-d ones too: uint8 with a 0-d
        # int8 is int16 there, uint8 on the CPU)
        dtype = functools.reduce(promote_types, scalars, dtype)
    elif shaped and scalars:
        dtype = result_type(np.zeros(1, dtype), np.zeros((), functools.reduce(promote_types,
                                                                              scalars)))
    cols = builtins.sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        r, c = b.shape
        if b._data.dtype != dtype:
            b = b.to(dtypes.of(dtype))
        rows.append(cat([_leaf(np.zeros((r, left), dtype)), b,
                         _leaf(np.zeros((r, cols - left - c), dtype))], 1))
        left += c
    return rename_node(cat(rows, 0), "BlockDiagBackward0")  # (PyTorch's node; s28 SL17)


# --------------------------------------------------------------------------------------------
# cdist: pairwise p-norm distances between the rows of two batches of point sets.
_CDIST_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                "donot_use_mm_for_euclid_dist")


def cdist(x1, x2, p: float = 2.0, compute_mode: str = _CDIST_MODES[0]) -> Tensor:
    """Distances ``out[..., i, j] = ||x1[..., i, :] - x2[..., j, :]||_p``.

    Args:
        x1: (B..., P, M) points; x2: (B..., R, M) points (batch dims broadcast).
        p: the norm's order, >= 0 (``inf`` for the largest difference).
        compute_mode: PyTorch's (mm or not for p=2: rounding); computed directly here.

    Returns:
        (B..., P, R) distances. NOTE: at zero distance the gradient is 0 (PyTorch's choice).
    """
    if compute_mode not in _CDIST_MODES:  # (None too: PyTorch's ValueError)
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    x1, x2 = _t(x1, "x1", "cdist"), _t(x2, "x2", "cdist")
    p = p.item() if isinstance(p, Tensor) and p.ndim == 0 else p
    if isinstance(p, Tensor) or not isinstance(p, numbers.Real):
        raise TypeError(f"cdist(): argument 'p' must be float, not {type(p).__name__}")
    if x1.ndim < 2 or x2.ndim < 2:
        raise ShapeError(f"cdist only supports at least 2D tensors, got: {x1.ndim}D and {x2.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise ShapeError(f"X1 and X2 must have the same number of columns. X1: "
                         f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if x1.dtype.kind != "f" or x2.dtype.kind != "f":
        raise ShapeError(f"cdist only supports floating-point dtypes, X1 got: {x1.dtype}")
    for x in (x1, x2):  # (float16, and bfloat16, whose NumPy kind is "V")
        # (dtype == name, not NumPy's dtype.name, a 2.3 us Python property: fwd + bwd of
        # OpInfo's cdist samples 0.81-0.95 of their time, alternated, thread time; s13 PS)
        if x._data.dtype in ("float16", "bfloat16"):
            low = "Half" if x._data.dtype.name == "float16" else "BFloat16"
            raise NotImplementedError(f"\"cdist\" not implemented for '{low}'")
    if x1._data.dtype != x2._data.dtype:  # (no promotion: PyTorch refuses mixed dtypes)
        raise RuntimeError(f"expected scalar type {torch_name(x1._data.dtype)} but found "
                           f"{torch_name(x2._data.dtype)}")
    if p < 0:
        raise ShapeError(f"cdist only supports non-negative p values, got {p}")
    # PyTorch's node: its matmul form for p = 2 (always, or past 25 rows) ends in a view
    mm = p == 2 and (compute_mode == _CDIST_MODES[1] or compute_mode == _CDIST_MODES[0]
                     and (x1.shape[-2] > 25 or x2.shape[-2] > 25))
    return rename_node(_cdist(x1, x2, p), "ViewBackward0" if mm else "CdistBackward0")


def _cdist(x1: Tensor, x2: Tensor, p: float) -> Tensor:
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)  # (B..., P, R, M)
    size = diff.abs()
    if p == 0:
        # Differing coordinates counted: zero gradients (through `where`: PyTorch's too has one)
        count = _leaf((diff._data != 0).sum(-1).astype(diff._data.dtype))
        return where(_leaf(np.ones(count.shape, dtype=bool)), count, size.sum(-1))
    if p == float("inf"):
        return size.amax(-1) if diff.shape[-1] else size.sum(-1)
    if p == 1:
        return size.sum(-1)
    nz = _leaf(size._data != 0)  # (p < 1: PyTorch's slope is 0 at a zero difference, not inf)
    total = (size * size).sum(-1) if p == 2 else where(nz, where(nz, size, 1.0) ** p, 0.0).sum(-1)
    zero = total._data == 0
    safe = where(_leaf(zero), _leaf(np.ones((), total._data.dtype)), total)
    root = safe.sqrt() if p == 2 else safe ** (1.0 / p)
    return where(_leaf(zero), _leaf(np.zeros((), total._data.dtype)), root)
