"""``deltagrad.amp`` (and ``deltagrad.cuda.amp``): PyTorch's mixed-precision API, in full precision.

deltagrad computes on the CPU in the tensors' own dtypes; NumPy has no bfloat16, so there is no
lower-precision autocast to do. Programs written for mixed precision still run unchanged:
``autocast`` is a context manager (and decorator) that changes nothing, and ``GradScaler`` is
disabled, as PyTorch's own is on a machine without CUDA: ``scale`` returns the loss as it is,
``step`` calls ``optimizer.step()``, ``unscale_`` and ``update`` do nothing.
"""

from __future__ import annotations

import functools
import warnings

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd", "is_autocast_available"]


def is_autocast_available(device_type: str) -> bool:
    """False: autocast never changes dtypes in deltagrad."""
    return False


class autocast:  # noqa: N801 - PyTorch's name
    """A context manager and decorator that runs its body in full precision (see the module).

    Accepts PyTorch's arguments (``device_type``, ``dtype``, ``enabled``, ``cache_enabled``).

    >>> import deltagrad as dg
    >>> with dg.autocast(device_type="cpu", dtype=dg.float16):
    ...     y = dg.ones(2) * 3
    >>> y.dtype
    deltagrad.float32
    """

    def __init__(self, device_type: str = "cpu", dtype=None, enabled: bool = True,
                 cache_enabled: bool | None = None) -> None:
        self.device_type, self.dtype, self.enabled = device_type, dtype, enabled

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with self:
                return function(*args, **kwargs)
        return wrapper


class GradScaler:
    """PyTorch's loss scaler, disabled (full precision needs no scaling; see the module).

    >>> import deltagrad as dg
    >>> w = dg.tensor([1.0], requires_grad=True)
    >>> optimizer = dg.optim.SGD([w], lr=0.5)
    >>> scaler = dg.amp.GradScaler(enabled=False)
    >>> scaler.scale((w * 2).sum()).backward(); scaler.step(optimizer); scaler.update()
    >>> w.tolist()
    [0.0]
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        if enabled and device == "cuda":
            warnings.warn("GradScaler is enabled, but CUDA is not available (deltagrad runs on "
                          "the CPU). Disabling.", UserWarning, stacklevel=2)
        self._enabled = False

    def is_enabled(self) -> bool:
        return self._enabled

    def scale(self, outputs):
        return outputs

    def unscale_(self, optimizer) -> None:
        return None

    def step(self, optimizer, *args, **kwargs):
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None) -> None:
        return None

    def get_scale(self) -> float:
        return 1.0

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state_dict: dict) -> None:
        return None


def custom_fwd(function=None, *, device_type: str = "cpu", cast_inputs=None):
    """Decorator for a custom Function's forward under autocast: returns it unchanged."""
    return function if function is not None else (lambda f: f)


def custom_bwd(function=None, *, device_type: str = "cpu"):
    """Decorator for a custom Function's backward under autocast: returns it unchanged."""
    return function if function is not None else (lambda f: f)
