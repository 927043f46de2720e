"""``deltagrad.linalg``: PyTorch's ``torch.linalg`` namespace (norms, singular values,
products, inverses, determinants and solves)."""

from ._engine.api.linalg import cross as _cross
from ._engine.api.linalg import matmul, matrix_power
from ._engine.api.linalg_solve import (
    det,
    inv,
    inv_ex,
    matrix_rank,
    multi_dot,
    slogdet,
    solve,
    solve_ex,
    solve_triangular,
    tensorinv,
    tensorsolve,
    vecdot,
)
from ._engine.api.linalg_solve import linalg_vander as vander
from ._engine.api.norms import linalg_norm as norm
from ._engine.api.norms import matrix_norm, svdvals, vector_norm
from ._engine.api.rearrange import diagonal as _diagonal
from ._engine.ops.linalg_solve import LinAlgError

__all__ = ["LinAlgError", "cross", "det", "diagonal", "inv", "inv_ex", "matmul",
           "matrix_norm", "matrix_power", "matrix_rank", "multi_dot", "norm", "slogdet", "solve",
           "solve_ex", "solve_triangular", "svdvals", "tensorinv", "tensorsolve", "vander",
           "vecdot", "vector_norm"]


def cross(input, other, *, dim: int = -1, out=None):
    """The cross product of 3-vectors along ``dim`` (default: the last), inputs broadcast (as
    ``torch.linalg.cross``; ``deltagrad.cross`` keeps ``torch.cross``'s default)."""
    if out is not None:
        raise TypeError("linalg.cross: out= is not supported")
    return _cross(input, other, dim=dim)


def diagonal(A, *, offset: int = 0, dim1: int = -2, dim2: int = -1):
    """The diagonals of the matrices in the last two dims (``torch.linalg.diagonal``): the
    ``offset`` diagonal, as a last dim."""
    return _diagonal(A, offset, dim1, dim2)
