"""Session 28's memory-layout and storage family for the program-level differential fuzzer
(``s17_SL_progfuzz.py``). Session 17's snapshot compares strides only on dimensions longer
than one and ``is_contiguous()``; this family records the whole layout of a tensor in a
variable after each line that makes or changes one (``META``: shape, every stride, size-1
dimensions' included, ``storage_offset()``, ``is_contiguous()`` and, for 4-d / 5-d tensors,
``is_contiguous(memory_format=channels_last / channels_last_3d)``), so each is compared as
data. What it draws, over ``arange`` leaves of 1 to 5 dimensions (float32 / float64 / int64 /
int32 / int16 / float16 / uint8, some requiring grad):

- views: slices with steps, ints, None and ellipsis; transpose / permute / movedim / t / mT,
  expand, unfold, diagonal (offsets, dims), as_strided with a storage offset, narrow, select,
  unsqueeze, squeeze of size-1 dimensions (one, several, all), view / reshape / flatten /
  unflatten (view of a non-viewable layout: the error), ``view(dtype)`` to another dtype of
  the same or another width (its shape and strides);
- results of elementwise ops, reductions (keepdim), cumsum / softmax, matmul, casts and
  ``clone`` on non-contiguous inputs (PyTorch keeps the input's dense layout);
- ``contiguous`` / ``clone`` / ``empty_like`` / ``zeros_like`` / ``ones_like`` / ``.to`` with
  ``memory_format`` (channels_last on a non-4-d tensor: the error);
- relations between views as data: ``data_ptr()`` equality, ``untyped_storage().data_ptr()``
  equality, ``is_set_to``, ``untyped_storage().nbytes()``, ``element_size()``, ``nbytes``,
  ``itemsize``;
- ``set_`` (a tensor, a storage with offset / size / stride), ``resize_`` (within the storage,
  so no uninitialised element is read), ``resize_as_``: the errors on tensors requiring grad
  and what is shared afterwards;
- writes through one view seen by the others (session 17's snapshot reads every variable after
  each line), in-place ops on overlapping memory (an expanded / unfolded / 0-stride output, an
  input that partly overlaps the output), ``copy_`` between overlapping views.

The earlier families' statements stay in at a low weight. Run as a script::

    .venv/bin/python tests/parity/s28_SL18_layout.py [--programs N] [--seed S] [--show I]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as base  # noqa: E402
import s27_SL14_operators as sl14  # noqa: E402
import s27_SL15_autograd as sl15  # noqa: E402
from s17_SL_known import own_first  # noqa: E402

torch = base.torch
dg = base.dg

# A tensor's whole layout, as data (lists of ints and bools).
META = ("(lambda t: [list(t.shape), list(t.stride()), t.storage_offset(), t.is_contiguous()]"
        " + ([t.is_contiguous(memory_format=torch.channels_last)] if t.dim() == 4 else [])"
        " + ([t.is_contiguous(memory_format=torch.channels_last_3d)] if t.dim() == 5 else []))")
# Storage relations between two tensors, as data.
REL = ("(lambda x, y: [x.data_ptr() == y.data_ptr(), x.untyped_storage().data_ptr() == "
       "y.untyped_storage().data_ptr(), x.is_set_to(y), x.untyped_storage().nbytes(), "
       "y.untyped_storage().nbytes(), x.element_size(), x.nbytes, x.itemsize])")

SHAPES = ((6,), (2, 3), (3, 4), (4, 4), (2, 3, 4), (2, 1, 3), (3, 1), (1, 4), (2, 3, 2, 2),
          (1, 2, 2, 3), (2, 1, 3, 2), (1, 2, 1, 2, 2), (2, 2, 2, 1, 2))
DTYPES = ("float32", "float32", "float64", "int64", "int32", "int16", "float16", "uint8")
WIDTH = {"float32": 4, "float64": 8, "int64": 8, "int32": 4, "int16": 2, "float16": 2,
         "uint8": 1, "bool": 1}
FORMATS = ("torch.contiguous_format", "torch.preserve_format", "torch.channels_last",
           "torch.channels_last_3d")


def _exact(t) -> bool:
    """Whether ``t``'s values are exact on both sides (integers, or floats on a 1/256 grid):
    its bytes read as another dtype (``view(dtype)``, ``set_`` of its storage) then show no
    last-bit difference of a float function's rounding."""
    if not t.is_floating_point():
        return True
    values = t.detach().double()
    return bool(((values * 256).round() == values * 256).all() and values.abs().max() < 1e4) \
        if values.numel() else True


class Gen18(sl15.Gen15):
    """The earlier grammars (at a low weight) plus the layout families above."""

    def makers(self):
        old = [(maker, weight * 0.01) for maker, weight in super().makers()]
        return old + [(self.leaf18, 5), (self.view18, 14), (self.meta18, 3), (self.rel18, 4),
                      (self.op18, 9), (self.format18, 7), (self.storage18, 6),
                      (self.overlap18, 6), (self.write18, 6)]

    # -- helpers --------------------------------------------------------------------------------
    def live(self, pred=lambda t: True):
        """Tensor variables (non-empty) that ``pred`` accepts."""
        return self.tensors(lambda u: u.numel() > 0 and pred(u))

    def record(self, x):
        return f"{self.fresh()} = {META}({x})"

    # -- leaves ---------------------------------------------------------------------------------
    def leaf18(self):
        shape = self.pick(SHAPES)
        dt = self.pick(DTYPES)
        n = int(np.prod(shape))
        name = self.fresh()
        src = f"torch.arange({n}, dtype=torch.{dt})"
        if dt in ("float32", "float64") and self.coin(0.5):
            src = f"(torch.arange({n}, dtype=torch.{dt}) * 0.5 - {n // 3})"
        line = f"{name} = {src}.reshape{shape}"
        if self.coin(0.3):
            line += ".clone()"
        if dt in ("float32", "float64") and self.coin(0.3):
            line += ".requires_grad_()"
        return [line, self.record(name)]

    # -- views ----------------------------------------------------------------------------------
    def _slice(self, s):
        parts = []
        for size in s[: self.pick([1, 2, len(s)]) or 1]:
            r = self.rng.random()
            if r < 0.2:
                parts.append(str(int(self.rng.integers(-size, size))))
            elif r < 0.3:
                parts.append("None")
            else:
                lo = str(int(self.rng.integers(0, size))) if self.coin(0.4) else ""
                hi = str(int(self.rng.integers(1, size + 1))) if self.coin(0.3) else ""
                step = self.pick(["", ":2", ":3", ":1", ":-1"] if self.coin(0.05) else
                                 ["", ":2", ":3", ":1"])
                parts.append(f"{lo}:{hi}{step}")
        if self.coin(0.3):
            parts.insert(int(self.rng.integers(len(parts) + 1)), "...")
        if self.coin(0.15):
            parts.append("None")
        return ", ".join(parts) or "..."

    def _as_strided(self, t):
        total = t.untyped_storage().nbytes() // t.element_size()
        ndim = self.pick([1, 2, 2, 3])
        size = [int(self.rng.integers(1, 4)) for _ in range(ndim)]
        stride = [int(self.rng.integers(0, 4)) for _ in range(ndim)]
        reach = sum((a - 1) * b for a, b in zip(size, stride))
        room = total - 1 - reach
        if room < 0:
            stride = [0] * ndim
            room = total - 1
        offset = int(self.rng.integers(0, room + 1)) if room > 0 and self.coin(0.6) else 0
        if self.coin(0.1):
            offset = total  # (past the storage: the error)
        tail = f", {offset}" if offset or self.coin(0.3) else ""
        return f"as_strided({tuple(size)}, {tuple(stride)}{tail})"

    def view_expr(self, x):
        t = self.ns[x]
        n, s = t.dim(), tuple(t.shape)
        options = ["slice", "unsqueeze", "squeeze", "expand", "as_strided", "view", "reshape",
                   "flatten", "view_dtype", "alias"]
        if n >= 1:
            options += ["narrow", "select", "unfold", "unflatten", "movedim"]
        if n >= 2:
            options += ["transpose", "permute", "diagonal", "mT", "t"]
        kind = self.pick(options)
        d = self.dim(t)
        if kind == "slice":
            return f"{x}[{self._slice(s)}]"
        if kind == "unsqueeze":
            return f"{x}.unsqueeze({int(self.rng.integers(-n - 1, n + 1))})"
        if kind == "squeeze":
            ones = [i for i, k in enumerate(s) if k == 1]
            form = self.rng.random()
            if form < 0.3 or not ones:
                return f"{x}.squeeze()" if form < 0.2 or n == 0 else f"{x}.squeeze({d})"
            if form < 0.6 or len(ones) < 2:
                return f"{x}.squeeze({self.pick(ones) - self.pick([0, n])})"
            return f"{x}.squeeze({tuple(ones)})"
        if kind == "expand":
            target = [self.pick([k, 3]) if k == 1 else k for k in s]
            if self.coin(0.5) or not target:
                target.insert(0, int(self.rng.integers(1, 3)))
            if self.coin(0.3) and target:
                target[-1] = -1
            return f"{x}.expand({', '.join(map(str, target))})"
        if kind == "as_strided":
            return f"{x}.{self._as_strided(t)}"
        if kind in ("view", "reshape"):
            total = t.numel()
            shapes = ["-1", f"1, {total}", f"{total}, 1", f"-1, 1, {s[-1] if s else 1}"]
            if n >= 2:
                shapes.append(f"{s[0]}, -1")
                shapes.append(f"-1, {s[-1]}")
            return f"{x}.{kind}({self.pick(shapes)})"
        if kind == "flatten":
            return f"{x}.flatten()" if n < 2 or self.coin(0.3) else \
                f"{x}.flatten({self.pick([0, 1, -2])})"
        if kind == "view_dtype" and not _exact(t):
            kind = "alias"
        if kind == "view_dtype":
            target = self.pick(list(WIDTH))
            if self.coin(0.7):  # (mostly the same width: a different one needs the last dim)
                same = [k for k, w in WIDTH.items() if w == t.element_size()]
                target = self.pick(same)
            return f"{x}.view(torch.{target})"
        if kind == "alias":
            return self.pick([f"{x}.view_as({x})", f"{x}.detach()", f"{x}[...]",
                              f"{x}.view({x}.shape)", f"{x}.reshape({x}.shape)"])
        if kind == "narrow":
            start = int(self.rng.integers(0, s[d]))
            return f"{x}.narrow({d}, {start}, {int(self.rng.integers(0, s[d] - start + 1))})"
        if kind == "select":
            return f"{x}.select({d}, {int(self.rng.integers(-s[d], s[d]))})"
        if kind == "unfold":
            size = int(self.rng.integers(1, s[d] + 1))
            return f"{x}.unfold({d}, {size}, {int(self.rng.integers(1, 3))})"
        if kind == "unflatten":
            k = s[d]
            sizes = f"(2, {k // 2})" if k % 2 == 0 else self.pick([f"(1, {k})", f"({k}, 1)",
                                                                  "(-1, 1)"])
            return f"{x}.unflatten({d}, {sizes})"
        if kind == "movedim":
            return f"{x}.movedim({d}, {self.dim(t)})"
        if kind == "transpose":
            return f"{x}.transpose({d}, {self.dim(t)})"
        if kind == "permute":
            perm = [int(p) for p in self.rng.permutation(n)]
            return f"{x}.permute({', '.join(map(str, perm))})"
        if kind == "diagonal":
            return f"{x}.diagonal({int(self.rng.integers(-1, 2))}, {d}, {self.dim(t)})"
        if kind == "mT":
            return f"{x}.mT"
        return f"{x}.t()" if n == 2 else f"{x}.mT"

    def view18(self):
        names = self.live()
        if not names:
            return None
        x = self.pick(names)
        expr = self.view_expr(x)
        if self.coin(0.3):  # a view of a view
            out = self.fresh()
            try:
                exec(f"{out} = {expr}", self.ns)
            except Exception:  # noqa: BLE001
                self.count -= 1
            else:
                if isinstance(self.ns[out], torch.Tensor) and self.ns[out].numel():
                    expr = self.view_expr(out).replace(out, f"({expr})")
                del self.ns[out]
                self.count -= 1
        name = self.fresh()
        return [f"{name} = {expr}", self.record(name)]

    def meta18(self):
        names = self.tensors()
        return self.record(self.pick(names)) if names else None

    def rel18(self):
        names = self.live()
        if not names:
            return None
        x, y = self.pick(names), self.pick(names)
        return f"{self.fresh()} = {REL}({x}, {y})"

    # -- results' layouts -----------------------------------------------------------------------
    def op18(self):
        names = self.live()
        if not names:
            return None
        x = self.pick(names)
        t = self.ns[x]
        isfloat = t.is_floating_point()
        d = self.dim(t)
        same = self.tensors(lambda u: tuple(u.shape) == tuple(t.shape) and u.dtype == t.dtype)
        y = self.pick(same)
        options = [f"{x} * 2", f"{x} + {y}", f"-{x}", f"{x}.abs()", f"{x}.clone()",
                   f"{x}.to(torch.float64)", f"{x}.float()", f"{x} > 1",
                   f"torch.where({x} > 1, {x}, {y})", f"{x}.sum({d})",
                   f"{x}.sum({d}, keepdim=True)", f"{x}.amax({d})", f"{x}.cumsum({d})",
                   f"{x}.contiguous()", f"{x}.flip({d})", f"{x}.sort({d}).values",
                   f"{x}[{x} > 0]" if self.coin(0.2) else f"{x} * {x}",
                   f"torch.cat([{x}, {y}], {d})", f"torch.stack([{x}, {y}], {d})",
                   f"{x}.roll(1, {d})", f"{x}.repeat({', '.join(['1'] * t.dim()) or '1'})",
                   f"{x} + {x}.sum({d}, keepdim=True)", f"{x}.detach().numpy().copy()"
                   if False else f"{x}.masked_fill({x} > 2, 0)"]
        if isfloat:
            options += [f"{x}.exp()", f"{x}.sin()", f"{x}.relu()", f"{x}.mean({d})",
                        f"{x}.softmax({d})", f"torch.nn.functional.relu({x})",
                        f"{x}.sigmoid()", f"{x}.pow(2)", f"{x}.half()",
                        f"torch.nn.functional.dropout({x}, 0.0)"]
        if t.dim() >= 2 and isfloat and t.dtype != torch.float16:
            options += [f"{x} @ {x}.mT", f"{x}.mT @ {x}", f"torch.matmul({x}, {x}.mT)"]
        if t.dim() == 1 and isfloat:
            options += [f"torch.outer({x}, {x})"]
        out = self.fresh()
        return [f"{out} = {self.pick(options)}", self.record(out)]

    def format18(self):
        names = self.live()
        if not names:
            return None
        x = self.pick(names)
        fmt = self.pick(FORMATS)
        t = self.ns[x]
        if fmt == "torch.channels_last" and t.dim() != 4 and self.coin(0.8):
            fmt = "torch.preserve_format"
        if fmt == "torch.channels_last_3d" and t.dim() != 5 and self.coin(0.8):
            fmt = "torch.contiguous_format"
        kind = self.pick(["contiguous", "clone", "empty_like", "zeros_like", "ones_like",
                          "full_like", "to", "to_dtype", "empty_like_meta", "is_contiguous"])
        out = self.fresh()
        if kind == "is_contiguous":
            return f"{out} = {x}.is_contiguous(memory_format={fmt})"
        if kind == "contiguous":
            if fmt == "torch.preserve_format" and self.coin(0.5):
                fmt = "torch.contiguous_format"
            expr = f"{x}.contiguous(memory_format={fmt})"
        elif kind == "clone":
            expr = f"{x}.clone(memory_format={fmt})"
        elif kind == "empty_like_meta":
            return f"{out} = {META}(torch.empty_like({x}, memory_format={fmt}))"
        elif kind == "empty_like":
            expr = f"torch.empty_like({x}, memory_format={fmt}).fill_(3)"
        elif kind in ("zeros_like", "ones_like"):
            expr = f"torch.{kind}({x}, memory_format={fmt})"
        elif kind == "full_like":
            expr = f"torch.full_like({x}, 2, memory_format={fmt})"
        elif kind == "to":
            expr = f"{x}.to(memory_format={fmt})"
        else:
            expr = f"{x}.to(torch.{self.pick(['float64', 'float32', 'int64'])}, " \
                   f"memory_format={fmt})"
        return [f"{out} = {expr}", self.record(out),
                f"{self.fresh()} = {REL}({out}, {x})[:3]"]

    # -- storage --------------------------------------------------------------------------------
    def storage18(self):
        names = self.tensors()
        if not names:
            return None
        x = self.pick(names)
        t = self.ns[x]
        kind = self.pick(["set_t", "set_s", "set_empty", "resize_", "resize_as_", "resize_0"])
        if kind == "set_t":
            y = self.pick(names)
            line = f"{x}.set_({y})"
        elif kind == "set_s":
            y = self.pick(names)
            u = self.ns[y]
            total = u.untyped_storage().nbytes() // max(u.element_size(), 1)
            rows = int(self.rng.integers(1, 3))
            cols = int(self.rng.integers(1, 3))
            need = rows * cols
            offset = int(self.rng.integers(0, max(total - need, 0) + 1))
            if total < need:
                rows = cols = 1
            line = f"{x}.set_({y}.untyped_storage(), {offset}, ({rows}, {cols}), ({cols}, 1))"
            if u.dtype != t.dtype:  # (bytes read as another dtype: exact values only)
                if not _exact(u):
                    return None
                line = f"{x}.set_({y}.untyped_storage(), 0, (1,), (1,))"
        elif kind == "set_empty":
            line = f"{x}.set_()"
        elif kind == "resize_0":
            line = f"{x}.resize_(0)"
        elif kind == "resize_":
            room = t.untyped_storage().nbytes() // max(t.element_size(), 1) - t.storage_offset()
            if room <= 0:
                return None
            k = int(self.rng.integers(1, room + 1))
            shape = self.pick([f"({k},)", f"(1, {k})", f"({k}, 1)"])
            if k % 2 == 0 and self.coin(0.4):
                shape = f"(2, {k // 2})"
            line = f"{x}.resize_{shape}" if self.coin(0.5) else f"{x}.resize_({shape})"
        else:
            room = t.untyped_storage().nbytes() // max(t.element_size(), 1) - t.storage_offset()
            fits = self.tensors(lambda u: 0 < u.numel() <= room)
            if not fits:
                return None
            line = f"{x}.resize_as_({self.pick(fits)})"
        if self.coin(0.3):
            line = f"with torch.no_grad(): {line}"
        return [line, self.record(x)]

    # -- overlapping memory and writes ----------------------------------------------------------
    def overlap18(self):
        names = self.live()
        if not names:
            return None
        x = self.pick(names)
        t = self.ns[x]
        s = tuple(t.shape)
        n = t.dim()
        d = self.dim(t)
        v = "2" if not t.is_floating_point() else "0.5"
        options = [f"{x}.expand(2, *{x}.shape).add_({v})",
                   f"{x}.as_strided((2, 2), (0, 1)).mul_(2)",
                   f"{x}.as_strided((2, 2), (1, 1)).fill_({v})",
                   f"{x}.as_strided((3,), (0,)).zero_()",
                   f"{x}.add_({x})", f"{x}.copy_({x})", f"{x}.mul_({x}.detach())"]
        if n >= 1 and s[d] >= 2:
            k = s[d]
            options += [f"{x}.narrow({d}, 0, {k - 1}).copy_({x}.narrow({d}, 1, {k - 1}))",
                        f"{x}.narrow({d}, 1, {k - 1}).add_({x}.narrow({d}, 0, {k - 1}))",
                        f"{x}.unfold({d}, 2, 1).add_({v})",
                        f"{x}.narrow({d}, 0, {k - 1}).copy_({x}.narrow({d}, 1, {k - 1})"
                        f".clone())",
                        f"torch.add({x}.narrow({d}, 1, {k - 1}), 1, "
                        f"out={x}.narrow({d}, 0, {k - 1}))"]
        if n >= 2 and s[-1] == s[-2]:
            options += [f"{x}.copy_({x}.mT)", f"{x}.add_({x}.mT)", f"{x}.mT.copy_({x})",
                        f"{x}.diagonal(0, -2, -1).copy_({x}[..., 0])",
                        f"torch.mul({x}, 2, out={x}.mT)"]
        if n >= 1:
            options += [f"{x}[::2].copy_({x}[1::2][:{x}[::2].shape[0]])",
                        f"{x}.flip({d}).copy_({x})" if self.coin(0.3) else
                        f"{x}.copy_({x}.flip({d}))"]
        line = self.pick(options)
        if t.requires_grad and self.coin(0.6):
            line = f"with torch.no_grad(): {line}"
        return line

    def write18(self):
        names = self.live(lambda u: all(st > 0 or k <= 1 for st, k in zip(u.stride(), u.shape)))
        if not names:
            return None
        x = self.pick(names)
        t = self.ns[x]
        v = "7" if not t.is_floating_point() else "-1.5"
        if t.dtype == torch.uint8:
            v = "9"
        line = self.pick([f"{x}.fill_({v})", f"{x}.add_(1)", f"{x}.mul_(2)",
                          f"{x}[...] = {v}", f"{x}.zero_()",
                          f"{x}[0] = {v}" if t.dim() else f"{x}.fill_({v})",
                          f"{x}.copy_(torch.ones_like({x}))"])
        if t.requires_grad and self.coin(0.7):
            line = f"with torch.no_grad(): {line}"
        return line


# --------------------------------------------------------------------------------------------
# Reviewed differences this family reaches (on top of sessions 17 to 27's lists)
# --------------------------------------------------------------------------------------------

def _line(lines, failure):
    return lines[failure[0]] if failure[0] < len(lines) else ""


_PATH = re.compile(r"^(a\d+)\[(\d)\](?:\[(\d+)\])?: ")


def _torch_meta(lines, failure):
    """The META list PyTorch's run recorded in the variable the failure names (or None)."""
    found = _PATH.match(failure[2])
    if failure[1] != "silent" or not found:
        return None, None, None
    ns = {"torch": torch}
    with base.warnings.catch_warnings():
        base.warnings.simplefilter("ignore")
        for line in lines[:failure[0] + 1]:
            try:
                exec(line, ns)
            except Exception:  # noqa: BLE001 - as the compared run did
                pass
    meta = ns.get(found.group(1))
    if not (isinstance(meta, list) and len(meta) >= 4 and isinstance(meta[0], list)):
        return None, None, None
    return meta, int(found.group(2)), found.group(3)


def _size_one_stride(lines, failure):
    """The stride of a dimension of size 1 (recorded by META; session 17's snapshot skips
    them) after ``clone`` / ``*_like`` / ``to`` with preserve_format or contiguous_format of a
    non-dense input, ``roll``, ``squeeze`` of an as_strided view, ``expand`` of a 0-d tensor:
    PyTorch computes it from its kernels' dim order (TensorIterator's permutation, which
    ranks size-1 dims by rules of their own), deltagrad from NumPy's. The dimension has one
    element: no value, index or view differs, only ``stride()`` there."""
    meta, item, k = _torch_meta(lines, failure)
    return meta is not None and item == 1 and k is not None and meta[0][int(k)] == 1


def _empty_layout(lines, failure):
    """The strides and ``storage_offset()`` of a tensor with no elements (``narrow(d, i, 0)``,
    an empty diagonal or slice): PyTorch keeps the offset where the view would start, NumPy
    puts an empty view's data pointer at its base's start. Nothing can be read or written
    through it."""
    meta, item, _ = _torch_meta(lines, failure)
    return meta is not None and item in (1, 2) and 0 in meta[0]


def _overlapping_write(lines, failure):
    """An in-place op other than fill_ / zero_ on a view whose elements share memory without
    a 0 stride (``x.unfold(0, 2, 1).add_(1)``, ``as_strided((2, 2), (1, 1))``): PyTorch
    computes it (the values depend on its loop order: each shared element is read after some
    writes), deltagrad refuses with PyTorch's overlap error (RuntimeError)."""
    return (failure[1] == "we-raise" and "written-to tensor refers to a single" in failure[2]
            and not failure[2].startswith("deltagrad raises RuntimeError: fill_")
            and any(k in _line(lines, failure) for k in ("unfold(", "as_strided(")))


def _fill_overlap_in_graph(lines, failure):
    """fill_ / zero_ under grad mode on an overlapping view (expand / as_strided with a 0
    stride) of a tensor in a graph: PyTorch fills and records it; deltagrad's recorded write
    refuses (RuntimeError). Outside a graph, or under no_grad, both fill."""
    return (failure[1] == "we-raise" and "RuntimeError: fill_: unsupported operation" in
            failure[2])


def _set_grows_storage(lines, failure):
    """``set_(storage, offset, size, stride)`` reaching past the storage's end: PyTorch grows
    the storage in place (for every tensor sharing it); deltagrad raises RuntimeError."""
    return failure[1] == "we-raise" and "does not grow a storage" in failure[2]


def _view_after_set(lines, failure):
    """A view taken of a leaf requiring grad before ``set_`` pointed the leaf at other
    memory, written in place afterwards: PyTorch still refuses it (a view of a leaf);
    deltagrad's view no longer shares the leaf's memory and takes the write. And ``set_``
    itself on an ``as_strided`` view of such a leaf (deltagrad's as_strided is no view in
    its autograd sense: set_ does not see the leaf behind it)."""
    return (failure[1] == "permissive" and "a view of a leaf Variable" in failure[2]
            and any(".set_(" in line for line in lines[:failure[0] + 1]))


def _set_from_grad_source(lines, failure):
    """``b.set_(a)`` with ``a`` requiring grad: PyTorch marks ``b`` (and a base it views)
    requiring grad, with a grad_fn whose backward raises (set_ has no derivative); deltagrad
    leaves them detached (backward through ``b`` raises there too, with another message)."""
    return (failure[1] == "silent"
            and re.search(r"\.(requires_grad|is_leaf|grad_fn is None)", failure[2]) is not None
            and any(".set_(" in line for line in lines[:failure[0] + 1]))


KNOWN = [
    (_size_one_stride, "strides of size-1 dims after preserve-format copies, roll, squeeze"),
    (_empty_layout, "strides / storage_offset of tensors with no elements"),
    (_overlapping_write, "in-place ops on views with overlapping elements: PyTorch computes, "
                         "loop-order dependent; deltagrad raises"),
    (_fill_overlap_in_graph, "fill_ of an overlapping view in a graph: deltagrad raises"),
    (_set_grows_storage, "set_ past a storage's end: PyTorch grows it, deltagrad raises"),
    (_view_after_set, "a view of a leaf taken before set_: PyTorch refuses its writes"),
    (_set_from_grad_source, "set_ from a tensor requiring grad: PyTorch marks the result "
                            "requiring grad (a grad_fn that cannot backward)"),
]

# Failures on what this family draws, which the earlier families' broad entries must not cover.
_OURS = ("stride()", "storage_offset", "memory_format", "data_ptr", "set_(", "resize_",
         "as_strided", "unfold(", "view(torch.")


FAMILY = base.Family(Gen18, own_first(KNOWN, sl15.known, _OURS), sl14.wide)
known, compare, program, run = FAMILY.known, FAMILY.compare, FAMILY.program, FAMILY.run


if __name__ == "__main__":
    sys.exit(FAMILY.main())
