"""``deltagrad.return_types``: the named tuples ops return (``max``: ``values, indices``;
``linalg_slogdet``: ``sign, logabsdet``; ...), as ``torch.return_types``. They are made where
their ops are defined (``_engine.api._common.return_type``); this module names them, so that
``isinstance(r, torch.return_types.max)`` works and results pickle."""

from ._engine.api._common import RETURN_TYPES

globals().update(RETURN_TYPES)  # (every op module is loaded by `import deltagrad` first)
__all__ = sorted(RETURN_TYPES)


def __getattr__(name: str):
    if name in RETURN_TYPES:  # (one made after this module was first imported)
        return RETURN_TYPES[name]
    raise AttributeError(f"module 'deltagrad.return_types' has no attribute {name!r}")
