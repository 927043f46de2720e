"""``deltagrad._dynamo.config``: PyTorch's ``torch._dynamo.config`` settings, with PyTorch's
defaults. deltagrad has no compiler, so none of them changes what runs; they exist so that
programs which set them (``torch._dynamo.config.suppress_errors = True``) run unchanged. As in
PyTorch, reading or setting a name that is not a setting raises ``AttributeError``, and
``patch`` sets some for the length of a ``with`` block or a decorated function.
"""

from __future__ import annotations

import contextlib
import sys
import types

verbose = False
suppress_errors = False
cache_size_limit = 8
accumulated_cache_size_limit = 256
recompile_limit = 8
accumulated_recompile_limit = 256
capture_scalar_outputs = False
capture_dynamic_output_shape_ops = False
automatic_dynamic_shapes = True
assume_static_by_default = True
dynamic_shapes = True
specialize_int = False
specialize_float = False
force_parameter_static_shapes = True
force_nn_module_property_static_shapes = True
inline_inbuilt_nn_modules = True
guard_nn_modules = True
optimize_ddp = True
error_on_recompile = False
replay_record_enabled = False
log_compilation_metrics = True
raise_on_ctx_manager_usage = True
allow_unspec_int_on_nn_module = False
skip_nnmodule_hook_guards = True

_SETTINGS = frozenset(name for name in dir() if not name.startswith("_")
                      and name not in ("annotations", "contextlib", "sys", "types"))


def _check(name: str) -> None:
    if name not in _SETTINGS:
        raise AttributeError(f"torch._dynamo.config.{name} does not exist")


@contextlib.contextmanager
def patch(arg1=None, arg2=None, **changes):
    """Set settings for a ``with`` block or a decorated function, then restore them:
    ``patch(verbose=True)``, ``patch("verbose", True)`` or ``patch({"verbose": True})``."""
    if isinstance(arg1, str):
        changes[arg1] = arg2
    elif isinstance(arg1, dict):
        changes.update(arg1)
    module = sys.modules[__name__]
    for name in changes:
        _check(name)
    previous = {name: getattr(module, name) for name in changes}
    for name, value in changes.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in previous.items():
            setattr(module, name, value)


def get_config_copy() -> dict:
    """The settings as a new dict of name -> value."""
    module = sys.modules[__name__]
    return {name: getattr(module, name) for name in sorted(_SETTINGS)}


to_dict = get_config_copy


class _ConfigModule(types.ModuleType):
    """The module's class: setting a name that is no setting is PyTorch's AttributeError."""

    def __setattr__(self, name: str, value) -> None:
        if not name.startswith("_"):
            _check(name)
        super().__setattr__(name, value)

    def __getattr__(self, name: str):  # (only for names that do not exist)
        raise AttributeError(f"torch._dynamo.config.{name} does not exist")


sys.modules[__name__].__class__ = _ConfigModule
