"""PyTorch's names for the graph nodes deltagrad's ops make, as ``grad_fn=<MulBackward0>`` prints
them. Several PyTorch functions share one deltagrad primitive (``view``, ``squeeze`` and
``flatten`` are all ``reshape``); the name is then read from the shapes and attributes, as near
as they tell (tests/parity/test_parity_s5_printing.py checks the common cases against PyTorch).
A composite (``mse_loss`` is a mean of products) names its result with ``name_node``.
This module imports NumPy and the engine's modes only (and the op registry, lazily)."""

from __future__ import annotations

import copy
import weakref

import numpy as np

from . import modes
from .ops import complex as _complex

__all__ = ["GradFnName", "grad_fn_name", "name_node", "named_inputs", "named_node",
           "node_class", "rename_node", "torch_node_name"]

# Names given by name_node, keyed by id() as nn.Parameter's mark (a WeakSet cannot hold Tensors):
# id -> (weak reference, name, the op of the node named, weak references to PyTorch's node's
# inputs or None: name_node's ``inputs``). The op, not the inputs, is compared
# later: backward frees the inputs, and holding them here would keep their arrays alive.
_NAMED: dict[int, tuple] = {}


def name_node(tensor, name: str, inputs: tuple | None = None):
    """Print ``tensor``'s node as PyTorch's ``name`` (a composite's result, as ``mse_loss``'s
    ``MseLossBackward0``) until an in-place op of another kind replaces that node.

    Args:
        tensor: the composite's result (nothing happens if it has no node).
        name: PyTorch's node class name.
        inputs: the inputs of PyTorch's node (``mse_loss``'s input and target), which its
            ``grad_fn.next_functions`` then lists (``named_inputs``) in place of the
            composite's last op's; held by weak reference, as the name.

    Returns:
        ``tensor`` itself.
    """
    if tensor._op is None:
        return tensor
    key = id(tensor)

    def forget(ref, key=key):
        if key in _NAMED and _NAMED[key][0] is ref:
            del _NAMED[key]

    refs = None if inputs is None else tuple(  # (one that takes no gradient: (None, 0))
        weakref.ref(x) if getattr(x, "_rg", False) else None for x in inputs)
    _NAMED[key] = (weakref.ref(tensor, forget), name, tensor._op, refs)
    return tensor


def named_inputs(tensor) -> tuple | None:
    """The inputs of PyTorch's node that ``name_node`` recorded for ``tensor``'s current node
    (None where an input takes no gradient), or None: none recorded, or one since gone."""
    entry = _NAMED.get(id(tensor))
    if entry is None or entry[3] is None or entry[0]() is not tensor or entry[2] is not tensor._op:
        return None
    inputs = tuple(None if ref is None else ref() for ref in entry[3])
    return None if any(x is None and ref is not None for x, ref in zip(inputs, entry[3])) \
        else inputs


# rename_node's twins: (op, PyTorch's name) -> a copy of the op whose nodes carry that name, and
# twin -> name (ops live as long as the library: a few entries per op named so).
_TWINS: dict = {}
_TWIN_NAMES: dict = {}


def rename_node(tensor, name: str):
    """Name ``tensor``'s node as PyTorch's ``name`` where the node is the whole of the PyTorch
    function (masked_fill's ``where``, sort's ``gather``): the node takes a twin of its op, the
    same rule under another name. A slot write where ``name_node`` keeps a weak reference per
    node: 0.16 against 1.5-2.4 us a call (thread time, 20,000 calls; masked_fill on 8 x 8 is
    about 11 us).

    Args:
        tensor: the function's result (nothing happens if it has no node).
        name: PyTorch's node class name.

    Returns:
        ``tensor`` itself.
    """
    op = tensor._op
    if op is None:
        return tensor
    twin = _TWINS.get((op, name))
    if twin is None:
        twin = _TWINS[(op, name)] = copy.copy(op)
        _TWIN_NAMES[twin] = name
    tensor._op = twin
    return tensor


# PyTorch's names of view nodes (its _is_view() is True on their outputs): a view op's node
# named otherwise (``named_as_copy``) is a copy in PyTorch.
_VIEW_NAMES = frozenset({
    "AliasBackward0", "AsStridedBackward0", "ConjBackward0", "CopySlices", "DiagonalBackward0",
    "ExpandBackward0", "ImagBackward0", "IndicesBackward0", "IndicesBackward1",
    "NegViewBackward0", "PermuteBackward0", "RealBackward0", "ReshapeAliasBackward0",
    "SelectBackward0", "SliceBackward0", "SplitBackward0", "SplitWithSizesBackward0",
    "SqueezeBackward0", "SqueezeBackward1", "SqueezeBackward2", "SqueezeBackward3",
    "SqueezeBackward4", "TBackward0", "TransposeBackward0", "TransposeBackward1",
    "UnbindBackward0", "UnfoldBackward0", "UnsqueezeBackward0", "ValuesBackward0",
    "ValuesBackward1", "ViewAsComplexBackward0", "ViewAsRealBackward0", "ViewBackward0"})


def named_as_copy(tensor) -> bool:
    """Whether ``tensor``'s node carries a PyTorch name (``name_node``'s or ``rename_node``'s)
    that is not a view's: the last step of a composite (a reshape of its internal copy) is a
    view in deltagrad, not in PyTorch."""
    name = _TWIN_NAMES.get(tensor._op)
    if name is None:
        entry = _NAMED.get(id(tensor))
        if entry is None or entry[0]() is not tensor or entry[2] is not tensor._op:
            return False
        name = entry[1]
    return name not in _VIEW_NAMES


# Other modules' look-ups of a name by tensor (split's pieces: shape_splits.py keeps a table of
# them already); each takes the tensor and returns PyTorch's name or None.
NAMERS: list = []


def named_node(tensor) -> str | None:
    """The name ``name_node`` (or one of ``NAMERS``) gave ``tensor``'s current node, or None."""
    entry = _NAMED.get(id(tensor))
    if entry is None or entry[0]() is not tensor or entry[2] is not tensor._op:
        for namer in NAMERS:
            name = namer(tensor)
            if name is not None:
                return name
        return None
    return entry[1]

# One name whatever the inputs (PyTorch's class names; checked against PyTorch 2.13).
_FIXED = {
    "add": "AddBackward0", "mul": "MulBackward0", "neg": "NegBackward0",
    "exp": "ExpBackward0", "log": "LogBackward0", "sqrt": "SqrtBackward0",
    "rsqrt": "RsqrtBackward0", "sin": "SinBackward0", "cos": "CosBackward0",
    "tan": "TanBackward0", "tanh": "TanhBackward0", "abs": "AbsBackward0",
    "sigmoid": "SigmoidBackward0", "relu": "ReluBackward0", "gelu": "GeluBackward0",
    "leaky_relu": "LeakyReluBackward0", "hardtanh": "HardtanhBackward0",
    "softplus": "SoftplusBackward0", "elu": "EluBackward0", "silu": "SiluBackward0",
    "mish": "MishBackward0", "hardswish": "HardswishBackward0",
    "hardsigmoid": "HardsigmoidBackward0", "softshrink": "SoftshrinkBackward0",
    # (here, not name_node per call: its weak reference and callback cost 0.5 us, thread
    # time, 40 alternated rounds; threshold_'s ThresholdBackward1 is named so)
    "hardshrink": "HardshrinkBackward0", "threshold": "ThresholdBackward0",
    "prelu": "PreluKernelBackward0",
    "logsigmoid": "LogSigmoidBackward0", "softmax": "SoftmaxBackward0",
    "log_softmax": "LogSoftmaxBackward0", "maximum": "MaximumBackward0",
    "minimum": "MinimumBackward0", "where": "WhereBackward0", "clamp": "ClampBackward1",
    # (clamp's tensor bounds: overload 0; clamp_min / clamp_max rename theirs; s28 SL17)
    "clamp_tensor": "ClampBackward0", "clamp_min": "ClampBackward0",
    "clamp_max": "ClampBackward0", "layer_norm": "NativeLayerNormBackward0",
    "embedding": "EmbeddingBackward0", "clone": "CloneBackward0", "expand": "ExpandBackward0",
    "repeat": "RepeatBackward0",
    "cast": "ToCopyBackward0", "cumsum": "CumsumBackward0", "cumprod": "CumprodBackward0",
    "var": "VarBackward0", "std": "StdBackward0",
    "logsumexp": "LogsumexpBackward0", "vector_norm": "LinalgVectorNormBackward0",
    "gather": "GatherBackward0", "dropout": "MulBackward0", "pow_scalar": "PowBackward0",
    "cross_entropy_index": "NllLossBackward0", "softmax_cross_entropy": "NllLossBackward0",
    "gru_cell": "AddBackward0",  # (PyTorch's CPU GRUCell is composed: its last op, s30 PR24)
    "binary_cross_entropy": "BinaryCrossEntropyBackward0", "diagonal": "DiagonalBackward0",
    "unfold": "UnfoldBackward0",
    "index_put": "IndexPutBackward0", "scatter_sum": "ScatterAddBackward0",
    "scatter_reduce": "ScatterReduceBackward0", "log1p": "Log1PBackward0",
    "expm1": "Expm1Backward0", "log2": "Log2Backward0", "log10": "Log10Backward0",
    "exp2": "Exp2Backward0", "deg2rad": "Deg2RadBackward0", "rad2deg": "Rad2DegBackward0",
    "ctc_loss": "CtcLossBackward0", "matrix_exp": "LinalgMatrixExpBackward0",
    "linalg_inv": "LinalgInvExBackward0", "linalg_det": "LinalgDetBackward0",
    "linalg_logabsdet": "LinalgSlogdetBackward0", "linalg_solve": "LinalgSolveExBackward0",
    "linalg_cholesky": "LinalgCholeskyExBackward0", "linalg_eigh": "LinalgEighBackward0",
    "linalg_svd": "LinalgSvdBackward0", "svdvals": "LinalgSvdBackward0",
    "linalg_qr": "LinalgQrBackward0", "nan_to_num": "NanToNumBackward0",
    # (the FFT primitives here, not name_node per call: op_overhead.py _fft_r2c 0.75 -> 0.70
    # x PyTorch; their default names, FftC2cBackward0, ..., had PyTorch's case wrong in the
    # nodes rules record for double backward; s27 SP37)
    "_fft_c2c": "FftC2CBackward0", "_fft_r2c": "FftR2CBackward0", "_fft_c2r": "FftC2RBackward0",
    "heaviside": "NotImplemented",  # (PyTorch has no derivative for it: its backward raises)
    "div_rounding": "DivBackward2",  # (s28 SL17: with the special functions' names below)
    # (a stack made of cat, shape.stack's other path, names itself: a cat of unsqueezed
    # inputs, 0-d ones reshaped by the user too, was read as a stack)
    "cat": "CatBackward0",
    "i0e": "SpecialI0EBackward0", "i1": "SpecialI1Backward0", "i1e": "SpecialI1EBackward0",
    "ndtri": "SpecialNdtriBackward0", "log_ndtr": "SpecialLogNdtrBackward0",
    "erfcx": "SpecialErfcxBackward0", "entr": "SpecialEntrBackward0",
}

# The library's own autograd.Functions (nn layers), by class name.
_FUNCTIONS = {
    "_ConvFunction": "ConvolutionBackward0", "_Conv1dFunction": "ConvolutionBackward0",
    "_ConvTransposeFunction": "ConvolutionBackward0", "_Maxima": "MaxPool2DWithIndicesBackward0",
    "_WindowMean": "AvgPool2DBackward0", "_Unfold": "Im2ColBackward0", "_Fold": "Col2ImBackward0",
    "_GridSample": "GridSampler2DBackward0", "_BagReduce": "EmbeddingBagBackward0",
    "_HookIdentity": "BackwardHookFunctionBackward", "_Checkpoint": "CheckpointFunctionBackward",
    "LinalgEig": "LinalgEigBackward0",
    "_BatchNormTrain": "NativeBatchNormBackward0", "_BatchNormEval": "NativeBatchNormBackward0",
    # (pointwise_math.no_derivative_node's unregistered op: PyTorch records no derivative)
    "floor_divide": "NotImplemented",
}


# After backward has freed a node's inputs (and attributes), the name they would have chosen is
# guessed: the commonest use (a loss is a full sum; `x @ w` is 2-d; `.max()` more often than
# `.amax()`).
_FREED = {
    "sum": "SumBackward0", "mean": "MeanBackward0", "prod": "ProdBackward0",
    "amax": "MaxBackward1", "sub": "SubBackward0", "div": "DivBackward0", "pow": "PowBackward1",
    "matmul": "MmBackward0", "linear": "AddmmBackward0", "reshape": "ViewBackward0",
    "permute": "PermuteBackward0", "getitem": "SliceBackward0", "cat": "CatBackward0",
    "pad": "ConstantPadNdBackward0",
}

# ... those of them whose name reads the inputs (the others keep their attributes: Op.keeps).
_BY_INPUTS = frozenset({"sub", "div", "pow", "matmul", "linear"})


def _by_dim(name: str, attrs: dict) -> str:
    # sum(), mean(), prod() over everything are overload 0; with a dim, overload 1.
    return f"{name}Backward{0 if attrs.get('dim') is None else 1}"


def _scalar_first(inputs) -> bool:
    # `2 - x`: the Python number arrives as a 0-d leaf that needs no gradient.
    first, second = inputs[0], inputs[1]
    return (first._data.ndim == 0 and not first._rg and first._op is None
            and second._data.ndim > 0)


def _number(t) -> bool:
    # A Python number's 0-d leaf (a 0-d tensor that needs no gradient reads the same).
    return t._data.ndim == 0 and not t._rg and t._op is None


# PyTorch's overloads by which operands are numbers (s28 SL17): (number second, number first,
# neither). ``2 % x`` has no derivative in PyTorch (remainder.Scalar_Tensor).
_BY_NUMBERS = {
    "remainder": ("RemainderBackward0", "NotImplemented", "RemainderBackward1"),
    "fmod": ("FmodBackward0", "FmodBackward1", "FmodBackward1"),
    "xlogy": ("XlogyBackward2", "XlogyBackward1", "XlogyBackward0"),
    "xlog1py": ("SpecialXlog1PyBackward2", "SpecialXlog1PyBackward1", "SpecialXlog1PyBackward0"),
    "zeta": ("SpecialZetaBackward2", "SpecialZetaBackward1", "SpecialZetaBackward0"),
}


def _by_numbers(name: str, inputs) -> str:
    names = _BY_NUMBERS[name]
    first, second = _number(inputs[0]), _number(inputs[1])
    if second and not first:
        return names[0]
    return names[1] if first and not second else names[2]


def _matmul(inputs) -> str:
    left, right = inputs[0]._data.ndim, inputs[1]._data.ndim
    if left == 1 and right == 1:
        return "DotBackward0"
    if left == 2 and right == 2:
        return "MmBackward0"
    if left == 2 and right == 1:
        return "MvBackward0"
    if left == 1:
        return "SqueezeBackward4"
    return "UnsafeViewBackward0"


def _linear(inputs) -> str:
    ndim = inputs[0]._data.ndim
    if len(inputs) > 2 and inputs[2] is not None:
        return "AddmmBackward0" if ndim == 2 else "ViewBackward0"
    return {1: "SqueezeBackward4", 2: "MmBackward0"}.get(ndim, "UnsafeViewBackward0")


class SqueezeAttrs(dict):
    """A reshape's attributes as ``squeeze`` / ``unsqueeze`` record them: ``name`` is PyTorch's
    node (``SqueezeBackward0`` for all dims, ``1`` for one, ``2`` for a tuple;
    ``UnsqueezeBackward0``). Other reshapes are views, whatever 1s they add or drop."""

    name = "SqueezeBackward1"


class ViewAttrs(dict):
    """... as ``view`` records them: ``ViewBackward0`` whatever the dims (PyTorch's view of
    [n, 1] as [n] is a view, not the squeeze that a reshape adding or dropping 1s names)."""


def _reshape(attrs: dict, inputs, node=None) -> str:
    if type(attrs) is SqueezeAttrs:
        return attrs.name
    if type(attrs) is ViewAttrs:
        return "ViewBackward0"
    before = inputs[0]._data
    if before.flags.c_contiguous:
        return "ViewBackward0"
    # A strided input whose reshape is a view all the same (a diagonal as a column): PyTorch's
    # _reshape_alias (s28 SL17); one that copied is the _unsafe_view of its copy.
    after = getattr(node, "_data", None)
    if type(after) is np.ndarray and type(before) is np.ndarray and after.size and \
            np.shares_memory(after, before):
        return "ReshapeAliasBackward0"
    return "UnsafeViewBackward0"


class PermuteAttrs(dict):
    """The permute op's attributes as ``permute`` / ``movedim`` record them: the node is
    PyTorch's ``PermuteBackward0`` whatever the dims (a dict subclass: no cost, and it
    survives as the node's ``_attrs``)."""


class TransposeAttrs(dict):
    """... as ``transpose`` / ``swapaxes`` record them: ``TransposeBackward0``."""


class TAttrs(dict):
    """... as ``t()`` records them: ``TBackward0``."""


_MARKED = {PermuteAttrs: "PermuteBackward0", TransposeAttrs: "TransposeBackward0",
           TAttrs: "TBackward0"}


def _permute(attrs: dict) -> str:
    marked = _MARKED.get(type(attrs))
    if marked is not None:
        return marked
    dims = tuple(attrs.get("dims", ()))
    moved = [i for i, d in enumerate(dims) if i != d]
    if len(moved) == 2:
        return "TBackward0" if len(dims) == 2 else "TransposeBackward0"
    return "PermuteBackward0"


def _getitem(attrs: dict) -> str:
    # PyTorch applies a basic index left to right; the node is that of the last step that did
    # something (a full slice `:` still slices; `...` alone is an alias).
    index = attrs.get("index", ())
    if not isinstance(index, tuple):
        index = (index,)
    last = "AliasBackward0"
    for item in index:
        if isinstance(item, (np.ndarray, list)) or hasattr(item, "stand_in"):  # (MetaArray)
            return "IndexBackward0"
        if item is None:
            last = "UnsqueezeBackward0"
        elif isinstance(item, slice):
            last = "SliceBackward0"
        elif item is not Ellipsis:
            last = "SelectBackward0"
    return last


def torch_node_name(op, attrs: dict | None, inputs, node=None) -> str:
    """The class name PyTorch gives the node of ``op`` applied to ``inputs`` with ``attrs``.

    Args:
        op: the registered op (``tensor._op``) or a user ``autograd.Function``'s op.
        attrs: the op's static attributes (``tensor._attrs``; may be None).
        inputs: the tensors it was applied to (``tensor._inputs``; may be None once freed).
        node: the tensor whose node it is, if any (a freed reshape: whether it kept a base).

    Returns:
        PyTorch's name, such as ``"MulBackward0"``; ``"<Name>Backward"`` for a user Function.
    """
    renamed = _TWIN_NAMES.get(op) or _TWIN_NAMES.get(getattr(op, "unhooked", None))
    if renamed is not None:
        return renamed
    op = getattr(op, "unhooked", op)  # (a node whose saved values were packed: tensor_hooks)
    name = op.name
    inputs = tuple(inputs or ())
    from .ops.registry import OPS  # lazily: the registry imports the engine's pieces

    registered = OPS.get(name)
    if registered is not op and (registered is None or registered.forward is not op.forward):
        # an autograd.Function: the library's own, else the user's, named as PyTorch names it
        # (a registered op's twins, bfloat16's checked one and complex's, share its forward)
        return _FUNCTIONS.get(name, f"{name}Backward")
    if name in ("nll_loss", "softmax_cross_entropy") and inputs and inputs[0].ndim > 2 and (
            attrs or {}).get("gather", True):
        # (class indices over [N, C, d1, ...]: PyTorch's nll_loss2d; nn/_cross_entropy_nd.py)
        reduction = (attrs or {}).get("reduction")
        return "ViewBackward0" if reduction == "none" and inputs[0].ndim != 4 else (
            "NllLoss2DBackward0")
    if name in _FIXED:
        return _FIXED[name]
    if not inputs and name in _FREED and (attrs is None or name in _BY_INPUTS or (
            name == "reshape" and type(attrs) is not SqueezeAttrs
            and type(attrs) is not ViewAttrs)):
        if name == "reshape" and node is not None and attrs is not None:
            # (the sweep kept the base of a reshape that was a view: one that copied is
            # PyTorch's _unsafe_view of its copy)
            if getattr(node, "_view_base", None) is None:
                return "UnsafeViewBackward0"
        return _FREED[name]  # (freed: the ops of Op.keeps still have their attributes)
    attrs = attrs or {}
    if name in ("sum", "mean", "prod"):
        return _by_dim(name.capitalize(), attrs)
    if name in ("amax", "amin"):
        if attrs.get("share_nan") and attrs.get("dim") is None:
            return "MaxBackward1" if name == "amax" else "MinBackward1"  # x.max(), x.min()
        return "AmaxBackward0" if name == "amax" else "AminBackward0"
    if len(inputs) >= 2 and name in ("sub", "div", "pow"):
        scalar = _scalar_first(inputs)
        if name == "sub":
            return "RsubBackward1" if scalar else "SubBackward0"
        if name == "div":
            return "MulBackward0" if scalar else "DivBackward0"  # 1 / x is x.reciprocal() * 1
        return "PowBackward2" if scalar else "PowBackward1"
    if len(inputs) >= 2 and name in _BY_NUMBERS:
        return _by_numbers(name, inputs)
    if name == "lerp" and len(inputs) == 3:  # (a number weight: overload 0)
        return "LerpBackward0" if _number(inputs[2]) else "LerpBackward1"
    if name == "matmul" and len(inputs) == 2:
        return _matmul(inputs)
    if name == "linear" and inputs:
        return _linear(inputs)
    if name == "reshape":
        return _reshape(attrs, inputs, node)
    if name == "permute":
        return _permute(attrs)
    if name == "getitem":
        return _getitem(attrs)
    if name == "pad" and attrs.get("mode", "constant") == "constant":
        return "ConstantPadNdBackward0"
    return "".join(part.capitalize() for part in name.split("_")) + "Backward0"


class GradFnName(str):
    """``grad_fn.name``: deltagrad's op name (a plain string, ``"mul"``) that, called as PyTorch's
    ``grad_fn.name()``, returns PyTorch's node name (``"MulBackward0"``)."""

    def __call__(self) -> str:
        return self._torch_name

    def __reduce__(self):
        return str, (str(self),)  # pickles as the plain string


def grad_fn_name(node) -> GradFnName:
    """The ``GradFnName`` of a tensor's node (``node`` the tensor that owns it)."""
    name = GradFnName(node._op.name)
    torch_name = named_node(node) or torch_node_name(node._op, node._attrs, node._inputs, node)
    name._torch_name = _QUALIFIED.get(torch_name, torch_name)
    return name


modes.node_name[0] = lambda node: grad_fn_name(node)()  # (anomaly mode's error names the node)


# PyTorch's nodes written in C++ outside the generated ones: name() qualifies their class name.
_QUALIFIED = {"CopySlices": "torch::autograd::CopySlices",
              "NotImplemented": "torch::autograd::NotImplemented"}


# PyTorch's graph nodes are instances of one class per kind of node, so programs read
# ``type(y.grad_fn).__name__`` ("MulBackward0", "MyFnBackward"). One subclass of the grad_fn
# class per name, made when a grad_fn of that name is first looked at: recording a graph never
# comes here.
_NODE_CLASSES: dict = {}


def node_class(node, base: type) -> type:
    """The subclass of ``base`` named as PyTorch's class of ``node``'s graph node.

    Args:
        node: a tensor with a node (``tensor._op`` set).
        base: the grad_fn class (``_engine.tensor.GradFn``).

    Returns:
        A subclass of ``base`` with no state of its own, named e.g. ``"MulBackward0"``.
    """
    name = named_node(node) or torch_node_name(node._op, node._attrs, node._inputs, node)
    # (PyTorch's node classes print as <class 'MulBackward0'>: module builtins; s28 SL17. An
    # autograd.Function's, "<Name>Backward" with no number, is a Python class of
    # torch.autograd.function: <torch.autograd.function.MyCubeBackward object at ...>; s29 PR20)
    module = "builtins"
    if name.endswith("Backward") and name.isidentifier():
        from .dtypes import PREFIX  # ('torch' while deltagrad runs as torch)

        module = PREFIX[0] + ".autograd.function"
    cls = _NODE_CLASSES.get((name, base, module))
    if cls is None:
        cls = type(name, (base,), {"__slots__": (), "__module__": module})
        _NODE_CLASSES[(name, base, module)] = cls
    return cls


def _name_as(tensor, inner) -> None:
    """``tensor`` (a conjugate of ``inner``) named as ``inner``'s node, with its inputs
    (ops/complex.py's ``_conj``)."""
    if getattr(tensor, "_op", None) is not None and getattr(inner, "_op", None) is not None:
        name_node(tensor, grad_fn_name(inner)(), inner._inputs)


_complex.NAME_AS[0] = _name_as
