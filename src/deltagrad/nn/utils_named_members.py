"""``torch.nn.utils.stateless.NamedMemberAccessor``: a module's submodules, parameters and
buffers read, set, swapped and deleted by their dotted names (``"0.weight"``), as
``functional_call``-style code does; submodule lookups are cached."""

from __future__ import annotations

from collections.abc import Iterable

from .._engine.tensor import Tensor
from .module import Module

__all__ = ["NamedMemberAccessor"]

_MISSING = object()


def _set(module: Module, name: str, value) -> None:
    """``module.<name> = value`` keeping the slot's kind: a Parameter or buffer slot takes any
    tensor (or None) as PyTorch's ``set_tensor`` does."""
    if name in module._parameters:
        module._parameters[name] = value
    elif name in module._buffers:
        module._buffers[name] = value
    else:
        setattr(module, name, value)


def _swap(module: Module, name: str, value):
    """Set ``module.<name>`` to ``value`` (None deletes it) and return what was there
    (``_MISSING`` if nothing)."""
    if not isinstance(value, (Tensor, type(None))):
        raise TypeError(f"{value} is not an instance of torch.Tensor")
    old = getattr(module, name, _MISSING)
    if old is not _MISSING and not isinstance(old, (Tensor, type(None))):
        raise TypeError(f"{old} is not an instance of torch.Tensor")
    if value is None:
        if old is not _MISSING:
            delattr(module, name)
    elif old is _MISSING:
        setattr(module, name, value)
    else:
        _set(module, name, value)
    return old


class NamedMemberAccessor:
    """Read and write ``module``'s members by dotted name."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.memo: dict[str, Module] = {}

    # ------------------------------------------------------------ submodules

    def get_submodule(self, name: str) -> Module:
        """The submodule at ``name`` (``""``: the module itself)."""
        if not name:
            return self.module
        if name in self.memo:
            return self.memo[name]
        prefix, _, attr = name.rpartition(".")
        parent = self.get_submodule(prefix) if prefix else self.module
        try:
            found = getattr(parent, attr)
        except AttributeError as error:
            raise AttributeError(f"{type(parent).__name__} has no attribute `{attr}`") from error
        if not isinstance(found, Module):
            raise TypeError(f"submodule `{name}`: {found} is not an instance of "
                            f"torch.nn.Module")
        self.memo[name] = found
        return found

    def swap_submodule(self, path: str, value: Module) -> Module:
        """Put ``value`` at ``path``; returns the submodule that was there."""
        prefix, _, attr = path.rpartition(".")
        parent = self.get_submodule(prefix)
        if not isinstance(value, Module):
            raise TypeError(f"{value} is not an instance of torch.nn.Module")
        old = getattr(parent, attr)
        if not isinstance(old, Module):
            raise TypeError(f"{old} is not an instance of torch.nn.Module")
        setattr(parent, attr, value)
        # NOTE: the lookup cache keeps the old submodule, as PyTorch's does (a name under
        # ``path`` read before the swap still reaches the old one)
        return old

    # ------------------------------------------------------------ tensors

    def _owner(self, name: str) -> tuple[Module, str]:
        prefix, _, attr = name.rpartition(".")
        return self.get_submodule(prefix), attr

    def get_tensor(self, name: str) -> Tensor:
        """The parameter or buffer at ``name``."""
        module, attr = self._owner(name)
        found = getattr(module, attr, _MISSING)
        if found is _MISSING:
            raise AttributeError(f"{type(module).__name__} has no attribute `{name}`")
        if not isinstance(found, Tensor) and found is not None:
            raise TypeError(f"{found} is not an instance of torch.Tensor")
        return found

    def set_tensor(self, name: str, value: Tensor) -> None:
        """Put ``value`` at ``name``."""
        module, attr = self._owner(name)
        _swap(module, attr, value)

    def del_tensor(self, name: str) -> None:
        """Remove the parameter or buffer at ``name``."""
        module, attr = self._owner(name)
        try:
            delattr(module, attr)
        except AttributeError as error:
            raise AttributeError(f"{type(module).__name__} has no attribute `{name}`") from error

    def swap_tensor(self, name: str, value: Tensor, allow_missing: bool = False) -> Tensor:
        """Put ``value`` at ``name``; returns what was there (``allow_missing``: nothing is
        fine, ``_MISSING`` comes back)."""
        module, attr = self._owner(name)
        old = _swap(module, attr, value)
        if old is _MISSING and not allow_missing:
            raise AttributeError(f"{type(module).__name__} has no attribute `{name}`")
        return old

    def get_tensors(self, names: Iterable[str]) -> list[Tensor]:
        return [self.get_tensor(name) for name in names]

    def set_tensors(self, names: Iterable[str], values: Iterable[Tensor]) -> None:
        names, values = list(names), list(values)
        if len(names) != len(values):
            raise AssertionError(f"names and values must have the same length, got "
                                 f"{len(names)} names and {len(values)} values")
        for name, value in zip(names, values):
            self.set_tensor(name, value)

    def set_tensors_dict(self, named_tensors: dict[str, Tensor]) -> None:
        for name, value in named_tensors.items():
            self.set_tensor(name, value)

    def del_tensors(self, names: Iterable[str]) -> None:
        for name in names:
            self.del_tensor(name)

    def swap_tensors(self, names: Iterable[str], values: Iterable[Tensor],
                     allow_missing: bool = False) -> list[Tensor]:
        names, values = list(names), list(values)
        if len(names) != len(values):
            raise AssertionError(f"names and values must have the same length, got "
                                 f"{len(names)} names and {len(values)} values")
        return [self.swap_tensor(name, value, allow_missing=allow_missing)
                for name, value in zip(names, values)]

    def swap_tensors_dict(self, named_tensors: dict[str, Tensor], allow_missing: bool = False
                          ) -> tuple[dict[str, Tensor], list[str]]:
        """Swap every entry in; returns the old tensors by name and the names that had none.
        Without ``allow_missing`` a name with nothing there undoes the swaps and raises."""
        old, missing = {}, []
        try:
            for name, value in named_tensors.items():
                previous = self.swap_tensor(name, value, allow_missing=True)
                if previous is _MISSING:
                    missing.append(name)
                old[name] = previous
        except Exception:
            for name, previous in old.items():
                self.swap_tensor(name, previous, allow_missing=True)
            raise
        if missing and not allow_missing:
            for name, previous in old.items():
                self.swap_tensor(name, None if previous is _MISSING else previous,
                                 allow_missing=True)
            raise RuntimeError(f"Missing key(s): {', '.join(map(repr, missing))}.")
        return old, missing

    def check_keys(self, keys: Iterable[str]) -> tuple[list[str], list[str]]:
        """(the module's tensor names not in ``keys``, the ``keys`` it has no tensor for),
        each sorted."""
        keys = set(keys)
        valid = {name for name, _ in self.named_tensors(remove_duplicate=False)}
        return sorted(valid - keys), sorted(keys - valid)

    # ------------------------------------------------------------ iteration

    def named_parameters(self, remove_duplicate: bool = True):
        yield from self.module.named_parameters(remove_duplicate=remove_duplicate)

    def named_buffers(self, remove_duplicate: bool = True):
        yield from self.module.named_buffers(remove_duplicate=remove_duplicate)

    def named_tensors(self, remove_duplicate: bool = True):
        yield from self.module.named_parameters(remove_duplicate=remove_duplicate)
        yield from self.module.named_buffers(remove_duplicate=remove_duplicate)

    def named_modules(self, remove_duplicate: bool = True):
        yield from self.module.named_modules(remove_duplicate=remove_duplicate)
