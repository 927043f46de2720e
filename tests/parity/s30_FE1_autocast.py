"""PyTorch's CPU autocast test lists (``AutocastCPUTestLists`` of
``torch.testing._internal.autocast_test_lists``) run through deltagrad's and PyTorch's
``autocast("cpu")``.

The lists name the ops CPU autocast runs in the lower precision (``torch_16``, ``nn_16``:
convolutions, products, linear, prelu, ...), those it runs in float32 (``torch_fp32``,
``nn_fp32``: losses, pooling, padding), those that promote by themselves
(``torch_expect_builtin_promote``, ``methods_expect_builtin_promote``: comparisons, add, mul,
div on mixed float32 / half inputs) and those autocast promotes (``torch_need_autocast_promote``:
cat, stack), each with its arguments (drawn from PyTorch's generator when the lists are built:
seeded here). PyTorch's own test (test/test_autocast.py) runs each entry as ``torch.<op>`` (or
``torch._C._nn.<op>`` for the nn lists) and as ``Tensor.<op>`` under
``autocast("cpu", dtype=bfloat16)`` (and float16 where the list gives arguments for it) and
checks the result's dtype; here the same calls run in both libraries: the result's dtype and
values (a half result at its dtype's tolerance), which library raised and the exception class,
and, for the "grad" check, the gradients of every floating input after a backward outside the
context (their dtypes and values).

Inputs we did not choose.
"""
from __future__ import annotations

import functools
import warnings

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")

import opinfo_harness as H  # noqa: E402
import s29_NF1_harness as X  # noqa: E402
from s30_FE1_harness import _exc, _raised  # noqa: E402

import deltagrad as dg  # noqa: E402

LIST_SEED = 0
LISTS = ("torch_expect_builtin_promote", "methods_expect_builtin_promote", "torch_16",
         "torch_fp32", "nn_16", "nn_fp32", "torch_need_autocast_promote")
CHECKS = ("forward", "grad")


@functools.cache
def autocast_lists():
    """PyTorch's ``AutocastCPUTestLists("cpu")``, its tensors drawn from LIST_SEED."""
    state = torch.random.get_rng_state()
    torch.manual_seed(LIST_SEED)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from torch.testing._internal.autocast_test_lists import AutocastCPUTestLists
            lists = AutocastCPUTestLists("cpu")
    finally:
        torch.random.set_rng_state(state)
    H._unfreeze_backend_flags()
    return lists


@functools.cache
def entries():
    """{id: (list name, op, args, kwargs, amp dtype, the dtype PyTorch's test expects)}: one
    entry per list item and autocast dtype, as PyTorch's test/test_autocast.py runs them."""
    lists = autocast_lists()
    out = {}
    for name in LISTS:
        for item in getattr(lists, name):
            op = item[0]
            if name.endswith("_expect_builtin_promote"):
                runs = [(item[1], {}, torch.bfloat16, item[3]), (item[2], {}, torch.float16,
                                                                   item[3])]
            elif name == "torch_need_autocast_promote":
                runs = [(item[1], {}, torch.bfloat16, torch.float32),
                        (item[2], {}, torch.float16, torch.float32)]
            else:
                kwargs = item[2] if len(item) > 2 else {}
                run_as = None if name.endswith("fp32") else "amp"
                runs = [(item[1], kwargs, amp, torch.float32 if run_as is None else amp)
                        for amp in (torch.bfloat16, torch.float16)]
            for args, kwargs, amp, expect in runs:
                key = f"{name}:{op}:{str(amp)[6:]}"
                assert key not in out, key
                out[key] = (name, op, args, kwargs, amp, expect)
    return out


def _module(list_name, lib):
    """Where the list's ops live: ``torch`` / ``torch._C._nn`` (None: methods only)."""
    if list_name.startswith("methods"):
        return None
    if list_name.startswith("nn_"):
        return lib._C._nn
    return lib


def _leaves(args, grad):
    """``args`` as fresh tensors (floating ones leaves that require grad for ``grad``)."""
    out = []
    for a in args:
        if isinstance(a, torch.Tensor):
            a = a.detach().clone()
            if grad and a.is_floating_point():
                a.requires_grad_(True)
        elif isinstance(a, (list, tuple)):
            a = type(a)(_leaves(a, grad))
        out.append(a)
    return out


def _flat(obj, cls):
    if isinstance(obj, cls):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for x in obj for t in _flat(x, cls)]
    return []


# The nn lists' ATen bindings (torch._C._nn.<op>) as nn.functional calls: the "functional"
# variant runs these in both libraries (a program reaches those ops through them).
_FUNCTIONAL = {"reflection_pad1d": lambda F, x, padding: F.pad(x, padding, mode="reflect"),
               "nll_loss2d": lambda F, *a, **k: F.nll_loss(*a, **k)}
VARIANTS = ("module", "method", "functional")


def _caller(list_name, op, variant, lib):
    """The entry's callable in ``lib`` for ``variant`` (looked up when called), or None where
    ``lib`` has no such function."""
    if variant == "functional":
        if not list_name.startswith("nn_"):
            return None
        if op in _FUNCTIONAL:
            return lambda *a, **k: _FUNCTIONAL[op](lib.nn.functional, *a, **k)
        home = lib.nn.functional
    else:
        home = _module(list_name, lib) if variant == "module" else lib.Tensor
    if home is None or not hasattr(home, op):
        return None
    # (looked up at the call, inside the context, as PyTorch's test does: deltagrad's autocast
    # wraps its public functions while active, a function object taken before is not cast)
    return lambda *a, **k: getattr(home, op)(*a, **k)


def _reference(t_fn, args, kwargs, list_name, amp):
    """A thunk: PyTorch's result without autocast on the inputs cast as autocast casts them
    (to ``amp`` for the lower-precision lists, else float32), then to float64."""
    run_as = amp if list_name.endswith("_16") else torch.float32

    def cast(a):
        if isinstance(a, torch.Tensor) and a.is_floating_point():
            return a.detach().to(run_as).double()
        if isinstance(a, (list, tuple)):
            return type(a)(cast(x) for x in a)
        return a
    return lambda: _exc(t_fn, *cast(list(args)), **kwargs)[0]


def run_entry(key, variant="module", check="forward"):
    """None when deltagrad agrees with PyTorch on entry ``key`` called as ``variant``
    ("module": ``torch.<op>`` / ``torch._C._nn.<op>``; "method": ``Tensor.<op>``;
    "functional": the nn lists' ops through ``nn.functional``) under autocast, else the first
    difference (None too where PyTorch has no such variant). A half-precision result that
    differs from PyTorch's beyond its dtype's tolerance is accepted when it is as near the
    float64 result as PyTorch's (NF1's third opinion: PyTorch's conv_tbc rounds each kernel
    tap's sum to the half dtype)."""
    list_name, op, args, kwargs, amp, expect = entries()[key]
    t_fn = _caller(list_name, op, variant, torch)
    if t_fn is None:
        return None
    d_fn = _caller(list_name, op, variant, dg)
    if d_fn is None:
        where = {"module": "_C._nn." if list_name.startswith("nn_") else ""}.get(
            variant, "Tensor.")
        return f"missing: deltagrad has no {where}{op}"
    grad = check == "grad"
    t_args = _leaves(args, grad)
    memo = {}
    d_args = H.to_dg(t_args, memo)
    d_kwargs = H.to_dg(kwargs, memo)
    with torch.autocast("cpu", dtype=amp):
        t_out, t_err = _exc(t_fn, *t_args, **kwargs)
    with dg.autocast("cpu", dtype=H.dg_dtype(amp)):
        d_out, d_err = _exc(d_fn, *d_args, **d_kwargs)
    if t_err is not None or d_err is not None:  # (both raising one class passes)
        raised = _raised(t_err, d_err)
        return raised and f"forward: {raised}"
    msg = X._compare32(t_out, d_out, _reference(t_fn, args, kwargs, list_name, amp), 1.0,
                       "out")
    if msg:
        return "forward: " + msg
    if not grad:
        return None
    t_in = _flat(t_args, torch.Tensor)
    t_leaves = [t for t in t_in if t.requires_grad]
    d_leaves = [memo[id(t)] for t in t_leaves]
    t_outs = [t for t in _flat(t_out, torch.Tensor) if t.requires_grad]
    d_outs = [t for t in _flat(d_out, dg.Tensor) if t.requires_grad]
    if len(t_outs) != len(d_outs):
        return f"forward: {len(d_outs)} outputs require grad (PyTorch {len(t_outs)})"
    if not t_outs:
        return None
    gen = torch.Generator().manual_seed(LIST_SEED + 1)
    cots = [torch.randn(t.shape, generator=gen).to(t.dtype) for t in t_outs]
    t_g, t_err = _exc(torch.autograd.grad, t_outs, t_leaves, cots, allow_unused=True)
    d_g, d_err = _exc(dg.autograd.grad, d_outs, d_leaves, [H.to_dg(c) for c in cots],
                      allow_unused=True)
    if (t_err is None) != (d_err is None):
        who, err = ("deltagrad", d_err) if t_err is None else ("PyTorch", t_err)
        return f"backward: {who} raised {type(err).__name__}: {str(err)[:160]}"
    if t_err is not None:
        return None
    # (a gradient through a half-precision op: float32 after the cast back, its sums made in
    # the half dtype: compared at that dtype's tolerance, 4x, as NF1's float16 / bfloat16)
    half = list_name.endswith("_16")
    tol = 4 * H.TOL[str(amp)[6:]][0] / H.TOL["float32"][0] if half else 10
    for k, (a, b) in enumerate(zip(t_g, d_g)):
        if (a is None) != (b is None):
            return f"backward: grad[{k}] is None in {'deltagrad' if b is None else 'PyTorch'}"
        if a is not None:
            msg = H.compare(H.to_numpy(a), H.to_numpy(b), tol_scale=tol, path=f"grad[{k}]")
            if msg and half:
                msg = _nearer(a, b, k, (t_fn, t_args, kwargs, amp, t_leaves, cots), msg)
            if msg:
                return "backward: " + msg
    return None


def _nearer(a, b, k, run, msg):
    """None when deltagrad's gradient ``b`` is as near the float64 gradient (inputs and
    cotangents rounded to the half dtype first) as PyTorch's ``a`` (within 4x its largest
    error, or of the half dtype's epsilon at the gradient's scale), else ``msg`` with both
    errors: sums of half-precision products rounded in another order (conv_transpose's weight
    gradient in bfloat16, values to 287: an ulp is 2) differ by more than a tolerance says."""
    t_fn, t_args, kwargs, amp, t_leaves, cots = run

    def exact(x):
        return x.detach().to(amp).double().requires_grad_(x.requires_grad)
    leaves = {id(x): exact(x) for x in t_leaves}
    args = [leaves.get(id(x), x.detach().double() if isinstance(x, torch.Tensor) and
                       x.is_floating_point() else x) for x in t_args]
    outs = _flat(t_fn(*args, **kwargs), torch.Tensor)
    outs = [o for o in outs if o.requires_grad]
    ref = torch.autograd.grad(outs, [leaves[id(x)] for x in t_leaves],
                              [c.to(amp).double() for c in cots], allow_unused=True)[k]
    r, t, d = ref.numpy(), a.double().numpy(), b.double().numpy()
    err_t, err_d = abs(t - r).max(initial=0.0), abs(d - r).max(initial=0.0)
    eps = {torch.bfloat16: 2.0 ** -7, torch.float16: 2.0 ** -10}[amp]
    if err_d <= 4 * max(err_t, eps * abs(r).max(initial=0.0)):
        return None
    return f"{msg} (from the float64 result: deltagrad {err_d:.3g}, PyTorch {err_t:.3g})"


def expected_dtype(key):
    """The result dtype PyTorch's test asserts for entry ``key`` (a check of the list)."""
    return entries()[key][5]
