"""In-place changes seen by autograd: storage versions, saved-value checks and rebound tensors.

PyTorch's rules, kept here:

- Every in-place change of a tensor bumps the version of its storage, which all views of it
  share (reshape, transpose, basic indexing, ``detach()``, ``.data``). A storage is a NumPy
  array's root ``base``; its record lives in a table keyed by that root, so making a tensor or a
  view costs nothing here.
- A graph node whose VJP rule reads one of its inputs or its own output checks, at backward,
  that no in-place change hit that storage after the node was made; else it raises PyTorch's
  "modified by an inplace operation" error rather than use the changed values.
- An in-place op on a tensor that takes part in a graph rebinds the tensor to a new node (the
  op applied to its old value); nodes made earlier that consumed the tensor must still reach
  the *old* node. The tensor keeps a history of (time, old node); backward resolves each such
  consumer's input to the node it saw (``resolve``), and remakes a view made before its base
  changed as a view of the base's new node, for consumers made after the change.
- Which saved values a rule reads is read off its bytecode once per op (``saved``).

Time is the engine's node counter (``_counters.created``): a node's ``_serial`` is the count
when it was made, an in-place change is stamped with the count just before its new node, so a
node made before the change has ``_serial <= stamp``.
"""

from __future__ import annotations

import dis
import inspect
import sys
import weakref

import numpy as np

__all__ = ["MULTI_OUTPUT", "VIEW_OPS", "adopt", "bump", "carry", "check_saved", "is_view",
           "latest", "note_detach", "note_rebind", "own_counter", "reachable_view", "resolve",
           "retained_view", "saved", "share_counter", "shares_input", "snapshot", "taint",
           "unsaved_graph", "untaint", "version"]


class _Storage:
    """The in-place history of one storage: its version and the stamps of its latest changes."""

    __slots__ = ("version", "stamps")

    def __init__(self):
        self.version = 0
        self.stamps = []


class _Latest:
    """The stamp of the newest in-place change anywhere (-1: none yet), read once per backward
    so that the sweep checks only nodes made before it (one comparison per node)."""

    __slots__ = ("stamp",)

    def __init__(self):
        self.stamp = -1


latest = _Latest()
_storages: dict[int, _Storage] = {}  # id(root array) -> record, dropped when the array dies
_KEEP_STAMPS = 64  # older stamps only matter to nodes that old; counted in version regardless


def _root(array: np.ndarray) -> np.ndarray:
    """The array that owns the memory behind ``array`` (views all lead to it)."""
    base = getattr(array, "base", None)  # (a sparse tensor's storage object has none)
    while base is not None:
        if not isinstance(base, np.ndarray):
            base = getattr(base, "base", None)  # as_strided's wrapper object holds the array
            if not isinstance(base, np.ndarray):
                break
        array = base
        base = array.base
    return array


def _record(array: np.ndarray, create: bool) -> _Storage | None:
    if _own:
        entry = _own.get(id(array))
        if entry is not None and entry[0]() is array:
            return entry[1]
    root = _root(array)
    record = _storages.get(id(root))
    if record is None and create:
        record = _storages[id(root)] = _Storage()
        weakref.finalize(root, _storages.pop, id(root), None)
    return record


# Arrays with a version counter of their own: the view objects that ``Tensor.data`` returns.
# PyTorch's ``.data`` is a tensor whose counter is not its source's, so that a write through
# it (``scratch.data[i] = v``, torchdiffeq's "unchecked assign") is no in-place change of the
# source for autograd. Views taken of such a tensor lead back to the storage (NumPy points
# their base at the owner) and count there, as every other view does.
_own: dict[int, tuple] = {}  # id(array) -> (weak reference to it, its record)


def own_counter(array: np.ndarray) -> np.ndarray:
    """Give ``array``, a new view object of some storage, its own version counter (from 0);
    returns it."""
    key = id(array)

    def forget(ref, key=key):
        entry = _own.get(key)
        if entry is not None and entry[0] is ref:
            del _own[key]

    _own[key] = (weakref.ref(array, forget), _Storage())
    return array


def adopt(data, old):
    """``x.data = y``: y's array ``data`` in a view that keeps x's counter (``old``: x's array
    before), as PyTorch's x keeps its own (it took y's: a false error); 0.07 -> 0.82 us a call."""
    if type(data) is np.ndarray:
        _own[id(own_counter(data := data.view()))][1].version = version(old)
    return data


def share_counter(view: np.ndarray, source: np.ndarray) -> None:
    """``view`` (a view op's result of ``source``) counts with ``source``'s own counter, if
    ``source`` has one (``x.data[:2].add_(1)`` is no change of ``x`` either)."""
    entry = _own.get(id(source))
    if entry is not None and entry[0]() is source:
        key = id(view)

        def forget(ref, key=key):
            held = _own.get(key)
            if held is not None and held[0] is ref:
                del _own[key]

        _own[key] = (weakref.ref(view, forget), entry[1])


def shares_input(data: np.ndarray, source: np.ndarray) -> bool:
    """Whether ``data``, a view op's result, views ``source``'s memory. NumPy points a view's
    base at the array that owns the memory: ``source`` or ``source``'s own base; a reshape
    that had to copy has its copy as base."""
    base = data.base
    return base is not None and (base is source or base is source.base)


def reachable_view(x, view_ops) -> bool:
    """Whether ``x`` is a view (PyTorch's ``_is_view()``) of a tensor the program can still
    reach (``view_ops``: the Op objects of the view ops). The second condition tells a user's
    view (``x.t()``: x is alive) from the result of a composite that deltagrad builds as a
    view of its own temporary (``contiguous()`` is ``reshape(-1).reshape(shape)``, a copy and a
    view of it; PyTorch's is no view): such a temporary is referenced only by ``x``. A user's
    view of a temporary (``(w * 2)[:2]``) passes too: PyTorch refuses it, deltagrad allows it."""
    if getattr(x, "_view", None) is not None:  # (made outside the graph: its input)
        # references: x._view and getrefcount's argument; any more is a holder elsewhere
        return sys.getrefcount(x._view) > 2
    op = x._op
    if op not in view_ops and (op is None or op.name not in {v.name for v in view_ops}):
        return False  # (the name: a view op's renamed twin, .T's permute, is a view; s31)
    inputs = x._inputs
    if inputs is None:
        # A backward freed the node (`h = x.t(); h.sum().backward(); h.detach_()`): the array
        # still names the memory's owner; another holder of it is the viewed tensor's. A view
        # node keeps the tensor it views (autograd._keep_base): a holder of that one, then.
        base = getattr(x, "_view_base", None)
        if base is not None:
            return sys.getrefcount(base) > 3  # (x._view_base, this local, the argument)
        if x._data.base is None:
            return False
        return sys.getrefcount(x._data.base) > 2  # (the view's own link, the argument)
    if not shares_input(x._data, inputs[0]._data):
        return False
    return sys.getrefcount(inputs[0]) > 2  # (x._inputs holds it, as above)


def version(array: np.ndarray) -> int:
    """How many in-place changes the storage behind ``array`` has seen."""
    record = _record(array, False)
    return 0 if record is None else record.version


def bump(array: np.ndarray, stamp: int, since: int = 0) -> None:
    """Count an in-place change of ``array``'s storage, made at time ``stamp`` (``since``: the
    count of the storage it replaced, for a tensor given a new one: ``out=`` resized)."""
    record = _record(array, True)
    record.version += 1 + since
    stamps = record.stamps
    stamps.append(stamp)
    if len(stamps) > _KEEP_STAMPS:
        del stamps[: _KEEP_STAMPS // 2]
    latest.stamp = stamp


def carry(new: np.ndarray, old: np.ndarray) -> None:
    """``new`` replaces ``old`` as a tensor's storage (an ``out=`` resized): its counter goes on
    from ``old``'s, as PyTorch's tensor keeps its one counter."""
    record = _record(old, False)
    if record is not None and record.version:
        fresh = _record(new, True)
        fresh.version += record.version
        fresh.stamps = record.stamps + fresh.stamps


def snapshot(copy: np.ndarray, array: np.ndarray, stamp: int) -> None:
    """``copy`` holds ``array``'s values from just before a change stamped ``stamp``: nodes
    made before it that read the copy still count as reading a changed value (as in PyTorch,
    where there is no copy); the in-place op's own nodes, made after it, do not, and later
    changes of ``array`` do not reach the copy."""
    record = _record(array, True)
    copied = _storages[id(copy)] = _Storage()
    copied.version = record.version + 1
    copied.stamps = record.stamps[-_KEEP_STAMPS // 2:] + [stamp]
    weakref.finalize(copy, _storages.pop, id(copy), None)


# ---------------------------------------------------------------------------------------------
# Rebound tensors, and views whose base was rebound after them.

# This table and ``_tainted`` (below) are read by the backward sweep, which skips ``resolve``
# while both are empty.
_rebound: dict[int, list] = {}  # id(tensor) -> [(stamp, old node), ...] oldest first
_owner: dict[int, weakref.ref] = {}  # id(old node) -> the tensor it was before the rebind

# Ops whose output may share its first input's memory (a view); in-place changes through them
# reach the base (api/inplace.py), and a view made before its base changed is remade here.
# ("expand": a write reaches it only where no element repeats, ops/shape.py)
# ("real" / "imag": `z.real.mul_(2)` on a tensor in the graph changed values only: its
# gradient was z's old one, found by tests/parity/s20_SL5_families.py)
VIEW_OPS = frozenset({"getitem", "reshape", "permute", "diagonal", "unfold", "expand", "real",
                      "imag"})


def note_rebind(tensor, stamp: int, old, owner: bool = True) -> None:
    """Record that ``tensor`` became a new node at ``stamp``; ``old`` carries its former node
    (``owner``: views of ``old`` are views of ``tensor``, remade when it changes)."""
    history = _rebound.get(id(tensor))
    if history is None:
        history = _rebound[id(tensor)] = []
        weakref.finalize(tensor, _rebound.pop, id(tensor), None)
    history.append((stamp, old))
    if owner:
        _owner[id(old)] = weakref.ref(tensor)
        weakref.finalize(old, _owner.pop, id(old), None)


def note_detach(tensor, stamp: int) -> None:
    """``tensor.detach_()``: it becomes a leaf (no node, inputs or attributes); consumers made
    up to ``stamp`` keep reaching the node it was, as PyTorch's edges to the old grad_fn stay
    (``y = f(h); h.detach_(); y.backward()`` reaches h's inputs); later ones see the leaf.
    Found by tests/parity/s17_SL_progfuzz.py (the gradient was silently cut)."""
    if tensor._op is not None:
        _keep_detached(tensor, stamp)
        tensor._hooks = None
    tensor._op = tensor._inputs = tensor._attrs = None


def _keep_detached(tensor, stamp: int) -> None:
    old = object.__new__(type(tensor))
    for slot in ("_data", "_rg", "_op", "_inputs", "_attrs", "_hooks"):
        setattr(old, slot, getattr(tensor, slot))
    old._grad = old._g = None
    old._pending = old._mark = 0
    old._retain = False
    old._serial = getattr(tensor, "_serial", 0)
    old._detached = True  # (_as_of: views of it are not remade over the leaf)
    note_rebind(tensor, stamp, old, owner=False)


def is_view(x) -> bool:
    """Whether ``x``'s node is a view op whose output shares its input's memory."""
    return (x._op is not None and x._op.name in VIEW_OPS and bool(x._inputs)
            and _root(x._inputs[0]._data) is _root(x._data))


# Views remade over their base's new node when the base changes in place: the view ops, and
# the dtype views (PyTorch regenerates view_as_complex's node as every view's; in-place
# writes through them are handled elsewhere, so they are not VIEW_OPS).
_REMADE = VIEW_OPS | {"view_as_complex", "view_as_real"}
# as_strided too (its views of a tensor that requires grad are read-only, so not a VIEW_OP):
# `v = y.as_strided(...); y.fill_(3); v.sum().backward()` sent v's gradient to y's old node,
# a silent wrong gradient (found by tests/parity/s17_SL_progfuzz.py).
_REMADE = _REMADE | {"as_strided"}


def _remade_view(x) -> bool:
    """``is_view`` for the ops of ``_REMADE``."""
    return (x._op is not None and x._op.name in _REMADE and bool(x._inputs)
            and _root(x._inputs[0]._data) is _root(x._data))


def _as_seen_by(x, serial: int):
    """The node that ``x`` was when a node made at ``serial`` consumed it (rebinds only)."""
    history = _rebound.get(id(x))
    if history:
        for stamp, old in history:
            if stamp >= serial:
                return old
    return x


def _current(x):
    ref = _owner.get(id(x))
    tensor = ref() if ref is not None else None
    return x if tensor is None else tensor


# Pieces of the functions that return several views (split, chunk, unbind) of a tensor that
# requires grad, filled by api/shape_splits.py: id(piece) -> (weak reference to it, function
# name, position); the name is None for the pieces of unsafe_split / unsafe_chunk.
MULTI_OUTPUT: dict[int, tuple] = {}


def _multi_output_piece(x):
    """``MULTI_OUTPUT``'s entry for ``x``, or None."""
    entry = MULTI_OUTPUT.get(id(x))
    return entry if entry is not None and entry[0]() is x else None


def _as_of(x, serial: int, made: dict):
    """The node ``x`` stands for in a node made at ``serial``: its state then, and for a view
    made before its base was rebound, the view op applied to the base as it was then (what
    PyTorch does when a view's base changed in place). A piece of split / chunk / unbind is
    not remade: PyTorch refuses it; a piece of unsafe_split / unsafe_chunk keeps its node (the
    gradient reaches the base's old node, as in PyTorch)."""
    x = _as_seen_by(x, serial)
    if _remade_view(x) and x._serial < serial:
        base = _current(x._inputs[0])
        now = _as_of(base, serial, made)
        then = _as_of(base, x._serial, made)
        if now is not then and not getattr(then, "_detached", False):
            # (a base detach_()ed keeps its views' nodes: PyTorch bumps no version there)
            piece = _multi_output_piece(x) if MULTI_OUTPUT else None
            if piece is not None:
                if piece[1] is None:
                    return x
                raise RuntimeError(
                    f"Output {piece[2]} of {piece[1]} is a view and its base or "
                    "another view of its base has been modified inplace. This view is the "
                    "output of a function that returns multiple views. Such functions do not "
                    "allow the output views to be modified inplace. You should replace the "
                    "inplace operation by an out-of-place one.")
            key = (id(x), id(now))
            if key not in made:
                made[key] = _remade(x, now, serial)
            return made[key]
    return x


def _remade(view, base, serial: int):
    node = object.__new__(type(view))
    for slot in ("_data", "_op", "_attrs", "_hooks"):
        setattr(node, slot, getattr(view, slot))
    node._inputs = (base,)
    node._grad = node._g = None
    node._rg = True
    node._pending = node._mark = 0
    node._retain = view._retain
    if view._retain:  # (its gradient fills the view's .grad: retained_view)
        _retained_views[id(node)] = weakref.ref(view)
        weakref.finalize(node, _retained_views.pop, id(node), None)
    node._serial = serial
    return node


# Remade nodes of views that retain_grad(): id(node) -> weak reference to the view. PyTorch
# moves the retains_grad hook to a view's regenerated grad_fn, so `v.retain_grad();
# base.mul_(2); (v * v).sum().backward()` fills v.grad (it stayed None: s18 SL3).
_retained_views: dict[int, weakref.ref] = {}


def retained_view(node):
    """The tensor whose ``.grad`` a retained ``node``'s gradient fills: the view it was
    remade from, or itself."""
    ref = _retained_views.get(id(node)) if _retained_views else None
    view = ref() if ref is not None else None
    return node if view is None else view


_tainted: dict[int, dict] = {}  # id(root array) -> {id(slice): stamp}: untracked graph values


def taint(array: np.ndarray, part, stamp: int) -> None:
    """Note that ``part``, a slice of ``array``'s storage outside the graph, took values that
    depend on the graph at ``stamp``: the tensors owning the storage do not record that."""
    root = _root(array)
    parts = _tainted.get(id(root))
    if parts is None:
        parts = _tainted[id(root)] = {}
        weakref.finalize(root, _tainted.pop, id(root), None)
    parts[id(part)] = stamp


def untaint(array: np.ndarray, part) -> None:
    """``part`` was assigned back into the storage with a recorded op (``buf[i] += v``)."""
    root = _root(array)
    parts = _tainted.get(id(root))
    if parts is not None:
        parts.pop(id(part), None)
        if not parts:
            del _tainted[id(root)]  # (its finalizer then finds nothing to drop)


def _check_untracked(x, serial: int, node) -> None:
    parts = _tainted.get(id(_root(x._data)))
    if parts and min(parts.values()) < serial:
        raise RuntimeError(
            f"backward of '{node._op.name}': an input (shape {list(x._data.shape)}) does not "
            "require grad but holds values written in place through a slice of it from a "
            "value that requires grad, which deltagrad cannot differentiate through. Write "
            "with base[index] = value (or index_put) instead of an in-place op on the slice."
        )


def _check_stale_view(x, serial: int, node) -> None:
    """Raise if ``x``, a view taken outside the graph, views a tensor that took graph values in
    place after ``x`` was made and before ``node`` read ``x``: PyTorch's ``x`` is in the graph
    then (its view of the new values); deltagrad's still reads them as constants."""
    made = getattr(x, "_serial", None)  # (a view outside the graph: when it was made)
    base = x._view
    while made is not None and base is not None:
        for stamp, _ in _rebound.get(id(base), ()):
            if made < stamp < serial:
                raise RuntimeError(
                    f"backward of '{node._op.name}': an input (shape {list(x._data.shape)}) is "
                    "a view, taken outside the graph, of a tensor that later took values that "
                    "require grad in place; PyTorch differentiates through such a view, "
                    "deltagrad cannot: take the view again after the in-place write")
        base = getattr(base, "_view", None)


def resolve(roots, capture=None) -> tuple:
    """Point every node that consumed a since-changed tensor at the node it consumed.

    Runs before a backward sweep only while some live tensor has been rebound (or a slice
    outside the graph holds graph values: ``taint``, refused here); rewrites the
    inputs of the nodes reachable from ``roots`` once (resolving again changes nothing).
    Returns the roots, a view among them remade if its base changed after it was made, and
    ``capture`` (a ``grad()`` sweep's ``{id(tensor): slot}``, or None): a copy in which a
    requested view whose base changed after it was made is requested as the view remade over
    the base's newest node, PyTorch's regenerated grad_fn (``_follow``).
    """
    if not _rebound and not _tainted:
        return roots, capture
    made: dict = {}
    now = float("inf")
    if capture:
        capture = dict(capture)  # (the caller reads its results by the tensors' own ids)
        for root in roots:
            _follow(root, capture, made)
    roots = [_as_of(root, now, made) for root in roots]
    stack = list(roots)
    seen = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        inputs = node._inputs
        if not inputs:
            continue
        serial = node._serial
        if capture:
            for x in inputs:
                _follow(x, capture, made)
        resolved = tuple(_as_of(x, serial, made) for x in inputs)
        if any(r is not x for r, x in zip(resolved, inputs)):
            node._inputs = resolved
        for x in resolved:
            if not x._rg and x._op is None:
                if _tainted:
                    _check_untracked(x, serial, node)
                if getattr(x, "_view", None) is not None:
                    _check_stale_view(x, serial, node)
        stack.extend(x for x in resolved if x._rg)
    return roots, capture


def _follow(x, capture, made) -> None:
    """Request ``x``, a requested view, as the node it is now (``resolve``'s ``capture``).
    Graphs made after its base changed read that remade node, so the request by ``x``'s own
    identity found nothing (grad() answered None where PyTorch gives the gradient); graphs
    made before read ``x`` itself, which PyTorch's regenerated grad_fn is not (found by
    tests/parity/s17_SL_progfuzz.py)."""
    slot = capture.get(id(x))
    if slot is None or not _remade_view(x):
        return
    now = _as_of(x, float("inf"), made)
    if now is not x:
        del capture[id(x)]
        capture[id(now)] = slot


# ---------------------------------------------------------------------------------------------
# Which saved values a VJP rule reads.

_METADATA = frozenset({"shape", "ndim", "dtype", "size", "nbytes", "itemsize"})
_CALLS = frozenset({"PRECALL", "CALL", "CACHE", "CALL_FUNCTION", "CALL_METHOD"})
_ALL = (True, None, True)  # (reads out, reads input i, reads the *varargs inputs)
_reads_of: dict = {}


def _metadata_only(instructions, i) -> bool:
    """Whether the load at ``i`` only feeds ``.shape``/``.ndim``/``.dtype`` (of x or F.data(x))."""
    following = instructions[i + 1] if i + 1 < len(instructions) else None
    if following is not None and following.opname == "LOAD_ATTR":
        return following.argval in _METADATA
    before = instructions[i - 1] if i else None
    if before is None or before.opname not in ("LOAD_ATTR", "LOAD_METHOD") or (
            before.argval != "data"):
        return False
    j = i + 1
    while j < len(instructions) and instructions[j].opname in _CALLS:
        j += 1
    return (j < len(instructions) and j > i + 1 and instructions[j].opname == "LOAD_ATTR"
            and instructions[j].argval in _METADATA)


def _analyse(vjp):
    """(reads out, reads each named input, reads the varargs inputs) from the rule's bytecode.

    Reading only ``x.shape``, ``x.ndim`` or ``x.dtype`` does not count (PyTorch saves sizes, not
    the tensor, for such rules). A parameter captured by an inner function counts as read. A
    rule that is not a plain Python function is taken to read everything.
    """
    while getattr(vjp, "__wrapped__", None) is not None:  # (complex twins: the rule's reads)
        vjp = vjp.__wrapped__
    if getattr(vjp, "reads_nothing", False):  # (a rule that says so: zeros of the shapes)
        return False, (), False
    code = getattr(vjp, "__code__", None)
    if code is None:
        return _ALL
    count = code.co_argcount
    positional = code.co_varnames[:count]
    varargs = None
    if code.co_flags & inspect.CO_VARARGS:
        varargs = code.co_varnames[count + code.co_kwonlyargcount]
    used = set(code.co_cellvars)
    instructions = list(dis.get_instructions(code))
    loops = {}  # loop variable -> the name looped over (`for x in xs`: cat's rule, x.shape)
    for i, instruction in enumerate(instructions):
        if instruction.opname.startswith("LOAD_FAST") or instruction.opname == "LOAD_DEREF":
            names = instruction.argval
            if isinstance(names, tuple):  # LOAD_FAST_LOAD_FAST (Python 3.13)
                used.update(names)
            elif _loop_variable(instructions, i) is not None:
                loops[_loop_variable(instructions, i)] = names
            elif not _metadata_only(instructions, i):
                used.add(names)
    used.update(over for variable, over in loops.items() if variable in used)
    reads_out = len(positional) > 2 and positional[2] in used
    return reads_out, tuple(name in used for name in positional[3:]), varargs in used


def _loop_variable(instructions, i):
    """The variable of a ``for`` loop over the name loaded at ``i`` (GET_ITER, FOR_ITER, then
    STORE_FAST), else None: the loop reads the values only where its variable does."""
    tail = instructions[i + 1:i + 4]
    if [x.opname for x in tail] == ["GET_ITER", "FOR_ITER", "STORE_FAST"]:
        return tail[2].argval
    return None


def _reads(op):
    reads = _reads_of.get(op)
    if reads is None:
        reads = _reads_of[op] = _analyse(op.vjp)
    return reads


# Rules that compute every gradient at once, whose inputs' gradients read different values:
# input i's gradient reads these (PyTorch saves only what the inputs needing grad will read, so
# `z = y * 3; y.add_(1)` leaves z's backward intact).
_READ_BY = {
    "mul": ((1,), (0,)),
    "matmul": ((1,), (0,)),
    "div": ((1,), (0, 1)),
    "linear": ((1,), (0,), ()),  # (x, weight[, bias]): F.linear(k, constant_w); k.mul_(2)
    "lerp": ((2,), (2,), (0, 1)),  # (start, end, weight): PyTorch's lerp saves these alone
    # x's gradient is g alone; y's reads both (-g * q): `r = torch.fmod(x, 2); x.add_(1)`
    # backwards in PyTorch (found by tests/parity/s17_SL_progfuzz.py).
    "fmod": ((), (0, 1)),
    "remainder": ((), (0, 1)),
    # as_strided's rule reads its input's layout (shape, strides, storage), never its values:
    # `v = x.as_strided(...); with no_grad: x.clamp_(0)` backwards in PyTorch (AsStridedBackward
    # saves the geometry alone).
    "as_strided": ((),),
    # (the parts read only their input's dtype: `z.imag.add_(1)` on a tensor in the graph)
    "real": ((),),
    "imag": ((),),
    # (view_as_real's rule reads its input's dtype only: a write through it, s29 BR19)
    "view_as_real": ((),),
}


# Rules that take ``out`` only as the key of what their forward kept (ops/normalization.py:
# layer_norm's normalized rows, private), never its values: `y = ln(x); y += pos` backwards, as
# in PyTorch, whose layer_norm saves the input and its statistics, not the output.
_OUT_AS_KEY = frozenset({"layer_norm"})


# Rules that read only their output (the input goes to half_vjp for its dtype, whose float32
# rerun reads the output too): `p = softmax(x); x.add_(1)` backwards, as PyTorch's, which saves
# the result.
_OUT_ONLY = frozenset({"softmax", "log_softmax"})


# Rules that read their output only as a shortcut for a value of their input (gelu's Phi(x) as
# y / x, silu's x (1 - s) as x - y, ...), where PyTorch saves the input alone: `h = gelu(h);
# h += skip` backwards in PyTorch. The output is not checked; where it changed in place after
# the node was made, check_saved puts its array's id in CHANGED_OUTPUTS and the rule recomputes
# the output from its (checked) input, bit-identical. Unchanged, the rule pays one test of an
# empty set (s16 IP; a stale id left there only costs a recompute, never a wrong value).
OUT_SHORTCUT = frozenset({"gelu", "silu", "mish", "softplus", "logit", "sinc", "erfinv"})
CHANGED_OUTPUTS: set = set()

# Rules whose first-order path reads their input (0) only through what their forward kept in
# a Scratch slot (cross_entropy_index's exponentials, as PyTorch keeps log_softmax's output):
# while the slot is full the input is not checked (`loss = F.cross_entropy(logits, t);
# logits.div_(2)` backwards in PyTorch). Changed, CHANGED_INPUT holds a weak reference to its
# array, set by check_saved just before the rule runs and cleared by the rule: the rule's
# paths that would read it (create_graph's) refuse then.
_SCRATCH_READS = frozenset({"cross_entropy_index", "softmax_cross_entropy"})
CHANGED_INPUT: list = [None]


def saved(node) -> tuple:
    """``(reads out, positions of the inputs read)`` by ``node``'s backward, as it stands."""
    if getattr(node._op, "unhooked", None) is not None:
        return False, set()  # (saved-tensor hooks packed them: PyTorch checks no version)
    by_input = _READ_BY.get(node._op.name)
    if by_input is not None and len(node._inputs) <= len(by_input):
        wanted = set()
        for x, read in zip(node._inputs, by_input):
            if x._rg:
                wanted.update(read)
        return "out" in wanted, {i for i in wanted if i != "out"}
    if node._op.name in _OUT_ONLY:
        return True, set()
    if node._op.name == "einsum":
        # Operand i's gradient contracts g with the other operands only (torchode's RK step:
        # einsum(a[i, :i], k[:i]) with a constant tableau, then k[i] = ... in place).
        inputs = node._inputs
        return False, {j for i, x in enumerate(inputs) if x._rg
                       for j in range(len(inputs)) if j != i}
    reads_out, named, rest = _reads(node._op)
    if reads_out and (node._op.name in _OUT_AS_KEY or node._op.name in OUT_SHORTCUT):
        reads_out = False
    count = len(node._inputs)
    if named is None:
        return True, set(range(count))
    positions = {i for i in range(count) if (named[i] if i < len(named) else rest)}
    if node._op.name in _SCRATCH_READS:
        scratch = node._attrs.get("scratch") if node._attrs else None
        if scratch is not None and scratch.value is not None:
            positions.discard(0)
    return reads_out, positions


_SAVES_NOTHING: dict = {}  # Op -> whether its rule reads no input or output value
_WALK_MAX = 32  # nodes: a larger graph is freed as before


def _rule_saves_nothing(op) -> bool:
    keep = _SAVES_NOTHING.get(op)
    if keep is None:
        reads_out, named, rest = _reads(op)
        keep = _SAVES_NOTHING[op] = (
            not reads_out and named is not None and not any(named) and not rest
            and op.name not in _READ_BY and op.name != "einsum"
            and getattr(op, "unhooked", None) is None)  # (packed by saved-tensor hooks)
    return keep


def unsaved_graph(root) -> int:
    """How many nodes ``root``'s graph has if none of them reads a saved value, else 0: every
    rule reads only shapes and dtypes (sum, mean, add, expand, a basic slice; no array among
    its attributes, no Function's ctx), down to leaves and constants, in at most
    ``_WALK_MAX`` visits. PyTorch frees the saved tensors after a backward, not the nodes, so
    ``y = x.sum(); y.backward(); y.backward()`` runs twice there (pyro's warn_if_inf test); a
    backward without ``retain_graph`` keeps such a graph here (it holds nothing the program
    does not) and frees every other graph whole, where PyTorch would run its nodes that saved
    nothing and raise at the first that did. The usual root (a loss, or a sum of a node that
    saved a value) costs two dict tests: 0.15 us (timeit, 8 x 8, busy machine).
    """
    op = root._op
    if op is None or _SAVES_NOTHING.get(op) is False:
        return 0
    walk = False
    for x in root._inputs or ():
        below = x._op
        if below is not None:
            if _SAVES_NOTHING.get(below) is False:
                return 0  # (the usual root: a sum or mean of a node that saved a value)
            walk = True
    if not walk and root._inputs is not None:
        # A root over leaves (the walk's one visit, without it): add / sub / clone / sum of
        # leaves' fwd + bwd 0.1 us less (s27 SP36, timeit, thread time).
        attrs = root._attrs
        return int(_rule_saves_nothing(op) and not (
            attrs and (_has_arrays(attrs) or "ctx" in attrs)))
    stack = [root]
    visits = 0  # (a node reached twice counts twice: no set, for the usual two-node walk)
    while stack:
        node = stack.pop()
        visits += 1
        inputs = node._inputs
        op = node._op
        if (inputs is None or visits > _WALK_MAX or not _rule_saves_nothing(op)
                or node._attrs and (_has_arrays(node._attrs) or "ctx" in node._attrs)):
            # (a Function's node: its ctx may hold saved tensors, freed after a backward)
            return 0
        for x in inputs:
            if x._op is not None:
                stack.append(x)
    return visits


# (A kept graph's nodes count as freed once: one_node.newly_kept, which backward calls.)
_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
               "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
               "bool": "Bool", "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def type_name(dtype) -> str:
    """PyTorch's short name of a dtype (``Float``, ``Long``, ...), as its messages use."""
    return _TYPE_NAMES.get(str(dtype), str(dtype))


def _attr_arrays(attrs) -> list:
    """The arrays among a node's attributes (index arrays of take / scatter / index_put, ...),
    alone or in a tuple or list: the forward keeps the caller's index tensor's array itself."""
    arrays = []
    for value in attrs.values():
        if type(value) is np.ndarray:
            arrays.append(value)
        elif type(value) in (tuple, list):
            arrays.extend(v for v in value if type(v) is np.ndarray)
    return arrays


_ndarray = np.ndarray


def _has_arrays(attrs) -> bool:
    """Whether ``_attr_arrays(attrs)`` has any (without building it: unsaved_graph's test)."""
    for value in attrs.values():
        kind = type(value)
        if kind is _ndarray:
            return True
        if kind is tuple or kind is list:
            for v in value:
                if type(v) is _ndarray:
                    return True
    return False


def check_saved(node) -> None:
    """Raise PyTorch's error if a value ``node``'s rule reads changed in place after forward:
    the inputs and output it reads, and the arrays among its attributes (an index tensor
    zeroed in place after ``take`` / ``scatter`` changed the rule's index: PyTorch saves the
    index and refuses too)."""
    reads_out, positions = saved(node)
    serial = node._serial
    if node._op.name in OUT_SHORTCUT:  # (hooked too: its rule recomputes from the unpacked x)
        record = _record(node._data, False)
        if record is not None and record.stamps and record.stamps[-1] >= serial:
            if len(CHANGED_OUTPUTS) >= 256:
                CHANGED_OUTPUTS.clear()
            CHANGED_OUTPUTS.add(id(node._data))  # (the rule recomputes it from its input)
    values = [(x, x._data) for x in ([node] if reads_out else [])]
    values.extend((node._inputs[i], node._inputs[i]._data) for i in sorted(positions))
    if node._attrs and getattr(node._op, "unhooked", None) is None:
        values.extend((None, a) for a in _attr_arrays(node._attrs))
    for x, data in values:
        record = _record(data, False)
        if record is None or not record.stamps or record.stamps[-1] < serial:
            continue
        expected = record.version - sum(1 for stamp in record.stamps if stamp >= serial)
        producer = (None if x is None else node._op.name if x is node
                    else x._op.name if x._op is not None else None)
        which = f", which is output 0 of {producer}," if producer else ""
        raise RuntimeError(
            "one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: [deltagrad.{type_name(data.dtype)}Tensor "
            f"{list(data.shape)}]{which} is at version {record.version}; expected version "
            f"{expected} instead. Hint: the backward of '{node._op.name}' reads this value; "
            "clone() it before the in-place change, or make the change out of place."
        )
    if node._op.name in _SCRATCH_READS and 0 not in positions:
        data = node._inputs[0]._data
        record = _record(data, False)
        changed = record is not None and record.stamps and record.stamps[-1] >= serial
        CHANGED_INPUT[0] = weakref.ref(data) if changed else None  # (refused where read)
