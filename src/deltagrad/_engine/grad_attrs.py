"""A tensor's autograd attributes beyond its slots: the node objects ``grad_fn`` returns
(``GradFn``, ``AccumulateGrad`` in its ``next_functions``), the checks of an assignment to
``.grad`` (moved out of tensor.py, at its 800-line limit), a first ``.grad``'s layout and
whether a write into an integer tensor marks it as requiring grad (out of autograd.py and
api/inplace.py, at theirs)."""

from __future__ import annotations

import warnings
import weakref

import numpy as np

from .grad_layouts import torch_layout
from .node_names import named_inputs
from .printing import grad_fn_name
from .saved_values import saved_names, saved_value
from .versions import (
    MULTI_OUTPUT,
    retained_view,  # noqa: F401 - for autograd
)

__all__ = ["LEAF_ONLY", "LEAF_ONLY_FALSE", "AccumulateGrad", "GradFn", "check_grad",
           "in_layout", "keep_ctx_attributes", "warn_non_leaf_grad", "write_takes_grad"]

# PyTorch's error on changing requires_grad of a non-leaf (``t.requires_grad = ...`` either
# way, ``requires_grad_(False)``); the advice is added where the value set is False.
LEAF_ONLY = "you can only change requires_grad flags of leaf variables."
LEAF_ONLY_FALSE = (" If you want to use a computed variable in a subgraph that doesn't require "
                   "differentiation use var_no_grad = var.detach().")


class GradFn:
    """What produced a tensor: ``tensor.grad_fn`` (``None`` for leaves), for inspection."""

    __slots__ = ("_node",)

    def __init__(self, node):
        self._node = node

    @property
    def name(self) -> str:
        return grad_fn_name(self._node)  # a str; called, PyTorch's name ("MulBackward0")

    @property
    def inputs(self) -> tuple:
        """The tensors the op was applied to (empty once the graph has been freed)."""
        return self._node._inputs or ()

    @property
    def attrs(self) -> dict:
        attrs = dict(self._node._attrs or {})
        attrs.pop("saved_tensors_hooks", None)  # (tensor_hooks.SAVED_KEY: the packed values)
        return attrs

    @property
    def next_functions(self) -> tuple:
        """PyTorch's ``(node, output index)`` pair per input: the input's ``grad_fn``, an
        ``AccumulateGrad`` for a leaf that requires grad, ``(None, 0)`` otherwise; laid out
        as PyTorch's node's inputs (grad_layouts.py: a missing bias, linear's nodes)."""
        named = named_inputs(self._node) if self._node._inputs else None
        if named is not None:  # (a composite named as PyTorch's one node: that node's inputs)
            return tuple(_pair(inp) for inp in named)
        pairs = tuple(_pair(inp) for inp in self.inputs)
        return torch_layout(self._node, type(self).__name__, pairs)

    def __getattr__(self, name: str):
        # A custom autograd.Function's node answers with its ctx, as PyTorch's (whose grad_fn
        # is the ctx): the live ctx until backward frees the node, then the attributes forward
        # set on it (saved tensors are gone then, as in PyTorch).
        if name.startswith("__"):
            raise AttributeError(name)
        node = self._node
        piece = _piece(node)  # (a split's piece: PyTorch's node's saved sizes and dim)
        if piece is not None and name in piece[4][1]:
            return piece[4][1][name]
        ctx = node._attrs.get("ctx") if type(node._attrs) is dict else None
        if (ctx is not None and hasattr(ctx, "_saved_specs")
                and not getattr(ctx._function, "__module__", "").startswith("deltagrad.")):
            # (a user's Function only: deltagrad's own layers written as Functions, conv2d's
            # ConvolutionBackward0, are built-in nodes in PyTorch, with no ctx to read;
            # torchviz draws whatever saved_tensors a node answers)
            return getattr(ctx, name)
        entry = _CTX_KEPT.get(id(node))
        kept = (entry[1] if entry is not None and entry[0]() is node and entry[2] is node._op
                else None)  # (an in-place op since made the tensor another node)
        if kept is not None:
            if name in kept:
                return kept[name]
            if name == "saved_tensors":
                raise RuntimeError("Trying to backward through the graph a second time (or "
                                   "directly access saved tensors after they have already been "
                                   "freed). Saved intermediate values of the graph are freed "
                                   "when you call .backward() or autograd.grad(). Specify "
                                   "retain_graph=True if you need to backward through the graph "
                                   "a second time or if you need to access saved tensors after "
                                   "calling backward.")
        if name.startswith("_saved_"):  # (PyTorch's saved values of common nodes; s29 BR20)
            return saved_value(node, name, type(self).__name__)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __dir__(self):  # (with the _saved_* names the node answers, as PyTorch's dir lists)
        return sorted(set(super().__dir__()) | set(saved_names(self._node, type(self).__name__)))

    # One node, however often read: `t.grad_fn == t.grad_fn`, and sets / dicts of nodes (graph
    # walkers such as torchviz's) see each node once. The pieces of one split / chunk / unbind
    # are one node in PyTorch (a node per piece here): their grad_fns are equal, so that graph
    # walkers (torch_pruning's) see one node with several outputs.
    def __eq__(self, other) -> bool:
        return isinstance(other, GradFn) and _identity(other._node) is _identity(self._node)

    def __hash__(self) -> int:
        return id(_identity(self._node))

    def __repr__(self) -> str:  # (PyTorch's: no module path but an autograd.Function's)
        kind = type(self)
        module = "" if kind.__module__ == "builtins" else kind.__module__ + "."
        return f"<{module}{kind.__name__} object at {hex(id(self._node))}>"


def _pair(inp) -> tuple:
    """``next_functions``' entry for input ``inp``: its ``grad_fn``, an ``AccumulateGrad`` for a
    leaf that requires grad, ``(None, 0)`` otherwise."""
    fn = getattr(inp, "grad_fn", None)
    if fn is not None:
        piece = _piece(inp)  # (a split's piece: its output index of the one node)
        return (fn, 0 if piece is None else piece[2])
    if getattr(inp, "requires_grad", False):  # (not _rg: forward AD's duals say False)
        return (AccumulateGrad(inp), 0)
    return (None, 0)


def _piece(tensor) -> tuple | None:
    """``MULTI_OUTPUT``'s entry for a split / chunk / unbind piece whose node is still the one
    it was made with, or None."""
    entry = MULTI_OUTPUT.get(id(tensor)) if MULTI_OUTPUT else None
    if entry is None or len(entry) < 5 or entry[0]() is not tensor or entry[3] is not tensor._op:
        return None
    return entry


def _identity(node):
    """What a grad_fn's identity is: its node's tensor, or a split's pieces' shared token."""
    piece = _piece(node)
    return node if piece is None else piece[4][0]


# A user Function's output -> what its forward set on ctx (autograd/function.py keeps it, for
# GradFn.__getattr__ after backward): id -> (weak reference, attributes), as node_names keeps
# names (a WeakKeyDictionary cannot hold Tensors: their == is elementwise), with the node's op.
_CTX_KEPT: dict[int, tuple] = {}


def keep_ctx_attributes(tensor, attributes: dict) -> None:
    """Keep ``attributes`` (a Function ctx's public ones) readable on ``tensor.grad_fn``."""
    key = id(tensor)

    # (the table bound here: at interpreter exit the module's globals may already be None, and
    # each output still alive printed "Exception ignored in ... forget" to stderr)
    def forget(ref, key=key, kept=_CTX_KEPT):
        if key in kept and kept[key][0] is ref:
            del kept[key]

    _CTX_KEPT[key] = (weakref.ref(tensor, forget), attributes, tensor._op)


class AccumulateGrad:
    """The node that adds a leaf's gradient into its ``.grad`` (``variable`` is the leaf), as
    PyTorch names it in ``grad_fn.next_functions``."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    @property
    def next_functions(self) -> tuple:
        return ()

    def __eq__(self, other) -> bool:  # one node per leaf, as PyTorch's (cached there)
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self) -> int:
        return id(self.variable)

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self.variable))}>"


# PyTorch's names of a dtype in check_grad's message: (C++ type, ScalarType).
_C_TYPES = {"float32": ("float", "Float"), "float64": ("double", "Double"),
            "float16": ("c10::Half", "Half"), "bfloat16": ("c10::BFloat16", "BFloat16"),
            "complex64": ("c10::complex<float>", "ComplexFloat"),
            "complex128": ("c10::complex<double>", "ComplexDouble")}


def check_grad(tensor, value, tensor_class) -> None:
    """Refuse what PyTorch refuses in ``tensor.grad = value`` (``None`` is always accepted):
    a non-Tensor (TypeError), the tensor itself, or a gradient of another dtype, device or size
    (RuntimeError). The engine's own writes (backward's accumulation) bypass this: they store
    the slot ``_grad`` directly."""
    if getattr(value, "is_row_sparse", False):
        return  # (deltagrad's own sparse gradient rows, as backward stores them: optim reads it)
    if not isinstance(value, tensor_class):
        raise TypeError("assigned grad expected to be a Tensor or None but got grad of type "
                        f"{type(value).__name__}")
    if value is tensor:
        raise RuntimeError("can't assign Variable as its own grad")
    wanted = tensor.__dict__.get("_grad_dtype", tensor.dtype)  # (api/grad_dtype.py)
    if wanted is not None and value.dtype != wanted:
        have, want = (_C_TYPES.get(str(d).split(".")[-1], (str(d),) * 2)
                      for d in (value.dtype, wanted))
        raise RuntimeError(f"attempting to assign a gradient with dtype '{have[0]}' to a "
                           f"tensor with grad_dtype '{want[1]}'. The gradient must match the "
                           "tensor's grad_dtype (defaults to the tensor's dtype). You can set "
                           "the tensor's grad_dtype attribute with a specific dtype, or None "
                           "to allow any dtype.")
    if value.device != tensor.device:
        raise RuntimeError(f"attempting to assign a gradient with device '{value.device}' to "
                           f"a tensor with device '{tensor.device}'. Please ensure that the "
                           "gradient and the tensor are on the same device")
    if tuple(value.shape) != tuple(tensor.shape):
        raise RuntimeError(f"attempting to assign a gradient of size '{list(value.shape)}' to "
                           f"a tensor of size '{list(tensor.shape)}': assigned grad has data "
                           "of a different size. Please ensure that the gradient and the "
                           "tensor are the same size")


def warn_non_leaf_grad() -> None:
    """PyTorch's warning on reading the (empty) ``.grad`` of a non-leaf that does not retain
    its gradient."""
    warnings.warn(
        "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its "
        ".grad attribute won't be populated during autograd.backward(). If you indeed want the "
        ".grad field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf "
        "Tensor. If you access the non-leaf Tensor by mistake, make sure you access the leaf "
        "Tensor instead.", UserWarning, stacklevel=3)


def in_layout(g: np.ndarray, node) -> np.ndarray:
    """A private copy of ``g`` with the strides of ``node``'s array where it is a leaf:
    PyTorch's AccumulateGrad gives a first ``.grad`` its parameter's layout
    (``w.t().sum().backward()`` leaves ``w.grad`` contiguous, so ``w.grad.view(-1)`` works;
    found by tests/parity/s17_SL_progfuzz.py). A leaf that overlaps itself gets a contiguous
    one, and so does a non-leaf (``retain_grad``, ``backward(inputs=[y])``: PyTorch's is
    contiguous whatever the layouts of ``y`` and of its gradient; s18 SL3)."""
    if node._op is not None or not _dense(node._data):
        # (an expanded or strided leaf: PyTorch's AccumulateGrad makes it contiguous; NumPy's
        # empty_like kept the stride order, (1, 6, 2) for expand(2, 2, 3); s27 SL15)
        return np.array(g, order="C")
    out = np.empty_like(node._data, dtype=g.dtype)
    np.copyto(out, g)
    return out


def _dense(a) -> bool:
    """Whether ``a``'s elements fill its memory once each, in some order of dims (PyTorch's
    is_non_overlapping_and_dense; a negative stride counts as not)."""
    if a.flags.c_contiguous or a.flags.f_contiguous:
        return True
    expected = a.itemsize
    for stride, size in sorted((s, n) for s, n in zip(a.strides, a.shape) if n != 1):
        if stride != expected:
            return False
        expected *= size
    return True


def write_takes_grad(target: np.ndarray, first: tuple, rest, value: np.ndarray) -> bool:
    """Whether ``self[index] = value`` with a value that requires grad makes ``self`` (its
    array ``target``; ``first`` and ``rest`` the normalized index, ``value`` the value's array)
    require grad, as in PyTorch: always for a float tensor. An integer or bool one is marked
    through index tensors (index_put_) and where a 0-d value fills a region of one or more
    dims (its fill_, which marks, as ``ints.fill_(w)`` does); not where the write is a copy_
    (a value with dims, or one element selected), which takes no grad into such a tensor."""
    if target.dtype.kind in "fcV":
        return True
    if any(isinstance(item, np.ndarray) for item in first + (rest or ())):
        return True
    if value.ndim:
        return False
    region = target[first]
    if rest is not None:
        region = region[rest]
    return np.ndim(region) > 0
