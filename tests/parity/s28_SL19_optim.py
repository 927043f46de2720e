"""Session 28's optimizer / LR-scheduler API family for the program-level differential fuzzer
(``s17_SL_progfuzz.py``): the semantics of ``torch.optim`` (not its arithmetic, which
``s26_SL13_loops.py`` and the optim_db tests cover). Each line is compared as every other line
is (raised or not and the builtin class; parameters with ``.grad``; optimizers' state and
groups), and the lines record more in variables through ``_n19`` (a structural reading: dict
keys in order, value classes, floats, tensors) and ``_catch`` outcomes (the builtin exception
class and the warnings' classes). What it draws:

- construction of every optimizer class with valid and invalid options (negative lr / eps /
  weight_decay / momentum, betas out of range, nesterov without momentum or with dampening,
  maximize / foreach / capturable / differentiable / fused flags), parameter lists with
  duplicates, a parameter in two groups, non-leaf and non-tensor parameters, a lone tensor,
  empty lists, group dicts with their own options;
- ``param_groups`` contents and defaults, ``add_param_group``;
- ``state_dict()`` structure (state keys, the groups' ``params`` ids, every stored option) and
  ``load_state_dict`` across optimizers and group counts;
- ``zero_grad(set_to_none=)``, ``step`` with closures (its return value);
- step pre / post hooks and state-dict pre / post hooks, load-state-dict pre / post hooks;
- every LR scheduler's ``get_last_lr()`` over steps, construction errors, ``last_epoch``, the
  scheduler-before-optimizer warning, ``state_dict`` / ``load_state_dict``, SequentialLR /
  ChainedScheduler / LambdaLR, ReduceLROnPlateau's modes, cooldown, min_lr and threshold_mode,
  OneCycleLR / CyclicLR / CosineAnnealingWarmRestarts edge arguments;
- ``swa_utils``: AveragedModel, SWALR, update_bn.

Run as a script::

    .venv/bin/python tests/parity/s28_SL19_optim.py [--programs N] [--seed S] [--show I]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as base  # noqa: E402
import s27_SL14_operators as sl14  # noqa: E402
import s28_SL16_modules as sl16  # noqa: E402
from s17_SL_known import own_first  # noqa: E402

torch = base.torch
dg = base.dg

# A structural reading of a value: dicts as [key, reading] pairs in order, sequences as their
# class name and readings, numbers / strings / None as themselves, tensors as themselves (the
# snapshot compares them), callables as 'fn', anything else as its class name.
NORM = ("def _n19(v):\n"
        "    if isinstance(v, dict):\n"
        "        return [[repr(k), _n19(x)] for k, x in v.items()]\n"
        "    if isinstance(v, (list, tuple)):\n"
        "        return [type(v).__name__] + [_n19(x) for x in v]\n"
        "    if isinstance(v, torch.Tensor):\n"
        "        return ['T', v.detach().clone()]\n"
        "    if v is None or isinstance(v, (bool, int, float, str)):\n"
        "        return [type(v).__name__, v]\n"
        "    if callable(v):\n"
        "        return 'fn'\n"
        "    return type(v).__name__")

OPTS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam",
        "ASGD", "Rprop"]
Q_CYC = ["'triangular'", "'triangular2'", "'exp_range'", "'bogus'"]
Q_COS_LINEAR_BOGUS = ["'cos'", "'linear'", "'bogus'"]
Q_MIN_MAX_BOGUS = ["'min'", "'max'", "'bogus'"]
Q_REL_ABS_BOGUS = ["'rel'", "'abs'", "'bogus'"]
LAMBDAS = ["lambda e: 0.5 ** e", "lambda e: e + 1", "lambda e: 1.0 / (e + 1)",
           "[lambda e: 0.9 ** e]"]
MULTIPLIERS = ["lambda e: 0.5", "lambda e: 0.9", "lambda e: 1.0 + e"]
EPOCHS_0 = "epochs=0, steps_per_epoch=3, "
BETAS = ("Adam", "AdamW", "Adamax", "NAdam", "RAdam")


# Option values drawn (valid ones, and the invalid ones drawn with ``bad``)
VALUES = {
    'lr': (['0.1', '0.01', '1e-3', '0.5'],
           ['-0.1', '0.0']),
    'betas': (['(0.9, 0.99)', '(0.5, 0.5)', '(0.0, 0.9)'],
              ['(1.0, 0.9)', '(0.9, 1.0)', '(-0.1, 0.9)', '(0.9, 1.5)']),
    'eps': (['1e-6', '0.0'],
            ['-1e-8']),
    'weight_decay': (['0.0', '0.01', '0.1'],
                     ['-0.1']),
    'momentum': (['0.0', '0.9', '0.5'],
                 ['-0.5']),
    'alpha': (['0.9', '0.5'],
              ['-0.1']),
    'lr_decay': (['0.0', '0.1'],
                 ['-0.1']),
    'initial_accumulator_value': (['0.1'],
                                  ['-1.0']),
    'rho': (['0.5'],
            ['1.5', '-0.1']),
    'etas': (['(0.5, 1.2)'],
             ['(1.5, 1.2)', '(0.5, 0.9)']),
    'momentum_decay': (['0.004'],
                       ['-0.1']),
}


def _guarded(maker):
    """``maker`` where a statement it runs to draw the next ones raises: no statement (the
    generator runs some of its lines on PyTorch to know the state they leave)."""
    def call():
        try:
            return maker()
        except Exception:  # noqa: BLE001 - drawn again
            return None
    return call


def _catch(body, out):
    return sl16._catch(body, out)


class Gen19(sl16.Gen16):
    """Session 17's grammar (and sessions 18-28's families, at a low weight) plus the optim
    API families above."""

    def makers(self):
        old = [(maker, weight * 0.01) for maker, weight in super().makers()]
        new = [(self.opt19, 10), (self.groups19, 6), (self.add_group19, 5),
                      (self.sd19, 8), (self.load19, 7), (self.zero19, 5), (self.step19, 8),
                      (self.hooks19, 5), (self.sched19, 12), (self.sched_sd19, 5),
                      (self.plateau19, 6), (self.swa19, 4)]
        return old + [(_guarded(maker), weight) for maker, weight in new]

    # -- helpers --------------------------------------------------------------------------------
    def val(self, key, bad):
        good, invalid = VALUES[key]
        return self.pick(good + (invalid if bad else []))

    def norm(self, parts):
        if "_n19" not in self.ns:
            exec(NORM, self.ns)
            parts.append(NORM)

    def model19(self, parts):
        """A module variable (float64 Linear) with gradients, built now or reused."""
        names = [k for k, v in self.ns.items() if k.startswith("a") and k[1:].isdigit()
                 and isinstance(v, torch.nn.Linear)]
        if names and self.coin(0.7):
            return self.pick(names)
        m = self.fresh()
        line = (f"torch.manual_seed({int(self.rng.integers(0, 50))}); "
                f"{m} = torch.nn.Linear(3, 2).double()")
        exec(line, self.ns)
        parts.append(line)
        if self.coin(0.8):
            parts.append(self.backward19(m))
            exec(parts[-1], self.ns)
        return m

    def backward19(self, m):
        x = self.flt((4, 3))
        return f"({m}(torch.tensor({x}, dtype=torch.float64)) ** 2).sum().backward()"

    def optims(self):
        return [k for k, v in self.ns.items() if k.startswith("a") and k[1:].isdigit()
                and isinstance(v, torch.optim.Optimizer)]

    def scheds(self):
        return [k for k, v in self.ns.items() if k.startswith("a") and k[1:].isdigit()
                and isinstance(v, (torch.optim.lr_scheduler.LRScheduler,
                                   torch.optim.lr_scheduler.ReduceLROnPlateau))]

    def kwargs19(self, cls, bad=True):
        kws = []
        if self.coin(0.7) or cls in ("SGD",):
            kws.append(f"lr={self.val('lr', bad)}")
        if cls in BETAS and self.coin(0.4):
            kws.append(f"betas={self.val('betas', bad)}")
        if cls not in ("SGD", "Rprop", "ASGD") and self.coin(0.3):
            kws.append(f"eps={self.val('eps', bad)}")
        if cls not in ("Rprop",) and self.coin(0.3):
            kws.append(f"weight_decay={self.val('weight_decay', bad)}")
        if cls in ("SGD", "RMSprop") and self.coin(0.5):
            kws.append(f"momentum={self.val('momentum', bad)}")
        if cls == "SGD" and self.coin(0.4):
            kws.append(f"nesterov={self.pick(['True', 'False'])}")
        if cls == "SGD" and self.coin(0.3):
            kws.append(f"dampening={self.pick(['0.0', '0.1'])}")
        if cls == "RMSprop" and self.coin(0.3):
            kws.append(f"alpha={self.val('alpha', bad)}")
        if cls == "RMSprop" and self.coin(0.2):
            kws.append("centered=True")
        if cls == "Adam" and self.coin(0.2):
            kws.append("amsgrad=True")
        if cls == "Adagrad" and self.coin(0.3):
            kws.append(f"lr_decay={self.val('lr_decay', bad)}")
        if cls == "Adagrad" and self.coin(0.2):
            kws.append(f"initial_accumulator_value={self.val('initial_accumulator_value', bad)}")
        if cls == "Adadelta" and self.coin(0.3):
            kws.append(f"rho={self.val('rho', bad)}")
        if cls == "Rprop" and self.coin(0.3):
            kws.append(f"etas={self.val('etas', bad)}")
        if cls == "Rprop" and self.coin(0.3):
            kws.append(f"step_sizes={self.pick(['(1e-6, 50)', '(0.1, 1.0)'])}")
        if cls == "NAdam" and self.coin(0.2):
            kws.append(f"momentum_decay={self.val('momentum_decay', bad)}")
        if cls == "NAdam" and self.coin(0.2):
            kws.append("decoupled_weight_decay=True")
        if cls == "RAdam" and self.coin(0.2):
            kws.append("decoupled_weight_decay=True")
        if cls == "ASGD" and self.coin(0.3):
            kws.append(f"t0={self.pick(['1.0', '100.0'])}")
        if cls == "ASGD" and self.coin(0.3):
            kws.append(f"lambd={self.pick(['1e-4', '0.5'])}")
        if self.coin(0.25):
            kws.append(f"maximize={self.pick(['True', 'False'])}")
        if self.coin(0.15):
            kws.append(f"foreach={self.pick(['True', 'False', 'None'])}")
        if bad and self.coin(0.08):
            kws.append(f"capturable={self.pick(['True', 'False'])}")
        if bad and self.coin(0.08):
            kws.append(f"differentiable={self.pick(['True', 'False'])}")
        if bad and self.coin(0.05):
            kws.append(f"fused={self.pick(['True', 'False', 'None'])}")
        if bad and self.coin(0.04):
            kws.append("bogus=1")
        return kws

    def new_opt(self, parts, m=None, cls=None, bad=False):
        m = m or self.model19(parts)
        cls = cls or self.pick(OPTS)
        o = self.fresh()
        kws = self.kwargs19(cls, bad=bad)
        if cls == "SGD" and not any(k.startswith("lr=") for k in kws):
            kws.insert(0, "lr=0.1")
        line = f"{o} = torch.optim.{cls}({', '.join([f'{m}.parameters()'] + kws)})"
        return o, line

    def opt19(self):
        parts = []
        o, line = self.new_opt(parts, bad=self.coin(0.6))
        if self.coin(0.5):
            out = self.fresh()
            parts.append(_catch(line, out))
            return parts
        parts.append(line)
        self.norm(parts)
        parts.append(f"{self.fresh()} = _n19([{{k: v for k, v in g.items() if k != 'params'}} "
                     f"for g in {o}.param_groups])")
        if self.coin(0.5):
            parts.append(f"{self.fresh()} = _n19({o}.defaults)")
        return parts

    def groups19(self):
        parts = []
        m = self.model19(parts)
        cls = self.pick(OPTS)
        lr = "lr=0.1, " if cls == "SGD" or self.coin(0.3) else ""
        spec = self.pick([
            f"[{m}.weight, {m}.bias]",
            f"[{m}.weight, {m}.weight]",
            f"[{{'params': [{m}.weight]}}, {{'params': [{m}.bias], 'lr': 0.5}}]",
            f"[{{'params': [{m}.weight]}}, {{'params': [{m}.weight, {m}.bias]}}]",
            f"[{{'params': {m}.weight}}, {{'params': {m}.bias, 'weight_decay': 0.2}}]",
            f"[{m}.weight * 2]",
            f"[{m}.weight, 3.0]",
            f"{m}.weight",
            "[]",
            f"[{{'params': []}}, {{'params': [{m}.bias]}}]",
            f"[{{'params': [{m}.weight], 'bogus': 1}}]",
            f"[{{'params': [{m}.weight], 'lr': -1.0}}]",
            "[{'lr': 0.5}]",
            f"dict({m}.named_parameters())",
            f"list({m}.named_parameters())",
            f"[{{'params': list({m}.named_parameters())}}]",
            f"({m}.weight, {m}.bias)",
            f"{{{m}.weight}}"])  # (one element: a longer set's order follows the tensors' hashes)
        o = self.fresh()
        line = f"{o} = torch.optim.{cls}({spec}, {lr})"
        if self.coin(0.5):
            parts.append(_catch(line, self.fresh()))
            return parts
        parts.append(line)
        self.norm(parts)
        parts.append(f"{self.fresh()} = _n19([{{k: (len(v) if k == 'params' else v) for k, v "
                     f"in g.items()}} for g in {o}.param_groups])")
        return parts

    def some_opt(self, parts):
        names = self.optims()
        if names and self.coin(0.7):
            return self.pick(names)
        o, line = self.new_opt(parts)
        parts.append(line)
        exec(line, self.ns)
        return o

    def add_group19(self):
        parts = []
        o = self.some_opt(parts)
        what = self.pick(["new", "same", "kw", "bad", "tensor", "empty", "nolist"])
        p = self.fresh()
        parts.append(f"{p} = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))")
        body = {"new": f"{o}.add_param_group({{'params': [{p}]}})",
                "same": f"{o}.add_param_group({{'params': {o}.param_groups[0]['params'][:1]}})",
                "kw": f"{o}.add_param_group({{'params': {p}, 'lr': 0.25, 'weight_decay': 0.5}})",
                "bad": f"{o}.add_param_group({{'params': [{p}], 'lr': -1.0}})",
                "tensor": f"{o}.add_param_group([{p}])",
                "empty": f"{o}.add_param_group({{'params': []}})",
                "nolist": f"{o}.add_param_group({{'params': {{{p}}}}})"}[what]
        parts.append(_catch(body, self.fresh()))
        self.norm(parts)
        parts.append(f"{self.fresh()} = _n19([{{k: (len(v) if k == 'params' else v) for k, v "
                     f"in g.items()}} for g in {o}.param_groups])")
        return parts

    def sd19(self):
        parts = []
        o = self.some_opt(parts)
        if self.coin(0.6):
            m = [k for k, v in self.ns.items() if isinstance(v, torch.nn.Linear)
                 and k.startswith("a") and k[1:].isdigit()]
            if m:
                parts.append(self.backward19(self.pick(m)))
            parts.append(f"{o}.step()")
        self.norm(parts)
        parts.append(f"{self.fresh()} = _n19({o}.state_dict())")
        return parts

    def load19(self):
        parts = []
        o = self.some_opt(parts)
        o2 = self.some_opt(parts) if self.coin(0.5) else None
        if o2 is None or o2 == o:
            m = self.model19(parts)
            cls = self.pick(OPTS)
            o2, line = self.new_opt(parts, m=m, cls=cls)
            parts.append(line)
        if self.coin(0.5):
            parts.append(f"{o2}.step()")
        what = self.pick(["plain", "plain", "drop", "nogroups", "nostate", "copy", "extra"])
        sd = self.fresh()
        parts.append(f"{sd} = {o2}.state_dict()")
        body = {"plain": f"{o}.load_state_dict({sd})",
                "drop": f"{o}.load_state_dict({{'state': {sd}['state'], 'param_groups': []}})",
                "nogroups": f"{o}.load_state_dict({{'state': {sd}['state']}})",
                "nostate": f"{o}.load_state_dict({{'param_groups': {sd}['param_groups']}})",
                "copy": f"{o}.load_state_dict(__import__('copy').deepcopy({sd}))",
                "extra": f"{o}.load_state_dict({{**{sd}, 'param_groups': {sd}['param_groups'] "
                         f"+ {sd}['param_groups']}})"}[what]
        parts.append(_catch(body, self.fresh()))
        self.norm(parts)
        parts.append(f"{self.fresh()} = _n19({o}.state_dict())")
        return parts

    def zero19(self):
        parts = []
        o = self.some_opt(parts)
        arg = self.pick(["", "set_to_none=True", "set_to_none=False", "False"])
        parts.append(f"{o}.zero_grad({arg})")
        parts.append(f"{self.fresh()} = [[p.grad is None, None if p.grad is None else "
                     f"p.grad.sum().item()] for g in {o}.param_groups for p in g['params']]")
        return parts

    def step19(self):
        parts = []
        m = self.model19(parts)
        o, line = self.new_opt(parts, m=m)
        parts.append(line)
        out = self.fresh()
        x = self.flt((4, 3))
        kind = self.pick(["closure", "closure", "plain", "none_closure", "lambda_num"])
        if kind == "closure":
            parts.append(f"def _c19():\n    {o}.zero_grad()\n    loss = ({m}(torch.tensor({x}, "
                         f"dtype=torch.float64)) ** 2).sum()\n    loss.backward()\n    "
                         f"return loss")
            parts.append(f"{out} = {o}.step(_c19)")
        elif kind == "plain":
            parts.append(f"{out} = {o}.step()")
        elif kind == "none_closure":
            parts.append(f"{out} = {o}.step(closure=None)")
        else:
            parts.append(f"{out} = {o}.step(lambda: 3.5)")
        if self.coin(0.5):
            parts.append(f"{self.fresh()} = [sorted(s) for s in {o}.state.values()]")
        return parts

    def hooks19(self):
        parts = []
        o = self.some_opt(parts)
        log = self.fresh()
        parts.append(f"{log} = []")
        which = self.pick(["pre", "post", "sdpre", "sdpost", "lpre", "lpost"])
        h = self.fresh()
        if which == "pre":
            parts.append(f"{h} = {o}.register_step_pre_hook(lambda opt, args, kwargs: "
                         f"{log}.append(['pre', type(opt).__name__, len(args), sorted(kwargs)]))")
            parts.append(f"{o}.step()")
        elif which == "post":
            parts.append(f"{h} = {o}.register_step_post_hook(lambda opt, args, kwargs: "
                         f"{log}.append(['post', len(args)]))")
            parts.append(f"{o}.step()")
        elif which == "sdpre":
            parts.append(f"{h} = {o}.register_state_dict_pre_hook(lambda opt: "
                         f"{log}.append(['sdpre']))")
            parts.append(f"{self.fresh()} = len({o}.state_dict()['param_groups'])")
        elif which == "sdpost":
            kind = self.pick(["none", "new"])
            ret = "None" if kind == "none" else "{'state': {}, 'param_groups': sd['param_groups']}"
            parts.append(f"{h} = {o}.register_state_dict_post_hook(lambda opt, sd: "
                         f"({log}.append(sorted(sd)), {ret})[1])")
            self.norm(parts)
            parts.append(f"{self.fresh()} = _n19({o}.state_dict()['state'])")
        elif which == "lpre":
            parts.append(f"{h} = {o}.register_load_state_dict_pre_hook(lambda opt, sd: "
                         f"{log}.append(sorted(sd)))")
            parts.append(f"{o}.load_state_dict({o}.state_dict())")
        elif which == "lpost":
            parts.append(f"{h} = {o}.register_load_state_dict_post_hook(lambda opt: "
                         f"{log}.append('lpost'))")
            parts.append(f"{o}.load_state_dict({o}.state_dict())")
        parts.append(f"{h}.remove()")
        if self.coin(0.5):
            parts.append(f"{o}.step()")
        return parts

    # -- schedulers -----------------------------------------------------------------------------
    def sched_expr(self, o):
        L = "torch.optim.lr_scheduler."
        kind = self.pick(["StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
                          "PolynomialLR", "CosineAnnealingLR", "LambdaLR", "MultiplicativeLR",
                          "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR",
                          "SequentialLR", "ChainedScheduler"])
        p = self.pick
        args = {
            "StepLR": f"step_size={p(['1', '2', '3', '0', '-1'])}, "
                      f"gamma={p(['0.5', '0.1', '2.0'])}",
            "MultiStepLR": f"milestones={p(['[1, 3]', '[2, 2, 4]', '[3, 1]', '[]'])}, "
                           f"gamma={p(['0.5', '0.1'])}",
            "ConstantLR": f"factor={p(['0.5', '0.1', '1.0', '0.0', '1.5', '-0.5'])}, "
                          f"total_iters={p(['2', '4', '0'])}",
            "LinearLR": f"start_factor={p(['0.25', '1.0', '0.0', '1.5', '0.5'])}, "
                        f"end_factor={p(['1.0', '0.5', '0.0', '2.0'])}, "
                        f"total_iters={p(['3', '5', '0', '1'])}",
            "ExponentialLR": f"gamma={p(['0.5', '0.9', '1.0', '0.0'])}",
            "PolynomialLR": f"total_iters={p(['2', '4', '0'])}, "
                            f"power={p(['1.0', '2.0', '0.5', '0.0'])}",
            "CosineAnnealingLR": f"T_max={p(['2', '3', '5', '1', '0'])}, "
                                 f"eta_min={p(['0.0', '0.01', '1.0'])}",
            "LambdaLR": f"lr_lambda={p(LAMBDAS)}",
            "MultiplicativeLR": f"lr_lambda={p(MULTIPLIERS)}",
            "CosineAnnealingWarmRestarts": f"T_0={p(['1', '2', '3', '0', '2.5'])}, "
                                           f"T_mult={p(['1', '2', '0', '1.5'])}, "
                                           f"eta_min={p(['0.0', '0.01', '-0.1'])}",
            "CyclicLR": f"base_lr={p(['0.01', '[0.01]', '0.1'])}, max_lr={p(['0.1', '1.0'])}, "
                        f"step_size_up={p(['2', '3', '1'])}, "
                        f"step_size_down={p(['None', '1', '2'])}, "
                        f"mode={p(Q_CYC)}, "
                        f"gamma={p(['0.9', '1.0'])}, cycle_momentum={p(['False', 'True'])}",
            "OneCycleLR": f"max_lr={p(['0.1', '1.0', '[0.5]'])}, "
                          f"total_steps={p(['6', '10', 'None', '0'])}, "
                          f"{p(['', 'epochs=2, steps_per_epoch=3, ', EPOCHS_0])}"
                          f"pct_start={p(['0.3', '0.5', '0.0', '1.5'])}, "
                          f"anneal_strategy={p(Q_COS_LINEAR_BOGUS)}, "
                          f"cycle_momentum={p(['False', 'True'])}, "
                          f"three_phase={p(['False', 'True'])}",
            "SequentialLR": f"schedulers=[{L}ConstantLR({o}, factor=0.5, total_iters=2), "
                            f"{L}ExponentialLR({o}, gamma=0.9)], "
                            f"milestones={p(['[2]', '[3]', '[1, 2]', '[]'])}",
            "ChainedScheduler": f"schedulers=[{L}ConstantLR({o}, factor=0.5, total_iters=2), "
                                f"{L}ExponentialLR({o}, gamma=0.9)]",
        }[kind]
        extra = ""
        if kind not in ("SequentialLR", "ChainedScheduler") and self.coin(0.1):
            extra = f", last_epoch={p(['-1', '0', '2'])}"
        elif self.coin(0.03):
            extra = f", verbose={p(['True', 'False'])}"
        if kind in ("SequentialLR", "ChainedScheduler"):
            return f"{L}{kind}({o}, {args})" if kind == "SequentialLR" or self.coin(0.5) \
                else f"{L}{kind}({args.replace('schedulers=', '')})"
        return f"{L}{kind}({o}, {args}{extra})"

    def sched19(self):
        parts = []
        m = self.model19(parts)
        cls = self.pick(["SGD", "SGD", "Adam", "RMSprop", "AdamW"])
        o, line = self.new_opt(parts, m=m, cls=cls)
        if cls in ("SGD", "RMSprop") and "momentum" not in line and self.coin(0.5):
            line = line[:-1] + ", momentum=0.9)"  # (momentum for CyclicLR / OneCycleLR)
        parts.append(line)
        exec(line, self.ns)
        s = self.fresh()
        expr = self.sched_expr(o)
        parts.append(f"{s} = {expr}")
        try:
            exec(parts[-1], self.ns)
        except Exception:  # noqa: BLE001 - kept as an outcome
            parts[-1] = _catch(parts[-1], self.fresh())
            return parts
        n = int(self.rng.integers(1, 8))
        out = self.fresh()
        order = self.pick(["opt_first", "opt_first", "opt_first", "sched_first", "no_opt",
                           "epoch", "get_lr"])
        body = {"opt_first": f"{o}.step(); {s}.step()",
                "sched_first": f"{s}.step(); {o}.step()",
                "no_opt": f"{s}.step()",
                "epoch": f"{o}.step(); {s}.step(_ + {self.pick([1, 2])})",
                "get_lr": f"{o}.step(); {s}.step(); {s}.get_lr()"}[order]
        parts.append(f"{out} = [{s}.get_last_lr()]")
        if self.coin(0.5):
            parts.append(f"for _ in range({n}):\n    {body}\n    {out}.append([{s}.get_last_lr(), "
                         f"{s}.last_epoch, [g['lr'] for g in {o}.param_groups]])")
        else:
            w = self.fresh()
            parts.append(_catch(f"for _ in range({n}):\n            {body}\n            "
                                f"{out}.append([{s}.get_last_lr(), {s}.last_epoch])", w))
        if self.coin(0.3):
            parts.append(f"{self.fresh()} = [g.get('momentum', g.get('betas')) for g in "
                         f"{o}.param_groups]")
        return parts

    def sched_sd19(self):
        parts = []
        names = [s for s in self.scheds()
                 if not isinstance(self.ns[s], torch.optim.lr_scheduler.ReduceLROnPlateau)]
        if not names:
            return self.sched19()
        s = self.pick(names)
        self.norm(parts)
        sd = self.fresh()
        parts.append(f"{sd} = {s}.state_dict()")
        parts.append(f"{self.fresh()} = _n19({{k: v for k, v in {sd}.items() if k not in "
                     f"('_schedulers', '_scale_fn_ref')}})")
        if self.coin(0.3):
            parts.append(f"{self.fresh()} = sorted({sd})")
        if self.coin(0.5):
            parts.append(_catch(f"{s}.load_state_dict({sd})", self.fresh()))
            parts.append(f"{self.fresh()} = [{s}.get_last_lr(), {s}.last_epoch]")
        return parts

    def plateau19(self):
        parts = []
        m = self.model19(parts)
        o, line = self.new_opt(parts, m=m, cls=self.pick(["SGD", "Adam"]))
        parts.append(line)
        s = self.fresh()
        p = self.pick
        kws = [f"mode={p(Q_MIN_MAX_BOGUS)}",
               f"factor={p(['0.5', '0.1', '1.0', '2.0'])}",
               f"patience={p(['0', '1', '2'])}",
               f"threshold={p(['1e-4', '0.1', '0.0'])}",
               f"threshold_mode={p(Q_REL_ABS_BOGUS)}",
               f"cooldown={p(['0', '1', '2'])}",
               f"min_lr={p(['0.0', '0.01', '[0.02]', '[0.01, 0.02]'])}",
               f"eps={p(['1e-8', '0.01'])}"]
        kws = [k for k in kws if self.coin(0.6)]
        parts.append(_catch(f"{s} = torch.optim.lr_scheduler.ReduceLROnPlateau({o}, "
                            f"{', '.join(kws)})", self.fresh()))
        metrics = self.pick(["[1.0, 1.0, 1.0, 1.0, 1.0, 1.0]",
                             "[3.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0]",
                             "[1.0, 2.0, 3.0, 3.0, 3.0]", "[1.0, 0.95, 0.9, 0.89, 0.89, 0.89]",
                             "[float('nan'), 1.0, 1.0]", "[torch.tensor(2.0), 1.0, 1.0, 1.0]"])
        out = self.fresh()
        parts.append(f"{out} = []")
        parts.append(_catch(f"for v in {metrics}:\n            {s}.step(v)\n            "
                            f"{out}.append([{s}.get_last_lr(), {s}.num_bad_epochs, "
                            f"{s}.cooldown_counter, {s}.best])", self.fresh()))
        if self.coin(0.4):
            self.norm(parts)
            parts.append(_catch(f"{self.fresh()} = _n19({{k: v for k, v in {s}.state_dict()"
                                f".items() if k != 'optimizer'}})", self.fresh()))
        return parts

    def swa19(self):
        parts = []
        m = self.model19(parts)
        avg = self.fresh()
        kind = self.pick(["plain", "ema", "fn", "buffers"])
        if kind == "plain":
            parts.append(f"{avg} = torch.optim.swa_utils.AveragedModel({m})")
        elif kind == "ema":
            parts.append(f"{avg} = torch.optim.swa_utils.AveragedModel({m}, multi_avg_fn="
                         f"torch.optim.swa_utils.get_ema_multi_avg_fn(0.9))")
        elif kind == "fn":
            parts.append(f"{avg} = torch.optim.swa_utils.AveragedModel({m}, avg_fn=lambda a, "
                         f"p, n: a + (p - a) / (n + 1))")
        else:
            parts.append(f"{avg} = torch.optim.swa_utils.AveragedModel({m}, use_buffers=True)")
        o, line = self.new_opt(parts, m=m, cls="SGD")
        parts.append(line)
        for _ in range(int(self.rng.integers(1, 4))):
            parts.append(self.backward19(m))
            parts.append(f"{o}.step(); {avg}.update_parameters({m})")
        parts.append(f"{self.fresh()} = [{avg}.n_averaged.item(), sorted({avg}.state_dict())]")
        if self.coin(0.5):
            s = self.fresh()
            p = self.pick
            parts.append(_catch(f"{s} = torch.optim.swa_utils.SWALR({o}, swa_lr="
                                f"{p(['0.05', '[0.05]', '-0.1'])}, anneal_epochs="
                                f"{p(['2', '3', '0', '-1'])}, anneal_strategy="
                                f"{p(Q_COS_LINEAR_BOGUS)})", self.fresh()))
            out = self.fresh()
            parts.append(f"{out} = []")
            parts.append(_catch(f"for _ in range(4):\n            {o}.step(); {s}.step()\n"
                                f"            {out}.append({s}.get_last_lr())", self.fresh()))
        if self.coin(0.3):
            bn = self.fresh()
            parts.append(f"torch.manual_seed(1); {bn} = torch.nn.Sequential(torch.nn.Linear(3, "
                         f"3), torch.nn.BatchNorm1d(3)).double()")
            parts.append(f"torch.optim.swa_utils.update_bn([torch.tensor({self.flt((4, 3))}, "
                         f"dtype=torch.float64), torch.tensor({self.flt((4, 3))}, "
                         f"dtype=torch.float64)], {bn})")
            parts.append(f"{self.fresh()} = [{bn}[1].running_mean.clone(), {bn}[1].running_var"
                         f".clone(), {bn}[1].num_batches_tracked.item(), {bn}[1].momentum]")
        return parts


# --------------------------------------------------------------------------------------------
# Reviewed differences this family reaches (on top of sessions 17 to 28's lists)
# --------------------------------------------------------------------------------------------

_DEGENERATE = re.compile(r"StepLR\([^)]*step_size=(0|-1)\b|CosineAnnealingLR\([^)]*T_max=0\b|"
                         r"LinearLR\([^)]*total_iters=0\b")


def _degenerate_schedule(lines, failure):
    # StepLR(step_size <= 0), CosineAnnealingLR(T_max=0), LinearLR(total_iters=0): deltagrad
    # refuses them when built (ValueError); PyTorch takes them and fails at a later step
    # (ZeroDivisionError) or gives an odd schedule (step_size=-1 decays at every step,
    # total_iters=0 keeps start_factor), or raises another error first (KeyError 'initial_lr'
    # with last_epoch set). A deliberate, loud refusal (lr_scheduler.py's comments).
    text = "\n".join(lines[:failure[0] + 1])
    return (failure[1] in ("we-raise", "silent", "raise-mismatch")
            and _DEGENERATE.search(text) is not None
            and ("ValueError" in failure[2] or failure[1] == "we-raise"))


def _state_before_missing_option(lines, failure):
    # A step that raises KeyError for an option the group lacks (another class's group loaded:
    # RMSprop's into NAdam has no betas): deltagrad has made the first parameter's state by
    # then; PyTorch raises before making any.
    return (failure[1] == "silent" and "['state']: keys" in failure[2]
            and any("load_state_dict(" in line for line in lines[:failure[0]])
            and lines[failure[0]].rstrip().endswith(".step()"))


def _refused_flag_step(lines, failure):
    # A step with capturable=True / differentiable=True on CPU leaf parameters: both raise;
    # PyTorch has made the parameters' state by then, deltagrad refuses before making any.
    return (failure[1] == "silent" and "['state']: keys" in failure[2]
            and any(f in line for line in lines[:failure[0]]
                    for f in ("capturable=True", "differentiable=True")))


KNOWN = [
    (_refused_flag_step, "a refused capturable / differentiable step: PyTorch made the state "
                         "before failing"),
    (_degenerate_schedule, "degenerate scheduler periods refused when built (PyTorch fails "
                           "later or decays oddly)"),
    (_state_before_missing_option, "a step failing on a missing option leaves the first "
                                   "parameter's new state"),
]

_OURS = ("torch.optim", "_n19", ".step(", "param_group", "zero_grad", "state_dict",
         "get_last_lr", "register_")


FAMILY = base.Family(Gen19, own_first(KNOWN, sl16.known, _OURS), sl14.wide)
known, compare, program, run = FAMILY.known, FAMILY.compare, FAMILY.program, FAMILY.run


if __name__ == "__main__":
    sys.exit(FAMILY.main())
