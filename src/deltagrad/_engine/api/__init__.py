"""The functions on tensors, by family: each is ``deltagrad.<name>`` and ``Tensor.<name>``.

A function here is written once, PyTorch-style (``sum(input, dim=None, keepdim=False)``), and
``@tensor_method`` makes it the Tensor method too. Each module's ``__all__`` is what the top
level re-exports. Importing this package attaches every method.
"""

from . import (
    aten_forms,
    attributes,
    autograd_switches,
    backward,
    conversion,
    copies,
    creation,
    cumulative,
    decompositions,
    decompositions_lu,
    indexing,
    inplace,
    inplace_functions,
    inplace_random,  # noqa: F401 - attaches uniform_ / normal_
    linalg,
    linalg_solve,
    lowrank,
    meta_ops,  # noqa: F401, I001 - last: it wraps functions of the families above
    moments,
    normalization,
    norms,
    pointwise,
    pointwise_extra,
    random,
    rearrange,
    reductions,
    settings,
    shape,
    sorting,
    sparse,
    sparse_dense,
    stacking,
    statistics,
    strided,
    tensor_surface,  # noqa: F401 - attaches the rest of PyTorch's Tensor names
)

__all__ = ["attributes", "autograd_switches", "backward", "conversion", "creation",
           "cumulative", "decompositions", "decompositions_lu", "indexing", "inplace",
           "inplace_functions", "linalg", "linalg_solve", "lowrank", "moments", "normalization",
           "norms", "pointwise", "pointwise_extra", "random", "rearrange", "reductions",
           "settings", "shape", "sorting", "sparse", "sparse_dense", "stacking", "statistics",
           "aten_forms", "copies", "strided"]
