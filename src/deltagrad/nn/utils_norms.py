"""The hook-based weight and spectral normalization of ``torch.nn.utils`` (``weight_norm``,
``remove_weight_norm``, ``spectral_norm``, ``remove_spectral_norm``).

Each replaces ``module.<name>`` by parameters (``<name>_g`` and ``<name>_v``; ``<name>_orig``
with buffers ``<name>_u`` and ``<name>_v``) and recomputes ``module.<name>`` as a plain
attribute in a forward pre-hook, before every call: PyTorch's older design, which its
``nn.utils.parametrizations`` replaces (``weight_norm`` warns so, as PyTorch's does). The
state-dict keys, hook objects and state-dict metadata are PyTorch's.
"""

from __future__ import annotations

import warnings
from typing import Any

from .. import _engine as dg
from .._engine import no_grad
from .._engine.tensor import Tensor
from .lazy import is_lazy
from .module import Module, Parameter
from .utils_parametrizations import (
    _as_matrix,
    _default_spectral_dim,
    _normalized,
    _write,
    norm_except_dim,
    weight_norm_value,
)

__all__ = ["SpectralNorm", "SpectralNormLoadStateDictPreHook", "SpectralNormStateDictHook",
           "WeightNorm", "remove_spectral_norm", "remove_weight_norm", "spectral_norm",
           "weight_norm"]


def _forward_pre_hooks(module: Module):
    """``(handle id, hook)`` of the module's forward pre-hooks (hooks.py keeps them as
    ``(hook, with_kwargs)`` entries)."""
    hooks = module.__dict__.get("_hooks")
    if hooks is None:
        return []
    return [(key, entry[0]) for key, entry in hooks.forward_pre.items()]


def _remove_forward_pre_hook(module: Module, key) -> None:
    del module._hooks.forward_pre[key]


# ----------------------------------------------------------------------------------------------
# Weight normalization.


class WeightNorm:
    """The forward pre-hook of ``weight_norm``: sets ``module.<name>`` from ``<name>_g`` and
    ``<name>_v`` before each call."""

    def __init__(self, name: str, dim: int | None) -> None:
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module: Module) -> Tensor:
        """``v * g / ||v||`` from the module's current ``g`` and ``v``."""
        return weight_norm_value(getattr(module, self.name + "_v"),
                                 getattr(module, self.name + "_g"), self.dim)

    @staticmethod
    def apply(module: Module, name: str, dim: int | None) -> WeightNorm:
        """Install weight normalization on ``module.<name>`` (see ``weight_norm``)."""
        warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
                      "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning,
                      stacklevel=3)
        for _key, hook in _forward_pre_hooks(module):
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two weight_norm hooks on the same "
                                   f"parameter {name}")
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        if is_lazy(weight):
            raise ValueError("The module passed to `WeightNorm` can't have uninitialized "
                             "parameters. Make sure to run the dummy forward before applying "
                             "weight normalization")
        del module._parameters[name]
        module.register_parameter(name + "_g",
                                  Parameter(norm_except_dim(weight, 2, fn.dim).detach()))
        module.register_parameter(name + "_v", Parameter(weight.detach()))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module: Module) -> None:
        """Put back ``module.<name>`` as a parameter holding the current normalized weight."""
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.detach()))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Weight normalization by a forward pre-hook (deprecated in PyTorch for
    ``nn.utils.parametrizations.weight_norm``; it warns FutureWarning).

    ``module.<name>`` becomes ``<name>_g * <name>_v / ||<name>_v||``, recomputed before every
    call, with the norm over every dimension but ``dim`` (the whole tensor for ``None``).

    Args:
        module: the module holding the weight.
        name: the parameter's name.
        dim: the dimension that keeps its own norm.

    Returns:
        ``module``.
    """
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo ``weight_norm``: ``module.<name>`` is a parameter again, with the current value.

    Raises:
        ValueError: no weight normalization on ``name``.
    """
    for key, hook in _forward_pre_hooks(module):
        if isinstance(hook, WeightNorm) and hook.name == name:
            hook.remove(module)
            _remove_forward_pre_hook(module, key)
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")


# ----------------------------------------------------------------------------------------------
# Spectral normalization.


class SpectralNorm:
    """The forward pre-hook of ``spectral_norm``: sets ``module.<name>`` to
    ``<name>_orig / sigma``, running power iteration in training mode."""

    _version: int = 1

    def __init__(self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        self.name = name
        self.dim = dim
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        """The weight as a ``[h, w]`` matrix, ``dim`` first."""
        return _as_matrix(weight, self.dim)

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Tensor:
        """``<name>_orig / (u' W v)``, after updating u and v in place if asked."""
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        matrix = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            with no_grad():
                for _ in range(self.n_power_iterations):
                    _write(v, _normalized(dg.mv(matrix.T, u), self.eps))
                    _write(u, _normalized(dg.mv(matrix, v), self.eps))
            # (copies, so that a later in-place update does not reach this call's graph)
            u, v = u.clone(), v.clone()
        sigma = dg.dot(u, dg.mv(matrix, v))
        return weight / sigma

    def remove(self, module: Module) -> None:
        """Put back ``module.<name>`` as a parameter holding the current normalized weight."""
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name,
                self.compute_weight(module, do_power_iteration=module.training))

    def _solve_v_and_rescale(self, matrix: Tensor, u: Tensor, target_sigma) -> Tensor:
        # v such that u' W v = target_sigma, from W's pseudo-inverse (old checkpoints only).
        v = dg.pinverse(matrix.T @ matrix) @ matrix.T @ u
        return v * (target_sigma / dg.dot(u, dg.mv(matrix, v)))

    @staticmethod
    def apply(module: Module, name: str, n_power_iterations: int, dim: int,
              eps: float) -> SpectralNorm:
        """Install spectral normalization on ``module.<name>`` (see ``spectral_norm``)."""
        for _key, hook in _forward_pre_hooks(module):
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two spectral_norm hooks on the same "
                                   f"parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters[name]
        if weight is None:
            raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
        if is_lazy(weight):
            raise ValueError("The module passed to `SpectralNorm` can't have uninitialized "
                             "parameters. Make sure to run the dummy forward before applying "
                             "spectral normalization")
        with no_grad():
            h, w = fn.reshape_weight_to_matrix(weight).shape
            u = _normalized(dg.randn(h, dtype=weight.dtype), fn.eps)
            v = _normalized(dg.randn(w, dtype=weight.dtype), fn.eps)
        delattr(module, fn.name)
        module.register_parameter(fn.name + "_orig", weight)
        setattr(module, fn.name, weight.detach())
        module.register_buffer(fn.name + "_u", u)
        module.register_buffer(fn.name + "_v", v)
        module.register_forward_pre_hook(fn)
        module._register_state_dict_hook(SpectralNormStateDictHook(fn))
        module._register_load_state_dict_pre_hook(SpectralNormLoadStateDictPreHook(fn))
        return fn


class SpectralNormLoadStateDictPreHook:
    """Loads state dicts saved before spectral norm's version 1 (PyTorch 0.4 layout, with
    ``<name>`` and no ``<name>_v``), solving for v."""

    def __init__(self, fn: SpectralNorm) -> None:
        self.fn = fn

    def __call__(self, state_dict, prefix, local_metadata, strict, missing_keys,
                 unexpected_keys, error_msgs) -> None:
        fn = self.fn
        version = local_metadata.get("spectral_norm", {}).get(fn.name + ".version", None)
        if version is not None and version >= 1:
            return
        weight_key = prefix + fn.name
        if (version is None and weight_key not in state_dict
                and all(weight_key + s in state_dict for s in ("_orig", "_u", "_v"))):
            return  # the current layout without metadata
        complete = True
        for suffix in ("_orig", "", "_u"):
            if weight_key + suffix not in state_dict:
                complete = False
                if strict:
                    missing_keys.append(weight_key + suffix)
        if not complete:
            return
        with no_grad():
            weight_orig = _as_tensor(state_dict[weight_key + "_orig"])
            weight = _as_tensor(state_dict.pop(weight_key))
            sigma = (weight_orig / weight).mean()
            matrix = fn.reshape_weight_to_matrix(weight_orig)
            u = _as_tensor(state_dict[weight_key + "_u"])
            state_dict[weight_key + "_v"] = fn._solve_v_and_rescale(matrix, u, sigma)


def _as_tensor(value) -> Tensor:
    return value if isinstance(value, Tensor) else dg.tensor(value)


class SpectralNormStateDictHook:
    """Records spectral norm's version in the state dict's metadata."""

    def __init__(self, fn: SpectralNorm) -> None:
        self.fn = fn

    def __call__(self, module, state_dict, prefix, local_metadata) -> None:
        versions = local_metadata.setdefault("spectral_norm", {})
        key = self.fn.name + ".version"
        if key in versions:
            raise RuntimeError(f"Unexpected key in metadata['spectral_norm']: {key}")
        versions[key] = self.fn._version


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """Spectral normalization by a forward pre-hook (PyTorch's older ``nn.utils``
    form): ``module.<name>`` becomes ``<name>_orig / sigma``, with ``sigma`` from the buffers
    ``<name>_u`` and ``<name>_v`` (random unit vectors at first, from deltagrad's generator),
    refined by ``n_power_iterations`` steps before each call in training mode.

    Args:
        module: the module holding the weight.
        name: the parameter's name.
        n_power_iterations: power-iteration steps per call in training mode.
        eps: keeps the normalizations away from dividing by zero.
        dim: the dimension of the output features (1 for transposed convolutions, else 0).

    Returns:
        ``module``.
    """
    if dim is None:
        dim = _default_spectral_dim(module)
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Undo ``spectral_norm``: ``module.<name>`` is a parameter again, with the current value.

    Raises:
        ValueError: no spectral normalization on ``name``.
    """
    for key, hook in _forward_pre_hooks(module):
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            _remove_forward_pre_hook(module, key)
            break
    else:
        raise ValueError(f"spectral_norm of '{name}' not found in {module}")
    for registry_name, kind in (("_state_dict_hooks", SpectralNormStateDictHook),
                                ("_load_state_dict_pre_hooks", SpectralNormLoadStateDictPreHook)):
        registry = module.__dict__.get(registry_name) or {}
        for key, (hook, _flag) in list(registry.items()):
            if isinstance(hook, kind) and hook.fn.name == name:
                del registry[key]
                break
    return module
