"""``deltagrad.amp`` (and ``deltagrad.cuda.amp``): PyTorch's mixed-precision API.

deltagrad computes on the CPU in the tensors' own dtypes; NumPy has no bfloat16 and deltagrad
has no lower-precision autocast. So:

- ``autocast(device_type="cuda")`` disables itself with PyTorch's warning, as PyTorch's does on
  a machine without CUDA, and the body runs in full precision (PyTorch's numbers);
- ``autocast(device_type="cpu")`` enabled with bfloat16 (the default) or float16 raises
  ``NotImplementedError`` on entry: PyTorch really computes matmuls, linears and convolutions
  in that dtype there, so running the body in float32 would print different numbers silently;
  ``enabled=False`` (or another dtype, which PyTorch ignores with a warning) runs unchanged;
- ``GradScaler`` for "cuda" disables itself (PyTorch's warning); ``GradScaler("cpu")`` scales
  as PyTorch's does: the loss times the scale, gradients unscaled and checked for inf/NaN,
  steps with non-finite gradients skipped, the scale backed off or grown.
"""

from __future__ import annotations

import builtins
import functools
import math
import warnings

from . import _engine as dg

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd", "is_autocast_available"]
# PyTorch's torch-level queries of the autocast state (re-exported as deltagrad.<name>).
STATE_QUERIES = ["clear_autocast_cache", "get_autocast_cpu_dtype", "get_autocast_dtype",
                 "get_autocast_gpu_dtype", "is_autocast_cache_enabled", "is_autocast_cpu_enabled",
                 "is_autocast_enabled", "set_autocast_enabled"]


def is_autocast_available(device_type: str) -> bool:
    """False: deltagrad has no lower-precision autocast (see the module)."""
    return False


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """False: autocast is never active in deltagrad (entering an enabled CPU autocast raises,
    a CUDA one disables itself), so library code that asks takes its full-precision path."""
    if device_type is not None and not isinstance(device_type, str):
        raise TypeError(f"is_autocast_enabled(): device_type must be a str, not "
                        f"{type(device_type).__name__}")
    return False


def is_autocast_cpu_enabled() -> bool:
    """PyTorch's deprecated form of ``is_autocast_enabled("cpu")``: False."""
    return False


def is_autocast_cache_enabled() -> bool:
    """PyTorch's default (True); there is no cast cache since nothing is ever cast."""
    return True


def get_autocast_dtype(device_type: str):
    """The dtype autocast would use on ``device_type`` (PyTorch's defaults: bfloat16 on the
    CPU, float16 on accelerators); only reported, never used."""
    return dg.bfloat16 if device_type == "cpu" else dg.float16


def get_autocast_cpu_dtype():
    """PyTorch's deprecated ``get_autocast_dtype("cpu")``."""
    return dg.bfloat16


def get_autocast_gpu_dtype():
    """PyTorch's deprecated ``get_autocast_dtype("cuda")``."""
    return dg.float16


def set_autocast_enabled(*args) -> None:
    """PyTorch's low-level switch: turning autocast off is a no-op (it is never on); turning
    it on raises, as entering an enabled CPU ``autocast`` does (see the module)."""
    enabled = args[-1] if args else None
    if not isinstance(enabled, bool):
        raise TypeError("set_autocast_enabled(): expected (device_type: str, enabled: bool) "
                        f"or (enabled: bool), got {args!r}")
    if enabled:
        raise NotImplementedError("set_autocast_enabled(True) is not supported: deltagrad has "
                                  "no lower-precision autocast (see deltagrad.amp)")


def clear_autocast_cache() -> None:
    """No-op: nothing is cast, so there is no cache to clear."""


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
        if self.enabled:  # CPU autocast to bfloat16 / float16 (see the module)
            name = "bfloat16" if self.dtype is None else str(self.dtype).split(".")[-1]
            raise NotImplementedError(
                f"autocast(device_type='cpu', dtype={name}) is not supported: deltagrad has no "
                "lower-precision autocast (PyTorch would compute matmuls, linears and "
                "convolutions in " + name + ", so float32 results would differ); run the "
                "body without autocast, or pass enabled=False")
        return self

    def __exit__(self, *exc) -> None:
        return None

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with self:
                return function(*args, **kwargs)
        return wrapper


_READY, _UNSCALED, _STEPPED = 0, 1, 2


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
            warnings.warn("GradScaler is enabled, but CUDA is not available (deltagrad runs on "
                          "the CPU). Disabling.", UserWarning, stacklevel=2)
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


def custom_fwd(function=None, *, device_type: str = "cpu", cast_inputs=None):
    """Decorator for a custom Function's forward under autocast: returns it unchanged."""
    return function if function is not None else (lambda f: f)


def custom_bwd(function=None, *, device_type: str = "cpu"):
    """Decorator for a custom Function's backward under autocast: returns it unchanged."""
    return function if function is not None else (lambda f: f)
