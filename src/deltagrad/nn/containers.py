"""Parameter containers: ParameterList and ParameterDict (PyTorch's names and behaviour)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping

from .._engine import Tensor
from .module import Module, Parameter

__all__ = ["ParameterDict", "ParameterList"]


def _as_parameter(value):
    # As PyTorch: a plain tensor becomes a Parameter (sharing its data); other values are kept
    # as they are (PyTorch allows them; they are simply not parameters).
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


# ParameterDict's repr names a parameter's type the legacy way (as torch.typename does).
_LEGACY_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                 "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                 "bool": "Bool"}


def _describe(value, legacy: bool = False) -> str:
    """A parameter's line in the containers' repr (PyTorch's wording, indented two spaces
    within the block as PyTorch's is)."""
    if isinstance(value, Tensor):
        size = "x".join(str(n) for n in value.shape)
        kind = value.dtype
        if legacy:
            short = str(value.dtype).rsplit(".", 1)[-1]
            kind = f"deltagrad.{_LEGACY_NAMES.get(short, short)}Tensor"
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
        if isinstance(value, Parameter) or value is None:
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
        # Written into the registry directly: keys may be any names, including ones that are
        # also method names (they are reached through [key], not as attributes).
        self._parameters[key] = value

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
