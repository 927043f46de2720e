"""Module methods beyond the core of module.py: members by dotted path (``get_parameter``,
``get_buffer``, ``set_submodule``) and whole-module dtype and device moves (``type``,
``bfloat16``, ``to_empty``). ``Module`` inherits them from ``ModuleAccess``."""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .._engine import dtypes
from .._engine.device import check_device
from .._engine.meta import MetaArray, names_meta
from .._engine.tensor import _leaf


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys it missed and those it did not expect (named
    as PyTorch's class, which ``type(result).__name__`` shows)."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"  # PyTorch's wording
        # (PyTorch's class name, so that a printed result reads the same)
        return (f"_IncompatibleKeys(missing_keys={self.missing_keys!r}, "
                f"unexpected_keys={self.unexpected_keys!r})")


IncompatibleKeys = _IncompatibleKeys


class ModuleAccess:
    """The methods above, as a base class of ``Module`` (which supplies ``_parameters``,
    ``_buffers``, ``_modules``, ``get_submodule`` and ``to``)."""

    # PyTorch's class attributes: no state-dict version patches to dump, and no super().__init__
    # call for mixins.
    dump_patches: bool = False
    call_super_init: bool = False

    def _get_name(self) -> str:
        # PyTorch's hook for the name ``repr`` prints (gpytorch and others call or override it).
        return type(self).__name__

    def _owner_and_name(self, target: str):
        path, _, name = target.rpartition(".")
        return self.get_submodule(path), name

    def get_parameter(self, target: str):
        """The parameter at dotted path ``target`` (``"encoder.0.weight"``).

        Raises:
            AttributeError: if a module on the path is missing or the last name is not a
                parameter (PyTorch's messages).
        """
        owner, name = self._owner_and_name(target)
        if owner._parameters.get(name) is None:  # (a None parameter is none: PyTorch's test)
            if not hasattr(owner, name):
                raise AttributeError(f"{type(owner).__name__} has no attribute `{name}`")
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return owner._parameters[name]

    def get_buffer(self, target: str):
        """The buffer at dotted path ``target`` (``"bn.running_mean"``); AttributeError as
        ``get_parameter``."""
        owner, name = self._owner_and_name(target)
        if name not in owner._buffers:
            if not hasattr(owner, name):
                raise AttributeError(f"{type(owner).__name__} has no attribute `{name}`")
            raise AttributeError(f"`{name}` is not a buffer")
        return owner._buffers[name]

    def set_submodule(self, target: str, module, strict: bool = False) -> None:
        """Put ``module`` at dotted path ``target``, replacing what is there.

        Args:
            target: ``"name"`` or ``"parent.child.name"``; every parent must exist.
            module: the Module to place.
            strict: require the last name to exist already (as a submodule).

        Raises:
            ValueError: for an empty target or a ``module`` that is not a Module.
            AttributeError: for a missing parent (or, when strict, a missing last name).
        """
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, ModuleAccess):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        parent, name = self._owner_and_name(target)
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{parent._get_name()} has no attribute `{name}`")
        # Whatever the name holds already must be a Module (PyTorch's rule, strict or not:
        # set_submodule('training', ...) or over a parameter raises rather than shadow it).
        if hasattr(parent, name) and not isinstance(getattr(parent, name), ModuleAccess):
            raise AttributeError(f"`{name}` is not an nn.Module")
        setattr(parent, name, module)

    def _tensors(self) -> list:
        return list(self.parameters()) + list(self.buffers())

    def type(self, dst_type):
        """Cast every parameter and buffer (integer ones too, as PyTorch) to ``dst_type``, in
        place; returns self. Parameters that require grad must stay floating. ``dst_type`` is
        what ``Tensor.type`` takes (a dtype, ``torch.DoubleTensor``, ``'torch.DoubleTensor'``)."""
        target = _leaf(np.zeros(0, np.float32)).type(dst_type)._data.dtype
        tensors = list(self._tensors())
        if target.kind != "f" and any(t.requires_grad for t in tensors):
            raise RuntimeError("data set to a tensor that requires gradients must be floating "
                               "point or complex dtype")

        def cast(tensor):
            if tensor._data.dtype == target:
                return tensor
            return _leaf(tensor._data.astype(target))

        # PyTorch's name for this conversion: subclasses read it (torchmetrics converts metric
        # states under `Module.type` only when its `set_dtype` asked for it).
        cast.__qualname__ = "Module.type.<locals>.<lambda>"
        return self._apply(cast)

    @property
    def _non_persistent_buffers_set(self) -> set:
        """PyTorch's private name for the set of non-persistent buffer names (accelerate and
        transformers read it); the same set object, so changes go through."""
        return self._non_persistent

    @_non_persistent_buffers_set.setter
    def _non_persistent_buffers_set(self, names: set) -> None:
        object.__setattr__(self, "_non_persistent", names)

    def _replicate_for_data_parallel(self):
        """PyTorch's replica of this module for ``DataParallel``'s ``replicate``: a shallow copy
        (same attributes, hooks and children) with no parameters of its own (``replicate`` sets
        the copies of the parameters as plain attributes) and copied buffer and child tables,
        marked ``_is_replica``."""
        replica = self.__new__(type(self))
        state = self.__dict__.copy()
        state["_parameters"] = {}
        state["_buffers"] = dict(state["_buffers"])
        state["_modules"] = dict(state["_modules"])
        state["_is_replica"] = True
        object.__setattr__(replica, "__dict__", state)
        return replica

    def bfloat16(self):
        """Convert floating-point state to bfloat16: NumPy has no bfloat16, so this raises
        ``TypeError`` saying so (as ``tensor.to(bfloat16)`` does)."""
        return self.to(dtypes.bfloat16)

    def to_empty(self, *, device=None, recurse: bool = True):
        """Give every parameter and buffer fresh, "uninitialised" storage on ``device`` (the
        CPU): zeros here, so runs are repeatable; call ``reset_parameters`` after. Returns
        self. (PyTorch uses it to materialise modules built on the meta device.)"""
        to_meta = names_meta(device)  # (the meta device: shapes only, meta.py)
        if not to_meta:
            check_device(device, "Module.to_empty")

        def empty(tensor):
            data = tensor._data
            if to_meta:
                return _leaf(MetaArray(data.shape, data.dtype))
            if type(data) is MetaArray:  # (a meta tensor's storage: C order)
                return _leaf(np.zeros(data.shape, data.dtype))
            return _leaf(np.zeros_like(data))

        # Through `_apply` with `recurse`, as PyTorch (subclasses overriding it see the move).
        return self._apply(empty, recurse=recurse)
