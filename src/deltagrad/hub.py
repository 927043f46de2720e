"""``deltagrad.hub``: PyTorch's ``torch.hub`` cache of checkpoints and model repositories.

The cache directory is PyTorch's (``$TORCH_HOME/hub``, by default ``~/.cache/torch/hub``), so
a file already there is found without a network, as PyTorch finds it. Checkpoints load with
``deltagrad.load`` (safetensors, or a PyTorch ``.pth``/``.pt`` read with PyTorch's
weights-only rules by a restricted unpickler that runs no code).
``load(dir, name, source="local")`` runs the ``hubconf.py`` entry point of a local repository;
a GitHub repository is used only from the cache (``owner_repo_ref`` under ``get_dir()``, as
PyTorch leaves it): deltagrad never downloads or unpacks repositories.
``download_url_to_file`` does download; without a network it raises ``URLError`` naming the
URL.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import importlib.util
import os
import re
import shutil
import sys
import tempfile
from typing import Any
from urllib.error import URLError
from urllib.parse import urlparse

from .serialization import load as _load

__all__ = ["download_url_to_file", "get_dir", "help", "list", "load",
           "load_state_dict_from_url", "set_dir"]

ENV_TORCH_HOME = "TORCH_HOME"
ENV_XDG_CACHE_HOME = "XDG_CACHE_HOME"
DEFAULT_CACHE_DIR = "~/.cache"
MODULE_HUBCONF = "hubconf.py"
VAR_DEPENDENCY = "dependencies"
HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
READ_DATA_CHUNK = 128 * 1024

_hub_dir: str | None = None


class _ProgressStub:
    """What ``tqdm`` offers downloads when the tqdm package is absent: counts, prints nothing."""

    def __init__(self, total=None, disable=False, unit=None, *args, **kwargs) -> None:
        self.total = total
        self.disable = disable
        self.n = 0

    def update(self, n: int) -> None:
        self.n += n

    def set_description(self, *args, **kwargs) -> None:
        pass

    def close(self) -> None:
        self.disable = True

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def __getattr__(name: str):
    # PyTorch's hub (and utils.model_zoo) export tqdm: the real one where installed, imported
    # on first use (`import deltagrad` needs only NumPy)
    if name == "tqdm":
        try:
            from tqdm import tqdm
        except ImportError:
            tqdm = _ProgressStub
        globals()["tqdm"] = tqdm
        return tqdm
    raise AttributeError(f"module 'deltagrad.hub' has no attribute {name!r}")


def _get_torch_home() -> str:
    cache = os.getenv(ENV_XDG_CACHE_HOME, os.path.join(DEFAULT_CACHE_DIR))
    return os.path.expanduser(os.getenv(ENV_TORCH_HOME, os.path.join(cache, "torch")))


def get_dir() -> str:
    """The hub's cache directory: the one given to ``set_dir``, else ``$TORCH_HOME/hub``
    (``TORCH_HOME`` defaults to ``$XDG_CACHE_HOME/torch``, that to ``~/.cache/torch``)."""
    if _hub_dir is not None:
        return _hub_dir
    return os.path.join(_get_torch_home(), "hub")


def set_dir(d: str | os.PathLike) -> None:
    """Use ``d`` as the hub's cache directory (``~`` is expanded)."""
    global _hub_dir
    _hub_dir = os.path.expanduser(d)


def download_url_to_file(url: str, dst: str, hash_prefix: str | None = None,
                         progress: bool = True) -> None:
    """Download ``url`` to the file ``dst`` (written whole or not at all).

    Args:
        url: the address (``file://`` works too).
        dst: the file to write.
        hash_prefix: if given, the file's SHA-256 hex digest must start with it.
        progress: accepted; deltagrad shows no progress bar.

    Raises:
        URLError: if the address cannot be reached (no network); the message names it.
        RuntimeError: if the digest does not start with ``hash_prefix``.
    """
    from urllib.request import Request, urlopen  # (a slow import, only when downloading)

    dst = os.path.expanduser(dst)
    folder = os.path.dirname(os.path.abspath(dst))
    digest = hashlib.sha256()
    handle, partial = tempfile.mkstemp(prefix=os.path.basename(dst) + ".", suffix=".partial",
                                       dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            try:
                response = urlopen(Request(url, headers={"User-Agent": "torch.hub"}))
            except URLError as error:
                raise URLError(f"cannot download {url!r} (is there a network?): "
                               f"{error.reason}") from error
            with response:
                while chunk := response.read(READ_DATA_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
        if hash_prefix is not None and not digest.hexdigest().startswith(hash_prefix):
            raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got '
                               f'"{digest.hexdigest()}")')
        shutil.move(partial, dst)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def load_state_dict_from_url(url: str, model_dir: str | None = None, map_location=None,
                             progress: bool = True, check_hash: bool = False,
                             file_name: str | None = None, weights_only: bool = False) -> Any:
    """Load the checkpoint at ``url`` from the cache, downloading it first if it is not
    there (``<get_dir()>/checkpoints/<file name of the url>`` unless ``model_dir`` /
    ``file_name`` say otherwise).

    Args:
        check_hash: verify a download against the hex digits after the last ``-`` of the
            file name (``name-<sha256 prefix>.ext``), as PyTorch does; a cached file is
            trusted as it is.
        map_location, weights_only: passed to ``deltagrad.load``.

    Raises:
        URLError: if the file is not cached and cannot be downloaded (names the URL).
        CheckpointError: if the file is not a checkpoint ``deltagrad.load`` reads.
    """
    if model_dir is None:
        model_dir = os.path.join(get_dir(), "checkpoints")
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name if file_name is not None else os.path.basename(urlparse(url).path)
    cached_file = os.path.join(model_dir, filename)
    if not os.path.exists(cached_file):
        sys.stdout.write(f'Downloading: "{url}" to {cached_file}\n')
        match = HASH_REGEX.search(filename) if check_hash else None
        download_url_to_file(url, cached_file, match.group(1) if match else None,
                             progress=progress)
    return _load(cached_file, map_location=map_location, weights_only=weights_only)


# ----------------------------------------------------------------------------------------------
# Repositories with a hubconf.py.

@contextlib.contextmanager
def _on_sys_path(path: str):
    sys.path.insert(0, path)
    try:
        yield
    finally:
        sys.path.remove(path)


def _import_hubconf(repo_dir: str):
    path = os.path.join(repo_dir, MODULE_HUBCONF)
    spec = importlib.util.spec_from_file_location("hubconf", path)
    if spec is None or not os.path.isfile(path):
        raise FileNotFoundError(f"no {MODULE_HUBCONF} in {repo_dir!r}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _entry(hub_module, model: str):
    if not isinstance(model, str):
        raise ValueError("Invalid input: model should be a string of function name")
    missing = [name for name in getattr(hub_module, VAR_DEPENDENCY, None) or []
               if importlib.util.find_spec(name) is None]
    if missing:
        raise RuntimeError(f"Missing dependencies: {', '.join(missing)}")
    function = getattr(hub_module, model, None)
    if function is None or not callable(function):
        raise RuntimeError(f"Cannot find callable {model} in hubconf")
    return function


def _cached_repo(github: str, force_reload: bool) -> str:
    """The cached directory of ``owner/repo[:ref]`` (PyTorch's ``owner_repo_ref`` layout)."""
    if force_reload:
        raise RuntimeError(f"deltagrad.hub cannot download {github!r} (force_reload=True): it "
                           "never downloads repositories; clone it and use source='local'")
    owner_repo, _, ref = github.partition(":")
    if "/" not in owner_repo:
        raise ValueError(f"Invalid GitHub repository {github!r}: expected 'owner/repo[:ref]'")
    owner, repo = owner_repo.split("/", 1)
    refs = [ref] if ref else ["main", "master"]
    for name in refs:
        path = os.path.join(get_dir(), "_".join([owner, repo, name.replace("/", "_")]))
        if os.path.isdir(path):
            return path
    raise RuntimeError(f"{github!r} is not in the hub cache ({get_dir()}): deltagrad never "
                       "downloads repositories; clone it and use source='local'")


def _repo_dir(repo_or_dir: str, source: str, force_reload: bool, verbose: bool) -> str:
    if source not in ("github", "local"):
        raise ValueError(f'Unknown source: "{source}". Allowed values: "github" | "local".')
    if source == "local":
        return repo_or_dir
    path = _cached_repo(repo_or_dir, force_reload)
    if verbose:
        sys.stderr.write(f"Using cache found in {path}\n")
    return path


def load(repo_or_dir: str, model: str, *args, source: str = "github", trust_repo=None,
         force_reload: bool = False, verbose: bool = True, skip_validation: bool = False,
         **kwargs):
    """Build ``model`` from a repository's ``hubconf.py``: ``hubconf.<model>(*args,
    **kwargs)``, with the repository on ``sys.path`` while it runs.

    Args:
        repo_or_dir: a directory (``source="local"``) or ``owner/repo[:ref]`` for a
            repository already in the hub cache (``source="github"``).
        trust_repo, skip_validation: accepted; a cached repository is used as it is.

    Raises:
        ValueError: for an unknown ``source`` or a model name that is not a string.
        RuntimeError: if the entry point is missing, a listed dependency is not installed,
            or a GitHub repository is not cached.
    """
    repo_dir = _repo_dir(repo_or_dir, source, force_reload, verbose)
    with _on_sys_path(repo_dir):
        return _entry(_import_hubconf(repo_dir), model)(*args, **kwargs)


def list(github: str, force_reload: bool = False, skip_validation: bool = False,  # noqa: A001
         trust_repo=None, verbose: bool = True) -> builtins.list[str]:
    """The entry points (public callables) of a cached repository's ``hubconf.py``."""
    repo_dir = _repo_dir(github, "github", force_reload, verbose)
    with _on_sys_path(repo_dir):
        hub_module = _import_hubconf(repo_dir)
    return [name for name in dir(hub_module)
            if callable(getattr(hub_module, name)) and not name.startswith("_")]


def help(github: str, model: str, force_reload: bool = False,  # noqa: A001
         skip_validation: bool = False, trust_repo=None) -> str | None:
    """The docstring of entry point ``model`` of a cached repository's ``hubconf.py``."""
    repo_dir = _repo_dir(github, "github", force_reload, True)
    with _on_sys_path(repo_dir):
        return _entry(_import_hubconf(repo_dir), model).__doc__
