"""A generated differential fuzzer: every public callable deltagrad and PyTorch both have, called
with argument patterns drawn from a table of generators, classified by what a user would see.

Namespaces: ``torch.<name>``, ``torch.nn.functional.<name>``, ``torch.linalg.<name>``,
``torch.special.<name>`` and ``Tensor.<name>`` (in-place methods and the operator dunders,
reflected and in-place ones included). Arguments: tensors of shape (), (0,), (3,), (2, 3),
(2, 1, 3) and a transposed (non-contiguous) (2, 3), in bool, uint8, int8, int32, int64,
float16, float32 and float64; Python bool / int / float scalars; dims -3..3 (out of range
included), ``keepdim`` (and keywords of the wrong type: ``keepdim=1``, ``dim=1.0``); ``dtype=``
keywords; ``out=`` (each dtype, another shape; the result must be ``out`` itself and ``out``'s
contents agree); keyword forms ``other=`` and ``alpha=``; 0-d tensors of every dtype on either
side of a binary call. Every call runs in both libraries from the same data and lands in one
class:

- ``same``: both return, and values (within the dtype's tolerance), dtypes, shapes, the identity
  of an in-place result (``x.add_(y) is x``) and every tensor argument after the call agree;
- ``both-raise``: both raise, deltagrad's exception the same class as PyTorch's or a subclass;
- ``raise-mismatch``: both raise, classes incompatible (``except TypeError`` would miss ours);
- ``silent``: PyTorch raises and deltagrad returns, or the results differ: a silent wrong answer;
- ``we-raise``: deltagrad raises where PyTorch returns (a breadth gap);
- ``reviewed``: a ``silent`` difference listed in ``REVIEWED`` with its reason (PyTorch's
  undefined or platform behaviour, or the fixtures').

Deterministic (the data comes from one seeded generator). Run as a script::

    .venv/bin/python tests/parity/fuzz_s6.py [--only NAME,...] [--namespace torch,Tensor,...]

The pytest file ``test_parity_s6_fuzz.py`` runs a fixed sample of it.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from collections import Counter, defaultdict

import numpy as np
import torch

import deltagrad as dg
import deltagrad.nn.functional as DF

SEED = 0

DTYPE_NAMES = ["bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64"]
SHAPES = {"0d": (), "empty": (0,), "v3": (3,), "m23": (2, 3), "b213": (2, 1, 3), "t23": (2, 3)}
SCALARS = [True, 2, -3, 0, 2.5, -0.5, 300]

# Random draws, process/global state, I/O and things that are not computations.
SKIP = set("""
manual_seed seed initial_seed rand randn randint randperm rand_like randn_like randint_like normal
bernoulli multinomial poisson binomial empty empty_like empty_strided new_empty new_empty_strided
new
dropout dropout_ dropout1d dropout2d dropout3d alpha_dropout feature_alpha_dropout feature_dropout
rrelu rrelu_ native_dropout gumbel_softmax uniform_ normal_ random_ exponential_ geometric_
cauchy_ log_normal_ bernoulli_ pca_lowrank svd_lowrank pdist
save load compile share_memory_ pin_memory is_pinned resize_ resize_as_ storage untyped_storage
data_ptr record_stream register_hook register_post_accumulate_grad_hook backward retain_grad
const_data_ptr mutable_data_ptr
requires_grad_ numpy tolist cuda to cpu type apply_ map_ map2_ from_file vmap cond while_loop
autocast export jit typename is_storage from_numpy frombuffer asarray as_tensor tensor
sparse_coo_tensor sparse_csr_tensor sparse_compressed_tensor sparse_bsr_tensor sparse_csc_tensor
sparse_bsc_tensor align_to refine_names rename rename_ unflatten_dense_tensors
""".split())
SKIP_PREFIXES = ("set_", "get_", "use_", "sym_", "_")

DUNDERS = set("""__add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__ __rtruediv__
__floordiv__ __rfloordiv__ __mod__ __rmod__ __pow__ __rpow__ __and__ __rand__ __or__ __ror__
__xor__ __rxor__ __lshift__ __rlshift__ __rshift__ __rrshift__ __invert__ __neg__ __abs__ __lt__
__le__ __gt__ __ge__ __eq__ __ne__ __matmul__ __rmatmul__ __iadd__ __isub__ __imul__
__itruediv__ __ifloordiv__ __imod__ __ipow__ __iand__ __ior__ __ixor__ __ilshift__ __irshift__
__getitem__ __pos__ __bool__ __float__ __int__ __len__ __index__""".split())

# Differences reviewed and left as they are: PyTorch's undefined or platform behaviour, or a
# property of the fuzzer's own fixtures. label -> (what a case must show to be covered, why).
# A covered `silent` case is classed `reviewed` (the `silent` count is what is left to fix).
_INTS = ("bool:", "uint8:", "int8:", "int32:", "int64:")
REVIEWED = {
    "Tensor.polygamma": (lambda spec, why: spec.startswith("(float16:") and spec.endswith(
        ", 300)"), "order 300 at a negative non-integer x in float16: PyTorch's zeta overflows "
        "to -inf at one point where deltagrad's gives nan (both are overflowed garbage)"),
    "Tensor.polygamma_": (lambda spec, why: spec.startswith("(float16:") and spec.endswith(
        ", 300)"), "as Tensor.polygamma"),
    "Tensor.stride": (lambda spec, why: ":empty" in spec,
                      "the fixture's torch.tensor(ndarray) of an empty array keeps NumPy's "
                      "zero strides; torch.empty(0).stride() is (1,), as deltagrad's"),
    "torch.svd": (lambda spec, why: why.startswith("values"),
                  "singular vectors are defined up to sign; LAPACK builds differ"),
    "Tensor.svd": (lambda spec, why: why.startswith("values"), "as torch.svd"),
    "linalg.svd": (lambda spec, why: why.startswith("values"), "as torch.svd"),
    "torch.searchsorted": (lambda spec, why: why.startswith("values"),
                           "the fixture's sorted_sequence is not sorted: PyTorch documents the "
                           "result as undefined"),
    "torch.bucketize": (lambda spec, why: why.startswith("values"),
                        "the fixture's boundaries are not sorted (undefined)"),
    "F.poisson_nll_loss": (lambda spec, why: spec.startswith(tuple("(" + t for t in _INTS))
                           and why.startswith("values"),
                           "exp of an integer input is float32 (1 ulp from PyTorch's SLEEF "
                           "exp: NumPy's float32 exp(1) is 2.718282, PyTorch's 2.7182817), "
                           "then promoted by a float64 target and compared at float64's "
                           "tolerance"),
}


def reviewed(label: str, spec: str, why: str) -> str | None:
    """The reason a `silent` case of ``label`` is accepted, or None."""
    entry = REVIEWED.get(label)
    return entry[1] if entry is not None and entry[0](spec, why) else None


TOL = {"float16": (1e-2, 1e-3), "float32": (1e-4, 1e-5), "float64": (1e-7, 1e-9),
       "complex64": (1e-4, 1e-5), "complex128": (1e-7, 1e-9)}


def _arrays():
    """The data: one array per (dtype, shape), drawn once from the seeded generator."""
    rng = np.random.default_rng(SEED)
    out = {}
    for name in DTYPE_NAMES:
        for key, shape in SHAPES.items():
            base_shape = shape[::-1] if key == "t23" else shape
            if name == "bool":
                a = rng.random(base_shape) > 0.5
            elif name == "uint8":
                a = rng.integers(0, 6, base_shape).astype(np.uint8)
            elif name.startswith("int"):
                a = rng.integers(-4, 5, base_shape).astype(name)
            else:
                a = (rng.standard_normal(base_shape) * 2).astype(name)
            out[f"{name}:{key}"] = np.asarray(a)
    return out


ARRAYS = _arrays()


def patterns() -> dict[str, list[tuple[tuple, dict]]]:
    """Argument patterns by group; the 'dim' and 'dtype' groups are tried only on callables that
    accept a dim / dtype at all (saves most of the run)."""
    base, dims, dtypes = [], [], []
    for dt in DTYPE_NAMES:
        for sh in SHAPES:
            base.append(((f"{dt}:{sh}",), {}))
        for a, b in [("m23", "m23"), ("m23", "v3"), ("b213", "m23"), ("0d", "m23"),
                     ("t23", "m23"), ("empty", "empty"), ("0d", "0d")]:
            base.append(((f"{dt}:{a}", f"{dt}:{b}"), {}))
        for s in SCALARS:
            base.append(((f"{dt}:m23", ("n", s)), {}))
        base.append(((f"{dt}:0d", ("n", 2.5)), {}))
    for a in DTYPE_NAMES:
        for b in DTYPE_NAMES:
            if a != b:
                base.append(((f"{a}:m23", f"{b}:m23"), {}))
        for b in DTYPE_NAMES:  # a 0-d tensor of each other dtype, either side
            if a != b:
                base.append(((f"{a}:m23", f"{b}:0d"), {}))
                base.append(((f"{a}:0d", f"{b}:m23"), {}))
    for triple in [("float32:m23", "float32:m23", "float32:m23"),
                   ("bool:m23", "float32:m23", "int64:m23"),
                   ("float32:m23", "float32:v3", ("n", 0.5)),
                   ("int64:m23", "int64:m23", ("n", 2)),
                   ("uint8:m23", "bool:m23", ("n", 300)), ("int64:m23", "bool:m23", ("n", 2.5)),
                   ("bool:m23", "uint8:m23", ("n", 300)), ("float16:m23", "bool:m23", ("n", 1e5)),
                   ("bool:m23", "int32:m23", ("n", 2.5))]:
        base.append((triple, {}))
    for dt in ("bool", "int32", "float32", "float16"):
        for sh in ("0d", "v3", "m23", "empty", "t23"):
            for d in range(-3, 4):
                t = f"{dt}:{sh}"
                dims += [((t, ("n", d)), {}), ((t,), {"dim": d}),
                         ((t,), {"dim": d, "keepdim": True})]
    for t in ("float32:m23", "int32:m23"):  # keywords of the wrong type
        dims += [((t,), {"dim": 1, "keepdim": 1}), ((t,), {"dim": 1.0}),
                 ((t,), {"dim": True}), ((t,), {"dim": ("n", (0, 1)), "keepdim": True}),
                 ((t,), {"dim": ("n", [1])}), ((t,), {"dim": ("n", ())})]
    for dt in ("bool", "int32", "int64", "float32", "float16"):
        for sh in ("m23", "0d", "empty"):
            for target in ("float64", "int64", "float16", "int32", "bool"):
                dtypes.append(((f"{dt}:{sh}",), {"dtype": ("dt", target)}))
                dtypes.append(((f"{dt}:{sh}", ("n", 1)), {"dtype": ("dt", target)}))
    # out=: the result's dtype cast into out's (a lower category raises), out resized from
    # another shape, the result being out itself; tried on callables that take out= at all.
    outs = []
    for targets in (("float32",), ("float32", "float32"), ("int64",), ("int64", "int64"),
                    ("int64", "float32"), ("bool", "bool"), ("float16", "float64")):
        for out in ("float32:m23", "float64:m23", "int64:m23", "bool:m23", "float16:m23",
                    "float32:v3", "float32:empty"):
            outs.append(((*(f"{t}:m23" for t in targets),), {"out": out}))
    # Keyword forms of positional arguments: other=, alpha= (int, float, bool), and a
    # Python number as other of a tensor of each dtype.
    kws = []
    for dt in DTYPE_NAMES:
        kws += [((f"{dt}:m23",), {"other": "float32:m23"}),
                ((f"{dt}:m23",), {"other": ("n", 2.5)}),
                ((f"{dt}:m23",), {"other": ("n", 2)}),
                ((f"{dt}:m23",), {"other": "float64:0d"})]
        for alpha in (2, 2.5, True, -1):
            kws.append(((f"{dt}:m23", f"{dt}:m23"), {"alpha": ("n", alpha)}))
            kws.append(((f"{dt}:m23", "int64:0d"), {"alpha": ("n", alpha)}))
    return {"base": base, "dim": dims, "dtype": dtypes, "out": outs, "kw": kws}


PATTERNS = patterns()
PROBE = {"dim": [(("float32:m23",), {"dim": 1}), (("float32:m23",), {"dim": ("n", (0, 1))})],
         "dtype": [(("float32:m23",), {"dtype": ("dt", "float64")}),
                   (("float32:m23", ("n", 1)), {"dtype": ("dt", "float64")})],
         "out": [(("float32:m23",), {"out": "float32:m23"}),
                 (("float32:m23", "float32:m23"), {"out": "float32:m23"})],
         "kw": [(("float32:m23",), {"other": "float32:m23"}),
                (("float32:m23", "float32:m23"), {"alpha": ("n", 2)})]}


def _build(lib, spec):
    if not isinstance(spec, (str, tuple)):  # a plain keyword value (dim=1, keepdim=True)
        return spec
    if isinstance(spec, tuple):
        kind, value = spec
        if kind == "dt":
            return getattr(lib, value)
        return value
    array = ARRAYS[spec].copy()
    # (torch.tensor, not from_numpy: an out= tensor must own resizable storage)
    t = torch.tensor(array) if lib is torch else dg.tensor(array, dtype=array.dtype)
    return t.transpose(0, 1) if spec.endswith(":t23") else t


def _normal(x):
    if isinstance(x, (torch.Tensor, dg.Tensor)):
        if isinstance(x, torch.Tensor) and (x.is_quantized or x.layout != torch.strided
                                            or x.is_meta):
            return ("other", "sparse/quantized/meta tensor")
        if isinstance(x, dg.Tensor) and x.layout != dg.strided:
            return ("sparse tensor",)  # (differs from PyTorch's strided result)
        if isinstance(x, dg.Tensor) and x.is_meta:
            return ("other", "sparse/quantized/meta tensor")
        name = str(x.dtype).split(".")[-1]
        if name == "bfloat16":  # (neither numpy() takes it: its exact float32 values)
            x = x.float()
        return ("tensor", name, tuple(x.shape), np.array(x.detach().numpy(), copy=True))
    if isinstance(x, (tuple, list)):
        return ("sequence", [_normal(v) for v in x])
    if isinstance(x, (bool, np.bool_)):
        return ("number", "bool" if isinstance(x, bool) else "np.bool_", bool(x))
    if isinstance(x, (int, float, complex, np.number)):
        kind = type(x).__name__ if isinstance(x, (int, float, complex)) else f"np.{type(x)}"
        return ("number", kind, x)
    if x is None:
        return ("none",)
    if isinstance(x, (torch.dtype, dg.dtype)):
        return ("dtype", str(x).split(".")[-1])
    return ("other", type(x).__name__)


def difference(a, b, loosest=None) -> str | None:
    """Why two normalized results differ, or None; ``loosest`` (a dtype name) widens the
    value tolerance to that dtype's (a result computed in float32 and written into a float64
    ``out=`` carries float32's rounding)."""
    if a[0] == "other" or b[0] == "other":
        return None
    if a[0] != b[0]:
        return f"{a[0]} vs {b[0]}"
    if a[0] == "tensor":
        if a[1] != b[1]:
            return f"dtype {a[1]} vs {b[1]}"
        if a[2] != b[2]:
            return f"shape {a[2]} vs {b[2]}"
        x, y = a[3], b[3]
        if x.dtype.kind in "fc":
            rtol, atol = TOL.get(a[1], (1e-4, 1e-5))
            if loosest is not None:
                rtol, atol = max(rtol, TOL[loosest][0]), max(atol, TOL[loosest][1])
            same = np.allclose(x.astype(np.complex128), y.astype(np.complex128), rtol=rtol,
                               atol=atol, equal_nan=True)
        else:
            same = np.array_equal(x, y)
        return None if same else f"values {_short(x)} vs {_short(y)}"
    if a[0] == "sequence":
        if len(a[1]) != len(b[1]):
            return f"lengths {len(a[1])} vs {len(b[1])}"
        return next((d for x, y in zip(a[1], b[1]) if (d := difference(x, y, loosest))), None)
    if a[0] == "number":
        x, y = a[2], b[2]
        if a[1] != b[1]:
            return f"number type {a[1]} vs {b[1]}"
        if isinstance(x, (float, complex)):
            same = cmath_close(x, y)
        else:
            same = x == y
        return None if same else f"{x!r} vs {y!r}"
    if a[0] == "dtype":
        return None if a[1] == b[1] else f"dtype {a[1]} vs {b[1]}"
    return None


def cmath_close(x, y) -> bool:
    if x != x and y != y:
        return True
    try:
        return math.isclose(abs(x - y), 0, abs_tol=1e-5) or abs(x - y) <= 1e-4 * abs(x)
    except (TypeError, OverflowError):
        return x == y


def _short(array) -> str:
    return np.array2string(array.ravel()[:6], precision=4, separator=",")


def _spec_text(args, kwargs) -> str:
    def one(s):
        if not isinstance(s, (str, tuple)):
            return repr(s)
        if isinstance(s, tuple):
            return repr(s[1]) if s[0] == "n" else s[1]
        return s
    parts = [one(s) for s in args] + [f"{k}={one(v)}" for k, v in kwargs.items()]
    return "(" + ", ".join(parts) + ")"


def compatible(torch_error: BaseException, dg_error: BaseException) -> bool:
    """deltagrad's exception must be PyTorch's class or a subclass (``except`` catches it)."""
    return isinstance(dg_error, type(torch_error))


def _no_not_implemented(result):
    """An operator dunder's NotImplemented is the TypeError the operator raises."""
    if result is NotImplemented:
        raise TypeError("NotImplemented")
    return result


def run_case(theirs, ours, args, kwargs):
    """(class, detail) of one call pattern."""
    try:
        t_args = [_build(torch, s) for s in args]
        t_kwargs = {k: _build(torch, v) for k, v in kwargs.items()}
        expected = _no_not_implemented(theirs(*t_args, **t_kwargs))
        t_error = None
    except Exception as e:  # noqa: BLE001 - whatever PyTorch raises is the spec
        t_error = e
    try:
        d_args = [_build(dg, s) for s in args]
        d_kwargs = {k: _build(dg, v) for k, v in kwargs.items()}
        got = _no_not_implemented(ours(*d_args, **d_kwargs))
        d_error = None
    except Exception as e:  # noqa: BLE001
        d_error = e
    if t_error is not None and d_error is not None:
        if compatible(t_error, d_error):
            return "both-raise", ""
        return "raise-mismatch", (f"torch {type(t_error).__name__}, ours "
                                  f"{type(d_error).__name__}: {str(d_error)[:80]}")
    if t_error is not None:
        return "silent-accept", (f"torch raises {type(t_error).__name__}: "
                          f"{str(t_error).splitlines()[0][:90]}; ours returns "
                          f"{_describe(got)}")
    if d_error is not None:
        return "we-raise", f"{type(d_error).__name__}: {str(d_error)[:90]}"
    loosest = _computed_in(t_args) if "out" in t_kwargs else None
    why = difference(_normal(expected), _normal(got), loosest)
    if why:
        return "silent", why
    pairs = list(enumerate(zip(t_args, d_args)))
    pairs += [(name, (t_kwargs[name], d_kwargs[name])) for name in t_kwargs]
    for i, (ta, da) in pairs:
        if isinstance(ta, torch.Tensor):
            if (expected is ta) != (got is da):
                return "silent-identity", (f"result is argument {i}: torch {expected is ta}, "
                                           f"ours {got is da}")
            why = difference(_normal(ta), _normal(da), loosest)
            if why:
                return "silent", f"argument {i} after the call: {why}"
    return "same", ""


def _computed_in(args) -> str:
    """The least precise floating dtype the inputs are computed in (integers and bools in
    float32, the default float dtype)."""
    names = [str(a.dtype).split(".")[-1] for a in args if isinstance(a, torch.Tensor)]
    order = ["float16", "float32", "float64"]
    return min((n if n in order else "float32" for n in names), key=order.index,
               default="float32")


def _describe(x) -> str:
    n = _normal(x)
    if n[0] == "tensor":
        return f"{n[1]}{list(n[2])} {_short(n[3])}"
    if n[0] == "number":
        return repr(n[2])
    return n[0] if n[0] != "other" else n[1]


def targets(namespaces=("torch", "Tensor", "F", "linalg", "special")):
    """(label, torch callable, deltagrad callable) for every name both have."""
    import torch.nn.functional as TF

    pairs = []
    spaces = {"torch": (torch, dg), "F": (TF, DF), "linalg": (torch.linalg, dg.linalg),
              "special": (torch.special, dg.special)}
    for ns in namespaces:
        if ns == "Tensor":
            for n in dir(torch.Tensor):
                if (n.startswith("_") and n not in DUNDERS) or n in SKIP:
                    continue
                t, d = getattr(torch.Tensor, n, None), getattr(dg.Tensor, n, None)
                if callable(t) and callable(d):
                    pairs.append((f"Tensor.{n}", t, d))
            continue
        tm, dm = spaces[ns]
        for n in dir(tm):
            if n in SKIP or n.startswith(SKIP_PREFIXES):
                continue
            t, d = getattr(tm, n, None), getattr(dm, n, None)
            if callable(t) and callable(d) and not isinstance(t, type):
                pairs.append((f"{ns}.{n}", t, d))
    return pairs


def fuzz(selected, groups=("base", "dim", "dtype", "out", "kw"), budget=None):
    """Run every pattern on every (label, theirs, ours); returns {label: [(pattern, cls, why)]}."""
    results = defaultdict(list)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(SEED)
        for label, theirs, ours in selected:
            for group in groups:
                if group in PROBE:
                    accepts = False
                    for args, kwargs in PROBE[group]:
                        try:
                            theirs(*[_build(torch, s) for s in args],
                                   **{k: _build(torch, v) for k, v in kwargs.items()})
                            accepts = True
                        except Exception:  # noqa: BLE001
                            pass
                    if not accepts:
                        continue
                chosen = PATTERNS[group] if budget is None else PATTERNS[group][::budget]
                for args, kwargs in chosen:
                    cls, why = run_case(theirs, ours, args, kwargs)
                    spec = _spec_text(args, kwargs)
                    if cls == "silent" and (reason := reviewed(label, spec, why)):
                        cls, why = "reviewed", f"{why} ({reason})"
                    results[label].append((spec, cls, why))
    return results


CLASSES = ("silent", "silent-identity", "silent-accept", "raise-mismatch", "we-raise",
           "reviewed")


def summarize(results, stream=sys.stdout, show=3, classes=CLASSES):
    """Print the counts, then up to ``show`` examples per callable of each of ``classes``
    (``results``: label -> [(pattern, class, why)]); return the counts."""
    counts = Counter(cls for rows in results.values() for _, cls, _ in rows)
    print("counts:", dict(counts), file=stream)
    for cls in classes:
        bad = {label: [r for r in rows if r[1] == cls] for label, rows in results.items()}
        bad = {k: v for k, v in bad.items() if v}
        print(f"\n== {cls}: {sum(map(len, bad.values()))} cases in {len(bad)} callables",
              file=stream)
        for label, rows in sorted(bad.items(), key=lambda kv: -len(kv[1])):
            print(f"{label}: {len(rows)}", file=stream)
            for pattern, _, why in rows[:show]:
                print(f"    {pattern}: {why}", file=stream)
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--namespace", default="torch,Tensor,F,linalg,special")
    parser.add_argument("--only", default="", help="comma-separated names (any namespace)")
    parser.add_argument("--show", type=int, default=3, help="examples per callable")
    parser.add_argument("--classes", default="", help="print only these classes")
    options = parser.parse_args(argv)
    selected = targets(options.namespace.split(","))
    if options.only:
        wanted = set(options.only.split(","))
        selected = [t for t in selected if t[0].split(".", 1)[1] in wanted or t[0] in wanted]
    start = time.perf_counter()
    results = fuzz(selected)
    summarize(results, show=options.show)
    print(f"\n{len(selected)} callables, {time.perf_counter() - start:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
