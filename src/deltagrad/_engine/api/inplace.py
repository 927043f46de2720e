"""In-place ops: the ``_``-suffixed methods, augmented assignment (``+=``, ...) and ``x[i] = v``.

PyTorch's semantics, which ported programs rely on:

- Outside a graph (under ``no_grad``, or when nothing involved requires grad) the tensor's
  array is overwritten: ``with no_grad(): p -= lr * p.grad`` updates the parameter itself, and
  views of it see the change.
- A leaf that requires grad refuses in-place changes while grad mode is on.
- A tensor that takes part in a graph (or is written with a value that requires grad) is
  *rebound*: its array is overwritten and the tensor object becomes a new node, the op applied
  to its old value (kept in a separate node object). Nodes made earlier still reach the old
  node (``versions.resolve``); a view's bases are rebound too, with the view's region replaced.
- Every in-place change bumps the storage's version (``versions``), so backward raises where a
  node still needs the old values.

Every method computes its new value with the out-of-place op and hands it to ``_inplace``.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes, tensor_ops, versions
from ..autograd import _counters, _GradMode, _InferenceMode
from ..errors import ShapeError
from ..forward_errors import broadcast_words
from ..grad_attrs import write_takes_grad
from ..modes import check_inference_inplace
from ..node_names import name_node, rename_node
from ..ops import OPS
from ..ops.indexing import diagonal_index, unfold_index, unfold_moved
from ..promotion import fitted, through_float32
from ..tensor import _LEAF_IN_PLACE, Tensor, _leaf, _lift, apply, tensor_method
from . import (  # noqa: F401 - the families whose methods get in-place forms below
    cumulative,
    indexing,
    linalg,
    norms,
    pointwise,
    rearrange,
    reductions,
    shape,
    sorting,
)
from ._common import NotATensorError, int_arg, type_name, wrap_dim
from ._pointwise import scalar_first
from .indexing_args import basic_items
from .inplace_nodes import (  # (moved out: session 27, FS1)
    _NO_GRAD_VIEW,
    _become,
    _check_value,
    _dual_write,
    _new_nodes,
    _old_node,
    _viewed_in_graph,
    _views_graph,
    _write,
    real_part_for,
)
from .shape_splits import multi_output_view_error
from .view_joins import flat_of, join_views, unflat
from .view_joins import rejoin as _rejoin
from .view_positions import view_positions as _view_positions
from .write_checks import (
    DUAL_LEAF,
    check_leaf_index,
    check_partial_overlap,
    dual_written,
    overlap_alias,
    refused_write,
)

__all__: list[str] = []  # methods only

_WHERE, _CAST, _GETITEM = OPS["where"], OPS["cast"], OPS["getitem"]
_INDEX_PUT, _PERMUTE, _RESHAPE = OPS["index_put"], OPS["permute"], OPS["reshape"]


def _t(value, like) -> Tensor:
    return value if isinstance(value, Tensor) else _lift(value, like)


def _operand(value, name: str, argument: str = "other"):
    """``value`` where PyTorch's in-place method takes it: a Tensor or a number, not a list,
    tuple or ndarray (its parser's TypeError; deltagrad made a tensor of it, silently)."""
    if type(value) is Tensor or not isinstance(value, (list, tuple, np.ndarray)):
        return value
    named = f"argument '{argument}' (position 1)" if argument else "an argument"
    raise NotATensorError(f"{name}(): {named} must be Tensor, not {type_name(value)}")


# ==============================================================================================
# The one path every in-place op takes.


def _inplace(self, name: str, compute, *, cast: bool = False, augmented: bool = False) -> Tensor:
    """Make ``self`` hold ``compute(self)``, PyTorch's way (see the module docstring).

    Args:
        self: the tensor changed in place.
        name: the method's name, for errors.
        compute: takes ``self`` and returns the new value as a Tensor (broadcastable to
            ``self``), computed with ordinary, recorded ops.
        cast: whether any result dtype may be cast into ``self`` (``copy_``, ``fill_``); else a
            result of a higher category (float into int, int into bool) raises, as in PyTorch.
        augmented: called by an operator such as ``+=`` (see ``_rebind`` on slices).

    Returns:
        ``self``.
    """
    # A dual level on: a dual made from a plain primal, or a view of one (autograd.forward_ad).
    if DUAL_LEAF[0] is not None and (self._rg or getattr(self, "_view", None) is not None):
        tangent_of = DUAL_LEAF[0](self)
        if tangent_of is not None:
            return _dual_write(self, name, compute, cast, tangent_of)
    grad_mode = _GradMode.enabled
    if grad_mode and self._rg and self._op is None:
        raise RuntimeError(_LEAF_IN_PLACE)
    if _InferenceMode.marking:
        check_inference_inplace(self, compute)
    before = _counters.created  # nodes made before the change have _serial <= before
    if grad_mode and not self._rg and _viewed_in_graph(self):
        _rejoin(self, _old_node(self), _outer_views(self))
    result = compute(self)
    if not grad_mode or not (self._rg or result._rg):
        _check_value(self, name, result._data, cast)
        _write(self, result._data)
        versions.bump(self._data, before)
        return self
    _rebind(self, name, result, before, cast, augmented)
    return self


def _rebind(self, name: str, result: Tensor, before: int, cast: bool, augmented: bool,
            join: bool = True) -> None:
    """The graph case of ``_inplace``: ``result`` (made after ``before``) becomes ``self``
    (``join``: its views taken outside the graph join it, if it joins: view_joins.py)."""
    _check_value(self, name, result._data, cast)
    chain = _view_chain(self)  # (checked before anything changes)
    # A view taken outside the graph (of a tensor that did not require grad then) writes
    # through to the tensors it views, as in PyTorch, where they join the graph (CopySlices).
    outer = None if chain else _outer_views(self)
    # A slice of a tensor outside the graph taking values that depend on the graph: PyTorch
    # makes that tensor part of the graph too, which needs a link from the slice to it that
    # deltagrad does not keep. An operator (`buf[i] += v`) is followed by the assignment back,
    # which records it; a method call (`buf[i].add_(v)`) is refused.
    partial = (outer is None and self._op is None
               and self._data.size < versions._root(self._data).size)
    if partial and not augmented:
        raise RuntimeError(
            f"{name}: writing a value that requires grad into part of a tensor that does not "
            "require grad cannot be recorded for that tensor in deltagrad; assign through it "
            "(base[index] = value, base[index] += value) or clone() the part first"
        )
    old = _old_node(self)
    nodes = _new_nodes(result, before)
    if (not nodes or nodes[0] is not result or result._data.shape != self._data.shape
            or not any(x is self for node in nodes for x in node._inputs)):
        # A value that is not a fresh full-size node of the old value (a fill, an existing
        # tensor, a broadcast value): make one that takes the old value's place with a zero
        # gradient to it, as PyTorch's graph has.
        result = apply(_WHERE, _leaf(np.ones(self._data.shape, dtype=bool)), result, old)
        nodes.insert(0, result)
    if result._data.dtype != self._data.dtype:
        result = apply(_CAST, result, dtype=self._data.dtype)
        nodes.insert(0, result)
    root = versions._root(self._data)
    snapshot = False
    for node in nodes:
        inputs = list(node._inputs)
        aliased = []
        for i, x in enumerate(inputs):
            if x is self:
                inputs[i] = old
                if i > 0 and node is result:
                    aliased.append(i)  # y.mul_(y): self as the other operand too
            elif x is not old and versions._root(x._data) is root:
                aliased.append(i)  # y.mul_(y.t()): another view of the changing storage
        node._inputs = tuple(inputs)
        _, positions = versions.saved(node)
        snapshot = snapshot or any(inputs[i] is old for i in positions)
        if any(i in positions for i in aliased):
            # PyTorch saves such an operand by reference and raises at backward: dating the
            # node back to before the change makes the version check fire here too.
            node._serial = before
    # Versions: the change is stamped `before`, so the nodes made above don't see it (the one
    # whose output self now is reads it); rebinding: consumers made up to `after` (those above
    # too) reach the old node.
    after = _counters.created
    if snapshot:  # a new node's rule reads the old value: it keeps a copy
        old._data = self._data.copy()
        versions.snapshot(old._data, self._data, before)
    if outer is not None:
        _write_through(self, old, name, result, outer)
        return
    _write(self, result._data)
    versions.bump(self._data, before)
    if partial:  # until assigned back, backward refuses nodes that read the storage
        versions.taint(self._data, self, after)
    if not chain:
        joins = join and not self._rg
        _become(self, result)
        versions.note_rebind(self, after, old)
        if joins:
            join_views(self)
        return
    # A view: its bases take the new values in its region (scattered back up the chain), and
    # the view and those between become views of the outermost base again, as in PyTorch.
    tensors = [self] + [base for _, _, base in chain]
    olds = [old] + [_old_node(base) for base in tensors[1:]]
    for view, base in zip(olds, olds[1:]):  # (what backward would resolve: no cycle then)
        view._inputs = (base,) + view._inputs[1:]
    value = result
    for (op, attrs, _), old_base in zip(chain, olds[1:]):
        value = _scatter_back(op, attrs, old_base, value)
    # The scatter nodes read the bases as they were: stamped after them, the rebinds below
    # leave them the old nodes, and an old base that is itself a view is not remade from
    # the new outer base (that was a cycle: a view of a view written in place lost its
    # gradient, y.permute(0, 2, 1)[:, 0].mul_(3) gave no grad to y's inputs).
    after = _counters.created
    _become(tensors[-1], value)
    name_node(tensors[-1], _COPY_SLICES)  # (PyTorch's node names for a write through a view)
    for i in range(len(chain) - 1, -1, -1):
        op, attrs, base = chain[i]
        _become(tensors[i], apply(op, base, **(attrs or {})))
        if op.name not in _DTYPE_VIEWS:  # (PyTorch remakes those by their own op)
            name_node(tensors[i], "AsStridedBackward0")
    for tensor, old_node in zip(tensors, olds):
        versions.note_rebind(tensor, after, old_node)


def _view_chain(self) -> list:
    """``[(op, attrs, base), ...]`` from ``self`` out to the tensor that owns the memory."""
    chain = []
    node = self
    while ((versions.is_view(node) or _dtype_view(node))
           and not _unsafe_piece(node)):  # (not a copy: advanced
        refused = multi_output_view_error(node)  # indexing, a reshape of a transpose)
        if refused is not None:
            raise RuntimeError(refused)
        base = node._inputs[0]
        if base._op is None and base._rg:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                               "in-place operation.")
        chain.append((node._op, node._attrs, base))
        node = base
    if node._inputs is None and node._op is not None:
        _check_freed(node)
    return chain


def _dtype_view(node) -> bool:
    """Whether ``node`` is view_as_complex / view_as_real sharing its input's memory: PyTorch
    writes through it as through any view (s29 BR19: `view_as_complex(leaf).zero_()` changed
    the leaf silently, and a write through it on a tensor in the graph kept the base's old
    gradient, silently)."""
    return (node._op is not None and node._op.name in _DTYPE_VIEWS and bool(node._inputs)
            and versions._root(node._inputs[0]._data) is versions._root(node._data))


_DTYPE_VIEWS = frozenset({"view_as_complex", "view_as_real"})


def _check_freed(node) -> None:
    """Refuse the write where ``node``, whose graph backward() freed, is (a view of) a split /
    chunk / unbind piece (s27 BR16) or a view (of views) of a leaf that requires grad: a freed
    view keeps the tensor it views (one_node.keep_base). Both raise in PyTorch; the second
    changed the leaf silently (s28 BR17). A freed view of a non-leaf stays written as before."""
    while node is not None and node._op is not None and not _unsafe_piece(node):
        refused = multi_output_view_error(node)
        if refused is not None:
            raise RuntimeError(refused)
        if node._inputs is None:
            node = getattr(node, "_view_base", None)
        elif versions.is_view(node):  # (a live view that a freed one was taken of)
            node = node._inputs[0]
        else:
            return
        if node is not None and node._op is None and node._rg:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                               "in-place operation.")


def _unsafe_piece(node) -> bool:
    """Whether ``node`` is a piece of unsafe_split / unsafe_chunk, which PyTorch's autograd
    does not take for a view: written in place, it changes its base's memory but is rebound
    alone, as any non-view (its base's graph, or a leaf base, is not checked; was refused as a
    view of a leaf, s28 BR17)."""
    piece = versions._multi_output_piece(node) if versions.MULTI_OUTPUT else None
    return piece is not None and piece[1] is None


def _outer_views(self) -> tuple | None:
    """The tensors ``self`` views that it was taken of outside the graph (``_view`` links,
    set by ``tensor._result``), innermost first, with each one's element positions in the
    outermost's row-major order; None when ``self`` is no such view."""
    outer = []
    node = getattr(self, "_view", None)
    while node is not None:
        outer.append(node)
        node = getattr(node, "_view", None)
    if not outer:
        return None
    top = outer[-1]
    if top._rg and top._op is None:
        raise RuntimeError(_NO_GRAD_VIEW)
    positions, pairs = _view_positions(top._data, [x._data for x in [self] + outer[:-1]])
    return outer, positions, pairs  # (pairs: z.real's positions in complex z's float pairs)


def _write_through(self, old: Tensor, name: str, result: Tensor, outer: tuple) -> None:
    """``self``, a view taken outside the graph, takes ``result``: the outermost tensor it
    views takes it in its region (an in-place change of its own, recorded), and ``self`` and
    the views between become views of it in the graph."""
    views, positions, pairs = outer
    top = views[-1]
    stamp = _counters.created
    value = apply(_INDEX_PUT, flat_of(top, pairs), result, index=(positions[0],))
    joins = not top._rg
    _rebind(top, name, unflat(value, top, pairs), stamp, True, True, False)
    name_node(top, _COPY_SLICES)
    _rejoin(self, old, outer)
    if joins:  # (after self and those between: they joined as written)
        join_views(top)


def _scatter_back(op, attrs, base: Tensor, view: Tensor) -> Tensor:
    if op.name == "getitem":
        return apply(_INDEX_PUT, base, view, index=attrs["index"])
    if op.name == "diagonal":
        return apply(_INDEX_PUT, base, view, index=diagonal_index(base.shape, attrs["offset"]))
    if op.name == "unfold":  # (non-overlapping windows: overlapping ones refuse writes)
        dim = attrs["dim"]
        moved = apply(_PERMUTE, view, dims=unfold_moved(base._data.ndim, dim))
        index = unfold_index(base._data.shape, dim, attrs["size"], attrs["step"])
        return apply(_INDEX_PUT, base, moved, index=index)
    if op.name == "reshape":
        return apply(_RESHAPE, view, shape=base._data.shape)
    if op.name in _DTYPE_VIEWS:  # (the same memory seen as the base's dtype)
        return apply(OPS["view_as_real" if op.name == "view_as_complex" else "view_as_complex"],
                     view)
    if op.name in ("real", "imag"):  # (the base's other part kept; SL5's fuzzer found it lost)
        pairs = apply(OPS["view_as_real"], base)
        index = (Ellipsis, 0 if op.name == "real" else 1)
        return apply(OPS["view_as_complex"], apply(_INDEX_PUT, pairs, view, index=index))
    if op.name == "expand":  # (writable: only dims of size 1 added, the same elements)
        if view._data.size != base._data.size:
            raise RuntimeError("an in-place write into an empty expand() of a tensor in the "
                               "graph is not supported in deltagrad")
        return apply(_RESHAPE, view, shape=base._data.shape)
    inverse = tuple(int(i) for i in np.argsort(attrs["dims"]))
    return apply(_PERMUTE, view, dims=inverse)


# ==============================================================================================
# Arithmetic and augmented assignment.


@tensor_method
def add_(self, other, *deprecated, alpha=1) -> Tensor:
    """``self += alpha * other`` in place."""
    other = _operand(other, "add_")
    if deprecated:  # add_(Number alpha, Tensor other): x.add_(-lr, grad)
        alpha, other = scalar_first("add_", other, deprecated, "alpha", alpha)
    if alpha == 1 and alpha is not True:
        return _inplace(self, "add_", lambda x: x + other)
    # (add's alpha rules: a bool alpha needs a bool result, a float one a floating result)
    return _inplace(self, "add_", lambda x: x.add(other, alpha=alpha))


@tensor_method
def sub_(self, other, *deprecated, alpha=1) -> Tensor:
    """``self -= alpha * other`` in place."""
    other = _operand(other, "sub_")
    if deprecated:  # sub_(Number alpha, Tensor other): x.sub_(-lr, grad)
        alpha, other = scalar_first("sub_", other, deprecated, "alpha", alpha)
    if alpha == 1 and alpha is not True:
        return _inplace(self, "sub_", lambda x: x - other)
    return _inplace(self, "sub_", lambda x: x.sub(other, alpha=alpha))


@tensor_method
def mul_(self, other) -> Tensor:
    other = _operand(other, "mul_")
    return _inplace(self, "mul_", lambda x: x * other)


@tensor_method
def div_(self, other, *, rounding_mode=None) -> Tensor:
    """``self /= other`` in place (``rounding_mode`` as in ``div``)."""
    other = _operand(other, "div_")
    if rounding_mode is None:
        return _inplace(self, "div_", lambda x: x / other)
    return _inplace(self, "div_", lambda x: x.div(other, rounding_mode=rounding_mode))


@tensor_method
def pow_(self, exponent) -> Tensor:
    exponent = _operand(exponent, "pow_", "exponent")
    return _inplace(self, "pow_", lambda x: x ** exponent)


def _augmented(name: str, method: str, compute):
    def augmented(self, other):
        other = _operand(other, method)
        return _inplace(self, method, lambda x: compute(x, other), augmented=True)

    augmented.__name__ = name
    return tensor_method(tensor_ops.numpy_rebinds(augmented), name=name)


# PyTorch's __iadd__ / __isub__ are its add_ / sub_ (they take ``alpha`` by keyword) and its
# __ipow__ is pow_ (its argument is named ``exponent``: ``other=`` is refused).
@tensor_method(name="__iadd__")
@tensor_ops.numpy_rebinds
def _iadd(self, other, *, alpha=None) -> Tensor:
    other = _operand(other, "add_")
    if alpha is not None:
        return _inplace(self, "add_", lambda x: x.add(other, alpha=alpha), augmented=True)
    return _inplace(self, "add_", lambda x: x + other, augmented=True)


@tensor_method(name="__isub__")
@tensor_ops.numpy_rebinds
def _isub(self, other, *, alpha=None) -> Tensor:
    other = _operand(other, "sub_")
    if alpha is not None:
        return _inplace(self, "sub_", lambda x: x.sub(other, alpha=alpha), augmented=True)
    return _inplace(self, "sub_", lambda x: x - other, augmented=True)


@tensor_method(name="__ipow__")
@tensor_ops.numpy_rebinds
def _ipow(self, exponent) -> Tensor:
    exponent = _operand(exponent, "pow_", "exponent")
    return _inplace(self, "pow_", lambda x: x ** exponent, augmented=True)


_augmented("__imul__", "mul_", lambda x, y: x * y)
_augmented("__itruediv__", "div_", lambda x, y: x / y)
_augmented("__ifloordiv__", "floor_divide_", lambda x, y: x // y)
_augmented("__imod__", "remainder_", lambda x, y: x % y)
_augmented("__iand__", "bitwise_and_", lambda x, y: x & y)
_augmented("__ior__", "bitwise_or_", lambda x, y: x | y)
_augmented("__ixor__", "bitwise_xor_", lambda x, y: x ^ y)
_augmented("__ilshift__", "bitwise_left_shift_", lambda x, y: x << y)
_augmented("__irshift__", "bitwise_right_shift_", lambda x, y: x >> y)
# No __imatmul__: PyTorch has none, so `a @= b` rebinds `a` to `a @ b` in both libraries.


def _wrapping(name: str):
    """``<name>_``: the out-of-place ``Tensor.<name>`` written back into the tensor."""

    def method(self, *args, **kwargs):
        for value in args if name != "index_put" else args[1:]:  # (its indices: a tuple)
            _operand(value, name + "_", "")
        return _inplace(self, name + "_", lambda x: getattr(x, name)(*args, **kwargs))

    method.__name__ = name + "_"
    method.__doc__ = f"In-place ``{name}``: the result written into this tensor."
    return method


# PyTorch's in-place forms of out-of-place methods; each is attached where the out-of-place
# method exists (the families above are imported first, so they have attached theirs).
_WRAPPED = (
    "abs", "absolute", "acos", "acosh", "addbmm", "addcdiv", "addcmul", "addmm", "addmv", "addr",
    "arccos", "arccosh", "arcsin",
    "arcsinh", "arctan", "arctan2", "arctanh", "asin", "asinh", "atan", "atan2", "atanh", "baddbmm",
    "bitwise_and", "bitwise_left_shift", "bitwise_not", "bitwise_or", "bitwise_right_shift",
    "bitwise_xor", "ceil", "clamp", "clamp_max", "clamp_min", "clip", "copysign", "cos", "cosh",
    "cumsum", "cumprod", "deg2rad", "digamma", "divide", "erf", "erfc", "erfinv", "exp", "exp2",
    "expm1", "fix", "float_power", "floor", "floor_divide", "fmod", "frac", "gcd", "heaviside",
    "hypot", "i0", "lcm", "ldexp", "lgamma", "mvlgamma", "nextafter", "polygamma", "put",
    "index_add", "index_copy", "index_fill", "index_put", "index_reduce", "lerp", "lgamma",
    "log", "log10", "log1p", "log2",  # (logical_and_ ...: _logical_ below)
    "logit", "masked_fill", "masked_scatter", "multiply", "nan_to_num", "neg", "negative",
    "rad2deg", "reciprocal", "relu", "remainder", "renorm", "round", "rsqrt", "scatter",
    "scatter_add", "scatter_reduce", "sgn", "sigmoid", "sign", "sin", "sinc", "sinh", "sqrt",
    "square", "subtract", "tan", "tanh", "tril", "triu", "true_divide", "trunc", "xlogy",
)

for _name in _WRAPPED:
    if hasattr(Tensor, _name):
        tensor_method(_wrapping(_name), name=_name + "_")
_masked_fill_wrapped = Tensor.masked_fill_


@tensor_method
def masked_fill_(self, mask, value):
    """``masked_fill`` written into ``self``; a mask that does not broadcast to ``self`` is
    PyTorch's error naming ``self`` tensor a and the mask b (the out-of-place form: the other
    way round; s28 BR18)."""
    try:
        return _masked_fill_wrapped(self, mask, value)
    except ShapeError:  # (checked on failure only: nothing added to a call that works)
        words = isinstance(mask, Tensor) and broadcast_words(self._data.shape, mask._data.shape)
        if not words:
            raise
        raise ShapeError(f"{words}masked_fill_: mask of shape {tuple(mask.shape)} and self of "
                         f"shape {tuple(self.shape)}") from None


def _real_valued_(name: str):
    """``abs_`` / ``absolute_``: the result of a complex tensor is real, which PyTorch refuses
    to write back (the wrapped form cast it to complex silently)."""
    wrapped = getattr(Tensor, name + "_")

    def method(self, *args, **kwargs):
        if self._data.dtype.kind == "c":
            raise RuntimeError("In-place abs is not supported for complex tensors.")
        return wrapped(self, *args, **kwargs)

    method.__name__, method.__doc__ = name + "_", wrapped.__doc__
    return tensor_method(method, name=name + "_")


_real_valued_("abs")
_real_valued_("absolute")


def _logical_(name: str):
    """``logical_and_`` / ``logical_or_`` / ``logical_xor_`` / ``logical_not_``: PyTorch has no
    derivative for them, so on a tensor in the graph it writes the values and leaves the
    tensor's history as it was: a gradient passes through as if the op were not there, and a
    node that saved the old values raises at backward (the version count). Recording the op
    (a zero gradient) was a silent difference in the gradients."""

    def method(self, *args, **kwargs):
        for value in args:
            _operand(value, name + "_", "")
        # (no leaf check either: PyTorch changes a leaf that requires grad here, having no
        # derivative to protect)
        if _InferenceMode.marking:
            check_inference_inplace(self, args)
        before = _counters.created
        result = getattr(self, name)(*args, **kwargs)
        _check_value(self, name + "_", result._data, True)  # (True / False as 1 / 0)
        _write(self, result._data)
        versions.bump(self._data, before)
        return self

    method.__name__ = name + "_"
    method.__doc__ = f"In-place ``{name}``: the result written into this tensor (1 / 0)."
    return tensor_method(method, name=name + "_")


for _name in ("logical_and", "logical_or", "logical_xor", "logical_not"):
    _logical_(_name)


def _cumulative_(name: str):
    """``cumsum_`` / ``cumprod_``: as wrapped, but a bool tensor has no kernel in PyTorch (a
    0-d one is left as it is) rather than a result type that cannot be cast back."""
    wrapped = getattr(Tensor, name + "_")

    def method(self, dim, *, dtype=None):
        if dtype is not None and np.dtype(dtype) != self._data.dtype:
            # PyTorch refuses any dtype but self's, even a wider one (a silent cast here)
            raise RuntimeError(f"Bad in-place call: input tensor dtype {self.dtype} and output "
                               f"tensor dtype {dtypes.of(np.dtype(dtype))} should match")
        if self._data.dtype == np.bool_ and dtype is None:
            wrap_dim(int_arg(dim, "dim", name + "_"), self._data.ndim)
            if self._data.ndim and self._data.size:
                raise NotImplementedError(f"\"{name}_out_cpu\" not implemented for 'Bool'")
            return self
        return wrapped(self, dim, dtype=dtype)

    method.__name__, method.__doc__ = name + "_", wrapped.__doc__
    return tensor_method(method, name=name + "_")


_cumulative_("cumsum")
_cumulative_("cumprod")


@tensor_method
def float_power_(self, exponent) -> Tensor:
    """In-place ``float_power``: its result is float64, so only a float64 tensor holds it
    (PyTorch refuses the cast into any other dtype, floating ones included)."""
    exponent = _operand(exponent, "float_power_", "exponent")
    complex_ = self._data.dtype.kind == "c" or isinstance(exponent, complex) or (
        isinstance(exponent, Tensor) and exponent._data.dtype.kind == "c")
    if self._data.dtype != (np.complex128 if complex_ else np.float64):  # (complex128 too)
        raise RuntimeError(f"the base given to float_power_ has dtype {self.dtype} but the "
                           "operation's result requires dtype "
                           f"{'ComplexDouble' if complex_ else 'Double'}")
    return _inplace(self, "float_power_", lambda x: x.float_power(exponent))


def _comparing(name: str, compare):
    def compute(x, other):
        result = compare(x, other)
        if isinstance(other, Tensor) and other._rg and _GradMode.enabled:
            # PyTorch gives `other` a zero gradient (not none): a where() that never picks it.
            never = _leaf(np.zeros(result._data.shape, dtype=bool))
            result = apply(_WHERE, never, other, result)
        return result

    def method(self, other):
        other = _operand(other, name)
        # The result (True / False) is written as 1 / 0 in this tensor's dtype, as in PyTorch.
        return _inplace(self, name, lambda x: compute(x, other), cast=True)

    method.__name__ = name
    method.__doc__ = f"In-place comparison ``{name[:-1]}``: 1 where true, 0 elsewhere."
    return tensor_method(method, name=name)


# (The functions, not operators: they promote (uint8 vs int8 0-d) and refuse complex order.)
for _names, _compare in ((("eq_",), pointwise.eq),
                         (("ne_", "not_equal_"), pointwise.ne),
                         (("lt_", "less_"), pointwise.lt),
                         (("le_", "less_equal_"), pointwise.le),
                         (("gt_", "greater_"), pointwise.gt),
                         (("ge_", "greater_equal_"), pointwise.ge)):
    for _name in _names:
        _comparing(_name, _compare)


# ==============================================================================================
# Fills and copies.


@tensor_method
def zero_(self) -> Tensor:
    """Fill with zeros in place."""
    return fill_(self, 0)


@tensor_method
def fill_(self, value) -> Tensor:
    """Fill with ``value`` (a number or a 0-d tensor, whose gradient is the sum) in place."""
    if isinstance(value, Tensor) and value._data.ndim != 0:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                           f"{value._data.ndim} dimensions.")
    if not isinstance(value, Tensor):
        # (uint8: fill_(300) raises, -1 is 255; one float16 element takes 1e300: see full)
        value = fitted(value, self._data.dtype, self._data.size == 1)
    if _InferenceMode.marking:
        check_inference_inplace(self)
    if _GradMode.enabled and (self._rg or (isinstance(value, Tensor) and value._rg)
                              or _views_graph(self)) or (
            DUAL_LEAF[0] is not None and dual_written(self)):  # (a dual, under no_grad too)
        return rename_node(_inplace(self, "fill_", lambda x: _t(value, x), cast=True),
                           "FillBackward3" if isinstance(value, Tensor) else "FillBackward2")
    if not self._data.flags.writeable:  # (shared elements: all take the value, as PyTorch)
        overlap_alias(self._data, "fill_")[...] = value._data if isinstance(value, Tensor) \
            else value
    elif isinstance(value, Tensor):
        _write(self, value._data)
    else:
        self._data[...] = value
    versions.bump(self._data, _counters.created)
    return self


@tensor_method
def copy_(self, other, non_blocking: bool = False) -> Tensor:
    """Copy ``other`` (broadcast to this shape, cast to this dtype) into this tensor (PyTorch
    documents the argument as ``src``; its parser names it ``other``)."""
    src = _operand(other, "copy_")  # (a number is taken, as by PyTorch)
    if non_blocking is not False and non_blocking is not True:
        raise TypeError(f"copy_(): argument 'non_blocking' must be bool, not "
                        f"{type(non_blocking).__name__}")
    if (isinstance(src, Tensor) and (self._data.base is not None or src._data.base is not None)
            and type(src._data) is np.ndarray is type(self._data)):  # (two owners never
        check_partial_overlap(self._data, src._data, "copy_")  # overlap: 1.40 -> 1.45 us)
    if _GradMode.enabled and (self._rg or (isinstance(src, Tensor) and src._rg  # (as PyTorch:
                                           and self._data.dtype.kind in "fcV")  # not into ints)
                              or _views_graph(self)) or (
            DUAL_LEAF[0] is not None and dual_written(self)):  # (a dual, under no_grad too)
        return _inplace(self, "copy_", lambda x: _t(src, x), cast=True)
    data = src._data if isinstance(src, Tensor) else np.asarray(src)
    _check_value(self, "copy_", data, True)
    _write(self, data)
    versions.bump(self._data, _counters.created)
    return self


# ==============================================================================================
# Item assignment.


@tensor_method
def __setitem__(self, index, value) -> None:
    """``self[index] = value`` with PyTorch's indexing rule; recorded when it must be."""
    if index is False:
        return  # PyTorch selects nothing and writes nothing: any value, no graph
    first, rest = tensor_ops.put_index(index, self._data.shape, value)
    if type(value) in (int, float) and self._data.dtype.kind in "iu":
        # As fill_: out of range raises RuntimeError (uint8: -0.5 too), uint8 takes -1 as 255
        value = fitted(value, self._data.dtype)
    elif type(value) is complex and self._data.dtype.kind != "c":  # (its imaginary part:
        value = real_part_for(self._data, value)  # PyTorch's RuntimeError, SL22 s29)
    elif value is None or type(value) is str:  # (PyTorch's TypeError; NumPy wrote None as nan)
        raise TypeError(f"can't assign a {type(value).__name__} to a {self.type()}")
    elif (type(value) is float and abs(value) > _FLOAT32_MAX and value - value == 0
          and self._data.dtype.char in "fF"):  # (PyTorch's error; NumPy wrote inf; x[3] = 1.5
        # 1.28 -> 1.30 us, alternated, thread time)
        raise RuntimeError(f"value cannot be converted to type "
                           f"{'float' if self._data.dtype.char == 'f' else 'c10::complex<float>'} "
                           f"without overflow")
    elif isinstance(value, Tensor) and value._data.dtype != self._data.dtype:
        _check_put_dtype(self, index, first, rest, value)
    if _InferenceMode.marking:
        check_inference_inplace(self, (value, index))
    if _GradMode.enabled and (self._rg or (isinstance(value, Tensor) and value._rg and
                                           write_takes_grad(self._data, first, rest, value._data))
                              or _viewed_in_graph(self)) or (
            DUAL_LEAF[0] is not None and dual_written(self)):  # (a dual, under no_grad too)
        check_leaf_index(self, index)  # (PyTorch's IndexError before the leaf's error)
        _inplace(self, "__setitem__", lambda x: _put(x, first, rest, value), cast=True)
        if _writes_a_view(self._data, first, rest):
            name_node(self, _COPY_SLICES)
        if isinstance(value, Tensor):
            versions.untaint(self._data, value)  # `buf[i] += v` wrote its slice back
        return
    data = value._data if isinstance(value, Tensor) else value
    target = self._data
    data = real_part_for(target, data)  # (SL22 s29)
    if target.dtype.char == "e":  # (float16: a float64 value rounds through float32 first)
        data = through_float32(target.dtype, data)
    try:
        if rest is None:
            target[first] = data
        else:
            target[first][rest] = data
    except ValueError as error:
        message = str(error)
        if "read-only" in message:
            message = refused_write(target)
        from ..forward_errors import setitem_words  # (the rare path; PyTorch's words first)

        said = setitem_words(message)
        raise RuntimeError(f"{said}__setitem__: {message} (tensor shape {list(target.shape)}, "
                           f"value shape {list(np.shape(data))}){')' if said else ''}") from None
    versions.bump(target, _counters.created)


_FLOAT32_MAX = float(np.finfo(np.float32).max)
_COPY_SLICES = "CopySlices"  # (its name(): "torch::autograd::CopySlices", node_names.py)


def _check_put_dtype(self, index, first: tuple, rest, value: Tensor) -> None:
    """PyTorch casts a value of another dtype written through basic indices (a copy_) but not
    through index tensors (an index_put_, whose dtypes must match), except a one-element value
    under a lone boolean mask (a masked_fill_)."""
    items = first + (rest or ())
    if index is True or not any(isinstance(item, (np.ndarray, bool, np.bool_))
                                for item in items):
        return  # (a bool but a lone Python True, `x[True, i]`'s, is an index tensor to PyTorch)
    if value._data.size == 1:
        # PyTorch's index_put_ with one mask (beside ints, slices, None, ...): a masked_fill_
        left = [item for item in (index if type(index) is tuple else (index,))
                if (type(item) is bool or not isinstance(item, (int, slice))) and item is not None
                and item is not Ellipsis and not (isinstance(item, Tensor)
                                                      and item._data.ndim == 0
                                                      and item._data.dtype.kind in "iu")]
        lone = left[0]._data if len(left) == 1 and isinstance(left[0], Tensor) else (
            np.asarray(left[0]) if len(left) == 1 and type(left[0]) is list else None)
        if lone is not None and lone.ndim and lone.dtype == np.bool_:  # (a list of bools too)
            return
    # PyTorch applies the basic items (ints, slices, None) first: an int out of range is its
    # IndexError before this check (SL10's soak, s31); NumPy's read of them raises it.
    self._data[basic_items(index)]
    raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                       f"{versions.type_name(self._data.dtype)} for the destination and "
                       f"{versions.type_name(value._data.dtype)} for the source.")


def _writes_a_view(data: np.ndarray, first: tuple, rest) -> bool:
    """Whether ``data[index] = value`` writes through a strict view of ``data`` (an int, None or
    partial slice in the index: PyTorch's node is then CopySlices) rather than into it whole
    (advanced indices alone: IndexPutBackward0)."""
    if rest is not None:
        return True
    basic = tuple(slice(None) if isinstance(i, np.ndarray) else i for i in first)
    view = data[basic]
    return view.shape != data.shape or view.strides != data.strides


def _put(x: Tensor, first: tuple, rest, value) -> Tensor:
    value = _t(value, x)
    if rest is None:
        return apply(_INDEX_PUT, x, _fit(value, x._data[first].shape), index=first)
    inner = apply(_GETITEM, x, index=first)
    inner = apply(_INDEX_PUT, inner, _fit(value, inner._data[rest].shape), index=rest)
    return apply(_INDEX_PUT, x, inner, index=first)


def _fit(value: Tensor, target: tuple) -> Tensor:
    """Drop a value's leading size-1 dims beyond the target's rank (NumPy allows them)."""
    extra = value._data.ndim - len(target)
    if extra > 0 and all(n == 1 for n in value._data.shape[:extra]):
        return value.reshape(value._data.shape[extra:])
    return value
