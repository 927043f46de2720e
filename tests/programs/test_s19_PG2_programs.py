"""Public PyTorch tutorials and recipes, session 19 (PG2): the torch.func tutorials (empirical NTK,
ensemble training with stack_module_state + vmap, Hessian-vector products, DP-SGD-style
per-sample clipping, MAML), custom autograd Functions of every kind (double backward,
forward-mode AD through modules; our own code since session 31), nn.utils and Module machinery
(parametrizations, pruning, hooks, state_dict with strict=False / assign=True, optimizer state
resumed), text (EmbeddingBag classification, char-RNN, seq2seq with attention, the
nn.Transformer LM), PGD adversarial training and training recipes (transfer learning, LR finder,
bfloat16 autocast, profiler and benchmark Timer, logging, whole-checkpoint resume), and more:
audio features by hand (stft, mel filterbank, MFCC, istft), channels-last, saved-tensor hooks
and activation checkpointing, variational inference with distributions, knowledge distillation,
an FCN; the "Learn the Basics" tensors / autograd / nn.Module pages, beam search, an LSTM
forecaster over unfold windows, a graph attention layer with scatter_reduce, fake-quantized
training; MultiheadAttention's and scaled_dot_product_attention's options, projected LSTMs, PCA
and friends with torch.linalg, FFT filtering; the 60-minute blitz classifier, a Siamese /
triplet net, three autoencoders, cyclic learning-rate schedules.

``prog_s19_PG2_*.py`` are written afresh in the style of the public originals (same structure
and idioms, tiny sizes, synthetic data, seeded) and run unchanged twice, at the same time: on
the real PyTorch and under ``python -m deltagrad run``. Every recorded value must agree; an
exception in a section on either side fails its test. One run does every section.
"""

from __future__ import annotations

import os

import alias_runs
import numpy as np
import pytest
from alias_runs import run_both

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s19_PG2_all.py")
RTOL, ATOL = 1e-4, 1e-5  # float32 summation-order differences over a few dozen steps

# section -> how many keys it records at least (a section that stopped recording fails)
SECTIONS = {
    # prog_s19_PG2_func.py
    "ntk": 10, "ens": 22, "hvp": 18, "dp": 8, "maml": 5,
    # prog_s19_PG2_extend.py
    "linfn": 20, "kinds": 17, "dbl": 15, "fwd": 18,
    # prog_s19_PG2_nnutils.py
    "par2": 42, "prune2": 32, "hooks": 31, "sd": 38, "opt": 22,
    # prog_s19_PG2_text.py
    "textcls": 19, "charrnn": 9, "s2s": 29, "tlm": 69,
    # prog_s19_PG2_gen.py
    "pgd": 14,
    # prog_s19_PG2_train.py
    "transfer": 74, "lrf": 5, "amp16": 20, "prof": 8, "log": 8, "resume": 15,
    # prog_s19_PG2_more.py
    "audio": 21, "cl": 16, "saved": 15, "vi": 20, "kd": 21, "fcn": 40,
    # prog_s19_PG2_basics.py
    "tens": 64, "agb": 24, "mod": 55, "beam": 6, "fc": 26, "gat": 27, "fq": 18,
    # prog_s19_PG2_layers.py
    "mha": 31, "sdpa": 19, "lstmp": 58, "la": 40, "fft": 20,
    # prog_s19_PG2_extra.py
    "blitz": 25, "siam": 12, "ae": 17, "cyc": 8,
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers) of every section, from one run per side."""
    folder = tmp_path_factory.mktemp("s19_PG2")
    return run_both(PROGRAM, folder, ",".join(SECTIONS))


@pytest.mark.parametrize("section", list(SECTIONS))
def test_program_section(results, section):
    alias_runs.compare_section(results, section, None, SECTIONS[section], rtol=RTOL, atol=ATOL)


def test_programs_check_themselves(results):
    # The comparisons above would pass if both sides computed the same wrong thing; these
    # are the programs' own cross-checks, on deltagrad's side.
    _, ours = results
    # two ways of one quantity agree
    assert np.allclose(ours["ntk.jac.full"], ours["ntk.vps.full"], atol=1e-5)
    assert np.allclose(ours["ens.losses"][-1], ours["ens.loop_last"], atol=1e-5)
    assert np.allclose(ours["hvp.fwd_rev"], ours["hvp.hessian_v"])
    assert np.allclose(ours["hvp.rev_rev"], ours["hvp.double_backward"])
    assert np.allclose(ours["fwd.module_jvp"], ours["fwd.func_jvp"], atol=1e-6)
    for key in ("linfn.gradcheck", "dbl.gradcheck", "dbl.gradgradcheck", "dbl.parts_gradgrad"):
        assert bool(ours[key]), key
    assert str(ours["kinds.once_error"]) == "RuntimeError"
    # resumed training repeats the uninterrupted run exactly
    assert np.array_equal(ours["opt.cont"], ours["opt.resumed"])
    assert ours["resume.same"].all()
    assert bool(ours["sd.assign_shared"]) and bool(ours["sd.shape_error"])
    assert bool(ours["transfer.fixed.frozen_same"]) and bool(ours["transfer.ft.bn_stats_same"])
    for omap in ("matrix_exp", "cayley", "householder"):
        assert bool(ours[f"par2.orth.{omap}.err"]), omap
    assert str(ours["amp16.nested_off"]).endswith("float32")
    assert bool(ours["prof.has_label"])
    # training learns
    assert (np.diff(ours["ens.losses"], axis=0) < 0).all()
    assert ours["hooks.inbwd_losses"][-1] < ours["hooks.inbwd_losses"][0]
    assert bool(ours["hooks.inbwd_grad_none"])
    assert ours["s2s.losses"][-1] < ours["s2s.losses"][0]
    assert ours["dp.losses"][-1] < ours["dp.losses"][0]
    assert ours["log.val_acc"][-1] > ours["log.val_acc"][0]
    assert ours["linfn.losses"][-1] < ours["linfn.losses"][0]
    assert bool(ours["audio.istft_err"]) and bool(ours["cl.out_diff"])
    assert bool(ours["saved.same_grad"]) and ours["saved.ckpt.same"].all()
    assert ours["vi.elbos"][-1] > ours["vi.elbos"][0]
    for key in ("twice", "nonscalar", "unused_err", "version", "version_exp"):
        assert str(ours[f"agb.{key}"]) == "RuntimeError", key
    assert ours["gat.losses"][-1] < ours["gat.losses"][0]
    assert ours["fq.losses"][-1] < ours["fq.losses"][0]
    assert float(ours["sdpa.ref_diff"]) < 1e-5 and bool(ours["sdpa.gqa_same"])
    assert bool(ours["lstmp.cell_vs_layer"]) and bool(ours["fft.conv_same"])
    assert ours["siam.triplet"][-1] < ours["siam.triplet"][0]
