"""Regression tests for the differences that PyTorch's JIT list of nn.functional calls turned
up (session 29, NF1; tests/parity/s29_NF1_harness.py), each run on deltagrad and on PyTorch,
and checks of the KNOWN entries' other half (deltagrad computes where PyTorch raises: its
values are right)."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402

LIBS = {"torch": torch, "dg": dg}


def _np(t):
    return np.asarray(t.detach().float().numpy() if t.dtype in (torch.bfloat16, dg.bfloat16)
                      else t.detach().numpy())


def _raises(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the class and words are compared
        return e
    return None


# ---------------------------------------------------------------- ctc_loss's double backward


def _ctc(lib, reduction):
    gen = np.random.default_rng(0)
    lp = lib.tensor(gen.standard_normal((5, 3, 4)), dtype=lib.float64).log_softmax(2)
    lp = lp.detach().requires_grad_(True)
    loss = lib.nn.functional.ctc_loss(lp, lib.tensor([[1, 2], [1, 1], [3, 2]]),
                                      lib.tensor([5, 5, 4]), lib.tensor([2, 2, 1]),
                                      reduction=reduction)
    return lp, loss


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ctc_loss_double_backward_raises_as_pytorch(reduction):
    # Was silent: the first gradient was recorded as a constant times the incoming gradient,
    # so second derivatives left out its dependence on log_probs (gradgradcheck failed).
    results = {}
    for name, lib in LIBS.items():
        lp, loss = _ctc(lib, reduction)
        seed = lib.ones(loss.shape, dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad(loss, lp, seed, create_graph=True)
        assert g.requires_grad
        assert g.grad_fn.name().endswith("NotImplemented")
        errors = [_raises(lambda lib=lib, g=g, lp=lp: lib.autograd.grad(g.sum(), lp,
                                                                        retain_graph=True)),
                  _raises(lambda lib=lib, g=g, s=seed: lib.autograd.grad((g * g).sum(), s,
                                                                         retain_graph=True))]
        for err in errors:
            assert type(err) is RuntimeError or (name == "dg" and isinstance(err, RuntimeError))
            assert str(err).startswith(
                "derivative for aten::_ctc_loss_backward is not implemented")
        results[name] = _np(g)
    np.testing.assert_allclose(results["dg"], results["torch"], rtol=1e-10, atol=1e-12)


def test_ctc_loss_first_order_unchanged_under_create_graph():
    for lib in LIBS.values():
        lp, loss = _ctc(lib, "mean")
        (plain,) = lib.autograd.grad(loss, lp, retain_graph=True)
        (graphed,) = lib.autograd.grad(loss, lp, create_graph=True)
        np.testing.assert_array_equal(_np(graphed), _np(plain))


# ---------------------------------------------------------------- conv_tbc's layout and node


def test_conv_tbc_result_contiguous_with_pytorchs_node():
    # Was the permuted view of conv1d's result: strides (1, T' C_out, T'), node PermuteBackward0.
    out = {}
    for name, lib in LIBS.items():
        gen = np.random.default_rng(1)
        x, w, b = (lib.tensor(gen.standard_normal(s), requires_grad=True)
                   for s in ((6, 3, 4), (3, 4, 5), (5,)))
        y = lib.conv_tbc(x, w, b, 1)
        assert y.is_contiguous() and tuple(y.stride()) == (15, 5, 1)
        assert y.grad_fn.name() == "ConvTbcBackward0"
        y.backward(lib.tensor(np.random.default_rng(2).standard_normal((6, 3, 5))))
        out[name] = [_np(t) for t in (y, x.grad, w.grad, b.grad)]
    for d, t in zip(out["dg"], out["torch"]):
        np.testing.assert_allclose(d, t, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- batch_norm's dtype rule


_EMPTY = [("float16", "float16"), ("float32", "float64"), ("float64", "float32"),
          ("bfloat16", "float16"), ("float16", "float32")]


@pytest.mark.parametrize("dtypes", _EMPTY, ids=["-".join(d) for d in _EMPTY])
def test_batch_norm_of_an_empty_batch_takes_any_parameter_dtype(dtypes):
    # ATen's path for an empty input; float16 training with float16 statistics raised (the
    # JIT list's batch_norm size_zero entry in half precision), float32 with float64 weights.
    xd, pd = dtypes
    got = {}
    for name, lib in LIBS.items():
        x = lib.zeros(0, 3, 2, dtype=getattr(lib, xd), requires_grad=True)
        w = lib.ones(3, dtype=getattr(lib, pd), requires_grad=True)
        b = lib.zeros(3, dtype=getattr(lib, pd), requires_grad=True)
        mean, var = lib.zeros(3, dtype=getattr(lib, pd)), lib.ones(3, dtype=getattr(lib, pd))
        y = lib.nn.functional.batch_norm(x, mean, var, w, b, training=True)
        y.sum().backward()
        got[name] = (str(y.dtype).split(".")[-1], tuple(y.shape), _np(w.grad).tolist(),
                     _np(b.grad).tolist(), _np(mean).tolist(), _np(var).tolist())
    assert got["dg"] == got["torch"]


_MIXES = [("float16", "float16", "bfloat16"), ("float16", "float16", "float32"),
          ("float16", "bfloat16", "float16"), ("float16", "float32", "float16"),
          ("bfloat16", "bfloat16", "float32"), ("bfloat16", None, "float16"),
          ("float32", "bfloat16", "bfloat16"), ("float32", "float64", "float64"),
          ("float64", "float32", "float32"), ("float32", "float32", "float64"),
          ("float16", "float32", "float32"), ("bfloat16", "bfloat16", "bfloat16")]


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("mix", _MIXES, ids=["-".join(map(str, m)) for m in _MIXES])
def test_batch_norm_dtype_mixes_as_pytorch(mix, training):
    # PyTorch's CPU rule: parameters and statistics of the input's dtype, or all float32 for
    # a reduced-precision (or float32) input; float16 with bfloat16 statistics, bfloat16 with
    # float32 ones and float32 with bfloat16 weights computed before.
    xd, pd, sd = mix
    got = {}
    for name, lib in LIBS.items():
        gen = np.random.default_rng(3)
        x = lib.tensor(gen.standard_normal((4, 3, 2))).to(getattr(lib, xd))
        w = None if pd is None else lib.tensor(gen.random(3)).to(getattr(lib, pd))
        stats = [lib.tensor(gen.random(3) + 0.5).to(getattr(lib, sd)) for _ in "mv"]
        err = _raises(lambda lib=lib, name=name, x=x, stats=stats, w=w: got.__setitem__(
            name, lib.nn.functional.batch_norm(x, *stats, w, None, training=training)))
        if err is not None:
            got[name] = (type(err), str(err).split(" (batch_norm:")[0])
    if isinstance(got["torch"], tuple):
        assert isinstance(got["dg"], tuple), f"PyTorch raised {got['torch']}"
        assert issubclass(got["dg"][0], got["torch"][0]) and got["dg"][1] == got["torch"][1]
    else:
        assert not isinstance(got["dg"], tuple), got["dg"]
        assert got["dg"].dtype == getattr(dg, xd)
        np.testing.assert_allclose(_np(got["dg"]), _np(got["torch"]), rtol=1e-2, atol=1e-2)


# ---------------------------------------------------------------- kernels without half forms


def _calls(lib):
    F = lib.nn.functional
    return {
        "avg_pool3d": lambda dt: F.avg_pool3d(lib.ones(1, 2, 3, 3, 3, dtype=dt), 2),
        "lp_pool3d": lambda dt: F.lp_pool3d(lib.ones(1, 2, 3, 3, 3, dtype=dt), 2.0, 2),
        "AvgPool3d": lambda dt: lib.nn.AvgPool3d(2)(lib.ones(2, 3, 3, 3, dtype=dt)),
        "local_response_norm": lambda dt: F.local_response_norm(lib.ones(1, 2, 3, 3, dtype=dt),
                                                                2),
        "LocalResponseNorm": lambda dt: lib.nn.LocalResponseNorm(2)(
            lib.ones(1, 2, 3, 3, 3, dtype=dt)),
        "pdist": lambda dt: F.pdist(lib.ones(4, 3, dtype=dt)),
        "ctc_loss": lambda dt: F.ctc_loss(lib.zeros(4, 1, 3, dtype=dt), lib.tensor([[1]]),
                                          lib.tensor([4]), lib.tensor([1])),
        "multi_margin_loss": lambda dt: F.multi_margin_loss(lib.ones(4, 3, dtype=dt),
                                                            lib.tensor([0, 1, 2, 0])),
        "multi_margin_loss_weight": lambda dt: F.multi_margin_loss(
            lib.ones(4, 3, dtype=dt), lib.tensor([0, 1, 2, 0]), weight=lib.ones(3, dtype=dt)),
        "multilabel_margin_loss": lambda dt: F.multilabel_margin_loss(
            lib.ones(4, 3, dtype=dt), lib.tensor([[0, 1, -1]] * 4)),
        "rrelu_training": lambda dt: F.rrelu(lib.ones(3, dtype=dt), training=True),
    }


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("call", sorted(_calls(torch)))
def test_kernels_without_half_forms_raise_as_pytorch(call, dtype):
    # deltagrad computed these (bfloat16 multi_margin_loss with weights: a TypeError from
    # .numpy()); PyTorch's CPU kernels have no such form: its NotImplementedError and words.
    t_err = _raises(lambda: _calls(torch)[call](getattr(torch, dtype)))
    d_err = _raises(lambda: _calls(dg)[call](getattr(dg, dtype)))
    if t_err is None:  # (rrelu's bfloat16 kernel exists)
        assert d_err is None, d_err
        return
    assert isinstance(t_err, NotImplementedError)
    assert isinstance(d_err, NotImplementedError), d_err
    assert str(d_err).startswith(str(t_err).split("\n")[0])


def test_half_kernels_that_exist_still_run():
    for lib in LIBS.values():
        F = lib.nn.functional
        for dt in (lib.float16, lib.bfloat16):
            assert F.avg_pool2d(lib.ones(1, 2, 4, 4, dtype=dt), 2).dtype == dt
            assert F.local_response_norm(lib.ones(1, 2, 3, dtype=dt), 2).dtype == dt
            assert F.pairwise_distance(lib.ones(2, 3, dtype=dt), lib.zeros(2, 3, dtype=dt)
                                       ).dtype == dt
        assert F.rrelu(lib.ones(3, dtype=lib.float16), training=False).dtype == lib.float16


# ---------------------------------------------------------------- KNOWN: deltagrad computes


def _second_order_checked(fn, x):
    assert dg.autograd.gradcheck(fn, (x,))
    assert dg.autograd.gradgradcheck(fn, (x,))


def test_known_double_backward_where_pytorch_has_none_is_right():
    # (KNOWN gradgrad:pdist / multi_margin_loss / multilabel_margin_loss: PyTorch raises)
    gen = np.random.default_rng(4)
    F = dg.nn.functional
    x = dg.tensor(gen.standard_normal((4, 3)), requires_grad=True)
    _second_order_checked(F.pdist, x)
    _second_order_checked(lambda a: F.multi_margin_loss(a, dg.tensor([0, 1, 2, 0]), p=2,
                                                        reduction="none"), x)
    _second_order_checked(lambda a: F.multilabel_margin_loss(a, dg.tensor([[0, 2, -1]] * 4),
                                                             reduction="none"), x)


@pytest.mark.parametrize("name", ["conv_tbc", "pdist", "multi_margin_loss",
                                  "multilabel_margin_loss"])
def test_known_forward_ad_where_pytorch_has_none_is_right(name):
    # (KNOWN fwad:<name>: PyTorch raises NotImplementedError) deltagrad's tangent against a
    # central difference of the function in float64.
    gen = np.random.default_rng(5)
    F = dg.nn.functional
    weight, bias = dg.tensor(gen.standard_normal((2, 3, 4))), dg.tensor(gen.standard_normal(4))
    fns = {"conv_tbc": (lambda a: F.conv_tbc(a, weight, bias, 1), (5, 2, 3)),
           "pdist": (F.pdist, (4, 3)),
           "multi_margin_loss": (lambda a: F.multi_margin_loss(
               a, dg.tensor([0, 1, 2, 0]), reduction="none"), (4, 3)),
           "multilabel_margin_loss": (lambda a: F.multilabel_margin_loss(
               a, dg.tensor([[0, 2, -1]] * 4), reduction="none"), (4, 3))}
    fn, shape = fns[name]
    x = dg.tensor(gen.standard_normal(shape))
    t = dg.tensor(gen.standard_normal(shape))
    fw = dg.autograd.forward_ad
    with fw.dual_level():
        tangent = fw.unpack_dual(fn(fw.make_dual(x, t))).tangent
    h = 1e-6
    numeric = (_np(fn(x + h * t)) - _np(fn(x - h * t))) / (2 * h)
    np.testing.assert_allclose(_np(tangent), numeric, rtol=1e-6, atol=1e-7)
    fn_t = {"conv_tbc": torch.conv_tbc, "pdist": torch.nn.functional.pdist}.get(name)
    if fn_t is not None:  # (PyTorch refuses: the entry stays KNOWN)
        with torch.autograd.forward_ad.dual_level():
            xt = torch.autograd.forward_ad.make_dual(torch.zeros(shape, dtype=torch.float64),
                                                     torch.ones(shape, dtype=torch.float64))
            args = (xt,) if name == "pdist" else (
                xt, torch.zeros(2, 3, 4, dtype=torch.float64), torch.zeros(4, dtype=torch.float64),
                1)
            with pytest.raises(NotImplementedError):
                fn_t(*args)
