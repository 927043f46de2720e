"""The op registry: every primitive's forward, VJP rule and test samples, split by family.

``registry`` defines ``register`` and the NumPy namespace rules compute with; each family module
registers its ops when imported. Importing this package registers them all.
"""

from . import elementwise, embedding, indexing, linalg, nn, reductions, shape  # noqa: F401
from .registry import ARRAY, OPS, Op, Sample, register

__all__ = ["ARRAY", "OPS", "Op", "Sample", "register"]
