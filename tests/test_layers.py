"""Architecture rules: imports point one way (downwards), and `import deltagrad` stays light."""

import ast
import pathlib
import subprocess
import sys

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "src" / "deltagrad"

# Lowest first. A module may import from its own layer or lower ones only.
LAYERS = ["ops", "autograd", "tensor", "nn", "optim", "ner", "cli"]
EXPLICIT = {
    "_ops": "ops", "_ops_nn": "ops", "_sparse": "ops", "_buffers": "ops",
    "_autograd": "autograd",
    "_tensor": "tensor", "_functions": "tensor", "_random": "tensor", "_gradcheck": "tensor",
    "_memory": "tensor", "capture": "tensor", "distributed": "nn",
    "__init__": "tensor",  # the curated public surface; it re-exports nn and optim explicitly
    "serialization": "nn", "viz": "nn", "trace": "nn", "check_graph": "nn", "function": "nn",
    "cli": "cli", "__main__": "cli", "demo": "cli",
}


def layer_of(module: str) -> str:
    """Layer of a dotted module name relative to the package ('nn.functional' -> 'nn')."""
    head = module.split(".")[0]
    if head in LAYERS:
        return head
    return EXPLICIT.get(head, "tensor")


def imports_of(path: pathlib.Path):
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = list(rel.parts)
    here = ".".join(parts)
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = ".".join(base + ([node.module] if node.module else []))
                names = [target] if node.module else [".".join(base + [a.name]) for a in node.names]
                for name in names:
                    yield here, name, node.lineno
            elif node.module and node.module.split(".")[0] == "deltagrad":
                yield here, node.module.partition(".")[2] or "__init__", node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "deltagrad":
                    yield here, alias.name.partition(".")[2] or "__init__", node.lineno


def test_imports_point_downwards():
    problems = []
    for path in PACKAGE.rglob("*.py"):
        for here, target, line in imports_of(path):
            if not target:
                continue
            if here == "__init__" and layer_of(target) in ("nn", "optim"):
                continue  # the top level re-exports the layers above the core by design
            low, high = LAYERS.index(layer_of(here)), LAYERS.index(layer_of(target))
            if high > low:
                problems.append(f"{path.relative_to(PACKAGE)}:{line}: {here} ({layer_of(here)}) "
                                f"imports {target} ({layer_of(target)})")
    assert not problems, "\n".join(problems)


def test_application_uses_only_the_public_api():
    problems = []
    for sub in ("ner", "cli.py", "__main__.py"):
        root = PACKAGE / sub
        paths = [root] if root.suffix == ".py" else list(root.rglob("*.py"))
        for path in paths:
            if not path.exists():
                continue
            for _here, target, line in imports_of(path):
                if any(part.startswith("_") and part != "__init__" for part in target.split(".")):
                    if not target.startswith("ner"):
                        problems.append(f"{path.relative_to(PACKAGE)}:{line}: imports {target}")
    assert not problems, "\n".join(problems)


def test_import_deltagrad_needs_only_numpy():
    code = (
        "import sys, deltagrad\n"
        "heavy = [m for m in ('deltagrad.ner', 'deltagrad.cli', 'safetensors', 'seqeval', 'tqdm',"
        " 'pyarrow', 'matplotlib', 'torch', 'graphviz') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
