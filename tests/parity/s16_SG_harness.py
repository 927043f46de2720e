"""Keyword arguments and defaults of deltagrad's public API against PyTorch's own signatures.

Two sources of truth, one per kind of API:

- torch.* functions and Tensor methods are C++ bindings without a Python signature: their
  argument names, defaults and keyword-only marks come from the ATen schemas
  (``torch._C._jit_get_all_schemas()``; ``self`` is ``input`` in the function form). The static
  comparison only proposes cases: each (function, keyword, value) is then CALLED in PyTorch on an
  OpInfo sample (tests/parity/opinfo_harness.py), and, where PyTorch accepts it, in deltagrad the
  same way, and the two results are compared (values, dtype, shape, which library raised).
  Each keyword is passed twice: with the schema's default (a missing keyword is a crash) and,
  for booleans, with the other value (a keyword accepted and ignored is a silent wrong answer).
- Python-level APIs (torch.nn.functional, nn Modules, optim, lr_scheduler, utils.data,
  nn.utils, nn.init, distributions, autograd, func, save/load) have real signatures on both
  sides: ``inspect.signature`` gives names, kinds and default VALUES to compare directly.

The test file (test_s16_SG_signatures.py) keeps a KNOWN table of the differences that stay.
"""
from __future__ import annotations

import collections
import dataclasses
import functools
import inspect
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402

# --------------------------------------------------------------------------- ATen schemas

# Keywords the call sweep does not pass: outputs and devices (their own sweeps:
# test_s8_L2_creation_out.py, test_parity_dtypes_devices.py), random generators (deltagrad's
# are NumPy Generators, not convertible) and named-tensor names (not in deltagrad).
SKIPPED_KEYWORDS = {"out", "device", "generator", "names"}


@functools.cache
def schemas():
    """ATen schemas by op name (``aten::std`` -> ``"std"``), every overload."""
    table = collections.defaultdict(list)
    for s in torch._C._jit_get_all_schemas():
        if s.name.startswith("aten::"):
            table[s.name[6:]].append(s)
    return dict(table)


def python_signature(fn):
    """``inspect.signature(fn)`` or None (C bindings have none)."""
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def schema_arguments(name: str, method: bool):
    """{argument name: [(overload, position, default, kwarg_only, type string)]} over the
    overloads of ``aten::name``; ``self`` is dropped for methods and called ``input`` for
    functions (the Python bindings' spelling)."""
    out = {}
    for s in schemas().get(name, ()):
        pos = 0
        for a in s.arguments:
            arg = a.name
            if arg == "self":
                if method:
                    continue
                arg = "input"
            out.setdefault(arg, []).append(
                (s.overload_name, pos, a.default_value, a.kwarg_only, str(a.type)))
            pos += 1
    return out


def bound_functions():
    """[(label, torch callable, deltagrad callable, schema name, method)] for every torch.* C
    function and Tensor method that deltagrad also has and ATen describes."""
    table = schemas()
    out = []
    for name in sorted(dir(torch)):
        if name.startswith("_") or name not in table:
            continue
        ours = getattr(dg, name, None)
        theirs = getattr(torch, name, None)
        if ours is None or not callable(theirs) or python_signature(theirs) is not None:
            continue
        out.append(("torch." + name, theirs, ours, name, False))
    for name in sorted(dir(torch.Tensor)):
        if name.startswith("_") or name not in table:
            continue
        ours = getattr(dg.Tensor, name, None)
        theirs = getattr(torch.Tensor, name, None)
        if ours is None or not callable(theirs) or python_signature(theirs) is not None:
            continue
        out.append(("Tensor." + name, theirs, ours, name, True))
    # torch.nn.functional's C bindings (conv2d, gelu, scaled_dot_product_attention, ...) and
    # its (*args, **kwargs) dispatchers (max_pool2d): no signature to read, ATen's schema.
    for name in sorted(dir(torch.nn.functional)):
        theirs = getattr(torch.nn.functional, name, None)
        ours = getattr(dg.nn.functional, name, None)
        if name.startswith("_") or name not in table or ours is None or not callable(theirs):
            continue
        sig = python_signature(theirs)
        if sig is not None and not all(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                                       for p in sig.parameters.values()):
            continue
        out.append(("F." + name, theirs, ours, name, False))
    # torch.linalg / fft / special: C bindings of ATen's linalg_*, fft_*, special_* ops.
    for space in ("linalg", "fft", "special"):
        for name in sorted(dir(getattr(torch, space))):
            theirs = getattr(getattr(torch, space), name, None)
            ours = getattr(getattr(dg, space), name, None)
            aten = f"{space}_{name}"
            if (name.startswith("_") or aten not in table or ours is None or not callable(theirs)
                    or python_signature(theirs) is not None):
                continue
            out.append((f"{space}.{name}", theirs, ours, aten, False))
    return out


_NO_OTHER = object()


def alternatives(default, type_string):
    """The values each keyword is called with: the schema default, and one other value of its
    type (a keyword accepted and ignored is a silent wrong answer only another value shows)."""
    values = [default]
    other = _NO_OTHER
    if type_string == "bool" and isinstance(default, bool):
        other = not default
    elif type_string in ("int", "SymInt") and isinstance(default, int):
        other = {-1: 0, 0: 1}.get(default, default + 1)
    elif type_string in ("float", "number") and isinstance(default, (int, float)):
        other = default * 2 if default else 0.5
    elif default is None:
        other = {"Optional[int]": 0, "Optional[SymInt]": 0, "Optional[number]": 0,
                 "Optional[float]": 0.5, "Optional[List[int]]": [0],
                 "Optional[bool]": True}.get(type_string, _NO_OTHER)
    elif type_string in ("List[int]", "List[SymInt]") and default == []:
        other = [0]
    if other is not _NO_OTHER:
        values.append(other)
    return values


def keyword_cases(name: str, method: bool, n_positional: int, given: set[str]):
    """(keyword, value) pairs to try on top of a call that passes ``n_positional`` arguments
    after ``input`` and the keywords ``given``: every schema argument with a default that lies
    beyond the positional ones in at least one overload."""
    cases = []
    for arg, occ in schema_arguments(name, method).items():
        if arg in SKIPPED_KEYWORDS or arg in given or arg == "input":
            continue
        first = 0 if method else 1
        usable = [o for o in occ if o[1] >= first + n_positional]
        if not usable:
            continue
        for _overload, _pos, default, _kwonly, type_string in usable:
            if default is None and not type_string.startswith("Optional"):
                continue  # a required argument of this overload
            for value in alternatives(default, type_string):
                # (type-aware: 1 and True, 0 and False are different calls)
                if not any(a == arg and type(v) is type(value) and v == value
                           for a, v in cases):
                    cases.append((arg, value))
    return cases


# --------------------------------------------------------------------------- calls


def _run(fn, args, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(*args, **kwargs), None
        except Exception as exc:  # noqa: BLE001 - which library raises is the comparison
            return None, exc


def _same_twice(t_fn, t_args, t_kwargs, first):
    """Whether PyTorch gives the same result again under another seed (random and
    uninitialised results are compared by dtype and shape only)."""
    from opinfo_harness import compare, to_numpy
    torch.manual_seed(1)
    again, exc = _run(t_fn, _clone(t_args), _clone(t_kwargs))
    return exc is None and compare(to_numpy(first), to_numpy(again)) is None


def _shapes_only(obj):
    from opinfo_harness import to_numpy
    out = to_numpy(obj)

    def strip(x):
        if isinstance(x, tuple) and len(x) == 2 and isinstance(x[1], np.ndarray):
            return (x[0], x[1].shape)
        if isinstance(x, tuple):
            return tuple(strip(y) for y in x)
        return type(x).__name__
    return strip(out)


def call_both(t_fn, d_fn, t_args, t_kwargs, uninitialised=False):
    """Call PyTorch, and if it accepts the call, deltagrad with the converted arguments.
    Returns None when both agree (or PyTorch refuses), else (kind, detail).
    ``uninitialised``: the op's values are whatever memory held (new_empty): dtype and shape
    only."""
    from opinfo_harness import Unconvertible, compare, to_dg, to_numpy
    try:
        memo = {}
        d_args = to_dg(t_args, memo)
        d_kwargs = to_dg(t_kwargs, memo)
    except Unconvertible:
        return None
    torch.manual_seed(0)
    t_out, t_exc = _run(t_fn, _clone(t_args), _clone(t_kwargs))
    if t_exc is not None:
        return None  # PyTorch does not take this combination: nothing to compare
    d_out, d_exc = _run(d_fn, d_args, d_kwargs)
    if d_exc is not None:
        return ("dg_raises", f"{type(d_exc).__name__}: {str(d_exc)[:140]}")
    if uninitialised or not _same_twice(t_fn, t_args, t_kwargs, t_out):
        e, a = _shapes_only(t_out), _shapes_only(d_out)
        return None if e == a else ("value", f"dtype/shape {a} (PyTorch {e})")
    msg = compare(to_numpy(t_out), to_numpy(d_out))
    return ("value", msg) if msg else None


def _clone(x):
    if isinstance(x, torch.Tensor):
        return x.detach().clone()
    if isinstance(x, dict):
        return {k: _clone(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
        return type(x)(_clone(y) for y in x)
    return x


def _clone_args(sample):
    def c(x):
        if isinstance(x, torch.Tensor):
            return x.detach().clone()
        if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
            return type(x)(c(y) for y in x)
        return x
    return c(sample.input), c(tuple(sample.args)), {k: c(v) for k, v in sample.kwargs.items()}


@functools.cache
def ops_by_name():
    from opinfo_harness import op_db
    table = {}
    for op in op_db():
        table.setdefault(op.name, op)
    return table


def first_samples(op, limit=2):
    """The first float32 (else float64 / int64 / bool) samples of an OpInfo, no autograd."""
    from opinfo_harness import samples_of
    for dtype in (torch.float32, torch.float64, torch.int64, torch.bool):
        if dtype in op.supported_dtypes("cpu"):
            try:
                return samples_of(op, dtype, False, max_samples=limit)
            except Exception:  # noqa: BLE001 - a generator needing a missing extra
                return []
    return []


def positional_names(name: str, method: bool, n_positional: int):
    """For each overload with room for ``n_positional`` positional arguments after ``input``:
    their schema names (the keyword spelling of a positional call)."""
    out = []
    for s in schemas().get(name, ()):
        args = [a for a in s.arguments if not a.kwarg_only]
        if args and args[0].name == "self":
            args = args[1:]
        if len(args) >= n_positional and n_positional:
            names = tuple(a.name for a in args[:n_positional])
            if names not in out:
                out.append(names)
    return out


@dataclasses.dataclass
class Sample:
    """The parts of OpInfo's SampleInput the keyword calls use (without importing PyTorch's
    test tree, seconds of the quick sweep)."""
    input: object
    args: tuple = ()
    kwargs: dict = dataclasses.field(default_factory=dict)


def _synthetic_sample():
    """A (3, 4) float32 input without arguments, for ops PyTorch's OpInfo lacks."""
    g = torch.Generator().manual_seed(0)
    return Sample(torch.rand((3, 4), generator=g) + 0.5)


_SCALARS = {"int": 1, "SymInt": 1, "float": 0.5, "number": 0.5, "bool": True}


def synthetic_samples(name: str, method: bool):
    """The synthetic input alone, and with the required arguments of each overload whose
    required arguments after ``self`` are all scalars (1 for an int: a dim or a size of the
    (3, 4) input; 0.5 for a float): the "by name" calls need positional ones to name."""
    base = _synthetic_sample()
    out = [base]
    for s in schemas().get(name, ()):
        args = [a for a in s.arguments if not a.kwarg_only]
        if not args or args[0].name != "self":
            continue
        required = [a for a in args[1:] if a.default_value is None
                    and not str(a.type).startswith("Optional")]
        types = [str(a.type) for a in required]
        if required and all(t in _SCALARS for t in types):
            values = tuple(_SCALARS[t] for t in types)
            if all(tuple(o.args) != values for o in out):
                out.append(sample(*values))
    return out


def keyword_calls(label, name, method, samples):
    """[(keyword description, args, kwargs)] for one bound function over its samples: each
    defaulted keyword passed explicitly, and the positional arguments passed by name."""
    calls = []
    for sample in samples:
        x, args, kwargs = _clone_args(sample)
        for arg, value in keyword_cases(name, method, len(args), set(kwargs)):
            calls.append((f"{arg}={value!r}", (x, *args), dict(kwargs, **{arg: value})))
        for names in positional_names(name, method, len(args)):
            if set(names) & set(kwargs) or "self" in names:
                continue
            calls.append(("by name " + ",".join(names), (x,),
                          dict(kwargs, **dict(zip(names, args)))))
    return calls


def sample(*args, **kwargs):
    """A Sample on the synthetic (3, 4) float32 input (positive values, no ties)."""
    return Sample(_synthetic_sample().input, args, kwargs)


def sweep_keywords(labels=None, samples_per_op=3, samples=None):
    """Every keyword call (keyword_calls) that PyTorch accepts on OpInfo samples (a synthetic
    (3, 4) input for ops the OpInfo list lacks), run through deltagrad. ``samples``: {op name:
    [SampleInput]} to use instead of OpInfo's (the quick sweep: importing op_db takes seconds).
    Returns (n_functions, n_calls, [(label, call, kind, detail)])."""
    ops = {} if samples is not None else ops_by_name()
    diffs = []
    n_calls = n_functions = 0
    for label, t_fn, d_fn, name, method in bound_functions():
        if labels is not None and label not in labels:
            continue
        if samples is not None:
            if name not in samples:
                continue
            these = samples[name]
        else:
            op = ops.get("nn.functional." + name if label.startswith("F.") else
                         label if label.startswith(("linalg.", "fft.", "special.")) else name)
            # OpInfo's samples pass some keywords by position; the synthetic ones leave them to
            # the keyword calls (roll's dims=[] was found only so).
            these = (first_samples(op, samples_per_op) if op is not None else []) + \
                synthetic_samples(name, method)
        if method:
            def tf(x, *a, _name=name, **k):
                return getattr(x, _name)(*a, **k)
            df = tf
        else:
            tf, df = t_fn, d_fn
        n_functions += 1
        seen = set()
        for what, args, kwargs in keyword_calls(label, name, method, these):
            n_calls += 1
            res = call_both(tf, df, args, kwargs, uninitialised="empty" in name)
            if res is not None and (label, what) not in seen:
                seen.add((label, what))
                diffs.append((label, what, *res))
    return n_functions, n_calls, diffs


# --------------------------------------------------------------------------- Python signatures

SURFACES = ("nn.functional", "nn.init", "optim", "optim.lr_scheduler", "utils.data", "nn.utils",
            "nn.utils.rnn", "nn.utils.parametrize", "nn.utils.parametrizations", "autograd",
            "autograd.functional", "func", "distributions", "nn")
# Methods compared on the classes of each surface, besides __init__.
METHODS = ("forward", "step", "zero_grad", "state_dict", "load_state_dict", "add_param_group",
           "named_parameters", "named_buffers", "named_modules", "parameters", "to",
           "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
           "sample", "rsample", "log_prob", "expand", "get_last_lr")
TOP_LEVEL = ("save", "load")


def _dotted(root, path):
    obj = root
    for part in path.split(".") if path else ():
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def python_pairs():
    """[(label, torch callable, deltagrad callable)] over SURFACES, METHODS and TOP_LEVEL."""
    pairs = []
    for surface in SURFACES:
        tm, dm = _dotted(torch, surface), _dotted(dg, surface)
        if tm is None or dm is None:
            continue
        for name in sorted(dir(tm)):
            if name.startswith("_"):
                continue
            theirs, ours = getattr(tm, name), getattr(dm, name, None)
            if ours is None:
                continue
            if inspect.isclass(theirs):
                if surface == "nn" and not issubclass(theirs, torch.nn.Module):
                    continue
                pairs.append((f"{surface}.{name}.__init__", theirs.__init__,
                              ours.__init__ if inspect.isclass(ours) else ours))
                for meth in METHODS:
                    t_m, d_m = getattr(theirs, meth, None), getattr(ours, meth, None)
                    if t_m is not None and d_m is not None and meth in theirs.__dict__:
                        pairs.append((f"{surface}.{name}.{meth}", t_m, d_m))
            elif callable(theirs):
                pairs.append((f"{surface}.{name}", theirs, ours))
    for name in TOP_LEVEL:
        pairs.append((name, getattr(torch, name), getattr(dg, name)))
    # torch.* functions and Tensor methods written in Python (torch/functional.py,
    # torch/_tensor.py: unique, stft, norm, split, ...): their own signatures.
    for name in sorted(dir(torch)):
        theirs, ours = getattr(torch, name, None), getattr(dg, name, None)
        if (name.startswith("_") or name in TOP_LEVEL or ours is None or inspect.isclass(theirs)
                or not inspect.isfunction(theirs)
                or not (theirs.__module__ or "").startswith("torch.")):
            continue
        pairs.append((f"torch.{name}", theirs, ours))
    for name in sorted(vars(torch.Tensor)):
        theirs, ours = vars(torch.Tensor)[name], getattr(dg.Tensor, name, None)
        if name.startswith("_") or ours is None or not inspect.isfunction(theirs):
            continue
        pairs.append((f"Tensor.{name}", theirs, ours))
    for meth in METHODS:
        t_m, d_m = getattr(torch.nn.Module, meth, None), getattr(dg.nn.Module, meth, None)
        if t_m is not None and d_m is not None:
            pairs.append((f"nn.Module.{meth}", t_m, d_m))
        t_m, d_m = getattr(torch.optim.Optimizer, meth, None), getattr(dg.optim.Optimizer, meth,
                                                                        None)
        if t_m is not None and d_m is not None:
            pairs.append((f"optim.Optimizer.{meth}", t_m, d_m))
    return pairs


def _same_default(a, b) -> bool:
    if a is b:
        return True
    if callable(a) or callable(b):
        return getattr(a, "__name__", a) == getattr(b, "__name__", b)
    if isinstance(a, tuple) and type(b) is tuple or isinstance(b, tuple) and type(a) is tuple:
        return tuple(a) == tuple(b)  # torch.Size([]) == ()
    try:
        same = a == b
        if isinstance(same, np.ndarray):
            return False
        # 0 and 0.0 mean the same here: both become floats in the computation.
        return bool(same) and (isinstance(a, bool) == isinstance(b, bool))
    except Exception:  # noqa: BLE001 - an object without equality
        return False


def signature_diffs(label, theirs, ours):
    """[(label, parameter, kind, detail)]: kinds ``missing`` (PyTorch's name absent here),
    ``default`` (both have a default, of different value), ``required`` (PyTorch's has a default,
    ours none), ``keyword_only`` (ours keyword-only, PyTorch's positional), ``order`` (the
    positional names in a different order)."""
    ts, ds = python_signature(theirs), python_signature(ours)
    if ts is None or ds is None:
        return []
    tp, dp = ts.parameters, ds.parameters
    if label.startswith("Tensor.") and "self" in tp and "self" not in dp:
        # (the receiver of a method: deltagrad's methods are its functions, first parameter
        # ``input``; nobody passes the receiver by keyword)
        tp = {n: p for n, p in tp.items() if n != "self"}
        dp = {n: p for n, p in list(dp.items())[1:]}
    out = []
    for name, p in tp.items():
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        q = dp.get(name)
        if q is None:
            out.append((label, name, "missing", repr(p.default)[:40]))
            continue
        if p.default is not p.empty:
            if q.default is q.empty:
                out.append((label, name, "required", repr(p.default)[:40]))
            elif not _same_default(p.default, q.default):
                out.append((label, name, "default", f"{q.default!r:.40} (PyTorch "
                            f"{p.default!r:.40})"))
        if p.kind != p.KEYWORD_ONLY and q.kind == q.KEYWORD_ONLY:
            out.append((label, name, "keyword_only", ""))
    tpos = [n for n, p in tp.items() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    dpos = [n for n, p in dp.items() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    for a, b in zip(tpos, dpos):
        if a != b:
            out.append((label, a, "order", f"{dpos} (PyTorch {tpos})"))
            break
    return out


def python_sweep():
    """(n_functions, n_parameters, diffs) over python_pairs()."""
    pairs = python_pairs()
    n_params = 0
    diffs = []
    for label, theirs, ours in pairs:
        s = python_signature(theirs)
        if s is None or python_signature(ours) is None:
            continue
        n_params += len(s.parameters)
        diffs += signature_diffs(label, theirs, ours)
    return len(pairs), n_params, diffs
