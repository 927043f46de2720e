"""Higher-order autodiff of PyTorch's OpInfo samples (op_db) through deltagrad and PyTorch (s15 HG).

The s13 sweeps (opinfo_harness.run_sample) compare forward values and first-order gradients.
Users also differentiate gradients (gradient penalties, MAML, Hessian-vector products) and push
tangents forward (``torch.func.jvp``, dual numbers, ``jacfwd``); a wrong second-order rule gives
a silently wrong answer there. This module runs one sample two more ways:

- ``gradgrad_sample``: ``g = grad(out, inputs, v, create_graph=True)``, then
  ``grad(g, inputs + v, w)`` with seeded v and w (a vector-Jacobian product of the first-order
  gradient, in every input and in the cotangent);
- ``forward_ad_sample``: every differentiable sample tensor made a dual number with a seeded
  tangent; the primal and tangent of each output compared.

Each returns an outcome: ``"agree"``, ``("differ", detail)`` (a silently wrong answer: the serious
one), ``("dg_raises", detail)`` (deltagrad lacks a rule PyTorch has: a breadth gap),
``"both_raise"``, ``("torch_raises", detail)`` or ``("skip", why)`` (nothing higher-order to
compare: no float output, a first-order difference the s13 sweeps own, an unconvertible input).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")  # (op_db's module imports it)

import opinfo_harness as H  # noqa: E402

import deltagrad as dg  # noqa: E402

fwAD = torch.autograd.forward_ad


def _map(obj, fn):
    """``obj`` (nested lists / tuples / dicts) with every torch tensor replaced by ``fn(t)``."""
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_map(x, fn) for x in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map(x, fn) for x in obj)
    if isinstance(obj, dict):
        return {k: _map(v, fn) for k, v in obj.items()}
    return obj


def _seeded(t, rng):
    """A standard-normal tensor shaped as ``t`` (torch), from ``rng``."""
    if t.dtype.is_complex:
        re, im = (torch.from_numpy(rng.standard_normal(tuple(t.shape))) for _ in "ri")
        return torch.complex(re, im).to(t.dtype)
    return torch.from_numpy(rng.standard_normal(tuple(t.shape))).to(t.dtype)


def _float_outs(obj, cls):
    out = H._flat_tensors(obj, cls, [])
    if cls is torch.Tensor:
        return [t for t in out if t.requires_grad and (t.dtype.is_floating_point
                                                       or t.dtype.is_complex)]
    return [t for t in out if t.requires_grad]


def _compare_grads(t_grads, d_grads, path):
    """None if they agree (None and all-zeros are the same answer: allow_unused), else why."""
    for k, (tg, dgr) in enumerate(zip(t_grads, d_grads)):
        if tg is None and dgr is None:
            continue
        if tg is None or dgr is None:  # None is zeros, up to rounding (copysign's -3e-17)
            other = H.to_numpy(tg if tg is not None else dgr)
            if H.compare(other, (other[0], np.zeros_like(other[1])), 100.0):
                who = "deltagrad" if dgr is None else "PyTorch"
                return f"{path}[{k}] is None in {who} (the other has nonzeros)"
            continue
        msg = H.compare(H.to_numpy(tg), H.to_numpy(dgr), 100.0, f"{path}[{k}]")
        if msg:
            return msg
    return None


_WRAPPERS = ("gradcheck_wrapper_hermitian_input", "gradcheck_wrapper_ctc_loss",
             "gradcheck_wrapper_triangular_input_real_positive_diagonal")


def _callers(op, d_fn):
    """(PyTorch's, deltagrad's) callables of ``op`` through its OpInfo gradcheck wrapper where
    that wrapper projects the input onto the op's domain (a Hermitian or triangular matrix, a
    log-simplex): a tangent or cotangent off that domain has no agreed derivative (PyTorch's
    jvp and vjp of cholesky disagree with each other there)."""
    wrapper = op.gradcheck_wrapper
    if getattr(wrapper, "__name__", "") not in _WRAPPERS:
        return op.op, d_fn
    d_wrapper = H._rebind(wrapper)
    d_wrapper.__kwdefaults__ = wrapper.__kwdefaults__  # (the triangular one's upper=, idx=)
    return (lambda *a, **k: wrapper(op.op, *a, **k)), (lambda *a, **k: d_wrapper(d_fn, *a, **k))


def _first_order(op, sample):
    """Shared set-up: (t_out, d_out, memo, t_leaves) or an outcome to return at once."""
    d_fn = H.resolve(op, "function")
    if d_fn is None:
        return ("skip", "no deltagrad counterpart")
    try:
        memo = {}
        d_in, d_args, d_kwargs = (H.to_dg(sample.input, memo), H.to_dg(sample.args, memo),
                                  H.to_dg(sample.kwargs, memo))
    except H.Unconvertible as exc:
        return ("skip", f"unconvertible: {exc}")
    t_fn, d_fn = _callers(op, d_fn)
    try:
        t_out = t_fn(sample.input, *sample.args, **sample.kwargs)
    except Exception:  # noqa: BLE001 - PyTorch refuses the sample itself
        return ("skip", "PyTorch raises on the forward")
    try:
        d_out = d_fn(d_in, *d_args, **d_kwargs)
    except Exception as exc:  # noqa: BLE001
        return ("skip", f"deltagrad forward raises {type(exc).__name__} (s13's)")
    if H.compare(H.to_numpy(t_out), H.to_numpy(d_out), 10.0):
        return ("skip", "forward differs (s13's)")
    return t_out, d_out, memo


def gradgrad_sample(op, sample, seed=0):
    """Second-order reverse mode of one (float64, requires_grad) sample; see the module doc."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = _first_order(op, sample)
        if len(first) == 2:
            return first
        t_out, d_out, memo = first
        t_leaves = H._grad_leaves((sample.input, sample.args, sample.kwargs), [])
        if not t_leaves:
            return ("skip", "no differentiable input")
        t_outs = _float_outs(sample.output_process_fn_grad(t_out), torch.Tensor)
        if not t_outs:
            return ("skip", "no differentiable output")
        try:
            d_outs = _float_outs(sample.output_process_fn_grad(d_out), dg.Tensor)
        except Exception:  # noqa: BLE001 - the processing lambda is written for torch
            return ("skip", "output_process_fn_grad is torch-only")
        if len(d_outs) != len(t_outs):
            return ("skip", "differentiable outputs differ (s13's)")
        rng = np.random.default_rng(seed)
        t_vs = [_seeded(t, rng).requires_grad_(True) for t in t_outs]
        d_vs = [H.to_dg(v) for v in t_vs]
        d_leaves = [memo[id(t)] for t in t_leaves]
        try:
            t_g = torch.autograd.grad(t_outs, t_leaves, t_vs, create_graph=True,
                                      allow_unused=True)
        except Exception:  # noqa: BLE001 - not differentiable in PyTorch: s13's business
            return ("skip", "PyTorch's first-order grad raises")
        keep = [k for k, g in enumerate(t_g) if g is not None and g.requires_grad]
        if not keep:
            return ("skip", "first-order gradient is constant")
        t_ws = [_seeded(t_g[k], rng) for k in keep]
        t_err = d_err = None
        try:
            t_gg = torch.autograd.grad([t_g[k] for k in keep], t_leaves + t_vs, t_ws,
                                       allow_unused=True)
        except Exception as exc:  # noqa: BLE001
            t_err = exc
        try:
            d_g = dg.autograd.grad(d_outs, d_leaves, d_vs, create_graph=True, allow_unused=True)
            d_sel = [(d_g[k], H.to_dg(w)) for k, w in zip(keep, t_ws)]
            d_sel = [(g, w) for g, w in d_sel if g is not None and g.requires_grad]
            if d_sel:
                d_gg = dg.autograd.grad([g for g, _ in d_sel], d_leaves + d_vs,
                                        [w for _, w in d_sel], allow_unused=True)
            else:  # every first-order gradient is constant in deltagrad: second order 0
                d_gg = [None] * (len(d_leaves) + len(d_vs))
        except Exception as exc:  # noqa: BLE001
            d_err = exc
    if t_err is not None and d_err is not None:
        return "both_raise"
    if t_err is not None:
        return ("torch_raises", f"PyTorch {type(t_err).__name__}: {str(t_err)[:100]}")
    if d_err is not None:
        return ("dg_raises", f"{type(d_err).__name__}: {str(d_err)[:140]}")
    first_msg = _compare_grads([t_g[k] for k in keep], [d_g[k] for k in keep], "g")
    if first_msg:
        return ("skip", f"first-order differs (s13's): {first_msg}")
    msg = _compare_grads(t_gg, d_gg, "gg")
    return ("differ", msg) if msg else "agree"


def forward_ad_sample(op, sample, seed=0):
    """Forward mode (dual numbers) of one (float64, requires_grad) sample; see the module doc."""
    d_fn = H.resolve(op, "function")
    if d_fn is None:
        return ("skip", "no deltagrad counterpart")
    t_fn, d_fn = _callers(op, d_fn)
    rng = np.random.default_rng(seed)
    tangents = {}

    def t_dual(t):
        if t.requires_grad and (t.dtype.is_floating_point or t.dtype.is_complex):
            tangents[id(t)] = _seeded(t, rng)
            return fwAD.make_dual(t.detach(), tangents[id(t)])
        return t

    memo = {}

    def d_dual(t):
        # (memo keyed by the sample's tensor: aliases kept; views: as_strided's samples
        # reach outside their view into the storage)
        d = H.to_dg(t, memo, views=True).detach()
        if id(t) in tangents:
            return dg.autograd.forward_ad.make_dual(d, H.to_dg(tangents[id(t)]))
        return d

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with fwAD.dual_level():
                t_in = _map((sample.input, sample.args, sample.kwargs), t_dual)
                if not tangents:
                    return ("skip", "no differentiable input")
                t_out = t_fn(t_in[0], *t_in[1], **t_in[2])
                t_res = _map(t_out, lambda o: fwAD.unpack_dual(o))
                t_flat = [(p, tg) for p, tg in _unpacked(t_res)]
            t_err = None
        except H.Unconvertible as exc:
            return ("skip", f"unconvertible: {exc}")
        except Exception as exc:  # noqa: BLE001
            t_err = exc
        try:
            with dg.autograd.forward_ad.dual_level():
                d_in = H.to_dg(_map((sample.input, sample.args, sample.kwargs), d_dual))
                d_out = d_fn(d_in[0], *d_in[1], **d_in[2])
                d_flat = [(p, tg) for p, tg in _dg_unpacked(d_out)]
            d_err = None
        except H.Unconvertible as exc:
            return ("skip", f"unconvertible: {exc}")
        except Exception as exc:  # noqa: BLE001
            d_err = exc
    if t_err is not None and d_err is not None:
        return "both_raise"
    if t_err is not None:
        return ("torch_raises", f"PyTorch {type(t_err).__name__}: {str(t_err)[:100]}")
    if d_err is not None:
        return ("dg_raises", f"{type(d_err).__name__}: {str(d_err)[:140]}")
    if len(t_flat) != len(d_flat):
        return ("skip", f"{len(d_flat)} tensor outputs (PyTorch {len(t_flat)}; s13's)")
    for k, ((tp, tt), (dp, dt)) in enumerate(zip(t_flat, d_flat)):
        if H.compare(H.to_numpy(tp), H.to_numpy(dp), 10.0):
            return ("skip", "forward differs (s13's)")
        if not (tp.dtype.is_floating_point or tp.dtype.is_complex):
            continue
        msg = _compare_grads([tt], [dt], f"tangent{k}")
        if msg:
            return ("differ", msg)
    return "agree"


def _unpacked(obj):
    """(primal, tangent) pairs of PyTorch's unpacked outputs, flattened."""
    if isinstance(obj, fwAD.UnpackedDualTensor):
        return [(obj.primal, obj.tangent)]
    if isinstance(obj, (list, tuple)):
        return [pair for x in obj for pair in _unpacked(x)]
    return []


def _dg_unpacked(obj):
    if isinstance(obj, dg.Tensor):
        res = dg.autograd.forward_ad.unpack_dual(obj)
        return [(res.primal, res.tangent)]
    if isinstance(obj, (list, tuple)):
        return [pair for x in obj for pair in _dg_unpacked(x)]
    return []


OUTCOMES = ("agree", "differ", "dg_raises", "both_raise", "torch_raises", "skip")


def sweep_op(op, kind, max_samples=3, seed=0):
    """[(sample description, outcome)] for the first float64 samples of ``op``;
    ``kind``: "gradgrad" or "forward_ad"."""
    fn = gradgrad_sample if kind == "gradgrad" else forward_ad_sample
    try:
        samples = H.samples_of(op, torch.float64, True, max_samples=max_samples)
    except Exception as exc:  # noqa: BLE001 - a generator needing a missing extra
        return [("-", ("skip", f"no samples: {type(exc).__name__}"))]
    out = []
    for s in samples:
        try:
            res = fn(op, s, seed)
        except Exception as exc:  # noqa: BLE001 - reported, never hidden
            res = ("harness", f"{type(exc).__name__}: {str(exc)[:140]}")
        out.append((H.describe(s), res))
    return out


def outcome_kind(res) -> str:
    return res if isinstance(res, str) else res[0]


def summarize(results):
    """The op's worst outcome over its samples (differ > dg_raises > harness > torch_raises >
    agree > both_raise > skip) with the first detail of that kind."""
    order = ("differ", "dg_raises", "harness", "torch_raises", "agree", "both_raise", "skip")
    kinds = [outcome_kind(r) for _, r in results]
    for k in order:
        if k in kinds:
            i = kinds.index(k)
            res = results[i][1]
            return k, (res[1] if isinstance(res, tuple) else ""), results[i][0]
    return "skip", "", ""


OK = ("agree", "both_raise", "skip")
_SUPPORTS = {"gradgrad": "supports_gradgrad", "forward_ad": "supports_forward_ad"}


def swept_ops(mode) -> tuple[list, dict]:
    """op_db's ops that PyTorch says support ``mode`` ("gradgrad" / "forward_ad") in float64,
    and the same by op id."""
    ops = [op for op in H.op_db()
           if getattr(op, _SUPPORTS[mode]) and torch.float64 in op.supported_dtypes("cpu")]
    return ops, {H.op_id(op): op for op in ops}


def check_known_entries(known, by_id) -> None:
    """Every KNOWN entry names an op of the sweep and gives its reason."""
    assert set(known) <= set(by_id), sorted(set(known) - set(by_id))
    assert all(reason for _, reason in known.values())


def default_ids(ops, by_id, known, fixed) -> list:
    """The default run's ops: the KNOWN and fixed ones and every tenth of the sweep."""
    return sorted(set(known) | {i for i in fixed if i in by_id} | {H.op_id(op) for op in ops[::10]})


def check(op, op_id, mode, samples, known) -> None:
    """``op`` swept in ``mode`` ("gradgrad" / "forward_ad"): its KNOWN outcome, or an OK one."""
    kind, detail, sample = summarize(sweep_op(op, mode, samples))
    if op_id in known:
        assert kind == known[op_id][0], (
            f"{op_id}: KNOWN says {known[op_id][0]}, now {kind} {detail} {sample}: update KNOWN")
    else:
        assert kind in OK, f"{op_id}: {kind}: {detail} on {sample}"


# ---------------------------------------------------- direct checks of single computations


def gradgrad_both(fn, *arrays, seed=1):
    """(PyTorch's, deltagrad's) gradient of the gradient of ``fn(lib, *tensors)``: ``grad(out,
    xs, v, create_graph=True)``, then its VJP with seeded w in every input and in v (a zero
    array where nothing reached one)."""
    results = []
    for lib in (torch, dg):
        xs = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays]
        out = fn(lib, *xs)
        r = np.random.default_rng(seed)
        v = lib.tensor(r.standard_normal(tuple(out.shape)), dtype=lib.float64,
                       requires_grad=True)
        gs = lib.autograd.grad(out, xs, v, create_graph=True)
        ws = [lib.tensor(r.standard_normal(tuple(g.shape)), dtype=lib.float64) for g in gs]
        ggs = lib.autograd.grad(gs, xs + [v], ws, allow_unused=True)
        results.append([np.zeros(tuple(x.shape)) if t is None else t.detach().numpy()
                        for x, t in zip(xs + [v], ggs)])
    return results


def jvp_both(fn, primals, seed=2):
    """(PyTorch's, deltagrad's) (output, tangent) of ``func.jvp`` of ``fn(lib, *tensors)`` at
    float64 ``primals`` with seeded tangents (one output)."""
    rng = np.random.default_rng(seed)
    tangents = [rng.standard_normal(p.shape) for p in primals]
    res = []
    for lib in (torch, dg):
        ps = tuple(lib.tensor(p, dtype=lib.float64) for p in primals)
        ts = tuple(lib.tensor(t, dtype=lib.float64) for t in tangents)
        out, tan = lib.func.jvp(lambda *a, lib=lib: fn(lib, *a), ps, ts)
        res.append((out.detach().numpy(), tan.detach().numpy()))
    return res
