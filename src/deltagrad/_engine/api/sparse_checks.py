"""Checks of sparse COO storages: index ranges (PyTorch's invariant checks) and the layouts
two sparse tensors combined entry by entry must share, and the error of a sparse tensor that
reached a dense kernel (moved out of api/sparse_coo.py)."""

from __future__ import annotations

import numpy as np


def _check_index(index: np.ndarray, shape: tuple) -> None:
    """PyTorch's invariant checks (``check_invariants=True``): PyTorch skips them by default
    and then reads out of bounds; deltagrad always checks, so a bad index is never silent."""
    if index.size == 0:
        return
    low, high = index.min(axis=1), index.max(axis=1)
    for dim in range(index.shape[0]):
        if low[dim] < 0:
            raise RuntimeError(f"found negative index {low[dim]} for dim {dim}")
        if high[dim] >= shape[dim]:
            raise RuntimeError(f"size is inconsistent with indices: for dim {dim}, size is "
                               f"{shape[dim]} but found index {high[dim]}")


def check_same_layout(op: str, a, b) -> None:
    """Two sparse storages ``op`` combines entry by entry: one size (PyTorch's RuntimeError)
    and one sparse_dim (not supported here)."""
    if a.shape != b.shape:
        raise RuntimeError(f"{op}: expected 'self' and 'other' to have same size, but self has "
                           f"size {list(a.shape)} while other has size {list(b.shape)}")
    if a.index.shape[0] != b.index.shape[0]:
        raise NotImplementedError(f"{op} of sparse tensors of different sparse_dim")


def _dense_kernel_error(kernel: str, shape) -> NotImplementedError:
    return NotImplementedError(
        f"a sparse tensor (layout sparse_coo, shape {tuple(shape)}) was passed to a function "
        f"form that supports dense tensors only (its NumPy kernel {kernel}); deltagrad supports "
        f"sparse tensors through their methods (S.sum(), S.relu(), S.abs(), S.pow(2), S * x, "
        f"...) and torch.sparse.* functions, or call .to_dense() first")
