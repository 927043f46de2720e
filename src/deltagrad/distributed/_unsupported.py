"""Stand-ins for the parts of ``torch.distributed`` deltagrad does not implement (RPC, DTensor,
device meshes, FSDP, functional collectives): importable, so that libraries which import them
on a CPU build (transformers, torch_geometric) load, and raising ``NotImplementedError``, naming
what is missing, as soon as one is used. ``isinstance(x, DTensor)`` is ``False``, truthfully:
no such object is ever made.
"""

from __future__ import annotations

from collections.abc import Callable


def _message(qualname: str) -> str:
    return (f"deltagrad does not support {qualname} (only process groups and their "
            "collectives over MPI are implemented in deltagrad.distributed)")


def unsupported_function(module: str, name: str) -> Callable:
    """A function ``module.name`` that raises NotImplementedError naming itself."""
    qualname = f"torch.{module}.{name}"

    def function(*args, **kwargs):
        raise NotImplementedError(_message(qualname))

    function.__name__ = function.__qualname__ = name
    function.__module__ = f"deltagrad.{module}"
    function.__doc__ = f"PyTorch's ``{qualname}``: not supported (raises NotImplementedError)."
    return function


def unsupported_class(module: str, name: str, bases: tuple = (object,)) -> type:
    """A class ``module.name`` that raises NotImplementedError when constructed (usable in
    ``isinstance`` checks and as a base, which is all importing libraries do with it)."""
    qualname = f"torch.{module}.{name}"

    def __init__(self, *args, **kwargs):  # noqa: N807 - the class's constructor
        raise NotImplementedError(_message(qualname))

    doc = f"PyTorch's ``{qualname}``: not supported (constructing one raises)."
    return type(name, bases, {"__init__": __init__, "__doc__": doc,
                              "__module__": f"deltagrad.{module}"})
