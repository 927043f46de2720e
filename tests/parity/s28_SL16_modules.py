"""Session 28's nn.Module-API family for the program-level differential fuzzer
(``s17_SL_progfuzz.py``): the semantics of ``torch.nn.Module`` itself, past what session 20's
``s20_SL5_nn.py`` draws (layers built and called). Each line is compared as every other line is
(raised or not and the builtin class; parameters and buffers of every module variable, with
their ``.grad``), and the lines record more in variables: names and their order, identity
relations (``p is q``), requires_grad, dtypes, training flags, hook call logs, repr text, and a
line's outcome as data (the builtin exception class, key words of its message, the warnings'
classes). What it draws, over small modules (a custom one with a non-persistent buffer, tied
weights and a shared submodule, ModuleList / ModuleDict / ParameterList / ParameterDict
members, Sequential with an OrderedDict, BatchNorm, Linear without bias):

- ``state_dict`` (prefix, keep_vars, ``_metadata``) and ``load_state_dict`` (strict, assign,
  missing / unexpected keys and the returned lists, shape mismatches, wrong types, extra
  prefixes);
- ``named_parameters`` / ``named_buffers`` / ``named_modules`` / ``named_children`` (prefix,
  recurse, remove_duplicate), ``parameters()`` counts with sharing;
- ``register_buffer`` / ``register_parameter`` / ``register_module`` / ``add_module`` rules
  (dotted, empty and existing names, None, wrong types), ``__setattr__`` / ``__delattr__`` /
  ``__getattr__`` (a Parameter, a tensor over a parameter's name, a Module, None, deleting);
- train / eval / ``training`` through children, ``requires_grad_``, ``zero_grad``, ``apply``,
  ``to`` / ``double`` / ``half`` / ``float`` / ``type`` (identity kept, grads converted);
- ``get_submodule`` / ``get_parameter`` / ``get_buffer`` / ``set_submodule``;
- container operations (indexing, negative and slice indices, insert / append / extend / pop /
  del / ``+``, ``len``, ``in``, update, keys order);
- forward hooks and pre-hooks (with_kwargs, prepend, always_call, replacements, removal),
  state_dict / load_state_dict pre / post hooks;
- ``repr`` text, ``copy.deepcopy`` / ``copy.copy``, ``nn.utils.parametrize``,
  ``parameters_to_vector`` / ``vector_to_parameters``.

The earlier families' statements stay in at a low weight. Run as a script::

    .venv/bin/python tests/parity/s28_SL16_modules.py [--programs N] [--seed S] [--show I]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as base  # noqa: E402
import s21_SL6_families as sl6  # noqa: E402
import s27_SL14_operators as sl14  # noqa: E402
import s27_SL15_autograd as sl15  # noqa: E402
from s17_SL_known import own_first  # noqa: E402

torch = base.torch
dg = base.dg

W = "__import__('warnings')"
# names of a module's members in order, as a list
NAMES = "(lambda it: [n for n, _ in it])"
# a value's class by name, a Parameter's as 'Parameter' (deltagrad's parameters are Tensors
# marked as parameters, by design: ``isinstance(p, nn.Parameter)`` holds, the class is Tensor)
# a module's floating dtype (its inputs are made in it)
DT = ("(lambda m: next((p.dtype for p in m.parameters() if p.is_floating_point()), "
      "torch.float32))")
TYPE = ("(lambda v: 'Parameter' if isinstance(v, torch.nn.Parameter) and type(v).__name__ in "
        "('Tensor', 'Parameter') else type(v).__name__)")


def _catch(body: str, out: str, words=()) -> str:
    """``body`` run with its outcome stored in ``out``: 'ok' or the builtin exception class,
    whether each of ``words`` is in the message, and the warnings' classes."""
    probe = f"[w in str(e) for w in {list(words)!r}]" if words else "[]"
    return (f"with {W}.catch_warnings(record=True) as _w:\n"
            f"    {W}.simplefilter('always')\n"
            f"    try:\n"
            f"        {body}\n"
            f"        {out} = ['ok']\n"
            f"    except Exception as e:\n"
            f"        {out} = [[k.__name__ for k in type(e).__mro__ if k.__module__ == "
            f"'builtins'][0], {probe}]\n"
            f"    {out} += sorted({{x.category.__name__ for x in _w}})")


# (most in float64: float32 gradients through a few layers differ from PyTorch's past the
# comparison's tolerance where they cancel; float32 state is drawn by "lin", "holes" and the
# conversions)
MODULES = {
    "net": (
        "class Net(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.lin = torch.nn.Linear(3, 2)\n"
        "        self.register_buffer('scale', torch.ones(2))\n"
        "        self.register_buffer('tmp', torch.zeros(2), persistent=False)\n"
        "        self.inner = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh())\n"
        "    def forward(self, x):\n"
        "        return self.inner(self.lin(x) * self.scale)\n", "Net().double()"),
    "tied": (
        "class Tied(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.a = torch.nn.Linear(3, 3)\n"
        "        self.b = torch.nn.Linear(3, 3)\n"
        "        self.b.weight = self.a.weight\n"
        "        self.c = self.a\n"
        "    def forward(self, x):\n"
        "        return self.b(self.a(x)) + self.c(x)\n", "Tied().double()"),
    "lists": (
        "class Lists(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.layers = torch.nn.ModuleList([torch.nn.Linear(3, 3), torch.nn.ReLU(), "
        "torch.nn.Linear(3, 3)])\n"
        "        self.heads = torch.nn.ModuleDict({'x': torch.nn.Linear(3, 1), "
        "'y': torch.nn.Identity()})\n"
        "        self.ps = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(3)), "
        "torch.nn.Parameter(torch.zeros(3))])\n"
        "        self.pd = torch.nn.ParameterDict({'g': torch.nn.Parameter(torch.full((3,), "
        "0.5))})\n"
        "    def forward(self, x):\n"
        "        for layer in self.layers:\n"
        "            x = layer(x)\n"
        "        return self.heads['x'](x * self.ps[0] + self.ps[1] + self.pd['g'])\n",
        "Lists().double()"),
    "holes": (
        "class Holes(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.w = torch.nn.Parameter(torch.linspace(-1, 1, 6).reshape(2, 3))\n"
        "        self.register_parameter('nothing', None)\n"
        "        self.register_buffer('none_buf', None)\n"
        "        self.register_buffer('count', torch.tensor(0))\n"
        "        self.act = None\n"
        "    def forward(self, x):\n"
        "        return x @ self.w.t()\n", "Holes()"),
    # (in float64: its float32 gradients cancel past the comparison's tolerance)
    "bn": ("", "torch.nn.Sequential(torch.nn.Linear(3, 4, bias=False), torch.nn.BatchNorm1d(4), "
               "torch.nn.ReLU(), torch.nn.Linear(4, 2)).double()"),
    "od": ("", "torch.nn.Sequential(__import__('collections').OrderedDict([('fc', "
               "torch.nn.Linear(3, 2)), ('act', torch.nn.GELU()), ('out', torch.nn.Linear(2, 2, "
               "bias=False))])).double()"),  # (as "bn")
    "ln": ("", "torch.nn.Sequential(torch.nn.LayerNorm(3), torch.nn.Linear(3, 2, bias=False))"
               ".double()"),  # (as "bn")
    "lin": ("", "torch.nn.Linear(3, 2)"),
}

_KW_LOAD = ("Missing key(s)", "Unexpected key(s)", "size mismatch", "Error(s) in loading")


class Gen16(sl15.Gen15):
    """Session 17's grammar (and sessions 18-27's families, at a low weight) plus the
    nn.Module-API families above."""

    def makers(self):
        old = [(maker, weight * 0.01) for maker, weight in super().makers()]
        return old + [(self.build16, 5), (self.names16, 8), (self.state16, 7),
                      (self.load16, 10), (self.register16, 9), (self.attrs16, 9),
                      (self.mode16, 6), (self.convert16, 6), (self.access16, 5),
                      (self.containers16, 10), (self.hooks16, 9), (self.sd_hooks16, 4),
                      (self.repr16, 4), (self.copy16, 4), (self.parametrize16, 5),
                      (self.vector16, 3), (self.call16, 4), (self.extra16, 4),
                      (self.functional16, 3)]

    # -- helpers --------------------------------------------------------------------------------
    def modules16(self):
        return [k for k, v in self.ns.items() if k.startswith("a") and k[1:].isdigit()
                and isinstance(v, torch.nn.Module)]

    def module16(self):
        """``name, parts``: a module variable (an existing one, or one built now)."""
        names = self.modules16()
        if names and self.coin(0.8):
            return self.pick(names), []
        kind = self.pick(sorted(MODULES))
        src, expr = MODULES[kind]
        name = self.fresh()
        parts = [src.rstrip("\n")] if src else []
        parts.append(f"torch.manual_seed({int(self.rng.integers(0, 100))}); {name} = {expr}")
        for part in parts:  # (the generator's namespace needs it to draw the next lines)
            exec(part, self.ns)
        return name, parts

    def member(self, m, kind):
        """The name of one of module ``m``'s parameters / buffers / submodules (torch side)."""
        names = self.members(m, kind)
        return self.pick(names) if names else None

    def members(self, m, kind):
        mod = self.ns[m]
        try:  # (a program may have put a non-module in a container: PyTorch's insert allows it)
            return {"param": [n for n, _ in mod.named_parameters()],
                    "buffer": [n for n, _ in mod.named_buffers()],
                    "module": [n for n, _ in mod.named_modules() if n]}[kind]
        except Exception:  # noqa: BLE001
            return []

    def outcome(self, body, words=()):
        out = self.fresh()
        return out, _catch(body, out, words)

    def x16(self, m=None):
        """An input of 4 rows (BatchNorm's gradients cancel over 2), in ``m``'s dtype."""
        dt = f", dtype={DT}({m})" if m else ""
        return f"torch.tensor({self.flt((4, 3))}{dt})"

    # -- building and calling -------------------------------------------------------------------
    def build16(self):
        _, parts = self.module16() if self.coin(0.2) else (None, None)
        if parts:
            return parts
        kind = self.pick(sorted(MODULES))
        src, expr = MODULES[kind]
        name = self.fresh()
        parts = [src.rstrip("\n")] if src else []
        parts.append(f"torch.manual_seed({int(self.rng.integers(0, 100))}); {name} = {expr}")
        return parts

    def call16(self):
        m, parts = self.module16()
        y = self.fresh()
        parts.append(f"{y} = {m}({self.x16(m)})")
        if self.coin(0.7):
            parts.append(f"({y} * torch.arange(1, {y}.numel() + 1, dtype={y}.dtype).reshape("
                         f"{y}.shape)).sum().backward()")
        return parts

    # -- names ----------------------------------------------------------------------------------
    def names16(self):
        m, parts = self.module16()
        which = self.pick(["named_parameters", "named_buffers", "named_modules",
                           "named_children", "parameters", "buffers", "modules", "children"])
        kws = []
        if which in ("named_parameters", "named_buffers", "named_modules") and self.coin(0.5):
            kws.append(f"prefix={self.pick(['', 'top', 'x.y'])!r}")
        if which in ("named_parameters", "named_buffers", "parameters", "buffers") \
                and self.coin(0.5):
            kws.append(f"recurse={self.pick(['True', 'False'])}")
        if which in ("named_parameters", "named_buffers", "named_modules") and self.coin(0.5):
            kws.append(f"remove_duplicate={self.pick(['True', 'False'])}")
        call = f"{m}.{which}({', '.join(kws)})"
        out = self.fresh()
        if which.startswith("named"):
            body = f"{out} = {NAMES}({call})"
        elif which in ("modules", "children"):
            body = f"{out} = [type(c).__name__ for c in {call}]"
        else:
            body = f"{out} = [tuple(t.shape) for t in {call}]"
        parts.append(body)
        if self.coin(0.3):
            parts.append(f"{self.fresh()} = [len(list({m}.parameters())), "
                         f"sum(p.numel() for p in {m}.parameters()), "
                         f"len(list({m}.named_parameters(remove_duplicate=False)))]")
        return parts

    # -- state_dict -----------------------------------------------------------------------------
    def state16(self):
        m, parts = self.module16()
        kws = []
        prefix = ""
        if self.coin(0.4):
            prefix = self.pick(['p.', 'q', ''])
            kws.append(f"prefix={prefix!r}")
        if self.coin(0.4):
            kws.append(f"keep_vars={self.pick(['True', 'False'])}")
        sd = self.fresh()
        parts.append(f"{sd} = {m}.state_dict({', '.join(kws)})")
        look = self.pick(["rg", "ids", "meta", "type", "keys"])
        if look == "rg":
            parts.append(f"{self.fresh()} = [[v.requires_grad, v.is_leaf, v.grad_fn is None] "
                         f"for v in {sd}.values()]")
        elif look == "ids":
            parts.append(f"{self.fresh()} = [any(v is p for p in {m}.parameters()) or "
                         f"any(v is b for b in {m}.buffers()) for v in {sd}.values()]")
        elif look == "meta":
            parts.append(f"{self.fresh()} = sorted((k, dict(v)) for k, v in "
                         f"{sd}._metadata.items()) if hasattr({sd}, '_metadata') else 'none'")
            parts[-1] = parts[-1].replace("sorted(", "repr(sorted(").replace(
                "items()) if", "items())) if")
        elif look == "type":
            parts.append(f"{self.fresh()} = type({sd}).__name__")
        else:
            parts.append(f"{self.fresh()} = list({sd})")
        if self.coin(0.3):  # a state dict's tensors share with the module's
            name = self.member(m, "param") or self.member(m, "buffer")
            if name is not None:
                parts.append(f"with torch.no_grad(): {sd}[{prefix + name!r}].add_(1)")
        return parts

    def load16(self):
        m, parts = self.module16()
        sd = self.fresh()
        src = m
        mods = self.modules16()
        if mods and self.coin(0.3):
            src = self.pick(mods)  # another module's state (mismatched keys / shapes)
        parts.append(f"torch.manual_seed({int(self.rng.integers(100, 200))}); "
                     f"{sd} = {{k: v.detach().clone() + 0.5 for k, v in "
                     f"{src}.state_dict().items()}}" if self.coin(0.7) else
                     f"{sd} = {src}.state_dict()")
        try:
            keys = list(self.ns[src].state_dict()) if src in self.ns else []
        except Exception:  # noqa: BLE001 - (a broken module)
            keys = []
        edit = self.pick(["none", "drop", "extra", "shape", "dtype", "type", "prefix", "int",
                          "none_val", "param", "rg", "none"])
        if edit == "drop" and keys:
            parts.append(f"del {sd}[{self.pick(keys)!r}]")
        elif edit == "extra":
            parts.append(f"{sd}[{self.pick(['extra', 'lin.extra', 'inner.9.weight'])!r}] = "
                         f"torch.ones(2)")
        elif edit == "shape" and keys:
            k = self.pick(keys)
            parts.append(f"{sd}[{k!r}] = torch.ones({self.pick(['5', '2, 2', '1', ''])})")
        elif edit == "dtype" and keys:
            k = self.pick(keys)
            parts.append(f"{sd}[{k!r}] = {sd}[{k!r}].{self.pick(['double', 'half', 'long'])}()")
        elif edit == "type" and keys:
            bad = self.pick(['3.0', '[1.0, 2.0]', 'None'])
            parts.append(f"{sd}[{self.pick(keys)!r}] = {bad}")
        elif edit == "prefix":
            parts.append(f"{sd} = {{'module.' + k: v for k, v in {sd}.items()}}")
        elif edit == "param" and keys:
            k = self.pick(keys)
            parts.append(f"{sd}[{k!r}] = torch.nn.Parameter({sd}[{k!r}].float() * 2)")
        elif edit == "rg" and keys:
            k = self.pick(keys)
            parts.append(f"{sd}[{k!r}] = {sd}[{k!r}].float().requires_grad_()")
        kws = []
        if self.coin(0.6):
            kws.append(f"strict={self.pick(['True', 'False'])}")
        if self.coin(0.3):
            kws.append(f"assign={self.pick(['True', 'False'])}")
        r = self.fresh()
        ids = "i" + self.fresh()  # (not compared: ids differ)
        parts.append(f"{ids} = [id(p) for p in {m}.parameters()]")
        out, line = self.outcome(f"{r} = {m}.load_state_dict({sd}, {', '.join(kws)})",
                                 _KW_LOAD)
        parts.append(line)
        parts.append(f"{self.fresh()} = [sorted({r}.missing_keys), sorted({r}.unexpected_keys), "
                     f"type({r}).__name__, repr({r})] if '{r}' in dir() else None")
        parts.append(f"{self.fresh()} = [[id(p) for p in {m}.parameters()] == {ids}, "
                     f"[isinstance(p, torch.nn.Parameter) for p in {m}.parameters()], "
                     f"[p.requires_grad for p in {m}.parameters()], "
                     f"[str(b.dtype) for b in {m}.buffers()]]")
        return parts

    # -- registering and attributes -------------------------------------------------------------
    def register16(self):
        m, parts = self.module16()
        kind = self.pick(["buffer", "parameter", "module", "add_module"])
        name = self.pick(["'extra'", "'a.b'", "''", "'weight'", "'lin'", "'scale'", "'training'",
                          "'forward'", "3", "'new'", "'w'", "'inner'", "'_x'"])
        if kind == "buffer":
            value = self.pick(["torch.ones(2)", "None", "3.0", "torch.nn.Parameter(torch.ones(2))",
                               "torch.ones(2)"])
            pers = self.pick(["", ", persistent=False", ", persistent=True"])
            body = f"{m}.register_buffer({name}, {value}{pers})"
        elif kind == "parameter":
            value = self.pick(["torch.nn.Parameter(torch.ones(2))", "None", "torch.ones(2)",
                               "torch.nn.Parameter(torch.ones(2), requires_grad=False)",
                               "torch.ones(2, requires_grad=True) * 2"])
            body = f"{m}.register_parameter({name}, {value})"
        else:
            value = self.pick(["torch.nn.Linear(2, 2)", "None", "torch.ones(2)", "3",
                               "torch.nn.ReLU()"])
            body = f"{m}.{'register_module' if kind == 'module' else 'add_module'}({name}, " \
                   f"{value})"
        out, line = self.outcome(body, ("already exists", "dot", "empty", "should be",
                                        "cannot assign"))
        parts.append(line)
        parts.append(f"{self.fresh()} = [{NAMES}({m}.named_parameters()), "
                     f"{NAMES}({m}.named_buffers()), {NAMES}({m}.named_children()), "
                     f"list({m}.state_dict())]")
        return parts

    def attrs16(self):
        m, parts = self.module16()
        pname = self.member(m, "param")
        bname = self.member(m, "buffer")
        top_p = [n for n in self.ns[m]._parameters if self.ns[m]._parameters[n] is not None]
        top_b = list(self.ns[m]._buffers)
        top_m = list(self.ns[m]._modules)
        target = self.pick(top_p + top_b + top_m + ["newattr", "newattr", "training"])
        value = self.pick(["torch.nn.Parameter(torch.ones(2))", "torch.ones(2)", "None",
                           "torch.nn.Linear(2, 2)", "3", "torch.ones(2, requires_grad=True)",
                           "torch.nn.Buffer(torch.ones(2), persistent=False)",
                           "torch.nn.Buffer(torch.ones(2))",
                           "torch.nn.Parameter(torch.ones(2, dtype=torch.int64), "
                           "requires_grad=False)"])
        op = self.pick(["set", "set", "set", "del", "get", "hasattr"])
        if op == "set":
            body = f"{m}.{target} = {value}"
        elif op == "del":
            body = f"del {m}.{target}"
        elif op == "get":
            body = f"{self.fresh()} = {TYPE}(getattr({m}, {self.pick([target, 'missing'])!r}))"
        else:
            body = f"{self.fresh()} = [hasattr({m}, {target!r}), {target!r} in dir({m})]"
        out, line = self.outcome(body, ("cannot assign", "has no attribute", "object has no"))
        parts.append(line)
        parts.append(f"{self.fresh()} = [{NAMES}({m}.named_parameters()), "
                     f"{NAMES}({m}.named_buffers()), {NAMES}({m}.named_children()), "
                     f"{TYPE}(getattr({m}, {target!r}, 'gone')), "
                     f"{target!r} in {m}.__dict__]")
        if pname and self.coin(0.2):
            parts.append(f"{self.fresh()} = {m}.get_parameter({pname!r}) is "
                         f"dict({m}.named_parameters())[{pname!r}]")
        if bname and self.coin(0.2):
            parts.append(f"{self.fresh()} = list({m}.state_dict())")
        return parts

    # -- modes ----------------------------------------------------------------------------------
    def mode16(self):
        m, parts = self.module16()
        op = self.pick(["train", "eval", "trainarg", "rg", "zero", "apply", "applyinit"])
        if op == "train":
            body = f"{self.fresh()} = {m}.train({self.pick(['True', 'False', ''])}) is {m}"
        elif op == "eval":
            body = f"{self.fresh()} = {m}.eval() is {m}"
        elif op == "trainarg":
            body = f"{m}.train({self.pick(['1', 0, 'None', chr(39) + 'x' + chr(39)])})"
        elif op == "rg":
            body = f"{self.fresh()} = {m}.requires_grad_({self.pick(['False', 'True', ''])}) is {m}"
        elif op == "zero":
            body = f"{m}.zero_grad({self.pick(['', 'set_to_none=False', 'True'])})"
        elif op == "apply":
            log = self.fresh()
            parts.append(f"{log} = []")
            body = f"{self.fresh()} = {m}.apply(lambda c: {log}.append(type(c).__name__)) is {m}"
        else:
            body = (f"{m}.apply(lambda c: torch.nn.init.constant_(c.weight, 0.25) "
                    f"if isinstance(c, torch.nn.Linear) else None)")
        out, line = self.outcome(body, ("boolean", "bool"))
        parts.append(line)
        parts.append(f"{self.fresh()} = [[type(c).__name__, c.training] for c in "
                     f"{m}.modules()] + [[n, p.requires_grad, p.grad is None] for n, p in "
                     f"{m}.named_parameters()]")
        return parts

    def convert16(self):
        m, parts = self.module16()
        ids = self.fresh()
        parts.append(f"{ids} = [[p, p.data, p.grad] for p in {m}.parameters()]")
        call = self.pick(["double()", "float()", "half()", "to(torch.float64)",
                          "to(dtype=torch.float16)", "to('cpu')", "to(torch.int64)",
                          "type(torch.float64)", "type(torch.DoubleTensor)", "bfloat16()",
                          "to(torch.complex64)", "to('cpu', torch.float64)",
                          "to(torch.zeros(1, dtype=torch.float64))", "cpu()"])
        r = self.fresh()
        out, line = self.outcome(f"{r} = {m}.{call}", ("floating", "complex", "dtype"))
        parts.append(line)
        parts.append(f"{self.fresh()} = [{r} is {m} if '{r}' in dir() else None] + "
                     f"[[p is old[0], p.data is old[1], p.dtype, "
                     f"None if p.grad is None else [p.grad is old[2], p.grad.dtype], "
                     f"isinstance(p, torch.nn.Parameter), p.requires_grad, p.is_leaf] "
                     f"for p, old in zip({m}.parameters(), {ids})] + "
                     f"[b.dtype for b in {m}.buffers()]")
        return parts

    def access16(self):
        m, parts = self.module16()
        op = self.pick(["get_submodule", "get_parameter", "get_buffer", "set_submodule",
                        "get_extra_state"])
        names = [""] + self.members(m, "module") + self.members(m, "param") + \
            self.members(m, "buffer")
        target = self.pick(names + ["missing", "lin.missing", "a.b.c", "", "training",
                                    "forward", "0", "inner.0.weight.x"])
        r = self.fresh()
        if op == "set_submodule":
            value = self.pick(["torch.nn.Identity()", "torch.nn.Linear(3, 3)", "3"])
            strict = self.pick(["", ", strict=True", ", strict=False"])
            body = f"{m}.set_submodule({target!r}, {value}{strict}); {r} = 1"
        elif op == "get_extra_state":
            body = f"{r} = {m}.get_extra_state()"
        else:
            body = f"{r} = {TYPE}({m}.{op}({target!r}))"
        out, line = self.outcome(body, ("has no attribute", "is not an nn.Module",
                                        "is not an nn.Parameter", "is not a buffer"))
        parts.append(line)
        if op == "set_submodule":
            parts.append(f"{self.fresh()} = {NAMES}({m}.named_modules())")
        return parts

    # -- containers -----------------------------------------------------------------------------
    def containers16(self):
        kind = self.pick(["ModuleList", "Sequential", "ModuleDict", "ParameterList",
                          "ParameterDict"])
        c = self.fresh()
        parts = [f"torch.manual_seed({int(self.rng.integers(0, 100))})"]
        if kind in ("ModuleList", "Sequential"):
            parts.append(f"{c} = torch.nn.{kind}([torch.nn.Linear(3, 3), torch.nn.ReLU(), "
                         f"torch.nn.Tanh()])" if kind == "ModuleList" else
                         f"{c} = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.ReLU(), "
                         f"torch.nn.Tanh())")
            ops = [f"{c}[{self.pick(['0', '-1', '3', '-4', '1:', '::-1', '::2'])}]",
                   f"{c}.append(torch.nn.Sigmoid())",
                   f"{c}.insert({self.pick(['0', '-1', '5', '-9', '1'])}, torch.nn.GELU())",
                   f"{c}.extend([torch.nn.Identity(), torch.nn.ELU()])",
                   f"{c}.pop({self.pick(['0', '-1', '1', '7'])})",
                   f"del {c}[{self.pick(['0', '-1', '1:', '::2', '9'])}]",
                   f"{c} + {c}",
                   f"{c}[{self.pick(['0', '-1', '1', '5'])}] = torch.nn.SiLU()",
                   f"{c}.append(3)", f"{c}.extend(torch.nn.Linear(1, 1))",
                   f"torch.nn.SiLU() in {c}", f"len({c})",
                   f"{c} * 2", f"{c}.insert(0, 'x')", f"{c}[1.0]"]
            if kind == "Sequential":
                ops += [f"{c}({self.x16(c)})", f"{c}.add_module('z', torch.nn.ReLU())",
                        f"{c}[0:2]({self.x16(c)})"]
            if kind == "ModuleList":
                ops += [f"{c} += [torch.nn.ReLU()]", f"{c} + [torch.nn.ReLU()]"]
        elif kind == "ModuleDict":
            parts.append(f"{c} = torch.nn.ModuleDict({{'b': torch.nn.ReLU(), "
                         f"'a': torch.nn.Linear(2, 2)}})")
            ops = [f"{c}['a']", f"{c}['zz']", f"{c}['c'] = torch.nn.Tanh()",
                   f"{c}.update({{'d': torch.nn.Tanh(), 'a': torch.nn.Identity()}})",
                   f"{c}.update([('e', torch.nn.ReLU())])", f"{c}.update(3)",
                   f"{c}.update([('e',)])", f"{c}.pop('b')", f"{c}.pop('q')",
                   f"del {c}['a']", f"'a' in {c}", f"len({c})", f"{c}.clear()",
                   f"{c}[0]", f"{c}['x.y'] = torch.nn.ReLU()", f"{c}['k'] = 3",
                   f"{c}.update(torch.nn.ModuleDict({{'z': torch.nn.ReLU()}}))"]
        elif kind == "ParameterList":
            parts.append(f"{c} = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2)), "
                         f"torch.zeros(3)])")
            ops = [f"{c}[{self.pick(['0', '-1', '2', '-3', '0:1', '::-1'])}]",
                   f"{c}.append(torch.ones(4))", f"{c}.append(3)",
                   f"{c}.extend([torch.ones(1), torch.nn.Parameter(torch.ones(2))])",
                   f"{c}[0] = torch.ones(5)", f"{c}[5] = torch.ones(5)", f"len({c})",
                   f"{c}.append(None)", f"{c} + {c}", f"{c}.extend(torch.ones(2))",
                   f"{c}[1] = torch.nn.Parameter(torch.ones(1), requires_grad=False)"]
        else:
            parts.append(f"{c} = torch.nn.ParameterDict({{'w': torch.nn.Parameter(torch.ones(2)),"
                         f" 'b': torch.zeros(3)}})")
            ops = [f"{c}['w']", f"{c}['zz']", f"{c}['c'] = torch.ones(1)",
                   f"{c}.update({{'d': torch.ones(2), 'w': torch.zeros(1)}})",
                   f"{c}.pop('b')", f"{c}.pop('q')", f"del {c}['w']", f"'w' in {c}",
                   f"len({c})", f"{c}.setdefault('s', torch.ones(1))",
                   f"{c}.setdefault('w', torch.ones(1))", f"{c}.get('w')", f"{c}.get('q', 3)",
                   f"{c}.copy()", f"{c}.popitem()", f"{c}.clear()", f"{c}['k'] = 3",
                   f"{c}['n'] = None", f"{c} | {c}", f"{c}.fromkeys(['x', 'y'])",
                   f"{c}.update(3)", f"list(reversed({c}))", f"{c}.keys()"]
        for _ in range(int(self.rng.integers(1, 4))):
            op = self.pick(ops)
            r = self.fresh()
            expr = op
            if op.startswith(("del ", f"{c}.update", f"{c}.clear", f"{c}[0] =", f"{c}[5] =",
                              f"{c}['", f"{c} +=", f"{c}[1] =", f"{c}[-1] =")) and \
                    ("=" in op.split("]", 1)[-1][:3] or op.startswith(("del ", f"{c}.update",
                                                                        f"{c}.clear", f"{c} +="))):
                body = f"{op}; {r} = 1"
            else:
                body = f"{r} = {expr}"
            out, line = self.outcome(body, ("index", "out of range", "is not a Module",
                                            "not in"))
            parts.append(line)
            parts.append(f"{self.fresh()} = [{TYPE}({r}) if '{r}' in dir() else None, "
                         f"{self.describe16(c)}]")
        return parts

    @staticmethod
    def describe16(c):
        return (f"[type({c}).__name__, len({c}), "
                f"[k if isinstance(k, str) else None for k in ({c}.keys() if hasattr({c}, "
                f"'keys') else range(len({c})))], "
                f"{NAMES}({c}.named_parameters()), {NAMES}({c}.named_children()), "
                f"[{TYPE}(v) for v in ({c}.values() if hasattr({c}, 'values') else {c})]]")

    # -- hooks ----------------------------------------------------------------------------------
    def hooks16(self):
        m, parts = self.module16()
        log = self.fresh()
        parts.append(f"{log} = []")
        kind = self.pick(["fwd", "pre", "fwd_kw", "pre_kw", "full_bwd", "bwd_pre"])
        ret = self.pick(["None", "None", "replace", "wrong"])
        if kind == "fwd":
            fn = (f"lambda mod, args, out: ({log}.append(['f', type(mod).__name__, len(args)]), "
                  + {"None": "None", "replace": "out * 2", "wrong": "(out, out)"}[ret] + ")[1]")
            reg = f"register_forward_hook({fn}"
        elif kind == "pre":
            fn = (f"lambda mod, args: ({log}.append(['p', len(args)]), "
                  + {"None": "None", "replace": "(args[0] + 1,)", "wrong": "args[0] * 0"}[ret]
                  + ")[1]")
            reg = f"register_forward_pre_hook({fn}"
        elif kind == "fwd_kw":
            fn = (f"lambda mod, args, kwargs, out: ({log}.append(['fk', sorted(kwargs)]), "
                  + {"None": "None", "replace": "out - 1", "wrong": "None"}[ret] + ")[1]")
            reg = f"register_forward_hook({fn}, with_kwargs=True"
        elif kind == "pre_kw":
            fn = (f"lambda mod, args, kwargs: ({log}.append(['pk', len(args), sorted(kwargs)]), "
                  + {"None": "None", "replace": "((args[0] * 2,), kwargs)",
                     "wrong": "(args[0],)"}[ret] + ")[1]")
            reg = f"register_forward_pre_hook({fn}, with_kwargs=True"
        elif kind == "full_bwd":
            fn = (f"lambda mod, gin, gout: ({log}.append(['b', len(gin), len(gout), "
                  f"[g is None for g in gin]]), None)[1]")
            reg = f"register_full_backward_hook({fn}"
        else:
            fn = f"lambda mod, gout: ({log}.append(['bp', len(gout)]), None)[1]"
            reg = f"register_full_backward_pre_hook({fn}"
        if self.coin(0.3) and kind in ("fwd", "pre", "fwd_kw", "pre_kw", "full_bwd", "bwd_pre"):
            reg += f", prepend={self.pick(['True', 'False'])}"
        if self.coin(0.2) and kind in ("fwd", "fwd_kw"):
            reg += ", always_call=True"
        h = self.fresh()
        target = m
        sub = self.member(m, "module")
        if sub is not None and self.coin(0.4):
            target = f"{m}.get_submodule({sub!r})"
        out, line = self.outcome(f"{h} = {target}.{reg})")
        parts.append(line)
        if self.coin(0.3):  # a second hook, to see the order
            parts.append(f"{self.fresh()} = {target}.register_forward_hook(lambda *a: "
                         f"{log}.append('second'), prepend={self.pick(['True', 'False'])})")
        y = self.fresh()
        kw = "x=" if self.coin(0.2) and type(self.ns[m]).__name__ in ("Net", "Holes", "Tied") \
            else ""
        out, line = self.outcome(f"{y} = {m}({kw}{self.x16(m)})")
        parts.append(line)
        if self.coin(0.5):
            out, line = self.outcome(f"({y} * torch.arange(1, {y}.numel() + 1, dtype={y}.dtype)"
                                     f".reshape({y}.shape)).sum().backward()")
            parts.append(line)
        parts.append(f"{self.fresh()} = list({log})")
        if self.coin(0.5):
            parts.append(f"{h}.remove(); {h}.remove()" if self.coin(0.3) else f"{h}.remove()")
            out, line = self.outcome(f"{self.fresh()} = {m}({self.x16(m)})")
            parts.append(line)
            parts.append(f"{self.fresh()} = list({log})")
        return parts

    def sd_hooks16(self):
        m, parts = self.module16()
        log = self.fresh()
        parts.append(f"{log} = []")
        kind = self.pick(["sd_post", "sd_pre", "load_pre", "load_post"])
        if kind == "sd_post":
            body = (f"{self.fresh()} = {m}._register_state_dict_hook(lambda mod, sd, prefix, lm: "
                    f"{log}.append([type(mod).__name__, prefix, sorted(sd)]))"
                    if self.coin(0.3) else
                    f"{self.fresh()} = {m}.register_state_dict_post_hook(lambda mod, sd, prefix, "
                    f"lm: {log}.append([type(mod).__name__, prefix, len(sd)]))")
        elif kind == "sd_pre":
            body = (f"{self.fresh()} = {m}.register_state_dict_pre_hook(lambda mod, prefix, "
                    f"keep_vars: {log}.append([type(mod).__name__, prefix, keep_vars]))")
        elif kind == "load_pre":
            body = (f"{self.fresh()} = {m}.register_load_state_dict_pre_hook(lambda mod, sd, "
                    f"prefix, lm, strict, missing, unexpected, errors: {log}.append("
                    f"[type(mod).__name__, prefix, strict]))")
        else:
            body = (f"{self.fresh()} = {m}.register_load_state_dict_post_hook(lambda mod, keys: "
                    f"{log}.append([type(mod).__name__, sorted(keys.missing_keys), "
                    f"sorted(keys.unexpected_keys)]))")
        out, line = self.outcome(body)
        parts.append(line)
        if kind.startswith("sd"):
            arg = self.pick(['', 'prefix=' + repr('z.'), 'keep_vars=True'])
            out, line = self.outcome(f"{self.fresh()} = list({m}.state_dict({arg}))")
        else:
            extra = self.pick(["", "sd.pop(next(iter(sd))); ", "sd['junk'] = torch.ones(1); "])
            strict = self.pick(['True', 'False'])
            out, line = self.outcome(f"sd = {m}.state_dict(); {extra}"
                                     f"{m}.load_state_dict(sd, strict={strict})", _KW_LOAD)
        parts.append(line)
        parts.append(f"{self.fresh()} = list({log})")
        return parts

    # -- repr, copies -----------------------------------------------------------------------------
    def repr16(self):
        m, parts = self.module16()
        if self.coin(0.3):
            c = self.fresh()
            parts.append(self.pick([
                f"{c} = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2)), "
                f"torch.nn.Parameter(torch.ones(2, 3, dtype=torch.float64), "
                f"requires_grad=False)])",
                f"{c} = torch.nn.ParameterDict({{'a': torch.nn.Parameter(torch.ones(2))}})",
                f"{c} = torch.nn.ModuleList()",
                f"{c} = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)] + "
                f"[torch.nn.ReLU()])",
                f"{c} = torch.nn.Sequential(*[torch.nn.Linear(2, 2), torch.nn.Linear(2, 2), "
                f"torch.nn.ReLU(), torch.nn.ReLU()])",
                f"{c} = torch.nn.Sequential()"]))
            m = c
            parts.insert(-1, "torch.manual_seed(0)")
        parts.append(f"{self.fresh()} = {self.pick(['repr', 'str'])}({m})")
        if self.coin(0.3):
            parts.append(f"{self.fresh()} = [c.extra_repr() for c in {m}.modules()]")
        return parts

    def copy16(self):
        m, parts = self.module16()
        c = self.fresh()
        how = self.pick(["deepcopy", "deepcopy", "copy", "pickle"])
        parts.append(f"{c} = __import__('pickle').loads(__import__('pickle').dumps({m}))"
                     if how == "pickle" else f"{c} = __import__('copy').{how}({m})")
        parts.append(f"{self.fresh()} = [[p is q, p.data_ptr() == q.data_ptr(), "
                     f"p.requires_grad == q.requires_grad, isinstance(q, torch.nn.Parameter), "
                     f"q.grad is None] for p, q in "
                     f"zip({m}.parameters(), {c}.parameters())] + "
                     f"[len(list({c}.parameters())), len(list({c}.named_parameters("
                     f"remove_duplicate=False))), {c}.training, "
                     f"{NAMES}({c}.named_modules(remove_duplicate=False))]")
        if self.coin(0.4):
            p = self.member(m, "param")
            if p is not None:
                parts.append(f"with torch.no_grad(): {c}.get_parameter({p!r}).add_(1)")
        return parts

    # -- extra state, state-dict versions, functional_call -------------------------------------
    def extra16(self):
        kind = self.pick(["extra", "bn_old", "meta"])
        parts = []
        m = self.fresh()
        if kind == "extra":
            parts.append("class Extra(torch.nn.Module):\n"
                         "    def __init__(self):\n"
                         "        super().__init__()\n"
                         "        self.lin = torch.nn.Linear(3, 2)\n"
                         "        self.seen = []\n"
                         "    def get_extra_state(self):\n"
                         "        return {'n': len(self.seen)}\n"
                         "    def set_extra_state(self, state):\n"
                         "        self.seen.append(state)\n"
                         "    def forward(self, x):\n"
                         "        return self.lin(x)")
            parts.append(f"torch.manual_seed(3); {m} = Extra()")
            sd = self.fresh()
            parts.append(f"{sd} = {m}.state_dict()")
            parts.append(f"{self.fresh()} = [list({sd}), {sd}.get('_extra_state')]")
            edit = self.pick(["", f"del {sd}['_extra_state']", f"{sd}['_extra_state'] = 7"])
            if edit:
                parts.append(edit)
            out, line = self.outcome(f"{self.fresh()} = {m}.load_state_dict({sd}, "
                                     f"strict={self.pick(['True', 'False'])})", _KW_LOAD)
            parts.append(line)
            parts.append(f"{self.fresh()} = list({m}.seen)")
        elif kind == "bn_old":
            parts.append(f"torch.manual_seed(5); {m} = torch.nn.BatchNorm1d(3)")
            sd = self.fresh()
            parts.append(f"{sd} = {m}.state_dict()")
            parts.append(f"{self.fresh()} = repr({sd}._metadata)")
            parts.append(self.pick([f"del {sd}['num_batches_tracked']",
                                    f"{sd}['num_batches_tracked'] = torch.tensor(7)",
                                    f"{sd}['running_mean'] = torch.full((3,), 0.25)"]))
            if self.coin(0.6):
                version = self.pick(["1", "None", "2"])
                parts.append(f"{sd}._metadata[''] = {{'version': {version}}}" if version != "None"
                             else f"{sd}._metadata[''] = {{}}")
            out, line = self.outcome(f"{self.fresh()} = {m}.load_state_dict({sd}, "
                                     f"strict={self.pick(['True', 'False'])})", _KW_LOAD)
            parts.append(line)
        else:
            src, expr = MODULES[self.pick(["net", "od", "bn", "lists"])]
            if src:
                parts.append(src.rstrip("\n"))
            parts.append(f"torch.manual_seed(4); {m} = {expr}")
            sd = self.fresh()
            parts.append(f"{sd} = {m}.state_dict({self.pick(['', 'prefix=' + repr('z.')])})")
            parts.append(f"{self.fresh()} = repr(sorted(({{k: dict(v) for k, v in "
                         f"{sd}._metadata.items()}}).items()))")
            parts.append(f"{self.fresh()} = [{NAMES}({m}.named_modules(prefix="
                         f"{self.pick(['', 'm'])!r})), "
                         f"{NAMES}({m}.named_modules(memo=set()))]")
        return parts

    def functional16(self):
        m, parts = self.module16()
        names = self.members(m, "param") + self.members(m, "buffer")
        if not names:
            return None
        chosen = [n for n in names if self.coin(0.6)] or names[:1]
        d = self.fresh()
        parts.append(f"{d} = {{k: v.detach() * 0 + 0.5 for k, v in "
                     f"list({m}.named_parameters()) + list({m}.named_buffers()) "
                     f"if k in {chosen!r}}}")
        if self.coin(0.2):
            parts.append(f"{d}['missing'] = torch.ones(1)")
        kws = self.pick(["", ", strict=True", ", tie_weights=False"])
        y = self.fresh()
        out, line = self.outcome(f"{y} = torch.func.functional_call({m}, {d}, "
                                 f"({self.x16(m)},){kws})")
        parts.append(line)
        parts.append(f"{self.fresh()} = [{NAMES}({m}.named_parameters()), "
                     f"[p.requires_grad for p in {m}.parameters()]]")
        return parts

    # -- parametrize and vectors ----------------------------------------------------------------
    def parametrize16(self):
        P = "torch.nn.utils.parametrize"
        m, parts = self.module16()
        target = self.pick([n for n in [""] + self.members(m, "module")
                            if isinstance(self.ns[m].get_submodule(n), torch.nn.Linear)]
                           or [""])
        mod = f"{m}.get_submodule({target!r})"
        cls = self.fresh()
        kind = self.pick(["sym", "scale", "shape"])
        body = {"sym": "return X.triu() + X.triu(1).transpose(-1, -2)",
                "scale": "return X * 2",
                "shape": "return X[:1]"}[kind]
        parts.append(f"class P{cls}(torch.nn.Module):\n    def forward(self, X):\n"
                     f"        {body}")
        if self.coin(0.3):
            parts[-1] += "\n    def right_inverse(self, X):\n        return X / 2"
        tname = self.pick(["'weight'", "'weight'", "'bias'", "'missing'"])
        unsafe = self.pick(["", ", unsafe=True"])
        out, line = self.outcome(f"{P}.register_parametrization({mod}, {tname}, P{cls}()"
                                 f"{unsafe})", ("not a parameter", "square", "must match"))
        parts.append(line)
        parts.append(f"{self.fresh()} = [{P}.is_parametrized({mod}), "
                     f"{P}.is_parametrized({mod}, {tname}), "
                     f"{NAMES}({m}.named_parameters()), list({m}.state_dict()), "
                     f"type({mod}).__name__]")
        if self.coin(0.5):
            parts.append(f"{self.fresh()} = getattr({mod}, {tname}, None)")
        if self.coin(0.4):
            parts.append(f"{self.fresh()} = [getattr(getattr({mod}, 'parametrizations', None), "
                         f"{tname}, None) is not None]")
        if self.coin(0.4):
            out, line = self.outcome(f"{self.fresh()} = {mod}.parametrizations[{tname}].original")
            parts.append(line)
        if self.coin(0.3):  # a second one chained
            out, line = self.outcome(f"{P}.register_parametrization({mod}, {tname}, P{cls}()"
                                     f"{unsafe})")
            parts.append(line)
            parts.append(f"{self.fresh()} = [len(getattr({mod}, 'parametrizations', {{}}).get("
                         f"{tname}, [])) if hasattr({mod}, 'parametrizations') else None, "
                         f"list({m}.state_dict())]")
        if self.coin(0.4):
            out, line = self.outcome(f"with {P}.cached(): {self.fresh()} = {m}({self.x16(m)})")
            parts.append(line)
        if self.coin(0.5):
            out, line = self.outcome(f"{P}.remove_parametrizations({mod}, {tname}, "
                                     f"leave_parametrized={self.pick(['True', 'False'])})")
            parts.append(line)
            parts.append(f"{self.fresh()} = [{NAMES}({m}.named_parameters()), "
                         f"list({m}.state_dict()), type({mod}).__name__]")
        return parts

    def vector16(self):
        U = "torch.nn.utils"
        m, parts = self.module16()
        v = self.fresh()
        parts.append(f"{v} = {U}.parameters_to_vector({m}.parameters())")
        if self.coin(0.7):
            new = self.pick([f"{v} * 2", f"{v}[:-1]", f"torch.cat([{v}, {v}])", f"{v}.double()",
                             f"{v}.reshape(1, -1)", "3.0", f"{v}.tolist()"])
            out, line = self.outcome(f"{U}.vector_to_parameters({new}, {m}.parameters())")
            parts.append(line)
        return parts


# --------------------------------------------------------------------------------------------
# Reviewed differences this family reaches (on top of sessions 17 to 27's lists)
# --------------------------------------------------------------------------------------------

def _snapshot_safe(value, layout=True):
    """The plain snapshot, where a module whose members cannot be listed (a program put a
    non-module into a ModuleList: PyTorch's ``insert`` allows it) reads as the class of what
    listing raises."""
    if isinstance(value, (torch.nn.Module, dg.nn.Module)):
        try:
            list(value.named_parameters())
            list(value.named_buffers())
        except Exception as exc:  # noqa: BLE001 - the class is what is compared
            return ("str", "module raising " + base._builtin_base(type(exc)).__name__)
    return _PLAIN(value, layout)


_PLAIN = sl6._SNAPSHOT
if not getattr(_PLAIN, "sl16", False):  # (installed under session 21's wider snapshot, once)
    _snapshot_safe.sl16 = True
    sl6._SNAPSHOT = _snapshot_safe


def _line(lines, failure):
    return lines[failure[0]] if failure[0] < len(lines) else ""


def _insert_non_module(lines, failure):
    # ModuleList.insert(i, obj) of an object that is no Module: PyTorch stores it (the list's
    # parameters can no longer be listed); deltagrad refuses it (TypeError).
    return failure[1] == "silent" and any(".insert(0, 'x')" in line
                                          for line in lines[:failure[0] + 1])


def _tuple_into_layer(lines, failure):
    # A forward hook returning a tuple inside a Sequential: the next layer gets a tuple; PyTorch's
    # BatchNorm raises AttributeError (``input.dim()``), deltagrad's ValueError (it reads its
    # input with ``tensor(...)``, as its norm layers do: array-likes are accepted).
    return (failure[1] == "silent" and "'ValueError' != torch's 'AttributeError'" in failure[2]
            and any("(out, out)" in line for line in lines[:failure[0]]))


def _complex_to_real_warning(lines, failure):
    # A complex module cast back to a real dtype: PyTorch warns UserWarning "Casting complex
    # values to real discards the imaginary part" once per process; deltagrad's casts give
    # NumPy's ComplexWarning at every cast (the engine's tensor casts, all of them).
    return (failure[1] == "silent" and re.search(r"length \d != torch's \d|Warning",
                                                 failure[2]) is not None
            and any("complex" in line for line in lines[:failure[0] + 1]))


def _functional_call_unties(lines, failure):
    # torch.func.functional_call on a module with tied weights: PyTorch's leaves the tie broken
    # afterwards (b.weight a Parameter of its own: a PyTorch bug); deltagrad puts the module's
    # own tensors back, tied.
    return (failure[1] in ("silent", "we-raise")
            and any("functional_call(" in line for line in lines[:failure[0] + 1])
            and any("Tied()" in line for line in lines))


KNOWN = [
    (_functional_call_unties, "functional_call unties tied weights in PyTorch (its bug)"),
    (_complex_to_real_warning, "complex to real casts: NumPy's ComplexWarning each time, "
                               "PyTorch's UserWarning once"),
    (_insert_non_module, "ModuleList.insert of a non-module: PyTorch stores it, deltagrad "
                         "raises TypeError"),
    (_tuple_into_layer, "a tuple into BatchNorm: AttributeError in PyTorch, ValueError here"),
]

# Failures on the Module API this family draws, which the earlier families' broad entries must
# not cover: only this family's entries may.
_OURS = ("state_dict", "named_", "register_", "add_module", "_submodule", "get_parameter",
         "get_buffer", "torch.nn.Module", "parametriz", "vector", "copy", "catch_warnings")


FAMILY = base.Family(Gen16, own_first(KNOWN, sl15.known, _OURS), sl14.wide)
known, compare, program, run = FAMILY.known, FAMILY.compare, FAMILY.program, FAMILY.run


if __name__ == "__main__":
    sys.exit(FAMILY.main())
