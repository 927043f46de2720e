"""Architecture rules: imports point one way (downwards), and `import deltagrad` stays light."""

import ast
import pathlib
import subprocess
import sys

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "src" / "deltagrad"

# Lowest first: a module may import from its own layer or lower ones only. A module's layer is
# its folder (its first component below the package); top-level modules name theirs here.
LAYERS = ["_engine", "autograd", "serialization", "nn", "optim", "utils", "distributions",
          "parallel", "distributed", "public", "ner", "cli"]
# `deltagrad/__init__.py` is the curated public surface ("public"): it may re-export every layer
# below it, and only the application above it imports `deltagrad` itself.
TOP_LEVEL = {"__init__": "public", "serialization": "serialization", "cli": "cli",
             "__main__": "cli", "_alias_main": "cli", "cuda": "public", "backends": "public",
             "linalg": "public", "onnx": "public", "amp": "public", "special": "public",
             "func": "public", "_toplevel": "public", "_utils": "public", "cpu": "public",
             "jit": "public",
             "multiprocessing": "public", "random": "public", "testing": "public",
             "version": "public", "profiler": "public", "fft": "public",
             "sparse": "public", "quasirandom": "public", "signal": "public",
             "compiler": "public", "overrides": "public", "types": "public", "hub": "utils",
             "torch_alias": "public", "accelerator": "public",
             "xpu": "public", "__config__": "public", "_C": "public",
             "torch_version": "public", "ops": "public", "futures": "public",
             "return_types": "public",
             "_tensor_str": "public", "library": "public", "_dynamo": "public",
             "fx": "public", "_subclasses": "public", "_testing": "public",
             "mps": "public", "export": "public", "ao": "public", "quantization": "public",
             "masked": "public", "__future__": "public", "nested": "public",
             "functional": "public", "_custom_ops": "public", "_vmap_internals": "public",
             "_higher_order_ops": "public", "_func_vmap": "public",
             "_func_captured": "public", "_checks": "public", "_backward_data": "public",
             "monitor": "public", "_sparse_gradcheck": "public",
             "_lobpcg": "public", "_library_schema": "public", "storage": "public",
             "_tensor": "public", "_numpy_names": "public", "_prims_common": "public"}
# Upward imports allowed inside functions only (never at module level), each with its reason:
# PyTorch's public path puts DistributedDataParallel in nn, but it runs on the process group,
# which lives in `distributed` (above nn); importing it when a DDP is built keeps
# `import deltagrad.nn` free of it and the module-level import graph acyclic.
# MultiheadAttention casts its operands as PyTorch's attention products do under CPU autocast,
# whose state lives in `amp` (public, above nn): read when attention runs (session 19, AC).
# Recurrent layers run their cells stepped under CPU autocast, as PyTorch's (session 20, BR).
# Optimizer._group_tensors_by_device_and_dtype is torch.utils._foreach_utils' grouping, called
# only by optimizers that take a foreach path (timm's ADOPT; session 22, LE9).
LAZY_UPWARD = {("nn.parallel", "distributed"), ("nn.attention.__init__", "public"),
               ("nn.rnn", "public"), ("optim.optimizer_hooks", "utils")}
# Inside the engine, lowest first (the same rule, one level down).
ENGINE = ["meta", "dtypes", "device", "versions", "threads", "buffers", "sparse", "stream",
          "random", "promotion", "elementwise_layout", "ops", "subscripts", "modes",
          "node_names", "printing",
          "grad_layouts", "saved_values", "grad_attrs", "errors", "broadcast_grads", "graph_walks",
          "tensor_hooks", "leaf_grads", "one_node", "autograd", "forward_errors",
          "view_index", "method_forms", "tensor_args",
          "tensor", "bf16", "subclassing", "tensor_ops", "api"]


def layer_of(module: str) -> str:
    """Layer of a dotted module name relative to the package ('nn.functional' -> 'nn')."""
    head = module.split(".")[0]
    if head in LAYERS:
        return head
    if head in TOP_LEVEL:
        return TOP_LEVEL[head]
    raise AssertionError(f"module {module!r} is in no layer: add its folder to LAYERS")


def engine_part(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "_engine" or len(parts) < 2 or parts[1] == "__init__":
        return None
    return parts[1]


def imports_of(path: pathlib.Path, top_level_only: bool = False):
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = list(rel.parts)
    here = ".".join(parts)
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    tree = ast.parse(path.read_text(), filename=str(path))
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
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


def _module_graph():
    """Module-level imports (not those inside functions) between the package's modules."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for here, target, _line in imports_of(path, top_level_only=True):
            graph.setdefault(here, set()).add(target)
    return graph


def test_imports_point_downwards():
    problems = []
    for path in PACKAGE.rglob("*.py"):
        top_level = {(target, line) for _, target, line in imports_of(path, top_level_only=True)}
        for here, target, line in imports_of(path):
            if not target or here == "__init__":
                continue  # the top level is the curated public surface: it re-exports all
            if (here, layer_of(target)) in LAZY_UPWARD and (target, line) not in top_level:
                continue
            where = f"{path.relative_to(PACKAGE)}:{line}: {here}"
            low, high = LAYERS.index(layer_of(here)), LAYERS.index(layer_of(target))
            if high > low:
                problems.append(f"{where} ({layer_of(here)}) imports {target} "
                                f"({layer_of(target)})")
            mine, theirs = engine_part(here), engine_part(target)
            if mine and theirs and ENGINE.index(theirs) > ENGINE.index(mine):
                problems.append(f"{where} (engine {mine}) imports {target} (engine {theirs})")
    assert not problems, "\n".join(problems)


def test_no_import_cycles():
    graph = _module_graph()
    modules = set(graph) | {t for targets in graph.values() for t in targets}

    def resolve(name):
        # `from . import x` names a module or a package (x.__init__).
        return name if name in modules and name in graph else f"{name}.__init__"

    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    cycles = []
    for start in sorted(graph):
        if state.get(start):
            continue
        stack = [(start, iter(sorted(graph.get(start, ()))))]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            for child in children:
                child = resolve(child)
                if state.get(child) == 1:
                    path = [n for n, _ in stack]
                    cycles.append(" -> ".join(path[path.index(child):] + [child]))
                elif not state.get(child) and child in graph:
                    state[child] = 1
                    stack.append((child, iter(sorted(graph[child]))))
                    break
            else:
                state[node] = 2
                stack.pop()
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_source_file_over_800_lines():
    long = [f"{p.relative_to(PACKAGE)}: {n} lines" for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 800]
    assert not long, "\n".join(long)


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
