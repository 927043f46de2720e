"""Session 21's families for the program fuzzer, part two (mixed into ``s21_SL6_families.Gen6``):

- shape ops with gradients: reshape / view of non-contiguous tensors (errors), squeeze /
  unsqueeze with dim tuples and negatives, flatten / unflatten, movedim / moveaxis / permute,
  flip / fliplr / flipud / roll / rot90, diagonal / diag / diag_embed / diagflat with offsets,
  tril / triu batched, chunk / split / tensor_split / hsplit / vsplit / dsplit (sections and
  indices), unbind, narrow, as_strided, expand / expand_as / broadcast_to / broadcast_tensors,
  stack / cat / hstack / vstack / dstack / column_stack / row_stack with mixed dtypes,
  block_diag / cartesian_prod / combinations, atleast_nd, take_along_dim, repeat_interleave;
- printing: str / repr of tensors (bool / int / half / complex, summarised sizes, inf / nan /
  -0.0, large and small magnitudes, requires_grad / grad_fn suffixes) under
  set_printoptions(precision=, sci_mode=, threshold=, edgeitems=, linewidth=, profile=), and of
  nn modules and Parameters: the text must match exactly;
- optimizers with random options over a few steps, lr schedulers (chained, SequentialLR,
  ReduceLROnPlateau with mode / threshold_mode / cooldown), get_last_lr, state_dict round
  trips mid-run;
- torch.utils.data: DataLoader with a seeded Generator (shuffle, drop_last, batch_size=None,
  samplers), Random / Subset / Weighted / Batch samplers, random_split with fractions,
  default_collate of nested dicts / tuples / numbers / numpy arrays.
"""

from __future__ import annotations

import numpy as np


def _t(rng, shape, dtype="float32", grad=True):
    a = np.round(rng.standard_normal(shape), 3).tolist()
    rg = ", requires_grad=True" if grad else ""
    return f"torch.tensor({a!r}, dtype=torch.{dtype}{rg})"


_BACKWARD = ("[(t.double() * torch.arange(1, t.numel() + 1, dtype=torch.float64).reshape("
             "t.shape)).sum().backward(retain_graph=True) for t in ({y} if isinstance({y}, "
             "(tuple, list)) else [{y}]) if torch.is_tensor(t) and t.requires_grad]")


class MoreFamilies:
    """Makers for the families above (a mixin over ``s17_SL_progfuzz.Gen``)."""

    # -- shape ops ------------------------------------------------------------------------------
    def shape_op(self):
        nd = self.pick([1, 2, 2, 3, 3, 4])
        shape = tuple(int(self.rng.integers(1, 5)) for _ in range(nd))
        x = self.fresh()
        dtype = self.pick(["float32", "float64", "float32"])
        parts = [f"{x} = {_t(self.rng, shape, dtype)}"]
        src = x
        if self.coin(0.3) and nd >= 2:  # a non-contiguous input
            src = f"{x}.transpose(0, -1)"
            shape = (shape[-1],) + shape[1:-1] + (shape[0],)
        y = self.fresh()
        d = int(self.rng.integers(-nd, nd))
        n = shape[d]
        kind = self.pick([
            "reshape", "view", "squeeze", "unsqueeze", "flatten", "unflatten", "movedim",
            "permute", "flip", "roll", "rot90", "diagonal", "diag", "diag_embed", "diagflat",
            "tril", "chunk", "split", "tensor_split", "hvdsplit", "unbind", "narrow",
            "as_strided", "expand", "broadcast", "stack", "cat", "hvstack", "block_diag",
            "cartesian", "combinations", "atleast", "repeat_interleave", "tile", "swap"])
        if kind in ("reshape", "view"):
            tgt = self.pick([(-1,), (shape[0], -1), (-1, shape[-1]), tuple(reversed(shape)),
                             (1, -1, 1), (2, -1), ()])
            y_line = f"{src}.{kind}({tgt})" if self.coin(0.7) else f"{src}.{kind}(*{tgt})"
            if kind == "view" and self.coin(0.3):
                y_line = f"{src}.view({self.pick(['torch.float64', 'torch.int32'])})"
        elif kind == "squeeze":
            dims = self.pick([str(d), f"({d},)", f"({d}, {(d + 1) % nd - nd})", "()", ""])
            y_line = f"{self.pick(['torch.squeeze(' + src + ', ', src + '.squeeze('])}{dims})"
            if dims == "":
                y_line = f"{src}.squeeze()"
        elif kind == "unsqueeze":
            y_line = f"{src}.unsqueeze({int(self.rng.integers(-nd - 1, nd + 1))})"
        elif kind == "flatten":
            a, b = sorted([int(self.rng.integers(-nd, nd)) % nd, int(self.rng.integers(nd))])
            y_line = f"{src}.flatten({self.pick([str(a), f'{a}, {b}', f'start_dim={a - nd}'])})"
        elif kind == "unflatten":
            sizes = self.pick([(n,), (1, n), (-1, 1), (n, -1), (2, -1)])
            y_line = f"{src}.unflatten({d}, {sizes})"
        elif kind == "movedim":
            e = int(self.rng.integers(-nd, nd))
            fn = self.pick(["movedim", "moveaxis"])
            y_line = self.pick([f"torch.{fn}({src}, {d}, {e})",
                                f"{src}.{fn}(({d}, {e}), ({e}, {d}))" if d % nd != e % nd
                                else f"{src}.{fn}({d}, {e})"])
        elif kind == "permute":
            perm = [int(v) - nd * int(self.coin(0.3)) for v in self.rng.permutation(nd)]
            y_line = f"{src}.permute({tuple(perm)})"
        elif kind == "flip":
            y_line = self.pick([f"{src}.flip({d})", f"torch.flip({src}, ({d},))",
                                f"torch.fliplr({src})", f"torch.flipud({src})"])
        elif kind == "roll":
            s = int(self.rng.integers(-5, 6))
            y_line = self.pick([f"torch.roll({src}, {s})", f"torch.roll({src}, {s}, {d})",
                                f"torch.roll({src}, ({s}, 1), ({d}, 0))"])
        elif kind == "rot90":
            y_line = f"torch.rot90({src}, {int(self.rng.integers(-3, 6))}" \
                     f"{self.pick(['', ', (0, 1)', ', (1, 0)', ', (-1, 0)'])})"
        elif kind == "diagonal":
            off = int(self.rng.integers(-3, 4))
            y_line = f"{src}.diagonal({off}{self.pick(['', ', -1, 0', ', 0, -1'])})"
        elif kind in ("diag", "diagflat", "diag_embed"):
            off = int(self.rng.integers(-2, 3))
            if kind == "diag_embed":
                y_line = f"torch.diag_embed({src}, {off}{self.pick(['', ', 0, 2', ', -1, -2'])})"
            else:
                y_line = f"torch.{kind}({src if kind == 'diagflat' or nd <= 2 else x + '[0, 0]'}" \
                         f", {off})"
        elif kind == "tril":
            y_line = f"torch.{self.pick(['tril', 'triu'])}({src}, {int(self.rng.integers(-3, 4))})"
        elif kind == "chunk":
            y_line = f"{src}.chunk({int(self.rng.integers(1, 6))}, {d})"
        elif kind == "split":
            sec = self.pick([1, 2, 3, [1, n - 1] if n > 1 else [1], [n], [0, n]])
            y_line = f"torch.split({src}, {sec}, {d})"
        elif kind == "tensor_split":
            arg = self.pick([str(int(self.rng.integers(1, 5))), "[1, 2]", "(0, 3, 1)",
                             "torch.tensor([1, 3])", "torch.tensor(2)"])
            y_line = f"torch.tensor_split({src}, {arg}, dim={d})"
        elif kind == "hvdsplit":
            fn = self.pick(["hsplit", "vsplit", "dsplit"])
            y_line = f"torch.{fn}({src}, {self.pick(['1', '2', '[1, 2]', '(1,)'])})"
        elif kind == "unbind":
            y_line = f"{src}.unbind({d})"
        elif kind == "narrow":
            start = int(self.rng.integers(-n, n))
            y_line = f"{src}.narrow({d}, {start}, {int(self.rng.integers(0, n + 1 - start % n))})"
        elif kind == "as_strided":
            y_line = f"{x}.as_strided((2, 2), {self.pick(['(1, 1)', '(1, 2)', '(0, 1)'])}" \
                     f"{self.pick(['', ', 1'])})" if int(np.prod(shape)) >= 4 else f"{x} * 1"
        elif kind == "expand":
            tgt = (3,) + tuple(1 if s == 1 else s for s in shape)
            y_line = self.pick([f"{src}.unsqueeze(0).expand({tgt})",
                                f"{src}.expand(2, *{shape})",
                                f"torch.broadcast_to({src}, (2,) + {src}.shape)",
                                f"{src}.expand_as(torch.empty((2,) + {shape}))",
                                f"{src}.expand(-1, *{shape[1:]})"])
        elif kind == "broadcast":
            o = _t(self.rng, (1,) * nd, "float64", False)
            y_line = f"torch.broadcast_tensors({src}, {o}, torch.tensor(2))"
        elif kind in ("stack", "cat", "hvstack"):
            other_dt = self.pick(["float64", "float32", "int64", "bool", "float16"])
            o = f"torch.ones({shape}, dtype=torch.{other_dt})"
            if kind == "stack":
                y_line = f"torch.stack([{src}, {o}], {int(self.rng.integers(-nd - 1, nd + 1))})"
            elif kind == "cat":
                y_line = f"torch.cat(({src}, {o}{self.pick(['', ', torch.empty(0)'])}), {d})"
            else:
                fn = self.pick(["hstack", "vstack", "dstack", "column_stack", "row_stack"])
                y_line = f"torch.{fn}([{src}, {o}])"
        elif kind == "block_diag":
            y_line = f"torch.block_diag({src if nd <= 2 else x + '[0]'}, torch.tensor(2.5)," \
                     f" torch.ones(2, dtype=torch.int32))"
        elif kind == "cartesian":
            y_line = f"torch.cartesian_prod({x}.flatten()[:3], torch.tensor([1.0, -2.0]))"
        elif kind == "combinations":
            y_line = f"torch.combinations({x}.flatten()[:4], {int(self.rng.integers(0, 4))}" \
                     f"{self.pick(['', ', with_replacement=True'])})"
        elif kind == "atleast":
            y_line = f"torch.atleast_{self.pick(['1', '2', '3'])}d({src}.sum())"
        elif kind == "repeat_interleave":
            y_line = self.pick([f"{src}.repeat_interleave(2, {d})",
                                f"{src}.repeat_interleave(torch.arange({n}), dim={d})",
                                f"torch.repeat_interleave({src}, 2)"])
        elif kind == "tile":
            y_line = f"{src}.{self.pick(['tile', 'repeat'])}({self.pick(['(2,)', '(1, 2)'])}" \
                     f"{'' if nd >= 2 else ''})"
        else:
            y_line = f"{src}.{self.pick(['swapaxes', 'swapdims', 'transpose'])}({d}, 0)"
        parts.append(f"{y} = {y_line}")
        if self.coin(0.7):
            parts.append(_BACKWARD.format(y=y))
        return "; ".join(parts)

    # -- printing -------------------------------------------------------------------------------
    def printing(self):
        y = self.fresh()
        opts = []
        for key, vals in (("precision", ["2", "0", "6", "10"]),
                          ("sci_mode", ["True", "False", "None"]),
                          ("threshold", ["5", "10", "1000"]),
                          ("edgeitems", ["1", "2", "3"]),
                          ("linewidth", ["20", "40", "120"]),
                          ("profile", ["'short'", "'full'", "'default'"])):
            if self.coin(0.3):
                opts.append(f"{key}={self.pick(vals)}")
        kind = self.pick(["tensor", "tensor", "tensor", "module", "parameter", "grad_fn"])
        if kind == "tensor":
            dt = self.pick(["float32", "float64", "float16", "bfloat16", "int64", "int32",
                            "bool", "complex64", "uint8", "int8"])
            shape = self.pick([(), (1,), (4,), (2, 3), (12,), (30,), (3, 12), (2, 2, 7),
                               (0,), (2, 0), (1100,), (6, 6)])
            scale = self.pick(["1", "1", "1e-5", "1e8", "1e-12", "123.456", "1e20", "100"])
            body = f"(torch.arange({int(np.prod(shape))}, dtype=torch.float64).reshape(" \
                   f"{shape}) * 0.37 - 1.1) * {scale}"
            if dt in ("int64", "int32", "int8", "uint8", "bool"):  # (in range: a float cast
                body = f"({body}).clamp(-100, 100)"  # out of an int's range is undefined)
            elif self.coin(0.3):
                special = self.pick(["float('nan')", "float('inf')", "-0.0", "-float('inf')"])
                body = f"({body}).masked_fill(torch.arange({int(np.prod(shape))}).reshape(" \
                       f"{shape}) % 4 == 1, {special})"
            body = f"({body}).to(torch.{dt})" if dt not in ("complex64",) else \
                f"torch.complex({body}, ({body}).flip(-1) if {len(shape)} else {body}).to(" \
                f"torch.complex64)"
            if self.coin(0.2) and dt in ("float32", "float64"):
                body += self.pick([".requires_grad_()", ".requires_grad_() * 2"])
            fn = self.pick(["repr", "str", "repr"])
        elif kind == "module":
            body = self.pick([
                "torch.nn.Linear(3, 2)", "torch.nn.Sequential(torch.nn.Linear(2, 3), "
                "torch.nn.ReLU(), torch.nn.Dropout(0.1))", "torch.nn.Conv2d(1, 4, 3, stride=2, "
                "padding=1, bias=False)", "torch.nn.LSTM(3, 4, num_layers=2, batch_first=True)",
                "torch.nn.ModuleDict({'a': torch.nn.Tanh(), 'b': torch.nn.LayerNorm(3)})",
                "torch.nn.BatchNorm1d(3, momentum=None)", "torch.nn.Embedding(5, 2, "
                "padding_idx=0)", "torch.nn.MultiheadAttention(4, 2)",
                "torch.nn.ModuleList([torch.nn.Identity(), torch.nn.GELU('tanh')])",
                "torch.nn.TransformerEncoderLayer(4, 2, 8)", "torch.nn.Softmax(dim=-1)",
                "torch.nn.MaxPool2d(2, ceil_mode=True)", "torch.nn.Upsample(scale_factor=2)",
                "torch.nn.LeakyReLU(0.2, inplace=True)", "torch.nn.Flatten()",
                "torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2))])"])
            fn = self.pick(["repr", "str"])
            opts = []
        elif kind == "parameter":
            body = self.pick(["torch.nn.Parameter(torch.tensor([1.5, -2.0]))",
                              "torch.nn.Parameter(torch.ones(2, 2, dtype=torch.float64))",
                              "torch.nn.Parameter(torch.tensor([1, 2]), requires_grad=False)",
                              "torch.nn.Linear(2, 2).bias.data",
                              "torch.nn.Parameter(torch.tensor(3.0)) * 2"])
            body = f"(torch.manual_seed(0), {body})[1]"
            fn = self.pick(["repr", "str"])
        else:
            body = self.pick(["torch.tensor([1.0], requires_grad=True) * 2",
                              "torch.tensor([1.0, 2.0], requires_grad=True).sum()",
                              "torch.tensor([1.0], requires_grad=True)[0]",
                              "torch.tensor([[1.0]], requires_grad=True).t()",
                              "torch.tensor([1.0], requires_grad=True).unbind()[0]",
                              "torch.tensor([1.0], requires_grad=True).detach()"])
            fn = "repr"
        if opts:
            return (f"torch.set_printoptions({', '.join(opts)}); {y} = {fn}({body}); "
                    "torch.set_printoptions(profile='default')")
        return f"{y} = {fn}({body})"

    # -- optimizers and schedulers --------------------------------------------------------------
    def optim_run(self):
        p = self.fresh()
        parts = [f"{p} = {_t(self.rng, (3,), self.pick(['float32', 'float64']))}"]
        name, opts = self.pick([
            ("SGD", ["lr=0.1", "momentum=0.9", "dampening=0.1", "nesterov=True",
                     "weight_decay=0.01", "maximize=True"]),
            ("Adam", ["lr=0.01", "betas=(0.8, 0.9)", "eps=1e-6", "weight_decay=0.1",
                      "amsgrad=True", "maximize=True"]),
            ("AdamW", ["lr=0.01", "weight_decay=0.5", "amsgrad=True", "betas=(0.5, 0.6)"]),
            ("Adagrad", ["lr=0.1", "lr_decay=0.1", "weight_decay=0.1",
                         "initial_accumulator_value=0.5", "eps=1e-3"]),
            ("RMSprop", ["lr=0.01", "alpha=0.9", "momentum=0.5", "centered=True",
                         "weight_decay=0.1", "eps=1e-4"]),
            ("Adadelta", ["lr=0.5", "rho=0.8", "weight_decay=0.1", "eps=1e-4"]),
            ("Adamax", ["lr=0.05", "betas=(0.7, 0.8)", "weight_decay=0.1"]),
            ("NAdam", ["lr=0.05", "momentum_decay=0.01", "decoupled_weight_decay=True",
                       "weight_decay=0.1"]),
            ("RAdam", ["lr=0.05", "decoupled_weight_decay=True", "weight_decay=0.1"]),
            ("ASGD", ["lr=0.05", "lambd=0.01", "alpha=0.5", "t0=1", "weight_decay=0.1"]),
            ("Rprop", ["lr=0.05", "etas=(0.3, 1.5)", "step_sizes=(1e-3, 0.1)",
                       "maximize=True"])])
        chosen = [o for o in opts if self.coin(0.4)]
        if name == "SGD" and "nesterov=True" in chosen:
            chosen = [o for o in chosen if o != "dampening=0.1"]
            if "momentum=0.9" not in chosen:
                chosen.append("momentum=0.9")
        if name == "SGD" and not any(o.startswith("lr") for o in chosen):
            chosen.append("lr=0.1")
        o = self.fresh()
        parts.append(f"{o} = torch.optim.{name}([{p}], {', '.join(chosen)})")
        sched = self.pick(["", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
                           "LambdaLR", "OneCycleLR", "CyclicLR", "Chained", "Sequential",
                           "Plateau", "LinearLR", "PolynomialLR", "CosineWarm", "ConstantLR"])
        s = self.fresh()
        lrs = "torch.optim.lr_scheduler"
        one = self.pick(["", ", anneal_strategy='linear'", ", three_phase=True"])
        if name not in ("SGD", "Adam", "AdamW", "RMSprop"):
            one += ", cycle_momentum=False"
        cyc = self.pick(["'triangular'", "'triangular2'", "'exp_range'"])
        mode = self.pick(["'min'", "'max'"])
        tmode = self.pick(["'rel'", "'abs'"])
        sched_line = {
            "StepLR": f"{lrs}.StepLR({o}, 2, gamma=0.5)",
            "MultiStepLR": f"{lrs}.MultiStepLR({o}, [1, 3], gamma=0.3)",
            "ExponentialLR": f"{lrs}.ExponentialLR({o}, 0.9)",
            "CosineAnnealingLR": f"{lrs}.CosineAnnealingLR({o}, 3, eta_min=0.001)",
            "LambdaLR": f"{lrs}.LambdaLR({o}, lambda e: 1 / (e + 1))",
            "OneCycleLR": f"{lrs}.OneCycleLR({o}, 0.1, total_steps=10{one})",
            "CyclicLR": f"{lrs}.CyclicLR({o}, 0.001, 0.1, step_size_up=2, cycle_momentum=False, "
                        f"mode={cyc})",
            "Chained": f"{lrs}.ChainedScheduler([{lrs}.StepLR({o}, 2, 0.5), "
                       f"{lrs}.ExponentialLR({o}, 0.9)])",
            "Sequential": f"{lrs}.SequentialLR({o}, [{lrs}.LinearLR({o}, 0.1, total_iters=2), "
                          f"{lrs}.ExponentialLR({o}, 0.8)], milestones=[2])",
            "Plateau": f"{lrs}.ReduceLROnPlateau({o}, mode={mode}, "
                       f"factor=0.5, patience={self.pick(['0', '1'])}, threshold=0.1, "
                       f"threshold_mode={tmode}, "
                       f"cooldown={self.pick(['0', '1'])}, min_lr=0.001)",
            "LinearLR": f"{lrs}.LinearLR({o}, start_factor=0.5, total_iters=3)",
            "PolynomialLR": f"{lrs}.PolynomialLR({o}, total_iters=4, power=2.0)",
            "CosineWarm": f"{lrs}.CosineAnnealingWarmRestarts({o}, 2, T_mult=2, eta_min=0.01)",
            "ConstantLR": f"{lrs}.ConstantLR({o}, factor=0.5, total_iters=2)",
        }.get(sched)
        if sched_line:
            parts.append(f"{s} = {sched_line}")
        steps = int(self.rng.integers(1, 5))
        # (a weight of -wd / 2 cancels the decayed gradient to 0 exactly, where PyTorch's
        # fused add leaves 1e-9 that Adagrad / Adam steps normalise: KNOWN _fused_alpha)
        wv = [v + 0.001 if abs(abs(v) - c) < 1e-12 else v for v in np.round(
            self.rng.standard_normal(3), 3).tolist() for c in [min((0.05, 0.25, 0.005),
                                                                key=lambda c: abs(abs(v) - c))]]
        w = f"torch.tensor({wv!r}, dtype=torch.float64)"
        metrics = [float(v) for v in np.round(self.rng.uniform(0, 1, steps), 2)]
        sstep = ""
        if sched == "Plateau":
            sstep = f", {s}.step({metrics}[i])"
        elif sched_line:
            sstep = f", {s}.step()"
        parts.append(f"[({o}.zero_grad(), ({p} * {p} * {w}.to({p}.dtype)).sum().backward(), "
                     f"{o}.step(){sstep}) for i in range({steps})]")
        lr = self.fresh()
        if sched_line and sched != "Plateau":
            parts.append(f"{lr} = {s}.get_last_lr()")
        else:
            parts.append(f"{lr} = [g['lr'] for g in {o}.param_groups]")
        if self.coin(0.5):  # a state-dict round trip mid-run
            q, o2 = self.fresh(), self.fresh()
            parts.append(f"{q} = {p}.detach().clone().requires_grad_(); {o2} = torch.optim."
                         f"{name}([{q}], {', '.join(chosen)}); {o2}.load_state_dict("
                         f"{o}.state_dict()); [(oo.zero_grad(), (pp * {w}.to(pp.dtype))"
                         f".sum().backward(), oo.step()) for oo, pp in (({o}, {p}), "
                         f"({o2}, {q}))]")
            if sched_line and self.coin(0.5):
                parts.append(f"{self.fresh()} = {s}.state_dict()")
        return "; ".join(parts)

    # -- torch.utils.data -----------------------------------------------------------------------
    def data_utils(self):
        y = self.fresh()
        U = "torch.utils.data"
        n = int(self.rng.integers(1, 9))
        seed = int(self.rng.integers(0, 2**31))
        ds = f"{U}.TensorDataset(torch.arange({n}), torch.arange({n}) * 0.5)"
        g = f"torch.Generator().manual_seed({seed})"
        if self.coin(0.3):  # the global stream (a sampler without a generator draws its seed)
            g = "None"
            y = f"torch.manual_seed({seed}); {y}"
        kind = self.pick(["loader", "loader", "random_sampler", "subset", "weighted", "batch",
                          "random_split", "collate", "collate", "loader_none", "concat"])
        if kind == "loader":
            bs = int(self.rng.integers(1, 4))
            kw = [f"batch_size={bs}"]
            if self.coin(0.7):
                kw.append(f"shuffle=True, generator={g}")
            if self.coin(0.4):
                kw.append("drop_last=True")
            src = self.pick([ds, f"list(range({n}))", f"[{{'x': i, 'y': [i, 2.5]}} for i in "
                             f"range({n})]"])
            return f"{y} = list({U}.DataLoader({src}, {', '.join(kw)}))"
        if kind == "loader_none":
            return f"{y} = list({U}.DataLoader({ds}, batch_size=None" \
                   f"{self.pick(['', ', shuffle=True, generator=' + g])}))"
        if kind == "random_sampler":
            kw = self.pick(["", ", replacement=True", f", num_samples={n + 2}",
                            f", replacement=True, num_samples={n + 3}"])
            return f"{y} = list({U}.RandomSampler(range({n}){kw}, generator={g}))"
        if kind == "subset":
            return f"{y} = list({U}.SubsetRandomSampler([0, 2, 5, 7], generator={g}))"
        if kind == "weighted":
            w = [float(v) for v in np.round(self.rng.uniform(0, 1, n), 2)]
            repl = self.pick(["True", "False"])
            k = int(self.rng.integers(1, n + 1)) if repl == "False" else n + 2
            return f"{y} = list({U}.WeightedRandomSampler({w}, {k}, replacement={repl}, " \
                   f"generator={g}))"
        if kind == "batch":
            inner = self.pick([f"range({n})", f"{U}.SequentialSampler(range({n}))",
                               f"{U}.RandomSampler(range({n}), generator={g})"])
            return f"{y} = list({U}.BatchSampler({inner}, {int(self.rng.integers(1, 4))}, " \
                   f"drop_last={self.pick(['True', 'False'])}))"
        if kind == "random_split":
            lengths = self.pick(["[0.5, 0.5]", "[0.3, 0.7]", "[0.2, 0.3, 0.5]", f"[{n - 1}, 1]",
                                 "[0.1, 0.9]"])
            return f"{y} = [list(s) for s in {U}.random_split(range({n}), {lengths}, " \
                   f"generator={g})]"
        if kind == "concat":
            return f"{y} = list({U}.ConcatDataset([{ds}, {ds}]))[{n - 1}:{n + 1}]"
        item = self.pick([
            "{'a': torch.tensor([1.0, 2.0]), 'b': (1, 2.5), 'c': {'d': True}}",
            "(torch.tensor(1), 2, 3.5)", "[np.array([1, 2], dtype=np.int32), 4]",
            "{'x': np.float32(1.5), 'n': np.array(2.0)}", "(1, [2, 3])",
            "torch.tensor([True, False])", "np.array([[1.5]])", "'s'", "(None, 1)"])
        collate = self.pick([f"{U}.default_collate", f"{U}.default_convert"])
        return f"import numpy as np; {y} = {collate}([{item}, {item}])"
