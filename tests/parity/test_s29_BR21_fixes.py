"""s29 BR21: differences left by PR21 / SL22 / VM1, each checked against PyTorch 2.13."""
from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

LIBS = (("torch", torch), ("dg", dg))


# ---------------------------------------------------------------- fx.Transformer targets

def _transformed(lib, probe):
    fx = lib.fx
    seen = []

    class Swap(fx.Transformer):
        def call_function(self, target, args, kwargs):
            seen.append(probe(lib, target))
            if target == lib.relu:  # (PyTorch's documented pattern)
                return lib.sigmoid(*args)
            return super().call_function(target, args, kwargs)

    gm = Swap(fx.symbolic_trace(lambda x: lib.relu(x) + 1)).transform()
    names = [(n.op, getattr(n.target, "__name__", str(n.target))) for n in gm.graph.nodes]
    return seen, names, gm(lib.tensor([-1.0, 0.5, 2.0])).tolist()


def test_transformer_target_equals_function_looked_up_during_transform():
    def probe(lib, target):
        return (target == lib.relu, lib.relu == target, target != lib.relu,
                target.__name__, callable(target))

    made = {name: _transformed(lib, probe) for name, lib in LIBS}
    assert made["dg"] == made["torch"]
    assert made["dg"][1][1] == ("call_function", "sigmoid")


def test_transformer_graph_holds_the_functions_themselves():
    fx = dg.fx
    relu = dg.relu  # (captured outside transform(): the function itself)

    class Keep(fx.Transformer):
        def call_function(self, target, args, kwargs):
            assert target == relu and hash(target) == hash(relu)
            return super().call_function(target, args, kwargs)

    gm = Keep(fx.symbolic_trace(lambda x: dg.relu(x))).transform()
    targets = [n.target for n in gm.graph.nodes if n.op == "call_function"]
    assert targets == [relu] and targets[0] is dg.relu


# ---------------------------------------------------------------- kthvalue of a 0-d complex

@pytest.mark.parametrize("k", [1, 2])
def test_kthvalue_zero_dim_complex(k):
    made = {}
    for name, lib in LIBS:
        try:
            values, indices = lib.kthvalue(lib.tensor(1 + 2j), k)
            made[name] = (values.item(), str(values.dtype)[-9:], tuple(values.shape),
                          indices.item(), str(indices.dtype)[-5:])
        except Exception as e:  # noqa: BLE001 (the class is compared)
            made[name] = type(e).__name__
    assert made["dg"] == made["torch"]


def test_kthvalue_one_dim_complex_still_refused():
    for lib in (torch, dg):
        with pytest.raises(NotImplementedError):
            lib.kthvalue(lib.tensor([1 + 2j, 3j]), 1)


# ---------------------------------------------------------------- complex ndarray -> real dtype

_WARNING_CODE = """
import warnings, numpy as np, {lib} as t
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    a = t.tensor(np.array([1.7 + 2j, -3 - 1j]), dtype=t.float32)
    b = t.as_tensor(np.array([2.5 + 1j]), dtype=t.int64)
print(a.tolist(), str(a.dtype)[-7:], b.tolist(), str(b.dtype)[-5:])
print([(x.category.__name__, str(x.message).split(" (Triggered")[0]) for x in w])
"""


def test_tensor_of_complex_ndarray_as_real_warns_like_pytorch():
    out = {}
    for name in ("torch", "deltagrad"):
        run = subprocess.run([sys.executable, "-c", _WARNING_CODE.format(lib=name)],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        out[name] = run.stdout
    assert out["deltagrad"] == out["torch"]
    assert "UserWarning" in out["deltagrad"] and "ComplexWarning" not in out["deltagrad"]


def test_tensor_of_complex_ndarray_as_complex_or_bool_is_quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert dg.tensor(np.array([1 + 2j]), dtype=dg.complex64).tolist() == [1 + 2j]
        assert dg.tensor(np.array([0j, 1j]), dtype=dg.bool).tolist() == [False, True]


# ---------------------------------------------------------------- vmap: unbatched self

_OTHERS = {
    "masked_fill_": (lambda a, b: a.masked_fill_(b > 0, 1.0)),  # (b > 0: computed, same rows)
    "add_": (lambda a, b: a.add_(b)),
    "copy_": (lambda a, b: a.copy_(b)),
    "clamp_min_": (lambda a, b: a.clamp_min_(b)),
    "logical_and_": (lambda a, b: a.logical_and_(b)),
    "div_floor": (lambda a, b: a.div_(b, rounding_mode="floor")),
    "setitem": (lambda a, b: (a.__setitem__(slice(None), b), a)[1]),
    "add_scalar": (lambda a, b: a.add_(2) + b),
    "batched_self": (lambda a, b: b.add_(a)),
}


@pytest.mark.parametrize("case", sorted(_OTHERS))
def test_vmap_inplace_into_unbatched_self(case):
    made = {}
    for name, lib in LIBS:
        x = lib.zeros(3)
        rows = lib.tensor([[1.0, 0.0, 2.0]] * 4)  # (every example the same: the old loop's
        try:  # content check let that through)
            out = lib.func.vmap(_OTHERS[case], in_dims=(None, 0))(x, rows.clone())
            made[name] = ("ok", out.tolist(), x.tolist())
        except RuntimeError as e:
            made[name] = ("RuntimeError", str(e).startswith("vmap: inplace arithmetic"))
    if case == "masked_fill_":  # (a value computed from a mapped input: not known batched)
        assert made["torch"][0] == "RuntimeError" and made["dg"][0] == "ok"
        return
    if case == "batched_self" or case == "add_scalar":
        assert made["dg"] == made["torch"]
        return
    assert made["dg"][0] == made["torch"][0] == "RuntimeError"
    assert made["dg"][1]


# ---------------------------------------------------------------- cholesky strides

@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)])
@pytest.mark.parametrize("dtype", ["float64", "complex128"])
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_factor_is_column_major(shape, dtype, upper):
    made = {}
    for name, lib in LIBS:
        gen = np.random.default_rng(0)
        a = gen.standard_normal(shape) + (1j * gen.standard_normal(shape)
                                          if dtype == "complex128" else 0)
        h = a @ np.conj(np.swapaxes(a, -1, -2)) + 3 * np.eye(shape[-1])
        factor = lib.linalg.cholesky(lib.tensor(h, dtype=getattr(lib, dtype)), upper=upper)
        made[name] = (factor.stride(), factor.is_contiguous(), factor.numpy())
    assert made["dg"][:2] == made["torch"][:2]
    np.testing.assert_allclose(made["dg"][2], made["torch"][2], rtol=1e-12, atol=1e-12)
