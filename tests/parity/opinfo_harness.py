"""PyTorch's own sample inputs (OpInfo ``op_db``) run through deltagrad and through PyTorch.

PyTorch's test suite describes every operator once, in ``torch.testing._internal``: which dtypes
it takes, a generator of sample inputs (shapes, broadcasting, scalars, keyword arguments, empty
tensors, non-contiguous views) and, for many operators, inputs that must raise. This module turns
each sample into deltagrad tensors, calls the matching deltagrad function / method / in-place
method, and reports every way the two results differ: values, dtype, shape, which library raised,
and gradients. The sweeps that use it keep a KNOWN table of what stays different on purpose.

The samples come from PyTorch's tree, so they are inputs we did not choose: the point of running
them (the brief: "build your own differential tests against PyTorch broadly, the way PyTorch's
OpInfo does").
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import types
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")  # torch.testing._internal.common_utils imports it

import deltagrad as dg  # noqa: E402


def _unfreeze_backend_flags():
    """Undo ``torch.backends.disable_global_flags()``, which common_utils calls when imported
    (other tests of the suite set ``torch.backends.cudnn.deterministic`` and the like). The flag
    lives in the globals of ``torch/backends/__init__.py``'s functions: ``torch.backends`` as an
    attribute is another module object (PyTorch replaces it with a property-aware wrapper)."""
    torch.backends.flags_frozen.__globals__["__allow_nonbracketed_mutation_flag"] = True
    assert not torch.backends.flags_frozen()


@functools.cache
def op_db():
    """PyTorch's OpInfo list, imported once; undoes the global flag freeze its import makes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.testing._internal.common_methods_invocations import op_db as db
    # common_utils freezes torch.backends flags at import; other tests of the suite set them.
    _unfreeze_backend_flags()
    # Every sample_inputs / error_inputs call looks twice for the running unittest method
    # through inspect.stack() (TrackedInputIter, sample skips: for PyTorch's own test runs),
    # under pytest's deep stacks most of a sweep's time. It finds nothing here (no TestCase
    # runs), which is what this answers at once.
    from torch.testing._internal import common_utils
    from torch.testing._internal.opinfo import core
    common_utils.extract_test_fn = core.extract_test_fn = lambda: None
    return tuple(db)


@functools.cache
def module_db():
    """PyTorch's ModuleInfo list (``torch.testing._internal.common_modules``)."""
    op_db()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.testing._internal.common_modules import module_db as db
    _unfreeze_backend_flags()
    return tuple(db)


def samples_of(op, dtype, requires_grad=False, inputs="sample", max_samples=None):
    """The first ``max_samples`` of ``op.sample_inputs`` (``inputs="reference"``:
    ``op.reference_inputs``) on the CPU. Only those are made (max_pool2d's generator has 1,440),
    without PyTorch's stack walk (``op_db`` turns it off)."""
    make = op.reference_inputs if inputs == "reference" else op.sample_inputs
    return list(itertools.islice(make("cpu", dtype, requires_grad=requires_grad), max_samples))


def error_inputs_of(op):
    """``op.error_inputs("cpu")`` as a list."""
    return list(op.error_inputs("cpu"))


def op_id(op) -> str:
    """``name`` or ``name.variant_test_name``: unique over op_db."""
    return op.name + ("." + op.variant_test_name if op.variant_test_name else "")


# Which sweep an OpInfo belongs to (tests/parity/test_s13_O[A-D]_opinfo.py), one rule for all
# four so that every op lands in exactly one: ufuncs (OA); nn.functional / fft / masked / signal
# / sparse (OC); linalg and the reductions, sorting, statistics, creation, random, complex
# families by deltagrad's implementing module (OB); shape, views, indexing, copies (OD). An op
# deltagrad lacks, or one whose op is a lambda of PyTorch's test tree, goes by name (< "m": OB).
_OB_MODULES = ("reductions", "moments", "sorting", "statistics", "cumulative", "norms", "creation",
               "factories", "complex", "random", "aten_forms", "attributes", "_toplevel",
               "spaced", "softmax")  # (softmax: api.reductions' softmax block, moved in s29)
_OB_PREFIXES = ("linalg", "decompositions", "pointwise")


def group(op) -> str:
    """``"OA"``, ``"OB"``, ``"OC"`` or ``"OD"``: the sweep that covers ``op``."""
    if type(op).__name__ in ("UnaryUfuncInfo", "BinaryUfuncInfo"):
        return "OA"
    if (op.name.split(".")[0] in ("nn", "fft", "masked", "signal", "sparse")
            or type(op).__name__ == "SpectralFuncInfo"):
        return "OC"
    if op.name.startswith("linalg."):
        return "OB"
    fn = resolve(op, "function")
    lam = fn is None or (isinstance(op.op, types.FunctionType)
                         and (op.op.__module__ or "").startswith("torch.testing"))
    if lam:
        return "OB" if op.name < "m" else "OD"
    module = (getattr(fn, "__module__", "") or "").split(".")[-1]
    return "OB" if module in _OB_MODULES or module.startswith(_OB_PREFIXES) else "OD"


def ops_named(*names):
    wanted = set(names)
    return [op for op in op_db() if op_id(op) in wanted or op.name in wanted]


# --------------------------------------------------------------------------- conversion


class Unconvertible(Exception):
    """A sample argument deltagrad has no counterpart for (a torch.Generator, a sparse layout)."""


def dg_dtype(dtype):
    return getattr(dg, str(dtype).split(".")[-1])


def _array_to_dg(base):
    base = base.resolve_conj().resolve_neg()  # (PyTorch's lazy conj / neg views: their values)
    if base.dtype == torch.bfloat16:
        return dg.tensor(base.float().numpy()).to(dg.bfloat16)
    return dg.tensor(base.numpy().copy(), dtype=dg_dtype(base.dtype))


def _strided_view(t, memo):
    """``t`` as a deltagrad view with PyTorch's sizes, strides and storage offset into a copy
    of its whole storage, shared by every sample tensor on that storage (a tensor that is its
    whole storage, contiguous from 0, is that copy itself); None for an empty tensor."""
    count = t.untyped_storage().nbytes() // t.element_size()
    if t.numel() == 0:
        return None
    key = ("storage", t.untyped_storage().data_ptr(), t.dtype)
    whole = t.is_contiguous() and t.storage_offset() == 0 and count == t.numel()
    if key not in memo:
        memo[key] = _array_to_dg(t.detach().reshape(-1) if whole else
                                 torch.as_strided(t.detach(), (count,), (1,), 0))
    if whole:
        return dg.reshape(memo[key], tuple(t.shape))
    return dg.as_strided(memo[key], tuple(t.shape), t.stride(), t.storage_offset())


def _tensor_to_dg(t, memo, views=False):
    key = id(t)
    if key in memo:
        return memo[key]
    if t.layout != torch.strided:
        raise Unconvertible(f"layout {t.layout}")
    if t.dtype in (torch.complex32, torch.float8_e4m3fn, torch.float8_e5m2) or t.is_quantized:
        raise Unconvertible(f"dtype {t.dtype}")
    out = _strided_view(t, memo) if views else None
    if out is None:
        out = _array_to_dg(t.detach())
    if t.requires_grad:
        out.requires_grad_(True)
    memo[key] = out
    return out


def to_dg(obj, memo=None, views=False):
    """Convert a sample's input / args / kwargs (nested) to deltagrad objects. ``views=True``
    keeps each tensor's strides and storage offset: a non-contiguous sample tensor, or a view
    into a larger storage, becomes a deltagrad view of a copy of that storage (as_strided's
    partial views need the elements outside the view)."""
    memo = {} if memo is None else memo
    if isinstance(obj, torch.Tensor):
        return _tensor_to_dg(obj, memo, views)
    if isinstance(obj, torch.dtype):
        return dg_dtype(obj)
    if isinstance(obj, torch.Size):
        return dg.Size(obj) if hasattr(dg, "Size") else tuple(obj)
    if isinstance(obj, torch.device):
        return dg.device(str(obj))
    if isinstance(obj, torch.memory_format):
        return getattr(dg, str(obj).split(".")[-1])
    if isinstance(obj, torch.layout):
        if obj != torch.strided:
            raise Unconvertible(f"layout {obj}")
        return dg.strided
    if isinstance(obj, torch.Generator):
        raise Unconvertible("torch.Generator")
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(to_dg(x, memo, views) for x in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_dg(x, memo, views) for x in obj)
    if isinstance(obj, dict):
        return {k: to_dg(v, memo, views) for k, v in obj.items()}
    if callable(obj) and getattr(obj, "__module__", "").startswith("torch"):
        raise Unconvertible(f"callable {obj!r}")
    return obj


def to_numpy(obj):
    """Outputs of either library as nested tuples of NumPy arrays / Python values."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach()
        if t.layout != torch.strided:
            t = t.to_dense()
        if t.dtype == torch.bfloat16:
            return ("bfloat16", t.float().numpy(force=True).copy())
        return (str(t.dtype).split(".")[-1], t.numpy(force=True).copy())
    if isinstance(obj, dg.Tensor):
        t = obj.detach()
        if getattr(t, "layout", dg.strided) != dg.strided:  # (as PyTorch's above)
            t = t.to_dense()
        name = str(t.dtype).split(".")[-1]
        if name == "bfloat16":
            return (name, t.float().numpy().copy())
        return (name, np.array(t.numpy(), copy=True))
    if isinstance(obj, (torch.dtype,)) or type(obj).__name__ == "dtype":
        return ("dtype", str(obj).split(".")[-1])
    if isinstance(obj, (list, tuple)):
        return tuple(to_numpy(x) for x in obj)
    if isinstance(obj, torch.Size) or type(obj).__name__ == "Size":
        return tuple(obj)
    return obj


# --------------------------------------------------------------------------- comparison

TOL = {  # (rtol, atol) by result dtype
    "float64": (1e-7, 1e-7), "complex128": (1e-7, 1e-7),
    "float32": (1.3e-5, 1e-5), "complex64": (1.3e-5, 1e-5),
    "float16": (1e-3, 1e-3), "bfloat16": (1.6e-2, 1e-2),
}


def compare(expected, actual, tol_scale=1.0, path="out"):
    """None if the converted results agree, else a short description of the first difference."""
    if isinstance(expected, tuple) and len(expected) == 2 and isinstance(expected[1], np.ndarray):
        if not (isinstance(actual, tuple) and len(actual) == 2
                and isinstance(actual[1], np.ndarray)):
            return f"{path}: tensor expected, got {type(actual).__name__}"
        (edt, e), (adt, a) = expected, actual
        if edt != adt:
            return f"{path}: dtype {adt} (PyTorch {edt})"
        if e.shape != a.shape:
            return f"{path}: shape {a.shape} (PyTorch {e.shape})"
        if e.size == 0:
            return None
        if edt in TOL:
            rtol, atol = (x * tol_scale for x in TOL[edt])
            if not np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
                bad = ~np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
                i = np.argwhere(bad)[0]
                return (f"{path}: values differ at {tuple(int(x) for x in i)}: {a[tuple(i)]!r} "
                        f"(PyTorch {e[tuple(i)]!r}; {int(bad.sum())} of {e.size})")
            return None
        if not np.array_equal(a, e):
            bad = a != e
            i = np.argwhere(bad)[0]
            return (f"{path}: values differ at {tuple(int(x) for x in i)}: {a[tuple(i)]!r} "
                    f"(PyTorch {e[tuple(i)]!r})")
        return None
    if isinstance(expected, tuple):
        if not isinstance(actual, tuple) or len(actual) != len(expected):
            return f"{path}: {len(expected)}-tuple expected, got {type(actual).__name__}"
        for k, (e, a) in enumerate(zip(expected, actual)):
            msg = compare(e, a, tol_scale, f"{path}[{k}]")
            if msg:
                return msg
        return None
    if isinstance(expected, float) and isinstance(actual, (float, int)):
        if math.isclose(expected, actual, rel_tol=1e-6 * tol_scale, abs_tol=1e-7) or (
                math.isnan(expected) and math.isnan(actual)):
            return None
        return f"{path}: {actual!r} (PyTorch {expected!r})"
    if expected != actual:
        return f"{path}: {actual!r} (PyTorch {expected!r})"
    return None


# --------------------------------------------------------------------------- resolution


def _rebind(fn):
    """A lambda from PyTorch's test tree, with its global ``torch`` replaced by deltagrad."""
    glb = dict(fn.__globals__)
    glb["torch"] = dg
    if "F" in glb:
        glb["F"] = dg.nn.functional
    return types.FunctionType(fn.__code__, glb, fn.__name__, fn.__defaults__, fn.__closure__)


def _dg_named(fn):
    """deltagrad's object of the same dotted name as a PyTorch function (torch.nn.functional.mish
    -> deltagrad.nn.functional.mish), or None."""
    module = getattr(fn, "__module__", "") or ""
    if module != "torch" and not module.startswith("torch."):
        return None
    obj = dg
    for part in module.split(".")[1:] + [fn.__name__]:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def resolve(op, variant="function"):
    """deltagrad's counterpart of one variant of an OpInfo: a callable taking (input, *args), or
    None when deltagrad has no such name."""
    if variant in ("method", "inplace"):
        # A lambda from PyTorch's tree (F.leaky_relu(x, inplace=True)): run it on deltagrad.
        fn = op.method_variant if variant == "method" else op.inplace_variant
        if isinstance(fn, types.FunctionType) and fn.__name__ == "<lambda>" and (
                getattr(fn, "__module__", "") or "").startswith("torch.testing"):
            return _rebind(fn)
        if isinstance(fn, functools.partial):  # partial(F.mish, inplace=True)
            base = _dg_named(fn.func)
            return None if base is None else functools.partial(base, *fn.args, **fn.keywords)
    if variant == "method":
        if op.method_variant is None:
            return None
        name = op.method_variant.__name__
        return lambda x, *a, **k: getattr(x, name)(*a, **k)
    if variant == "inplace":
        if op.inplace_variant is None:
            return None
        name = op.inplace_variant.__name__
        return lambda x, *a, **k: getattr(x, name)(*a, **k)
    fn = op.op
    if getattr(fn, "__objclass__", None) is torch._C.TensorBase:  # Tensor.cfloat: a method
        name = fn.__name__
        return lambda x, *a, **k: getattr(x, name)(*a, **k)
    module = getattr(fn, "__module__", "") or ""
    if isinstance(fn, types.FunctionType) and module.startswith("torch.testing"):
        return _rebind(fn)
    if op.name.startswith("__") or op.name in ("T", "H", "mT", "mH"):
        return lambda x, *a, **k: getattr(x, op.name)(*a, **k) if not op.name.isalpha() else \
            getattr(x, op.name)
    obj = dg
    for part in op.name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


# --------------------------------------------------------------------------- one sample


@dataclasses.dataclass
class Diff:
    op: str
    variant: str
    dtype: str
    kind: str      # "missing", "value", "dg_raises", "torch_raises", "grad", "grad_missing"
    sample: str
    detail: str

    def key(self):
        return (self.op, self.variant, self.kind)


def describe(sample) -> str:
    def d(x):
        if isinstance(x, torch.Tensor):
            nc = x.layout == torch.strided and not x.is_contiguous()
            return f"T{tuple(x.shape)}{str(x.dtype)[6:]}" + ("nc" if nc else "")
        if isinstance(x, (list, tuple)):
            return "[" + ",".join(d(y) for y in x) + "]"
        return repr(x)[:30]
    parts = [d(sample.input)] + [d(a) for a in sample.args]
    parts += [f"{k}={d(v)}" for k, v in sample.kwargs.items()]
    return "(" + ", ".join(parts) + ")"


def _torch_variant(op, variant):
    return {"function": op.op, "method": op.method_variant, "inplace": op.inplace_variant}[variant]


def _grad_leaves(obj, out):
    if isinstance(obj, torch.Tensor):
        if obj.requires_grad and obj.is_leaf:
            out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            _grad_leaves(x, out)
    elif isinstance(obj, dict):
        for x in obj.values():
            _grad_leaves(x, out)
    return out


def _flat_tensors(obj, cls, out):
    if isinstance(obj, cls):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            _flat_tensors(x, cls, out)
    return out


def run_sample(op, sample, variant="function", grad=True, tol_scale=1.0, views=False):
    """Compare one sample; returns None when both libraries agree, else (kind, detail).
    ``views``: see ``to_dg``."""
    t_fn = _torch_variant(op, variant)
    d_fn = resolve(op, variant)
    if d_fn is None:
        return ("missing", "no deltagrad counterpart")
    if variant == "inplace":
        sample = sample.transform(
            lambda t: t.detach().clone() if isinstance(t, torch.Tensor) else t)
        grad = False
    try:
        memo = {}
        d_in = to_dg(sample.input, memo, views)
        d_args = to_dg(sample.args, memo, views)
        d_kwargs = to_dg(sample.kwargs, memo, views)
    except Unconvertible as exc:
        return ("unconvertible", str(exc))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            t_out = t_fn(sample.input, *sample.args, **sample.kwargs)
        except Exception as exc:  # noqa: BLE001 - any PyTorch refusal is the reference
            try:
                d_fn(d_in, *d_args, **d_kwargs)
            except Exception:  # noqa: BLE001
                return None
            return ("torch_raises", f"PyTorch {type(exc).__name__}: {str(exc)[:120]}")
        try:
            d_out = d_fn(d_in, *d_args, **d_kwargs)
        except Exception as exc:  # noqa: BLE001
            return ("dg_raises", f"{type(exc).__name__}: {str(exc)[:160]}")
    msg = compare(to_numpy(t_out), to_numpy(d_out), tol_scale)
    if msg:
        return ("value", msg)
    if variant == "inplace":
        msg = compare(to_numpy(sample.input), to_numpy(d_in), tol_scale, "self")
        return ("value", msg) if msg else None
    if not grad:
        return None
    t_leaves = _grad_leaves((sample.input, sample.args, sample.kwargs), [])
    if not t_leaves:
        return None
    t_proc = sample.output_process_fn_grad(t_out)
    t_outs = [t for t in _flat_tensors(t_proc, torch.Tensor, [])
              if t.requires_grad and (t.dtype.is_floating_point or t.dtype.is_complex)]
    if not t_outs:
        return None
    try:
        d_proc = sample.output_process_fn_grad(d_out)
    except Exception as exc:  # noqa: BLE001 - the processing lambda is written for torch
        return ("grad_unchecked", f"output_process_fn_grad: {type(exc).__name__}")
    d_outs = [t for t in _flat_tensors(d_proc, dg.Tensor, []) if t.requires_grad]
    if len(d_outs) != len(t_outs):
        return ("grad", f"{len(d_outs)} differentiable outputs (PyTorch {len(t_outs)})")
    rng = np.random.default_rng(0)
    t_cots = [torch.from_numpy(rng.standard_normal(tuple(t.shape))).to(t.dtype)
              if not t.dtype.is_complex else
              torch.complex(*(torch.from_numpy(rng.standard_normal(tuple(t.shape))) for _ in "ri")
                            ).to(t.dtype) for t in t_outs]
    try:
        t_grads = torch.autograd.grad(t_outs, t_leaves, t_cots, allow_unused=True)
    except Exception:  # noqa: BLE001 - not differentiable in PyTorch either
        return None
    d_leaves = [memo[id(t)] for t in t_leaves]
    d_cots = [to_dg(c) for c in t_cots]
    try:
        d_grads = dg.autograd.grad(d_outs, d_leaves, d_cots, allow_unused=True)
    except Exception as exc:  # noqa: BLE001
        return ("grad", f"backward raises {type(exc).__name__}: {str(exc)[:160]}")
    for k, (tg, dgr) in enumerate(zip(t_grads, d_grads)):
        if tg is None and dgr is None:
            continue
        if tg is None or dgr is None:
            if tg is not None and not bool((tg == 0).all()):
                return ("grad", f"grad[{k}] is None (PyTorch has one)")
            continue
        msg = compare(to_numpy(tg), to_numpy(dgr), tol_scale * 10, f"grad[{k}]")
        if msg:
            return ("grad", msg)
    return None


def sweep(ops, dtypes=(torch.float32,), variants=("function", "method", "inplace"), grad=True,
          max_samples=None, tol_scale=1.0, inputs="sample", views=False):
    """Every sample of every op in every listed dtype it supports, as a list of Diff.
    ``inputs="reference"`` runs ``op.reference_inputs`` (sample_inputs plus more: extremal
    values for ufuncs) instead of ``op.sample_inputs``; ``views=True`` converts sample tensors
    with their strides and storage offsets (see ``to_dg``)."""
    diffs = []
    for op in ops:
        supported = op.supported_dtypes("cpu")
        for dtype in dtypes:
            if dtype not in supported:
                continue
            rg = grad and (dtype.is_floating_point or dtype.is_complex) and op.supports_autograd
            try:
                samples = samples_of(op, dtype, rg, inputs, max_samples)
            except Exception as exc:  # noqa: BLE001 - a generator needing a missing extra
                diffs.append(Diff(op_id(op), "-", str(dtype)[6:], "no_samples", "", repr(exc)))
                continue
            for variant in variants:
                if _torch_variant(op, variant) is None:
                    continue
                for sample in samples:
                    try:
                        res = run_sample(op, sample, variant, grad=rg, tol_scale=tol_scale,
                                         views=views)
                    except Exception as exc:  # noqa: BLE001 - reported, never hidden
                        res = ("harness", f"{type(exc).__name__}: {str(exc)[:160]}")
                    if res is not None:
                        diffs.append(Diff(op_id(op), variant, str(dtype)[6:], res[0],
                                          describe(sample), res[1]))
                        if res[0] == "missing":
                            break
    return diffs


def run_error_input(op, err, views=False):
    """PyTorch's ErrorInput: deltagrad must raise too. None if it does (with the same class),
    else (kind, detail). ``views``: see ``to_dg`` (an expanded ``out=``)."""
    s = err.sample_input
    try:
        memo = {}
        d_in, d_args, d_kwargs = (to_dg(s.input, memo, views), to_dg(s.args, memo, views),
                                  to_dg(s.kwargs, memo, views))
    except Unconvertible as exc:
        return ("unconvertible", str(exc))
    d_fn = resolve(op, "function")
    if d_fn is None:
        return ("missing", "no deltagrad counterpart")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            d_fn(d_in, *d_args, **d_kwargs)
        except Exception as exc:  # noqa: BLE001
            if isinstance(exc, err.error_type):
                return None
            return ("exc_class", f"{type(exc).__name__} (PyTorch {err.error_type.__name__}): "
                    f"{str(exc)[:120]}")
    return ("silent", f"no error (PyTorch {err.error_type.__name__}: {err.error_regex[:100]})")
