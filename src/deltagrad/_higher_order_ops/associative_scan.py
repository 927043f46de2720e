"""``torch._higher_order_ops.associative_scan``: an inclusive scan with an associative combine.

PyTorch runs ``combine_mode="generic"`` eagerly on the CPU: ``combine_fn`` is mapped (vmap)
over the elements of the scan dimension, so it sees one element's shape, and the elements are
combined in a log-depth odd/even order (pairs first, then the prefixes of the pairs). Float
results depend on that order, so this module keeps it: the same combines on the same operands.
``combine_mode="pointwise"`` needs CUDA/XPU tensors in PyTorch and raises ValueError on CPU ones,
as here. Gradients flow through ``combine_fn``'s own ops and the slicing/stacking around them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _engine as dg
from .._engine.tensor import Tensor
from ..func import vmap
from ..utils._pytree import tree_flatten, tree_leaves, tree_unflatten


def _canonical_dim(ndim: int, dim: int) -> int:
    rank = max(ndim, 1)  # a 0-d tensor's dim wraps as a 1-d one's (then fails the ndim check)
    wrapped = dim + rank if dim < 0 else dim
    if not 0 <= wrapped < rank:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-rank}, "
                         f"{rank - 1}], but got {dim})")
    return wrapped


def _validate(combine_fn, leaves: list, dim, reverse, combine_mode: str) -> None:
    if not callable(combine_fn):
        raise ValueError(f"Combine_fn must be a callable, but got {combine_fn}")
    if not isinstance(dim, int):
        raise ValueError("Dim must be an int, but got " + str(type(dim)))
    if not isinstance(reverse, bool):
        raise RuntimeError("Reverse must be a bool, but got " + str(type(reverse)))
    if combine_mode not in ("pointwise", "generic"):
        raise ValueError(f"Combine_mode must either 'pointwise' or 'generic', but got "
                         f"{combine_mode}")
    if combine_mode == "pointwise" and not all(
            leaf.device.type in ("cuda", "xpu") for leaf in leaves):
        raise ValueError("For combine_mode='pointwise', all input tensors need to be on CUDA "
                         "or XPU")
    if not leaves:
        raise ValueError("Expected at least 1 xs leaf")
    if any(not isinstance(leaf, Tensor) for leaf in leaves):
        raise ValueError("xs leaves must be a Tensor")
    if any(leaf.is_sparse for leaf in leaves):
        raise ValueError("xs leaves must dense Tensors, consider using `to_dense()`")
    if any(leaf.ndim <= dim or leaf.shape[dim] == 0 for leaf in leaves):
        raise ValueError("All xs leaves must at least have 'dim' number of dimensions and scan "
                         "dimension > 0")


def _interleave(even: Tensor, odd: Tensor) -> Tensor:
    """Merge along dim 0: even[0], odd[0], even[1], odd[1], ... (even may be one longer)."""
    pairs = min(even.shape[0], odd.shape[0])
    merged = dg.stack([even[:pairs], odd[:pairs]], dim=1).flatten(0, 1)
    if even.shape[0] > pairs:
        merged = dg.cat([merged, even[pairs:]], dim=0)
    return merged


def _scan(combine: Callable[[list, list], list], elems: list) -> list:
    """Inclusive scan along dim 0 of every leaf in ``elems`` (all of one length)."""
    count = elems[0].shape[0]
    if count < 2:
        return elems
    # Combine neighbours (0,1), (2,3), ...; the scan of those is every odd-indexed prefix.
    odd = _scan(combine, combine([e[0:count - 1:2] for e in elems], [e[1::2] for e in elems]))
    # Every even-indexed prefix past the first is an odd prefix combined with the next element.
    rights = [e[2::2] for e in elems]
    lefts = [o[:rights[0].shape[0]] for o in odd]
    even = combine(lefts, rights) if rights[0].shape[0] else rights
    even = [dg.cat([e[:1], r], dim=0) for e, r in zip(elems, even)]
    return [_interleave(e, o) for e, o in zip(even, odd)]


def associative_scan(combine_fn: Callable[[Any, Any], Any], xs: Any, dim: int,
                     reverse: bool = False, combine_mode: str = "pointwise") -> Any:
    """Inclusive scan of ``xs`` along ``dim`` with an associative ``combine_fn``.

    Args:
        combine_fn: ``(lhs, rhs) -> out`` on trees shaped like ``xs`` (one element of the scan
            dimension each in ``"generic"`` mode); must be associative and pure.
        xs: a Tensor or a tree (list/tuple/dict) of Tensors, all with the same scan length.
        dim: the dimension to scan over (negative counts from the end).
        reverse: scan from the last element to the first.
        combine_mode: ``"generic"`` (runs here) or ``"pointwise"`` (PyTorch needs CUDA/XPU
            tensors for it and raises ValueError for CPU ones, as deltagrad does).

    Returns:
        A tree like ``xs``: element ``i`` combines elements ``0..i`` (``i..n-1`` if reverse).

    >>> import deltagrad as dg
    >>> associative_scan(lambda a, b: a + b, dg.tensor([1., 2., 3.]), 0, combine_mode="generic")
    tensor([1., 3., 6.])
    """
    leaves, spec = tree_flatten(xs)
    if not leaves:  # PyTorch fails indexing the first leaf (IndexError) before its own checks
        raise IndexError("associative_scan: expected at least 1 xs leaf, got none")
    if isinstance(leaves[0], Tensor) and isinstance(dim, int):
        dim = _canonical_dim(leaves[0].ndim, dim)
    _validate(combine_fn, leaves, dim, reverse, combine_mode)
    count = len(leaves)

    def flat_fn(*args):
        return combine_fn(tree_unflatten(list(args[:count]), spec),
                          tree_unflatten(list(args[count:]), spec))

    # "generic": PyTorch maps combine_fn over the batch of elements; "pointwise" (CUDA-only
    # there) takes the batch whole, which a pointwise combine_fn cannot tell apart.
    mapped = vmap(flat_fn) if combine_mode == "generic" else flat_fn

    def combine(lhs: list, rhs: list) -> list:
        return tree_leaves(mapped(*lhs, *rhs))

    moved = [leaf.movedim(dim, 0) for leaf in leaves]
    if reverse:
        moved = [leaf.flip([0]) for leaf in moved]
    out = _scan(combine, moved)
    if reverse:
        out = [leaf.flip([0]) for leaf in out]
    return tree_unflatten([leaf.movedim(0, dim) for leaf in out], spec)
