"""User-defined differentiable operations: ``deltagrad.Function`` (PyTorch's autograd.Function).

A subclass gives a ``forward`` and a ``backward``; ``apply`` turns the pair into an engine op
(one ``_ops.Op`` per subclass, not registered in the library's own op list), so that backward,
``gradcheck``, ``check_graph``, ``trace`` and ``viz`` see it like any built-in op.

``forward(ctx, *args, **kwargs)`` runs with grad recording off on Tensors that carry no graph and
returns one Tensor. ``backward(ctx, *grad_outputs)`` receives the upstream gradient (the
lecture's δ, a Tensor) and returns one gradient per positional argument of ``forward`` (``None``
for arguments that are not tensors or need no gradient). Gradients shaped like a broadcast of
an input are summed back to the input's shape by the engine. If ``backward`` is written with
deltagrad ops, it is itself differentiable, so ``create_graph=True`` (double backward) works.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._engine.autograd import no_grad
from .._engine.ops import ARRAY, Op
from .._engine.tensor import Tensor, _leaf, apply

__all__ = ["Function", "FunctionCtx"]

_INPUT, _OUTPUT, _VALUE = "input", "output", "value"


class FunctionCtx:
    """What ``forward`` leaves for ``backward``: saved tensors and anything set as attributes.

    Attributes:
        needs_input_grad: one bool per positional argument of ``forward``: whether it is a
            tensor that requires a gradient (``backward`` may skip work for the others).
    """

    def __init__(self, function: type, template: tuple, kwargs: dict,
                 needs_input_grad: tuple) -> None:
        self._function = function
        self._template = template  # the positional args, with None where a tensor goes
        self._kwargs = kwargs
        self.needs_input_grad = needs_input_grad
        self._to_save: tuple = ()
        self._saved_specs: list = []
        self._substitutes = None  # input/output Tensors to hand out during a create_graph pass
        self._non_differentiable: tuple = ()
        self._output_non_differentiable = False

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep tensors (inputs, the output or intermediates) for ``backward``.

        Saved inputs and the output take part in double backward; intermediates computed in
        ``forward`` are constants to it (as in PyTorch).
        """
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"{self._function.__name__}.forward: save_for_backward takes Tensors (or "
                    f"None); got {type(t).__name__}. Store other values as ctx attributes."
                )
        self._to_save = tensors

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """Declare outputs that have no gradient: the result then does not require grad."""
        self._non_differentiable = tensors

    @property
    def saved_tensors(self) -> tuple:
        """The tensors given to ``save_for_backward``, in the same order."""
        out = []
        for kind, value in self._saved_specs:
            if self._substitutes is not None and kind != _VALUE:
                inputs, output = self._substitutes
                out.append(inputs[value[0]] if kind == _INPUT else output)
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
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Tensor:
        """Compute the output from the inputs (Tensors without a graph); return one Tensor."""
        raise NotImplementedError("a Function subclass must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Tensor) -> Any:
        """Return one gradient per positional argument of ``forward`` (None where there is none)."""
        raise NotImplementedError("a Function subclass must define backward(ctx, *grad_outputs)")

    @staticmethod
    def setup_context(ctx: FunctionCtx, inputs: tuple, output: Any) -> None:
        """Optional: fill ``ctx`` from ``inputs`` and ``output``. A subclass that defines it
        writes ``forward(*args)`` without ``ctx`` (PyTorch's separate-context form)."""
        raise NotImplementedError("setup_context is not overridden")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Tensor:
        """Run ``forward`` on ``args`` and record the op so that backward calls ``backward``.

        Args:
            *args: the positional arguments of ``forward``; Tensors among them are the op's
                differentiable inputs, anything else is passed through unchanged.
            **kwargs: keyword arguments of ``forward`` (constants, never differentiated).

        Returns:
            The output Tensor, recorded in the graph when an input requires grad.
        """
        if cls.forward is Function.forward or cls.backward is Function.backward:
            raise NotImplementedError(f"{cls.__name__} must define both forward and backward")
        tensors = tuple(a for a in args if isinstance(a, Tensor))
        template = tuple(None if isinstance(a, Tensor) else a for a in args)
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx = FunctionCtx(cls, template, dict(kwargs), needs)
        op = _op_of(cls)
        result = apply(op, *tensors, ctx=ctx)
        if result._op is op and all(kind != _OUTPUT for kind, _ in ctx._saved_specs):
            # PyTorch checks only saved tensors for in-place changes: an output that backward
            # does not read may be changed in place (BatchNorm2d -> ReLU(inplace=True)).
            result._op = _op_of(cls, reads_output=False)
        if ctx._output_non_differentiable and result.requires_grad:
            result = result.detach()
        return result


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
        setattr(cls, key, op)
    return op


def _forward(*arrays, ctx: FunctionCtx):
    cls = ctx._function
    wrapped = [_leaf(a) for a in arrays]
    pending = iter(wrapped)
    args = [next(pending) if a is None else a for a in ctx._template]
    with no_grad():
        if cls.setup_context is Function.setup_context:
            result = cls.forward(ctx, *args, **ctx._kwargs)
        else:  # the separate-context form: forward(*args), then setup_context(ctx, ...)
            result = cls.forward(*args, **ctx._kwargs)
            cls.setup_context(ctx, tuple(args), result)
    if isinstance(result, (tuple, list)):
        raise TypeError(
            f"{cls.__name__}.forward returned {len(result)} values; a deltagrad Function "
            "returns one Tensor (apply it several times, or concatenate the outputs)"
        )
    if not isinstance(result, Tensor):
        result = _leaf(np.asarray(result))
    ctx._output_non_differentiable = any(t is result for t in ctx._non_differentiable)
    specs = []
    for t in ctx._to_save:
        position = next((i for i, w in enumerate(wrapped) if w is t), None)
        if position is not None:
            specs.append((_INPUT, (position, t)))
        elif t is result:
            specs.append((_OUTPUT, (None, t)))
        else:
            specs.append((_VALUE, t))
    ctx._saved_specs = specs
    ctx._to_save = ()
    return result._data


def _vjp(F, g, out, *xs, ctx: FunctionCtx):
    cls = ctx._function
    first_order = F is ARRAY
    if first_order:
        grad_output = _leaf(g)
    else:
        grad_output = g
        ctx._substitutes = (xs, out)  # double backward flows through saved inputs and output
    try:
        grads = cls.backward(ctx, grad_output)
    finally:
        ctx._substitutes = None
    if not isinstance(grads, (tuple, list)):
        grads = (grads,)
    n_args = len(ctx._template)
    if len(grads) != n_args:
        raise TypeError(
            f"{cls.__name__}.backward returned {len(grads)} gradients, but forward takes "
            f"{n_args} positional arguments: return one per argument (None where there is none)"
        )
    out_grads = []
    for position, (slot, gx) in enumerate(zip(ctx._template, grads)):
        if slot is not None:
            continue  # not a tensor: its gradient, if any, goes nowhere
        if gx is None:
            out_grads.append(None)
        elif first_order:
            out_grads.append(gx._data if isinstance(gx, Tensor) else np.asarray(gx))
        else:
            out_grads.append(gx if isinstance(gx, Tensor) else _leaf(np.asarray(gx)))
        if gx is not None and not ctx.needs_input_grad[position]:
            out_grads[-1] = None
    return tuple(out_grads)


def _vjp_output_unsaved(F, g, out, *xs, ctx: FunctionCtx):
    # ``out`` is deliberately not read (see _op_of): the output was not saved for backward.
    return _vjp(F, g, None, *xs, ctx=ctx)
