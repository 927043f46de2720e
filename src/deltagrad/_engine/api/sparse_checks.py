"""Checks of sparse COO storages: index ranges (PyTorch's invariant checks) and the layouts
two sparse tensors combined entry by entry must share, and the error of a sparse tensor that
reached a dense kernel (moved out of api/sparse_coo.py)."""

from __future__ import annotations

import numpy as np

from ..errors import warn_once

# Whether the program has set PyTorch's global invariant-check switch itself
# (torch.sparse.check_sparse_tensor_invariants.enable / disable / the context manager).
EXPLICIT = [False]


def implicit_check_warning(check_invariants) -> None:
    """PyTorch 2.13's once-per-process UserWarning at a public sparse constructor called without
    ``check_invariants=`` while the global switch was never set (deltagrad said nothing:
    session 29, PR21). deltagrad checks index ranges either way (``_check_index``); the
    warning is PyTorch's, so programs that print or record warnings see the same ones."""
    if check_invariants is None and not EXPLICIT[0]:
        warn_once("sparse_invariants_implicit",
                  "Sparse invariant checks are implicitly disabled. Memory errors (e.g. "
                  "SEGFAULT) will occur when operating on a sparse tensor which violates the "
                  "invariants, but checks incur performance overhead. To silence this warning, "
                  "explicitly opt in or out. See "
                  "`torch.sparse.check_sparse_tensor_invariants.__doc__` for guidance. ")


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
