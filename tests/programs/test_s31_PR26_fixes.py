"""Session 31, PR26: differences found by running public PyTorch programs (soft actor-critic,
TD3, MoCo / SimSiam / DINO, RAdam / Lookahead / SAM optimizers, LoRA, MoE, U-Net, TCN,
Informer, influence functions, adversarial attacks, ...) under ``import deltagrad as torch``.
Each test is this file's own minimal code, run on deltagrad and on PyTorch.
"""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

_RNG_SEED = 31


def _arrays(*shapes):
    rng = np.random.RandomState(_RNG_SEED)
    return [rng.randn(*s).astype(np.float32) for s in shapes]


def _same_bits(make):
    """``make(lib)`` on both libraries: the same dtype, shape and bits."""
    ours, theirs = make(dg), make(torch)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "deltagrad.")
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())


# ----------------------------------------------------------------------------------------------
# float32 add / sub with alpha: PyTorch's kernel is a fused multiply-add (one rounding). Found by
# a RAdam copy (LiyuanLucasLiu/RAdam) and the SAC / TD3 soft target updates: the parameters
# drifted from PyTorch's in the last bit after the first step.

A, B, V = _arrays((48, 40), (48, 40), (40,))

ALPHA_CASES = {
    "contiguous": lambda m: m.from_numpy(A).add(m.from_numpy(B), alpha=0.1),
    "transposed": lambda m: m.from_numpy(A.T.copy()).add(m.from_numpy(B).T, alpha=-3e-4),
    "broadcast_other": lambda m: m.from_numpy(A).add(m.from_numpy(V), alpha=0.37),
    "broadcast_input": lambda m: m.from_numpy(V).add(m.from_numpy(A), alpha=0.37),
    "number_other": lambda m: m.from_numpy(A).add(2.5, alpha=0.1),
    "sub": lambda m: m.from_numpy(A).sub(m.from_numpy(B), alpha=0.7),
    "function": lambda m: m.add(m.from_numpy(A), m.from_numpy(B), alpha=1 - 0.999),
    "sub_function": lambda m: m.sub(m.from_numpy(A), m.from_numpy(B), alpha=1e-3),
    "add_inplace": lambda m: m.from_numpy(A.copy()).add_(m.from_numpy(B), alpha=-1e-2),
    "sub_inplace": lambda m: m.from_numpy(A.copy()).sub_(m.from_numpy(B), alpha=1e-2),
    "momentum": lambda m: m.from_numpy(A.copy()).mul_(0.9).add_(m.from_numpy(B), alpha=0.1),
    "int_other": lambda m: m.from_numpy(A).add(m.arange(40), alpha=0.013),
    "half_other": lambda m: m.from_numpy(A).add(m.from_numpy(B).half(), alpha=0.3),
    "double_0d_other": lambda m: m.from_numpy(A).add(m.tensor(0.3, dtype=m.float64), alpha=0.3),
    "out": lambda m: m.add(m.from_numpy(A), m.from_numpy(B), alpha=0.3, out=m.empty(48, 40)),
    "overflowing_product": lambda m: m.full((4,), 3e38).add(m.full((4,), 3e38), alpha=-0.5),
    "specials": lambda m: m.tensor([np.inf, 1.0, np.nan, -0.0]).add(
        m.tensor([1.0, np.inf, 1.0, 0.0]), alpha=0.5),
}


@pytest.mark.parametrize("case", sorted(ALPHA_CASES))
def test_float32_add_with_alpha_rounds_once_as_pytorch(case):
    _same_bits(ALPHA_CASES[case])


def test_float32_add_with_alpha_keeps_its_graph_and_layout():
    x = dg.from_numpy(A).requires_grad_()
    y = dg.from_numpy(B).requires_grad_()
    z = x.sub(y, alpha=0.25)
    z.sum().backward()
    assert z.grad_fn.name() == "SubBackward0"
    np.testing.assert_array_equal(y.grad.numpy(), np.full(B.shape, -0.25, np.float32))
    ch = dg.from_numpy(np.arange(120, dtype=np.float32).reshape(2, 3, 4, 5)).to(
        memory_format=dg.channels_last)
    out = ch.add(1.0, alpha=0.3)
    tch = torch.arange(120, dtype=torch.float32).reshape(2, 3, 4, 5).to(
        memory_format=torch.channels_last).add(1.0, alpha=0.3)
    assert out.is_contiguous(memory_format=dg.channels_last) == tch.is_contiguous(
        memory_format=torch.channels_last)
    np.testing.assert_array_equal(out.numpy(), tch.numpy())


def test_float32_add_with_alpha_is_silent_on_infinities():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dg.tensor([np.inf, -np.inf]).add(dg.tensor([np.inf, np.inf]), alpha=-1.0)
        dg.tensor([np.inf]).addcmul(dg.tensor([np.inf]), dg.tensor([-1.0]), value=2.0)


# ----------------------------------------------------------------------------------------------
# float32 addcmul: fma(value * tensor1, tensor2, input), one rounding of the last step (value 1:
# 23% of elements were an ulp off). Found by the same RAdam copy (exp_avg_sq.addcmul_(g, g, ...)).

ADDCMUL_CASES = {
    "value_1": lambda m: m.from_numpy(A).addcmul(m.from_numpy(B), m.from_numpy(B)),
    "value": lambda m: m.from_numpy(A).addcmul(m.from_numpy(B), m.from_numpy(A), value=1e-3),
    "transposed": lambda m: m.from_numpy(A.T.copy()).addcmul(
        m.from_numpy(B).T, m.from_numpy(A).T, value=-2.5),
    "broadcast_tensors": lambda m: m.from_numpy(A).addcmul(
        m.from_numpy(V), m.from_numpy(V), value=0.7),
    "broadcast_input": lambda m: m.from_numpy(V).addcmul(
        m.from_numpy(A), m.from_numpy(B), value=0.7),
    "inplace_adam": lambda m: m.from_numpy(A.copy() ** 2).mul_(0.999).addcmul_(
        m.from_numpy(B), m.from_numpy(B), value=1 - 0.999),
    "half_input": lambda m: m.from_numpy(A).half().addcmul(
        m.from_numpy(B), m.from_numpy(B), value=0.1),
    "function": lambda m: m.addcmul(m.from_numpy(A), m.from_numpy(B), m.from_numpy(A), value=3),
    "addcdiv_unchanged": lambda m: m.from_numpy(A).addcdiv(
        m.from_numpy(B), m.from_numpy(B).abs() + 1, value=-0.01),
}


@pytest.mark.parametrize("case", sorted(ADDCMUL_CASES))
def test_float32_addcmul_rounds_its_last_step_once_as_pytorch(case):
    _same_bits(ADDCMUL_CASES[case])


def test_addcmul_gradients_unchanged():
    x, y, z = (dg.from_numpy(a).requires_grad_() for a in (A, B, A.copy()))
    out = x.addcmul(y, z, value=0.5)
    out.sum().backward()
    assert out.grad_fn.name() == "AddcmulBackward0"
    np.testing.assert_array_equal(y.grad.numpy(), (np.float32(0.5) * A))


# ----------------------------------------------------------------------------------------------
# ctc_loss's printed node: PyTorch's last op (nn.CTCLoss() -> MeanBackward0). Found by a speech
# program printing its CTC loss: deltagrad printed CtcLossBackward0 for every reduction.

CTC_FORMS = [("none", False, True), ("none", True, True), ("sum", False, True),
             ("sum", True, True), ("mean", False, True), ("mean", True, True),
             ("none", False, False), ("sum", True, False), ("mean", False, False)]


@pytest.mark.parametrize("reduction,zero_infinity,batched", CTC_FORMS,
                         ids=[f"{r}-{z}-{b}" for r, z, b in CTC_FORMS])
def test_ctc_loss_result_node_is_named_as_pytorch(reduction, zero_infinity, batched):
    logits = np.random.RandomState(3).randn(12, 2, 5)

    def run(m):
        lp = m.tensor(logits).log_softmax(2).detach().requires_grad_()
        if batched:
            args = (lp, m.tensor([[1, 2, 3], [2, 2, 0]]), m.tensor([12, 10]), m.tensor([3, 2]))
        else:
            args = (lp[:, 0], m.tensor([1, 2, 3]), m.tensor(12), m.tensor(3))
        loss = m.nn.functional.ctc_loss(*args, reduction=reduction, zero_infinity=zero_infinity)
        loss.sum().backward()
        return loss, lp.grad

    (ours, ours_grad), (theirs, theirs_grad) = run(dg), run(torch)
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours_grad.numpy(), theirs_grad.numpy(), rtol=1e-10, atol=1e-12)


def test_ctc_loss_module_prints_mean_backward():
    lp = dg.randn(6, 1, 4).log_softmax(2).requires_grad_()
    loss = dg.nn.CTCLoss()(lp, dg.tensor([[1, 2]]), [6], [2])
    assert "grad_fn=<MeanBackward0>" in repr(loss)


# ----------------------------------------------------------------------------------------------
# out= of index_select / take / masked_select (TypeError before). Found by the SSD-style NMS
# loop (``torch.index_select(x1, 0, idx, out=xx1)`` with buffers of the previous size).

def _select_with_out(m, name, out):
    x = m.arange(12.0).reshape(4, 3)
    if name == "index_select":
        return m.index_select(x, 0, m.tensor([3, 1]), out=out)
    if name == "take":
        return m.take(x, m.tensor([0, 5, 7]), out=out)
    return m.masked_select(x, x > 6, out=out)


@pytest.mark.parametrize("name", ["index_select", "take", "masked_select"])
def test_gather_like_out_is_written_and_resized_as_pytorch(name):
    import warnings
    for size in (0, 7):
        outs = {}
        for m in (dg, torch):
            buffer = m.zeros(size)
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                result = _select_with_out(m, name, buffer)
            assert result is buffer
            outs[m] = (result.numpy().copy(), len([w for w in seen if "resized" in str(w.message)]))
        np.testing.assert_array_equal(outs[dg][0], outs[torch][0])
        assert outs[dg][1] == outs[torch][1] == (1 if size else 0)


@pytest.mark.parametrize("name", ["index_select", "take", "masked_select"])
def test_gather_like_out_errors_as_pytorch(name):
    for m in (dg, torch):
        with pytest.raises(RuntimeError):  # another dtype
            _select_with_out(m, name, m.zeros(0, dtype=m.float64))
    for m in (dg, torch):  # out= under grad
        x = m.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="out=... arguments don't support automatic"):
            m.index_select(x, 0, m.tensor([1]), out=m.zeros(1))
    for m in (dg, torch):  # out is the input
        x = m.arange(6.0)
        with pytest.raises(RuntimeError, match="refer to a single memory location"):
            m.take(x, m.tensor([0, 1, 2, 3, 4, 5]), out=x)
