"""``torch.utils.weak``: weak references and dictionaries keyed by object identity (Tensors
compare element-wise, so they cannot be ordinary dictionary keys)."""

from __future__ import annotations

import weakref
from collections.abc import MutableMapping

from .._engine.tensor import Tensor

__all__ = ["TensorWeakRef", "WeakIdKeyDictionary", "WeakIdRef", "WeakTensorKeyDictionary"]


class WeakIdRef(weakref.ref):
    """A weak reference hashed by its referent's ``id``; two are equal when they refer to the
    same live object (or are the same reference)."""

    __slots__ = ["_id"]

    def __init__(self, key, callback=None) -> None:
        self._id = id(key)
        super().__init__(key, callback)

    def __hash__(self) -> int:
        return self._id

    def __eq__(self, other) -> bool:
        mine, theirs = self(), other()
        if mine is not None and theirs is not None:
            return mine is theirs
        return self is other


class WeakIdKeyDictionary(MutableMapping):
    """A mapping whose keys are held weakly and compared by identity: an entry goes when its
    key is collected."""

    def __init__(self, dict=None, ref_type=WeakIdRef) -> None:  # noqa: A002 - PyTorch's name
        self.data: dict = {}
        self.ref_type = ref_type
        self_ref = weakref.ref(self)

        def remove(key_ref, self_ref=self_ref) -> None:
            owner = self_ref()
            if owner is not None:
                owner.data.pop(key_ref, None)

        self._remove = remove
        if dict is not None:
            self.update(dict)

    def __getitem__(self, key):
        return self.data[self.ref_type(key)]

    def __setitem__(self, key, value) -> None:
        self.data[self.ref_type(key, self._remove)] = value

    def __delitem__(self, key) -> None:
        del self.data[self.ref_type(key)]

    def __contains__(self, key) -> bool:
        try:
            reference = self.ref_type(key)
        except TypeError:
            return False
        return reference in self.data

    def __iter__(self):
        for reference in list(self.data):
            key = reference()
            if key is not None:
                yield key

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at {id(self):#x}>"

    def copy(self) -> WeakIdKeyDictionary:
        return type(self)(dict(self.items()), self.ref_type)

    def get(self, key, default=None):
        return self.data.get(self.ref_type(key), default)


WeakTensorKeyDictionary = WeakIdKeyDictionary


class TensorWeakRef:
    """A weak reference to a Tensor (``ref()`` the tensor, or None once collected)."""

    def __init__(self, tensor: Tensor) -> None:
        if not isinstance(tensor, Tensor):
            raise AssertionError(f"expected torch.Tensor, got {type(tensor)}.")
        self.ref = weakref.ref(tensor)

    def __call__(self):
        return self.ref()
