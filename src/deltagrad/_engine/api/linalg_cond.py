"""``torch.linalg.cond``: the condition number of matrices in a norm, composed from singular
values, matrix norms and the inverse (so gradients come with it)."""

from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor, _leaf
from .linalg_solve import inv_ex
from .norms import matrix_norm, svdvals
from .pointwise import where

__all__: list = []  # (public as deltagrad.linalg.cond)


def cond(A: Tensor, p=None, *, out=None) -> Tensor:
    """The condition number of the matrices in ``A``'s last two dims in the norm ``p``.

    Args:
        A: ``[*, m, n]`` floating or complex (square unless ``p`` is None, 2 or -2).
        p: None or 2 (largest over smallest singular value), -2 (the inverse of that), or
            'fro', 'nuc', inf, -inf, 1, -1 (``norm(A) * norm(inv(A))``; inf for singular
            matrices).

    Returns:
        ``[*]``, real (a complex input's real dtype).

    >>> import deltagrad as dg
    >>> dg.linalg.cond(dg.tensor([[1.0, 0.0], [0.0, 4.0]]))
    tensor(4.)
    """
    if out is not None:
        raise TypeError("linalg.cond: out= is not supported")
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg_cond(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(A).__name__}")
    if A.ndim < 2:
        raise RuntimeError("linalg.cond: The input tensor must have at least 2 dimensions.")
    if p is None or (not isinstance(p, str) and p in (2, -2)):
        values = svdvals(A)
        if p == -2:
            return values[..., -1] / values[..., 0]
        return values[..., 0] / values[..., -1]
    if isinstance(p, bool) or not (p in ("fro", "nuc") if isinstance(p, str)
                                   else p in (math.inf, -math.inf, 1, -1)):
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.cond(ord={p}): A must be batches of square matrices, but "
                           f"they are {A.shape[-2]} by {A.shape[-1]} matrices")
    inverse, info = inv_ex(A)
    singular = info.detach().numpy() != 0
    if not singular.any():
        return matrix_norm(A, p) * matrix_norm(inverse, p)
    # NOTE: a singular matrix's condition number is inf; its (non-finite) inverse is replaced
    # by the identity before the norms so that they stay finite, then masked out.
    mask = _leaf(np.asarray(singular)[..., None, None])
    eye = _leaf(np.broadcast_to(np.eye(A.shape[-1], dtype=A.detach().numpy().dtype), A.shape))
    result = matrix_norm(A, p) * matrix_norm(where(mask, eye, inverse), p)
    infinite = _leaf(np.asarray(np.inf, dtype=result.detach().numpy().dtype))
    return where(_leaf(np.asarray(singular)), infinite, result)
