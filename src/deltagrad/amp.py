"""``deltagrad.amp`` (and ``deltagrad.cuda.amp``): PyTorch's mixed-precision API.

deltagrad computes on the CPU in the tensors' own dtypes (bfloat16 through ml_dtypes). So:

- ``autocast(device_type="cuda")`` disables itself with PyTorch's warning, as PyTorch's does on
  a machine without CUDA, and the body runs in full precision (PyTorch's numbers);
- ``autocast(device_type="cpu")`` with bfloat16 (the default) or float16 casts as PyTorch's CPU
  autocast does: float32 (and the other half type's) inputs of its lower-precision ops
  (linear, matmul, mm, bmm, addmm, baddbmm, convolutions, prelu, scaled_dot_product_attention,
  einsum where it contracts, ...) to that dtype, bfloat16 and float16 inputs of its float32
  ops (the losses, prod, cdist, inverses, ...) to float32; other ops run in their inputs'
  dtypes. The casting wraps the public functions (``deltagrad.<op>``, ``Tensor.<op>``,
  ``nn.functional.<op>``, ``linalg``/``fft``) while a CPU autocast is active: library code
  that calls an op through a private import, or a function object taken before the autocast
  was entered (``from torch import mm`` at import time), is not cast. The state is global, not
  per thread. ``set_autocast_enabled("cpu", b)`` switches it as PyTorch's does (an autocast's
  exit restores what its entry found); ``enabled=False`` (or another dtype, which PyTorch
  ignores with a warning) runs unchanged;
- ``GradScaler`` for "cuda" disables itself (PyTorch's warning); ``GradScaler("cpu")`` scales
  as PyTorch's does: the loss times the scale, gradients unscaled and checked for inf/NaN,
  steps with non-finite gradients skipped, the scale backed off or grown.
"""

from __future__ import annotations

import builtins
import enum
import functools
import math
import sys
import types
import warnings

from . import _engine as dg

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd", "is_autocast_available"]
# PyTorch's torch-level queries of the autocast state (re-exported as deltagrad.<name>).
STATE_QUERIES = ["clear_autocast_cache", "get_autocast_cpu_dtype", "get_autocast_dtype",
                 "get_autocast_gpu_dtype", "is_autocast_cache_enabled", "is_autocast_cpu_enabled",
                 "is_autocast_enabled", "set_autocast_enabled", "set_autocast_dtype",
                 "set_autocast_cpu_dtype", "set_autocast_cpu_enabled", "set_autocast_gpu_dtype",
                 "set_autocast_cache_enabled", "autocast_increment_nesting",
                 "autocast_decrement_nesting"]


def is_autocast_available(device_type: str) -> bool:
    """True for "cpu" (bfloat16 autocast, see the module)."""
    return device_type == "cpu"


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether a CPU autocast is active for ``device_type`` "cpu"; without a device type
    (PyTorch's CUDA query) and for other devices False (a CUDA autocast disables itself)."""
    if device_type is not None and not isinstance(device_type, str):
        raise TypeError(f"is_autocast_enabled(): device_type must be a str, not "
                        f"{type(device_type).__name__}")
    return _cpu_enabled() and device_type == "cpu"


def is_autocast_cpu_enabled() -> bool:
    """PyTorch's deprecated form of ``is_autocast_enabled("cpu")``."""
    return _cpu_enabled()


_CACHE = [True]  # PyTorch's autocast cache flag (see is_autocast_cache_enabled)


def is_autocast_cache_enabled() -> bool:
    """PyTorch's flag (True unless an ``autocast(cache_enabled=False)`` is open). Only
    reported: PyTorch's cache of cast weights changes no value."""
    return _CACHE[0]


def get_autocast_dtype(device_type: str):
    """The dtype autocast uses on ``device_type``: on the CPU the innermost autocast's (as
    PyTorch's, entering one sets it, even a disabled one), bfloat16 by default; float16 on
    accelerators (only reported)."""
    return _CPU[1] if device_type == "cpu" else dg.float16


def get_autocast_cpu_dtype():
    """PyTorch's deprecated ``get_autocast_dtype("cpu")``."""
    return _CPU[1]


def get_autocast_gpu_dtype():
    """PyTorch's deprecated ``get_autocast_dtype("cuda")``."""
    return dg.float16


def set_autocast_enabled(*args) -> None:
    """PyTorch's low-level switch: ``("cpu", b)`` turns CPU autocast on or off until the
    enclosing autocast exits (which restores its entry's state); ``(b)`` alone is PyTorch's
    CUDA form and other devices are accepted and ignored (a CUDA autocast disables itself)."""
    enabled = args[-1] if args else None
    if not isinstance(enabled, bool) or len(args) > 2 or (
            len(args) == 2 and not isinstance(args[0], str)):
        raise TypeError("set_autocast_enabled(): expected (device_type: str, enabled: bool) "
                        f"or (enabled: bool), got {args!r}")
    if len(args) == 2 and args[0] == "cpu":
        if enabled:
            dg.dtypes.load_bfloat16()  # (ml_dtypes: a clear TypeError when missing)
        _set_cpu(enabled, _CPU[1])


def clear_autocast_cache() -> None:
    """No-op: no cast weights are cached here (PyTorch's cache changes no value)."""


def set_autocast_dtype(device_type: str, dtype) -> None:
    """PyTorch's low-level setter of the dtype autocast casts to on ``device_type`` (the
    CPU's is kept until the enclosing autocast exits; other devices' are ignored)."""
    if not isinstance(dtype, dg.dtype):
        raise TypeError("set_autocast_dtype(): argument 'dtype' (position 2) must be "
                        f"torch.dtype, not {type(dtype).__name__}")
    if device_type == "cpu":
        _set_cpu(_CPU[0], dtype)


def set_autocast_cpu_dtype(dtype) -> None:
    """PyTorch's deprecated ``set_autocast_dtype("cpu", dtype)`` (it warns so)."""
    warnings.warn("torch.set_autocast_cpu_dtype(dtype) is deprecated. Please use "
                  "torch.set_autocast_dtype('cpu', dtype) instead.", DeprecationWarning,
                  stacklevel=2)
    set_autocast_dtype("cpu", dtype)


def set_autocast_cpu_enabled(enabled: bool) -> None:
    """PyTorch's deprecated ``set_autocast_enabled("cpu", enabled)`` (it warns so)."""
    warnings.warn("torch.set_autocast_cpu_enabled(enabled) is deprecated. Please use "
                  "torch.set_autocast_enabled('cpu', enabled) instead.", DeprecationWarning,
                  stacklevel=2)
    set_autocast_enabled("cpu", enabled)


def set_autocast_gpu_dtype(dtype) -> None:
    """PyTorch's CUDA setter: accepted and ignored (no CUDA autocast runs here)."""
    if not isinstance(dtype, dg.dtype):
        raise TypeError(f"set_autocast_gpu_dtype(): argument 'dtype' must be torch.dtype, "
                        f"not {type(dtype).__name__}")


def set_autocast_cache_enabled(enabled: bool) -> None:
    """Sets the flag ``is_autocast_cache_enabled`` reports (only reported, see there)."""
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be a bool (got {type(enabled).__name__})")
    _CACHE[0] = enabled


_NESTING = [0]  # PyTorch's autocast nesting counter (its cache is cleared when it reaches 0)


def autocast_increment_nesting() -> int:
    """PyTorch's counter of open autocast regions: one more, the new count returned."""
    _NESTING[0] += 1
    return _NESTING[0]


def autocast_decrement_nesting() -> int:
    """One fewer (PyTorch's counter goes below zero unchecked), the new count returned."""
    _NESTING[0] -= 1
    return _NESTING[0]


class autocast:  # noqa: N801 - PyTorch's name
    """PyTorch's ``autocast`` context manager and decorator (see the module for what runs).

    Accepts PyTorch's arguments (``device_type``, ``dtype``, ``enabled``, ``cache_enabled``).

    >>> import deltagrad as dg
    >>> with dg.autocast(device_type="cpu", enabled=False):
    ...     y = dg.ones(2) * 3
    >>> y.dtype
    deltagrad.float32
    """

    def __init__(self, device_type: str = "cpu", dtype=None, enabled: bool = True,
                 cache_enabled: bool | None = None) -> None:
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.device_type, self.dtype, self.enabled = device_type, dtype, enabled
        self.cache_enabled = cache_enabled
        # (PyTorch's public attributes, read by training loops: the dtype asked for, else the
        # device's autocast dtype at construction)
        self.device = device_type
        self.fast_dtype = dtype if dtype is not None else get_autocast_dtype(device_type)
        self._saved: list = []  # the CPU state each entry found (restored at its exit)
        if not enabled:
            return
        if device_type != "cpu":
            warnings.warn("CUDA is not available or torch_xla is imported. Disabling autocast.",
                          UserWarning, stacklevel=2)
            self.enabled = False
        elif dtype is not None and dtype not in (dg.bfloat16, dg.float16):
            warnings.warn("In CPU autocast, but the target dtype is not supported. Disabling "
                          "autocast.\nCPU Autocast only supports dtypes of torch.bfloat16, "
                          "torch.float16 currently.", UserWarning, stacklevel=2)
            self.enabled = False

    def __enter__(self):
        if self.enabled:  # CPU autocast to bfloat16 or float16 (see the module)
            dg.dtypes.load_bfloat16()  # (ml_dtypes: a clear TypeError when missing)
        if self.device_type == "cpu":
            # PyTorch sets the CPU state to this context's for its body, whatever was open
            # around it: a disabled one (enabled=False, or an unsupported dtype) inside an
            # enabled one runs its body uncast, an enabled one inside that casts again; the
            # dtype is set even by a disabled one (a supported dtype: PyTorch's fast_dtype)
            self._saved.append((tuple(_CPU), _CACHE[0]))
            dtype = self.dtype if self.dtype in (dg.bfloat16, dg.float16) else _CPU[1]
            if self.cache_enabled is not None:
                _CACHE[0] = bool(self.cache_enabled)
            _set_cpu(self.enabled, dtype)
        return self

    def __exit__(self, *exc) -> None:
        if self.device_type == "cpu":
            (enabled, dtype), _CACHE[0] = self._saved.pop()
            _set_cpu(enabled, dtype)
        return None

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with self:
                return function(*args, **kwargs)
        return wrapper


class OptState(enum.Enum):
    """A GradScaler's stage for one optimizer in the current iteration (PyTorch's
    ``torch.amp.grad_scaler.OptState``)."""

    READY = 0
    UNSCALED = 1
    STEPPED = 2


_READY, _UNSCALED, _STEPPED = OptState.READY, OptState.UNSCALED, OptState.STEPPED


class GradScaler:
    """PyTorch's loss scaler (see the module): disabled for "cuda", working for "cpu".

    >>> import deltagrad as dg
    >>> w = dg.tensor([1.0], requires_grad=True)
    >>> optimizer = dg.optim.SGD([w], lr=0.5)
    >>> scaler = dg.amp.GradScaler("cpu")
    >>> scaler.scale((w * 2).sum()).backward(); scaler.step(optimizer); scaler.update()
    >>> w.tolist(), scaler.get_scale()
    ([0.0], 65536.0)
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        if enabled and device == "cuda":
            # (PyTorch's words, its two spaces included: PR21)
            warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  "
                          "Disabling.", UserWarning, stacklevel=2)
            enabled = False
        self._device, self._enabled = device, enabled
        if enabled:
            if not growth_factor > 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if not backoff_factor < 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
        self._init_scale, self._growth_factor = init_scale, growth_factor
        self._backoff_factor, self._growth_interval = backoff_factor, growth_interval
        self._init_growth_tracker = 0
        self._scale = None  # a 0-d float32 tensor, made on first use as PyTorch's
        self._growth_tracker = None  # a 0-d int32 tensor
        self._per_optimizer_states: dict = {}

    def _lazy_init(self) -> None:
        self._scale = dg.full((), self._init_scale, dtype=dg.float32)
        self._growth_tracker = dg.full((), self._init_growth_tracker, dtype=dg.int32)

    def _state(self, optimizer) -> dict:
        return self._per_optimizer_states.setdefault(
            id(optimizer), {"stage": _READY, "found_inf": None})

    def is_enabled(self) -> bool:
        return self._enabled

    def scale(self, outputs):
        """``outputs`` (a tensor, or a list/tuple of them) times the current scale."""
        if not self._enabled:
            return outputs
        if self._scale is None:
            self._lazy_init()
        if isinstance(outputs, dg.Tensor):
            return outputs * self._scale
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(output) for output in outputs)
        return map(self.scale, outputs)

    def unscale_(self, optimizer) -> None:
        """Divide ``optimizer``'s gradients by the scale in place, recording inf/NaN."""
        if not self._enabled:
            return
        state = self._state(optimizer)
        if state["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the "
                               "last update().")
        if state["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        if self._scale is None:
            raise AssertionError("Attempted unscale_ but _scale is None.  This may indicate "
                                 "your script did not use scaler.scale(loss or outputs) earlier "
                                 "in the iteration.")
        # PyTorch's inverse: the reciprocal in float64, rounded to float32
        inv_scale = self._scale.double().reciprocal().float()
        found_inf = False
        with dg.no_grad():
            for group in optimizer.param_groups:
                for param in group["params"]:
                    if param.grad is None:
                        continue
                    if param.grad.dtype == dg.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    param.grad.mul_(inv_scale)
                    found_inf = found_inf or not bool(dg.isfinite(param.grad).all())
        state["found_inf"] = dg.full((), float(found_inf), dtype=dg.float32)
        state["stage"] = _UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """Unscale (if not done yet) and step ``optimizer`` unless a gradient is inf/NaN."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is "
                               "enabled.")
        state = self._state(optimizer)
        if state["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        if state["found_inf"] is None:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        result = None
        if not state["found_inf"].item():
            result = optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale=None) -> None:
        """Back the scale off after an inf/NaN step, grow it after ``growth_interval`` clean
        ones (or set it to ``new_scale``)."""
        if not self._enabled:
            return
        if self._scale is None:
            raise AssertionError("Attempted update but _scale is None.  This may indicate your "
                                 "script did not use scaler.scale(loss or outputs) earlier in "
                                 "the iteration.")
        if new_scale is not None:
            if isinstance(new_scale, float):
                self._scale.fill_(new_scale)
            else:
                if not (isinstance(new_scale, dg.Tensor) and new_scale.numel() == 1
                        and not new_scale.requires_grad):
                    raise AssertionError("new_scale should be a float or a 1-element "
                                         "torch.cuda.FloatTensor or torch.FloatTensor with "
                                         "requires_grad=False.")
                self._scale.copy_(new_scale.reshape(()))
        else:
            found = [s["found_inf"] for s in self._per_optimizer_states.values()
                     if s["found_inf"] is not None]
            if not found:
                raise AssertionError("No inf checks were recorded prior to update.")
            if builtins.sum(f.item() for f in found):
                self._scale.mul_(self._backoff_factor)
                self._growth_tracker.fill_(0)
            else:
                successful = int(self._growth_tracker.item()) + 1
                if successful == self._growth_interval:
                    grown = self._scale * self._growth_factor
                    if math.isfinite(grown.item()):
                        self._scale.copy_(grown)
                    self._growth_tracker.fill_(0)
                else:
                    self._growth_tracker.fill_(successful)
        self._per_optimizer_states = {}

    def get_scale(self) -> float:
        """The current scale as a Python float (1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else self._scale.item()

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if not self._enabled:
            return 0
        if self._growth_tracker is None:
            return self._init_growth_tracker
        return int(self._growth_tracker.item())

    def state_dict(self) -> dict:
        """The scale and its settings ({} when disabled), as PyTorch's."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what ``state_dict`` returned."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = state_dict["scale"]
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._scale is not None:
            self._scale.fill_(state_dict["scale"])
        if self._growth_tracker is not None:
            self._growth_tracker.fill_(state_dict["_growth_tracker"])


def _cast_floats(value, dtype):
    """PyTorch's ``custom_fwd`` cast: floating tensors other than float64 to ``dtype``, in
    lists, tuples and dicts too."""
    if isinstance(value, dg.Tensor):
        eligible = value.is_floating_point() and value.dtype is not dg.float64
        return value.to(dtype) if eligible else value
    if isinstance(value, dict):
        return {k: _cast_floats(v, dtype) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_floats(v, dtype) for v in value)
    return value


def _check_device_type(device_type) -> None:
    """custom_fwd's / custom_bwd's check, PyTorch's ValueError."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")


def custom_fwd(function=None, *, device_type: str = "cuda", cast_inputs=None):
    """Decorator for a custom Function's forward, as PyTorch's: records the autocast state
    on ``ctx`` (for ``custom_bwd``); with ``cast_inputs``, inside an enabled autocast, casts
    the floating inputs to it and runs the body with autocast off. (``device_type`` defaults
    to "cuda" for ``torch.cuda.amp.custom_fwd``; PyTorch's torch.amp form requires it.)"""
    _check_device_type(device_type)
    if function is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(function)
    def decorate_fwd(*args, **kwargs):
        args[0]._dtype = get_autocast_dtype(device_type)
        enabled = is_autocast_enabled(device_type)
        args[0]._fwd_used_autocast = enabled and cast_inputs is None
        if cast_inputs is None or not enabled:
            return function(*args, **kwargs)
        with autocast(device_type=device_type, enabled=False):
            return function(*_cast_floats(args, cast_inputs),
                            **_cast_floats(kwargs, cast_inputs))

    return decorate_fwd


def custom_bwd(function=None, *, device_type: str = "cuda"):
    """Decorator for a custom Function's backward: runs it in the autocast state its forward
    had (``custom_fwd`` records it on ``ctx``), as PyTorch's."""
    _check_device_type(device_type)
    if function is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(function)
    def decorate_bwd(*args, **kwargs):
        with autocast(device_type=device_type, enabled=args[0]._fwd_used_autocast,
                      dtype=args[0]._dtype):
            return function(*args, **kwargs)

    return decorate_bwd


def deprecated_forms(device_type: str, module: str) -> tuple[type, type]:
    """``torch.<device_type>.amp``'s deprecated ``autocast`` and ``GradScaler``: this module's,
    with the device fixed, the older positional signatures, and PyTorch's FutureWarning when
    built (``module``: their ``__module__``; torch.cuda.amp and torch.cpu.amp use this)."""

    class DeprecatedAutocast(autocast):
        def __init__(self, enabled: bool = True, dtype=None, cache_enabled: bool = True):
            warnings.warn(f"`torch.{device_type}.amp.autocast(args...)` is deprecated. Please "
                          f"use `torch.amp.autocast('{device_type}', args...)` instead.",
                          FutureWarning, stacklevel=2)
            super().__init__(device_type, dtype=dtype, enabled=enabled,
                             cache_enabled=cache_enabled)

    class DeprecatedGradScaler(GradScaler):
        def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                     backoff_factor: float = 0.5, growth_interval: int = 2000,
                     enabled: bool = True) -> None:
            warnings.warn(f"`torch.{device_type}.amp.GradScaler(args...)` is deprecated. Please "
                          f"use `torch.amp.GradScaler('{device_type}', args...)` instead.",
                          FutureWarning, stacklevel=2)
            super().__init__(device_type, init_scale, growth_factor, backoff_factor,
                             growth_interval, enabled)

    for form, name in ((DeprecatedAutocast, "autocast"), (DeprecatedGradScaler, "GradScaler")):
        form.__module__, form.__name__, form.__qualname__ = module, name, name
    return DeprecatedAutocast, DeprecatedGradScaler


# --------------------------------------------------------------------------------------------
# CPU autocast (bfloat16): PyTorch's op lists (torch 2.13, autocast_mode.cpp, checked by
# running each op under torch.autocast("cpu")). Names missing from a namespace are skipped.

_CPU = [False, dg.bfloat16]  # PyTorch's CPU autocast state: enabled, dtype
# (Casting function objects taken before entry would need every listed op to check _CPU on each
# call. Measured s30 BR24, CPU time, 1 thread, [8, 8] inputs: a thin flag-checking wrapper costs
# 0.11 us a call, mm no_grad 1.42 -> 1.53 us (+7.7%), linear +2.5%, fwd+bwd +2-3%; a check
# inside each op's body ~20 ns, +1.4% on mm, in 164 functions: above noise, so not done.)


def _cpu_enabled() -> bool:
    """Whether CPU autocast is on now."""
    return _CPU[0]


def _set_cpu(enabled: bool, dtype) -> None:
    """Sets the CPU state; installs or removes the casting wrappers when that turns CPU
    autocast on or off (the wrappers read the dtype when called)."""
    before = _CPU[0]
    _CPU[0], _CPU[1] = bool(enabled), dtype
    if enabled and not before:
        _install()
    elif before and not enabled:
        _uninstall()


_LOWER = {  # inputs cast to bfloat16
    "top": ["matmul", "mm", "bmm", "addmm", "addbmm", "baddbmm", "conv1d", "conv2d", "conv3d",
            "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "prelu", "einsum",
            "tensordot", "linalg_vecdot", "matrix_power", "chain_matmul"],
    "tensor": ["matmul", "mm", "bmm", "addmm", "addbmm", "baddbmm", "prelu", "matrix_power"],
    "functional": ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                   "conv_transpose2d", "conv_transpose3d", "prelu",
                   "scaled_dot_product_attention"],
    # (PyTorch's composite ops that reach mm / matmul: their products are cast; matrix_power
    # only from n = 2, below which it copies or inverts)
    "linalg": ["vecdot", "multi_dot", "matrix_power"],
}
_FLOAT32 = {  # bfloat16 / float16 inputs cast to float32
    "top": ["prod", "quantile", "nanquantile", "stft", "cdist", "trace", "cholesky",
            "cholesky_inverse", "cholesky_solve", "inverse", "lu_solve", "orgqr", "ormqr",
            "pinverse", "polar", "view_as_complex", "geqrf", "qr", "svd", "triangular_solve",
            "max_pool3d"],
    "tensor": ["prod", "quantile", "nanquantile", "trace", "cholesky", "cholesky_inverse",
               "cholesky_solve", "inverse", "pinverse", "qr", "svd", "triangular_solve"],
    "functional": ["mse_loss", "cosine_embedding_loss", "nll_loss", "hinge_embedding_loss",
                   "poisson_nll_loss", "smooth_l1_loss", "cross_entropy", "l1_loss",
                   "huber_loss", "margin_ranking_loss", "soft_margin_loss",
                   "triplet_margin_loss", "multi_margin_loss", "ctc_loss", "kl_div",
                   "multilabel_margin_loss", "binary_cross_entropy_with_logits",
                   "binary_cross_entropy", "grid_sample", "avg_pool3d", "max_pool3d",
                   "adaptive_avg_pool3d", "adaptive_max_pool3d", "max_unpool2d",
                   "max_unpool3d", "fractional_max_pool2d", "fractional_max_pool3d", "pad"],
    "linalg": ["qr", "cholesky", "cholesky_ex", "svd", "svdvals", "eig", "eigvals", "eigh",
               "eigvalsh", "inv", "inv_ex", "lstsq", "matrix_rank", "solve", "tensorinv",
               "tensorsolve", "cond", "householder_product"],
    "fft": "*",
}
_SAVED: list = []  # (owner, name, original) while installed
_INSIDE = [0]  # depth of wrapped ops running


def _cast_to(value, wanted, source_kinds):
    """``value`` cast to NumPy dtype ``wanted`` when it is a tensor whose dtype is one of
    ``source_kinds``; lists and tuples of tensors element by element."""
    if isinstance(value, dg.Tensor):
        return value.to(dg.dtypes.of(wanted)) if value._data.dtype in source_kinds else value
    if isinstance(value, (list, tuple)) and any(isinstance(v, dg.Tensor) for v in value):
        return type(value)(_cast_to(v, wanted, source_kinds) for v in value)
    return value


def _casting(function, to_bf16: bool, when=None):
    import numpy as np  # (the module imports only the engine at top level)

    bf16, f16, f32 = dg.dtypes.load_bfloat16(), np.dtype(np.float16), np.dtype(np.float32)
    # (float64 stays: PyTorch's autocast leaves double alone)
    lower = {bf16: (bf16, (f32, f16)), f16: (f16, (f32, bf16))}
    upper = (f32, (bf16, f16))

    @functools.wraps(function)
    def autocast_wrapper(*args, **kwargs):
        # an op's own inner calls are not cast again (as PyTorch's kernels)
        if _INSIDE[0] or (when is not None and not when(*args, **kwargs)):
            return function(*args, **kwargs)
        wanted, sources = lower[dg.dtypes.to_numpy(_CPU[1])] if to_bf16 else upper
        args = [_cast_to(a, wanted, sources) for a in args]
        kwargs = {k: _cast_to(v, wanted, sources) for k, v in kwargs.items()}
        _INSIDE[0] += 1
        try:
            return function(*args, **kwargs)
        finally:
            _INSIDE[0] -= 1

    autocast_wrapper.__wrapped_by_autocast__ = function
    return autocast_wrapper


def _einsum_contracts(equation, *operands, **kwargs) -> bool:
    """Whether PyTorch's einsum reaches bmm (cast) for ``equation``: a label of two operands
    summed away. Elementwise products, outer products and one-operand forms run in the
    inputs' dtype (checked against torch 2.13). The sublist form is cast."""
    if not isinstance(equation, str):
        return True
    lhs, arrow, rhs = equation.replace(" ", "").partition("->")
    terms = [set(t) - {"."} for t in lhs.split(",")]
    if len(terms) < 2:
        return False
    every = [label for term in terms for label in term]
    kept = set(rhs) if arrow else {label for label in every if every.count(label) == 1}
    return any(every.count(label) > 1 and label not in kept for label in set(every))


def _power_multiplies(input, n=None, *args, **kwargs) -> bool:
    """matrix_power reaches matmul (cast) for n >= 2 only."""
    n = kwargs.get("n", n)
    return isinstance(n, int) and n >= 2


def _tensordot_casts(a, b, dims=2, *args, **kwargs) -> bool:
    """tensordot runs uncast when its result has one element (PyTorch 2.13: a dot product,
    not mm); the other forms reach mm (cast)."""
    dims = kwargs.get("dims", dims)
    if not (isinstance(a, dg.Tensor) and isinstance(b, dg.Tensor)):
        return True
    if isinstance(dims, int):
        free_a, free_b = a.shape[:a.ndim - dims], b.shape[dims:]
    else:
        try:  # (bad dims: the op's own error, raised by the cast call)
            left, right = ([d] if isinstance(d, int) else list(d) for d in dims)
            free_a = [n for i, n in enumerate(a.shape) if i not in {d % a.ndim for d in left}]
            free_b = [n for i, n in enumerate(b.shape) if i not in {d % b.ndim for d in right}]
        except (TypeError, ValueError, ZeroDivisionError):
            return True
    return math.prod(free_a) * math.prod(free_b) != 1


def _pad_reaches_float32(input=None, pad=(), mode="constant", *args, **kwargs) -> bool:
    """F.pad reaches PyTorch's float32 autocast list (reflection_pad1d / 2d,
    replication_pad1d / 2d / 3d) for reflect over 1 or 2 dims and replicate over 1 to 3
    (checked against torch 2.13; s30 FE1: its autocast test list has reflection_pad1d)."""
    dims = len(pad) // 2 if isinstance(pad, (list, tuple)) else 0
    return dims in {"reflect": (1, 2), "replicate": (1, 2, 3)}.get(mode, ())


def _pool_without_indices(input=None, kernel_size=None, stride=None, padding=0, dilation=1,
                          ceil_mode=False, return_indices=False, *args, **kwargs) -> bool:
    """F.max_pool3d reaches max_pool3d (float32 list) without indices; with return_indices it
    reaches max_pool3d_with_indices, which PyTorch 2.13 leaves uncast (s30 BR24)."""
    return not return_indices


_WHEN = {"einsum": _einsum_contracts, "matrix_power": _power_multiplies,
         "tensordot": _tensordot_casts, "pad": _pad_reaches_float32,
         "max_pool3d": _pool_without_indices}


def _owners() -> dict:
    import sys

    top = sys.modules.get(__package__)
    from . import fft, linalg
    from .nn import functional

    return {"top": [m for m in (top, dg) if m is not None], "tensor": [dg.Tensor],
            "functional": [functional], "linalg": [linalg], "fft": [fft]}


# Entering a CPU autocast used to rebuild its 164 wrappers (functools.wraps each): 1.3-2.3 ms
# an entry + exit, half a small MLP's AMP step. The plan (which names of which owners) is made
# once and each wrapper is kept with the function it wraps, reused while that attribute still
# holds that function (one patched since gets a new wrapper). Measured (SP23, alternating with
# HEAD's copy, medians of 7): entry + exit 1.69 -> 0.075 ms, three nested 4.56 -> 0.21 ms, a
# 3-Linear MLP's AMP training step 3.37 -> 1.49 ms (tests/test_s25_SP23_autocast.py).
_PLAN: list = []  # (owner, name, to_bf16), made on the first install
_WRAPPERS: dict = {}  # (owner, name) -> (original, its wrapper)


def _plan() -> list:
    if _PLAN:
        return _PLAN
    owners, plan = _owners(), []
    for table, to_bf16 in ((_LOWER, True), (_FLOAT32, False)):
        for where, names in table.items():
            for owner in owners[where]:
                chosen = names
                if names == "*":
                    chosen = [n for n in getattr(owner, "__all__", ())
                              if callable(getattr(owner, n, None))]
                plan.extend((owner, name, to_bf16) for name in chosen)
    if sys.modules.get(__package__) is not None:  # (kept once the package is importable)
        _PLAN[:] = plan
    return plan


def _install() -> None:
    for owner, name, to_bf16 in _plan():
        original = owner.__dict__.get(name) if isinstance(owner, type) else \
            getattr(owner, name, None)
        if original is None or not callable(original):
            continue
        cached = _WRAPPERS.get((owner, name))
        if cached is None or cached[0] is not original:
            cached = _WRAPPERS[owner, name] = (
                original, _casting(original, to_bf16, _WHEN.get(name)))
        _SAVED.append((owner, name, original))
        setattr(owner, name, cached[1])


def _uninstall() -> None:
    while _SAVED:
        owner, name, original = _SAVED.pop()
        setattr(owner, name, original)


# PyTorch's torch.amp is a package: fastai imports OptState from torch.amp.grad_scaler, and
# libraries import autocast from torch.amp.autocast_mode. An empty __path__ lets the import
# system treat this module as that package; each submodule is a sys.modules entry made here
# (as nn.parallel's).
__path__: list[str] = []
grad_scaler = types.ModuleType(f"{__name__}.grad_scaler", "``torch.amp.grad_scaler``.")
grad_scaler.__dict__.update(GradScaler=GradScaler, OptState=OptState)
autocast_mode = types.ModuleType(f"{__name__}.autocast_mode", "``torch.amp.autocast_mode``.")
autocast_mode.__dict__.update(autocast=autocast, custom_bwd=custom_bwd, custom_fwd=custom_fwd,
                              is_autocast_available=is_autocast_available)
sys.modules[grad_scaler.__name__] = grad_scaler
sys.modules[autocast_mode.__name__] = autocast_mode
