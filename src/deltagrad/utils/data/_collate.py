"""Turning a list of samples into a batch: ``default_collate`` and ``default_convert``."""

from __future__ import annotations

import collections.abc
import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from ... import _engine as dg
from ..._engine import subclassing

__all__ = ["collate_tensor_fn", "default_collate", "default_collate_fn_map", "default_convert"]

_ERROR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
          "found {}")


def default_collate(batch: Sequence) -> Any:
    """Stack a list of samples into a batch, recursing into containers (PyTorch's rules).

    Tensors are stacked along a new dimension 0; NumPy arrays are stacked into a tensor of
    their dtype, NumPy scalars into a 1-d tensor of their dtype; Python floats give float64,
    ints int64 and bools bool; strings and bytes are returned as they are (the batch's own
    sequence). Dicts give a dict of collated values; namedtuples the same namedtuple of
    collated fields; other sequences are transposed and collated position by position
    (tuples become lists, as in PyTorch).

    Args:
        batch: a non-empty sequence of samples of the same structure.

    Returns:
        the batch, with the samples' structure.

    >>> out = default_collate([(1.0, {"id": 3}), (2.0, {"id": 4})])
    >>> out
    [tensor([1., 2.], dtype=deltagrad.float64), {'id': tensor([3, 4])}]
    """
    elem = batch[0]
    kind = type(elem)
    custom = _custom_collate(kind)
    if custom is not None:
        return custom(batch, collate_fn_map=default_collate_fn_map)
    if dg.is_tensor(elem):
        return _stack(batch)
    if _is_numpy(elem):
        if isinstance(elem, np.ndarray):
            if elem.dtype.kind in "SUOV":
                raise TypeError(_ERROR.format(elem.dtype))
            return _stack([dg.from_numpy(np.asarray(item)) for item in batch])
        if elem.dtype.kind in "SUOV":
            raise TypeError(_ERROR.format(elem.dtype))
        return dg.from_numpy(np.array(batch))
    if isinstance(elem, float):
        return dg.tensor(batch, dtype=np.float64)
    if isinstance(elem, int):  # bools too: a list of bools makes a bool tensor
        return dg.tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([sample[key] for sample in batch]) for key in elem}
        return _same_mapping(elem, collated)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a namedtuple
        return kind(*(default_collate(field) for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        # Columns stay tuples (what zip gives), so a column of strings comes back as a tuple.
        collated = [default_collate(column) for column in zip(*batch)]
        if isinstance(elem, tuple):
            return collated
        return _same_sequence(elem, collated)
    raise TypeError(_ERROR.format(kind))


def collate_tensor_fn(batch: Sequence, *, collate_fn_map: dict | None = None):
    """Stack a list of tensors along a new dimension 0 (PyTorch's collate rule for tensors)."""
    return _stack(list(batch))


# PyTorch's type -> collate function table. Libraries add their own types to it (monai adds its
# MetaTensor); default_collate calls an added entry for an exact type match or, failing that,
# the first added type the sample is an instance of. The built-in types keep their own rules.
default_collate_fn_map: dict = {dg.Tensor: collate_tensor_fn}
_BUILT_IN = frozenset(default_collate_fn_map)


def _custom_collate(kind: type):
    """A collate function added to ``default_collate_fn_map`` for ``kind``, else None."""
    if len(default_collate_fn_map) == len(_BUILT_IN):
        return None
    if kind in default_collate_fn_map:
        return None if kind in _BUILT_IN else default_collate_fn_map[kind]
    for added, function in default_collate_fn_map.items():
        if added not in _BUILT_IN and issubclass(kind, added):
            return function
    return None


def default_convert(data: Any) -> Any:
    """Convert NumPy arrays and scalars to tensors, recursing into containers; no batching.

    The ``collate_fn`` of a ``DataLoader`` with ``batch_size=None``. NumPy arrays become
    tensors sharing their memory (arrays of strings or objects are left as they are); tensors,
    Python numbers and strings are returned unchanged; tuples become lists, as in PyTorch.

    >>> import numpy as np
    >>> default_convert({"x": np.zeros(2), "n": 3})
    {'x': tensor([0., 0.], dtype=deltagrad.float64), 'n': 3}
    """
    if dg.is_tensor(data):
        return data
    if _is_numpy(data):
        if isinstance(data, np.ndarray) and data.dtype.kind in "SUOV":
            return data
        return dg.from_numpy(np.asarray(data))
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        return _same_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(item) for item in data))
    if isinstance(data, tuple):
        return [default_convert(item) for item in data]
    if isinstance(data, collections.abc.Sequence):
        return _same_sequence(data, [default_convert(item) for item in data])
    return data


def _is_numpy(value) -> bool:
    """NumPy arrays and scalars, but not NumPy's string scalars (those count as strings)."""
    return isinstance(value, (np.ndarray, np.generic)) and not isinstance(value, (str, bytes))


def _stack(tensors: list):
    """``dg.stack(tensors)``; without autograd, one ``np.stack`` rather than an op per item."""
    for position, tensor in enumerate(tensors):
        if not isinstance(tensor, dg.Tensor):  # (torch.stack's error)
            raise TypeError(f"expected Tensor as element {position} in argument 0, but got "
                            f"{type(tensor).__name__}")
    if dg.is_grad_enabled() and any(t.requires_grad for t in tensors) or \
            any(t.dtype != tensors[0].dtype for t in tensors):
        return dg.stack(tensors, 0)  # keeps the graph and promotes as torch.stack (s29 SL21)
    if tensors[0].layout != dg.strided:
        raise RuntimeError("Batches of sparse tensors are not currently supported by the default "
                           "collate_fn; please provide a custom collate_fn to handle them "
                           "appropriately.")
    if any(type(t) is not dg.Tensor for t in tensors):
        # Subclasses go through torch.stack's __torch_function__ dispatch, as PyTorch's
        # collate_tensor_fn (a batch of MONAI MetaTensors is a MetaTensor; of tv_tensors, plain).
        return subclassing.dispatch_public(dg.stack, (tensors, 0), None)
    shape = tensors[0].shape
    for position, tensor in enumerate(tensors):
        if tensor.shape != shape:
            raise dg.ShapeError(f"stack expects each tensor to be equal size, but got "
                                f"{list(shape)} at entry 0 and {list(tensor.shape)} at entry "
                                f"{position}")
    return dg.from_numpy(np.stack([tensor.detach().numpy() for tensor in tensors]))


def _same_mapping(elem, values: dict):
    """``values`` in a mapping of ``elem``'s type where that can be made, else a dict."""
    if isinstance(elem, collections.abc.MutableMapping):
        clone = copy.copy(elem)  # keeps the type and any extra attributes (e.g. defaultdict)
        clone.update(values)
        return clone
    try:
        return type(elem)(values)
    except TypeError:
        return values


def _same_sequence(elem, values: list):
    """``values`` in a sequence of ``elem``'s type where that can be made, else a list."""
    if isinstance(elem, collections.abc.MutableSequence):
        clone = copy.copy(elem)
        try:
            for position, value in enumerate(values):
                clone[position] = value
            return clone
        except TypeError:
            return values
    try:
        return type(elem)(values)
    except TypeError:
        return values
