"""Session 22's families for the program fuzzer (``s22_SL7_families.py``), part two:

- torch.func and torch.autograd.functional: grad / grad_and_value (argnums, has_aux), vjp,
  jvp, jacrev / jacfwd, hessian, vmap (in_dims / out_dims tuples and None, chunk_size,
  nested), functional_call with buffers and tied weights; double backward
  (``create_graph=True``) through pointwise ops, activations and losses;
- matmul-family ops: einsum (repeated indices, ellipsis, broadcasting), tensordot, matmul of
  1-d / batched, bmm / baddbmm / addmm / addmv / addr (alpha, beta=0 over nan), outer / kron /
  inner / vdot; distances: cdist (p, compute_mode) / pdist / cosine_similarity /
  pairwise_distance (eps, keepdim), with gradients;
- F.unfold / fold, pixel_shuffle / pixel_unshuffle, channel_shuffle, grid_sample /
  affine_grid (modes, padding_mode, align_corners);
- nn.init after manual_seed (every initializer, fan modes, calculate_gain) and nn.utils
  (clip_grad_norm_ with norm_type inf / 2 / 1, foreach, error_if_nonfinite; clip_grad_value_;
  parameters_to_vector / vector_to_parameters; rnn.pad_sequence / pack_padded_sequence /
  pad_packed_sequence / pack_sequence, enforce_sorted both ways, batch_first).
"""

from __future__ import annotations

F = "torch.nn.functional"
FN = "torch.func"
AF = "torch.autograd.functional"


class MoreFamilies:
    """A mixin for ``base.Gen`` subclasses (needs ``vals`` / ``wbackward`` of ``Gen7``)."""

    def _t(self, shape, dt="float32", grad=True, p_edge=0.0, extra=(), lo=None, hi=None):
        name = self.fresh()
        rg = ", requires_grad=True" if grad else ""
        return name, f"{name} = torch.tensor({self.vals(shape, extra, p_edge, lo, hi)}, " \
                     f"dtype=torch.{dt}{rg})"

    # -- torch.func ---------------------------------------------------------------------------
    def func_transform(self):
        dt = self.pick(["float32", "float64", "float64"])
        n = int(self.rng.integers(1, 4))
        x, lx = self._t((n,), dt, self.coin(0.3))
        w, lw = self._t((n,), dt, self.coin(0.3))
        parts = [lx, lw]
        y = self.fresh()
        body = self.pick(["(u.sin() * v).sum()", "(u * u * v).sum()", "(u.exp() - v).pow(2).sum()",
                          "torch.nn.functional.softplus(u * v).sum()", "(u.tanh() @ v)",
                          "(u.relu() * v.abs()).sum()", "u.logsumexp(0) * v.sum()"])
        f = f"lambda u, v: {body}"
        kind = self.pick(["grad", "grad_argnums", "grad_and_value", "has_aux", "vjp", "jvp",
                          "jacrev", "jacfwd", "hessian", "vmap", "vmap_nested", "vmap_chunk",
                          "vmap_out", "functional_call", "af_jacobian", "af_hessian", "af_vjp",
                          "af_jvp", "af_hvp", "vmap_grad"])
        if kind == "grad":
            parts.append(f"{y} = {FN}.grad({f})({x}, {w})")
        elif kind == "grad_argnums":
            parts.append(f"{y} = {FN}.grad({f}, argnums={self.pick(['1', '(0, 1)', '(1,)'])})"
                         f"({x}, {w})")
        elif kind == "grad_and_value":
            parts.append(f"{y} = {FN}.grad_and_value({f}, argnums="
                         f"{self.pick(['0', '(0, 1)'])})({x}, {w})")
        elif kind == "has_aux":
            parts.append(f"{y} = {FN}.grad(lambda u, v: ({body}, {{'s': u * 2}}), has_aux=True)"
                         f"({x}, {w})")
        elif kind == "vjp":
            o = self.fresh()
            parts.append(f"{o}, {y} = {FN}.vjp(lambda u: u.sin() * {w}, {x}); "
                         f"{y} = {y}(torch.ones_like({o}))")
        elif kind == "jvp":
            parts.append(f"{y} = {FN}.jvp(lambda u: (u.exp() * {w}).cumsum(0), ({x},), "
                         f"(torch.ones_like({x}),))")
        elif kind in ("jacrev", "jacfwd"):
            an = self.pick(["", ", argnums=1", ", argnums=(0, 1)"])
            parts.append(f"{y} = {FN}.{kind}(lambda u, v: (u * v).tanh().cumsum(0){an})"
                         f"({x}, {w})")
        elif kind == "hessian":
            parts.append(f"{y} = {FN}.hessian(lambda u: (u.sin() * u * {w}).sum())({x})")
        elif kind == "vmap":
            b, lb = self._t((2, n), dt, self.coin(0.3))
            parts.append(lb)
            ind = self.pick(["0", "(0, None)", "(0, 0)", "(1, None)"])
            a0 = b if ind != "(1, None)" else f"{b}.T"
            a1 = w if "None" in ind or ind == "0" else b
            parts.append(f"{y} = torch.vmap(lambda u, v: u * v.sum() + u.exp(), in_dims={ind})"
                         f"({a0}, {a1})" if ind != "0" else
                         f"{y} = torch.vmap(lambda u: u.softmax(0) * 2)({b})")
        elif kind == "vmap_nested":
            b, lb = self._t((2, 3, n), dt, self.coin(0.3))
            parts.append(lb)
            parts.append(f"{y} = torch.vmap(torch.vmap(lambda u: (u * u).sum()))({b})")
        elif kind == "vmap_chunk":
            b, lb = self._t((4, n), dt, self.coin(0.3))
            parts.append(lb)
            parts.append(f"{y} = torch.vmap(lambda u: u.cumsum(0) * {w}, chunk_size="
                         f"{self.pick(['1', '3', 'None'])})({b})")
        elif kind == "vmap_out":
            b, lb = self._t((3, n), dt, self.coin(0.3))
            parts.append(lb)
            parts.append(f"{y} = torch.vmap(lambda u: (u * 2, u.sum()), out_dims="
                         f"{self.pick(['(1, 0)', '0', '(0, 0)'])})({b})")
        elif kind == "functional_call":
            m = self.fresh()
            tied = self.coin(0.4)
            parts.append(f"torch.manual_seed({int(self.rng.integers(1000))}); {m} = "
                         f"torch.nn.Sequential(torch.nn.Linear({n}, {n}), torch.nn.BatchNorm1d"
                         f"({n}), torch.nn.Linear({n}, {n})).to(torch.{dt})" +
                         (f"; {m}[2].weight = {m}[0].weight" if tied else ""))
            b, lb = self._t((3, n), dt, self.coin(0.3))
            parts.append(lb)
            newp = self.pick([f"{{'0.weight': {m}[0].weight * 2}}",
                              f"{{'1.running_mean': torch.ones({n}, dtype=torch.{dt})}}",
                              f"{{k: v + 1 for k, v in {m}.named_parameters()}}",
                              f"({{'0.bias': torch.zeros({n}, dtype=torch.{dt})}}, "
                              f"{{'1.weight': torch.full(({n},), 3.0, dtype=torch.{dt})}})"])
            mode = f"; {m}.eval()"  # (train mode: BatchNorm's gradients cancel to residue)
            parts[-2] += mode
            parts.append(f"{y} = {FN}.functional_call({m}, {newp}, ({b},)); "
                         f"{self.wbackward(y)}")
        elif kind == "af_jacobian":
            parts.append(f"{y} = {AF}.jacobian(lambda u, v: u * v.exp(), ({x}, {w}), "
                         f"create_graph={self.pick(['True', 'False'])}, vectorize="
                         f"{self.pick(['True', 'False'])})")
        elif kind == "af_hessian":
            parts.append(f"{y} = {AF}.hessian(lambda u: (u.pow(3) * {w}).sum(), {x})")
        elif kind == "af_vjp":
            parts.append(f"{y} = {AF}.vjp(lambda u: u.sigmoid() * 3, {x}, torch.ones_like({x}))")
        elif kind == "af_jvp":
            parts.append(f"{y} = {AF}.jvp(lambda u: u.sigmoid() * 3, {x}, torch.ones_like({x}))")
        elif kind == "af_hvp":
            fn = self.pick(["hvp", "vhp"])
            parts.append(f"{y} = {AF}.{fn}(lambda u: (u.pow(3) * {w}).sum(), {x}, "
                         f"torch.ones_like({x}))")
        else:  # per-example gradients
            b, lb = self._t((3, n), dt, False)
            parts.append(lb)
            parts.append(f"{y} = torch.vmap({FN}.grad(lambda p, u: (p * u).tanh().sum()), "
                         f"in_dims=(None, 0))({w}, {b})")
        if self.coin(0.3):
            parts.append(f"({y}[0] if isinstance({y}, tuple) else {y}).sum().backward() "
                         f"if torch.is_tensor({y}[0] if isinstance({y}, tuple) else {y}) and "
                         f"({y}[0] if isinstance({y}, tuple) else {y}).requires_grad else None")
        return "; ".join(parts)

    def double_backward(self):
        dt = "float64"  # (float32's second derivatives part by rounding residue of ~1e-6)
        shape = self.pick([(3,), (2, 3)])
        x, lx = self._t(shape, dt, True, p_edge=0.3, extra=(0.0, -0.0, 1.0, -1.0, 3.0))
        parts = [lx]
        op = self.pick(["torch.sqrt({x}.abs() + 1)", "{x}.pow(3)", "{x}.abs() * {x}",
                        "torch.clamp({x}, -1.0, 1.0) * {x}", "torch.special.erf({x})",
                        "torch.special.xlogy({x}, {x}.abs())", "torch.special.i0({x})",
                        "torch.special.log_ndtr({x})", "torch.special.erfcx({x})",
                        "torch.lgamma({x}.abs() + 0.5)", "torch.digamma({x}.abs() + 0.5)",
                        "torch.special.sinc({x})", "torch.special.entr({x}.abs())",
                        "torch.logit({x}.sigmoid())", "{x}.logsumexp(-1)",
                        "{x}.softmax(-1)", "{x}.log_softmax(-1)", F + ".elu({x}, 0.5)",
                        F + ".celu({x})", F + ".selu({x})", F + ".softplus({x}, 2.0)",
                        F + ".mish({x})", F + ".silu({x})", F + ".gelu({x})",
                        F + ".gelu({x}, approximate='tanh')", F + ".logsigmoid({x})",
                        F + ".softsign({x})", F + ".tanhshrink({x})",
                        F + ".hardswish({x})", F + ".leaky_relu({x}, 0.1) * {x}",
                        F + ".smooth_l1_loss({x}, {x}.detach() * 0.5, beta=0.5)",
                        F + ".huber_loss({x}, torch.zeros_like({x}), delta=0.5)",
                        F + ".binary_cross_entropy_with_logits({x}, torch.ones_like({x}) / 3)",
                        F + ".kl_div({x}.log_softmax(-1), torch.ones_like({x}) / 3, "
                        "reduction='batchmean')",
                        F + ".soft_margin_loss({x}, torch.ones_like({x}))",
                        F + ".poisson_nll_loss({x}, torch.ones_like({x}))",
                        F + ".cosine_similarity({x}, {x}.detach() + 1, dim=-1)",
                        "torch.cdist({x}.reshape(-1, 1), {x}.detach().reshape(-1, 1) + 0.5)",
                        "torch.atan2({x}, {x}.detach() + 2)", "torch.special.polygamma(1, "
                        "{x}.abs() + 1)", "torch.special.ndtri({x}.sigmoid())",
                        "torch.special.i1e({x})", "{x}.norm()", "{x}.max() * {x}"]
                       ).format(x=x)
        y, g = self.fresh(), self.fresh()
        parts.append(f"{y} = {op}")
        parts.append(f"{g} = torch.autograd.grad(({y} * torch.arange(1, {y}.numel() + 1, "
                     f"dtype={y}.dtype).reshape({y}.shape)).sum(), {x}, create_graph=True)[0]")
        parts.append(self.wbackward(g))
        return "; ".join(parts)

    # -- matmul family and distances --------------------------------------------------------
    def matmul_family(self):
        dt = self.pick(["float32", "float64", "float32", "int64", "float16"])
        grad = dt != "int64" and self.coin(0.7)
        y = self.fresh()
        kind = self.pick(["einsum", "tensordot", "matmul", "bmm", "baddbmm", "addmm", "addmv",
                          "addr", "outer", "kron", "inner", "vdot", "mv", "dot", "chain_matmul"])
        parts = []

        def t(shape, edge=0.0):
            if dt == "int64":
                name = self.fresh()
                lit = self.rng.integers(-3, 4, shape).tolist()
                parts.append(f"{name} = torch.tensor({lit})")
                return name
            name, line = self._t(shape, dt, grad, p_edge=edge, extra=(float("nan"), 0.0))
            parts.append(line)
            return name
        if kind == "einsum":
            spec, shapes = self.pick([
                ("ii->i", [(3, 3)]), ("ii", [(2, 2)]), ("ij,jk->ik", [(2, 3), (3, 2)]),
                ("...ij,...jk->...ik", [(2, 2, 3), (3, 2)]), ("bij,bjk->bik", [(2, 2, 3),
                                                                               (2, 3, 1)]),
                ("i,i->", [(3,), (3,)]), ("i,j->ij", [(2,), (3,)]), ("iij->j", [(2, 2, 3)]),
                ("ij->", [(2, 3)]), ("ij->ji", [(2, 3)]), ("...i,...i->...", [(2, 3), (1, 3)]),
                ("i...->...", [(2, 3, 2)]), ("ij,ij,ij->i", [(2, 3), (2, 3), (2, 3)]),
                ("bhi,bhj->bij", [(1, 2, 3), (2, 2, 2)]), ("i,i,i->i", [(3,), (3,), (1,)])])
            ops = [t(s) for s in shapes]
            if self.coin(0.3):
                parts.append(f"{y} = torch.einsum('{spec}', [{', '.join(ops)}])")
            else:
                parts.append(f"{y} = torch.einsum('{spec}', {', '.join(ops)})")
        elif kind == "tensordot":
            a, b = t((2, 3, 2)), t((3, 2, 2))
            dims = self.pick(["1", "2", "0", "([1, 2], [0, 1])", "([1], [0])",
                              "([[1], [0]])" if False else "([2, 0], [1, 2])"])
            parts.append(f"{y} = torch.tensordot({a}, {b}, dims={dims})")
        elif kind == "matmul":
            sa, sb = self.pick([((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)),
                                ((2, 2, 3), (3,)), ((3,), (2, 3, 2)), ((2, 1, 2, 3), (3, 3, 1)),
                                ((1, 2, 3), (2, 3, 2)), ((0, 3), (3, 2)), ((2, 0), (0, 3))])
            parts.append(f"{y} = {t(sa, 0.1)} @ {t(sb)}")
        elif kind == "bmm":
            parts.append(f"{y} = torch.bmm({t((2, 2, 3))}, {t((2, 3, 2))})")
        elif kind == "mv":
            parts.append(f"{y} = torch.mv({t((2, 3))}, {t((3,))})")
        elif kind == "dot":
            parts.append(f"{y} = torch.dot({t((3,), 0.2)}, {t((3,))})")
        elif kind == "chain_matmul":
            parts.append(f"{y} = torch.linalg.multi_dot([{t((2, 3))}, {t((3, 3))}, {t((3,))}])")
        elif kind in ("baddbmm", "addmm", "addmv", "addr"):
            shapes = {"baddbmm": [(2, 2, 2), (2, 2, 3), (2, 3, 2)],
                      "addmm": [self.pick([(2, 2), (2,), (1, 2)]), (2, 3), (3, 2)],
                      "addmv": [self.pick([(2,), (1,)]), (2, 3), (3,)],
                      "addr": [self.pick([(2, 3), (3,)]), (2,), (3,)]}[kind]
            inp = t(shapes[0], 0.4)
            m1, m2 = t(shapes[1]), t(shapes[2])
            isf = dt != "int64"
            beta = self.pick(["", ", beta=0", ", beta=0.5" if isf else ", beta=2", ", beta=1"])
            alpha = self.pick(["", ", alpha=2", ", alpha=0", ", alpha=-1.5" if isf else ""])
            parts.append(f"{y} = torch.{kind}({inp}, {m1}, {m2}{beta}{alpha})")
        elif kind in ("outer", "inner", "vdot"):
            s = (3,) if kind != "inner" else self.pick([(3,), (2, 3)])
            parts.append(f"{y} = torch.{kind}({t(s, 0.1)}, {t((3,) if kind != 'inner' else s)})")
        else:  # kron
            parts.append(f"{y} = torch.kron({t(self.pick([(2,), (2, 2), (1, 2, 2)]))}, "
                         f"{t(self.pick([(3,), (2, 1)]))})")
        if grad:
            parts.append(self.wbackward(y))
        return "; ".join(parts)

    def distance(self):
        dt = self.pick(["float32", "float64", "float64"])
        y = self.fresh()
        kind = self.pick(["cdist", "pdist", "cosine_similarity", "pairwise_distance",
                          "cdist_same", "dist", "normalize"])
        parts = []

        def t(shape, edge=0.15):
            name, line = self._t(shape, dt, True, p_edge=edge, extra=(0.0, 0.0, 1.0))
            parts.append(line)
            return name
        p = self.pick(["", ", p=1", ", p=2", ", p=0", ", p=float('inf')", ", p=1.5", ", p=3",
                       ", p=0.5"])
        if kind in ("cdist", "cdist_same"):
            b = self.pick([(), (2,)])
            a = t(b + (self.pick([1, 2, 3]), 2))
            o = a if kind == "cdist_same" else t(b + (self.pick([1, 2, 30]), 2))
            mode = self.pick(["", ", compute_mode='use_mm_for_euclid_dist'",
                              ", compute_mode='donot_use_mm_for_euclid_dist'",
                              ", compute_mode='use_mm_for_euclid_dist_if_necessary'"])
            parts.append(f"{y} = torch.cdist({a}, {o}{p}{mode})")
        elif kind == "pdist":
            parts.append(f"{y} = {F}.pdist({t((self.pick([1, 2, 3, 4]), 2))}{p})")
        elif kind == "cosine_similarity":
            s = self.pick([(2, 3), (3,), (2, 1, 3)])
            s2 = self.pick([s, s[-1:], (1,) + s[1:]])
            eps = self.pick(["", ", eps=0.5", ", eps=1e-12"])
            d = self.pick(["", ", dim=-1", ", dim=0"])
            parts.append(f"{y} = {F}.cosine_similarity({t(s, 0.3)}, {t(s2)}{d}{eps})")
        elif kind == "pairwise_distance":
            s = self.pick([(2, 3), (3,), (1, 3)])
            parts.append(f"{y} = {F}.pairwise_distance({t(s)}, {t(self.pick([s, s[-1:]]))}{p}"
                         f"{self.pick(['', ', eps=0.0', ', eps=0.5'])}"
                         f"{self.pick(['', ', keepdim=True'])})")
        elif kind == "dist":
            parts.append(f"{y} = torch.dist({t((2, 3))}, {t((3,))}{p.replace('p=', '')})")
        else:
            parts.append(f"{y} = {F}.normalize({t((2, 3), 0.3)}{p}, dim={self.pick([0, -1])}"
                         f"{self.pick(['', ', eps=0.5'])})")
        parts.append(self.wbackward(y))
        return "; ".join(parts)

    # -- unfold / fold, shuffles, grid_sample ----------------------------------------------------
    def spatial(self):
        dt = self.pick(["float32", "float64"])
        y = self.fresh()
        parts = []
        kind = self.pick(["unfold", "fold", "pixel_shuffle", "pixel_unshuffle",
                          "channel_shuffle", "grid_sample", "affine_grid", "tensor_unfold"])
        if kind == "unfold":
            x, lx = self._t((1, 2, 4, 3), dt)
            parts.append(lx)
            ks = self.pick(["2", "(2, 3)", "(3, 1)", "1"])
            kw = self.pick(["", ", stride=2", ", padding=1", ", dilation=(1, 2)",
                            ", padding=(1, 0), stride=(2, 1)"])
            parts.append(f"{y} = {F}.unfold({x}{self.pick(['', '[0]'])}, {ks}{kw})")
        elif kind == "fold":
            L = self.pick([(2, 4, (3, 2), "2", ""), (2 * 1, 9, (4, 4), "2", ", stride=1"),
                           (4, 4, (4, 4), "2", ", stride=2"), (2, 6, (3, 4), "(1, 2)",
                                                               ", padding=(0, 1)")])
            x, lx = self._t((1, L[0], L[1]), dt)
            parts.append(lx)
            parts.append(f"{y} = {F}.fold({x}, {L[2]}, {L[3]}{L[4]})")
        elif kind in ("pixel_shuffle", "pixel_unshuffle"):
            if kind == "pixel_shuffle":
                x, lx = self._t(self.pick([(1, 4, 2, 1), (8, 1, 2), (2, 1, 4, 1, 1)]), dt)
                parts.append(lx)
                parts.append(f"{y} = {F}.pixel_shuffle({x}, 2)")
            else:
                x, lx = self._t(self.pick([(1, 1, 4, 2), (2, 2, 4), (1, 1, 3, 2)]), dt)
                parts.append(lx)
                parts.append(f"{y} = {F}.pixel_unshuffle({x}, 2)")
        elif kind == "channel_shuffle":
            x, lx = self._t(self.pick([(1, 4, 2), (2, 6, 1, 1), (1, 4)]), dt)
            parts.append(lx)
            parts.append(f"{y} = {F}.channel_shuffle({x}, {self.pick([2, 3])})")
        elif kind == "tensor_unfold":
            x, lx = self._t((2, 5), dt)
            parts.append(lx)
            parts.append(f"{y} = {x}.unfold({self.pick([0, 1, -1])}, {self.pick([1, 2])}, "
                         f"{self.pick([1, 2, 3])})")
        else:
            ac = self.pick(["", ", align_corners=True", ", align_corners=False"])
            th, lth = self._t((1, 2, 3), dt, lo=-1.2, hi=1.2)
            parts.append(lth)
            size = self.pick([(1, 1, 3, 2), (1, 2, 2, 3)])
            g = self.fresh()
            parts.append(f"{g} = {F}.affine_grid({th}, {size}{ac})")
            if kind == "grid_sample":
                x, lx = self._t(size, dt)
                parts.append(lx)
                mode = self.pick(["", ", mode='nearest'", ", mode='bilinear'",
                                  ", mode='bicubic'"])
                pm = self.pick(["", ", padding_mode='border'", ", padding_mode='reflection'",
                                ", padding_mode='zeros'"])
                parts.append(f"{y} = {F}.grid_sample({x}, {g}{mode}{pm}{ac})")
            else:
                parts.append(f"{y} = {g} * 1")
        parts.append(self.wbackward(y))
        return "; ".join(parts)

    # -- nn.init and nn.utils -------------------------------------------------------------------
    def init_fn(self):
        seed = int(self.rng.integers(0, 2**31))
        dt = self.pick(["float32", "float64"])
        shape = self.pick([(3, 4), (4, 3), (2, 3, 2), (2, 2, 3, 3), (5,), (3, 2, 1)])
        w = self.fresh()
        parts = [f"{w} = torch.zeros({shape}, dtype=torch.{dt})"]
        kind = self.pick(["xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
                          "kaiming_normal_", "trunc_normal_", "orthogonal_", "sparse_", "eye_",
                          "dirac_", "constant_", "uniform_", "normal_", "zeros_", "ones_",
                          "calculate_gain", "fan"])
        INIT = "torch.nn.init"
        if kind.startswith("xavier"):
            parts.append(f"torch.manual_seed({seed}); {INIT}.{kind}({w}"
                         f"{self.pick(['', ', gain=2.0', ', gain=' + INIT + '.calculate_gain(' + repr('tanh') + ')'])})")  # noqa: E501
        elif kind.startswith("kaiming"):
            kw = self.pick(["", ", a=0.1", ", mode='fan_out'", ", nonlinearity='leaky_relu'",
                            ", a=1.0, mode='fan_in', nonlinearity='leaky_relu'",
                            ", nonlinearity='linear'", ", nonlinearity='tanh'",
                            ", mode='fan_out', nonlinearity='relu'"])
            parts.append(f"torch.manual_seed({seed}); {INIT}.{kind}({w}{kw})")
        elif kind == "trunc_normal_":
            parts.append(f"torch.manual_seed({seed}); {INIT}.trunc_normal_({w}"
                         f"{self.pick(['', ', 0.5, 2.0, -1.0, 1.0', ', std=0.02', ', a=0.0'])})")
        elif kind == "orthogonal_":
            parts.append(f"torch.manual_seed({seed}); {INIT}.orthogonal_({w}"
                         f"{self.pick(['', ', gain=0.5'])})")
        elif kind == "sparse_":
            parts[0] = f"{w} = torch.zeros({self.pick([(3, 4), (5, 2)])}, dtype=torch.{dt})"
            parts.append(f"torch.manual_seed({seed}); {INIT}.sparse_({w}, "
                         f"{self.pick(['0.5', '0.1', '0.9'])}{self.pick(['', ', std=0.1'])})")
        elif kind == "eye_":
            parts.append(f"{INIT}.eye_({w})")
        elif kind == "dirac_":
            parts[0] = f"{w} = torch.zeros({self.pick([(4, 2, 3), (2, 2, 3, 3), (4, 1, 3, 1)])}," \
                       f" dtype=torch.{dt})"
            parts.append(f"{INIT}.dirac_({w}{self.pick(['', ', groups=2'])})")
        elif kind == "constant_":
            val = self.pick(["0.3", "-2", "float('nan')"])
            parts.append(f"{INIT}.constant_({w}, {val})")
        elif kind in ("uniform_", "normal_"):
            args = self.pick(["", ", -0.5, 0.5", ", 2.0"]) if kind == "uniform_" else \
                self.pick(["", ", 1.0, 0.1", ", std=3.0"])
            parts.append(f"torch.manual_seed({seed}); {INIT}.{kind}({w}{args})")
        elif kind in ("zeros_", "ones_"):
            parts.append(f"{INIT}.{kind}({w})")
        elif kind == "calculate_gain":
            nl = self.pick(["'linear'", "'conv2d'", "'sigmoid'", "'tanh'", "'relu'",
                            "'leaky_relu'", "'selu'", "'conv_transpose3d'", "'gelu'"])
            param = self.pick(["", ", 0.2", ", None"]) if nl == "'leaky_relu'" else ""
            parts = [f"{w} = {INIT}.calculate_gain({nl}{param})"]
        else:
            parts.append(f"{self.fresh()} = {INIT}._calculate_fan_in_and_fan_out({w})")
        return "; ".join(parts)

    def nn_utils(self):
        dt = self.pick(["float32", "float64"])
        U = "torch.nn.utils"
        kind = self.pick(["clip_norm", "clip_norm", "clip_value", "to_vector", "from_vector",
                          "pad_sequence", "pack_padded", "pack_sequence", "packed_rnn"])
        parts = []
        if kind in ("clip_norm", "clip_value", "to_vector", "from_vector"):
            ps = []
            for _ in range(int(self.rng.integers(1, 4))):
                name, line = self._t(self.pick([(2,), (2, 2), ()]), dt, True)
                parts.append(line)
                ps.append(name)
            gw = self.pick(["1.0", "3.0", "-2.0"])
            edge = self.coin(0.15)
            bw = f"({ps[0]} * {gw}).sum().backward(); " + \
                 ("; ".join(f"({p} * {p}).sum().backward()" for p in ps[1:]) + "; " if ps[1:]
                  else "")
            if edge:
                bad = self.pick(["float('inf')", "float('nan')"])
                bw += f"{ps[0]}.grad.fill_({bad}); "
            y = self.fresh()
            lst = f"[{', '.join(ps)}]"
            if kind == "clip_norm":
                nt = self.pick(["", ", norm_type=1", ", norm_type=2.0", ", norm_type='inf'",
                                ", norm_type=float('inf')", ", norm_type=3"])
                kw = self.pick(["", ", foreach=True", ", foreach=False",
                                ", error_if_nonfinite=True", ", error_if_nonfinite=False"])
                mx = self.pick(["1.0", "0.5", "100.0", "0.0"])
                parts.append(f"{bw}{y} = {U}.clip_grad_norm_({lst if self.coin() else ps[0]}, "
                             f"{mx}{nt}{kw})")
            elif kind == "clip_value":
                parts.append(f"{bw}{y} = {U}.clip_grad_value_({lst}, "
                             f"{self.pick(['0.5', '1.0', '0.0'])}"
                             f"{self.pick(['', ', foreach=True', ', foreach=False'])})")
            elif kind == "to_vector":
                parts.append(f"{y} = {U}.parameters_to_vector({lst}); {self.wbackward(y)}")
            else:
                n = self.fresh()
                parts.append(f"{n} = sum(p.numel() for p in {lst}); {y} = torch.arange({n}, "
                             f"dtype=torch.{dt}); {U}.vector_to_parameters({y} * 0.5, {lst})")
            return "; ".join(parts)
        R = f"{U}.rnn"
        lens = sorted([int(v) for v in self.rng.integers(1, 5, int(self.rng.integers(1, 4)))],
                      reverse=self.coin(0.7))
        seqs = []
        for n in lens:
            name, line = self._t((n, 2), dt, True)
            parts.append(line)
            seqs.append(name)
        y = self.fresh()
        bf = self.pick(["True", "False"])
        es = self.pick(["True", "False"])
        if kind == "pad_sequence":
            parts.append(f"{y} = {R}.pad_sequence([{', '.join(seqs)}], batch_first={bf}, "
                         f"padding_value={self.pick(['0.0', '-1.0'])}"
                         f"{self.pick(['', ', padding_side=' + repr('left')])})")
            parts.append(self.wbackward(y))
        elif kind == "pack_sequence":
            parts.append(f"{y} = {R}.pack_sequence([{', '.join(seqs)}], enforce_sorted={es}); "
                         f"{y} = {R}.pad_packed_sequence({y}, batch_first={bf}, "
                         f"total_length={max(lens) + self.pick([0, 1])})")
        else:
            p = self.fresh()
            parts.append(f"{p} = {R}.pad_sequence([{', '.join(seqs)}], batch_first={bf}); "
                         f"{y} = {R}.pack_padded_sequence({p}, {self.pick([lens, 'torch.tensor(' + repr(lens) + ')'])}, "  # noqa: E501
                         f"batch_first={bf}, enforce_sorted={es})")
            if kind == "packed_rnn":
                m, o = self.fresh(), self.fresh()
                parts.append(f"torch.manual_seed(0); {m} = torch.nn.GRU(2, 3, batch_first={bf})"
                             f".to(torch.{dt}); {o} = {m}({y}); {o} = ({R}.pad_packed_sequence("
                             f"{o}[0], batch_first={bf}), {o}[1]); {o}[1].sum().backward()")
            else:
                q = self.fresh()
                parts.append(f"{q} = {R}.pad_packed_sequence({y}, batch_first={bf}); "
                             f"{q}[0].sum().backward()")
        return "; ".join(parts)
