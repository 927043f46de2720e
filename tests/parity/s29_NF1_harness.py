"""PyTorch's JIT test lists of ``torch.nn.functional`` calls and nn modules
(``torch.testing._internal.jit_metaprogramming_utils``) run through deltagrad and through PyTorch.

``get_nn_functional_tests()`` describes ~220 calls of ``torch.nn.functional`` as tuples
``(name, self_size, args, variant, ...)``: the input's size (or a tensor), the other arguments
(a tuple is the size of a random tensor that requires grad, ``non_differentiable(t)`` a fixed
tensor that does not, anything else passed as is) and a variant name (``inplace``: PyTorch's JIT
test runs it without gradients). PyTorch's own ``create_input`` makes the tensors under torch
from a fixed seed; the same values (with the same strides: ``non_contiguous=True`` makes
non-contiguous views) go to deltagrad. Each entry: forward compared (values at the dtype's
tolerance, dtype, shape, requires_grad, raised or not and the exception class), backward with
a seeded grad_output compared for every tensor input, and double backward (second derivatives
of the first grads dotted with a seeded vector) where PyTorch has it. The random functions
(dropout, rrelu, gumbel_softmax, fractional_max_pool2d) run from the same seed on both:
deltagrad's generator draws PyTorch's numbers.

``get_all_nn_module_tests()`` is common_nn's module list (run by tests/parity/
s28_NN1_harness.py) plus six more modules (Bilinear, RNNCell, LSTMCell, GRUCell,
MultiheadAttention, Transformer): those six run here (``module_entries``).

Inputs we did not choose.
"""
from __future__ import annotations

import functools
import inspect
import re
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")  # torch.testing._internal.common_utils imports it

import opinfo_harness as H  # noqa: E402
import s28_NN1_harness as N  # noqa: E402

import deltagrad as dg  # noqa: E402
from deltagrad._engine.errors import _WARNED_ONCE  # noqa: E402

LIST_SEED = 0  # (the list's own tensors are drawn when it is built)

CHECKS = ("plain", "nograd", "float64", "gradgrad", "noncontig", "kwargs", "strides", "warnings",
          "fwad", "float16", "bfloat16", "vmap")


@functools.cache
def _jmu():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.testing._internal import jit_metaprogramming_utils as jmu
    H._unfreeze_backend_flags()
    return jmu


def _entry_id(name, variant):
    return name + ("_" + variant if variant else "")


@functools.cache
def entries():
    """{id: (name, self_size, args, variant, kwargs)} over get_nn_functional_tests(), its
    tensors drawn from LIST_SEED (the id is PyTorch's test name without ``test_nn_``)."""
    jmu = _jmu()
    state = torch.random.get_rng_state()
    torch.manual_seed(LIST_SEED)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tests = jmu.get_nn_functional_tests()
    finally:
        torch.random.set_rng_state(state)
    out = {}
    for t in tests:
        name, self_size, args = t[:3]
        variant = t[3] if len(t) > 3 else ""
        kwargs = t[7] if len(t) > 7 else None
        key = _entry_id(name, variant)
        assert key not in out, key
        out[key] = (name, self_size, args, variant, kwargs)
    return out


# --------------------------------------------------------------------------- inputs


def _cast(obj, dtype):
    """Floating tensors of ``obj`` as ``dtype`` leaves (requires_grad kept)."""
    if isinstance(obj, torch.Tensor) and obj.is_floating_point() and dtype is not None:
        return obj.detach().to(dtype).requires_grad_(obj.requires_grad)
    if isinstance(obj, tuple):
        return tuple(_cast(x, dtype) for x in obj)
    if isinstance(obj, list):
        return [_cast(x, dtype) for x in obj]
    if isinstance(obj, dict):
        return {k: _cast(v, dtype) for k, v in obj.items()}
    return obj


def make_inputs(key, seed=0, check="plain"):
    """PyTorch's inputs of entry ``key``: (args, kwargs) with the input first, made by
    ``create_input`` from ``seed`` (non-contiguous views for "noncontig", no grad for "nograd",
    float64 for "float64" / "gradgrad")."""
    jmu = _jmu()
    name, self_size, args, variant, kwargs = entries()[key]
    rg = check != "nograd"
    nc = check == "noncontig"
    torch.manual_seed(seed)
    self_var = jmu.create_input((self_size,), requires_grad=rg, non_contiguous=nc)[0][0]
    a, k = jmu.create_input(args, requires_grad=rg, non_contiguous=nc, call_kwargs=kwargs)
    dtype = {"float64": torch.float64, "gradgrad": torch.float64, "float16": torch.float16,
             "bfloat16": torch.bfloat16}.get(check)
    return _cast((self_var, *a), dtype), _cast(k, dtype)


# --------------------------------------------------------------------------- running


def _raised(t_err, d_err, stage):
    """The difference between two raised-or-not outcomes, or None when both agree."""
    if t_err is None and d_err is None:
        return None
    if t_err is None:
        return f"{stage}: deltagrad raised {type(d_err).__name__}: {str(d_err)[:200]}"
    if d_err is None:
        return f"{stage}: PyTorch raised {type(t_err).__name__}: {str(t_err)[:120]}, " \
               "deltagrad did not"
    if not isinstance(d_err, type(t_err)):
        return f"{stage}: {type(d_err).__name__}: {str(d_err)[:160]} " \
               f"(PyTorch {type(t_err).__name__}: {str(t_err)[:120]})"
    return None


def _clone_first(args, lib):
    """``args`` with the input replaced by a clone (an in-place call writes into it, the
    leaf keeps its value)."""
    first = args[0]
    return ((first.clone() if isinstance(first, lib.Tensor) else first), *args[1:])


def _signature_names(name):
    """The parameter names of ``torch.nn.functional.<name>`` (from its signature, or the first
    line of a builtin's docstring), or None."""
    fn = getattr(torch.nn.functional, name)
    try:
        return [p.name for p in inspect.signature(fn).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        match = re.match(rf"\s*{name}\((.*?)\)", fn.__doc__ or "")
        if match is None:
            return None
        return [part.split("=")[0].strip() for part in match.group(1).split(",")
                if part.strip() and part.strip() != "*"]


def _as_keywords(name, args, kwargs):
    """(args, kwargs) with every argument after the input passed by its keyword (PyTorch's
    names), or None where the names are unknown."""
    names = _signature_names(name)
    if names is None or len(names) < len(args):
        return None
    return args[:1], {**dict(zip(names[1:], args[1:])), **kwargs}


def _call(fn, args, kwargs):
    """(output, raised exception, warnings: their (category, first words))."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out, err = N._exc(lambda: fn(*args, **kwargs))
    return out, err, [(w.category.__name__, " ".join(str(w.message).split()[:3]))
                      for w in caught]


def _pairs(t_out, d_out):
    t_outs, d_outs = N._leaves(t_out, []), N._leaves(d_out, [])
    return [(a, b) for a, b in zip(t_outs, d_outs)
            if a.requires_grad and (a.is_floating_point() or a.is_complex())]


def _compare32(t_res, d_res, ref, tol, path):
    """H.compare, and where float32 / float16 / bfloat16 results differ, the float64
    reference ``ref`` (a thunk: PyTorch on the same values in float64) as a third opinion:
    deltagrad is accepted when it is as accurate as PyTorch in that dtype (its largest error
    from the float64 result within 4x PyTorch's, or an epsilon of the reference's scale)."""
    msg = H.compare(H.to_numpy(t_res), H.to_numpy(d_res), tol_scale=tol, path=path)
    if msg is None or ref is None or "values differ" not in msg:
        return msg
    t32, d32, r64 = (H.to_numpy(x) for x in (t_res, d_res, ref()))
    for (tdt, t), (_, d), (_, r) in zip(_arrays(t32), _arrays(d32), _arrays(r64)):
        eps = {"float32": 2.0 ** -23, "float16": 2.0 ** -10, "bfloat16": 2.0 ** -7}.get(tdt)
        if eps is None or t.shape != r.shape:
            return msg
        t, d = t.astype(np.float64), d.astype(np.float64)
        scale = float(np.abs(r).max(initial=0.0))
        err_t = float(np.abs(t - r).max(initial=0.0))
        err_d = float(np.abs(d - r).max(initial=0.0))
        if not err_d <= 4 * max(err_t, eps * scale):
            return msg + f" (from the float64 result: deltagrad {err_d:.3g}, PyTorch {err_t:.3g})"
    return None


def _arrays(obj):
    """The (dtype, array) pairs of H.to_numpy's nested result, in order."""
    if isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[1], np.ndarray):
        return [obj]
    if isinstance(obj, tuple):
        return [x for item in obj for x in _arrays(item)]
    return []


def _grads_both(pairs, t_leaves, d_leaves, seed, create_graph):
    """Seeded output gradients for the (PyTorch, deltagrad) output ``pairs`` and the leaves'
    gradients in both libraries: (grads sent, PyTorch's, deltagrad's, None), or (None, None,
    None, why) where the two raised differently or PyTorch raised (then nothing to compare)."""
    gen = torch.Generator().manual_seed(seed)
    grads = [torch.randn(a.shape, dtype=a.dtype, generator=gen) for a, _ in pairs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_g, t_err = N._exc(lambda: torch.autograd.grad(
            [a for a, _ in pairs], t_leaves, grads, allow_unused=True,
            create_graph=create_graph))
        d_g, d_err = N._exc(lambda: dg.autograd.grad(
            [b for _, b in pairs], d_leaves, [H.to_dg(g) for g in grads], allow_unused=True,
            create_graph=create_graph))
    msg = _raised(t_err, d_err, "backward")
    if msg or t_err is not None:
        return None, None, None, msg
    return grads, t_g, d_g, None


def _torch_float64(key, seed, check, t_fn, grads):
    """PyTorch's output and first grads of entry ``key`` with every floating tensor float64
    (the same values), for ``_compare32``: (output, grads)."""
    args, kwargs = make_inputs(key, seed, check if check in ("nograd", "float16", "bfloat16")
                               else "plain")
    args, kwargs = _cast(args, torch.float64), _cast(kwargs, torch.float64)
    if entries()[key][3] == "inplace" and check != "nograd":
        args = _clone_first(args, torch)
    leaves = [x for x in N._leaves((args, list(kwargs.values())), []) if x.requires_grad]
    torch.manual_seed(seed + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = t_fn(*args, **kwargs)
    if not grads:
        return out, ()
    pairs = [a for a in N._leaves(out, []) if a.requires_grad]
    got = torch.autograd.grad(pairs, leaves, [g.double() for g in grads], allow_unused=True)
    return out, got


def run_entry(key, seed=0, check="plain"):
    """None when deltagrad agrees with PyTorch on entry ``key``, else the first difference.
    ``check``: "plain" (float32, forward and backward), "nograd" (no input requires grad: the
    forward alone, as PyTorch's JIT test first runs it), "float64" (every floating tensor
    float64), "gradgrad" (float64, double backward), "noncontig" (non-contiguous inputs,
    their strides kept), "kwargs" (every argument after the input by keyword, PyTorch's
    names), "strides" (the outputs' strides), "warnings" (the warnings the call gives: their
    categories and first words), "fwad" (forward-mode AD: dual inputs with seeded tangents,
    the outputs' tangents), "float16" / "bfloat16" (every floating tensor of that dtype:
    forward and backward at its tolerance, 4x for the gradients) or "vmap" (``func.vmap``
    over a batch of three copies of the input, scaled 1, 2, 3)."""
    name, _, _, variant, _ = entries()[key]
    d_fn = getattr(dg.nn.functional, name, None)
    if d_fn is None:
        return f"missing: deltagrad.nn.functional has no {name}"
    t_fn = getattr(torch.nn.functional, name)
    make = {"kwargs": "nograd", "strides": "nograd", "warnings": "nograd",
            "fwad": "float64", "vmap": "nograd"}.get(check, check)
    t_args, t_kwargs = make_inputs(key, seed, make)
    memo = {}
    try:
        d_args = H.to_dg(t_args, memo, views=check == "noncontig")
        d_kwargs = H.to_dg(t_kwargs, memo)
    except H.Unconvertible as e:
        return f"unsupported: {e}"
    if check == "kwargs":
        t_kw, d_kw = _as_keywords(name, t_args, t_kwargs), _as_keywords(name, d_args, d_kwargs)
        if t_kw is None:
            return None
        (t_args, t_kwargs), (d_args, d_kwargs) = t_kw, d_kw
    if check == "fwad":
        return _forward_ad(t_fn, d_fn, t_args, t_kwargs, d_args, d_kwargs, seed)
    if check == "vmap":
        return _vmapped(t_fn, d_fn, t_args, t_kwargs, d_args, d_kwargs, seed)
    t_leaves = [x for x in N._leaves((t_args, list(t_kwargs.values())), [])
                if x.requires_grad]
    d_leaves = [memo[id(x)] for x in t_leaves]
    names = [f"arg{k}" for k in range(len(t_leaves))]
    inplace = variant == "inplace"
    t_call, d_call = t_args, d_args
    if inplace and make != "nograd":  # (a leaf cannot be written in place: its clone is)
        t_call, d_call = _clone_first(t_args, torch), _clone_first(d_args, dg)
    torch.manual_seed(seed + 1)
    dg.manual_seed(seed + 1)
    t_out, t_err, t_warn = _call(t_fn, t_call, t_kwargs)
    once = set(_WARNED_ONCE)  # (deltagrad's once-per-process warnings: as if first, restored)
    if check == "warnings":
        _WARNED_ONCE.clear()
    try:
        d_out, d_err, d_warn = _call(d_fn, d_call, d_kwargs)
    finally:
        if check == "warnings":
            _WARNED_ONCE.clear()
            _WARNED_ONCE.update(once)
    msg = _raised(t_err, d_err, "forward")
    if msg or t_err is not None:
        return msg
    if check == "warnings":
        t_set, d_set = sorted(set(t_warn)), sorted(set(d_warn))
        return None if t_set == d_set else f"warnings {d_set} (PyTorch {t_set})"
    tol = {"noncontig": 10.0, "float16": 4.0, "bfloat16": 4.0}.get(check, 1.0)
    f32 = check in ("plain", "nograd", "noncontig", "kwargs", "strides", "float16", "bfloat16")
    ref = {}

    def reference(part, grads=()):
        def thunk():
            if part not in ref:  # (the grads: a second run, the forward's had none)
                ref["out"], got = _torch_float64(key, seed, check, t_fn, grads)
                if grads:
                    ref["grads"] = got
            return ref[part]
        return thunk if f32 else None

    msg = _compare32(t_out, d_out, reference("out"), tol, "out")
    if msg:
        return "forward: " + msg
    if inplace:
        msg = H.compare(H.to_numpy(t_call[0]), H.to_numpy(d_call[0]), tol_scale=tol,
                        path="input after the call")
        if msg:
            return "forward: " + msg
    t_outs, d_outs = N._leaves(t_out, []), N._leaves(d_out, [])
    t_rg = [a.requires_grad for a in t_outs]
    d_rg = [b.requires_grad for b in d_outs]
    if t_rg != d_rg:
        return f"forward: requires_grad of the outputs {d_rg} (PyTorch {t_rg})"
    if check == "strides":
        t_st = [a.stride() for a in t_outs]
        d_st = [tuple(b.stride()) for b in d_outs]
        return None if t_st == d_st else f"strides {d_st} (PyTorch {t_st})"
    if make == "nograd" or not t_leaves:
        return None
    pairs = _pairs(t_out, d_out)
    if not pairs:
        return None
    gg = check == "gradgrad"
    grads, t_g, d_g, msg = _grads_both(pairs, t_leaves, d_leaves, seed + 2, gg)
    if grads is None:
        return msg
    for k, (n, a, b) in enumerate(zip(names, t_g, d_g)):
        if a is None or b is None:
            if a is not None and bool((a != 0).any()):
                return f"backward: grad of {n} is None (PyTorch nonzero)"
            if b is not None and bool((b != 0).any()):
                return f"backward: grad of {n} nonzero (PyTorch None)"
            continue
        grad_ref = reference("grads", grads)
        msg = _compare32(a, b, grad_ref and (lambda k=k, g=grad_ref: g()[k]),
                         tol if check in ("float16", "bfloat16") else 10 * tol,
                         f"grad[{n}]")
        if msg:
            return "backward: " + msg
    if gg:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return N._gradgrad(t_g, d_g, t_leaves, d_leaves, names, seed)
    return None


def _vmapped(t_fn, d_fn, t_args, t_kwargs, d_args, d_kwargs, seed):
    """``func.vmap`` of the call over a new leading batch of the input (three copies, a
    floating one scaled 1, 2, 3), the other arguments unbatched."""
    def batch(x, lib):
        if x.is_floating_point():
            return lib.stack([x * s for s in (1.0, 2.0, 3.0)])
        return lib.stack([x, x, x])

    t_b, d_b = batch(t_args[0], torch), batch(d_args[0], dg)
    t_rest, d_rest = t_args[1:], d_args[1:]
    torch.manual_seed(seed + 1)
    dg.manual_seed(seed + 1)
    t_out, t_err, _ = _call(torch.func.vmap(lambda x: t_fn(x, *t_rest, **t_kwargs)), (t_b,), {})
    d_out, d_err, _ = _call(dg.func.vmap(lambda x: d_fn(x, *d_rest, **d_kwargs)), (d_b,), {})
    msg = _raised(t_err, d_err, "vmap")
    if msg or t_err is not None:
        return msg
    msg = H.compare(H.to_numpy(t_out), H.to_numpy(d_out), tol_scale=10)
    return msg and "vmap: " + msg


def _forward_ad(t_fn, d_fn, t_args, t_kwargs, d_args, d_kwargs, seed):
    """Forward-mode AD: every floating input that requires grad made a dual tensor with a
    seeded tangent (float64); the outputs' tangents compared."""
    gen = torch.Generator().manual_seed(seed + 4)
    spots = [k for k, a in enumerate(t_args) if isinstance(a, torch.Tensor) and a.requires_grad]
    if not spots:
        return None
    tangents = {k: torch.randn(t_args[k].shape, dtype=t_args[k].dtype, generator=gen)
                for k in spots}

    def run(lib, fn, args, kwargs, conv):
        fw = lib.autograd.forward_ad
        with fw.dual_level():
            args = list(args)
            for k in spots:  # (copies: an in-place op writes the primal and the tangent)
                args[k] = fw.make_dual(args[k].detach().clone(), conv(tangents[k].clone()))
            lib.manual_seed(seed + 1)
            out = fn(*args, **kwargs)
            outs = N._leaves(out, [])
            return [o.detach() for o in outs], [fw.unpack_dual(o).tangent for o in outs]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_r, t_err = N._exc(lambda: run(torch, t_fn, t_args, t_kwargs, lambda v: v))
        d_r, d_err = N._exc(lambda: run(dg, d_fn, d_args, d_kwargs, H.to_dg))
    msg = _raised(t_err, d_err, "forward AD")
    if msg or t_err is not None:
        return msg
    for k, (a, b) in enumerate(zip(*t_r[1:], *d_r[1:])):
        if a is None or b is None:
            if (a is None) != (b is None):
                who = "deltagrad" if b is None else "PyTorch"
                other = a if b is None else b
                if bool((other != 0).any()):
                    return f"forward AD: tangent {k} is None in {who}"
            continue
        msg = H.compare(H.to_numpy(a), H.to_numpy(b), tol_scale=10, path=f"tangent[{k}]")
        if msg:
            return "forward AD: " + msg
    return H.compare(H.to_numpy(t_r[0]), H.to_numpy(d_r[0]), path="primal") and \
        "forward AD: " + H.compare(H.to_numpy(t_r[0]), H.to_numpy(d_r[0]), path="primal")


# --------------------------------------------------------------------------- module list


@functools.cache
def module_entries():
    """{name: params} of get_all_nn_module_tests() that common_nn's lists (NN1's harness)
    do not have: the JIT list's own additional modules."""
    jmu = _jmu()
    state = torch.random.get_rng_state()
    torch.manual_seed(LIST_SEED)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            every = jmu.get_all_nn_module_tests()
    finally:
        torch.random.set_rng_state(state)
    cn = N._common_nn()
    n_common = len(cn.module_tests) + len(cn.get_new_module_tests())
    out = {}
    for params in every[n_common:]:
        name = jmu.get_nn_mod_test_name(**params)[len("test_nn_"):]
        assert name not in out, name
        out[name] = dict(params)
    return out


MODULE_CHECKS = ("plain", "float32", "gradgrad")


def run_module(name, seed=0, check="plain"):
    """None when deltagrad agrees with PyTorch on the module entry ``name``, else the first
    difference. The module is built under torch from ``seed``, rebound to deltagrad and given
    PyTorch's state; the inputs are ``create_input``'s (float64 as the JIT test makes them;
    "float32": every tensor and the module float32). ``check`` "gradgrad": double backward."""
    jmu = _jmu()
    params = module_entries()[name]
    dtype = torch.float32 if check == "float32" else torch.float64
    torch.manual_seed(seed)
    t_cls = getattr(torch.nn, params["module_name"])
    d_cls = N.rebind(t_cls, {})
    t_mod = t_cls(*params.get("constructor_args", ())).to(dtype)
    d_mod = d_cls(*params.get("constructor_args", ())).to(H.dg_dtype(dtype))
    d_mod.load_state_dict({k: H.to_dg(v.detach().clone()) for k, v in t_mod.state_dict().items()})
    call = (params["input_size"],) + tuple(params.get("extra_args", ()))
    torch.manual_seed(seed + 1)
    t_args = _cast(jmu.create_input(call, dtype=torch.float64)[0], dtype)
    memo = {}
    d_args = H.to_dg(t_args, memo)
    t_leaves = [x for x in t_args if x.requires_grad] + list(t_mod.parameters())
    d_leaves = [memo[id(x)] for x in t_args if x.requires_grad] + list(d_mod.parameters())
    names = [f"input{k}" for k, x in enumerate(t_args) if x.requires_grad] + \
        [n for n, _ in t_mod.named_parameters()]
    torch.manual_seed(seed + 2)
    dg.manual_seed(seed + 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_out, t_err = N._exc(lambda: t_mod(*t_args))
        d_out, d_err = N._exc(lambda: d_mod(*d_args))
    msg = _raised(t_err, d_err, "forward")
    if msg or t_err is not None:
        return msg
    msg = H.compare(H.to_numpy(t_out), H.to_numpy(d_out))
    if msg:
        return "forward: " + msg
    t_outs, d_outs = N._leaves(t_out, []), N._leaves(d_out, [])
    pairs = [(a, b) for a, b in zip(t_outs, d_outs) if a.requires_grad]
    if [b.requires_grad for b in d_outs] != [a.requires_grad for a in t_outs]:
        return "forward: requires_grad of the outputs differs"
    gg = check == "gradgrad"
    grads, t_g, d_g, msg = _grads_both(pairs, t_leaves, d_leaves, seed + 3, gg)
    if grads is None:
        return msg
    for n, a, b in zip(names, t_g, d_g):
        if (a is None) != (b is None):
            return f"backward: grad of {n} is {'None' if b is None else 'a tensor'}"
        if a is not None:
            msg = H.compare(H.to_numpy(a), H.to_numpy(b), tol_scale=10, path=f"grad[{n}]")
            if msg:
                return "backward: " + msg
    if gg:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return N._gradgrad(t_g, d_g, t_leaves, d_leaves, names, seed)
    return None
