"""The tutorial examples run a few steps on deltagrad, and the same source runs on PyTorch.

The PyTorch run (source with ``import deltagrad as torch`` swapped for ``import torch``) checks
that the examples are PyTorch programs and not deltagrad dialect.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import io
import math
import re
import sys
import types
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NAMES = ["char_lstm", "tiny_transformer"]
DG_IMPORT = re.compile(r"^import deltagrad as torch$", re.MULTILINE)


def load(name: str, with_torch: bool = False) -> types.ModuleType:
    """Import an example as a fresh module, optionally with PyTorch in deltagrad's place."""
    path = EXAMPLES / f"{name}.py"
    if not with_torch:
        spec = importlib.util.spec_from_file_location(f"example_{name}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up here
        spec.loader.exec_module(module)
        return module
    source = path.read_text()
    source, count = DG_IMPORT.subn("import torch", source)
    assert count == 1
    module = types.ModuleType(f"example_{name}_torch")
    module.__file__ = str(path)
    sys.modules[module.__name__] = module
    exec(compile(source, str(path), "exec"), module.__dict__)
    return module


@pytest.mark.parametrize("name", NAMES)
def test_example_imports_only_deltagrad_as_torch(name):
    tree = ast.parse((EXAMPLES / f"{name}.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {(alias.name, alias.asname) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            imported.add((node.module, None))
    third_party = {(m, a) for m, a in imported if m.split(".")[0] not in sys.stdlib_module_names}
    assert third_party == {("deltagrad", "torch")}


@pytest.mark.parametrize("with_torch", [False, True], ids=["deltagrad", "torch"])
@pytest.mark.parametrize("name", NAMES)
def test_example_trains_a_few_steps(name, with_torch):
    if with_torch:
        pytest.importorskip("torch")
    module = load(name, with_torch)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        loss = module.main(module.Config(steps=3, sample_len=10))
    assert math.isfinite(loss) and loss < math.log(100)
    assert "step    1" in out.getvalue()
