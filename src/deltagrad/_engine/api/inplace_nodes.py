"""The bookkeeping of an in-place change (api/inplace.py's ``_inplace`` and the fills): whether
a view taken outside the graph views a tensor in the graph now (``_viewed_in_graph``,
``_views_graph``), the checks and the write of a new value (``_check_value``, ``_write``), and
the node objects of a rebinding (``_old_node``, ``_become``, ``_new_nodes``). Moved out of
api/inplace.py (session 27, FS1) to keep it under the 800-line limit; inplace.py imports them
back (inplace_functions, view_joins and autograd/function_dirty import them from there).
"""

from __future__ import annotations

import numpy as np

from .. import bf16, versions
from ..autograd import _Anomaly, _counters, _InferenceMode
from ..errors import warn_once
from ..modes import check_inference_inplace, enable_grad
from ..promotion import through_float32
from ..tensor import Tensor, _new
from .write_checks import refused_write

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3, "V": 2}  # ("V": ml_dtypes' bfloat16)


_NO_GRAD_VIEW = (
    "A view was created in no_grad mode and is being modified inplace with grad mode enabled. "
    "Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify "
    "your code by moving both the view and the inplace either both inside the no_grad block "
    "(if you don't want the inplace to be tracked) or both outside (if you want the inplace "
    "to be tracked).")


def _viewed_in_graph(self) -> bool:
    """Whether ``self``, a view taken outside the graph, views a tensor that is in the graph
    now: PyTorch's view is then in the graph too, and so its change is recorded."""
    made = getattr(self, "_serial", 0)  # (when the view was taken: tensor._result)
    node = getattr(self, "_view", None)
    while node is not None:
        if node._rg and versions._as_seen_by(node, made)._rg:
            # The tensor was in the graph when the view of it was taken outside the graph: the
            # view was taken under no_grad (or inference mode), and PyTorch refuses to record
            # its change rather than guess which of the two modes was meant.
            raise RuntimeError(_NO_GRAD_VIEW)
        if node._rg:
            if node._op is None:  # a leaf that requires grad, viewed under no_grad
                raise RuntimeError(_NO_GRAD_VIEW)
            return True
        node = getattr(node, "_view", None)
    return False


def _views_graph(self) -> bool:
    """Whether ``self`` is a view, taken outside the graph, of a tensor in the graph now: its
    change must then go through ``_inplace`` (recorded on that tensor, or refused where the
    view was taken under no_grad), not be written quietly (fill_ and copy_'s fast path: a
    fill through such a view kept the overwritten values' gradients)."""
    node = getattr(self, "_view", None)
    while node is not None:
        if node._rg:
            return True
        node = getattr(node, "_view", None)
    return False


def _check_value(self, name: str, data: np.ndarray, cast: bool) -> None:
    target = self._data
    if data.shape != target.shape and data.ndim:  # (0-d fits: copy_ of one 6.7 -> 4.6 us)
        try:
            shape = np.broadcast_shapes(data.shape, target.shape)
        except ValueError:
            shape = data.shape
        if shape != target.shape:
            # (PyTorch's words first, then the op: s29 PR20)
            raise RuntimeError(f"output with shape {list(target.shape)} doesn't match the "
                               f"broadcast shape {list(shape)} (in-place {name})")
    if not cast and _CATEGORY[data.dtype.kind] > _CATEGORY[target.dtype.kind]:
        raise RuntimeError(f"result type {versions.type_name(data.dtype)} can't be cast to the "
                           f"desired output type {versions.type_name(target.dtype)} (in-place "
                           f"{name})")
    if not target.flags.writeable:
        raise RuntimeError(f"{name}: {refused_write(target)}")


def real_part_for(target: np.ndarray, data):
    """``data``'s real part where complex values go into a real (not bool) ``target``, with
    PyTorch's copy-kernel warning (once a process; NumPy's ComplexWarning otherwise: SL22);
    a Python complex number with an imaginary part is PyTorch's RuntimeError there."""
    if type(data) is complex and target.dtype.kind != "c":
        if target.dtype.kind == "b":
            return data != 0
        if data.imag:
            raise RuntimeError(f"value cannot be converted to type {target.dtype} without "
                               "overflow (its imaginary part is not 0)")
        return data.real
    if getattr(data, "dtype", None) is not None and data.dtype.kind == "c" and (
            target.dtype.kind not in "cb"):
        warn_once("complex to real cast", "Casting complex values to real discards the "
                  "imaginary part")
        return data.real
    return data


def _write(self, data: np.ndarray) -> None:
    if _InferenceMode.marking:
        check_inference_inplace(self, data)
    data = real_part_for(self._data, data)
    if data.dtype is bf16.BF16 and self._data.dtype.kind in "iu":
        # ml_dtypes' cast to integers saturates (-1 -> uint8 0); PyTorch's wraps (255) as from
        # float32 (the same rule as api/conversion._cast).
        data = data.astype(np.float32)
    np.copyto(self._data, through_float32(self._data.dtype, data), casting="unsafe")


def _old_node(self) -> Tensor:
    """A new Tensor object that is ``self``'s node as it was (same array, same graph links)."""
    old = _new(Tensor)
    old._data = self._data
    old._grad = None
    old._rg = self._rg
    old._op = self._op
    old._inputs = self._inputs
    old._attrs = self._attrs
    old._g = None
    old._pending = 0
    old._mark = 0
    old._retain = False
    old._hooks = self._hooks  # hooks registered before the change see the old value's gradient
    old._serial = getattr(self, "_serial", 0)  # (set on graph nodes only)
    self._hooks = [] if self._retain else None  # (retain_grad keeps `_hooks` set: autograd.py)
    return old


def _become(self, node: Tensor) -> None:
    self._op = node._op
    self._inputs = node._inputs
    self._attrs = node._attrs
    self._rg = True
    self._serial = node._serial
    if _Anomaly.enabled:
        self._origin = getattr(node, "_origin", None)


def _new_nodes(result: Tensor, stamp: int) -> list:
    """The nodes made by ``compute`` (after ``stamp``) that lead to ``result``."""
    found, stack, seen = [], [result], set()
    while stack:
        node = stack.pop()
        if id(node) in seen or node._op is None or node._serial <= stamp or not node._inputs:
            continue
        seen.add(id(node))
        found.append(node)
        stack.extend(node._inputs)
    return found


def _dual_write(self, name: str, compute, cast: bool, tangent_of) -> Tensor:
    """``self``, a forward-AD dual made from a primal that does not require grad or a view of
    one (write_checks.DUAL_LEAF gave ``tangent_of``), takes ``compute(self)``: the primal's
    memory is written and the tangent (the tensor given to make_dual, as PyTorch's) takes the
    op's tangent in place (s30 BR22: the leaf's error was raised, PyTorch writes)."""
    if _InferenceMode.marking:
        check_inference_inplace(self, compute)
    before = _counters.created
    with enable_grad():  # (under no_grad too: PyTorch's tangents do not depend on grad mode)
        result = compute(self)
        _check_value(self, name, result._data, cast)
        tangent_of(result)  # (before the write: the tangent's sweep reads the old values)
    _write(self, result._data)
    versions.bump(self._data, before)
    return self
