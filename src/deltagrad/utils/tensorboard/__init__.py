"""``deltagrad.utils.tensorboard``: PyTorch's ``torch.utils.tensorboard`` (``SummaryWriter``),
written on the ``tensorboard`` package. As in PyTorch, importing this module needs that package
(1.15 or later); without it the import itself raises ImportError."""

import re

import tensorboard


def _release(version: str) -> tuple:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:2])


if not hasattr(tensorboard, "__version__") or _release(tensorboard.__version__) < (1, 15):
    raise ImportError("TensorBoard logging requires TensorBoard version 1.15 or above")

del tensorboard

from tensorboard.summary.writer.record_writer import RecordWriter  # noqa: E402

from .writer import FileWriter, SummaryWriter  # noqa: E402

__all__ = ["FileWriter", "RecordWriter", "SummaryWriter"]
