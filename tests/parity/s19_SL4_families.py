"""Session 19's families for the program-level differential fuzzer (``s17_SL_progfuzz.py``):
the same comparison after every line (values with signs of zeros and NaNs, dtypes, shapes,
gradients, exception classes), over a grammar that reaches what the earlier ones do not.

``Gen3`` keeps sessions 17's statements (views, in-place ops, backward) at a lower weight and
adds:

- indexing: getitem / setitem with ints, negative ints, slices with steps, None, Ellipsis,
  bool masks (0-d too), index tensors of int64 / int32 / uint8 (a mask), lists, several
  advanced indices apart (where the indexed dimensions go), setitem of broadcast values and of
  another dtype, on views (written through), index_put_ with accumulate and repeats;
- scatter / scatter_add / scatter_reduce (every reduce, include_self both ways), gather,
  index_add / index_copy / index_fill / index_select, masked_scatter / masked_select, take,
  take_along_dim, put_, with negative dims;
- sort / argsort (stable, descending, ties, NaN, -0.0), topk, kthvalue, median, nanmedian,
  mode, unique / unique_consecutive (inverse, counts, dim), searchsorted / bucketize;
- integer arithmetic on int8 / uint8 / int16 / int32 / int64: rounding division, floor_divide,
  remainder, fmod (by zero), bit operations and shifts past the width and negative, pow with
  negative exponents, abs / neg of the least value, sum / prod / cumsum / cumprod result dtypes
  (with ``dtype=``), mean (raises), argmax / argmin ties and NaN, all / any of uint8;
- the autograd API: autograd.grad (allow_unused, materialize_grads, grad_outputs),
  backward(inputs=...), hooks that return a new gradient, post-accumulate-grad hooks,
  retain_grad, requires_grad_ errors, in-place on a leaf, no_grad / enable_grad /
  set_grad_enabled nested and as decorators, inference_mode tensors.

Run as a script::

    .venv/bin/python tests/parity/s19_SL4_families.py [--programs N] [--seed S] [--show I]
"""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as base  # noqa: E402

torch = base.torch
_lit = base._lit
SMALL_INTS = ("int8", "uint8", "int16", "int32", "int64")
_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767),
          "int32": (-2**31, 2**31 - 1), "int64": (-2**63, 2**63 - 1)}


def _flit(values) -> str:
    """A float literal list in Python source, with NaN, infinities and -0.0 spelled out."""
    def one(v):
        if isinstance(v, list):
            return "[" + ", ".join(one(u) for u in v) + "]"
        if math.isnan(v):
            return "float('nan')"
        if math.isinf(v):
            return "float('inf')" if v > 0 else "-float('inf')"
        return repr(float(v))
    return one(np.asarray(values, dtype=float).tolist())


def _ties(t, d) -> bool:
    """Whether some line of ``t`` along ``d`` holds equal elements (NaNs, zeros of either
    sign count as equal)."""
    a = t.detach().double().movedim(d, -1).reshape(-1, t.shape[d]).numpy()
    a = np.where(np.isnan(a), 1e300, a)  # (a value no test holds)
    a = np.sort(a + 0.0, axis=-1)
    return bool((np.diff(a, axis=-1) == 0).any())


class Gen3(base.Gen):
    """Session 17's grammar plus the families above."""

    def makers(self):
        old = [(maker, weight * 0.3) for maker, weight in super().makers()]
        return old + [(self.grad_leaf, 2), (self.getitem, 5), (self.setitem, 4),
                      (self.scatter, 5), (self.sorting, 5), (self.int_arith, 5),
                      (self.autograd_api, 4), (self.backward, 2)]

    # -- helpers ------------------------------------------------------------------------------
    def floats(self, pred=lambda t: True):
        return self.tensors(lambda u: u.dtype in (torch.float32, torch.float64) and pred(u))

    def grad_leaf(self):
        shape = tuple(int(self.rng.integers(1, 5)) for _ in range(self.pick([1, 2, 2, 3])))
        dtype = self.pick(["float32", "float32", "float64"])
        grad = ", requires_grad=True" if self.coin(0.7) else ""
        return f"{self.fresh()} = torch.tensor({_lit(self.values(shape, dtype))}, " \
               f"dtype=torch.{dtype}{grad})"

    def index_tensor(self, size, shape):
        dtype = self.pick(["", "", ", dtype=torch.int32", ", dtype=torch.int64"])
        idx = self.rng.integers(-size, size, size=shape)
        return f"torch.tensor({_lit(idx)}{dtype})"

    def index_expr(self, s):
        """An index expression over a tensor of shape ``s`` (may be invalid: PyTorch's
        refusal is then kept one time in four)."""
        parts, dim = [], 0
        adv_shape = self.pick([(2,), (3,), (1,), (2, 2), ()])
        ellipsis = False
        while dim < len(s) and len(parts) < 4:
            size = s[dim]
            r = self.rng.random()
            if r < 0.15:
                parts.append(str(int(self.rng.integers(-size, size))))
            elif r < 0.35:
                lo = self.pick(["", str(int(self.rng.integers(-size, size + 1)))])
                hi = self.pick(["", "", str(int(self.rng.integers(-size, size + 1)))])
                step = self.pick(["", ":2", ":3", ":1"])
                parts.append(f"{lo}:{hi}{step}")
            elif r < 0.42:
                parts.append("None")
                continue
            elif r < 0.47 and not ellipsis:
                parts.append("...")
                ellipsis = True
                dim = max(dim, len(s) - int(self.rng.integers(0, 2)))
                continue
            elif r < 0.7:
                parts.append(self.index_tensor(size, adv_shape))
            elif r < 0.78:
                parts.append(_lit(self.rng.integers(-size, size, size=adv_shape or 1)))
            elif r < 0.86:
                mask = self.rng.random(size) < 0.5
                parts.append(f"torch.tensor({_lit(mask.astype(np.uint8))}, dtype=torch.uint8)"
                             if self.coin(0.3) else f"torch.tensor({_lit(mask)})")
            elif r < 0.92 and dim + 1 < len(s):
                mask = self.rng.random(s[dim:dim + 2]) < 0.5
                parts.append(f"torch.tensor({_lit(mask)})")
                dim += 1
            else:
                parts.append(self.pick(["torch.tensor(True)", "False", "True",
                                        "torch.tensor(False)"]))
                continue
            dim += 1
        if not parts or self.coin(0.1):
            # (not a second Ellipsis: PyTorch takes `x[..., 0, ...]`, reading the later ones
            # as empty, where NumPy and deltagrad refuse)
            parts.append(self.pick(["None", "torch.tensor(True)"] + ([] if ellipsis else
                                                                      ["..."])))
        return ", ".join(parts)

    # -- indexing -----------------------------------------------------------------------------
    def getitem(self):
        names = self.tensors(lambda u: u.dim() >= 1)
        if not names:
            return None
        x = self.pick(names)
        return f"{self.fresh()} = {x}[{self.index_expr(tuple(self.ns[x].shape))}]"

    def _value_for(self, x, idx):
        """A value for ``x[idx] = value``: a scalar, a tensor of the indexed shape or one that
        broadcasts to it, of x's dtype or another, requiring grad or not."""
        t = self.ns[x]
        try:
            got = tuple(eval(f"{x}[{idx}]", self.ns).shape)
        except Exception:  # noqa: BLE001 - an invalid index: a scalar then
            got = None
        if got is None or self.coin(0.3):
            return self.scalar(self.pick(["int", "float", "t0float", "bool"]))
        shape = got[int(self.rng.integers(0, len(got) + 1)):] if got else ()
        if shape and self.coin(0.3):
            shape = (1,) + shape[1:]
        dtype = self.pick([str(t.dtype).rsplit(".", 1)[-1], "float64", "int64", "float32"])
        vals = self.values(shape, dtype if dtype != "bool" else "bool")
        grad = ", requires_grad=True" if dtype.startswith("float") and self.coin(0.4) else ""
        return f"torch.tensor({_lit(vals)}, dtype=torch.{dtype}{grad})"

    def setitem(self):
        names = self.tensors(lambda u: u.dim() >= 1 and all(
            st > 0 or n <= 1 for st, n in zip(u.stride(), u.shape)))
        if not names:
            return None
        x = self.pick(names)
        t = self.ns[x]
        s = tuple(t.shape)
        r = self.rng.random()
        prefix = ""
        if t.is_leaf and t.requires_grad and self.coin(0.8):
            y = self.fresh()
            prefix = f"{y} = {x}.clone() * 1; "
            x = y
            self.ns[y] = t.clone() * 1
        if r < 0.65:
            idx = self.index_expr(s)
            line = f"{x}[{idx}] = {self._value_for(x, idx)}"
        else:
            k = self.pick([2, 3, 4])
            n = min(len(s), self.pick([1, 1, 2]))
            inds = ", ".join(self.index_tensor(s[d], (k,)) for d in range(n))
            accumulate = self.pick(["True", "True", "False"])
            if accumulate == "False":  # (repeated indices without accumulate: undefined)
                inds = ", ".join(f"torch.tensor({sorted(set(int(i) % s[d] for i in self.rng.integers(0, s[d], size=k)))})"  # noqa: E501
                                 for d in range(n))
            fn = self.pick(["index_put_", "index_put"])
            value = self._value_for(x, f"({inds},)") if self.coin() else self.scalar("t0float")
            line = f"{x}.{fn}(({inds},), {value}, accumulate={accumulate})"
            if fn == "index_put":
                line = f"{self.fresh()} = " + line
        if self.coin(0.2):
            line = f"with torch.no_grad(): {line}"
        if prefix:  # (the line itself binds it: a refused line must leave no name behind)
            del self.ns[x]
        return prefix + line

    # -- scatter / gather family -------------------------------------------------------------
    def scatter(self):
        names = self.tensors(lambda u: u.dim() >= 1 and u.dtype != torch.bool)
        if not names:
            return None
        x = self.pick(names)
        t = self.ns[x]
        s = tuple(t.shape)
        n = len(s)
        d = int(self.rng.integers(-n, n))
        out = self.fresh()
        ishape = tuple(int(self.rng.integers(1, k + 1)) for k in s)
        idx = f"torch.tensor({_lit(self.rng.integers(0, s[d], size=ishape))})"
        dt = str(t.dtype).rsplit(".", 1)[-1]
        src_vals = self.values(s, dt if dt in base.INTS or dt in base.FLOATS else "float32")
        grad = ", requires_grad=True" if t.is_floating_point() and self.coin(0.5) else ""
        src = f"torch.tensor({_lit(src_vals)}, dtype={t.dtype}{grad})"
        kind = self.pick(["scatter", "scatter_v", "scatter_add", "scatter_reduce",
                          "scatter_reduce", "gather", "index_add", "index_copy", "index_fill",
                          "index_select", "masked_scatter", "masked_select", "take",
                          "take_along_dim", "put", "scatter_reduce_arg"])
        if kind == "scatter":
            return f"{out} = {x}.scatter({d}, {idx}, {src})"
        if kind == "scatter_v":
            return f"{out} = torch.scatter({x}, {d}, {idx}, {self.scalar('float')})"
        if kind == "scatter_add":
            return f"{out} = {x}.scatter_add({d}, {idx}, {src})"
        if kind == "scatter_reduce_arg":
            return f"{out} = {x}.scatter({d}, {idx}, {src}, " \
                   f"reduce={self.pick(['add', 'multiply'])!r})"
        if kind == "scatter_reduce":
            red = self.pick(["sum", "prod", "mean", "amax", "amin"])
            inc = self.pick(["True", "False"])
            fn = f"{x}.scatter_reduce" if self.coin() else f"torch.scatter_reduce({x}, "
            if fn.endswith(", "):
                return f"{out} = {fn}{d}, {idx}, {src}, {red!r}, include_self={inc})"
            return f"{out} = {fn}({d}, {idx}, {src}, reduce={red!r}, include_self={inc})"
        if kind == "gather":
            return f"{out} = torch.gather({x}, {d}, {idx})" if self.coin() else \
                f"{out} = {x}.gather({d}, {idx}, sparse_grad=False)"
        k = int(self.rng.integers(1, 4))
        rows = [int(i) for i in self.rng.integers(-s[d], s[d], size=k)]
        if kind in ("index_add", "index_copy"):
            if kind == "index_copy":
                rows = sorted({r % s[d] for r in rows})
                k = len(rows)
            sshape = list(s)
            sshape[d] = k
            source = f"torch.tensor({_lit(self.values(tuple(sshape), dt if dt in base.INTS or dt in base.FLOATS else 'float32'))}, dtype={t.dtype}{grad})"  # noqa: E501
            if kind == "index_add":
                rows = [r % s[d] for r in rows]
                alpha = self.pick(["", ", alpha=2", ", alpha=-1"])
                return f"{out} = {x}.index_add({d}, torch.tensor({rows}), {source}{alpha})"
            return f"{out} = {x}.index_copy({d}, torch.tensor({rows}), {source})"
        if kind == "index_fill":
            rows = [r % s[d] for r in rows]
            return f"{out} = {x}.index_fill({d}, torch.tensor({rows}), {self.scalar()})"
        if kind == "index_select":
            rows = [r % s[d] for r in rows]
            return f"{out} = torch.index_select({x}, {d}, torch.tensor({rows}, " \
                   f"dtype=torch.{self.pick(['int64', 'int32'])}))"
        mask = f"torch.tensor({_lit(self.rng.random(s[int(self.rng.integers(0, n)):]) < 0.5)})"
        if kind == "masked_scatter":
            return f"{out} = {x}.masked_scatter({mask}, {src})"
        if kind == "masked_select":
            return f"{out} = torch.masked_select({x}, {mask})"
        total = int(np.prod(s))
        flat = self.rng.integers(-total, total, size=self.pick([(3,), (2, 2), ()]))
        if kind == "take":
            return f"{out} = torch.take({x}, torch.tensor({_lit(flat)}))"
        if kind == "take_along_dim":
            if self.coin(0.3):
                return f"{out} = torch.take_along_dim({x}, torch.tensor({_lit(np.abs(flat) % total)}))"  # noqa: E501
            return f"{out} = torch.take_along_dim({x}, {idx}, dim={d})"
        acc = self.pick(["True", "False"])
        if acc == "False":
            flat = np.unique(flat % total)
        vals = f"torch.tensor({_lit(self.values(flat.shape, dt if dt in base.INTS or dt in base.FLOATS else 'float32'))}, dtype={t.dtype})"  # noqa: E501
        return f"{out} = {x}.clone().put_(torch.tensor({_lit(flat)}), {vals}, accumulate={acc})"

    # -- sorting and selection ---------------------------------------------------------------
    def tie_leaf(self):
        shape = tuple(int(self.rng.integers(1, 5)) for _ in range(self.pick([1, 1, 2, 3])))
        vals = self.rng.integers(-2, 3, size=shape) / 2.0
        special = self.rng.random(shape)
        vals = np.where(special < 0.1, np.nan, vals)
        vals = np.where((special > 0.1) & (special < 0.2), -0.0, vals)
        vals = np.where((special > 0.95), np.inf, vals)
        dtype = self.pick(["float32", "float64", "int64", "int32", "float32"])
        if dtype.startswith("int"):
            return f"torch.tensor({_lit(self.rng.integers(-2, 3, size=shape))}, " \
                   f"dtype=torch.{dtype})"
        grad = ", requires_grad=True" if self.coin(0.5) else ""
        return f"torch.tensor({_flit(vals)}, dtype=torch.{dtype}{grad})"

    def sorting(self):
        if self.coin(0.35) or not self.tensors(lambda u: u.dim() >= 1):
            x = self.fresh()
            return f"{x} = {self.tie_leaf()}"
        x = self.pick(self.tensors(lambda u: u.dim() >= 1 and u.dtype != torch.bool
                                   and not u.is_complex()))
        t = self.ns[x]
        s = tuple(t.shape)
        n = len(s)
        d = int(self.rng.integers(-n, n))
        out = self.fresh()
        kind = self.pick(["sort", "argsort", "topk", "kthvalue", "median", "nanmedian", "mode",
                          "unique", "unique_consecutive", "searchsorted", "bucketize", "msort",
                          "median_all", "sort_kw"])
        desc = self.pick(["True", "False"])
        if kind in ("topk", "kthvalue", "median", "nanmedian", "mode") and _ties(t, d):
            # Which of equal elements PyTorch picks (its index, so where the gradient goes) is
            # its selection algorithm's accident: the values alone then, out of the graph.
            x = f"{x}.detach()"
            tail = ".values"
        else:
            tail = ""
        if kind == "sort":
            return f"{out} = {x}.sort(dim={d}, descending={desc}, stable=True)"
        if kind == "sort_kw":
            return f"{out} = torch.sort({x}, stable=True, dim={d}, descending={desc}).values"
        if kind == "msort":
            return f"{out} = torch.msort({x})"
        if kind == "argsort":
            return f"{out} = torch.argsort({x}, dim={d}, descending={desc}, stable=True)"
        if kind == "topk":
            k = int(self.rng.integers(0, s[d] + 1))
            return f"{out} = {x}.topk({k}, dim={d}, largest={desc}, " \
                   f"sorted={'True' if k > 1 else self.pick(['True', 'False'])})" + \
                (tail or self.pick(["", ".values", "[1]"]))
        if kind == "kthvalue":
            k = int(self.rng.integers(1, s[d] + 1))
            return f"{out} = {x}.kthvalue({k}, {d}, keepdim={desc}){tail}"
        if kind == "mode" and t.is_floating_point():
            # (PyTorch's mode sorts with `<`, which leaves NaNs where they fall: its answer
            # for a NaN is the sort's accident)
            x = f"{x}.nan_to_num(0.5)"
        if kind in ("median", "nanmedian", "mode"):
            return f"{out} = torch.{kind}({x}, {d}, keepdim={desc}){tail}"
        if kind == "median_all":
            return f"{out} = {x}.{self.pick(['median', 'nanmedian'])}()"
        if kind in ("unique", "unique_consecutive") and t.is_floating_point():
            # (values equal but for rounding, a variance's, would part; NaN sorts by accident
            # in PyTorch's unique(dim=))
            x = f"{x}.nan_to_num(0.5).round(decimals=3)"
        if kind == "unique":
            kw = [f"sorted={self.pick(['True', 'True', 'False'])}",
                  f"return_inverse={self.pick(['True', 'False'])}",
                  f"return_counts={self.pick(['True', 'False'])}"]
            if self.coin(0.4):
                kw.append(f"dim={d}")
            return f"{out} = torch.unique({x}, {', '.join(kw)})"
        if kind == "unique_consecutive":
            kw = [f"return_inverse={self.pick(['True', 'False'])}",
                  f"return_counts={self.pick(['True', 'False'])}"]
            if self.coin(0.4):
                kw.append(f"dim={d}")
            return f"{out} = {x}.unique_consecutive({', '.join(kw)})"
        # searchsorted / bucketize on a sorted sequence (the variable sorted first).
        seq = f"{x}.sort(dim=-1, stable=True).values"
        vals = _flit(self.rng.integers(-3, 4, size=self.pick([(3,), (2, 2), ()])) / 2.0)
        dtype = t.dtype if not t.is_floating_point() else torch.float32
        v = f"torch.tensor({vals}, dtype={dtype})"
        right = self.pick(["", ", right=True", ", right=False", ", side='right'",
                           ", side='left'"])
        o32 = self.pick(["", ", out_int32=True"])
        if kind == "searchsorted":
            if n > 1:
                v = f"{x}.sort(dim=-1, stable=True).values.flip(-1)"
            return f"{out} = torch.searchsorted({seq}, {v}{right}{o32})"
        if "side" in right:
            right = ""
        return f"{out} = torch.bucketize({v}, {x}.flatten().sort(stable=True).values" \
               f"{right}{o32})"

    # -- integer arithmetic ------------------------------------------------------------------
    def int_leaf(self, dtype=None):
        dtype = dtype or self.pick(SMALL_INTS)
        lo, hi = _RANGE[dtype]
        shape = tuple(int(self.rng.integers(1, 4)) for _ in range(self.pick([0, 1, 1, 2])))
        vals = self.rng.integers(-7, 8, size=shape)
        extremes = np.array([lo, hi, lo + 1, 0, -1])
        pick = self.rng.random(shape) < 0.25
        vals = np.where(pick, extremes[self.rng.integers(0, 5, size=shape)], vals)
        vals = np.clip(vals, lo, hi)
        return f"torch.tensor({_lit(vals)}, dtype=torch.{dtype})"

    def int_arith(self):
        ints = self.tensors(lambda u: str(u.dtype).rsplit(".", 1)[-1] in SMALL_INTS + ("bool",))
        if not ints or self.coin(0.3):
            return f"{self.fresh()} = {self.int_leaf()}"
        x = self.pick(ints)
        t = self.ns[x]
        out = self.fresh()
        dt = str(t.dtype).rsplit(".", 1)[-1]
        same = self.tensors(lambda u: base._broadcasts(u.shape, t.shape)
                            and not u.is_floating_point() and not u.is_complex())
        other = self.pick(same) if same and self.coin(0.6) else \
            self.pick(["0", "3", "-2", "7", "torch.tensor(0)", "torch.tensor(-3)", "2.5",
                       "torch.tensor(-1, dtype=torch.int8)"])
        kind = self.pick(["div", "floor_divide", "remainder", "fmod", "bit", "shift", "pow",
                          "absneg", "reduce", "reduce", "cum", "mean", "arg", "allany",
                          "bitnot", "compare"])
        if kind == "div":
            mode = self.pick(["None", "'trunc'", "'floor'"])
            return f"{out} = torch.div({x}, {other}, rounding_mode={mode})"
        if kind == "floor_divide":
            return f"{out} = {x} // {other}" if self.coin() else \
                f"{out} = torch.floor_divide({other}, {x})"
        if kind in ("remainder", "fmod"):
            return f"{out} = torch.{kind}({x}, {other})" if self.coin(0.7) else \
                f"{out} = {x} % {other}"
        if kind == "bit":
            op = self.pick(["&", "|", "^"])
            return f"{out} = {x} {op} {other}" if self.coin(0.7) else \
                f"{out} = torch.bitwise_{self.pick(['and', 'or', 'xor'])}({x}, {other})"
        if kind == "bitnot":
            return f"{out} = {self.pick(['~', 'torch.bitwise_not'])}({x})"
        if kind == "shift":
            width = {"int8": 8, "uint8": 8, "int16": 16, "int32": 32, "int64": 64,
                     "bool": 8}[dt]
            amount = self.pick([str(width), str(width - 1), str(width + 1), "-1", "1", "3",
                                f"torch.tensor({width}, dtype=torch.{dt})",
                                f"torch.tensor([1, {width}, -1])"])
            op = self.pick(["<<", ">>", "torch.bitwise_left_shift", "torch.bitwise_right_shift"])
            if op.startswith("torch."):
                return f"{out} = {op}({x}, {amount})"
            return f"{out} = {x} {op} {amount}"
        if kind == "pow":
            e = self.pick(["-1", "-2", "0", "2", "3", "torch.tensor(-1)", "0.5",
                           "torch.tensor([2, -1, 0])"])
            return f"{out} = {x} ** {e}" if self.coin(0.6) else \
                f"{out} = torch.pow({self.pick(['2', '-2', '0', '1'])}, {x})"
        if kind == "absneg":
            return f"{out} = {self.pick(['torch.abs', 'torch.neg', '-', 'torch.sign', 'abs'])}({x})"  # noqa: E501
        if kind == "reduce":
            fn = self.pick(["sum", "prod", "nansum"])
            dtype = self.pick(["", "", ", dtype=torch.int8", ", dtype=torch.float32",
                               ", dtype=torch.int32"])
            if t.dim() and self.coin():
                return f"{out} = {x}.{fn}({self.dim(t)}{dtype})"
            return f"{out} = torch.{fn}({x}{dtype})"
        if kind == "cum":
            fn = self.pick(["cumsum", "cumprod", "cummax", "cummin"])
            dtype = self.pick(["", ", dtype=torch.int16", ", dtype=torch.float64"]) \
                if fn in ("cumsum", "cumprod") else ""
            return f"{out} = {x}.{fn}({self.dim(t)}{dtype})"
        if kind == "mean":
            return f"{out} = {x}.{self.pick(['mean', 'var', 'std'])}()" if self.coin() else \
                f"{out} = {x}.mean(dtype=torch.float64)"
        if kind == "arg":
            fn = self.pick(["argmax", "argmin", "max", "min"])
            src = self.pick([x, f"{x}.double().masked_fill({x} == 0, float('nan'))"])
            if t.dim() and self.coin(0.6):
                return f"{out} = {src}.{fn}({self.dim(t)})"
            return f"{out} = {src}.{fn}()"
        if kind == "allany":
            fn = self.pick(["all", "any"])
            if t.dim() and self.coin():
                return f"{out} = {x}.{fn}({self.dim(t)})"
            return f"{out} = torch.{fn}({x})"
        return f"{out} = {self.pick(['torch.eq', 'torch.lt', 'torch.maximum', 'torch.minimum'])}" \
               f"({x}, {other})"

    # -- the autograd API --------------------------------------------------------------------
    def autograd_api(self):
        floats = self.tensors(lambda u: u.is_floating_point())
        rg = self.tensors(lambda u: u.requires_grad and u.is_floating_point())
        leaves = self.tensors(lambda u: u.is_leaf and u.requires_grad)
        if not floats:
            return None
        out = self.fresh()
        kind = self.pick(["grad", "grad", "grad_outputs", "backward_inputs", "hook",
                          "post_hook", "retain_grad", "requires_grad_", "leaf_inplace",
                          "modes", "modes", "decorator", "inference", "inference_use"])
        x = self.pick(rg) if rg else self.pick(floats)
        t = self.ns[x]
        if kind == "grad" and rg and leaves:
            ins = sorted({self.pick(leaves + floats) for _ in range(self.pick([1, 2]))})
            kw = [self.pick(["", "allow_unused=True", "allow_unused=False"]),
                  self.pick(["", "", "materialize_grads=True"]),
                  self.pick(["", "retain_graph=True"])]
            kw = [k for k in kw if k]
            return f"{out} = torch.autograd.grad({x}.sum(), [{', '.join(ins)}]" + \
                "".join(", " + k for k in kw) + ")"
        if kind == "grad_outputs" and rg and leaves:
            s = tuple(t.shape)
            shape = self.pick([s, s, s[1:], (2,) + s])
            dtype = self.pick([str(t.dtype).rsplit(".", 1)[-1], "float64", "float32"])
            go = f"torch.full({shape}, 2.0, dtype=torch.{dtype})"
            return f"{out} = torch.autograd.grad({x}, {self.pick(leaves)}, " \
                   f"grad_outputs={go}, allow_unused=True, retain_graph=True)"
        if kind == "backward_inputs" and rg and leaves:
            ins = sorted({self.pick(leaves + rg) for _ in range(2)})
            return f"{x}.sum().backward(inputs=[{', '.join(ins)}], " \
                   f"retain_graph={self.pick(['True', 'False'])})"
        if kind == "hook" and rg:
            body = self.pick(["g * 3", "g.clone().fill_(1)", "None", "g + g", "g[..., :1]",
                              "g.double()"])
            return f"{out} = {x}.register_hook(lambda g: {body})"
        if kind == "post_hook" and leaves:
            p = self.pick(leaves)
            body = self.pick(["p.grad.mul_(2)", "None", "(p.grad.zero_(), None)[1]"])
            return f"{out} = {p}.register_post_accumulate_grad_hook(lambda p: {body})"
        if kind == "retain_grad":
            return f"{x}.retain_grad()"
        if kind == "requires_grad_":
            y = self.pick(self.tensors())
            return f"{y}.requires_grad_({self.pick(['True', 'False'])})" if self.coin(0.7) \
                else f"{y}.requires_grad = {self.pick(['True', 'False'])}"
        if kind == "leaf_inplace" and leaves:
            p = self.pick(leaves)
            return self.pick([f"{p}.add_(1)", f"{p}[0] = 1", f"{p}.zero_()",
                              f"{p}.data.add_(1)", f"with torch.no_grad(): {p}.mul_(2)"])
        if kind == "modes":
            outer = self.pick(["torch.no_grad()", "torch.enable_grad()",
                               "torch.set_grad_enabled(False)", "torch.set_grad_enabled(True)",
                               "torch.inference_mode(False)"])
            inner = self.pick(["torch.no_grad()", "torch.enable_grad()",
                               "torch.set_grad_enabled(False)", "torch.set_grad_enabled(True)"])
            body = self.pick([f"{out} = {x} * 2", f"{out} = {x}.exp().sum()",
                              f"{out} = torch.is_grad_enabled()"])
            return f"with {outer}, {inner}: {body}"
        if kind == "decorator":
            deco = self.pick(["torch.no_grad()", "torch.enable_grad()",
                              "torch.set_grad_enabled(False)", "torch.inference_mode()"])
            wrap = self.pick(["torch.no_grad()", "torch.enable_grad()"])
            return f"with {wrap}: {out} = {deco}(lambda u: (u * 2, " \
                   f"torch.is_grad_enabled()))({x})"
        if kind == "inference":
            return f"with torch.inference_mode(): {out} = {x} * 2"
        infs = self.tensors(lambda u: u.is_inference())
        if infs:
            y = self.pick(infs)
            return self.pick([f"{out} = {y} * {x}", f"{out} = {y}.clone()",
                              f"{y}.requires_grad_()", f"{out} = {y}.is_inference()",
                              f"{y}.add_(1)", f"{out} = {x}.exp() + {y}"])
        return None


# --------------------------------------------------------------------------------------------
# Reviewed differences these families reach (on top of s17_SL_known.KNOWN)
# --------------------------------------------------------------------------------------------

_BASE_KNOWN = base.known  # (session 17's list; main() is handed ours below)


def _torch_raises_at(lines, index) -> bool:
    ns = {"torch": torch}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, line in enumerate(lines[:index + 1]):
            try:
                exec(line, ns)
            except Exception:  # noqa: BLE001 - whether it raises is the question
                if i == index:
                    return True
    return False


def _scatter_grad_refused(lines, failure):
    return failure[1] == "permissive" and (
        "derivative for aten::scatter is not implemented" in failure[2]
        or ("Scatter" in failure[2] and "returned an invalid gradient" in failure[2])
        or ("must match the size" in failure[2]
            and any("scatter" in line for line in lines[:failure[0]])))


def _scatter_reduce_partial(lines, failure):
    # autograd.grad through scatter(reduce=): PyTorch refuses first; deltagrad's sweep has
    # filled a retained .grad when it raises for an unused input.
    return (failure[1] == "silent" and ".grad: a tensor vs torch's None" in failure[2]
            and any(".scatter(" in line and "reduce=" in line for line in lines))


def _index_check_order(lines, failure):
    if failure[1] != "raise-mismatch":
        return False
    text = failure[2]
    return (("vs torch IndexError" in text and any(
        m in text for m in ("could not be broadcast", "too many indices",
                            "invalid index of a 0-dim tensor")))
            or ("IndexError vs torch RuntimeError" in text and "a view of a leaf" in text)
            or ("RuntimeError vs torch TypeError" in text and "must be Tensor, not" in text))


def _unique_zero_sized(lines, failure):
    return failure[1] == "permissive" and "Number of zero sized dimensions" in failure[2]


def _selection_of_overlapping(lines, failure):
    # median / kthvalue / mode / topk of an expanded or as_strided (stride 0) tensor.
    line = lines[failure[0]]
    return (failure[1] == "silent" and ".values" in failure[2]
            and any(f in line for f in ("median(", "kthvalue(", "mode(", "topk("))
            and any(".expand(" in x or ".as_strided(" in x for x in lines[:failure[0]]))


def _as_strided_freed(lines, failure):
    # (the op's name from the program: PyTorch's full message, first since s29, pushes the
    # op's name past the failure text kept)
    return (failure[1] == "we-raise" and "graph a second time" in failure[2]
            and any(".as_strided(" in line for line in lines))


def _partial_backward_inputs(lines, failure):
    # A backward that raises at a freed node below a non-leaf that backward(inputs=[...])
    # made retain its grad.
    return (failure[1] == "silent" and ".grad: None vs torch's a tensor" in failure[2]
            and any("backward(inputs=" in line for line in lines[:failure[0] + 1])
            and sum("backward(" in line or "autograd.grad(" in line
                    for line in lines[:failure[0] + 1]) >= 2)


def _unsaved_second_backward(lines, failure):
    return failure[1] == "permissive" and (
        "backward through the graph a second time" in failure[2]
        or "modified by an inplace operation" in failure[2])


def _inference_write(lines, failure):
    if failure[1] in ("permissive", "we-raise") and "Inference tensors cannot be saved" \
            in failure[2]:
        return True
    if failure[1] != "silent" or not any("inference_mode()" in line for line in lines):
        return False
    return any(_torch_raises_at(lines, i) and ("] = " in line or "_(" in line)
               for i, line in enumerate(lines[:failure[0] + 1]))


def _integer_requires_grad(lines, failure):
    return (failure[1] in ("silent", "permissive", "raise-mismatch")
            and ("requires_grad: " in failure[2] or "Autograd not support dtype" in failure[2])
            and any("] = " in line and "requires_grad=True" in line.split("] = ", 1)[1]
                    for line in lines))


KNOWN = [
    (_scatter_grad_refused,
     "scatter with reduce= has no derivative in PyTorch (deltagrad's rule gives it), and "
     "scatter / scatter_add / scatter_reduce with an index smaller than src return a "
     "gradient of the index's shape for src, which PyTorch's engine then refuses (a PyTorch "
     "bug; deltagrad gives the gradient, zero where src was not read)"),
    (_scatter_reduce_partial,
     "autograd.grad through scatter(reduce=) (no derivative in PyTorch, which refuses "
     "before running): deltagrad's sweep fills a retained .grad, then raises for an unused "
     "input"),
    (_index_check_order,
     "setitem whose index is bad (index arrays that do not broadcast, an int into a 0-d "
     "tensor) and that has another fault (a value of another dtype, a leaf that requires "
     "grad): PyTorch's first check depends on its path, deltagrad reports the other fault "
     "(both raise, classes differ); so does index_put_ of a number (PyTorch's TypeError) "
     "into a leaf that requires grad"),
    (_unique_zero_sized,
     "unique / unique_consecutive with dim= of a tensor with several zero-sized dims: "
     "PyTorch refuses, deltagrad returns the empty result (permissive)"),
    (_selection_of_overlapping,
     "median / kthvalue / mode along a dimension of stride 0 (an expand, an as_strided): "
     "PyTorch's CPU kernels give values the input does not hold (`x.expand(3, 3, 2)."
     "median(0)` read 65 out of 0s and 1s: a PyTorch bug); deltagrad's are the input's"),
    (_as_strided_freed,
     "a second backward through as_strided without retain_graph: PyTorch's node saved no "
     "tensor and runs again; deltagrad's frees its buffers and refuses (session 19 made "
     "other unsaved nodes survive: s17_SL_known lost _second_backward_unsaved)"),
    (_partial_backward_inputs,
     "a backward that reaches a freed node below y, where an earlier backward(inputs=[y]) "
     "made y retain its grad: PyTorch fills y.grad before raising, deltagrad checks the "
     "graph first and changes nothing"),
    (_unsaved_second_backward,
     "a second backward (or one after an in-place change) through masked_scatter / "
     "getitem / scatter_reduce: PyTorch's node saved its mask, indices or self and refuses; "
     "deltagrad's rule reads none of them (versions.unsaved_graph) and runs (permissive)"),
    (_inference_write,
     "an in-place write into an inference tensor outside inference_mode: PyTorch writes and "
     "then raises, deltagrad raises before writing; and an inference tensor that one side's "
     "rule saves and the other's not (scatter_reduce's self in PyTorch, scatter(reduce=) "
     "in deltagrad, which PyTorch does not differentiate)"),
    (_integer_requires_grad,
     "an integer tensor that requires grad (PyTorch's setitem of a value that requires grad "
     "gives one, and deltagrad's too): which later ops carry the flag, or raise 'Autograd "
     "not support dtype', differs"),
]


def known(lines, failure):
    """The reason a (minimised) failure is a reviewed difference, or None."""
    reason = _BASE_KNOWN(lines, failure)
    if reason:
        return reason
    for test, why in KNOWN:
        if test(lines, failure):
            return why
    return None


def program(seed: int, index: int) -> list[str]:
    return base.program(seed, index, Gen3)


def run(seed: int, count: int, known=known):
    return base.run(seed, count, known, Gen3)


if __name__ == "__main__":
    base.known = known  # (main reads the module's predicate)
    sys.exit(base.main(gen=Gen3))
