"""Differences the training-loop fuzzer (``s26_SL13_loops.py``) found, each fixed in src/ and
checked here against PyTorch 2.13: the same program on both libraries, the same results."""

import io

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

LIBS = [torch, dg]


def _params(L, dtype="float32"):
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,), ()]
    ps = [L.nn.Parameter(L.from_numpy(rng.standard_normal(s)).to(getattr(L, dtype)))
          for s in shapes]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(3)]
    return ps, grads


def _np(t):
    return None if t is None else t.detach().numpy().copy()


# ---------------------------------------------------------------------------------------------
# SGD(foreach=True, nesterov=True) writes the Nesterov direction into p.grad, as PyTorch's
# _foreach_add_(grads, bufs): p.grad after step() was the raw gradient here (1.5-1.9x apart).
# ---------------------------------------------------------------------------------------------

def _sgd_run(L, **kw):
    ps, grads = _params(L)
    opt = L.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, **kw)
    out = []
    for g in grads:
        for p, gg in zip(ps, g):
            p.grad = L.from_numpy(gg.copy()).float()
        opt.step()
        out.append([(_np(p), _np(p.grad)) for p in ps])
    return out


@pytest.mark.parametrize("kw", [
    dict(foreach=True), dict(foreach=False), dict(foreach=None),
    dict(foreach=True, maximize=True), dict(foreach=True, weight_decay=0.1),
], ids=["foreach", "single", "default", "foreach-maximize", "foreach-decay"])
def test_sgd_foreach_nesterov_writes_the_gradient(kw):
    want, got = (_sgd_run(L, **kw) for L in LIBS)
    for w_step, g_step in zip(want, got):
        for (wp, wg), (gp, gg) in zip(w_step, g_step):
            np.testing.assert_allclose(gp, wp, rtol=1e-6, atol=1e-7)
            np.testing.assert_allclose(gg, wg, rtol=1e-6, atol=1e-7)


def test_sgd_foreach_nesterov_grad_is_the_direction():
    p = dg.nn.Parameter(dg.tensor([1.0, 2.0]))
    opt = dg.optim.SGD([p], lr=0.1, momentum=0.5, nesterov=True, foreach=True)
    p.grad = dg.tensor([1.0, -2.0])
    opt.step()
    assert p.grad.tolist() == [1.5, -3.0]  # g + 0.5 * buf, buf = g on the first step


# ---------------------------------------------------------------------------------------------
# ASGD: PyTorch rounds the new eta / mu to the default dtype (torch.as_tensor of a Python
# number), also where a loaded state holds them in float64 (load_state_dict casts eta / mu to
# the parameters' dtype, not step): deltagrad kept float64 precision (2e-8 relative apart).
# ---------------------------------------------------------------------------------------------

def _asgd_run(L, foreach):
    ps, grads = _params(L, "float64")
    kw = dict(lr=0.0258, lambd=0.01, t0=2.0, weight_decay=0.1, foreach=foreach)
    opt = L.optim.ASGD(ps, **kw)
    out = []
    for i, g in enumerate(grads):
        if i == 1:  # a checkpoint round trip, into a fresh optimizer
            buf = io.BytesIO()
            L.save(opt.state_dict(), buf)
            buf.seek(0)
            opt = L.optim.ASGD(ps, **kw)
            opt.load_state_dict(L.load(buf))
        for p, gg in zip(ps, g):
            p.grad = L.from_numpy(gg.copy())
        opt.step()
        out.append([(str(st["eta"].dtype).split(".")[-1], st["eta"].item(), st["mu"].item(),
                     _np(p)) for p, st in ((p, opt.state[p]) for p in ps)])
    return out


@pytest.mark.parametrize("foreach", [False, True], ids=["single", "foreach"])
def test_asgd_eta_mu_rounding_after_load(foreach):
    want, got = (_asgd_run(L, foreach) for L in LIBS)
    for w_step, g_step in zip(want, got):
        for (wd, we, wm, wp), (gd, ge, gm, gp) in zip(w_step, g_step):
            assert (gd, ge, gm) == (wd, we, wm)
            np.testing.assert_allclose(gp, wp, rtol=1e-14, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# LBFGS(line_search_fn="strong_wolfe"): a step its cubic interpolation chose is a 0-d tensor
# in PyTorch's state["t"] (the slopes are tensors); deltagrad stored a Python float.
# ---------------------------------------------------------------------------------------------

def _lbfgs_state_t(L, lr):
    x = L.nn.Parameter(L.tensor([-1.5, 2.0]))
    opt = L.optim.LBFGS([x], lr=lr, max_iter=2, line_search_fn="strong_wolfe")
    kinds = []
    for _ in range(3):
        def closure():
            opt.zero_grad()
            loss = (1 - x[0]) ** 2 + 10 * (x[1] - x[0] ** 2) ** 2  # (Rosenbrock's valley)
            loss.backward()
            return loss
        opt.step(closure)
        t = opt.state[x]["t"]
        kinds.append((type(t).__name__, float(t)))
    return kinds


@pytest.mark.parametrize("lr", [1.0, 0.5])
def test_lbfgs_strong_wolfe_t_type(lr):
    want, got = (_lbfgs_state_t(L, lr) for L in LIBS)
    assert [k for k, _ in got] == [k for k, _ in want]
    assert "Tensor" in [k for k, _ in want]  # (the case is exercised)
    np.testing.assert_allclose([v for _, v in got], [v for _, v in want], rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# Rprop with a nan gradient (CTC's impossible alignment): torch.sign(nan) is 0, so PyTorch's
# step leaves the parameter; np.sign gave nan and the parameter became nan.
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("foreach", [False, True], ids=["single", "foreach"])
def test_rprop_nan_gradient_leaves_the_parameter(foreach):
    out = []
    for L in LIBS:
        p = L.nn.Parameter(L.tensor([1.0, -2.0, 3.0]))
        opt = L.optim.Rprop([p], lr=0.01, foreach=foreach)
        for g in ([0.5, -1.0, 2.0], [float("nan"), 1.0, float("nan")], [1.0, 1.0, -1.0]):
            p.grad = L.tensor(g)
            opt.step()
        st = opt.state[p]
        out.append((_np(p), _np(st["prev"]), _np(st["step_size"])))
    for w, g in zip(*out):
        np.testing.assert_array_equal(g, w)


# ---------------------------------------------------------------------------------------------
# hardswish's backward selects 0 at and below -3 (PyTorch's kernel): a nan gradient there
# gave nan (0 * nan), PyTorch 0.
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_hardswish_backward_nan_gradient_below_minus_three(dtype):
    out = []
    for L in LIBS:
        x = L.tensor([-5.0, -3.0, -1.0, 3.0, 4.0, float("nan")], dtype=getattr(L, dtype),
                     requires_grad=True)
        g = L.tensor([float("nan"), float("nan"), 1.0, 2.0, float("nan"), 1.0],
                     dtype=getattr(L, dtype))
        L.nn.functional.hardswish(x).backward(g)
        y = L.tensor(-3.5, dtype=getattr(L, dtype), requires_grad=True)
        L.nn.functional.hardswish(y).backward(L.tensor(float("nan"), dtype=getattr(L, dtype)))
        out.append((_np(x.grad), _np(y.grad)))
    np.testing.assert_array_equal(out[1][0], out[0][0])
    np.testing.assert_array_equal(out[1][1], out[0][1])
