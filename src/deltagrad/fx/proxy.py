"""``torch.fx.proxy``: the values symbolic tracing passes through a program (``Proxy``), which
record every operation done with them as a Node of the tracer's graph, and the tracer's base
(``TracerBase``: making nodes and turning arguments into graph values)."""

from __future__ import annotations

import dis
import inspect
import operator
import sys
from collections.abc import Callable, Iterator
from typing import Any

from .graph import Graph, magic_methods, reflectable_magic_methods
from .node import Argument, Node, Target

__all__ = ["Attribute", "GraphAppendingTracer", "ParameterProxy", "Proxy", "TraceError",
           "TracerBase"]


class TraceError(ValueError):
    """A traced program used a traced value where a concrete one is needed (``if x:``,
    ``for v in x``)."""


class TracerBase:
    """What a Proxy needs from its tracer: the graph, node and proxy making, and the
    conversion of arguments (Proxies become their Nodes)."""

    graph: Graph
    record_stack_traces: bool = False
    check_mutable_operations: bool = False
    trace_asserts: bool = False
    proxy_buffer_attributes: bool = False
    traced_func_name: str = "forward"
    scope: Any = None
    module_stack: dict

    def create_node(self, kind: str, target: Target, args: tuple, kwargs: dict,
                    name: str | None = None, type_expr: Any = None) -> Node:
        """A node of this tracer's graph (subclasses hook node making here)."""
        return self.graph.create_node(kind, target, args, kwargs, name, type_expr)

    def proxy(self, node: Node) -> Proxy:
        """The Proxy that stands for ``node``'s value."""
        return Proxy(node, self)

    def create_proxy(self, kind: str, target: Target, args: tuple, kwargs: dict,
                     name: str | None = None, type_expr: Any = None,
                     proxy_factory_fn: Callable[[Node], Proxy] | None = None) -> Proxy:
        """Record one operation: its arguments through ``create_arg``, a node, its Proxy."""
        args_ = self.create_arg(args)
        kwargs_ = self.create_arg(kwargs)
        if not isinstance(args_, tuple) or not isinstance(kwargs_, dict):
            raise TypeError("fx.create_proxy: args must be a tuple and kwargs a dict")
        node = self.create_node(kind, target, args_, kwargs_, name, type_expr)
        return self.proxy(node) if proxy_factory_fn is None else proxy_factory_fn(node)

    def create_arg(self, a: Any) -> Argument:
        """``a`` as a graph argument: Proxies become their Nodes, containers are walked,
        base values (numbers, strings, None, slices, dtypes, devices) stay.

        Raises:
            NotImplementedError: for values a graph cannot hold.
        """
        import deltagrad

        if isinstance(a, Proxy):
            return a.node
        if isinstance(a, Node):
            return a
        kind = type(a)
        if isinstance(a, tuple) and hasattr(a, "_fields"):
            return kind(*(self.create_arg(x) for x in a))
        if kind in (tuple, list):
            return kind(self.create_arg(x) for x in a)
        if isinstance(a, dict):
            made = {}
            for key, value in a.items():
                key = self.create_arg(key)
                if isinstance(key, Node):
                    raise RuntimeError("fx: keys of dict arguments cannot be traced values "
                                       f"(got {key})")
                made[key] = self.create_arg(value)
            return made
        if isinstance(a, slice):
            return slice(self.create_arg(a.start), self.create_arg(a.stop),
                         self.create_arg(a.step))
        if isinstance(a, range):
            return range(self.create_arg(a.start), self.create_arg(a.stop),
                         self.create_arg(a.step))
        if a is None or a is Ellipsis or kind in _BASE_TYPES or isinstance(
                a, (deltagrad.dtype, deltagrad.device, deltagrad.memory_format,
                    deltagrad.layout)):
            return a
        raise NotImplementedError(f"argument of type: {type(a)}")

    def to_bool(self, obj: Proxy) -> bool:
        """A traced value used as a condition: refused (its value is not known)."""
        raise TraceError("symbolically traced variables cannot be used as inputs to control "
                         "flow")

    def iter(self, obj: Proxy) -> Iterator:
        """A traced value iterated: refused (its length is not known)."""
        raise TraceError("Proxy object cannot be iterated. This can be attempted when the "
                         "Proxy is used in a loop or as a *args or **kwargs function argument. "
                         "See the torch.fx docs on pytorch.org for a more detailed explanation "
                         "of what types of control flow can be traced, and check out the Proxy "
                         "docstring for help troubleshooting Proxy iteration errors")

    def keys(self, obj: Proxy) -> Any:
        """``**proxy``: the keys of a traced mapping (recorded as a ``keys`` call)."""
        return Attribute(obj, "keys")()


_BASE_TYPES = frozenset({int, float, bool, complex, str, bytes, type(None)})
_ARMED = [False]


def _arm_dispatch() -> None:
    """Put deltagrad's dispatching wrappers in place for good once a Proxy exists outside a
    trace (e3nn builds graphs by calling ``torch.einsum`` on Proxies it makes itself); a trace
    needs nothing (its function mode sees every call). Programs that never make a Proxy
    outside a trace pay nothing; the others pay what a Tensor subclass with
    ``__torch_function__`` costs (about 0.4 us a call, deltagrad.overrides)."""
    from . import _symbolic_trace

    if _symbolic_trace.is_fx_tracing():  # (a Transformer's run counts: see interpreter.py)
        return
    from .. import overrides

    _ARMED[0] = True
    overrides._arm(Proxy)


class Proxy:
    """A value during symbolic tracing: what is done with it (operators, methods, attribute
    reads, ``deltagrad`` functions through ``__torch_function__``) is recorded as nodes of
    its tracer's graph, and each result is a new Proxy. ``isinstance(x, fx.Proxy)`` is how a
    program asks whether it is being traced.

    Using a Proxy as a condition (``if x.sum() > 0``) or iterating one of unknown length
    raises ``TraceError``; ``len(x)`` raises RuntimeError (``fx.wrap("len")`` records it).
    """

    def __init__(self, node: Node, tracer: TracerBase | None = None) -> None:
        if tracer is None:
            tracer = GraphAppendingTracer(node.graph)
        self.tracer = tracer
        self.node = node
        if not _ARMED[0]:
            _arm_dispatch()

    def __repr__(self) -> str:
        return f"Proxy({self.node.name})"

    def __getattr__(self, k: str) -> Attribute:
        if k.startswith("__") and k.endswith("__"):  # (copy / pickle probing for protocols)
            raise AttributeError(k)
        return Attribute(self, k)

    def __getstate__(self) -> dict:
        return self.__dict__

    def __setstate__(self, state: dict) -> None:
        self.__dict__ = state

    def __deepcopy__(self, memo) -> Proxy:
        import copy

        copied = object.__new__(type(self))
        memo[id(self)] = copied
        for key, value in self.__dict__.items():
            setattr(copied, key, value if key in ("tracer", "node") else copy.deepcopy(value,
                                                                                       memo))
        return copied

    def __call__(self, *args, **kwargs) -> Proxy:
        return self.tracer.create_proxy("call_method", "__call__", (self, *args), kwargs)

    def __iter__(self) -> Iterator:
        # ``a, b = proxy`` unpacks into as many getitems as the caller's bytecode asks for
        frame = sys._getframe(1)
        instructions = list(dis.get_instructions(frame.f_code))
        at = next((i for i, inst in enumerate(instructions) if inst.offset >= frame.f_lasti),
                  None)
        if at is not None and instructions[at].opname == "UNPACK_SEQUENCE":
            return (self[i] for i in range(instructions[at].argval))
        return self.tracer.iter(self)

    def __bool__(self) -> bool:
        return self.tracer.to_bool(self)

    def keys(self):
        """``proxy.keys()`` (and ``**proxy``): recorded as a ``keys`` call."""
        return self.tracer.keys(self)

    def __len__(self) -> int:
        raise RuntimeError("'len' is not supported in symbolic tracing by default. If you want "
                           "this call to be recorded, please call torch.fx.wrap('len') at "
                           "module scope")

    def __abs__(self) -> Proxy:
        return self.tracer.create_proxy("call_function", operator.abs, (self,), {})

    @classmethod
    def __torch_function__(cls, orig_method, types, args=(), kwargs=None):
        """A deltagrad function given a Proxy: recorded as ``call_function`` (or
        ``call_method`` for a Tensor method) on the Proxies' tracer."""
        tracer = _find_tracer((args, kwargs or {}))
        if tracer is None:
            return NotImplemented
        return record_call(tracer, orig_method, args, kwargs or {})


def _find_tracer(values) -> TracerBase | None:
    found: list = []

    def look(x):
        if isinstance(x, Proxy):
            found.append(x.tracer)
        return x

    from .node import map_aggregate

    map_aggregate(values, look)
    return found[0] if found else None


def has_proxy(values) -> bool:
    """Whether ``values`` (nested tuples, lists, dicts) hold a Proxy."""
    return _find_tracer(values) is not None


def _tensor_method_name(func) -> str | None:
    """The name of ``func`` when it is one of Tensor's methods (as function modes pass them),
    else None."""
    from .._engine import subclassing
    from .._engine.tensor import Tensor

    name = getattr(func, "__name__", None)
    if not isinstance(name, str):
        return None
    if subclassing._SWAPPED.get(name) is func or vars(Tensor).get(name) is func:
        return name
    for base in Tensor.__mro__[1:]:
        if vars(base).get(name) is func:
            return name
    return None


def record_call(tracer: TracerBase, func, args, kwargs) -> Proxy:
    """``func(*args, **kwargs)`` with Proxies among the arguments, as a node: a Tensor method
    given a real tensor first becomes ``call_method`` (``buffer + x`` records
    ``buffer.add(x)``, as PyTorch), anything else ``call_function`` of the public function."""
    from .. import overrides
    from .._engine.tensor import Tensor

    method = _tensor_method_name(func)
    if method is not None and args and isinstance(args[0], Tensor):
        return tracer.create_proxy("call_method", method, tuple(args), kwargs)
    if not overrides._ARMED["for_good"]:
        func = overrides._ORIGINAL.get(id(func), func)
    args, kwargs = _spelled_like_pytorch(func, tuple(args), kwargs)
    return tracer.create_proxy("call_function", func, args, kwargs)


# nn.functional's functions that PyTorch writes in Python: when they dispatch they pass their
# parameters without defaults by position and every other one by keyword, defaults spelled out
# (``F.relu(x)`` reaches the tracer as ``relu(x, inplace=False)``). Graphs record them so, as
# PyTorch's do. (Those PyTorch binds in C++, F.linear or F.conv2d, record the call as written.)
_SPELLED = frozenset({
    "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices", "affine_grid",
    "alpha_dropout", "batch_norm", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "celu", "cosine_embedding_loss", "cross_entropy", "ctc_loss", "dropout", "dropout1d",
    "dropout2d", "dropout3d", "elu", "embedding", "embedding_bag", "feature_alpha_dropout",
    "fold", "fractional_max_pool2d_with_indices", "fractional_max_pool3d_with_indices",
    "gaussian_nll_loss", "glu", "grid_sample", "group_norm", "gumbel_softmax", "hardsigmoid",
    "hardswish", "hardtanh", "hinge_embedding_loss", "huber_loss", "instance_norm",
    "interpolate", "kl_div", "l1_loss", "layer_norm", "leaky_relu", "linear_cross_entropy",
    "local_response_norm", "log_softmax", "lp_pool1d", "lp_pool2d", "lp_pool3d",
    "margin_ranking_loss", "max_pool1d_with_indices", "max_pool2d_with_indices",
    "max_pool3d_with_indices", "max_unpool1d", "max_unpool2d", "max_unpool3d", "mish",
    "mse_loss", "multi_head_attention_forward", "multi_margin_loss", "multilabel_margin_loss",
    "multilabel_soft_margin_loss", "nll_loss", "normalize", "pad", "poisson_nll_loss", "relu",
    "relu6", "rms_norm", "rrelu", "selu", "silu", "smooth_l1_loss", "soft_margin_loss",
    "softmax", "softmin", "softsign", "tanhshrink", "triplet_margin_loss",
    "triplet_margin_with_distance_loss", "unfold",
    # (the pools PyTorch picks a variant of by return_indices: recorded under their own names)
    "max_pool1d", "max_pool2d", "max_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "adaptive_max_pool3d", "fractional_max_pool2d", "fractional_max_pool3d",
})
_SIGNATURES: dict = {}


def _spelled_like_pytorch(func, args: tuple, kwargs: dict) -> tuple:
    """``args`` / ``kwargs`` of a call of ``func`` as PyTorch's tracer sees them (see
    ``_SPELLED``); unchanged for other functions or calls that do not bind."""
    if getattr(func, "__name__", None) not in _SPELLED:
        return args, kwargs
    from .graph import in_namespace

    if not in_namespace(func, "deltagrad.nn.functional"):
        # (deltagrad.layer_norm and F.layer_norm are one function: spelled as F's, the common
        # spelling, where PyTorch records torch.layer_norm as written)
        return args, kwargs
    signature = _SIGNATURES.get(id(func))
    if signature is None:
        try:
            signature = _SIGNATURES[id(func)] = inspect.signature(func)
        except (TypeError, ValueError):
            return args, kwargs
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return args, kwargs
    bound.apply_defaults()
    positional: list = []
    keywords: dict = {}
    for name, param in signature.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            return args, kwargs
        if param.kind is param.KEYWORD_ONLY:  # (deltagrad's own extras: as passed)
            if name in kwargs:
                keywords[name] = kwargs[name]
        elif param.default is param.empty and not keywords:
            positional.append(bound.arguments[name])
        else:
            keywords[name] = bound.arguments[name]
    return tuple(positional), keywords


class Attribute(Proxy):
    """``proxy.name``: a method about to be called (recorded as ``call_method`` when called)
    or an attribute read (recorded as ``getattr`` the first time its value is used)."""

    def __init__(self, root: Proxy, attr: str) -> None:
        self.root = root
        self.attr = attr
        self.tracer = root.tracer
        self._node: Node | None = None

    @property
    def node(self) -> Node:
        if self._node is None:
            self._node = self.tracer.create_proxy("call_function", getattr,
                                                  (self.root, self.attr), {}).node
        return self._node

    def __call__(self, *args, **kwargs) -> Proxy:
        return self.tracer.create_proxy("call_method", self.attr, (self.root, *args), kwargs)


class ParameterProxy(Proxy):
    """A Proxy for a parameter of the traced module: its metadata (``shape``, ``dim()``,
    ``size()``, ``numel()``) is read from the real parameter rather than recorded."""

    def __init__(self, tracer: TracerBase, node: Node, name: str, param) -> None:
        super().__init__(node, tracer)
        self.param = param
        self.name = name

    def __repr__(self) -> str:
        return f"ParameterProxy({self.name})"

    @property
    def shape(self):
        return self.param.shape

    def size(self, dim=None):
        return self.param.size() if dim is None else self.param.size(dim)

    def dim(self) -> int:
        return self.param.dim()

    @property
    def ndim(self) -> int:
        return self.param.ndim

    def numel(self) -> int:
        return self.param.numel()

    def nelement(self) -> int:
        return self.param.nelement()


class GraphAppendingTracer(TracerBase):
    """The tracer of a Proxy made over a bare graph (``Proxy(graph.placeholder("x"))``)."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.module_stack = {}


def _magic(name: str, template: str) -> None:
    target = getattr(operator, name)

    def impl(*args):
        tracer = next(a.tracer for a in args if isinstance(a, Proxy))
        return tracer.create_proxy("call_function", target, args, {})

    impl.__name__ = f"__{name.rstrip('_')}__"
    setattr(Proxy, impl.__name__, impl)


def _reflected(name: str) -> None:
    target = getattr(operator, name)

    def impl(self, rhs):
        return self.tracer.create_proxy("call_function", target, (rhs, self), {})

    impl.__name__ = f"__r{name.rstrip('_')}__"
    setattr(Proxy, impl.__name__, impl)


for _name, _template in magic_methods.items():
    if _name == "div":  # (Python 3 has no __div__; truediv covers /)
        continue
    _magic(_name, _template)
for _name in reflectable_magic_methods:
    if _name not in ("div", "getitem"):
        _reflected(_name)
# (defining __eq__ would otherwise make Proxies unhashable; nodes and dicts key by them)
Proxy.__hash__ = object.__hash__
