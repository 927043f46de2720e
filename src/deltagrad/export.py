"""``deltagrad.export``: PyTorch's ``torch.export`` names. deltagrad has no graph tracer, so
``export`` (and save/load of exported programs) raise NotImplementedError; ``Dim`` and ``dims``
(the dynamic-shape specs programs build before calling export) work as in PyTorch."""

from __future__ import annotations

import enum
import sys

__all__ = ["Dim", "ExportedProgram", "dims", "draft_export", "export", "load", "save",
           "unflatten"]

_NO_TRACER = ("deltagrad has no graph tracer, so it cannot export programs "
              "(torch.export / ExportedProgram); run the module eagerly instead")


class _DimHint(enum.Enum):
    AUTO = "AUTO"
    STATIC = "STATIC"
    DYNAMIC = "DYNAMIC"

    def __repr__(self) -> str:
        return f"DimHint({self.value})"


class Dim:
    """A named dynamic dimension for ``dynamic_shapes``, with optional bounds ``min``/``max``.

    Args:
        name: the dimension's name.
        min, max: inclusive bounds (min defaults to 0; max to unbounded).
    """

    AUTO = _DimHint.AUTO
    STATIC = _DimHint.STATIC
    DYNAMIC = _DimHint.DYNAMIC

    def __init__(self, name: str, *, min: int | None = None, max: int | None = None) -> None:
        low = 0 if min is None else min
        if max is not None and max < low:
            raise AssertionError(f"Cannot create Dim with inconsistent min={min}, max={max}")
        self.__name__ = name
        self.min = low
        self.max = max

    def __repr__(self) -> str:
        # PyTorch leaves out min=2 (its default lower bound for dynamic sizes) and max when
        # unbounded.
        parts = [repr(self.__name__)]
        if self.min != 2:
            parts.append(f"min={self.min}")
        if self.max is not None:
            parts.append(f"max={self.max}")
        return f"Dim({', '.join(parts)})"


def dims(*names: str, min: int | None = None, max: int | None = None) -> tuple:
    """One Dim per name, all with the same bounds."""
    return tuple(Dim(name, min=min, max=max) for name in names)


class ExportedProgram:
    """An exported program: deltagrad cannot make one (it has no tracer)."""

    def __init__(self, *args, **kwargs) -> None:
        raise NotImplementedError(_NO_TRACER)


def export(mod, args, kwargs=None, *, dynamic_shapes=None, strict: bool = False,
           preserve_module_call_signature: tuple = (),
           prefer_deferred_runtime_asserts_over_guards: bool = False) -> ExportedProgram:
    """Not supported: raises NotImplementedError (deltagrad has no graph tracer)."""
    raise NotImplementedError(f"torch.export.export: {_NO_TRACER}")


def draft_export(mod, args, kwargs=None, **options) -> ExportedProgram:
    """Not supported: raises NotImplementedError (deltagrad has no graph tracer)."""
    raise NotImplementedError(f"torch.export.draft_export: {_NO_TRACER}")


def save(ep, f, **options) -> None:
    """Not supported: there are no exported programs to save."""
    raise NotImplementedError(f"torch.export.save: {_NO_TRACER}")


def load(f, **options) -> ExportedProgram:
    """Not supported: deltagrad cannot run an exported program."""
    raise NotImplementedError(f"torch.export.load: {_NO_TRACER}")


def unflatten(module, flat_args_adapter=None):
    """Not supported: there are no exported programs to unflatten."""
    raise NotImplementedError(f"torch.export.unflatten: {_NO_TRACER}")


def _refusing_class(name: str) -> type:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError(f"torch.export.unflatten.{name}: {_NO_TRACER}")

    return type(name, (), {"__init__": __init__, "__module__": __name__,
                           "__doc__": "Not supported: deltagrad has no exported programs."})


# PyTorch's module path `torch.export.unflatten` (its package attribute `unflatten` stays the
# function): the classes exist for imports and isinstance checks, and refuse to be made. An
# empty __path__ makes this module a package to the import system (as nn/utils.py does).
__path__: list[str] = []
_unflatten_module = type(sys)(f"{__name__}.unflatten", "PyTorch's torch.export.unflatten.")
_unflatten_module.__dict__.update(
    {name: _refusing_class(name) for name in ("FlatArgsAdapter", "InterpreterModule",
                                               "InterpreterModuleDispatcher",
                                               "UnflattenedModule")}, unflatten=unflatten)
sys.modules[_unflatten_module.__name__] = _unflatten_module
