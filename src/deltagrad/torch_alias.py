"""`import torch` as deltagrad: a meta-path finder that answers `torch.*` with deltagrad's modules.

After :func:`install`, ``import torch``, ``import torch.nn as nn``, ``from torch.utils.data import
DataLoader`` and the like give deltagrad's own module objects (``torch.nn is deltagrad.nn``), so
a PyTorch program runs unchanged on deltagrad and ``isinstance`` checks and identities hold
across both names. A ``torch.X`` that deltagrad lacks raises ModuleNotFoundError naming the
deltagrad module that is missing, never a silent fallback to the real PyTorch.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types

__all__ = ["install", "installed", "uninstall"]

_ALIAS = "torch"
_TARGET = "deltagrad"
# The PyTorch release whose API and numbers deltagrad matches (torch.__version__ under the alias).
PYTORCH_VERSION = "2.13.0+cpu"


def _target_name(fullname: str) -> str | None:
    """'torch.nn.functional' -> 'deltagrad.nn.functional'; None for names outside torch."""
    if fullname == _ALIAS:
        return _TARGET
    if fullname.startswith(_ALIAS + "."):
        return _TARGET + fullname[len(_ALIAS):]
    return None


class _AliasLoader(importlib.abc.Loader):
    """Hands the import system the already imported deltagrad module, unchanged."""

    def __init__(self, module) -> None:
        self._module = module
        self._spec = getattr(module, "__spec__", None)

    def create_module(self, spec):
        return self._module

    def exec_module(self, module) -> None:
        # The import system has just stamped the alias spec on the module (it always sets
        # __spec__); deltagrad's own spec goes back so that the module keeps one identity
        # (importlib.reload, pickling by module name and `python -m` read it).
        module.__spec__ = self._spec


class TorchAliasFinder(importlib.abc.MetaPathFinder):
    """Finds `torch` and `torch.<path>` as `deltagrad` and `deltagrad.<path>`."""

    def find_spec(self, fullname, path=None, target=None):
        name = _target_name(fullname)
        if name is None:
            return None
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            # Only the aliased module itself (or a package above it) being absent becomes the
            # alias's error; a missing dependency inside deltagrad propagates as it is.
            if error.name is not None and (name == error.name
                                           or name.startswith(error.name + ".")):
                raise ModuleNotFoundError(
                    f"No module named {fullname!r}: deltagrad (running as torch) has no "
                    f"{name!r}", name=fullname) from None
            raise
        _register_shadowed(skip=fullname)
        is_package = hasattr(module, "__path__")
        spec = importlib.machinery.ModuleSpec(fullname, _AliasLoader(module),
                                              is_package=is_package)
        if is_package:
            spec.submodule_search_locations = list(module.__path__)
        return spec


_FINDER = TorchAliasFinder()
_SEEN: set[str] = set()  # deltagrad.* names of sys.modules that _register_shadowed has looked at


def _initializing(module) -> bool:
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


def _register_shadowed(skip: str = "") -> None:
    """Puts every loaded ``deltagrad.<path>.<name>`` whose parent package binds ``<name>`` to
    something else (a function: ``autograd.gradcheck``, ``nn.utils.weight_norm``,
    ``ao.quantization.quantize``) into sys.modules as ``torch.<path>.<name>`` too.

    Importing a module not yet in sys.modules binds it onto its parent package; PyTorch has
    these submodules imported from ``import torch`` on, so ``from torch.autograd.gradcheck
    import GradcheckError`` binds nothing there and ``torch.autograd.gradcheck`` stays the
    function. Under the alias the ``torch.*`` name was new, and the import replaced deltagrad's
    function with the module (s30 AL1). Registered ahead, the import finds the name and binds
    nothing. ``skip``: the name being found now (the import system loads that one itself)."""
    prefix = _TARGET + "."
    for name in [name for name in sys.modules if name.startswith(prefix) and name not in _SEEN]:
        module = sys.modules.get(name)
        parent_name, _, child = name.rpartition(".")
        parent = sys.modules.get(parent_name)
        if _initializing(module) or _initializing(parent):
            continue  # (its parent may bind the name to something else yet: looked at later)
        _SEEN.add(name)
        bound = getattr(parent, "__dict__", {}).get(child, module)
        alias = _ALIAS + name[len(_TARGET):]
        if bound is not module and module is not None and alias != skip:
            sys.modules.setdefault(alias, module)


def _own_name(module) -> str:
    """The name a module was imported under (its __dict__ entry, not the alias's answer)."""
    return getattr(module, "__dict__", {}).get("__name__", "")


class _AliasedTop(types.ModuleType):
    """deltagrad's top-level module class while the alias is installed: ``torch.__name__`` is
    ``'torch'``, as libraries check (pyro asserts it before patching ``torch.<path>`` names).
    The module's own globals keep ``__name__ == 'deltagrad'`` (relative imports, pickling and
    deltagrad's lazy submodule loading read those)."""

    @property
    def __name__(self):  # noqa: D401 - mirrors the module attribute
        return _ALIAS if installed() else self.__dict__["__name__"]

    @__name__.setter
    def __name__(self, value):
        self.__dict__["__name__"] = value

    @property
    def __version__(self):
        # Running as torch, the version libraries gate on is the PyTorch API deltagrad
        # follows, not deltagrad's own ('0.1.0' makes skorch refuse to import and sends
        # others down their pre-2.0 code paths, away from the ones the real torch takes).
        if not installed():
            return self.__dict__["__version__"]
        from .torch_version import TorchVersion
        return TorchVersion(PYTORCH_VERSION)

    @property
    def torch(self):
        # PyTorch's top level holds itself as ``torch.torch`` (kornia annotates with
        # ``torch.torch.Tensor`` at import time); only while aliased, as deltagrad has no such name.
        if not installed():
            raise AttributeError("module 'deltagrad' has no attribute 'torch'")
        return self


def installed() -> bool:
    """Whether the alias is on ``sys.meta_path``."""
    return any(finder is _FINDER for finder in sys.meta_path)


_RENAMED: dict[type, str] = {}  # nn class -> its own __module__, while the alias names it


def _name_nn_classes_as_torch() -> None:
    """Under the alias, nn's Module classes name PyTorch's module paths as their ``__module__``
    (``torch.nn.modules.activation`` where deltagrad has that module, else ``torch.nn``):
    libraries save a layer's class by that path and trust only ``torch.*`` paths when loading
    (sentence-transformers' Dense fell back to Tanh for ``deltagrad.nn.activation.ReLU``), and
    the path then also resolves under the real PyTorch."""
    import pkgutil

    nn = importlib.import_module(_TARGET + ".nn")
    package = importlib.import_module(_TARGET + ".nn.modules")
    homes: dict[type, str] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda found: found.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for name in getattr(module, "__all__", ()):
            homes.setdefault(getattr(module, name, None), f"{_ALIAS}.nn.modules.{info.name}")
    for name in nn.__all__:
        cls = getattr(nn, name, None)
        if (isinstance(cls, type) and issubclass(cls, nn.Module)
                and cls.__module__.startswith(_TARGET + ".") and cls not in _RENAMED):
            _RENAMED[cls] = cls.__module__
            cls.__module__ = homes.get(cls, f"{_ALIAS}.nn")


# Engine classes and PyTorch's module for them (``print(type(x.dtype))`` shows
# ``<class 'torch.dtype'>``, ``torch.no_grad`` ``torch.autograd.grad_mode.no_grad``); each is
# also the attribute of that name there, so pickles by class path resolve on both (s28 SL17).
_TORCH_HOMES = {
    "_engine.dtypes": (("dtype", "finfo", "iinfo", "layout"), _ALIAS),
    "_engine.device": (("device",), _ALIAS),
    "_engine.api.attributes": (("Size",), _ALIAS),
    "_engine.api.memory_formats": (("memory_format",), _ALIAS),
    "_engine.modes": (("no_grad", "enable_grad", "set_grad_enabled"),
                      _ALIAS + ".autograd.grad_mode"),
    "autograd.grad_mode": (("inference_mode",), _ALIAS + ".autograd.grad_mode"),
}


# PyTorch modules whose public classes (their ``__all__``) are deltagrad's under other module
# names: under the alias each names the PyTorch path (which resolves to it) as its
# ``__module__``, so an object without a repr of its own prints as PyTorch's does (``print(
# scheduler)`` / ``print(loader)``: ``<torch.optim.lr_scheduler.StepLR object at 0x...>``; the
# pruning tutorial prints a module's hooks: ``<torch.nn.utils.prune.L1Unstructured object
# ...>``; they showed ``deltagrad.nn.utils_prune``), and pickles name PyTorch's path (s29 PR20).
# (AdamW before adam, whose module also lists it; Adafactor and Muon are torch.optim's own.
# The optimizer classes' own checks accept both names: optim/_loaded_state.py's _OURS.)
_TORCH_PATHS = ("optim.lr_scheduler", "optim.swa_utils", "utils.data.dataset",
                "utils.data.sampler", "utils.data.dataloader", "utils.data.distributed",
                "nn.utils.prune", "nn.utils.parametrize", "optim.optimizer", "optim.adamw",
                *(f"optim.{name}" for name in ("adadelta", "adagrad", "adam", "adamax", "asgd",
                                                "lbfgs", "nadam", "radam", "rmsprop", "rprop",
                                                "sgd", "sparse_adam")),
                ("optim", ("Adafactor", "Muon")), "nn.utils.rnn",
                ("amp.grad_scaler", ("GradScaler",)))


def _name_module_classes_as_torch() -> None:
    for path in _TORCH_PATHS:
        path, names = path if isinstance(path, tuple) else (path, None)
        home = f"{_ALIAS}.{path}"
        module = importlib.import_module(home)
        for name in names or getattr(module, "__all__", ()):
            cls = getattr(module, name, None)
            if (isinstance(cls, type) and cls.__module__.startswith(_TARGET + ".")
                    and cls not in _RENAMED):
                _RENAMED[cls] = cls.__module__
                cls.__module__ = home


def _name_engine_classes_as_torch() -> None:
    for path, (names, home) in _TORCH_HOMES.items():
        module = importlib.import_module(f"{_TARGET}.{path}")
        for name in names:
            cls = getattr(module, name)
            if cls not in _RENAMED:
                _RENAMED[cls] = cls.__module__
                cls.__module__ = home


def install() -> None:
    """Makes ``import torch`` (and every ``torch.<submodule>``) import deltagrad.

    Idempotent. Raises RuntimeError if the real PyTorch is already imported in this process:
    two libraries under one name would mix tensors of both silently.

    Example (not a doctest: the test process has the real PyTorch imported)::

        import deltagrad
        deltagrad.install_as_torch()
        import torch.nn            # deltagrad.nn itself
        assert torch.nn is deltagrad.nn
    """
    real = [name for name, module in list(sys.modules.items())
            if (name == _ALIAS or name.startswith(_ALIAS + "."))
            and module is not None
            and not _own_name(module).startswith(_TARGET)]
    if real:
        raise RuntimeError(
            "the real PyTorch is already imported (sys.modules has "
            f"{sorted(real)[0]!r}); install the deltagrad alias before anything imports torch")
    if not installed():
        sys.meta_path.insert(0, _FINDER)
    top = importlib.import_module(_TARGET)
    # Libraries pick a tensor's backend by its class's module (opt_einsum and array-API
    # dispatchers read `type(x).__module__.split('.')[0]`): under the alias it reads 'torch'.
    top.Tensor.__module__ = _ALIAS
    # (so does a generator's: autoray's random functions pick the backend of their `rng`)
    top.Generator.__module__ = _ALIAS
    importlib.import_module(_TARGET + "._engine.dtypes").PREFIX[0] = _ALIAS  # 'torch.float32'
    _name_nn_classes_as_torch()
    _name_engine_classes_as_torch()
    _name_module_classes_as_torch()
    if type(top) is types.ModuleType:
        top.__class__ = _AliasedTop
    # `torch._C`, `torch.ops` and `torch.futures` are attributes right after `import torch`
    # (libraries use them without importing them); deltagrad keeps them out of its own import
    # and loads them with the alias.
    for name in ("_C", "ops", "futures", "library"):
        importlib.import_module(f"{_TARGET}.{name}")
    _register_shadowed()


def uninstall() -> None:
    """Removes the alias and forgets the ``torch.*`` names it gave out (deltagrad stays)."""
    sys.meta_path[:] = [finder for finder in sys.meta_path if finder is not _FINDER]
    tensor_module = sys.modules.get(_TARGET + "._engine.tensor")
    if tensor_module is not None:
        tensor_module.Tensor.__module__ = tensor_module.__name__
        random_module = sys.modules[_TARGET + "._engine.random"]
        random_module.Generator.__module__ = random_module.__name__
        sys.modules[_TARGET + "._engine.dtypes"].PREFIX[0] = _TARGET
    for cls, own in _RENAMED.items():
        cls.__module__ = own
    _RENAMED.clear()
    _SEEN.clear()
    for name in [name for name in sys.modules if name == _ALIAS or name.startswith(_ALIAS + ".")]:
        if _own_name(sys.modules[name]).startswith(_TARGET):
            del sys.modules[name]
