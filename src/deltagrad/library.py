"""``torch.library``'s Python custom operators: ``custom_op``, ``register_fake``,
``register_autograd``; a custom op is also ``torch.ops.<namespace>.<name>`` (deltagrad.ops).

deltagrad runs eagerly, so a custom op is its Python function: calling it (or
``ops.<namespace>.<name>``) runs the function; ``register_autograd`` routes calls through an
``autograd.Function`` so its backward is the registered one; ``register_fake`` records the fake
(meta) implementation, which only tracing compilers call (deltagrad has none). ``Library`` and
schema-string registration of C++ kernels are not supported and raise saying so.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterable
from typing import Any

from . import ops
from ._engine.tensor import Tensor
from ._library_schema import infer_schema  # noqa: F401 - torch.library.infer_schema

__all__ = ["CustomOpDef", "Library", "custom_op", "define", "impl", "impl_abstract",
           "infer_schema", "register_autograd", "register_fake", "register_kernel"]


class CustomOpDef:
    """A registered custom op: call it like the function it wraps."""

    def __init__(self, qualname: str, function: Callable, mutates_args) -> None:
        self._qualname = qualname
        self._function = function
        self._mutates_args = mutates_args
        self._fake: Callable | None = None
        self._autograd: type | None = None
        self._vmap: Callable | None = None
        self.__name__ = qualname.split("::")[-1]
        self.__doc__ = function.__doc__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._autograd is not None:
            if kwargs or len(args) < self._arity or self._keywords:
                # (autograd.Function.apply takes positional inputs; PyTorch hands
                # setup_context every schema argument in order, defaults filled in)
                try:
                    bound = self._signature.bind(*args, **kwargs)
                except TypeError as exc:  # (PyTorch's schema check: a RuntimeError)
                    raise RuntimeError(f"{self._qualname}(): {exc}") from None
                bound.apply_defaults()
                args = tuple(bound.arguments.values())
            # Tensor[] arguments go in element by element, so their tensors are recorded
            self._call_layout = [len(a) if _holds_tensors(a) else None for a in args]
            flat = [v for a in args for v in (a if _holds_tensors(a) else (a,))]
            outputs = self._autograd.apply(*flat)
            spec = self._last_output
            return _rebuild(spec, iter(outputs if isinstance(outputs, tuple) else (outputs,)))
        return self._function(*args, **kwargs)

    def register_fake(self, fn: Callable) -> Callable:
        """Records the fake (meta) implementation; deltagrad never traces, so never calls it."""
        self._fake = fn
        return fn

    @property
    def _opoverload(self) -> CustomOpDef:
        """The op's one overload (``torch.ops.<ns>.<name>.default``): the op itself."""
        return self

    default = _opoverload

    def register_vmap(self, func: Callable | None = None) -> Callable:
        """Records ``func(info, in_dims, *args)`` as the op's vmap rule; deltagrad's vmap loops
        over the mapped dimension and calls the op itself, so never calls it."""
        def record(function: Callable) -> Callable:
            self._vmap = function
            return function
        return record if func is None else record(func)

    def register_autograd(self, backward: Callable, *, setup_context: Callable | None = None
                          ) -> None:
        """Makes ``backward(ctx, *grads)`` the op's gradient; ``setup_context(ctx, inputs,
        output)`` saves what it needs."""
        from .autograd.function import Function

        function = self._function
        self._signature = inspect.signature(function)
        self._arity = len(self._signature.parameters)
        # Keyword-only arguments travel through Function.apply after the positional ones;
        # setup_context sees them as PyTorch's does (a dict, when it takes four arguments)
        # and backward gives no gradient for them.
        keywords = [p.name for p in self._signature.parameters.values()
                    if p.kind is p.KEYWORD_ONLY]
        places = self._arity - len(keywords)
        self._keywords = keywords
        four = setup_context is not None and \
            len(inspect.signature(setup_context).parameters) == 4

        def forward(*flat):
            args, layout = _regroup(flat, self._call_layout), self._call_layout
            # (the current kernel: impl may replace it)
            result = self._function(*args[:places], **dict(zip(keywords, args[places:])))
            tensors: list = []
            self._last_output = spec = _flatten(result, tensors)
            self._last_result = (result, layout, spec)
            return tensors[0] if spec == _TENSOR else tuple(tensors)

        def context(ctx, inputs, output):
            result, layout, ctx._custom_output = self._last_result
            ctx._custom_layout = layout
            inputs = _regroup(inputs, layout)
            with _per_argument_needs(ctx, layout):
                if setup_context is not None and four:
                    setup_context(ctx, inputs[:places], dict(zip(keywords, inputs[places:])),
                                  result)
                elif setup_context is not None:
                    setup_context(ctx, inputs[:places] if keywords else inputs, result)

        given = backward

        def backward(ctx, *grads):
            grads = _rebuild(ctx._custom_output, iter(grads), none_for_values=True)
            # (one gradient per output: a tuple result's parts, else the whole)
            with _per_argument_needs(ctx, ctx._custom_layout):
                found = given(ctx, *(grads if ctx._custom_output[:2] == ("seq", tuple)
                                     else (grads,)))
            found = (*(found if isinstance(found, tuple) else (found,)),
                     *[None] * len(keywords))
            flat = []
            for grad, n in zip(found, ctx._custom_layout):
                flat.extend((grad,) if n is None else
                            (grad if grad is not None else [None] * n))
            return tuple(flat)

        self._autograd = type(self.__name__, (Function,), {
            "__module__": getattr(function, "__module__", None) or "custom_op",
            "forward": staticmethod(forward),
            "setup_context": staticmethod(context),
            "backward": staticmethod(backward),
        })

    def __repr__(self) -> str:
        return f"<CustomOpDef({self._qualname})>"


# A custom op's arguments and results as autograd.Function sees them: Tensor[] arguments
# element by element, results flattened to their tensors and rebuilt after (lists, tuples,
# non-tensor parts such as numpy_split_copy_with_int's count).
_TENSOR = ("tensor",)


def _holds_tensors(value) -> bool:
    return isinstance(value, (list, tuple)) and any(isinstance(v, Tensor) for v in value)


def _flatten(value, tensors: list) -> tuple:
    if isinstance(value, Tensor):
        tensors.append(value)
        return _TENSOR
    if isinstance(value, (list, tuple)):
        return ("seq", type(value), [_flatten(v, tensors) for v in value])
    return ("value", value)


def _rebuild(spec: tuple, tensors, none_for_values: bool = False):
    if spec == _TENSOR:
        return next(tensors)
    if spec[0] == "seq":
        return spec[1](_rebuild(part, tensors, none_for_values) for part in spec[2])
    return None if none_for_values else spec[1]


def _regroup(flat, layout) -> tuple:
    grouped, at = [], 0
    for n in layout:
        grouped.append(flat[at] if n is None else list(flat[at:at + n]))
        at += 1 if n is None else n
    return tuple(grouped)


@contextlib.contextmanager
def _per_argument_needs(ctx, layout):
    """``ctx.needs_input_grad`` per schema argument (a Tensor[] one: any of its tensors), as
    PyTorch's, while the op's own setup_context / backward run; the Function's flat one
    after."""
    flat = ctx.needs_input_grad
    if all(n is None for n in layout):
        yield
        return
    needs = iter(flat)
    grouped = [next(needs) if n is None else any([next(needs) for _ in range(n)])
               for n in layout]
    ctx.needs_input_grad = tuple(grouped)
    try:
        yield
    finally:
        ctx.needs_input_grad = flat


def _unloaded_kernel(qualname: str, library: str) -> Callable:
    def kernel(*args, **kwargs):
        raise NotImplementedError(
            f"torch.ops.{qualname.replace('::', '.')}: a C++ operator of {library}, which "
            "deltagrad cannot load (it has no libtorch); it is not supported")
    return kernel


def _lookup(op) -> CustomOpDef:
    if isinstance(op, CustomOpDef):
        return op
    if isinstance(op, str) and "::" in op:
        namespace, name = op.split("::", 1)
        found = vars(ops.namespace_of(namespace)).get(name)
        if isinstance(found, CustomOpDef):
            return found
        library = ops._UNLOADED.get(namespace)
        if library is not None:
            # The op belongs to a compiled library deltagrad could not load (torchvision's
            # meta registrations run even without their C++ ops): a stand-in that says so.
            made = CustomOpDef(op, _unloaded_kernel(op, library), mutates_args=())
            vars(ops.namespace_of(namespace))[name] = made
            return made
        raise RuntimeError(f"no custom op {op!r} is registered (define it with "
                           "torch.library.custom_op first)")
    raise NotImplementedError(f"{op!r}: deltagrad registers only its own custom ops "
                              "(defined with torch.library.custom_op), not ATen operators")


def custom_op(name: str, fn: Callable | None = None, /, *, mutates_args: Iterable[str] | str,
              device_types=None, schema: str | None = None):
    """Registers ``fn`` as the custom op ``"namespace::name"`` (also reachable as
    ``ops.namespace.name``); used bare with ``fn`` or as a decorator.

    Args:
        name: ``"namespace::name"``.
        fn: the implementation (Tensors in, Tensors out).
        mutates_args: names of the arguments it changes in place (recorded, as PyTorch needs
            them declared; deltagrad does not check).
        device_types, schema: accepted; deltagrad runs every op on the CPU from Python.

    Returns:
        The ``CustomOpDef`` (or a decorator making one).
    """
    if "::" not in name:
        raise ValueError(f"custom_op(name={name!r}): the name must be 'namespace::name'")

    def define(function: Callable) -> CustomOpDef:
        namespace, opname = name.split("::", 1)
        # The op becomes an attribute of its torch.ops namespace object (found before the
        # namespace's __getattr__, which answers unregistered names).
        table = vars(ops.namespace_of(namespace))
        if isinstance(table.get(opname), CustomOpDef):
            raise RuntimeError(f"custom op {name!r} is already registered")
        table[opname] = made = CustomOpDef(name, function, mutates_args)
        return made

    return define if fn is None else define(fn)


def register_fake(op, func: Callable | None = None, /, *, lib=None, _stacklevel: int = 1):
    """Records ``func`` as ``op``'s fake (meta) implementation (deltagrad never calls it)."""
    target = _lookup(op)
    if func is None:
        return target.register_fake
    return target.register_fake(func)


def register_autograd(op, backward: Callable, /, *, setup_context: Callable | None = None,
                      lib=None) -> None:
    """Makes ``backward`` the gradient of the custom op ``op`` (a name or a ``CustomOpDef``)."""
    _lookup(op).register_autograd(backward, setup_context=setup_context)


class Library:
    """``torch.library.Library("ns", "DEF" / "FRAGMENT" / "IMPL")``: ``define`` declares ops of
    its own namespace from schema strings and ``impl`` gives them Python kernels (as the
    module-level ``define`` / ``impl``). ATen's namespaces hold deltagrad's built-in ops,
    which cannot be overridden: a Library of one raises."""

    def __init__(self, ns: str, kind: str, dispatch_key: str = "") -> None:
        if kind not in ("DEF", "FRAGMENT", "IMPL"):
            raise ValueError(f"Unsupported kind: {kind}")
        if ns in ("aten", "prim", "prims"):
            raise NotImplementedError(
                f"torch.library.Library({ns!r}, {kind!r}): registering kernels for ATen "
                "operators is not supported by deltagrad (its built-in ops are Python)")
        self.ns, self.kind, self.dispatch_key = ns, kind, dispatch_key

    def define(self, schema: str, alias_analysis: str = "", *, tags=()) -> str:
        """Declares ``name(args) -> results`` in this library's namespace; its name."""
        name, paren, rest = schema.partition("(")
        qualname = f"{self.ns}::{name.strip()}"
        define(qualname, paren + rest, lib=self, tags=tags)
        return name.strip()

    def impl(self, op_name, fn: Callable, dispatch_key: str = "", *, with_keyset=False):
        """``fn`` as the kernel of ``op_name`` (a name in this namespace or ``"ns::name"``)
        for ``dispatch_key`` (this library's when left out)."""
        key = dispatch_key or self.dispatch_key or None
        if key is not None and str(key).lower() not in _CPU_KEYS:
            return  # (a kernel for a device or tracer deltagrad does not have: Meta, CUDA)
        if not isinstance(op_name, str):  # (an op object: a custom op or an overload)
            op_name = getattr(op_name, "_qualname", None) or op_name.name()
        qualname = op_name if "::" in op_name else f"{self.ns}::{op_name}"
        _set_kernel(qualname, key, fn)

    def _destroy(self) -> None:
        """PyTorch removes the library's registrations; deltagrad's ops stay (a no-op)."""


# ---------------------------------------------------------------- schema-string registration
# (define + impl: PyTorch's older API; the kernel that runs on the CPU is the op's function)

_CPU_KEYS = {"cpu", "default", "compositeimplicitautograd", "compositeexplicitautograd",
             "compositeexplicitautogradnonfunctional", "autograd", "autogradcpu", ""}


def _split(qualname: str) -> tuple[str, str]:
    if not isinstance(qualname, str) or "::" not in qualname:
        raise ValueError(f'Expected `qualname` to be of the form "namespace::name", but got '
                         f"{qualname}. The qualname passed to the torch.library APIs must "
                         f"consist of a namespace and a name, e.g. aten::sin")
    namespace, name = qualname.split("::", 1)
    return namespace, name.split(".", 1)[0]  # (an overload name shares the op)


def _no_kernel(qualname: str) -> Callable:
    def kernel(*args, **kwargs):
        raise NotImplementedError(f"Could not run '{qualname}' with arguments from the 'CPU' "
                                  f"backend. This could be because the operator doesn't exist "
                                  f"for this backend (no kernel was registered for it: "
                                  f"torch.library.impl registers one)")
    return kernel


def define(qualname: str, schema: str, *, lib=None, tags=()) -> None:
    """Declares the operator ``qualname`` (``"namespace::name"``) with ``schema``; calling it
    raises NotImplementedError until ``impl`` gives it a CPU kernel."""
    namespace, name = _split(qualname)
    table = vars(ops.namespace_of(namespace))
    if isinstance(table.get(name), CustomOpDef):
        raise RuntimeError(f"Tried to register an operator ({namespace}::{name}{schema}) with "
                           f"the same name and overload name multiple times.")
    table[name] = made = CustomOpDef(f"{namespace}::{name}", _no_kernel(qualname), ())
    made._schema = schema


def _set_kernel(qualname, types, function) -> None:
    types = [types] if isinstance(types, str) or types is None else list(types)
    if types != [None] and not any(str(t).lower() in _CPU_KEYS for t in types):
        return  # (a kernel for a device deltagrad does not have)
    try:
        op = _lookup(qualname)
    except RuntimeError:  # (PyTorch takes a kernel before its definition)
        namespace, name = _split(qualname)
        op = vars(ops.namespace_of(namespace))[name] = CustomOpDef(
            f"{namespace}::{name}", function, ())
    op._function = function
    op.__doc__ = function.__doc__


def impl(qualname: str, types, func: Callable | None = None, *, lib=None):
    """Registers ``func`` as ``qualname``'s kernel for ``types`` (a dispatch key or device
    type, or a list of them): a CPU or composite one becomes the function the op runs; others
    are ignored. Used bare with ``func`` or as a decorator."""

    def register(function: Callable) -> Callable:
        _set_kernel(qualname, types, function)
        return function

    return register if func is None else register(func)


def register_kernel(op, device_types, func: Callable | None = None, /, *, lib=None):
    """A custom op's kernel for ``device_types`` (None: all): the CPU one replaces the
    function the op runs."""

    def register(function: Callable) -> Callable:
        _set_kernel(op if isinstance(op, str) else op._qualname, device_types, function)
        return function

    return register if func is None else register(func)


def impl_abstract(qualname, func: Callable | None = None, *, lib=None, _stacklevel: int = 1):
    """The old name of ``register_fake`` (warns FutureWarning, as PyTorch's)."""
    import warnings

    warnings.warn("`torch.library.impl_abstract` was renamed to `torch.library.register_fake`. "
                  "Please use that instead; we will remove `torch.library.impl_abstract` in a "
                  "future version of PyTorch.", FutureWarning, stacklevel=2)
    return register_fake(qualname, func, lib=lib)
