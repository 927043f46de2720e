"""Containers (PyTorch's names and behaviour): Sequential, ModuleList and ModuleDict of
modules, ParameterList and ParameterDict of parameters."""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping

from .._engine import Tensor
from ._module_repr import module_list_repr
from .module import Module, Parameter

__all__ = ["ModuleDict", "ModuleList", "ParameterDict", "ParameterList", "Sequential"]




def _index(index: int, length: int, kind: str) -> int:
    index = operator.index(index)  # (a float is PyTorch's TypeError, not a position)
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
        # (setattr, as PyTorch's: an object that is no Module is its TypeError, in its words)
        setattr(self, keys[_index(index, len(keys), "Sequential")], module)

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
        modules = self._modules
        n = len(modules)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        index = index + n if index < 0 else index
        # As PyTorch's: the modules from `index` on move up one name, by their names "i" (a
        # module added under another name, add_module('z', ...), is PyTorch's KeyError)
        for i in range(n, index, -1):
            modules[str(i)] = modules[str(i - 1)]
        modules[str(index)] = module
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
        setattr(self, str(_index(index, len(self), "ModuleList")), module)  # (as Sequential's)

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
        if not isinstance(modules, Iterable):
            raise TypeError("ModuleList.extend should be called with an iterable, but got "
                            + type(modules).__name__)
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index``, as PyTorch's does: the modules from
        ``index`` on move up one name; a negative ``index`` raises KeyError (PyTorch's, after
        moving the names above 0) and one past the end adds the name ``str(index)``."""
        if not isinstance(module, Module):  # (PyTorch stores it, and the list breaks)
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        modules = self._modules
        for i in range(len(modules), index, -1):
            modules[str(i)] = modules[str(i - 1)]
        modules[str(index)] = module


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
        if not isinstance(modules, Iterable):
            raise TypeError("ModuleDict.update should be called with an iterable of key/value "
                            f"pairs, but got {type(modules).__name__}")
        if isinstance(modules, (Mapping, ModuleDict)):
            for key, module in modules.items():
                self[key] = module
            return
        for j, pair in enumerate(modules):  # (PyTorch's checks and words)
            if not isinstance(pair, Iterable):
                raise TypeError(f"ModuleDict update sequence element #{j} should be Iterable; "
                                f"is{type(pair).__name__}")
            if len(pair) != 2:
                raise ValueError(f"ModuleDict update sequence element #{j} has length "
                                 f"{len(pair)}; 2 is required")
            self[pair[0]] = pair[1]


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
        # As PyTorch's: setattr under the name, a tensor made a Parameter, so a parameter goes
        # through register_parameter (accelerate's init_empty_weights patches it to put each
        # new parameter on the meta device) and an object over a parameter is its TypeError.
        setattr(self, str(index), _as_parameter(value))

    def _get(self, index: int):
        key = str(index)
        return self._parameters[key] if key in self._parameters else self.__dict__[key]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ParameterList([self._get(i) for i in range(self._size)[index]])
        index = operator.index(index)  # (a float is PyTorch's TypeError)
        if not -self._size <= index < self._size:
            raise IndexError(f"index {index} is out of range")
        return self._get(index % self._size)

    def __setitem__(self, index: int, value) -> None:
        index = operator.index(index)
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

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterList should not be called.")  # (PyTorch's error)


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
        # The keys in order (PyTorch's ``_keys``); each value is the attribute of its name: a
        # Parameter (a tensor made one), or any other object, stored as a plain attribute.
        object.__setattr__(self, "_keys", {})
        if parameters is not None:
            self.update(parameters)

    @staticmethod
    def _key(key) -> str:
        if not isinstance(key, str):
            raise TypeError(f"Index given to ParameterDict cannot be used as a key as it is not a "
                            f"string (type is '{type(key).__name__}'). Open an issue on github if "
                            "you need non-string keys.")
        return key

    def __getitem__(self, key: str):
        # (an attribute read, as PyTorch's: a missing key is its AttributeError)
        return getattr(self, self._key(key))

    def __setitem__(self, key: str, value) -> None:
        # As PyTorch: the key is listed first (a refused one stays listed), and the value is set
        # as the attribute, a tensor made a Parameter: through register_parameter, which
        # accelerate's init_empty_weights patches to put each new parameter on the meta device
        # (peft's low_cpu_mem_usage adapters: IA3's ParameterDict missed it) and which refuses
        # a key naming another attribute ("keys", "forward": KeyError "attribute 'keys' already
        # exists") or holding a dot.
        self._keys[key] = None
        setattr(self, self._key(key), _as_parameter(value))

    def __delitem__(self, key: str) -> None:
        self._keys.pop(key)
        delattr(self, self._key(key))

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __contains__(self, key) -> bool:
        return key in self._keys

    def keys(self):
        return self._keys.keys()

    def values(self):
        return (self[key] for key in self._keys)

    def items(self):
        return ((key, self[key]) for key in self._keys)

    def get(self, key: str, default=None):
        return self[key] if key in self else default

    def pop(self, key: str):
        """Remove ``key`` and return its value (a missing key: AttributeError, from the
        lookup, as PyTorch's)."""
        value = self[key]
        del self[key]
        return value

    def clear(self) -> None:
        for key in list(self._keys):
            del self[key]

    def copy(self) -> ParameterDict:
        """A new ParameterDict holding the same values."""
        return ParameterDict(OrderedDict((key, self[key]) for key in self._keys))

    def setdefault(self, key: str, default=None):
        """The value under ``key``, set to ``default`` (made a Parameter) first if absent."""
        if key not in self:
            self[key] = default
        return self[key]

    def popitem(self) -> tuple:
        """Remove and return the last inserted ``(key, value)`` pair."""
        if not self._keys:
            raise KeyError("popitem(): dictionary is empty")
        key = next(reversed(self._keys))
        value = self[key]
        del self[key]
        return key, value

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
        return reversed(list(self._keys))

    def update(self, parameters: Mapping | Iterable) -> None:
        """Add (or replace) entries from a mapping or an iterable of ``(key, value)`` pairs.
        A plain (unordered) mapping is added in sorted key order, as PyTorch does; an
        OrderedDict, a ParameterDict or a sequence of pairs keeps its order."""
        if not isinstance(parameters, Iterable):
            raise TypeError("ParametersDict.update should be called with an iterable of "
                            f"key/value pairs, but got {type(parameters).__name__}")
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            pairs = parameters.items()
        elif isinstance(parameters, Mapping):
            pairs = sorted(parameters.items())
        else:
            pairs = parameters
        for j, pair in enumerate(pairs):
            if not isinstance(pair, Iterable):
                raise TypeError(f"ParameterDict update sequence element #{j} should be Iterable; "
                                f"is{type(pair).__name__}")  # (PyTorch's words, no space)
            if len(pair) != 2:
                raise ValueError(f"ParameterDict update sequence element #{j} has length "
                                 f"{len(pair)}; 2 is required")
            self[pair[0]] = pair[1]

    def extra_repr(self) -> str:
        return "\n".join(f"  ({key}): {_describe(value, legacy=True)}"
                         for key, value in self.items())

    def __call__(self, input):
        raise RuntimeError("ParameterDict should not be called.")  # (PyTorch's error)
