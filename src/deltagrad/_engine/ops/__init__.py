"""The op registry: every primitive's forward, VJP rule and test samples, split by family.

``registry`` defines ``register`` and the NumPy namespace rules compute with; each family module
registers its ops when imported. Importing this package registers them all.
"""

from . import (  # noqa: F401
    activations,
    complex,
    cumulative,
    decompositions,
    elementwise,
    elementwise_pairs,
    embedding,
    gamma,
    indexing,
    layouts,  # (it imports the families whose forwards it wraps)
    linalg,
    linalg_solve,
    losses,
    nn,
    normalization,
    padding,
    random,
    reductions,
    scatter,
    shape,
    special_extra,
    statistics,
    vector_norm,
)
from .registry import ARRAY, OPS, Op, Sample, register

__all__ = ["ARRAY", "OPS", "Op", "Sample", "register"]
