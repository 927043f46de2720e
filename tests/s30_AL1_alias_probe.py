"""Probe program for tests/test_s30_AL1_alias_submodules.py: how `torch.<path>.<name>` imports
bind, where ``<name>`` is both a submodule and (maybe) another attribute of its package.

Run as ``python s30_AL1_alias_probe.py OUT.json PATH[@ORDER]...`` (real PyTorch) or under
``python -m deltagrad run`` (the alias). Each probe is a sequence of import statements, run in a
forked child of this process (a fresh import state: the first import of a name is what binds it
onto its package) unless the name and its packages are imported already. After every statement
it records what the statement bound and what ``torch.<path>.<name>`` now is. With the real
PyTorch it also lists the attributes of torch's loaded public packages that are functions named
as a submodule (the names the test's list must cover); under the alias, deltagrad's unloaded
submodules that their package binds to something else (there must be none).
"""

from __future__ import annotations

import json
import os
import pkgutil
import sys
import types


def kind(value, full: str) -> str:
    if isinstance(value, types.ModuleType):
        # (under the alias, a name never imported as torch.* is only deltagrad.* in sys.modules)
        own = sys.modules.get(full) or sys.modules.get("deltagrad" + full[len("torch"):])
        return "module" if own is value else "other module"
    return "callable" if callable(value) else type(value).__name__


def attribute(full: str) -> str:
    value = sys.modules.get("torch")
    for part in full.split(".")[1:]:
        if not hasattr(value, part):
            return "absent"
        value = getattr(value, part)
    return kind(value, full)


def sequences(path: str) -> dict:
    parent, _, child = path.rpartition(".")
    package = f"torch.{parent}" if parent else "torch"
    from_module = f"from torch.{path} import __name__ as _name"
    from_package = f"from {package} import {child} as bound"
    plain = f"import torch.{path}"
    named = f"import torch.{path} as bound"
    return {"from_module": [from_module, from_package, named],
            "from_package": [from_package, plain, named],
            "import": [plain, from_module, from_package]}


def run(statements: list, full: str) -> list:
    seen = []
    for statement in statements:
        scope: dict = {}
        try:
            exec(statement, scope)
        except Exception as error:  # noqa: BLE001 - recorded, compared with PyTorch's
            seen.append([statement, "raise " + type(error).__name__])
            break
        bound = kind(scope["bound"], full) if "bound" in scope else ""
        seen.append([statement, bound, attribute(full)])
    return seen


def in_child(statements: list, full: str) -> list:
    parts = full.split(".")
    if all(".".join(parts[:end]) in sys.modules for end in range(1, len(parts) + 1)):
        return run(statements, full)  # (imported already: these imports change nothing)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            data = json.dumps(run(statements, full)).encode()
        except BaseException as error:  # noqa: BLE001
            data = json.dumps([["child failed", repr(error)]]).encode()
        with os.fdopen(write, "wb") as out:
            out.write(data)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as source:
        data = source.read()
    os.waitpid(pid, 0)
    return json.loads(data)


def shadowed_in_torch() -> list:
    import torch

    found = []
    names = sorted(name for name in sys.modules
                   if name.startswith("torch.") and "._" not in name)
    for name in ["torch", *names]:
        package = sys.modules[name]
        where = getattr(package, "__path__", None)
        if not isinstance(package, types.ModuleType) or not isinstance(where, list):
            continue  # (torch.ops / torch.classes: their own namespace objects)
        for info in pkgutil.iter_modules(where):
            value = package.__dict__.get(info.name)
            if (not info.name.startswith("_") and value is not None
                    and not isinstance(value, types.ModuleType)):
                found.append(f"{name}.{info.name}"[len("torch."):])
    del torch
    return found


def unloaded_shadowed() -> list:
    """deltagrad's submodules that their (loaded) package binds to something else but that are
    not loaded: the alias's first import of one would bind it over that something else."""
    import importlib

    def packages(name: str) -> None:
        for info in pkgutil.iter_modules(sys.modules[name].__path__):
            if info.ispkg:
                importlib.import_module(f"{name}.{info.name}")
                packages(f"{name}.{info.name}")

    packages("deltagrad")
    found = []
    for name in sorted(name for name in sys.modules if name.startswith("deltagrad")):
        package = sys.modules[name]
        where = getattr(package, "__path__", None)
        for info in pkgutil.iter_modules(where if isinstance(where, list) else []):
            value = package.__dict__.get(info.name)
            if (value is not None and not isinstance(value, types.ModuleType)
                    and f"{name}.{info.name}" not in sys.modules):
                found.append(f"{name}.{info.name}")
    return found


def main() -> None:
    out, paths = sys.argv[1], sys.argv[2:]
    real = "deltagrad" not in sys.modules
    listed = shadowed_in_torch() if real else []
    results = {}
    for given in paths:  # 'fft@from_module': that order only; 'fft': all three
        path, _, only = given.partition("@")
        results[path] = {label: in_child(statements, f"torch.{path}")
                         for label, statements in sequences(path).items()
                         if only in ("", label)}
    unloaded = [] if real else unloaded_shadowed()  # (last: it imports all of deltagrad)
    with open(out, "w") as file:
        json.dump({"results": results, "shadowed": listed, "unloaded": unloaded}, file, indent=1)


if __name__ == "__main__":
    main()
