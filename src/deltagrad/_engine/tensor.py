"""The Tensor: a NumPy array that records the ops applied to it, and the functions on tensors.

A Tensor is also its own graph node: an op's result keeps the op (``_op``), the tensors it was
applied to (``_inputs``) and the op's static attributes (``_attrs``) while it requires a
gradient. ``backward()`` hands those to the engine in ``autograd``.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import dtypes as _dtypes
from .autograd import (
    DTypeError,
    GraphError,
    _Anomaly,
    _counters,
    _GradMode,
    _InferenceMode,
    _Recording,
    check_forward,
    mark_inference,
)
from .buffers import _rows as _rows_known
from .buffers import forget_rows
from .device import CPU, MetaArray, meta_recover
from .dtypes import _Default
from .elementwise_layout import relaid as _relaid
from .forward_errors import BOOL_SUB as _BOOL_SUB
from .forward_errors import forward_error as _forward_error
from .forward_errors import shapes as _shapes
from .grad_attrs import LEAF_ONLY as _LEAF_ONLY
from .grad_attrs import LEAF_ONLY_FALSE as _LEAF_ONLY_FALSE
from .grad_attrs import AccumulateGrad, GradFn, check_grad, warn_non_leaf_grad  # noqa: F401
from .method_forms import method_form
from .modes import MAPPED, check_inference_inplace, check_inference_saved, refuse_mapped
from .node_names import node_class
from .ops import OPS
from .ops.complex import COMPLEX_DTYPES
from .ops.elementwise import _float32_unless_float64, common  # (layouts: see there)
from .ops.elementwise import quiet as _quiet_call  # (NumPy warnings off, see _binary)
from .ops.half import RULED_DTYPES, _is_number, ruled
from .ops.half import half_binary as _half_binary
from .ops.half import half_number as _half_number
from .printing import PrintOptions, grad_fn_name, tensor_repr  # noqa: F401 - re-exported
from .promotion import ScalarConversionError, int_scalar
from .subscripts import normalize as _normalize_index  # noqa: F401 - api/inplace.py's
from .tensor_args import (  # noqa: F401 - moved out (session 27, FS1); the last two re-exported
    _HALF_MAX,
    ForeignOperand,
    _cast_quietly,
    _has_operators,
    _resolve_shape,
    _shape_arg,
)
from .versions import (
    VIEW_OPS,
    adopt,
    bump,
    note_detach,
    own_counter,
    reachable_view,
    version,
)
from .versions import _own as _own_counters
from .view_index import note_view

__all__ = ["Tensor", "apply", "tensor_method"]

float32 = np.dtype(np.float32)
float64, complex128 = np.dtype(np.float64), np.dtype(np.complex128)
float16 = np.dtype(np.float16)
int64 = np.dtype(np.int64)
int32 = np.dtype(np.int32)
bool_ = np.dtype(np.bool_)

_SUBCLASS_HOOK: list = []  # (set by subclassing.py, a layer above)
_DEFAULT_FLOAT = float32  # the initial default; the current one is dtypes._Default.float
_ndarray, _BF16, _bf16 = np.ndarray, None, None  # (the last two: api/_common.py sets them)

_ADD, _SUB, _MUL, _DIV = OPS["add"], OPS["sub"], OPS["mul"], OPS["div"]
_POW, _POW_SCALAR, _MATMUL = OPS["pow"], OPS["pow_scalar"], OPS["matmul"]
_NEG, _EXP, _LOG, _TANH = OPS["neg"], OPS["exp"], OPS["log"], OPS["tanh"]
_SIGMOID, _RELU, _RESHAPE, _GETITEM = OPS["sigmoid"], OPS["relu"], OPS["reshape"], OPS["getitem"]
_CAST = OPS["cast"]
# The ops whose result may be a view of their first input's memory (PyTorch's view ops).
_VIEW_RESULTS = frozenset(OPS[name] for name in VIEW_OPS | {"packed_part", "expand", "real",
                                                              "imag", "as_strided",
                                                              "view_as_real"} if name in OPS)
_NUMPY_NEEDS_DETACH = ("Can't call numpy() on Tensor that requires grad. Use "
                       "tensor.detach().numpy() instead.")


def tensor_method(function=None, *, name: str | None = None):
    """Make a public function also a Tensor method (its first argument is the tensor).

    The functions on tensors live in ``_engine.api`` by family; each is written once, as
    PyTorch's ``deltagrad.<name>(input, ...)``, and this decorator makes ``input.<name>(...)``
    the same function. ``name`` attaches it under another name (aliases such as ``view``).
    """

    def attach(function):  # (a function taking out=: its copy without it, method_forms.py)
        setattr(Tensor, name or function.__name__, method_form(function))
        return function

    return attach(function) if function is not None else attach


# The graph slots of a leaf (``__getstate__`` gives a graph node's state these).
_LEAF_SLOTS = {"_grad": None, "_op": None, "_inputs": None, "_attrs": None, "_g": None,
               "_pending": 0, "_mark": 0, "_retain": False, "_hooks": None, "_serial": 0}

class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    Create tensors with ``deltagrad.tensor`` (or ``zeros``, ``randn``, ...). ``data`` is the
    NumPy array; ``grad`` the accumulated gradient (a Tensor) of a leaf that requires grad.

    >>> import deltagrad as dg
    >>> x = dg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([2., 4., 6.])
    """

    # `_origin` (where an op was created) is set only in anomaly mode, so it is not initialised.
    # `_serial`: when a graph node was made (versions.py); set on nodes only. `_view`: set only
    # on a view op's result made outside the graph that shares its input's memory: that input;
    # detach_() refuses views. `_views`: that input's list of them (view_index.py), if any.
    # `__dict__`: programs and libraries store their own attributes on tensors, as PyTorch
    # allows (pyro: `._pyro_dims`, `.unconstrained`); made only when first written, so the
    # slots' speed and a tensor's size are unchanged until then. copy/pickle carry it.
    __slots__ = ("_data", "_grad", "_rg", "_op", "_inputs", "_attrs", "_g", "_pending", "_mark",
                 "_retain", "_hooks", "_origin", "_serial", "_inference", "_view", "__weakref__",
                 "__dict__", "_views", "_view_base", "_counted")
    # NumPy interop as PyTorch's: a ufunc (np.exp(t), scipy.special.binom(4, t)) runs on the
    # values (`__array__`) and `__array_wrap__` makes its result a Tensor. An operator given
    # an ndarray returns NotImplemented, so `t + array` is NumPy's (NumPy's dtypes: float32 +
    # float64 array is float64; no graph: a tensor that requires grad raises in __array__);
    # the high priority makes `array + t`, `array < t` defer to Tensor, whose reflected
    # operators refuse it too: TypeError, as PyTorch's. `np.float32(2) * t` is a number's.
    __array_priority__ = 1000
    __hash__ = object.__hash__

    def __init__(self, *args, dtype=..., requires_grad: bool | None = None, device=None):
        # `Tensor(data, dtype=d)` (d None: tensor()'s rules): the library's; else the legacy one.
        array = (self._legacy_array(args, device, requires_grad) if dtype is ...  # (legacy_tensors)
                 else _as_array(args[0], dtype))
        self._data = array
        self._grad = None
        self._rg = False
        self._op = None
        self._inputs = None
        self._attrs = None
        self._g = None
        self._pending = 0
        self._mark = 0
        self._retain = False
        self._hooks = None
        self._serial = 0
        if _InferenceMode.enabled:
            self._inference = True
        if requires_grad:
            self.requires_grad_(True)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for hook in _SUBCLASS_HOOK:  # (subclassing.py: results keep a user's subclass)
            hook(cls)

    def __getstate__(self):
        # copy / deepcopy / pickle: the slots and __dict__, less `_view`, `_views` (no views);
        # a graph node's as a leaf, as PyTorch's pickle and copy.copy (requires_grad kept, no
        # grad_fn; the graph's ops cannot be pickled: gpytorch's cached LinearOperators).
        state = object.__getstate__(self)
        if type(state) is tuple and ("_view" in state[1] or "_views" in state[1]
                                     or "_view_base" in state[1]):
            state = (state[0], {k: v for k, v in state[1].items() if k[:5] != "_view"})
        if self._op is not None and type(state) is tuple:
            slots = {k: v for k, v in state[1].items() if k not in ("_origin", "_counted")}
            state = (state[0], {**slots, **_LEAF_SLOTS})
        return state

    # ---------------------------------------------------------------- attributes

    @property
    def data(self) -> Tensor:
        """The values as a new leaf that shares memory and never requires grad (PyTorch's
        ``.data``): in-place changes through it change this tensor, unseen by autograd.
        Assigning ``x.data = other`` makes ``x`` hold ``other``'s values (shape and dtype too).
        ``numpy()`` gives the ndarray itself. Its in-place changes have a version counter of
        their own, as PyTorch's: they are no in-place change of this tensor for autograd."""
        if _rows_known:  # (written where the engine cannot see, as numpy())
            forget_rows(self._data)
        data = self._data  # (a NumPy scalar from some op: no view, nothing to count)
        return _leaf(own_counter(data.view()) if type(data) is _ndarray else np.asarray(data))

    @data.setter
    def data(self, value) -> None:
        # (x keeps its own version counter over y's memory, as PyTorch's: versions.adopt)
        self._data = (adopt(value._data, self._data) if isinstance(value, Tensor)
                      else np.asarray(value))

    @property
    def grad(self):
        """The gradient accumulated by ``backward()`` (a leaf's, or a retained one), or None.
        Assigning checks it as PyTorch does (``grad_attrs.check_grad``); the engine writes the
        slot ``_grad`` itself."""
        grad = self._grad
        if grad is None and self._op is not None and not self._retain:
            warn_non_leaf_grad()
        return grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            check_grad(self, value, Tensor)
        self._grad = value

    @grad.deleter
    def grad(self) -> None:
        self._grad = None

    @property
    def requires_grad(self) -> bool:
        if self._rg and _Recording.hidden is not None:  # (a dual level: False for forward AD's
            return not _Recording.hidden(self, None)  # duals and their results; s31 BR26)
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if not isinstance(value, (bool, np.bool_)):  # (PyTorch's words; s28 BR18)
            raise RuntimeError(f"requires_grad must be a bool (got {type(value).__name__})")
        if self._op is not None:  # (PyTorch: either value, unlike requires_grad_(True))
            raise GraphError(_LEAF_ONLY + ("" if value else _LEAF_ONLY_FALSE))
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set whether this leaf records operations for differentiation; returns self."""
        if not isinstance(requires_grad, (bool, np.bool_)):  # (s28 BR18; NumPy bools taken)
            raise TypeError(f"requires_grad_(): argument 'requires_grad' (position 1) must be "
                            f"bool, not {type(requires_grad).__name__}")
        if requires_grad and self._data.dtype.kind not in "fcV":  # (V: bfloat16)
            raise DTypeError(f"only Tensors of floating point dtype can require gradients "
                             f"(this tensor is {self._data.dtype}, shape {self.shape}; complex "
                             f"ones can too)")
        if requires_grad and _InferenceMode.marking and not _InferenceMode.enabled and getattr(
                self, "_inference", False):
            raise RuntimeError("Setting requires_grad=True on inference tensor outside "
                               "InferenceMode is not allowed.")
        if self._op is not None and not requires_grad:
            raise GraphError(_LEAF_ONLY + _LEAF_ONLY_FALSE)
        if _Recording.hidden is not None and _Recording.hidden(self, bool(requires_grad)):
            return self  # (forward_ad's: it keeps carrying its tangent)
        if self._op is None and requires_grad != self._rg and getattr(self, "_view", None) is None:
            # A leaf's _serial: the node count when it first required grad (no node made
            # before can reach it: graph_walks._check_freed), -1 once it stopped (unknown).
            made = getattr(self, "_serial", 0)
            self._serial = (_counters.created if made == 0 else made) if requires_grad else -1
        self._rg = bool(requires_grad)
        return self

    @property
    def shape(self) -> tuple:
        # (the public form, returning deltagrad.Size, is attached by api/attributes.py)
        return self._data.shape

    @property
    def dtype(self) -> _dtypes.dtype:
        """The element type, a ``deltagrad.dtype`` (equal to the array's NumPy dtype too)."""
        return _dtypes.of(self._data.dtype)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def device(self):
        """Where the tensor lives: always ``deltagrad.device("cpu")``."""
        return CPU

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def layout(self) -> _dtypes.layout:
        return _dtypes.strided

    @property
    def is_cpu(self) -> bool:
        return True

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's storage (shared with its views) has seen."""
        if getattr(self, "_inference", False):  # (PyTorch's inference tensors have no counter)
            raise RuntimeError("Inference tensors do not track version counter.")
        return version(self._data)

    @property
    def is_leaf(self) -> bool:  # (a forward-AD result that reports requires_grad=False too)
        return self._op is None or (_Recording.hidden is not None and not self.requires_grad)

    @property
    def grad_fn(self) -> GradFn | None:
        if self._op is None or (_Recording.hidden is not None and not self.requires_grad):
            return None  # (as PyTorch's: a dual level's result computed only from duals)
        return node_class(self, GradFn)(self)

    @property
    def is_sparse(self) -> bool:
        return False

    def size(self, dim: int | None = None):
        return self._data.shape if dim is None else self._data.shape[dim]

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return self._data.size

    def element_size(self) -> int:
        return self._data.itemsize

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    # ---------------------------------------------------------------- conversion

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ScalarConversionError(  # (RuntimeError as PyTorch's, and a ValueError)
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar "
                f"(item(): only one-element tensors can be; this one has shape {self.shape})"
            )
        if MAPPED:  # (vmap's first example: PyTorch's error for a mapped value)
            refuse_mapped("item", self)
        return self._data.reshape(()).item()

    def tolist(self):
        if MAPPED:
            refuse_mapped("tolist", self)
        return self._data.tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The underlying array (shared, not copied), as ``Tensor.numpy()``; ``force`` detaches."""
        if self._rg and not force and _GradMode.enabled:  # (PyTorch's: under no_grad it may)
            raise GraphError(_NUMPY_NEEDS_DETACH)
        if _rows_known:  # the caller may write the array where the engine cannot see
            forget_rows(self._data)
        return self._data.view()  # (a new ndarray, as PyTorch's: `a.shape = ...` keeps t's)

    def __array__(self, dtype=None, copy=None):
        if self._rg and _GradMode.enabled:  # (np.asarray(t), np.exp(t): numpy()'s error)
            raise GraphError(_NUMPY_NEEDS_DETACH)
        if _rows_known:
            forget_rows(self._data)
        array = self._data if dtype is None else self._data.astype(dtype, copy=False)
        if array is self._data:  # (a new ndarray over the memory, as numpy()'s)
            return array.copy() if copy else array.view()
        return array

    def __array_wrap__(self, array):
        # A NumPy function's result as a new leaf (0-d too; bools uint8: np.isfinite(t)). One
        # argument as PyTorch's, so NumPy 2 warns its DeprecationWarning as there (s27 PR13).
        if not isinstance(array, np.ndarray):
            array = np.asarray(array)
        return _leaf(array.astype(np.uint8) if array.dtype == np.bool_ else array)

    # (__float__ / __int__: api/tensor_surface.py, PyTorch's warning for a tensor requiring
    # grad and its reading of complex elements)

    def _one(self):  # (PyTorch: ValueError; ScalarConversionError is one)
        if self._data.size != 1:
            raise ScalarConversionError(f"only one element tensors can be converted to Python "
                                        f"scalars, not shape {list(self.shape)}")
        return self.item()

    def __index__(self) -> int:
        if self._data.dtype.kind not in "biu" or self._data.size != 1:  # (a bool is 0 or 1)
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:  # (PyTorch's words; ScalarConversionError is a RuntimeError)
            raise ScalarConversionError("Boolean value of Tensor with " + (
                "more than one value" if self._data.size else "no values") + " is ambiguous")
        if MAPPED:  # (a Python branch on a mapped value: PyTorch's vmap error)
            refuse_mapped("bool", self)
        return bool(self._data.reshape(()))

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, outside the graph."""
        return _result(self._data, None, (self,), None, False)  # (self: for inference_mode)

    def detach_(self) -> Tensor:
        """Make this tensor a leaf outside the graph, in place; ``RuntimeError`` for a view
        (``x.t().detach_()``), as PyTorch's: use ``detach()``."""
        if reachable_view(self, _VIEW_RESULTS):
            raise RuntimeError("Can't detach views in-place. Use detach() instead. (this "
                               f"tensor, shape {tuple(self.shape)}, is a view of another)")
        note_detach(self, _counters.created)  # (consumers so far keep its node; a leaf now)
        self._rg = False
        return self

    # to / type / float / long / cpu ... (dtype and device conversions): api/conversion.py;
    # clone and contiguous (memory formats): api/attributes.py

    # ---------------------------------------------------------------- autograd

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor too during backward (a no-op on a leaf that
        requires grad; RuntimeError on a tensor that does not, as PyTorch's)."""
        if not self._rg:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._op is None:
            return
        self._retain = True
        if self._hooks is None:  # (the sweep tests `_hooks` alone for hooks and retain_grad)
            self._hooks = []

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned Tensor
        replaces the gradient. Returns a handle with ``remove()``."""
        if not self._rg:
            raise GraphError("cannot register a hook on a tensor that doesn't require gradient")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _HookHandle(self, hook)

    # The operators (arithmetic, comparisons, bitwise, T / mT, indexing): tensor_ops.py.

    # ---------------------------------------------------------------- printing

    def __repr__(self) -> str:
        return tensor_repr(self)


class _HookHandle:
    """What ``Tensor.register_hook`` returns: ``remove()``, also as a context manager (the hook
    is removed on exit), and an ``id``, as PyTorch's RemovableHandle."""

    def __init__(self, tensor, hook):
        self._tensor, self._hook = tensor, hook
        self.id = id(hook)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def remove(self) -> None:
        hooks = self._tensor._hooks
        if hooks and self._hook in hooks:
            hooks.remove(self._hook)
            if not hooks and not self._tensor._retain:
                self._tensor._hooks = None


# ==============================================================================================
# Making results: the hot path. An op's result is made by `_result` (one object, its slots set
# directly; the sweep's own `_g` and `_pending` are left to the backward that reaches it),
# reached by exactly these paths:
#
# - `apply(op, *inputs, **attrs)`: the one path, used by every registered op (api functions,
#   nn, Function). It lifts non-tensors, runs the forward, applies PyTorch's float32 rule and
#   records the node; one and two inputs skip the generic loop (sum(dim=1, keepdim=True) on
#   8 x 8: 2.2 -> 1.5 us).
# - `_binary` / `_unary`: the operators' documented fast path (`a + b`, `a * b`, `-a` and the
#   attribute-free elementwise methods such as `tanh`): PyTorch's promotion of two dtypes
#   (`_binary`) and no attributes: 0.15 us less than `apply` a call (`a * b` 0.73 against
#   0.89 us, `tanh` 0.77 against 0.91), 5% of W2's time per op, more than issue 15's 2%.
#   Their nodes that require grad are made inline, as `_result` makes them (0.03-0.06 us).
# - the common calls of hot public functions, whose arguments they have checked: `reshape` and
#   `transpose` (api/shape.py) call `_result` with their cached, resolved attributes; mean,
#   sum, amax/amin with an int dim and softmax/log_softmax go through `apply_checked`
#   (api/_common.py: the forward and the node inline, no lifting or error translation); matmul of
#   two tensors of one dtype through `_binary` (0.4-0.8 us less a call, 7% of W2-model).
#
# Results that are not differentiable (comparisons, bitwise ops, integer powers) are leaves
# (`_leaf`); an in-place op rebinds its tensor to a new node (api/inplace.py), which makes no
# result. `capture_step` replays ops recorded through any of these paths.

_new = object.__new__


def _result(data, op, inputs, attrs, requires_grad):
    # (`_g` and `_pending`, the sweep's bookkeeping, are set when a backward first reaches the
    # node: autograd._count_consumers.)
    out = _new(Tensor)
    out._data = data
    out._grad = None
    out._mark = 0
    out._retain = False
    out._hooks = None
    if requires_grad:
        out._rg = True
        # (ops/half.py; float32 tested first: one identity test on the common dtype, not a
        # set look-up: with shape.py's inline tensor test, h.reshape(8, 2, 4) under grad
        # 0.89 -> 0.85 us, transpose 0.62 -> 0.58; thread time, alternated; s29 SP47)
        out._op = (op if (kind := data.dtype) is float32
                   else ruled(op, kind) if kind in RULED_DTYPES else op)
        out._inputs = inputs
        out._attrs = attrs
        serial = _counters.created + 1
        _counters.created = serial
        out._serial = serial
        if _InferenceMode.marking:  # (once inference_mode has been used; _binary comes here)
            check_inference_saved(out)
    else:
        out._rg = False
        out._op = None
        out._inputs = None
        out._attrs = None
        if op is not None:
            if op in _VIEW_RESULTS:  # (for detach_: p.t() on 8 x 8 0.71 -> 0.79 us)
                source = inputs[0]._data
                base = data.base
                if base is not None and (base is source or base is source.base
                                         or base.base is source):  # (view_as_real's)
                    out._view, out._serial = inputs[0], _counters.created  # (versions.py)
                    if _own_counters or _GradMode.enabled or not inputs[0]._rg:  # (view_index)
                        note_view(inputs[0], out, op, attrs)
            if _Recording.notes is not None:  # capture_step is recording
                _Recording.notes[id(out)] = (out, op, inputs, attrs)
            if _Recording.tangents is not None:  # (a dual level: forward_ad._no_grad_tangent)
                _Recording.tangents(out, op, inputs, attrs)
        if _InferenceMode.marking:
            mark_inference(out, inputs)
    if _Anomaly.enabled and op is not None:
        check_forward(out, op, inputs)
    return out


def _leaf(data) -> Tensor:
    if type(data) is not _ndarray:
        data = data if type(data) is MetaArray else np.asarray(data)  # (meta.py: no values)
    return _result(data, None, None, None, False)


def _binary(op, a, b):
    # The hot path of every arithmetic operator.
    if type(b) is not Tensor:
        b = _lift(b, a, True)
    x, y = a._data, b._data
    if (dtype := x.dtype) is not y.dtype or dtype is _BF16:  # (bfloat16: see bf16.py)
        if _BF16 is not None and _BF16 in (x.dtype, y.dtype):
            return _bf16.binary(op, a, b)
        if (x.dtype is float16 or y.dtype is float16) and (
                not y.ndim or _is_number(a)) and (half := _half_binary(op, a, b)) is not None:
            return half  # (a number or a 0-d operand PyTorch's float16 kernels read: ops/half.py)
        if op is _SUB and (x.dtype.kind == "b" or y.dtype.kind == "b"):
            raise RuntimeError(_BOOL_SUB)
        if op is not _DIV or x.dtype.kind not in "biu" or y.dtype.kind not in "biu":
            # (Integer true division divides the integers' values: a number beyond uint8's
            # range, lifted as int64, must not wrap into uint8 first, as PyTorch's does not.)
            x, y = common(x, y)  # PyTorch's promotion (see promotion.py); same dtypes skip it
    try:
        data = op.forward(x, y)
    except (ValueError, TypeError) as error:
        data = meta_recover(_forward_error, op, (a, b), None, error)  # (raises: no meta)
    except RuntimeWarning:  # (inf - inf, overflow: PyTorch is silent; ops/elementwise_math.py)
        data = _quiet_call(op.forward, x, y)
    if type(data) is not _ndarray:
        data = data if type(data) is MetaArray else np.asarray(data)  # (meta.py: no values)
    if op is not _MATMUL and not (x.flags.c_contiguous and y.flags.c_contiguous):
        # (matmul is not elementwise: relaid leaves it be, so its flags are not read; h @ W
        # on 8 x 8 under grad 1.19 -> 1.11 us, thread time, 31 alternated rounds; s29 SP47)
        data = _relaid(data, (x, y), op)
    inline = True  # (a complex result goes through _result, which picks its rule)
    if data.dtype is not float32:  # (one test on the float32 path, as before)
        if data.dtype is float64:
            data = _float32_unless_float64(data, (a, b))
        inline = data.dtype not in COMPLEX_DTYPES
    if (inline and _GradMode.enabled and (a._rg or b._rg) and not _Anomaly.enabled
            and not _InferenceMode.marking):
        # The node made here, as _result makes it: 0.03-0.06 us less an op than calling it
        # (of 0.72 for a * b on 8 x 8; in apply the same saves 0.015 of 1.1, so it calls).
        out = _new(Tensor)
        out._data = data
        out._grad = out._hooks = out._attrs = None
        out._mark = 0
        out._retain = False
        out._rg = True
        out._op = op
        out._inputs = (a, b)
        out._serial = _counters.created = _counters.created + 1
        return out
    return _result(data, op, (a, b), None, _GradMode.enabled and (a._rg or b._rg))


def _unary(op, a):
    # As _binary: the hot path of the elementwise methods.
    if (x := a._data).dtype is _BF16:
        return _bf16.apply(op, (a,), None)
    try:
        data = op.forward(x)
    except RuntimeWarning:  # (as in _binary)
        data = _quiet_call(op.forward, x)
    if type(data) is not _ndarray:
        data = data if type(data) is MetaArray else np.asarray(data)  # (meta.py: no values)
    inline = True  # (as in _binary)
    if data.dtype is not float32:
        if data.dtype is float64:
            data = _float32_unless_float64(data, (a,))
        inline = data.dtype not in RULED_DTYPES  # (float16: ops/half.ruled, in _result)
    if inline and a._rg and _GradMode.enabled and not _Anomaly.enabled:
        out = _new(Tensor)
        out._data = data
        out._grad = out._hooks = out._attrs = None
        out._mark = 0
        out._retain = False
        out._rg = True
        out._op = op
        out._inputs = (a,)
        out._serial = _counters.created = _counters.created + 1
        return out
    return _result(data, op, (a,), None, _GradMode.enabled and a._rg)


def apply(op, *inputs, **attrs) -> Tensor:
    """Apply a registered op to tensors (non-tensors are lifted), recording it if needed."""
    if len(inputs) == 1:
        # One input (reductions, reshapes, softmax, activations): 0.3 us less than the loop
        # below (2.2 -> 1.5 us for sum(dim=1, keepdim=True) on 8 x 8 under grad).
        x = inputs[0]
        if type(x) is not Tensor:
            x = _lift(x, None)
            inputs = (x,)
        if x._data.dtype is _BF16:
            return _bf16.apply(op, inputs, attrs)
        try:
            data = op.forward(x._data, **attrs)
        except IndexError as error:
            raise IndexError(f"{op.name}: {error} (input shapes {_shapes(inputs)})") from None
        except (ValueError, TypeError) as error:
            data = meta_recover(_forward_error, op, inputs, attrs, error)  # (raises: no meta)
        except RuntimeWarning:  # (as in _binary)
            data = _quiet_call(op.forward, x._data, **attrs)
        requires_grad = x._rg and _GradMode.enabled
    else:
        for x in inputs:  # (a loop, cheaper than rebuilding the tuple when all are tensors)
            if type(x) is not Tensor or x._data.dtype is _BF16:
                if _BF16 is not None and _bf16.holds(inputs):
                    return _bf16.apply(op, inputs, attrs)
                inputs = tuple(x if type(x) is Tensor else _lift(x, None) for x in inputs)
                break
        try:
            if len(inputs) == 2:  # (matmul, where, the losses: 1.07 -> 0.89 us for mul)
                data = op.forward(inputs[0]._data, inputs[1]._data, **attrs)
            elif len(inputs) == 3:  # (linear with a bias, layer_norm, where: no list built)
                data = op.forward(inputs[0]._data, inputs[1]._data, inputs[2]._data, **attrs)
            else:
                data = op.forward(*[x._data for x in inputs], **attrs)
        except IndexError as error:
            raise IndexError(f"{op.name}: {error} (input shapes {_shapes(inputs)})") from None
        except (ValueError, TypeError) as error:
            data = meta_recover(_forward_error, op, inputs, attrs, error)  # (raises: no meta)
        except RuntimeWarning:  # (as in _binary)
            data = _quiet_call(op.forward, *[x._data for x in inputs], **attrs)
        requires_grad = False
        if _GradMode.enabled:
            for x in inputs:
                if x._rg:
                    requires_grad = True
                    break
    if type(data) is not _ndarray:
        data = data if type(data) is MetaArray else np.asarray(data)  # (meta.py: no values)
    if (data.dtype is float64 or data.dtype is complex128) and op is not _CAST:
        data = _float32_unless_float64(data, inputs)  # (NumPy's int64 + complex64: complex128)
    return _result(data, op, inputs, attrs or None, requires_grad)


def _lift(value, like, operator: bool = False) -> Tensor:
    """Turn a Python number, list or ndarray met in an op into a constant tensor (an operator's
    list, tuple or ndarray operand, ``operator``: ForeignOperand, so that Python asks the other
    operand: TypeError, or NumPy's result for an ndarray, as PyTorch).
    Python numbers take the other operand's dtype (``x * 2.0`` stays float32 for a float32
    ``x``), and a float number with an integer tensor gives float32, as in PyTorch."""
    if (type(value) is float or type(value) is int) and like is not None and (
            like._data.dtype is float32 or like._data.dtype is float64) and (
            -_HALF_MAX <= value <= _HALF_MAX):
        # The common case first, as the general path below ends for it (no ABC checks of
        # numbers): x * 0.6 on 8 x 8 under grad 3.5 -> 2.1 us, 1 - x 6.4 -> 4.5, addmm with
        # alpha / beta 16.9 -> 11.3 (thread time, alternated with HEAD's, medians; s21 SP6)
        return _leaf(np.asarray(value, dtype=like._data.dtype))
    if isinstance(value, Tensor):  # subclasses too: they keep their graph
        return value
    if type(value) is np.bool_ and like is not None:
        value = float(value)  # (PyTorch reads a NumPy bool as a float: int64 + np.True_ float32)
    if isinstance(value, numbers.Number) and like is not None:
        dtype = like._data.dtype
        if isinstance(value, bool):
            pass
        elif isinstance(value, numbers.Integral):
            if dtype.kind == "b":
                dtype = int64
            elif dtype.kind in "iu":
                value = int_scalar(int(value), dtype)  # out of range: int64, wrapped by the op
                if type(value) is _ndarray:
                    return _leaf(value)
            elif dtype is float16 and operator and not -2048 <= value <= 2048:
                return _half_number(value, like)  # (beyond 2048 float16 rounds ints: ops/half.py)
            elif not -_HALF_MAX <= value <= _HALF_MAX:  # (a float or complex tensor's dtype)
                return _leaf(_cast_quietly(value, dtype))
        elif isinstance(value, numbers.Real):  # (with a complex tensor: its real precision)
            if dtype.kind == "c":
                dtype = np.dtype(np.float64 if dtype.itemsize == 16 else np.float32)
            elif dtype is _BF16:  # (a float32 0-d marked as a number: bf16.number)
                return _bf16.number(value, like)
            elif dtype is float16 and operator:  # (the same for an operator's float: ops/half.py)
                return _half_number(value, like)
            elif dtype.kind != "f":
                dtype = _Default.float
            if not -_HALF_MAX <= value <= _HALF_MAX:  # (nan too: the slow path is right for it)
                return _leaf(_cast_quietly(value, dtype))
        else:  # a complex number: of a float tensor's precision, else the default's (PyTorch)
            dtype = (complex128 if dtype.itemsize == 16 or dtype == float64 else _dtypes.
                     number_complex(_Default.float) if dtype.kind in "biu" else np.dtype("c8"))
        return _leaf(np.asarray(value, dtype=dtype))
    if isinstance(value, _ndarray):
        if operator:  # (PyTorch's NotImplemented: NumPy computes it, see __array_priority__)
            raise ForeignOperand("a Tensor operator takes no ndarray")
        return _leaf(value)
    if isinstance(value, (list, tuple)) and (operator or type(value) not in (list, tuple)
                                             and _has_operators(type(value))):
        raise ForeignOperand(f"unsupported operand type: {type(value).__name__} (a Tensor "
                             "operator takes a Tensor or a number)")
    return _leaf(_as_array(value, None))


def _as_array(data, dtype) -> np.ndarray:
    """Creation rules: Python floats become the default dtype (float32 unless changed); NumPy
    arrays keep their dtype."""
    if isinstance(data, Tensor):
        data = data._data
    elif type(data).__module__.startswith("pandas"):  # (PyTorch reads one as a sequence)
        from .promotion import pandas_items  # (the rare path only)
        data = pandas_items(data)
    if dtype is not None:
        try:
            return _dtypes.new_array(data, dtype)  # (bfloat16 through float32, as PyTorch)
        except (OverflowError, ValueError) as error:  # (uint8 takes -3 as 253, as PyTorch)
            from .promotion import integer_array  # (the rare path only)
            return integer_array(data, np.dtype(_dtypes.to_numpy(dtype)), error)
    if isinstance(data, (np.ndarray, np.generic)):
        return np.array(data)
    array = np.array(data)
    if array.dtype == float64:
        array = _dtypes.default_float(array)  # (inf silent: tensor(8 floats) 2.40 -> 2.43 us)
    elif array.dtype == np.complex128 and _Default.float != float64:
        array = array.astype(_dtypes.default_complex(_Default.float))  # (the default complex)
    elif array.dtype.kind in "OUS":
        from .promotion import floats_or_error  # (the error path: PyTorch's error, or floats
        return _as_array(floats_or_error(data, array), None)  # beside ints past int64)
    return array


_LEAF_IN_PLACE = "a leaf Variable that requires grad is being used in an in-place operation."


def _check_inplace(tensor, name) -> None:
    """Before writing into ``tensor._data`` directly (a fill): PyTorch's leaf error, and the
    version bump. A tensor in a graph is refused here; api/inplace.py's ``_inplace`` rebinds it.
    """
    if _InferenceMode.marking:
        check_inference_inplace(tensor)
    if _GradMode.enabled and tensor._rg:
        if tensor._op is None:
            raise RuntimeError(_LEAF_IN_PLACE)
        raise RuntimeError(f"{name}: this in-place fill cannot be recorded on a tensor that is "
                           "part of a graph; clone() it or fill it under no_grad()")
    bump(tensor._data, _counters.created)
