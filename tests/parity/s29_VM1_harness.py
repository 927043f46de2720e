"""PyTorch's OpInfo samples (op_db) under the function transforms, through deltagrad and PyTorch
(s29 VM1): ``vmap`` at several in_dims / out_dims / chunk sizes, ``vjp`` with a seeded
cotangent, ``jvp`` with a seeded tangent, ``vmap`` over ``vjp`` (per-sample gradients) and
``jacrev`` (every float input, every float output), as
PyTorch's functorch tests run op_db (test_vmap_exhaustive, test_vjp, test_jvp, test_vmapvjp).

One sample becomes a function of its tensors: every tensor of the sample (input, positional
arguments, keyword arguments) a positional argument, everything else fixed. Under vmap each
tensor gets B = 3 batch members (the sample's own values and two seeded perturbations of them,
so that the members differ; integer and bool tensors repeat their values) stacked along its
in_dim. Each check returns an outcome: ``"agree"``, ``("differ", detail)`` (a silently wrong
answer), ``("dg_raises", detail)`` (deltagrad refuses what PyTorch computes),
``("torch_raises", detail)`` (deltagrad computes what PyTorch refuses: a data-dependent op, an
in-place write into an unbatched tensor), ``("error_class", detail)`` (both raise, different
exception classes), ``"both_raise"`` or ``("skip", why)``.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")

import opinfo_harness as H  # noqa: E402
import s15_HG_harness as G  # noqa: E402

import deltagrad as dg  # noqa: E402

B = 3
OUTCOMES = ("agree", "differ", "dg_raises", "torch_raises", "error_class", "both_raise", "skip")
# (vmap checks: name -> how its in_dims / out_dims / chunk_size are chosen)
VMAP_CHECKS = ("in0", "none_last", "neg_out1", "chunk2")
RANDOM_CHECKS = ("rand_error", "rand_different", "rand_same")
AD_CHECKS = ("vjp", "jvp", "vmap_vjp", "jacrev")


class _Slot:
    """Where the k-th tensor of a sample goes when the sample is rebuilt."""

    def __init__(self, k):
        self.k = k


def _template(sample):
    """(structure with the tensors replaced by slots, the tensors in slot order)."""
    tensors, seen = [], {}

    def walk(obj):
        if isinstance(obj, torch.Tensor):
            if id(obj) not in seen:
                seen[id(obj)] = _Slot(len(tensors))
                tensors.append(obj)
            return seen[id(obj)]
        return _walk_children(obj, walk)

    return walk((sample.input, tuple(sample.args), dict(sample.kwargs))), tensors


def _walk_children(obj, walk):
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(walk(x) for x in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(walk(x) for x in obj)
    if isinstance(obj, dict):
        return {k: walk(v) for k, v in obj.items()}
    return obj


def _fill(template, tensors):
    def walk(obj):
        if isinstance(obj, _Slot):
            return tensors[obj.k]
        return _walk_children(obj, walk)
    return walk(template)


def _callers(op, variant="function"):
    """(PyTorch's, deltagrad's) ``f(template, *tensors)``, or None without a deltagrad one."""
    d_fn = H.resolve(op, variant)
    if d_fn is None:
        return None
    t_fn = H._torch_variant(op, variant)
    if variant == "function":
        t_fn, d_fn = G._callers(op, d_fn)

    def make(fn, template):
        def f(*tensors):
            inp, args, kwargs = _fill(template, tensors)
            return fn(inp, *args, **kwargs)
        return f
    return t_fn, d_fn, make


def _is_float(t):
    return t.dtype.is_floating_point or t.dtype.is_complex


def _members(t, rng):
    """B versions of ``t``: itself, then seeded perturbations (float / complex), or copies."""
    t = t.detach()
    out = [t.clone()]
    for _ in range(B - 1):
        if _is_float(t) and t.dtype not in (torch.float16, torch.bfloat16):
            u = torch.from_numpy(rng.uniform(-1.0, 1.0, tuple(t.shape))).to(t.dtype)
            out.append(t * (1 + 0.1 * u) + 0.01 * u)
        else:
            out.append(t.clone())
    return out


def _batched(t, dim, rng):
    """``t`` with B members stacked at ``dim`` (None: ``t`` itself)."""
    if dim is None:
        return t.detach().clone()
    return torch.stack(_members(t, rng), dim=dim)


def _run(thunk):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return thunk(), None
        except H.Unconvertible:
            raise
        except Exception as exc:  # noqa: BLE001 - compared below
            return None, exc


def _outcome(t_res, t_err, d_res, d_err, tol=10.0, values=True):
    if t_err is not None and d_err is not None:
        if not _same_class(t_err, d_err):
            return ("error_class", f"{type(d_err).__name__} (PyTorch {type(t_err).__name__}: "
                                   f"{str(t_err)[:100]})")
        return "both_raise"
    if t_err is not None:
        return ("torch_raises", f"PyTorch {type(t_err).__name__}: {str(t_err)[:120]}")
    if d_err is not None:
        return ("dg_raises", f"{type(d_err).__name__}: {str(d_err)[:140]}")
    try:
        expected, actual = H.to_numpy(t_res), H.to_numpy(d_res)
    except TypeError as exc:  # (a complex32 result: NumPy has none)
        return ("skip", f"unconvertible output: {exc}")
    if not values:
        expected, actual = _shapes(expected), _shapes(actual)
    msg = H.compare(expected, actual, tol)
    return ("differ", msg) if msg else "agree"


def _same_class(t_err, d_err):
    """deltagrad's exception is PyTorch's class (or a subclass: NotImplementedError is a
    RuntimeError in both)."""
    return isinstance(d_err, type(t_err)) or type(d_err).__name__ == type(t_err).__name__


def _shapes(obj):
    if isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[1], np.ndarray):
        return (obj[0], obj[1].shape)
    if isinstance(obj, tuple):
        return tuple(_shapes(x) for x in obj)
    return obj


# Ops whose values are undefined (uninitialised memory): shapes and dtypes compared only.
UNDEFINED_VALUES = ("empty", "empty_like", "new_empty", "new_empty_strided", "empty_strided",
                    "empty_permuted")


def values_defined(op, sample) -> bool:
    """Whether ``op``'s values on ``sample`` are comparable across libraries: not uninitialised
    memory, not random draws (PyTorch's op run under two seeds gives the same result)."""
    if op.name in UNDEFINED_VALUES or op.name in RANDOM_OPS or H.op_id(op) in RANDOM_OPS:
        return False
    code = getattr(op.op, "__code__", None)  # (op_db seeds its random ops' lambdas itself)
    if code is not None and "wrapper_set_seed" in code.co_names:
        return False
    if any(w in op.name for w in ("dropout", "rrelu", "fractional")) or (
            sample.kwargs.get("dropout_p") and sample.kwargs.get("training", True)):
        return False
    results = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        res, err = _run(lambda: op.op(sample.input, *sample.args, **sample.kwargs))
        if err is not None:
            return True
        try:
            results.append(H.to_numpy(res))
        except TypeError:  # (a complex32 result: compared, or refused, later)
            return True
    return H.compare(results[0], results[1]) is None


# Ops whose outputs are defined up to a sign or phase (eigenvectors): compared through the
# sample's own output_process_fn_grad (op_db's abs / normalisation), per example.
PROCESSED = ("linalg.eig", "linalg.eigh", "linalg.svd", "svd")


def _prepare(op, sample, variant="function"):
    callers = _callers(op, variant)
    if callers is None:
        return ("skip", "no deltagrad counterpart")
    if op.name in PROCESSED and variant == "function":
        t_call, d_call, make = callers
        process = sample.output_process_fn_grad
        callers = (lambda *a, **k: process(t_call(*a, **k)),
                   lambda *a, **k: process(d_call(*a, **k)), make)
    template, tensors = _template(sample)
    if not tensors:
        return ("skip", "no tensor in the sample")
    try:
        d_template = H.to_dg(template)
    except H.Unconvertible as exc:
        return ("skip", f"unconvertible: {exc}")
    if any(t.layout != torch.strided or t.dtype in (torch.complex32,) for t in tensors):
        return ("skip", "unconvertible tensor")
    t_fn, d_fn, make = callers
    return make(t_fn, template), make(d_fn, d_template), tensors


def _vmap_plan(check, tensors, op):
    """(in_dims per tensor, out_dims, chunk_size, randomness) of a vmap check, or a skip."""
    n = len(tensors)
    if check == "in0":
        return [0] * n, 0, None, "error"
    if check == "none_last":
        if n < 2:
            return ("skip", "one tensor: nothing to leave unbatched")
        return [0] * (n - 1) + [None], 0, None, "error"
    if check == "neg_out1":
        return [-1] * n, 1, None, "error"
    if check == "chunk2":
        return [0] * n, -1, 2, "error"
    if check == "inplace_unbatched":
        return [None] + [0] * (n - 1), 0, None, "error"
    mode = check.split("_")[1]
    return [0] * n, 0, None, mode


def vmap_sample(op, sample, check="in0", seed=0, variant="function"):
    """``vmap`` of one sample in both libraries under ``check`` (VMAP_CHECKS, RANDOM_CHECKS or
    "inplace_unbatched": the in-place variant, its self unbatched, the others batched)."""
    prep = _prepare(op, sample, variant)
    if len(prep) == 2:
        return prep
    t_f, d_f, tensors = prep
    plan = _vmap_plan(check, tensors, op)
    if len(plan) == 2:
        return plan
    dims, out_dims, chunk, randomness = plan
    if check == "inplace_unbatched" and (len(tensors) < 2 or not _is_float(tensors[0])):
        return ("skip", "needs a float self and another tensor")
    rng = np.random.default_rng(seed)
    t_args = [_batched(t, (d if d is None or d >= 0 else t.ndim + 1 + d), rng)
              for t, d in zip(tensors, dims)]
    try:
        d_args = [H.to_dg(t) for t in t_args]
    except H.Unconvertible as exc:
        return ("skip", f"unconvertible: {exc}")
    kw = {"in_dims": tuple(dims), "out_dims": out_dims, "randomness": randomness}
    if chunk is not None:
        kw["chunk_size"] = chunk
    torch.manual_seed(seed)
    t_res, t_err = _run(lambda: torch.func.vmap(t_f, **kw)(*t_args))
    dg.manual_seed(seed)
    d_res, d_err = _run(lambda: dg.func.vmap(d_f, **kw)(*d_args))
    return _outcome(t_res, t_err, d_res, d_err, tol=10.0 * TOL_SCALE.get(op.name, 1.0),
                    values=randomness == "error" and values_defined(op, sample))


# Looser tolerances: matrix_exp's float32 entries far below the result's scale (cancellation
# in the squaring steps: 0.1483 where PyTorch 0.1486, entries up to ~1e8 beside it).
TOL_SCALE = {"matrix_exp": 1000.0}


def _float_positions(tensors):
    return [k for k, t in enumerate(tensors) if _is_float(t)]


def _ad_functions(op, sample):
    """(t_g, d_g, tensors, float positions, t_out) with g(*float tensors) -> tuple of float
    outputs (the others fixed), or an outcome."""
    prep = _prepare(op, sample)
    if len(prep) == 2:
        return prep
    t_f, d_f, tensors = prep
    pos = _float_positions(tensors)
    if not pos:
        return ("skip", "no float tensor")
    process = sample.output_process_fn_grad

    def lift(f, lib):
        fixed = [t.detach() for t in tensors] if lib is torch else None

        def g(*floats):
            allt = list(fixed if lib is torch else g.fixed)
            for k, x in zip(pos, floats):
                allt[k] = x
            out = process(f(*allt))
            flat = H._flat_tensors(out, lib.Tensor, [])
            return tuple(o for o in flat if o.dtype.is_floating_point or o.dtype.is_complex)
        return g
    t_g, d_g = lift(t_f, torch), lift(d_f, dg)
    memo = {}  # (views: as_strided's samples reach outside their view into the storage)
    try:
        d_g.fixed = [H.to_dg(t, memo, views=True).detach() for t in tensors]
    except H.Unconvertible as exc:
        return ("skip", f"unconvertible: {exc}")
    primals = [tensors[k].detach() for k in pos]
    d_g.primals = [d_g.fixed[k] for k in pos]
    t_out, t_err = _run(lambda: t_g(*primals))
    if t_err is not None:
        return ("skip", "PyTorch raises on the forward")
    if not t_out:
        return ("skip", "no float output")
    return t_g, d_g, primals, t_out


def ad_sample(op, sample, check="vjp", seed=0):
    """``vjp`` / ``jvp`` / ``vmap_vjp`` / ``jacrev`` of one (float64) sample in both
    libraries."""
    prep = _ad_functions(op, sample)
    if len(prep) == 2:
        return prep
    t_g, d_g, primals, t_out = prep
    rng = np.random.default_rng(seed)
    d_primals = d_g.primals
    if check == "vjp":
        cts = tuple(G._seeded(o, rng) for o in t_out)
        d_cts = tuple(H.to_dg(c) for c in cts)

        def t_run():
            out, fn = torch.func.vjp(t_g, *primals)
            return out, fn(cts)

        def d_run():
            out, fn = dg.func.vjp(d_g, *d_primals)
            return out, fn(d_cts)
    elif check == "jvp":
        tans = tuple(G._seeded(p, rng) for p in primals)
        d_tans = tuple(H.to_dg(t) for t in tans)

        def t_run():
            return torch.func.jvp(t_g, tuple(primals), tans)

        def d_run():
            return dg.func.jvp(d_g, tuple(d_primals), d_tans)
    elif check == "jacrev":
        argnums = tuple(range(len(primals)))
        if sum(p.numel() for p in primals) * sum(o.numel() for o in t_out) > JACREV_LIMIT:
            return ("skip", "jacobian too large for a sweep")

        def t_run():
            return torch.func.jacrev(t_g, argnums=argnums)(*primals)

        def d_run():
            return dg.func.jacrev(d_g, argnums=argnums)(*d_primals)
    else:  # vmap_vjp: per-sample gradients of B members
        bp = [torch.stack(_members(p, rng)) for p in primals]
        bct = tuple(torch.stack([G._seeded(o, rng) for _ in range(B)]) for o in t_out)
        d_bp, d_bct = [H.to_dg(p) for p in bp], tuple(H.to_dg(c) for c in bct)

        def per(lib, g):
            def one(*args):
                *ps, cts = args
                return lib.func.vjp(g, *ps)[1](cts)
            return one

        def t_run():
            return torch.func.vmap(per(torch, t_g))(*bp, bct)

        def d_run():
            return dg.func.vmap(per(dg, d_g))(*d_bp, d_bct)
    t_res, t_err = _run(t_run)
    d_res, d_err = _run(d_run)
    return _outcome(t_res, t_err, d_res, d_err, tol=100.0, values=values_defined(op, sample))


JACREV_LIMIT = 4096  # (jacobian elements: a full one of a [5, 5, 5] sample is 15,625 rows)


def sweep_op(op, checks, dtypes=(torch.float32, torch.float64), max_samples=2, seed=0):
    """[(dtype, check, sample description, outcome)] over the first samples of ``op``."""
    out = []
    for dtype in dtypes:
        if dtype not in op.supported_dtypes("cpu"):
            continue
        try:
            samples = H.samples_of(op, dtype, False, max_samples=max_samples)
        except Exception as exc:  # noqa: BLE001 - a generator needing a missing extra
            out.append((str(dtype)[6:], "-", "-", ("skip", f"no samples: {type(exc).__name__}")))
            continue
        for s in samples:
            for check in checks:
                if check in AD_CHECKS and dtype != torch.float64:
                    continue
                try:
                    if check in AD_CHECKS:
                        res = ad_sample(op, s, check, seed)
                    elif check == "inplace_unbatched":
                        res = vmap_sample(op, s, check, seed, variant="inplace")
                    else:
                        res = vmap_sample(op, s, check, seed)
                except H.Unconvertible as exc:
                    res = ("skip", f"unconvertible: {exc}")
                except Exception as exc:  # noqa: BLE001 - reported, never hidden
                    res = ("harness", f"{type(exc).__name__}: {str(exc)[:140]}")
                out.append((str(dtype)[6:], check, H.describe(s), res))
    return out


def outcome_kind(res) -> str:
    return res if isinstance(res, str) else res[0]


OK = ("agree", "both_raise", "skip")


def worst_by_check(results):
    """{check: (kind, detail, sample)}: each check's worst outcome over dtypes and samples."""
    order = ("differ", "error_class", "dg_raises", "harness", "torch_raises", "agree",
             "both_raise", "skip")
    by = {}
    for dtype, check, desc, res in results:
        kind = outcome_kind(res)
        old = by.get(check)
        if old is None or order.index(kind) < order.index(old[0]):
            by[check] = (kind, res[1] if isinstance(res, tuple) else "", f"{dtype} {desc}")
    return by


RANDOM_OPS = ("bernoulli", "normal", "normal.number_mean", "uniform", "rand_like", "randn_like",
              "randint_like", "randint", "multinomial", "cauchy", "exponential", "geometric",
              "log_normal", "nn.functional.dropout", "nn.functional.dropout2d",
              "nn.functional.dropout3d", "nn.functional.alpha_dropout",
              "nn.functional.feature_alpha_dropout", "nn.functional.rrelu", "empty_like")


def swept_ops():
    """op_db's ops with a deltagrad counterpart and a float32 or float64 kernel, by op id."""
    ops = [op for op in H.op_db() if H.resolve(op, "function") is not None
           and ({torch.float32, torch.float64} & set(op.supported_dtypes("cpu")))]
    return ops, {H.op_id(op): op for op in ops}
