"""``torch.fx.immutable_collections``: the list and dict types a Node's arguments are stored
in, so that a pass cannot change them behind the node's back (the users would go stale)."""

from __future__ import annotations

__all__ = ["immutable_dict", "immutable_list"]


def _refuse(self, *args, **kwargs):
    raise TypeError(f"'{type(self).__name__}' object is immutable (set node.args / "
                    "node.kwargs to a new value instead)")


class immutable_list(list):  # noqa: N801 - PyTorch's name
    """A list that refuses in-place changes (a Node's list arguments)."""

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __reduce__(self):
        return immutable_list, (tuple(self),)


class immutable_dict(dict):  # noqa: N801 - PyTorch's name
    """A dict that refuses in-place changes (a Node's keyword arguments)."""

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __hash__(self) -> int:
        return hash(tuple(self.items()))

    def __reduce__(self):
        return immutable_dict, (tuple(self.items()),)
