"""Session 30's family for the program-level differential fuzzer (``s17_SL_progfuzz.py``):
what users call around modules -- ``nn.init``, ``nn.utils`` (gradient clipping, vectors,
weight / spectral norm in both forms, parametrizations, fusion, rnn packing, pruning,
stateless calls) and ``torch.func``'s module API. Each line is compared as every other line
is (raised or not and the builtin class; every module variable's parameters and buffers with
their ``.grad``; tensors with dtype, shape and values), and the lines record more through
``_n19`` (a structural reading: dict keys in order, classes, numbers, tensors) and ``_catch``
outcomes (the builtin exception class and the warnings' classes). What it draws:

- every ``nn.init`` initializer on 0-d / 1-d / 2-d / conv-shaped / empty tensors, float32 and
  float64, with gains, ``a``, modes and nonlinearity strings (valid and not), seeded by
  ``torch.manual_seed`` before each; ``calculate_gain`` with its parameter;
  ``_calculate_fan_in_and_fan_out``; the return value's identity;
- ``clip_grad_norm_`` / ``clip_grad_value_`` / ``get_total_norm`` / ``clip_grads_with_norm_``
  with norm types 2 / 1 / inf / 0 / fractional, ``error_if_nonfinite``, ``foreach``, a lone
  tensor, parameters without ``.grad``, non-finite gradients;
- ``parameters_to_vector`` / ``vector_to_parameters`` (wrong lengths and types);
- ``weight_norm`` / ``spectral_norm`` (old hooks and ``parametrizations`` forms, dims,
  ``remove_*``, applied twice), forward / backward through them, train and eval;
- ``parametrize.register_parametrization`` (``right_inverse``, ``unsafe``, a list of them),
  ``cached()``, ``is_parametrized``, ``remove_parametrizations(leave_parametrized=)``,
  ``parametrizations.orthogonal`` with its maps;
- ``fusion.fuse_conv_bn_eval`` / ``fuse_linear_bn_eval``;
- ``rnn.pad_sequence`` / ``pack_padded_sequence`` (``enforce_sorted``, ``batch_first``,
  unsorted lengths, zero lengths) / ``pad_packed_sequence`` (``total_length``,
  ``padding_value``) / ``pack_sequence`` / ``unpack_sequence`` / ``unpad_sequence``, through
  an RNN;
- ``prune``: l1 / random unstructured, random / ln structured, global_unstructured, amounts as
  floats and ints (out of range too), ``remove``, ``is_pruned``, masks and ``*_orig``;
- ``torch.func.functional_call`` (tied weights, ``strict``, buffers, several dicts),
  ``stack_module_state``, ``grad`` / ``vjp`` / ``jacrev`` / ``hessian`` / ``grad_and_value``
  with ``has_aux`` over a module's parameters; ``nn.utils.stateless.functional_call``;
- the Module API around them: ``named_parameters(remove_duplicate=False)``,
  ``load_state_dict(strict=False)``'s result, ``zero_grad(set_to_none=)``,
  ``register_forward_pre_hook(with_kwargs=True)``, ``register_full_backward_hook`` /
  ``register_full_backward_pre_hook`` (what the hooks see), ``get_submodule`` /
  ``get_parameter`` errors.

Run as a script::

    .venv/bin/python tests/parity/s30_SL24_nn_utils.py [--programs N] [--seed S] [--show I]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as base  # noqa: E402
import s28_SL19_optim as sl19  # noqa: E402
import s29_SL23_sparse as sl23  # noqa: E402
from s17_SL_known import own_first  # noqa: E402

torch = base.torch
dg = base.dg

U = "torch.nn.utils"
INIT = "torch.nn.init"
SHAPES = ["()", "(5,)", "(3, 4)", "(4, 3)", "(2, 3, 2)", "(4, 2, 3, 3)", "(0, 3)",
          "(3, 2, 2, 2, 2)"]
NONLIN = ["'relu'", "'leaky_relu'", "'tanh'", "'linear'", "'sigmoid'", "'selu'", "'conv2d'",
          "'conv_transpose1d'", "'bogus'"]
MODES = ["'fan_in'", "'fan_out'", "'fan_avg'"]
LN_NORMS = ["1", "2", "float('inf')"]
ORTH_MAPS = ["None", "'matrix_exp'", "'cayley'", "'householder'", "'bogus'"]
NORM_TYPES = ["2", "2.0", "1", "float('inf')", "'inf'", "0", "0.5", "3", "-float('inf')"]

# ``import torch.nn.utils.prune`` in a namespace whose ``torch`` is either library
PRUNE = "prune24 = __import__(torch.__name__ + '.nn.utils.prune', fromlist=['_'])"

# Small modules: (source to define, expression building one, an input expression)
MODULES = {
    "lin": ("", "torch.nn.Linear(3, 2).double()",
            "torch.tensor({x43}, dtype=torch.float64)"),
    "conv": ("", "torch.nn.Conv1d(2, 3, 2).double()",
             "torch.tensor({x225}, dtype=torch.float64)"),
    "seq": ("", "torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), "
                "torch.nn.Linear(4, 2)).double()", "torch.tensor({x43}, dtype=torch.float64)"),
    "tied": ("class Tied24(torch.nn.Module):\n"
             "    def __init__(self):\n"
             "        super().__init__()\n"
             "        self.a = torch.nn.Linear(3, 3)\n"
             "        self.b = torch.nn.Linear(3, 3)\n"
             "        self.b.weight = self.a.weight\n"
             "        self.register_buffer('scale', torch.full((3,), 0.5))\n"
             "        self.register_buffer('tmp', torch.zeros(3), persistent=False)\n"
             "    def forward(self, x):\n"
             "        return self.b(torch.tanh(self.a(x))) * self.scale\n",
             "Tied24().double()", "torch.tensor({x43}, dtype=torch.float64)"),
    "bn": ("", "torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3)).double()",
           "torch.tensor({x43}, dtype=torch.float64)"),
}

PARAMETRIZATIONS = (
    "class Sym24(torch.nn.Module):\n"
    "    def forward(self, X):\n"
    "        return X.triu() + X.triu(1).transpose(-1, -2)\n"
    "class Scale24(torch.nn.Module):\n"
    "    def forward(self, X):\n"
    "        return 2.0 * X\n"
    "    def right_inverse(self, X):\n"
    "        return X / 2.0\n"
    "class Split24(torch.nn.Module):\n"
    "    def forward(self, A, B):\n"
    "        return A + B\n"
    "    def right_inverse(self, X):\n"
    "        return X * 0.25, X * 0.75\n"
    "class Shape24(torch.nn.Module):\n"
    "    def forward(self, X):\n"
    "        return X[:1]\n")


def _catch(body, out):
    return sl19._catch(body, out)


class Gen24(sl23.Gen23):
    """Sessions 17-29's families (at a low weight) plus the nn.init / nn.utils / torch.func
    families above."""

    def makers(self):
        old = [(maker, weight * 0.01) for maker, weight in super().makers()]
        new = [(self.init24, 12), (self.gain24, 4), (self.fan24, 3), (self.clip24, 10),
               (self.vec24, 5), (self.wnorm24, 8), (self.snorm24, 7), (self.param24, 9),
               (self.orth24, 4), (self.fuse24, 4), (self.pad24, 6), (self.pack24, 8),
               (self.prune24, 9), (self.fcall24, 8), (self.stack24, 3), (self.funcgrad24, 8),
               (self.hooks24, 7), (self.modapi24, 6), (self.call24, 8), (self.sd24, 6),
               (self.mixed24, 4)]
        return old + [(sl19._guarded(maker), weight) for maker, weight in new]

    # -- helpers ------------------------------------------------------------------------------
    def norm19(self, parts):
        if "_n19" not in self.ns:
            exec(sl19.NORM, self.ns)
            parts.append(sl19.NORM)

    def flt24(self, shape):
        vals = self.rng.integers(-12, 13, size=shape) / 8.0
        return repr(vals.tolist())

    def inp(self, kind):
        template = MODULES[kind][2]
        return template.format(x43=self.flt24((4, 3)), x225=self.flt24((2, 2, 5)))

    def modules(self, pred=lambda m: True):
        kinds = self.__dict__.setdefault("kinds24", {})
        return [k for k, v in self.ns.items() if k in kinds
                and isinstance(v, torch.nn.Module) and pred(kinds[k])]

    def model24(self, parts, kinds=None, fresh=False):
        """A module variable of one of ``kinds`` (existing or built now); its name and kind."""
        kinds = kinds or sorted(MODULES)
        names = [] if fresh else self.modules(lambda k: k in kinds)
        if names and self.coin(0.6):
            name = self.pick(names)
            return name, self.kinds24[name]
        kind = self.pick(kinds)
        src, expr, _ = MODULES[kind]
        if src and src not in parts and "class " + src.split("class ")[1].split("(")[0] \
                not in "\n".join(self.lines):
            exec(src, self.ns)
            parts.append(src.rstrip("\n"))
        name = self.fresh()
        line = f"torch.manual_seed({int(self.rng.integers(0, 60))}); {name} = {expr}"
        exec(line, self.ns)
        parts.append(line)
        self.kinds24[name] = kind
        return name, kind

    def backward24(self, m, kind):
        return f"({m}({self.inp(kind)}) ** 2).sum().backward()"

    def weight_of(self, m, kind):
        return {"lin": f"{m}", "conv": f"{m}", "seq": f"{m}[0]", "tied": f"{m}.a",
                "bn": f"{m}[0]"}[kind]

    # -- nn.init ------------------------------------------------------------------------------
    def init24(self):
        shape = self.pick(SHAPES)
        dtype = self.pick(["float32", "float64", "float64", "float16"])
        t, r = self.fresh(), self.fresh()
        fn = self.pick(["uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
                        "eye_", "dirac_", "xavier_uniform_", "xavier_normal_",
                        "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_"])
        args = {"uniform_": [self.pick(["", "a=-0.5, b=0.5", "-2.0, 3.0", "a=1.0, b=0.0"])],
                "normal_": [self.pick(["", "mean=1.0, std=0.1", "0.0, 2.0", "std=0.0"])],
                "trunc_normal_": [self.pick(["", "mean=0.5, std=2.0, a=-1.0, b=1.0",
                                             "std=0.3", "a=0.0, b=3.0"])],
                "constant_": [self.pick(["0.25", "-3", "val=2.5"])],
                "ones_": [""], "zeros_": [""], "eye_": [""],
                "dirac_": [self.pick(["", "groups=2", "groups=3"])],
                "xavier_uniform_": [self.pick(["", "gain=2.0", "gain=0.5"])],
                "xavier_normal_": [self.pick(["", "gain=2.0"])],
                "kaiming_uniform_": self.kaiming_args(),
                "kaiming_normal_": self.kaiming_args(),
                "orthogonal_": [self.pick(["", "gain=2.0", "gain=0.5"])],
                "sparse_": [self.pick(["sparsity=0.5", "0.3, std=0.1", "sparsity=0.0"])]}[fn]
        target = t
        if self.coin(0.15) and shape.count(",") == 1 and shape != "(5,)":
            target = f"{t}.T"  # (a transposed view: the fills' non-contiguous paths)
        elif self.coin(0.1):
            args = args + [f"generator=torch.Generator().manual_seed({int(self.rng.integers(9))})"]
        arg = ", ".join([target] + [a for a in args if a])
        grad = ", requires_grad=True" if self.coin(0.2) else ""
        parts = [f"torch.manual_seed({int(self.rng.integers(0, 99))}); "
                 f"{t} = torch.full({shape}, 7.0, dtype=torch.{dtype}{grad})"]
        body = f"{r} = {INIT}.{fn}({arg})"
        if self.coin(0.5):
            parts.append(body)
            parts.append(f"{self.fresh()} = {r} is {t}")
        else:
            parts.append(_catch(body, self.fresh()))
        return parts

    def kaiming_args(self):
        kws = []
        if self.coin(0.4):
            kws.append(f"a={self.pick(['0', '0.2', '5 ** 0.5'])}")
        if self.coin(0.5):
            kws.append(f"mode={self.pick(MODES)}")
        if self.coin(0.5):
            kws.append(f"nonlinearity={self.pick(NONLIN)}")
        return kws

    def gain24(self):
        nl = self.pick(NONLIN)
        param = self.pick(["", ", 0.2", ", 1", ", None", ", True", ", 'x'", ", -0.5"])
        return _catch(f"{self.fresh()} = {INIT}.calculate_gain({nl}{param})", self.fresh())

    def fan24(self):
        shape = self.pick(SHAPES)
        t = self.fresh()
        return [f"{t} = torch.zeros({shape})",
                _catch(f"{self.fresh()} = {INIT}._calculate_fan_in_and_fan_out({t})",
                       self.fresh())]

    # -- clipping / vectors ---------------------------------------------------------------------
    def clip24(self):
        parts = []
        m, kind = self.model24(parts)
        if self.coin(0.8):
            parts.append(self.backward24(m, kind))
        if self.coin(0.2):
            w = self.weight_of(m, kind)
            val = self.pick(["float('nan')", "float('inf')", "-float('inf')"])
            parts.append(f"{w}.weight.grad[0, 0] = {val}" if kind != "conv"
                         else f"{m}.weight.grad[0, 0, 0] = {val}")
        what = self.pick(["norm", "norm", "norm", "value", "total", "with_norm"])
        params = self.pick([f"{m}.parameters()", f"list({m}.parameters())",
                            f"{m}.{'weight' if kind in ('lin', 'conv') else 'scale'}",
                            "[]"])
        out = self.fresh()
        foreach = f", foreach={self.pick(['True', 'False', 'None'])}" if self.coin(0.3) else ""
        nt = self.pick(NORM_TYPES)
        err = f", error_if_nonfinite={self.pick(['True', 'False'])}" if self.coin(0.3) else ""
        if what == "norm":
            mx = self.pick(['1.0', '0.1', '100.0', '0'])
            body = (f"{out} = {U}.clip_grad_norm_({params}, {mx}, norm_type={nt}{err}"
                    f"{foreach})")
        elif what == "value":
            cv = self.pick(['0.1', '0.5', '0', '-1'])
            body = f"{U}.clip_grad_value_({params}, {cv}{foreach})"
        elif what == "total":
            body = (f"{out} = {U}.get_total_norm([p.grad for p in {m}.parameters() if p.grad "
                    f"is not None], norm_type={nt}{err}{foreach})")
        else:
            body = (f"{out} = {U}.get_total_norm([p.grad for p in {m}.parameters() if p.grad "
                    f"is not None]); {U}.clip_grads_with_norm_({m}.parameters(), 0.5, {out}"
                    f"{foreach})")
        parts.append(_catch(body, self.fresh()) if self.coin(0.5) else body)
        return parts

    def vec24(self):
        parts = []
        m, _ = self.model24(parts)
        v = self.fresh()
        parts.append(f"{v} = {U}.parameters_to_vector({m}.parameters())")
        new = self.pick([f"{v} * 2", f"{v}[:-1]", f"{v}.tolist()", f"{v}.float()",
                         f"torch.arange({v}.numel(), dtype=torch.float64)"])
        parts.append(_catch(f"{U}.vector_to_parameters({new}, {m}.parameters())",
                            self.fresh()))
        return parts

    # -- weight / spectral norm -------------------------------------------------------------------
    def wnorm24(self):
        parts = []
        m, kind = self.model24(parts, ["lin", "conv", "seq"], fresh=self.coin(0.5))
        w = self.weight_of(m, kind)
        dim = self.pick(["", ", dim=0", ", dim=1", ", dim=None", ", dim=-1"])
        out = self.fresh()
        if self.coin(0.5):
            parts.append(f"{out} = {U}.weight_norm({w}{dim})")
            if self.coin(0.4):
                parts.append(_catch(f"{U}.weight_norm({w})", self.fresh()))
            parts.append(self.backward24(m, kind))
            parts.append(f"{self.fresh()} = {w}.weight.detach().clone()")
            if self.coin(0.5):
                parts.append(_catch(f"{U}.remove_weight_norm({w})", self.fresh()))
        else:
            parts.append(f"{out} = {U}.parametrizations.weight_norm({w}{dim})")
            parts.append(self.backward24(m, kind))
            parts.append(f"{self.fresh()} = {w}.weight.detach().clone()")
            parts.append(f"{self.fresh()} = [n for n, _ in {m}.named_parameters()]")
            if self.coin(0.5):
                leave = self.pick(["True", "False"])
                parts.append(_catch(f"{U}.parametrize.remove_parametrizations({w}, 'weight', "
                                    f"leave_parametrized={leave})", self.fresh()))
        parts.append(f"{self.fresh()} = {m}({self.inp(kind)})")
        parts.append(f"{self.fresh()} = list({m}.state_dict())")
        return parts

    def snorm24(self):
        parts = []
        m, kind = self.model24(parts, ["lin", "conv", "seq"], fresh=self.coin(0.5))
        w = self.weight_of(m, kind)
        kws = []
        if self.coin(0.4):
            kws.append(f"n_power_iterations={self.pick(['1', '3', '0', '-1'])}")
        if self.coin(0.3):
            kws.append(f"eps={self.pick(['1e-12', '0.1'])}")
        if self.coin(0.3):
            kws.append(f"dim={self.pick(['0', '1'])}")
        kw = "".join(", " + k for k in kws)
        seed = f"torch.manual_seed({int(self.rng.integers(0, 50))}); "
        if self.coin(0.5):
            parts.append(_catch(f"{seed}{U}.spectral_norm({w}{kw})", self.fresh()))
            parts.append(f"{self.fresh()} = [n for n, _ in {m}.named_buffers()]")
            if self.coin(0.4):
                parts.append(f"{m}.eval()")
            parts.append(self.backward24(m, kind))
            parts.append(f"{self.fresh()} = {w}.weight.detach().clone()")
            if self.coin(0.4):
                parts.append(_catch(f"{U}.remove_spectral_norm({w})", self.fresh()))
        else:
            parts.append(_catch(f"{seed}{U}.parametrizations.spectral_norm({w}{kw})",
                                self.fresh()))
            if self.coin(0.4):
                parts.append(f"{m}.eval()")
            parts.append(self.backward24(m, kind))
            parts.append(f"{self.fresh()} = {w}.weight.detach().clone()")
        parts.append(f"{self.fresh()} = {m}({self.inp(kind)})")
        return parts

    def sd24(self):
        """A weight- / spectral-normed, pruned or parametrized module's state_dict loaded into
        a second module given the same treatment (or none)."""
        how = self.pick(["wn", "pwn", "sn", "psn", "prune", "orth"])
        made = {"wn": f"{U}.weight_norm({{m}})", "pwn": f"{U}.parametrizations.weight_norm({{m}})",
                "sn": f"{U}.spectral_norm({{m}})",
                "psn": f"{U}.parametrizations.spectral_norm({{m}})",
                "prune": "prune24.l1_unstructured({m}, 'weight', amount=0.5)",
                "orth": f"{U}.parametrizations.orthogonal({{m}})"}[how]
        parts = []
        if how == "prune" and "prune24" not in self.ns:
            exec(PRUNE, self.ns)
            parts.append(PRUNE)
        a, b = self.fresh(), self.fresh()
        parts.append(f"torch.manual_seed({int(self.rng.integers(0, 50))}); "
                     f"{a} = torch.nn.Linear(3, 3).double(); {b} = torch.nn.Linear(3, 3).double()")
        parts.append(made.format(m=a))
        if self.coin(0.7):
            parts.append(made.format(m=b))
        x = f"torch.tensor({self.flt24((2, 3))}, dtype=torch.float64)"
        parts.append(f"{a}({x}).sum().backward()")
        sd = self.fresh()
        parts.append(f"{sd} = {a}.state_dict(); {self.fresh()} = list({sd})")
        strict = self.pick(["True", "False"])
        self.norm19(parts)
        parts.append(_catch(f"{self.fresh()} = _n19({b}.load_state_dict({sd}, strict={strict}))",
                            self.fresh()))
        parts.append(f"{self.fresh()} = {b}({x})")
        return parts

    def mixed24(self):
        """Clipping and vectors over parameters of several dtypes, init on integer tensors."""
        if self.coin(0.4):
            t = self.fresh()
            fn = self.pick(["uniform_(", "normal_(", "constant_(", "zeros_(", "ones_(",
                            "kaiming_uniform_(", "trunc_normal_(", "xavier_normal_("])
            arg = "3" if fn == "constant_(" else ""
            return [f"{t} = torch.zeros(3, 4, dtype=torch.{self.pick(['int64', 'bool'])})",
                    _catch(f"torch.manual_seed(1); {INIT}.{fn}{t}{', ' + arg if arg else ''})",
                           self.fresh())]
        p, q = self.fresh(), self.fresh()
        dt = self.pick(["float16", "float32", "bfloat16"])
        parts = [f"{p} = torch.nn.Parameter(torch.tensor({self.flt24((3,))}, dtype=torch.{dt}))",
                 f"{q} = torch.nn.Parameter(torch.tensor({self.flt24((2, 2))}, "
                 f"dtype=torch.float64))",
                 f"{p}.grad = torch.tensor({self.flt24((3,))}, dtype=torch.{dt}); "
                 f"{q}.grad = torch.tensor({self.flt24((2, 2))}, dtype=torch.float64)"]
        what = self.pick(["norm", "value", "vec", "total"])
        out = self.fresh()
        body = {"norm": f"{out} = {U}.clip_grad_norm_([{p}, {q}], 0.5, "
                        f"norm_type={self.pick(NORM_TYPES)})",
                "value": f"{U}.clip_grad_value_([{p}, {q}], 0.25)",
                "vec": f"{out} = {U}.parameters_to_vector([{p}, {q}])",
                "total": f"{out} = {U}.get_total_norm([{p}.grad, {q}.grad])"}[what]
        parts.append(_catch(body, self.fresh()))
        return parts

    # -- parametrize ------------------------------------------------------------------------------
    def param24(self):
        parts = []
        if "Sym24" not in self.ns:
            exec(PARAMETRIZATIONS, self.ns)
            parts.append(PARAMETRIZATIONS.rstrip("\n"))
        m = self.fresh()
        line = (f"torch.manual_seed({int(self.rng.integers(0, 50))}); "
                f"{m} = torch.nn.Linear(3, 3).double()")
        parts.append(line)
        P = f"{U}.parametrize"
        par = self.pick(["Sym24()", "Scale24()", "Split24()", "Shape24()"])
        unsafe = ", unsafe=True" if self.coin(0.2) else ""
        target = self.pick(["'weight'", "'weight'", "'bias'"])
        parts.append(_catch(f"{P}.register_parametrization({m}, {target}, {par}{unsafe})",
                            self.fresh()))
        if self.coin(0.3):
            parts.append(_catch(f"{P}.register_parametrization({m}, {target}, "
                                f"{self.pick(['Scale24()', 'Sym24()'])})", self.fresh()))
        parts.append(f"{self.fresh()} = {P}.is_parametrized({m}), {P}.is_parametrized({m}, "
                     f"'weight'), [n for n, _ in {m}.named_parameters()]")
        if self.coin(0.4):
            val = self.flt24((3, 3))
            parts.append(_catch(f"{m}.weight = torch.tensor({val}, dtype=torch.float64)",
                                self.fresh()))
        x = f"torch.tensor({self.flt24((2, 3))}, dtype=torch.float64)"
        if self.coin(0.4):
            y = self.fresh()
            parts.append(f"with {P}.cached():\n    {y} = {m}({x}) + {m}({x})\n"
                         f"    {self.fresh()} = {m}.weight is {m}.weight")
        else:
            parts.append(f"({m}({x}) ** 2).sum().backward()")
        if self.coin(0.5):
            leave = self.pick(["True", "False"])
            parts.append(_catch(f"{P}.remove_parametrizations({m}, 'weight', "
                                f"leave_parametrized={leave})", self.fresh()))
            parts.append(f"{self.fresh()} = [n for n, _ in {m}.named_parameters()]")
        parts.append(f"{self.fresh()} = {m}.weight.detach().clone()")
        return parts

    def orth24(self):
        shape = self.pick(["3, 3", "3, 2", "2, 4"])
        kws = []
        if self.coin(0.6):
            kws.append(f"orthogonal_map={self.pick(ORTH_MAPS)}")
        if self.coin(0.3):
            kws.append(f"use_trivialization={self.pick(['True', 'False'])}")
        kw = "".join(", " + k for k in kws)
        m = self.fresh()
        dt = self.pick(["", ".double()"])
        parts = [f"torch.manual_seed({int(self.rng.integers(0, 50))}); "
                 f"{m} = torch.nn.Linear({shape}){dt}",
                 f"{self.fresh()} = {U}.parametrizations.orthogonal({m}{kw})",
                 f"{self.fresh()} = {m}.weight.detach().clone()",
                 f"{self.fresh()} = ({m}.weight @ {m}.weight.T if {m}.weight.shape[0] <= "
                 f"{m}.weight.shape[1] else {m}.weight.T @ {m}.weight).detach()"]
        return parts

    # -- fusion -----------------------------------------------------------------------------------
    def fuse24(self):
        c, b = self.fresh(), self.fresh()
        lin = self.coin(0.4)
        mk = "torch.nn.Linear(3, 2)" if lin else "torch.nn.Conv2d(2, 2, 2)"
        bias = ", bias=False" if self.coin(0.3) and not lin else ""
        if bias:
            mk = mk[:-1] + bias + ")"
        bn = "torch.nn.BatchNorm1d(2)" if lin else "torch.nn.BatchNorm2d(2)"
        parts = [f"torch.manual_seed({int(self.rng.integers(0, 50))}); {c} = {mk}.double(); "
                 f"{b} = {bn}.double()",
                 f"{b}.running_mean.uniform_(-1, 1); {b}.running_var.uniform_(0.5, 2); "
                 f"{b}.weight.data.uniform_(0.5, 1.5); {b}.bias.data.uniform_(-1, 1)"]
        if self.coin(0.8):
            parts.append(f"{c}.eval(); {b}.eval()")
        fn = "fuse_linear_bn_eval" if lin else "fuse_conv_bn_eval"
        f = self.fresh()
        parts.append(_catch(f"{f} = {U}.fusion.{fn}({c}, {b})", self.fresh()))
        x = (f"torch.tensor({self.flt24((3, 3))}, dtype=torch.float64)" if lin
             else f"torch.tensor({self.flt24((1, 2, 3, 3))}, dtype=torch.float64)")
        parts.append(f"{self.fresh()} = ({f}({x}) - {b}({c}({x}))).abs().max() < 1e-9")
        return parts

    # -- rnn utilities ----------------------------------------------------------------------------
    def seqs(self):
        lens = [int(self.rng.integers(0 if self.coin(0.1) else 1, 4)) for _ in
                range(int(self.rng.integers(1, 4)))]
        if self.coin(0.5):
            lens = sorted(lens, reverse=True)
        feat = self.pick([(), (2,), (2,)])
        return lens, [f"torch.tensor({self.flt24((n,) + feat)}, dtype=torch.float64)"
                      for n in lens]

    def pad24(self):
        lens, seqs = self.seqs()
        s = self.fresh()
        parts = [f"{s} = [{', '.join(seqs)}]"]
        kws = []
        if self.coin(0.5):
            kws.append(f"batch_first={self.pick(['True', 'False'])}")
        if self.coin(0.4):
            kws.append(f"padding_value={self.pick(['-1.0', '0.5'])}")
        if self.coin(0.3):
            kws.append(f"padding_side={self.pick([repr('left'), repr('right'), repr('up')])}")
        kw = "".join(", " + k for k in kws)
        p = self.fresh()
        parts.append(_catch(f"{p} = {U}.rnn.pad_sequence({s}{kw})", self.fresh()))
        if self.coin(0.5):
            bf = "batch_first=True" if "batch_first=True" in kw else "batch_first=False"
            parts.append(_catch(f"{self.fresh()} = {U}.rnn.unpad_sequence({p}, "
                                f"torch.tensor({lens}), {bf})", self.fresh()))
        return parts

    def pack24(self):
        lens, seqs = self.seqs()
        bf = self.coin(0.5)
        p, k = self.fresh(), self.fresh()
        enforce = self.pick(["", ", enforce_sorted=False", ", enforce_sorted=True"])
        lengths = self.pick([repr(lens), f"torch.tensor({lens})"])
        parts = [f"{p} = {U}.rnn.pad_sequence([{', '.join(seqs)}], batch_first={bf})"]
        how = self.pick(["padded", "seq", "rnn"])
        if how == "seq":
            parts.append(_catch(f"{k} = {U}.rnn.pack_sequence([{', '.join(seqs)}]{enforce})",
                                self.fresh()))
        else:
            parts.append(_catch(f"{k} = {U}.rnn.pack_padded_sequence({p}, {lengths}, "
                                f"batch_first={bf}{enforce})", self.fresh()))
        parts.append(f"{self.fresh()} = [{k}.data, {k}.batch_sizes, {k}.sorted_indices, "
                     f"{k}.unsorted_indices]")
        if how == "rnn" and "(2,)" not in seqs[0] and seqs[0].count("[[") and self.coin(0.9):
            r = self.fresh()
            rnn = self.pick(["GRU(2, 3)", "LSTM(2, 3)", "RNN(2, 3, nonlinearity='relu')"])
            parts.append(f"torch.manual_seed(3); {r} = torch.nn.{rnn}.double()")
            o = self.fresh()
            parts.append(f"{o}, {self.fresh()} = {r}({k})")
            k = o
        kws = []
        if self.coin(0.3):
            kws.append(f"padding_value={self.pick(['-1.0', '2.0'])}")
        if self.coin(0.3):
            kws.append(f"total_length={self.pick(['3', '5', '1'])}")
        kw = "".join(", " + x for x in kws)
        parts.append(_catch(f"{self.fresh()}, {self.fresh()} = {U}.rnn.pad_packed_sequence("
                            f"{k}, batch_first={self.pick(['True', 'False'])}{kw})",
                            self.fresh()))
        if self.coin(0.3):
            parts.append(_catch(f"{self.fresh()} = {U}.rnn.unpack_sequence({k})", self.fresh()))
        return parts

    # -- prune ------------------------------------------------------------------------------------
    def prune24(self):
        parts = []
        m, kind = self.model24(parts, ["lin", "conv", "seq"], fresh=self.coin(0.4))
        w = self.weight_of(m, kind)
        P = "prune24"  # (torch.nn.utils.prune is imported by name: not an attribute before)
        if "prune24" not in self.ns:
            exec(PRUNE, self.ns)
            parts.append(PRUNE)
        amount = self.pick(["0.3", "0.5", "1", "2", "0.0", "1.0", "1.5", "-1", "100"])
        name = self.pick(["'weight'", "'weight'", "'bias'"])
        how = self.pick(["l1", "random", "rstruct", "ln", "global", "identity"])
        seed = f"torch.manual_seed({int(self.rng.integers(0, 50))}); "
        body = {"l1": f"{P}.l1_unstructured({w}, {name}, amount={amount})",
                "random": f"{seed}{P}.random_unstructured({w}, {name}, amount={amount})",
                "rstruct": f"{seed}{P}.random_structured({w}, {name}, amount={amount}, "
                           f"dim={self.pick(['0', '1', '-1'])})",
                "ln": f"{P}.ln_structured({w}, 'weight', amount={amount}, "
                      f"n={self.pick(LN_NORMS)}, dim={self.pick(['0', '1'])})",
                "global": f"{P}.global_unstructured([({w}, 'weight'), ({w}, 'bias')], "
                          f"pruning_method={P}.L1Unstructured, amount={amount})",
                "identity": f"{P}.identity({w}, {name})"}[how]
        parts.append(_catch(body, self.fresh()))
        parts.append(f"{self.fresh()} = {P}.is_pruned({m}), [n for n, _ in {m}.named_buffers()]"
                     f", [n for n, _ in {m}.named_parameters()]")
        if self.coin(0.5):
            parts.append(self.backward24(m, kind))
        if self.coin(0.4):
            parts.append(_catch(f"{P}.remove({w}, {name})", self.fresh()))
        parts.append(f"{self.fresh()} = {w}.weight.detach().clone()")
        if self.coin(0.3):
            parts.append(f"{self.fresh()} = list({m}.state_dict())")
        return parts

    # -- torch.func / stateless -------------------------------------------------------------------
    def fcall24(self):
        parts = []
        m, kind = self.model24(parts)
        d = self.fresh()
        src = self.pick([f"dict({m}.named_parameters())",
                         f"{{k: v.detach() * 2 for k, v in {m}.named_parameters()}}",
                         f"{{k: v * 0 for k, v in {m}.state_dict().items()}}",
                         "{'bogus': torch.zeros(1)}",
                         f"{{k: v + 1 for k, v in list({m}.named_parameters())[:1]}}"])
        parts.append(f"{d} = {src}")
        kws = []
        if self.coin(0.4):
            kws.append(f"strict={self.pick(['True', 'False'])}")
        if self.coin(0.3):
            kws.append(f"tie_weights={self.pick(['True', 'False'])}")
        kw = "".join(", " + k for k in kws)
        fn = self.pick(["torch.func.functional_call", "torch.func.functional_call",
                        f"{U}.stateless.functional_call"])
        if fn.endswith("stateless.functional_call"):
            kw = kw.replace("strict=True", "").replace("strict=False", "").replace(", ,", ",")
            kw = kw.rstrip(", ")
        dicts = d if self.coin(0.8) else f"({d}, {{}})"
        y = self.fresh()
        parts.append(_catch(f"{y} = {fn}({m}, {dicts}, ({self.inp(kind)},){kw})",
                            self.fresh()))
        if self.coin(0.4):
            parts.append(f"{y}.sum().backward()")
        return parts

    def stack24(self):
        ms = [self.fresh() for _ in range(2)]
        parts = [f"torch.manual_seed({i}); {n} = torch.nn.Linear(3, 2).double()"
                 for i, n in enumerate(ms)]
        p, b = self.fresh(), self.fresh()
        parts.append(f"{p}, {b} = torch.func.stack_module_state([{', '.join(ms)}])")
        self.norm19(parts)
        parts.append(f"{self.fresh()} = _n19({p}), _n19({b}), [v.requires_grad for v in "
                     f"{p}.values()]")
        return parts

    def funcgrad24(self):
        parts = []
        m, kind = self.model24(parts, ["lin", "seq", "tied", "conv"])
        x = self.fresh()
        parts.append(f"{x} = {self.inp(kind)}")
        p = self.fresh()
        parts.append(f"{p} = {{k: v.detach() for k, v in {m}.named_parameters()}}")
        f = self.fresh()
        aux = self.coin(0.4)
        body = f"torch.func.functional_call({m}, ps, ({x},))"
        if aux:
            parts.append(f"{f} = lambda ps: ((({body}) ** 2).sum(), {body}.detach())")
        else:
            parts.append(f"{f} = lambda ps: (({body}) ** 2).sum()")
        has = ", has_aux=True" if aux else ""
        out = self.fresh()
        what = self.pick(["grad", "grad_and_value", "vjp", "jacrev", "hessian"])
        if what == "hessian" and kind != "lin":
            what = "jacrev"
        if what == "vjp":
            body = (f"{out} = torch.func.vjp({f}, {p}{has}); "
                    f"{self.fresh()} = {out}[1](torch.tensor(1.0, dtype=torch.float64))")
        elif what == "hessian":
            body = f"{out} = torch.func.hessian({f}{has})({p})"
        else:
            body = f"{out} = torch.func.{what}({f}{has})({p})"
        parts.append(_catch(body, self.fresh()))
        self.norm19(parts)
        parts.append(f"{self.fresh()} = _n19({out})")
        return parts

    # -- the Module API around them ---------------------------------------------------------------
    def hooks24(self):
        parts = []
        m, kind = self.model24(parts)
        log = self.fresh()
        parts.append(f"{log} = []")
        what = self.pick(["pre_kw", "pre", "full_bw", "full_bw", "full_bw_pre", "fwd_kw"])
        h = self.fresh()
        if what == "pre_kw":
            parts.append(f"{h} = {m}.register_forward_pre_hook(lambda mod, args, kwargs: "
                         f"{log}.append(('pre', len(args), sorted(kwargs))), with_kwargs=True)")
        elif what == "pre":
            parts.append(f"{h} = {m}.register_forward_pre_hook(lambda mod, args: "
                         f"(args[0] * 2,))")
        elif what == "fwd_kw":
            parts.append(f"{h} = {m}.register_forward_hook(lambda mod, args, kwargs, out: "
                         f"out + 1, with_kwargs=True)")
        elif what == "full_bw":
            parts.append(f"{h} = {m}.register_full_backward_hook(lambda mod, gi, go: "
                         f"{log}.append([None if g is None else g.clone() for g in gi] + "
                         f"[g.clone() for g in go]))")
        else:
            parts.append(f"{h} = {m}.register_full_backward_pre_hook(lambda mod, go: "
                         f"{log}.append([g.clone() for g in go]) or (go[0] * 3,))")
        x = self.inp(kind)
        if self.coin(0.5):
            x = x[:-1] + ", requires_grad=True)"
        y = self.fresh()
        parts.append(_catch(f"{y} = {m}({x}); {y}.sum().backward()", self.fresh()))
        parts.append(f"{self.fresh()} = list({log})")
        if self.coin(0.5):
            parts.append(f"{h}.remove()")
        return parts

    def modapi24(self):
        parts = []
        m, kind = self.model24(parts)
        what = self.pick(["named", "load", "zero", "getsub", "getparam", "to", "apply"])
        out = self.fresh()
        if what == "named":
            parts.append(f"{out} = [n for n, _ in {m}.named_parameters(remove_duplicate="
                         f"{self.pick(['True', 'False'])})], [n for n, _ in {m}.named_buffers("
                         f"remove_duplicate={self.pick(['True', 'False'])})]")
        elif what == "load":
            sd = self.fresh()
            parts.append(f"{sd} = {{k: v.clone() + 1 for k, v in {m}.state_dict().items()}}")
            change = self.pick([f"{sd}.pop(next(iter({sd})))", f"{sd}.update(extra=torch.ones(1))",
                                "None", f"{sd}.update({{'scale': torch.ones(5)}})"])
            parts.append(change)
            self.norm19(parts)
            parts.append(_catch(f"{out} = {m}.load_state_dict({sd}, strict="
                                f"{self.pick(['True', 'False'])}); "
                                f"{self.fresh()} = _n19([{out}.missing_keys, "
                                f"{out}.unexpected_keys])", self.fresh()))
        elif what == "zero":
            parts.append(self.backward24(m, kind))
            parts.append(f"{m}.zero_grad(set_to_none={self.pick(['True', 'False'])})")
        elif what == "getsub":
            target = self.pick(["''", "'a'", "'0'", "'0.weight'", "'b.weight'", "'zz'"])
            parts.append(_catch(f"{out} = type({m}.get_submodule({target})).__name__",
                                self.fresh()))
        elif what == "getparam":
            target = self.pick(["'weight'", "'a.weight'", "'0.weight'", "'scale'", "'zz.w'",
                                "'a.zz'", "'0'"])
            parts.append(_catch(f"{out} = {m}.get_parameter({target})", self.fresh()))
        elif what == "to":
            parts.append(self.backward24(m, kind))
            parts.append(f"{out} = {m}.to({self.pick(['torch.float32', 'torch.float64'])})"
                         f" is {m}")
            parts.append(f"{m}.requires_grad_({self.pick(['True', 'False'])})")
        else:
            parts.append(f"{out} = []; {m}.apply(lambda mod: {out}.append(type(mod).__name__))")
        return parts

    def call24(self):
        parts = []
        m, kind = self.model24(parts)
        if self.coin(0.3):
            parts.append(f"{m}.{self.pick(['train()', 'eval()', 'train(False)'])}")
        parts.append(f"{self.fresh()} = {m}({self.inp(kind)})")
        return parts


# -- reviewed differences -------------------------------------------------------------------------

def _line_of(lines, failure):
    return lines[failure[0]] if failure[0] < len(lines) else ""


def _jacobian_block_layout(lines, failure):
    # torch.func.hessian / jacrev over a dict of parameters: PyTorch's blocks are views of one
    # vmapped result (a [2, 3, 2, 3] block with permuted strides); deltagrad's are contiguous.
    # Values, shapes and dtypes agree (test_s30_SL24_fixes compares them).
    text = "\n".join(lines[:failure[0] + 1])
    return failure[1] == "silent" and ("torch.func.hessian(" in text or "torch.func.jacrev("
                                       in text) \
        and (".contiguous: " in failure[2] or ".stride: (" in failure[2])


def _orthogonal_float32_rounding(lines, failure):
    # parametrizations.orthogonal of a float32 weight: PyTorch's map (matrix_exp / cayley /
    # householder) runs in float32 and lands a few 1e-6 off; deltagrad's lands within
    # float32 rounding of the float64 result (SL24's report: the float64 weights agree).
    text = "\n".join(lines[:failure[0] + 1])
    found = re.search(r"parametrizations\.orthogonal\((a\d+)", text)
    made = [line for line in lines if found and f"{found.group(1)} = torch.nn.Linear(" in line]
    return failure[1] == "silent" and bool(made) and not made[-1].endswith(".double()") \
        and ".values: " in failure[2]


def _vmap_fallback_warning(lines, failure):
    # jacrev / hessian through an op without a batching rule in PyTorch's vmap (weight norm's
    # backward, _weight_norm_differentiable_backward): PyTorch warns UserWarning ("There is a
    # performance drop ...") as it loops; deltagrad has no such fallback to warn about. The
    # results agree (the line's outcome records one more warning class on PyTorch's side).
    line = _line_of(lines, failure)
    return failure[1] == "silent" and ("torch.func.jacrev(" in line or "torch.func.hessian("
                                       in line) \
        and "catch_warnings" in line and re.search(r": length (\d+) != torch's (\d+)",
                                                   failure[2]) is not None \
        and "weight_norm(" in "\n".join(lines)


def _backward_hooks_under_transforms(lines, failure):
    # A module with full backward (pre-)hooks called inside torch.func.grad / vjp / jacrev:
    # PyTorch refuses (RuntimeError: its hook node is an autograd.Function without
    # setup_context); deltagrad runs it and calls the hooks -- the divergence func.py's
    # docstring lists for such Functions.
    text = "\n".join(lines[:failure[0] + 1])
    line = _line_of(lines, failure)
    return "register_full_backward" in text and any(
        f"torch.func.{name}(" in line for name in ("grad", "grad_and_value", "vjp", "jacrev",
                                                    "hessian")) and (
        failure[1] == "permissive" and "setup_context" in failure[2]
        or failure[1] == "silent" and "!= torch's 'RuntimeError'" in failure[2]
        # (the line's _catch outcome: 'ok' and warning classes against PyTorch's refusal)
        or failure[1] == "silent" and "catch_warnings" in line and ": length " in failure[2])


def _partial_accumulation_of_a_failed_backward(lines, failure):
    # A backward that fails part way (a graph freed by an earlier backward: a pruned weight
    # left stale by a failed second pruning): both raise, but PyTorch has already accumulated
    # the .grad of the leaves its engine reached before the failing node; deltagrad raises
    # before accumulating any (an engine-level difference, not nn.utils').
    if failure[1] != "silent" or ".backward()" not in _line_of(lines, failure) \
            or ".grad" not in failure[2]:
        return False
    with base.warnings.catch_warnings():
        base.warnings.simplefilter("ignore")
        outcomes = list(base.run_lines(lines[:failure[0] + 1], torch))
    return outcomes[-1][0] is not None


KNOWN = [
    (_partial_accumulation_of_a_failed_backward, "a failed backward: PyTorch's partly "
                                                  "accumulated .grad"),
    (_backward_hooks_under_transforms, "full backward hooks under torch.func grad transforms "
                                       "run (PyTorch refuses)"),
    (_vmap_fallback_warning, "PyTorch's vmap-fallback performance UserWarning (weight norm)"),
    (_jacobian_block_layout, "torch.func.hessian / jacrev blocks: strides of PyTorch's vmapped "
                             "result"),
    (_orthogonal_float32_rounding, "float32 orthogonal parametrization: deltagrad's rounding "
                                   "is float64's"),
]

_OURS = ("torch.nn.init", "torch.nn.utils", "torch.func", "register_full_backward",
         "register_forward_pre_hook", "named_parameters(remove_duplicate", "load_state_dict(",
         "get_submodule", "get_parameter", "zero_grad(")


_CHAIN = own_first(KNOWN, sl23.known, _OURS)


def _known24(lines, failure):
    try:
        return _CHAIN(lines, failure)
    except NotImplementedError:
        return None


FAMILY = base.Family(Gen24, _known24, sl23.wide)
known, compare, program, run = FAMILY.known, FAMILY.compare, FAMILY.program, FAMILY.run


if __name__ == "__main__":
    sys.exit(FAMILY.main())
