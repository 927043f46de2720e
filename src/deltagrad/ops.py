"""``torch.ops``: PyTorch's registry of operator overloads, as far as deltagrad can answer it.

Libraries name ATen overloads at import time (``aten = torch.ops.aten``, then
``@implements(aten.add.Tensor)`` to fill a dispatch table for their Tensor subclasses). Here those
names exist as hashable handles, so such modules import; calling one raises NotImplementedError
naming the overload, since deltagrad has no ATen dispatcher (call ``torch.<name>`` instead).
Namespaces other than ``aten`` hold custom C++ operators; deltagrad can load none, so every
operator in them is missing (AttributeError, as in PyTorch for an unregistered operator).
"""

from __future__ import annotations

import os

__all__ = ["LibraryLoadError", "OpOverload", "OpOverloadPacket", "aten", "load_library"]


class OpOverload:
    """One overload of an ATen operator (``torch.ops.aten.add.Tensor``): a name, not callable."""

    __slots__ = ("_packet", "_overload")

    def __init__(self, packet: OpOverloadPacket, overload: str) -> None:
        self._packet = packet
        self._overload = overload

    def name(self) -> str:
        """``'aten::add.Tensor'`` (``'aten::add'`` for the default overload), as PyTorch's."""
        suffix = "" if self._overload == "default" else "." + self._overload
        return f"aten::{self._packet._name}{suffix}"

    @property
    def overloadpacket(self) -> OpOverloadPacket:
        return self._packet

    def __call__(self, *args, **kwargs):
        raise NotImplementedError(
            f"torch.ops.aten.{self._packet._name}.{self._overload}: deltagrad has no ATen "
            f"operator dispatch; call the public function (torch.{self._packet._name}) instead")

    def __eq__(self, other) -> bool:
        return (isinstance(other, OpOverload) and other._packet == self._packet
                and other._overload == self._overload)

    def __hash__(self) -> int:
        return hash((self._packet._name, self._overload))

    def __repr__(self) -> str:
        return f"<OpOverload(op='aten.{self._packet._name}', overload='{self._overload}')>"


class OpOverloadPacket:
    """An ATen operator with all its overloads (``torch.ops.aten.add``); its attributes are the
    overloads (``.default``, ``.Tensor``, ``.Scalar``, ...)."""

    __slots__ = ("_name", "_overloads")

    def __init__(self, name: str) -> None:
        self._name = name
        self._overloads: dict[str, OpOverload] = {}

    def __getattr__(self, overload: str) -> OpOverload:
        if overload.startswith("__"):
            raise AttributeError(overload)
        found = self._overloads.get(overload)
        if found is None:
            found = self._overloads[overload] = OpOverload(self, overload)
        return found

    def __call__(self, *args, **kwargs):
        return self.default(*args, **kwargs)

    def overloads(self) -> list[str]:
        """ATen's overload names of this operator, for the operators whose forms libraries probe
        before choosing a path (timm's optimizers: ``'Scalar' in aten._foreach_maximum_
        .overloads()``); deltagrad's public function accepts every form listed."""
        known = _OVERLOADS.get(self._name)
        if known is None:
            raise NotImplementedError(
                f"torch.ops.aten.{self._name}.overloads(): deltagrad does not list the ATen "
                "overloads of this operator")
        return list(known)

    def __eq__(self, other) -> bool:
        return isinstance(other, OpOverloadPacket) and other._name == self._name

    def __hash__(self) -> int:
        return hash(self._name)

    def __repr__(self) -> str:
        return f"<OpOverloadPacket(op='aten.{self._name}')>"


_BINARY_OUT = ["Scalar", "Scalar_out", "List", "List_out", "ScalarList", "ScalarList_out",
               "Tensor", "Tensor_out"]
# As PyTorch 2.13 lists them (checked: tests/programs/test_s10_T25_fixes.py).
_OVERLOADS: dict[str, list[str]] = {
    "_foreach_maximum_": ["Scalar", "List", "ScalarList"],
    "_foreach_add_": ["Scalar", "List", "ScalarList", "Tensor"],
    "_foreach_mul_": ["Scalar", "List", "ScalarList", "Tensor"],
    "_foreach_add": _BINARY_OUT,
    "_foreach_div": _BINARY_OUT,
}


class _OpNamespace:
    """``torch.ops.<namespace>``: ``aten`` answers every operator name; the others hold custom
    operators, none of which deltagrad can have."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._packets: dict[str, OpOverloadPacket] = {}

    def __getattr__(self, op: str) -> OpOverloadPacket:
        if op.startswith("__") or self.name != "aten":
            raise AttributeError(f"'_OpNamespace' '{self.name}' object has no attribute "
                                 f"'{op}': deltagrad has no custom operators")
        packet = self._packets.get(op)
        if packet is None:
            packet = self._packets[op] = OpOverloadPacket(op)
        return packet

    def __repr__(self) -> str:
        return f"torch.ops.{self.name}"


aten = _OpNamespace("aten")
_NAMESPACES: dict[str, _OpNamespace] = {"aten": aten}


class LibraryLoadError(OSError, NotImplementedError):
    """A compiled operator library deltagrad cannot load: an OSError, as PyTorch's failed load
    (libraries such as torchvision catch that and carry on without their C++ ops)."""


# namespace -> path of a compiled library that failed to load: the package folder holding it
# ('torchvision' for .../torchvision/_C.so), where its operators would have been registered.
_UNLOADED: dict[str, str] = {}


def load_library(path: str) -> None:
    """Raises LibraryLoadError: deltagrad runs on NumPy and cannot load compiled PyTorch
    operator libraries. The library's namespace is remembered, so that the Python-side
    registrations of its operators (``torch.library.register_fake``) still import and calling
    one of them raises NotImplementedError naming it (deltagrad.library)."""
    folder = os.path.basename(os.path.dirname(os.path.abspath(str(path))))
    _UNLOADED.setdefault(folder, str(path))
    raise LibraryLoadError(f"torch.ops.load_library({path!r}): deltagrad cannot load "
                           "compiled PyTorch operator libraries")


def namespace_of(name: str) -> _OpNamespace:
    """The ``torch.ops.<name>`` namespace, made on first use (``torch.library`` registers
    custom ops in it, whatever its name: diffusers uses ``_diffusers_flash_attn_3``)."""
    namespace = _NAMESPACES.get(name)
    if namespace is None:
        namespace = _NAMESPACES[name] = _OpNamespace(name)
    return namespace


def __getattr__(name: str) -> _OpNamespace:
    # (tools probe modules for hooks: pytest reads `pytest_plugins`, others `_*` names; a
    # namespace already made, as a custom op's, is found whatever its name)
    if name not in _NAMESPACES and (name.startswith("_") or name.startswith("pytest")):
        raise AttributeError(f"module 'deltagrad.ops' has no attribute {name!r}")
    return namespace_of(name)
