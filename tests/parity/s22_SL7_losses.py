"""Session 22's loss family for the program fuzzer (``s22_SL7_families.py``): every loss in
torch.nn.functional with its options (reduction none / sum / mean, weight, pos_weight,
ignore_index, label_smoothing, log_input / full / eps, margin, p, swap, delta, beta,
zero_infinity, log_target), over 1-d / 2-d / k-d inputs, with targets out of range (errors)
and inputs at edges (probabilities 0 / 1, equal margins), then a weighted backward."""

from __future__ import annotations

import numpy as np

F = "torch.nn.functional"


class LossFamilies:
    """A mixin for ``base.Gen`` subclasses (needs ``pick`` / ``coin`` / ``fresh`` / ``rng``
    and the ``vals`` / ``wbackward`` helpers of ``Gen7``)."""

    def _lf(self, shape, dt, grad=True, lo=None, hi=None, extra=(), p_edge=0.0):
        name = self.fresh()
        rg = ", requires_grad=True" if grad else ""
        return name, f"{name} = torch.tensor({self.vals(shape, extra, p_edge, lo, hi)}, " \
                     f"dtype=torch.{dt}{rg})"

    def _li(self, shape, lo, hi):
        name = self.fresh()
        lit = np.asarray(self.rng.integers(lo, hi, shape)).tolist()
        return name, f"{name} = torch.tensor({lit})"

    def loss(self):
        dt = self.pick(["float32", "float32", "float64", "float16"])
        red = self.pick(["", ", reduction='none'", ", reduction='sum'", ", reduction='mean'"])
        kind = self.pick(["bce", "bce_logits", "kl_div", "poisson_nll", "gaussian_nll", "huber",
                          "smooth_l1", "l1", "mse", "soft_margin", "multilabel_margin",
                          "multilabel_soft_margin", "multi_margin", "margin_ranking",
                          "hinge_embedding", "cosine_embedding", "triplet", "triplet_dist",
                          "ctc", "nll", "cross_entropy", "cross_entropy_probs"])
        n = int(self.rng.integers(1, 4))
        c = int(self.rng.integers(2, 5))
        shape = self.pick([(n,), (n, c), (n, c, 2)])
        parts = []
        y = self.fresh()
        if kind in ("bce", "bce_logits"):
            if kind == "bce":
                x, lx = self._lf(shape, dt, lo=0.0, hi=1.0, extra=(0.0, 1.0, 0.5), p_edge=0.2)
            else:
                x, lx = self._lf(shape, dt, extra=(0.0, 100.0, -100.0, 20.0), p_edge=0.2)
            t, lt = self._lf(shape, dt, False, lo=0.0, hi=1.0, extra=(0.0, 1.0), p_edge=0.4)
            parts += [lx, lt]
            kw = red
            if self.coin(0.4):
                w, lw = self._lf(shape[-1:], dt, False, lo=0.0, hi=2.0)
                parts.append(lw)
                kw += f", weight={w}"
            if kind == "bce_logits" and self.coin(0.4):
                pw, lpw = self._lf(shape[-1:], dt, False, lo=0.0, hi=3.0)
                parts.append(lpw)
                kw += f", pos_weight={pw}"
            if kind == "bce" and self.coin(0.1):
                t = f"{t} * 2"  # (targets outside [0, 1])
            fn = "binary_cross_entropy" if kind == "bce" else \
                "binary_cross_entropy_with_logits"
            parts.append(f"{y} = {F}.{fn}({x}, {t}{kw})")
        elif kind == "kl_div":
            x, lx = self._lf(shape, dt, extra=(0.0, -float("inf")), p_edge=0.1)
            log_t = self.coin()
            if log_t:
                t, lt = self._lf(shape, dt, self.coin(0.3), extra=(-float("inf"),), p_edge=0.1)
            else:
                t, lt = self._lf(shape, dt, self.coin(0.3), lo=0.0, hi=1.0, extra=(0.0,),
                                 p_edge=0.3)
            parts += [lx, lt]
            r = self.pick(["", ", reduction='none'", ", reduction='sum'", ", reduction='mean'",
                           ", reduction='batchmean'"])
            parts.append(f"{y} = {F}.kl_div({x}, {t}{r}, log_target={log_t})")
        elif kind == "poisson_nll":
            li = self.coin()
            x, lx = self._lf(shape, dt, lo=None if li else 0.0, hi=None if li else 3.0,
                             extra=(0.0,), p_edge=0.2)
            t, lt = self._lf(shape, dt, False, lo=0.0, hi=4.0, extra=(0.0, 1.0, 3.0),
                             p_edge=0.3)
            parts += [lx, lt]
            parts.append(f"{y} = {F}.poisson_nll_loss({x}, {t}, log_input={li}, full="
                         f"{self.pick(['True', 'False'])}{self.pick(['', ', eps=1e-3'])}{red})")
        elif kind == "gaussian_nll":
            x, lx = self._lf(shape, dt)
            t, lt = self._lf(shape, dt, False)
            vshape = self.pick([shape, shape[:-1] + (1,), shape[:-1]])
            v, lv = self._lf(vshape, dt, self.coin(), lo=0.0, hi=2.0, extra=(0.0,), p_edge=0.2)
            parts += [lx, lt, lv]
            parts.append(f"{y} = {F}.gaussian_nll_loss({x}, {t}, {v}, full="
                         f"{self.pick(['True', 'False'])}{self.pick(['', ', eps=0.5'])}{red})")
        elif kind in ("huber", "smooth_l1", "l1", "mse", "soft_margin"):
            x, lx = self._lf(shape, dt, extra=(0.0, 1.0, -1.0), p_edge=0.2)
            t, lt = self._lf(shape, dt, self.coin(0.3), extra=(0.0, 1.0, -1.0), p_edge=0.2)
            if kind == "soft_margin":
                t, lt = t, f"{t} = torch.tensor({np.where(self.rng.random(shape) < .5, -1.0, 1.0).tolist()}, dtype=torch.{dt})"  # noqa: E501
            parts += [lx, lt]
            opt = {"huber": self.pick(["", ", delta=0.5", ", delta=2.0"]),
                   "smooth_l1": self.pick(["", ", beta=0.5", ", beta=0.0", ", beta=2.0"]),
                   }.get(kind, "")
            fn = {"huber": "huber_loss", "smooth_l1": "smooth_l1_loss", "l1": "l1_loss",
                  "mse": "mse_loss", "soft_margin": "soft_margin_loss"}[kind]
            parts.append(f"{y} = {F}.{fn}({x}, {t}{opt}{red})")
        elif kind == "multilabel_margin":
            s = self.pick([(c,), (n, c)])
            x, lx = self._lf(s, dt)
            tgt = self.rng.integers(-1, c + (1 if self.coin(0.1) else 0), s)
            t = self.fresh()
            parts += [lx, f"{t} = torch.tensor({tgt.tolist()})"]
            parts.append(f"{y} = {F}.multilabel_margin_loss({x}, {t}{red})")
        elif kind == "multilabel_soft_margin":
            x, lx = self._lf((n, c), dt, extra=(0.0, 50.0), p_edge=0.1)
            t, lt = self._lf((n, c), dt, False, lo=0.0, hi=1.0, extra=(0.0, 1.0), p_edge=0.5)
            parts += [lx, lt]
            kw = red
            if self.coin(0.4):
                w, lw = self._lf((c,), dt, False, lo=0.0, hi=2.0)
                parts.append(lw)
                kw += f", weight={w}"
            parts.append(f"{y} = {F}.multilabel_soft_margin_loss({x}, {t}{kw})")
        elif kind == "multi_margin":
            s = self.pick([(c,), (n, c)])
            x, lx = self._lf(s, dt, extra=(0.0, 1.0), p_edge=0.2)
            t, lt = self._li(() if len(s) == 1 else (n,), 0, c + (1 if self.coin(0.1) else 0))
            parts += [lx, lt]
            kw = red + self.pick(["", ", p=2", ", margin=0.5", ", p=2, margin=2.0"])
            if self.coin(0.3):
                w, lw = self._lf((c,), dt, False, lo=0.0, hi=2.0)
                parts.append(lw)
                kw += f", weight={w}"
            parts.append(f"{y} = {F}.multi_margin_loss({x}, {t}{kw})")
        elif kind == "margin_ranking":
            x1, l1 = self._lf((n,), dt, extra=(0.0,), p_edge=0.3)
            x2, l2 = self._lf((n,), dt, extra=(0.0,), p_edge=0.3)
            t = self.fresh()
            parts += [l1, l2, f"{t} = torch.tensor({self.rng.choice([-1.0, 1.0], n).tolist()},"
                              f" dtype=torch.{dt})"]
            parts.append(f"{y} = {F}.margin_ranking_loss({x1}, {x2}, {t}"
                         f"{self.pick(['', ', margin=0.5', ', margin=-1.0'])}{red})")
        elif kind == "hinge_embedding":
            x, lx = self._lf(shape, dt, extra=(1.0, 0.0), p_edge=0.3)
            t = self.fresh()
            parts += [lx, f"{t} = torch.tensor({self.rng.choice([-1.0, 1.0], shape).tolist()},"
                          f" dtype=torch.{dt})"]
            parts.append(f"{y} = {F}.hinge_embedding_loss({x}, {t}"
                         f"{self.pick(['', ', margin=0.5', ', margin=2.0'])}{red})")
        elif kind == "cosine_embedding":
            s = self.pick([(n, c), (c,)])
            x1, l1 = self._lf(s, dt, extra=(0.0,), p_edge=0.2)
            x2, l2 = self._lf(s, dt)
            t = self.fresh()
            ts = (n,) if len(s) == 2 else ()
            tv = self.rng.choice([-1.0, 1.0], ts)
            parts += [l1, l2, f"{t} = torch.tensor({np.asarray(tv).tolist()}, "
                              f"dtype=torch.{dt})"]
            parts.append(f"{y} = {F}.cosine_embedding_loss({x1}, {x2}, {t}"
                         f"{self.pick(['', ', margin=0.5', ', margin=-0.2'])}{red})")
        elif kind in ("triplet", "triplet_dist"):
            s = self.pick([(n, c), (c,)])
            a, la = self._lf(s, dt)
            p, lp = self._lf(s, dt)
            ng, lng = self._lf(s, dt)
            parts += [la, lp, lng]
            sw = self.pick(["", ", swap=True"])
            m = self.pick(["", ", margin=0.5", ", margin=2.0"])
            if kind == "triplet":
                pp = self.pick(["", ", p=1", ", p=3", ", eps=0.1"])
                parts.append(f"{y} = {F}.triplet_margin_loss({a}, {p}, {ng}{m}{pp}{sw}{red})")
            else:
                df = self.pick(["", ", distance_function=lambda u, v: 1 - "
                                f"{F}.cosine_similarity(u, v, dim=-1)",
                                f", distance_function={F}.pairwise_distance"])
                parts.append(f"{y} = {F}.triplet_margin_with_distance_loss({a}, {p}, {ng}{df}"
                             f"{m}{sw}{red})")
        elif kind == "ctc":
            tlen, b, cls = int(self.rng.integers(2, 6)), int(self.rng.integers(1, 3)), c + 1
            lg = self.fresh()
            dtc = self.pick(["float32", "float64"])
            parts.append(f"{lg} = torch.tensor({self.vals((tlen, b, cls), p_edge=0.0)}, "
                         f"dtype=torch.{dtc}).log_softmax(-1).detach().requires_grad_()")
            slen = int(self.rng.integers(1, tlen + 2))
            blank = self.pick([0, cls - 1])
            lo_c, hi_c = (1, cls) if blank == 0 else (0, cls - 1)
            tg = self.rng.integers(lo_c, hi_c, (b, slen))
            if self.coin(0.5):
                tg[0, 0] = tg[0, -1]  # (repeats need a blank between)
            t = self.fresh()
            il = [tlen] * b if self.coin() else [int(self.rng.integers(1, tlen + 1))
                                                 for _ in range(b)]
            tl = [int(self.rng.integers(1 if slen else 0, slen + 1)) for _ in range(b)]
            parts.append(f"{t} = torch.tensor({tg.tolist()})")
            zi = self.pick(["", ", zero_infinity=True", ", zero_infinity=False"])
            parts.append(f"{y} = {F}.ctc_loss({lg}, {t}, {il}, {tl}, blank={blank}{zi}{red})")
        elif kind in ("nll", "cross_entropy"):
            ks = self.pick([(c,), (n, c), (n, c, 2), (n, c, 2, 1)])
            x, lx = self._lf(ks, dt, extra=(0.0, -float("inf"), 30.0), p_edge=0.05)
            tshape = () if len(ks) == 1 else (ks[0],) + ks[2:]
            hi = c + (1 if self.coin(0.08) else 0)
            tv = self.rng.integers(-1 if self.coin(0.05) else 0, hi, tshape)
            ign = self.pick(["", "", ", ignore_index=1", ", ignore_index=-100",
                             ", ignore_index=0"])
            if "ignore_index=1" in ign and tv.size:
                np.asarray(tv).reshape(-1)[0] = 1
            t = self.fresh()
            parts += [lx, f"{t} = torch.tensor({np.asarray(tv).tolist()})"]
            kw = red + ign
            if self.coin(0.35):
                w, lw = self._lf((c,), dt, False, lo=0.0, hi=2.0, extra=(0.0,), p_edge=0.2)
                parts.append(lw)
                kw += f", weight={w}"
            if kind == "cross_entropy":
                kw += self.pick(["", "", ", label_smoothing=0.1", ", label_smoothing=1.0"])
                parts.append(f"{y} = {F}.cross_entropy({x}, {t}{kw})")
            else:
                parts.append(f"{y} = {F}.nll_loss({x}.log_softmax({1 if len(ks) > 1 else 0})"
                             f", {t}{kw})")
        else:  # cross_entropy with class probabilities
            ks = self.pick([(c,), (n, c), (n, c, 2)])
            x, lx = self._lf(ks, dt)
            t, lt = self._lf(ks, dt, False, lo=0.0, hi=1.0, extra=(0.0,), p_edge=0.3)
            parts += [lx, lt]
            kw = red + self.pick(["", ", label_smoothing=0.2"])
            if self.coin(0.35):
                w, lw = self._lf((c,), dt, False, lo=0.0, hi=2.0)
                parts.append(lw)
                kw += f", weight={w}"
            parts.append(f"{y} = {F}.cross_entropy({x}, {t}{kw})")
        parts.append(self.wbackward(y))
        return "; ".join(parts)
