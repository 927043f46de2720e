"""In-place changes after a forward, run on PyTorch's OpInfo samples in both libraries (s15 VS).

PyTorch refuses a backward that would read a value changed in place since the forward ("one of
the variables needed for gradient computation has been modified by an inplace operation"); an
engine that does not refuse returns gradients computed from the changed values, silently wrong.
For each sample of an op (``opinfo_harness``), the tensors that require grad are made non-leaf
(``leaf.clone()``), the op runs, and then one scenario happens before the backward:

- ``input``: one tensor input of the op is changed in place (``add_(1)``, ``mul_(2)``,
  ``zero_()``; an integer one by ``zero_()`` only, which keeps indices valid);
- ``output``: one floating output is changed in place, and the backward goes through it;
- ``view``: a view of one input (its first element) is changed in place;
- ``base``: the op took a view of a tensor (``base[...]``), and the base is changed in place.

Both libraries must then raise (the same exception class, at the same step) or both give the
same gradients for the leaves. ``classify`` names the way they differ; ``silent`` is the bad
one: PyTorch raises and deltagrad returns gradients other than the ones from unchanged values.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import opinfo_harness as H  # noqa: E402

import deltagrad as dg  # noqa: E402

MUTATIONS = {
    "add": lambda t: t.add_(1),
    "mul": lambda t: t.mul_(2),
    "zero": lambda t: t.zero_(),
}
# Ops whose results depend on random draws: seeded alike, but PyTorch's stream is followed only
# by some of them; compared by who raises, not by values.
RANDOM_WORDS = ("rand", "normal", "bernoulli", "multinomial", "dropout", "uniform", "poisson",
                "exponential", "cauchy", "geometric", "log_normal", "lowrank", "rrelu",
                "fractional")


def is_random(op) -> bool:
    return any(w in op.name for w in RANDOM_WORDS)


def _floating(t) -> bool:
    return t.dtype.is_floating_point or t.dtype.is_complex


class _Built:
    """One library's copy of a sample: its leaves, the call's arguments, and the tensors passed
    (in the order met, each once), the same order in both libraries."""

    def __init__(self, lib, sample, base_slot=None, safe=False):
        self.lib = lib
        self.safe = safe
        self.leaves = []
        self.slots = []   # tensors handed to the op
        self.bases = []   # for base_slot: the tensor the slot is a view of
        memo = {}

        def conv(obj):
            if isinstance(obj, torch.Tensor):
                key = id(obj)
                if key not in memo:
                    memo[key] = self._tensor(obj, base_slot)
                return memo[key]
            if isinstance(obj, tuple) and hasattr(obj, "_fields"):
                return type(obj)(*(conv(x) for x in obj))
            if isinstance(obj, (list, tuple)):
                return type(obj)(conv(x) for x in obj)
            if isinstance(obj, dict):
                return {k: conv(v) for k, v in obj.items()}
            return obj if lib is torch else H.to_dg(obj)

        self.input = conv(sample.input)
        self.args = conv(sample.args)
        self.kwargs = conv(sample.kwargs)

    def _tensor(self, t, base_slot):
        if t.layout != torch.strided:  # (sparse samples: no views to take, nothing to convert)
            raise H.Unconvertible(f"layout {t.layout}")
        value = t.detach().clone()
        if self.lib is torch:
            leaf = value
        else:
            leaf = H.to_dg(value)
        if t.requires_grad:
            leaf.requires_grad_(True)
            self.leaves.append(leaf)
            arg = leaf.clone()
        else:
            arg = leaf
        if base_slot is not None and len(self.slots) == base_slot:
            base = arg.clone() if arg.requires_grad else arg
            self.bases.append(base)
            arg = base[...]
        self.slots.append(arg)
        return arg.clone() if self.safe else arg


def _flat(obj, cls, out):
    if isinstance(obj, cls):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            _flat(x, cls, out)
    return out


def _cotangents(outs, seed=0):
    rng = np.random.default_rng(seed)
    cots = []
    for t in outs:
        shape = tuple(t.shape)
        dtype = getattr(torch, str(t.dtype).split(".")[-1])
        if dtype.is_complex:
            c = torch.complex(torch.from_numpy(rng.standard_normal(shape)),
                              torch.from_numpy(rng.standard_normal(shape)))
        else:
            c = torch.from_numpy(rng.standard_normal(shape))
        cots.append(c.to(dtype))
    return cots


def run(lib, op, sample, scenario, safe=False):
    """One scenario in one library: ``("raise", step, exception)``, ``("grads", [arrays])``,
    ``("skip", why)``. ``scenario``: ``("none",)``, ``("input", slot, mutation)``,
    ``("output", k, mutation)``, ``("view", slot, mutation)``, ``("base", slot, mutation)``.
    ``safe``: the same with the op's inputs (or outputs) cloned before the change, which then
    reaches nothing the op saved: the gradients the changed run must give or refuse."""
    kind = scenario[0]
    fn = op.op if lib is torch else H.resolve(op, "function")
    if fn is None:
        return ("skip", "missing")
    step = "build"
    try:
        built = _Built(lib, sample, scenario[1] if kind == "base" else None,
                       safe and kind != "output")
    except H.Unconvertible as exc:
        return ("skip", str(exc))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            step = "forward"
            lib.manual_seed(0)
            out = fn(built.input, *built.args, **built.kwargs)
            outs = [t for t in _flat(out, lib.Tensor, [])
                    if t.requires_grad and _floating(t)]
            if safe and kind == "output":
                outs = [t.clone() for t in outs]
            step = "mutate"
            if kind != "none":
                mutate = MUTATIONS[scenario[2]]
                if kind == "input":
                    mutate(built.slots[scenario[1]])
                elif kind == "view":
                    mutate(built.slots[scenario[1]].reshape(-1)[:1])
                elif kind == "base":
                    mutate(built.bases[0])
                else:
                    mutate(outs[scenario[1]])
            if not outs or not built.leaves:
                return ("skip", "no gradient")
            step = "backward"
            cots = _cotangents(outs)
            if lib is not torch:
                cots = [H.to_dg(c) for c in cots]
            grads = lib.autograd.grad(outs, built.leaves, cots, allow_unused=True)
        except Exception as exc:  # noqa: BLE001 - which step raised what is the result
            return ("raise", step, exc)
    return ("grads", [None if g is None else H.to_numpy(g) for g in grads])


def scenarios(op, sample, mutations=("add", "mul", "zero")):
    """The scenarios that make sense for ``sample``: one per tensor input (and mutation), per
    floating output, per input view, and ``base`` for each input."""
    try:
        built = _Built(torch, sample)
    except H.Unconvertible:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.manual_seed(0)
            out = op.op(built.input, *built.args, **built.kwargs)
        except Exception:  # noqa: BLE001 - a sample PyTorch refuses on clones: none
            return []
    outs = [t for t in _flat(out, torch.Tensor, []) if t.requires_grad and _floating(t)]
    if not outs:
        return []
    found = []
    for i, t in enumerate(built.slots):
        muts = mutations if _floating(t) else ("zero",)
        found += [("input", i, m) for m in muts]
        if t.numel():
            found.append(("view", i, muts[0]))
        found.append(("base", i, muts[-1]))
    found += [("output", k, m) for k in range(len(outs)) for m in mutations[:2]]
    return found


def _same_class(t_exc, d_exc) -> bool:
    return type(t_exc).__name__ in {c.__name__ for c in type(d_exc).__mro__}


def _grads_differ(expected, actual):
    for k, (e, a) in enumerate(zip(expected, actual)):
        if e is None and a is None:
            continue
        if e is None or a is None:
            nonzero = (a if e is None else e)[1]
            if nonzero.size and np.any(nonzero != 0):
                return f"grad[{k}] is None in {'PyTorch' if e is None else 'deltagrad'}"
            continue
        msg = H.compare(e, a, 10.0, f"grad[{k}]")
        if msg:
            return msg
    return None


def classify(op, sample, scenario):
    """None when both libraries agree, else ``(kind, detail)``: ``silent`` (PyTorch raises,
    deltagrad's gradients are not those of the unchanged values), ``permissive`` (PyTorch
    raises, deltagrad's gradients are those of the unchanged values), ``dg_raises``,
    ``grad`` (both give gradients, different), ``exc`` (both raise: another class or step)."""
    t_res = run(torch, op, sample, scenario)
    if t_res[0] == "skip":
        return None
    if t_res[0] == "raise" and t_res[1] in ("build", "forward"):
        return None
    d_res = run(dg, op, sample, scenario)
    # (an op deltagrad lacks or refuses before any change: the s13 OpInfo sweeps' business)
    if d_res[0] == "skip" or d_res[0] == "raise" and d_res[1] in ("build", "forward"):
        return None
    if t_res[0] == "raise" and d_res[0] == "raise":
        if t_res[1] == d_res[1] and _same_class(t_res[2], d_res[2]):
            return None
        return ("exc", f"PyTorch {type(t_res[2]).__name__} at {t_res[1]}, deltagrad "
                f"{type(d_res[2]).__name__} at {d_res[1]}: {str(d_res[2])[:120]}")
    if d_res[0] == "raise":
        return ("dg_raises", f"at {d_res[1]}: {type(d_res[2]).__name__}: {str(d_res[2])[:140]}")
    if t_res[0] == "raise":
        # deltagrad's own run with the change kept away from the op: what its gradients must be
        clean = run(dg, op, sample, scenario, safe=True)
        if clean[0] == "grads" and _grads_differ(clean[1], d_res[1]) is None:
            return ("permissive", f"PyTorch {type(t_res[2]).__name__} at {t_res[1]}: "
                    f"{str(t_res[2])[:100]}")
        return ("silent", f"PyTorch {type(t_res[2]).__name__} at {t_res[1]}: "
                f"{str(t_res[2])[:100]}")
    if is_random(op):
        return None
    msg = _grads_differ(t_res[1], d_res[1])
    if msg:
        t_safe, d_safe = run(torch, op, sample, scenario, True), run(dg, op, sample, scenario, True)
        if t_safe[0] == d_safe[0] == "grads" and _grads_differ(t_safe[1], d_safe[1]):
            return None  # (they differ without the change too: not an in-place difference)
    return ("grad", msg) if msg else None


def sweep(ops, dtype=torch.float64, max_samples=2, mutations=("add", "mul", "zero"),
          kinds=("input", "output", "view", "base")):
    """Every scenario of the first ``max_samples`` samples of each op: a list of
    ``(op id, scenario, sample description, kind, detail)``, and the number of cases run."""
    diffs, cases = [], 0
    for op in ops:
        if not op.supports_autograd or dtype not in op.supported_dtypes("cpu"):
            continue
        try:
            samples = H.samples_of(op, dtype, True, max_samples=max_samples)
        except Exception:  # noqa: BLE001 - a generator needing a missing extra
            continue
        for sample in samples:
            for scenario in scenarios(op, sample, mutations):
                if scenario[0] not in kinds:
                    continue
                cases += 1
                try:
                    res = classify(op, sample, scenario)
                except Exception as exc:  # noqa: BLE001 - reported, never hidden
                    res = ("harness", f"{type(exc).__name__}: {str(exc)[:140]}")
                if res is not None:
                    diffs.append((H.op_id(op), scenario, H.describe(sample), *res))
    return diffs, cases
