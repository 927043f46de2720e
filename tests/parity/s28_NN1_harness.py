"""PyTorch's old-style NN test lists (``torch.testing._internal.common_nn``) run through
deltagrad and through PyTorch.

``common_nn`` describes ~280 module and criterion tests as dicts: a constructor (an ``nn`` class,
a ``module_name``, or a lambda / ``wrap_functional`` module over ``torch.nn.functional``), its
arguments, an input (size or function), a target for criteria, and often a reference function.
Each entry becomes: the module built under PyTorch (seeded) and the same constructor rebound to
deltagrad (its ``torch`` / ``nn`` / ``F`` globals and closed-over tensors replaced), PyTorch's
state copied across, the same input (and target) converted, forward compared (values, dtype,
shape, raised or not and exception class), then backward with a seeded gradient compared for
the input and every parameter. Where the two differ and the entry has a ``reference_fn``, the
reference is a third opinion (recorded in the description). Inputs we did not choose.
"""
from __future__ import annotations

import copy
import functools
import types
import warnings

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")  # torch.testing._internal.common_utils imports it

import opinfo_harness as H  # noqa: E402

import deltagrad as dg  # noqa: E402


@functools.cache
def _common_nn():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.testing._internal import common_nn
    H._unfreeze_backend_flags()
    return common_nn


def _name(kind, params):
    if params.get("fullname"):
        return params["fullname"]
    ctor = params.get("constructor")
    base = params.get("module_name") or getattr(ctor, "__name__", "?")
    return base + ("_" + params["desc"] if params.get("desc") else "")


@functools.cache
def entries():
    """{name: (kind, params)} for module_tests, get_new_module_tests() and criterion_tests."""
    cn = _common_nn()
    out = {}
    for kind, lst in (("module", cn.module_tests), ("module", cn.get_new_module_tests()),
                      ("criterion", cn.criterion_tests)):
        for params in lst:
            params = dict(params)
            name = _name(kind, params)
            k = 2
            while name in out:  # (a few repeat a name)
                name = f"{_name(kind, params)}__{k}"
                k += 1
            out[name] = (kind, params)
    return out


# --------------------------------------------------------------------------- rebinding


class Unsupported(Exception):
    """An entry the harness cannot carry to deltagrad (a CUDA-only or sparse piece)."""


def _globals_for(fn):
    glb = dict(fn.__globals__)
    for key, val in list(glb.items()):
        if val is torch:
            glb[key] = dg
        elif val is torch.nn:
            glb[key] = dg.nn
        elif val is torch.nn.functional:
            glb[key] = dg.nn.functional
    if "_Reduction" in glb and hasattr(dg.nn, "_reduction"):
        glb["_Reduction"] = dg.nn._reduction
    return glb


def rebind(obj, memo):
    """``obj`` (a constructor, argument, closure value) with PyTorch replaced by deltagrad."""
    cn = _common_nn()
    if isinstance(obj, type):
        if obj.__qualname__ == "wrap_functional.<locals>.FunctionalModule":
            cells = dict(zip(obj.forward.__code__.co_freevars,
                             (c.cell_contents for c in obj.forward.__closure__)))
            fn, kwargs = rebind(cells["fn"], memo), rebind(cells["kwargs"], memo)

            class FunctionalModule(dg.nn.Module):
                def forward(self, *args):
                    return fn(*args, **kwargs)
            return FunctionalModule
        if issubclass(obj, torch.nn.Module) and obj.__module__.startswith("torch.nn"):
            found = getattr(dg.nn, obj.__name__, None)
            if found is None:
                raise Unsupported(f"deltagrad.nn has no {obj.__name__}")
            return found
        return obj
    if isinstance(obj, functools.partial):
        return functools.partial(rebind(obj.func, memo), *rebind(obj.args, memo),
                                 **rebind(obj.keywords, memo))
    if isinstance(obj, types.FunctionType):
        if obj.__module__ != cn.__name__ and not obj.__module__.startswith("torch.testing"):
            return H._dg_named(obj) if obj.__module__.startswith("torch") else obj
        closure = None
        if obj.__closure__:
            closure = tuple(types.CellType(rebind(c.cell_contents, memo))
                            for c in obj.__closure__)
        defaults = rebind(obj.__defaults__, memo) if obj.__defaults__ else obj.__defaults__
        new = types.FunctionType(obj.__code__, _globals_for(obj), obj.__name__, defaults,
                                 closure)
        new.__kwdefaults__ = rebind(obj.__kwdefaults__, memo)
        return new
    if isinstance(obj, types.BuiltinFunctionType) and obj is getattr(
            torch.nn.functional, obj.__name__, None):  # (F.gelu / F.relu: torch._C builtins)
        return getattr(dg.nn.functional, obj.__name__)
    if isinstance(obj, (torch.Tensor, torch.dtype, torch.Size)):
        return H.to_dg(obj, memo)
    if isinstance(obj, (list, tuple)):
        return type(obj)(rebind(x, memo) for x in obj)
    if isinstance(obj, dict):
        return {k: rebind(v, memo) for k, v in obj.items()}
    return obj


# --------------------------------------------------------------------------- running


def _leaves(obj, out):
    if isinstance(obj, (torch.Tensor, dg.Tensor)):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            _leaves(x, out)
    return out


def _exc(fn):
    try:
        return fn(), None
    except Exception as e:  # noqa: BLE001 - the class is what is compared
        return None, e


def _reference_agrees(test, params, t_in, t_tgt, t_mod, d_out, kind):
    ref = params.get("reference_fn")
    if ref is None:
        return ""
    try:
        with torch.no_grad():
            if kind == "criterion":
                r = ref(t_in, t_tgt, *test.extra_args, t_mod)
            else:
                r = ref(t_in, list(t_mod.parameters()), t_mod)
    except Exception as e:  # noqa: BLE001
        return f" [reference_fn raised {type(e).__name__}]"
    if not isinstance(r, torch.Tensor):
        r = torch.as_tensor(r)
    msg = H.compare(H.to_numpy(r.to(t_mod_dtype(d_out))), H.to_numpy(d_out), tol_scale=100)
    return " [reference_fn agrees with deltagrad]" if msg is None else \
        " [reference_fn agrees with neither]"


def t_mod_dtype(d_out):
    return getattr(torch, str(d_out.dtype).split(".")[-1])


def _build(kind, params):
    cn = _common_nn()
    params = dict(params)
    params.pop("decorator", None)
    if "constructor" not in params:
        params["constructor"] = getattr(torch.nn, params.pop("module_name"))
    else:
        params.pop("module_name", None)
    cls = cn.CriterionTest if kind == "criterion" else cn.NewModuleTest
    return cls(**params)


CHECKS = ("plain", "float32", "init", "repr", "gradgrad", "eval", "noncontig", "inplace",
          "strides", "deepcopy")


def run_entry(name, seed=0, check="plain"):
    """None when deltagrad agrees with PyTorch on ``name``, else the first difference.
    ``check``: "plain" (forward and backward in the entry's default dtype), "float32" (the
    same under a float32 default), "init" (the seeded initial state, before PyTorch's is copied
    across), "repr" (the module's repr), "gradgrad" (double backward, create_graph), "eval"
    (the module in eval mode), "noncontig" (every floating input a non-contiguous view),
    "strides" (the outputs' strides), "deepcopy" (copies of both modules run) or
    "inplace" (modules that take inplace=: built with inplace=True, called on a clone of the
    input)."""
    kind, params = entries()[name]
    test = _build(kind, params)
    default = params.get("default_dtype") or torch.get_default_dtype()
    if check == "float32":
        default = torch.float32
    old_t, old_d = torch.get_default_dtype(), dg.get_default_dtype()
    torch.set_default_dtype(default)
    dg.set_default_dtype(H.dg_dtype(default))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _run(test, kind, params, seed, check)
    finally:
        torch.set_default_dtype(old_t)
        dg.set_default_dtype(old_d)


def _run(test, kind, params, seed, check):
    memo = {}
    torch.manual_seed(seed)
    t_mod = test.constructor(*test.constructor_args)
    t_in = test._get_input()
    t_tgt = test._get_target() if kind == "criterion" else None
    extra = test.extra_args if kind == "criterion" else ()
    try:
        d_ctor = rebind(test.constructor, memo)
        d_args = rebind(test.constructor_args, memo)
    except (Unsupported, H.Unconvertible) as e:
        return f"unsupported: {e}"
    dg.manual_seed(seed)
    if check == "inplace":
        t_mod, err = _exc(lambda: test.constructor(*test.constructor_args, inplace=True))
        if err is not None:  # (no inplace= argument: nothing to check)
            return None
        d_mod, err = _exc(lambda: d_ctor(*d_args, inplace=True))
    else:
        d_mod, err = _exc(lambda: d_ctor(*d_args))
    if err is not None:
        return f"construct: deltagrad raised {type(err).__name__}: {err}"
    t_sd = t_mod.state_dict()
    if check == "repr" and repr(t_mod) != repr(d_mod).replace("deltagrad.", "torch."):
        return f"repr: {repr(d_mod)!r} (PyTorch {repr(t_mod)!r})"
    if check == "init":
        for k, v in t_sd.items():
            d_v = d_mod.state_dict().get(k)
            msg = H.compare(H.to_numpy(v), H.to_numpy(d_v), path=f"init[{k}]")
            if msg:
                return msg
        return None
    d_keys = list(d_mod.state_dict().keys())
    if d_keys != list(t_sd):
        return f"state_dict keys {d_keys} (PyTorch {list(t_sd)})"
    d_mod.load_state_dict({k: H.to_dg(v.detach().clone()) for k, v in t_sd.items()})
    if t_mod.training != d_mod.training:
        return "training flag differs"
    if check == "eval":
        t_mod.eval()
        d_mod.eval()
    if check == "deepcopy":  # (the copies run; their parameters are the grad leaves)
        t_mod, d_mod = copy.deepcopy(t_mod), copy.deepcopy(d_mod)
    if check == "noncontig":
        t_in = _map(t_in, _noncontiguous)
    d_in = H.to_dg(t_in, memo, views=check == "noncontig")
    d_tgt, d_extra = H.to_dg(t_tgt, memo), H.to_dg(extra, memo)
    t_ins = t_in if isinstance(t_in, tuple) else (t_in,)
    d_ins = d_in if isinstance(d_in, tuple) else (d_in,)
    if check == "inplace":  # (the leaves stay t_in / d_in; the module writes into a clone)
        t_ins, d_ins = _map(t_ins, _clone), _map(d_ins, _clone)
    t_call = t_ins + ((t_tgt,) if kind == "criterion" else ()) + tuple(extra)
    d_call = d_ins + ((d_tgt,) if kind == "criterion" else ()) + tuple(d_extra)
    torch.manual_seed(seed + 1)
    dg.manual_seed(seed + 1)
    t_out, t_err = _exc(lambda: t_mod(*t_call))
    d_out, d_err = _exc(lambda: d_mod(*d_call))
    if t_err is not None or d_err is not None:
        if t_err is None:
            return f"forward: deltagrad raised {type(d_err).__name__}: {str(d_err)[:200]}"
        if d_err is None:
            return f"forward: PyTorch raised {type(t_err).__name__}, deltagrad did not"
        if not isinstance(d_err, type(t_err)):
            return f"forward: {type(d_err).__name__} (PyTorch {type(t_err).__name__})"
        return None
    msg = H.compare(H.to_numpy(t_out), H.to_numpy(d_out))
    if msg:
        extra_note = ""
        if isinstance(d_out, dg.Tensor):
            extra_note = _reference_agrees(test, params, t_in, t_tgt, t_mod, d_out, kind)
        return "forward: " + msg + extra_note
    if check == "strides":
        t_st = [a.stride() for a in _leaves(t_out, [])]
        d_st = [tuple(b.stride()) for b in _leaves(d_out, [])]
        return None if t_st == d_st else f"strides {d_st} (PyTorch {t_st})"
    if test.check_forward_only if hasattr(test, "check_forward_only") else False:
        return None
    t_outs, d_outs = _leaves(t_out, []), _leaves(d_out, [])
    pairs = [(a, b) for a, b in zip(t_outs, d_outs)
             if a.requires_grad and (a.is_floating_point() or a.is_complex())]
    if not pairs:
        return None
    if any(b.requires_grad is False for _, b in pairs):
        return "backward: deltagrad output does not require grad"
    gen = torch.Generator().manual_seed(seed + 2)
    grads = [torch.randn(a.shape, dtype=a.dtype, generator=gen) for a, _ in pairs]
    t_leaves = [x for x in _leaves(t_in, []) if x.requires_grad] + list(t_mod.parameters())
    d_leaves = [x for x in _leaves(d_in, []) if x.requires_grad] + list(d_mod.parameters())
    if len(t_leaves) != len(d_leaves):
        return f"backward: {len(d_leaves)} grad leaves (PyTorch {len(t_leaves)})"
    gg = check == "gradgrad"
    t_g, t_err = _exc(lambda: torch.autograd.grad([a for a, _ in pairs], t_leaves, grads,
                                                  allow_unused=True, create_graph=gg))
    d_g, d_err = _exc(lambda: dg.autograd.grad([b for _, b in pairs], d_leaves,
                                               [H.to_dg(g) for g in grads], allow_unused=True,
                                               create_graph=gg))
    if gg and t_err is None and d_err is None:
        return _gradgrad(t_g, d_g, t_leaves, d_leaves, names_of(t_mod, t_leaves), seed)
    if t_err is not None or d_err is not None:
        if t_err is None:
            return f"backward: deltagrad raised {type(d_err).__name__}: {str(d_err)[:200]}"
        if d_err is None:
            return f"backward: PyTorch raised {type(t_err).__name__}, deltagrad did not"
        return None
    for n, a, b in zip(names_of(t_mod, t_leaves), t_g, d_g):
        if (a is None) != (b is None):
            return f"backward: grad of {n} is {'None' if b is None else 'a tensor'} " \
                   f"(PyTorch {'None' if a is None else 'a tensor'})"
        if a is None:
            continue
        msg = H.compare(H.to_numpy(a), H.to_numpy(b), tol_scale=10, path=f"grad[{n}]")
        if msg:
            return "backward: " + msg
    return None


def _map(obj, fn):
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map(x, fn) for x in obj)
    return fn(obj)


def _noncontiguous(t):
    """``t``'s values as a leaf view with doubled last stride (floating tensors only)."""
    if not isinstance(t, torch.Tensor) or not (t.is_floating_point() or t.is_complex()) \
            or t.dim() == 0:
        return t
    base = torch.stack([t.detach(), torch.zeros_like(t)], -1)
    return base[..., 0].requires_grad_(t.requires_grad)


def _clone(t):
    return t.clone() if isinstance(t, (torch.Tensor, dg.Tensor)) else t


def names_of(t_mod, t_leaves):
    return ["input"] * (len(t_leaves) - len(list(t_mod.parameters()))) + \
        [n for n, _ in t_mod.named_parameters()]


def _gradgrad(t_g, d_g, t_leaves, d_leaves, names, seed):
    """Second order: the first grads (those that require grad) dotted with a seeded vector,
    differentiated again with respect to every leaf."""
    gen = torch.Generator().manual_seed(seed + 3)
    vs = [None if a is None else torch.randn(a.shape, dtype=a.dtype, generator=gen)
          for a in t_g]

    def second(lib, firsts, leaves, conv):
        terms = [(g * conv(v)).sum() for g, v in zip(firsts, vs)
                 if g is not None and g.requires_grad]
        terms = [x.real if x.is_complex() else x for x in terms]
        if not terms:  # (no first grad depends on a leaf: every second grad is None)
            return [None] * len(leaves), None
        return _exc(lambda: lib.autograd.grad(sum(terms), leaves, allow_unused=True))

    t_gg, t_err = second(torch, t_g, t_leaves, lambda v: v)
    d_gg, d_err = second(dg, d_g, d_leaves, H.to_dg)
    if (t_err is None) != (d_err is None):
        who, err = ("deltagrad", d_err) if d_err is not None else ("PyTorch", t_err)
        return f"gradgrad: {who} raised {type(err).__name__}: {str(err)[:200]}"
    if t_err is not None:
        return None
    for n, a, b in zip(names, t_gg, d_gg):
        if a is None or b is None:
            if a is not None and bool((a != 0).any()):
                return f"gradgrad: grad of {n} is None (PyTorch nonzero)"
            if b is not None and bool((b != 0).any()):
                return f"gradgrad: grad of {n} nonzero (PyTorch None)"
            continue
        msg = H.compare(H.to_numpy(a), H.to_numpy(b), tol_scale=10, path=f"gradgrad[{n}]")
        if msg:
            return msg
    return None


# --------------------------------------------------------------------------- autograd_function_db
# PyTorch's custom autograd.Function samples (setup_context style, save_for_forward, jvp, vmap /
# generate_vmap_rule, mark_dirty, mark_non_differentiable, once_differentiable). The module's
# source is executed a second time with ``torch`` bound to deltagrad (its OpInfo / SampleInput /
# make_tensor imports replaced by stand-ins that only record), so its Function classes subclass
# deltagrad's; the samples are PyTorch's (made under torch, converted).

FUNCTION_CHECKS = ("plain", "gradgrad", "jvp", "dual", "vmap")


@functools.cache
def _function_dbs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.testing._internal import autograd_function_db as mod
    H._unfreeze_backend_flags()
    lines = []
    skipping = False
    for line in open(mod.__file__).read().splitlines():
        # the imports are replaced by the namespace below (a parenthesised one spans lines)
        if skipping:
            skipping = not line.strip().endswith(")")
            continue
        if line.startswith(("import ", "from ")):
            skipping = line.rstrip().endswith("(")
            continue
        lines.append(line)

    def op_info(name, **kw):
        return types.SimpleNamespace(name=name, **kw)

    ns = {"torch": dg, "np": __import__("numpy"), "partial": functools.partial,
          "OpInfo": op_info, "SampleInput": None, "make_tensor": None,
          "all_types_and": lambda *a: (), "__name__": "s28_NN1_autograd_function_db"}
    exec(compile("\n".join(lines), mod.__file__, "exec"), ns)  # noqa: S102 - PyTorch's own file
    return {op.name: op for op in mod.autograd_function_db}, \
        {op.name: op for op in ns["autograd_function_db"]}


def function_names():
    return list(_function_dbs()[0])


def run_function(name, check="plain", variant="op"):
    """None when deltagrad's run of PyTorch's autograd.Function sample agrees, else the
    first difference. ``variant``: "op" or "inplace" (NumpyExp_'s mark_dirty form)."""
    t_info, d_info = (db[name] for db in _function_dbs())
    t_op = getattr(t_info, "op" if variant == "op" else "inplace_variant")
    d_op = getattr(d_info, "op" if variant == "op" else "inplace_variant", None)
    if t_op is None:
        return None
    for k, sample in enumerate(t_info.sample_inputs("cpu", torch.float64, requires_grad=True)):
        msg = _run_function_sample(t_op, d_op, sample, check, variant)
        if msg:
            return f"sample {k}: {msg}"
    return None


def _run_function_sample(t_op, d_op, sample, check, variant):
    memo = {}
    t_args = (sample.input, *sample.args)
    if variant == "inplace":  # (a leaf cannot be written in place: a clone of it)
        t_args = (sample.input.clone(), *sample.args)
    d_args, d_kwargs = H.to_dg(t_args, memo), H.to_dg(sample.kwargs, memo)
    t_leaves = [x for x in _leaves((sample.input, *sample.args), []) if x.requires_grad]
    d_leaves = [memo[id(x)] for x in t_leaves if id(x) in memo]
    if variant == "inplace":
        d_leaves = [H.to_dg(sample.input, memo)]
        d_args = (d_leaves[0].clone(), *d_args[1:])
    if check == "vmap":
        return _function_vmap(t_op, d_op, t_args, d_args, sample.kwargs, d_kwargs)
    if check in ("jvp", "dual"):
        return _function_jvp(t_op, d_op, t_args, d_args, sample.kwargs, d_kwargs, check)
    t_out, t_err = _exc(lambda: t_op(*t_args, **sample.kwargs))
    d_out, d_err = _exc(lambda: d_op(*d_args, **d_kwargs))
    if (t_err is None) != (d_err is None):
        who, err = ("deltagrad", d_err) if d_err is not None else ("PyTorch", t_err)
        return f"forward: {who} raised {type(err).__name__}: {str(err)[:200]}"
    if t_err is not None:
        return None
    msg = H.compare(H.to_numpy(t_out), H.to_numpy(d_out))
    if msg:
        return "forward: " + msg
    t_outs, d_outs = _leaves(t_out, []), _leaves(d_out, [])
    pairs = [(a, b) for a, b in zip(t_outs, d_outs) if a.requires_grad]
    if [b.requires_grad for _, b in zip(t_outs, d_outs)] != [a.requires_grad for a in t_outs]:
        return (f"requires_grad of the outputs {[b.requires_grad for b in d_outs]} "
                f"(PyTorch {[a.requires_grad for a in t_outs]})")
    if not pairs:
        return None
    gen = torch.Generator().manual_seed(5)
    grads = [torch.randn(a.shape, dtype=a.dtype, generator=gen) for a, _ in pairs]
    gg = check == "gradgrad"
    t_g, t_err = _exc(lambda: torch.autograd.grad([a for a, _ in pairs], t_leaves, grads,
                                                  allow_unused=True, create_graph=gg))
    d_g, d_err = _exc(lambda: dg.autograd.grad([b for _, b in pairs], d_leaves,
                                               [H.to_dg(g) for g in grads], allow_unused=True,
                                               create_graph=gg))
    if (t_err is None) != (d_err is None):
        who, err = ("deltagrad", d_err) if d_err is not None else ("PyTorch", t_err)
        return f"backward: {who} raised {type(err).__name__}: {str(err)[:200]}"
    if t_err is not None:
        return None
    names = [f"arg{k}" for k in range(len(t_leaves))]
    for n, a, b in zip(names, t_g, d_g):
        if (a is None) != (b is None):
            return f"backward: grad of {n} is {'None' if b is None else 'a tensor'}"
        if a is not None:
            msg = H.compare(H.to_numpy(a), H.to_numpy(b), tol_scale=10, path=f"grad[{n}]")
            if msg:
                return "backward: " + msg
    if gg:
        return _gradgrad(t_g, d_g, t_leaves, d_leaves, names, 0)
    return None


def _dual(lib, f, primal, tangent):
    """forward_ad's make_dual / unpack_dual: (outputs, their tangents)."""
    fw = lib.autograd.forward_ad
    with fw.dual_level():
        out = f(fw.make_dual(primal, tangent))
        outs = out if isinstance(out, tuple) else (out,)
        return tuple(o.detach() if isinstance(o, lib.Tensor) else o for o in outs), \
            tuple(fw.unpack_dual(o).tangent if isinstance(o, lib.Tensor) else None
                  for o in outs)


def _function_jvp(t_op, d_op, t_args, d_args, t_kwargs, d_kwargs, how):
    """``how``: "jvp" (torch.func.jvp) or "dual" (forward_ad's dual tensors)."""
    gen = torch.Generator().manual_seed(6)
    if not all(isinstance(a, torch.Tensor) and a.is_floating_point() for a in t_args[:1]) \
            or any(isinstance(a, torch.Tensor) for a in t_args[1:]):
        return None  # (primals: the first argument alone; tensors after it are indices)
    t_prim = (t_args[0].detach(),)
    tangents = (torch.randn(t_prim[0].shape, dtype=t_prim[0].dtype, generator=gen),)
    rest, d_rest = list(t_args[1:]), list(d_args[1:])

    def t_f(*xs):
        return t_op(*xs, *rest, **t_kwargs)

    def d_f(*xs):
        return d_op(*xs, *d_rest, **d_kwargs)

    if how == "dual":
        t_r, t_err = _exc(lambda: _dual(torch, t_f, t_prim[0], tangents[0]))
        d_r, d_err = _exc(lambda: _dual(dg, d_f, H.to_dg(t_prim[0]), H.to_dg(tangents[0])))
    else:
        t_r, t_err = _exc(lambda: torch.func.jvp(t_f, t_prim, tangents))
        d_r, d_err = _exc(lambda: dg.func.jvp(d_f, H.to_dg(t_prim), H.to_dg(tangents)))
    if (t_err is None) != (d_err is None):
        who, err = ("deltagrad", d_err) if d_err is not None else ("PyTorch", t_err)
        return f"{how}: {who} raised {type(err).__name__}: {str(err)[:200]}"
    if t_err is not None:
        return None
    msg = H.compare(H.to_numpy(t_r), H.to_numpy(d_r), tol_scale=10, path=how)
    return msg and f"{how}: " + msg


def _function_vmap(t_op, d_op, t_args, d_args, t_kwargs, d_kwargs):
    """vmap over a new leading batch of 3 copies (scaled 1, 2, 3) of every tensor argument."""
    def batch(a, lib):
        if isinstance(a, (torch.Tensor, dg.Tensor)):
            return lib.stack([a.detach() * s for s in (1.0, 2.0, 3.0)])
        return a

    t_b = tuple(batch(a, torch) for a in t_args)
    d_b = tuple(batch(a, dg) for a in d_args)
    dims = tuple(0 if isinstance(a, torch.Tensor) else None for a in t_args)
    t_r, t_err = _exc(lambda: torch.func.vmap(
        lambda *xs: t_op(*xs, **t_kwargs), in_dims=dims)(*t_b))
    d_r, d_err = _exc(lambda: dg.func.vmap(
        lambda *xs: d_op(*xs, **d_kwargs), in_dims=dims)(*d_b))
    if (t_err is None) != (d_err is None):
        who, err = ("deltagrad", d_err) if d_err is not None else ("PyTorch", t_err)
        return f"vmap: {who} raised {type(err).__name__}: {str(err)[:200]}"
    if t_err is not None:
        return None
    msg = H.compare(H.to_numpy(t_r), H.to_numpy(d_r), path="vmap")
    return msg and "vmap: " + msg
