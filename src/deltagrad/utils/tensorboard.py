"""``deltagrad.utils.tensorboard``: PyTorch's ``torch.utils.tensorboard`` path. TensorBoard
logging is out of scope: taking anything from this module (``SummaryWriter``, ...) raises one
clear ImportError, which programs that treat TensorBoard as optional already catch.

(Importing the module itself succeeds, so that tools that import every module, such as
doctest collection, keep working.)
"""

from __future__ import annotations

__all__: list[str] = []

_MESSAGE = ("deltagrad.utils.tensorboard is not supported: deltagrad has no TensorBoard "
            "writer (SummaryWriter); log scalars another way, or drop the import")


# torch.utils.tensorboard's public names; any other missing name is a plain AttributeError, so
# that introspection (pytest, doctest, pickle) that probes attributes keeps working.
_TORCH_NAMES = {"SummaryWriter", "FileWriter", "RecordWriter", "summary", "writer"}


def __getattr__(name: str):
    if name in _TORCH_NAMES:
        raise ImportError(f"cannot import name {name!r}: {_MESSAGE}")
    raise AttributeError(f"module 'deltagrad.utils.tensorboard' has no attribute {name!r} "
                         f"({_MESSAGE})")
