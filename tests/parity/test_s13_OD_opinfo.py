"""PyTorch's OpInfo samples (op_db) for the shape / view / indexing / scatter / copy ops, through
deltagrad and PyTorch (s13 OD): every difference of values, dtypes, shapes, gradients, who
raises, and every error input, must be one the KNOWN tables list with a reason.

The group is the ops of op_db left after the ufuncs (OA), nn / fft / masked / signal / sparse
(OC) and reductions, linalg, creation and the like (OB): deltagrad's api.indexing / shape /
rearrange / copies / shape_splits / strided / view_scatters functions, and ops deltagrad lacks
or PyTorch's tree wraps in a lambda whose name is from "m" on (``group`` below, the rule of
/work/notes/s13/preamble.md). Sample tensors are converted with their strides and storage
offsets (``views=True``): a non-contiguous sample is a deltagrad view too.

The default run takes a few samples per op in float32 with gradients (function, method and
in-place variants) and a few in one more dtype per op, rotated over the dtypes it supports;
``make soak`` runs every sample in every dtype, and the reference inputs.
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")

sys.path.insert(0, str(Path(__file__).parent))
import opinfo_harness as H  # noqa: E402

import deltagrad as dg  # noqa: E402

# ----------------------------------------------------------------------------------- the group


def _ops():
    return [op for op in H.op_db() if H.group(op) == "OD"]


OPS = _ops()
IDS = [H.op_id(op) for op in OPS]

# Random ops: compared by structure (dtype and shape of every result, who raises), not values
# (their support and moments: test_random_ops_support_and_moments below).
RANDOM = {"normal", "normal.in_place", "normal.number_mean", "uniform", "randn", "randn_like",
          "rand_like", "randint", "randint_like", "multinomial", "new_empty",
          "new_empty_strided"}
# Randomized factorizations: compared by what does not depend on the draws (the singular values
# and the product U diag(S) V^H, exact where q reaches the matrix's rank: the samples without
# M, products of two rank-2 factors); with M (A - M of full rank) the result is an
# approximation that depends on the draws, compared by structure.
FACTORIZATIONS = {"svd_lowrank", "pca_lowrank"}

# ----------------------------------------------------------------------------------- KNOWN

# op id -> (reason, {(variant, dtype, kind), ...}): what stays different, in the dtypes run.
_FLOATS = ("float32", "float64", "float16", "bfloat16", "complex64")
_ALL = _FLOATS + ("int64", "int32", "int16", "int8", "uint8", "bool")


def _each(variant, kind, dtypes=_ALL):
    return {(variant, d, kind) for d in dtypes}


KNOWN = {
    # ATen-only forms and private ops: no public deltagrad name (and no PyTorch one).
    "slice": ("torch.ops.aten.slice: an ATen form, no torch.slice",
              _each("function", "missing")),
    # (s23: torch.native_group_norm and torch.grid_sampler_3d exist now; the latter's bfloat16
    # coordinates as F.grid_sample's)
    "grid_sampler_3d": ("bfloat16: PyTorch computes the coordinates in bfloat16, deltagrad in "
                        "float32 (as F.grid_sample, test_s13_OC)",
                        {("function", "bfloat16", "value")}),
    "native_dropout_backward": ("a private ATen backward op", _each("function", "missing")),
    "torch.ops.aten._safe_softmax.default": ("a private ATen op (torch.ops.aten)",
                                             _each("function", "missing")),
    "max_pool2d_with_indices_backward": (
        "torch.ops.aten.*.default: deltagrad has no ATen operator dispatch (NotImplementedError)",
        _each("function", "dg_raises", ("float32", "float64", "float16", "bfloat16"))),
    # PyTorch 2.13 is wrong here: the input's gradient is the cotangent's complement (zero
    # outside the scattered window, the cotangent inside it); finite differences agree with
    # deltagrad (test_as_strided_scatter_grad_matches_finite_differences).
    "as_strided_scatter": ("PyTorch's input gradient is wrong (finite differences: deltagrad's)",
                           {("function", "float32", "grad"), ("method", "float32", "grad")}),
    "where": ("a float16 tensor with a complex number: complex32, which deltagrad lacks",
              {("function", "float16", "dg_raises"), ("method", "float16", "dg_raises")}),
    # deltagrad's linalg.svd is real only (OB's decompositions).
    "svd_lowrank": ("complex linalg.svd is not offered", {("function", "complex64", "dg_raises")}),
    "pca_lowrank": ("complex linalg.svd is not offered", {("function", "complex64", "dg_raises")}),
}
assert all(isinstance(reason, str) and reason for reason, _ in KNOWN.values())
# KNOWN entries only the soak run meets (reference inputs, later samples): the default run
# allows them but does not require them.
SOAK_ONLY = {"where": {("function", "float16", "dg_raises"), ("method", "float16", "dg_raises")}}

# Error inputs: op id -> (reason, {kind, ...}).
KNOWN_ERRORS = {
    name: ("out= not offered (README: the out= forms deltagrad does not offer raise TypeError)",
           {"exc_class"}) for name in ("gather",)}  # (s31 PR26: take, index_select and
# masked_select take out=, SSD-style NMS code passes it)

# ----------------------------------------------------------------------------------- runs

# One extra dtype per op in the default run, rotated over the ops (each op's first supported
# dtype from this list, starting at its position): no gradients, few samples.
_ROTATION = (torch.int64, torch.bool, torch.float64, torch.complex64, torch.bfloat16,
             torch.float16, torch.int32, torch.uint8, torch.int8, torch.int16)
_DEFAULT_SAMPLES = 3
_FEW = {"max_pool2d_with_indices_backward": 1}  # (1440 samples, every one a NotImplementedError)


def _second_dtype(op, position):
    supported = op.supported_dtypes("cpu")
    for k in range(len(_ROTATION)):
        dtype = _ROTATION[(position + k) % len(_ROTATION)]
        if dtype in supported:
            return dtype
    return None


def _structure(obj):
    """A converted result with every array replaced by its dtype and shape."""
    if isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[1], np.ndarray):
        return (obj[0], obj[1].shape)
    if isinstance(obj, tuple):
        return tuple(_structure(x) for x in obj)
    return obj


def _run_structural(op, sample, variant):
    """``H.run_sample`` for random ops: who raises, dtypes and shapes (not values)."""
    t_fn = {"function": op.op, "method": op.method_variant,
            "inplace": op.inplace_variant}[variant]
    d_fn = H.resolve(op, variant)
    if d_fn is None:
        return ("missing", "no deltagrad counterpart")
    memo = {}
    d_in, d_args, d_kwargs = (H.to_dg(sample.input, memo, True), H.to_dg(sample.args, memo, True),
                              H.to_dg(sample.kwargs, memo, True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            t_out = t_fn(sample.input, *sample.args, **sample.kwargs)
        except Exception as exc:  # noqa: BLE001 - PyTorch's refusal is the reference
            try:
                d_fn(d_in, *d_args, **d_kwargs)
            except Exception:  # noqa: BLE001
                return None
            return ("torch_raises", f"PyTorch {type(exc).__name__}")
        try:
            d_out = d_fn(d_in, *d_args, **d_kwargs)
        except Exception as exc:  # noqa: BLE001
            return ("dg_raises", f"{type(exc).__name__}: {str(exc)[:160]}")
    want, got = _structure(H.to_numpy(t_out)), _structure(H.to_numpy(d_out))
    return None if want == got else ("value", f"{got} (PyTorch {want})")


def _run_factorization(op, sample):
    """svd_lowrank / pca_lowrank: singular values, and U diag(S) V^H, as PyTorch's."""
    if sample.kwargs.get("M") is not None:
        return _run_structural(op, sample, "function")
    fn = H.resolve(op, "function")
    memo = {}
    d_in, d_args, d_kwargs = (H.to_dg(sample.input, memo, True), H.to_dg(sample.args, memo, True),
                              H.to_dg(sample.kwargs, memo, True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_out = op.op(sample.input, *sample.args, **sample.kwargs)
        try:
            d_out = fn(d_in, *d_args, **d_kwargs)
        except Exception as exc:  # noqa: BLE001
            return ("dg_raises", f"{type(exc).__name__}: {str(exc)[:160]}")

    def parts(out, to_array):
        u, s, v = (to_array(x) for x in out[:3])
        return [s, np.einsum("...ik,...k,...jk->...ij", u, s, v.conj())]

    want = parts(t_out, lambda x: x.detach().numpy())
    got = parts(d_out, lambda x: x.detach().numpy())
    for name, w, g in zip(("S", "U S V^H"), want, got):
        tol = 1e-3 if w.dtype in (np.float32, np.complex64) else 1e-8
        if w.shape != g.shape or not np.allclose(g, w, rtol=tol, atol=tol):
            return ("value", f"{name} differs")
    return None


def _diffs(op, dtypes, grad, max_samples, inputs="sample"):
    name = H.op_id(op)
    max_samples = _FEW.get(name, max_samples)
    if name not in RANDOM and name not in FACTORIZATIONS:
        return H.sweep([op], dtypes=dtypes, grad=grad, max_samples=max_samples, inputs=inputs,
                       views=True)
    diffs = []
    for dtype in dtypes:
        if dtype not in op.supported_dtypes("cpu"):
            continue
        samples = list(op.sample_inputs("cpu", dtype))[:max_samples]
        variants = ("function",) if name in FACTORIZATIONS else ("function", "method", "inplace")
        for variant in variants:
            if {"function": op.op, "method": op.method_variant,
                    "inplace": op.inplace_variant}[variant] is None:
                continue
            for sample in samples:
                res = (_run_factorization(op, sample) if name in FACTORIZATIONS
                       else _run_structural(op, sample, variant))
                if res is not None:
                    diffs.append(H.Diff(name, variant, str(dtype)[6:], res[0],
                                        H.describe(sample), res[1]))
    return diffs


def _check(op, diffs, dtypes, soak=False):
    name = H.op_id(op)
    seen = {(d.variant, d.dtype, d.kind) for d in diffs}
    ran = {str(d)[6:] for d in dtypes}
    known = {k for k in KNOWN.get(name, ("", set()))[1] if k[1] in ran
             and k[1] in {str(d)[6:] for d in op.supported_dtypes("cpu")}}
    new = sorted(seen - known)
    detail = "\n".join(f"  {d.variant} {d.dtype} {d.kind} {d.sample}: {d.detail}"
                       for d in diffs if (d.variant, d.dtype, d.kind) in set(new))
    assert not new, f"{name}: new differences from PyTorch\n{detail}"
    required = known if soak else known - SOAK_ONLY.get(name, set())
    assert not required - seen, f"{name}: KNOWN lists {sorted(required - seen)}, which now agree"


@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_opinfo_samples(op):
    dtypes = [torch.float32]
    extra = _second_dtype(op, IDS.index(H.op_id(op)))
    if extra is not None:
        dtypes.append(extra)
    diffs = _diffs(op, (torch.float32,), True, _DEFAULT_SAMPLES)
    if extra is not None:
        diffs += _diffs(op, (extra,), False, 2)
    _check(op, diffs, dtypes)


_ERROR_OPS = [op for op in OPS if op.error_inputs_func is not None]


@pytest.mark.parametrize("op", _ERROR_OPS, ids=[H.op_id(op) for op in _ERROR_OPS])
def test_opinfo_error_inputs(op):
    kinds, detail = set(), []
    for err in op.error_inputs("cpu"):
        res = H.run_error_input(op, err, views=True)
        if res is not None:
            kinds.add(res[0])
            detail.append(f"  {H.describe(err.sample_input)}: {res[1]}")
    known = KNOWN_ERRORS.get(H.op_id(op), ("", set()))[1]
    assert kinds == known, f"{H.op_id(op)}: {sorted(kinds)} (KNOWN {sorted(known)})\n" + \
        "\n".join(detail)


def test_group_is_not_empty():
    # The sweep must not shrink silently: a renamed module or a changed rule would empty it.
    assert len(OPS) > 120
    names = set(IDS)
    assert {"gather", "index_put", "scatter_reduce.sum", "as_strided", "diagonal_scatter",
            "masked_scatter", "take_along_dim", "unfold", "cat"} <= names
    assert len(_ERROR_OPS) > 25


@pytest.mark.soak
@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_opinfo_samples_all_dtypes(op):
    dtypes = [d for d in (torch.float32,) + _ROTATION if d in op.supported_dtypes("cpu")]
    diffs = _diffs(op, (torch.float32,), True, None)
    diffs += _diffs(op, tuple(d for d in dtypes if d != torch.float32), False, None)
    if op.reference_inputs_func is not None:
        # (reference inputs without gradients: some of PyTorch's generators refuse
        # requires_grad for their boolean conditions)
        diffs += _diffs(op, tuple(dtypes), False, None, inputs="reference")
    _check(op, diffs, dtypes, soak=True)


# ----------------------------------------------------------------------------------- the rest


def test_random_ops_support_and_moments():
    # What the structural comparison above leaves out: the draws' range and moments.
    dg.manual_seed(0)
    n = 20000
    x = dg.empty(n).uniform_(-3.0, 5.0)
    assert -3.0 <= float(x.min()) and float(x.max()) < 5.0
    assert abs(float(x.mean()) - 1.0) < 0.1 and abs(float(x.var()) - 64 / 12) < 0.2
    x = dg.empty(n).normal_(2.0, 3.0)
    assert abs(float(x.mean()) - 2.0) < 0.1 and abs(float(x.std()) - 3.0) < 0.1
    x = dg.normal(1.6, 0.3, (n,))
    assert abs(float(x.mean()) - 1.6) < 0.02 and abs(float(x.std()) - 0.3) < 0.02
    like = dg.zeros(n, dtype=dg.float64)
    x = dg.randn_like(like)
    assert x.dtype == dg.float64 and abs(float(x.mean())) < 0.05
    x = dg.rand_like(like)
    assert 0.0 <= float(x.min()) and float(x.max()) < 1.0
    x = dg.randint(3, 10, (n,))
    assert x.dtype == dg.int64 and int(x.min()) == 3 and int(x.max()) == 9
    x = dg.randint_like(like, 4)
    assert x.dtype == dg.float64 and set(np.unique(x.numpy()).tolist()) == {0.0, 1.0, 2.0, 3.0}
    drawn = dg.multinomial(dg.tensor([1.0, 0.0, 3.0, 2.0]), 3)
    assert sorted(drawn.tolist()) == [0, 2, 3]  # without replacement: each nonzero weight once
    counts = np.bincount(dg.multinomial(dg.tensor([1.0, 3.0]), n, replacement=True).numpy(),
                         minlength=2)
    assert abs(counts[1] / n - 0.75) < 0.02
