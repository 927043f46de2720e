"""The import path ``torch.distributions.lkj_cholesky``: ``LKJCholesky``, defined in matrix.py."""

from .matrix import LKJCholesky

__all__ = ["LKJCholesky"]
