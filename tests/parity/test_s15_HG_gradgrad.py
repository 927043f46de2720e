"""Double backward of PyTorch's OpInfo samples (op_db ops with ``supports_gradgrad``, float64)
through deltagrad and PyTorch (s15 HG): ``g = grad(out, inputs, v, create_graph=True)``, then
``grad(g, inputs + v, w)`` with seeded v, w (s15_HG_harness.gradgrad_sample). Every op's worst
outcome over its first samples must be "agree" (or "both_raise" / "skip": nothing to compare),
unless KNOWN lists it with a reason; a KNOWN entry fails once the op stops differing.

The default run takes every tenth op plus the KNOWN and fixed ones (about 65 ops, 2 samples
each); ``make soak`` runs every op with 3 samples. Then the fixes, each checked directly.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
import opinfo_harness as H  # noqa: E402
import s15_HG_harness as G  # noqa: E402

import deltagrad as dg  # noqa: E402

OPS, BY_ID = G.swept_ops("gradgrad")

# op id -> (outcome, reason): what stays different in the second order.
KNOWN: dict[str, tuple[str, str]] = {
    "nn.functional.linear_cross_entropy.chunked": (
        "differ", "PyTorch's chunked path computes the gradient inside its forward: its "
        "second derivative in the input is 0; deltagrad ignores the chunking options and "
        "gives the unchunked op's (= PyTorch's unchunked, checked below)"),
    "linalg.norm.subgradients_at_zero": (
        "differ", "second derivative of the 2-norm at x = 0: PyTorch nan, deltagrad 0 "
        "(its subgradient choice carried on)"),
    "native_layer_norm": (
        "torch_raises", "PyTorch's double backward of native_layer_norm without a weight "
        "raises (an undefined tensor); deltagrad's computes it"),
    "linalg.eig": (
        "dg_raises", "eig's rules are NumPy (a Function): first order and forward mode only; "
        "a NotImplementedError names the double backward (s16 RV)"),
    "linalg.eigvals": (
        "dg_raises", "as linalg.eig (s16 RV)"),
}
FIXED = ("nn.functional.max_unpool1d", "nn.functional.max_unpool2d",
         "nn.functional.max_unpool3d", "linalg.svdvals", "norm.nuc", "linalg.cond",
         "linalg.matrix_norm", "copysign", "nn.functional.grid_sample",
         "nn.functional.ctc_loss")  # (ctc: s29 NF1, both raise; its terms were left out)
DEFAULT = G.default_ids(OPS, BY_ID, KNOWN, FIXED)


def _check(op_id, samples):
    G.check(BY_ID[op_id], op_id, "gradgrad", samples, KNOWN)


@pytest.mark.parametrize("op_id", DEFAULT)
def test_gradgrad_matches_pytorch(op_id):
    _check(op_id, 2)


@pytest.mark.soak
@pytest.mark.parametrize("op_id", sorted(BY_ID))
def test_gradgrad_matches_pytorch_soak(op_id):
    _check(op_id, 3)


def test_known_entries_are_ops_of_the_sweep():
    G.check_known_entries(KNOWN, BY_ID)


# ------------------------------------------------------------------------------------ fixes


def test_max_unpool_double_backward_over_repeated_indices():
    # Overlapping windows pick index 1 twice: max_unpool keeps one value there, its gradient
    # gathers at both, so the gradient's adjoint in v adds both w's (was: one kept).
    idx = np.array([[[1, 1, 3]]])

    def fn(lib, x):
        return lib.nn.functional.max_unpool1d(x, lib.tensor(idx), 2, stride=1,
                                              output_size=[4])
    (t_gx, t_gv), (d_gx, d_gv) = G.gradgrad_both(fn, np.array([[[0.5, 0.5, -1.0]]]))
    np.testing.assert_allclose(d_gv, t_gv, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(d_gx, t_gx, atol=1e-12)


@pytest.mark.parametrize("name", ["svdvals", "nuc", "cond", "spectral"])
def test_singular_value_double_backward(name):
    # Was NotImplementedError under create_graph=True (gradient penalties on a nuclear or
    # spectral norm, linalg.cond).
    fns = {"svdvals": lambda lib, a: lib.linalg.svdvals(a),
           "nuc": lambda lib, a: lib.linalg.matrix_norm(a, "nuc"),
           "cond": lambda lib, a: lib.linalg.cond(a),
           "spectral": lambda lib, a: lib.linalg.matrix_norm(a, 2)}
    a = np.random.default_rng(3).standard_normal((2, 4, 3))
    a = a[0] if name == "cond" else a
    (t_res, d_res) = G.gradgrad_both(fns[name], a)
    for t, d in zip(t_res, d_res):
        np.testing.assert_allclose(d, t, rtol=1e-9, atol=1e-10)


def test_svdvals_gradgradcheck_second_opinion():
    a = dg.tensor(np.random.default_rng(4).standard_normal((3, 5)), dtype=dg.float64,
                  requires_grad=True)
    assert dg.autograd.gradgradcheck(dg.linalg.svdvals, (a,))


def test_linear_cross_entropy_chunked_is_the_unchunked_second_derivative():
    # (the KNOWN entry's other half: deltagrad's chunked result is PyTorch's unchunked one)
    op = BY_ID["nn.functional.linear_cross_entropy.chunked"]
    plain = BY_ID["nn.functional.linear_cross_entropy"]
    sample = H.samples_of(op, torch.float64, True, max_samples=1)[0]
    assert G.gradgrad_sample(op, sample)[0] == "differ"
    unchunked = sample.transform(lambda t: t)
    unchunked.kwargs = {k: v for k, v in sample.kwargs.items() if k != "options"}
    assert G.gradgrad_sample(plain, unchunked) == "agree"


# --------------------------------------------- the functional transforms over the same rules


def _mixed(lib, x):
    """A scalar through common ops (activations, a norm, matmul, a reduction, indexing)."""
    w = lib.tensor(np.linspace(-1.0, 1.0, 12).reshape(4, 3), dtype=lib.float64)
    h = lib.nn.functional.layer_norm(lib.tanh(x) @ w, (3,))
    h = lib.nn.functional.gelu(h) + lib.nn.functional.softplus(x[:, :3])
    return lib.logsumexp(h, dim=1).pow(2).sum() + lib.nn.functional.mse_loss(h[1:], h[:-1])


_TRANSFORMS = {
    "hessian": lambda lib, f, x, v: lib.autograd.functional.hessian(f, x),
    "hvp": lambda lib, f, x, v: lib.autograd.functional.hvp(f, x, v)[1],
    "vhp": lambda lib, f, x, v: lib.autograd.functional.vhp(f, x, v)[1],
    "func.hessian": lambda lib, f, x, v: lib.func.hessian(f)(x),
    "jacfwd(grad)": lambda lib, f, x, v: lib.func.jacfwd(lib.func.grad(f))(x),
    "jacrev(grad)": lambda lib, f, x, v: lib.func.jacrev(lib.func.grad(f))(x),
    "jvp(grad)": lambda lib, f, x, v: lib.func.jvp(lib.func.grad(f), (x,), (v,))[1],
    "vjp(grad)": lambda lib, f, x, v: lib.func.vjp(lib.func.grad(f), x)[1](v)[0],
}


@pytest.mark.parametrize("name", sorted(_TRANSFORMS))
def test_second_order_transforms_match_pytorch(name):
    rng = np.random.default_rng(9)
    x, v = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    res = [_TRANSFORMS[name](lib, lambda t, lib=lib: _mixed(lib, t),
                             lib.tensor(x, dtype=lib.float64), lib.tensor(v, dtype=lib.float64))
           for lib in (torch, dg)]
    assert tuple(res[1].shape) == tuple(res[0].shape)
    np.testing.assert_allclose(res[1].detach().numpy(), res[0].detach().numpy(), rtol=1e-9,
                               atol=1e-10)
