"""A sweep over every function deltagrad and PyTorch both have (``torch.*``, ``Tensor.*``,
``nn.functional.*``), each called with generic argument patterns: tensors of several dtypes and
shapes (0-d, empty, broadcast), an int or float second argument, ``dim`` / ``keepdim``, three
tensors. Where PyTorch accepts a pattern and deltagrad returns a result too, both must agree in
kind, dtype, shape and value (an in-place function's first argument too): a silent difference
is the worst bug an autodiff library can have. The per-op tables (``test_parity_*.py``) test
each op's own arguments; this catches what no table thought of.

Differences found and reviewed are listed in ``KNOWN_SILENT`` with the reason; a new one fails,
and so does a listed one that no longer differs (delete it).
"""

import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402
import deltagrad.nn.functional as DF  # noqa: E402

# Random draws (the generators differ), functions whose result is unspecified for these inputs
# (searchsorted needs a sorted sequence) or that are not computations; pdist: PyTorch 2.13's
# backward of an empty input stops the process (a floating-point exception).
SKIP = set("""
manual_seed seed initial_seed rand randn randint randperm rand_like randn_like randint_like normal
bernoulli multinomial poisson binomial empty empty_like empty_strided new new_empty
new_empty_strided
dropout dropout_ dropout1d dropout2d dropout3d alpha_dropout feature_alpha_dropout feature_dropout
rrelu rrelu_ native_dropout gumbel_softmax uniform_ normal_ random_ exponential_ geometric_
cauchy_ log_normal_ bernoulli_ pca_lowrank svd_lowrank searchsorted
pdist
set_default_dtype get_default_dtype set_printoptions set_rng_state get_rng_state save load compile
set_grad_enabled use_deterministic_algorithms set_deterministic_debug_mode
set_num_threads get_num_threads
set_num_interop_threads set_default_device share_memory_ pin_memory is_pinned resize_
resize_as_ storage untyped_storage data_ptr const_data_ptr record_stream register_hook backward
retain_grad
requires_grad_ numpy tolist item cuda to cpu type apply_ map_ map2_
""".split())

DUNDERS = set("""__add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__ __rtruediv__
__floordiv__ __rfloordiv__ __mod__ __rmod__ __pow__ __rpow__ __and__ __or__ __xor__ __lshift__
__rshift__ __invert__ __neg__ __abs__ __lt__ __le__ __gt__ __ge__ __eq__ __ne__ __matmul__
__rmatmul__ __iadd__ __isub__ __imul__ __itruediv__ __ifloordiv__ __imod__ __ipow__ __iand__
__ior__ __ixor__ __ilshift__ __irshift__ __getitem__ __pos__ __bool__ __float__ __int__
__len__""".split())

# label -> why deltagrad's result differs (reviewed).
KNOWN_SILENT = {
    "Tensor.stride": "empty tensors made from NumPy arrays: PyTorch copies NumPy's (0, 0) "
                     "strides, deltagrad gives the contiguous strides its factories give "
                     "(torch.zeros(0, 4).stride() is (4, 1) in both)",
}


def _arrays():
    rng = np.random.default_rng(0)
    return {
        "f32_34": rng.standard_normal((3, 4)).astype(np.float32),
        "f64_34": rng.standard_normal((3, 4)),
        "f32_4": rng.standard_normal(4).astype(np.float32),
        "f32_0d": np.array(0.7, np.float32),
        "pos_34": (rng.random((3, 4)) + 0.1).astype(np.float32),
        "unit_34": (rng.random((3, 4)) * 0.8 + 0.1).astype(np.float32),
        "i64_34": rng.integers(-5, 6, (3, 4)),
        "i32_34": rng.integers(-5, 6, (3, 4)).astype(np.int32),
        "u8_34": rng.integers(0, 6, (3, 4)).astype(np.uint8),
        "b_34": rng.random((3, 4)) > 0.5,
        "f32_234": rng.standard_normal((2, 3, 4)).astype(np.float32),
        "f32_empty": np.zeros((0, 4), np.float32),
    }


ARRAYS = _arrays()


def _patterns():
    out = [((k,), {}) for k in ARRAYS]
    for k in ("f32_34", "i64_34", "b_34", "f32_234", "f32_0d", "i32_34", "u8_34"):
        for d in (0, 1, -1, 2, -3):
            out += [((k, ("n", d)), {}), ((k,), {"dim": d}), ((k,), {"dim": d, "keepdim": True})]
    for a, b in [("f32_34", "f32_34"), ("f32_34", "f32_4"), ("i64_34", "i64_34"),
                 ("i32_34", "i32_34"), ("f32_34", "i64_34"), ("i64_34", "f32_34"),
                 ("b_34", "b_34"), ("f32_34", "f64_34"), ("u8_34", "i64_34"),
                 ("i64_34", ("n", 2)), ("f32_34", ("n", 2.5)), ("i64_34", ("n", 2.5)),
                 ("b_34", ("n", 3)), ("i32_34", ("n", -3)), ("u8_34", ("n", 3)),
                 ("f32_0d", "i64_34"), ("pos_34", "unit_34")]:
        out.append(((a, b), {}))
    for triple in [("f32_34", "f32_34", "f32_34"), ("b_34", "f32_34", "f32_34"),
                   ("f32_34", "f32_4", ("n", 0.5))]:
        out.append((triple, {}))
    return out


PATTERNS = _patterns()


def _build(module, spec):
    if isinstance(spec, tuple):
        return spec[1]
    array = ARRAYS[spec].copy()
    return dg.tensor(array) if module is dg else torch.from_numpy(array)


def _normal(x):
    if isinstance(x, (torch.Tensor, dg.Tensor)):
        layout = str(x.layout).split(".")[-1]
        if layout != "strided":  # sparse results (to_sparse): compared as dense, layout kept
            x = x.to_dense()
        name = str(x.dtype).split(".")[-1]
        if name == "bfloat16":  # (neither library's numpy() takes it: its exact float32 values)
            x = x.float()
        return ("tensor", name, tuple(x.shape) + (layout,), x.detach().numpy().copy())
    if isinstance(x, (tuple, list)):
        return ("sequence", [_normal(v) for v in x])
    if isinstance(x, (bool, int, float)):
        return ("number", x)
    return ("other", None)


def _difference(a, b) -> str | None:
    if a[0] != b[0]:
        return f"{a[0]} vs {b[0]}"
    if a[0] == "tensor":
        if a[1] != b[1] or a[2] != b[2]:
            return f"dtype/shape {a[1]}{a[2]} vs {b[1]}{b[2]}"
        x, y = a[3], b[3]
        if x.dtype.kind in "fc":
            same = np.allclose(x, y, rtol=1e-4, atol=1e-5, equal_nan=True)
        else:
            same = np.array_equal(x, y)
        return None if same else "values"
    if a[0] == "sequence":
        if len(a[1]) != len(b[1]):
            return "lengths"
        return next((d for d in map(_difference, a[1], b[1]) if d), None)
    if a[0] == "number":
        x, y = a[1], b[1]
        if isinstance(x, float) or isinstance(y, float):
            same = math.isclose(x, y, rel_tol=1e-4, abs_tol=1e-5) or (x != x and y != y)
        else:
            same = x == y
        return None if same else f"{x} vs {y}"
    return None


def _silent(label, theirs, ours, args, kwargs):
    """The difference when both libraries return a result for this pattern, else None."""
    try:
        torch_args = [_build(torch, s) for s in args]
        expected = theirs(*torch_args, **kwargs)
    except Exception:  # noqa: BLE001 - PyTorch refuses the pattern: nothing to compare
        return None
    try:
        our_args = [_build(dg, s) for s in args]
        got = ours(*our_args, **kwargs)
    except Exception:  # noqa: BLE001 - an error is not a silent difference
        return None
    difference = _difference(_normal(expected), _normal(got))
    if difference is None and label.endswith("_") and torch_args and isinstance(
            torch_args[0], torch.Tensor):
        difference = _difference(_normal(torch_args[0]), _normal(our_args[0]))
    return difference


def _targets(namespace):
    import torch.nn.functional as TF

    if namespace == "torch":
        pairs = [(n, getattr(torch, n, None), getattr(dg, n, None)) for n in dir(torch)
                 if not n.startswith("_")]
        pairs = [(n, t, d) for n, t, d in pairs if not isinstance(t, type)]
    elif namespace == "Tensor":
        pairs = [(n, getattr(torch.Tensor, n, None), getattr(dg.Tensor, n, None))
                 for n in dir(torch.Tensor) if not n.startswith("_") or n in DUNDERS]
    else:
        pairs = [(n, getattr(TF, n, None), getattr(DF, n, None)) for n in dir(TF)
                 if not n.startswith("_")]
        pairs = [(n, t, d) for n, t, d in pairs if not isinstance(t, type)]
    return [(f"{namespace}.{n}", t, d) for n, t, d in pairs
            if n not in SKIP and callable(t) and callable(d)]


@pytest.mark.parametrize("namespace", ["torch", "Tensor", "F"])
def test_no_silent_difference_from_pytorch(namespace):
    found = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(0)
        for label, theirs, ours in _targets(namespace):
            for args, kwargs in PATTERNS:
                difference = _silent(label, theirs, ours, args, kwargs)
                if difference:
                    found.setdefault(label, f"{args} {kwargs}: {difference}")
    known = {k for k in KNOWN_SILENT if k.startswith(namespace + ".")}
    new = {k: v for k, v in found.items() if k not in known}
    assert not new, f"silent differences from PyTorch: {new}"
    stale = known - set(found)
    assert not stale, f"listed in KNOWN_SILENT but no longer different (delete them): {stale}"
    assert len(_targets(namespace)) > 50  # the sweep reached the namespace


# Gradients: the same sweep in float64 with every floating tensor argument requiring grad; where
# both libraries give a floating result, backward of a fixed weighting of it must give the same
# gradients (weights 1, 2, 3, ... over the result's elements, so a misplaced gradient shows).
KNOWN_SILENT_GRAD = {
    "torch.ldexp": "PyTorch's backward computes 2 ** other in the integer dtype, so a negative "
                   "integer exponent gives a zero gradient; deltagrad gives 2.0 ** other",
    "Tensor.ldexp": "as torch.ldexp",
}


def _build_grad(module, spec):
    if isinstance(spec, tuple):
        return spec[1]
    array = ARRAYS[spec].copy()
    if array.dtype.kind == "f":
        array = array.astype(np.float64)
        made = dg.tensor(array) if module is dg else torch.from_numpy(array)
        return made.requires_grad_(True)
    return dg.tensor(array) if module is dg else torch.from_numpy(array)


def _weighted_grads(module, fn, args, kwargs):
    built = [_build_grad(module, s) for s in args]
    out = fn(*built, **kwargs)
    if isinstance(out, (tuple, list)):
        out = out[0]
    leaves = [x for x in built if isinstance(x, (torch.Tensor, dg.Tensor)) and x.requires_grad]
    if (not leaves or not isinstance(out, (torch.Tensor, dg.Tensor)) or not out.requires_grad
            or not out.dtype.is_floating_point):
        return None
    weights = np.arange(1, out.numel() + 1, dtype=np.float64).reshape(tuple(out.shape))
    (out * module.from_numpy(weights)).sum().backward()
    return [None if x.grad is None else x.grad.detach().numpy().copy() for x in leaves]


def _grad_difference(label, theirs, ours, args, kwargs):
    try:
        expected = _weighted_grads(torch, theirs, args, kwargs)
    except Exception:  # noqa: BLE001 - PyTorch refuses the pattern or its backward
        return None
    if expected is None:
        return None
    try:
        got = _weighted_grads(dg, ours, args, kwargs)
    except Exception:  # noqa: BLE001 - an error is not a silent difference
        return None
    if got is None or len(got) != len(expected):
        return None if got is None else "number of gradients"
    for e, g in zip(expected, got):
        if (e is None) != (g is None):
            if not np.all((g if e is None else e) == 0):  # None and zeros are the same
                return "a gradient is missing on one side"
            continue
        if e is not None and (e.shape != g.shape or not np.allclose(e, g, rtol=1e-6, atol=1e-8,
                                                                     equal_nan=True)):
            return "gradients differ"
    return None


@pytest.mark.parametrize("namespace", ["torch", "Tensor", "F"])
def test_no_silent_gradient_difference_from_pytorch(namespace):
    found = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label, theirs, ours in _targets(namespace):
            if label.endswith("_") or label.split(".")[-1] in DUNDERS and "__i" in label:
                continue  # in-place: refused on leaves that require grad, in both
            for args, kwargs in PATTERNS:
                difference = _grad_difference(label, theirs, ours, args, kwargs)
                if difference:
                    found.setdefault(label, f"{args} {kwargs}: {difference}")
    known = {k for k in KNOWN_SILENT_GRAD if k.startswith(namespace + ".")}
    new = {k: v for k, v in found.items() if k not in known}
    assert not new, f"silent gradient differences from PyTorch: {new}"
    stale = known - set(found)
    assert not stale, f"listed in KNOWN_SILENT_GRAD but no longer different: {stale}"
