"""``torch.utils.flop_counter.FlopCounterMode`` (W1, session 8): deltagrad's totals equal
PyTorch's for the matrix products, linear layers, two-operand einsums, convolutions (grouped,
transposed, 1-d / 2-d / 3-d), attention and whole training steps, forward and backward; what
deltagrad cannot count as PyTorch does raises NotImplementedError from get_total_flops."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")
ours = importlib.import_module("deltagrad.utils.flop_counter")
real = importlib.import_module("torch.utils.flop_counter")


def _t(m, *shape, grad=False):
    rng = np.random.default_rng(sum(shape))
    return m.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=grad)


def _seeded(m, make):
    m.manual_seed(0)
    return make()


CASES = {
    "mm": lambda m: _t(m, 3, 4) @ _t(m, 4, 5),
    "mv": lambda m: _t(m, 3, 4) @ _t(m, 4),
    "vm": lambda m: _t(m, 4) @ _t(m, 4, 5),
    "dot": lambda m: _t(m, 4) @ _t(m, 4),
    "3d@2d": lambda m: _t(m, 2, 3, 4) @ _t(m, 4, 5),
    "3d@1d": lambda m: _t(m, 2, 3, 4) @ _t(m, 4),
    "1d@3d": lambda m: _t(m, 4) @ _t(m, 2, 4, 5),
    "2d@3d": lambda m: _t(m, 3, 4) @ _t(m, 2, 4, 5),
    "broadcast bmm": lambda m: _t(m, 2, 1, 3, 4) @ _t(m, 5, 4, 2),
    "mm backward one": lambda m: (_t(m, 3, 4, grad=True) @ _t(m, 4, 5)).sum().backward(),
    "mm backward both": lambda m: (_t(m, 3, 4, grad=True) @ _t(m, 4, 5, grad=True))
    .sum().backward(),
    "mv backward": lambda m: (_t(m, 3, 4, grad=True) @ _t(m, 4)).sum().backward(),
    "bmm backward": lambda m: (_t(m, 2, 3, 4, grad=True) @ _t(m, 2, 4, 5)).sum().backward(),
    "addmm": lambda m: m.addmm(_t(m, 3, 5), _t(m, 3, 4), _t(m, 4, 5)),
    "baddbmm": lambda m: m.baddbmm(_t(m, 2, 3, 5), _t(m, 2, 3, 4), _t(m, 2, 4, 5)),
    "linear": lambda m: _seeded(m, lambda: m.nn.Linear(4, 5))(_t(m, 3, 4)),
    "linear 1-d": lambda m: _seeded(m, lambda: m.nn.Linear(4, 5))(_t(m, 4)),
    "linear 3-d backward": lambda m: _seeded(m, lambda: m.nn.Linear(4, 5))(
        _t(m, 2, 3, 4, grad=True)).sum().backward(),
    "linear backward weights only": lambda m: _seeded(m, lambda: m.nn.Linear(4, 5))(
        _t(m, 3, 4)).sum().backward(),
    "einsum": lambda m: m.einsum("bij,bjk->bik", _t(m, 2, 3, 4), _t(m, 2, 4, 5)),
    "einsum dot": lambda m: m.einsum("i,i->", _t(m, 4), _t(m, 4)),
    "einsum outer": lambda m: m.einsum("i,j->ij", _t(m, 4), _t(m, 3)),
    "einsum summed label": lambda m: m.einsum("ij,jk->i", _t(m, 3, 4), _t(m, 4, 5)),
    "tensordot": lambda m: m.tensordot(_t(m, 2, 3, 4), _t(m, 3, 4, 5), dims=2),
    "conv2d backward": lambda m: _seeded(m, lambda: m.nn.Conv2d(3, 4, 3, padding=1))(
        _t(m, 2, 3, 8, 8)).sum().backward(),
    "grouped conv2d backward": lambda m: _seeded(m, lambda: m.nn.Conv2d(4, 6, 3, groups=2))(
        _t(m, 2, 4, 8, 8, grad=True)).sum().backward(),
    "conv1d backward": lambda m: _seeded(m, lambda: m.nn.Conv1d(3, 4, 3, stride=2))(
        _t(m, 2, 3, 10, grad=True)).sum().backward(),
    "conv3d": lambda m: _seeded(m, lambda: m.nn.Conv3d(2, 3, 2))(_t(m, 1, 2, 4, 4, 4)),
    "transposed conv2d backward": lambda m: _seeded(
        m, lambda: m.nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2))(
        _t(m, 2, 4, 5, 5, grad=True)).sum().backward(),
    "transposed conv1d": lambda m: _seeded(m, lambda: m.nn.ConvTranspose1d(2, 3, 3))(
        _t(m, 1, 2, 6)),
    "sdpa backward": lambda m: m.nn.functional.scaled_dot_product_attention(
        *[_t(m, 1, 2, 5, 8, grad=True)] * 3).sum().backward(),
    "mha with weights": lambda m: _seeded(
        m, lambda: m.nn.MultiheadAttention(8, 2, batch_first=True))(
        *[_t(m, 2, 5, 8)] * 3)[0].sum().backward(),
    "mha without weights": lambda m: _seeded(
        m, lambda: m.nn.MultiheadAttention(8, 2, batch_first=True))(
        *[_t(m, 2, 5, 8)] * 3, need_weights=False)[0].sum().backward(),
    "lstm": lambda m: _seeded(m, lambda: m.nn.LSTM(4, 6))(_t(m, 2, 3, 4))[0].sum().backward(),
    "bilinear": lambda m: _seeded(m, lambda: m.nn.Bilinear(4, 4, 3))(_t(m, 3, 4), _t(m, 3, 4)),
    "transformer layer": lambda m: _seeded(m, lambda: m.nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.0, batch_first=True))(_t(m, 2, 5, 8)).sum().backward(),
    "cnn step": lambda m: _seeded(m, lambda: m.nn.Sequential(
        m.nn.Conv2d(3, 4, 3), m.nn.ReLU(), m.nn.Flatten(), m.nn.Linear(144, 2)))(
        _t(m, 2, 3, 8, 8)).sum().backward(),
}


def _flops(m, counter, case) -> int:
    with counter(display=False) as mode:
        CASES[case](m)
    return mode.get_total_flops()


@pytest.mark.parametrize("case", list(CASES))
def test_total_flops_match_torch(case):
    assert _flops(dg, ours.FlopCounterMode, case) == _flops(torch, real.FlopCounterMode, case)


UNCOUNTABLE = {
    "einsum of 3 operands": lambda m: m.einsum("ij,jk,kl->il", _t(m, 3, 4), _t(m, 4, 5),
                                               _t(m, 5, 2)),
    "the backward of einsum": lambda m: m.einsum("ij,jk->ik", _t(m, 3, 4, grad=True),
                                                 _t(m, 4, 5)).sum().backward(),
    "GRU layers": lambda m: _seeded(m, lambda: m.nn.GRU(4, 6))(_t(m, 2, 3, 4)),
    "RNN_TANH layers": lambda m: _seeded(m, lambda: m.nn.RNN(4, 6))(_t(m, 2, 3, 4)),
}


@pytest.mark.parametrize("what", list(UNCOUNTABLE))
def test_what_cannot_be_counted_raises(what):
    with ours.FlopCounterMode(display=False) as mode:
        UNCOUNTABLE[what](dg)
    with real.FlopCounterMode(display=False) as reference:
        UNCOUNTABLE[what](torch)
    assert reference.get_total_flops() > 0  # (a silent 0 or a guess would be wrong)
    with pytest.raises(NotImplementedError, match=what):
        mode.get_total_flops()


def test_counts_by_op_nesting_table_and_restore():
    from deltagrad._engine.ops import OPS

    forward = OPS["matmul"].forward
    with ours.FlopCounterMode(display=False) as outer:
        dg.ones(3, 4) @ dg.ones(4, 5)
        with ours.FlopCounterMode(display=False) as inner:
            dg.nn.functional.linear(dg.ones(2, 4), dg.ones(5, 4), dg.ones(5))
    assert outer.get_total_flops() == 120 + 80 and inner.get_total_flops() == 80
    assert outer.get_flop_counts() == {"Global": {"aten.mm": 120, "aten.addmm": 80}}
    assert "Global" in outer.get_table() and "aten.mm" in outer.get_table()
    assert OPS["matmul"].forward is forward  # unwrapped on exit: nothing paid outside
    with ours.FlopCounterMode(display=False) as again:
        pass
    assert again.get_total_flops() == 0
    with pytest.raises(NotImplementedError, match="custom_mapping"):
        ours.FlopCounterMode(custom_mapping={"mm": len})


def test_display_prints_the_table(capsys):
    with ours.FlopCounterMode():
        dg.ones(3, 4) @ dg.ones(4, 5)
    assert "120" in capsys.readouterr().out
