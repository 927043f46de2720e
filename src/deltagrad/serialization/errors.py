"""The error a checkpoint that cannot be read raises, and its forms that are also the
exception PyTorch's torch.load raises for the same bytes (session 27, PR13), so that a
program's ``except (RuntimeError, EOFError, pickle.UnpicklingError)`` around the load of a
damaged file behaves as under PyTorch. PyTorch's class comes first among the bases, so it is
the first builtin of the MRO (what a report of the error's class names; s29 SL21)."""

from __future__ import annotations

import pickle
import zipfile

from .torch_files import InvalidMagicNumber


class CheckpointError(ValueError):
    """A checkpoint that cannot be read: truncated, corrupted, or not a deltagrad/safetensors
    file. The message names the file and what is wrong."""


class NotACheckpointError(pickle.UnpicklingError, CheckpointError):
    """Bytes that are no checkpoint at all (PyTorch's unpickler refuses them)."""


class DamagedCheckpointError(RuntimeError, CheckpointError):
    """A zip checkpoint whose archive is damaged, or a pickle without a legacy checkpoint's
    magic number (PyTorch: RuntimeError)."""


class EmptyCheckpointError(EOFError, CheckpointError):
    """An empty file, or a legacy checkpoint's pickle that ends early (PyTorch: EOFError)."""


def unreadable(message: str, size: int, cause: Exception | None = None,
               head: bytes = b"") -> CheckpointError:
    """The error for a file of ``size`` bytes that could not be read, ``cause`` what reading
    it as a PyTorch checkpoint raised (None: it is not one; ``head``: its first 9 bytes):
    PyTorch's type where known. A damaged safetensors file (its header's ``{`` in place) is
    deltagrad's own checkpoint damaged: RuntimeError, as a damaged zip of PyTorch's."""
    if size == 0 or isinstance(cause, EOFError):
        return EmptyCheckpointError(message)
    if cause is None and head[8:9] == b"{":
        return DamagedCheckpointError(message)
    if cause is None or isinstance(cause, pickle.UnpicklingError):
        return NotACheckpointError(message)
    if isinstance(cause, (zipfile.BadZipFile, InvalidMagicNumber)):
        return DamagedCheckpointError(message)
    return CheckpointError(message)  # (what PyTorch can read, or its type unknown: only ours)
