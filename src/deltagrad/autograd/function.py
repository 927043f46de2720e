"""User-defined differentiable operations: ``deltagrad.Function`` (PyTorch's autograd.Function).

A subclass gives a ``forward`` and a ``backward``; ``apply`` turns the pair into an engine op
(one ``_ops.Op`` per subclass, not registered in the library's own op list), so that backward,
``gradcheck``, ``check_graph``, ``trace`` and ``viz`` see it like any built-in op.

``forward(ctx, *args, **kwargs)`` runs with grad recording off on Tensors that carry no graph and
returns a Tensor, or a tuple of outputs (Tensors and other values). ``backward(ctx,
*grad_outputs)`` receives one upstream gradient per output (the lecture's δ; zeros, or None
after ``ctx.set_materialize_grads(False)``, for an output that got none; None for a non-tensor
output) and returns one gradient per positional argument of ``forward`` (``None`` for arguments
that are not tensors or need no gradient). Gradients shaped like a broadcast of an input are
summed back to the input's shape by the engine. If ``backward`` is written with deltagrad ops,
it is itself differentiable, so ``create_graph=True`` (double backward) works.

Several outputs (the engine's nodes have one): the op's node holds the differentiable outputs
packed into one flat array, and each output is a cheap node (a "pick" of its slice) over it.
The picks' gradients, summed into the packed node's gradient, reach the user's ``backward``
once per backward pass with every output's gradient.
"""

from __future__ import annotations

import functools
import inspect
import warnings
import weakref
from typing import Any

import numpy as np

from .._engine import bf16, modes, versions
from .._engine.autograd import ShapeError, _GradMode, no_grad
from .._engine.grad_attrs import keep_ctx_attributes
from .._engine.meta import MetaArray
from .._engine.ops import ARRAY, Op
from .._engine.ops.complex import USER_OPS
from .._engine.tensor import Tensor, _leaf, _result, apply
from .._engine.versions import type_name, version
from . import forward_ad as _forward_ad
from .function_dirty import _dirty_result

# Functions written inside this package (its root name: "deltagrad", or the copy benchmarks/ab.py
# imports under another name) keep their internal saved copies.
_PACKAGE = __name__.split(".")[0] + "."

__all__ = ["Function", "FunctionCtx", "once_differentiable"]

_INPUT, _OUTPUT, _VALUE = "input", "output", "value"
# What each result of a forward that returned a tuple is (``ctx._layout``): a differentiable
# Tensor (packed into the op's node), a Tensor without gradient (integer, or marked
# non-differentiable) or another value (passed through; its gradient is always None).
_PACKED, _CONSTANT, _OTHER = 0, 1, 2


def _differentiable(ctx, t) -> bool:
    """Whether output ``t`` of a recorded call requires grad (floating, not marked)."""
    return (t is not None and not t._rg and bf16.kind(t._data.dtype) in "fc"
            and not any(t is marked for marked in ctx._non_differentiable))


def _unpacked(value):
    if not isinstance(value, Tensor):
        raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor but got "
                        f"result of type {type(value).__name__}")
    return value


def _same_input(inputs: tuple, position: int, wrapped: Tensor) -> bool:
    """Whether the caller's tensor ``inputs[position]`` still holds the array forward got as
    ``wrapped`` (a capture's replay hands forward other arrays: then the leaf is unpacked)."""
    if position >= len(inputs):
        return False
    data = inputs[position]._data
    return data is wrapped._data or _WRITABLE_SOURCE.get(id(data)) is wrapped._data


class _TensorSlot:
    """Marks where a tensor argument goes in a forward's positional args (a plain None there
    is an argument: torchdiffeq's adjoint passes event_fn=None)."""

    def __repr__(self) -> str:
        return "<tensor>"


_SLOT = _TensorSlot()


class FunctionCtx:
    """What ``forward`` leaves for ``backward``: saved tensors and anything set as attributes.

    Attributes:
        needs_input_grad: one bool per positional argument of ``forward``: whether it is a
            tensor that requires a gradient (``backward`` may skip work for the others).
    """

    def __init__(self, function: type, template: tuple, kwargs: dict,
                 needs_input_grad: tuple) -> None:
        self._function = function
        self._template = template  # the positional args, with _SLOT where a tensor goes
        self._kwargs = kwargs
        self.needs_input_grad = needs_input_grad
        self._to_save: tuple = ()
        self._saved_specs: list = []
        self._saved_versions: tuple = ()
        self._substitutes = None  # (inputs, output_of) to hand out during a create_graph pass
        self._non_differentiable: tuple = ()
        self._materialize = True
        self._returned = None  # what forward returned, until apply has made the outputs
        self._layout = None  # per output of a tuple-returning forward: (kind, offset, shape, dtype)
        self._got: set = set()  # outputs whose pick passed a gradient in this backward pass
        self._inputs: tuple = ()  # the caller's tensor arguments (saved inputs unpack as these)
        self._dirty: tuple = ()  # inputs that forward changed in place (mark_dirty)
        self._for_forward: tuple = ()  # save_for_forward's tensors, for jvp
        self._in_jvp = False
        self._packed = None  # (unpack hook, packed values) of saved_tensors_hooks
        self._output_grad = False  # whether the call's output requires grad (saved outputs)

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep tensors (inputs, outputs or intermediates) for ``backward``.

        Saved inputs and outputs take part in double backward; intermediates computed in
        ``forward`` are constants to it (as in PyTorch). Changing a saved tensor in place
        before backward makes backward raise.
        """
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"{self._function.__name__}.forward: save_for_backward takes Tensors (or "
                    f"None); got {type(t).__name__}. Store other values as ctx attributes."
                )
        self._to_save = tensors

    def save_for_forward(self, *tensors: Tensor | None) -> None:
        """Keep tensors for ``jvp`` (forward-mode AD), where ``ctx.saved_tensors`` gives
        them, in the same order."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"{self._function.__name__}.forward: save_for_forward takes Tensors (or "
                    f"None); got {type(t).__name__}. Store other values as ctx attributes.")
        self._for_forward = self.saved_for_forward = tensors  # (PyTorch's public name too)

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """Declare outputs that have no gradient: they do not require grad, and ``backward``
        receives zeros (or None, see ``set_materialize_grads``) for them."""
        self._non_differentiable = tensors

    def set_materialize_grads(self, value: bool = True) -> None:
        """Whether ``backward`` receives zeros (True, the default) or None for the outputs
        whose gradient is not defined in this backward pass."""
        self._materialize = bool(value)

    def mark_dirty(self, *tensors: Tensor) -> None:
        """Declare the inputs that ``forward`` changed in place. Supported for one input that
        forward also returns as its only output: that Tensor object is the result, its graph
        continuing through this op (PyTorch's in-place Functions)."""
        self._dirty = tensors

    @property
    def saved_tensors(self) -> tuple:
        """The tensors given to ``save_for_backward``, in the same order (in ``jvp``: those
        given to ``save_for_forward``)."""
        if self._in_jvp:
            return tuple(self._for_forward)
        if self._packed is not None and self._substitutes is None:
            unpack, packed = self._packed
            return tuple(None if p is None else _unpacked(unpack(p)) for p in packed)
        out = []
        for kind, value in self._saved_specs:
            if self._substitutes is not None and kind != _VALUE:
                inputs, output_of = self._substitutes
                out.append(inputs[value[0]] if kind == _INPUT else output_of(value[0]))
            elif kind == _INPUT and _same_input(self._inputs, *value):
                # PyTorch unpacks a saved input as the caller's tensor (its requires_grad
                # too): torchdiffeq's adjoint takes gradients w.r.t. the saved parameters.
                out.append(self._inputs[value[0]])
            elif kind == _OUTPUT and self._output_grad and _differentiable(self, value[1]):
                # PyTorch unpacks a saved output as requiring grad (its grad_fn this op):
                # xitorch's rootfinder backward takes a Jacobian w.r.t. the saved root. Here
                # a leaf sharing its memory (a first-order pass has no node to hand out).
                out.append(value[1].detach().requires_grad_())
            else:
                out.append(value if kind == _VALUE else value[1])
        return tuple(out)

    def _fresh(self) -> FunctionCtx:
        """A new, empty context for the same call (used to re-run forward elsewhere)."""
        return FunctionCtx(self._function, self._template, self._kwargs, self.needs_input_grad)

    def __repr__(self) -> str:
        return f"<{self._function.__name__} ctx>"


class Function:
    """Base class for custom ops with a hand-written forward and backward.

    Subclass it, define the two static methods, and call ``YourOp.apply(...)`` (never
    ``forward`` directly: ``apply`` is what records the op in the graph).

    >>> import deltagrad as dg
    >>> class Cube(dg.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x * x
    ...
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (x,) = ctx.saved_tensors
    ...         return g * 3 * x * x       # downstream = upstream * local gradient
    >>> x = dg.tensor([1.0, 2.0], requires_grad=True)
    >>> y = Cube.apply(x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([ 3., 12.])
    >>> dg.gradcheck(Cube.apply, (x,))
    True
    """

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        """Compute the outputs from the inputs (Tensors without a graph): one Tensor, or a
        tuple of Tensors and other values."""
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Tensor | None) -> Any:
        """Return one gradient per positional argument of ``forward`` (None where there is none)."""
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode AD.")

    @staticmethod
    def setup_context(ctx: FunctionCtx, inputs: tuple, output: Any) -> None:
        """Optional: fill ``ctx`` from ``inputs`` and ``output``. A subclass that defines it
        writes ``forward(*args)`` without ``ctx`` (PyTorch's separate-context form)."""
        raise NotImplementedError("setup_context is not overridden")

    # PyTorch's other name of backward: a subclass may define ``vjp`` instead (apply uses it).
    vjp = backward

    @staticmethod
    def jvp(ctx: FunctionCtx, *grad_inputs: Any) -> Any:
        """Forward-mode rule (PyTorch's name): not defined unless a subclass defines it."""
        raise NotImplementedError("You must implement the jvp function for custom "
                                  "autograd.Function to use it with forward mode AD.")

    @staticmethod
    def vmap(info, in_dims, *args):
        """PyTorch's vmap rule: not defined unless a subclass defines it."""
        raise NotImplementedError("To use autograd.Function with vmap, you must either "
                                  "override the vmap staticmethod or set generate_vmap_rule=True.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # As PyTorch's: the methods are static, so making an instance is a mistake (it works).
        warnings.warn(f"{self.__class__} should not be instantiated. Methods on autograd "
                      "functions are all static, so you should invoke them on the class itself. "
                      "Instantiating an autograd function will raise an error in a future "
                      "version of PyTorch.", DeprecationWarning, stacklevel=2)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Legacy autograd function with non-static forward method is "
                           "deprecated. Please use new-style autograd function with static "
                           "forward method. (Example: https://pytorch.org/docs/stable/"
                           "autograd.html#torch.autograd.Function)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` on ``args`` and record the op so that backward calls ``backward``.

        Args:
            *args: the positional arguments of ``forward``; Tensors among them are the op's
                differentiable inputs, anything else is passed through unchanged.
            **kwargs: keyword arguments of ``forward`` (constants, never differentiated).

        Returns:
            What ``forward`` returned: its Tensors recorded in the graph (when an input
            requires grad), in the same structure (one Tensor, or a tuple).
        """
        if cls.forward is Function.forward:
            raise NotImplementedError("You must implement the forward function for custom "
                                      "autograd.Function.")
        # (a Function without backward runs: PyTorch raises only when backward reaches it;
        # torchjd's ComputeModuleJacobians has forward and vmap only)
        if cls.setup_context is not Function.setup_context:
            args, kwargs = _with_defaults(cls, args, kwargs)
        tensors = tuple(a for a in args if isinstance(a, Tensor))
        template = tuple(_SLOT if isinstance(a, Tensor) else a for a in args)
        needs = tuple(isinstance(a, Tensor) and (a._rg if cls.__module__.startswith(_PACKAGE)
                                                 else a.requires_grad) for a in args)  # (s31 BR26)
        ctx = FunctionCtx(cls, template, dict(kwargs), needs)
        if not cls.__module__.startswith(_PACKAGE):
            # (deltagrad's own Functions read their saved inputs' arrays: they keep the leaves)
            ctx._inputs = tensors
        # Forward AD through a user's Function takes its jvp, as through deltagrad's own that
        # define one (_Put, _TrackStats); the others are refused where unpack_dual meets them.
        tangents = (_forward_ad.input_tangents(args)
                    if _forward_ad.active() and (not cls.__module__.startswith(_PACKAGE)
                                                 or "jvp" in cls.__dict__)
                    else None)
        result = _run(cls, ctx, tensors)
        if tangents is not None:
            _forward_ad.attach_jvp(cls, ctx, result, tangents)
        if isinstance(result, Tensor) and result._op is not None and not cls.__module__.startswith(
                _PACKAGE):
            # PyTorch's grad_fn of a Function is its ctx: what forward set on ctx stays readable
            # there after backward has freed the node (grad_attrs.GradFn reads this).
            keep_ctx_attributes(result, {key: value for key, value in ctx.__dict__.items()
                                         if not key.startswith("_")})
        return result


def _with_defaults(cls: type, args: tuple, kwargs: dict) -> tuple:
    """The separate-context form's arguments as PyTorch passes them on: bound to forward's
    signature with its defaults filled in, so that setup_context's ``inputs`` (and vmap's /
    jvp's arguments) include the defaulted ones (``forward(x, idx=(2,))`` called with x)."""
    cached = cls.__dict__.get("_deltagrad_signature")
    if cached is None:
        signature = inspect.signature(cls.forward)
        kinds = [p.kind for p in signature.parameters.values()]
        # every argument given by position: nothing to bind (0.1 us; binding: 3.4 us)
        plain = None if any(k not in (inspect.Parameter.POSITIONAL_ONLY,
                                      inspect.Parameter.POSITIONAL_OR_KEYWORD)
                            for k in kinds) else len(kinds)
        cached = cls._deltagrad_signature = (signature, plain)
    signature, plain = cached
    if not kwargs and len(args) == plain:
        return args, kwargs
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    return bound.args, bound.kwargs


def _run(cls: type, ctx: FunctionCtx, tensors: tuple):
    """``apply``'s forward and recording, ``ctx`` made."""
    if True:  # (apply's body, indented as it was)
        op = _op_of(cls)
        # The forward is called here rather than through the engine's ``apply``: its result
        # keeps forward's dtype (float64 from float32 inputs, as PyTorch), and an exception
        # raised by the user's forward reaches the caller unchanged.
        ctx._callers = tensors  # (forward gets these very tensors: _forward)
        try:
            data = op.forward(*[t._data for t in tensors], ctx=ctx)  # (_forward; profiler wraps)
        except (TypeError, ValueError, NotImplementedError) as error:
            data = _meta_forward(cls, op, ctx, tensors, error)  # (re-raised without meta)
        finally:
            ctx._callers = ()
        tensors = _graph_inputs(ctx, tensors)
        requires_grad = _GradMode.enabled and any(t._rg for t in tensors)
        ctx._output_grad = requires_grad
        returned, ctx._returned = ctx._returned, None
        if ctx._dirty:
            return _dirty_result(cls, op, ctx, tensors, returned, requires_grad)
        if ctx._layout is not None:
            return _outputs(cls, op, ctx, tensors, returned, data, requires_grad)
        if not isinstance(returned, Tensor):
            return returned  # a non-tensor output is returned as it is (PyTorch)
        if requires_grad and (bf16.kind(data.dtype) not in "fc"  # (bfloat16 is floating)
                              or any(returned is t for t in ctx._non_differentiable)):
            requires_grad = False
        if all(kind != _OUTPUT for kind, _ in ctx._saved_specs):
            # PyTorch checks only saved tensors for in-place changes: an output that backward
            # does not read may be changed in place (BatchNorm2d -> ReLU(inplace=True)).
            op = _op_of(cls, reads_output=False)
        return _result(data, op, tensors, {"ctx": ctx}, requires_grad)


def _graph_inputs(ctx: FunctionCtx, tensors: tuple) -> tuple:
    """The inputs the node records: a sparse COO input's values Tensor, where its graph lives
    (PyTorch's Functions take sparse inputs: POT's emd2 of a sparse cost); the positions are
    kept in ``ctx._sparse`` to read the values' gradient out of the one backward returns."""
    from .._engine.api.sparse_coo import CooStorage
    sparse = {i: t._data for i, t in enumerate(tensors) if isinstance(t._data, CooStorage)}
    if not sparse:
        return tensors
    ctx._sparse = sparse
    # (to_sparse's dense input where it has one: PyTorch gives it the whole gradient)
    return tuple(t if i not in sparse else sparse[i].values if sparse[i].source is None
                 else sparse[i].source for i, t in enumerate(tensors))


def _backward_of(cls: type):
    """The subclass's backward rule: its ``vjp`` when it defines that instead (PyTorch's)."""
    return cls.vjp if cls.vjp is not Function.vjp else cls.backward


def _meta_forward(cls: type, op: Op, ctx, tensors: tuple, error: Exception):
    """A deltagrad Function's forward (conv, batch norm, RNNs: written over arrays) on meta
    inputs: run again on zeros of their shapes (calloc'd), its results made meta (PyTorch's
    meta kernels: shapes and dtypes, no values). ``error`` is raised for other inputs and for
    the user's own Functions (their forward sees the meta tensors, as PyTorch's does)."""
    if not cls.__module__.startswith(_PACKAGE) or not any(
            type(t._data) is MetaArray for t in tensors):
        raise error
    arrays = [np.zeros(t._data.shape, t._data.dtype) if type(t._data) is MetaArray else t._data
              for t in tensors]
    with np.errstate(all="ignore"):
        data = op.forward(*arrays, ctx=ctx)
    returned = ctx._returned
    for t in returned if isinstance(returned, tuple) else (returned,):
        if isinstance(t, Tensor) and type(t._data) is not MetaArray:
            t._data = MetaArray(t._data.shape, t._data.dtype)
    return MetaArray(np.shape(data), data.dtype)


def _op_of(cls: type, reads_output: bool = True) -> Op:
    """The engine op standing for a Function subclass, made on first use and kept on the class.

    Two per class: the in-place checks (``_engine/versions.py``) take the rule to read the
    output when its code reads the ``out`` argument, so a node whose ``forward`` did not save
    its output is given the op whose rule never reads it.
    """
    key = "_deltagrad_op" if reads_output else "_deltagrad_op_no_output"
    op = cls.__dict__.get(key)
    if op is None:
        # NOTE: not registered in _ops.OPS: that registry is the library's own, sample-tested
        # op list. Users test their op with gradcheck / check_graph instead.
        vjp = _vjp if reads_output else _vjp_output_unsaved
        op = Op(cls.__name__, _forward, vjp, lambda rng: [], False, True)
        user = not cls.__module__.startswith(_PACKAGE)
        if user or cls.__dict__.get("_checks_saved_only", False):
            # The engine's in-place check of a node reads what its rule reads; this rule
            # passes its inputs on only for their shapes: PyTorch checks just the tensors the
            # Function saved, and _check_versions does that (torchdiffeq writes an input's
            # `.data` after a later node took it, which PyTorch allows). The library's own
            # Functions opt in (LinalgEig saves its outputs alone, as PyTorch's rule).
            versions._reads_of[op] = (reads_output, (), False)
        if user:
            USER_OPS.add(op)  # (complex gradients pass through the user's backward: CX s16)
        setattr(cls, key, op)
    return op


def _pick_of(cls: type) -> Op:
    """The op of one output of a tuple-returning Function: its slice of the packed node. It
    carries the Function's name, so that the output's ``grad_fn`` is named as PyTorch's."""
    op = cls.__dict__.get("_deltagrad_pick")
    if op is None:
        op = Op(cls.__name__, _pick_forward, _pick_vjp, lambda rng: [], False, True)
        if not cls.__module__.startswith(_PACKAGE):
            USER_OPS.add(op)  # (as _op_of's)
        cls._deltagrad_pick = op
    return op


# id(read-only view made by _read_only) -> the writable array it shows (dropped with the view).
_WRITABLE_SOURCE: dict[int, np.ndarray] = {}


def _read_only(array: np.ndarray) -> np.ndarray:
    # An input that forward returned as it is: the output shares its memory (a view in
    # PyTorch). NOTE: read-only when the output is in a graph, so that an in-place change of
    # it raises rather than silently changing the input behind the graph's back (PyTorch
    # forbids that change in grad mode; under no_grad it allows it, deltagrad still raises).
    view = array.view()
    view.flags.writeable = False
    _WRITABLE_SOURCE[id(view)] = _WRITABLE_SOURCE.get(id(array), array)
    weakref.finalize(view, _WRITABLE_SOURCE.pop, id(view), None)
    return view


def _forward_input(array: np.ndarray) -> np.ndarray:
    # Inside a forward (run under no_grad) PyTorch lets a Function write its inputs, through
    # `.data` too: torchdiffeq's _UncheckedAssign fills a scratch tensor that an earlier call
    # returned (`scratch.data[i] = v; return scratch`). Such an input gets its writable array.
    # (A sparse tensor's storage has no flags: passed as is; POT's emd2 of a sparse cost.)
    if not isinstance(array, np.ndarray) or array.flags.writeable:
        return array
    return _WRITABLE_SOURCE.get(id(array), array)


def _forward(*arrays, ctx: FunctionCtx):
    cls = ctx._function
    # PyTorch's forward gets the caller's tensors (outside the graph: grad mode is off), so
    # that it may differentiate through them under enable_grad (normflows' residual flows
    # call autograd.grad(out, params) there). A replay (capture_step) passes other arrays.
    callers = getattr(ctx, "_callers", ())
    wrapped = []
    for i, array in enumerate(arrays):
        usable = _forward_input(array)
        if i < len(callers) and callers[i]._data is array and usable is array:
            wrapped.append(callers[i])
        else:
            wrapped.append(_leaf(usable))
    pending = iter(wrapped)
    args = [next(pending) if a is _SLOT else a for a in ctx._template]
    recorded = _GradMode.enabled and any(ctx.needs_input_grad)  # (before no_grad below)
    with no_grad():
        if cls.setup_context is Function.setup_context:
            result = cls.forward(ctx, *args, **ctx._kwargs)
        else:  # the separate-context form: forward(*args), then setup_context(ctx, ...)
            result = cls.forward(*args, **ctx._kwargs)
            cls.setup_context(ctx, tuple(args), result)
    ctx._returned = result
    outputs = result if isinstance(result, tuple) else (result,)
    specs = []
    for t in ctx._to_save:
        position = next((i for i, w in enumerate(wrapped) if w is t), None)
        index = next((i for i, r in enumerate(outputs) if r is t), None)
        if index is not None and any(t is d for d in ctx._dirty):
            position = None  # (an input changed in place and returned: saved as the output,
            # its value after forward; a double backward reads it so. NN1 s28, NumpyExp_)
        if position is not None:
            specs.append((_INPUT, (position, t)))
        elif index is not None:
            specs.append((_OUTPUT, (index, t)))
        else:
            specs.append((_VALUE, t))
    ctx._saved_specs = specs
    ctx._saved_versions = tuple(None if t is None else version(t._data) for t in ctx._to_save)
    if recorded and modes.saved_hooks:
        _pack_saved(ctx, *modes.saved_hooks[-1])
    ctx._to_save = ()
    if isinstance(result, tuple):
        return _pack(ctx, result, wrapped if recorded else [])
    if not isinstance(result, Tensor):
        return np.asarray(result)
    if recorded and any(result is w for w in wrapped):
        return _read_only(result._data)
    return result._data


def _pack_saved(ctx: FunctionCtx, pack, unpack) -> None:
    """Inside saved_tensors_hooks: each tensor given to save_for_backward packed (grad mode
    off, as PyTorch calls the hook); ``saved_tensors`` returns what unpack makes of them."""
    with no_grad():
        ctx._packed = (unpack, tuple(None if t is None else pack(t) for t in ctx._to_save))
    ctx._saved_versions = ()  # (PyTorch checks no version of a packed tensor)


def _pack(ctx: FunctionCtx, results: tuple, wrapped: list) -> np.ndarray:
    """Lay out a tuple of outputs; return the differentiable ones packed in one flat array.
    ``wrapped``: the inputs whose return as an output makes a read-only view (in a graph)."""
    layout, values, pieces, offset = [], [], [], 0
    for r in results:
        if not isinstance(r, Tensor):
            layout.append((_OTHER, None, None, None))
            values.append(r)
            continue
        data = r._data
        constant = (bf16.kind(data.dtype) not in "fc"  # (bfloat16 is floating)
                    or any(r is t for t in ctx._non_differentiable))
        if not constant and any(r is w for w in wrapped):
            data = _read_only(data)
        layout.append((_CONSTANT if constant else _PACKED, offset, data.shape, data.dtype))
        values.append(data)
        if not constant:
            pieces.append(data.reshape(-1))
            offset += data.size
    ctx._layout = layout
    ctx._returned = values
    # A tensor returned twice is one output, as in PyTorch: the same object at both places,
    # recorded as the last of them (the earlier places get no gradient).
    last = {id(r): i for i, r in enumerate(results) if isinstance(r, Tensor)}
    ctx._duplicates = [(i, last[id(r)]) for i, r in enumerate(results)
                       if isinstance(r, Tensor) and last[id(r)] != i]
    if not pieces:
        return np.zeros(0, np.float32)
    return np.concatenate(pieces, dtype=np.result_type(*pieces))


def _outputs(cls: type, op: Op, ctx: FunctionCtx, tensors: tuple, values: list,
             packed: np.ndarray, requires_grad: bool) -> tuple:
    """The outputs of a tuple-returning forward (``values``: arrays where it gave Tensors): a
    node over the packed differentiable ones, and a pick node per differentiable output."""
    if not any(entry[0] == _PACKED for entry in ctx._layout):
        return _deduplicated(ctx, [_leaf(v) if isinstance(v, np.ndarray) else v
                                   for v in values])
    node = _result(packed, op, tensors, {"ctx": ctx}, requires_grad)
    pick = _pick_of(cls)
    results = []
    for index, ((kind, offset, shape, dtype), value) in enumerate(zip(ctx._layout, values)):
        if kind == _PACKED:
            attrs = _pick_attrs(offset, shape, dtype, packed)
            attrs["ctx"], attrs["index"] = ctx, index
            results.append(_result(value, pick, (node,), attrs, requires_grad))
        elif kind == _CONSTANT:
            results.append(_leaf(value))
        else:
            results.append(value)
    return _deduplicated(ctx, results)


def _deduplicated(ctx: FunctionCtx, results: list) -> tuple:
    for index, last in ctx._duplicates:
        results[index] = results[last]
    return tuple(results)


def _pick_attrs(offset: int, shape: tuple, dtype, packed) -> dict:
    return {"offset": offset, "size": int(np.prod(shape, dtype=np.int64)), "shape": shape,
            "dtype": dtype, "total": packed.shape[0], "packed_dtype": packed.dtype}


def _pick_forward(packed, *, offset, size, shape, dtype, total, packed_dtype, ctx=None,
                  index=None):
    return packed[offset:offset + size].reshape(shape).astype(dtype, copy=False)


def _pick_vjp(F, g, out, packed, *, offset, size, shape, dtype, total, packed_dtype, ctx=None,
              index=None):
    # The output's gradient, in its place in the packed node's (zeros elsewhere). ``out``
    # and ``packed`` are not read, so in-place changes of either never stop this rule.
    if ctx is not None:
        ctx._got.add(index)  # (for set_materialize_grads(False): None for outputs without)
    if F is ARRAY:
        full = np.zeros(total, packed_dtype)
        full[offset:offset + size] = g.reshape(-1)
        return (full,)
    parts = [F.const(np.zeros(offset, packed_dtype)),
             F.cast(F.reshape(g, (size,)), packed_dtype),
             F.const(np.zeros(total - offset - size, packed_dtype))]
    return (F.concatenate(parts),)


def _check_versions(ctx: FunctionCtx, cls: type) -> None:
    # PyTorch's check of every saved tensor (the engine checks the node's own inputs and output;
    # the outputs of a tuple-returning forward and saved intermediates are checked here).
    for (kind, value), saved in zip(ctx._saved_specs, ctx._saved_versions):
        t = value if kind == _VALUE else value[1]
        if t is None or saved is None or version(t._data) == saved:
            continue
        which = f", which is output {value[0]} of {cls.__name__}," if kind == _OUTPUT else ""
        raise RuntimeError(
            "one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: [deltagrad.{type_name(t._data.dtype)}Tensor "
            f"{list(t._data.shape)}]{which} is at version {version(t._data)}; expected version "
            f"{saved} instead. Hint: {cls.__name__}.backward reads this saved tensor; clone() it "
            "before the in-place change, or make the change out of place."
        )


def _grad_outputs(F, g, out, ctx: FunctionCtx) -> tuple:
    """The upstream gradient of each output of a tuple-returning forward, unpacked from ``g``
    (zeros, or None without materializing, where an output got none)."""
    got, ctx._got = ctx._got, set()
    # A sweep reaches this node only through a pick that passed a gradient, so an empty
    # ``got`` means a direct call of the rule (check_graph, a capture's replay): all count.
    every = ctx._materialize or not got
    first_order = F is ARRAY
    grads = []
    for index, (kind, offset, shape, dtype) in enumerate(ctx._layout):
        if kind == _PACKED and (every or index in got):  # (zeros where no gradient came)
            if first_order:
                size = int(np.prod(shape, dtype=np.int64))
                piece = g[offset:offset + size].reshape(shape).astype(dtype, copy=False)
                grads.append(_leaf(piece))
            else:
                attrs = _pick_attrs(offset, shape, dtype, g._data)
                grads.append(apply(_pick_of(ctx._function), g, **attrs))
        elif kind == _OTHER or not ctx._materialize:
            grads.append(None)
        else:
            grads.append(_leaf(np.zeros(shape, dtype)))
    return tuple(grads)


def _vjp(F, g, out, *xs, ctx: FunctionCtx):
    cls = ctx._function
    first_order = F is ARRAY
    _check_versions(ctx, cls)
    if ctx._layout is None:
        grad_outputs = (_leaf(g) if first_order else g,)

        def output_of(index):
            return out
    else:
        grad_outputs = _grad_outputs(F, g, out, ctx)

        def output_of(index):
            kind, offset, shape, dtype = ctx._layout[index]
            if kind != _PACKED:  # (a non-differentiable output, saved: the constant itself;
                # it is not in the packed array. NumpySort of autograd_function_db: NN1 s28)
                return next(v[1] for k, v in ctx._saved_specs if k == _OUTPUT and v[0] == index)
            return apply(_pick_of(cls), out, **_pick_attrs(offset, shape, dtype, out._data))
    if not first_order:
        ctx._substitutes = (xs, output_of)  # double backward flows through saved tensors
    try:
        grads = _backward_of(cls)(ctx, *grad_outputs)
    finally:
        ctx._substitutes = None
    return _input_grads(cls, ctx, grads, xs, first_order)


def _input_grads(cls: type, ctx: FunctionCtx, grads, xs, first_order: bool) -> tuple:
    """The engine's gradients (one per tensor input) from what the user's backward returned,
    checked as PyTorch checks them."""
    if not isinstance(grads, (tuple, list)):
        grads = (grads,)
    n_args = len(ctx._template)
    if len(grads) > n_args and all(gx is None for gx in grads[n_args:]):
        grads = grads[:n_args]  # (PyTorch ignores trailing Nones)
    if len(grads) != n_args:
        raise FunctionGradientError(
            f"function {cls.__name__}Backward returned an incorrect number of gradients "
            f"(expected {n_args}, got {len(grads)}): {cls.__name__}.backward returned "
            f"{len(grads)} gradients for {n_args} positional arguments of forward; return one "
            "per argument (None where there is none)"
        )
    out_grads = []
    inputs = iter(xs)
    for position, (slot, gx) in enumerate(zip(ctx._template, grads)):
        if slot is not _SLOT:
            if gx is not None:  # (PyTorch's check: a gradient for a number is a mistake)
                raise RuntimeError(
                    f"function {cls.__name__}Backward returned a gradient different than None "
                    f"at position {position + 1}, but the corresponding forward input was not "
                    "a Variable")
            continue
        x = next(inputs)
        storage = getattr(ctx, "_sparse", {}).get(len(out_grads))
        if gx is None or not ctx.needs_input_grad[position]:
            out_grads.append(None)
            continue
        if storage is not None and isinstance(gx, Tensor):  # each stored entry's gradient
            dense = gx.to_dense() if gx.is_sparse else gx
            if gx.is_sparse and first_order:
                from .._engine.api.sparse_coo import keep_off_pattern  # (as CooStorage above)
                keep_off_pattern(storage, dense)
            has_source = storage.source is not None
            gx = dense if has_source else dense[tuple(_leaf(row) for row in storage.index)]
        if not isinstance(gx, (Tensor, np.ndarray, int, float, np.number)):
            # (PyTorch's RuntimeError "expected Variable or None (got tuple)"; s27 SL15)
            raise FunctionGradientError(
                f"{cls.__name__}.backward returned {type(gx).__name__} as the gradient of "
                f"argument {position}: expected Variable or None (got {type(gx).__name__})")
        if not isinstance(gx, Tensor):
            gx = _leaf(np.asarray(gx))
        shape = x.shape if first_order else x._data.shape
        if not _expandable(shape, gx._data.shape):
            raise ShapeError(
                f"Function {cls.__name__}Backward returned an invalid gradient at index "
                f"{position} - got {list(gx._data.shape)} but expected shape compatible with "
                f"{list(shape)}"
            )
        out_grads.append(gx._data if first_order else gx)
    return tuple(out_grads)


def _expandable(shape: tuple, grad_shape: tuple) -> bool:
    """Whether ``shape`` broadcasts to ``grad_shape`` (the gradient can be summed back)."""
    if len(shape) > len(grad_shape):
        return False
    tail = grad_shape[len(grad_shape) - len(shape):]
    return all(a == b or a == 1 for a, b in zip(shape, tail))


def _vjp_output_unsaved(F, g, out, *xs, ctx: FunctionCtx):
    # ``out`` is deliberately not read (see _op_of): the output was not saved for backward.
    return _vjp(F, g, None, *xs, ctx=ctx)


class FunctionGradientError(RuntimeError, TypeError):
    """A ``backward`` that returned the wrong number of gradients (PyTorch: RuntimeError)."""


# ---------------------------------------------------------------------------- once_differentiable

_TWICE = ("trying to differentiate twice a function that was marked with @once_differentiable")


def _refuse_forward(*arrays):
    raise RuntimeError(f"{_TWICE} (its gradients cannot be recomputed)")


def _refuse_vjp(F, g, out, *xs):
    raise RuntimeError(_TWICE)


_DELAYED_ERROR = Op("DelayedError", _refuse_forward, _refuse_vjp, lambda rng: [], False, True)


def once_differentiable(backward):
    """Decorate a Function's ``backward`` that is not itself differentiable.

    It runs without recording; when the gradients it receives require grad (a
    ``create_graph=True`` pass), the gradients it returns do too, and differentiating them
    raises PyTorch's error instead of silently giving zero second derivatives.
    """

    @functools.wraps(backward)
    def wrapper(ctx, *grad_outputs):
        with no_grad():
            result = backward(ctx, *grad_outputs)
        sources = tuple(g for g in grad_outputs if isinstance(g, Tensor) and g._rg)
        if not _GradMode.enabled or not sources:
            return result
        single = not isinstance(result, tuple)
        guarded = tuple(
            _result(gx._data, _DELAYED_ERROR, sources, None, True)
            if isinstance(gx, Tensor) and gx._data.dtype.kind in "fc" else gx
            for gx in ((result,) if single else result))
        return guarded[0] if single else guarded

    return wrapper
