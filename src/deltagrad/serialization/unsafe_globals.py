"""``torch.serialization.get_unsafe_globals_in_checkpoint``: the globals (classes, functions) a
checkpoint refers to that ``load(weights_only=True)`` would refuse, read from the file's
metadata without importing or building anything."""

from __future__ import annotations

import os

__all__ = ["get_unsafe_globals_in_checkpoint"]

# The structure's tags that name a global ("module:qualname"), and the ones a load resolves
# by name although no global is written ($frozenset: PyTorch's default list lacks it).
_NAMING = ("$object", "$reduce", "$global")
_IMPLIED = {"$frozenset": "builtins:frozenset"}


def get_unsafe_globals_in_checkpoint(f) -> list:
    """The ``module.qualname`` of each global in checkpoint ``f`` (a path or a binary file
    object) that is neither on PyTorch's default weights-only list nor allowed by
    ``add_safe_globals`` (each once, in the order met; PyTorch's order is a set's).

    Raises:
        ValueError: ``f`` holds no deltagrad checkpoint (PyTorch's error).
        NotImplementedError: ``f`` is a checkpoint written by PyTorch (deltagrad does not list
            the globals of PyTorch's pickles).
    """
    from . import (
        _METADATA_KEY,
        _SAFE_GLOBALS,
        _BytesHandle,
        _parse_header,
        _safetensors_numpy,
        objects,
        torch_files,
    )

    if hasattr(f, "read"):
        data = f.read()
        file = str(getattr(f, "name", "<file object>"))
    else:
        file = os.fspath(f)
        with open(file, "rb") as handle:
            data = handle.read()
    if torch_files.is_torch_file(data[:9]):
        raise NotImplementedError("get_unsafe_globals_in_checkpoint: the file was written by "
                                  "PyTorch; deltagrad lists the globals of its own checkpoints "
                                  "only")
    try:
        with _BytesHandle.open(file, data, _safetensors_numpy()) as handle:
            text = (handle.metadata() or {}).get(_METADATA_KEY)
    except Exception:  # noqa: BLE001 - not a safetensors file at all
        text = None
    if text is None:
        raise ValueError("Expected input to be a checkpoint returned by torch.save")
    allowed = objects.WeightsOnlyGate(file, True, list(_SAFE_GLOBALS)).allowed
    found: dict = {}
    stack = [_parse_header(file, text).get("structure")]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
        elif isinstance(node, dict):
            for key, value in node.items():
                name = _IMPLIED.get(key) or (value if key in _NAMING else None)
                if isinstance(name, str):
                    name = objects.dotted(name)
                    if name not in allowed:
                        found.setdefault(name, None)
            stack.extend(reversed(list(node.values())))
    return list(found)
