"""Products of sparse COO tensors: ``sparse @ dense`` (one registered op, ops/sparse_ops.py),
``dense @ sparse``, ``sparse @ sparse`` (sparse), the dense gradient PyTorch gives a sparse
leaf through ``@`` / ``torch.mm``, and the elementwise products with a dense or a sparse
tensor; the methods and functions of api/sparse_coo.py call them.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..modes import is_grad_enabled
from ..node_names import rename_node
from ..ops import OPS
from ..tensor import Tensor, _leaf, apply
from .shape import cat
from .sparse import SparseTensor
from .sparse_coo import (
    SparseCooTensor,
    _as_coo,
    _plan,
    _sum_segments,
    check_same_layout,
    coo,
)
from .sparse_links import leaf_anchor

__all__: list = []  # (the public names are api/sparse_coo.py's)

_SPARSE_MM, _PATTERN_MATMUL = OPS["sparse_mm"], OPS["pattern_matmul"]


def _dense_operand(x, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'mat2' must be Tensor, not {type(x).__name__}")
    return x


def _check_product(name: str, shape_a, shape_b, dtype_a, dtype_b) -> None:
    if shape_a[1] != shape_b[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({shape_a[0]}x"
                           f"{shape_a[1]} and {shape_b[0]}x{shape_b[1]})")
    if dtype_a != dtype_b:
        raise RuntimeError(f"{name}: expected mat1 and mat2 to have the same dtype, but got: "
                           f"{dtype_a} != {dtype_b}")


def sparse_mm(sparse, dense, *, name: str = "mm") -> Tensor:
    """``sparse @ dense`` for a 2-d sparse COO and a 2-d dense tensor, a dense result;
    differentiable into the dense operand and the sparse tensor's values (a sparse gradient
    on its pattern). Two sparse operands give a sparse product (``sparse_sparse_mm``)."""
    sparse = _as_coo(sparse)
    dense = _dense_operand(dense, name)
    if isinstance(dense, SparseTensor):
        return sparse_sparse_mm(sparse, dense)
    storage = sparse._data
    if storage.dtype.kind == "b":
        raise NotImplementedError('"addmm_sparse_dense" not implemented for \'Bool\'')
    if sparse.ndim != 2 or sparse.sparse_dim() != 2 or dense.ndim != 2:
        raise RuntimeError(f"{name}: expected a 2-D sparse matrix and a 2-D dense matrix, got "
                           f"shapes {tuple(storage.shape)} and {tuple(dense.shape)}")
    _check_product(name, storage.shape, dense.shape, storage.dtype, dense._data.dtype)
    # One registered op (ops/sparse_ops.py): a CSR product forward, S^T @ g and the sampled
    # row products backward. Cora-sized (2708 nodes, 13264 entries, 64 columns, float32, one
    # thread), fwd + bwd into D: 5.7 ms as gather / scale / scatter, 0.52 ms now, PyTorch
    # 1.13 ms (alternated; benchmarks/sparse_mm.py).
    return apply(_SPARSE_MM, storage.values, dense, pattern=storage.pattern())


def sparse_sparse_mm(a, b) -> SparseCooTensor:
    """``a @ b`` for two 2-d sparse COO tensors: a coalesced sparse product holding every
    position some pair of entries reaches (explicit zeros kept, as PyTorch's); differentiable
    into both tensors' values."""
    a, b = _as_coo(a), _as_coo(b)
    if a.ndim != 2 or b.ndim != 2 or a.sparse_dim() != 2 or b.sparse_dim() != 2:
        raise RuntimeError("sparse @ sparse: only 2-d sparse tensors (sparse_dim 2) are "
                           f"supported, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    sa, sb = a._data, b._data
    if sa.shape[1] != sb.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({sa.shape[0]}x"
                           f"{sa.shape[1]} and {sb.shape[0]}x{sb.shape[1]})")
    if sa.dtype != sb.dtype:
        raise RuntimeError(f"mat1 dtype {dtypes.of(sa.dtype)} does not match mat2 dtype "
                           f"{dtypes.of(sb.dtype)}")
    if sa.dtype.kind not in "fc" or sa.dtype.itemsize < 4:  # (PyTorch's kernel's dtypes)
        name = repr(dtypes.of(sa.dtype)).split(".")[-1].capitalize()
        raise NotImplementedError(f'"sparse_matmul" not implemented for {name!r} (sparse @ '
                                  f'sparse of {sa.dtype} tensors)')
    # Each entry (i, j) of a meets every entry (j, k) of b: b's entries sorted by row, each
    # of a's entries takes the run of b's row j.
    b_order = sb.index[0].argsort(kind="stable")
    b_rows = sb.index[0][b_order]
    start = np.searchsorted(b_rows, sa.index[1], "left")
    count = np.searchsorted(b_rows, sa.index[1], "right") - start
    left = np.repeat(np.arange(count.size), count)
    offset = np.arange(left.size) - np.repeat(count.cumsum() - count, count)
    right = b_order[np.repeat(start, count) + offset]
    shape = (sa.shape[0], sb.shape[1])
    index = np.stack([sa.index[0][left], sb.index[1][right]])
    products = sa.values[_leaf(left)] * sb.values[_leaf(right)]
    segment, index, count = _plan(index, shape)
    return coo(index, _sum_segments(products, segment, count), shape, True)


def _with_dense_grad(sparse: SparseCooTensor, product: Tensor, dense: Tensor,
                     left: bool) -> Tensor:
    """``product`` (``sparse @ dense``, or ``dense @ sparse`` when not ``left``) made to give
    a sparse leaf that requires grad PyTorch's gradient of ``torch.mm`` / ``@``: a *dense*
    one, ``g @ dense^T`` (``dense^T @ g``). The leaf keeps a dense zero matrix that requires
    grad (its ``.grad`` is the leaf's, see ``SparseCooTensor.grad``), and the product adds
    ``zeros @ dense``: one dense m x k x n product more in the forward (PyTorch computes the
    same product in its backward), zero in value."""
    anchor = leaf_anchor(sparse._data)
    return product + (anchor @ dense if left else dense @ anchor)


def _whole_source(sparse: SparseCooTensor, dense: Tensor) -> Tensor | None:
    """``to_sparse``'s dense input, 2-d, where a product with ``dense`` gives it PyTorch's
    whole dense gradient (its ToSparseBackward0 passes mm's on densified) through one
    ``pattern_matmul`` node: None with grad off, no such input, or entries changed since."""
    storage = sparse._data
    source = storage.source
    if (source is None or not is_grad_enabled() or source.ndim != 2
            or sparse.sparse_dim() != 2 or dense.ndim not in (1, 2)):
        return None
    # (an uncoalesced tensor with distinct positions, e.g. a transpose, too: S.t() @ d gave x
    # a gradient masked to its pattern where PyTorch's is whole)
    linear = None if storage.coalesced else np.ravel_multi_index(tuple(storage.index),
                                                                 storage.shape)
    if linear is not None and np.unique(linear).size != linear.size:
        return None
    values = storage.values._data
    at = source._data[tuple(storage.index)]
    # (bit for bit, nan too: 1 us on 410 float32 entries where array_equal(equal_nan) takes 9)
    if at.dtype != values.dtype or at.tobytes() != values.tobytes():
        return None  # (the source or the values written in place since)
    return source


def _wants_dense_grad(sparse: SparseCooTensor) -> bool:
    return sparse._data.values._rg and sparse.is_leaf and is_grad_enabled()


def sparse_matmul(input, other) -> Tensor:
    """``input @ other`` where one operand is a sparse COO matrix (the hook of ``matmul``).

    A sparse leaf that requires grad gets a dense gradient here (PyTorch's ``mm`` / ``@``),
    a sparse one on its pattern through ``torch.sparse.mm``."""
    if isinstance(input, SparseTensor) and isinstance(other, SparseTensor):
        return sparse_sparse_mm(input, other)
    if isinstance(input, SparseTensor):
        input = _as_coo(input)
        if not isinstance(other, Tensor):
            raise TypeError(f"matmul(): argument 'other' must be Tensor, not "
                            f"{type(other).__name__}")
        source = _whole_source(input, other)
        if source is not None:  # (to_sparse's input: PyTorch's gradient g @ other^T, whole)
            pattern = input._data.pattern()
            _check_product("matmul", pattern.shape, (*other.shape, 1)[:2], source._data.dtype,
                           other._data.dtype)
            if other.ndim == 1:
                return rename_node(apply(_PATTERN_MATMUL, source, other.unsqueeze(1),
                                         pattern=pattern).squeeze(1), "MvBackward0")
            return rename_node(apply(_PATTERN_MATMUL, source, other, pattern=pattern),
                               "MmBackward0")
        dense_grad = _wants_dense_grad(input)
        sparse = input.detach() if dense_grad else input
        if other.ndim == 1:
            product = sparse_mm(sparse, other.unsqueeze(1), name="matmul").squeeze(1)
        else:
            product = sparse_mm(sparse, other, name="matmul")
        return _with_dense_grad(input, product, other, True) if dense_grad else product
    other = _as_coo(other)
    if not isinstance(input, Tensor):
        raise TypeError(f"matmul(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    storage = other._data
    if other.ndim != 2 or other.sparse_dim() != 2 or input.ndim not in (1, 2):
        raise RuntimeError(f"matmul: expected a 1-D or 2-D dense and a 2-D sparse matrix, got "
                           f"shapes {tuple(input.shape)} and {tuple(storage.shape)}")
    dense = input.unsqueeze(0) if input.ndim == 1 else input
    _check_product("matmul", dense.shape, storage.shape, dense._data.dtype, storage.dtype)
    source = _whole_source(other, input)
    dense_grad = source is None and _wants_dense_grad(other)
    values = _leaf(storage.values._data) if dense_grad else storage.values
    # dense @ S = (S^T @ dense^T)^T: the transposed pattern, made once with the tensor's.
    if source is not None:  # (to_sparse's input takes input^T @ g whole, as PyTorch's)
        product = rename_node(apply(_PATTERN_MATMUL, source.t(), dense.t(),
                                    pattern=storage.pattern().T).t(), "MmBackward0")
    else:
        product = apply(_SPARSE_MM, values, dense.t(), pattern=storage.pattern().T).t()
    if input.ndim == 1:  # (PyTorch's node: squeeze of a dims list)
        product = rename_node(product.squeeze(0), "SqueezeBackward4")
    if source is not None:
        return product
    return _with_dense_grad(other, product, input, False) if dense_grad else product


# ---------------------------------------------------------------------------- elementwise


def at_entries(dense: Tensor, sparse: SparseCooTensor) -> tuple:
    """A dense tensor and the sparse tensor broadcast together, the dense one read at the
    sparse one's entries: ([nnz, *dense dims] (differentiable into ``dense``), the broadcast
    shape). As PyTorch, a sparse dim of size 1 that broadcasts keeps its entries where they
    are (``[[1], [0], [2]]`` sparse times ``[[1, 2, 3]]``: entries at (0, 0) and (2, 0) of a
    3 x 3 result)."""
    shape = sparse._data.shape
    try:
        full = np.broadcast_shapes(tuple(dense.shape), shape)
    except ValueError:
        full = None
    if dense.ndim > len(shape) or full is None:
        raise NotImplementedError(f"mul of a sparse tensor of shape {tuple(shape)} and a dense "
                                  f"tensor of shape {tuple(dense.shape)}: only a dense tensor "
                                  f"that broadcasts to the sparse shape (or with its dims of "
                                  f"size 1) is supported")
    positions = tuple(_leaf(row) for row in sparse._data.index)
    return dense.expand(full)[positions], full


def mul_tensor(sparse: SparseCooTensor, other: Tensor) -> SparseCooTensor:
    """``sparse * other`` for a sparse or a dense (not 0-d) ``other`` (``SparseCooTensor.mul``)."""
    if isinstance(other, SparseTensor):
        return mul_sparse(sparse, _as_coo(other))
    storage = sparse._data
    values, shape = at_entries(other, sparse)
    return coo(storage.index, storage.values * values, shape, storage.coalesced)


def mul_sparse(a: SparseCooTensor, b: SparseCooTensor) -> SparseCooTensor:
    """The elementwise product of two sparse tensors of one shape, at the positions both hold.

    Both coalesced: the common positions (coalesced). Else, as PyTorch: every entry of the
    uncoalesced one (``a`` if both are) times the other's summed value at its position (0
    where it holds none), so the entries and their repeats stay (uncoalesced).
    """
    sa, sb = a._data, b._data
    check_same_layout("mul", sa, sb)
    if sa.coalesced and sb.coalesced and (sa.index is sb.index or (
            sa.index.shape == sb.index.shape and np.array_equal(sa.index, sb.index))):
        return coo(sa.index, sa.values * sb.values, sa.shape, True)
    if not sa.coalesced:
        base, other = sa, b.coalesce()._data
    elif not sb.coalesced:
        base, other = sb, sa
    else:
        base, other = sa, sb
    sparse_shape = sa.shape[:sa.index.shape[0]]
    positions = np.ravel_multi_index(tuple(base.index), sparse_shape)
    held = np.ravel_multi_index(tuple(other.index), sparse_shape)  # (sorted: coalesced)
    at = np.minimum(np.searchsorted(held, positions), max(held.size - 1, 0))
    hit = held[at] == positions if held.size else np.zeros(positions.size, dtype=bool)
    if sa.coalesced and sb.coalesced:  # the common positions only
        hit = hit.nonzero()[0]
        values = base.values[_leaf(hit)] * other.values[_leaf(at[hit])]
        return coo(base.index[:, hit], values, sa.shape, True)
    # A position the other lacks reads the zero row appended to its values.
    zero = _leaf(np.zeros((1,) + tuple(other.values.shape[1:]), other.dtype))
    padded = cat([other.values, zero], 0)
    at = np.where(hit, at, held.size)
    return coo(base.index, base.values * padded[_leaf(at)], sa.shape, False)
