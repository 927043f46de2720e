"""Session 25's families for the program fuzzer (``s25_SL10_families.py``), part two:

- empty tensors (a 0-size dimension, float / int / bool, with gradients) through reductions
  (with and without a dim over the empty one: the identity, nan, or an error), shape ops
  (reshape / view with -1, expand, repeat, split / chunk / tensor_split / unbind, cat with
  the legacy 1-d empty tensor, stack), matmul over an empty inner dimension and indexing with
  empty index tensors;
- views of views written in place: a non-leaf ``b`` computed from a leaf, a view of a view of
  it, then setitem / index_put_ (accumulate both ways) / ``+=`` on a repeated index /
  index_add_ / index_fill_ / scatter_ / scatter_add_ / scatter_reduce_ / masked_fill_ / put_
  through the inner view: the base and the outer view must see it, and the gradient must
  flow through the write;
- shape-op edges with gradients: unflatten with -1, movedim with lists, squeeze with dim
  tuples, tensor_split by sections / indices / index tensors, split with size lists, chunk of
  uneven sizes, tril / triu with offsets past the size, diag_embed / diagonal with offsets and
  negative dims, flip / roll / rot90 with negative dims and k, repeat_interleave with tensor
  repeats and output_size, broadcast_to / expand with -1, stack / cat of mixed dtypes;
- index ops out of place with gradients (index_put / index_add / scatter_reduce every mode
  with include_self both ways / gather / take / take_along_dim with negative dims), indices
  out of range and negative;
- setitem / getitem with a random mix of index kinds and values (``setget10``), in-place
  writes reading an overlapping view of their target (``overlap10``), and binary ops /
  augmented assignments between the program's tensors of every dtype, 0-d tensors and
  numbers (``promote10``).
"""

from __future__ import annotations

import numpy as np
import torch

WEIGHTED = ("(lambda t: (t * torch.arange(1, t.numel() + 1, dtype=t.dtype).reshape(t.shape))"
            ".sum())")
EMPTY_SHAPES = ((0,), (2, 0), (0, 3), (0, 2, 3), (2, 0, 1), (1, 0))


def _go(y):
    """A weighted backward of ``y`` when it is a float tensor that requires grad."""
    return (f"{WEIGHTED}({y}).backward() if isinstance({y}, torch.Tensor) and {y}.requires_grad"
            f" and {y}.is_floating_point() else None")


class MoreFamilies10:
    """Makers mixed into ``Gen10`` (they use its helpers: pick, coin, fresh, flt)."""

    def _leaf10(self, shape, grad=None):
        """``name, line`` of a leaf of ``shape``: float32 / float64 (with grad at random), int64
        or bool."""
        name = self.fresh()
        dt = self.pick(["float32", "float32", "float64", "int64", "bool"])
        if dt == "bool":
            lit = repr((self.rng.random(shape) < 0.5).tolist())
        elif dt == "int64":
            lit = repr(self.rng.integers(-5, 6, size=shape).tolist())
        else:
            lit = repr(np.round(self.rng.standard_normal(shape), 2).tolist())
        grad = (self.coin(0.7) if grad is None else grad) and dt.startswith("float")
        rg = ", requires_grad=True" if grad else ""
        return name, f"{name} = torch.tensor({lit}, dtype=torch.{dt}{rg})", dt

    # -- empty tensors ---------------------------------------------------------------------------
    def empty_ops(self):
        shape = self.pick(EMPTY_SHAPES)
        n = len(shape)
        name = self.fresh()
        dt = self.pick(["float32", "float64", "int64", "bool"])
        rg = ", requires_grad=True" if dt.startswith("float") and self.coin(0.6) else ""
        lx = f"{name} = torch.zeros({shape}, dtype=torch.{dt}{rg})"
        x = name
        y = self.fresh()
        d = int(self.rng.integers(-n, n))
        kd = self.pick(["", ", keepdim=True"])
        ops = [f"{x}.sum()", f"{x}.sum({d}{kd})", f"{x}.mean()", f"{x}.mean({d}{kd})",
               f"{x}.prod()", f"{x}.prod({d}{kd})", f"{x}.amax()", f"{x}.amax({d}{kd})",
               f"{x}.max()", f"{x}.max({d}{kd})", f"{x}.min({d})", f"{x}.argmax()",
               f"{x}.argmax({d}{kd})", f"{x}.argmin({d})", f"{x}.std()", f"{x}.var({d}{kd})",
               f"{x}.logsumexp({d}{kd})", f"{x}.norm()", f"{x}.norm(dim={d})",
               f"{x}.median()", f"{x}.median({d})", f"{x}.nanmedian({d})", f"{x}.all()",
               f"{x}.all({d})", f"{x}.any({d}{kd})", f"{x}.count_nonzero({d})",
               f"{x}.cumsum({d})", f"{x}.cumprod({d})", f"{x}.aminmax()",
               f"{x}.aminmax(dim={d})", f"{x}.nansum({d})", f"{x}.nanmean()",
               f"{x}.softmax({d})", f"{x}.log_softmax({d})", f"{x}.topk(0, {d})",
               f"{x}.kthvalue(1, {d})", f"{x}.sort({d})", f"{x}.unique()",
               f"{x}.unique(dim={d})", f"{x}.mode({d})", f"{x}.logcumsumexp({d})",
               f"{x}.cummax({d})", f"torch.var_mean({x}, {d})", f"torch.std_mean({x})",
               f"{x}.reshape(-1)", f"{x}.reshape(0, -1)", f"{x}.reshape(-1, 0)",
               f"{x}.view(-1, 5)", f"{x}.view(5, 0, -1)", f"{x}.flatten()",
               f"{x}.unsqueeze({d})", f"{x}.squeeze()", f"{x}.transpose(0, -1)",
               f"{x}.expand(3, *{x}.shape)", f"{x}.expand(2, *([-1] * {x}.dim()))",
               f"{x}.repeat(2, *([3] * {x}.dim()))", f"{x}.flip({d})", f"{x}.roll(1, {d})",
               f"{x}.roll(1)", f"{x}.tril()" if n >= 2 else f"{x}.flip(0)",
               f"torch.cat([{x}, torch.empty(0)])", f"torch.cat([torch.empty(0), {x}], {d})",
               f"torch.cat([{x}, {x}], {d})", f"torch.stack([{x}, {x}], {d})",
               f"torch.cat([torch.ones(2, 3), {x}])", f"torch.cat([{x}, torch.ones(2, 3, "
               f"dtype=torch.int8)], -1)", f"{x}.split(1, {d})", f"{x}.chunk(2, {d})",
               f"{x}.tensor_split(3, {d})", f"{x}.unbind({d})", f"{x}.narrow({d}, 0, 0)",
               f"{x}.t()" if n <= 2 else f"{x}.mT", f"{x}.diagonal()" if n >= 2 else
               f"{x}.diag()", f"{x}.contiguous()",
               f"{x}.index_select({d}, torch.tensor([], dtype=torch.long))",
               f"{x}[torch.tensor([], dtype=torch.long)]", f"{x}[[]]",
               f"{x}.masked_select({x} > 0)" if dt != "bool" else f"{x}.masked_select({x})",
               f"{x}.nonzero()", f"torch.where({x} != 0)", f"{x}.argsort({d})",
               f"torch.matmul({x}.reshape(-1, 0) if {x}.dim() > 1 else {x}, "
               f"torch.ones(0, 2, dtype={x}.dtype))" if shape[-1] == 0 else
               f"torch.ones(3, 0, dtype={x}.dtype) @ {x}.reshape(0, -1)",
               f"{x}.clamp(0, 1)", f"{x}.float().exp()", f"{x}.min()", f"{x}.cummin({d})",
               f"{x}.sum(dtype=torch.float64)", f"{x}.prod(dtype=torch.int32)",
               f"{x}.mean(dtype=torch.float64)", f"{x}.new_empty(0).sum()",
               f"torch.einsum('...->', {x})", f"{x}.movedim(0, -1)", f"{x}.std(correction=0)",
               f"{x}.tolist()", f"{x}.numel()", f"{x}.max(dim={d}).indices",
               f"{x}.float().mean().item()", f"{x}.any().item()", f"{x}.amin(dim=({d},))",
               f"torch.linalg.vector_norm({x}, ord=float('inf'))", f"{x}.histc(3) if "
               f"{x}.is_floating_point() else {x}.bincount()"]
        return f"{lx}; {y} = {self.pick(ops)}; {_go(y)}"

    # -- views of views written in place ---------------------------------------------------------
    def view_chain(self):
        shape = self.pick([(3, 4), (4, 3), (2, 3, 4), (5,), (4, 4)])
        x, lx, dt = self._leaf10(shape)
        b, v1, v2 = self.fresh(), self.fresh(), self.fresh()
        n = len(shape)
        make_b = self.pick([f"{x} * 1", f"{x}.clone()", f"{x}.detach().clone()", f"{x} + 0"])
        if dt == "bool":
            make_b = f"{x}.clone()"
        first = self.pick(["[1:]", "[:, 1:]" if n >= 2 else "[::2]", "[..., ::2]", "[-1]"
                           if n >= 2 else "[1:4]", ".t()" if n == 2 else ".unsqueeze(0)",
                           ".transpose(0, -1)", "[None]", ".view(-1)", ".narrow(0, 1, 2)",
                           ".diagonal()" if n >= 2 else "[::-1].flip(0)" if False else "[2:]",
                           ".unflatten(0, (1, -1))", ".select(-1, 1)" if n >= 2 else "[:3]",
                           ".movedim(0, -1)", ".expand(2, *" + repr(list(shape)) + ")[0]"])
        second = self.pick(["[0]", "[1:]", "[..., :2]", ".t()" if n == 3 else "[:, None]"
                            if n >= 2 else "[None]", ".view(-1)", "[::2]", ".unsqueeze(-1)",
                            ".squeeze()", "[-1:]", ".diagonal(0, 0, -1)" if n >= 2 else "[:]",
                            ".narrow(-1, 0, 1)", ".reshape(-1)", ".T" if n == 2 else "[...]"])
        lines = [lx, f"{b} = {make_b}", f"{v1} = {b}{first}", f"{v2} = {v1}{second}"]
        val = {"bool": "True", "int64": "-3"}.get(dt, "2.5")
        src_dt = {"bool": "torch.bool", "int64": "torch.int64"}.get(dt, f"torch.{dt}")
        w = self.pick([
            f"{v2}[0] = {val}", f"{v2}[...] = {val}", f"{v2}[{v2} > 0] = {val}",
            f"{v2}[torch.tensor([0, 0, -1])] += {val if dt != 'bool' else 'True'}",
            f"{v2}[torch.tensor([0, 0])] = torch.tensor([1, 2], dtype=torch.int8).to("
            f"{src_dt})[:1]",
            f"{v2}.index_put_((torch.tensor([0, 0, -1]),), torch.tensor({val}, dtype="
            f"{src_dt}), accumulate=True)",
            f"{v2}.index_put_((torch.tensor([0, 0]),), torch.tensor({val}, dtype={src_dt}), "
            f"accumulate=False)",
            f"{v2}.index_add_(-1, torch.tensor([0, 0]), torch.ones_like({v2}.narrow(-1, 0, 1)"
            f".expand(*{v2}.shape[:-1], 2)), alpha=2)",
            f"{v2}.index_fill_(-1, torch.tensor([-1, 0]), {val})",
            f"{v2}.scatter_(-1, torch.zeros_like({v2}, dtype=torch.long), {val})",
            f"{v2}.scatter_add_(-1, torch.zeros_like({v2}, dtype=torch.long), {v2}.clone())",
            f"{v2}.scatter_reduce_(-1, torch.zeros_like({v2}, dtype=torch.long), {v2}.clone()"
            f", {self.pick(['sum', 'prod', 'mean', 'amax', 'amin'])!r}, "
            f"include_self={self.coin()})",
            f"{v2}.masked_fill_({v2} != 0, {val})",
            f"{v2}.put_(torch.tensor([0, -1, 0]), torch.tensor([1, 2, 3]).to({src_dt}), "
            f"accumulate=True)",
            f"{v2}.copy_(torch.tensor({val}))", f"{v2}.mul_(2)", f"{v2}.clamp_(max=0)",
            f"{v2}.add_({v2}.flip(0) if {v2}.dim() else {v2})", f"{v2}.zero_()",
            f"{v2}.fill_diagonal_({val})" if False else f"{v2}.neg_()",
            f"{v2}.unsqueeze_(0)", f"{v2}.t_()" if False else f"{v2}.sub_(1)",
            f"{v2} += {v2}"])
        if self.coin(0.3):
            w = f"with torch.no_grad(): {w}"
        lines.append(w)
        if self.coin(0.7):
            lines.append(_go(b))
        return "\n".join(lines)

    # -- shape-op edges --------------------------------------------------------------------------
    def shape_edge(self):
        shape = self.pick([(4,), (2, 3), (3, 4), (2, 3, 4), (1, 3, 1), (4, 1), (2, 2, 2)])
        x, lx, dt = self._leaf10(shape)
        n = len(shape)
        d = int(self.rng.integers(-n, n))
        y = self.fresh()
        k = int(self.rng.integers(-6, 7))
        s = shape[d]
        ops = [
            f"{x}.unflatten({d}, (-1, 1))", f"{x}.unflatten({d}, (1, -1, 1))",
            f"{x}.unflatten({d}, (2, -1))", f"{x}.unflatten(-1, ())" if False else
            f"{x}.flatten({d})", f"torch.movedim({x}, {list(range(n))[:2]}, "
            f"{[-1, 0][:min(2, n)]})", f"{x}.movedim(({d},), (0,))",
            f"{x}.squeeze(({d}, -1))", f"{x}.squeeze(tuple(range({n})))",
            f"{x}.squeeze({d})", f"{x}.tensor_split({self.pick([3, 5, 1])}, {d})",
            f"{x}.tensor_split([1, {s + 2}], {d})", f"{x}.tensor_split([{s}, 0], {d})",
            f"{x}.tensor_split(torch.tensor([1, 2]), {d})",
            f"{x}.tensor_split(torch.tensor(2), {d})", f"{x}.split([1, {s - 1}], {d})",
            f"{x}.split([{s}, 0], {d})", f"{x}.split({s + 3}, {d})", f"{x}.split(3, {d})",
            f"{x}.chunk(3, {d})", f"{x}.chunk({s + 2}, {d})", f"{x}.unbind({d})",
            f"{x}.tril({k})", f"{x}.triu({k})", f"torch.tril({x}, -{s + 3})",
            f"{x}.diag_embed({k % 3 - 1}, {d}, {(d + 1) % (n + 1) - n - 1})",
            f"{x}.diag_embed()", f"{x}.diagonal({k}, 0, -1)" if n >= 2 else f"{x}.diag({k})",
            f"{x}.diagonal(0, -1, {d})" if n >= 2 else f"{x}.diagflat({k})",
            f"{x}.flip({d})", f"{x}.flip(({d}, -1))" if n >= 2 else f"{x}.flip(-1)",
            f"{x}.roll({k}, {d})", f"{x}.roll(({k}, 1), ({d}, -1))" if n >= 2 else
            f"{x}.roll({k})", f"{x}.rot90({k}, ({d}, -1))" if n >= 2 else f"{x}.fliplr()",
            f"{x}.rot90({k}, [-1, 0])" if n >= 2 else f"{x}.flipud()",
            f"{x}.repeat_interleave(torch.tensor({[1] * s}), {d})",
            f"{x}.repeat_interleave(torch.tensor({[2] + [0] * (s - 1)}), {d}, "
            f"output_size=2)", f"{x}.repeat_interleave(2, {d}, output_size={2 * s})",
            f"{x}.repeat_interleave(torch.tensor([3]), {d})", f"{x}.repeat_interleave(2)",
            f"{x}.broadcast_to((2, *([-1] * {n})))", f"{x}.broadcast_to((-1, *{shape}))",
            f"{x}.expand(2, *([-1] * {n}))", f"{x}.expand(-1, *{shape})",
            f"{x}.expand_as(torch.empty(2, *{shape}))",
            f"torch.stack([{x}, {x}.int()], {d})", f"torch.cat([{x}, {x}.bool()], {d})",
            f"torch.cat([{x}.to(torch.uint8), {x}.to(torch.int8)], {d})",
            f"torch.cat([{x}, {x}.double()], {d})", f"torch.cat([{x}, {x}.half()], {d})",
            f"torch.hstack([{x}, {x}.long()])", f"torch.cat(({x},), {d})",
            f"torch.cat([{x}, torch.empty(0, dtype=torch.float64)])",
            f"torch.stack([{x}])", f"{x}.view(-1, {s})" if s else f"{x}.view(-1)",
            f"{x}.t().view(-1)" if n == 2 else f"{x}.permute(*range({n} - 1, -1, -1))"
            f".view(-1)", f"{x}.mT.reshape(-1)" if n >= 2 else f"{x}.reshape(2, -1)",
            f"{x}.unsqueeze(-1).expand(*{shape}, 2).view(-1)",
            f"{x}.unfold({d}, 2, 1)", f"{x}.swapdims(0, {d})", f"{x}.moveaxis(-1, 0)",
            f"torch.atleast_3d({x})", f"{x}.narrow({d}, -1, 1)", f"{x}.select({d}, -1)",
            f"{x}.take(torch.tensor([-1, 0]))", f"{x}.view({x}.dtype)",
            f"{x}.view(torch.int32)" if dt in ("float32", "int64") else f"{x}.view(-1)",
        ]
        return (f"{lx}; {y} = {self.pick(ops)}; _y = {y} if isinstance({y}, torch.Tensor) "
                f"else torch.cat([t.reshape(-1) for t in {y}]); " + _go("_y"))

    # -- index ops out of place -------------------------------------------------------------------
    def index_ops(self):
        shape = self.pick([(4,), (3, 4), (2, 3), (2, 3, 2)])
        x, lx, dt = self._leaf10(shape)
        n = len(shape)
        d = int(self.rng.integers(-n, n))
        s = shape[d]
        y = self.fresh()
        idx = [int(i) for i in self.rng.integers(-s, s, size=int(self.rng.integers(1, 4)))]
        if self.coin(0.1):
            idx[0] = self.pick([s, -s - 1])
        pos = [i % s for i in idx]
        uniq = list(dict.fromkeys(pos))
        sub = list(shape)
        sub[d] = len(idx)
        sub_u = list(shape)
        sub_u[d] = len(uniq)
        src = f"torch.ones({sub}, dtype={x}.dtype)"
        ix = f"torch.tensor({idx})"
        gi = f"torch.tensor({self.rng.integers(0, s, size=sub).tolist()})"
        mode = self.pick(["sum", "prod", "mean", "amax", "amin"])
        ops = [
            f"{x}.index_put(({ix},), torch.tensor(2, dtype={x}.dtype), accumulate=True)",
            f"{x}.index_put(({ix},), torch.tensor(2, dtype={x}.dtype))" if len(uniq) ==
            len(idx) else f"{x}.index_put(({ix},), {x}[{ix}] * 2, accumulate=True)",
            f"{x}.index_add({d}, {ix}, {src}, alpha=-1)",
            f"{x}.index_copy({d}, torch.tensor({uniq}), torch.zeros({sub_u}, dtype="
            f"{x}.dtype))", f"{x}.index_fill({d}, {ix}, -1)",
            f"{x}.index_select({d}, {ix})", f"torch.gather({x}, {d}, {gi})",
            f"{x}.scatter_reduce({d}, {gi}, {x} * 2, {mode!r}, include_self={self.coin()})"
            if gi and self.coin(0.7) else f"{x}.scatter_add({d}, {gi}, {x})",
            f"{x}.scatter({d}, {gi}, 7)", f"{x}.scatter({d}, {gi}, 7, reduce='add')",
            f"{x}.scatter({d}, {gi}, 2, reduce='multiply')",
            f"{x}.take({ix})", f"torch.take_along_dim({x}, {gi}, {d})",
            f"torch.take_along_dim({x}, {x}.argsort({d}), {d})" if dt != "bool" else
            f"{x}.take({ix})", f"torch.take_along_dim({x}, torch.tensor([{pos[0]}]))",
            f"{x}[{ix}]", f"{x}[..., {ix}]", f"{x}[{ix}, None]", f"{x}[None, ..., {pos[0]}]",
            f"{x}[{x} > 0]" if dt != "bool" else f"{x}[{x}]", f"{x}[{idx}]",
            f"{x}[{ix}, {ix}]" if n >= 2 else f"{x}[{ix}][{ix}]",
            f"{x}[:, {ix}]" if n >= 2 else f"{x}[{ix}, ...]",
            f"{x}[{ix}, :, {ix}]" if n == 3 else f"{x}[{ix}, ...]",
            f"{x}[torch.tensor(True)]", f"{x}[torch.tensor([True] * {shape[0]})]",
            f"{x}[{x}.bool()]" if dt != "bool" else f"{x}[~{x}]",
            f"{x}[{tuple(pos[:1] * n)}]", f"{x}[{-shape[0] - 1}]", f"{x}[{shape[0]}:]",
            f"{x}.put(torch.tensor({uniq}), torch.zeros({len(uniq)}, dtype={x}.dtype))",
            f"{x}.put({ix}, torch.ones({len(idx)}, dtype={x}.dtype), accumulate=True)",
            f"{x}.masked_scatter({x} != 0, torch.arange(20, dtype={x}.dtype)"
            f"[:{int(np.prod(shape))}])" if dt != "bool" else f"{x}.masked_fill({x}, 0)",
            f"{x}.clone().index_put_(({ix},) * {n}, torch.tensor(1, dtype={x}.dtype), "
            f"accumulate=True)", f"{x}.index_reduce({d}, {ix}, {src}, {mode!r}, "
            f"include_self={self.coin()})" if mode != "sum" and dt != "bool" else
            f"{x}.index_select({d}, {ix})",
        ]
        return f"{lx}; {y} = {self.pick(ops)}; {_go(y)}"

    # -- setitem / getitem mixes ------------------------------------------------------------------
    def _index10(self, shape):
        """One index expression for a tensor of ``shape``: basic, advanced, masks, None, ...,
        negative and out-of-range positions."""
        n = len(shape)
        parts = []
        for size in (shape[:int(self.rng.integers(1, n + 1))] if n else ()):
            r = self.rng.random()
            if r < 0.2:
                parts.append(str(int(self.rng.integers(-size - (1 if self.coin(0.05) else 0),
                                                       size))))
            elif r < 0.4:
                lo = int(self.rng.integers(-size, size + 1))
                parts.append(self.pick([f"{lo}:", f":{lo}", "::2", "1::2",
                                        ":", f"{lo}:{lo + 2}"]))
            elif r < 0.6:
                k = int(self.rng.integers(1, 4))
                vals = [int(v) for v in self.rng.integers(-size, size, size=k)]
                kind = self.pick(["torch.tensor({v})", "{v}", "torch.tensor({v}, dtype=torch."
                                  "int32)", "torch.tensor([{v}])".replace("{v}", "{v}[0]")])
                parts.append(kind.format(v=vals))
            elif r < 0.75:
                mask = (self.rng.random(size) < 0.5).tolist()
                parts.append(self.pick([f"torch.tensor({mask})", f"{mask}"]))
            elif r < 0.85:
                parts.append("None")
            else:
                parts.append("...")
        if self.coin(0.15):
            parts.append(self.pick(["None", "...", "True", "False", "torch.tensor(True)"]))
        if not parts or self.coin(0.05):
            parts = [self.pick(["...", "None", "()", "True"])]
        return ", ".join(parts)

    def setget10(self):
        names = self.tensors(lambda u: u.dim() >= 1 and u.numel() <= 24 and all(
            st > 0 or n <= 1 for st, n in zip(u.stride(), u.shape)))
        if not names or self.coin(0.3):
            shape = self.pick([(4,), (3, 4), (2, 3, 2), (2, 1, 3)])
            x, lx, _ = self._leaf10(shape)
            parts = [lx]
        else:
            x = self.pick(names)
            parts, shape = [], tuple(self.ns[x].shape)
        idx = self._index10(shape)
        try:  # (the indexed shape, on a stand-in of the same shape)
            target = tuple(eval(f"_t[{idx}]", {"torch": torch, "_t": torch.zeros(shape)}).shape)
        except Exception:  # noqa: BLE001 - an index PyTorch refuses: kept as it is
            target = (2,)
        y = self.fresh()
        if self.coin(0.35):
            parts.append(f"{y} = {x}[{idx}]")
            parts.append(_go(y))
            return "\n".join(parts)
        vshape = list(target[int(self.rng.integers(0, len(target) + 1)):]) if target else []
        vshape = [1 if self.coin(0.2) else v for v in vshape]
        vdt = self.pick(["float32", "float64", "int64", "int8", "bool", "float16", "uint8"])
        n = int(np.prod(vshape)) if vshape else 1
        vals = np.round(self.rng.uniform(-3, 3, n), 1).reshape(vshape)
        if vdt in ("int64", "int8", "uint8"):
            vals = vals.astype(int) % (256 if vdt == "uint8" else 1000)
        elif vdt == "bool":
            vals = vals > 0
        value = self.pick([f"torch.tensor({vals.tolist()}, dtype=torch.{vdt})",
                           self.pick(["1.5", "-2", "True", "0", "-0.0", "float('nan')", "300",
                                      "torch.tensor(2.5)", "torch.tensor(-1)"]),
                           f"{x}[{idx}].flip(0) if {x}[{idx}].dim() else {x}[{idx}]",
                           f"{x}[{idx}] * 2", f"{x}.reshape(-1)[:1]"])
        op = self.pick(["=", "=", "=", "+=", "-=", "*="])
        line = f"{x}[{idx}] {op} {value}"
        if self.coin(0.3):
            line = f"with torch.no_grad(): {line}"
        parts.append(line)
        return "\n".join(parts)

    def overlap10(self):
        x, lx, dt = self._leaf10(self.pick([(5,), (3, 4), (4, 3)]), grad=False)
        w = self.pick([f"{x}[1:] = {x}[:-1]", f"{x}[:-1] = {x}[1:]", f"{x}[1:].copy_({x}[:-1])",
                       f"{x}[:-1].add_({x}[1:])", f"{x}.copy_({x}.flip(0))",
                       f"{x}[::2] = {x}[1::2]" if self.coin() else f"{x}.T.copy_({x})",
                       f"{x}.mul_({x}[0])", f"{x}[0] = {x}[-1]", f"{x}.index_copy_(0, "
                       f"torch.tensor([0]), {x}[-1:])", f"{x}[{x} > 0] = {x}[{x} < 0].sum()",
                       f"{x}.masked_scatter_({x} != 0, {x}.flip(0))",
                       f"{x}.t_() if {x}.dim() == 2 else {x}.unsqueeze_(0)",
                       f"torch.add({x}[1:], 1, out={x}[:-1])",
                       f"torch.neg({x}, out={x}.flip(0))" if False else f"{x}.neg_()",
                       f"{x}.view(-1)[1:].sub_({x}.view(-1)[:-1].clone())"])
        return f"{lx}\n{w}"

    # -- promotion chains ------------------------------------------------------------------------
    def promote10(self):
        names = self.tensors(lambda u: not u.is_complex() and u.numel() <= 24)
        if len(names) < 2 or self.coin(0.2):
            dt = self.pick(["float16", "bfloat16", "float32", "float64", "int8", "uint8",
                            "int32", "bool"])
            shape = self.pick([(), (3,), (2, 3), (1,)])
            name, line, _ = self._leaf10(shape, grad=False)
            return line.replace(line[line.index("dtype=torch."):].split(")")[0],
                                f"dtype=torch.{dt}")
        x, o = self.pick(names), self.pick(names)
        t, u = self.ns[x], self.ns[o]
        other = self.pick([o, o, "2", "2.5", "True", "-1", "torch.tensor(3)",
                           "torch.tensor(1.5, dtype=torch.float64)",
                           "torch.tensor(2, dtype=torch.int8)", "torch.tensor(True)",
                           "torch.tensor(0.5, dtype=torch.float16)",
                           "torch.tensor(1.5, dtype=torch.bfloat16)"])
        if other == o and not _fits(t.shape, u.shape):
            other = "torch.tensor(2.5, dtype=torch.float64)"
        y = self.fresh()
        op = self.pick(["+", "-", "*", "/", "//", "%", "**", "<", "==", "&", "|", "max", "min",
                        "where", "atan2", "cat", "hypot", "pow", "addcmul", "lerp", "ldexp"])
        if self.coin(0.3) and op in ("+", "-", "*", "/", "//", "%", "&", "|", "**"):
            return f"{x} {op}= {other}"
        if op in ("max", "min"):
            return f"{y} = torch.{op}imum({x}, torch.as_tensor({other}))"
        if op == "where":
            return f"{y} = torch.where({x} != 0, {x}, {other})"
        if op in ("atan2", "hypot", "pow", "ldexp"):
            return f"{y} = torch.{op}({x}, torch.as_tensor({other}))"
        if op == "cat":
            return f"{y} = torch.cat([{x}.reshape(-1), torch.as_tensor({other}).reshape(-1)])"
        if op == "addcmul":
            return f"{y} = torch.addcmul({x}, {x}, torch.as_tensor({other}), value=2)"
        if op == "lerp":
            return f"{y} = torch.lerp({x}, torch.as_tensor({other}), 0.5)"
        return f"{y} = {x} {op} {other}" if self.coin(0.7) else f"{y} = {other} {op} {x}"


def _fits(a, b):
    """Whether shapes ``a`` and ``b`` broadcast."""
    for x, y in zip(reversed(tuple(a)), reversed(tuple(b))):
        if x != y and x != 1 and y != 1:
            return False
    return True
