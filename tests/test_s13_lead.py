"""Session 13, the lead's fixes at the merge, each against PyTorch."""

import sys
from pathlib import Path

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def test_opinfo_harness_leaves_pytorchs_backend_flags_settable():
    # common_utils (imported by op_db) calls torch.backends.disable_global_flags(); later tests
    # in the same process set torch.backends.cudnn flags, as real programs do.
    pytest.importorskip("expecttest")
    sys.path.insert(0, str(Path(__file__).parent / "parity"))
    import opinfo_harness

    opinfo_harness.op_db()
    opinfo_harness.module_db()
    assert not torch.backends.flags_frozen()
    before = torch.backends.cudnn.deterministic
    torch.backends.cudnn.deterministic = not before
    torch.backends.cudnn.deterministic = before


@pytest.mark.parametrize("other", ["equal-in-places", "same-tensor", "float64"])
def test_nextafter_gradient_is_pytorchs(other):
    grads = []
    for m in (torch, dg):
        x = m.tensor([1.0, 2.0, 5.0, -0.0], requires_grad=True)
        if other == "same-tensor":
            y = x
        else:
            y = m.tensor([1.0, 3.0, 4.0, 0.0], requires_grad=True,
                         dtype=m.float64 if other == "float64" else m.float32)
        out = m.nextafter(x, y)
        out.backward(m.tensor([1.0, 10.0, 100.0, 1000.0], dtype=out.dtype))
        grads.append((out.detach().numpy(), x.grad.numpy(),
                      None if y is x else y.grad.numpy(), out.grad_fn.name()))
    (t_out, t_gx, t_gy, t_name), (d_out, d_gx, d_gy, d_name) = grads
    np.testing.assert_array_equal(d_out, t_out)
    np.testing.assert_array_equal(d_gx, t_gx)
    assert (t_gy is None) == (d_gy is None)
    if t_gy is not None:
        np.testing.assert_array_equal(d_gy, t_gy)
    assert d_name == t_name == "NextafterBackward0"


def test_half_floor_division_by_zero_is_x_over_zero():
    # PyTorch's float16 / bfloat16 div_floor kernel returns x / 0 for a zero divisor (the
    # element-by-element path deltagrad follows gave nan for 2 // 0).
    values = np.array([-3.0, 0.0, 2.0, 5.0])
    for dtype in ("float16", "bfloat16"):
        results = []
        for m in (torch, dg):
            x = m.tensor(2.0, dtype=getattr(m, dtype))
            y = m.tensor(values, dtype=getattr(m, dtype))
            results.append(m.floor_divide(x, y).float().numpy())
        np.testing.assert_array_equal(results[1], results[0])


def test_bfloat16_embedding_bag_mean_rounds_the_sum_first():
    # bfloat16 bags keep their own path (the sum rounded to bfloat16, then divided), not the
    # float16 one through float32 (session 13's half wrapper in nn/functional.py).
    outs = []
    for m in (torch, dg):
        w = m.tensor([[1.0, -2.0, 3.0], [0.2, -0.3, 4.0], [0.7, 0.1, -1.1]]).to(m.bfloat16)
        out = m.nn.functional.embedding_bag(m.tensor([[0, 1, 2], [0, 2, 2]]), w, mode="mean")
        outs.append(out.float().numpy())
    np.testing.assert_array_equal(outs[1], outs[0])
