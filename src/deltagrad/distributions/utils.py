"""The import path ``torch.distributions.utils``: parameter broadcasting, probs <-> logits,
``lazy_property``, and packing a lower triangle into a vector (``tril_matrix_to_vec``) and
back (``vec_to_tril_matrix``)."""

from __future__ import annotations

import math

import numpy as np

from .. import _engine as dg
from .._engine.tensor import Tensor
from ._utils import (
    broadcast_all,
    clamp_probs,
    lazy_property,
    logits_to_probs,
    probs_to_logits,
    sum_rightmost,
)

__all__ = ["broadcast_all", "clamp_probs", "euler_constant", "lazy_property",
           "logits_to_probs", "probs_to_logits", "tril_matrix_to_vec", "vec_to_tril_matrix"]

euler_constant = 0.57721566490153286061  # Euler-Mascheroni constant, PyTorch's name
_sum_rightmost = sum_rightmost


def _standard_normal(shape, dtype=None, device=None) -> Tensor:
    """Standard normal draws of ``shape`` (PyTorch's private helper, used by third-party
    libraries such as gpytorch): ``empty(shape).normal_()``, the same stream as ``randn``."""
    return dg.empty(tuple(shape), dtype=dtype, device=device).normal_()


def _tril_positions(n: int, diag: int) -> np.ndarray:
    """Flat (row-major) positions in an n x n matrix of the entries on or below diagonal
    ``diag``, in row-major order (the packing order of both functions below)."""
    rows, cols = np.indices((n, n))
    return np.flatnonzero(cols <= rows + diag)


def tril_matrix_to_vec(mat: Tensor, diag: int = 0) -> Tensor:
    """The entries of ``mat`` (*, n, n) on or below diagonal ``diag``, row by row, as a
    vector (*, m); differentiable.

    Raises:
        ValueError: when ``diag`` is outside [-n, n - 1].
    """
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    index = dg.tensor(_tril_positions(n, diag))
    return mat.reshape(tuple(mat.shape[:-2]) + (n * n,)).index_select(-1, index)


def vec_to_tril_matrix(vec: Tensor, diag: int = 0) -> Tensor:
    """The inverse of ``tril_matrix_to_vec``: a (*, n, n) matrix, zero above diagonal
    ``diag``, from its packed entries (*, m); differentiable.

    Raises:
        ValueError: when m is not the size of such a triangle.
    """
    m = vec.shape[-1]
    # n solves n (n + 1) / 2 + diag n - |diag| (diag + 1) / 2 = m (torch's closed form).
    b = 1 + 2 * diag
    n = (-b + math.sqrt(b * b + 8 * m + 4 * abs(diag) * (diag + 1))) / 2
    if abs(round(n) - n) > np.finfo(np.float32).eps or round(n) < 0:
        raise ValueError(f"The size of last dimension is {m} which cannot be expressed as the "
                         "lower triangular part of a square D x D matrix.")
    n = round(n)
    positions = _tril_positions(n, diag)
    if positions.size != m:
        raise ValueError(f"The size of last dimension is {m} which cannot be expressed as the "
                         "lower triangular part of a square D x D matrix.")
    # Each of the n * n entries gathers its packed value, or the appended zero (index m).
    source = np.full(n * n, m, dtype=np.int64)
    source[positions] = np.arange(m)
    padded = dg.cat([vec, dg.zeros(tuple(vec.shape[:-1]) + (1,), dtype=vec.dtype)], -1)
    flat = padded.index_select(-1, dg.tensor(source))
    return flat.reshape(tuple(vec.shape[:-1]) + (n, n))
