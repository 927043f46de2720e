"""Variant consistency against PyTorch, the way PyTorch's own OpInfo tests check it: for every op
that ``torch.*`` and ``Tensor`` both have, the function ``f(x, ...)``, the method
``x.f(...)``, the in-place method ``x.clone().f_(...)`` and ``f(..., out=o)`` must each behave as
PyTorch's does: the same values, dtype and shape, the same gradients, and the same exception
class where PyTorch raises. A silent difference (PyTorch raises and deltagrad returns, or their
results differ) is the worst kind of bug; this sweep looks for it where the variants part ways.

Tensor methods with no ``torch`` function (``type_as``, ``masked_fill``, ``new_ones``, ...) run
through the method and in-place variants.

Sample inputs come from a small table of signatures (unary; binary with a tensor or a number;
dim / keepdim / dtype reductions, the dim positional, keyword, negative, a tuple or out of
range). Each op keeps the signatures PyTorch accepts for a float32 (3, 4) input; each kept one
then runs with float32, int64 and bool inputs through every variant:

- function (the tensor positional, and by PyTorch's ``input=`` keyword where the signature has
  no other positional argument), method: result (or exception class);
- ``x op= y`` (``+=``, ``//=``, ``<<=``, ...) beside the in-place method it stands for;
- in-place: the result is ``self``, and ``self`` holds PyTorch's value, or the same exception
  (an integer or bool ``self`` whose result is float, PyTorch's "result type can't be cast");
  and on an expanded ``self`` (``x[None].expand(3, 4).add_(1)``), on a ``self`` that would
  have to broadcast (``a(3, 1).add_(b(3, 4))``), on a leaf that requires grad and on a view
  of one (PyTorch refuses both);
- ``out=``: an ``out`` of the result's dtype and shape, of each other dtype category (a float
  result into an integer ``out`` raises, an integer one into a float ``out`` is cast), of another
  shape (resized, with PyTorch's warning when it was not empty), empty (resized silently), one
  that requires grad (raises), ``out`` aliasing the input, a non-contiguous ``out`` (a
  transposed view, whose base must get the values) and an expanded one (raises);
- gradients in float64 (a fixed weighting of the result, backward) of the function (or the
  method) and of the in-place method applied to ``x * 1``, a tensor inside the graph.

``FIXED`` lists the cases this sweep found and that were fixed (and the brief's named cases),
each as one expression run in both libraries.

Every difference is a case ``(variant, op, signature)``; the reviewed ones are in ``KNOWN`` with
the reason. A new difference fails, and so does a ``KNOWN`` entry that no longer differs (delete
it). Run as a script to print every difference::

    .venv/bin/python tests/parity/test_s12_SV_variants.py
"""

from __future__ import annotations

import functools
import operator
import sys
import warnings
from fnmatch import fnmatch

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402

# Random draws, state, I/O, constructors and what is not a computation on its input.
SKIP = set("""
manual_seed seed initial_seed rand randn randint randperm rand_like randn_like randint_like normal
bernoulli multinomial poisson binomial empty empty_like empty_strided new_empty new_empty_strided
dropout dropout_ alpha_dropout feature_alpha_dropout feature_dropout rrelu rrelu_
native_dropout uniform_ normal_ random_ exponential_ geometric_ cauchy_ log_normal_ bernoulli_
pca_lowrank svd_lowrank save load compile share_memory_ pin_memory is_pinned resize_ resize_as_
storage untyped_storage data_ptr record_stream register_hook backward retain_grad requires_grad_
numpy tolist item cuda to cpu type apply_ map_ map2_ from_file vmap cond while_loop autocast
export jit typename is_storage from_numpy frombuffer asarray as_tensor tensor sparse_coo_tensor
sparse_csr_tensor sparse_compressed_tensor sparse_bsr_tensor sparse_csc_tensor sparse_bsc_tensor
set_ detach_ zero_ fill_ copy_ share_memory_ align_to refine_names rename rename_ chunk split
tensor_split unbind hsplit vsplit dsplit split_with_sizes unsafe_split unsafe_chunk
unsafe_split_with_sizes broadcast_tensors meshgrid atleast_1d atleast_2d atleast_3d
block_diag cartesian_prod combinations new
""".split())
SKIP_PREFIXES = ("set_", "get_", "use_", "sym_", "is_", "_")

RNG_SEED = 0


def _arrays() -> dict:
    rng = np.random.default_rng(RNG_SEED)
    # Values in (0.1, 0.9) keep every domain-limited op (acos, log, ...) finite for the float
    # input; the integer one has negatives and zeros, the bool one both values.
    return {
        "float32": (rng.random((3, 4)) * 0.8 + 0.1).astype(np.float32),
        "int64": rng.integers(-3, 4, (3, 4)),
        "bool": rng.random((3, 4)) > 0.5,
        "float32_b": (rng.random((3, 4)) * 0.8 + 0.1).astype(np.float32),
        "int64_b": rng.integers(1, 4, (3, 4)),
        "float32_col": (rng.random((3, 1)) * 0.8 + 0.1).astype(np.float32),
        "float32_row": (rng.random(4) * 0.8 + 0.1).astype(np.float32),
    }


ARRAYS = _arrays()

# Signatures: the arguments after ``x``. A string names an array of ARRAYS (a tensor built in
# each library); a ("dtype", name) pair is that library's dtype object.
SIGNATURES = {
    "unary": ((), {}),
    "tensor": (("float32_b",), {}),
    "int_tensor": (("int64_b",), {}),
    "row": (("float32_row",), {}),
    "other=": ((), {"other": "float32_b"}),
    "tensor,alpha=": (("float32_b",), {"alpha": 2}),
    "tensor,tensor": (("float32_b", "float32_b"), {}),
    "tensor,float": (("float32_b", 0.5), {}),
    "int": ((2,), {}),
    "float": ((1.5,), {}),
    "dim1": ((1,), {}),
    "dim-1": ((-1,), {}),
    "dim=0": ((), {"dim": 0}),
    "dim(0,1)": (((0, 1),), {}),
    "dim(-1,)": ((), {"dim": (-1,)}),
    "dim1,keep": ((1, True), {}),
    "dim=1,keepdim": ((), {"dim": 1, "keepdim": True}),
    "dim5": ((5,), {}),
    "dim=-3": ((), {"dim": -3}),
    "dtype=f64": ((), {"dtype": ("dtype", "float64")}),
    "dtype=i8": ((), {"dtype": ("dtype", "int8")}),
    "dim1,dtype=f64": ((1,), {"dtype": ("dtype", "float64")}),
    "dim=1,dtype=i64": ((), {"dim": 1, "dtype": ("dtype", "int64")}),
}
INPUT_DTYPES = ("float32", "int64", "bool")

# Differences reviewed and left: (op, variant pattern[, case pattern]) -> (what the difference
# reads as, why). The op is the name in ``torch``; the patterns are fnmatch's over the variant
# (``out:*`` is every out= kind) and the case (``dim1,keep@int64``; every case if left out); an
# entry covers only differences that start with one of its readings, so a new kind of
# difference in a listed op still fails. An entry that covers nothing fails too.
_RAISES_TYPE = ("deltagrad raises TypeError where PyTorch returns",
                "exception TypeError, PyTorch's RuntimeError")
_NO_OUT = "deltagrad's function takes no out= (a TypeError: never a silent result)"
KNOWN: dict = {
    # Breadth: functions with no out= in deltagrad (the lead's list in the session report).
    **{(op, "out:*"): (_RAISES_TYPE, _NO_OUT) for op in (
        "polar", "frobenius_norm", "softmax", "log_softmax",
        "nonzero", "take_along_dim", "threshold")},  # (take: out= since s31 PR26)
    ("add", "*", "dim1,keep*"): (_RAISES_TYPE + ("deltagrad's backward raises TypeError",),
                   "torch.add(x, 1, True): PyTorch's deprecated add(input, alpha, other) takes "
                   "the bool True as the tensor `other`; deltagrad's refuses a bool there"),
    ("trace", "function:input="): (_RAISES_TYPE + ("exception TypeError",),
                                   "deltagrad.trace is also the graph-tracing tool "
                                   "(autograd/trace.py: trace(names=None, *args)), so torch's "
                                   "input= keyword is not taken: a TypeError"),
    ("nuclear_norm", "function:input="): (_RAISES_TYPE,
                                          "deltagrad's nuclear_norm takes input positionally "
                                          "only (its two overloads share one def): TypeError"),
    ("lu", "function:input="): (("silent: PyTorch raises TypeError",
                                 "exception NotImplementedError, PyTorch's TypeError"),
                                "torch.lu is a Python function of *args (A, pivot, ...) with "
                                "no input= keyword; deltagrad's takes input= too"),
    ("cross", "out:alias"): (("silent: PyTorch raises RuntimeError",),
                             "out= the input itself: PyTorch refuses the overlap; deltagrad "
                             "computes the result first and then writes it (the right values)"),
    ("searchsorted", "out:alias"): (("values",),
                                    "out= the sorted sequence itself: PyTorch reads the sequence "
                                    "while writing it (an order-dependent result)"),
    ("ldexp", "out:float64"): (("silent: PyTorch raises RuntimeError",),
                               "PyTorch 2.13 fails an internal assert (needs_dynamic_casting) "
                               "for a float32 ldexp into a float64 out=; deltagrad casts, as "
                               "PyTorch's other binary ops do"),
    ("histc", "out:grad"): (("deltagrad raises RuntimeError where PyTorch returns",),
                            "histc has no gradient in PyTorch, so its out= may require grad; "
                            "deltagrad refuses every out= that requires grad"),
    ("detach", "inplace:*e*"): (("silent: PyTorch raises RuntimeError",),
                                     "detach_ on a view of a temporary: deltagrad allows it "
                                     "where nothing else can reach the base (versions."
                                     "reachable_view, documented); x.t().detach_() raises"),
    **{(op, "inplace:expanded"): (("deltagrad raises RuntimeError where PyTorch returns",),
                                  "a write through an expanded (stride-0) view: deltagrad "
                                  "refuses tril_ / triu_ (whose result follows PyTorch's "
                                  "write order); fill_ fills since s28 SL18")
       for op in ("tril", "triu")},
    **{(op, "out:expanded"): (("deltagrad raises RuntimeError where PyTorch returns",),
                              "out= whose rows share memory (an expanded tensor): PyTorch's "
                              "reductions, scans and tril / triu write it unchecked, an "
                              "order-dependent result (sum(x, 1, keepdim=True) into a (3, 1) "
                              "expand of one element gives 6 + 22 + 38 in every row); "
                              "deltagrad refuses, as PyTorch's elementwise ops do")
       for op in ("all", "any", "amax", "amin", "argmax", "argmin", "diff", "hash_tensor",
                  "nansum", "norm", "prod", "std", "sum", "tril", "triu", "var")},
    ("resize_as", "inplace:broadcast-self"): (
        ("silent: PyTorch raises RuntimeError",),
        "the sweep's self comes from torch.from_numpy, whose NumPy-owned storage PyTorch cannot "
        "grow ('Trying to resize storage that is not resizable'); deltagrad's tensors own "
        "their memory, and a growing resize_as_ gives PyTorch's result for a torch.tensor self"),
    ("to_mkldnn", "method"): (("deltagrad raises NotImplementedError where PyTorch returns",),
                              "deltagrad has no MKL-DNN layout: a clear error, never a "
                              "tensor in another layout"),
}


def known(variant: str, op: str, case: str, difference: str):
    """The KNOWN key that covers a difference, or None."""
    for key, (readings, _why) in KNOWN.items():
        name, pattern, case_pattern = (*key, "*")[:3]
        if (name == op and fnmatch(variant, pattern) and fnmatch(case, case_pattern)
                and difference.startswith(readings)):
            return key
    return None


def _value(module, spec):
    if isinstance(spec, str) and spec in ARRAYS:
        array = ARRAYS[spec].copy()
        return dg.tensor(array) if module is dg else torch.from_numpy(array)
    if isinstance(spec, tuple) and len(spec) == 2 and spec[0] == "dtype":
        return getattr(module, spec[1])
    return spec


def _arguments(module, signature):
    args, kwargs = SIGNATURES[signature]
    return ([_value(module, a) for a in args], {k: _value(module, v) for k, v in kwargs.items()})


def _input(module, dtype: str, requires_grad: bool = False):
    array = ARRAYS[dtype].copy()
    if requires_grad:
        array = array.astype(np.float64)
    made = dg.tensor(array) if module is dg else torch.from_numpy(array)
    return made.requires_grad_(True) if requires_grad else made


# ----------------------------------------------------------------------------------------------
# What a call gives, in a form both libraries share.


def _normal(value):
    if isinstance(value, (torch.Tensor, dg.Tensor)):
        name = str(value.dtype).split(".")[-1]
        data = value.detach()
        if name == "bfloat16":
            data = data.float()
        return ("tensor", name, tuple(value.shape), data.numpy().copy())
    if isinstance(value, (tuple, list)):
        return ("sequence", tuple(_normal(v) for v in value))
    if isinstance(value, (bool, int, float, complex)):
        return ("number", type(value).__name__, value)
    return ("other", type(value).__name__)


def _same(a, b) -> str | None:
    """How two normal forms differ, or None."""
    if a[0] != b[0]:
        return f"{a[0]} vs {b[0]}"
    if a[0] == "tensor":
        if a[1] != b[1]:
            return f"dtype {a[1]} vs {b[1]}"
        if a[2] != b[2]:
            return f"shape {a[2]} vs {b[2]}"
        x, y = a[3], b[3]
        if x.dtype.kind in "fc":
            tolerance = {"float16": 1e-2, "bfloat16": 1e-2}.get(a[1], 1e-5)
            same = np.allclose(x, y, rtol=tolerance, atol=tolerance, equal_nan=True)
        else:
            same = np.array_equal(x, y)
        return None if same else "values"
    if a[0] == "sequence":
        if len(a[1]) != len(b[1]):
            return "lengths"
        return next((d for d in map(_same, a[1], b[1]) if d), None)
    if a[0] == "number":
        if a[1] != b[1]:
            return f"{a[1]} vs {b[1]}"
        x, y = a[2], b[2]
        same = x == y or (x != x and y != y) or abs(x - y) <= 1e-5 * max(1.0, abs(x))
        return None if same else f"{x} vs {y}"
    return None


def _call(fn):
    """``("ok", result, resize warnings)`` or ``("raise", exception class, 0)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn()
        except Exception as error:  # noqa: BLE001 - the class is what is compared
            return ("raise", type(error), 0)
    resized = sum("resized" in str(w.message) for w in caught)
    return ("ok", result, resized)


def _compare(theirs, ours, extra=None) -> str | None:
    """The difference between two ``_call`` outcomes (``extra`` compares the results more)."""
    if theirs[0] == "raise":
        if ours[0] == "ok":
            return f"silent: PyTorch raises {theirs[1].__name__}, deltagrad returns"
        if not issubclass(ours[1], theirs[1]):
            return f"exception {ours[1].__name__}, PyTorch's {theirs[1].__name__}"
        return None
    if ours[0] == "raise":
        return f"deltagrad raises {ours[1].__name__} where PyTorch returns"
    difference = _same(_normal(theirs[1]), _normal(ours[1]))
    if difference is None and extra is not None:
        difference = extra(theirs[1], ours[1])
    if difference is None and bool(theirs[2]) != bool(ours[2]):
        difference = f"resize warning: PyTorch {theirs[2]}, deltagrad {ours[2]}"
    return difference


# ----------------------------------------------------------------------------------------------
# The ops and the signatures PyTorch accepts for each.


def _names() -> list[str]:
    names = []
    for name in dir(torch):
        if name in SKIP or name.startswith(SKIP_PREFIXES) or name.endswith("_"):
            continue
        theirs, ours = getattr(torch, name, None), getattr(dg, name, None)
        if isinstance(theirs, type) or not callable(theirs) or not callable(ours):
            continue
        names.append(name)
    return names


def _method_names() -> list[str]:
    """Tensor methods with no ``torch.<name>`` function (``type_as``, ``masked_fill``, ...)."""
    names = []
    for name in dir(torch.Tensor):
        if (name in SKIP or name.startswith(SKIP_PREFIXES) or name.endswith("_")
                or hasattr(torch, name)):
            continue
        if callable(getattr(torch.Tensor, name, None)) and callable(getattr(dg.Tensor, name,
                                                                            None)):
            names.append(name)
    return names


def _accepted(name: str, function: bool = True) -> list[str]:
    """The signatures PyTorch's function (or method) accepts for a float32 (3, 4) input, and a
    float or tensor result (or a tuple of them)."""
    kept = []
    for signature in SIGNATURES:
        args, kwargs = _arguments(torch, signature)
        x = _input(torch, "float32")
        fn = getattr(torch, name) if function else getattr(x, name)
        outcome = _call(functools.partial(fn, *((x,) if function else ()), *args, **kwargs))
        if outcome[0] == "ok" and isinstance(outcome[1], (torch.Tensor, tuple)):
            kept.append(signature)
    return kept


# ----------------------------------------------------------------------------------------------
# The variants.


def _function(name, dtype, signature):
    def run(module):
        args, kwargs = _arguments(module, signature)
        return _call(lambda: getattr(module, name)(_input(module, dtype), *args, **kwargs))
    return _compare(run(torch), run(dg))


def _keyword_input(name, dtype, signature):
    """``f(input=x, **kwargs)``: the tensor by PyTorch's keyword (signatures with no other
    positional argument)."""
    def run(module):
        args, kwargs = _arguments(module, signature)
        return _call(functools.partial(getattr(module, name), input=_input(module, dtype),
                                       **kwargs))
    return _compare(run(torch), run(dg))


def _method(name, dtype, signature):
    def run(module):
        args, kwargs = _arguments(module, signature)
        x = _input(module, dtype)
        return _call(lambda: getattr(x, name)(*args, **kwargs))
    return _compare(run(torch), run(dg))


def _inplace(name, dtype, signature, make_self=None):
    """``self.name_(...)``: its outcome, that it returns ``self``, and ``self``'s value."""
    def run(module):
        args, kwargs = _arguments(module, signature)
        x = make_self(module) if make_self else _input(module, dtype)
        outcome = _call(lambda: getattr(x, name + "_")(*args, **kwargs))
        if outcome[0] == "ok":
            outcome = ("ok", (outcome[1] is x, x), outcome[2])
        return outcome
    return _compare(run(torch), run(dg))


# The augmented assignments and the in-place methods they stand for.
AUGMENTED = {"add": operator.iadd, "sub": operator.isub, "mul": operator.imul,
             "div": operator.itruediv, "floor_divide": operator.ifloordiv,
             "remainder": operator.imod, "pow": operator.ipow, "bitwise_and": operator.iand,
             "bitwise_or": operator.ior, "bitwise_xor": operator.ixor,
             "bitwise_left_shift": operator.ilshift, "bitwise_right_shift": operator.irshift}


def _augmented(name, dtype, signature):
    """``x op= y``: the outcome, that ``x`` is the same object after, and its value."""
    def run(module):
        args, _ = _arguments(module, signature)
        x = _input(module, dtype)
        outcome = _call(functools.partial(AUGMENTED[name], x, *args))
        if outcome[0] == "ok":
            outcome = ("ok", (outcome[1] is x, x), outcome[2])
        return outcome
    return _compare(run(torch), run(dg))


def _expanded(module):
    return _input(module, "float32")[0][None].expand(3, 4)


def _column(module):
    return _value(module, "float32_col")


def _leaf(module):
    return _input(module, "float32", requires_grad=True)


def _leaf_view(module):
    return _leaf(module)[:]


OUT_KINDS = ("same", "float64", "int64", "bool", "shape", "empty", "grad", "alias",
             "transposed", "expanded")


def _out(name, dtype, signature, kind, expected):
    """``f(x, ..., out=o)`` for an ``o`` of ``kind`` (``expected``: PyTorch's result without
    ``out``); None where the kind does not apply."""
    result_dtype = str(expected.dtype).split(".")[-1]
    if kind in ("float64", "int64", "bool") and kind == result_dtype:
        return None
    if kind == "alias" and (tuple(expected.shape) != (3, 4) or result_dtype != dtype):
        return None
    if kind == "grad" and not expected.dtype.is_floating_point:
        return None
    if kind in ("transposed", "expanded") and expected.ndim != 2:
        return None

    def run(module):
        args, kwargs = _arguments(module, signature)
        x = _input(module, dtype)
        out_dtype = getattr(module, result_dtype if kind in OUT_KINDS[4:] + ("same",) else kind)
        shape = {"shape": (2,), "empty": (0,)}.get(kind, tuple(expected.shape))
        out = base = x if kind == "alias" else module.zeros(shape, dtype=out_dtype)
        if kind == "grad":
            out.requires_grad_(True)
        if kind == "transposed":  # a non-contiguous out: the values must land in its base
            base = module.zeros(shape[::-1], dtype=out_dtype)
            out = base.t()
        if kind == "expanded":  # rows that share memory: PyTorch refuses to write them
            base = module.zeros(shape[1:], dtype=out_dtype)
            out = base[None].expand(*shape)
        outcome = _call(functools.partial(getattr(module, name), x, *args, **kwargs, out=out))
        if outcome[0] == "ok":
            outcome = ("ok", (outcome[1] is out, out, base), outcome[2])
        return outcome

    return _compare(run(torch), run(dg))


def _plain_result(name, dtype, signature):
    """PyTorch's tensor result of the function without ``out``, or None."""
    args, kwargs = _arguments(torch, signature)
    try:
        result = getattr(torch, name)(_input(torch, dtype), *args, **kwargs)
    except Exception:  # noqa: BLE001 - PyTorch refuses: the function variant compares that
        return None
    return result if isinstance(result, torch.Tensor) else None


def _gradient(name, signature, variant="gradient"):
    """Gradients of the function's float64 input under a fixed weighting of its result (of the
    method's for ``method:gradient``; for ``inplace:gradient``, of the in-place method's,
    applied to ``x * 1``, a tensor inside the graph)."""
    def run(module):
        args, kwargs = _arguments(module, signature)
        x = _input(module, "float32", requires_grad=True)
        if variant == "inplace:gradient":
            result = getattr(x * 1, name + "_")(*args, **kwargs)
        elif variant == "method:gradient":
            result = getattr(x, name)(*args, **kwargs)
        else:
            result = getattr(module, name)(x, *args, **kwargs)
        if isinstance(result, tuple):
            result = result[0]
        if not result.requires_grad or not result.dtype.is_floating_point:
            return None
        weights = np.arange(1, result.numel() + 1, dtype=np.float64).reshape(tuple(result.shape))
        (result * module.from_numpy(weights).to(result.dtype)).sum().backward()
        return None if x.grad is None else x.grad.numpy().copy()

    try:
        expected = run(torch)
    except Exception:  # noqa: BLE001 - PyTorch has no gradient here: nothing to compare
        return None
    if expected is None:
        return None
    try:
        got = run(dg)
    except Exception as error:  # noqa: BLE001
        return f"deltagrad's backward raises {type(error).__name__}"
    if got is None or got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-6,
                                                                      atol=1e-8, equal_nan=True):
        return "gradients differ"
    return None


def _checks(name: str, dtype: str, signature: str, has_method: bool, has_inplace: bool,
            has_function: bool = True):
    """The variant checks of one case: ``(variant, function, arguments)``."""
    checks = [("function", _function, (name, dtype, signature))] if has_function else []
    if has_function and not SIGNATURES[signature][0]:
        checks.append(("function:input=", _keyword_input, (name, dtype, signature)))
    if has_method:
        checks.append(("method", _method, (name, dtype, signature)))
    if has_inplace:
        checks.append(("inplace", _inplace, (name, dtype, signature)))
    if name in AUGMENTED and len(SIGNATURES[signature][0]) == 1 and not SIGNATURES[signature][1]:
        checks.append(("inplace:operator", _augmented, (name, dtype, signature)))
    if not has_function:
        return checks
    expected = _plain_result(name, dtype, signature)
    if expected is not None:
        checks += [(f"out:{kind}", _out, (name, dtype, signature, kind, expected))
                   for kind in OUT_KINDS]
    return checks


def sweep():
    """Every case run, and the differences: ``{(variant, op, signature): why}``."""
    differences, cases = {}, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ops = [(name, True) for name in _names()] + [(name, False) for name in _method_names()]
        for name, has_function in ops:
            has_method = hasattr(torch.Tensor, name) and hasattr(dg.Tensor, name)
            has_inplace = hasattr(torch.Tensor, name + "_") and hasattr(dg.Tensor, name + "_")
            for signature in _accepted(name, has_function):
                for dtype in INPUT_DTYPES:
                    case = f"{signature}@{dtype}"
                    for variant, check, arguments in _checks(name, dtype, signature, has_method,
                                                             has_inplace, has_function):
                        try:
                            difference = check(*arguments)
                        except Exception:  # noqa: BLE001 - PyTorch refuses the setup itself
                            continue
                        cases += 1
                        if difference:
                            differences[(variant, name, case)] = difference
                if has_inplace:
                    for variant, make in (("inplace:expanded", _expanded),
                                          ("inplace:broadcast-self", _column),
                                          ("inplace:leaf", _leaf),
                                          ("inplace:leaf-view", _leaf_view)):
                        cases += 1
                        difference = _inplace(name, "float32", signature, make)
                        if difference:
                            differences[(variant, name, signature)] = difference
                gradients = ["gradient" if has_function else "method:gradient"]
                gradients += ["inplace:gradient"] if has_inplace else []
                for variant in gradients:
                    cases += 1
                    difference = _gradient(name, signature, variant)
                    if difference:
                        differences[(variant, name, signature)] = difference
    return cases, differences


def test_variants_agree_with_pytorch():
    cases, differences = sweep()
    assert cases > 20000  # the sweep reached the op surface
    covered = {key: known(*key, why) for key, why in differences.items()}
    new = {key: why for key, why in differences.items() if covered[key] is None}
    assert not new, f"{len(new)} differences from PyTorch: " + "\n".join(
        f"{key}: {why}" for key, why in sorted(new.items()))
    stale = set(KNOWN) - set(covered.values())
    assert not stale, f"listed in KNOWN but no longer different (delete them): {sorted(stale)}"


# The cases the sweep found and that were fixed (and the brief's named ones, which agreed
# already), each run in both libraries: ``m`` is the module, ``x`` a float32 (3, 4) tensor, ``i``
# an int64 one, ``b`` a bool one. The expression's value (or exception class, and whether it
# warned of a resize) must be PyTorch's.
FIXED = [
    # out= of another shape: resized with PyTorch's warning when it had elements (write_out)
    "m.sum(x, 1, out=m.zeros(2))",
    "m.cumsum(x, 1, out=m.zeros(2, 2))",
    "m.amax(x, 1, out=m.zeros(2))",
    "m.sum(x, 1, out=m.zeros(0))",
    # in-place scans take no other dtype than self's (cast silently before)
    "x.cumsum_(1, dtype=m.float64)",
    "x.cumprod_(1, dtype=m.int64)",
    "i.cumsum_(1, dtype=m.int64)",
    # out='s dtype is the dtype sum / prod / cumsum / cumprod / nansum run in
    "m.sum(x, 1, out=m.zeros(3, dtype=m.int64))",
    "m.sum(m.tensor([[0.5, -0.5]]), 1, out=m.zeros(1, dtype=m.bool))",
    "m.sum(x, 1, dtype=m.float64, out=m.zeros(3))",
    "m.prod(x, 1, out=m.zeros(3, dtype=m.float64))",
    "m.cumsum(x, 1, out=m.zeros(3, 4, dtype=m.int64))",
    "m.cumprod(i, 1, out=m.zeros(3, 4, dtype=m.float32))",
    "m.nansum(m.tensor([[1, -1, 0]]), 1, out=m.zeros(1, dtype=m.bool))",
    "m.nansum(x, dtype=m.int8, out=m.zeros((), dtype=m.float64))",
    "m.logsumexp(x, 1, out=m.zeros(3, dtype=m.float64))",
    "m.logsumexp(x, 1, out=m.zeros(3, dtype=m.int64))",
    # out= exactly of the result's dtype where PyTorch says so
    "m.clamp(x, 0.5, out=m.zeros(3, 4, dtype=m.float64))",
    "m.clamp(x, x * 0, out=m.zeros(3, 4, dtype=m.float64))",
    "m.clip(i, max=1, out=m.zeros(3, 4))",
    "m.signbit(x, out=m.zeros(3, 4))",
    "m.isposinf(x, out=m.zeros(3, 4, dtype=m.int64))",
    "m.isin(i, i, out=m.zeros(3, 4))",
    "m.logical_not(x, out=m.zeros(3, 4))",
    "m.lerp(x, x * 2, x, out=m.zeros(3, 4, dtype=m.float64))",
    "m.lerp(x, x * 2, 0.5, out=m.zeros(3, 4, dtype=m.float64))",
    # no out= without a dim, as PyTorch's parser
    "m.prod(x, out=m.zeros(()))",
    "m.median(x, out=m.zeros(()))",
    "m.nanmedian(i, out=m.zeros((), dtype=m.int64))",
    # in-place logical ops keep the tensor's history, as PyTorch's (no derivative of their own)
    "((y := x.double().requires_grad_()) * 1).logical_and_(x - 0.5).mul(m.arange(12.0)"
    ".reshape(3, 4)).sum().backward() or y.grad",
    "((y := x.double().requires_grad_()) * 1)[1:].logical_not_().mul(m.arange(8.0)"
    ".reshape(2, 4)).sum().backward() or y.grad",
    "(y := x.double().requires_grad_()).exp().logical_or_(i).sum().backward()",
    "x.requires_grad_().logical_not_()",
    # an in-place scan of a 0-d tensor in the graph (backward raised a false version error)
    "((y := m.tensor(0.4, dtype=m.float64, requires_grad=True)) * 1).cumprod_(0).mul(2)"
    ".backward() or y.grad",
    # any / all write into a bool or a uint8 out=, whatever the input
    "m.all(i.to(m.uint8), 1, out=m.zeros(3, dtype=m.bool))",
    "m.any(x, out=m.zeros((), dtype=m.uint8))",
    "m.all(i, 1, out=m.zeros(3, dtype=m.int64))",
    # arange / range: arange's resize warns, range's not; range runs in out='s dtype; no bool
    "m.arange(5, out=m.zeros(2))", "m.arange(5.5, out=m.zeros(0, dtype=m.int64))",
    "m.range(0, 4, out=m.zeros(2))", "m.range(0, 4.5, out=m.zeros(5, dtype=m.int64))",
    "m.arange(5, dtype=m.bool)", "m.range(0, 4, out=m.zeros(5, dtype=m.bool))",
    # an expanded out= of an elementwise op: PyTorch's RuntimeError (NumPy's ValueError before)
    "m.add(x, 1, out=m.zeros(4)[None].expand(3, 4))",
    "m.view_copy(x, (3, 4), out=m.zeros(4)[None].expand(3, 4))",
    # in-place shape changes and conj_physical_ refuse a leaf that requires grad and its views
    "m.ones(2, 2, requires_grad=True)[:].t_()",
    "m.ones(2, 1, requires_grad=True)[:].squeeze_()",
    "x.double().requires_grad_().conj_physical_()",
    "(m.ones(2, 2, requires_grad=True) * 1)[:].unsqueeze_(0)",
    # view_copy's dtype= keyword
    "m.view_copy(x, dtype=m.int32)",
    # the brief's cases (agreed already)
    "i.add_(1.5)", "i.mul_(x)", "b.add_(1)", "i.add_(2)",
    "x[0][None].expand(3, 4).add_(1)", "x[:, :1].add_(x)",
    "m.add(x, x, out=m.zeros(3, 4, dtype=m.int64))",
    "m.add(i, i, out=m.zeros(3, 4))",
    "m.add(x, 1, out=m.zeros(3, 4, requires_grad=True))",
    "m.add(x, 1, out=x)",
    "m.sum(x, (0, -1), keepdim=True, out=m.zeros(1, 1))",
    "m.sum(x, 2)", "x.sum(dim=-3)", "x.sum(dtype=m.int8)", "x.prod(1, dtype=m.float64)",
    "x.mean((1,), True)", "i.amax(dim=(0, 1), keepdim=True)",
]


def _fixed_outcome(module, expression):
    rng = np.random.default_rng(RNG_SEED)
    arrays = (rng.standard_normal((3, 4)).astype(np.float32), rng.integers(-3, 4, (3, 4)),
              rng.random((3, 4)) > 0.5)
    made = [module.from_numpy(a.copy()) for a in arrays]
    scope = {"m": module, "x": made[0], "i": made[1], "b": made[2]}
    outcome = _call(functools.partial(eval, expression, scope))
    if outcome[0] == "ok":  # (with every tensor after the call: in-place and out= targets)
        outcome = ("ok", (outcome[1], *made), outcome[2])
    return outcome


@pytest.mark.parametrize("expression", FIXED)
def test_fixed_case_agrees_with_pytorch(expression):
    difference = _compare(_fixed_outcome(torch, expression), _fixed_outcome(dg, expression))
    assert difference is None, f"{expression}: {difference}"


if __name__ == "__main__":
    import time

    start = time.perf_counter()
    count, found = sweep()
    for key, why in sorted(found.items()):
        print(key, why, "(KNOWN)" if known(*key, why) else "")
    print(f"{count} cases, {len(found)} differences, {time.perf_counter() - start:.1f} s",
          file=sys.stderr)
