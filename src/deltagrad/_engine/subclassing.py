"""Tensor subclasses keep their class through methods and operators, as PyTorch's default
``__torch_function__`` makes them: ``S(Tensor)`` instances give ``S`` results (``s + 1``,
``x * s``, ``s.sum()``, ``s[0]``, ``s.T``, ``s.max(0).values``).

Done per subclass, when it is defined: its class gets wrappers of Tensor's methods that
convert the results, so plain tensors pay nothing. Left alone: deltagrad's own subclasses
(Parameter, sparse tensors), subclasses defining ``__torch_function__`` (PyTorch calls theirs;
deltagrad does not, see ``deltagrad.overrides``) or ``__slots__`` of their own. Not converted:
the results of top-level functions (``deltagrad.exp(s)`` is a plain Tensor; PyTorch's is S)."""

from __future__ import annotations

import functools

from . import tensor as _tensor

Tensor = _tensor.Tensor

__all__ = ["keep_subclass"]

# Methods whose results are no tensors of the subclass (or are set up by Python itself).
_SKIP = frozenset({
    "__init__", "__new__", "__init_subclass__", "__getstate__", "__setstate__", "__reduce__",
    "__reduce_ex__", "__repr__", "__str__", "__format__", "__hash__", "__bool__", "__len__",
    "__iter__", "__contains__", "__index__", "__int__", "__float__", "__complex__", "__array__",
    "__array_wrap__", "__array_ufunc__", "__array_function__", "__setitem__", "__delitem__",
    "__getattribute__", "__getattr__", "__setattr__", "__delattr__", "__dir__", "__sizeof__",
    "__copy__", "__deepcopy__", "__class_getitem__", "__subclasshook__", "__instancecheck__",
    "__dlpack__", "__dlpack_device__", "as_subclass", "register_hook", "backward", "numpy",
    "tolist", "item", "size", "dim", "numel", "element_size", "data_ptr", "storage",
    "untyped_storage", "stride", "storage_offset", "retain_grad",
    "register_post_accumulate_grad_hook",
})
# Properties whose values are tensors of the subclass in PyTorch.
_PROPERTIES = ("T", "mT", "H", "mH", "real", "imag", "data")


def _converted(value, cls, args):
    if type(value) is Tensor:
        if any(value is a for a in args):  # an argument returned: a new object, as PyTorch
            return value.as_subclass(cls)
        value.__class__ = cls
    elif isinstance(value, (tuple, list)):  # (split's tuple, max's values and indices)
        for v in value:
            if type(v) is Tensor and not any(v is a for a in args):
                v.__class__ = cls
    return value


def _method(function):
    @functools.wraps(function)
    def method(self, *args, **kwargs):
        return _converted(function(self, *args, **kwargs), type(self), args)

    return method


def _property(prop):
    def get(self):
        return _converted(prop.fget(self), type(self), ())

    return property(get, prop.fset, prop.fdel, prop.__doc__)


def keep_subclass(cls) -> None:
    """Give the Tensor subclass ``cls`` wrappers that make its methods' results ``cls``."""
    if cls.__module__.startswith("deltagrad.") or cls.__basicsize__ != Tensor.__basicsize__:
        return
    below = [k for k in cls.__mro__ if k is not Tensor and issubclass(k, Tensor)]
    if any("__torch_function__" in vars(k) for k in below):
        return
    own = set().union(*(vars(k) for k in below))
    for name, value in vars(Tensor).items():
        if name in own or name in _SKIP:
            continue
        if isinstance(value, property):
            if name in _PROPERTIES:
                setattr(cls, name, _property(value))
        elif callable(value) and not isinstance(value, (type, staticmethod, classmethod)):
            setattr(cls, name, _method(value))


_tensor._SUBCLASS_HOOK.append(keep_subclass)
