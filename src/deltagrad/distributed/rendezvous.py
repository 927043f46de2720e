"""PyTorch's ``torch.distributed.rendezvous``: ``rendezvous(url, rank, world_size)`` yields a
``(store, rank, world_size)`` for an ``init_method`` URL, and ``register_rendezvous_handler``
adds URL schemes.

deltagrad's processes find each other through MPI (``init_process_group`` ignores
``init_method``), so only ``file://`` gives a store here (a ``FileStore``); ``env://`` and
``tcp://`` check their URL and environment as PyTorch does and then raise NotImplementedError,
because their store is a ``TCPStore``, which deltagrad does not serve.
"""

from __future__ import annotations

import numbers
import os
from urllib.parse import urlparse, urlunparse

from .store import FileStore, TCPStore

__all__ = ["register_rendezvous_handler", "rendezvous"]

_handlers: dict = {}


def register_rendezvous_handler(scheme: str, handler) -> None:
    """Make ``rendezvous`` send URLs of ``scheme`` to ``handler(url, **kwargs)``, a generator of
    ``(store, rank, world_size)``.

    Raises:
        RuntimeError: ``scheme`` already has a handler (as PyTorch).
    """
    if scheme in _handlers:
        raise RuntimeError(f"Rendezvous handler for {scheme}:// already registered")
    _handlers[scheme] = handler


def _query(query: str) -> dict[str, str]:
    fields = {}
    for pair in query.split("&"):
        if pair:
            key, value = pair.split("=")
            fields[key] = value
    return fields


def rendezvous(url: str, rank: int = -1, world_size: int = -1, **kwargs):
    """The handler of ``url``'s scheme, called with ``rank`` and ``world_size`` (when given,
    not -1) added to the URL's query, as PyTorch's.

    Raises:
        RuntimeError: ``url`` is not a string, ``rank`` / ``world_size`` not integers, the
            scheme has no handler.
        AssertionError: the URL already names rank or world_size and more are given.
    """
    if not isinstance(url, (str, bytes)):
        raise RuntimeError(f"`url` must be a string. {type(url)}: {url}")
    if not isinstance(rank, numbers.Integral):
        raise RuntimeError(f"`rank` must be an integer. {rank}")
    if not isinstance(world_size, numbers.Integral):
        raise RuntimeError(f"`world_size` must be an integer. {world_size}")
    parsed = urlparse(url)
    if rank != -1 or world_size != -1:
        fields = _query(parsed.query)
        if "rank" in fields or "world_size" in fields:
            raise AssertionError(f"The url: {url} has node-specific arguments(rank, "
                                 "world_size) already.")
        if rank != -1:
            fields["rank"] = str(rank)
        if world_size != -1:
            fields["world_size"] = str(world_size)
        parsed = parsed._replace(query="&".join(f"{k}={v}" for k, v in fields.items()))
        url = urlunparse(parsed)
    if parsed.scheme not in _handlers:
        raise RuntimeError(f"No rendezvous handler for {parsed.scheme}://")
    return _handlers[parsed.scheme](url, **kwargs)


def _error(scheme: str, message: str) -> ValueError:
    return ValueError(f"Error initializing torch.distributed using {scheme}:// rendezvous: "
                      f"{message}")


def _rank_and_size(scheme: str, fields: dict) -> tuple[int, int]:
    if "rank" not in fields:
        raise _error(scheme, "rank parameter missing")
    if "world_size" not in fields:
        raise _error(scheme, "world size parameter missing")
    return int(fields["rank"]), int(fields["world_size"])


def _file_handler(url: str, **kwargs):
    parsed = urlparse(url)
    if not parsed.path:
        raise _error("file", "path missing")
    rank, world_size = _rank_and_size("file", _query(parsed.query))
    yield FileStore(parsed.path, world_size), rank, world_size
    raise RuntimeError("Unable to perform rerendezvous using file:// method")


def _tcp_handler(url: str, **kwargs):
    parsed = urlparse(url)
    if parsed.port is None:
        raise _error("tcp", "port number missing")
    rank, world_size = _rank_and_size("tcp", _query(parsed.query))
    yield TCPStore(parsed.hostname, parsed.port, world_size, rank == 0), rank, world_size
    raise RuntimeError("Unable to perform re-rendezvous using tcp:// method")


def _env_handler(url: str, **kwargs):
    def variable(name: str) -> str:
        value = os.environ.get(name)
        if not value:
            raise _error("env", f"environment variable {name} expected, but not set")
        return value

    fields = _query(urlparse(url).query)
    rank = int(fields["rank"]) if "rank" in fields else int(variable("RANK"))
    world_size = (int(fields["world_size"]) if "world_size" in fields
                  else int(variable("WORLD_SIZE")))
    address, port = variable("MASTER_ADDR"), int(variable("MASTER_PORT"))
    yield TCPStore(address, port, world_size, rank == 0), rank, world_size
    raise RuntimeError("Unable to perform re-rendezvous using env:// method")


for _scheme, _handler in (("tcp", _tcp_handler), ("env", _env_handler), ("file", _file_handler)):
    register_rendezvous_handler(_scheme, _handler)
del _scheme, _handler
