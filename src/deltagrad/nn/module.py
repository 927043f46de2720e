"""Module and Parameter: trainable state, its discovery, modes and conversions (state dicts:
module_state.py; hooks: hooks.py; the containers: containers.py)."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator

import numpy as np

from .. import serialization as _serialization
from .._engine import dtypes as _dtypes
from .._engine import meta as _meta
from .._engine import printing as _printing
from .._engine.api.conversion import parse_to
from .._engine.api.creation import check_memory_format, in_memory_format, preserve_format
from .._engine.api.factories import type_words
from .._engine.api.sparse import sparse_tensor
from .._engine.autograd import DTypeError
from .._engine.buffers import give as recycle
from .._engine.dtypes import _Default, new_array
from .._engine.sparse import RowSparseGrad
from .._engine.tensor import Tensor, _as_array, _leaf
from ._module_repr import module_repr
from .buffer import buffer_persistence
from .hooks import ModuleHooks
from .hooks import registered as _registered
from .module_access import IncompatibleKeys, ModuleAccess
from .module_state import ModuleState

__all__ = ["Module", "Parameter"]  # (and, by __getattr__ below, the module containers)

# ----------------------------------------------------------------------------------------------
# Parameter.
#
# A parameter is an ordinary Tensor leaf that has been marked as one. It is deliberately *not* an
# instance of a Tensor subclass: the engine's hot path tests `type(x) is Tensor` to decide whether
# an operand must be lifted into a constant, so a subclass instance would be copied into a new,
# gradient-less leaf by every op. Marking keeps parameters on the fast path; the mark lives in a
# registry keyed by id() (a WeakSet cannot hold Tensors: their `==` is elementwise) and dies with
# the tensor.

_MARKED: dict[int, weakref.ref] = {}


def _dead():  # (an unmarked id's stand-in reference)
    return None


def _mark_parameter(tensor: Tensor) -> Tensor:
    key = id(tensor)

    def forget(ref, key=key):
        if _MARKED.get(key) is ref:
            del _MARKED[key]

    _MARKED[key] = weakref.ref(tensor, forget)
    return tensor


def _is_parameter(obj) -> bool:
    ref = _MARKED.get(id(obj))  # (or a real subclass: geoopt's ManifoldParameter)
    return (ref is not None and ref() is obj) or type.__instancecheck__(Parameter, obj)


_printing.is_parameter, _printing.mark_parameter = _is_parameter, _mark_parameter  # (see there)
# save/load keep a Parameter a Parameter (serialization sits below nn, so it is told how)
_serialization.is_parameter, _serialization.mark_parameter = _is_parameter, _mark_parameter


class _ParameterType(type):
    # NOTE: makes `isinstance(p, nn.Parameter)` answer from the mark, since parameters are plain
    # Tensors (see above). This is the only metaclass in deltagrad.
    def __instancecheck__(cls, obj) -> bool:
        return (cls is Parameter and _is_parameter(obj)) or type.__instancecheck__(cls, obj)


class Parameter(Tensor, metaclass=_ParameterType):
    """A Tensor that a Module registers as trainable state (PyTorch's ``nn.Parameter``).

    ``Parameter(data)`` returns a new leaf tensor, marked as a parameter, that shares ``data``'s
    array when ``data`` is a Tensor (as PyTorch's does) and otherwise holds a copy made by
    ``deltagrad.tensor``'s rules. The result is a plain ``Tensor`` (so that ops treat it with no
    overhead); ``isinstance(p, Parameter)`` is true for it.

    Args:
        data: initial value (Tensor, ndarray, or nested lists); ``None`` gives an empty float32
            tensor.
        requires_grad: whether the parameter is trainable (floating dtypes only).

    Returns:
        The marked Tensor.

    >>> import deltagrad as dg
    >>> w = dg.nn.Parameter(dg.zeros(2, 3))
    >>> isinstance(w, dg.nn.Parameter), type(w).__name__, w.requires_grad
    (True, 'Tensor', True)
    """

    __slots__ = ()

    def __new__(cls, data=None, requires_grad: bool = True):
        if type(requires_grad) is not bool:  # (PyTorch's, s29 BR19: 1 / None read as truths)
            raise TypeError(f"_make_subclass(): argument 'require_grad' (position 3) must be "
                            f"bool, not {type_words(requires_grad)}")
        if data is None:
            array = np.empty(0, dtype=_Default.float)  # the default dtype, as PyTorch
        elif isinstance(data, Tensor):
            if requires_grad and data._data.dtype.kind not in "fcV":  # (V: bfloat16)
                raise DTypeError(f"Only Tensors of floating point and complex dtype can "
                                 f"require gradients (nn.Parameter of {data.dtype})")
            if cls is Parameter and type(data).__module__.partition(".")[0] != "deltagrad":
                # a program's own Tensor subclass keeps its class, as PyTorch's path for custom
                # tensors: the detached tensor (same memory), marked as a parameter
                tensor = data.detach()
                if requires_grad:
                    tensor.requires_grad_(True)
                return _mark_parameter(tensor)
            array = data._data
        else:
            array = _as_array(data, None)
            if _meta.default_is_meta():  # a layer's np.empty under `with device("meta")`
                array = _meta.MetaArray(array.shape, array.dtype)
        tensor = _leaf(array)
        if requires_grad:
            tensor.requires_grad_(True)
        return _mark_parameter(tensor)


# ----------------------------------------------------------------------------------------------
# Module.

_IncompatibleKeys = IncompatibleKeys  # load_state_dict's result (module_access.py)


def _check_name(kind: str, name, owner: Module, registry: dict) -> None:
    """PyTorch's rules for a new member's name; re-registering under the same kind is fine."""
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
    if not name:
        raise KeyError(f'{kind} name can\'t be empty string ""')
    if "." in name:  # (PyTorch's words: the module's message names the name)
        raise KeyError(f'{kind} name can\'t contain "."' + (f", got: {name}" if kind == "module"
                                                         else ""))
    if name not in registry and hasattr(owner, name):
        raise KeyError(f"attribute {name!r} already exists")


def _cannot_assign(value, what: str, name: str, expected: str) -> TypeError:
    """PyTorch's error for assigning ``value`` where a member ``what`` (its words: "as
    parameter", "object to buffer") of type ``expected`` is: the value's PyTorch type name
    (``'torch.FloatTensor'``, ``'int'``), the namespace as the program imported it."""
    kind = value.type() if isinstance(value, Tensor) else type(value).__qualname__
    expected = expected.replace("torch", _dtypes.PREFIX[0])
    return TypeError(f"cannot assign '{kind}' {what} '{name}' ({expected})")


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def zero_grad_of(param: Tensor, set_to_none: bool = True) -> None:
    """Reset one parameter's gradient (shared by ``Module.zero_grad`` and optimizers).

    ``set_to_none`` drops it (PyTorch's default); otherwise a dense gradient is zero-filled in
    place, a row-sparse one emptied (no rows), and a gradient with a graph
    (``create_graph=True``) or a read-only array replaced by zeros rather than written through.
    """
    grad = param.grad
    if grad is None:
        return
    if set_to_none:
        param.grad = None
        if type(grad) is Tensor:
            data = grad._data
            del grad  # the Tensor goes unless someone else holds it (and so its array)
            recycle(data)  # reused by the next backward unless something else holds it
    elif isinstance(grad._data, RowSparseGrad) or getattr(grad._data, "is_sparse", False):
        # A sparse gradient Tensor keeps its identity with no rows left (as PyTorch's zero_).
        if isinstance(grad, Tensor):
            grad.zero_()
        else:  # a bare RowSparseGrad someone assigned: becomes an empty sparse Tensor
            param.grad = sparse_tensor(grad).zero_()
    elif grad.is_leaf and grad._data.flags.writeable:
        grad._data.fill(0)
    else:
        param.grad = _leaf(np.zeros_like(grad._data))


def _cast(tensor: Tensor, dtype, floating_only: bool, kinds: str = "fV") -> Tensor:
    """``tensor`` in ``dtype`` (itself if already so, or, under ``floating_only``, if its kind
    is not one of ``kinds``: floating by default, floating or complex for ``Module.to``)."""
    if tensor._data.dtype == dtype or (floating_only and tensor._data.dtype.kind not in kinds):
        return tensor  # ("V": ml_dtypes' bfloat16, a floating dtype)
    if type(tensor._data) is _meta.MetaArray:  # (a meta tensor takes the dtype, as PyTorch's)
        return _leaf(_meta.MetaArray(tensor._data.shape, np.dtype(dtype)))
    return _leaf(new_array(tensor._data, dtype))  # (into bfloat16 through float32, as PyTorch)


_META_TO_DEVICE = ("Cannot copy out of meta tensor; no data! Please use torch.nn.Module.to_empty() "
                   "instead of torch.nn.Module.to() when moving module from meta to a different "
                   "device.")


class Module(ModuleHooks, ModuleAccess, ModuleState):
    """Base class of every layer and model (PyTorch's ``nn.Module``).

    Assigning a ``Parameter``, a ``Module`` or a registered buffer to an attribute registers it;
    ``parameters()``, ``state_dict()``, ``train()`` and friends then walk the tree of submodules
    (iteratively, so arbitrarily deep models are fine). Subclasses call ``super().__init__()``
    first and define ``forward``; calling the module calls ``forward``.

    >>> import deltagrad as dg
    >>> class Affine(dg.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.scale = dg.nn.Parameter(dg.ones(3))
    ...         self.inner = dg.nn.Linear(3, 3)
    ...     def forward(self, x):
    ...         return self.inner(x) * self.scale
    >>> [name for name, _ in Affine().named_parameters()]
    ['scale', 'inner.weight', 'inner.bias']
    """

    training: bool

    def __init__(self) -> None:
        # Set through object.__setattr__ because our __setattr__ relies on these existing.
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", {})

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  '"forward" function')

    def __call__(self, *args, **kwargs):
        if self._hooks is None:  # no hook was ever registered (ModuleHooks): the fast path
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    # ------------------------------------------------------------ attribute registration

    def __setattr__(self, name: str, value) -> None:
        registries = self.__dict__.get("_parameters")
        if registries is None:
            if _is_parameter(value):
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            if isinstance(value, Module):
                raise AttributeError("cannot assign module before Module.__init__() call")
            object.__setattr__(self, name, value)
            return
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if _is_parameter(value):
            # As PyTorch: the name leaves the other registries first (a parameter may replace a
            # buffer or a child); register_parameter's check then sees only class attributes.
            self.__dict__.pop(name, None)
            buffers.pop(name, None)
            modules.pop(name, None)
            self._non_persistent.discard(name)
            # (through register_parameter, as PyTorch: accelerate's init_empty_weights patches
            # it to move every new parameter to the meta device)
            self.register_parameter(name, value)
        elif name in params:
            if value is not None:
                raise _cannot_assign(value, "as parameter", name,
                                     "torch.nn.Parameter or None expected")
            params[name] = None
        elif isinstance(value, Module):
            self.__dict__.pop(name, None)
            params.pop(name, None)
            buffers.pop(name, None)
            self._non_persistent.discard(name)
            modules[name] = _registered("module", self, name, value)
        elif name in modules:
            if value is not None:
                raise _cannot_assign(value, "as child module", name,
                                     "torch.nn.Module or None expected")
            modules[name] = None
        elif name in buffers or buffer_persistence(value) is not None:
            if value is not None and not isinstance(value, Tensor):
                raise _cannot_assign(value, "as buffer", name,
                                     "torch.nn.Buffer, torch.Tensor or None expected")
            persistent = buffer_persistence(value)  # an nn.Buffer says; else unchanged
            if persistent is None:
                buffers[name] = _registered("buffer", self, name, value)
            else:
                self.register_buffer(name, value, persistent)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        # Only called when normal lookup fails: registered members live in the registries.
        # (Unrolled, not a loop over the registries' names: self.weight 0.60 -> 0.55 us, a
        # buffer 0.62 -> 0.60, a submodule 0.67 -> 0.63; PyTorch 0.58 / 0.67 / 0.75. Most of
        # the rest is Python's failed normal lookup before __getattr__. SP28, medians of 25)
        state = self.__dict__
        members = state.get("_parameters")
        if members is not None and name in members:
            return members[name]
        members = state.get("_buffers")
        if members is not None and name in members:
            return members[name]
        members = state.get("_modules")
        if members is not None and name in members:
            return members[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def __setstate__(self, state: dict) -> None:
        # copy.deepcopy rebuilds a module from its __dict__; the copies of its parameters are
        # new tensors, which must be marked as parameters again, and (as PyTorch's copied
        # Parameters) start without a gradient. copy.copy hands over the same parameters
        # (already marked): they keep their gradients, as in PyTorch.
        self.__dict__.update(state)
        for param in self._parameters.values():
            if param is not None and _MARKED.get(id(param), _dead)() is not param:
                _mark_parameter(param)
                param.grad = None

    def __dir__(self):
        # (not the names no attribute access can spell: a Sequential's '0', '1', as PyTorch)
        return sorted(key for key in set(super().__dir__()) | set(self._parameters)
                      | set(self._buffers) | set(self._modules) if not key[:1].isdigit())

    def register_parameter(self, name: str, param: Tensor | None) -> None:
        """Register ``param`` (a Parameter, or ``None`` for an absent one) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name("parameter", name, self, self._parameters)
        if param is not None and not _is_parameter(param):
            raise _cannot_assign(param, "object to parameter", name,
                                 "torch.nn.Parameter or None required")
        self.__dict__.pop(name, None)
        self._parameters[name] = _registered("parameter", self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a non-trainable tensor (saved in the state_dict when ``persistent``)."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name("buffer", name, self, self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise _cannot_assign(tensor, "object to buffer", name,
                                 "torch Tensor or None required")
        self.__dict__.pop(name, None)
        self._buffers[name] = _registered("buffer", self, name, tensor)
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as a child under ``name``."""
        if "_modules" not in self.__dict__:
            raise AttributeError("cannot assign module before Module.__init__() call")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name("module", name, self, self._modules)
        self.__dict__.pop(name, None)
        self._modules[name] = _registered("module", self, name, module)

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The submodule at dotted path ``target`` (``""`` is the module itself)."""
        module = self
        for part in target.split(".") if target else []:
            child = module._modules.get(part)
            if child is None:  # (PyTorch's errors: no such attribute, or one that is no module)
                if not hasattr(module, part):
                    raise AttributeError(f"{module._get_name()} has no attribute `{part}`")
                child = getattr(module, part)
                if not isinstance(child, Module):
                    raise AttributeError(f"`{part}` is not an nn.Module")
            module = child
        return module

    # ------------------------------------------------------------ walking the tree

    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """Every module in the tree, this one first, depth first, with its dotted name.

        Args:
            memo: ids of modules already yielded (shared submodules are yielded once).
            prefix: prepended to every name.
            remove_duplicate: yield a module reachable along several paths only once.
        """
        if memo is None:
            memo = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if id(module) in memo:
                    continue
                memo.add(id(module))
            yield name, module
            children = [(key, child) for key, child in module._modules.items()
                        if child is not None]
            for key, child in reversed(children):
                stack.append((_join(name, key), child))

    def modules(self) -> Iterator[Module]:
        """Every module in the tree (this one first), each once."""
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct submodules with their attribute names (each module once)."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        """The direct submodules."""
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry: str, prefix: str, recurse: bool,
                       remove_duplicate: bool) -> Iterator[tuple[str, Tensor]]:
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        seen = set()
        for module_prefix, module in modules:
            for name, member in getattr(module, registry).items():
                if member is None:
                    continue
                if remove_duplicate:
                    if id(member) in seen:
                        continue
                    seen.add(id(member))
                yield _join(module_prefix, name), member

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """``(dotted name, parameter)`` pairs in registration order; shared ones once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every parameter of this module (and its submodules when ``recurse``), each once."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """``(dotted name, buffer)`` pairs, as ``named_parameters``."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer of this module (and its submodules when ``recurse``)."""
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every submodule, children before parents (as PyTorch); return self.

        >>> import deltagrad as dg
        >>> net = dg.nn.Sequential(dg.nn.Linear(2, 2), dg.nn.Tanh())
        >>> _ = net.apply(lambda m: print(type(m).__name__))
        Linear
        Tanh
        Sequential
        """
        # Post-order without recursion: a pre-order that visits children last-to-first,
        # reversed.
        order = []
        stack = [self]
        while stack:
            module = stack.pop()
            order.append(module)
            stack.extend(module.children())
        for module in reversed(order):
            fn(module)
        return self

    # ------------------------------------------------------------ modes and gradients

    def train(self, mode: bool = True) -> Module:
        """Set training mode (``True``) or evaluation mode on every module; return self."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")  # PyTorch's words
        # A child that overrides train() gets its own train() called, as in PyTorch (gpytorch's
        # variational strategies clear their cached Cholesky factors there); the others are
        # walked here, in PyTorch's order, without recursion (5000-deep Sequentials).
        self.training = mode
        stack = list(self.children())[::-1]
        while stack:
            module = stack.pop()
            if type(module).train is not Module.train:
                module.train(mode)
            else:
                module.training = mode
                stack.extend(list(module.children())[::-1])
        return self

    def eval(self) -> Module:
        """Evaluation mode (dropout off); the same as ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` on every parameter (freeze with ``False``); return self."""
        for param in self.parameters():
            if not isinstance(requires_grad, bool):  # (PyTorch's parser, at the first one)
                raise TypeError(f"requires_grad_(): argument 'requires_grad' (position 1) must "
                                f"be bool, not {type(requires_grad).__name__}")
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of every parameter.

        Args:
            set_to_none: drop the gradients (the default, as PyTorch) instead of filling them
                with zeros in place. A row-sparse gradient is emptied (no rows).
        """
        for param in self.parameters():
            zero_grad_of(param, set_to_none)

    def to(self, *args, **kwargs) -> Module:
        """Convert floating-point parameters and buffers to a dtype in place; return self.

        Called as PyTorch's: ``to(dtype)``, ``to(device)`` (only "cpu"), ``to(tensor)`` (its
        dtype), or with ``dtype=`` / ``device=`` / ``non_blocking=`` / ``memory_format=``
        keywords (the format applies to 4-D and 5-D tensors only, as in PyTorch). Parameters keep
        their identity (their ``data`` is replaced), so optimizers built before the conversion
        still see them.
        """
        if _meta.names_meta(kwargs.get("device", args[0] if args else None)):  # (opacus)
            dtype = kwargs.get("dtype", args[1] if len(args) > 1 else None)
            if dtype is None:
                return self._apply(lambda t: _leaf(_meta.MetaArray(t.shape, t._data.dtype)))
            dtype = np.dtype(dtype)
            return self._apply(lambda t: _leaf(_meta.MetaArray(
                t.shape, dtype if t._data.dtype.kind in "fV" else t._data.dtype)))
        layout = check_memory_format(kwargs.pop("memory_format", None), "to")
        device, dtype, _non_blocking, _copy = parse_to(args, kwargs, "Module.to")
        if dtype is not None:
            dtype = np.dtype(dtype)
            if dtype.kind not in "fVc":  # ("V": bfloat16)
                raise TypeError("nn.Module.to only accepts floating point or complex dtypes, "
                                f"but got desired dtype={dtype}")
            if dtype.kind == "c":
                import warnings

                warnings.warn("Complex modules are a new feature under active development whose "
                              "design may change, and some modules might not work as expected "
                              "when using complex tensors as parameters or buffers.",
                              stacklevel=2)

        # Always through `_apply`, even with nothing to convert (`to("cpu")`), as PyTorch:
        # subclasses that override `_apply` (timm, torchmetrics) see every move.
        def convert(tensor):
            if device is not None and type(tensor._data) is _meta.MetaArray:
                # A meta tensor has no values to move: PyTorch's NotImplementedError, never a
                # module left silently on the meta device.
                raise NotImplementedError(_META_TO_DEVICE)
            if dtype is not None:  # (as PyTorch: floating and complex state takes the dtype)
                tensor = _cast(tensor, dtype, floating_only=True, kinds="fVc")
            if layout is not preserve_format and tensor._data.ndim in (4, 5):
                # As PyTorch: only 4-D and 5-D parameters, buffers and grads take the layout
                # (conv weights); the strides are what later `stride()` calls see.
                tensor = in_memory_format(_leaf(tensor._data), layout, "to")
            return tensor

        return self._apply(convert)

    # float/double/half pass `_apply` a lambda of their own, as PyTorch: subclasses tell the
    # conversions apart by the function's name (torchmetrics keeps metric states in their dtype
    # under `Module.float/double/half/type`, and converts them under `to` and `set_dtype`).
    def float(self) -> Module:
        """Convert floating-point state to float32."""
        return self._apply(lambda tensor: _cast(tensor, np.float32, floating_only=True))

    def double(self) -> Module:
        """Convert floating-point state to float64."""
        return self._apply(lambda tensor: _cast(tensor, np.float64, floating_only=True))

    def half(self) -> Module:
        """Convert floating-point state to float16."""
        return self._apply(lambda tensor: _cast(tensor, np.float16, floating_only=True))

    def _apply(self, fn: Callable, recurse: bool = True) -> Module:
        """PyTorch's one path of every conversion (``to``, ``float``, ``double``, ``half``,
        ``type``): ``fn(tensor)`` gives each parameter, buffer and gradient its new value,
        children first. Parameters (and their gradients) keep their identity (their data is
        replaced), so optimizers built before still see them; a buffer is replaced by
        ``fn(buffer)``, as PyTorch's (a tensor held elsewhere, a state dict's, keeps its dtype).
        Subclasses override it to convert state of their own and call it."""
        if recurse:
            for child in self.children():
                child._apply(fn)
        for tensor in self._parameters.values():
            if tensor is None:
                continue
            for target in (tensor, tensor.grad):
                if isinstance(target, Tensor) and not target.is_sparse:
                    new = fn(target)
                    if new is not target:
                        target._data = new._data
        buffers = self._buffers
        for name, buffer in list(buffers.items()):
            if isinstance(buffer, Tensor) and not buffer.is_sparse:
                new = fn(buffer)
                if getattr(type(buffer), "_is_uninitialized", False):  # (a Lazy module's
                    if new is not buffer:  # UninitializedBuffer stays itself, as before)
                        buffer._data = new._data
                    continue
                if new is not buffer and buffer.requires_grad and not new.requires_grad and \
                        new.shape == buffer.shape:  # (PyTorch records a buffer's conversion)
                    new = buffer.to(new.dtype)
                buffers[name] = new
        return self

    def cpu(self) -> Module:
        """This module (deltagrad runs on the CPU), through ``_apply`` as PyTorch's."""
        return self._apply(lambda tensor: tensor.cpu())

    def share_memory(self) -> Module:
        """``share_memory_()`` on every parameter and buffer (mnist_hogwild's step before its
        workers start), through ``_apply`` as PyTorch's; returns the module."""
        return self._apply(lambda tensor: tensor.share_memory_())

    def cuda(self, device=None) -> Module:
        """Raises ``RuntimeError``: deltagrad runs on the CPU only."""
        return self.to("cuda" if device is None else device)

    def compile(self, *args, **kwargs) -> None:  # noqa: A003 - PyTorch's name
        """PyTorch's in-place ``model.compile(...)`` (the module stays itself, its ``__call__``
        compiled): deltagrad has no compiler, so the module keeps running eagerly, as
        ``torch.compile`` does here; returns None, as PyTorch's."""
        return None

    # ------------------------------------------------------------ printing

    def extra_repr(self) -> str:
        """The module's settings, shown inside its parentheses by ``repr``; override it."""
        return ""

    def __repr__(self) -> str:
        return module_repr(self, Module.__repr__)


def __getattr__(name: str):
    # Sequential, ModuleList and ModuleDict live in containers.py (which imports this module,
    # so it cannot be imported from here at load time); `from .module import Sequential`
    # keeps working through this lookup (PEP 562).
    if name in ("ModuleDict", "ModuleList", "Sequential"):
        from . import containers

        return getattr(containers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
