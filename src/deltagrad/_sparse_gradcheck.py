"""``torch.sparse.as_sparse_gradcheck``: gradcheck for functions of sparse tensors.

Each sparse input that requires grad is handed to the wrapped gradcheck as a dense leaf of its
values (with every element stored first, unless ``masked=True``), rebuilt into a sparse tensor
of its layout inside the checked function; sparse outputs that require grad are densified. The
wrapped gradcheck so sees dense tensors only.
"""

from __future__ import annotations

import numpy as np

from ._engine import dtypes
from ._engine.api.sparse_compressed import sparse_compressed_tensor
from ._engine.api.sparse_coo import sparse_coo_tensor
from ._engine.api.sparse_csr import sparse_csr
from ._engine.tensor import Tensor, _leaf

__all__ = ["as_sparse_gradcheck"]

_COMPRESSED = {sparse_csr: ("crow_indices", "col_indices"),
               dtypes.sparse_bsr: ("crow_indices", "col_indices"),
               dtypes.sparse_csc: ("ccol_indices", "row_indices"),
               dtypes.sparse_bsc: ("ccol_indices", "row_indices")}
_BLOCKED = (dtypes.sparse_bsr, dtypes.sparse_bsc)


def _full(tensor) -> Tensor:
    """``tensor`` with every element stored (zeros too), in its layout and blocksize."""
    layout, shape = tensor.layout, tuple(tensor.shape)
    dense = tensor.to_dense().detach()
    if layout == dtypes.sparse_coo:
        index = np.indices(shape[:tensor.sparse_dim()]).reshape(tensor.sparse_dim(), -1)
        values = dense.reshape(index.shape[1], *shape[tensor.sparse_dim():])
        return sparse_coo_tensor(index, values, shape, is_coalesced=True,
                                 check_invariants=False)
    blocksize = tuple(tensor.values().shape[1:3]) if layout in _BLOCKED else (1, 1)
    rows, cols = shape[0] // blocksize[0], shape[1] // blocksize[1]
    columns = _COMPRESSED[layout][0] == "ccol_indices"
    count, other = (cols, rows) if columns else (rows, cols)
    compressed = np.arange(count + 1, dtype=np.int64) * other
    plain = np.tile(np.arange(other, dtype=np.int64), count)
    # the values in the layout's order: blocks (compressed, plain), each row-major
    blocks = dense._data.reshape(rows, blocksize[0], cols, blocksize[1]).transpose(0, 2, 1, 3)
    if columns:
        blocks = blocks.transpose(1, 0, 2, 3)
    values = blocks.reshape(-1, *blocksize) if layout in _BLOCKED else blocks.reshape(-1)
    return sparse_compressed_tensor(compressed, plain, _leaf(np.ascontiguousarray(values)),
                                    shape, layout=layout, check_invariants=False)


def as_sparse_gradcheck(gradcheck):
    """Wrap ``gradcheck`` (``torch.autograd.gradcheck`` or a partial of it) so that the checked
    function may take and return sparse tensors (COO, CSR, CSC, BSR, BSC).

    >>> import deltagrad as dg
    >>> check = dg.sparse.as_sparse_gradcheck(dg.autograd.gradcheck)
    >>> x = dg.tensor([[0.0, 1.0], [2.0, 3.0]], dtype=dg.float64).to_sparse()
    >>> check(lambda s: s.to_sparse_csr(), x.requires_grad_(True))
    True
    """

    def gradcheck_with_sparse_support(func, inputs, **kwargs):
        masked = kwargs.pop("masked", False)
        inputs = tuple(inputs) if isinstance(inputs, (list, tuple)) else (inputs,)
        plans, strided = [], []
        for obj in inputs:
            layout = getattr(obj, "layout", None)
            if isinstance(obj, Tensor) and obj.requires_grad and layout != dtypes.strided:
                if not masked:
                    obj = _full(obj)
                if layout == dtypes.sparse_coo:
                    plan = (layout, tuple(obj.shape), obj._indices(), obj.is_coalesced())
                    values = obj._values()
                else:
                    compressed, plain = _COMPRESSED[layout]
                    plan = (layout, tuple(obj.shape), getattr(obj, compressed)(),
                            getattr(obj, plain)())
                    values = obj.values()
                plans.append(plan)
                strided.append(_leaf(values.detach()._data.copy()).requires_grad_(True))
            else:
                plans.append(None)
                strided.append(obj)

        def rebuilt(*args):
            restored = []
            for plan, arg in zip(plans, args):
                if plan is None:
                    restored.append(arg)
                elif plan[0] == dtypes.sparse_coo:
                    restored.append(sparse_coo_tensor(plan[2], arg, plan[1],
                                                      is_coalesced=plan[3],
                                                      check_invariants=False))
                else:
                    restored.append(sparse_compressed_tensor(plan[2], plan[3], arg, plan[1],
                                                             layout=plan[0],
                                                             check_invariants=False))
            outputs = func(*restored)
            many = isinstance(outputs, (list, tuple))
            dense = tuple(o.to_dense() if isinstance(o, Tensor) and o.requires_grad and
                          o.layout != dtypes.strided else o
                          for o in (outputs if many else (outputs,)))
            return dense if many else dense[0]

        return gradcheck(rebuilt, tuple(strided), **kwargs)

    return gradcheck_with_sparse_support
