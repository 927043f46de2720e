"""Which ``torch.*`` module paths and names do installed libraries need at import time, and
which of them does deltagrad (running as torch) lack?

Run by hand: ``.venv/bin/python tests/programs/scan_torch_imports.py [--top N] [--json OUT]``.

Every third-party package in this interpreter's site-packages (not torch itself, deltagrad,
nvidia, triton, functorch, torchgen) is parsed with ``ast``; the statements that run when a
module is imported (the module body, top-level ``if`` blocks and class bodies; not function
bodies, and not ``try`` blocks, which guard optional imports) give:

- ``import torch.X.Y``                      -> the module ``torch.X.Y``
- ``from torch.X import a, b``              -> ``torch.X.a``, ``torch.X.b`` (module or name)
- ``torch.X.Y.attr`` (also through ``import torch.nn as nn`` / ``from torch import nn``)
                                            -> the dotted path, resolved step by step.

Each path is resolved in a child process with ``deltagrad.install_as_torch()`` (importlib +
getattr, importing submodules where getattr fails, as Python's import system does). Printed:
the missing paths, most imported first, with how many packages use each.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import sysconfig
from collections import defaultdict

SKIP = {"torch", "deltagrad", "nvidia", "triton", "functorch", "torchgen"}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _dotted(node) -> list[str] | None:
    """['torch', 'nn', 'functional'] for the expression torch.nn.functional; None otherwise."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return None


def _import_time_nodes(body):
    """The statements of ``body`` that run at import, descending into top-level ifs and class
    bodies (decorators, defaults and base classes of functions run too; their bodies do not)."""
    for node in body:
        if isinstance(node, ast.Try):
            continue  # optional imports: failing there is handled by the library
        if isinstance(node, ast.If):
            test = ast.unparse(node.test)
            if "TYPE_CHECKING" in test or "__main__" in test:
                continue  # typing-only imports; a script's main block
            yield from _import_time_nodes(node.body)
            yield from _import_time_nodes(node.orelse)
            yield node.test
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from node.decorator_list
            yield from node.args.defaults
            yield from (d for d in node.args.kw_defaults if d is not None)
            continue
        if isinstance(node, ast.ClassDef):
            yield from node.decorator_list
            yield from node.bases
            yield from _import_time_nodes(node.body)
            continue
        yield node


def _walk_outside_functions(node):
    """ast.walk that does not enter function or lambda bodies (they run later, if ever)."""
    todo = [node]
    while todo:
        current = todo.pop()
        yield current
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        todo.extend(ast.iter_child_nodes(current))


def paths_in(source: str) -> set[str]:
    """The torch.* paths one module's import-time statements need."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    aliases = {}  # local name -> torch path it stands for
    found = set()
    nodes = list(_import_time_nodes(tree.body))
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "torch" or alias.name.startswith("torch."):
                    if alias.name != "torch":
                        found.add(alias.name)
                    if alias.asname:
                        aliases[alias.asname] = alias.name
                    else:
                        aliases["torch"] = "torch"
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and (
                node.module == "torch" or node.module.startswith("torch.")):
            if node.module != "torch":
                found.add(node.module)
            for alias in node.names:
                if alias.name == "*":
                    continue
                found.add(f"{node.module}.{alias.name}")
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        for sub in _walk_outside_functions(node):
            if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Load):
                parts = _dotted(sub)
                if parts and parts[0] in aliases:
                    found.add(".".join([aliases[parts[0]], *parts[1:]]))
    # Keep only the longest chains' prefixes implicitly: torch.a.b.c implies torch.a.b.
    return {path for path in found if path != "torch"}


def packages(site: str):
    """(package name, [its .py files]) for each third-party top-level package or module."""
    for name in sorted(os.listdir(site)):
        path = os.path.join(site, name)
        if name.startswith(("_", ".")) or name.endswith((".dist-info", ".egg-info", ".pth")):
            continue
        top = name[:-3] if name.endswith(".py") else name
        if top in SKIP:
            continue
        if os.path.isdir(path):
            files = [os.path.join(folder, file) for folder, _, names in os.walk(path)
                     for file in names if file.endswith(".py")]
        elif name.endswith(".py"):
            files = [path]
        else:
            continue
        yield top, files


_RESOLVER = r"""
import importlib, json, sys, warnings
warnings.simplefilter("ignore")
if sys.argv[1] == "deltagrad":
    import deltagrad
    deltagrad.install_as_torch()
import torch
missing = {}
for path in json.load(sys.stdin):
    parts = path.split(".")
    obj, name = torch, "torch"
    for part in parts[1:]:
        name = f"{name}.{part}"
        try:
            obj = getattr(obj, part)
            continue
        except Exception:
            pass
        try:
            obj = importlib.import_module(name)
        except Exception as error:
            missing[path] = f"{name}: {type(error).__name__}: {str(error)[:120]}"
            break
print(json.dumps(missing))
"""


def resolve(paths: list[str], side: str = "deltagrad") -> dict[str, str]:
    """``{path: why}`` for the paths that do not resolve (child process) under deltagrad's
    alias (``side="deltagrad"``) or under the real PyTorch (``side="torch"``)."""
    environment = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    done = subprocess.run([sys.executable, "-c", _RESOLVER, side], input=json.dumps(paths),
                          capture_output=True, text=True, env=environment, timeout=1200)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", default=sysconfig.get_paths()["purelib"])
    parser.add_argument("--top", type=int, default=80, help="missing paths to print")
    parser.add_argument("--json", help="write {path: [packages]} of the missing paths here")
    args = parser.parse_args(argv)
    users = defaultdict(set)
    for package, files in packages(args.site):
        for file in files:
            try:
                with open(file, encoding="utf-8", errors="replace") as handle:
                    source = handle.read()
            except OSError:
                continue
            if "torch" not in source:
                continue
            for path in paths_in(source):
                users[path].add(package)
    missing = resolve(sorted(users))
    # Paths the real PyTorch lacks too (torch.hpu, ops a library registers itself) are not
    # deltagrad's to add.
    absent_in_torch = resolve(sorted(missing), side="torch") if missing else {}
    missing = {path: why for path, why in missing.items() if path not in absent_in_torch}
    # A missing module makes everything below it missing: report the shortest failing path.
    shown = {}
    for path, why in missing.items():
        failing = why.split(":", 1)[0]
        entry = shown.setdefault(failing, [set(), why])
        entry[0] |= users[path]
    ranked = sorted(shown.items(), key=lambda item: (-len(item[1][0]), item[0]))
    print(f"{len(users)} torch paths used at import time by "
          f"{len(set().union(*users.values())) if users else 0} packages; "
          f"{len(ranked)} missing under deltagrad")
    for failing, (who, why) in ranked[:args.top]:
        print(f"{len(who):4d}  {failing:60s} {', '.join(sorted(who)[:4])}"
              f"{' ...' if len(who) > 4 else ''}  [{why.split(': ', 1)[1][:60]}]")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({path: sorted(who) for path, (who, _) in ranked}, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
