"""Session 25's nn.functional family for the program-level differential fuzzer
(``s17_SL_progfuzz.py``): the functional calls drawn through their argument space, unusual but
valid arguments (and some invalid ones, whose exception class must match), each followed now
and then by a weighted backward through its result:

- ``F.conv1d`` / ``conv2d`` / ``conv_transpose1d`` / ``conv_transpose2d`` with weights and
  biases as tensors, stride / padding as int, tuple, ``'same'``, ``'valid'``, dilation, groups,
  output_padding, a padding mode applied first through ``F.pad`` (reflect / replicate /
  circular), and channel counts that do not divide (errors);
- ``F.max_pool`` / ``avg_pool`` 1d / 2d with ceil_mode, count_include_pad, divisor_override,
  return_indices, dilation, padding up to (and past) half the kernel, ``max_unpool``, and the
  adaptive pools with ``None`` in the output size;
- ``F.pad``: constant (with ``value=``, negative pads that crop), reflect, replicate, circular,
  over 1 / 2 / 3 padded dims;
- ``F.interpolate`` with ``size`` vs ``scale_factor`` (a tuple of them too),
  recompute_scale_factor, align_corners, antialias; ``F.unfold`` / ``fold`` with dilation,
  padding and stride, ``pixel_shuffle`` / ``pixel_unshuffle``, ``affine_grid`` +
  ``grid_sample`` (every mode, padding mode, align_corners);
- losses with the options the earlier loss family draws less often (probability targets with
  label smoothing and weight, ignore_index with every reduction, nll_loss over 4-d inputs,
  kl_div log_target, huber / smooth_l1 at beta / delta edges, ctc with zero_infinity);
- ``F.normalize`` / ``pairwise_distance`` / ``cosine_similarity`` with eps / p / dim,
  ``F.one_hot``, ``F.embedding`` with padding_idx / max_norm / norm_type, and softmax /
  log_softmax / softmin with ``dtype=``.

The earlier families' statements stay in at a low weight. Run as a script::

    .venv/bin/python tests/parity/s25_SL11_functional.py [--programs N] [--seed S] [--show I]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as base  # noqa: E402
import s23_SL8_families as sl8  # noqa: E402
import s25_SL10_families as sl10  # noqa: E402
from s17_SL_known import chain_known  # noqa: E402

torch = base.torch
F = "torch.nn.functional"
FDT = ("float32", "float32", "float64")
INF, NEG_INF = "float('inf')", "float('-inf')"


class Gen11(sl10.Gen10):
    """Session 17's grammar (and session 25's integer families) plus the families above."""

    def makers(self):
        old = [(maker, weight * 0.05) for maker, weight in super().makers()]
        return old + [(self.fconv, 8), (self.fpool, 7), (self.fpad, 6), (self.fresample, 5),
                      (self.ffold, 5), (self.fgrid, 4), (self.floss, 8), (self.fmisc, 8)]

    # -- helpers --------------------------------------------------------------------------------
    def _x(self, shape, dt=None, grad=True):
        return self.mat(shape, dt or self.pick(FDT), grad)

    def _int(self, lo, hi):
        return int(self.rng.integers(lo, hi))

    def _tup_or_int(self, nd, lo, hi):
        if nd == 1 or self.coin(0.5):
            v = self._int(lo, hi)
            return str(v) if self.coin(0.7) else f"({v},)" if nd == 1 else str((v, v))
        return str(tuple(self._int(lo, hi) for _ in range(nd)))

    def _finish(self, parts, y):
        """The statements joined, with a weighted backward through ``y`` now and then."""
        if self.coin(0.6):
            parts.append(self.real_loss(y))
        return "; ".join(parts)

    # -- convolutions ---------------------------------------------------------------------------
    def fconv(self):
        kind = self.pick(["conv1d", "conv2d", "conv2d", "conv_transpose1d", "conv_transpose2d"])
        nd = 1 if kind.endswith("1d") else 2
        transpose = "transpose" in kind
        dt = self.pick(FDT)
        g = self.pick([1, 1, 2, 3])
        ci, co = g * self._int(1, 3), g * self._int(1, 3)
        if self.coin(0.05):
            ci += 1  # (channels that groups do not divide: an error)
        k = tuple(self._int(1, 4) for _ in range(nd))
        size = tuple(self._int(2, 7) for _ in range(nd))
        n = self.pick([(1,), (2,), ()])
        x, lx = self._x(n + (ci,) + size, dt)
        wshape = (ci, co // g) + k if transpose else (co, ci // g) + k
        w, lw = self._x(wshape, dt, self.coin(0.7))
        parts = [lx, lw]
        args = [x, w]
        if self.coin(0.5):
            b, lb = self._x((co,), dt, self.coin(0.5))
            parts.append(lb)
            args.append(f"bias={b}")
        if self.coin(0.25) and not transpose:
            mode = self.pick(["reflect", "replicate", "circular", "constant"])
            pads = tuple(self._int(0, 3) for _ in range(2 * nd))
            xp = self.fresh()
            parts.append(f"{xp} = {F}.pad({x}, {pads}, mode={mode!r})")
            args[0] = xp
        stride = self._tup_or_int(nd, 1, 4) if self.coin(0.5) else "1"
        if stride != "1":
            args.append(f"stride={stride}")
        if self.coin(0.6):
            pads = ["0", "1", "2"] + ([] if transpose else ["'same'", "'valid'", "'same'"])
            pad = self.pick(pads)
            if not pad.startswith("'") and self.coin(0.4):
                pad = self._tup_or_int(nd, 0, 3)
            args.append(f"padding={pad}")
        if transpose and self.coin(0.4):
            args.append(f"output_padding={self._tup_or_int(nd, 0, 2)}")
        if self.coin(0.4):
            args.append(f"dilation={self._tup_or_int(nd, 1, 3)}")
        if g > 1 or self.coin(0.1):
            args.append(f"groups={g}")
        y = self.fresh()
        parts.append(f"{y} = {F}.{kind}({', '.join(args)})")
        return self._finish(parts, y)

    # -- pools ----------------------------------------------------------------------------------
    def fpool(self):
        kind = self.pick(["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
                          "adaptive_avg_pool2d", "adaptive_max_pool2d", "adaptive_avg_pool1d",
                          "adaptive_max_pool1d", "max_unpool"])
        nd = 2 if "2d" in kind or kind == "max_unpool" else 1
        size = tuple(self._int(1, 8) for _ in range(nd))
        lead = self.pick([(1, 2), (2, 1), (3,)])
        x, lx = self._x(lead + size)
        parts = [lx]
        y = self.fresh()
        if kind.startswith("adaptive"):
            outs = [self._int(1, 6) for _ in range(nd)]
            if nd == 2 and self.coin(0.5):
                outs[self._int(0, 2)] = None
            out = str(outs[0]) if nd == 1 and self.coin(0.5) else str(tuple(outs))
            kw = ", return_indices=True" if "max" in kind and self.coin(0.4) else ""
            parts.append(f"{y} = {F}.{kind}({x}, {out}{kw})")
            return self._finish(parts, y)
        k = self._int(1, 5)
        kw = [x, self._tup_or_int(nd, 1, 5) if self.coin(0.3) else str(k)]
        if self.coin(0.5):
            kw.append(f"stride={self._tup_or_int(nd, 1, 4)}")
        if self.coin(0.5):
            kw.append(f"padding={self._int(0, k // 2 + 1 + (self.coin(0.1)))}")
        if self.coin(0.5):
            kw.append("ceil_mode=True")
        if kind == "max_unpool":
            i, yy = self.fresh(), self.fresh()
            kw = [x, str(k)] + [a for a in kw[2:] if a.startswith(("stride", "padding"))]
            parts.append(f"{yy}, {i} = {F}.max_pool2d({', '.join(kw)}, return_indices=True)")
            extra = ", output_size=" + str(size) if self.coin(0.4) else ""
            parts.append(f"{y} = {F}.max_unpool2d({yy}, {i}, {', '.join(kw[1:])}{extra})")
            return self._finish(parts, y)
        if kind.startswith("max"):
            if self.coin(0.3) and not any(a.startswith("padding") for a in kw):
                # (PyTorch 2.13's max_pool2d backward corrupts its heap with dilation 2 and
                # padding 1 over a 1x2 plane: free(): invalid next size)
                kw.append(f"dilation={self._int(1, 3)}")
            if self.coin(0.4):
                kw.append("return_indices=True")
        else:
            if self.coin(0.5):
                kw.append(f"count_include_pad={self.pick(['False', 'True'])}")
            if kind == "avg_pool2d" and self.coin(0.4):
                kw.append(f"divisor_override={self._int(1, 5)}")
        parts.append(f"{y} = {F}.{kind}({', '.join(kw)})")
        return self._finish(parts, y)

    # -- padding --------------------------------------------------------------------------------
    def fpad(self):
        mode = self.pick(["constant", "constant", "reflect", "replicate", "circular"])
        npad = self.pick([1, 1, 2, 2, 3])
        lead = self.pick([(1,), (2, 1), (1, 2), ()]) if mode != "constant" else \
            self.pick([(), (2,), (1, 2)])
        size = tuple(self._int(1, 5) for _ in range(npad))
        x, lx = self._x(lead + size, self.pick(FDT + ("float16",)) if mode == "constant"
                        else None)
        lo = -2 if mode in ("constant", "circular") else 0
        pads = tuple(self._int(lo, 4) for _ in range(2 * npad))
        if self.coin(0.2):
            pads = pads[:2 * self._int(1, npad + 1)]
        kw = f", mode={mode!r}" if mode != "constant" or self.coin(0.3) else ""
        if mode == "constant" and self.coin(0.4):
            kw += f", value={self.pick(['1.5', '-2', NEG_INF, '0.0'])}"
        y = self.fresh()
        return self._finish([lx, f"{y} = {F}.pad({x}, {pads}{kw})"], y)

    # -- resampling, fold, pixel shuffle, grids ------------------------------------------------
    def fresample(self):
        mode = self.pick(["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "area"])
        nd = {"linear": 1, "bilinear": 2, "bicubic": 2}.get(mode, self.pick([1, 2]))
        x, lx = self._x((1, self._int(1, 3)) + tuple(self._int(1, 6) for _ in range(nd)),
                        "float64" if mode == "bicubic" else None)
        kw = [x]
        if self.coin(0.4):
            kw.append(f"size={self._tup_or_int(nd, 1, 8)}")
        else:
            sf = [self.pick(["2", "1.5", "0.5", "3", "0.75", "2.5", "1.3", "0.4"])
                  for _ in range(nd)]
            kw.append("scale_factor=" + (sf[0] if self.coin(0.6) else f"({', '.join(sf)},)"))
            if self.coin(0.4):
                kw.append(f"recompute_scale_factor={self.pick(['True', 'False'])}")
        kw.append(f"mode={mode!r}")
        if mode in ("linear", "bilinear", "bicubic") and self.coin(0.5):
            kw.append(f"align_corners={self.pick(['True', 'False'])}")
        if mode in ("bilinear", "bicubic") and self.coin(0.3):
            kw.append("antialias=True")
        y = self.fresh()
        return self._finish([lx, f"{y} = {F}.interpolate({', '.join(kw)})"], y)

    def ffold(self):
        y = self.fresh()
        r = self.rng.random()
        if r < 0.3:
            up = self._int(1, 4)
            c = up * up * self._int(1, 3) + (1 if self.coin(0.05) else 0)
            x, lx = self._x(self.pick([(1,), ()]) + (c, self._int(1, 4), self._int(1, 4)))
            return self._finish([lx, f"{y} = {F}.pixel_shuffle({x}, {up})"], y)
        if r < 0.45:
            d = self._int(1, 3)
            x, lx = self._x((1, self._int(1, 3), d * self._int(1, 4), d * self._int(1, 3)))
            return self._finish([lx, f"{y} = {F}.pixel_unshuffle({x}, {d})"], y)
        k = self._tup_or_int(2, 1, 4)
        kw = [f"kernel_size={k}"]
        for name, lo, hi in (("dilation", 1, 3), ("padding", 0, 2), ("stride", 1, 3)):
            if self.coin(0.4):
                kw.append(f"{name}={self._tup_or_int(2, lo, hi)}")
        if r < 0.75:
            x, lx = self._x(self.pick([(1,), (2,), ()]) + (self._int(1, 3), self._int(1, 6),
                                                             self._int(1, 6)))
            return self._finish([lx, f"{y} = {F}.unfold({x}, {', '.join(kw)})"], y)
        # fold of an unfold's result back to the size it came from (or another one)
        h, w = self._int(2, 6), self._int(2, 6)
        x, lx = self._x((1, self._int(1, 3), h, w))
        u = self.fresh()
        out = (h, w) if self.coin(0.8) else (h + 1, w)
        return self._finish([lx, f"{u} = {F}.unfold({x}, {', '.join(kw)})",
                             f"{y} = {F}.fold({u}, {out}, {', '.join(kw)})"], y)

    def fgrid(self):
        n, c = self._int(1, 3), self._int(1, 3)
        h, w = self._int(1, 5), self._int(1, 5)
        dt = self.pick(["float64", "float64", "float32"])
        theta, lt = self._x((n, 2, 3), dt, self.coin(0.6))
        x, lx = self._x((n, c, h, w), dt)
        ac = self.pick(["True", "False"])
        oh, ow = self._int(1, 5), self._int(1, 5)
        g = self.fresh()
        y = self.fresh()
        mode = self.pick(["bilinear", "nearest", "bicubic"])
        pm = self.pick(["zeros", "border", "reflection"])
        ac2 = ac if self.coin(0.7) else self.pick(["True", "False"])
        # (a scaled grid reaches outside [-1, 1]: the padding modes matter)
        scale = self.pick(["", " * 1.7", " * 0.5"])
        return self._finish([
            lt, lx, f"{g} = {F}.affine_grid({theta}, ({n}, {c}, {oh}, {ow}), align_corners={ac})",
            f"{y} = {F}.grid_sample({x}, {g}{scale}, mode={mode!r}, padding_mode={pm!r}, "
            f"align_corners={ac2})"], y)

    # -- losses ---------------------------------------------------------------------------------
    def floss(self):
        red = self.pick(["", ", reduction='none'", ", reduction='sum'", ", reduction='mean'"])
        kind = self.pick(["ce_idx", "ce_idx", "ce_prob", "nll4", "kl", "huber", "smooth_l1",
                          "bce", "bcel", "ctc", "margin", "cos_emb", "triplet"])
        n, c = self._int(1, 4), self._int(2, 5)
        y = self.fresh()
        dt = self.pick(FDT)
        if kind in ("ce_idx", "ce_prob", "nll4"):
            extra = (self._int(1, 3), self._int(1, 3)) if kind == "nll4" or self.coin(0.3) \
                else ()
            shape = (n, c) + extra if self.coin(0.85) or kind == "nll4" else (c,)
            x, lx = self._x(shape, dt)
            parts = [lx]
            kw = red
            if kind == "ce_prob":
                t = f"torch.tensor({self.flt(shape, 0.0, 1.0)}, dtype=torch.{dt})" \
                    f".softmax({1 if len(shape) > 1 else 0})"
            else:
                tshape = (shape[0],) + shape[2:] if len(shape) > 1 else ()
                ii = self.pick([-100, 1, -1])
                lit = self.rng.integers(0, c, tshape)
                if lit.size and self.coin(0.4):
                    lit.reshape(-1)[0] = ii if ii != -1 else -100
                    if ii != -1:
                        kw += f", ignore_index={ii}"
                t = f"torch.tensor({lit.tolist()})"
            if self.coin(0.4):
                kw += f", weight=torch.tensor({self.flt((c,), 0.1, 2.0)}, dtype=torch.{dt})"
            if kind != "nll4" and self.coin(0.5):
                kw += f", label_smoothing={self.pick(['0.1', '0.5', '1.0', '0.0'])}"
            fn = "nll_loss" if kind == "nll4" else "cross_entropy"
            if kind == "nll4":
                x = f"{x}.log_softmax(1)"
            parts.append(f"{y} = {F}.{fn}({x}, {t}{kw})")
            return self._finish(parts, y)
        x, lx = self._x((n, c), dt)
        parts = [lx]
        if kind == "kl":
            lt = self.coin(0.5)
            t = f"torch.tensor({self.flt((n, c))}, dtype=torch.{dt})"
            t = t if lt else f"{t}.softmax(-1)"
            red2 = self.pick([red, ", reduction='batchmean'"])
            call = f"{F}.kl_div({x}.log_softmax(-1), {t}{red2}, log_target={lt})"
        elif kind in ("huber", "smooth_l1"):
            t = f"torch.tensor({self.flt((n, c))}, dtype=torch.{dt})"
            p = self.pick(["0.0", "0.5", "1.0", "2.0", "1e-6"])
            name = "delta" if kind == "huber" else "beta"
            call = f"{F}.{kind}_loss({x}, {t}{red}, {name}={p})"
        elif kind in ("bce", "bcel"):
            t = f"torch.tensor({self.flt((n, c), 0.0, 1.0)}, dtype=torch.{dt})"
            kw = red
            if self.coin(0.5):
                kw += f", weight=torch.tensor({self.flt((c,), 0.0, 2.0)}, dtype=torch.{dt})"
            if kind == "bcel":
                if self.coin(0.5):
                    kw += f", pos_weight=torch.tensor({self.flt((c,), 0.0, 3.0)}, " \
                          f"dtype=torch.{dt})"
                call = f"{F}.binary_cross_entropy_with_logits({x}, {t}{kw})"
            else:
                call = f"{F}.binary_cross_entropy({x}.sigmoid(), {t}{kw})"
        elif kind == "ctc":
            tlen, slen = self._int(1, 4), self._int(1, 7)
            lx = self.mat((slen, n, c), dt)[1]
            x = lx.split(" = ")[0]
            parts = [lx]
            tg = self.rng.integers(1, c, (n, tlen)).tolist()
            zi = self.pick(["True", "False"])
            call = (f"{F}.ctc_loss({x}.log_softmax(-1), torch.tensor({tg}), "
                    f"torch.tensor({[slen] * n}), torch.tensor({[tlen] * n}){red}, "
                    f"zero_infinity={zi})")
        elif kind == "margin":
            x2, lx2 = self._x((n,), dt)
            parts = [lx2]
            x, lx = self._x((n,), dt)
            parts.append(lx)
            t = f"torch.tensor({self.rng.choice([-1, 1], n).tolist()}, dtype=torch.{dt})"
            call = f"{F}.margin_ranking_loss({x}, {x2}, {t}, " \
                   f"margin={self.pick(['0.0', '0.5', '-0.2'])}{red}"
            call += ")"
        elif kind == "cos_emb":
            x2, lx2 = self._x((n, c), dt)
            parts.append(lx2)
            t = f"torch.tensor({self.rng.choice([-1, 1], n).tolist()})"
            call = f"{F}.cosine_embedding_loss({x}, {x2}, {t}, " \
                   f"margin={self.pick(['0.0', '0.5', '-0.2'])}{red})"
        else:
            x2, lx2 = self._x((n, c), dt)
            x3, lx3 = self._x((n, c), dt)
            parts += [lx2, lx3]
            call = (f"{F}.triplet_margin_loss({x}, {x2}, {x3}, margin={self.pick(['1.0', '0.0'])}"
                    f", p={self.pick(['2', '1', '3.0'])}, eps={self.pick(['1e-6', '0.0', '0.1'])}"
                    f", swap={self.pick(['True', 'False'])}{red})")
        parts.append(f"{y} = {call}")
        return self._finish(parts, y)

    # -- normalisation, distances, one_hot, embedding, softmax dtype ---------------------------
    def fmisc(self):
        y = self.fresh()
        r = self.rng.random()
        dt = self.pick(FDT)
        shape = self.pick([(3,), (2, 3), (2, 1, 3), (1, 4)])
        if r < 0.2:
            x, lx = self._x(shape, dt)
            if self.coin(0.2):
                lx += f"; {x}.data[0] = 0"  # (a zero row: eps decides)
            kw = [x]
            if self.coin(0.5):
                kw.append(f"p={self.pick(['1', '2', '3.0', INF, '0.5'])}")
            if self.coin(0.6):
                kw.append(f"dim={self._int(-len(shape), len(shape))}")
            if self.coin(0.4):
                kw.append(f"eps={self.pick(['0.0', '1e-12', '0.5'])}")
            return self._finish([lx, f"{y} = {F}.normalize({', '.join(kw)})"], y)
        if r < 0.4:
            x, lx = self._x(shape, dt)
            x2, lx2 = self._x(shape[-1:] if self.coin(0.3) else shape, dt)
            if self.coin(0.5):
                kw = [f"dim={self._int(-len(shape), len(shape))}"] if self.coin(0.6) else []
                if self.coin(0.4):
                    kw.append(f"eps={self.pick(['0.0', '1e-8', '1.0'])}")
                call = f"{F}.cosine_similarity({x}, {x2}{''.join(', ' + k for k in kw)})"
            else:
                kw = []
                for a, vals in (("p", ["1.0", "2.0", "3", "0.5", "0.0", "float('inf')"]),
                                ("eps", ["0.0", "1e-6", "0.5"]), ("keepdim", ["True"])):
                    if self.coin(0.4):
                        kw.append(f"{a}={self.pick(vals)}")
                call = f"{F}.pairwise_distance({x}, {x2}{''.join(', ' + k for k in kw)})"
            return self._finish([lx, lx2, f"{y} = {call}"], y)
        if r < 0.5:
            k = self._int(1, 5)
            idx = self.rng.integers(0, k, self.pick([(3,), (2, 2), ()])).tolist()
            nc = self.pick(["", f", {k}", f", num_classes={k + 1}", ", -1", f", {max(k - 1, 0)}"])
            if self.coin(0.1):
                idx = [-1, 0]
            return f"{y} = {F}.one_hot(torch.tensor({idx}){nc})"
        if r < 0.7:
            num, d = self._int(2, 6), self._int(1, 4)
            wt, lw = self._x((num, d), dt, self.coin(0.8))
            idx = self.rng.integers(0, num, self.pick([(3,), (2, 2), (), (4,)])).tolist()
            kw = ""
            if self.coin(0.4):
                kw += f", padding_idx={self._int(-num, num)}"
            if self.coin(0.4):
                kw += f", max_norm={self.pick(['1.0', '0.5', '2.0'])}"
                if self.coin(0.5):
                    kw += f", norm_type={self.pick(['1.0', '3.0', INF])}"
                # (max_norm renormalises the weight in place: a leaf needs no_grad around it)
                lw = lw.replace(".requires_grad_()", "")
            return self._finish([lw, f"{y} = {F}.embedding(torch.tensor({idx}), {wt}{kw})"], y)
        x, lx = self._x(shape, self.pick(FDT + ("float16", "bfloat16")))
        fn = self.pick(["softmax", "log_softmax", "softmin"])
        out = self.pick(["float64", "float32", "float16", "bfloat16"])
        dim = self._int(-len(shape), len(shape))
        form = self.pick([f"{F}.{fn}({x}, dim={dim}, dtype=torch.{out})",
                          f"{F}.{fn}({x}, {dim}, dtype=torch.{out})",
                          f"{x}.{fn if fn != 'softmin' else 'softmax'}({dim}, dtype=torch.{out})",
                          f"torch.{fn if fn != 'softmin' else 'softmax'}({x}, {dim}, "
                          f"dtype=torch.{out})"])
        return self._finish([lx, f"{y} = {form}"], y)


# --------------------------------------------------------------------------------------------
# Reviewed differences of this family
# --------------------------------------------------------------------------------------------

def _circular_past_kept(lines, failure):
    """``F.pad(x, pads, mode='circular')`` with a negative pad on one side and a wrap on the
    other wider than what the crop keeps (``(3, -1)`` over 3 elements): PyTorch copies from
    its own output before writing it, giving uninitialised memory (or its overlap error, when
    its overlap check sees it); deltagrad raises its wrap-around RuntimeError every time."""
    return failure[1] == "we-raise" and "wraps around more than once" in failure[2]


KNOWN = [
    (_circular_past_kept, "circular pad wrapping past the cropped part: PyTorch reads "
                          "uninitialised memory, deltagrad raises"),
]

_known = chain_known(sl10.known, KNOWN)


FAMILY = base.Family(Gen11, _known, sl8.wide)
known, compare, program, run = FAMILY.known, FAMILY.compare, FAMILY.program, FAMILY.run


if __name__ == "__main__":
    sys.exit(FAMILY.main())
