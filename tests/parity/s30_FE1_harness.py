"""PyTorch's foreach test lists (``foreach_unary_op_db``, ``foreach_binary_op_db``,
``foreach_pointwise_op_db``, ``foreach_reduce_op_db``, ``foreach_other_op_db`` of
``torch.testing._internal.common_methods_invocations``) run through deltagrad and PyTorch.

Each ``ForeachFuncInfo`` names one ``torch._foreach_<op>`` and a sample generator: lists of
tensors of decreasing sizes (n x n, (n-1) x (n-1), ...), the right-most operand in each form
the op takes (a list of tensors, a number: int / float / complex / bool, a list of numbers, one
0-d tensor), ``alpha=`` where the op has it, norms of every ``ord`` and ``dtype``, zero-size
lists. The lists are read from the installed PyTorch at test time and drawn from a fixed seed
(Python's ``random`` too: the scalars come from it). Every sample runs:

- "out": the out-of-place function: values, dtypes and shapes of the returned tuple, which
  library raised and the exception class;
- "inplace": ``torch._foreach_<op>_`` on clones: the returned object and the list after;
- "grad": out-of-place on leaves that require grad: every leaf's gradient for a seeded
  cotangent of every output;
- "inplace_grad": in place on non-leaf clones of such leaves, then the same gradients;
- "noncontig": the sample drawn with ``noncontiguous=True`` (strided views kept);
- "mixed": the first list's odd-indexed tensors and the other tensor lists' every third one
  cast to another dtype (PyTorch's slow path);
- "scalar_self": ``_foreach_pow(2.5, tensors)`` (a number raised to each tensor) where the op
  takes a number first;
- "errors": lists of unequal lengths, a scalar list one short, an empty list, a tensor where a
  list goes, tensors of unequal shapes: the exception class.

Inputs we did not choose.
"""
from __future__ import annotations

import functools
import random
import warnings

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")

import opinfo_harness as H  # noqa: E402

import deltagrad as dg  # noqa: E402

LISTS = ("foreach_unary_op_db", "foreach_binary_op_db", "foreach_pointwise_op_db",
         "foreach_reduce_op_db", "foreach_other_op_db")
CHECKS = ("out", "inplace", "grad", "inplace_grad", "noncontig", "mixed", "scalar_self",
          "errors")
DTYPES = ("float32", "float64", "float16", "bfloat16", "complex64", "int64", "int32", "int16",
          "int8", "uint8", "bool")
SEED = 0


@functools.cache
def foreach_ops():
    """{"_foreach_add": ForeachFuncInfo, ...} over the five lists, in their order."""
    H.op_db()  # (imports common_methods_invocations; undoes its flag freeze and stack walk)
    from torch.testing._internal import common_methods_invocations as cmi
    out = {}
    for name in LISTS:
        for op in getattr(cmi, name):
            assert op.name not in out, op.name
            out[op.name] = op
    return out


def _tdtype(name):
    return getattr(torch, name)


def samples(name, dtype, grad=False, n_tensors=(5,), noncontiguous=False, zero_size=False):
    """The op's samples for ``dtype`` (a name) from SEED: lists of ``n_tensors`` tensors
    (PyTorch's default is 20 and 23), or its zero-size samples."""
    op = foreach_ops()[name]
    random.seed(SEED)
    torch.manual_seed(SEED)
    dt = _tdtype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if zero_size:
            return _zero_size(op, dt, grad)
        return list(op.sample_inputs_func(op, "cpu", dt, grad,
                                          num_input_tensors=list(n_tensors),
                                          noncontiguous=noncontiguous))


def _zero_size(op, dtype, grad):
    """The op's zero-size samples (every tensor empty), with lists of 3 tensors: PyTorch's
    have 10,000 (``NUM_SIZE0_TENSORS``, set to 3 while they are drawn)."""
    from torch.testing._internal import common_methods_invocations as cmi
    func = getattr(op.sample_inputs_func, "__wrapped__", op.sample_inputs_func)
    if not hasattr(func, "sample_zero_size_tensor_inputs"):
        return []
    count, cmi.NUM_SIZE0_TENSORS = cmi.NUM_SIZE0_TENSORS, 3
    try:
        return list(func.sample_zero_size_tensor_inputs(op, "cpu", dtype, grad))
    finally:
        cmi.NUM_SIZE0_TENSORS = count


def supports(name, dtype, check):
    """Whether ``check`` applies to op ``name`` in ``dtype``."""
    op = foreach_ops()[name]
    dt = _tdtype(dtype)
    if dt not in op.supported_dtypes("cpu"):
        return False
    if check in ("grad", "inplace_grad"):
        if not (dt.is_floating_point or dt.is_complex) or not op.supports_autograd:
            return False
        if check == "inplace_grad" and (op.inplace_variant is None or
                                        not op.supports_inplace_autograd):
            return False
        return op.supports_out  # (zero has no out-of-place form)
    if check == "inplace":
        return op.inplace_variant is not None
    if check == "scalar_self":
        return op.supports_scalar_self_arg
    return op.supports_out or check in ("errors", "noncontig", "mixed")


def sample_id(sample):
    """A short stable description of a sample (its right-most operand's form)."""
    def d(x):
        if isinstance(x, torch.Tensor):
            return f"T{tuple(x.shape)}" + ("" if x.is_contiguous() else "nc")
        if isinstance(x, (list, tuple)):
            kinds = sorted({type(v).__name__ for v in x})
            return f"[{len(x)}x{'/'.join(kinds)}]"
        return f"{type(x).__name__}:{x!r}"[:40]
    parts = [d(sample.input)] + [d(a) for a in sample.args]
    parts += [f"{k}={d(v)}" for k, v in sample.kwargs.items()]
    return "(" + ", ".join(parts) + ")"


def _kwargs(sample):
    return {k: v for k, v in sample.kwargs.items() if k != "disable_fastpath"}


def _exc(fn, *args, **kwargs):
    """(fn(*args, **kwargs), None), or (None, the exception it raised)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(*args, **kwargs), None
        except Exception as exc:  # noqa: BLE001 - either library's refusal is compared
            return None, exc


def _raised(t_err, d_err):
    if t_err is None and d_err is None:
        return None
    if t_err is None:
        return f"deltagrad raised {type(d_err).__name__}: {str(d_err)[:160]}"
    if d_err is None:
        return f"PyTorch raised {type(t_err).__name__}: {str(t_err)[:120]}, deltagrad did not"
    if not isinstance(d_err, type(t_err)):
        return (f"{type(d_err).__name__}: {str(d_err)[:120]} "
                f"(PyTorch {type(t_err).__name__}: {str(t_err)[:100]})")
    return None


def _tol(dtype):
    return {"float16": 2.0, "bfloat16": 2.0}.get(dtype, 1.0)


def _leaves(obj, out):
    if isinstance(obj, torch.Tensor):
        if obj.requires_grad and obj.is_leaf and all(x is not obj for x in out):
            out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            _leaves(x, out)
    elif isinstance(obj, dict):
        for x in obj.values():
            _leaves(x, out)
    return out


def _clone_list(obj, lib):
    return [t.clone() for t in obj]


def _mixed(sample):
    """(first list, args) of ``sample`` with the first list's odd-indexed tensors and every
    tensor list's third ones cast to another dtype (PyTorch's slow path), or None."""
    first = sample.input
    if not isinstance(first, list) or len(first) < 2:
        return None
    other = {torch.float32: torch.float64, torch.float64: torch.float32,
             torch.float16: torch.float32, torch.bfloat16: torch.float32,
             torch.complex64: torch.complex128, torch.bool: torch.int64}.get(
        first[0].dtype, torch.float32)

    def cast(tensors, pick):
        return [t.detach().to(other).requires_grad_(t.requires_grad) if pick(k) else t
                for k, t in enumerate(tensors)]

    args = [cast(a, lambda k: k % 3 == 2) if isinstance(a, list) and all(
        isinstance(t, torch.Tensor) for t in a) else a for a in sample.args]
    return cast(first, lambda k: k % 2 == 1), tuple(args)


def run_sample(name, sample, check, dtype):
    """None when deltagrad agrees with PyTorch on one sample and check, else the difference."""
    op = foreach_ops()[name]
    kwargs = _kwargs(sample)
    inplace = check in ("inplace", "inplace_grad")
    t_fn = op.inplace_variant if inplace else op.op
    d_fn = getattr(dg, t_fn.__name__, None)
    if d_fn is None:
        return f"missing: deltagrad has no {t_fn.__name__}"
    first, args = sample.input, sample.args
    if check == "mixed":
        if _mixed(sample) is None:
            return None
        first, args = _mixed(sample)
    if check == "scalar_self":  # (pow's number raised to each tensor: the list goes second)
        if not op.supports_scalar_self_arg or len(args) != 1 or not isinstance(args[0], list):
            return None
        first, args = 2.5, (first,)
    grad = check in ("grad", "inplace_grad")
    memo = {}
    try:
        d_first = H.to_dg(first, memo, views=True)
        d_args = H.to_dg(args, memo, views=True)
        d_kwargs = H.to_dg(kwargs, memo, views=True)
    except H.Unconvertible as exc:
        return f"unsupported: {exc}"
    t_call, d_call = first, d_first
    if inplace:
        if check == "inplace":
            with torch.no_grad():
                t_call = [t.detach().clone() for t in first]
            d_call = [t.detach().clone() for t in d_first]
        else:
            t_call, d_call = _clone_list(first, torch), _clone_list(d_first, dg)
    t_out, t_err = _exc(t_fn, t_call, *args, **kwargs)
    d_out, d_err = _exc(d_fn, d_call, *d_args, **d_kwargs)
    msg = _raised(t_err, d_err)
    if msg or t_err is not None:
        return msg and "forward: " + msg
    tol = _tol(dtype)
    if inplace:
        if (t_out is t_call) != (d_out is d_call):
            return f"forward: returned {type(d_out).__name__} (PyTorch {type(t_out).__name__}" \
                   f"{', the list given' if t_out is t_call else ''})"
        t_out, d_out = t_call, d_call
    msg = H.compare(H.to_numpy(t_out), H.to_numpy(d_out), tol_scale=tol)
    if msg and "values differ" in msg:
        msg = _nearer(op, sample, first, args, kwargs, t_out, d_out, msg)
    if msg:
        return "forward: " + msg
    if not grad:
        return None
    t_leaves = _leaves((first, args, kwargs), [])
    d_leaves = [memo[id(x)] for x in t_leaves]
    t_outs = [t for t in t_out if t.requires_grad]
    d_outs = [t for t in d_out if t.requires_grad]
    if len(t_outs) != len(d_outs):
        return f"forward: {len(d_outs)} outputs require grad (PyTorch {len(t_outs)})"
    if not t_outs:
        return None
    gen = torch.Generator().manual_seed(SEED + 1)
    cots = [torch.randn(t.shape, dtype=t.dtype, generator=gen) for t in t_outs]
    t_g, t_err = _exc(torch.autograd.grad, t_outs, t_leaves, cots, allow_unused=True)
    d_g, d_err = _exc(dg.autograd.grad, d_outs, d_leaves, [H.to_dg(c) for c in cots],
                      allow_unused=True)
    refused = None
    if t_err is not None and d_err is None and not inplace:
        # PyTorch's foreach backward refuses: its per-tensor ops' gradients are the reference
        refused = f"backward: PyTorch raised {type(t_err).__name__}"
        t_g, t_err = _exc(_reference_grads, op, sample, first, args, kwargs, t_leaves, cots)
        if t_err is not None:
            return f"{refused}; its per-tensor reference raised {type(t_err).__name__}: {t_err}"
    msg = _raised(t_err, d_err)
    if msg or t_err is not None:
        return msg and "backward: " + msg
    msg = _compare_grads(t_g, d_g, dtype)
    if refused:
        return f"{refused}; deltagrad's gradients " + (
            f"differ from its per-tensor reference's: {msg}" if msg else
            f"are those of its per-tensor {op.ref.__name__}")
    return msg


def _nearer(op, sample, first, args, kwargs, t_out, d_out, msg):
    """None when each float16 / bfloat16 result of deltagrad's is as near the float64 result
    (PyTorch's per-tensor reference op on the same values in float64) as PyTorch's (within 4x
    its largest error, or of the dtype's epsilon at the result's scale), else ``msg`` with
    both errors. (PyTorch's bfloat16 add with alpha rounds alpha and fuses the multiply-add
    in its vectorized loop only: which elements that reaches depends on the memory order of a
    view, which deltagrad follows for contiguous operands only; a sum that cancels then
    differs by an ulp of the addends, many of the result's.)"""
    def wide(x):
        if isinstance(x, torch.Tensor) and x.is_floating_point():
            return x.detach().double()
        return [wide(v) for v in x] if isinstance(x, list) else x
    try:
        ref = _reference_out(op, sample, wide(first), tuple(wide(a) for a in args), kwargs)
    except Exception:  # noqa: BLE001 - no float64 reference: the difference stands
        return msg
    for a, b, r in zip(t_out, d_out, ref):
        eps = {torch.float16: 2.0 ** -10, torch.bfloat16: 2.0 ** -7}.get(a.dtype)
        if eps is None:
            if H.compare(H.to_numpy(a), H.to_numpy(b)) is None:
                continue
            return msg
        r = r.double().numpy()
        err_t = float(abs(a.detach().double().numpy() - r).max(initial=0.0))
        err_d = float(abs(b.detach().double().numpy() - r).max(initial=0.0))
        if not err_d <= 4 * max(err_t, eps * float(abs(r).max(initial=0.0))):
            return f"{msg} (from the float64 result: deltagrad {err_d:.3g}, PyTorch {err_t:.3g})"
    return None


def _reference_out(op, sample, first, args, kwargs):
    """PyTorch's per-tensor reference op (``op.ref``) over the lists, as a list."""
    ref_args = [[a] * len(first) if isinstance(a, torch.Tensor) and a.dim() == 0 else a
                for a in args]
    return _per_tensor(op, first, ref_args, kwargs)


def _per_tensor(op, first, ref_args, kwargs):
    """``op.ref`` on each tensor of ``first`` with its own operands (a list's k-th entry; a
    shared operand given to each; ``scalars`` as the per-tensor ``value``)."""
    outs = []
    for k, tensor in enumerate(first):
        pick = [a[k] if isinstance(a, list) else a for a in ref_args]
        named = {key: (v[k] if key == "scalars" else v) for key, v in kwargs.items()}
        if "scalars" in named:
            named["value"] = named.pop("scalars")
        outs.append(op.ref(tensor, *pick, **named))
    return outs


def _reference_grads(op, sample, first, args, kwargs, leaves, cots):
    """PyTorch's gradients of the sample through its per-tensor reference op (``op.ref``):
    each tensor of the list with its own operands (a shared operand given to each)."""
    ref_args = sample.ref_args if args is sample.args else args
    outs = [o for o in _per_tensor(op, first, ref_args, kwargs) if o.requires_grad]
    return torch.autograd.grad(outs, leaves, cots, allow_unused=True)


def _compare_grads(t_g, d_g, dtype):
    """The first difference of two gradient lists, or None."""
    tol = _tol(dtype)
    for k, (a, b) in enumerate(zip(t_g, d_g)):
        if a is None or b is None:
            other = a if b is None else b
            if other is not None and bool((other != 0).any()):
                return f"backward: grad[{k}] is None in {'deltagrad' if b is None else 'PyTorch'}"
            continue
        msg = H.compare(H.to_numpy(a), H.to_numpy(b), tol_scale=10 * tol, path=f"grad[{k}]")
        if msg:
            return "backward: " + msg
    return None


def error_cases(sample):
    """(label, first list, args) misuses built from a sample: unequal list lengths, a short
    scalar list, an empty list, a tensor where the list goes, tensors of unequal shapes."""
    first, args = sample.input, list(sample.args)
    cases = [("empty", [], args), ("tensor_self", first[0] if first else None, args)]
    if len(first) >= 2:
        cases.append(("short_self", first[:-1], args))
    for k, a in enumerate(args):
        if isinstance(a, list) and len(a) >= 2:
            cases.append((f"short_arg{k}", first, args[:k] + [a[:-1]] + args[k + 1:]))
            if all(isinstance(x, torch.Tensor) for x in a) and a[0].shape != a[1].shape:
                swapped = [a[1], a[0], *a[2:]]
                cases.append((f"shapes_arg{k}", first, args[:k] + [swapped] + args[k + 1:]))
    return [c for c in cases if c[1] is not None]


def run_errors(name, sample):
    """{label: difference} over ``error_cases(sample)`` for the out-of-place and in-place
    forms (on clones)."""
    op = foreach_ops()[name]
    kwargs = _kwargs(sample)
    found = {}
    for form, t_fn in (("out", op.op if op.supports_out else None), ("inplace",
                                                                     op.inplace_variant)):
        if t_fn is None:
            continue
        d_fn = getattr(dg, t_fn.__name__, None)
        if d_fn is None:
            found[form] = f"missing: deltagrad has no {t_fn.__name__}"
            continue
        for label, first, args in error_cases(sample):
            with torch.no_grad():
                t_first = first.detach().clone() if isinstance(first, torch.Tensor) else \
                    [t.detach().clone() for t in first]
                t_args = [[t.detach().clone() if isinstance(t, torch.Tensor) else t
                           for t in a] if isinstance(a, list) else a for a in args]
            d_first, d_args, d_kwargs = H.to_dg(t_first), H.to_dg(t_args), H.to_dg(kwargs)
            _, t_err = _exc(t_fn, t_first, *t_args, **kwargs)
            _, d_err = _exc(d_fn, d_first, *d_args, **d_kwargs)
            msg = _raised(t_err, d_err)
            if msg:
                found[f"{form}:{label}"] = msg
    return found


def run(name, dtype, check, n_tensors=(5,), limit=None):
    """{sample id: difference} of op ``name`` in ``dtype`` under ``check``."""
    if not supports(name, dtype, check):
        return {}
    grad = check in ("grad", "inplace_grad")
    found = {}
    todo = samples(name, dtype, grad, n_tensors, noncontiguous=check == "noncontig")
    if check in ("out", "inplace"):
        todo += samples(name, dtype, False, zero_size=True)
    for k, sample in enumerate(todo[:limit]):
        key = f"{k}{sample_id(sample)}"
        try:
            if check == "errors":
                for label, msg in run_errors(name, sample).items():
                    found[f"{key}:{label}"] = msg
                continue
            msg = run_sample(name, sample, "out" if check == "noncontig" else check, dtype)
        except Exception as exc:  # noqa: BLE001 - reported, never hidden
            msg = f"harness: {type(exc).__name__}: {str(exc)[:160]}"
        if msg:
            found[key] = msg
    return found
