"""Session 26's invalid-argument family for the program-level differential fuzzer
(``s17_SL_progfuzz.py``): calls drawn at and past the edge of validity over the public surface
(``torch.*``, Tensor methods, ``nn.functional``, ``linalg``, ``fft``, ``special``), each run on
both sides and compared as every other line is (both raise with compatible builtin classes, or
neither does and values / dtypes / shapes / gradients agree). What it draws:

- dims out of range, negative past ``-ndim``, duplicated (also in tuples and lists, one of them
  negative), floats and None as dims, over reductions, scans, sorts, shape ops, ``fft`` and
  ``linalg`` norms;
- sizes: negative and zero sizes, ``-1`` twice, a float where an int is needed (``size=2.0``,
  ``view(2.0, 3)``), a tensor as a size, a numel that does not fit, expand to fewer or smaller
  dims, ``arange`` with step 0 or the wrong direction, ``linspace`` with negative steps, chunk /
  split / unfold with zero;
- shapes that do not broadcast or do not chain (matmul families, cat / stack, where,
  masked_fill, lerp, cross, addmm ...), wrong numbers of dims;
- dtypes an op refuses: integers where a float is needed (mean, std, softmax, linalg, random
  fills), floats where an integer is needed (bitwise ops, shifts, indices), bool arithmetic,
  complex where the op is real only, mixed dtypes in mm / linear / where / cat ``out=``;
- indices out of range for indexing, index_select, gather, scatter, take, put, index_add /
  copy / fill, embedding, one_hot, nll_loss / cross_entropy targets, masks of the wrong shape,
  index tensors of a float dtype;
- ``out=`` of the wrong dtype, shape, one that needs grad, one that aliases an input;
- bad keyword names, None where a tensor is needed, strings, too many arguments;
- in-place writes that cannot be done: on expanded tensors, an integer target of a float
  result, a leaf that needs grad, a view of one, a target smaller than the broadcast result;
- empty tensors where the op needs an element (max / argmax / kthvalue / item / topk).

Every call is kept whether PyTorch raises or not (the point is the raising ones); the earlier
families' statements stay in at a low weight. Run as a script::

    .venv/bin/python tests/parity/s26_SL12_invalid.py [--programs N] [--seed S] [--show I]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as base  # noqa: E402
import s23_SL8_families as sl8  # noqa: E402
import s25_SL11_functional as sl11  # noqa: E402
from s17_SL_known import chain_known  # noqa: E402

torch = base.torch
F = "torch.nn.functional"
SHAPES = ((3,), (2, 3), (2, 3, 4), (), (0,), (2, 0), (1, 3), (4, 1))
ALL_DT = ("float32", "float32", "float64", "int64", "int32", "bool", "float16", "bfloat16",
          "complex64", "uint8", "int8")


_RANDOM = re.compile(r"rand|normal_|uniform_|exponential_|cauchy_|geometric_|bernoulli|"
                     r"multinomial|dropout|random_|poisson")


class Gen12(sl11.Gen11):
    """Session 17's grammar (and sessions 18-25's families, at a low weight) plus the
    invalid-argument families above."""

    def makers(self):
        old = [(maker, weight * 0.02) for maker, weight in super().makers()]
        return old + [(self.bad_dim, 10), (self.bad_size, 9), (self.bad_shape, 9),
                      (self.bad_dtype, 10), (self.bad_index, 10), (self.bad_out, 6),
                      (self.bad_args, 7), (self.bad_inplace, 9), (self.bad_empty, 5),
                      (self.bad_linalg, 7)]

    def _add(self, line: str) -> bool:
        # (a raising call is what this family is after: keep it every time)
        try:
            exec(line, self.ns)
        except Exception:  # noqa: BLE001 - kept
            pass
        self.lines.append(line)
        return True

    # -- leaves ---------------------------------------------------------------------------------
    def _i(self, lo, hi):
        return int(self.rng.integers(lo, hi))

    def leaf12(self, shape=None, dt=None, grad=None, form=None):
        """``name, line``: a leaf of ``shape`` / ``dt``; now and then a transposed, sliced or
        expanded view of one (``form``)."""
        shape = shape if shape is not None else self.pick(SHAPES)
        dt = dt or self.pick(ALL_DT)
        name = self.fresh()
        n = int(np.prod(shape)) if shape else 1
        if dt == "bool":
            lit = repr((self.rng.random(shape) < 0.5).tolist())
        elif dt in ("int64", "int32", "uint8", "int8"):
            lit = repr(self.rng.integers(0 if dt == "uint8" else -3, 5, shape).tolist())
        else:
            lit = self.flt(shape)
        if dt.startswith("complex"):
            expr = f"torch.tensor({lit}).to(torch.{dt})"
        else:
            expr = f"torch.tensor({lit}, dtype=torch.{dt})"
        floating = dt.startswith(("float", "bfloat", "complex"))
        if grad is None:
            grad = floating and self.coin(0.4)
        form = form or self.pick(["plain"] * 5 + ["t", "slice", "expand"])
        if form == "t" and len(shape) >= 2:
            expr = f"{expr}.transpose(0, 1)"
        elif form == "slice" and len(shape) >= 1 and n:
            expr = f"{expr}[..., ::2]"
        elif form == "expand" and len(shape) >= 1:
            expr = f"{expr}[..., :1].expand({', '.join(str(s) for s in shape)})"
        if grad and floating:
            if expr.endswith(")") and "].expand(" not in expr and ".transpose" not in expr \
                    and "[..." not in expr:
                expr += ".requires_grad_()"
            else:
                expr = f"{expr}.detach().requires_grad_()"
        return name, f"{name} = {expr}"

    def _fl(self, shape=None, grad=None, form=None):
        return self.leaf12(shape, self.pick(("float32", "float32", "float64")), grad, form)

    def _call(self, parts, y, call, backward=True):
        if _RANDOM.search(call):  # (draws alike on both sides)
            parts.append("torch.manual_seed(0)")
        parts.append(f"{y} = {call}")
        if backward and self.coin(0.25):
            parts.append(self.real_loss(y))
        return "; ".join(parts)

    def _dim_edge(self, n):
        """A dim at or past the edge for ``n`` dims."""
        m = max(n, 1)
        return self.pick([m, -m - 1, m + 2, -m, m - 1, 0, -1, 1.0, None, "True", 2 ** 40])

    def _dims_edge(self, n):
        m = max(n, 1)
        return self.pick([(0, 0), (0, -m), (-1, m - 1), (m,), [0, 0], [0, 1], (), [],
                          (0, 1, 2, 3), (-m - 1,), (0, 1.0), [-1]])

    # -- dims -----------------------------------------------------------------------------------
    def bad_dim(self):
        shape = self.pick(SHAPES)
        n = len(shape)
        x, lx = self.leaf12(shape, self.pick(("float32", "float64", "int64", "bool", "float32")))
        y = self.fresh()
        d = self._dim_edge(n)
        dd = self._dims_edge(n)
        kd = self.pick(["", ", keepdim=True"])
        calls = [
            f"torch.sum({x}, {d}{kd})", f"torch.sum({x}, dim={dd!r}{kd})",
            f"{x}.mean({dd!r})", f"torch.mean({x}, dim={d})", f"torch.prod({x}, {d})",
            f"torch.amax({x}, {dd!r})", f"torch.amin({x}, dim={d})", f"torch.max({x}, {d})",
            f"torch.min({x}, dim={d}{kd})", f"torch.argmax({x}, {d})", f"{x}.argmin(dim={d})",
            f"torch.softmax({x}, {d})", f"{F}.log_softmax({x}, dim={d})",
            f"torch.cumsum({x}, {d})", f"{x}.cumprod({d})", f"torch.logsumexp({x}, {dd!r})",
            f"torch.std({x}, {dd!r})", f"torch.var({x}, dim={d})", f"torch.norm({x}, dim={dd!r})",
            f"torch.flip({x}, {dd!r})", f"torch.roll({x}, 1, {d})", f"torch.squeeze({x}, {d})",
            f"{x}.squeeze({dd!r})", f"torch.unsqueeze({x}, {d})", f"{x}.transpose({d}, 0)",
            f"torch.movedim({x}, {d}, 0)", f"torch.movedim({x}, {dd!r}, {dd!r})",
            f"{x}.permute({dd!r})", f"{x}.permute(*{tuple(range(n))[::-1] + (0,)!r})",
            f"torch.narrow({x}, {d}, 0, 1)", f"torch.select({x}, {d}, 0)",
            f"torch.unbind({x}, {d})", f"torch.split({x}, 1, {d})", f"torch.chunk({x}, 2, {d})",
            f"torch.cat([{x}, {x}], {d})", f"torch.stack([{x}, {x}], {d})",
            f"torch.sort({x}, {d})", f"torch.argsort({x}, dim={d})", f"torch.topk({x}, 1, {d})",
            f"torch.kthvalue({x}, 1, {d})", f"torch.median({x}, {d})", f"torch.mode({x}, {d})",
            f"torch.all({x}, {d})", f"torch.any({x}, dim={dd!r})",
            f"torch.count_nonzero({x}, {dd!r})", f"torch.diff({x}, dim={d})",
            f"torch.diagonal({x}, 0, {d}, 0)", f"torch.flatten({x}, {d})",
            f"torch.flatten({x}, -1, 0)", f"{x}.unflatten({d}, (1, -1))", f"{x}.size({d})",
            f"{x}.stride({d})", f"torch.nansum({x}, {d})", f"torch.nanmean({x}, {dd!r})",
            f"torch.cummax({x}, {d})", f"torch.logcumsumexp({x}, {d})",
            f"torch.var_mean({x}, {dd!r})", f"torch.std_mean({x}, dim={d})",
            f"torch.fft.fft({x}, dim={d})", f"torch.fft.fftn({x}, dim={dd!r})",
            f"torch.linalg.vector_norm({x}, dim={dd!r})", f"torch.repeat_interleave({x}, 2, {d})",
            f"torch.unique({x}, dim={d})", f"torch.index_select({x}, {d}, torch.tensor([0]))",
            f"torch.gather({x}, {d}, torch.zeros_like({x}, dtype=torch.long))",
            f"torch.cumulative_trapezoid({x}, dim={d})", f"torch.trapezoid({x}, dim={d})",
            f"torch.renorm({x}, 2, {d}, 1.0)", f"{F}.normalize({x}, dim={d})",
            f"torch.nanmedian({x}, {d})", f"torch.quantile({x}, 0.5, {d})",
            f"torch.aminmax({x}, dim={d})", f"torch.tensor_split({x}, 2, {d})",
            f"torch.dsplit({x}, 2)", f"torch.hsplit({x}, 2)", f"torch.vsplit({x}, 2)",
            f"torch.swapaxes({x}, {d}, -1)", f"{x}.unfold({d}, 1, 1)",
            f"torch.take_along_dim({x}, torch.zeros_like({x}, dtype=torch.long), {d})",
            f"{F}.softmax({x}, dim={d}, dtype=torch.float64)", f"torch.rot90({x}, 1, {dd!r})",
            f"torch.tensordot({x}, {x}, dims=({dd!r}, {dd!r}))",
            f"torch.linalg.norm({x}, dim={dd!r})", f"torch.einsum('ii->i', {x})",
            f"{F}.glu({x}, {d})", f"torch.logcumsumexp({x}, dim={dd!r})",
            f"torch.cross({x}, {x}, dim={d})", f"torch.trace({x})",
        ]
        return self._call([lx], y, self.pick(calls))

    # -- sizes ----------------------------------------------------------------------------------
    def bad_size(self):
        y = self.fresh()
        size = self.pick(["-1", "(2, -1)", "2.0", "(2, 2.0)", "(-2,)", "(0, 3)",
                          "torch.tensor(3)", "torch.tensor([2, 3])", "(2, None)", "[2, -3]",
                          "(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)", "True", "(2**62, 2**62)",
                          "torch.Size([2, 3])", "()", "'3'", "(3,)", "np.int64(2)"])
        fac = self.pick(["zeros", "ones", "empty", "rand", "randn", "full", "zeros_like",
                         "arange", "linspace", "logspace", "eye", "randint", "randperm",
                         "tensor_new", "view", "reshape", "expand", "repeat", "tile",
                         "chunk", "split", "unfold", "narrow", "broadcast_to", "new_zeros",
                         "resize_", "ragged", "as_strided"])
        if fac in ("zeros", "ones", "empty", "rand", "randn"):
            pre = "torch.manual_seed(0); " if fac.startswith("rand") else ""
            if self.coin(0.3):
                call = f"torch.{fac}(size={size})"
            else:
                call = f"torch.{fac}({size})" if self.coin(0.6) else \
                    f"torch.{fac}(*{size if size.startswith(('(', '[')) else '(' + size + ',)'})"
            if fac == "empty":
                call += ".shape"  # (uninitialised values)
            return f"import numpy as np; {pre}{y} = {call}"
        if fac == "full":
            fill = self.pick(["1.5", "2", "True", "'a'", "None", "1j", "torch.tensor(2.0)",
                              "torch.tensor([1.0])", "float('nan')"])
            dt = self.pick(["", ", dtype=torch.int64", ", dtype=torch.bool",
                            ", dtype=torch.uint8"])
            return f"import numpy as np; {y} = torch.full({size}, {fill}{dt})"
        if fac == "zeros_like":
            x, lx = self.leaf12()
            kw = self.pick(["dtype=torch.int32", "size=(2,)", "memory_format=torch.channels_last",
                            "dtype=torch.complex64", "requires_grad=True", "layout=None"])
            fn = self.pick(["zeros_like", "ones_like", "empty_like", "rand_like", "randn_like",
                            "randint_like", "full_like"])
            extra = {"randint_like": "5, ", "full_like": "2, "}.get(fn, "")
            pre = "torch.manual_seed(0); " if "rand" in fn else ""
            shape = ".shape" if fn == "empty_like" else ""  # (uninitialised values)
            return f"{lx}; {pre}{y} = torch.{fn}({x}, {extra}{kw}){shape}"
        if fac in ("arange", "linspace", "logspace"):
            if fac == "arange":
                args = self.pick(["0, 5, 0", "5, 0, 1", "0, 5, -1", "5, 0, -1", "0, 1, 0.3",
                                  "-1", "0", "float('inf')", "0, float('nan')", "2.5",
                                  "0, 5, 2, dtype=torch.bool", "1, 10, 3, dtype=torch.int8",
                                  "0.0, 1.0, 0.25, dtype=torch.int64", "10, dtype=torch.float16",
                                  "torch.tensor(4)", "torch.tensor([4])", "3, 3", "None",
                                  "0, 5, 1, dtype=torch.complex64"])
            else:
                args = self.pick(["0, 1, -1", "0, 1, 0", "0, 1, 1", "0, 1, 2.0", "0, 1",
                                  "0, 1, steps=3, dtype=torch.int64",
                                  "torch.tensor([0.0, 1.0]), 1, 3", "torch.tensor(0.0), 1, 3",
                                  "0, 1, 3, dtype=torch.bool", "1, 0, 4, dtype=torch.uint8",
                                  "0, 1, 3, dtype=torch.complex64", "float('nan'), 1, 3"])
            return f"{y} = torch.{fac}({args})"
        if fac == "eye":
            args = self.pick(["-1", "0", "2, -1", "2.0", "2, 3, dtype=torch.bool",
                              "torch.tensor(2)", "3, 0", "None", "2, m=None"])
            return f"{y} = torch.eye({args})"
        if fac == "randint":
            args = self.pick(["5, 2, (3,)", "2, 2, (3,)", "0, (3,)", "-1, (2,)",
                              "0, 5, (2,), dtype=torch.float32", "5, (2.0,)",
                              "0, 2**40, (2,), dtype=torch.int32",
                              "0, 300, (2,), dtype=torch.uint8", "3, (2,), dtype=torch.bool",
                              "(3,)", "3.5, (2,)"])
            return f"torch.manual_seed(0); {y} = torch.randint({args})"
        if fac == "randperm":
            args = self.pick(["-1", "0", "3, dtype=torch.float32", "3.0", "3, dtype=torch.bool",
                              "300, dtype=torch.uint8", "3, dtype=torch.int8"])
            return f"torch.manual_seed(0); {y} = torch.randperm({args})"
        if fac == "ragged":
            lit = self.pick(["[[1, 2], [3]]", "[[1.0], 2.0]", "[[], [1]]", "[1, [2]]",
                             "['a']", "[None]", "[1, None]", "[[1, 2], [3, 4]]", "[1j, 2]",
                             "[torch.tensor(1.0), 2]", "[torch.tensor([1.0]), torch.tensor([2.0])]",
                             "[[torch.tensor(1)], [2]]", "[2**64]", "[-2**63 - 1]",
                             "[True, 2.5]"])
            dt = self.pick(["", "", ", dtype=torch.int64", ", dtype=torch.bool",
                            ", dtype=torch.uint8"])
            return f"{y} = torch.tensor({lit}{dt})"
        if fac == "tensor_new":
            args = self.pick(['2, 3', '-1', '2.0', '[2, 3]', '(2, 3)', '[2.0]'])
            return f"{y} = torch.Tensor({args}).shape"
        x, lx = self.leaf12(shape=self.pick([(2, 3), (6,), (2, 3, 1), (1, 3), (0,), ()]))
        if fac == "view":
            args = self.pick(["-1, -1", "4, -1", "2.0, 3", "(2, 3)", "[3, 2]", "7", "0, -1",
                              "-1, 0", "-2, 3", "3, 2, 1", "()", "torch.float32",
                              "torch.int64", "torch.Size([6])", "size=(6,)", "-1"])
            return f"{lx}; {y} = {x}.view({args})"
        if fac == "reshape":
            args = self.pick(["-1, -1", "4, -1", "2.0, 3", "(2, 3)", "7", "0, -1", "-1, 0",
                              "-2, -3", "(-1,)", "shape=(3, -1)", "torch.tensor([6])",
                              "[6.0]", "()", "1, 1, -1"])
            form = self.pick([f"{x}.reshape({args})", f"torch.reshape({x}, ({args}))"])
            return f"{lx}; {y} = {form}"
        if fac == "expand":
            args = self.pick(["-1, -1", "2, 2, 3", "3, 3", "-1", "1", "2, -1, 3", "0, 3",
                              "(4, 3)", "2.0, 3", "-2, 3", "3, 3, 3, -1", "1, 2, 3, 1"])
            return f"{lx}; {y} = {x}.expand({args})"
        if fac == "broadcast_to":
            args = self.pick(["(-1, -1)", "(2, 2, 3)", "(3, 3)", "(-1,)", "(1,)", "(0, 3)",
                              "(2, -1, 3)", "3", "(3.0,)"])
            return f"{lx}; {y} = torch.broadcast_to({x}, {args})"
        if fac in ("repeat", "tile"):
            args = self.pick(["2", "()", "-1, 2", "0, 2", "2.0", "2, 2, 2", "1, 1, 1, 1",
                              "(2, 1)", "[1, -2]", "torch.tensor([2])"])
            form = f"{x}.{fac}({args})" if self.coin(0.6) else f"torch.tile({x}, ({args},))"
            return f"{lx}; {y} = {form}"
        if fac in ("chunk", "split"):
            args = self.pick(["0", "-1", "2.0", "[1, 1]", "[1, 5]", "[0, 6]", "[]",
                              "(2, -1)", "1, 5", "4, dim=-3", "torch.tensor(2)"])
            return f"{lx}; {y} = torch.{fac}({x}, {args})"
        if fac == "unfold":
            args = self.pick(["0, 1, 0", "0, 0, 1", "0, 7, 1", "-1, 2, -1", "0, 2.0, 1",
                              "3, 1, 1", "0, -1, 1"])
            return f"{lx}; {y} = {x}.unfold({args})"
        if fac == "narrow":
            args = self.pick(["0, 0, 7", "0, -1, 2", "0, 3, -1", "0, 1.0, 1", "0, -7, 1",
                              "0, 6, 0", "0, torch.tensor(1), 1", "5, 0, 1", "0, 2, 5"])
            return f"{lx}; {y} = torch.narrow({x}, {args})"
        if fac == "new_zeros":
            args = self.pick(["-1", "(2, -1)", "2.0", "(2, 3), dtype=torch.bool", "()",
                              "2, 3", "[2, 3]"])
            fn = self.pick(["new_zeros", "new_ones", "new_empty", "new_full"])
            if fn == "new_full":
                return f"{lx}; {y} = {x}.new_full(({args}), 2)" if self.coin(0.5) else \
                    f"{lx}; {y} = {x}.new_full((2,), {self.pick(['None', '1j', 'True'])})"
            if fn == "new_empty":
                return f"{lx}; {y} = {x}.{fn}({args}).shape"
            return f"{lx}; {y} = {x}.{fn}({args})"
        if fac == "resize_":
            args = self.pick(["-1", "2, 2", "0", "(3, 3)", "2.0", "7"])
            return f"{lx}; {y} = {x}.clone().detach().resize_({args}).shape"
        args = self.pick(["(2, 2), (1, 1)", "(2,), (-1,)", "(-1,), (1,)", "(7,), (1,)",
                          "(2, 2), (1,)", "(2,), (1,), -1", "(2,), (1,), 10"])
        return f"{lx}; {y} = {x}.as_strided({args})"

    # -- shapes ---------------------------------------------------------------------------------
    def bad_shape(self):
        s1 = self.pick(SHAPES + ((3, 2), (2, 3, 3), (2, 1, 3)))
        s2 = self.pick(SHAPES + ((3, 2), (2,), (4,), (3, 3), (2, 2, 3)))
        a, la = self._fl(s1)
        b, lb = self._fl(s2)
        y = self.fresh()
        calls = [f"{a} + {b}", f"torch.add({a}, {b}, alpha=2)", f"torch.mul({a}, {b})",
                 f"torch.matmul({a}, {b})", f"{a} @ {b}", f"torch.mm({a}, {b})",
                 f"torch.bmm({a}, {b})", f"torch.mv({a}, {b})", f"torch.dot({a}, {b})",
                 f"torch.vdot({a}, {b})", f"torch.inner({a}, {b})", f"torch.outer({a}, {b})",
                 f"torch.ger({a}, {b})", f"torch.cat([{a}, {b}])", f"torch.cat([{a}, {b}], 1)",
                 f"torch.stack([{a}, {b}])", f"torch.hstack([{a}, {b}])",
                 f"torch.vstack([{a}, {b}])", f"torch.dstack([{a}, {b}])",
                 f"torch.column_stack([{a}, {b}])", f"torch.where({a} > 0, {a}, {b})",
                 f"{a}.masked_fill({b} > 0, 0.0)", f"torch.lerp({a}, {b}, 0.5)",
                 f"torch.lerp({a}, {b}, {b})", f"torch.atan2({a}, {b})",
                 f"torch.maximum({a}, {b})", f"torch.cross({a}, {b})",
                 f"torch.linalg.cross({a}, {b})", f"torch.addmm({a}, {a}, {b})",
                 f"torch.addmv({a}, {a}, {b})", f"torch.addr({a}, {b}, {b})",
                 f"torch.baddbmm({a}, {a}, {b})", f"torch.kron({a}, {b})",
                 f"torch.cdist({a}, {b})", f"torch.dist({a}, {b})",
                 f"{F}.linear({a}, {b})", f"{F}.bilinear({a}, {a}, {b})",
                 f"{F}.mse_loss({a}, {b})", f"{F}.l1_loss({a}, {b}, reduction='sum')",
                 f"{F}.binary_cross_entropy_with_logits({a}, {b})",
                 f"{F}.cosine_similarity({a}, {b})", f"{F}.pairwise_distance({a}, {b})",
                 f"{F}.kl_div({a}, {b}, reduction='batchmean')",
                 f"torch.broadcast_tensors({a}, {b})",
                 f"torch.block_diag({a}, {b})", f"torch.cartesian_prod({a}, {b})",
                 f"torch.einsum('ij,jk->ik', {a}, {b})", f"torch.einsum('i,i->', {a}, {b})",
                 f"torch.tensordot({a}, {b}, 1)", f"torch.tensordot({a}, {b}, dims=2)",
                 f"torch.chain_matmul({a}, {b})", f"torch.linalg.multi_dot([{a}, {b}])",
                 f"torch.isclose({a}, {b})", f"torch.allclose({a}, {b})",
                 f"torch.equal({a}, {b})", f"torch.dist({a}, {b}, p=0)",
                 f"torch.polar({a}, {b})", f"torch.complex({a}, {b})", f"torch.hypot({a}, {b})",
                 f"torch.copysign({a}, {b})", f"torch.bucketize({a}, {b})",
                 f"torch.searchsorted({b}, {a})", f"torch.histc({a}, bins={self._i(-1, 3)})",
                 f"torch.take_along_dim({a}, {b}.long())", f"{a}.view_as({b})",
                 f"{a}.expand_as({b})", f"{a}.reshape_as({b})", f"torch.diag({a})",
                 f"torch.diag_embed({a}, dim1=0, dim2=0)", f"torch.tril({a})",
                 f"torch.triu({a}, 1)", f"torch.trace({a})", f"torch.meshgrid({a}, {b}, "
                 f"indexing='ij')", f"{F}.layer_norm({a}, {tuple(s2)!r})",
                 f"{F}.batch_norm({a}, {b}, {b}, training=False)",
                 f"{F}.group_norm({a}, 2)", f"{F}.embedding_bag(torch.tensor([0, 1]), {a})",
                 f"{F}.prelu({a}, {b})", f"{F}.dropout({a}, p={self.pick([-0.1, 1.5, 1.0])})",
                 f"{F}.gelu({a}, approximate='fast')", f"{F}.leaky_relu({a}, {b})",
                 f"{F}.hardtanh({a}, 1.0, -1.0)", f"{F}.softplus({a}, beta=0)",
                 f"torch.clamp({a}, {b}, {a})", f"torch.clamp({a})",
                 f"{F}.threshold({a}, {b}, 0.0)",
                 f"torch.addcmul({a}, {a}, {b})", f"torch.addcdiv({a}, {b}, {b}, value=1)"]
        return self._call([la, lb], y, self.pick(calls))

    # -- dtypes ---------------------------------------------------------------------------------
    def bad_dtype(self):
        dt = self.pick(("int64", "int32", "bool", "uint8", "complex64", "float16", "bfloat16",
                        "int8", "float32"))
        shape = self.pick(((3,), (2, 3), (2, 2), ()))
        x, lx = self.leaf12(shape, dt, grad=False, form="plain")
        o, lo = self.leaf12(shape, self.pick(("float32", "int64", "bool", "complex64",
                                               "float64")), grad=False, form="plain")
        y = self.fresh()
        calls = [f"torch.mean({x})", f"{x}.std()", f"{x}.var(0)", f"torch.softmax({x}, 0)",
                 f"{F}.log_softmax({x}, 0)", f"torch.sigmoid({x})", f"torch.tanh({x})",
                 f"torch.erfinv({x})", f"torch.linalg.inv({x})", f"torch.linalg.det({x})",
                 f"torch.inverse({x})", f"torch.linalg.svd({x})", f"torch.linalg.qr({x})",
                 f"torch.linalg.eigh({x})", f"torch.cholesky({x})", f"torch.logdet({x})",
                 f"torch.rand_like({x})", f"torch.randn_like({x})", f"{x}.normal_()",
                 f"{x}.uniform_()", f"{x}.exponential_()", f"torch.bernoulli({x})",
                 f"torch.multinomial({x}, 1)", f"torch.bitwise_and({x}, {o})",
                 f"{x} & {o}", f"{x} | 1", f"~{x}", f"{x} << 1", f"{x} >> {o}",
                 f"torch.bitwise_not({x})", f"-{x}", f"torch.neg({x})", f"{x} - {o}",
                 f"torch.sub({x}, True)", f"torch.abs({x})", f"torch.sign({x})",
                 f"torch.sgn({x})", f"torch.floor({x})", f"torch.ceil({x})",
                 f"torch.round({x}, decimals=1)", f"torch.trunc({x})", f"torch.frac({x})",
                 f"torch.fmod({x}, {o})", f"torch.remainder({x}, 2)", f"{x} % {o}",
                 f"{x} // {o}", f"torch.clamp({x}, 0, 1)", f"torch.clamp({x}, min=0.5)",
                 f"torch.max({x})", f"torch.max({x}, {o})", f"torch.sort({x})",
                 f"torch.argmax({x})", f"torch.topk({x}, 1)", f"torch.cumsum({x}, 0)",
                 f"torch.cumprod({x}, 0)", f"torch.prod({x})", f"torch.sum({x}, dtype=torch.int8)",
                 f"torch.mean({x}, dtype=torch.int64)", f"{x}.sum(dtype=torch.bool)",
                 f"torch.mm({x}, {o})", f"torch.matmul({x}, {o})", f"{F}.linear({x}, {o})",
                 f"torch.dot({x}.flatten(), {o}.flatten())", f"torch.where({x}, {x}, {o})",
                 f"torch.where({x} > 0, {x}, {o})", f"torch.cat([{x}, {o}])",
                 f"torch.lerp({x}, {o}, 0.5)", f"torch.isnan({x})", f"torch.isinf({x})",
                 f"torch.isfinite({x})", f"torch.signbit({x})", f"torch.nan_to_num({x})",
                 f"torch.pow({x}, -1)", f"{x} ** -2", f"torch.pow({x}, {o})",
                 f"torch.exp({x})", f"torch.log({x})", f"torch.sqrt({x})",
                 f"torch.reciprocal({x})", f"torch.rsqrt({x})", f"torch.square({x})",
                 f"torch.logical_not({x})", f"torch.logical_xor({x}, {o})",
                 f"torch.gcd({x}, {o})", f"torch.lcm({x}, 2)", f"torch.heaviside({x}, {o})",
                 f"torch.floor_divide({x}, {o})", f"torch.true_divide({x}, {o})",
                 f"torch.div({x}, {o}, rounding_mode='floor')",
                 f"torch.div({x}, 2, rounding_mode='bad')", f"torch.histc({x})",
                 f"torch.bincount({x}.flatten())", f"torch.unique({x})",
                 f"torch.median({x})", f"torch.quantile({x}, 0.5)",
                 f"torch.kthvalue({x}.flatten(), 1)",
                 f"torch.minimum({x}, {o})", f"torch.fmax({x}, {o})", f"torch.atan2({x}, {o})",
                 f"torch.hypot({x}, {o})", f"torch.copysign({x}, {o})",
                 f"torch.nextafter({x}, {o})", f"torch.xlogy({x}, {o})",
                 f"torch.special.erfcx({x})", f"torch.special.i0e({x})",
                 f"torch.special.ndtri({x})", f"torch.special.log_ndtr({x})",
                 f"torch.special.entr({x})", f"torch.special.sinc({x})",
                 f"torch.special.polygamma(1, {x})", f"torch.special.zeta({x}, {o})",
                 f"torch.special.logit({x})", f"torch.special.xlog1py({x}, {o})",
                 f"torch.special.multigammaln({x}, 2)", f"torch.digamma({x})",
                 f"torch.lgamma({x})", f"torch.angle({x})", f"torch.real({x})",
                 f"torch.imag({x})", f"torch.conj({x})", f"torch.view_as_real({x})",
                 f"torch.view_as_complex({x})", f"{x}.view(torch.int16)",
                 f"{x}.view(torch.complex64)", f"torch.fft.rfft({x})", f"torch.fft.fft({x})",
                 f"torch.fft.ihfft({x})", f"torch.fft.hfft({x})", f"{F}.relu({x})",
                 f"{F}.gelu({x})", f"{F}.silu({x})", f"{F}.elu({x})", f"{F}.leaky_relu({x})",
                 f"{F}.hardswish({x})", f"{F}.softplus({x})", f"{F}.mse_loss({x}, {o})",
                 f"{F}.binary_cross_entropy({x}, {o})", f"{F}.one_hot({x})",
                 f"{F}.embedding({x}, {o})", f"{F}.normalize({x})", f"{F}.dropout({x})",
                 f"torch.diff({x})", f"torch.trapezoid({x})", f"torch.cummax({x}, 0)",
                 f"torch.logcumsumexp({x}, 0)", f"torch.logsumexp({x}, 0)",
                 f"torch.searchsorted({x}, {o})", f"torch.bucketize({x}, {o})",
                 f"torch.masked_fill({x}, {o}, 1.0)", f"{x}.masked_fill({x} != 0, 1.5)",
                 f"{x}.masked_fill({x} != 0, 1j)", f"torch.masked_select({x}, {o})",
                 f"torch.index_select({x}, 0, {o}.flatten())", f"{x}[{o}]",
                 f"torch.tensor([1, 2]).to(torch.{dt}).requires_grad_()",
                 f"torch.zeros(2, dtype=torch.{dt}, requires_grad=True)",
                 f"{x}.requires_grad_()", f"torch.nn.Parameter({x})",
                 f"torch.cumsum({x}, 0, dtype=torch.bool)", f"torch.addmm({x}, {x}, {o})",
                 f"torch.rad2deg({x})", f"torch.deg2rad({x})", f"torch.exp2({x})",
                 f"torch.logaddexp({x}, {o})", f"torch.frexp({x})", f"torch.ldexp({x}, {o})",
                 f"torch.float_power({x}, {o})", f"torch.clamp({x}, {o}, None)",
                 f"torch.isin({x}, {o})", f"torch.count_nonzero({x})", f"torch.argsort({x})",
                 f"torch.msort({x})", f"torch.flip({x}, (0,))", f"torch.renorm({x}, 2, 0, 1)",
                 f"torch.std_mean({x})", f"torch.nanmean({x})", f"torch.nansum({x})",
                 f"torch.aminmax({x})", f"torch.amax({x})", f"torch.all({x})", f"torch.any({x})"]
        return self._call([lx, lo], y, self.pick(calls), backward=False)

    # -- indices --------------------------------------------------------------------------------
    def bad_index(self):
        shape = self.pick(((3,), (2, 3), (3, 2), (2, 3, 2), (0,), (2, 0)))
        x, lx = self._fl(shape)
        n = max(shape[0] if shape else 1, 1)
        idt = self.pick(["", "", ", dtype=torch.int32", ", dtype=torch.float32",
                         ", dtype=torch.bool", ", dtype=torch.uint8", ", dtype=torch.int16"])
        vals = self.pick([[n], [-n - 1], [0, n], [-1, 0], [n + 5], [0, 0], [-n], [],
                          [2 ** 40], [0, 1]])
        i = f"torch.tensor({vals!r}{idt})"
        i2 = f"torch.tensor({[vals] if len(shape) >= 2 else vals!r}{idt})"
        y = self.fresh()
        sc = self.pick([n, -n - 1, 0, -1, n + 3, 1.0, "True", "None", "..."])
        calls = [f"{x}[{sc}]", f"{x}[:, {sc}]", f"{x}[{i}]", f"{x}[{i}, {i}]",
                 f"{x}[[{n}]]", f"{x}[[0, 1.0]]", f"{x}[{i} > 0]", f"{x}[{x} > 0, 0]",
                 f"{x}[torch.tensor([True, False])]", f"{x}[0, 0, 0, 0]", f"{x}[..., ...]",
                 f"{x}[::-1]", f"{x}[::0]", f"{x}['a']", f"{x}[{{0}}]",
                 f"torch.index_select({x}, 0, {i})", f"{x}.index_select(-1, {i})",
                 f"torch.gather({x}, 0, {i2})", f"torch.gather({x}, -1, {i2}.long())",
                 f"torch.take({x}, {i})", f"{x}.clone().put_({i}, torch.ones(len({i})))",
                 f"{x}.clone().index_fill_(0, {i}, 1.0)",
                 f"{x}.index_add(0, {i}, torch.ones((len({i}),) + {x}.shape[1:]))",
                 f"{x}.index_copy(0, {i}, torch.ones((len({i}),) + {x}.shape[1:]))",
                 f"{x}.detach().index_put_(({i},), torch.tensor(1.0))",
                 f"{x}.index_put(({i},), torch.tensor(1.0), accumulate=True)",
                 f"torch.scatter({x}, 0, {i2}, 1.0)", f"torch.scatter_add({x}, 0, {i2}, {x})",
                 f"{x}.scatter(0, {i2}, {x}, reduce='multiply')",
                 f"torch.scatter_reduce({x}, 0, {i2}, {x}, reduce='amax')",
                 f"torch.scatter_reduce({x}, 0, {i2}, {x}, reduce='bad')",
                 f"{F}.embedding({i}, torch.ones({n}, 2))",
                 f"{F}.embedding({i}, torch.ones({n}, 2), padding_idx={sc})",
                 f"{F}.one_hot({i})", f"{F}.one_hot({i}, {n})",
                 f"{F}.one_hot({i}, num_classes=0)",
                 f"{F}.nll_loss(torch.zeros(len({i}), {n}).log_softmax(1), {i})",
                 f"{F}.cross_entropy(torch.zeros(len({i}), {n}), {i})",
                 f"{F}.cross_entropy(torch.zeros(len({i}), {n}), {i}, ignore_index={sc})",
                 f"{F}.nll_loss(torch.zeros(len({i}), {n}), {i}, weight=torch.ones({n + 1}))",
                 f"{F}.multi_margin_loss(torch.zeros(len({i}), {n}), {i})",
                 f"torch.take_along_dim({x}, {i2}, 0)", f"{x}.masked_select({i} > 0)",
                 f"{x}.select(0, {sc})", f"{x}.clone().masked_scatter_({x} > 0, {i}.float())",
                 f"torch.bincount({i})", f"torch.bincount({i}, minlength=-1)",
                 f"torch.bincount({i}, weights=torch.ones(2))",
                 f"torch.index_reduce({x}, 0, {i}, {x}, 'prod')",
                 f"torch.diagonal({x}, {sc})", f"{x}.unbind()[{sc}]", f"{x}.size({sc})"]
        return self._call([lx], y, self.pick(calls))

    # -- out= -----------------------------------------------------------------------------------
    def bad_out(self):
        a, la = self._fl((2, 3), grad=False, form="plain")
        b, lb = self._fl((2, 3), grad=False, form="plain")
        y = self.fresh()
        odt = self.pick(["int64", "float64", "float16", "bool", "complex64", "float32", "int32"])
        oshape = self.pick([(2, 3), (3,), (0,), (6,), (2, 3, 1), ()])
        o, lo = self.leaf12(oshape, odt, grad=self.coin(0.15), form=self.pick(
            ["plain"] * 4 + ["expand", "t", "slice"]))
        out = self.pick([o, o, o, a, f"{a}[0]", f"({o},)"])
        calls = [f"torch.add({a}, {b}, out={out})", f"torch.mul({a}, 2, out={out})",
                 f"torch.sum({a}, 0, out={out})", f"torch.mean({a}, 1, out={out})",
                 f"torch.exp({a}, out={out})", f"torch.matmul({a}, {b}.T, out={out})",
                 f"torch.mm({a}, {b}.T, out={out})", f"torch.cat([{a}, {b}], out={out})",
                 f"torch.stack([{a}, {b}], out={out})", f"torch.clamp({a}, 0, out={out})",
                 f"torch.where({a} > 0, {a}, {b}, out={out})", f"torch.sort({a}, out=({out}, {o}))",
                 f"torch.max({a}, 0, out=({out}, {o}))", f"torch.argmax({a}, out={out})",
                 f"torch.cumsum({a}, 0, out={out})", f"torch.zeros(2, 3, out={out})",
                 f"torch.arange(6, out={out})", f"torch.eq({a}, {b}, out={out})",
                 f"torch.index_select({a}, 0, torch.tensor([1]), out={out})",
                 f"torch.abs({a}, out={out})", f"torch.floor_divide({a}, 2, out={out})",
                 f"torch.linalg.vector_norm({a}, out={out})", f"torch.prod({a}, 1, out={out})",
                 f"torch.sigmoid({a}, out={out})", f"torch.pow({a}, 2, out={out})",
                 f"torch.round({a}, out={out})", f"torch.logical_and({a}, {b}, out={out})",
                 f"torch.bitwise_and({a}.long(), 3, out={out})", f"torch.div({a}, {b}, "
                 f"rounding_mode='floor', out={out})", f"torch.addmm({a}, {a}, {b}.T, out={out})",
                 f"torch.linspace(0, 1, 6, out={out})", f"torch.full((2, 3), 1.0, out={out})",
                 f"torch.randn(2, 3, out={out})", f"torch.tensordot({a}, {b}, 2, out={out})",
                 f"torch.topk({a}, 1, out=({out}, {o}))", f"torch.neg({a}, out={out})",
                 f"torch.softmax({a}, 0, out={out})", f"torch.nonzero({a}, out={out})"]
        call = self.pick(calls)
        pre = "torch.manual_seed(0); " if "randn" in call else ""
        return f"{la}; {lb}; {lo}; {pre}{y} = {call}; _ = None"

    # -- arguments ------------------------------------------------------------------------------
    def bad_args(self):
        x, lx = self._fl(self.pick(((3,), (2, 3))))
        y = self.fresh()
        calls = [f"torch.sum({x}, dims=0)", f"{x}.sum(axis=0)", f"{x}.mean(axis=(0,))",
                 f"torch.add({x}, None)", f"torch.add(None, {x})", f"torch.mul({x}, 'a')",
                 f"{x} + None", f"{x} * [1, 2, 3]", f"{x} + (1.0,)", "torch.exp(None)",
                 "torch.exp([1.0, 2.0])", "torch.exp(2.0)", "torch.abs(-3)",
                 f"torch.cat({x})", f"torch.cat([{x}, None])", "torch.cat([])",
                 "torch.stack([])", f"torch.cat(({x}, 1.0))", f"torch.stack([{x}, [1.0]])",
                 f"{x}.unsqueeze(1.0)", f"{x}.transpose(0.0, 1)", f"{x}.flip(0.0)",
                 f"torch.topk({x}, 2.0)", f"torch.topk({x}, k=-1)", f"{x}.repeat(2.0)",
                 "torch.zeros(2.5)", "torch.ones((2, 'a'))", "torch.zeros(2, dtype=float)",
                 "torch.zeros(2, dtype='float32')", "torch.zeros(2, dtype=int)",
                 "torch.zeros(2, dtype=bool)", f"{x}.to('float32')", f"{x}.to(float)",
                 f"{x}.to(int)", f"{x}.to(torch.int64, torch.float32)",
                 f"{x}.type('torch.LongTensor')",
                 f"{x}.type(torch.int32)", f"{x}.type('bad')", f"{x}.to('meta').shape",
                 f"{x}.to('cuda')", f"{x}.to(device='cpu', dtype=None)",
                 f"torch.tensor({x})", f"torch.as_tensor({x}, dtype=torch.int64)",
                 f"torch.softmax({x})", f"{F}.softmax({x})", f"torch.max({x}, 0, True, 1)",
                 f"torch.clamp({x}, min=None, max=None)", f"torch.clamp({x}, 1, 0)",
                 f"torch.clip({x}, max=0.5, min=1.0)", f"{x}.clamp(min='a')",
                 f"torch.norm({x}, p='bad')", f"torch.norm({x}, p='nuc')",
                 f"torch.norm({x}, p='fro', dim=0)", f"torch.linalg.vector_norm({x}, ord='fro')",
                 f"torch.linalg.norm({x}, ord=3)", f"torch.linalg.matrix_norm({x})",
                 f"{x}.reshape()", f"{x}.view()", f"{x}.permute()", f"{x}.expand()",
                 f"{x}.repeat()", f"torch.where({x})", f"torch.where({x} > 0, {x})",
                 f"torch.where({x} > 0, 1, 0.5)", f"torch.where({x} > 0, {x}, None)",
                 f"torch.full_like({x}, None)", "torch.tensor(None)", "torch.tensor([])",
                 f"torch.tensor({x}.tolist(), dtype=torch.int64)", f"{x}.item()",
                 f"int({x})", f"float({x})", f"bool({x})", f"len({x}[0])",
                 f"{x}.numpy().shape", f"{x}.tolist()", f"{x}.new_tensor(None)",
                 f"{x}.requires_grad_(1)", f"{x}.sum().backward(torch.ones(2))",
                 f"{x}.backward()", f"torch.autograd.grad({x}.sum(), [{x}])",
                 f"torch.autograd.grad({x}.sum(), {x}, allow_unused=True)",
                 f"torch.einsum('ij', {x})", f"torch.einsum('i->j', {x})",
                 f"torch.einsum('ii->', {x})", f"torch.einsum('...,...->', {x}, {x})",
                 f"torch.einsum('ab->ba', [{x}])", f"{F}.pad({x}, (1,))",
                 f"{F}.pad({x}, (1, 1), mode='bad')", f"{F}.pad({x}, (1, 1, 1, 1, 1, 1))",
                 f"{F}.dropout({x}, p=0.5, training=True, inplace=1)",
                 f"{F}.softmax({x}, dim=0, dtype=torch.int64)",
                 f"{F}.cross_entropy({x}, {x}, reduction='bad')",
                 f"{F}.mse_loss({x}, {x}, reduction=None)", f"{F}.relu({x}, True)",
                 f"{F}.interpolate({x}, scale_factor=2)", f"{F}.linear({x}, None)",
                 f"{F}.embedding({x}, {x})", f"torch.round({x}, decimals=1.5)",
                 f"torch.std({x}, unbiased=False, correction=0)", f"torch.var({x}, correction=-1)",
                 f"torch.var({x}, 0, correction=5)", f"torch.std({x}, correction=1.5)",
                 f"torch.quantile({x}, 1.5)", f"torch.quantile({x}, torch.tensor([0.5, -0.1]))",
                 f"torch.quantile({x}, 0.5, interpolation='bad')", f"torch.nanquantile({x}, -1)",
                 f"torch.kthvalue({x}, 0)", f"torch.kthvalue({x}, 10)",
                 f"torch.multinomial({x}.abs().flatten(), 0)",
                 f"torch.multinomial({x}.abs().flatten(), 10)",
                 f"torch.multinomial(-{x}.abs().flatten() - 1, 1)",
                 f"torch.histc({x}, bins=0)", f"torch.histc({x}, min=1, max=0)",
                 f"torch.diff({x}, n=-1)", f"torch.diff({x}, n=0)", f"torch.cumsum({x})",
                 f"torch.roll({x}, (1, 2), 0)", f"torch.roll({x}, 1, (0, 1))",
                 f"torch.flip({x})", f"torch.rot90({x}, 1, (0,))", f"torch.renorm({x}, -1, 0, 1)",
                 f"torch.renorm({x}, 2, 0, -1)", f"torch.polygamma(-1, {x})",
                 f"torch.mvlgamma({x}.abs() + 3, 0)", f"torch.logit({x}, eps=-1)",
                 f"torch.tril({x}, 1.5)", "torch.eye(2, 3, 4)", "torch.nn.Linear(2, 3, 4)",
                 "torch.nn.Linear(-1, 2)", "torch.nn.Linear(2.0, 3)",
                 "torch.nn.Conv2d(3, 4, 0)", "torch.nn.Conv2d(3, 4, 3, groups=2)",
                 "torch.nn.Dropout(1.5)", "torch.nn.Embedding(3, 2, padding_idx=5)",
                 "torch.nn.LayerNorm(-1)", "torch.nn.BatchNorm1d(0)",
                 "torch.nn.LSTM(2, 3, num_layers=0)", "torch.nn.MultiheadAttention(5, 2)",
                 f"torch.optim.SGD([{x}], lr=-1)", f"torch.optim.Adam([{x}], betas=(1.0, 0.9))",
                 f"torch.optim.Adam([{x}], eps=-1)", "torch.optim.SGD([], lr=0.1)",
                 f"torch.optim.SGD([{x}, {x}], lr=0.1)", f"torch.optim.SGD({x}, lr=0.1)",
                 f"torch.optim.SGD([{x}], lr=0.1, nesterov=True)",
                 f"torch.optim.AdamW([{x}], weight_decay=-1)",
                 f"torch.optim.SGD([{x}], momentum=-0.5)"]
        call = self.pick(calls)
        if call.startswith(("torch.nn.", "torch.optim.")):
            call = f"(torch.manual_seed(0), {call})[1]"  # (the initial weights drawn alike)
        return self._call([lx], y, call, backward=False)

    # -- in-place -------------------------------------------------------------------------------
    def bad_inplace(self):
        dt = self.pick(("float32", "int64", "int32", "bool", "uint8", "float16", "float64"))
        shape = self.pick(((3,), (2, 3), (1, 3), (2, 1)))
        form = self.pick(["plain", "plain", "expand", "t", "slice", "leaf", "leafview"])
        grad = form in ("leaf", "leafview") and dt.startswith("float")
        x, lx = self.leaf12(shape, dt, grad=grad, form=form if form in (
            "plain", "expand", "t", "slice") else "plain")
        parts = [lx]
        tgt = x
        if form == "leafview" and grad:
            tgt = self.fresh()
            parts.append(f"{tgt} = {x}{self.pick(['[0]', '.view(-1)', '[:, None]', '.t()'])}")
        elif form == "expand":
            tgt = self.fresh()
            parts.append(f"{tgt} = {x}.expand(2, *{x}.shape)")
        o = self.pick(["1", "1.5", "-1", "True", "1j", "torch.tensor(1.5)",
                       "torch.tensor([1.5, 2.5, 3.5])", "torch.ones(2, 3)", "torch.ones(4, 2, 3)",
                       "torch.tensor(2, dtype=torch.int64)", "torch.tensor([[1], [2]])",
                       "torch.ones(3, dtype=torch.float64)", "torch.ones(3, dtype=torch.bool)",
                       "torch.ones(1, dtype=torch.complex64)", "torch.ones(3, 1)", "None"])
        y = self.fresh()
        calls = [f"{tgt}.add_({o})", f"{tgt}.sub_({o})", f"{tgt}.mul_({o})", f"{tgt}.div_({o})",
                 f"{tgt}.pow_({o})", f"{tgt}.copy_({o})", f"{tgt}.fill_({o})",
                 f"{tgt}.clamp_({o})", f"{tgt}.clamp_(max={o})", f"{tgt}.lerp_({o}, 0.5)",
                 f"{tgt}.masked_fill_({tgt} != 0, {o})", f"{tgt}.fmod_({o})",
                 f"{tgt}.remainder_({o})", f"{tgt}.floor_divide_({o})",
                 f"{tgt}.bitwise_and_({o})", f"{tgt}.logical_and_({o})", f"{tgt}.atan2_({o})",
                 f"{tgt}.maximum({o})", f"{tgt}.addcmul_({o}, {o})", f"{tgt}.exp_()",
                 f"{tgt}.sqrt_()", f"{tgt}.sigmoid_()", f"{tgt}.relu_()", f"{tgt}.neg_()",
                 f"{tgt}.abs_()", f"{tgt}.round_()", f"{tgt}.zero_()", f"{tgt}.normal_()",
                 f"{tgt}.uniform_(0, 1)", f"{tgt}.random_(0, 3)", f"{tgt}.bernoulli_(0.5)",
                 f"{tgt}.t_()", f"{tgt}.squeeze_()", f"{tgt}.unsqueeze_(0)",
                 f"{tgt}.transpose_(0, 1)", f"{tgt}.resize_(1)", f"{tgt}.set_(torch.ones(2))",
                 f"{tgt}.index_fill_(0, torch.tensor([0]), {o})",
                 f"{tgt}.scatter_(0, torch.zeros_like({tgt}, dtype=torch.long), {o})",
                 f"{tgt}[0] = {o}", f"{tgt}[...] = {o}", f"{tgt}[{tgt} != 0] = {o}",
                 f"{tgt} += {o}", f"{tgt} *= {o}", f"{tgt} /= {o}", f"{tgt} //= {o}",
                 f"{tgt} -= {o}", f"{tgt} **= {o}", f"{tgt} |= {o}", f"{tgt} <<= {o}",
                 f"{F}.relu({tgt}, inplace=True)", f"{F}.dropout({tgt}, 0.5, True, True)",
                 f"{F}.leaky_relu_({tgt})", f"torch.sigmoid_({tgt})",
                 f"torch.add({tgt}, 1, out={tgt})", f"{tgt}.data.add_({o})",
                 f"{tgt}.requires_grad_(False)", f"{tgt}.detach().add_(1)",
                 f"{tgt}.clamp_(0, 1)", f"{tgt}.copy_({tgt}.flip(-1))"]
        call = self.pick(calls)
        pre = "torch.manual_seed(0); " if any(k in call for k in ("normal_", "uniform_",
                                                                  "random_", "bernoulli_",
                                                                  "dropout")) else ""
        if " = " in call.split("(")[0] or any(op in call.split("(")[0] for op in
                                                ("+=", "*=", "/=", "-=", "|=", "<<=")):
            parts.append(pre + call)
            if grad and self.coin(0.5):
                parts.append(f"{y} = {x}.sum().backward()")
            return "; ".join(parts)
        parts.append(f"{pre}{y} = {call}")
        if grad and self.coin(0.4):
            parts.append(f"{self.fresh()} = {x}.sum().backward()")
        return "; ".join(parts)

    # -- empty ----------------------------------------------------------------------------------
    def bad_empty(self):
        shape = self.pick(((0,), (2, 0), (0, 3), (0, 0), (3,), ()))
        x, lx = self.leaf12(shape, self.pick(("float32", "int64", "bool", "float64")),
                            form="plain")
        d = self.pick([0, -1, 1])
        y = self.fresh()
        calls = [f"torch.max({x})", f"torch.min({x}, {d})", f"torch.argmax({x})",
                 f"torch.argmin({x}, {d})", f"torch.amax({x}, {d})", f"torch.amax({x})",
                 f"torch.kthvalue({x}, 1)", f"torch.topk({x}, 1)", f"torch.topk({x}, 0, {d})",
                 f"torch.median({x})", f"torch.median({x}, {d})", f"torch.mode({x})",
                 f"torch.prod({x}, {d})", f"torch.std({x})", f"torch.var({x}, {d})",
                 f"torch.mean({x})", f"torch.logsumexp({x}, {d})", f"torch.aminmax({x})",
                 f"{x}.item()", f"int({x})", f"float({x})", f"bool({x})", f"len({x})",
                 f"list({x})", f"torch.quantile({x}.float(), 0.5)", f"torch.cummax({x}, {d})",
                 f"torch.cat([{x}, torch.ones(2)])", f"torch.stack([{x}, torch.ones(2)])",
                 f"torch.linalg.inv({x}.double())", f"torch.linalg.det({x}.double())",
                 f"torch.min({x}, {d}, keepdim=True)", f"torch.nanmedian({x})",
                 f"torch.histc({x}.float())", f"torch.bincount({x}.long().flatten())",
                 f"torch.multinomial({x}.float().abs(), 1)", f"torch.unique({x}, dim={d})",
                 f"torch.sort({x}, {d})", f"{x}.max({d}).values", f"{x}.view(-1, 0)",
                 f"{x}.reshape(-1, 0)", f"{x}.view(0, -1)", f"{x}.reshape(2, -1)",
                 f"torch.diff({x}, dim={d})", f"torch.trace({x})", f"torch.renorm({x}, 2, 0, 1)",
                 f"torch.all({x}, {d})", f"torch.count_nonzero({x}, {d})",
                 f"torch.softmax({x}.float(), {d})", f"torch.nn.functional.normalize({x}.float())",
                 f"torch.cross({x}, {x})", f"{x}.unfold(0, 1, 1)", f"torch.chunk({x}, 2, {d})",
                 f"torch.fft.fft({x})", f"torch.fft.rfft({x})", f"torch.cumsum({x}, {d})"]
        return self._call([lx], y, self.pick(calls))

    # -- linalg / fft / special -----------------------------------------------------------------
    def bad_linalg(self):
        shape = self.pick(((2, 3), (3, 3), (2, 2, 2), (3,), (0, 0), (2, 3, 3), ()))
        dt = self.pick(("float32", "float64", "float64", "complex64", "int64", "float16"))
        a, la = self.leaf12(shape, dt, form="plain")
        b, lb = self.leaf12(self.pick(((3,), (2,), (3, 3), (3, 1), (2, 2), (2, 3, 1))),
                            self.pick(("float32", "float64", "float64", "complex64")),
                            form="plain")
        y = self.fresh()
        nn = self.pick([0, -1, 2, 5, "2.0", "None"])
        sd = self.pick(["(0, 0)", "(0, -1)", "(-1, 1)", "(2,)", "0", "(0, 1, 2)", "(5,)"])
        calls = [f"torch.linalg.inv({a})", f"torch.linalg.det({a})", f"torch.linalg.slogdet({a})",
                 f"torch.linalg.solve({a}, {b})", f"torch.linalg.lstsq({a}, {b})",
                 f"torch.linalg.cholesky({a})", f"torch.linalg.qr({a}, mode='bad')",
                 f"torch.linalg.svd({a}, full_matrices=False)", f"torch.linalg.svdvals({a})",
                 f"torch.linalg.eig({a})", f"torch.linalg.eigvals({a})",
                 f"torch.linalg.eigh({a}, UPLO='X')", f"torch.linalg.matrix_power({a}, {nn})",
                 f"torch.linalg.matrix_rank({a})", f"torch.linalg.pinv({a})",
                 f"torch.linalg.matrix_norm({a}, ord={self.pick([1, 2, 'fro', 'nuc', 'bad'])!r})",
                 f"torch.linalg.norm({a}, ord={self.pick([1, 2, 3, 'fro', 'nuc', 0])!r})",
                 f"torch.linalg.vector_norm({a}, ord={self.pick([0, -1, 'inf', 'fro'])!r})",
                 f"torch.linalg.cond({a})", f"torch.linalg.matrix_exp({a})",
                 f"torch.linalg.solve_triangular({a}, {b}, upper=True)",
                 f"torch.linalg.lu_factor({a})", f"torch.linalg.lu({a})",
                 f"torch.linalg.vander({a})",
                 f"torch.linalg.householder_product({a}, {b})", f"torch.linalg.tensorinv({a})",
                 f"torch.linalg.tensorsolve({a}, {b})", f"torch.linalg.diagonal({a})",
                 f"torch.linalg.vecdot({a}, {b})", f"torch.linalg.cross({a}, {b})",
                 f"torch.cholesky_solve({b}, {a})", f"torch.triangular_solve({b}, {a})",
                 f"torch.det({a})", f"torch.matrix_exp({a})", f"torch.pinverse({a})",
                 f"torch.fft.fft({a}, n={nn})", f"torch.fft.rfft({a}, n={nn})",
                 f"torch.fft.irfft({a}, n={nn})", f"torch.fft.ifft({a}, norm='bad')",
                 f"torch.fft.fftn({a}, dim={sd})", f"torch.fft.rfft2({a})",
                 f"torch.fft.fft2({a}, s={sd})", f"torch.fft.irfftn({a}, s={sd})",
                 f"torch.fft.fftshift({a}, dim={sd})", f"torch.fft.hfft({a}, n={nn})",
                 f"torch.fft.fftfreq({nn})", f"torch.fft.rfftfreq({nn}, d=0)",
                 f"torch.special.polygamma({nn}, {a})", f"torch.special.multigammaln({a}, {nn})",
                 f"torch.special.zeta({a}, {b})", f"torch.special.bessel_j0({a})",
                 f"torch.special.gammainc({a}, {b})", f"torch.special.log_softmax({a}, {nn})",
                 f"torch.special.softmax({a}, 0)", f"torch.special.logsumexp({a}, {sd})",
                 f"torch.special.round({a})", f"torch.special.i1({a})",
                 f"torch.special.xlogy({a}, {b})",
                 f"torch.special.chebyshev_polynomial_t({a}, {nn})",
                 f"torch.special.hermite_polynomial_h({a}, {b})",
                 f"torch.stft({a}, {nn})", f"torch.istft({a}, 4)", f"torch.vander({a})",
                 f"torch.cov({a})", f"torch.corrcoef({a})", f"torch.cov({a}, correction=-1)",
                 f"torch.cov({a}, fweights=torch.tensor([1, 2]))",
                 f"torch.trapezoid({b}, {a})", f"torch.cumulative_trapezoid({a}, dx=0)",
                 f"torch.atleast_2d({a}, {b})", f"torch.kron({a}, {b})",
                 f"torch.tensordot({a}, {b}, dims={sd})", f"torch.tensordot({a}, {b}, dims=-1)",
                 f"torch.lu_unpack({a}, {b}.int())", f"torch.cdist({a}, {b}, p=-1)",
                 f"torch.cdist({a}, {b}, compute_mode='bad')", f"torch.histogram({a}, 3)",
                 f"torch.logdet({a})", f"torch.inner({a}, {b})", f"torch.outer({a}, {b})"]
        return self._call([la, lb], y, self.pick(calls))


# --------------------------------------------------------------------------------------------
# Reviewed differences of this family
# --------------------------------------------------------------------------------------------

def _line(lines, failure):
    return lines[failure[0]] if failure[0] < len(lines) else ""


def _torch_type(failure):
    """The class PyTorch raised (permissive, raise-mismatch), or ''."""
    text = failure[2]
    if text.startswith("torch raises "):
        return text[len("torch raises "):].split(":", 1)[0]
    if " vs torch " in text:
        return text.split(" vs torch ", 1)[1].split(":", 1)[0]
    return ""


def _none_argument(lines, failure):
    """None where PyTorch's parser wants an int or a bool (``F.dropout(x, 0.5, None)``; ``max``
    / ``min`` / ``median`` / ``nanmedian`` / ``eye(2, m=None)`` raise PyTorch's TypeError since
    s26 BR14, ``squeeze(x, None)`` / ``prod(x, None)`` since s27 BR15, ``round(x,
    decimals=None)`` / ``linalg.pinv(a, None)`` since s27 BR16, ``std(x, None, None)`` /
    ``bucketize(x, b, right=None)`` since s28 BR17):
    deltagrad's signature defaults it to None, meaning every dim, and takes an explicit None
    the same way (the value of the call without it); PyTorch's TypeError is its parser's."""
    return (failure[1] in ("permissive", "raise-mismatch") and _torch_type(failure) == "TypeError"
            and "NoneType" in failure[2] and "None" in _line(lines, failure))


def _dtype_string(lines, failure):
    """A dtype given as a string or a NumPy dtype (``zeros(2, dtype='float32')``): deltagrad
    reads it (its own tests pass dtypes so), PyTorch's parser wants a ``torch.dtype``."""
    return failure[1] == "permissive" and "must be torch.dtype, not" in failure[2]


_NO_OUT = ("where(", "softmax(", "nonzero(", "index_select(")


def _out_unsupported(lines, failure):
    """``out=`` on ``where`` / ``softmax`` / ``nonzero`` / ``index_select``: deltagrad's have no
    ``out=`` (a TypeError naming it); with an ``out`` PyTorch refuses (wrong dtype, needs grad,
    overlaps) the classes differ too."""
    line = _line(lines, failure)
    return ("out=" in line and any(f"torch.{name}" in line for name in _NO_OUT)
            and (("unexpected keyword argument 'out'" in failure[2])
                 or failure[1] == "raise-mismatch" and "deltagrad TypeError" in failure[2]))


def _out_aliases_input(lines, failure):
    """``out=`` that is one of the inputs (``prod(a, 1, out=a)``, ``stack([a, b], out=a)``):
    PyTorch resizes ``out`` before it reads the input and then fails on the resized input or
    reads what it wrote; deltagrad computes from the inputs, then writes."""
    line = _line(lines, failure)
    match = re.search(r"out=\(?(a\d+)", line)
    if not match or failure[1] not in ("permissive", "raise-mismatch", "silent", "we-raise"):
        return False
    call = line.rsplit(" = ", 1)[-1] if "; _ = None" not in line else line.split("; ")[-2]
    return re.search(rf"\b{match.group(1)}\b", call.split("out=", 1)[0]) is not None


def _empty_unchecked(lines, failure):
    """An index out of range into an empty tensor or along an empty dim (``x[[2]]`` of a
    ``(2, 0)`` tensor, ``index_copy`` / ``index_fill`` / ``index_put`` / ``bincount`` /
    ``scatter`` / ``batch_norm`` / ``multi_margin_loss`` of empty operands): PyTorch's kernels
    check nothing when no element is read or written; deltagrad checks the indices and shapes
    it is given (an error, never a value)."""
    line = _line(lines, failure)
    return (failure[1] in ("we-raise", "raise-mismatch")
            and re.search(r"\[\]|\.expand\((\d+, )*0[,)]", line) is not None
            and re.search(r"out of (bounds|range)|size|dtype|shape|weights|Expected|expected|"
                          r"negative", failure[2]) is not None)


def _kernel_dtype(lines, failure):
    """A dtype an op has no kernel for on one side: deltagrad's refusals of bfloat16 / float16 /
    complex where PyTorch computes (histc, renorm, matrix_exp, cummax, isin, logcumsumexp of
    complex), and the other way round (hfft of bfloat16); or both refuse with other classes
    (PyTorch's NotImplementedError "... not implemented for 'BFloat16'" against deltagrad's
    RuntimeError / TypeError / ShapeError)."""
    text, line = failure[2], _line(lines, failure)
    if failure[1] == "we-raise":
        return any(m in text for m in ("not implemented for", "Unsupported input type",
                                       "No loop matching", "bfloat16", "Half"))
    if failure[1] == "permissive":
        return "Unsupported dtype BFloat16" in text
    return failure[1] == "raise-mismatch" and (
        "not implemented for" in text or "Unsupported dtype" in text
        or "deltagrad NotImplementedError" in text and any(
            d in line for d in ("complex64", "bfloat16", "float16", "torch.bool")))


def _parser_type_error(lines, failure):
    """A wrong kind of argument (a float or bool where an int goes, a tuple ``out``, an
    unknown keyword combination) that PyTorch's parser refuses with TypeError before it looks
    further, where deltagrad's first check is another (the dim's range, a shape: IndexError /
    RuntimeError / ValueError). Both raise."""
    return failure[1] == "raise-mismatch" and _torch_type(failure) == "TypeError"


def _check_order(lines, failure):
    """Both raise, the classes differ because the two libraries check in another order or
    report one problem as another class: a shape mismatch deltagrad reports as IndexError /
    ValueError where PyTorch's is RuntimeError (bilinear, addmv, baddbmm, nll_loss's weight,
    index_reduce's count, diag_embed's dims, narrow's length, hermite polynomials' broadcast),
    PyTorch's IndexError for a dim out of range where deltagrad refuses the dtype or the empty
    size first, a module constructor's ``assert`` (AssertionError) against deltagrad's
    ValueError, NumPy's MemoryError / ValueError for impossible sizes."""
    if failure[1] != "raise-mismatch":
        return False
    text = failure[2]
    ours = text.split(" vs torch ", 1)[0].rsplit(" ", 1)[-1]
    theirs = _torch_type(failure)
    return (theirs == "RuntimeError" and ours in ("IndexError", "ValueError", "MemoryError",
                                                   "TypeError")
            or theirs == "IndexError" and ours in ("RuntimeError", "NotImplementedError",
                                                    "ShapeError")
            or theirs == "AssertionError" and ours == "ValueError")


def _grad_out_comparison(lines, failure):
    """``out=`` that requires grad for a function without a gradient (``eq``,
    ``logical_and``): PyTorch writes into it; deltagrad refuses as for any ``out=`` that
    requires grad."""
    return failure[1] == "we-raise" and "functions with out=... arguments" in failure[2] and any(
        f"torch.{name}(" in _line(lines, failure) for name in ("eq", "logical_and", "ne", "lt",
                                                               "isclose", "logical_or"))


def _expanded_write(lines, failure):
    """A write into an expanded tensor that PyTorch lets through because every element gets
    the same value or its storage is reallocated (``fill_`` / ``zero_`` / ``zeros(out=)`` /
    ``resize_`` / ``copy_`` of a value): deltagrad refuses every write into memory that
    elements share (its overlap error)."""
    return failure[1] == "we-raise" and (
        "single memory location" in failure[2] or "not one block NumPy can show" in failure[2])


def _uninitialised(lines, failure):
    """Memory PyTorch leaves uninitialised: the mean of an empty ``multi_margin_loss``, the
    elements ``resize_`` adds (deltagrad's are zeros), a view's storage that ``out=`` grows
    (``arange(8, out=b[0])``: PyTorch's storage grows under the base too)."""
    line = _line(lines, failure)
    return failure[1] == "silent" and ("multi_margin_loss" in line and "[]" in line
                                       or ".resize_(" in line or "out=" in line)


def _running_stats_grad(lines, failure):
    """``batch_norm`` with running statistics that require grad (in eval mode): PyTorch's
    kernel refuses to differentiate them; deltagrad treats them as constants."""
    return failure[1] == "permissive" and "native_batch_norm' is not differentiable" in failure[2]


def _empty_transform(lines, failure):
    """An FFT of an empty input with an explicit size (``irfftn(x, s=(5,))`` of ``[]``):
    PyTorch pads the empty input; deltagrad refuses zero data points."""
    return failure[1] in ("we-raise", "raise-mismatch") and "Invalid number of data points" \
        in failure[2] and "torch.fft." in _line(lines, failure)


def _addr_promotes(lines, failure):
    """``addr`` of an input and vectors of other float dtypes: PyTorch promotes them (its addr
    is composite); deltagrad's add* functions require one dtype, as PyTorch's addmm / addmv /
    baddbmm do (a clear error, not a value)."""
    return failure[1] == "we-raise" and "addr: expected both operands to have the same dtype" \
        in failure[2]


def _repeat_interleave_0d(lines, failure):
    """``repeat_interleave(x, n, dim=-1)`` of a 0-d tensor: PyTorch's kernel reads dim 1 of its
    flattened input (an IndexError); deltagrad takes -1 as the 0-d tensor's one valid dim."""
    return failure[1] == "permissive" and "repeat_interleave(" in _line(lines, failure) \
        and "Dimension out of range" in failure[2]


KNOWN = [
    (_none_argument, "None where PyTorch's parser wants an int: deltagrad's default read"),
    (_dtype_string, "dtype strings / NumPy dtypes accepted (an extension its tests use)"),
    (_out_unsupported, "no out= on where / softmax / nonzero / index_select"),
    (_out_aliases_input, "out= aliasing an input: PyTorch resizes out before reading"),
    (_empty_unchecked, "indices / shapes of empty operands: PyTorch checks nothing"),
    (_kernel_dtype, "dtype kernel coverage differs (both refuse, or one side lacks it)"),
    (_parser_type_error, "PyTorch's parser TypeError first, deltagrad's later check another"),
    (_check_order, "both raise; another check first or another class for the same error"),
    (_grad_out_comparison, "out= requiring grad for a comparison: PyTorch writes"),
    (_expanded_write, "writes into expanded memory: deltagrad refuses every one"),
    (_uninitialised, "PyTorch's result is uninitialised memory"),
    (_running_stats_grad, "batch_norm running stats requiring grad: PyTorch refuses"),
    (_empty_transform, "an FFT of an empty input with a size: PyTorch pads, deltagrad refuses"),
    (_addr_promotes, "addr of mixed float dtypes: PyTorch promotes, deltagrad refuses"),
    (_repeat_interleave_0d, "repeat_interleave of a 0-d tensor along dim -1"),
]

_known = chain_known(sl11.known, KNOWN)


FAMILY = base.Family(Gen12, _known, sl8.wide)
known, compare, program, run = FAMILY.known, FAMILY.compare, FAMILY.program, FAMILY.run


if __name__ == "__main__":
    sys.exit(FAMILY.main())
