"""The engine: Tensor, the op registry, the backward sweep, sparse rows, buffers and randomness.

Layers inside, lowest first: ``buffers``, ``sparse``, ``random`` -> ``ops`` (the registry, by
family) -> ``autograd`` (grad mode, anomaly mode, the backward sweep) -> ``tensor`` (the Tensor
and the one path that makes an op's result) -> ``api`` (the functions on tensors, by family,
attached as Tensor methods). Everything above the engine imports from here or from ``api``.
"""

from . import api
from .api.aten_forms import *  # noqa: F403
from .api.attributes import *  # noqa: F403
from .api.autograd_switches import *  # noqa: F403
from .api.backward import grad
from .api.complex import *  # noqa: F403
from .api.conversion import *  # noqa: F403
from .api.copies import *  # noqa: F403
from .api.creation import *  # noqa: F403 - each family module's __all__ is public
from .api.cumulative import *  # noqa: F403
from .api.decompositions import *  # noqa: F403
from .api.decompositions_lu import *  # noqa: F403
from .api.indexing import *  # noqa: F403
from .api.inplace_functions import *  # noqa: F403
from .api.linalg import *  # noqa: F403
from .api.linalg_solve import *  # noqa: F403
from .api.lowrank import *  # noqa: F403
from .api.moments import *  # noqa: F403
from .api.norms import *  # noqa: F403
from .api.pointwise import *  # noqa: F403
from .api.pointwise_extra import *  # noqa: F403
from .api.random import *  # noqa: F403
from .api.rearrange import *  # noqa: F403
from .api.reductions import *  # noqa: F403
from .api.settings import *  # noqa: F403
from .api.shape import *  # noqa: F403
from .api.softmax import *  # noqa: F403
from .api.sorting import *  # noqa: F403
from .api.stacking import *  # noqa: F403
from .api.statistics import *  # noqa: F403
from .api.strided import *  # noqa: F403
from .autograd import (
    AnomalyError,
    DTypeError,
    GraphError,
    ShapeError,
    detect_anomaly,
    enable_grad,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
)
from .device import device
from .dtypes import *  # noqa: F403 - float32, long, dtype, finfo, set_default_dtype, ...
from .dtypes import __all__ as _dtype_names
from .ops import OPS
from .random import (
    Generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from .tensor import Tensor

_FAMILIES = (api.attributes, api.autograd_switches, api.complex, api.conversion, api.creation,
             api.cumulative, api.decompositions, api.decompositions_lu, api.indexing,
             api.inplace_functions, api.linalg, api.linalg_solve, api.lowrank, api.moments,
             api.norms, api.pointwise, api.pointwise_extra, api.random, api.rearrange,
             api.reductions, api.settings, api.shape, api.softmax, api.sorting, api.stacking,
             api.statistics,
             api.aten_forms, api.copies, api.strided)

# Everything the top level offers from the engine; library code above the engine may use it as
# its `dg` namespace (`from .. import _engine as dg`), since the top level is above it.
__all__ = ["OPS", "AnomalyError", "DTypeError", "Generator", "GraphError", "ShapeError", "Tensor",
           "api", "detect_anomaly", "device", "enable_grad", "get_rng_state", "grad",
           "initial_seed", "is_anomaly_enabled", "is_grad_enabled", "manual_seed", "no_grad",
           "seed", "set_detect_anomaly", "set_grad_enabled", "set_rng_state", *_dtype_names,
           *(name for family in _FAMILIES for name in family.__all__)]
