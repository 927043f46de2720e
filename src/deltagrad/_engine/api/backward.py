"""Backward: ``Tensor.backward``, ``grad``, and the Tensor namespace rules use under
``create_graph=True`` (so that the backward pass is itself recorded)."""

from __future__ import annotations

import numbers
import threading
import warnings

import numpy as np

from ..autograd import (
    GraphError,
    ShapeError,
    _accumulate_leaf,
    _GradMode,
    _InferenceMode,
    _Recording,
    backward_one,
    mark_inference,
    post_accumulate_hooks,
    run_backward,
)
from ..meta import NO_DATA, MetaArray
from ..ops import OPS
from ..tensor import Tensor, _leaf, apply, tensor_method
from .pointwise import where
from .recorded_steps import recorded_step
from .shape import cat, stack
from .sparse import gradient_leaf

__all__ = ["grad"]


# ==============================================================================================
# Graph tasks: while a multi-grad hook lives (autograd/graph.py's register_multi_grad_hook
# counts them in ``tracking``), each backward() / grad() call runs as a task, so that the
# hooks called during its sweep know which call they belong to and can leave a callback that
# runs once the sweep is done (PyTorch's graph task). With none alive the cost is one list
# read per backward(): ~40 ns (timeit of the test, shared machine), 0.1% of
# x.exp().sum().backward()'s 41 us on 8 x 8.


class GraphTask:
    """One backward() or grad() call: the callbacks to run when its sweep ends."""

    __slots__ = ("callbacks", "started", "create_graph", "__weakref__")

    def __init__(self, create_graph: bool) -> None:
        self.callbacks: list = []
        self.started = False
        self.create_graph = create_graph


tracking = [0]
_local = threading.local()  # (each thread's backward calls are tasks of their own)


def _tasks() -> list:
    tasks = getattr(_local, "tasks", None)
    if tasks is None:
        tasks = _local.tasks = []
    return tasks


def current_task() -> GraphTask | None:
    """The task of the innermost backward() / grad() call running in this thread (None: none,
    or no multi-grad hook was alive when it began)."""
    tasks = _tasks()
    return tasks[-1] if tasks else None


def _claim_task() -> bool:
    """At the top of backward() / grad(): whether the call must run itself as a new task (a
    multi-grad hook lives and this call is not the one its task was made for)."""
    tasks = _tasks()
    if tasks and not tasks[-1].started:
        tasks[-1].started = True
        return False
    return True


def _as_task(run, create_graph, *args):
    task = GraphTask(bool(create_graph))
    tasks = _tasks()
    tasks.append(task)
    try:
        result = run(*args)
    finally:
        tasks.pop()
    if task.callbacks:  # (only after a sweep that finished)
        # In the sweep's grad mode, as hooks that PyTorch calls during the sweep run.
        previous_mode = _GradMode.enabled
        _GradMode.enabled = task.create_graph
        try:
            for callback in task.callbacks:
                callback()
        finally:
            _GradMode.enabled = previous_mode
    return result


# ==============================================================================================
# The Tensor namespace that VJP rules compute with under create_graph=True: the same names as
# ops.ARRAY, each a differentiable op .


class _TensorNamespace:
    @staticmethod
    def exp(x):
        return x.exp()

    @staticmethod
    def log(x):
        return x.log()

    @staticmethod
    def sqrt(x):
        return x.sqrt()

    @staticmethod
    def sin(x):
        return x.sin()

    @staticmethod
    def cos(x):
        return x.cos()

    @staticmethod
    def zeros_like(x):
        return _leaf(np.zeros_like(x._data))

    @staticmethod
    def ones_like(x):
        return _leaf(np.ones_like(x._data))

    @staticmethod
    def where(condition, x, y):
        # Rules pass ndarray masks and values; the public where takes Tensors (numbers for
        # x, y) only, as PyTorch's does.
        if not isinstance(condition, Tensor):
            condition = _leaf(np.asarray(condition))
        x, y = (v if isinstance(v, (Tensor, numbers.Number)) else _leaf(np.asarray(v))
                for v in (x, y))
        return where(condition, x, y)

    @staticmethod
    def matmul(a, b):
        return a.matmul(b)

    @staticmethod
    def reshape(x, shape):
        return x.reshape(shape)

    @staticmethod
    def transpose(x, axes):
        return x.permute(axes)

    @staticmethod
    def swapaxes(x, a, b):
        return x.transpose(a, b)

    @staticmethod
    def expand(x, shape):
        return x.expand(shape)

    @staticmethod
    def concatenate(xs, axis=0):
        return cat(xs, axis)

    @staticmethod
    def sum(x, axis=None, keepdims=False):
        return apply(OPS["sum"], x, dim=axis, keepdim=keepdims)

    @staticmethod
    def index_add_zeros(g, index, shape, dtype):
        return apply(OPS["index_add_zeros"], g, index=index, shape=shape, dtype=dtype)

    @staticmethod
    def getitem(x, index):
        return apply(OPS["getitem"], x, index=index)

    @staticmethod
    def op(name, *inputs, **attrs):
        return apply(OPS[name], *inputs, **attrs)

    @staticmethod
    def einsum(equation, *operands):
        return apply(OPS["einsum"], *operands, equation=equation)

    @staticmethod
    def cast(x, dtype):
        # (NumPy's == first: x may be a Tensor, whose dtype equals no NumPy dtype)
        if np.dtype(dtype) == x.dtype:
            return x
        if x._data.dtype.kind == "c" and np.dtype(dtype).kind != "c":
            # A complex gradient of a real input keeps its real part (the convention), with
            # no cast warning: PyTorch's engine warns for none (fft's create_graph gradient
            # of a real input warned; s30 BR22).
            x = x.real
        return x.type(dtype)

    @staticmethod
    def const(x):
        return _leaf(x)

    @staticmethod
    def data(x):
        return x._data if isinstance(x, Tensor) else x

    @staticmethod
    def normal_cdf(x):
        return apply(OPS["normal_cdf"], x)

    @staticmethod
    def no_derivative(x, inputs, aten):
        """``x`` (a rule's result) recorded over ``inputs`` as PyTorch's NotImplemented node:
        a backward through it raises PyTorch's error for its backward op ``aten`` (where a
        rule's result is no differentiable function of its inputs, as ctc_loss's)."""
        return recorded_step(x._data, inputs, "NotImplemented", RuntimeError,
                             f"derivative for aten::{aten} is not implemented")


TENSOR_NAMESPACE = _TensorNamespace()


def _raise_no_grad_fn(root, where, index):
    # (PyTorch's words first, as test suites match them: "element 0 of tensors does not
    # require grad and does not have a grad_fn")
    raise GraphError(
        f"element {index} of tensors does not require grad and does not have a grad_fn "
        f"({where}: this tensor, shape {root.shape}, has no input with requires_grad=True in "
        "its computation, or it was computed under no_grad())"
    )


def _seed_for(root, gradient, create_graph, where, index=0):
    # The root's NumPy dtype, not ``root.dtype`` (a deltagrad.dtype, which NumPy reads through
    # a Python attribute): 1.7 against 0.2 us a seed.
    if not isinstance(root, Tensor):
        raise TypeError(f"{where}: expected a Tensor, got {type(root).__name__}")
    # (and requires_grad: forward AD's duals say False, as PyTorch's; BR26. _rg first: a sparse
    # tensor's property reads its values', and its graph is not walked here; README)
    if not (root._rg and root.requires_grad):
        _raise_no_grad_fn(root, where, index)
    data = root._data
    if type(data) is MetaArray or type(getattr(gradient, "_data", None)) is MetaArray:
        return _meta_seed(root, gradient, create_graph, where)
    if gradient is None:
        if data.size != 1:
            raise GraphError(  # (PyTorch's words first)
                f"grad can be implicitly created only for scalar outputs ({where}: tensors "
                f"of one element; this output has shape {root.shape}. Pass gradient= of "
                "that shape, or reduce it first, e.g. .sum())"
            )
        if data.dtype.kind == "c":  # (PyTorch's: no implicit seed for a complex output)
            raise GraphError(f"grad can be implicitly created only for real scalar outputs but "
                             f"got {root.dtype}")
        seed = np.array(1, dtype=data.dtype)  # (np.ones: 0.6 against 0.2 us)
        if data.ndim:
            seed = seed.reshape(data.shape)
        return _leaf(seed) if create_graph else seed
    if isinstance(gradient, Tensor):
        if (gradient._data.dtype.kind == "c") != (data.dtype.kind == "c"):  # (PyTorch's check:
            # the cast below would drop a complex gradient's imaginary part, SL22 s29)
            raise GraphError(
                "For complex Tensors, both grad_output and output are required to have the "
                f"same dtype. Mismatch in dtype: grad_output[{index}] has a dtype of "
                f"{gradient.dtype} and output[{index}] has a dtype of {root.dtype}.")
        if create_graph:
            seed = gradient
        else:
            seed = np.array(gradient._data, dtype=data.dtype)
    else:  # (PyTorch's error: a list, number or ndarray is no gradient)
        raise TypeError("gradients can be either Tensors or None, but got "
                        f"{type(gradient).__name__}")
    if seed.shape != data.shape:
        raise ShapeError(
            f"{where}: gradient has shape {tuple(seed.shape)} but the output has shape {root.shape}"
        )
    return seed


def _meta_seed(root, gradient, create_graph, where):
    """A meta root's seed (meta: its gradients have no values), of the root's shape; a meta
    gradient for a root with values has none to give (PyTorch's NotImplementedError)."""
    data = root._data
    if type(data) is not MetaArray:
        raise NotImplementedError(NO_DATA)
    if gradient is None and data.size != 1:
        raise GraphError(f"{where}: grad can be implicitly created only for scalar outputs")
    if gradient is not None and tuple(np.shape(getattr(gradient, "_data", gradient))) != (
            data.shape):
        raise ShapeError(f"{where}: gradient has shape {tuple(np.shape(gradient))} but the "
                         f"output has shape {root.shape}")
    seed = MetaArray(data.shape, data.dtype)
    return _leaf(seed) if create_graph else seed


# deltagrad.autograd (above the engine) registers [its module, its own backward] here: a program
# that replaces torch.autograd.backward (udacity's project tests patch it with unittest.mock,
# wraps=, and assert it was called) sees Tensor.backward call it, as PyTorch's does; [2] is true
# while the original runs (its own Tensor.backward calls go on below). PR25 s30: the check is
# noise: (x * 2).sum().backward() on 8 x 8, 8.40 us with, 8.36 without (medians of 3, CPU).
AUTOGRAD_BACKWARD: list = [None, None, False]


@tensor_method
def backward(self, gradient=None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs=None) -> None:
    """Compute the gradient of this tensor with respect to every leaf that requires grad.

    Gradients accumulate into the leaves' ``.grad`` (call ``zero_grad`` between steps).

    Args:
        gradient: the gradient of some scalar with respect to this tensor, same shape;
            may be omitted for a one-element tensor (it is then 1).
        retain_graph: keep the graph so backward can run through it again; defaults to
            ``create_graph``.
        create_graph: record the backward pass, so the gradients can be differentiated.
        inputs: a Tensor or a sequence of Tensors: only their ``.grad`` accumulate (leaves or
            not); every other leaf is left untouched.
    """
    if tracking[0] and _claim_task():
        return _as_task(backward, create_graph, self, gradient, retain_graph, create_graph,
                        inputs)
    replaced = AUTOGRAD_BACKWARD
    if replaced[0] is not None and replaced[0].backward is not replaced[1] and not replaced[2]:
        return replaced[0].backward(self, gradient, retain_graph, create_graph, inputs=inputs)
    if type(gradient) is list or type(gradient) is tuple:
        # PyTorch passes it on to autograd.backward, which takes one gradient per output: the
        # first is this tensor's (pyro's tests: y.backward([g])); none is its engine's error.
        if not gradient:
            raise RuntimeError("backward: got 1 tensors and 0 gradients")
        gradient = gradient[0]
    if inputs is not None:
        backward_to_inputs([self], [gradient], inputs, retain_graph, create_graph)
        return
    if not create_graph and type(self) is Tensor and self._rg and _Recording.hidden is None:
        data = self._data  # (a dual level: _seed_for checks requires_grad as PyTorch's; BR26)
        if gradient is None:
            if data.size == 1 and data.dtype.kind != "c":  # (complex: _seed_for's error)
                # The usual call, loss.backward(): the seed made here, without _seed_for's
                # cases (with run_backward's one-root setup, 0.45 us off every backward).
                seed = np.array(1, dtype=data.dtype)
                if type(data) is MetaArray:  # (a meta graph's gradients are meta too)
                    seed = data.copy()
                backward_one(self, seed.reshape(data.shape) if data.ndim else seed, _wrap,
                             bool(retain_graph), False)
                return
        elif type(gradient) is Tensor:
            seed = gradient._data
            if (type(seed) is np.ndarray and seed.dtype is data.dtype
                    and seed.shape == data.shape and self._hooks is None):
                # A gradient of the output's shape and dtype: lent to the sweep rather than
                # copied (whatever would keep it copies it: run_backward's ``lent``); 0.2-0.3 us
                # off x.exp().backward(g) on 8 x 8, as every op of benchmarks/op_overhead.py.
                backward_one(self, seed, _wrap, bool(retain_graph), True)
                return
    if retain_graph is None:
        retain_graph = create_graph
    if create_graph:
        warn_create_graph_once()
    seed = _seed_for(self, gradient, create_graph, "backward()")
    run_backward([self], [seed], wrap=_wrap, graph_ops=TENSOR_NAMESPACE,
                 retain_graph=retain_graph, create_graph=create_graph)


_WARNED_CREATE_GRAPH = [False]


def warn_create_graph_once() -> None:
    """PyTorch's once-per-process warning for ``backward(create_graph=True)``."""
    if not _WARNED_CREATE_GRAPH[0]:
        _WARNED_CREATE_GRAPH[0] = True
        warnings.warn(
            "Using backward() with create_graph=True will create a reference cycle between the "
            "parameter and its gradient which can cause a memory leak. We recommend using "
            "autograd.grad when creating the graph to avoid this. If you have to use this "
            "function, make sure to reset the .grad fields of your parameters to None after use "
            "to break the cycle and avoid the leak.", UserWarning, stacklevel=3)


def _wrap(g) -> Tensor:
    """What ``.grad`` holds for an engine gradient: a leaf over an ndarray made directly (one
    call where ``gradient_leaf`` takes three), or ``gradient_leaf``'s sparse tensor."""
    if type(g) is _ndarray:
        # _result(g, None, None, None, False) inline, less its tests that a leaf made without
        # an op never meets (recording, anomaly): one call a leaf fewer, with backward_one
        # layer_norm's fwd+bwd on [3, 4] (three leaves) 0.95 of its time (/tmp A/B).
        out = _new(Tensor)
        out._data = g
        out._grad = None
        out._mark = 0
        out._retain = False
        out._hooks = None
        out._rg = False
        out._op = None
        out._inputs = None
        out._attrs = None
        if _InferenceMode.marking:
            mark_inference(out, None)
        return out
    return gradient_leaf(g)


_ndarray = np.ndarray
_new = object.__new__


# ==============================================================================================
# grad(): gradients of outputs with respect to chosen inputs, without touching .grad.


# deltagrad.func.vmap calls its function once per element where PyTorch calls it once, batched:
# a grad() inside must keep the graph for the next element (PyTorch frees it once, at the end).
# vmap raises this count around every call but the last.
KEEP_GRAPH = [0]


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """Gradients of ``outputs`` with respect to ``inputs``, returned instead of accumulated.

    Args:
        outputs: a tensor or a sequence of tensors.
        inputs: a tensor or a sequence of tensors that require grad.
        grad_outputs: gradients for the outputs (same shapes); may be omitted for one-element
            outputs.
        retain_graph: keep the graph for another backward; defaults to ``create_graph``.
        create_graph: record the gradient computation, for higher-order derivatives.
        only_inputs: ignored (deprecated in PyTorch, where it has no effect either).
        allow_unused: return ``None`` for an input that the outputs do not depend on, instead
            of raising.
        is_grads_batched: the first dimension of every grad_output is a batch: the result for
            each input is the stack, over it, of the gradients for each slice (``[B, *shape]``),
            e.g. a Jacobian's rows from ``grad_outputs=eye(n)``.
        materialize_grads: give zeros of the input's shape instead of ``None`` for unused
            inputs (implies ``allow_unused``).

    Returns:
        A tuple with one gradient Tensor (or ``None``) per input.

    >>> import deltagrad as dg
    >>> x = dg.tensor(3.0, requires_grad=True)
    >>> (dx,) = dg.grad(x ** 3, x, create_graph=True)
    >>> (dxx,) = dg.grad(dx, x)
    >>> float(dx), float(dxx)
    (27.0, 18.0)
    """
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got: allow_unused=False.")
    allow_unused = bool(allow_unused) or materialize_grads
    outputs = _edges_as_tensors(outputs)
    inputs = _edges_as_tensors(inputs)
    if not inputs:
        raise GraphError("`inputs` argument to `grad()` cannot be empty.")
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    # (PyTorch pairs them as zip does: extra grad_outputs are ignored, too few is its
    # engine's RuntimeError)
    if len(grad_outputs) < len(outputs):
        raise GraphError(f"grad: got {len(outputs)} tensors and {len(grad_outputs)} gradients "
                         f"(one grad_output per output)")
    grad_outputs = list(grad_outputs)[:len(outputs)]
    for j, out in enumerate(outputs):  # (PyTorch checks the outputs first)
        if isinstance(out, Tensor) and not (out._rg and out.requires_grad):
            _raise_no_grad_fn(out, "grad()", j)
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not (x._rg and x.requires_grad):  # (_seed_for's pair)
            raise GraphError(f"One of the differentiated Tensors does not require grad "
                             f"(grad: input {i})")
    if retain_graph is None:
        retain_graph = create_graph
    retain_graph = retain_graph or KEEP_GRAPH[0] > 0
    if is_grads_batched:
        results = _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph,
                                allow_unused)
    else:
        results = _grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused)
    if materialize_grads:  # (the input's shape, batched or not: PyTorch's zeros_like(input))
        # (requiring grad under create_graph, as PyTorch's zeros_like(..., requires_grad=))
        results = tuple(g if g is not None else _leaf(np.zeros(
            x._data.shape, x._data.dtype)).requires_grad_(bool(create_graph))
            for g, x in zip(results, inputs))
    return results


def _edges_as_tensors(values) -> list:
    """A tensor, a ``GradientEdge`` or a sequence of them, as a list of tensors: an edge's node
    is a tensor's (``GradFn`` of its node, ``AccumulateGrad`` of a leaf), and the gradient with
    respect to the edge is that tensor's (deltagrad's nodes have one output)."""
    if isinstance(values, Tensor) or _is_edge(values):
        values = [values]
    return [_edge_tensor(v) if _is_edge(v) else v for v in values]


def _is_edge(value) -> bool:
    # (autograd/graph.py's GradientEdge, recognised by its fields: that layer is above this)
    return (isinstance(value, tuple) and hasattr(value, "node") and hasattr(value, "output_nr")
            and not isinstance(value, Tensor))


def _edge_tensor(edge) -> Tensor:
    node = edge.node
    tensor = getattr(node, "_node", None)
    if tensor is None:
        tensor = getattr(node, "variable", None)
    if not isinstance(tensor, Tensor) or edge.output_nr != 0:
        raise RuntimeError(f"grad: cannot take the gradient with respect to the edge {edge!r} "
                           "(deltagrad's edges come from get_gradient_edge, output 0)")
    return tensor


def backward_to_inputs(outputs: list, gradients: list, inputs, retain_graph, create_graph) -> None:
    """``backward(inputs=...)``: accumulate into the given tensors' ``.grad`` only (PyTorch's
    semantics: leaves or not, hooks and post-accumulate hooks run, unused inputs untouched).
    A ``GradientEdge`` input is its tensor; a non-leaf's edge receives nothing (PyTorch's: an
    edge has no ``.grad``)."""
    edges = [inputs] if _is_edge(inputs) else [x for x in (
        () if isinstance(inputs, Tensor) else inputs) if _is_edge(x)]
    silent = {id(t) for t in map(_edge_tensor, edges) if t._op is not None}
    inputs = _edges_as_tensors(inputs)
    if not inputs:
        raise GraphError("`inputs` argument to `backward()` cannot be empty.")
    for x in inputs:
        if not isinstance(x, Tensor) or not x._rg:
            raise GraphError("can't retain_grad on Tensor that has requires_grad=False")
    before = [(x, x._retain, x._hooks) for x in inputs if x._op is not None]
    for x in inputs:
        if id(x) not in silent:
            x.retain_grad()  # (PyTorch's: a non-leaf input keeps .grad in later backwards too)
    if create_graph:
        warn_create_graph_once()
    try:
        grads = grad(outputs, inputs, gradients, retain_graph=retain_graph,
                     create_graph=create_graph, allow_unused=True)
    except Exception:
        # (a backward that raised retains nothing: PyTorch marks its inputs as it runs; a
        # later backward filled their .grad here; s27 SL15)
        for x, retain, hooks in before:
            x._retain = retain
            if hooks is None and not x._hooks:
                x._hooks = None
        raise
    done = set()
    for x, g in zip(inputs, grads):
        if g is None or id(x) in done or id(x) in silent or x._op is not None:
            continue  # (listed twice: accumulates once; a non-leaf's came with retain_grad)
        done.add(id(x))
        _accumulate_leaf(x, g if create_graph else np.array(g._data), create_graph, _wrap)
        for hook in tuple(post_accumulate_hooks.get(id(x), ())):
            hook(x)


def _grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused) -> tuple:
    if tracking[0] and _claim_task():
        return _as_task(_grad, create_graph, outputs, inputs, grad_outputs, retain_graph,
                        create_graph, allow_unused)
    seeds = [_seed_for(out, g, create_graph, "grad()", j)
             for j, (out, g) in enumerate(zip(outputs, grad_outputs))]
    capture = {}
    for i, x in enumerate(inputs):
        capture.setdefault(id(x), i)
    captured = run_backward(outputs, seeds, wrap=_wrap, graph_ops=TENSOR_NAMESPACE,
                            retain_graph=retain_graph, create_graph=create_graph,
                            capture=capture, requested=inputs)
    results = []
    for i, x in enumerate(inputs):
        g = captured[capture[id(x)]]
        if g is None:
            if not allow_unused:
                raise GraphError(
                    f"The differentiated Tensor at index {i} appears to not have been used in "
                    f"the graph. Set allow_unused=True if this is the desired behavior. "
                    f"(grad: input {i} of shape {x.shape} was not used to compute the outputs)"
                )
            results.append(None)
        elif create_graph:
            results.append(g)
        else:
            results.append(_leaf(g))
    return tuple(results)


def _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph,
                  allow_unused) -> tuple:
    # PyTorch vmaps the backward over the grad_outputs' first dimension; here one backward per
    # slice (the graph kept for all but the last), the gradients stacked: the same numbers.
    sizes = set()
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(g, Tensor):
            raise GraphError("grad can be implicitly created only for scalar outputs" if g is None
                             else f"grad(is_grads_batched=True): grad_outputs[{i}] must be a "
                                  f"Tensor, not {type(g).__name__}")
        if g._data.ndim == 0 or g._data.shape[1:] != out._data.shape:
            raise ShapeError(
                "If `is_grads_batched=True`, we interpret the first dimension of each grad_output"
                " as the batch dimension. The sizes of the remaining dimensions are expected to "
                f"match the shape of corresponding output, but a mismatch was detected: "
                # (PyTorch names the shape without the batch dimension, as compared)
                f"grad_output[{i}] has a shape of {g.shape[1:]} and output[{i}] has a shape of "
                f"{out.shape}. If you only want some tensors in `grad_output` to be considered "
                "batched, consider using vmap.")
        sizes.add(g._data.shape[0])
    if len(sizes) > 1:
        raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped "
                         f"dimension, got sizes {[len(g) for g in grad_outputs]} for the mapped "
                         "dimension")
    (batch,) = sizes
    if batch == 0:
        raise IndexError("grad(is_grads_batched=True): the batch dimension of grad_outputs is "
                         "empty (size 0)")
    # (an unused input is refused after the last slice, as PyTorch's after its one sweep:
    # the graph is freed by then; s27 SL15)
    rows = [_grad(outputs, inputs, [g[b] for g in grad_outputs],
                  retain_graph or b < batch - 1, create_graph, True)
            for b in range(batch)]
    results = []
    for i in range(len(inputs)):
        column = [row[i] for row in rows]
        if column[0] is None:
            if not allow_unused:
                raise GraphError(f"The differentiated Tensor at index {i} appears to not have "
                                 f"been used in the graph. Set allow_unused=True if this is the "
                                 f"desired behavior. (grad: input {i} of shape "
                                 f"{inputs[i].shape} was not used to compute the outputs)")
            results.append(None)
        elif create_graph:
            results.append(stack(column))
        else:
            results.append(_leaf(np.stack([g._data for g in column])))
    return tuple(results)
