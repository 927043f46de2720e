"""Regression tests for what session 29's complex-number fuzzer family (``s29_SL22_complex.py``)
found: each runs the same code on deltagrad and on PyTorch and compares the outcome (values,
dtypes, strides, gradients, exception classes, warnings)."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import errors

torch = pytest.importorskip("torch")


def _outcome(lib, fn):
    try:
        value = fn(lib)
    except Exception as exc:  # noqa: BLE001 - the class is what is compared
        return [k.__name__ for k in type(exc).__mro__ if k.__module__ == "builtins"][0]
    return value


def _plain(t):
    return (str(t.dtype).rsplit(".", 1)[-1], tuple(t.shape), t.detach().numpy().copy())


def _same_tensor(ours, theirs, rtol=1e-6, atol=1e-7):
    o, t = _plain(ours), _plain(theirs)
    assert o[:2] == t[:2]
    np.testing.assert_allclose(o[2], t[2], rtol=rtol, atol=atol)


# -- acosh's complex gradient: sqrt(z - 1) sqrt(z + 1), not sqrt(z^2 - 1) -----------------------

@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_acosh_complex_gradient_on_both_half_planes(dtype):
    values = [1.019 - 0.655j, -1.562 + 0.439j, -0.361 - 0.751j, -1.176 - 0.541j, 0.5 + 2j,
              2 - 0.1j]
    grads = []
    for lib in (dg, torch):
        z = lib.tensor(values, dtype=getattr(lib, dtype), requires_grad=True)
        (lib.view_as_real(lib.acosh(z)) ** 2).sum().backward()
        grads.append(z.grad)
    _same_tensor(*grads, rtol=1e-5, atol=1e-6)


def test_acosh_real_gradient_unchanged():
    grads = []
    for lib in (dg, torch):
        x = lib.tensor([1.5, 2.0, 7.25], dtype=lib.float64, requires_grad=True)
        lib.acosh(x).sum().backward()
        grads.append(x.grad)
    _same_tensor(*grads, rtol=1e-12, atol=0)


# -- a gradient seed that is complex for a real output, or real for a complex one --------------

@pytest.mark.parametrize("case", ["grad-real-seed", "grad-complex-seed", "backward-real-seed",
                                  "backward-complex-seed", "grad-wider-complex"])
def test_seed_of_the_other_kind_is_refused(case):
    def run(lib):
        z = lib.tensor([1 + 1j, 2.0, 3j], requires_grad=True)
        out = z.abs() if "complex-seed" in case else z * 2
        seed = (lib.ones(3, dtype=lib.complex128) if "complex" in case.split("-", 1)[1]
                else lib.ones(3))
        if case.startswith("grad"):
            return _plain(lib.autograd.grad(out, z, grad_outputs=seed)[0])
        out.backward(seed)
        return _plain(z.grad)
    ours, theirs = _outcome(dg, run), _outcome(torch, run)
    if isinstance(theirs, str):
        assert ours == theirs == "RuntimeError"
    else:
        assert ours[:2] == theirs[:2]
        np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-6)


# -- complex -> real casts: PyTorch's UserWarning, once a process (no NumPy ComplexWarning) -----

_CASTS = """
import warnings
import deltagrad
import torch
out = []
for lib in (deltagrad, torch):
    seen = []
    for stmt in ["z.float()", "z.long()", "z.to(lib.float64)", "z.bool()", "r.copy_(z)",
                 "r.__setitem__(Ellipsis, z)", "z.real.clone()"]:
        z = lib.tensor([1 + 2j, 0.5 - 1j]); r = lib.zeros(2)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = eval(stmt)
        value = r if value is None else value
        seen.append([stmt, [w.category.__name__ for w in caught], value.tolist()])
    out.append(seen)
print(out[0] == out[1], out[1])
"""


@pytest.mark.soak
def test_complex_to_real_cast_warns_once_a_process():
    # (one process for both libraries, each warning for the first time there: 2 s of CPU;
    # the default run's check is the next test's, in this process)
    done = subprocess.run([sys.executable, "-c", _CASTS], capture_output=True, text=True,
                          timeout=120, check=True)
    same, theirs = done.stdout.split(" ", 1)
    assert same == "True", done.stdout
    assert theirs.count("UserWarning") == 1, theirs


def test_complex_to_real_cast_warning_in_this_process():
    # deltagrad's once-a-process key discarded (and put back as it was): its first cast warns
    # UserWarning, the later ones nothing, none NumPy's ComplexWarning (PyTorch's pattern, the
    # soak test above compares it with PyTorch's own in a fresh process); values as PyTorch's.
    key = "complex to real cast"
    had = key in errors._WARNED_ONCE
    errors._WARNED_ONCE.discard(key)
    try:
        seen = []
        for stmt in (lambda z, r: z.float(), lambda z, r: z.long(), lambda z, r: r.copy_(z),
                     lambda z, r: z.bool()):
            values = []
            for lib in (dg, torch):
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    value = stmt(lib.tensor([1 + 2j, 0.5 - 1j]), lib.zeros(2))
                if lib is dg:
                    seen.append([w.category.__name__ for w in caught])
                values.append(value.tolist())
            assert values[0] == values[1]
        assert seen == [["UserWarning"], [], [], []]
    finally:
        (errors._WARNED_ONCE.add if had else errors._WARNED_ONCE.discard)(key)


# -- a Python complex written into a real tensor -----------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
@pytest.mark.parametrize("value", ["1j", "(2+0j)", "(-1.5+0.5j)"])
@pytest.mark.parametrize("where", ["ellipsis", "index", "grad-index", "grad-ellipsis"])
def test_setitem_python_complex_into_real(dtype, value, where):
    # ("grad-": a float32 target in the graph, the recorded write's path; it wrote the real
    # part silently)
    def run(lib):
        grad = where.startswith("grad") and dtype == "float32"
        x = lib.zeros(3, dtype=getattr(lib, dtype), requires_grad=grad).clone()
        x[... if where.endswith("ellipsis") else 1] = eval(value)
        return x.tolist()
    assert _outcome(dg, run) == _outcome(torch, run)


# -- complex inv / solve / cholesky: LAPACK's column-major results -----------------------------

@pytest.mark.parametrize("op", ["inv", "inv-batched", "solve", "solve-batched", "cholesky",
                                "cholesky-batched", "solve-real-batched"])
def test_linalg_result_layout(op):
    def run(lib):
        a = lib.tensor([[4 + 1j, 1 - 0.5j], [0.5j, 3 - 1j]], dtype=lib.complex128)
        if op == "solve-real-batched":
            a = a.real.clone()
        if "batched" in op:
            a = lib.stack([a, 2 * a, a + lib.eye(2)])
        b = lib.ones(a.shape[:-1] + (3,), dtype=a.dtype)
        if op.startswith("inv"):
            out = lib.linalg.inv(a)
        elif op.startswith("solve"):
            out = lib.linalg.solve(a, b)
        else:
            out = lib.linalg.cholesky(a @ a.mH)
        return out.stride(), out.is_contiguous(), out.numpy().copy()
    ours, theirs = run(dg), run(torch)
    assert ours[:2] == theirs[:2]
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-10, atol=1e-12)


# -- logcumsumexp of complex input; cummax / cummin of a 0-d complex tensor ---------------------

@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_logcumsumexp_complex(dtype, dim):
    values = [[1 + 1j, 2j, -1 - 0.5j, 0.25], [100 + 3j, -50j, 0.5 - 2j, -3 + 1j]]
    outs = [lib.logcumsumexp(lib.tensor(values, dtype=getattr(lib, dtype)), dim)
            for lib in (dg, torch)]
    _same_tensor(*outs, rtol=1e-5, atol=1e-6)
    assert outs[0].stride() == outs[1].stride()


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("case", ["plain", "requires-grad", "no-grad", "1d", "bad-dim"])
def test_running_extreme_of_0d_complex(name, case):
    def run(lib):
        x = lib.tensor([1 + 1j] if case == "1d" else 1 + 1j, requires_grad=case != "plain")
        fn = getattr(lib, name)
        if case == "no-grad":
            with lib.no_grad():
                values, indices = fn(x, 0)
        else:
            values, indices = fn(x, 1 if case == "bad-dim" else 0)
        return values.tolist(), indices.tolist(), values.requires_grad
    assert _outcome(dg, run) == _outcome(torch, run)
