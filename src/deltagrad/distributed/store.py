"""PyTorch's key-value stores (``torch.distributed.Store``): ``HashStore`` (one process),
``FileStore`` (processes of one machine sharing a file) and ``PrefixStore``.

Values are bytes (a ``str`` is stored UTF-8 encoded); ``add`` keeps a counter as its decimal
digits, as PyTorch's stores do. ``get`` and ``wait`` block until the keys exist or the store's
timeout (default five minutes) passes. deltagrad's process groups still find each other through
MPI: ``init_process_group(store=...)`` accepts a store for a world of one process only.
"""

from __future__ import annotations

import os
import pickle
import threading
import time
from collections.abc import Callable
from datetime import timedelta

__all__ = ["DistError", "DistStoreError", "FileStore", "HashStore", "PrefixStore", "Store"]

_DEFAULT_TIMEOUT = timedelta(minutes=5)
_POLL_SECONDS = 0.005  # how often a blocked get/wait looks again


class DistError(RuntimeError):
    """PyTorch's ``torch.distributed.DistError``."""


class DistStoreError(DistError):
    """PyTorch's ``torch.distributed.DistStoreError``: a store timed out or failed."""


def _bytes(value, where: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise TypeError(f"{where}(): incompatible function arguments: the value must be str or "
                    f"bytes, not {type(value).__name__}")


class Store:
    """The key-value store interface; subclasses give ``_transact`` (an atomic read-modify-write
    of the whole table)."""

    def __init__(self) -> None:
        self._timeout = _DEFAULT_TIMEOUT

    def _transact(self, change: Callable[[dict], object]) -> object:
        raise NotImplementedError(f"{type(self).__name__} is an abstract store")

    @property
    def timeout(self) -> timedelta:
        """How long ``get`` and ``wait`` block before raising ``DistStoreError``."""
        return self._timeout

    def set_timeout(self, timeout: timedelta) -> None:
        """Sets the blocking calls' timeout."""
        self._timeout = timeout

    def set(self, key: str, value: str | bytes) -> None:
        """Stores ``value`` under ``key`` (replacing any)."""
        data = _bytes(value, "set")
        self._transact(lambda table: table.__setitem__(key, data))

    def multi_set(self, keys: list, values: list) -> None:
        """``set`` of each key and value, at once."""
        data = [_bytes(v, "multi_set") for v in values]
        self._transact(lambda table: table.update(zip(keys, data)))

    def get(self, key: str) -> bytes:
        """The value under ``key``, waiting for it to be set (up to the timeout)."""
        self._wait([key], self._timeout)
        return self._transact(lambda table: table[key])

    def multi_get(self, keys: list) -> list:
        """The values under ``keys``, waiting for them all."""
        self._wait(list(keys), self._timeout)
        return self._transact(lambda table: [table[k] for k in keys])

    def add(self, key: str, amount: int) -> int:
        """Adds ``amount`` to the counter under ``key`` (0 if absent); returns the new count."""
        def change(table):
            total = int(table.get(key, b"0")) + int(amount)
            table[key] = str(total).encode()
            return total
        return self._transact(change)

    def append(self, key: str, value: str | bytes) -> None:
        """Appends ``value`` to the bytes under ``key`` (sets it if absent)."""
        data = _bytes(value, "append")
        self._transact(lambda table: table.__setitem__(key, table.get(key, b"") + data))

    def compare_set(self, key: str, expected_value: str | bytes,
                    desired_value: str | bytes) -> bytes:
        """Sets ``desired_value`` if the value is ``expected_value`` (or if the key is absent
        and ``expected_value`` is empty); returns the value now there (``expected_value`` for
        an absent key that was not set), as PyTorch's."""
        expected = _bytes(expected_value, "compare_set")
        desired = _bytes(desired_value, "compare_set")

        def change(table):
            if key not in table:
                if expected:
                    return expected
                table[key] = desired
                return desired
            if table[key] == expected:
                table[key] = desired
            return table[key]
        return self._transact(change)

    def check(self, keys: list) -> bool:
        """Whether every key in ``keys`` is set (no waiting)."""
        return self._transact(lambda table: all(k in table for k in keys))

    def wait(self, keys: list, timeout: timedelta | None = None) -> None:
        """Blocks until every key is set; ``DistStoreError`` after ``timeout`` (default: the
        store's)."""
        self._wait(list(keys), self._timeout if timeout is None else timeout)

    def _wait(self, keys: list, timeout: timedelta) -> None:
        deadline = time.monotonic() + timeout.total_seconds()
        while not self.check(keys):
            if time.monotonic() >= deadline:
                raise DistStoreError("Wait timeout")
            time.sleep(_POLL_SECONDS)

    def delete_key(self, key: str) -> bool:
        """Removes ``key``; whether it was there."""
        return self._transact(lambda table: table.pop(key, None) is not None)

    def num_keys(self) -> int:
        """How many keys are set."""
        return self._transact(len)

    def has_extended_api(self) -> bool:
        """Whether the store has PyTorch's extended API (FileStore: False)."""
        return False


class HashStore(Store):
    """A store in this process's memory (threads share it), as ``torch.distributed.HashStore``."""

    def __init__(self) -> None:
        super().__init__()
        self._table: dict = {}
        self._lock = threading.Lock()

    def _transact(self, change):
        with self._lock:
            return change(self._table)

    def has_extended_api(self) -> bool:
        """True, as PyTorch's HashStore answers."""
        return True


class FileStore(Store):
    """A store kept in the file ``file_name``, shared by the processes of one machine that open
    it (each access locks the file), as ``torch.distributed.FileStore``.

    The file's format is deltagrad's own (a pickled table), not PyTorch's: a deltagrad process
    and a PyTorch one cannot share a FileStore.
    """

    def __init__(self, file_name: str, world_size: int = -1) -> None:
        super().__init__()
        self._path = os.fspath(file_name)
        self.world_size = world_size
        with open(self._path, "ab"):  # (created if absent; an existing empty file is fine)
            pass

    @property
    def path(self) -> str:
        """The store's file."""
        return self._path

    def _transact(self, change):
        import fcntl  # (POSIX only: imported when a FileStore is used)
        with open(self._path, "r+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                data = handle.read()
                table = pickle.loads(data) if data else {}
                before = dict(table)
                result = change(table)
                if table != before:
                    handle.seek(0)
                    handle.truncate()
                    handle.write(pickle.dumps(table))
                    handle.flush()
                return result
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


class PrefixStore(Store):
    """``store`` with every key prefixed by ``prefix + "/"`` (``torch.distributed.PrefixStore``)."""

    def __init__(self, prefix: str, store: Store) -> None:
        super().__init__()
        self._prefix = f"{prefix}/"
        self.underlying_store = store
        self._timeout = store.timeout

    def _transact(self, change):
        prefix = self._prefix

        def on_prefixed(table):
            view = {k[len(prefix):]: v for k, v in table.items() if k.startswith(prefix)}
            result = change(view)
            for k in [k for k in table if k.startswith(prefix)]:
                del table[k]
            table.update({prefix + k: v for k, v in view.items()})
            return result
        return self.underlying_store._transact(on_prefixed)


class TCPStore(Store):
    """PyTorch's ``torch.distributed.TCPStore``, a store served over TCP by its master process.
    deltagrad's processes meet through MPI, never through a server, so making one raises;
    the class exists so that programs importing it (skorch's history tests) import."""

    def __init__(self, host_name: str, port: int | None = None, world_size: int | None = None,
                 is_master: bool = False, *args, **kwargs) -> None:
        raise NotImplementedError(
            f"deltagrad.distributed.TCPStore({host_name!r}, port={port}): stores served over "
            "TCP are not supported (processes meet through MPI); use HashStore in one process "
            "or FileStore between processes")
