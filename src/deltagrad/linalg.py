"""``deltagrad.linalg``: PyTorch's ``torch.linalg`` namespace (norms, singular values, matmul)."""

from ._engine.api.linalg import matmul
from ._engine.api.norms import linalg_norm as norm
from ._engine.api.norms import matrix_norm, svdvals, vector_norm

__all__ = ["matmul", "matrix_norm", "norm", "svdvals", "vector_norm"]
