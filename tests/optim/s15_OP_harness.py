"""PyTorch's optim_db through deltagrad: run one optimizer config in both libraries and diff.

Each config from an OptimizerInfo's ``optim_inputs_func`` (plus the foreach / fused /
differentiable flags PyTorch's own sweep adds) drives the same parameters (several shapes, a 0-d
one, complex where the info supports it, sparse gradients for SparseAdam) with the same gradients
for several steps, with a second param group, a step where one gradient is None and an
add_param_group; then parameters, state_dict() contents, a load_state_dict round trip and
zero_grad are compared. Error inputs must raise (or warn) the same class.
"""

from __future__ import annotations

import copy
import inspect
import re
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch.testing._internal.common_optimizers import (  # noqa: E402
    OptimizerErrorEnum,
    optim_db,
)

import deltagrad as dg  # noqa: E402

STEPS = 5
RESUMED_STEPS = 2
NONE_GRAD_STEP = 2  # the step at which the second parameter has no gradient
RTOL, ATOL = 2e-5, 1e-6


def infos():
    return {info.optim_cls.__name__: info for info in optim_db}


def configs(info):
    """The CPU configs PyTorch's test_optim sweeps: each base config with every flag False, then
    with each supported flag True. foreach is included although PyTorch's sweep skips it on CPU:
    an explicit foreach=True runs there (the multi-tensor path), so deltagrad must agree."""
    flags = [f for f in info.supported_impls if f != "fused" or "cpu" in info.supports_fused_on]
    out = []
    for cfg in info.optim_inputs_func(device="cpu"):
        base = copy.deepcopy(cfg.kwargs)
        for flag in flags:
            base[flag] = False
        out.append((cfg.desc, base))
        for flag in flags:
            kwargs = dict(base, **{flag: True})
            out.append((f"{cfg.desc} & {flag}", kwargs))
    return out + extra_configs(info)


def extra_configs(info):
    """Combinations optim_db leaves out for some optimizers: a Tensor lr (with foreach,
    maximize + weight_decay, momentum), lr=0, Tensor betas."""
    params = inspect.signature(info.optim_cls.__init__).parameters
    out = [("extra: Tensor lr", {"lr": torch.tensor(0.01)}), ("extra: lr 0", {"lr": 0})]
    if "maximize" in params and "weight_decay" in params:
        out.append(("extra: maximize, weight_decay, Tensor lr",
                    {"maximize": True, "weight_decay": 0.1, "lr": torch.tensor(0.02)}))
    if "foreach" in params:
        out.append(("extra: Tensor lr & foreach", {"lr": torch.tensor(0.01), "foreach": True}))
    if "betas" in params and not info.only_supports_sparse_grads:
        out.append(("extra: Tensor betas", {"betas": (torch.tensor(0.8), torch.tensor(0.95))}))
    if "momentum" in params:
        out.append(("extra: momentum, Tensor lr", {"momentum": 0.5, "lr": torch.tensor(0.01)}))
    return out


def config_ids(name):
    return [(name, i, desc) for i, (desc, _) in enumerate(configs(infos()[name]))]


# ---------------------------------------------------------------------------------------------
# Conversion


def to_dg(obj, memo=None):
    """torch objects (tensors, sparse COO gradients, dtypes; nested) as deltagrad's; a tensor
    met twice becomes one deltagrad tensor (duplicate-parameter error inputs)."""
    memo = {} if memo is None else memo
    if isinstance(obj, torch.Tensor):
        if id(obj) in memo:
            return memo[id(obj)]
        if obj.layout == torch.sparse_coo:
            obj = obj.coalesce()
            out = dg.sparse_coo_tensor(
                dg.tensor(obj.indices().numpy()), dg.tensor(obj.values().numpy()),
                tuple(obj.shape))
        elif obj.layout != torch.strided:
            raise NotImplementedError(f"layout {obj.layout}")
        else:
            out = dg.tensor(obj.detach().numpy().copy())
        if isinstance(obj, torch.nn.Parameter):
            out = dg.nn.Parameter(out, requires_grad=obj.requires_grad)
        elif obj.requires_grad:
            out.requires_grad_(True)
        if obj.grad is not None:
            out.grad = to_dg(obj.grad, memo)
        memo[id(obj)] = out
        return out
    if isinstance(obj, torch.dtype):
        return getattr(dg, str(obj).split(".")[-1])
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_dg(x, memo) for x in obj)
    if isinstance(obj, dict):
        return {k: to_dg(v, memo) for k, v in obj.items()}
    return obj


def to_numpy(x):
    if isinstance(x, torch.Tensor):
        if x.layout == torch.sparse_coo:
            x = x.to_dense()
        return x.detach().resolve_conj().numpy()
    if isinstance(x, dg.Tensor):
        if getattr(x, "is_sparse", False):
            x = x.to_dense()
        return x.detach().numpy()
    return x


def dtype_name(x):
    return str(x.dtype).split(".")[-1]


def close(expected, actual, where, rtol=RTOL, atol=ATOL):
    """Tensors: same dtype name, shape and values (NaN where NaN); other values equal."""
    if isinstance(expected, torch.Tensor):
        assert isinstance(actual, dg.Tensor), f"{where}: {type(actual).__name__}, expected Tensor"
        assert dtype_name(expected) == dtype_name(actual), (
            f"{where}: dtype {actual.dtype} vs torch {expected.dtype}")
        e, a = to_numpy(expected), to_numpy(actual)
        assert e.shape == a.shape, f"{where}: shape {a.shape} vs torch {e.shape}"
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True, err_msg=where)
    elif isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: {type(actual).__name__}, expected dict"
        assert sorted(map(str, expected)) == sorted(map(str, actual)), (
            f"{where}: keys {sorted(map(str, actual))} vs torch {sorted(map(str, expected))}")
        for k in expected:
            close(expected[k], actual[k], f"{where}[{k!r}]", rtol, atol)
    elif isinstance(expected, (list, tuple)):
        assert isinstance(actual, (list, tuple)) and len(actual) == len(expected), (
            f"{where}: {actual!r} vs torch {expected!r}")
        for i, (e, a) in enumerate(zip(expected, actual)):
            close(e, a, f"{where}[{i}]", rtol, atol)
    elif isinstance(expected, float) and isinstance(actual, float):
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=where)
    else:
        assert type(expected) is type(actual) and expected == actual, (
            f"{where}: {actual!r} ({type(actual).__name__}) vs torch {expected!r} "
            f"({type(expected).__name__})")


# ---------------------------------------------------------------------------------------------
# The scenario


class Problem:
    """Parameters and per-step gradients shared by both libraries (NumPy arrays)."""

    def __init__(self, info, kwargs, seed=0):
        rng = np.random.default_rng(seed)
        self.sparse = info.only_supports_sparse_grads
        self.closure = info.step_requires_closure
        self.groups = info.supports_param_groups and not self.closure
        name = info.optim_cls.__name__
        if name == "Muon":
            shapes = [(4, 3), (3, 5), (2, 2)]  # Muon takes 2-d parameters only
        elif name == "Adafactor":
            shapes = [(4, 3), (5,), (3, 2, 2)]
        elif self.sparse:
            shapes = [(6, 3), (5,), (4, 2)]
        else:
            shapes = [(4, 3), (5,), ()]
        self.shapes = shapes
        self.extra_shape = (2, 3)
        # (fused kernels take real parameters only: tests/optim/test_s15_OP_optim_db.py checks
        # that a complex one is refused)
        cplx = (info.supports_complex and not self.sparse and not self.closure
                and not kwargs.get("fused"))
        # LBFGS runs to its tolerance_grad (1e-7) on the quadratic: float32 rounding noise would
        # steer its last iterations, so it gets float64 parameters.
        real = np.float64 if self.closure else np.float32
        self.dtypes = [real, real, real]
        if cplx:
            self.dtypes[1] = np.complex64
        self.init = [self._draw(rng, s, d) for s, d in zip(self.shapes, self.dtypes)]
        self.extra_init = self._draw(rng, self.extra_shape, np.float32)
        total = STEPS + RESUMED_STEPS
        self.grads = [[self._grad(rng, s, d) for s, d in zip(self.shapes, self.dtypes)]
                      for _ in range(total)]
        self.extra_grads = [self._grad(rng, self.extra_shape, np.float32) for _ in range(total)]
        self.kwargs = kwargs

    @staticmethod
    def _draw(rng, shape, dtype):
        x = rng.standard_normal(shape)
        if np.issubdtype(dtype, np.complexfloating):
            x = x + 1j * rng.standard_normal(shape)
        return np.asarray(x, dtype=dtype)

    def _grad(self, rng, shape, dtype):
        g = self._draw(rng, shape, dtype)
        if self.sparse and len(shape) == 2:
            g[rng.random(shape[0]) < 0.4] = 0  # rows without gradient
        return g


class Side:
    """One library's run of a Problem."""

    def __init__(self, lib, problem, info, kwargs):
        self.lib, self.problem = lib, problem
        self.is_torch = lib is torch
        cls = getattr(lib.optim, info.optim_cls.__name__)
        self.cls = cls
        self.params = [self._param(x) for x in problem.init]
        self.extra = self._param(problem.extra_init)
        self.kwargs = kwargs if self.is_torch else to_dg(kwargs)
        self.optimizer = self.build(self.params)
        self.steps_done = 0

    def _param(self, array):
        return self.lib.nn.Parameter(self.lib.tensor(array.copy()))

    def build(self, params):
        p = self.problem
        if p.groups:
            other = {"params": [params[2]]}
            lr = self.kwargs.get("lr", None)
            # a second group with its own options (a float lr scaled; a Tensor lr kept)
            if lr is None or isinstance(lr, float):
                other["lr"] = (lr if lr is not None else self.cls([params[0]]).defaults["lr"]) * 0.5
            groups = [{"params": params[:2]}, other]
            return self.cls(groups, **self.kwargs)
        return self.cls(params, **self.kwargs)

    def _coo(self, index, values, shape):
        if self.is_torch:  # (checked: PyTorch warns when left implicit)
            return torch.sparse_coo_tensor(index, values, shape, check_invariants=True)
        return dg.sparse_coo_tensor(index, values, shape)

    def _set_grad(self, param, array):
        lib = self.lib
        if self.problem.sparse and array.ndim == 2:
            rows = np.nonzero(np.any(array != 0, axis=1))[0]
            index = lib.tensor(rows[None, :].astype(np.int64))
            values = lib.tensor(np.ascontiguousarray(array[rows]))
            param.grad = self._coo(index, values, array.shape)
        elif self.problem.sparse:
            param.grad = None  # SparseAdam: the 1-d parameter only ever gets a sparse grad
            index = lib.tensor(np.arange(array.shape[0])[None, :].astype(np.int64))
            param.grad = self._coo(index, lib.tensor(array.copy()), array.shape)
        else:
            param.grad = lib.tensor(array.copy())

    def step(self, k, params=None, extra=True):
        p = self.problem
        params = self.params if params is None else params
        optimizer = self.optimizer
        grads = p.grads[k]
        if p.closure:
            # deterministic gradient of a quadratic, from the current parameter values
            def closure():
                loss = 0.0
                for param, g in zip(params, grads):
                    x = param.detach().numpy()
                    param.grad = self.lib.tensor((x * 0.5 + g).astype(x.dtype))
                    loss += float(np.sum(x * x * 0.25 + g * x))
                return self.lib.tensor(loss)

            out = optimizer.step(closure)
            self.steps_done += 1
            return out
        for i, (param, g) in enumerate(zip(params, grads)):
            if i == 1 and k == NONE_GRAD_STEP:
                param.grad = None
            else:
                self._set_grad(param, g)
        if extra and any(self.extra is q for group in optimizer.param_groups
                         for q in group["params"]):
            self._set_grad(self.extra, p.extra_grads[k])
        optimizer.step()
        self.steps_done += 1
        return None


def run_pair(info, kwargs):
    """Run the scenario in both libraries; returns (torch_side, dg_side) after STEPS steps,
    comparing parameters after every step."""
    problem = Problem(info, kwargs)
    t = Side(torch, problem, info, kwargs)
    d = Side(dg, problem, info, kwargs)
    compare_state_dicts(t, d, "state_dict before any step")  # (Adagrad fills state at once)
    for k in range(STEPS):
        if k == 1 and problem.groups:
            extra_kwargs = {"weight_decay": 0.05} if "weight_decay" in t.optimizer.defaults else {}
            t.optimizer.add_param_group({"params": [t.extra], **extra_kwargs})
            d.optimizer.add_param_group({"params": [d.extra], **extra_kwargs})
        lt = t.step(k)
        ld = d.step(k)
        if lt is not None:
            close(float(lt), float(ld), f"closure loss after step {k}")
        compare_params(t, d, f"step {k}")
    return problem, t, d


def compare_params(t, d, where):
    for i, (a, b) in enumerate(zip(t.params + [t.extra], d.params + [d.extra])):
        close(a.detach(), b.detach(), f"{where}: param {i}")


def compare_state_dicts(t, d, where="state_dict"):
    st, sd = t.optimizer.state_dict(), d.optimizer.state_dict()
    assert sorted(st) == sorted(sd), f"{where}: top keys {sorted(sd)} vs {sorted(st)}"
    close(st["state"], sd["state"], f"{where}['state']")
    groups_t = [{k: v for k, v in g.items()} for g in st["param_groups"]]
    groups_d = [{k: v for k, v in g.items()} for g in sd["param_groups"]]
    close(groups_t, groups_d, f"{where}['param_groups']")


def resume(problem, info, side, kwargs, lib=None, state=None):
    """A fresh optimizer of ``lib`` (side's by default) over copies of side's parameters, loaded
    from side's state_dict (or ``state``)."""
    lib = side.lib if lib is None else lib
    fresh = Side(lib, problem, info, kwargs)
    with (torch.no_grad() if lib is torch else dg.no_grad()):
        for a, b in zip(fresh.params + [fresh.extra], side.params + [side.extra]):
            a.copy_(to_dg(b.detach()) if lib is not side.lib else b.detach())
    if len(side.optimizer.param_groups) > len(fresh.optimizer.param_groups):
        extra_kwargs = {"weight_decay": 0.05} if "weight_decay" in side.optimizer.defaults else {}
        fresh.optimizer.add_param_group({"params": [fresh.extra], **extra_kwargs})
    if state is None:
        state = copy.deepcopy(side.optimizer.state_dict())
    fresh.optimizer.load_state_dict(state)
    return fresh


def _torch_error(info, kwargs):
    """The exception PyTorch's run of the scenario raises (None when it runs through)."""
    problem = Problem(info, kwargs)
    try:
        t = Side(torch, problem, info, kwargs)
        for k in range(STEPS):
            t.step(k)
    except Exception as e:  # noqa: BLE001 - compared by class below
        return e
    return None


def check_config(info, kwargs):
    """The whole differential check of one config; raises AssertionError on a difference.
    A config PyTorch refuses (fused SGD over a complex parameter; differentiable=True over leaf
    parameters) must be refused by deltagrad with the same exception class."""
    expected = _torch_error(info, kwargs)
    if expected is not None:
        problem = Problem(info, kwargs)
        try:
            d = Side(dg, problem, info, kwargs)
            for k in range(STEPS):
                d.step(k)
        except Exception as e:  # noqa: BLE001 - compared by class
            assert isinstance(e, type(expected)), (
                f"raised {type(e).__name__}: {e}; torch raised {type(expected).__name__}: "
                f"{expected}")
            return
        raise AssertionError(f"no error; torch raised {type(expected).__name__}: {expected}")
    problem, t, d = run_pair(info, kwargs)
    compare_state_dicts(t, d)
    rt, rd = resume(problem, info, t, kwargs), resume(problem, info, d, kwargs)
    # deltagrad loading PyTorch's own state_dict (tensors converted) must continue the same
    crossed = resume(problem, info, t, kwargs, lib=dg, state=to_dg(t.optimizer.state_dict()))
    for k in range(STEPS, STEPS + RESUMED_STEPS):
        rt.step(k)
        rd.step(k)
        crossed.step(k)
        compare_params(rt, rd, f"resumed step {k}")
        compare_params(rt, crossed, f"resumed from torch's state_dict, step {k}")
    compare_state_dicts(rt, rd, "resumed state_dict")
    compare_state_dicts(rt, crossed, "state_dict resumed from torch's")
    for set_to_none in (False, True):
        rt.optimizer.zero_grad(set_to_none=set_to_none)
        rd.optimizer.zero_grad(set_to_none=set_to_none)
        for i, (a, b) in enumerate(zip(rt.params + [rt.extra], rd.params + [rd.extra])):
            assert (a.grad is None) == (b.grad is None), (
                f"zero_grad({set_to_none}): param {i} grad {b.grad} vs torch {a.grad}")
            if a.grad is not None:
                close(a.grad, b.grad, f"zero_grad({set_to_none}): param {i} grad")


# ---------------------------------------------------------------------------------------------
# Error inputs


def error_inputs(name):
    info = infos()[name]
    return list(info.optim_error_inputs_func(device="cpu", dtype=torch.float32))


def _outcome(fn):
    """('raise', cls, message) / ('warn', cls, message) / ('ok', None, '')."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - the class is what we compare
            return ("raise", type(e), str(e))
    hits = [w for w in caught if not issubclass(w.category, DeprecationWarning)]
    return ("warn", [w.category for w in hits], " | ".join(str(w.message) for w in hits))


def check_error_input(name, index):
    info = infos()[name]
    err = error_inputs(name)[index]
    inp = err.optimizer_error_input
    params_t = inp.params
    if params_t is None:  # (PyTorch's test_errors builds one then: a small dense parameter)
        params_t = [torch.nn.Parameter(torch.ones(2, 2))]
    memo = {}
    params_d = to_dg(params_t, memo)
    kwargs_d = to_dg(inp.kwargs, memo)
    cls_d = getattr(dg.optim, name)
    if err.error_on == OptimizerErrorEnum.CONSTRUCTION_ERROR:
        outcome = _outcome(lambda: cls_d(params_d, **kwargs_d))
    else:
        optimizer = cls_d(params_d, **kwargs_d)
        if info.step_requires_closure:
            outcome = _outcome(lambda: optimizer.step(lambda: dg.tensor(1.0)))
        else:
            outcome = _outcome(optimizer.step)
    kind, got, message = outcome
    expected = err.error_type
    where = f"{name} error input {index} ({err.error_on.name}, {expected.__name__}: "
    where += f"{err.error_regex!r})"
    if issubclass(expected, Warning):
        assert kind == "warn" and any(issubclass(c, expected) for c in got), (
            f"{where}: got {kind} {got} {message!r}")
    else:
        assert kind == "raise", f"{where}: no error (warnings: {got})"
        assert issubclass(got, expected), f"{where}: raised {got.__name__}: {message}"
    # the message is checked loosely: one word of PyTorch's regex in ours
    words = [w for w in re.findall(r"[A-Za-z_]{4,}", err.error_regex)]
    if words:
        assert any(w.lower() in message.lower() for w in words), (
            f"{where}: message {message!r} shares no word with PyTorch's")


# ---------------------------------------------------------------------------------------------
# LR schedulers

SCHEDULER_STEPS = 30
# Plateau metrics: falling, flat (patience runs out), rising, noisy, flat again
PLATEAU_METRICS = [5.0, 4.0, 3.5, 3.5, 3.5, 3.5, 3.5, 3.6, 3.7, 3.4, 3.45, 3.41, 3.40, 3.39,
                   3.39, 3.39, 3.39, 3.39, 3.5, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 1.9, 1.9, 1.9,
                   1.9, 1.9]


def _lib_of(scheduler_module):
    return torch if scheduler_module.__name__.startswith("torch") else dg


def _tensor_lr(L, o):
    """A scheduler over a Tensor lr writes into that tensor (PyTorch fills it in place)."""
    lib = _lib_of(L)
    lr = lib.tensor(0.01)
    optimizer = lib.optim.Adam([lib.nn.Parameter(lib.ones(2))], lr=lr)
    scheduler = L.StepLR(optimizer, step_size=2, gamma=0.5)
    out = []
    for _ in range(5):
        optimizer.step()
        scheduler.step()
        group_lr = optimizer.param_groups[0]["lr"]
        out.append([float(group_lr), float(group_lr is lr),
                    float(isinstance(scheduler.get_last_lr()[0], lib.Tensor))])
    return out


def _half(epoch):
    return 0.5 ** (epoch // 3)


def _decay(epoch):
    return 0.9


def _scheduler_specs():
    """name -> function(lib_scheduler_module, optimizer) building the scheduler."""
    return {
        "LambdaLR": lambda L, o: L.LambdaLR(o, lr_lambda=[_half, lambda e: 1.0 / (1 + e)]),
        "MultiplicativeLR": lambda L, o: L.MultiplicativeLR(o, lr_lambda=_decay),
        "StepLR": lambda L, o: L.StepLR(o, step_size=4, gamma=0.5),
        "MultiStepLR": lambda L, o: L.MultiStepLR(o, milestones=[3, 7, 7, 20], gamma=0.3),
        "ConstantLR": lambda L, o: L.ConstantLR(o, factor=0.25, total_iters=5),
        "LinearLR": lambda L, o: L.LinearLR(o, start_factor=0.1, end_factor=0.9,
                                            total_iters=12),
        "ExponentialLR": lambda L, o: L.ExponentialLR(o, gamma=0.93),
        "PolynomialLR": lambda L, o: L.PolynomialLR(o, total_iters=20, power=1.7),
        "CosineAnnealingLR": lambda L, o: L.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
        "CosineAnnealingWarmRestarts": lambda L, o: L.CosineAnnealingWarmRestarts(
            o, T_0=4, T_mult=2, eta_min=0.002),
        "CyclicLR-triangular2": lambda L, o: L.CyclicLR(
            o, base_lr=0.01, max_lr=[0.2, 0.1], step_size_up=3, step_size_down=5,
            mode="triangular2"),
        "CyclicLR-exp_range": lambda L, o: L.CyclicLR(
            o, base_lr=0.01, max_lr=0.3, step_size_up=4, mode="exp_range", gamma=0.95,
            base_momentum=0.8, max_momentum=0.95),
        "OneCycleLR-cos": lambda L, o: L.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=40),
        "OneCycleLR-linear-three": lambda L, o: L.OneCycleLR(
            o, max_lr=0.4, epochs=4, steps_per_epoch=10, pct_start=0.2,
            anneal_strategy="linear", three_phase=True, div_factor=10.0,
            final_div_factor=100.0),
        "SequentialLR": lambda L, o: L.SequentialLR(
            o, schedulers=[L.LinearLR(o, start_factor=0.2, total_iters=4),
                           L.ExponentialLR(o, gamma=0.9), L.StepLR(o, step_size=3)],
            milestones=[5, 12]),
        "ChainedScheduler": lambda L, o: L.ChainedScheduler(
            [L.ConstantLR(o, factor=0.5, total_iters=6), L.ExponentialLR(o, gamma=0.95)]),
        "SWALR-cos": lambda L, o: _lib_of(L).optim.swa_utils.SWALR(
            o, swa_lr=[0.05, 0.02], anneal_epochs=4),
        "SWALR-linear": lambda L, o: _lib_of(L).optim.swa_utils.SWALR(
            o, swa_lr=0.03, anneal_epochs=6, anneal_strategy="linear"),
        "ReduceLROnPlateau-min": lambda L, o: L.ReduceLROnPlateau(o, patience=2, factor=0.5),
        "ReduceLROnPlateau-max-abs": lambda L, o: L.ReduceLROnPlateau(
            o, mode="max", threshold_mode="abs", threshold=0.05, patience=1, cooldown=2,
            min_lr=[0.01, 0.02]),
        "ReduceLROnPlateau-min-abs-eps": lambda L, o: L.ReduceLROnPlateau(
            o, threshold_mode="abs", threshold=0.2, patience=0, factor=0.3, eps=0.005),
    }


SCHEDULERS = list(_scheduler_specs())


def _scheduler_optimizer(lib):
    """SGD over two groups (own lrs; momentum for CyclicLR / OneCycleLR's cycling)."""
    a = lib.nn.Parameter(lib.ones(2))
    b = lib.nn.Parameter(lib.ones(3))
    return lib.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1,
                         momentum=0.9)


def _plain(value):
    """A state_dict value as comparable data (tensors as arrays; functions dropped)."""
    if isinstance(value, (torch.Tensor, dg.Tensor)):
        return to_numpy(value).tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()
                if not callable(v) and k not in ("optimizer", "_get_lr_called_within_step")}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value




class ScheduleRun:
    def __init__(self, lib, name):
        self.lib = lib
        self.module = lib.optim.lr_scheduler
        self.optimizer = _scheduler_optimizer(lib)
        self.scheduler = _scheduler_specs()[name](self.module, self.optimizer)
        self.plateau = name.startswith("ReduceLROnPlateau")
        self.trace = [self.observe()]

    def observe(self):
        groups = self.optimizer.param_groups
        lrs = [float(g["lr"]) for g in groups]
        momenta = [float(g["momentum"]) for g in groups]
        last = None if self.plateau and not hasattr(self.scheduler, "_last_lr") else [
            float(x) for x in self.scheduler.get_last_lr()]
        return lrs, momenta, last

    def step(self, k):
        self.optimizer.step()
        if self.plateau:
            self.scheduler.step(PLATEAU_METRICS[k])
        else:
            self.scheduler.step()
        self.trace.append(self.observe())


def compare_traces(expected, actual, where):
    for k, (e, a) in enumerate(zip(expected, actual)):
        for what, x, y in zip(("lr", "momentum", "get_last_lr"), e, a):
            if x is None or y is None:
                assert x is None and y is None, f"{where} step {k} {what}: {y} vs torch {x}"
                continue
            np.testing.assert_allclose(y, x, rtol=1e-12, atol=1e-15,
                                       err_msg=f"{where} step {k} {what}")


def check_scheduler(name):
    """30 steps in both libraries (lrs, momenta, get_last_lr each step); state_dict compared at
    step 15 and loaded into a fresh scheduler that must continue as the original."""
    t, d = ScheduleRun(torch, name), ScheduleRun(dg, name)
    half = SCHEDULER_STEPS // 2
    for k in range(half):
        t.step(k)
        d.step(k)
    compare_traces(t.trace, d.trace, name)
    st, sd = _plain(t.scheduler.state_dict()), _plain(d.scheduler.state_dict())
    assert sorted(st) == sorted(sd), f"{name} state_dict keys {sorted(sd)} vs {sorted(st)}"
    for key in st:
        if isinstance(st[key], float) or isinstance(sd[key], float):
            np.testing.assert_allclose(np.asarray(sd[key], dtype=float),
                                       np.asarray(st[key], dtype=float), rtol=1e-12,
                                       err_msg=f"{name} state_dict[{key!r}]")
        else:
            close(st[key], sd[key], f"{name} state_dict[{key!r}]", rtol=1e-12, atol=1e-15)
    # load into fresh schedulers over fresh optimizers (with the current lrs)
    resumed = []
    for run in (t, d):
        fresh = ScheduleRun(run.lib, name)
        fresh.optimizer.load_state_dict(run.optimizer.state_dict())
        fresh.scheduler.load_state_dict(run.scheduler.state_dict())
        fresh.trace = [fresh.observe()]
        resumed.append(fresh)
    for k in range(half, SCHEDULER_STEPS):
        for run in (t, d, *resumed):
            run.step(k)
    compare_traces(t.trace, d.trace, name)
    compare_traces(t.trace[half:], resumed[0].trace, f"{name} (torch resumed)")
    compare_traces(t.trace[half:], resumed[1].trace, f"{name} (resumed)")


def _outcome_of(fn):
    """(exception class or None, warning classes, the value fn returned)"""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = fn()
        except Exception as e:  # noqa: BLE001 - compared by class
            return type(e), [w.category for w in caught], str(e)
    return None, sorted({w.category.__name__ for w in caught}), value


def _with_epoch(L, o, cls, kwargs, epochs):
    scheduler = getattr(L, cls)(o, **kwargs)
    lrs = []
    for epoch in epochs:
        o.step()
        scheduler.step(epoch)
        lrs.append([float(g["lr"]) for g in o.param_groups])
    return lrs


def _before_optimizer(L, o):
    scheduler = L.StepLR(o, step_size=2)
    scheduler.step()  # before optimizer.step(): PyTorch warns
    return [float(g["lr"]) for g in o.param_groups]


def _one_cycle_past_end(L, o):
    scheduler = L.OneCycleLR(o, max_lr=0.3, total_steps=3)
    for _ in range(4):
        o.step()
        scheduler.step()


def _plateau(L, o, calls):
    scheduler = L.ReduceLROnPlateau(o, patience=0, factor=0.5)
    lrs = []
    for args in calls:
        o.step()
        scheduler.step(*args)
        lrs.append([float(g["lr"]) for g in o.param_groups])
    return lrs


def _initial_lr_missing(L, o):
    return L.StepLR(o, step_size=2, last_epoch=3)


def _sequential_milestones(L, o):
    return L.SequentialLR(o, [L.ConstantLR(o), L.ExponentialLR(o, 0.9)], milestones=[2, 4])


def _sequential_other_optimizer(L, o):
    other = _scheduler_optimizer(L.__name__.startswith("torch") and torch or dg)
    return L.SequentialLR(o, [L.ConstantLR(o), L.ExponentialLR(other, 0.9)], milestones=[2])


SCHEDULER_CASES = {
    # behaviour under the (deprecated) epoch argument: lrs and warnings
    "StepLR epoch": lambda L, o: _with_epoch(L, o, "StepLR", {"step_size": 3, "gamma": 0.5},
                                             [1, 2, 5, 9, 4]),
    "ExponentialLR epoch": lambda L, o: _with_epoch(L, o, "ExponentialLR", {"gamma": 0.9},
                                                    [1, 3, 7]),
    "MultiStepLR epoch": lambda L, o: _with_epoch(L, o, "MultiStepLR",
                                                  {"milestones": [2, 5], "gamma": 0.1},
                                                  [1, 6, 3]),
    "CosineAnnealingLR epoch": lambda L, o: _with_epoch(L, o, "CosineAnnealingLR",
                                                        {"T_max": 8}, [2, 5, 11]),
    "LinearLR epoch": lambda L, o: _with_epoch(L, o, "LinearLR", {"total_iters": 4}, [1, 3, 6]),
    "PolynomialLR epoch": lambda L, o: _with_epoch(L, o, "PolynomialLR", {"total_iters": 5},
                                                   [2, 4, 9]),
    "ConstantLR epoch": lambda L, o: _with_epoch(L, o, "ConstantLR", {"total_iters": 3}, [1, 4]),
    "LambdaLR epoch": lambda L, o: _with_epoch(L, o, "LambdaLR", {"lr_lambda": _half},
                                               [2, 7, 3]),
    "CosineAnnealingWarmRestarts epoch": lambda L, o: _with_epoch(
        L, o, "CosineAnnealingWarmRestarts", {"T_0": 3, "T_mult": 2}, [0.5, 2.5, 4, 10.25]),
    "step before optimizer.step": _before_optimizer,
    "StepLR over a Tensor lr": _tensor_lr,
    # bad arguments: PyTorch's exception class
    "OneCycleLR past its end": _one_cycle_past_end,
    "initial_lr missing": _initial_lr_missing,
    "SequentialLR milestones": _sequential_milestones,
    "SequentialLR other optimizer": _sequential_other_optimizer,
    "LinearLR start_factor": lambda L, o: L.LinearLR(o, start_factor=1.5),
    "LinearLR start_factor 0": lambda L, o: L.LinearLR(o, start_factor=0),
    "ConstantLR factor": lambda L, o: L.ConstantLR(o, factor=1.5),
    "StepLR step_size 0": lambda L, o: L.StepLR(o, step_size=0),
    "MultiplicativeLR lambdas": lambda L, o: L.MultiplicativeLR(o, lr_lambda=[_decay]),
    "LambdaLR lambdas": lambda L, o: L.LambdaLR(o, lr_lambda=[_half, _half, _half]),
    "CosineAnnealingWarmRestarts T_0": lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=0),
    "CosineAnnealingWarmRestarts T_mult": lambda L, o: L.CosineAnnealingWarmRestarts(
        o, T_0=2, T_mult=0),
    "CosineAnnealingWarmRestarts negative epoch": lambda L, o: L.CosineAnnealingWarmRestarts(
        o, T_0=2).step(-1),
    "OneCycleLR no length": lambda L, o: L.OneCycleLR(o, max_lr=0.1),
    "OneCycleLR pct_start": lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=5,
                                                      pct_start=1.5),
    "OneCycleLR anneal_strategy": lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=5,
                                                            anneal_strategy="cubic"),
    "OneCycleLR max_lr list": lambda L, o: L.OneCycleLR(o, max_lr=[0.1], total_steps=5),
    "CyclicLR mode": lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, mode="square"),
    "CyclicLR no momentum": lambda L, o: L.CyclicLR(
        (torch if L.__name__.startswith("torch") else dg).optim.Adagrad(
            [p for g in o.param_groups for p in g["params"]]), base_lr=0.01, max_lr=0.1),
    "ReduceLROnPlateau mode": lambda L, o: L.ReduceLROnPlateau(o, mode="middle"),
    "ReduceLROnPlateau threshold_mode": lambda L, o: L.ReduceLROnPlateau(o,
                                                                         threshold_mode="x"),
    "ReduceLROnPlateau factor": lambda L, o: L.ReduceLROnPlateau(o, factor=1.0),
    "ReduceLROnPlateau min_lr list": lambda L, o: L.ReduceLROnPlateau(o, min_lr=[0.1]),
    "ReduceLROnPlateau epoch": lambda L, o: _plateau(L, o, [(1.0, 3), (2.0, 5), (2.0, 6)]),
    "ReduceLROnPlateau nan metric": lambda L, o: _plateau(
        L, o, [(1.0,), (float("nan"),), (2.0,), (0.5,), (float("nan"),)]),
    "ReduceLROnPlateau tensor metric": lambda L, o: _plateau(
        L, o, [((torch if L.__name__.startswith("torch") else dg).tensor(m),)
               for m in (1.0, 1.0, 0.5, 0.7)]),
    "scheduler over a non-optimizer": lambda L, o: L.StepLR(object(), step_size=2),
}

# Cases where deltagrad differs on purpose (each test expects the difference, so it fails once
# they agree).
KNOWN_SCHEDULER_CASES = {
    "StepLR step_size 0": "deltagrad refuses step_size=0 at construction (ValueError); "
                          "PyTorch builds it and raises ZeroDivisionError at the first step()",
}


def check_scheduler_case(name):
    out = []
    for lib in (torch, dg):
        optimizer = _scheduler_optimizer(lib)
        case = SCHEDULER_CASES[name]
        out.append(_outcome_of(
            lambda case=case, lib=lib, optimizer=optimizer: case(lib.optim.lr_scheduler,
                                                                 optimizer)))
    (te, tw, tv), (de, dw, dv) = out
    if te is not None:
        assert de is not None and issubclass(de, te), (
            f"{name}: deltagrad {de and de.__name__}: {dv!r}; torch raised {te.__name__}: {tv}")
        return
    assert de is None, f"{name}: deltagrad raised {de.__name__}: {dv}; torch ran"
    assert tw == dw, f"{name}: warnings {dw} vs torch {tw}"
    if isinstance(tv, list) and tv and isinstance(tv[0], (list, float)):
        np.testing.assert_allclose(np.asarray(dv, dtype=float), np.asarray(tv, dtype=float),
                                   rtol=1e-12, err_msg=name)


# ---------------------------------------------------------------------------------------------
# differentiable=True over non-leaf parameters (the case PyTorch records for autograd)

# deltagrad records the step for these only through optim/_differentiable; the others raise a
# clear RuntimeError where PyTorch's step is recorded (each test fails once they agree).
KNOWN_DIFFERENTIABLE = {
    "Adadelta": "differentiable step not implemented (RuntimeError 'not supported')",
    "ASGD": "differentiable step not implemented (RuntimeError 'not supported')",
    "NAdam": "differentiable step not implemented (RuntimeError 'not supported')",
    "RAdam": "differentiable step not implemented (RuntimeError 'not supported')",
}


def differentiable_run(lib, name):
    """Two differentiable steps of a clone of a leaf, the first gradient itself a leaf; returns
    (parameter, d/dleaf, d/dgrad) of sum(p * p), or the exception raised."""
    rng = np.random.default_rng(0)
    x0, g0, g1 = (rng.standard_normal((3, 2)) for _ in range(3))
    try:
        leaf = lib.tensor(x0, requires_grad=True)
        param = leaf.clone()
        first_grad = lib.tensor(g0, requires_grad=True)
        optimizer = getattr(lib.optim, name)([param], differentiable=True)
        for g in (first_grad, lib.tensor(g1)):
            param.grad = g * 1.0
            optimizer.step()
        (param * param).sum().backward()
    except Exception as e:  # noqa: BLE001 - compared by class
        return e
    return [to_numpy(param), to_numpy(leaf.grad), to_numpy(first_grad.grad)]


def check_differentiable(name):
    expected, actual = differentiable_run(torch, name), differentiable_run(dg, name)
    if isinstance(expected, Exception):
        assert isinstance(actual, type(expected)), (
            f"{name}: deltagrad {actual!r}; torch raised {expected!r}")
        return
    assert not isinstance(actual, Exception), f"{name}: deltagrad raised {actual!r}"
    for what, e, a in zip(("parameter", "leaf grad", "grad's grad"), expected, actual):
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-12, err_msg=f"{name} {what}")
