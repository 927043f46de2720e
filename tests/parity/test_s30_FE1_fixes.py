"""Differential regression tests for what running PyTorch's foreach and CPU autocast test lists
found (session 30, FE1): each case runs the same code on deltagrad and on PyTorch and compares
values, dtypes, gradients and exception classes."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402


def _run(lib, fn):
    """(result as NumPy / dtype names, or the exception class name)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = fn(lib)
        except Exception as exc:  # noqa: BLE001 - the class is compared
            return ("raises", type(exc).__mro__)
    return ("ok", _flat(out))


def _flat(out):
    if isinstance(out, (list, tuple)):
        return [_flat(x) for x in out]
    if hasattr(out, "dtype") and hasattr(out, "shape"):
        return (str(out.dtype).split(".")[-1], out.detach().float().numpy().copy())
    return out


def _same(fn, rtol=1.3e-6, atol=1e-6):
    t, d = _run(torch, fn), _run(dg, fn)
    if t[0] == "raises" or d[0] == "raises":
        assert t[0] == d[0] == "raises", (t, d)
        assert t[1][0] in d[1], f"deltagrad {d[1][0].__name__}, PyTorch {t[1][0].__name__}"
        return
    _close(t[1], d[1], rtol, atol)


def _close(t, d, rtol, atol):
    if isinstance(t, list):
        assert isinstance(d, list) and len(t) == len(d), (t, d)
        for a, b in zip(t, d):
            _close(a, b, rtol, atol)
    elif isinstance(t, tuple):
        assert t[0] == d[0], f"dtype {d[0]} (PyTorch {t[0]})"
        np.testing.assert_allclose(d[1], t[1], rtol=rtol, atol=atol)
    else:
        assert t == d


def _lists(lib, n=3, seed=0, grad=False, dtype="float32"):
    rng = np.random.default_rng(seed)
    return [lib.tensor(rng.uniform(0.5, 2.0, (k + 1, 2)).astype(dtype), requires_grad=grad)
            for k in range(n)]


# ------------------------------------------------------------------ foreach addcmul / addcdiv


@pytest.mark.parametrize("op", ["addcmul", "addcdiv", "addcmul_", "addcdiv_"])
@pytest.mark.parametrize("form", ["scalars= list", "scalars= tensor", "value= number",
                                  "positional tensor", "int tensor"])
def test_foreach_pointwise_scale_forms(op, form):
    # PyTorch's foreach_pointwise_op_db passes the per-tensor scales as scalars=: deltagrad's
    # _foreach_addcmul / addcdiv took only value (TypeError: unexpected keyword 'scalars')
    def call(lib):
        a, b, c = _lists(lib, seed=1), _lists(lib, seed=2), _lists(lib, seed=3)
        scale = {"scalars= list": {"scalars": [0.5, -1.0, 2.0]},
                 "scalars= tensor": {"scalars": lib.tensor([0.5, -1.0, 2.0])},
                 "value= number": {"value": 0.25}}.get(form)
        positional = () if scale else ((lib.tensor([0.5, -1.0, 2.0]),) if form ==
                                       "positional tensor" else (lib.tensor([1, 2, 3]),))
        out = getattr(lib, f"_foreach_{op}")(a, b, c, *positional, **(scale or {}))
        return a if op.endswith("_") else out
    _same(call)


@pytest.mark.parametrize("case", ["0-d tensor", "2-d tensor", "short tensor", "value= list",
                                  "scalars= number", "both", "unknown keyword"])
def test_foreach_pointwise_scale_errors(case):
    def call(lib):
        a = _lists(lib)
        args = {"0-d tensor": ((lib.tensor(2.0),), {}),
                "2-d tensor": ((lib.ones(3, 1),), {}),
                "short tensor": ((lib.tensor([1.0, 2.0]),), {}),
                "value= list": ((), {"value": [1.0, 2.0, 3.0]}),
                "scalars= number": ((), {"scalars": 2.0}),
                "both": ((2.0,), {"value": 3.0}),
                "unknown keyword": ((), {"alpha": 2.0})}[case]
        return lib._foreach_addcmul(a, a, a, *args[0], **args[1])
    _same(call)


# ------------------------------------------------------------------ foreach mm


def test_foreach_mm_values_and_gradients():
    # (foreach_other_op_db's _foreach_mm: deltagrad had no such function)
    def call(lib):
        rng = np.random.default_rng(0)
        a = [lib.tensor(rng.standard_normal((m, 3)), requires_grad=True) for m in (2, 4)]
        b = [lib.tensor(rng.standard_normal((3, n)), requires_grad=True) for n in (5, 1)]
        out = lib._foreach_mm(a, mat2=b)
        grads = lib.autograd.grad([o.sum() * (k + 1) for k, o in enumerate(out)], a + b)
        return [list(out), list(grads), type(out).__name__]
    _same(call)


@pytest.mark.parametrize("case", ["short", "shapes", "1-d", "dtypes", "ints", "no inplace"])
def test_foreach_mm_errors_and_dtypes(case):
    def call(lib):
        if case == "short":
            return lib._foreach_mm([lib.ones(2, 3)] * 2, [lib.ones(3, 4)])
        if case == "shapes":
            return lib._foreach_mm([lib.ones(2, 3)], [lib.ones(2, 4)])
        if case == "1-d":
            return lib._foreach_mm([lib.ones(3)], [lib.ones(3, 4)])
        if case == "dtypes":
            return lib._foreach_mm([lib.ones(2, 3)], [lib.ones(3, 4, dtype=lib.float64)])
        if case == "ints":
            return lib._foreach_mm([lib.ones(2, 3, dtype=lib.int64)],
                                   [lib.ones(3, 4, dtype=lib.int64)])
        return lib._foreach_mm_
    _same(call)


# ------------------------------------------------------------------ foreach max / min, complex


@pytest.mark.parametrize("op", ["maximum", "minimum", "clamp_min", "clamp_max", "maximum_"])
@pytest.mark.parametrize("other", ["list", "number"])
def test_foreach_max_min_refuse_complex_as_pytorch(op, other):
    # PyTorch's foreach kernels raise NotImplementedError for complex lists (its
    # Tensor.maximum raises RuntimeError: deltagrad's per-tensor loop raised that)
    def call(lib):
        a = [lib.ones(2, dtype=lib.complex64), lib.ones(3, dtype=lib.complex64)]
        return getattr(lib, f"_foreach_{op}")(a, a if other == "list" else 1.0)
    _same(call)


# ------------------------------------------------------------------ pow's bfloat16 gradient


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "float32"])
def test_pow_gradient_keeps_dtype_with_a_negative_base(dtype):
    # (a negative base took the guarded branch, whose Python 0.0 made bfloat16's gradients
    # float32; PyTorch's stay bfloat16)
    def call(lib):
        rng = np.random.default_rng(0)
        x = lib.tensor(rng.uniform(-3, 3, (4, 5)).astype(np.float32)).to(
            getattr(lib, dtype)).requires_grad_()
        y = lib.tensor(rng.uniform(-3, 3, (4, 5)).astype(np.float32)).to(
            getattr(lib, dtype)).requires_grad_()
        y.data[0, 0] = 0.0
        out = lib.pow(x, y)
        grads = lib.autograd.grad(out, [x, y], lib.ones_like(out))
        return [lib._foreach_pow([x], [y])[0], *grads]
    tol = {"bfloat16": 2e-2, "float16": 2e-3}.get(dtype, 1e-5)
    _same(call, rtol=tol, atol=tol)


# ------------------------------------------------------------------ torch.margin_ranking_loss


@pytest.mark.parametrize("target", [(8,), (), (3, 8, 8), (3,)])
def test_torch_margin_ranking_loss_broadcasts(target):
    # (AutocastCPUTestLists.torch_fp32 calls torch.margin_ranking_loss on 8 x 8 inputs and a
    # target of 8: ATen's op broadcasts; deltagrad raised the functional's same-dimension
    # error. nn.functional's keeps raising it, as PyTorch's)
    def call(lib):
        rng = np.random.default_rng(0)
        a = lib.tensor(rng.standard_normal((8, 8)), requires_grad=True)
        b = lib.tensor(rng.standard_normal((8, 8)), requires_grad=True)
        t = lib.tensor(np.sign(rng.standard_normal(target)))
        loss = lib.margin_ranking_loss(a, b, t, 0.2, 1)
        return [loss, *lib.autograd.grad(loss, [a, b])]
    _same(call)


def test_functional_margin_ranking_loss_still_checks_dimensions():
    _same(lambda lib: lib.nn.functional.margin_ranking_loss(lib.ones(8, 8), lib.ones(8, 8),
                                                            lib.ones(8)))


# ------------------------------------------------------------------ F.pad under CPU autocast


@pytest.mark.parametrize("amp,source", [("bfloat16", "float32"), ("bfloat16", "half"),
                                        ("float16", "float32"), ("float16", "float64")])
@pytest.mark.parametrize("mode,shape,pad", [
    ("reflect", (2, 3, 8), (3, 3)), ("reflect", (3, 8), (1, 2)),
    ("reflect", (2, 3, 6, 6), (1, 1, 2, 2)), ("reflect", (3, 6, 6), (1, 1)),
    ("reflect", (1, 2, 4, 4, 4), (1, 1, 1, 1, 1, 1)),
    ("replicate", (2, 3, 8), (2, 1)), ("replicate", (2, 3, 6, 6), (1, 1, 1, 1)),
    ("replicate", (1, 2, 4, 4, 4), (1, 1, 1, 1, 1, 1)),
    ("circular", (2, 3, 8), (1, 1)), ("constant", (2, 3, 8), (1, 1))])
def test_pad_under_cpu_autocast(amp, mode, shape, pad, source):
    # PyTorch's CPU autocast runs reflection_pad1d / 2d and replication_pad1d / 2d / 3d in
    # float32 (its list: reflection_pad1d): deltagrad's F.pad kept the half dtype
    def call(lib):
        rng = np.random.default_rng(0)
        dtype = getattr(lib, amp if source == "half" else source)
        x = lib.tensor(rng.standard_normal(shape).astype(np.float32)).to(dtype)
        x.requires_grad_()
        with lib.autocast("cpu", dtype=getattr(lib, amp)):
            out = lib.nn.functional.pad(x, pad, mode=mode)
        (grad,) = lib.autograd.grad(out, x, lib.ones_like(out))
        return [out, grad]
    _same(call, rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("module", ["ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d",
                                    "ReplicationPad3d", "ReflectionPad3d", "CircularPad1d"])
def test_padding_modules_under_cpu_autocast(module):
    def call(lib):
        dims = int(module[-2])
        x = lib.ones((2, 3) + (4,) * dims, dtype=lib.bfloat16)
        with lib.autocast("cpu"):
            return getattr(lib.nn, module)(1)(x)
    _same(call)


def test_conv_with_reflect_padding_under_cpu_autocast():
    def call(lib):
        lib.manual_seed(0)
        conv = lib.nn.Conv1d(3, 4, 3, padding=1, padding_mode="reflect")
        x = lib.ones(2, 3, 8)
        with lib.autocast("cpu"):
            return str(conv(x).dtype).split(".")[-1]
    assert _run(torch, call)[1] == _run(dg, call)[1] == "bfloat16"


# ------------------------------------------------------------------ renorm in bfloat16


@pytest.mark.parametrize("p,dim,maxnorm", [(2, 0, 1.5), (1, 1, 2.0), (float("inf"), -1, 0.5)])
def test_renorm_bfloat16(p, dim, maxnorm):
    # (PyTorch 2.13's CPU renorm takes bfloat16; deltagrad raised NotImplementedError)
    def call(lib):
        rng = np.random.default_rng(0)
        x = lib.tensor((rng.standard_normal((4, 5)) * 3).astype(np.float32)).to(
            lib.bfloat16).requires_grad_()
        out = lib.renorm(x, p, dim, maxnorm)
        return [out, x.renorm(p, dim, maxnorm), *lib.autograd.grad(out.sum(), x)]
    _same(call, rtol=1.6e-2, atol=1e-2)


# ------------------------------------------------------------------ foreach max / min, ties


@pytest.mark.parametrize("op", ["maximum", "minimum", "maximum_", "minimum_"])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("number", [7, 0.5, True])
def test_foreach_max_min_number_splits_the_gradient_at_ties(op, dtype, number):
    # (PyTorch's foreach maximum / minimum with a number passes half the gradient where an
    # element equals it, as maximum's; deltagrad ran clamp_min / clamp_max, which pass it all.
    # Seen on PyTorch's own bfloat16 lists of 20 x 20, which hold a 7 now and then)
    def call(lib):
        base = [lib.tensor([[1.0, 7.0, 0.5], [9.0, -2.0, 7.0]]), lib.tensor([0.5, 3.0, 1.0])]
        leaves = [t.to(getattr(lib, dtype)).requires_grad_() for t in base]
        work = [t * 1 for t in leaves] if op.endswith("_") else leaves
        out = getattr(lib, f"_foreach_{op}")(work, number)
        out = work if op.endswith("_") else out
        grads = lib.autograd.grad([(o * (k + 2)).sum() for k, o in enumerate(out)], leaves)
        return [list(out), list(grads)]
    _same(call)
