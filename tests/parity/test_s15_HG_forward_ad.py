"""Forward-mode AD of PyTorch's OpInfo samples (op_db ops with ``supports_forward_ad``, float64)
through deltagrad and PyTorch (s15 HG): every differentiable sample tensor a dual number with a
seeded tangent, each output's primal and tangent compared (s15_HG_harness.forward_ad_sample).
Every op's worst outcome over its first samples must be "agree" (or "both_raise" / "skip"),
unless KNOWN lists it with a reason; a KNOWN entry fails once the op stops differing.

The default run takes every tenth op plus the KNOWN and fixed ones, 2 samples each; ``make
soak`` runs every op with 3 samples. Then the fixes, each checked directly against PyTorch.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
import s15_HG_harness as G  # noqa: E402

import deltagrad as dg  # noqa: E402

OPS, BY_ID = G.swept_ops("forward_ad")

# op id -> (outcome, reason): what stays different in forward mode.
KNOWN: dict[str, tuple[str, str]] = {
    "max_pool2d_with_indices_backward": (
        "dg_raises", "an aten.* backward op: deltagrad has no ATen operator dispatch (its "
        "forward raises, in every mode: not a forward-AD gap)"),
    "triangular_solve": (
        "differ", "PyTorch's jvp reads the tangent's triangle the op ignores (its own "
        "jacobian does not: checked below); deltagrad's tangent is the jacobian's"),
}
FIXED = ("nn.functional.conv1d", "nn.functional.conv2d", "nn.functional.conv3d",
         "nn.functional.conv_transpose2d", "nn.functional.max_pool2d",
         "nn.functional.avg_pool2d", "nn.functional.adaptive_max_pool2d",
         "nn.functional.local_response_norm", "nn.functional.unfold",
         "nn.functional.batch_norm", "nn.functional.instance_norm",
         "nn.functional.max_unpool2d", "linalg.svdvals", "norm.nuc", "linalg.eig",
         "linalg.eigvals")
DEFAULT = G.default_ids(OPS, BY_ID, KNOWN, FIXED)


def _check(op_id, samples):
    G.check(BY_ID[op_id], op_id, "forward_ad", samples, KNOWN)


@pytest.mark.parametrize("op_id", DEFAULT)
def test_forward_ad_matches_pytorch(op_id):
    _check(op_id, 2)


@pytest.mark.soak
@pytest.mark.parametrize("op_id", sorted(BY_ID))
def test_forward_ad_matches_pytorch_soak(op_id):
    _check(op_id, 3)


def test_known_entries_are_ops_of_the_sweep():
    G.check_known_entries(KNOWN, BY_ID)


# ------------------------------------------------------------------------------------ fixes


_CASES = {
    "conv2d": (lambda lib, x, w: lib.nn.functional.conv2d(x, w, padding=1),
               [(1, 2, 5, 5), (3, 2, 3, 3)]),
    "conv_transpose1d": (lambda lib, x, w: lib.nn.functional.conv_transpose1d(x, w, stride=2),
                         [(2, 3, 4), (3, 2, 3)]),
    "max_pool2d": (lambda lib, x: lib.nn.functional.max_pool2d(x, 2), [(1, 2, 4, 6)]),
    "avg_pool3d": (lambda lib, x: lib.nn.functional.avg_pool3d(x, 2), [(1, 1, 4, 4, 4)]),
    "batch_norm_training": (lambda lib, x, w: lib.nn.functional.batch_norm(
        x, lib.zeros(3, dtype=lib.float64), lib.ones(3, dtype=lib.float64), w, None,
        training=True), [(4, 3, 2), (3,)]),
    "instance_norm_running": (lambda lib, x: lib.nn.functional.instance_norm(
        x, lib.zeros(3, dtype=lib.float64), lib.ones(3, dtype=lib.float64)), [(2, 3, 5)]),
    "max_unpool2d": (lambda lib, x: lib.nn.functional.max_unpool2d(
        x, lib.tensor([[[[0, 3], [9, 15]]]]), 2), [(1, 1, 2, 2)]),
    "unfold": (lambda lib, x: lib.nn.functional.unfold(x, 2), [(1, 2, 3, 3)]),
    "nuclear_norm": (lambda lib, a: lib.linalg.matrix_norm(a, "nuc"), [(4, 3)]),
}


@pytest.mark.parametrize("case", sorted(_CASES))
def test_forward_ad_of_formerly_refused_ops(case):
    # conv / pools / unfold / batch norm (engine ops outside the registry), max_unpool and the
    # running-stats norms (deltagrad Functions, now with a jvp), svdvals: were
    # NotImplementedError "no forward-mode rule".
    fn, shapes = _CASES[case]
    rng = np.random.default_rng(5)
    (t_out, t_tan), (d_out, d_tan) = G.jvp_both(fn, [rng.standard_normal(s) for s in shapes])
    np.testing.assert_allclose(d_out, t_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(d_tan, t_tan, rtol=1e-9, atol=1e-10)


def _square_function(lib):
    class Square(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            ctx.x = x
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

        @staticmethod
        def jvp(ctx, t):
            return 2 * ctx.x * t
    return Square


def test_function_jvp_inside_a_larger_graph_counts_each_path_once():
    # A Function (with jvp and a differentiable backward) fed by a dual's graph: the tangent
    # counted the path through the Function twice (its jvp's tangent, and the VJP through
    # its backward to the dual): 37 where 19.
    tangents = []
    for lib in (torch, dg):
        fw, square = lib.autograd.forward_ad, _square_function(lib)
        with fw.dual_level():
            d = fw.make_dual(lib.tensor([1.0, 2.0], dtype=lib.float64),
                             lib.tensor([1.0, -0.5], dtype=lib.float64))
            y = square.apply(d * 3) + d.sin() * square.apply(d)
            tangents.append(fw.unpack_dual(y).tangent.numpy())
    np.testing.assert_allclose(tangents[1], tangents[0], rtol=1e-12)


def test_triangular_solve_tangent_is_the_jacobians():
    # (the KNOWN entry's second opinion: deltagrad's tangent is PyTorch's jacobian @ tangent)
    rng = np.random.default_rng(6)
    b, a = rng.standard_normal((4, 2)), rng.standard_normal((4, 4)) + 4 * np.eye(4)
    tb, ta = rng.standard_normal((4, 2)), rng.standard_normal((4, 4))
    f_t = lambda b_, a_: torch.triangular_solve(b_, a_)[0]  # noqa: E731
    jb, ja = torch.autograd.functional.jacobian(f_t, (torch.tensor(b), torch.tensor(a)))
    expected = (jb.reshape(8, 8) @ torch.tensor(tb).reshape(8)
                + ja.reshape(8, 16) @ torch.tensor(ta).reshape(16)).numpy().reshape(4, 2)
    _, tan = dg.func.jvp(lambda b_, a_: dg.triangular_solve(b_, a_)[0],
                         (dg.tensor(b), dg.tensor(a)), (dg.tensor(tb), dg.tensor(ta)))
    np.testing.assert_allclose(tan.numpy(), expected, rtol=1e-9, atol=1e-10)
    _, t_tan = torch.func.jvp(f_t, (torch.tensor(b), torch.tensor(a)),
                              (torch.tensor(tb), torch.tensor(ta)))
    assert not np.allclose(t_tan.numpy(), expected)  # (PyTorch's own still differs)


def test_gradcheck_forward_ad_second_opinion():
    x = dg.tensor(np.random.default_rng(7).standard_normal((1, 2, 4, 4)), dtype=dg.float64,
                  requires_grad=True)
    w = dg.tensor(np.random.default_rng(8).standard_normal((2, 2, 3, 3)), dtype=dg.float64,
                  requires_grad=True)
    assert dg.autograd.gradcheck(lambda a, b: dg.nn.functional.conv2d(a, b), (x, w),
                                 check_forward_ad=True)
