"""``deltagrad.func.vmap`` (a loop over the mapped dimension: see ``deltagrad.func``'s
docstring) and the trees of tensors (tuples, lists, dicts: PyTorch's pytrees) that every
transform in ``deltagrad.func`` flattens and rebuilds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _engine as dg
from ._engine.api.backward import KEEP_GRAPH
from ._engine.modes import CAPTURED, MAPPED, VMAP_SHIFTS, UnmappedWrites, _InferenceMode
from ._engine.tensor import Tensor
from ._engine.versions import _root
from ._func_captured import reachable_storages

__all__ = ["vmap"]


# ----------------------------------------------------------------------------------------------
# Trees of tensors (tuples, lists and dicts), as PyTorch's pytrees.


def _flatten(tree) -> tuple[list, Any]:
    leaves: list = []

    def spec_of(node):
        if isinstance(node, (tuple, list)):
            return (type(node), [spec_of(child) for child in node])
        if isinstance(node, dict):
            return (dict, [(key, spec_of(child)) for key, child in node.items()])
        leaves.append(node)
        return None

    return leaves, spec_of(tree)


def _unflatten(spec, leaves: list):
    iterator = iter(leaves)

    def build(node):
        if node is None:
            return next(iterator)
        kind, children = node
        if kind is dict:
            return {key: build(child) for key, child in children}
        values = [build(child) for child in children]
        return kind(values) if kind in (tuple, list) else kind(*values)

    return build(spec)


# ----------------------------------------------------------------------------------------------
# vmap.


def _mapped_leaves(args: tuple, in_dims) -> list[tuple[int, Any]]:
    """Per flattened argument leaf, its mapped dimension (None for unmapped)."""
    if isinstance(in_dims, int) or in_dims is None:
        in_dims = (in_dims,) * len(args)
    elif not isinstance(in_dims, tuple):
        raise ValueError(f"vmap: in_dims must be int, None or a tuple, got "
                         f"{type(in_dims).__name__}")
    if len(in_dims) != len(args):
        raise ValueError(f"vmap: in_dims is not compatible with the structure of `inputs`. "
                         f"in_dims has structure of length {len(in_dims)} but inputs has "
                         f"{len(args)} arguments.")
    dims = []
    for arg, dim in zip(args, in_dims):
        leaves, spec = _flatten(arg)
        if isinstance(dim, int) or dim is None:
            dims.extend([dim] * len(leaves))
        else:
            dim_leaves, dim_spec = _flatten(dim)
            if dim_spec != spec:
                raise ValueError("vmap: in_dims is not compatible with the structure of "
                                 "`inputs`.")
            dims.extend(dim_leaves)
    return dims


def vmap(func: Callable, in_dims=0, out_dims=0, randomness: str = "error", *,
         chunk_size: int | None = None) -> Callable:
    """Map ``func`` over a dimension of its inputs (PyTorch's ``torch.func.vmap``), by a loop:
    ``func`` is called once per index of the mapped dimension and the results are stacked along
    ``out_dims`` (see the module docstring).

    Args:
        func: takes tensors (or trees of them) and returns a Tensor or a tree of Tensors.
        in_dims: the mapped dimension of each positional argument: an int or None for all, or
            a tuple with one entry (int, None or a tree like the argument) per argument.
        out_dims: where the mapped dimension goes in each output (int, or a tuple per output;
            None for an output that does not depend on the mapped inputs).
        randomness: ``"error"``, ``"different"`` or ``"same"`` (see the module docstring).
        chunk_size: accepted; the loop takes one element at a time anyway.

    Returns:
        The mapped function.

    >>> import deltagrad as dg
    >>> vmap(dg.dot)(dg.ones(3, 2), dg.ones(3, 2))
    tensor([2., 2., 2.])
    """
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")
    if chunk_size is not None and not (isinstance(chunk_size, int) and chunk_size > 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    def wrapper(*args, **kwargs):
        dims = _mapped_leaves(args, in_dims)
        flat_args, spec = _flatten(args)
        sizes = set()
        for leaf, dim in zip(flat_args, dims):
            if dim is None:
                continue
            if not isinstance(leaf, Tensor):
                raise ValueError(f"vmap: Got in_dim={dim} for an input but the input is of "
                                 f"type {type(leaf).__name__}. We cannot vmap over non-Tensor "
                                 "arguments, please use None as the respective in_dim")
            if not -leaf.ndim <= dim < leaf.ndim:
                raise ValueError(f"vmap: Got in_dim={dim} for some input, but that input is a "
                                 f"Tensor of dimensionality {leaf.ndim} so expected in_dim to "
                                 f"satisfy -{leaf.ndim} <= in_dim < {leaf.ndim}.")
            sizes.add(leaf.shape[dim])
        if not sizes:
            raise ValueError("vmap: at least one input must be a Tensor mapped over a "
                             "dimension (in_dims is None for all of them)")
        if len(sizes) > 1:
            raise ValueError("vmap: Expected all tensors to have the same size in the mapped "
                             f"dimension, got sizes {sorted(sizes)} for the mapped dimension")
        (size,) = sizes
        start_state = dg.get_rng_state()
        results = []
        if size == 0:
            # PyTorch runs func once on a batch of none: a zero-filled element gives the
            # outputs' shapes, and _stack_outputs keeps none of them.
            leaves = [dg.zeros(leaf.shape[:dim] + leaf.shape[dim:][1:], dtype=leaf.dtype)
                      if dim is not None else leaf for leaf, dim in zip(flat_args, dims)]
            return _stack_outputs([func(*_unflatten(spec, leaves), **kwargs)], out_dims, 0)
        unmapped = _unmapped_storages(func, flat_args, dims)
        steps = _example_steps(flat_args, dims)
        outer_shifts = {key: VMAP_SHIFTS.get(key, _ABSENT) for key in steps}
        current = [0]  # (the running example, read by as_strided through VMAP_SHIFTS)
        for key, (step, low, high, width) in steps.items():
            outer = outer_shifts[key]
            VMAP_SHIFTS[key] = None if step is None or outer is None else (
                step, low, high, width, None if outer is _ABSENT else outer, current)
        watching = bool(unmapped)
        if watching:
            writes = UnmappedWrites(unmapped, frozenset(steps), _UNMAPPED_INPLACE)
            marking = _InferenceMode.marking
            CAPTURED.append(writes)
            _InferenceMode.marking = True  # (so that in-place ops call modes.check_captured)
        try:
            once: dict = {}  # (an unmapped storage's content after its first example's write)
            for index in range(size):
                if randomness == "same":
                    dg.set_rng_state(start_state)
                leaves = [leaf.select(dim, index) if dim is not None else leaf
                          for leaf, dim in zip(flat_args, dims)]
                if unmapped:
                    _restore(writes)
                before = dg.get_rng_state() if index == 0 else None
                keep = index < size - 1  # (a grad() inside frees the graph after the last only)
                KEEP_GRAPH[0] += keep
                current[0] = index
                if index == 0:  # (values of the mapped inputs marked: modes.MAPPED)
                    for leaf, dim in zip(leaves, dims):
                        if dim is not None and isinstance(leaf, Tensor):
                            leaf._mapped = True
                    MAPPED.append(randomness)
                    marked = _InferenceMode.marking
                    _InferenceMode.marking = True
                try:
                    results.append(func(*_unflatten(spec, leaves), **kwargs))
                finally:
                    KEEP_GRAPH[0] -= keep
                    if index == 0:
                        MAPPED.pop()
                        _InferenceMode.marking = marked or bool(CAPTURED) or (
                            _InferenceMode.used)
                if unmapped:
                    _compare(writes, once)
                    if index == 0:  # (the storages the first example wrote are known now)
                        CAPTURED.remove(writes)
                        _InferenceMode.marking = marking or bool(CAPTURED) or (
                            _InferenceMode.used)
                        watching = False
                if index == 0 and randomness == "error" and not _same_state(
                        before, dg.get_rng_state()):
                    dg.set_rng_state(before)  # (PyTorch raises before drawing: state unchanged)
                    raise RuntimeError("vmap: called random operation while in randomness "
                                       "error mode. Please either use the 'same' or "
                                       "'different' randomness flags on vmap or perform the "
                                       "randomness operation out of vmap")
        finally:
            _restore_shifts(outer_shifts)
            if watching:  # (an error in the first example)
                CAPTURED.remove(writes)
                _InferenceMode.marking = marking or bool(CAPTURED) or _InferenceMode.used
        return _stack_outputs(results, out_dims)

    return wrapper


_UNMAPPED_INPLACE = (
    "vmap: inplace arithmetic(self, *extra_args) is not possible because there exists a Tensor "
    "`other` in extra_args that has more elements than `self`. This happened due to `other` "
    "being vmapped over but `self` not being vmapped over in a vmap. Please try to use "
    "out-of-place operators instead of inplace arithmetic. If said operator is being called "
    "inside the PyTorch framework, please file a bug report instead.")


# In-place changes of unmapped tensors (captured by ``func`` or passed with in_dims None).
# PyTorch runs such a change once when its value is unmapped, and refuses a mapped value. The
# loop here calls ``func`` once per example, so modes.check_captured records each unmapped
# storage's content before its first write; every later example starts from that content
# again, and must leave the storage as the first one did (the change then happened once), else
# PyTorch's error is raised and the content restored. An in-place op whose other argument
# views a mapped input is refused before it writes (modes.check_captured, s29 BR21). NOTE: a
# value computed from a mapped input whose examples all write the same thing is taken as that
# one change (PyTorch refuses it: it knows the value is mapped, where this loop sees only what
# was written). A captured tensor in an autograd graph
# gets one node per example (each step replays the same change on the first content). Only
# the first example's writes are watched (a storage first written by a later example is
# written per example, as before). Cost: the walk (~8 us) and the first example's ops marked:
# vmap of a 2-op function over 16 examples 517-583 -> 594-598 us (two in-process alternated
# runs of 21 rounds, loaded machine).


def _unmapped_storages(func, flat_args: list, dims: list) -> dict:
    found = reachable_storages(func)
    for leaf, dim in zip(flat_args, dims):
        if isinstance(leaf, Tensor) and isinstance(leaf._data, np.ndarray):
            root = _root(leaf._data)
            if dim is None:
                found[id(root)] = root
    for leaf, dim in zip(flat_args, dims):
        if dim is not None and isinstance(leaf._data, np.ndarray):
            found.pop(id(_root(leaf._data)), None)  # (mapped: each example writes its own slice)
    return found


# NOTE: a tensor the function captured that views a mapped input's storage inside the running
# example's memory (vmap(lambda t: t + x[i].as_strided(...)) while example i runs) is taken as
# the example's own view: its as_strided offset is moved too (PyTorch's, unbatched, is not).
_ABSENT = object()


def _example_steps(flat_args: list, dims: list) -> dict:
    """id(root array) of each mapped input's storage -> (its stride along the mapped dim, in
    elements: how far each example starts after the one before it, None where two mapped
    inputs share the storage with different strides; the first and last byte address of the
    first example; the stride in bytes), for as_strided (modes.VMAP_SHIFTS). Once a call, and
    one store an example: vmap of a 2-op function over 16 examples 318 -> 392 us when the
    running example's entry was built per example, now 310 -> 317 (thread time, alternated in
    one process, 15 rounds)."""
    steps: dict = {}
    for leaf, dim in zip(flat_args, dims):
        data = leaf._data if dim is not None else None
        if isinstance(data, np.ndarray) and leaf.shape[dim]:
            key = id(_root(data))
            dim %= data.ndim
            width = data.strides[dim]
            low = sum([(n - 1) * s for d, (n, s) in enumerate(zip(data.shape, data.strides))
                       if s < 0 and n and d != dim])
            high = sum([(n - 1) * s for d, (n, s) in enumerate(zip(data.shape, data.strides))
                        if s > 0 and n and d != dim])
            start = data.ctypes.data
            step = width // data.itemsize
            if key in steps and steps[key][0] != step:
                step = None
            steps[key] = (step, start + low, start + high + data.itemsize - 1, width)
    return steps


def _restore_shifts(outer: dict) -> None:
    for key, shift in outer.items():
        if shift is _ABSENT:
            VMAP_SHIFTS.pop(key, None)
        else:
            VMAP_SHIFTS[key] = shift


def _restore(writes: UnmappedWrites) -> None:
    for key, content in writes.before.items():
        np.copyto(writes[key], content)


def _compare(writes: UnmappedWrites, once: dict) -> None:
    for key in writes.before:
        content = writes[key].tobytes()
        if once.setdefault(key, content) != content:
            _restore(writes)
            raise RuntimeError(_UNMAPPED_INPLACE)


def _same_state(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_state(a[k], b[k]) for k in a)
    if isinstance(a, (np.ndarray, Tensor)) or isinstance(b, (np.ndarray, Tensor)):
        return np.array_equal(np.asarray(a), np.asarray(b))
    return a == b


def _stack_outputs(results: list, out_dims, size: int | None = None):
    flats = [_flatten(result) for result in results]
    spec = flats[0][1]
    count = len(flats[0][0])
    if isinstance(out_dims, int) or out_dims is None:
        dims = [out_dims] * count
    else:
        dims, dim_spec = _flatten(out_dims)
        if len(dims) != count:
            raise ValueError(f"vmap: out_dims is not compatible with the structure of "
                             f"`outputs`: {len(dims)} out_dims for {count} outputs")
    stacked = []
    for position in range(count):
        items = [flat[position] for flat, _ in flats]
        dim = dims[position]
        if dim is None and not isinstance(items[0], Tensor):
            stacked.append(items[0])  # (PyTorch passes a non-tensor output with out_dims None)
            continue
        if not all(isinstance(item, Tensor) for item in items):
            raise ValueError(f"vmap: `func` must only return Tensors, got type "
                             f"{type(items[0])}. Did you mean to set out_dims= to None for "
                             "output?")
        if dim is None:
            first = items[0].detach().numpy()
            if not all(np.array_equal(first, item.detach().numpy()) for item in items[1:]):
                raise ValueError("vmap: can't use out_dims=None for an output that depends on "
                                 "the mapped inputs")
            items[0].__dict__.pop("_mapped", None)  # (unmapped from here: modes.MAPPED)
            stacked.append(items[0])
            continue
        ndim = items[0].ndim + 1
        if not isinstance(dim, int):
            raise ValueError(f"vmap: `out_dims` must be an int, None or a python collection of "
                             f"ints, got {out_dims}")
        if not -ndim <= dim < ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, "
                             f"{ndim - 1}], but got {dim})")
        try:
            stacked.append(dg.stack(items, dim=dim) if size is None
                           else dg.stack(items, dim=dim).narrow(dim, 0, 0))
        except AttributeError:
            sparse = [item.layout for item in items if item.layout != dg.strided]
            if not sparse:
                raise
            # (PyTorch's batched sparse tensor fails at its first view: NotImplementedError)
            raise NotImplementedError(f"vmap: an output of layout {sparse[0]} cannot be "
                                      "batched (only strided outputs are supported)") from None
    return _unflatten(spec, stacked)
