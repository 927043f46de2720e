"""Gradient clipping (PyTorch's ``torch.nn.utils``), for dense and row-sparse gradients."""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Iterable

import numpy as np

from .._engine import versions
from .._engine.autograd import _counters
from .._engine.sparse import RowSparseGrad
from .._engine.tensor import Tensor, _leaf

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_",
           "get_total_norm"]


def _gradients(parameters) -> list:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def _values(grad) -> np.ndarray:
    """The array holding every nonzero entry of a gradient (coalesced rows for sparse)."""
    data = grad._data  # a sparse gradient Tensor's storage is its RowSparseGrad
    if isinstance(data, RowSparseGrad):
        # A row listed twice holds two partial gradients: their sum is the row's gradient, so
        # norms and clamps must see the sum; coalesced in place, it spares the optimizer the work.
        return data.coalesce_().values
    return data


def _norm(values: np.ndarray, norm_type: float, empty: bool | None = None) -> np.ndarray:
    """PyTorch's linalg.vector_norm of one array: real for a complex one, in the array's
    (real) dtype, half precision accumulated in float32 as PyTorch's kernels do. ``empty``:
    whether the tensor has no elements (a row-sparse gradient's values may be empty while it
    is not); PyTorch refuses the (-)inf norm of an empty tensor."""
    flat = values.reshape(-1)
    if np.iscomplexobj(flat):
        flat = np.abs(flat)
    out_dtype = flat.dtype
    if flat.dtype.itemsize < 4:  # float16 / bfloat16: summed in float32, the result rounded
        flat = flat.astype(np.float32)
    if math.isinf(norm_type):
        if (flat.size == 0) if empty is None else empty:
            raise RuntimeError(f"linalg.vector_norm cannot compute the {norm_type} norm on an "
                               "empty tensor because the operation does not have an identity")
        pick = np.max if norm_type > 0 else np.min
        return pick(np.abs(flat)).astype(out_dtype)
    if norm_type == 0.0:  # the count of nonzero entries
        return np.asarray(np.count_nonzero(flat), dtype=out_dtype)
    if norm_type == 2.0:
        return np.sqrt(np.dot(flat, flat)).astype(out_dtype)
    return (np.sum(np.abs(flat) ** norm_type) ** (1.0 / norm_type)).astype(out_dtype)


def _changed(array: np.ndarray) -> None:
    # An in-place change of a gradient's array, counted as PyTorch's mul_/clamp_ would be: it
    # also ends what the engine knew about the array (e.g. the rows outside which an embedding
    # gradient is zero, which Adam uses instead of scanning: a factor of nan or inf changes
    # every row).
    versions.bump(array, _counters.created)


def _scale_(grad, factor) -> None:
    if isinstance(grad._data, RowSparseGrad):
        grad._data.values = grad._data.values * factor
    elif grad._data.flags.writeable:
        np.multiply(grad._data, factor, out=grad._data, casting="unsafe")
        _changed(grad._data)
    else:
        grad._data = (grad._data * factor).astype(grad._data.dtype, copy=False)


def get_total_norm(tensors: Tensor | Iterable[Tensor], norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """The ``norm_type``-norm of all entries of ``tensors`` together (the norm of their norms).

    Args:
        tensors: a Tensor or an iterable of them (usually gradients; ``None`` entries skipped).
        norm_type: p of the norm (``math.inf`` for the largest absolute value).
        error_if_nonfinite: raise if the total is nan or inf.
        foreach: accepted for PyTorch's signature (its multi-tensor kernels); the result is
            the same either way.

    Returns:
        A 0-d Tensor (float32 when there are no tensors).
    """
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    tensors = [t for t in tensors if t is not None]
    norm_type = float(norm_type)
    if not tensors:
        return _leaf(np.array(0.0, dtype=np.float32))
    norms = np.stack([_norm(_values(t), norm_type, t.numel() == 0) for t in tensors])
    total = _norm(norms, norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           "`parameters` is non-finite, so it cannot be clipped. To disable this "
                           "error and scale the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    return _leaf(np.asarray(total))


def clip_grads_with_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                          total_norm, foreach: bool | None = None) -> None:
    """Scale every gradient in place by ``min(1, max_norm / (total_norm + 1e-6))``, given a
    total norm already computed (``get_total_norm``).

    Args:
        parameters: a Tensor or an iterable of Tensors; those without ``.grad`` are skipped.
        max_norm: the largest norm allowed.
        total_norm: the joint norm of the gradients (a 0-d Tensor or a number).
        foreach: accepted for PyTorch's signature; ignored.
    """
    grads = _gradients(parameters)
    if not grads:
        return
    total = total_norm._data if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    max_norm = float(max_norm)  # (a 0-d Tensor too, as PyTorch)
    clip_coef = np.minimum(max_norm / (total + 1e-6), 1.0).astype(total.dtype)
    # A coefficient of exactly 1 (the norm is within the limit, as on most steps) would leave
    # every gradient as it is (g * 1 == g, nan included), so the pass over them is skipped.
    if clip_coef != 1.0:
        with np.errstate(invalid="ignore"):  # a non-finite norm makes them nan, as PyTorch
            for g in grads:
                _scale_(g, clip_coef)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    The joint norm is the ``norm_type``-norm of the per-parameter norms (that is, of all
    gradient entries together); every gradient is multiplied in place by
    ``min(1, max_norm / (total_norm + 1e-6))``, PyTorch's formula. A row-sparse gradient is
    coalesced first (repeated rows summed), and stays coalesced.

    Args:
        parameters: a Tensor or an iterable of Tensors; those without ``.grad`` are skipped.
        max_norm: the largest norm allowed.
        norm_type: p of the norm (``math.inf`` for the largest absolute value).
        error_if_nonfinite: raise if the total norm is nan or inf (else the gradients become
            nan, as in PyTorch).
        foreach: accepted for PyTorch's signature (its multi-tensor kernels); ignored.

    Returns:
        The total norm before clipping, a 0-d Tensor.

    >>> import deltagrad as dg
    >>> w = dg.tensor([3.0, 4.0], requires_grad=True)
    >>> (w * w / 2).sum().backward()
    >>> clip_grad_norm_([w], max_norm=1.0)
    tensor(5.)
    >>> w.grad
    tensor([0.6000, 0.8000])
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    parameters = list(parameters)  # (a generator is walked twice)
    total = get_total_norm(_gradients(parameters), norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_norm(parameters: Tensor | Iterable[Tensor], max_norm: float,
                   norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    """Deprecated spelling of ``clip_grad_norm_`` (it warns, as PyTorch's)."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient entry to ``[-clip_value, clip_value]``, in place.

    A row-sparse gradient is coalesced first, so the clamp applies to each row's full gradient.

    Args:
        parameters: a Tensor or an iterable of Tensors; those without ``.grad`` are skipped.
        clip_value: the largest absolute value allowed.
        foreach: accepted for PyTorch's signature; ignored.
    """
    clip_value = float(clip_value)
    grads = _gradients(parameters)
    if not grads:  # (PyTorch's grouped clamp refuses an empty list, foreach or not)
        raise RuntimeError("clip_grad_value_: no parameter has a gradient (an empty list of "
                           "gradients)")
    for g in grads:
        if isinstance(g._data, RowSparseGrad):
            rows = g._data.coalesce_()
            rows.values = np.clip(rows.values, -clip_value, clip_value)
        elif g._data.flags.writeable:
            np.clip(g._data, -clip_value, clip_value, out=g._data)
            _changed(g._data)
        else:
            g._data = np.clip(g._data, -clip_value, clip_value)


# ----------------------------------------------------------------------------------------------
# Parameter vectors and the `rnn` submodule (issue 17). This module is not a package, so
# `deltagrad.nn.utils.rnn` is registered in sys.modules by hand, as the standard library's os
# does for os.path: `nn.utils.rnn.pad_sequence` and `from deltagrad.nn.utils.rnn import ...`
# both work, as in PyTorch.

import sys  # noqa: E402
import types  # noqa: E402

from . import rnn_utils as rnn  # noqa: E402
from .convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: E402

sys.modules[f"{__name__}.rnn"] = rnn
# An empty search path makes this module a package to the import system, which looks a parent's
# __path__ up before it consults sys.meta_path: without it `import torch.nn.utils.rnn` under the
# torch alias (deltagrad.install_as_torch) failed with "'torch.nn.utils' is not a package".
# Nothing is found on it; the submodules are the ones registered in sys.modules here.
__path__: list[str] = []
__all__ += ["parameters_to_vector", "rnn", "skip_init", "vector_to_parameters"]


def skip_init(module_cls, *args, **kwargs):
    """Build ``module_cls(*args, **kwargs)`` with its parameters and buffers left
    "uninitialised" (zeros here, so runs are repeatable), for initialising them yourself.

    PyTorch builds the module on the meta device and calls ``to_empty``; here it is built
    normally and then emptied with ``to_empty``, which costs one initialisation.

    Raises:
        RuntimeError: if ``module_cls`` does not accept a ``device`` keyword (as PyTorch).
    """
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    final_device = kwargs.pop("device", "cpu")
    return module_cls(*args, **kwargs).to_empty(device=final_device)


# ----------------------------------------------------------------------------------------------
# Reparametrizations and functional calls, PyTorch's submodules `nn.utils.parametrize`,
# `nn.utils.parametrizations` and `nn.utils.stateless` (registered as `rnn` is above), and the
# hook-based weight and spectral normalization.

from . import utils_parametrizations as parametrizations  # noqa: E402
from . import utils_parametrize as parametrize  # noqa: E402
from . import utils_stateless as stateless  # noqa: E402
from .utils_norms import (  # noqa: E402
    remove_spectral_norm,
    remove_weight_norm,
    spectral_norm,
    weight_norm,
)

for _name, _module in (("parametrize", parametrize), ("parametrizations", parametrizations),
                       ("stateless", stateless)):
    sys.modules[f"{__name__}.{_name}"] = _module
__all__ += ["parametrizations", "parametrize", "remove_spectral_norm", "remove_weight_norm",
            "spectral_norm", "stateless", "weight_norm"]
del _name, _module

# PyTorch's submodules `nn.utils.prune` and `nn.utils.fusion` (whose functions nn.utils also
# offers), and the module paths `nn.utils.spectral_norm` / `nn.utils.weight_norm`, whose names
# here stay the functions, as in PyTorch; registered as `rnn` is above.
from . import utils_fusion as fusion  # noqa: E402
from . import utils_norms as _utils_norms  # noqa: E402
from . import utils_prune as prune  # noqa: E402
from .utils_fusion import (  # noqa: E402
    fuse_conv_bn_eval,
    fuse_conv_bn_weights,
    fuse_linear_bn_eval,
    fuse_linear_bn_weights,
)

for _name, _module in (("fusion", fusion), ("prune", prune), ("spectral_norm", _utils_norms),
                       ("weight_norm", _utils_norms)):
    sys.modules[f"{__name__}.{_name}"] = _module
__all__ += ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
            "fuse_linear_bn_weights", "fusion", "prune"]
del _name, _module

# PyTorch's module path `nn.utils.clip_grad` (sbi imports clip_grad_norm_ from it), registered
# as the submodules above.
clip_grad = types.ModuleType(f"{__name__}.clip_grad", "PyTorch's nn.utils.clip_grad.")
for _name in ("clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_",
              "get_total_norm"):
    setattr(clip_grad, _name, globals()[_name])
sys.modules[clip_grad.__name__] = clip_grad
del _name

# PyTorch's module path `nn.utils.convert_parameters` (backpack imports parameters_to_vector
# from it at import), registered as the submodules above.
from . import convert_parameters  # noqa: E402

sys.modules[f"{__name__}.convert_parameters"] = convert_parameters

# PyTorch's module path `nn.utils._per_sample_grad` (opacus' "ew" mode calls
# call_for_per_sample_grads from it), registered as the submodules above.
from . import utils_per_sample_grad as _per_sample_grad  # noqa: E402

sys.modules[f"{__name__}._per_sample_grad"] = _per_sample_grad

from .utils_memory_format import (  # noqa: E402
    convert_conv2d_weight_memory_format,
    convert_conv3d_weight_memory_format,
)

__all__ += ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]

# PyTorch's module paths `nn.utils.memory_format` and `nn.utils.init` (skip_init), registered as
# the submodules above.
from . import utils_memory_format as memory_format  # noqa: E402

init = types.ModuleType(f"{__name__}.init", "PyTorch's nn.utils.init: skip_init.")
init.skip_init = skip_init
sys.modules[init.__name__] = init
sys.modules[f"{__name__}.memory_format"] = memory_format
