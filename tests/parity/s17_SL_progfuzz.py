"""A program-level differential fuzzer: short random programs of what users write, run on
deltagrad and on PyTorch, every intermediate compared after every statement.

A program is 5-25 lines of Python source over variables ``a0, a1, ...`` and a module named
``torch``. It is generated against PyTorch (each line is drawn knowing the shapes, dtypes and
autograd state PyTorch gives the variables so far), then run from scratch twice: once with
``torch`` bound to PyTorch and once with it bound to deltagrad. After each line both namespaces
are snapshotted and compared variable by variable:

- tensors: values (within the dtype's tolerance, NaN equal to NaN), dtype, shape, stride (on
  dimensions longer than one), ``is_contiguous()``, ``requires_grad``, ``is_leaf``, ``grad_fn
  is None``, ``.grad`` (its values, dtype and shape, or None);
- tuples / lists of tensors (``unbind``, ``split``, ``autograd.grad``), Python numbers and bools
  (``item()``, ``bool(...)``), None;
- modules (their parameters and buffers, with ``.grad``), optimizers (their state: momentum
  buffers, exp_avg, step, ...; their groups' options) and state dicts (keys in order, values);
- a line that raises: both must raise, deltagrad's exception an instance of the builtin class
  PyTorch's derives from (``except RuntimeError`` catches both); then the program goes on.

Sharing of memory is observed through writes: a line that writes through a view is followed by
a snapshot of its base and of every other view, so a copy where PyTorch shares (or the reverse)
shows as a value difference.

The grammar (``Gen``): leaves of float32 / float64 / float16 / int64 / int32 / bool with and
without ``requires_grad``; views (basic slicing with steps / ints / None / ellipsis, view,
reshape, transpose, permute, expand, narrow, unbind, split, diagonal, T, mT, unflatten,
as_strided with small strides); in-place ops on views and bases, inside and outside
``no_grad`` (add_, mul_, clamp_, copy_, zero_, fill_, index_fill_, index_add_, setitem with
masks / index tensors / ellipsis / None, masked_fill_, scatter_); parameter updates (``p -= lr *
p.grad`` under no_grad, ``p.data.mul_``, ``p.grad.zero_()``, ``p.grad = None``); detach,
detach_, requires_grad_, retain_grad, clone; arithmetic mixing integer / bool / float16 /
float64 tensors with Python scalars and 0-d tensors (promotion), floor division, remainder,
fmod, bit ops and shifts with negative numbers, cat / stack / masked_fill / index_select;
reductions with dim / keepdim / negative dims (and ``item()``, ``bool()``);
backward with retain_graph, repeated backward (accumulation), ``torch.autograd.grad`` with
allow_unused / create_graph; ``register_hook`` hooks that change the gradient.

``s18_SL3_progfuzz.py``'s ``Gen2`` adds nn.functional calls, modules, optimizers, state dicts,
promotion across int / bool / float16 / bfloat16 / complex, integer in-place ops, ``out=`` and
dims out of range (``program(seed, i, gen)``, ``run(..., gen=)``).

A failing program is cut down (``minimise``) to the fewest lines that still fail the same way
at the same line. Deterministic: program ``i`` of seed ``s`` is always the same text.

Run as a script::

    .venv/bin/python tests/parity/s17_SL_progfuzz.py [--programs N] [--seed S] [--show]
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import sys
import time
import warnings

import numpy as np
import torch
from s17_SL_known import KNOWN, known  # noqa: F401 - the reviewed differences, re-exported

import deltagrad as dg

LIBS = {"torch": torch, "dg": dg}

FLOATS = ("float32", "float32", "float32", "float64", "float16")
INTS = ("int64", "int64", "int32")


# --------------------------------------------------------------------------------------------
# Snapshots and comparison
# --------------------------------------------------------------------------------------------

def _dtype_name(dtype) -> str:
    return str(dtype).rsplit(".", 1)[-1]


def _is_tensor(value) -> bool:
    return isinstance(value, (torch.Tensor, dg.Tensor))


def _attr(get):
    """``get()``, or the builtin class of what it raises (reading ``grad_fn`` of a view whose
    base changed in place can raise in PyTorch)."""
    try:
        return get()
    except Exception as exc:  # noqa: BLE001 - the class is what is compared
        return ("raises", _builtin_base(type(exc)).__name__)


def _snap_tensor(t, with_grad=True, layout=True):
    layout = layout and t.numel() > 0  # (an empty tensor's strides are PyTorch's choice)
    out = {
        "dtype": _dtype_name(t.dtype),
        "shape": tuple(t.shape),
        "contiguous": bool(t.is_contiguous()) if layout else None,
        "stride": tuple(s for s, n in zip(t.stride(), t.shape) if n > 1) if layout else None,
        "requires_grad": bool(t.requires_grad),
        "is_leaf": _attr(lambda: bool(t.is_leaf)),
        "grad_fn is None": _attr(lambda: t.grad_fn is None),
        "values": _values_of(t),
    }
    if with_grad:
        grad = _attr(lambda: t.grad)
        if isinstance(grad, tuple):
            out["grad"] = grad
        else:
            out["grad"] = None if grad is None else _snap_tensor(grad, with_grad=False)
    return out


def _values_of(t):
    # Read through a clone: PyTorch marks a storage that ``.numpy()`` has seen as not
    # resizable, which would change what a later ``out=`` does. (NumPy has no bfloat16:
    # read such a tensor as float32, which holds it exactly.)
    t = t.detach()
    t = t.float() if _dtype_name(t.dtype) == "bfloat16" else t.clone()
    return t.numpy()


def _snap_state(state):
    """An optimizer's or a module's state dict: its keys in order and each value's snapshot
    (an optimizer's 0-d ``step`` tensor or number read as a float)."""
    out = []
    for key, value in state.items():
        if key == "step" and (_is_tensor(value) or isinstance(value, (int, float))):
            value = float(value)
        elif isinstance(value, dict):
            out.append((str(key), ("dict", _snap_state(value))))
            continue
        out.append((str(key), snapshot(value)))
    return out


def snapshot(value, layout=True):
    """What a user can see of ``value`` (a tensor, a sequence of them, a number, ...); without
    ``layout``, not its strides (``autograd.grad``'s results: PyTorch returns the gradient as
    its last rule made it, an expanded one from a sum, where deltagrad's may be contiguous)."""
    if _is_tensor(value):
        return ("tensor", _snap_tensor(value, layout=layout))
    if isinstance(value, (tuple, list)):
        return ("seq", [snapshot(v, layout) for v in value])
    if isinstance(value, (bool, int, float)):
        return (type(value).__name__, value)
    if value is None:
        return ("None", None)
    if isinstance(value, (torch.nn.Module, dg.nn.Module)):
        # Its parameters and buffers with their .grad (what an optimizer step changes).
        named = list(value.named_parameters()) + list(value.named_buffers())
        return ("module", [(n, snapshot(t, layout)) for n, t in named])
    if isinstance(value, (torch.optim.Optimizer, dg.optim.Optimizer)):
        sd = value.state_dict()
        groups = [{k: v for k, v in g.items() if k in _GROUP_KEYS} for g in sd["param_groups"]]
        return ("optimizer", [("state", ("dict", _snap_state(sd["state"]))),
                              ("groups", ("seq", [("dict", _snap_state(g)) for g in groups]))])
    if isinstance(value, dict):
        return ("dict", _snap_state(value))
    return ("object", None)


# The param_group entries both libraries hold (PyTorch adds flags deltagrad may not have).
_GROUP_KEYS = ("lr", "momentum", "dampening", "nesterov", "weight_decay", "betas", "eps",
               "amsgrad", "maximize", "params")


# float64 results often come from float32 work promoted late (`x32.var() + x64`): float32's.
# float16: rules that round each step in half (PyTorch's) or not (deltagrad's, some) part by a
# few units in the last place where a std's gradient cancels.
_TOL = {"float16": (5e-3, 5e-3), "bfloat16": (2e-2, 2e-2), "float32": (1e-5, 1e-6),
        "float64": (1e-5, 1e-6)}


def _values_equal(a, b, dtype) -> bool:
    if a.shape != b.shape:
        return False
    if dtype.startswith("complex"):
        return bool(np.allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True))
    if dtype in _TOL:
        rtol, atol = _TOL[dtype]
        return bool(np.allclose(a.astype(np.float64), b.astype(np.float64), rtol=rtol,
                                atol=atol, equal_nan=True))
    return bool(np.array_equal(a, b))


def diff(ref, got, path=""):
    """The first difference between two snapshots, as text, or None."""
    if ref[0] != got[0]:
        return f"{path}: kind {got[0]} != torch's {ref[0]}"
    kind = ref[0]
    if kind in ("dict", "module", "optimizer"):
        if [k for k, _ in ref[1]] != [k for k, _ in got[1]]:
            return f"{path}: keys {[k for k, _ in got[1]]} != torch's {[k for k, _ in ref[1]]}"
        for (key, r), (_, g) in zip(ref[1], got[1]):
            d = diff(r, g, f"{path}[{key!r}]")
            if d:
                return d
        return None
    if kind == "seq":
        if len(ref[1]) != len(got[1]):
            return f"{path}: length {len(got[1])} != torch's {len(ref[1])}"
        for i, (r, g) in enumerate(zip(ref[1], got[1])):
            d = diff(r, g, f"{path}[{i}]")
            if d:
                return d
        return None
    if kind == "tensor":
        return _diff_tensor(ref[1], got[1], path)
    if kind in ("tuple", "list"):  # (betas)
        return None if list(ref[1]) == list(got[1]) else f"{path}: {got[1]!r} != {ref[1]!r}"
    if kind == "float":
        if not (ref[1] == got[1] or (ref[1] != ref[1] and got[1] != got[1])
                or abs(ref[1] - got[1]) <= 1e-5 * max(1.0, abs(ref[1]))):
            return f"{path}: {got[1]!r} != torch's {ref[1]!r}"
        return None
    if ref[1] != got[1]:
        return f"{path}: {got[1]!r} != torch's {ref[1]!r}"
    return None


def _diff_tensor(r, g, path):
    for key in ("dtype", "shape", "requires_grad", "is_leaf", "grad_fn is None", "contiguous",
                "stride"):
        if r[key] != g[key]:
            return f"{path}.{key}: {g[key]} != torch's {r[key]}"
    if not _values_equal(r["values"], g["values"], r["dtype"]):
        return f"{path}.values: {g['values'].tolist()} != torch's {r['values'].tolist()}"
    if "grad" in r:
        if isinstance(r["grad"], tuple) or isinstance(g["grad"], tuple):
            if r["grad"] != g["grad"] and not (isinstance(r["grad"], tuple) and isinstance(
                    g["grad"], tuple)):
                return f"{path}.grad: {g['grad']} vs torch's {r['grad']}"
            return None
        if (r["grad"] is None) != (g["grad"] is None):
            def name(grad):
                return "None" if grad is None else "a tensor"
            return f"{path}.grad: {name(g['grad'])} vs torch's {name(r['grad'])}"
        if r["grad"] is not None:
            return _diff_tensor(r["grad"], g["grad"], path + ".grad")
    return None


def _first(exc) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]


def _builtin_base(exc_type):
    for klass in exc_type.__mro__:
        if getattr(builtins, klass.__name__, None) is klass:
            return klass
    return Exception


# --------------------------------------------------------------------------------------------
# Running a program on both sides
# --------------------------------------------------------------------------------------------

def run_lines(lines, lib):
    """Run ``lines`` with ``torch`` bound to ``lib``; yield (exception or None, snapshot)."""
    ns = {"torch": lib}
    free = set()  # variables bound to autograd.grad's results
    for line in lines:
        if "torch.autograd.grad(" in line:
            free.add(line.split(" = ", 1)[0])
        err = None
        try:
            exec(line, ns)
        except Exception as exc:  # noqa: BLE001 - the class is what is compared
            # (without its traceback: the frames it holds stay alive with the exception, and
            # one of PyTorch's holds a _DisableFuncTorch guard (its tensor printing): kept
            # alive, torch.func.grad gave zeros in every later test of the process)
            err = exc.with_traceback(None)
        snap = {k: snapshot(v, k not in free) for k, v in ns.items()
                if k.startswith("a") and k[1:].isdigit()}
        yield err, snap


def compare(lines):
    """The first difference in running ``lines`` on both sides: (line index, kind, text) or
    None. Kinds: ``silent`` (values / metadata differ), ``permissive`` (PyTorch raises and
    deltagrad does not), ``we-raise`` (the reverse), ``raise-mismatch`` (both raise, classes
    incompatible)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = run_lines(lines, dg)
        for i, ((terr, tsnap), (derr, dsnap)) in enumerate(zip(run_lines(lines, torch), ours)):
            if terr is not None or derr is not None:
                if derr is None:
                    return i, "permissive", f"torch raises {type(terr).__name__}: {_first(terr)}"
                if terr is None:
                    return i, "we-raise", f"deltagrad raises {type(derr).__name__}: {_first(derr)}"
                base = _builtin_base(type(terr))
                if not isinstance(derr, base):
                    return i, "raise-mismatch", (f"deltagrad {type(derr).__name__} vs torch "
                                                 f"{type(terr).__name__}: {_first(terr)}")
            names = sorted(set(tsnap) | set(dsnap), key=lambda n: int(n[1:]))
            for name in names:
                if name not in tsnap or name not in dsnap:
                    return i, "silent", f"{name} bound on one side only"
                d = diff(tsnap[name], dsnap[name], name)
                if d:
                    return i, "silent", d
    return None


def minimise(lines, failure):
    """The shortest sub-program (greedy line removal to a fixpoint) whose first failure has
    the same kind at the same line text as ``failure``."""
    index, kind, _ = failure
    target = lines[index]
    current = list(lines[:index + 1])

    def same(candidate):
        got = compare(candidate)
        return got is not None and got[1] == kind and candidate[got[0]] == target

    changed = True
    while changed:
        changed = False
        for i in range(len(current) - 2, -1, -1):
            candidate = current[:i] + current[i + 1:]
            if same(candidate):
                current = candidate
                changed = True
    return current


# --------------------------------------------------------------------------------------------
# The grammar
# --------------------------------------------------------------------------------------------

def _lit(values) -> str:
    return repr(values.tolist())


class Gen:
    """Draws one program, line by line, against a live PyTorch namespace."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.ns = {"torch": torch}
        self.lines: list[str] = []
        self.count = 0

    # -- helpers ------------------------------------------------------------------------------
    def pick(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def coin(self, p=0.5) -> bool:
        return bool(self.rng.random() < p)

    def fresh(self) -> str:
        name = f"a{self.count}"
        self.count += 1
        return name

    def tensors(self, pred=lambda t: True):
        return [k for k, v in self.ns.items()
                if k.startswith("a") and isinstance(v, torch.Tensor)
                and _attr(lambda v=v: pred(v)) is True]

    def scalar(self, kind=None):
        kind = kind or self.pick(["int", "int", "float", "float", "bool", "t0int", "t0float"])
        if kind == "int":
            return str(int(self.rng.integers(-4, 5)))
        if kind == "float":
            return self.pick(["0.5", "-1.5", "2.0", "0.25", "-0.75", "3.0"])
        if kind == "bool":
            return self.pick(["True", "False"])
        if kind == "t0int":
            return f"torch.tensor({int(self.rng.integers(-3, 4))})"
        return f"torch.tensor({self.pick(['1.5', '-0.5', '2.0'])}, " \
               f"dtype=torch.{self.pick(['float64', 'float16', 'float32'])})"

    def shape(self):
        ndim = self.pick([0, 1, 1, 2, 2, 2, 3])
        return tuple(int(self.rng.integers(1, 5)) for _ in range(ndim))

    def dim(self, t):
        n = max(t.dim(), 1)
        return int(self.rng.integers(-n, n))

    def values(self, shape, dtype):
        if dtype == "bool":
            return self.rng.random(shape) < 0.5
        if dtype in INTS:
            return self.rng.integers(-6, 7, size=shape)
        return self.rng.integers(-8, 9, size=shape) / 4.0

    # -- statements ---------------------------------------------------------------------------
    def leaf(self):
        dtype = self.pick(FLOATS + FLOATS + INTS + ("bool",))
        shape = self.shape()
        values = self.values(shape, dtype)
        grad = dtype in FLOATS and self.coin(0.7)
        extra = ", requires_grad=True" if grad else ""
        return f"{self.fresh()} = torch.tensor({_lit(values)}, dtype=torch.{dtype}{extra})"

    def view(self):
        names = self.tensors()
        if not names:
            return None
        x = self.pick(names)
        t = self.ns[x]
        n, s = t.dim(), tuple(t.shape)
        out = self.fresh()
        options = ["slice", "reshape", "expand", "unbind", "split", "unflatten"]
        if n >= 1:
            options += ["narrow", "view", "as_strided"]
        if n >= 2:
            options += ["transpose", "permute", "diagonal", "mT", "T"]
        kind = self.pick(options)
        if kind == "slice":
            parts = []
            for size in s[: self.pick([1, 2, n]) or 1]:
                r = self.rng.random()
                if r < 0.25:
                    parts.append(str(int(self.rng.integers(-size, size))))
                elif r < 0.35:
                    parts.append("None")
                else:
                    lo = int(self.rng.integers(-size, size + 1)) if self.coin(0.5) else ""
                    step = self.pick(["", "", ":2", ":3"])
                    parts.append(f"{lo}:{step}")
            if self.coin(0.3):
                parts.insert(int(self.rng.integers(len(parts) + 1)), "...")
            return f"{out} = {x}[{', '.join(parts) or '...'}]"
        if kind == "reshape":
            total = int(np.prod(s)) if s else 1
            shapes = ["-1", f"1, {total}", f"{total}, 1", "-1, 1"]
            if n >= 2:
                shapes.append(f"{s[0]}, -1")
            return f"{out} = {x}.reshape({self.pick(shapes)})"
        if kind == "view":
            total = int(np.prod(s))
            return f"{out} = {x}.view({self.pick(['-1', f'1, {total}', f'{total}, -1'])})"
        if kind == "expand":
            target = [self.pick([size, 3]) if size == 1 else size for size in s]
            if self.coin(0.5) or not target:
                target.insert(0, int(self.rng.integers(1, 4)))
            if self.coin(0.3) and target:
                target[-1] = -1
            return f"{out} = {x}.expand({', '.join(map(str, target))})"
        if kind == "unbind":
            d = self.dim(t)
            tail = f"[{int(self.rng.integers(-1, 1))}]" if self.coin(0.6) else ""
            return f"{out} = {x}.unbind({d}){tail}"
        if kind == "split":
            d = self.dim(t)
            tail = "[0]" if self.coin(0.5) else ""
            return f"{out} = {x}.split({int(self.rng.integers(1, 3))}, {d}){tail}"
        if kind == "unflatten":
            d = self.dim(t)
            size = s[d] if s else 1
            sizes = self.pick([f"(1, {size})", f"({size}, 1)", "(-1, 1)"])
            if size % 2 == 0:
                sizes = f"(2, {size // 2})"
            return f"{out} = {x}.unflatten({d}, {sizes})"
        if kind == "narrow":
            d = self.dim(t)
            size = s[d]
            start = int(self.rng.integers(0, size))
            length = int(self.rng.integers(0, size - start + 1))
            return f"{out} = {x}.narrow({d}, {start}, {length})"
        if kind == "as_strided":
            total = int(np.prod(s))
            rows = int(self.rng.integers(1, 3))
            cols = int(self.rng.integers(1, 3))
            stride = self.pick([(cols, 1), (1, rows), (0, 1), (cols, 0)])
            if (rows - 1) * stride[0] + (cols - 1) * stride[1] >= total:
                stride = (0, 0)
            return f"{out} = {x}.as_strided(({rows}, {cols}), {stride})"
        if kind == "transpose":
            return f"{out} = {x}.transpose({self.dim(t)}, {self.dim(t)})"
        if kind == "permute":
            perm = [int(p) for p in self.rng.permutation(n)]
            if self.coin(0.3):
                perm = [p - n for p in perm]
            return f"{out} = {x}.permute({', '.join(map(str, perm))})"
        if kind == "diagonal":
            return f"{out} = {x}.diagonal({int(self.rng.integers(-1, 2))}, {self.dim(t)}, " \
                   f"{self.dim(t)})"
        if kind == "mT":
            return f"{out} = {x}.mT"
        return f"{out} = {x}.T" if n == 2 else f"{out} = {x}.mT"

    def inplace(self):
        # Not on a tensor whose elements overlap (expand, as_strided with a 0 stride): PyTorch
        # refuses most such writes, and those it takes depend on its loop order.
        names = self.tensors(lambda u: all(st > 0 or n <= 1 for st, n in zip(u.stride(),
                                                                              u.shape)))
        if not names:
            return None
        x = self.pick(names)
        t = self.ns[x]
        s = tuple(t.shape)
        isfloat = t.is_floating_point()
        v = self.scalar("float" if isfloat else "int") if t.dtype != torch.bool else "True"
        same = [k for k in self.tensors(lambda u: tuple(u.shape) == s) if k != x]
        other = self.pick(same) if same else f"torch.full({s}, {v})"
        kinds = ["add_", "mul_", "clamp_", "copy_", "zero_", "fill_", "mask_set", "masked_fill_",
                 "ellipsis_set", "add_scalar_"]
        if t.dim() >= 1:
            kinds += ["index_fill_", "index_add_", "index_set", "scatter_", "none_set"]
        kind = self.pick(kinds)
        if kind == "add_":
            line = f"{x}.add_({other})"
        elif kind == "add_scalar_":
            line = f"{x}.add_({self.scalar()}, alpha={self.pick(['2', '1', '-1'])})" \
                if isfloat else f"{x}.add_({self.scalar('int')})"
        elif kind == "mul_":
            line = f"{x}.mul_({self.scalar()})"
        elif kind == "clamp_":
            line = f"{x}.clamp_(min={self.scalar('int')})" if self.coin() else \
                f"{x}.clamp_({self.scalar('float')}, {self.pick(['1', '2.5', 'None'])})"
        elif kind == "copy_":
            src = self.pick(self.tensors()) if self.coin(0.4) else other
            line = f"{x}.copy_({src})"
        elif kind == "zero_":
            line = f"{x}.zero_()"
        elif kind == "fill_":
            line = f"{x}.fill_({self.scalar()})"
        elif kind == "mask_set":
            line = f"{x}[{x} > 0] = {v}"
        elif kind == "masked_fill_":
            line = f"{x}.masked_fill_({x} < 0, {v})"
        elif kind == "ellipsis_set":
            line = f"{x}[..., {self.pick(['0', '-1', '1:'])}] = {v}" if t.dim() >= 1 \
                else f"{x}[...] = {v}"
        elif kind == "none_set":
            line = f"{x}[None, {self.pick(['0', '-1', ':1'])}] = {v}"
        elif kind == "index_fill_":
            d = self.dim(t)
            idx = sorted({int(i) for i in self.rng.integers(0, s[d], size=2)})
            line = f"{x}.index_fill_({d}, torch.tensor({idx}), {v})"
        elif kind == "index_add_":
            idx = [int(i) for i in self.rng.integers(0, s[0], size=s[0])]
            line = f"{x}.index_add_(0, torch.tensor({idx}), {other})"
        elif kind == "index_set":
            idx = sorted({int(i) for i in self.rng.integers(-s[0], s[0], size=2)}, key=abs)
            idx = list(dict.fromkeys(i % s[0] for i in idx))
            line = f"{x}[torch.tensor({idx})] = {v}"
        else:  # scatter_
            d = self.dim(t)
            idx = self.rng.integers(0, s[d], size=s)
            line = f"{x}.scatter_({d}, torch.tensor({_lit(idx)}), {v})"
        if self.coin(0.35):
            line = f"with torch.no_grad(): {line}"
        return line

    def param_update(self):
        names = self.tensors(lambda u: u.is_leaf and u.requires_grad)
        if not names:
            return None
        p = self.pick(names)
        return self.pick([
            f"with torch.no_grad(): {p} -= 0.5 * {p}.grad",
            f"with torch.no_grad(): {p}.sub_({p}.grad, alpha=0.25)",
            f"{p}.data.mul_(0.5)",
            f"{p}.grad.zero_()",
            f"{p}.grad = None",
            f"{p}.data = {p}.data * 2",
            f"with torch.no_grad(): {p}.grad.add_({p}, alpha=0.5)",
            f"with torch.no_grad(): {p}.add_({p}.grad, alpha=-0.25)",
        ])

    def autograd_attrs(self):
        names = self.tensors()
        if not names:
            return None
        x = self.pick(names)
        kind = self.pick(["detach", "detach_", "requires_grad_", "requires_grad_(False)",
                          "retain_grad", "clone", "grad", "is_leaf"])
        if kind in ("detach_", "requires_grad_", "retain_grad"):
            return f"{x}.{kind}()"
        if kind == "requires_grad_(False)":
            return f"{x}.{kind}"
        call = "()" if kind in ("detach", "clone") else ""
        return f"{self.fresh()} = {x}.{kind}{call}"

    def arith(self):
        names = self.tensors()
        if not names:
            return None
        x = self.pick(names)
        t = self.ns[x]
        ops = ["+", "-", "*", "/", "//", "%", "**", "&", "|", "^", "<<", ">>", "<", "==",
               "@"]
        op = self.pick(ops)
        if op in ("<<", ">>"):
            rhs = self.pick(["1", "2", "torch.tensor(1)", "torch.tensor([0, 1, 2])[-1]"])
        elif op == "@":
            mats = self.tensors(lambda u: u.dim() >= 1 and t.dim() >= 1 and u.shape[0] ==
                                t.shape[-1])
            rhs = self.pick(mats) if mats else "torch.ones(2)"
        else:
            partners = self.tensors(lambda u: _broadcasts(u.shape, t.shape))
            rhs = self.pick(partners) if partners and self.coin(0.5) else self.scalar()
        out = self.fresh()
        form = self.rng.random()
        if form < 0.15 and op not in ("@", "<", "=="):
            return f"{out} = {rhs} {op} {x}"
        if form < 0.3:
            fn = self.pick(["torch.remainder", "torch.fmod", "torch.floor_divide", "torch.div",
                            "torch.bitwise_and", "torch.maximum", "torch.where"])
            if fn == "torch.div":
                return f"{out} = torch.div({x}, {rhs}, rounding_mode=" \
                       f"{self.pick(['None', repr('trunc'), repr('floor')])})"
            if fn == "torch.where":
                return f"{out} = torch.where({x} > 0, {x}, {rhs})"
            return f"{out} = {fn}({x}, {rhs})"
        if form < 0.35:
            return f"{out} = {self.pick(['-', '~', 'abs'])}({x})"
        if form < 0.4:
            same = self.tensors(lambda u: u.shape == t.shape) or [x]
            pair = f"[{x}, {self.pick(same)}]"
            return self.pick([f"{out} = torch.cat({pair}, {self.dim(t)})" if t.dim() else
                              f"{out} = torch.stack({pair})",
                              f"{out} = torch.stack({pair}, {self.dim(t)})",
                              f"{out} = {x}.masked_fill({x} > 0, {self.scalar()})",
                              f"{out} = {x}.index_select({self.dim(t)}, torch.tensor([0, 0]))"
                              if t.dim() else f"{out} = {x}.t()"])
        if form < 0.5:
            fn = self.pick(["exp", "sigmoid", "relu", "tanh", "sqrt", "neg", "sign", "round",
                            "float", "long", "half", "double", "bool", "to(torch.int32)"])
            return f"{out} = {x}.{fn}" + ("" if fn.startswith("to(") else "()")
        return f"{out} = {x} {op} {rhs}"

    def reduce(self):
        names = self.tensors()
        if not names:
            return None
        x = self.pick(names)
        t = self.ns[x]
        fn = self.pick(["sum", "mean", "prod", "amax", "amin", "max", "min", "argmax", "std",
                        "var", "logsumexp", "cumsum", "all", "any", "count_nonzero", "norm",
                        "item"])
        out = self.fresh()
        if fn == "item":
            return f"{out} = {x}.sum().item()" if self.coin() else f"{out} = bool({x}.any())"
        if self.coin(0.25) and fn not in ("logsumexp", "cumsum", "max", "min"):
            return f"{out} = {x}.{fn}()"
        d = self.dim(t)
        if fn in ("sum", "mean", "amax", "count_nonzero") and t.dim() >= 2 and self.coin(0.3):
            d = (d, (d + 1) % t.dim() - t.dim())
        if fn == "cumsum":
            return f"{out} = {x}.cumsum({d})"
        if fn in ("count_nonzero",):
            return f"{out} = {x}.count_nonzero({d})"
        keep = self.pick(["", ", keepdim=True", ", keepdim=False"])
        if fn in ("max", "min"):
            return f"{out} = {x}.{fn}({d}{keep}).values"
        if fn == "norm":
            return f"{out} = {x}.norm(dim={d}{keep})"
        return f"{out} = {x}.{fn}({d}{keep})"

    def backward(self):
        names = self.tensors(lambda u: u.requires_grad and u.is_floating_point())
        if not names:
            return None
        y = self.pick(names)
        retain = self.pick(["", "retain_graph=True"])
        r = self.rng.random()
        if r < 0.4:
            return f"{y}.sum().backward({retain})"
        if r < 0.55:
            return f"({y} * {y}).mean().backward({retain})"
        if r < 0.7:
            return f"{y}.backward(torch.ones_like({y}){', ' + retain if retain else ''})"
        leaves = self.tensors(lambda u: u.requires_grad)
        chosen = sorted({self.pick(leaves) for _ in range(2)})
        kw = [self.pick(["allow_unused=True", "allow_unused=False"])]
        if self.coin(0.5):
            kw.append("retain_graph=True")
        if self.coin(0.3):
            kw.append("create_graph=True")
        return f"{self.fresh()} = torch.autograd.grad({y}.sum(), [{', '.join(chosen)}], " \
               f"{', '.join(kw)})"

    def hook(self):
        # Not on a view: PyTorch 2.13 crashes (SIGSEGV) in register_hook on a view of a
        # reshaped 0-d leaf written through a detached alias (`v = a.reshape(-1)[0::2];
        # a.reshape(-1).detach().fill_(0); v.register_hook(f)`).
        names = self.tensors(lambda u: u.requires_grad and u._base is None)
        if not names:
            return None
        x = self.pick(names)
        body = self.pick(["g * 2", "g + 1", "None", "g.clamp(min=0)", "-g"])
        if self.coin(0.2):
            return f"{self.fresh()} = {x}.register_hook(lambda g: {body}); " \
                   f"a{self.count - 1}.remove()"
        return f"{self.fresh()} = {x}.register_hook(lambda g: {body})"

    def makers(self):
        """The statement makers and their weights (subclasses add families)."""
        return [(self.leaf, 3), (self.view, 5), (self.inplace, 5), (self.param_update, 2),
                (self.autograd_attrs, 2), (self.arith, 5), (self.reduce, 3),
                (self.backward, 3), (self.hook, 1)]

    def build(self, length: int):
        makers = self.makers()
        weights = np.array([w for _, w in makers], dtype=float)
        weights /= weights.sum()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(2):
                self._add(self.leaf())
            tries = 0
            while len(self.lines) < length and tries < 20 * length:
                tries += 1
                maker = makers[int(self.rng.choice(len(makers), p=weights))][0]
                saved = self.count
                try:
                    line = maker()
                except (ValueError, RuntimeError):  # an empty dimension, a stale view
                    line = None
                if line is None or not self._add(line):
                    self.count = saved
        return self.lines

    def _add(self, line: str) -> bool:
        """Keep ``line`` if PyTorch runs it, or (one time in four) if PyTorch raises."""
        try:
            exec(line, self.ns)
        except Exception:  # noqa: BLE001 - a line that raises is kept now and then
            if not self.coin(0.25):
                return False
        self.lines.append(line)
        return True


def _broadcasts(a, b) -> bool:
    for x, y in zip(reversed(tuple(a)), reversed(tuple(b))):
        if x != y and x != 1 and y != 1:
            return False
    return True


def program(seed: int, index: int, gen=None) -> list[str]:
    rng = np.random.default_rng([seed, index])
    length = int(rng.integers(5, 26))
    return (gen or Gen)(int(rng.integers(2**31))).build(length)


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------

def run(seed: int, count: int, known=None, gen=None):
    """Run ``count`` programs (drawn by ``gen``, a ``Gen`` class); return [(index, minimised
    lines, failure)] and the programs whose failure is covered by ``known`` (a predicate on
    the minimised lines and failure)."""
    failures, covered = [], []
    for i in range(count):
        lines = program(seed, i, gen)
        failure = compare(lines)
        if failure is None:
            continue
        small = minimise(lines, failure)
        failure = compare(small) or failure
        if known is not None and known(small, failure):
            covered.append((i, small, failure))
        else:
            failures.append((i, small, failure))
    return failures, covered


def report(failures) -> str:
    """``run``'s failures as text: each program's failure and its minimised lines."""
    return "\n".join(f"program {i}: {kind} at line {line}: {text}\n  " + "\n  ".join(small)
                     for i, small, (line, kind, text) in failures)


def main(argv=None, gen=None, known=known):
    parser = argparse.ArgumentParser()
    parser.add_argument("--programs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", type=int, default=-1, help="print program N and exit")
    args = parser.parse_args(argv)
    if args.show >= 0:
        print("\n".join(program(args.seed, args.show, gen)))
        return 0
    start = time.process_time()
    failures, covered = run(args.seed, args.programs, known, gen)
    for i, small, (line, kind, text) in failures:
        print(f"--- program {i}: {kind} at line {line}: {text}")
        print("\n".join(small))
    print(f"{args.programs} programs, {len(failures)} failing, {len(covered)} reviewed (KNOWN), "
          f"{time.process_time() - start:.1f} s CPU")
    return 1 if failures else 0


class Family:
    """A later session's family of programs as one object: its ``Gen`` subclass, its
    ``known`` predicate (``s17_SL_known.chain_known`` / ``own_first``) and the snapshot
    context its lines run in (a context-manager factory such as ``s23_SL8_families.wide``;
    the earlier families' predicates rerun lines, so ``known`` runs inside it too). A family
    module binds ``known, compare, program, run = FAMILY.known, ...`` and ends with
    ``sys.exit(FAMILY.main())``."""

    def __init__(self, gen, known, context=contextlib.nullcontext):
        self.gen, self._known, self.context = gen, known, context

    def known(self, lines, failure):
        """The reason a (minimised) failure is a reviewed difference, or None."""
        with self.context():
            return self._known(lines, failure)

    def compare(self, lines):
        with self.context():
            return compare(lines)

    def program(self, seed: int, index: int) -> list[str]:
        with self.context():
            return program(seed, index, self.gen)

    def run(self, seed: int, count: int):
        with self.context():
            return run(seed, count, self.known, self.gen)

    def main(self, argv=None):
        with self.context():
            return main(argv, self.gen, self.known)


if __name__ == "__main__":
    sys.exit(main())
