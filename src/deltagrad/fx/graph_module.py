"""``torch.fx.graph_module``: ``GraphModule``, a Module whose ``forward`` is Python code
generated from a Graph, holding the submodules, parameters and buffers the graph reads (the
same objects as the root module's, not copies)."""

from __future__ import annotations

import copy
import linecache
from typing import Any

from ..nn.module import Module
from .graph import Graph, PythonCode

__all__ = ["GraphModule"]

_USER_PRESERVED_ATTRIBUTES_KEY = "_user_preserved_attributes"
_SOURCE_COUNTER = [0]


def _exec_with_source(src: str, globals_: dict, name_hint: str) -> None:
    """``exec`` of generated code under a file name linecache knows, so that tracebacks
    and ``inspect.getsource`` show the generated lines."""
    _SOURCE_COUNTER[0] += 1
    filename = f"<eval_with_key>.{_SOURCE_COUNTER[0]} {name_hint}"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    exec(compile(src, filename, "exec"), globals_)


def _copy_attr(from_module: Module, to_module: Module, target: str) -> None:
    """Put ``from_module``'s attribute at the dotted path ``target`` on ``to_module`` (the
    same object), making empty Modules for the path's missing parents; a tensor that is no
    parameter becomes a buffer."""
    from .._engine.tensor import Tensor
    from ..nn.module import Parameter

    *prefix, field = target.split(".")
    for item in prefix:
        source = getattr(from_module, item)
        existing = getattr(to_module, item, None)
        if source is existing:  # (already the same submodule)
            return
        if existing is None:
            existing = Module()
            setattr(to_module, item, existing)
        from_module, to_module = source, existing
    original = getattr(from_module, field)
    if isinstance(original, Tensor) and not isinstance(original, Parameter) \
            and field not in to_module._parameters:
        to_module.register_buffer(field, original)
    else:
        setattr(to_module, field, original)


def _assign_attr(from_obj: Any, to_module: Module, target: str) -> None:
    """``to_module``'s attribute at the dotted path ``target`` set to ``from_obj``."""
    from .._engine.tensor import Tensor
    from ..nn.module import Parameter

    *prefix, field = target.split(".")
    for item in prefix:
        existing = getattr(to_module, item, None)
        if existing is None:
            existing = Module()
            setattr(to_module, item, existing)
        to_module = existing
    if isinstance(from_obj, Tensor) and not isinstance(from_obj, Parameter):
        to_module.register_buffer(field, from_obj)
    else:
        setattr(to_module, field, from_obj)


class _CodeOnlyModule(Module):
    """A Module made from a saved ``__dict__`` (deepcopy and unpickling rebuild from it)."""

    def __init__(self, body: dict) -> None:
        super().__init__()
        self.__dict__ = body


class GraphModule(Module):
    """A Module made from ``root`` (a Module, or a dict from qualified names to objects) and
    a Graph: it holds what the graph's ``get_attr`` / ``call_module`` nodes name (the same
    objects as ``root``'s, so parameters are shared) and its ``forward`` is the graph's code
    (``self.code``). Setting ``self.graph``, or ``recompile()`` after editing it, regenerates
    ``forward``.

    Each GraphModule gets a class of its own (named ``class_name``), so that its generated
    ``forward`` does not replace another one's.
    """

    def __new__(cls, *args, **kwargs):
        for base in cls.__mro__:
            if base.__qualname__.split(".")[-1] != "GraphModuleImpl":
                cls = base
                break

        class GraphModuleImpl(cls):  # (one class per instance: forward is set on it)
            pass

        return super().__new__(GraphModuleImpl)

    def __init__(self, root: Module | dict, graph: Graph, class_name: str = "GraphModule"
                 ) -> None:
        super().__init__()
        self.__class__.__name__ = class_name
        if isinstance(root, Module):
            if hasattr(root, "training"):
                self.training = root.training
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    if not isinstance(node.target, str):
                        raise TypeError(f"node.target should be a str, got {node.target!r}")
                    _copy_attr(root, self, node.target)
        elif isinstance(root, dict):
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    if node.target not in root:
                        raise RuntimeError(f"Node {node} referenced target {node.target} but "
                                           "that target was not provided in ``root``!")
                    _assign_attr(root[node.target], self, node.target)
        else:
            raise RuntimeError(f"Unsupported type {root} passed for root!")
        self.graph = graph
        self._tracer_cls = None
        tracer_cls = graph._tracer_cls
        if tracer_cls is not None and "<locals>" not in tracer_cls.__qualname__:
            self._tracer_cls = tracer_cls
        self._tracer_extras = graph._tracer_extras
        self.meta: dict = {}

    @property
    def graph(self) -> Graph:
        """The graph; setting it makes this module its owner and regenerates ``forward``."""
        return self._graph

    @graph.setter
    def graph(self, g: Graph) -> None:
        if not isinstance(g, Graph):
            raise TypeError(f"Expected a Graph instance, but got {type(g)}")
        self._graph = g
        g.owning_module = self
        self.recompile()

    @property
    def code(self) -> str:
        """The source of the generated ``forward``."""
        if not hasattr(self, "_code"):
            raise RuntimeError("Code has not been generated! Please report a bug to PyTorch")
        return self._code

    def recompile(self) -> PythonCode:
        """Regenerate ``forward`` from ``self.graph`` (after editing the graph)."""
        python_code = self._graph.python_code(root_module="self")
        self._code = python_code.src
        cls = type(self)
        _exec_with_source(self._code, python_code.globals, cls.__name__)
        cls.forward = python_code.globals["forward"]
        return python_code

    # ------------------------------------------------------------ submodules

    def add_submodule(self, target: str, m: Module) -> bool:
        """Install ``m`` at the dotted path ``target`` (making empty parents); False when a
        parent on the path is no Module."""
        *prefix, field = target.split(".")
        owner = self
        for item in prefix:
            child = getattr(owner, item, None)
            if child is None:
                child = Module()
                owner.add_module(item, child)
            if not isinstance(child, Module):
                return False
            owner = child
        owner.add_module(field, m)
        return True

    def delete_submodule(self, target: str) -> bool:
        """Remove the submodule at ``target``; False when there is none."""
        *prefix, field = target.split(".")
        owner = self
        for item in prefix:
            owner = getattr(owner, item, None)
            if not isinstance(owner, Module):
                return False
        if field not in owner._modules:
            return False
        delattr(owner, field)
        return True

    def delete_all_unused_submodules(self) -> None:
        """Remove the submodules no ``call_module`` / ``get_attr`` node reaches."""
        used: set = set()
        for node in self.graph.nodes:
            if node.op in ("call_module", "get_attr"):
                atoms = node.target.split(".")
                used.update(".".join(atoms[:i]) for i in range(1, len(atoms) + 1))
                if node.op == "call_module":
                    module = self.get_submodule(node.target)
                    used.update(f"{node.target}.{name}" for name, _ in module.named_modules()
                                if name)
        for name, _ in list(self.named_modules()):
            if name and name not in used:
                self.delete_submodule(name)

    # ------------------------------------------------------------ copies and printing

    def __deepcopy__(self, memo) -> GraphModule:
        result = type(self).__new__(type(self))
        memo[id(self)] = result
        body = copy.deepcopy(self.__dict__, memo)
        fake = _CodeOnlyModule(body)
        GraphModule.__init__(result, fake, body["_graph"], type(self).__name__)
        result.meta = copy.deepcopy(getattr(self, "meta", {}), memo)
        preserved = result.meta.get(_USER_PRESERVED_ATTRIBUTES_KEY, {})
        for name, value in preserved.items():
            setattr(result, name, value)
        return result

    def __copy__(self) -> GraphModule:
        result = GraphModule(self, self.graph, type(self).__name__)
        result.meta = getattr(self, "meta", {})
        return result

    def __reduce__(self):
        body = dict(self.__dict__)
        body.pop("_graph", None)
        return _rebuild, (body, self._graph, type(self).__name__)

    def print_readable(self, print_output: bool = True, **_: Any) -> str:
        """The generated code under a class header (printed unless ``print_output`` is
        False)."""
        text = f"class {type(self).__name__}(deltagrad.nn.Module):\n" + "\n".join(
            "    " + line if line else line for line in self.code.strip("\n").splitlines())
        if print_output:
            print(text)
        return text

    def __str__(self) -> str:
        return super().__str__() + "\n\n" + self.code

    def _replicate_for_data_parallel(self):
        return self.__copy__()


def _rebuild(body: dict, graph: Graph, class_name: str) -> GraphModule:
    fake = _CodeOnlyModule(body)
    return GraphModule(fake, graph, class_name)
