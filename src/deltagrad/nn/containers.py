"""Containers (PyTorch's names and behaviour): Sequential, ModuleList and ModuleDict of
modules, ParameterList and ParameterDict of parameters."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping

from .._engine import Tensor
from ._module_repr import module_list_repr
from .module import Module, Parameter

__all__ = ["ModuleDict", "ModuleList", "ParameterDict", "ParameterList", "Sequential"]




def _index(index: int, length: int, kind: str) -> int:
    index = int(index)
    if not -length <= index < length:
        raise IndexError(f"index {index} is out of range for a {kind} of length {length}")
    return index % length


class Sequential(Module):
    """Modules applied one after another: ``Sequential(a, b)(x) == b(a(x))``.

    Args:
        *modules: the modules, or a single ``OrderedDict`` of name -> module.

    >>> import deltagrad as dg
    >>> net = dg.nn.Sequential(dg.nn.Linear(4, 3), dg.nn.ReLU())
    >>> net
    Sequential(
      (0): Linear(in_features=4, out_features=3, bias=True)
      (1): ReLU()
    )
    >>> net(dg.ones(2, 4)).shape
    deltagrad.Size([2, 3])
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(modules):
                self.add_module(str(index), module)

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[_index(index, len(items), "Sequential")][1]

    def __setitem__(self, index: int, module: Module) -> None:
        keys = list(self._modules)
        self.add_module(keys[_index(index, len(keys), "Sequential")], module)

    def __delitem__(self, index) -> None:
        keys = list(self._modules)
        if isinstance(index, slice):
            doomed = keys[index]
        else:
            doomed = [keys[_index(index, len(keys), "Sequential")]]
        for key in doomed:
            del self._modules[key]
        # Renumber, as PyTorch does, so that indices keep matching positions.
        object.__setattr__(self, "_modules",
                           {str(i): m for i, m in enumerate(self._modules.values())})

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end; return self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        """Append every module of ``modules``; return self."""
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        """Insert ``module`` before position ``index`` (the modules are renumbered); return
        self."""
        if not isinstance(module, Module):
            raise AssertionError(f"module should be of type: {Module}")
        values = list(self._modules.values())
        n = len(values)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        values.insert(index + n if index < 0 else index, module)
        object.__setattr__(self, "_modules", {str(i): m for i, m in enumerate(values)})
        return self

    def pop(self, key: int | slice) -> Module:
        """Remove and return the module at ``key`` (the rest are renumbered)."""
        value = self[key]
        del self[key]
        return value

    def __add__(self, other: Sequential) -> Sequential:
        """A new Sequential of this one's modules, then ``other``'s (the same objects)."""
        if not isinstance(other, Sequential):
            raise ValueError("add operator supports only objects of Sequential class, but "
                             f"{type(other)} is given.")
        return Sequential(*self, *other)

    def __iadd__(self, other: Sequential) -> Sequential:
        if not isinstance(other, Sequential):
            raise ValueError("add operator supports only objects of Sequential class, but "
                             f"{type(other)} is given.")
        return self.extend(list(other))

    def _repeats(self, count) -> int:
        if not isinstance(count, int):
            raise TypeError(f"unsupported operand type(s) for *: {type(self)} and "
                            f"{type(count)}")
        if count <= 0:
            raise ValueError(f"Non-positive multiplication factor {count} for {type(self)}")
        return count

    def __mul__(self, count: int) -> Sequential:
        """A new Sequential repeating these modules ``count`` times (the same objects)."""
        return Sequential(*(list(self) * self._repeats(count)))

    __rmul__ = __mul__

    def __imul__(self, count: int) -> Sequential:
        return self.extend(list(self) * (self._repeats(count) - 1))


class ModuleList(Module):
    """A list of modules whose parameters are registered (PyTorch's ``nn.ModuleList``).

    >>> import deltagrad as dg
    >>> layers = dg.nn.ModuleList([dg.nn.Linear(2, 2) for _ in range(3)])
    >>> len(layers), len(list(layers.parameters()))
    (3, 6)
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, index):
        values = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(values[index])
        return values[_index(index, len(values), "ModuleList")]

    def __setitem__(self, index: int, module: Module) -> None:
        self.add_module(str(_index(index, len(self), "ModuleList")), module)

    def __delitem__(self, index) -> None:
        values = list(self._modules.values())
        if isinstance(index, slice):
            del values[index]
        else:
            del values[_index(index, len(values), "ModuleList")]
        object.__setattr__(self, "_modules", {str(i): m for i, m in enumerate(values)})

    __repr__ = module_list_repr

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        """A new ModuleList of this one's modules, then ``other``'s (the same objects)."""
        return ModuleList([*self, *other])

    def pop(self, key: int | slice) -> Module:
        """Remove and return the module at ``key`` (the rest are renumbered)."""
        value = self[key]
        del self[key]
        return value

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end; return self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append every module of ``modules``; return self."""
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index``."""
        values = list(self._modules.values())
        values.insert(index, module)
        object.__setattr__(self, "_modules", {})
        for position, value in enumerate(values):
            self.add_module(str(position), value)


class ModuleDict(Module):
    """A dict of modules whose parameters are registered (PyTorch's ``nn.ModuleDict``).

    >>> import deltagrad as dg
    >>> heads = dg.nn.ModuleDict({"ner": dg.nn.Linear(4, 5), "pos": dg.nn.Linear(4, 7)})
    >>> list(heads), heads["pos"].out_features
    (['ner', 'pos'], 7)
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def pop(self, key: str) -> Module:
        """Remove ``key`` and return its module."""
        return self._modules.pop(key)

    def clear(self) -> None:
        self._modules.clear()

    def update(self, modules: Mapping[str, Module] | Iterable) -> None:
        """Add (or replace) modules from a mapping or an iterable of ``(key, module)`` pairs."""
        pairs = modules.items() if isinstance(modules, (Mapping, ModuleDict)) else modules
        for key, module in pairs:
            self[key] = module


def _as_parameter(value):
    # As PyTorch: a plain tensor becomes a Parameter (sharing its data); other values are kept
    # as they are (PyTorch allows them; they are simply not parameters).
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


def _describe(value, legacy: bool = False) -> str:
    """A parameter's line in the containers' repr (PyTorch's wording, indented two spaces
    within the block as PyTorch's is)."""
    if isinstance(value, Tensor):
        size = "x".join(str(n) for n in value.shape)
        # ParameterDict's names the type the legacy way, as torch.typename does: Tensor.type(),
        # whose module is 'torch' under the alias (a fixed 'deltagrad.' printed it otherwise)
        kind = value.type() if legacy else value.dtype
        return f"Parameter containing: [{kind} of size {size}]"
    return f"Object of type: {type(value).__name__}"


class ParameterList(Module):
    """A list of parameters registered under the names "0", "1", ...

    >>> import deltagrad as dg
    >>> params = dg.nn.ParameterList([dg.nn.Parameter(dg.ones(2)) for _ in range(3)])
    >>> len(params), [name for name, _ in params.named_parameters()]
    (3, ['0', '1', '2'])
    """

    def __init__(self, values: Iterable | None = None) -> None:
        super().__init__()
        object.__setattr__(self, "_size", 0)
        if values is not None:
            self.extend(values)

    def _set(self, index: int, value) -> None:
        value = _as_parameter(value)
        key = str(index)
        if isinstance(value, Parameter):
            # (through register_parameter, as PyTorch's setattr: accelerate's init_empty_weights
            # patches it to put each new parameter on the meta device)
            self.__dict__.pop(key, None)
            self.register_parameter(key, value)
        elif value is None:
            self.__dict__.pop(key, None)
            self._parameters[key] = value
        else:
            self._parameters.pop(key, None)
            object.__setattr__(self, key, value)

    def _get(self, index: int):
        key = str(index)
        return self._parameters[key] if key in self._parameters else self.__dict__[key]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ParameterList([self._get(i) for i in range(self._size)[index]])
        if not -self._size <= index < self._size:
            raise IndexError(f"index {index} is out of range")
        return self._get(index % self._size)

    def __setitem__(self, index: int, value) -> None:
        if not -self._size <= index < self._size:
            raise IndexError(f"index {index} is out of range")
        self._set(index % self._size, value)

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator:
        return (self._get(i) for i in range(self._size))

    def __iadd__(self, values: Iterable) -> ParameterList:
        return self.extend(values)

    def append(self, value) -> ParameterList:
        """Add ``value`` at the end; return self."""
        self._set(self._size, value)
        object.__setattr__(self, "_size", self._size + 1)
        return self

    def extend(self, values: Iterable) -> ParameterList:
        """Append every value; return self."""
        if isinstance(values, Tensor) or not isinstance(values, Iterable):
            raise TypeError("ParameterList.extend should be called with an iterable, but got "
                            + type(values).__name__)
        for value in values:
            self.append(value)
        return self

    def extra_repr(self) -> str:
        return "\n".join(f"  ({i}): {_describe(value)}" for i, value in enumerate(self))


class ParameterDict(Module):
    """A dict of parameters registered under their keys, in insertion order (a plain dict
    given at once is added sorted by key, as in PyTorch).

    >>> import deltagrad as dg
    >>> params = dg.nn.ParameterDict({"scale": dg.ones(3), "shift": dg.zeros(3)})
    >>> list(params), params["scale"].requires_grad
    (['scale', 'shift'], True)
    """

    def __init__(self, parameters: Mapping | Iterable | None = None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str):
        if key not in self._parameters:  # (PyTorch's reads an attribute: AttributeError)
            raise AttributeError(f"'ParameterDict' object has no attribute '{key}'")
        return self._parameters[key]

    def __setitem__(self, key: str, value) -> None:
        if not isinstance(key, str):
            raise TypeError(f"parameter name should be a string, got {type(key).__name__}")
        if "." in key or not key:
            raise KeyError(f"parameter name can't be empty or contain '.', got {key!r}")
        value = _as_parameter(value)
        if value is not None and not isinstance(value, Parameter):
            raise TypeError(f"ParameterDict values must be tensors, got "
                            f"{type(value).__name__}")
        if value is None:
            self._parameters[key] = value
            return
        # As PyTorch (setattr under the key): through register_parameter, which accelerate's
        # init_empty_weights patches to put each new parameter on the meta device (peft's
        # low_cpu_mem_usage adapters: IA3's ParameterDict missed it) and which refuses a key
        # naming another attribute ("keys", "forward": KeyError "attribute 'keys' already exists")
        setattr(self, key, value)

    def __delitem__(self, key: str) -> None:
        del self._parameters[key]

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._parameters))

    def __contains__(self, key) -> bool:
        return key in self._parameters

    def keys(self):
        return self._parameters.keys()

    def values(self):
        return self._parameters.values()

    def items(self):
        return self._parameters.items()

    def get(self, key: str, default=None):
        return self._parameters.get(key, default)

    def pop(self, key: str):
        """Remove ``key`` and return its parameter."""
        return self._parameters.pop(key)

    def clear(self) -> None:
        self._parameters.clear()

    def copy(self) -> ParameterDict:
        """A new ParameterDict holding the same parameters."""
        return ParameterDict(OrderedDict(self._parameters))

    def setdefault(self, key: str, default=None):
        """The value under ``key``, set to ``default`` (made a Parameter) first if absent."""
        if key not in self:
            self[key] = default
        return self[key]

    def popitem(self) -> tuple:
        """Remove and return the last inserted ``(key, value)`` pair."""
        return self._parameters.popitem()

    def fromkeys(self, keys: Iterable[str], default=None) -> ParameterDict:
        """A new ParameterDict with every key of ``keys`` holding ``default``."""
        return ParameterDict([(key, default) for key in keys])

    def __or__(self, other) -> ParameterDict:
        merged = self.copy()
        merged.update(other)
        return merged

    def __ror__(self, other) -> ParameterDict:
        merged = other.copy()
        merged.update(self)
        return merged

    def __ior__(self, other) -> ParameterDict:
        self.update(other)
        return self

    def __reversed__(self) -> Iterator[str]:
        return reversed(list(self._parameters))

    def update(self, parameters: Mapping | Iterable) -> None:
        """Add (or replace) entries from a mapping or an iterable of ``(key, value)`` pairs.
        A plain (unordered) mapping is added in sorted key order, as PyTorch does; an
        OrderedDict, a ParameterDict or a sequence of pairs keeps its order."""
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            pairs = parameters.items()
        elif isinstance(parameters, Mapping):
            pairs = sorted(parameters.items())
        else:
            pairs = parameters
        for key, value in pairs:
            self[key] = value

    def extra_repr(self) -> str:
        return "\n".join(f"  ({key}): {_describe(value, legacy=True)}"
                         for key, value in self.items())
